"""Site step 4 of 4: print the built site to PDF, one file per paper page and one for the site.

See :mod:`tools.website` for the other steps.

Usage::

    python -m tools.website.pdf                     # every paper PDF and the site PDF, from site/
    python -m tools.website.pdf --only resnet site  # some papers (by slug) and/or the site PDF

Run by ``nox -s pdf`` after the site is built. Headless Chromium (Debian's ``/usr/bin/chromium``
or ``$CHROMIUM``, driven by Playwright; no browser is downloaded) opens each page of ``site/``,
served on 127.0.0.1, in the light palette, waits for KaTeX and the fonts, moves the answers of
the 练习 section after its exercises, opens every collapsed block, and prints it on A4 with
``docs/stylesheets/print.css``: the article only, code wrapped, diagrams and figures as vectors
kept on one page, running header and page numbers, PDF bookmarks from the headings (Chromium's
``outline``), tagged, fonts embedded as subsets.

* A paper's PDF sits beside its page: ``site/papers/<slug>/<slug>.pdf``, the link on the card.
* The site PDF, ``site/dl-paper-notes.pdf`` (beside the home page, which links it): a cover, a
  table of contents with page numbers, then every page in navigation order, each from a new page,
  with bookmarks in the shape of the navigation (sections, pages, their headings). Links between
  pages become links inside the PDF. The pages are printed first (numbered from 1); Chromium's
  bookmarks say where each starts, and the cover and contents, printed next, go in front.
* Links to the local server that cannot work in a file (other pages in a single-page PDF,
  downloads) are turned into plain text; links to other sites are kept.
* A request to any host other than the local server is an error.
* ``dist/site-offline.zip`` (when present) gets the PDFs too, beside the offline pages.

Prints one line per PDF (pages, size, seconds) and the total.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import os
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "site"
SITE_PDF = "dl-paper-notes.pdf"
SITE_NAME = "深度学习论文学习"
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
TIMEOUT_MS = 180_000
FONT = "'Noto Sans CJK SC', 'Source Han Sans SC', 'PingFang SC', 'Microsoft YaHei', sans-serif"
_BAR = f"font-family:{FONT};font-size:8px;color:#666;width:100%;margin:0 15mm;display:flex;"
HEADER = (
    f'<div style="{_BAR}justify-content:space-between">'
    f'<span>{SITE_NAME}</span><span class="title"></span></div>'
)
FOOTER = (
    f'<div style="{_BAR}justify-content:center">'
    '<span class="pageNumber"></span>&nbsp;/&nbsp;<span class="totalPages"></span></div>'
)
PDF_OPTIONS: dict[str, Any] = {
    "format": "A4",
    "print_background": True,
    "margin": {"top": "16mm", "bottom": "16mm", "left": "15mm", "right": "15mm"},
    "outline": True,
    "tagged": True,
}


# ── the pages, in navigation order ─────────────────────────────────────────────────────────


@dataclass
class Page:
    """One page of the site: its URL path ("" for home), navigation title and sections.

    ``section``: the navigation sections the page is in, outermost first (a theme, then a paper:
    ``("卷积网络", "AlexNet")``); empty for the pages at the top.
    """

    path: str
    title: str
    section: tuple[str, ...] = ()
    slug: str | None = None  # set for paper pages (a paper card), which get their own PDF

    @property
    def pdf(self) -> str:
        """Where the page's own PDF goes, relative to the site root (beside the page)."""
        return f"{self.path}{self.slug}.pdf"


# The navigation of the home page: sections and the pages under them, in order. The current
# page's own table of contents (md-nav--secondary) is skipped.
_NAV_JS = """() => {
  const out = [];
  function walk(ul, section) {  // section: the names of the enclosing sections, outermost first
    for (const li of ul.children) {
      if (li.classList.contains('md-nav__item--nested')) {
        const label = li.querySelector(':scope > label, :scope > div > label, :scope > a');
        const sub = li.querySelector(':scope > nav.md-nav:not(.md-nav--secondary) > ul');
        const name = (label ? label.textContent : '').trim();
        if (sub) walk(sub, [...section, name]);
        continue;
      }
      const a = li.querySelector(':scope > a.md-nav__link');
      if (a) out.push({href: a.href, title: a.textContent.trim(), section});
    }
  }
  walk(document.querySelector('nav.md-nav--primary > ul'), []);
  return out;
}"""

