"""Tests of reference_impl/mae.py: parameter accounting, masking, encoder input, loss."""

import math

import torch
from torch import nn

from reference_impl.mae import MAEConfig, mae_tiny, mae_vit_base_patch16, sincos_pos_embed_2d


def n_params(module: nn.Module, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def test_paper_parameter_counts_vit_b16():
    with torch.device("meta"):
        model = mae_vit_base_patch16()
    assert n_params(model) == 111_907_840  # what the catalog's `params` compares to
    assert n_params(model.encoder) == 85_798_656  # = ViT-B/16 without head
    assert n_params(model.decoder) == 26_109_184
    fixed = 197 * 768 + 197 * 512  # the two sin-cos tables: parameters that are never trained
    assert not model.encoder.pos_embed.requires_grad and not model.decoder.pos_embed.requires_grad
    assert n_params(model, trainable_only=True) == 111_907_840 - fixed == 111_655_680


def test_paper_config_runs_on_meta():
    with torch.device("meta"):
        model = mae_vit_base_patch16()
        loss, pred, mask = model(torch.empty(2, 3, 224, 224))
    assert loss.shape == () and pred.shape == (2, 196, 768) and mask.shape == (2, 196)


def test_sincos_table():
    pe = sincos_pos_embed_2d(16, 3)
    assert pe.shape == (10, 16) and torch.equal(pe[0], torch.zeros(16))
    row, col = 2, 1  # patch (row 2, column 1) is token 1 + 2·3 + 1
    omega = [1 / 10000 ** (i / 4) for i in range(4)]
    expected = (
        [math.sin(col * w) for w in omega]
        + [math.cos(col * w) for w in omega]
        + [math.sin(row * w) for w in omega]
        + [math.cos(row * w) for w in omega]
    )
    torch.testing.assert_close(pe[1 + row * 3 + col], torch.tensor(expected))


def test_patchify_unpatchify_round_trip():
    model = mae_tiny()
    imgs = torch.randn(2, 3, 32, 32)
    patches = model.patchify(imgs)
    assert patches.shape == (2, 64, 48)
    assert torch.equal(model.unpatchify(patches), imgs)
    # patch 9 = row 1, column 1: pixels [4:8, 4:8], flattened as (P, P, C)
    torch.testing.assert_close(patches[:, 9], imgs[:, :, 4:8, 4:8].permute(0, 2, 3, 1).flatten(1))


def test_random_masking_removes_75_percent():
    model = mae_tiny()
    noise = torch.rand(3, 64, generator=torch.Generator().manual_seed(0))
    ids_keep, _, mask = model.random_masking(noise)
    assert ids_keep.shape == (3, 16) and mask.sum(dim=1).tolist() == [48.0] * 3
    for b in range(3):  # kept indices are exactly the unmasked ones: the 16 smallest noises
        assert set(ids_keep[b].tolist()) == set((mask[b] == 0).nonzero().flatten().tolist())
        assert set(ids_keep[b].tolist()) == set(noise[b].argsort()[:16].tolist())


def test_encoder_never_sees_masked_patches():
    torch.manual_seed(0)
    model = mae_tiny().eval()
    imgs = torch.randn(2, 3, 32, 32)
    noise = torch.rand(2, 64)
    ids_keep, _, mask = model.random_masking(noise)
    latent = model.encoder(imgs, ids_keep)
    assert latent.shape == (2, 1 + 16, 64)  # class token + the 25 % visible patches
    # Overwrite every masked patch with garbage: latent and prediction must not move.
    garbage = model.patchify(imgs) + 100 * mask[..., None] * torch.randn(2, 64, 48)
    imgs2 = model.unpatchify(garbage)
    assert not torch.allclose(imgs, imgs2)
    with torch.no_grad():
        torch.testing.assert_close(model.encoder(imgs2, ids_keep), latent)
        _, pred1, _ = model(imgs, noise)
        _, pred2, _ = model(imgs2, noise)
    torch.testing.assert_close(pred1, pred2)


def test_loss_ignores_visible_patches():
    torch.manual_seed(0)
    model = mae_tiny(norm_pix_loss=False)
    imgs = torch.randn(2, 3, 32, 32)
    _, pred, mask = model(imgs)
    pred = pred.detach()
    loss = model.loss(imgs, pred, mask)
    # hand-computed: mean over masked patches of the per-patch mean squared error
    target = model.patchify(imgs)
    errs = [
        ((pred[b, i] - target[b, i]) ** 2).mean()
        for b in range(2)
        for i in range(64)
        if mask[b, i] == 1
    ]
    torch.testing.assert_close(loss, torch.stack(errs).mean())
    visible = (mask == 0)[..., None]
    assert torch.equal(model.loss(imgs, pred + 50 * visible, mask), loss)
    assert model.loss(imgs, pred + 50 * ~visible, mask) > loss + 1


def test_norm_pix_loss_target():
    model = mae_tiny()
    imgs = torch.randn(1, 3, 32, 32)
    target = model.patchify(imgs)
    normed = (target - target.mean(-1, keepdim=True)) / (target.var(-1, keepdim=True) + 1e-6) ** 0.5
    mask = torch.ones(1, 64)
    torch.testing.assert_close(model.loss(imgs, normed, mask), torch.tensor(0.0))


def test_gradients_finite_and_fixed_embeddings_untouched():
    torch.manual_seed(0)
    model = mae_tiny()
    loss, _, _ = model(torch.randn(2, 3, 32, 32))
    loss.backward()
    for name, p in model.named_parameters():
        if p.requires_grad:
            assert p.grad is not None and torch.isfinite(p.grad).all(), name
        else:
            assert p.grad is None, name
    assert MAEConfig.tiny().n_patches == 64
