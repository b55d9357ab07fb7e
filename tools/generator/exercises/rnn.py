"""Exercises of the RNN page: answers computed from ``reference_impl/rnn.py``."""

from __future__ import annotations

from tools.generator.exercises import Computed, Exercise, n_params


def exercises() -> list[Exercise]:
    """The page's exercises, in page order."""
    n = numbers()
    return [
        _bidirectional_params(n),
        _spectral_radius(n),
        _forget_gate_product(n),
        _gru_cell(),
        _learning_rate(),
        _why_gates(),
        _recall_figure(),
    ]


def numbers() -> dict[str, float]:
    """The computed answers, from the reference code (meta device, or tiny float64 runs)."""
    import torch

    from reference_impl import rnn

    with torch.device("meta"):
        bidirectional = n_params(rnn.LSTM(300, 512, num_layers=2, bidirectional=True))
    # PyTorch's default initialisation of an Elman cell with 512 units, seed 0
    torch.manual_seed(0)
    w_hh = rnn.RNNCell(1, 512).weight_hh.detach().double()
    radius = torch.linalg.eigvals(w_hh).abs().max().item()
    # one LSTM unit whose forget gate is held at sigma(5): zero weights, forget-gate bias 5
    cell = rnn.LSTMCell(1, 1).double()
    with torch.no_grad():
        for p in cell.parameters():
            p.zero_()
        cell.bias_ih[1] = 5.0  # rows i, f, g, o: row 1 is the forget gate
    c0 = torch.ones(1, 1, dtype=torch.float64, requires_grad=True)
    h, c, x = torch.zeros(1, 1, dtype=torch.float64), c0, torch.zeros(1, 1, dtype=torch.float64)
    for _ in range(150):
        h, c = cell(x, h, c)
    c.sum().backward()  # ∂c_150 / ∂c_0 along the only path there is: the cell state
    return {"bidirectional": bidirectional, "radius": radius, "carried": c0.grad.item()}


def _bidirectional_params(n: dict[str, float]) -> Exercise:
    """两层双向 LSTM 的参数."""
    return Exercise(
        id="rnn-bidirectional-params",
        kind="计算",
        title="两层双向 LSTM 的参数",
        question=(
            "一个两层、双向的 LSTM（`LSTM(300, 512, num_layers=2, bidirectional=True)`）："
            "输入是 300 维的词向量，每层每个方向 $H=512$ 个单元，两套偏置（与 `torch.nn.LSTM` "
            "相同）。它一共有多少个参数？提示：第二层读的是什么？"
        ),
        computed=Computed(
            value=n["bidirectional"],
            formula="2*(4*512*(300 + 512) + 8*512) + 2*(4*512*(2*512 + 512) + 8*512)",
            unit="个参数",
        ),
        answer=(
            "一个方向的 LSTM 层有 4 组门，每组一个 $H\\times C$ 的输入权重、一个 $H\\times H$ 的"
            "循环权重和两个偏置：$4H(C+H)+8H$。双向就是两套互不相连的参数，所以每层乘 2。"
            "第一层 $C=300$；第二层读的是第一层两个方向拼接后的输出，$C=2H=1024$，"
            "所以第二层的参数约是第一层的 1.9 倍。生成器在 meta 设备上数了参考实现的 `LSTM`，"
            "它与 `torch.nn.LSTM` 的参数同名同形（测试逐一比较过）。"
        ),
        cite="本页“双向 RNN”与“单元与层”两节",
    )


