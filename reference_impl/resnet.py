r"""ResNet: Deep Residual Learning for Image Recognition.

Kaiming He, Xiangyu Zhang, Shaoqing Ren, Jian Sun. *IEEE Conference on Computer Vision and
Pattern Recognition* (CVPR 2016), pp. 770–778. arXiv:1512.03385.

Implemented (section, equation and table numbers of the paper):

- §3.1–3.2, Eq. (1): a building block computes $y = \mathcal{F}(x, \{W_i\}) + x$, the residual
  $\mathcal{F}$ being two 3×3 convolutions (`BasicBlock`, Fig. 5 left) or a 1×1 → 3×3 → 1×1
  bottleneck (`Bottleneck`, Fig. 5 right, §4.1 "Deeper Bottleneck Architectures").
- Eq. (2) and §3.3 option B: $y = \mathcal{F}(x, \{W_i\}) + W_s x$ with a projection $W_s$
  (1×1 convolution + BatchNorm) only where the shape changes; identity shortcuts elsewhere.
- Table 1: ResNet-18/34/50/101/152; stride-2 downsampling in conv3_1, conv4_1 and conv5_1.
  In the authors' released Caffe models the stride of a bottleneck sits on its first 1×1
  convolution (`stride_in_3x3=False`, the default here).
- §3.4: BatchNorm after every convolution, before the ReLU; ReLU after the addition; global
  average pooling and a 1000-way fully-connected layer; He et al. (2015) initialisation.
- Fig. 3 / Table 2: the plain networks (`shortcut=False`: the same stacks without shortcuts
  and without projections), as `plain18` and `plain34`.
- Parameter counts (1000 classes): 11,689,512 / 21,797,672 / 25,557,032 / 44,549,160 /
  60,192,808; plain-34 21,623,848. Multiply-accumulates at 224×224 (FlopCounterMode ÷ 2):
  ResNet-50 3.86 G with the paper's layout, 4.09 G with `stride_in_3x3=True`; Table 1 gives
  3.8 × 10⁹ "FLOPs", which are multiply-adds. With the paper's layout the five depths measure
  1.81 / 3.66 / 3.86 / 7.57 / 11.28 G against Table 1's 1.8 / 3.6 / 3.8 / 7.6 / 11.3.

Deviations:

- Option B everywhere. The paper's Table 2 / Fig. 4 comparison of ResNet-18/34 with the plain
  nets used option A (zero-padded identity shortcuts, no extra parameters); here ResNet-34 has
  its three projections (173,824 parameters) more than plain-34.
- `stride_in_3x3=True` moves the bottleneck's stride to the 3×3 convolution: the "ResNet v1.5"
  layout of torchvision and NVIDIA, not in the paper. Same parameters, more computation.
  Module names match torchvision's, so its checkpoints load with `load_state_dict` in either
  layout; only with `stride_in_3x3=True` do they compute what torchvision computes.
- `zero_init_residual=True` sets the last BatchNorm weight of each residual branch to zero
  (Goyal et al. 2017, "Accurate, Large Minibatch SGD"), so each block starts as the identity.
  Not in the paper; off by default.
- The model returns logits; the softmax is left to the loss. No data augmentation, no 10-crop
  or fully-convolutional multi-scale testing (§3.4).
"""

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Literal

import torch
from torch import nn


