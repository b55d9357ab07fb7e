"""The 练习 sections in the browser: answers closed, opening one, search not spoiled; screenshots.

Screenshots of the ResNet and ViT exercise sections, light and dark, at 1280 px and on a 390 px
phone, go to ``reports/screenshots/exercises-*.png`` (git-ignored).
"""

from __future__ import annotations

import json
from urllib.parse import unquote, urlsplit

import pytest

from tools.generator import exercises

from .conftest import ROOT, SHOTS, SITE, TIMEOUT_MS, new_context, switch_to_dark

pytestmark = pytest.mark.browser

RECORDS = ROOT / "generated" / "exercises"
PAGES = sorted(p.stem for p in RECORDS.glob("*.json")) if RECORDS.is_dir() else []
# A glossary term the Transformer page explains (its 束搜索 section) and an exercise's answer uses
# (标签平滑), while no question does: a search lands on the explanation, never in the 练习 section.
SPOILER_TERM, EXPLAINED_ON = "束搜索", "papers/transformer/"


def _open(browser, server, path, scheme="light", width=1280):
    ctx, foreign = new_context(browser, server, scheme)
    page = ctx.new_page()
    page.set_viewport_size({"width": width, "height": 900})
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(server + path, wait_until="load")
    page.wait_for_load_state("networkidle")
    return ctx, page, foreign


@pytest.mark.parametrize("slug", PAGES)
def test_answers_are_closed_until_opened(browser, server, slug):
    data = json.loads((RECORDS / f"{slug}.json").read_text(encoding="utf-8"))
    ctx, page, foreign = _open(browser, server, f"papers/{slug}/")
    try:
        answers = page.locator(".dl-exercise > details.dl-answer")
        assert answers.count() == len(data["exercises"])
        assert page.locator(".dl-exercise > details.dl-answer[open]").count() == 0
        for e in data["exercises"]:  # every exercise has its anchor and a visible question
            assert page.locator(f'[id="{e["id"]}"] .dl-exercise__title').is_visible()
        first = answers.first
        first.locator("summary").click()
        assert first.evaluate("d => d.open")
        computed = data["exercises"][0]["computed"]
        if computed:
            shown = exercises.Computed(**computed).shown()
            assert f"答案：{shown}" in first.inner_text()
            assert first.locator(".katex").count() > 0  # the hand formula, typeset
    finally:
        ctx.close()
    assert not foreign


def _search(browser, server, term):
    ctx, foreign = new_context(browser, server)
    try:
        page = ctx.new_page()
        page.goto(server, wait_until="load")
        box = page.locator("input.md-search__input")
        box.click()
        box.fill(term)
        page.locator(".md-search-result__list > li").first.wait_for(state="attached")
        hrefs = page.eval_on_selector_all(
            ".md-search-result__list a", "els => els.map(a => a.href)"
        )
    finally:
        ctx.close()
    assert not foreign
    return [unquote(urlsplit(h).path + "#" + urlsplit(h).fragment) for h in hrefs]


def test_search_lands_on_the_explanation_not_on_an_answer(browser, server):
    html = (SITE / EXPLAINED_ON / "index.html").read_text(encoding="utf-8")
    section = html[html.index('id="练习"') :]
    assert SPOILER_TERM in section[section.index('class="success dl-answer"') :]  # in an answer
    results = _search(browser, server, SPOILER_TERM)
    assert results, f"search {SPOILER_TERM!r}: no result"
    assert results[0].startswith("/" + EXPLAINED_ON), results
    assert not any(r.endswith("#练习") for r in results), results


@pytest.mark.parametrize("slug", ["resnet", "vit"])
@pytest.mark.parametrize(
    ("scheme", "width"), [("light", 1280), ("dark", 1280), ("light", 390), ("dark", 390)]
)
def test_screenshot_of_the_exercise_section(browser, server, slug, scheme, width):
    if slug not in PAGES:
        pytest.skip(f"no exercises for {slug} yet")
    ctx, page, _ = _open(browser, server, f"papers/{slug}/", "light", width)
    try:
        if scheme == "dark":
            assert switch_to_dark(page) == "slate"
        box = page.locator(".dl-exercises")
        box.locator("details.dl-answer summary").first.click()  # one answer open, as a reader
        box.scroll_into_view_if_needed()
        SHOTS.mkdir(parents=True, exist_ok=True)
        box.screenshot(path=str(SHOTS / f"exercises-{slug}-{scheme}-{width}.png"))
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page scrolls sideways by {overflow} px"
    finally:
        ctx.close()
