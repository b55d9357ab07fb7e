"""Turn a :class:`tools.trace.Trace` into a textbook-style architecture diagram (Graphviz SVG).

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
* **theming** — each kind of layer has one colour; colours are emitted as CSS variables with the
  light value as fallback, so the inline SVG follows Material's light/dark toggle
  (``diagrams.css``).
"""

from __future__ import annotations

import dataclasses
import html
import math
import re
from collections.abc import Callable

import graphviz
from torch import nn

from tools.tables import shape_label
from tools.trace import Trace, is_leaf

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

_CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)
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
    params: int = 0
    cls: type | None = None  # class to link to
    order: int = 0
    parent: str = ""  # expanded module path the box sits in
    title: str = ""  # overrides the group's title (a cluster folded into its only box)
    cls_name: str = ""  # class name of the layer or module
    short: str = ""  # paper-table form, for chains


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


def _runs(
    modules: dict[str, nn.Module], path: str, chained: Callable[[str, str], bool] | None = None
) -> list[list[str]]:
    """Consecutive children of ``path`` with identical type and repr (length ≥ 2).

    With ``chained``, a run also requires each member to read the previous member's output, so
    parallel twins (``q_proj``, ``k_proj``, ``v_proj``) are not folded into one box.
    """
    prefix = f"{path}." if path else ""
    kids = [(prefix + n, m) for n, m in modules[path].named_children()]
    runs: list[list[str]] = []
    i = 0
    while i < len(kids):
        j = i + 1
        sig = (type(kids[i][1]), repr(kids[i][1]))
        while (
            j < len(kids)
            and (type(kids[j][1]), repr(kids[j][1])) == sig
            and (chained is None or chained(kids[j - 1][0], kids[j][0]))
        ):
            j += 1
        if j - i >= 2:
            runs.append([p for p, _ in kids[i:j]])
        i = j
    return runs


def feeds(tr: Trace) -> Callable[[str, str], bool]:
    """``feeds(a, b)``: module ``b``'s first call reads a value that ``a``'s first call wrote."""

    def check(a: str, b: str) -> bool:
        ca, cb = tr.calls.get(a), tr.calls.get(b)
        return bool(ca and cb and set(ca[0].outputs) & set(cb[0].inputs))

    return check


def _run_name(members: list[str]) -> str:
    first, last = members[0], members[-1]
    head, _, a = first.rpartition(".")
    b = last.rpartition(".")[2]
    return f"{head + '.' if head else ''}{a}–{b}"


