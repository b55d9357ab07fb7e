"""Figures for the word-embedding page, from ``reference_impl/embedding.py``.

* ``embedding-one-hot``: a schematic of one-hot × matrix = picking a row.
* ``embedding-training``: skip-gram with negative sampling trained on the tiny corpus of
  ``reference_impl/data/`` (loss per step) and the cosine similarities it ends with.
* ``embedding-projection``: the learned vectors of the 20 topic words projected on their first
  two principal components (PCA through ``torch.linalg.svd``).
"""

from __future__ import annotations

import functools

import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from reference_impl.embedding import (
    SkipGramNegativeSampling,
    Word2VecConfig,
    build_vocab,
    cosine_similarity_matrix,
    load_corpus,
    train_skipgram,
)
from tools.generator.figures import style

DEPENDS = ("reference_impl/embedding.py", "reference_impl/data/word2vec_corpus_zh.txt")

#: The corpus's four topics (five words each), in plotting order.
TOPICS: dict[str, list[str]] = {
    "动物": ["猫", "狗", "兔子", "老虎", "熊猫"],
    "水果": ["苹果", "香蕉", "葡萄", "西瓜", "橘子"],
    "交通工具": ["汽车", "火车", "飞机", "轮船", "地铁"],
    "城市": ["北京", "上海", "广州", "杭州", "成都"],
}
COLORS = dict(zip(TOPICS, style.PALETTE[:4], strict=True))
STEPS = 300


@functools.cache
def trained() -> tuple[SkipGramNegativeSampling, list[float], dict[str, int]]:
    """Train SGNS (tiny config, seed 0) on the shipped corpus; cached across figures."""
    corpus = load_corpus()
    words, counts = build_vocab(w for sentence in corpus for w in sentence)
    index = {w: i for i, w in enumerate(words)}
    sentences = [[index[w] for w in sentence] for sentence in corpus]
    torch.manual_seed(0)
    model = SkipGramNegativeSampling(Word2VecConfig.tiny(vocab_size=len(words)))
    losses = train_skipgram(model, sentences, counts, steps=STEPS, seed=0)
    return model, losses, index


def _topic_rows(index: dict[str, int]) -> tuple[list[str], torch.Tensor]:
    words = [w for members in TOPICS.values() for w in members]
    return words, torch.tensor([index[w] for w in words])


def draw_training() -> Figure:
    """在仓库自带的小语料上训练 skip-gram（负采样）：左为损失，右为 20 个主题词两两的余弦相似度。"""
    model, losses, index = trained()
    words, rows = _topic_rows(index)
    sim = cosine_similarity_matrix(model.vectors.detach())[rows][:, rows]
    k = model.config.n_negatives

    fig = style.new_figure(7.6, 3.6)
    ax_loss, ax_sim = fig.subplots(1, 2, width_ratios=(1, 1.15))
    ax_loss.plot(range(1, len(losses) + 1), losses, color=style.PALETTE[0], lw=1.2)
    ax_loss.axhline((k + 1) * torch.log(torch.tensor(2.0)).item(), color=style.FG, lw=0.8, ls=":")
    ax_loss.text(len(losses), (k + 1) * 0.693 + 0.05, f"初始值 ({k}+1)·ln 2", ha="right",
                 va="bottom", fontsize=8)  # fmt: skip
    ax_loss.set(xlabel="SGD 步数（每步 256 个词对）", ylabel="每个词对的负采样损失", ylim=(0, 4.6))
    ax_loss.grid(True)

    image = ax_sim.imshow(sim, cmap="RdBu_r", vmin=-1, vmax=1)
    ax_sim.set_xticks(range(len(words)), words, rotation=90, fontsize=7)
    ax_sim.set_yticks(range(len(words)), words, fontsize=7)
    for i, color in enumerate(COLORS.values()):  # frame each topic's block
        ax_sim.add_patch(Rectangle((5 * i - 0.5, 5 * i - 0.5), 5, 5, fill=False, ec=color, lw=1.6))
    ax_sim.tick_params(length=0)
    for spine in ax_sim.spines.values():
        spine.set_visible(False)
    fig.colorbar(image, ax=ax_sim, shrink=0.8, label="余弦相似度")
    return fig


