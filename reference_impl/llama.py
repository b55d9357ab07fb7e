r"""The Llama 3 Herd of Models: the decoder-only language model of Llama 3 (3.1).

Llama Team, AI @ Meta (Abhimanyu Dubey et al.). arXiv:2407.21783, 2024.

Implemented (section and table numbers of the paper, unless another paper is named):

- §3.2, Table 3: a dense decoder-only Transformer, 8B / 70B / 405B with 32 / 80 / 126 layers,
  width 4,096 / 8,192 / 16,384, feed-forward width 14,336 / 28,672 / 53,248, 32 / 64 / 128
  query heads and 8 key/value heads, SwiGLU, RoPE with θ = 500,000. The paper says the
  architecture "does not deviate significantly from Llama and Llama 2"; from Llama (Touvron et
  al. 2023, §2.2) come pre-normalisation with RMSNorm (Zhang & Sennrich 2019) on the input of
  every sub-layer, SwiGLU (Shazeer 2020) and rotary position embeddings (Su et al. 2021) instead
  of absolute positions. No layer has a bias; the output layer is not tied to the embedding (both
  as in Meta's released code).
- §3.2: grouped-query attention (GQA, Ainslie et al. 2023): 8 key/value heads, each shared by a
  group of query heads, "to improve inference speed and to reduce the size of key-value caches
  during decoding"; an attention mask "that prevents self-attention between different documents
  within the same sequence" (`attention_mask(..., doc_ids=...)`).
- §3.2: the 128K vocabulary: 128,000 BPE tokens plus the 256 special tokens of the released
  tokenizer, 128,256 rows of the embedding and of the output layer.
- Llama 3.1's RoPE frequency scaling for a 128K context (§3.4.2 extends the context from 8K to
  128K; the rule itself is not in the paper but in Meta's released code, `apply_scaling`:
  factor 8, low/high-frequency factors 1 and 4, original context 8,192).
- A key/value cache and `generate` (greedy, or temperature and top-p sampling).
- Parameter counts with the released vocabulary: 8,030,261,248 (8B), 70,553,706,496 (70B),
  405,853,388,800 (405B).

Deviations:

- RoPE rotates dimension i of a head with dimension i + d/2 (the layout of transformers'
  Llama), not the adjacent pairs (2i, 2i+1) of RoFormer and Meta's code. The two differ by a
  fixed permutation of the rows of W_Q and W_K within each head: the same model family, but
  Meta's own checkpoints need that permutation (transformers' conversion script applies it).
- The paper does not give the initialisation: weights are N(0, 0.02²) (transformers' default),
  RMSNorm gains 1.
- The KV cache grows by concatenation instead of being allocated for a maximal batch and length.
- Positions keep counting across the documents of a packed sequence (the paper does not say);
  with the document mask this changes nothing, since RoPE scores depend only on position
  differences (tested).
"""

import dataclasses
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


# --8<-- [start:config]
@dataclass(frozen=True)
class RopeScaling:
    """Llama 3.1's RoPE frequency scaling (released code; `rope_type: "llama3"` in transformers).

    Attributes:
        factor: Long wavelengths are stretched by this factor (positions interpolated).
        low_freq_factor: Wavelengths above original_context / low_freq_factor are stretched.
        high_freq_factor: Wavelengths below original_context / high_freq_factor are kept.
        original_context: Context length of the initial pre-training (8K, §3.4.1).
    """

    factor: float = 8.0
    low_freq_factor: float = 1.0
    high_freq_factor: float = 4.0
    original_context: int = 8192


