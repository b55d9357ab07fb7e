r"""Solutions of the contrastive-learning page's 代码 exercises.

Tests: ``tests/test_exercises_contrastive.py``.

* SimCLR's NT-Xent (SimCLR Eq. (1)) is MoCo's InfoNCE (MoCo Eq. (1)) with other negatives: for
  each of the 2N views, the positive is its partner view and the negatives are the other 2(N−1)
  views of the batch instead of a queue.
* The temperature decides which negatives the gradient works on: $\partial\mathcal{L}_q/\partial
  (q\cdot k_i) = p_i/\tau$ for a negative $k_i$, where $p_i$ is its softmax probability.
"""

import torch
from torch.nn import functional as F

from reference_impl.contrastive import info_nce_loss


# --8<-- [start:nt-xent-as-info-nce]
def nt_xent_via_info_nce(z1: torch.Tensor, z2: torch.Tensor, tau: float) -> torch.Tensor:
    """NT-Xent written as 2N InfoNCE losses, each with its own dictionary of negatives.

    Args:
        z1: projections of the first views, (N, D).
        z2: projections of the second views, (N, D); row b of z1 and z2 come from one image.
        tau: temperature τ.

    Returns:
        Scalar loss: the mean over the 2N anchors, as `nt_xent_loss`.
    """
    N = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]), dim=1)  # (2N, D): views 0..N-1, then their partners
    losses = []
    for i in range(2 * N):
        partner = (i + N) % (2 * N)
        others = [k for k in range(2 * N) if k not in (i, partner)]  # 2(N−1) negatives
        q, k_pos, k_neg = z[i : i + 1], z[partner : partner + 1], z[others]  # (1, D), (1, D)
        losses.append(info_nce_loss(q, k_pos, k_neg, tau))  # a (1 + 2(N−1))-way softmax
    return torch.stack(losses).mean()


# --8<-- [end:nt-xent-as-info-nce]


# --8<-- [start:negative-weights]
def negative_weights(
    q: torch.Tensor, k_pos: torch.Tensor, k_neg: torch.Tensor, tau: float
) -> torch.Tensor:
    r"""How hard the gradient pushes each negative: $\partial\mathcal{L}_q/\partial(q\cdot k_i)$.

    Args:
        q: one L2-normalised query, (D,).
        k_pos: its L2-normalised positive key, (D,).
        k_neg: L2-normalised negatives, (K, D).
        tau: temperature τ.

    Returns:
        (K,) non-negative weights, one per negative; they equal $p_i/\tau$.
    """
    sims = (k_neg @ q).detach().requires_grad_()  # (K,): the cosine similarities q·k_i
    l_pos = (q @ k_pos)[None]  # (1,)
    logits = torch.cat([l_pos, sims]) / tau  # (1 + K,)
    loss = F.cross_entropy(logits[None], torch.zeros(1, dtype=torch.long))  # MoCo Eq. (1)
    (grad,) = torch.autograd.grad(loss, sims)
    return grad  # positive: gradient descent lowers q·k_i, pushing k_i away


# --8<-- [end:negative-weights]
