"""Exercises of the ResNet page: answers computed from ``reference_impl/resnet.py`` on meta."""

from __future__ import annotations

from tools.generator.exercises import Computed, Exercise, count_macs, n_params


def exercises() -> list[Exercise]:
    """The page's exercises, in page order."""
    n = numbers()
    return [
        _bottleneck_params(n),
        _projection_params(n),
        _v15_macs(n),
        _preact_block(),
        _degradation(),
        _option_c(),
        _gradient_figure(),
    ]


def numbers() -> dict[str, int]:
    """The computed answers, from the reference code (meta device)."""
    import torch

    from reference_impl import resnet

    with torch.device("meta"):
        bottleneck = n_params(resnet.Bottleneck(256, 64))
        projections = n_params(resnet.resnet34()) - n_params(resnet.plain34())
        image = torch.empty(1, 3, 224, 224)
        v1 = count_macs(resnet.resnet50(), image)
        v15 = count_macs(resnet.resnet50(stride_in_3x3=True), image)
    return {"bottleneck": bottleneck, "projections": projections, "v15_extra": v15 - v1}


def _bottleneck_params(n: dict[str, int]) -> Exercise:
    """一个瓶颈块有多少参数."""
    return Exercise(
        id="resnet-bottleneck-params",
        kind="计算",
        title="一个瓶颈块有多少参数",
        question=(
            "conv2_x 中第二个瓶颈块的输入和输出都是 256 通道（恒等捷径）："
            "$1\\times1$ 卷积降到 64 通道、$3\\times3$ 卷积、$1\\times1$ 卷积升回 256 通道，"
            "每个卷积后接一个 BatchNorm，卷积不带偏置。这个块一共有多少个**可训练参数**？"
            "（BatchNorm 的滑动均值和方差是缓冲区，不是参数。）"
        ),
        computed=Computed(
            value=n["bottleneck"],
            formula="256*64 + 9*64*64 + 64*256 + 2*(64 + 64 + 256)",
            unit="个参数",
        ),
        answer=(
            "三个卷积的权重是 $C_\\text{in}\\cdot C_\\text{out}\\cdot k^2$："
            "$256\\cdot64$、$9\\cdot64\\cdot64$、$64\\cdot256$，合计 69,632（正文的数）；"
            "每个 BatchNorm 还有缩放 $\\gamma$ 和平移 $\\beta$ 两组参数，"
            "三个 BN 分别作用在 64、64、256 个通道上。"
            "生成器在 meta 设备上构建 `Bottleneck(256, 64)` 并计数 `sum(p.numel())`。"
        ),
    )


def _projection_params(n: dict[str, int]) -> Exercise:
    """选项 B 的投影捷径多了多少参数."""
    return Exercise(
        id="resnet-projection-params",
        kind="计算",
        title="选项 B 的投影捷径多了多少参数",
        question=(
            "参考实现的 ResNet-34 用选项 B：只在 conv3_1、conv4_1、conv5_1 三处维度增加时"
            "用投影捷径（$1\\times1$ 卷积、步幅 2，后接 BatchNorm），其余捷径是恒等。"
            "它比去掉所有捷径的 plain-34 多多少个参数？"
        ),
        computed=Computed(
            value=n["projections"],
            formula="64*128 + 2*128 + 128*256 + 2*256 + 256*512 + 2*512",
            unit="个参数",
        ),
        answer=(
            "恒等捷径没有参数，差别全在三个投影上：通道数 64→128、128→256、256→512，"
            "每个是一个 $1\\times1$ 卷积（$C_\\text{in}C_\\text{out}$ 个权重）"
            "加一个 BN（$2C_\\text{out}$）。生成器算的是 `resnet34()` 与 `plain34()` "
            "参数量之差。论文表 2 的对比用的是选项 A（补零），两者参数量完全相同。"
        ),
        cite="§3.3（选项 A/B/C）、表 3",
    )


def _v15_macs(n: dict[str, int]) -> Exercise:
    """把步幅挪到 3×3 卷积上要多算多少."""
    return Exercise(
        id="resnet-v15-macs",
        kind="计算",
        title="把步幅挪到 3×3 卷积上要多算多少",
        question=(
            "ResNet-50 在 $224\\times224$ 输入上，若把三个下采样瓶颈块（conv3_1、conv4_1、"
            "conv5_1）的步幅从第一个 $1\\times1$ 卷积挪到 $3\\times3$ 卷积上（“v1.5”），"
            "乘加数（MACs）增加多少？提示：只有第一个 $1\\times1$ 卷积的输出分辨率变了。"
        ),
        computed=Computed(
            value=n["v15_extra"],
            formula="(4 - 1)*(256*128*28*28 + 512*256*14*14 + 1024*512*7*7)",
            unit="MACs",
        ),
        answer=(
            "一个 $1\\times1$ 卷积的乘加数是 $C_\\text{in}\\cdot C_\\text{out}\\cdot H_\\text{out}"
            "W_\\text{out}$。论文布局里它带步幅 2，输出是 $28\\times28$、$14\\times14$、"
            "$7\\times7$；v1.5 中它不下采样，输出边长加倍、面积是 4 倍，于是多出 3 倍。"
            "$3\\times3$ 卷积在两种布局里的输出分辨率相同，乘加数不变。"
            "三处各多出 77,070,336 次，恰好相等——这正是“分辨率减半、通道加倍”规则"
            "让每层计算量不变的结果。生成器用 `FlopCounterMode` 在 meta 设备上分别数了"
            "`resnet50()` 和 `resnet50(stride_in_3x3=True)`，取差。"
        ),
    )


