"""Figures for the GPT page, from ``reference_impl/gpt.py`` and real training on the CPU.

* ``gpt-training``: a tiny character-level GPT trained on the Chinese sentences shipped in
  ``reference_impl/data/`` (the word2vec corpus, spaces removed): training and held-out loss.
* ``gpt-sampling``: what `generate` makes of the trained model at several temperatures and with
  top-k, measured over many samples (share of sentences copied from the training text, share of
  character pairs never seen in it).
* ``gpt-masks``: the masks of the code (`layer_masks`): a dense causal layer, a locally banded one
  (GPT-3's alternation), and what two stacked layers let a position see.

Reusable by other figure modules (e.g. a tiny Llama trained on the same text for comparison):
:func:`corpus` (the text, split and encoded), :func:`tiny_gpt` (a GPT of a given width and depth
for this vocabulary), :func:`train_lm` (the seeded training loop for any model mapping ids
(B, T) to logits (B, T, V)) and :data:`TRAINING` (its settings).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from torch import nn

from reference_impl.gpt import GPT, GPTConfig, generate, layer_masks
from tools.generator.catalog import ROOT
from tools.generator.figures import style

DEPENDS = ("reference_impl/gpt.py", "reference_impl/data/word2vec_corpus_zh.txt")

CORPUS = ROOT / "reference_impl" / "data" / "word2vec_corpus_zh.txt"
NEWLINE = "\n"  # ends every sentence; sampling starts from it


@dataclasses.dataclass(frozen=True)
class Corpus:
    """The shipped sentences as characters: every tenth sentence held out."""

    chars: tuple[str, ...]  # the vocabulary, sorted; index = token id
    train: torch.Tensor  # (N,) ids of the training sentences, each ended by "\n"
    held_out: torch.Tensor  # (M,) ids of the held-out sentences
    train_lines: frozenset[str]
    held_out_lines: frozenset[str]

    def decode(self, ids: list[int]) -> str:
        """Token ids → text."""
        return "".join(self.chars[i] for i in ids)


@functools.cache
def corpus(path: Path = CORPUS) -> Corpus:
    """Read the corpus, drop the word-separating spaces, split and encode it."""
    lines = [line.replace(" ", "") for line in path.read_text(encoding="utf-8").splitlines()]
    lines = [line for line in lines if line]
    train = [line for i, line in enumerate(lines) if i % 10 != 9]
    held_out = [line for i, line in enumerate(lines) if i % 10 == 9]
    chars = tuple(sorted(set("".join(lines)) | {NEWLINE}))
    index = {c: i for i, c in enumerate(chars)}

    def encode(sentences: list[str]) -> torch.Tensor:
        return torch.tensor([index[c] for c in "".join(s + NEWLINE for s in sentences)])

    return Corpus(chars, encode(train), encode(held_out), frozenset(train), frozenset(held_out))


@dataclasses.dataclass(frozen=True)
class Training:
    """The recipe of :func:`train_lm`: AdamW with GPT-3's β and decay (App. B), cosine schedule."""

    steps: int = 250
    batch_size: int = 32
    context: int = 32
    lr: float = 3e-3
    warmup: int = 20
    betas: tuple[float, float] = (0.9, 0.95)  # GPT-3 App. B
    weight_decay: float = 0.1  # GPT-3 App. B
    eval_every: int = 25


TRAINING = Training()


def tiny_gpt(
    vocab_size: int,
    d_model: int = 64,
    n_layers: int = 2,
    n_heads: int = 4,
    max_len: int = TRAINING.context,
) -> GPT:
    """A GPT-2-style model (pre-LN, tied output layer) of the given size, without dropout."""
    return GPT(
        GPTConfig(
            vocab_size=vocab_size,
            max_len=max_len,
            d_model=d_model,
            n_layers=n_layers,
            n_heads=n_heads,
            d_ff=4 * d_model,
            dropout=0.0,
        )
    )


def windows(ids: torch.Tensor, length: int, stride: int) -> torch.Tensor:
    """All windows of `length` tokens of a 1-D id tensor, `stride` apart: (n, length)."""
    return ids.unfold(0, length, stride)


@dataclasses.dataclass
class Run:
    """What one training run measured."""

    model: nn.Module
    losses: list[float]  # training loss at every step (nats per character)
    eval_steps: list[int]
    held_out: list[float]  # held-out loss at eval_steps
    parameters: int
    seconds: float


