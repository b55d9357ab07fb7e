"""Tests for reference_impl/dalle2.py: schedules, q(x_t|x_0), counts, CLIP, training, sampling."""

import math

import pytest
import torch
from torch import nn

from reference_impl import dalle2


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# ───────────────────────── noise schedules and q(x_t | x_0) ─────────────────────────


@pytest.mark.parametrize("name", ["linear", "cosine"])
def test_schedule_properties(name):
    diff = dalle2.GaussianDiffusion(1000, name)
    betas, abar = diff.betas, diff.alphas_cumprod
    assert betas.shape == abar.shape == (1000,)
    assert ((betas > 0) & (betas < 1)).all()
    assert ((abar > 0) & (abar < 1)).all()
    assert (abar[1:] < abar[:-1]).all()  # strictly decreasing: every step adds noise
    assert abar[0] > 0.999 and abar[-1] < 1e-4  # from almost clean to almost pure noise
    if name == "linear":
        assert math.isclose(betas[0], 1e-4) and math.isclose(betas[-1], 0.02)
    else:  # ᾱ_t = f(t)/f(0), index i holds t = (i + 1)/T
        f = lambda u: math.cos((u + 0.008) / 1.008 * math.pi / 2) ** 2  # noqa: E731
        for i in (0, 249, 499, 899):
            assert math.isclose(abar[i], f((i + 1) / 1000) / f(0), rel_tol=1e-9)
        assert betas.max() <= 0.999


def test_q_sample_moments():
    """x_t | x_0 ~ N(√ᾱ_t x_0, (1-ᾱ_t) I) (Ho et al., Eq. 4)."""
    diff = dalle2.GaussianDiffusion(1000, "cosine")
    gen = torch.Generator().manual_seed(0)
    x0 = torch.linspace(-1, 1, 8).repeat(40000, 1)  # (40000, 8), the same x_0 in every row
    for i in (10, 300, 700):
        t = torch.full((40000,), i)
        x_t = diff.q_sample(x0, t, torch.randn(x0.shape, generator=gen))
        abar = diff.alphas_cumprod[i].item()
        assert torch.allclose(x_t.mean(0), math.sqrt(abar) * x0[0], atol=0.02)
        assert torch.allclose(x_t.var(0), torch.full((8,), 1 - abar), rtol=0.04, atol=1e-3)


def test_posterior_is_consistent_with_the_forward_process():
    """Eqs. (6)-(7): x_t ~ q(x_t|x_0), then x_{t-1} ~ q(x_{t-1}|x_t,x_0) gives q(x_{t-1}|x_0)."""
    diff = dalle2.GaussianDiffusion(1000, "cosine")
    abar, prev = diff.alphas_cumprod, diff.alphas_cumprod_prev
    # mean: c0 + ct·√ᾱ_t = √ᾱ_{t-1};  variance: ct²(1-ᾱ_t) + β̃_t = 1-ᾱ_{t-1}
    assert torch.allclose(diff.coef_x0 + diff.coef_xt * abar.sqrt(), prev.sqrt())
    assert torch.allclose(diff.coef_xt**2 * (1 - abar) + diff.posterior_variance, 1 - prev)
    # predict_x0 inverts q_sample exactly when given the true noise
    x0, eps = torch.randn(2, 4, 3, 2, 2, dtype=torch.float64)  # float64: ᾱ_T is tiny
    t = torch.tensor([0, 5, 500, 999])
    x_t = diff.q_sample(x0, t, eps)
    assert torch.allclose(diff.predict_x0(x_t, t, eps), x0, atol=1e-9)


