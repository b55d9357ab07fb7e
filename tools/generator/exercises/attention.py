"""Exercises of the attention page: answers computed from ``reference_impl/attention.py``."""

from __future__ import annotations

from tools.generator.exercises import Computed, Exercise, count_macs, n_params


def exercises() -> list[Exercise]:
    """The page's exercises, in page order."""
    n = numbers()
    return [
        _large_params(n),
        _weights_memory(n),
        _cross_attention_macs(n),
        _no_scaling(),
        _toy_map(),
        _mask_before_softmax(),
        _versus_rnn(),
    ]


def numbers() -> dict[str, int]:
    """The computed answers, from the reference code (meta device)."""
    import torch

    from reference_impl import attention

    with torch.device("meta"):
        large = n_params(attention.MultiHeadAttention(1024, 16))
        mha = attention.multi_head_attention()  # D = 512, h = 8
        cross = count_macs(mha, torch.empty(1, 10, 512), torch.empty(1, 1000, 512))
        weights_bytes = 0

        def hook(module, inputs, output) -> None:
            nonlocal weights_bytes
            weights_bytes += output.numel() * output.element_size()

        handle = mha.attention.softmax.register_forward_hook(hook)  # the (B, h, T, T) weights
        with torch.no_grad():
            mha(torch.empty(1, 4096, 512))
        handle.remove()
    return {"large": large, "weights_bytes": weights_bytes, "cross": cross}


def _large_params(n: dict[str, int]) -> Exercise:
    """16 个头的多头注意力有多少参数."""
    return Exercise(
        id="attention-large-params",
        kind="计算",
        title="16 个头的多头注意力有多少参数",
        question=(
            "一层多头注意力，$D=1024$，$h=16$（BERT-large、ViT-L 的宽度），$W^Q, W^K, W^V, W^O$ "
            "都带偏置。它有多少个参数？如果改成 $h=1$ 或 $h=64$ 呢？"
        ),
        computed=Computed(value=n["large"], formula="4*(1024*1024 + 1024)", unit="个参数"),
        answer=(
            "四个 $D\\times D$ 的投影加四个 $D$ 维偏置：$4(D^2+D)$。与头数无关：$h$ 个头的 "
            "$W_i^Q$（各 $D\\times d_k$，$d_k=D/h$）拼起来恰好是一个 $D\\times D$ 矩阵，"
            "参考实现里它就是一个 `q_proj`。头数只决定怎样把 $D$ 维切开，所以 $h=1$ 和 "
            "$h=64$ 的参数量都一样。生成器在 meta 设备上数了 `MultiHeadAttention(1024, 16)`。"
        ),
        cite="§3.2.2；本页“多头注意力”一节的勘误",
    )


def _weights_memory(n: dict[str, int]) -> Exercise:
    """长序列的注意力权重有多大."""
    return Exercise(
        id="attention-weights-memory",
        kind="计算",
        title="长序列的注意力权重有多大",
        question=(
            "base 模型的一层多头自注意力（$D=512$，$h=8$）处理一个长 $T=4096$ 的序列。"
            "softmax 输出的注意力权重用 float32（4 字节）存储，要占多少字节？"
            "$T=512$ 时呢？"
        ),
        computed=Computed(value=n["weights_bytes"], formula="8*4096*4096*4", unit="字节"),
        answer=(
            "每个头一个 $T\\times T$ 的权重矩阵，$h$ 个头共 $hT^2$ 个数：512 MiB，而且这只是"
            "一层、一条序列；训练时反向传播还要保存它。$T=512$ 时只要 8 MiB——长度变为 8 倍，"
            "内存变为 64 倍，这就是“平方复杂度”。FlashAttention 分块计算 softmax，从不把整个 "
            "$T\\times T$ 矩阵写进显存。生成器在 meta 设备上跑一次前向传播，用钩子量出 softmax "
            "输出的字节数。"
        ),
        cite="§4、表 1；本页“局限与后续”",
    )


def _cross_attention_macs(n: dict[str, int]) -> Exercise:
    """交叉注意力的乘加数花在哪里."""
    return Exercise(
        id="attention-cross-attention-macs",
        kind="计算",
        title="交叉注意力的乘加数花在哪里",
        question=(
            "解码器的一层交叉注意力（$D=512$，$h=8$）：$T=10$ 个查询来自目标序列，键和值来自"
            "长 $S=1000$ 的源序列（`mha(x, context)`）。一次前向传播有多少次乘加？"
            "只算矩阵乘法：四个投影、$QK^\\top$、权重乘 $V$。哪一部分最贵？"
        ),
        computed=Computed(
            value=n["cross"],
            formula="10*512*512 + 2*1000*512*512 + 2*10*1000*512 + 10*512*512",
            unit="MACs",
        ),
        answer=(
            "$Q$ 投影和输出投影各 $TD^2$；$K$、$V$ 投影作用在源序列上，各 $SD^2$；$QK^\\top$ "
            "与权重乘 $V$ 各 $TSD$（$h$ 个头合计）。$K$、$V$ 投影占了约 97%。它们只取决于源"
            "序列，所以逐词生成时只需对源句算一次、缓存起来（键值缓存，见 Transformer 页）。"
            "生成器用 `FlopCounterMode` 在 meta 设备上数了 `multi_head_attention()`。"
        ),
        cite="§3.2.3（编码器–解码器注意力）",
    )


