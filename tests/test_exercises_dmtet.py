"""The DMTet page's exercises: computed answers against hand formulas, the solution's effect."""

from __future__ import annotations

import itertools

import torch

from reference_impl import dmtet
from reference_impl.exercises.dmtet import subdivide_sdf, subdivided_grid
from tools.generator import exercises as ex

ANSWERS = {e.id: e for e in ex.load("dmtet")}


def value(exercise_id: str) -> float:
    return ANSWERS[exercise_id].computed.value


def extract(res: int, sdf: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Compact mesh (verts, faces) of one SDF on the undeformed grid of ``res`` cubes."""
    verts, tets, edges, tet_edges = dmtet.tetrahedral_grid(res)
    verts = verts.to(sdf.dtype)
    m = dmtet.MarchingTetrahedra()(verts[None], sdf, edges, tets, tet_edges)
    v, f, _ = dmtet.compact_mesh(m[0][0], m[1][0], m[2][0])
    return v, f


def test_plane_triangles():
    per_cube = {}  # z-step position in the permutation → triangles (from the case table)
    for perm in itertools.permutations(range(3)):
        below = perm.index(2) + 1  # path vertices before the z step lie below the plane
        per_cube[perm] = 1 if below in (1, 3) else 2
    assert sum(per_cube.values()) == 8
    assert value("dmtet-plane-triangles") == 8 * 16**2 == 2048
    verts, _ = extract(16, (dmtet.tetrahedral_grid(16)[0][:, 2] - 0.05)[None])
    assert len(verts) == 17**2 + 2 * 16 * 17 + 16**2 == 1089  # "共 1,089 个"


def test_grid_edges():
    r = 32
    axis, face, body = 3 * r * (r + 1) ** 2, 3 * r**2 * (r + 1), r**3
    assert value("dmtet-grid-edges") == axis + face + body == 238_688
    assert 7 * (r + 1) ** 3 == 251_559
    assert round(100 * value("dmtet-grid-edges") / 251_559) == 95  # "占 … 的 95%"


def test_grid_edges_satisfy_euler_on_a_small_grid():
    r = 3
    verts, tets, edges, _ = dmtet.tetrahedral_grid(r)
    n_edges = int((edges[:, 0] != edges[:, 1]).sum())
    assert n_edges == 3 * r * (r + 1) ** 2 + 3 * r**2 * (r + 1) + r**3
    tris = {tuple(sorted(t)) for tet in tets.tolist() for t in itertools.combinations(tet, 3)}
    assert len(verts) - n_edges + len(tris) - len(tets) == 1  # a tetrahedralised ball


def test_fixed_shape_bytes():
    candidates_v, candidates_f = 7 * 65**3, 2 * 6 * 64**3
    hand = candidates_v * 3 * 4 + candidates_f * 3 * 8 + candidates_f
    assert value("dmtet-fixed-shape-bytes") == hand
    assert [round(b / 1e6) for b in (candidates_v * 12, candidates_f * 24, candidates_f)] == [
        23,
        75,
        3,
    ]  # "约 23 MB" "约 75 MB" "约 3 MB"
    assert round(hand / 1e6) == 102  # "约 102 MB"
    assert round(candidates_f / 1e4) == 315  # "约 315 万个候选"
    assert round(100 * 8 * 64**2 / candidates_f) == 1 and 8 * 64**2 == 32_768  # "约 … 的 1%"


def test_subdividing_the_sdf_keeps_the_surface():
    res = 8
    verts = dmtet.tetrahedral_grid(res)[0].double()
    center = torch.tensor([0.03, -0.02, 0.05], dtype=torch.float64)  # off the grid's symmetry
    sdf = ((verts - center).norm(dim=-1) - 0.61)[None]  # a sphere, (1, V)
    fine = subdivide_sdf(sdf, res)
    fine_verts = subdivided_grid(res)[0].double()
    assert fine.shape == (1, (2 * res + 1) ** 3)

    def stats(r: int, s: torch.Tensor) -> tuple[float, float, int]:
        v, f = extract(r, s)
        a, b, c = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
        area = torch.linalg.cross(b - a, c - a).norm(dim=-1).sum() / 2
        volume = (a * torch.linalg.cross(b, c)).sum() / 6  # divergence theorem, closed mesh
        return float(area), float(volume), len(f)

    area, volume, n_faces = stats(res, sdf)
    area2, volume2, n_faces2 = stats(2 * res, fine)
    assert abs(area2 - area) < 1e-12 and abs(volume2 - volume) < 1e-12  # the same surface
    assert (n_faces, n_faces2) == (692, 2572)  # "从 692 个变成 2,572 个": about 4×
    # coarse vertices keep their SDF; the exact sphere SDF at the new vertices differs
    even = (((fine_verts + 1) * (2 * res) / 2).round().long() % 2 == 0).all(-1)
    torch.testing.assert_close(fine[0, even], sdf[0])
    exact = (fine_verts - center).norm(dim=-1) - 0.61
    assert (fine[0, ~even] - exact[~even]).abs().max() > 1e-3  # no new detail from averaging
