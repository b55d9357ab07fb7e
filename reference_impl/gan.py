r"""Generative Adversarial Nets (GAN) and Deep Convolutional GAN (DCGAN).

* Ian Goodfellow, Jean Pouget-Abadie, Mehdi Mirza, Bing Xu, David Warde-Farley, Sherjil Ozair,
  Aaron Courville, Yoshua Bengio. *Generative Adversarial Nets*. NeurIPS 2014. arXiv:1406.2661.
* Alec Radford, Luke Metz, Soumith Chintala. *Unsupervised Representation Learning with Deep
  Convolutional Generative Adversarial Networks*. ICLR 2016. arXiv:1511.06434.

What is implemented:

* The two-player value function $V(D, G)$ of Eq. (1), the non-saturating generator loss of §3
  ("maximise $\log D(G(z))$"), the optimal discriminator
  $D^*_G(x) = p_\text{data}(x) / (p_\text{data}(x) + p_g(x))$ of Prop. 1 and the Jensen–Shannon
  divergence that $V(D^*_G, G)$ measures (Thm. 1).
* The MNIST networks of the authors' released pylearn2 configuration (``mnist.yaml`` in
  ``goodfeli/adversarial``): generator $100 \to 1200 \to 1200 \to 784$ (ReLU, ReLU, sigmoid) fed
  with $z \sim \mathcal{N}(0, I)$; discriminator with two maxout layers of 240 units × 5 pieces
  and one sigmoid unit; dropout on the discriminator's inputs (keep 0.8 at the pixels, 0.5 before
  the other layers).
* DCGAN following the paper's Fig. 1 and §3 guidelines: $z \in \mathbb{R}^{100}$ projected and
  reshaped to $4{\times}4{\times}1024$, four 5×5 fractionally-strided convolutions
  ($1024 \to 512 \to 256 \to 128 \to 3$) up to $64{\times}64$, BatchNorm + ReLU in the generator,
  tanh output; a discriminator mirroring it with stride-2 convolutions, BatchNorm (not on its
  first layer), LeakyReLU(0.2) and one linear sigmoid unit. ``dcgan_pytorch_example()`` builds the
  smaller variant popularised by the PyTorch examples (64 base channels, 4×4 kernels).

Deviations:

* The discriminators return the logit $\ell$ with $D(x) = \sigma(\ell)$; the losses apply the
  sigmoid through ``logsigmoid`` (the same function, without overflow for large $|\ell|$).
* The DCGAN paper does not give the discriminator's widths; we mirror the generator (128, 256,
  512, 1024 channels). Convolutions carry no bias (BatchNorm's shift makes it redundant).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn


# --8<-- [start:config]
@dataclass(frozen=True)
class GANConfig:
    """Fully connected GAN; defaults are the MNIST setup of the authors' ``mnist.yaml``."""

    z_dim: int = 100  # noise dimension (nvis: 100), z ~ N(0, I)
    g_hidden: tuple[int, ...] = (1200, 1200)  # two ReLU layers of 1200 units
    x_dim: int = 784  # 28×28 pixels, flattened
    g_output: str = "sigmoid"  # "sigmoid": intensities in [0, 1]; "identity": real-valued data
    d_units: tuple[int, ...] = (240, 240)  # maxout units per layer
    d_pieces: int = 5  # linear pieces per maxout unit
    d_input_dropout: float = 0.2  # include probability 0.8 on the pixels
    d_hidden_dropout: float = 0.5  # include probability 0.5 before the other layers

    @classmethod
    def mnist(cls) -> GANConfig:
        """The paper's MNIST networks (the defaults)."""
        return cls()

    @classmethod
    def toy2d(cls) -> GANConfig:
        """A small GAN for 2-D toy data (the Gaussian-ring demo on the page)."""
        return cls(
            z_dim=8,
            g_hidden=(128, 128),
            x_dim=2,
            g_output="identity",
            d_units=(64, 64),
            d_pieces=4,
            d_input_dropout=0.0,
            d_hidden_dropout=0.0,
        )

    @classmethod
    def tiny(cls) -> GANConfig:
        """A few hundred parameters, for tests."""
        return cls(z_dim=4, g_hidden=(16, 16), x_dim=6, d_units=(8, 8), d_pieces=3)


