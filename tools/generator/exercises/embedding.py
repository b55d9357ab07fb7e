"""Exercises of the embedding page: answers computed from ``reference_impl/embedding.py``."""

from __future__ import annotations

from tools.generator.exercises import Computed, Exercise


def exercises() -> list[Exercise]:
    """The page's exercises, in page order."""
    n = numbers()
    return [
        _initial_loss(n),
        _subsampling(n),
        _noise(n),
        _cbow(),
        _why_subsample(),
        _neg_versus_nce(),
        _two_tables(),
    ]


def numbers() -> dict[str, float]:
    """The computed answers, from the reference code (tiny tensors)."""
    import torch

    from reference_impl import embedding

    cfg = embedding.Word2VecConfig.tiny(vocab_size=50)
    model = embedding.SkipGramNegativeSampling(cfg)  # v' starts at zero, as in the word2vec tool
    with torch.no_grad():
        loss = model(torch.tensor([3]), torch.tensor([7]), torch.arange(15)[None]).item()  # k = 15
    counts = torch.tensor([1.0, 99.0], dtype=torch.float64)  # word 0 is 1% of the corpus
    discard = 1 - embedding.keep_probabilities(counts, t=1e-5)[0].item()
    noise = embedding.noise_distribution(torch.tensor([900.0, 100.0], dtype=torch.float64))
    return {"loss": loss, "discard": discard, "rare_noise": noise[1].item()}


def _initial_loss(n: dict[str, float]) -> Exercise:
    """训练开始时的损失."""
    return Exercise(
        id="embedding-initial-loss",
        kind="计算",
        title="训练开始时的损失",
        question=(
            "参考实现按 word2vec 工具的做法初始化：输入向量 $v$ 在 $\\pm0.5/D$ 内均匀分布，"
            "输出向量 $v'$ 全为 0。取 $k=15$ 个噪声词（论文表 1 的 NEG-15），训练开始时每个"
            "（中心词，上下文词）对的负采样损失（式 (4) 取负）是多少？"
        ),
        computed=Computed(
            value=n["loss"],
            formula="16*0.6931471805599453",
            unit="",
            tolerance=0.001,
            decimals=2,
        ),
        answer=(
            "$v'=0$ 时所有内积都是 0，$\\sigma(0)=1/2$：真实词一项是 $-\\log\\sigma(0)=\\ln2$，"
            "15 个噪声词各是 $-\\log\\sigma(-0)=\\ln2$，合计 $(k+1)\\ln2=16\\ln2$。"
            "与 $v$ 怎么初始化无关，也与词表大小无关——换成完整的 softmax，初始损失是 $\\ln V$。"
            "生成器用 `SkipGramNegativeSampling` 对一个词对和 15 个噪声词算了一次损失。"
        ),
        cite="§2.2、式 (4)；本页“结构”一节",
    )


def _subsampling(n: dict[str, float]) -> Exercise:
    """一个高频词被丢掉的概率."""
    return Exercise(
        id="embedding-subsampling",
        kind="计算",
        title="一个高频词被丢掉的概率",
        question=(
            "按式 (5)，阈值 $t=10^{-5}$ 时，一个占语料 1% 的词（比如“的”）每次出现被丢掉的"
            "概率是多少？一个频率为 $10^{-6}$ 的罕见词呢？"
        ),
        computed=Computed(
            value=n["discard"],
            formula="1 - (0.00001/0.01)**0.5",
            unit="",
            tolerance=0.001,
            decimals=3,
        ),
        answer=(
            "$1-\\sqrt{t/f} = 1-\\sqrt{10^{-3}}\\approx0.968$：十次出现里约有九次多被丢掉，"
            "只留约 3%。频率低于 $t$ 的词 $\\sqrt{t/f}>1$，丢弃概率按 0 算，全部保留"
            "（参考实现的 `keep_probabilities` 把保留概率截到 1）。词频越高丢得越多，"
            "但词频的先后次序不变。生成器用 `keep_probabilities` 在一个两词的词频表上算出。"
        ),
        cite="§2.3、式 (5)",
    )


def _noise(n: dict[str, float]) -> Exercise:
    """3/4 次方让罕见词多被抽到多少."""
    return Exercise(
        id="embedding-noise",
        kind="计算",
        title="3/4 次方让罕见词多被抽到多少",
        question=(
            "语料里只有两个词，分别出现 900 次和 100 次。按 $P_n(w)=U(w)^{3/4}/Z$，"
            "负采样时抽到罕见的那个词的概率是多少？直接按词频（指数 1）抽呢？"
        ),
        computed=Computed(
            value=n["rare_noise"],
            formula="100**0.75/(900**0.75 + 100**0.75)",
            unit="",
            tolerance=0.001,
            decimals=3,
        ),
        answer=(
            "$100^{3/4}\\approx31.6$，$900^{3/4}\\approx164.3$，罕见词的概率约 0.161；"
            "按词频是 0.1，按均匀分布是 0.5。3/4 次方介于两者之间：压低高频词、抬高低频词"
            "被当作噪声词的机会。论文试过几种选择，这个分布在每个任务上都明显好于一元词频"
            "和均匀分布。生成器用 `noise_distribution` 算出。"
        ),
        cite="§2.2",
    )


