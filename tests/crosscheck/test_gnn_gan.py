"""GCN and GAT against PyTorch Geometric; DCGAN against the PyTorch examples' networks."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch_geometric.nn import GATConv, GCNConv

from reference_impl import gan, gnn
from tests.crosscheck.common import Case, compare, perturb_constants

N_NODES, N_EDGES = 2708, 5278  # Cora's size: 2708 papers, 5278 undirected citation links


def cora_sized_graph() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Random features (N, 1433), symmetric 0/1 adjacency (N, N) and PyG's edge_index (2, 2E)."""
    g = torch.Generator().manual_seed(4)
    x = (torch.rand(N_NODES, 1433, generator=g) < 0.0127).float()  # ≈18 words per paper
    src = torch.randint(N_NODES, (3 * N_EDGES,), generator=g)
    dst = torch.randint(N_NODES, (3 * N_EDGES,), generator=g)
    adj = torch.zeros(N_NODES, N_NODES)
    keep = src != dst
    adj[src[keep][:N_EDGES], dst[keep][:N_EDGES]] = 1.0
    adj = ((adj + adj.T) > 0).float()
    return x, adj, adj.nonzero().T.contiguous()


class PygGCN(nn.Module):
    """Kipf & Welling's two-layer GCN as PyG's examples write it."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.conv2 = GCNConv(1433, 16), GCNConv(16, 7)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.conv1(x, edge_index).relu(), edge_index)


class PygGAT(nn.Module):
    """Veličković et al.'s Cora GAT: 8 heads × 8 features (ELU), then one head × 7 classes."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = GATConv(1433, 8, heads=8, dropout=0.6)
        self.conv2 = GATConv(64, 7, heads=1, concat=False, dropout=0.6)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        return self.conv2(nn.functional.elu(self.conv1(x, edge_index)), edge_index)


@pytest.mark.parametrize("kind", ["gcn", "gat"])
def test_gnn(kind: str) -> None:
    check_gnn(kind)


def check_gnn(kind: str, tamper=None) -> dict:
    x, adj, edge_index = cora_sized_graph()
    theirs = PygGCN() if kind == "gcn" else PygGAT()
    perturb_constants(theirs)
    ours = gnn.gcn_cora() if kind == "gcn" else gnn.gat_cora()
    gnn.load_pyg(ours, [theirs.conv1.state_dict(), theirs.conv2.state_dict()])
    ref = "GCNConv ×2" if kind == "gcn" else "GATConv ×2"
    case = Case(
        "gnn",
        kind.upper() + "（Cora）",
        f"{kind}_cora()",
        "torch_geometric",
        ref,
        f"Cora 大小的随机图：{N_NODES} 个节点、{int(adj.sum()) // 2} 条边、1433 维特征",
    )
    return compare(
        case, ours, theirs, lambda m: m(x, adj), lambda m: m(x, edge_index), tamper=tamper
    )


# The networks of pytorch/examples dcgan/main.py (nz = 100, ngf = ndf = 64, nc = 3), written out.
def example_generator(nz: int = 100, ngf: int = 64, nc: int = 3) -> nn.Module:
    net = nn.Module()
    net.main = nn.Sequential(
        nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),
        nn.BatchNorm2d(ngf * 8),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ngf * 4),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ngf * 2),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ngf),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
        nn.Tanh(),
    )
    return net


def example_discriminator(ndf: int = 64, nc: int = 3) -> nn.Module:
    net = nn.Module()
    net.main = nn.Sequential(
        nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ndf * 2),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ndf * 4),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ndf * 8),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False),
        nn.Sigmoid(),
    )
    return net


def test_dcgan() -> None:
    net_g, net_d = example_generator(), example_discriminator()
    pair = nn.ModuleDict({"G": net_g, "D": net_d})
    perturb_constants(pair)
    ours = gan.dcgan_pytorch_example()
    gan.load_pytorch_example(ours, net_g.state_dict(), net_d.state_dict())
    g = torch.Generator().manual_seed(5)
    z, x = torch.randn(4, 100, generator=g), torch.randn(4, 3, 64, 64, generator=g)

    def run_theirs(m: nn.ModuleDict) -> tuple[torch.Tensor, ...]:
        logit = m["D"].main[:-1]  # the logit before the examples' final sigmoid
        fake = m["G"].main(z[:, :, None, None])
        return fake, logit(x).flatten(), logit(fake).flatten()

    def run_ours(m: gan.DCGAN) -> tuple[torch.Tensor, ...]:
        real, fake_logits = m(z, x)
        return m.generator(z), real, fake_logits

    case = Case(
        "gan",
        "DCGAN（PyTorch 示例的网络）",
        "dcgan_pytorch_example()",
        "torch",
        "pytorch/examples dcgan 的 netG + netD（按其代码写出）",
        "z 4×100，图像 4×3×64×64",
        note="比较 G(z) 以及 D 在真、假图像上的 logit（示例的 D 末尾还有 sigmoid）",
    )
    compare(case, ours, pair, run_ours, run_theirs)
