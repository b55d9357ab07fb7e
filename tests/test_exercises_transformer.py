"""The Transformer page's exercises: answers against hand formulas, the solution's effect."""

from __future__ import annotations

import torch

from reference_impl import transformer
from reference_impl.exercises.transformer import LearnedPositionalEmbedding, use_learned_positions
from tools.generator import exercises as ex

ANSWERS = {e.id: e for e in ex.load("transformer")}
D, D_FF, LAYERS = 512, 2048, 6


def value(exercise_id: str) -> float:
    return ANSWERS[exercise_id].computed.value


def test_decoder_layer_params():
    attention = 4 * (D * D + D)  # W^Q, W^K, W^V, W^O with biases
    ffn = D * D_FF + D_FF + D_FF * D + D
    assert value("transformer-decoder-layer-params") == 2 * attention + ffn + 3 * 2 * D
    assert LAYERS * value("transformer-decoder-layer-params") == 25_224_192  # the page's table


def test_attention_macs_and_the_length_where_the_halves_meet():
    T = 1024
    projections, products = 4 * T * D * D, 2 * T * T * D
    assert value("transformer-attention-macs") == projections + products
    assert projections == products and T == 2 * D


def test_kv_cache_bytes():
    T = S = 100
    per_layer = 2 * T * D + 2 * S * D  # self-attention K, V of the prefix; cross K, V of the source
    assert value("transformer-kv-cache") == LAYERS * per_layer * 4
    assert round(value("transformer-kv-cache") / 1e6, 1) == 4.9  # "约 4.9 MB"
    assert round(63_082_496 * 4 / 1e6) == 252  # "约 252 MB"


def test_learned_positions_add_max_len_times_d_parameters():
    cfg = transformer.TransformerConfig.base()
    with torch.device("meta"):
        model = transformer.transformer_base()
        before = ex.n_params(model)
        after = ex.n_params(use_learned_positions(model))
    assert after - before == cfg.max_len * cfg.d_model == 524_288


def test_only_the_used_rows_learn():
    torch.manual_seed(0)
    cfg = transformer.TransformerConfig.tiny()
    model = use_learned_positions(transformer.Transformer(cfg))
    assert isinstance(model.positional_encoding, LearnedPositionalEmbedding)
    src, tgt = torch.randint(3, cfg.vocab_size, (2, 7)), torch.randint(3, cfg.vocab_size, (2, 5))
    logits = model(src, tgt)
    assert logits.shape == (2, 5, cfg.vocab_size)
    logits.sum().backward()
    grad = model.positional_encoding.table.grad  # (max_len, D), shared by source and target
    used = max(src.shape[1], tgt.shape[1])
    assert grad[:used].abs().sum(dim=1).gt(0).all()
    assert torch.count_nonzero(grad[used:]) == 0  # never seen: never trained, no extrapolation
