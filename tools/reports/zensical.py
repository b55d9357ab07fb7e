"""A report: build ``mkdocs.yml`` with MkDocs and with Zensical, compare the two sites.

Run on demand, not part of building the site (see :mod:`tools.reports`).

Usage::

    python -m tools.reports.zensical                      # → reports/zensical.md
    python -m tools.reports.zensical --mkdocs-site site   # reuse an existing MkDocs build

Zensical (MkDocs' maintained successor) reads the same ``mkdocs.yml``. It has no ``-d`` option,
so the inputs of the build (``mkdocs.yml``, ``docs/``, ``generated/``, ``reference_impl/``) are
copied into a temporary folder and built there; nothing in the repository is touched except the
report. Both sites are then compared page by page: which pages exist, and per page the features
this site relies on (rendered math, inline SVG diagrams, snippet includes, the API reference,
abbreviations, admonitions, tables, heading anchors), plus the search index and the scripts and
stylesheets each page loads. Run by ``nox -s zensical`` after the generator.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INPUTS = ("mkdocs.yml", "docs", "generated", "reference_impl")
ENV = {"NO_MKDOCS_2_WARNING": "1", "PYTHONHASHSEED": "0", "NO_COLOR": "1"}
_ANSI = re.compile(r"\x1b\[[0-9;]*m")

#: feature name → (description, regular expression counted in the page's <article>)
FEATURES: dict[str, tuple[str, str]] = {
    "math": ("math (arithmatex spans for KaTeX)", r'class="arithmatex"'),
    "svg": (
        "inline SVG diagrams and figures",
        r'<figure class="dl-(?:diagram|figure)"[^>]*>\s*<svg',
    ),
    "code": ("highlighted code blocks", r'<div class="(?:language-\w+ )?highlight"'),
    # an include that failed shows as a paragraph; markers inside code (the verbatim module in
    # the full-source block) are content
    "snippet-left": ("unexpanded snippet includes (--8<--)", r"<p>\s*--8(?:&lt;|<)--"),
    "api": ("API reference objects (mkdocstrings)", r'class="doc doc-object'),
    "abbr": ("abbreviations with hover text", r"<abbr "),
    "admonition": ("admonitions and collapsible blocks", r'class="admonition|<details'),
    "table": ("tables", r"<table"),
    "card": ("paper card", r'class="paper-card"'),
    "sortable": ("sortable tables", r'class="dl-sortable[ "]'),
    "footnote": ("footnotes", r'class="footnote"'),
}


#: What the comparison below cannot measure, and what mkdocs.yml does for Zensical.
KNOWN = (
    "Not measured below: the look. Zensical renders the same content with its own theme (header,",
    "navigation, a search dialog opened with Ctrl+K); our CSS (paper card, timeline, sortable",
    "tables, diagrams) and scripts (KaTeX, table sorter) work in both. Done in `mkdocs.yml` for",
    "Zensical without changing the MkDocs site: `plugins.mkdocstrings.locale: zh` (MkDocs falls",
    "back to `theme.language`, Zensical to English, which left the API reference's section titles",
    "in English). Zensical also builds `mkdocs-offline.yml` (INHERIT and the `offline` plugin).",
)


@dataclasses.dataclass
class Build:
    """One build: where it is, whether it succeeded, how long it took, what it printed."""

    name: str
    site: Path
    ok: bool
    seconds: float
    log: str
    version: str


def strip_ansi(text: str) -> str:
    """Remove terminal colour codes."""
    return _ANSI.sub("", text)


def pages(site: Path) -> dict[str, Path]:
    """HTML pages of a site keyed by their URL path (``papers/resnet/``), 404 page excluded."""
    out: dict[str, Path] = {}
    for p in sorted(site.rglob("*.html")):
        rel = p.relative_to(site).as_posix()
        if rel == "404.html" or rel.startswith("assets/"):
            continue
        key = rel.removesuffix("index.html") if rel.endswith("index.html") else rel
        out[key] = p
    return out


def article(html: str) -> str:
    """The page's main content (Material's ``<article>``), or the whole page."""
    m = re.search(r"<article\b.*?</article>", html, flags=re.S)
    return m.group(0) if m else html


def features(html: str) -> dict[str, int]:
    """Counts of each feature of :data:`FEATURES` in the page's content."""
    body = article(html)
    return {name: len(re.findall(rx, body)) for name, (_, rx) in FEATURES.items()}


