"""Tests of reference_impl/attention.py: Eq. (1), multi-head attention, masks, positions."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from reference_impl.attention import (
    AttentionConfig,
    MultiHeadAttention,
    ScaledDotProductAttention,
    SinusoidalPositionalEncoding,
    causal_mask,
    multi_head_attention,
    padding_mask,
    sinusoidal_table,
)


def load_from_torch(ours: MultiHeadAttention, ref: nn.MultiheadAttention) -> None:
    """Copy nn.MultiheadAttention's weights: in_proj_weight is [W^Q; W^K; W^V] stacked on dim 0."""
    w_q, w_k, w_v = ref.in_proj_weight.chunk(3)
    b_q, b_k, b_v = ref.in_proj_bias.chunk(3)
    with torch.no_grad():
        for proj, w, b in (
            (ours.q_proj, w_q, b_q),
            (ours.k_proj, w_k, b_k),
            (ours.v_proj, w_v, b_v),
        ):
            proj.weight.copy_(w)
            proj.bias.copy_(b)
        ours.out_proj.weight.copy_(ref.out_proj.weight)
        ours.out_proj.bias.copy_(ref.out_proj.bias)


@pytest.fixture
def pair() -> tuple[MultiHeadAttention, nn.MultiheadAttention]:
    torch.manual_seed(0)
    ref = nn.MultiheadAttention(32, 4, batch_first=True).eval()
    nn.init.normal_(ref.in_proj_bias)  # torch initialises the biases to 0: make them count
    nn.init.normal_(ref.out_proj.bias)
    ours = MultiHeadAttention(32, 4).eval()
    load_from_torch(ours, ref)
    return ours, ref


def test_parameter_count_on_meta() -> None:
    with torch.device("meta"):
        model = multi_head_attention()
    assert sum(p.numel() for p in model.parameters()) == 4 * (512 * 512 + 512) == 1_050_624


def test_sdpa_equals_torch() -> None:
    torch.manual_seed(0)
    q, k, v = torch.randn(2, 4, 5, 8), torch.randn(2, 4, 7, 8), torch.randn(2, 4, 7, 8)
    sdpa = ScaledDotProductAttention()
    torch.testing.assert_close(sdpa(q, k, v), F.scaled_dot_product_attention(q, k, v))
    is_token = torch.rand(2, 7) > 0.3
    is_token[:, 0] = True
    for mask in (padding_mask(is_token), causal_mask(7)[:5]):
        expected = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        torch.testing.assert_close(sdpa(q, k, v, mask), expected)


def test_fully_masked_query_gives_zeros_like_torch() -> None:
    q, k, v = torch.randn(1, 1, 3, 4), torch.randn(1, 1, 3, 4), torch.randn(1, 1, 3, 4)
    mask = torch.tensor([[False, False, False], [True, False, False], [True, True, True]])
    out = ScaledDotProductAttention()(q, k, v, mask)
    assert torch.isfinite(out).all() and (out[0, 0, 0] == 0).all()
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=mask))


def test_weights_are_a_distribution_and_scaled() -> None:
    torch.manual_seed(0)
    q, k = torch.randn(1, 1, 4, 16), torch.randn(1, 1, 6, 16)
    w = ScaledDotProductAttention().weights(q, k)
    torch.testing.assert_close(w.sum(-1), torch.ones(1, 1, 4))
    torch.testing.assert_close(w, torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(16), -1))


def test_self_attention_equals_nn_multihead_attention(pair) -> None:
    ours, ref = pair
    x = torch.randn(3, 6, 32)
    expected, _ = ref(x, x, x, need_weights=False)
    torch.testing.assert_close(ours(x), expected, atol=1e-5, rtol=1e-5)


