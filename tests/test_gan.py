"""Tests for reference_impl/gan.py: counts, shapes, the losses of Eq. (1)/§3, Prop. 1, Thm. 1."""

import dataclasses
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from reference_impl import gan


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# ───────────────────────── parameter counts (meta device) ─────────────────────────


def test_mnist_counts():
    with torch.device("meta"):
        model = gan.gan_mnist()
    # G: 100·1200+1200 + 1200·1200+1200 + 1200·784+784
    assert n_params(model.generator) == 2_503_984
    # D: maxout 784→240×5, 240→240×5, then 240→1
    assert n_params(model.discriminator) == 942_000 + 289_200 + 241 == 1_231_441
    assert n_params(model) == 3_735_425


def test_dcgan_counts():
    with torch.device("meta"):
        paper, example = gan.dcgan(), gan.dcgan_pytorch_example()
    # Paper (Fig. 1): 100→4·4·1024 projection, 5×5 kernels, BN everywhere but the output.
    assert n_params(paper.generator) == 18_855_040
    assert n_params(paper.discriminator) == 17_232_768
    # PyTorch-examples DCGAN: the well-known 3,576,704 (G) and 2,765,568 (D).
    assert n_params(example.generator) == 3_576_704
    assert n_params(example.discriminator) == 2_765_568


@pytest.mark.parametrize("build", [gan.gan_mnist, gan.dcgan])
def test_paper_models_run_on_meta(build):
    with torch.device("meta"):
        model = build().eval()  # as the catalog builds it (train-mode dropout on meta is slow)
        z = torch.empty(2, model.cfg.z_dim)
        if isinstance(model, gan.GAN):
            x = torch.empty(2, 784)
        else:
            x = torch.empty(2, 3, 64, 64)
        real, fake = model(z, x)
        assert model.generator(z).shape == x.shape
    assert real.shape == fake.shape == (2,)


# ───────────────────────── shapes and gradients on tiny configs ─────────────────────────


def test_tiny_shapes_and_finite_grads():
    torch.manual_seed(0)
    for model, x in (
        (gan.GAN(gan.GANConfig.tiny()), torch.rand(5, 6)),
        (gan.DCGAN(gan.DCGANConfig.tiny()), torch.rand(5, 3, 16, 16) * 2 - 1),
    ):
        z = torch.randn(5, model.cfg.z_dim)
        sample = model.generator(z)
        assert sample.shape == x.shape
        real, fake = model(z, x)
        assert real.shape == fake.shape == (5,)
        (gan.discriminator_loss(real, fake) + gan.generator_loss_nonsaturating(fake)).backward()
        for p in model.parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all()
    # output ranges: sigmoid for the MLP generator, tanh for DCGAN
    assert sample.abs().max() <= 1


def test_maxout_is_max_over_pieces():
    torch.manual_seed(0)
    layer = gan.Maxout(3, units=2, pieces=4)
    x = torch.randn(7, 3)
    pre = layer.linear(x).view(7, 2, 4)
    assert torch.equal(layer(x), pre.max(-1).values)


