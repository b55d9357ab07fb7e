"""Tests of reference_impl/llama.py: counts, KV cache, RMSNorm, SwiGLU, GQA, RoPE, masks."""

from __future__ import annotations

import dataclasses
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from reference_impl.llama import (
    TRANSFORMERS_NAMES,
    Attention,
    FeedForward,
    KVCache,
    Llama,
    LlamaConfig,
    RMSNorm,
    RopeScaling,
    RotaryEmbedding,
    attention_mask,
    document_ids,
    generate,
    kv_cache_bytes,
    llama3_8b,
    llama3_70b,
    llama3_405b,
    load_transformers,
    rope_frequencies,
    weight_bytes,
)


def count(cfg: LlamaConfig) -> int:
    """Every matrix and gain, by hand: no biases, untied output layer."""
    D, kv = cfg.d_model, cfg.n_kv_heads * cfg.d_head
    attention = D * D + 2 * D * kv + D * D  # W_Q, W_K, W_V (8 heads each), W_O
    ffn = 3 * D * cfg.d_ff  # gate, up, down
    block = attention + ffn + 2 * D  # + two RMSNorm gains
    return cfg.vocab_size * D + cfg.n_layers * block + D + D * cfg.vocab_size


SIZES = [
    (llama3_8b, LlamaConfig.llama3_8b(), 8_030_261_248, 8),
    (llama3_70b, LlamaConfig.llama3_70b(), 70_553_706_496, 70),
    (llama3_405b, LlamaConfig.llama3_405b(), 405_853_388_800, 405),
]


@pytest.mark.parametrize(("build", "config", "exact", "name"), SIZES, ids=["8b", "70b", "405b"])
def test_parameter_counts_on_meta(build, config, exact, name) -> None:
    """8,030,261,248 / 70,553,706,496 / 405,853,388,800: the names are the whole billions."""
    with torch.device("meta"):
        model = build()
    assert sum(p.numel() for p in model.parameters()) == exact == count(config)
    assert all(p.device.type == "meta" for p in model.parameters())
    assert exact // 10**9 == name  # 8B, 70B, 405B: cut to whole billions …
    if name != 8:
        assert round(exact / 1e9) == name + 1  # … not rounded (70.55 → 71, 405.85 → 406)


def test_table_3_and_the_released_vocabulary() -> None:
    """Table 3's dimensions; 128,256 = 128,000 BPE tokens + 256 special tokens."""
    rows = [(c.n_layers, c.d_model, c.d_ff, c.n_heads, c.n_kv_heads) for _, c, _, _ in SIZES]
    assert rows == [(32, 4096, 14336, 32, 8), (80, 8192, 28672, 64, 8), (126, 16384, 53248, 128, 8)]
    assert all(c.d_head == 128 and c.rope_theta == 500_000 for _, c, _, _ in SIZES)
    cfg = LlamaConfig.llama3_8b()
    assert cfg.vocab_size == 128_000 + 256
    with_128k = dataclasses.replace(cfg, vocab_size=128_000)
    assert count(with_128k) == 8_028_164_096  # 2 × 256 × 4,096 fewer
    assert cfg.vocab_size * cfg.d_model == 525_336_576  # embedding = output layer, not shared


def test_forward_on_meta_gives_logits_for_every_token() -> None:
    with torch.device("meta"):
        model = llama3_8b()
        logits = model(torch.empty(1, 16, dtype=torch.long))
    assert logits.shape == (1, 16, 128256) and logits.device.type == "meta"


@pytest.fixture(scope="module")
def tiny() -> Llama:
    torch.manual_seed(0)
    return Llama(LlamaConfig.tiny()).eval()


def _ids(n: int = 12, batch: int = 2, seed: int = 0) -> torch.Tensor:
    return torch.randint(3, 96, (batch, n), generator=torch.Generator().manual_seed(seed))


