r"""Solutions of the BERT page's 代码 exercises (tests: ``tests/test_exercises_bert.py``).

A causal mask in BERT's self-attention turns the bidirectional encoder into a left-to-right one,
as in OpenAI GPT (Fig. 3 of the paper): each position then sees only itself and the tokens to its
left, so its output no longer depends on any later token.
"""

import torch

from reference_impl.bert import BERT, padding_mask


# --8<-- [start:causal-bert]
def encode_left_to_right(model: BERT, input_ids: torch.Tensor) -> torch.Tensor:
    """Run BERT with a causal mask added to the padding mask.

    Args:
        model: A BERT (eval mode for a deterministic output).
        input_ids: Token ids (B, T), one sentence (segment 0).

    Returns:
        Per-token vectors (B, T, D); position t depends only on tokens 0…t.
    """
    T = input_ids.shape[1]
    x = model.embeddings(input_ids, torch.zeros_like(input_ids))  # (B, T, D)
    keys = padding_mask(input_ids != model.config.pad_id)  # (B, 1, 1, T)
    causal = torch.ones(T, T, dtype=torch.bool, device=input_ids.device).tril()  # (T, T): s ≤ t
    return model.encoder(x, keys & causal)  # (B, 1, T, T): both masks at once


# --8<-- [end:causal-bert]
