"""Figures for the DETR page: a Hungarian matching on a fixed example; a tiny DETR on shapes.

The matching figure runs `matching_cost` and `linear_sum_assignment` of ``reference_impl/detr.py``
on six hand-made predictions and three objects. The training figures train the same module's
`DETR` with its `set_loss` (auxiliary losses after both decoder layers) on synthetic 32×32 images
of one or two coloured shapes, 300 AdamW steps of 32 images on one CPU thread (10–15 s here),
and evaluate it on 200 held-out images without and with non-maximum suppression. The test
``tests/test_detr.py`` runs the same seeded function and checks what the page says about it.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time

import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from reference_impl import detr
from tools.generator.figures import style

DEPENDS = ("reference_impl/detr.py",)

SIZE = 32  # image side in pixels
NAMES = ("红方块", "绿圆", "蓝三角")  # the three classes
COLOURS = torch.tensor([[0.90, 0.22, 0.21], [0.26, 0.66, 0.29], [0.12, 0.53, 0.90]])
MEAN, STD = 0.2, 0.3  # input normalisation (the paper normalises with ImageNet's statistics)
# One ResNet stage (stride 4: 8×8 tokens), d = 32, one encoder and two decoder layers, N = 4.
# eos_coef: the paper's 0.1 balances about 93 empty slots against 7 objects per COCO image
# (§3.1, §4); here 4 slots hold 1.4 objects on average: about 0.7 keeps that balance.
CONFIG = detr.DETRConfig(
    layers=(1,),
    widths=(8,),
    frozen_stages=0,
    num_classes=3,
    num_queries=4,
    d_model=32,
    n_heads=4,
    d_ff=64,
    n_encoder_layers=1,
    n_decoder_layers=2,
    dropout=0.0,
    eos_coef=0.8,
)
STEPS, BATCH, LR, WARMUP, POOL = 300, 32, 4e-3, 50, 2048


def shapes(n: int, generator: torch.Generator) -> tuple[torch.Tensor, list[detr.Target]]:
    """Draw n images (n, 3, 32, 32) in [0, 1] with one or two shapes each, 2 px apart or more."""
    c = torch.arange(SIZE) + 0.5
    yy, xx = c[None, :, None], c[None, None, :]
    images = torch.zeros(n, 3, SIZE, SIZE)
    boxes, labels = torch.zeros(n, 2, 4), torch.zeros(n, 2, dtype=torch.long)
    present = torch.zeros(n, 2, dtype=torch.bool)
    count = torch.randint(1, 3, (n,), generator=generator)
    for k in range(2):
        wh = torch.randint(8, 15, (n, 8, 2), generator=generator).float()  # 8 candidates each
        xy = torch.rand(n, 8, 2, generator=generator) * (SIZE - wh)
        cand = torch.cat([xy, xy + wh], 2)  # (n, 8, 4) x0 y0 x1 y1 in pixels
        free = torch.ones(n, 8, dtype=torch.bool)
        if k:
            b = boxes[:, 0, None]
            apart = (cand[..., 0] > b[..., 2] + 2) | (b[..., 0] > cand[..., 2] + 2)
            free = apart | (cand[..., 1] > b[..., 3] + 2) | (b[..., 1] > cand[..., 3] + 2)
        box = cand[torch.arange(n), free.float().argmax(1)]  # the first free candidate
        ok = (count > k) & free.any(1)
        cls = torch.randint(0, 3, (n,), generator=generator)
        x0, y0, x1, y1 = (box[:, i, None, None] for i in range(4))
        cx, cy, hw, hh = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2
        square = (xx >= x0) & (xx < x1) & (yy >= y0) & (yy < y1)
        disc = ((xx - cx) / hw) ** 2 + ((yy - cy) / hh) ** 2 <= 1
        triangle = square & ((xx - cx).abs() <= (yy - y0) / (2 * hh) * hw)
        kind = cls[:, None, None]
        mask = torch.where(kind == 0, square, torch.where(kind == 1, disc, triangle))
        mask &= ok[:, None, None]
        images = torch.where(mask[:, None], COLOURS[cls][:, :, None, None], images)
        boxes[:, k], labels[:, k], present[:, k] = box, cls, ok
    targets = []
    for i in range(n):
        b = boxes[i][present[i]] / SIZE
        cxcywh = torch.cat([(b[:, :2] + b[:, 2:]) / 2, b[:, 2:] - b[:, :2]], 1)
        targets.append(detr.Target(labels[i][present[i]], cxcywh))
    return images, targets


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Pairwise IoU of corner boxes (n, 4) and (m, 4) → (n, m)."""
    lt, rb = torch.max(a[:, None, :2], b[None, :, :2]), torch.min(a[:, None, 2:], b[None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    area_a, area_b = (a[:, 2:] - a[:, :2]).prod(-1), (b[:, 2:] - b[:, :2]).prod(-1)
    return inter / (area_a[:, None] + area_b[None] - inter)


def nms(boxes: torch.Tensor, scores: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Per-class non-maximum suppression at IoU 0.5 (Detectron2's default): indices kept."""
    keep: list[int] = []
    for i in scores.argsort(descending=True).tolist():
        same = [j for j in keep if labels[j] == labels[i]]
        if not same or box_iou(boxes[i, None], boxes[same]).max() <= 0.5:
            keep.append(i)
    return torch.tensor(sorted(keep), dtype=torch.long)


Detections = list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]  # per image: boxes, scores, cls


def ap50(detections: Detections, targets: list[detr.Target]) -> float:
    """Mean over the classes of the average precision at IoU 0.5 (all-point interpolation)."""
    aps = []
    for c in range(CONFIG.num_classes):
        ranked, n_objects = [], 0
        for i, ((boxes, scores, labels), t) in enumerate(zip(detections, targets, strict=True)):
            n_objects += int((t.labels == c).sum())
            ranked += [
                (s, i, b)
                for s, b in zip(scores[labels == c].tolist(), boxes[labels == c], strict=True)
            ]
        ranked.sort(key=lambda r: -r[0])
        found: set[tuple[int, int]] = set()
        hits = []
        for _, i, box in ranked:
            truth = detr.box_cxcywh_to_xyxy(targets[i].boxes[targets[i].labels == c])
            iou = box_iou(box[None], truth)[0] if len(truth) else torch.zeros(0)
            j = int(iou.argmax()) if len(iou) else -1
            hit = j >= 0 and iou[j] >= 0.5 and (i, j) not in found
            found |= {(i, j)} if hit else set()
            hits.append(float(hit))
        tp = torch.tensor(hits).cumsum(0)
        precision = tp / torch.arange(1, len(hits) + 1)
        recall = tp / max(n_objects, 1)
        ap, last = 0.0, 0.0
        for k in range(len(hits)):  # area under the precision envelope, step at each new hit
            if hits[k]:
                ap += (recall[k].item() - last) * precision[k:].max().item()
                last = recall[k].item()
        aps.append(ap)
    return sum(aps) / len(aps)


@dataclasses.dataclass
class ShapesRun:
    """The result of :func:`train_shapes`."""

    model: detr.DETR
    losses: dict[str, list[float]]  # the loss terms at every step, mean over the decoder layers
    ap_no_nms: list[float]  # AP50 after each decoder layer, all N predictions kept
    ap_nms: list[float]  # the same after per-class NMS
    duplicates: list[int]  # extra confident (p > 0.5) predictions on an already found object
    n_objects: int  # objects in the held-out images
    cpu_seconds: float


def detections(logits: torch.Tensor, boxes: torch.Tensor) -> Detections:
    """Every slot as a detection: its best non-∅ class and that class's probability as score."""
    score, label = logits.softmax(-1)[..., :-1].max(-1)
    return list(zip(detr.box_cxcywh_to_xyxy(boxes), score, label, strict=True))


def held_out(n: int = 200) -> tuple[torch.Tensor, list[detr.Target]]:
    """The evaluation images (their own seed, never seen in training)."""
    return shapes(n, torch.Generator().manual_seed(12345))


def count_duplicates(dets: Detections, targets: list[detr.Target]) -> int:
    """Confident predictions (p > 0.5) on an object that a more confident one already found."""
    extra = 0
    for (boxes, scores, labels), t in zip(dets, targets, strict=True):
        truth = detr.box_cxcywh_to_xyxy(t.boxes)
        found: set[int] = set()
        for k in scores.argsort(descending=True).tolist():
            if scores[k] <= 0.5 or not len(truth):
                continue
            iou = box_iou(boxes[k, None], truth)[0].masked_fill(t.labels != labels[k], 0)
            j = int(iou.argmax())
            if iou[j] >= 0.5:
                extra += j in found
                found.add(j)
    return extra


def normalise(images: torch.Tensor) -> torch.Tensor:
    """Shift and scale pixel values as the network expects."""
    return (images - MEAN) / STD


@functools.lru_cache(maxsize=1)
def train_shapes(steps: int = STEPS, seed: int = 0) -> ShapesRun:
    """Train the tiny DETR on shapes (one thread, seeded) and evaluate it on held-out images.

    AdamW (weight decay 10⁻⁴) and gradient clipping at norm 0.1 as in the paper (§A.4); the
    learning rate rises linearly for 50 steps, then follows a cosine to 0. Each step draws 16
    images from a pool of 2,048; the loss is `set_loss` over both decoder layers.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: one thread is faster, and the numbers reproducible
    try:
        cpu = time.process_time()
        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(seed)
        pool_x, pool_t = shapes(POOL, gen)
        model = detr.DETR(CONFIG)
        opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=1e-4, foreach=True)
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda i: min(1.0, (i + 1) / WARMUP) * 0.5 * (1 + math.cos(math.pi * i / steps))
        )
        losses: dict[str, list[float]] = {"class": [], "l1": [], "giou": []}
        L = CONFIG.n_decoder_layers
        for _ in range(steps):
            idx = torch.randint(0, POOL, (BATCH,), generator=gen)
            targets = [pool_t[i] for i in idx.tolist()]
            logits, boxes = model(normalise(pool_x[idx]), all_layers=True)  # (L, B, N, ·)
            # the L layers as one batch of L·B images, each matched on its own: every term is
            # then the mean over the layers, and L × total = detr.set_loss(...) (tested)
            parts = detr.hungarian_loss(logits.flatten(0, 1), boxes.flatten(0, 1), targets * L,
                                        CONFIG)  # fmt: skip
            opt.zero_grad()
            (L * parts["total"]).backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.1)
            opt.step()
            sched.step()
            for key in losses:
                losses[key].append(parts[key].item())
        model.eval()
        images, targets = held_out()
        with torch.no_grad():
            logits, boxes = model(normalise(images), all_layers=True)
        ap_no_nms, ap_nms, duplicates = [], [], []
        for lg, bx in zip(logits, boxes, strict=True):
            dets = detections(lg, bx)
            kept = [(b[k], s[k], c[k]) for b, s, c in dets for k in [nms(b, s, c)]]
            ap_no_nms.append(ap50(dets, targets))
            ap_nms.append(ap50(kept, targets))
            duplicates.append(count_duplicates(dets, targets))
        n_objects = sum(len(t.labels) for t in targets)
        seconds = time.process_time() - cpu
        return ShapesRun(model, losses, ap_no_nms, ap_nms, duplicates, n_objects, seconds)
    finally:
        torch.set_num_threads(threads)


def smooth(values: list[float], width: int = 20) -> list[float]:
    """Running mean over the last ``width`` values."""
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v - (values[i - width] if i >= width else 0.0)
        out.append(total / min(i + 1, width))
    return out


def draw_training() -> Figure:
    """小 DETR 在彩色形状上训练 300 步：三项损失，以及各解码器层不用与用 NMS 的 AP50."""
    run = train_shapes()
    fig = style.new_figure(7.6, 3.0)
    ax_loss, ax_ap = fig.subplots(1, 2, width_ratios=(1.3, 1))
    steps = range(1, len(run.losses["class"]) + 1)
    labels = {"class": "分类（交叉熵）", "l1": "L1", "giou": "1 − GIoU"}
    for (key, text), colour in zip(labels.items(), style.PALETTE, strict=False):
        values = smooth(run.losses[key])
        ax_loss.plot(steps[::2], values[::2], color=colour, lw=1.4, label=text)
    ax_loss.set(xlabel="训练步数", ylabel="损失", title="匹配后的三项损失")
    ax_loss.grid(True)
    ax_loss.legend(fontsize=8)
    layers = range(1, len(run.ap_no_nms) + 1)
    width = 0.36
    for shift, values, colour, text in (
        (-width / 2, run.ap_no_nms, style.PALETTE[0], "不用 NMS"),
        (width / 2, run.ap_nms, style.PALETTE[3], "用 NMS（IoU 0.5）"),
    ):
        bars = ax_ap.bar([x + shift for x in layers], [100 * v for v in values], width,
                         color=colour, label=text)  # fmt: skip
        ax_ap.bar_label(bars, fmt="%.1f", fontsize=8, color=style.FG)
    ax_ap.set_xticks(list(layers), [f"第 {i} 层" for i in layers])
    dup = "、".join(str(d) for d in run.duplicates)
    title = f"{len(held_out_targets())} 张留出图像，{run.n_objects} 个目标"
    title += f"\n重复的 p > 0.5 预测：{dup} 个"
    ax_ap.set(ylim=(0, 100), ylabel="AP50 (%)", title=title)
    ax_ap.legend(fontsize=8, loc="upper left")
    return fig


@functools.lru_cache(maxsize=1)
def held_out_targets() -> list[detr.Target]:
    """The held-out targets (for titles)."""
    return held_out()[1]


def draw_predictions() -> Figure:
    """训练后的小 DETR 在 8 张留出图像上的预测，不用 NMS：实线为 p > 0.5 的槽，灰色虚线为目标框."""
    run = train_shapes()
    images, targets = held_out(8)
    with torch.no_grad():
        logits, boxes = run.model(normalise(images))
    prob = logits.softmax(-1)
    fig = style.new_figure(7.6, 4.3)
    axes = fig.subplots(2, 4)
    for i, ax in enumerate(axes.flat):
        ax.imshow(images[i].permute(1, 2, 0).numpy(), extent=(0, SIZE, SIZE, 0))
        for b in detr.box_cxcywh_to_xyxy(targets[i].boxes) * SIZE:
            x0, y0, x1, y1 = b.tolist()
            ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, ec="#9e9e9e",
                                   lw=1.0, ls=(0, (2, 2))))  # fmt: skip
        empty = []
        for k in range(CONFIG.num_queries):
            p, c = prob[i, k, :-1].max(0)
            if p <= 0.5:
                empty.append(f"{k}")
                continue
            x0, y0, x1, y1 = (detr.box_cxcywh_to_xyxy(boxes[i, k]) * SIZE).tolist()
            colour = style.PALETTE[(1, 2, 0)[int(c)]]
            ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, ec=colour, lw=1.6))
            ax.text(x0, y0 - 0.6, f"槽{k} {p:.2f}", color=colour, fontsize=7, va="bottom")
        ax.set(xlim=(0, SIZE), ylim=(SIZE + 0.5, -4), xticks=[], yticks=[])
        ax.set_xlabel(f"p ≤ 0.5 的槽：{'、'.join(empty) or '无'}", fontsize=7)
        for spine in ax.spines.values():
            spine.set_visible(False)
    return fig


# ── the fixed matching example ────────────────────────────────────────────────────────

EXAMPLE_TARGETS = detr.Target(
    torch.tensor([0, 0, 2]),  # two red squares side by side, a blue triangle
    torch.tensor([[0.26, 0.30, 0.22, 0.22], [0.50, 0.33, 0.20, 0.20], [0.68, 0.74, 0.30, 0.26]]),
)
EXAMPLE_PROBS = torch.tensor(  # per prediction: red square, green disc, blue triangle, ∅
    [
        [0.88, 0.03, 0.02, 0.07],  # P0: a confident box on the left square, a little to the right
        [0.60, 0.05, 0.05, 0.30],  # P1: a second box on the left square
        [0.45, 0.05, 0.05, 0.45],  # P2: a small, unsure box at the right square
        [0.02, 0.03, 0.90, 0.05],  # P3: the triangle
        [0.03, 0.05, 0.02, 0.90],  # P4: background
        [0.05, 0.30, 0.05, 0.60],  # P5: a vague box around the triangle
    ]
)
EXAMPLE_BOXES = torch.tensor(
    [
        [0.30, 0.31, 0.24, 0.22],
        [0.25, 0.32, 0.20, 0.26],
        [0.55, 0.40, 0.12, 0.12],
        [0.69, 0.73, 0.31, 0.28],
        [0.18, 0.80, 0.14, 0.12],
        [0.62, 0.66, 0.40, 0.38],
    ]
)


def example_matching() -> tuple[torch.Tensor, list[int], list[int]]:
    """Cost (M, N) of the example, the Hungarian assignment and each object's cheapest slot."""
    cfg = detr.DETRConfig()  # the paper's weights: 1 (class), 5 (L1), 2 (GIoU)
    cost = detr.matching_cost(EXAMPLE_PROBS.log(), EXAMPLE_BOXES, EXAMPLE_TARGETS, cfg)
    best = detr.linear_sum_assignment(cost.double().tolist())
    return cost, best, cost.argmin(1).tolist()


def draw_matching() -> Figure:
    """一个固定例子的匹配：3 个目标、6 个预测，匹配代价矩阵与匈牙利算法给出的一对一分配."""
    cost, best, greedy = example_matching()
    fig = style.new_figure(7.6, 3.2)
    ax_img, ax_cost = fig.subplots(1, 2, width_ratios=(1, 1.35))
    class_colour = {0: style.PALETTE[1], 1: style.PALETTE[2], 2: style.PALETTE[0]}
    for i, (label, box) in enumerate(
        zip(EXAMPLE_TARGETS.labels, EXAMPLE_TARGETS.boxes, strict=True)
    ):
        x0, y0, x1, y1 = detr.box_cxcywh_to_xyxy(box).tolist()
        ax_img.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, color=class_colour[int(label)],
                                   alpha=0.25, lw=0))  # fmt: skip
        ax_img.text(x0 + 0.01, y1 - 0.01, f"T{i}", color=style.FG, fontsize=9, va="bottom")
    matched = set(best)
    for k, box in enumerate(EXAMPLE_BOXES):
        x0, y0, x1, y1 = detr.box_cxcywh_to_xyxy(box).tolist()
        c = int(EXAMPLE_PROBS[k].argmax())
        colour = "#9e9e9e" if c == 3 else class_colour[c]
        ax_img.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, ec=colour,
                                   lw=1.8 if k in matched else 1.0,
                                   ls="-" if k in matched else (0, (3, 2))))  # fmt: skip
        if k % 2:  # labels of neighbouring boxes on opposite corners
            ax_img.text(x0, y1, f"P{k}", color=colour, fontsize=8, ha="left", va="top")
        else:
            ax_img.text(x1, y0, f"P{k}", color=colour, fontsize=8, ha="right", va="bottom")
    ax_img.add_patch(Rectangle((0, 0), 1, 1, fill=False, ec="#9e9e9e", lw=0.8))  # the image
    ax_img.set(xlim=(-0.01, 1.01), ylim=(1.06, -0.01), aspect="equal", xticks=[], yticks=[])
    for spine in ax_img.spines.values():
        spine.set_visible(False)
    ax_img.set_title("目标 T（色块）与预测 P（实线：被匹配）", fontsize=9)
    im = ax_cost.imshow(cost.numpy(), cmap="Blues_r", aspect="auto")
    for i in range(cost.shape[0]):
        for k in range(cost.shape[1]):
            light = cost[i, k] < cost.min() + 0.4 * (cost.max() - cost.min())
            ax_cost.text(k, i, f"{cost[i, k]:.2f}", ha="center", va="center", fontsize=8,
                         color="white" if light else "#111111")  # fmt: skip
        ax_cost.add_patch(Rectangle((best[i] - 0.5, i - 0.5), 1, 1, fill=False,
                                    ec=style.PALETTE[1], lw=2.2))  # fmt: skip
        if greedy[i] != best[i]:
            ax_cost.plot(greedy[i], i - 0.32, marker="v", color=style.PALETTE[3], ms=5)
    ax_cost.set_xticks(range(cost.shape[1]), [f"P{k}" for k in range(cost.shape[1])])
    ax_cost.set_yticks(range(cost.shape[0]), [f"T{i}" for i in range(cost.shape[0])])
    total = sum(cost[i, best[i]].item() for i in range(len(best)))
    ax_cost.set_title(f"匹配代价（红框：匈牙利算法，总代价 {total:.2f}；▼ 各行最小）", fontsize=9)
    cbar = fig.colorbar(im, ax=ax_cost, shrink=0.85)
    cbar.outline.set_edgecolor(style.FG)
    return fig


FIGURES = {
    "detr-matching": draw_matching,
    "detr-shapes-training": draw_training,
    "detr-shapes-predictions": draw_predictions,
}
