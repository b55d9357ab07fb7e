"""GPT-1, GPT-2 and GPT-3 (its dense layers) against transformers' OpenAIGPT and GPT2 models."""

from __future__ import annotations

import pytest
import torch
import transformers
from torch import nn

from reference_impl import gpt
from tests.crosscheck.common import Case, compare, n_params, perturb_constants


def token_ids(vocab: int) -> torch.Tensor:
    return torch.randint(0, vocab, (2, 16), generator=torch.Generator().manual_seed(3))


def run_ours(ids: torch.Tensor):
    def run(m: gpt.GPT) -> tuple[torch.Tensor, torch.Tensor]:
        return m.features(ids), m(ids)  # last hidden states (after ln_f in GPT-2) and logits

    return run


def run_theirs(ids: torch.Tensor):
    def run(m: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
        return m.transformer(input_ids=ids).last_hidden_state, m(input_ids=ids).logits

    return run


def check_gpt1(tamper=None) -> dict:
    c = gpt.GPTConfig.gpt1()
    hf_config = transformers.OpenAIGPTConfig(
        vocab_size=c.vocab_size,
        n_positions=c.max_len,
        n_embd=c.d_model,
        n_layer=c.n_layers,
        n_head=c.n_heads,
    )
    theirs = transformers.OpenAIGPTLMHeadModel(hf_config)
    perturb_constants(theirs)
    ours = gpt.gpt1()
    gpt.load_transformers(ours, theirs.state_dict())
    ids = token_ids(c.vocab_size)
    case = Case(
        "gpt",
        "GPT-1（post-LN，词表 40,478，上下文 512）",
        "gpt1()",
        "transformers",
        "OpenAIGPTLMHeadModel",
        "2×16 词元；比较最后的隐藏状态与 logits",
        "OpenAIGPTLMHeadModel = OpenAIGPTModel + 与词元嵌入共享的输出层，"
        "参数量与 OpenAIGPTModel 相同",
    )
    return compare(case, ours, theirs, run_ours(ids), run_theirs(ids), tamper=tamper)


def test_gpt1() -> None:
    check_gpt1()


# name of ours, label, layers whose outputs are compared (None: all of them)
GPT2S = [
    ("gpt2_small", "GPT-2 small（124M）", None),
    ("gpt2_medium", "GPT-2 medium（355M）", None),
    ("gpt2_large", "GPT-2 large（774M）", 2),
    ("gpt2_xl", "GPT-2 XL（1558M，论文的 “GPT-2”）", 2),
]


def hf_gpt2_config(c: gpt.GPTConfig) -> transformers.GPT2Config:
    return transformers.GPT2Config(
        vocab_size=c.vocab_size,
        n_positions=c.max_len,
        n_embd=c.d_model,
        n_layer=c.n_layers,
        n_head=c.n_heads,
        attn_implementation="eager",
    )


def check_gpt2(name: str, label: str, layers: int | None, tamper=None) -> dict:
    overrides = {} if layers is None else {"n_layers": layers}
    ours = getattr(gpt, name)(**overrides)
    c = ours.config
    theirs = transformers.GPT2LMHeadModel(hf_gpt2_config(c))
    perturb_constants(theirs)
    gpt.load_transformers(ours, theirs.state_dict())
    ids = token_ids(c.vocab_size)
    note, counts = "", {}
    if layers is not None:  # counts of the full depth, on the meta device
        with torch.device("meta"):
            paper_size = getattr(gpt, name)()
            counts = {
                "params_ours": n_params(paper_size),
                "params_theirs": n_params(
                    transformers.GPT2LMHeadModel(hf_gpt2_config(paper_size.config))
                ),
            }
        note = (
            f"输出在前 {layers} 层（宽度不变）上比较（CPU 上省内存），"
            f"参数量按完整的 {paper_size.config.n_layers} 层在 meta 设备上计"
        )
    case = Case(
        "gpt",
        label,
        f"{name}()" if layers is None else f"{name}(n_layers={layers})",
        "transformers",
        "GPT2LMHeadModel",
        "2×16 词元；比较 ln_f 之后的隐藏状态与 logits",
        note,
    )
    return compare(case, ours, theirs, run_ours(ids), run_theirs(ids), **counts, tamper=tamper)


@pytest.mark.parametrize(("name", "label", "layers"), GPT2S, ids=[g[0] for g in GPT2S])
def test_gpt2(name: str, label: str, layers: int | None) -> None:
    check_gpt2(name, label, layers)


def test_gpt3_small_dense_layers() -> None:
    """GPT-3 Small is GPT-2 small with 2,048 positions when every layer is dense."""
    ours = gpt.gpt3_small()
    theirs = transformers.GPT2LMHeadModel(hf_gpt2_config(ours.config))
    perturb_constants(theirs)
    gpt.load_transformers(ours, theirs.state_dict())
    ids = token_ids(ours.config.vocab_size)
    case = Case(
        "gpt",
        "GPT-3 Small（125M，每层稠密注意力）",
        "gpt3_small()",
        "transformers",
        "GPT2LMHeadModel（n_positions=2048）",
        "2×16 词元；比较 ln_f 之后的隐藏状态与 logits",
        "transformers 没有 GPT-3；交替的局部带状注意力（local_window）只是掩码，不改变参数，未对照",
    )
    compare(case, ours, theirs, run_ours(ids), run_theirs(ids))


def test_counts_of_every_paper_size_on_meta() -> None:
    """All four GPT-2 sizes and GPT-1: the same counts as transformers', built on meta."""
    with torch.device("meta"):
        for name in ("gpt2_small", "gpt2_medium", "gpt2_large", "gpt2_xl"):
            ours = getattr(gpt, name)()
            theirs = transformers.GPT2LMHeadModel(hf_gpt2_config(ours.config))
            assert n_params(ours) == n_params(theirs), name
        one = gpt.gpt1()
        c = one.config
        theirs = transformers.OpenAIGPTModel(
            transformers.OpenAIGPTConfig(vocab_size=c.vocab_size, n_positions=c.max_len)
        )
        assert n_params(one) == n_params(theirs) == 116_534_784
