"""Tests of reference_impl/detr.py: counts, Hungarian matching, GIoU, the set loss, invariants."""

import dataclasses
import itertools
import math

import pytest
import torch
from torch import nn

from reference_impl.detr import (
    DETR,
    DETRConfig,
    FrozenBatchNorm2d,
    SinePositionalEncoding,
    Target,
    box_cxcywh_to_xyxy,
    detr_r50,
    detr_r101,
    generalized_box_iou,
    hungarian_loss,
    hungarian_match,
    linear_sum_assignment,
    load_transformers,
    matching_cost,
    set_loss,
    tiny,
)


def n_params(model: nn.Module, trained_only: bool = False) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trained_only)


def transformer_count(cfg: DETRConfig) -> int:
    """Encoder, decoder, projection, queries and heads, counted by hand."""
    D, F, K, N = cfg.d_model, cfg.d_ff, cfg.num_classes, cfg.num_queries
    attn, ffn, norm = 4 * (D * D + D), D * F + F + F * D + D, 2 * D
    encoder = cfg.n_encoder_layers * (attn + ffn + 2 * norm)
    decoder = cfg.n_decoder_layers * (2 * attn + ffn + 3 * norm) + norm  # + the shared norm
    heads = (D * (K + 1) + K + 1) + 2 * (D * D + D) + (D * 4 + 4)
    return encoder + decoder + (2048 * D + D) + N * D + heads


def meta(build, **kw) -> DETR:
    with torch.device("meta"):
        return build(**kw)


@pytest.mark.parametrize(
    ("build", "total", "trained", "backbone"),
    [
        (detr_r50, 41_524_768, 41_302_368, 23_454_912),
        (detr_r101, 60_464_672, 60_242_272, 42_394_816),
    ],
)
def test_parameter_counts_on_meta(build, total, trained, backbone) -> None:
    model = meta(build)
    assert n_params(model) == total == backbone + transformer_count(model.config)
    assert n_params(model.backbone) == backbone  # convolutions only: frozen BN has buffers
    assert n_params(model, trained_only=True) == trained  # conv1 and layer1 frozen
    conv1_layer1 = n_params(model.backbone.conv1) + n_params(model.backbone.layer1)
    assert total - trained == conv1_layer1 == 222_400
    logits, boxes = model(torch.empty(1, 3, 800, 1066, device="meta"))
    assert logits.shape == (1, 100, 92) and boxes.shape == (1, 100, 4)


def test_the_papers_counts_are_the_trained_parameters() -> None:
    """§4.1: 41.3M, 23.5M in ResNet-50, 17.8M in the transformer; Table 1: 41M and 60M;
    Table 2: 33.4M / 37.4M / 41.3M / 49.2M with 0 / 3 / 6 / 12 encoder layers; §4.2.3: 28.7M
    without the FFNs."""
    r50, r101 = meta(detr_r50), meta(detr_r101)
    trained = n_params(r50, trained_only=True)
    assert round(trained / 1e6, 1) == 41.3 and round(n_params(r50) / 1e6, 1) == 41.5
    assert round(n_params(r50.backbone) / 1e6, 1) == 23.5
    assert round((trained - n_params(r50.backbone)) / 1e6, 1) == 17.8  # 41.3 − 23.5, not 18.1
    assert round(transformer_count(r50.config) / 1e6, 1) == 18.1
    assert round(n_params(r101, trained_only=True) / 1e6) == 60
    for layers, paper in ((0, 33.4), (3, 37.4), (6, 41.3), (12, 49.2)):
        model = meta(detr_r50, n_encoder_layers=layers)
        assert round(n_params(model, trained_only=True) / 1e6, 1) == paper
    ffns = sum(n_params(layer.ffn) for layer in [*r50.encoder.layers, *r50.decoder.layers])
    assert round((trained - ffns) / 1e6, 1) == 28.7


# ── the Hungarian algorithm ────────────────────────────────────────────────────────────


def exhaustive(cost: list[list[float]]) -> float:
    """The cheapest assignment of every row to a distinct column, by trying all of them."""
    n, m = len(cost), len(cost[0])
    return min(
        sum(cost[i][c] for i, c in enumerate(p)) for p in itertools.permutations(range(m), n)
    )


