"""Step 9 of the generator: per paper its card, variants, 论文 vs 本实现 box and test list.

Catalog-driven Markdown, and the list of papers (see :mod:`tools.generator`).

Kept apart from :mod:`tools.generator.tables` (which is part of every model's cache key) so
that editing a
card does not rebuild the models' diagrams and tables.
"""

from __future__ import annotations

import ast
import functools
import html
import json
import posixpath
import re
import unicodedata
from importlib.metadata import version
from pathlib import Path

from tools.generator.catalog import ROOT, Catalog, Model, Paper
from tools.generator.tables import Stats, human, paper_figure, shape_label

DOCS_DIR = ROOT / "docs"


def page_exists(page: str, docs_dir: Path | None = None) -> bool:
    """Whether ``docs/<page>`` exists (links to pages still being written would break the build)."""
    return ((docs_dir or DOCS_DIR) / page).is_file()


def rel_link(target: str, source: str) -> str:
    """Relative Markdown link between two pages given relative to ``docs/``."""
    return posixpath.relpath(target, posixpath.dirname(source) or ".")


def paper_ref(paper: Paper, source: str, docs_dir: Path | None = None) -> str:
    """``[ResNet](resnet.md)`` from page ``source``; the plain name if the page does not exist."""
    if page_exists(paper.page, docs_dir):
        return f"[{paper.short_name}]({rel_link(paper.page, source)})"
    return paper.short_name


def video_host(url: str) -> str:
    """``B 站`` or ``YouTube`` for a video URL."""
    return "B 站" if "bilibili.com" in url else "YouTube"


_BOOKTITLES = {
    "neurips": "Advances in Neural Information Processing Systems",
    "nips": "Advances in Neural Information Processing Systems",
    "iclr": "International Conference on Learning Representations",
    "icml": "International Conference on Machine Learning",
    "iccv": "Proceedings of the IEEE/CVF International Conference on Computer Vision (ICCV)",
    "eccv": "European Conference on Computer Vision (ECCV)",
    "acl": "Proceedings of the Annual Meeting of the Association for Computational Linguistics",
    "emnlp": "Proceedings of the Conference on Empirical Methods in Natural Language Processing",
}
_STOPWORDS = {"a", "an", "the", "on", "of", "in", "for", "with", "to", "is", "are", "and"}
_BIB_SPECIAL = str.maketrans({c: "\\" + c for c in "&%#_$"})


def booktitle(venue: str, year: int) -> str:
    """The full proceedings name of a venue abbreviation (the abbreviation itself if unknown)."""
    key = venue.lower()
    if key == "cvpr":
        cvf = "IEEE/CVF" if year >= 2018 else "IEEE"
        return (
            f"Proceedings of the {cvf} Conference on Computer Vision and Pattern Recognition (CVPR)"
        )
    if key == "naacl":
        return (
            f"Proceedings of the {year} Conference of the North American Chapter of the "
            "Association for Computational Linguistics: Human Language Technologies"
        )
    return _BOOKTITLES.get(key, venue)


def primary_title(paper: Paper) -> str:
    """The title of the page's main paper: pages that cover several list them with `` · ``."""
    first = paper.title.split(" · ")[0].strip()
    return re.sub(r"\s*\([^)]*\)$", "", first) if " · " in paper.title else first


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def bibtex_key(paper: Paper) -> str:
    """Google-Scholar-style key: first author's surname, year, first significant title word."""
    surname = re.sub(r"[^a-z]", "", _ascii(paper.authors[0].split()[-1]))
    words = [re.sub(r"[^a-z0-9]", "", _ascii(w)) for w in primary_title(paper).split()]
    word = next((w for w in words if w and w not in _STOPWORDS), "")
    return f"{surname}{paper.year}{word}"


def _bib_title(title: str) -> str:
    """Escape BibTeX specials and brace-protect acronyms and mixed-case words (ImageNet, 3D)."""
    title = title.translate(_BIB_SPECIAL)
    return re.sub(r"(?<![\w{])(\w*[A-Z]\w*[A-Z0-9]\w*|[0-9]+[A-Z]\w*)", r"{\1}", title)


def _bib_author(name: str) -> str:
    """``Kaiming He`` → ``He, Kaiming``."""
    parts = name.split()
    return name if len(parts) == 1 else f"{parts[-1]}, {' '.join(parts[:-1])}"


