r"""Solutions of the ViT page's 代码 exercises (tests: ``tests/test_exercises_vit.py``).

Global average pooling instead of the [class] token (Appendix D.3 of the paper: both work, with
different learning rates): the image representation is the mean of the N patch tokens.
"""

import torch
from torch import nn

from reference_impl.vit import Encoder, PatchEmbedding, ViTConfig


# --8<-- [start:gap-vit]
class GAPViT(nn.Module):
    """ViT without the [class] token: patches + E_pos → encoder → mean over tokens → head.

    Args:
        cfg: Hyper-parameters, as for `ViT`; `representation_size` is not used.
    """

    def __init__(self, cfg: ViTConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.patch_embed = PatchEmbedding(cfg)
        self.pos_embed = nn.Parameter(torch.zeros(1, cfg.n_patches, cfg.d_model))  # N rows, not N+1
        nn.init.normal_(self.pos_embed, std=0.02)
        self.encoder = Encoder(cfg)  # ends with the final LayerNorm of Eq. (4)
        self.head = nn.Linear(cfg.d_model, cfg.n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Images (B, C, H, W) → logits (B, n_classes)."""
        z = self.patch_embed(x) + self.pos_embed  # (B, N, D): no [class] token in front
        y = self.encoder(z).mean(dim=1)  # global average pooling over the N tokens, (B, D)
        return self.head(y)


# --8<-- [end:gap-vit]
