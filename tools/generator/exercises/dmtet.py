"""Exercises of the DMTet page: answers computed from ``reference_impl/dmtet.py``."""

from __future__ import annotations

from tools.generator.exercises import Computed, Exercise


def exercises() -> list[Exercise]:
    """The page's exercises, in page order."""
    n = numbers()
    return [
        _plane_triangles(n),
        _grid_edges(n),
        _fixed_shape_bytes(n),
        _subdivision(),
        _no_ambiguity(),
        _surface_losses(),
        _sdf_regulariser(),
    ]


def numbers() -> dict[str, int]:
    """The computed answers, from the reference code (small grids on the CPU, the rest on meta)."""
    import torch

    from reference_impl import dmtet

    # a plane z = 0.05 through a 16³ grid (no vertex on it: grid z-coordinates are k/8 − 1)
    verts, tets, edges, tet_edges = dmtet.tetrahedral_grid(16)
    sdf = (verts[:, 2] - 0.05)[None]  # (1, V): negative below the plane
    _, _, face_mask = dmtet.MarchingTetrahedra()(verts[None], sdf, edges, tets, tet_edges)
    plane_faces = int(face_mask.sum())
    # the real edges of a 32³ grid: the slots that are not degenerate (a, a)
    _, _, edges32, _ = dmtet.tetrahedral_grid(32)
    real_edges = int((edges32[:, 0] != edges32[:, 1]).sum())
    # bytes of one shape's fixed-shape marching-tetrahedra output at the default 64³ grid
    with torch.device("meta"):
        model = dmtet.dmtet()
        outputs = model(torch.empty(1, model.cfg.d_feat, 16, 16, 16))[:3]
    mt_bytes = sum(t.numel() * t.element_size() for t in outputs)
    return {"plane_faces": plane_faces, "real_edges": real_edges, "mt_bytes": mt_bytes}


def _plane_triangles(n: dict[str, int]) -> Exercise:
    """一个平面切出多少个三角形."""
    return Exercise(
        id="dmtet-plane-triangles",
        kind="计算",
        title="一个平面切出多少个三角形",
        question=(
            "在参考实现的 $16^3$ 网格（每个立方体沿主对角线切成 6 个四面体）上，"
            "取 SDF $s(v)=z-0.05$：一个水平面，不经过任何网格顶点。移动四面体提取出的网格有"
            "多少个三角形？提示：这个平面只切过一层立方体；对每个四面体，数一数平面下方有几个"
            "顶点，再查本页的三类情形表。"
        ),
        computed=Computed(
            value=n["plane_faces"], formula="(2*1 + 2*2 + 2*1)*16**2", unit="个三角形"
        ),
        answer=(
            "被切的那层立方体中，每个四面体的路径 $0\\to e_{\\pi_1}\\to e_{\\pi_1}+e_{\\pi_2}\\to"
            "(1,1,1)$ 在走到 $z$ 方向那一步时越过平面。$z$ 排在排列的第一位（2 个四面体）："
            "下方 1 个顶点、上方 3 个，一个三角形；第二位（2 个）：两上两下，一个四边形即两个"
            "三角形；第三位（2 个）：下方 3 个、上方 1 个，一个三角形。每个立方体 8 个三角形，"
            "$16^2$ 个立方体。移动立方体切同一个平面每个立方体只要 2 个三角形：这正是本页说的"
            "代价，“三角形更多、形状更不规则”。网格顶点是被切的边：竖直边 $17^2$、两种带 $z$"
            " 分量的面对角线 $2\\cdot16\\cdot17$、体对角线 $16^2$，共 1,089 个。"
            "生成器在 CPU 上对这个平面运行 `MarchingTetrahedra`，数 `face_mask` 中的 True。"
        ),
        cite="§3.1.3；本页“移动四面体”一节的情形表",
    )