# Ready to print: every formula rendered by KaTeX and every font loaded.
_READY_JS = """() => document.fonts.status === 'loaded' &&
  [...document.querySelectorAll('.arithmatex')].every(e => e.querySelector('.katex'))"""

# Move each page's exercise answers after its last exercise (a reader tries first, as in a
# textbook); open collapsed blocks; turn links a file cannot follow into text. `keep(url)`
# decides, given the link's absolute URL, whether it stays; same-page fragments and other sites
# always stay.
_PREPARE_JS = """(mapped) => {
  for (const box of document.querySelectorAll('.dl-exercises')) {  // answers after the exercises
    const answers = document.createElement('div');
    answers.className = 'dl-exercises__answers';
    const title = document.createElement('p');
    title.className = 'dl-exercises__answers-title';
    title.textContent = '练习参考答案';
    answers.append(title);
    for (const ex of box.querySelectorAll('.dl-exercise')) {
      const d = ex.querySelector(':scope > details.dl-answer');
      if (!d) continue;
      d.querySelector('summary').textContent = '练习 ' + ex.dataset.n + ' · 参考答案';
      answers.append(d);
    }
    box.append(answers);
  }
  for (const d of document.querySelectorAll('details')) d.open = true;
  const here = location.origin + location.pathname;
  for (const a of document.querySelectorAll('a')) {
    const attr = a.hasAttribute('href') ? 'href' : 'xlink:href';
    const raw = a.getAttribute(attr);
    if (raw === null) continue;
    const url = new URL(raw, location.href);
    if (url.origin !== location.origin) continue;
    if (url.origin + url.pathname === here && url.hash) {  // Material makes these absolute
      a.setAttribute(attr, '#' + decodeURIComponent(url.hash.slice(1)));
      continue;
    }
    const key = url.pathname.replace(/index\\.html$/, '');
    if (mapped && key in mapped) {
      const frag = url.hash ? '-' + decodeURIComponent(url.hash.slice(1)) : '';
      a.setAttribute('href', '#' + mapped[key] + frag);
      a.removeAttribute('xlink:href');
      a.setAttribute('data-dl-mapped', '');
      continue;
    }
    a.removeAttribute('href');
    a.removeAttribute('xlink:href');
  }
}"""

# The article of a page for the site PDF: ids prefixed with the page's key (they repeat across
# pages: 问题, 核心思想 …), same-page fragments and SVG url(#…) references rewritten to match,
# images made absolute.
_EXTRACT_JS = """(key) => {
  const art = document.querySelector('article.md-content__inner').cloneNode(true);
  const pre = key + '-';
  for (const el of art.querySelectorAll('[id]')) el.id = pre + el.id;
  for (const el of art.querySelectorAll('*')) {
    if (el.hasAttribute('data-dl-mapped')) continue;
    for (const at of [...el.attributes]) {
      if ((at.name === 'href' || at.name === 'xlink:href') && at.value.startsWith('#'))
        el.setAttribute(at.name, '#' + pre + decodeURIComponent(at.value.slice(1)));
      else if (at.value.includes('url(#'))
        el.setAttribute(at.name, at.value.split('url(#').join('url(#' + pre));
      else if ((at.name === 'src') && !at.value.startsWith('data:'))
        el.setAttribute('src', new URL(at.value, location.href).href);
    }
  }
  for (const a of art.querySelectorAll('a[href^="#"]:not([data-dl-mapped])')) {
    const id = a.getAttribute('href').slice(1);
    if (id.startsWith(pre) && !art.querySelector('[id="' + CSS.escape(id) + '"]'))
      a.removeAttribute('href');
  }
  return art.innerHTML;
}"""

_COMPOSE_JS = """([html, title]) => {
  document.querySelector('article.md-content__inner').innerHTML = html;
  document.title = title;
}"""


def nav_pages(browser_page: Any, base: str) -> list[Page]:
    """The site's pages in navigation order, read from the home page's navigation."""
    browser_page.goto(base, wait_until="load")
    pages = []
    for item in browser_page.evaluate(_NAV_JS):
        path = urlsplit(item["href"]).path.lstrip("/")
        pages.append(Page(path.removesuffix("index.html"), item["title"], tuple(item["section"])))
    return pages