def bibtex(paper: Paper) -> str:
    """A BibTeX entry for the page's main paper (UTF-8, for biblatex or BibTeX with inputenc)."""
    kind = paper.bibtex_type or ("misc" if paper.venue.lower() == "arxiv" else "inproceedings")
    fields: list[tuple[str, str]] = [
        ("title", _bib_title(primary_title(paper))),
        ("author", " and ".join(_bib_author(a) for a in paper.authors)),
    ]
    if kind == "inproceedings":
        fields.append(("booktitle", booktitle(paper.venue, paper.year)))
    elif kind == "article":
        fields.append(("journal", paper.venue))
    elif paper.arxiv:
        fields.append(("howpublished", f"arXiv preprint arXiv:{paper.arxiv}"))
    else:  # a report without a venue of its own ("OpenAI technical report")
        fields.append(("howpublished", paper.venue))
    for key in ("volume", "number", "pages"):
        value = getattr(paper, key)
        if value:
            fields.append((key, value.replace("–", "--")))
    fields.append(("year", str(paper.year)))
    if paper.doi:
        fields.append(("doi", paper.doi))
    if paper.arxiv:
        fields += [("eprint", paper.arxiv), ("archivePrefix", "arXiv")]
    fields.append(("url", paper.link))
    width = max(len(k) for k, _ in fields)
    body = "".join(f"  {k.ljust(width)} = {{{v}}},\n" for k, v in fields)
    return f"@{kind}{{{bibtex_key(paper)},\n{body}}}\n"


def card(paper: Paper, catalog: Catalog | None = None, docs_dir: Path | None = None) -> str:
    """The header card of a paper page.

    Title and authors, venue and year, the paper link, the matching episode of Mu Li's 论文精读
    series (when the catalog has one), the reference module with the PyTorch version of this build,
    the papers to read first (linked when their page exists) and a BibTeX block with a copy
    button. Markdown inside ``<div markdown>`` (md_in_html), so that MkDocs checks and rewrites
    the links between pages.
    """
    e = html.escape
    link_text = (
        f"arXiv:{paper.arxiv}" if paper.arxiv else (f"doi:{paper.doi}" if paper.doi else "论文页面")
    )
    torch_version = _torch_version()
    lines = [
        '<div class="paper-card" markdown>',
        f'<p class="paper-card__title" lang="en">{e(paper.title)}</p>',
        f'<p class="paper-card__authors" lang="en">{e(", ".join(paper.authors))}</p>',
        # the rest is kept out of the search index (it would be every result's preview)
        '<div class="paper-card__body" markdown data-search-exclude>',
        "",
        f"发表\n:   {paper.venue} {paper.year}\n",
        f"论文\n:   [{link_text}]({paper.link})\n",
    ]
    if paper.video:
        lines.append(f"视频\n:   [李沐「论文精读」（{video_host(paper.video)}）]({paper.video})\n")
    lines.append(
        f'代码\n:   <a href="#完整代码"><code>{e(paper.module)}</code></a>'
        f"（在 PyTorch {torch_version} 下测试）\n"
    )
    lines += crosscheck_lines(paper)
    if paper.prereq and catalog is not None:
        refs = [paper_ref(catalog.papers[s], paper.page, docs_dir) for s in paper.prereq]
        lines.append(f"先读\n:   {'、'.join(refs)}\n")
    lines.append(pdf_line(paper))
    note = "（本页主论文）" if " · " in paper.title and not paper.also else ""
    note = f"（本页的 {1 + len(paper.also)} 篇论文）" if paper.also else note
    entries = "\n".join(bibtex(p) for p in (paper, *paper.also))
    lines += [
        f'??? quote "BibTeX 引用{note}"',
        "",
        "    ```bibtex",
        *(f"    {line}".rstrip() for line in entries.splitlines()),
        "    ```",
        "",
        "</div>",
        "</div>",
    ]
    return "\n".join(lines) + "\n"


def pdf_line(paper: Paper) -> str:
    """The card's "下载 PDF" entry: the page printed by ``nox -s pdf``, a file beside the page.

    ``<slug>.pdf`` sits in the page's own folder (``site/papers/<slug>/`` with directory URLs,
    ``papers/`` in the offline bundle), so one relative link works in both. Raw HTML, since the
    file exists only after ``nox -s pdf``: ``tools/website/linkcheck.py`` reports it as waiting
    for that
    session until then, and the PDF tests require it after.
    """
    name = html.escape(f"{paper.short_name}-深度学习论文学习.pdf")
    return (
        f'PDF\n:   <a class="dl-pdf" href="{paper.slug}.pdf" download="{name}">下载 PDF</a>'
        "（A4，由 <code>nox -s pdf</code> 打印本页）\n"
    )


# ── cross-check results (reports/crosscheck.json, reports/torch-versions.json; issue 12) ──


def _report(name: str) -> dict:
    path = ROOT / "reports" / name
    return _read_json(path, path.stat().st_mtime_ns) if path.exists() else {}


