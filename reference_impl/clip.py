r"""Learning Transferable Visual Models From Natural Language Supervision (CLIP).

Alec Radford, Jong Wook Kim, Chris Hallacy, Aditya Ramesh, Gabriel Goh, Sandhini Agarwal,
Girish Sastry, Amanda Askell, Pamela Mishkin, Jack Clark, Gretchen Krueger, Ilya Sutskever.
ICML 2021. arXiv:2103.00020.

Implemented (section / figure numbers of the paper):

* §2.3, Fig. 3: two encoders, linear projections into a shared embedding space, L2
  normalisation, cosine similarities scaled by a learned temperature, and the symmetric
  cross-entropy loss over the $N\times N$ similarity matrix of a batch.
* §2.4 image encoder: a ViT (Dosovitskiy et al., 2021) with "an additional layer normalization
  to the combined patch and position embeddings before the transformer" (``ln_pre``); the class
  token's final state, layer-normalised and projected, is the image embedding.
* §2.4 text encoder: a 12-layer, 512-wide, 8-head Transformer with masked (causal)
  self-attention over a lower-cased BPE sequence of at most 76 tokens bracketed by [SOS] and
  [EOS]; the [EOS] token's final state, layer-normalised and projected, is the text embedding.
* §2.5: the temperature is a log-parameterised scalar initialised to τ = 0.07 and clipped so
  that the logit scale 1/τ never exceeds 100.
* §3.1.4: zero-shot classification — embed "a photo of a {label}." for every class (averaged over
  an ensemble of prompt templates), pick the class whose text embedding is closest to the image's.
* Table 20 / the released ViT-B/32: ``embed_dim`` 512, image 224, patch 32, width 768, 12 layers;
  text context 77, vocabulary 49,408, width 512, 12 layers.

Deviations:
    * The [EOS] position is found with ``text.argmax(dim=-1)``, as in the released code: the
      end-of-text token has the largest id of the vocabulary (49,407), so every tokenizer used
      with this model must give EOT the largest id (``WordTokenizer`` below does).
    * Activation: QuickGELU $x\,\sigma(1.702x)$ as in the released models (the paper does not
      name the activation; the weights were trained with this approximation of GELU).
    * ``WordTokenizer`` is a whitespace word-level tokenizer for toy data; the paper's
      byte-pair-encoding tokenizer (vocabulary of 49,152) and its vocabulary file are not included.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn


@dataclass(frozen=True)
class CLIPConfig:
    """Both towers' hyper-parameters; defaults: the released ViT-B/32 model.

    Attributes:
        embed_dim: width of the joint embedding space.
        image_size: input resolution (pixels).
        patch_size: P of the vision Transformer.
        vision_width: width of the vision Transformer.
        vision_layers: blocks of the vision Transformer.
        vision_heads: heads of the vision Transformer (width / 64).
        context_length: text positions (76 BPE tokens + the bracket tokens fit in 77).
        vocab_size: BPE vocabulary (49,152 merges + 256 bytes ×2 + [SOS] + [EOS] = 49,408).
        text_width: width of the text Transformer.
        text_heads: heads of the text Transformer.
        text_layers: blocks of the text Transformer.
        init_tau: initial temperature τ (§2.5).
    """

    embed_dim: int = 512
    image_size: int = 224
    patch_size: int = 32
    vision_width: int = 768
    vision_layers: int = 12
    vision_heads: int = 12
    context_length: int = 77
    vocab_size: int = 49408
    text_width: int = 512
    text_heads: int = 8
    text_layers: int = 12
    init_tau: float = 0.07

    @classmethod
    def tiny(cls) -> CLIPConfig:
        """32×32 images, 8-token captions, 2-layer towers: tests and CPU demos."""
        return cls(
            embed_dim=32,
            image_size=32,
            patch_size=8,
            vision_width=64,
            vision_layers=2,
            vision_heads=4,
            context_length=8,
            vocab_size=64,
            text_width=64,
            text_heads=4,
            text_layers=2,
        )

    @classmethod
    def vit_b32(cls) -> CLIPConfig:
        """ViT-B/32 (released model)."""
        return cls()

    @classmethod
    def vit_b16(cls) -> CLIPConfig:
        """ViT-B/16 (released model)."""
        return cls(patch_size=16)

    @classmethod
    def vit_l14(cls) -> CLIPConfig:
        """ViT-L/14 (released model; the best of the paper is this one at 336 pixels)."""
        return cls(
            embed_dim=768,
            patch_size=14,
            vision_width=1024,
            vision_layers=24,
            vision_heads=16,
            text_width=768,
            text_heads=12,
        )


class QuickGELU(nn.Module):
    r"""$x\,\sigma(1.702\,x)$, the GELU approximation the released CLIP models were trained with."""

    def forward(self, x: Tensor) -> Tensor:
        """Element-wise, any shape."""
        return x * torch.sigmoid(1.702 * x)


# --8<-- [start:attention]
class MultiHeadAttention(nn.Module):
    """Multi-head self-attention with an optional additive mask (causal in the text tower)."""

    def __init__(self, d_model: int, n_heads: int) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.d_head = d_model // n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)

    def forward(self, x: Tensor, attn_mask: Tensor | None = None) -> Tensor:
        """Attend.

        Args:
            x: tokens, (B, T, D).
            attn_mask: additive mask, (T, T): 0 where allowed, −inf where not.

        Returns:
            (B, T, D).
        """
        B, T, D = x.shape
        qkv = self.qkv(x).view(B, T, 3, self.n_heads, self.d_head)  # (B, T, 3, h, d)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each (B, h, T, d)
        scores = (q @ k.transpose(-2, -1)) / self.d_head**0.5  # (B, h, T, T)
        if attn_mask is not None:
            scores = scores + attn_mask  # −inf above the diagonal: no peeking ahead
        out = scores.softmax(dim=-1) @ v  # (B, h, T, d)
        return self.proj(out.transpose(1, 2).reshape(B, T, D))  # (B, T, D)


# --8<-- [end:attention]


class MLP(nn.Module):
    """Two linear layers (4× wider inside) with QuickGELU."""

    def __init__(self, d_model: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(d_model, 4 * d_model)
        self.act = QuickGELU()
        self.fc2 = nn.Linear(4 * d_model, d_model)

    def forward(self, x: Tensor) -> Tensor:
        """(B, T, D) → (B, T, D)."""
        return self.fc2(self.act(self.fc1(x)))


class ResidualAttentionBlock(nn.Module):
    """Pre-LN Transformer block: x + MHA(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, d_model: int, n_heads: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(d_model)
        self.attn = MultiHeadAttention(d_model, n_heads)
        self.norm2 = nn.LayerNorm(d_model)
        self.mlp = MLP(d_model)

    def forward(self, x: Tensor, attn_mask: Tensor | None = None) -> Tensor:
        """(B, T, D) → (B, T, D); ``attn_mask`` (T, T) additive."""
        x = x + self.attn(self.norm1(x), attn_mask)
        return x + self.mlp(self.norm2(x))


class Transformer(nn.Module):
    """A stack of residual attention blocks, optionally causal."""

    def __init__(self, d_model: int, n_layers: int, n_heads: int, causal: bool = False) -> None:
        super().__init__()
        self.causal = causal
        self.blocks = nn.ModuleList(
            ResidualAttentionBlock(d_model, n_heads) for _ in range(n_layers)
        )

    def forward(self, x: Tensor) -> Tensor:
        """(B, T, D) → (B, T, D)."""
        mask = None
        if self.causal:  # §2.4 "masked self-attention": position t sees positions ≤ t
            T = x.shape[1]
            mask = torch.full((T, T), float("-inf"), device=x.device).triu(1)  # (T, T)
        for block in self.blocks:
            x = block(x, mask)
        return x


# --8<-- [start:towers]
class VisionTransformer(nn.Module):
    """Image tower: patches → [class] + positions → LN → Transformer → LN(class) → projection."""

    def __init__(self, cfg: CLIPConfig) -> None:
        super().__init__()
        w, P = cfg.vision_width, cfg.patch_size
        n_tokens = (cfg.image_size // P) ** 2 + 1
        self.patch_embed = nn.Conv2d(3, w, P, stride=P, bias=False)
        self.class_embedding = nn.Parameter(w**-0.5 * torch.randn(w))
        self.pos_embed = nn.Parameter(w**-0.5 * torch.randn(n_tokens, w))
        self.ln_pre = nn.LayerNorm(w)  # §2.4: the extra LN before the Transformer
        self.transformer = Transformer(w, cfg.vision_layers, cfg.vision_heads)
        self.ln_post = nn.LayerNorm(w)
        self.proj = nn.Linear(w, cfg.embed_dim, bias=False)  # W_i of Fig. 3

    def forward(self, x: Tensor) -> Tensor:
        """Embed images.

        Args:
            x: images, (B, 3, H, W).

        Returns:
            Image features $I_f W_i$ (not yet normalised), (B, embed_dim).
        """
        x = self.patch_embed(x).flatten(2).transpose(1, 2)  # (B, N, D)
        cls = self.class_embedding.expand(x.shape[0], 1, -1)  # (B, 1, D)
        x = torch.cat([cls, x], dim=1) + self.pos_embed  # (B, 1 + N, D)
        x = self.transformer(self.ln_pre(x))
        return self.proj(self.ln_post(x[:, 0]))  # the class token, (B, embed_dim)


class TextTransformer(nn.Module):
    """Text tower: tokens + positions → causal Transformer → LN → state at [EOS] → projection."""

    def __init__(self, cfg: CLIPConfig) -> None:
        super().__init__()
        w = cfg.text_width
        self.token_embedding = nn.Embedding(cfg.vocab_size, w)
        self.pos_embed = nn.Parameter(0.01 * torch.randn(cfg.context_length, w))
        self.transformer = Transformer(w, cfg.text_layers, cfg.text_heads, causal=True)
        self.ln_final = nn.LayerNorm(w)
        self.proj = nn.Linear(w, cfg.embed_dim, bias=False)  # W_t of Fig. 3

    def forward(self, text: Tensor) -> Tensor:
        """Embed token sequences.

        Args:
            text: token ids, (B, T), [SOS] … [EOS] then padding; [EOS] has the largest id.

        Returns:
            Text features $T_f W_t$ (not yet normalised), (B, embed_dim).
        """
        T = text.shape[1]
        x = self.token_embedding(text) + self.pos_embed[:T]  # (B, T, D)
        x = self.ln_final(self.transformer(x))  # (B, T, D)
        eot = text.argmax(dim=-1)  # Deviation: [EOS] = largest id, as in the release, (B,)
        x = x[torch.arange(x.shape[0], device=x.device), eot]  # (B, D)
        return self.proj(x)  # (B, embed_dim)


# --8<-- [end:towers]


# --8<-- [start:clip]
class CLIP(nn.Module):
    """Contrastive Language-Image Pre-training: two towers and a learned temperature."""

    def __init__(self, cfg: CLIPConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.visual = VisionTransformer(cfg)
        self.text = TextTransformer(cfg)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / cfg.init_tau)))  # log(1/τ)
        self._init_weights()

    def _init_weights(self) -> None:
        nn.init.normal_(self.text.token_embedding.weight, std=0.02)
        for tower, w, n in [
            (self.visual, self.cfg.vision_width, self.cfg.vision_layers),
            (self.text, self.cfg.text_width, self.cfg.text_layers),
        ]:
            for block in tower.transformer.blocks:
                nn.init.normal_(block.attn.qkv.weight, std=w**-0.5)
                nn.init.normal_(block.attn.proj.weight, std=w**-0.5 * (2 * n) ** -0.5)
                nn.init.normal_(block.mlp.fc1.weight, std=(2 * w) ** -0.5)
                nn.init.normal_(block.mlp.fc2.weight, std=w**-0.5 * (2 * n) ** -0.5)
            nn.init.normal_(tower.proj.weight, std=w**-0.5)

    def encode_image(self, image: Tensor) -> Tensor:
        """(B, 3, H, W) → L2-normalised image embeddings $I_e$, (B, embed_dim)."""
        return F.normalize(self.visual(image), dim=-1)

    def encode_text(self, text: Tensor) -> Tensor:
        """(B, T) token ids → L2-normalised text embeddings $T_e$, (B, embed_dim)."""
        return F.normalize(self.text(text), dim=-1)

    def forward(self, image: Tensor, text: Tensor) -> tuple[Tensor, Tensor]:
        r"""Scaled cosine similarities of every image with every text (Fig. 3).

        Args:
            image: (B, 3, H, W).
            text: (B', T) token ids.

        Returns:
            logits_per_image (B, B') $= e^{t}\,I_e T_e^\top$ and its transpose logits_per_text.
        """
        scale = self.logit_scale.exp().clamp(max=100)  # §2.5: 1/τ clipped at 100
        logits_per_image = scale * self.encode_image(image) @ self.encode_text(text).T  # (B, B')
        return logits_per_image, logits_per_image.T


