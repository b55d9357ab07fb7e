r"""BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding.

Jacob Devlin, Ming-Wei Chang, Kenton Lee, Kristina Toutanova. *Proceedings of NAACL-HLT 2019*,
pp. 4171–4186. arXiv:1810.04805.

Implemented (section, figure and appendix numbers of the paper):

- §3, Fig. 2 "input representation": the sum of token (WordPiece), segment (A/B) and learned
  position embeddings, then LayerNorm and dropout (`BertEmbeddings`). The first token is [CLS],
  sentences are separated and ended by [SEP].
- §3 "Model Architecture": a Transformer encoder (Vaswani et al. 2017) of L layers, width H,
  A heads, feed-forward width 4H, post-LN as in the original, GELU activation (§A.2);
  BERT-base L = 12, H = 768, A = 12; BERT-large L = 24, H = 1024, A = 16.
- The pooler: a dense layer with tanh on the final [CLS] vector, used for sentence-level tasks
  and next sentence prediction (`Pooler`; in the released code, not spelled out in the paper).
- §3.1 Task #1, masked LM: 15 % of the WordPiece positions are chosen; a chosen token is
  replaced by [MASK] 80 % of the time, by a random token 10 %, kept 10 % (`mask_tokens`,
  §3.1 and §A.1). The MLM head (dense + GELU + LayerNorm, then an output layer whose weight is
  the token-embedding matrix) predicts the original token; the loss counts only the chosen
  positions (`pretraining_loss`).
- §3.1 Task #2, next sentence prediction: a 2-way classifier on the pooled [CLS] vector.
- Parameter counts with the released 30,522-token uncased vocabulary, 512 positions and
  2 segments: encoder + pooler 109,482,240 (base) and 335,141,888 (large); with the
  pre-training heads 110,106,428 and 336,226,108. The paper rounds to 110 M and 340 M.

Deviations:

- GELU is the exact $x\,\Phi(x)$ of Hendrycks & Gimpel (2016), cited by the paper; the released
  TensorFlow code uses its tanh approximation (differences below 10⁻³).
- The chosen positions are drawn per sequence as round(15 % of the non-special tokens), as the
  released `create_pretraining_data.py` does (without its cap of 20 or 76 predictions per
  sequence); the paper only says "15 % of all WordPiece tokens in each sequence at random".
- Module names follow the paper (token/segment/position embeddings), not the checkpoint names
  (`word_embeddings`, `token_type_embeddings`).
"""

import dataclasses
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

#: Label of the positions the MLM loss ignores (PyTorch's cross-entropy default).
IGNORE_INDEX = -100


# --8<-- [start:config]
@dataclass(frozen=True)
class BertConfig:
    """Hyper-parameters; the defaults are BERT-base (§3) with the released uncased vocabulary.

    Attributes:
        vocab_size: WordPiece vocabulary ("30,000 token vocabulary", §3; 30,522 released).
        d_model: Hidden size H.
        n_layers: Number of encoder layers L.
        n_heads: Attention heads A; head width d = H / A = 64.
        d_ff: Feed-forward width, 4H.
        max_len: Learned positions (sequences of up to 512 tokens, §A.2).
        n_segments: Segment embeddings: sentence A and sentence B.
        dropout: Dropout on embeddings, sub-layer outputs and attention weights (0.1, §A.2).
        layer_norm_eps: LayerNorm ε of the released code.
        pad_id: Id of [PAD]; padded keys are masked by default.
        cls_id: Id of [CLS] in the uncased vocabulary.
        sep_id: Id of [SEP].
        mask_id: Id of [MASK].
    """

    vocab_size: int = 30522
    d_model: int = 768
    n_layers: int = 12
    n_heads: int = 12
    d_ff: int = 3072
    max_len: int = 512
    n_segments: int = 2
    dropout: float = 0.1
    layer_norm_eps: float = 1e-12
    pad_id: int = 0
    cls_id: int = 101
    sep_id: int = 102
    mask_id: int = 103

    @classmethod
    def base(cls) -> "BertConfig":
        """BERT-base: L = 12, H = 768, A = 12 ("110M" parameters, §3)."""
        return cls()

    @classmethod
    def large(cls) -> "BertConfig":
        """BERT-large: L = 24, H = 1024, A = 16 ("340M" parameters, §3)."""
        return cls(d_model=1024, n_layers=24, n_heads=16, d_ff=4096)

    @classmethod
    def tiny(cls) -> "BertConfig":
        """A small configuration for tests and examples: vocabulary 100, H = 32, L = 2."""
        return cls(
            vocab_size=100,
            d_model=32,
            n_layers=2,
            n_heads=4,
            d_ff=64,
            max_len=64,
            cls_id=1,
            sep_id=2,
            mask_id=3,
        )


