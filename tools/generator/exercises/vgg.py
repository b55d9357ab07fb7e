"""Exercises of the VGG page: answers computed from ``reference_impl/vgg.py``."""

from __future__ import annotations

from tools.generator.exercises import Computed, Exercise, n_params


def exercises() -> list[Exercise]:
    """The page's exercises, in page order."""
    n = numbers()
    return [
        _e_minus_d(n),
        _receptive_field(n),
        _activation_bytes(n),
        _dense_evaluation(),
        _small_kernels(),
        _one_by_one(),
        _dense_vs_crops(),
    ]


def measured_receptive_field(features, image_size: int, unit: int) -> int:
    """Rows of the input that reach output unit (unit, unit) of `features`, by autograd.

    A linear copy of the layers: ReLU becomes the identity, max-pooling becomes average pooling
    over the same window (max-pooling passes the gradient to one input only), every weight is
    1. Each input pixel inside the field then gets a positive gradient, every other pixel none.
    """
    import copy

    import torch
    from torch import nn

    layers: list[nn.Module] = []
    for layer in features.modules():
        if isinstance(layer, nn.Conv2d):
            layers.append(copy.deepcopy(layer))
        elif isinstance(layer, nn.MaxPool2d):
            layers.append(nn.AvgPool2d(layer.kernel_size, layer.stride))
    linear = nn.Sequential(*layers).double()
    with torch.no_grad():
        for layer in linear:
            if isinstance(layer, nn.Conv2d):
                layer.weight.fill_(1.0)
                layer.bias.zero_()
    x = torch.zeros(1, layers[0].in_channels, image_size, image_size, dtype=torch.float64)
    x.requires_grad_(True)
    linear(x)[0, 0, unit, unit].backward()
    rows = x.grad[0].abs().sum(dim=(0, 2)).nonzero()
    return int(rows.max() - rows.min() + 1)


def numbers() -> dict[str, int]:
    """The computed answers, from the reference code (meta device, or a one-channel copy)."""
    import torch

    from reference_impl import vgg

    with torch.device("meta"):
        e_minus_d = n_params(vgg.vgg19()) - n_params(vgg.vgg16())
        model = vgg.vgg16()
    # every layer of D with one channel: the receptive field depends on kernels and strides only
    narrow = tuple(
        tuple(f"{s.split('-')[0]}-1" for s in stage) for stage in vgg.VGGConfig.d().stages
    )
    one_channel = vgg.VGG(vgg.VGGConfig(stages=narrow, fc_width=1))
    field = measured_receptive_field(one_channel.features, 224, unit=3)
    total = 0

    def hook(module, inputs, output) -> None:
        nonlocal total
        total += output.numel() * output.element_size()

    stage1 = model.features.stage1
    handles = [stage1.conv1_1.register_forward_hook(hook)]
    handles.append(stage1.conv1_2.register_forward_hook(hook))
    with torch.no_grad():
        model.features(torch.empty(256, 3, 224, 224, device="meta"))  # §3.1: batch size 256
    for h in handles:
        h.remove()
    return {"e_minus_d": e_minus_d, "field": field, "stage1_bytes": total}


def _e_minus_d(n: dict[str, int]) -> Exercise:
    """从 VGG-16 到 VGG-19 多了多少参数."""
    return Exercise(
        id="vgg-e-minus-d",
        kind="计算",
        title="从 VGG-16 到 VGG-19 多了多少参数",
        question=(
            "配置 E（VGG-19）在 D（VGG-16）的阶段 3、4、5 各多加了一层 $3\\times3$ 卷积"
            "（表 1）。两者的参数量差多少？这个差占 VGG-16 参数的多大比例？"
        ),
        computed=Computed(
            value=n["e_minus_d"],
            formula="(9*256*256 + 256) + 2*(9*512*512 + 512)",
            unit="个参数",
        ),
        answer=(
            "多出的三层输入、输出通道相同：阶段 3 是 256→256，阶段 4、5 是 512→512，每层 "
            "$9C^2+C$（权重加偏置）。分辨率不影响参数量，所以阶段 5 的一层和阶段 4 的一样多。"
            "差值约 531 万，只占 VGG-16 的 3.8%：加深的都是卷积层，而参数的大头在 fc6。"
            "生成器在 meta 设备上算的是 `vgg19()` 与 `vgg16()` 的参数量之差。"
        ),
        cite="表 1、表 2",
    )