def text(html: str) -> str:
    """The visible text of the page's content, whitespace collapsed."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", article(html), flags=re.S)
    body = re.sub(r"<[^>]+>", " ", body)
    return re.sub(r"\s+", " ", body).strip()


def first_differences(a: str, b: str, n: int = 3) -> list[str]:
    """Up to ``n`` short ``'old' → 'new'`` excerpts where two texts differ."""
    import difflib

    sm = difflib.SequenceMatcher(None, a, b, autojunk=False)
    out = []
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        if op != "equal":
            out.append(f"“{a[i1:i2][:40]}” → “{b[j1:j2][:40]}”")
        if len(out) == n:
            break
    return out


def heading_ids(html: str) -> list[str]:
    """The ``id`` of every h2–h4 of the content, in order (the anchors other pages link to)."""
    return re.findall(r"<h[234][^>]*\bid=\"([^\"]+)\"", article(html))


def assets(html: str) -> set[str]:
    """File names of the scripts and stylesheets a page loads (hash suffixes kept)."""
    refs = re.findall(
        r"<script[^>]+src=\"([^\"]+)\"|<link[^>]+rel=\"stylesheet\"[^>]+href=\"([^\"]+)\"", html
    )
    return {Path((a or b).split("?")[0]).name for a, b in refs}


def search_summary(site: Path) -> str:
    """Where the search index is, how many entries it has, whether Chinese text is segmented."""
    for rel in ("search/search_index.json", "search.json"):
        p = site / rel
        if p.is_file():
            text = p.read_text(encoding="utf-8")
            try:
                data = json.loads(text)
            except ValueError:
                return f"`{rel}` (not JSON)"
            docs = data.get("docs", data.get("items", [])) if isinstance(data, dict) else data
            segmented = "\u200b" in text or "\\u200b" in text
            zh = "segmented (jieba)" if segmented else "not segmented"
            return f"`{rel}`: {len(docs)} entries, Chinese {zh}"
    return "no search index found"


def run_mkdocs(out: Path) -> Build:
    """``mkdocs build --strict`` of the repository into ``out``.

    If the strict build fails (e.g. a page not yet in ``nav``), a non-strict build is made so
    that the sites can still be compared; the report says so.
    """
    from importlib.metadata import version

    vers = f"MkDocs {version('mkdocs')}, mkdocs-material {version('mkdocs-material')}"
    t0 = time.perf_counter()
    log = ""
    for strict in (True, False):
        cmd = [sys.executable, "-m", "mkdocs", "build", "-d", str(out)]
        proc = subprocess.run(
            cmd + (["--strict"] if strict else []),
            cwd=ROOT,
            env={**os.environ, **ENV},
            capture_output=True,
            text=True,
        )
        log += proc.stdout + proc.stderr
        if proc.returncode == 0:
            if not strict:
                vers += " (strict build FAILED: compared with a non-strict build)"
            return Build("MkDocs", out, True, time.perf_counter() - t0, log, vers)
    return Build("MkDocs", out, False, time.perf_counter() - t0, log, vers)


def run_zensical(work: Path, exe: str) -> Build:
    """``zensical build`` of a copy of the build's inputs in ``work``; the site is ``work/site``."""
    for name in INPUTS:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, work / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif src.is_file():
            shutil.copy2(src, work / name)
    cmd = [exe, "build", "-f", "mkdocs.yml", "--clean"]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            cmd, cwd=work, env={**os.environ, **ENV}, capture_output=True, text=True, timeout=1800
        )
        log, ok = proc.stdout + proc.stderr, proc.returncode == 0
    except FileNotFoundError:
        log, ok = f"{exe}: not found (pip install zensical)", False
    seconds = time.perf_counter() - t0
    try:
        v = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.strip()
    except FileNotFoundError:
        v = "not installed"
    return Build("Zensical", work / "site", ok and (work / "site").is_dir(), seconds, log, v)