def build(
    tr: Trace,
    *,
    root: str = "",
    depth: float = 2,
    merge: str = "segments",
    title: str = "",
) -> Graph:
    """Group the trace into boxes, clusters and edges (see the module docstring)."""
    modules = tr.modules()
    if root not in modules:
        raise KeyError(f"no submodule {root!r}")
    under = (lambda p: True) if root == "" else (lambda p: p == root or p.startswith(root + "."))

    # runs of identical siblings: the first member stands for all
    run_of: dict[str, list[str]] = {}
    hidden: set[str] = set()
    for path, mod in modules.items():
        if under(path) and not is_leaf(mod):
            for members in _runs(modules, path, feeds(tr)):
                run_of[members[0]] = members
                hidden.update(members[1:])

    def is_hidden(path: str) -> bool:
        return any(path == h or path.startswith(h + ".") for h in hidden)

    def level(path: str) -> int:
        """Non-container modules from the diagram root down to ``path`` (inclusive)."""
        base = root.count(".") + 1 if root else 0
        parts = path.split(".")
        n = 0
        for i in range(base + 1, len(parts) + 1):
            if not isinstance(modules[".".join(parts[:i])], _CONTAINERS):
                n += 1
        return n

    def expanded(path: str) -> bool:
        mod = modules[path]
        if path == root:
            return True
        if is_leaf(mod):
            return False
        return isinstance(mod, _CONTAINERS) or level(path) <= depth

    # aliases: the output of the last member of a run is drawn as the output of the first
    alias: dict[int, int] = {}
    for first, members in run_of.items():
        for c_first, c_last in zip(
            tr.calls.get(first, []), tr.calls.get(members[-1], []), strict=False
        ):
            for v_last, v_first in zip(c_last.outputs, c_first.outputs, strict=False):
                alias[v_last] = v_first

    def call_index(path: str, op_index: int) -> int:
        for k, call in enumerate(tr.calls.get(path, [])):
            if call.first_op <= op_index <= call.last_op:
                return k
        return 0

    def nearest_expanded(path: str) -> str:
        while path and path != root:
            path = path.rpartition(".")[0] if "." in path else ""
            if path == root or (under(path) and expanded(path)):
                return path
        return root

    units: dict[tuple, Unit] = {}
    op_unit: dict[int, tuple | None] = {}  # op index -> unit key (None = outside or hidden)

    def unit_for_op(i: int) -> tuple | None:
        op = tr.ops[i]
        chain = [p for p in op.scope if under(p)]
        if op.module is not None and under(op.name):
            chain.append(op.name)
        if root and not chain:
            return None  # outside the detail diagram's root
        for path in chain:
            if is_hidden(path):
                return None
            if path != root and not expanded(path):
                k = call_index(path, i)
                key = ("mod", path, k)
                if key not in units:
                    mod = modules[path]
                    members = run_of.get(path, [path])
                    if mod is op.module:  # a built-in layer
                        units[key] = Unit(
                            key,
                            _rel(path, nearest_expanded(path)),
                            path,
                            layer_kind(mod),
                            describe(mod),
                            n_params(mod),
                            None,
                            i,
                            nearest_expanded(path),
                        )
                    else:
                        name = _run_name(members) if len(members) > 1 else path
                        times = f" × {len(members)}" if len(members) > 1 else ""
                        units[key] = Unit(
                            key,
                            _rel(name, nearest_expanded(path)),
                            path,
                            "block",
                            type(mod).__name__ + times,
                            sum(n_params(modules[m]) for m in members),
                            type(mod),
                            i,
                            nearest_expanded(path),
                        )
                    units[key].cls_name = type(mod).__name__
                    units[key].short = short(mod) if mod is op.module else ""
                return key
        key = ("op", i)
        parent = chain[-1] if chain else root
        units[key] = Unit(
            key,
            _OP_SYMBOL.get(op.name, op.name),
            f"{parent}: {op.name}" if parent else op.name,
            op_kind(op.name, len(op.inputs)),
            "",
            0,
            None,
            i,
            parent,
        )
        return key

    for op in tr.ops:
        op_unit[op.index] = unit_for_op(op.index)

    # pseudo-nodes for inputs, outputs and parameters used directly
    def source_of(v: int) -> tuple | None:
        while v in alias:
            v = alias[v]
        if v in tr.param_sources:
            key = ("param", tr.param_sources[v])
            if key not in units:
                name = tr.param_sources[v]
                units[key] = Unit(
                    key,
                    _rel(name, nearest_expanded(name)),
                    name,
                    "io",
                    "参数 " + shape_label((1, *tr.value_shapes[v])),
                    0,
                    None,
                    -1,
                    nearest_expanded(name),
                )
            return key
        op_i = tr.producer.get(v)
        if op_i is not None and op_unit.get(op_i) is not None:
            return op_unit[op_i]
        if op_i is not None and root == "":
            return None  # produced inside a folded run member: not drawn
        key = ("in", v)
        if key not in units:
            n = sum(1 for k in units if k[0] == "in")
            units[key] = Unit(
                key,
                "输入" if n == 0 else f"输入 {n + 1}",
                "input",
                "io",
                shape_label(tr.value_shapes[v]),
                0,
                None,
                -2,
                root,
            )
        return key

    edges: dict[tuple[tuple, tuple], tuple[tuple[int, ...], int]] = {}
    for op in tr.ops:
        dst = op_unit[op.index]
        if dst is None:
            continue
        for v in op.inputs:
            src = source_of(v)
            if src is not None and src != dst and (src, dst) not in edges:
                edges[(src, dst)] = (tr.value_shapes[v], v)
    outs = tr.outputs if root == "" else (tr.calls[root][0].outputs if root in tr.calls else [])
    for j, v in enumerate(outs):
        src = source_of(v)
        key = ("out", j)
        units[key] = Unit(
            key,
            "输出" if len(outs) == 1 else f"输出 {j + 1}",
            "output",
            "io",
            shape_label(tr.value_shapes[v]),
            0,
            None,
            10**9 + j,
            root,
        )
        if src is not None:
            edges[(src, key)] = (tr.value_shapes[v], v)

    # skip edges: among the inputs of a merge, the one from the shallowest box (fewest layers
    # since the input) is the shortcut; the deeper ones are the residual branch.
    preds: dict[tuple, list[tuple]] = {}
    for s, d in edges:
        preds.setdefault(d, []).append(s)
    depth_of: dict[tuple, int] = {}
    for key in sorted(units, key=lambda k: units[k].order):
        depth_of[key] = 1 + max((depth_of.get(s, 0) for s in preds.get(key, [])), default=-1)
    skip: set[tuple[tuple, tuple]] = set()
    for key, unit in units.items():
        ins = preds.get(key, [])
        if unit.kind == "merge" and len(ins) > 1:
            deepest = max(ins, key=lambda s: (depth_of[s], units[s].order))
            skip.update((s, key) for s in ins if s != deepest)

    groups = _merge(units, edges, merge)
    clusters: dict[str, str] = {}
    cluster_cls: dict[str, type] = {}
    parent_of: dict[str, str] = {}
    for path in sorted({u.parent for u in units.values()} | ({root} if root else set())):
        p = path
        while p and p not in clusters:
            mod = modules[p]
            members = run_of.get(p, [p])
            parent = nearest_expanded(p) if p != root else ""
            name = _rel(_run_name(members) if len(members) > 1 else p, parent)
            times = f" × {len(members)}" if len(members) > 1 else ""
            is_cont = isinstance(mod, _CONTAINERS)
            clusters[p] = name if is_cont else f"{name} · {type(mod).__name__}{times}"
            if not is_cont:
                cluster_cls[p] = type(mod)
            parent_of[p] = parent
            p = parent

    # a cluster that holds a single box and no sub-cluster is drawn as that box, titled by it
    for path in sorted(clusters, key=lambda c: -c.count(".")):
        if path == root or any(parent_of.get(c) == path for c in clusters):
            continue
        inside = [grp for grp in groups if units[grp[0]].parent == path]
        if len(inside) == 1 and merge != "none":
            for key in inside[0]:
                units[key].parent = parent_of[path]
            units[inside[0][0]].title = clusters[path]
            del clusters[path]
            cluster_cls.pop(path, None)
            parent_of.pop(path)
    return Graph(
        title,
        units,
        groups,
        [(s, d, shp, (s, d) in skip) for (s, d), (shp, _) in edges.items()],
        clusters,
        cluster_cls,
        parent_of,
    )


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


