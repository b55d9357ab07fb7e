"""The DETR page's exercises: computed answers against hand formulas, the solution's effect.

No answer depends on the page's trained toy model (its results vary between CPUs).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import torch

from reference_impl import detr
from reference_impl.exercises.detr import DETRWithoutPositions, greedy_assignment, greedy_match
from tools.generator import exercises as ex
from tools.generator.figures import detr as figures

ANSWERS = {e.id: e for e in ex.load("detr")}
PAGE = (Path(__file__).resolve().parent.parent / "docs" / "papers" / "detr.md").read_text(
    encoding="utf-8"
)


def value(exercise_id: str) -> float:
    return ANSWERS[exercise_id].computed.value


def table1(model: str) -> list[float]:
    """A row of the page's Table 1: GFLOPS, FPS, params (M), AP, AP50, APS, APM, APL."""
    row = next(ln for ln in PAGE.splitlines() if ln.startswith(f"| {model} |"))
    return [float(x) for x in re.findall(r"\d+(?:\.\d+)?", row.split("|", 2)[2])]


def test_cost_matrix_size():
    B, M, N = 4, 7, 100
    assert value("detr-cost-matrix") == (B * M) * (B * N) == 11_200
    assert B * M * N == 2_800 and B * M * N * 4 == value("detr-cost-matrix")  # "四分之一"
    assert math.perm(100, 7) == math.factorial(100) // math.factorial(93)
    assert f"{math.perm(100, 7):.2e}" == "8.07e+13"
    assert B * 6 == 24  # one assignment per image and decoder layer


def _random_problem(g: torch.Generator, M: int = 5, N: int = 10) -> list[list[float]]:
    logits = torch.randn(N, 92, generator=g)
    boxes = torch.rand(N, 4, generator=g) * 0.5 + 0.25
    target = detr.Target(
        torch.randint(0, 91, (M,), generator=g), torch.rand(M, 4, generator=g) * 0.5 + 0.25
    )
    return detr.matching_cost(logits, boxes, target, detr.DETRConfig()).double().tolist()


def _total(cost: list[list[float]], cols: list[int]) -> float:
    return sum(cost[i][j] for i, j in enumerate(cols))


def test_greedy_matching_costs_more_than_hungarian():
    # (a) one-to-one, (b) the 2×2 example of the answer
    cost = [[0.0, 1.0], [1.0, 10.0]]
    assert greedy_assignment(cost) == [0, 1] and _total(cost, [0, 1]) == 10
    assert detr.linear_sum_assignment(cost) == [1, 0] and _total(cost, [1, 0]) == 2

    # (b) random problems: greedy is never better, often worse ("约三分之一")
    g = torch.Generator().manual_seed(0)
    worse = 0
    for _ in range(500):
        cost = _random_problem(g)
        greedy, best = greedy_assignment(cost), detr.linear_sum_assignment(cost)
        assert len(set(greedy)) == len(greedy) == 5  # one-to-one
        assert _total(cost, greedy) >= _total(cost, best) - 1e-9
        worse += _total(cost, greedy) > _total(cost, best) + 1e-9
    assert 0.28 < worse / 500 < 0.40

    # (c) the page's matching figure: the same assignment, total −3.53
    cost, best, _ = figures.example_matching()
    rows = cost.double().tolist()
    assert greedy_assignment(rows) == best == [0, 2, 3]
    assert f"{_total(rows, best):.2f}" == "-3.53"


def test_greedy_match_works_on_a_batch():
    torch.manual_seed(0)
    cfg = detr.DETRConfig.tiny()
    logits, boxes = torch.randn(2, cfg.num_queries, cfg.num_classes + 1), torch.rand(2, 10, 4)
    targets = [
        detr.Target(
            torch.tensor([0, 2]), torch.tensor([[0.3, 0.3, 0.2, 0.2], [0.7, 0.6, 0.3, 0.4]])
        ),
        detr.Target(torch.tensor([1]), torch.tensor([[0.5, 0.5, 0.5, 0.5]])),
    ]
    greedy = greedy_match(logits, boxes, targets, cfg)
    best = detr.hungarian_match(logits, boxes, targets, cfg)
    for b, (gm, hm, t) in enumerate(zip(greedy, best, targets, strict=True)):
        cost = detr.matching_cost(logits[b], boxes[b], t, cfg)
        assert len(set(gm.tolist())) == len(t.labels)
        assert cost[range(len(hm)), hm].sum() <= cost[range(len(gm)), gm].sum() + 1e-6
    loss = detr.hungarian_loss(logits, boxes, targets, cfg, matches=greedy)["total"]
    assert torch.isfinite(loss)  # the loss accepts any one-to-one matching


