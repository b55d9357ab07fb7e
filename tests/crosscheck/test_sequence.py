"""Transformer, BERT, RNN and LSTM against torch.nn and Hugging Face transformers."""

from __future__ import annotations

import pytest
import torch
import transformers
from torch import nn

from reference_impl import attention, bert, rnn, transformer
from tests.crosscheck.common import Case, compare, n_params, perturb_constants


def randn(*shape: int, seed: int = 1) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


# ── multi-head attention vs nn.MultiheadAttention ───────────────────────────────────────


def test_multi_head_attention() -> None:
    theirs = nn.MultiheadAttention(512, 8, batch_first=True)
    perturb_constants(theirs)
    ours = attention.multi_head_attention()
    attention.load_nn_multihead_attention(ours, theirs.state_dict())
    x, memory = randn(2, 9, 512), randn(2, 13, 512, seed=2)
    keep = torch.ones(2, 13, dtype=torch.bool)
    keep[1, 10:] = False  # three padded keys in the second sequence

    def run_theirs(m: nn.MultiheadAttention) -> torch.Tensor:
        return m(x, memory, memory, key_padding_mask=~keep, need_weights=False)[0]

    case = Case(
        "attention",
        "多头注意力（D = 512，h = 8，交叉注意力含填充）",
        "multi_head_attention()",
        "torch",
        "nn.MultiheadAttention",
        "查询 2×9×512，键值 2×13×512",
    )
    compare(case, ours, theirs, lambda m: m(x, memory, attention.padding_mask(keep)), run_theirs)


# ── Transformer core vs nn.Transformer ──────────────────────────────────────────────────


def check_transformer(size: str, tamper=None) -> dict:
    ours = getattr(transformer, f"transformer_{size}")()
    c = ours.config
    theirs = nn.Transformer(
        c.d_model, c.n_heads, c.n_layers, c.n_layers, c.d_ff, c.dropout, batch_first=True
    )
    theirs.encoder.norm = nn.Identity()  # pre-LN leftovers: the paper's post-LN has no final LN
    theirs.decoder.norm = nn.Identity()
    perturb_constants(theirs)
    transformer.load_nn_transformer(ours, theirs.state_dict())
    src, tgt = randn(2, 11, c.d_model), randn(2, 7, c.d_model, seed=2)
    pad = torch.zeros(2, 11, dtype=torch.bool)
    pad[1, 8:] = True  # the second source ends in three padding tokens

    def run_ours(m: transformer.Transformer) -> torch.Tensor:
        src_mask = transformer.padding_mask(~pad)
        memory = m.encoder(src, src_mask)
        return m.decoder(tgt, memory, transformer.causal_mask(7), src_mask)

    def run_theirs(m: nn.Transformer) -> torch.Tensor:
        causal = nn.Transformer.generate_square_subsequent_mask(7)
        return m(
            src,
            tgt,
            tgt_mask=causal,
            src_key_padding_mask=pad,
            memory_key_padding_mask=pad,
            tgt_is_causal=True,
        )

    label = {"base": "Transformer (base) 编码器–解码器", "big": "Transformer (big) 编码器–解码器"}
    case = Case(
        "transformer",
        label[size],
        f"transformer_{size}() 的 encoder + decoder",
        "torch",
        "nn.Transformer（去掉两个末尾 LayerNorm）",
        "源 2×11×D（含填充）、目标 2×7×D",
    )
    core = n_params(ours.encoder) + n_params(ours.decoder)
    return compare(case, ours, theirs, run_ours, run_theirs, params_ours=core, tamper=tamper)


@pytest.mark.parametrize("size", ["base", "big"])
def test_transformer(size: str) -> None:
    check_transformer(size)


# ── BERT vs transformers ────────────────────────────────────────────────────────────────


