"""One word per term, everywhere a reader sees text: the glossary's ``zh``, never a ``synonyms``.

tools/glossary.toml lists, for some terms, the other common translations (步长 for 步幅, 模式坍塌
for 模式崩溃 …) and the bare English word (batch, token, patch, epoch). The site must use the
chosen word:

- in the prose of every page, where the English may appear only as a first-use gloss in
  full-width brackets, 批量（batch size）or 步幅（stride，又译步长）, and every paper page that
  uses the word gives that gloss at least once. Code, formulas, links and quotations of the
  author's notes (“…”) are not prose and are not checked;
- in every other string that reaches a page as Chinese text: the catalog (titles, model names,
  the explanations of gaps), the glossary's own definitions, the reading paths, the figures
  (titles, axis labels, legends, and the captions, which are the figure functions' docstrings),
  the generator's and the site tools' strings;
- in the generated fragments themselves (``generated/``, when a build has made them): cards,
  tables, boxes, diagrams and figures as the reader gets them.

Only text with Chinese characters is checked outside the pages: English sentences (the
``Deviations:`` lists, the API reference, test docstrings) use English words.
"""

from __future__ import annotations

import ast
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.generator import overview

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted([*ROOT.glob("docs/*.md"), *ROOT.glob("docs/papers/*.md")])
GLOSSARY = overview.load_glossary()
TERMS = [t for t in GLOSSARY.terms if t.synonyms]
GENERATED = ROOT / "generated"
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")

# not prose: inline code, formulas, link targets, HTML tags, quotations of the notes, and
# first-use glosses in full-width brackets: English words only, optionally followed by
# “，又译…”, such as （batch size） or （stride，又译步长）. （batch 32） is not a gloss: it is
# the English word used with a number, in place of the Chinese one.
_NOT_PROSE = re.compile(
    r"`[^`]*`|\$\$[^$]*\$\$|\$[^$]*\$|\]\([^)]*\)|<[^>]*>|“[^”]*”"
    r"|（[A-Za-z][A-Za-z .,'/&\-]*(?:，又译[^）]*)?）"
)


def prose(text: str) -> str:
    """The text of a page without code blocks, snippet includes, code, formulas and quotes."""
    lines, fence, math = [], False, False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("```"):
            fence = not fence
            continue
        if not fence and stripped.startswith("$$") and stripped.count("$$") == 1:
            math = not math  # a display formula over several lines: $$ … $$
            continue
        if fence or math or stripped.startswith(("--8<--", ":::")):
            continue
        lines.append(_NOT_PROSE.sub(" ", line))
    return "\n".join(lines)


def occurs(word: str, text: str) -> bool:
    """``word`` in ``text``; an ASCII word must stand alone (``batch`` but not ``BatchNorm``)."""
    if word.isascii():
        return re.search(rf"(?<![A-Za-z_\-]){re.escape(word)}(?![A-Za-z_\-])", text) is not None
    return word in text


def _without_longer_terms(synonym: str, text: str) -> str:
    """``text`` with every glossary word that contains ``synonym`` blanked out.

    符号距离函数 is a synonym of 有符号距离函数, which contains it: the chosen word is not a use
    of its synonym.
    """
    for term in GLOSSARY.terms:
        if synonym in term.zh and synonym != term.zh:
            text = text.replace(term.zh, " ")
    return text


def synonym_uses(text: str) -> list[str]:
    """One line per synonym used in ``text``: the synonym, the chosen word, the context."""
    problems = []
    for term in TERMS:
        for synonym in term.synonyms:
            body = _without_longer_terms(synonym, text)
            if occurs(synonym, body):
                line = next(x for x in body.splitlines() if occurs(synonym, x))
                problems.append(f"{synonym!r} instead of {term.zh!r}: {line.strip()[:90]}")
    return problems


# ── where a reader sees text besides the pages ────────────────────────────────────────────────


def _toml_strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _toml_strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _toml_strings(v)


