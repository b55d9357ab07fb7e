"""The attention page's exercises: computed answers against hand formulas, the solution's effect."""

from __future__ import annotations

import torch

from reference_impl import attention
from reference_impl.exercises.attention import UnscaledDotProductAttention, without_scaling
from tools.generator import exercises as ex

ANSWERS = {e.id: e for e in ex.load("attention")}


def value(exercise_id: str) -> float:
    return ANSWERS[exercise_id].computed.value


def test_large_params_do_not_depend_on_the_heads():
    D = 1024
    assert value("attention-large-params") == 4 * (D * D + D)
    with torch.device("meta"):
        for h in (1, 64):
            assert ex.n_params(attention.MultiHeadAttention(D, h)) == 4 * (D * D + D)


def test_weights_memory():
    h, T = 8, 4096
    assert value("attention-weights-memory") == h * T * T * 4
    assert value("attention-weights-memory") == 512 * 2**20  # "512 MiB"
    assert h * 512 * 512 * 4 == 8 * 2**20  # "T = 512 时只要 8 MiB"


def test_cross_attention_macs():
    T, S, D = 10, 1000, 512
    projections_kv = 2 * S * D * D
    total = 2 * T * D * D + projections_kv + 2 * T * S * D
    assert value("attention-cross-attention-macs") == total
    assert round(100 * projections_kv / total) == 97  # "约 97%"


def _weights(unscaled: bool) -> torch.Tensor:
    torch.manual_seed(0)
    q, k = torch.randn(4, 1, 64, 512), torch.randn(4, 1, 64, 512)  # d_k = 512, N(0, 1) entries
    sdpa = UnscaledDotProductAttention() if unscaled else attention.ScaledDotProductAttention()
    return sdpa.weights(q, k), q @ k.transpose(-2, -1)


def test_without_scaling_the_softmax_saturates():
    scaled, dots = _weights(unscaled=False)
    unscaled, _ = _weights(unscaled=True)
    # (a) the variance of q·k is d_k; dividing by √d_k brings it back to 1
    assert 400 < dots.var().item() < 620
    assert 0.8 < (dots / 512**0.5).var().item() < 1.2
    # (b) nearly one-hot rows: none when scaled, more than half when not
    assert (scaled.amax(-1) > 0.99).float().mean() == 0
    assert (unscaled.amax(-1) > 0.99).float().mean() > 0.5

    # (c) the softmax's Jacobian diag(p) − ppᵀ nearly vanishes: tens of times smaller
    def jacobian_norm(p: torch.Tensor) -> torch.Tensor:
        jac = torch.diag_embed(p) - p.unsqueeze(-1) * p.unsqueeze(-2)  # (…, S, S) per row
        return jac.norm(dim=(-2, -1)).median()

    assert 20 < jacobian_norm(scaled) / jacobian_norm(unscaled) < 100  # "小几十倍"


def test_unscaled_attention_in_a_layer_still_masks_and_sums_to_one():
    torch.manual_seed(0)
    mha = without_scaling(attention.MultiHeadAttention(16, 4))
    assert isinstance(mha.attention, UnscaledDotProductAttention)
    x = torch.randn(2, 5, 16)
    out = mha(x, mask=attention.causal_mask(5))
    changed = x.clone()
    changed[:, 3:] += 1.0  # change the future of position 2
    torch.testing.assert_close(mha(changed, mask=attention.causal_mask(5))[:, :3], out[:, :3])
    q = k = torch.randn(1, 1, 5, 4)
    rows = mha.attention.weights(q, k, attention.causal_mask(5)).sum(-1)
    torch.testing.assert_close(rows, torch.ones_like(rows))
