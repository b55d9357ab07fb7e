r"""Self-attention: scaled dot-product attention, multi-head attention, positional encoding.

Ashish Vaswani, Noam Shazeer, Niki Parmar, Jakob Uszkoreit, Llion Jones, Aidan N. Gomez,
Łukasz Kaiser, Illia Polosukhin. "Attention Is All You Need". *Advances in Neural Information
Processing Systems 30* (NeurIPS 2017), pp. 5998–6008. arXiv:1706.03762.

Implemented (section and equation numbers of the paper):

- §3.2.1, Eq. (1): scaled dot-product attention
  $\mathrm{Attention}(Q, K, V) = \mathrm{softmax}(QK^\top/\sqrt{d_k})\,V$
  (`ScaledDotProductAttention`), with a boolean mask that removes keys before the softmax:
  a padding mask (`padding_mask`, keys that are padding) and the causal mask of §3.2.3
  (`causal_mask`, "preventing leftward information flow").
- §3.2.2: multi-head attention
  $\mathrm{MultiHead}(Q, K, V) = \mathrm{Concat}(\mathrm{head}_1, \dots, \mathrm{head}_h)\,W^O$,
  $\mathrm{head}_i = \mathrm{Attention}(QW_i^Q, KW_i^K, VW_i^V)$, with $d_k = d_v = d_{model}/h$
  (`MultiHeadAttention`; the h projections $W_i^Q$ are stored stacked as one `q_proj` layer).
- §3.5: sinusoidal positional encoding $PE_{(pos, 2i)} = \sin(pos / 10000^{2i/d_{model}})$,
  $PE_{(pos, 2i+1)} = \cos(pos / 10000^{2i/d_{model}})$ (`sinusoidal_table`,
  `SinusoidalPositionalEncoding`).
- Parameters of one multi-head attention layer with $d_{model} = 512$: $4(512^2 + 512)$ =
  1,050,624.

Deviations:

- The projections have biases (the paper writes them as plain matrices).
  `torch.nn.MultiheadAttention` and the tensor2tensor code have them too, and the Transformer's
  parameter counts (63.1 M / 214.2 M with a 37,000-token vocabulary) include them.
- `dropout` acts on the attention weights. The paper applies dropout only to sub-layer outputs and
  embeddings (§5.4); attention dropout comes from the tensor2tensor code and BERT. Default 0.
- A query whose keys are all masked gets an all-zero output (as `F.scaled_dot_product_attention`),
  not NaN.
"""

import dataclasses
import math
from dataclasses import dataclass

import torch
from torch import nn


# --8<-- [start:config]
@dataclass(frozen=True)
class AttentionConfig:
    """Hyper-parameters of one multi-head attention layer; defaults are the base model's (§3.2.2).

    Attributes:
        d_model: Width D of the token vectors (512).
        n_heads: Number of heads h (8); each head has width d = D / h = 64.
        dropout: Dropout on the attention weights (0: the paper has none, see Deviations).
        max_len: Number of positions in the precomputed positional-encoding table.
    """

    d_model: int = 512
    n_heads: int = 8
    dropout: float = 0.0
    max_len: int = 5000

    @classmethod
    def tiny(cls) -> "AttentionConfig":
        """A small configuration for tests and examples: D = 16, h = 4."""
        return cls(d_model=16, n_heads=4, max_len=64)


# --8<-- [end:config]


# --8<-- [start:masks]
def causal_mask(n: int, device: torch.device | str | None = None) -> torch.Tensor:
    """Causal mask of §3.2.3: position t may attend to positions ≤ t only.

    Args:
        n: Sequence length T.
        device: Device of the mask.

    Returns:
        Boolean (T, T), `True` on and below the diagonal (allowed), `False` above (the future).
    """
    return torch.ones(n, n, dtype=torch.bool, device=device).tril()


def padding_mask(is_token: torch.Tensor) -> torch.Tensor:
    """Mask out padding keys.

    Args:
        is_token: Boolean (B, S), `True` for real tokens, `False` for padding.

    Returns:
        Boolean (B, 1, 1, S): broadcasts over heads and queries to (B, h, T, S).
    """
    return is_token[:, None, None, :]  # (B, 1, 1, S)


