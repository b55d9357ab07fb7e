r"""DETR: End-to-End Object Detection with Transformers.

Nicolas Carion, Francisco Massa, Gabriel Synnaeve, Nicolas Usunier, Alexander Kirillov, Sergey
Zagoruyko. *European Conference on Computer Vision* (ECCV 2020), pp. 213–229. arXiv:2005.12872.

Implemented (section, equation and table numbers of the paper):

- §3.2, Fig. 2: a CNN backbone (ResNet-50 or -101 with frozen BatchNorm, §4 "Technical
  details"), a 1×1 convolution from C = 2048 to d = 256 channels, the feature map flattened to
  HW tokens, a Transformer encoder and decoder, and prediction FFNs.
- §3.2.2 and §A.4.5: fixed 2-D sine positional encodings (d/2 channels per axis), added to the
  queries and keys of every attention layer (§A.3, Fig. 10); values get none.
- §3.2.3: N = 100 learned object queries, added to the decoder's queries (and its self-attention
  keys) at every layer; the decoder input starts at zero (§A.3) and decodes all N in parallel.
- §3.2.4: a class head (linear, K + 1 classes: the last one is "no object" ∅) and a box head
  (3-layer MLP, ReLU, hidden width d) predicting normalised (cx, cy, w, h) with a sigmoid.
- §3.2.5: auxiliary decoding losses: the heads are applied to every decoder layer's output,
  normalised by one shared LayerNorm.
- §3.1, Eq. (1): the optimal bipartite matching $\hat\sigma$ between predictions and targets,
  found by the Hungarian algorithm (implemented here, Kuhn 1955), with the matching cost
  $-\hat p_{\sigma(i)}(c_i) + \mathcal{L}_{box}$; Eq. (2): the Hungarian loss, the no-object
  class weighted by 0.1; §3.1.1 and §A.2.1: $\mathcal{L}_{box} = \lambda_{iou}\mathcal{L}_{iou}
  + \lambda_{L1}\lVert b - \hat b\rVert_1$ with the generalized IoU (Rezatofighi et al. 2019),
  $\lambda_{L1} = 5$, $\lambda_{iou} = 2$ (§A.4.3).
- Parameter counts (91 COCO label ids + ∅): DETR-R50 41,524,768, DETR-R101 60,464,672, equal to
  transformers' `DetrForObjectDetection`. With conv1 and layer1 frozen as in the official code
  (`frozen_stages=1`), 41,302,368 and 60,242,272 are trained: the paper's "41.3M" (§4.1) and
  Table 1's "41M" / "60M".

Deviations:

- No padding mask: the images of a batch have one size. The official code pads a batch to its
  largest image and masks the padding in attention and in the positional encoding.
- The backbone is torchvision's ResNet layout (stride on the 3×3 convolution, "v1.5"), which is
  what the official code imports; its ImageNet weights are not loaded here (nothing is
  downloaded), so the default initialisation stands in for them.
- The classification term is a weighted mean over all N slots (weights 1, and 0.1 for ∅), as in
  the official code; the box terms are divided by the number of target boxes (§A.2).
- `frozen_stages=1` (conv1 and layer1 not trained) comes from the official code, not the paper;
  the dilated DC5 variants and the panoptic mask head (§4.4) are not implemented.
"""

import dataclasses
import itertools
import math
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn
from torch.nn import functional as F


