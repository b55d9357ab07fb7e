"""Site step 3 of 4: check every internal link and anchor of the built site; list external ones.

See :mod:`tools.website` for the other steps.

Usage::

    python -m tools.website.linkcheck                              # checks site/
    python -m tools.website.linkcheck site --report reports/links.md

Reads every HTML file of the site (links in ``a``, ``link``, ``script``, ``img``, ``source``,
``iframe`` and in inline SVG, ``href``/``xlink:href``/``src``/``srcset``) and every CSS file
(``url(…)``, e.g. KaTeX's fonts; of an ``@font-face`` ``src`` list only the first,
which every current browser loads). An internal link must point at a file of the site (a folder
means its ``index.html``) and its ``#fragment`` at an ``id`` (or ``a name``) of that page.
External links (``http:``, ``https:``, ``mailto:``…) are not fetched: they are listed, with the
pages that use them, in the report. Exits 1 when an internal link or anchor is broken.
A missing ``.pdf`` is not broken but pending: ``nox -s pdf`` prints the PDFs into the built site
afterwards (``tools/website/pdf.py``), and its tests require every such link to resolve.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

ROOT = Path(__file__).resolve().parents[2]
LINK_ATTRS = {"href", "src", "xlink:href", "srcset", "poster"}
SKIP_SCHEMES = {"data", "javascript", "blob", "about"}
_CSS_URL = re.compile(r"url\(\s*(['\"]?)([^'\")]+)\1\s*\)")
_CSS_SRC = re.compile(r"(?<![\w-])src\s*:([^;}]*)")


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[tuple[str, str]] = []  # (tag, url)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name == "id" or (name == "name" and tag == "a"):
                self.ids.add(value)
            elif name == "srcset":
                self.links += [(tag, p.split()[0]) for p in value.split(",") if p.strip()]
            elif name in LINK_ATTRS:
                self.links.append((tag, value))

    handle_startendtag = handle_starttag


def css_urls(text: str) -> list[str]:
    """The URLs a browser may load from a style sheet.

    In an ``@font-face`` ``src`` list a browser takes the first format it supports, so only the
    first URL of each list is required (KaTeX lists woff2, woff, ttf; only woff2 is vendored).
    """
    fallbacks = set()
    for m in _CSS_SRC.finditer(text):
        urls = _CSS_URL.findall(m.group(1))
        fallbacks.update(u for _, u in urls[1:])
    return [m.group(2) for m in _CSS_URL.finditer(text) if m.group(2) not in fallbacks]


@dataclass
class Result:
    """What the check found."""

    pages: int = 0
    internal: int = 0
    anchors: int = 0
    broken: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)  # PDFs that `nox -s pdf` writes later
    external: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))


def _target(site: Path, path: str) -> Path | None:
    """The file an URL path (relative to the site root, decoded) points at, if any."""
    rel = path.lstrip("/")
    p = (site / rel).resolve()
    if site not in p.parents and p != site:
        return None
    if p.is_dir() or path.endswith("/"):
        p = p / "index.html"
    return p if p.is_file() else None


def check(site: Path) -> Result:
    """Check the site folder; return the counts, the broken links and the external links."""
    site = site.resolve()
    res = Result()
    ids: dict[Path, set[str]] = {}
    links: dict[Path, list[tuple[str, str]]] = {}
    for f in sorted(site.rglob("*.html")):
        parser = _Page()
        parser.feed(f.read_text(encoding="utf-8", errors="replace"))
        parser.close()
        ids[f] = parser.ids
        links[f] = parser.links
    res.pages = len(ids)
    for f in sorted(site.rglob("*.css")):
        text = f.read_text(encoding="utf-8", errors="replace")
        links[f] = [("css", url) for url in css_urls(text)]

    for f, found in links.items():
        rel = f.relative_to(site).as_posix()
        base = "/" + rel
        for tag, url in found:
            url = url.strip()
            if not url:
                continue
            parts = urlsplit(url)
            if parts.scheme in SKIP_SCHEMES:
                continue
            if parts.scheme or parts.netloc:
                res.external[url].add(rel)
                continue
            res.internal += 1
            full = urlsplit(urljoin(base, url))
            path = unquote(full.path)
            target = f if not parts.path and not parts.query else _target(site, path)
            if target is None and path.endswith(".pdf"):
                res.pending.append(f"{rel}: {url}")
                continue
            if target is None:
                res.broken.append(f"{rel}: <{tag}> {url} → no such file ({path})")
                continue
            frag = unquote(full.fragment)
            if frag and target.suffix == ".html":
                res.anchors += 1
                if frag not in ids.get(target, set()):
                    where = "this page" if target == f else target.relative_to(site).as_posix()
                    res.broken.append(f"{rel}: <{tag}> {url} → no id {frag!r} on {where}")
    return res


def report(res: Result) -> str:
    """The Markdown report of the external links (not fetched)."""
    lines = [
        "# 外部链接 / external links",
        "",
        "Listed by `python -m tools.website.linkcheck` from the built site; not fetched "
        "(the build and "
        "the checks run offline). Internal links and anchors are checked; "
        f"{res.pages} pages, {res.internal} internal links, {res.anchors} anchors, "
        f"{len(res.broken)} broken.",
        "",
        "| URL | pages |",
        "| :-- | :-- |",
    ]
    for url in sorted(res.external):
        pages = ", ".join(f"`{p}`" for p in sorted(res.external[url]))
        lines.append(f"| <{url}> | {pages} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.website.linkcheck", description=__doc__.split("\n")[0]
    )
    parser.add_argument("site", nargs="?", type=Path, default=ROOT / "site")
    parser.add_argument("--report", type=Path, help="write the external links here (Markdown)")
    args = parser.parse_args(argv)
    if not (args.site / "index.html").is_file():
        print(f"error: {args.site} has no index.html: build the site first", file=sys.stderr)
        return 2
    res = check(args.site)
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(report(res), encoding="utf-8")
    for msg in res.broken:
        print(f"error: {msg}", file=sys.stderr)
    print(
        f"linkcheck: {res.pages} pages, {res.internal} internal links, {res.anchors} anchors, "
        f"{len(res.external)} external URLs"
        + (f" (listed in {args.report})" if args.report else "")
        + f", {len(res.broken)} broken"
        + (f", {len(res.pending)} links to PDFs that `nox -s pdf` prints" if res.pending else "")
    )
    return 1 if res.broken else 0


if __name__ == "__main__":
    sys.exit(main())
