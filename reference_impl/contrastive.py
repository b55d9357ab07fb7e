r"""Contrastive self-supervised learning: SimCLR and MoCo (v1, v2) side by side.

* SimCLR — Ting Chen, Simon Kornblith, Mohammad Norouzi, Geoffrey Hinton. "A Simple Framework for
  Contrastive Learning of Visual Representations". ICML 2020. arXiv:2002.05709.
* MoCo — Kaiming He, Haoqi Fan, Yuxin Wu, Saining Xie, Ross Girshick. "Momentum Contrast for
  Unsupervised Visual Representation Learning". CVPR 2020. arXiv:1911.05722.
* MoCo v2 — Xinlei Chen, Haoqi Fan, Ross Girshick, Kaiming He. "Improved Baselines with Momentum
  Contrastive Learning". arXiv:2003.04297, 2020.

Implemented:

* SimCLR §2.1: the augmentation pipeline of Appendix A (random resized crop + flip, colour jitter
  with p = 0.8, grayscale with p = 0.2, Gaussian blur with p = 0.5) in plain torch; the encoder
  $f$ (ResNet-50) and projection head $g(h) = W^{(2)}\sigma(W^{(1)}h)$; the NT-Xent loss, Eq. (1),
  with the other $2(N-1)$ views of the batch as negatives.
* MoCo §3.1–3.2: InfoNCE, Eq. (1); a query encoder, a momentum key encoder updated by Eq. (2)
  $\theta_k \leftarrow m\theta_k + (1-m)\theta_q$ and never by back-propagation; the dictionary as
  a first-in-first-out queue of K keys (Algorithm 1).
* MoCo v2 §2: the 2-layer MLP projection head (hidden 2048, ReLU) and τ = 0.2.
* A compact ResNet-50 trunk (He et al., 2016) so that this file stands alone.

Deviations:
    * ResNet puts the stride of a down-sampling bottleneck on the 3×3 convolution (torchvision's
      layout, which the released MoCo code uses); parameter counts are unaffected.
    * No Shuffling BN (MoCo §3.3) and no cross-device gathering: one process, one device.
    * Hue jitter rotates the chroma plane in YIQ space instead of shifting the hue in HSV —
      same effect for small shifts, simpler in plain tensor code.
    * The SimCLR projection head has biases (MoCo v2's layout) so that one head serves both.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections import OrderedDict
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn


@dataclass(frozen=True)
class ContrastiveConfig:
    """Encoder, head and loss hyper-parameters; defaults: MoCo v2 on ResNet-50.

    Attributes:
        layers: bottleneck blocks per stage ((3, 4, 6, 3) = ResNet-50).
        width: channels of the first stage (64); the trunk outputs 32·width features.
        small_stem: 3×3 stride-1 stem without max-pool (SimCLR's CIFAR-10 variant, App. B.9).
        proj_hidden: hidden width of the MLP head; None gives MoCo v1's linear head.
        proj_dim: output dimension of the projection (128 in all three papers).
        tau: temperature τ (MoCo v1: 0.07; MoCo v2: 0.2).
        queue_size: K, keys in MoCo's dictionary (65536).
        momentum: m of MoCo's key encoder (0.999).
    """

    layers: tuple[int, ...] = (3, 4, 6, 3)
    width: int = 64
    small_stem: bool = False
    proj_hidden: int | None = 2048
    proj_dim: int = 128
    tau: float = 0.2
    queue_size: int = 65536
    momentum: float = 0.999

    @property
    def feature_dim(self) -> int:
        """Width of the trunk's pooled output h (2048 for ResNet-50)."""
        return self.width * 2 ** (len(self.layers) - 1) * Bottleneck.expansion

    @classmethod
    def tiny(cls) -> ContrastiveConfig:
        """A 2-stage ResNet of width 8 on 32×32 images, small queue: tests and CPU demos."""
        return cls(
            layers=(1, 1),
            width=8,
            small_stem=True,
            proj_hidden=64,
            proj_dim=32,
            queue_size=256,
            momentum=0.99,
        )

    @classmethod
    def moco_v1(cls) -> ContrastiveConfig:
        """MoCo v1: linear 128-d head, τ = 0.07 (§4)."""
        return cls(proj_hidden=None, tau=0.07)

    @classmethod
    def moco_v2(cls) -> ContrastiveConfig:
        """MoCo v2: MLP head, τ = 0.2 (MoCo v2 §2)."""
        return cls()

    @classmethod
    def simclr(cls) -> ContrastiveConfig:
        """SimCLR on ResNet-50: MLP head to 128-d (§2.1)."""
        return cls(tau=0.1)


# ───────────────────────────── augmentation (SimCLR Appendix A) ─────────────────────────────


def _uniform(g: torch.Generator, lo: float, hi: float) -> float:
    return lo + (hi - lo) * float(torch.rand((), generator=g))


def random_resized_crop(
    img: Tensor, size: int, g: torch.Generator, scale: tuple[float, float] = (0.08, 1.0)
) -> Tensor:
    """Crop a random area (8–100 % of the image, aspect 3/4–4/3) and resize it to size×size.

    Args:
        img: (C, H, W) in [0, 1].
        size: output side.
        g: random generator.
        scale: range of the crop's area as a fraction of the image's.

    Returns:
        (C, size, size).
    """
    _, H, W = img.shape
    h, w, top, left = H, W, 0, 0  # fallback: the whole image
    for _ in range(10):
        area = H * W * _uniform(g, *scale)
        ratio = math.exp(_uniform(g, math.log(3 / 4), math.log(4 / 3)))
        cw, ch = round(math.sqrt(area * ratio)), round(math.sqrt(area / ratio))
        if 0 < cw <= W and 0 < ch <= H:
            h, w = ch, cw
            top = int(torch.randint(0, H - h + 1, (), generator=g))
            left = int(torch.randint(0, W - w + 1, (), generator=g))
            break
    crop = img[None, :, top : top + h, left : left + w]  # (1, C, h, w)
    return F.interpolate(crop, size=(size, size), mode="bilinear", align_corners=False)[0]


def to_grayscale(img: Tensor) -> Tensor:
    """ITU-R 601 luma, repeated on 3 channels: (3, H, W) → (3, H, W)."""
    luma = 0.299 * img[0] + 0.587 * img[1] + 0.114 * img[2]  # (H, W)
    return luma.expand(3, -1, -1)


def adjust_hue(img: Tensor, shift: float) -> Tensor:
    """Rotate the chroma plane by ``shift`` turns in YIQ space: (3, H, W) → (3, H, W)."""
    rgb2yiq = img.new_tensor(
        [[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]]
    )
    c, s = math.cos(2 * math.pi * shift), math.sin(2 * math.pi * shift)
    rot = img.new_tensor([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])
    m = torch.linalg.inv(rgb2yiq) @ rot @ rgb2yiq  # (3, 3)
    return torch.einsum("ij,jhw->ihw", m, img).clamp(0, 1)


def color_jitter(img: Tensor, g: torch.Generator, strength: float = 1.0) -> Tensor:
    """Brightness, contrast, saturation (±0.8·s) and hue (±0.2·s) in a random order.

    Args:
        img: (3, H, W) in [0, 1].
        g: random generator.
        strength: s, the colour-distortion strength of SimCLR Appendix A (1.0 on ImageNet).

    Returns:
        (3, H, W) in [0, 1].
    """
    b, c, s, h = 0.8 * strength, 0.8 * strength, 0.8 * strength, 0.2 * strength
    for op in torch.randperm(4, generator=g).tolist():
        if op == 0:  # brightness: scale all values
            img = (img * _uniform(g, 1 - b, 1 + b)).clamp(0, 1)
        elif op == 1:  # contrast: blend with the mean grey level
            img = torch.lerp(to_grayscale(img).mean(), img, _uniform(g, 1 - c, 1 + c)).clamp(0, 1)
        elif op == 2:  # saturation: blend with the grayscale image
            img = torch.lerp(to_grayscale(img), img, _uniform(g, 1 - s, 1 + s)).clamp(0, 1)
        else:
            img = adjust_hue(img, _uniform(g, -h, h))
    return img


def gaussian_blur(img: Tensor, sigma: float, kernel_size: int) -> Tensor:
    """Separable Gaussian blur with reflection padding: (C, H, W) → (C, H, W)."""
    k = kernel_size // 2 * 2 + 1  # odd
    x = torch.arange(k, dtype=img.dtype) - k // 2
    w = torch.exp(-(x**2) / (2 * sigma**2))
    w = w / w.sum()  # (k,)
    C = img.shape[0]
    out = F.pad(img[None], (k // 2, k // 2, k // 2, k // 2), mode="reflect")  # (1, C, H+k-1, …)
    out = F.conv2d(out, w.view(1, 1, 1, k).expand(C, 1, 1, k), groups=C)  # horizontal
    out = F.conv2d(out, w.view(1, 1, k, 1).expand(C, 1, k, 1), groups=C)  # vertical
    return out[0]


# --8<-- [start:augment]
class SimCLRAugmentation:
    r"""The stochastic view generator $t\sim\mathcal{T}$ of SimCLR (Appendix A).

    Two calls on the same image give the two "views" $\tilde x_i, \tilde x_j$ of a positive pair.

    Args:
        size: output side.
        strength: colour-distortion strength s (1.0 on ImageNet, Appendix A).
        blur: apply Gaussian blur with p = 0.5 (on ImageNet; not used on CIFAR-10).
        scale: range of the random crop's area (8 %–100 % in the paper).
    """

    def __init__(
        self,
        size: int,
        strength: float = 1.0,
        blur: bool = True,
        scale: tuple[float, float] = (0.08, 1.0),
    ) -> None:
        self.size, self.strength, self.blur, self.scale = size, strength, blur, scale

    def __call__(self, img: Tensor, g: torch.Generator) -> Tensor:
        """Augment one image: (3, H, W) in [0, 1] → (3, size, size)."""
        img = random_resized_crop(img, self.size, g, self.scale)
        if torch.rand((), generator=g) < 0.5:
            img = img.flip(-1)  # horizontal flip
        if torch.rand((), generator=g) < 0.8:
            img = color_jitter(img, g, self.strength)
        if torch.rand((), generator=g) < 0.2:
            img = to_grayscale(img)
        if self.blur and torch.rand((), generator=g) < 0.5:  # kernel: 10 % of the image side
            img = gaussian_blur(img, _uniform(g, 0.1, 2.0), max(3, self.size // 10))
        return img.clamp(0, 1)


# --8<-- [end:augment]

# ───────────────────────────── encoder: ResNet trunk + projection head ─────────────────────────


class Bottleneck(nn.Module):
    """ResNet bottleneck: 1×1 reduce → 3×3 → 1×1 expand (×4), plus the shortcut."""

    expansion = 4

    def __init__(self, c_in: int, width: int, stride: int) -> None:
        super().__init__()
        c_out = width * self.expansion
        self.conv1 = nn.Conv2d(c_in, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, c_out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = (
            nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out)
            )
            if stride != 1 or c_in != c_out
            else nn.Identity()
        )

    def forward(self, x: Tensor) -> Tensor:
        """(B, C_in, H, W) → (B, 4·width, H/stride, W/stride)."""
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + self.downsample(x))


class ResNetTrunk(nn.Sequential):
    r"""ResNet without its classifier: the representation $h = f(\tilde x)$ (SimCLR §2.1).

    An ``nn.Sequential`` of named stages: stem → layer1 … layerS → avgpool → flatten.
    Input (B, 3, H, W), output (B, feature_dim).
    """

    def __init__(self, cfg: ContrastiveConfig) -> None:
        w = cfg.width
        if cfg.small_stem:
            stem = nn.Sequential(
                nn.Conv2d(3, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True)
            )
        else:
            stem = nn.Sequential(
                nn.Conv2d(3, w, 7, stride=2, padding=3, bias=False),
                nn.BatchNorm2d(w),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(3, stride=2, padding=1),
            )
        stages: dict[str, nn.Module] = {"stem": stem}
        c_in = w
        for i, n in enumerate(cfg.layers):
            width = w * 2**i
            stride = 1 if i == 0 else 2
            blocks = [
                Bottleneck(c_in if j == 0 else width * 4, width, stride if j == 0 else 1)
                for j in range(n)
            ]
            stages[f"layer{i + 1}"] = nn.Sequential(*blocks)
            c_in = width * 4
        stages["avgpool"] = nn.AdaptiveAvgPool2d(1)
        stages["flatten"] = nn.Flatten()
        super().__init__(OrderedDict(stages))


class ProjectionHead(nn.Module):
    r"""$g(h) = W^{(2)}\,\mathrm{ReLU}(W^{(1)}h)$ (SimCLR §2.1, MoCo v2), or one linear layer."""

    def __init__(self, d_in: int, d_hidden: int | None, d_out: int) -> None:
        super().__init__()
        if d_hidden is None:  # MoCo v1: the ResNet's fc layer, resized to 128 outputs
            self.fc = nn.Linear(d_in, d_out)
        else:
            self.fc1 = nn.Linear(d_in, d_hidden)
            self.relu = nn.ReLU(inplace=True)
            self.fc2 = nn.Linear(d_hidden, d_out)

    def forward(self, h: Tensor) -> Tensor:
        """(B, feature_dim) → (B, proj_dim)."""
        if hasattr(self, "fc"):
            return self.fc(h)
        return self.fc2(self.relu(self.fc1(h)))


class ContrastiveEncoder(nn.Module):
    """Encoder $f$ followed by the projection head $g$: image → $z = g(f(x))$."""

    def __init__(self, cfg: ContrastiveConfig) -> None:
        super().__init__()
        self.backbone = ResNetTrunk(cfg)
        self.head = ProjectionHead(cfg.feature_dim, cfg.proj_hidden, cfg.proj_dim)

    def forward(self, x: Tensor) -> Tensor:
        """(B, 3, H, W) → un-normalised projection z, (B, proj_dim)."""
        return self.head(self.backbone(x))


# ───────────────────────────── losses ─────────────────────────────


# --8<-- [start:nt-xent]
def nt_xent_loss(z1: Tensor, z2: Tensor, tau: float) -> Tensor:
    r"""NT-Xent, SimCLR Eq. (1), averaged over all $2N$ ordered positive pairs.

    $\ell_{i,j} = -\log\dfrac{\exp(\mathrm{sim}(z_i,z_j)/\tau)}
    {\sum_{k\ne i}\exp(\mathrm{sim}(z_i,z_k)/\tau)}$, with cosine similarity
    $\mathrm{sim}(u, v) = u^\top v/\lVert u\rVert\lVert v\rVert$. Each view's negatives are the
    other $2(N-1)$ views of the batch.

    Args:
        z1: projections of the first views, (B, D).
        z2: projections of the second views, (B, D); row b of z1 and z2 come from one image.
        tau: temperature τ.

    Returns:
        Scalar loss.
    """
    B = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]), dim=1)  # (2B, D), unit length: dot = cosine
    sim = z @ z.T / tau  # (2B, 2B)
    self_mask = torch.eye(2 * B, dtype=torch.bool, device=z.device)
    sim = sim.masked_fill(self_mask, float("-inf"))  # k ≠ i: a view is not its own negative
    targets = torch.cat([torch.arange(B, 2 * B), torch.arange(0, B)]).to(z.device)  # (2B,)
    return F.cross_entropy(sim, targets)  # Eq. (1), mean over the 2B anchors


