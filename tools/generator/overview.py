"""Step 10, the last of the generator: the site-wide pages (overview, glossary, reading paths).

And the abbreviations; all from the catalog (see :mod:`tools.generator`).

Pure functions from the catalog (``tools/catalog.toml``), the per-model summaries the generator
writes (``generated/models/<id>/summary.json``), the glossary (``tools/glossary.toml``) and the
reading paths (``tools/reading_paths.toml``) to Markdown and SVG. :func:`files` returns them all
for ``tools/generate.py``, which writes them under ``generated/``:

- ``overview/table.md``          every catalog model: year, venue, parameters (paper / ours),
                                 MACs, input, page; sortable (``docs/javascripts/tablesort.js``)
- ``overview/timeline.md``       the papers by year, 2012 → 2022
- ``overview/params-vs-year.md`` parameters against year, log scale (inline SVG, light/dark)
- ``glossary/table.md``          中英术语对照 (docs/glossary.md)
- ``abbreviations.md``           ``*[CNN]: …`` hover definitions, appended to every page by
                                 ``pymdownx.snippets`` ``auto_append``
- ``reading/paths.md``, ``reading/summary.md``  reading paths (docs/reading-paths.md, home page)

Links go only to pages that exist in ``docs/``: papers still being written appear as plain text,
so the strict build never sees a broken link. All generated files are included from pages at the
root of ``docs/``, so links are relative to it (``papers/resnet.md``).
"""

from __future__ import annotations

import dataclasses
import json
import re
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from tools.generator.catalog import ROOT, Catalog, Model, Paper
from tools.generator.pages import DOCS_DIR, page_exists
from tools.generator.tables import human, paper_figure

GLOSSARY_PATH = ROOT / "tools" / "glossary.toml"
PATHS_PATH = ROOT / "tools" / "reading_paths.toml"
PARAMS_FIGURE = "overview-params-vs-year"


class ReaderDataError(ValueError):
    """The glossary or the reading paths are malformed; the message names the entry."""


# ── data ───────────────────────────────────────────────────────────────────────────────────


@dataclasses.dataclass(frozen=True)
class Term:
    """One glossary entry."""

    zh: str
    en: str
    definition: str
    paper: str
    abbr: str | None = None
    synonyms: tuple[str, ...] = ()  # other translations; the pages use ``zh`` only


@dataclasses.dataclass(frozen=True)
class Glossary:
    """The terms, and display names of page slugs that are not in the catalog yet."""

    terms: tuple[Term, ...]
    pages: dict[str, str]


@dataclasses.dataclass(frozen=True)
class Step:
    """One step of a reading path: a paper page (``paper``) or a topic without a page."""

    why: str
    paper: str | None = None
    name: str | None = None


@dataclasses.dataclass(frozen=True)
class ReadingPath:
    """An ordered list of pages to read, with a title and a short introduction."""

    id: str
    title: str
    intro: str
    steps: tuple[Step, ...]


