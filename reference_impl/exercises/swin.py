r"""Solutions of the Swin page's 代码 exercises (tests: ``tests/test_exercises_swin.py``).

SW-MSA without the attention mask of Fig. 4: the map is still rolled by $(-s, -s)$, cut into
windows and rolled back, but the windows of the last row and column attend across their pieces.
Those pieces came from opposite borders of the image, so the top-left corner and the bottom-right
corner become neighbours: the block treats the feature map as a torus.
"""

import torch

from reference_impl.swin import SwinBlock, window_partition, window_reverse


# --8<-- [start:unmasked]
class UnmaskedSwinBlock(SwinBlock):
    """A Swin block whose shifted windows (SW-MSA) are attended without the mask of Fig. 4.

    Args and shapes as for `SwinBlock`; with ``shift = 0`` it is the same W-MSA block.
    """

    def window_msa(self, h: torch.Tensor) -> torch.Tensor:
        """(S)W-MSA of a normalised map without the mask: (B, H, W, C) → (B, H, W, C)."""
        H, W = h.shape[1:3]
        M = self.window_size
        s = self.shift if min(H, W) > M else 0
        if s:
            h = torch.roll(h, shifts=(-s, -s), dims=(1, 2))  # cyclic shift, as before
        h = self.attn(window_partition(h, M), None)  # no mask: every window attends as a whole
        h = window_reverse(h, M, H, W)  # (B, H, W, C)
        if s:
            h = torch.roll(h, shifts=(s, s), dims=(1, 2))  # reverse cyclic shift
        return h


# --8<-- [end:unmasked]
