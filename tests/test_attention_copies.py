"""Every self-contained copy of multi-head attention computes the same function.

Each reference file is self-contained (stdlib + torch), so the papers that use attention —
attention.py, transformer.py, bert.py, vit.py, clip.py, mae.py, dalle2.py — each carry their own
short copy. This test loads the same weights (those of a ``torch.nn.MultiheadAttention``) into
every copy and checks that all of them compute what PyTorch computes, hence the same thing.

How to register a copy: add an entry to ``COPIES`` below, keyed by the file's slug.

* ``cls``: the class name in ``reference_impl/<slug>.py``.
* ``build(cls, d_model, n_heads)``: constructs it (default ``cls(d_model, n_heads)``).
* ``load(module, weights)``: copies the reference weights in; use ``load_separate(...)`` for
  separate q/k/v layers or ``load_fused(...)`` for one stacked qkv layer (ViT/timm style).
* ``call(module, x, context, mask)``: runs it; ``context`` is ``None`` for self-attention and
  ``mask`` is boolean, broadcastable to (B, h, T, S), ``True`` where a query may attend (convert
  it if the copy uses another convention). Default: ``module(x, context, mask)``.
* ``cross`` / ``causal`` / ``padding``: whether the copy supports cross-attention, a causal mask,
  a key-padding mask (the tests skip what it does not support).

Entries whose file does not exist yet are skipped; an entry naming a class its file does not
define is skipped too, but ``test_every_attention_class_is_registered`` fails for any class named
``…Attention`` (other than ``ScaledDotProductAttention``) in ``reference_impl/`` that is not in
``COPIES``, so a new copy cannot go untested.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
D_MODEL, N_HEADS = 32, 4


@dataclasses.dataclass(frozen=True)
class Weights:
    """Reference weights in the paper's terms: W^Q, W^K, W^V (D × D each), W^O, and biases."""

    w_q: torch.Tensor
    b_q: torch.Tensor
    w_k: torch.Tensor
    b_k: torch.Tensor
    w_v: torch.Tensor
    b_v: torch.Tensor
    w_o: torch.Tensor
    b_o: torch.Tensor


def load_separate(
    q: str = "q_proj", k: str = "k_proj", v: str = "v_proj", out: str = "out_proj"
) -> Callable[[nn.Module, Weights], None]:
    """Loader for copies with one nn.Linear per projection (attribute paths given)."""

    def load(module: nn.Module, w: Weights) -> None:
        with torch.no_grad():
            for name, weight, bias in (
                (q, w.w_q, w.b_q),
                (k, w.w_k, w.b_k),
                (v, w.w_v, w.b_v),
                (out, w.w_o, w.b_o),
            ):
                layer = module.get_submodule(name)
                layer.weight.copy_(weight)
                layer.bias.copy_(bias)

    return load


def load_fused(qkv: str = "qkv", out: str = "proj") -> Callable[[nn.Module, Weights], None]:
    """Loader for copies with one nn.Linear(D, 3D) producing [q; k; v] (ViT/timm style)."""

    def load(module: nn.Module, w: Weights) -> None:
        with torch.no_grad():
            module.get_submodule(qkv).weight.copy_(torch.cat([w.w_q, w.w_k, w.w_v]))
            module.get_submodule(qkv).bias.copy_(torch.cat([w.b_q, w.b_k, w.b_v]))
            module.get_submodule(out).weight.copy_(w.w_o)
            module.get_submodule(out).bias.copy_(w.b_o)

    return load


def _build_standard(cls, d_model, n_heads):
    return cls(d_model, n_heads)


def _call_standard(module, x, context, mask):
    return module(x, context, mask)


def _call_self_only(module, x, context, mask):
    assert context is None and mask is None
    return module(x)


def _call_causal_flag(module, x, context, mask):
    """For copies taking ``causal: bool`` instead of a mask (only the causal mask is passed)."""
    assert context is None
    if mask is None:
        return module(x)
    assert torch.equal(mask, torch.ones_like(mask).tril())
    return module(x, causal=True)


def _call_additive_mask(module, x, context, mask):
    """For copies taking an additive float mask (0 where allowed, −inf where not)."""
    assert context is None
    if mask is None:
        return module(x)
    return module(x, torch.zeros(mask.shape).masked_fill(~mask, float("-inf")))


def _call_self_with_mask(module, x, context, mask):
    """For self-attention copies called as ``module(x, mask)`` (boolean, ``True`` = may attend)."""
    assert context is None
    return module(x, mask)


