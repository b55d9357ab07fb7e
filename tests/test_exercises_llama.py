"""The Llama 3 page's exercises: computed answers against hand formulas, the solution's effect."""

from __future__ import annotations

import math

import torch

from reference_impl import llama
from reference_impl.exercises.llama import (
    SlidingWindowKVCache,
    banded_logits,
    sliding_window_logits,
)
from tools.generator import exercises as ex
from tools.generator.exercises import llama as llama_exercises

ANSWERS = {e.id: e for e in ex.load("llama")}
D, N, H, H_KV, D_HEAD, FFN, V = 4096, 32, 32, 8, 128, 14336, 128256
EIGHT_B = 8_030_261_248


def value(exercise_id: str) -> float:
    return ANSWERS[exercise_id].computed.value


def test_rope_angle_at_position_1000():
    m, i, d = 1000, 17, 128  # the page's i, from 1
    assert (llama_exercises.POSITION, llama_exercises.PAIR) == (m, i - 1)
    theta_i = 500_000 ** (-2 * (i - 1) / d)
    assert math.isclose(value("llama-rope-angle"), m * theta_i, rel_tol=1e-6)
    assert round(theta_i, 4) == 0.0376 and round(m * theta_i, 2) == 37.61
    assert 5.9 < m * theta_i / (2 * math.pi) < 6  # "将近 6 圈"
    wavelength = 2 * math.pi / theta_i
    assert round(wavelength) == 167 and wavelength < 8192 / 4  # kept by Llama 3.1's scaling
    plain = llama.rope_frequencies(d, 500_000.0, None)[i - 1]
    scaled = llama.rope_frequencies(d, 500_000.0, llama.RopeScaling())[i - 1]
    assert plain == scaled
    theta_10k = 10_000 ** (-2 * (i - 1) / d)
    assert math.isclose(theta_10k, 0.1) and math.isclose(m * theta_10k, 100)  # "正好 100 弧度"
    assert round(2 * math.pi / theta_10k) == 63  # "约 63 个位置"


def test_swiglu_params_against_a_two_matrix_ffn():
    assert value("llama-swiglu-params") == D * FFN + D * FFN + FFN * D
    assert FFN == 3.5 * D
    two_matrices = 2 * D * 4 * D
    assert two_matrices == 134_217_728
    assert round(100 * (value("llama-swiglu-params") / two_matrices - 1)) == 31  # "约 31%"
    assert round(2 / 3 * 4 * D) == 10_923  # "≈ 10,923"
    attention = 2 * D * D + 2 * D * H_KV * D_HEAD
    assert value("llama-swiglu-params") / attention == 4.2  # "约是注意力的 4.2 倍"
    assert round(10 * N * value("llama-swiglu-params") / EIGHT_B) == 7  # "占了 … 七成"


def test_kv_cache_bytes_per_token():
    per_token = 2 * N * H_KV * D_HEAD * 2  # K and V, every layer, bf16
    assert value("llama-kv-cache") == per_token == 128 * 1024  # "128 KiB"
    assert llama_exercises.numbers()["kv_mha"] == 2 * N * H * D_HEAD * 2 == 524_288 == 4 * per_token
    assert per_token * 8192 == 2**30 and 4 * per_token * 8192 == 4 * 2**30  # "1 GiB 和 4 GiB"
    assert value("llama-kv-cache") == llama.kv_cache_bytes(llama.LlamaConfig.llama3_8b(), 1)


def test_tied_output_would_make_a_7b():
    block = 2 * D * D + 2 * D * H_KV * D_HEAD + 3 * D * FFN + 2 * D
    assert value("llama-tied-output") == V * D + N * block + D
    assert EIGHT_B - value("llama-tied-output") == V * D == 525_336_576
    assert round(100 * V * D / EIGHT_B, 1) == 6.5  # "约占 8B 的 6.5%"
    assert round(value("llama-tied-output") / 1e8) == 75  # "约 75.0 亿"
    assert value("llama-tied-output") // 10**9 == 7  # "7B"


def test_gpt2_shifted_to_777_has_247_positions_left():
    from reference_impl.gpt import GPTConfig

    assert GPTConfig().max_len - 777 == 247  # GPT-2's 1024 learned positions


def test_sliding_window_cache_equals_banded_attention():
    torch.manual_seed(0)
    model = llama.tiny().eval()
    ids = torch.randint(3, model.config.vocab_size, (2, 20))
    window = 6
    stepped = sliding_window_logits(model, ids, window)
    torch.testing.assert_close(stepped, banded_logits(model, ids, window), atol=1e-5, rtol=1e-5)
    with torch.no_grad():
        full = model(ids)
    # (c) the same as the whole cache while nothing has been dropped, different afterwards
    torch.testing.assert_close(stepped[:, :window], full[:, :window], atol=1e-5, rtol=1e-5)
    later = (stepped[:, window:] - full[:, window:]).abs().amax(dim=(0, 2))
    assert (later > 1e-3).all()


def test_sliding_window_cache_stops_growing():
    torch.manual_seed(0)
    model = llama.tiny().eval()
    window, cache = 6, SlidingWindowKVCache(model.config.n_layers, 6)
    sizes = []
    with torch.no_grad():
        for t in range(15):
            model(torch.randint(3, model.config.vocab_size, (1, 1)), t, cache)
            sizes.append(sum(k.numel() + v.numel() for k, v in cache.layers))
    assert max(len(k_v[0][0, 0]) for k_v in cache.layers) == window - 1
    assert sizes[window - 2 :] == [sizes[-1]] * (len(sizes) - window + 2)  # flat from then on
    assert sizes[0] < sizes[1] < sizes[window - 2]  # it grew while it was filling up