def bert_inputs(vocab: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(3)
    ids = torch.randint(1000, vocab, (2, 16), generator=g)
    ids[:, 0], ids[:, 8], ids[0, 15] = 101, 102, 102
    segments = (torch.arange(16) > 8).long().expand(2, -1).contiguous()
    mask = torch.ones(2, 16, dtype=torch.long)  # transformers' 0/1 integer mask
    mask[1, 12:] = 0
    ids[1, 12:] = 0
    return ids, segments, mask


def check_bert(size: str, pretraining: bool, attn: str = "eager") -> dict:
    c = getattr(bert.BertConfig, size)()
    hf_config = transformers.BertConfig(
        vocab_size=c.vocab_size,
        hidden_size=c.d_model,
        num_hidden_layers=c.n_layers,
        num_attention_heads=c.n_heads,
        intermediate_size=c.d_ff,
        max_position_embeddings=c.max_len,
        attn_implementation=attn,
    )
    cls = transformers.BertForPreTraining if pretraining else transformers.BertModel
    theirs = cls(hf_config)
    perturb_constants(theirs)
    ours = bert.BertForPreTraining(c) if pretraining else bert.BERT(c)
    bert.load_transformers(ours, theirs.state_dict())
    ids, segments, mask = bert_inputs(c.vocab_size)

    def run_theirs(m: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
        out = m(input_ids=ids, token_type_ids=segments, attention_mask=mask)
        if pretraining:
            return out.prediction_logits, out.seq_relationship_logits
        return out.last_hidden_state, out.pooler_output

    name = f"bert_{size}" + ("_pretraining" if pretraining else "")
    label = f"BERT-{size}" + (" + MLM/NSP 头" if pretraining else "")
    ref = "BertForPreTraining" if pretraining else "BertModel"
    case = Case("bert", label, f"{name}()", "transformers", ref, "2×16 词元（含填充，0/1 掩码）")
    return compare(case, ours, theirs, lambda m: m(ids, segments, mask), run_theirs)


BERTS = [("base", False), ("large", False), ("base", True), ("large", True)]


@pytest.mark.parametrize(
    ("size", "pretraining"), BERTS, ids=["base", "large", "base_pretraining", "large_pretraining"]
)
def test_bert(size: str, pretraining: bool) -> None:
    check_bert(size, pretraining)


# ── RNN / LSTM vs torch.nn ──────────────────────────────────────────────────────────────

RECURRENT = [("RNN", "tanh"), ("RNN", "relu"), ("LSTM", None)]


@pytest.mark.parametrize(("kind", "nonlinearity"), RECURRENT, ids=["rnn_tanh", "rnn_relu", "lstm"])
def test_recurrent(kind: str, nonlinearity: str | None) -> None:
    check_recurrent(kind, nonlinearity)


def check_recurrent(kind: str, nonlinearity: str | None, tamper=None) -> dict:
    extra = {"nonlinearity": nonlinearity} if nonlinearity else {}
    shape = {"input_size": 10, "hidden_size": 20, "num_layers": 2, "bidirectional": True}
    theirs = getattr(nn, kind)(**shape, batch_first=True, **extra)
    perturb_constants(theirs)
    ours = getattr(rnn, kind)(**shape, **extra)
    ours.load_state_dict(theirs.state_dict())  # the names are torch.nn's
    x = randn(3, 9, 10)
    h0 = randn(4, 3, 20, seed=2)
    if kind == "LSTM":
        state = (h0, randn(4, 3, 20, seed=3))

        def run(m: nn.Module) -> tuple[torch.Tensor, ...]:
            out, (h, c) = m(x, state)
            return out, h, c
    else:

        def run(m: nn.Module) -> tuple[torch.Tensor, ...]:
            return m(x, h0)

    label = f"{kind}（{nonlinearity}）" if nonlinearity else kind
    args = ", ".join(f"{k}={v!r}" for k, v in (shape | extra).items())
    case = Case(
        "rnn", f"{label}，2 层双向", f"{kind}({args})", "torch", f"nn.{kind}", "3×9×10，含初始状态"
    )
    return compare(case, ours, theirs, run, run, tamper=tamper)
