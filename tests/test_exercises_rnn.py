"""The RNN page's exercises: computed answers against hand formulas, the solution's effect."""

from __future__ import annotations

import math

import pytest
import torch

from reference_impl import rnn
from reference_impl.exercises.rnn import GRUCell, params_ratio
from tools.generator import exercises as ex

ANSWERS = {e.id: e for e in ex.load("rnn")}


def value(exercise_id: str) -> float:
    return ANSWERS[exercise_id].computed.value


def lstm_layer(c: int, h: int) -> int:
    return 4 * h * (c + h) + 8 * h  # four gate blocks, two bias vectors


def test_bidirectional_params():
    first, second = 2 * lstm_layer(300, 512), 2 * lstm_layer(2 * 512, 512)
    assert value("rnn-bidirectional-params") == first + second
    assert round(second / first, 1) == 1.9  # "约是第一层的 1.9 倍"


def test_spectral_radius_is_near_the_circular_law():
    bound = 1 / math.sqrt(512)
    sigma = bound / math.sqrt(3)  # the standard deviation of U(−a, a)
    assert math.isclose(sigma * math.sqrt(512), math.sqrt(1 / 3))
    assert abs(value("rnn-spectral-radius") - math.sqrt(1 / 3)) < 0.02
    assert round(value("rnn-spectral-radius"), 2) == 0.58  # "约 0.58"
    assert 1e-13 < 0.58**50 < 1e-11  # "50 步后约 10^{-12}"


def test_forget_gate_product():
    sigma5 = 1 / (1 + math.exp(-5))
    assert value("rnn-forget-gate-product") == pytest.approx(sigma5**150, rel=1e-12)
    assert round(sigma5, 4) == 0.9933 and round(sigma5**150, 3) == 0.365
    assert round(0.5**150 / 1e-46) == 7  # "2^{-150} ≈ 7×10^{-46}"


def test_gru_has_three_quarters_of_the_lstm_parameters():
    C, H = 10, 16
    gru = sum(p.numel() for p in GRUCell(C, H).parameters())
    assert gru == 3 * H * (C + H) + 6 * H
    assert params_ratio(C, H) == 0.75


def test_gru_follows_the_page_equations():
    torch.manual_seed(0)
    cell = GRUCell(3, 4)
    x, h = torch.randn(2, 3), torch.randn(2, 4)
    (w_r, w_z, w), (u_r, u_z, u) = cell.weight_ih.split(4), cell.weight_hh.split(4)
    (bi_r, bi_z, bi), (bh_r, bh_z, bh) = cell.bias_ih.split(4), cell.bias_hh.split(4)
    r = torch.sigmoid(x @ w_r.T + bi_r + h @ u_r.T + bh_r)
    z = torch.sigmoid(x @ w_z.T + bi_z + h @ u_z.T + bh_z)
    candidate = torch.tanh(x @ w.T + bi + (r * h) @ u.T + bh)
    torch.testing.assert_close(cell(x, h), z * h + (1 - z) * candidate)


def test_a_closed_update_gate_copies_the_state():
    torch.manual_seed(0)
    cell = GRUCell(3, 8)
    with torch.no_grad():
        cell.bias_ih[8:16] = 50.0  # z = σ(50) = 1 in floating point
    h0 = torch.randn(1, 8)
    h = h0
    for _ in range(20):
        h = cell(torch.randn(1, 3) * 10, h)  # whatever the input
    assert torch.equal(h, h0)


def _carried(cell: torch.nn.Module, steps: int = 50) -> float:
    """‖∂(u·h_T)/∂h_0‖ over random inputs (float64)."""
    torch.manual_seed(1)
    h0 = torch.zeros(1, 64, dtype=torch.float64, requires_grad=True)
    u = torch.randn(64, dtype=torch.float64)
    h = h0
    for _ in range(steps):
        h = cell(torch.randn(1, 4, dtype=torch.float64), h)
    (h[0] @ (u / u.norm())).backward()
    return h0.grad.norm().item()


def test_an_open_update_gate_carries_the_gradient():
    torch.manual_seed(0)
    gru = GRUCell(4, 64).double()
    with torch.no_grad():
        gru.bias_ih[64:128] = 5.0  # update gate z ≈ σ(5) ≈ 0.993
    elman = rnn.RNNCell(4, 64).double()
    carried_gru, carried_elman = _carried(gru), _carried(elman)
    assert carried_gru > 0.1 and round(carried_gru, 1) == 0.7  # "约 0.7"
    assert 1e-13 < carried_elman < 1e-11  # "10^{-12} 量级"
