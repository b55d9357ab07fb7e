"""Exercises of the AlexNet page: answers computed from ``reference_impl/alexnet.py`` on meta."""

from __future__ import annotations

from tools.generator.exercises import Computed, Exercise, count_macs, n_params


def exercises() -> list[Exercise]:
    """The page's exercises, in page order."""
    n = numbers()
    return [
        _two_towers(n),
        _fc6_at_224(n),
        _macs(n),
        _non_overlapping_pooling(),
        _relu_speed(),
        _dropout_at_test_time(),
        _depth(),
    ]


def numbers() -> dict[str, int]:
    """The computed answers, from the reference code (meta device)."""
    import torch

    from reference_impl import alexnet

    with torch.device("meta"):
        split = n_params(alexnet.alexnet(groups=1)) - n_params(alexnet.alexnet())
        fc6_224 = n_params(alexnet.alexnet(image_size=224).classifier.fc6)
        macs = count_macs(alexnet.alexnet(), torch.empty(1, 3, 227, 227))
    return {"split": split, "fc6_224": fc6_224, "macs": macs}


def _two_towers(n: dict[str, int]) -> Exercise:
    """两个 GPU 塔省下多少参数."""
    return Exercise(
        id="alexnet-two-towers",
        kind="计算",
        title="两个 GPU 塔省下多少参数",
        question=(
            "参考实现用 `groups=2` 表示双 GPU 的连接方式：conv2、conv4、conv5 的每个卷积核"
            "只看本 GPU 上的一半输入通道。如果取消这一限制（`groups=1`：每个卷积核都看前一层的"
            "全部通道，通道数和卷积核大小都不变），参数量增加多少？"
        ),
        computed=Computed(
            value=n["split"],
            formula="(96*256*5*5 + 384*384*3*3 + 384*256*3*3) / 2",
            unit="个参数",
        ),
        answer=(
            "分组卷积的权重是 $C_\\text{out}\\cdot(C_\\text{in}/g)\\cdot k^2$：$g=2$ 时每层的权重"
            "正好是不分组时的一半，偏置不变。三层不分组的权重分别是 $96\\cdot256\\cdot5^2$、"
            "$384\\cdot384\\cdot3^2$、$384\\cdot256\\cdot3^2$，省下的就是它们的一半之和，"
            "约占全网参数的 2.3%——卷积层本来就只占不到 4% 的参数。这三层的乘加数同样减半。"
            "生成器在 meta 设备上算的是 `alexnet(groups=1)` 与 `alexnet()` 的参数量之差。"
        ),
        cite="§3.2、§3.5",
    )


def _fc6_at_224(n: dict[str, int]) -> Exercise:
    """直接喂 224 的图像，fc6 有多大."""
    return Exercise(
        id="alexnet-fc6-at-224",
        kind="计算",
        title="直接喂 224 的图像，fc6 有多大",
        question=(
            "§3.5 写的输入是 $224\\times224$。如果参考实现不给 conv1 加填充、直接喂 224 的图像"
            "（`alexnet(image_size=224)`），pool5 输出的特征图边长是多少？fc6 有多少个参数？"
        ),
        computed=Computed(value=n["fc6_224"], formula="5*5*256*4096 + 4096", unit="个参数"),
        answer=(
            "逐层套用 $\\lfloor (H-k)/s\\rfloor + 1$：conv1 $\\lfloor 213/4\\rfloor+1=54$；"
            "pool1 $\\lfloor 51/2\\rfloor+1=26$；conv2 的填充保持 26；pool2 得 12；conv3–conv5 "
            "保持 12；pool5 得 5。于是 fc6 的输入是 $5\\times5\\times256=6400$ 维，而不是 9216 维，"
            "参数少了 11,534,336 个，图 2 中的 $13\\times13$ 也变成了 $12\\times12$。"
            "这就是参考实现改用 227 输入（或像 torchvision 那样给 conv1 加 2 像素填充）的原因。"
            "生成器在 meta 设备上数了 `alexnet(image_size=224).classifier.fc6` 的参数。"
        ),
        cite="§3.5、图 2；本页“步幅与填充：输入是 224 还是 227？”一节",
    )


def _macs(n: dict[str, int]) -> Exercise:
    """一次前向传播的乘加数."""
    return Exercise(
        id="alexnet-macs",
        kind="计算",
        title="一次前向传播的乘加数",
        question=(
            "参考实现（$227\\times227$ 输入，conv2、conv4、conv5 分两组）对一张图做一次前向传播，"
            "有多少次乘加（MACs）？只算卷积层和全连接层里的乘法，LRN、池化、ReLU 不算。"
            "卷积层的乘加数占多大比例？"
        ),
        computed=Computed(
            value=n["macs"],
            formula=(
                "55*55*96*(11*11*3) + 27*27*256*(48*5*5) + 13*13*384*(256*3*3)"
                " + 13*13*384*(192*3*3) + 13*13*256*(192*3*3)"
                " + 9216*4096 + 4096*4096 + 4096*1000"
            ),
            unit="MACs",
        ),
        answer=(
            "卷积层的乘加数 = 输出位置数 × 输出通道数 × 每个卷积核的权重数"
            "（$C_\\text{in}/g\\cdot k^2$，分组的层只看 48 或 192 个输入通道）；"
            "全连接层是输入维数 × 输出维数。合计约 7.24 亿次，其中五个卷积层约 6.66 亿次、占 92%，"
            "而它们的参数还不到 4%。全连接层正好相反：每个权重对一张图只用一次，卷积核的权重"
            "则在每个输出位置都用一次。生成器用 `FlopCounterMode` 在 meta 设备上数了 `alexnet()`。"
        ),
        cite="§3.5、图 2",
    )


