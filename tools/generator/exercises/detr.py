"""Exercises of the DETR page: answers computed from ``reference_impl/detr.py`` on meta.

Nothing here reads the page's trained toy model: its results vary between CPUs.
"""

from __future__ import annotations

from tools.generator.exercises import Computed, Exercise, n_params


def exercises() -> list[Exercise]:
    """The page's exercises, in page order."""
    n = numbers()
    return [
        _cost_matrix(n),
        _greedy_matcher(),
        _encoder_tokens(n),
        _no_positions(),
        _transformer_params(n),
        _head_params(n),
        _nms(),
        _small_objects(),
    ]


def numbers() -> dict[str, int]:
    """The computed answers, from the reference code (meta device)."""
    import torch

    from reference_impl import detr

    with torch.device("meta"):
        model = detr.detr_r50()
        f = model.backbone(torch.empty(1, 3, 800, 1066))  # (1, C, H, W)
        transformer = n_params(model.encoder) + n_params(model.decoder)
        heads = n_params(model.class_embed) + n_params(model.bbox_embed)
        B, M, cfg = 4, 7, model.config  # 4 images per GPU (§4), 7 objects each (COCO's mean)
        logits = torch.empty(B * cfg.num_queries, cfg.num_classes + 1)
        boxes = torch.empty(B * cfg.num_queries, 4)
        batch = detr.Target(torch.zeros(B * M, dtype=torch.long), torch.empty(B * M, 4))
        cost = detr.matching_cost(logits, boxes, batch, cfg)  # what hungarian_match computes
    return {
        "tokens": f.shape[2] * f.shape[3],
        "transformer": transformer,
        "heads": heads,
        "cost": cost.numel(),
    }


def _cost_matrix(n: dict[str, int]) -> Exercise:
    """一个批量的匹配代价矩阵."""
    return Exercise(
        id="detr-cost-matrix",
        kind="计算",
        title="一个批量的匹配代价矩阵",
        question=(
            "论文训练时每块 GPU 放 4 张图像，$N=100$ 个目标查询；设每张图都有 COCO 平均的"
            " 7 个物体。参考实现的 `hungarian_match` 先用一次 `matching_cost` 算出整个批量的"
            "代价矩阵，再逐张图像求解指派问题。这个矩阵有多少个元素？匈牙利算法实际用到其中多少？"
            "如果对一张图像穷举所有分配，要比较多少种？"
        ),
        computed=Computed(value=n["cost"], formula="(4*7) * (4*100)", unit="个元素"),
        answer=(
            "行是批量中全部 $\\sum M=28$ 个物体，列是全部 $B\\cdot N=400$ 个预测，共 11,200 个；"
            "只有对角线上的 4 块 $7\\times100$ 被用到（2,800 个，四分之一），"
            "因为一张图像的物体只能和这张图像的预测匹配。一次算完再切块，是为了让矩阵运算成批完成。"
            "穷举一张图像要比较 $100!/93!\\approx8.07\\times10^{13}$ 种分配，"
            "匈牙利算法只需 $O(M^2N)$ 步。训练时 6 个解码器层的输出各自匹配一次（辅助解码损失），"
            "每个批量要解 24 次指派问题。"
            "生成器在 meta 设备上用这个批量的形状调用 `matching_cost`，读结果的元素数。"
        ),
        cite="§3.1（式 (1)）、§3.2.5、§4",
    )


def _greedy_matcher() -> Exercise:
    """用贪心匹配代替匈牙利算法."""
    return Exercise(
        id="detr-greedy-matcher",
        kind="代码",
        title="用贪心匹配代替匈牙利算法",
        question=(
            "把式 (1) 的匈牙利算法换成贪心：在代价矩阵中反复取剩下的最便宜的一对"
            "（物体, 预测），划掉它的行和列。写 `greedy_assignment` 和 `greedy_match`，然后回答："
            "(a) 它还是一对一的吗？(b) 它的总匹配代价与匈牙利算法相比如何？"
            "给一个 $2\\times2$ 代价矩阵的例子。(c) 本页匹配图的例子上两者一样吗？"
        ),
        answer=(
            "(a) 是：每次取的一对的行和列都还没被用过，每个物体得到一个不同的预测。"
            "(b) 总代价从不低于匈牙利算法（后者是最优解），有时更高。代价矩阵的两行为"
            " $(0, 1)$ 和 $(1, 10)$ 时，贪心先取代价 0 的一对，"
            "第二个物体只剩代价 10 的预测，总代价 10；最优分配是交叉的两对，总代价 2。"
            "这正是“两个相邻物体争同一个预测”的情形：先到的物体抢走了后一个物体唯一合适的预测。"
            "测试在 500 个随机的 5 个物体、10 个预测的例子上比较：贪心从不更好，"
            "约三分之一的例子更差。"
            "(c) 一样：本页的例子里贪心也得到 T0→P0、T1→P2、T2→P3，总代价 −3.53。"
            "匹配决定了每个预测被监督成哪个物体（或 $\\varnothing$），不是最优的匹配会把物体"
            "分给不合适的预测，训练信号因此更差。"
        ),
        solution=("reference_impl/exercises/detr.py:greedy",),
        test="tests/test_exercises_detr.py::test_greedy_matching_costs_more_than_hungarian",
        cite="§3.1（式 (1)）、§2.1；本页的[匹配图](#fig-detr-matching)",
    )


