"""The GPT page's exercises: computed answers against hand formulas, the solution's effect."""

from __future__ import annotations

import dataclasses
import math

import torch

from reference_impl import gpt
from reference_impl.exercises.gpt import GPTWithoutCausalMask
from tools.generator import exercises as ex

ANSWERS = {e.id: e for e in ex.load("gpt")}


def value(exercise_id: str) -> float:
    return ANSWERS[exercise_id].computed.value


def test_gpt2_xl_block_params():
    D = 1600
    attention = 4 * (D * D + D)  # W^Q, W^K, W^V, W^O with biases
    ffn = D * 4 * D + 4 * D + 4 * D * D + D
    assert value("gpt-block-params") == attention + ffn + 2 * 2 * D == 12 * D * D + 13 * D
    blocks = 48 * value("gpt-block-params")
    assert blocks == 1_475_558_400  # "48 个块共 1,475,558,400 个参数"
    total = (50257 + 1024) * D + blocks + 2 * D  # the page's formula
    assert total == 1_557_611_200
    assert round(100 * blocks / total) == 95  # "约 95%"


def test_tying_saves_one_vocabulary_by_width_matrix():
    assert value("gpt-tied-embeddings") == 50257 * 768
    assert round(value("gpt-tied-embeddings") / 1e4) == 3860  # "约 3,860 万"
    assert round(100 * value("gpt-tied-embeddings") / 124_439_808) == 31  # "的 31%"


def test_gpt3_attention_macs_per_token():
    D, T = 12288, 2048
    projections, products = 4 * D * D, 2 * T * D  # per token: qkv + out_proj; QKᵀ and ·V over T
    assert value("gpt-attention-macs") == projections + products
    assert round(100 * products / (projections + products), 1) == 7.7  # "约 7.7%"
    assert 2 * (2 * D) * D == 4 * D * D and 2 * D == 24_576  # "T = 2D = 24,576" equal halves
    assert round(96 * value("gpt-attention-macs") / 1e8) == 628  # "96 层约 628 亿次"
    assert 2 * T * 512 > 4 * 512 * 512  # Transformer base at the same length: the T part leads


def test_without_the_mask_the_future_leaks_into_earlier_positions():
    torch.manual_seed(0)
    cfg = gpt.GPTConfig.tiny()
    causal, leaky = gpt.GPT(cfg).eval(), GPTWithoutCausalMask(cfg).eval()
    leaky.load_state_dict(causal.state_dict())  # the same weights: only the mask differs
    ids = torch.randint(0, cfg.vocab_size, (2, 10))
    changed = ids.clone()
    changed[:, 6] = (changed[:, 6] + 1) % cfg.vocab_size
    with torch.no_grad():
        torch.testing.assert_close(causal(ids)[:, :6], causal(changed)[:, :6])
        assert not torch.allclose(leaky(ids)[:, :6], leaky(changed)[:, :6], atol=1e-4)
        # with a sequence of one token there is no future: the two models agree
        torch.testing.assert_close(causal(ids[:, :1]), leaky(ids[:, :1]))


def _train_on_random_tokens(model_class: type[gpt.GPT], steps: int = 100) -> float:
    """Mean training loss of the last 10 steps on i.i.d. uniform tokens (vocabulary 100)."""
    torch.manual_seed(0)
    cfg = dataclasses.replace(gpt.GPTConfig.tiny(), dropout=0.0, max_len=8)
    assert (cfg.vocab_size, cfg.d_model, cfg.n_layers) == (100, 32, 2)  # "宽 32 的两层小模型"
    model = model_class(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    data = torch.Generator().manual_seed(1)
    losses = []
    for _ in range(steps):
        ids = torch.randint(0, cfg.vocab_size, (16, 8), generator=data)
        loss = gpt.lm_loss(model(ids), ids)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return sum(losses[-10:]) / 10


def test_without_the_mask_random_tokens_become_predictable():
    chance = math.log(100)
    assert round(chance, 2) == 4.61  # "ln 100 ≈ 4.61"
    assert _train_on_random_tokens(gpt.GPT) > chance - 0.1  # nothing to learn: stays at chance
    assert _train_on_random_tokens(GPTWithoutCausalMask) < 1.0  # "100 步，降到 1 以下": copies
