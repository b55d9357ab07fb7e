r"""Solutions of the AlexNet page's 代码 exercises (tests: ``tests/test_exercises_alexnet.py``).

Non-overlapping pooling, the baseline of §3.4 of the paper: AlexNet pools with windows of
$z = 3$ pixels every $s = 2$ pixels, so neighbouring windows overlap; the traditional
$z = s = 2$ "produces output of equivalent dimensions" and was 0.4% / 0.3% worse (top-1 / top-5).
The receptive field of a unit follows from the kernel sizes and strides alone.
"""

from torch import nn

from reference_impl.alexnet import AlexNet


# --8<-- [start:non-overlapping-pooling]
def non_overlapping_pooling(model: AlexNet) -> AlexNet:
    """Replace pool1, pool2 and pool5 (z = 3, s = 2) by z = s = 2 pooling, in place."""
    for name in ("pool1", "pool2", "pool5"):
        setattr(model.features, name, nn.MaxPool2d(kernel_size=2, stride=2))  # §3.4: s = z
    return model


def receptive_field(features: nn.Sequential) -> int:
    """Side of the input region one output unit of `features` sees (convolutions and pooling).

    Each layer widens the field by (k − 1) times the distance `jump` between neighbouring
    units of its input, measured in input pixels; its stride multiplies that distance.
    """
    field, jump = 1, 1
    for layer in features:
        if isinstance(layer, nn.Conv2d | nn.MaxPool2d):
            k = layer.kernel_size if isinstance(layer.kernel_size, int) else layer.kernel_size[0]
            s = layer.stride if isinstance(layer.stride, int) else layer.stride[0]
            field += (k - 1) * jump  # r ← r + (k − 1)·j
            jump *= s  # j ← j·s
    return field


# --8<-- [end:non-overlapping-pooling]