# --8<-- [start:config]
@dataclass(frozen=True)
class ResNetConfig:
    """Hyper-parameters of ResNet; the defaults are ResNet-50 of Table 1.

    Attributes:
        block: `"basic"` (two 3×3 convolutions) or `"bottleneck"` (1×1, 3×3, 1×1).
        layers: Blocks in conv2_x … conv5_x (`layer1` … `layer4`).
        widths: Width of the 3×3 convolutions per stage; a bottleneck outputs 4× as many.
        num_classes: Size of the output layer (1000 ImageNet classes).
        in_channels: Channels of the input image (RGB).
        stride_in_3x3: Put a bottleneck's stride on its 3×3 convolution ("v1.5", torchvision)
            instead of its first 1×1 convolution (the paper's Caffe models).
        shortcut: Add the shortcut of Eq. (1)/(2); `False` builds the plain network of Fig. 3.
        zero_init_residual: Start each residual branch's last BatchNorm weight at zero.
    """

    block: Literal["basic", "bottleneck"] = "bottleneck"
    layers: tuple[int, int, int, int] = (3, 4, 6, 3)
    widths: tuple[int, int, int, int] = (64, 128, 256, 512)
    num_classes: int = 1000
    in_channels: int = 3
    stride_in_3x3: bool = False
    shortcut: bool = True
    zero_init_residual: bool = False

    @classmethod
    def resnet18(cls) -> "ResNetConfig":
        """ResNet-18 of Table 1: basic blocks [2, 2, 2, 2]."""
        return cls(block="basic", layers=(2, 2, 2, 2))

    @classmethod
    def resnet34(cls) -> "ResNetConfig":
        """ResNet-34 of Table 1: basic blocks [3, 4, 6, 3]."""
        return cls(block="basic", layers=(3, 4, 6, 3))

    @classmethod
    def resnet50(cls) -> "ResNetConfig":
        """ResNet-50 of Table 1: bottleneck blocks [3, 4, 6, 3]."""
        return cls(block="bottleneck", layers=(3, 4, 6, 3))

    @classmethod
    def resnet101(cls) -> "ResNetConfig":
        """ResNet-101 of Table 1: bottleneck blocks [3, 4, 23, 3]."""
        return cls(block="bottleneck", layers=(3, 4, 23, 3))

    @classmethod
    def resnet152(cls) -> "ResNetConfig":
        """ResNet-152 of Table 1: bottleneck blocks [3, 8, 36, 3]."""
        return cls(block="bottleneck", layers=(3, 8, 36, 3))

    @classmethod
    def tiny(cls) -> "ResNetConfig":
        """A small configuration for tests and examples: basic blocks, widths 8…64, 10 classes."""
        return cls(block="basic", layers=(1, 1, 1, 1), widths=(8, 16, 32, 64), num_classes=10)


# --8<-- [end:config]


# --8<-- [start:shortcut]
def make_shortcut(in_channels: int, out_channels: int, stride: int) -> nn.Sequential | None:
    r"""The shortcut of a block: identity where the shape is kept, else a projection (§3.3, B).

    Args:
        in_channels: Channels entering the block.
        out_channels: Channels leaving the residual branch.
        stride: Stride of the block.

    Returns:
        `None` for the identity of Eq. (1), which has no parameters; otherwise the projection
        $W_s$ of Eq. (2): a strided 1×1 convolution and BatchNorm, (B, C_in, H, W) →
        (B, C_out, H/stride, W/stride).
    """
    if stride == 1 and in_channels == out_channels:
        return None
    return nn.Sequential(  # positional children: torchvision's downsample.0 / downsample.1
        nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False),
        nn.BatchNorm2d(out_channels),
    )


# --8<-- [end:shortcut]


