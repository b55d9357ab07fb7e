"""Figures for the RNN/LSTM page: two schematic drawings and two measurements made with the code.

* ``rnn-unrolled`` / ``rnn-bidirectional`` / ``rnn-lstm-cell``: schematic drawings (matplotlib
  boxes and arrows), replacing the lost images of the author's notes.
* ``rnn-gradient-decay``: ‖∂(u·h_T)/∂x_t‖ against T − t at initialisation, for the reference
  ``RNN`` and ``LSTM`` (vanishing gradients made visible).
* ``rnn-delay-recall``: a long-delay recall task (the first symbol must be reported after
  ``DELAY`` steps of noise), trained on CPU; the Elman RNN stays at chance, the LSTM learns.

The training recipe is in :func:`train_recall`, seeded; the figure raises if the outcome ever
stops matching what the page says.
"""

from __future__ import annotations

import contextlib
import functools
import math
import time
from collections.abc import Iterator

import torch
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch
from torch import nn

from reference_impl.rnn import LSTM, RNN, StackedRecurrent
from tools.generator.figures import style

DEPENDS = ("reference_impl/rnn.py",)

#: The four recurrent networks compared by both measurements: label → (kind, forget-gate bias).
VARIANTS: dict[str, tuple[str, float]] = {
    "Elman RNN": ("rnn", 0.0),
    "LSTM，$b_f=0$（PyTorch 默认初始化）": ("lstm", 0.0),
    "LSTM，$b_f=5$（遗忘门初始近乎全开）": ("lstm", 5.0),
    "LSTM-1997（无遗忘门，$f_t\\equiv1$）": ("lstm-1997", 0.0),
}
_PALETTE_ORDER = (style.PALETTE[1], style.PALETTE[3], style.PALETTE[0], style.PALETTE[2])
COLORS = dict(zip(VARIANTS, _PALETTE_ORDER, strict=True))

