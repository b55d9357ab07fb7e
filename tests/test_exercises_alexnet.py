"""The AlexNet page's exercises: computed answers against hand formulas, the solution's effect."""

from __future__ import annotations

import copy

import torch
from torch import nn

from reference_impl import alexnet
from reference_impl.exercises.alexnet import non_overlapping_pooling, receptive_field
from tools.generator import exercises as ex

ANSWERS = {e.id: e for e in ex.load("alexnet")}
TOTAL = 60_965_224  # the paper's network, as the page and tests/test_alexnet.py state


def value(exercise_id: str) -> float:
    return ANSWERS[exercise_id].computed.value


def conv(c_in: int, c_out: int, k: int, groups: int = 1) -> int:
    return c_out * (c_in // groups) * k * k  # weights only: the biases do not change


def out_side(side: int, k: int, s: int, pad: int = 0) -> int:
    return (side + 2 * pad - k) // s + 1


def test_two_towers():
    pairs = [(96, 256, 5), (384, 384, 3), (384, 256, 3)]  # conv2, conv4, conv5
    saved = sum(conv(a, b, k) - conv(a, b, k, groups=2) for a, b, k in pairs)
    assert value("alexnet-two-towers") == saved
    assert round(100 * saved / TOTAL, 1) == 2.3  # "约占全网参数的 2.3%"


def test_fc6_at_224():
    sides = [out_side(224, 11, 4)]  # conv1
    for _ in range(3):  # pool1, pool2, pool5 (the convolutions in between keep the size)
        sides.append(out_side(sides[-1], 3, 2))
    assert sides == [54, 26, 12, 5]  # the derivation in the answer
    assert value("alexnet-fc6-at-224") == 5 * 5 * 256 * 4096 + 4096
    assert 5 * 5 * 256 == 6400
    assert (9216 - 6400) * 4096 == 11_534_336  # "参数少了 11,534,336 个"


def test_macs_and_the_share_of_the_convolutions():
    side = {1: 55, 2: 27, 3: 13, 4: 13, 5: 13}
    convs = [
        side[1] ** 2 * conv(3, 96, 11),
        side[2] ** 2 * conv(96, 256, 5, groups=2),
        side[3] ** 2 * conv(256, 384, 3),
        side[4] ** 2 * conv(384, 384, 3, groups=2),
        side[5] ** 2 * conv(384, 256, 3, groups=2),
    ]
    fcs = 9216 * 4096 + 4096 * 4096 + 4096 * 1000
    assert value("alexnet-macs") == sum(convs) + fcs
    assert round(value("alexnet-macs") / 1e8, 2) == 7.24  # "约 7.24 亿次"
    assert round(sum(convs) / 1e8, 2) == 6.66  # "约 6.66 亿次"
    assert round(100 * sum(convs) / value("alexnet-macs")) == 92  # "占 92%"


def test_convolutions_hold_less_than_four_percent_of_the_parameters():
    with torch.device("meta"):
        model = alexnet.alexnet()
    assert ex.n_params(model) == TOTAL
    assert ex.n_params(model.features) / TOTAL < 0.04  # "不到 4%" (two exercises say it)


def _measured_field(features: nn.Sequential, image_size: int, unit: int) -> int:
    """Rows of the input that reach one output unit, by autograd on a linear copy.

    ReLU and LRN become the identity, max-pooling becomes average pooling over the same window
    (max-pooling would pass the gradient to one input only), every weight is 1: each input
    pixel inside the field then has a positive gradient and every one outside has none.
    """
    layers = []
    for layer in features:
        if isinstance(layer, nn.MaxPool2d):
            layers.append(nn.AvgPool2d(layer.kernel_size, layer.stride))
        elif isinstance(layer, nn.Conv2d):
            layers.append(copy.deepcopy(layer))  # the model itself stays untouched
        else:
            layers.append(nn.Identity())
    linear = nn.Sequential(*layers).double()
    with torch.no_grad():
        for layer in linear:
            if isinstance(layer, nn.Conv2d):
                layer.weight.fill_(1.0)
                layer.bias.zero_()
    x = torch.zeros(1, 3, image_size, image_size, dtype=torch.float64, requires_grad=True)
    linear(x)[0, 0, unit, unit].backward()
    rows = x.grad[0].abs().sum(dim=(0, 2)).nonzero()
    return int(rows.max() - rows.min() + 1)


def test_non_overlapping_pooling_keeps_shapes_and_parameters():
    with torch.device("meta"):
        overlapping = alexnet.alexnet()
        plain = non_overlapping_pooling(alexnet.alexnet())
        image = torch.empty(1, 3, 227, 227)
        assert plain.features(image).shape == overlapping.features(image).shape == (1, 256, 6, 6)
    assert ex.n_params(plain) == ex.n_params(overlapping)
    assert [plain.features.pool1.kernel_size, plain.features.pool1.stride] == [2, 2]


def test_non_overlapping_pooling_shrinks_the_receptive_field():
    narrow = dict(conv_channels=(2, 2, 2, 2, 2), fc_width=2)  # the field ignores the widths
    torch.manual_seed(0)
    overlapping = alexnet.alexnet(**narrow)
    plain = non_overlapping_pooling(alexnet.alexnet(**narrow))
    assert receptive_field(overlapping.features) == 195
    assert receptive_field(plain.features) == 167
    # measured independently, on a pool5 unit whose field lies inside the image
    assert _measured_field(overlapping.features, 227, unit=3) == 195
    assert _measured_field(plain.features, 227, unit=3) == 167
    assert 195 - 167 == 4 + 8 + 16  # the answer's account: one pixel less per pool, times the jump
    # the model still runs end to end
    assert plain(torch.randn(1, 3, 227, 227)).shape == (1, 1000)
