"""Step 2 of the generator: a model's executed forward pass → a dataflow graph by module.

See :mod:`tools.generator` for the other steps.

``torch.fx`` fails on data-dependent control flow; this tracer records what actually runs instead
(as torchview does): global module hooks give the module hierarchy, a ``TorchFunctionMode`` records
the functional ops between modules (``out + identity``, ``torch.flatten``, attention products).
Built-in ``torch.nn`` layers are atomic: what they call inside is not recorded.

The result is a flat list of :class:`Op` plus per-module call records;
:mod:`tools.generator.diagram` decides
which modules to draw as clusters and which to collapse.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_flatten

# Functions that only read metadata or are pure bookkeeping: never drawn.
_SKIP = {
    "size", "dim", "numel", "__get__", "__len__", "__iter__", "__bool__", "__format__", "item",
    "is_floating_point", "is_complex", "data_ptr", "element_size", "stride", "storage_offset",
    "__repr__", "__hash__",
    "requires_grad_", "has_names", "_is_view", "get_device", "is_contiguous", "__array__",
    "__index__", "__int__", "__float__", "tolist", "__reduce_ex__", "__deepcopy__",
}  # fmt: skip


@dataclasses.dataclass
class Op:
    """One recorded operation: a built-in layer call or a functional op."""

    index: int
    name: str  # module path for layers ("layer1.0.conv1"), function name for ops ("add")
    module: nn.Module | None  # the layer, for layer ops
    scope: tuple[str, ...]  # paths of the non-leaf modules entered, outermost first
    inputs: list[int]  # value ids read
    outputs: list[int]  # value ids written
    shapes: list[tuple[int, ...]]  # shapes of the outputs


@dataclasses.dataclass
class ModuleCall:
    """One call of a non-leaf module: which values went in and came out."""

    path: str
    inputs: list[int]
    outputs: list[int]
    shapes: list[tuple[int, ...]]
    first_op: int
    last_op: int


@dataclasses.dataclass
class Trace:
    """Everything recorded in one forward pass."""

    root: nn.Module
    ops: list[Op]
    calls: dict[str, list[ModuleCall]]  # non-leaf and leaf module calls by path
    inputs: list[int]
    outputs: list[int]
    output_shapes: list[tuple[int, ...]]
    value_shapes: dict[int, tuple[int, ...]]
    param_sources: dict[int, str]  # value id -> parameter name, for parameters used directly
    producer: dict[int, int]  # value id -> op index
    value_dtypes: dict[int, str] = dataclasses.field(default_factory=dict)  # "float"/"int"/"bool"

    def modules(self) -> dict[str, nn.Module]:
        """Every submodule by path ("" for the root)."""
        return dict(self.root.named_modules(remove_duplicate=False))


def is_leaf(module: nn.Module) -> bool:
    """A module drawn as one box: any built-in ``torch.nn`` layer, or a module with no children."""
    kind = type(module)
    if kind.__module__.startswith("torch.nn") and not isinstance(
        module, nn.Sequential | nn.ModuleList | nn.ModuleDict
    ):
        return True
    return next(module.children(), None) is None


# Ops that may return their input object itself (``x.contiguous()`` on a contiguous tensor).
_PASS_THROUGH = {"contiguous", "to", "float", "double", "half", "type", "type_as", "detach"}


def _dtype_class(t: torch.Tensor) -> str:
    """``bool``, ``int`` or ``float`` (complex counts as float): masks are told apart by it."""
    if t.dtype == torch.bool:
        return "bool"
    return "float" if t.is_floating_point() or t.is_complex() else "int"


def _tensors(obj: Any) -> list[torch.Tensor]:
    flat, _ = tree_flatten(obj)
    return [t for t in flat if isinstance(t, torch.Tensor)]


def op_name(name: str) -> str:
    """Normalise a torch function name: ``__iadd__``, ``__radd__``, ``add_`` → ``add``."""
    if name.startswith("__") and name.endswith("__"):
        name = name[2:-2]
        if name[:1] in ("i", "r") and name[1:] in _DUNDER_BINARY:
            name = name[1:]
    return name.rstrip("_") or name


_DUNDER_BINARY = {
    "add", "sub", "mul", "matmul", "truediv", "floordiv", "pow", "and", "or", "xor", "mod"
}  # fmt: skip


def _fn_name(func: Any) -> str:
    name = getattr(func, "__name__", None) or type(func).__name__
    if name == "__get__":
        owner = getattr(func, "__self__", None)
        name = getattr(owner, "__name__", "attr")
    return name


class _Recorder(TorchFunctionMode):
    def __init__(self, root: nn.Module) -> None:
        super().__init__()
        self.root = root
        self.paths = {id(m): p for p, m in root.named_modules(remove_duplicate=False)}
        self.params = {
            id(p): name
            for name, p in root.named_parameters(remove_duplicate=False)
            if not is_leaf(root.get_submodule(name.rpartition(".")[0]))
        }
        self.values: dict[int, int] = {}  # id(tensor) -> value id
        self.keep: list[torch.Tensor] = []  # keeps traced tensors alive so ids stay unique
        self.value_shapes: dict[int, tuple[int, ...]] = {}
        self.value_dtypes: dict[int, str] = {}
        self.param_sources: dict[int, str] = {}
        self.producer: dict[int, int] = {}
        self.ops: list[Op] = []
        self.calls: dict[str, list[ModuleCall]] = {}
        self.stack: list[str] = []  # non-leaf module paths
        self.pending: list[tuple[str, list[int], int]] = []
        self.leaf_depth = 0
        self.leaf_inputs: list[list[int]] = []

    # values ---------------------------------------------------------------
    def new_value(self, t: torch.Tensor) -> int:
        vid = len(self.value_shapes)
        self.values[id(t)] = vid
        self.keep.append(t)
        self.value_shapes[vid] = tuple(t.shape)
        self.value_dtypes[vid] = _dtype_class(t)
        return vid

    def read(self, objs: Any) -> list[int]:
        ids = []
        for t in _tensors(objs):
            vid = self.values.get(id(t))
            if vid is None and id(t) in self.params:
                vid = self.new_value(t)
                self.param_sources[vid] = self.params[id(t)]
            if vid is not None and vid not in ids:
                ids.append(vid)
        return ids

    def record(self, name: str, module: nn.Module | None, inputs: list[int], out: Any) -> None:
        outs = _tensors(out)
        if not outs:
            return
        if (isinstance(module, nn.Identity) or name in _PASS_THROUGH) and all(
            self.values.get(id(t)) in inputs for t in outs
        ):
            return  # handed its input back unchanged: the value keeps its producer
        op = Op(len(self.ops), name, module, tuple(self.stack), inputs, [], [])
        for t in outs:
            vid = self.new_value(t)
            op.outputs.append(vid)
            op.shapes.append(tuple(t.shape))
            self.producer[vid] = op.index
        self.ops.append(op)

    # module hooks -----------------------------------------------------------
    def pre_hook(self, module: nn.Module, args: tuple[Any, ...]) -> None:
        path = self.paths.get(id(module))
        if path is None or self.leaf_depth:
            if self.leaf_depth:
                self.leaf_depth += 1
            return
        inputs = self.read(args)
        if is_leaf(module) and module is not self.root:
            self.leaf_depth = 1
            self.leaf_inputs.append(inputs)
        elif module is not self.root:
            self.stack.append(path)
            self.pending.append((path, inputs, len(self.ops)))

    def post_hook(self, module: nn.Module, args: tuple[Any, ...], out: Any) -> None:
        path = self.paths.get(id(module))
        if self.leaf_depth:
            self.leaf_depth -= 1
            if self.leaf_depth == 0 and path is not None:
                inputs, before = self.leaf_inputs.pop(), len(self.ops)
                self.record(path, module, inputs, out)
                if len(self.ops) > before:
                    self._call(path, inputs, before, out)
            return
        if path is None or module is self.root:
            return
        self.stack.pop()
        p, inputs, first = self.pending.pop()
        self._call(p, inputs, first, out)

    def _call(self, path: str, inputs: list[int], first: int, out: Any) -> None:
        outs = [t for t in _tensors(out) if id(t) in self.values]
        call = ModuleCall(
            path,
            inputs,
            [self.values[id(t)] for t in outs],
            [tuple(t.shape) for t in outs],
            first,
            len(self.ops) - 1,
        )
        self.calls.setdefault(path, []).append(call)

    # functional ops -------------------------------------------------------------
    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = _fn_name(func)
        if self.leaf_depth or name in _SKIP:
            return func(*args, **kwargs)
        inputs = self.read((args, kwargs))
        out = func(*args, **kwargs)
        if name == "__setitem__" and args:
            out = args[0]
        if inputs:
            self.record(op_name(name), None, inputs, out)
        return out


def trace(model: nn.Module, inputs: tuple[Any, ...]) -> Trace:
    """Run ``model(*inputs)`` once under the recorder and return the :class:`Trace`."""
    rec = _Recorder(model)
    input_ids = [rec.new_value(t) for t in _tensors(inputs)]
    handles = [
        nn.modules.module.register_module_forward_pre_hook(rec.pre_hook),
        nn.modules.module.register_module_forward_hook(rec.post_hook),
    ]
    try:
        with torch.no_grad(), rec:
            out = model(*inputs)
    finally:
        for h in handles:
            h.remove()
    # Fill each module call's outputs: the values its last op produced that are read after it.
    outputs = [rec.values[id(t)] for t in _tensors(out) if id(t) in rec.values]
    return Trace(
        root=model,
        ops=rec.ops,
        calls=rec.calls,
        inputs=input_ids,
        outputs=outputs,
        output_shapes=[tuple(t.shape) for t in _tensors(out)],
        value_shapes=rec.value_shapes,
        param_sources=rec.param_sources,
        producer=rec.producer,
        value_dtypes=rec.value_dtypes,
    )


# ── runs of identical siblings (shared by the diagram and the parameter table) ──────────────

#: modules that only hold others: never a box or a table row of their own
CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)


def sibling_runs(
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
