r"""Step 11 of the generator: each paper's 练习 (exercises), answers computed by its reference code.

One module per paper, ``tools/generator/exercises/<slug>.py`` (see :mod:`tools.generator` for the
other steps), defines ``exercises() -> list[Exercise]``: typed records whose 计算 (computed)
answers come from the paper's reference module, built on the ``meta`` device. This package holds
the records, their checks and the helpers the modules compute with; :mod:`.render` turns records
into every string the site sees (the page section, Moodle XML, the 教师资源 page).

Kinds (``Exercise.kind``):

* ``计算``: a number worked out by hand (parameters, an output shape, MACs, bytes, tokens).
  ``computed.value`` comes from the code; ``computed.formula`` is the hand calculation as
  Python arithmetic on numbers (``"256*64 + 9*64*64 + 64*256"``), shown on the page as a formula
  and checked against the value at generation time: a wrong derivation stops the build.
* ``代码``: change the reference code and observe an effect. ``solution`` names snippet sections
  of a tested file (``reference_impl/exercises/<slug>.py:<section>``), ``test`` the test that
  checks the stated effect.
* ``思考``: a question whose answer ``cite``\ s the paper (section, figure, table) or the page.

A paper has 5–8 exercises, at least two 计算 and one 代码 (:func:`check_set`). The group
``exercises-<slug>`` writes ``papers/<slug>/exercises.md`` (the page includes it under
``## 练习``), ``downloads/quiz/<slug>.xml`` (Moodle) and ``exercises/<slug>.json`` (the records,
read back for the site-wide quiz and the 教师资源 page by :func:`site_files`).
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import json
import math
import operator
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tools.generator import GenerationError
from tools.generator.catalog import ROOT

KINDS = ("计算", "代码", "思考")
MIN_EXERCISES, MAX_EXERCISES = 5, 8
PACKAGE = ROOT / "tools" / "generator" / "exercises"
FRAMEWORK = ("__init__", "render")  # the modules of this package that are not a paper's
SOLUTIONS = "reference_impl/exercises"  # reference_impl/exercises/<slug>.py: the 代码 solutions
_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_SNIPPET = re.compile(r"^(?P<path>[\w./-]+\.py):(?P<section>[a-z][-_0-9a-z]*)$")


@dataclasses.dataclass(frozen=True)
class Computed:
    """The answer of a 计算 exercise: a number from the code, and the hand calculation.

    Attributes:
        value: The number, computed by the reference code (e.g. ``sum(p.numel())`` on meta).
        formula: The hand calculation in Python arithmetic on numbers only (``+ - * / // **``,
            parentheses); rendered as a formula on the page and evaluated against ``value``.
        unit: What is counted, after the number (``个参数``, ``MACs``, ``字节``); may be empty.
        tolerance: Absolute tolerance of the Moodle question and of the formula check (0 for a
            count).
        decimals: Decimals shown for a non-integral value (an integral value shows none).
    """

    value: float
    formula: str
    unit: str = ""
    tolerance: float = 0.0
    decimals: int = 2

    def shown(self) -> str:
        """The value as the page shows it: ``69,632`` or ``2.36``."""
        if float(self.value).is_integer():
            return f"{int(self.value):,}"
        return f"{self.value:,.{self.decimals}f}"


@dataclasses.dataclass(frozen=True)
class Exercise:
    """One exercise of a paper page.

    Attributes:
        id: Stable name, lowercase words joined by ``-`` (``resnet-bottleneck-params``): the
            anchor on the page and the Moodle question's idnumber.
        kind: ``计算``, ``代码`` or ``思考``.
        title: A few words naming the exercise (its heading and Moodle question name).
        question: The question, Markdown (math in ``$…$``).
        answer: Markdown: the derivation (计算), what the solution does and shows (代码), or the
            answer (思考).
        computed: The number of a 计算 exercise.
        solution: Snippet sections of a tested file with the 代码 solution,
            ``reference_impl/exercises/<slug>.py:<section>``.
        test: The test that checks a 代码 solution's stated effect, ``tests/…py::test_name``.
        cite: Where the answer comes from: the paper's section, figure or table, or the page's
            own figure (Markdown); required for 思考.
    """

    id: str
    kind: str
    title: str
    question: str
    answer: str
    computed: Computed | None = None
    solution: tuple[str, ...] = ()
    test: str = ""
    cite: str = ""

    def __post_init__(self) -> None:
        problems = exercise_problems(self)
        if problems:
            raise GenerationError(f"exercise {self.id!r}: " + "; ".join(problems))

    def to_json(self) -> dict[str, Any]:
        """A plain dict (the records file ``exercises/<slug>.json``)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Exercise:
        """The record back from :meth:`to_json`."""
        data = dict(data)
        if data.get("computed") is not None:
            data["computed"] = Computed(**data["computed"])
        data["solution"] = tuple(data.get("solution") or ())
        return cls(**data)


