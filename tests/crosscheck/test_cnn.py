"""AlexNet, VGG, ResNet and the MoCo encoders against torchvision."""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

from reference_impl import alexnet, contrastive, resnet, vgg
from tests.crosscheck.common import Case, compare, perturb_constants


def images(batch: int = 1, size: int = 224) -> torch.Tensor:
    return torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(1))


def run(x: torch.Tensor):
    return lambda model: model(x)


def check_alexnet() -> dict:
    theirs = torchvision.models.alexnet()
    perturb_constants(theirs)
    ours = alexnet.alexnet_torchvision()
    alexnet.load_torchvision(ours, theirs.state_dict())
    x = images(2)
    case = Case(
        "alexnet",
        "AlexNet（torchvision 的单塔布局）",
        "alexnet_torchvision()",
        "torchvision",
        "alexnet",
        "2×3×224×224",
    )
    return compare(case, ours, theirs, run(x), run(x))


def test_alexnet_single_tower() -> None:
    check_alexnet()


VGG = [(depth, bn) for bn in (False, True) for depth in (11, 13, 16, 19)]


@pytest.mark.parametrize(("depth", "bn"), VGG, ids=[f"vgg{d}{'_bn' * b}" for d, b in VGG])
def test_vgg(depth: int, bn: bool) -> None:
    name = f"vgg{depth}" + ("_bn" if bn else "")
    theirs = getattr(torchvision.models, name)()
    perturb_constants(theirs)
    ours = getattr(vgg, f"vgg{depth}")(batch_norm=bn)
    vgg.load_torchvision(ours, theirs.state_dict())
    x = images()
    label = f"VGG-{depth}" + (" + BN" if bn else "")
    ctor = f"vgg{depth}(batch_norm=True)" if bn else f"vgg{depth}()"
    compare(
        Case("vgg", label, ctor, "torchvision", name, "1×3×224×224"), ours, theirs, run(x), run(x)
    )


RESNETS = [18, 34, 50, 101, 152]


def check_resnet(depth: int, tamper=None) -> dict:
    theirs = getattr(torchvision.models, f"resnet{depth}")()
    perturb_constants(theirs)
    v15 = depth >= 50
    ours = getattr(resnet, f"resnet{depth}")(**({"stride_in_3x3": True} if v15 else {}))
    resnet.load_torchvision(ours, theirs.state_dict())
    x = images()
    ctor = f"resnet{depth}(stride_in_3x3=True)" if v15 else f"resnet{depth}()"
    label = f"ResNet-{depth}" + (" v1.5" if v15 else "")
    case = Case("resnet", label, ctor, "torchvision", f"resnet{depth}", "1×3×224×224")
    return compare(case, ours, theirs, run(x), run(x), tamper=tamper)


@pytest.mark.parametrize("depth", RESNETS, ids=[f"resnet{d}" for d in RESNETS])
def test_resnet(depth: int) -> None:
    check_resnet(depth)


def test_resnet_loader_refuses_the_paper_stride() -> None:
    with torch.device("meta"):
        ours, theirs = resnet.resnet50(), torchvision.models.resnet50()
    with pytest.raises(ValueError, match=r"v1\.5"):
        resnet.load_torchvision(ours, theirs.state_dict())


def moco_encoder(version: int) -> nn.Module:
    """MoCo's main_moco.py: `base_encoder(num_classes=dim)`; v2 (--mlp) puts an MLP before fc."""
    encoder = torchvision.models.resnet50(num_classes=128)
    if version == 2:
        dim_mlp = encoder.fc.weight.shape[1]
        encoder.fc = nn.Sequential(nn.Linear(dim_mlp, dim_mlp), nn.ReLU(), encoder.fc)
    return encoder


@pytest.mark.parametrize("version", [1, 2], ids=["moco_v1", "moco_v2"])
def test_moco_encoder(version: int) -> None:
    theirs = moco_encoder(version)
    perturb_constants(theirs)
    ours = getattr(contrastive, f"moco_v{version}_encoder_resnet50")()
    # as saved by MoCo's training script: DistributedDataParallel prefix, query encoder
    checkpoint = {f"module.encoder_q.{k}": v for k, v in theirs.state_dict().items()}
    checkpoint["module.queue"] = torch.zeros(128, 4)
    contrastive.load_moco(ours, checkpoint)
    x = images()
    case = Case(
        "contrastive",
        f"MoCo v{version} 编码器",
        f"moco_v{version}_encoder_resnet50()",
        "torchvision",
        "resnet50（按 MoCo 代码改 fc）",
        "1×3×224×224",
    )
    compare(case, ours, theirs, run(x), run(x))
