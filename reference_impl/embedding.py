r"""Word embeddings: `nn.Embedding` as one-hot × matrix; word2vec skip-gram with negative sampling.

Tomas Mikolov, Ilya Sutskever, Kai Chen, Greg Corrado, Jeffrey Dean. Distributed
Representations of Words and Phrases and their Compositionality. *Advances in Neural
Information Processing Systems 26* (NeurIPS 2013), pp. 3111–3119. arXiv:1310.4546. Builds on
Tomas Mikolov, Kai Chen, Greg Corrado, Jeffrey Dean. Efficient Estimation of Word
Representations in Vector Space. ICLR 2013 workshop. arXiv:1301.3781.

Implemented (section and equation numbers of arXiv:1310.4546 unless noted):

- An embedding layer is a one-hot vector times a matrix, $e_w = \mathbf{1}_w^\top E$:
  `one_hot_embedding` computes it literally; `nn.Embedding` computes the same by indexing.
- The skip-gram model (§2, Eq. 1–2; arXiv:1301.3781 §3.2): every word $w$ has an input vector
  $v_w$ and an output vector $v'_w$; a word predicts the words around it within a window of
  size $c$, the window being shrunk at random to $R \in [1, c]$ for each centre word.
- Negative sampling (§2.2, Eq. 4): for a (centre $w_I$, context $w_O$) pair and $k$ noise
  words $w_i \sim P_n(w)$, maximise
  $\log\sigma(v'^\top_{w_O} v_{w_I}) + \sum_{i=1}^{k}\log\sigma(-v'^\top_{w_i} v_{w_I})$
  (`SkipGramNegativeSampling`), with the noise distribution
  $P_n(w) \propto U(w)^{3/4}$ (`noise_distribution`).
- Subsampling of frequent words (§2.3, Eq. 5): each occurrence of $w$ is discarded with
  probability $1 - \sqrt{t / f(w)}$ (`keep_probabilities`).
- The paper's model size: a 692K-word vocabulary (§3) and 300-dimensional vectors (Table 1):
  415,200,000 parameters, half of them the output vectors $v'$ that are thrown away.

Deviations:

- Training is plain SGD with a learning rate decaying linearly to zero, as in the word2vec
  tool, but on mini-batches of pairs (the tool updates after every pair) and with a starting
  rate of 0.2 instead of 0.025, so that a few hundred steps suffice on the tiny corpus.
- Subsampling uses Eq. (5) of the paper. The released word2vec tool uses a slightly different
  formula, $\sqrt{t/f} + t/f$. The threshold $t$ must suit the corpus: $10^{-5}$ is for
  billions of words; on the tiny corpus in `reference_impl/data/` it would discard nearly
  every word, so the examples use $t = 10^{-2}$.
- Noise words are drawn independently of the pair, so a noise word may equal the context
  word, as in the word2vec tool. Hierarchical softmax (§2.1) and phrases (§4) are not
  implemented; CBOW (arXiv:1301.3781 §3.1) is described on the page only.
- `train_skipgram` is a training loop inside a model file, which our style otherwise avoids:
  word2vec's contribution is its objective and its sampling, not an architecture (the model
  is two lookup tables), so the training procedure is the part worth reading, and the file
  stays runnable on its own. It is kept apart, after the model, in its own section.
"""

import collections
import dataclasses
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

#: The tiny corpus shipped with the repository: short Chinese sentences, words separated by
#: spaces, on four topics (animals, fruit, vehicles, cities).
CORPUS_PATH = Path(__file__).resolve().parent / "data" / "word2vec_corpus_zh.txt"


