"""Figures for the Llama 3 page, every number from reference_impl/llama.py.

GQA's grouping read off `RepeatKV`; RoPE's relative property and Llama 3.1's frequency scaling
measured with `RotaryEmbedding` / `rope_frequencies`; the KV-cache memory from `kv_cache_bytes`
with the paper-size configurations (counts on the meta device, nothing allocated); a tiny Llama
trained on the bundled Chinese sentences, one sentence a document, with the document mask.

`memory_table()` is the page's memory table; tests/test_llama.py checks the page against it.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from matplotlib.patches import PathPatch
from matplotlib.path import Path as Path2D

from reference_impl.gpt import GPT, GPTConfig
from reference_impl.llama import (
    Llama,
    LlamaConfig,
    RepeatKV,
    RopeScaling,
    RotaryEmbedding,
    document_ids,
    kv_cache_bytes,
    llama3_8b,
    llama3_70b,
    llama3_405b,
    rope_frequencies,
    weight_bytes,
)
from tools.generator.figures import style

DEPENDS = (
    "reference_impl/llama.py",
    "reference_impl/gpt.py",
    "reference_impl/data/word2vec_corpus_zh.txt",
)

ROOT = Path(__file__).resolve().parents[3]
CORPUS = ROOT / "reference_impl" / "data" / "word2vec_corpus_zh.txt"
SIZES = {"8B": LlamaConfig.llama3_8b(), "70B": LlamaConfig.llama3_70b(),
         "405B": LlamaConfig.llama3_405b()}  # fmt: skip
BUILD = {"8B": llama3_8b, "70B": llama3_70b, "405B": llama3_405b}
GIB = 2**30


# ── memory: weights and KV cache (bf16), from the code ───────────────────────────────────


@functools.cache
def weight_bytes_of(name: str) -> int:
    """bf16 weights of one size, with `weight_bytes` on the meta-device model."""
    with torch.device("meta"):
        return weight_bytes(BUILD[name]())


def memory_rows() -> list[dict[str, float]]:
    """Per size: bf16 weights, KV cache per token and at 8K / 128K, with GQA and without."""
    rows = []
    for name, cfg in SIZES.items():
        mha = dataclasses.replace(cfg, n_kv_heads=cfg.n_heads)  # one KV head per query head
        rows.append({
            "name": name,
            "weights": weight_bytes_of(name) / GIB,
            "kv_token": kv_cache_bytes(cfg, 1) / 1024,  # KiB
            "kv_token_mha": kv_cache_bytes(mha, 1) / 1024,
            "kv_8k": kv_cache_bytes(cfg, 8192) / GIB,
            "kv_8k_mha": kv_cache_bytes(mha, 8192) / GIB,
            "kv_128k": kv_cache_bytes(cfg, 131072) / GIB,
            "kv_128k_mha": kv_cache_bytes(mha, 131072) / GIB,
        })  # fmt: skip
    return rows


def _g(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:.1f}"


def memory_table() -> str:
    """The Markdown table of the page (one sequence, bf16 = 2 bytes a value)."""
    lines = [
        "| 模型 | 权重 | KV / 词元 | KV，8K 词元 | KV，128K 词元 "
        "| 无 GQA：KV / 词元 | 无 GQA：8K | 无 GQA：128K |",
        "| :-- | --: | --: | --: | --: | --: | --: | --: |",
    ]
    for r in memory_rows():
        lines.append(
            f"| {r['name']} | {_g(r['weights'])} GiB | {_g(r['kv_token'])} KiB "
            f"| {_g(r['kv_8k'])} GiB | {_g(r['kv_128k'])} GiB | {_g(r['kv_token_mha'])} KiB "
            f"| {_g(r['kv_8k_mha'])} GiB | {_g(r['kv_128k_mha'])} GiB |"
        )
    return "\n".join(lines) + "\n"


def draw_kv_cache():
    """一条序列的 KV 缓存（bf16）：实线用 GQA，虚线不用，点线为权重."""
    lengths = [2**k for k in range(10, 18)]  # 1K … 128K
    fig = style.new_figure(6.6, 3.4)
    ax = fig.subplots()
    for (name, cfg), color in zip(SIZES.items(), style.PALETTE, strict=False):
        mha = dataclasses.replace(cfg, n_kv_heads=cfg.n_heads)
        ax.plot(lengths, [kv_cache_bytes(cfg, n) / GIB for n in lengths], "o-", ms=3,
                color=color, label=f"{name}（GQA，8 个 KV 头）")  # fmt: skip
        ax.plot(lengths, [kv_cache_bytes(mha, n) / GIB for n in lengths], "--", color=color,
                label=f"{name}（{cfg.n_heads} 个 KV 头）")  # fmt: skip
        weights = weight_bytes_of(name) / GIB
        ax.axhline(weights, color=color, ls=":", lw=1)
        ax.text(lengths[0], weights * 1.15, f"{name} 权重 {weights:,.0f} GiB", color=color,
                fontsize=8)  # fmt: skip
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(lengths, ["1K", "2K", "4K", "8K", "16K", "32K", "64K", "128K"])
    ax.minorticks_off()  # a tick is an SVG element: the page keeps its size budget
    ax.set_xlabel("上下文长度（词元）")
    ax.set_ylabel("GiB（对数坐标）")
    ax.set_title("KV 缓存：每多一个词元，每层多存一份 K 和 V")
    ax.grid(True, which="major")
    ax.legend(fontsize=7.5, ncol=2, loc="lower right")
    return fig


def _n(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@functools.cache
def count_rows() -> list[tuple[str, tuple[int, ...]]]:
    """Parameters by part for 8B / 70B / 405B, read off the meta-device models."""
    parts: dict[str, list[int]] = {}
    for build in BUILD.values():
        with torch.device("meta"):
            m = build()
        block = m.layers[0]
        n = len(m.layers)
        for label, value in (
            ("词嵌入 `tok_embeddings`（V × D）", _n(m.tok_embeddings)),
            ("每块：注意力 W_Q、W_K、W_V、W_O", _n(block.attention)),
            ("每块：SwiGLU 的 gate、up、down", _n(block.ffn)),
            ("每块：两个 RMSNorm 的增益", _n(block.attention_norm) + _n(block.ffn_norm)),
            ("全部 Transformer 块（N 块）", n * _n(block)),
            ("最后的 RMSNorm `norm`", _n(m.norm)),
            ("输出层 `lm_head`（D × V，不共享）", _n(m.lm_head)),
            ("**合计**", _n(m)),
        ):
            parts.setdefault(label, []).append(value)
    return [(label, tuple(values)) for label, values in parts.items()]


def count_table() -> str:
    """The page's table of parameters by part (every cell from the code)."""
    lines = ["| 部分 | 8B | 70B | 405B |", "| :-- | --: | --: | --: |"]
    for label, values in count_rows():
        cells = " | ".join(f"{v:,}" for v in values)
        if label.startswith("**"):
            cells = " | ".join(f"**{v:,}**" for v in values)
        lines.append(f"| {label} | {cells} |")
    return "\n".join(lines) + "\n"