# ── checks ─────────────────────────────────────────────────────────────────────────────────


def exercise_problems(ex: Exercise) -> list[str]:
    """What is wrong with one record (empty when it is complete for its kind)."""
    out = []
    if not _ID.match(ex.id):
        out.append("id must be lowercase words joined by '-'")
    if ex.kind not in KINDS:
        out.append(f"kind must be one of {', '.join(KINDS)}, not {ex.kind!r}")
    for name in ("title", "question", "answer"):
        if not getattr(ex, name).strip():
            out.append(f"empty {name}")
    if ex.kind == "计算":
        if ex.computed is None:
            out.append("a 计算 exercise needs `computed` (value and formula)")
        else:
            out += formula_problems(ex.computed)
    if ex.kind == "代码":
        if not ex.solution:
            out.append("a 代码 exercise needs `solution` (snippet sections of a tested file)")
        out += [f"solution {s!r}: {p}" for s in ex.solution if (p := snippet_problem(s))]
        if not re.match(r"^tests/[\w/]+\.py::\w+$", ex.test):
            out.append("a 代码 exercise needs `test`: 'tests/<file>.py::<test>'")
    if ex.kind == "思考" and not ex.cite.strip():
        out.append("a 思考 exercise needs `cite` (paper section, figure or table, or the page)")
    return out


def formula_problems(c: Computed) -> list[str]:
    """Whether the hand formula evaluates to the code's value (within the tolerance)."""
    try:
        hand = evaluate(c.formula)
    except (ValueError, SyntaxError, ZeroDivisionError) as exc:
        return [f"formula {c.formula!r}: {exc}"]
    slack = max(c.tolerance, 1e-9 * abs(c.value))
    if not math.isfinite(c.value) or abs(hand - c.value) > slack:
        return [f"the hand formula {c.formula} = {hand:g}, but the code computes {c.value:g}"]
    return []


def snippet_problem(ref: str) -> str | None:
    """Why a snippet reference ``path:section`` cannot be included (``None`` if it can)."""
    m = _SNIPPET.match(ref)
    if not m:
        return "expected 'reference_impl/exercises/<slug>.py:<section>'"
    path = ROOT / m.group("path")
    if not path.is_file():
        return f"no file {m.group('path')}"
    if f"# --8<-- [start:{m.group('section')}]" not in path.read_text(encoding="utf-8"):
        return f"no '# --8<-- [start:{m.group('section')}]' in {m.group('path')}"
    return None


def check_set(slug: str, exercises: list[Exercise]) -> None:
    """A page's exercises: 5–8 of them, at least 2 计算 and 1 代码, unique ids."""
    kinds = [e.kind for e in exercises]
    where = f"exercises tools/generator/exercises/{slug}.py"
    if not MIN_EXERCISES <= len(exercises) <= MAX_EXERCISES:
        raise GenerationError(f"{where}: {len(exercises)} exercises, not 5–8")
    if kinds.count("计算") < 2 or kinds.count("代码") < 1:
        raise GenerationError(f"{where}: needs at least 2 计算 and 1 代码 ({kinds})")
    ids = [e.id for e in exercises]
    if len(set(ids)) != len(ids):
        raise GenerationError(
            f"{where}: duplicate ids {sorted(i for i in ids if ids.count(i) > 1)}"
        )
    stray = [e.id for e in exercises if not e.id.startswith(f"{slug}-")]
    if stray:
        raise GenerationError(f"{where}: ids must start with '{slug}-': {stray}")


# ── hand formulas: Python arithmetic on numbers ─────────────────────────────────────────────