@torch.no_grad()
def test_cached_decoding_equals_full_recomputation_token_by_token(tiny) -> None:
    """Each step with the KV cache gives the logits of a full forward over the whole prefix."""
    prompt = _ids(5)
    cache = KVCache(tiny.config.n_layers)
    tokens = prompt
    logits = tiny(prompt, 0, cache)[:, -1]
    for _ in range(10):
        full = tiny(tokens)[:, -1]  # recompute everything
        torch.testing.assert_close(logits, full, atol=1e-5, rtol=1e-5)
        nxt = logits.argmax(-1, keepdim=True)
        tokens = torch.cat([tokens, nxt], dim=1)
        assert len(cache) == tokens.shape[1] - 1
        logits = tiny(nxt, tokens.shape[1] - 1, cache)[:, -1]
    k, v = cache.layers[0]
    assert k.shape == v.shape == (2, tiny.config.n_kv_heads, 15, tiny.config.d_head)
    # generate() gives the same tokens with and without the cache, greedy and sampled
    assert torch.equal(generate(tiny, prompt, 10), generate(tiny, prompt, 10, use_cache=False))
    assert torch.equal(generate(tiny, prompt, 10)[:, : tokens.shape[1]], tokens)
    sampled = [
        generate(tiny, prompt, 10, 1.0, 0.9, c, torch.Generator().manual_seed(1))
        for c in (True, False)  # temperature 1, top-p 0.9, with and without the cache
    ]
    assert torch.equal(*sampled)


@torch.no_grad()
def test_top_p_keeps_the_smallest_nucleus(tiny) -> None:
    """A tiny top_p keeps only the most likely token: sampling becomes greedy decoding."""
    prompt = _ids(4)
    g = torch.Generator().manual_seed(0)
    nucleus = generate(tiny, prompt, 6, temperature=1.0, top_p=1e-6, generator=g)
    assert torch.equal(nucleus, generate(tiny, prompt, 6))


@torch.no_grad()
def test_rmsnorm_against_its_formula_and_torch() -> None:
    torch.manual_seed(0)
    norm = RMSNorm(16, eps=1e-5)
    nn.init.normal_(norm.weight)
    x = torch.randn(3, 5, 16)
    formula = x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * norm.weight
    torch.testing.assert_close(norm(x), formula)
    builtin = nn.RMSNorm(16, eps=1e-5)
    builtin.weight.copy_(norm.weight)
    torch.testing.assert_close(norm(x), builtin(x))
    # no centring: a shift changes the output; a positive scale does not (re-scaling invariance)
    torch.testing.assert_close(norm(7.5 * x), norm(x), atol=1e-5, rtol=1e-5)
    assert not torch.allclose(norm(x + 1.0), norm(x), atol=1e-3)
    assert [n for n, _ in norm.named_parameters()] == ["weight"]  # a gain, no bias


@torch.no_grad()
def test_swiglu_against_its_formula() -> None:
    """FFN_SwiGLU(x, W, V, W₂) = (Swish₁(xW) ⊗ xV) W₂, Swish₁(z) = z·σ(z) (Shazeer 2020)."""
    torch.manual_seed(0)
    ffn = FeedForward(8, 24)
    x = torch.randn(2, 3, 8)
    W, V, W2 = ffn.gate.weight.T, ffn.up.weight.T, ffn.down.weight.T
    swish = (x @ W) * torch.sigmoid(x @ W)
    torch.testing.assert_close(ffn(x), (swish * (x @ V)) @ W2)
    assert all(m.bias is None for m in (ffn.gate, ffn.up, ffn.down))