# ── server and browser ─────────────────────────────────────────────────────────────────────


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def serve(site: Path) -> Iterator[str]:
    """``site`` on http://127.0.0.1:<free port>/ in a thread of this process."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=site))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


@dataclass
class Printer:
    """A Chromium context in the light palette that records requests to other hosts."""

    context: Any
    base: str
    foreign: list[str] = field(default_factory=list)

    def watch(self, request: Any) -> None:
        """Record a request that does not go to the local server."""
        url = request.url
        if not url.startswith((self.base, "data:", "blob:", "about:")):
            self.foreign.append(url)

    def open(self, path: str, mapped: dict[str, str] | None = None) -> Any:
        """A page of the site, rendered and prepared for print."""
        page = self.context.new_page()
        page.goto(self.base + path, wait_until="load")
        page.wait_for_function(_READY_JS, timeout=TIMEOUT_MS)
        page.evaluate(_PREPARE_JS, mapped)
        return page


@contextlib.contextmanager
def printer(base: str) -> Iterator[Printer]:
    """Launch Debian's Chromium (never a downloaded one) and give a :class:`Printer`."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(color_scheme="light", locale="zh-CN")
            context.set_default_timeout(TIMEOUT_MS)
            p = Printer(context, base)
            context.on("request", p.watch)
            yield p
        finally:
            browser.close()


# ── one paper ──────────────────────────────────────────────────────────────────────────────


def print_page(pr: Printer, page: Page, out: Path) -> bytes:
    """Print one page as it is (its card first), with header, page numbers and bookmarks."""
    tab = pr.open(page.path)
    try:
        data = tab.pdf(
            display_header_footer=True,
            header_template=HEADER,
            footer_template=FOOTER,
            **PDF_OPTIONS,
        )
    finally:
        tab.close()
    write_atomic(out, data)
    return data


def write_atomic(path: Path, data: bytes) -> None:
    """Write bytes through a temporary file and a rename (a reader never sees half a PDF)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


# ── the whole site ─────────────────────────────────────────────────────────────────────────


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cover_html(pages: list[Page], description: str) -> str:
    """The cover: title, what the site is, how many papers."""
    papers = sum(1 for p in pages if p.slug)
    return (
        '<div class="dl-print-cover">'
        f"<h1>{_esc(SITE_NAME)}</h1>"
        f"<p>{_esc(description)}</p>"
        f"<p>{len(pages)} 页，其中 {papers} 篇论文笔记</p>"
        "<p>由 <code>nox -s pdf</code> 从构建好的站点打印（<code>tools/website/pdf.py</code>）</p>"
        "</div>"
    )


TOC_URL = "https://dl-toc.invalid/"  # contents links, turned into links to body pages


def toc_html(pages: list[Page], keys: list[str], numbers: list[int]) -> str:
    """The contents: one line per page, under its sections, with its printed page number."""
    items: list[str] = []
    section: tuple[str, ...] = ()
    for page, key, number in zip(pages, keys, numbers, strict=True):
        same = 0  # the outer sections shared with the previous page are not repeated
        while same < min(len(section), len(page.section)) and section[same] == page.section[same]:
            same += 1
        for level in range(same, len(page.section)):
            items.append(
                f'<li class="dl-print-toc__section dl-print-toc__section--{level + 1}">'
                f"<span>{_esc(page.section[level])}</span></li>"
            )
        section = page.section
        items.append(
            f'<li><a href="{TOC_URL}{key}">{_esc(page.title)}</a>'
            '<span class="dl-print-toc__dots"></span>'
            f'<span class="dl-print-toc__page">{number}</span></li>'
        )
    return f'<div class="dl-print-toc"><h1>目录</h1><ol>{"".join(items)}</ol></div>'


def body_html(keys: list[str], articles: list[str]) -> str:
    """Every page from a new sheet, in a wrapper carrying the page's key."""
    return "".join(
        f'<section class="dl-print-page" id="{key}">{html}</section>'
        for key, html in zip(keys, articles, strict=True)
    )


def outline_tree(reader: Any) -> list[tuple[str, int, Any, list]]:
    """A PDF's bookmarks as (title, page index, destination, children)."""

    def walk(items: list) -> list[tuple[str, int, Any, list]]:
        out: list[tuple[str, int, Any, list]] = []
        for item in items:
            if isinstance(item, list):
                if out:
                    out[-1][3].extend(walk(item))
                continue
            out.append((item.title, reader.get_destination_page_number(item), item, []))
        return out

    return walk(reader.outline)


