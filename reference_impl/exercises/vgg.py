r"""Solutions of the VGG page's 代码 exercises (tests: ``tests/test_exercises_vgg.py``).

Dense evaluation (§3.2 of the paper): at test time the fully-connected layers become
convolutions — fc6 a 7×7 convolution, fc7 and fc8 1×1 convolutions — with the same weights.
The network is then fully convolutional, runs on the whole uncropped image, and returns a class
score map whose spatial average gives the image's scores.
"""

import torch
from torch import nn

from reference_impl.vgg import VGG


# --8<-- [start:fully-convolutional]
def fully_convolutional(model: VGG) -> nn.Sequential:
    """The same network with fc6 → k×k convolution (k = 7 for 224 input), fc7, fc8 → 1×1.

    Args:
        model: A VGG; its weights are copied, the model itself is not changed.

    Returns:
        A module mapping images (B, C, H, W) to class score maps (B, classes, H/32 − k + 1, …).
    """
    cfg = model.config
    fc6, fc7, fc8 = model.classifier.fc6, model.classifier.fc7, model.classifier.fc8
    k = cfg.image_size // 2 ** len(cfg.stages)  # side of the last feature map: 224 / 2⁵ = 7
    channels = fc6.in_features // (k * k)  # 25088 / 49 = 512
    conv6 = nn.Conv2d(channels, fc6.out_features, kernel_size=k)
    conv7 = nn.Conv2d(fc7.in_features, fc7.out_features, kernel_size=1)
    conv8 = nn.Conv2d(fc8.in_features, fc8.out_features, kernel_size=1)
    with torch.no_grad():
        # nn.Flatten ordered fc6's inputs as (channel, row, column): undo it into a kernel
        conv6.weight.copy_(fc6.weight.view(fc6.out_features, channels, k, k))
        conv7.weight.copy_(fc7.weight[:, :, None, None])  # (out, in) → (out, in, 1, 1)
        conv8.weight.copy_(fc8.weight[:, :, None, None])
        for conv, fc in ((conv6, fc6), (conv7, fc7), (conv8, fc8)):
            conv.bias.copy_(fc.bias)
    fc6_block = (conv6, nn.ReLU(), nn.Dropout(cfg.dropout))  # as relu6, drop6
    fc7_block = (conv7, nn.ReLU(), nn.Dropout(cfg.dropout))  # as relu7, drop7
    return nn.Sequential(model.features, *fc6_block, *fc7_block, conv8)


def dense_scores(net: nn.Sequential, images: torch.Tensor) -> torch.Tensor:
    """Class scores of whole images (§3.2): the class score map, spatially averaged.

    Args:
        net: From `fully_convolutional`.
        images: (B, C, H, W), any H, W ≥ the training size.

    Returns:
        (B, classes).
    """
    return net(images).mean(dim=(2, 3))  # (B, classes, h, w) → (B, classes)


# --8<-- [end:fully-convolutional]
