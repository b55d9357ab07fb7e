r"""GET3D: a generative model of textured 3-D meshes learned from images (the generator).

Jun Gao, Tianchang Shen, Zian Wang, Wenzheng Chen, Kangxue Yin, Daiqing Li, Or Litany, Zan Gojcic,
Sanja Fidler. "GET3D: A Generative Model of High Quality 3D Textured Shapes Learned from Images".
NeurIPS 2022. arXiv:2209.11163.

What is implemented (the generator $G$ of §3.1, in the improved form of Appendix A.5 / Fig. C that
the official code trains by default):

* two latent codes $z_1$ (geometry) and $z_2$ (texture) $\sim \mathcal N(0, I)$, each mapped to
  $w_1$, $w_2$ by its own StyleGAN mapping network;
* a tri-plane generator: a StyleGAN2 synthesis network (modulated 3×3 convolutions from a learned
  4×4 constant) whose backbone is modulated by $w_1$; at every resolution a 1×1 "to_geo" layer
  (modulated by $w_1$) and a "to_tex" layer (modulated by $w_2$) add to two sets of three
  axis-aligned feature planes, so the texture planes depend on both codes;
* the DMTet geometry branch: tri-plane features at the tetrahedral-grid vertices → SDF $s_i$ and
  deformation $\Delta v_i$ (small MLPs), then differentiable marching tetrahedra (DMTet Eq. (2));
* the texture field $f_t$: tri-plane features at the surface points → RGB.

The output is a textured mesh with one colour per vertex. Differentiable rasterisation (nvdiffrast)
and the two 2-D discriminators (RGB image and silhouette) of §3.2 are out of scope.

Extra shape letters: V grid vertices, K tetrahedra, E grid edges (= candidate surface vertices),
F candidate faces (two per tetrahedron), P query points, w latent width.

Deviations:
    - Colour per mesh vertex; the paper queries $f_t$ at the rasterised surface point of every
      pixel, and the official code maps 16 texture features to RGB with a modulated 1×1 layer in
      image space.
    - Tetrahedral grid: a cube grid cut into 6 tetrahedra per cube (the official code loads a
      Quartet grid, ``tet_res`` 90); marching tetrahedra with fixed shapes (one candidate vertex
      per grid edge, two candidate faces per tetrahedron + mask) so that ``forward`` runs on
      ``meta``. This is a self-contained copy of ``reference_impl/dmtet.py`` (tested equal).
    - StyleGAN2 details left out: equalised learning rate (weights are scaled at initialisation
      instead), per-pixel noise inputs, FIR-filtered up-sampling (we use bilinear), the mapping
      network's learning-rate multiplier, truncation and style mixing.
    - The SDF, deformation and texture MLPs are plain MLPs; the official code modulates them by
      $w$ (its "ModFC" layers). Deformation bounded to half a grid cell with ``tanh``.
    - No special handling of empty shapes (the official code fixes the SDF sign when a sample
      has no surface and adds a regulariser).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn


@dataclass(frozen=True)
class GET3DConfig:
    """Generator hyper-parameters: §3.1 and the official training script's defaults."""

    z_dim: int = 512  # z1, z2 ∈ R^512 (§3.1)
    w_dim: int = 512  # w1, w2 ∈ R^512 (§3.1)
    n_mapping_layers: int = 8  # StyleGAN mapping network depth (official code: 8)
    triplane_res: int = 256  # H = W of each feature plane (official --tri_plane_resolution)
    triplane_channels: int = 32  # C per plane, as in EG3D (official img_feat_dim)
    channel_base: int = 32768  # StyleGAN2 widths min(base / res, max) (official --cbase)
    channel_max: int = 512  # (official --cmax)
    d_mlp: int = 32  # hidden width of the SDF / deformation / texture MLPs (official default)
    n_mlp_layers: int = 1  # hidden layers of those MLPs (official --n_implicit_layer)
    tet_res: int = 90  # grid resolution (official --tet_res; ours is a cube grid, see Deviations)
    max_deform: float = 0.5  # |Δv| ≤ max_deform · cell size (per coordinate)

    @classmethod
    def tiny(cls) -> GET3DConfig:
        """A ~0.1 M-parameter generator on an 8³ grid, for tests and examples."""
        return cls(
            z_dim=16,
            w_dim=16,
            n_mapping_layers=2,
            triplane_res=16,
            triplane_channels=4,
            channel_base=256,
            channel_max=32,
            d_mlp=8,
            tet_res=8,
        )


