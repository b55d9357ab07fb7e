"""Exercises of the BERT page: answers computed from ``reference_impl/bert.py``."""

from __future__ import annotations

from tools.generator.exercises import Computed, Exercise, n_params


def exercises() -> list[Exercise]:
    """The page's exercises, in page order."""
    n = numbers()
    return [
        _embedding_params(n),
        _pretraining_heads(n),
        _mlm_count(n),
        _causal_mask(),
        _why_masked(),
        _80_10_10(),
        _nsp(),
    ]


def numbers() -> dict[str, int]:
    """The computed answers, from the reference code (meta device)."""
    import torch

    from reference_impl import bert

    base = bert.BertConfig.base()
    with torch.device("meta"):
        embeddings = n_params(bert.BertEmbeddings(base))
        heads = n_params(bert.bert_base_pretraining()) - n_params(bert.bert_base())
    # the masking function itself, on one 512-token pair: [CLS] A [SEP] B [SEP]
    ids = torch.full((1, 512), 1000)
    ids[0, 0], ids[0, 255], ids[0, 511] = base.cls_id, base.sep_id, base.sep_id
    _, labels = bert.mask_tokens(ids, base, generator=torch.Generator().manual_seed(0))
    chosen = int((labels != bert.IGNORE_INDEX).sum())
    return {"embeddings": embeddings, "heads": heads, "chosen": chosen}


def _embedding_params(n: dict[str, int]) -> Exercise:
    """嵌入层的参数."""
    return Exercise(
        id="bert-embedding-params",
        kind="计算",
        title="嵌入层的参数",
        question=(
            "BERT-base 的输入嵌入：WordPiece 词表 30,522 个词元，最长 512 个位置，两种句子"
            "（A/B），$H=768$，三种嵌入相加后接一个 LayerNorm。嵌入层共有多少个参数？"
            "约占 BERT-base（带 pooler）的几分之一？"
        ),
        computed=Computed(
            value=n["embeddings"], formula="(30522 + 512 + 2)*768 + 2*768", unit="个参数"
        ),
        answer=(
            "三张表都是“行数 × $H$”：词元 30,522 行、位置 512 行、句子 2 行；LayerNorm 有"
            " $2H$。约 2,380 万，超过 BERT-base 1.09 亿参数的五分之一——大词表的代价。"
            "后来的 ALBERT 正是把这张表分解成两个小矩阵来省参数。"
            "生成器在 meta 设备上数了 `BertEmbeddings(BertConfig.base())`。"
        ),
        cite="§3（输入表示）、图 2",
    )


def _pretraining_heads(n: dict[str, int]) -> Exercise:
    """预训练头只多了多少参数."""
    return Exercise(
        id="bert-pretraining-heads",
        kind="计算",
        title="预训练头只多了多少参数",
        question=(
            "在 BERT-base 上加 MLM 头（全连接 $H\\to H$ + GELU + LayerNorm，再映射到 30,522 个"
            "词元）和 NSP 头（$H\\to2$），参数一共多了多少？为什么比一个 $H\\times30{,}522$"
            "的输出矩阵少得多？"
        ),
        computed=Computed(
            value=n["heads"],
            formula="(768*768 + 768) + 2*768 + 30522 + (768*2 + 2)",
            unit="个参数",
        ),
        answer=(
            "MLM 头的变换层 $H^2+H$，LayerNorm $2H$；映射到词表的矩阵与词元嵌入**共享**"
            "（输出层就是嵌入矩阵的转置），只多出每个词元一个偏置；NSP 头是 $2H+2$。"
            "若不共享，还要再多 $30{,}522\\times768$ 约 2,344 万个参数。"
            "生成器算的是 `bert_base_pretraining()` 与 `bert_base()` 参数量之差（meta 设备）。"
        ),
    )


