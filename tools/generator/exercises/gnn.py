"""Exercises of the GNN page: answers computed from ``reference_impl/gnn.py``."""

from __future__ import annotations

from tools.generator.exercises import Computed, Exercise, n_params


def exercises() -> list[Exercise]:
    """The page's exercises, in page order."""
    n = numbers()
    return [
        _star_graph(n),
        _citeseer_params(n),
        _pubmed_gat_params(n),
        _over_smoothing(),
        _renormalisation(),
        _inductive(),
        _karate_figure(),
    ]


def numbers() -> dict[str, float]:
    """The computed answers, from the reference code (meta device, or a 4-node graph)."""
    import torch

    from reference_impl import gnn

    star = torch.zeros(4, 4, dtype=torch.float64)
    star[0, 1:] = star[1:, 0] = 1.0  # node 0 joined to nodes 1, 2, 3
    a_hat = gnn.normalized_adjacency(star)
    with torch.device("meta"):
        citeseer = n_params(gnn.gcn_cora(dims=(3703, 16, 6)))
        pubmed = n_params(gnn.gat_cora(dims=(500, 8, 3), heads=(8, 8)))
    return {"star": a_hat[0, 1].item(), "citeseer": citeseer, "pubmed": pubmed}


def _star_graph(n: dict[str, float]) -> Exercise:
    """星形图上的 Â."""
    return Exercise(
        id="gnn-star-graph",
        kind="计算",
        title="星形图上的 Â",
        question=(
            "一个 4 个节点的星形图：0 号节点与 1、2、3 号相连，叶子之间不相连。按重归一化技巧 "
            "$\\hat A=\\tilde D^{-1/2}(A+I)\\tilde D^{-1/2}$，$\\hat A_{01}$ 是多少？"
            "$\\hat A_{00}$ 和 $\\hat A_{11}$ 呢？"
        ),
        computed=Computed(
            value=n["star"], formula="1/(4*2)**0.5", unit="", tolerance=0.001, decimals=3
        ),
        answer=(
            "加上自环后，中心的度 $\\tilde d_0=3+1=4$，叶子的度 $\\tilde d_1=1+1=2$。"
            "$\\hat A_{ij}=1/\\sqrt{\\tilde d_i\\tilde d_j}$："
            "$\\hat A_{01}=1/\\sqrt{8}\\approx0.354$，$\\hat A_{00}=1/4$，$\\hat A_{11}=1/2$。"
            "于是一层 GCN 之后，叶子的新特征一半来自自己、约 0.354 来自中心；中心的新特征里"
            "自己只占 1/4，三个叶子各占约 0.354——度大的节点自己的信息被邻居“稀释”，"
            "度小的节点保留更多自己的信息。生成器用 `normalized_adjacency` 在这个图上算出。"
        ),
        cite="Kipf & Welling §2.2（重归一化技巧）",
    )


def _citeseer_params(n: dict[str, float]) -> Exercise:
    """Citeseer 上的 GCN 有多少参数."""
    return Exercise(
        id="gnn-citeseer-params",
        kind="计算",
        title="Citeseer 上的 GCN 有多少参数",
        question=(
            "把 Cora 上的两层 GCN 原样用到 Citeseer：每篇论文的特征是 3703 维词袋向量，"
            "6 个类别，隐藏层仍是 16 维，两层都带偏置。模型有多少个参数？它与图的节点数、"
            "边数有关吗？"
        ),
        computed=Computed(value=n["citeseer"], formula="3703*16 + 16 + 16*6 + 6", unit="个参数"),
        answer=(
            "每层就是一个 $W^{(l)}$ 加一个偏置：$3703\\times16+16$ 和 $16\\times6+6$。"
            "$\\hat A$ 不是参数，它由图算出；参数量只取决于特征维数、隐藏宽度和类别数，"
            "与节点数、边数无关——同一组参数可以用在任意大小的图上。99% 以上的参数在第一层，"
            "因为输入是很长的稀疏词袋向量。"
            "生成器在 meta 设备上数了 `gcn_cora(dims=(3703, 16, 6))`。"
        ),
        cite="Kipf & Welling §5.1–5.2、表 1",
    )


def _pubmed_gat_params(n: dict[str, float]) -> Exercise:
    """Pubmed 上的 GAT 有多少参数."""
    return Exercise(
        id="gnn-pubmed-gat-params",
        kind="计算",
        title="Pubmed 上的 GAT 有多少参数",
        question=(
            "GAT 在 Pubmed 上的配置（§3.3）：500 维输入特征，3 个类别；第一层 8 个头、每头 8 维"
            "（拼接），输出层不是 1 个头而是 8 个头（平均）。按参考实现的约定"
            "（每个头一个 $W$ 和一对 $a$，每层一个偏置，偏置加在拼接或平均之后），"
            "一共有多少个参数？"
        ),
        computed=Computed(
            value=n["pubmed"],
            formula="(500*8*8 + 8*2*8 + 8*8) + (64*8*3 + 8*2*3 + 3)",
            unit="个参数",
        ),
        answer=(
            "第一层：8 个头的 $W$ 合起来是 $500\\times64$；每个头的 $a$ 有 $2\\times8$ 个数"
            "（拆成作用于 $Wh_i$ 和 $Wh_j$ 的两半）；拼接后的偏置 64 维。输出层：输入 64 维，"
            "8 个头各把它映射到 3 维，$W$ 共 $64\\times24$；$a$ 共 $8\\times2\\times3$；平均后的"
            "偏置 3 维。输出层从 1 个头变成 8 个头只多了 1,386 个参数；论文用多头注意力"
            "是为了让自注意力的学习过程更稳定。"
            "生成器在 meta 设备上数了 `gat_cora(dims=(500, 8, 3), heads=(8, 8))`。"
        ),
        cite="Veličković et al. §2.2、§3.3",
    )


