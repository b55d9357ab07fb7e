"""The contrastive page's exercises: computed answers against hand formulas, the solutions."""

from __future__ import annotations

import math

import pytest
import torch

from reference_impl import contrastive
from reference_impl.exercises.contrastive import negative_weights, nt_xent_via_info_nce
from tools.generator import exercises as ex
from tools.generator.exercises.contrastive import _oldest_key_weight

ANSWERS = {e.id: e for e in ex.load("contrastive")}


def value(exercise_id: str) -> float:
    return ANSWERS[exercise_id].computed.value


def test_oldest_key():
    K, B, m = 65536, 256, 0.999
    assert K // B == 256
    assert value("contrastive-oldest-key") == pytest.approx(m ** (K // B), abs=1e-5)
    assert round(m**256, 3) == 0.774 and m**256 > 3 / 4  # "四分之三以上"
    assert f"{0.9**256:.0e}" == "2e-12"  # "0.9^{256} ≈ 2×10^{-12}"
    assert (round(0.999**16, 3), round(0.9**16, 3)) == (0.984, 0.185)  # K = 4096: 16 steps


def test_oldest_key_follows_the_queue():
    # a small queue: 8 batches of 32 keys stay 8 steps, as in the page's training figure
    steps, weight = _oldest_key_weight(K=256, B=32, m=0.99)
    assert steps == 8 and weight == pytest.approx(0.99**8, abs=1e-6)


def test_queue_macs():
    assert value("contrastive-queue-macs") == 256 * 65536 * 128
    assert round(value("contrastive-queue-macs") / 1e8) == 21  # "约 21 亿"
    with torch.device("meta"):
        resnet50 = ex.count_macs(
            contrastive.ResNetTrunk(contrastive.ContrastiveConfig()), torch.empty(1, 3, 224, 224)
        )
    assert round(resnet50 / 1e8) == 41  # "约 41 亿次乘加"
    assert round(value("contrastive-queue-macs") / resnet50, 1) == 0.5  # "半张图"
    assert 2 * (4096 - 1) == 8190 and 2 * 4096 == 8192  # SimCLR's negatives and views


def test_nt_xent_is_info_nce_with_in_batch_negatives():
    torch.manual_seed(0)
    z1, z2 = torch.randn(6, 16), torch.randn(6, 16)
    for tau in (0.1, 0.5):
        torch.testing.assert_close(
            nt_xent_via_info_nce(z1, z2, tau), contrastive.nt_xent_loss(z1, z2, tau)
        )


def test_low_temperature_focuses_on_the_hardest_negative():
    # unit vectors with the question's cosines: positive 0.6, negatives 0.5, 0.3, 0
    def unit(cos: float) -> torch.Tensor:
        return torch.tensor([cos, math.sqrt(1 - cos**2)], dtype=torch.float64)

    q = torch.tensor([1.0, 0.0], dtype=torch.float64)
    k_pos, k_neg = unit(0.6), torch.stack([unit(0.5), unit(0.3), unit(0.0)])
    shares = {}
    for tau in (1.0, 0.2, 0.07):
        w = negative_weights(q, k_pos, k_neg, tau)
        logits = torch.tensor([0.6, 0.5, 0.3, 0.0], dtype=torch.float64) / tau
        torch.testing.assert_close(w, logits.softmax(0)[1:] / tau)  # p_i / τ
        shares[tau] = float(w[0] / w.sum())
        hand = math.exp(0.5 / tau) / sum(math.exp(s / tau) for s in (0.5, 0.3, 0.0))
        assert shares[tau] == pytest.approx(hand)  # independent of the positive
    assert [round(100 * s) for s in shares.values()] == [41, 69, 94]  # the answer's numbers