# ── GQA: which KV head each query head reads ─────────────────────────────────────────────


def kv_head_of_query_heads(cfg: LlamaConfig) -> list[int]:
    """Run `RepeatKV` on the KV-head indices: entry j is the KV head query head j reads."""
    n_rep = cfg.n_heads // cfg.n_kv_heads
    heads = torch.arange(cfg.n_kv_heads, dtype=torch.float32).view(1, -1, 1, 1)
    return RepeatKV(n_rep)(heads).flatten().long().tolist()


def _ticks(xs: list[float], y: float) -> Path2D:
    """One compound path of short vertical strokes at (x, y): one SVG element for a group."""
    verts = [v for x in xs for v in ((x, y - 0.1), (x, y + 0.1))]
    return Path2D(verts, [Path2D.MOVETO, Path2D.LINETO] * len(xs))


def _fan(xs: list[float], y0: float, x1: float, y1: float) -> Path2D:
    """One compound path of lines from every (x, y0) to (x1, y1)."""
    verts = [v for x in xs for v in ((x, y0), (x1, y1))]
    return Path2D(verts, [Path2D.MOVETO, Path2D.LINETO] * len(xs))


def draw_gqa():
    """分组查询注意力：每个查询头读哪一个 K/V 头（用 RepeatKV 对三种尺寸的配置实测）."""
    fig = style.new_figure(7.0, 3.3)
    ax = fig.subplots()
    for row, (name, cfg) in enumerate(SIZES.items()):
        y_q, y_kv = -2.2 * row, -2.2 * row - 1.0
        owner = kv_head_of_query_heads(cfg)
        n_q, n_kv = cfg.n_heads, cfg.n_kv_heads
        for g in range(n_kv):
            color = style.PALETTE[g % 4]
            xq = [(j + 0.5) / n_q for j, o in enumerate(owner) if o == g]
            xkv = (g + 0.5) / n_kv
            ax.add_patch(PathPatch(_fan(xq, y_q - 0.1, xkv, y_kv + 0.12), ec=color, lw=0.5,
                                   fc="none", alpha=0.8))  # fmt: skip
            head_pt = 0.65 * 290 / n_q  # a query head's width in points (the axes are ~290 pt/unit)
            ax.add_patch(PathPatch(_ticks(xq, y_q), ec=color, lw=head_pt, capstyle="butt"))
            ax.add_patch(PathPatch(_ticks([xkv], y_kv), ec=color, lw=9, capstyle="butt"))
        ax.text(-0.02, y_q, f"{name}：{n_q} 个查询头", ha="right", va="center", fontsize=8.5)
        ax.text(-0.02, y_kv, f"{n_kv} 个 K/V 头（每个供 {n_q // n_kv} 个）", ha="right",
                va="center", fontsize=8.5)  # fmt: skip
    ax.set_xlim(-0.62, 1.01)
    ax.set_ylim(-2.2 * 2 - 1.4, 0.45)
    ax.axis("off")
    ax.set_title("GQA：相邻的一组查询头共用一个 K/V 头（颜色相同）", fontsize=10)
    return fig