# --8<-- [end:config]


def padding_mask(is_token: torch.Tensor) -> torch.Tensor:
    """(B, T) `True` for real tokens → (B, 1, 1, T) key mask broadcasting over heads and queries."""
    return is_token[:, None, None, :]  # (B, 1, 1, T)


# --8<-- [start:attention]
class ScaledDotProductAttention(nn.Module):
    r"""$\mathrm{softmax}(QK^\top/\sqrt{d_k})\,V$ (Vaswani et al. 2017, Eq. (1)), boolean mask.

    Args:
        dropout: Dropout probability on the attention weights (0.1 in BERT).
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
        return self.dropout(self.weights(q, k, mask)) @ v


class MultiHeadAttention(nn.Module):
    """Multi-head attention (Vaswani et al. 2017, §3.2.2); BERT uses it as self-attention only.

    Args:
        d_model: Width H.
        n_heads: Number of heads A; H must be divisible by A.
        dropout: Dropout on the attention weights.
    """

    def __init__(self, d_model: int, n_heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        if d_model % n_heads != 0:
            raise ValueError(f"d_model={d_model} is not divisible by n_heads={n_heads}")
        self.n_heads = n_heads
        self.d_head = d_model // n_heads
        self.q_proj = nn.Linear(d_model, d_model)  # W^Q of all heads, stacked
        self.k_proj = nn.Linear(d_model, d_model)
        self.v_proj = nn.Linear(d_model, d_model)
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
        concat = heads.transpose(1, 2).reshape(B, T, h * d)  # (B, T, D)
        return self.out_proj(concat)


# --8<-- [end:attention]


# --8<-- [start:embeddings]
class BertEmbeddings(nn.Module):
    """Fig. 2: token + segment + position embeddings, then LayerNorm and dropout.

    Args:
        config: Hyper-parameters (vocab_size, max_len, n_segments, d_model, dropout).
    """

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.token_embeddings = nn.Embedding(config.vocab_size, config.d_model)
        self.segment_embeddings = nn.Embedding(config.n_segments, config.d_model)  # E_A, E_B
        self.position_embeddings = nn.Embedding(config.max_len, config.d_model)  # learned
        self.norm = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, input_ids: torch.Tensor, segment_ids: torch.Tensor) -> torch.Tensor:
        """Embed a batch of token sequences.

        Args:
            input_ids: WordPiece ids (B, T).
            segment_ids: 0 for sentence A (with [CLS] and its [SEP]), 1 for sentence B (B, T).

        Returns:
            (B, T, D).
        """
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)  # (T,)
        x = self.token_embeddings(input_ids)  # (B, T, D)
        x = x + self.segment_embeddings(segment_ids)  # (B, T, D)
        x = x + self.position_embeddings(positions)  # (T, D) broadcasts over the batch
        return self.dropout(self.norm(x))


# --8<-- [end:embeddings]


# --8<-- [start:layer]
class FeedForward(nn.Module):
    """Position-wise feed-forward network H → 4H → H with GELU (§A.2).

    Args:
        d_model: Width H.
        d_ff: Inner width 4H.
    """

    def __init__(self, d_model: int, d_ff: int) -> None:
        super().__init__()
        self.linear1 = nn.Linear(d_model, d_ff)
        self.gelu = nn.GELU()  # x·Φ(x); the released TF code uses the tanh approximation
        self.linear2 = nn.Linear(d_ff, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, D) → (B, T, D)."""
        return self.linear2(self.gelu(self.linear1(x)))


