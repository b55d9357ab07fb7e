"""Numbers that the prose of a page reads off a model or a generated figure.

Each test measures the number from the reference module (or with the figure's own code) and
checks that the page states exactly that value, so the prose cannot drift from the model.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

ROOT = Path(__file__).resolve().parents[1]


def page(slug: str) -> str:
    return (ROOT / "docs" / "papers" / f"{slug}.md").read_text(encoding="utf-8")


def test_vgg16_macs_per_stage_match_the_page():
    """VGG page: the MACs of each stage, of each kind of conv, and the share of stages 3–4."""
    from reference_impl.vgg import vgg16

    with torch.device("meta"):
        model = vgg16().eval()
        x = torch.empty(1, 3, 224, 224)
        per_stage, per_conv = [], {}
        for stage in model.features:
            with FlopCounterMode(display=False) as counter:
                y = stage(x)
            per_stage.append(counter.get_total_flops() / 2)  # FLOPs = 2 × MACs
            for name, conv in stage.named_children():
                if isinstance(conv, torch.nn.Conv2d):
                    h = y.shape[-1] * 2  # convs keep the size, the stage's pooling halves it
                    per_conv[name] = h * h * conv.in_channels * conv.out_channels * 9
            x = y
    text = page("vgg")
    stages = " / ".join(f"{m / 1e9:.2f}" for m in per_stage)
    assert stages == "1.94 / 2.77 / 4.62 / 4.62 / 1.39"
    assert f"{stages} G" in text
    share = (per_stage[2] + per_stage[3]) / sum(per_stage)
    assert f"合占约 {share:.0%}" in text
    # every conv of stages 1–4 but the first of a stage costs the same; the first costs half
    full = {per_conv[n] for n in per_conv if n[4] in "1234" and not n.endswith("_1")}
    assert len(full) == 1
    assert f"每层 {full.pop() / 1e9:.2f} G" in text
    halves = {per_conv[f"conv{i}_1"] for i in (2, 3, 4)}
    assert len(halves) == 1
    half = halves.pop()
    assert f"只有一半（{half / 1e9:.2f} G）" in text
    assert f"1/4（{per_conv['conv5_1'] / 1e9:.2f} G）" in text


def test_resnet_gradient_spread_matches_the_page_and_the_figure():
    """ResNet page: "第 2 层是第 33 层的 N 倍", measured with the figure's own code."""
    from reference_impl.resnet import plain34, resnet34
    from tools.generator.figures.resnet import _measure

    text = page("resnet")
    for constructor in (plain34, resnet34):
        rel = _measure(constructor)["rel"]
        spread = rel[1] / rel[-1]  # the figure prints f"{spread:.0f}"
        assert f"约 {spread:.0f} 倍" in text or f"约是最后一个卷积层的 {spread:.0f} 倍" in text


def test_training_figure_setups_match_the_pages():
    """Step counts and batch sizes that the prose quotes are those the figures train with."""
    from tools.generator.figures import contrastive, gan, rnn, transformer

    steps = transformer.train_reverse_task.__wrapped__.__defaults__[0]
    assert f"每步随机生成 64 条新序列，共 {steps} 步" in page("transformer")
    assert f"（单个 CPU 线程，{steps} 步）" in transformer.draw_training.__doc__
    assert f"64 条序列上训练 {rnn.STEPS} 步" in page("rnn") and rnn.BATCH == 64
    assert f"批量大小 {gan.BATCH}）交替训练 {gan.STEPS} 步" in page("gan")
    text = page("contrastive")
    assert f"训练 {contrastive._STEPS} 步后" in text
    assert f"批量大小 {contrastive._BATCH}）" in text
    assert f"（缩放到 {contrastive._VIEW}×{contrastive._VIEW}）" in text
    assert f"$2\\times{contrastive._BATCH}-1={2 * contrastive._BATCH - 1}$" in text


def test_gpt_page_counts_and_training_setup():
    """GPT page: the counts it quotes are the models', the training setup the figure's."""
    from reference_impl import gpt
    from tools.generator.figures import gpt as fig

    text = page("gpt")
    with torch.device("meta"):
        counts = {
            name: sum(p.numel() for p in getattr(gpt, name)().parameters())
            for name in ("gpt1", "gpt2_small", "gpt2_medium", "gpt2_large", "gpt2_xl", "gpt3_175b")
        }
    for name, count in counts.items():
        assert f"{count:,}" in text, name
    with torch.device("meta"):
        medium = sum(p.numel() for p in gpt.gpt3_medium().parameters())
    assert f"Medium 计数 {medium / 1e8:.3f} 亿" in text
    for name, d_model in (
        ("gpt2_small", 768),
        ("gpt2_medium", 1024),
        ("gpt2_large", 1280),
        ("gpt2_xl", 1600),
    ):
        assert f"| {counts[name] - 9779 * d_model:,} |" in text, name
    lines = fig.CORPUS.read_text(encoding="utf-8").splitlines()
    assert f"{sum(1 for line in lines if line.strip())} 句话" in text
    t = fig.TRAINING
    assert f"共 {t.steps} 步，每步 {t.batch_size} 段、每段 {t.context} 个字" in text
    model = fig.tiny_gpt(len(fig.corpus().chars))
    assert (model.config.n_layers, model.config.d_model) == (2, 64)
    assert "两层、宽 64 的 GPT-2 式小模型" in text


def test_gpt_page_describes_what_its_figures_measured():
    """The GPT page's reading of the training and sampling figures, checked on the same run."""
    from tools.generator.figures import gpt as fig

    text = page("gpt")
    run = fig.trained_gpt()
    held, best = run.held_out, min(run.held_out)
    at_best = run.eval_steps[held.index(best)]
    # "训练损失一直在降；留出句子上的损失降到远低于“只看字频”的基线之后就不再下降"
    assert "训练损失一直在降；留出句子上的损失降到远低于“只看字频”的基线之后就不再下降" in text
    assert best < fig.unigram_loss(fig.corpus()) - 2.0
    assert held[-1] > best and at_best < run.eval_steps[-1]
    assert sum(run.losses[-25:]) / 25 < sum(run.losses[at_best - 25 : at_best]) / 25 - 0.1
    stats = {label: fig.sample_stats(t, k) for label, t, k in fig.SETTINGS}
    greedy, *by_temperature = (stats[label] for label, _, k in fig.SETTINGS if k is None)
    # "贪心解码每次都给出同一句训练句子"
    assert "贪心解码每次都给出同一句训练句子" in text
    assert len(greedy.examples) == 1 and greedy.copied == 1.0
    # "温度越高，照搬训练句子的比例越低，从未见过的字对越多"
    assert "温度越高，照搬训练句子的比例越低，从未见过的字对越多" in text
    copied = [greedy.copied] + [s.copied for s in by_temperature]
    unseen = [greedy.unseen_pairs] + [s.unseen_pairs for s in by_temperature]
    assert copied == sorted(copied, reverse=True) and unseen == sorted(unseen)
    # "加上 top-k = 3 之后，从未见过的字对比不截断时少得多"
    assert "加上 top-k = 3 之后，从未见过的字对比不截断时少得多" in text
    hot, cut = stats["T = 1.5"], stats["T = 1.5，top-k = 3"]
    assert cut.unseen_pairs < hot.unseen_pairs / 4 and cut.copied > hot.copied