# The recall task. Step 1: a symbol A…D (one-hot on channels 0–3) and a "write" marker
# (channel 4). Steps 2 … DELAY + 1: standard Gaussian noise on the same four channels. Last step:
# a "query" marker (channel 5); the network must answer the symbol of step 1.
N_VALUES = 4
WRITE, QUERY = N_VALUES, N_VALUES + 1
N_INPUTS = N_VALUES + 2
DELAY = 50
HIDDEN = 32
BATCH = 64
STEPS = 250
LR = 5e-3


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """Run tiny recurrent steps on one thread (faster than several), then restore the setting."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def make_recurrent(
    kind: str, input_size: int, hidden_size: int, forget_bias: float
) -> StackedRecurrent:
    """A one-layer reference ``RNN`` or ``LSTM`` with PyTorch's initialisation.

    ``forget_bias`` is added to the forget-gate rows (i, **f**, g, o) of ``bias_ih_l0``.
    """
    if kind == "rnn":
        return RNN(input_size, hidden_size)
    model = LSTM(input_size, hidden_size, forget_gate=(kind == "lstm"))
    if kind == "lstm" and forget_bias:
        with torch.no_grad():
            model.bias_ih_l0[hidden_size : 2 * hidden_size] += forget_bias
    return model


# ── measurement 1: the gradient through time at initialisation ────────────────────────────────


def gradient_through_time(
    kind: str, forget_bias: float, steps: int = 200, seed: int = 0
) -> torch.Tensor:
    """Geometric mean over a batch of ‖∂(u·h_T)/∂x_t‖ for t = 1 … T, in float64.

    Random Gaussian inputs (8 features), 64 hidden units, a random unit vector u; float64 so
    that gradients of 10⁻³⁰ do not underflow. Returns a (T,) tensor indexed by t.
    """
    torch.manual_seed(seed)
    model = make_recurrent(kind, 8, 64, forget_bias).double()
    gen = torch.Generator().manual_seed(seed + 1)
    x = torch.randn(32, steps, 8, generator=gen, dtype=torch.float64, requires_grad=True)
    u = torch.randn(64, generator=gen, dtype=torch.float64)
    output, _ = model(x)  # (B, T, H)
    (output[:, -1] @ (u / u.norm())).sum().backward()
    norms = x.grad.norm(dim=-1)  # (B, T)
    return norms.log().mean(0).exp()


#: Lags shown: the last 150 steps of a 200-step sequence (the first 50 are a warm-up, so that
#: the start of the sequence, where the states are still near zero, stays out of the picture).
MAX_LAG = 150


def draw_gradient_decay() -> Figure:
    """初始化时，最后一步的输出对第 t 步输入的梯度范数随间隔 T−t 的变化（对数纵轴）。"""
    with _one_thread():
        curves = {label: gradient_through_time(*spec) for label, spec in VARIANTS.items()}
    fig = style.new_figure(7.0, 3.6)
    ax = fig.subplots()
    for label, g in curves.items():
        lag = torch.arange(MAX_LAG)  # T − t
        ax.semilogy(lag, g.flip(0)[:MAX_LAG], color=COLORS[label], lw=1.6, label=label)
    ax.axvline(DELAY, color=style.FG, lw=0.8, ls=":")
    ax.text(DELAY + 1.5, 1e-6, f"记忆任务的间隔（{DELAY} 步）", fontsize=8, va="center")
    ax.set_xlabel("间隔 $T-t$（输入在输出之前多少步）")
    ax.set_ylabel(r"$\|\partial (u^\top h_T) / \partial x_t\|$")
    ax.set_xlim(0, MAX_LAG)
    ax.set_ylim(1e-32, 10)
    ax.grid(True, which="major")
    ax.legend(fontsize=8, loc="lower left")
    return fig


# ── measurement 2: the long-delay recall task ───────────────────────────────────────────────


def recall_batch(n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """One batch: inputs (n, DELAY + 2, N_INPUTS), targets (n,) the symbol of step 1.

    The noise shares the symbol's channels, so a network cannot simply ignore those inputs: it
    has to take them in at step 1 and shut them out afterwards.
    """
    value = torch.randint(0, N_VALUES, (n,), generator=generator)
    x = torch.zeros(n, DELAY + 2, N_INPUTS)
    x[:, 0, :N_VALUES] = nn.functional.one_hot(value, N_VALUES).float()
    x[:, 0, WRITE] = 1.0
    x[:, 1 : DELAY + 1, :N_VALUES] = torch.randn(n, DELAY, N_VALUES, generator=generator)
    x[:, -1, QUERY] = 1.0
    return x, value


class Recaller(nn.Module):
    """A one-layer recurrent network and a linear read-out of its last hidden state."""

    def __init__(self, kind: str, forget_bias: float) -> None:
        super().__init__()
        self.recurrent = make_recurrent(kind, N_INPUTS, HIDDEN, forget_bias)
        self.readout = nn.Linear(HIDDEN, N_VALUES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, N_INPUTS) → logits (B, N_VALUES) read at the last step."""
        output, _ = self.recurrent(x)
        return self.readout(output[:, -1])


@functools.cache
def train_recall(kind: str, forget_bias: float, seed: int = 0) -> dict[str, list[float] | float]:
    """Train one network on fresh random batches (Adam, learning rate LR, clipping at norm 1).

    Returns the loss and accuracy of every step (each batch is new, so these are accuracies on
    unseen sequences), the accuracy on 1,000 held-out sequences, and the CPU seconds spent.
    """
    start = time.process_time()
    torch.manual_seed(seed)
    model = Recaller(kind, forget_bias)
    opt = torch.optim.Adam(model.parameters(), lr=LR, foreach=True)
    gen = torch.Generator().manual_seed(seed + 1)
    losses, accs = [], []
    for _ in range(STEPS):
        x, y = recall_batch(BATCH, gen)
        logits = model(x)
        loss = nn.functional.cross_entropy(logits, y)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
        accs.append((logits.argmax(-1) == y).float().mean().item())
    with torch.no_grad():
        x, y = recall_batch(1000, torch.Generator().manual_seed(seed + 2))
        final = (model(x).argmax(-1) == y).float().mean().item()
    return {"loss": losses, "acc": accs, "final": final, "cpu": time.process_time() - start}


