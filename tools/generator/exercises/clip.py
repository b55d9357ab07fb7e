"""Exercises of the CLIP page: answers computed from ``reference_impl/clip.py`` on meta."""

from __future__ import annotations

from tools.generator.exercises import Computed, Exercise, n_params


def exercises() -> list[Exercise]:
    """The page's exercises, in page order."""
    n = numbers()
    return [
        _logits_bytes(n),
        _b16_params(n),
        _bidirectional_text(),
        _contrastive_objective(),
        _prompt_ensemble(),
        _similarity_figure(),
        _mnist(),
    ]


def numbers() -> dict[str, int]:
    """The computed answers, from the reference code (meta device)."""
    import torch

    from reference_impl import clip

    with torch.device("meta"):
        model = clip.clip_vit_b32()
        batch = 32768  # §2.5
        images = torch.empty(batch, 3, 224, 224)
        texts = torch.zeros(batch, 77, dtype=torch.long)
        logits, _ = model(images, texts)  # (N, N), float32
        b32 = n_params(clip.VisionTransformer(clip.CLIPConfig.vit_b32()))
        b16 = n_params(clip.VisionTransformer(clip.CLIPConfig.vit_b16()))
    return {"logits_bytes": logits.numel() * logits.element_size(), "b32_minus_b16": b32 - b16}


def _logits_bytes(n: dict[str, int]) -> Exercise:
    """批量大小 32,768 的相似度矩阵."""
    return Exercise(
        id="clip-logits-bytes",
        kind="计算",
        title="批量大小 32,768 的相似度矩阵",
        question=(
            "CLIP 用批量大小 32,768 训练。一个批量的 $N\\times N$ 相似度矩阵（logits）"
            "用 float32 存储要多少字节？其中有多少个负样本对？"
        ),
        computed=Computed(value=n["logits_bytes"], formula="32768*32768*4", unit="字节"),
        answer=(
            "$N^2=32768^2\\approx10.7$ 亿个数，每个 4 字节，正好 4 GiB；对角线上是 32,768 个"
            "正确配对，其余 $N^2-N$ 个（约 10.7 亿）都是负样本。论文并不在一块 GPU 上算整个矩阵，"
            "而是把相似度的计算分片：每块 GPU 只算自己那部分嵌入所需的相似度（§2.5）。"
            "对比目标的难度随 $N$ 增大（每行是一个 $N$ 类分类），这是它需要大批量的原因。"
            "生成器在 meta 设备上对 32,768 张图和 32,768 段文字运行 `clip_vit_b32()`，"
            "读 `logits_per_image` 的元素个数和每个元素的字节数。"
        ),
        cite="§2.3（图 3）、§2.5",
    )


def _b16_params(n: dict[str, int]) -> Exercise:
    """ViT-B/16 比 B/32 多还是少参数."""
    return Exercise(
        id="clip-b16-params",
        kind="计算",
        title="ViT-B/16 比 B/32 多还是少参数",
        question=(
            "CLIP 的 ViT-B/16 与 ViT-B/32 图像编码器只差图块大小（宽 768、12 层，输入"
            " $224\\times224$，图块嵌入无偏置）。B/16 的图像编码器比 B/32 **少**多少个参数？"
            "计算量呢？"
        ),
        computed=Computed(
            value=n["b32_minus_b16"],
            formula="(32*32*3 - 16*16*3)*768 - ((224 // 16)**2 - (224 // 32)**2)*768",
            unit="个参数",
        ),
        answer=(
            "参数的差别只在两处：图块嵌入是 $P^2\\cdot3\\cdot768$，$P$ 从 32 变成 16，"
            "少了 $(3072-768)\\times768$ 个；位置编码的行数从 $7^2+1=50$ 变成"
            " $14^2+1=197$，多了 $147\\times768$ 个。Transformer 块的参数与序列长度无关。"
            "所以 B/16 反而少约 166 万个参数，但序列长约 4 倍，乘加数约是 B/32 的 4 倍"
            "（约 176 亿对 44 亿）：模型“小”不等于算得少。"
            "生成器在 meta 设备上分别数了两个 `VisionTransformer` 的参数。"
        ),
        cite="§2.4、表 20（模型的超参数）",
    )


