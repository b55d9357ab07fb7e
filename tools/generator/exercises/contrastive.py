"""Exercises of the contrastive page: answers computed from ``reference_impl/contrastive.py``."""

from __future__ import annotations

from tools.generator.exercises import Computed, Exercise, count_macs


def exercises() -> list[Exercise]:
    """The page's exercises, in page order."""
    n = numbers()
    return [
        _oldest_key(n),
        _queue_macs(n),
        _nt_xent_is_info_nce(),
        _temperature(),
        _crop_and_color(),
        _projection_head(),
        _moco_curve(),
    ]


def _oldest_key_weight(K: int, B: int, m: float) -> tuple[int, float]:
    """Steps a batch of keys stays in MoCo's queue, and the weight left of θ_k after them.

    A small MoCo with MoCo v2's queue length runs the real ``enqueue`` and ``momentum_update``:
    the first batch of keys is marked and counted until the queue drops it; θ_q is held at 0 and
    θ_k starts at 1, so after the same number of updates θ_k is the weight the old key encoder
    still has in the new one.
    """
    import torch

    from reference_impl import contrastive

    cfg = contrastive.ContrastiveConfig.tiny()
    model = contrastive.moco(cfg, queue_size=K, proj_dim=4, momentum=m)
    with torch.no_grad():
        for p in model.encoder_q.parameters():
            p.zero_()
        for p in model.encoder_k.parameters():
            p.fill_(1.0)
        model.enqueue(torch.full((B, 4), 7.0))  # the batch whose age we follow
        steps = 0
        while bool((model.queue == 7.0).any()):
            model.momentum_update()  # one training step later …
            model.enqueue(torch.zeros(B, 4))  # … its keys enter, the oldest batch leaves
            steps += 1
    weight = float(next(model.encoder_k.parameters()).flatten()[0])
    return steps, weight


def numbers() -> dict[str, float]:
    """The computed answers, from the reference code."""
    import torch

    from reference_impl import contrastive

    steps, weight = _oldest_key_weight(K=65536, B=256, m=0.999)
    # MoCo v2's queue (K = 65536 keys of 128 dims), batch 256; a small encoder stands in for
    # ResNet-50: the negatives' cost does not depend on it (both encoders' MACs are subtracted)
    cfg = contrastive.ContrastiveConfig.tiny()
    with torch.device("meta"):
        model = contrastive.moco(cfg, queue_size=65536, proj_dim=128)
        x = torch.empty(256, 3, 32, 32)
        queue_macs = count_macs(model, x, x) - 2 * count_macs(model.encoder_q, x)
    return {"steps": steps, "weight": weight, "queue_macs": queue_macs}


def _oldest_key(n: dict[str, float]) -> Exercise:
    """队列里最老的键有多“旧”."""
    return Exercise(
        id="contrastive-oldest-key",
        kind="计算",
        title="队列里最老的键有多“旧”",
        question=(
            "MoCo 的默认设置：队列长 $K=65536$，批量大小 256，动量 $m=0.999$。"
            "每个训练迭代先用当前的键编码器算出本批的键，再按式 (2) 更新 $\\theta_k$，"
            "最后把这批键入队。队列中最老的一批键是多少次更新之前的键编码器算出的？"
            "把 $\\theta_k$ 看成历次参数的加权和，那时的 $\\theta_k$ 在现在的 $\\theta_k$ 中"
            "还占多大权重？"
        ),
        computed=Computed(
            value=n["weight"], formula="0.999**(65536 // 256)", tolerance=0.0005, decimals=3
        ),
        answer=(
            "每步入队 256 个键，$65536/256=256$ 步后这批键才出队，所以最老的负样本来自 256 次"
            "更新之前。每次更新把旧参数乘以 $m$，256 次后还剩 $m^{256}$：现在的键编码器有"
            "四分之三以上仍是当时的参数，新老键来自相近的编码器，字典是“一致”的。"
            "若 $m=0.9$，只剩 $0.9^{256}\\approx 2\\times10^{-12}$，队列里的键出自几乎无关的"
            "编码器。论文的动量消融用的是 $K=4096$（16 步）：$0.999^{16}\\approx0.984$，"
            "$0.9^{16}\\approx0.185$，对应精度 59.0% 与 55.2%，$m=0$ 则训练不收敛。"
            "生成器用一个小 MoCo 实际运行 `enqueue` 和 `momentum_update`：数出一批键在队列里"
            "待了 256 步，并让 $\\theta_q=0$、$\\theta_k$ 从 1 开始，"
            "读出 256 次更新后的 $\\theta_k$。"
        ),
        cite="MoCo §3.2（式 (2)）、§4.1（Ablation: momentum）",
    )