def _label(units: list[Unit], mode: str) -> str:
    head = units[0]
    rows = [f'<TR><TD ALIGN="CENTER"><B>{_esc(head.title or head.name)}</B></TD></TR>']
    if len(units) > 1 and head.kind == "merge":
        rows.append(
            f'<TR><TD><FONT POINT-SIZE="9">→ {_esc(" → ".join(u.name for u in units[1:]))}'
            "</FONT></TD></TR>"
        )
    elif len(units) > 1 and mode == "chains":
        heavy = [u for u in units if u.kind not in LIGHT] or units
        if not head.title:
            rows[0] = (
                f'<TR><TD ALIGN="CENTER"><B>{_esc(head.name)} … {_esc(units[-1].name)}</B>'
                "</TD></TR>"
            )
        desc = " → ".join(u.short or u.desc or u.name for u in heavy)
        rows.append(f'<TR><TD><FONT POINT-SIZE="9">{_esc(desc)}</FONT></TD></TR>')
    else:
        sub = head.desc or _type_name(head)
        if sub:
            rows.append(f'<TR><TD><FONT POINT-SIZE="9">{_esc(sub)}</FONT></TD></TR>')
        for u in units[1:]:
            fill = KINDS[u.kind][0]
            text = " ".join(x for x in (u.name, u.desc or _type_name(u)) if x)
            rows.append(
                f'<TR><TD ALIGN="LEFT"><FONT POINT-SIZE="9">'
                f'<FONT COLOR="{fill}">■</FONT> {_esc(text)}</FONT></TD></TR>'
            )
    total = sum(u.params for u in units)
    if total:
        rows.append(f'<TR><TD><FONT POINT-SIZE="9">{count(total)} 参数</FONT></TD></TR>')
    table = '<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">'
    return f"<{table}{''.join(rows)}</TABLE>>"


def _type_name(u: Unit) -> str:
    """Class name of a layer box whose hyper-parameters :func:`describe` does not know."""
    return u.cls_name if u.key[0] == "mod" else ""