# ── RoPE: relative property and Llama 3.1's frequency scaling ──────────────────────────────


def rope_scores(max_pos: int = 48, seed: int = 0) -> torch.Tensor:
    """(P, P) scores q_m·k_n of one fixed random q and k (d = 128), rotated to positions m, n."""
    g = torch.Generator().manual_seed(seed)
    q, k = torch.randn(128, generator=g), torch.randn(128, generator=g)
    rope = RotaryEmbedding(LlamaConfig.llama3_8b())
    positions = torch.arange(max_pos)
    qs = rope(q.expand(1, 1, max_pos, 128), positions)[0, 0]  # (P, d)
    ks = rope(k.expand(1, 1, max_pos, 128), positions)[0, 0]
    return qs @ ks.T  # (P, P): row m, column n


def draw_rope_relative():
    """RoPE 实测：同一对 q、k 放到位置 m、n，点积只随 m − n 变化（每条斜线上颜色相同）."""
    scores = rope_scores()
    fig = style.new_figure(7.0, 3.1)
    ax_map, ax_line = fig.subplots(1, 2, width_ratios=[1, 1.35])
    im = ax_map.imshow(scores.numpy(), cmap="RdBu_r", origin="upper")
    ax_map.set_xlabel("键的位置 n")
    ax_map.set_ylabel("查询的位置 m")
    ax_map.set_title("$q_m^\\top k_n$")
    cbar = fig.colorbar(im, ax=ax_map, shrink=0.85)
    cbar.outline.set_edgecolor(style.FG)
    for offset, color, marker in ((0, style.PALETTE[0], "o"), (20, style.PALETTE[1], "x")):
        distances = list(range(0, 28))
        values = [scores[offset + r, offset].item() for r in distances]
        ax_line.plot(distances, values, marker, ms=3.5, color=color, mfc="none",
                     label=f"键在位置 {offset}")  # fmt: skip
    ax_line.set_xlabel("相对距离 m − n")
    ax_line.set_ylabel("点积")
    ax_line.set_title("两条曲线重合：只取决于 m − n")
    ax_line.grid(True)
    ax_line.legend(fontsize=8)
    return fig