SHAPES = [(1, 1), (1, 6), (2, 2), (3, 3), (2, 5), (3, 7), (4, 4), (4, 6), (5, 5), (6, 6), (5, 8)]


@pytest.mark.parametrize(("n", "m"), SHAPES, ids=[f"{n}x{m}" for n, m in SHAPES])
def test_hungarian_equals_exhaustive_search(n: int, m: int) -> None:
    g = torch.Generator().manual_seed(n * 10 + m)
    for trial in range(20):
        if trial % 2:  # small integers: many ties
            cost = torch.randint(-3, 4, (n, m), generator=g).double().tolist()
        else:
            cost = (torch.randn(n, m, generator=g, dtype=torch.float64) * 10).tolist()
        cols = linear_sum_assignment(cost)
        assert len(set(cols)) == n and all(0 <= c < m for c in cols)
        assert math.isclose(sum(cost[i][c] for i, c in enumerate(cols)), exhaustive(cost),
                            abs_tol=1e-9)  # fmt: skip


def test_hungarian_finds_the_unique_optimum() -> None:
    cost = [[1.0, 2.0, 8.0], [1.0, 7.0, 9.0], [8.0, 9.0, 1.0]]
    # row by row, greedily: 1 + 7 + 1 = 9; the optimum gives row 0 its second choice: 2 + 1 + 1
    assert linear_sum_assignment(cost) == [1, 0, 2]
    with pytest.raises(ValueError, match="rows"):
        linear_sum_assignment([[1.0], [2.0]])


def test_hungarian_match_minimises_the_matching_cost() -> None:
    torch.manual_seed(0)
    cfg = DETRConfig.tiny()
    logits, boxes = torch.randn(6, cfg.num_classes + 1), torch.rand(6, 4) * 0.5 + 0.1
    target = Target(torch.tensor([2, 0, 2]), torch.rand(3, 4) * 0.5 + 0.1)
    (idx,) = hungarian_match(logits[None], boxes[None], [target], cfg)
    cost = matching_cost(logits, boxes, target, cfg).double()
    assert len(set(idx.tolist())) == 3
    best = exhaustive(cost.tolist())
    assert math.isclose(cost[torch.arange(3), idx].sum().item(), best, rel_tol=1e-9)
    # a batch: each image is matched on its own block of the batch's cost matrix
    empty = Target(torch.zeros(0, dtype=torch.long), torch.zeros(0, 4))
    flipped = Target(target.labels.flip(0), target.boxes.flip(0))
    logits2, boxes2 = torch.stack([logits, logits.flip(0)]), torch.stack([boxes, boxes.flip(0)])
    batch = hungarian_match(logits2, boxes2, [empty, flipped], cfg)
    assert batch[0].numel() == 0
    assert torch.equal(batch[1], (5 - idx).flip(0))  # slots and objects both reversed


# ── generalized IoU ───────────────────────────────────────────────────────────────────


def iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    w = (torch.min(a[:, None, 2], b[None, :, 2]) - torch.max(a[:, None, 0], b[None, :, 0])).clamp(0)
    h = (torch.min(a[:, None, 3], b[None, :, 3]) - torch.max(a[:, None, 1], b[None, :, 1])).clamp(0)
    area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])  # noqa: E731
    inter = w * h
    return inter / (area(a)[:, None] + area(b)[None, :] - inter)


def random_boxes(n: int, g: torch.Generator) -> torch.Tensor:
    centre, size = torch.rand(n, 2, generator=g), 0.05 + 0.4 * torch.rand(n, 2, generator=g)
    return box_cxcywh_to_xyxy(torch.cat([centre, size], 1))