def _no_scaling() -> Exercise:
    """去掉 √d_k 会怎样."""
    return Exercise(
        id="attention-no-scaling",
        kind="代码",
        title="去掉 √d_k 会怎样",
        question=(
            "继承 `ScaledDotProductAttention` 写一个不除以 $\\sqrt{d_k}$ 的 "
            "`UnscaledDotProductAttention`。取 $d_k=512$，$q$、$k$ 的各分量独立地取自 "
            "$\\mathcal{N}(0,1)$，比较两者：(a) 分数 $q\\cdot k$ 的方差；(b) 每行最大权重超过 0.99"
            "（几乎是独热编码）的行占多少；(c) softmax 的雅可比矩阵 "
            "$\\operatorname{diag}(p)-pp^\\top$ 的大小。"
        ),
        answer=(
            "(a) 不缩放时方差约为 $d_k=512$，缩放后约为 1。(b) 缩放后没有一行接近独热编码；"
            "不缩放时超过一半的行最大权重大于 0.99。(c) softmax 的梯度就是这个雅可比矩阵，"
            "$p$ 接近独热编码时它接近零矩阵：不缩放时它的范数（取各行的中位数）比缩放时小"
            "几十倍，误差几乎传不回 $q$ 和 $k$。这正是论文脚注 4 的论证；$d_k$ 小时两者差别不大，"
            "所以论文说 $d_k$ 较大时不缩放的点积注意力才明显变差。"
        ),
        solution=("reference_impl/exercises/attention.py:unscaled",),
        test="tests/test_exercises_attention.py::test_without_scaling_the_softmax_saturates",
        cite="§3.2.1 及其脚注 4",
    )


def _toy_map() -> Exercise:
    """两个“猫”为什么一样."""
    return Exercise(
        id="attention-toy-map",
        kind="思考",
        title="两个“猫”为什么一样",
        question=(
            "本页玩具句子的注意力图里，左图中两个“猫”的注意力行完全相同。为什么？"
            "右图加上位置编码后有什么变化？这说明自注意力缺了什么？"
        ),
        answer=(
            "式 (1) 只用到向量本身：两个“猫”的输入向量相同，它们的查询、对每个键的分数、"
            "softmax 后的权重就都相同。更一般地，打乱输入的顺序，输出只会按同样的方式打乱"
            "（置换等变），自注意力本身不知道谁在前谁在后。加上位置编码后，同一个词在不同"
            "位置的输入不同，两行就不同了，而且更偏向离自己近的位置。顺序信息只能从位置编码"
            "进入模型（§3.5）。"
        ),
        cite="本页的[玩具注意力图](#fig-attention-toy-map)；§3.5",
    )


def _mask_before_softmax() -> Exercise:
    """掩码为什么加在 softmax 之前."""
    return Exercise(
        id="attention-mask-before-softmax",
        kind="思考",
        title="掩码为什么加在 softmax 之前",
        question=(
            "因果掩码的做法是在 softmax 之前把未来位置的分数设为 $-\\infty$。如果改成在 "
            "softmax 之后把这些位置的权重置 0，会有什么问题？"
        ),
        answer=(
            "softmax 之后再置 0，每一行的权重之和就小于 1，输出不再是值的加权平均，而且"
            "被遮住的位置仍然影响了分母：未来的词通过归一化常数泄露给了当前位置。设为 "
            "$-\\infty$ 后 $\\exp(-\\infty)=0$，这些位置既不出现在分子也不出现在分母，剩下的"
            "权重自动归一。若要在 softmax 之后处理，就必须重新归一化，结果与先掩码相同。"
        ),
        cite="§3.2.3（“masking out (setting to −∞) all values in the input of the softmax”）",
    )


def _versus_rnn() -> Exercise:
    """什么时候自注意力比 RNN 便宜."""
    return Exercise(
        id="attention-versus-rnn",
        kind="思考",
        title="什么时候自注意力比 RNN 便宜",
        question=(
            "论文表 1 中，自注意力层每层的复杂度是 $O(n^2\\cdot d)$，循环层是 $O(n\\cdot d^2)$。"
            "什么时候自注意力更便宜？即使它更贵，它还有什么优势？"
        ),
        answer=(
            "$n<d$ 时自注意力更便宜，句子级的机器翻译（词元数常小于 $d=512$）正是如此。"
            "即使 $n$ 很大，它的顺序操作数是 $O(1)$（所有位置一次矩阵乘就算完），RNN 要 "
            "$O(n)$ 步依次计算；任意两个位置之间的路径长度也是 $O(1)$，而 RNN 是 $O(n)$，"
            "长程依赖更好学。序列很长时，论文建议只看邻域 $r$ 的受限自注意力，复杂度降为 "
            "$O(r\\cdot n\\cdot d)$，代价是路径长度变为 $O(n/r)$。"
        ),
        cite="§4、表 1",
    )
