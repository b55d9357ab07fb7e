r"""Transformer: Attention Is All You Need.

Ashish Vaswani, Noam Shazeer, Niki Parmar, Jakob Uszkoreit, Llion Jones, Aidan N. Gomez,
Łukasz Kaiser, Illia Polosukhin. *Advances in Neural Information Processing Systems 30*
(NeurIPS 2017), pp. 5998–6008. arXiv:1706.03762.

Implemented (section, equation and table numbers of the paper):

- §3.1, Fig. 1: an encoder of N identical layers (self-attention, feed-forward) and a decoder of
  N identical layers (masked self-attention, encoder–decoder "cross" attention, feed-forward).
  Every sub-layer is wrapped as $\mathrm{LayerNorm}(x + \mathrm{Dropout}(\mathrm{Sublayer}(x)))$:
  residual connection, then layer normalisation ("post-LN", §3.1 and §5.4).
- §3.2, Eq. (1): scaled dot-product attention; §3.2.2 multi-head attention; §3.2.3 the decoder's
  causal mask and the cross-attention (queries from the decoder, keys and values from the
  encoder output).
- §3.3, Eq. (2): position-wise feed-forward network $\max(0, xW_1 + b_1)W_2 + b_2$.
- §3.4: one embedding matrix shared by the source and target embeddings and the pre-softmax
  linear layer, the embeddings multiplied by $\sqrt{d_{model}}$.
- §3.5: sinusoidal positional encoding, added to the embeddings, then dropout (§5.4).
- Table 3: the base model (N = 6, d_model = 512, d_ff = 2048, h = 8, P_drop = 0.1) and the big
  model (N = 6, d_model = 1024, d_ff = 4096, h = 16, P_drop = 0.3).
- §6.1: greedy decoding and beam search with the length penalty of Wu et al. (2016),
  beam size 4, α = 0.6, maximum output length = input length + 50.
- Parameter counts with a shared vocabulary of exactly 37,000 tokens (§5.1: "about 37000"):
  base 63,082,496, big 214,245,376. Table 3 says 65 M and 213 M; no single vocabulary size gives
  both (the docs page explains the gap).

Deviations:

- Linear layers have biases (as in tensor2tensor and `torch.nn.MultiheadAttention`); the shared
  pre-softmax layer has none (it is the embedding matrix).
- Initialisation is not given in the paper: Xavier-uniform linear layers, embeddings
  $\mathcal{N}(0, d_{model}^{-1})$ so that the scaled embeddings have unit variance
  (tensor2tensor's choice).
- Target padding is not masked in the decoder's self-attention: padding sits at the end, so the
  causal mask already hides it from every real position; outputs at padded positions are
  ignored by the loss.
- Decoding recomputes the whole prefix at every step (no key/value cache): simpler, slower.
- The beam shrinks by one whenever a hypothesis ends (a common textbook variant); decoding stops
  when `beam_size` hypotheses have ended. Not specified in the paper.
- Training (Adam with the warm-up schedule of Eq. (3), label smoothing 0.1) is not in this file;
  see the reverse-sequence demo in `tools/generator/figures/transformer.py`.
"""

import dataclasses
import math
from dataclasses import dataclass

import torch
from torch import nn


# --8<-- [start:config]
@dataclass(frozen=True)
class TransformerConfig:
    """Hyper-parameters; the defaults are the base model of Table 3.

    Attributes:
        vocab_size: Shared source/target BPE vocabulary (§5.1: "about 37000 tokens", EN-DE).
        d_model: Width D of every layer's input and output.
        n_heads: Attention heads h; each head has width d = D / h.
        d_ff: Inner width of the feed-forward networks (Eq. (2)).
        n_layers: N, the number of layers in the encoder and in the decoder.
        dropout: P_drop, on every sub-layer output and on the embedding sums (§5.4).
        max_len: Positions in the precomputed positional-encoding table.
        pad_id: Id of the padding token (masked as a key in the encoder and cross-attention).
        bos_id: Id of the begin-of-sequence token the decoder starts from.
        eos_id: Id of the end-of-sequence token that stops decoding.
    """

    vocab_size: int = 37000
    d_model: int = 512
    n_heads: int = 8
    d_ff: int = 2048
    n_layers: int = 6
    dropout: float = 0.1
    max_len: int = 1024
    pad_id: int = 0
    bos_id: int = 1
    eos_id: int = 2

    @classmethod
    def base(cls) -> "TransformerConfig":
        """Transformer (base) of Table 3."""
        return cls()

    @classmethod
    def big(cls) -> "TransformerConfig":
        """Transformer (big) of Table 3; P_drop 0.3 for EN-DE (0.1 for EN-FR, §6.1)."""
        return cls(d_model=1024, n_heads=16, d_ff=4096, dropout=0.3)

    @classmethod
    def tiny(cls) -> "TransformerConfig":
        """A small configuration for tests and examples: vocabulary 16, D = 32, N = 2."""
        return cls(vocab_size=16, d_model=32, n_heads=4, d_ff=64, n_layers=2, max_len=64)