def test_giou_properties() -> None:
    g = torch.Generator().manual_seed(0)
    a, b = random_boxes(7, g).double(), random_boxes(5, g).double()
    giou = generalized_box_iou(a, b)
    torch.testing.assert_close(giou, generalized_box_iou(b, a).T)  # symmetric
    assert (giou <= iou(a, b) + 1e-12).all() and (giou > -1).all()  # a lower bound of IoU
    torch.testing.assert_close(generalized_box_iou(a, a).diagonal(), torch.ones(7).double())
    # nested boxes: the enclosing box is the outer one, so GIoU = IoU = inner / outer area
    outer, inner = torch.tensor([[0.0, 0.0, 4.0, 2.0]]), torch.tensor([[1.0, 0.5, 2.0, 1.5]])
    assert generalized_box_iou(outer, inner).item() == iou(outer, inner).item() == 1 / 8
    # far apart: IoU stays 0 (no gradient), GIoU tends to −1 and keeps telling how far
    near, far = torch.tensor([[1.0, 0.0, 2.0, 1.0]]), torch.tensor([[1000.0, 0.0, 1001.0, 1.0]])
    unit = torch.tensor([[0.0, 0.0, 1.0, 1.0]])
    assert iou(unit, far).item() == iou(unit, near).item() == 0
    assert -1 < generalized_box_iou(unit, far).item() < -0.99
    assert generalized_box_iou(unit, near).item() == 0  # touching: enclosing box = union


# ── the set loss ──────────────────────────────────────────────────────────────────────


@pytest.fixture(scope="module")
def batch():
    torch.manual_seed(0)
    cfg = DETRConfig.tiny()
    model = DETR(cfg).eval()
    images = torch.randn(2, 3, 64, 64)
    g = torch.Generator().manual_seed(1)
    targets = [
        Target(torch.tensor([0, 2, 1]), torch.rand(3, 4, generator=g) * 0.4 + 0.1),
        Target(torch.tensor([1]), torch.rand(1, 4, generator=g) * 0.4 + 0.1),
    ]
    return cfg, model, images, targets


def test_loss_is_invariant_to_permuting_the_predictions(batch) -> None:
    """A set loss: the order of the N slots (and of the objects) does not matter (§3.1)."""
    cfg, model, images, targets = batch
    with torch.no_grad():
        logits, boxes = model(images, all_layers=True)  # (L, B, N, ·)
    loss = set_loss(logits, boxes, targets, cfg)
    perm = torch.randperm(cfg.num_queries, generator=torch.Generator().manual_seed(2))
    shuffled = set_loss(logits[:, :, perm], boxes[:, :, perm], targets, cfg)
    torch.testing.assert_close(shuffled, loss)
    flipped = [Target(t.labels.flip(0), t.boxes.flip(0)) for t in targets]
    torch.testing.assert_close(set_loss(logits, boxes, flipped, cfg), loss)
    # but a fixed assignment (slot i ↔ object i) is not: the same predictions cost more
    fixed = [torch.arange(len(t.labels)) for t in targets]
    assert (
        hungarian_loss(logits[-1], boxes[-1], targets, cfg, fixed)["total"]
        > hungarian_loss(logits[-1], boxes[-1], targets, cfg)["total"]
    )


def test_loss_terms_and_auxiliary_layers(batch) -> None:
    cfg, model, images, targets = batch
    with torch.no_grad():
        logits, boxes = model(images, all_layers=True)
    parts = [hungarian_loss(lg, bx, targets, cfg) for lg, bx in zip(logits, boxes, strict=True)]
    torch.testing.assert_close(
        set_loss(logits, boxes, targets, cfg), sum(p["total"] for p in parts)
    )
    last = parts[-1]
    torch.testing.assert_close(last["total"], last["class"] + 5 * last["l1"] + 2 * last["giou"])
    # the class term by hand: ∅ for the 20 − 4 unmatched slots, weighted 0.1
    idx = hungarian_match(logits[-1], boxes[-1], targets, cfg)
    nll, weights = [], []
    for b, t in enumerate(targets):
        wanted = torch.full((cfg.num_queries,), cfg.num_classes)
        wanted[idx[b]] = t.labels
        logp = logits[-1, b].log_softmax(-1)
        for slot, c in enumerate(wanted.tolist()):
            w = 0.1 if c == cfg.num_classes else 1.0
            nll.append(-w * logp[slot, c])
            weights.append(w)
    torch.testing.assert_close(last["class"], torch.stack(nll).sum() / sum(weights))
    # the last layer's predictions are the model's output
    final = model(images)
    torch.testing.assert_close(final[0], logits[-1])
    torch.testing.assert_close(final[1], boxes[-1])


