"""Step 4 of the generator: parameter and MAC counts, and the per-layer table of one model.

Counts come from the model itself: parameters from ``sum(p.numel())`` (shared weights once),
MACs from :class:`torch.utils.flop_counter.FlopCounterMode` (it sees functional ops such as
attention, which torchinfo misses; it reports FLOPs = 2 × multiply-accumulates for conv/matmul).
torchinfo's own total is shown beside ours as a cross-check, since it counts shared weights twice.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from tools.generator.catalog import Model

if TYPE_CHECKING:  # torch is imported lazily: the cached path of the generator never loads it
    from torch import nn

    from tools.generator.trace import Trace


def shape_label(shape: tuple[int, ...]) -> str:
    """Shape without the batch dimension: ``(1, 64, 56, 56)`` → ``64×56×56``."""
    dims = shape[1:] if len(shape) > 1 else shape
    return "×".join(map(str, dims)) or "标量"


@dataclasses.dataclass
class Stats:
    """Measured totals of one model."""

    params: int
    trainable: int
    macs: int
    macs_by_module: dict[str, int]
    torchinfo_params: int | None


def require_meta(model: nn.Module, inputs: tuple[Any, ...]) -> None:
    """Refuse a model or input that is not on the meta device.

    On the meta device :class:`~torch.utils.flop_counter.FlopCounterMode` sees every matrix
    product. On the CPU, in eval mode and under ``no_grad``, ``nn.MultiheadAttention`` and
    ``nn.TransformerEncoderLayer`` take a fused fast path whose attention it counts as 0 MACs,
    so a table measured there would be silently low.
    """
    import torch

    tensors = [*model.parameters(), *model.buffers()]
    tensors += [t for t in inputs if isinstance(t, torch.Tensor)]
    devices = sorted({t.device.type for t in tensors} - {"meta"})
    if devices:
        raise ValueError(
            f"count MACs on the meta device, not {', '.join(devices)}: build the model and its "
            "inputs under `with torch.device('meta'):` (attention fast paths count 0 elsewhere)"
        )


def count_macs(model: nn.Module, inputs: tuple[Any, ...]) -> tuple[int, dict[str, int]]:
    """Total multiply-accumulates of one forward pass, and per module path (meta device only)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    require_meta(model, inputs)

    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(*inputs)
    prefix = type(model).__name__
    per: dict[str, int] = {}
    for key, ops in counter.get_flop_counts().items():
        if key == prefix or key.startswith(prefix + "."):
            per[key[len(prefix) + 1 :]] = sum(ops.values()) // 2
    return counter.get_total_flops() // 2, per


def measure(model: nn.Module, inputs: tuple[Any, ...]) -> Stats:
    """Parameters (unique), trainable parameters, MACs, and torchinfo's total for comparison.

    MACs are always counted on the meta device: a model or input elsewhere is copied there first
    (see :func:`require_meta` for why a CPU count can be silently low).
    """
    import copy

    import torch

    params = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    meta_model, meta_inputs = model, inputs
    if any(t.device.type != "meta" for t in [*model.parameters(), *model.buffers()]):
        meta_model = copy.deepcopy(model).to("meta")
    if any(isinstance(t, torch.Tensor) and t.device.type != "meta" for t in inputs):
        meta_inputs = tuple(t.to("meta") if isinstance(t, torch.Tensor) else t for t in inputs)
    macs, per = count_macs(meta_model, meta_inputs)
    try:
        import torchinfo

        device = next(model.parameters()).device if params else torch.device("cpu")
        info = torchinfo.summary(model, input_data=list(inputs), device=device, verbose=0)
        ti: int | None = int(info.total_params)
    except Exception:  # torchinfo is only a cross-check; our own count is the reference
        ti = None
    return Stats(params, trainable, macs, per, ti)


def human(n: float, unit: str = "") -> str:
    """``25557032`` → ``25.6 M``; ``3.86e9`` → ``3.86 G``."""
    for scale, suffix in ((1e9, " G"), (1e6, " M"), (1e3, " K")):
        if abs(n) >= scale:
            value = n / scale
            digits = 2 if value < 10 else 1
            return f"{value:.{digits}f}{suffix}{unit}"
    return f"{n:g}{unit}"


def paper_figure(n: float, unit: str = "") -> str:
    """A figure quoted from a paper, with the digits the paper gives and no more.

    ``60e6`` → ``60 M`` (the paper's "60 million", not ``60.0 M``), ``1.8e9`` → ``1.8 G``,
    ``1e9`` → ``1 G`` (the paper's "1B"). :func:`human` is for the counts we measure.
    """
    for scale, suffix in ((1e9, " G"), (1e6, " M"), (1e3, " K")):
        if abs(n) >= scale:
            return f"{round(n / scale, 6):g}{suffix}{unit}"
    return f"{n:g}{unit}"