def _spectral_radius(n: dict[str, float]) -> Exercise:
    """默认初始化下 W_hh 的谱半径."""
    return Exercise(
        id="rnn-spectral-radius",
        kind="计算",
        title="默认初始化下 W_hh 的谱半径",
        question=(
            "PyTorch 把 Elman RNN 的 $W_{hh}$（$H\\times H$）的每个元素独立地取自 "
            "$U(-1/\\sqrt{H},\\,1/\\sqrt{H})$。按随机矩阵的圆律（$n\\times n$ 的独立同分布矩阵、"
            "元素方差 $\\sigma^2$ 时，特征值大致均匀地落在半径 $\\sigma\\sqrt{n}$ 的圆盘内），"
            "估计 $H=512$ 时 $W_{hh}$ 的谱半径（特征值模的最大值）。它对梯度消失意味着什么？"
        ),
        computed=Computed(
            value=n["radius"], formula="(1/3)**0.5", unit="", tolerance=0.02, decimals=2
        ),
        answer=(
            "$U(-a,a)$ 的方差是 $a^2/3$，这里 $a^2=1/H$，所以 $\\sigma\\sqrt{H}=\\sqrt{1/3}"
            "\\approx0.577$，与 $H$ 无关。生成器按参考实现的初始化（种子 0）建了一个 512 单元的 "
            "`RNNCell`，用 `torch.linalg.eigvals` 算出的谱半径约 0.58（有限大小的矩阵略大于 "
            "0.577）。误差每往回传一步都要乘一次 $\\operatorname{diag}(\\tanh')\\,W_{hh}$，"
            "$|\\tanh'|\\le1$，于是长程来看误差每步至多保留约 0.58 倍：50 步后约 $10^{-12}$，"
            "与本页梯度图中 Elman RNN 的曲线一致。"
        ),
        cite="本页“误差怎样沿时间反向传播”一节与[梯度衰减图](#fig-rnn-gradient-decay)",
    )


def _forget_gate_product(n: dict[str, float]) -> Exercise:
    """遗忘门几乎全开时能传多远."""
    return Exercise(
        id="rnn-forget-gate-product",
        kind="计算",
        title="遗忘门几乎全开时能传多远",
        question=(
            "只看细胞状态这条路径，"
            "$\\partial c_T/\\partial c_t = \\prod_k \\operatorname{diag}(f_k)$。"
            "设一个 LSTM 单元的遗忘门预激活恒为 5（权重全为 0、遗忘门偏置为 5），"
            "150 步之后 $\\partial c_{150}/\\partial c_0$ 是多少？遗忘门偏置为 0 时呢？"
        ),
        computed=Computed(
            value=n["carried"],
            formula="(1/(1 + 2.718281828459045**-5))**150",
            unit="",
            tolerance=0.001,
            decimals=3,
        ),
        answer=(
            "$f=\\sigma(5)\\approx0.9933$ 每步都一样，150 步连乘得"
            " $\\sigma(5)^{150}\\approx0.365$：信号还剩三分之一多。偏置为 0 时"
            " $f=\\sigma(0)=1/2$，$2^{-150}\\approx7\\times10^{-46}$，"
            "等于什么都没传过来——默认初始化的 LSTM 并不自动免疫梯度消失。"
            "生成器用 `LSTMCell` 在 float64 下真的跑了 150 步，再用 autograd 求 "
            "$\\partial c_{150}/\\partial c_0$。"
        ),
        cite="本页“今天通用的 LSTM”一节与[梯度衰减图](#fig-rnn-gradient-decay)",
    )


def _gru_cell() -> Exercise:
    """写一个 GRU 单元."""
    return Exercise(
        id="rnn-gru-cell",
        kind="代码",
        title="写一个 GRU 单元",
        question=(
            "按本页 GRU 的公式（Cho et al. 2014）仿照 `LSTMCell` 写一个 `GRUCell`：三组门的权重"
            "按 $r$、$z$、候选值的顺序堆在一个矩阵里，带两套偏置。回答：(a) 它的参数量是同样"
            "大小的 `LSTMCell` 的几分之几？(b) 把更新门的偏置设成很大的正数，隐状态会怎样？"
            "把它设成 5，50 步后 $\\partial h_T/\\partial h_0$ 与 Elman RNN 比如何？"
        ),
        answer=(
            "(a) 3/4：三组门对四组门，$3H(C+H)+6H$ 对 $4H(C+H)+8H$。"
            "(b) 更新门 $z_t\\to1$ 时 $h_t = h_{t-1}$：不论输入是什么，隐状态原样保留——"
            "这正是 LSTM 遗忘门全开、输入门全关的情形，一个门同时管“保留多少”和“写入多少”。"
            "偏置为 5 时 $z\\approx0.993$，50 步后梯度范数仍有 0.1 以上（测试里约 0.7）；"
            "同样条件下默认初始化的 Elman RNN 只剩 $10^{-12}$ 量级。"
        ),
        solution=("reference_impl/exercises/rnn.py:gru-cell",),
        test="tests/test_exercises_rnn.py::test_an_open_update_gate_carries_the_gradient",
        cite="本页“GRU 与其他变体”一节；Cho et al. (2014) §2.3",
    )