@dataclass(frozen=True)
class LlamaConfig:
    """Hyper-parameters; the defaults are Llama 3.1 8B (Table 3) with the released vocabulary.

    Attributes:
        vocab_size: 128,000 BPE tokens + 256 special tokens ("128K", §3.2).
        d_model: Model dimension.
        n_layers: Number of Transformer blocks.
        n_heads: Query heads; head width d = d_model / n_heads = 128.
        n_kv_heads: Key/value heads, each shared by n_heads / n_kv_heads query heads (GQA).
        d_ff: SwiGLU hidden width (FFN dimension of Table 3).
        rope_theta: RoPE base frequency θ (500,000 instead of 10,000, §3.2).
        rope_scaling: Llama 3.1's frequency scaling for 128K tokens; `None`: plain RoPE.
        norm_eps: ε of RMSNorm (released configuration).
        bos_id: <|begin_of_text|>, starts every document.
        eos_id: <|end_of_text|>.
    """

    vocab_size: int = 128256
    d_model: int = 4096
    n_layers: int = 32
    n_heads: int = 32
    n_kv_heads: int = 8
    d_ff: int = 14336
    rope_theta: float = 500000.0
    rope_scaling: RopeScaling | None = RopeScaling()
    norm_eps: float = 1e-5
    bos_id: int = 128000
    eos_id: int = 128001

    @property
    def d_head(self) -> int:
        """Width of one head."""
        return self.d_model // self.n_heads

    @classmethod
    def llama3_8b(cls) -> "LlamaConfig":
        """8B: 32 layers, width 4,096, FFN 14,336, 32 heads, 8 KV heads (Table 3)."""
        return cls()

    @classmethod
    def llama3_70b(cls) -> "LlamaConfig":
        """70B: 80 layers, width 8,192, FFN 28,672, 64 heads, 8 KV heads (Table 3)."""
        return cls(d_model=8192, n_layers=80, n_heads=64, d_ff=28672)

    @classmethod
    def llama3_405b(cls) -> "LlamaConfig":
        """405B: 126 layers, width 16,384, FFN 53,248, 128 heads, 8 KV heads (Table 3)."""
        return cls(d_model=16384, n_layers=126, n_heads=128, d_ff=53248)

    @classmethod
    def tiny(cls) -> "LlamaConfig":
        """For tests and CPU figures: vocabulary 96, width 32, 2 layers, 4 query / 2 KV heads."""
        return cls(
            vocab_size=96,
            d_model=32,
            n_layers=2,
            n_heads=4,
            n_kv_heads=2,
            d_ff=64,
            bos_id=1,
            eos_id=2,
        )


# --8<-- [end:config]


