"""The generated boxes at the end of every paper page: "论文 vs 本实现" and the list of tests."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tools.generator import pages
from tools.generator.catalog import load
from tools.generator.tables import Stats

ROOT = Path(__file__).resolve().parents[1]
CATALOG = load()


def test_deviations_reads_every_bullet_with_its_continuation_lines(tmp_path):
    module = tmp_path / "m.py"
    module.write_text(
        'r"""Title.\n\nDeviations:\n\n- First, on\n  two lines.\n* Second.\n\nOther: x\n"""\n'
    )
    assert pages.deviations(module) == ["First, on two lines.", "Second."]


@pytest.mark.parametrize("slug", sorted(CATALOG.papers))
def test_every_paper_page_shows_the_box_and_the_tests(slug):
    paper = CATALOG.papers[slug]
    text = (ROOT / "docs" / paper.page).read_text(encoding="utf-8")
    assert f'--8<-- "generated/papers/{slug}/vs.md"' in text
    assert f'--8<-- "generated/papers/{slug}/tests.md"' in text
    assert "## 测试保证了什么" in text
    items = pages.deviations(ROOT / paper.module)
    assert items, f"{paper.module} has no Deviations: list"
    models = CATALOG.models_of(slug)
    stats = {m.id: Stats(m.params or 1, 0, 0, {}, None) for m in models}
    box = pages.paper_vs_impl(paper, models, stats)
    assert box.startswith('!!! abstract "论文 vs 本实现"')
    for item in items:
        assert item in box
    for m in models:
        assert f"{m.name}：本实现 {stats[m.id].params:,}" in box


@pytest.mark.parametrize("slug", sorted(CATALOG.papers))
def test_tests_list_names_every_test(slug):
    listing = pages.tests_list(slug)
    tree = ast.parse((ROOT / "tests" / f"test_{slug}.py").read_text(encoding="utf-8"))
    names = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
    tests = [n for n in names if n.startswith("test_")]
    assert tests and all(f"`{n}`" in listing for n in tests)
    assert f"全部 {len(tests)} 个测试" in listing


def test_papers_figures_are_printed_as_the_papers_state_them():
    """A paper's round figure keeps its own digits: "60 million" is 60 M, not 60.0 M (issue 25)."""
    from tools.generator.tables import paper_figure

    assert [paper_figure(x) for x in (60e6, 340e6, 1e9, 3.5e9, 1.8e9, 11.3e9, 65e6)] == [
        "60 M", "340 M", "1 G", "3.5 G", "1.8 G", "11.3 G", "65 M"
    ]  # fmt: skip
    for slug in ("alexnet", "bert", "dalle2"):
        models = CATALOG.models_of(slug)
        stats = {m.id: Stats(m.params or 1, 0, 0, {}, None) for m in models}
        box = pages.paper_vs_impl(CATALOG.papers[slug], models, stats)
        table = pages.variants_table(models, stats)
        for m in models:
            if m.paper_params:
                assert f"论文 {paper_figure(m.paper_params)}" in box
                assert f"| {paper_figure(m.paper_params)} |" in table
        assert not any(s in box + table for s in ("60.0 M", "340.0 M", "1.00 G", "3.50 G"))
