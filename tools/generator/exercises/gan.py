"""Exercises of the GAN page: answers computed from ``reference_impl/gan.py``."""

from __future__ import annotations

from tools.generator.exercises import Computed, Exercise, n_params


def exercises() -> list[Exercise]:
    """The page's exercises, in page order."""
    n = numbers()
    return [
        _value_at_optimum(n),
        _saturation(n),
        _dcgan_32(n),
        _c2st(),
        _helvetica(),
        _batchnorm_placement(),
        _ring_figure(),
    ]


def numbers() -> dict[str, float]:
    """The computed answers, from the reference code (small tensors, meta device)."""
    import torch

    from reference_impl import gan

    # p_data uniform on {0, 1}, p_g uniform on {1, 2}: V(D*, G) summed over the three points
    p_data = torch.tensor([0.5, 0.5, 0.0], dtype=torch.float64)
    p_g = torch.tensor([0.0, 0.5, 0.5], dtype=torch.float64)
    d_star = gan.optimal_discriminator(p_data, p_g)
    real = torch.where(p_data > 0, p_data * d_star.log(), 0.0).sum()  # E_data[log D*]
    fake = torch.where(p_g > 0, p_g * (1 - d_star).log(), 0.0).sum()  # E_g[log(1 − D*)]
    # gradients of the two generator losses at D(G(z)) = 0.01
    logit = torch.tensor([0.01 / 0.99], dtype=torch.float64).log().requires_grad_(True)
    (minimax,) = torch.autograd.grad(gan.generator_loss_minimax(logit), logit)
    (nonsat,) = torch.autograd.grad(gan.generator_loss_nonsaturating(logit), logit)
    with torch.device("meta"):
        g32 = n_params(gan.DCGANGenerator(gan.DCGANConfig(image_size=32)))
    return {
        "value": (real + fake).item(),
        "ratio": (nonsat / minimax).item(),
        "g32": g32,
    }


def _value_at_optimum(n: dict[str, float]) -> Exercise:
    """最优判别器下的 V."""
    return Exercise(
        id="gan-value-at-optimum",
        kind="计算",
        title="最优判别器下的 V",
        question=(
            "一个离散的例子：$p_\\text{data}$ 在 $\\{0,1\\}$ 上均匀，$p_g$ 在 $\\{1,2\\}$ 上均匀。"
            "按命题 1 写出三个点上的最优判别器 $D^*$，再算 $C(G)=V(D^*,G)$。"
            "用定理 1 验算。两个分布完全重合、完全不重叠时 $C(G)$ 又各是多少？"
        ),
        computed=Computed(
            value=n["value"],
            formula="-2*0.6931471805599453 + 2*(0.5*0.6931471805599453)",
            unit="",
            tolerance=0.001,
            decimals=3,
        ),
        answer=(
            "$D^*=p_\\text{data}/(p_\\text{data}+p_g)$：在 0 处为 1，在 1 处为 1/2，在 2 处为 0。"
            "$V=\\tfrac12\\log1+\\tfrac12\\log\\tfrac12+\\tfrac12\\log\\tfrac12+\\tfrac12\\log1="
            "-\\log2\\approx-0.693$。定理 1：$m$ 在三点上是 $(\\tfrac14,\\tfrac12,\\tfrac14)$，"
            "$\\mathrm{JSD}=\\tfrac12\\log2$，$-\\log4+2\\cdot\\tfrac12\\log2=-\\log2$，一致。"
            "完全重合时 $D^*\\equiv\\tfrac12$，$C=-\\log4\\approx-1.386$，是全局最小值；"
            "完全不重叠时 $\\mathrm{JSD}=\\log2$，$C=0$，而且在不重叠的范围内怎么移动 $p_g$ 都是 0"
            "——生成器拿不到有用的梯度。生成器用 `optimal_discriminator` 在三个点上直接算出 $V$。"
        ),
        cite="§4.1（命题 1、定理 1）；本页“KL 散度与 JS 散度”一节",
    )


