"""Exercises of the MAE page: answers computed from ``reference_impl/mae.py`` on meta."""

from __future__ import annotations

import dataclasses

from tools.generator.exercises import Computed, Exercise, n_params


def exercises() -> list[Exercise]:
    """The page's exercises, in page order."""
    n = numbers()
    return [
        _encoder_tokens(n),
        _one_block_decoder(n),
        _mask_tokens_in_encoder(),
        _masking_ratio(),
        _loss_on_masked(),
        _decoder_depth(),
        _augmentation(),
    ]


def numbers() -> dict[str, int]:
    """The computed answers, from the reference code (meta device)."""
    import torch

    from reference_impl import mae

    with torch.device("meta"):
        huge = mae.mae_vit_huge_patch14()
        ids_keep, _, _ = huge.random_masking(torch.empty(1, huge.cfg.n_patches))
        latent = huge.encoder(torch.empty(1, 3, 224, 224), ids_keep)  # (1, 1 + N_vis, D)
        one_block = dataclasses.replace(mae.MAEConfig.vit_large(), decoder_n_layers=1)
        decoder = n_params(mae.MAEDecoder(one_block))
    return {"encoder_tokens": latent.shape[1], "one_block_decoder": decoder}


def _encoder_tokens(n: dict[str, int]) -> Exercise:
    """ViT-H/14 的编码器处理多少个词元."""
    return Exercise(
        id="mae-encoder-tokens",
        kind="计算",
        title="ViT-H/14 的编码器处理多少个词元",
        question=(
            "MAE 用 ViT-H/14 作编码器，输入 $224\\times224$，图块 $14\\times14$，掩码率 75%。"
            "预训练时编码器处理的序列有多少个词元（含 [class]）？解码器呢？"
        ),
        computed=Computed(
            value=n["encoder_tokens"], formula="(224 // 14)**2 // 4 + 1", unit="个词元"
        ),
        answer=(
            "$N=(224/14)^2=256$ 个图块，保留 25% 即 64 个可见图块，再加 [class] 词元。"
            "解码器处理完整的序列：64 个编码结果加 192 个掩码词元，再加 [class]，共 257 个。"
            "自注意力的计算量随序列长度平方增长，编码器的序列只有约四分之一长，"
            "这正是 MAE 能高效地训练大编码器的原因。"
            "生成器在 meta 设备上构建 `mae_vit_huge_patch14()`，用 `random_masking` 选出可见图块，"
            "读编码器输出的长度。"
        ),
        cite="§3（MAE encoder）",
    )


def _one_block_decoder(n: dict[str, int]) -> Exercise:
    """只有一个块的解码器有多少参数."""
    return Exercise(
        id="mae-one-block-decoder",
        kind="计算",
        title="只有一个块的解码器有多少参数",
        question=(
            "表 1(a) 中只有 1 个块的解码器（宽 512、MLP 宽 2048）微调精度仍有 84.8%。"
            "编码器是 ViT-L/16（宽 1024），输入 $224\\times224$。按 `parameters()` 计"
            "（含固定的位置编码表），这个解码器有多少个参数？"
        ),
        computed=Computed(
            value=n["one_block_decoder"],
            formula=(
                "(1024*512 + 512) + 512 + 197*512 + (12*512**2 + 13*512) + 2*512"
                " + (512*16*16*3 + 16*16*3)"
            ),
            unit="个参数",
        ),
        answer=(
            "依次是：把编码器宽度 1024 投影到 512 的线性层 $1024\\cdot512+512$；"
            "掩码词元 512；$197\\times512$ 的固定位置编码；一个 Transformer 块 "
            "$12\\cdot512^2+13\\cdot512$；最后的 LayerNorm $2\\cdot512$；"
            "输出层把 512 维映射到一个图块的 $16\\cdot16\\cdot3=768$ 个像素。"
            "约 417 万，不到 ViT-L 编码器（约 3.03 亿）的 1.4%。"
            "一个块是把可见词元的信息传给掩码词元的最低要求（§4.1）。"
            "生成器在 meta 设备上数了 `decoder_n_layers=1` 的 `MAEDecoder`。"
        ),
        cite="§4.1（Decoder design）、表 1(a)",
    )


