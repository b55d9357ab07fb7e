"""The ResNet page's exercises: computed answers against hand formulas, the solution's effect."""

from __future__ import annotations

import pytest
import torch

from reference_impl.exercises.resnet import PreActBasicBlock
from reference_impl.resnet import BasicBlock
from tools.generator import exercises as ex

ANSWERS = {e.id: e for e in ex.load("resnet")}


def value(exercise_id: str) -> float:
    return ANSWERS[exercise_id].computed.value


def conv(c_in: int, c_out: int, k: int = 1) -> int:
    return c_in * c_out * k * k


def bn(c: int) -> int:
    return 2 * c  # γ and β; running mean and variance are buffers


def test_bottleneck_params():
    assert value("resnet-bottleneck-params") == (
        conv(256, 64) + conv(64, 64, 3) + conv(64, 256) + bn(64) + bn(64) + bn(256)
    )
    assert conv(256, 64) + conv(64, 64, 3) + conv(64, 256) == 69_632  # the number in the answer


def test_projection_params():
    pairs = [(64, 128), (128, 256), (256, 512)]
    assert value("resnet-projection-params") == sum(conv(a, b) + bn(b) for a, b in pairs)


def test_v15_extra_macs():
    # the first 1×1 of conv3_1, conv4_1, conv5_1 at twice the output side: 4× the MACs
    per_block = [conv(256, 128) * 28 * 28, conv(512, 256) * 14 * 14, conv(1024, 512) * 7 * 7]
    assert value("resnet-v15-macs") == sum(3 * m for m in per_block)
    assert {3 * m for m in per_block} == {77_070_336}  # "三处各多出 77,070,336 次"


def test_preact_block_keeps_the_parameter_count_and_changes_the_output():
    torch.manual_seed(0)
    plain, pre = BasicBlock(64, 64).eval(), PreActBasicBlock(64, 64).eval()
    assert ex.n_params(plain) == ex.n_params(pre)
    pre.load_state_dict(plain.state_dict())  # same names and shapes: same weights
    x = torch.randn(2, 64, 8, 8)
    assert not torch.allclose(plain(x), pre(x))


def test_preact_block_is_an_identity_for_any_input():
    torch.manual_seed(0)
    plain, pre = BasicBlock(16, 16).eval(), PreActBasicBlock(16, 16).eval()
    torch.nn.init.zeros_(plain.bn2.weight)  # the original block's branch ends in bn2
    torch.nn.init.zeros_(plain.bn2.bias)
    torch.nn.init.zeros_(pre.conv2.weight)  # the pre-activation branch ends in conv2
    x = torch.randn(2, 16, 8, 8)  # half of the entries negative
    assert torch.equal(pre(x), x)
    assert torch.equal(plain(x), x.relu()) and not torch.equal(plain(x), x)
    assert torch.equal(plain(x.abs()), x.abs())  # the original: identity only where x ≥ 0


@pytest.mark.parametrize("stride", [1, 2])
def test_preact_block_shapes(stride):
    out = PreActBasicBlock(16, 32, stride)(torch.randn(1, 16, 8, 8))
    assert out.shape == (1, 32, 8 // stride, 8 // stride)