def settle(tree: list[tuple[str, int, Any, list]], reader: Any) -> list:
    """Move bookmarks that Chromium puts in the bottom margin to the top of the next page.

    A heading that starts a new sheet (``break-before: page``) gets a destination at the foot of
    the sheet before, below the text; the page it names would then be off by one.
    """
    out = []
    for title, number, dest, children in tree:
        top = dest.get("/Top")
        if top is not None and float(top) < 60 and number + 1 < len(reader.pages):
            number += 1
            dest = {"/Left": dest.get("/Left"), "/Top": float(reader.pages[number].mediabox.top)}
        out.append((title, number, dest, settle(children, reader)))
    return out


def _fit(dest: Any) -> Any:
    from pypdf.generic import Fit

    top = dest.get("/Top")
    return Fit.xyz(left=dest.get("/Left"), top=float(top) if top is not None else None)


def _link_contents(writer: Any, front: int, targets: dict[str, tuple[int, Any]]) -> int:
    """Point the contents' links (``TOC_URL`` + key) at the pages they name; return how many."""
    from pypdf.generic import ArrayObject, NameObject

    done = 0
    for page in writer.pages[:front]:
        for ref in page.get("/Annots") or []:
            annot = ref.get_object()
            uri = str((annot.get("/A") or {}).get("/URI", ""))
            if not uri.startswith(TOC_URL):
                continue
            index, dest = targets[uri.removeprefix(TOC_URL)]
            fit = _fit(dest)
            del annot["/A"]
            annot[NameObject("/Dest")] = ArrayObject(
                [writer.pages[index].indirect_reference, NameObject(fit.fit_type), *fit.fit_args]
            )
            done += 1
    return done


def site_pdf(pr: Printer, pages: list[Page], out: Path, description: str) -> tuple[bytes, int]:
    """Cover, contents with page numbers, every page; bookmarks shaped like the navigation.

    The pages are printed once, numbered from 1 in the footer; their bookmarks (Chromium's, one
    per heading) give the page on which each starts. The cover and the contents are printed
    after, unnumbered, and put in front; the contents' links are pointed at those pages.
    """
    from pypdf import PdfReader, PdfWriter

    keys = [f"p{i}" for i in range(len(pages))]
    mapped = {"/" + p.path: k for p, k in zip(pages, keys, strict=True)}
    articles = []
    for page, key in zip(pages, keys, strict=True):
        tab = pr.open(page.path, mapped)
        articles.append(tab.evaluate(_EXTRACT_JS, key))
        tab.close()
    tab = pr.open("")  # the home page's scripts and styles carry the composed document
    try:
        tab.evaluate(_COMPOSE_JS, [body_html(keys, articles), SITE_NAME])
        tab.wait_for_function(_READY_JS, timeout=TIMEOUT_MS)
        body = tab.pdf(
            display_header_footer=True,
            header_template=HEADER,
            footer_template=FOOTER,
            **PDF_OPTIONS,
        )
        reader = PdfReader(io.BytesIO(body))
        tree = settle(outline_tree(reader), reader)
        if len(tree) != len(pages):
            titles = [t for t, *_ in tree]
            raise RuntimeError(f"expected {len(pages)} page headings, got {titles}")
        toc = toc_html(pages, keys, [number + 1 for _, number, _, _ in tree])
        tab.evaluate(_COMPOSE_JS, [cover_html(pages, description) + toc, SITE_NAME])
        front = tab.pdf(**{**PDF_OPTIONS, "outline": False})
    finally:
        tab.close()

    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(front)), import_outline=False)
    n_front = len(writer.pages)
    writer.append(reader, import_outline=False)
    writer.set_page_label(0, 0, prefix="封面")
    writer.set_page_label(1, n_front - 1, style="/D", prefix="目录 ", start=1)
    writer.set_page_label(n_front, len(writer.pages) - 1, style="/D", start=1)
    targets = {k: (n_front + item[1], item[2]) for k, item in zip(keys, tree, strict=True)}
    if _link_contents(writer, n_front, targets) != len(pages):
        raise RuntimeError("the contents' links were not all found")

    def add(items: list, parent: Any) -> None:
        for title, number, dest, children in items:
            node = writer.add_outline_item(
                title=title, page_number=n_front + number, parent=parent, fit=_fit(dest)
            )
            add(children, node)

    writer.add_outline_item(title="封面", page_number=0)
    writer.add_outline_item(title="目录", page_number=1)
    parents: dict[tuple[str, ...], Any] = {}  # a bookmark per section, nested like the nav
    for page, (_, number, dest, children) in zip(pages, tree, strict=True):
        for level in range(len(page.section)):
            path = page.section[: level + 1]
            if path not in parents:
                parents[path] = writer.add_outline_item(
                    title=path[-1], page_number=n_front + number, parent=parents.get(path[:-1])
                )
        parent = parents.get(page.section)
        node = writer.add_outline_item(
            title=page.title, page_number=n_front + number, parent=parent, fit=_fit(dest)
        )
        add(children, node)
    writer.page_mode = "/UseOutlines"
    writer.add_metadata({"/Title": SITE_NAME, "/Creator": "tools/website/pdf.py (Chromium)"})
    buf = io.BytesIO()
    writer.write(buf)
    data = buf.getvalue()
    write_atomic(out, data)
    return data, len(writer.pages)


