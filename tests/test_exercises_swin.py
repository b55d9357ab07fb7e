"""The Swin page's exercises: computed answers against hand formulas, the solution's effect."""

from __future__ import annotations

import re
from pathlib import Path

import torch

from reference_impl import swin
from reference_impl.exercises.swin import UnmaskedSwinBlock
from tools.generator import exercises as ex

ANSWERS = {e.id: e for e in ex.load("swin")}
PAGE = (Path(__file__).resolve().parent.parent / "docs" / "papers" / "swin.md").read_text(
    encoding="utf-8"
)


def value(exercise_id: str) -> float:
    return ANSWERS[exercise_id].computed.value


def table4(setting: str) -> list[float]:
    """A row of the page's Table 4: top-1, top-5, box AP, mask AP, mIoU."""
    row = next(ln for ln in PAGE.splitlines() if ln.startswith(f"| {setting} |"))
    return [float(x) for x in re.findall(r"\d+\.\d", row)]


def test_windows_per_stage():
    M = 7
    per_stage = [(224 // 4 // 2**i // M) ** 2 for i in range(4)]
    assert per_stage == [64, 16, 4, 1]
    assert value("swin-windows") == sum(per_stage) == 85
    assert (56 // M + 1) ** 2 == 81  # the padded shifted windows of stage 1


def test_stage3_global_over_window_macs():
    def msa(hw, C):  # Eq. (1)
        return 4 * hw * C**2 + 2 * hw**2 * C

    def w_msa(hw, C, M):  # Eq. (2)
        return 4 * hw * C**2 + 2 * M**2 * hw * C

    assert value("swin-stage3-macs") == msa(196, 384) / w_msa(196, 384, 7)
    assert round(value("swin-stage3-macs"), 2) == 1.18  # "≈1.18"
    assert round(msa(56 * 56, 96) / w_msa(56 * 56, 96, 7), 1) == 13.8  # the page's 13.8
    assert (4 * 96 + 2 * 3136, 4 * 96 + 2 * 49) == (384 + 6272, 384 + 98)  # the answer's terms
    assert (4 * 384 + 2 * 196, 4 * 384 + 2 * 49) == (1536 + 392, 1536 + 98)


def test_bias_table_params():
    heads = [3, 6, 12, 24]
    blocks = [2, 2, 6, 2]
    n_heads = sum(b * h for b, h in zip(blocks, heads, strict=True))
    assert n_heads == 138
    assert value("swin-bias-table") == (2 * 7 - 1) ** 2 * n_heads == 23_322
    with torch.device("meta"):
        total = ex.n_params(swin.swin_t())
    assert total == 28_288_354 and value("swin-bias-table") / total < 0.001  # "不到 0.1%"
    assert round(49**2 / 169, 1) == 14.2 and 49**2 == 2401  # "2401 个，是 14.2 倍"


def test_patch_merging_params():
    per = [8 * C * C + 8 * C for C in (96, 192, 384)]
    assert value("swin-patch-merging") == sum(per) == 1_553_664
    assert per[-1] == 1_182_720


def test_without_the_mask_opposite_borders_mix():
    torch.manual_seed(0)
    dim, heads, M, s = 16, 2, 4, 2
    masked = swin.SwinBlock(dim, heads, M, s, 4, 1e-5).eval()
    unmasked = UnmaskedSwinBlock(dim, heads, M, s, 4, 1e-5).eval()
    unmasked.load_state_dict(masked.state_dict())
    with torch.no_grad():  # a non-zero bias table, so that nothing is symmetric by accident
        masked.attn.relative_position_bias_table.normal_()
        unmasked.attn.relative_position_bias_table.copy_(masked.attn.relative_position_bias_table)
    x = torch.randn(1, 8, 8, dim)
    poked = x.clone()
    poked[0, 0, 0] += 3 * torch.randn(dim)  # (a) change the top-left token (not by a constant:
    # LayerNorm would remove it)
    with torch.no_grad():
        corner = (unmasked(poked) - unmasked(x))[0, -1, -1].abs().max()
        corner_masked = (masked(poked) - masked(x))[0, -1, -1].abs().max()
    assert corner > 1e-3  # without the mask the bottom-right corner sees the top-left one
    assert corner_masked < 1e-6  # with it, they are different pieces of one window

    # (b) a cyclic translation by a whole window: the unmasked block follows it, the masked not
    rolled = torch.roll(x, shifts=(M, M), dims=(1, 2))
    with torch.no_grad():
        torch.testing.assert_close(
            unmasked(rolled), torch.roll(unmasked(x), shifts=(M, M), dims=(1, 2))
        )
        assert not torch.allclose(
            masked(rolled), torch.roll(masked(x), shifts=(M, M), dims=(1, 2)), atol=1e-4
        )

    # (c) stage 1 of Swin-T: windows whose mask blocks anything
    mask = swin.shifted_window_mask(56, 56, 7, 3)
    assert mask.shape[0] == 64 and int(mask.any(dim=(1, 2)).sum()) == 15 == 8 + 8 - 1


def test_unmasked_block_equals_the_regular_one_without_shift():
    torch.manual_seed(1)
    block = swin.SwinBlock(16, 2, 4, 0, 4, 1e-5).eval()
    plain = UnmaskedSwinBlock(16, 2, 4, 0, 4, 1e-5).eval()
    plain.load_state_dict(block.state_dict())
    x = torch.randn(2, 8, 8, 16)
    with torch.no_grad():
        torch.testing.assert_close(plain(x), block(x))


def test_ablation_numbers_are_the_pages_table_4():
    regular, shifted = table4("不移位（每个阶段都用规则窗口）"), table4("移位窗口")
    assert [round(b - a, 1) for a, b in zip(regular, shifted, strict=True)] == [
        1.1, 0.5, 2.8, 2.2, 2.8
    ]  # fmt: skip
    none, absolute = table4("无位置编码"), table4("绝对位置编码")
    relative, both = table4("相对位置偏置（默认）"), table4("绝对 + 相对")
    assert round(absolute[0] - none[0], 1) == 0.4
    assert (none[2], absolute[2], none[4], absolute[4]) == (49.2, 49.0, 43.8, 43.2)
    assert (relative[2], relative[4]) == (50.5, 46.1)
    assert (round(relative[2] - absolute[2], 1), round(relative[4] - absolute[4], 1)) == (1.5, 2.9)
    rows = [table4(r) for r in ("无位置编码", "绝对位置编码", "绝对 + 相对")]
    assert all(relative[k] >= r[k] for r in rows for k in (0, 2, 4))  # best on all three tasks
    assert relative[0] == both[0]  # top-1 tied with absolute + relative


def test_regular_windows_in_pixels():
    """Without the shift the stage-i window covers a fixed grid of 7·4·2^i pixels."""
    cfg = swin.SwinConfig.swin_t()
    sides = [cfg.image_size // cfg.resolution(i) * cfg.window_size for i in range(4)]  # pixels
    assert sides == [7 * 4 * 2**i for i in range(4)] == [28, 56, 112, 224]