# --8<-- [start:config]
@dataclass(frozen=True)
class Word2VecConfig:
    """Hyper-parameters of skip-gram with negative sampling; the defaults are the paper's.

    Attributes:
        vocab_size: Words with a vector (§3: 692K words occurring at least 5 times).
        d_embed: Dimension of $v_w$ and $v'_w$ (Table 1: 300).
        window: Largest distance $c$ between a centre word and a context word (Eq. 1;
            §4.1: "context size 5").
        n_negatives: Noise words $k$ per pair (§2.2: 5–20 for small data, 2–5 for large;
            Table 1 uses 5 and 15).
        subsample_t: Threshold $t$ of Eq. (5) (§2.3: "typically around $10^{-5}$").
        noise_power: Exponent of the unigram counts in $P_n(w)$ (§2.2: 3/4).
    """

    vocab_size: int = 692_000
    d_embed: int = 300
    window: int = 5
    n_negatives: int = 5
    subsample_t: float = 1e-5
    noise_power: float = 0.75

    @classmethod
    def tiny(cls, vocab_size: int = 100) -> "Word2VecConfig":
        """Small vectors for the tiny corpus; $t = 10^{-2}$ suits its ~1,300 words."""
        return cls(vocab_size=vocab_size, d_embed=16, window=3, n_negatives=5, subsample_t=1e-2)


# --8<-- [end:config]


