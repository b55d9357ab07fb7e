"""Figures for the ResNet page: gradient norms at initialisation, plain-34 vs ResNet-34 (§4.1)."""

from __future__ import annotations

import math

import torch
from matplotlib.figure import Figure
from torch import nn

from tools.generator.figures import style

DEPENDS: tuple[str, ...] = ("reference_impl/resnet.py",)

_SEEDS = (0, 1)
_BATCH, _SIDE = 16, 64  # random 3×64×64 images: the architecture's ratios, at 1/12 of the cost


def _conv_grad_norms(constructor, seed: int) -> tuple[list[str], list[float], list[float]]:
    """One forward/backward at initialisation; return the main-path convs' ‖∇W‖ and ‖W‖.

    The model is in train mode (BatchNorm uses batch statistics, as in training); the loss is
    cross-entropy on random labels. Projection shortcuts (``downsample``) are left out, so that
    the two networks have the same list of 33 convolutions.
    """
    torch.manual_seed(seed)
    model = constructor().train()
    x = torch.randn(_BATCH, 3, _SIDE, _SIDE)
    y = torch.randint(0, model.config.num_classes, (_BATCH,))
    nn.functional.cross_entropy(model(x), y).backward()
    names, grads, weights = [], [], []
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d) and "downsample" not in name:
            names.append(name)
            grads.append(float(module.weight.grad.norm()))
            weights.append(float(module.weight.detach().norm()))
    return names, grads, weights


def _geo_mean(rows: list[list[float]]) -> list[float]:
    """Per-column geometric mean of equally long rows."""
    return [math.exp(sum(math.log(v) for v in col) / len(col)) for col in zip(*rows, strict=True)]


def _measure(constructor) -> dict[str, list]:
    """Geometric mean, min and max over the seeds of ‖∇W‖ and ‖∇W‖/‖W‖ per convolution."""
    runs = [_conv_grad_norms(constructor, s) for s in _SEEDS]
    names = runs[0][0]
    grad = [r[1] for r in runs]
    rel = [[g / w for g, w in zip(r[1], r[2], strict=True)] for r in runs]
    return {
        "names": names,
        "grad": _geo_mean(grad),
        "grad_lo": [min(c) for c in zip(*grad, strict=True)],
        "grad_hi": [max(c) for c in zip(*grad, strict=True)],
        "rel": _geo_mean(rel),
        "rel_lo": [min(c) for c in zip(*rel, strict=True)],
        "rel_hi": [max(c) for c in zip(*rel, strict=True)],
    }


def draw_grad_norms() -> Figure:
    """初始化时各卷积层的梯度范数 ‖∇W‖ 与 ‖∇W‖/‖W‖ 随深度的变化：plain-34 对 ResNet-34。

    ‖∇W‖ and ‖∇W‖/‖W‖ of each conv vs depth at initialisation, plain-34 vs ResNet-34.
    """
    from reference_impl.resnet import plain34, resnet34

    data = {"plain-34（无捷径）": _measure(plain34), "ResNet-34（有捷径）": _measure(resnet34)}
    names = next(iter(data.values()))["names"]
    depth = list(range(1, len(names) + 1))
    # first conv of each stage: conv2_x … conv5_x of Table 1
    starts = {f"conv{i + 2}_x": names.index(f"layer{i + 1}.0.conv1") + 1 for i in range(4)}

    fig = style.new_figure(7.4, 3.5)
    ax_g, ax_r = fig.subplots(1, 2, sharex=True)
    for (label, d), color in zip(data.items(), (style.PALETTE[1], style.PALETTE[0]), strict=True):
        for ax, key in ((ax_g, "grad"), (ax_r, "rel")):
            ax.fill_between(depth, d[f"{key}_lo"], d[f"{key}_hi"], color=color, alpha=0.2, lw=0)
            ax.plot(depth, d[key], "o-", color=color, ms=2.5, lw=1.4, label=label)
    # spread of the relative gradient over the 32 convs of the residual stages (stem excluded)
    for i, ((label, d), color) in enumerate(
        zip(data.items(), (style.PALETTE[1], style.PALETTE[0]), strict=True)
    ):
        spread = d["rel"][1] / d["rel"][-1]
        ax_r.text(
            0.98,
            0.80 - 0.08 * i,
            f"{label.split('（')[0]}：第 2 层是第 {len(d['rel'])} 层的 {spread:.0f} 倍",
            transform=ax_r.transAxes,
            ha="right",
            fontsize=7.5,
            color=color,
        )
    for ax in (ax_g, ax_r):
        ax.set_yscale("log")
        ax.grid(True, which="major")
        ax.set_xlabel("卷积层序号（输入 → 输出）")
        for stage, x in starts.items():
            ax.axvline(x - 0.5, color=style.FG, lw=0.5, ls=":")
            ax.text(x, 1.0, stage, transform=ax.get_xaxis_transform(), fontsize=7, va="top")
    ax_g.set_title("||∂L/∂W||（每个卷积层的权重）", fontsize=9.5)
    ax_r.set_title("相对梯度 ||∂L/∂W|| / ||W||", fontsize=9.5)
    ax_g.legend(loc="lower left", fontsize=8)
    fig.suptitle(
        f"初始化时的梯度范数：随机 {_BATCH}×3×{_SIDE}×{_SIDE} 输入、随机标签的交叉熵，"
        f"BN 训练模式；{len(_SEEDS)} 个种子的几何平均（阴影 = 最小–最大）",
        fontsize=8.5,
    )
    return fig


FIGURES = {"resnet-grad-norms": draw_grad_norms}