def load_glossary(path: Path = GLOSSARY_PATH) -> Glossary:
    """Read and validate ``tools/glossary.toml``."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    pages = dict(data.get("pages", {}))
    terms: list[Term] = []
    seen: dict[str, str] = {}
    for i, entry in enumerate(data.get("terms", [])):
        where = f"tools/glossary.toml term #{i + 1} ({entry.get('zh', '?')})"
        missing = {"zh", "en", "def", "paper"} - set(entry)
        if missing:
            raise ReaderDataError(f"{where}: missing {sorted(missing)}")
        unknown = set(entry) - {"zh", "en", "def", "paper", "abbr", "synonyms"}
        if unknown:
            raise ReaderDataError(f"{where}: unknown field(s) {sorted(unknown)}")
        abbr = entry.get("abbr")
        if abbr is not None:
            if abbr in seen:
                raise ReaderDataError(f"{where}: abbreviation {abbr!r} also used by {seen[abbr]}")
            seen[abbr] = entry["zh"]
        for key in ("def", "zh", "en"):
            if any(c in entry[key] for c in "\n|$`"):
                raise ReaderDataError(f"{where}: {key!r} must be one line of plain text")
        synonyms = entry.get("synonyms", [])
        if not isinstance(synonyms, list) or not all(isinstance(x, str) for x in synonyms):
            raise ReaderDataError(f"{where}: 'synonyms' must be a list of strings")
        terms.append(
            Term(entry["zh"], entry["en"], entry["def"], entry["paper"], abbr, tuple(synonyms))
        )
    return Glossary(tuple(terms), pages)


def load_paths(path: Path = PATHS_PATH) -> tuple[ReadingPath, ...]:
    """Read and validate ``tools/reading_paths.toml``."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    out: list[ReadingPath] = []
    for i, entry in enumerate(data.get("paths", [])):
        where = f"tools/reading_paths.toml path #{i + 1} ({entry.get('id', '?')})"
        if not {"id", "title", "intro", "steps"} <= set(entry):
            raise ReaderDataError(f"{where}: needs id, title, intro and steps")
        steps = []
        for s in entry["steps"]:
            if "why" not in s or not ("paper" in s or "name" in s):
                raise ReaderDataError(f"{where}: each step needs 'why' and 'paper' or 'name'")
            steps.append(Step(s["why"], s.get("paper"), s.get("name")))
        out.append(ReadingPath(entry["id"], entry["title"], entry["intro"], tuple(steps)))
    return tuple(out)


def check_names(catalog: Catalog, glossary: Glossary, paths: tuple[ReadingPath, ...]) -> None:
    """Every slug the glossary or a path names is a catalog paper or has a display name."""
    for term in glossary.terms:
        if term.paper not in catalog.papers and term.paper not in glossary.pages:
            raise ReaderDataError(
                f"tools/glossary.toml term {term.zh!r}: paper {term.paper!r} is neither in "
                "tools/catalog.toml nor in the glossary's [pages] table"
            )
    for rp in paths:
        for step in rp.steps:
            if step.paper and step.paper not in catalog.papers and not step.name:
                raise ReaderDataError(
                    f"tools/reading_paths.toml path {rp.id!r}: paper {step.paper!r} is not in "
                    "tools/catalog.toml; give it a 'name'"
                )


# ── helpers ────────────────────────────────────────────────────────────────────────────────


def page_of(slug: str) -> str:
    """The page of a paper slug, relative to ``docs/``."""
    return f"papers/{slug}.md"


def ref(
    slug: str,
    catalog: Catalog,
    docs_dir: Path | None = None,
    name: str | None = None,
    full: bool = False,
) -> str:
    """A Markdown link to a paper's page from the docs root, or its plain name if not written."""
    paper = catalog.papers.get(slug)
    label = name or slug
    if paper is not None:
        label = paper.title_zh if full else paper.short_name
    target = paper.page if paper is not None else page_of(slug)
    return f"[{label}]({target})" if page_exists(target, docs_dir) else label


def site_order(catalog: Catalog) -> list[Paper]:
    """Papers by year; the catalog order breaks ties."""
    return sorted(catalog.papers.values(), key=lambda p: p.year)


def input_label(model: Model) -> str:
    """The forward inputs, batch dimension dropped: ``3×224×224``, ``128 个词元``, joined by +."""
    parts = []
    for spec in model.inputs:
        dims = spec.shape[1:] if len(spec.shape) > 1 and spec.shape[0] == 1 else spec.shape
        if spec.dtype == "int64" and len(dims) == 1 and dims[0] > 1:
            parts.append(f"{dims[0]} 个词元")
        else:
            parts.append("×".join(map(str, dims)))
    return " + ".join(parts)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


# ── overview ───────────────────────────────────────────────────────────────────────────────


