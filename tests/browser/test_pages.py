"""Every page of the built site, in Chromium: what a reader sees works, offline.

Each page is loaded once (see ``conftest.inspect``); the tests below check what that load showed.
"""

from __future__ import annotations

import difflib
import re

import pytest

from .conftest import ROOT, SITE, page_id, site_pages

pytestmark = pytest.mark.browser

PAGES = site_pages()
if not PAGES:  # keeps collection quiet when the site is not built; the server fixture skips
    PAGES = [""]

by_page = pytest.mark.parametrize("path", PAGES, ids=[page_id(p) for p in PAGES])


@by_page
def test_no_console_errors(facts, path):
    assert not facts.console_errors, "\n".join(facts.console_errors)


@by_page
def test_only_local_requests(facts, path):
    """Fonts, scripts, math and images all come from the site itself; nothing is missing."""
    assert not facts.foreign_requests, "requests to other hosts:\n" + "\n".join(
        sorted(set(facts.foreign_requests))
    )
    assert not facts.failed_requests, "\n".join(facts.failed_requests)


@by_page
def test_formulas_rendered(facts, path):
    math = facts.math
    assert not math["errors"], f"KaTeX errors: {math['errors']}"
    assert not math["raw"], (
        f"{len(math['raw'])} of {math['count']} formulas left raw: {math['raw']}"
    )


@by_page
def test_diagrams_visible_and_linked(facts, path):
    if not facts.diagrams:
        pytest.skip("no generated diagram on this page")
    problems = []
    for d in facts.diagrams:
        if not d["svg"] or d["width"] < 1 or d["height"] < 1:
            problems.append(f"{d['id']}: not visible ({d['width']}×{d['height']})")
        problems += [
            f"{d['id']}: link {a['href']} has no target" for a in d["links"] if not a["ok"]
        ]
    if path.startswith("papers/"):  # the boxes of the reference's own classes are links
        if not any(d["links"] for d in facts.diagrams):
            problems.append("no diagram on this page links to the API reference")
    assert not problems, "\n".join(problems)


@by_page
def test_diagrams_keep_the_size_budget(facts, path):
    """At 1280×1000 every diagram is at most 1,600 px tall and its text at least 10 px:
    a model too large for that is drawn one level up, with drill-down to detail diagrams."""
    if not facts.diagrams:
        pytest.skip("no generated diagram on this page")
    over = [
        f"{d['id']}: {d['height']:.0f} px tall, text {d['text']:.1f} px"
        for d in facts.diagrams
        if d["height"] > 1600 or d["text"] < 10
    ]
    assert not over, "\n".join(over)


def test_biggest_model_page_diagrams_stay_small():
    """The DALL·E 2 page's diagrams together under 350 KB (the U-Net alone was 821 KB)."""
    html = (SITE / "papers" / "dalle2" / "index.html").read_text(encoding="utf-8")
    figures = re.findall(r'<figure class="dl-diagram".*?</figure>', html, flags=re.S)
    assert len(figures) >= 6  # overviews, blocks and drill-down details of the prior and decoder
    assert sum(len(f.encode()) for f in figures) < 350_000


def test_every_page_stays_under_400_kb():
    """Issue 13: every page of the site at most 400 KB of HTML (DALL·E 2 was 1.97 MB)."""
    sizes = {p.relative_to(SITE).as_posix(): p.stat().st_size for p in SITE.rglob("*.html")}
    assert len(sizes) > 30
    over = {p: s for p, s in sizes.items() if s > 400 * 1024}
    assert not over, over


@by_page
def test_dark_mode_changes_diagram_palette(facts, path):
    if not facts.diagrams:
        pytest.skip("no generated diagram on this page")
    pal = facts.palette
    assert pal["scheme"] == "slate", "the palette toggle did not reach the dark scheme"
    assert pal["light"], "no diagram element is coloured through a --dl-* CSS variable"
    same = {v: c for v, c in pal["light"].items() if pal["dark"].get(v) == c}
    assert not same, f"colours unchanged in dark mode: {same}"


def _module_text(rel: str) -> str:
    return (ROOT / rel).read_text(encoding="utf-8")


@by_page
def test_copy_button_yields_the_module_file(facts, path):
    """The copy button of the "完整代码" block copies exactly ``reference_impl/<slug>.py``.

    Material trims trailing whitespace when it copies; the module ends with one newline.
    """
    if not facts.copies:
        pytest.skip("no full-source block on this page")
    problems = []
    for c in facts.copies:
        want = _module_text(c["module"]).rstrip()
        got = c["text"]
        if got == want:
            continue
        markers = [ln for ln in want.splitlines() if "--8<--" in ln]
        if markers and got == "\n".join(ln for ln in want.splitlines() if "--8<--" not in ln):
            slug = c["module"].rsplit("/", 1)[-1]
            problems.append(
                f"{c['module']}: the copied text lacks the {len(markers)} snippet section "
                "marker lines (pymdownx.snippets drops them from a whole-file include); "
                f'include "generated/source/{slug}" instead (written by tools/generator/sources.py)'
            )
            continue
        diff = difflib.unified_diff(
            want.splitlines(), got.splitlines(), "module", "copied", n=1, lineterm=""
        )
        problems.append(f"{c['module']}: copied text differs\n" + "\n".join(list(diff)[:20]))
    assert not problems, "\n".join(problems)


@by_page
def test_screenshots_written(facts, path):
    for shot in facts.screenshots:
        assert shot.is_file() and shot.stat().st_size > 1000, shot
    assert len(facts.screenshots) == 2, f"light and dark screenshots of {path or 'index'}"