@torch.no_grad()
def held_out_loss(model: nn.Module, data: torch.Tensor, context: int) -> float:
    """Mean next-character loss over the held-out text, windows of `context` + 1 tokens."""
    model.eval()
    batch = windows(data, context + 1, context // 2)  # (n, context + 1)
    logits = model(batch[:, :-1])
    return F.cross_entropy(logits.flatten(0, 1), batch[:, 1:].flatten()).item()


def train_lm(model: nn.Module, data: Corpus, recipe: Training = TRAINING, seed: int = 0) -> Run:
    """Train any next-token model on random windows of the training text (seeded, one thread).

    Args:
        model: Maps ids (B, T) to logits (B, T, V), T ≤ `recipe.context`.
        data: The corpus.
        recipe: Steps, batch, learning rate and schedule.
        seed: Seed of the window sampling (seed the model's initialisation yourself).
    """
    start = time.process_time()
    gen = torch.Generator().manual_seed(seed)
    decay = [p for p in model.parameters() if p.dim() >= 2]  # GPT-3: decay on weights only
    rest = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": recipe.weight_decay},
            {"params": rest, "weight_decay": 0.0},
        ],
        lr=recipe.lr,
        betas=recipe.betas,
        foreach=True,
    )

    def rate(step: int) -> float:  # linear warm-up, then cosine decay to 10 % (GPT-3 App. B)
        if step < recipe.warmup:
            return (step + 1) / recipe.warmup
        done = (step - recipe.warmup) / max(1, recipe.steps - recipe.warmup)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * done))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, rate)
    starts_max = len(data.train) - recipe.context - 1
    losses, eval_steps = [], [0]
    held = [held_out_loss(model, data.held_out, recipe.context)]
    for step in range(1, recipe.steps + 1):
        model.train()
        starts = torch.randint(0, starts_max, (recipe.batch_size,), generator=gen)
        batch = torch.stack([data.train[s : s + recipe.context + 1] for s in starts.tolist()])
        logits = model(batch[:, :-1])  # (B, T, V): predict characters 1 … T
        loss = F.cross_entropy(logits.flatten(0, 1), batch[:, 1:].flatten())
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
        if step % recipe.eval_every == 0:
            eval_steps.append(step)
            held.append(held_out_loss(model, data.held_out, recipe.context))
    model.eval()
    n = sum(p.numel() for p in model.parameters())
    return Run(model, losses, eval_steps, held, n, time.process_time() - start)


@functools.cache
def trained_gpt() -> Run:
    """The page's run: a 2-layer, 64-wide GPT (seed 0), cached across figures."""
    data = corpus()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(0)
        return train_lm(tiny_gpt(len(data.chars)), data)
    finally:
        torch.set_num_threads(threads)


def unigram_loss(data: Corpus) -> float:
    """Cross-entropy on held-out text of a model that ignores the context (character counts)."""
    counts = torch.bincount(data.train, minlength=len(data.chars)).float() + 1.0  # add-one
    log_p = (counts / counts.sum()).log()
    return -log_p[data.held_out].mean().item()


@style.single_threaded
def draw_training() -> Figure:
    """一个两层、宽 64 的小 GPT 在仓库自带的中文句子上逐字训练：训练与留出损失（单线程 CPU）."""
    data, run = corpus(), trained_gpt()
    fig = style.new_figure(7.0, 3.0)
    ax = fig.subplots()
    ax.plot(range(1, len(run.losses) + 1), run.losses, lw=0.8, alpha=0.6, label="训练（每步一批）")
    ax.plot(
        run.eval_steps,
        run.held_out,
        "o-",
        ms=3,
        color=style.PALETTE[1],
        label="留出的句子（每 10 句取 1 句）",
    )
    for value, text in (
        (math.log(len(data.chars)), "均匀猜测 ln V"),
        (unigram_loss(data), "只看字频、不看上下文"),
    ):
        ax.axhline(value, color=style.FG, lw=0.8, ls="--")
        ax.text(len(run.losses), value + 0.08, f"{text}：{value:.2f}", ha="right", fontsize=8)
    ax.set_xlabel("训练步数")
    ax.set_ylabel("交叉熵（nat / 字）")
    ax.set_ylim(0, math.log(len(data.chars)) + 0.6)
    ax.set_title(
        f"{run.parameters:,} 个参数，{len(data.chars)} 个字符，上下文 {TRAINING.context}",
        fontsize=10,
    )
    ax.grid(True)
    ax.legend(loc="upper right", bbox_to_anchor=(1.0, 0.82))
    return fig


#: (label, temperature, top_k) of the sampling figure.
SETTINGS = [
    ("贪心（T = 0）", 0.0, None),
    ("T = 0.5", 0.5, None),
    ("T = 1", 1.0, None),
    ("T = 1.5", 1.5, None),
    ("T = 1.5，top-k = 3", 1.5, 3),
]
N_SAMPLES = 256
NEW_TOKENS = 20


@dataclasses.dataclass(frozen=True)
class SampleStats:
    """Sentences sampled from a newline with one setting, and what they contain."""

    examples: tuple[str, ...]
    copied: float  # share of complete sentences that are training sentences
    held_out: float  # share that are held-out sentences (never trained on)
    unseen_pairs: float  # share of adjacent character pairs never seen in the training text


