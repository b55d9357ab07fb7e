import dataclasses

import pytest
import torch

from reference_impl.alexnet import AlexNet, AlexNetConfig, alexnet, local_response_norm

META = torch.device("meta")


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_parameter_count_of_the_paper() -> None:
    with META:
        model = alexnet()
    assert n_params(model) == 60_965_224


def test_parameter_count_per_layer() -> None:
    with META:
        model = alexnet()
    counts = {name: n_params(m) for name, m in model.named_modules() if name.count(".") == 1}
    assert {k: v for k, v in counts.items() if v} == {
        "features.conv1": 96 * 3 * 11 * 11 + 96,
        "features.conv2": 256 * 48 * 5 * 5 + 256,  # groups=2: each kernel sees 48 maps (§3.5)
        "features.conv3": 384 * 256 * 3 * 3 + 384,  # sees all 256 maps
        "features.conv4": 384 * 192 * 3 * 3 + 384,
        "features.conv5": 256 * 192 * 3 * 3 + 256,
        "classifier.fc6": 9216 * 4096 + 4096,
        "classifier.fc7": 4096 * 4096 + 4096,
        "classifier.fc8": 4096 * 1000 + 1000,
    }


def test_module_names() -> None:
    with META:
        model = alexnet()
    assert [name for name, _ in model.named_children()] == ["features", "flatten", "classifier"]
    assert [name for name, _ in model.features.named_children()] == [
        "conv1", "relu1", "norm1", "pool1",
        "conv2", "relu2", "norm2", "pool2",
        "conv3", "relu3", "conv4", "relu4", "conv5", "relu5", "pool5",
    ]  # fmt: skip
    # §4.2: dropout acts on the outputs of fc6 and fc7
    assert [name for name, _ in model.classifier.named_children()] == [
        "fc6", "relu6", "drop6", "fc7", "relu7", "drop7", "fc8",
    ]  # fmt: skip


def test_forward_shape_paper_size() -> None:
    with META:
        model = alexnet()
        logits = model(torch.empty(2, 3, 227, 227))
    assert logits.shape == (2, 1000)


def test_spatial_size_after_each_layer() -> None:
    with META:
        model = alexnet()
        x = torch.empty(1, 3, 227, 227)
    sides = {}
    for name, layer in model.features.named_children():
        x = layer(x)
        sides[name] = x.shape[-1]
    assert [sides[k] for k in ("conv1", "pool1", "pool2", "conv3", "conv4", "conv5", "pool5")] == [
        55, 27, 13, 13, 13, 13, 6,
    ]  # fmt: skip
    assert sides["conv2"] == 27
    assert x.shape == (1, 256, 6, 6)


def test_lrn_equals_the_papers_formula() -> None:
    config = AlexNetConfig()
    k, n, alpha, beta = config.lrn_k, config.lrn_size, config.lrn_alpha, config.lrn_beta
    torch.manual_seed(0)
    a = 30.0 * torch.rand(2, 7, 3, 4, dtype=torch.float64)  # large enough that the sum matters
    expected = torch.empty_like(a)
    n_maps = a.shape[1]
    for i in range(n_maps):  # §3.3: sum over j = max(0, i − n/2) … min(N − 1, i + n/2)
        lo, hi = max(0, i - n // 2), min(n_maps - 1, i + n // 2)
        sum_sq = (a[:, lo : hi + 1] ** 2).sum(dim=1)
        expected[:, i] = a[:, i] / (k + alpha * sum_sq) ** beta
    assert torch.allclose(local_response_norm(config)(a), expected, rtol=1e-12, atol=0)
    # torch's own alpha would scale the sum by alpha / n: a different function
    plain = torch.nn.LocalResponseNorm(n, alpha=alpha, beta=beta, k=k)(a)
    assert not torch.allclose(plain, expected, rtol=1e-3)


@pytest.mark.parametrize("layer", ["conv2", "conv4", "conv5"])
def test_grouped_layers_see_only_their_own_tower(layer: str) -> None:
    torch.manual_seed(0)
    conv = getattr(AlexNet(AlexNetConfig.tiny()).features, layer)
    c_in, c_out = conv.in_channels, conv.out_channels
    x = torch.randn(1, c_in, 7, 7)
    x2 = x.clone()
    x2[:, c_in // 2 :] += torch.randn(1, c_in - c_in // 2, 7, 7)  # perturb GPU 2's maps
    y, y2 = conv(x), conv(x2)
    assert torch.equal(y[:, : c_out // 2], y2[:, : c_out // 2])  # GPU 1's kernels: unchanged
    assert not torch.allclose(y[:, c_out // 2 :], y2[:, c_out // 2 :])


def test_conv3_sees_both_towers() -> None:
    torch.manual_seed(0)
    conv = AlexNet(AlexNetConfig.tiny()).features.conv3
    x = torch.randn(1, conv.in_channels, 7, 7)
    x2 = x.clone()
    x2[:, conv.in_channels // 2 :] += 1.0
    assert not torch.allclose(
        conv(x)[:, : conv.out_channels // 2], conv(x2)[:, : conv.out_channels // 2]
    )


def test_single_tower_has_more_parameters() -> None:
    with META:
        one = alexnet(groups=1)
    # conv2, conv4 and conv5 kernels then see all maps: twice their weights
    assert n_params(one) - 60_965_224 == 256 * 48 * 25 + 384 * 192 * 9 + 256 * 192 * 9


def test_initialisation_of_section_5() -> None:
    torch.manual_seed(0)
    model = AlexNet(AlexNetConfig.tiny())
    for name in ("conv1", "conv3"):
        assert torch.all(getattr(model.features, name).bias == 0)
    for name in ("conv2", "conv4", "conv5"):
        assert torch.all(getattr(model.features, name).bias == 1)
    assert torch.all(model.classifier.fc6.bias == 1) and torch.all(model.classifier.fc8.bias == 0)
    assert abs(model.classifier.fc6.weight.std().item() - 0.01) < 5e-4


def test_tiny_forward_and_finite_gradients() -> None:
    torch.manual_seed(0)
    config = AlexNetConfig.tiny()
    model = AlexNet(config)
    x = torch.randn(4, 3, config.image_size, config.image_size)
    logits = model(x)
    assert logits.shape == (4, config.num_classes)
    torch.nn.functional.cross_entropy(logits, torch.arange(4)).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


def test_config_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        AlexNetConfig().groups = 1  # type: ignore[misc]


def test_torchvision_layout_constructor() -> None:
    from reference_impl.alexnet import TORCHVISION_NAMES, alexnet_torchvision

    with META:
        model = alexnet_torchvision()
        logits = model(torch.empty(2, 3, 224, 224))
    assert logits.shape == (2, 1000)
    assert n_params(model) == 61_100_840  # torchvision.models.alexnet()
    widths = [model.features.get_submodule(m.split(".")[1]).out_channels
              for m in list(TORCHVISION_NAMES.values())[:5]]  # fmt: skip
    assert widths == [64, 192, 384, 256, 256]
    assert all(model.features.get_submodule(f"conv{i}").groups == 1 for i in range(1, 6))


def test_torchvision_layout_normalisation_is_the_identity() -> None:
    from reference_impl.alexnet import alexnet_torchvision

    norm = alexnet_torchvision().features.norm1
    x = torch.randn(2, 64, 5, 5)
    torch.testing.assert_close(norm(x), x, rtol=0, atol=0)