def _queue_macs(n: dict[str, float]) -> Exercise:
    """65536 个负样本要多少计算."""
    return Exercise(
        id="contrastive-queue-macs",
        kind="计算",
        title="65536 个负样本要多少计算",
        question=(
            "MoCo v2 一个迭代：批量大小 256，每个查询与队列中 $K=65536$ 个 128 维的键做点积。"
            "这些负样本点积一共多少次乘加（MACs）？ResNet-50 在 $224\\times224$ 上前向传播一张"
            "图约 41 亿次乘加，比一比。"
        ),
        computed=Computed(value=n["queue_macs"], formula="256*65536*128", unit="MACs"),
        answer=(
            "$q$ 与队列的乘积是一个 $(256\\times128)\\cdot(128\\times65536)$ 的矩阵乘，"
            "即 $256\\cdot65536\\cdot128$ 次乘加，约 21 亿，相当于 ResNet-50 前向传播"
            "半张图。而这一步两个编码器要处理 512 张图（查询和键各 256 张）。"
            "所以 MoCo 的 65536 个负样本几乎是免费的：它们是以前算好的键，不需要再过编码器，"
            "也不反传梯度。SimCLR 要得到每个视图 8190 个负样本，则要让 8192 个视图"
            "都带梯度地过一遍编码器——这就是它需要批量大小 4096 和 TPU 的原因。"
            "生成器用 `FlopCounterMode` 在 meta 设备上数了 MoCo 一次前向传播的乘加数，"
            "减去两个编码器各自的乘加数（编码器换成小的也不影响这个差）。"
        ),
        cite="MoCo §3.2（Dictionary as a queue）、图 2；SimCLR §2.2",
    )


def _nt_xent_is_info_nce() -> Exercise:
    """NT-Xent 就是换了负样本的 InfoNCE."""
    return Exercise(
        id="contrastive-nt-xent-is-info-nce",
        kind="代码",
        title="NT-Xent 就是换了负样本的 InfoNCE",
        question=(
            "本页说 SimCLR 和 MoCo 的目标函数几乎相同，区别只在负样本从哪里来。用参考实现的"
            " `info_nce_loss` 写一个 `nt_xent_via_info_nce(z1, z2, tau)`：对 $2N$ 个视图逐个"
            "调用 InfoNCE，查询是这个视图，正样本是它的另一个视图，负样本是批量中其余的视图。"
            "结果与 `nt_xent_loss` 相同吗？每个查询有多少个负样本？"
        ),
        answer=(
            "完全相同（测试在随机的投影上比较两者，误差只有浮点舍入）。每个视图的负样本是"
            "除了自己和正样本以外的 $2(N-1)$ 个视图，所以每次是一个 $(2N-1)$ 类的 softmax 分类；"
            "`nt_xent_loss` 把这 $2N$ 次分类写成一个 $2N\\times2N$ 的相似度矩阵，"
            "对角线置为 $-\\infty$（自己不是负样本），一次交叉熵算完。"
            "MoCo 的 InfoNCE 则是所有查询共用同一个字典（队列）。"
        ),
        solution=("reference_impl/exercises/contrastive.py:nt-xent-as-info-nce",),
        test="tests/test_exercises_contrastive.py::test_nt_xent_is_info_nce_with_in_batch_negatives",
        cite="SimCLR 式 (1)、MoCo 式 (1)",
    )