def _saturation(n: dict[str, float]) -> Exercise:
    """非饱和损失的梯度大多少."""
    return Exercise(
        id="gan-saturation",
        kind="计算",
        title="非饱和损失的梯度大多少",
        question=(
            "训练初期判别器很自信：对一个生成样本 $D(G(z))=0.01$。写成 logit $\\ell$"
            "（$D=\\sigma(\\ell)$），极小极大损失 $\\log(1-\\sigma(\\ell))$ 和非饱和损失 "
            "$-\\log\\sigma(\\ell)$ 对 $\\ell$ 的梯度各是多少？后者的绝对值是前者的几倍？"
        ),
        computed=Computed(
            value=n["ratio"], formula="0.99/0.01", unit="倍", tolerance=0.01, decimals=1
        ),
        answer=(
            "$\\partial_\\ell\\log(1-\\sigma(\\ell))=-\\sigma(\\ell)=-0.01$，"
            "$\\partial_\\ell(-\\log\\sigma(\\ell))=-(1-\\sigma(\\ell))=-0.99$：两者方向相同"
            "（都让 $\\ell$ 变大），大小差 $(1-D)/D=99$ 倍。$D(G(z))$ 越小（生成器越差），"
            "差距越大；$D(G(z))=1/2$ 时两者相等。这就是论文改用“最大化 $\\log D(G(z))$”的原因："
            "不动点相同，但训练初期的梯度强得多。生成器用 autograd 对参考实现的两个损失函数求导。"
        ),
        cite="§3",
    )


def _dcgan_32(n: dict[str, float]) -> Exercise:
    """32×32 的 DCGAN 生成器."""
    return Exercise(
        id="gan-dcgan-32",
        kind="计算",
        title="32×32 的 DCGAN 生成器",
        question=(
            "把参考实现的 DCGAN 生成器改成输出 $32\\times32$ 的图像"
            "（`DCGANConfig(image_size=32)`，其余不变：100 维噪声、$5\\times5$ 的分数步幅卷积、"
            "最后一层之外每层通道减半、BatchNorm 不用在输出层、卷积不带偏置）。"
            "它有几层上采样，各层通道数是多少，一共多少个参数？"
        ),
        computed=Computed(
            value=n["g32"],
            formula=("100*512*4*4 + 2*512 + 512*256*5*5 + 2*256 + 256*128*5*5 + 2*128 + 128*3*5*5"),
            unit="个参数",
        ),
        answer=(
            "从 $4\\times4$ 到 $32\\times32$ 要上采样 $\\log_2 8=3$ 次，所以“投影并变形”的宽度是 "
            "$128\\cdot2^{3-1}=512$：$4\\times4\\times512\\to8\\times8\\times256\\to16\\times16"
            "\\times128\\to32\\times32\\times3$。投影是 $100\\times(512\\cdot16)$ 的矩阵；每个转置"
            "卷积 $C_\\text{in}C_\\text{out}k^2$；每个 BatchNorm $2C$。约 493 万，是 $64\\times64$ "
            "版本（18,855,040）的四分之一略多：少了最宽的 1024 通道那一级。"
            "生成器在 meta 设备上数了 `DCGANGenerator(DCGANConfig(image_size=32))`。"
        ),
        cite="DCGAN 论文 §3、图 1",
    )


def _c2st() -> Exercise:
    """把判别器当作两样本检验."""
    return Exercise(
        id="gan-c2st",
        kind="代码",
        title="把判别器当作两样本检验",
        question=(
            "用参考实现的 `MaxoutDiscriminator` 和 `discriminator_loss` 写一个分类器两样本检验 "
            "`classifier_two_sample_test(x, y)`：一半数据训练判别器区分 $x$（标签 1）和 $y$"
            "（标签 0），另一半上测准确率，并按二项分布算出 p 值。用二维高斯各 1000 个样本试三种"
            "情况：(a) 同分布；(b) 均值相差 1；(c) 均值相同、标准差 1.5 对 1。"
            "t 检验能发现 (c) 吗？"
        ),
        answer=(
            "(a) 留出准确率约 0.50，p 值远大于 0.05：不能拒绝“同分布”。(b) 准确率约 0.68"
            "（贝叶斯最优约为 $\\Phi(1/2)\\approx0.69$），p 值远小于 0.001。(c) 准确率约 0.61，"
            "同样显著——而两组样本的均值几乎相同，比较均值的 t 检验发现不了。判别器学到的是"
            "两个分布的"
            "差别本身，这正是 GAN 的判别器在做的事；区别在于 GAN 不做一次性的检验，而是反复"
            "重训判别器，把它的梯度交给生成器，让这个检验失效。"
        ),
        solution=("reference_impl/exercises/gan.py:c2st",),
        test="tests/test_exercises_gan.py::test_the_discriminator_tells_distributions_apart",
        cite="本页“两样本检验：判别器就是一个分类器检验”一节（Lopez-Paz & Oquab 2017）",
    )


