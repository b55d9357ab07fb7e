"""One word per term: the pages use the glossary's ``zh`` name, never one of its ``synonyms``.

tools/glossary.toml lists, for some terms, the other common translations (步长 for 步幅, 模式坍塌
for 模式崩溃 …) and the bare English word (batch, token, patch). The prose of every page must use
the chosen word; the English may appear only as a gloss in full-width brackets, 批量（batch）,
and every page that uses the word gives that gloss at least once. Code, formulas, links and
quotations of the author's notes (“…”) are not prose and are not checked.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tools.generator import overview

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted([*ROOT.glob("docs/*.md"), *ROOT.glob("docs/papers/*.md")])
GLOSSARY = overview.load_glossary()
TERMS = [t for t in GLOSSARY.terms if t.synonyms]

# not prose: inline code, formulas, link targets, HTML tags, quotations of the notes,
# and English glosses in full-width brackets such as （batch size）
_NOT_PROSE = re.compile(
    r"`[^`]*`|\$\$[^$]*\$\$|\$[^$]*\$|\]\([^)]*\)|<[^>]*>|“[^”]*”|（[A-Za-z][^）]*）"
)


def prose(text: str) -> str:
    """The text of a page without code blocks, snippet includes, code, formulas and quotes."""
    lines, fence = [], False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("```"):
            fence = not fence
            continue
        if fence or stripped.startswith(("--8<--", ":::")):
            continue
        lines.append(_NOT_PROSE.sub(" ", line))
    return "\n".join(lines)


def occurs(word: str, text: str) -> bool:
    """``word`` in ``text``; an ASCII word must stand alone (``batch`` but not ``BatchNorm``)."""
    if word.isascii():
        return re.search(rf"(?<![A-Za-z_\-]){re.escape(word)}(?![A-Za-z_\-])", text) is not None
    return word in text


def test_prose_filter_keeps_prose_and_drops_the_rest():
    text = "批量（batch size）为 1，`batch` 与 $batch$ 和“步长”\n```\nbatch = 1\n```\n步长 2"
    kept = prose(text)
    assert "批量" in kept and "步长 2" in kept
    assert not occurs("batch", kept)
    assert kept.count("步长") == 1  # the quoted one is gone
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
    problems = []
    for term in TERMS:
        for synonym in term.synonyms:
            if occurs(synonym, body):
                line = next(x for x in body.splitlines() if occurs(synonym, x))
                problems.append(f"{synonym!r} instead of {term.zh!r}: {line.strip()[:80]}")
        english = [s for s in term.synonyms if s.isascii()]
        if english and page.parent.name == "papers" and term.zh in body:
            glossed = any(re.search(rf"（[A-Za-z ]*{e}", text) for e in english)
            if not glossed:
                problems.append(f"{term.zh!r} is used but never glossed as （{english[0]}）")
    assert not problems, "\n".join(problems)


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
