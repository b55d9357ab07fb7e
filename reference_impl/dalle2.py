r"""DALL·E 2 (unCLIP): a diffusion prior and a diffusion decoder on top of CLIP.

Aditya Ramesh, Prafulla Dhariwal, Alex Nichol, Casey Chu, Mark Chen. *Hierarchical
Text-Conditional Image Generation with CLIP Latents*. arXiv:2204.06125, 2022.

What is implemented (the whole text → image path at reference scale, 64×64 output):

* ``CLIP`` — a compact copy of CLIP (Radford et al., 2021): a ViT image encoder and a causal
  Transformer text encoder, each projected to a shared, L2-normalised embedding space. unCLIP's
  CLIP (Appendix C): ViT-H/16 at 256×256, width 1280, 32 blocks; text encoder width 1024,
  24 blocks; 1024-d embeddings.
* ``GaussianDiffusion`` — the DDPM forward process $q(x_t \mid x_0)$ and posterior
  $q(x_{t-1} \mid x_t, x_0)$ (Ho et al., 2020, Eqs. 4, 6–7), the linear schedule of Ho et al. and
  the cosine schedule (Nichol & Dhariwal, 2021, Eq. 17), and ancestral sampling for a model that
  predicts either the noise $\epsilon$ or the clean $x_0$.
* ``DiffusionPrior`` (§2.2) — a decoder-only Transformer with a causal mask over, in order: the
  encoded text, the CLIP text embedding, a timestep embedding, the noised CLIP image embedding and
  a final learned token whose output predicts the *unnoised* image embedding $z_i$, trained with
  $\lVert f_\theta(z_i^{(t)}, t, y) - z_i \rVert^2$.
* ``Decoder`` (§2.1) — GLIDE's text-conditional ADM U-Net (Nichol et al., 2022) with the CLIP
  image embedding projected and added to the timestep embedding and projected into 4 extra
  context tokens appended to the GLIDE text encoder's outputs; classifier-free guidance (the CLIP
  embedding dropped 10 % and the caption 50 % of the time in training).
* ``UnCLIP`` — text → CLIP text encoder → prior (best of 2 samples by similarity to $z_t$, §2.2)
  → decoder. The two diffusion upsamplers (64→256→1024) are not implemented (see the page).

Deviations:

* The paper does not say how the prior encodes the caption ("the encoded text"); we feed the
  per-token outputs of the CLIP text encoder through a linear projection. Table 3 gives the prior
  a text context of 256 tokens; our CLIP copy has CLIP's 77, so in the full pipeline positions
  77–255 of the prior's position table stay unused (they are still counted).
* The timestep is a learned embedding table (one row per step); the paper does not say how the
  prior embeds it.
* The decoder is trained on $L_\text{simple}$ (the $\epsilon$-MSE) only; like GLIDE it has 6 output
  channels (ε and the variance interpolation of Nichol & Dhariwal), but our sampler uses the fixed
  posterior variance $\tilde\beta_t$ and ignores the last 3 channels.
* Sampling runs every one of the $T$ steps (no respacing; the paper samples with 64/250 steps or
  DDIM), and the prior is sampled without guidance.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn


# --8<-- [start:config]
@dataclass(frozen=True)
class CLIPConfig:
    """CLIP encoders; defaults are unCLIP's CLIP (ViT-H/16 image encoder, Appendix C)."""

    embed_dim: int = 1024  # joint embedding size (the AR prior's PCA starts from 1,024 dims)
    image_size: int = 256
    patch_size: int = 16
    vision_width: int = 1280
    vision_layers: int = 32
    vision_heads: int = 16  # d_head = 80 (not stated in the paper)
    text_width: int = 1024
    text_layers: int = 24
    text_heads: int = 16  # d_head = 64 (not stated)
    context_length: int = 77  # CLIP's
    vocab_size: int = 49408  # CLIP's BPE

    @classmethod
    def tiny(cls) -> CLIPConfig:
        """Small sizes for tests."""
        return cls(
            embed_dim=16, image_size=16, patch_size=8, vision_width=32, vision_layers=1,
            vision_heads=2, text_width=32, text_layers=1, text_heads=2, context_length=8,
            vocab_size=64,
        )  # fmt: skip


