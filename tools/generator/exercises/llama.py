"""Exercises of the Llama 3 page: answers computed from ``reference_impl/llama.py``."""

from __future__ import annotations

from tools.generator.exercises import Computed, Exercise, n_params

POSITION, PAIR = 1000, 16  # the RoPE exercise: position m, pair i (from 0; the page's i = 17)


def _kv_bytes_per_token(n_kv_heads: int) -> int:
    """Bytes the KV cache of Llama 3 8B in bf16 holds after one token (meta device).

    The model runs one token with a `KVCache`; the keys and values it stored in every layer are
    exactly what each further token adds.
    """
    import torch

    from reference_impl import llama

    with torch.device("meta"):
        model = llama.llama3_8b(n_kv_heads=n_kv_heads).to(torch.bfloat16)
        cache = llama.KVCache(model.config.n_layers)
        with torch.no_grad():
            model(torch.zeros(1, 1, dtype=torch.long), 0, cache)
    return sum(t.numel() * t.element_size() for layer in cache.layers for t in layer)


def exercises() -> list[Exercise]:
    """The page's exercises, in page order."""
    n = numbers()
    return [
        _rope_angle(n),
        _swiglu_params(n),
        _kv_cache(n),
        _tied_output(n),
        _sliding_window(),
        _rope_only_queries_and_keys(),
        _document_mask(),
        _beyond_compute_optimal(),
    ]


def numbers() -> dict[str, float]:
    """The computed answers, from the reference code (meta device; RoPE's 64 numbers on CPU)."""
    import torch

    from reference_impl import llama

    cfg = llama.LlamaConfig.llama3_8b()
    rope = llama.RotaryEmbedding(cfg)  # its buffer: the 64 frequencies, scaled as in Llama 3.1
    angle = (torch.tensor([float(POSITION)])[:, None] * rope.freqs)[0, PAIR]  # as in forward
    with torch.device("meta"):
        ffn = n_params(llama.FeedForward(cfg.d_model, cfg.d_ff))
        model = llama.llama3_8b()
        model.lm_head.weight = model.tok_embeddings.weight  # tied: counted once
        tied = n_params(model)
    return {
        "angle": float(angle),
        "ffn": ffn,
        "kv_gqa": _kv_bytes_per_token(cfg.n_kv_heads),
        "kv_mha": _kv_bytes_per_token(cfg.n_heads),
        "tied": tied,
    }


def _rope_angle(n: dict[str, float]) -> Exercise:
    """RoPE 在位置 1000 转了多少."""
    return Exercise(
        id="llama-rope-angle",
        kind="计算",
        title="RoPE 在位置 1000 转了多少",
        question=(
            "Llama 3 8B 的一个头宽 $d=128$，RoPE 的基频 $\\theta=500{,}000$。按本页的 "
            "$\\theta_i=\\theta^{-2(i-1)/d}$，第 $i=17$ 对维度在位置 $m=1000$ 旋转了多少弧度？"
            "这一对维度的波长是多少个位置，Llama 3.1 的频率缩放会改动它吗？"
            "若像 RoFormer 原文那样取 $\\theta=10{,}000$ 呢？"
        ),
        computed=Computed(
            value=n["angle"],
            formula="1000 / 500000**(32/128)",
            unit="弧度",
            tolerance=0.01,
        ),
        answer=(
            "$\\theta_{17}=500{,}000^{-32/128}=500{,}000^{-1/4}\\approx0.0376$，"
            "角度 $m\\theta_{17}\\approx37.61$ 弧度，将近 6 圈。波长 $2\\pi/\\theta_{17}$"
            " 约 167 个位置，短于 2,048，属于 3.1 版缩放中“不变”的那一段，"
            "所以带缩放的 `rope_frequencies` 给出同一个角度。取 $\\theta=10{,}000$ 时"
            " $\\theta_{17}=0.1$，角度正好是 100 弧度，波长约 63 个位置：$\\theta$ 越大，"
            "同一对维度转得越慢，能区分的距离越远。生成器从参考实现 `RotaryEmbedding`"
            " 的频率算出这个角度（float32）。"
        ),
        cite="§3.2、表 3；RoFormer 式 (15)；本页“旋转位置编码”一节",
    )


