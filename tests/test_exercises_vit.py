"""The ViT page's exercises: computed answers against hand formulas, the solution's effect."""

from __future__ import annotations

import torch

from reference_impl import vit
from reference_impl.exercises.vit import GAPViT
from tools.generator import exercises as ex

ANSWERS = {e.id: e for e in ex.load("vit")}


def value(exercise_id: str) -> float:
    return ANSWERS[exercise_id].computed.value


def test_tokens_at_384():
    side = 384 // 16
    assert value("vit-tokens-384") == side * side + 1 == 577


def test_large_block_params():
    D, mlp = 1024, 4096
    norms = 2 * 2 * D
    attention = D * 3 * D + 3 * D + D * D + D
    mlp_params = D * mlp + mlp + mlp * D + D
    assert value("vit-large-block-params") == norms + attention + mlp_params
    # "24 块约 3.02 亿，占 L/16 约 3.04 亿参数的 99% 以上"
    assert round(24 * value("vit-large-block-params") / 1e8, 2) == 3.02
    assert 24 * value("vit-large-block-params") / 304_326_632 > 0.99


def test_b32_macs():
    D, P, N = 768, 32, (224 // 32) ** 2
    T = N + 1
    block = T * D * 3 * D + 2 * T * T * D + T * D * D + 2 * T * D * 4 * D
    assert value("vit-b32-macs") == N * (P * P * 3) * D + 12 * block + D * 1000
    assert round(value("vit-b32-macs") / 1e9, 1) == 4.4  # "约 4.4 G"


def test_gap_vit_has_2d_fewer_parameters():
    with torch.device("meta"):
        cls_model = vit.vit_b16()
        gap_model = GAPViT(vit.ViTConfig.base(16))
    assert ex.n_params(cls_model) - ex.n_params(gap_model) == 2 * 768 == 1536


def _shuffle_patches(images: torch.Tensor, patch: int, order: torch.Tensor) -> torch.Tensor:
    """Rearrange the P×P patches of (B, C, H, W) images in raster order ``order``."""
    B, C, H, W = images.shape
    g = H // patch
    tiles = images.reshape(B, C, g, patch, g, patch).permute(0, 2, 4, 1, 3, 5)  # (B, g, g, C, P, P)
    tiles = tiles.reshape(B, g * g, C, patch, patch)[:, order]
    tiles = tiles.reshape(B, g, g, C, patch, patch).permute(0, 3, 1, 4, 2, 5)
    return tiles.reshape(B, C, H, W)


def test_gap_vit_is_blind_to_patch_order_without_positions():
    torch.manual_seed(0)
    cfg = vit.ViTConfig.tiny()
    model = GAPViT(cfg).eval()
    images = torch.randn(2, 3, 32, 32)
    order = torch.randperm(cfg.n_patches)
    shuffled = _shuffle_patches(images, cfg.patch_size, order)
    assert not torch.equal(shuffled, images)
    assert not torch.allclose(model(images), model(shuffled), atol=1e-4)  # positions: order matters
    with torch.no_grad():
        model.pos_embed.zero_()
    torch.testing.assert_close(model(images), model(shuffled), atol=1e-5, rtol=1e-5)