def test_cross_attention_and_masks_equal_nn_multihead_attention(pair) -> None:
    ours, ref = pair
    x, memory = torch.randn(3, 6, 32), torch.randn(3, 9, 32)
    is_token = torch.ones(3, 9, dtype=torch.bool)
    is_token[1, 5:] = False
    is_token[2, 2:] = False
    # torch's key_padding_mask is True for padding: the opposite convention
    expected, _ = ref(x, memory, memory, key_padding_mask=~is_token, need_weights=False)
    out = ours(x, memory, mask=padding_mask(is_token))
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)
    causal = causal_mask(6)
    expected, _ = ref(x, x, x, attn_mask=~causal, need_weights=False)
    torch.testing.assert_close(ours(x, mask=causal), expected, atol=1e-5, rtol=1e-5)


def test_causal_mask_hides_the_future(pair) -> None:
    ours, _ = pair
    x = torch.randn(2, 8, 32)
    y = x.clone()
    y[:, 5:] = torch.randn(2, 3, 32)  # change tokens 5, 6, 7
    out_x, out_y = ours(x, mask=causal_mask(8)), ours(y, mask=causal_mask(8))
    torch.testing.assert_close(out_x[:, :5], out_y[:, :5])  # positions 0…4 cannot see them
    assert not torch.allclose(out_x[:, 5:], out_y[:, 5:])
    # without the mask every position sees the change
    assert not torch.allclose(ours(x)[:, :5], ours(y)[:, :5])


def test_padding_keys_get_zero_weight(pair) -> None:
    ours, _ = pair
    x = torch.randn(2, 7, 32)
    is_token = torch.ones(2, 7, dtype=torch.bool)
    is_token[0, 4:] = False
    mask = padding_mask(is_token)
    q, k = ours.split_heads(ours.q_proj(x)), ours.split_heads(ours.k_proj(x))
    w = ours.attention.weights(q, k, mask)  # (B, h, T, S)
    assert (w[0, :, :, 4:] == 0).all()
    torch.testing.assert_close(w.sum(-1), torch.ones(2, 4, 7))
    # so the padded tokens' content cannot leak into the real positions
    y = x.clone()
    y[0, 4:] = 100 * torch.randn(3, 32)
    torch.testing.assert_close(ours(x, mask=mask)[0, :4], ours(y, mask=mask)[0, :4])


def test_permutation_equivariance_without_positions(pair) -> None:
    """Without positional encoding, permuting the inputs only permutes the outputs."""
    ours, _ = pair
    x = torch.randn(1, 6, 32)
    perm = torch.randperm(6)
    torch.testing.assert_close(ours(x)[:, perm], ours(x[:, perm]), atol=1e-6, rtol=1e-5)


def test_sinusoidal_table_matches_formula() -> None:
    table = sinusoidal_table(50, 16)
    for pos in (0, 1, 7, 49):
        for i in range(8):
            angle = pos / 10000 ** (2 * i / 16)
            assert table[pos, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-5)
            assert table[pos, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-5)


def test_positional_encoding_adds_position_t_to_token_t() -> None:
    """Catches the pe[x.shape[0]] vs pe[:x.shape[1]] kind of indexing bug: batch size ≠ T."""
    pe = SinusoidalPositionalEncoding(16, max_len=64)
    x = torch.zeros(3, 10, 16)
    out = pe(x)
    torch.testing.assert_close(out, sinusoidal_table(64, 16)[:10].expand(3, -1, -1))
    assert sum(p.numel() for p in pe.parameters()) == 0
    assert "pe" not in pe.state_dict()


def test_gradients_are_finite() -> None:
    config = AttentionConfig.tiny()
    attn = MultiHeadAttention(config.d_model, config.n_heads, dropout=0.1)
    x = torch.randn(2, 5, config.d_model, requires_grad=True)
    attn(x, mask=causal_mask(5)).square().sum().backward()
    assert torch.isfinite(x.grad).all()
    assert all(torch.isfinite(p.grad).all() for p in attn.parameters())


def test_bad_head_count_raises() -> None:
    with pytest.raises(ValueError):
        MultiHeadAttention(30, 4)