# --8<-- [end:nt-xent]


# --8<-- [start:infonce]
def info_nce_loss(q: Tensor, k_pos: Tensor, k_neg: Tensor, tau: float) -> Tensor:
    r"""InfoNCE, MoCo Eq. (1): a (K+1)-way softmax classifier that picks $k_+$.

    $\mathcal{L}_q = -\log\dfrac{\exp(q\cdot k_+/\tau)}{\sum_{i=0}^{K}\exp(q\cdot k_i/\tau)}$.

    Args:
        q: L2-normalised queries, (B, D).
        k_pos: L2-normalised positive keys, (B, D).
        k_neg: L2-normalised negative keys (the queue), (K, D).
        tau: temperature τ.

    Returns:
        Scalar loss.
    """
    l_pos = (q * k_pos).sum(dim=1, keepdim=True)  # (B, 1)
    l_neg = q @ k_neg.T  # (B, K)
    logits = torch.cat([l_pos, l_neg], dim=1) / tau  # (B, 1 + K)
    labels = torch.zeros(q.shape[0], dtype=torch.long, device=q.device)  # the positive is 0
    return F.cross_entropy(logits, labels)


# --8<-- [end:infonce]


# ───────────────────────────── methods ─────────────────────────────


class SimCLR(nn.Module):
    """SimCLR (§2.1): one encoder for both views; negatives are the rest of the batch."""

    def __init__(self, cfg: ContrastiveConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = ContrastiveEncoder(cfg)

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        """Contrast two augmented views of each image.

        Args:
            x1: first views, (B, 3, H, W).
            x2: second views, (B, 3, H, W).

        Returns:
            Scalar NT-Xent loss; gradients flow through both views.
        """
        return nt_xent_loss(self.encoder(x1), self.encoder(x2), self.cfg.tau)


# --8<-- [start:moco]
class MoCo(nn.Module):
    """MoCo (§3.2, Algorithm 1): query encoder, momentum key encoder and a queue of keys.

    A training step is ``logits, k = model(x_q, x_k)``, ``loss = cross_entropy(logits, 0)``,
    ``loss.backward()``, ``optimizer.step()``, then ``model.momentum_update()`` and
    ``model.enqueue(k)``. The forward pass itself changes no state (BN statistics aside).
    """

    queue: Tensor
    queue_ptr: Tensor

    def __init__(self, cfg: ContrastiveConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder_q = ContrastiveEncoder(cfg)
        self.encoder_k = copy.deepcopy(self.encoder_q)  # θ_k ← θ_q at the start
        for p in self.encoder_k.parameters():
            p.requires_grad = False  # Eq. (2): only the momentum rule moves θ_k
        queue = F.normalize(torch.randn(cfg.queue_size, cfg.proj_dim), dim=1)
        self.register_buffer("queue", queue)  # (K, D): random unit keys until filled
        self.register_buffer("queue_ptr", torch.zeros((), dtype=torch.long))

    def forward(self, x_q: Tensor, x_k: Tensor) -> tuple[Tensor, Tensor]:
        """Score each query against its key and the K queued keys.

        Args:
            x_q: query views, (B, 3, H, W).
            x_k: key views of the same images, (B, 3, H, W).

        Returns:
            logits (B, 1 + K), positive in column 0, already divided by τ;
            keys k (B, D) to enqueue after the update.
        """
        q = F.normalize(self.encoder_q(x_q), dim=1)  # (B, D)
        with torch.no_grad():  # no gradient to keys (§3.2)
            k = F.normalize(self.encoder_k(x_k), dim=1)  # (B, D)
        l_pos = (q * k).sum(dim=1, keepdim=True)  # (B, 1)
        l_neg = q @ self.queue.clone().T  # (B, K): negatives come from the queue
        return torch.cat([l_pos, l_neg], dim=1) / self.cfg.tau, k

    @torch.no_grad()
    def momentum_update(self) -> None:
        r"""Eq. (2): $\theta_k \leftarrow m\,\theta_k + (1-m)\,\theta_q$."""
        m = self.cfg.momentum
        for p_k, p_q in zip(self.encoder_k.parameters(), self.encoder_q.parameters(), strict=True):
            p_k.mul_(m).add_(p_q.detach(), alpha=1 - m)

    @torch.no_grad()
    def enqueue(self, k: Tensor) -> None:
        """Replace the oldest B keys by the newest (first in, first out; K must divide by B)."""
        B, K = k.shape[0], self.queue.shape[0]
        assert K % B == 0, "queue_size must be a multiple of the batch size"
        ptr = int(self.queue_ptr)
        self.queue[ptr : ptr + B] = k
        self.queue_ptr.fill_((ptr + B) % K)


# --8<-- [end:moco]


def contrastive_encoder(
    cfg: ContrastiveConfig | None = None, **overrides: object
) -> ContrastiveEncoder:
    """Build an encoder + head from a config (default: MoCo v2's ResNet-50) with overrides."""
    return ContrastiveEncoder(dataclasses.replace(cfg or ContrastiveConfig(), **overrides))


def moco_v1_encoder_resnet50(**overrides: object) -> ContrastiveEncoder:
    """MoCo v1's query encoder: ResNet-50 + linear 128-d head."""
    return contrastive_encoder(ContrastiveConfig.moco_v1(), **overrides)


def moco_v2_encoder_resnet50(**overrides: object) -> ContrastiveEncoder:
    """MoCo v2's query encoder: ResNet-50 + MLP head 2048 → 2048 → 128."""
    return contrastive_encoder(ContrastiveConfig.moco_v2(), **overrides)


def moco(cfg: ContrastiveConfig | None = None, **overrides: object) -> MoCo:
    """Build MoCo (default: v2 on ResNet-50)."""
    return MoCo(dataclasses.replace(cfg or ContrastiveConfig.moco_v2(), **overrides))


def simclr(cfg: ContrastiveConfig | None = None, **overrides: object) -> SimCLR:
    """Build SimCLR (default: ResNet-50 + MLP head)."""
    return SimCLR(dataclasses.replace(cfg or ContrastiveConfig.simclr(), **overrides))


# ── loading MoCo's released weights ────────────────────────────────────────────────────
def load_moco(model: ContrastiveEncoder, state_dict: dict[str, Tensor]) -> None:
    """Load MoCo's query encoder: a torchvision ResNet-50 whose fc is the projection head.

    Accepts the released checkpoints' `state_dict` (keys `module.encoder_q.…`; the key encoder
    and the queue are skipped) or a bare torchvision-style one. Build ours with
    `moco_v1_encoder_resnet50()` (fc = one linear layer) or `moco_v2_encoder_resnet50()` (fc =
    Linear, ReLU, Linear: `fc.0` and `fc.2`).
    """
    names = {"conv1.": "backbone.stem.0.", "bn1.": "backbone.stem.1.", "layer": "backbone.layer"}
    names |= {"fc.0.": "head.fc1.", "fc.2.": "head.fc2.", "fc.": "head.fc."}
    renamed = {}
    for key, value in state_dict.items():
        key = key.removeprefix("module.")
        if key.startswith(("encoder_k.", "queue")):
            continue
        key = key.removeprefix("encoder_q.")
        theirs = next(t for t in names if key.startswith(t))
        renamed[names[theirs] + key.removeprefix(theirs)] = value
    model.load_state_dict(renamed)


__all__ = [
    "Bottleneck",
    "ContrastiveConfig",
    "ContrastiveEncoder",
    "MoCo",
    "ProjectionHead",
    "ResNetTrunk",
    "SimCLR",
    "SimCLRAugmentation",
    "color_jitter",
    "contrastive_encoder",
    "gaussian_blur",
    "info_nce_loss",
    "load_moco",
    "moco",
    "moco_v1_encoder_resnet50",
    "moco_v2_encoder_resnet50",
    "nt_xent_loss",
    "random_resized_crop",
    "simclr",
    "to_grayscale",
]

if __name__ == "__main__":
    g = torch.Generator().manual_seed(0)
    augment = SimCLRAugmentation(size=32, strength=0.5, blur=False)
    images = torch.rand(8, 3, 32, 32)
    x1 = torch.stack([augment(img, g) for img in images])
    x2 = torch.stack([augment(img, g) for img in images])
    model = moco(ContrastiveConfig.tiny())
    logits, k = model(x1, x2)
    print(logits.shape, simclr(ContrastiveConfig.tiny())(x1, x2).shape)  # (8, 257), ()