@functools.cache
def _read_json(path: Path, mtime_ns: int) -> dict:
    """A JSON file, read once per process and version of the file (17 cards read each report)."""
    return json.loads(path.read_text(encoding="utf-8"))


@functools.cache
def _torch_version() -> str:
    return version("torch").split("+")[0]


def _sci(x: float) -> str:
    """1.3e-06 → '1.3×10⁻⁶'; 0 → '0'."""
    if x == 0:
        return "0"
    mantissa, exponent = f"{x:.1e}".split("e")
    digits = str(int(exponent)).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))
    return f"{mantissa}×10{digits}"


def tested_torch_versions() -> list[str]:
    """This build's torch, and every newer one `nox -s tests-latest` recorded a pass on."""
    versions = {_torch_version(), *_report("torch-versions.json").get("runs", {})}
    return sorted(versions, key=lambda v: tuple(int(p) for p in v.split(".") if p.isdigit()))


def crosscheck_lines(paper: Paper) -> list[str]:
    """The card's 对照 and 测试 entries, from the committed reports.

    对照: one line per cross-checked model, then the paper's note (not run, or differs by
    design); 测试: every torch version the whole test suite passed on.
    """
    data = _report("crosscheck.json")
    cases = [c for c in data.get("cases", []) if c["paper"] == paper.slug]
    note = data.get("papers", {}).get(paper.slug)
    body = []
    for c in cases:
        body.append(
            f"- {html.escape(c['label'])}：与 {c['library']} {c['library_version']} "
            f"`{c['reference']}` 输出一致（最大误差 {_sci(c['max_abs'])}），参数量相同"
            + (f"；{html.escape(c['note'])}" if c["note"] else "")
        )
    if note:
        body += ["", html.escape(note)] if body else [html.escape(note)]
    if cases:
        body += ["", "数据来自 `nox -s crosscheck` 写出的报告 `reports/crosscheck.md`。"]
    lines = ["对照\n:   " + "\n    ".join(body).replace("\n    \n", "\n\n") + "\n"] if body else []
    versions = "、".join(tested_torch_versions())
    return [*lines, f"测试\n:   整个测试套件通过的 PyTorch 版本：{versions}\n"]


def variants_table(models: list[Model], stats: dict[str, Stats]) -> str:
    """All catalog models of one paper: our counts next to the paper's figures."""
    lines = [
        "| 模型 | 参数（我们） | 参数（论文） | MACs（我们） | FLOPs/乘加（论文） | 输入 |",
        "| :-- | --: | --: | --: | --: | :-- |",
    ]
    for m in models:
        s = stats.get(m.id)
        if s is None:
            continue
        theirs = paper_figure(m.paper_params) if m.paper_params else "—"
        lines.append(
            f"| {m.name} | {s.params:,} | {theirs} "
            f"| {human(s.macs)} | {paper_figure(m.paper_macs) if m.paper_macs else '—'} "
            f"| {' , '.join(shape_label(i.shape) for i in m.inputs)} |"
        )
    notes = [f"- **{m.name}**：{m.gap}" for m in models if m.gap and m.id in stats]
    if notes:
        lines += ["", *notes]
    return "\n".join(lines) + "\n"


def papers_index(catalog: Catalog, docs_dir: Path | None = None) -> str:
    """The list of papers for the home page (relative links from ``docs/index.md``).

    One table per theme of the catalog (``[[themes]]``: the sections of the navigation), under a
    heading, papers in the theme's order; without themes, one table by year. Papers whose page
    is still being written are listed without a link.
    """
    head = ["| 年份 | 笔记 | 论文 | 发表 | 先读 |", "| --: | :-- | :-- | :-- | :-- |"]

    def row(p: Paper) -> str:
        if page_exists(p.page, docs_dir):
            note = f"[{p.title_zh}]({p.page})"
        else:
            note = f"{p.title_zh}（撰写中）"
        first = p.authors[0].split()[-1] + (" 等" if len(p.authors) > 1 else "")
        title = p.title.replace(" · ", "<br>")
        before = "、".join(paper_ref(catalog.papers[s], "index.md", docs_dir) for s in p.prereq)
        return f"| {p.year} | {note} | {title}（{first}） | {p.venue} | {before or '—'} |"

    if not catalog.themes:
        by_year = sorted(catalog.papers.values(), key=lambda p: p.year)
        return "\n".join([*head, *map(row, by_year)]) + "\n"
    blocks = []
    for theme in catalog.themes:
        rows = [row(catalog.papers[s]) for s in theme.papers]
        blocks.append("\n".join([f"### {theme.name}", "", *head, *rows]))
    return "\n\n".join(blocks) + "\n"