def test_training_step_gives_finite_gradients_and_skips_frozen_layers() -> None:
    torch.manual_seed(0)
    cfg = dataclasses.replace(DETRConfig.tiny(), frozen_stages=1)
    model = DETR(cfg).train()
    targets = [Target(torch.tensor([1]), torch.tensor([[0.5, 0.5, 0.3, 0.2]]))] * 2
    logits, boxes = model(torch.randn(2, 3, 64, 64), all_layers=True)
    set_loss(logits, boxes, targets, cfg).backward()
    for name, p in model.named_parameters():
        frozen = name.startswith(("backbone.conv1.", "backbone.layer1."))
        assert (p.grad is None) == frozen, name
        assert frozen or torch.isfinite(p.grad).all()


# ── building blocks and invariants ────────────────────────────────────────────────────


def test_frozen_batchnorm_is_a_fixed_affine_map() -> None:
    torch.manual_seed(0)
    bn = nn.BatchNorm2d(6).eval()
    with torch.no_grad():
        for t in (bn.weight, bn.bias, bn.running_mean):
            t.normal_()
        bn.running_var.uniform_(0.5, 2)
    frozen = FrozenBatchNorm2d(6)
    frozen.load_state_dict({k: v for k, v in bn.state_dict().items() if k != "num_batches_tracked"})
    x = torch.randn(4, 6, 5, 5)
    torch.testing.assert_close(frozen(x), bn(x))  # equals BatchNorm in eval mode
    frozen.train()
    before = {k: v.clone() for k, v in frozen.state_dict().items()}
    torch.testing.assert_close(frozen(x * 3 + 1), bn(x * 3 + 1))  # train mode: no batch stats
    assert all(torch.equal(before[k], v) for k, v in frozen.state_dict().items())
    assert list(frozen.parameters()) == []  # nothing to train
    # affine: f(a x + b y) = a f(x) + b f(y) − (a + b − 1) f(0)
    y, zero = torch.randn_like(x), torch.zeros_like(x)
    torch.testing.assert_close(
        frozen(2 * x - 3 * y), 2 * frozen(x) - 3 * frozen(y) + 2 * frozen(zero)
    )