def _receptive_field(n: dict[str, int]) -> Exercise:
    """pool5 的一个单元看到多大的区域."""
    return Exercise(
        id="vgg-receptive-field",
        kind="计算",
        title="pool5 的一个单元看到多大的区域",
        question=(
            "VGG-16 的 pool5 输出 $7\\times7$ 的特征图。其中一个单元在 $224\\times224$ 的输入图像"
            "上的感受野边长是多少像素？提示：一层 $k\\times k$ 卷积或池化让感受野增加 "
            "$(k-1)\\cdot j$，$j$ 是它的输入上相邻两个单元相隔的像素数（之前所有步幅的乘积）。"
        ),
        computed=Computed(
            value=n["field"],
            formula="1 + 2*(2*1 + 2*2 + 3*4 + 3*8 + 3*16) + (1 + 2 + 4 + 8 + 16)",
            unit="像素",
        ),
        answer=(
            "五个阶段的卷积层数是 2、2、3、3、3，它们所在位置的 $j$ 是 1、2、4、8、16，每层 "
            "$3\\times3$ 卷积加 $2j$；五个 $2\\times2$ 池化各加 $1\\cdot j$。合计 212 像素，"
            "几乎覆盖整张 224 的图像——13 个 $3\\times3$ 卷积堆起来，最后的单元几乎看得到整张图。"
            "生成器把 D 的每层都换成 1 个通道、ReLU 去掉、最大池化换成同样窗口的平均池化、"
            "权重全置 1，用 autograd 对中心单元求梯度，数出梯度非零的输入行数。"
        ),
        cite="§2.3；本页的[感受野图](#fig-vgg-receptive-field)",
    )


def _activation_bytes(n: dict[str, int]) -> Exercise:
    """训练时前两层卷积的激活有多大."""
    return Exercise(
        id="vgg-activation-bytes",
        kind="计算",
        title="训练时前两层卷积的激活有多大",
        question=(
            "按 §3.1 的批量大小 256 训练 VGG-16，仅 conv1_1 和 conv1_2 两层的输出（float32，"
            "每个数 4 字节）一共占多少字节？和 VGG-16 全部参数占的内存相比呢？"
        ),
        computed=Computed(value=n["stage1_bytes"], formula="2*256*64*224*224*4", unit="字节"),
        answer=(
            "两层都输出 $64\\times224\\times224$ 个数（卷积保持分辨率），再乘以批量大小和 4 字节："
            "约 6.6 GB。VGG-16 的 1.38 亿个参数只占约 553 MB，前两层的激活是它的约 12 倍；"
            "训练时反向传播还要保存每一层的激活。这就是本页勘误说的：前两层占的是**激活**内存，"
            "不是参数内存，而且它与批量大小和输入面积成正比。"
            "生成器在 meta 设备上跑一次前向传播，用钩子把这两层输出的字节数加起来。"
        ),
        cite="§3.1；本页的[参数、计算与激活分布图](#fig-vgg16-param-distribution)",
    )