@functools.cache
def _docstring(module: Path, mtime_ns: int) -> str:
    return ast.get_docstring(ast.parse(module.read_text(encoding="utf-8"))) or ""


def deviations(module: Path) -> list[str]:
    """The bullets of the ``Deviations:`` section of a module docstring, one string each."""
    doc = _docstring(module, module.stat().st_mtime_ns)
    items: list[str] = []
    inside, indent = False, 0
    for line in doc.splitlines():
        text = line.strip()
        here = len(line) - len(line.lstrip())
        if text == "Deviations:":
            inside = True
        elif inside and text.startswith(("- ", "* ")) and (not items or here == indent):
            indent = here
            items.append(text[2:].strip())
        elif inside and text and items and here > indent:
            items[-1] += " " + text  # continuation line of the bullet
        elif inside and text and items:
            break  # the next section
    return items


def paper_vs_impl(paper: Paper, models: list[Model], stats: dict[str, Stats]) -> str:
    """The "论文 vs 本实现" box of a paper page, from the catalog and the module's Deviations.

    Nothing in it is typed into the page: the counts are the generator's (checked against the
    catalog, which the tests check against the model), the paper's figures and their source come
    from the catalog, the differences from the ``Deviations:`` list of the reference module.
    """
    lines = ['!!! abstract "论文 vs 本实现"', ""]
    counted = [m for m in models if m.id in stats]
    if counted:
        lines += ["    **参数量**（本实现的数字由生成器在 meta 设备上实测）：", ""]
        for m in counted:
            ours = f"本实现 {stats[m.id].params:,}"
            if m.paper_params:
                source = f"，{m.paper_source}" if m.paper_source else ""
                theirs = f"论文 {paper_figure(m.paper_params)}{source}"
                lines.append(f"    - {m.name}：{ours}；{theirs}。")
            else:
                lines.append(f"    - {m.name}：{ours}；论文未给出总数。")
        page = DOCS_DIR / paper.page
        shows_variants = page.is_file() and f"papers/{paper.slug}/variants.md" in page.read_text()
        gaps = [m for m in counted if m.gap]
        if gaps and shows_variants:
            lines += ["", "    差额的解释见本页的参数量表（各模型下方的说明）。"]
        elif gaps:
            lines += ["", *(f"    **{m.name}** 与论文数字的差额：{m.gap}" for m in gaps)]
        lines.append("")
    items = deviations(ROOT / paper.module)
    lines.append(
        f"    **与论文的不同之处**（摘自 `{paper.module}` 模块文档的 Deviations 一节，英文原文）："
    )
    lines.append("")
    lines += [f"    - {item}" for item in items] or ["    - 无。"]
    return "\n".join(lines) + "\n"


def tests_list(slug: str, tests_dir: Path | None = None) -> str:
    """A collapsible list of every test of ``tests/test_<slug>.py`` (name and docstring)."""
    path = (tests_dir or ROOT / "tests") / f"test_{slug}.py"
    if not path.is_file():
        return ""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    rows = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
            doc = (ast.get_docstring(node) or "").split("\n\n")[0].replace("\n", " ").strip()
            rows.append(f"- `{node.name}`" + (f"：{doc}" if doc else ""))
    title = f"<code>tests/test_{slug}.py</code> 中的全部 {len(rows)} 个测试（英文为测试自己的说明）"
    # raw <details> so that it can carry data-search-exclude: test names are not search terms
    opening = '<details class="note" data-search-exclude markdown>'
    return "\n".join([opening, f"<summary>{title}</summary>", "", *rows, "", "</details>"]) + "\n"


def paper_files(catalog: Catalog, summaries: dict[str, dict]) -> dict[str, str]:
    """Every paper's generated parts, from the models' summaries: {path under generated/: text}.

    The papers index; per paper its card, variants table, "论文 vs 本实现" box and test list; and
    the verbatim copies of the reference files for the full-source blocks (:mod:`.sources`).
    """
    from tools.generator import sources

    files = {"papers/index.md": papers_index(catalog)}
    files.update(
        sources.source_artifacts({p.slug: ROOT / p.module for p in catalog.papers.values()})
    )
    for slug, paper in catalog.papers.items():
        models = catalog.models_of(slug)
        stats = {
            m.id: Stats(s["params"], s["trainable"], s["macs"], {}, None)
            for m in models
            if (s := summaries.get(m.id))
        }
        files[f"papers/{slug}/card.md"] = card(paper, catalog)
        files[f"papers/{slug}/variants.md"] = variants_table(models, stats)
        files[f"papers/{slug}/vs.md"] = paper_vs_impl(paper, models, stats)
        files[f"papers/{slug}/tests.md"] = tests_list(slug)
    return files