def log_problems(log: str) -> list[str]:
    """Warning and error lines of a build log (with the location line Zensical prints below)."""
    lines = [ln.rstrip() for ln in strip_ansi(log).splitlines()]
    out = []
    for i, ln in enumerate(lines):
        if re.match(r"^(WARNING|ERROR)\s+-|^(Warning|Error)(\[\w+\])?:", ln.strip()):
            where = next(
                (
                    m.group(1)
                    for x in lines[i + 1 : i + 3]
                    if (m := re.search(r"\[\s*(\S+:\d+:\d+)\s*\]", x))
                ),
                "",
            )
            # MkDocs lists the pages of some warnings on the following "  - page.md" lines
            items = []
            for x in lines[i + 1 :]:
                if not re.match(r"^\s+- \S", x):
                    break
                items.append(x.strip()[2:])
            more = f" {', '.join(items)}" if items else ""
            out.append(f"{ln.strip()}{more}{f' ({where})' if where else ''}")
    return list(dict.fromkeys(out))  # a strict and a non-strict build log the same warnings


def _status(b: Build) -> str:
    return f"{'ok' if b.ok else 'FAILED'} ({b.seconds:.1f} s)"


def _search(b: Build) -> str:
    return search_summary(b.site) if b.ok else "—"


def compare(a: Build, b: Build) -> str:
    """The Markdown report comparing two builds: a short sequence of sections."""
    pa, pb = pages(a.site) if a.ok else {}, pages(b.site) if b.ok else {}
    lines = _summary(a, b, pa, pb)
    if not b.ok:
        tail = "\n".join(strip_ansi(b.log).strip().splitlines()[-30:])
        lines += ["## Zensical build failed", "", "```text", tail, "```", ""]
        return "\n".join(lines) + "\n"
    common = sorted(set(pa) & set(pb))
    html_a = {p: pa[p].read_text(encoding="utf-8") for p in common}
    html_b = {p: pb[p].read_text(encoding="utf-8") for p in common}
    lines += _page_sets(pa, pb)
    lines += _features(html_a, html_b)
    lines += _texts_and_anchors(html_a, html_b)
    lines += _own_assets(html_a, html_b)
    lines += _warnings(a, b)
    return "\n".join(lines) + "\n"


def _summary(a: Build, b: Build, pa: dict[str, Path], pb: dict[str, Path]) -> list[str]:
    """Title, what the report is, and the table of versions, status, counts."""
    return [
        "# Zensical compatibility report",
        "",
        "Generated by `nox -s zensical` (`python -m tools.reports.zensical`): the same",
        "`mkdocs.yml`",
        "built with MkDocs and with Zensical, compared page by page. Do not edit by hand.",
        "",
        *KNOWN,
        "",
        "| | MkDocs | Zensical |",
        "| :-- | :-- | :-- |",
        f"| version | {a.version} | {b.version} |",
        f"| build | {_status(a)} | {_status(b)} |",
        f"| warnings / errors | {len(log_problems(a.log))} | {len(log_problems(b.log))} |",
        f"| pages | {len(pa)} | {len(pb)} |",
        f"| search index | {_search(a)} | {_search(b)} |",
        "",
    ]


def _page_sets(pa: dict[str, Path], pb: dict[str, Path]) -> list[str]:
    """Pages only one of the builds has."""
    only_a, only_b = sorted(set(pa) - set(pb)), sorted(set(pb) - set(pa))
    lines = ["## Pages", ""]
    if not only_a and not only_b:
        lines.append(f"Both builds have the same {len(pa)} pages.")
    for title, items in (("Only in MkDocs", only_a), ("Only in Zensical", only_b)):
        if items:
            lines.append(f"- **{title}**: " + ", ".join(f"`{p or '/'}`" for p in items))
    return [*lines, ""]