def test_positional_encoding_values() -> None:
    d, H, W = 16, 3, 5
    pos = SinePositionalEncoding(d)(torch.zeros(2, d, H, W))
    assert pos.shape == (2, d, H, W)
    torch.testing.assert_close(pos[0], pos[1])
    for h, w in itertools.product(range(H), range(W)):
        py, px = 2 * math.pi * (h + 1) / H, 2 * math.pi * (w + 1) / W
        for i in range(d // 4):  # channel pairs: sin, cos at wavelength 10000^(2i/(d/2))
            freq = 10000 ** (2 * i / (d // 2))
            expected = [math.sin(py / freq), math.cos(py / freq)]
            expected += [math.sin(px / freq), math.cos(px / freq)]
            got = pos[0, [2 * i, 2 * i + 1, d // 2 + 2 * i, d // 2 + 2 * i + 1], h, w]
            torch.testing.assert_close(got, torch.tensor(expected), atol=1e-5, rtol=1e-5)
    # y channels are constant along a row, x channels along a column
    assert torch.equal(pos[0, : d // 2], pos[0, : d // 2, :, :1].expand(-1, -1, W))
    assert torch.equal(pos[0, d // 2 :], pos[0, d // 2 :, :1].expand(-1, H, -1))


def test_permuting_object_queries_permutes_the_predictions() -> None:
    """The decoder is permutation-equivariant in its N slots: only the learned queries make
    the slots differ (§3.2.3); two equal queries give two equal predictions."""
    torch.manual_seed(0)
    model = tiny().eval()
    images = torch.randn(2, 3, 64, 64)
    perm = torch.randperm(model.config.num_queries)
    with torch.no_grad():
        logits, boxes = model(images)
        model.object_queries.copy_(model.object_queries[perm])
        p_logits, p_boxes = model(images)
        torch.testing.assert_close(p_logits, logits[:, perm])
        torch.testing.assert_close(p_boxes, boxes[:, perm])
        model.object_queries[1] = model.object_queries[0]
        dup_logits, dup_boxes = model(images)
    torch.testing.assert_close(dup_logits[:, 1], dup_logits[:, 0])
    torch.testing.assert_close(dup_boxes[:, 1], dup_boxes[:, 0])


def test_load_transformers_renames_and_checks_keys() -> None:
    model = tiny()
    hf = {}
    for key, value in model.state_dict().items():  # our names → transformers' names
        key = key.replace("backbone.", "model.backbone.model.").replace(
            "input_proj.", "model.input_projection."
        )
        key = key.replace("object_queries", "model.query_position_embeddings.weight")
        key = key.replace("decoder.norm.", "model.decoder.layernorm.")
        key = key.replace("class_embed.", "class_labels_classifier.").replace(
            "bbox_embed.", "bbox_predictor."
        )
        for stack in ("encoder", "decoder"):
            if key.startswith(f"{stack}.layers"):
                key = "model." + key
        key = key.replace(".out_proj.", ".o_proj.").replace(".cross_attn.", ".encoder_attn.")
        key = key.replace(".ffn.linear1.", ".mlp.fc1.").replace(".ffn.linear2.", ".mlp.fc2.")
        if ".encoder." in key:
            key = key.replace(".norm1.", ".self_attn_layer_norm.").replace(
                ".norm2.", ".final_layer_norm."
            )
        else:
            key = key.replace(".norm1.", ".self_attn_layer_norm.").replace(
                ".norm2.", ".encoder_attn_layer_norm."
            )
            key = key.replace(".norm3.", ".final_layer_norm.")
        hf[key] = value + 1
    fresh = tiny()
    load_transformers(fresh, hf)
    for (name, a), b in zip(fresh.state_dict().items(), model.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b + 1, msg=name)
    del hf["bbox_predictor.layers.0.bias"]
    with pytest.raises(ValueError, match="keys differ"):
        load_transformers(fresh, hf)


# ── what the page says about its figures (tools/generator/figures/detr.py) ────────────


def test_matching_example_needs_the_one_to_one_constraint() -> None:
    """The fixed example: T0 and T1 both have P0 as their cheapest prediction; the Hungarian
    assignment gives P0 to T0 and P2 to T1, at the lowest total over all assignments."""
    from tools.generator.figures import detr as figures

    cost, best, greedy = figures.example_matching()
    assert greedy == [0, 0, 3] and best == [0, 2, 3]
    assert math.isclose(sum(cost[i, best[i]].item() for i in range(3)), exhaustive(cost.tolist()),
                        rel_tol=1e-6)  # fmt: skip
    unmatched = sorted(set(range(6)) - set(best))
    assert unmatched == [1, 4, 5]  # P1, a second box on T0, is trained towards ∅


def test_flattened_layers_give_the_set_loss(batch) -> None:
    """The figure trains with the L layers as one batch of L·B images: L × total = set_loss."""
    cfg, model, images, targets = batch
    with torch.no_grad():
        logits, boxes = model(images, all_layers=True)
    L = logits.shape[0]
    flat = hungarian_loss(logits.flatten(0, 1), boxes.flatten(0, 1), targets * L, cfg)
    torch.testing.assert_close(L * flat["total"], set_loss(logits, boxes, targets, cfg))


def test_shapes_run_needs_no_nms() -> None:
    """The training figure's run (same seeded function): the losses fall; NMS changes the AP50 of
    no decoder layer by more than one point; at most 2% of the objects get a second confident
    prediction; both layers well above chance. (Which layer is better differs between CPUs: the
    page does not say.)"""
    from tools.generator.figures import detr as figures

    run = figures.train_shapes()
    _, pool = figures.shapes(figures.POOL, torch.Generator().manual_seed(0))
    assert 1.35 < sum(len(t.labels) for t in pool) / len(pool) < 1.45  # "约 1.4 个物体"
    for values in run.losses.values():
        assert sum(values[-50:]) < 0.8 * sum(values[:50])
    for no_nms, nms in zip(run.ap_no_nms, run.ap_nms, strict=True):
        assert abs(nms - no_nms) <= 0.01
    assert run.duplicates[-1] <= 0.02 * run.n_objects
    assert min(run.ap_no_nms) > 0.35 and max(run.ap_no_nms) < 0.9  # "远低于 1"
    assert run.cpu_seconds < 60
