"""Figures for the contrastive-learning page: SimCLR's views, and SimCLR vs MoCo on toy data."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch import Tensor

from reference_impl.contrastive import ContrastiveConfig, SimCLRAugmentation, moco, simclr
from tools.generator.figures import style

DEPENDS: tuple[str, ...] = ("reference_impl/contrastive.py",)

_STEPS, _BATCH, _LR = 100, 32, 2e-3
_VIEW = 24  # side of the training views (the synthetic images are 32 px)


def synthetic_images(n: int, g: torch.Generator, size: int = 32) -> Tensor:
    """Random coloured circles / squares on random two-colour gradients: (n, 3, size, size)."""
    lin = torch.linspace(0, 1, size)
    yy, xx = torch.meshgrid(lin, lin, indexing="ij")
    c0, c1 = torch.rand(2, n, 3, 1, 1, generator=g)
    img = c0 + (c1 - c0) * yy
    cy, cx = torch.rand(2, n, 1, 1, generator=g) * 0.4 + 0.3
    r = torch.rand(n, 1, 1, generator=g) * 0.1 + 0.15
    circle = (yy - cy) ** 2 + (xx - cx) ** 2 <= r**2
    square = ((yy - cy).abs() <= r) & ((xx - cx).abs() <= r)
    shape = torch.where(torch.rand(n, 1, 1, generator=g) < 0.5, circle, square)
    return torch.where(shape[:, None], torch.rand(n, 3, 1, 1, generator=g), img)


def draw_views() -> Figure:
    """同一张合成图像经 SimCLR 的增强流水线 t ~ T（附录 A）得到的 8 个随机视图。"""
    g = torch.Generator().manual_seed(3)
    img = synthetic_images(1, g, size=96)[0]
    augment = SimCLRAugmentation(size=96)
    views = [augment(img, g) for _ in range(8)]
    fig = style.new_figure(8.0, 2.4)
    axes = fig.subplots(2, 5)
    axes[0, 0].imshow(img.permute(1, 2, 0))
    axes[0, 0].set_title("原图", fontsize=8)
    axes[1, 0].axis("off")
    axes[1, 0].text(
        0.5,
        0.5,
        "每一格都是\n一次随机增强\n（裁剪缩放、翻转、\n颜色抖动、灰度、模糊）",
        ha="center",
        va="center",
        fontsize=7,
    )
    for k, v in enumerate(views):
        ax = axes[k % 2, 1 + k // 2]
        ax.imshow(v.permute(1, 2, 0))
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    return fig


def _positive_top1(logits: Tensor, targets: Tensor) -> float:
    return (logits.argmax(dim=1) == targets).float().mean().item()


@style.single_threaded
def draw_training() -> Figure:
    """SimCLR（NT-Xent，批量内负样本）与 MoCo v2（InfoNCE，队列负样本）在合成图像上的短时训练。"""
    cfg = ContrastiveConfig.tiny()
    # milder than ImageNet's pipeline (crops of 30–100 %, strength 0.5, no blur), views of 24 px
    # cut from the 32 px images: a CPU demo of well under a minute
    augment = SimCLRAugmentation(size=_VIEW, strength=0.5, blur=False, scale=(0.3, 1.0))
    curves: dict[str, tuple[list[float], list[float], int]] = {}
    for name in ("SimCLR", "MoCo v2"):
        torch.manual_seed(0)
        g = torch.Generator().manual_seed(0)
        model = simclr(cfg, tau=0.2) if name == "SimCLR" else moco(cfg)
        params = [p for p in model.parameters() if p.requires_grad]
        opt = torch.optim.Adam(params, lr=_LR, foreach=True)
        losses, accs = [], []
        for _ in range(_STEPS):
            imgs = synthetic_images(_BATCH, g)
            x1 = torch.stack([augment(i, g) for i in imgs])
            x2 = torch.stack([augment(i, g) for i in imgs])
            if name == "SimCLR":
                z = F.normalize(torch.cat([model.encoder(x1), model.encoder(x2)]), dim=1)
                sim = (z @ z.T / cfg.tau).masked_fill(
                    torch.eye(2 * _BATCH, dtype=torch.bool), float("-inf")
                )
                targets = torch.cat([torch.arange(_BATCH, 2 * _BATCH), torch.arange(_BATCH)])
                loss = F.cross_entropy(sim, targets)  # = nt_xent_loss(z1, z2, τ)
                acc, n_cand = _positive_top1(sim, targets), 2 * _BATCH - 1
            else:
                logits, k = model(x1, x2)
                targets = torch.zeros(_BATCH, dtype=torch.long)
                loss = F.cross_entropy(logits, targets)
                acc, n_cand = _positive_top1(logits, targets), logits.shape[1]
            opt.zero_grad()
            loss.backward()
            opt.step()
            if name != "SimCLR":
                model.momentum_update()
                model.enqueue(k)
            losses.append(loss.item())
            accs.append(acc)
        curves[name] = (losses, accs, n_cand)

    fig = style.new_figure(7.6, 3.0)
    ax1, ax2 = fig.subplots(1, 2)
    k = 10
    for (name, (losses, accs, n_cand)), color in zip(curves.items(), style.PALETTE, strict=False):

        def smooth(v: list[float]) -> list[float]:
            return [
                sum(v[max(0, i - k + 1) : i + 1]) / len(v[max(0, i - k + 1) : i + 1])
                for i in range(len(v))
            ]

        steps = range(1, _STEPS + 1)
        ax1.plot(steps, smooth(losses), color=color, label=f"{name}（{n_cand} 选 1）")
        ax1.axhline(math.log(n_cand), color=color, ls=":", lw=0.8)
        ax2.plot(steps, smooth(accs), color=color, label=name)
        ax2.axhline(1 / n_cand, color=color, ls=":", lw=0.8)
    full = cfg.queue_size // _BATCH  # MoCo's queue holds only real keys from this step on
    for ax in (ax1, ax2):
        ax.axvline(full, color=style.PALETTE[1], ls="--", lw=0.8)
    ax2.text(
        full + 2, 0.9, f"第 {full} 步起 MoCo 队列\n全是真实的键", fontsize=7, color=style.PALETTE[1]
    )
    ax1.set_xlabel("训练步数（批量大小 32）")
    ax1.set_ylabel("对比损失（移动平均）")
    ax1.set_title("点线：随机猜测的 ln(候选数)", fontsize=8)
    ax1.legend(fontsize=8)
    ax2.set_xlabel("训练步数（批量大小 32）")
    ax2.set_ylabel("正样本排第一的比例")
    ax2.set_title("点线：随机猜测 1/候选数", fontsize=8)
    ax2.set_ylim(0, 1)
    for ax in (ax1, ax2):
        ax.grid(True)
    return fig


FIGURES = {"contrastive-views": draw_views, "contrastive-training": draw_training}
