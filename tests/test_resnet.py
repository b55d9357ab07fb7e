import dataclasses

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from reference_impl.resnet import (
    BasicBlock,
    Bottleneck,
    ResNet,
    ResNetConfig,
    plain18,
    plain34,
    resnet18,
    resnet34,
    resnet50,
    resnet101,
    resnet152,
)

META = torch.device("meta")


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def macs(model: nn.Module, side: int = 224) -> float:
    """Multiply-accumulates of one image: FlopCounterMode counts 2 FLOPs per MAC (conv, mm)."""
    with FlopCounterMode(display=False) as counter:
        model(torch.empty(1, 3, side, side, device=META))
    return counter.get_total_flops() / 2


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (resnet18, 11_689_512),
        (resnet34, 21_797_672),
        (resnet50, 25_557_032),
        (resnet101, 44_549_160),
        (resnet152, 60_192_808),
        (plain18, 11_515_688),
        (plain34, 21_623_848),
    ],
    ids=lambda v: getattr(v, "__name__", str(v)),
)
def test_parameter_counts(build, expected: int) -> None:
    with META:
        model = build()
    assert n_params(model) == expected


def test_plain34_is_resnet34_without_its_three_projections() -> None:
    with META:
        res, plain = resnet34(), plain34()
    projections = {
        n: m for n, m in res.named_modules() if n.endswith("downsample") and m is not None
    }
    assert sorted(projections) == [
        "layer2.0.downsample",
        "layer3.0.downsample",
        "layer4.0.downsample",
    ]
    projection_params = sum(n_params(m) for m in projections.values())
    assert projection_params == (64 * 128 + 2 * 128) + (128 * 256 + 2 * 256) + (256 * 512 + 2 * 512)
    assert n_params(plain) == n_params(res) - projection_params == 21_623_848
    assert n_params(res) == n_params(plain) + projection_params
    assert not any("downsample" in name for name in plain.state_dict())


def test_stride_position_v1_and_v1_5() -> None:
    with META:
        v1, v15 = resnet50(), resnet50(stride_in_3x3=True)
    for layer in ("layer2", "layer3", "layer4"):
        first_v1, first_v15 = v1.get_submodule(f"{layer}.0"), v15.get_submodule(f"{layer}.0")
        assert (first_v1.conv1.stride, first_v1.conv2.stride) == ((2, 2), (1, 1))  # paper
        assert (first_v15.conv1.stride, first_v15.conv2.stride) == ((1, 1), (2, 2))  # v1.5
        assert first_v1.downsample[0].stride == first_v15.downsample[0].stride == (2, 2)
    assert v1.layer1[0].conv1.stride == v1.layer1[0].conv2.stride == (1, 1)


def test_v1_and_v1_5_same_parameters_different_macs() -> None:
    with META:
        v1, v15 = resnet50(), resnet50(stride_in_3x3=True)
    assert n_params(v1) == n_params(v15) == 25_557_032
    macs_v1, macs_v15 = macs(v1), macs(v15)
    assert abs(macs_v1 - 3.86e9) / 3.86e9 < 0.005  # measured 3,857,973,248 (Table 1: 3.8e9)
    assert abs(macs_v15 - 4.09e9) / 4.09e9 < 0.005  # measured 4,089,184,256
    # the difference is the first 1×1 of layer2.0, layer3.0, layer4.0 run at 4× the positions
    assert macs_v15 - macs_v1 == 3 * 3 * (256 * 128 * 28 * 28)


def test_macs_of_the_paper_layout_match_table_1() -> None:
    table_1 = {
        resnet18: 1.8e9,
        resnet34: 3.6e9,
        resnet50: 3.8e9,
        resnet101: 7.6e9,
        resnet152: 11.3e9,
    }
    for build, paper in table_1.items():
        with META:
            model = build()
        assert abs(macs(model) - paper) / paper < 0.02, build.__name__


