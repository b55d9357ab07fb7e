r"""AlexNet: ImageNet Classification with Deep Convolutional Neural Networks.

Alex Krizhevsky, Ilya Sutskever, Geoffrey E. Hinton. *Advances in Neural Information Processing
Systems 25* (NeurIPS 2012), pp. 1097–1105. No arXiv version; proceedings:
https://papers.nips.cc/paper_files/paper/2012/hash/c399862d3b9d6b76c8436e924a68c45b-Abstract.html

Implemented (section numbers of the paper):

- §3.5 / Fig. 2: five convolutional layers (96 11×11 stride 4; 256 5×5; 384 3×3; 384 3×3;
  256 3×3) and three fully-connected layers (4096, 4096, 1000); 60,965,224 parameters for
  1000 classes (the abstract's "60 million").
- §3.1: ReLU after every convolutional and fully-connected layer except the last.
- §3.2: the two-GPU split as `groups=2` on conv2, conv4 and conv5, whose kernels see only the
  maps of their own GPU; conv3 and the fully-connected layers see both halves.
- §3.3: local response normalisation after the ReLU of conv1 and conv2,
  $b^i_{x,y} = a^i_{x,y} \big/ \big(k + \alpha \sum_{j=\max(0,\,i-n/2)}^{\min(N-1,\,i+n/2)}
  (a^j_{x,y})^2\big)^{\beta}$ with $k=2$, $n=5$, $\alpha=10^{-4}$, $\beta=0.75$.
- §3.4: overlapping max-pooling, $z = 3$, $s = 2$, after both normalisation layers and conv5.
- §4.2: dropout 0.5 on the outputs of the first two fully-connected layers (fc6, fc7).
- §5: weights $\mathcal{N}(0, 0.01^2)$; biases 1 in conv2, conv4, conv5, fc6, fc7 and 0 elsewhere.

Deviations:

- Input 227×227, not the 224×224 of §3.5: an unpadded 11×11 stride-4 convolution yields the
  55×55 maps of Fig. 2 only from 227 pixels ($(227 - 11)/4 + 1 = 55$).
- One device instead of two GPUs: the split is `groups=2`. The response normalisation runs over
  all $N$ maps of a layer, as the formula of §3.3 states; an implementation that normalises
  each GPU's half separately differs on the two maps either side of the boundary.
- No data augmentation (random 224 crops, flips, PCA colour jitter of §4.1) and no 10-crop
  test averaging: those belong to the data pipeline, not to the model.
- The model returns logits; the 1000-way softmax of §3.5 is left to the loss.
- Not torchvision's `alexnet`: that is the single-tower variant of Krizhevsky, "One weird trick
  for parallelizing convolutional neural networks" (2014, arXiv:1404.5997), with widths
  64/192/384/256/256, no normalisation, 224 input, adaptive average pooling to 6×6 and
  61,100,840 parameters.
"""

import dataclasses
from collections import OrderedDict
from dataclasses import dataclass

import torch
from torch import nn


# --8<-- [start:config]
@dataclass(frozen=True)
class AlexNetConfig:
    r"""Hyper-parameters of AlexNet; the defaults are the paper's (§3.3–§3.5, §4.2).

    Attributes:
        num_classes: Size of the output layer (1000 ImageNet classes).
        in_channels: Channels of the input image (RGB).
        image_size: Side of the square input; 227 gives the 55×55 conv1 maps of Fig. 2.
        conv_channels: Kernels of conv1…conv5, both GPUs together (48 + 48 = 96, …).
        fc_width: Neurons in each of fc6 and fc7.
        groups: GPU towers; conv2, conv4 and conv5 see only their own tower's maps (§3.2).
        dropout: Drop probability on the outputs of fc6 and fc7 (§4.2).
        lrn_size: $n$, adjacent kernel maps summed over in the normalisation (§3.3).
        lrn_alpha: $\alpha$ of §3.3 (applied to the plain sum, not divided by $n$).
        lrn_beta: $\beta$ of §3.3.
        lrn_k: $k$ of §3.3.
        conv1_padding: Zero padding of conv1 (0 in the paper; 2 in torchvision's layout).
    """

    num_classes: int = 1000
    in_channels: int = 3
    image_size: int = 227  # Deviation: 227, not 224 — only 227 gives 55×55 after conv1
    conv_channels: tuple[int, int, int, int, int] = (96, 256, 384, 384, 256)
    fc_width: int = 4096
    groups: int = 2  # two GTX 580 GPUs with 3 GB each (§3.2)
    dropout: float = 0.5
    lrn_size: int = 5
    lrn_alpha: float = 1e-4
    lrn_beta: float = 0.75
    lrn_k: float = 2.0  # chosen on a validation set (§3.3)
    conv1_padding: int = 0

    @classmethod
    def tiny(cls) -> "AlexNetConfig":
        """A small configuration for tests and examples: 99×99 input, 10 classes."""
        return cls(num_classes=10, image_size=99, conv_channels=(8, 16, 16, 16, 16), fc_width=32)