@pytest.mark.parametrize("predicts", ["eps", "x0"])
def test_sampler_with_an_oracle_returns_the_data_point(predicts):
    """For data = one point x*, a perfect denoiser makes ancestral sampling land on x*."""
    diff = dalle2.GaussianDiffusion(50, "cosine")
    x_star = torch.tensor([[0.5, -0.25, 0.75]])

    def oracle(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        if predicts == "x0":
            return x_star.expand_as(x_t)
        abar = diff.alphas_cumprod[t].float()[:, None]
        return (x_t - abar.sqrt() * x_star) / (1 - abar).sqrt()

    out = diff.sample(oracle, (4, 3), predicts, torch.Generator().manual_seed(0))
    assert torch.allclose(out, x_star.expand(4, 3), atol=1e-3)


# ───────────────────────── parameter counts at paper scale (meta device) ─────────────────────────


def test_paper_scale_counts_on_meta():
    with torch.device("meta"):
        clip = dalle2.unclip_clip().eval()
        prior = dalle2.unclip_prior().eval()
        decoder = dalle2.unclip_decoder().eval()
        img, tok = torch.empty(1, 3, 256, 256), torch.zeros(1, 77, dtype=torch.long)
        image_embed, text_embed = clip(img, tok)
        t = torch.zeros(1, dtype=torch.long)
        z = prior(torch.empty(1, 77, 1024), text_embed, image_embed, t)
        eps = decoder(torch.empty(1, 3, 64, 64), t, z, torch.zeros(1, 256, dtype=torch.long))
    assert image_embed.shape == text_embed.shape == z.shape == (1, 1024)
    assert eps.shape == (1, 6, 64, 64)

    # CLIP ViT-H/16 (256 px) + text encoder 1024 × 24
    assert n_params(clip) == 986_339_841
    # prior (Appendix C / Table 3): 24 pre-LN blocks of width 2048 (12d² + 13d each), 32 heads
    d = 2048
    assert prior.transformer.blocks[0].attn.n_heads == 32
    blocks = 24 * (12 * d * d + 13 * d)
    assert n_params(prior.transformer) == blocks == 1_208_598_528  # the blocks alone exceed 1B
    # + 3 input projections 1024→d, the timestep table (1000 rows), the final query,
    # 256 + 4 positions, the final LayerNorm and the output projection d→1024
    rest = 3 * (1024 * d + d) + 1000 * d + d + 260 * d + 2 * d + (d * 1024 + 1024)
    assert n_params(prior) == blocks + rest == 1_219_580_928  # paper: "1B" (see the catalog's gap)
    # decoder: GLIDE text encoder (2048 × 24) + ADM U-Net (512 ch, mult 1,2,3,4, 3 blocks)
    assert n_params(decoder) == 3_565_434_374
    assert abs(n_params(decoder) / 3.5e9 - 1) < 0.02  # paper: 3.5B
    xf = n_params(decoder.text_transformer)
    assert xf == 24 * (12 * 2048 * 2048 + 13 * 2048)  # ≈ 1.21 B, GLIDE's "roughly 1.2B"


# ───────────────────────── the CLIP copy ─────────────────────────


@pytest.mark.parametrize("causal", [False, True])
def test_attention_matches_nn_multiheadattention(causal):
    torch.manual_seed(0)
    ours = dalle2.Attention(32, 4).eval()
    ref = nn.MultiheadAttention(32, 4, batch_first=True).eval()
    with torch.no_grad():
        ref.in_proj_weight.copy_(ours.qkv.weight)
        ref.in_proj_bias.copy_(ours.qkv.bias)
        ref.out_proj.weight.copy_(ours.proj.weight)
        ref.out_proj.bias.copy_(ours.proj.bias)
    x = torch.randn(2, 7, 32)
    mask = torch.triu(torch.full((7, 7), float("-inf")), 1) if causal else None
    expected, _ = ref(x, x, x, attn_mask=mask, need_weights=False)
    assert torch.allclose(ours(x, causal), expected, atol=1e-5)


def test_clip_embeddings_and_causal_text_encoder():
    torch.manual_seed(0)
    cfg = dalle2.CLIPConfig.tiny()
    clip = dalle2.CLIP(cfg).eval()
    image_embed, text_embed = clip(torch.randn(3, 3, 16, 16), torch.randint(1, 60, (3, 8)))
    assert image_embed.shape == text_embed.shape == (3, cfg.embed_dim)
    assert torch.allclose(image_embed.norm(dim=-1), torch.ones(3))
    assert torch.allclose(text_embed.norm(dim=-1), torch.ones(3))
    # the embedding is read at the end-of-text token (largest id); with the causal mask, tokens
    # after it cannot change it
    tokens = torch.tensor([[5, 9, 63, 0, 0, 0, 0, 0]])
    changed = torch.tensor([[5, 9, 63, 7, 3, 1, 2, 4]])
    assert torch.allclose(clip.encode_text(tokens)[0], clip.encode_text(changed)[0], atol=1e-6)
    before = torch.tensor([[6, 9, 63, 0, 0, 0, 0, 0]])
    assert not torch.allclose(clip.encode_text(tokens)[0], clip.encode_text(before)[0])


# ───────────────────────── prior and decoder: shapes, training step ─────────────────────────


def unzero(module: nn.Module) -> None:
    """Give the zero-initialised convolutions (ADM's identity-at-init trick) random weights."""
    for m in module.modules():
        if isinstance(m, (nn.Conv1d, nn.Conv2d)) and not m.weight.any():
            nn.init.normal_(m.weight, std=0.05)


def tiny_batch(model: dalle2.UnCLIP, seed: int = 0) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    B = 4
    images = torch.rand(B, 3, 16, 16, generator=gen) * 2 - 1
    clip_tokens = torch.randint(1, 63, (B, 8), generator=gen)
    with torch.no_grad():
        image_embed = model.clip.encode_image(images)
        text_embed, text_enc = model.clip.encode_text(clip_tokens)
    return {
        "images": images,
        "image_embed": image_embed,
        "text_embed": text_embed,
        "text_enc": text_enc,
        "dec_tokens": torch.randint(0, 64, (B, 8), generator=gen),
        "t": torch.randint(0, 20, (B,), generator=gen),
        "noise_z": torch.randn(B, 16, generator=gen),
        "noise_x": torch.randn(B, 3, 16, 16, generator=gen),
    }


def test_decoder_starts_as_zero_and_is_conditioned():
    torch.manual_seed(0)
    model = dalle2.unclip_tiny().eval()
    b = tiny_batch(model)
    x_t = model.decoder_diffusion.q_sample(b["images"], b["t"], b["noise_x"])
    out = model.decoder(x_t, b["t"], b["image_embed"], b["dec_tokens"])
    assert out.shape == (4, 6, 16, 16)
    assert (out == 0).all()  # zero-initialised output convolution (ADM/GLIDE)
    unzero(model.decoder)  # as after some training: every path now reaches the output
    out = model.decoder(x_t, b["t"], b["image_embed"], b["dec_tokens"])
    other = model.decoder(x_t, b["t"], b["image_embed"].roll(1, 0), b["dec_tokens"])
    assert not torch.allclose(out, other)  # the CLIP image embedding reaches the output
    # classifier-free guidance: s = 1 is the conditional model, s = 0 the unconditional one
    eps_c = model.decoder(x_t, b["t"], b["image_embed"], b["dec_tokens"])[:, :3]
    no_caption = torch.zeros_like(b["dec_tokens"], dtype=torch.bool)
    null_embed = torch.zeros_like(b["image_embed"])
    eps_u = model.decoder(x_t, b["t"], null_embed, b["dec_tokens"], no_caption)[:, :3]
    g = model.decoder.guided_eps
    assert torch.allclose(g(x_t, b["t"], b["image_embed"], b["dec_tokens"], 1.0), eps_c, atol=1e-5)
    assert torch.allclose(g(x_t, b["t"], b["image_embed"], b["dec_tokens"], 0.0), eps_u, atol=1e-5)
    g3 = g(x_t, b["t"], b["image_embed"], b["dec_tokens"], 3.0)
    assert torch.allclose(g3, eps_u + 3 * (eps_c - eps_u), atol=1e-5)


def test_one_training_step_lowers_the_loss_on_a_fixed_batch():
    torch.manual_seed(0)
    model = dalle2.unclip_tiny()
    unzero(model.decoder)
    b = tiny_batch(model)

    def prior_loss() -> torch.Tensor:
        return dalle2.prior_loss(
            model.prior,
            model.prior_diffusion,
            b["image_embed"],
            b["text_embed"],
            b["text_enc"],
            b["t"],
            b["noise_z"],
        )

    def decoder_loss() -> torch.Tensor:
        keep = torch.tensor([True, True, False, True])  # one sample without its conditions
        return dalle2.decoder_loss(
            model.decoder,
            model.decoder_diffusion,
            b["images"],
            b["image_embed"],
            b["dec_tokens"],
            b["t"],
            b["noise_x"],
            keep_image_embed=keep,
            keep_caption=keep,
        )

    for module, loss_fn in ((model.prior, prior_loss), (model.decoder, decoder_loss)):
        opt = torch.optim.SGD(module.parameters(), lr=0.01)
        before = loss_fn()
        opt.zero_grad()
        before.backward()
        assert all(torch.isfinite(p.grad).all() for p in module.parameters() if p.grad is not None)
        opt.step()
        with torch.no_grad():
            after = loss_fn()
        assert after < before


def test_unclip_sampling_shapes():
    torch.manual_seed(0)
    model = dalle2.unclip_tiny().eval()
    unzero(model.decoder)
    gen = torch.Generator().manual_seed(0)
    clip_tokens = torch.randint(1, 63, (2, 8), generator=gen)
    dec_tokens = torch.randint(0, 64, (2, 8), generator=gen)
    images = model.sample(clip_tokens, dec_tokens, guidance_scale=3.0, generator=gen)
    assert images.shape == (2, 3, 16, 16)
    assert torch.isfinite(images).all() and images.abs().max() <= 1.0 + 1e-6
    # the prior alone: one image embedding per caption
    text_embed, text_enc = model.clip.encode_text(clip_tokens)
    z = model.prior_diffusion.sample(
        lambda z_t, t: model.prior(text_enc, text_embed, z_t, t), (2, 16), "x0", gen
    )
    assert z.shape == (2, 16) and torch.isfinite(z).all()
