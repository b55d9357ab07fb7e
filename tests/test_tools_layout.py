"""tools/ reads as the pipeline: generator steps in order, no import cycles, short functions."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / "tools"
MODULES = sorted(TOOLS.rglob("*.py"))


def _name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def _imports(path: Path) -> set[str]:
    """The tools modules ``path`` imports, at the top or inside a function."""
    known = {_name(p) for p in MODULES}
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module in known:
                out.add(node.module)
            out |= {f"{node.module}.{a.name}" for a in node.names} & known
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names} & known
    me = _name(path)
    # a package importing its own submodule (``figures`` → ``figures.style``) is not a cycle
    return {m for m in out if m != me and not m.startswith(me + ".")}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph``, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for d in sorted(graph.get(m, ())):
            if state.get(d) == 1:
                return [*stack[stack.index(d) :], d]
            if d not in state and (found := visit(d)):
                return found
        state[m] = 2
        stack.pop()
        return None

    for m in sorted(graph):
        if m not in state and (found := visit(m)):
            return found
    return None


def test_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycles_in_tools():
    graph = {_name(p): _imports(p) for p in MODULES}
    assert _cycle(graph) is None


def test_no_private_names_borrowed_across_modules():
    for path in MODULES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tools"):
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"{path.relative_to(ROOT)} imports {private}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(TOOLS)))
def test_no_function_over_80_lines(path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            assert length <= 80, f"{node.name} is {length} lines"


def test_generator_steps_are_numbered_in_order():
    """Each step module opens with "Step N", and the package docstring lists them in that order."""
    package = ast.get_docstring(ast.parse((TOOLS / "generator" / "__init__.py").read_text()))
    listed = re.findall(r"^\d+\. :mod:`~tools\.generator\.(\w+)`", package, flags=re.M)
    assert len(listed) >= 10
    for n, name in enumerate(listed, start=1):
        package = TOOLS / "generator" / name
        path = package / "__init__.py" if package.is_dir() else package.with_suffix(".py")
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        assert re.match(rf"Step {n}\b", doc), f"{path.relative_to(ROOT)}: {doc[:40]!r}"
    steps = {p.stem for p in (TOOLS / "generator").glob("*.py")} - {"__init__", "cache", "fonts"}
    packages = {p.parent.name for p in (TOOLS / "generator").glob("*/__init__.py")}
    assert steps | packages == set(listed), "every step module is listed, and only those"


def test_every_tools_module_says_where_it_belongs():
    for path in MODULES:
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
        assert doc, f"{path.relative_to(ROOT)} has no docstring"