def _smooth(values: list[float], width: int = 20) -> list[float]:
    """Trailing moving average (the first points average what is there)."""
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v - (values[i - width] if i >= width else 0.0)
        out.append(total / min(i + 1, width))
    return out


def draw_delay_recall() -> Figure:
    """长间隔记忆任务（间隔 50 步）：Elman RNN 停在瞎猜水平，遗忘门打开的 LSTM 学会了。"""
    with _one_thread():
        runs = {label: train_recall(*spec) for label, spec in VARIANTS.items()}
    # The page describes this outcome; fail loudly rather than draw a figure that contradicts it.
    finals = {label: run["final"] for label, run in runs.items()}
    rnn, lstm0, lstm5, lstm97 = finals.values()
    if not (rnn < 0.4 and lstm0 < 0.4 and lstm5 > 0.95 and lstm97 > 0.95):
        raise RuntimeError(f"recall task outcome changed: {finals}")

    fig = style.new_figure(7.4, 4.0)
    ax_loss, ax_acc = fig.subplots(1, 2, sharex=True)
    steps = range(1, STEPS + 1)
    for label, run in runs.items():
        color = COLORS[label]
        ax_loss.plot(steps, _smooth(run["loss"]), color=color, lw=1.5)
        ax_acc.plot(
            steps, _smooth(run["acc"]), color=color, lw=1.5, label=f"{label}：{run['final']:.0%}"
        )
    ax_loss.axhline(math.log(N_VALUES), color=style.FG, lw=0.8, ls=":")
    ax_loss.text(
        STEPS, math.log(N_VALUES) + 0.04, "瞎猜：ln 4", ha="right", va="bottom", fontsize=8
    )
    ax_acc.axhline(1 / N_VALUES, color=style.FG, lw=0.8, ls=":")
    ax_acc.text(STEPS, 1 / N_VALUES + 0.02, "瞎猜：25%", ha="right", va="bottom", fontsize=8)
    ax_loss.set(xlabel="训练步数", ylabel="交叉熵损失（20 步移动平均）", ylim=(0, 1.6))
    ax_acc.set(xlabel="训练步数", ylabel="准确率（20 步移动平均）", ylim=(0, 1.05))
    ax_acc.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    title = "各网络在 1000 条新序列上的最终准确率"
    handles, labels = ax_acc.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=2, fontsize=8, title=title,
               title_fontsize=8)  # fmt: skip
    ax_loss.set_title(f"第 1 步给出 A–D 之一，随后 {DELAY} 步高斯噪声，最后一步回答",
                      fontsize=8.5, loc="left")  # fmt: skip
    for ax in (ax_loss, ax_acc):
        ax.grid(True)
    return fig


# ── schematic drawings ────────────────────────────────────────────────────────────────────────


def _box(ax, x: float, y: float, w: float, h: float, text: str, color: str, size: float = 10):
    """A rounded box centred at (x, y) with a label."""
    ax.add_patch(
        FancyBboxPatch(
            (x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.02,rounding_size=0.12",
            fc=color + "33", ec=color, lw=1.4,
        )
    )  # fmt: skip
    ax.text(x, y, text, ha="center", va="center", fontsize=size, color=style.FG)


def _arrow(ax, start, end, color: str = style.FG, lw: float = 1.3, **kwargs) -> None:
    """An arrow from ``start`` to ``end`` (data coordinates)."""
    ax.add_patch(
        FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=10, color=color, lw=lw,
                        shrinkA=0, shrinkB=0, **kwargs)
    )  # fmt: skip