# ─────────────────────────── DMTet (copy of reference_impl/dmtet.py) ───────────────────────────
TET_EDGES = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))
# Case = Σ_i [s(v_i) < 0]·2^i → up to two triangles (local edge ids), wound with normals to s > 0.
TRIANGLE_TABLE = (
    (-1, -1, -1, -1, -1, -1),
    (0, 1, 2, -1, -1, -1),
    (0, 4, 3, -1, -1, -1),
    (1, 2, 4, 1, 4, 3),
    (1, 3, 5, -1, -1, -1),
    (0, 5, 2, 0, 3, 5),
    (0, 4, 5, 0, 5, 1),
    (2, 4, 5, -1, -1, -1),
    (2, 5, 4, -1, -1, -1),
    (0, 1, 5, 0, 5, 4),
    (0, 5, 3, 0, 2, 5),
    (1, 5, 3, -1, -1, -1),
    (1, 3, 4, 1, 4, 2),
    (0, 3, 4, -1, -1, -1),
    (0, 2, 1, -1, -1, -1),
    (-1, -1, -1, -1, -1, -1),
)
NUM_TRIANGLES = (0, 1, 1, 2, 1, 2, 2, 1, 1, 2, 2, 1, 2, 1, 1, 0)


def tetrahedral_grid(res: int, device: torch.device | None = None) -> tuple[Tensor, ...]:
    """Cube grid over [-1, 1]³ cut into 6 Kuhn tetrahedra per cube.

    Returns:
        ``verts`` (V, 3), ``tets`` (K, 4) positively oriented, ``edges`` (E, 2) with E = 7V
        (edge ``7·lo + code − 1`` leaves vertex ``lo`` along a 0/1 direction), ``tet_edges`` (K, 6).
    """
    n = res + 1
    strides = (n * n, n, 1)
    ar = torch.arange(n, device=device)
    ijk = torch.stack(torch.meshgrid(ar, ar, ar, indexing="ij"), dim=-1).reshape(-1, 3)  # (V, 3)
    verts = ijk.float() * (2.0 / res) - 1.0
    paths = []
    for perm in itertools.permutations(range(3)):
        path = [0]
        for axis in perm:
            path.append(path[-1] + strides[axis])
        if sum(perm[i] > perm[j] for i in range(3) for j in range(i + 1, 3)) % 2:
            path[2], path[3] = path[3], path[2]  # odd permutation: flip to positive volume
        paths.append(path)
    cells = torch.arange(res, device=device)
    corner = torch.stack(torch.meshgrid(cells, cells, cells, indexing="ij"), dim=-1)
    corner = corner.reshape(-1, 3)  # (res³, 3): lowest corner of every cube
    corner_id = (corner * torch.tensor(strides, device=device)).sum(-1)
    tets = (corner_id[:, None, None] + torch.tensor(paths, device=device)).reshape(-1, 4)  # (K, 4)
    codes = torch.arange(1, 8, device=device)
    dirs = torch.stack([(codes >> 2) & 1, (codes >> 1) & 1, codes & 1], dim=-1)  # (7, 3)
    far = ijk[:, None, :] + dirs  # (V, 7, 3)
    start = torch.arange(n**3, device=device)[:, None].expand(-1, 7)  # (V, 7)
    far_id = (far * torch.tensor(strides, device=device)).sum(-1)
    end = torch.where((far <= res).all(-1), far_id, start)
    edges = torch.stack([start, end], dim=-1).reshape(-1, 2)  # (E, 2)
    ends = tets[:, torch.tensor(TET_EDGES, device=device)]  # (K, 6, 2)
    lo, hi = ends.min(-1).values, ends.max(-1).values
    d = hi - lo
    tet_edges = 7 * lo + 4 * (d // (n * n)) + 2 * ((d // n) % n) + d % n - 1  # (K, 6)
    return verts, tets, edges, tet_edges


class MarchingTetrahedra(nn.Module):
    """Differentiable marching tetrahedra with fixed output shapes (no parameters)."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("triangle_table", torch.tensor(TRIANGLE_TABLE), persistent=False)
        self.register_buffer("num_triangles", torch.tensor(NUM_TRIANGLES), persistent=False)
        self.register_buffer("bit", 2 ** torch.arange(4), persistent=False)

    def forward(
        self, verts: Tensor, sdf: Tensor, edges: Tensor, tets: Tensor, tet_edges: Tensor
    ) -> tuple[Tensor, Tensor, Tensor]:
        """(B, V, 3) vertices and (B, V) SDF → (B, E, 3) vertices, (B, F, 3) faces, (B, F) mask."""
        v_a, v_b = verts[:, edges[:, 0]], verts[:, edges[:, 1]]  # (B, E, 3)
        s_a, s_b = sdf[:, edges[:, 0], None], sdf[:, edges[:, 1], None]  # (B, E, 1)
        crossing = (s_a < 0) != (s_b < 0)
        denom = torch.where(crossing, s_b - s_a, torch.ones_like(s_a))
        v_ab = (v_a * s_b - v_b * s_a) / denom  # DMTet Eq. (2)
        mesh_verts = torch.where(crossing, v_ab, v_a)  # (B, E, 3)
        case = ((sdf < 0).long()[:, tets] * self.bit).sum(-1)  # (B, K)
        local = self.triangle_table[case]  # (B, K, 6)
        edge_ids = tet_edges.expand(sdf.shape[0], -1, -1)  # (B, K, 6)
        faces = torch.gather(edge_ids, 2, local.clamp(min=0))  # (B, K, 6) grid edge ids
        faces = faces.reshape(sdf.shape[0], -1, 3)  # (B, 2K, 3)
        slot = torch.arange(2, device=sdf.device)
        n_tri = self.num_triangles[case]  # (B, K)
        face_mask = (slot < n_tri[..., None]).reshape(sdf.shape[0], -1)  # (B, 2K)
        return mesh_verts, faces, face_mask


def compact_mesh(verts: Tensor, faces: Tensor, face_mask: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """One shape's real faces (F', 3) and used vertices (V', 3), plus ``kept`` (V',) indices."""
    faces = faces[face_mask]
    kept, new_index = torch.unique(faces, return_inverse=True)
    return verts[kept], new_index.reshape(-1, 3), kept  # (V', 3), (F', 3), (V',)


# ───────────────────────────────────────── GET3D ─────────────────────────────────────────


# --8<-- [start:mapping]
class MappingNetwork(nn.Module):
    r"""StyleGAN's mapping network $z \mapsto w$: normalise $z$, then an MLP with leaky ReLUs."""

    def __init__(self, z_dim: int, w_dim: int, n_layers: int, code: str) -> None:
        super().__init__()
        self.code = code  # which latent this network maps, e.g. "z1 → w1 (geometry)"
        layers: list[nn.Module] = []
        for i in range(n_layers):
            layers += [nn.Linear(z_dim if i == 0 else w_dim, w_dim), nn.LeakyReLU(0.2)]
        self.layers = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        """Map (B, z) latents to (B, w) codes."""
        z = z * torch.rsqrt(z.square().mean(dim=-1, keepdim=True) + 1e-8)  # 2nd-moment norm
        return self.layers(z)

    def extra_repr(self) -> str:
        """Shown by ``print(model)`` and in the diagrams: which code this network maps."""
        return self.code