def _mask_tokens_in_encoder() -> Exercise:
    """把掩码词元放进编码器."""
    return Exercise(
        id="mae-mask-tokens-in-encoder",
        kind="代码",
        title="把掩码词元放进编码器",
        question=(
            "仿照 BERT，让编码器处理全部 $N$ 个位置：被遮图块换成一个可学习的掩码词元 [M]，"
            "加上位置编码后与可见图块一起进编码器；解码器收到 $N+1$ 个编码结果，不再补掩码词元"
            "（表 1(c) 的“encoder w/ [M]”）。写一个 `MAEWithMaskTokensInEncoder`，然后回答："
            "(a) ViT-L/16、$224\\times224$ 输入时，一次前向传播的乘加数是默认 MAE 的几倍？"
            "(b) 被遮图块的像素还能影响输出吗？论文说这种编码器线性探测低 14 个点，原因是什么？"
        ),
        answer=(
            "(a) 约 3.2 倍：编码器的序列从 50 个词元变成 197 个，编码器的乘加数约是原来的"
            "四倍，解码器不变。测试用 `FlopCounterMode` 在 meta 设备上数出 "
            "20,755,390,464 对 67,009,634,304，即 3.23 倍；论文表 1(c) 报告的训练计算量是"
            " 3.3×（计数口径略有不同）。"
            "(b) 不能：被遮的图块在进编码器之前就被换成了 [M]，像素信息照样进不来。"
            "所以精度下降不是“偷看”造成的，而是预训练与使用之间的差异：预训练时编码器的输入"
            "有四分之三是同一个 [M] 向量，下游任务的完整图像里却从来没有它（§4.1）。"
        ),
        solution=("reference_impl/exercises/mae.py:encoder-mask-tokens",),
        test="tests/test_exercises_mae.py::test_mask_tokens_in_the_encoder_cost_more_and_hide_pixels",
        cite="§4.1（Mask token）、表 1(c)、表 2",
    )


def _masking_ratio() -> Exercise:
    """为什么遮住 75%，而 BERT 只遮 15%."""
    return Exercise(
        id="mae-masking-ratio",
        kind="思考",
        title="为什么遮住 75%，而 BERT 只遮 15%",
        question=(
            "BERT 只遮 15% 的词元，MAE 却遮住 75% 的图块。为什么图像需要高得多的掩码率？"
            "掩码率对线性探测和微调的影响一样吗？"
        ),
        answer=(
            "语言信息密度高，每个词都带着大量语义，遮住少数几个词再预测就已经需要理解语言；"
            "图像空间冗余大，遮住少量图块时，从相邻图块插值就能补回来，不需要理解画面。"
            "高掩码率加上随机分布基本消除了冗余，任务难到必须理解整体。"
            "图 5 中线性探测精度随掩码率一直上升到 75% 左右（比 10% 时高近 20 个点），"
            "微调则在 40%–80% 的宽范围内都不敏感。"
        ),
        cite="§1（信息密度）、§3（Masking）、§4.1 与图 5",
    )


def _loss_on_masked() -> Exercise:
    """重建图中可见位置为什么是噪声."""
    return Exercise(
        id="mae-loss-on-masked",
        kind="思考",
        title="重建图中可见位置为什么是噪声",
        question=(
            "看本页的重建图：第三列是解码器对所有图块的原始输出，可见图块的位置上为什么是噪声？"
            "把损失改成在全部图块上计算会怎样？"
        ),
        answer=(
            "损失只在被遮图块上计算，`loss` 里可见图块乘以掩码 0，解码器在这些位置上没有受到"
            "任何监督，输出什么都不影响损失，于是是噪声。把损失改成在全部图块上计算，"
            "可见位置会被训练成复制输入，论文报告精度反而略降（约 0.5%）：重建看得见的图块"
            "不需要理解图像，只分散了模型的容量。"
        ),
        cite="本页的[重建图](#fig-mae-reconstruction)；论文 §3（Reconstruction target）及其脚注",
    )


def _decoder_depth() -> Exercise:
    """解码器深度为什么影响线性探测."""
    return Exercise(
        id="mae-decoder-depth",
        kind="思考",
        title="解码器深度为什么影响线性探测",
        question=(
            "表 1(a) 中解码器从 1 层加到 8 层，线性探测从 65.5% 升到 73.5%，微调只从 84.8% 到"
            " 84.9%。为什么解码器的深度对两种评测的影响差这么多？"
        ),
        answer=(
            "自编码器最后几层专门做重建像素这种低层次的工作。解码器太浅时，这部分工作落到"
            "编码器的最后几层，编码器输出的表示就偏向像素、离识别任务远，冻结特征的线性探测"
            "吃亏；解码器够深时，重建由解码器完成，编码器的输出保持在更抽象的层次。"
            "微调会更新编码器的最后几层，让它们适应识别任务，所以对解码器深度不敏感。"
        ),
        cite="§4.1（Decoder design）、表 1(a)",
    )


def _augmentation() -> Exercise:
    """MAE 为什么几乎不需要数据增强."""
    return Exercise(
        id="mae-augmentation",
        kind="思考",
        title="MAE 为什么几乎不需要数据增强",
        question=("对比学习强烈依赖数据增强，MAE 只用随机裁剪就够，加颜色抖动反而变差。为什么？"),
        answer=(
            "对比学习的任务由增强定义：两个视图要足够不同，否则模型靠颜色等捷径就能认出"
            "“同一张图”，什么也学不到。MAE 的任务由掩码定义：每一轮随机选择的可见图块都不同，"
            "随机掩码本身就相当于一种很强的增强，每次迭代都生成新的训练样本。"
            "表 1(e) 中不做任何增强也有 84.0%（微调），随机尺寸的裁剪 84.9%，"
            "加颜色抖动降到 84.3%。"
        ),
        cite="§4.1（Data augmentation）、表 1(e)；本站[对比学习](contrastive.md)页面",
    )