def _learning_rate() -> Exercise:
    """调大学习率或初始权重有用吗."""
    return Exercise(
        id="rnn-learning-rate",
        kind="思考",
        title="调大学习率或初始权重有用吗",
        question=(
            "既然长程依赖的梯度太小，调大学习率、或者用更大的初始权重，能不能让 RNN 学会"
            "长程依赖？LSTM 论文怎么回答？"
        ),
        answer=(
            "都不行。调大学习率同时放大长程和短程的误差信号，不改变两者的比例：短程信号"
            "仍然淹没长程信号，BPTT 仍然对最近的干扰过于敏感。加大权重也没用：以 logistic "
            "单元为例，权重的绝对值趋于无穷时，激活函数的导数比权重增长得更快地趋于 0，"
            "乘积反而变小；而且有些权重还得改变符号、穿过 0。"
        ),
        cite="Hochreiter & Schmidhuber (1997) §3.1（对式 (2) 的直观解释）",
    )


def _why_gates() -> Exercise:
    """有了常数误差传送带，为什么还要门."""
    return Exercise(
        id="rnn-why-gates",
        kind="思考",
        title="有了常数误差传送带，为什么还要门",
        question=(
            "一个自连接权重固定为 1 的线性单元（常数误差传送带）已经能让误差无损地往回传。"
            "为什么 LSTM 还要在它的入口和出口各加一个乘性的门？"
        ),
        answer=(
            "因为同一个权重要做两件互相冲突的事。输入端：同一个输入权重既要在该存的时候"
            "把输入写进去，又要在其他时候挡住无关的输入、保护已存的内容（输入权重冲突）。"
            "输出端：同一个输出权重既要在需要时读出内容，又要在其他时候不让它干扰别的单元"
            "（输出权重冲突）。输入门和输出门按上下文决定何时写、何时读；间隔越长，"
            "需要保护的时间越久，冲突越严重。"
        ),
        cite="Hochreiter & Schmidhuber (1997) §3.2、§4（“Why gate units?”）",
    )


def _recall_figure() -> Exercise:
    """长间隔记忆实验里谁学不会."""
    return Exercise(
        id="rnn-recall-figure",
        kind="思考",
        title="长间隔记忆实验里谁学不会",
        question=(
            "本页的长间隔记忆实验里，Elman RNN 和遗忘门偏置为 0 的 LSTM 的损失停在 $\\ln 4$。"
            "为什么是 $\\ln 4$？结合梯度衰减图，解释它们为什么学不会、而 $b_f=5$ 的 LSTM 和 "
            "1997 年的 LSTM 学得会。"
        ),
        answer=(
            "答案是 4 个符号之一，瞎猜时每个给 1/4 的概率，交叉熵就是 $\\ln 4$：网络只学到了"
            "“四个答案一样多”。第 1 步输入对最后一步输出的梯度在 50 步后只剩 $10^{-12}$ 量级"
            "（梯度衰减图），学习信号几乎为零，又因为噪声和信号共用通道，网络无法靠把输入权重"
            "压成 0 来绕开噪声。遗忘门常开（$b_f=5$）或干脆没有遗忘门时，细胞状态把第 1 步"
            "的影响几乎无损地带到最后，学习信号从一开始就在。"
        ),
        cite=(
            "本页的[长间隔记忆实验图](#fig-rnn-delay-recall)与[梯度衰减图](#fig-rnn-gradient-decay)"
        ),
    )