def _helvetica() -> Exercise:
    """为什么不能只训练生成器."""
    return Exercise(
        id="gan-helvetica",
        kind="思考",
        title="为什么不能只训练生成器",
        question=(
            "论文 §6 说，$G$ 不能在 $D$ 不更新的情况下训练太多，否则会陷入“Helvetica "
            "scenario”。固定 $D$、只优化 $G$，$G$ 会收敛到什么？为什么这是模式崩溃？"
        ),
        answer=(
            "$D$ 固定时，$G$ 的目标只是让每个 $G(z)$ 的 $D(G(z))$ 尽量大，最优解就是把所有 $z$ "
            "都映射到 $D$ 最大的那一点（或那几点），完全不管样本是否多样：这就是 $G$ 把太多 $z$ "
            "坍缩到同一个 $x$、多样性不足以刻画 $p_\\text{data}$ 的情形。只有让 $D$ 跟上、惩罚"
            "扎堆的样本，$G$ 才会被迫铺开。论文把这比作玻尔兹曼机的负相马尔可夫链必须在"
            "每步学习之间保持更新。"
        ),
        cite="§6（Advantages and disadvantages）",
    )


def _batchnorm_placement() -> Exercise:
    """DCGAN 的 BatchNorm 放在哪里."""
    return Exercise(
        id="gan-batchnorm-placement",
        kind="思考",
        title="DCGAN 的 BatchNorm 放在哪里",
        question=(
            "DCGAN 在生成器和判别器中都用 BatchNorm，唯独生成器的输出层和判别器的输入层不用。"
            "论文给出的理由是什么？BatchNorm 对生成器又有什么帮助？"
        ),
        answer=(
            "把 BatchNorm 用在所有层上会导致样本振荡和模型不稳定；去掉生成器输出层和判别器"
            "输入层的 BatchNorm 就避免了这个问题（论文没有再解释原因；这两层正好是直接对着"
            "像素的两层）。BatchNorm 对生成器的帮助是：缓解不良初始化带来的训练问题、"
            "让梯度流过更深的网络，"
            "论文说这对让深的生成器开始学习至关重要，能防止生成器把所有样本坍缩到一点。"
        ),
        cite="DCGAN 论文 §3（Architecture guidelines）",
    )


def _ring_figure() -> Exercise:
    """圆环实验里的“桥”."""
    return Exercise(
        id="gan-ring-figure",
        kind="思考",
        title="圆环实验里的“桥”",
        question=(
            "本页 8 个高斯组成的圆环实验里，训练结束时仍有一些样本落在相邻模式之间的圆弧上。"
            "为什么生成器去不掉这些“桥”？第一行丢掉了一个模式，这和“桥”是同一个问题吗？"
        ),
        answer=(
            "生成器是连续函数，把连通的高斯噪声空间映射出去，像必然是连通的：它只能把“桥”"
            "上的概率压得很小，不能真正把 8 个模式断开。丢模式是另一回事：生成器没有把某个"
            "模式分到足够的 $z$，判别器也没能把它逼回去，这是部分的模式崩溃；换一个随机种子"
            "结果就不同，本身说明了 GAN 训练的不稳定。"
        ),
        cite="本页的[圆环训练图](#fig-gan-ring-training)",
    )