# --8<-- [start:rmsnorm]
class RMSNorm(nn.Module):
    r"""Root-mean-square normalisation (Zhang & Sennrich 2019, §3): no mean, no bias.

    $\bar a_i = a_i / \mathrm{RMS}(a)\cdot g_i$ with
    $\mathrm{RMS}(a) = \sqrt{\tfrac1n\sum_i a_i^2 + \epsilon}$.

    Args:
        d: Width n of the normalised vectors.
        eps: ε added under the square root.
    """

    def __init__(self, d: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))  # the gain g

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(…, D) → (…, D); the statistic in float32, as in the released code."""
        rms_inv = torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * (x.float() * rms_inv).type_as(x)


# --8<-- [end:rmsnorm]


# --8<-- [start:rope]
def rope_frequencies(d_head: int, theta: float, scaling: RopeScaling | None) -> torch.Tensor:
    r"""The d/2 angular frequencies $\theta_i = \theta^{-2i/d}$ (RoFormer Eq. (15)), then scaled.

    Llama 3.1's rule (released code): a frequency whose wavelength $2\pi/\theta_i$ is shorter
    than original_context / high_freq_factor (2,048 tokens) is kept; one longer than
    original_context / low_freq_factor (8,192) is divided by `factor` (8); in between the two
    are blended linearly in original_context / wavelength.
    """
    freqs = 1.0 / theta ** (torch.arange(0, d_head, 2).float() / d_head)  # (d/2,)
    if scaling is None:
        return freqs
    s = scaling
    wavelength = 2 * math.pi / freqs
    ratio = s.original_context / wavelength  # periods that fit into the original context
    smooth = ((ratio - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor)).clamp(0, 1)
    return (1 - smooth) * freqs / s.factor + smooth * freqs  # smooth 1: kept, 0: ÷ factor


class RotaryEmbedding(nn.Module):
    r"""RoPE: rotate each pair of dimensions of q or k by the angle $m\theta_i$ at position m.

    Then $q_m^\top k_n$ depends on m and n only through m − n (RoFormer Eq. (16)). Applied to
    queries and keys, never to values; there is no position embedding anywhere else.

    Args:
        config: Gives d_head, rope_theta and rope_scaling.
    """

    def __init__(self, config: LlamaConfig) -> None:
        super().__init__()
        freqs = rope_frequencies(config.d_head, config.rope_theta, config.rope_scaling)
        self.register_buffer("freqs", freqs, persistent=False)  # (d/2,), not a weight

    def forward(self, x: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """Rotate x (B, h, T, d) at positions (T,) → (B, h, T, d); pairs (i, i + d/2)."""
        angles = positions.float()[:, None] * self.freqs  # (T, d/2): m·θ_i
        angles = torch.cat([angles, angles], dim=-1)  # (T, d): dims i and i + d/2 share θ_i
        x = x.float()
        x1, x2 = x.chunk(2, dim=-1)  # the two halves of each head
        rotated = torch.cat([-x2, x1], dim=-1)  # each pair (x_i, x_{i+d/2}) turned by 90°
        return x * angles.cos() + rotated * angles.sin()  # RoFormer Eq. (34), halves paired


# --8<-- [end:rope]


# --8<-- [start:mask]
def attention_mask(
    n_queries: int, n_past: int = 0, doc_ids: torch.Tensor | None = None, device=None
) -> torch.Tensor:
    """Which keys each query may attend to: `True` = allowed.

    Causal: the keys are the n_past cached positions followed by the n_queries new ones, and new
    query t sees keys 0 … n_past + t. With `doc_ids` (B, T) of a packed training sequence (no
    cache), also only keys of its own document (§3.2: "prevents self-attention between
    different documents within the same sequence").

    Returns:
        (T, S) without doc_ids, (B, 1, T, S) with them; S = n_past + T.
    """
    q_idx = torch.arange(n_past, n_past + n_queries, device=device)[:, None]  # (T, 1)
    k_idx = torch.arange(n_past + n_queries, device=device)[None, :]  # (1, S)
    mask = k_idx <= q_idx  # (T, S) causal
    if doc_ids is not None:
        if n_past != 0:
            raise ValueError("the document mask is for whole training sequences (no cache)")
        same_doc = doc_ids[:, :, None] == doc_ids[:, None, :]  # (B, T, T)
        mask = (mask & same_doc)[:, None]  # (B, 1, T, T)
    return mask


def document_ids(input_ids: torch.Tensor, bos_id: int) -> torch.Tensor:
    """(B, T) → (B, T) index of the document each token belongs to (a new one at every BOS)."""
    return (input_ids == bos_id).long().cumsum(dim=1)


# --8<-- [end:mask]


# --8<-- [start:attention]
class KVCache:
    """Keys and values of the positions already seen, per layer, for generation.

    Keys are stored after RoPE, so a new query only needs its own rotation. Only the
    n_kv_heads heads are stored: GQA divides this memory by n_heads / n_kv_heads.
    """

    def __init__(self, n_layers: int) -> None:
        self.layers: list[tuple[torch.Tensor, torch.Tensor] | None] = [None] * n_layers

    def __len__(self) -> int:
        """Number of cached positions."""
        first = self.layers[0]
        return 0 if first is None else first[0].shape[2]

    def update(self, i: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Append k, v (B, h_kv, T, d) to layer i; return all keys and values (B, h_kv, S, d)."""
        if self.layers[i] is not None:
            k = torch.cat([self.layers[i][0], k], dim=2)
            v = torch.cat([self.layers[i][1], v], dim=2)
        self.layers[i] = (k, v)
        return k, v


class RepeatKV(nn.Module):
    """GQA: each of the h_kv key/value heads serves a group of h / h_kv query heads.

    Args:
        n_rep: Query heads per key/value head (4 in Llama 3 8B, 8 in 70B, 16 in 405B).
    """

    def __init__(self, n_rep: int) -> None:
        super().__init__()
        self.n_rep = n_rep

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, h_kv, S, d) → (B, h_kv · n_rep, S, d); query head j reads KV head j // n_rep."""
        B, h_kv, S, d = x.shape
        return x[:, :, None].expand(B, h_kv, self.n_rep, S, d).reshape(B, h_kv * self.n_rep, S, d)


