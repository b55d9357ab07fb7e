"""MAC counts pinned to their analytic formulas, and never taken off the meta device."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from reference_impl.transformer import MultiHeadAttention
from tools.generator.tables import count_macs, measure

META = torch.device("meta")


def test_convolution_macs_are_the_analytic_formula() -> None:
    with META:
        conv = nn.Conv2d(64, 128, kernel_size=3, stride=2, padding=1)
        x = torch.empty(1, 64, 56, 56)
    macs, _ = count_macs(conv, (x,))
    # one MAC per output position × output channel × input channel × kernel tap
    assert macs == 128 * 28 * 28 * 64 * 3 * 3 == 57_802_752


@pytest.mark.parametrize("module", ["ours", "torch"])
def test_attention_block_macs_are_the_analytic_formula(module: str) -> None:
    T, D, h = 10, 512, 8
    with META:
        if module == "ours":
            attn = MultiHeadAttention(D, h)
            run = lambda x: attn(x)  # noqa: E731
        else:
            attn = nn.MultiheadAttention(D, h, batch_first=True).eval()
            run = lambda x: attn(x, x, x)  # noqa: E731
        x = torch.empty(1, T, D)
    wrapper = nn.Module()
    wrapper.forward = run  # count_macs only calls it
    wrapper.attn = attn
    macs, _ = count_macs(wrapper, (x,))
    # Q, K, V and output projections: 4·T·D²; QKᵀ and A·V: 2·T²·D (every head together)
    assert macs == 4 * T * D * D + 2 * T * T * D == 10_588_160


def test_counting_off_the_meta_device_is_refused() -> None:
    conv, x = nn.Conv2d(3, 8, 3), torch.randn(1, 3, 8, 8)
    with pytest.raises(ValueError, match="meta device"):
        count_macs(conv, (x,))


def test_measure_moves_a_cpu_model_to_meta() -> None:
    # on the CPU, in eval mode under no_grad, this layer takes a fused fast path whose
    # attention FlopCounterMode counts as 0; measure() counts a meta copy instead
    D, T = 64, 6
    layer = nn.TransformerEncoderLayer(D, 4, 128, batch_first=True).eval()
    stats = measure(layer, (torch.randn(1, T, D),))
    assert stats.macs == 4 * T * D * D + 2 * T * T * D + 2 * T * D * 128
    assert next(layer.parameters()).device.type == "cpu"  # the caller's model is untouched
