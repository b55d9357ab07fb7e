import dataclasses

import pytest
import torch
from torch import nn

from reference_impl.vgg import VGG, VGGConfig, make_stage, vgg11, vgg13, vgg16, vgg19

META = torch.device("meta")


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (vgg11, 132_863_336),
        (vgg13, 133_047_848),
        (lambda: VGG(VGGConfig.c()), 133_638_952),
        (vgg16, 138_357_544),
        (vgg19, 143_667_240),
        (lambda: vgg16(batch_norm=True), 138_365_992),
    ],
    ids=["vgg11", "vgg13", "config-c", "vgg16", "vgg19", "vgg16-bn"],
)
def test_parameter_counts(build, expected: int) -> None:
    with META:
        model = build()
    assert n_params(model) == expected


def test_batch_norm_adds_two_parameters_per_channel() -> None:
    with META:
        plain, bn = vgg16(), vgg16(batch_norm=True)
    conv_channels = sum(m.out_channels for m in plain.modules() if isinstance(m, nn.Conv2d))
    assert conv_channels == 4224
    assert n_params(bn) - n_params(plain) == 2 * conv_channels == 8448


def test_fc6_holds_most_parameters() -> None:
    with META:
        model = vgg16()
    assert n_params(model.classifier.fc6) == 512 * 7 * 7 * 4096 + 4096 == 102_764_544
    assert model.classifier.fc6.in_features == 25088


def test_module_names() -> None:
    with META:
        model = vgg16(batch_norm=True)
    assert [name for name, _ in model.named_children()] == ["features", "flatten", "classifier"]
    assert [name for name, _ in model.features.named_children()] == [
        f"stage{i}" for i in range(1, 6)
    ]
    assert [name for name, _ in model.features.stage3.named_children()] == [
        "conv3_1", "bn3_1", "relu3_1", "conv3_2", "bn3_2", "relu3_2",
        "conv3_3", "bn3_3", "relu3_3", "pool3",
    ]  # fmt: skip
    assert [name for name, _ in model.classifier.named_children()] == [
        "fc6", "relu6", "drop6", "fc7", "relu7", "drop7", "fc8",
    ]  # fmt: skip


def test_config_c_uses_1x1_convolutions() -> None:
    with META:
        model = VGG(VGGConfig.c())
    assert [model.features.get_submodule(f"stage{s}.conv{s}_3").kernel_size for s in (3, 4, 5)] == [
        (1, 1)
    ] * 3
    assert [m.kernel_size for m in model.features.stage2.modules() if isinstance(m, nn.Conv2d)] == [
        (3, 3)
    ] * 2


@pytest.mark.parametrize("build", [vgg11, vgg19, lambda: vgg16(batch_norm=True)])
def test_forward_shape_paper_size(build) -> None:
    with META:
        model = build()
        x = torch.empty(2, 3, 224, 224)
        assert model.features(x).shape == (2, 512, 7, 7)
        assert model(x).shape == (2, 1000)


@pytest.mark.parametrize(("n_convs", "window"), [(2, 5), (3, 7)])
def test_stacked_3x3_convolutions_see_a_window(n_convs: int, window: int) -> None:
    """§2.3: two stacked 3×3 convolutions see 5×5, three see 7×7, nothing outside."""
    stage = make_stage(1, 2, ("conv3-3",) * n_convs, batch_norm=False)
    convs = nn.Sequential(*list(stage.children())[:-1]).double()  # without the pooling layer
    with torch.no_grad():
        for m in convs.modules():
            if isinstance(m, nn.Conv2d):  # positive weights: no cancellation, ReLU passes
                m.weight.uniform_(0.1, 1.0)
                m.bias.zero_()
    side, centre = 15, 7
    torch.manual_seed(0)
    x = torch.rand(1, 2, side, side, dtype=torch.float64) + 0.5
    perturbed = x.repeat(side * side, 1, 1, 1)  # one copy per input pixel …
    idx = torch.arange(side * side)
    perturbed[idx, :, idx // side, idx % side] += 1.0  # … with that pixel raised
    with torch.no_grad():
        base = convs(x)[0, :, centre, centre]
        out = convs(perturbed)[:, :, centre, centre]
    # a raised pixel inside the window raises the output by ≥ 0.1ⁿ; 1e-9 is rounding only
    changed = ((out - base).abs() > 1e-9).any(dim=1).reshape(side, side)
    half = window // 2
    expected = torch.zeros(side, side, dtype=torch.bool)
    expected[centre - half : centre + half + 1, centre - half : centre + half + 1] = True
    assert torch.equal(changed, expected)


def test_two_3x3_convolutions_have_fewer_weights_than_one_5x5() -> None:
    """§2.3: 2·(3²C²) = 18C² weights for a 5×5 receptive field instead of 25C²."""
    c = 64
    stage = make_stage(2, c, ("conv3-64", "conv3-64"), batch_norm=False)
    weights = sum(m.weight.numel() for m in stage.modules() if isinstance(m, nn.Conv2d))
    assert weights == 18 * c * c < nn.Conv2d(c, c, 5).weight.numel() == 25 * c * c


@pytest.mark.parametrize("batch_norm", [False, True])
def test_tiny_forward_and_finite_gradients(batch_norm: bool) -> None:
    torch.manual_seed(0)
    config = dataclasses.replace(VGGConfig.tiny(), batch_norm=batch_norm)
    model = VGG(config)
    x = torch.randn(4, 3, config.image_size, config.image_size)
    logits = model(x)
    assert logits.shape == (4, config.num_classes)
    torch.nn.functional.cross_entropy(logits, torch.arange(4)).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


def test_every_stage_halves_the_resolution() -> None:
    config = VGGConfig.tiny()
    x = torch.randn(1, 3, config.image_size, config.image_size)
    sides = []
    for stage in VGG(config).features:
        x = stage(x)
        sides.append(x.shape[-1])
    assert sides == [16, 8, 4, 2, 1]
