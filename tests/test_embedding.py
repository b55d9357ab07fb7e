import math
import runpy

import pytest
import torch
from torch import nn

from reference_impl import embedding as emb


@pytest.fixture(scope="module")
def corpus():
    sentences = emb.load_corpus()
    words, counts = emb.build_vocab(w for s in sentences for w in s)
    index = {w: i for i, w in enumerate(words)}
    ids = [[index[w] for w in s] for s in sentences]
    return words, counts, index, ids


def test_nn_embedding_is_one_hot_times_matrix():
    torch.manual_seed(0)
    layer = nn.Embedding(11, 4)
    ids = torch.tensor([[3, 0, 10], [3, 7, 7]])
    by_index = layer(ids)
    by_matmul = emb.one_hot_embedding(ids, layer.weight)
    torch.testing.assert_close(by_matmul, by_index, rtol=0, atol=0)
    # the gradient of E is the one-hot matrix transposed times the upstream gradient:
    # only the rows of the words that occur receive a gradient (row 3 twice, row 7 twice)
    upstream = torch.randn(2, 3, 4)
    (grad_index,) = torch.autograd.grad(by_index, layer.weight, upstream)
    one_hot = nn.functional.one_hot(ids, 11).float().reshape(-1, 11)
    torch.testing.assert_close(grad_index, one_hot.T @ upstream.reshape(-1, 4))
    assert grad_index[[1, 2, 4, 5, 6, 8, 9]].abs().sum() == 0


def test_sgns_loss_matches_a_hand_computed_example():
    model = emb.SkipGramNegativeSampling(emb.Word2VecConfig(vocab_size=4, d_embed=2))
    with torch.no_grad():
        model.in_embed.weight.copy_(torch.tensor([[1.0, 2.0], [0.0, 0.0], [0, 0], [0, 0]]))
        model.out_embed.weight.copy_(torch.tensor([[0, 0], [0.5, -1.0], [1.0, 1.0], [-2.0, 0.0]]))
    # centre 0 (v = (1, 2)), context 1 (v' = (0.5, −1): score −1.5), noise 2 and 3 (scores 3, −2)
    loss = model(torch.tensor([0]), torch.tensor([1]), torch.tensor([[2, 3]]))

    def log_sigmoid(x: float) -> float:
        return -math.log1p(math.exp(-x))

    expected = -(log_sigmoid(-1.5) + log_sigmoid(-3.0) + log_sigmoid(2.0))
    assert loss.shape == (1,)
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    assert expected == pytest.approx(1.7014 + 3.0486 + 0.1269, abs=1e-3)


def test_initial_loss_is_k_plus_one_log_two():
    """Output vectors start at zero (as in word2vec), so every score is 0 and σ(0) = 1/2."""
    model = emb.SkipGramNegativeSampling(emb.Word2VecConfig.tiny(vocab_size=20))
    loss = model(torch.arange(4), torch.arange(4, 8), torch.randint(0, 20, (4, 5)))
    torch.testing.assert_close(loss, torch.full((4,), 6 * math.log(2)))


def test_subsampling_and_noise_distribution():
    counts = torch.tensor([1000.0, 100.0, 10.0, 1.0])
    keep = emb.keep_probabilities(counts, t=1e-2)
    f = counts / counts.sum()
    torch.testing.assert_close(keep[:2], torch.sqrt(1e-2 / f[:2]))  # Eq. (5)
    torch.testing.assert_close(keep[2:], torch.ones(2, dtype=keep.dtype))  # rare: always kept
    noise = emb.noise_distribution(counts)
    torch.testing.assert_close(noise.sum(), torch.tensor(1.0, dtype=noise.dtype))
    assert noise[0] / noise[1] == pytest.approx(10**0.75)  # U(w)^{3/4}: flatter than unigram


def test_skipgram_pairs_stay_in_window_and_sentence():
    gen = torch.Generator().manual_seed(0)
    pairs = emb.skipgram_pairs([[0, 1, 2, 3, 4, 5], [10, 11]], window=2, generator=gen)
    for center, context in pairs.tolist():
        same_sentence = (center < 10) == (context < 10)
        assert same_sentence and 0 < abs(center - context) <= 2
    # full window 1 (R = 1 for everyone) gives exactly the neighbours
    pairs = emb.skipgram_pairs([[0, 1, 2]], window=1, generator=gen)
    assert sorted(map(tuple, pairs.tolist())) == [(0, 1), (1, 0), (1, 2), (2, 1)]


def test_training_lowers_the_loss(corpus):
    words, counts, _, ids = corpus
    torch.manual_seed(0)
    model = emb.SkipGramNegativeSampling(emb.Word2VecConfig.tiny(vocab_size=len(words)))
    losses = emb.train_skipgram(model, ids, counts, steps=30, seed=0)
    assert losses[0] == pytest.approx(6 * math.log(2), rel=1e-4)
    assert sum(losses[-5:]) / 5 < losses[0] - 0.5


TOPICS = {
    "animal": ["猫", "狗", "兔子", "老虎", "熊猫"],
    "fruit": ["苹果", "香蕉", "葡萄", "西瓜", "橘子"],
    "vehicle": ["汽车", "火车", "飞机", "轮船", "地铁"],
    "city": ["北京", "上海", "广州", "杭州", "成都"],
}


def test_words_of_a_topic_end_closer_than_unrelated_words(corpus):
    words, counts, index, ids = corpus
    torch.manual_seed(0)
    model = emb.SkipGramNegativeSampling(emb.Word2VecConfig.tiny(vocab_size=len(words)))
    emb.train_skipgram(model, ids, counts, steps=200, seed=0)
    sim = emb.cosine_similarity_matrix(model.vectors.detach())
    within, across = [], []
    for topic, members in TOPICS.items():
        for a in members:
            for other, others in TOPICS.items():
                for b in others:
                    if a != b:
                        (within if topic == other else across).append(sim[index[a], index[b]])
    within_mean = torch.stack(within).mean().item()
    across_mean = torch.stack(across).mean().item()
    assert within_mean > across_mean + 0.4, (within_mean, across_mean)
    # and word by word: each word's nearest topic word is from its own topic
    topic_words = [w for members in TOPICS.values() for w in members]
    rows = torch.tensor([index[w] for w in topic_words])
    sub = sim[rows][:, rows].fill_diagonal_(-2)
    nearest = sub.argmax(1)
    assert all(nearest[i] // 5 == i // 5 for i in range(len(topic_words)))


def test_paper_size_parameter_count_on_meta():
    with torch.device("meta"):
        model = emb.word2vec_paper()
        loss = model(
            torch.zeros(8, dtype=torch.long),
            torch.zeros(8, dtype=torch.long),
            torch.zeros(8, 5, dtype=torch.long),
        )
    assert sum(p.numel() for p in model.parameters()) == 415_200_000 == 2 * 692_000 * 300
    assert loss.shape == (8,)


def test_runs_as_script(capsys):
    runpy.run_path("reference_impl/embedding.py", run_name="__main__")
    assert "torch.Size([" in capsys.readouterr().out
