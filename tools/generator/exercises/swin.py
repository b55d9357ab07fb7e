"""Exercises of the Swin page: answers computed from ``reference_impl/swin.py`` on meta."""

from __future__ import annotations

from tools.generator.exercises import Computed, Exercise, count_macs, n_params


def exercises() -> list[Exercise]:
    """The page's exercises, in page order."""
    n = numbers()
    return [
        _windows(n),
        _stage3_macs(n),
        _bias_table(n),
        _patch_merging(n),
        _unmasked_shift(),
        _shift_ablation(),
        _relative_bias(),
    ]


def numbers() -> dict[str, float]:
    """The computed answers, from the reference code (meta device)."""
    import torch

    from reference_impl import swin

    with torch.device("meta"):
        model = swin.swin_t()
        windows: dict[int, int] = {}  # stage → windows the first W-MSA block attends in
        hooks = [
            stage.blocks[0].w_msa.attn.register_forward_hook(
                lambda mod, args, out, i=i: windows.__setitem__(i, args[0].shape[0])
            )
            for i, stage in enumerate(model.stages)
        ]
        model(torch.empty(1, 3, 224, 224))  # one image: the batch of windows is nW
        for hook in hooks:
            hook.remove()
        attentions = [m for m in model.modules() if isinstance(m, swin.WindowAttention)]
        bias = sum(m.relative_position_bias_table.numel() for m in attentions)
        merging = sum(n_params(s.downsample) for s in model.stages if s.downsample is not None)
        # stage 3 of Swin-T at 224²: 14×14 tokens, C = 384, 12 heads; one window = global MSA
        global_msa = count_macs(swin.WindowAttention(384, 12, 14), torch.empty(1, 14 * 14, 384))
        w_msa = count_macs(swin.WindowAttention(384, 12, 7), torch.empty(4, 7 * 7, 384))
    return {
        "windows": sum(windows.values()),
        "stage3_ratio": global_msa / w_msa,
        "bias": bias,
        "merging": merging,
    }


def _windows(n: dict[str, float]) -> Exercise:
    """四个阶段各有多少个窗口."""
    return Exercise(
        id="swin-windows",
        kind="计算",
        title="四个阶段各有多少个窗口",
        question=(
            "Swin-T 的输入是 $224\\times224$，窗口 $M=7$。四个阶段的特征图各切成多少个 "
            "$7\\times7$ 窗口？一张图像在四个阶段的 W-MSA 块里一共有多少个窗口？"
            "第一阶段的 SW-MSA 块若把边上的小窗口补零补齐（不用循环移位），要算多少个窗口？"
        ),
        computed=Computed(
            value=n["windows"],
            formula="(56 // 7)**2 + (28 // 7)**2 + (14 // 7)**2 + (7 // 7)**2",
            unit="个窗口",
        ),
        answer=(
            "四个阶段的特征图边长是 $224/4=56$、28、14、7，窗口数 $(h/M)^2$ 依次为 64、16、4、1。"
            "每个窗口始终是 49 个词元，阶段越深窗口越少，到第四阶段一个窗口就盖住整张图"
            "（所以那里不移位）。第一阶段移位后窗口变成 $(8+1)\\times(8+1)=81$ 个，"
            "补零的做法要算 81 个窗口；循环移位之后仍是 64 个，和规则划分一样多。"
            "生成器在 meta 设备上运行 `swin_t()`，用钩子读每个阶段第一个块的注意力收到的窗口批量。"
        ),
        cite="§3.2、图 2、图 4",
    )