def comparison_table(
    catalog: Catalog, summaries: Mapping[str, Mapping[str, Any]], docs_dir: Path | None = None
) -> str:
    """Every catalog model, by year, linked to its paper's page; our exact count from the catalog.

    MACs come from the generator's summary of the model (``—`` if it has not been generated).
    Wrapped in ``<div class="dl-sortable">``: ``docs/javascripts/tablesort.js`` makes the
    headers sort the rows.
    """
    lines = [
        '<div class="dl-sortable" markdown>',
        "",
        "| 模型（链接到笔记） | 年份 | 发表 | 参数（论文） | 参数（我们） | MACs（我们） | 输入 |",
        "| :-- | --: | :-- | --: | --: | --: | :-- |",
    ]
    order = {p.slug: i for i, p in enumerate(site_order(catalog))}
    for m in sorted(catalog.models, key=lambda m: order[m.paper.slug]):
        s = summaries.get(m.id)
        macs = human(s["macs"]) if s and s.get("macs") else "—"
        name = _cell(m.name)
        if page_exists(m.paper.page, docs_dir):
            name = f"[{name}]({m.paper.page})"
        lines.append(
            f"| {name} | {m.paper.year} | {m.paper.venue} "
            f"| {paper_figure(m.paper_params) if m.paper_params else '—'} | {m.params:,} | {macs} "
            f"| {input_label(m)} |"
        )
    lines += ["", "</div>"]
    return "\n".join(lines) + "\n"


def timeline(catalog: Catalog, docs_dir: Path | None = None) -> str:
    """The papers by year as a definition list (year → papers), styled as a vertical timeline."""
    by_year: dict[int, list[Paper]] = {}
    for p in site_order(catalog):
        by_year.setdefault(p.year, []).append(p)
    lines = ['<div class="dl-timeline" markdown>', ""]
    for year, papers in by_year.items():
        lines.append(str(year))
        for p in papers:
            models = catalog.models_of(p.slug)
            counts = sorted(m.params for m in models)
            size = ""
            if counts:
                span = (
                    human(counts[0])
                    if len(counts) == 1
                    else f"{human(counts[0])}–{human(counts[-1])}"
                )
                size = f"；{len(models)} 个模型，{span} 参数"
            lines.append(f":   {ref(p.slug, catalog, docs_dir, full=True)}（{p.venue}{size}）")
        lines.append("")
    lines.append("</div>")
    return "\n".join(lines) + "\n"


def params_vs_year(catalog: Catalog) -> Callable[[], Any]:
    """A figure function: every catalog model's exact parameter count against its paper's year.

    The horizontal axis lists only the years that have papers, evenly spaced (1997 and the
    2010s would otherwise leave most of the plot empty). Papers of the same year are spread
    sideways; a paper's models are joined by a vertical line and labelled once with the paper's
    short name. Text and axes use the sentinel foreground colour, which the generator turns into
    ``currentColor`` (light and dark pages).
    """

    def draw() -> Any:
        import math

        from tools.generator.figures import style

        fig = style.new_figure(7.2, 4.2)
        ax = fig.subplots()
        by_year: dict[int, list[Paper]] = {}
        for p in site_order(catalog):
            if catalog.models_of(p.slug):
                by_year.setdefault(p.year, []).append(p)
        years = sorted(by_year)
        top = 1.0
        placed: list[tuple[float, float, float]] = []  # (x, log10 y, half width) of labels
        col_in = 6.4 / len(years)  # about the width of one year column, in inches

        def half_width(text: str) -> float:  # in columns, for 8.5 pt text
            return sum(0.118 if ord(c) > 0x2E80 else 0.065 for c in text) / col_in / 2

        for col, year in enumerate(years):
            papers = by_year[year]
            n = len(papers)
            for i, p in enumerate(papers):
                x = col + (i - (n - 1) / 2) * 0.3
                ys = sorted(m.params for m in catalog.models_of(p.slug))
                top = max(top, ys[-1])
                colour = style.PALETTE[list(catalog.papers).index(p.slug) % len(style.PALETTE)]
                if len(ys) > 1:
                    ax.plot([x, x], [ys[0], ys[-1]], color=colour, lw=1.2, alpha=0.6)
                ax.scatter([x] * len(ys), ys, s=22, color=colour, zorder=3, edgecolors="none")
                # label above the paper's largest model, or below its smallest one when a
                # neighbour's label already sits at about that height
                label = re.sub(r"（.*?）|\(.*?\)", "", p.short_name).strip()
                hw = half_width(label)
                above = not any(
                    abs(px - x) < pw + hw + 0.05 and abs(py - math.log10(ys[-1])) < 0.3
                    for px, py, pw in placed
                )
                anchor = ys[-1] if above else ys[0]
                placed.append((x, math.log10(anchor), hw))
                ax.annotate(
                    label,
                    (x, anchor),
                    xytext=(0, 5 if above else -6),
                    textcoords="offset points",
                    ha="center",
                    va="bottom" if above else "top",
                    fontsize=8.5,
                    color=style.FG,
                )
        ax.set_yscale("log")
        ax.set_ylim(top=10 ** (math.log10(top) + 0.6))
        ax.set_xlim(-0.7, len(years) - 0.3)
        ax.set_xticks(range(len(years)), [str(y) for y in years])
        ax.set_ylabel("参数量（对数坐标）")
        ax.set_xlabel("论文年份（只列出有论文的年份）")
        ax.grid(True, axis="y", which="major")
        return fig

    return draw