def _cbow() -> Exercise:
    """写一个 CBOW."""
    return Exercise(
        id="embedding-cbow",
        kind="代码",
        title="写一个 CBOW",
        question=(
            "仿照 `SkipGramNegativeSampling` 写一个 CBOW 模型：把窗口内上下文词的输入向量取"
            "平均，用负采样损失预测中心词；再写一个 `cbow_windows(ids, window)` 为一句话的"
            "每个词做一个样本。回答：(a) 打乱上下文词的顺序，损失变不变？(b) 训练开始时的"
            "损失是多少？(c) 窗口为 1 时，一句 $n$ 个词的话 CBOW 做几次预测，skip-gram 做几次？"
        ),
        answer=(
            "(a) 不变：平均与顺序无关，这就是“词袋”的含义。(b) 与 skip-gram 一样是 "
            "$(k+1)\\ln2$：$v'$ 全为 0 时所有内积都是 0。(c) CBOW 每个中心词一次，共 $n$ 次；"
            "skip-gram 为每个（中心词，上下文词）对各做一次，共 $2(n-1)$ 次——这就是 CBOW "
            "训练更快的原因。代价是一个窗口只给出一个学习信号；在第一篇的类比测试中，"
            "skip-gram 在语义类题目上明显更好（表 3）。"
        ),
        solution=("reference_impl/exercises/embedding.py:cbow",),
        test="tests/test_exercises_embedding.py::test_cbow_ignores_the_order_of_the_context",
        cite="word2vec 第一篇（arXiv:1301.3781）§3.1、表 3",
    )


def _why_subsample() -> Exercise:
    """丢掉数据为什么反而更好."""
    return Exercise(
        id="embedding-why-subsample",
        kind="思考",
        title="丢掉数据为什么反而更好",
        question=(
            "高频词子采样把语料里大部分的“的”“了”丢掉了。为什么这样训练反而更快、"
            "罕见词的向量还更好？"
        ),
        answer=(
            "高频词提供的信息少：模型从“France”和“Paris”的共现中学到很多，从“France”和“the”"
            "的共现中学到很少，因为几乎每个词都与“the”共现。而且高频词的向量在见过几百万个"
            "样本后已经几乎不变，再训练只是浪费计算。丢掉它们后，训练的词对少了很多（更快），"
            "更新更多地落在罕见词的有用共现上。"
        ),
        cite="§2.3、§3",
    )


def _neg_versus_nce() -> Exercise:
    """负采样与噪声对比估计."""
    return Exercise(
        id="embedding-neg-versus-nce",
        kind="思考",
        title="负采样与噪声对比估计",
        question=(
            "负采样是噪声对比估计（NCE）的简化版。它丢掉了什么？为什么对 word2vec 来说可以丢？"
        ),
        answer=(
            "NCE 既需要噪声分布的样本，也需要它的概率值，因而能近似地最大化 softmax 的对数"
            "似然；负采样只需要样本，它的最优解不再是真实的条件概率。word2vec 只关心学到"
            "高质量的词向量，不关心语言模型的似然本身，所以这点简化无伤大雅，而式 (4) 更简单、"
            "更快。Levy & Goldberg (2014) 后来证明，负采样的最优解满足 "
            "$v_w^\\top v'_c=\\mathrm{PMI}(w,c)-\\log k$。"
        ),
        cite="§2.2；本页“为什么学出来的向量有意义”一节",
    )


def _two_tables() -> Exercise:
    """为什么每个词要两个向量."""
    return Exercise(
        id="embedding-two-tables",
        kind="思考",
        title="为什么每个词要两个向量",
        question=(
            "skip-gram 给每个词两个向量：作中心词时的 $v_w$，作上下文词时的 $v'_w$。"
            "如果只用一张表（$v'_w=v_w$），式 (2) 会出什么问题？训练完为什么只留下 $v$？"
        ),
        answer=(
            "只用一张表时，一个词对它自己的分数是 $v_w^\\top v_w=\\lVert v_w\\rVert^2>0$，"
            "而且对向量长的词很大：模型会倾向于预测“词的上下文里有它自己”，而一个词很少"
            "出现在自己的窗口里。两张表让“作为中心词”和“作为被预测的上下文词”两个角色"
            "各有各的向量，分数可以不对称。$v$ 就是我们要的词向量；$v'$ 只在训练时用来打分，"
            "论文尺寸的模型里它占了一半参数，训练完就丢掉（GloVe 则把两套向量相加使用）。"
        ),
        cite="式 (2)；本页“结构”一节",
    )