# --8<-- [end:mapping]


# --8<-- [start:modconv]
class ModulatedConv2d(nn.Module):
    r"""StyleGAN2 modulated convolution: scale the input channels by a style, then demodulate.

    The style is an affine map of the code, $s = A w$ ("A" in StyleGAN2 Fig. 2); the weights
    become $w'_{ijk} = s_i\, w_{ijk}$ (StyleGAN2 Eq. 1) and, when demodulating,
    $w''_{ijk} = w'_{ijk} / \sqrt{\sum_{i,k} {w'_{ijk}}^2 + \epsilon}$ (Eq. 3), which restores unit
    output variance. Written as one layer (no child modules) so that diagrams draw it as one box.
    """

    def __init__(
        self,
        c_in: int,
        c_out: int,
        w_dim: int,
        kernel_size: int = 3,
        *,
        code: str,
        up: bool = False,
        demodulate: bool = True,
        activate: bool = True,
    ) -> None:
        super().__init__()
        self.c_in, self.c_out, self.kernel_size, self.code = c_in, c_out, kernel_size, code
        self.up, self.demodulate, self.activate = up, demodulate, activate
        self.affine_weight = nn.Parameter(torch.randn(c_in, w_dim) / w_dim**0.5)  # A
        self.affine_bias = nn.Parameter(torch.ones(c_in))  # styles start at 1
        fan_in = c_in * kernel_size**2
        self.weight = nn.Parameter(torch.randn(c_out, c_in, kernel_size, kernel_size) / fan_in**0.5)
        self.bias = nn.Parameter(torch.zeros(c_out))

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        """(B, C_in, H, W) features and (B, w) code → (B, C_out, H', W'), H' = 2H if ``up``."""
        if self.up:  # Deviation: bilinear up-sampling instead of StyleGAN2's FIR-filtered one
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        B, C, H, W = x.shape
        s = F.linear(w, self.affine_weight, self.affine_bias)  # (B, C_in) style
        weight = self.weight * s[:, None, :, None, None]  # (B, C_out, C_in, k, k): Eq. (1)
        if self.demodulate:  # Eq. (3)
            weight = weight * torch.rsqrt(weight.square().sum(dim=(2, 3, 4), keepdim=True) + 1e-8)
        # one grouped convolution applies each sample's own weights: (1, B·C_in, H, W) input
        weight = weight.reshape(-1, C, self.kernel_size, self.kernel_size)  # (B·C_out, C_in, k, k)
        x = F.conv2d(x.reshape(1, B * C, H, W), weight, padding=self.kernel_size // 2, groups=B)
        x = x.reshape(B, self.c_out, H, W) + self.bias[:, None, None]  # (B, C_out, H, W)
        return F.leaky_relu(x, 0.2) if self.activate else x

    def extra_repr(self) -> str:
        """Shown by ``print(model)`` and in the diagrams."""
        k, up = self.kernel_size, ", up ×2" if self.up else ""
        return f"{self.c_in}→{self.c_out}, {k}×{k}{up}, modulated by {self.code}"


# --8<-- [end:modconv]


# --8<-- [start:triplane]
class ConstantInput(nn.Module):
    """The learned 4×4 input of the StyleGAN2 synthesis network."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.const = nn.Parameter(torch.randn(channels, 4, 4))

    def forward(self, w: Tensor) -> Tensor:
        """(B, w) code (only its batch size is used) → (B, C, 4, 4)."""
        return self.const[None].repeat(w.shape[0], 1, 1, 1)  # a copy, not a view of the weight


class TriplaneBlock(nn.Module):
    """One resolution of the tri-plane generator (StyleGAN2's "skip" architecture)."""

    def __init__(self, c_in: int, c_out: int, w_dim: int, plane_channels: int, first: bool) -> None:
        super().__init__()
        planes = 3 * plane_channels
        self.conv0 = None if first else ModulatedConv2d(c_in, c_out, w_dim, code="w1", up=True)
        self.conv1 = ModulatedConv2d(c_out, c_out, w_dim, code="w1")
        # 1×1 output layers without demodulation (StyleGAN2's tRGB): "tGEO" and "tTEX" of Fig. C
        self.to_geo = ModulatedConv2d(
            c_out, planes, w_dim, 1, code="w1", demodulate=False, activate=False
        )
        self.to_tex = ModulatedConv2d(
            c_out, planes, w_dim, 1, code="w2", demodulate=False, activate=False
        )

    def forward(
        self, x: Tensor, geo: Tensor | None, tex: Tensor | None, w_geo: Tensor, w_tex: Tensor
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Features (B, C, H/2, W/2) and planes so far (B, 3C', H/2, W/2) → resolution H."""
        if self.conv0 is not None:
            x = self.conv0(x, w_geo)
        x = self.conv1(x, w_geo)  # the shared backbone is modulated by the geometry code only
        geo_y, tex_y = self.to_geo(x, w_geo), self.to_tex(x, w_tex)  # texture output reads w2
        if geo is not None and tex is not None:  # skip architecture: upsample and accumulate
            geo_y = geo_y + F.interpolate(geo, scale_factor=2, mode="bilinear", align_corners=False)
            tex_y = tex_y + F.interpolate(tex, scale_factor=2, mode="bilinear", align_corners=False)
        return x, geo_y, tex_y


class TriplaneGenerator(nn.Module):
    r"""StyleGAN2-style generator of two tri-planes (geometry, texture) from $w_1$ and $w_2$."""

    def __init__(self, cfg: GET3DConfig) -> None:
        super().__init__()
        self.plane_channels = cfg.triplane_channels
        resolutions = [2**i for i in range(2, int(math.log2(cfg.triplane_res)) + 1)]  # 4 … 256
        ch = {r: min(cfg.channel_base // r, cfg.channel_max) for r in resolutions}
        self.input = ConstantInput(ch[4])
        self.blocks = nn.ModuleList(
            TriplaneBlock(ch[max(r // 2, 4)], ch[r], cfg.w_dim, cfg.triplane_channels, r == 4)
            for r in resolutions
        )

    def forward(self, w_geo: Tensor, w_tex: Tensor) -> tuple[Tensor, Tensor]:
        """(B, w) codes → geometry and texture tri-planes, each (B, 3, C, H, W) (xy, yz, xz)."""
        x = self.input(w_geo)  # (B, C, 4, 4)
        geo = tex = None
        for block in self.blocks:
            x, geo, tex = block(x, geo, tex, w_geo, w_tex)
        B, _, H, W = geo.shape
        C = self.plane_channels
        return geo.reshape(B, 3, C, H, W), tex.reshape(B, 3, C, H, W)  # (B, 3, C, H, W)


class TriplaneSampler(nn.Module):
    """Features of 3-D points: project on the xy, yz, xz planes, interpolate, sum (as EG3D)."""

    def forward(self, planes: Tensor, points: Tensor) -> Tensor:
        """Sample a tri-plane at points.

        Args:
            planes: (B, 3, C, H, W) features on the xy, yz and xz planes over $[-1, 1]^2$.
            points: (B, P, 3) query points in $[-1, 1]^3$ (clamped).

        Returns:
            (B, P, C) features.
        """
        B, _, C, H, W = planes.shape
        p = points.clamp(-1.0, 1.0)
        uv = torch.stack([p[..., [0, 1]], p[..., [1, 2]], p[..., [0, 2]]], dim=1)  # (B, 3, P, 2)
        feat = F.grid_sample(
            planes.reshape(B * 3, C, H, W), uv.reshape(B * 3, 1, -1, 2), align_corners=False
        )  # (3B, C, 1, P): bilinear
        return feat.reshape(B, 3, C, -1).sum(dim=1).transpose(1, 2)  # (B, P, C)


# --8<-- [end:triplane]


# --8<-- [start:fields]
class FieldMLP(nn.Module):
    """A small MLP applied to every point's tri-plane feature."""

    def __init__(self, d_in: int, d_hidden: int, d_out: int, n_layers: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for i in range(n_layers):
            layers += [nn.Linear(d_in if i == 0 else d_hidden, d_hidden), nn.LeakyReLU(0.2)]
        self.layers = nn.Sequential(*layers, nn.Linear(d_hidden, d_out))

    def forward(self, feat: Tensor) -> Tensor:
        """(B, P, C) → (B, P, d_out)."""
        return self.layers(feat)


class TextureField(nn.Module):
    r"""Texture field $f_t$: texture tri-plane features at a surface point $p$ → RGB."""

    def __init__(self, cfg: GET3DConfig) -> None:
        super().__init__()
        self.sampler = TriplaneSampler()
        self.mlp = FieldMLP(cfg.triplane_channels, cfg.d_mlp, 3, cfg.n_mlp_layers)

    def forward(self, tex_planes: Tensor, points: Tensor) -> Tensor:
        """(B, 3, C, H, W) planes and (B, P, 3) surface points → (B, P, 3) colours in [0, 1]."""
        return torch.sigmoid(self.mlp(self.sampler(tex_planes, points)))


# --8<-- [end:fields]


# --8<-- [start:model]
class GET3D(nn.Module):
    r"""The GET3D generator: $(z_1, z_2) \mapsto$ a triangle mesh with vertex colours."""

    def __init__(self, cfg: GET3DConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.mapping_geo = MappingNetwork(cfg.z_dim, cfg.w_dim, cfg.n_mapping_layers, "z1 → w1")
        self.mapping_tex = MappingNetwork(cfg.z_dim, cfg.w_dim, cfg.n_mapping_layers, "z2 → w2")
        self.triplane = TriplaneGenerator(cfg)
        self.sample_geo = TriplaneSampler()
        self.sdf_head = FieldMLP(cfg.triplane_channels, cfg.d_mlp, 1, cfg.n_mlp_layers)
        self.deform_head = FieldMLP(cfg.triplane_channels, cfg.d_mlp, 3, cfg.n_mlp_layers)
        self.marching_tets = MarchingTetrahedra()
        self.texture_field = TextureField(cfg)
        verts, tets, edges, tet_edges = tetrahedral_grid(cfg.tet_res)
        self.register_buffer("grid_verts", verts, persistent=False)  # (V, 3)
        self.register_buffer("tets", tets, persistent=False)  # (K, 4)
        self.register_buffer("edges", edges, persistent=False)  # (E, 2)
        self.register_buffer("tet_edges", tet_edges, persistent=False)  # (K, 6)

    def geometry(self, geo_planes: Tensor) -> tuple[Tensor, Tensor]:
        """SDF (B, V) and deformation (B, V, 3) at the grid vertices from the geometry tri-plane."""
        B = geo_planes.shape[0]
        feat = self.sample_geo(geo_planes, self.grid_verts.expand(B, -1, -1))  # (B, V, C)
        sdf = self.sdf_head(feat).squeeze(-1)  # (B, V)
        cell = 2.0 / self.cfg.tet_res
        deformation = self.cfg.max_deform * cell * torch.tanh(self.deform_head(feat))  # (B, V, 3)
        return sdf, deformation

    def forward(self, z_geo: Tensor, z_tex: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Generate a batch of textured meshes.

        Args:
            z_geo: (B, z) geometry code $z_1$.
            z_tex: (B, z) texture code $z_2$.

        Returns:
            ``mesh_verts`` (B, E, 3), ``faces`` (B, F, 3), ``face_mask`` (B, F) (candidate
            vertices and faces, see :class:`MarchingTetrahedra`; :func:`compact_mesh` keeps the
            real ones) and ``colors`` (B, E, 3) in [0, 1], one per candidate vertex.
        """
        w_geo, w_tex = self.mapping_geo(z_geo), self.mapping_tex(z_tex)  # (B, w) each
        geo_planes, tex_planes = self.triplane(w_geo, w_tex)  # (B, 3, C, H, W) each
        sdf, deformation = self.geometry(geo_planes)
        verts = self.grid_verts + deformation  # (B, V, 3): v' = v + Δv
        mesh_verts, faces, face_mask = self.marching_tets(
            verts, sdf, self.edges, self.tets, self.tet_edges
        )
        # Deviation: one colour per vertex (the paper queries f_t at every rasterised pixel's
        # surface point). As in the official code, the query points are detached: colours train
        # the texture, they do not move the surface.
        colors = self.texture_field(tex_planes, mesh_verts.detach())  # (B, E, 3)
        return mesh_verts, faces, face_mask, colors


# --8<-- [end:model]


def get3d(**overrides: object) -> GET3D:
    """The GET3D generator at the official training defaults (§3.1, Appendix A)."""
    return GET3D(dataclasses.replace(GET3DConfig(), **overrides))


def get3d_tiny(**overrides: object) -> GET3D:
    """A tiny GET3D generator (16-d codes, 16×16 planes, 8³ grid) for tests and examples."""
    return GET3D(dataclasses.replace(GET3DConfig.tiny(), **overrides))


__all__ = [
    "GET3D",
    "ConstantInput",
    "FieldMLP",
    "GET3DConfig",
    "MappingNetwork",
    "MarchingTetrahedra",
    "ModulatedConv2d",
    "TextureField",
    "TriplaneBlock",
    "TriplaneGenerator",
    "TriplaneSampler",
    "compact_mesh",
    "get3d",
    "get3d_tiny",
    "tetrahedral_grid",
]


if __name__ == "__main__":
    torch.manual_seed(0)
    model = get3d_tiny()
    z_geo, z_tex = torch.randn(2, model.cfg.z_dim), torch.randn(2, model.cfg.z_dim)
    mesh_verts, faces, face_mask, colors = model(z_geo, z_tex)
    print("candidates", tuple(mesh_verts.shape), tuple(faces.shape), tuple(colors.shape))
    v, f, kept = compact_mesh(mesh_verts[0], faces[0], face_mask[0])
    print("textured mesh 0:", tuple(v.shape), tuple(f.shape), tuple(colors[0, kept].shape))