# --8<-- [end:config]


def pool5_size(image_size: int, conv1_padding: int = 0) -> int:
    """Side of the pool5 maps: conv1 (11×11, stride 4) then three 3×3/2 poolings.

    Args:
        image_size: Side of the square input image.
        conv1_padding: Zero padding of conv1 (none in the paper).

    Returns:
        Side of the square maps entering fc6 (6 for a 227×227 input).
    """
    size = (
        image_size + 2 * conv1_padding - 11
    ) // 4 + 1  # conv1; conv2…conv5 keep the size (padding 2, 1, 1, 1)
    for _ in range(3):  # pool1, pool2, pool5: overlapping pooling z = 3, s = 2 (§3.4)
        size = (size - 3) // 2 + 1
    return size


def local_response_norm(config: AlexNetConfig) -> nn.LocalResponseNorm:
    r"""Response normalisation of §3.3 with the paper's $\alpha$.

    torch computes $k + \frac{\alpha'}{n}\sum_j a_j^2$; the paper has $k + \alpha\sum_j a_j^2$.
    Passing $\alpha' = \alpha n$ makes the module compute the paper's formula. The window,
    channels $i-2 \dots i+2$ for $n = 5$ and clipped at the ends, is the same in both.

    Args:
        config: Supplies $n$, $\alpha$, $\beta$ and $k$.

    Returns:
        The normalisation module.
    """
    return nn.LocalResponseNorm(
        size=config.lrn_size,
        alpha=config.lrn_alpha * config.lrn_size,  # undo torch's division by n (§3.3)
        beta=config.lrn_beta,
        k=config.lrn_k,
    )


