"""Figures for the ViT page: an image as a sequence of 16×16 patches, and position similarities."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from reference_impl.mae import sincos_pos_embed_2d
from reference_impl.vit import PatchEmbedding, ViTConfig
from tools.generator.figures import style

DEPENDS: tuple[str, ...] = ("reference_impl/vit.py", "reference_impl/mae.py")


def _synthetic_image(size: int = 224) -> torch.Tensor:
    """A deterministic 'scene': sky-to-ground gradient, a sun and a house. (3, size, size)."""
    lin = torch.linspace(0, 1, size)
    yy, xx = torch.meshgrid(lin, lin, indexing="ij")
    sky = torch.tensor([0.55, 0.75, 0.95])[:, None, None] * (1 - 0.4 * yy)
    img = torch.where(yy < 0.7, sky, torch.tensor([0.35, 0.6, 0.3])[:, None, None])
    sun = (yy - 0.2) ** 2 + (xx - 0.78) ** 2 < 0.1**2
    img = torch.where(sun, torch.tensor([1.0, 0.8, 0.2])[:, None, None], img)
    wall = (yy > 0.45) & (yy < 0.78) & (xx > 0.15) & (xx < 0.5)
    img = torch.where(wall, torch.tensor([0.85, 0.5, 0.35])[:, None, None], img)
    roof = (yy > 0.25) & (yy <= 0.45) & ((xx - 0.325).abs() < (yy - 0.25) * 1.1)
    img = torch.where(roof, torch.tensor([0.6, 0.15, 0.15])[:, None, None], img)
    door = (yy > 0.6) & (yy < 0.78) & (xx > 0.28) & (xx < 0.37)
    return torch.where(door, torch.tensor([0.3, 0.2, 0.1])[:, None, None], img)


def draw_patches() -> Figure:
    """ViT-B/16 把图像切成 14×14 个图块（左），拼成以 [class] 开头的序列（右）。"""
    cfg = ViTConfig.base(16)
    P, G = cfg.patch_size, cfg.image_size // cfg.patch_size
    img = _synthetic_image(cfg.image_size)
    with torch.no_grad():  # the shapes come from the reference PatchEmbedding itself
        tokens = PatchEmbedding(cfg)(img[None])
    assert tokens.shape == (1, cfg.n_patches, cfg.d_model)

    fig = style.new_figure(8.0, 3.6)
    ax, ax2 = fig.subplots(1, 2, width_ratios=[1, 1.5])
    ax.imshow(img.permute(1, 2, 0), extent=(0, cfg.image_size, cfg.image_size, 0))
    for i in range(G + 1):
        ax.axhline(i * P, color="white", lw=0.6)
        ax.axvline(i * P, color="white", lw=0.6)
    for n in (0, 1, 2, G - 1, G, cfg.n_patches - 1):
        r, c = divmod(n, G)
        ax.text(
            c * P + P / 2,
            r * P + P / 2,
            str(n + 1),
            ha="center",
            va="center",
            fontsize=6,
            color="black",
        )
    ax.set_title(
        f"{cfg.image_size}×{cfg.image_size} 图像 → {G}×{G} = {cfg.n_patches} 个 {P}×{P} 块",
        fontsize=9,
    )
    ax.set_xticks([])
    ax.set_yticks([])

    # the first patches of the raster order, laid out as the Transformer's input sequence
    show = [0, 1, 2, None, 5 * G + 3, 5 * G + 4, 5 * G + 5, None, cfg.n_patches - 1]
    ax2.set_xlim(-0.6, len(show) + 0.6)
    ax2.set_ylim(-1.9, 1.6)
    ax2.axis("off")
    ax2.add_patch(Rectangle((-0.45, -0.45), 0.9, 0.9, color=style.PALETTE[4]))
    ax2.text(0, 0, "[class]", ha="center", va="center", fontsize=7, color="white")
    for k, n in enumerate(show, start=1):
        if n is None:
            ax2.text(k, 0, "…", ha="center", va="center", fontsize=14)
            continue
        r, c = divmod(n, G)
        patch = img[:, r * P : (r + 1) * P, c * P : (c + 1) * P].permute(1, 2, 0)
        ax2.imshow(patch, extent=(k - 0.45, k + 0.45, 0.45, -0.45))
        ax2.text(k, -0.6, str(n + 1), ha="center", fontsize=7)
        ax2.text(k, 0.8, "+", ha="center", fontsize=8, color=style.PALETTE[1])
    ax2.text(0, 0.8, "+", ha="center", fontsize=8, color=style.PALETTE[1])
    ax2.text(
        len(show) / 2,
        1.3,
        r"位置编码 $E_{pos}$（每个位置一个可学习向量）",
        ha="center",
        fontsize=8,
        color=style.PALETTE[1],
    )
    ax2.text(
        len(show) / 2,
        -1.3,
        f"每块拉平为 {P}·{P}·3 = {P * P * 3} 维，乘以 E 得到 D = {cfg.d_model} 维的“词”",
        ha="center",
        fontsize=8,
    )
    ax2.set_ylim(1.7, -1.7)
    return fig


def draw_position_similarity() -> Figure:
    """固定二维正弦-余弦位置编码（7×7 网格）的余弦相似度，每个小图对应一个图块。

    Cosine similarity between the position embedding of each patch and of every other patch.
    This is the fixed 2-D sine-cosine table (as in MAE), on the 7×7 grid of a /32 model with
    D = 1024: not a trained ViT. The paper's Fig. 7 (centre) shows the same kind of picture for
    the learned 1-D embeddings of ViT-L/32.
    """
    G, D = 7, 1024
    pe = sincos_pos_embed_2d(D, G, cls_token=False)  # (49, D)
    pe = F.normalize(pe, dim=1)
    sim = (pe @ pe.T).reshape(G, G, G, G)  # [row, col] of the query → its (G, G) map

    fig = style.new_figure(5.6, 5.2)
    axes = fig.subplots(G, G, gridspec_kw={"wspace": 0.05, "hspace": 0.05})
    for r in range(G):
        for c in range(G):
            ax = axes[r, c]
            im = ax.imshow(sim[r, c], cmap="viridis", vmin=float(sim.min()), vmax=1)
            ax.set_xticks([])
            for side in ("left", "bottom"):
                ax.spines[side].set_visible(False)
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(str(r + 1), rotation=0, labelpad=8, fontsize=8)
            if r == G - 1:
                ax.set_xlabel(str(c + 1), fontsize=8)
    fig.supxlabel("输入块所在列", fontsize=9)
    fig.supylabel("输入块所在行", fontsize=9)
    fig.colorbar(im, ax=axes, shrink=0.6, label="余弦相似度")
    assert math.isclose(float(sim[3, 3, 3, 3]), 1.0, rel_tol=1e-5)
    return fig


FIGURES = {"vit-patches": draw_patches, "vit-position-similarity": draw_position_similarity}
