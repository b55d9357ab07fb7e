"""DALL·E 2 figures: the unCLIP pipeline, and the two DDPM noise schedules of the reference code."""

from __future__ import annotations

import torch
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

from reference_impl import dalle2
from tools.generator.figures import style

DEPENDS = ("reference_impl/dalle2.py",)


def draw_noise_schedules() -> Figure:
    """线性（Ho et al.）与余弦（Nichol & Dhariwal）噪声调度的 ᾱ_t 和对数信噪比."""
    fig = style.new_figure(width=7.0, height=2.7)
    ax_abar, ax_snr = fig.subplots(1, 2)
    t = torch.arange(1, 1001) / 1000
    # every 4th step and the last: 251 points draw the same smooth curves in a quarter of the SVG
    every = torch.cat([torch.arange(0, 1000, 4), torch.tensor([999])])
    for i, (name, label) in enumerate(
        (("linear", "线性（DDPM）"), ("cosine", "余弦（unCLIP 所用）"))
    ):
        abar = dalle2.GaussianDiffusion(1000, name).alphas_cumprod
        log_snr = (abar / (1 - abar)).log()
        ax_abar.plot(t[every], abar[every], color=style.PALETTE[i], label=label)
        ax_snr.plot(t[every], log_snr[every], color=style.PALETTE[i], label=label)
    ax_abar.set(xlabel="t / T", ylabel=r"$\bar\alpha_t$（信号保留比例）", ylim=(0, 1.02))
    ax_snr.set(xlabel="t / T", ylabel=r"$\log(\bar\alpha_t / (1-\bar\alpha_t))$（对数信噪比）")
    ax_snr.axhline(0, color=style.FG, lw=0.6, ls=":")
    ax_abar.legend()
    for ax in (ax_abar, ax_snr):
        ax.grid(True)
    return fig


def _box(ax, x: float, y: float, w: float, h: float, text: str, colour: str) -> None:
    patch = FancyBboxPatch(
        (x - w / 2, y - h / 2),
        w,
        h,
        boxstyle="round,pad=0.4,rounding_size=1.2",
        facecolor=colour,
        edgecolor=style.FG,
        linewidth=0.8,
        alpha=0.25,
    )
    ax.add_patch(patch)
    ax.text(x, y, text, ha="center", va="center", fontsize=8.5, color=style.FG)


def _arrow(ax, start: tuple[float, float], end: tuple[float, float], dashed: bool = False) -> None:
    ax.annotate(
        "",
        xy=end,
        xytext=start,
        arrowprops={
            "arrowstyle": "-|>",
            "color": style.FG,
            "lw": 0.9,
            "ls": "--" if dashed else "-",
            "shrinkA": 0,
            "shrinkB": 0,
        },
    )


def draw_pipeline() -> Figure:
    """DALL·E 2（unCLIP）的生成流程：CLIP 文本编码器 → 扩散先验 → 扩散解码器 → 两级上采样器."""
    fig = style.new_figure(width=8.0, height=3.0)
    ax = fig.subplots()
    ax.set(xlim=(0, 100), ylim=(0, 38))
    ax.axis("off")
    blue, red, green, orange = (
        style.PALETTE[0],
        style.PALETTE[1],
        style.PALETTE[2],
        style.PALETTE[3],
    )
    y = 24
    ax.text(2, y, "文本 y", ha="left", va="center", fontsize=9, color=style.FG)
    _box(ax, 19, y, 14, 7, "CLIP\n文本编码器", blue)
    _box(ax, 43, y, 14, 7, "扩散先验\n$P(z_i \\mid y)$", red)
    _box(ax, 66, y, 14, 7, "扩散解码器\n$P(x \\mid z_i, y)$", green)
    _box(ax, 85, y + 8, 11, 5, "上采样器\n64→256", orange)
    _box(ax, 85, y - 8, 11, 5, "上采样器\n256→1024", orange)
    _arrow(ax, (9, y), (11.5, y))
    _arrow(ax, (26.5, y), (35.5, y))
    ax.text(31, y + 1.6, "$z_t$", ha="center", fontsize=9, color=style.FG)
    _arrow(ax, (50.5, y), (58.5, y))
    ax.text(54.5, y + 1.6, "$z_i$", ha="center", fontsize=9, color=style.FG)
    _arrow(ax, (73.5, y + 2), (79, y + 7), dashed=False)
    ax.text(75, y + 6.5, "64²", fontsize=8, color=style.FG)
    _arrow(ax, (85, y + 5), (85, y - 5))
    _arrow(ax, (90.8, y - 8), (97, y - 8))
    ax.text(98.5, y - 8, "1024²\n图像", ha="center", va="center", fontsize=8, color=style.FG)
    # the caption also reaches the decoder (GLIDE's text pathway), drawn dashed
    _arrow(ax, (5, y - 2.5), (5, 13))
    ax.plot([5, 70], [13, 13], color=style.FG, lw=0.9, ls="--")
    _arrow(ax, (70, 13), (70, y - 4.5), dashed=True)
    ax.text(30, 14.2, "标题词元也送入解码器（GLIDE 的文本通路，作用很小，§2.1）", ha="center",
            fontsize=7.5, color=style.FG)  # fmt: skip
    # variations: an image's own CLIP embedding replaces the prior's z_i
    _box(ax, 27, 4, 30, 4.5, "图像 → CLIP 图像编码器（生成变体时）", blue)
    ax.plot([42.6, 62], [4, 4], color=style.FG, lw=0.9, ls=":")
    _arrow(ax, (62, 4), (62, y - 4.5), dashed=True)
    ax.text(63, 7.5, "$z_i$", fontsize=9, color=style.FG)
    ax.text(40, 33, "第一阶段：先验（文本 → CLIP 图像嵌入）", ha="center", fontsize=8.5, color=red)
    ax.text(
        74, 37, "第二阶段：解码（CLIP 图像嵌入 → 图像）", ha="center", fontsize=8.5, color=green
    )
    return fig


FIGURES = {"dalle2-pipeline": draw_pipeline, "dalle2-noise-schedules": draw_noise_schedules}
