"""Figures for the AlexNet page: why ReLU trains faster than saturating nonlinearities (§3.1)."""

from __future__ import annotations

import torch
from matplotlib.figure import Figure

from tools.generator.figures import style

DEPENDS: tuple[str, ...] = ()  # analytic curves only; nothing from reference_impl/alexnet.py

_SATURATION = 0.05  # a derivative below this is drawn as "saturated"


def _curves(x: torch.Tensor) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Return {label: (f(x), f'(x))}, the derivative taken by autograd, not typed in."""
    out = {}
    for label, fn in (
        ("ReLU  max(0, x)", torch.relu),
        ("tanh(x)", torch.tanh),
        ("sigmoid  σ(x)", torch.sigmoid),
    ):
        xs = x.clone().requires_grad_(True)
        y = fn(xs)
        (dy,) = torch.autograd.grad(y.sum(), xs)
        out[label] = (y.detach(), dy)
    return out


def draw_activations() -> Figure:
    """tanh、sigmoid 与 ReLU 及其导数，阴影为饱和区。

    Two panels: the three nonlinearities and their derivatives, saturated regions shaded.
    """
    x = torch.linspace(-6.0, 6.0, 1201, dtype=torch.float64)
    curves = _curves(x)
    fig = style.new_figure(7.2, 3.0)
    ax_f, ax_d = fig.subplots(1, 2)
    colors = dict(zip(curves, style.PALETTE, strict=False))
    for label, (y, dy) in curves.items():
        ax_f.plot(x, y, color=colors[label], lw=1.8, label=label)
        ax_d.plot(x, dy, color=colors[label], lw=1.8, label=label)

    # Shade where tanh's derivative has collapsed (|x| large): gradient ≈ 0 on both sides.
    _, dtanh = curves["tanh(x)"]
    sat = (dtanh < _SATURATION).numpy()
    x_np = x.numpy()
    x_sat = float(x_np[~sat].max())  # right edge of the non-saturated range of tanh
    for ax in (ax_f, ax_d):
        ax.axvspan(x_sat, 6.0, color=style.PALETTE[1], alpha=0.08, lw=0)
        ax.axvspan(-6.0, -x_sat, color=style.PALETTE[1], alpha=0.08, lw=0)
        ax.axhline(0, color=style.FG, lw=0.6)
        ax.axvline(0, color=style.FG, lw=0.6)
        ax.set_xlim(-6, 6)
        ax.grid(True)
        ax.set_xlabel("x")
    ax_d.text(
        x_sat + 0.2,
        0.55,
        f"tanh 饱和区\n|x| > {x_sat:.1f} 时\nf'(x) < {_SATURATION}",
        color=style.FG,
        fontsize=8,
    )
    ax_d.text(-5.8, 0.08, "ReLU: x < 0 时\n梯度恒为 0", color=style.PALETTE[0], fontsize=8)
    _, dsig = curves["sigmoid  σ(x)"]
    ax_d.annotate(
        f"max σ'(x) = {float(dsig.max()):.2f}",
        xy=(0.0, float(dsig.max())),
        xytext=(1.2, 0.33),
        color=style.PALETTE[2],
        fontsize=8,
        arrowprops={"arrowstyle": "->", "color": style.PALETTE[2], "lw": 0.8},
    )
    ax_f.set_ylim(-1.2, 3.0)
    ax_d.set_ylim(-0.05, 1.15)
    ax_f.set_title("激活函数 f(x)")
    ax_d.set_title("导数 f'(x)（autograd 计算）")
    ax_f.legend(loc="upper left", fontsize=8)
    return fig


FIGURES = {"alexnet-activations": draw_activations}
