"""Exercises of the GPT page: answers computed from ``reference_impl/gpt.py``."""

from __future__ import annotations

from tools.generator.exercises import Computed, Exercise, count_macs, n_params


def exercises() -> list[Exercise]:
    """The page's exercises, in page order."""
    n = numbers()
    return [
        _block_params(n),
        _tied_embeddings(n),
        _attention_macs(n),
        _no_causal_mask(),
        _final_norm(),
        _similarity_orders(),
        _few_shot(),
    ]


def numbers() -> dict[str, int]:
    """The computed answers, from the reference code (meta device)."""
    import torch
    from torch import nn

    from reference_impl import gpt

    xl = gpt.GPTConfig.gpt2(1600, 48)
    d175, _, h175 = gpt.GPT3_SIZES["175b"]
    T = 2048
    with torch.device("meta"):
        block = n_params(gpt.TransformerBlock(xl))
        small = gpt.gpt2_small()
        tied = n_params(small)
        small.lm_head.weight = nn.Parameter(torch.empty_like(small.lm_head.weight))  # untie
        untied = n_params(small)
        attention = gpt.MultiHeadAttention(d175, h175)
        attention_macs = count_macs(attention, torch.empty(1, T, d175))
    return {
        "block": block,
        "tying_saves": untied - tied,
        "attention_macs_per_token": attention_macs // T,
    }


def _block_params(n: dict[str, int]) -> Exercise:
    """GPT-2 XL 的一个块."""
    return Exercise(
        id="gpt-block-params",
        kind="计算",
        title="GPT-2 XL 的一个块",
        question=(
            "GPT-2 最大的模型（论文表 2 的 1542M，发布名 1558M）有 48 层，宽 $D=1600$，"
            "前馈网络宽 $4D$，线性层都带偏置。一个 Transformer 块（带掩码的多头注意力、"
            "前馈网络，各带一个 LayerNorm）有多少个参数？48 个块约占全部参数的多少？"
        ),
        computed=Computed(
            value=n["block"],
            formula="4*(1600*1600 + 1600) + (1600*6400 + 6400 + 6400*1600 + 1600) + 2*2*1600",
            unit="个参数",
        ),
        answer=(
            "注意力的 `qkv` 与 `out_proj` 合起来是 $W^Q,W^K,W^V,W^O$ 四个 $D\\times D$ 矩阵"
            "和四个偏置：$4(D^2+D)$；前馈网络 $D\\to4D\\to D$ 是 $8D^2+5D$；两个 LayerNorm "
            "各有 $2D$。合计 $12D^2+13D$，正是本页参数量一节的公式。"
            "48 个块共 1,475,558,400 个参数，约占本实现全部 1,557,611,200 个参数的 95%；"
            "其余是词元嵌入和位置嵌入（输出层与词元嵌入共享，不再计数）和最后的 LayerNorm。"
            "生成器在 meta 设备上数了 `TransformerBlock(GPTConfig.gpt2(1600, 48))`。"
        ),
        cite="GPT-2 §2.3、表 2；本页“参数量”一节",
    )


def _tied_embeddings(n: dict[str, int]) -> Exercise:
    """输出层共享省了多少."""
    return Exercise(
        id="gpt-tied-embeddings",
        kind="计算",
        title="输出层共享省了多少",
        question=(
            "GPT 的式 (2) 用 $\\mathrm{softmax}(h_n W_e^\\top)$ 得到下一个词元的分布：输出层就是"
            "词元嵌入矩阵 $W_e$。如果 GPT-2 small（词表 50,257，$D=768$）的输出层另用一个"
            "不带偏置的矩阵，参数会多出多少？"
        ),
        computed=Computed(value=n["tying_saves"], formula="50257*768", unit="个参数"),
        answer=(
            "输出层把 $D$ 维的 $h_n$ 映射到 $V$ 个词元的分数，是一个 $V\\times D$ 的矩阵，"
            "与 $W_e$ 形状相同。共享时它只计一次；不共享就多出 $VD$，约 3,860 万，"
            "相当于共享时全部 124,439,808 个参数的 31%。词表越大、模型越窄，这一项越显眼。"
            "生成器在 meta 设备上把 `gpt2_small()` 的 `lm_head.weight` 换成一个新参数，"
            "数了前后的差。[Llama 3](llama.md) 就不共享。"
        ),
        cite="GPT §3.1 式 (2)；本页“从嵌入到输出”一节",
    )


def _attention_macs(n: dict[str, int]) -> Exercise:
    """175B 一层注意力的乘加数."""
    return Exercise(
        id="gpt-attention-macs",
        kind="计算",
        title="175B 一层注意力的乘加数",
        question=(
            "GPT-3 175B 的一层多头自注意力（$D=12288$，96 个头）处理一整条 $T=2048$ 个词元的"
            "序列。只算矩阵乘法（`qkv` 与 `out_proj` 两个投影、$QK^\\top$、注意力权重乘 $V$），"
            "按参考实现的算法（不跳过被因果掩码遮住的分数），平均**每个词元**多少次乘加（MACs）？"
            "其中随 $T$ 增长的部分占多少？"
        ),
        computed=Computed(
            value=n["attention_macs_per_token"],
            formula="4*12288*12288 + 2*2048*12288",
            unit="MACs",
        ),
        answer=(
            "投影对每个词元是 $4D^2$（`qkv` 是 $3D^2$，`out_proj` 是 $D^2$）。$QK^\\top$ 和"
            "权重乘 $V$ 对整条序列各是 $T^2D$（所有头加起来），平均到每个词元各 $TD$。"
            "合计 $4D^2+2TD$，随 $T$ 增长的 $2TD$ 只占约 7.7%：要到 $T=2D=24{,}576$ "
            "两部分才一样多。所以在 2048 的上下文窗口里，GPT-3 的计算量主要花在与 $T$ "
            "无关的投影和前馈网络上；对比 [Transformer](transformer.md) base 的"
            " $D=512$，同样长的序列平方项早已占了上风。96 层约 628 亿次。"
            "生成器用 `FlopCounterMode` 在 meta 设备上数了 `MultiHeadAttention(12288, 96)` "
            "处理 2048 个词元的乘加数，再除以 2048。"
        ),
        cite="GPT-3 §2.1、表 2.1",
    )


