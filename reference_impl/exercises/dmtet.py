r"""Solutions of the DMTet page's 代码 exercises (tests: ``tests/test_exercises_dmtet.py``).

Volume subdivision (§3.1.2 of the paper) on the reference file's Kuhn grid: every edge gets a
midpoint whose SDF is the mean of its two ends. Subdividing the whole grid of ``res`` cubes per
axis this way gives exactly the grid of ``2·res`` cubes (the Kuhn subdivision is nested: each
small tetrahedron lies inside one big one), so the SDF stays the same piecewise-linear function
and marching tetrahedra extract the same surface, with about four times the triangles. The
paper subdivides only the tetrahedra near the surface, and its network then predicts new SDF
residuals and deformations on the finer grid: that is where new detail comes from.
"""

import torch

from reference_impl.dmtet import tetrahedral_grid


# --8<-- [start:subdivide]
def subdivide_sdf(sdf: torch.Tensor, res: int) -> torch.Tensor:
    """SDF on the grid of ``2·res`` cubes, from the grid of ``res``: midpoints get edge means.

    Args:
        sdf: (B, (res + 1)³) SDF at the vertices of ``tetrahedral_grid(res)``.
        res: cubes per axis of the coarse grid.

    Returns:
        (B, (2·res + 1)³) SDF at the vertices of ``tetrahedral_grid(2 * res)``, same order.
    """
    n, n_fine = res + 1, 2 * res + 1
    ar = torch.arange(n_fine, device=sdf.device)
    ijk = torch.stack(torch.meshgrid(ar, ar, ar, indexing="ij"), dim=-1).reshape(-1, 3)
    lo, hi = ijk // 2, (ijk + 1) // 2  # a fine vertex is the midpoint of coarse edge (lo, hi)
    strides = torch.tensor([n * n, n, 1], device=sdf.device)
    a, b = (lo * strides).sum(-1), (hi * strides).sum(-1)  # coarse vertex ids; a = b if even
    return (sdf[:, a] + sdf[:, b]) / 2  # §3.1.2: the new vertex's SDF is the average


def subdivided_grid(res: int) -> tuple[torch.Tensor, ...]:
    """The finer grid itself: ``tetrahedral_grid(2 * res)``, vertices in the order used above."""
    return tetrahedral_grid(2 * res)


# --8<-- [end:subdivide]
