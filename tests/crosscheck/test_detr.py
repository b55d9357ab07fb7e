"""DETR against transformers' DetrForObjectDetection (timm ResNet backbone, random weights).

Outputs compared: class logits, boxes, and the Hungarian loss of the last decoder layer on fixed
targets. The cross-check virtualenv has no scipy, which transformers' matcher calls; its
`linear_sum_assignment` is replaced by an exhaustive search written here (three objects per
image: all ordered triples of the 100 queries), independent of the Hungarian algorithm of
`reference_impl/detr.py`.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
import transformers
from transformers.loss import loss_for_object_detection

from reference_impl import detr
from tests.crosscheck.common import Case, compare, perturb_constants

SIDE = (800, 1066)  # a 640×480 COCO image resized to a shorter side of 800 (§4)


def exhaustive_assignment(cost: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """scipy's `linear_sum_assignment` for a (queries, M ≤ 3) cost: every injective choice."""
    n, m = cost.shape
    grids = torch.meshgrid(*[torch.arange(n)] * m, indexing="ij")  # (n,)*m per object
    total = sum(cost[g, j] for j, g in enumerate(grids))  # (n,)*m
    for a, b in itertools.combinations(range(m), 2):
        total = total.masked_fill(grids[a] == grids[b], float("inf"))  # one query per object
    best = [int(i) for i in np.unravel_index(int(total.argmin()), total.shape)]
    order = np.argsort(best)
    return np.asarray(best)[order], order


def hf_config(layers: int) -> transformers.DetrConfig:
    backbone = {50: "resnet50", 101: "resnet101"}[layers]
    return transformers.DetrConfig(
        num_labels=91,
        backbone_config=transformers.TimmBackboneConfig(
            backbone=backbone, out_indices=[1, 2, 3, 4], use_pretrained_backbone=False
        ),
        attn_implementation="eager",
    )


def targets() -> list[detr.Target]:
    g = torch.Generator().manual_seed(4)
    centre = 0.25 + 0.5 * torch.rand(3, 2, generator=g)
    size = 0.1 + 0.3 * torch.rand(3, 2, generator=g)
    return [detr.Target(torch.tensor([1, 17, 90]), torch.cat([centre, size], dim=1))]


def check_detr(layers: int, tamper=None) -> dict:
    theirs = transformers.DetrForObjectDetection(hf_config(layers))
    perturb_constants(theirs)
    ours = {50: detr.detr_r50, 101: detr.detr_r101}[layers]()
    detr.load_transformers(ours, theirs.state_dict())
    x = torch.randn(1, 3, *SIDE, generator=torch.Generator().manual_seed(1))
    t = targets()

    def run_theirs(m: torch.nn.Module) -> tuple[torch.Tensor, ...]:
        labels = [{"class_labels": y.labels, "boxes": y.boxes} for y in t]
        out = m(pixel_values=x, labels=labels)
        return out.logits, out.pred_boxes, out.loss

    def run_ours(m: detr.DETR) -> tuple[torch.Tensor, ...]:
        logits, boxes = m(x)
        return logits, boxes, detr.hungarian_loss(logits, boxes, t, m.config)["total"]

    label = {50: "DETR-R50", 101: "DETR-R101"}[layers]
    case = Case(
        "detr",
        label,
        f"detr_r{layers}()",
        "transformers",
        f"DetrForObjectDetection（timm resnet{layers}，num_labels=91）",
        f"1×3×{SIDE[0]}×{SIDE[1]}，3 个目标",
        note="比较类别 logits、框和最后一层的匈牙利损失；transformers 的匹配器改用测试里的穷举搜索"
        "（对照环境没有 scipy），与本文件的匈牙利算法无关",
    )
    return compare(case, ours, theirs, run_ours, run_theirs, tamper=tamper)


@pytest.fixture(autouse=True)
def _no_scipy_needed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loss_for_object_detection, "requires_backends", lambda *a: None)
    monkeypatch.setattr(
        loss_for_object_detection, "linear_sum_assignment", exhaustive_assignment, raising=False
    )


@pytest.mark.parametrize("layers", [50, 101])
def test_detr(layers: int) -> None:
    result = check_detr(layers)
    assert result["params_ours"] == {50: 41_524_768, 101: 60_464_672}[layers]


def test_exhaustive_assignment_is_optimal() -> None:
    cost = torch.rand(7, 3, generator=torch.Generator().manual_seed(0))
    rows, cols = exhaustive_assignment(cost)
    best = min(sum(cost[p[j], j] for j in range(3)) for p in itertools.permutations(range(7), 3))
    assert len(set(rows)) == 3 and sorted(cols) == [0, 1, 2]
    assert torch.isclose(cost[rows, cols].sum(), best)
