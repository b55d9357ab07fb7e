"""Figures for the MAE page: a tiny MAE trained briefly on CPU reconstructs 75 %-masked images."""

from __future__ import annotations

import math

import torch
from matplotlib.figure import Figure
from torch import Tensor

from reference_impl.mae import MaskedAutoencoder, mae_tiny
from tools.generator.figures import style

DEPENDS: tuple[str, ...] = ("reference_impl/mae.py",)

_STEPS, _BATCH, _LR = 400, 32, 2e-3
_MEAN, _STD = 0.5, 0.25  # inputs are normalised like ImageNet images before the encoder


def synthetic_images(n: int, size: int, g: torch.Generator) -> Tensor:
    """Colour gradients with two random circles / squares on top: (n, 3, size, size) in [0, 1]."""
    lin = torch.linspace(0, 1, size)
    yy, xx = torch.meshgrid(lin, lin, indexing="ij")
    c0, c1 = torch.rand(n, 3, 1, 1, generator=g), torch.rand(n, 3, 1, 1, generator=g)
    theta = torch.rand(n, 1, 1, generator=g) * 2 * math.pi
    t = (torch.cos(theta) * (xx - 0.5) + torch.sin(theta) * (yy - 0.5)) / math.sqrt(2) + 0.5
    img = c0 + (c1 - c0) * t[:, None]  # linear gradient in a random direction
    for _ in range(2):
        cy, cx = torch.rand(2, n, 1, 1, generator=g) * 0.6 + 0.2
        r = torch.rand(n, 1, 1, generator=g) * 0.15 + 0.12
        circle = (yy - cy) ** 2 + (xx - cx) ** 2 <= r**2
        square = ((yy - cy).abs() <= 0.85 * r) & ((xx - cx).abs() <= 0.85 * r)
        shape = torch.where(torch.rand(n, 1, 1, generator=g) < 0.5, circle, square)
        img = torch.where(shape[:, None], torch.rand(n, 3, 1, 1, generator=g), img)
    return img


def train_tiny_mae() -> tuple[MaskedAutoencoder, list[float]]:
    """Train ``mae_tiny`` (raw-pixel target) for a few hundred steps; return it and its losses."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    # Raw pixels as the target so that the prediction can be shown as an image (the released
    # visualisation model is likewise trained without norm_pix_loss).
    model = mae_tiny(norm_pix_loss=False)
    opt = torch.optim.AdamW(
        model.parameters(), lr=_LR, betas=(0.9, 0.95), weight_decay=0.05, foreach=True
    )
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=_LR, total_steps=_STEPS, pct_start=0.1)
    losses = []
    for _ in range(_STEPS):
        x = (synthetic_images(_BATCH, 32, g) - _MEAN) / _STD
        loss, _, _ = model(x)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
    return model.eval(), losses


def _to_image(x: Tensor) -> Tensor:
    """(3, H, W) normalised → (H, W, 3) in [0, 1] for imshow."""
    return (x * _STD + _MEAN).clamp(0, 1).permute(1, 2, 0)


@style.single_threaded
def draw_reconstruction() -> Figure:
    """mae_tiny 在合成图像上短暂训练后，对三张没见过的图像遮住 75% 的图块并重建；右为训练损失。"""
    model, losses = train_tiny_mae()
    g = torch.Generator().manual_seed(1234)  # held-out images
    x = (synthetic_images(3, 32, g) - _MEAN) / _STD
    with torch.no_grad():
        _, pred, mask = model(x, torch.rand(3, model.cfg.n_patches, generator=g))
    m = mask[..., None]  # (3, N, 1), 1 = removed
    patches = model.patchify(x)
    grey = torch.full_like(patches, (0.5 - _MEAN) / _STD + 0.0)
    masked = model.unpatchify(patches * (1 - m) + grey * m)
    recon = model.unpatchify(pred)
    pasted = model.unpatchify(patches * (1 - m) + pred * m)

    fig = style.new_figure(8.0, 5.0)
    grid = fig.add_gridspec(3, 6, width_ratios=[1, 1, 1, 1, 0.15, 2.4])
    titles = ("原图", "遮住 75 %", "解码器输出", "可见 + 预测")
    for row in range(3):
        for col, img in enumerate((x, masked, recon, pasted)):
            ax = fig.add_subplot(grid[row, col])
            ax.imshow(_to_image(img[row]), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(titles[col], fontsize=8, wrap=True)
    ax = fig.add_subplot(grid[:, 5])
    k = 20
    smooth = [
        sum(losses[max(0, i - k + 1) : i + 1]) / len(losses[max(0, i - k + 1) : i + 1])
        for i in range(len(losses))
    ]
    ax.plot(range(1, len(losses) + 1), smooth, color=style.PALETTE[0])
    ax.set_xlabel("训练步数（批量大小 32）")
    ax.set_ylabel("被遮图块上的 MSE（移动平均）")
    ax.set_title(f"mae_tiny，CPU 训练 {_STEPS} 步", fontsize=9)
    ax.grid(True)
    return fig


FIGURES = {"mae-reconstruction": draw_reconstruction}
