r"""Solutions of the Transformer page's 代码 exercises.

Tests: ``tests/test_exercises_transformer.py``.

Learned positional embeddings instead of the sinusoids of §3.5: the variant of Table 3, row (E),
which the paper found to give "nearly identical results" (§3.5, §6.2).
"""

import torch
from torch import nn

from reference_impl.transformer import Transformer


# --8<-- [start:learned-positions]
class LearnedPositionalEmbedding(nn.Module):
    """Add a learned vector per position: a (max_len, D) table trained with the model.

    Args:
        d_model: Width D.
        max_len: Longest sequence; a longer one has no vector (no extrapolation).
    """

    def __init__(self, d_model: int, max_len: int) -> None:
        super().__init__()
        self.table = nn.Parameter(torch.empty(max_len, d_model))
        nn.init.normal_(self.table, std=d_model**-0.5)  # the scale of the sinusoids' entries

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, D) → (B, T, D): `x[:, t] + table[t]`."""
        return x + self.table[: x.shape[1]]


def use_learned_positions(model: Transformer) -> Transformer:
    """Replace the model's sinusoidal encoding (shared by encoder and decoder) in place."""
    cfg = model.config
    device = model.embedding.lookup.weight.device
    with torch.device(device):
        model.positional_encoding = LearnedPositionalEmbedding(cfg.d_model, cfg.max_len)
    return model


# --8<-- [end:learned-positions]