def torchvision_resnet50_shapes() -> dict[str, tuple[int, ...]]:
    """State-dict keys and shapes of torchvision's `resnet50()`, written from its layout."""

    def bn(prefix: str, c: int) -> dict[str, tuple[int, ...]]:
        return {
            f"{prefix}.weight": (c,),
            f"{prefix}.bias": (c,),
            f"{prefix}.running_mean": (c,),
            f"{prefix}.running_var": (c,),
            f"{prefix}.num_batches_tracked": (),
        }

    shapes = {"conv1.weight": (64, 3, 7, 7), **bn("bn1", 64)}
    inplanes = 64
    for i, (planes, blocks) in enumerate(zip((64, 128, 256, 512), (3, 4, 6, 3), strict=True), 1):
        for b in range(blocks):
            p = f"layer{i}.{b}"
            shapes[f"{p}.conv1.weight"] = (planes, inplanes, 1, 1)
            shapes |= bn(f"{p}.bn1", planes)
            shapes[f"{p}.conv2.weight"] = (planes, planes, 3, 3)
            shapes |= bn(f"{p}.bn2", planes)
            shapes[f"{p}.conv3.weight"] = (4 * planes, planes, 1, 1)
            shapes |= bn(f"{p}.bn3", 4 * planes)
            if b == 0:
                shapes[f"{p}.downsample.0.weight"] = (4 * planes, inplanes, 1, 1)
                shapes |= bn(f"{p}.downsample.1", 4 * planes)
            inplanes = 4 * planes
    shapes |= {"fc.weight": (1000, 2048), "fc.bias": (1000,)}
    return shapes


def test_state_dict_uses_torchvision_names() -> None:
    expected = torchvision_resnet50_shapes()
    assert len(expected) == 320
    for stride_in_3x3 in (False, True):
        with META:
            model = resnet50(stride_in_3x3=stride_in_3x3)
        ours = {k: tuple(v.shape) for k, v in model.state_dict().items()}
        assert ours == expected


def torchvision_layout_forward(
    sd: dict[str, torch.Tensor], x: torch.Tensor, v1_5: bool
) -> torch.Tensor:
    """torchvision's ResNet-50 in eval mode, functional, reading a torchvision-named state dict."""

    def bn(x: torch.Tensor, p: str) -> torch.Tensor:
        return F.batch_norm(
            x, sd[f"{p}.running_mean"], sd[f"{p}.running_var"], sd[f"{p}.weight"], sd[f"{p}.bias"]
        )

    x = F.max_pool2d(
        F.relu(bn(F.conv2d(x, sd["conv1.weight"], stride=2, padding=3), "bn1")), 3, 2, 1
    )
    for i, blocks in enumerate((3, 4, 6, 3), 1):
        for b in range(blocks):
            p = f"layer{i}.{b}"
            stride = 2 if i > 1 and b == 0 else 1
            s1, s3 = (1, stride) if v1_5 else (stride, 1)
            out = F.relu(bn(F.conv2d(x, sd[f"{p}.conv1.weight"], stride=s1), f"{p}.bn1"))
            out = F.relu(
                bn(F.conv2d(out, sd[f"{p}.conv2.weight"], stride=s3, padding=1), f"{p}.bn2")
            )
            out = bn(F.conv2d(out, sd[f"{p}.conv3.weight"]), f"{p}.bn3")
            if b == 0:
                shortcut = F.conv2d(x, sd[f"{p}.downsample.0.weight"], stride=stride)
                x = bn(shortcut, f"{p}.downsample.1")
            x = F.relu(out + x)
    return F.linear(x.mean(dim=(2, 3)), sd["fc.weight"], sd["fc.bias"])


