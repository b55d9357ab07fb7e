"""Step 3 of the generator: a trace → a textbook-style architecture diagram (Graphviz SVG).

The trace is a :class:`tools.generator.trace.Trace` (see :mod:`tools.generator`).

What the picture shows, and how:

* **module hierarchy** — a module is drawn as a cluster (expanded) or as one box (collapsed). The
  root and pure containers (``Sequential``/``ModuleList``) are expanded; other modules are expanded
  down to ``depth`` levels of non-container modules. Built-in layers are always one box.
* **repetition** — consecutive sibling modules with the same type and ``repr`` form a run: the first
  is drawn, titled ``layer2.1–3 · Bottleneck × 3``, the others are folded into it.
* **true dataflow** — edges follow the tensors; a value read by a merge (``out + identity``) from an
  earlier box is a skip edge, drawn in its own colour. Edges carry the tensor shape (batch dropped).
* **compact boxes** — ``merge="segments"`` folds parameter-light layers (activation, norm, pooling,
  dropout, reshapes) into the box of the layer before them; ``merge="chains"`` folds every linear
  chain into one box; ``merge="none"`` draws every layer.
* **theming** — each kind of layer has one colour; the inline SVG names it by a class
  (:func:`css_class`) whose rule in ``diagrams.css`` reads a CSS variable with the light value as
  fallback, so the diagram follows Material's light/dark toggle.
"""

from __future__ import annotations

import collections
import dataclasses
import html
import inspect
import math
import re
from collections.abc import Callable

import graphviz
from torch import nn

from tools.generator.tables import shape_label
from tools.generator.trace import CONTAINERS, Trace, feeds, is_leaf, sibling_runs

# ── kinds of layer and their colours (light value = CSS fallback; dark values live in CSS) ──
KINDS: dict[str, tuple[str, str]] = {
    # kind: (fill colour, Chinese legend label)
    "conv": ("#bbdefb", "卷积"),
    "linear": ("#ffcdd2", "全连接"),
    "attn": ("#fff59d", "注意力"),
    "rnn": ("#d1c4e9", "循环单元"),
    "embed": ("#b2dfdb", "嵌入"),
    "norm": ("#e1bee7", "归一化"),
    "act": ("#ffe0b2", "激活"),
    "pool": ("#c8e6c9", "池化"),
    "dropout": ("#eeeeef", "Dropout"),
    "merge": ("#fffffe", "合并（相加/拼接）"),
    "reshape": ("#f5f5f4", "变形"),
    "block": ("#cfd8dc", "模块（折叠）"),
    "io": ("#fefefe", "输入/输出/参数"),
    "other": ("#e0e0e1", "其他运算"),
}
LIGHT = {"norm", "act", "pool", "dropout", "reshape", "other"}
TEXT, EDGE, SKIP, LINE = "#010203", "#5c6b7a", "#d81b60", "#6b7785"
CLUSTER_FILL, CLUSTER_LINE = "#f6f8fb", "#9aa7b5"
CSS_VAR = {
    **{fill: f"--dl-{kind}" for kind, (fill, _) in KINDS.items()},
    TEXT: "--dl-text",
    EDGE: "--dl-edge",
    SKIP: "--dl-skip",
    LINE: "--dl-line",
    CLUSTER_FILL: "--dl-cluster",
    CLUSTER_LINE: "--dl-cluster-line",
}
FONT = "Noto Sans CJK SC"

