"""Tests for reference_impl/gnn.py and the karate-club data: counts, Â, equivariance, attention."""

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from reference_impl import gnn

KARATE = Path(__file__).resolve().parent.parent / "reference_impl" / "data" / "karate.json"


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def random_graph(n: int, p: float, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    upper = (torch.rand(n, n, generator=gen) < p).float().triu(1)
    return upper + upper.T


# ───────────────────────── parameter counts (meta device, Cora sizes) ─────────────────────────


def test_cora_counts_and_meta_forward():
    with torch.device("meta"):
        gcn, gat = gnn.gcn_cora().eval(), gnn.gat_cora().eval()
        x, adj = torch.empty(2708, 1433), torch.empty(2708, 2708)
        assert gcn(x, adj).shape == gat(x, adj).shape == (2708, 7)
        # GCN: 1433·16 + 16 + 16·7 + 7 (with biases); Kipf's TF code has no bias: 23,040
        assert n_params(gcn) == 23_063
        assert n_params(gnn.gcn_cora(bias=False)) == 23_040
        # GAT: 8 heads × (1433·8 W + 2·8 a) + 64 bias, then 64·7 + 2·7 + 7
        assert n_params(gat) == 8 * (1433 * 8 + 16) + 64 + (64 * 7 + 14 + 7) == 92_373
        assert n_params(gnn.gat_cora(bias=False)) == 92_302


# ───────────────────────── GCN: Â and Eq. (2) by hand ─────────────────────────


def test_normalized_adjacency_by_hand():
    # path graph 0 – 1 – 2: degrees with self-loops are 2, 3, 2
    adj = torch.tensor([[0.0, 1, 0], [1, 0, 1], [0, 1, 0]])
    s2, s6 = 1 / 2, 1 / 6**0.5
    expected = torch.tensor([[s2, s6, 0], [s6, 1 / 3, s6], [0, s6, s2]])
    assert torch.allclose(gnn.normalized_adjacency(adj), expected)


def test_gcn_layer_equals_closed_form():
    torch.manual_seed(0)
    adj = random_graph(7, 0.4, seed=1)
    a_tilde = adj + torch.eye(7)
    d_inv_sqrt = torch.diag(a_tilde.sum(1) ** -0.5)
    a_hat = d_inv_sqrt @ a_tilde @ d_inv_sqrt  # D̃^{-1/2} Ã D̃^{-1/2}
    model = gnn.GCN(gnn.GCNConfig.tiny()).eval()
    x = torch.randn(7, 6)
    w0, w1 = model.layers[0].weight.weight.T, model.layers[1].weight.weight.T
    b0, b1 = model.layers[0].bias, model.layers[1].bias
    expected = a_hat @ torch.relu(a_hat @ x @ w0 + b0) @ w1 + b1  # Eq. (9) before the softmax
    assert torch.allclose(model(x, adj), expected, atol=1e-6)
    # Â's spectrum lies in (-1, 1]: repeated propagation does not blow up
    eig = torch.linalg.eigvalsh(a_hat)
    assert eig.max() <= 1 + 1e-6 and eig.min() > -1


# ───────────────────────── permutation equivariance ─────────────────────────


@pytest.mark.parametrize("kind", ["gcn", "gat", "mpnn"])
def test_permutation_equivariance(kind):
    torch.manual_seed(0)
    n = 9
    adj = random_graph(n, 0.35, seed=2)
    x = torch.randn(n, 6)
    perm = torch.randperm(n)
    p_adj = adj[perm][:, perm]
    if kind == "mpnn":
        model = gnn.MPNN(gnn.MPNNConfig.tiny()).eval()
        edges = adj.nonzero().T  # (2, E), both directions
        inv = torch.argsort(perm)  # old index → new index
        out, out_p = model(x, edges), model(x[perm], inv[edges])
    else:
        cfg = gnn.GCNConfig.tiny() if kind == "gcn" else gnn.GATConfig.tiny()
        model = (gnn.GCN(cfg) if kind == "gcn" else gnn.GAT(cfg)).eval()
        out, out_p = model(x, adj), model(x[perm], p_adj)
    assert torch.allclose(out[perm], out_p, atol=1e-5)


# ───────────────────────── GAT attention ─────────────────────────


def test_gat_attention_is_a_distribution_over_neighbours():
    torch.manual_seed(0)
    n = 8
    adj = random_graph(n, 0.3, seed=3)
    layer = gnn.GATLayer(6, 4, heads=3, concat=True)
    wh = layer.weight(torch.randn(n, 6)).view(n, 3, 4)
    alpha = layer.attention(wh, adj)  # (h, N, N)
    assert alpha.shape == (3, n, n)
    assert torch.allclose(alpha.sum(-1), torch.ones(3, n))
    allowed = (adj + torch.eye(n)) > 0
    assert (alpha[:, ~allowed] == 0).all()  # non-neighbours get exactly zero weight
    assert (alpha[:, allowed] > 0).all()
    # Eq. (3) by hand for one head and one node
    i, head = 0, 1
    nbrs = allowed[i].nonzero().flatten()
    a = torch.cat([layer.a_dst[head], layer.a_src[head]])
    e = torch.stack([torch.cat([wh[i, head], wh[j, head]]) @ a for j in nbrs])
    expected = torch.softmax(nn.functional.leaky_relu(e, 0.2), 0)
    assert torch.allclose(alpha[head, i, nbrs], expected, atol=1e-6)


def test_gat_output_is_attention_weighted_sum():
    torch.manual_seed(0)
    n = 6
    adj = random_graph(n, 0.5, seed=4)
    layer = gnn.GATLayer(5, 3, heads=2, concat=False, bias=False).eval()
    h = torch.randn(n, 5)
    wh = layer.weight(h).view(n, 2, 3)
    alpha = layer.attention(wh, adj)
    expected = torch.stack([alpha[k] @ wh[:, k] for k in range(2)], 1).mean(1)  # Eqs. (4), (6)
    assert torch.allclose(layer(h, adj), expected, atol=1e-6)


# ───────────────────────── message passing ─────────────────────────


def test_message_passing_sums_over_incoming_edges():
    torch.manual_seed(0)
    layer = gnn.MessagePassingLayer(4, 3)
    h = torch.randn(4, 4)
    edges = torch.tensor([[1, 2, 3, 0], [0, 0, 0, 1]])  # 1→0, 2→0, 3→0, 0→1
    msgs = [layer.message(torch.cat([h[v], h[w]])) for w, v in edges.T.tolist()]
    m = torch.zeros(4, 3)
    m[0] = msgs[0] + msgs[1] + msgs[2]
    m[1] = msgs[3]  # nodes 2 and 3 receive nothing: m = 0
    assert torch.allclose(layer(h, edges), layer.update(m, h), atol=1e-6)


def test_tiny_forward_and_finite_grads():
    torch.manual_seed(0)
    adj = random_graph(10, 0.3, seed=5)
    x = torch.randn(10, 6)
    for model in (gnn.GCN(gnn.GCNConfig.tiny()), gnn.GAT(gnn.GATConfig.tiny())):
        out = model(x, adj)
        assert out.shape == (10, 3)
        out.square().mean().backward()
        assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


# ───────────────────────── the karate-club data and the demo ─────────────────────────


def test_karate_club_data():
    data = json.loads(KARATE.read_text(encoding="utf-8"))
    edges = {tuple(sorted(e)) for e in data["edges"]}
    assert data["num_nodes"] == 34
    assert len(data["edges"]) == len(edges) == 78  # undirected, no duplicates
    assert all(i != j and 0 <= i < 34 and 0 <= j < 34 for i, j in edges)
    degree = torch.zeros(34, dtype=torch.long)
    for i, j in edges:
        degree[i] += 1
        degree[j] += 1
    assert degree[0] == 16 and degree[33] == 17  # Mr. Hi and the officer
    assert degree.sum() == 2 * 78 and degree.min() >= 1
    assert degree.argsort(descending=True)[:2].tolist() == [33, 0]  # the two hubs
    labels = data["labels"]
    mr_hi = {i for i in range(34) if labels[i] == 0}
    assert mr_hi == {0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 16, 17, 19, 21}
    assert len(mr_hi) == 17 and labels[33] == 1
    # the graph is connected
    seen, stack = {0}, [0]
    while stack:
        u = stack.pop()
        for i, j in edges:
            for a, b in ((i, j), (j, i)):
                if a == u and b not in seen:
                    seen.add(b)
                    stack.append(b)
    assert len(seen) == 34


def test_karate_semi_supervised_demo():
    """The page's demo: GCN + one labelled node per faction classifies most of the club."""
    from tools.generator.figures import gnn as demo

    snaps, labels, pred = demo.train_karate(seed=0)
    test = torch.ones(34, dtype=torch.bool)
    test[[0, 33]] = False
    assert (pred[test] == labels[test]).float().mean() >= 0.85
    assert snaps[demo.EPOCHS].shape == (34, 2)