def _preact_block() -> Exercise:
    """写一个预激活残差块."""
    return Exercise(
        id="resnet-preact-block",
        kind="代码",
        title="写一个预激活残差块",
        question=(
            "He et al. (2016b) 把 BN 和 ReLU 挪到每个卷积**之前**，相加之后不再接 ReLU"
            "（“预激活”）。仿照 `BasicBlock` 写一个 `PreActBasicBlock`，然后回答："
            "(a) 输入输出都是 64 通道时，它和 `BasicBlock(64, 64)` 的参数量一样吗？"
            "(b) 把残差分支最后一个卷积的权重置零，两个块对**含负值**的输入还是恒等映射吗？"
        ),
        answer=(
            "(a) 一样多：两个 $3\\times3$ 卷积不变，两个 BN 仍是 64 通道，只是位置变了。"
            "(b) 预激活块是：分支为零时输出就是 $x$，对任意输入都是恒等，"
            "这正是 He et al. (2016b) 想要的“纯恒等”通路。原始块不是：加法之后的 ReLU 把"
            "负值截成 0，只有非负输入才原样通过（原始块的 ReLU 输出本来非负，所以在网络内部"
            "影响小，但捷径这条路已经不再是纯恒等）。同样的输入，两个块的输出也不同。"
        ),
        solution=("reference_impl/exercises/resnet.py:preact-block",),
        test="tests/test_exercises_resnet.py::test_preact_block_is_an_identity_for_any_input",
    )


def _degradation() -> Exercise:
    """退化为什么不是过拟合."""
    return Exercise(
        id="resnet-degradation",
        kind="思考",
        title="退化为什么不是过拟合",
        question=(
            "56 层普通网络在 CIFAR-10 上的测试误差比 20 层的高。"
            "为什么论文说这不是过拟合？它用什么证据说明这是一个优化问题？"
        ),
        answer=(
            "过拟合是训练误差低而测试误差高；这里 56 层网络的**训练误差**就比 20 层的高。"
            "而更深的网络至少有一个不比浅网络差的解（新加的层取恒等、其余层照搬浅网络），"
            "所以训练误差更高只能说明优化器没找到它：这是优化问题，不是容量或泛化问题。"
            "ImageNet 上 34 层普通网络在整个训练过程中的训练误差也高于 18 层的。"
        ),
        cite="§1 与图 1（CIFAR-10）、§4.1 与图 4、表 2（ImageNet）",
    )


def _option_c() -> Exercise:
    """为什么深的 ResNet 不全用投影捷径."""
    return Exercise(
        id="resnet-option-c",
        kind="思考",
        title="为什么深的 ResNet 不全用投影捷径",
        question=(
            "表 3 中选项 C（所有捷径都用投影）的错误率比 B 还低一点。"
            "为什么 ResNet-50/101/152 仍然只用选项 B？"
        ),
        answer=(
            "C 比 B 的提升很小（作者归因于 13 个投影多出来的参数），说明投影对解决退化"
            "不是必需的。而瓶颈块的捷径连接的是两个高维端（如 256 通道）："
            "若换成投影，时间复杂度和模型大小都会翻倍。无参数的恒等捷径让瓶颈结构"
            "保持高效，所以更深的网络只在维度增加时用投影。"
        ),
        cite="§4.1（“Identity vs. Projection Shortcuts”与“Deeper Bottleneck Architectures”）",
    )


def _gradient_figure() -> Exercise:
    """从梯度范数图读出什么."""
    return Exercise(
        id="resnet-gradient-figure",
        kind="思考",
        title="从梯度范数图读出什么",
        question=(
            "看本页“初始化时的梯度范数”一图：plain-34 的梯度在靠近输入的层消失了吗？"
            "这张图能不能单独解释退化？"
        ),
        answer=(
            "没有消失：两个网络越靠近输入梯度反而越大，与论文“前向和反向信号都没有消失”"
            "一致（有 BN）。但 plain-34 的相对梯度从输出到输入逐层放大，差上百倍，"
            "ResNet-34 只差十几倍。它不能单独解释退化：这只是初始化时的快照，"
            "plain-34 最终也能训练到有竞争力的精度；论文自己的推测是深层普通网络收敛极慢。"
        ),
        cite="本页的[梯度范数图](#fig-resnet-grad-norms)；论文 §4.1",
    )