@dataclass(frozen=True)
class DCGANConfig:
    """DCGAN; defaults are the paper's 64×64 generator of Fig. 1."""

    z_dim: int = 100  # "100 dimensional uniform distribution Z" (Fig. 1)
    ngf: int = 128  # generator channels at 32×32; ×8 = 1024 feature maps at 4×4
    ndf: int = 128  # discriminator channels at 32×32 (not in the paper: mirror of G)
    n_channels: int = 3  # RGB
    image_size: int = 64  # 4 · 2⁴: four stride-2 layers after the 4×4 projection
    kernel_size: int = 5  # 5×5 kernels (Fig. 1)
    leak: float = 0.2  # LeakyReLU slope in D (§4)

    @classmethod
    def pytorch_example(cls) -> DCGANConfig:
        """The smaller DCGAN of the PyTorch examples: 64 base channels, 4×4 kernels."""
        return cls(ngf=64, ndf=64, kernel_size=4)

    @classmethod
    def tiny(cls) -> DCGANConfig:
        """16×16 images with 4 base channels, for tests."""
        return cls(z_dim=8, ngf=4, ndf=4, image_size=16, kernel_size=4)


# --8<-- [end:config]


# --8<-- [start:losses]
def discriminator_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    r"""$-V(D, G)$ on a batch, minimised by $D$ (Eq. 1).

    $V = \mathbb{E}_{x}[\log D(x)] + \mathbb{E}_{z}[\log(1 - D(G(z)))]$ with $D = \sigma(\ell)$,
    so $\log D = \log\sigma(\ell)$ and $\log(1 - D) = \log\sigma(-\ell)$.

    Args:
        real_logits: $\ell$ on data samples, shape (B,).
        fake_logits: $\ell$ on generated samples, shape (B,).

    Returns:
        Scalar loss: the binary cross-entropy with targets 1 (data) and 0 (generated), summed.
    """
    return -(F.logsigmoid(real_logits).mean() + F.logsigmoid(-fake_logits).mean())


def generator_loss_minimax(fake_logits: Tensor) -> Tensor:
    r"""The generator's side of Eq. (1): minimise $\mathbb{E}_z[\log(1 - D(G(z)))]$.

    Saturates: when $D$ confidently rejects the samples ($\ell \ll 0$), the gradient
    $\partial/\partial\ell = -\sigma(\ell)$ vanishes.
    """
    return F.logsigmoid(-fake_logits).mean()


def generator_loss_nonsaturating(fake_logits: Tensor) -> Tensor:
    r"""The loss used in practice (§3): minimise $-\mathbb{E}_z[\log D(G(z))]$.

    Same fixed point as the minimax loss, but $\partial/\partial\ell = -(1 - \sigma(\ell))$ stays
    close to $-1$ exactly when the generator is worst. Equals the BCE of $D(G(z))$ with target 1.
    """
    return -F.logsigmoid(fake_logits).mean()


def optimal_discriminator(p_data: Tensor, p_g: Tensor) -> Tensor:
    r"""Prop. 1: $D^*_G(x) = p_\text{data}(x) / (p_\text{data}(x) + p_g(x))$ (densities at $x$)."""
    return p_data / (p_data + p_g)


def js_divergence(p: Tensor, q: Tensor) -> Tensor:
    r"""Jensen–Shannon divergence of two discrete distributions (last dimension sums to 1).

    $\mathrm{JSD}(p\|q) = \tfrac12 \mathrm{KL}(p\|m) + \tfrac12 \mathrm{KL}(q\|m)$ with
    $m = (p + q)/2$; Thm. 1: $\max_D V(D, G) = -\log 4 + 2\,\mathrm{JSD}(p_\text{data}\|p_g)$.
    """
    m = 0.5 * (p + q)
    kl_pm = torch.where(p > 0, p * (p / m).log(), torch.zeros_like(p)).sum(-1)
    kl_qm = torch.where(q > 0, q * (q / m).log(), torch.zeros_like(q)).sum(-1)
    return 0.5 * (kl_pm + kl_qm)


# --8<-- [end:losses]


# --8<-- [start:maxout]
class Maxout(nn.Module):
    r"""Maxout layer (Goodfellow et al., 2013): $h_i = \max_{j \le k} (x W_{\cdot ij} + b_{ij})$."""

    def __init__(self, in_features: int, units: int, pieces: int) -> None:
        super().__init__()
        self.units, self.pieces = units, pieces
        self.linear = nn.Linear(in_features, units * pieces)

    def forward(self, x: Tensor) -> Tensor:
        """Map (B, in_features) to (B, units)."""
        z = self.linear(x).view(x.shape[0], self.units, self.pieces)  # (B, units, pieces)
        return z.amax(dim=-1)


# --8<-- [end:maxout]


# --8<-- [start:mlp]
class MLPGenerator(nn.Module):
    """$G(z)$: ReLU hidden layers, sigmoid (or identity) output."""

    def __init__(self, cfg: GANConfig) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = cfg.z_dim
        for hidden in cfg.g_hidden:
            layers += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        layers.append(nn.Linear(width, cfg.x_dim))
        layers.append(nn.Sigmoid() if cfg.g_output == "sigmoid" else nn.Identity())
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        """Map noise (B, z_dim) to samples (B, x_dim)."""
        return self.net(z)


