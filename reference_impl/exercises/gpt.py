r"""Solutions of the GPT page's 代码 exercises.

Tests: ``tests/test_exercises_gpt.py``.

A GPT without its causal mask (GPT-1 §3.1, Eq. (1) needs $P(u_i \mid u_{<i})$): every position
sees the whole sequence, including the token it is trained to predict.
"""

import torch

from reference_impl.gpt import GPT


# --8<-- [start:no-causal-mask]
class GPTWithoutCausalMask(GPT):
    """`GPT` whose every layer lets each position attend to every position, future included."""

    def features(self, input_ids: torch.Tensor) -> torch.Tensor:
        """(B, T) → (B, T, D), as `GPT.features` with an all-`True` mask instead of a causal one."""
        T = input_ids.shape[1]
        positions = torch.arange(T, device=input_ids.device)  # (T,)
        h = self.token_embeddings(input_ids) + self.position_embeddings(positions)  # (B, T, D)
        h = self.dropout(h)
        everything = torch.ones(T, T, dtype=torch.bool, device=h.device)  # no causal mask
        for block in self.blocks:
            h = block(h, everything)
        return self.norm(h)


# --8<-- [end:no-causal-mask]
