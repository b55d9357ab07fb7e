r"""Swin Transformer: Hierarchical Vision Transformer using Shifted Windows.

Ze Liu, Yutong Lin, Yue Cao, Han Hu, Yixuan Wei, Zheng Zhang, Stephen Lin, Baining Guo.
ICCV 2021. arXiv:2103.14030.

Implemented (section / equation numbers of the paper):

* §3.1, Fig. 3(a): patch partition into $4\times4$ patches (48 raw values each) and a linear
  embedding to $C$ dimensions (``PatchEmbedding``: one $4\times4$ convolution with stride 4, the
  same linear map, then LayerNorm); four stages at strides 4, 8, 16, 32, stages 2–4 opened by
  patch merging (concatenate $2\times2$ neighbours, $4C\to2C$).
* §3.2 Eq. (1)–(2): self-attention inside non-overlapping $M\times M$ windows
  (``window_partition`` / ``window_reverse``, ``WindowAttention``).
* §3.2 Eq. (3), Fig. 3(b): the Swin Transformer block (pre-LN, (S)W-MSA, two-layer GELU MLP with
  $\alpha=4$, residuals); blocks come in pairs, the second with windows shifted by
  $\lfloor M/2\rfloor$ (``SwinBlockPair``).
* §3.2 Fig. 4: the shifted windows computed as a cyclic shift towards the top-left, an attention
  mask that keeps each token inside its own sub-window (``shifted_window_mask``), and the
  reverse shift.
* §3.2 Eq. (4): a relative position bias per head, $B\in\mathbb{R}^{M^2\times M^2}$ read from a
  table $\hat B\in\mathbb{R}^{(2M-1)\times(2M-1)}$ (``relative_position_index``).
* §3.3 and Table 7: Swin-T/S/B/L ($C$ = 96, 96, 128, 192; 2-2-6-2 or 2-2-18-2 blocks; $M=7$,
  $d=32$ per head); Appendix A2.1: global average pooling and a linear classifier.

Deviations:
    * Blocked attention logits are set to $-\infty$; the released code adds $-100$, which after the
      softmax gives weights of about $e^{-100}$ — the same to float32 precision.
    * No bottom-right padding (footnote 4 of the paper): every stage's feature map must be a
      multiple of $M$ (true at 224 pixels with $M=7$ and at 384 with $M=12$).
    * A feature map no larger than one window is attended without a shift, as in the released
      code and in torchvision (at 224 pixels, stage 4 is $7\times7$: one window).
    * Dropout and stochastic depth (Appendix A2.1: 0.2, 0.3, 0.5 for T, S, B) are omitted.
    * Initialisation follows the released code in spirit (truncated normal, std 0.02, for linear
      weights and bias tables), not bit for bit.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass(frozen=True)
class SwinConfig:
    """Hyper-parameters of a Swin Transformer; the defaults are Swin-T (§3.3, Table 7).

    Attributes:
        image_size: input resolution (pixels); 224 in Table 1 (384 for fine-tuned models).
        patch_size: side of a patch of the patch partition (4: 48 raw values per patch).
        in_channels: image channels.
        embed_dim: C, the width of stage 1; stage i (from 0) has width C·2^i.
        depths: Swin Transformer blocks per stage (even: they come in W-MSA / SW-MSA pairs).
        d_head: query/key dimension d of every head (32), so stage i has C·2^i / d heads.
        window_size: M, the window side in patches (7).
        mlp_ratio: α, the MLP expansion (4).
        n_classes: classes of the linear head; 0 gives the pooled features.
        ln_eps: LayerNorm epsilon (PyTorch's default, as in the released code).
    """

    image_size: int = 224
    patch_size: int = 4
    in_channels: int = 3
    embed_dim: int = 96
    depths: tuple[int, ...] = (2, 2, 6, 2)
    d_head: int = 32
    window_size: int = 7
    mlp_ratio: int = 4
    n_classes: int = 1000
    ln_eps: float = 1e-5

    def dim(self, stage: int) -> int:
        """Width C·2^i of stage i (from 0)."""
        return self.embed_dim * 2**stage

    def resolution(self, stage: int) -> int:
        """Side of stage i's feature map: image_size / (patch_size · 2^i)."""
        return self.image_size // (self.patch_size * 2**stage)

    @classmethod
    def tiny(cls) -> SwinConfig:
        """A 32×32-pixel, three-stage model for tests and figures (not Swin-T, the "Tiny" size).

        Patches of 2 pixels give 16×16, 8×8 and 4×4 maps: with M = 4 that is 4×4 windows, 2×2
        windows and a single window (no shift), the three cases of the full model.
        """
        return cls(
            image_size=32, patch_size=2, embed_dim=16, depths=(2, 2, 2), d_head=8,
            window_size=4, n_classes=10,
        )  # fmt: skip

    @classmethod
    def swin_t(cls) -> SwinConfig:
        """Swin-T: C = 96, layer numbers {2, 2, 6, 2} (§3.3)."""
        return cls()

    @classmethod
    def swin_s(cls) -> SwinConfig:
        """Swin-S: C = 96, layer numbers {2, 2, 18, 2}."""
        return cls(depths=(2, 2, 18, 2))

    @classmethod
    def swin_b(cls) -> SwinConfig:
        """Swin-B: C = 128, layer numbers {2, 2, 18, 2}."""
        return cls(embed_dim=128, depths=(2, 2, 18, 2))

    @classmethod
    def swin_l(cls) -> SwinConfig:
        """Swin-L: C = 192, layer numbers {2, 2, 18, 2}."""
        return cls(embed_dim=192, depths=(2, 2, 18, 2))


# --8<-- [start:windows]
def window_partition(x: Tensor, M: int) -> Tensor:
    """Cut a feature map into non-overlapping M×M windows, each a short sequence of tokens.

    Args:
        x: feature map, (B, H, W, C) with H and W multiples of M.
        M: window side.

    Returns:
        Windows, (B·nW, M², C), nW = (H/M)·(W/M) windows in row-major order, each row-major.
    """
    B, H, W, C = x.shape
    x = x.view(B, H // M, M, W // M, M, C)  # (B, H/M, M, W/M, M, C)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, M * M, C)  # (B·nW, M², C)


def window_reverse(windows: Tensor, M: int, H: int, W: int) -> Tensor:
    """Put windows back into a feature map: the inverse of :func:`window_partition`.

    Args:
        windows: (B·nW, M², C).
        M: window side.
        H: feature map height (a multiple of M).
        W: feature map width (a multiple of M).

    Returns:
        Feature map, (B, H, W, C).
    """
    C = windows.shape[-1]
    x = windows.view(-1, H // M, W // M, M, M, C)  # (B, H/M, W/M, M, M, C)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, H, W, C)  # (B, H, W, C)


# --8<-- [end:windows]


# --8<-- [start:mask]
def shifted_window_mask(
    H: int, W: int, M: int, s: int, device: torch.device | None = None
) -> Tensor:
    r"""Which tokens of a window may not attend to which, after the cyclic shift (Fig. 4).

    After rolling the map by $(-s, -s)$, the last row and column of windows hold pieces that
    were not neighbours: the bottom strip of $M-s$ rows, the $s$ rows wrapped around from the
    top, and likewise for columns. Each position gets the number of its piece (3 × 3 pieces);
    two tokens of one window may attend to each other only when the numbers agree.

    Args:
        H: height of the (rolled) feature map, a multiple of M.
        W: width, a multiple of M.
        M: window side.
        s: shift, 0 < s < M.
        device: where to build the mask.

    Returns:
        Blocked pairs, (nW, M², M²) bool: True where query i may not see key j.
    """
    rows = torch.arange(H, device=device)
    cols = torch.arange(W, device=device)
    piece_r = (rows >= H - M).long() + (rows >= H - s).long()  # 0, 1, 2 from top to bottom
    piece_c = (cols >= W - M).long() + (cols >= W - s).long()
    piece = (3 * piece_r[:, None] + piece_c[None, :])[None, :, :, None]  # (1, H, W, 1)
    piece = window_partition(piece, M).squeeze(-1)  # (nW, M²)
    return piece[:, :, None] != piece[:, None, :]  # (nW, M², M²)


# --8<-- [end:mask]


# --8<-- [start:relative-position]
def relative_position_index(M: int) -> Tensor:
    r"""Where $B_{ij}$ is read from in the flattened table $\hat B$ (Eq. (4)).

    Token i at (y_i, x_i) and token j at (y_j, x_j) of one window have the relative position
    (y_i − y_j, x_i − x_j) ∈ [−M+1, M−1]²; it is shifted to [0, 2M−2]² and flattened row-major.

    Returns:
        Indices into (2M−1)² table rows, (M², M²) long.
    """
    y, x = torch.meshgrid(torch.arange(M), torch.arange(M), indexing="ij")
    y, x = y.flatten(), x.flatten()  # (M²,) coordinates of the tokens, row-major
    dy = y[:, None] - y[None, :] + M - 1  # (M², M²), in [0, 2M−2]
    dx = x[:, None] - x[None, :] + M - 1
    return dy * (2 * M - 1) + dx


# --8<-- [end:relative-position]


# --8<-- [start:attention]
class WindowAttention(nn.Module):
    r"""Multi-head self-attention inside each window, with relative position bias (Eq. (4)).

    $\mathrm{Attention}(Q, K, V) = \mathrm{SoftMax}(QK^\top/\sqrt d + B)\,V$ for the $M^2$ tokens
    of one window; all windows of all images are one batch.
    """

    def __init__(self, dim: int, n_heads: int, M: int) -> None:
        super().__init__()
        self.n_heads, self.d_head = n_heads, dim // n_heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        # \hat B: one (2M−1)×(2M−1) table per head, flattened; B is read from it by index
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * M - 1) ** 2, n_heads))
        self.register_buffer(
            "relative_position_index", relative_position_index(M), persistent=False
        )

    def relative_position_bias(self) -> Tensor:
        """B for every head, (h, M², M²)."""
        bias = self.relative_position_bias_table[self.relative_position_index]  # (M², M², h)
        return bias.permute(2, 0, 1)  # (h, M², M²)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """Attend within each window.

        Args:
            x: windows, (B·nW, N, C) with N = M² tokens each.
            mask: blocked pairs of each window, (nW, N, N) bool, or None (no shift).

        Returns:
            (B·nW, N, C).
        """
        Bw, N, C = x.shape
        qkv = self.qkv(x).view(Bw, N, 3, self.n_heads, self.d_head)  # (B·nW, N, 3, h, d)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each (B·nW, h, N, d)
        attn = (q @ k.transpose(-2, -1)) / self.d_head**0.5  # Eq. (4): QKᵀ/√d, (B·nW, h, N, N)
        attn = attn + self.relative_position_bias()  # Eq. (4): + B
        if mask is not None:  # Fig. 4: keep each token inside its own sub-window
            nW = mask.shape[0]
            attn = attn.view(Bw // nW, nW, self.n_heads, N, N)  # (B, nW, h, N, N)
            attn = attn.masked_fill(mask[:, None], float("-inf")).view(Bw, self.n_heads, N, N)
        out = attn.softmax(dim=-1) @ v  # Eq. (4): SoftMax(·)V, (B·nW, h, N, d)
        return self.proj(out.transpose(1, 2).reshape(Bw, N, C))  # heads concatenated


# --8<-- [end:attention]


class MLP(nn.Module):
    """Two linear layers with a GELU in between, hidden width α·C (§3.1)."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: Tensor) -> Tensor:
        """Apply position-wise: (..., C) → (..., C)."""
        return self.fc2(self.act(self.fc1(x)))


