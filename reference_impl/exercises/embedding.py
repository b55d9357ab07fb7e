r"""Solutions of the embedding page's 代码 exercises (tests: ``tests/test_exercises_embedding.py``).

CBOW, the other model of word2vec (Mikolov et al., arXiv:1301.3781, §3.1): the input vectors of
the context words are averaged, and the average predicts the centre word — here with the
negative-sampling loss of Eq. (4) of arXiv:1310.4546 instead of the hierarchical softmax. One
prediction per centre word, and the order of the context words does not matter (a "bag").
"""

import torch
from torch import nn
from torch.nn import functional as F

from reference_impl.embedding import Word2VecConfig


# --8<-- [start:cbow]
class CBOWNegativeSampling(nn.Module):
    """CBOW with negative sampling: mean of the context's $v$, scored against $v'$ of the centre.

    Args:
        config: Hyper-parameters; only `vocab_size` and `d_embed` shape the model.
    """

    def __init__(self, config: Word2VecConfig) -> None:
        super().__init__()
        self.config = config
        self.in_embed = nn.Embedding(config.vocab_size, config.d_embed)  # v_w (context words)
        self.out_embed = nn.Embedding(config.vocab_size, config.d_embed)  # v'_w (centre words)
        nn.init.uniform_(self.in_embed.weight, -0.5 / config.d_embed, 0.5 / config.d_embed)
        nn.init.zeros_(self.out_embed.weight)

    def forward(
        self,
        context: torch.Tensor,
        mask: torch.Tensor,
        center: torch.Tensor,
        negatives: torch.Tensor,
    ) -> torch.Tensor:
        """Negative-sampling loss of each window, (B,).

        Args:
            context: Context word ids (B, 2c); positions beyond a sentence's ends are padding.
            mask: Boolean (B, 2c), `True` for real context words.
            center: Centre word ids (B,), the word to predict.
            negatives: Noise word ids (B, k) drawn from $P_n(w)$.
        """
        m = mask.unsqueeze(-1).to(self.in_embed.weight.dtype)  # (B, 2c, 1)
        h = (self.in_embed(context) * m).sum(1) / m.sum(1)  # mean of the context vectors, (B, D)
        pos = F.logsigmoid((self.out_embed(center) * h).sum(-1))  # log σ(v'_centre · h)
        neg = F.logsigmoid(-(self.out_embed(negatives) @ h.unsqueeze(-1)).squeeze(-1)).sum(-1)
        return -(pos + neg)


def cbow_windows(ids: list[int], window: int) -> tuple[torch.Tensor, ...]:
    """One example per word of a sentence: its context (padded with 0), mask, and the word.

    Returns:
        `(context (n, 2c), mask (n, 2c), center (n,))` for a sentence of n words.
    """
    n, width = len(ids), 2 * window
    context = torch.zeros(n, width, dtype=torch.long)
    mask = torch.zeros(n, width, dtype=torch.bool)
    for i in range(n):
        around = [ids[j] for j in range(i - window, i + window + 1) if j != i and 0 <= j < n]
        context[i, : len(around)] = torch.tensor(around, dtype=torch.long)
        mask[i, : len(around)] = True
    return context, mask, torch.tensor(ids, dtype=torch.long)


# --8<-- [end:cbow]