@pytest.mark.parametrize("stride_in_3x3", [False, True], ids=["paper", "v1.5"])
def test_torchvision_named_checkpoint_loads_and_computes_the_same(stride_in_3x3: bool) -> None:
    """torchvision is not installed: load a state dict with its names and shapes, compare with
    a functional transcription of its layout (v1.5; stride on the 1×1 for the paper's layout)."""
    torch.manual_seed(0)
    state = {}
    for key, shape in torchvision_resnet50_shapes().items():
        if key.endswith("num_batches_tracked"):
            state[key] = torch.tensor(0)
        elif key.endswith("running_var"):
            state[key] = torch.rand(shape) + 0.5
        elif key.endswith(("bn3.weight", "downsample.1.weight")):
            state[key] = 0.2 * torch.rand(shape)  # keep the residual sums of 16 blocks tame
        elif key.endswith(("bn1.weight", "bn2.weight")):
            state[key] = torch.rand(shape) + 0.5
        elif key.endswith(".weight") and len(shape) == 4:
            fan_in = shape[1] * shape[2] * shape[3]
            state[key] = torch.randn(shape) * (2.0 / fan_in) ** 0.5
        else:
            state[key] = 0.1 * torch.randn(shape)
    with META:  # no CPU initialisation: the checkpoint's tensors become the parameters
        model = resnet50(stride_in_3x3=stride_in_3x3).eval()
    model.load_state_dict(state, strict=True, assign=True)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        ours = model(x)
        reference = torchvision_layout_forward(state, x, v1_5=stride_in_3x3)
    assert ours.shape == (2, 1000)
    assert torch.allclose(ours, reference, rtol=1e-4, atol=1e-5)


def make_block(kind: str, shortcut: bool) -> nn.Module:
    if kind == "basic":
        return BasicBlock(16, 16, shortcut=shortcut)
    return Bottleneck(64, 16, shortcut=shortcut)


@pytest.mark.parametrize("kind", ["basic", "bottleneck"])
@pytest.mark.parametrize("train", [True, False])
def test_residual_block_with_zeroed_last_bn_is_the_identity(kind: str, train: bool) -> None:
    """Eq. (1): if F(x) = 0 then y = relu(0 + x) = x for x ≥ 0 (§3.1's identity argument)."""
    torch.manual_seed(0)
    block = make_block(kind, shortcut=True).train(train)
    assert block.downsample is None  # same shape: identity shortcut, no projection
    last_bn = block.bn2 if kind == "basic" else block.bn3
    with torch.no_grad():
        last_bn.weight.zero_()
        last_bn.bias.zero_()
    x = torch.rand(2, 64 if kind == "bottleneck" else 16, 8, 8)
    with torch.no_grad():
        assert torch.equal(block(x), x)
    # the plain block with the same zeroed BN loses its input: it outputs zeros, not x
    plain = make_block(kind, shortcut=False).train(train)
    plain.load_state_dict(block.state_dict())
    with torch.no_grad():
        y = plain(x)
    assert not torch.allclose(y, x) and torch.equal(y, torch.zeros_like(x))


def test_zero_init_residual() -> None:
    model = ResNet(dataclasses.replace(ResNetConfig.tiny(), zero_init_residual=True))
    assert all(torch.all(m.bn2.weight == 0) for m in model.modules() if isinstance(m, BasicBlock))
    x = torch.rand(2, 8, 16, 16)
    with torch.no_grad():
        assert torch.equal(model.layer1[0](x), x)  # identity shortcut: the block starts as x


def test_projection_only_where_the_shape_changes() -> None:
    with META:
        model = resnet50()
    with_projection = sorted(
        name for name, m in model.named_modules() if isinstance(m, Bottleneck) and m.downsample
    )
    assert with_projection == ["layer1.0", "layer2.0", "layer3.0", "layer4.0"]


@pytest.mark.parametrize("build", [resnet18, resnet152, plain34])
def test_forward_shape_paper_size(build) -> None:
    with META:
        model = build()
        assert model(torch.empty(2, 3, 224, 224)).shape == (2, 1000)


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"block": "bottleneck"},
        {"shortcut": False},
        {"block": "bottleneck", "stride_in_3x3": True},
    ],
    ids=["basic", "bottleneck", "plain", "bottleneck-v1.5"],
)
def test_tiny_forward_and_finite_gradients(overrides: dict) -> None:
    torch.manual_seed(0)
    model = ResNet(dataclasses.replace(ResNetConfig.tiny(), **overrides))
    x = torch.randn(4, 3, 64, 64)
    logits = model(x)
    assert logits.shape == (4, 10)
    torch.nn.functional.cross_entropy(logits, torch.arange(4)).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


def test_unknown_block_is_rejected() -> None:
    with pytest.raises(ValueError, match="bottleneck"):
        ResNet(dataclasses.replace(ResNetConfig.tiny(), block="wide"))  # type: ignore[arg-type]
