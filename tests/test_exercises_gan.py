"""The GAN page's exercises: computed answers against hand formulas, the solution's effect."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from reference_impl import gan
from reference_impl.exercises.gan import classifier_two_sample_test
from tools.generator import exercises as ex

ANSWERS = {e.id: e for e in ex.load("gan")}


def value(exercise_id: str) -> float:
    return ANSWERS[exercise_id].computed.value


def test_value_at_optimum_agrees_with_theorem_1():
    p_data = torch.tensor([0.5, 0.5, 0.0], dtype=torch.float64)
    p_g = torch.tensor([0.0, 0.5, 0.5], dtype=torch.float64)
    jsd = gan.js_divergence(p_data, p_g).item()
    assert jsd == pytest.approx(0.5 * math.log(2))
    assert value("gan-value-at-optimum") == pytest.approx(-math.log(4) + 2 * jsd)
    assert value("gan-value-at-optimum") == pytest.approx(-math.log(2))
    assert round(-math.log(2), 3) == -0.693 and round(-math.log(4), 3) == -1.386
    disjoint = gan.js_divergence(p_data, torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64))
    assert -math.log(4) + 2 * disjoint.item() == pytest.approx(0.0)  # "完全不重叠时 C = 0"


def test_saturation_ratio():
    d = 0.01
    assert value("gan-saturation") == pytest.approx((1 - d) / d)  # 99
    logit = torch.tensor([0.0], requires_grad=True)  # D = 1/2: the two gradients are equal
    (g1,) = torch.autograd.grad(gan.generator_loss_minimax(logit), logit)
    (g2,) = torch.autograd.grad(gan.generator_loss_nonsaturating(logit), logit)
    torch.testing.assert_close(g1, g2)


def test_dcgan_32():
    widths = [512, 256, 128, 3]  # 4×4, 8×8, 16×16, 32×32
    project = 100 * widths[0] * 4 * 4 + 2 * widths[0]
    ups = sum(a * b * 5 * 5 for a, b in itertools.pairwise(widths))
    norms = sum(2 * c for c in widths[1:-1])  # no BatchNorm after the output layer
    assert value("gan-dcgan-32") == project + ups + norms
    assert round(value("gan-dcgan-32") / 1e4) == 493  # "约 493 万"
    assert 0.25 < value("gan-dcgan-32") / 18_855_040 < 0.3  # "四分之一略多"


def _samples() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    n = 1000
    x = torch.randn(n, 2, generator=g)
    same = torch.randn(n, 2, generator=g)
    shifted = torch.randn(n, 2, generator=g) + torch.tensor([1.0, 0.0])
    wider = 1.5 * torch.randn(n, 2, generator=g)
    return {"x": x, "same": same, "shifted": shifted, "wider": wider}


def test_the_discriminator_tells_distributions_apart():
    s = _samples()
    accuracy, p = classifier_two_sample_test(s["x"], s["same"])
    assert round(accuracy, 2) == 0.50 and p > 0.05  # (a): not rejected
    accuracy, p = classifier_two_sample_test(s["x"], s["shifted"])
    assert round(accuracy, 2) == 0.68 and p < 1e-3  # (b)
    assert round(0.5 * math.erfc(-0.5 / math.sqrt(2)), 2) == 0.69  # Φ(1/2), the Bayes accuracy
    accuracy, p = classifier_two_sample_test(s["x"], s["wider"])
    assert round(accuracy, 2) == 0.61 and p < 1e-3  # (c)


def test_a_t_test_misses_a_change_of_spread():
    s = _samples()
    x, y = s["x"], s["wider"]
    t = (x.mean(0) - y.mean(0)) / (x.var(0) / len(x) + y.var(0) / len(y)).sqrt()  # Welch
    assert t.abs().max() < 2  # the means look alike: no rejection at the 5% level
