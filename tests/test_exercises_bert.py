"""The BERT page's exercises: computed answers against hand formulas, the solution's effect."""

from __future__ import annotations

import torch

from reference_impl import bert
from reference_impl.exercises.bert import encode_left_to_right
from tools.generator import exercises as ex

ANSWERS = {e.id: e for e in ex.load("bert")}
H, V = 768, 30522


def value(exercise_id: str) -> float:
    return ANSWERS[exercise_id].computed.value


def test_embedding_params():
    assert value("bert-embedding-params") == V * H + 512 * H + 2 * H + 2 * H
    assert round(value("bert-embedding-params") / 1e5) * 10 == 2380  # "约 2,380 万"
    assert value("bert-embedding-params") / 109_482_240 > 1 / 5  # "超过……五分之一"


def test_pretraining_heads_params():
    transform = H * H + H + 2 * H  # dense + LayerNorm
    assert value("bert-pretraining-heads") == transform + V + (2 * H + 2)
    assert round(V * H / 1e4) == 2344  # "约 2,344 万" if the decoder were not tied


def test_mlm_count():
    assert value("bert-mlm-count") == round(0.15 * (512 - 3)) == 76
    assert round(0.8 * 76) == 61  # "期望约 61 个 [MASK]"


def test_causal_mask_hides_later_tokens():
    torch.manual_seed(0)
    cfg = bert.BertConfig.tiny()
    model = bert.BERT(cfg).eval()
    ids = torch.randint(4, cfg.vocab_size, (1, 10))
    changed = ids.clone()
    changed[0, -1] = (ids[0, -1] + 1 - 4) % (cfg.vocab_size - 4) + 4  # another ordinary token
    with torch.no_grad():
        causal_a, causal_b = encode_left_to_right(model, ids), encode_left_to_right(model, changed)
        full_a, full_b = model(ids)[0], model(changed)[0]
    torch.testing.assert_close(causal_a[:, :-1], causal_b[:, :-1], rtol=0, atol=0)
    assert not torch.allclose(causal_a[:, -1], causal_b[:, -1])
    assert not torch.allclose(full_a[:, 0], full_b[:, 0])  # bidirectional: even [CLS] changes


def test_causal_mask_keeps_padding_masked():
    torch.manual_seed(0)
    cfg = bert.BertConfig.tiny()
    model = bert.BERT(cfg).eval()
    ids = torch.randint(4, cfg.vocab_size, (1, 6))
    padded = torch.cat([ids, torch.full((1, 3), cfg.pad_id)], dim=1)
    with torch.no_grad():
        torch.testing.assert_close(
            encode_left_to_right(model, padded)[:, :6], encode_left_to_right(model, ids)
        )
