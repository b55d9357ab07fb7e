r"""Solutions of the CLIP page's 代码 exercises (tests: ``tests/test_exercises_clip.py``).

The text encoder without its causal mask (§2.4 of the paper uses "masked self-attention"). The
reference tower has no padding mask: the causal mask alone keeps the padding after [EOS] out of
the [EOS] state, since [EOS] only looks left. A bidirectional encoder needs a key-padding mask
for the same guarantee.
"""

import torch
from torch.nn import functional as F

from reference_impl.clip import CLIP


# --8<-- [start:bidirectional-text]
def encode_text_bidirectional(model: CLIP, text: torch.Tensor, mask_padding: bool) -> torch.Tensor:
    """CLIP's text embedding with full (not causal) self-attention.

    Args:
        model: a CLIP; its text tower's weights are used as they are.
        text: token ids (B, T): [SOS] … [EOS] then padding; [EOS] has the largest id.
        mask_padding: hide the positions after [EOS] from every query (a key-padding mask).

    Returns:
        L2-normalised text embeddings (B, embed_dim), read at [EOS] as in `TextTransformer`.
    """
    tower = model.text
    B, T = text.shape
    x = tower.token_embedding(text) + tower.pos_embed[:T]  # (B, T, D)
    eot = text.argmax(dim=-1)  # (B,)
    attn_mask = None  # no causal mask: every position sees every position
    if mask_padding:
        after_eot = torch.arange(T, device=text.device) > eot[:, None]  # (B, T)
        attn_mask = torch.zeros(B, 1, 1, T, device=text.device)  # broadcasts over heads, queries
        attn_mask = attn_mask.masked_fill(after_eot[:, None, None, :], float("-inf"))
    for block in tower.transformer.blocks:
        x = block(x, attn_mask)
    x = tower.ln_final(x)[torch.arange(B, device=text.device), eot]  # the [EOS] state, (B, D)
    return F.normalize(tower.proj(x), dim=-1)


# --8<-- [end:bidirectional-text]
