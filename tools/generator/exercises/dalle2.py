"""Exercises of the DALL·E 2 page: answers computed from ``reference_impl/dalle2.py`` on meta."""

from __future__ import annotations

from typing import Any

from tools.generator.exercises import Computed, Exercise, n_params


def exercises() -> list[Exercise]:
    """The page's exercises, in page order."""
    n = numbers()
    return [
        _clip_conditioning(n),
        _attention_keys(n),
        _slerp(),
        _why_prior(),
        _which_prior(),
        _diversity(),
        _noise_schedules(),
        _attribute_binding(),
    ]


def attention_shapes() -> set[tuple[int, int]]:
    """(queries, keys) of every attention call in one forward pass of the paper's decoder.

    A ``TorchFunctionMode`` sees each ``F.scaled_dot_product_attention`` call of the 64×64
    decoder (GLIDE's text encoder and the U-Net) on the meta device and records the lengths.
    """
    import torch
    import torch.nn.functional as F
    from torch.overrides import TorchFunctionMode

    from reference_impl import dalle2

    class Lengths(TorchFunctionMode):
        def __init__(self) -> None:
            super().__init__()
            self.seen: set[tuple[int, int]] = set()

        def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None):
            if func is F.scaled_dot_product_attention:
                self.seen.add((args[0].shape[-2], args[1].shape[-2]))  # q (…, L, d), k (…, S, d)
            return func(*args, **(kwargs or {}))

    with torch.device("meta"):
        decoder = dalle2.unclip_decoder()
        cfg = decoder.cfg
        x_t = torch.empty(1, cfg.in_channels, cfg.image_size, cfg.image_size)
        t = torch.zeros(1, dtype=torch.long)
        tokens = torch.zeros(1, cfg.text_ctx, dtype=torch.long)
        with Lengths() as lengths:
            decoder(x_t, t, torch.empty(1, cfg.clip_dim), tokens)
    return lengths.seen


def numbers() -> dict[str, int]:
    """The computed answers, from the reference code (meta device)."""
    import torch

    from reference_impl import dalle2

    with torch.device("meta"):
        decoder = dalle2.unclip_decoder()
        clip_paths = n_params(decoder.clip_emb_proj) + n_params(decoder.clip_tokens_proj)
    keys = dict(attention_shapes())  # queries → keys
    return {"clip_paths": clip_paths, "keys_8x8": keys[8 * 8]}


def _clip_conditioning(n: dict[str, int]) -> Exercise:
    """把 CLIP 嵌入接进 GLIDE 要多少参数."""
    return Exercise(
        id="dalle2-clip-conditioning",
        kind="计算",
        title="把 CLIP 嵌入接进 GLIDE 要多少参数",
        question=(
            "unCLIP 的解码器在 GLIDE 上做了两处改动：把 1024 维的 CLIP 图像嵌入 $z_i$ 投影后"
            "加到时间步嵌入上（时间步嵌入宽 $4\\times512=2048$），再把 $z_i$ 投影成 4 个额外的"
            "上下文词元（每个宽 2048，与 GLIDE 文本编码器的输出同宽）。两个投影都是带偏置的"
            "线性层。它们一共有多少参数？占 35.65 亿的解码器多大比例？"
        ),
        computed=Computed(
            value=n["clip_paths"],
            formula="(1024*2048 + 2048) + (1024*4*2048 + 4*2048)",
            unit="个参数",
        ),
        answer=(
            "加到时间步嵌入的投影是 $1024\\times2048$ 加 2048 个偏置；变成 4 个词元的投影"
            "输出 $4\\times2048=8192$ 维，是 $1024\\times8192$ 加 8192 个偏置。合计约 1050 万，"
            "只占解码器的 0.3%：把 GLIDE 变成“CLIP 图像编码器的逆”几乎不增加参数。"
            "两条通路作用不同：时间步嵌入经 AdaGN 缩放、平移每个残差块的特征；4 个词元则进入"
            "每个注意力层的键和值，让像素去“读”它们。"
            "生成器在 meta 设备上数了 `unclip_decoder()` 的 `clip_emb_proj` 和 `clip_tokens_proj`。"
        ),
        cite="§2.1",
    )