# --8<-- [start:model]
class AlexNet(nn.Module):
    """AlexNet (§3.5, Fig. 2): five convolutional and three fully-connected layers.

    Args:
        config: Hyper-parameters; `AlexNetConfig()` is the paper's network.
    """

    def __init__(self, config: AlexNetConfig) -> None:
        super().__init__()
        self.config = config
        c1, c2, c3, c4, c5 = config.conv_channels
        g = config.groups
        self.features = nn.Sequential(
            OrderedDict(
                conv1=nn.Conv2d(
                    config.in_channels, c1, kernel_size=11, stride=4, padding=config.conv1_padding
                ),
                relu1=nn.ReLU(),
                norm1=local_response_norm(config),  # §3.3: normalise after the ReLU
                pool1=nn.MaxPool2d(kernel_size=3, stride=2),  # §3.4: z = 3 > s = 2, overlapping
                conv2=nn.Conv2d(c1, c2, kernel_size=5, padding=2, groups=g),  # §3.2: own GPU
                relu2=nn.ReLU(),
                norm2=local_response_norm(config),
                pool2=nn.MaxPool2d(kernel_size=3, stride=2),
                conv3=nn.Conv2d(c2, c3, kernel_size=3, padding=1),  # §3.2: sees both GPUs
                relu3=nn.ReLU(),
                conv4=nn.Conv2d(c3, c4, kernel_size=3, padding=1, groups=g),
                relu4=nn.ReLU(),
                conv5=nn.Conv2d(c4, c5, kernel_size=3, padding=1, groups=g),
                relu5=nn.ReLU(),
                pool5=nn.MaxPool2d(kernel_size=3, stride=2),
            )
        )
        self.flatten = nn.Flatten()
        side = pool5_size(config.image_size, config.conv1_padding)
        self.classifier = nn.Sequential(
            OrderedDict(
                fc6=nn.Linear(c5 * side * side, config.fc_width),
                relu6=nn.ReLU(),
                drop6=nn.Dropout(config.dropout),  # §4.2: drop the outputs of fc6 …
                fc7=nn.Linear(config.fc_width, config.fc_width),
                relu7=nn.ReLU(),
                drop7=nn.Dropout(config.dropout),  # … and of fc7
                fc8=nn.Linear(config.fc_width, config.num_classes),
            )
        )
        self._init_weights()

    def _init_weights(self) -> None:
        """§5: weights N(0, 0.01²); bias 1 where it gives ReLUs positive inputs early, else 0."""
        ones = {"features.conv2", "features.conv4", "features.conv5"}
        ones |= {"classifier.fc6", "classifier.fc7"}
        for name, module in self.named_modules():
            if isinstance(module, nn.Conv2d | nn.Linear):
                nn.init.normal_(module.weight, mean=0.0, std=0.01)
                nn.init.constant_(module.bias, 1.0 if name in ones else 0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Classify a batch of images.

        Args:
            x: Images (B, C, H, W) with H = W = `config.image_size`.

        Returns:
            Logits (B, num_classes).
        """
        x = self.features(x)  # (B, 256, 6, 6)
        x = self.flatten(x)  # (B, 9216)
        return self.classifier(x)


# --8<-- [end:model]


# --8<-- [start:constructors]
def alexnet(**overrides: object) -> AlexNet:
    """AlexNet of the paper (60,965,224 parameters); keyword arguments override config fields."""
    return AlexNet(dataclasses.replace(AlexNetConfig(), **overrides))


# --8<-- [end:constructors]


# ── loading torchvision's weights ──────────────────────────────────────────────────────
def alexnet_torchvision(**overrides: object) -> AlexNet:
    r"""The single-tower AlexNet of torchvision (61,100,840 parameters), for `load_torchvision`.

    That network ("One weird trick", arXiv:1404.5997) has widths 64/192/384/256/256, one tower,
    conv1 padded by 2 and no response normalisation: here $\alpha = 0$, $k = 1$ make both
    normalisation layers the identity. 224×224 input. Its dropout sits before fc6 and fc7
    instead of after them, which changes nothing at evaluation time.
    """
    config = AlexNetConfig(
        image_size=224,
        conv_channels=(64, 192, 384, 256, 256),
        groups=1,
        lrn_alpha=0.0,
        lrn_k=1.0,
        conv1_padding=2,
    )
    return AlexNet(dataclasses.replace(config, **overrides))


# torchvision's positional names → ours (only layers with weights)
TORCHVISION_NAMES = {
    "features.0": "features.conv1",
    "features.3": "features.conv2",
    "features.6": "features.conv3",
    "features.8": "features.conv4",
    "features.10": "features.conv5",
    "classifier.1": "classifier.fc6",
    "classifier.4": "classifier.fc7",
    "classifier.6": "classifier.fc8",
}


def load_torchvision(model: AlexNet, state_dict: dict[str, torch.Tensor]) -> None:
    """Load a state dict of torchvision's `alexnet` into `alexnet_torchvision()`.

    Args:
        model: Built by `alexnet_torchvision()` (the paper's two-tower net has other shapes).
        state_dict: `torchvision.models.alexnet(...).state_dict()` or its saved checkpoint.
    """
    renamed = {}
    for key, value in state_dict.items():
        module, leaf = key.rsplit(".", 1)
        renamed[f"{TORCHVISION_NAMES[module]}.{leaf}"] = value
    model.load_state_dict(renamed)


__all__ = [
    "TORCHVISION_NAMES",
    "AlexNet",
    "AlexNetConfig",
    "alexnet",
    "alexnet_torchvision",
    "load_torchvision",
    "local_response_norm",
    "pool5_size",
]


if __name__ == "__main__":
    config = AlexNetConfig.tiny()
    model = AlexNet(config)
    logits = model(torch.randn(2, config.in_channels, config.image_size, config.image_size))
    print(logits.shape)  # torch.Size([2, 10])
