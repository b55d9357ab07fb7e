"""Exercises of the ViT page: answers computed from ``reference_impl/vit.py`` on meta."""

from __future__ import annotations

from tools.generator.exercises import Computed, Exercise, count_macs, n_params


def exercises() -> list[Exercise]:
    """The page's exercises, in page order."""
    n = numbers()
    return [
        _tokens_384(n),
        _large_block_params(n),
        _b32_macs(n),
        _gap_head(),
        _inductive_bias(),
        _data_scale(),
        _position_figure(),
    ]


def numbers() -> dict[str, int]:
    """The computed answers, from the reference code (meta device)."""
    import torch

    from reference_impl import vit

    with torch.device("meta"):
        hi_res = vit.vit_b16(image_size=384)
        tokens_384 = hi_res.tokens(torch.empty(1, 3, 384, 384)).shape[1]
        large_block = n_params(vit.EncoderBlock(1024, 16, 4096))
        b32_macs = count_macs(vit.vit_b32(), torch.empty(1, 3, 224, 224))
    return {"tokens_384": tokens_384, "large_block": large_block, "b32_macs": b32_macs}


def _tokens_384(n: dict[str, int]) -> Exercise:
    """384 分辨率下的序列长度."""
    return Exercise(
        id="vit-tokens-384",
        kind="计算",
        title="384 分辨率下的序列长度",
        question=(
            "ViT-B/16 在 $224\\times224$ 上预训练，再在 $384\\times384$ 上微调（图块仍是"
            "$16\\times16$）。微调时编码器处理的序列有多少个词元（含 [class]）？"
            "预训练得到的位置编码还能直接用吗？"
        ),
        computed=Computed(value=n["tokens_384"], formula="(384 // 16)**2 + 1", unit="个词元"),
        answer=(
            "$N = HW/P^2 = 24\\times24 = 576$ 个图块，再加 [class] 词元。"
            "预训练的 $E_{pos}$ 只有 $14\\times14+1=197$ 行，不能直接用：论文按图块在原图中的"
            "位置对位置编码做二维插值——这是 ViT 手工注入二维结构的两处之一。"
            "生成器在 meta 设备上构建 `image_size=384` 的 ViT-B/16，读 `tokens()` 输出的长度。"
        ),
        cite="§3.2（Fine-tuning and higher resolution）",
    )


def _large_block_params(n: dict[str, int]) -> Exercise:
    """ViT-Large 的一个编码器块."""
    return Exercise(
        id="vit-large-block-params",
        kind="计算",
        title="ViT-Large 的一个编码器块",
        question=(
            "ViT-Large 的编码器块：$D=1024$，MLP 宽度 4096，16 个头，两个 LayerNorm，"
            "线性层带偏置。一个块有多少参数？24 个块占了 L/16 总参数的多大比例？"
        ),
        computed=Computed(value=n["large_block"], formula="12*1024**2 + 13*1024", unit="个参数"),
        answer=(
            "按正文“参数是怎么数出来的”一节：两个 LayerNorm $4D$，$W_{qkv}$ 与输出投影"
            "$3D^2+3D$ 和 $D^2+D$，MLP $4D^2+4D$ 和 $4D^2+D$，合计 $12D^2+13D$。"
            "24 块约 3.02 亿，占 L/16 约 3.04 亿参数的 99% 以上：图块嵌入、位置编码和分类头"
            "都是零头。生成器在 meta 设备上数了 `EncoderBlock(1024, 16, 4096)`。"
        ),
    )


def _b32_macs(n: dict[str, int]) -> Exercise:
    """ViT-B/32 的乘加数."""
    return Exercise(
        id="vit-b32-macs",
        kind="计算",
        title="ViT-B/32 的乘加数",
        question=(
            "ViT-B/32 在 $224\\times224$ 输入上一次前向传播有多少次乘加（MACs）？"
            "只算矩阵乘法：图块嵌入、每块的 $W_{qkv}$、$qk^\\top$、注意力权重乘 $v$、输出投影、"
            "MLP 的两层，以及 1000 类分类头（只作用在 [class] 词元上）。"
        ),
        computed=Computed(
            value=n["b32_macs"],
            formula=(
                "49*(32*32*3)*768"
                " + 12*(50*768*3*768 + 2*50*50*768 + 50*768*768 + 2*50*768*3072)"
                " + 768*1000"
            ),
            unit="MACs",
        ),
        answer=(
            "$224/32=7$，$N=49$ 个图块，加 [class] 共 $T=50$ 个词元。图块嵌入对每个图块做"
            "一次 $(P^2C)\\times D$ 的矩阵乘。每块：$W_{qkv}$ $3TD^2$，$qk^\\top$ 与乘 $v$ 各"
            "$T^2D$，输出投影 $TD^2$，MLP $2\\cdot T\\cdot D\\cdot 4D$。约 4.4 G；"
            "B/16 的序列长 4 倍（197 个词元），乘加数约是它的 4 倍。"
            "生成器用 `FlopCounterMode` 在 meta 设备上数了 `vit_b32()`。"
        ),
        cite="§3.1、表 1",
    )


