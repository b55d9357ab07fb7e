"""Figures for the self-attention page, computed with reference_impl/attention.py."""

from __future__ import annotations

import torch

from reference_impl.attention import ScaledDotProductAttention, causal_mask, sinusoidal_table
from tools.generator.figures import style

DEPENDS = ("reference_impl/attention.py",)

#: A toy sentence with repeated words: "I love cats, cats love me too".
TOKENS = ["我", "爱", "猫", "，", "猫", "也", "爱", "我"]


def _heatmap(fig, ax, values: torch.Tensor, labels_x, labels_y, title: str, vmax: float = 1.0):
    im = ax.imshow(values.numpy(), cmap="Blues", vmin=0, vmax=vmax)
    ax.set_xticks(range(len(labels_x)), labels_x)
    ax.set_yticks(range(len(labels_y)), labels_y)
    ax.set_title(title)
    ax.spines[:].set_visible(False)
    return im


def toy_weights(with_positions: bool) -> torch.Tensor:
    """Single-head self-attention weights on TOKENS with W^Q = W^K = I (pure similarity).

    Args:
        with_positions: Add the sinusoidal positional encoding to the word vectors first.

    Returns:
        (T, T) weights; row t is the distribution of token t's attention.
    """
    d_model = 32
    gen = torch.Generator().manual_seed(0)
    vocab = sorted(set(TOKENS))
    table = 0.7 * torch.randn(len(vocab), d_model, generator=gen)  # one random vector per word
    x = table[[vocab.index(t) for t in TOKENS]]  # (T, D): equal words, equal vectors
    if with_positions:
        x = x + 0.7 * sinusoidal_table(len(TOKENS), d_model)
    q = k = x[None, None]  # (1, 1, T, D): W^Q = W^K = I
    return ScaledDotProductAttention().weights(q, k)[0, 0]


def draw_toy_map():
    """玩具句子上的注意力权重（取 W^Q = W^K = I）：左图只有词向量，右图加上位置编码."""
    fig = style.new_figure(7.0, 3.4)
    axes = fig.subplots(1, 2)
    for ax, with_pos, title in (
        (axes[0], False, "只有词向量：两个“猫”无法区分"),
        (axes[1], True, "词向量 + 位置编码"),
    ):
        im = _heatmap(fig, ax, toy_weights(with_pos), TOKENS, TOKENS, title)
        ax.set_xlabel("键（被关注的词）")
    axes[0].set_ylabel("查询（当前词）")
    fig.colorbar(im, ax=axes, shrink=0.8).outline.set_edgecolor(style.FG)
    return fig


def draw_positional_encoding():
    """正弦位置编码表（d_model = 64），以及各位置编码与第 50 个位置编码的内积."""
    table = sinusoidal_table(100, 64)  # (positions, D)
    fig = style.new_figure(7.0, 3.2)
    ax_table, ax_dot = fig.subplots(1, 2, width_ratios=[1.4, 1])
    im = ax_table.imshow(table.T.numpy(), cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
    ax_table.set_xlabel("位置 pos")
    ax_table.set_ylabel("维度（2i 为 sin，2i+1 为 cos）")
    ax_table.set_title("$PE_{pos}$，$d_{model}$ = 64")
    fig.colorbar(im, ax=ax_table, shrink=0.8).outline.set_edgecolor(style.FG)
    similarity = table @ table[50]  # (100,): PE(pos)·PE(50)
    ax_dot.plot(range(100), similarity.numpy(), color=style.PALETTE[0])
    ax_dot.axvline(50, color=style.FG, lw=0.8, ls="--")
    ax_dot.set_xlabel("位置 pos")
    ax_dot.set_ylabel("$PE_{pos} \\cdot PE_{50}$")
    ax_dot.set_title("内积只取决于距离 |pos − 50|")
    ax_dot.grid(True)
    return fig


def draw_causal_mask():
    """因果掩码（T = 8）与掩码之后的注意力权重."""
    T = 8
    mask = causal_mask(T)
    gen = torch.Generator().manual_seed(0)
    q, k = torch.randn(1, 1, T, 16, generator=gen), torch.randn(1, 1, T, 16, generator=gen)
    weights = ScaledDotProductAttention().weights(q, k, mask)[0, 0]
    labels = [str(t) for t in range(T)]
    fig = style.new_figure(7.0, 3.3)
    ax_mask, ax_w = fig.subplots(1, 2)
    _heatmap(fig, ax_mask, mask.float(), labels, labels, "因果掩码：可见 = 1，未来 = 0")
    for t in range(T):
        for s in range(T):
            ax_mask.text(
                s,
                t,
                "1" if mask[t, s] else "0",
                ha="center",
                va="center",
                fontsize=8,
                color="white" if mask[t, s] else style.FG,
            )
    im = _heatmap(fig, ax_w, weights, labels, labels, "掩码后的注意力权重（每行和为 1）")
    for ax in (ax_mask, ax_w):
        ax.set_xlabel("键位置 s")
    ax_mask.set_ylabel("查询位置 t")
    fig.colorbar(im, ax=ax_w, shrink=0.8).outline.set_edgecolor(style.FG)
    return fig


FIGURES = {
    "attention-toy-map": draw_toy_map,
    "attention-positional-encoding": draw_positional_encoding,
    "attention-causal-mask": draw_causal_mask,
}