def test_encoder_tokens():
    def up(x: int, times: int) -> int:  # stride 2, padding: each halving rounds up
        for _ in range(times):
            x = -(-x // 2)
        return x

    assert (up(800, 5), up(1066, 5)) == (25, 34)
    assert [up(1066, k) for k in range(1, 6)] == [533, 267, 134, 67, 34]
    assert value("detr-encoder-tokens") == 25 * 34 == 850
    assert 850**2 == 722_500
    dc5 = up(800, 4) * up(1066, 4)  # no stride in the last stage
    assert (up(800, 4), up(1066, 4), dc5) == (50, 67, 3350)
    assert round((dc5 / 850) ** 2, 1) == 15.5


def test_transformer_params():
    d, ff = 256, 2048
    attention = 4 * (d * d + d)
    ffn = d * ff + ff + ff * d + d
    encoder_layer = attention + ffn + 2 * 2 * d
    decoder_layer = 2 * attention + ffn + 3 * 2 * d
    assert (attention, ffn, encoder_layer, decoder_layer) == (
        263_168,
        1_050_880,
        1_315_072,
        1_578_752,
    )
    assert value("detr-transformer-params") == 6 * encoder_layer + 6 * decoder_layer + 2 * d
    assert value("detr-transformer-params") == 17_363_456
    rest = (2048 * d + d) + 100 * d + value("detr-head-params")
    assert value("detr-transformer-params") + rest == 18_069_856  # the page's table


def test_head_params():
    d = 256
    class_head, box_head = d * 92 + 92, 2 * (d * d + d) + (d * 4 + 4)
    assert (class_head, box_head) == (23_644, 132_612)
    assert value("detr-head-params") == class_head + box_head == 156_256
    with torch.device("meta"):
        total = ex.n_params(detr.detr_r50())
    assert total == 41_524_768 and value("detr-head-params") / total < 0.004  # "不到 0.4%"
    assert 6 * 100 == 600


def test_small_objects_numbers_are_the_pages_table_1():
    faster, plain, dc5 = table1("Faster RCNN-FPN+"), table1("DETR"), table1("DETR-DC5")
    assert faster[3] == plain[3] == 42.0  # AP
    assert (plain[7], faster[7], plain[5], faster[5]) == (61.1, 53.4, 20.5, 26.6)
    assert dc5[5] == 22.5 and dc5[5] < faster[5]
    assert (plain[0], dc5[0], plain[1], dc5[1]) == (86, 187, 28, 12)


def test_first_decoder_self_attention_gives_every_slot_the_same_vector():
    torch.manual_seed(0)
    model = detr.tiny().eval()
    seen = {}
    layer = model.decoder.layers[0].self_attn
    hook = layer.register_forward_hook(lambda mod, args, out: seen.update(value=args[2], out=out))
    with torch.no_grad():
        model(torch.randn(1, 3, 64, 64))
    hook.remove()
    assert torch.count_nonzero(seen["value"]) == 0  # the value input: the zero decoder input
    out = seen["out"][0]  # (N, d)
    torch.testing.assert_close(out, out[:1].expand_as(out))  # one vector for every slot


def test_without_positions_the_encoder_sees_a_set():
    torch.manual_seed(0)
    cfg = detr.DETRConfig.tiny()
    model = DETRWithoutPositions(cfg).eval()
    original = detr.DETR(cfg).eval()
    original.load_state_dict(model.state_dict())
    images = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        z0 = model.input_proj(model.backbone(images))  # (B, d, 8, 8)
        tokens = z0.flatten(2).transpose(1, 2)  # (B, 64, d)
        order = torch.randperm(tokens.shape[1])
        shuffled = tokens[:, order]
        zeros = torch.zeros_like(tokens)
        # (a) the encoder is permutation-equivariant
        torch.testing.assert_close(
            model.encoder(shuffled, zeros), model.encoder(tokens, zeros)[:, order]
        )
        # (b) the predictions do not change at all
        logits, boxes = model.predict(tokens)
        logits_s, boxes_s = model.predict(shuffled)
        torch.testing.assert_close(logits_s, logits)
        torch.testing.assert_close(boxes_s, boxes)
        torch.testing.assert_close(model(images)[1], boxes)  # forward = predict on its tokens
        # with the sine encodings the positions stay where they were: shuffling changes the output
        pos = original.position_encoding(z0).flatten(2).transpose(1, 2)
        assert not torch.allclose(
            original.encoder(shuffled, pos), original.encoder(tokens, pos)[:, order], atol=1e-4
        )
        memory, memory_s = original.encoder(tokens, pos), original.encoder(shuffled, pos)
        queries = original.object_queries.repeat(2, 1, 1)
        out = original.bbox_embed(original.decoder(memory, pos, queries)).sigmoid()
        out_s = original.bbox_embed(original.decoder(memory_s, pos, queries)).sigmoid()
        assert not torch.allclose(out, out_s, atol=1e-4)
        torch.testing.assert_close(original(images)[1], out)  # the same path as DETR.forward
    # (c) the page's Table 3 sentence
    assert "完全不用空间位置编码，AP 从 40.6 降到 32.8" in PAGE
