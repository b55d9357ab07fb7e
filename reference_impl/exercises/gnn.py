r"""Solutions of the GNN page's 代码 exercises (tests: ``tests/test_exercises_gnn.py``).

Over-smoothing. A GCN layer without its weights and non-linearity is one multiplication by
$\hat A$ (Kipf & Welling 2017, Eq. 2), which Li, Han & Wu (2018, arXiv:1801.07606) identify as a
form of Laplacian smoothing: repeated $k$ times, it makes the nodes of a connected graph
indistinguishable. Mixing the input back in at every step,
$H \leftarrow (1-\alpha)\hat A H + \alpha X$ (the "initial residual" of APPNP, Klicpera et al.
2019, and GCNII, Chen et al. 2020), converges to a fixed point that keeps them apart.
"""

import torch

from reference_impl.gnn import normalized_adjacency


# --8<-- [start:over-smoothing]
def propagate(x: torch.Tensor, adj: torch.Tensor, steps: int, alpha: float = 0.0) -> torch.Tensor:
    r"""`steps` rounds of GCN propagation with identity weights and no non-linearity.

    Args:
        x: Node features (N, F).
        adj: Symmetric 0/1 adjacency without self-loops (N, N).
        steps: Rounds k (layers).
        alpha: Share of the input mixed back in each round; 0 gives $\hat A^k X$.

    Returns:
        Node features after k rounds, (N, F).
    """
    a_hat = normalized_adjacency(adj)  # Kipf & Welling's renormalised Â
    h = x
    for _ in range(steps):
        h = (1 - alpha) * (a_hat @ h) + alpha * x  # α = 0: one more layer of smoothing
    return h


def mean_cosine(h: torch.Tensor) -> torch.Tensor:
    """Mean cosine similarity of the node vectors over all pairs of distinct nodes."""
    unit = h / h.norm(dim=1, keepdim=True)
    sim = unit @ unit.T  # (N, N)
    n = h.shape[0]
    return (sim.sum() - sim.diagonal().sum()) / (n * (n - 1))


# --8<-- [end:over-smoothing]