def _python_strings(path: Path, docstrings: bool) -> Iterator[tuple[int, str]]:
    """(line, text) of every string constant of a module, f-strings' literal parts included.

    ``docstrings``: whether the docstrings count (a figure function's docstring is its caption).
    """
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip: set[int] = set()
    if not docstrings:
        for node in ast.walk(tree):
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                first = node.body[0] if node.body else None
                if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                    skip.add(id(first.value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            yield node.lineno, node.value


def reader_strings() -> Iterator[tuple[str, str]]:
    """(where, text) of every Chinese string that reaches a page from outside ``docs/``."""
    catalog = tomllib.loads((ROOT / "tools" / "catalog.toml").read_text(encoding="utf-8"))
    for text in _toml_strings(catalog):
        yield "tools/catalog.toml", text
    glossary = tomllib.loads((ROOT / "tools" / "glossary.toml").read_text(encoding="utf-8"))
    for term in glossary["terms"]:
        yield f"tools/glossary.toml {term['zh']}", term["def"]
    for text in _toml_strings(glossary.get("pages", {})):
        yield "tools/glossary.toml [pages]", text
    paths = tomllib.loads((ROOT / "tools" / "reading_paths.toml").read_text(encoding="utf-8"))
    for text in _toml_strings(paths):
        yield "tools/reading_paths.toml", text
    figures = ROOT / "tools" / "generator" / "figures"
    for path in sorted((ROOT / "tools").rglob("*.py")):
        for line, text in _python_strings(path, docstrings=path.parent == figures):
            yield f"{path.relative_to(ROOT)}:{line}", text


def generated_texts() -> Iterator[tuple[str, str]]:
    """(file, text) of every generated fragment a page includes (not the copies of the code)."""
    for path in sorted(GENERATED.rglob("*.md")):
        rel = path.relative_to(GENERATED)
        # the glossary table lists every term's other translations (又译：…) by design
        if rel.parts[0] not in ("source", "downloads") and rel.as_posix() != "glossary/table.md":
            yield str(rel), path.read_text(encoding="utf-8")


def chinese_lines(text: str) -> str:
    """The lines of ``text`` that have Chinese characters, as prose (English is not checked)."""
    return "\n".join(line for line in prose(text).splitlines() if CJK.search(line))


def test_prose_filter_keeps_prose_and_drops_the_rest():
    text = (
        "批量（batch size）为 1，`batch` 与 $batch$ 和“步长”\n```\nbatch = 1\n```\n步长 2"
        "\n$$\nwarmup\\_steps\n$$\n$$x$$ 之后"
    )
    kept = prose(text)
    assert "批量" in kept and "步长 2" in kept
    assert not occurs("batch", kept)
    assert kept.count("步长") == 1  # the quoted one is gone
    assert "warmup" not in kept and "之后" in kept  # a display formula over several lines
    assert occurs("batch", "一个 batch 中") and not occurs("batch", "BatchNorm、batch_first")


def test_glossary_declares_synonyms_for_the_core_terms():
    names = {t.zh for t in TERMS}
    assert {"步幅", "模式崩溃", "两样本检验", "图块", "批量", "词元"} <= names
    for term in TERMS:
        assert term.zh not in term.synonyms
        others = [t.zh for t in GLOSSARY.terms if t is not term]
        assert not set(term.synonyms) & set(others), f"{term.zh}: a synonym is another term"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT / "docs")))
def test_pages_use_the_glossary_word(page):
    text = page.read_text(encoding="utf-8")
    body = prose(text)
    problems = synonym_uses(body)
    for term in TERMS:
        english = [s for s in term.synonyms if s.isascii()]
        # a one-character word (轮) is part of too many other words to tell its uses apart
        if english and len(term.zh) > 1 and page.parent.name == "papers" and term.zh in body:
            glossed = any(re.search(rf"（[A-Za-z ]*{e}", text) for e in english)
            if not glossed:
                problems.append(f"{term.zh!r} is used but never glossed as （{english[0]}）")
    assert not problems, "\n".join(problems)