@torch.no_grad()
def test_gqa_equals_mha_with_repeated_kv_heads() -> None:
    """Query head j reads KV head j // 2: copying each KV head twice gives multi-head attention."""
    torch.manual_seed(0)
    cfg = dataclasses.replace(LlamaConfig.tiny(), d_model=32, n_heads=4, n_kv_heads=2)
    gqa = Attention(cfg)
    mha = Attention(dataclasses.replace(cfg, n_kv_heads=4))
    d = cfg.d_head
    mha.q_proj.weight.copy_(gqa.q_proj.weight)
    mha.o_proj.weight.copy_(gqa.o_proj.weight)
    for ours, theirs in ((gqa.k_proj, mha.k_proj), (gqa.v_proj, mha.v_proj)):
        heads = ours.weight.view(cfg.n_kv_heads, d, cfg.d_model)
        theirs.weight.copy_(heads.repeat_interleave(2, dim=0).reshape(-1, cfg.d_model))
    x, positions = torch.randn(2, 9, 32), torch.arange(9)
    mask = attention_mask(9)
    torch.testing.assert_close(gqa(x, positions, mask), mha(x, positions, mask))
    # and the KV projections are 2× smaller
    assert gqa.k_proj.weight.shape == (cfg.n_kv_heads * d, cfg.d_model)


def _score(rope: RotaryEmbedding, q: torch.Tensor, k: torch.Tensor, m: int, n: int) -> float:
    qm = rope(q[None, None, None], torch.tensor([m]))[0, 0, 0]
    kn = rope(k[None, None, None], torch.tensor([n]))[0, 0, 0]
    return (qm @ kn).item()


@torch.no_grad()
def test_rope_scores_depend_only_on_the_position_difference() -> None:
    """q_m·k_n is the same for (m, n) and (m + s, n + s) (RoFormer Eq. (16)); norms unchanged."""
    torch.manual_seed(0)
    rope = RotaryEmbedding(LlamaConfig.llama3_8b())  # d = 128, θ = 500,000, Llama 3.1 scaling
    q, k = torch.randn(128), torch.randn(128)
    for m, n in [(5, 2), (40, 40), (3, 90), (700, 123)]:
        base = _score(rope, q, k, m, n)
        for shift in (1, 17, 1000):
            assert _score(rope, q, k, m + shift, n + shift) == pytest.approx(base, abs=2e-3)
    assert _score(rope, q, k, 9, 2) != pytest.approx(_score(rope, q, k, 9, 3), abs=1e-2)
    x = torch.randn(1, 2, 6, 128)
    rotated = rope(x, torch.arange(100, 106))
    torch.testing.assert_close(rotated.norm(dim=-1), x.norm(dim=-1))  # a rotation
    torch.testing.assert_close(rope(x, torch.zeros(6, dtype=torch.long)), x)  # position 0: identity


@torch.no_grad()
def test_rope_is_applied_to_queries_and_keys_not_values(tiny) -> None:
    """RoPE is called on q and k only; a one-token attention returns W_O·v at any position."""
    attn = tiny.layers[0].attention
    seen = []
    handle = attn.rope.register_forward_hook(lambda m, args, out: seen.append(args[0].shape))
    x = torch.randn(1, 1, 32)
    try:
        at_0 = attn(x, torch.tensor([0]), attention_mask(1))
        at_1234 = attn(x, torch.tensor([1234]), attention_mask(1))
    finally:
        handle.remove()
    assert seen == [(1, 4, 1, 8), (1, 2, 1, 8)] * 2  # q (4 heads), k (2 KV heads); never v
    v = attn.repeat_kv(attn.v_proj(x).view(1, 1, 2, 8).transpose(1, 2))  # (1, 4, 1, 8)
    torch.testing.assert_close(at_0, attn.o_proj(v.transpose(1, 2).reshape(1, 1, 32)))
    torch.testing.assert_close(at_0, at_1234)  # v carries no position


@torch.no_grad()
def test_no_absolute_position_anywhere(tiny) -> None:
    """Moving a whole sequence to other positions changes no logit (only differences count)."""
    ids = _ids(10)
    torch.testing.assert_close(tiny(ids, start_pos=777), tiny(ids), atol=1e-4, rtol=1e-4)