def _temperature() -> Exercise:
    """温度决定梯度推开哪些负样本."""
    return Exercise(
        id="contrastive-temperature",
        kind="代码",
        title="温度决定梯度推开哪些负样本",
        question=(
            "写一个 `negative_weights(q, k_pos, k_neg, tau)`，用自动求导返回 InfoNCE 损失对每个"
            "负样本相似度 $q\\cdot k_i$ 的梯度。一个查询有三个负样本，余弦相似度分别是 0.5、"
            "0.3、0（正样本 0.6）。$\\tau=1$、0.2、0.07 时，最难的负样本（0.5）分到全部负样本"
            "梯度的几成？"
        ),
        answer=(
            "梯度是 $p_i/\\tau$（$p_i$ 是这个负样本的 softmax 概率），它们之间的比例就是"
            " $e^{s_i/\\tau}$ 的比例，与正样本无关：$\\tau=1$ 时最难的负样本只占 41%，"
            "$\\tau=0.2$（MoCo v2）时 69%，$\\tau=0.07$（MoCo v1）时 94%。"
            "温度越低，梯度越集中在与查询最像的几个负样本上，模型被迫去区分最难分辨的图像；"
            "温度太高则所有负样本一视同仁。这就是 $\\tau$ 需要调的原因"
            "（SimCLR 表 5 做了消融）。"
        ),
        solution=("reference_impl/exercises/contrastive.py:negative-weights",),
        test="tests/test_exercises_contrastive.py::test_low_temperature_focuses_on_the_hardest_negative",
        cite="SimCLR §5.1、表 5；MoCo 式 (1)",
    )


def _crop_and_color() -> Exercise:
    """只用随机裁剪为什么不够."""
    return Exercise(
        id="contrastive-crop-and-color",
        kind="思考",
        title="只用随机裁剪为什么不够",
        question=(
            "SimCLR 发现随机裁剪和颜色失真的组合最关键。只用随机裁剪，模型会找到什么捷径？"
            "为什么对比学习比有监督学习更需要强的颜色增强？"
        ),
        answer=(
            "同一张图的不同裁剪块颜色直方图几乎相同（图 6），只看颜色分布就能认出“同一张图”，"
            "模型学会比较直方图就够了，学不到语义特征。加上强颜色失真，这条捷径被堵死，"
            "模型只能依靠不随颜色改变的内容。有监督学习的任务由标签定义，颜色失真对它只是噪声，"
            "更强的颜色失真反而降低有监督模型的精度；对比学习的任务本身由增强定义，"
            "更强的颜色失真让任务更难、特征更好（表 1）。"
        ),
        cite="SimCLR §3（图 5、图 6、表 1）；本页的[增强视图图](#fig-contrastive-views)",
    )


def _projection_head() -> Exercise:
    """为什么下游任务用 h 而不是 z."""
    return Exercise(
        id="contrastive-projection-head",
        kind="思考",
        title="为什么下游任务用 h 而不是 z",
        question=(
            "SimCLR 在 $z=g(h)$ 上算对比损失，训练完却扔掉投影头 $g$，下游任务用 $h$。为什么？"
        ),
        answer=(
            "对比损失要求 $z$ 对数据增强保持不变，于是 $z$ 会丢掉颜色、朝向这类随增强变化的信息，"
            "而这些信息对下游任务可能有用。有了非线性的 $g$，信息可以只在 $z$ 中被丢弃、仍保留"
            "在 $h$ 中：表 3 里从 $h$ 能预测出施加了哪种变换，从 $g(h)$ 则难得多。"
            "图 8：非线性投影头比线性投影高 3%，比不加投影高 10% 以上；即使用了非线性投影头，"
            "$h$ 的线性评估也比 $z$ 高 10% 以上。"
        ),
        cite="SimCLR §4.2（图 8、表 3）",
    )


def _moco_curve() -> Exercise:
    """MoCo 曲线开头的“假象”."""
    return Exercise(
        id="contrastive-moco-curve",
        kind="思考",
        title="MoCo 曲线开头的“假象”",
        question=(
            "看本页“在 CPU 上并排训练”的图：MoCo 最初几步的准确率接近 1、损失很低，"
            "第 8 步之后突然变差。这是学得快吗？为什么恰好是第 8 步？"
        ),
        answer=(
            "不是。队列一开始装的是随机单位向量，而刚初始化的编码器把所有图像映射到几乎同一个"
            "方向：真实的正样本键与查询很相似，随机向量则不相似，任务太容易。演示中队列长 256、"
            "每步入队 32 个键，$256/32=8$ 步后队列里全是真实图像的键，负样本与查询一样彼此相似，"
            "任务立刻变难，损失跳到接近随机猜测的 $\\ln 257$，然后才开始真正的学习。"
        ),
        cite="本页的[训练对比图](#fig-contrastive-training)；MoCo §3.2（队列）",
    )