def clip_loss(logits_per_image: Tensor) -> Tensor:
    r"""The symmetric loss of Fig. 3: mean of the image→text and text→image cross-entropies.

    With $n$ matched pairs on the diagonal of the $n\times n$ logits,
    $\mathcal{L} = \tfrac12\big(\mathrm{CE}(\text{logits}, y)
    + \mathrm{CE}(\text{logits}^\top, y)\big)$ with $y = (0, 1, \dots, n-1)$.

    Args:
        logits_per_image: (B, B), row i = image i against every text.

    Returns:
        Scalar loss.
    """
    labels = torch.arange(logits_per_image.shape[0], device=logits_per_image.device)
    loss_i = F.cross_entropy(logits_per_image, labels)  # each image picks its caption
    loss_t = F.cross_entropy(logits_per_image.T, labels)  # each caption picks its image
    return (loss_i + loss_t) / 2


# --8<-- [end:clip]


# --8<-- [start:zero-shot]
@torch.no_grad()
def zero_shot_classifier(
    model: CLIP,
    class_names: Sequence[str],
    templates: Sequence[str],
    tokenize: Callable[[list[str]], Tensor],
) -> Tensor:
    """Turn class names into classifier weights with prompt templates (§3.1.4, prompt ensembling).

    Args:
        model: a trained CLIP.
        class_names: one name per class, e.g. ``["red circle", "blue square"]``.
        templates: prompts with one ``{}``, e.g. ``["a photo of a {}."]``.
        tokenize: list of strings → token ids (B, T).

    Returns:
        Class embeddings, (n_classes, embed_dim), unit length: the mean over templates of the
        normalised text embeddings, normalised again.
    """
    weights = []
    for name in class_names:
        emb = model.encode_text(tokenize([t.format(name) for t in templates]))  # (n_templates, E)
        weights.append(F.normalize(emb.mean(dim=0), dim=-1))
    return torch.stack(weights)  # (n_classes, E)


