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