def draw_rope_scaling():
    """Llama 3.1 的 RoPE 频率缩放（d = 128，θ = 500,000）：波长超过 8,192 个词元的拉长 8 倍."""
    plain = rope_frequencies(128, 500_000.0, None)
    scaled = rope_frequencies(128, 500_000.0, RopeScaling())
    wavelength = (2 * math.pi / plain).tolist()
    ratio = (plain / scaled).tolist()  # how much each wavelength is stretched
    fig = style.new_figure(6.6, 3.0)
    ax = fig.subplots()
    ax.axvspan(wavelength[0] * 0.7, 2048, color=style.PALETTE[2], alpha=0.12, lw=0)
    ax.axvspan(2048, 8192, color=style.PALETTE[3], alpha=0.15, lw=0)
    ax.axvspan(8192, wavelength[-1] * 1.5, color=style.PALETTE[0], alpha=0.12, lw=0)
    ax.plot(wavelength, ratio, "o", ms=3, color=style.PALETTE[4])
    ax.set_xscale("log")
    ax.minorticks_off()
    ax.set_xlim(wavelength[0] * 0.7, wavelength[-1] * 1.5)
    ax.set_ylim(0, 9)
    for x, text in ((40, "不变（< 2,048）"), (2600, "平滑过渡"), (3e5, "拉长 8 倍（> 8,192）")):
        ax.text(x, 8.3, text, fontsize=8.5, color=style.FG)
    ax.set_xlabel("原波长 2π/θ_i（词元，对数坐标）")
    ax.set_ylabel("波长放大倍数")
    ax.set_title("64 个频率各自的缩放（rope_frequencies 实测）")
    ax.grid(True, axis="y")
    return fig


# ── a tiny Llama trained on the bundled Chinese sentences ─────────────────────────────────

STEPS = 300
COMPARE_STEPS = 200
BATCH = 16
WINDOW = 32


def corpus() -> tuple[list[list[int]], list[list[int]], list[str]]:
    """Sentences as [BOS] words [EOS] (ids); 90 % for training, 10 % held out; the vocabulary."""
    lines = [line.split() for line in CORPUS.read_text(encoding="utf-8").splitlines()]
    lines = [line for line in lines if line]
    vocab = ["<pad>", "<s>", "</s>", *sorted({w for line in lines for w in line})]
    index = {w: i for i, w in enumerate(vocab)}
    docs = [[1, *(index[w] for w in line), 2] for line in lines]
    order = torch.randperm(len(docs), generator=torch.Generator().manual_seed(0)).tolist()
    n_held = len(docs) // 10
    return [docs[i] for i in order[n_held:]], [docs[i] for i in order[:n_held]], vocab


def tiny_config(vocab_size: int) -> LlamaConfig:
    """The model of the training figures: width 64, 2 blocks, 4 query heads sharing 2 KV heads."""
    return dataclasses.replace(LlamaConfig.tiny(), vocab_size=vocab_size, d_model=64,
                               n_heads=4, n_kv_heads=2, d_ff=178)  # fmt: skip


def gpt_config(vocab_size: int) -> GPTConfig:
    """A GPT-2-style model of about the same size: width 64, 2 blocks, 4 heads, FFN 4 × 64."""
    return GPTConfig(vocab_size=vocab_size, max_len=WINDOW, d_model=64, n_layers=2, n_heads=4,
                     d_ff=256, dropout=0.0)  # fmt: skip


def packed_loss(model: Llama, docs: list[list[int]]) -> float:
    """Mean next-token loss over documents packed into one sequence, with the document mask."""
    ids = torch.tensor([[t for doc in docs for t in doc]])
    with torch.no_grad():
        logits = model(ids[:, :-1], doc_ids=document_ids(ids[:, :-1], 1))
    targets = ids[:, 1:].clone()
    targets[:, torch.tensor([t == 1 for t in targets[0].tolist()])] = -100  # next doc's BOS
    return F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=-100).item()


def sentence_loss(model: torch.nn.Module, docs: list[list[int]]) -> float:
    """Mean next-token loss of each document run on its own (any model mapping ids → logits)."""
    total, count = 0.0, 0
    with torch.no_grad():
        for doc in docs:
            ids = torch.tensor([doc])
            logits = model(ids[:, :-1])
            total += F.cross_entropy(logits[0], ids[0, 1:], reduction="sum").item()
            count += len(doc) - 1
    return total / count