def _swiglu_params(n: dict[str, float]) -> Exercise:
    """SwiGLU 前馈网络的参数."""
    return Exercise(
        id="llama-swiglu-params",
        kind="计算",
        title="SwiGLU 前馈网络的参数",
        question=(
            "Llama 3 8B 的前馈网络是 SwiGLU：$D=4096$，隐藏宽度 14,336，三个矩阵都不带偏置。"
            "它有多少个参数？与 GPT 式的两矩阵前馈网络（$D\\to4D\\to D$，同样不带偏置）相比"
            "多了多少？隐藏宽度取多少时两者一样大？"
        ),
        computed=Computed(value=n["ffn"], formula="3*4096*14336", unit="个参数"),
        answer=(
            "`gate`（$W$）、`up`（$V$）各是 $D\\times14{,}336$，`down`（$W_2$）是"
            " $14{,}336\\times D$，合计 $3\\times3.5D\\cdot D=10.5D^2$。两矩阵的 $4D$"
            " 前馈网络是 $8D^2=134{,}217{,}728$，SwiGLU 多了约 31%。要一样大，隐藏宽度应是"
            " $\\tfrac23\\cdot4D\\approx10{,}923$：这正是 Shazeer 和第一代 LLaMA 的取法，"
            "Llama 3 的表 3 取得更宽。每块的前馈网络约是注意力的 4.2 倍，"
            "32 块的前馈网络占了 8B 全部参数的七成。"
            "生成器在 meta 设备上数了 `FeedForward(4096, 14336)`。"
        ),
        cite="表 3；Shazeer (2020) 式 (6)；本页“SwiGLU 前馈网络”一节",
    )


def _kv_cache(n: dict[str, float]) -> Exercise:
    """每个词元的 KV 缓存."""
    return Exercise(
        id="llama-kv-cache",
        kind="计算",
        title="每个词元的 KV 缓存",
        question=(
            "Llama 3 8B（32 层，32 个查询头、8 个键值头，头宽 128）用 bf16（每个数 2 字节）"
            "生成时，每多一个词元，KV 缓存增加多少字节？如果不用 GQA（32 个键值头）呢？"
            "一条 8,192 个词元的序列各要多少 GiB？"
        ),
        computed=Computed(value=n["kv_gqa"], formula="2*32*8*128*2", unit="字节"),
        answer=(
            "每层存一个键和一个值，各 $h_{kv}\\times d$ 个数：$2\\times N\\times h_{kv}\\times d"
            "\\times2$ 字节，128 KiB。不用 GQA 时 $h_{kv}=32$，是 524,288 字节（512 KiB），"
            "正好 4 倍：32 个查询头每 4 个共用一个键值头。8,192 个词元分别是 1 GiB 和 4 GiB。"
            "缓存只随键值头数变，与查询头数无关；这就是论文说 GQA 能“减小解码时键值缓存的大小”的"
            "意思（§3.2）。生成器在 meta 设备上把 bf16 的 8B 送进一个词元，数了 `KVCache`"
            " 里各层键、值张量的字节数（不用 GQA 时把 `n_kv_heads` 改成 32 再数一次）。"
        ),
        cite="§3.2、表 3；本页“KV 缓存”一节的显存表",
    )


def _tied_output(n: dict[str, float]) -> Exercise:
    """如果输出层与词嵌入共享."""
    return Exercise(
        id="llama-tied-output",
        kind="计算",
        title="如果输出层与词嵌入共享",
        question=(
            "Llama 3 8B 的词嵌入 `tok_embeddings` 和输出层 `lm_head` 是两个独立的"
            " $128{,}256\\times4{,}096$ 矩阵。若像 GPT 那样让输出层就用词嵌入矩阵，"
            "模型还剩多少个参数？按“截断到十亿”的命名习惯，它还叫 8B 吗？"
        ),
        computed=Computed(
            value=n["tied"],
            formula="128256*4096 + 32*(2*4096*(4096 + 1024) + 3*4096*14336 + 2*4096) + 4096",
            unit="个参数",
        ),
        answer=(
            "词嵌入 $VD$ 只计一次；每块是注意力（$W_Q,W_O$ 各 $D^2$，GQA 的 $W_K,W_V$ 各"
            " $D\\times1{,}024$）、SwiGLU 的 $3\\times D\\times14{,}336$ 和两个 RMSNorm 的增益；"
            "最后的 RMSNorm 有 $D$ 个。共享省下 525,336,576 个参数，约占 8B 的 6.5%，"
            "剩下约 75.0 亿：截断到十亿就成了“7B”。词表大了，输出层也就大了，"
            "共享与否不再是小事。"
            "生成器在 meta 设备上让 `llama3_8b()` 的 `lm_head.weight` 指向词嵌入矩阵再计数。"
        ),
        cite="本页“没有偏置，输出层不共享，128K 词表”与“参数量：8B 怎么来的”两节",
    )