def _dense_evaluation() -> Exercise:
    """把全连接层改写成卷积."""
    return Exercise(
        id="vgg-dense-evaluation",
        kind="代码",
        title="把全连接层改写成卷积",
        question=(
            "§3.2 在测试时把 fc6 改写成 $7\\times7$ 卷积、fc7 和 fc8 改写成 $1\\times1$ 卷积，"
            "让网络直接作用于整张图像。写一个 `fully_convolutional(model)`，用同一组权重构建"
            "这样的网络，再写 `dense_scores(net, images)` 对类别得分图做空间平均。回答："
            "(a) 在 $224\\times224$ 的输入上，它的输出与原模型相同吗？"
            "(b) 短边缩放到 $Q=384$ 的正方形图像上，得分图有多大？"
            "(c) 得分图上的一个位置，等于把原模型用在对应的 $224\\times224$ 裁剪上吗？"
        ),
        answer=(
            "(a) 相同：fc6 的权重按“通道、行、列”的展平顺序变形成 $4096\\times512\\times7\\times7$ "
            "的卷积核，在 $7\\times7$ 的特征图上恰好只有一个位置，算的就是原来的矩阵乘法。"
            "(b) $384/32=12$，pool5 输出 $12\\times12$；$7\\times7$ 卷积得到 $6\\times6$ 的得分图，"
            "共 36 个位置，相当于以 32 像素为间隔的 36 个窗口，卷积部分只算一遍。"
            "(c) 不完全相等：在裁剪上运行时，特征图边缘补的是零；稠密评估时，同一窗口的边缘"
            "看到的是图像中相邻的真实内容。论文正是用这种“边界条件”的不同解释稠密评估与"
            "多裁剪评估为什么互补。"
        ),
        solution=("reference_impl/exercises/vgg.py:fully-convolutional",),
        test="tests/test_exercises_vgg.py::test_fully_convolutional_equals_the_model_at_its_size",
        cite="§3.2",
    )


def _small_kernels() -> Exercise:
    """两层 3×3 为什么胜过一层 5×5."""
    return Exercise(
        id="vgg-small-kernels",
        kind="思考",
        title="两层 3×3 为什么胜过一层 5×5",
        question=(
            "两层 $3\\times3$ 卷积与一层 $5\\times5$ 卷积的感受野相同。论文给出了哪些理由说明"
            "前者更好？有什么实验支持？"
        ),
        answer=(
            "两条理由：(1) 两层之间多一次 ReLU，决策函数更有判别力；(2) 参数更少：$C$ 个通道时"
            "是 $18C^2$ 对 $25C^2$，可以看成对 $5\\times5$ 卷积核的一种正则化——强迫它分解成"
            "两个 $3\\times3$ 的组合，中间插入非线性。实验：把 B 中每对 $3\\times3$ 卷积换成一层 "
            "$5\\times5$ 得到的浅网络，中心裁剪上的 top-1 错误率比 B 高 7%。"
        ),
        cite="§2.3、§4.1；本页的[感受野图](#fig-vgg-receptive-field)",
    )


def _one_by_one() -> Exercise:
    """配置 C 的 1×1 卷积说明了什么."""
    return Exercise(
        id="vgg-one-by-one",
        kind="思考",
        title="配置 C 的 1×1 卷积说明了什么",
        question=(
            "配置 C 和 D 都是 16 层，区别只在阶段 3–5 的第三层：C 用 $1\\times1$，"
            "D 用 $3\\times3$。表 3 中 B、C、D 的错误率依次下降。这两组对比各说明了什么？"
        ),
        answer=(
            "C 比 B 好：$1\\times1$ 卷积不改变感受野，只多了一次逐位置的线性变换和 ReLU，"
            "说明额外的非线性本身有用。D 比 C 好：同样的深度，带空间范围的 $3\\times3$ 卷积核"
            "还能汇总邻域的上下文，说明捕捉空间上下文同样重要。单看“层数”不足以解释结果。"
        ),
        cite="§4.1、表 3",
    )


def _dense_vs_crops() -> Exercise:
    """稠密评估与多裁剪评估."""
    return Exercise(
        id="vgg-dense-vs-crops",
        kind="思考",
        title="稠密评估与多裁剪评估",
        question=(
            "既然全卷积的稠密评估只算一遍就覆盖了所有窗口，论文为什么还要做每个尺度 50 个、"
            "共 150 个裁剪的多裁剪评估？两者结合为什么更好？"
        ),
        answer=(
            "多裁剪对输入的采样更细（窗口位置不受 32 像素间隔的限制），而且两者的边界条件"
            "不同：裁剪时卷积在边缘补零，稠密评估时边缘看到的是相邻的图像内容，感受野实际上"
            "更大、上下文更多。因此两者互补，结合后 D、E 的 top-5 错误率降到 7.2%、7.1%"
            "（表 5）。但作者认为实践中多裁剪多出的计算时间不值得它带来的那点提升。"
        ),
        cite="§3.2、§4.3、表 5",
    )
