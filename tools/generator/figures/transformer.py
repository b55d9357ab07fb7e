"""Figures for the Transformer page: a reverse-sequence task trained on CPU, the learning rate.

The training function is also used by ``tests/test_transformer.py`` (the test asserts what the
curve shows), so both run exactly the same seeded recipe: the paper's optimiser (Adam with
β₂ = 0.98, ε = 10⁻⁹ and the warm-up schedule of Eq. (3), §5.3) and label smoothing 0.1 (§5.4),
on a tiny model.
"""

from __future__ import annotations

import dataclasses
import functools
import time

import torch
from torch import nn

from reference_impl.transformer import Transformer, TransformerConfig, greedy_decode
from tools.generator.figures import style

DEPENDS = ("reference_impl/transformer.py",)

#: Tokens 0, 1, 2 are PAD, BOS, EOS; 3 … 12 are the ten symbols of the task.
N_SYMBOLS = 10
LENGTH = 8
CONFIG = TransformerConfig(
    vocab_size=3 + N_SYMBOLS, d_model=32, n_heads=4, d_ff=64, n_layers=2, dropout=0.0, max_len=32
)


RATE_SCALE = 0.7  # Eq. (3)'s rate × 0.7 (not in the paper; with the gradient clip below)


def rate(step: int, d_model: int, warmup: int) -> float:
    """Eq. (3): lrate = d_model^-0.5 · min(step^-0.5, step · warmup^-1.5), step counted from 1."""
    return d_model**-0.5 * min(step**-0.5, step * warmup**-1.5)


def reverse_batch(n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch of the task: source (n, LENGTH) random symbols, target BOS + reversed + EOS."""
    cfg = CONFIG
    src = torch.randint(3, 3 + N_SYMBOLS, (n, LENGTH), generator=generator)
    bos = torch.full((n, 1), cfg.bos_id)
    eos = torch.full((n, 1), cfg.eos_id)
    return src, torch.cat([bos, src.flip(1), eos], dim=1)  # (n, LENGTH + 2)


def token_accuracy(model: Transformer, src: torch.Tensor, tgt: torch.Tensor) -> float:
    """Share of output tokens (reversed symbols and EOS) right under greedy decoding."""
    model.eval()
    expected = tgt[:, 1:]  # (n, LENGTH + 1) without BOS
    pred = greedy_decode(model, src, max_len=expected.shape[1])
    pred = nn.functional.pad(pred, (0, expected.shape[1] - pred.shape[1]), value=-1)
    return (pred == expected).float().mean().item()


@dataclasses.dataclass
class ReverseRun:
    """The result of :func:`train_reverse_task`."""

    model: Transformer
    losses: list[float]  # training loss at every step
    eval_steps: list[int]
    accuracies: list[float]  # greedy token accuracy on a held-out batch at eval_steps
    cpu_seconds: float
    wall_seconds: float


@functools.lru_cache(maxsize=2)
def train_reverse_task(
    steps: int = 250, batch_size: int = 64, warmup: int = 100, seed: int = 0
) -> ReverseRun:
    """Train the tiny Transformer to reverse sequences of 8 symbols (one thread, seeded).

    Args:
        steps: Optimiser steps (fresh random batch each step: no over-fitting to watch for).
        batch_size: Sequences per step.
        warmup: warmup_steps of Eq. (3). 100 (not 400): the rate peaks at step 100 and then
            decays as in the paper; with the peak at the last step the run ended on a loss spike
            on some CPUs (accuracy 0.60 after 1.00), a curve that depended on the machine.
        seed: Seed of the initialisation and of the data.

    Returns:
        The trained model and its curves.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices: threads cost more than they bring; deterministic
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(seed)
        model = Transformer(CONFIG)
        # foreach: the same update in a few batched kernels instead of a Python loop over the
        # parameters (a fifth of this run's time; the curves are unchanged)
        opt = torch.optim.Adam(
            model.parameters(), lr=RATE_SCALE, betas=(0.9, 0.98), eps=1e-9, foreach=True
        )
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda i: rate(i + 1, CONFIG.d_model, warmup)
        )
        loss_fn = nn.CrossEntropyLoss(ignore_index=CONFIG.pad_id, label_smoothing=0.1)
        eval_src, eval_tgt = reverse_batch(256, gen)
        losses, eval_steps, accuracies = [], [0], [token_accuracy(model, eval_src, eval_tgt)]
        for step in range(1, steps + 1):
            model.train()
            src, tgt = reverse_batch(batch_size, gen)
            logits = model(src, tgt[:, :-1])  # teacher forcing: input BOS + y, predict y + EOS
            loss = loss_fn(logits.flatten(0, 1), tgt[:, 1:].flatten())
            opt.zero_grad()
            loss.backward()
            # not in the paper: without clipping (and at the full Eq. (3) rate) this tiny run
            # diverged for a step on some CPUs (accuracy 0.87 at step 250 after 0.99 on AVX-512)
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            losses.append(loss.item())
            if step % 25 == 0:
                eval_steps.append(step)
                accuracies.append(token_accuracy(model, eval_src, eval_tgt))
        model.eval()
        return ReverseRun(
            model,
            losses,
            eval_steps,
            accuracies,
            time.process_time() - cpu,
            time.perf_counter() - wall,
        )
    finally:
        torch.set_num_threads(threads)


