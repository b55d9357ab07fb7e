import math

import torch
import torch.nn.functional as F

import reference_impl.dmtet as dmtet
from reference_impl.get3d import (
    GET3DConfig,
    MarchingTetrahedra,
    ModulatedConv2d,
    TriplaneSampler,
    compact_mesh,
    get3d,
    get3d_tiny,
    tetrahedral_grid,
)


def modconv_params(c_in: int, c_out: int, w: int, k: int) -> int:
    return (w * c_in + c_in) + c_out * c_in * k * k + c_out  # affine A, weight, bias


def expected_params(cfg: GET3DConfig) -> int:
    mapping = (
        cfg.z_dim * cfg.w_dim + cfg.w_dim + (cfg.n_mapping_layers - 1) * (cfg.w_dim**2 + cfg.w_dim)
    )
    res = [2**i for i in range(2, int(math.log2(cfg.triplane_res)) + 1)]
    ch = {r: min(cfg.channel_base // r, cfg.channel_max) for r in res}
    planes = 3 * cfg.triplane_channels
    triplane = ch[4] * 4 * 4  # learned constant
    for r in res:
        if r > 4:
            triplane += modconv_params(ch[r // 2], ch[r], cfg.w_dim, 3)  # conv0 (up)
        triplane += modconv_params(ch[r], ch[r], cfg.w_dim, 3)  # conv1
        triplane += 2 * modconv_params(ch[r], planes, cfg.w_dim, 1)  # to_geo, to_tex

    def mlp(d_out: int) -> int:
        c, h = cfg.triplane_channels, cfg.d_mlp
        return c * h + h + (cfg.n_mlp_layers - 1) * (h * h + h) + h * d_out + d_out

    return 2 * mapping + triplane + mlp(1) + mlp(3) + mlp(3)


def surface_sum(mesh_verts, faces, face_mask, values):
    return sum(values[i][faces[i][face_mask[i]]].sum() for i in range(len(faces)))


def test_parameter_count_on_meta():
    cfg = GET3DConfig()
    with torch.device("meta"):
        model = get3d()
        out = model(torch.empty(1, 512), torch.empty(1, 512))
    n = sum(p.numel() for p in model.parameters())
    assert n == expected_params(cfg) == 34_206_983
    assert sum(p.numel() for p in model.mapping_geo.parameters()) == 8 * (512 * 512 + 512)
    V, K = 91**3, 6 * 90**3
    assert [tuple(t.shape) for t in out] == [
        (1, 7 * V, 3),
        (1, 2 * K, 3),
        (1, 2 * K),
        (1, 7 * V, 3),
    ]


def test_tiny_shapes_and_textured_mesh():
    torch.manual_seed(0)
    model = get3d_tiny()
    cfg = model.cfg
    assert sum(p.numel() for p in model.parameters()) == expected_params(cfg)
    z_geo, z_tex = torch.randn(2, cfg.z_dim), torch.randn(2, cfg.z_dim)
    w_geo, w_tex = model.mapping_geo(z_geo), model.mapping_tex(z_tex)
    geo, tex = model.triplane(w_geo, w_tex)
    C, R = cfg.triplane_channels, cfg.triplane_res
    assert geo.shape == tex.shape == (2, 3, C, R, R)
    mesh_verts, faces, face_mask, colors = model(z_geo, z_tex)
    V, K = (cfg.tet_res + 1) ** 3, 6 * cfg.tet_res**3
    assert mesh_verts.shape == colors.shape == (2, 7 * V, 3)
    assert faces.shape == (2, 2 * K, 3) and face_mask.shape == (2, 2 * K)
    assert ((colors >= 0) & (colors <= 1)).all()
    verts, f, kept = compact_mesh(mesh_verts[0], faces[0], face_mask[0])
    assert f.shape[0] > 0 and f.max() < verts.shape[0] and colors[0, kept].shape == verts.shape


def test_deterministic_under_a_seed():
    outs = []
    for _ in range(2):
        torch.manual_seed(123)
        model = get3d_tiny()
        z_geo, z_tex = torch.randn(1, 16), torch.randn(1, 16)
        outs.append(model(z_geo, z_tex))
    outs.append(model(z_geo, z_tex))  # no noise inputs: a second call is identical too
    for a, b, c in zip(*outs, strict=True):
        assert torch.equal(a, b) and torch.equal(b, c)


def test_gradients_reach_both_latents():
    torch.manual_seed(0)
    model = get3d_tiny()
    z_geo = torch.randn(2, 16, requires_grad=True)
    z_tex = torch.randn(2, 16, requires_grad=True)
    mesh_verts, faces, face_mask, colors = model(z_geo, z_tex)
    assert face_mask.any(dim=1).all(), "both samples should have a surface"
    # geometry: vertex positions depend on z_geo only
    (g_geo, g_tex) = torch.autograd.grad(
        surface_sum(mesh_verts, faces, face_mask, mesh_verts),
        (z_geo, z_tex),
        allow_unused=True,
        retain_graph=True,
    )
    assert torch.isfinite(g_geo).all() and g_geo.abs().sum() > 0
    assert g_tex is None or (g_tex == 0).all()
    # texture: colours depend on z_tex, and on z_geo through the shared tri-plane backbone
    loss = surface_sum(mesh_verts, faces, face_mask, colors)
    g_geo, g_tex = torch.autograd.grad(loss, (z_geo, z_tex))
    for g in (g_geo, g_tex):
        assert torch.isfinite(g).all() and g.abs().sum() > 0


def test_texture_code_changes_colours_not_geometry():
    torch.manual_seed(1)
    model = get3d_tiny()
    z_geo = torch.randn(1, 16)
    a = model(z_geo, torch.randn(1, 16))
    b = model(z_geo, torch.randn(1, 16))
    for x, y in zip(a[:3], b[:3], strict=True):
        assert torch.equal(x, y)
    assert not torch.allclose(a[3], b[3])


def test_marching_tets_copy_matches_dmtet():
    torch.manual_seed(0)
    grid = tetrahedral_grid(5)
    for x, y in zip(grid, dmtet.tetrahedral_grid(5), strict=True):
        assert torch.equal(x, y)
    verts, tets, edges, tet_edges = grid
    verts = verts + 0.05 * torch.randn(2, *verts.shape)
    sdf = verts.norm(dim=-1) - 0.6 + 0.1 * torch.randn(2, verts.shape[1])
    ours = MarchingTetrahedra()(verts, sdf, edges, tets, tet_edges)
    theirs = dmtet.MarchingTetrahedra()(verts, sdf, edges, tets, tet_edges)
    for x, y in zip(ours, theirs, strict=True):
        assert torch.equal(x, y)


def test_modulated_conv_matches_plain_conv_per_sample():
    torch.manual_seed(0)
    layer = ModulatedConv2d(4, 6, 8, kernel_size=3, code="w", activate=False)
    x, w = torch.randn(3, 4, 5, 5), torch.randn(3, 8)
    out = layer(x, w)
    s = F.linear(w, layer.affine_weight, layer.affine_bias)
    for i in range(3):
        weight = layer.weight * s[i, None, :, None, None]  # modulate
        weight = weight / weight.square().sum(dim=(1, 2, 3), keepdim=True).add(1e-8).sqrt()
        ref = F.conv2d(x[i : i + 1], weight, layer.bias, padding=1)
        assert torch.allclose(out[i : i + 1], ref, atol=1e-5)


def test_triplane_sampling_axes():
    # planes holding the linear functions x (xy plane), 2y (yz plane) and 4z (xz plane)
    R = 8
    centers = (torch.arange(R) + 0.5) / R * 2 - 1  # pixel centres (align_corners=False)
    u = centers[None, :].expand(R, R)  # grid_sample: u = width index, v = height index
    v = centers[:, None].expand(R, R)
    planes = torch.stack([u, 2 * u, 4 * v])[None, :, None]  # (1, 3, 1, R, R)
    p = torch.rand(1, 50, 3) * 1.5 - 0.75  # stay inside the outermost pixel centres
    feat = TriplaneSampler()(planes, p)[..., 0]
    assert torch.allclose(feat, p[..., 0] + 2 * p[..., 1] + 4 * p[..., 2], atol=1e-5)
