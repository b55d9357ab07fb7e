"""Tests of reference_impl/swin.py: counts, windows and the shift mask, equivalences, invariants."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from reference_impl.swin import (
    PatchEmbedding,
    PatchMerging,
    SwinBlock,
    SwinConfig,
    WindowAttention,
    relative_position_index,
    shifted_window_mask,
    swin_b,
    swin_l,
    swin_s,
    swin_t,
    tiny,
    window_partition,
    window_reverse,
)


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# ── parameter counts ───────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("build", "kwargs", "expected"),
    [
        # equal to torchvision's swin_t/s/b and timm's swin_*_patch4_window7_224 (crosscheck)
        (swin_t, {}, 28_288_354),  # Table 1: 29M (the released code's model table: 28M)
        (swin_t, {"n_classes": 0}, 27_519_354),
        (swin_s, {}, 49_606_258),  # 50M
        (swin_b, {}, 87_768_224),  # 88M
        (swin_b, {"image_size": 384, "window_size": 12}, 87_903_584),  # 88M at 384²
        (swin_l, {}, 196_532_476),  # 197M at 224² (M = 7) …
        (swin_l, {"image_size": 384, "window_size": 12}, 196_735_516),  # … and at 384² (M = 12)
    ],
)
def test_paper_parameter_counts(build, kwargs, expected):
    with torch.device("meta"):
        assert n_params(build(**kwargs)) == expected


def formula(cfg: SwinConfig) -> int:
    """The page's count: 12C² + 13C + (2M−1)²·h per block, 8C² + 8C per patch merging."""
    C0, M = cfg.embed_dim, cfg.window_size
    total = 3 * cfg.patch_size**2 * C0 + C0 + 2 * C0  # patch embedding: conv + LayerNorm
    for i, depth in enumerate(cfg.depths):
        C = cfg.dim(i)
        if i > 0:  # LayerNorm(4·C/2) + linear 4·(C/2) → C without bias, C/2 the input width
            total += 2 * (2 * C) + 2 * C * C
        total += depth * (12 * C * C + 13 * C + (2 * M - 1) ** 2 * (C // cfg.d_head))
    C = cfg.dim(len(cfg.depths) - 1)
    return total + 2 * C + C * cfg.n_classes + cfg.n_classes  # final LayerNorm + head


@pytest.mark.parametrize("cfg", [SwinConfig.swin_t(), SwinConfig.swin_b(), SwinConfig.tiny()])
def test_count_formula_on_the_page(cfg):
    with torch.device("meta"):
        from reference_impl.swin import SwinTransformer

        assert n_params(SwinTransformer(cfg)) == formula(cfg)


def test_table_7_heads_and_hierarchy():
    heads = {
        "T": (SwinConfig.swin_t(), (3, 6, 12, 24)),
        "B": (SwinConfig.swin_b(), (4, 8, 16, 32)),
        "L": (SwinConfig.swin_l(), (6, 12, 24, 48)),
    }
    for cfg, expected in heads.values():
        assert tuple(cfg.dim(i) // cfg.d_head for i in range(4)) == expected
    with torch.device("meta"):
        maps = swin_t().feature_maps(torch.empty(1, 3, 224, 224))
    assert [tuple(m.shape) for m in maps] == [
        (1, 96, 56, 56), (1, 192, 28, 28), (1, 384, 14, 14), (1, 768, 7, 7),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("build", "kwargs", "side", "table_1"),
    [
        (swin_t, {}, 224, 4.5e9),
        (swin_s, {}, 224, 8.7e9),
        (swin_b, {}, 224, 15.4e9),
        (swin_b, {"image_size": 384, "window_size": 12}, 384, 47.0e9),
        (swin_l, {"image_size": 384, "window_size": 12}, 384, 103.9e9),
    ],
)
def test_multiply_adds_within_one_percent_of_table_1(build, kwargs, side, table_1):
    """Table 1's "FLOPs" are multiply-adds: FlopCounterMode's count / 2 is within 1 % of each."""
    with torch.device("meta"), FlopCounterMode(display=False) as counter:
        build(**kwargs)(torch.empty(1, 3, side, side))
    assert abs(counter.get_total_flops() / 2 - table_1) / table_1 < 0.01


# ── windows, the cyclic shift and its mask ───────────────────────────────────────────────


def test_window_partition_round_trip_and_content():
    x = torch.randn(2, 8, 12, 5)
    w = window_partition(x, 4)
    assert w.shape == (2 * 2 * 3, 16, 5)
    torch.testing.assert_close(window_reverse(w, 4, 8, 12), x, rtol=0, atol=0)
    # window 4 of image 0 is rows 4–7, columns 4–7, read row by row
    torch.testing.assert_close(w[4], x[0, 4:8, 4:8].reshape(16, 5), rtol=0, atol=0)


def test_shift_then_reverse_shift_is_identity():
    x, M, s = torch.randn(2, 8, 8, 3), 4, 2
    rolled = torch.roll(x, (-s, -s), dims=(1, 2))
    back = torch.roll(window_reverse(window_partition(rolled, M), M, 8, 8), (s, s), dims=(1, 2))
    torch.testing.assert_close(back, x, rtol=0, atol=0)
    assert not torch.equal(rolled, x)


def brute_force_mask(H: int, W: int, M: int, s: int) -> torch.Tensor:
    """Blocked pairs by the rule: same window of the shifted partition, in original coordinates."""
    nW = (H // M) * (W // M)
    blocked = torch.zeros(nW, M * M, M * M, dtype=torch.bool)
    for w in range(nW):
        wr, wc = divmod(w, W // M)
        cells = [(wr * M + r, wc * M + c) for r in range(M) for c in range(M)]  # rolled coords
        orig = [((r + s) % H, (c + s) % W) for r, c in cells]  # where the roll took them from
        ids = [((y + M - s) // M, (x + M - s) // M) for y, x in orig]  # shifted windows
        for i in range(M * M):
            for j in range(M * M):
                blocked[w, i, j] = ids[i] != ids[j]
    return blocked


@pytest.mark.parametrize(("H", "W", "M", "s"), [(8, 8, 4, 2), (12, 8, 4, 2), (14, 14, 7, 3)])
def test_shift_mask_is_the_same_region_rule(H, W, M, s):
    assert torch.equal(shifted_window_mask(H, W, M, s), brute_force_mask(H, W, M, s))


def test_shift_mask_pieces_per_window_as_in_figure_4():
    """8×8 map, M = 4 (Fig. 2): after the shift the four windows hold 1, 2, 2 and 4 pieces."""
    mask = shifted_window_mask(8, 8, 4, 2)
    pieces = [len({tuple(row.tolist()) for row in ~mask[w]}) for w in range(4)]
    assert pieces == [1, 2, 2, 4]
    assert not mask.diagonal(dim1=1, dim2=2).any()  # every token sees itself


# ── relative position bias ──────────────────────────────────────────────────────────────


def test_relative_position_index_properties():
    M = 5
    idx = relative_position_index(M)
    centre = (M - 1) * (2 * M - 1) + (M - 1)  # relative position (0, 0)
    assert idx.shape == (M * M, M * M)
    assert set(idx.unique().tolist()) == set(range((2 * M - 1) ** 2))  # every table row used
    assert torch.equal(idx.diagonal(), torch.full((M * M,), centre))
    assert torch.equal(idx + idx.T, torch.full_like(idx, 2 * centre))  # (Δy, Δx) ↔ (−Δy, −Δx)
    for i in range(M * M):  # depends on the relative position only
        for j in range(M * M):
            (yi, xi), (yj, xj) = divmod(i, M), divmod(j, M)
            assert idx[i, j] == (yi - yj + M - 1) * (2 * M - 1) + (xi - xj + M - 1)


# ── equivalences ───────────────────────────────────────────────────────────────────────


def test_single_window_attention_equals_global_attention_plus_bias():
    """M = H = W, no shift: W-MSA is plain MSA over the whole map with B as an additive mask."""
    torch.manual_seed(0)
    C, h, M = 32, 4, 4
    ours = WindowAttention(C, h, M).eval()
    nn.init.normal_(ours.relative_position_bias_table, std=1.0)
    ref = nn.MultiheadAttention(C, h, batch_first=True).eval()
    with torch.no_grad():
        ref.in_proj_weight.copy_(ours.qkv.weight)
        ref.in_proj_bias.copy_(ours.qkv.bias)
        ref.out_proj.load_state_dict(ours.proj.state_dict())
    x = torch.randn(3, M, M, C)
    tokens = window_partition(x, M)  # one window per image: (3, M², C)
    bias = ours.relative_position_bias().repeat(3, 1, 1)  # (3·h, M², M²), batch-major
    with torch.no_grad():
        expected = ref(tokens, tokens, tokens, attn_mask=bias, need_weights=False)[0]
        torch.testing.assert_close(ours(tokens), expected, atol=1e-5, rtol=1e-5)
        # without B the result differs: the bias is really added
        assert not torch.allclose(ours(tokens), ref(tokens, tokens, tokens)[0], atol=1e-3)


def naive_sw_msa(block: SwinBlock, h: torch.Tensor) -> torch.Tensor:
    """SW-MSA the slow way: every token attends to its shifted window in place (no roll, no mask).

    Windows of the shifted partition start at rows and columns s, s + M, …; the border ones are
    smaller. The bias is read at the tokens' true relative positions.
    """
    attn, M, s = block.attn, block.window_size, block.shift
    B, H, W, C = h.shape
    qkv = attn.qkv(h).view(B, H, W, 3, attn.n_heads, attn.d_head)
    q, k, v = qkv.unbind(3)  # each (B, H, W, heads, d)
    out = torch.zeros(B, H, W, attn.n_heads, attn.d_head)
    for y in range(H):
        for x in range(W):
            keys = [
                (y2, x2)
                for y2 in range(H)
                for x2 in range(W)
                if (y2 + M - s) // M == (y + M - s) // M and (x2 + M - s) // M == (x + M - s) // M
            ]
            ky = torch.tensor([p[0] for p in keys])
            kx = torch.tensor([p[1] for p in keys])
            rel = (y - ky + M - 1) * (2 * M - 1) + (x - kx + M - 1)  # Eq. (4): B from \hat B
            logits = torch.einsum("bnd,bknd->bnk", q[:, y, x], k[:, ky, kx]) / attn.d_head**0.5
            logits = logits + attn.relative_position_bias_table[rel].T  # (heads, keys)
            out[:, y, x] = torch.einsum("bnk,bknd->bnd", logits.softmax(-1), v[:, ky, kx])
    return attn.proj(out.reshape(B, H, W, C))


def test_cyclic_shift_with_mask_equals_naive_shifted_windows():
    """Fig. 4's batch computation (roll, mask, roll back) = attention in the shifted windows."""
    torch.manual_seed(0)
    block = SwinBlock(16, 2, M=4, shift=2, mlp_ratio=4, eps=1e-5).eval()
    nn.init.normal_(block.attn.relative_position_bias_table, std=1.0)
    h = torch.randn(2, 8, 12, 16)
    with torch.no_grad():
        torch.testing.assert_close(
            block.window_msa(h), naive_sw_msa(block, h), atol=1e-5, rtol=1e-5
        )


def test_patch_embedding_is_a_linear_map_of_flattened_patches():
    torch.manual_seed(0)
    cfg = SwinConfig.tiny()
    embed = PatchEmbedding(cfg)
    nn.init.normal_(embed.norm.weight)
    nn.init.normal_(embed.norm.bias)
    x = torch.randn(2, 3, 8, 8)
    p = cfg.patch_size
    patches = F.unfold(x, p, stride=p).transpose(1, 2)  # (B, N, 3·p·p): the patch partition
    linear = patches @ embed.proj.weight.flatten(1).T + embed.proj.bias  # linear embedding
    expected = embed.norm(linear).view(2, 8 // p, 8 // p, cfg.embed_dim)
    torch.testing.assert_close(embed(x), expected, atol=1e-5, rtol=1e-5)


def test_patch_merging_concatenates_2x2_neighbours_like_pixel_unshuffle():
    torch.manual_seed(0)
    C = 3
    merge = PatchMerging(C, 1e-5)
    x = torch.randn(2, 6, 8, C)
    # PixelUnshuffle(2) gives channels c·4 + 2·dy + dx; the released code's order is dx-major
    unshuffled = F.pixel_unshuffle(x.permute(0, 3, 1, 2), 2)  # (B, 4C, H/2, W/2)
    groups = unshuffled.view(2, C, 2, 2, 3, 4)  # (B, c, dy, dx, H/2, W/2)
    concat = groups.permute(0, 4, 5, 3, 2, 1).reshape(2, 3, 4, 4 * C)  # (B, H/2, W/2, [dx,dy,c])
    torch.testing.assert_close(merge(x), merge.reduction(merge.norm(concat)), rtol=0, atol=0)


@pytest.mark.parametrize("global_", [False, True])
def test_macs_of_window_attention_are_eq_1_and_2(global_):
    """FlopCounterMode counts exactly Ω(W-MSA) = 4hwC² + 2M²hwC, and Ω(MSA) when M = h = w."""
    C, heads, hw = 32, 4, (8, 8)
    M = 8 if global_ else 4
    with torch.device("meta"), FlopCounterMode(display=False) as counter:
        SwinBlock(C, heads, M, 0, 4, 1e-5).window_msa(torch.empty(1, *hw, C))
    h, w = hw
    expected = 4 * h * w * C**2 + (2 * (h * w) ** 2 * C if global_ else 2 * M**2 * h * w * C)
    assert counter.get_total_flops() // 2 == expected


# ── behaviour and invariants ───────────────────────────────────────────────────────────


def test_tiny_forward_and_gradients():
    torch.manual_seed(0)
    model = tiny()
    logits = model(torch.randn(2, 3, 32, 32))
    assert logits.shape == (2, 10)
    logits.logsumexp(-1).sum().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_w_msa_block_commutes_with_cyclic_translations_by_whole_windows():
    """Rolling the map by a multiple of M moves whole windows: W-MSA output rolls with it.

    SW-MSA does not: its mask pins the image border (the wrapped-around pieces stay apart), so
    content moved across the border is attended differently. A roll by less than M also breaks
    W-MSA, since it changes which tokens share a window.
    """
    torch.manual_seed(0)
    M = 4
    w_msa = SwinBlock(16, 2, M, 0, 4, 1e-5).eval()
    sw_msa = SwinBlock(16, 2, M, M // 2, 4, 1e-5).eval()
    for block in (w_msa, sw_msa):
        nn.init.normal_(block.attn.relative_position_bias_table, std=1.0)
    x = torch.randn(2, 12, 8, 16)

    def rolled(t: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
        return torch.roll(t, (dy, dx), dims=(1, 2))

    with torch.no_grad():
        for dy, dx in [(M, 0), (0, M), (2 * M, M)]:
            torch.testing.assert_close(
                w_msa(rolled(x, dy, dx)), rolled(w_msa(x), dy, dx), atol=1e-5, rtol=1e-5
            )
            assert not torch.allclose(
                sw_msa(rolled(x, dy, dx)), rolled(sw_msa(x), dy, dx), atol=1e-3
            )
        assert not torch.allclose(w_msa(rolled(x, 1, 0)), rolled(w_msa(x), 1, 0), atol=1e-3)


def receptive_field(module: nn.Module, x: torch.Tensor, y: int, x_: int) -> set[tuple[int, int]]:
    """Positions of the input that output token (y, x_) depends on (non-zero gradient)."""
    x = x.clone().requires_grad_(True)
    module(x)[0, y, x_].sum().backward()
    nz = x.grad[0].abs().sum(-1).nonzero().tolist()
    return {(r, c) for r, c in nz}


def test_shifted_windows_connect_neighbouring_windows():
    """A W-MSA block sees one window; the W-MSA → SW-MSA pair reaches into the neighbours (§3.2)."""
    torch.manual_seed(0)
    M = 4
    w_msa = SwinBlock(8, 2, M, 0, 4, 1e-5)
    sw_msa = SwinBlock(8, 2, M, M // 2, 4, 1e-5)
    x = torch.randn(1, 12, 12, 8)
    window = {(r, c) for r in range(M, 2 * M) for c in range(M, 2 * M)}  # the centre window
    assert receptive_field(w_msa, x, M + 3, M + 3) == window
    pair = nn.Sequential(w_msa, sw_msa)
    # (7, 7) lies in the shifted window of rows and columns 6–9, which overlaps four windows
    four = {(r, c) for r in range(M, 3 * M) for c in range(M, 3 * M)}
    assert receptive_field(pair, x, M + 3, M + 3) == four
    # a corner token's shifted window is the 2×2 corner piece: it never wraps to the far side
    assert receptive_field(sw_msa, x, 0, 0) == {(0, 0), (0, 1), (1, 0), (1, 1)}


def test_stage_1_costs_quoted_on_the_page():
    """Swin-T stage 1 at 224² (h = w = 56, C = 96): one MSA ≈ 2.0 G, one W-MSA (M = 7) ≈ 0.145 G."""
    for M, expected in [(7, 145_108_992), (56, 2_003_828_736)]:
        with torch.device("meta"), FlopCounterMode(display=False) as counter:
            SwinBlock(96, 3, M, 0, 4, 1e-5).window_msa(torch.empty(1, 56, 56, 96))
        assert counter.get_total_flops() // 2 == expected
    assert round(2_003_828_736 / 145_108_992, 1) == 13.8
    assert 2 * (56 * 56) ** 2 * 96 / 2_003_828_736 > 0.9  # the (hw)² term: over nine tenths