def draw_training():
    """反转序列任务：训练损失与贪心解码的词元准确率（单个 CPU 线程，250 步）."""
    run = train_reverse_task()
    fig = style.new_figure(7.0, 3.0)
    ax_loss, ax_acc = fig.subplots(1, 2)
    ax_loss.plot(range(1, len(run.losses) + 1), run.losses, color=style.PALETTE[0], lw=1)
    ax_loss.set_xlabel("训练步数")
    ax_loss.set_ylabel("交叉熵（标签平滑 0.1）")
    ax_loss.set_title("训练损失")
    ax_loss.grid(True)
    ax_acc.plot(
        run.eval_steps, [100 * a for a in run.accuracies], "o-", ms=3, color=style.PALETTE[1]
    )
    ax_acc.axhline(95, color=style.FG, lw=0.8, ls="--")
    ax_acc.text(run.eval_steps[-1], 93, "95%", ha="right", va="top", color=style.FG)
    ax_acc.set_ylim(0, 102)
    ax_acc.set_xlabel("训练步数")
    ax_acc.set_ylabel("词元准确率 (%)")
    ax_acc.set_title("贪心解码准确率（256 条留出序列）")
    ax_acc.grid(True)
    return fig


def cross_attention_weights(model: Transformer, src: torch.Tensor) -> torch.Tensor:
    """Cross-attention weights of the last decoder layer, averaged over heads, for one source.

    Args:
        model: The trained model.
        src: Source ids (S,).

    Returns:
        (T, S): output step t (the greedy output fed back) against source position s.
    """
    out = greedy_decode(model, src[None], max_len=src.shape[0] + 1)
    tgt = torch.cat([torch.tensor([[CONFIG.bos_id]]), out[:, :-1]], dim=1)  # (1, T)
    captured = {}
    attn = model.decoder.layers[-1].cross_attn

    def hook(module, args, kwargs, output):  # the layer's inputs: y and the encoder memory
        captured["y"], captured["memory"] = args[0], args[1]
        captured["mask"] = kwargs["mask"]

    handle = attn.register_forward_hook(hook, with_kwargs=True)
    with torch.no_grad():
        model(src[None], tgt)
        handle.remove()
        q = attn.split_heads(attn.q_proj(captured["y"]))  # (1, h, T, d)
        k = attn.split_heads(attn.k_proj(captured["memory"]))  # (1, h, S, d)
        weights = attn.attention.weights(q, k, captured["mask"])  # (1, h, T, S)
    return weights[0].mean(0)


def draw_cross_attention():
    """训练后最后一个解码器层的交叉注意力：输出第 t 个词时看源序列的倒数第 t 个位置."""
    run = train_reverse_task()
    gen = torch.Generator().manual_seed(1)
    src, _ = reverse_batch(1, gen)
    weights = cross_attention_weights(run.model, src[0])
    out = greedy_decode(run.model, src, max_len=LENGTH + 1)[0]
    names = [str(t - 3) for t in src[0].tolist()]
    out_names = ["EOS" if t == CONFIG.eos_id else str(t - 3) for t in out.tolist()]
    fig = style.new_figure(4.2, 3.8)
    ax = fig.subplots()
    im = ax.imshow(weights.numpy(), cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(names)), names)
    ax.set_yticks(range(len(out_names)), out_names)
    ax.set_xlabel("源序列（编码器输出，键/值）")
    ax.set_ylabel("解码器输出（查询）")
    ax.set_title("最后一层交叉注意力（各头平均）")
    cbar = fig.colorbar(im, ax=ax, shrink=0.8)
    cbar.outline.set_edgecolor(style.FG)
    return fig


def draw_lr_schedule():
    """式 (3) 的学习率：线性预热 4000 步，之后按步数平方根的倒数衰减."""
    fig = style.new_figure(6.0, 2.8)
    ax = fig.subplots()
    steps = range(1, 100_001, 100)
    for d_model, color, label in ((512, style.PALETTE[0], "base"), (1024, style.PALETTE[1], "big")):
        values = [rate(s, d_model, 4000) * 1e3 for s in steps]
        ax.plot(list(steps), values, color=color, label=f"{label}（$d_{{model}}$={d_model}）")
    ax.axvline(4000, color=style.FG, lw=0.8, ls="--")
    ax.text(4600, 0.1, "warmup_steps = 4000", color=style.FG)
    ax.set_xlabel("训练步数")
    ax.set_ylabel("学习率 (×10⁻³)")
    ax.set_title("式 (3)：线性预热，然后按步数平方根倒数衰减")
    ax.grid(True)
    ax.legend()
    return fig


FIGURES = {
    "transformer-reverse-training": draw_training,
    "transformer-reverse-cross-attention": draw_cross_attention,
    "transformer-lr-schedule": draw_lr_schedule,
}