# --8<-- [end:config]


def causal_mask(n: int, device: torch.device | str | None = None) -> torch.Tensor:
    """Boolean (T, T), `True` where query t may attend to key s, i.e. s ≤ t (§3.2.3)."""
    return torch.ones(n, n, dtype=torch.bool, device=device).tril()


def padding_mask(is_token: torch.Tensor) -> torch.Tensor:
    """(B, S) `True` for real tokens → (B, 1, 1, S) key mask broadcasting over heads and queries."""
    return is_token[:, None, None, :]  # (B, 1, 1, S)


# --8<-- [start:attention]
class ScaledDotProductAttention(nn.Module):
    r"""Eq. (1): $\mathrm{softmax}(QK^\top/\sqrt{d_k})\,V$ with an optional boolean mask.

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
        """Weights (B, h, T, S) from q (B, h, T, d), k (B, h, S, d); mask `True` = may attend."""
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (B, h, T, S)
        if mask is None:
            return self.softmax(scores)
        blocked = ~mask
        scores = scores.masked_fill(blocked, float("-inf"))
        return self.softmax(scores).masked_fill(blocked, 0.0)  # all-masked rows: NaN → 0

    def forward(
        self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Attend: q (B, h, T, d), k and v (B, h, S, d), mask (B, h, T, S) → (B, h, T, d)."""
        return self.dropout(self.weights(q, k, mask)) @ v  # Eq. (1)