# --8<-- [start:block]
class SwinBlock(nn.Module):
    """One Swin Transformer block: LN → (S)W-MSA → +, LN → MLP → + (Eq. (3)).

    With ``shift = 0`` the windows start at the top-left corner (W-MSA); with ``shift = M // 2``
    the map is rolled by (−s, −s) first, attended with the mask, and rolled back (SW-MSA).
    """

    def __init__(self, dim: int, n_heads: int, M: int, shift: int, mlp_ratio: int, eps: float):
        super().__init__()
        self.window_size, self.shift = M, shift
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = WindowAttention(dim, n_heads, M)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = MLP(dim, mlp_ratio * dim)

    def extra_repr(self) -> str:
        """Shown by ``print(model)``: W-MSA and SW-MSA blocks differ only in ``shift``."""
        return f"window_size={self.window_size}, shift={self.shift}"

    def window_msa(self, h: Tensor) -> Tensor:
        """W-MSA (shift 0) or SW-MSA (shift s) of a normalised map: (B, H, W, C) → (B, H, W, C)."""
        H, W = h.shape[1:3]
        M = self.window_size
        s = self.shift if min(H, W) > M else 0  # one window covers the map: nothing to shift
        mask = None
        if s:
            h = torch.roll(h, shifts=(-s, -s), dims=(1, 2))  # Fig. 4: cyclic shift to top-left
            mask = shifted_window_mask(H, W, M, s, device=h.device)  # (nW, M², M²)
        h = self.attn(window_partition(h, M), mask)  # Eq. (2): attention per window
        h = window_reverse(h, M, H, W)  # (B, H, W, C)
        if s:
            h = torch.roll(h, shifts=(s, s), dims=(1, 2))  # reverse cyclic shift
        return h

    def forward(self, x: Tensor) -> Tensor:
        """Transform the tokens of a feature map.

        Args:
            x: $z^{l-1}$, (B, H, W, C) with H and W multiples of M.

        Returns:
            $z^l$, (B, H, W, C).
        """
        x = x + self.window_msa(self.norm1(x))  # Eq. (3): ẑ = (S)W-MSA(LN(z)) + z
        return x + self.mlp(self.norm2(x))  # Eq. (3): z = MLP(LN(ẑ)) + ẑ


