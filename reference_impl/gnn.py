r"""Graph neural networks: message passing (MPNN), GCN and GAT.

* Justin Gilmer, Samuel S. Schoenholz, Patrick F. Riley, Oriol Vinyals, George E. Dahl.
  *Neural Message Passing for Quantum Chemistry*. ICML 2017. arXiv:1704.01212.
* Thomas N. Kipf, Max Welling. *Semi-Supervised Classification with Graph Convolutional
  Networks*. ICLR 2017. arXiv:1609.02907.
* Petar Veličković, Guillem Cucurull, Arantxa Casanova, Adriana Romero, Pietro Liò, Yoshua
  Bengio. *Graph Attention Networks*. ICLR 2018. arXiv:1710.10903.

What is implemented:

* ``MessagePassingLayer``: one step of the MPNN framework (Gilmer et al. §2, Eqs. 1–2),
  $m_v = \sum_{w \in N(v)} M(h_v, h_w)$, $h_v' = U(h_v, m_v)$, with an MLP message function and a
  GRU update (their choice for $U$), on an edge list.
* ``GCN``: the propagation rule of Kipf & Welling Eq. (2) with the renormalisation trick
  $\hat A = \tilde D^{-1/2}(A + I)\tilde D^{-1/2}$ (§2.2) and the two-layer model of Eq. (9)
  (Cora: $1433 \to 16 \to 7$, ReLU, dropout 0.5; §5.2).
* ``GAT``: graph attention layers (Veličković et al. Eqs. 1–6): shared linear map $W$, attention
  logits $e_{ij} = \mathrm{LeakyReLU}(a^\top[Wh_i \| Wh_j])$ restricted to $j \in N_i \cup \{i\}$,
  softmax over the neighbours, multi-head concatenation (hidden layers) or averaging (output
  layer). Cora (§3.3): 8 heads × 8 features, ELU, then 1 head with 7 outputs; dropout 0.6 on the
  layers' inputs and on the attention coefficients.

Shapes: N nodes, F input features, E directed edges, h heads, d features per head, C classes.

Deviations:

* Dense $N \times N$ adjacency (no sparse kernels): exact and simple, $O(N^2)$ memory (Cora: 7.3 M
  entries), and it runs on the ``meta`` device. ``MessagePassingLayer`` takes an edge list instead.
* GCN and GAT layers add a bias after aggregation (``bias=False`` removes it). The paper's
  equations have none; Kipf's TensorFlow code leaves it out by default (Cora: 23,040 parameters
  instead of 23,063), his later PyTorch code and PyTorch Geometric add it. The GAT authors' code
  adds it (``bias_add``) and also gives each of the two 1×1 convolutions that compute
  $a^\top Wh$ a scalar bias, which Eq. (1) does not have and neither do we.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import Tensor, nn

_ACTIVATIONS = {"relu": nn.ReLU, "elu": nn.ELU, "tanh": nn.Tanh}


# --8<-- [start:config]
@dataclass(frozen=True)
class GCNConfig:
    """GCN; defaults are the Cora model of Kipf & Welling (§5.2)."""

    dims: tuple[int, ...] = (1433, 16, 7)  # Cora: bag-of-words features → 16 hidden → 7 classes
    activation: str = "relu"  # between layers (none after the last: softmax is in the loss)
    dropout: float = 0.5  # on each layer's input
    bias: bool = True

    @classmethod
    def cora(cls) -> GCNConfig:
        """The Cora/Citeseer/Pubmed setting of §5.2 (defaults)."""
        return cls()

    @classmethod
    def tiny(cls) -> GCNConfig:
        """A few hundred parameters, for tests."""
        return cls(dims=(6, 8, 3))


@dataclass(frozen=True)
class GATConfig:
    """GAT; defaults are the transductive Cora model of Veličković et al. (§3.3)."""

    dims: tuple[int, ...] = (1433, 8, 7)  # input, features per head, classes
    heads: tuple[int, ...] = (8, 1)  # K heads per layer; the last layer averages its heads
    negative_slope: float = 0.2  # LeakyReLU in the attention logits (Eq. 3)
    dropout: float = 0.6  # on each layer's input and on the normalised attention coefficients
    bias: bool = True

    @classmethod
    def cora(cls) -> GATConfig:
        """The Cora/Citeseer setting of §3.3 (defaults)."""
        return cls()

    @classmethod
    def tiny(cls) -> GATConfig:
        """A few hundred parameters, for tests."""
        return cls(dims=(6, 4, 3), heads=(2, 2))


@dataclass(frozen=True)
class MPNNConfig:
    """A message-passing network with T rounds of shared-weight message passing."""

    d_node: int = 64  # hidden state size
    d_message: int = 64
    steps: int = 3  # T rounds (the weights are shared across rounds, as in Gilmer et al.)

    @classmethod
    def tiny(cls) -> MPNNConfig:
        """Small sizes for tests."""
        return cls(d_node=6, d_message=5, steps=2)


# --8<-- [end:config]


# --8<-- [start:norm]
def normalized_adjacency(adj: Tensor) -> Tensor:
    r"""The renormalisation trick of Kipf & Welling (§2.2).

    $\hat A = \tilde D^{-1/2}\tilde A\tilde D^{-1/2}$: symmetric normalisation with self-loops.

    Args:
        adj: symmetric 0/1 adjacency without self-loops, (N, N).

    Returns:
        $\hat A$ with $\tilde A = A + I_N$ and $\tilde D_{ii} = \sum_j \tilde A_{ij}$, (N, N).
    """
    a_tilde = adj + torch.eye(adj.shape[-1], dtype=adj.dtype, device=adj.device)
    d_inv_sqrt = a_tilde.sum(-1).rsqrt()  # (N,): every degree ≥ 1 thanks to the self-loop
    return d_inv_sqrt[:, None] * a_tilde * d_inv_sqrt[None, :]


# --8<-- [end:norm]


# --8<-- [start:gcn]
class GCNLayer(nn.Module):
    r"""One graph convolution, Eq. (2) without its non-linearity: $\hat A H W (+ b)$."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        super().__init__()
        self.weight = nn.Linear(in_features, out_features, bias=False)  # W^{(l)}
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None

    def forward(self, h: Tensor, a_hat: Tensor) -> Tensor:
        r"""Map node features (N, F) and $\hat A$ (N, N) to (N, out_features)."""
        out = a_hat @ self.weight(h)  # Eq. (2): Â·(H W), each node averages its neighbourhood
        return out if self.bias is None else out + self.bias