def _stage3_macs(n: dict[str, float]) -> Exercise:
    """第三阶段的全局注意力贵多少."""
    return Exercise(
        id="swin-stage3-macs",
        kind="计算",
        title="第三阶段的全局注意力贵多少",
        question=(
            "正文算过：Swin-T 第一阶段（$h=w=56$，$C=96$）一层全局 MSA 的乘加数约是 W-MSA 的"
            " 13.8 倍。换到第三阶段（$224\\times224$ 输入，$h=w=14$，$C=384$，$M=7$），"
            "按式 (1)、(2)，全局 MSA 是 W-MSA 的几倍？为什么差距小了这么多？"
        ),
        computed=Computed(
            value=n["stage3_ratio"],
            formula="(4*196*384**2 + 2*196**2*384) / (4*196*384**2 + 2*7**2*196*384)",
            unit="倍",
            tolerance=0.005,
        ),
        answer=(
            "两式的比是 $(4C+2hw)/(4C+2M^2)$：第一阶段 $(384+6272)/(384+98)\\approx13.8$，"
            "第三阶段 $(1536+392)/(1536+98)\\approx1.18$。第三阶段只有 196 个词元，"
            "宽度却是 384，投影项 $4hwC^2$ 占了大头，注意力矩阵那一项本来就小；"
            "窗口注意力省下的正是第二项，所以省得主要在词元多、宽度小的前两个阶段，"
            "以及大图像（检测、分割）上。第四阶段只有一个窗口，两者相同。"
            "生成器用 `FlopCounterMode` 在 meta 设备上数了 `WindowAttention(384, 12, 14)`"
            "（一个窗口就是全局注意力）和 4 个 $7\\times7$ 窗口的 `WindowAttention(384, 12, 7)`。"
        ),
        cite="§3.2 式 (1)、(2)；本页的[复杂度图](#fig-swin-cost)",
    )


def _bias_table(n: dict[str, float]) -> Exercise:
    """Swin-T 的相对位置偏置共有多少参数."""
    return Exercise(
        id="swin-bias-table",
        kind="计算",
        title="Swin-T 的相对位置偏置共有多少参数",
        question=(
            "每个 Swin 块的每个头有一张 $(2M-1)\\times(2M-1)$ 的相对位置偏置表 $\\hat B$。"
            "Swin-T（$M=7$，块数 2、2、6、2，头数 3、6、12、24）所有块的偏置表共有多少个参数？"
            "如果每个头直接学一个 $M^2\\times M^2$ 的 $B$ 呢？"
        ),
        computed=Computed(
            value=n["bias"],
            formula="(2*7 - 1)**2 * (2*3 + 2*6 + 6*12 + 2*24)",
            unit="个参数",
        ),
        answer=(
            "每个头 $13^2=169$ 个，全网共 $2\\cdot3+2\\cdot6+6\\cdot12+2\\cdot24=138$ 个头，"
            "合计 23,322 个，不到 Swin-T 28,288,354 个参数的 0.1%。直接学 $B$ 每个头要"
            " $49^2=2401$ 个，是 14.2 倍，而且同一相对位置的词元对各有各的偏置，"
            "失去了“只取决于相对位置”这一平移不变的归纳偏置。"
            "生成器在 meta 设备上把 `swin_t()` 里所有 `relative_position_bias_table` 的元素数相加。"
        ),
        cite="§3.2 式 (4)",
    )


def _patch_merging(n: dict[str, float]) -> Exercise:
    """三次图块合并有多少参数."""
    return Exercise(
        id="swin-patch-merging",
        kind="计算",
        title="三次图块合并有多少参数",
        question=(
            "Swin-T 在第二、三、四阶段开头各做一次图块合并，输入宽度 $C$ 依次为 96、192、384："
            "拼接 $2\\times2$ 个词元成 $4C$ 维，LayerNorm，再用无偏置的线性层映射到 $2C$。"
            "三次图块合并共有多少个参数？"
        ),
        computed=Computed(
            value=n["merging"],
            formula="8*(96**2 + 192**2 + 384**2) + 8*(96 + 192 + 384)",
            unit="个参数",
        ),
        answer=(
            "每次：LayerNorm($4C$) 的 $8C$ 加线性层 $4C\\times2C=8C^2$。三次合计 1,553,664 个，"
            "其中最后一次（$C=384$）就有 1,182,720 个：宽度每阶段翻倍，参数按平方增长。"
            "它的作用和 CNN 里步幅 2、通道加倍的下采样一样：词元数减为四分之一，宽度加倍。"
            "生成器在 meta 设备上数了 `swin_t()` 各阶段的 `downsample`。"
        ),
        cite="§3.1、图 3(a)",
    )


