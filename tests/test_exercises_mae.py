"""The MAE page's exercises: computed answers against hand formulas, the solution's effect."""

from __future__ import annotations

import torch

from reference_impl import mae
from reference_impl.exercises.mae import MAEWithMaskTokensInEncoder
from tools.generator import exercises as ex

ANSWERS = {e.id: e for e in ex.load("mae")}


def value(exercise_id: str) -> float:
    return ANSWERS[exercise_id].computed.value


def block(d: int, d_mlp: int) -> int:
    """Pre-LN block: two LayerNorms, fused qkv + output projection, two-layer MLP."""
    return 2 * 2 * d + (d * 3 * d + 3 * d) + (d * d + d) + (d * d_mlp + d_mlp) + (d_mlp * d + d)


def test_encoder_tokens():
    n_patches = (224 // 14) ** 2
    visible = n_patches * 25 // 100
    assert value("mae-encoder-tokens") == visible + 1 == 65
    assert (visible, n_patches - visible, n_patches + 1) == (64, 192, 257)  # the answer's numbers


def test_one_block_decoder_params():
    d, pixels = 512, 16 * 16 * 3
    hand = (1024 * d + d) + d + 197 * d + block(d, 4 * d) + 2 * d + (d * pixels + pixels)
    assert value("mae-one-block-decoder") == hand
    assert round(hand / 1e4) == 417  # "约 417 万"
    with torch.device("meta"):
        encoder = ex.n_params(mae.mae_vit_large_patch16().encoder)
    assert round(encoder / 1e6) == 303 and hand / encoder < 0.014  # "约 3.03 亿" "不到 1.4%"


def test_mask_tokens_in_the_encoder_cost_more_and_hide_pixels():
    cfg = mae.MAEConfig.vit_large()
    with torch.device("meta"):
        default, bert_like = mae.MaskedAutoencoder(cfg), MAEWithMaskTokensInEncoder(cfg)
        image = torch.empty(1, 3, 224, 224)
        macs_default, macs_bert = ex.count_macs(default, image), ex.count_macs(bert_like, image)
        enc_default = ex.count_macs(default.encoder, image, torch.zeros(1, 49, dtype=torch.long))
        enc_bert = ex.count_macs(bert_like.encoder.blocks, torch.empty(1, 197, 1024))
    assert (macs_default, macs_bert) == (20_755_390_464, 67_009_634_304)  # the answer's numbers
    assert round(macs_bert / macs_default, 2) == 3.23  # "约 3.2 倍" (the paper: 3.3×)
    assert 3.9 < enc_bert / enc_default < 4.1  # "编码器的乘加数约是原来的四倍"

    # (b) the removed patches' pixels still cannot reach the output: [M] replaces them
    torch.manual_seed(0)
    model = MAEWithMaskTokensInEncoder(mae.MAEConfig.tiny()).eval()
    imgs, noise = torch.randn(2, 3, 32, 32), torch.rand(2, 64)
    with torch.no_grad():
        _, pred, mask = model(imgs, noise)
        removed = model.unpatchify(mask[..., None].expand(-1, -1, 48)).bool()  # (B, C, H, W)
        noisy = torch.where(removed, 100 * torch.randn_like(imgs), imgs)
        _, pred_noisy, _ = model(noisy, noise)
        latent = model.encode_all(imgs, mask)
    torch.testing.assert_close(pred_noisy, pred, rtol=0, atol=0)
    assert latent.shape == (2, 1 + 64, 64)  # every position enters the encoder, not 1 + 16
    assert mask.sum(dim=1).tolist() == [48, 48]


def test_mask_tokens_in_the_encoder_train():
    torch.manual_seed(0)
    model = MAEWithMaskTokensInEncoder(mae.MAEConfig.tiny())
    loss, _, _ = model(torch.randn(2, 3, 32, 32))
    loss.backward()
    assert model.encoder_mask_token.grad.abs().sum() > 0  # [M] is learned through the encoder
    grad = model.decoder.mask_token.grad  # the decoder adds none: N + 1 latents arrive
    assert grad is None or torch.count_nonzero(grad) == 0