class GCN(nn.Module):
    r"""Kipf & Welling's GCN, Eq. (9).

    $Z = \mathrm{softmax}(\hat A\,\mathrm{ReLU}(\hat A X W^{(0)}) W^{(1)})$ for the two-layer model.
    """

    def __init__(self, cfg: GCNConfig) -> None:
        super().__init__()
        self.cfg = cfg
        n = len(cfg.dims) - 1
        self.dropouts = nn.ModuleList(nn.Dropout(cfg.dropout) for _ in range(n))
        self.layers = nn.ModuleList(
            GCNLayer(d_in, d_out, cfg.bias)
            for d_in, d_out in zip(cfg.dims[:-1], cfg.dims[1:], strict=True)
        )
        self.activations = nn.ModuleList(_ACTIVATIONS[cfg.activation]() for _ in range(n - 1))

    def forward(self, x: Tensor, adj: Tensor) -> Tensor:
        """Node classification logits.

        Args:
            x: node features, (N, F).
            adj: symmetric 0/1 adjacency without self-loops, (N, N).

        Returns:
            Logits (N, C); the softmax of Eq. (9) is applied by the cross-entropy loss.
        """
        a_hat = normalized_adjacency(adj)  # (N, N), computed once per forward
        h = x
        for i, layer in enumerate(self.layers):
            h = layer(self.dropouts[i](h), a_hat)
            if i < len(self.activations):
                h = self.activations[i](h)
        return h


# --8<-- [end:gcn]