# --8<-- [end:masks]


# --8<-- [start:sdpa]
class ScaledDotProductAttention(nn.Module):
    r"""Eq. (1): $\mathrm{softmax}(QK^\top/\sqrt{d_k})\,V$, with an optional boolean mask.

    Args:
        dropout: Dropout probability on the attention weights.
    """

    def __init__(self, dropout: float = 0.0) -> None:
        super().__init__()
        self.softmax = nn.Softmax(dim=-1)
        self.dropout = nn.Dropout(dropout)

    def weights(
        self, q: torch.Tensor, k: torch.Tensor, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        r"""The attention weights $\mathrm{softmax}(QK^\top/\sqrt{d_k})$: each row sums to 1.

        Args:
            q: Queries (B, h, T, d).
            k: Keys (B, h, S, d).
            mask: Boolean, broadcastable to (B, h, T, S); `True` where a query may attend.

        Returns:
            Weights (B, h, T, S); masked entries are exactly 0.
        """
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (B, h, T, S): q·k/√d_k
        if mask is None:
            return self.softmax(scores)  # (B, h, T, S), rows sum to 1
        blocked = ~mask
        scores = scores.masked_fill(blocked, float("-inf"))  # removed before the softmax
        # a row with no allowed key would be all NaN: give it zero weights instead
        return self.softmax(scores).masked_fill(blocked, 0.0)

    def forward(
        self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Attend: a weighted average of the values for every query.

        Args:
            q: Queries (B, h, T, d).
            k: Keys (B, h, S, d).
            v: Values (B, h, S, d).
            mask: Boolean, broadcastable to (B, h, T, S); `True` where a query may attend.

        Returns:
            (B, h, T, d).
        """
        weights = self.dropout(self.weights(q, k, mask))
        return weights @ v  # Eq. (1): softmax(QKᵀ/√d_k)·V


# --8<-- [end:sdpa]


# --8<-- [start:mha]
class MultiHeadAttention(nn.Module):
    r"""Multi-head attention (§3.2.2): h attentions of width d = D/h in parallel, concatenated.

    Self-attention when called with `x` only; cross-attention (queries from `x`, keys and values
    from `context`, e.g. the encoder output in the decoder, §3.2.3) when `context` is given.

    Args:
        d_model: Width D of queries, keys, values and output.
        n_heads: Number of heads h; D must be divisible by h.
        dropout: Dropout on the attention weights.
    """

    def __init__(self, d_model: int, n_heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        if d_model % n_heads != 0:
            raise ValueError(f"d_model={d_model} is not divisible by n_heads={n_heads}")
        self.n_heads = n_heads
        self.d_head = d_model // n_heads  # d_k = d_v = d_model / h (64 in the base model)
        self.q_proj = nn.Linear(d_model, d_model)  # W^Q_1 … W^Q_h stacked: D → h·d
        self.k_proj = nn.Linear(d_model, d_model)  # W^K_1 … W^K_h
        self.v_proj = nn.Linear(d_model, d_model)  # W^V_1 … W^V_h
        self.attention = ScaledDotProductAttention(dropout)
        self.out_proj = nn.Linear(d_model, d_model)  # W^O: h·d → D

    def split_heads(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, D) → (B, h, T, d): give each head its own slice of the width."""
        B, T, _ = x.shape
        return x.view(B, T, self.n_heads, self.d_head).transpose(1, 2)  # (B, h, T, d)

    def forward(
        self,
        x: torch.Tensor,
        context: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Attend from every position of `x` to every position of `context` (default: `x`).

        Args:
            x: Queries' source (B, T, D).
            context: Keys' and values' source (B, S, D); `None` for self-attention (S = T).
            mask: Boolean, broadcastable to (B, h, T, S); `True` where a query may attend.

        Returns:
            (B, T, D).
        """
        context = x if context is None else context
        q = self.split_heads(self.q_proj(x))  # (B, h, T, d): head_i uses Q·W_i^Q
        k = self.split_heads(self.k_proj(context))  # (B, h, S, d)
        v = self.split_heads(self.v_proj(context))  # (B, h, S, d)
        heads = self.attention(q, k, v, mask)  # (B, h, T, d): all heads at once
        B, h, T, d = heads.shape
        concat = heads.transpose(1, 2).reshape(B, T, h * d)  # (B, T, D): Concat(head_1…head_h)
        return self.out_proj(concat)  # MultiHead(Q, K, V) = Concat(…)·W^O


# --8<-- [end:mha]


# --8<-- [start:positional-encoding]
def sinusoidal_table(max_len: int, d_model: int) -> torch.Tensor:
    r"""The positional encodings of §3.5 for positions 0 … max_len − 1.

    $PE_{(pos, 2i)} = \sin(pos/10000^{2i/d_{model}})$ and
    $PE_{(pos, 2i+1)} = \cos(pos/10000^{2i/d_{model}})$: dimension pair i is a sinusoid of
    wavelength $2\pi \cdot 10000^{2i/d_{model}}$, from 2π up to 10000·2π.

    Args:
        max_len: Number of positions.
        d_model: Width D (even).

    Returns:
        (max_len, D).
    """
    pos = torch.arange(max_len, dtype=torch.float32)[:, None]  # (max_len, 1)
    two_i = torch.arange(0, d_model, 2, dtype=torch.float32)  # (D/2,): 2i
    angle = pos / 10000 ** (two_i / d_model)  # (max_len, D/2): pos / 10000^{2i/d_model}
    table = torch.zeros(max_len, d_model)
    table[:, 0::2] = torch.sin(angle)  # even dimensions 2i
    table[:, 1::2] = torch.cos(angle)  # odd dimensions 2i + 1
    return table


class SinusoidalPositionalEncoding(nn.Module):
    """Add the fixed encoding of each position to the token vectors (§3.5); no parameters.

    Args:
        d_model: Width D.
        max_len: Longest sequence supported.
    """

    def __init__(self, d_model: int, max_len: int = 5000) -> None:
        super().__init__()
        # A buffer, not a parameter: fixed, moves with .to(device), not saved in the state dict.
        self.register_buffer("pe", sinusoidal_table(max_len, d_model), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Add positions 0 … T − 1.

        Args:
            x: Token vectors (B, T, D).

        Returns:
            (B, T, D): `x[:, t] + PE[t]`.
        """
        return x + self.pe[: x.shape[1]]  # (T, D) broadcasts over the batch


# --8<-- [end:positional-encoding]


def multi_head_attention(**overrides: object) -> MultiHeadAttention:
    """The base model's multi-head attention (D = 512, h = 8: 1,050,624 parameters).

    Keyword arguments override `AttentionConfig` fields.
    """
    config = dataclasses.replace(AttentionConfig(), **overrides)
    return MultiHeadAttention(config.d_model, config.n_heads, config.dropout)


# ── loading torch.nn.MultiheadAttention's weights ──────────────────────────────────────
def load_nn_multihead_attention(model: MultiHeadAttention, state_dict: dict) -> None:
    """Load a state dict of `torch.nn.MultiheadAttention` (same D and h, `bias=True`).

    Its fused `in_proj_weight` (3D, D) stacks $W^Q$, $W^K$, $W^V$; `out_proj` is our $W^O$.
    """
    renamed = {k: v for k, v in state_dict.items() if k.startswith("out_proj.")}
    for leaf in ("weight", "bias"):
        q, k, v = state_dict[f"in_proj_{leaf}"].chunk(3)
        renamed |= {f"q_proj.{leaf}": q, f"k_proj.{leaf}": k, f"v_proj.{leaf}": v}
    model.load_state_dict(renamed)


__all__ = [
    "AttentionConfig",
    "MultiHeadAttention",
    "ScaledDotProductAttention",
    "SinusoidalPositionalEncoding",
    "causal_mask",
    "load_nn_multihead_attention",
    "multi_head_attention",
    "padding_mask",
    "sinusoidal_table",
]


if __name__ == "__main__":
    config = AttentionConfig.tiny()
    attn = MultiHeadAttention(config.d_model, config.n_heads)
    pos = SinusoidalPositionalEncoding(config.d_model, config.max_len)
    x = pos(torch.randn(2, 10, config.d_model))
    out = attn(x, mask=causal_mask(10))
    print(out.shape)  # torch.Size([2, 10, 16])
