"""Exercises of the GET3D page: answers computed from ``reference_impl/get3d.py`` on meta."""

from __future__ import annotations

from tools.generator.exercises import Computed, Exercise

TEXTURE_ONLY = ("mapping_tex.", "texture_field.")  # plus every block's `.to_tex.` layer


def texture_only(name: str) -> bool:
    """Whether a parameter of `GET3D` serves the texture alone (the geometry never reads it)."""
    return name.startswith(TEXTURE_ONLY) or ".to_tex." in name


def exercises() -> list[Exercise]:
    """The page's exercises, in page order."""
    n = numbers()
    return [
        _triplane_bytes(n),
        _texture_only_params(n),
        _sdf_regulariser(),
        _rasterisation(),
        _texture_field(),
        _triplane_figure(),
        _two_discriminators(),
    ]


def numbers() -> dict[str, int]:
    """The computed answers, from the reference code (meta device)."""
    import torch

    from reference_impl import get3d

    with torch.device("meta"):
        model = get3d.get3d()
        w = torch.empty(1, model.cfg.w_dim)
        geo, tex = model.triplane(w, w)  # (1, 3, C, H, W) each
        texture = sum(p.numel() for name, p in model.named_parameters() if texture_only(name))
    planes = sum(t.numel() * t.element_size() for t in (geo, tex))
    return {"triplane_bytes": planes, "texture_only": texture}


def _triplane_bytes(n: dict[str, int]) -> Exercise:
    """两组三平面有多大."""
    return Exercise(
        id="get3d-triplane-bytes",
        kind="计算",
        title="两组三平面有多大",
        question=(
            "官方默认尺寸下，GET3D 的生成器为一个形状产生一组几何三平面和一组纹理三平面，"
            "每组是 3 个 $32\\times256\\times256$ 的特征平面（float32）。两组一共多少字节？"
            "若改用同样分辨率、同样通道数的三维特征体，一个就要多少？"
        ),
        computed=Computed(value=n["triplane_bytes"], formula="2*3*32*256*256*4", unit="字节"),
        answer=(
            "每组 $3\\cdot32\\cdot256^2$ 个数，两组、每个 4 字节，共约 50 MB。一个"
            " $32\\times256^3$ 的三维特征体要 $32\\cdot256^3\\cdot4$ 字节，即 2 GiB，"
            "是一组三平面的 $256/3\\approx85$ 倍：三平面的存储是 $3HWC$ 而不是 $DHWC$，"
            "而且能用成熟的二维 StyleGAN 生成器产生。"
            "生成器在 meta 设备上运行 `get3d()` 的三平面生成器，把两组平面的元素数乘以 4 字节。"
        ),
        cite="§3.1（纹理场与三平面）；EG3D（Chan et al., 2022）",
    )


def _texture_only_params(n: dict[str, int]) -> Exercise:
    """有多少参数只管纹理."""
    return Exercise(
        id="get3d-texture-only-params",
        kind="计算",
        title="有多少参数只管纹理",
        question=(
            "参考实现按附录 A.5 的改进版生成器：共享的三平面主干只由 $w_1$ 调制，每一级的"
            " to_tex 层（由 $w_2$ 调制）写入纹理三平面。哪些参数完全不影响几何（SDF、形变、"
            "网格）？按官方默认尺寸（$w$ 512 维、8 层映射网络，三平面 7 级，通道数 4 到 64 级"
            "为 512、128 级 256、256 级 128，每组平面 $3\\times32=96$ 个通道，纹理 MLP 一个"
            " 32 宽的隐藏层），一共多少个？"
        ),
        computed=Computed(
            value=n["texture_only"],
            formula=(
                "8*(512*512 + 512)"
                " + (5*512 + 256 + 128)*(512 + 1 + 96) + 7*96"
                " + (32*32 + 32 + 32*3 + 3)"
            ),
            unit="个参数",
        ),
        answer=(
            "三部分：$z_2$ 的映射网络，8 个 $512\\times512$ 的全连接层（带偏置）；7 个 to_tex 层，"
            "每个是 $1\\times1$ 的调制卷积：仿射层 $A$ 把 $w_2$ 映射成 $C$ 个风格"
            "（$512C+C$），卷积核 $96C$ 加 96 个偏置；纹理场的 MLP，$32\\to32\\to3$。"
            "约 390 万，占生成器 3420 万参数的 11%。其余参数（$z_1$ 的映射网络、共享主干、"
            "to_geo、SDF 与形变 MLP）都影响几何，其中共享主干和 $z_1$ 也影响纹理，所以纹理要与"
            "几何相配。测试用自动求导在小模型上核对：网格顶点对这些参数的梯度恰好为零。"
            "生成器在 meta 设备上按名字把这些参数加起来。"
        ),
        cite="§3.1、附录 A.5（图 C）；本页“共享主干的三平面生成器”一节",
    )


