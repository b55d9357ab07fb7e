"""Tests of reference_impl/gpt.py: counts, tied weights, causality, masks, attention, generate()."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from reference_impl import gpt as G
from reference_impl.gpt import (
    GPT,
    GPTClassifier,
    GPTConfig,
    MultiHeadAttention,
    TransformerBlock,
    banded_causal_mask,
    causal_mask,
    entailment_input,
    finetune_loss,
    generate,
    layer_masks,
    lm_loss,
    load_transformers,
    multiple_choice_inputs,
    similarity_inputs,
)

ROOT = Path(__file__).resolve().parents[1]


def formula(cfg: GPTConfig) -> int:
    """V·D + P·D embeddings, L · (12D² + 13D) blocks, 2D for the final LayerNorm (pre-LN only)."""
    D = cfg.d_model
    assert cfg.d_ff == 4 * D
    block = 12 * D * D + 13 * D  # q, k, v, out: 4(D² + D); FFN: 8D² + 5D; two LayerNorms: 4D
    return (
        (cfg.vocab_size + cfg.max_len) * D + cfg.n_layers * block + (2 * D if cfg.pre_norm else 0)
    )


COUNTS = {
    "gpt1": 116_534_784,
    "gpt2_small": 124_439_808,
    "gpt2_medium": 354_823_168,
    "gpt2_large": 774_030_080,
    "gpt2_xl": 1_557_611_200,
    "gpt3_small": 125_226_240,
    "gpt3_medium": 355_871_744,
    "gpt3_large": 760_300_032,
    "gpt3_xl": 1_315_723_264,
    "gpt3_2_7b": 2_651_553_280,
    "gpt3_6_7b": 6_658_404_352,
    "gpt3_13b": 12_853_386_240,
    "gpt3_175b": 174_604_259_328,
}


@pytest.mark.parametrize(("name", "count"), COUNTS.items(), ids=list(COUNTS))
def test_parameter_counts_on_meta(name: str, count: int) -> None:
    """Exact counts, built on the meta device (175B would need 700 GB), the output layer once."""
    with torch.device("meta"):
        model = getattr(G, name)()
    assert all(p.is_meta for p in model.parameters())
    assert sum(p.numel() for p in model.parameters()) == count == formula(model.config)


def test_gpt1_and_gpt2_differ_as_the_papers_say() -> None:
    """GPT-1: post-LN, 512 positions, 40,478 tokens; GPT-2 small: same shape, pre-LN + final LN."""
    one, two = GPTConfig.gpt1(), GPTConfig.gpt2(768, 12)
    assert (one.d_model, one.n_layers, one.n_heads, one.d_ff) == (768, 12, 12, 3072)  # §4.1
    assert (one.pre_norm, one.max_len, one.vocab_size) == (False, 512, 40478)
    assert (two.pre_norm, two.max_len, two.vocab_size) == (True, 1024, 50257)  # GPT-2 §2.3
    extra_tokens, extra_positions, final_norm = (50257 - 40478) * 768, 512 * 768, 2 * 768
    assert COUNTS["gpt2_small"] - COUNTS["gpt1"] == extra_tokens + extra_positions + final_norm
    # GPT-2 Table 2 calls the small model "117M": GPT-1's count, not GPT-2 small's
    assert round(COUNTS["gpt1"], -6) == 117_000_000 != round(COUNTS["gpt2_small"], -6)


def test_gpt2_table_2_counts_use_gpt1_vocabulary() -> None:
    """Table 2's 117M/345M/762M/1542M are our counts with 40,478 tokens instead of 50,257.

    The gpt-2 README says the paper's counts were wrong "due to an error" and renames the released
    models 124M/355M/774M/1558M; our counts round to those names, and minus 9,779 · d_model (the
    GPT-1 vocabulary) to the paper's.
    """
    table_2 = {"gpt2_small": 117, "gpt2_medium": 345, "gpt2_large": 762, "gpt2_xl": 1542}
    released = {"gpt2_small": 124, "gpt2_medium": 355, "gpt2_large": 774, "gpt2_xl": 1558}
    for name, paper in table_2.items():
        d_model = {"gpt2_small": 768, "gpt2_medium": 1024, "gpt2_large": 1280, "gpt2_xl": 1600}[
            name
        ]
        assert round(COUNTS[name] / 1e6) == released[name]
        assert round((COUNTS[name] - (50257 - 40478) * d_model) / 1e6) == paper
        assert round(COUNTS[name] / 1e6) != paper


#: GPT-3 Table 2.1: (n_params as printed, n_layers, d_model, n_heads, d_head).
TABLE_2_1 = {
    "gpt3_small": ("125M", 12, 768, 12, 64),
    "gpt3_medium": ("350M", 24, 1024, 16, 64),
    "gpt3_large": ("760M", 24, 1536, 16, 96),
    "gpt3_xl": ("1.3B", 24, 2048, 24, 128),
    "gpt3_2_7b": ("2.7B", 32, 2560, 32, 80),
    "gpt3_6_7b": ("6.7B", 32, 4096, 32, 128),
    "gpt3_13b": ("13.0B", 40, 5140, 40, 128),
    "gpt3_175b": ("175.0B", 96, 12288, 96, 128),
}


def test_gpt3_sizes_follow_table_2_1() -> None:
    """Layers and widths as printed, except the two rows that contradict themselves."""
    for name, (_, layers, width, heads, d_head) in TABLE_2_1.items():
        cfg = GPTConfig.gpt3(*G.GPT3_SIZES[name.removeprefix("gpt3_")])
        assert (cfg.n_layers, cfg.max_len, cfg.vocab_size) == (layers, 2048, 50257)
        assert cfg.d_ff == 4 * cfg.d_model  # §2.1: "d_ff = 4 · d_model"
        if name == "gpt3_xl":  # 24 × 128 = 3072 ≠ 2048: we keep d_head = 128 with 16 heads
            assert heads * d_head != width and (cfg.d_model, cfg.d_model // cfg.n_heads) == (
                width,
                d_head,
            )
        elif name == "gpt3_13b":  # 40 × 128 = 5120 ≠ 5140: we keep the heads
            assert heads * d_head == cfg.d_model == 5120 != width
        else:
            assert (cfg.d_model, cfg.n_heads, cfg.d_model // cfg.n_heads) == (width, heads, d_head)


def _rounded(value: float, printed: str) -> bool:
    """Whether `value` written to the precision of `printed` ("1.3B", "350M") equals it."""
    unit = {"M": 1e6, "B": 1e9}[printed[-1]]
    digits = len(printed[:-1].split(".")[1]) if "." in printed else 0
    return round(value / unit, digits) == float(printed[:-1])


def test_gpt3_counts_against_the_printed_figures() -> None:
    """Row by row of Table 2.1 (the page explains each gap)."""
    agree = {name for name, (printed, *_) in TABLE_2_1.items() if _rounded(COUNTS[name], printed)}
    assert agree == {"gpt3_small", "gpt3_large", "gpt3_xl", "gpt3_2_7b", "gpt3_6_7b"}
    # Medium: 355.9M is 360M to two figures; the table's 350M is 1.7 % low
    assert round(COUNTS["gpt3_medium"], -7) == 360_000_000
    assert (COUNTS["gpt3_medium"] - 350e6) / 350e6 == pytest.approx(0.0168, abs=1e-4)
    # 13B: 12.85B with width 5,120; the printed width 5,140 would give 12.95B → "13.0B"
    wide = formula(GPTConfig.gpt3(5140, 40, 40))  # a config only: 5,140 / 40 heads is no integer
    assert round(COUNTS["gpt3_13b"] / 1e9, 1) == 12.9 and round(wide / 1e9, 1) == 13.0
    # XL with an attention width of 24 × 128 = 3,072 would be 1.52B, not the printed 1.3B
    D, A, L = 2048, 3072, 24
    wide_attention = COUNTS["gpt3_xl"] + L * (4 * D * (A - D) + 3 * (A - D))
    assert round(wide_attention / 1e9, 1) == 1.5
    # 175B: 174.6B; three figures give 175B, the printed ".0" does not follow from our count
    assert round(COUNTS["gpt3_175b"] / 1e9) == 175 and round(COUNTS["gpt3_175b"] / 1e9, 1) == 174.6


@pytest.fixture(scope="module")
def tiny() -> GPT:
    torch.manual_seed(0)
    return GPT(GPTConfig.tiny()).eval()


def test_output_layer_is_the_token_embedding_matrix(tiny) -> None:
    """GPT-1 Eq. (2), P(u) = softmax(h_n W_eᵀ): one tensor, counted once."""
    assert tiny.lm_head.weight is tiny.token_embeddings.weight
    names = [name for name, _ in tiny.named_parameters()]
    assert "lm_head.weight" not in names and "token_embeddings.weight" in names
    ids = torch.randint(0, 100, (1, 6))
    h = tiny.features(ids)
    torch.testing.assert_close(tiny(ids), h @ tiny.token_embeddings.weight.T)


@pytest.mark.parametrize("pre_norm", [True, False], ids=["pre-LN (GPT-2/3)", "post-LN (GPT-1)"])
@pytest.mark.parametrize("window", [None, 3], ids=["dense", "alternating banded"])
@torch.no_grad()
def test_changing_a_future_token_never_changes_earlier_logits(pre_norm, window) -> None:
    torch.manual_seed(1)
    model = GPT(
        GPTConfig(
            **{
                **GPTConfig.tiny().__dict__,
                "pre_norm": pre_norm,
                "local_window": window,
                "n_layers": 3,
            }
        )
    ).eval()
    ids = torch.randint(0, 100, (2, 12), generator=torch.Generator().manual_seed(2))
    base = model(ids)
    for t in range(12):
        changed = ids.clone()
        changed[:, t] = (changed[:, t] + 1) % 100
        out = model(changed)
        torch.testing.assert_close(out[:, :t], base[:, :t], rtol=0, atol=1e-6)
        assert not torch.allclose(out[:, t], base[:, t])  # the token itself matters


def test_masks_are_causal_and_banded() -> None:
    assert torch.equal(
        causal_mask(4),
        torch.tensor([[1, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 0], [1, 1, 1, 1]]).bool(),
    )
    band = banded_causal_mask(6, 3)
    expected = torch.tensor(
        [
            [1, 0, 0, 0, 0, 0],
            [1, 1, 0, 0, 0, 0],
            [1, 1, 1, 0, 0, 0],
            [0, 1, 1, 1, 0, 0],
            [0, 0, 1, 1, 1, 0],
            [0, 0, 0, 1, 1, 1],
        ]
    ).bool()
    assert torch.equal(band, expected)
    assert band.sum(1).tolist() == [1, 2, 3, 3, 3, 3]  # each query sees ≤ window keys
    cfg = GPTConfig(**{**GPTConfig.tiny().__dict__, "n_layers": 4, "local_window": 3})
    masks = layer_masks(cfg, 6)
    assert [torch.equal(m, causal_mask(6)) for m in masks] == [True, False, True, False]
    assert all(torch.equal(m, band) for m in masks[1::2])
    assert all(torch.equal(m, causal_mask(6)) for m in layer_masks(GPTConfig.tiny(), 6))


@torch.no_grad()
def test_a_banded_layer_ignores_keys_older_than_the_window() -> None:
    torch.manual_seed(0)
    attn = MultiHeadAttention(32, 4).eval()
    x = torch.randn(1, 10, 32)
    changed = x.clone()
    changed[:, 0] += 1.0  # an old key/value
    band = banded_causal_mask(10, 4)
    a, b = attn(x, band), attn(changed, band)
    torch.testing.assert_close(a[:, 4:], b[:, 4:], rtol=0, atol=0)  # positions ≥ 4 never see 0
    assert not torch.allclose(a[:, 3], b[:, 3])  # position 3 still does
    dense_a, dense_b = attn(x, causal_mask(10)), attn(changed, causal_mask(10))
    assert not torch.allclose(dense_a[:, 9], dense_b[:, 9])  # a dense layer sees it everywhere


def _qkv(attn: MultiHeadAttention, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
    B, T, D = x.shape
    h = attn.n_heads
    return tuple(
        part.view(B, T, h, D // h).transpose(1, 2) for part in attn.qkv(x).split(D, dim=-1)
    )


@torch.no_grad()
def test_attention_equals_torch_scaled_dot_product_attention() -> None:
    torch.manual_seed(0)
    attn = MultiHeadAttention(32, 4).eval()
    x = torch.randn(2, 9, 32)
    q, k, v = _qkv(attn, x)
    for mask, kwargs in (
        (causal_mask(9), {"is_causal": True}),
        (banded_causal_mask(9, 3), {"attn_mask": banded_causal_mask(9, 3)}),
    ):
        heads = F.scaled_dot_product_attention(q, k, v, **kwargs)  # (B, h, T, d)
        expected = attn.out_proj(heads.transpose(1, 2).reshape(2, 9, 32))
        torch.testing.assert_close(attn(x, mask), expected, atol=1e-6, rtol=1e-5)


@torch.no_grad()
def test_attention_equals_nn_multihead_attention_with_a_causal_mask() -> None:
    torch.manual_seed(0)
    ref = nn.MultiheadAttention(32, 4, batch_first=True).eval()
    ref.in_proj_bias.normal_()
    ours = MultiHeadAttention(32, 4).eval()
    ours.qkv.weight.copy_(ref.in_proj_weight)  # both stack W^Q, W^K, W^V
    ours.qkv.bias.copy_(ref.in_proj_bias)
    ours.out_proj.load_state_dict(ref.out_proj.state_dict())
    x = torch.randn(2, 7, 32)
    blocked = ~causal_mask(7)
    expected, _ = ref(x, x, x, attn_mask=blocked, need_weights=False, is_causal=True)
    torch.testing.assert_close(ours(x, causal_mask(7)), expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("pre_norm", [True, False], ids=["pre-LN", "post-LN"])
@torch.no_grad()
def test_block_equals_torch_transformer_encoder_layer_with_a_causal_mask(pre_norm) -> None:
    """A decoder-only block is an encoder layer with a causal mask (norm_first = pre-LN)."""
    cfg = GPTConfig(**{**GPTConfig.tiny().__dict__, "pre_norm": pre_norm})
    ref = nn.TransformerEncoderLayer(
        cfg.d_model,
        cfg.n_heads,
        cfg.d_ff,
        dropout=0.0,
        activation=lambda t: F.gelu(t, approximate="tanh"),
        layer_norm_eps=cfg.layer_norm_eps,
        batch_first=True,
        norm_first=pre_norm,
    ).eval()
    torch.manual_seed(0)
    for p in ref.parameters():
        p.normal_(0, 0.2)
    ours = TransformerBlock(cfg).eval()
    ours.attention.qkv.weight.copy_(ref.self_attn.in_proj_weight)
    ours.attention.qkv.bias.copy_(ref.self_attn.in_proj_bias)
    ours.attention.out_proj.load_state_dict(ref.self_attn.out_proj.state_dict())
    ours.ffn.linear1.load_state_dict(ref.linear1.state_dict())
    ours.ffn.linear2.load_state_dict(ref.linear2.state_dict())
    ours.norm1.load_state_dict(ref.norm1.state_dict())
    ours.norm2.load_state_dict(ref.norm2.state_dict())
    x = torch.randn(2, 7, cfg.d_model)
    expected = ref(x, src_mask=~causal_mask(7), is_causal=True)
    torch.testing.assert_close(ours(x, causal_mask(7)), expected, atol=1e-5, rtol=1e-5)


def test_final_layernorm_only_with_pre_norm() -> None:
    assert isinstance(GPT(GPTConfig.tiny()).norm, nn.LayerNorm)  # GPT-2 §2.3
    assert isinstance(
        GPT(GPTConfig(**{**GPTConfig.tiny().__dict__, "pre_norm": False})).norm, nn.Identity
    )


def test_residual_layers_start_scaled_by_one_over_sqrt_n() -> None:
    """GPT-2 §2.3: std 0.02/√N (N = 2L residual layers) for W^O and the FFN output; GPT-1: 0.02."""
    base = {**GPTConfig.tiny().__dict__, "d_model": 128, "d_ff": 512, "n_layers": 8}
    torch.manual_seed(0)
    two = GPT(GPTConfig(**base))
    one = GPT(GPTConfig(**{**base, "scale_residual_init": False, "pre_norm": False}))

    def std(model: GPT, pick) -> float:
        return torch.cat([pick(b).weight.flatten() for b in model.blocks]).std().item()

    scaled = 0.02 / math.sqrt(2 * 8)
    for pick in (lambda b: b.attention.out_proj, lambda b: b.ffn.linear2):
        assert std(two, pick) == pytest.approx(scaled, rel=0.02)
        assert std(one, pick) == pytest.approx(0.02, rel=0.02)
    assert std(two, lambda b: b.attention.qkv) == pytest.approx(0.02, rel=0.02)


def test_lm_loss_is_the_mean_negative_log_likelihood_of_eq_1(tiny) -> None:
    ids = torch.randint(0, 100, (2, 8), generator=torch.Generator().manual_seed(3))
    logits = tiny(ids).detach().requires_grad_()
    loss = lm_loss(logits, ids)
    log_p = logits.log_softmax(-1)
    manual = -torch.stack([log_p[b, t, ids[b, t + 1]] for b in range(2) for t in range(7)]).mean()
    torch.testing.assert_close(loss, manual)
    loss.backward()
    assert (logits.grad[:, -1] == 0).all()  # the last position has no next token to predict


def test_context_window_is_enforced(tiny) -> None:
    with pytest.raises(ValueError, match="context window"):
        tiny(torch.zeros(1, 65, dtype=torch.long))


# ── generate() ─────────────────────────────────────────────────────────────────────────


@torch.no_grad()
def test_greedy_equals_argmax_unrolled(tiny) -> None:
    prompt = torch.randint(0, 100, (3, 4), generator=torch.Generator().manual_seed(4))
    ids = prompt
    for _ in range(10):
        ids = torch.cat([ids, tiny(ids)[:, -1].argmax(-1, keepdim=True)], dim=1)
    assert torch.equal(generate(tiny, prompt, 10, temperature=0), ids)


@torch.no_grad()
def test_low_temperature_behaves_like_greedy(tiny) -> None:
    prompt = torch.randint(0, 100, (3, 4), generator=torch.Generator().manual_seed(5))
    greedy = generate(tiny, prompt, 12, temperature=0)
    cold = generate(tiny, prompt, 12, temperature=1e-4, generator=torch.Generator().manual_seed(0))
    assert torch.equal(cold, greedy)
    hot = generate(tiny, prompt, 12, temperature=2.0, generator=torch.Generator().manual_seed(0))
    assert not torch.equal(hot, greedy)


@torch.no_grad()
def test_top_k_never_samples_outside_the_top_k(tiny) -> None:
    prompt = torch.randint(0, 100, (64, 3), generator=torch.Generator().manual_seed(6))
    k = 5
    out = generate(
        tiny, prompt, 6, temperature=1.5, top_k=k, generator=torch.Generator().manual_seed(1)
    )
    for t in range(3, out.shape[1]):
        allowed = tiny(out[:, :t])[:, -1].topk(k).indices  # (64, k)
        assert (allowed == out[:, t : t + 1]).any(dim=1).all()
    assert len(set(out[:, 3].tolist())) > 1  # it samples, not always the argmax
    top1 = generate(
        tiny, prompt, 6, temperature=3.0, top_k=1, generator=torch.Generator().manual_seed(2)
    )
    assert torch.equal(top1, generate(tiny, prompt, 6, temperature=0))  # k = 1 is greedy


@torch.no_grad()
def test_sampling_is_deterministic_for_a_seed(tiny) -> None:
    prompt = torch.randint(0, 100, (2, 3), generator=torch.Generator().manual_seed(7))

    def run(seed: int) -> torch.Tensor:
        return generate(tiny, prompt, 15, generator=torch.Generator().manual_seed(seed))

    assert torch.equal(run(0), run(0))
    assert not torch.equal(run(0), run(1))


def test_generate_crops_to_the_window_and_restores_the_mode() -> None:
    torch.manual_seed(0)
    model = GPT(GPTConfig(**{**GPTConfig.tiny().__dict__, "max_len": 8}))  # training mode
    out = generate(model, torch.zeros(1, 6, dtype=torch.long), 10, temperature=0)
    assert out.shape == (1, 16) and model.training


# ── fine-tuning (GPT-1 §3.2–3.3) ───────────────────────────────────────────────────────
START, DELIM, EXTRACT = 97, 98, 99


def test_input_transformations_of_figure_1() -> None:
    assert entailment_input([1, 2], [3], START, DELIM, EXTRACT) == [97, 1, 2, 98, 3, 99]
    assert similarity_inputs([1], [2, 3], START, DELIM, EXTRACT) == [
        [97, 1, 98, 2, 3, 99],
        [97, 2, 3, 98, 1, 99],
    ]
    assert multiple_choice_inputs([5, 6], [[7], [8]], START, DELIM, EXTRACT) == [
        [97, 5, 6, 98, 7, 99],
        [97, 5, 6, 98, 8, 99],
    ]


@torch.no_grad()
def test_similarity_does_not_depend_on_the_order_of_the_two_sentences(tiny) -> None:
    clf = GPTClassifier(tiny, 2, EXTRACT).eval()
    a, b = [5, 6, 7], [8, 9, 10]
    ab = torch.tensor([similarity_inputs(a, b, START, DELIM, EXTRACT)])  # (1, 2, T)
    ba = torch.tensor([similarity_inputs(b, a, START, DELIM, EXTRACT)])
    torch.testing.assert_close(clf(ab)[1], clf(ba)[1])
    one_order = clf(ab[:, :1])[1]
    assert not torch.allclose(one_order, clf(ba[:, :1])[1])  # one order alone is not symmetric


def test_finetune_loss_is_l2_plus_half_l1(tiny) -> None:
    clf = GPTClassifier(tiny, 1, EXTRACT, combine="choice").eval()
    ids = torch.tensor([multiple_choice_inputs([5, 6], [[7], [8], [9]], START, DELIM, EXTRACT)])
    lm_logits, scores = clf(ids)
    assert scores.shape == (1, 3) and lm_logits.shape == (1, 3, 6, 100)
    label = torch.tensor([2])
    loss = finetune_loss(lm_logits, scores, ids, label)
    expected = F.cross_entropy(scores, label) + 0.5 * lm_loss(lm_logits[0], ids[0])
    torch.testing.assert_close(loss, expected)


# ── loading transformers' layout ───────────────────────────────────────────────────────


def to_transformers_layout(model: GPT, gpt2: bool) -> dict[str, torch.Tensor]:
    """Our weights under transformers' names, Conv1D weights transposed."""
    out = {}
    emb = ("wte", "wpe") if gpt2 else ("tokens_embed", "positions_embed")
    prefix = "transformer." if gpt2 else ""
    out[f"{prefix}{emb[0]}.weight"] = model.token_embeddings.weight
    out[f"{prefix}{emb[1]}.weight"] = model.position_embeddings.weight
    for i, b in enumerate(model.blocks):
        p = f"{prefix}h.{i}."
        a = b.attention
        out[p + "attn.c_attn.weight"] = a.qkv.weight.T  # Conv1D: (in, out)
        out[p + "attn.c_attn.bias"] = a.qkv.bias
        out[p + "attn.c_proj.weight"] = a.out_proj.weight.T
        out[p + "attn.c_proj.bias"] = a.out_proj.bias
        out[p + "mlp.c_fc.weight"] = b.ffn.linear1.weight.T
        out[p + "mlp.c_fc.bias"] = b.ffn.linear1.bias
        out[p + "mlp.c_proj.weight"] = b.ffn.linear2.weight.T
        out[p + "mlp.c_proj.bias"] = b.ffn.linear2.bias
        for ours, theirs in ((b.norm1, "ln_1"), (b.norm2, "ln_2")):
            out[p + f"{theirs}.weight"], out[p + f"{theirs}.bias"] = ours.weight, ours.bias
    if gpt2:
        out["transformer.ln_f.weight"], out["transformer.ln_f.bias"] = (
            model.norm.weight,
            model.norm.bias,
        )
        out["lm_head.weight"] = model.token_embeddings.weight
    return {k: v.detach().clone() for k, v in out.items()}