# ── glossary and abbreviations ─────────────────────────────────────────────────────────────


def _name(slug: str, catalog: Catalog, glossary: Glossary) -> str:
    return catalog.papers[slug].short_name if slug in catalog.papers else glossary.pages[slug]


def glossary_table(catalog: Catalog, glossary: Glossary, docs_dir: Path | None = None) -> str:
    """中英术语对照, in reading order of the page that introduces each term; sortable."""
    order = {p.slug: (p.year, i) for i, p in enumerate(site_order(catalog))}
    lines = [
        '<div class="dl-sortable dl-glossary" markdown>',
        "",
        "| 中文 | English | 缩写 | 释义 | 首次出现 |",
        "| :-- | :-- | :-- | :-- | :-- |",
    ]
    terms = sorted(glossary.terms, key=lambda t: order.get(t.paper, (9999, 0)))
    for t in terms:
        where = ref(t.paper, catalog, docs_dir, name=_name(t.paper, catalog, glossary))
        # other translations (not the bare English word, which is the next column)
        other = [x for x in t.synonyms if not x.isascii()]
        zh = _cell(t.zh) + (f"（又译：{'、'.join(other)}）" if other else "")
        lines.append(f"| {zh} | {_cell(t.en)} | {t.abbr or ''} | {_cell(t.definition)} | {where} |")
    lines += ["", "</div>"]
    return "\n".join(lines) + "\n"


def abbreviations(glossary: Glossary) -> str:
    """Python-Markdown ``abbr`` definitions (``*[CNN]: …``) for every term with an abbreviation.

    One block per definition (a blank line between them). The file is appended to every Markdown
    conversion, the 1,000-odd docstrings of the API pages included, and ``abbr`` takes one line of
    a block at a time, handing the rest back to every block processor to test again: as a single
    block of 40 lines that made the strict build 33 s instead of 19 s (same HTML).
    """
    lines = [f"*[{t.abbr}]: {t.zh}（{t.en}）：{t.definition}" for t in glossary.terms if t.abbr]
    return "\n\n".join(lines) + "\n"


# ── reading paths ──────────────────────────────────────────────────────────────────────────


def _step_label(step: Step, catalog: Catalog, docs_dir: Path | None) -> str:
    if step.paper:
        return ref(step.paper, catalog, docs_dir, name=step.name)
    return step.name or ""


def reading_paths(
    catalog: Catalog, paths: tuple[ReadingPath, ...], docs_dir: Path | None = None
) -> str:
    """One section per path: heading (anchor = the path's id), introduction, numbered steps."""
    out: list[str] = []
    for rp in paths:
        chain = " → ".join(_step_label(s, catalog, docs_dir) for s in rp.steps)
        out += [f"## {rp.title} {{#{rp.id}}}", "", rp.intro, "", f"**{chain}**", ""]
        for i, step in enumerate(rp.steps, 1):
            label = _step_label(step, catalog, docs_dir)
            if step.paper and step.paper in catalog.papers:
                label += f"（{catalog.papers[step.paper].year}）"
            elif not step.paper:
                label += "（本站暂无单独页面）"
            out.append(f"{i}. **{label}**：{step.why}")
        out.append("")
    return "\n".join(out)