def test_dcgan_matches_pytorch_example_layout():
    """Our DCGAN with the example config equals the PyTorch-examples nn.Sequential models."""
    torch.manual_seed(0)
    nz, g, f = 8, 4, 4  # noise size, generator and discriminator base widths
    ours = gan.DCGAN(gan.DCGANConfig(z_dim=nz, ngf=g, ndf=f, image_size=64, kernel_size=4))
    ref_g = nn.Sequential(
        nn.ConvTranspose2d(nz, g * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(g * 8), nn.ReLU(),
        nn.ConvTranspose2d(g * 8, g * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(g * 4), nn.ReLU(),
        nn.ConvTranspose2d(g * 4, g * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(g * 2), nn.ReLU(),
        nn.ConvTranspose2d(g * 2, g, 4, 2, 1, bias=False), nn.BatchNorm2d(g), nn.ReLU(),
        nn.ConvTranspose2d(g, 3, 4, 2, 1, bias=False), nn.Tanh(),
    )  # fmt: skip
    ref_d = nn.Sequential(
        nn.Conv2d(3, f, 4, 2, 1, bias=False), nn.LeakyReLU(0.2),
        nn.Conv2d(f, f * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(f * 2), nn.LeakyReLU(0.2),
        nn.Conv2d(f * 2, f * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(f * 4), nn.LeakyReLU(0.2),
        nn.Conv2d(f * 4, f * 8, 4, 2, 1, bias=False), nn.BatchNorm2d(f * 8), nn.LeakyReLU(0.2),
        nn.Conv2d(f * 8, 1, 4, 1, 0, bias=False),
    )  # fmt: skip
    assert n_params(ours.generator) == n_params(ref_g)
    assert n_params(ours.discriminator) == n_params(ref_d)
    # A 4×4 transposed conv on a 1×1 input is the "project and reshape" matrix multiplication.
    gen = ours.generator
    with torch.no_grad():
        gen.project.weight.copy_(ref_g[0].weight.reshape(nz, -1).T)
        pairs = [(gen.project_bn, ref_g[1])]
        for i, block in enumerate(gen.blocks):
            block[0].weight.copy_(ref_g[3 + 3 * i].weight)
            if i < 3:
                pairs.append((block[1], ref_g[4 + 3 * i]))
        d = ours.discriminator
        convs = [m for m in ref_d if isinstance(m, nn.Conv2d)]
        bns = [m for m in ref_d if isinstance(m, nn.BatchNorm2d)]
        for i, block in enumerate(d.blocks):
            block[0].weight.copy_(convs[i].weight)
            if i > 0:
                pairs.append((block[1], bns[i - 1]))
        d.head.weight.copy_(convs[-1].weight.reshape(1, -1))
        for mine, theirs in pairs:  # random affine + running stats, so BN is not an identity
            theirs.weight.uniform_(0.5, 1.5)
            theirs.bias.normal_()
            theirs.running_mean.normal_()
            theirs.running_var.uniform_(0.5, 2.0)
            mine.load_state_dict(theirs.state_dict())
    ours.eval(), ref_g.eval(), ref_d.eval()
    z = torch.randn(3, nz)
    x = ours.generator(z)
    assert torch.allclose(x, ref_g(z[:, :, None, None]), atol=1e-5)
    assert torch.allclose(ours.discriminator(x), ref_d(x).flatten(), atol=1e-5)


# ───────────────────────── losses: Eq. (1) and §3 ─────────────────────────


def test_losses_are_binary_cross_entropies():
    torch.manual_seed(0)
    real, fake = torch.randn(64) * 3, torch.randn(64) * 3
    ones, zeros = torch.ones(64), torch.zeros(64)
    bce = F.binary_cross_entropy_with_logits
    assert torch.allclose(gan.discriminator_loss(real, fake), bce(real, ones) + bce(fake, zeros))
    # non-saturating: -E log D(G(z)) = BCE with target 1 ("label flipping")
    assert torch.allclose(gan.generator_loss_nonsaturating(fake), bce(fake, ones))
    # minimax: E log(1 - D(G(z))) = -BCE with target 0
    assert torch.allclose(gan.generator_loss_minimax(fake), -bce(fake, zeros))
    # and in terms of probabilities D = σ(ℓ)
    d = torch.sigmoid(fake)
    assert torch.allclose(gan.generator_loss_nonsaturating(fake), -d.log().mean(), atol=1e-5)
    assert torch.allclose(gan.generator_loss_minimax(fake), (1 - d).log().mean(), atol=1e-5)


def test_minimax_loss_saturates_where_nonsaturating_does_not():
    """Early in training D rejects samples (ℓ ≪ 0): log(1-D) has no gradient left (§3)."""
    logit = torch.tensor([-8.0], requires_grad=True)
    (g_mm,) = torch.autograd.grad(gan.generator_loss_minimax(logit), logit)
    (g_ns,) = torch.autograd.grad(gan.generator_loss_nonsaturating(logit), logit)
    assert abs(g_mm.item()) < 1e-3  # -σ(ℓ) ≈ -3.4e-4
    assert g_ns.item() < -0.99  # -(1-σ(ℓ)) ≈ -1
    # both push ℓ up (the generator wants D(G(z)) larger): same sign, same fixed point
    assert g_mm.item() < 0


# ───────────────────────── Prop. 1 and Thm. 1 on a 1-D toy problem ─────────────────────────


def normal_pdf(x: torch.Tensor, mean: float, std: float = 1.0) -> torch.Tensor:
    return torch.exp(-0.5 * ((x - mean) / std) ** 2) / (std * math.sqrt(2 * math.pi))


def test_trained_discriminator_approaches_optimal_discriminator():
    """p_data = N(0,1), p_g = N(1,1): D* = p_data/(p_data+p_g) = σ(1/2 - x) (Prop. 1)."""
    torch.manual_seed(0)
    # one maxout unit of two pieces can represent the optimal logit 1/2 - x exactly
    cfg = gan.GANConfig(
        x_dim=1, d_units=(2,), d_pieces=2, d_input_dropout=0.0, d_hidden_dropout=0.0
    )
    disc = gan.MaxoutDiscriminator(cfg)
    x_data, x_g = torch.randn(10000, 1), torch.randn(10000, 1) + 1
    opt = torch.optim.Adam(disc.parameters(), lr=0.03)
    for _ in range(300):
        loss = gan.discriminator_loss(disc(x_data), disc(x_g))
        opt.zero_grad()
        loss.backward()
        opt.step()
    grid = torch.linspace(-1.5, 2.5, 41)
    d_star = gan.optimal_discriminator(normal_pdf(grid, 0.0), normal_pdf(grid, 1.0))
    assert torch.allclose(d_star, torch.sigmoid(0.5 - grid), atol=1e-6)  # the closed form
    with torch.no_grad():
        d_learned = torch.sigmoid(disc(grid[:, None]))
    assert (d_learned - d_star).abs().max() < 0.05


def test_value_at_optimal_discriminator_is_js_divergence():
    """Thm. 1: V(D*, G) = -log 4 + 2·JSD(p_data ‖ p_g), minimal (= -log 4) iff p_g = p_data."""
    x = torch.linspace(-10, 12, 20001, dtype=torch.float64)
    dx = x[1] - x[0]
    p = normal_pdf(x, 0.0) * dx  # discretised densities (sum ≈ 1)
    for mean_g, std_g in ((0.0, 1.0), (1.0, 1.0), (3.0, 0.5)):
        q = normal_pdf(x, mean_g, std_g) * dx
        p, q = p / p.sum(), q / q.sum()
        d_star = gan.optimal_discriminator(p, q)
        xlogy = torch.special.xlogy  # 0·log 0 = 0 where a density underflows
        one_minus = gan.optimal_discriminator(q, p)  # 1 - D*, without cancellation in the tails
        value = xlogy(p, d_star).sum() + xlogy(q, one_minus).sum()  # Eq. (1) at D*
        jsd = gan.js_divergence(p, q)
        assert torch.allclose(value, -math.log(4) + 2 * jsd, atol=1e-9)
        assert 0 <= jsd <= math.log(2) + 1e-12
        if mean_g == 0.0 and std_g == 1.0:
            assert abs(jsd.item()) < 1e-12 and abs(value.item() + math.log(4)) < 1e-9


def test_js_is_symmetric_and_bounded_unlike_kl():
    p = torch.tensor([0.5, 0.5, 0.0])
    q = torch.tensor([0.0, 0.5, 0.5])
    assert torch.allclose(gan.js_divergence(p, q), gan.js_divergence(q, p))
    # disjoint supports: JSD = log 2 (finite), while KL(p‖q) = ∞
    assert torch.allclose(
        gan.js_divergence(torch.eye(2)[0], torch.eye(2)[1]), torch.tensor(math.log(2))
    )
    assert torch.isinf(torch.special.xlogy(p, p / q).sum())


# ───────────────────────── one optimisation step moves things as expected ─────────────────────────


def test_one_step_of_each_player():
    torch.manual_seed(0)
    cfg = dataclasses.replace(gan.GANConfig.tiny(), d_input_dropout=0.0, d_hidden_dropout=0.0)
    model = gan.GAN(cfg)
    x, z = torch.rand(32, cfg.x_dim), torch.randn(32, cfg.z_dim)

    # discriminator step: -V(D, G) decreases on the same batch
    opt_d = torch.optim.SGD(model.discriminator.parameters(), lr=0.05)
    before = gan.discriminator_loss(*model(z, x))
    opt_d.zero_grad()
    before.backward()
    opt_d.step()
    with torch.no_grad():
        after = gan.discriminator_loss(*model(z, x))
    assert after < before

    # generator step (non-saturating): D(G(z)) goes up for the same z; D unchanged
    d_state = {k: v.clone() for k, v in model.discriminator.state_dict().items()}
    opt_g = torch.optim.SGD(model.generator.parameters(), lr=0.05)
    _, fake = model(z, x)
    opt_g.zero_grad()
    gan.generator_loss_nonsaturating(fake).backward()
    opt_g.step()
    with torch.no_grad():
        _, fake_after = model(z, x)
    assert torch.sigmoid(fake_after).mean() > torch.sigmoid(fake).mean()
    for k, v in model.discriminator.state_dict().items():
        assert torch.equal(v, d_state[k])