def sample_stats(temperature: float, top_k: int | None, seed: int = 0) -> SampleStats:
    """Generate N_SAMPLES continuations of a newline and cut each at its first newline."""
    data, run = corpus(), trained_gpt()
    start = torch.full((N_SAMPLES, 1), data.chars.index(NEWLINE))
    out = generate(
        run.model,
        start,
        NEW_TOKENS,
        temperature=temperature,
        top_k=top_k,
        generator=torch.Generator().manual_seed(seed),
    )
    texts = [data.decode(row[1:].tolist()) for row in out]
    sentences = [t.split(NEWLINE)[0] for t in texts if NEWLINE in t]
    seen = set(
        zip(data.decode(data.train.tolist()), data.decode(data.train[1:].tolist()), strict=False)
    )
    pairs = [p for s in sentences for p in itertools.pairwise(s)]
    n = max(1, len(sentences))
    return SampleStats(
        tuple(dict.fromkeys(sentences))[:2],
        sum(s in data.train_lines for s in sentences) / n,
        sum(s in data.held_out_lines and s not in data.train_lines for s in sentences) / n,
        sum(p not in seen for p in pairs) / max(1, len(pairs)),
    )


@style.single_threaded
def draw_sampling() -> Figure:
    """同一个训练好的小 GPT 用 generate() 采样：不同温度与 top-k 下生成的句子（每种设置 256 句）."""
    stats = [sample_stats(t, k) for _, t, k in SETTINGS]
    fig = style.new_figure(7.2, 5.0)
    ax_text, ax_bar = fig.subplots(2, 1, height_ratios=[1.15, 1])
    ax_text.axis("off")
    ax_text.set_xlim(0, 1)
    ax_text.set_ylim(len(SETTINGS) - 0.4, -0.9)
    ax_text.text(0, -0.7, "从换行符开始生成、到下一个换行符为止的句子（前两个不同的）", fontsize=9)
    for row, ((label, _, _), s) in enumerate(zip(SETTINGS, stats, strict=True)):
        ax_text.text(0, row, label, fontsize=9, weight="bold", va="center")
        ax_text.text(0.24, row, " / ".join(s.examples), fontsize=9, va="center")
    bars = [
        ("与某个训练句子完全相同", [s.copied for s in stats], style.PALETTE[0]),
        ("与某个留出句子完全相同", [s.held_out for s in stats], style.PALETTE[2]),
        ("训练文本中从未相邻出现的字对", [s.unseen_pairs for s in stats], style.PALETTE[1]),
    ]
    width = 0.26
    for i, (label, values, color) in enumerate(bars):
        pos = [r + (i - 1) * width for r in range(len(SETTINGS))]
        ax_bar.bar(pos, [100 * v for v in values], width=width, color=color, label=label)
        for p, v in zip(pos, values, strict=True):
            shown = f"{100 * v:.1f}" if 0 < 100 * v < 1 else f"{100 * v:.0f}"
            ax_bar.text(p, 100 * v + 2, shown, ha="center", fontsize=7)
    ax_bar.set_xticks(range(len(SETTINGS)), [label for label, _, _ in SETTINGS], fontsize=8.5)
    ax_bar.set_ylim(0, 118)
    ax_bar.set_ylabel("占句子（字对）的 %")
    ax_bar.legend(loc="upper right", fontsize=8)
    ax_bar.grid(True, axis="y")
    return fig


def draw_masks() -> Figure:
    """layer_masks() 的真实掩码（T = 16，窗口 4）：稠密层、带状层，以及两层叠加后能看到哪些位置."""
    T, window = 16, 4
    cfg = GPTConfig(**{**GPTConfig.tiny().__dict__, "n_layers": 2, "local_window": window})
    dense, band = layer_masks(cfg, T)
    reach = (band.float() @ dense.float()) > 0  # layer 2 sees j, which saw k in layer 1
    band_only = (band.float() @ band.float()) > 0
    panels = [
        ("第 0、2、4… 层：稠密因果", dense),
        (f"第 1、3、5… 层：带状（窗口 {window}）", band),
        ("稠密层后接带状层：\n仍能看到全部前文", reach),
        ("若每层都是带状：\n两层只看到前 7 个", band_only),
    ]
    fig = style.new_figure(7.2, 2.55)
    axes = fig.subplots(1, 4)
    allowed = ListedColormap([(1.0, 1.0, 1.0, 0.0), style.PALETTE[0]])  # blocked: transparent
    for ax, (title, mask) in zip(axes, panels, strict=True):
        ax.imshow(mask.float(), cmap=allowed, vmin=0, vmax=1, interpolation="nearest")
        for side in ("top", "right"):
            ax.spines[side].set_visible(True)
        ax.set_title(title, fontsize=8)
        ax.set_xticks([0, T - 1], ["0", str(T - 1)], fontsize=7)
        ax.set_yticks([0, T - 1], ["0", str(T - 1)], fontsize=7)
        ax.set_xlabel("键的位置 j", fontsize=7)
    axes[0].set_ylabel("查询的位置 i", fontsize=7)
    return fig


FIGURES = {
    "gpt-training": draw_training,
    "gpt-sampling": draw_sampling,
    "gpt-masks": draw_masks,
}