def _op(ax, x: float, y: float, symbol: str, color: str = style.FG, r: float = 0.22) -> None:
    """A pointwise operation: a small circle with ×, + or tanh."""
    ax.add_patch(Circle((x, y), r, fc="none", ec=color, lw=1.3))
    ax.text(x, y, symbol, ha="center", va="center", fontsize=8 if len(symbol) > 1 else 11)


def _canvas(width: float, height: float, xlim: tuple[float, float], ylim: tuple[float, float]):
    fig = style.new_figure(width, height)
    ax = fig.subplots()
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig, ax


def draw_unrolled() -> Figure:
    """循环网络折叠与按时间展开：每一步用同一组参数，梯度沿红色虚线逐步传回。"""
    fig, ax = _canvas(7.6, 3.3, (-0.6, 14.6), (-1.5, 4.4))
    cell = style.PALETTE[0]
    # folded: one cell whose output comes back as its next input
    _box(ax, 1.0, 2.0, 1.4, 1.0, "RNN", cell)
    _arrow(ax, (1.0, 0.3), (1.0, 1.5))
    _arrow(ax, (1.0, 2.5), (1.0, 3.7))
    ax.text(1.0, 0.0, "$x_t$", ha="center", va="center")
    ax.text(1.0, 4.0, "$h_t$", ha="center", va="center")
    ax.add_patch(
        FancyArrowPatch((1.7, 2.25), (1.7, 1.75), arrowstyle="-|>", mutation_scale=10,
                        connectionstyle="arc,angleA=0,angleB=0,armA=22,armB=22,rad=6",
                        color=style.FG, lw=1.3, shrinkA=0, shrinkB=0)
    )  # fmt: skip
    ax.text(2.45, 2.0, "$h_{t-1}$", ha="left", va="center", fontsize=8)
    ax.text(3.6, 2.0, "=", ha="center", va="center", fontsize=16)
    # unrolled over time
    xs = [5.2, 7.6, 10.0, 12.9]
    labels = ["1", "2", "3", "T"]
    _arrow(ax, (4.0, 2.0), (xs[0] - 0.7, 2.0))
    ax.text(4.0, 2.15, "$h_0$", ha="left", va="bottom", fontsize=9)
    for i, (x, t) in enumerate(zip(xs, labels, strict=True)):
        _box(ax, x, 2.0, 1.4, 1.0, "RNN", cell)
        _arrow(ax, (x, 0.3), (x, 1.5))
        _arrow(ax, (x, 2.5), (x, 3.7))
        ax.text(x, 0.0, f"$x_{t}$", ha="center", va="center")
        ax.text(x, 4.0, f"$h_{t}$", ha="center", va="center")
        if i < len(xs) - 1:
            end = xs[i + 1] - 0.7
            if t == "3":  # the gap "…" between step 3 and step T
                ax.text((x + xs[i + 1]) / 2, 2.0, "⋯", ha="center", va="center", fontsize=12)
                _arrow(ax, (x + 0.7, 2.0), (x + 1.0, 2.0))
                _arrow(ax, (end - 0.3, 2.0), (end, 2.0))
            else:
                _arrow(ax, (x + 0.7, 2.0), (end, 2.0))
                ax.text((x + xs[i + 1]) / 2, 2.15, f"$h_{t}$", ha="center", va="bottom", fontsize=9)
    # backward path of the gradient, from h_T back to h_1
    red = style.PALETTE[1]
    ax.add_patch(
        FancyArrowPatch((xs[-1] - 0.3, 1.3), (xs[0] + 0.3, 1.3), connectionstyle="arc3,rad=-0.06",
                        arrowstyle="-|>", mutation_scale=10, color=red, lw=1.2, ls="--")
    )  # fmt: skip
    ax.text((xs[0] + xs[-1]) / 2, -0.7, r"反向传播：$\partial h_T/\partial h_1=\prod_{t=2}^{T}"
            r"\mathrm{diag}(1-h_t^2)\,W_{hh}$", ha="center", va="center", fontsize=8.5,
            color=red)  # fmt: skip
    ax.text((xs[0] + xs[-1]) / 2, -1.3, "所有时间步共享同一组参数 $W_{ih}, W_{hh}, b$",
            ha="center", va="center", fontsize=8.5)  # fmt: skip
    return fig