def _sdf_regulariser() -> Exercise:
    """去掉看不见的漂浮面片."""
    return Exercise(
        id="get3d-sdf-regulariser",
        kind="代码",
        title="去掉看不见的漂浮面片",
        question=(
            "参考实现不含训练，写出 §3.2 的 SDF 正则 $\\mathcal L_\\text{reg}$："
            "`sdf_reg_loss(sdf, edges)` 只看 SDF 变号的网格边，对每条边的两端各算一个交叉熵，"
            "让 $\\sigma(s_i)$ 去拟合 $s_j$ 的符号、$\\sigma(s_j)$ 去拟合 $s_i$ 的符号。"
            "在 $8^3$ 网格上放一个孤立的“气泡”（一个顶点的 SDF 为负，其余都为正），"
            "只用这个损失做梯度下降，会发生什么？既然它会抹掉任何表面，为什么不会把真实的形状"
            "也抹掉？"
        ),
        answer=(
            "气泡周围每条变号边的梯度都把负的顶点往正推、把正的邻居往负推；气泡只有一个负顶点，"
            "要把它拉回正值的边却有 14 条，一步梯度下降后它就翻成正的，表面消失"
            "（测试中学习率为 1 时一步即可），损失变为 0。没有变号边的 SDF，损失和梯度都是 0。"
            "对真实的形状，这一项同样想把表面抹掉，但它的权重很小（官方代码 $\\mu=0.01$），"
            "而渲染出来的表面还受到两个判别器的对抗梯度，被保留下来。藏在内部、任何相机都看不见的"
            "面片得不到对抗梯度，只受这一项作用，于是被去掉。"
        ),
        solution=("reference_impl/exercises/get3d.py:sdf-reg",),
        test="tests/test_exercises_get3d.py::test_sdf_reg_removes_an_isolated_bubble",
        cite="§3.2（SDF 正则）",
    )


def _rasterisation() -> Exercise:
    """为什么光栅化网格而不做体渲染."""
    return Exercise(
        id="get3d-rasterisation",
        kind="思考",
        title="为什么光栅化网格而不做体渲染",
        question=(
            "EG3D 这类三维感知 GAN 用体渲染，GET3D 则把显式网格光栅化。"
            "后者为什么能在 $1024\\times1024$ 的图像上训练？还带来了什么好处？"
        ),
        answer=(
            "体渲染要沿每条光线密集采样、在每个样本点查询神经场，分辨率越高越贵，往往只能先在"
            "低分辨率渲染再用二维 CNN 上采样，而后者会损失多视角一致性。光栅化一个显式网格很快，"
            "每个像素只对应一个表面点，纹理场只查询一次，所以能直接在高分辨率上训练。颜色绑定在"
            "表面上，多视角一致性由构造保证；输出本身就是网格，不需要再用移动立方体从神经场里"
            "提取表面，纹理也随之可用。"
        ),
        cite="§1、§2、§3.1、§3.2",
    )


def _texture_field() -> Exercise:
    """为什么生成纹理场而不是纹理贴图."""
    return Exercise(
        id="get3d-texture-field",
        kind="思考",
        title="为什么生成纹理场而不是纹理贴图",
        question=(
            "图形引擎用的是“网格 + UV + 纹理贴图”。GET3D 为什么不直接生成一张贴图，"
            "而是生成一个纹理场 $f_t(p, w_1, w_2)$？纹理场为什么也要读 $w_1$？"
        ),
        answer=(
            "贴图需要先有 UV 展开，而 UV 依赖于网格；网格是生成出来的、拓扑任意，"
            "还没生成时无从展开，展开本身也不可微。纹理场只需要表面点的三维坐标，"
            "对任何拓扑都适用，光栅化后按每个像素的表面点查询即可；要得到贴图，事后用 xatlas"
            " 展开 UV、在每个贴图像素上查询纹理场。纹理要与几何相配（车窗长在车身的窗框处），"
            "所以纹理场同时依赖几何编码 $w_1$。"
        ),
        cite="§3.1（Texture field）；本页“笔记补充”一框",
    )


def _triplane_figure() -> Exercise:
    """三平面上的两个点."""
    return Exercise(
        id="get3d-triplane-figure",
        kind="思考",
        title="三平面上的两个点",
        question=(
            "看本页的三平面图：$F(p)=F_{xy}(x,y)+F_{yz}(y,z)+F_{xz}(x,z)$。两个点"
            " $p=(x,y,z)$ 与 $p'=(x,y,z')$ 的特征有什么关系？三平面能表示任意的三维特征场吗？"
            "GET3D 靠什么弥补？"
        ),
        answer=(
            "两点共享 $F_{xy}(x,y)$，只在 $F_{yz}$、$F_{xz}$ 两项上不同。三个二维函数之和"
            "不能表示任意的三维函数（自由度是 $3HWC$ 而不是 $DHWC$），"
            "这是用内存换来的约束。弥补它的是特征之后的 MLP：非线性的解码让三项之和能表达更复杂"
            "的场；而且纹理场只在表面附近被查询，不必处处精确。"
        ),
        cite="本页的[三平面图](#fig-get3d-triplane)；EG3D（Chan et al., 2022）",
    )


def _two_discriminators() -> Exercise:
    """两个判别器，以及它们需要的数据."""
    return Exercise(
        id="get3d-two-discriminators",
        kind="思考",
        title="两个判别器，以及它们需要的数据",
        question=(
            "GET3D 为什么用一个 RGB 判别器和一个轮廓判别器，而不是一个？"
            "这种训练方式对数据有什么要求，限制了它用在哪里？"
        ),
        answer=(
            "轮廓只由几何决定，单独判别它，几何就直接得到关于形状外轮廓是否真实的信号，"
            "不会被纹理掩盖；作者发现两个判别器分开比合在一起效果好、训练更稳。代价是训练时"
            "要有每张图的二维轮廓（前景掩码），还要知道拍摄时相机的分布，以便为生成的网格采样"
            "相机。因此论文只在合成渲染的数据上评测，并且每个类别单独训练一个模型；"
            "用在相机分布未知、背景复杂的真实照片上还需要实例分割和位姿估计。"
        ),
        cite="§3.2；结论中的局限讨论",
    )
