"""The offline bundle (dist/site-offline.zip, issue 7): unpacked and opened from disk by file://.

``nox -s docs`` builds the archive; when it is missing or older than the site's inputs this module
builds it first (``python -m tools.website.bundle``, about a minute). Pages are opened as files,
not served: search must work without a server (Material's offline plugin + the vendored
iframe-worker shim), links must point at files, and nothing may be requested from a network.
"""

from __future__ import annotations

import os
import re
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from tools.website import bundle as offline_bundle

from .conftest import ROOT, SHOTS

pytestmark = pytest.mark.browser

ZIP = Path(os.environ.get("DL_OFFLINE_ZIP", offline_bundle.OUT))
INPUTS = ("mkdocs.yml", "mkdocs-offline.yml", "docs", "generated", "reference_impl")


def _newest_input() -> float:
    newest = 0.0
    for name in INPUTS:
        top = ROOT / name
        paths = [top] if top.is_file() else top.rglob("*") if top.is_dir() else []
        for p in paths:
            if p.is_file() and ".stamps" not in p.parts and p.name != "timings.json":
                newest = max(newest, p.stat().st_mtime)
    return newest


@pytest.fixture(scope="module")
def offline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The unpacked bundle's ``site-offline/`` folder (the archive is rebuilt when stale)."""
    if "DL_OFFLINE_ZIP" not in os.environ and (
        not ZIP.is_file() or ZIP.stat().st_mtime < _newest_input()
    ):
        assert offline_bundle.build(ZIP) == 0, "python -m tools.website.bundle failed (see above)"
    assert ZIP.is_file(), f"{ZIP} missing: run `nox -s docs`"
    out = tmp_path_factory.mktemp("offline")
    with zipfile.ZipFile(ZIP) as zf:
        zf.extractall(out)
    site = out / offline_bundle.FOLDER
    assert (site / "index.html").is_file()
    return site


@pytest.fixture
def page(browser: Any) -> Any:
    """A page that records console errors and every request that is not to a local file."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    pg = ctx.new_page()
    pg.dl_errors = []
    pg.dl_network = []
    pg.on("console", lambda m: m.type == "error" and pg.dl_errors.append(m.text))
    pg.on("pageerror", lambda e: pg.dl_errors.append(f"uncaught: {e}"))
    pg.on(
        "request",
        lambda r: (
            not r.url.startswith(("file:", "data:", "blob:", "about:"))
            and pg.dl_network.append(r.url)
        ),
    )
    yield pg
    ctx.close()


def _search(pg: Any, query: str) -> list[str]:
    """Type a query into Material's search box; return the result links."""
    box = pg.locator("input.md-search__input")
    box.click()
    box.fill(query)
    pg.keyboard.press("End")  # a key event: Material searches on keyup
    pg.wait_for_selector(".md-search-result__item", timeout=20_000)
    links = pg.locator(".md-search-result__link")
    return [links.nth(i).get_attribute("href") or "" for i in range(links.count())]


def test_archive_is_one_folder_with_the_search_index(offline):
    with zipfile.ZipFile(ZIP) as zf:
        names = zf.namelist()
    assert all(n.startswith("site-offline/") for n in names)
    assert "site-offline/search/search_index.js" in names
    assert "site-offline/assets/iframe-worker/shim.js" in names


def test_diagram_links_reach_the_api_pages_from_disk(offline):
    """The diagrams' raw node links are rewritten from directory URLs to the .html files."""
    import re

    checked = 0
    for note in sorted((offline / "papers").glob("*.html")):
        text = note.read_text(encoding="utf-8")
        for href in re.findall(r'xlink:href="([^"#]*)#([^"]+)"', text):
            path, frag = href
            if not path:  # within the page (a figure's own <use> and clip paths)
                continue
            assert path.endswith(".html"), f"{note.name}: directory link {path}#{frag} offline"
            target = (note.parent / path).resolve()
            assert target.is_file(), f"{note.name}: {path} missing"
            assert f'id="{frag}"' in target.read_text(encoding="utf-8"), f"{path}#{frag}"
            checked += 1
    assert checked, "no diagram link to an API page found in the offline bundle"