def _gap_head() -> Exercise:
    """用全局平均池化代替 [class] 词元."""
    return Exercise(
        id="vit-gap-head",
        kind="代码",
        title="用全局平均池化代替 [class] 词元",
        question=(
            "去掉 [class] 词元，把编码器输出的 $N$ 个图块词元取平均后送进分类头"
            "（附录 D.3 比较过这种做法）。写一个 `GAPViT`，然后回答："
            "(a) B/16 的参数少了多少？(b) 去掉位置编码后，把输入图像的图块打乱顺序，"
            "输出会变吗？"
        ),
        answer=(
            "(a) 少了 $2D=1536$ 个：[class] 词元本身 $D$ 个，位置编码少一行 $D$ 个；"
            "编码器和分类头不变。(b) 不变：没有位置编码时自注意力对词元的顺序是置换等变的，"
            "再取平均就是置换不变。带 [class] 词元的原模型也有这个性质（测试"
            "`test_vit.py` 检查了它），位置编码正是打破这种对称、让模型知道图块位置的唯一来源。"
        ),
        solution=("reference_impl/exercises/vit.py:gap-vit",),
        test="tests/test_exercises_vit.py::test_gap_vit_is_blind_to_patch_order_without_positions",
        cite="附录 D.3（Head type and class token）",
    )


def _inductive_bias() -> Exercise:
    """ViT 在哪里用到了图像的二维结构."""
    return Exercise(
        id="vit-inductive-bias",
        kind="思考",
        title="ViT 在哪里用到了图像的二维结构",
        question=(
            "论文说 ViT 的图像特有的归纳偏置比 CNN 少得多。ViT 中还剩哪些地方用到了图像的二维结构？"
        ),
        answer=(
            "只有两处：开头把图像切成图块；微调到不同分辨率时，按图块的二维位置插值位置编码。"
            "其余部分——一维的可学习位置编码、全局的自注意力——都不知道图块的行列，图块之间"
            "的空间关系要从数据中学出来。MLP 是逐位置的，因而是局部、平移等变的。"
        ),
        cite="§3.1（Inductive bias）",
    )


def _data_scale() -> Exercise:
    """为什么只用 ImageNet 时大模型反而更差."""
    return Exercise(
        id="vit-data-scale",
        kind="思考",
        title="为什么只用 ImageNet 时大模型反而更差",
        question=(
            "在 ImageNet 上预训练时，ViT-Large 不如 ViT-Base；在 JFT-300M 上预训练时则反过来。"
            "怎么解释？"
        ),
        answer=(
            "ViT 的先验弱，空间结构要从数据中学。数据少时，更大的模型更容易过拟合，"
            "即使加了权重衰减、dropout、标签平滑等正则化也不够；"
            "数据足够多时，大模型的容量才发挥出来。图 4 在 JFT-300M 的子集上做了控制变量"
            "实验：ViT-B/32 在 9M 张图的子集上比 ResNet50 差得多，在 90M 以上的子集上更好。"
        ),
        cite="§4.3（Pre-training Data Requirements）、图 3、图 4",
    )


def _position_figure() -> Exercise:
    """本页的位置编码相似度图."""
    return Exercise(
        id="vit-position-figure",
        kind="思考",
        title="本页的位置编码相似度图",
        question=(
            "本页“模型学到了什么”一节的位置编码相似度图，画的是训练得到的 ViT 位置编码吗？"
            "它和论文图 7（中）是什么关系？"
        ),
        answer=(
            "不是：它画的是固定的二维正弦-余弦编码（$7\\times7$ 网格，$D=1024$），按构造就有"
            "“行 + 列”的结构。论文图 7（中）画的是可学习的一维编码训练后的结果，它自己学出了"
            "相似的二维图案。这也解释了为什么手工设计的二维编码没有带来明显收益（附录 D.4）。"
        ),
        cite="本页的[位置编码相似度图](#fig-vit-position-similarity)；论文图 7（中）、附录 D.4",
    )
