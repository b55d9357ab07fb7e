import math

import pytest
import torch

from reference_impl.dmtet import (
    NUM_TRIANGLES,
    TET_EDGES,
    TRIANGLE_TABLE,
    DMTetConfig,
    MarchingTetrahedra,
    compact_mesh,
    dmtet,
    dmtet_tiny,
    tetrahedral_grid,
)


def extract(res: int, sdf_fn, dtype=torch.float32):
    """Mesh of an analytic SDF on the undeformed grid (compacted)."""
    verts, tets, edges, tet_edges = tetrahedral_grid(res)
    verts = verts.to(dtype)
    mesh = MarchingTetrahedra()(verts[None], sdf_fn(verts)[None], edges, tets, tet_edges)
    return compact_mesh(mesh[0][0], mesh[1][0], mesh[2][0])


def sphere(r: float):
    return lambda p: p.norm(dim=-1) - r


def torus(big: float, small: float):
    return lambda p: torch.stack([p[:, :2].norm(dim=-1) - big, p[:, 2]], -1).norm(dim=-1) - small


def edge_counts(faces: torch.Tensor):
    directed = torch.cat([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    _, directed_counts = torch.unique(directed, dim=0, return_counts=True)
    undirected, counts = torch.unique(directed.sort(dim=-1).values, dim=0, return_counts=True)
    return directed_counts, counts, undirected.shape[0]


def area_volume(verts: torch.Tensor, faces: torch.Tensor):
    tri = verts[faces]  # (F, 3, 3)
    cross = torch.linalg.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    return cross.norm(dim=-1).sum().item() / 2, (tri[:, 0] * cross).sum().item() / 6


# ── the grid ───────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("res", [1, 3, 6])
def test_grid_tiles_the_cube_without_cracks(res):
    verts, tets, edges, tet_edges = tetrahedral_grid(res)
    assert verts.shape == ((res + 1) ** 3, 3) and tets.shape == (6 * res**3, 4)
    p = verts[tets].double()
    volume = torch.linalg.det(p[:, 1:] - p[:, :1]) / 6
    assert (volume > 0).all()  # consistently (positively) oriented
    assert torch.isclose(volume.sum(), torch.tensor(8.0, dtype=torch.float64))  # fills [-1, 1]³
    # conforming: every interior triangle is shared by exactly 2 tets, boundary ones by 1
    tri = torch.cat(
        [tets[:, [1, 2, 3]], tets[:, [0, 2, 3]], tets[:, [0, 1, 3]], tets[:, [0, 1, 2]]]
    )
    _, counts = torch.unique(tri.sort(dim=-1).values, dim=0, return_counts=True)
    assert set(counts.tolist()) <= {1, 2} and (counts == 1).sum() == 12 * res**2
    # the analytic edge numbering agrees with the tetrahedra
    local = torch.tensor(TET_EDGES)
    pairs = torch.stack([tets[:, local[:, 0]], tets[:, local[:, 1]]], -1).sort(dim=-1).values
    assert torch.equal(edges[tet_edges].sort(dim=-1).values, pairs)


def test_case_table_orients_every_triangle_outwards():
    torch.manual_seed(0)
    mt = MarchingTetrahedra().double()
    tet = torch.tensor([[0, 1, 2, 3]])
    local = torch.tensor(TET_EDGES)
    edges = local  # one tetrahedron: its 6 edges are the grid edges
    tet_edges = torch.arange(6)[None]
    for case in range(16):
        for _ in range(5):
            verts = torch.randn(4, 3, dtype=torch.float64)
            if torch.linalg.det(verts[1:] - verts[:1]) < 0:
                verts = verts[[0, 1, 3, 2]]
            inside = torch.tensor([(case >> i) & 1 for i in range(4)], dtype=torch.bool)
            sdf = torch.rand(4, dtype=torch.float64) + 0.1
            sdf = torch.where(inside, -sdf, sdf)
            mesh_verts, faces, mask = mt(verts[None], sdf[None], edges, tet, tet_edges)
            assert mask.sum().item() == NUM_TRIANGLES[case]
            # gradient of the linear interpolant of s inside the tetrahedron
            grad = torch.linalg.solve(verts[1:] - verts[:1], sdf[1:] - sdf[0])
            for f in faces[0][mask[0]]:
                a, b, c = mesh_verts[0][f]
                assert torch.dot(torch.linalg.cross(b - a, c - a), grad) > 0
    assert all(
        len([e for e in row if e >= 0]) == 3 * n
        for row, n in zip(TRIANGLE_TABLE, NUM_TRIANGLES, strict=True)
    )


# ── the extracted mesh ─────────────────────────────────────────────────────────────────────


def test_sphere_mesh_is_closed_oriented_and_accurate():
    r = 0.61
    verts, faces, _ = extract(24, sphere(r))
    directed, undirected, n_edges = edge_counts(faces)
    assert (undirected == 2).all()  # closed: every edge has exactly two faces
    assert (directed == 1).all()  # consistently oriented: the two faces run an edge both ways
    assert verts.shape[0] - n_edges + faces.shape[0] == 2  # Euler characteristic of a sphere
    area, volume = area_volume(verts.double(), faces)
    assert area == pytest.approx(4 * math.pi * r**2, rel=0.05)
    assert volume == pytest.approx(4 / 3 * math.pi * r**3, rel=0.05)  # > 0: normals point out
    assert (verts.norm(dim=-1) - r).abs().max() < 2.0 / 24  # vertices lie on the surface


def test_torus_has_genus_one():
    verts, faces, _ = extract(24, torus(0.55, 0.25))
    directed, undirected, n_edges = edge_counts(faces)
    assert (undirected == 2).all() and (directed == 1).all()
    assert verts.shape[0] - n_edges + faces.shape[0] == 0  # χ = 2 − 2g with g = 1
    _, volume = area_volume(verts.double(), faces)
    assert volume == pytest.approx(2 * math.pi**2 * 0.55 * 0.25**2, rel=0.05)


def test_batch_equals_single_shapes():
    verts, tets, edges, tet_edges = tetrahedral_grid(6)
    sdf = torch.stack([sphere(0.5)(verts), torus(0.5, 0.3)(verts)])
    mt = MarchingTetrahedra()
    batched = mt(verts.expand(2, -1, -1), sdf, edges, tets, tet_edges)
    for i in range(2):
        single = mt(verts[None], sdf[i : i + 1], edges, tets, tet_edges)
        for b, s in zip(batched, single, strict=True):
            assert torch.equal(b[i], s[0])


# ── gradients ──────────────────────────────────────────────────────────────────────────────


def test_gradients_flow_to_sdf_and_vertices():
    torch.manual_seed(0)
    verts, tets, edges, tet_edges = tetrahedral_grid(3)
    verts = verts.double()
    sdf = sphere(0.8)(verts) + 0.02 * torch.randn(verts.shape[0], dtype=torch.float64)
    mt = MarchingTetrahedra()
    _, faces, mask = mt(verts[None], sdf[None], edges, tets, tet_edges)
    used = torch.unique(faces[mask])  # surface vertices (grid edges cut by the surface)
    assert used.numel() > 20

    def surface(v, s):
        return mt(v[None], s[None], edges, tets, tet_edges)[0][0, used]

    v, s = verts.clone().requires_grad_(), sdf.clone().requires_grad_()
    assert torch.autograd.gradcheck(surface, (v, s), fast_mode=True)
    # closed form of Eq. (2): ∂v_ab/∂s_a = s_b (v_a − v_b) / (s_b − s_a)²
    a, b = edges[used[0]]
    (g,) = torch.autograd.grad(surface(v, s)[0, 0], s)
    expected = sdf[b] * (verts[a, 0] - verts[b, 0]) / (sdf[b] - sdf[a]) ** 2
    assert torch.isclose(g[a], expected)
    # only the two ends of the edge matter
    assert (g != 0).sum() <= 2


def test_network_gradients_reach_features_and_heads():
    torch.manual_seed(0)
    model = dmtet_tiny()
    feat_vol = torch.randn(2, model.cfg.d_feat, 4, 4, 4, requires_grad=True)
    mesh_verts, faces, face_mask, _, deformation = model(feat_vol)
    assert face_mask.any(dim=1).all(), "both random shapes should have a surface"
    loss = sum(mesh_verts[i][faces[i][face_mask[i]]].square().sum() for i in range(2))
    loss.backward()
    for t in (feat_vol.grad, model.sdf_head.weight.grad, model.deform_head.weight.grad):
        assert t is not None and torch.isfinite(t).all() and t.abs().sum() > 0
    cell = 2.0 / model.cfg.grid_res
    assert deformation.abs().max() <= model.cfg.max_deform * cell


# ── the model ──────────────────────────────────────────────────────────────────────────────


def test_forward_shapes_tiny():
    model = dmtet_tiny()
    r = model.cfg.grid_res
    V, K = (r + 1) ** 3, 6 * r**3
    out = model(torch.randn(3, model.cfg.d_feat, 5, 6, 7))
    shapes = [tuple(t.shape) for t in out]
    assert shapes == [(3, 7 * V, 3), (3, 2 * K, 3), (3, 2 * K), (3, V), (3, V, 3)]
    assert out[2].dtype == torch.bool


def test_parameter_count_on_meta():
    cfg = DMTetConfig()
    with torch.device("meta"):
        model = dmtet()
        out = model(torch.empty(1, cfg.d_feat, 16, 16, 16))
    d_in = 3 * (1 + 2 * cfg.n_freqs) + cfg.d_feat
    h = cfg.d_hidden
    expected = (d_in * h + h) + (cfg.n_layers - 1) * (h * h + h) + (h + 1) + (3 * h + 3)
    assert sum(p.numel() for p in model.parameters()) == expected == 216_836
    assert out[0].shape == (1, 7 * 65**3, 3) and out[1].shape == (1, 12 * 64**3, 3)