# ── the offline bundle ─────────────────────────────────────────────────────────────────────


def offline_path(site_path: str) -> str:
    """Where a file beside a page goes in the offline bundle (no directory URLs).

    ``papers/resnet/resnet.pdf`` (beside ``papers/resnet/index.html``) → ``papers/resnet.pdf``
    (beside ``papers/resnet.html``); ``dl-paper-notes.pdf`` stays where it is.
    """
    folder, _, name = site_path.rpartition("/")
    parent = folder.rpartition("/")[0] if folder else ""
    return f"{parent}/{name}" if parent else name


# ── the run ────────────────────────────────────────────────────────────────────────────────


def n_pages(data: bytes) -> int:
    """Number of pages of a PDF."""
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(data)).pages)


def run(site: Path, only: set[str] | None) -> int:
    """Print the PDFs; return the process exit code."""
    if not (site / "index.html").is_file():
        print(f"error: {site} has no index.html: build the site first", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    written: dict[str, Path] = {}
    with serve(site) as base, printer(base) as pr:
        home = pr.context.new_page()
        pages = nav_pages(home, base)
        description = home.evaluate(
            "() => document.querySelector('meta[name=description]')?.content ?? ''"
        )
        for page in pages:
            if page.path.startswith("papers/"):
                has_card = home.evaluate(
                    "async (u) => (await (await fetch(u)).text()).includes('class=\"paper-card\"')",
                    base + page.path,
                )
                page.slug = page.path.strip("/").rsplit("/", 1)[-1] if has_card else None
        home.close()
        for page in pages:
            if not page.slug or (only is not None and page.slug not in only):
                continue
            t = time.perf_counter()
            data = print_page(pr, page, site / page.pdf)
            written[page.pdf] = site / page.pdf
            print(
                f"pdf: {page.pdf}: {n_pages(data)} pages, {len(data) / 1e6:.1f} MB "
                f"in {time.perf_counter() - t:.1f} s"
            )
        if only is None or "site" in only:
            t = time.perf_counter()
            data, count = site_pdf(pr, pages, site / SITE_PDF, description)
            written[SITE_PDF] = site / SITE_PDF
            print(
                f"pdf: {SITE_PDF}: {count} pages ({len(pages)} site pages), "
                f"{len(data) / 1e6:.1f} MB in {time.perf_counter() - t:.1f} s"
            )
        foreign = sorted(set(pr.foreign))
    for url in foreign:
        print(
            f"error: printing requested a host other than the local server: {url}", file=sys.stderr
        )
    bundle = ROOT / "dist" / "site-offline.zip"
    if bundle.is_file() and site.resolve() == SITE.resolve():
        from tools.website.bundle import add_files

        rels = [p.pdf for p in pages if p.slug] + [SITE_PDF]  # this run's and earlier ones
        present = {offline_path(rel): site / rel for rel in rels if (site / rel).is_file()}
        add_files(bundle, present)
        print(f"pdf: {len(present)} PDFs added to {bundle.relative_to(ROOT)}")
    print(f"pdf: {len(written)} PDFs in {time.perf_counter() - t0:.1f} s → {site}")
    return 1 if foreign else 0


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.website.pdf", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--site", type=Path, default=SITE, help="built site (default: site/)")
    parser.add_argument(
        "--only", nargs="+", metavar="SLUG", help="paper slugs, and/or 'site' for the site PDF"
    )
    args = parser.parse_args(argv)
    return run(args.site.resolve(), set(args.only) if args.only else None)


if __name__ == "__main__":
    sys.exit(main())