@torch.no_grad()
def zero_shot_predict(model: CLIP, images: Tensor, class_weights: Tensor) -> Tensor:
    """Class probabilities of images: softmax over the scaled cosine similarities.

    Args:
        model: a trained CLIP.
        images: (B, 3, H, W).
        class_weights: (n_classes, embed_dim) from :func:`zero_shot_classifier`.

    Returns:
        (B, n_classes) probabilities.
    """
    logits = model.logit_scale.exp() * model.encode_image(images) @ class_weights.T
    return logits.softmax(dim=-1)


# --8<-- [end:zero-shot]


class WordTokenizer:
    """A toy whitespace tokenizer: 0 = padding, words, then [SOS] and [EOS] (the largest id).

    Args:
        words: the vocabulary (lower-case words).
        context_length: length every sequence is padded / truncated to.
    """

    def __init__(self, words: Sequence[str], context_length: int) -> None:
        self.index = {w: i + 1 for i, w in enumerate(sorted(set(words)))}
        self.sot, self.eot = len(self.index) + 1, len(self.index) + 2
        self.vocab_size = self.eot + 1
        self.context_length = context_length

    def __call__(self, texts: Sequence[str]) -> Tensor:
        """Texts → (B, context_length) ids: [SOS] words [EOS] 0 … 0."""
        out = torch.zeros(len(texts), self.context_length, dtype=torch.long)
        for i, text in enumerate(texts):
            words = text.lower().replace(".", " ").replace(",", " ").split()
            ids = [self.sot, *[self.index[w] for w in words][: self.context_length - 2]]
            out[i, : len(ids) + 1] = torch.tensor([*ids, self.eot])
        return out