class EncoderLayer(nn.Module):
    """Transformer encoder layer, post-LN as in Vaswani et al. (2017): LayerNorm(x + Dropout(·)).

    Args:
        config: Hyper-parameters (d_model, n_heads, d_ff, dropout, layer_norm_eps).
    """

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        D, eps = config.d_model, config.layer_norm_eps
        self.self_attn = MultiHeadAttention(D, config.n_heads, config.dropout)
        self.dropout1 = nn.Dropout(config.dropout)
        self.norm1 = nn.LayerNorm(D, eps=eps)
        self.ffn = FeedForward(D, config.d_ff)
        self.dropout2 = nn.Dropout(config.dropout)
        self.norm2 = nn.LayerNorm(D, eps=eps)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Apply the layer.

        Args:
            x: (B, T, D).
            mask: Key mask (B, 1, 1, T), `False` at padding. No causal mask: every token sees
                both its left and its right context — the "bidirectional" of the title.

        Returns:
            (B, T, D).
        """
        x = self.norm1(x + self.dropout1(self.self_attn(x, mask=mask)))
        return self.norm2(x + self.dropout2(self.ffn(x)))


# --8<-- [end:layer]


class BertEncoder(nn.Module):
    """L identical encoder layers.

    Args:
        config: Hyper-parameters.
    """

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.layers = nn.ModuleList(EncoderLayer(config) for _ in range(config.n_layers))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(B, T, D) and key mask (B, 1, 1, T) → (B, T, D)."""
        for layer in self.layers:
            x = layer(x, mask)
        return x


class Pooler(nn.Module):
    """tanh(W·h_[CLS] + b): the sentence vector for classification and NSP.

    Args:
        d_model: Width H.
    """

    def __init__(self, d_model: int) -> None:
        super().__init__()
        self.dense = nn.Linear(d_model, d_model)
        self.activation = nn.Tanh()

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        """(B, T, D) → (B, D): the first ([CLS]) position only."""
        return self.activation(self.dense(hidden[:, 0]))