def _bidirectional_text() -> Exercise:
    """去掉文本编码器的因果掩码."""
    return Exercise(
        id="clip-bidirectional-text",
        kind="代码",
        title="去掉文本编码器的因果掩码",
        question=(
            "参考实现的文本编码器只有因果掩码，没有填充掩码。写一个"
            " `encode_text_bidirectional(model, text, mask_padding)`：用同一组权重、"
            "不加因果掩码地编码文本，仍在 [EOS] 处读出。"
            "(a) 把 [EOS] 之后的填充词元换成别的 id，原来的 CLIP 和双向编码器给出的文本嵌入"
            "各变不变？(b) 双向编码器还需要什么，才能同样不受填充影响？"
        ),
        answer=(
            "(a) 原来的 CLIP 不变：[EOS] 在因果掩码下只看得见它左边的词元，填充在它右边。"
            "双向编码器会变：每个位置都看得见所有位置，填充的内容经注意力流进 [EOS] 的输出。"
            "参考实现里因果掩码同时起到了填充掩码的作用。"
            "(b) 一个键的填充掩码：把 [EOS] 之后的位置对所有查询屏蔽（注意力分数加 $-\\infty$），"
            "结果就又与填充无关了。论文选因果掩码的理由则是保留日后用预训练语言模型初始化、"
            "或加上语言建模辅助目标的可能（§2.4）。"
        ),
        solution=("reference_impl/exercises/clip.py:bidirectional-text",),
        test="tests/test_exercises_clip.py::test_only_a_mask_keeps_the_padding_out",
        cite="§2.4（masked self-attention）",
    )


def _contrastive_objective() -> Exercise:
    """为什么不直接预测图像的描述."""
    return Exercise(
        id="clip-contrastive-objective",
        kind="思考",
        title="为什么不直接预测图像的描述",
        question=(
            "让图像编码器逐词生成图像的描述，看起来是更自然的训练目标。CLIP 为什么改成"
            "“判断哪段文字配哪张图”？论文用什么实验说明了这一点？"
        ),
        answer=(
            "同一张图可以配千变万化的描述，逐词预测要求模型猜出确切的用词，是在做一件不必要的"
            "难事；对比目标只要求在一个批量中区分正确的配对。图 2：一个 6300 万参数的"
            " Transformer 语言模型学会零样本识别 ImageNet 的速度，比预测同一段文字的词袋的基线"
            "慢 3 倍；把词袋预测换成对比目标，效率又提高 4 倍。"
        ),
        cite="§2.3、图 2",
    )


def _prompt_ensemble() -> Exercise:
    """提示模板与集成."""
    return Exercise(
        id="clip-prompt-ensemble",
        kind="思考",
        title="提示模板与集成",
        question=(
            "零样本分类时，为什么用 “A photo of a {label}.” 比直接用类别名好？"
            "80 个模板的集成为什么几乎不增加推理成本？"
        ),
        answer=(
            "一是一词多义：只有类别名时，文本编码器不知道 “crane” 指鹤还是起重机；二是分布"
            "差异：训练数据中与图像配对的文本很少只有一个词。一个模板就让 ImageNet 精度提高"
            " 1.3%。集成在**嵌入空间**里做：每个类别的多个模板的文本嵌入取平均"
            "（参考实现再归一化），"
            "得到一个类别向量，缓存起来对所有图像重复使用，之后的分类与只用一个模板一样，"
            "只是一次图像编码加一次矩阵乘；在 ImageNet 上集成又提高 3.5%。"
        ),
        cite="§3.1.4、图 4",
    )


def _similarity_figure() -> Exercise:
    """小 CLIP 先学会了什么."""
    return Exercise(
        id="clip-similarity-figure",
        kind="思考",
        title="小 CLIP 先学会了什么",
        question=(
            "看本页的相似度图（9 张新图像对 9 条描述）：矩阵为什么呈 $3\\times3$ 的块状？"
            "从中能读出这个小模型学会了什么、还没学会什么？"
        ),
        answer=(
            "描述按颜色分组排列，同一颜色的图文对彼此相似，所以矩阵按颜色分成 $3\\times3$ 的块："
            "模型已经学会把图像的颜色和文字里的颜色词对上。块内对角线只略高，形状只学会了一部分。"
            "在这样短的训练里，颜色是一眼可见的全局统计量，形状则要整合空间结构，"
            "所以零样本准确率明显高于随机的 1/9，但离完美还远。"
        ),
        cite="本页的[相似度图](#fig-clip-similarity)",
    )


def _mnist() -> Exercise:
    """零样本 CLIP 为什么认不好手写数字."""
    return Exercise(
        id="clip-mnist",
        kind="思考",
        title="零样本 CLIP 为什么认不好手写数字",
        question=(
            "零样本 CLIP 在 ImageNet 上与有监督的 ResNet-50 相当，在 MNIST 上却只有 88%，"
            "不如原始像素上的逻辑回归。怎么解释？这说明 CLIP 解决了深度学习泛化脆弱的问题吗？"
        ),
        answer=(
            "没有。作者用近重复检测发现，预训练数据里几乎没有像 MNIST 这样的图像。"
            "CLIP 的零样本能力来自训练分布覆盖了大量概念；对真正分布外的数据，它和其他深度"
            "模型一样泛化很差。CLIP 只是靠规模庞大、多样的数据，让更多任务“落在分布内”，"
            "而不是解决了泛化脆弱的根本问题。"
        ),
        cite="§6（Limitations）",
    )
