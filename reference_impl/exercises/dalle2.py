r"""Solutions of the DALL·E 2 page's 代码 exercises (tests: ``tests/test_exercises_dalle2.py``).

Image manipulations in CLIP's latent space (§3 of the paper): interpolation between two image
embeddings by spherical interpolation, $z_{i_\theta} = \mathrm{slerp}(z_{i_1}, z_{i_2}, \theta)$
(§3.2), and text diffs, $z_d = \mathrm{norm}(z_t - z_{t_0})$ and
$z_\theta = \mathrm{slerp}(z_i, z_d, \theta)$ (§3.3). The decoder then turns $z_\theta$ into an
image (with fixed DDIM noise in the paper).
"""

import torch
from torch.nn import functional as F


# --8<-- [start:slerp]
def slerp(a: torch.Tensor, b: torch.Tensor, theta: float) -> torch.Tensor:
    r"""Spherical interpolation between unit vectors: a great-circle arc from ``a`` to ``b``.

    $\mathrm{slerp}(a, b, \theta) = \frac{\sin((1-\theta)\Omega)}{\sin\Omega}a
    + \frac{\sin(\theta\Omega)}{\sin\Omega}b$ with $\cos\Omega = a\cdot b$.

    Args:
        a: unit vectors, (..., D).
        b: unit vectors, (..., D), not parallel to ``a``.
        theta: position on the arc, 0 (``a``) to 1 (``b``).

    Returns:
        Unit vectors (..., D) at angle θ·Ω from ``a``.
    """
    cos = (a * b).sum(-1, keepdim=True).clamp(-1.0, 1.0)
    omega = torch.arccos(cos)  # (..., 1): the angle between a and b
    return (torch.sin((1 - theta) * omega) * a + torch.sin(theta * omega) * b) / torch.sin(omega)


def text_diff(
    image_embed: torch.Tensor,
    text_embed_from: torch.Tensor,
    text_embed_to: torch.Tensor,
    theta: float,
) -> torch.Tensor:
    r"""§3.3: rotate an image embedding towards $z_d = \mathrm{norm}(z_t - z_{t_0})$.

    Args:
        image_embed: $z_i$ of the image to edit, (..., D), unit length.
        text_embed_from: $z_{t_0}$ of a caption of the image as it is, (..., D).
        text_embed_to: $z_t$ of the caption it should match, (..., D).
        theta: how far to rotate (the paper uses up to 0.25–0.50).

    Returns:
        The edited embedding $z_\theta$, (..., D), unit length: the decoder's input.
    """
    z_d = F.normalize(text_embed_to - text_embed_from, dim=-1)  # the direction "from → to"
    return slerp(image_embed, z_d, theta)


# --8<-- [end:slerp]
