r"""An Image is Worth 16x16 Words: Transformers for Image Recognition at Scale (ViT).

Alexey Dosovitskiy, Lucas Beyer, Alexander Kolesnikov, Dirk Weissenborn, Xiaohua Zhai,
Thomas Unterthiner, Mostafa Dehghani, Matthias Minderer, Georg Heigold, Sylvain Gelly,
Jakob Uszkoreit, Neil Houlsby. ICLR 2021. arXiv:2010.11929.

Implemented (section / equation numbers of the paper):

* §3.1 Eq. (1): the image is cut into $N = HW/P^2$ patches of $P\times P$ pixels, each flattened
  and linearly projected to $D$ dimensions (``PatchEmbedding``, a $P\times P$ convolution with
  stride $P$, which is the same linear map); a learnable ``[class]`` token is prepended and
  learnable 1-D position embeddings $E_{pos}\in\mathbb{R}^{(N+1)\times D}$ are added.
* Eq. (2)–(3): pre-LN Transformer encoder blocks, MSA (Appendix A, Eq. (5)–(8)) and a two-layer
  GELU MLP, each with a residual connection.
* Eq. (4): LayerNorm of the class token's final state $z_L^0$, then the classification head:
  one linear layer (fine-tuning), optionally preceded by the pre-training "pre-logits" layer
  (one hidden layer with tanh, §3.1 "MLP with one hidden layer at pre-training time").
* Table 1: ViT-Base, -Large and -Huge, with the patch sizes 16, 16 and 14 used in Table 2.

Deviations:
    * Dropout is omitted (Table 3: 0.1 when pre-training on ImageNet and ImageNet-21k, none on
      JFT-300M); the hybrid (ResNet feature map) input of §3.1 is described on the page, not
      implemented.
    * Initialisation follows the released code in spirit (truncated-normal-like std 0.02 for
      embeddings, Xavier for linear layers), not bit for bit.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass(frozen=True)
class ViTConfig:
    """Hyper-parameters of a Vision Transformer; the defaults are ViT-B/16 (Table 1).

    Attributes:
        image_size: input resolution (pixels); 224 for ImageNet fine-tuning at low resolution.
        patch_size: P, side of a square patch; "B/16" means P = 16.
        in_channels: C, image channels.
        d_model: D, the width of every token ("Hidden size D" in Table 1).
        n_layers: L, number of encoder blocks.
        n_heads: h, attention heads; d_head = D / h = 64 in all three sizes.
        d_mlp: hidden width of the MLP ("MLP size", 4·D).
        n_classes: output classes of the head; 0 gives the bare encoder (features of Eq. (4)).
        representation_size: width of the pre-training "pre-logits" layer (None at fine-tuning).
        ln_eps: LayerNorm epsilon of the released code (1e-6).
    """

    image_size: int = 224
    patch_size: int = 16
    in_channels: int = 3
    d_model: int = 768
    n_layers: int = 12
    n_heads: int = 12
    d_mlp: int = 3072
    n_classes: int = 1000
    representation_size: int | None = None
    ln_eps: float = 1e-6

    @property
    def n_patches(self) -> int:
        """N = HW / P², the sequence length without the class token."""
        return (self.image_size // self.patch_size) ** 2

    @classmethod
    def tiny(cls) -> ViTConfig:
        """A 32×32-pixel, 2-layer model for tests and CPU demos."""
        return cls(
            image_size=32, patch_size=8, d_model=64, n_layers=2, n_heads=4, d_mlp=128, n_classes=10
        )

    @classmethod
    def base(cls, patch_size: int = 16) -> ViTConfig:
        """ViT-Base (Table 1): 12 layers, D = 768, MLP 3072, 12 heads."""
        return cls(patch_size=patch_size)

    @classmethod
    def large(cls, patch_size: int = 16) -> ViTConfig:
        """ViT-Large (Table 1): 24 layers, D = 1024, MLP 4096, 16 heads."""
        return cls(patch_size=patch_size, d_model=1024, n_layers=24, n_heads=16, d_mlp=4096)

    @classmethod
    def huge(cls, patch_size: int = 14) -> ViTConfig:
        """ViT-Huge (Table 1): 32 layers, D = 1280, MLP 5120, 16 heads."""
        return cls(patch_size=patch_size, d_model=1280, n_layers=32, n_heads=16, d_mlp=5120)


# --8<-- [start:patch-embedding]
class PatchEmbedding(nn.Module):
    r"""Cut an image into $P\times P$ patches and project each to $D$ dimensions (Eq. (1), $E$).

    A convolution with kernel = stride = P applies the same matrix
    $E\in\mathbb{R}^{(P^2C)\times D}$ to every non-overlapping patch.
    """

    def __init__(self, cfg: ViTConfig) -> None:
        super().__init__()
        self.proj = nn.Conv2d(cfg.in_channels, cfg.d_model, cfg.patch_size, stride=cfg.patch_size)

    def forward(self, x: Tensor) -> Tensor:
        """Embed patches.

        Args:
            x: images, (B, C, H, W).

        Returns:
            Patch embeddings, (B, N, D), patches in row-major (raster) order.
        """
        x = self.proj(x)  # (B, D, H/P, W/P)
        return x.flatten(2).transpose(1, 2)  # (B, N, D)


# --8<-- [end:patch-embedding]


# --8<-- [start:attention]
class MultiHeadSelfAttention(nn.Module):
    r"""Multi-head self-attention (Appendix A, Eq. (5)–(8)).

    $[q, k, v] = zU_{qkv}$, $A = \mathrm{softmax}(qk^\top/\sqrt{d})$, $\mathrm{SA}(z) = Av$,
    $\mathrm{MSA}(z) = [\mathrm{SA}_1(z);\dots;\mathrm{SA}_h(z)]\,U_{msa}$.
    """

    def __init__(self, d_model: int, n_heads: int) -> None:
        super().__init__()
        assert d_model % n_heads == 0, "d_model must be divisible by n_heads"
        self.n_heads = n_heads
        self.d_head = d_model // n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)  # U_qkv, all heads at once
        self.proj = nn.Linear(d_model, d_model)  # U_msa

    def forward(self, x: Tensor) -> Tensor:
        """Attend every token to every token (no mask: the encoder is bidirectional).

        Args:
            x: tokens, (B, T, D).

        Returns:
            (B, T, D).
        """
        B, T, D = x.shape
        qkv = self.qkv(x).view(B, T, 3, self.n_heads, self.d_head)  # (B, T, 3, h, d)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each (B, h, T, d)
        attn = (q @ k.transpose(-2, -1)) / self.d_head**0.5  # Eq. (6): qkᵀ/√d, (B, h, T, T)
        out = attn.softmax(dim=-1) @ v  # Eq. (6)–(7): A·v, (B, h, T, d)
        out = out.transpose(1, 2).reshape(B, T, D)  # Eq. (8): concatenate heads, (B, T, D)
        return self.proj(out)


# --8<-- [end:attention]


class MLP(nn.Module):
    """The Transformer MLP: two linear layers with a GELU in between (§3.1)."""

    def __init__(self, d_model: int, d_mlp: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(d_model, d_mlp)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(d_mlp, d_model)

    def forward(self, x: Tensor) -> Tensor:
        """Apply position-wise: (B, T, D) → (B, T, D)."""
        return self.fc2(self.act(self.fc1(x)))


# --8<-- [start:block]
class EncoderBlock(nn.Module):
    """One pre-LN Transformer encoder block (Eq. (2)–(3)): LN → MSA → +, LN → MLP → +."""

    def __init__(self, d_model: int, n_heads: int, d_mlp: int, ln_eps: float = 1e-6) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(d_model, eps=ln_eps)
        self.attn = MultiHeadSelfAttention(d_model, n_heads)
        self.norm2 = nn.LayerNorm(d_model, eps=ln_eps)
        self.mlp = MLP(d_model, d_mlp)

    def forward(self, z: Tensor) -> Tensor:
        r"""Transform the tokens.

        Args:
            z: tokens $z_{\ell-1}$, (B, T, D).

        Returns:
            $z_\ell$, (B, T, D).
        """
        z = z + self.attn(self.norm1(z))  # Eq. (2): z' = MSA(LN(z)) + z
        z = z + self.mlp(self.norm2(z))  # Eq. (3): z = MLP(LN(z')) + z'
        return z


# --8<-- [end:block]


class Encoder(nn.Module):
    """L encoder blocks followed by the final LayerNorm of Eq. (4)."""

    def __init__(self, cfg: ViTConfig) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            *[
                EncoderBlock(cfg.d_model, cfg.n_heads, cfg.d_mlp, cfg.ln_eps)
                for _ in range(cfg.n_layers)
            ]
        )
        self.norm = nn.LayerNorm(cfg.d_model, eps=cfg.ln_eps)

    def forward(self, z: Tensor) -> Tensor:
        """(B, T, D) → (B, T, D)."""
        return self.norm(self.layers(z))


# --8<-- [start:vit]
class ViT(nn.Module):
    r"""Vision Transformer: patches + [class] token + position embeddings → encoder → head.

    $z_0 = [x_{class};\, x_p^1E;\, \dots;\, x_p^NE] + E_{pos}$ (Eq. (1)), $L$ blocks
    (Eq. (2)–(3)), $y = \mathrm{LN}(z_L^0)$ (Eq. (4)), logits = head(y).
    """

    def __init__(self, cfg: ViTConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.patch_embed = PatchEmbedding(cfg)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, cfg.d_model))  # x_class
        self.pos_embed = nn.Parameter(torch.zeros(1, cfg.n_patches + 1, cfg.d_model))  # E_pos
        self.encoder = Encoder(cfg)
        if cfg.representation_size is not None:  # pre-training head: one hidden layer, tanh
            self.pre_logits = nn.Sequential(
                nn.Linear(cfg.d_model, cfg.representation_size), nn.Tanh()
            )
            d_feat = cfg.representation_size
        else:
            self.pre_logits = nn.Identity()
            d_feat = cfg.d_model
        self.head = nn.Linear(d_feat, cfg.n_classes) if cfg.n_classes > 0 else nn.Identity()
        self._init_weights()

    def _init_weights(self) -> None:
        nn.init.normal_(self.pos_embed, std=0.02)
        nn.init.normal_(self.cls_token, std=0.02)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)
        if isinstance(self.head, nn.Linear):
            nn.init.zeros_(self.head.weight)  # the released code starts the head at zero

    def tokens(self, x: Tensor) -> Tensor:
        """Run Eq. (1)–(4) up to the final LayerNorm and return every token.

        Args:
            x: images, (B, C, H, W).

        Returns:
            Final token states, (B, 1 + N, D); index 0 is the class token $z_L^0$.
        """
        p = self.patch_embed(x)  # (B, N, D)
        cls = self.cls_token.expand(p.shape[0], -1, -1)  # (B, 1, D)
        z = torch.cat([cls, p], dim=1) + self.pos_embed  # Eq. (1): (B, 1 + N, D)
        return self.encoder(z)  # Eq. (2)–(4)

    def forward(self, x: Tensor) -> Tensor:
        """Classify images.

        Args:
            x: images, (B, C, H, W) with H = W = ``cfg.image_size``.

        Returns:
            Logits, (B, n_classes) (or the (B, D) feature y when ``n_classes == 0``).
        """
        y = self.tokens(x)[:, 0]  # Eq. (4): only the class token is read, (B, D)
        return self.head(self.pre_logits(y))


# --8<-- [end:vit]


def vit(cfg: ViTConfig | None = None, **overrides: object) -> ViT:
    """Build a ViT from a config (default ViT-B/16) with field overrides."""
    return ViT(dataclasses.replace(cfg or ViTConfig(), **overrides))


def vit_tiny(**overrides: object) -> ViT:
    """The tiny test configuration."""
    return vit(ViTConfig.tiny(), **overrides)


def vit_b16(**overrides: object) -> ViT:
    """ViT-B/16 (Table 1 + Table 2)."""
    return vit(ViTConfig.base(16), **overrides)


def vit_b32(**overrides: object) -> ViT:
    """ViT-B/32."""
    return vit(ViTConfig.base(32), **overrides)


def vit_l16(**overrides: object) -> ViT:
    """ViT-L/16 (Table 1 + Table 2)."""
    return vit(ViTConfig.large(16), **overrides)


def vit_l32(**overrides: object) -> ViT:
    """ViT-L/32."""
    return vit(ViTConfig.large(32), **overrides)


def vit_h14(**overrides: object) -> ViT:
    """ViT-H/14 (Table 1 + Table 2)."""
    return vit(ViTConfig.huge(14), **overrides)


# ── loading timm's weights ─────────────────────────────────────────────────────────────
def load_timm(model: ViT, state_dict: dict[str, Tensor]) -> None:
    """Load a state dict of timm's `vit_base_patch16_224` … `vit_huge_patch14_224`.

    The names are timm's except for the encoder: `blocks.i` → `encoder.layers.i`, the final
    `norm` → `encoder.norm`. timm's fused `qkv` has our layout (rows q, then k, then v).
    """
    renamed = {}
    for key, value in state_dict.items():
        if key.startswith(("blocks.", "norm.")):
            key = "encoder." + key.replace("blocks.", "layers.", 1)
        renamed[key] = value
    model.load_state_dict(renamed)


__all__ = [
    "MLP",
    "Encoder",
    "EncoderBlock",
    "MultiHeadSelfAttention",
    "PatchEmbedding",
    "ViT",
    "ViTConfig",
    "load_timm",
    "vit",
    "vit_b16",
    "vit_b32",
    "vit_h14",
    "vit_l16",
    "vit_l32",
    "vit_tiny",
]

if __name__ == "__main__":
    model = vit_tiny()
    images = torch.randn(2, 3, 32, 32)
    print(model(images).shape)  # torch.Size([2, 10])