# --8<-- [start:config]
@dataclass(frozen=True)
class DETRConfig:
    r"""Hyper-parameters; the defaults are DETR (ResNet-50) of §4 and Table 1.

    Attributes:
        layers: Bottleneck blocks per backbone stage (ResNet-50: 3, 4, 6, 3); fewer than four
            stages cut the ResNet short (only the toy configurations do).
        widths: Width of each stage's 3×3 convolutions; a stage outputs 4× as many channels.
        frozen_stages: conv1 and the first `frozen_stages` stages get `requires_grad=False`.
        num_classes: K, class ids 0 … K − 1; id K is "no object" ∅ (COCO: ids up to 90).
        num_queries: N object queries = the most objects one image can have (§3.1).
        d_model: Width d of the Transformer (§4.1: 256).
        n_heads: Attention heads M.
        d_ff: Inner width of the Transformer's FFNs.
        n_encoder_layers: Encoder layers (§4.1: 6).
        n_decoder_layers: Decoder layers (§4.1: 6).
        dropout: Dropout in the Transformer (§4: 0.1).
        temperature: Base of the sine encoding's wavelengths (10000, as in the Transformer).
        cost_class: Weight of $-\hat p(c)$ in the matching cost.
        cost_bbox: λ_L1 in the matching cost and the loss (§A.4.3: 5).
        cost_giou: λ_iou in the matching cost and the loss (§A.4.3: 2).
        eos_coef: Weight of the ∅ class in the classification loss (§3.1: "a factor 10").
    """

    layers: tuple[int, ...] = (3, 4, 6, 3)
    widths: tuple[int, ...] = (64, 128, 256, 512)
    frozen_stages: int = 1
    num_classes: int = 91
    num_queries: int = 100
    d_model: int = 256
    n_heads: int = 8
    d_ff: int = 2048
    n_encoder_layers: int = 6
    n_decoder_layers: int = 6
    dropout: float = 0.1
    temperature: float = 10000.0
    cost_class: float = 1.0
    cost_bbox: float = 5.0
    cost_giou: float = 2.0
    eos_coef: float = 0.1

    @classmethod
    def r50(cls) -> "DETRConfig":
        """DETR of Table 1: ResNet-50, 6 + 6 layers of width 256, 8 heads, 100 queries."""
        return cls()

    @classmethod
    def r101(cls) -> "DETRConfig":
        """DETR-R101 of Table 1: the same Transformer on ResNet-101 (3, 4, 23, 3 blocks)."""
        return cls(layers=(3, 4, 23, 3))

    @classmethod
    def tiny(cls) -> "DETRConfig":
        """A small configuration for tests: two backbone stages (stride 8), d = 32, 10 queries."""
        return cls(
            layers=(1, 1),
            widths=(8, 16),
            frozen_stages=0,
            num_classes=3,
            num_queries=10,
            d_model=32,
            n_heads=4,
            d_ff=64,
            n_encoder_layers=2,
            n_decoder_layers=2,
        )


# --8<-- [end:config]


# --8<-- [start:frozen-bn]
class FrozenBatchNorm2d(nn.Module):
    """BatchNorm with fixed statistics and affine weights (§4): a per-channel affine map.

    Detection batches are small (4 images per GPU, §4), too few for good batch statistics, so
    the ImageNet ones are kept. All four tensors are buffers: nothing here is trained.

    Args:
        n: Channels.
    """

    def __init__(self, n: int) -> None:
        super().__init__()
        self.register_buffer("weight", torch.ones(n))
        self.register_buffer("bias", torch.zeros(n))
        self.register_buffer("running_mean", torch.zeros(n))
        self.register_buffer("running_var", torch.ones(n))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) → (B, C, H, W): γ (x − μ) / √(σ² + ε) + β, the same in train and eval."""
        scale = self.weight * (self.running_var + 1e-5).rsqrt()  # (C,)
        shift = self.bias - self.running_mean * scale
        return x * scale[:, None, None] + shift[:, None, None]


# --8<-- [end:frozen-bn]


# --8<-- [start:backbone]
class Bottleneck(nn.Module):
    """ResNet's 1×1 → 3×3 → 1×1 block with frozen BatchNorm; stride on the 3×3 (torchvision).

    Args:
        in_channels: Channels entering the block.
        width: Width of the 3×3 convolution; the block outputs `4 * width` channels.
        stride: 2 in the first block of stages 2–4, else 1.
    """

    def __init__(self, in_channels: int, width: int, stride: int = 1) -> None:
        super().__init__()
        out_channels = 4 * width
        self.conv1 = nn.Conv2d(in_channels, width, 1, bias=False)
        self.bn1 = FrozenBatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
        self.bn2 = FrozenBatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out_channels, 1, bias=False)
        self.bn3 = FrozenBatchNorm2d(out_channels)
        self.relu = nn.ReLU()
        self.downsample = None
        if stride != 1 or in_channels != out_channels:  # projection shortcut (ResNet Eq. (2))
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                FrozenBatchNorm2d(out_channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C_in, H, W) → (B, 4·width, H/stride, W/stride)."""
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class Backbone(nn.Module):
    """The convolutional part of a ResNet (§3.2.1): no pooling, no classifier; stride 32.

    Module names are torchvision's (and timm's), so their ResNet state dicts load directly.

    Args:
        config: `layers`, `widths` and `frozen_stages` are used.
    """

    def __init__(self, config: DETRConfig) -> None:
        super().__init__()
        w0 = config.widths[0]
        self.conv1 = nn.Conv2d(3, w0, 7, stride=2, padding=3, bias=False)
        self.bn1 = FrozenBatchNorm2d(w0)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        in_channels = w0
        for i, (n, width) in enumerate(zip(config.layers, config.widths, strict=True)):
            stride = 1 if i == 0 else 2
            blocks = [Bottleneck(in_channels if j == 0 else 4 * width, width, stride if j == 0
                                 else 1) for j in range(n)]  # fmt: skip
            self.add_module(f"layer{i + 1}", nn.Sequential(*blocks))
            in_channels = 4 * width
        self.out_channels = in_channels  # C = 2048 for ResNet-50/101
        self.n_stages = len(config.layers)
        # official code: conv1 and layer1 keep their ImageNet weights (not in the paper)
        frozen = ("conv1.", *(f"layer{i + 1}." for i in range(config.frozen_stages)))
        for name, p in self.named_parameters():
            p.requires_grad_(not name.startswith(frozen))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Images (B, 3, H₀, W₀) → activation map f (B, C, H₀/32, W₀/32) with four stages."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))  # (B, 64, H₀/4, W₀/4)
        for i in range(self.n_stages):
            x = getattr(self, f"layer{i + 1}")(x)
        return x