def clip(cfg: CLIPConfig | None = None, **overrides: object) -> CLIP:
    """Build CLIP from a config (default: ViT-B/32) with field overrides."""
    return CLIP(dataclasses.replace(cfg or CLIPConfig(), **overrides))


def clip_tiny(**overrides: object) -> CLIP:
    """The tiny test configuration."""
    return clip(CLIPConfig.tiny(), **overrides)


def clip_vit_b32(**overrides: object) -> CLIP:
    """CLIP ViT-B/32."""
    return clip(CLIPConfig.vit_b32(), **overrides)


def clip_vit_b16(**overrides: object) -> CLIP:
    """CLIP ViT-B/16."""
    return clip(CLIPConfig.vit_b16(), **overrides)


def clip_vit_l14(**overrides: object) -> CLIP:
    """CLIP ViT-L/14."""
    return clip(CLIPConfig.vit_l14(), **overrides)


# ── loading OpenAI's / open_clip's weights ─────────────────────────────────────────────
OPENAI_NAMES = [  # (theirs, ours): substrings replaced in this order in every key
    ("visual.conv1", "visual.patch_embed"),
    ("visual.positional_embedding", "visual.pos_embed"),
    ("positional_embedding", "text.pos_embed"),
    ("token_embedding", "text.token_embedding"),
    ("ln_final", "text.ln_final"),
    ("text_projection", "text.proj.weight"),
    ("visual.proj", "visual.proj.weight"),
    ("resblocks.", "blocks."),
    ("ln_1", "norm1"),
    ("ln_2", "norm2"),
    ("attn.in_proj_", "attn.qkv."),
    ("attn.out_proj", "attn.proj"),
    ("mlp.c_fc", "mlp.fc1"),
    ("mlp.c_proj", "mlp.fc2"),
]