def test_search_works_from_disk(offline, page):
    """Open a paper page by file://, search in Chinese, follow the first result."""
    page.goto((offline / "papers" / "resnet.html").as_uri(), wait_until="load")
    hrefs = _search(page, "残差")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "offline-search-light.png"))
    assert any("papers/resnet.html" in h for h in hrefs), hrefs
    assert all(h.startswith("file://") for h in hrefs), hrefs
    page.locator(".md-search-result__link").first.click()
    page.wait_for_load_state("load")
    assert page.url.startswith("file://") and "/papers/" in page.url
    assert not page.dl_errors, page.dl_errors
    assert not page.dl_network, page.dl_network


def test_pages_render_from_disk(offline, page):
    """Math is typeset, the card's BibTeX has a copy button, no request leaves the machine."""
    page.goto((offline / "papers" / "resnet.html").as_uri(), wait_until="load")
    page.wait_for_timeout(300)
    math = page.locator(".arithmatex")
    assert math.count() > 0 and page.locator(".arithmatex .katex").count() == math.count()
    page.locator(".paper-card details > summary").click()
    assert page.locator(".paper-card details pre code").inner_text().startswith("@inproceedings{")
    assert page.locator(".paper-card details button.md-code__button").count() == 1
    assert page.locator("abbr[title]").count() > 0
    assert not page.dl_errors, page.dl_errors
    assert not page.dl_network, page.dl_network


def test_links_point_at_files(offline, page):
    """No directory URLs offline: every internal link of the home page opens an existing file."""
    page.goto((offline / "index.html").as_uri(), wait_until="load")
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(a => a.href)")
    local = {h.split("#")[0].split("?")[0] for h in hrefs if h.startswith("file://")}
    assert len(local) > 10
    for url in sorted(local):
        path = Path(unquote(urlsplit(url).path))
        if path.suffix == ".pdf":  # printed later by `nox -s pdf`, which adds it to the bundle
            continue
        assert path.is_file(), f"{url} is not a file (a directory URL?)"


def test_overview_table_sorts(offline, page):
    page.goto((offline / "overview.html").as_uri(), wait_until="load")
    table = page.locator(".dl-sortable table").first
    header = table.locator("thead th").filter(has_text="参数（我们）")
    column = table.locator("thead th").evaluate_all(
        "(ths) => ths.findIndex(th => th.textContent.includes('参数（我们）'))"
    )

    def values() -> list[int]:
        cells = table.locator(f"tbody tr td:nth-child({column + 1})").all_inner_texts()
        return [int(c.replace(",", "")) for c in cells]

    header.locator("button.dl-sort").click()
    assert header.get_attribute("aria-sort") == "ascending"
    assert values() == sorted(values())
    header.locator("button.dl-sort").click()
    assert header.get_attribute("aria-sort") == "descending"
    assert values() == sorted(values(), reverse=True)
    page.screenshot(path=str(SHOTS / "offline-overview-sorted-light.png"))
    assert not page.dl_errors, page.dl_errors


def test_abbreviations_stay_out_of_code_math_and_diagrams(offline):
    """Hover definitions (abbr) must never land inside SVG text, code or formulas.

    An `<abbr>` inside an SVG `<text>` makes the label vanish. It happens when a diagram include
    is parsed as inline HTML, e.g. after an unescaped `<` in the page's Markdown (`$<t+1$`
    opens a tag for Python-Markdown; write `$< t+1$` or `$\\lt t+1$`).
    """
    bad = []
    for path in sorted(offline.rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        for tag in ("svg", "pre", "code"):
            for m in re.finditer(rf"<{tag}\b.*?</{tag}>", text, flags=re.S):
                if "<abbr" in m.group(0):
                    i = m.group(0).index("<abbr")
                    bad.append(f"{path.relative_to(offline)} <{tag}>: …{m.group(0)[i : i + 90]}")
        for m in re.finditer(r'<span class="arithmatex">.*?</span>', text, flags=re.S):
            if "<abbr" in m.group(0):
                bad.append(f"{path.relative_to(offline)} math: {m.group(0)[:90]}")
    assert not bad, "\n".join(bad)
