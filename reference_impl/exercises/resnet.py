r"""Solutions of the ResNet page's 代码 exercises (tests: ``tests/test_exercises_resnet.py``).

The pre-activation residual block of He et al. (2016b), "Identity Mappings in Deep Residual
Networks" (ECCV 2016, arXiv:1603.05027), §3–4, Fig. 1(b) and Fig. 4(e): BatchNorm and ReLU move
in front of each convolution, and nothing follows the addition, so the shortcut path from one
block to the next is a pure identity.
"""

import torch
from torch import nn

from reference_impl.resnet import make_shortcut


# --8<-- [start:preact-block]
class PreActBasicBlock(nn.Module):
    """BN → ReLU → 3×3 conv → BN → ReLU → 3×3 conv, plus the shortcut; no ReLU after the sum.

    Args:
        in_channels: Channels entering the block.
        width: Channels of both convolutions and of the output.
        stride: 2 where a stage subsamples, else 1.
    """

    def __init__(self, in_channels: int, width: int, stride: int = 1) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels)  # normalises the block's input, not conv1's output
        self.relu1 = nn.ReLU()
        self.conv1 = nn.Conv2d(in_channels, width, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.relu2 = nn.ReLU()
        self.conv2 = nn.Conv2d(width, width, 3, padding=1, bias=False)
        # He et al. (2016b) keep the projection a bare 1×1 convolution; the reference file's
        # helper adds a BatchNorm, which changes neither the shapes nor the identity case.
        self.downsample = make_shortcut(in_channels, width, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C_in, H, W) → (B, width, H/stride, W/stride)."""
        out = self.conv1(self.relu1(self.bn1(x)))  # pre-activation: BN and ReLU first
        out = self.conv2(self.relu2(self.bn2(out)))
        identity = x if self.downsample is None else self.downsample(x)
        return out + identity  # x_{l+1} = x_l + F(x_l): no ReLU after the addition


# --8<-- [end:preact-block]
