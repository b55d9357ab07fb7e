"""The GNN page's exercises: computed answers against hand formulas, the solution's effect."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from reference_impl import gnn
from reference_impl.exercises.gnn import mean_cosine, propagate
from tools.generator import exercises as ex

ANSWERS = {e.id: e for e in ex.load("gnn")}
KARATE = Path(__file__).resolve().parent.parent / "reference_impl" / "data" / "karate.json"


def value(exercise_id: str) -> float:
    return ANSWERS[exercise_id].computed.value


def test_star_graph():
    degree = {0: 3 + 1, 1: 1 + 1}  # with the self-loop
    assert value("gnn-star-graph") == pytest.approx(1 / math.sqrt(degree[0] * degree[1]))
    assert round(value("gnn-star-graph"), 3) == 0.354
    star = torch.zeros(4, 4, dtype=torch.float64)
    star[0, 1:] = star[1:, 0] = 1.0
    a_hat = gnn.normalized_adjacency(star)
    assert a_hat[0, 0].item() == pytest.approx(1 / 4) and a_hat[1, 1].item() == pytest.approx(1 / 2)


def test_citeseer_params():
    first, second = 3703 * 16 + 16, 16 * 6 + 6
    assert value("gnn-citeseer-params") == first + second
    assert first / (first + second) > 0.99  # "99% 以上的参数在第一层"


def test_pubmed_gat_params():
    heads, d, f_in, classes = 8, 8, 500, 3
    first = f_in * heads * d + heads * 2 * d + heads * d  # W, a (two halves), bias after concat
    second = heads * d * heads * classes + heads * 2 * classes + classes  # bias after the mean
    assert value("gnn-pubmed-gat-params") == first + second
    one_head = heads * d * classes + 2 * classes + classes
    assert second - one_head == 1386  # "只多了 1,386 个参数"


def _karate() -> tuple[torch.Tensor, torch.Tensor]:
    data = json.loads(KARATE.read_text(encoding="utf-8"))
    adj = torch.zeros(34, 34, dtype=torch.float64)
    for i, j in data["edges"]:
        adj[i, j] = adj[j, i] = 1.0
    return adj, torch.tensor(data["labels"])


def _similarity(h: torch.Tensor) -> torch.Tensor:
    unit = h / h.norm(dim=1, keepdim=True)
    return unit @ unit.T


def _faction_means(h: torch.Tensor, labels: torch.Tensor) -> tuple[float, float]:
    sim = _similarity(h)
    off = ~torch.eye(len(labels), dtype=torch.bool)
    same = (labels[:, None] == labels[None, :]) & off
    return sim[same].mean().item(), sim[labels[:, None] != labels[None, :]].mean().item()


def test_propagate_is_a_gcn_without_weights():
    torch.manual_seed(0)
    adj, _ = _karate()
    x = torch.randn(34, 5, dtype=torch.float64)
    layer = gnn.GCNLayer(5, 5, bias=False).double()
    with torch.no_grad():
        layer.weight.weight.copy_(torch.eye(5, dtype=torch.float64))
    torch.testing.assert_close(propagate(x, adj, 1), layer(x, gnn.normalized_adjacency(adj)))
    torch.testing.assert_close(propagate(x, adj, 0), x)


def test_sixty_four_rounds_make_every_node_alike():
    adj, labels = _karate()
    x = torch.eye(34, dtype=torch.float64)  # each node only knows who it is
    assert round(mean_cosine(propagate(x, adj, 1)).item(), 2) == 0.14  # "只有 0.14"
    deep = propagate(x, adj, 64)
    assert _similarity(deep).min() > 0.999  # every pair of nodes
    same, across = _faction_means(deep, labels)
    assert across > 0.999 and same > 0.999  # the factions cannot be told apart
    # every row is a multiple of D̃^{1/2}·1, Â's eigenvector of eigenvalue 1
    root_degree = (adj.sum(1) + 1).sqrt()
    torch.testing.assert_close(gnn.normalized_adjacency(adj) @ root_degree, root_degree)
    cos = (deep @ root_degree) / (deep.norm(dim=1) * root_degree.norm())
    assert cos.min() > 0.9999


def test_an_initial_residual_keeps_the_nodes_apart():
    adj, labels = _karate()
    x = torch.eye(34, dtype=torch.float64)
    h32, h64 = propagate(x, adj, 32, alpha=0.1), propagate(x, adj, 64, alpha=0.1)
    torch.testing.assert_close(h32, h64, rtol=1e-3, atol=1e-4)  # a fixed point
    same, across = _faction_means(h64, labels)
    assert (round(same, 2), round(across, 2)) == (0.55, 0.37)  # "约 0.55 … 约 0.37"
    assert mean_cosine(h64) < 0.5