def _call_window(module, x, context, mask):
    """For Swin's window attention: a batch of windows, and a mask per window, True = blocked.

    Each sequence of the batch is passed as one window (so a padding mask, which differs from
    sequence to sequence, is one window's mask each).
    """
    assert context is None
    if mask is None:
        return module(x)
    B, T = x.shape[:2]
    return module(x, ~mask.expand(B, 1, T, T)[:, 0])  # (windows, T, T)


def _call_query_key_value(module, x, context, mask):
    """For copies called as ``module(query, key, value)`` without a mask (DETR)."""
    assert mask is None
    memory = x if context is None else context
    return module(x, memory, memory)


_LOAD_SEPARATE = load_separate()


@dataclasses.dataclass(frozen=True)
class Copy:
    """How to construct, load and call one file's attention class (see the module docstring)."""

    cls: str
    build: Callable[[type, int, int], nn.Module] = _build_standard
    load: Callable[[nn.Module, Weights], None] = _LOAD_SEPARATE
    call: Callable[..., torch.Tensor] = _call_standard
    cross: bool = True
    causal: bool = True
    padding: bool = True


COPIES: dict[str, Copy] = {
    "attention": Copy("MultiHeadAttention"),
    "transformer": Copy("MultiHeadAttention"),
    "bert": Copy("MultiHeadAttention"),
    # GPT: one stacked qkv layer, masked self-attention only (causal, or banded for GPT-3)
    "gpt": Copy(
        "MultiHeadAttention",
        load=load_fused("qkv", "out_proj"),
        call=_call_self_with_mask,
        cross=False,
    ),
    # Entries written from the files as they were when this test was written; their authors own
    # them (one nn.Linear(D, 3D) for q, k, v; self-attention only).
    "clip": Copy(
        "MultiHeadAttention", load=load_fused("qkv", "proj"), call=_call_additive_mask, cross=False
    ),
    "dalle2": Copy(
        "Attention",
        load=load_fused("qkv", "proj"),
        call=_call_causal_flag,
        cross=False,
        padding=False,
    ),
    "mae": Copy(
        "MultiHeadSelfAttention",
        load=load_fused("qkv", "proj"),
        call=_call_self_only,
        cross=False,
        causal=False,
        padding=False,
    ),
    # M = 1: a one-entry bias table, zero when built, so B = 0 and a window is any sequence
    "swin": Copy(
        "WindowAttention",
        build=lambda cls, d_model, n_heads: cls(d_model, n_heads, 1),
        load=load_fused("qkv", "proj"),
        call=_call_window,
        cross=False,
    ),
    "vit": Copy(
        "MultiHeadSelfAttention",
        load=load_fused("qkv", "proj"),
        call=_call_self_only,
        cross=False,
        causal=False,
        padding=False,
    ),
    # DETR: separate query, key and value inputs (positions are added to q and k outside it)
    "detr": Copy("MultiHeadAttention", call=_call_query_key_value, causal=False, padding=False),
    # Llama 3: grouped-query attention with RoPE and no biases (tests/test_llama.py tests those);
    # here with one KV head per query head, every token at position 0 (RoPE is then the
    # identity) and biased projections in place of its bias-free ones.
    "llama": Copy(
        "Attention",
        build=lambda cls, d_model, n_heads: _llama_as_mha(cls, d_model, n_heads),
        load=load_separate(out="o_proj"),
        call=lambda m, x, context, mask: _call_llama(m, x, context, mask),
        cross=False,
    ),
}


def _llama_as_mha(cls, d_model, n_heads):
    from reference_impl.llama import LlamaConfig

    module = cls(LlamaConfig(d_model=d_model, n_heads=n_heads, n_kv_heads=n_heads))
    for name in ("q_proj", "k_proj", "v_proj", "o_proj"):
        setattr(module, name, nn.Linear(d_model, d_model))  # nn.MultiheadAttention has biases
    return module


def _call_llama(module, x, context, mask):
    assert context is None
    T = x.shape[1]
    mask = torch.ones(T, T, dtype=torch.bool) if mask is None else mask
    return module(x, torch.zeros(T, dtype=torch.long), mask)  # position 0: RoPE = identity


def resolve(slug: str) -> type:
    """The registered class, or skip: the file is not written yet / the entry is out of date."""
    if not (ROOT / "reference_impl" / f"{slug}.py").exists():
        pytest.skip(f"reference_impl/{slug}.py does not exist yet")
    module = importlib.import_module(f"reference_impl.{slug}")
    cls = getattr(module, COPIES[slug].cls, None)
    if cls is None:
        pytest.skip(f"reference_impl/{slug}.py has no {COPIES[slug].cls}: update COPIES[{slug!r}]")
    return cls