class MaxoutDiscriminator(nn.Module):
    """$D(x)$: dropout + maxout layers, then one sigmoid unit (returned as its logit)."""

    def __init__(self, cfg: GANConfig) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width, p_drop = cfg.x_dim, cfg.d_input_dropout
        for units in cfg.d_units:
            layers += [nn.Dropout(p_drop), Maxout(width, units, cfg.d_pieces)]
            width, p_drop = units, cfg.d_hidden_dropout
        layers += [nn.Dropout(p_drop), nn.Linear(width, 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        r"""Map samples (B, x_dim) to logits (B,); $D(x) = \sigma(\text{logit})$."""
        return self.net(x).squeeze(-1)


class GAN(nn.Module):
    """The generator/discriminator pair of Goodfellow et al. (2014)."""

    def __init__(self, cfg: GANConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.generator = MLPGenerator(cfg)
        self.discriminator = MaxoutDiscriminator(cfg)

    def forward(self, z: Tensor, x: Tensor) -> tuple[Tensor, Tensor]:
        """One evaluation of both players.

        Args:
            z: noise, (B, z_dim).
            x: data samples, (B, x_dim).

        Returns:
            Discriminator logits on the data and on $G(z)$, each (B,).
        """
        x_fake = self.generator(z)  # (B, x_dim)
        logits = self.discriminator(torch.cat([x, x_fake]))  # (2B,): one pass over both halves
        return logits[: x.shape[0]], logits[x.shape[0] :]


# --8<-- [end:mlp]


# --8<-- [start:dcgan]
def _same_padding(kernel_size: int) -> int:
    return (kernel_size - 1) // 2  # with stride 2: halves (conv) or doubles (transposed) H and W


class DCGANGenerator(nn.Module):
    """Fig. 1: project and reshape, then fractionally-strided convolutions (BN + ReLU, tanh)."""

    def __init__(self, cfg: DCGANConfig) -> None:
        super().__init__()
        n_up = int(math.log2(cfg.image_size // 4))  # 4 for 64×64
        c0 = cfg.ngf * 2 ** (n_up - 1)  # 1024 in the paper
        k, p = cfg.kernel_size, _same_padding(cfg.kernel_size)
        self.c0 = c0
        # "Project and reshape": a matrix multiplication (no bias: BN follows).
        self.project = nn.Linear(cfg.z_dim, c0 * 4 * 4, bias=False)
        self.project_bn = nn.BatchNorm2d(c0)
        self.project_act = nn.ReLU()
        blocks: list[nn.Module] = []
        c = c0
        for i in range(n_up):
            last = i == n_up - 1
            c_out = cfg.n_channels if last else c // 2
            up = nn.ConvTranspose2d(c, c_out, k, 2, p, output_padding=k % 2, bias=False)
            blocks.append(
                nn.Sequential(up, nn.Tanh())
                if last
                else nn.Sequential(up, nn.BatchNorm2d(c_out), nn.ReLU())
            )
            c = c_out
        self.blocks = nn.Sequential(*blocks)

    def forward(self, z: Tensor) -> Tensor:
        """Map noise (B, z_dim) to images (B, C, H, W) in [-1, 1]."""
        h = self.project(z).view(z.shape[0], self.c0, 4, 4)  # (B, 8·ngf, 4, 4)
        h = self.project_act(self.project_bn(h))
        return self.blocks(h)


class DCGANDiscriminator(nn.Module):
    """Stride-2 convolutions (no pooling), LeakyReLU, BN except on the first layer; linear out."""

    def __init__(self, cfg: DCGANConfig) -> None:
        super().__init__()
        n_down = int(math.log2(cfg.image_size // 4))
        k, p = cfg.kernel_size, _same_padding(cfg.kernel_size)
        blocks: list[nn.Module] = []
        c_in, c = cfg.n_channels, cfg.ndf
        for i in range(n_down):
            conv = nn.Conv2d(c_in, c, k, 2, p, bias=False)
            norm = nn.Identity() if i == 0 else nn.BatchNorm2d(c)
            blocks.append(nn.Sequential(conv, norm, nn.LeakyReLU(cfg.leak)))
            c_in, c = c, c * 2
        self.blocks = nn.Sequential(*blocks)
        self.flatten = nn.Flatten()
        # "The last convolution layer is flattened and then fed into a single sigmoid output."
        self.head = nn.Linear(c_in * 4 * 4, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        r"""Map images (B, C, H, W) to logits (B,); $D(x) = \sigma(\text{logit})$."""
        return self.head(self.flatten(self.blocks(x))).squeeze(-1)


class DCGAN(nn.Module):
    """Generator/discriminator pair of Radford et al. (2016)."""

    def __init__(self, cfg: DCGANConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.generator = DCGANGenerator(cfg)
        self.discriminator = DCGANDiscriminator(cfg)

    def forward(self, z: Tensor, x: Tensor) -> tuple[Tensor, Tensor]:
        """One evaluation of both players.

        Args:
            z: noise, (B, z_dim).
            x: real images, (B, C, H, W) scaled to [-1, 1].

        Returns:
            Discriminator logits on the data and on $G(z)$, each (B,).
        """
        x_fake = self.generator(z)  # (B, C, H, W)
        logits = self.discriminator(torch.cat([x, x_fake]))  # (2B,)
        return logits[: x.shape[0]], logits[x.shape[0] :]


# --8<-- [end:dcgan]


def gan_mnist(**overrides: object) -> GAN:
    """GAN with the MNIST networks of Goodfellow et al. (2014)."""
    return GAN(dataclasses.replace(GANConfig.mnist(), **overrides))


def dcgan(**overrides: object) -> DCGAN:
    """DCGAN at 64×64 with the paper's 1024-channel generator (Fig. 1)."""
    return DCGAN(dataclasses.replace(DCGANConfig(), **overrides))


def dcgan_pytorch_example(**overrides: object) -> DCGAN:
    """The smaller DCGAN of the PyTorch examples (ngf = ndf = 64, 4×4 kernels)."""
    return DCGAN(dataclasses.replace(DCGANConfig.pytorch_example(), **overrides))


# ── loading the PyTorch examples' DCGAN weights ────────────────────────────────────────
# positions in the examples' `netG.main` / `netD.main` (nn.Sequential) → our module names
EXAMPLE_G_NAMES = {"1": "project_bn", "3": "blocks.0.0", "4": "blocks.0.1", "6": "blocks.1.0"}
EXAMPLE_G_NAMES |= {"7": "blocks.1.1", "9": "blocks.2.0", "10": "blocks.2.1", "12": "blocks.3.0"}
EXAMPLE_D_NAMES = {"0": "blocks.0.0", "2": "blocks.1.0", "3": "blocks.1.1", "5": "blocks.2.0"}
EXAMPLE_D_NAMES |= {"6": "blocks.2.1", "8": "blocks.3.0", "9": "blocks.3.1"}


def load_pytorch_example(model: DCGAN, net_g: dict[str, Tensor], net_d: dict[str, Tensor]) -> None:
    """Load the state dicts of `netG` and `netD` of the PyTorch examples' `dcgan/main.py`.

    Build ours with `dcgan_pytorch_example()` (64×64 images). Their first layer, a 4×4
    transposed convolution of the (B, z, 1, 1) noise, is our "project" matrix reshaped; their
    last, a 4×4 convolution to one map, is our linear head. Their `netD` ends in a sigmoid, ours
    returns the logit.
    """
    g = {"generator.project.weight": net_g["main.0.weight"].flatten(1).T}
    for key, value in net_g.items():
        position, leaf = key.removeprefix("main.").split(".", 1)
        if position != "0":
            g[f"generator.{EXAMPLE_G_NAMES[position]}.{leaf}"] = value
    d = {"discriminator.head.weight": net_d["main.11.weight"].flatten(1)}
    for key, value in net_d.items():
        position, leaf = key.removeprefix("main.").split(".", 1)
        if position != "11":
            d[f"discriminator.{EXAMPLE_D_NAMES[position]}.{leaf}"] = value
    model.load_state_dict(g | d)


__all__ = [
    "DCGAN",
    "EXAMPLE_D_NAMES",
    "EXAMPLE_G_NAMES",
    "GAN",
    "DCGANConfig",
    "DCGANDiscriminator",
    "DCGANGenerator",
    "GANConfig",
    "MLPGenerator",
    "Maxout",
    "MaxoutDiscriminator",
    "dcgan",
    "dcgan_pytorch_example",
    "discriminator_loss",
    "gan_mnist",
    "generator_loss_minimax",
    "generator_loss_nonsaturating",
    "js_divergence",
    "load_pytorch_example",
    "optimal_discriminator",
]

if __name__ == "__main__":
    torch.manual_seed(0)
    for model, x in (
        (GAN(GANConfig.tiny()), torch.rand(2, GANConfig.tiny().x_dim)),
        (DCGAN(DCGANConfig.tiny()), torch.randn(2, 3, 16, 16)),
    ):
        z = torch.randn(2, model.cfg.z_dim)
        real, fake = model(z, x)
        print(
            type(model).__name__, "G(z):", tuple(model.generator(z).shape), "D:", tuple(real.shape)
        )