# --8<-- [start:model]
class BERT(nn.Module):
    """BERT: embeddings, a bidirectional Transformer encoder, the [CLS] pooler.

    Args:
        config: Hyper-parameters; `BertConfig.base()` / `.large()` are the paper's models.
    """

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.config = config
        self.embeddings = BertEmbeddings(config)
        self.encoder = BertEncoder(config)
        self.pooler = Pooler(config.d_model)
        self.apply(_init_weights)

    def forward(
        self,
        input_ids: torch.Tensor,
        segment_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode a batch of (pairs of) sentences.

        Args:
            input_ids: `[CLS] A … [SEP] B … [SEP] [PAD] …` ids (B, T).
            segment_ids: 0/1 per token (B, T); default all 0 (a single sentence).
            attention_mask: (B, T), `True` or 1 for real tokens, `False` or 0 for padding;
                default `input_ids != pad_id`.

        Returns:
            Per-token vectors (B, T, D) and the pooled [CLS] vector (B, D).
        """
        if segment_ids is None:
            segment_ids = torch.zeros_like(input_ids)
        if attention_mask is None:
            attention_mask = input_ids != self.config.pad_id
        attention_mask = attention_mask.bool()  # also takes transformers' 0/1 integer masks
        x = self.embeddings(input_ids, segment_ids)  # (B, T, D)
        hidden = self.encoder(x, padding_mask(attention_mask))  # (B, T, D)
        return hidden, self.pooler(hidden)


# --8<-- [end:model]


def _init_weights(module: nn.Module) -> None:
    """Released-code initialisation: N(0, 0.02²) weights, zero biases, LayerNorm (1, 0)."""
    if isinstance(module, nn.Linear | nn.Embedding):
        nn.init.normal_(module.weight, std=0.02)
    if isinstance(module, nn.Linear) and module.bias is not None:
        nn.init.zeros_(module.bias)
    if isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


# --8<-- [start:heads]
class MaskedLMHead(nn.Module):
    """Masked-LM head: dense + GELU + LayerNorm, then logits over the vocabulary.

    The output layer's weight is the token-embedding matrix (tied by `BertForPreTraining`);
    only its bias (one per token) is new.

    Args:
        config: Hyper-parameters.
    """

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.d_model, config.d_model)
        self.gelu = nn.GELU()
        self.norm = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.decoder = nn.Linear(config.d_model, config.vocab_size)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        """(B, T, D) → logits (B, T, V)."""
        return self.decoder(self.norm(self.gelu(self.dense(hidden))))


class NextSentenceHead(nn.Module):
    """NSP: IsNext / NotNext from the pooled [CLS] vector (§3.1, Task #2).

    Args:
        d_model: Width H.
    """

    def __init__(self, d_model: int) -> None:
        super().__init__()
        self.classifier = nn.Linear(d_model, 2)

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        """(B, D) → logits (B, 2); class 0 = IsNext."""
        return self.classifier(pooled)


class BertForPreTraining(nn.Module):
    """BERT with the two pre-training heads of §3.1.

    Args:
        config: Hyper-parameters.
    """

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.bert = BERT(config)
        self.mlm = MaskedLMHead(config)
        self.nsp = NextSentenceHead(config.d_model)
        self.mlm.apply(_init_weights)
        self.nsp.apply(_init_weights)
        self.mlm.decoder.weight = self.bert.embeddings.token_embeddings.weight  # tied (one tensor)

    def forward(
        self,
        input_ids: torch.Tensor,
        segment_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """MLM logits (B, T, V) and NSP logits (B, 2); arguments as in `BERT.forward`."""
        hidden, pooled = self.bert(input_ids, segment_ids, attention_mask)
        return self.mlm(hidden), self.nsp(pooled)


def pretraining_loss(
    mlm_logits: torch.Tensor,
    nsp_logits: torch.Tensor,
    mlm_labels: torch.Tensor,
    nsp_labels: torch.Tensor,
) -> torch.Tensor:
    """The pre-training loss: mean MLM cross-entropy over the chosen positions + NSP cross-entropy.

    Args:
        mlm_logits: (B, T, V).
        nsp_logits: (B, 2).
        mlm_labels: Original ids at the chosen positions, `IGNORE_INDEX` elsewhere (B, T).
        nsp_labels: 0 = IsNext, 1 = NotNext (B,).

    Returns:
        A scalar.
    """
    mlm = F.cross_entropy(mlm_logits.flatten(0, 1), mlm_labels.flatten(), ignore_index=IGNORE_INDEX)
    return mlm + F.cross_entropy(nsp_logits, nsp_labels)


# --8<-- [end:heads]


# --8<-- [start:masking]
def mask_tokens(
    input_ids: torch.Tensor,
    config: BertConfig,
    generator: torch.Generator | None = None,
    mask_prob: float = 0.15,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The masked-LM corruption of §3.1 (Task #1) and §A.1.

    In every sequence, round(15 %) of the non-special tokens are chosen at random. A chosen
    token becomes [MASK] with probability 0.8, a uniformly random token with probability 0.1,
    and stays unchanged with probability 0.1 — so the model cannot rely on [MASK], which never
    occurs at fine-tuning time, and must keep a good representation of every input token.

    Args:
        input_ids: (B, T) ids with [CLS], [SEP] and [PAD].
        config: Gives `vocab_size` and the special ids.
        generator: Random source (seed it for reproducibility).
        mask_prob: Share of tokens chosen.

    Returns:
        The corrupted ids (B, T) and the MLM labels (B, T): the original id at chosen positions,
        `IGNORE_INDEX` elsewhere.
    """
    special = torch.zeros_like(input_ids, dtype=torch.bool)
    for token in (config.cls_id, config.sep_id, config.pad_id):
        special |= input_ids == token
    n_chosen = ((~special).sum(1) * mask_prob).round().long()  # (B,) per sequence
    scores = torch.rand(input_ids.shape, generator=generator).masked_fill(special, 2.0)
    rank = scores.argsort(dim=1).argsort(dim=1)  # (B, T): rank of each position's score
    chosen = rank < n_chosen[:, None]  # the n_chosen lowest scores: a uniform random subset
    labels = input_ids.masked_fill(~chosen, IGNORE_INDEX)

    u = torch.rand(input_ids.shape, generator=generator)
    to_mask = chosen & (u < 0.8)  # 80 %: [MASK]
    to_random = chosen & (u >= 0.8) & (u < 0.9)  # 10 %: a random token; 10 %: unchanged
    random_ids = torch.randint(config.vocab_size, input_ids.shape, generator=generator)
    corrupted = input_ids.masked_fill(to_mask, config.mask_id)
    corrupted = torch.where(to_random, random_ids, corrupted)
    return corrupted, labels


# --8<-- [end:masking]


# --8<-- [start:constructors]
def bert_base(**overrides: object) -> BERT:
    """BERT-base encoder with pooler (109,482,240 parameters)."""
    return BERT(dataclasses.replace(BertConfig.base(), **overrides))


def bert_large(**overrides: object) -> BERT:
    """BERT-large encoder with pooler (335,141,888 parameters)."""
    return BERT(dataclasses.replace(BertConfig.large(), **overrides))


def bert_base_pretraining(**overrides: object) -> BertForPreTraining:
    """BERT-base with the MLM and NSP heads (110,106,428 parameters)."""
    return BertForPreTraining(dataclasses.replace(BertConfig.base(), **overrides))


def bert_large_pretraining(**overrides: object) -> BertForPreTraining:
    """BERT-large with the MLM and NSP heads (336,226,108 parameters)."""
    return BertForPreTraining(dataclasses.replace(BertConfig.large(), **overrides))


# --8<-- [end:constructors]


# ── loading Hugging Face transformers' weights ─────────────────────────────────────────
TRANSFORMERS_NAMES = [  # (theirs, ours): substrings replaced in this order in every key
    ("embeddings.word_embeddings", "embeddings.token_embeddings"),
    ("embeddings.token_type_embeddings", "embeddings.segment_embeddings"),
    ("embeddings.LayerNorm", "embeddings.norm"),
    ("encoder.layer.", "encoder.layers."),
    ("attention.self.query", "self_attn.q_proj"),
    ("attention.self.key", "self_attn.k_proj"),
    ("attention.self.value", "self_attn.v_proj"),
    ("attention.output.dense", "self_attn.out_proj"),
    ("attention.output.LayerNorm", "norm1"),
    ("intermediate.dense", "ffn.linear1"),
    ("output.dense", "ffn.linear2"),
    ("output.LayerNorm", "norm2"),
    ("cls.predictions.transform.dense", "mlm.dense"),
    ("cls.predictions.transform.LayerNorm", "mlm.norm"),
    ("cls.predictions.decoder", "mlm.decoder"),
    ("cls.predictions.bias", "mlm.decoder.bias"),  # the same tensor as decoder.bias
    ("cls.seq_relationship", "nsp.classifier"),
]  # pooler.dense keeps its name


def load_transformers(
    model: BERT | BertForPreTraining, state_dict: dict[str, torch.Tensor]
) -> None:
    """Load a state dict of transformers' `BertModel` into `BERT`, or of `BertForPreTraining`.

    The released checkpoints (`bert-base-uncased` …) load the same way, once read with
    `torch.load` or `safetensors`. Buffers that are not weights (`position_ids`, …) are skipped.
    """
    renamed = {}
    for key, value in state_dict.items():
        if key.endswith(("position_ids", "token_type_ids")):
            continue
        prefix = "bert." if key.startswith("bert.") else ""
        key = key.removeprefix(prefix)
        for theirs, ours in TRANSFORMERS_NAMES:
            key = key.replace(theirs, ours)
        renamed[f"{prefix}{key}"] = value
    if isinstance(model, BertForPreTraining):  # the MLM output weight is the embedding matrix
        renamed.setdefault("mlm.decoder.weight", renamed["bert.embeddings.token_embeddings.weight"])
    model.load_state_dict(renamed)


__all__ = [
    "BERT",
    "IGNORE_INDEX",
    "TRANSFORMERS_NAMES",
    "BertConfig",
    "BertEmbeddings",
    "BertEncoder",
    "BertForPreTraining",
    "EncoderLayer",
    "FeedForward",
    "MaskedLMHead",
    "MultiHeadAttention",
    "NextSentenceHead",
    "Pooler",
    "ScaledDotProductAttention",
    "bert_base",
    "bert_base_pretraining",
    "bert_large",
    "bert_large_pretraining",
    "load_transformers",
    "mask_tokens",
    "padding_mask",
    "pretraining_loss",
]


if __name__ == "__main__":
    config = BertConfig.tiny()
    model = BertForPreTraining(config)
    ids = torch.randint(4, config.vocab_size, (2, 12))
    ids[:, 0], ids[:, 6], ids[:, 11] = config.cls_id, config.sep_id, config.sep_id
    segments = (torch.arange(12) > 6).long().expand(2, -1)
    corrupted, labels = mask_tokens(ids, config, torch.Generator().manual_seed(0))
    mlm_logits, nsp_logits = model(corrupted, segments)
    print(mlm_logits.shape, nsp_logits.shape)  # torch.Size([2, 12, 100]) torch.Size([2, 2])
