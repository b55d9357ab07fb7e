r"""Solutions of the attention page's 代码 exercises (tests: ``tests/test_exercises_attention.py``).

Dot-product attention without the $1/\sqrt{d_k}$ of Eq. (1). §3.2.1 and its footnote 4 of the
paper: if the components of $q$ and $k$ are independent with mean 0 and variance 1, $q \cdot k$
has variance $d_k$; for large $d_k$ the dot products "grow large in magnitude, pushing the
softmax function into regions where it has extremely small gradients".
"""

import torch

from reference_impl.attention import MultiHeadAttention, ScaledDotProductAttention


# --8<-- [start:unscaled]
class UnscaledDotProductAttention(ScaledDotProductAttention):
    r"""$\mathrm{softmax}(QK^\top)\,V$: Eq. (1) without dividing the scores by $\sqrt{d_k}$."""

    def weights(
        self, q: torch.Tensor, k: torch.Tensor, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Attention weights (B, h, T, S) from queries (B, h, T, d) and keys (B, h, S, d)."""
        scores = q @ k.transpose(-2, -1)  # (B, h, T, S): variance d_k, not 1
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        return self.softmax(scores)


def without_scaling(mha: MultiHeadAttention) -> MultiHeadAttention:
    """Swap the attention of a multi-head layer for the unscaled one, in place."""
    mha.attention = UnscaledDotProductAttention(mha.attention.dropout.p)
    return mha


# --8<-- [end:unscaled]