def _non_overlapping_pooling() -> Exercise:
    """换回不重叠的池化."""
    return Exercise(
        id="alexnet-non-overlapping-pooling",
        kind="代码",
        title="换回不重叠的池化",
        question=(
            "把 pool1、pool2、pool5 三处重叠池化（$z=3$，$s=2$）换成传统的不重叠池化"
            "（$z=s=2$），写一个 `non_overlapping_pooling(model)`，再写一个按 "
            "$r \\leftarrow r + (k-1)\\,j$、$j \\leftarrow j\\cdot s$ 逐层累加的 "
            "`receptive_field(features)`。回答：(a) 参数量和 pool5 的输出尺寸变不变？"
            "(b) pool5 的一个单元在输入图像上的感受野边长从多少变成多少？"
        ),
        answer=(
            "(a) 都不变：池化没有参数；$55\\to27\\to13\\to6$ 的尺寸在两种池化下完全相同"
            "（$\\lfloor(55-3)/2\\rfloor+1 = \\lfloor(55-2)/2\\rfloor+1 = 27$，其余同理），"
            "这正是论文说的“输出尺寸相同”的对照组。"
            "(b) 从 195 像素变成 167 像素：每个池化窗口少看一行一列，而它之上的层把这点差别"
            "按累计步幅放大（pool1 处 $\\times4$，pool2 处 $\\times8$，pool5 处 $\\times16$，"
            "共少 $4+8+16=28$）。论文报告重叠池化让 top-1 / top-5 错误率降低 0.4% / 0.3%，"
            "并且让模型稍难过拟合。测试用 autograd 独立地实测了这两个感受野。"
        ),
        solution=("reference_impl/exercises/alexnet.py:non-overlapping-pooling",),
        test="tests/test_exercises_alexnet.py::test_non_overlapping_pooling_shrinks_the_receptive_field",
        cite="§3.4",
    )


def _relu_speed() -> Exercise:
    """ReLU 为什么训练得快."""
    return Exercise(
        id="alexnet-relu-speed",
        kind="思考",
        title="ReLU 为什么训练得快",
        question=(
            "论文图 1 中，用 ReLU 的四层卷积网络达到 25% 训练误差的速度是 $\\tanh$ 版本的 6 倍。"
            "从本页的激活函数图看，原因是什么？这能说明 ReLU “解决了梯度消失”吗？"
        ),
        answer=(
            "$\\tanh$ 和 sigmoid 是饱和的：$|x|$ 稍大导数就接近 0（sigmoid 的导数最大只有 0.25），"
            "梯度下降在这些区域几乎不动；ReLU 在正半轴导数恒为 1，不会饱和。论文说的是“不饱和”"
            "让梯度下降训练得快，比较的是达到同一训练误差所需的迭代数。它没有从根本上解决梯度消失："
            "负半轴导数恒为 0（“死亡 ReLU”），而梯度是否消失还取决于权重的尺度——这要靠后来的"
            "初始化、BatchNorm 和残差连接（见本页勘误）。"
        ),
        cite="§3.1、图 1；本页的[激活函数图](#fig-alexnet-activations)",
    )


def _dropout_at_test_time() -> Exercise:
    """测试时的 Dropout."""
    return Exercise(
        id="alexnet-dropout-at-test-time",
        kind="思考",
        title="测试时的 Dropout",
        question=(
            "论文在测试时用全部神经元，但把它们的输出乘以 0.5；参考实现用的 `nn.Dropout` 在测试时"
            "什么都不做。两者矛盾吗？论文为什么只在 fc6、fc7 上用 Dropout，代价是什么？"
        ),
        answer=(
            "不矛盾：`nn.Dropout` 是“倒置”（inverted）的 Dropout，训练时把保留下来的输出"
            "除以 $1-p=0.5$，于是测试时不必再乘 0.5，两者的期望输出相同。论文把测试时的"
            "缩放解释为对指数多个 Dropout 子网络的预测分布取几何平均的近似。它只加在前两个"
            "全连接层上，因为参数（以及过拟合的来源）集中在那里；没有它网络严重过拟合，"
            "有了它收敛所需的迭代数大约翻倍。"
        ),
        cite="§4.2",
    )


def _depth() -> Exercise:
    """卷积层参数那么少，能去掉一层吗."""
    return Exercise(
        id="alexnet-depth",
        kind="思考",
        title="卷积层参数那么少，能去掉一层吗",
        question=(
            "五个卷积层的参数加起来不到全网的 4%。能不能去掉其中一个中间的卷积层来简化网络？"
            "论文怎么说？"
        ),
        answer=(
            "不能：论文 §7 报告，去掉任意一个中间卷积层，top-1 性能下降约 2%——“深度确实重要”。"
            "参数少不等于作用小：卷积层承担了九成以上的计算（见上面的乘加数练习），每一层都"
            "在扩大感受野、组合更复杂的特征。这个观察直接引出了 VGG 对深度的系统研究。"
        ),
        cite="§7",
    )
