"""GAN figures: a GAN trained on a ring of 8 Gaussians, snapshots of its samples over training.

The models and losses are those of ``reference_impl/gan.py`` (``GANConfig.toy2d()``: an MLP
generator and a maxout discriminator, non-saturating generator loss). Two seeds, 1,000 Adam steps
each on batches of 128, under 10 s of CPU per run on one thread.
"""

from __future__ import annotations

import math

import torch
from matplotlib.figure import Figure

from reference_impl import gan
from tools.generator.figures import style

DEPENDS = ("reference_impl/gan.py",)

N_MODES, RADIUS, STD = 8, 2.0, 0.05
STEPS, SNAPSHOTS, BATCH = 1000, (0, 250, 500, 1000), 128
SEEDS = (0, 1)


def ring_centres() -> torch.Tensor:
    """The 8 mode centres on a circle of radius 2, shape (8, 2)."""
    angle = torch.arange(N_MODES) * 2 * math.pi / N_MODES
    return RADIUS * torch.stack([angle.cos(), angle.sin()], -1)


def sample_ring(n: int, gen: torch.Generator) -> torch.Tensor:
    """Draw n samples of the mixture: a uniformly chosen centre plus N(0, 0.05²I) noise."""
    idx = torch.randint(0, N_MODES, (n,), generator=gen)
    return ring_centres()[idx] + STD * torch.randn(n, 2, generator=gen)


def mode_counts(x: torch.Tensor) -> torch.Tensor:
    """Samples within 4σ of each centre, shape (8,)."""
    dist = torch.cdist(x, ring_centres())
    near = dist.min(1)
    return torch.bincount(near.indices[near.values < 4 * STD], minlength=N_MODES)


def train(seed: int) -> dict[int, torch.Tensor]:
    """Train the toy GAN; return the generator's samples (for fixed z) at each snapshot step."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    cfg = gan.GANConfig.toy2d()
    model = gan.GAN(cfg)
    opt_d = torch.optim.Adam(
        model.discriminator.parameters(), lr=1e-3, betas=(0.5, 0.999), foreach=True
    )
    opt_g = torch.optim.Adam(
        model.generator.parameters(), lr=1e-3, betas=(0.5, 0.999), foreach=True
    )
    z_fixed = torch.randn(2000, cfg.z_dim, generator=gen)
    snaps: dict[int, torch.Tensor] = {}
    for step in range(STEPS + 1):
        if step in SNAPSHOTS:
            with torch.no_grad():
                snaps[step] = model.generator(z_fixed)
        if step == STEPS:
            break
        x = sample_ring(BATCH, gen)
        with torch.no_grad():
            x_fake = model.generator(torch.randn(BATCH, cfg.z_dim, generator=gen))
        loss_d = gan.discriminator_loss(model.discriminator(x), model.discriminator(x_fake))
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        fake_logits = model.discriminator(
            model.generator(torch.randn(BATCH, cfg.z_dim, generator=gen))
        )
        loss_g = gan.generator_loss_nonsaturating(fake_logits)
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
    return snaps


def draw_ring_training() -> Figure:
    """8 个高斯组成的圆环上训练 GAN：每行一个随机种子，前四列为固定 z 的样本，末列为各模式样本数."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny networks: threads only add overhead
    try:
        runs = {seed: train(seed) for seed in SEEDS}
    finally:
        torch.set_num_threads(threads)
    data = sample_ring(2000, torch.Generator().manual_seed(123))
    fig = style.new_figure(width=8.0, height=3.6)
    fig.set_dpi(200)  # resolution of the rasterised dots inside the SVG
    axes = fig.subplots(len(SEEDS), len(SNAPSHOTS) + 1)
    for row, seed in enumerate(SEEDS):
        for col, step in enumerate(SNAPSHOTS):
            ax = axes[row, col]
            # 4,000 dots per panel: rasterised, or the inline SVG would weigh megabytes
            kw = {"s": 1, "linewidths": 0, "rasterized": True}
            ax.scatter(data[:, 0], data[:, 1], c="#9e9e9e", alpha=0.3, **kw)
            x = runs[seed][step]
            ax.scatter(x[:, 0], x[:, 1], c=style.PALETTE[row], alpha=0.5, **kw)
            ax.set(xlim=(-3, 3), ylim=(-3, 3), xticks=[], yticks=[], aspect="equal")
            if row == 0:
                ax.set_title(f"第 {step} 步", fontsize=9)
            if col == 0:
                ax.set_ylabel(f"种子 {seed}")
        counts = mode_counts(runs[seed][STEPS])
        ax = axes[row, -1]
        ax.bar(range(N_MODES), counts.tolist(), color=style.PALETTE[row])
        ax.axhline(2000 / N_MODES, color=style.FG, lw=0.8, ls="--")
        ax.set(xticks=range(N_MODES), ylim=(0, 2000 * 2.2 / N_MODES))
        ax.tick_params(labelsize=7)
        covered = int((counts >= 0.1 * 2000 / N_MODES).sum())
        ax.set_title(f"各模式样本数（覆盖 {covered}/8）", fontsize=8)
    return fig


FIGURES = {"gan-ring-training": draw_ring_training}
