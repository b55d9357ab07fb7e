r"""GPT, GPT-2 and GPT-3: decoder-only Transformer language models.

- Alec Radford, Karthik Narasimhan, Tim Salimans, Ilya Sutskever. *Improving Language
  Understanding by Generative Pre-Training*. OpenAI technical report, 2018 ("GPT-1").
- Alec Radford, Jeffrey Wu, Rewon Child, David Luan, Dario Amodei, Ilya Sutskever. *Language
  Models are Unsupervised Multitask Learners*. OpenAI technical report, 2019 ("GPT-2").
- Tom B. Brown, Benjamin Mann, Nick Ryder, Melanie Subbiah et al. *Language Models are Few-Shot
  Learners*. NeurIPS 2020. arXiv:2005.14165 ("GPT-3").

Implemented (section, equation and table numbers of the three papers):

- GPT-1 §3.1, Eq. (1)–(2): the language-model objective
  $L_1 = \sum_i \log P(u_i \mid u_{i-k},\dots,u_{i-1})$ and the model
  $h_0 = UW_e + W_p$, $h_l = \mathrm{transformer\_block}(h_{l-1})$,
  $P(u) = \mathrm{softmax}(h_n W_e^\top)$: learned positions, and an output layer that is the
  token-embedding matrix (tied weights, counted once).
- GPT-1 §4.1: 12 layers, width 768, 12 heads, feed-forward width 3072, GELU, context 512,
  post-LN blocks as in Vaswani et al. (2017), N(0, 0.02) initialisation; the released BPE
  vocabulary of 40,478 tokens ("40,000 merges").
- GPT-1 §3.2–3.3, Eq. (3)–(5): fine-tuning with a linear head $W_y$ on the last token's state,
  the auxiliary LM loss $L_3 = L_2 + \lambda L_1$ (λ = 0.5, §4.1), and the traversal-style input
  transformations of Fig. 1 (entailment, similarity, multiple choice).
- GPT-2 §2.3: LayerNorm moved to the input of each sub-block (pre-LN), a final LayerNorm after
  the last block, residual-layer weights initialised $\times 1/\sqrt{N}$ (N = 2 residual layers
  per block), vocabulary 50,257, context 1024; Table 2: the four sizes.
- GPT-3 §2.1, Table 2.1: the same model with context 2048, the eight sizes, and "alternating
  dense and locally banded sparse attention patterns" as a mask option (`local_window`).
- `generate`: autoregressive decoding, greedy, with temperature, and top-k (GPT-2 §3.6 uses
  top-k with k = 2).
- Exact counts, tied weights once: GPT-1 116,534,784; GPT-2 124,439,808 / 354,823,168 /
  774,030,080 / 1,557,611,200; GPT-3 from 125,226,240 (Small) to 174,604,259,328 (175B).

Deviations:

- GELU is the tanh approximation of the released GPT-1 and GPT-2 code (GPT-1 §4.1 cites
  Hendrycks & Gimpel 2016, whose GELU is the exact $x\,\Phi(x)$).
- GPT-3 Table 2.1 is inconsistent in two rows: XL lists 24 heads of width 128 (3,072) for a width
  of 2,048, and 13B a width of 5,140 for 40 heads of 128 (5,120). We use 16 heads of 128 for XL and
  a width of 5,120 for 13B (the head count does not change the parameter count).
- GPT-3's band width and which layers are sparse are not given; `local_window` (default `None`:
  every layer dense) makes every second layer, starting with the second, attend only to the
  last `local_window` positions (itself included). A mask has no parameters, so the counts do
  not change.
- Initialisation of positions follows the token embeddings (N(0, 0.02)); the released GPT-2 code
  uses 0.01 for positions.
- No key/value cache: `generate` recomputes the whole (cropped) prefix at every step.
- Module names follow the papers and this site (`token_embeddings`, `attention.qkv`), not the
  checkpoints (`wte`, `attn.c_attn`); `load_transformers` translates.
"""

import dataclasses
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