def _mlm_count(n: dict[str, int]) -> Exercise:
    """一个序列里预测几个词."""
    return Exercise(
        id="bert-mlm-count",
        kind="计算",
        title="一个序列里预测几个词",
        question=(
            "一个长 512 的句子对 `[CLS] A [SEP] B [SEP]`（没有填充）。按参考实现的"
            "`mask_tokens`，要预测多少个词元？其中大约多少个会被换成 [MASK]？"
        ),
        computed=Computed(value=n["chosen"], formula="round((512 - 3) * 0.15)", unit="个词元"),
        answer=(
            "特殊词元（[CLS] 和两个 [SEP]）从不被选中，剩下 509 个，选其中 15%，四舍五入。"
            "被选中的词元 80% 换成 [MASK]、10% 换成随机词、10% 不变，所以期望约 61 个"
            "[MASK]。生成器直接调用 `mask_tokens` 处理这样一个序列，数出标签不是 −100 的位置。"
        ),
        cite="§3.1（Task #1）、附录 A.1",
    )


def _causal_mask() -> Exercise:
    """给 BERT 加上因果掩码."""
    return Exercise(
        id="bert-causal-mask",
        kind="代码",
        title="给 BERT 加上因果掩码",
        question=(
            "给 BERT 的自注意力加上 Transformer 解码器那样的因果掩码，写一个"
            "`encode_left_to_right(model, input_ids)`。改变句子的最后一个词元，"
            "前面各位置的输出还会变吗？原本的 BERT 呢？"
        ),
        answer=(
            "加了因果掩码后，位置 $t$ 只看 $0\\ldots t$，改变最后一个词元不影响前面任何位置的"
            "输出（只影响最后一个位置）——这就是 GPT 式的单向编码器。原本的 BERT 没有因果掩码，"
            "每一层都看两边，连第一个位置（[CLS]）的输出都会变：这正是“深度双向”。"
            "因果掩码与填充掩码用逻辑与合在一起，广播到 $(B, 1, T, T)$。"
        ),
        solution=("reference_impl/exercises/bert.py:causal-bert",),
        test="tests/test_exercises_bert.py::test_causal_mask_hides_later_tokens",
        cite="图 3（BERT、OpenAI GPT、ELMo 的对比）",
    )


def _why_masked() -> Exercise:
    """为什么不能直接训练双向语言模型."""
    return Exercise(
        id="bert-why-masked",
        kind="思考",
        title="为什么不能直接训练双向语言模型",
        question="既然双向更好，为什么不直接让每个位置看两边、预测下一个词？",
        answer=(
            "在多层网络里，如果每个位置都能看到两边，一个词就能经由其他位置“间接看到自己”，"
            "预测它变得毫无意义。BERT 改为遮住一部分词、只预测被遮住的词（MLM），"
            "于是编码器不需要任何因果掩码。"
        ),
        cite="§3.1（Task #1: Masked LM）",
    )


def _80_10_10() -> Exercise:
    """80% / 10% / 10%."""
    return Exercise(
        id="bert-80-10-10",
        kind="思考",
        title="80% / 10% / 10%",
        question="被选中的词元为什么不全部换成 [MASK]？",
        answer=(
            "微调时输入中永远不会出现 [MASK]，全部换成 [MASK] 会造成预训练和微调不一致。"
            "混入随机词和原词后，模型不知道哪些位置会被要求预测、哪些被替换过，只能为每个"
            "输入词元都保留好的上下文表示；随机替换只占全部词元的 1.5%，不会破坏模型的语言"
            "能力。附录 C.2 的消融显示微调对比例相当稳健，但全用 [MASK] 在基于特征的 NER 上"
            "明显更差。"
        ),
        cite="§3.1、附录 A.1、附录 C.2（表 8）",
    )


def _nsp() -> Exercise:
    """下一句预测有没有用."""
    return Exercise(
        id="bert-nsp",
        kind="思考",
        title="下一句预测有没有用",
        question="论文的消融实验里，去掉下一句预测（NSP）会怎样？",
        answer=(
            "去掉 NSP 后 QNLI、MNLI 和 SQuAD 1.1 的结果变差（表 5 “No NSP”）；再换成从左到右"
            "的语言模型（“LTR & No NSP”）则所有任务都更差，SQuAD 上尤其明显。"
            "后来的 RoBERTa 发现用更好的数据构造方式去掉 NSP 反而略好，NSP 的价值至今有争议。"
        ),
        cite="§5.1（Effect of Pre-training Tasks）、表 5",
    )