@dataclass(frozen=True)
class PriorConfig:
    """Diffusion prior; defaults from Appendix C / Table 3: width 2048, 24 blocks, 32 heads.

    Not to be confused with Table 3's AR-prior column, whose latent decoder is 1664 wide with
    24 blocks and 26 heads.
    """

    d_model: int = 2048
    n_layers: int = 24
    n_heads: int = 32  # d_head = 64
    clip_dim: int = 1024  # CLIP embedding size
    text_width: int = 1024  # width of the CLIP text encoder's token outputs
    context_length: int = 256  # text tokens (Table 3, "text encoder context")
    num_timesteps: int = 1000
    schedule: str = "cosine"

    @classmethod
    def tiny(cls) -> PriorConfig:
        """Small sizes for tests."""
        return cls(
            d_model=32, n_layers=2, n_heads=2, clip_dim=16, text_width=32, context_length=8,
            num_timesteps=20,
        )  # fmt: skip


@dataclass(frozen=True)
class DecoderConfig:
    """64×64 decoder; defaults: GLIDE's 3.5 B model, as used in unCLIP (paper's hyperparameters)."""

    image_size: int = 64
    in_channels: int = 3
    out_channels: int = 6  # ε and the learned-variance interpolation v (GLIDE / improved DDPM)
    model_channels: int = 512
    channel_mult: tuple[int, ...] = (1, 2, 3, 4)
    num_res_blocks: int = 3
    attention_resolutions: tuple[int, ...] = (32, 16, 8)
    d_head: int = 64  # "head channels"
    dropout: float = 0.1
    text_ctx: int = 256
    xf_width: int = 2048  # GLIDE text encoder
    xf_layers: int = 24
    xf_heads: int = 32
    vocab_size: int = 50257  # GLIDE's released tokenizer (GPT-2 BPE)
    clip_dim: int = 1024
    n_clip_tokens: int = 4  # "four extra tokens of context"
    num_timesteps: int = 1000
    schedule: str = "cosine"

    @classmethod
    def tiny(cls) -> DecoderConfig:
        """16×16 images, 16 base channels, for tests."""
        return cls(
            image_size=16, model_channels=16, channel_mult=(1, 2), num_res_blocks=1,
            attention_resolutions=(8,), d_head=8, dropout=0.0, text_ctx=8, xf_width=32,
            xf_layers=1, xf_heads=2, vocab_size=64, clip_dim=16, num_timesteps=20,
        )  # fmt: skip


# --8<-- [end:config]