_KIND_BY_CLASS = [
    ("conv", ("Conv",)),
    ("norm", ("Norm",)),
    ("pool", ("Pool",)),
    ("dropout", ("Dropout",)),
    ("attn", ("Attention",)),
    ("rnn", ("LSTM", "GRU", "RNN")),
    ("embed", ("Embedding",)),
    ("linear", ("Linear", "Bilinear")),
    ("reshape", ("Flatten", "Unflatten", "Identity")),
    (
        "act",
        (
            "ReLU",
            "GELU",
            "Tanh",
            "Sigmoid",
            "SiLU",
            "Softmax",
            "ELU",
            "Mish",
            "Maxout",
            "Hardswish",
        ),
    ),
]
_KIND_BY_OP = {
    "merge": {"add", "sub", "cat", "concat", "stack", "mul", "div", "truediv", "where", "lerp"},
    "attn": {"scaled_dot_product_attention", "matmul", "bmm", "einsum", "baddbmm"},
    "act": {
        "relu",
        "gelu",
        "tanh",
        "sigmoid",
        "silu",
        "softmax",
        "log_softmax",
        "elu",
        "leaky_relu",
    },
    "norm": {"layer_norm", "batch_norm", "group_norm", "normalize", "rms_norm"},
    "pool": {"max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "mean", "amax", "sum"},
    "dropout": {"dropout"},
    "linear": {"linear"},
    "conv": {"conv1d", "conv2d", "conv3d", "conv_transpose2d"},
    "embed": {"embedding"},
}
_OP_SYMBOL = {"add": "⊕", "sub": "⊖", "mul": "⊗", "cat": "‖ cat", "matmul": "@ matmul"}


def layer_kind(module: nn.Module) -> str:
    """The colour class of a layer, from its class name."""
    name = type(module).__name__
    for kind, parts in _KIND_BY_CLASS:
        if any(p in name for p in parts):
            return kind
    return "other"


def op_kind(name: str, n_inputs: int) -> str:
    """The colour class of a functional op; a merge of a single traced value is just arithmetic."""
    for kind, names in _KIND_BY_OP.items():
        if name in names:
            return "other" if kind == "merge" and n_inputs < 2 else kind
    return "reshape" if n_inputs <= 1 else "merge"


def describe(module: nn.Module) -> str:
    """A short hyper-parameter summary of a built-in layer, e.g. ``3→64, 7×7/2``."""
    m = module
    if isinstance(m, nn.modules.conv._ConvNd):
        k = "×".join(map(str, m.kernel_size))
        s = f"/{m.stride[0]}" if max(m.stride) > 1 else ""
        g = f", g={m.groups}" if m.groups > 1 else ""
        return f"{m.in_channels}→{m.out_channels}, {k}{s}{g}"
    if isinstance(m, nn.Linear):
        return f"{m.in_features}→{m.out_features}"
    if isinstance(m, nn.modules.batchnorm._NormBase):
        return f"{m.num_features}"
    if isinstance(m, nn.LayerNorm):
        return "×".join(map(str, m.normalized_shape))
    if isinstance(m, nn.modules.pooling._MaxPoolNd | nn.modules.pooling._AvgPoolNd):
        k, s = m.kernel_size, m.stride
        k = k if isinstance(k, int) else k[0]
        s = s if isinstance(s, int) else s[0]
        return f"{k}×{k}/{s}"
    if isinstance(m, nn.modules.pooling._AdaptiveAvgPoolNd | nn.modules.pooling._AdaptiveMaxPoolNd):
        return f"→{m.output_size}"
    if isinstance(m, nn.modules.dropout._DropoutNd):
        return f"p={m.p}"
    if isinstance(m, nn.Embedding):
        return f"{m.num_embeddings}×{m.embedding_dim}"
    if isinstance(m, nn.MultiheadAttention):
        return f"d={m.embed_dim}, h={m.num_heads}"
    return ""


def count(n: int) -> str:
    """Human-readable parameter count: 9,408 · 2.4 M."""
    if n >= 1_000_000:
        return f"{n / 1e6:.1f} M"
    if n >= 10_000:
        return f"{n / 1e3:.0f} K"
    return f"{n:,}"


def n_params(module: nn.Module) -> int:
    """Parameters of a module (shared ones once)."""
    return sum(p.numel() for p in module.parameters())


@dataclasses.dataclass
class Unit:
    """A box in the diagram before merging: a layer call, an op, a collapsed module, or I/O."""

    key: tuple
    name: str  # label title (relative name)
    path: str  # full path, for the tooltip
    kind: str
    desc: str = ""
    params: int = 0  # parameters this box owns (shared ones are counted by their first user)
    cls: type | None = None  # class to link to
    order: int = 0
    parent: str = ""  # expanded module path the box sits in
    title: str = ""  # overrides the group's title (a cluster folded into its only box)
    cls_name: str = ""  # class name of the layer or module
    short: str = ""  # paper-table form, for chains
    shared: tuple[str, ...] = ()  # owners of parameters this box uses but does not count
    copies: int = 1  # modules a box inside a folded run stands for (its params add them all)


@dataclasses.dataclass
class Graph:
    """Boxes, clusters and edges ready for Graphviz."""

    title: str
    units: dict[tuple, Unit]
    groups: list[list[tuple]]  # merged boxes: each a list of unit keys (first = head)
    edges: list[tuple[tuple, tuple, tuple[int, ...], bool]]  # (src, dst, shape, is_skip)
    clusters: dict[str, str]  # expanded path -> label
    cluster_cls: dict[str, type]
    parent_of: dict[str, str]  # cluster path -> parent cluster path
    root: str = ""
    unused: dict[str, int] = dataclasses.field(default_factory=dict)  # parameters no box uses
    tight: bool = False  # boxes packed closer side by side (set by :func:`fit` as a last resort)


# ── stage 1: runs of identical siblings ──────────────────────────────────────────────────


def _run_name(members: list[str]) -> str:
    first, last = members[0], members[-1]
    head, _, a = first.rpartition(".")
    b = last.rpartition(".")[2]
    return f"{head + '.' if head else ''}{a}–{b}"


def find_runs(tr: Trace, root: str = "", keep: tuple[str, ...] = ()) -> dict[str, list[str]]:
    """Stage *runs*: first member → all members, for every run under ``root``.

    Children of the containers in ``keep`` are never folded (a U-Net's stages each feed a skip).
    """
    modules = tr.modules()
    run_of: dict[str, list[str]] = {}
    for path, mod in modules.items():
        if _under(path, root) and not is_leaf(mod) and path not in keep:
            for members in sibling_runs(modules, path, feeds(tr)):
                run_of[members[0]] = members
    return run_of


def _under(path: str, root: str) -> bool:
    return root == "" or path == root or path.startswith(root + ".")


# ── stage 2: visibility (which modules are clusters, boxes or hidden) ─────────────────────


@dataclasses.dataclass
class Visibility:
    """Which modules are drawn as clusters (expanded), as one box (collapsed) or not at all."""

    modules: dict[str, nn.Module]
    root: str
    depth: float
    run_of: dict[str, list[str]]

    def __post_init__(self) -> None:
        self.hidden = {m for members in self.run_of.values() for m in members[1:]}

    def under(self, path: str) -> bool:
        """Whether ``path`` lies inside the diagram's root."""
        return _under(path, self.root)

    def is_hidden(self, path: str) -> bool:
        """Whether ``path`` is (inside) a folded member of a run."""
        return any(path == h or path.startswith(h + ".") for h in self.hidden)

    def level(self, path: str) -> int:
        """Non-container modules from the diagram root down to ``path`` (inclusive)."""
        base = self.root.count(".") + 1 if self.root else 0
        parts = path.split(".")
        return sum(
            1
            for i in range(base + 1, len(parts) + 1)
            if not isinstance(self.modules[".".join(parts[:i])], CONTAINERS)
        )

    def expanded(self, path: str) -> bool:
        """Whether ``path`` is drawn as a cluster rather than one box."""
        mod = self.modules[path]
        if path == self.root:
            return True
        if is_leaf(mod):
            return False
        return isinstance(mod, CONTAINERS) or self.level(path) <= self.depth

    def nearest_expanded(self, path: str) -> str:
        """The cluster a box for ``path`` sits in."""
        while path and path != self.root:
            path = path.rpartition(".")[0] if "." in path else ""
            if path == self.root or (self.under(path) and self.expanded(path)):
                return path
        return self.root

    def twins(self, path: str) -> list[str]:
        """The modules a drawn module stands for.

        Itself, or its counterpart in every folded member of the runs around it.
        """
        out = [path]
        for first, members in self.run_of.items():
            if len(members) > 1:
                out = (
                    [m + p[len(first) :] for p in out for m in members]
                    if any(p == first or p.startswith(first + ".") for p in out)
                    else out
                )
        return out


# ── stage 3: values (plumbing folded into edges, masks) ──────────────────────────────────

# Ops that only move, re-index or re-type data: never a box; the edge carries their result.
PLUMBING = {
    "view", "reshape", "transpose", "permute", "mT", "T", "mH", "t", "contiguous", "getitem",
    "split", "chunk", "unbind", "expand", "expand_as", "unsqueeze", "squeeze", "flatten",
    "unflatten", "view_as", "reshape_as", "movedim", "swapaxes", "narrow", "select", "float",
    "double", "half", "bfloat16", "long", "int", "bool", "to", "type", "type_as", "clone",
    "detach", "repeat", "tile", "broadcast_to",
}  # fmt: skip
PLUMBING_LAYERS = ("Identity", "Flatten", "Unflatten")


def is_plumbing(op) -> bool:
    """An op or layer that only moves data: reshapes, index, casts, ``nn.Identity``."""
    if op.module is not None:
        return type(op.module).__name__ in PLUMBING_LAYERS
    return op.name in PLUMBING


@dataclasses.dataclass
class Values:
    """Stage *values*: where a value really comes from once plumbing is folded away."""

    through: dict[int, int]  # output of a folded op (or of a run's last member) -> what it carries
    mask_root: dict[int, int]  # value derived only from boolean masks -> the first such value


def fold_values(tr: Trace, run_of: dict[str, list[str]]) -> Values:
    """Trace plumbing back to its input and boolean bookkeeping back to its first mask."""
    through: dict[int, int] = {}
    for first, members in run_of.items():  # a run's last output is drawn as its first's
        for c_first, c_last in zip(
            tr.calls.get(first, []), tr.calls.get(members[-1], []), strict=False
        ):
            for v_last, v_first in zip(c_last.outputs, c_first.outputs, strict=False):
                through[v_last] = v_first
    mask_root: dict[int, int] = {}
    dtype = tr.value_dtypes
    for op in tr.ops:
        ins = op.inputs
        if op.module is not None:
            continue
        from_mask = [mask_root[v] for v in ins if v in mask_root]
        if is_plumbing(op) and ins:
            if from_mask and all(v in mask_root for v in ins):
                for o in op.outputs:
                    mask_root[o] = from_mask[0]
            continue
        bool_out = all(dtype.get(o) == "bool" for o in op.outputs)
        if ins and (
            (bool_out and all(dtype.get(v) != "float" or v in mask_root for v in ins))
            or all(v in mask_root for v in ins)
        ):
            for o in op.outputs:
                mask_root[o] = from_mask[0] if from_mask else op.outputs[0]
    return Values(through, mask_root)


def carried(tr: Trace, op) -> int:
    """The input a plumbing op passes on: the first floating-point one, else the first."""
    floats = [v for v in op.inputs if tr.value_dtypes.get(v, "float") == "float"]
    return (floats or op.inputs)[0]


# ── stage 4: units (one per drawn layer call, op, collapsed module, parameter, I/O) ───────

FOLDED = ("folded",)  # op_unit value of an op drawn as an edge, not a box


class _Units:
    """Builds the units of one diagram; ``op_unit[i]`` is op ``i``'s box (None: outside)."""

    def __init__(self, tr: Trace, vis: Visibility, vals: Values) -> None:
        self.tr, self.vis, self.vals = tr, vis, vals
        self.units: dict[tuple, Unit] = {}
        self.op_unit: dict[int, tuple | None] = {}

    def call_index(self, path: str, op_index: int) -> int:
        for k, call in enumerate(self.tr.calls.get(path, [])):
            if call.first_op <= op_index <= call.last_op:
                return k
        return 0

    def for_op(self, i: int) -> tuple | None:
        op, vis = self.tr.ops[i], self.vis
        chain = [p for p in op.scope if vis.under(p)]
        if op.module is not None and vis.under(op.name):
            chain.append(op.name)
        if vis.root and not chain:
            return None  # outside the detail diagram's root
        for path in chain:
            if vis.is_hidden(path):
                return None
            if path != vis.root and not vis.expanded(path):
                if op.module is vis.modules[path] and is_plumbing(op):
                    return FOLDED
                return self.module_unit(path, i)
        if is_plumbing(op) or any(o in self.vals.mask_root for o in op.outputs):
            return FOLDED
        parent = chain[-1] if chain else vis.root
        key = ("op", i)
        self.units[key] = Unit(
            key, _OP_SYMBOL.get(op.name, op.name), f"{parent}: {op.name}" if parent else op.name,
            op_kind(op.name, len(op.inputs)), order=i, parent=parent,
        )  # fmt: skip
        return key

    def module_unit(self, path: str, i: int) -> tuple:
        """The box of a collapsed module or a layer (one per call)."""
        key = ("mod", path, self.call_index(path, i))
        if key in self.units:
            return key
        vis, mod = self.vis, self.vis.modules[path]
        parent = vis.nearest_expanded(path)
        if is_leaf(mod) and not vis.run_of.get(path):
            unit = Unit(key, _rel(path, parent), path, layer_kind(mod), describe(mod), order=i)
            unit.short = short(mod)
        else:
            members = vis.run_of.get(path, [path])
            name = _run_name(members) if len(members) > 1 else path
            times = f" × {len(members)}" if len(members) > 1 else ""
            kind = layer_kind(mod) if is_leaf(mod) else "block"
            desc = describe(mod) if is_leaf(mod) else type(mod).__name__ + times
            unit = Unit(key, _rel(name, parent), path, kind, desc, cls=type(mod), order=i)
            if is_leaf(mod):
                unit.cls, unit.desc = None, f"{desc} × {len(members)}"
        unit.parent, unit.cls_name = parent, type(mod).__name__
        self.units[key] = unit
        return key

    def source_of(self, v: int) -> tuple | None:
        """The box a value comes from, through folded plumbing; creates input/param/mask boxes."""
        tr, vals = self.tr, self.vals
        while True:
            v = vals.through.get(v, v)
            if v in vals.mask_root:
                return self.pseudo(("mask", vals.mask_root[v]), "mask", "", -3)
            if v in tr.param_sources:
                name = tr.param_sources[v]
                owner = name.rpartition(".")[0]
                if not (self.vis.under(owner) and self.vis.expanded(owner)):
                    return None  # used inside a collapsed box: part of it
                desc = shape_label((1, *tr.value_shapes[v]))
                return self.pseudo(("param", name), name, desc, -1)
            op_i = tr.producer.get(v)
            if op_i is None:
                break
            unit = self.op_unit.get(op_i)
            if unit is FOLDED:
                v = carried(tr, tr.ops[op_i])
                continue
            if unit is not None:
                return unit
            if self.vis.root == "":
                return None  # produced inside a folded run member: not drawn
            break
        if ("in", v) in self.units:
            return ("in", v)
        n = sum(1 for k in self.units if k[0] == "in")
        label = "输入" if n == 0 else f"输入 {n + 1}"
        if v in tr.inputs and self.vis.root == "":
            label = "输入 " + _arg_names(tr.root).get(tr.inputs.index(v), str(n + 1))
        return self.pseudo(("in", v), label, shape_label(tr.value_shapes[v]), -2)

    def pseudo(self, key: tuple, name: str, desc: str, order: int) -> tuple:
        if key not in self.units:
            parent = self.vis.root
            if key[0] == "param":
                parent = self.vis.nearest_expanded(name)
                name = _rel(name, parent)
            self.units[key] = Unit(key, name, key[1] if key[0] == "param" else name, "io", desc,
                                   order=order, parent=parent)  # fmt: skip
        return key


def _arg_names(model: nn.Module) -> dict[int, str]:
    """Names of the forward's positional arguments (``src``, ``tgt``), by position."""
    try:
        params = inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        return {}
    return dict(enumerate(params))


def make_units(tr: Trace, vis: Visibility, vals: Values) -> _Units:
    """Stage *units*: a box for every op call that is drawn."""
    mk = _Units(tr, vis, vals)
    for op in tr.ops:
        mk.op_unit[op.index] = mk.for_op(op.index)
    return mk


# ── stage 5: edges (dataflow, skips, outputs; dead-end bookkeeping dropped) ──────────────


def make_edges(tr: Trace, mk: _Units) -> dict[tuple[tuple, tuple], tuple[int, ...]]:
    """Stage *edges*: (source box, destination box) → shape of the tensor on the edge."""
    edges: dict[tuple[tuple, tuple], tuple[int, ...]] = {}
    for op in tr.ops:
        dst = mk.op_unit[op.index]
        if dst is None or dst is FOLDED:
            continue
        for v in op.inputs:
            src = mk.source_of(v)
            if src is not None and src != dst and (src, dst) not in edges:
                edges[(src, dst)] = tr.value_shapes[v]
    root = mk.vis.root
    outs = tr.outputs if root == "" else (tr.calls[root][0].outputs if root in tr.calls else [])
    for j, v in enumerate(outs):
        src = mk.source_of(v)
        key = ("out", j)
        mk.units[key] = Unit(
            key,
            "输出" if len(outs) == 1 else f"输出 {j + 1}",
            "output",
            "io",
            shape_label(tr.value_shapes[v]),
            order=10**9 + j,
            parent=root,
        )
        if src is not None:
            edges[(src, key)] = tr.value_shapes[v]
    _drop_dead_ends(mk.units, edges)
    return edges


def _drop_dead_ends(units: dict[tuple, Unit], edges: dict) -> None:
    """Remove op boxes whose result reaches nothing drawn (index bookkeeping such as argmax)."""
    while True:
        has_out = {s for s, _ in edges}
        dead = [k for k in units if k[0] == "op" and k not in has_out]
        if not dead:
            return
        for k in dead:
            del units[k]
        for e in [e for e in edges if e[0] in dead or e[1] in dead]:
            del edges[e]


def skip_edges(units: dict[tuple, Unit], edges: dict) -> set[tuple[tuple, tuple]]:
    """The shortcut edges into merges.

    Among the inputs of a merge, the shallower ones that fork from (or feed) the deepest input's
    branch are shortcuts; two independent inputs are not.
    """
    preds: dict[tuple, list[tuple]] = {}
    for s, d in edges:
        preds.setdefault(d, []).append(s)
    depth_of: dict[tuple, int] = {}
    for key in sorted(units, key=lambda k: units[k].order):
        depth_of[key] = 1 + max((depth_of.get(s, 0) for s in preds.get(key, [])), default=-1)
    skip: set[tuple[tuple, tuple]] = set()
    for key, unit in units.items():
        ins = [s for s in preds.get(key, []) if units[s].key[0] not in ("mask", "param")]
        if unit.kind == "merge" and len(ins) > 1:
            deepest = max(ins, key=lambda s: (depth_of[s], units[s].order))
            up = _upstream(preds, deepest)
            skip.update(
                (s, key)
                for s in ins
                if depth_of[s] < depth_of[deepest] and (s in up or _upstream(preds, s) & up)
            )
    return skip


def _upstream(preds: dict[tuple, list[tuple]], a: tuple) -> set[tuple]:
    """Every box ``a`` depends on: a shortcut forks from the branch it rejoins."""
    seen: set[tuple] = set()
    todo = [a]
    while todo:
        for n in preds.get(todo.pop(), []):
            if n not in seen:
                seen.add(n)
                todo.append(n)
    return seen


# ── stage 6: parameters (each tensor counted once, by its first user) ────────────────────


def count_params(tr: Trace, vis: Visibility, units: dict[tuple, Unit]) -> dict[str, int]:
    """Stage *parameters*: set each box's ``params`` and ``shared``.

    A tensor used by several boxes (tied weights, a module called twice) is counted by the first
    and named as shared on the others.

    Returns the parameters under the root that no box uses (not run by the example input).
    """
    owner: dict[int, str] = {}
    for name, p in tr.root.named_parameters(remove_duplicate=False):
        owner.setdefault(id(p), name)
    claimed: set[int] = set()
    for unit in sorted(units.values(), key=lambda u: (u.order, str(u.key))):
        if unit.key[0] == "mod":
            paths = vis.twins(unit.path)
            tensors = [(p, t) for t in paths for _, p in _params(vis.modules[t])]
        elif unit.key[0] == "param":
            mod, _, attr = unit.path.rpartition(".")
            paths = vis.twins(mod) if mod else [""]
            tensors = [(getattr(vis.modules[t], attr), t) for t in paths]
        else:
            continue
        unit.copies, shared = len(paths), []
        for p, _ in tensors:
            own = owner[id(p)]
            if id(p) in claimed or not _under(own, vis.root):
                shared.append(own.rpartition(".")[0] or own)
            else:
                claimed.add(id(p))
                unit.params += p.numel()
        unit.shared = tuple(dict.fromkeys(shared))
    root = vis.modules[vis.root]
    prefix = f"{vis.root}." if vis.root else ""
    unused: dict[str, int] = {}
    for name, p in root.named_parameters():
        if id(p) not in claimed and _under(owner[id(p)], vis.root):
            unused[prefix + name] = p.numel()
    return unused


def _params(module: nn.Module) -> list[tuple[str, nn.Parameter]]:
    return list(module.named_parameters(remove_duplicate=False))


# ── stage 7: graph (merged boxes, clusters) ───────────────────────────────────────────────


def make_graph(
    vis: Visibility, units: dict[tuple, Unit], edges: dict, merge: str, title: str
) -> Graph:
    """Stage *graph*: fold boxes as ``merge`` says, nest clusters, drop one-box clusters."""
    skip = skip_edges(units, edges)
    groups = _merge(units, edges, merge)
    clusters, cluster_cls, parent_of = _clusters(vis, units)
    # a cluster that holds a single box and no sub-cluster is drawn as that box, titled by it
    for path in sorted(clusters, key=lambda c: -c.count(".")):
        if path == vis.root or any(parent_of.get(c) == path for c in clusters):
            continue
        inside = [grp for grp in groups if units[grp[0]].parent == path]
        if len(inside) == 1 and merge != "none":
            for key in inside[0]:
                units[key].parent = parent_of[path]
            units[inside[0][0]].title = clusters[path]
            del clusters[path]
            cluster_cls.pop(path, None)
            parent_of.pop(path)
    edge_list = [(s, d, shp, (s, d) in skip) for (s, d), shp in edges.items()]
    return Graph(title, units, groups, edge_list, clusters, cluster_cls, parent_of, vis.root)


def _clusters(
    vis: Visibility, units: dict[tuple, Unit]
) -> tuple[dict[str, str], dict[str, type], dict[str, str]]:
    """Every expanded module that holds a box, with its ancestors: label, class, parent."""
    clusters: dict[str, str] = {}
    cluster_cls: dict[str, type] = {}
    parent_of: dict[str, str] = {}
    root = vis.root
    for path in sorted({u.parent for u in units.values()} | ({root} if root else set())):
        p = path
        while p and p not in clusters:
            mod = vis.modules[p]
            members = vis.run_of.get(p, [p])
            parent = vis.nearest_expanded(p) if p != root else ""
            name = _rel(_run_name(members) if len(members) > 1 else p, parent)
            times = f" × {len(members)}" if len(members) > 1 else ""
            is_cont = isinstance(mod, CONTAINERS)
            clusters[p] = name if is_cont else f"{name} · {type(mod).__name__}{times}"
            if not is_cont:
                cluster_cls[p] = type(mod)
            parent_of[p] = parent
            p = parent
    return clusters, cluster_cls, parent_of


def build(
    tr: Trace,
    *,
    root: str = "",
    depth: float = 2,
    merge: str = "segments",
    title: str = "",
    keep: tuple[str, ...] = (),
) -> Graph:
    """Trace → runs → visibility → values → units → edges → parameters → graph."""
    modules = tr.modules()
    if root not in modules:
        raise KeyError(f"no submodule {root!r}")
    run_of = find_runs(tr, root, keep)
    vis = Visibility(modules, root, depth, run_of)
    vals = fold_values(tr, run_of)
    mk = make_units(tr, vis, vals)
    edges = make_edges(tr, mk)
    unused = count_params(tr, vis, mk.units)
    g = make_graph(vis, mk.units, edges, merge, title)
    g.unused = unused
    return g


def _rel(path: str, parent: str) -> str:
    """``path`` relative to ``parent``; an index ("0", "1–2") keeps its container's name."""
    if not (parent and path.startswith(parent + ".")):
        return path
    rel = path[len(parent) + 1 :]
    return f"{parent.rpartition('.')[2]}.{rel}" if rel[:1].isdigit() else rel


def short(module: nn.Module) -> str:
    """The paper-table form of a layer: ``3×3, 128 /2`` for a conv, ``fc 1000`` for a linear."""
    if isinstance(module, nn.modules.conv._ConvNd):
        k = "×".join(map(str, module.kernel_size))
        s = f" /{module.stride[0]}" if max(module.stride) > 1 else ""
        return f"{k}, {module.out_channels}{s}"
    if isinstance(module, nn.Linear):
        return f"fc {module.out_features}"
    return describe(module)


def _merge(units: dict[tuple, Unit], edges: dict, mode: str) -> list[list[tuple]]:
    """Fold linear runs of boxes into one box, as ``mode`` says; return the groups."""
    succ: dict[tuple, list[tuple]] = {}
    pred: dict[tuple, list[tuple]] = {}
    for s, d in edges:
        succ.setdefault(s, []).append(d)
        pred.setdefault(d, []).append(s)
    group_of: dict[tuple, list[tuple]] = {}
    groups: list[list[tuple]] = []
    for key in sorted(units, key=lambda k: (units[k].order, str(k))):
        unit = units[key]
        ps = pred.get(key, [])
        if mode != "none" and unit.kind != "io" and len(ps) == 1:
            p = ps[0]
            pu = units[p]
            ok = (
                pu.kind != "io"
                and pu.parent == unit.parent
                and len(succ.get(p, [])) == 1
                and (mode == "chains" or unit.kind in LIGHT)
                and p in group_of
            )
            if ok:
                group_of[p].append(key)
                group_of[key] = group_of[p]
                continue
        group = [key]
        group_of[key] = group
        groups.append(group)
    return groups


# ── Graphviz ────────────────────────────────────────────────────────────────────────────


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _row(text: str, size: int = 9, align: str = "CENTER") -> str:
    return f'<TR><TD ALIGN="{align}"><FONT POINT-SIZE="{size}">{text}</FONT></TD></TR>'


def _label(units: list[Unit], mode: str, one_line: bool = False) -> str:
    """An HTML-like label: bold name, one line of hyper-parameters and parameters, folded layers."""
    head = units[0]
    if head.key[0] == "mask":
        return f"<{_esc(head.name)}>"
    title = _esc(head.title or head.name)
    if one_line:  # a stage of a U-Net: name and size on one line (the class is in the tooltip)
        return (
            f'<<B>{title}</B><FONT POINT-SIZE="9"> {_esc(" · ".join(_param_text(units)))}</FONT>>'
        )
    lines: list[str] = []  # small-print lines (escaped)
    if len(units) > 1 and head.kind == "merge":
        title += f'<FONT POINT-SIZE="9"> → {_esc(" → ".join(u.name for u in units[1:]))}</FONT>'
    elif len(units) > 1 and mode == "chains":
        heavy = [u for u in units if u.kind not in LIGHT] or units
        if not head.title:
            title = f"{_esc(head.name)} … {_esc(units[-1].name)}"
        lines.append(_esc(" → ".join(u.short or u.desc or u.name for u in heavy)))
    else:
        sub = head.desc or _type_name(head)
        if sub:
            lines.append(_esc(sub))
    counts = _param_text(units)
    if counts and lines and len(lines[-1]) + len(counts[0]) < 30:
        lines[-1] += " · " + counts.pop(0)
    lines += counts
    if len(units) > 1 and head.kind != "merge" and mode != "chains":
        chips = [
            f'<FONT COLOR="{KINDS[u.kind][0]}">■</FONT> '
            + _esc(" ".join(x for x in (_type_name(u) or u.name, u.desc) if x))
            for u in units[1:]
        ]
        lines += [" ".join(chips[i : i + 2]) for i in range(0, len(chips), 2)]
    rows = [f'<TR><TD ALIGN="CENTER"><B>{title}</B></TD></TR>', *map(_row, lines)]
    table = '<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">'
    return f"<{table}{''.join(rows)}</TABLE>>"


def _param_text(units: list[Unit]) -> list[str]:
    """``1.6 M 参数`` (``6 份合计`` for a box standing for folded copies) and shared weights."""
    total = sum(u.params for u in units)
    copies = max(u.copies for u in units)
    out = []
    if total:
        out.append(f"{count(total)} 参数" + (f"（{copies} 份合计）" if copies > 1 else ""))
    shared = list(dict.fromkeys(s for u in units for s in u.shared))
    if shared:
        out.append(_esc("与 " + "、".join(shared) + " 共享参数"))
    return out


def _type_name(u: Unit) -> str:
    """Class name of a layer box whose hyper-parameters :func:`describe` does not know."""
    return u.cls_name if u.key[0] == "mod" else ""


def _node_attrs(
    g: Graph, units: list[Unit], mode: str, link: Callable[[type], str | None],
    detail: Callable[[Unit], str | None], one_line: bool = False,
) -> dict[str, str]:  # fmt: skip
    head = units[0]
    attrs = {
        "label": _label(units, mode, one_line),
        "shape": "box",
        "style": "rounded,filled",
        "fillcolor": KINDS[head.kind][0],
        "tooltip": " → ".join(u.path for u in units),
        "margin": "0.07,0.02",
    }
    if head.kind == "merge" and len(units) == 1:
        round_ = "circle" if len(head.name) == 1 else "ellipse"  # ⊕ in a circle, ‖ cat an oval
        attrs.update(shape=round_, margin="0.03,0", height="0.25", fixedsize="false")
    if head.kind == "io":
        attrs.update(style="rounded,filled,dashed")
    if head.key[0] == "mask":
        attrs.update(fontsize="9", margin="0.04,0.02", height="0.2", tooltip="mask（布尔掩码）")
    url = detail(head) if head.kind == "block" else None
    if url:
        attrs["tooltip"] += "（点击看它的结构图）"
    url = url or (link(head.cls) if head.cls else None)
    if url:
        attrs.update(URL=url, target="_top")
    return attrs


def _cluster_graphs(
    g: Graph, dot: graphviz.Digraph, link: Callable[[type], str | None]
) -> dict[str, graphviz.Digraph]:
    graphs: dict[str, graphviz.Digraph] = {"": dot}
    for path in g.clusters:
        sub = graphviz.Digraph(name=f"cluster_{len(graphs)}")
        cls = g.cluster_cls.get(path)
        url = link(cls) if cls else None
        sub.attr(
            label=g.clusters[path], labeljust="l", style="rounded,filled", color=CLUSTER_LINE,
            fillcolor=CLUSTER_FILL, fontcolor=TEXT, fontsize="9", penwidth="0.8", margin="3",
            tooltip=f"{path} ({cls.__name__})" if cls else path,
        )  # fmt: skip
        if url:
            sub.attr(URL=url, target="_top")
        graphs[path] = sub
    return graphs


def to_dot(
    g: Graph,
    *,
    link: Callable[[type], str | None],
    mode: str,
    rankdir: str = "TB",
    detail: Callable[[Unit], str | None] = lambda u: None,
    layout: dict[str, str] | None = None,
) -> graphviz.Digraph:
    """Lay the graph out as a Graphviz digraph (boxes, clusters, edges with shapes).

    ``link(cls)`` is a class's API reference; ``detail(unit)`` the detail diagram of a collapsed
    box, which wins over the API link. ``layout`` names the figure's shape (see :func:`_shape`).
    """
    dot = graphviz.Digraph(name="G")
    dot.attr(rankdir=rankdir, newrank="true", nodesep="0.04" if g.tight else "0.15", ranksep="0.13",
             bgcolor="transparent", fontname=FONT, fontsize="10", fontcolor=TEXT, pad="0.1",
             compound="true", forcelabels="true")  # fmt: skip
    dot.attr(
        "node",
        fontname=FONT,
        fontsize="10",
        fontcolor=TEXT,
        color=LINE,
        penwidth="1",
        height="0.3",
        width="0.3",
    )
    dot.attr("edge", fontname=FONT, fontsize="9", fontcolor=TEXT, color=EDGE, arrowsize="0.6")
    node_of = {key: f"n{i}" for i, group in enumerate(g.groups) for key in group}
    graphs = _cluster_graphs(g, dot, link)
    shape = _shape(g, node_of, layout or {})
    side = graphviz.Digraph(name="cluster_side")
    side.attr(label=(layout or {}).get("side", ""), labeljust="l", style="rounded,dashed",
              color=CLUSTER_LINE, fontcolor=TEXT, fontsize="9", margin="3")  # fmt: skip
    for i, group in enumerate(g.groups):
        units = [g.units[k] for k in group]
        parent = units[0].parent
        target = graphs.get(parent, dot) if parent in g.clusters else dot
        target = side if f"n{i}" in shape.side else target
        one_line = units[0].kind == "block" and f"n{i}" in shape.stages
        target.node(f"n{i}", **_node_attrs(g, units, mode, link, detail, one_line))
    for nodes in shape.same_rank:
        with dot.subgraph() as s:
            s.attr(rank="same")
            for n in nodes:
                s.node(n)
    # nest clusters: deepest first into their parents (a cluster of the side input into it)
    for path in sorted(g.clusters, key=lambda p: -p.count(".") - (1 if p else 0)):
        parent = g.parent_of.get(path, "")
        holder = graphs[parent] if parent in graphs else dot
        inside = {node_of[grp[0]] for grp in g.groups if g.units[grp[0]].parent == path}
        holder = side if inside and inside <= shape.side_ext else holder
        holder.subgraph(graphs[path])
    if shape.side:
        dot.subgraph(side)
        for n in sorted(shape.side_out):  # the side input sits above the U
            for top in shape.top:
                dot.edge(n, node_of[top], style="invis")
    for a, b, attrs in _dot_edges(g, node_of, shape):
        dot.edge(a, b, **attrs)
    return dot


@dataclasses.dataclass
class _Shape:
    rising: set[str]  # nodes drawn bottom-up (a U-Net's decoder side)
    same_rank: list[list[str]]
    side: set[str]  # nodes of the side input (a U-Net's conditioning), in a cluster of their own
    side_out: set[str] = dataclasses.field(default_factory=set)  # its nodes feeding the U
    side_ext: set[str] = dataclasses.field(default_factory=set)  # side nodes in sub-clusters
    label_at: str = ""  # the one cluster whose edges from the side input keep their shapes
    stages: set[str] = dataclasses.field(default_factory=set)  # the U's stages (one-line labels)
    cross: set[tuple[str, str]] = dataclasses.field(default_factory=set)  # encoder → decoder
    top: tuple = ()  # the first stage of the U and the output: the U hangs below the side input


def _shape(g: Graph, node_of: dict[tuple, str], layout: dict[str, str]) -> _Shape:
    """Layout hints for the figure's shape.

    ``kind = "unet"``: everything after ``middle`` rises again, each skip
    concatenation sits on the row of the encoder stage that feeds it — a U — and what is computed
    before the first ``down`` stage without leading to it (the conditioning) is a side input.
    """
    if layout.get("kind") == "encdec":
        return _side_by_side(g, node_of, layout)
    if layout.get("kind") != "unet":
        return _Shape(set(), [], set())  # a plain top-down drawing
    last_mid = max(u.order for u in g.units.values() if _under(u.path, layout["middle"]))
    rising_units = {k for k, u in g.units.items() if u.order > last_mid}
    succ: dict[tuple, list[tuple]] = {}
    preds: dict[tuple, list[tuple]] = {}
    for s, d, _, _ in g.edges:
        succ.setdefault(s, []).append(d)
        preds.setdefault(d, []).append(s)
    same: list[list[str]] = []
    for s, d, _, is_skip in g.edges:
        u = g.units[d]
        if is_skip and u.kind == "merge" and d in rising_units and s not in rising_units:
            row = [node_of[s], node_of[d], *(node_of[x] for x in succ.get(d, [])[:1])]
            same.append(list(dict.fromkeys(row)))
            if u.parent == g.root and layout["up"] in g.clusters:
                u.parent = layout["up"]  # the concatenation sits in the decoder column
    first = min((u for u in g.units.values() if _under(u.path, layout["down"])),
                key=lambda u: u.order)  # fmt: skip
    spine, todo = set(), [first.key]
    while todo:  # the first down stage's own inputs (through its only non-broadcast edges)
        k = todo.pop()
        spine.add(k)
        todo += [p for p in preds.get(k, []) if g.units[p].order < first.order and p not in spine
                 and len(succ.get(p, [])) < 3]  # fmt: skip
    side_ext = {node_of[k] for k, u in g.units.items() if u.order < first.order and k not in spine}
    side = {node_of[k] for k in g.units if node_of[k] in side_ext and g.units[k].parent == g.root}
    side_out = {node_of[s] for s, d, _, _ in g.edges
                if node_of[s] in side_ext and node_of[d] not in side_ext}  # fmt: skip
    tops = (first.key, *(k for k in g.units if k[0] == "out"))
    rising = {node_of[k] for k in rising_units}
    stages = {node_of[k] for k, u in g.units.items()
              if any(_under(u.path, layout[p]) for p in ("down", "middle", "up"))}  # fmt: skip
    return _Shape(rising, same, side, side_out=side_out, top=tops, side_ext=side_ext,
                  label_at=layout["down"], stages=stages)  # fmt: skip


def _side_by_side(g: Graph, node_of: dict[tuple, str], layout: dict[str, str]) -> _Shape:
    """Layout of an encoder–decoder (``kind = "encdec"``, the Transformer's Fig. 1).

    The ``left`` and ``right`` stacks side by side, row by row; the two calls of a shared module
    (the embedding) on one row.
    """

    def stack(path: str) -> list[str]:
        units = sorted((u for u in g.units.values() if _under(u.path, path)), key=lambda u: u.order)
        return list(dict.fromkeys(node_of[u.key] for u in units))

    rows = [list(pair) for pair in zip(stack(layout["left"]), stack(layout["right"]), strict=False)]
    calls: dict[str, list[str]] = {}
    for k, u in sorted(g.units.items(), key=lambda kv: kv[1].order):
        if k[0] in ("mod", "in"):
            calls.setdefault(u.path if k[0] == "mod" else "input", []).append(node_of[k])
    rows += [list(dict.fromkeys(c))[:2] for c in calls.values() if len(set(c)) == 2]
    cross = {(a, b) for a in stack(layout["left"]) for b in stack(layout["right"])}
    return _Shape(set(), rows, set(), cross=cross)


def _dot_edges(
    g: Graph, node_of: dict[tuple, str], shape: _Shape
) -> list[tuple[str, str, dict[str, str]]]:
    """Edges with their shapes; a value fanned out to many boxes of one cluster is one edge."""
    fan: dict[tuple[str, str], list[tuple[str, tuple[int, ...]]]] = {}
    for src, dst, shp, _ in g.edges:
        head = g.units[g.groups[int(node_of[dst][1:])][0]]
        fan.setdefault((node_of[src], head.parent), []).append((node_of[dst], shp))
    out = []
    for src, dst, shp, is_skip in sorted(g.edges, key=lambda e: (node_of[e[0]], node_of[e[1]])):
        a, b = node_of[src], node_of[dst]
        if a == b:
            continue
        parent = g.units[g.groups[int(b[1:])][0]].parent
        fans = fan[(a, parent)]
        attrs = {"xlabel": f" {shape_label(shp)} "}
        side = a in shape.side_ext and b not in shape.side_ext
        inside = _under(g.units[src].parent, parent)
        if (len({d for d, _ in fans}) >= 3 or side) and parent in g.clusters and not inside:
            if b != fans[0][0] or (side and parent != shape.label_at):
                continue  # one edge per cluster; from the side input, one edge in all
            text = f" {shape_label(shp)} → {'所有阶段' if side else '各方框'} "
            attrs = {"xlabel": text, "style": "dotted",
                     "constraint": "false", "lhead": _cluster_name(g, parent)}  # fmt: skip
        if is_skip:
            attrs.update(color=SKIP, penwidth="1.4", style="dashed", fontcolor=SKIP)
        if (a, b) in shape.cross:
            # a label (not an xlabel) on the flat edge: Graphviz makes room for it between stacks
            attrs.update(label=f"{shape_label(shp)}\n交叉注意力的 K、V", xlabel="",
                         constraint="false", penwidth="1.6")  # fmt: skip
        if g.units[src].key[0] == "mask":
            attrs.update(style="dotted", xlabel="")
        flat = any(a in row and b in row for row in shape.same_rank)
        if flat and (a, b) not in shape.cross:
            attrs["xlabel"] = ""  # the row shows the shape on the stage's own edge
        if b in shape.rising and not flat and (a in shape.rising or "constraint" not in attrs):
            a, b = b, a
            attrs["dir"] = "back"
        out.append((a, b, attrs))
    return out


def _cluster_name(g: Graph, path: str) -> str:
    return f"cluster_{1 + list(g.clusters).index(path)}"


# ── size budget ─────────────────────────────────────────────────────────────────────────────

# The content column of a page at a 1280×1000 window (Material, both sidebars shown), measured in
# Chromium (tests/browser checks it); a diagram wider than its natural size is shrunk to it.
COLUMN_PX = 688
MAX_HEIGHT_PX = 1600
MIN_TEXT_PX = 10.0
_MAX_BOXES = 160  # a candidate with more boxes cannot fit; it is not even laid out


@dataclasses.dataclass(frozen=True)
class Size:
    """How large a diagram renders in the column: width and height in px, smallest text in px."""

    width: float
    height: float
    text: float

    def fits(self) -> bool:
        """Within the budget: at most 1,600 px tall, text at least 10 px."""
        return self.height <= MAX_HEIGHT_PX and self.text >= MIN_TEXT_PX


def rendered_size(svg: str, column: float = COLUMN_PX) -> Size:
    """The rendered size of Graphviz's SVG (``width``/``height`` in pt) in the column.

    A diagram is drawn at its natural size (1 pt = 4/3 px) unless wider than the column.
    """
    m = re.search(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', svg)
    if not m:
        raise ValueError("not a Graphviz SVG: no width/height in pt")
    w_pt, h_pt = float(m.group(1)), float(m.group(2))
    px_per_pt = 4 / 3 * min(1.0, column / math.ceil(w_pt * 4 / 3))
    fonts = [float(f) for f in re.findall(r'font-size="([\d.]+)"', svg)] or [10.0]
    return Size(w_pt * px_per_pt, h_pt * px_per_pt, min(fonts) * px_per_pt)


def candidates(depth: float, merge: str) -> list[tuple[float, str]]:
    """(depth, merge) to try, most detailed first: fold light layers, then go one level up."""
    order = ["none", "segments", "chains"]
    merges = order[order.index(merge) :]
    depths = [depth] + [d for d in (3, 2, 1, 0) if d < depth]
    return [(d, m) for d in depths for m in merges]


def fit(
    tr: Trace, *, root: str, depth: float, merge: str, layout: dict | None = None, **kw
) -> tuple[Graph, str, Size]:
    """The most detailed (depth, merge) whose drawing keeps the size budget: graph, mode, size.

    When nothing fits, the candidate with the largest text is returned; its ``Size`` says so.
    """
    best = None
    for tight in (False, True):  # then the same candidates with boxes packed closer
        for d, m in candidates(depth, merge):
            g = build(tr, root=root, depth=d, merge=m, **kw)
            if len(g.groups) > _MAX_BOXES:
                continue
            g.tight = tight
            raw = to_dot(g, link=lambda c: None, mode=m, layout=layout).pipe(
                format="svg", encoding="utf-8"
            )
            size = rendered_size(raw)
            if best is None or size.text > best[2].text:
                best = (g, m, size)
            if size.fits():
                return g, m, size
    if best is None:
        raise ValueError(f"no drawing of {root or 'the model'} has at most {_MAX_BOXES} boxes")
    return best


def signature(module: nn.Module) -> tuple:
    """The structure of a module (class names, child names), sizes ignored.

    A wrapper with a single child, and a container of identical children (a run), have the
    child's signature; ``nn.Identity`` children, which no diagram draws, are left out. Collapsed
    boxes with one signature share a detail diagram.
    """
    kids = [(n, signature(c)) for n, c in module.named_children() if not isinstance(c, nn.Identity)]
    if len(kids) == 1 and not is_leaf(module):
        return kids[0][1]
    if kids and isinstance(module, CONTAINERS) and len({sig for _, sig in kids}) == 1:
        return kids[0][1]  # a run of identical blocks, drawn as one box: the block's structure
    return (type(module).__name__, tuple(kids))


def _layers(sig: tuple, prefix: str = "") -> set[tuple[str, str]]:
    """(path, class) of every module in a signature."""
    out = {(prefix, sig[0])}
    for name, child in sig[1]:
        out |= _layers(child, f"{prefix}.{name}" if prefix else name)
    return out


def variant_of(sig: tuple, drawn: list[tuple]) -> tuple | None:
    """A drawn signature that ``sig`` differs from by one leaf layer only, or None.

    Such a box (a U-Net stage that adds a down-sampling pool, or a 1×1 projection on its
    shortcut, to a drawn one) links to the drawn diagram instead of getting a near-copy.
    """
    mine = _layers(sig)
    for other in drawn:
        theirs = _layers(other)
        diff = mine ^ theirs
        if sig[0] != other[0] or len(diff) != 1:
            continue
        ((path, _),) = diff
        if not any(p.startswith(path + ".") for p, _ in mine | theirs):  # a leaf layer
            return other
    return None


_TAG = re.compile(r"<(polygon|path|ellipse|text|polyline|rect)\b([^>]*?)(/?)>")
_COLOR_ATTR = re.compile(r'\s(fill|stroke)="(#[0-9a-fA-F]{6})"')


_NUM = re.compile(r"-?\d+\.\d+")


def _round(m: re.Match) -> str:
    text = f"{float(m.group(0)):.1f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


_ROUNDED_PATH = re.compile(r'<path([^>]*?) d="(M[-\d.,]+C[-\d., ]+)"')


def _rounded_rect(m: re.Match) -> str:
    """Graphviz's rounded box (a 25-point Bézier path) as the ``<rect rx>`` it draws, 5× shorter.

    Anything else (edges, other shapes) is returned unchanged: the path must be a closed outline
    whose every point lies on the box's edges or at a corner radius ``r`` from them.
    """
    points = [tuple(map(float, p.split(","))) for p in re.split(r"[MC ]+", m.group(2)) if p]
    if len(points) != 25 or points[0] != points[-1]:
        return m.group(0)
    xs, ys = [x for x, _ in points], [y for _, y in points]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    r = min(points[0][0] - x0, x1 - points[0][0])  # the path starts where a corner ends
    if not 0 < r <= min(x1 - x0, y1 - y0) / 2:
        return m.group(0)
    on_x = {x0, x0 + r / 2, x0 + r, x1 - r, x1 - r / 2, x1}
    on_y = {y0, y0 + r / 2, y0 + r, y1 - r, y1 - r / 2, y1}
    if not all(min(abs(x - v) for v in on_x) < 0.11 and min(abs(y - v) for v in on_y) < 0.11
               for x, y in points):  # fmt: skip
        return m.group(0)
    x, y, w, h, r = (_NUM.sub(_round, f"{v:.2f}") for v in (x0, y0, x1 - x0, y1 - y0, r))
    return f'<rect{m.group(1)} x="{x}" y="{y}" width="{w}" height="{h}" rx="{r}"'


def css_class(prop: str, var: str) -> str:
    """The class that paints ``prop`` (fill/stroke) with the CSS variable ``var``."""
    return f"dl{prop[0]}-{var.removeprefix('--dl-')}"


def css_rules() -> str:
    """The stylesheet block behind :func:`css_class`, as ``docs/stylesheets/diagrams.css`` holds it.

    A class per colour instead of a ``style`` attribute per shape: the same rule, written once
    per site instead of 1,100 times on the DALL·E 2 page. The light colour is the fallback.
    """
    return "".join(
        f".{css_class(prop, var)} {{ {prop}: var({var}, {colour}); }}\n"
        for colour, var in CSS_VAR.items()
        for prop in ("fill", "stroke")
    )


def themable_svg(svg: str) -> str:
    """Make Graphviz's SVG inline-ready: colours as classes of CSS variables; no ids or prolog.

    Inherited presentation attributes (text colour, ``text-anchor``, the commonest font size)
    move to the ``<svg>`` element; coordinates are rounded to 0.1 pt.
    """
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.S)

    def tag(m: re.Match) -> str:
        name, attrs = m.group(1), m.group(2)
        classes = []
        for prop, colour in _COLOR_ATTR.findall(attrs):
            var = CSS_VAR.get(colour.lower())
            if var and not (name == "text" and colour.lower() == TEXT):  # inherited from <svg>
                classes.append(css_class(prop, var))
        attrs = _COLOR_ATTR.sub(
            lambda a: "" if CSS_VAR.get(a.group(2).lower()) else a.group(0), attrs
        )
        if classes:
            attrs += f' class="{" ".join(classes)}"'
        return f"<{name}{attrs}{m.group(3)}>"

    svg = _TAG.sub(tag, svg)
    # Graphviz's element ids: nothing refers to them, and on a page several diagrams would
    # repeat them; dropping them saves about a tenth of a diagram's bytes
    svg = re.sub(r'\s\bid="[^"]+"', "", svg)
    svg = re.sub(r"<title>[^<]*</title>\n?", "", svg)  # Graphviz's own ids ("n12", "n1->n2")
    # each link's own <g> wrapper and target: an inline diagram links within its page
    svg = svg.replace("<g><a ", "<a ").replace("</a>\n</g>", "</a>").replace(' target="_top"', "")
    svg = re.sub(  # coordinates to 0.1 pt (a tenth of a pixel at most): a third less text
        r'\b(d|points|x|y|cx|cy|rx|ry|font-size)="([^"]*)"',
        lambda a: f'{a.group(1)}="{_NUM.sub(_round, a.group(2))}"',
        svg,
    )
    svg = _ROUNDED_PATH.sub(_rounded_rect, svg)
    svg = svg.replace(f' font-family="{FONT}"', "")  # inherited from the <svg> element
    sizes = collections.Counter(re.findall(r'<text[^>]*? font-size="([\d.]+)"', svg))
    size = sizes.most_common(1)[0][0] if sizes else "10"
    svg = re.sub(rf'(<text[^>]*?) font-size="{re.escape(size)}"', r"\1", svg)
    svg = re.sub(r'(<text[^>]*?) text-anchor="middle"', r"\1", svg)
    m = re.search(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', svg)
    if m:
        w = math.ceil(float(m.group(1)) * 4 / 3)
        svg = svg.replace(
            m.group(0),
            # natural width, shrunk to the column (max-width); a figure sized to its content
            # (Material's fit-content) would otherwise take its width from the caption
            f'<svg role="img" class="dl-svg" width="{w}" '
            f'style="max-width:100%;fill:var(--dl-text,{TEXT})" '
            f'font-family="{FONT}" font-size="{size}" text-anchor="middle"',
            1,
        )
        svg = re.sub(r'\s*height="[\d.]+pt"', "", svg, count=1) if "height=" in svg[:300] else svg
    return "\n".join(line for line in svg.splitlines() if line.strip()) + "\n"


def render(dot: graphviz.Digraph) -> tuple[str, str]:
    """Run ``dot`` and return (standalone SVG, inline-ready themable SVG)."""
    raw = dot.pipe(format="svg", encoding="utf-8")
    return raw, themable_svg(raw)


def legend(kinds: set[str]) -> str:
    """HTML legend of the colours used in one diagram (theme-aware through the same variables)."""
    chips = "".join(
        f'<span class="dl-chip"><i style="background:var(--dl-{k},{KINDS[k][0]})"></i>'
        f"{KINDS[k][1]}</span>"
        for k in KINDS
        if k in kinds
    )
    skip = '<span class="dl-chip"><i class="dl-skip"></i>捷径（跳连）</span>'
    return f'<div class="dl-legend">{chips}{skip}</div>'