def _features(html_a: dict[str, str], html_b: dict[str, str]) -> list[str]:
    """Counts of each feature in the pages both builds have, and the pages that differ."""
    common = list(html_a)
    fa = {p: features(html_a[p]) for p in common}
    fb = {p: features(html_b[p]) for p in common}
    lines = [
        "## Features",
        "",
        "Counted in each page's content (`<article>`), summed over the pages both builds have.",
        "",
        "| feature | MkDocs | Zensical | pages that differ |",
        "| :-- | --: | --: | :-- |",
    ]
    for name, (desc, _) in FEATURES.items():
        ta = sum(fa[p][name] for p in common)
        tb = sum(fb[p][name] for p in common)
        diff = [p for p in common if fa[p][name] != fb[p][name]]
        shown = ", ".join(f"`{d or '/'}` ({fa[d][name]} → {fb[d][name]})" for d in diff[:8])
        more = f" and {len(diff) - 8} more" if len(diff) > 8 else ""
        lines.append(f"| {desc} | {ta} | {tb} | {shown + more if diff else 'none'} |")
    return [*lines, ""]


def _texts_and_anchors(html_a: dict[str, str], html_b: dict[str, str]) -> list[str]:
    """Pages whose visible text differs, then pages whose h2–h4 ids differ."""
    anchors, texts = [], []
    for p in html_a:
        ha, hb = heading_ids(html_a[p]), heading_ids(html_b[p])
        if ha != hb:
            missing = ", ".join(f"`{h}`" for h in [h for h in ha if h not in hb][:4]) or "—"
            anchors.append(
                f"- `{p or '/'}`: {len(ha)} vs {len(hb)} headings; "
                f"MkDocs ids missing in Zensical: {missing}"
            )
        ta, tb = text(html_a[p]), text(html_b[p])
        if ta != tb:
            texts.append(f"- `{p or '/'}`: " + "; ".join(first_differences(ta, tb)))
    lines = ["## Text", ""]
    lines += texts or ["The visible text of every page's content is identical."]
    lines += ["", "## Heading anchors", ""]
    lines += anchors or [
        "The h2–h4 ids are identical on every page (links to `#anchors` keep working)."
    ]
    return [*lines, ""]


#: the project's own scripts and stylesheets (``extra_css``, ``extra_javascript``)
OURS = {
    "katex.min.js",
    "auto-render.min.js",
    "katex.js",
    "tablesort.js",
    "katex.min.css",
    "site.css",
    "diagrams.css",
    "reader.css",
}


def _own_assets(html_a: dict[str, str], html_b: dict[str, str]) -> list[str]:
    """Whether Zensical's pages load each of the project's scripts and stylesheets."""
    sa = set().union(*(assets(h) for h in html_a.values())) if html_a else set()
    sb = set().union(*(assets(h) for h in html_b.values())) if html_b else set()
    return [
        "## Scripts and stylesheets",
        "",
        "The project's own (`extra_css`, `extra_javascript`): "
        + ", ".join(f"`{n}` {'✓' if n in sb else '✗ missing'}" for n in sorted(OURS & sa)),
        "",
    ]


def _warnings(a: Build, b: Build) -> list[str]:
    """Each build's warnings and errors, at most 40 each."""
    lines: list[str] = []
    for title, build in (("MkDocs", a), ("Zensical", b)):
        problems = log_problems(build.log)
        lines += [f"## {title} warnings", ""]
        lines += [f"- {p}" for p in problems[:40]] or ["None."]
        if len(problems) > 40:
            lines.append(f"- … and {len(problems) - 40} more")
        lines.append("")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.reports.zensical", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "zensical.md")
    parser.add_argument("--mkdocs-site", type=Path, help="reuse this MkDocs build")
    parser.add_argument("--zensical", default="zensical", help="the zensical executable")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="zensical-") as tmp:
        tmp_path = Path(tmp)
        if args.mkdocs_site:
            site = args.mkdocs_site if args.mkdocs_site.is_absolute() else ROOT / args.mkdocs_site
            a = Build("MkDocs", site, (site / "index.html").is_file(), 0.0, "", "existing build")
        else:
            a = run_mkdocs(tmp_path / "mkdocs-site")
        (tmp_path / "zensical").mkdir()
        b = run_zensical(tmp_path / "zensical", args.zensical)
        report = compare(a, b)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report, encoding="utf-8")
    print(
        f"MkDocs {'ok' if a.ok else 'FAILED'}, Zensical {'ok' if b.ok else 'FAILED'} → {args.out}"
    )
    return 0 if b.ok else 1


if __name__ == "__main__":
    sys.exit(main())
