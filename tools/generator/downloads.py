"""Step 5 of the generator: downloads of each diagram and table (standalone SVG, CSV, LaTeX).

Called once per model by :func:`tools.generator.models.model_artifacts` on the files it built,
so the downloads are cached with them (same stamp, same key). From the files of one model it derives

* ``downloads/<id>/<name>.svg`` for every diagram ``models/<id>/<name>.md``: Graphviz's own SVG
  (or, failing that, the inline one) with the light palette resolved (``var(--dl-x,#hex)`` →
  ``#hex``), the font named with fallbacks, links into the page removed and a ``<title>``: it
  opens in any viewer or slide program without the site's CSS;
* ``downloads/<id>/params.csv`` (UTF-8 with BOM, so that Excel reads the Chinese) and
  ``downloads/<id>/params.tex`` (a ``booktabs`` tabular) from the rows of ``params.md``, the
  table the page shows: same rows, same totals;

and appends a line of download links under each diagram and under the table. The links are
Markdown (``attr_list`` names the saved file), so ``mkdocs build --strict`` checks them; the files
reach the site through ``docs/downloads``, a link to ``generated/downloads``.
"""

from __future__ import annotations

import csv
import io
import posixpath
import re

from tools.generator.catalog import Model

FONTS = "'Noto Sans CJK SC', 'Source Han Sans SC', 'PingFang SC', 'Microsoft YaHei', sans-serif"
_VAR = re.compile(r"var\(--[\w-]+,\s*(#[0-9a-fA-F]{3,8}|[a-zA-Z]+)\s*\)")
_DIAGRAM = re.compile(r"^models/(?P<id>[^/]+)/(?P<name>.+)\.md$")
_RAW = re.compile(r"^models/(?P<id>[^/]+)/(?P<name>.+)\.svg$")
#: a diagram as tools/generate.py writes it: the <figure> and its legend line
_FIGURE = re.compile(
    r'<figure class="dl-diagram" id="(?P<anchor>[^"]+)".*?</figure>\n\n'
    r'<div class="dl-legend">.*?</div>\n',
    re.S,
)
HEADER = ("层级", "层（代码中的名字）", "类型", "输出形状", "参数量", "MACs")


def standalone_svg(svg: str, title: str) -> str:
    """An SVG that renders alone: light colours, named fonts, namespaces, no in-page links."""
    svg = svg[svg.index("<svg") : svg.rindex("</svg>") + len("</svg>")]
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.S)
    svg = _VAR.sub(r"\1", svg)
    svg = re.sub(r'font-family="[^"]*"', f'font-family="{FONTS}"', svg)
    svg = re.sub(r'\s(?:xlink:)?href="#[^"]*"', "", svg)  # anchors of the page it came from
    head_end = svg.index(">") + 1
    head = svg[:head_end]
    if "xmlns=" not in head:
        head = head.replace("<svg", '<svg xmlns="http://www.w3.org/2000/svg"', 1)
    if "xlink:" in svg and "xmlns:xlink=" not in head:
        head = head.replace("<svg", '<svg xmlns:xlink="http://www.w3.org/1999/xlink"', 1)
    m = re.search(r'viewBox="[\d.-]+ [\d.-]+ ([\d.]+) ([\d.]+)"', head)
    if m and 'width="100%"' in head:  # the inline variant: give it its natural size back
        head = re.sub(r'\s(?:class|style|role)="[^"]*"', "", head)
        head = head.replace('width="100%"', f'width="{m.group(1)}pt" height="{m.group(2)}pt"')
    text = html_escape(title)
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
        f"{head}\n<title>{text}</title>\n{svg[head_end:].lstrip()}\n"
    )


def html_escape(text: str) -> str:
    """Escape text for XML character data."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def table_rows(params_md: str) -> list[tuple[int, str, str, str, str, str]]:
    """(level, layer, type, shape, params, MACs) of every row of the page's table, totals last.

    Parameters lose their thousands separators; MACs stay as the page shows them ("—" → "").
    """
    lines = [ln for ln in params_md.splitlines() if ln.startswith("|")]
    rows = []
    for line in lines[2:]:  # header and alignment row
        cells = [c.strip() for c in line.strip("|").split("|")]
        level = cells[0].count("&emsp;")
        cells = [re.sub(r"&emsp;|\*\*|`", "", c).strip() for c in cells]
        macs = "" if cells[4] == "—" else cells[4]
        rows.append((level, cells[0], cells[1], cells[2], cells[3].replace(",", ""), macs))
    return rows


def to_csv(rows: list[tuple[int, str, str, str, str, str]]) -> str:
    """The table as CSV with a header row."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    return "\ufeff" + buf.getvalue()