def _grid_edges(n: dict[str, int]) -> Exercise:
    """32³ 网格有多少条边."""
    return Exercise(
        id="dmtet-grid-edges",
        kind="计算",
        title="32³ 网格有多少条边",
        question=(
            "参考实现的 $32^3$ 四面体网格（Kuhn 剖分）一共有多少条不同的边？"
            "`tetrahedral_grid` 给每个顶点留 7 个边的位置（7 个 0/1 方向），共 $7\\cdot33^3$ 个，"
            "其中多少是真实的边？"
        ),
        computed=Computed(
            value=n["real_edges"], formula="3*32*33**2 + 3*32**2*33 + 32**3", unit="条边"
        ),
        answer=(
            "三类边：沿坐标轴的边，每个方向 $32\\cdot33^2$ 条；面对角线，每个正方形面只切一条"
            "（从最低角到最高角），每个方向 $32^2\\cdot33$ 条；体对角线，每个立方体一条，"
            "$32^3$ 条。合计 238,688 条，占 $7\\cdot33^3=251{,}559$ 个位置的 95%；其余位置从"
            "网格边界伸出去，是退化的 $(a,a)$ 边，永远不会被表面切到。固定的编号省去了"
            "去重用的哈希表。这些边的每一条都可能成为一个网格顶点（DMTet 的式 (2) 就定义在边上）。"
            "生成器数了 `tetrahedral_grid(32)` 中两端不同的边。"
        ),
        cite="§3.1.1；本页“四面体网格”一节",
    )


def _fixed_shape_bytes(n: dict[str, int]) -> Exercise:
    """固定形状的代价."""
    return Exercise(
        id="dmtet-fixed-shape-bytes",
        kind="计算",
        title="固定形状的代价",
        question=(
            "默认配置（$64^3$ 网格）下，参考实现的移动四面体为一个形状输出每条边一个候选顶点"
            "（float32 的三维坐标，$7\\cdot65^3$ 个）、每个四面体两个候选三角形"
            "（int64 的三个顶点编号）和每个候选三角形一个 bool 掩码。这三个张量共多少字节？"
        ),
        computed=Computed(
            value=n["mt_bytes"],
            formula="7*65**3*3*4 + 2*6*64**3*3*8 + 2*6*64**3*1",
            unit="字节",
        ),
        answer=(
            "候选顶点 $7\\cdot65^3\\cdot3\\cdot4$ 字节约 23 MB，候选三角形 $2\\cdot6\\cdot64^3"
            "\\cdot3\\cdot8$ 字节约 75 MB，掩码约 3 MB，合计约 102 MB——每个形状都是这么多，"
            "与表面大小无关。一个横穿网格的平面只用到 $8\\cdot64^2=32{,}768$ 个三角形，"
            "约占 315 万个候选的 1%。换来的好处是整个前向传播没有依赖数据的形状，"
            "能在 meta 设备上运行、批处理也简单；常见实现改用掩码挑出相交的四面体再去重，"
            "内存只随表面增长。"
            "生成器在 meta 设备上跑一次 `dmtet()`，把三个输出的元素数乘以每个元素的字节数。"
        ),
        cite="本页“移动四面体”一节（固定形状）与结构图",
    )


def _subdivision() -> Exercise:
    """只细分不预测，表面会变吗."""
    return Exercise(
        id="dmtet-subdivision",
        kind="代码",
        title="只细分不预测，表面会变吗",
        question=(
            "体细分（§3.1.2）给每条边加一个中点，新顶点的 SDF 取两端的平均。在参考实现的网格上"
            "写一个 `subdivide_sdf(sdf, res)`：把 $r^3$ 网格上的 SDF 细分成 $(2r)^3$ 网格上的"
            " SDF（Kuhn 剖分加倍后，每个新顶点恰好是一条旧边的中点）。对一个球，比较细分前后"
            "移动四面体提取出的网格：三角形数、面积、体积各有什么变化？这说明了什么？"
        ),
        answer=(
            "三角形多了约 4 倍（测试中的球从 692 个变成 2,572 个），面积和体积却一模一样"
            "（测试在双精度下比较，差别只有舍入误差）。原因是 Kuhn 剖分是嵌套的：细网格的"
            "每个小四面体都落在某个大四面体里，取平均得到的 SDF 仍是原来那个分段线性函数，"
            "零等值面是同一个曲面，只是被切成了更多三角形。所以细分本身不增加任何细节："
            "论文在细分之后再用 GCN 预测新的 SDF 残差和位移（§3.2.1），细节是在更细的网格上"
            "重新预测出来的。"
        ),
        solution=("reference_impl/exercises/dmtet.py:subdivide",),
        test="tests/test_exercises_dmtet.py::test_subdividing_the_sdf_keeps_the_surface",
        cite="§3.1.2、§3.2.1",
    )