def _train(model: torch.nn.Module, steps: int, seed: int, doc_mask: bool, evaluate) -> dict:
    """AdamW with cosine decay on random windows of the packed training sentences (one thread)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        cpu = time.process_time()
        train, _, _ = corpus()
        g = torch.Generator().manual_seed(seed)  # the same windows for every model
        stream = torch.tensor([t for doc in train for t in doc])
        opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.1, foreach=True)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps, eta_min=3e-4)
        losses, eval_steps, held_losses = [], [0], [evaluate(model.eval())]
        for step in range(1, steps + 1):
            model.train()
            starts = torch.randint(0, len(stream) - WINDOW - 1, (BATCH,), generator=g)
            batch = torch.stack([stream[s : s + WINDOW + 1] for s in starts.tolist()])
            x, y = batch[:, :-1], batch[:, 1:]
            logits = model(x, doc_ids=document_ids(x, 1)) if doc_mask else model(x)
            loss = F.cross_entropy(logits.flatten(0, 1), y.flatten())
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
            if step % 25 == 0:
                eval_steps.append(step)
                held_losses.append(evaluate(model.eval()))
        model.eval()
        return {
            "model": model,
            "params": sum(p.numel() for p in model.parameters()),
            "losses": losses,
            "eval_steps": eval_steps,
            "held": held_losses,
            "cpu": time.process_time() - cpu,
        }
    finally:
        torch.set_num_threads(threads)


@functools.lru_cache(maxsize=1)
def train_tiny(steps: int = STEPS, seed: int = 0) -> dict:
    """The tiny Llama with the document mask; held-out loss on the packed held-out sentences."""
    _, held, vocab = corpus()
    torch.manual_seed(seed)
    model = Llama(tiny_config(len(vocab)))
    run = _train(model, steps, seed, True, lambda m: packed_loss(m, held))
    return run | {"vocab": vocab}


@functools.lru_cache(maxsize=1)
def train_pair(steps: int = COMPARE_STEPS, seed: int = 0) -> dict[str, dict]:
    """GPT and Llama of about the same size, the same windows, no document mask for either."""
    _, held, vocab = corpus()
    runs = {}
    for name, build in (("GPT", lambda: GPT(gpt_config(len(vocab)))),
                        ("Llama", lambda: Llama(tiny_config(len(vocab))))):  # fmt: skip
        torch.manual_seed(seed)
        runs[name] = _train(build(), steps, seed, False, lambda m: sentence_loss(m, held))
    return runs


def draw_training():
    """一个小 Llama 在仓库自带的中文句子上训练（每句一个文档，文档掩码；单个 CPU 线程，300 步）."""
    run = train_tiny()
    fig = style.new_figure(6.6, 3.0)
    ax = fig.subplots()
    ax.plot(range(1, len(run["losses"]) + 1), run["losses"], color=style.PALETTE[0], lw=0.8,
            label="训练批的损失")  # fmt: skip
    ax.plot(run["eval_steps"], run["held"], "o-", ms=3, color=style.PALETTE[1],
            label="留出的 10% 句子")  # fmt: skip
    ax.axhline(math.log(len(run["vocab"])), color=style.FG, ls="--", lw=0.8)
    ax.text(STEPS, math.log(len(run["vocab"])) + 0.1, f"均匀猜测 ln {len(run['vocab'])}",
            ha="right", va="bottom", fontsize=8)  # fmt: skip
    ax.set_xlabel("训练步数")
    ax.set_ylabel("下一词的交叉熵")
    ax.set_title(f"小 Llama（{run['params']:,} 个参数，词表 {len(run['vocab'])} 个词）")
    ax.grid(True)
    ax.legend()
    return fig


def draw_gpt_vs_llama():
    """同样约 11 万个参数、同样的数据与步数：GPT-2 式的小 GPT 与小 Llama（都不加文档掩码）."""
    runs = train_pair()
    fig = style.new_figure(6.6, 3.0)
    ax = fig.subplots()
    for (name, run), color in zip(runs.items(), style.PALETTE, strict=False):
        label = f"{name}（{run['params']:,} 个参数）"
        ax.plot(range(1, len(run["losses"]) + 1), run["losses"], color=color, lw=0.7,
                alpha=0.7, label=f"{label}：训练批")  # fmt: skip
        ax.plot(run["eval_steps"], run["held"], "o-", ms=3, color=color,
                label=f"{label}：留出句子")  # fmt: skip
    ax.set_xlabel("训练步数")
    ax.set_ylabel("下一词的交叉熵")
    ax.set_title("GPT 与 Llama：同样的预算、数据和优化器")
    ax.grid(True)
    ax.legend(fontsize=8)
    return fig


FIGURES = {
    "llama-gpt-vs-llama": draw_gpt_vs_llama,
    "llama-gqa": draw_gqa,
    "llama-kv-cache": draw_kv_cache,
    "llama-rope-relative": draw_rope_relative,
    "llama-rope-scaling": draw_rope_scaling,
    "llama-training": draw_training,
}