def load_openai(model: CLIP, state_dict: dict[str, Tensor]) -> None:
    """Load OpenAI's CLIP weights, or open_clip's `ViT-B-32-quickgelu` … (same names).

    The text tower's keys have no prefix there (`transformer.resblocks.0…` → `text.transformer.
    blocks.0…`). The two projections are stored as (width, embed_dim) matrices applied as
    `x @ proj`; our `nn.Linear` keeps the transpose. The fused `in_proj` stacks q, k, v as ours.
    """
    renamed = {}
    for key, value in state_dict.items():
        if key in ("input_resolution", "context_length", "vocab_size", "attn_mask"):
            continue  # bookkeeping entries of some checkpoints, not weights
        if key.startswith("transformer."):
            key = "text." + key
        for theirs, ours in OPENAI_NAMES:
            key = key.replace(theirs, ours)
        transposed = key in ("visual.proj.weight", "text.proj.weight")
        renamed[key] = value.T if transposed else value
    model.load_state_dict(renamed)


__all__ = [
    "CLIP",
    "OPENAI_NAMES",
    "CLIPConfig",
    "MultiHeadAttention",
    "QuickGELU",
    "ResidualAttentionBlock",
    "TextTransformer",
    "Transformer",
    "VisionTransformer",
    "WordTokenizer",
    "clip",
    "clip_loss",
    "clip_tiny",
    "clip_vit_b16",
    "clip_vit_b32",
    "clip_vit_l14",
    "load_openai",
    "zero_shot_classifier",
    "zero_shot_predict",
]

if __name__ == "__main__":
    tok = WordTokenizer(["a", "photo", "of", "red", "blue", "circle", "square"], context_length=8)
    model = clip_tiny(vocab_size=tok.vocab_size)
    logits_per_image, _ = model(torch.rand(2, 3, 32, 32), tok(["a red circle", "a blue square"]))
    print(logits_per_image.shape, clip_loss(logits_per_image).shape)  # (2, 2), ()