def _rows(tr: Trace, stats: Stats, depth: int) -> list[tuple[str, str, str, int, int, int]]:
    """(path, type, output shape, params, MACs, level) for the table, runs folded."""
    from tools.generator.trace import CONTAINERS, feeds, is_leaf, sibling_runs

    modules = tr.modules()
    rows: list[tuple[str, str, str, int, int, int]] = []

    def out_shape(path: str) -> str:
        calls = tr.calls.get(path)
        return shape_label(calls[-1].shapes[0]) if calls and calls[-1].shapes else "—"

    def walk(path: str, level: int, nc: int) -> None:
        """``level``: indentation; ``nc``: non-container modules above (for ``depth``)."""
        runs = {members[0]: members for members in sibling_runs(modules, path, feeds(tr))}
        skip: set[str] = set()
        for name, child in modules[path].named_children():
            cpath = f"{path}.{name}" if path else name
            if cpath in skip:
                continue
            members = runs.get(cpath, [cpath])
            skip.update(members)
            n = sum(sum(p.numel() for p in modules[m].parameters()) for m in members)
            macs = sum(stats.macs_by_module.get(m, 0) for m in members)
            kind = type(child).__name__ + (f" × {len(members)}" if len(members) > 1 else "")
            label = cpath if len(members) == 1 else f"{cpath}–{members[-1].rpartition('.')[2]}"
            rows.append((label, kind, out_shape(members[-1]), n, macs, level))
            child_nc = nc + (0 if isinstance(child, CONTAINERS) else 1)
            if len(members) == 1 and not is_leaf(child) and child_nc < depth:
                walk(cpath, level + 1, child_nc)

    walk("", 0, 0)
    return rows


def params_table(model: Model, tr: Trace, stats: Stats) -> str:
    """The per-layer Markdown table with totals and the "paper / ours" line."""
    lines = [
        "| 层（代码中的名字） | 类型 | 输出形状 | 参数量 | MACs |",
        "| :-- | :-- | :-- | --: | --: |",
    ]
    for path, kind, shape, n, macs, level in _rows(tr, stats, model.table_depth):
        indent = "&emsp;" * level
        lines.append(
            f"| {indent}`{path}` | {kind} | {shape} | {n:,} | {human(macs) if macs else '—'} |"
        )
    lines.append(
        f"| **合计** | {type(tr.root).__name__} | {shape_label(tr.output_shapes[0])} "
        f"| **{stats.params:,}** | **{human(stats.macs)}** |"
    )
    lines.append("")
    lines.append(summary_line(model, stats))
    return "\n".join(lines) + "\n"


def summary_line(model: Model, stats: Stats) -> str:
    """'论文 / 我们' comparison with the catalog's explanation of any gap."""
    ours = f"参数 {stats.params:,}（{human(stats.params)}），MACs {human(stats.macs)}"
    parts = [
        f"**我们的实现**：{ours}（输入 {' , '.join(shape_label(s.shape) for s in model.inputs)}）。"
    ]
    paper = []
    if model.paper_params:
        diff = (stats.params - model.paper_params) / model.paper_params * 100
        paper.append(f"参数 {paper_figure(model.paper_params)}（差 {diff:+.1f} %）")
    if model.paper_macs:
        diff = (stats.macs - model.paper_macs) / model.paper_macs * 100
        paper.append(f"FLOPs（乘加）{paper_figure(model.paper_macs)}（差 {diff:+.1f} %）")
    if paper:
        src = f"，{model.paper_source}" if model.paper_source else ""
        parts.append(f"**论文**{src}：{'；'.join(paper)}。")
    if stats.trainable != stats.params:
        parts.append(f"其中可训练参数 {stats.trainable:,}。")
    if stats.torchinfo_params is not None and stats.torchinfo_params != stats.params:
        parts.append(
            f"torchinfo 报告 {stats.torchinfo_params:,}：它把共享的权重按使用次数重复计数，"
            "这里的合计以 `sum(p.numel())` 为准。"
        )
    if model.gap:
        parts.append(f"**差异说明**：{model.gap}")
    return '!!! note "论文 / 我们"\n' + "\n".join(f"    {p}\n" for p in parts)


def gap_problem(model: Model, stats: Stats, tolerance: float = 0.01) -> str | None:
    """Why a measured total is not acceptable, or None.

    Counts must match the catalog exactly, and a gap to the paper's figures beyond ``tolerance``
    must be explained in the catalog.
    """
    if stats.params != model.params:
        return (
            f"counted {stats.params:,} parameters but tools/catalog.toml says {model.params:,} "
            "(update 'params' if the change is intended)"
        )
    for label, paper, ours in (
        ("parameters", model.paper_params, stats.params),
        ("MACs", model.paper_macs, stats.macs),
    ):
        if paper and abs(ours - paper) / paper > tolerance and not model.gap:
            return (
                f"{label} differ from the paper's {paper:g} by {abs(ours - paper) / paper:.1%}: "
                "explain the gap in the catalog's 'gap' field"
            )
    return None
