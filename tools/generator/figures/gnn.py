"""GNN figures: semi-supervised node classification on Zachary's karate club with a GCN.

As in Kipf & Welling's karate-club demonstration: no node features (the identity matrix), one
labelled node per faction (Mr. Hi = node 0, the officer = node 33), a GCN from
``reference_impl/gnn.py`` whose last layer has 2 units (the embedding we plot), then a linear
softmax classifier. Trains in well under a second.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch import nn

from reference_impl import gnn
from tools.generator.figures import style

DEPENDS = ("reference_impl/gnn.py", "reference_impl/data/karate.json")

KARATE = Path(__file__).resolve().parents[3] / "reference_impl" / "data" / "karate.json"
EPOCHS, SNAPSHOTS = 300, (0, 30, 300)


def load_karate() -> tuple[torch.Tensor, torch.Tensor, list[tuple[int, int]]]:
    """Return the adjacency (34, 34), the faction labels (34,) and the edge list."""
    data = json.loads(KARATE.read_text(encoding="utf-8"))
    n = data["num_nodes"]
    edges = [tuple(e) for e in data["edges"]]
    adj = torch.zeros(n, n)
    for i, j in edges:
        adj[i, j] = adj[j, i] = 1.0
    return adj, torch.tensor(data["labels"]), edges


def train_karate(seed: int = 0) -> tuple[dict[int, torch.Tensor], torch.Tensor, torch.Tensor]:
    """Train GCN(34→4→4→2, tanh) + linear classifier on nodes 0 and 33 only.

    Returns:
        2-D embeddings at each snapshot epoch, the labels, and the final predictions.
    """
    torch.manual_seed(seed)
    adj, labels, _ = load_karate()
    x = torch.eye(adj.shape[0])  # featureless: one-hot node identities
    encoder = gnn.GCN(gnn.GCNConfig(dims=(34, 4, 4, 2), activation="tanh", dropout=0.0))
    classifier = nn.Linear(2, 2)
    params = list(encoder.parameters()) + list(classifier.parameters())
    opt = torch.optim.Adam(params, lr=0.01)
    train_nodes = torch.tensor([0, 33])
    snaps = {}
    for epoch in range(EPOCHS + 1):
        emb = torch.tanh(encoder(x, adj))  # (34, 2): the last GCN layer, squashed like the others
        if epoch in SNAPSHOTS:
            snaps[epoch] = emb.detach()
        if epoch == EPOCHS:
            break
        loss = F.cross_entropy(classifier(emb)[train_nodes], labels[train_nodes])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        pred = classifier(snaps[EPOCHS]).argmax(-1)
    return snaps, labels, pred


def draw_karate_embeddings() -> Figure:
    """空手道俱乐部：把图画在 GCN 的二维节点嵌入上（只有 0 号与 33 号节点有标签）."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a 34-node graph: threads only add overhead
    try:
        snaps, labels, pred = train_karate()
    finally:
        torch.set_num_threads(threads)
    _, _, edges = load_karate()
    test = torch.ones(34, dtype=torch.bool)
    test[[0, 33]] = False
    acc = (pred[test] == labels[test]).float().mean().item()
    fig = style.new_figure(width=7.5, height=2.9)
    axes = fig.subplots(1, len(SNAPSHOTS))
    names = ("Mr. Hi 派", "Officer 派")
    for ax, epoch in zip(axes, SNAPSHOTS, strict=True):
        emb = snaps[epoch]
        for i, j in edges:
            ax.plot(*emb[[i, j]].T, color="#9e9e9e", lw=0.5, alpha=0.5, zorder=1)
        for c in (0, 1):
            pts = emb[labels == c]
            ax.scatter(pts[:, 0], pts[:, 1], s=22, c=style.PALETTE[c], label=names[c], zorder=2)
        ax.scatter(
            emb[[0, 33], 0],
            emb[[0, 33], 1],
            s=160,
            marker="*",
            c=[style.PALETTE[0], style.PALETTE[1]],
            edgecolors=style.FG,
            linewidths=0.8,
            zorder=3,
            label="有标签节点（0 与 33）",
        )
        ax.set_xticks([])
        ax.set_yticks([])
        title = "随机初始化（未训练）" if epoch == 0 else f"训练 {epoch} 轮"
        if epoch == EPOCHS:
            title += f"：其余 32 个节点准确率 {acc:.0%}"
        ax.set_title(title, fontsize=9)
    axes[0].legend(loc="lower left", fontsize=7, markerscale=0.7)
    return fig


FIGURES = {"gnn-karate-embeddings": draw_karate_embeddings}