def _unmasked_shift() -> Exercise:
    """去掉移位窗口的掩码."""
    return Exercise(
        id="swin-unmasked-shift",
        kind="代码",
        title="去掉移位窗口的掩码",
        question=(
            "把 SW-MSA 块里的掩码去掉（循环移位和反向移位照做）。写一个 `UnmaskedSwinBlock`，"
            "然后回答：(a) 改变特征图左上角的词元，哪里的输出会跟着变？带掩码的块呢？"
            "(b) 把输入按整窗口循环平移，输出怎样变？(c) Swin-T 第一阶段"
            "（$56\\times56$，$M=7$，移位 3）的 64 个窗口里，有几个会把不相邻的块拼在一起？"
        ),
        answer=(
            "(a) 右下角的输出也会变：循环移位把上边和左边滚到了下边和右边，没有掩码时它们在"
            "同一个窗口里互相注意，图像的左上角和右下角成了邻居。带掩码的块里两者属于不同的块，"
            "右下角的输出不变。(b) 输出同样平移：不加掩码的 SW-MSA 就是在滚动后的图上做 W-MSA，"
            "把特征图当成首尾相接的环面，对整窗口的循环平移等变；带掩码的块不满足，"
            "因为掩码固定了图像的边界（正文“测试保证了什么”）。"
            "(c) 15 个：最后一行 8 个窗口和最后一列 8 个窗口，右下角的窗口算了两次。"
            "这些窗口占 $15/64$，不加掩码就会在这些位置混入图像对边的内容。"
        ),
        solution=("reference_impl/exercises/swin.py:unmasked",),
        test="tests/test_exercises_swin.py::test_without_the_mask_opposite_borders_mix",
        cite="§3.2、图 4；本页的[掩码图](#fig-swin-mask)",
    )


def _shift_ablation() -> Exercise:
    """不移位时窗口之间怎样交换信息."""
    return Exercise(
        id="swin-shift-ablation",
        kind="思考",
        title="不移位时窗口之间怎样交换信息",
        question=(
            "表 4 中，每个阶段都只用规则窗口（不移位）时，Swin-T 的 top-1 低 1.1 个百分点，"
            "框 AP 却低 2.8、mIoU 低 2.8。不移位时，窗口之间的信息还能靠什么交换？"
            "为什么移位对检测和分割更重要？"
        ),
        answer=(
            "只能靠图块合并：不移位时同一阶段里每个词元只看得到自己的窗口，合并后下一阶段的一个"
            "窗口正好盖住上一阶段的 $2\\times2$ 个窗口，网格的边界一直对齐。按像素算，四个阶段的"
            "窗口是 28、56、112、224 像素见方的固定网格。$224\\times224$ 的分类图像到第四阶段"
            "只剩一个窗口，全局平均池化之前已经混合了整张图，这可以解释分类受的影响较小；"
            "检测和分割的图像大得多，"
            "前几个阶段的高分辨率特征图又直接用于密集预测，窗口边界两侧的词元始终互不相见。"
            "移位窗口让每对相继的块跨过窗口边界，把相邻窗口连起来（图 2）。"
        ),
        cite="§3.2 图 2、§4.4 表 4；本页的[移位窗口图](#fig-swin-windows)",
    )


def _relative_bias() -> Exercise:
    """为什么相对位置偏置比绝对位置编码好."""
    return Exercise(
        id="swin-relative-bias",
        kind="思考",
        title="为什么相对位置偏置比绝对位置编码好",
        question=(
            "表 4 中，ViT 式的绝对位置编码比不用位置编码的 top-1 高 0.4 个百分点，"
            "在 COCO 和 ADE20K 上却更差；相对位置偏置在三个任务上都是最好的"
            "（top-1 与“绝对 + 相对”并列）。怎么解释？"
        ),
        answer=(
            "相对位置偏置只取决于两个词元的相对位置，同一对词元平移到图上任何地方，偏置都一样，"
            "这是一种平移不变性的归纳偏置。检测和分割要在图上任何位置认出同样的物体，"
            "正需要这种性质；绝对位置编码把特征和位置绑在一起，分类时略有帮助，"
            "检测时框 AP 从 49.2 降到 49.0，分割时 mIoU 从 43.8 降到 43.2。"
            "相对位置偏置的框 AP 50.5、mIoU 46.1，比绝对位置编码高 1.5 和 2.9。"
            "论文据此认为，鼓励一定平移不变性对通用视觉骨干，特别是密集预测仍然有益。"
        ),
        cite="§3.2 式 (4)、§4.4 表 4",
    )