def _encoder_tokens(n: dict[str, int]) -> Exercise:
    """800×1066 的图像给编码器多少个词元."""
    return Exercise(
        id="detr-encoder-tokens",
        kind="计算",
        title="800×1066 的图像给编码器多少个词元",
        question=(
            "一张 $800\\times1066$ 的图像经过 ResNet-50 骨干网络（总步幅 32），"
            "再经 $1\\times1$ 卷积投影、展平后送进编码器。序列有多少个词元？"
            "每个头的自注意力矩阵有多少个元素？DC5 把最后一个阶段的步幅去掉，"
            "编码器自注意力中随 $(HW)^2$ 增长的那一项变为几倍？"
        ),
        computed=Computed(value=n["tokens"], formula="25 * 34", unit="个词元"),
        answer=(
            "高 $800/32=25$；宽 1066 不是 32 的倍数，每个步幅 2 的层把边长向上取整："
            "1066 → 533 → 267 → 134 → 67 → 34。共 $25\\times34=850$ 个词元，"
            "每个头的注意力矩阵 $850^2=722{,}500$ 个元素。"
            "DC5 的特征图是 $50\\times67=3350$ 个词元，$(3350/850)^2\\approx15.5$，"
            "即论文说的编码器自注意力代价约 16 倍。"
            "生成器在 meta 设备上把 $800\\times1066$ 的输入送进 `detr_r50()` 的骨干网络，"
            "读输出的高和宽。"
        ),
        cite="§3.2.1、§3.2.2、§4（DC5）、§A.3.1",
    )


def _no_positions() -> Exercise:
    """去掉空间位置编码."""
    return Exercise(
        id="detr-no-positions",
        kind="代码",
        title="去掉空间位置编码",
        question=(
            "把加到编码器和交叉注意力键上的正弦位置编码换成零（目标查询保留）。"
            "写一个 `DETRWithoutPositions`，对编码器的输入词元（展平后的 $HW$ 个）回答："
            "(a) 把词元的顺序打乱，编码器的输出怎样变？(b) 最终的 $N$ 个预测怎样变？"
            "带位置编码的原模型呢？(c) 这说明模型还能从哪里知道物体在哪？"
        ),
        answer=(
            "(a) 按同样的方式被打乱：自注意力、FFN 和 LayerNorm 都不看词元的位置，"
            "编码器对输入顺序是置换等变的。(b) 完全不变：交叉注意力的键和值一起被打乱，"
            "加权和与顺序无关，解码器把编码器的输出当作一个集合。"
            "带位置编码时，打乱词元会改变输出。(c) 模型分不清一张特征图和它打乱后的版本，"
            "Transformer 这一部分得知词元位置的唯一途径就是位置编码；没有它，框的坐标只能从"
            "每个词元的内容本身推断。论文表 3 中完全不用空间位置编码时，AP 从 40.6 降到 32.8："
            "还能检测，但损失很大。"
        ),
        solution=("reference_impl/exercises/detr.py:no-positions",),
        test="tests/test_exercises_detr.py::test_without_positions_the_encoder_sees_a_set",
        cite="§3.2.2、§4.2（表 3）",
    )


def _transformer_params(n: dict[str, int]) -> Exercise:
    """编码器和解码器有多少参数."""
    return Exercise(
        id="detr-transformer-params",
        kind="计算",
        title="编码器和解码器有多少参数",
        question=(
            "DETR 的 Transformer：$d=256$，8 个头，FFN 内层宽 2048，编码器 6 层、解码器 6 层，"
            "post-LN；编码器层有自注意力和 FFN，解码器层多一个交叉注意力；"
            "解码器最后还有一个各层共享的 LayerNorm。线性层都带偏置，"
            "注意力的查询、键、值和输出各一个 $d\\times d$ 投影。编码器加解码器共多少个参数？"
        ),
        computed=Computed(
            value=n["transformer"],
            formula=(
                "6*(4*(256*256 + 256) + (256*2048 + 2048) + (2048*256 + 256) + 2*2*256)"
                " + 6*(8*(256*256 + 256) + (256*2048 + 2048) + (2048*256 + 256) + 3*2*256)"
                " + 2*256"
            ),
            unit="个参数",
        ),
        answer=(
            "一个注意力 $4(d^2+d)=263{,}168$，FFN $2\\cdot256\\cdot2048+2048+256=1{,}050{,}880$，"
            "每个 LayerNorm $2d$。编码器层 1,315,072 个，解码器层 1,578,752 个，"
            "6 层加 6 层再加共享的 LayerNorm，共 17,363,456 个。再加 $1\\times1$ 投影"
            "（$2048\\cdot256+256$）、100 个目标查询（$100\\cdot256$）和两个预测头，"
            "就是正文表中骨干网络以外的 18,069,856 个。"
            "生成器在 meta 设备上数了 `detr_r50()` 的 `encoder` 和 `decoder`。"
        ),
        cite="§3.2.2、§3.2.3、§4.1",
    )


