"""GET3D figure: how a tri-plane turns three 2-D feature maps into a feature at any 3-D point.

``get3d-triplane`` draws one channel of the three planes produced by a (randomly initialised)
tiny :class:`reference_impl.get3d.TriplaneGenerator` on the walls of the unit cube, a query point
$p$ and its three projections; the feature of $p$ is the sum of the three bilinear lookups
(:class:`reference_impl.get3d.TriplaneSampler`), which the figure also evaluates.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
from matplotlib import colormaps
from matplotlib.figure import Figure

from reference_impl.get3d import GET3DConfig, TriplaneGenerator, TriplaneSampler
from tools.generator.figures import style

DEPENDS = ("reference_impl/get3d.py",)


def planes() -> torch.Tensor:
    """Texture tri-plane (3, C, H, W) of a tiny, randomly initialised generator (seeded)."""
    torch.manual_seed(3)
    cfg = dataclasses.replace(GET3DConfig.tiny(), triplane_res=32)
    gen = TriplaneGenerator(cfg)
    with torch.no_grad():
        _, tex = gen(torch.randn(1, cfg.w_dim), torch.randn(1, cfg.w_dim))
    return tex[0]


def draw_triplane() -> Figure:
    """三平面：三个坐标平面上的特征图（第 0 通道）、查询点 p 与它的三个投影。"""
    tex = planes()
    feat = tex[:, 0].numpy()  # channel 0 of each plane, (3, H, W)
    lo, hi = feat.min(), feat.max()
    cmap = colormaps["viridis"]
    n = feat.shape[-1]
    # pixel centres over [-1, 1] (align_corners=False); row index = second coordinate
    c = (np.arange(n) + 0.5) / n * 2 - 1
    a, b = np.meshgrid(c, c)  # a: first coordinate (width), b: second (height)
    colors = cmap((feat - lo) / (hi - lo))

    fig = style.new_figure(5.6, 4.6)
    fig.set_dpi(160)
    ax = fig.add_subplot(projection="3d")
    wall = -1.0
    kw = dict(rstride=1, cstride=1, shade=False, linewidth=0, antialiased=False, rasterized=True)
    ax.plot_surface(a, b, np.full_like(a, wall), facecolors=colors[0], **kw)  # xy plane (z = −1)
    ax.plot_surface(np.full_like(a, wall), a, b, facecolors=colors[1], **kw)  # yz plane (x = −1)
    ax.plot_surface(a, np.full_like(a, -wall), b, facecolors=colors[2], **kw)  # xz plane (y = 1)

    p = np.array([0.35, -0.2, 0.3])
    proj = [(p[0], p[1], wall), (wall, p[1], p[2]), (p[0], -wall, p[2])]
    value = TriplaneSampler()(tex[None, :, :1], torch.tensor(p, dtype=torch.float32)[None, None])
    ax.scatter(*p, color=style.PALETTE[1], s=40, depthshade=False, zorder=10)
    ax.text(p[0] + 0.06, p[1], p[2] + 0.1, "$p$", color=style.FG, fontsize=12, zorder=11)
    for q, name in zip(proj, (r"$F_{xy}(x,y)$", r"$F_{yz}(y,z)$", r"$F_{xz}(x,z)$"), strict=True):
        ax.plot(*zip(p, q, strict=True), color=style.FG, linestyle="--", linewidth=0.9, zorder=9)
        ax.scatter(*q, color=style.PALETTE[1], s=14, depthshade=False, zorder=10)
        ax.text(*q, "  " + name, color=style.FG, fontsize=8, zorder=11)
    ax.set(xlim=(-1, 1), ylim=(-1, 1), zlim=(-1, 1), xlabel="x", ylabel="y", zlabel="z")
    ax.set_box_aspect((1, 1, 1), zoom=0.92)
    ax.view_init(elev=24, azim=-52)
    for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
        axis.set_pane_color((1, 1, 1, 0))
        axis.set_ticks([-1, 0, 1])
    ax.set_title(
        r"$F(p) = F_{xy}(x,y) + F_{yz}(y,z) + F_{xz}(x,z)$" + f"（第 0 通道：{value.item():+.3f}）",
        color=style.FG,
        fontsize=9,
    )
    return fig


FIGURES = {"get3d-triplane": draw_triplane}