class Attention(nn.Module):
    """Causal self-attention with grouped-query heads and RoPE on queries and keys; no biases.

    Args:
        config: Hyper-parameters (d_model, n_heads, n_kv_heads, RoPE).
        layer: Index of the block, to find its entry in a `KVCache`.
    """

    def __init__(self, config: LlamaConfig, layer: int = 0) -> None:
        super().__init__()
        if config.n_heads % config.n_kv_heads != 0:
            raise ValueError(f"n_heads={config.n_heads} is not a multiple of n_kv_heads")
        self.layer, self.n_heads, self.n_kv_heads = layer, config.n_heads, config.n_kv_heads
        self.d_head = config.d_head
        D, kv = config.d_model, config.n_kv_heads * config.d_head
        self.q_proj = nn.Linear(D, D, bias=False)  # W^Q of the n_heads heads
        self.k_proj = nn.Linear(D, kv, bias=False)  # only n_kv_heads heads of keys …
        self.v_proj = nn.Linear(D, kv, bias=False)  # … and of values
        self.rope = RotaryEmbedding(config)
        self.repeat_kv = RepeatKV(config.n_heads // config.n_kv_heads)
        self.o_proj = nn.Linear(D, D, bias=False)  # W^O

    def forward(
        self,
        x: torch.Tensor,
        positions: torch.Tensor,
        mask: torch.Tensor,
        cache: KVCache | None = None,
    ) -> torch.Tensor:
        """Attend from the T new positions to themselves and to the cached ones.

        Args:
            x: (B, T, D), already normalised.
            positions: (T,) absolute positions of the new tokens.
            mask: Broadcastable to (B, h, T, S), `True` where a query may attend.
            cache: Keys and values of earlier positions; updated in place.

        Returns:
            (B, T, D).
        """
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.n_heads, self.d_head).transpose(1, 2)  # (B, h, T, d)
        k = self.k_proj(x).view(B, T, self.n_kv_heads, self.d_head).transpose(1, 2)  # (B,h_kv,T,d)
        v = self.v_proj(x).view(B, T, self.n_kv_heads, self.d_head).transpose(1, 2)
        q, k = self.rope(q, positions), self.rope(k, positions)  # positions enter here only
        q, k = q.type_as(v), k.type_as(v)  # RoPE is computed in float32
        if cache is not None:
            k, v = cache.update(self.layer, k, v)  # (B, h_kv, S, d)
        k, v = self.repeat_kv(k), self.repeat_kv(v)  # (B, h, S, d)
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.d_head)  # (B, h, T, S)
        scores = scores.masked_fill(~mask, float("-inf"))
        weights = F.softmax(scores.float(), dim=-1).type_as(q)  # softmax(QKᵀ/√d)
        heads = weights @ v  # (B, h, T, d)
        return self.o_proj(heads.transpose(1, 2).reshape(B, T, -1))  # (B, T, D)


# --8<-- [end:attention]


