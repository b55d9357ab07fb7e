r"""Solutions of the GET3D page's 代码 exercises (tests: ``tests/test_exercises_get3d.py``).

The SDF regulariser of §3.2 ("Regularization"): on every grid edge whose two SDF values have
different signs, a binary cross-entropy pulls each end towards the other end's sign,
$\mathcal L_\text{reg} = \sum_{(i,j)\in\mathbb S_e} H(\sigma(s_i), \operatorname{sign}(s_j))
+ H(\sigma(s_j), \operatorname{sign}(s_i))$ (averaged here, as in the official code). Surfaces no
camera sees get no gradient from the discriminators, only from this term, and disappear.
"""

import torch
from torch.nn import functional as F


# --8<-- [start:sdf-reg]
def sdf_reg_loss(sdf: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
    r"""Cross-entropy between the SDF signs at the two ends of every surface-crossing edge.

    Args:
        sdf: (B, V) SDF at the grid vertices, negative inside.
        edges: (E, 2) grid edges (`tetrahedral_grid`; degenerate (a, a) edges never cross).

    Returns:
        Scalar loss, the mean over crossing edges and both directions; 0 if no edge crosses.
    """
    s_a, s_b = sdf[:, edges[:, 0]], sdf[:, edges[:, 1]]  # (B, E) each
    crossing = (s_a < 0) != (s_b < 0)  # the edges 𝕊_e that the surface cuts
    s_a, s_b = s_a[crossing], s_b[crossing]  # (n,) each
    if s_a.numel() == 0:
        return sdf.sum() * 0.0  # no surface: nothing to regularise (keeps the graph)
    outside_a, outside_b = (s_a >= 0).float(), (s_b >= 0).float()  # sign as a 0/1 target
    h_ab = F.binary_cross_entropy_with_logits(s_a, outside_b)  # H(σ(s_i), sign(s_j))
    h_ba = F.binary_cross_entropy_with_logits(s_b, outside_a)  # H(σ(s_j), sign(s_i))
    return h_ab + h_ba


# --8<-- [end:sdf-reg]
