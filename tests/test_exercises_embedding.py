"""The embedding page's exercises: computed answers against hand formulas, the solution's effect."""

from __future__ import annotations

import math

import pytest
import torch

from reference_impl import embedding
from reference_impl.exercises.embedding import CBOWNegativeSampling, cbow_windows
from tools.generator import exercises as ex

ANSWERS = {e.id: e for e in ex.load("embedding")}


def value(exercise_id: str) -> float:
    return ANSWERS[exercise_id].computed.value


def test_initial_loss():
    assert value("embedding-initial-loss") == pytest.approx(16 * math.log(2), abs=1e-5)
    assert round(16 * math.log(2), 2) == 11.09


def test_subsampling():
    assert value("embedding-subsampling") == pytest.approx(1 - math.sqrt(1e-5 / 0.01))
    assert round(value("embedding-subsampling"), 3) == 0.968  # "约 0.968"
    assert round(math.sqrt(1e-5 / 0.01), 2) == 0.03  # "只留约 3%"
    keep_rare = embedding.keep_probabilities(torch.tensor([1.0, 999_999.0]), t=1e-5)[0]
    assert keep_rare == 1  # f = 10⁻⁶ < t: always kept


def test_noise():
    rare, common = 100**0.75, 900**0.75
    assert value("embedding-noise") == pytest.approx(rare / (rare + common))
    assert (round(rare, 1), round(common, 1)) == (31.6, 164.3)
    assert round(value("embedding-noise"), 3) == 0.161
    unigram = embedding.noise_distribution(torch.tensor([900.0, 100.0]), power=1.0)
    uniform = embedding.noise_distribution(torch.tensor([900.0, 100.0]), power=0.0)
    assert unigram[1].item() == pytest.approx(0.1) and uniform[1].item() == pytest.approx(0.5)


def _model(k: int = 5) -> CBOWNegativeSampling:
    torch.manual_seed(0)
    model = CBOWNegativeSampling(embedding.Word2VecConfig(vocab_size=30, d_embed=8, n_negatives=k))
    torch.nn.init.normal_(model.out_embed.weight)  # a trained-looking v', not zeros
    return model


def test_cbow_ignores_the_order_of_the_context():
    model = _model()
    context, mask, center = cbow_windows([4, 9, 2, 7, 5, 11], window=2)
    negatives = torch.randint(0, 30, (6, 5), generator=torch.Generator().manual_seed(1))
    loss = model(context, mask, center, negatives)
    order = torch.tensor([3, 1, 0, 2])
    shuffled = model(context[:, order], mask[:, order], center, negatives)
    torch.testing.assert_close(shuffled, loss)  # a bag of words
    assert loss.shape == (6,) and torch.all(loss > 0)


def test_cbow_windows_one_example_per_word():
    ids = [4, 9, 2, 7, 5]
    context, mask, center = cbow_windows(ids, window=1)
    assert center.tolist() == ids and len(center) == 5  # n predictions
    assert context[0, mask[0]].tolist() == [9] and context[2, mask[2]].tolist() == [9, 7]
    pairs = embedding.skipgram_pairs([ids], window=1, generator=torch.Generator())
    assert len(pairs) == 2 * (len(ids) - 1) == int(mask.sum())  # skip-gram: 2(n − 1)


def test_cbow_initial_loss_is_k_plus_one_log_two():
    cfg = embedding.Word2VecConfig(vocab_size=30, d_embed=8, n_negatives=5)
    model = CBOWNegativeSampling(cfg)  # v' = 0 at initialisation
    context, mask, center = cbow_windows([4, 9, 2, 7], window=2)
    loss = model(context, mask, center, torch.zeros(4, 5, dtype=torch.long))
    torch.testing.assert_close(loss, torch.full((4,), 6 * math.log(2)))


def test_cbow_uses_the_mean_of_the_context_vectors():
    model = _model()
    context, mask, center = cbow_windows([4, 9, 2], window=1)
    negatives = torch.tensor([[1, 3, 5, 6, 8]] * 3)
    loss = model(context, mask, center, negatives)
    h = model.in_embed.weight[[4, 2]].mean(0)  # the middle word (9) sees 4 and 2
    v_out = model.out_embed.weight
    positive = torch.log(torch.sigmoid(v_out[9] @ h))
    noise = torch.log(torch.sigmoid(-(v_out[negatives[1]] @ h))).sum()
    expected = -(positive + noise)
    torch.testing.assert_close(loss[1], expected)
