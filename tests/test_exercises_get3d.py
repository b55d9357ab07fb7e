"""The GET3D page's exercises: computed answers against hand formulas, the solution's effect."""

from __future__ import annotations

import torch

from reference_impl import get3d
from reference_impl.exercises.get3d import sdf_reg_loss
from tools.generator import exercises as ex
from tools.generator.exercises.get3d import texture_only

ANSWERS = {e.id: e for e in ex.load("get3d")}


def value(exercise_id: str) -> float:
    return ANSWERS[exercise_id].computed.value


def test_triplane_bytes():
    planes = 3 * 32 * 256 * 256
    assert value("get3d-triplane-bytes") == 2 * planes * 4
    assert round(value("get3d-triplane-bytes") / 1e6) == 50  # "共约 50 MB"
    volume = 32 * 256**3 * 4
    assert volume == 2 * 2**30  # "2 GiB"
    assert volume // (planes * 4) == 256 // 3 == 85  # "256/3 ≈ 85 倍"


def test_texture_only_params():
    w, widths, planes = 512, [512] * 5 + [256, 128], 3 * 32
    mapping = 8 * (w * w + w)
    to_tex = sum((w * c + c) + (planes * c + planes) for c in widths)  # affine A, 1×1 conv
    mlp = (32 * 32 + 32) + (32 * 3 + 3)
    assert value("get3d-texture-only-params") == mapping + to_tex + mlp
    with torch.device("meta"):
        total = ex.n_params(get3d.get3d())
    assert round(value("get3d-texture-only-params") / 1e4) == 390  # "约 390 万"
    assert round(total / 1e5) == 342  # "生成器 3420 万参数"
    assert round(100 * value("get3d-texture-only-params") / total) == 11  # "11%"


def test_texture_only_params_are_exactly_those_the_geometry_ignores():
    torch.manual_seed(0)
    model = get3d.get3d_tiny()
    z_geo, z_tex = torch.randn(2, model.cfg.z_dim), torch.randn(2, model.cfg.z_dim)
    mesh_verts, _, _, colors = model(z_geo, z_tex)
    params = dict(model.named_parameters())
    geo_grads = torch.autograd.grad(
        mesh_verts.sum(), list(params.values()), allow_unused=True, retain_graph=True
    )
    for (name, _), g in zip(params.items(), geo_grads, strict=True):
        no_geometry_gradient = g is None or torch.count_nonzero(g) == 0
        assert no_geometry_gradient == texture_only(name), name
    color_grads = torch.autograd.grad(colors.sum(), list(params.values()), allow_unused=True)
    tex = [
        g for (name, _), g in zip(params.items(), color_grads, strict=True) if texture_only(name)
    ]
    assert all(g is not None and torch.count_nonzero(g) > 0 for g in tex)  # they do serve colour


def test_sdf_reg_removes_an_isolated_bubble():
    verts, tets, edges, tet_edges = get3d.tetrahedral_grid(8)
    extract = get3d.MarchingTetrahedra()

    def n_faces(sdf: torch.Tensor) -> int:
        return int(extract(verts[None], sdf, edges, tets, tet_edges)[2].sum())

    sdf = torch.full((1, len(verts)), 0.5)
    bubble = int((verts - 0.25).norm(dim=-1).argmin())  # an interior vertex
    sdf[0, bubble] = -0.1
    assert n_faces(sdf) > 0  # a small closed surface around one vertex
    s = sdf.clone().requires_grad_()
    loss = sdf_reg_loss(s, edges)
    (grad,) = torch.autograd.grad(loss, s)
    neighbours = torch.cat([edges[edges[:, 0] == bubble, 1], edges[edges[:, 1] == bubble, 0]])
    neighbours = neighbours[neighbours != bubble]
    assert len(neighbours) == 14  # "拉回正值的边却有 14 条"
    assert grad[0, bubble] < 0 and (grad[0, neighbours] > 0).all()  # descent: up, and down
    with torch.no_grad():
        s -= 1.0 * grad  # one gradient-descent step, learning rate 1
    assert n_faces(s.detach()) == 0 and float(sdf_reg_loss(s.detach(), edges)) == 0.0


def test_sdf_reg_is_zero_without_a_surface():
    verts, _, edges, _ = get3d.tetrahedral_grid(4)
    s = torch.rand(2, len(verts)).add(0.1).requires_grad_()  # all outside
    loss = sdf_reg_loss(s, edges)
    loss.backward()
    assert loss.item() == 0.0 and torch.count_nonzero(s.grad) == 0
