"""Figures for the BERT page: the input representation and the 80/10/10 masking, from the code."""

from __future__ import annotations

import torch
from matplotlib.patches import FancyBboxPatch

from reference_impl.bert import IGNORE_INDEX, BertConfig, mask_tokens
from tools.generator.figures import style

DEPENDS = ("reference_impl/bert.py",)

#: The example of the paper's Fig. 2, as WordPieces.
PAIR = ["[CLS]", "my", "dog", "is", "cute", "[SEP]", "he", "likes", "play", "##ing", "[SEP]"]


def segment_ids(tokens: list[str]) -> list[int]:
    """0 up to and including the first [SEP] (sentence A), 1 afterwards (sentence B)."""
    first_sep = tokens.index("[SEP]")
    return [0 if i <= first_sep else 1 for i in range(len(tokens))]


def _label(token: str) -> str:
    """A WordPiece as a mathtext subscript: `[CLS]` → `CLS`, `##ing` → `{#}{#}ing` escaped."""
    return token.strip("[]").replace("#", r"{\#}")


def _box(ax, x: float, y: float, text: str, color: str, w: float = 0.9, h: float = 0.6) -> None:
    ax.add_patch(
        FancyBboxPatch(
            (x - w / 2, y - h / 2),
            w,
            h,
            boxstyle="round,pad=0.02,rounding_size=0.08",
            facecolor=color,
            edgecolor=style.FG,
            lw=0.6,
            alpha=0.85,
        )
    )
    ax.text(x, y, text, ha="center", va="center", fontsize=8, color=style.FG)


def draw_input_representation():
    """BERT 的输入表示：词元、段、位置三种嵌入逐位置相加（论文图 2 的例子）."""
    segments = segment_ids(PAIR)
    fig = style.new_figure(7.4, 2.9)
    ax = fig.subplots()
    rows = [
        ("输入", PAIR, None),
        ("词元嵌入", [f"$E_{{{_label(t)}}}$" for t in PAIR], style.PALETTE[3]),
        ("段嵌入", ["$E_A$" if s == 0 else "$E_B$" for s in segments], style.PALETTE[2]),
        ("位置嵌入", [f"$E_{{{i}}}$" for i in range(len(PAIR))], style.PALETTE[0]),
    ]
    for r, (name, cells, color) in enumerate(rows):
        y = -r * 1.0
        ax.text(-0.8, y, name, ha="right", va="center", fontsize=9, color=style.FG)
        for i, cell in enumerate(cells):
            if color is None:
                ax.text(i, y, cell, ha="center", va="center", fontsize=8, color=style.FG)
            else:
                _box(ax, i, y, cell, color)
        if r >= 2:
            for i in range(len(PAIR)):
                ax.text(i, y + 0.5, "+", ha="center", va="center", fontsize=8, color=style.FG)
    ax.set_xlim(-3.2, len(PAIR) - 0.4)
    ax.set_ylim(-3.5, 0.5)
    ax.axis("off")
    ax.set_title("BERT 的输入表示：三种嵌入逐位置相加（论文 Fig. 2 的例子）", fontsize=10)
    return fig


def masking_statistics(seed: int = 0) -> dict[str, float]:
    """Run `mask_tokens` on 256 random sequences of 128 tokens and measure what it did."""
    cfg = BertConfig.base()
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(1000, cfg.vocab_size, (256, 128), generator=gen)
    ids[:, 0], ids[:, 64], ids[:, 127] = cfg.cls_id, cfg.sep_id, cfg.sep_id
    corrupted, labels = mask_tokens(ids, cfg, gen)
    chosen = labels != IGNORE_INDEX
    special = (ids == cfg.cls_id) | (ids == cfg.sep_id)
    n = chosen.sum().item()
    masked = (corrupted[chosen] == cfg.mask_id).sum().item() / n
    kept = (corrupted[chosen] == ids[chosen]).sum().item() / n
    return {
        "chosen": n / (~special).sum().item(),
        "[MASK]": masked,
        "随机词": 1 - masked - kept,
        "不变": kept,
    }


def draw_masking():
    """`mask_tokens` 在 256 条随机序列上的实测比例，虚线为论文的 15% 与 80/10/10."""
    stats = masking_statistics()
    fig = style.new_figure(6.4, 2.8)
    ax_chosen, ax_split = fig.subplots(1, 2, width_ratios=[1, 2.2])
    ax_chosen.bar(["被选中"], [100 * stats["chosen"]], color=style.PALETTE[0], width=0.5)
    ax_chosen.axhline(15, color=style.FG, ls="--", lw=0.8)
    ax_chosen.set_ylim(0, 20)
    ax_chosen.set_ylabel("占非特殊词元的比例 (%)")
    ax_chosen.set_title("选中 15%")
    names = ["[MASK]", "随机词", "不变"]
    values = [100 * stats[n] for n in names]
    bars = ax_split.bar(names, values, color=[style.PALETTE[1], style.PALETTE[3], style.PALETTE[2]])
    for bar, target in zip(bars, (80, 10, 10), strict=True):
        ax_split.hlines(
            target, bar.get_x(), bar.get_x() + bar.get_width(), color=style.FG, ls="--", lw=0.8
        )
        ax_split.text(
            bar.get_x() + bar.get_width() / 2,
            bar.get_height() + 1.5,
            f"{bar.get_height():.1f}%",
            ha="center",
            color=style.FG,
            fontsize=9,
        )
    ax_split.set_ylim(0, 95)
    ax_split.set_ylabel("占被选中词元的比例 (%)")
    ax_split.set_title("被选中的词元如何处理（虚线：论文的 80/10/10）")
    for ax in (ax_chosen, ax_split):
        ax.grid(True, axis="y")
    return fig


FIGURES = {
    "bert-input-representation": draw_input_representation,
    "bert-masking": draw_masking,
}