def _over_smoothing() -> Exercise:
    """把 GCN 叠到 64 层."""
    return Exercise(
        id="gnn-over-smoothing",
        kind="代码",
        title="把 GCN 叠到 64 层",
        question=(
            "去掉 GCN 层的权重和激活函数，一层就是乘一次 $\\hat A$。写一个 "
            "`propagate(x, adj, steps, alpha)`：重复 `steps` 次 $H\\leftarrow(1-\\alpha)\\hat AH+"
            "\\alpha X$，再写 `mean_cosine(h)` 计算所有节点两两之间的平均余弦相似度。"
            "在空手道俱乐部图上以单位矩阵为输入（每个节点只有自己的“身份”），回答："
            "(a) $\\alpha=0$ 时，1 层、64 层之后节点之间还分得开吗？两派呢？"
            "(b) $\\alpha=0.1$ 时呢？"
        ),
        answer=(
            "(a) 1 层时平均余弦相似度只有 0.14；64 层后任意两个节点的余弦相似度都超过 0.999："
            "每一行都变成了同一个向量 $\\tilde D^{1/2}\\mathbf 1$（$\\hat A$ 属于特征值 1 的"
            "特征向量）的倍数，两派再也分不开——这就是过平滑，GCN 通常只有 2–3 层的原因。"
            "(b) 每步混回一部分输入后，表示收敛到一个不动点（32 层与 64 层几乎相同），"
            "同一派的平均相似度约 0.55，两派之间约 0.37，节点仍然分得开。"
            "这就是 APPNP、GCNII 等“初始残差”的思路。"
        ),
        solution=("reference_impl/exercises/gnn.py:over-smoothing",),
        test="tests/test_exercises_gnn.py::test_sixty_four_rounds_make_every_node_alike",
        cite="本页“局限与后续”（过平滑，Li et al. 2018）",
    )


def _renormalisation() -> Exercise:
    """为什么要重归一化."""
    return Exercise(
        id="gnn-renormalisation",
        kind="思考",
        title="为什么要重归一化",
        question=(
            "一阶近似得到的算子是 $I+D^{-1/2}AD^{-1/2}$。Kipf 和 Welling 为什么不直接用它，"
            "而要先加自环再归一化？"
        ),
        answer=(
            "$I+D^{-1/2}AD^{-1/2}$ 的特征值在 $[0,2]$ 之间。深层网络里反复乘它，特征值大于 1 "
            "的方向被不断放大、小的方向被不断压缩，会导致数值不稳定和梯度爆炸或消失。"
            "先加自环再对称归一化得到的 $\\hat A$，特征值落在 $(-1,1]$ 内（本页测试检查了这一点），"
            "反复相乘不会爆炸。自环还让节点在聚合时保留自己的特征。"
        ),
        cite="Kipf & Welling §2.2",
    )


def _inductive() -> Exercise:
    """GAT 为什么能用在没见过的图上."""
    return Exercise(
        id="gnn-inductive",
        kind="思考",
        title="GAT 为什么能用在没见过的图上",
        question=(
            "GAT 在 PPI 上做归纳式学习：测试用的图在训练时完全没见过。GCN 的邻居权重和 GAT 的"
            "注意力权重分别取决于什么？为什么说 GAT 天然适合这种设定？"
        ),
        answer=(
            "GCN 给邻居的权重 $1/\\sqrt{\\tilde d_v\\tilde d_w}$ 只取决于图结构，而原始的谱方法"
            "依赖整张图的拉普拉斯特征基，换一张图就不再适用。GAT 的注意力由共享的 $W$ 和 $a$ "
            "根据两端节点的特征算出，在所有边上共享，不需要事先知道整张图的结构或所有节点的"
            "特征，所以能直接用在新图上；它还能给同一邻域里的不同邻居不同的权重。"
        ),
        cite="Veličković et al. §2.2、§3.2（PPI）、表 3",
    )


def _karate_figure() -> Exercise:
    """随机初始化的 GCN 为什么已经有结构."""
    return Exercise(
        id="gnn-karate-figure",
        kind="思考",
        title="随机初始化的 GCN 为什么已经有结构",
        question=(
            "本页空手道俱乐部的图中，权重还是随机的时候，两派节点就已经大体聚在各自的"
            "带标签节点附近了。为什么？训练又是怎样只靠两个带标签的节点把 32 个节点分对的？"
        ),
        answer=(
            "每一层都乘 $\\hat A$，相连的节点特征被反复平均：即使 $W$ 是随机的，输出也是图上的"
            "平滑函数，相邻、共享很多邻居的节点得到相近的嵌入（论文附录 A 把这比作 "
            "Weisfeiler–Lehman 算法）。训练时损失只在两个节点上计算，但梯度要穿过 $\\hat A$，"
            "标签信息沿边传播到整个图；两派内部连边多、之间连边少，所以平滑正好沿派别分开。"
            "唯一分错的 8 号节点，5 个邻居里有 3 个属于另一派。"
        ),
        cite="本页的[空手道俱乐部嵌入图](#fig-gnn-karate-embeddings)；Kipf & Welling 附录 A",
    )