class SwinBlockPair(nn.Module):
    """Two successive blocks, regular then shifted windows (Eq. (3), Fig. 3(b))."""

    def __init__(self, dim: int, n_heads: int, cfg: SwinConfig) -> None:
        super().__init__()
        M, eps = cfg.window_size, cfg.ln_eps
        self.w_msa = SwinBlock(dim, n_heads, M, 0, cfg.mlp_ratio, eps)
        self.sw_msa = SwinBlock(dim, n_heads, M, M // 2, cfg.mlp_ratio, eps)

    def forward(self, x: Tensor) -> Tensor:
        """(B, H, W, C) → (B, H, W, C): block l (W-MSA), then block l + 1 (SW-MSA)."""
        return self.sw_msa(self.w_msa(x))


# --8<-- [end:block]


# --8<-- [start:embedding]
class PatchEmbedding(nn.Module):
    """Patch partition + linear embedding (§3.1): 4×4 pixels → 48 values → C, then LayerNorm.

    A convolution with kernel = stride = 4 applies one 48 × C matrix to every patch.
    """

    def __init__(self, cfg: SwinConfig) -> None:
        super().__init__()
        p = cfg.patch_size
        self.proj = nn.Conv2d(cfg.in_channels, cfg.embed_dim, p, stride=p)
        self.norm = nn.LayerNorm(cfg.embed_dim, eps=cfg.ln_eps)

    def forward(self, x: Tensor) -> Tensor:
        """Images (B, 3, H, W) → stage-1 map (B, H/4, W/4, C), channels last."""
        return self.norm(self.proj(x).permute(0, 2, 3, 1))


# --8<-- [end:embedding]


# --8<-- [start:merging]
class PatchMerging(nn.Module):
    """Concatenate each 2×2 group of neighbours (4C), LayerNorm, linear 4C → 2C (§3.1).

    Halves the resolution and doubles the width, like a stride-2 stage of a CNN.
    """

    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(4 * dim, eps=eps)
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        """(B, H, W, C) → (B, H/2, W/2, 2C)."""
        x = torch.cat(  # order of the released code: (0,0), (1,0), (0,1), (1,1) as (row, col)
            [x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], dim=-1
        )  # (B, H/2, W/2, 4C)
        return self.reduction(self.norm(x))


# --8<-- [end:merging]


# --8<-- [start:swin]
class Stage(nn.Module):
    """Patch merging (stages 2–4) followed by pairs of Swin Transformer blocks (Fig. 3(a))."""

    def __init__(self, cfg: SwinConfig, i: int) -> None:
        super().__init__()
        dim, depth = cfg.dim(i), cfg.depths[i]
        assert depth % 2 == 0, "blocks come in W-MSA / SW-MSA pairs"
        self.downsample = PatchMerging(dim // 2, cfg.ln_eps) if i > 0 else None
        n_heads = dim // cfg.d_head
        self.blocks = nn.Sequential(*[SwinBlockPair(dim, n_heads, cfg) for _ in range(depth // 2)])

    def forward(self, x: Tensor) -> Tensor:
        """(B, H, W, C/2 or C) → (B, H', W', C), H' = H/2 after patch merging."""
        if self.downsample is not None:
            x = self.downsample(x)
        return self.blocks(x)


class SwinTransformer(nn.Module):
    """Patch embedding → four stages at strides 4, 8, 16, 32 → LayerNorm, average pool, linear."""

    def __init__(self, cfg: SwinConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.patch_embed = PatchEmbedding(cfg)
        self.stages = nn.Sequential(*[Stage(cfg, i) for i in range(len(cfg.depths))])
        d_out = cfg.dim(len(cfg.depths) - 1)
        self.norm = nn.LayerNorm(d_out, eps=cfg.ln_eps)
        self.head = nn.Linear(d_out, cfg.n_classes) if cfg.n_classes > 0 else nn.Identity()
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, WindowAttention):
                nn.init.trunc_normal_(m.relative_position_bias_table, std=0.02)

    def feature_maps(self, x: Tensor) -> list[Tensor]:
        """The hierarchical maps a detector or segmenter reads (Fig. 1(a), "FPN or U-Net").

        Args:
            x: images, (B, 3, H, W).

        Returns:
            One map per stage, (B, C·2^i, H/(4·2^i), W/(4·2^i)), channels first like a CNN's.
        """
        x, maps = self.patch_embed(x), []
        for stage in self.stages:
            x = stage(x)
            maps.append(x.permute(0, 3, 1, 2))
        return maps

    def forward(self, x: Tensor) -> Tensor:
        """Classify images.

        Args:
            x: images, (B, 3, H, W), H and W such that every stage is a multiple of M.

        Returns:
            Logits, (B, n_classes) (or the pooled (B, 8C) features when ``n_classes == 0``).
        """
        x = self.stages(self.patch_embed(x))  # (B, H/32, W/32, 8C)
        x = self.norm(x).mean(dim=(1, 2))  # Appendix A2.1: global average pooling, (B, 8C)
        return self.head(x)


# --8<-- [end:swin]


def swin(cfg: SwinConfig | None = None, **overrides: object) -> SwinTransformer:
    """Build a Swin Transformer from a config (default Swin-T) with field overrides."""
    return SwinTransformer(dataclasses.replace(cfg or SwinConfig(), **overrides))


def swin_t(**overrides: object) -> SwinTransformer:
    """Swin-T (§3.3): about ResNet-50's complexity."""
    return swin(SwinConfig.swin_t(), **overrides)


def swin_s(**overrides: object) -> SwinTransformer:
    """Swin-S: about ResNet-101's complexity."""
    return swin(SwinConfig.swin_s(), **overrides)


def swin_b(**overrides: object) -> SwinTransformer:
    """Swin-B: about ViT-B/DeiT-B's size and complexity."""
    return swin(SwinConfig.swin_b(), **overrides)


def swin_l(**overrides: object) -> SwinTransformer:
    """Swin-L: pre-trained on ImageNet-22K in the paper (Table 1(b): 384², M = 12)."""
    return swin(SwinConfig.swin_l(), **overrides)


def tiny(**overrides: object) -> SwinTransformer:
    """The test configuration :meth:`SwinConfig.tiny` (a toy, not Swin-T)."""
    return swin(SwinConfig.tiny(), **overrides)


# ── loading torchvision's weights ──────────────────────────────────────────────────────
def load_torchvision(model: SwinTransformer, state_dict: dict[str, Tensor]) -> None:
    """Load a state dict of torchvision's `swin_t`, `swin_s` or `swin_b`.

    torchvision keeps the stages in one `features` list (0: patch embedding, then blocks and patch
    merging alternating) and numbers the blocks of a stage 0, 1, 2 …; ours pairs them. Its
    `relative_position_index` buffers are recomputed here, not loaded.
    """
    renamed = {}
    for key, value in state_dict.items():
        if key.endswith("relative_position_index"):
            continue
        parts = key.split(".")
        if parts[0] == "features":
            f = int(parts[1])
            if f == 0:  # features.0: Conv2d, Permute, LayerNorm
                key = "patch_embed." + {"0": "proj", "2": "norm"}[parts[2]] + "." + parts[3]
            elif f % 2 == 0:  # patch merging before stage f / 2
                key = f"stages.{f // 2}.downsample." + ".".join(parts[2:])
            else:  # blocks of stage (f − 1) / 2
                j = int(parts[2])
                block = f"stages.{(f - 1) // 2}.blocks.{j // 2}." + ("sw_msa" if j % 2 else "w_msa")
                rest = (
                    ".".join(parts[3:]).replace("mlp.0.", "mlp.fc1.").replace("mlp.3.", "mlp.fc2.")
                )
                key = f"{block}.{rest}"
        renamed[key] = value
    model.load_state_dict(renamed)


def load_timm(model: SwinTransformer, state_dict: dict[str, Tensor]) -> None:
    """Load a state dict of timm's `swin_{tiny,small,base,large}_patch4_window{7_224,12_384}`.

    timm's names are ours but for `layers` (our `stages`), blocks numbered within a stage (ours
    pair them) and `head.fc` (our `head`).
    """
    renamed = {}
    for key, value in state_dict.items():
        parts = key.split(".")
        if parts[0] == "layers":
            key = f"stages.{parts[1]}." + ".".join(parts[2:])
            if parts[2] == "blocks":
                j = int(parts[3])
                pair = f"stages.{parts[1]}.blocks.{j // 2}." + ("sw_msa" if j % 2 else "w_msa")
                key = f"{pair}." + ".".join(parts[4:])
        renamed[key.replace("head.fc.", "head.")] = value
    model.load_state_dict(renamed)


__all__ = [
    "MLP",
    "PatchEmbedding",
    "PatchMerging",
    "Stage",
    "SwinBlock",
    "SwinBlockPair",
    "SwinConfig",
    "SwinTransformer",
    "WindowAttention",
    "load_timm",
    "load_torchvision",
    "relative_position_index",
    "shifted_window_mask",
    "swin",
    "swin_b",
    "swin_l",
    "swin_s",
    "swin_t",
    "tiny",
    "window_partition",
    "window_reverse",
]

if __name__ == "__main__":
    model = tiny()
    images = torch.randn(2, 3, 32, 32)
    print(model(images).shape)  # torch.Size([2, 10])
    print([tuple(m.shape) for m in model.feature_maps(images)])  # strides 2, 4, 8 of 32 pixels
