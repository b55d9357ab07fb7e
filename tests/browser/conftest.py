"""Fixtures of the browser tests: the built site served on 127.0.0.1, Debian's Chromium.

Run with ``nox -s browser`` (which builds ``site/`` first when it is missing or older than its
inputs). Playwright drives the system Chromium (``/usr/bin/chromium``, or ``$CHROMIUM``); no
browser is ever downloaded. Every page is loaded once; what the tests check is collected then
(:func:`inspect`) and cached, so each check is its own test without reloading the page.
Screenshots of every page, light and dark, go to ``reports/screenshots/`` (git-ignored).
"""

from __future__ import annotations

import functools
import os
import re
import threading
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tools.website.pdf import CHROMIUM, CHROMIUM_ARGS  # the same Chromium and flags as the PDFs

ROOT = Path(__file__).resolve().parents[2]
SITE = Path(os.environ.get("DL_SITE", ROOT / "site")).resolve()
SHOTS = Path(os.environ.get("DL_SCREENSHOTS", ROOT / "reports" / "screenshots"))
TIMEOUT_MS = 90_000  # a 2-core machine under load renders a long page slowly
FULL_SOURCE = re.compile(r"\b(reference_impl/[\w/]+\.py)\b")


def site_pages(site: Path = SITE) -> list[str]:
    """Every page of the built site as a URL path relative to the root ("" is the home page)."""
    pages = []
    for index in sorted(site.rglob("index.html")):
        rel = index.parent.relative_to(site).as_posix()
        pages.append("" if rel == "." else rel + "/")
    return pages


def page_id(path: str) -> str:
    """A readable test id / file name for a page path."""
    return path.strip("/").replace("/", "-") or "index"


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [f"site: {SITE} ({len(site_pages())} pages)", f"chromium: {CHROMIUM}"]


# ── server and browser ─────────────────────────────────────────────────────────────────────


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="session")
def server() -> Any:
    """The built site on http://127.0.0.1:<free port>/ (a thread of this process)."""
    if not (SITE / "index.html").is_file():
        pytest.skip(f"{SITE} is not built: run `nox -s browser` (it builds the site first)")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=SITE))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="session")