@pytest.fixture(scope="module")
def reference() -> tuple[nn.MultiheadAttention, Weights]:
    torch.manual_seed(0)
    ref = nn.MultiheadAttention(D_MODEL, N_HEADS, batch_first=True).eval()
    with torch.no_grad():
        ref.in_proj_bias.normal_()  # PyTorch starts the biases at 0: make them count
        ref.out_proj.bias.normal_()
    w_q, w_k, w_v = ref.in_proj_weight.detach().chunk(3)
    b_q, b_k, b_v = ref.in_proj_bias.detach().chunk(3)
    weights = Weights(
        w_q, b_q, w_k, b_k, w_v, b_v, ref.out_proj.weight.detach(), ref.out_proj.bias.detach()
    )
    return ref, weights


def build_loaded(slug: str, weights: Weights) -> nn.Module:
    entry = COPIES[slug]
    module = entry.build(resolve(slug), D_MODEL, N_HEADS).eval()
    entry.load(module, weights)
    return module


@pytest.mark.parametrize("slug", sorted(COPIES))
@torch.no_grad()
def test_self_attention_matches_torch_and_the_other_copies(slug, reference) -> None:
    ref, weights = reference
    x = torch.randn(2, 7, D_MODEL, generator=torch.Generator().manual_seed(1))
    expected, _ = ref(x, x, x, need_weights=False)
    out = COPIES[slug].call(build_loaded(slug, weights), x, None, None)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)
    canonical = COPIES["attention"].call(build_loaded("attention", weights), x, None, None)
    torch.testing.assert_close(out, canonical, atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("slug", sorted(COPIES))
@torch.no_grad()
def test_causal_self_attention_matches_torch(slug, reference) -> None:
    if not COPIES[slug].causal:
        pytest.skip(f"{slug}: its attention takes no causal mask")
    ref, weights = reference
    x = torch.randn(2, 7, D_MODEL, generator=torch.Generator().manual_seed(2))
    causal = torch.ones(7, 7, dtype=torch.bool).tril()
    expected, _ = ref(x, x, x, attn_mask=~causal, need_weights=False)  # torch: True = blocked
    out = COPIES[slug].call(build_loaded(slug, weights), x, None, causal)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("slug", sorted(COPIES))
@torch.no_grad()
def test_padding_masked_self_attention_matches_torch(slug, reference) -> None:
    if not COPIES[slug].padding:
        pytest.skip(f"{slug}: its attention takes no padding mask")
    ref, weights = reference
    x = torch.randn(2, 7, D_MODEL, generator=torch.Generator().manual_seed(2))
    is_token = torch.ones(2, 7, dtype=torch.bool)
    is_token[1, 4:] = False
    expected, _ = ref(x, x, x, key_padding_mask=~is_token, need_weights=False)
    out = COPIES[slug].call(build_loaded(slug, weights), x, None, is_token[:, None, None, :])
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("slug", sorted(COPIES))
@torch.no_grad()
def test_cross_attention_matches_torch(slug, reference) -> None:
    if not COPIES[slug].cross:
        pytest.skip(f"{slug}: its attention is self-attention only")
    ref, weights = reference
    gen = torch.Generator().manual_seed(3)
    x, context = (
        torch.randn(2, 5, D_MODEL, generator=gen),
        torch.randn(2, 9, D_MODEL, generator=gen),
    )
    expected, _ = ref(x, context, context, need_weights=False)
    out = COPIES[slug].call(build_loaded(slug, weights), x, context, None)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)


def attention_classes(path: Path) -> list[str]:
    """Names of the classes called …Attention defined in a file (read with ast, not imported)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.name
        for node in tree.body
        if isinstance(node, ast.ClassDef)
        and node.name.endswith("Attention")
        and not node.name.startswith("ScaledDotProduct")  # the parameter-free Eq. (1) helper
    ]


def test_every_attention_class_is_registered() -> None:
    missing = []
    for path in sorted((ROOT / "reference_impl").glob("*.py")):
        for name in attention_classes(path):
            entry = COPIES.get(path.stem)
            if entry is None or entry.cls != name:
                missing.append(f"reference_impl/{path.name}: {name}")
    assert not missing, (
        "attention classes not covered by COPIES in tests/test_attention_copies.py "
        f"(add or correct their entries): {missing}"
    )