_BINOPS: dict[type, tuple[Callable[[Any, Any], Any], int, str]] = {
    # operator, precedence, LaTeX
    ast.Add: (operator.add, 1, "+"),
    ast.Sub: (operator.sub, 1, "-"),
    ast.Mult: (operator.mul, 2, r"\times"),
    ast.Div: (operator.truediv, 2, "/"),
    ast.FloorDiv: (operator.floordiv, 2, "/"),
    ast.Pow: (operator.pow, 3, "^"),
}


def _is_round(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "round"
        and len(node.args) == 1
        and not node.keywords
    )


def _parse(formula: str) -> ast.expr:
    node = ast.parse(formula.strip(), mode="eval").body
    for sub in ast.walk(node):
        ok = isinstance(sub, (ast.BinOp, ast.UnaryOp, ast.operator, ast.unaryop, ast.Load))
        ok |= isinstance(sub, ast.Constant) and type(sub.value) in (int, float)
        ok |= _is_round(sub) or (isinstance(sub, ast.Name) and sub.id == "round")
        if not ok or (isinstance(sub, ast.operator) and type(sub) not in _BINOPS):
            raise ValueError(
                f"only numbers, + - * / // ** and round(…) are allowed, not {ast.unparse(sub)}"
            )
    return node


def evaluate(formula: str) -> float:
    """The value of a hand formula (numbers, ``+ - * / // **``, parentheses, ``round(…)``)."""

    def ev(node: ast.expr) -> float:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Call):  # round(x): Python's, halves to even
            return round(ev(node.args[0]))
        if isinstance(node, ast.UnaryOp):
            return -ev(node.operand) if isinstance(node.op, ast.USub) else ev(node.operand)
        assert isinstance(node, ast.BinOp)
        return _BINOPS[type(node.op)][0](ev(node.left), ev(node.right))

    return ev(_parse(formula))


def number_tex(value: float) -> str:
    """``69632`` → ``69{,}632`` (KaTeX's thousands separator)."""
    text = f"{value:,}" if isinstance(value, int) else f"{value:,g}"
    return text.replace(",", "{,}")


def formula_tex(formula: str) -> str:
    r"""The hand formula as LaTeX: ``9*64*64`` → ``9\times64\times64``, parentheses kept."""

    def tex(node: ast.expr, parent: int = 0, strict: bool = False) -> str:
        # strict: the right operand of - or /, which needs parentheses at equal precedence
        if isinstance(node, ast.Constant):
            return number_tex(node.value)
        if isinstance(node, ast.Call):
            return rf"\operatorname{{round}}\left({tex(node.args[0])}\right)"
        if isinstance(node, ast.UnaryOp):
            sign = "-" if isinstance(node.op, ast.USub) else "+"
            return sign + tex(node.operand, 4)
        assert isinstance(node, ast.BinOp)
        _, prec, op = _BINOPS[type(node.op)]
        if op == "^":
            out = f"{tex(node.left, 4)}^{{{tex(node.right)}}}"
        else:
            out = f"{tex(node.left, prec)} {op} {tex(node.right, prec, op in ('-', '/'))}"
        if prec < parent or (strict and prec == parent):
            out = rf"\left({out}\right)"
        return out

    return tex(_parse(formula))


# ── helpers for the exercise modules (meta device: exact counts, no memory) ─────────────────


def n_params(module: Any) -> int:
    """Parameters of a module, each tensor once (shared weights are not counted twice)."""
    return sum(p.numel() for p in module.parameters())