def _head_params(n: dict[str, int]) -> Exercise:
    """两个预测头有多少参数."""
    return Exercise(
        id="detr-head-params",
        kind="计算",
        title="两个预测头有多少参数",
        question=(
            "类别头是一个线性层，输出 $K+1=92$ 类（91 个 COCO 类别编号加 $\\varnothing$）；"
            "框头是隐藏宽度 $d=256$ 的 3 层感知机，输出 4 个数。两个预测头共有多少个参数？"
            "训练时每张图像的每次前向传播要用它们给出多少个预测？"
        ),
        computed=Computed(
            value=n["heads"],
            formula="(256*92 + 92) + 2*(256*256 + 256) + (256*4 + 4)",
            unit="个参数",
        ),
        answer=(
            "类别头 $256\\cdot92+92=23{,}644$，框头 $2(256^2+256)+(256\\cdot4+4)=132{,}612$，"
            "共 156,256 个，不到整个模型 41,524,768 个参数的 0.4%。"
            "它们被所有 $N=100$ 个解码器输出共享：每个预测独立地经过同一个头。"
            "训练时辅助解码损失把它们接在 6 个解码器层的每一层之后，参数仍然共享，"
            "每张图像每次前向传播给出 $6\\times100=600$ 个预测，每层各自匹配、各自计算匈牙利损失。"
            "生成器在 meta 设备上数了 `class_embed` 和 `bbox_embed`。"
        ),
        cite="§3.2.4、§3.2.5",
    )


def _nms() -> Exercise:
    """NMS 为什么只对前几层有用."""
    return Exercise(
        id="detr-nms",
        kind="思考",
        title="NMS 为什么只对前几层有用",
        question=(
            "论文图 4 在每个解码器层的输出上评估 AP，并比较加不加 NMS。第一层的输出加 NMS "
            "有帮助，最后几层加 NMS 反而略微降低 AP。为什么？从参考实现的解码器看，"
            "第一层的自注意力为什么还不能让各个预测交换信息？"
        ),
        answer=(
            "集合损失只让一个预测与每个物体匹配，其余落在同一物体上的预测被训练成 $\\varnothing$；"
            "但一个预测要“知道”别的预测已经框住了这个物体，必须经过解码器的自注意力。"
            "第一层的输入全是零（`Decoder.forward` 里的 `torch.zeros_like`），自注意力的值输入"
            "都是零向量，每个预测从自注意力得到的是同一个向量，各个预测在这里还无法交换任何内容，"
            "容易对同一个物体给出多个预测，"
            "NMS 能删掉它们。越往后，自注意力让预测之间互相协调，重复越来越少，"
            "NMS 带来的提高越来越小；到最后几层，NMS 删掉的反而是正确的预测。"
            "所以 DETR 推理时不做 NMS。"
        ),
        cite="§4.2.2、图 4",
    )


def _small_objects() -> Exercise:
    """DETR 为什么在小物体上落后."""
    return Exercise(
        id="detr-small-objects",
        kind="思考",
        title="DETR 为什么在小物体上落后",
        question=(
            "表 1 中 DETR 与加强版 Faster R-CNN 的 AP 都是 42.0，但 DETR 的 AP<sub>L</sub> 高得多、"
            "AP<sub>S</sub> 低得多。两者各是什么原因？"
            "DC5 为什么只部分缓解了小物体的问题，代价是什么？"
        ),
        answer=(
            "大物体：编码器的自注意力是全局的，每个位置都能看到整张图，论文认为这种非局部的"
            "计算让 DETR 在大物体上明显更好（AP<sub>L</sub> 61.1 对 53.4）。"
            "小物体：DETR 只用步幅 32 的一张特征图，没有 FPN 那样的多尺度特征，"
            "而提高分辨率的代价随 $HW$ 平方增长（AP<sub>S</sub> 20.5 对 26.6）。"
            "DC5 让特征分辨率翻倍，AP<sub>S</sub> 升到 22.5，仍明显低于 Faster R-CNN；"
            "编码器自注意力的代价约为 16 倍，总计算量从 86 到 187 GFLOPS，速度从 28 降到 12 FPS。"
            "论文预期后续工作会像 FPN 之于 Faster R-CNN 那样改进小物体。"
        ),
        cite="§4、§4.1 表 1、§5",
    )