def _no_causal_mask() -> Exercise:
    """去掉因果掩码."""
    return Exercise(
        id="gpt-no-causal-mask",
        kind="代码",
        title="去掉因果掩码",
        question=(
            "写一个 `GPTWithoutCausalMask`：与 `GPT` 相同，只是每一层的掩码全为 `True`，"
            "每个位置都能看到整条序列。(a) 改变第 $t$ 个词元，位置 $t$ 之前的 logits 还"
            "不变吗？(b) 在**完全随机**的词元序列上（词表 100，每个词元独立均匀地抽取）"
            "训练它和原来的 `GPT`，训练损失各能降到多少？说明了什么？"
        ),
        answer=(
            "(a) 会变：位置 $t-1$ 的输出直接看得到第 $t$ 个词元，也就是它要预测的那个。"
            "(b) 随机序列的下一个词元无从预测，带掩码的 `GPT` 损失停在 $\\ln 100\\approx4.61$"
            " 附近，这已是最好的结果；去掉掩码的模型损失远低于它（测试里宽 32 的两层小模型"
            "训练 100 步，降到 1 以下），"
            "因为它学会了把右边一个位置的词元抄过来。训练损失好得不可能，正是未来信息泄漏的"
            "信号，这样的模型在生成时没有“右边的词元”可抄，毫无用处。"
            "式 (1) 要求 $P(u_i\\mid u_{i-k},\\dots,u_{i-1})$ 只依赖左边，因果掩码保证一次前向"
            "传播的所有位置都满足这一点。对比 [BERT](bert.md)：它去掉了因果掩码，"
            "就只能改为预测被遮住的词。"
        ),
        solution=("reference_impl/exercises/gpt.py:no-causal-mask",),
        test="tests/test_exercises_gpt.py::test_without_the_mask_random_tokens_become_predictable",
        cite="GPT §3.1 式 (1)；本页的[掩码图](#fig-gpt-masks)",
    )


def _final_norm() -> Exercise:
    """为什么最后再加一个 LayerNorm."""
    return Exercise(
        id="gpt-final-norm",
        kind="思考",
        title="为什么最后再加一个 LayerNorm",
        question=(
            "GPT-2 把 LayerNorm 移到每个子层的输入处之后，又在最后一个块之后加了一个 "
            "LayerNorm。GPT 的后置 LN 为什么不需要它？对照本页两张块结构图回答。"
        ),
        answer=(
            "后置 LN 的块输出的是 $\\mathrm{LN}(x+F(x))$：每个块的输出都已归一化，"
            "最后一个块也不例外。前置 LN 的块输出 $x+F(\\mathrm{LN}(x))$：LayerNorm 只在"
            "分支里，残差路径从输入一直通到输出不经过任何归一化（图中的虚线），"
            "各块分支的输出都累加在这条路径上，尺度随深度变化。送进输出层之前需要再归一化"
            "一次，这就是最后的 `norm`。残差路径不被归一化，也是 GPT-2 改用 $1/\\sqrt{N}$"
            " 初始化的原因。"
        ),
        cite="GPT-2 §2.3；本页“Transformer 块：后置与前置的 LayerNorm”一节的两张块结构图",
    )


def _similarity_orders() -> Exercise:
    """相似度任务为什么算两遍."""
    return Exercise(
        id="gpt-similarity-orders",
        kind="思考",
        title="相似度任务为什么算两遍",
        question=(
            "GPT 微调时把句子对改写成一条词元序列。蕴含任务只写“前提 `$` 假设”一种顺序，"
            "相似度任务却把两种顺序各算一遍、把两个状态逐元素相加。为什么？"
        ),
        answer=(
            "模型是单向的：因果掩码下，先出现的句子看不见后出现的，同一对句子换个顺序，"
            "⟨e⟩ 处的状态一般不同。蕴含的前提和假设本来就有先后之分，一种顺序即可；"
            "相似度是对称的，两个句子没有先后（论文：“no inherent ordering”），"
            "把两种顺序的状态相加，得到的表示与输入顺序无关，再送进 $W_y$。"
        ),
        cite="GPT §3.3、图 1（右）",
    )


def _few_shot() -> Exercise:
    """少样本的示例放在哪里."""
    return Exercise(
        id="gpt-few-shot",
        kind="思考",
        title="少样本的示例放在哪里",
        question=(
            "GPT-3 的少样本设置给模型 $K$ 个示例，却不更新任何参数。示例起什么作用？"
            "$K$ 为什么有上限？论文能不能据此断定模型在推理时“学会”了新任务？"
        ),
        answer=(
            "示例只是提示的一部分，模型照着格式接着写下一个词元：上下文学习发生在一次前向"
            "传播里，论文把它看作元学习的内循环，外循环是预训练。$K$ 的上限来自上下文窗口："
            "所有示例加上问题要放进 2048 个词元（位置嵌入只有这么多行），"
            "所以 $K$ 通常是 10 到 100。论文不能断定：它特意说明，分不清模型是在推理时"
            "从头学会了任务，还是认出了预训练时见过的任务，这也可能因任务而异。"
        ),
        cite="GPT-3 §1（图 1.1 及脚注）、§2（图 2.1）、§5",
    )