# --8<-- [start:transformer]
class Attention(nn.Module):
    """Multi-head self-attention with a fused q/k/v projection (optionally causal)."""

    def __init__(self, d_model: int, n_heads: int) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)

    def forward(self, x: Tensor, causal: bool = False) -> Tensor:
        """Map (B, T, D) to (B, T, D)."""
        B, T, D = x.shape
        qkv = self.qkv(x).view(B, T, 3, self.n_heads, D // self.n_heads)  # (B, T, 3, h, d)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # 3 × (B, h, T, d)
        out = F.scaled_dot_product_attention(q, k, v, is_causal=causal)  # softmax(QKᵀ/√d)·V
        return self.proj(out.transpose(1, 2).reshape(B, T, D))  # (B, T, D)


class Block(nn.Module):
    """Pre-LayerNorm Transformer block (CLIP / GLIDE / prior)."""

    def __init__(self, d_model: int, n_heads: int) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(d_model)
        self.attn = Attention(d_model, n_heads)
        self.ln_2 = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(
            nn.Linear(d_model, 4 * d_model), nn.GELU(), nn.Linear(4 * d_model, d_model)
        )

    def forward(self, x: Tensor, causal: bool = False) -> Tensor:
        """Map (B, T, D) to (B, T, D)."""
        x = x + self.attn(self.ln_1(x), causal)
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    """A stack of identical blocks."""

    def __init__(self, d_model: int, n_layers: int, n_heads: int, causal: bool) -> None:
        super().__init__()
        self.causal = causal
        self.blocks = nn.ModuleList(Block(d_model, n_heads) for _ in range(n_layers))

    def forward(self, x: Tensor) -> Tensor:
        """Map (B, T, D) to (B, T, D)."""
        for block in self.blocks:
            x = block(x, self.causal)
        return x


# --8<-- [end:transformer]


# --8<-- [start:clip]
class CLIP(nn.Module):
    """Compact CLIP: ViT image encoder + causal text encoder, projected and L2-normalised."""

    def __init__(self, cfg: CLIPConfig) -> None:
        super().__init__()
        self.cfg = cfg
        w, n_patches = cfg.vision_width, (cfg.image_size // cfg.patch_size) ** 2
        self.patch_embed = nn.Conv2d(3, w, cfg.patch_size, cfg.patch_size, bias=False)
        self.class_embedding = nn.Parameter(torch.zeros(w))
        self.vision_pos = nn.Parameter(torch.zeros(n_patches + 1, w))
        self.ln_pre = nn.LayerNorm(w)
        self.visual = Transformer(w, cfg.vision_layers, cfg.vision_heads, causal=False)
        self.ln_post = nn.LayerNorm(w)
        self.image_projection = nn.Linear(w, cfg.embed_dim, bias=False)
        self.token_embedding = nn.Embedding(cfg.vocab_size, cfg.text_width)
        self.text_pos = nn.Parameter(torch.zeros(cfg.context_length, cfg.text_width))
        self.text = Transformer(cfg.text_width, cfg.text_layers, cfg.text_heads, causal=True)
        self.ln_final = nn.LayerNorm(cfg.text_width)
        self.text_projection = nn.Linear(cfg.text_width, cfg.embed_dim, bias=False)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def encode_image(self, image: Tensor) -> Tensor:
        """Map images (B, 3, H, W) to unit-norm embeddings (B, embed_dim)."""
        x = self.patch_embed(image).flatten(2).transpose(1, 2)  # (B, N, D)
        cls = self.class_embedding.expand(x.shape[0], 1, -1)  # (B, 1, D)
        x = self.visual(self.ln_pre(torch.cat([cls, x], 1) + self.vision_pos))  # (B, N+1, D)
        return F.normalize(self.image_projection(self.ln_post(x[:, 0])), dim=-1)

    # --8<-- [start:encode-text]
    def encode_text(self, tokens: Tensor) -> tuple[Tensor, Tensor]:
        """Encode captions.

        Args:
            tokens: BPE ids (B, T), end-of-text token = the largest id in each row (CLIP's rule).

        Returns:
            Unit-norm text embeddings (B, embed_dim) read at the end-of-text token, and the
            per-token outputs (B, T, text_width) that the prior uses as "the encoded text".
        """
        x = self.text(self.token_embedding(tokens) + self.text_pos[: tokens.shape[1]])
        x = self.ln_final(x)  # (B, T, D)
        eot = x[torch.arange(x.shape[0], device=x.device), tokens.argmax(-1)]  # (B, D)
        return F.normalize(self.text_projection(eot), dim=-1), x

    # --8<-- [end:encode-text]
    def forward(self, image: Tensor, tokens: Tensor) -> tuple[Tensor, Tensor]:
        """Return image and text embeddings, (B, embed_dim) each."""
        return self.encode_image(image), self.encode_text(tokens)[0]


# --8<-- [end:clip]


# --8<-- [start:diffusion]
def beta_schedule(name: str, num_timesteps: int) -> Tensor:
    r"""Noise variances $\beta_1..\beta_T$ (float64).

    ``"linear"``: $10^{-4} \to 0.02$ (Ho et al., 2020, §4). ``"cosine"``:
    $\bar\alpha_t = f(t)/f(0)$ with
    $f(t) = \cos^2\!\big(\tfrac{t/T + s}{1 + s}\cdot\tfrac{\pi}{2}\big)$,
    $s = 0.008$, $\beta_t = 1 - \bar\alpha_t/\bar\alpha_{t-1}$ clipped to 0.999
    (Nichol & Dhariwal, 2021, Eq. 17).
    """
    if name == "linear":
        scale = 1000 / num_timesteps  # keeps the same end points for other T
        return torch.linspace(scale * 1e-4, scale * 0.02, num_timesteps, dtype=torch.float64)
    t = torch.arange(num_timesteps + 1, dtype=torch.float64) / num_timesteps
    f = torch.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2
    alpha_bar = f / f[0]
    return (1 - alpha_bar[1:] / alpha_bar[:-1]).clamp(max=0.999)


class GaussianDiffusion:
    r"""DDPM bookkeeping: $q(x_t \mid x_0)$, the posterior and ancestral sampling.

    Index ``t = 0 .. T-1`` holds the paper's step $t + 1$ (``betas[0]`` is $\beta_1$).
    """

    def __init__(self, num_timesteps: int = 1000, schedule: str = "cosine") -> None:
        self.num_timesteps = num_timesteps
        self.betas = beta_schedule(schedule, num_timesteps)
        self.alphas_cumprod = torch.cumprod(1 - self.betas, 0)  # ᾱ_t
        prev = torch.cat([torch.ones(1, dtype=torch.float64), self.alphas_cumprod[:-1]])
        self.alphas_cumprod_prev = prev  # ᾱ_{t-1}
        # Eq. (7): β̃_t = (1-ᾱ_{t-1})/(1-ᾱ_t)·β_t and the two coefficients of μ̃_t
        self.posterior_variance = (1 - prev) / (1 - self.alphas_cumprod) * self.betas
        self.coef_x0 = prev.sqrt() * self.betas / (1 - self.alphas_cumprod)
        self.coef_xt = (1 - self.betas).sqrt() * (1 - prev) / (1 - self.alphas_cumprod)

    @staticmethod
    def _at(values: Tensor, t: Tensor, x: Tensor) -> Tensor:
        """values[t] as x's dtype, shaped (B, 1, ..., 1) to broadcast against x."""
        return values.to(x.device)[t].to(x.dtype).view(-1, *([1] * (x.dim() - 1)))

    def q_sample(self, x0: Tensor, t: Tensor, noise: Tensor) -> Tensor:
        r"""Eq. (4): $x_t = \sqrt{\bar\alpha_t}\,x_0 + \sqrt{1-\bar\alpha_t}\,\epsilon$."""
        a = self._at(self.alphas_cumprod, t, x0)
        return a.sqrt() * x0 + (1 - a).sqrt() * noise

    def predict_x0(self, x_t: Tensor, t: Tensor, eps: Tensor) -> Tensor:
        r"""Invert Eq. (4) for $x_0$ given a noise estimate."""
        a = self._at(self.alphas_cumprod, t, x_t)
        return (x_t - (1 - a).sqrt() * eps) / a.sqrt()

    def q_posterior(self, x0: Tensor, x_t: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
        r"""Eqs. (6)–(7): mean $\tilde\mu_t(x_t, x_0)$ and variance $\tilde\beta_t$."""
        mean = self._at(self.coef_x0, t, x_t) * x0 + self._at(self.coef_xt, t, x_t) * x_t
        return mean, self._at(self.posterior_variance, t, x_t)

    @torch.no_grad()
    def sample(
        self,
        model_fn: Callable[[Tensor, Tensor], Tensor],
        shape: tuple[int, ...],
        predicts: str,
        generator: torch.Generator | None = None,
        clip_x0: float | None = None,
    ) -> Tensor:
        r"""Ancestral sampling from $x_T \sim \mathcal{N}(0, I)$ with $\sigma_t^2 = \tilde\beta_t$.

        Args:
            model_fn: maps $(x_t, t)$ to the model's prediction, same shape as $x_t$.
            shape: shape of one batch of samples.
            predicts: ``"eps"`` (the decoder) or ``"x0"`` (the prior).
            generator: random generator for reproducible samples.
            clip_x0: clamp the predicted $x_0$ to $[-c, c]$ (images live in $[-1, 1]$).

        Returns:
            Samples of the given shape.
        """
        x = torch.randn(shape, generator=generator)
        for i in reversed(range(self.num_timesteps)):
            t = torch.full((shape[0],), i, dtype=torch.long)
            out = model_fn(x, t)
            x0 = self.predict_x0(x, t, out) if predicts == "eps" else out
            if clip_x0 is not None:
                x0 = x0.clamp(-clip_x0, clip_x0)
            mean, var = self.q_posterior(x0, x, t)
            noise = torch.randn(shape, generator=generator) if i > 0 else torch.zeros(shape)
            x = mean + var.sqrt() * noise
        return x


def timestep_embedding(t: Tensor, dim: int, max_period: float = 10000.0) -> Tensor:
    """Sinusoidal embedding of integer timesteps (B,) → (B, dim), as in ADM/GLIDE."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device) / half)
    args = t.float()[:, None] * freqs[None]  # (B, dim/2)
    return torch.cat([args.cos(), args.sin()], dim=-1)


# --8<-- [end:diffusion]


# --8<-- [start:prior]
class DiffusionPrior(nn.Module):
    r"""§2.2: a causal Transformer that predicts the unnoised CLIP image embedding $z_i$."""

    def __init__(self, cfg: PriorConfig) -> None:
        super().__init__()
        self.cfg = cfg
        d = cfg.d_model
        self.text_tokens_proj = nn.Linear(cfg.text_width, d)  # the encoded text
        self.text_embed_proj = nn.Linear(cfg.clip_dim, d)  # the CLIP text embedding z_t
        self.time_embedding = nn.Embedding(cfg.num_timesteps, d)  # the diffusion timestep
        self.image_embed_proj = nn.Linear(cfg.clip_dim, d)  # the noised image embedding z_i^(t)
        self.final_query = nn.Parameter(torch.zeros(d))  # "a final embedding"
        self.pos_embedding = nn.Parameter(torch.zeros(cfg.context_length + 4, d))
        self.transformer = Transformer(d, cfg.n_layers, cfg.n_heads, causal=True)
        self.ln_final = nn.LayerNorm(d)
        self.out_proj = nn.Linear(d, cfg.clip_dim)

    def forward(
        self, text_encodings: Tensor, text_embed: Tensor, noised_image_embed: Tensor, t: Tensor
    ) -> Tensor:
        r"""Predict $z_i$ from $(z_i^{(t)}, t, y)$.

        Args:
            text_encodings: CLIP text encoder outputs per token, (B, T, text_width).
            text_embed: CLIP text embedding $z_t$, (B, clip_dim).
            noised_image_embed: $z_i^{(t)}$, (B, clip_dim).
            t: timesteps, (B,) long.

        Returns:
            The predicted unnoised image embedding, (B, clip_dim).
        """
        B = t.shape[0]
        seq = torch.cat(
            [
                self.text_tokens_proj(text_encodings),  # (B, T, D)
                self.text_embed_proj(text_embed)[:, None],  # (B, 1, D)
                self.time_embedding(t)[:, None],  # (B, 1, D)
                self.image_embed_proj(noised_image_embed)[:, None],  # (B, 1, D)
                self.final_query.expand(B, 1, -1),  # (B, 1, D)
            ],
            dim=1,
        )  # (B, T+4, D), causal: the final token sees everything before it
        h = self.transformer(seq + self.pos_embedding[: seq.shape[1]])
        return self.out_proj(self.ln_final(h[:, -1]))  # (B, clip_dim)


# --8<-- [end:prior]


# --8<-- [start:unet]
# --8<-- [start:unet-blocks]
def _norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(math.gcd(32, channels), channels)  # GroupNorm(32) when channels allow


class ResBlock(nn.Module):
    """ADM residual block with scale-shift (AdaGN) conditioning; optional up/down-sampling."""

    def __init__(
        self, c_in: int, c_out: int, d_emb: int, dropout: float, resample: str = ""
    ) -> None:
        super().__init__()
        self.norm_in, self.act_in = _norm(c_in), nn.SiLU()
        self.resample: nn.Module = nn.Identity()
        if resample == "up":
            self.resample = nn.Upsample(scale_factor=2, mode="nearest")
        elif resample == "down":
            self.resample = nn.AvgPool2d(2)
        self.conv_in = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.emb_proj = nn.Sequential(nn.SiLU(), nn.Linear(d_emb, 2 * c_out))
        self.norm_out, self.act_out = _norm(c_out), nn.SiLU()
        self.dropout = nn.Dropout(dropout)
        self.conv_out = nn.Conv2d(c_out, c_out, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)  # each block starts as the identity
        nn.init.zeros_(self.conv_out.bias)
        self.skip = nn.Identity() if c_in == c_out else nn.Conv2d(c_in, c_out, 1)

    def forward(self, x: Tensor, emb: Tensor) -> Tensor:
        """Map (B, C_in, H, W) and embedding (B, D_emb) to (B, C_out, H', W')."""
        h = self.resample(self.act_in(self.norm_in(x)))
        x = self.resample(x)
        h = self.conv_in(h)
        scale, shift = self.emb_proj(emb)[:, :, None, None].chunk(2, dim=1)  # (B, C_out, 1, 1)
        h = self.norm_out(h) * (1 + scale) + shift  # AdaGN: conditioning enters here
        return self.skip(x) + self.conv_out(self.dropout(self.act_out(h)))


class AttentionBlock(nn.Module):
    """Self-attention over pixels whose keys/values also include the text (+ CLIP) tokens."""

    def __init__(self, channels: int, d_head: int, d_context: int) -> None:
        super().__init__()
        self.n_heads, self.d_head = channels // d_head, d_head
        self.norm = _norm(channels)
        self.qkv = nn.Conv1d(channels, 3 * channels, 1)
        self.context_kv = nn.Conv1d(d_context, 2 * channels, 1)  # GLIDE's encoder_kv
        self.proj_out = nn.Conv1d(channels, channels, 1)
        nn.init.zeros_(self.proj_out.weight)
        nn.init.zeros_(self.proj_out.bias)

    def forward(self, x: Tensor, context: Tensor) -> Tensor:
        """Map (B, C, H, W) and context (B, D_ctx, S) to (B, C, H, W)."""
        B, C, H, W = x.shape
        h, d = self.n_heads, self.d_head
        q, k, v = self.qkv(self.norm(x).view(B, C, H * W)).view(B, h, 3 * d, H * W).split(d, 2)
        ck, cv = self.context_kv(context).view(B, h, 2 * d, -1).split(d, 2)  # (B, h, d, S)
        k, v = torch.cat([ck, k], -1), torch.cat([cv, v], -1)  # (B, h, d, S + HW)
        out = F.scaled_dot_product_attention(q.mT, k.mT, v.mT)  # (B, h, HW, d)
        return x + self.proj_out(out.mT.reshape(B, C, H * W)).view(B, C, H, W)


# --8<-- [end:unet-blocks]
class UNetStage(nn.Module):
    """One U-Net step: a residual block, attention (at the listed resolutions), an up-sampler."""

    def __init__(
        self, res: ResBlock, attn: AttentionBlock | None = None, up: ResBlock | None = None
    ) -> None:
        super().__init__()
        self.res, self.attn, self.up = res, attn, up

    def forward(self, x: Tensor, emb: Tensor, context: Tensor) -> Tensor:
        """Map (B, C, H, W) to (B, C', H', W') (H' = 2H after an up-sampler)."""
        x = self.res(x, emb)
        if self.attn is not None:
            x = self.attn(x, context)
        return x if self.up is None else self.up(x, emb)


class Decoder(nn.Module):
    """§2.1: GLIDE's text-conditional U-Net, also conditioned on the CLIP image embedding."""

    def __init__(self, cfg: DecoderConfig) -> None:
        super().__init__()
        self.cfg = cfg
        mc, d_emb, w = cfg.model_channels, 4 * cfg.model_channels, cfg.xf_width
        # GLIDE text encoder: tokens (+ a learned padding embedding) → Transformer → final LN
        self.token_embedding = nn.Embedding(cfg.vocab_size, w)
        self.text_pos = nn.Parameter(torch.zeros(cfg.text_ctx, w))
        self.padding_embedding = nn.Parameter(torch.zeros(cfg.text_ctx, w))
        self.text_transformer = Transformer(w, cfg.xf_layers, cfg.xf_heads, causal=False)
        self.text_ln = nn.LayerNorm(w)
        self.text_proj = nn.Linear(w, d_emb)  # last token → added to the timestep embedding
        self.time_embed = nn.Sequential(nn.Linear(mc, d_emb), nn.SiLU(), nn.Linear(d_emb, d_emb))
        self.clip_emb_proj = nn.Linear(cfg.clip_dim, d_emb)  # CLIP embedding → timestep embedding
        self.clip_tokens_proj = nn.Linear(cfg.clip_dim, cfg.n_clip_tokens * w)  # → 4 tokens

        def stage(
            c_in: int, c_out: int, res: int, resample: str = "", up: bool = False
        ) -> UNetStage:
            use_attn = res in cfg.attention_resolutions and not resample
            attn = AttentionBlock(c_out, cfg.d_head, w) if use_attn else None
            up_block = ResBlock(c_out, c_out, d_emb, cfg.dropout, "up") if up else None
            return UNetStage(ResBlock(c_in, c_out, d_emb, cfg.dropout, resample), attn, up_block)

        self.input_conv = nn.Conv2d(cfg.in_channels, mc, 3, padding=1)
        self.encoder = nn.ModuleList()
        chans, ch, res = [mc], mc, cfg.image_size
        for level, mult in enumerate(cfg.channel_mult):
            for _ in range(cfg.num_res_blocks):
                self.encoder.append(stage(ch, mult * mc, res))
                ch = mult * mc
                chans.append(ch)
            if level < len(cfg.channel_mult) - 1:
                self.encoder.append(stage(ch, ch, res, "down"))
                res //= 2
                chans.append(ch)
        self.middle = nn.ModuleList([stage(ch, ch, res), stage(ch, ch, -1)])
        self.decoder = nn.ModuleList()
        for level, mult in reversed(list(enumerate(cfg.channel_mult))):
            for i in range(cfg.num_res_blocks + 1):
                up = level > 0 and i == cfg.num_res_blocks  # the level's last stage up-samples
                self.decoder.append(stage(ch + chans.pop(), mult * mc, res, up=up))
                ch = mult * mc
                res = res * 2 if up else res
        self.out = nn.Sequential(
            _norm(ch), nn.SiLU(), nn.Conv2d(ch, cfg.out_channels, 3, padding=1)
        )
        nn.init.zeros_(self.out[-1].weight)
        nn.init.zeros_(self.out[-1].bias)

    def forward(
        self,
        x_t: Tensor,
        t: Tensor,
        image_embed: Tensor,
        tokens: Tensor,
        mask: Tensor | None = None,
    ) -> Tensor:
        r"""Predict the noise (and variance channels) of $x_t$.

        Args:
            x_t: noised images, (B, C, H, W).
            t: timesteps, (B,) long.
            image_embed: CLIP image embedding $z_i$ (zeros = dropped), (B, clip_dim).
            tokens: caption token ids, (B, T).
            mask: (B, T) bool, False where a token is padding (all False = no caption).

        Returns:
            (B, out_channels, H, W): $\epsilon_\theta$ in the first ``in_channels`` channels.
        """
        B = x_t.shape[0]
        xf = self.token_embedding(tokens) + self.text_pos  # (B, T, W)
        if mask is not None:
            xf = torch.where(mask[..., None], xf, self.padding_embedding)
        xf = self.text_ln(self.text_transformer(xf))  # (B, T, W)
        emb = self.time_embed(timestep_embedding(t, self.cfg.model_channels))  # (B, 4·mc)
        emb = emb + self.text_proj(xf[:, -1]) + self.clip_emb_proj(image_embed)
        clip_tokens = self.clip_tokens_proj(image_embed).view(B, self.cfg.n_clip_tokens, -1)
        context = torch.cat([xf, clip_tokens], 1).mT  # (B, W, T + 4)
        h = self.input_conv(x_t)
        skips = [h]
        for stage in self.encoder:
            h = stage(h, emb, context)
            skips.append(h)
        for stage in self.middle:
            h = stage(h, emb, context)
        for stage in self.decoder:
            h = stage(torch.cat([h, skips.pop()], 1), emb, context)  # U-Net skip connection
        return self.out(h)

    def guided_eps(
        self, x_t: Tensor, t: Tensor, image_embed: Tensor, tokens: Tensor, scale: float
    ) -> Tensor:
        r"""Classifier-free guidance (Ho & Salimans, 2021), as GLIDE and unCLIP use it.

        $\hat\epsilon = \epsilon_\varnothing + s\,(\epsilon_c - \epsilon_\varnothing)$. The
        unconditional branch gets a zero CLIP embedding and an empty caption (all padding), the
        conditions dropped in training. Both branches run as one batch of 2B.

        Returns:
            Guided noise estimate, (B, in_channels, H, W).
        """
        B, C = x_t.shape[0], x_t.shape[1]
        mask = torch.ones(2 * B, tokens.shape[1], dtype=torch.bool, device=tokens.device)
        mask[B:] = False  # [conditional | unconditional]
        embeds = torch.cat([image_embed, torch.zeros_like(image_embed)])
        eps = self(x_t.repeat(2, 1, 1, 1), t.repeat(2), embeds, tokens.repeat(2, 1), mask)
        eps_c, eps_u = eps[:B, :C], eps[B:, :C]  # ε channels only
        return eps_u + scale * (eps_c - eps_u)


# --8<-- [end:unet]


# --8<-- [start:losses]
def prior_loss(
    prior: DiffusionPrior,
    diffusion: GaussianDiffusion,
    image_embed: Tensor,
    text_embed: Tensor,
    text_encodings: Tensor,
    t: Tensor,
    noise: Tensor,
) -> Tensor:
    r"""§2.2: $L_\text{prior} = \mathbb{E}\,\lVert f_\theta(z_i^{(t)}, t, y) - z_i \rVert^2$."""
    noised = diffusion.q_sample(image_embed, t, noise)
    return F.mse_loss(prior(text_encodings, text_embed, noised, t), image_embed)


def decoder_loss(
    decoder: Decoder,
    diffusion: GaussianDiffusion,
    images: Tensor,
    image_embed: Tensor,
    tokens: Tensor,
    t: Tensor,
    noise: Tensor,
    keep_image_embed: Tensor | None = None,
    keep_caption: Tensor | None = None,
) -> Tensor:
    r"""Ho et al.'s $L_\text{simple}$: $\lVert \epsilon - \epsilon_\theta(x_t, t, z_i, y) \rVert^2$.

    ``keep_image_embed`` / ``keep_caption``: (B,) bool; False drops that condition for the sample
    (classifier-free guidance; the paper drops $z_i$ 10 % and the caption 50 % of the time).
    """
    if keep_image_embed is not None:
        image_embed = image_embed * keep_image_embed[:, None]  # zeroed = dropped
    mask = None
    if keep_caption is not None:
        mask = keep_caption[:, None].expand_as(tokens)  # all padding = empty caption
    eps = decoder(diffusion.q_sample(images, t, noise), t, image_embed, tokens, mask)
    return F.mse_loss(eps[:, : images.shape[1]], noise)


# --8<-- [end:losses]


# --8<-- [start:unclip]
class UnCLIP(nn.Module):
    """The two-stage text → image generator: CLIP text encoder, diffusion prior, decoder."""

    def __init__(self, clip: CLIPConfig, prior: PriorConfig, decoder: DecoderConfig) -> None:
        super().__init__()
        self.clip = CLIP(clip)
        self.prior = DiffusionPrior(prior)
        self.decoder = Decoder(decoder)
        self.prior_diffusion = GaussianDiffusion(prior.num_timesteps, prior.schedule)
        self.decoder_diffusion = GaussianDiffusion(decoder.num_timesteps, decoder.schedule)

    @torch.no_grad()
    def sample(
        self,
        clip_tokens: Tensor,
        decoder_tokens: Tensor,
        guidance_scale: float = 3.0,
        n_candidates: int = 2,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        r"""Generate 64×64 images from captions.

        Args:
            clip_tokens: the captions in CLIP's BPE, (B, T_clip).
            decoder_tokens: the same captions in the decoder's BPE, (B, T_dec).
            guidance_scale: classifier-free guidance $s$ of the decoder
                ($\hat\epsilon = \epsilon_\varnothing + s(\epsilon_c - \epsilon_\varnothing)$).
            n_candidates: prior samples per caption; keep the one with the largest $z_i \cdot z_t$.
            generator: random generator for reproducible samples.

        Returns:
            Images in [-1, 1], (B, C, H, W).
        """
        B = clip_tokens.shape[0]
        text_embed, text_enc = self.clip.encode_text(clip_tokens)  # (B, E), (B, T, W)
        te = text_embed.repeat_interleave(n_candidates, 0)
        tx = text_enc.repeat_interleave(n_candidates, 0)
        z = self.prior_diffusion.sample(
            lambda z_t, t: self.prior(tx, te, z_t, t), tuple(te.shape), "x0", generator
        ).view(B, n_candidates, -1)  # (B, k, E)
        best = (z * text_embed[:, None]).sum(-1).argmax(1)  # §2.2: highest dot product with z_t
        z_i = F.normalize(z[torch.arange(B), best], dim=-1)  # (B, E)

        cfg = self.decoder.cfg
        shape = (B, cfg.in_channels, cfg.image_size, cfg.image_size)
        return self.decoder_diffusion.sample(
            lambda x_t, t: self.decoder.guided_eps(x_t, t, z_i, decoder_tokens, guidance_scale),
            shape,
            "eps",
            generator,
            clip_x0=1.0,
        )


# --8<-- [end:unclip]


def unclip_clip(**overrides: object) -> CLIP:
    """The CLIP of unCLIP: ViT-H/16 at 256 px (width 1280, 32 blocks) + text encoder (1024, 24)."""
    return CLIP(dataclasses.replace(CLIPConfig(), **overrides))


def unclip_prior(**overrides: object) -> DiffusionPrior:
    """The diffusion prior at the paper's size (Appendix C / Table 3: width 2048, 24 blocks)."""
    return DiffusionPrior(dataclasses.replace(PriorConfig(), **overrides))


def unclip_decoder(**overrides: object) -> Decoder:
    """The 64×64 decoder (GLIDE architecture: 512 channels, text encoder 2048 × 24)."""
    return Decoder(dataclasses.replace(DecoderConfig(), **overrides))


def unclip_tiny() -> UnCLIP:
    """The whole pipeline at test scale (16×16 images, 20 diffusion steps)."""
    return UnCLIP(CLIPConfig.tiny(), PriorConfig.tiny(), DecoderConfig.tiny())


__all__ = [
    "CLIP",
    "Attention",
    "AttentionBlock",
    "Block",
    "CLIPConfig",
    "Decoder",
    "DecoderConfig",
    "DiffusionPrior",
    "GaussianDiffusion",
    "PriorConfig",
    "ResBlock",
    "Transformer",
    "UNetStage",
    "UnCLIP",
    "beta_schedule",
    "decoder_loss",
    "prior_loss",
    "timestep_embedding",
    "unclip_clip",
    "unclip_decoder",
    "unclip_prior",
    "unclip_tiny",
]

if __name__ == "__main__":
    torch.manual_seed(0)
    model = unclip_tiny().eval()
    clip_tokens = torch.randint(1, 63, (2, 8))
    decoder_tokens = torch.randint(0, 64, (2, 8))
    images = model.sample(clip_tokens, decoder_tokens, generator=torch.Generator().manual_seed(0))
    print("images:", tuple(images.shape))
