"""Figures for the Swin page: regular and shifted windows, the mask after the cyclic shift, cost.

The first two are drawn from the tensors a ``SwinBlock`` of the reference module computes: a
forward pre-hook on its attention records the windows it is given (each token carrying its own
original row and column, so one sees where the cyclic shift took it) and the mask. The third plots
Eq. (1)–(2) and checks them against ``FlopCounterMode`` on the meta device.
"""

from __future__ import annotations

import torch
from matplotlib.figure import Figure
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from reference_impl.swin import SwinBlock, SwinConfig
from tools.generator.figures import style

DEPENDS = ("reference_impl/swin.py",)

SIDE, M = 8, 4  # Fig. 2 of the paper: an 8×8 map, 4×4 windows, shift 2
COLOURS = ("#90caf9", "#ffcc80", "#a5d6a7", "#ce93d8", "#f48fb1", "#80deea", "#fff59d")


def block_tensors() -> tuple[torch.Tensor, torch.Tensor]:
    """Run one SW-MSA block and record what its attention receives.

    Returns:
        The original (row, column) of every token in each batched window, (nW, M², 2) long, and
        the mask, (nW, M², M²) bool (True: blocked).
    """
    block = SwinBlock(2, 1, M, M // 2, mlp_ratio=1, eps=1e-5).eval()
    block.norm1 = nn.Identity()  # let the coordinates through unchanged
    seen = {}
    block.attn.register_forward_pre_hook(
        lambda _m, args: seen.update(windows=args[0], mask=args[1])
    )
    rows, cols = torch.meshgrid(torch.arange(SIDE), torch.arange(SIDE), indexing="ij")
    coords = torch.stack([rows, cols], dim=-1).float()[None]  # (1, H, W, 2)
    with torch.no_grad():
        block(coords)
    return seen["windows"].round().long(), seen["mask"]


def shifted_id(r: int, c: int, s: int = M // 2) -> int:
    """The window of the shifted partition that holds (r, c): windows start at s, s + M, …"""
    n = SIDE // M + 1
    return ((r + M - s) // M) * n + (c + M - s) // M


def _rgb(hex_colour: str) -> tuple[float, float, float]:
    return tuple(int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5))


def _cells(ax, colours: list[list[str]]) -> None:
    """A grid of coloured cells as one small raster image, with white lines between cells."""
    n_rows, n_cols = len(colours), len(colours[0])
    ax.imshow([[_rgb(c) for c in row] for row in colours], extent=(0, n_cols, n_rows, 0),
              interpolation="nearest")  # fmt: skip
    for k in range(1, n_rows):
        ax.axhline(k, color="white", lw=0.6)
    for k in range(1, n_cols):
        ax.axvline(k, color="white", lw=0.6)
    ax.set_xlim(0, n_cols)
    ax.set_ylim(n_rows, 0)


def _grid(ax, colour_of, title: str, lines_at: list[int], label=None) -> None:
    _cells(ax, [[colour_of(r, c) for c in range(SIDE)] for r in range(SIDE)])
    if label:
        for r in range(SIDE):
            for c in range(SIDE):
                ax.text(c + 0.5, r + 0.5, label(r, c), ha="center", va="center", fontsize=6,
                        color="#222222")  # fmt: skip
    for k in lines_at:  # window borders
        ax.plot([k, k], [0, SIDE], color=style.PALETTE[1], lw=2, solid_capstyle="butt")
        ax.plot([0, SIDE], [k, k], color=style.PALETTE[1], lw=2, solid_capstyle="butt")
    ax.set_xlim(-0.1, SIDE + 0.1)
    ax.set_ylim(SIDE + 0.1, -0.1)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title, fontsize=9)


def draw_windows() -> Figure:
    """8×8 特征图、M = 4：规则窗口（左），移位窗口（中），循环移位后仍是 2×2 个窗口（右）。

    Colours (middle and right): the window of the shifted partition a token belongs to; labels: its
    original row and column. The right panel is the windows the attention of a SwinBlock with
    shift 2 actually receives (recorded by a hook), laid back out on the map.
    """
    windows, _ = block_tensors()
    s = M // 2
    colour = lambda r, c: COLOURS[shifted_id(r, c) % len(COLOURS)]  # noqa: E731
    fig = style.new_figure(8.4, 3.3)
    axes = fig.subplots(1, 3)
    _grid(axes[0], lambda r, c: "#e0e0e0", "第 l 层：W-MSA，2×2 个窗口", [0, M, SIDE])
    _grid(axes[1], colour, f"第 l+1 层：窗口移动 ⌊M/2⌋ = {s}，3×3 个窗口", [0, s, s + M, SIDE])
    # the right panel from the recorded windows: window w, token i came from windows[w, i]
    per_row = SIDE // M
    at = {}
    for w in range(windows.shape[0]):
        for i in range(M * M):
            r = (w // per_row) * M + i // M
            c = (w % per_row) * M + i % M
            at[r, c] = tuple(windows[w, i].tolist())
    _grid(
        axes[2],
        lambda r, c: colour(*at[r, c]),
        "循环移位 (−2, −2) 后：仍是 2×2 个窗口",
        [0, M, SIDE],
        label=lambda r, c: f"{at[r, c][0]},{at[r, c][1]}",
    )
    assert at[0, 0] == (s, s) and at[SIDE - 1, SIDE - 1] == (s - 1, s - 1)  # rolled to top-left
    return fig


def draw_mask() -> Figure:
    """循环移位后每个窗口的注意力掩码：彩色格子可以互相注意（同一块），灰色格子被屏蔽。

    The mask is the one the SW-MSA block passes to its attention (recorded by a hook); rows are
    queries, columns keys, both in the window's row-major order; colours as in the figure above.
    """
    windows, mask = block_tensors()
    fig = style.new_figure(8.4, 2.6)
    axes = fig.subplots(1, mask.shape[0])
    names = ("左上", "右上", "左下", "右下")
    for w, ax in enumerate(axes):
        n = M * M
        ids = [shifted_id(*windows[w, i].tolist()) for i in range(n)]
        _cells(ax, [
            ["#9e9e9e" if mask[w, i, j] else COLOURS[ids[i] % len(COLOURS)] for j in range(n)]
            for i in range(n)
        ])  # fmt: skip
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        pieces = len({shifted_id(*windows[w, i].tolist()) for i in range(n)})
        ax.set_title(f"{names[w]}窗口：{pieces} 块", fontsize=9)
        ax.set_xlabel("键（16 个词元）", fontsize=8)
        if w == 0:
            ax.set_ylabel("查询", fontsize=8)
    assert [bool(mask[w].any()) for w in range(4)] == [False, True, True, True]
    return fig


def omega(hw: int, C: int, M: int | None) -> int:
    """Eq. (1) (M is None: global MSA) or Eq. (2): multiply-adds of one attention layer."""
    return 4 * hw * C**2 + (2 * hw**2 * C if M is None else 2 * M**2 * hw * C)


def counted(side: int, C: int, M: int) -> int:
    """Multiply-adds of one W-MSA block's attention on a side×side map, by FlopCounterMode."""
    with torch.device("meta"), FlopCounterMode(display=False) as counter:
        SwinBlock(C, C // 32, M, 0, 4, 1e-5).window_msa(torch.empty(1, side, side, C))
    return counter.get_total_flops() // 2


def draw_cost() -> Figure:
    """Swin-T 第一阶段（C = 96，M = 7）一层注意力的乘加数：全局 MSA 与 W-MSA。

    Lines: Eq. (1) and (2) with h = w = image side / 4; dots: FlopCounterMode on the meta device
    for a W-MSA block of the reference module, with M = 7 (window) and M = h (one window: global).
    """
    cfg = SwinConfig.swin_t()
    C, M = cfg.embed_dim, cfg.window_size
    sides = list(range(224, 1345, 28))
    fig = style.new_figure(6.4, 3.4)
    ax = fig.subplots()
    hw = [(s // 4) ** 2 for s in sides]
    ax.plot(sides, [omega(n, C, None) / 1e9 for n in hw], color=style.PALETTE[1],
            label="全局 MSA，式 (1)：4hwC² + 2(hw)²C")  # fmt: skip
    ax.plot(sides, [omega(n, C, M) / 1e9 for n in hw], color=style.PALETTE[0],
            label="窗口 W-MSA，式 (2)：4hwC² + 2M²hwC")  # fmt: skip
    checks = [224, 448, 896, 1344]
    for px in checks:
        h = px // 4
        w_msa, msa = counted(h, C, M), counted(h, C, h)
        assert w_msa == omega(h * h, C, M) and msa == omega(h * h, C, None)
        ax.plot([px, px], [msa / 1e9, w_msa / 1e9], "o", color=style.FG, ms=3)
    ax.plot([], [], "o", color=style.FG, ms=3, label="参考实现实测（FlopCounterMode）")
    ax.set_yscale("log")
    ax.set_xlabel("图像边长（像素），第一阶段 h = w = 边长 / 4")
    ax.set_ylabel("一层注意力的乘加数（G）")
    ax.set_xticks([224, 448, 672, 896, 1120, 1344])
    ax.grid(True, which="major")
    ax.legend(fontsize=8, loc="upper left")
    return fig


FIGURES = {"swin-windows": draw_windows, "swin-mask": draw_mask, "swin-cost": draw_cost}
