r"""Masked Autoencoders Are Scalable Vision Learners (MAE).

Kaiming He, Xinlei Chen, Saining Xie, Yanghao Li, Piotr Dollár, Ross Girshick.
CVPR 2022. arXiv:2111.06377.

Implemented (section numbers of the paper):

* §3 "Masking": the image is cut into non-overlapping patches and a random 75 % of them are
  removed, by shuffling patch indices with uniform noise and keeping the first 25 %
  (the sampling of the released code: ``torch.rand`` + ``argsort``, no Python control flow, so
  the model also runs on the ``meta`` device).
* §3 "MAE encoder": a ViT (Dosovitskiy et al., 2021) that sees only the visible patches (plus the
  class token of Appendix A.1); no mask tokens enter the encoder.
* §3 "MAE decoder": a lightweight Transformer (default 8 blocks, width 512, Table 1(a)(b)) over
  the full set of tokens: encoded visible patches and one shared, learned mask token, all with
  position embeddings; a final linear layer predicts the pixels of every patch.
* §3 "Reconstruction target": mean squared error on the masked patches only, with per-patch
  normalised pixels (``norm_pix_loss``, Table 1(d)).
* Appendix A.1: fixed 2-D sine-cosine position embeddings in encoder and decoder.

Parameter accounting: the two position-embedding tables are ``nn.Parameter`` with
``requires_grad=False`` (as in the released code), so ``model.parameters()`` counts them while
the optimiser never updates them. MAE with a ViT-B/16 encoder: 111,907,840 parameters in all,
of which 151,296 + 100,864 = 252,160 are the fixed tables (111,655,680 trainable).

Deviations:
    * No dropout / drop-path (pre-training uses none); the mask token and the class token are
      initialised with std 0.02 and linear layers with Xavier, as in the released code.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass(frozen=True)
class MAEConfig:
    """MAE hyper-parameters; defaults: ViT-B/16 encoder + the default decoder (Table 1).

    Attributes:
        image_size: input resolution (pixels).
        patch_size: P, side of a square patch.
        in_channels: C, image channels.
        d_model: encoder width D (ViT-B: 768).
        n_layers: encoder blocks.
        n_heads: encoder heads.
        d_mlp: encoder MLP width (4·D).
        decoder_d_model: decoder width (512 by default: Table 1(b)).
        decoder_n_layers: decoder blocks (8 by default: Table 1(a)).
        decoder_n_heads: decoder heads (16 in the released code).
        decoder_d_mlp: decoder MLP width (4·512).
        mask_ratio: fraction of patches removed (75 %, Fig. 5).
        norm_pix_loss: normalise each target patch by its own mean and std (Table 1(d)).
        ln_eps: LayerNorm epsilon.
    """

    image_size: int = 224
    patch_size: int = 16
    in_channels: int = 3
    d_model: int = 768
    n_layers: int = 12
    n_heads: int = 12
    d_mlp: int = 3072
    decoder_d_model: int = 512
    decoder_n_layers: int = 8
    decoder_n_heads: int = 16
    decoder_d_mlp: int = 2048
    mask_ratio: float = 0.75
    norm_pix_loss: bool = True
    ln_eps: float = 1e-6

    @property
    def grid_size(self) -> int:
        """Patches per side, H / P."""
        return self.image_size // self.patch_size

    @property
    def n_patches(self) -> int:
        """N, number of patches."""
        return self.grid_size**2

    @classmethod
    def tiny(cls) -> MAEConfig:
        """32×32 images, 4×4 patches (N = 64), 2 + 1 small blocks: tests and CPU demos."""
        return cls(
            image_size=32,
            patch_size=4,
            d_model=64,
            n_layers=2,
            n_heads=4,
            d_mlp=128,
            decoder_d_model=48,
            decoder_n_layers=1,
            decoder_n_heads=4,
            decoder_d_mlp=96,
        )

    @classmethod
    def vit_base(cls) -> MAEConfig:
        """ViT-B/16 encoder."""
        return cls()

    @classmethod
    def vit_large(cls) -> MAEConfig:
        """ViT-L/16 encoder (the model of most ablations, Table 1)."""
        return cls(d_model=1024, n_layers=24, n_heads=16, d_mlp=4096)

    @classmethod
    def vit_huge(cls) -> MAEConfig:
        """ViT-H/14 encoder."""
        return cls(patch_size=14, d_model=1280, n_layers=32, n_heads=16, d_mlp=5120)


# --8<-- [start:sincos]
def sincos_pos_embed_2d(d_model: int, grid_size: int, cls_token: bool = True) -> Tensor:
    r"""Fixed 2-D sine-cosine position embeddings (Appendix A.1).

    Half of the channels encode the row, half the column, each with the 1-D table of the
    Transformer: $\mathrm{PE}(p, 2i) = \sin(p/10000^{2i/d})$,
    $\mathrm{PE}(p, 2i+1) = \cos(p/10000^{2i/d})$ (here $d = D/2$, sines then cosines).

    Args:
        d_model: D, must be divisible by 4.
        grid_size: patches per side.
        cls_token: prepend an all-zero row for the class token.

    Returns:
        (1 + N, D) if ``cls_token`` else (N, D), patches in raster order.
    """
    assert d_model % 4 == 0, "d_model must be divisible by 4"
    omega = torch.arange(d_model // 4, dtype=torch.float64) / (d_model / 4)
    omega = 1.0 / 10000**omega  # (D/4,)
    coords = torch.arange(grid_size, dtype=torch.float64)
    rows, cols = torch.meshgrid(coords, coords, indexing="ij")  # (G, G) each

    def table(pos: Tensor) -> Tensor:
        angle = pos.reshape(-1, 1) * omega  # (N, D/4)
        return torch.cat([angle.sin(), angle.cos()], dim=1)  # (N, D/2)

    pe = torch.cat([table(cols), table(rows)], dim=1).float()  # (N, D): width, then height
    if cls_token:
        pe = torch.cat([torch.zeros(1, d_model), pe], dim=0)  # (1 + N, D)
    return pe


# --8<-- [end:sincos]


class PatchEmbedding(nn.Module):
    """Linear projection of flattened P×P patches (a conv with kernel = stride = P)."""

    def __init__(self, in_channels: int, patch_size: int, d_model: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(in_channels, d_model, patch_size, stride=patch_size)

    def forward(self, x: Tensor) -> Tensor:
        """(B, C, H, W) → (B, N, D), patches in raster order."""
        return self.proj(x).flatten(2).transpose(1, 2)  # (B, N, D)


class MultiHeadSelfAttention(nn.Module):
    """Multi-head self-attention, fused qkv projection (a copy of ``vit.py``'s)."""

    def __init__(self, d_model: int, n_heads: int) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.d_head = d_model // n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)

    def forward(self, x: Tensor) -> Tensor:
        """(B, T, D) → (B, T, D)."""
        B, T, D = x.shape
        qkv = self.qkv(x).view(B, T, 3, self.n_heads, self.d_head)  # (B, T, 3, h, d)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each (B, h, T, d)
        attn = (q @ k.transpose(-2, -1)) / self.d_head**0.5  # softmax(qkᵀ/√d), (B, h, T, T)
        out = attn.softmax(dim=-1) @ v  # (B, h, T, d)
        return self.proj(out.transpose(1, 2).reshape(B, T, D))  # (B, T, D)


class MLP(nn.Module):
    """Two linear layers with a GELU."""

    def __init__(self, d_model: int, d_mlp: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(d_model, d_mlp)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(d_mlp, d_model)

    def forward(self, x: Tensor) -> Tensor:
        """(B, T, D) → (B, T, D)."""
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    """Pre-LN Transformer block, used by both encoder and decoder."""

    def __init__(self, d_model: int, n_heads: int, d_mlp: int, ln_eps: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(d_model, eps=ln_eps)
        self.attn = MultiHeadSelfAttention(d_model, n_heads)
        self.norm2 = nn.LayerNorm(d_model, eps=ln_eps)
        self.mlp = MLP(d_model, d_mlp)

    def forward(self, x: Tensor) -> Tensor:
        """(B, T, D) → (B, T, D)."""
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


# --8<-- [start:encoder]
class MAEEncoder(nn.Module):
    """ViT encoder applied to the visible patches only (§3 "MAE encoder")."""

    def __init__(self, cfg: MAEConfig) -> None:
        super().__init__()
        self.patch_embed = PatchEmbedding(cfg.in_channels, cfg.patch_size, cfg.d_model)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, cfg.d_model))
        pe = sincos_pos_embed_2d(cfg.d_model, cfg.grid_size)[None]  # (1, 1 + N, D)
        self.pos_embed = nn.Parameter(pe, requires_grad=False)  # fixed (Appendix A.1)
        self.blocks = nn.Sequential(
            *[Block(cfg.d_model, cfg.n_heads, cfg.d_mlp, cfg.ln_eps) for _ in range(cfg.n_layers)]
        )
        self.norm = nn.LayerNorm(cfg.d_model, eps=cfg.ln_eps)

    def forward(self, x: Tensor, ids_keep: Tensor) -> Tensor:
        """Encode the kept patches.

        Args:
            x: images, (B, C, H, W).
            ids_keep: indices of the visible patches, (B, N_vis), N_vis = N·(1 − mask_ratio).

        Returns:
            Latent tokens, (B, 1 + N_vis, D): the class token, then the visible patches.
        """
        p = self.patch_embed(x) + self.pos_embed[:, 1:]  # (B, N, D)
        index = ids_keep[..., None].expand(-1, -1, p.shape[-1])  # (B, N_vis, D)
        p = torch.gather(p, 1, index)  # masked patches are dropped here, (B, N_vis, D)
        cls = (self.cls_token + self.pos_embed[:, :1]).expand(p.shape[0], -1, -1)  # (B, 1, D)
        return self.norm(self.blocks(torch.cat([cls, p], dim=1)))  # (B, 1 + N_vis, D)


# --8<-- [end:encoder]


# --8<-- [start:decoder]
class MAEDecoder(nn.Module):
    """Lightweight decoder: visible latents + mask tokens → pixels of every patch (§3)."""

    def __init__(self, cfg: MAEConfig) -> None:
        super().__init__()
        d = cfg.decoder_d_model
        self.embed = nn.Linear(cfg.d_model, d)  # encoder width → decoder width
        self.mask_token = nn.Parameter(torch.zeros(1, 1, d))  # one shared, learned vector
        pe = sincos_pos_embed_2d(d, cfg.grid_size)[None]  # (1, 1 + N, d)
        self.pos_embed = nn.Parameter(pe, requires_grad=False)  # fixed (Appendix A.1)
        self.blocks = nn.Sequential(
            *[
                Block(d, cfg.decoder_n_heads, cfg.decoder_d_mlp, cfg.ln_eps)
                for _ in range(cfg.decoder_n_layers)
            ]
        )
        self.norm = nn.LayerNorm(d, eps=cfg.ln_eps)
        self.pred = nn.Linear(d, cfg.patch_size**2 * cfg.in_channels)  # pixels of one patch

    def forward(self, latent: Tensor, ids_restore: Tensor) -> Tensor:
        """Predict all patches.

        Args:
            latent: encoder output, (B, 1 + N_vis, D).
            ids_restore: inverse of the shuffle, (B, N): puts patch tokens back in raster order.

        Returns:
            Predicted pixels, (B, N, P²·C).
        """
        x = self.embed(latent)  # (B, 1 + N_vis, d)
        B, N = ids_restore.shape
        masks = self.mask_token.expand(B, N + 1 - x.shape[1], -1)  # (B, N − N_vis, d)
        x_ = torch.cat([x[:, 1:], masks], dim=1)  # shuffled order: visible first, (B, N, d)
        index = ids_restore[..., None].expand(-1, -1, x_.shape[-1])  # (B, N, d)
        x_ = torch.gather(x_, 1, index)  # unshuffle to raster order, (B, N, d)
        x = torch.cat([x[:, :1], x_], dim=1) + self.pos_embed  # (B, 1 + N, d)
        x = self.norm(self.blocks(x))
        return self.pred(x[:, 1:])  # drop the class token, (B, N, P²·C)


# --8<-- [end:decoder]


class MaskedAutoencoder(nn.Module):
    """MAE: random masking → encoder (visible only) → decoder (all tokens) → masked MSE."""

    def __init__(self, cfg: MAEConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = MAEEncoder(cfg)
        self.decoder = MAEDecoder(cfg)
        self._init_weights()

    def _init_weights(self) -> None:
        nn.init.normal_(self.encoder.cls_token, std=0.02)
        nn.init.normal_(self.decoder.mask_token, std=0.02)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    # --8<-- [start:patchify]
    def patchify(self, imgs: Tensor) -> Tensor:
        """Cut images into flattened patches.

        Args:
            imgs: (B, C, H, W).

        Returns:
            (B, N, P²·C), each patch flattened as (P, P, C), patches in raster order.
        """
        B, C, H, W = imgs.shape
        P = self.cfg.patch_size
        x = imgs.reshape(B, C, H // P, P, W // P, P)  # (B, C, h, P, w, P)
        x = x.permute(0, 2, 4, 3, 5, 1)  # (B, h, w, P, P, C)
        return x.reshape(B, (H // P) * (W // P), P * P * C)  # (B, N, P²·C)

    def unpatchify(self, x: Tensor) -> Tensor:
        """Inverse of :meth:`patchify`: (B, N, P²·C) → (B, C, H, W)."""
        B, N, _ = x.shape
        P, C = self.cfg.patch_size, self.cfg.in_channels
        g = round(N**0.5)
        x = x.reshape(B, g, g, P, P, C)  # (B, h, w, P, P, C)
        x = x.permute(0, 5, 1, 3, 2, 4)  # (B, C, h, P, w, P)
        return x.reshape(B, C, g * P, g * P)  # (B, C, H, W)

    # --8<-- [end:patchify]

    # --8<-- [start:masking]
    def random_masking(self, noise: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Sample which patches stay visible, from per-patch noise (§3 "Masking").

        Sorting uniform noise gives a random permutation; the first N_vis patches of it are kept.

        Args:
            noise: (B, N) values whose order defines the shuffle (``torch.rand`` for training).

        Returns:
            ids_keep (B, N_vis), ids_restore (B, N) and the binary mask (B, N), 1 = removed.
        """
        B, N = noise.shape
        n_keep = int(N * (1 - self.cfg.mask_ratio))
        ids_shuffle = torch.argsort(noise, dim=1)  # ascending: small noise is kept, (B, N)
        ids_restore = torch.argsort(ids_shuffle, dim=1)  # inverse permutation, (B, N)
        ids_keep = ids_shuffle[:, :n_keep]  # (B, N_vis)
        mask = torch.ones(B, N, device=noise.device)
        mask[:, :n_keep] = 0  # in shuffled order: 0 = kept, 1 = removed
        mask = torch.gather(mask, 1, ids_restore)  # back to raster order, (B, N)
        return ids_keep, ids_restore, mask

    # --8<-- [end:masking]

    # --8<-- [start:loss]
    def loss(self, imgs: Tensor, pred: Tensor, mask: Tensor) -> Tensor:
        r"""Mean squared error on the removed patches only (§3 "Reconstruction target").

        $\mathcal{L} = \frac{1}{|M|}\sum_{i\in M}\frac{1}{P^2C}\lVert \hat{x}_i - t_i\rVert^2$,
        $t_i$ = patch $i$ normalised by its own mean and variance when ``norm_pix_loss``.

        Args:
            imgs: (B, C, H, W).
            pred: (B, N, P²·C).
            mask: (B, N), 1 = removed.

        Returns:
            Scalar loss.
        """
        target = self.patchify(imgs)  # (B, N, P²·C)
        if self.cfg.norm_pix_loss:
            mean = target.mean(dim=-1, keepdim=True)
            var = target.var(dim=-1, keepdim=True)
            target = (target - mean) / (var + 1e-6) ** 0.5
        per_patch = ((pred - target) ** 2).mean(dim=-1)  # (B, N)
        return (per_patch * mask).sum() / mask.sum()  # visible patches contribute nothing

    # --8<-- [end:loss]

    def forward(self, imgs: Tensor, noise: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """Mask, encode, decode and score.

        Args:
            imgs: images, (B, C, H, W).
            noise: optional (B, N) noise fixing the mask (default: ``torch.rand``).

        Returns:
            loss (scalar), pred (B, N, P²·C) and mask (B, N) with 1 = removed.
        """
        if noise is None:
            noise = torch.rand(imgs.shape[0], self.cfg.n_patches, device=imgs.device)
        ids_keep, ids_restore, mask = self.random_masking(noise)
        latent = self.encoder(imgs, ids_keep)  # (B, 1 + N_vis, D)
        pred = self.decoder(latent, ids_restore)  # (B, N, P²·C)
        return self.loss(imgs, pred, mask), pred, mask


def mae(cfg: MAEConfig | None = None, **overrides: object) -> MaskedAutoencoder:
    """Build an MAE from a config (default: ViT-B/16 encoder) with field overrides."""
    return MaskedAutoencoder(dataclasses.replace(cfg or MAEConfig(), **overrides))


def mae_tiny(**overrides: object) -> MaskedAutoencoder:
    """The tiny test configuration."""
    return mae(MAEConfig.tiny(), **overrides)


def mae_vit_base_patch16(**overrides: object) -> MaskedAutoencoder:
    """MAE with a ViT-B/16 encoder and the default 8×512 decoder."""
    return mae(MAEConfig.vit_base(), **overrides)


def mae_vit_large_patch16(**overrides: object) -> MaskedAutoencoder:
    """MAE with a ViT-L/16 encoder and the default 8×512 decoder."""
    return mae(MAEConfig.vit_large(), **overrides)


def mae_vit_huge_patch14(**overrides: object) -> MaskedAutoencoder:
    """MAE with a ViT-H/14 encoder and the default 8×512 decoder."""
    return mae(MAEConfig.vit_huge(), **overrides)


# ── loading Hugging Face transformers' weights ─────────────────────────────────────────
TRANSFORMERS_NAMES = [  # (theirs, ours): substrings of ViTMAEForPreTraining's keys, in order
    ("vit.embeddings.patch_embeddings.projection", "encoder.patch_embed.proj"),
    ("vit.embeddings.cls_token", "encoder.cls_token"),
    ("vit.embeddings.position_embeddings", "encoder.pos_embed"),
    ("vit.encoder.layer.", "encoder.blocks."),  # released checkpoints
    ("vit.layers.", "encoder.blocks."),  # transformers ≥ 5 in memory
    ("vit.layernorm", "encoder.norm"),
    ("decoder.decoder_embed", "decoder.embed"),
    ("decoder.decoder_pos_embed", "decoder.pos_embed"),
    ("decoder.decoder_layers.", "decoder.blocks."),
    ("decoder.decoder_norm", "decoder.norm"),
    ("decoder.decoder_pred", "decoder.pred"),
    ("layernorm_before", "norm1"),
    ("layernorm_after", "norm2"),
    ("attention.output.dense", "attn.proj"),
    ("attention.o_proj", "attn.proj"),
    ("intermediate.dense", "mlp.fc1"),
    ("output.dense", "mlp.fc2"),
]
# separate query/key/value projections, old (`attention.attention.query`) or new (`q_proj`) names
QKV_KEY = re.compile(r"(.*)\.attention\.(?:attention\.)?(query|key|value|[qkv]_proj)\.(\w+)")


def load_transformers(model: MaskedAutoencoder, state_dict: dict[str, Tensor]) -> None:
    """Load a state dict of transformers' `ViTMAEForPreTraining` (`facebook/vit-mae-base` …).

    Its separate query, key and value projections are stacked into our fused `qkv` (rows q, k,
    v). Its config must match ours, including `layer_norm_eps=1e-6` (its default is 1e-12).
    """
    renamed: dict[str, Tensor] = {}
    parts: dict[str, dict[str, Tensor]] = {}  # "encoder.blocks.0.attn.qkv.weight" → {q, k, v}
    for key, value in state_dict.items():
        for theirs, ours in TRANSFORMERS_NAMES:
            key = key.replace(theirs, ours)
        if match := QKV_KEY.fullmatch(key):
            block, part, leaf = match.groups()
            parts.setdefault(f"{block}.attn.qkv.{leaf}", {})[part[0]] = value  # "q", "k", "v"
        else:
            renamed[key] = value
    for key, qkv in parts.items():
        renamed[key] = torch.cat([qkv["q"], qkv["k"], qkv["v"]])
    model.load_state_dict(renamed)


__all__ = [
    "TRANSFORMERS_NAMES",
    "MAEConfig",
    "MAEDecoder",
    "MAEEncoder",
    "MaskedAutoencoder",
    "load_transformers",
    "mae",
    "mae_tiny",
    "mae_vit_base_patch16",
    "mae_vit_huge_patch14",
    "mae_vit_large_patch16",
    "sincos_pos_embed_2d",
]

if __name__ == "__main__":
    model = mae_tiny()
    loss, pred, mask = model(torch.randn(2, 3, 32, 32))
    print(pred.shape, mask.sum(dim=1))  # torch.Size([2, 64, 48]) tensor([48., 48.])