# --8<-- [end:backbone]


# --8<-- [start:position]
class SinePositionalEncoding(nn.Module):
    r"""Fixed 2-D sine encoding (§A.4.5): d/2 channels for y, d/2 for x, concatenated.

    Each axis is the Transformer's encoding of the row (or column) index rescaled to (0, 2π]:
    channel pair (2i, 2i+1) holds $\sin(p/T^{2i/(d/2)})$ and $\cos(p/T^{2i/(d/2)})$.

    Args:
        d_model: d; each axis gets d/2 channels.
        temperature: T (10000).
    """

    def __init__(self, d_model: int, temperature: float = 10000.0) -> None:
        super().__init__()
        self.d_half = d_model // 2
        self.temperature = temperature

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Feature map (B, d, H, W) → encodings (B, d, H, W); only its shape is read."""
        B, _, H, W = x.shape
        eps, scale = 1e-6, 2 * math.pi  # positions 1 … H become 2π/H … 2π
        y = torch.arange(1, H + 1, dtype=x.dtype, device=x.device) / (H + eps) * scale  # (H,)
        xs = torch.arange(1, W + 1, dtype=x.dtype, device=x.device) / (W + eps) * scale  # (W,)
        i = torch.arange(self.d_half, device=x.device).div(2, rounding_mode="floor")
        freq = self.temperature ** (2 * i.to(x.dtype) / self.d_half)  # (d/2,) pairs share one
        pos_y, pos_x = y[:, None] / freq, xs[:, None] / freq  # (H, d/2), (W, d/2)
        pos_y = torch.stack((pos_y[:, 0::2].sin(), pos_y[:, 1::2].cos()), dim=2).flatten(1)
        pos_x = torch.stack((pos_x[:, 0::2].sin(), pos_x[:, 1::2].cos()), dim=2).flatten(1)
        pos = torch.cat((pos_y[:, None].expand(H, W, -1), pos_x[None].expand(H, W, -1)), dim=2)
        return pos.permute(2, 0, 1).expand(B, -1, -1, -1)  # (B, d, H, W)


# --8<-- [end:position]


# --8<-- [start:attention]
class MultiHeadAttention(nn.Module):
    """Multi-head attention (§A.1) with separate query, key and value inputs.

    DETR adds positional encodings to the query and key inputs only, so the three inputs differ.

    Args:
        d_model: Width d.
        n_heads: Heads M; each has width d/M.
        dropout: Dropout on the attention weights.
    """

    def __init__(self, d_model: int, n_heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.n_heads, self.d_head = n_heads, d_model // n_heads
        self.q_proj = nn.Linear(d_model, d_model)
        self.k_proj = nn.Linear(d_model, d_model)
        self.v_proj = nn.Linear(d_model, d_model)
        self.out_proj = nn.Linear(d_model, d_model)  # L of §A.1.1
        self.dropout = nn.Dropout(dropout)

    def forward(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
        """Attend from `query` (B, T, d) to `key`, `value` (B, S, d) → (B, T, d)."""
        B, T, _ = query.shape
        q = self.q_proj(query).view(B, T, self.n_heads, self.d_head).transpose(1, 2)  # (B,M,T,d')
        k = self.k_proj(key).view(B, -1, self.n_heads, self.d_head).transpose(1, 2)  # (B,M,S,d')
        v = self.v_proj(value).view(B, -1, self.n_heads, self.d_head).transpose(1, 2)
        alpha = (q @ k.transpose(-2, -1) * self.d_head**-0.5).softmax(-1)  # §A.1.2 α_ij
        out = self.dropout(alpha) @ v  # (B, M, T, d')
        return self.out_proj(out.transpose(1, 2).reshape(B, T, -1))  # (B, T, d)


class FeedForward(nn.Module):
    """The Transformer's FFN: linear → ReLU → dropout → linear (§A.1.3).

    Args:
        d_model: Width d.
        d_ff: Inner width.
        dropout: Dropout after the ReLU.
    """

    def __init__(self, d_model: int, d_ff: int, dropout: float) -> None:
        super().__init__()
        self.linear1 = nn.Linear(d_model, d_ff)
        self.relu = nn.ReLU()
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(d_ff, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, d) → (B, T, d)."""
        return self.linear2(self.dropout(self.relu(self.linear1(x))))