# --8<-- [start:ffn]
class FeedForward(nn.Module):
    r"""SwiGLU feed-forward (Shazeer 2020, Eq. (6)): $(\mathrm{Swish}_1(xW)\otimes xV)\,W_2$.

    Args:
        d_model: Width D.
        d_ff: Hidden width (14,336 in 8B: about 3.5 D; three matrices instead of two).
    """

    def __init__(self, d_model: int, d_ff: int) -> None:
        super().__init__()
        self.gate = nn.Linear(d_model, d_ff, bias=False)  # W, through Swish₁ = SiLU
        self.up = nn.Linear(d_model, d_ff, bias=False)  # V, the linear branch
        self.down = nn.Linear(d_ff, d_model, bias=False)  # W₂

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, D) → (B, T, D)."""
        return self.down(F.silu(self.gate(x)) * self.up(x))


# --8<-- [end:ffn]


# --8<-- [start:block]
class Block(nn.Module):
    """One Transformer block, pre-norm: x + Attn(RMSNorm(x)), then h + FFN(RMSNorm(h)).

    Args:
        config: Hyper-parameters.
        layer: Index of the block.
    """

    def __init__(self, config: LlamaConfig, layer: int = 0) -> None:
        super().__init__()
        self.attention_norm = RMSNorm(config.d_model, config.norm_eps)
        self.attention = Attention(config, layer)
        self.ffn_norm = RMSNorm(config.d_model, config.norm_eps)
        self.ffn = FeedForward(config.d_model, config.d_ff)

    def forward(
        self,
        x: torch.Tensor,
        positions: torch.Tensor,
        mask: torch.Tensor,
        cache: KVCache | None = None,
    ) -> torch.Tensor:
        """(B, T, D) → (B, T, D); the residual stream itself is never normalised."""
        h = x + self.attention(self.attention_norm(x), positions, mask, cache)
        return h + self.ffn(self.ffn_norm(h))


# --8<-- [end:block]


# --8<-- [start:model]
class Llama(nn.Module):
    """Llama 3: token embedding → N blocks → RMSNorm → output layer (untied).

    Args:
        config: Hyper-parameters; `LlamaConfig.llama3_8b()` … are the paper's models.
    """

    def __init__(self, config: LlamaConfig) -> None:
        super().__init__()
        self.config = config
        self.tok_embeddings = nn.Embedding(config.vocab_size, config.d_model)
        self.layers = nn.ModuleList(Block(config, i) for i in range(config.n_layers))
        self.norm = RMSNorm(config.d_model, config.norm_eps)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)  # own weights
        if self.lm_head.weight.device.type != "meta":  # meta: shapes only, nothing to draw
            self.apply(_init_weights)

    def forward(
        self,
        input_ids: torch.Tensor,
        start_pos: int = 0,
        cache: KVCache | None = None,
        doc_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Next-token logits.

        Args:
            input_ids: (B, T) token ids at positions start_pos … start_pos + T − 1.
            start_pos: Position of the first token (with a cache: the number of cached ones).
            cache: A `KVCache` to read and extend (generation); `None` for training.
            doc_ids: (B, T) document of each token of a packed sequence, for the document mask.

        Returns:
            (B, T, V) logits; position t predicts token t + 1.
        """
        T, device = input_ids.shape[1], input_ids.device
        positions = torch.arange(start_pos, start_pos + T, device=device)  # (T,)
        n_past = 0 if cache is None else len(cache)
        mask = attention_mask(T, n_past, doc_ids, device=device)
        x = self.tok_embeddings(input_ids)  # (B, T, D); no position embedding
        for layer in self.layers:
            x = layer(x, positions, mask, cache)
        return self.lm_head(self.norm(x))  # (B, T, V)


# --8<-- [end:model]


def _init_weights(module: nn.Module) -> None:
    """N(0, 0.02²) for every matrix (the paper gives no initialisation); RMSNorm gains stay 1."""
    if isinstance(module, nn.Linear | nn.Embedding):
        nn.init.normal_(module.weight, std=0.02)