def _sliding_window() -> Exercise:
    """滑动窗口的 KV 缓存."""
    return Exercise(
        id="llama-sliding-window",
        kind="代码",
        title="滑动窗口的 KV 缓存",
        question=(
            "8B 的 GQA 把 KV 缓存缩小了 4 倍，但它仍随上下文线性增长。写一个"
            " `SlidingWindowKVCache(n_layers, window)`：每层只保留最近 `window - 1` 个位置的"
            "键和值，新词元只与它们和自己做注意力。逐个词元送进小模型，回答："
            "(a) 缓存还会随序列变长吗？(b) 输出等于什么样的注意力？"
            "(c) 与保留全部缓存的 Llama 从第几个位置起不同？"
        ),
        answer=(
            "(a) 不会：每层最多 `window - 1` 个位置，长度超过窗口后内存不再增长。"
            "(b) 每个位置的输出等于一次前向传播中每个查询只看最近 `window` 个键（含自己）的"
            "带状注意力：GPT-3 稀疏层的局部带状模式，只是这里每一层都是带状的。"
            "键在进缓存之前就已按各自的位置旋转好，新查询按自己的位置旋转，点积仍只取决于"
            "位置之差，所以丢掉旧位置不需要重算任何东西。"
            "(c) 前 `window` 个位置与完整的缓存完全相同，之后就不同了：最早的键和值已被丢掉。"
            "层叠起来之后，更早的信息仍能经过上一层间接传到当前位置"
            "（[GPT 页](gpt.md#稀疏注意力gpt-3-的交替层)讲过两层带状掩码能看多远），"
            "但不再能直接读到。Llama 3 没有这样做，它保留整个上下文，只靠 GQA 缩小缓存。"
        ),
        solution=(
            "reference_impl/exercises/llama.py:sliding-window",
            "reference_impl/exercises/llama.py:banded",
        ),
        test="tests/test_exercises_llama.py::test_sliding_window_cache_equals_banded_attention",
        cite="§3.2（GQA 与键值缓存）；GPT-3 §2.1（局部带状的稀疏注意力）",
    )


def _rope_only_queries_and_keys() -> Exercise:
    """RoPE 为什么只转查询和键."""
    return Exercise(
        id="llama-rope-queries-keys",
        kind="思考",
        title="RoPE 为什么只转查询和键",
        question=(
            "RoPE 只旋转查询和键，不旋转值，输入的词嵌入上也不加任何位置信息。"
            "把一整条序列从位置 0 平移到从位置 777 开始，Llama 的输出会变吗？"
            "GPT-2 呢？"
        ),
        answer=(
            "Llama 不变。位置只通过查询与键的点积起作用，而 $q_m^\\top k_n$ 只取决于"
            " $n-m$（RoFormer 式 (16)；本页的热图里每条与对角线平行的斜线颜色相同）；"
            "整体平移不改变任何位置差，值也不带位置，所以每层的输出都不变。"
            "GPT-2 会变：它把第 $t$ 行可学习的位置嵌入加在词嵌入上，平移后每个词元加的是"
            "另一行，整个残差流都变了；而且它只有 1024 行位置嵌入，平移到 777 之后，"
            "序列长过 247 个词元就没有位置可用了。"
        ),
        cite="RoFormer 式 (14)–(16)；本页的[RoPE 点积图](#fig-llama-rope-relative)",
    )


def _document_mask() -> Exercise:
    """文档掩码什么时候要紧."""
    return Exercise(
        id="llama-document-mask",
        kind="思考",
        title="文档掩码什么时候要紧",
        question=(
            "预训练把多篇文档拼成固定长度的序列，Llama 3 加了文档掩码。论文说它在标准预训练中"
            "影响有限，在很长序列上的继续预训练中却很重要。为什么会有这个差别？"
        ),
        answer=(
            "论文只报告了这个观察，没有展开原因；下面是一种解释。不加文档掩码时，"
            "一个词元也会关注同一序列里排在它前面的、毫不相干的文档。8K 的序列里这样的"
            "文档不多，模型也能学会忽略它们；继续预训练用很长的序列，正是为了让模型学会"
            "利用同一篇长文档里远处的信息，而一条很长的序列可以装下许多无关的文档，"
            "没有掩码，远处的内容多半来自别的文档，模型学到的反而是去忽略远处。"
            "加了掩码，每篇文档只看自己；又因为 RoPE 只看位置之差，一篇文档放在序列的"
            "哪里都得到相同的输出。"
        ),
        cite="§3.2、§3.4.2；本页“文档掩码”一节",
    )


def _beyond_compute_optimal() -> Exercise:
    """为什么 8B 训练得比“计算最优”长."""
    return Exercise(
        id="llama-beyond-compute-optimal",
        kind="思考",
        title="为什么 8B 训练得比“计算最优”长",
        question=(
            "缩放定律给出给定训练计算量下“计算最优”的模型大小和词元数，Llama 3 据此选了 "
            "405B。8B 和 70B 却训练得比计算最优长得多。这不是浪费计算吗？"
        ),
        answer=(
            "计算最优只对**训练**计算量而言：在 IsoFLOPs 曲线上，它是给定训练预算下损失最低的"
            "模型大小（图 2、图 3）。模型训练好之后还要反复推理，推理的开销取决于模型大小，"
            "与训练了多少词元无关。把小模型训练得更久，损失还会继续下降，于是在同样的推理"
            "开销下得到更好的模型（§1）。405B 是旗舰模型，论文按缩放定律外推出的 "
            "402B、16.55T 词元来定它的大小；又因为大预算下 IsoFLOPs 曲线在最低点附近很平，"
            "稍有偏离也无妨。"
        ),
        cite="§1、§3.2.1（图 2、图 3）",
    )