def _attention_keys(n: dict[str, int]) -> Exercise:
    """8×8 处的注意力看到多少个键."""
    return Exercise(
        id="dalle2-attention-keys",
        kind="计算",
        title="8×8 处的注意力看到多少个键",
        question=(
            "解码器 U-Net 在 $32\\times32$、$16\\times16$、$8\\times8$ 三级做注意力，每个注意力层"
            "的键和值除了像素，还拼上 GLIDE 文本编码器输出的 256 个词元和 $z_i$ 投影出的 4 个词元。"
            "$8\\times8$ 那一级，每个像素查询看到多少个键？其中几成来自文字和 CLIP？"
        ),
        computed=Computed(value=n["keys_8x8"], formula="8*8 + 256 + 4", unit="个键"),
        answer=(
            "64 个像素，加 256 个文本词元和 4 个 CLIP 词元。在 $8\\times8$ 这一级，八成的键"
            "（$260/324$）来自条件；在 $32\\times32$ 那一级是 $1024+260=1284$ 个键，条件只占两成。"
            "生成器用一个 `TorchFunctionMode` 在 meta 设备上跑一次解码器的前向传播，记下每次"
            " `scaled_dot_product_attention` 调用中查询和键的长度，取查询长为 64 的那一次。"
        ),
        cite="§2.1；GLIDE（Nichol et al., 2022）的文本条件结构",
    )


def _slerp() -> Exercise:
    """在 CLIP 隐空间里插值和改图."""
    return Exercise(
        id="dalle2-slerp",
        kind="代码",
        title="在 CLIP 隐空间里插值和改图",
        question=(
            "§3 的图像操作都在 CLIP 嵌入上做：两张图之间插值用球面插值"
            " $\\mathrm{slerp}(z_{i_1}, z_{i_2}, \\theta)$；文本差分把 $z_i$ 向"
            " $z_d=\\mathrm{norm}(z_t-z_{t_0})$ 旋转。写出 `slerp` 和 `text_diff`，然后回答："
            "(a) 直线插值 $(1-\\theta)z_1+\\theta z_2$ 有什么问题？两个夹角 90° 的单位向量在"
            " $\\theta=0.5$ 处，直线插值和 slerp 的长度各是多少？"
            "(b) 文本差分中，$z_\\theta$ 与 $z_i$ 的夹角怎样随 $\\theta$ 变化？"
        ),
        answer=(
            "(a) 直线插值离开了单位球：中点的长度是 $\\cos45^\\circ\\approx0.707$，而 slerp 沿"
            "大圆走，始终是单位长度。CLIP 嵌入都经过 L2 归一化，解码器只见过单位长度的 $z_i$"
            "（参考实现采样时也先把先验的输出归一化），长度变了就是把它带到训练分布之外。"
            "(b) slerp 把夹角均匀地分配：$z_\\theta$ 与 $z_i$ 的夹角是 $\\theta\\Omega$，"
            "与 $z_d$ 的夹角是 $(1-\\theta)\\Omega$（$\\Omega$ 是两者的夹角）。$\\theta$ 越大，"
            "编辑越强；论文让 $\\theta$ 从 0 线性增大到一个通常在 0.25–0.50 之间的最大值。"
        ),
        solution=("reference_impl/exercises/dalle2.py:slerp",),
        test="tests/test_exercises_dalle2.py::test_slerp_stays_on_the_sphere",
        cite="§3.2（Interpolations）、§3.3（Text Diffs）、图 4、图 5",
    )


def _why_prior() -> Exercise:
    """为什么需要先验."""
    return Exercise(
        id="dalle2-why-prior",
        kind="思考",
        title="为什么需要先验",
        question=(
            "CLIP 的文本嵌入 $z_t$ 和图像嵌入 $z_i$ 在同一个空间里。为什么不把 $z_t$ 直接当"
            " $z_i$ 送进解码器，而要训练一个先验？论文怎样验证先验的必要性？"
        ),
        answer=(
            "对比学习只要求匹配的图文对比不匹配的更相似，并不要求 $z_t$ 与 $z_i$ 重合；"
            "一句话对应无数张图，$z_t$ 并不落在这些图的 $z_i$ 所在的位置。§5.1 用同一个解码器"
            "比较了只给标题、把 $z_t$ 当作 $z_i$、用先验生成的 $z_i$ 三种条件（图 8）：只给标题"
            "最差，$z_t$ 零样本也能出合理的结果，用先验最好。在小模型上的定量比较中，"
            "以 $z_t$ 为条件训练的解码器 FID 9.16，完整的 unCLIP（先验 + 解码器）7.99，"
            "把 $z_t$ 零样本喂给 unCLIP 的解码器 16.55。"
        ),
        cite="§5.1（Importance of the Prior）、图 8",
    )