def draw_bidirectional() -> Figure:
    """双向 RNN：一层从左往右读，一层从右往左读，每一步的输出把两个方向的状态拼接起来。"""
    fig, ax = _canvas(7.0, 3.4, (-1.6, 12.0), (-0.8, 5.4))
    fwd, bwd = style.PALETTE[0], style.PALETTE[3]
    xs = [1.2, 4.2, 7.2, 10.2]
    ax.text(-1.5, 1.6, "前向层", ha="left", va="center", fontsize=9, color=fwd)
    ax.text(-1.5, 3.1, "后向层", ha="left", va="center", fontsize=9, color=bwd)
    for i, x in enumerate(xs):
        t = i + 1
        fx, bx = x - 0.55, x + 0.55  # the two states of step t sit side by side, offset
        _box(ax, fx, 1.6, 0.9, 0.6, rf"$\overrightarrow{{h}}_{t}$", fwd, size=9)
        _box(ax, bx, 3.1, 0.9, 0.6, rf"$\overleftarrow{{h}}_{t}$", bwd, size=9)
        ax.text(x, -0.55, f"$x_{t}$", ha="center", va="center")
        _arrow(ax, (x, -0.3), (fx + 0.1, 1.3))  # x_t → forward state
        _arrow(ax, (x, -0.3), (bx - 0.1, 2.8))  # x_t → backward state
        _arrow(ax, (fx - 0.1, 1.9), (x - 0.1, 4.35), color=fwd)  # both states → output
        _arrow(ax, (bx, 3.4), (x + 0.1, 4.35), color=bwd)
        ax.text(x, 4.8, rf"$[\overrightarrow{{h}}_{t};\overleftarrow{{h}}_{t}]$", ha="center",
                va="center", fontsize=9)  # fmt: skip
        if i < len(xs) - 1:
            _arrow(ax, (fx + 0.45, 1.6), (xs[i + 1] - 1.0, 1.6), color=fwd)
            _arrow(ax, (xs[i + 1] + 0.1, 3.1), (bx + 0.45, 3.1), color=bwd)
    return fig