# --8<-- [start:basic-block]
class BasicBlock(nn.Module):
    """Two 3×3 convolutions with a shortcut (Fig. 5 left): ResNet-18 and -34.

    Args:
        in_channels: Channels entering the block.
        width: Channels of both convolutions, and of the block's output.
        stride: 2 in the first block of conv3_x, conv4_x and conv5_x, else 1.
        shortcut: Add the shortcut; `False` gives the plain block of Fig. 3 (middle).
    """

    expansion: ClassVar[int] = 1  # output channels = expansion × width

    def __init__(
        self, in_channels: int, width: int, stride: int = 1, shortcut: bool = True
    ) -> None:
        super().__init__()
        self.shortcut = shortcut
        self.conv1 = nn.Conv2d(in_channels, width, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(width, width, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.downsample = make_shortcut(in_channels, width, stride) if shortcut else None
        self.relu2 = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the block.

        Args:
            x: Feature maps (B, C_in, H, W).

        Returns:
            Feature maps (B, width, H/stride, W/stride).
        """
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))  # F(x, {W_i}) = W_2 σ(W_1 x), BatchNorm after each conv
        if self.shortcut:
            identity = x if self.downsample is None else self.downsample(x)
            out = out + identity  # Eq. (1): y = F(x, {W_i}) + x;  Eq. (2): y = F(x) + W_s x
        return self.relu2(out)  # the second nonlinearity comes after the addition (§3.2)


# --8<-- [end:basic-block]


# --8<-- [start:bottleneck]
class Bottleneck(nn.Module):
    """1×1 reduce, 3×3, 1×1 restore, with a shortcut (Fig. 5 right): ResNet-50/101/152.

    Args:
        in_channels: Channels entering the block.
        width: Channels of the 1×1 reduction and of the 3×3 convolution; the block outputs
            `4 * width`.
        stride: 2 in the first block of conv3_x, conv4_x and conv5_x, else 1.
        shortcut: Add the shortcut; `False` gives a plain block.
        stride_in_3x3: Stride on the 3×3 convolution ("v1.5") instead of the first 1×1.
    """

    expansion: ClassVar[int] = 4  # output channels = expansion × width (e.g. 64 → 256)

    def __init__(
        self,
        in_channels: int,
        width: int,
        stride: int = 1,
        shortcut: bool = True,
        stride_in_3x3: bool = False,
    ) -> None:
        super().__init__()
        out_channels = width * self.expansion
        # Paper (Caffe models): conv3_1, conv4_1, conv5_1 subsample in the first 1×1, which
        # thus never reads 3 of every 4 input positions. Deviation (stride_in_3x3): v1.5
        # subsamples in the 3×3, so the first 1×1 runs at the input resolution: 4× its MACs,
        # same parameters.
        stride_1x1, stride_3x3 = (1, stride) if stride_in_3x3 else (stride, 1)
        self.shortcut = shortcut
        self.conv1 = nn.Conv2d(in_channels, width, 1, stride=stride_1x1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride_3x3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.relu2 = nn.ReLU()
        self.conv3 = nn.Conv2d(width, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.downsample = make_shortcut(in_channels, out_channels, stride) if shortcut else None
        self.relu3 = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the block.

        Args:
            x: Feature maps (B, C_in, H, W).

        Returns:
            Feature maps (B, 4·width, H/stride, W/stride).
        """
        out = self.relu1(self.bn1(self.conv1(x)))  # 1×1: reduce to width
        out = self.relu2(self.bn2(self.conv2(out)))  # 3×3 at the reduced width
        out = self.bn3(self.conv3(out))  # 1×1: restore to 4·width
        if self.shortcut:
            identity = x if self.downsample is None else self.downsample(x)
            out = out + identity  # Eq. (1): y = F(x, {W_i}) + x;  Eq. (2): y = F(x) + W_s x
        return self.relu3(out)


# --8<-- [end:bottleneck]


def make_layer(
    block: Callable[..., nn.Module], in_channels: int, width: int, n_blocks: int, stride: int
) -> nn.Sequential:
    """One stage (convN_x of Table 1): a first block that may subsample, then identical blocks.

    Args:
        block: Builds a block from `(in_channels, width, stride)`.
        in_channels: Channels entering the stage.
        width: The blocks' width.
        n_blocks: Number of blocks.
        stride: Stride of the first block.

    Returns:
        The stage as a sequence of blocks named `0`, `1`, … (torchvision's names).
    """
    first = block(in_channels, width, stride)
    out_channels = width * first.expansion
    rest = [block(out_channels, width, 1) for _ in range(n_blocks - 1)]
    return nn.Sequential(first, *rest)


# --8<-- [start:model]
class ResNet(nn.Module):
    """ResNet (Table 1): a 7×7 stem, four stages of residual blocks, global pooling, fc.

    Module names are torchvision's, so its state dicts load directly.

    Args:
        config: Hyper-parameters; `ResNetConfig.resnet50()` is ResNet-50.
    """

    def __init__(self, config: ResNetConfig) -> None:
        super().__init__()
        self.config = config
        if config.block == "basic":
            block = functools.partial(BasicBlock, shortcut=config.shortcut)
            expansion = BasicBlock.expansion
        elif config.block == "bottleneck":
            block = functools.partial(
                Bottleneck, shortcut=config.shortcut, stride_in_3x3=config.stride_in_3x3
            )
            expansion = Bottleneck.expansion
        else:
            raise ValueError(f"block must be 'basic' or 'bottleneck', not {config.block!r}")
        w1, w2, w3, w4 = config.widths
        n1, n2, n3, n4 = config.layers
        # conv1 of Table 1: 7×7, 64, stride 2; then 3×3 max pool, stride 2
        self.conv1 = nn.Conv2d(config.in_channels, w1, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(w1)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = make_layer(block, w1, w1, n1, stride=1)  # conv2_x, after the max pool
        self.layer2 = make_layer(block, w1 * expansion, w2, n2, stride=2)  # conv3_1 subsamples
        self.layer3 = make_layer(block, w2 * expansion, w3, n3, stride=2)  # conv4_1
        self.layer4 = make_layer(block, w3 * expansion, w4, n4, stride=2)  # conv5_1
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))  # global average pooling
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(w4 * expansion, config.num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        """He et al. (2015) normal init for convolutions (§3.4); BatchNorm weight 1, bias 0."""
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        if self.config.zero_init_residual:  # Deviation: Goyal et al. 2017, not in the paper
            for module in self.modules():
                if isinstance(module, BasicBlock):
                    nn.init.zeros_(module.bn2.weight)
                elif isinstance(module, Bottleneck):
                    nn.init.zeros_(module.bn3.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Classify a batch of images.

        Args:
            x: Images (B, C, H, W), 224×224 in the paper.

        Returns:
            Logits (B, num_classes).
        """
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))  # (B, 64, H/4, W/4)
        x = self.layer1(x)  # (B, 64·e, H/4, W/4), e = expansion (1 basic, 4 bottleneck)
        x = self.layer2(x)  # (B, 128·e, H/8, W/8)
        x = self.layer3(x)  # (B, 256·e, H/16, W/16)
        x = self.layer4(x)  # (B, 512·e, H/32, W/32)
        x = self.flatten(self.avgpool(x))  # (B, 512·e)
        return self.fc(x)


# --8<-- [end:model]


# --8<-- [start:constructors]
def resnet18(**overrides: object) -> ResNet:
    """ResNet-18 (11,689,512 parameters); keyword arguments override config fields."""
    return ResNet(dataclasses.replace(ResNetConfig.resnet18(), **overrides))


def resnet34(**overrides: object) -> ResNet:
    """ResNet-34 (21,797,672 parameters); keyword arguments override config fields."""
    return ResNet(dataclasses.replace(ResNetConfig.resnet34(), **overrides))


def resnet50(**overrides: object) -> ResNet:
    """ResNet-50 (25,557,032 parameters); keyword arguments override config fields."""
    return ResNet(dataclasses.replace(ResNetConfig.resnet50(), **overrides))


def resnet101(**overrides: object) -> ResNet:
    """ResNet-101 (44,549,160 parameters); keyword arguments override config fields."""
    return ResNet(dataclasses.replace(ResNetConfig.resnet101(), **overrides))


def resnet152(**overrides: object) -> ResNet:
    """ResNet-152 (60,192,808 parameters); keyword arguments override config fields."""
    return ResNet(dataclasses.replace(ResNetConfig.resnet152(), **overrides))


def plain18(**overrides: object) -> ResNet:
    """Plain-18 of Table 2: ResNet-18's stack without shortcuts (11,515,688 parameters)."""
    config = dataclasses.replace(ResNetConfig.resnet18(), shortcut=False)
    return ResNet(dataclasses.replace(config, **overrides))


def plain34(**overrides: object) -> ResNet:
    """Plain-34 of Fig. 3 / Table 2: ResNet-34 without shortcuts (21,623,848 parameters)."""
    config = dataclasses.replace(ResNetConfig.resnet34(), shortcut=False)
    return ResNet(dataclasses.replace(config, **overrides))


# --8<-- [end:constructors]


# ── loading torchvision's weights ──────────────────────────────────────────────────────
def load_torchvision(model: ResNet, state_dict: dict[str, torch.Tensor]) -> None:
    """Load a state dict of torchvision's `resnet18` … `resnet152`: the module names are equal.

    torchvision's bottleneck networks are "v1.5" (stride on the 3×3 convolution): their weights
    load into the paper's layout too, since the shapes agree, but compute something else. So a
    bottleneck model must be built with `stride_in_3x3=True`, e.g. `resnet50(stride_in_3x3=True)`.
    """
    if model.config.block == "bottleneck" and not model.config.stride_in_3x3:
        raise ValueError("torchvision's ResNet-50/101/152 are v1.5: build with stride_in_3x3=True")
    model.load_state_dict(state_dict)


__all__ = [
    "BasicBlock",
    "Bottleneck",
    "ResNet",
    "ResNetConfig",
    "load_torchvision",
    "make_layer",
    "make_shortcut",
    "plain18",
    "plain34",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
]


if __name__ == "__main__":
    config = ResNetConfig.tiny()
    model = ResNet(config)
    logits = model(torch.randn(2, config.in_channels, 64, 64))
    print(logits.shape)  # torch.Size([2, 10])
