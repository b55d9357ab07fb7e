"""Exercises of the Transformer page: answers computed from ``reference_impl/transformer.py``."""

from __future__ import annotations

from tools.generator.exercises import Computed, Exercise, count_macs, n_params


def _kv_cache_bytes(T: int, S: int) -> int:
    """Bytes of what the base decoder's key and value projections produce for T targets, S sources.

    A key/value cache keeps exactly these tensors: the self-attention's keys and values of every
    generated position, and the cross-attention's keys and values of the source (computed once).
    Forward hooks on the decoder's ``k_proj``/``v_proj`` measure them on the meta device.
    """
    import torch

    from reference_impl import transformer

    with torch.device("meta"):
        model = transformer.transformer_base()
        src = torch.zeros(1, S, dtype=torch.long)
        tgt = torch.zeros(1, T, dtype=torch.long)
    total = 0

    def hook(module, inputs, output) -> None:
        nonlocal total
        total += output.numel() * output.element_size()

    handles = [
        proj.register_forward_hook(hook)
        for layer in model.decoder.layers
        for attn in (layer.self_attn, layer.cross_attn)
        for proj in (attn.k_proj, attn.v_proj)
    ]
    with torch.no_grad():
        model(src, tgt)
    for h in handles:
        h.remove()
    return total


def exercises() -> list[Exercise]:
    """The page's exercises, in page order."""
    n = numbers()
    return [
        _decoder_layer_params(n),
        _attention_macs(n),
        _kv_cache(n),
        _learned_positions(),
        _why_scale(),
        _shift_and_mask(),
        _label_smoothing(),
    ]


def numbers() -> dict[str, int]:
    """The computed answers, from the reference code (meta device)."""
    import torch

    from reference_impl import transformer

    base = transformer.TransformerConfig.base()
    with torch.device("meta"):
        decoder_layer = n_params(transformer.DecoderLayer(base))
        mha = transformer.MultiHeadAttention(base.d_model, base.n_heads)
        mha_macs = count_macs(mha, torch.empty(1, 1024, base.d_model))
    kv_bytes = _kv_cache_bytes(T=100, S=100)
    return {"decoder_layer": decoder_layer, "mha_macs": mha_macs, "kv_bytes": kv_bytes}


def _decoder_layer_params(n: dict[str, int]) -> Exercise:
    """一个解码器层的参数."""
    return Exercise(
        id="transformer-decoder-layer-params",
        kind="计算",
        title="一个解码器层的参数",
        question=(
            "Transformer (base)：$d_{model}=512$，$d_{ff}=2048$，$h=8$，线性层都带偏置。"
            "一个**解码器层**（掩码自注意力、交叉注意力、前馈网络，各带一个 LayerNorm）"
            "有多少个参数？"
        ),
        computed=Computed(
            value=n["decoder_layer"],
            formula="2*(4*512*512 + 4*512) + (512*2048 + 2048 + 2048*512 + 512) + 3*2*512",
            unit="个参数",
        ),
        answer=(
            "每个多头注意力有 $W^Q, W^K, W^V, W^O$ 四个 $D\\times D$ 矩阵和四个偏置："
            "$4D^2+4D$；解码器层有两个（自注意力和交叉注意力）。前馈网络是 $D\\cdot d_{ff}+d_{ff}$"
            " 加 $d_{ff}\\cdot D+D$。三个 LayerNorm 各有 $2D$。多头并不增加参数：$h$ 个头只是把"
            "$D$ 维切成 $h$ 份。乘以 6 层就是正文表中解码器的参数量。"
        ),
        cite="§3.1–3.3、表 3",
    )


def _attention_macs(n: dict[str, int]) -> Exercise:
    """自注意力的乘加数."""
    return Exercise(
        id="transformer-attention-macs",
        kind="计算",
        title="自注意力的乘加数",
        question=(
            "base 模型的一个多头自注意力，输入 1 个长 $T=1024$ 的序列（$D=512$，$h=8$）。"
            "一次前向传播有多少次乘加（MACs）？只算矩阵乘法（四个投影、$QK^\\top$、"
            "注意力权重乘 $V$），不算 softmax 和缩放。$T$ 多大时，两个 $T\\times T$ 的乘积"
            "与四个投影一样贵？"
        ),
        computed=Computed(
            value=n["mha_macs"],
            formula="4*1024*512*512 + 2*1024*1024*512",
            unit="MACs",
        ),
        answer=(
            "四个投影各是 $T\\cdot D\\cdot D$，合计 $4TD^2$；$QK^\\top$ 每个头是 "
            "$T\\cdot T\\cdot d$，$h$ 个头合计 $T^2D$，权重乘 $V$ 也是 $T^2D$。"
            "总数 $4TD^2+2T^2D$；两部分在 $T=2D=1024$ 时相等——这里恰好各占一半。"
            "序列再长，平方项就占了上风，这就是“平方复杂度”。"
            "生成器用 `FlopCounterMode` 在 meta 设备上数了 `MultiHeadAttention(512, 8)`。"
        ),
        cite="§4、表 1（自注意力层每层的复杂度 $O(n^2\\cdot d)$）",
    )


