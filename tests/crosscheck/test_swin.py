"""Swin Transformer against torchvision's swin_t/s/b and timm's swin_*_patch4_window7_224."""

from __future__ import annotations

import pytest
import timm
import torch
import torchvision

from reference_impl import swin
from tests.crosscheck.common import Case, compare, perturb_constants


def images(batch: int = 1, size: int = 224) -> torch.Tensor:
    return torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(1))


LABELS = {"swin_t": "Swin-T", "swin_s": "Swin-S", "swin_b": "Swin-B", "swin_l": "Swin-L"}


def check_torchvision(name: str, tamper=None) -> dict:
    theirs = getattr(torchvision.models, name)()
    perturb_constants(theirs)
    ours = getattr(swin, name)()
    swin.load_torchvision(ours, theirs.state_dict())
    x = images(2)
    case = Case("swin", LABELS[name], f"{name}()", "torchvision", name, "2×3×224×224")
    return compare(case, ours, theirs, lambda m: m(x), lambda m: m(x), tamper=tamper)


@pytest.mark.parametrize("name", ["swin_t", "swin_s", "swin_b"])
def test_torchvision(name: str) -> None:
    check_torchvision(name)


TIMM = [("swin_t", "swin_tiny_patch4_window7_224"), ("swin_l", "swin_large_patch4_window7_224")]


@pytest.mark.parametrize(("name", "timm_name"), TIMM, ids=[t[0] for t in TIMM])
def test_timm(name: str, timm_name: str) -> None:
    theirs = timm.create_model(timm_name, num_classes=1000)
    perturb_constants(theirs)
    ours = getattr(swin, name)()
    swin.load_timm(ours, theirs.state_dict())
    x = images(1)
    note = "torchvision 没有 Swin-L；这里对照 224²、M = 7 的配置（论文表 1 只列了 384² 的 Swin-L）"
    note = note if name == "swin_l" else ""
    case = Case("swin", LABELS[name], f"{name}()", "timm", timm_name, "1×3×224×224", note)
    compare(case, ours, theirs, lambda m: m(x), lambda m: m(x))