def _no_ambiguity() -> Exercise:
    """移动四面体为什么没有二义性."""
    return Exercise(
        id="dmtet-no-ambiguity",
        kind="思考",
        title="移动四面体为什么没有二义性",
        question=(
            "移动立方体在某些符号组合下有二义性，可能在网格上留下洞。"
            "移动四面体为什么没有这个问题？代价是什么？"
        ),
        answer=(
            "四面体内的 SDF 是四个顶点值的线性插值，零等值面必定是一个平面片：三角形或四边形，"
            "16 种符号组合按对称性只有 3 类，每类的连法唯一。相邻四面体在公共三角面上的交线只由"
            "这个面的 3 个顶点决定，两边算出的是同一条线段，所以网格天然闭合。"
            "移动立方体的一个面有 4 个顶点，呈棋盘状符号时面内等值线有两种连法，相邻立方体"
            "选得不一致就会出洞。代价是每个立方体变成 6 个四面体，三角形更多（第 1 题的平面："
            "每个立方体 8 个，移动立方体只要 2 个）、形状更不规则，剖分对角线的方向还会带来"
            "轻微的各向异性。"
        ),
        cite="§3.1.3；本页“移动四面体，以及移动立方体的二义性”一节",
    )


def _surface_losses() -> Exercise:
    """为什么直接在表面上优化."""
    return Exercise(
        id="dmtet-surface-losses",
        kind="思考",
        title="为什么直接在表面上优化",
        question=(
            "看本页的形变实验图：左图的顶点 SDF 是精确的真值，提取出的网格为什么仍然很粗糙？"
            "只优化 SDF 和同时优化 SDF 与形变，又分别改善了什么？"
        ),
        answer=(
            "顶点上精确的 SDF 只保证线性插值在顶点处正确；在 $6^3$ 的粗网格上，与网格不对齐的"
            "棱和角落在四面体内部，线性插值把它们削平了。直接让提取出的网格与真实表面的倒角"
            "距离最小，顶点 SDF 会偏离真值，去补偿插值误差，误差降到约五分之一——这就是 DMTet"
            " 把损失定义在表面上、而不是逐点回归 SDF 的理由。只优化 SDF 时交点只能沿固定的边"
            "移动；加上形变，网格顶点能向棱和角靠拢，误差又降到约四分之一。"
        ),
        cite="本页的[形变实验图](#fig-dmtet-deformation)；论文 §1、§3.1.1、§3.3",
    )


def _sdf_regulariser() -> Exercise:
    """有了表面损失，为什么还要 L_SDF."""
    return Exercise(
        id="dmtet-sdf-regulariser",
        kind="思考",
        title="有了表面损失，为什么还要 L_SDF",
        question=(
            "倒角距离、法向和对抗损失都定义在提取出的表面上。为什么 DMTet 还要对所有顶点加一个"
            "回归 SDF 的损失 $L_\\text{SDF}$？它在 DMTet 里的角色与隐式方法中的逐点回归有何不同？"
        ),
        answer=(
            "表面损失的梯度只经过被表面切到的边，回到这些边两端的顶点；离表面远的顶点得不到梯度，"
            "那里可能冒出游离的碎片。表面损失也分不清内外：把一个四面体所有顶点的 SDF 同时取反，"
            "提取出的表面完全一样。$L_\\text{SDF}$ 约束所有顶点的符号和大小，去掉这些歧义，"
            "在 DMTet 中只是正则项；起主要作用的是表面上的 $L_\\text{cd}$、$L_\\text{normal}$"
            " 与对抗损失。隐式方法则把逐点回归当作唯一的监督。"
        ),
        cite="§3.3；本页“损失函数”一节",
    )