def _kv_cache(n: dict[str, int]) -> Exercise:
    """解码时的键值缓存有多大."""
    return Exercise(
        id="transformer-kv-cache",
        kind="计算",
        title="解码时的键值缓存有多大",
        question=(
            "参考实现解码时每一步都重算整个前缀。实际系统会把每层已经算过的键和值缓存"
            "起来（键值缓存）。base 模型翻译一个 $S=100$ 个词元的源句、生成 $T=100$ 个词元时，"
            "解码器的缓存（自注意力的键、值，加上交叉注意力对源句算出的键、值）用 float32"
            "（4 字节）存储，一共多少字节？"
        ),
        computed=Computed(value=n["kv_bytes"], formula="6*2*(100 + 100)*512*4", unit="字节"),
        answer=(
            "每层、每个位置要存一个 $D$ 维的键和一个 $D$ 维的值：自注意力 $2TD$，交叉注意力"
            "$2SD$（源句的键值只算一次）。6 层、每个数 4 字节。约 4.9 MB，比模型本身"
            "（6300 万个参数，约 252 MB）小得多，但它随批量和序列长度线性增长。"
            "生成器在 meta 设备上跑一次前向传播，用钩子把解码器各层 `k_proj`、`v_proj` 的"
            "输出字节数加起来：缓存里存的正是这些张量。"
        ),
    )


def _learned_positions() -> Exercise:
    """换成可学习的位置嵌入."""
    return Exercise(
        id="transformer-learned-positions",
        kind="代码",
        title="换成可学习的位置嵌入",
        question=(
            "把正弦位置编码换成一张可学习的表（每个位置一个 $D$ 维向量，表 3 的 (E) 行）。"
            "写一个 `LearnedPositionalEmbedding`，替换 `model.positional_encoding`，然后回答："
            "(a) base 模型多了多少参数？(b) 在长度不超过 $T$ 的序列上训练一步，"
            "表中第 $T$ 行以后的向量会得到梯度吗？这说明了什么？"
        ),
        answer=(
            "(a) 多了 `max_len × d_model` 个参数（参考实现的 `max_len=1024`：524,288 个；"
            "源和目标共用同一张表，正如它们共用正弦编码）。"
            "(b) 不会：只有用到的前 $T$ 行有梯度，之后的行永远停在初始值。"
            "可学习的位置嵌入因此无法外推到比训练时更长的序列；论文选正弦编码的理由之一"
            "正是它可能外推到更长的序列（§3.5），而两者在翻译上的结果几乎相同（表 3 (E)）。"
        ),
        solution=("reference_impl/exercises/transformer.py:learned-positions",),
        test="tests/test_exercises_transformer.py::test_only_the_used_rows_learn",
        cite="§3.5、表 3 (E)",
    )


def _why_scale() -> Exercise:
    """为什么除以 √d_k."""
    return Exercise(
        id="transformer-why-scale",
        kind="思考",
        title="为什么除以 √d_k",
        question="缩放点积注意力为什么要把 $QK^\\top$ 除以 $\\sqrt{d_k}$？不除会怎样？",
        answer=(
            "若 $q$、$k$ 的各分量独立、均值 0、方差 1，点积 $q\\cdot k=\\sum_{i=1}^{d_k}q_ik_i$"
            " 的方差是 $d_k$。$d_k$ 大时点积的绝对值很大，softmax 被推到饱和区，"
            "几乎成了独热编码，梯度极小。除以 $\\sqrt{d_k}$ 把方差拉回 1。"
            "论文观察到，$d_k$ 小时加性注意力与点积注意力相当，$d_k$ 大时不缩放的点积更差。"
        ),
        cite="§3.2.1 及其脚注 4",
    )


def _shift_and_mask() -> Exercise:
    """右移一位与因果掩码."""
    return Exercise(
        id="transformer-shift-and-mask",
        kind="思考",
        title="右移一位与因果掩码",
        question=(
            "训练时解码器的输入是“右移一位”的目标序列（以 BOS 开头），自注意力还加了因果掩码。"
            "只要其中一个行不行？分别去掉会出什么问题？"
        ),
        answer=(
            "两者缺一不可。只有掩码、不右移：位置 $i$ 看得见输入的第 $i$ 个词，而它要预测的"
            "正是这个词，直接抄过来即可。只右移、不加掩码：位置 $i$ 能看到右移后第 $i+1$ 个"
            "位置上的词，也就是它要预测的词。两者一起才保证位置 $i$ 的预测只依赖位置小于 $i$"
            "的已知输出，训练和逐词生成时的条件一致。"
        ),
        cite="§3.1（解码器）、§3.2.3；本页“解码器层”一节",
    )


def _label_smoothing() -> Exercise:
    """标签平滑让困惑度变差."""
    return Exercise(
        id="transformer-label-smoothing",
        kind="思考",
        title="标签平滑让困惑度变差",
        question=(
            "论文说标签平滑（$\\epsilon_{ls}=0.1$）让困惑度变差，却提高了 BLEU。为什么会这样？"
        ),
        answer=(
            "困惑度衡量模型给正确词的概率：标签平滑的训练目标本身就只给正确词"
            " $1-\\epsilon+\\epsilon/K$ 的概率，模型学得更“不确定”，对数似然自然变差。"
            "但 BLEU 只看解码出的词是否正确：不过分自信的模型分布更平滑、校准更好，"
            "束搜索更容易找到好的整句，准确率和 BLEU 因而提高。"
        ),
        cite="§5.4（Label Smoothing）",
    )
