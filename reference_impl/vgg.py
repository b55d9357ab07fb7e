r"""VGG: Very Deep Convolutional Networks for Large-Scale Image Recognition.

Karen Simonyan, Andrew Zisserman. *International Conference on Learning Representations*
(ICLR 2015). arXiv:1409.1556.

Implemented (section and table numbers of the paper):

- Table 1: configurations A (VGG-11), B (VGG-13), C (16 layers with 1×1 convolutions),
  D (VGG-16) and E (VGG-19), written in the table's own notation (`"conv3-64"` = 3×3, 64
  channels). Five stages, each ending in a max-pooling layer; then FC-4096, FC-4096, FC-1000.
- §2.1: 3×3 convolutions, stride 1, padding that preserves the resolution (1 pixel for 3×3,
  0 for 1×1); 2×2 max-pooling with stride 2; ReLU after every hidden layer.
- §2.3: two stacked 3×3 convolutions have a 5×5 receptive field, three a 7×7 one, with
  $2 \cdot 3^2C^2 = 18C^2$ weights instead of $25C^2$ (and $27C^2$ instead of $49C^2$).
- §3.1: dropout 0.5 on the outputs of the first two fully-connected layers.
- Parameter counts (1000 classes, 224×224 input): A 132,863,336; B 133,047,848;
  C 133,638,952; D 138,357,544; E 143,667,240 (Table 2: 133, 133, 134, 138, 144 million).
  fc6 alone holds 102,764,544 (25088 × 4096 + 4096).

Deviations:

- `batch_norm=True` inserts BatchNorm after every convolution. It is not in the paper (Ioffe &
  Szegedy published it in 2015, after VGG); it is the `vgg*_bn` variant of torchvision and
  makes the deep configurations trainable from scratch. VGG-16-BN has 138,365,992 parameters.
  The convolution biases are kept with BatchNorm, as in torchvision, although BN cancels them.
- Initialisation: Glorot uniform weights and zero biases, which §3.1 reports works without the
  paper's original scheme of initialising the deeper nets from the trained configuration A.
- The A-LRN configuration of Table 1 is not implemented (§4.1: normalisation does not help).
- Fixed input size with a flattening classifier, as in training (§3.1). The test-time dense
  evaluation of §3.2, which turns the fully-connected layers into convolutions and averages the
  class score map, is not implemented; nor are scale jittering and mean-RGB subtraction.
- The model returns logits; the soft-max is left to the loss.
"""

import dataclasses
from collections import OrderedDict
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn


# --8<-- [start:config]
@dataclass(frozen=True)
class VGGConfig:
    """Hyper-parameters of VGG; the defaults are configuration D (VGG-16) of Table 1.

    Attributes:
        stages: Convolutions of the five stages in Table 1's notation: `"conv3-256"` is a 3×3
            convolution with 256 output channels. Every stage ends in 2×2 max-pooling.
        batch_norm: Insert BatchNorm after each convolution (not in the paper).
        num_classes: Size of the output layer (1000 ImageNet classes).
        in_channels: Channels of the input image (RGB).
        image_size: Side of the square input (224 in training, §2.1).
        fc_width: Neurons in each of fc6 and fc7.
        dropout: Drop probability on the outputs of fc6 and fc7 (§3.1).
    """

    # Table 1, one row per configuration; each inner tuple is one stage.
    TABLE: ClassVar[dict[str, tuple[tuple[str, ...], ...]]] = {
        "A": (  # 11 weight layers
            ("conv3-64",),
            ("conv3-128",),
            ("conv3-256", "conv3-256"),
            ("conv3-512", "conv3-512"),
            ("conv3-512", "conv3-512"),
        ),
        "B": (  # 13 weight layers
            ("conv3-64", "conv3-64"),
            ("conv3-128", "conv3-128"),
            ("conv3-256", "conv3-256"),
            ("conv3-512", "conv3-512"),
            ("conv3-512", "conv3-512"),
        ),
        "C": (  # 16 weight layers, the third of stages 3–5 a 1×1 convolution
            ("conv3-64", "conv3-64"),
            ("conv3-128", "conv3-128"),
            ("conv3-256", "conv3-256", "conv1-256"),
            ("conv3-512", "conv3-512", "conv1-512"),
            ("conv3-512", "conv3-512", "conv1-512"),
        ),
        "D": (  # 16 weight layers: VGG-16
            ("conv3-64", "conv3-64"),
            ("conv3-128", "conv3-128"),
            ("conv3-256", "conv3-256", "conv3-256"),
            ("conv3-512", "conv3-512", "conv3-512"),
            ("conv3-512", "conv3-512", "conv3-512"),
        ),
        "E": (  # 19 weight layers: VGG-19
            ("conv3-64", "conv3-64"),
            ("conv3-128", "conv3-128"),
            ("conv3-256", "conv3-256", "conv3-256", "conv3-256"),
            ("conv3-512", "conv3-512", "conv3-512", "conv3-512"),
            ("conv3-512", "conv3-512", "conv3-512", "conv3-512"),
        ),
    }

    stages: tuple[tuple[str, ...], ...] = TABLE["D"]
    batch_norm: bool = False
    num_classes: int = 1000
    in_channels: int = 3
    image_size: int = 224
    fc_width: int = 4096
    dropout: float = 0.5

    @classmethod
    def a(cls, **overrides: object) -> "VGGConfig":
        """Configuration A of Table 1 (VGG-11)."""
        return cls(stages=cls.TABLE["A"], **overrides)

    @classmethod
    def b(cls, **overrides: object) -> "VGGConfig":
        """Configuration B of Table 1 (VGG-13)."""
        return cls(stages=cls.TABLE["B"], **overrides)

    @classmethod
    def c(cls, **overrides: object) -> "VGGConfig":
        """Configuration C of Table 1 (16 layers, three of them 1×1)."""
        return cls(stages=cls.TABLE["C"], **overrides)

    @classmethod
    def d(cls, **overrides: object) -> "VGGConfig":
        """Configuration D of Table 1 (VGG-16)."""
        return cls(stages=cls.TABLE["D"], **overrides)

    @classmethod
    def e(cls, **overrides: object) -> "VGGConfig":
        """Configuration E of Table 1 (VGG-19)."""
        return cls(stages=cls.TABLE["E"], **overrides)

    @classmethod
    def tiny(cls) -> "VGGConfig":
        """A small configuration for tests and examples: 32×32 input, 10 classes."""
        stages = (("conv3-8",), ("conv3-8", "conv3-8"), ("conv3-16",), ("conv3-16",), ("conv1-16",))
        return cls(stages=stages, num_classes=10, image_size=32, fc_width=32)


# --8<-- [end:config]


def parse_conv(spec: str) -> tuple[int, int]:
    """Read Table 1's notation.

    Args:
        spec: A layer such as `"conv3-256"`.

    Returns:
        `(kernel_size, out_channels)`, e.g. `(3, 256)`.
    """
    kernel_size, out_channels = spec.removeprefix("conv").split("-")
    return int(kernel_size), int(out_channels)


# --8<-- [start:stage]
def make_stage(
    index: int, in_channels: int, specs: tuple[str, ...], batch_norm: bool
) -> nn.Sequential:
    """One stage of Table 1: convolutions at a fixed resolution, then 2×2 max-pooling.

    Args:
        index: Stage number 1…5, used in the layer names (`conv3_2` = stage 3, layer 2).
        in_channels: Channels entering the stage.
        specs: The stage's convolutions in Table 1's notation.
        batch_norm: Insert BatchNorm after each convolution (not in the paper).

    Returns:
        The stage; it maps (B, C_in, H, W) to (B, C_out, H/2, W/2).
    """
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    for i, spec in enumerate(specs, start=1):
        kernel_size, out_channels = parse_conv(spec)
        # §2.1: stride 1, padding that preserves the resolution (1 for 3×3, 0 for 1×1)
        layers[f"conv{index}_{i}"] = nn.Conv2d(
            in_channels, out_channels, kernel_size, padding=kernel_size // 2
        )
        if batch_norm:  # Deviation: BatchNorm postdates the paper — torchvision's vgg*_bn
            layers[f"bn{index}_{i}"] = nn.BatchNorm2d(out_channels)
        layers[f"relu{index}_{i}"] = nn.ReLU()
        in_channels = out_channels
    layers[f"pool{index}"] = nn.MaxPool2d(kernel_size=2, stride=2)  # §2.1: 2×2, stride 2
    return nn.Sequential(layers)


# --8<-- [end:stage]


