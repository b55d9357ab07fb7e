"""Llama 3 against transformers' LlamaForCausalLM: GQA, Llama 3.1's RoPE scaling, KV cache."""

from __future__ import annotations

import torch
import transformers

from reference_impl import llama
from tests.crosscheck.common import Case, compare, expect_mismatch, perturb_constants

# Reduced depth, width and vocabulary so that it runs on a CPU in seconds; head width 128,
# θ = 500,000 and the "llama3" scaling are the 8B's, so RoPE's 64 frequencies are the released ones.
CONFIG = llama.LlamaConfig(
    vocab_size=1000, d_model=1024, n_layers=2, n_heads=8, n_kv_heads=2, d_ff=3584
)
FAR = 30_000  # a second run at positions 30,000 …: beyond the 8K of the original context


def hf_model(c: llama.LlamaConfig) -> transformers.LlamaForCausalLM:
    s = c.rope_scaling
    hf = transformers.LlamaConfig(
        vocab_size=c.vocab_size,
        hidden_size=c.d_model,
        intermediate_size=c.d_ff,
        num_hidden_layers=c.n_layers,
        num_attention_heads=c.n_heads,
        num_key_value_heads=c.n_kv_heads,
        rms_norm_eps=c.norm_eps,
        max_position_embeddings=131072,
        tie_word_embeddings=False,
        rope_parameters={
            "rope_type": "llama3",
            "rope_theta": c.rope_theta,
            "factor": s.factor,
            "low_freq_factor": s.low_freq_factor,
            "high_freq_factor": s.high_freq_factor,
            "original_max_position_embeddings": s.original_context,
        },
        attn_implementation="eager",
    )
    return transformers.LlamaForCausalLM(hf)


def check_llama(tamper=None) -> dict:
    theirs = hf_model(CONFIG)
    perturb_constants(theirs)  # the RMSNorm gains of 1
    ours = llama.Llama(CONFIG)
    llama.load_transformers(ours, theirs.state_dict())
    ids = torch.randint(0, CONFIG.vocab_size, (2, 48), generator=torch.Generator().manual_seed(0))
    far = torch.arange(FAR, FAR + 48)[None].expand(2, -1)

    def run_ours(m: llama.Llama) -> tuple[torch.Tensor, ...]:
        return m(ids), m(ids, start_pos=FAR)

    def run_theirs(m: transformers.LlamaForCausalLM) -> tuple[torch.Tensor, ...]:
        return m(ids).logits, m(ids, position_ids=far).logits

    case = Case(
        "llama",
        "Llama 3（缩小：2 层，d = 1024，8 个查询头共用 2 个 KV 头）",
        "Llama(LlamaConfig(vocab_size=1000, d_model=1024, n_layers=2, n_heads=8, "
        "n_kv_heads=2, d_ff=3584))",
        "transformers",
        "LlamaForCausalLM",
        "2×48 词元，位置 0 起与 30,000 起",
        "GQA、RoPE θ = 500,000 与 rope_type llama3 的频率缩放（factor 8）同 8B；"
        "层数、宽度和词表缩小以便在 CPU 上运行",
    )
    return compare(case, ours, theirs, run_ours, run_theirs, tamper=tamper)


def test_llama() -> None:
    check_llama()


@torch.no_grad()
def test_llama_cached_greedy_decoding_matches_transformers() -> None:
    """Our KV-cache generation picks the tokens transformers' full forward picks, step by step."""
    theirs = hf_model(CONFIG).eval()
    perturb_constants(theirs)
    ours = llama.Llama(CONFIG).eval()
    llama.load_transformers(ours, theirs.state_dict())
    prompt = torch.randint(
        0, CONFIG.vocab_size, (1, 12), generator=torch.Generator().manual_seed(1)
    )
    tokens = llama.generate(ours, prompt, max_new_tokens=16)
    for t in range(prompt.shape[1], tokens.shape[1]):
        expected = theirs(tokens[:, :t]).logits[:, -1].argmax(-1)
        assert torch.equal(tokens[:, t], expected), t


def plain_rope(model: llama.Llama) -> None:
    """Llama 2's RoPE: θ = 500,000 but without Llama 3.1's frequency scaling."""
    plain = llama.rope_frequencies(CONFIG.d_head, CONFIG.rope_theta, None)
    for block in model.layers:
        block.attention.rope.freqs.copy_(plain)


def test_missing_llama3_rope_scaling_is_caught() -> None:
    expect_mismatch(
        "Llama 3: RoPE without the llama3 frequency scaling", lambda: check_llama(plain_rope)
    )