# --8<-- [start:config]
@dataclass(frozen=True)
class GPTConfig:
    r"""Hyper-parameters; the defaults are GPT-2 small (GPT-2 §2.3, Table 2).

    Attributes:
        vocab_size: BPE vocabulary: 40,478 (GPT-1), 50,257 (GPT-2, GPT-3).
        max_len: Context window $n_{ctx}$ (learned positions): 512, 1024, 2048.
        d_model: Width $d_{model}$ of the residual stream.
        n_layers: Number of Transformer blocks.
        n_heads: Attention heads; head width $d_{head}$ = d_model / n_heads.
        d_ff: Feed-forward width, always $4\,d_{model}$ (GPT-3 §2.1).
        pre_norm: `True`: LayerNorm at the input of each sub-block plus a final LayerNorm
            (GPT-2/3). `False`: LayerNorm after each residual addition (GPT-1, post-LN).
        scale_residual_init: Initialise the output layer of every residual branch with std
            0.02 / √N, N = 2 · n_layers (GPT-2 §2.3); GPT-1 uses 0.02 everywhere.
        local_window: `None`: dense causal attention in every layer. An int w: every second
            layer (1, 3, 5, …) attends only to the w most recent positions (GPT-3 §2.1).
        dropout: Embedding, attention and residual dropout (0.1 in GPT-1 §4.1).
        layer_norm_eps: LayerNorm ε of the released code.
    """

    vocab_size: int = 50257
    max_len: int = 1024
    d_model: int = 768
    n_layers: int = 12
    n_heads: int = 12
    d_ff: int = 3072
    pre_norm: bool = True
    scale_residual_init: bool = True
    local_window: int | None = None
    dropout: float = 0.1
    layer_norm_eps: float = 1e-5

    @classmethod
    def gpt1(cls) -> "GPTConfig":
        """GPT-1 (GPT-1 §4.1): post-LN, context 512, 40,478 tokens."""
        return cls(vocab_size=40478, max_len=512, pre_norm=False, scale_residual_init=False)

    @classmethod
    def gpt2(cls, d_model: int, n_layers: int) -> "GPTConfig":
        """A GPT-2 size of Table 2 (heads of width 64, as in the released models)."""
        return cls(d_model=d_model, n_layers=n_layers, n_heads=d_model // 64, d_ff=4 * d_model)

    @classmethod
    def gpt3(cls, d_model: int, n_layers: int, n_heads: int) -> "GPTConfig":
        """A GPT-3 size of Table 2.1: the GPT-2 model with context 2048."""
        return cls(
            max_len=2048, d_model=d_model, n_layers=n_layers, n_heads=n_heads, d_ff=4 * d_model
        )

    @classmethod
    def tiny(cls) -> "GPTConfig":
        """A small configuration for tests and examples: vocabulary 100, width 32, 2 layers."""
        return cls(vocab_size=100, max_len=64, d_model=32, n_layers=2, n_heads=4, d_ff=128)


# --8<-- [end:config]


# --8<-- [start:masks]
def causal_mask(T: int, device: torch.device | str | None = None) -> torch.Tensor:
    """(T, T) boolean, `True` where query i may attend to key j: j ≤ i ("masked" attention)."""
    return torch.ones(T, T, dtype=torch.bool, device=device).tril()


def banded_causal_mask(
    T: int, window: int, device: torch.device | str | None = None
) -> torch.Tensor:
    """(T, T) boolean, `True` where i − window < j ≤ i: the locally banded pattern of GPT-3 §2.1."""
    i = torch.arange(T, device=device)[:, None]
    j = torch.arange(T, device=device)[None, :]
    return (j <= i) & (j > i - window)


def layer_masks(config: GPTConfig, T: int, device=None) -> list[torch.Tensor]:
    """One (T, T) mask per layer: dense causal, or alternating dense and banded (GPT-3)."""
    dense = causal_mask(T, device)
    if config.local_window is None:
        return [dense] * config.n_layers
    band = banded_causal_mask(T, config.local_window, device)
    return [dense if layer % 2 == 0 else band for layer in range(config.n_layers)]


# --8<-- [end:masks]


# --8<-- [start:attention]
class MultiHeadAttention(nn.Module):
    """Masked multi-head self-attention (Vaswani et al. 2017, §3.2.2).

    Args:
        d_model: Width D.
        n_heads: Number of heads h; D must be divisible by h.
        dropout: Dropout on the attention weights.
    """

    def __init__(self, d_model: int, n_heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        if d_model % n_heads != 0:
            raise ValueError(f"d_model={d_model} is not divisible by n_heads={n_heads}")
        self.n_heads = n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)  # W^Q, W^K, W^V of all heads, stacked
        self.dropout = nn.Dropout(dropout)
        self.out_proj = nn.Linear(d_model, d_model)  # W^O: a residual layer (GPT-2 init)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Attend within `x`.

        Args:
            x: (B, T, D).
            mask: Boolean, broadcastable to (B, h, T, T); `True` where a query may attend.

        Returns:
            (B, T, D).
        """
        B, T, D = x.shape
        h, d = self.n_heads, D // self.n_heads
        q, k, v = self.qkv(x).view(B, T, 3, h, d).permute(2, 0, 3, 1, 4)  # 3 × (B, h, T, d)
        scores = q @ k.transpose(-2, -1) / math.sqrt(d)  # Eq. (1) of Vaswani: QKᵀ/√d, (B, h, T, T)
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))  # the future gets weight 0
        weights = self.dropout(scores.softmax(dim=-1))  # (B, h, T, T)
        heads = (weights @ v).transpose(1, 2).reshape(B, T, D)  # concat heads, (B, T, D)
        return self.out_proj(heads)


# --8<-- [end:attention]


# --8<-- [start:block]
class FeedForward(nn.Module):
    """Position-wise feed-forward network D → 4D → D with GELU (GPT-1 §4.1).

    Args:
        d_model: Width D.
        d_ff: Inner width 4D.
    """

    def __init__(self, d_model: int, d_ff: int) -> None:
        super().__init__()
        self.linear1 = nn.Linear(d_model, d_ff)
        self.gelu = nn.GELU(approximate="tanh")  # as in the released GPT-1/GPT-2 code
        self.linear2 = nn.Linear(d_ff, d_model)  # a residual layer (GPT-2 init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, D) → (B, T, D)."""
        return self.linear2(self.gelu(self.linear1(x)))


class TransformerBlock(nn.Module):
    """One decoder block: masked self-attention and feed-forward, each with a residual path.

    Args:
        config: `pre_norm` chooses GPT-2/3's pre-LN or GPT-1's post-LN.
    """

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        D, eps = config.d_model, config.layer_norm_eps
        self.pre_norm = config.pre_norm
        self.norm1 = nn.LayerNorm(D, eps=eps)
        self.attention = MultiHeadAttention(D, config.n_heads, config.dropout)
        self.dropout1 = nn.Dropout(config.dropout)
        self.norm2 = nn.LayerNorm(D, eps=eps)
        self.ffn = FeedForward(D, config.d_ff)
        self.dropout2 = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(B, T, D) and a (T, T) mask → (B, T, D)."""
        if self.pre_norm:  # GPT-2 §2.3: LayerNorm "moved to the input of each sub-block"
            x = x + self.dropout1(self.attention(self.norm1(x), mask))
            return x + self.dropout2(self.ffn(self.norm2(x)))
        x = self.norm1(x + self.dropout1(self.attention(x, mask)))  # GPT-1: post-LN
        return self.norm2(x + self.dropout2(self.ffn(x)))


# --8<-- [end:block]


# --8<-- [start:model]
class GPT(nn.Module):
    r"""Decoder-only language model: GPT-1 Eq. (2), with GPT-2's changes when `pre_norm`.

    Args:
        config: Hyper-parameters; see the named constructors `gpt1()`, `gpt2_small()`, ….
    """

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.config = config
        self.token_embeddings = nn.Embedding(config.vocab_size, config.d_model)  # W_e
        self.position_embeddings = nn.Embedding(config.max_len, config.d_model)  # W_p, learned
        self.dropout = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(TransformerBlock(config) for _ in range(config.n_layers))
        # GPT-2 §2.3: "an additional layer normalization was added after the final
        # self-attention block"
        self.norm = (
            nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
            if config.pre_norm
            else nn.Identity()
        )
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self.lm_head.weight = self.token_embeddings.weight  # P(u) = softmax(h_n W_eᵀ): tied
        self.apply(_init_weights)
        if config.scale_residual_init:  # GPT-2 §2.3: × 1/√N, N = 2 residual layers per block
            std = 0.02 / math.sqrt(2 * config.n_layers)
            for block in self.blocks:
                nn.init.normal_(block.attention.out_proj.weight, std=std)
                nn.init.normal_(block.ffn.linear2.weight, std=std)

    def features(self, input_ids: torch.Tensor) -> torch.Tensor:
        """The last hidden states $h_n$ (after the final LayerNorm when `pre_norm`).

        Args:
            input_ids: Token ids (B, T), T ≤ `max_len`.

        Returns:
            (B, T, D).
        """
        T = input_ids.shape[1]
        if T > self.config.max_len:
            raise ValueError(f"{T} tokens exceed the context window of {self.config.max_len}")
        positions = torch.arange(T, device=input_ids.device)  # (T,)
        h = self.token_embeddings(input_ids) + self.position_embeddings(positions)  # UW_e + W_p
        h = self.dropout(h)  # (B, T, D)
        for block, mask in zip(self.blocks, layer_masks(self.config, T, h.device), strict=True):
            h = block(h, mask)  # h_l = transformer_block(h_{l-1})
        return self.norm(h)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        """Next-token logits: position t scores token t + 1 from tokens ≤ t.

        Args:
            input_ids: Token ids (B, T).

        Returns:
            Logits (B, T, V); softmax over V gives $P(u)$ of GPT-1 Eq. (2).
        """
        return self.lm_head(self.features(input_ids))


# --8<-- [end:model]


def _init_weights(module: nn.Module) -> None:
    """N(0, 0.02²) weights, zero biases, LayerNorm (1, 0) (GPT-1 §4.1)."""
    if isinstance(module, nn.Linear | nn.Embedding):
        nn.init.normal_(module.weight, std=0.02)
    if isinstance(module, nn.Linear) and module.bias is not None:
        nn.init.zeros_(module.bias)
    if isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


# --8<-- [start:loss]
def lm_loss(logits: torch.Tensor, input_ids: torch.Tensor) -> torch.Tensor:
    r"""$-L_1/n$ of GPT-1 Eq. (1): mean cross-entropy of each next token given the ones before.

    Args:
        logits: (B, T, V) from `GPT.forward`.
        input_ids: The same ids (B, T); position t is scored against token t + 1.

    Returns:
        A scalar (nats per token).
    """
    return F.cross_entropy(logits[:, :-1].flatten(0, 1), input_ids[:, 1:].flatten())


# --8<-- [end:loss]


# --8<-- [start:generate]
@torch.no_grad()
def generate(
    model: GPT,
    input_ids: torch.Tensor,
    max_new_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Extend a prompt one token at a time, each new token fed back as input (autoregressive).

    Args:
        model: A `GPT` (run in eval mode here, its mode restored afterwards).
        input_ids: Prompt ids (B, T0), T0 ≥ 1.
        max_new_tokens: Tokens to append.
        temperature: 0: greedy (argmax). Otherwise sample from softmax(logits / temperature):
            below 1 sharper, above 1 flatter.
        top_k: If set, sample only among the k most probable tokens (GPT-2 §3.6 uses k = 2).
        generator: Random source for sampling (seed it for reproducible samples).

    Returns:
        (B, T0 + max_new_tokens): the prompt and the new tokens.
    """
    was_training = model.training
    model.eval()
    ids = input_ids
    for _ in range(max_new_tokens):
        context = ids[:, -model.config.max_len :]  # the window the model can see
        logits = model(context)[:, -1]  # (B, V): the next token's scores
        if temperature == 0:
            next_id = logits.argmax(dim=-1, keepdim=True)  # (B, 1)
        else:
            logits = logits / temperature
            if top_k is not None:
                kth = logits.topk(min(top_k, logits.shape[-1]), dim=-1).values[:, -1:]  # (B, 1)
                logits = logits.masked_fill(logits < kth, float("-inf"))
            probs = logits.softmax(dim=-1)  # (B, V)
            next_id = torch.multinomial(probs, 1, generator=generator)  # (B, 1)
        ids = torch.cat([ids, next_id], dim=1)
    model.train(was_training)
    return ids


# --8<-- [end:generate]


# --8<-- [start:finetune]
def entailment_input(
    premise: list[int], hypothesis: list[int], start: int, delim: int, extract: int
) -> list[int]:
    """GPT-1 Fig. 1: ⟨s⟩ premise $ hypothesis ⟨e⟩, one sequence for the pre-trained model."""
    return [start, *premise, delim, *hypothesis, extract]


def similarity_inputs(
    a: list[int], b: list[int], start: int, delim: int, extract: int
) -> list[list[int]]:
    """GPT-1 §3.3: both orders, since "there is no inherent ordering"; their states are summed."""
    return [
        entailment_input(a, b, start, delim, extract),
        entailment_input(b, a, start, delim, extract),
    ]


def multiple_choice_inputs(
    context: list[int], answers: list[list[int]], start: int, delim: int, extract: int
) -> list[list[int]]:
    """GPT-1 §3.3: [z; q; $; a_k] for every answer k, each scored independently."""
    return [entailment_input(context, answer, start, delim, extract) for answer in answers]


class GPTClassifier(nn.Module):
    r"""GPT-1 Eq. (3): a linear layer $W_y$ on the final state $h_l^m$ at the extract token ⟨e⟩.

    Args:
        gpt: The pre-trained model; its vocabulary includes ⟨s⟩, $ and ⟨e⟩.
        n_classes: Number of labels; 1 for multiple choice (one score per answer).
        extract_id: Id of ⟨e⟩, whose state summarises the sequence.
        combine: "sum": the states of the n sequences of an example are added (n = 1 for
            classification and entailment, n = 2 orders for similarity). "choice": each
            sequence gets its own score, a softmax over the n answers (QA, Story Cloze).
    """

    def __init__(self, gpt: GPT, n_classes: int, extract_id: int, combine: str = "sum") -> None:
        super().__init__()
        self.gpt, self.extract_id, self.combine = gpt, extract_id, combine
        self.dropout = nn.Dropout(0.1)  # GPT-1 §4.1: dropout on the classifier, rate 0.1
        self.classifier = nn.Linear(gpt.config.d_model, n_classes)  # W_y
        _init_weights(self.classifier)

    def forward(self, input_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """LM logits (B, n, T, V) and class logits: (B, n_classes) for "sum", (B, n) for "choice".

        Args:
            input_ids: (B, n, T): n transformed sequences per example, each with one ⟨e⟩.
        """
        B, n, T = input_ids.shape
        h = self.gpt.features(input_ids.flatten(0, 1))  # (B·n, T, D)
        at = (input_ids.flatten(0, 1) == self.extract_id).int().argmax(dim=1)  # ⟨e⟩ position
        last = self.dropout(h[torch.arange(B * n), at]).view(B, n, -1)  # h_l^m, (B, n, D)
        lm_logits = self.gpt.lm_head(h).view(B, n, T, -1)  # for the auxiliary L_1
        if self.combine == "sum":
            return lm_logits, self.classifier(last.sum(dim=1))  # (B, n_classes)
        return lm_logits, self.classifier(last).squeeze(-1)  # (B, n): softmax over answers


def finetune_loss(
    lm_logits: torch.Tensor,
    class_logits: torch.Tensor,
    input_ids: torch.Tensor,
    labels: torch.Tensor,
    lam: float = 0.5,
) -> torch.Tensor:
    r"""GPT-1 Eq. (5) as a loss to minimise: $-(L_2 + \lambda L_1)$ per token/example, λ = 0.5.

    Args:
        lm_logits: (B, n, T, V) from `GPTClassifier`.
        class_logits: (B, C) or (B, n).
        input_ids: (B, n, T).
        labels: (B,) class (or answer) indices.
        lam: Weight λ of the auxiliary language-model loss.
    """
    lm = lm_loss(lm_logits.flatten(0, 1), input_ids.flatten(0, 1))  # auxiliary L_1 on the task text
    return F.cross_entropy(class_logits, labels) + lam * lm


# --8<-- [end:finetune]


# --8<-- [start:constructors]
def gpt(config: GPTConfig, **overrides: object) -> GPT:
    """A GPT for any configuration, with fields replaced by `overrides`."""
    return GPT(dataclasses.replace(config, **overrides))


def gpt1(**overrides: object) -> GPT:
    """GPT-1 (116,534,784 parameters)."""
    return gpt(GPTConfig.gpt1(), **overrides)


def gpt2_small(**overrides: object) -> GPT:
    """GPT-2 small, 12 × 768 (124,439,808 parameters; "117M" in Table 2)."""
    return gpt(GPTConfig.gpt2(768, 12), **overrides)


def gpt2_medium(**overrides: object) -> GPT:
    """GPT-2 medium, 24 × 1024 (354,823,168; "345M")."""
    return gpt(GPTConfig.gpt2(1024, 24), **overrides)


def gpt2_large(**overrides: object) -> GPT:
    """GPT-2 large, 36 × 1280 (774,030,080; "762M")."""
    return gpt(GPTConfig.gpt2(1280, 36), **overrides)


def gpt2_xl(**overrides: object) -> GPT:
    """GPT-2 XL, the "GPT-2" of the paper, 48 × 1600 (1,557,611,200; "1542M")."""
    return gpt(GPTConfig.gpt2(1600, 48), **overrides)


#: GPT-3 Table 2.1: name → (d_model, n_layers, n_heads); see Deviations for XL and 13B.
GPT3_SIZES = {
    "small": (768, 12, 12),
    "medium": (1024, 24, 16),
    "large": (1536, 24, 16),
    "xl": (2048, 24, 16),
    "2_7b": (2560, 32, 32),
    "6_7b": (4096, 32, 32),
    "13b": (5120, 40, 40),
    "175b": (12288, 96, 96),
}


def gpt3_small(**overrides: object) -> GPT:
    """GPT-3 Small, 12 × 768 ("125M")."""
    return gpt(GPTConfig.gpt3(*GPT3_SIZES["small"]), **overrides)


def gpt3_medium(**overrides: object) -> GPT:
    """GPT-3 Medium, 24 × 1024 ("350M")."""
    return gpt(GPTConfig.gpt3(*GPT3_SIZES["medium"]), **overrides)


def gpt3_large(**overrides: object) -> GPT:
    """GPT-3 Large, 24 × 1536, heads of 96 ("760M")."""
    return gpt(GPTConfig.gpt3(*GPT3_SIZES["large"]), **overrides)


def gpt3_xl(**overrides: object) -> GPT:
    """GPT-3 XL, 24 × 2048 ("1.3B")."""
    return gpt(GPTConfig.gpt3(*GPT3_SIZES["xl"]), **overrides)


def gpt3_2_7b(**overrides: object) -> GPT:
    """GPT-3 2.7B, 32 × 2560, heads of 80 ("2.7B")."""
    return gpt(GPTConfig.gpt3(*GPT3_SIZES["2_7b"]), **overrides)


def gpt3_6_7b(**overrides: object) -> GPT:
    """GPT-3 6.7B, 32 × 4096 ("6.7B")."""
    return gpt(GPTConfig.gpt3(*GPT3_SIZES["6_7b"]), **overrides)


def gpt3_13b(**overrides: object) -> GPT:
    """GPT-3 13B, 40 × 5120 ("13.0B")."""
    return gpt(GPTConfig.gpt3(*GPT3_SIZES["13b"]), **overrides)


def gpt3_175b(**overrides: object) -> GPT:
    """GPT-3 175B, 96 × 12288 ("175.0B"): build it on the meta device (700 GB in float32)."""
    return gpt(GPTConfig.gpt3(*GPT3_SIZES["175b"]), **overrides)


# --8<-- [end:constructors]


# ── loading Hugging Face transformers' weights ─────────────────────────────────────────
TRANSFORMERS_NAMES = [  # (theirs, ours) for the parts whose tensors keep their layout
    ("tokens_embed", "token_embeddings"),  # GPT-1
    ("positions_embed", "position_embeddings"),
    ("wte", "token_embeddings"),  # GPT-2
    ("wpe", "position_embeddings"),
    ("ln_f", "norm"),
    ("ln_1", "norm1"),
    ("ln_2", "norm2"),
]
CONV1D = {
    "attn.c_attn": "attention.qkv",
    "attn.c_proj": "attention.out_proj",
    "mlp.c_fc": "ffn.linear1",
    "mlp.c_proj": "ffn.linear2",
}


def load_transformers(model: GPT, state_dict: dict[str, torch.Tensor]) -> None:
    """Load the weights of transformers' GPT-1 or GPT-2 (random or released) into `GPT`.

    Accepted: `OpenAIGPTModel`, `OpenAIGPTLMHeadModel`, `GPT2Model`, `GPT2LMHeadModel`. Their
    layers are `Conv1D`s, computing x·W + b with W of shape (in, out): transposed here.
    `c_attn` stacks W^Q, W^K, W^V along its output axis; it is split into three layers.
    """
    ours: dict[str, torch.Tensor] = {}
    for key, value in state_dict.items():
        key = key.removeprefix("transformer.")
        if key.startswith("lm_head") or key.endswith((".attn.bias", ".attn.masked_bias")):
            continue  # the tied output layer, and the causal-mask buffers of older versions
        key = key.replace("h.", "blocks.", 1) if key.startswith("h.") else key
        for theirs, mine in TRANSFORMERS_NAMES:
            key = key.replace(theirs, mine)
        for theirs, mine in CONV1D.items():
            if theirs in key:
                key = key.replace(theirs, mine)
                value = value.T if key.endswith("weight") else value
        ours[key] = value
    ours["lm_head.weight"] = ours["token_embeddings.weight"]
    model.load_state_dict(ours)


__all__ = [
    "GPT",
    "GPT3_SIZES",
    "TRANSFORMERS_NAMES",
    "FeedForward",
    "GPTClassifier",
    "GPTConfig",
    "MultiHeadAttention",
    "TransformerBlock",
    "banded_causal_mask",
    "causal_mask",
    "entailment_input",
    "finetune_loss",
    "generate",
    "gpt",
    "gpt1",
    "gpt2_large",
    "gpt2_medium",
    "gpt2_small",
    "gpt2_xl",
    "gpt3_2_7b",
    "gpt3_6_7b",
    "gpt3_13b",
    "gpt3_175b",
    "gpt3_large",
    "gpt3_medium",
    "gpt3_small",
    "gpt3_xl",
    "layer_masks",
    "lm_loss",
    "load_transformers",
    "multiple_choice_inputs",
    "similarity_inputs",
]


if __name__ == "__main__":
    torch.manual_seed(0)
    model = GPT(GPTConfig.tiny())
    prompt = torch.randint(0, 100, (2, 5))
    print(model(prompt).shape)  # torch.Size([2, 5, 100])
    print(generate(model, prompt, 8, temperature=0).shape)  # torch.Size([2, 13])