def count_macs(model: Any, *inputs: Any) -> int:
    """Multiply-accumulates of one forward pass, by FlopCounterMode (meta device only)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    tensors = [*model.parameters(), *[t for t in inputs if isinstance(t, torch.Tensor)]]
    if any(t.device.type != "meta" for t in tensors):
        raise GenerationError("count MACs on the meta device (build under torch.device('meta'))")
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(*inputs)
    return counter.get_total_flops() // 2


def snippet_text(ref: str) -> str:
    """The code of a snippet section ``path:section``, dedented, markers left out."""
    m = _SNIPPET.match(ref)
    if not m:
        raise GenerationError(f"snippet {ref!r}: expected 'path.py:section'")
    lines = (ROOT / m.group("path")).read_text(encoding="utf-8").splitlines()
    name = m.group("section")
    start = next(i for i, ln in enumerate(lines) if ln.strip() == f"# --8<-- [start:{name}]")
    end = next(i for i, ln in enumerate(lines) if ln.strip() == f"# --8<-- [end:{name}]")
    body = [ln for ln in lines[start + 1 : end] if "--8<--" not in ln]
    indent = min((len(ln) - len(ln.lstrip()) for ln in body if ln.strip()), default=0)
    return "\n".join(ln[indent:] for ln in body).strip("\n") + "\n"


# ── discovery, cache key, artifacts ────────────────────────────────────────────────────────


def exercise_modules() -> list[str]:
    """Slugs that have an exercises module, sorted."""
    return sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem not in FRAMEWORK)


def load(slug: str) -> list[Exercise]:
    """Compute one paper's exercises (imports its module; builds models on meta) and check them."""
    mod = importlib.import_module(f"tools.generator.exercises.{slug}")
    exercises = list(mod.exercises())
    check_set(slug, exercises)
    return exercises


def _local_imports(path: Path) -> set[Path]:
    """Repository files imported by ``path`` (``reference_impl.*``, ``tools.*``), recursively."""
    seen: set[Path] = set()
    todo = [path]
    while todo:
        tree = ast.parse(todo.pop().read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                base = ROOT / Path(*name.split("."))
                for cand in (base.with_suffix(".py"), base / "__init__.py"):
                    if cand.is_file() and cand not in seen:
                        seen.add(cand)
                        todo.append(cand)
    return seen


def exercise_key(slug: str, vers: str) -> str:
    """Hash of the exercises module, what it imports from this repository, its solution file.

    The imports are followed through the repository (``reference_impl.*``, ``tools.*``), so a
    change to the paper's reference module, or to anything the module computes with, recomputes
    the answers; no list of dependencies to keep by hand.
    """
    from tools.generator.cache import file_hash, sources

    module = PACKAGE / f"{slug}.py"
    rels = {p.relative_to(ROOT).as_posix() for p in _local_imports(module)}
    rels |= {f"tools/generator/exercises/{slug}.py", f"{SOLUTIONS}/{slug}.py"}
    rels.add("tools/catalog.toml")  # the paper's name: the quiz's category and question names
    rels |= {f"tools/generator/exercises/{name}.py" for name in FRAMEWORK}
    return file_hash(vers, *sources(*sorted(rels)))


def exercise_artifacts(slug: str) -> dict[str, str]:
    """The files of one paper's exercises: page section, Moodle XML, records."""
    from tools.generator.catalog import load as load_catalog
    from tools.generator.exercises import render

    paper = load_catalog().papers[slug]
    exercises = load(slug)
    records = {"slug": slug, "title": paper.short_name, "page": paper.page}
    records["exercises"] = [e.to_json() for e in exercises]
    return {
        f"papers/{slug}/exercises.md": render.page_section(slug, exercises),
        f"downloads/quiz/{slug}.xml": render.moodle_xml({paper.short_name: exercises}),
        f"exercises/{slug}.json": json.dumps(records, ensure_ascii=False, indent=1) + "\n",
    }


def read_records(out: Path) -> list[tuple[dict[str, str], list[Exercise]]]:
    """Every paper's exercise records written under ``out/exercises/``: (paper info, exercises).

    Sorted by slug; the caller puts them in catalog order.
    """
    found = []
    for path in sorted((out / "exercises").glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        info = {k: data[k] for k in ("slug", "title", "page")}
        found.append((info, [Exercise.from_json(e) for e in data["exercises"]]))
    return found


def site_files(catalog: Any, out: Path) -> dict[str, str]:
    """Across papers: the whole site's Moodle XML and the 教师资源 page (cheap, always written)."""
    from tools.generator.exercises import render

    by_slug = dict((info["slug"], (info, exs)) for info, exs in read_records(out))
    ordered = [by_slug[s] for s in catalog.papers if s in by_slug]
    quiz = {info["title"]: exs for info, exs in ordered}
    return {
        render.SITE_QUIZ: render.moodle_xml(quiz),
        "teachers.md": render.teachers_page(catalog, {i["slug"]: e for i, e in ordered}, out),
    }