@torch.no_grad()
def test_causal_mask(tiny) -> None:
    """Changing token t changes no logit before t; the mask is lower-triangular."""
    ids = _ids(10)
    changed = ids.clone()
    changed[:, 6] = (changed[:, 6] + 1) % 96
    a, b = tiny(ids), tiny(changed)
    torch.testing.assert_close(a[:, :6], b[:, :6], rtol=0, atol=0)
    assert not torch.allclose(a[:, 6:], b[:, 6:])
    assert torch.equal(attention_mask(4), torch.ones(4, 4, dtype=torch.bool).tril())
    # with 3 cached keys, 2 new queries see keys 0…3 and 0…4
    assert attention_mask(2, 3).int().tolist() == [[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]]


@torch.no_grad()
def test_document_mask_makes_packed_documents_independent(tiny) -> None:
    """With the document mask each packed document gives the logits it gives alone (§3.2)."""
    bos = tiny.config.bos_id
    doc_a = torch.tensor([[bos, 10, 11, 12, 13]])
    doc_b = torch.tensor([[bos, 20, 21, 22, 23, 24, 25]])
    packed = torch.cat([doc_a, doc_b], dim=1)  # one training sequence of 12 tokens
    docs = document_ids(packed, bos)
    assert docs.tolist() == [[1] * 5 + [2] * 7]
    masked = tiny(packed, doc_ids=docs)
    # equal up to rounding: the packed sequence's larger matmuls may sum in another order
    # (bit-identical on some CPUs, 6e-8 apart on others)
    torch.testing.assert_close(masked[:, :5], tiny(doc_a), rtol=0, atol=1e-6)
    # doc B sits at positions 5…11 instead of 0…6: RoPE makes that irrelevant
    torch.testing.assert_close(masked[:, 5:], tiny(doc_b), atol=1e-5, rtol=1e-5)
    plain = tiny(packed)  # without the mask doc B attends to doc A
    assert not torch.allclose(plain[:, 5:], tiny(doc_b), atol=1e-3)
    mask = attention_mask(12, doc_ids=docs)[0, 0]
    assert mask.shape == (12, 12) and not mask[5:, :5].any() and not mask[:5, 5:].any()
    assert torch.equal(mask[5:, 5:], torch.ones(7, 7, dtype=torch.bool).tril())
    with pytest.raises(ValueError, match="no cache"):
        attention_mask(1, 4, docs)


def _released_rule(freq: float, s: RopeScaling) -> float:
    """Llama 3.1's `apply_scaling`, one frequency at a time, as three explicit cases."""
    wavelength = 2 * math.pi / freq
    low_wavelength = s.original_context / s.low_freq_factor  # 8,192
    high_wavelength = s.original_context / s.high_freq_factor  # 2,048
    if wavelength < high_wavelength:
        return freq
    if wavelength > low_wavelength:
        return freq / s.factor
    smooth = (s.original_context / wavelength - s.low_freq_factor) / (
        s.high_freq_factor - s.low_freq_factor
    )
    return (1 - smooth) * freq / s.factor + smooth * freq


def test_llama3_frequency_scaling_follows_the_released_rule() -> None:
    s = RopeScaling()
    assert (s.factor, s.low_freq_factor, s.high_freq_factor, s.original_context) == (8, 1, 4, 8192)
    plain = rope_frequencies(128, 500_000.0, None)
    torch.testing.assert_close(plain, torch.tensor([500_000.0 ** (-i / 64) for i in range(64)]))
    scaled = rope_frequencies(128, 500_000.0, s)
    expected = torch.tensor([_released_rule(f, s) for f in plain.double().tolist()])
    torch.testing.assert_close(scaled, expected.float())
    wavelength = 2 * math.pi / plain
    kept, stretched = wavelength < 2048, wavelength > 8192
    assert torch.equal(scaled[kept], plain[kept])
    torch.testing.assert_close(scaled[stretched], plain[stretched] / 8)
    between = ~kept & ~stretched
    assert (kept.sum().item(), between.sum().item(), stretched.sum().item()) == (29, 6, 29)
    assert (scaled[between] < plain[between]).all() and (scaled[between] > plain[between] / 8).all()
    assert (scaled[1:] < scaled[:-1]).all()  # still strictly decreasing


