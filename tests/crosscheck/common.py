"""Shared steps of every cross-check: perturb, copy, compare, count, record.

Each test builds the canonical model, perturbs its constant tensors (LayerNorm/BatchNorm
weights of 1, zero biases, running statistics: a swapped weight/bias pair or a forgotten buffer
would otherwise go unnoticed), copies its state into ours with the reference file's loader,
runs both in eval mode on the same random input and compares outputs (tolerance 1e-4 of the
output scale) and parameter counts (each tensor once, so tied weights count once).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from importlib.metadata import version

import torch
from torch import nn

TOLERANCE = 1e-4  # of the output scale max |reference|
RESULTS: list[dict] = []  # filled by record(), written by conftest.pytest_sessionfinish


def lib(name: str) -> str:
    """'torchvision 0.29.1'."""
    return f"{name} {version(name)}"


@torch.no_grad()
def perturb_constants(model: nn.Module, seed: int = 0) -> int:
    """Replace every constant floating tensor of the state by random values; return how many.

    Zeros become N(0, 0.1²), any other constant c becomes c·U(0.5, 1.5) (running variances stay
    positive). Tensors shared by two names are changed once per name, which is harmless.
    """
    g = torch.Generator().manual_seed(seed)
    changed = 0
    for t in model.state_dict().values():
        if not t.is_floating_point() or t.numel() < 2 or t.min() != t.max():
            continue
        c = t.flatten()[0].item()
        if c == 0:
            t.copy_(0.1 * torch.randn(t.shape, generator=g))
        else:
            t.copy_(c * (0.5 + torch.rand(t.shape, generator=g)))
        changed += 1
    return changed


def n_params(model: nn.Module) -> int:
    """Parameters, each tensor once (`parameters()` skips a tied tensor's second name)."""
    return sum(p.numel() for p in model.parameters())


@dataclasses.dataclass
class Case:
    """One cross-check: our model against one canonical model, for the report."""

    paper: str  # slug of the paper page
    label: str  # "ViT-B/16"
    ours: str  # "vit_b16()"
    library: str  # "timm"
    reference: str  # "vit_base_patch16_224"
    input: str  # "2×3×224×224"
    note: str = ""  # shrunk sizes, design differences


def compare(
    case: Case,
    ours: nn.Module,
    theirs: nn.Module,
    run_ours: Callable[[nn.Module], torch.Tensor | tuple[torch.Tensor, ...]],
    run_theirs: Callable[[nn.Module], torch.Tensor | tuple[torch.Tensor, ...]],
    params_ours: int | None = None,
    params_theirs: int | None = None,
    tamper: Callable[[nn.Module], object] | None = None,
) -> dict:
    """Run both (eval, no_grad), assert outputs within tolerance and equal counts; record it.

    `tamper` breaks our model after loading (tests/crosscheck/test_can_fail.py).
    """
    if tamper is not None:
        with torch.no_grad():
            tamper(ours)
    ours.eval()
    theirs.eval()
    with torch.no_grad():
        a, b = run_ours(ours), run_theirs(theirs)
    a = a if isinstance(a, tuple) else (a,)
    b = b if isinstance(b, tuple) else (b,)
    assert len(a) == len(b)
    assert all(x.shape == y.shape for x, y in zip(a, b, strict=True)), "output shapes differ"
    errors = [(x - y).abs().max().item() for x, y in zip(a, b, strict=True)]
    scales = [y.abs().max().item() for y in b]  # each output against its own scale
    worst = max(range(len(b)), key=lambda i: errors[i] / scales[i])
    max_abs, scale = errors[worst], scales[worst]
    p_ours = n_params(ours) if params_ours is None else params_ours
    p_theirs = n_params(theirs) if params_theirs is None else params_theirs
    result = dataclasses.asdict(case) | {
        "library_version": version(case.library),
        "max_abs": max_abs,
        "scale": scale,
        "relative": max_abs / scale,
        "params_ours": p_ours,
        "params_reference": p_theirs,
    }
    assert max_abs <= TOLERANCE * scale, f"{case.label}: max |Δ| {max_abs:.3g}, scale {scale:.3g}"
    assert p_ours == p_theirs, f"{case.label}: {p_ours:,} parameters, reference {p_theirs:,}"
    RESULTS.append(result)
    return result


FAILURES_SHOWN: list[dict] = []  # the deliberate breakages of test_can_fail.py


def expect_mismatch(what: str, check: Callable[[], dict]) -> None:
    """Run a cross-check that was broken on purpose; it must fail. Record by how much."""
    before = len(RESULTS)
    try:
        check()
    except AssertionError as error:
        del RESULTS[before:]
        FAILURES_SHOWN.append({"broken": what, "caught": str(error).splitlines()[0]})
        return
    del RESULTS[before:]
    raise AssertionError(f"breaking {what} went unnoticed")