def reading_summary(
    catalog: Catalog, paths: tuple[ReadingPath, ...], docs_dir: Path | None = None
) -> str:
    """One line per path for the home page, each ending with a link to its section."""
    lines = []
    for rp in paths:
        chain = " → ".join(_step_label(s, catalog, docs_dir) for s in rp.steps)
        lines.append(
            f"- **{rp.title.split('：')[0]}**：{chain}（[详细](reading-paths.md#{rp.id})）"
        )
    return "\n".join(lines) + "\n"


# ── everything ─────────────────────────────────────────────────────────────────────────────


def plot_key(catalog: Catalog, out: Path | None = None) -> str:
    """Hash of everything the parameters-vs-year figure depends on (its data and its code)."""
    from importlib.metadata import version

    from tools.generator import fonts
    from tools.generator.cache import file_hash, resolve_fonts, sources

    data = [(p.slug, p.short_name, p.year) for p in catalog.papers.values()]
    data += [(m.paper.slug, m.params) for m in catalog.models]
    return file_hash(
        json.dumps(data, ensure_ascii=False),
        version("matplotlib"),
        fonts.cache_key(resolve_fonts(out)),  # the fonts that lay the figure out
        *sources(
            "tools/generator/overview.py",
            "tools/generator/figures/__init__.py",
            "tools/generator/figures/style.py",
            "tools/generator/fonts.py",
        ),
    )


def params_svg(catalog: Catalog, out: Path | None) -> str:
    """The figure's SVG, reused from ``out`` when its inputs are unchanged (matplotlib is slow)."""
    from tools.generator.cache import Stamp
    from tools.generator.figures import figure_svg

    rel = f"overview/{PARAMS_FIGURE}.svg"
    key = plot_key(catalog, out)
    if out is not None and Stamp(out).fresh(PARAMS_FIGURE, key, out):
        return (out / rel).read_text(encoding="utf-8")
    svg = figure_svg(params_vs_year(catalog), PARAMS_FIGURE)
    if out is not None:
        from tools.generator.cache import write_atomic

        write_atomic(out / rel, svg)
        Stamp(out).save(PARAMS_FIGURE, key, [rel])
    return svg


def files(
    catalog: Catalog,
    summaries: Mapping[str, Mapping[str, Any]],
    docs_dir: Path | None = None,
    glossary: Glossary | None = None,
    paths: tuple[ReadingPath, ...] | None = None,
    out: Path | None = None,
) -> dict[str, str]:
    """All generated files of this module, ``{path relative to generated/: text}``.

    With ``out`` (the generator's output folder), the figure is cached there by content hash.
    """
    glossary = glossary or load_glossary()
    paths = paths if paths is not None else load_paths()
    check_names(catalog, glossary, paths)
    docs_dir = docs_dir or DOCS_DIR
    svg = params_svg(catalog, out)
    return {
        "overview/table.md": comparison_table(catalog, summaries, docs_dir),
        "overview/timeline.md": timeline(catalog, docs_dir),
        f"overview/{PARAMS_FIGURE}.svg": svg,
        "overview/params-vs-year.md": (
            f'<figure class="dl-figure" id="fig-{PARAMS_FIGURE}">\n{svg}'
            "<figcaption>每个点是目录中的一个模型，纵轴为本站参考实现的精确参数量（对数坐标），"
            "同一篇论文的模型用竖线相连"
            "（由 <code>tools/generator/overview.py</code> 生成）</figcaption>\n"
            "</figure>\n"
        ),
        "glossary/table.md": glossary_table(catalog, glossary, docs_dir),
        "abbreviations.md": abbreviations(glossary),
        "reading/paths.md": reading_paths(catalog, paths, docs_dir),
        "reading/summary.md": reading_summary(catalog, paths, docs_dir),
    }