def test_kv_cache_and_weight_memory() -> None:
    """bf16: 128 KiB of K and V per token in 8B (GQA), 512 KiB with one KV head per query head."""
    cfg = LlamaConfig.llama3_8b()
    assert kv_cache_bytes(cfg, 1) == 2 * 32 * 8 * 128 * 2 == 128 * 1024
    mha = dataclasses.replace(cfg, n_kv_heads=32)
    assert kv_cache_bytes(mha, 1) == 4 * kv_cache_bytes(cfg, 1)
    assert kv_cache_bytes(cfg, 128 * 1024) == 16 * 2**30  # 16 GiB at 128K tokens
    with torch.device("meta"):
        assert weight_bytes(llama3_8b()) == 2 * 8_030_261_248
    cache = KVCache(cfg.n_layers)
    assert len(cache) == 0


def test_transformers_names_cover_every_weight(tiny) -> None:
    """LlamaForCausalLM's key names, mapped, are exactly ours (the cross-check loads real ones)."""
    cfg = tiny.config
    theirs = ["model.embed_tokens.weight", "model.norm.weight", "lm_head.weight"]
    for i in range(cfg.n_layers):
        p = f"model.layers.{i}."
        theirs += [f"{p}self_attn.{n}_proj.weight" for n in "qkvo"]
        theirs += [f"{p}mlp.{n}_proj.weight" for n in ("gate", "up", "down")]
        theirs += [f"{p}input_layernorm.weight", f"{p}post_attention_layernorm.weight"]
    ours = tiny.state_dict()
    state = {}
    for key in theirs:
        mapped = key
        for a, b in TRANSFORMERS_NAMES:
            mapped = mapped.replace(a, b)
        state[key] = ours[mapped].clone()
    assert sorted(state) != sorted(ours) and len(state) == len(ours)
    fresh = Llama(cfg)
    load_transformers(fresh, state)
    for name, value in fresh.state_dict().items():
        assert torch.equal(value, ours[name]), name


def test_output_layer_is_untied_and_nothing_has_a_bias(tiny) -> None:
    assert tiny.lm_head.weight.data_ptr() != tiny.tok_embeddings.weight.data_ptr()
    names = [n for n, _ in tiny.named_parameters()]
    assert "lm_head.weight" in names and not any(n.endswith("bias") for n in names)
    with torch.no_grad():
        tiny.tok_embeddings.weight[5, 0] += 1.0
        assert tiny.lm_head.weight[5, 0] != tiny.tok_embeddings.weight[5, 0]
        tiny.tok_embeddings.weight[5, 0] -= 1.0


def test_gradients_reach_every_parameter() -> None:
    torch.manual_seed(0)
    model = Llama(LlamaConfig.tiny())
    ids = _ids(8)
    logits = model(ids[:, :-1], doc_ids=document_ids(ids[:, :-1], 1))
    F.cross_entropy(logits.flatten(0, 1), ids[:, 1:].flatten()).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


# ── the page and the generator ───────────────────────────────────────────────────────────

ROOT = Path(__file__).resolve().parents[1]
PAGE = (ROOT / "docs" / "papers" / "llama.md").read_text(encoding="utf-8")


def test_page_tables_are_the_code_s() -> None:
    """The parameter and memory tables of the page are those the figures module computes."""
    from tools.generator.figures import llama as figures

    assert figures.count_table() in PAGE
    assert figures.memory_table() in PAGE
    rows = {r["name"]: r for r in figures.memory_rows()}
    assert rows["8B"]["kv_128k"] > rows["8B"]["weights"]  # "已经比它的权重还大"
    assert rows["405B"]["kv_128k_mha"] > rows["405B"]["weights"]
    assert rows["405B"]["kv_8k_mha"] == rows["405B"]["kv_128k"]
    assert "29 个不变、6 个过渡、29 个除以 8" in PAGE