class MultiHeadAttention(nn.Module):
    """Multi-head attention (§3.2.2); cross-attention when `context` is given (§3.2.3).

    Args:
        d_model: Width D.
        n_heads: Number of heads h; D must be divisible by h.
        dropout: Dropout on the attention weights (0 in the paper).
    """

    def __init__(self, d_model: int, n_heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        if d_model % n_heads != 0:
            raise ValueError(f"d_model={d_model} is not divisible by n_heads={n_heads}")
        self.n_heads = n_heads
        self.d_head = d_model // n_heads
        self.q_proj = nn.Linear(d_model, d_model)  # W^Q_1 … W^Q_h stacked
        self.k_proj = nn.Linear(d_model, d_model)  # W^K_1 … W^K_h
        self.v_proj = nn.Linear(d_model, d_model)  # W^V_1 … W^V_h
        self.attention = ScaledDotProductAttention(dropout)
        self.out_proj = nn.Linear(d_model, d_model)  # W^O

    def split_heads(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, D) → (B, h, T, d)."""
        B, T, _ = x.shape
        return x.view(B, T, self.n_heads, self.d_head).transpose(1, 2)  # (B, h, T, d)

    def forward(
        self,
        x: torch.Tensor,
        context: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Attend from `x` (B, T, D) to `context` (B, S, D; default `x`) → (B, T, D).

        Args:
            x: Queries' source (B, T, D).
            context: Keys' and values' source (B, S, D); `None` for self-attention.
            mask: Boolean, broadcastable to (B, h, T, S); `True` where a query may attend.

        Returns:
            (B, T, D).
        """
        context = x if context is None else context
        q = self.split_heads(self.q_proj(x))  # (B, h, T, d)
        k = self.split_heads(self.k_proj(context))  # (B, h, S, d)
        v = self.split_heads(self.v_proj(context))  # (B, h, S, d)
        heads = self.attention(q, k, v, mask)  # (B, h, T, d)
        B, h, T, d = heads.shape
        concat = heads.transpose(1, 2).reshape(B, T, h * d)  # (B, T, D): Concat(head_1…head_h)
        return self.out_proj(concat)  # ·W^O


# --8<-- [end:attention]


# --8<-- [start:ffn]
class PositionwiseFeedForward(nn.Module):
    r"""Eq. (2): $\mathrm{FFN}(x) = \max(0, xW_1 + b_1)W_2 + b_2$, applied to each position alike.

    Args:
        d_model: Width D of input and output.
        d_ff: Inner width (4·D in both paper models).
    """

    def __init__(self, d_model: int, d_ff: int) -> None:
        super().__init__()
        self.linear1 = nn.Linear(d_model, d_ff)  # W_1, b_1
        self.relu = nn.ReLU()
        self.linear2 = nn.Linear(d_ff, d_model)  # W_2, b_2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, D) → (B, T, D)."""
        return self.linear2(self.relu(self.linear1(x)))  # Eq. (2)


# --8<-- [end:ffn]


# --8<-- [start:embedding]
class ScaledEmbedding(nn.Module):
    r"""Token embedding multiplied by $\sqrt{d_{model}}$ (§3.4).

    Args:
        vocab_size: Size of the shared vocabulary.
        d_model: Width D.
    """

    def __init__(self, vocab_size: int, d_model: int) -> None:
        super().__init__()
        self.lookup = nn.Embedding(vocab_size, d_model)
        self.scale = math.sqrt(d_model)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Token ids (B, T) → vectors (B, T, D)."""
        return self.lookup(tokens) * self.scale  # §3.4: "multiply those weights by √d_model"


class SinusoidalPositionalEncoding(nn.Module):
    r"""Add $PE_{(pos,2i)} = \sin(pos/10000^{2i/d})$, $PE_{(pos,2i+1)} = \cos(\cdot)$ (§3.5).

    Args:
        d_model: Width D (even).
        max_len: Longest sequence supported.
    """

    def __init__(self, d_model: int, max_len: int) -> None:
        super().__init__()
        pos = torch.arange(max_len, dtype=torch.float32)[:, None]  # (max_len, 1)
        two_i = torch.arange(0, d_model, 2, dtype=torch.float32)  # (D/2,)
        angle = pos / 10000 ** (two_i / d_model)  # (max_len, D/2)
        pe = torch.zeros(max_len, d_model)
        pe[:, 0::2] = torch.sin(angle)
        pe[:, 1::2] = torch.cos(angle)
        self.register_buffer("pe", pe, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, D) → (B, T, D): `x[:, t] + PE[t]`."""
        return x + self.pe[: x.shape[1]]


# --8<-- [end:embedding]


# --8<-- [start:layers]
class EncoderLayer(nn.Module):
    """Encoder layer (§3.1): self-attention and feed-forward, each as LayerNorm(x + Dropout(·)).

    Args:
        config: Hyper-parameters (d_model, n_heads, d_ff, dropout).
    """

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        D = config.d_model
        self.self_attn = MultiHeadAttention(D, config.n_heads)
        self.dropout1 = nn.Dropout(config.dropout)
        self.norm1 = nn.LayerNorm(D)
        self.ffn = PositionwiseFeedForward(D, config.d_ff)
        self.dropout2 = nn.Dropout(config.dropout)
        self.norm2 = nn.LayerNorm(D)

    def forward(self, x: torch.Tensor, src_mask: torch.Tensor) -> torch.Tensor:
        """Apply the layer.

        Args:
            x: Source vectors (B, S, D).
            src_mask: Key mask (B, 1, 1, S), `False` at source padding.

        Returns:
            (B, S, D).
        """
        x = self.norm1(x + self.dropout1(self.self_attn(x, mask=src_mask)))  # post-LN (§3.1)
        return self.norm2(x + self.dropout2(self.ffn(x)))


class DecoderLayer(nn.Module):
    """Decoder layer (§3.1): masked self-attention, cross-attention, feed-forward; each post-LN.

    Args:
        config: Hyper-parameters (d_model, n_heads, d_ff, dropout).
    """

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        D = config.d_model
        self.self_attn = MultiHeadAttention(D, config.n_heads)
        self.dropout1 = nn.Dropout(config.dropout)
        self.norm1 = nn.LayerNorm(D)
        self.cross_attn = MultiHeadAttention(D, config.n_heads)
        self.dropout2 = nn.Dropout(config.dropout)
        self.norm2 = nn.LayerNorm(D)
        self.ffn = PositionwiseFeedForward(D, config.d_ff)
        self.dropout3 = nn.Dropout(config.dropout)
        self.norm3 = nn.LayerNorm(D)

    def forward(
        self,
        y: torch.Tensor,
        memory: torch.Tensor,
        tgt_mask: torch.Tensor,
        src_mask: torch.Tensor,
    ) -> torch.Tensor:
        """Apply the layer.

        Args:
            y: Target vectors (B, T, D).
            memory: Encoder output (B, S, D).
            tgt_mask: Causal mask (T, T).
            src_mask: Key mask over the source (B, 1, 1, S).

        Returns:
            (B, T, D).
        """
        y = self.norm1(y + self.dropout1(self.self_attn(y, mask=tgt_mask)))  # only s ≤ t
        # §3.2.3: queries from the decoder, keys and values from the encoder output
        y = self.norm2(y + self.dropout2(self.cross_attn(y, memory, mask=src_mask)))
        return self.norm3(y + self.dropout3(self.ffn(y)))


# --8<-- [end:layers]


class Encoder(nn.Module):
    """Dropout on the embedding sum (§5.4), then N encoder layers.

    Args:
        config: Hyper-parameters.
    """

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.dropout = nn.Dropout(config.dropout)
        self.layers = nn.ModuleList(EncoderLayer(config) for _ in range(config.n_layers))

    def forward(self, x: torch.Tensor, src_mask: torch.Tensor) -> torch.Tensor:
        """(B, S, D) embedded source → (B, S, D) memory."""
        x = self.dropout(x)
        for layer in self.layers:
            x = layer(x, src_mask)
        return x  # post-LN: the last layer already ends with a LayerNorm


class Decoder(nn.Module):
    """Dropout on the embedding sum (§5.4), then N decoder layers.

    Args:
        config: Hyper-parameters.
    """

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.dropout = nn.Dropout(config.dropout)
        self.layers = nn.ModuleList(DecoderLayer(config) for _ in range(config.n_layers))

    def forward(
        self, y: torch.Tensor, memory: torch.Tensor, tgt_mask: torch.Tensor, src_mask: torch.Tensor
    ) -> torch.Tensor:
        """(B, T, D) embedded target, (B, S, D) memory → (B, T, D)."""
        y = self.dropout(y)
        for layer in self.layers:
            y = layer(y, memory, tgt_mask, src_mask)
        return y


# --8<-- [start:model]
class Transformer(nn.Module):
    """The encoder–decoder Transformer of Fig. 1, with shared embeddings (§3.4).

    Args:
        config: Hyper-parameters; `TransformerConfig.base()` / `.big()` are Table 3's models.
    """

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.config = config
        self.embedding = ScaledEmbedding(config.vocab_size, config.d_model)  # source and target
        self.positional_encoding = SinusoidalPositionalEncoding(config.d_model, config.max_len)
        self.encoder = Encoder(config)
        self.decoder = Decoder(config)
        # §3.4: the pre-softmax linear layer shares the embedding matrix (one tensor, counted once)
        self.output_proj = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self._init_weights()
        self.output_proj.weight = self.embedding.lookup.weight

    def _init_weights(self) -> None:
        """Xavier-uniform linear layers; embeddings N(0, 1/D) (not specified in the paper)."""
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
        nn.init.normal_(self.embedding.lookup.weight, std=self.config.d_model**-0.5)

    def encode(self, src: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode the source once; decoding reuses the result at every step.

        Args:
            src: Source token ids (B, S).

        Returns:
            The memory (B, S, D) and the source key mask (B, 1, 1, S).
        """
        src_mask = padding_mask(src != self.config.pad_id)  # (B, 1, 1, S)
        x = self.positional_encoding(self.embedding(src))  # (B, S, D)
        return self.encoder(x, src_mask), src_mask

    def decode(
        self, tgt: torch.Tensor, memory: torch.Tensor, src_mask: torch.Tensor
    ) -> torch.Tensor:
        """Next-token logits for every target prefix.

        Args:
            tgt: Target ids shifted right, starting with `bos_id` (B, T).
            memory: Encoder output (B, S, D).
            src_mask: Source key mask (B, 1, 1, S).

        Returns:
            Logits (B, T, V): position t predicts token t + 1 from tokens ≤ t.
        """
        tgt_mask = causal_mask(tgt.shape[1], device=tgt.device)  # (T, T)
        y = self.positional_encoding(self.embedding(tgt))  # (B, T, D)
        y = self.decoder(y, memory, tgt_mask, src_mask)  # (B, T, D)
        return self.output_proj(y)  # (B, T, V); the softmax is left to the loss / decoder

    def forward(self, src: torch.Tensor, tgt: torch.Tensor) -> torch.Tensor:
        """Teacher-forced forward pass, as in training.

        Args:
            src: Source token ids (B, S).
            tgt: Target ids shifted right (B, T).

        Returns:
            Logits (B, T, V).
        """
        memory, src_mask = self.encode(src)
        return self.decode(tgt, memory, src_mask)


# --8<-- [end:model]


# --8<-- [start:greedy]
@torch.no_grad()
def greedy_decode(model: Transformer, src: torch.Tensor, max_len: int) -> torch.Tensor:
    """Pick the most probable next token at every step until EOS or `max_len` tokens.

    Args:
        model: A Transformer (put it in eval mode first).
        src: Source ids (B, S).
        max_len: Maximum number of generated tokens (EOS included).

    Returns:
        Generated ids (B, ≤ max_len) without BOS; after a sequence's EOS, `pad_id`.
    """
    cfg = model.config
    memory, src_mask = model.encode(src)
    ys = torch.full((src.shape[0], 1), cfg.bos_id, dtype=torch.long, device=src.device)
    done = torch.zeros(src.shape[0], dtype=torch.bool, device=src.device)
    for _ in range(max_len):
        next_token = model.decode(ys, memory, src_mask)[:, -1].argmax(-1)  # (B,)
        next_token = next_token.masked_fill(done, cfg.pad_id)
        ys = torch.cat([ys, next_token[:, None]], dim=1)  # (B, t + 1)
        done |= next_token == cfg.eos_id
        if done.all():
            break
    return ys[:, 1:]


# --8<-- [end:greedy]


# --8<-- [start:beam]
def length_penalty(length: int, alpha: float) -> float:
    r"""Length penalty of Wu et al. (2016, GNMT): $lp(Y) = (5 + |Y|)^\alpha / (5 + 1)^\alpha$."""
    return ((5 + length) / 6) ** alpha


@torch.no_grad()
def beam_search(
    model: Transformer,
    src: torch.Tensor,
    beam_size: int = 4,
    alpha: float = 0.6,
    max_len: int | None = None,
) -> tuple[list[int], float]:
    r"""Beam search for one source sentence (§6.1: beam 4, α = 0.6, max length = input + 50).

    Keeps the `beam_size` most probable prefixes by $\log P(y_{\le t} \mid x)$. A prefix that
    emits EOS is finished and the beam shrinks by one; the search stops when `beam_size`
    hypotheses are finished or `max_len` is reached. Finished hypotheses are ranked by
    $s(Y) = \log P(Y \mid X) / lp(Y)$: without the penalty the search prefers short outputs,
    because every extra token adds a negative log-probability.

    Args:
        model: A Transformer (put it in eval mode first).
        src: Source ids (S,).
        beam_size: Number of hypotheses kept.
        alpha: Length-penalty exponent α (0: plain log-probability).
        max_len: Maximum output length, EOS included; default S + 50.

    Returns:
        The best hypothesis (ids without BOS, EOS included if emitted) and its score s(Y).
    """
    cfg = model.config
    max_len = src.shape[0] + 50 if max_len is None else max_len
    memory, src_mask = model.encode(src[None])  # (1, S, D), (1, 1, 1, S)
    alive = [[cfg.bos_id]]  # prefixes still growing
    alive_logp = torch.zeros(1)  # (n,) log P(prefix | x)
    finished: list[tuple[list[int], float]] = []
    for step in range(1, max_len + 1):
        n, width = len(alive), beam_size - len(finished)
        ys = torch.tensor(alive, device=src.device)  # (n, t)
        logits = model.decode(ys, memory.expand(n, -1, -1), src_mask.expand(n, -1, -1, -1))
        logp = alive_logp[:, None] + logits[:, -1].log_softmax(-1).cpu()  # (n, V)
        top_logp, top_index = logp.flatten().topk(min(width, logp.numel()))
        alive, kept = [], []
        for score, index in zip(top_logp.tolist(), top_index.tolist(), strict=True):
            prefix, token = divmod(index, logp.shape[1])
            hypothesis = [*ys[prefix].tolist(), token]
            if token == cfg.eos_id or step == max_len:
                finished.append((hypothesis[1:], score / length_penalty(step, alpha)))
            else:
                alive.append(hypothesis)
                kept.append(score)
        if not alive:
            break
        alive_logp = torch.tensor(kept)
    return max(finished, key=lambda hyp: hyp[1])


@torch.no_grad()
def sequence_log_prob(model: Transformer, src: torch.Tensor, output: list[int]) -> float:
    r"""$\log P(Y \mid X)$ of one output (ids without BOS) under the model, teacher-forced.

    Args:
        model: A Transformer (eval mode).
        src: Source ids (S,).
        output: Output ids without BOS.

    Returns:
        The sum of the log-probabilities of the output tokens.
    """
    tokens = torch.tensor([[model.config.bos_id, *output]], device=src.device)  # (1, T + 1)
    logp = model(src[None], tokens[:, :-1]).log_softmax(-1)  # (1, T, V)
    return logp[0].gather(-1, tokens[0, 1:, None]).sum().item()


# --8<-- [end:beam]


# --8<-- [start:constructors]
def transformer_base(**overrides: object) -> Transformer:
    """Transformer (base), Table 3 (63,082,496 parameters with V = 37,000)."""
    return Transformer(dataclasses.replace(TransformerConfig.base(), **overrides))


def transformer_big(**overrides: object) -> Transformer:
    """Transformer (big), Table 3 (214,245,376 parameters with V = 37,000)."""
    return Transformer(dataclasses.replace(TransformerConfig.big(), **overrides))


# --8<-- [end:constructors]


# ── loading torch.nn.Transformer's weights ─────────────────────────────────────────────
def load_nn_transformer(model: Transformer, state_dict: dict[str, torch.Tensor]) -> None:
    """Load the encoder and decoder layers of a `torch.nn.Transformer` state dict.

    `nn.Transformer` has no embeddings and adds a LayerNorm after each stack (`encoder.norm`,
    `decoder.norm`), which the paper's post-LN model does not have: replace both by
    `nn.Identity()` before taking the state dict. Its fused `in_proj_weight` stacks
    $W^Q$, $W^K$, $W^V$; `multihead_attn` is our `cross_attn`, `linear1/2` our `ffn`.
    """
    if any(k.startswith(("encoder.norm.", "decoder.norm.")) for k in state_dict):
        raise ValueError("set nn.Transformer's encoder.norm and decoder.norm to nn.Identity()")
    renamed = {}
    for key, value in state_dict.items():
        key = key.replace(".multihead_attn.", ".cross_attn.").replace(".linear", ".ffn.linear")
        if key.endswith(("in_proj_weight", "in_proj_bias")):
            module, leaf = key.rsplit(".in_proj_", 1)  # leaf: "weight" or "bias"
            for name, part in zip(("q", "k", "v"), value.chunk(3), strict=True):
                renamed[f"{module}.{name}_proj.{leaf}"] = part
        else:
            renamed[key] = value
    core = {k: v for k, v in model.state_dict().items() if k.startswith(("encoder.", "decoder."))}
    if renamed.keys() != core.keys():
        raise ValueError(f"keys differ: {sorted(renamed.keys() ^ core.keys())[:4]} …")
    model.load_state_dict(renamed, strict=False)  # strict on the core; embeddings untouched


__all__ = [
    "Decoder",
    "DecoderLayer",
    "Encoder",
    "EncoderLayer",
    "MultiHeadAttention",
    "PositionwiseFeedForward",
    "ScaledDotProductAttention",
    "ScaledEmbedding",
    "SinusoidalPositionalEncoding",
    "Transformer",
    "TransformerConfig",
    "beam_search",
    "causal_mask",
    "greedy_decode",
    "length_penalty",
    "load_nn_transformer",
    "padding_mask",
    "sequence_log_prob",
    "transformer_base",
    "transformer_big",
]


if __name__ == "__main__":
    config = TransformerConfig.tiny()
    model = Transformer(config).eval()
    src = torch.randint(3, config.vocab_size, (2, 7))
    tgt = torch.randint(3, config.vocab_size, (2, 5))
    print(model(src, tgt).shape)  # torch.Size([2, 5, 16])
    print(greedy_decode(model, src, max_len=6).shape)  # (2, ≤ 6)