# --8<-- [start:one-hot]
def one_hot_embedding(ids: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    r"""Look words up the slow, literal way: one-hot vectors times the embedding matrix.

    Row $w$ of $\mathbf{1}_w^\top E$ is row $w$ of $E$, so this equals `F.embedding(ids, weight)`
    (what `nn.Embedding` does) — which indexes instead of multiplying by a mostly-zero matrix.

    Args:
        ids: Word ids, any shape (…), values in [0, V).
        weight: The embedding matrix $E$, (V, D).

    Returns:
        The embeddings, (…, D).
    """
    one_hot = F.one_hot(ids, num_classes=weight.shape[0]).to(weight.dtype)  # (…, V)
    return one_hot @ weight  # (…, V) @ (V, D) → (…, D)


# --8<-- [end:one-hot]


# --8<-- [start:model]
class SkipGramNegativeSampling(nn.Module):
    r"""Skip-gram with negative sampling (SGNS): two embedding tables and Eq. (4) as a loss.

    `in_embed` holds the input vectors $v_w$ (the word vectors one keeps), `out_embed` the
    output vectors $v'_w$ (used only in training). Initialised as in the word2vec tool:
    $v$ uniform in $\pm 0.5/D$, $v'$ zero.

    Args:
        config: Hyper-parameters; only `vocab_size` and `d_embed` shape the model.
    """

    def __init__(self, config: Word2VecConfig) -> None:
        super().__init__()
        self.config = config
        self.in_embed = nn.Embedding(config.vocab_size, config.d_embed)  # v_w
        self.out_embed = nn.Embedding(config.vocab_size, config.d_embed)  # v'_w
        nn.init.uniform_(self.in_embed.weight, -0.5 / config.d_embed, 0.5 / config.d_embed)
        nn.init.zeros_(self.out_embed.weight)

    def forward(
        self, center: torch.Tensor, context: torch.Tensor, negatives: torch.Tensor
    ) -> torch.Tensor:
        r"""Negative-sampling loss of each (centre, context) pair: Eq. (4), negated.

        Args:
            center: Centre word ids $w_I$, (B,).
            context: Observed context word ids $w_O$, (B,).
            negatives: Noise word ids $w_1 … w_k$ drawn from $P_n(w)$, (B, k).

        Returns:
            $-\log\sigma(v'^\top_{w_O} v_{w_I}) - \sum_i \log\sigma(-v'^\top_{w_i} v_{w_I})$,
            (B,).
        """
        v = self.in_embed(center)  # (B, D)
        u_pos = self.out_embed(context)  # (B, D)
        u_neg = self.out_embed(negatives)  # (B, k, D)
        pos = F.logsigmoid((u_pos * v).sum(-1))  # log σ(v'_O · v_I), (B,)
        neg_scores = (u_neg @ v.unsqueeze(-1)).squeeze(-1)  # v'_i · v_I, (B, k)
        neg = F.logsigmoid(-neg_scores).sum(-1)  # Σ_i log σ(−v'_i · v_I), (B,)
        return -(pos + neg)  # Eq. (4) is maximised; we minimise its negative

    @property
    def vectors(self) -> torch.Tensor:
        """The learned word vectors $v_w$, (V, D)."""
        return self.in_embed.weight


# --8<-- [end:model]


# --8<-- [start:sampling]
def build_vocab(tokens: Iterable[str]) -> tuple[list[str], torch.Tensor]:
    """Vocabulary sorted by decreasing frequency (ties alphabetically) and the word counts.

    Args:
        tokens: The corpus as a sequence of words.

    Returns:
        The words (id → word) and their counts $U(w)$, (V,).
    """
    counts = collections.Counter(tokens)
    words = sorted(counts, key=lambda w: (-counts[w], w))
    return words, torch.tensor([counts[w] for w in words], dtype=torch.float64)


def keep_probabilities(counts: torch.Tensor, t: float) -> torch.Tensor:
    r"""Probability of keeping each occurrence of a word: Eq. (5), $\min(1, \sqrt{t / f(w)})$.

    Args:
        counts: Word counts $U(w)$, (V,).
        t: Threshold; words rarer than $t$ are always kept.

    Returns:
        Keep probabilities, (V,).
    """
    f = counts / counts.sum()  # relative frequency f(w)
    return torch.sqrt(t / f).clamp(max=1.0)  # Eq. (5): P(discard) = 1 − √(t / f(w))


def noise_distribution(counts: torch.Tensor, power: float = 0.75) -> torch.Tensor:
    r"""The noise distribution of §2.2, $P_n(w) = U(w)^{3/4} / Z$.

    Args:
        counts: Word counts $U(w)$, (V,).
        power: Exponent; 3/4 "significantly outperformed" the unigram (1) and uniform (0).

    Returns:
        Probabilities, (V,), summing to 1.
    """
    p = counts**power
    return p / p.sum()


def skipgram_pairs(
    sentences: Sequence[Sequence[int]], window: int, generator: torch.Generator
) -> torch.Tensor:
    """All (centre, context) pairs of one pass, with a random window size per centre word.

    As in arXiv:1301.3781 §3.2, each centre word draws $R$ uniformly from 1 … `window` and
    predicts the $R$ words before and the $R$ words after it (within its sentence).

    Args:
        sentences: Word ids, one list per sentence (already subsampled).
        window: Largest distance $c$.
        generator: Random generator for the window sizes.

    Returns:
        Pairs (P, 2): column 0 the centre word $w_I$, column 1 the context word $w_O$.
    """
    pairs = []
    for ids in sentences:
        radii = torch.randint(1, window + 1, (len(ids),), generator=generator).tolist()
        for i, (center, r) in enumerate(zip(ids, radii, strict=True)):
            for j in range(max(0, i - r), min(len(ids), i + r + 1)):
                if j != i:
                    pairs.append((center, ids[j]))
    return torch.tensor(pairs, dtype=torch.long).reshape(-1, 2)


# --8<-- [end:sampling]


def load_corpus(path: Path = CORPUS_PATH) -> list[list[str]]:
    """Read a corpus of space-separated words, one sentence per line (blank lines skipped)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.split() for line in lines if line.strip()]


# --8<-- [start:train]
# ───────────────── Training (kept in this file on purpose: see "Deviations") ─────────────────
def train_skipgram(
    model: SkipGramNegativeSampling,
    sentences: Sequence[Sequence[int]],
    counts: torch.Tensor,
    steps: int,
    batch_size: int = 256,
    lr: float = 0.2,
    seed: int = 0,
) -> list[float]:
    """Train SGNS on a corpus: subsample, make pairs, draw noise words, descend Eq. (4).

    Every pass over the corpus subsamples it anew (Eq. 5) and redraws the window sizes; the
    pairs of a pass are shuffled and cut into mini-batches, each with k fresh noise words per
    pair drawn from $P_n(w)$. Plain SGD on the summed loss, the rate decaying linearly to 0.

    Args:
        model: The model to train (in place).
        sentences: The corpus as word ids, one list per sentence.
        counts: Word counts $U(w)$ of the whole corpus, (V,).
        steps: SGD steps.
        batch_size: Pairs per step.
        lr: Starting learning rate (per pair).
        seed: Seed of every random draw (subsampling, windows, shuffling, noise words).

    Returns:
        The mean loss per pair at every step.
    """
    cfg = model.config
    gen = torch.Generator().manual_seed(seed)
    keep = keep_probabilities(counts, cfg.subsample_t)
    noise = noise_distribution(counts, cfg.noise_power)
    losses: list[float] = []
    batches: list[torch.Tensor] = []
    for step in range(steps):
        if not batches:  # a new pass: subsample (Eq. 5), make pairs, shuffle
            kept = []
            for ids in sentences:
                draws = torch.rand(len(ids), generator=gen, dtype=torch.float64).tolist()
                kept.append([w for w, u in zip(ids, draws, strict=True) if u < keep[w]])
            pairs = skipgram_pairs(kept, cfg.window, gen)
            batches = list(pairs[torch.randperm(len(pairs), generator=gen)].split(batch_size))
        batch = batches.pop()  # (b, 2)
        negatives = torch.multinomial(noise, batch.shape[0] * cfg.n_negatives, True, generator=gen)
        loss = model(batch[:, 0], batch[:, 1], negatives.view(-1, cfg.n_negatives)).sum()
        model.zero_grad()
        loss.backward()
        with torch.no_grad():
            for p in model.parameters():
                p -= lr * (1 - step / steps) * p.grad  # SGD, rate decaying linearly to 0
        losses.append(loss.item() / batch.shape[0])
    return losses


# --8<-- [end:train]


def cosine_similarity_matrix(vectors: torch.Tensor) -> torch.Tensor:
    """Cosine similarity of every pair of rows, (V, D) → (V, V)."""
    unit = F.normalize(vectors, dim=-1)
    return unit @ unit.T


# --8<-- [start:constructors]
def word2vec_paper(**overrides: object) -> SkipGramNegativeSampling:
    """The paper's skip-gram: 692K words × 300 dimensions, two tables (415,200,000 parameters)."""
    return SkipGramNegativeSampling(dataclasses.replace(Word2VecConfig(), **overrides))


# --8<-- [end:constructors]

__all__ = [
    "CORPUS_PATH",
    "SkipGramNegativeSampling",
    "Word2VecConfig",
    "build_vocab",
    "cosine_similarity_matrix",
    "keep_probabilities",
    "load_corpus",
    "noise_distribution",
    "one_hot_embedding",
    "skipgram_pairs",
    "train_skipgram",
    "word2vec_paper",
]


# A few sentences of the same four topics, so that a copy of this file runs on its own.
_FALLBACK_CORPUS = (
    "猫 和 狗 是 常见 的 动物 。 狗 追 猫 。 猫 吃 鱼 。 小 狗 和 小 猫 在 草地 上 玩 。",
    "苹果 和 香蕉 是 水果 。 我 吃 苹果 。 香蕉 很 甜 。 葡萄 和 苹果 都 是 水果 。",
    "火车 和 汽车 是 交通 工具 。 火车 很 快 。 我 坐 汽车 。 飞机 比 火车 快 。",
    "北京 和 上海 是 城市 。 北京 很 大 。 我 去 上海 。 广州 和 北京 都 是 城市 。",
)


if __name__ == "__main__":
    batch_size = 256
    if CORPUS_PATH.is_file():
        corpus = load_corpus()
    else:  # the file was copied alone: the short built-in corpus, in smaller steps
        corpus = [line.split() for line in _FALLBACK_CORPUS * 8]
        batch_size = 32
    words, counts = build_vocab(w for sentence in corpus for w in sentence)
    index = {w: i for i, w in enumerate(words)}
    sentences = [[index[w] for w in sentence] for sentence in corpus]
    model = SkipGramNegativeSampling(Word2VecConfig.tiny(vocab_size=len(words)))
    losses = train_skipgram(model, sentences, counts, steps=200, batch_size=batch_size)
    print(model.vectors.shape, f"loss {losses[0]:.3f} → {losses[-1]:.3f}")
    sim = cosine_similarity_matrix(model.vectors.detach())
    print("猫~狗", round(sim[index["猫"], index["狗"]].item(), 2), end="  ")
    print("猫~火车", round(sim[index["猫"], index["火车"]].item(), 2))
    assert math.isfinite(losses[-1])