_TEX = {c: "\\" + c for c in "&%$#_{}"} | {
    "\\": r"\textbackslash{}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "×": r"$\times$",
    "–": "--",
    "—": "---",
}


def tex_escape(text: str) -> str:
    """Escape LaTeX's special characters (and write × and dashes the LaTeX way)."""
    return "".join(_TEX.get(c, c) for c in text)


def to_latex(rows: list[tuple[int, str, str, str, str, str]], caption: str) -> str:
    """The table as a booktabs ``tabular``; the totals row is bold, after a rule."""
    body = []
    for i, (level, layer, kind, shape, params, macs) in enumerate(rows):
        total = i == len(rows) - 1
        name = tex_escape(layer) if total else r"\texttt{" + tex_escape(layer) + "}"
        cells = [
            r"\quad " * level + name,
            tex_escape(kind),
            tex_escape(shape),
            f"{int(params):,}" if params.isdigit() else tex_escape(params),
            tex_escape(macs) or "---",
        ]
        if total:
            body.append(r"\midrule")
            cells = [r"\textbf{" + c + "}" if c else c for c in cells]
        body.append(" & ".join(cells) + r" \\")
    head = " & ".join(tex_escape(h) for h in HEADER[1:]) + r" \\"
    return "\n".join(
        [
            f"% {caption}",
            r"% \usepackage{booktabs}；中文需要 XeLaTeX/LuaLaTeX 与 ctex（或 xeCJK）",
            r"\begin{tabular}{lllrr}",
            r"\toprule",
            head,
            r"\midrule",
            *body,
            r"\bottomrule",
            r"\end{tabular}",
            "",
        ]
    )


def _link_line(links: list[tuple[str, str, str]], page: str) -> str:
    """``下载：[SVG](…){download=…}`` as a paragraph with the class print CSS hides."""
    parts = [
        f'[{label}]({posixpath.relpath(path, posixpath.dirname(page))}){{download="{name}"}}'
        for label, path, name in links
    ]
    return "下载：" + " · ".join(parts) + "\n{: .dl-downloads }\n"


def add_downloads(model: Model, files: dict[str, str]) -> dict[str, str]:
    """``files`` with the downloads of one model added and the link lines appended (a copy)."""
    out = dict(files)
    page = model.paper.page
    source = f"由 tools/generate.py 从 {model.paper.module} 生成（深度学习论文学习）"
    svgs = {  # a figure's id → the raw SVG drawn for it (overview, blocks, drill-down details)
        f"{model.id}-{m.group('name').replace('/', '-')}": rel
        for rel in files
        if (m := _RAW.match(rel)) and m.group("id") == model.id
    }

    def with_link(fig: re.Match) -> str:
        rel = svgs.get(fig.group("anchor"))
        if rel is None:
            return fig.group(0)
        name = rel.removeprefix(f"models/{model.id}/").removesuffix(".svg")
        caption = re.search(r"<figcaption>([^<（]*)", fig.group(0))
        title = f"{caption.group(1).strip() if caption else model.name}，{source}"
        target = f"downloads/{model.id}/{name}.svg"
        out[target] = standalone_svg(files[rel], title)
        save_as = f"{model.id}-{name.replace('/', '-')}.svg"
        return f"{fig.group(0)}\n{_link_line([('SVG', target, save_as)], page)}"

    for rel, text in files.items():
        m = _DIAGRAM.match(rel)
        if m and m.group("id") == model.id and "<svg" in text:
            out[rel] = _FIGURE.sub(with_link, text)  # one download line under each figure
    params = files.get(f"models/{model.id}/params.md")
    if params:
        rows = table_rows(params)
        base = f"downloads/{model.id}/params"
        out[f"{base}.csv"] = to_csv(rows)
        out[f"{base}.tex"] = to_latex(rows, f"{model.name} 参数表，{source}")
        line = _link_line(
            [
                ("CSV", f"{base}.csv", f"{model.id}-params.csv"),
                ("LaTeX（booktabs）", f"{base}.tex", f"{model.id}-params.tex"),
            ],
            page,
        )
        table, sep, rest = params.partition("\n\n")
        out[f"models/{model.id}/params.md"] = f"{table}\n\n{line}{sep}{rest}"
    return out