# --8<-- [start:generate]
@torch.no_grad()
def generate(
    model: Llama,
    prompt: torch.Tensor,
    max_new_tokens: int,
    temperature: float = 0.0,
    top_p: float = 1.0,
    use_cache: bool = True,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Continue `prompt` (B, T₀) by `max_new_tokens` tokens → (B, T₀ + max_new_tokens).

    With the cache, the prompt is run once (prefill) and then every step feeds only the newest
    token; without it, every step recomputes the whole prefix (the same result, slower).
    temperature 0 is greedy decoding; otherwise sample from softmax(logits / temperature),
    keeping the smallest set of most likely tokens whose probability reaches top_p.
    """
    model.eval()
    cache = KVCache(model.config.n_layers) if use_cache else None
    tokens = prompt
    logits = model(prompt, 0, cache)[:, -1]  # (B, V)
    for _ in range(max_new_tokens):
        if temperature == 0:
            next_token = logits.argmax(-1, keepdim=True)  # (B, 1)
        else:
            probs = F.softmax(logits.float() / temperature, dim=-1)
            sorted_p, order = probs.sort(dim=-1, descending=True)
            drop = sorted_p.cumsum(-1) - sorted_p > top_p  # tokens past the nucleus
            sorted_p = sorted_p.masked_fill(drop, 0.0)
            pick = torch.multinomial(sorted_p, 1, generator=generator)  # renormalised draw
            next_token = order.gather(-1, pick)
        tokens = torch.cat([tokens, next_token], dim=1)
        if cache is not None:
            logits = model(next_token, tokens.shape[1] - 1, cache)[:, -1]
        else:
            logits = model(tokens)[:, -1]
    return tokens


# --8<-- [end:generate]


# --8<-- [start:memory]
def kv_cache_bytes(config: LlamaConfig, n_tokens: int, bytes_per_value: int = 2) -> int:
    """Bytes of keys + values for n_tokens positions of one sequence (bf16: 2 bytes a value)."""
    per_token = 2 * config.n_layers * config.n_kv_heads * config.d_head  # K and V, every layer
    return per_token * n_tokens * bytes_per_value


def weight_bytes(model: nn.Module, bytes_per_value: int = 2) -> int:
    """Bytes of all parameters (bf16: 2 bytes each); build the model on the meta device."""
    return sum(p.numel() for p in model.parameters()) * bytes_per_value


# --8<-- [end:memory]


# --8<-- [start:constructors]
def llama3_8b(**overrides: object) -> Llama:
    """Llama 3.1 8B (8,030,261,248 parameters with the 128,256-token vocabulary)."""
    return Llama(dataclasses.replace(LlamaConfig.llama3_8b(), **overrides))


def llama3_70b(**overrides: object) -> Llama:
    """Llama 3.1 70B (70,553,706,496 parameters)."""
    return Llama(dataclasses.replace(LlamaConfig.llama3_70b(), **overrides))


def llama3_405b(**overrides: object) -> Llama:
    """Llama 3.1 405B (405,853,388,800 parameters)."""
    return Llama(dataclasses.replace(LlamaConfig.llama3_405b(), **overrides))


def tiny(**overrides: object) -> Llama:
    """A small Llama for tests and figures (`LlamaConfig.tiny()`)."""
    return Llama(dataclasses.replace(LlamaConfig.tiny(), **overrides))


# --8<-- [end:constructors]


# ── loading Hugging Face transformers' weights ─────────────────────────────────────────
TRANSFORMERS_NAMES = [  # (theirs, ours): substrings replaced in every key of LlamaForCausalLM
    ("model.embed_tokens.", "tok_embeddings."),
    ("model.layers.", "layers."),
    ("model.norm.", "norm."),
    ("self_attn.", "attention."),
    ("input_layernorm.", "attention_norm."),
    ("post_attention_layernorm.", "ffn_norm."),
    ("mlp.gate_proj.", "ffn.gate."),
    ("mlp.up_proj.", "ffn.up."),
    ("mlp.down_proj.", "ffn.down."),
]  # lm_head.weight and the q/k/v/o_proj names are the same


def load_transformers(model: Llama, state_dict: dict[str, torch.Tensor]) -> None:
    """Load a state dict of transformers' `LlamaForCausalLM` (same RoPE layout, no permutation)."""
    renamed = {}
    for key, value in state_dict.items():
        for theirs, ours in TRANSFORMERS_NAMES:
            key = key.replace(theirs, ours)
        renamed[key] = value
    model.load_state_dict(renamed)


__all__ = [
    "TRANSFORMERS_NAMES",
    "Attention",
    "Block",
    "FeedForward",
    "KVCache",
    "Llama",
    "LlamaConfig",
    "RMSNorm",
    "RepeatKV",
    "RopeScaling",
    "RotaryEmbedding",
    "attention_mask",
    "document_ids",
    "generate",
    "kv_cache_bytes",
    "llama3_8b",
    "llama3_70b",
    "llama3_405b",
    "load_transformers",
    "rope_frequencies",
    "tiny",
    "weight_bytes",
]


if __name__ == "__main__":
    torch.manual_seed(0)
    model = tiny()
    prompt = torch.tensor([[1, 10, 11, 12]])
    print(generate(model, prompt, max_new_tokens=8))  # (1, 12) token ids
    with torch.device("meta"):
        print(sum(p.numel() for p in llama3_8b().parameters()))  # 8030261248
