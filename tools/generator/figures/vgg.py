"""Figures for the VGG page: the 3×3-stack argument (§2.3) and where VGG-16's cost sits."""

from __future__ import annotations

import torch
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from tools.generator.figures import style

DEPENDS: tuple[str, ...] = ("reference_impl/vgg.py",)

_META = torch.device("meta")


# ───────────────────────── receptive field of stacked 3×3 convolutions ─────────────────────────


def _receptive_field(kernels: list[int], size: int = 15) -> torch.Tensor:
    """Return the input mask that the centre output of a conv stack depends on (by autograd)."""
    layers = []
    for k in kernels:
        conv = nn.Conv2d(1, 1, k, padding=k // 2, bias=False)
        nn.init.ones_(conv.weight)
        layers.append(conv)
    x = torch.zeros(1, 1, size, size, requires_grad=True)
    y = nn.Sequential(*layers)(x)
    y[0, 0, size // 2, size // 2].backward()
    return x.grad[0, 0] != 0


def _rf_side(kernels: list[int]) -> int:
    """Side length of the (square) receptive field of a conv stack, measured."""
    mask = _receptive_field(kernels)
    return int(mask.any(dim=0).sum())


def _conv_cost(kernels: list[int], channels: int, hw: int) -> tuple[int, int]:
    """Weights and multiply-accumulates of a C→C conv stack on an hw×hw map (no bias), measured."""
    stack = nn.Sequential(
        *[nn.Conv2d(channels, channels, k, padding=k // 2, bias=False) for k in kernels]
    ).to(_META)
    params = sum(p.numel() for p in stack.parameters())
    with FlopCounterMode(display=False) as counter:
        stack(torch.empty(1, channels, hw, hw, device=_META))
    macs = counter.get_total_flops() // 2  # FlopCounterMode counts a multiply-add as 2 FLOPs
    return params, macs


def _draw_grid(ax, x0: float, y0: float, n: int, hi: int, color: str, label: str) -> None:
    """Draw an n×n grid at (x0, y0) with the central hi×hi cells highlighted."""
    lo = (n - hi) // 2
    for i in range(n):
        for j in range(n):
            inside = lo <= i < lo + hi and lo <= j < lo + hi
            ax.add_patch(
                Rectangle(
                    (x0 + j, y0 + i),
                    1,
                    1,
                    facecolor=color if inside else "none",
                    alpha=0.55 if inside else 1.0,
                    edgecolor=style.FG,
                    lw=0.5,
                )
            )
    ax.text(x0 + n / 2, -0.5, label, ha="center", va="top", fontsize=8.5, color=style.FG)


def draw_receptive_field() -> Figure:
    """左：两层 3×3 卷积看到 5×5 的输入区域；右：实测的权重数与乘加数，小核堆叠比同感受野的大核省。

    Left: two 3×3 layers see a 5×5 input patch. Right: weights and MACs per C², measured.
    """
    rf2 = _rf_side([3, 3])
    rf3 = _rf_side([3, 3, 3])
    assert (rf2, rf3) == (_rf_side([5]), _rf_side([7]))  # same receptive field, by measurement

    fig = style.new_figure(7.4, 3.3)
    ax_g, ax_b = fig.subplots(1, 2, width_ratios=[1.15, 1.0])

    # (a) input (7×7 shown) → layer 1 output → layer 2 output; the centre unit's dependencies.
    n_in = rf2 + 2
    _draw_grid(ax_g, 0.0, 0.0, n_in, rf2, style.PALETTE[0], f"输入\n{rf2}×{rf2} 感受野")
    _draw_grid(
        ax_g, n_in + 1.5, 1.0, rf2, _rf_side([3]), style.PALETTE[2], "第 1 层 3×3 输出\n用到 3×3 个"
    )
    _draw_grid(ax_g, n_in + rf2 + 3.0, n_in / 2 - 0.5, 1, 1, style.PALETTE[1], "第 2 层\n1 个单元")
    for x_a, x_b in ((n_in + 0.2, n_in + 1.3), (n_in + rf2 + 1.7, n_in + rf2 + 2.8)):
        ax_g.annotate(
            "",
            xy=(x_b, n_in / 2),
            xytext=(x_a, n_in / 2),
            arrowprops={"arrowstyle": "->", "color": style.FG, "lw": 1.0},
        )
    ax_g.set_xlim(-0.3, n_in + rf2 + 4.3)
    ax_g.set_ylim(-2.6, n_in + 0.3)
    ax_g.set_aspect("equal")
    ax_g.axis("off")
    ax_g.set_title(f"两层 3×3 的感受野 = {rf2}×{rf2}（三层 = {rf3}×{rf3}）", fontsize=9.5)

    # (b) cost in units of C² (weights) and C²·H·W (MACs), measured on C = 64, 28×28.
    channels, hw = 64, 28
    cases = [
        ("2 层 3×3", [3, 3]),
        ("1 层 5×5", [5]),
        ("3 层 3×3", [3, 3, 3]),
        ("1 层 7×7", [7]),
    ]
    params, macs = [], []
    for _, kernels in cases:
        p, m = _conv_cost(kernels, channels, hw)
        params.append(p / channels**2)
        macs.append(m / (channels**2 * hw * hw))
    xs = torch.arange(len(cases), dtype=torch.float64)
    width = 0.38
    ax_b.bar(xs - width / 2, params, width, color=style.PALETTE[0], label="权重数 / C²")
    ax_b.bar(xs + width / 2, macs, width, color=style.PALETTE[3], label="乘加数 / (C²·H·W)")
    for x, p in zip(xs.tolist(), params, strict=True):
        ax_b.text(x - width / 2, p + 0.8, f"{p:g}", ha="center", fontsize=8, color=style.FG)
    for i in (0, 2):
        saving = 1 - params[i] / params[i + 1]
        big_vs_small = params[i + 1] / params[i] - 1
        ax_b.text(
            i + 0.5,
            params[i + 1] + 5,
            f"省 {saving:.0%}\n（大核多 {big_vs_small:.0%}）",
            ha="center",
            fontsize=8,
            color=style.FG,
        )
    ax_b.set_xticks(xs.tolist(), [c for c, _ in cases], fontsize=8.5)
    ax_b.set_ylim(0, max(params) * 1.35)
    ax_b.axvline(1.5, color=style.FG, lw=0.5, ls=":")
    ax_b.legend(loc="upper left", fontsize=8)
    ax_b.set_title(f"C→C 卷积的代价（实测，C={channels}，{hw}×{hw}，无偏置）", fontsize=9.5)
    return fig


# ───────────────────────── VGG-16: parameters vs compute vs activations ─────────────────────────


def _vgg16_layer_stats() -> list[dict[str, float | str]]:
    """Per weight layer of reference_impl.vgg.vgg16() on the meta device: params, MACs, outputs."""
    from reference_impl.vgg import vgg16

    with _META:
        model = vgg16().eval()
    stats: list[dict[str, float | str]] = []
    hooks = []
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d | nn.Linear | nn.MaxPool2d):

            def hook(mod, inputs, output, name=name):
                if isinstance(mod, nn.Conv2d):
                    k = mod.kernel_size[0] * mod.kernel_size[1]
                    macs = output.numel() * (mod.in_channels // mod.groups) * k
                elif isinstance(mod, nn.Linear):
                    macs = output.numel() * mod.in_features
                else:
                    macs = 0
                stats.append(
                    {
                        "name": name.rsplit(".", 1)[-1],
                        "kind": type(mod).__name__,
                        "params": sum(p.numel() for p in mod.parameters()),
                        "macs": macs,
                        "acts": output.numel(),  # per image; ReLU outputs have the same size
                    }
                )

            hooks.append(module.register_forward_hook(hook))
    with torch.no_grad():
        model(torch.empty(1, 3, 224, 224, device=_META))
    for h in hooks:
        h.remove()
    total = sum(p.numel() for p in model.parameters())
    assert total == sum(s["params"] for s in stats), (
        "every parameter sits in a conv or linear layer"
    )
    return stats


def draw_param_distribution() -> Figure:
    """VGG-16 逐层的参数量、乘加数和输出激活数（三张对齐的柱状图）。

    Three aligned bar charts over VGG-16's layers: parameters, MACs, output activations.
    """
    stats = _vgg16_layer_stats()
    weight = [s for s in stats if s["kind"] != "MaxPool2d"]
    names = [str(s["name"]) for s in weight]
    params = [float(s["params"]) / 1e6 for s in weight]
    macs = [float(s["macs"]) / 1e9 for s in weight]
    acts = [float(s["acts"]) / 1e6 for s in weight]
    n_pool = sum(float(s["acts"]) for s in stats if s["kind"] == "MaxPool2d") / 1e6
    is_fc = [s["kind"] == "Linear" for s in weight]
    colors = [style.PALETTE[1] if fc else style.PALETTE[0] for fc in is_fc]

    tot_p, tot_m, tot_a = sum(params), sum(macs), sum(acts)
    fc_p = sum(p for p, fc in zip(params, is_fc, strict=True) if fc)
    conv_m = sum(m for m, fc in zip(macs, is_fc, strict=True) if not fc)
    i6 = names.index("fc6")
    first2 = acts[0] + acts[1]

    fig = style.new_figure(7.4, 6.4)
    axes = fig.subplots(3, 1, sharex=True)
    xs = list(range(len(names)))
    panels = (
        (
            params,
            "参数量（百万）",
            f"参数：共 {tot_p:.1f} M；fc6 = {params[i6]:.1f} M "
            f"（{params[i6] / tot_p:.1%}），三层全连接 {fc_p / tot_p:.1%}",
        ),
        (macs, "乘加数（G）", f"计算：共 {tot_m:.2f} G 乘加；卷积层占 {conv_m / tot_m:.1%}"),
        (
            acts,
            "输出元素（百万）",
            f"激活：卷积/全连接输出共 {tot_a:.1f} M 个数/图（另有池化输出 "
            f"{n_pool:.1f} M）；conv1_1 + conv1_2 占 {first2 / tot_a:.1%}",
        ),
    )
    for ax, (values, ylabel, title) in zip(axes, panels, strict=True):
        ax.bar(xs, values, color=colors, width=0.75)
        ax.set_ylabel(ylabel, fontsize=8.5)
        ax.set_title(title, fontsize=9, loc="left")
        ax.grid(True, axis="y")
        top = max(values)
        for x, v in zip(xs, values, strict=True):
            if v >= 0.2 * top:
                ax.text(x, v + 0.02 * top, f"{v:.1f}", ha="center", fontsize=7, color=style.FG)
        ax.set_ylim(0, top * 1.18)
    axes[-1].set_xticks(xs, names, rotation=60, fontsize=7.5)
    handles = [
        Patch(color=style.PALETTE[0], label="卷积层"),
        Patch(color=style.PALETTE[1], label="全连接层"),
    ]
    axes[0].legend(handles=handles, loc="upper left", fontsize=8)
    fig.suptitle(
        "VGG-16（224×224 输入，批量大小 1；由 reference_impl.vgg.vgg16() 在 meta 设备上实测）",
        fontsize=9.5,
    )
    return fig


FIGURES = {
    "vgg-receptive-field": draw_receptive_field,
    "vgg16-param-distribution": draw_param_distribution,
}