def draw_lstm_cell() -> Figure:
    """LSTM 单元（带遗忘门）：上方一条蓝线是细胞状态，只经过一次逐元素乘法和一次加法。"""
    fig, ax = _canvas(7.4, 3.9, (-1.2, 13.0), (-1.5, 5.8))
    c_col, f_col, i_col, g_col, o_col = (style.PALETTE[0], style.PALETTE[1], style.PALETTE[2],
                                         style.PALETTE[3], style.PALETTE[4])  # fmt: skip
    ax.add_patch(FancyBboxPatch((0.4, -0.2), 11.6, 5.6, boxstyle="round,pad=0,rounding_size=0.4",
                                fc="none", ec=style.FG, lw=1.0, alpha=0.5))  # fmt: skip
    top, bus = 4.6, 0.6  # heights of the cell-state line and of the [h_{t−1}, x_t] bus
    # cell-state path: c_{t−1} → × f_t → + i_t⊙g_t → c_t
    fx, px = 2.6, 5.6
    _arrow(ax, (-0.9, top), (fx - 0.22, top), color=c_col, lw=2.4)
    _op(ax, fx, top, "×", c_col)
    _arrow(ax, (fx + 0.22, top), (px - 0.22, top), color=c_col, lw=2.4)
    _op(ax, px, top, "+", c_col)
    _arrow(ax, (px + 0.22, top), (12.8, top), color=c_col, lw=2.4)
    ax.text(-1.0, top + 0.3, "$c_{t-1}$", ha="left", va="bottom", color=c_col)
    ax.text(12.8, top + 0.3, "$c_t$", ha="right", va="bottom", color=c_col)
    # the bus: h_{t−1} from the left, x_t from below
    ax.plot([-0.9, 8.0], [bus, bus], color=style.FG, lw=1.3)
    ax.text(-1.0, bus + 0.25, "$h_{t-1}$", ha="left", va="bottom")
    ax.plot([1.2, 1.2], [-1.1, bus], color=style.FG, lw=1.3)
    ax.text(1.2, -1.3, "$x_t$", ha="center", va="center")
    ax.plot(1.2, bus, "o", color=style.FG, ms=3)
    # four layers reading [h_{t−1}, x_t]
    gates = [(fx, "σ", f_col, "$f_t$"), (4.2, "σ", i_col, "$i_t$"), (5.6, "tanh", g_col, "$g_t$"),
             (8.0, "σ", o_col, "$o_t$")]  # fmt: skip
    for x, fn, color, name in gates:
        ax.plot([x, x], [bus, 1.45], color=style.FG, lw=1.3)
        _box(ax, x, 1.8, 0.9, 0.7, fn, color, size=9)
        ax.text(x + 0.5, 2.35, name, ha="left", va="center", color=color, fontsize=10)
    _arrow(ax, (fx, 2.15), (fx, top - 0.22), color=f_col)  # f_t into the multiplication
    mx = 5.0
    _op(ax, mx, 3.2, "×", style.FG)  # i_t ⊙ g_t
    _arrow(ax, (4.2, 2.15), (mx - 0.16, 3.05), color=i_col)
    _arrow(ax, (5.6, 2.15), (mx + 0.16, 3.05), color=g_col)
    _arrow(ax, (mx + 0.1, 3.42), (px - 0.12, top - 0.2), color=style.FG)
    # output: h_t = o_t ⊙ tanh(c_t)
    tx, hx = 9.3, 9.3
    ax.plot([tx, tx], [top, 3.9], color=c_col, lw=1.3)
    ax.plot(tx, top, "o", color=c_col, ms=3)
    _op(ax, tx, 3.6, "tanh", c_col, r=0.3)
    _op(ax, hx, 1.8, "×", style.FG)
    _arrow(ax, (tx, 3.3), (hx, 2.02), color=c_col)
    _arrow(ax, (8.45, 1.8), (hx - 0.22, 1.8), color=o_col)
    ax.plot([hx, hx], [1.58, bus], color=style.FG, lw=1.3)
    _arrow(ax, (hx, bus), (12.8, bus), color=style.FG)
    ax.text(12.8, bus + 0.25, "$h_t$", ha="right", va="bottom")
    ax.text(12.8, bus - 0.25, "（输出，也送往下一步）", ha="right", va="top", fontsize=8)
    # equations beside the paths
    ax.text(fx + 0.3, top + 0.55, r"$f_t\odot c_{t-1}$", ha="center", fontsize=8.5, color=c_col)
    ax.text(px + 0.7, top + 0.55, r"$c_t=f_t\odot c_{t-1}+i_t\odot g_t$", ha="left", fontsize=8.5,
            color=c_col)  # fmt: skip
    ax.text(mx - 0.3, 3.2, r"$i_t\odot g_t$", ha="right", va="center", fontsize=8.5)
    ax.text(hx + 0.3, 1.35, r"$h_t=o_t\odot\tanh(c_t)$", ha="left", va="center", fontsize=8.5)
    return fig


FIGURES = {
    "rnn-unrolled": draw_unrolled,
    "rnn-bidirectional": draw_bidirectional,
    "rnn-lstm-cell": draw_lstm_cell,
    "rnn-gradient-decay": draw_gradient_decay,
    "rnn-delay-recall": draw_delay_recall,
}