def test_tiny_training_run_matches_the_page_and_learns() -> None:
    """The figure's run: the setup the page states, and the shape of the curves it describes."""
    from tools.generator.figures import llama as figures

    train, held, vocab = figures.corpus()
    assert len(train) + len(held) == 252 and len(held) == 25
    cfg = figures.tiny_config(len(vocab))
    assert (cfg.d_model, cfg.n_layers, cfg.n_heads, cfg.n_kv_heads, cfg.d_ff) == (64, 2, 4, 2, 178)
    assert "宽度 64、2 个块、4 个查询头共用 2 个键值头、SwiGLU 宽 178" in PAGE
    assert "252 句中文短句" in PAGE
    setup = f"每步随机截取 {figures.BATCH} 段、每段 {figures.WINDOW} 个词元"
    assert setup in PAGE and f"共 {figures.STEPS} 步" in PAGE
    assert f"单个 CPU 线程，{figures.STEPS} 步）" in figures.draw_training.__doc__
    run = figures.train_tiny()
    held_losses, train_end = run["held"], sum(run["losses"][-20:]) / 20
    assert abs(held_losses[0] - math.log(len(vocab))) < 0.3  # starts at the uniform guess
    assert held_losses[-1] < held_losses[0] - 2  # both fall …
    assert train_end < held_losses[-1] - 0.2  # … then the training loss ends lower
    assert held_losses[-1] - min(held_losses) < 0.1  # and the held-out one no longer falls
    assert run["cpu"] < 30


def test_generator_never_allocates_the_paper_sizes() -> None:
    """The generator's work for this page (3 models, figures) stays on meta, under 1 GB."""
    script = """
import json, resource
import torch
from tools.generator import catalog
from tools.generator.figures import llama as figures
from tools.generator.models import model_artifacts

torch.set_num_threads(1)
meta = {}
for model in catalog.load().models_of("llama"):
    assert model.device == "meta", model.id
    meta[model.id] = all(p.is_meta for p in model.build().parameters())
    files, stats = model_artifacts(model)
    assert stats.params == model.params, model.id
figures.count_table(), figures.memory_table(), figures.draw_kv_cache()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"meta": meta, "peak_mb": peak}))
"""
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    result = json.loads(out.strip().splitlines()[-1])
    assert result["meta"] == {"llama3-8b": True, "llama3-70b": True, "llama3-405b": True}
    assert result["peak_mb"] < 1024  # 8B alone would take 16 GB in bf16, 405B 812 GB


def test_gpt_and_llama_figure_matches_the_page() -> None:
    """Same budget (< 0.2 % apart), same windows; the page's reading of the curves holds."""
    from tools.generator.figures import llama as figures

    _, _, vocab = figures.corpus()
    gpt = figures.gpt_config(len(vocab))
    assert (gpt.d_model, gpt.n_layers, gpt.n_heads, gpt.d_ff, gpt.pre_norm) == (64, 2, 4, 256, True)
    runs = figures.train_pair()
    p_gpt, p_llama = runs["GPT"]["params"], runs["Llama"]["params"]
    assert abs(p_gpt - p_llama) / p_gpt < 0.002
    assert f"步数（{figures.COMPARE_STEPS} 步）也相同" in PAGE and "SwiGLU 宽取 178" in PAGE
    end = {name: sum(run["losses"][-20:]) / 20 for name, run in runs.items()}
    held = {name: run["held"][-1] for name, run in runs.items()}
    assert end["Llama"] < end["GPT"] - 0.3  # "Llama 的训练损失降得快得多"
    assert held["Llama"] < held["GPT"] < held["Llama"] + 0.15  # "两者相近、Llama 略低"
    assert runs["GPT"]["cpu"] + runs["Llama"]["cpu"] < 40