def browser() -> Any:
    """Debian's Chromium, headless, through Playwright (fresh temporary profile)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM} (Debian: apt-get install chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@dataclass
class Facts:
    """What one page load showed."""

    path: str
    console_errors: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    math: dict[str, Any] = field(default_factory=dict)
    diagrams: list[dict[str, Any]] = field(default_factory=list)
    palette: dict[str, Any] = field(default_factory=dict)
    copies: list[dict[str, str]] = field(default_factory=list)
    screenshots: list[Path] = field(default_factory=list)


def new_context(browser: Any, server: str, scheme: str = "light") -> tuple[Any, list[str]]:
    """A browser context that lets only the local server through and may read the clipboard.

    Every request of its pages (and their workers) goes through the route below: requests to any
    other host are recorded and aborted, so nothing leaves the machine. Chromium's own background
    traffic is not a page request and never reaches it.
    """
    host = urlsplit(server).netloc
    ctx = browser.new_context(
        viewport={"width": 1280, "height": 900},
        color_scheme=scheme,
        locale="zh-CN",
        service_workers="block",
    )
    ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.rstrip("/"))
    foreign: list[str] = []

    def gate(route: Any) -> None:
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob") or parts.netloc == host:
            route.continue_()
        else:
            foreign.append(url)
            route.abort()

    ctx.route("**/*", gate)
    return ctx, foreign


_MATH_JS = r"""() => {
  const errors = [...document.querySelectorAll('.katex-error')].map(
    e => (e.getAttribute('title') || e.textContent).slice(0, 160));
  const raw = [];
  const nodes = [...document.querySelectorAll('.arithmatex')];
  for (const n of nodes) {
    const c = n.cloneNode(true);
    c.querySelectorAll('.katex').forEach(k => k.remove());
    const t = c.textContent;
    const raw_left = /\\\(|\\\[|\$\$/.test(t);
    if (!n.querySelector('.katex') || raw_left) raw.push(n.textContent.slice(0, 120));
  }
  return {count: nodes.length, errors, raw};
}"""

# Node links point into the page (#id) or to the API page beside it (../<slug>-api/#id): the
# target page is fetched once and parsed, and the id looked up there.
_DIAGRAMS_JS = r"""async () => {
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  const pages = {};
  const target = async (url) => {
    if (url.href.split('#')[0] === location.href.split('#')[0]) return document;
    const key = url.origin + url.pathname;
    if (!(key in pages)) {
      const res = await fetch(key);
      pages[key] = res.ok
        ? new DOMParser().parseFromString(await res.text(), 'text/html') : null;
    }
    return pages[key];
  };
  const out = [];
  for (const fig of document.querySelectorAll('figure.dl-diagram')) {
    const svg = fig.querySelector('svg');
    const r = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
    const links = [];
    for (const a of fig.querySelectorAll('a')) {
      const href = a.getAttribute('href') || a.getAttribute('xlink:href');
      if (!href) continue;
      const url = new URL(href, location.href);  // Material makes HTML links absolute
      if (url.origin !== location.origin) continue;
      const id = decodeURIComponent(url.hash.slice(1));
      const doc = await target(url);
      links.push({href, ok: !!id && doc !== null && doc.getElementById(id) !== null});
    }
    let text = Infinity;  // smallest rendered font size in px (font-size × the SVG's scale)
    for (const t of svg ? svg.querySelectorAll('text') : []) {
      const m = t.getScreenCTM();
      const size = parseFloat(getComputedStyle(t).fontSize);
      if (m && size) text = Math.min(text, size * Math.hypot(m.a, m.b));
    }
    out.push({id: fig.id, svg: !!svg, width: r.width, height: r.height, text, links});
  }
  return out;
}"""

# One element per CSS variable used as a fill in the diagrams: its computed fill.
_FILLS_JS = r"""() => {
  const seen = {};
  for (const el of document.querySelectorAll('figure.dl-diagram svg [class*="dlf-"]')) {
    const m = /\bdlf-([\w-]+)/.exec(el.getAttribute('class'));
    if (m && !(('--dl-' + m[1]) in seen)) {
      el.setAttribute('data-dl-probe', '--dl-' + m[1]);
      seen['--dl-' + m[1]] = getComputedStyle(el).fill;
    }
  }
  return seen;
}"""

_REFILLS_JS = r"""() => {
  const out = {};
  for (const el of document.querySelectorAll('[data-dl-probe]'))
    out[el.getAttribute('data-dl-probe')] = getComputedStyle(el).fill;
  return out;
}"""


def switch_to_dark(page: Any) -> str:
    """Click Material's palette toggle until the page is in the dark (slate) scheme."""
    labels = page.locator('form[data-md-component="palette"] label.md-header__button:not([hidden])')
    for _ in range(3):
        if page.evaluate("document.body.getAttribute('data-md-color-scheme')") == "slate":
            break
        labels.first.click()
        page.wait_for_timeout(100)
    return page.evaluate("document.body.getAttribute('data-md-color-scheme')") or ""


def inspect(browser: Any, server: str, path: str) -> Facts:
    """Load one page and collect everything the tests check; take its two screenshots."""
    facts = Facts(path)
    ctx, foreign = new_context(browser, server)
    page = ctx.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.on(
        "console",
        lambda m: m.type == "error" and facts.console_errors.append(f"{m.text} @ {m.location}"),
    )
    page.on("pageerror", lambda e: facts.console_errors.append(f"uncaught: {e}"))
    page.on(
        "response",
        lambda r: r.status >= 400 and facts.failed_requests.append(f"{r.status} {r.url}"),
    )
    try:
        page.goto(server + path, wait_until="load")
        page.wait_for_load_state("networkidle")
        facts.math = page.evaluate(_MATH_JS)
        SHOTS.mkdir(parents=True, exist_ok=True)
        light = SHOTS / f"{page_id(path)}-light.png"
        page.screenshot(path=str(light), full_page=True)
        facts.diagrams = page.evaluate(_DIAGRAMS_JS)  # opens every <details>
        before = page.evaluate(_FILLS_JS)
        facts.copies = copy_full_sources(page)
        scheme = switch_to_dark(page)
        page.wait_for_timeout(200)
        after = page.evaluate(_REFILLS_JS)
        facts.palette = {"scheme": scheme, "light": before, "dark": after}
        page.evaluate("window.scrollTo(0, 0)")
        dark = SHOTS / f"{page_id(path)}-dark.png"
        page.screenshot(path=str(dark), full_page=True)
        facts.screenshots = [light, dark]
        page.wait_for_load_state("networkidle")
    finally:
        facts.foreign_requests = list(foreign)
        ctx.close()
    return facts


def copy_full_sources(page: Any) -> list[dict[str, str]]:
    """Press the copy button of every block that shows a whole module; read the clipboard."""
    out = []
    blocks = page.locator("details:has(> summary)")
    for i in range(blocks.count()):
        block = blocks.nth(i)
        summary = block.locator("> summary").inner_text()
        m = FULL_SOURCE.search(summary)
        button = block.locator('button.md-code__button[data-md-type="copy"]')
        if not m or button.count() != 1:
            continue
        page.evaluate("navigator.clipboard.writeText('')")
        block.locator("pre").first.hover()
        button.click()
        page.wait_for_timeout(50)
        out.append({"module": m.group(1), "text": page.evaluate("navigator.clipboard.readText()")})
    return out


_FACTS: dict[str, Facts | BaseException] = {}


@pytest.fixture
def facts(browser: Any, server: str, request: pytest.FixtureRequest) -> Facts:
    """The facts of the page this test is parametrized with (loaded once per session)."""
    path = request.node.callspec.params["path"]
    if path not in _FACTS:
        try:
            _FACTS[path] = inspect(browser, server, path)
        except Exception as exc:  # reported once per test of this page, not retried
            _FACTS[path] = exc
    found = _FACTS[path]
    if isinstance(found, BaseException):
        pytest.fail(f"loading {path or 'index'} failed: {type(found).__name__}: {found}")
    return found