def to_dot(
    g: Graph, *, link: Callable[[type], str | None], mode: str, rankdir: str = "TB"
) -> graphviz.Digraph:
    """Lay the graph out as a Graphviz digraph (boxes, clusters, edges with shapes)."""
    dot = graphviz.Digraph(name="G")
    dot.attr(
        rankdir=rankdir,
        newrank="true",
        nodesep="0.25",
        ranksep="0.32",
        bgcolor="transparent",
        fontname=FONT,
        fontsize="10",
        fontcolor=TEXT,
        pad="0.1",
        compound="true",
    )
    dot.attr("node", fontname=FONT, fontsize="10", fontcolor=TEXT, color=LINE, penwidth="1")
    dot.attr("edge", fontname=FONT, fontsize="8", fontcolor=TEXT, color=EDGE, arrowsize="0.6")

    node_of: dict[tuple, str] = {}
    for i, group in enumerate(g.groups):
        for key in group:
            node_of[key] = f"n{i}"

    graphs: dict[str, graphviz.Digraph] = {"": dot}

    # create cluster subgraphs parent-first
    def cluster(path: str) -> graphviz.Digraph:
        if path in graphs:
            return graphs[path]
        sub = graphviz.Digraph(name=f"cluster_{len(graphs)}")
        cls = g.cluster_cls.get(path)
        url = link(cls) if cls else None
        sub.attr(
            label=g.clusters[path],
            labeljust="l",
            style="rounded,filled",
            color=CLUSTER_LINE,
            fillcolor=CLUSTER_FILL,
            fontcolor=TEXT,
            fontsize="9",
            penwidth="0.8",
            margin="6",
            tooltip=f"{path} ({cls.__name__})" if cls else path,
        )
        if url:
            sub.attr(URL=url, target="_top")
        graphs[path] = sub
        return sub

    for path in g.clusters:
        cluster(path)

    for i, group in enumerate(g.groups):
        units = [g.units[k] for k in group]
        head = units[0]
        target = graphs.get(head.parent, dot) if head.parent in g.clusters else dot
        attrs = {
            "label": _label(units, mode),
            "shape": "box",
            "style": "rounded,filled",
            "fillcolor": KINDS[head.kind][0],
            "tooltip": " → ".join(u.path for u in units),
            "margin": "0.08,0.04",
        }
        if head.kind == "merge" and len(units) == 1:
            attrs.update(shape="circle", margin="0.02", fixedsize="false")
        if head.kind == "io":
            attrs.update(style="rounded,filled,dashed")
        url = link(head.cls) if head.cls else None
        if url:
            attrs.update(URL=url, target="_top")
        target.node(f"n{i}", **attrs)

    # nest clusters: deepest first into their parents
    for path in sorted(g.clusters, key=lambda p: -p.count(".") - (1 if p else 0)):
        parent = g.parent_of.get(path, "")
        (graphs[parent] if parent in graphs else dot).subgraph(graphs[path])

    for src, dst, shape, is_skip in sorted(g.edges, key=lambda e: (node_of[e[0]], node_of[e[1]])):
        a, b = node_of[src], node_of[dst]
        if a == b:
            continue
        attrs = {"xlabel": f" {shape_label(shape)} "}
        if is_skip:
            attrs.update(color=SKIP, penwidth="1.4", style="dashed", fontcolor=SKIP)
        dot.edge(a, b, **attrs)
    return dot


_TAG = re.compile(r"<(polygon|path|ellipse|text|polyline|rect)\b([^>]*?)(/?)>")
_COLOR_ATTR = re.compile(r'\s(fill|stroke)="(#[0-9a-fA-F]{6})"')


def themable_svg(svg: str, prefix: str) -> str:
    """Make Graphviz's SVG inline-ready: CSS-variable colours, unique ids, no comments or prolog."""
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.S)

    def tag(m: re.Match) -> str:
        attrs = m.group(2)
        styles = []
        for prop, colour in _COLOR_ATTR.findall(attrs):
            var = CSS_VAR.get(colour.lower())
            if var:
                styles.append(f"{prop}:var({var},{colour.lower()})")
        if styles:
            attrs = _COLOR_ATTR.sub(
                lambda a: "" if CSS_VAR.get(a.group(2).lower()) else a.group(0), attrs
            )
            attrs += f' style="{";".join(styles)}"'
        return f"<{m.group(1)}{attrs}{m.group(3)}>"

    svg = _TAG.sub(tag, svg)
    svg = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{prefix}-{m.group(1)}"', svg)
    svg = re.sub(r"<title>[^<]*</title>\n?", "", svg, count=1)  # the graph's own title
    m = re.search(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', svg)
    if m:
        w = math.ceil(float(m.group(1)) * 4 / 3)
        svg = svg.replace(
            m.group(0),
            f'<svg role="img" class="dl-svg" style="max-width:{w}px" width="100%"',
            1,
        )
        svg = re.sub(r'\s*height="[\d.]+pt"', "", svg, count=1) if "height=" in svg[:300] else svg
    return "\n".join(line for line in svg.splitlines() if line.strip()) + "\n"


def render(dot: graphviz.Digraph, prefix: str) -> tuple[str, str]:
    """Run ``dot`` and return (standalone SVG, inline-ready themable SVG)."""
    raw = dot.pipe(format="svg", encoding="utf-8")
    return raw, themable_svg(raw, prefix)


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