def _which_prior() -> Exercise:
    """扩散先验与自回归先验，哪个更好."""
    return Exercise(
        id="dalle2-which-prior",
        kind="思考",
        title="扩散先验与自回归先验，哪个更好",
        question=(
            "引言说扩散先验与自回归先验“效果相当”，而计算更省。论文的实验结论也是这样吗？"
            "用了哪些数字？"
        ),
        answer=(
            "不完全是：实验结论是扩散先验**更好**。§5.1 末段说，在模型规模相当、训练计算更少"
            "的条件下，所有比较（§5.2、§5.4、§5.5）中扩散先验都胜过自回归先验。"
            "表 1 与 GLIDE 两两比较的人工评测中，用扩散先验的 unCLIP 在三项上胜率都更高："
            "照片真实感 48.9% 对 47.1%，标题吻合度 45.3% 对 41.1%，多样性 70.5% 对 62.6%；"
            "表 2 的 MS-COCO 零样本 FID 为 10.39 对 10.63。只有引言（§1）那句话说两者相当。"
        ),
        cite="§1、§5.1 末段、表 1、表 2",
    )


def _diversity() -> Exercise:
    """加大引导强度，为什么 unCLIP 的样本不会趋同."""
    return Exercise(
        id="dalle2-diversity",
        kind="思考",
        title="加大引导强度，为什么 unCLIP 的样本不会趋同",
        question=(
            "加大无分类器引导的强度，GLIDE 的样本越来越像（视角、颜色、大小趋同），"
            "unCLIP 的却保持多样。为什么？"
        ),
        answer=(
            "unCLIP 的语义信息（画面里有什么、什么风格）已经“冻结”在先验采出的 $z_i$ 里，"
            "多样性来自先验对 $z_i$ 的采样；引导只作用在解码器上，它提升的是真实感（光照、"
            "阴影），不会让 $z_i$ 所决定的内容收缩到同一种。GLIDE 的语义和细节都由同一个"
            "引导过的扩散过程决定，引导越强，越集中到“最像标题”的少数模式上。"
            "图 9 固定先验采出的 $z_i$、只改解码器的引导强度：内容不变，质量提高；"
            "图 11 中引导对 unCLIP 的 FID 的损害也远小于对 GLIDE 的。"
        ),
        cite="§5.3、图 9、图 11",
    )


def _noise_schedules() -> Exercise:
    """线性调度的后半程."""
    return Exercise(
        id="dalle2-noise-schedules",
        kind="思考",
        title="线性调度的后半程",
        question=(
            "看本页的噪声调度图：线性调度的 $\\bar\\alpha_t$ 在哪一段已经几乎为零？"
            "这对 64×64 的解码器意味着什么？余弦调度改变了什么？"
        ),
        answer=(
            "线性调度的 $\\bar\\alpha_t$ 下降得快，后半程 $\\bar\\alpha_t$ 已接近 0：$x_t$ 几乎"
            "是纯噪声，这一段的步数对学习和采样贡献很小，低分辨率图像尤其如此。"
            "参考实现的 `GaussianDiffusion(1000)` 中，线性调度有 327 步的 $\\bar\\alpha_t$ 小于"
            " 0.01，余弦调度只有 65 步。余弦调度让"
            " $\\bar\\alpha_t$ 在中段近似线性地下降、两端变化缓慢，信息被更均匀地破坏，"
            "对数信噪比在中间大段近似线性变化。GLIDE 和 unCLIP 的 64×64 模型因此沿用余弦调度"
            "（Nichol & Dhariwal, 2021）。"
        ),
        cite="本页的[噪声调度图](#fig-dalle2-noise-schedules)；Nichol & Dhariwal（2021）§3.2",
    )


def _attribute_binding() -> Exercise:
    """“红色立方体在蓝色立方体上面”."""
    return Exercise(
        id="dalle2-attribute-binding",
        kind="思考",
        title="“红色立方体在蓝色立方体上面”",
        question=(
            "unCLIP 比 GLIDE 更常把“红色立方体放在蓝色立方体上面”画错颜色。为什么？"
            "保留下来的 GLIDE 文本通路为什么没能补上？"
        ),
        answer=(
            "解码器主要依赖 CLIP 图像嵌入，而 CLIP 的对比目标并不要求嵌入显式地记住哪个属性"
            "属于哪个物体：一个向量里有“红”“蓝”“立方体”，却不一定有它们之间的绑定关系；"
            "图 15 中解码器从这类图像的嵌入重建出的图就常把颜色和物体搞混。"
            "作者保留 GLIDE 的文本通路，本想让它补上 CLIP 没有捕捉到的语言信息（例如属性"
            "绑定），但发现帮助很小。"
        ),
        cite="§2.1、§7（Limitations and Risks）、图 14、图 15",
    )