def test_reader_strings_use_the_glossary_word():
    """Catalog, glossary definitions, reading paths, figure and tool strings (issue 25)."""
    problems = [
        f"{where}: {problem}"
        for where, text in reader_strings()
        if CJK.search(text)
        for problem in synonym_uses(chinese_lines(text))
    ]
    assert not problems, "\n".join(problems)


def test_generated_fragments_use_the_glossary_word():
    """Everything the generator wrote that a page includes, as the reader gets it."""
    texts = list(generated_texts())
    if not texts:
        pytest.skip("generated/ is empty: run `nox -s docs` (the sources are checked above)")
    problems = [
        f"generated/{name}: {problem}"
        for name, text in texts
        for problem in synonym_uses(chinese_lines(text))
    ]
    assert not problems, "\n".join(problems)


def test_the_checks_see_the_strings_they_must_see():
    """The scan reaches figure labels, captions and the catalog; “（batch 32）” is no gloss."""
    where = {w.split(":")[0] for w, _ in reader_strings()}
    assert {"tools/catalog.toml", "tools/reading_paths.toml"} <= where
    assert "tools/generator/figures/contrastive.py" in where
    assert any(w.startswith("tools/generator/") and "/figures/" not in w for w in where)
    captions = [t for w, t in reader_strings() if w.startswith("tools/generator/figures/rnn.py")]
    assert any("LSTM" in t and CJK.search(t) for t in captions)  # a figure docstring (caption)
    assert synonym_uses(chinese_lines("训练步数（batch 32）")) != []
    assert synonym_uses(chinese_lines("批量（batch size）为 32，步幅（stride，又译步长）")) == []
    assert synonym_uses("用有符号距离函数表示") == []
    assert synonym_uses("符号距离函数") != []
    assert chinese_lines("the same batch\n一个 batch 中") == "一个 batch 中"


def test_figure_captions_are_chinese():
    """A figure's caption is the first line of its function's docstring: Chinese, like the page."""
    captions = {}
    for path in sorted((ROOT / "tools" / "generator" / "figures").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(
                isinstance(target, ast.Name) and target.id == "FIGURES" for target in node.targets
            ):
                for key, value in zip(node.value.keys, node.value.values, strict=True):
                    doc = ast.get_docstring(functions[value.id]) or ""
                    captions[key.value] = (doc.strip().splitlines() or [""])[0]
    assert len(captions) >= 25
    english = {name: c for name, c in captions.items() if not CJK.search(c)}
    assert not english, english


def test_glossary_table_lists_the_other_translations():
    table = overview.glossary_table(overview_catalog(), GLOSSARY)
    assert "步幅（又译：步长）" in table
    assert "两样本检验（又译：二样本检验）" in table


def overview_catalog():
    from tools.generator.catalog import load

    return load()


def test_glossary_corrections_stay():
    """Two facts the glossary once got wrong (issue 11)."""
    by_abbr = {t.abbr: t for t in GLOSSARY.terms if t.abbr}
    assert "没有遗忘门" in by_abbr["LSTM"].definition or "遗忘门是" in by_abbr["LSTM"].definition
    cls = next(t for t in GLOSSARY.terms if "[CLS]" in t.en)
    assert "首创" not in cls.definition and "GPT" in cls.definition
    smoothing = next(t for t in GLOSSARY.terms if t.en == "Label Smoothing")
    assert "全部" in smoothing.definition


def search_boost(page: Path) -> float:
    """The ``search: boost`` of a page's front matter (1 when it has none)."""
    text = page.read_text(encoding="utf-8")
    match = re.match(r"---\n(.*?)\n---\n", text, re.S)
    found = match and re.search(r"^search:\n  boost: ([0-9.]+)", match.group(1), re.M)
    return float(found.group(1)) if found else 1.0


def test_paper_pages_rank_above_the_glossary_in_search():
    """Material's per-page boost: the page that explains a term beats the one-line definition."""
    papers = [p for p in sorted(ROOT.glob("docs/papers/*.md")) if not p.stem.endswith("-api")]
    assert papers and all(search_boost(p) > 1 for p in papers)
    assert search_boost(ROOT / "docs" / "glossary.md") < 1