def pca_2d(vectors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Project rows on their first two principal components; also return explained variance.

    PCA by SVD of the centred matrix: X − mean = U S Vᵀ, coordinates U[:, :2] S[:2].
    """
    centred = vectors - vectors.mean(0, keepdim=True)
    u, s, _ = torch.linalg.svd(centred, full_matrices=False)
    return u[:, :2] * s[:2], s**2 / (s**2).sum()


def draw_projection() -> Figure:
    """学到的词向量（16 维）用 PCA 投影到二维：同一主题的词聚在一起。"""
    model, _, index = trained()
    _, rows = _topic_rows(index)
    coords, explained = pca_2d(model.vectors.detach()[rows].double())
    fig = style.new_figure(6.0, 4.4)
    ax = fig.subplots()
    labels = []
    for t, (topic, members) in enumerate(TOPICS.items()):
        pts = coords[5 * t : 5 * t + 5]
        ax.scatter(pts[:, 0], pts[:, 1], s=28, color=COLORS[topic], label=topic, zorder=3)
        for (x, y), word in zip(pts.tolist(), members, strict=True):
            labels.append(ax.annotate(word, (x, y), xytext=(4, 3), textcoords="offset points",
                                      fontsize=9))  # fmt: skip
    ax.axhline(0, color=style.FG, lw=0.5, alpha=0.4)
    ax.axvline(0, color=style.FG, lw=0.5, alpha=0.4)
    ax.set_xlabel(f"第 1 主成分（解释 {explained[0]:.0%} 的方差）")
    ax.set_ylabel(f"第 2 主成分（{explained[1]:.0%}）")
    ax.legend(fontsize=8, loc="best")
    ax.margins(0.15)
    _declutter(fig, labels)
    return fig


def _declutter(fig: Figure, labels: list) -> None:
    """Move word labels that overlap an earlier one to the first free spot around their point."""
    offsets = [(4, 3), (4, -12), (-6, 3), (-6, -12), (4, 12), (-6, 12), (4, -20), (-6, -20)]
    fig.draw_without_rendering()
    placed = []
    for label in labels:
        for dx, dy in offsets:
            label.set_position((dx, dy))
            label.set_horizontalalignment("left" if dx > 0 else "right")
            box = label.get_window_extent()
            if not any(box.overlaps(other) for other in placed):
                break
        placed.append(label.get_window_extent())


def draw_one_hot() -> Figure:
    """独热向量乘嵌入矩阵，等于取出矩阵的一行：nn.Embedding 直接按下标取行，省掉这次乘法。"""
    fig = style.new_figure(7.0, 2.6)
    ax = fig.subplots()
    ax.set_xlim(-0.5, 16.5)
    ax.set_ylim(-1.2, 6.2)
    ax.set_aspect("equal")
    ax.axis("off")
    V, D, w = 6, 4, 2  # vocabulary, dimension, the word's id
    hot, row = style.PALETTE[1], style.PALETTE[0]
    # the one-hot row vector (1 × V)
    for j in range(V):
        on = j == w
        ax.add_patch(Rectangle((j * 0.8, 2.6), 0.8, 0.8, fc=hot + "55" if on else "none",
                               ec=style.FG, lw=0.8))  # fmt: skip
        ax.text(j * 0.8 + 0.4, 3.0, "1" if on else "0", ha="center", va="center", fontsize=9)
    caption = f"独热向量 $\\mathbf{{1}}_w$（1×V，只有下标 w = {w} 处为 1）"
    ax.text(V * 0.4, 4.0, caption, ha="center", fontsize=8.5)
    ax.text(V * 0.8 + 0.6, 3.0, "×", ha="center", va="center", fontsize=14)
    # the embedding matrix (V × D)
    x0 = V * 0.8 + 2.3
    for i in range(V):
        for j in range(D):
            fill = row + "55" if i == w else "none"
            xy = (x0 + j * 0.8, 5.2 - (i + 1) * 0.8)
            ax.add_patch(Rectangle(xy, 0.8, 0.8, fc=fill, ec=style.FG, lw=0.8))
    ax.text(x0 + D * 0.4, 5.5, "嵌入矩阵 $E$（V×D）", ha="center", fontsize=8.5)
    ax.text(x0 - 0.15, 5.2 - (w + 0.5) * 0.8, "第 w 行", ha="right", va="center", fontsize=8,
            color=row)  # fmt: skip
    ax.text(x0 + D * 0.8 + 0.5, 3.0, "=", ha="center", va="center", fontsize=14)
    # the result (1 × D)
    x1 = x0 + D * 0.8 + 1.1
    for j in range(D):
        ax.add_patch(Rectangle((x1 + j * 0.8, 2.6), 0.8, 0.8, fc=row + "55", ec=style.FG, lw=0.8))
    ax.text(x1 + D * 0.4, 4.0, "词向量 $e_w$（1×D）", ha="center", fontsize=8.5)
    ax.text(x1 + D * 0.4, 1.7, "= E[w]，即 nn.Embedding(w)", ha="center", fontsize=8.5)
    ax.text(8.0, -0.8, "乘法里只有第 w 行乘以 1、其余行乘以 0：结果就是那一行，梯度也只流向那一行",
            ha="center", fontsize=8.5)  # fmt: skip
    return fig


FIGURES = {
    "embedding-one-hot": draw_one_hot,
    "embedding-training": draw_training,
    "embedding-projection": draw_projection,
}