# --8<-- [start:gat]
class GATLayer(nn.Module):
    """Multi-head graph attention (Veličković et al. Eqs. 1–6)."""

    def __init__(
        self,
        in_features: int,
        d: int,
        heads: int,
        concat: bool,
        negative_slope: float = 0.2,
        dropout: float = 0.6,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.heads, self.d, self.concat = heads, d, concat
        self.weight = nn.Linear(in_features, heads * d, bias=False)  # W, one per head
        # a = [a_dst ‖ a_src] split in two halves: aᵀ[Wh_i ‖ Wh_j] = a_dstᵀWh_i + a_srcᵀWh_j
        self.a_dst = nn.Parameter(torch.empty(heads, d))
        self.a_src = nn.Parameter(torch.empty(heads, d))
        nn.init.xavier_uniform_(self.a_dst)
        nn.init.xavier_uniform_(self.a_src)
        self.leaky_relu = nn.LeakyReLU(negative_slope)
        self.attn_dropout = nn.Dropout(dropout)
        out = heads * d if concat else d
        self.bias = nn.Parameter(torch.zeros(out)) if bias else None

    def attention(self, wh: Tensor, adj: Tensor) -> Tensor:
        r"""Attention coefficients $\alpha_{ij}$ (Eq. 3), before dropout.

        Args:
            wh: projected features $Wh$, (N, h, d).
            adj: 0/1 adjacency without self-loops, (N, N).

        Returns:
            $\alpha$, (h, N, N): row $i$ sums to 1 over $j \in N_i \cup \{i\}$, 0 elsewhere.
        """
        e_dst = (wh * self.a_dst).sum(-1).T  # (h, N): a_dstᵀ W h_i
        e_src = (wh * self.a_src).sum(-1).T  # (h, N): a_srcᵀ W h_j
        e = self.leaky_relu(e_dst[:, :, None] + e_src[:, None, :])  # Eq. (1): e_ij, (h, N, N)
        eye = torch.eye(adj.shape[-1], dtype=torch.bool, device=adj.device)
        neighbours = (adj > 0) | eye  # masked attention: j ∈ N_i, i included
        e = e.masked_fill(~neighbours, float("-inf"))
        return torch.softmax(e, dim=-1)  # Eq. (3): softmax over j

    def forward(self, h: Tensor, adj: Tensor) -> Tensor:
        """Map node features (N, F) to (N, h·d) (concatenated heads) or (N, d) (averaged)."""
        wh = self.weight(h).view(h.shape[0], self.heads, self.d)  # (N, h, d)
        alpha = self.attn_dropout(self.attention(wh, adj))  # (h, N, N)
        out = torch.einsum("hij,jhd->ihd", alpha, wh)  # Eq. (4): Σ_j α_ij W h_j, (N, h, d)
        if self.concat:
            out = out.reshape(h.shape[0], self.heads * self.d)  # Eq. (5): ‖ over heads, (N, h·d)
        else:
            out = out.mean(dim=1)  # Eq. (6): average over heads, (N, d)
        return out if self.bias is None else out + self.bias


class GAT(nn.Module):
    """Veličković et al.'s GAT: hidden layers concatenate heads (ELU), the last one averages."""

    def __init__(self, cfg: GATConfig) -> None:
        super().__init__()
        self.cfg = cfg
        n = len(cfg.dims) - 1
        self.dropouts = nn.ModuleList(nn.Dropout(cfg.dropout) for _ in range(n))
        layers, d_in = [], cfg.dims[0]
        for i in range(n):
            last = i == n - 1
            layers.append(
                GATLayer(
                    d_in,
                    cfg.dims[i + 1],
                    cfg.heads[i],
                    concat=not last,
                    negative_slope=cfg.negative_slope,
                    dropout=cfg.dropout,
                    bias=cfg.bias,
                )
            )
            d_in = cfg.dims[i + 1] * cfg.heads[i]
        self.layers = nn.ModuleList(layers)
        self.activations = nn.ModuleList(nn.ELU() for _ in range(n - 1))

    def forward(self, x: Tensor, adj: Tensor) -> Tensor:
        """Node classification logits.

        Args:
            x: node features, (N, F).
            adj: 0/1 adjacency without self-loops, (N, N).

        Returns:
            Logits (N, C).
        """
        h = x
        for i, layer in enumerate(self.layers):
            h = layer(self.dropouts[i](h), adj)
            if i < len(self.activations):
                h = self.activations[i](h)
        return h


# --8<-- [end:gat]


# --8<-- [start:mpnn]
class MessagePassingLayer(nn.Module):
    r"""One round of message passing (Gilmer et al. Eqs. 1–2) on an edge list."""

    def __init__(self, d_node: int, d_message: int) -> None:
        super().__init__()
        self.message = nn.Sequential(  # M_t(h_v, h_w): an MLP of the two endpoint states
            nn.Linear(2 * d_node, d_message), nn.ReLU(), nn.Linear(d_message, d_message)
        )
        self.update = nn.GRUCell(d_message, d_node)  # U_t(h_v, m_v) = GRU(m_v, h_v)

    def forward(self, h: Tensor, edge_index: Tensor) -> Tensor:
        r"""Update node states.

        Args:
            h: node states, (N, D).
            edge_index: (2, E) long tensor of directed edges $w \to v$ as rows (source $w$,
                target $v$); list both directions for an undirected graph.

        Returns:
            New node states, (N, D).
        """
        src, dst = edge_index[0], edge_index[1]  # (E,), (E,)
        msg = self.message(torch.cat([h[dst], h[src]], dim=-1))  # M(h_v, h_w) per edge, (E, D_m)
        m = h.new_zeros(h.shape[0], msg.shape[-1]).index_add(0, dst, msg)  # Eq. (1): Σ_w, (N, D_m)
        return self.update(m, h)  # Eq. (2)


class MPNN(nn.Module):
    """T rounds of message passing with shared weights (node-level outputs; no readout)."""

    def __init__(self, cfg: MPNNConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.layer = MessagePassingLayer(cfg.d_node, cfg.d_message)

    def forward(self, h: Tensor, edge_index: Tensor) -> Tensor:
        """Map node states (N, D) and edges (2, E) to node states after T rounds, (N, D)."""
        for _ in range(self.cfg.steps):
            h = self.layer(h, edge_index)
        return h


# --8<-- [end:mpnn]


def gcn_cora(**overrides: object) -> GCN:
    """Kipf & Welling's two-layer GCN for Cora (1433 → 16 → 7)."""
    return GCN(dataclasses.replace(GCNConfig.cora(), **overrides))


def gat_cora(**overrides: object) -> GAT:
    """Veličković et al.'s GAT for Cora (8 heads × 8 features, then 1 head × 7 classes)."""
    return GAT(dataclasses.replace(GATConfig.cora(), **overrides))


# ── loading PyTorch Geometric's weights ────────────────────────────────────────────────
def load_pyg(model: GCN | GAT, layers: list[dict[str, Tensor]]) -> None:
    """Load the state dicts of PyG's `GCNConv` or `GATConv` layers, one per layer of ours.

    A PyG model is the user's own module, so its layers are passed in order, e.g.
    `[net.conv1.state_dict(), net.conv2.state_dict()]`. `lin.weight` is our `weight.weight`;
    `GATConv`'s `att_src`/`att_dst` (1, h, d) are our `a_src`/`a_dst` (h, d). The layers must
    use PyG's defaults: self-loops added and, for `GCNConv`, the symmetric normalisation.
    """
    if len(layers) != len(model.layers):
        raise ValueError(f"{len(model.layers)} layers expected, got {len(layers)}")
    renamed = {}
    for i, layer in enumerate(layers):
        for key, value in layer.items():
            key = key.replace("lin.", "weight.").replace("lin_src.", "weight.")
            key = key.replace("att_src", "a_src").replace("att_dst", "a_dst")
            renamed[f"layers.{i}.{key}"] = value.squeeze(0) if key.startswith("a_") else value
    model.load_state_dict(renamed)


__all__ = [
    "GAT",
    "GCN",
    "MPNN",
    "GATConfig",
    "GATLayer",
    "GCNConfig",
    "GCNLayer",
    "MPNNConfig",
    "MessagePassingLayer",
    "gat_cora",
    "gcn_cora",
    "load_pyg",
    "normalized_adjacency",
]

if __name__ == "__main__":
    torch.manual_seed(0)
    n_nodes = 5
    edges = torch.tensor([[0, 1], [1, 2], [2, 3], [3, 4], [4, 0]])  # a 5-cycle
    adj = torch.zeros(n_nodes, n_nodes)
    adj[edges[:, 0], edges[:, 1]] = adj[edges[:, 1], edges[:, 0]] = 1.0
    x = torch.randn(n_nodes, 6)
    print("GCN:", tuple(GCN(GCNConfig.tiny())(x, adj).shape))
    print("GAT:", tuple(GAT(GATConfig.tiny())(x, adj).shape))
    edge_index = torch.cat([edges.T, edges.T.flip(0)], dim=1)  # (2, E), both directions
    print("MPNN:", tuple(MPNN(MPNNConfig.tiny())(x, edge_index).shape))