# --8<-- [start:model]
class VGG(nn.Module):
    """VGG (Table 1): five stages of small convolutions, then three fully-connected layers.

    Args:
        config: Hyper-parameters; `VGGConfig.d()` is VGG-16.
    """

    def __init__(self, config: VGGConfig) -> None:
        super().__init__()
        self.config = config
        stages: OrderedDict[str, nn.Module] = OrderedDict()
        channels = config.in_channels
        for index, specs in enumerate(config.stages, start=1):
            stages[f"stage{index}"] = make_stage(index, channels, specs, config.batch_norm)
            channels = parse_conv(specs[-1])[1]
        self.features = nn.Sequential(stages)
        self.flatten = nn.Flatten()
        side = config.image_size // 2 ** len(config.stages)  # 224 / 2⁵ = 7
        self.classifier = nn.Sequential(
            OrderedDict(
                fc6=nn.Linear(channels * side * side, config.fc_width),  # 25088 × 4096 weights
                relu6=nn.ReLU(),
                drop6=nn.Dropout(config.dropout),  # §3.1: dropout on the first two FC layers
                fc7=nn.Linear(config.fc_width, config.fc_width),
                relu7=nn.ReLU(),
                drop7=nn.Dropout(config.dropout),
                fc8=nn.Linear(config.fc_width, config.num_classes),
            )
        )
        self._init_weights()

    def _init_weights(self) -> None:
        """Glorot & Bengio (2010) initialisation, which §3.1 reports trains without pre-training."""
        for module in self.modules():
            if isinstance(module, nn.Conv2d | nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Classify a batch of images.

        Args:
            x: Images (B, C, H, W) with H = W = `config.image_size`.

        Returns:
            Logits (B, num_classes).
        """
        x = self.features(x)  # (B, 512, 7, 7)
        x = self.flatten(x)  # (B, 25088)
        return self.classifier(x)


# --8<-- [end:model]


# --8<-- [start:constructors]
def vgg11(**overrides: object) -> VGG:
    """VGG-11, configuration A (132,863,336 parameters); keywords override config fields."""
    return VGG(dataclasses.replace(VGGConfig.a(), **overrides))


def vgg13(**overrides: object) -> VGG:
    """VGG-13, configuration B (133,047,848 parameters); keywords override config fields."""
    return VGG(dataclasses.replace(VGGConfig.b(), **overrides))


def vgg16(**overrides: object) -> VGG:
    """VGG-16, configuration D (138,357,544 parameters); keywords override config fields."""
    return VGG(dataclasses.replace(VGGConfig.d(), **overrides))


def vgg19(**overrides: object) -> VGG:
    """VGG-19, configuration E (143,667,240 parameters); keywords override config fields."""
    return VGG(dataclasses.replace(VGGConfig.e(), **overrides))


# --8<-- [end:constructors]


# ── loading torchvision's weights ──────────────────────────────────────────────────────
def torchvision_names(model: VGG) -> dict[str, str]:
    """Torchvision's module names → ours, e.g. `features.2` → `features.stage2.conv2_1`.

    torchvision numbers the layers of `features` in one flat sequence (ReLU and pooling
    included) and those of `classifier` as Dropout-free positions 0, 3 and 6. Works for
    `vgg11` … `vgg19` and their `_bn` variants (build ours with `batch_norm=True`).
    """
    layers = [
        f"features.{stage}.{name}"
        for stage, block in model.features.named_children()
        for name, _ in block.named_children()
    ]
    names = {f"features.{i}": ours for i, ours in enumerate(layers)}
    fc = {"classifier.0": "classifier.fc6", "classifier.3": "classifier.fc7"}
    return names | fc | {"classifier.6": "classifier.fc8"}


def load_torchvision(model: VGG, state_dict: dict[str, torch.Tensor]) -> None:
    """Load a state dict of torchvision's `vgg11` … `vgg19_bn` into the matching model of ours.

    torchvision's adaptive 7×7 average pooling is the identity for 224×224 inputs, the only
    size our fc6 accepts.
    """
    names = torchvision_names(model)
    renamed = {}
    for key, value in state_dict.items():
        module, leaf = key.rsplit(".", 1)
        renamed[f"{names[module]}.{leaf}"] = value
    model.load_state_dict(renamed)


__all__ = [
    "VGG",
    "VGGConfig",
    "load_torchvision",
    "make_stage",
    "parse_conv",
    "torchvision_names",
    "vgg11",
    "vgg13",
    "vgg16",
    "vgg19",
]


if __name__ == "__main__":
    config = VGGConfig.tiny()
    model = VGG(config)
    logits = model(torch.randn(2, config.in_channels, config.image_size, config.image_size))
    print(logits.shape)  # torch.Size([2, 10])