@pytest.mark.parametrize("pre_norm", [True, False], ids=["GPT-2 layout", "GPT-1 layout"])
@torch.no_grad()
def test_load_transformers_round_trip(pre_norm) -> None:
    cfg = GPTConfig(**{**GPTConfig.tiny().__dict__, "pre_norm": pre_norm})
    torch.manual_seed(0)
    source = GPT(cfg).eval()
    for p in source.parameters():
        p.normal_(0, 0.1)  # LayerNorm weights and biases too
    target = GPT(cfg).eval()
    load_transformers(target, to_transformers_layout(source, gpt2=pre_norm))
    ids = torch.randint(0, 100, (2, 9))
    torch.testing.assert_close(target(ids), source(ids), rtol=0, atol=0)
    assert target.lm_head.weight is target.token_embeddings.weight  # still tied


# ── the generator and the big configurations ───────────────────────────────────────────


def test_the_generator_never_allocates_the_big_models() -> None:
    """Every GPT of the catalog is built on meta; GPT-3 175B, built, traced and counted by the
    generator's own code in a fresh process, keeps that process under 1 GB (700 GB if real).
    """
    import subprocess
    import sys

    from tools.generator import catalog

    models = catalog.load().models_of("gpt")
    assert len(models) == 13 and all(m.device == "meta" for m in models)
    child = """
import resource
from tools.generator import catalog, tables
from tools.generator.trace import trace
model = catalog.load().model("gpt3-175b")
net = model.build()
assert all(p.is_meta for p in net.parameters())
inputs = model.example_inputs()
trace(net, inputs)
stats = tables.measure(net, inputs)
print(stats.params, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
    out = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.split()
    params, peak_kib = int(out[-2]), int(out[-1])
    assert params == COUNTS["gpt3_175b"]
    assert peak_kib < 1024 * 1024, f"peak {peak_kib / 1024:.0f} MiB"