# --8<-- [end:attention]


# --8<-- [start:layers]
class EncoderLayer(nn.Module):
    """Encoder layer, post-LN (§3.2.2, Fig. 10): the spatial encoding enters queries and keys.

    Args:
        config: d_model, n_heads, d_ff, dropout.
    """

    def __init__(self, config: DETRConfig) -> None:
        super().__init__()
        D = config.d_model
        self.self_attn = MultiHeadAttention(D, config.n_heads, config.dropout)
        self.dropout1 = nn.Dropout(config.dropout)
        self.norm1 = nn.LayerNorm(D)
        self.ffn = FeedForward(D, config.d_ff, config.dropout)
        self.dropout2 = nn.Dropout(config.dropout)
        self.norm2 = nn.LayerNorm(D)

    def forward(self, x: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        """Tokens x (B, HW, d) and their positional encodings pos (B, HW, d) → (B, HW, d)."""
        qk = x + pos  # Fig. 10: positional encoding added to queries and keys, not to values
        x = self.norm1(x + self.dropout1(self.self_attn(qk, qk, x)))
        return self.norm2(x + self.dropout2(self.ffn(x)))


class DecoderLayer(nn.Module):
    """Decoder layer, post-LN (§3.2.3, Fig. 10): self-attention, cross-attention, FFN.

    Self-attention among the N slots, then cross-attention to the image; no causal mask: all N
    objects are decoded in parallel.

    Args:
        config: d_model, n_heads, d_ff, dropout.
    """

    def __init__(self, config: DETRConfig) -> None:
        super().__init__()
        D = config.d_model
        self.self_attn = MultiHeadAttention(D, config.n_heads, config.dropout)
        self.dropout1 = nn.Dropout(config.dropout)
        self.norm1 = nn.LayerNorm(D)
        self.cross_attn = MultiHeadAttention(D, config.n_heads, config.dropout)
        self.dropout2 = nn.Dropout(config.dropout)
        self.norm2 = nn.LayerNorm(D)
        self.ffn = FeedForward(D, config.d_ff, config.dropout)
        self.dropout3 = nn.Dropout(config.dropout)
        self.norm3 = nn.LayerNorm(D)

    def forward(
        self, y: torch.Tensor, memory: torch.Tensor, pos: torch.Tensor, query_pos: torch.Tensor
    ) -> torch.Tensor:
        """Apply the layer.

        Args:
            y: Slot embeddings (B, N, d).
            memory: Encoder output (B, HW, d).
            pos: Spatial positional encodings of the memory (B, HW, d).
            query_pos: Object queries (B, N, d).

        Returns:
            (B, N, d).
        """
        qk = y + query_pos  # the object queries play the positional encodings' part
        y = self.norm1(y + self.dropout1(self.self_attn(qk, qk, y)))
        attn = self.cross_attn(y + query_pos, memory + pos, memory)  # keys: image + position
        y = self.norm2(y + self.dropout2(attn))
        return self.norm3(y + self.dropout3(self.ffn(y)))


class Encoder(nn.Module):
    """The encoder: a stack of `EncoderLayer` (no final LayerNorm in post-LN).

    Args:
        config: n_encoder_layers and the layers' fields.
    """

    def __init__(self, config: DETRConfig) -> None:
        super().__init__()
        self.layers = nn.ModuleList(EncoderLayer(config) for _ in range(config.n_encoder_layers))

    def forward(self, x: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        """(B, HW, d) tokens and encodings → (B, HW, d) memory."""
        for layer in self.layers:
            x = layer(x, pos)
        return x


class Decoder(nn.Module):
    """The decoder: a stack of `DecoderLayer` and one LayerNorm shared by every layer's output.

    Args:
        config: n_decoder_layers and the layers' fields.
    """

    def __init__(self, config: DETRConfig) -> None:
        super().__init__()
        self.layers = nn.ModuleList(DecoderLayer(config) for _ in range(config.n_decoder_layers))
        self.norm = nn.LayerNorm(config.d_model)

    def forward(
        self,
        memory: torch.Tensor,
        pos: torch.Tensor,
        query_pos: torch.Tensor,
        all_layers: bool = False,
    ) -> torch.Tensor:
        """Decode N slots from the memory.

        Args:
            memory: Encoder output (B, HW, d).
            pos: Spatial positional encodings (B, HW, d).
            query_pos: Object queries (B, N, d).
            all_layers: Return every layer's output (for the auxiliary losses, §3.2.5).

        Returns:
            (B, N, d), or (L, B, N, d) with `all_layers`; each through the shared LayerNorm.
        """
        y = torch.zeros_like(query_pos)  # §A.3: "queries (initially set to zero)"
        outputs = []
        for layer in self.layers:
            y = layer(y, memory, pos, query_pos)
            outputs.append(y)
        return self.norm(torch.stack(outputs) if all_layers else y)


# --8<-- [end:layers]


# --8<-- [start:model]
class MLP(nn.Module):
    """The box FFN (§3.2.4): 3 linear layers with ReLU in between, hidden width d.

    Args:
        d_in: Input width.
        d_hidden: Hidden width.
        d_out: Output width (4: cx, cy, w, h).
        n_layers: Linear layers.
    """

    def __init__(self, d_in: int, d_hidden: int, d_out: int, n_layers: int = 3) -> None:
        super().__init__()
        dims = [d_in] + [d_hidden] * (n_layers - 1) + [d_out]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(dims))
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(…, d_in) → (…, d_out)."""
        for i, layer in enumerate(self.layers):
            x = layer(x) if i == len(self.layers) - 1 else self.relu(layer(x))
        return x


class DETR(nn.Module):
    """DETR (Fig. 2): CNN backbone, Transformer encoder–decoder, prediction FFNs.

    Backbone → 1×1 projection + positional encoding → encoder → decoder with N object queries →
    class and box FFNs, one prediction per query.

    Args:
        config: Hyper-parameters; `DETRConfig.r50()` is DETR of Table 1.
    """

    def __init__(self, config: DETRConfig) -> None:
        super().__init__()
        self.config = config
        self.backbone = Backbone(config)
        self.input_proj = nn.Conv2d(self.backbone.out_channels, config.d_model, 1)  # C → d
        self.position_encoding = SinePositionalEncoding(config.d_model, config.temperature)
        self.encoder = Encoder(config)
        self.decoder = Decoder(config)
        self.object_queries = nn.Parameter(torch.empty(config.num_queries, config.d_model))
        self.class_embed = nn.Linear(config.d_model, config.num_classes + 1)  # + ∅
        self.bbox_embed = MLP(config.d_model, config.d_model, 4, 3)
        nn.init.normal_(self.object_queries)
        for p in [*self.encoder.parameters(), *self.decoder.parameters()]:
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)  # §A.4.2: Xavier for the Transformer's weights

    def forward(
        self, images: torch.Tensor, all_layers: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Predict N (class, box) pairs per image.

        Args:
            images: (B, 3, H₀, W₀), normalised with ImageNet's mean and std.
            all_layers: Predict from every decoder layer (the auxiliary losses, §3.2.5).

        Returns:
            Class logits (B, N, K + 1), the last one for ∅, and boxes (B, N, 4) as (cx, cy, w, h)
            in [0, 1] relative to the image; with `all_layers`, (L, B, N, ·), the last layer last.
        """
        f = self.backbone(images)  # (B, C, H, W), H = H₀/32
        z0 = self.input_proj(f)  # (B, d, H, W)
        pos = self.position_encoding(z0).flatten(2).transpose(1, 2)  # (B, HW, d)
        tokens = z0.flatten(2).transpose(1, 2)  # (B, HW, d): the d × HW sequence of §3.2.2
        memory = self.encoder(tokens, pos)  # (B, HW, d)
        queries = self.object_queries.repeat(images.shape[0], 1, 1)  # (B, N, d)
        hs = self.decoder(memory, pos, queries, all_layers)  # (B, N, d) or (L, B, N, d)
        return self.class_embed(hs), self.bbox_embed(hs).sigmoid()


# --8<-- [end:model]


# --8<-- [start:giou]
def box_cxcywh_to_xyxy(b: torch.Tensor) -> torch.Tensor:
    """(…, 4) centre, width, height → (…, 4) corners x0, y0, x1, y1."""
    cx, cy, w, h = b.unbind(-1)
    return torch.stack((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2), dim=-1)


def generalized_box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    r"""Pairwise generalized IoU (Rezatofighi et al. 2019; §A.2.1) of corner boxes.

    $\mathrm{GIoU} = \frac{|a\cap b|}{|a\cup b|} - \frac{|B(a,b)\setminus(a\cup b)|}{|B(a,b)|}$,
    B the smallest box enclosing both: equal to IoU when one box contains the other, and it
    tends to −1 for small boxes far apart, where IoU is 0 and gives no gradient.

    Args:
        a: (n, 4) boxes x0, y0, x1, y1.
        b: (m, 4) boxes.

    Returns:
        (n, m), in [−1, 1].
    """
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])  # (n,)
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])  # (m,)
    lt = torch.max(a[:, None, :2], b[None, :, :2])  # (n, m, 2) corners of the intersection
    rb = torch.min(a[:, None, 2:], b[None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)  # (n, m)
    union = area_a[:, None] + area_b[None, :] - inter
    lt_c = torch.min(a[:, None, :2], b[None, :, :2])  # the enclosing box B(a, b)
    rb_c = torch.max(a[:, None, 2:], b[None, :, 2:])
    enclosing = (rb_c - lt_c).prod(-1)
    return inter / union - (enclosing - union) / enclosing


# --8<-- [end:giou]


# --8<-- [start:hungarian]
def linear_sum_assignment(cost: list[list[float]]) -> list[int]:
    """The Hungarian algorithm (Kuhn 1955): a cheapest one-to-one assignment of rows to columns.

    Shortest augmenting paths with potentials u (rows) and v (columns), O(n² m): rows are
    added one at a time; a Dijkstra-like search over reduced costs c_ij − u_i − v_j ≥ 0
    finds the cheapest way to free a column for the new row, then the matching is flipped along
    that path. The potentials stay a feasible dual, so the final matching is optimal.

    Args:
        cost: n × m costs with n ≤ m (every row is assigned, m − n columns stay free).

    Returns:
        For each row, its column.
    """
    n, m = len(cost), len(cost[0])
    if n > m:
        raise ValueError(f"{n} rows but only {m} columns: transpose the problem")
    inf = float("inf")
    u, v = [0.0] * (n + 1), [0.0] * (m + 1)  # potentials; index 0 is a virtual row/column
    row_of = [0] * (m + 1)  # row_of[j]: row (1-based) assigned to column j, 0 if free
    for i in range(1, n + 1):
        row_of[0] = i  # the new row starts at the virtual column 0
        j0, dist, prev = 0, [inf] * (m + 1), [0] * (m + 1)
        done = [False] * (m + 1)
        while row_of[j0] != 0:  # until the path reaches a free column
            done[j0] = True
            i0, delta, j1 = row_of[j0], inf, 0
            for j in range(1, m + 1):
                if not done[j]:
                    reduced = cost[i0 - 1][j - 1] - u[i0] - v[j]
                    if reduced < dist[j]:
                        dist[j], prev[j] = reduced, j0
                    if dist[j] < delta:
                        delta, j1 = dist[j], j
            for j in range(m + 1):  # move the potentials by the smallest distance found
                if done[j]:
                    u[row_of[j]] += delta
                    v[j] -= delta
                else:
                    dist[j] -= delta
            j0 = j1
        while j0:  # flip the matching along the augmenting path
            j1 = prev[j0]
            row_of[j0] = row_of[j1]
            j0 = j1
    col_of = [0] * n
    for j in range(1, m + 1):
        if row_of[j]:
            col_of[row_of[j] - 1] = j - 1
    return col_of


# --8<-- [end:hungarian]


# --8<-- [start:matcher]
class Target(NamedTuple):
    """The ground truth of one image: M objects."""

    labels: torch.Tensor  # (M,) class ids 0 … K − 1
    boxes: torch.Tensor  # (M, 4) cx, cy, w, h in [0, 1]


def matching_cost(
    logits: torch.Tensor, boxes: torch.Tensor, target: Target, config: DETRConfig
) -> torch.Tensor:
    r"""The pair-wise matching cost $\mathcal{L}_{match}$ of §3.1.

    $-\hat p_j(c_i) + \lambda_{L1}\lVert b_i - \hat b_j\rVert_1 - \lambda_{iou}\,
    \mathrm{GIoU}(b_i, \hat b_j)$: probabilities, not log-probabilities, so that the class
    term is commensurable with the box terms; $-\mathrm{GIoU}$ differs from $\mathcal{L}_{iou}
    = 1 - \mathrm{GIoU}$ by a constant, which does not change the matching.

    Args:
        logits: (N, K + 1) class logits of N predictions.
        boxes: (N, 4) predicted boxes (cx, cy, w, h).
        target: M objects.
        config: cost_class, cost_bbox, cost_giou.

    Returns:
        (M, N): the cost of assigning prediction j to object i.
    """
    prob = logits.softmax(-1)  # (N, K + 1)
    cost_class = -prob[:, target.labels].T  # (M, N)
    cost_l1 = torch.cdist(target.boxes, boxes, p=1)  # (M, N) ‖b_i − b̂_j‖₁
    giou = generalized_box_iou(box_cxcywh_to_xyxy(target.boxes), box_cxcywh_to_xyxy(boxes))
    return config.cost_class * cost_class + config.cost_bbox * cost_l1 - config.cost_giou * giou


@torch.no_grad()
def hungarian_match(
    logits: torch.Tensor, boxes: torch.Tensor, targets: list[Target], config: DETRConfig
) -> list[torch.Tensor]:
    r"""Eq. (1): $\hat\sigma = \arg\min_\sigma \sum_i \mathcal{L}_{match}(y_i, \hat y_{\sigma(i)})$.

    The costs of the whole batch come from one call of `matching_cost`; the assignment is
    solved image by image. The N − M slots left over are matched to ∅, whose cost does not
    depend on the prediction.

    Args:
        logits: (B, N, K + 1) class logits.
        boxes: (B, N, 4) predicted boxes.
        targets: B targets, each with M ≤ N objects.
        config: The cost weights.

    Returns:
        Per image, (M,) long: the prediction matched to each object.
    """
    N = boxes.shape[1]
    batch = Target(torch.cat([t.labels for t in targets]), torch.cat([t.boxes for t in targets]))
    cost = matching_cost(logits.flatten(0, 1), boxes.flatten(0, 1), batch, config)  # (ΣM, B·N)
    matches, first = [], 0
    for b, t in enumerate(targets):
        M = len(t.labels)
        if M > N:
            raise ValueError(f"{M} objects but only {N} queries: DETR predicts at most N objects")
        block = cost[first : first + M, b * N : (b + 1) * N].double().tolist()  # (M, N)
        idx = linear_sum_assignment(block) if M else []
        matches.append(torch.tensor(idx, dtype=torch.long, device=boxes.device))
        first += M
    return matches


# --8<-- [end:matcher]


# --8<-- [start:loss]
def hungarian_loss(
    logits: torch.Tensor,
    boxes: torch.Tensor,
    targets: list[Target],
    config: DETRConfig,
    matches: list[torch.Tensor] | None = None,
) -> dict[str, torch.Tensor]:
    r"""Eq. (2) for one decoder layer: match, then classify every slot and regress matched boxes.

    Args:
        logits: (B, N, K + 1).
        boxes: (B, N, 4).
        targets: B targets.
        config: Loss weights and eos_coef.
        matches: The matching of each image (default: computed with `hungarian_match`).

    Returns:
        `class` (weighted cross-entropy, ∅ weighted by eos_coef), `l1` and `giou`
        ($1 - \mathrm{GIoU}$, both summed over matched pairs and divided by the number of
        objects), and `total` = class + λ_L1·l1 + λ_iou·giou.
    """
    K = config.num_classes
    if matches is None:
        matches = hungarian_match(logits, boxes, targets, config)
    classes = torch.full(logits.shape[:2], K, dtype=torch.long, device=logits.device)  # all ∅
    for b, (idx, t) in enumerate(zip(matches, targets, strict=True)):
        classes[b, idx] = t.labels  # c_i for the matched slots
    weight = torch.ones(K + 1, device=logits.device)
    weight[K] = config.eos_coef  # §3.1: ∅ down-weighted by a factor 10 (class imbalance)
    loss_class = F.cross_entropy(logits.flatten(0, 1), classes.flatten(), weight=weight)
    pred = torch.cat([bx[idx] for bx, idx in zip(boxes, matches, strict=True)])  # (ΣM, 4) b̂_σ̂(i)
    true = torch.cat([t.boxes for t in targets])  # (ΣM, 4) b_i
    n_boxes = max(len(true), 1)  # §3.1.1: normalised by the number of objects in the batch
    loss_l1 = (pred - true).abs().sum() / n_boxes
    giou = generalized_box_iou(box_cxcywh_to_xyxy(pred), box_cxcywh_to_xyxy(true)).diagonal()
    loss_giou = (1 - giou).sum() / n_boxes  # L_iou = 1 − GIoU
    total = loss_class + config.cost_bbox * loss_l1 + config.cost_giou * loss_giou
    return {"total": total, "class": loss_class, "l1": loss_l1, "giou": loss_giou}


def set_loss(
    logits: torch.Tensor, boxes: torch.Tensor, targets: list[Target], config: DETRConfig
) -> torch.Tensor:
    """The training loss: Eq. (2) after every decoder layer, summed (§3.2.5), each matched anew.

    Args:
        logits: (L, B, N, K + 1) from `DETR(images, all_layers=True)`.
        boxes: (L, B, N, 4).
        targets: B targets.
        config: The loss weights.

    Returns:
        The scalar loss.
    """
    return sum(
        hungarian_loss(lg, bx, targets, config)["total"]
        for lg, bx in zip(logits, boxes, strict=True)
    )


# --8<-- [end:loss]


# --8<-- [start:constructors]
def detr_r50(**overrides: object) -> DETR:
    """DETR with ResNet-50 (41,524,768 parameters, 41,302,368 trained); overrides config fields."""
    return DETR(dataclasses.replace(DETRConfig.r50(), **overrides))


def detr_r101(**overrides: object) -> DETR:
    """DETR-R101 (60,464,672 parameters, 60,242,272 trained); overrides config fields."""
    return DETR(dataclasses.replace(DETRConfig.r101(), **overrides))


def tiny(**overrides: object) -> DETR:
    """The test configuration `DETRConfig.tiny()`; overrides config fields."""
    return DETR(dataclasses.replace(DETRConfig.tiny(), **overrides))


# --8<-- [end:constructors]


# ── loading transformers' weights ──────────────────────────────────────────────────────
_RENAME = [  # transformers' DetrForObjectDetection → ours, applied in order
    ("model.backbone.model.", "backbone."),
    ("model.query_position_embeddings.weight", "object_queries"),
    ("model.input_projection.", "input_proj."),
    ("model.decoder.layernorm.", "decoder.norm."),
    ("model.", ""),
    (".o_proj.", ".out_proj."),
    (".encoder_attn.", ".cross_attn."),
    (".mlp.fc1.", ".ffn.linear1."),
    (".mlp.fc2.", ".ffn.linear2."),
    ("class_labels_classifier.", "class_embed."),
    ("bbox_predictor.", "bbox_embed."),
]
_NORMS = {  # layer norms: transformers' names per layer kind
    "encoder": {"self_attn_layer_norm": "norm1", "final_layer_norm": "norm2"},
    "decoder": {"self_attn_layer_norm": "norm1", "encoder_attn_layer_norm": "norm2",
                "final_layer_norm": "norm3"},
}  # fmt: skip


def load_transformers(model: DETR, state_dict: dict[str, torch.Tensor]) -> None:
    """Load a state dict of transformers' `DetrForObjectDetection` (timm ResNet backbone).

    Every tensor is renamed (the mapping is in `_RENAME` and `_NORMS`); the key sets must be
    equal, so a missing or extra tensor raises.
    """
    renamed = {}
    for key, value in state_dict.items():
        for old, new in _RENAME:
            key = key.replace(old, new)
        stack = key.split(".")[0]
        for old, new in _NORMS.get(stack, {}).items():
            key = key.replace(f".{old}.", f".{new}.")
        renamed[key] = value
    ours = model.state_dict()
    if renamed.keys() != ours.keys():
        raise ValueError(f"keys differ: {sorted(renamed.keys() ^ ours.keys())[:4]} …")
    model.load_state_dict(renamed)


__all__ = [
    "DETR",
    "MLP",
    "Backbone",
    "Bottleneck",
    "DETRConfig",
    "Decoder",
    "DecoderLayer",
    "Encoder",
    "EncoderLayer",
    "FeedForward",
    "FrozenBatchNorm2d",
    "MultiHeadAttention",
    "SinePositionalEncoding",
    "Target",
    "box_cxcywh_to_xyxy",
    "detr_r50",
    "detr_r101",
    "generalized_box_iou",
    "hungarian_loss",
    "hungarian_match",
    "linear_sum_assignment",
    "load_transformers",
    "matching_cost",
    "set_loss",
    "tiny",
]


if __name__ == "__main__":
    config = DETRConfig.tiny()
    model = DETR(config)
    images = torch.randn(2, 3, 64, 64)
    logits, boxes = model(images, all_layers=True)
    print(logits.shape, boxes.shape)  # (L, B, N, K + 1) = (2, 2, 10, 4), (2, 2, 10, 4)
    targets = [
        Target(torch.tensor([0, 2]), torch.tensor([[0.3, 0.3, 0.2, 0.2], [0.7, 0.6, 0.3, 0.4]])),
        Target(torch.tensor([1]), torch.tensor([[0.5, 0.5, 0.5, 0.5]])),
    ]
    print(set_loss(logits, boxes, targets, config))
