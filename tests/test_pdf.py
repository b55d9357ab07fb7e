"""The PDFs printed from site/ and the downloads under diagrams and tables (``nox -s pdf``).

Needs the built site with its PDFs (``python -m tools.website.pdf``); ``nox -s pdf`` builds both
and then
runs this file. Uses poppler's ``pdffonts``/``pdftotext`` and Chromium (Playwright).
"""

from __future__ import annotations

import csv
import html as html_lib
import io
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tools.generator import downloads
from tools.generator.catalog import load
from tools.website import linkcheck, pdf

pytestmark = pytest.mark.pdf

SITE = pdf.SITE
CATALOG = load()
PAPERS = [p for p in CATALOG.papers.values() if (pdf.ROOT / "docs" / p.page).is_file()]
# words each PDF must contain as text (besides its page's own title)
KEY_TERMS = {"resnet": ["残差", "捷径连接", "退化"], "transformer": ["注意力", "多头", "位置编码"]}
# formulas as pdftotext reads them: KaTeX's glyphs must map back to letters and symbols
FORMULAS = {
    "resnet": [r"y\s*=\s*F\s*\(\s*x\s*,\s*\{\s*Wi\s*\}\s*\)\s*\+\s*x", r"H\s*\(\s*x\s*\)"],
    "transformer": [
        r"LayerNorm\(x \+ Dropout\(Sublayer\(x\)\)\)",
        r"FFN\(x\) = max\(0, xW1 \+ b1 \) W2 \+ b2",
        # Eq. (3): superscripts come out as their own runs (the minus sign is U+2212)
        r"lrate = d−0\.5",
        r"step_num ⋅ warmup_steps−1\.5",
    ],
}


def paper_pdf(slug: str) -> Path:
    return SITE / "papers" / slug / f"{slug}.pdf"


def all_pdfs() -> list[Path]:
    return [paper_pdf(p.slug) for p in PAPERS] + [SITE / pdf.SITE_PDF]


def text_of(path: Path, first: int | None = None, last: int | None = None, *flags: str) -> str:
    args = ["pdftotext", "-enc", "UTF-8", *flags]
    if first:
        args += ["-f", str(first), "-l", str(last or first)]
    return subprocess.run(
        [*args, str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module", autouse=True)
def _built() -> None:
    if not (SITE / pdf.SITE_PDF).is_file():
        pytest.skip("no PDFs in site/: run `nox -s pdf`")
    if not shutil.which("pdftotext"):
        pytest.skip("poppler-utils (pdftotext, pdffonts) is not installed")


# ── every paper, every page ───────────────────────────────────────────────────────────────


@pytest.mark.parametrize("paper", PAPERS, ids=lambda p: p.slug)
def test_every_paper_has_a_pdf_that_starts_with_its_card(paper):
    path = paper_pdf(paper.slug)
    assert path.is_file(), f"{path} missing"
    first = squash(text_of(path, 1))
    assert squash(paper.title.split(" · ")[0])[:30] in first  # the card's title, on page 1
    assert "发表" in first
    card = squash(text_of(path, 1, 2))  # a tall card (GPT's) goes on to page 2
    assert "BibTeX" in card
    assert "下载PDF" not in card  # print.css hides the link to the file itself


def test_every_pdf_link_of_the_site_resolves():
    res = linkcheck.check(SITE)
    assert res.pending == [] and res.broken == []
    # and every card links its own PDF
    for paper in PAPERS:
        html = (SITE / "papers" / paper.slug / "index.html").read_text(encoding="utf-8")
        assert f'href="{paper.slug}.pdf"' in html


class _Nav(HTMLParser):
    """The primary navigation's page links (hrefs) of a built page, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0  # >0 inside nav.md-nav--primary
        self.hrefs: list[str] = []
        self.sections: set[str] = set()
        self.label: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = a.get("class") or ""
        if tag == "label" and self.depth and a.get("for", "").startswith("__nav_"):
            self.label = []
        if tag == "nav":
            if self.depth or "md-nav--primary" in cls:
                self.depth += 1
        elif tag == "a" and self.depth and "md-nav__link" in cls:
            href = a.get("href") or ""
            if not href.startswith("#") and href not in self.hrefs:
                self.hrefs.append(href)

    def handle_endtag(self, tag):
        if tag == "nav" and self.depth:
            self.depth -= 1
        if tag == "label" and self.label is not None:
            self.sections.add("".join(self.label).strip())
            self.label = None

    def handle_data(self, data):
        if self.label is not None:
            self.label.append(data)


def nav() -> tuple[list[str], set[str]]:
    """The <h1> of every page in navigation order, and the navigation's section names."""
    parser = _Nav()
    parser.feed((SITE / "index.html").read_text(encoding="utf-8"))
    titles = []
    for href in parser.hrefs:
        page = (SITE / href.removeprefix("./")).resolve()
        html = (page / "index.html" if page.is_dir() else page).read_text(encoding="utf-8")
        h1 = re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S).group(1)
        titles.append(re.sub(r"¶", "", html_lib.unescape(re.sub(r"<[^>]+>", "", h1))).strip())
    return titles, parser.sections


def test_the_site_pdf_has_every_page_in_nav_order_with_working_bookmarks():
    from pypdf import PdfReader

    path = SITE / pdf.SITE_PDF
    reader = PdfReader(path)
    tree = pdf.outline_tree(reader)
    assert tree[0][:2] == ("封面", 0) and reader.page_labels[0] == "封面"
    assert tree[1][0] == "目录"
    titles, sections = nav()

    def unfold(items: list) -> list[tuple[str, int]]:
        """Page-level bookmarks, sections (a theme, a paper in it) unfolded."""
        out = []
        for title, number, _, children in items:
            out += unfold(children) if title in sections else [(title, number)]
        return out

    pages = unfold(tree[2:])
    assert len(pages) == len(titles) >= 20
    numbers = [n for _, n in pages]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    toc_text = text_of(path, tree[1][1] + 1, pages[0][1], "-layout")  # the contents' pages
    toc = {squash(line) for line in toc_text.splitlines()}  # "首页 ……… 1" → "首页1"
    for (title, number), h1 in zip(pages, titles, strict=True):
        # each bookmark opens the page that starts with that site page's title
        assert squash(h1) in squash(text_of(path, number + 1)), f"bookmark {title!r}"
        # the footer numbers the pages from the first site page on; PDF viewers show the same
        # labels, and the contents list each page with its number
        label = reader.page_labels[number]
        assert label == str(number - pages[0][1] + 1)
        assert squash(title) + label in toc, title


def test_the_site_pdf_links_between_pages_stay_inside_it():
    from pypdf import PdfReader

    reader = PdfReader(SITE / pdf.SITE_PDF)
    internal = 0
    for page in reader.pages:
        for annot in page.get("/Annots") or []:
            a = annot.get_object()
            uri = (a.get("/A") or {}).get("/URI")
            assert not (uri and "127.0.0.1" in str(uri)), uri
            internal += 1 if a.get("/Dest") is not None or (a.get("/A") or {}).get("/D") else 0
    assert internal > 50  # contents entries and links between pages


# ── fonts and text ─────────────────────────────────────────────────────────────────────────


def fonts(path: Path) -> list[dict[str, str]]:
    """Every font pdffonts lists: name, type, emb and uni (has a ToUnicode map) columns."""
    out = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True)
    header, rule, *rows = out.stdout.splitlines()
    cols = [(m.start(), m.end()) for m in re.finditer(r"-+", rule)]
    names = [header[a:b].strip() for a, b in cols]
    return [
        {name: row[a : b + 1].strip() for name, (a, b) in zip(names, cols, strict=True)}
        for row in rows
        if row.strip()
    ]


@pytest.mark.parametrize("path", all_pdfs(), ids=lambda p: p.name)
def test_every_font_is_embedded_with_its_text(path):
    found = fonts(path)
    assert found
    # Chromium (Skia) embeds the CFF-based Noto CJK faces as Type 3 fonts and the TrueType
    # ones (KaTeX, DejaVu) as CID subsets: both embedded, both with a ToUnicode map
    assert [f["name"] for f in found if f["emb"] != "yes"] == []
    assert [f["name"] for f in found if f["uni"] != "yes"] == []
    if path.parent.name in FORMULAS or path.name == pdf.SITE_PDF:
        assert any("KaTeX" in f["name"] for f in found)


@pytest.mark.parametrize("paper", PAPERS, ids=lambda p: p.slug)
def test_chinese_text_is_extractable(paper):
    text = text_of(paper_pdf(paper.slug))
    assert "\ufffd" not in text
    assert squash(paper.title_zh) in squash(text) or squash(paper.title_zh)[:4] in squash(text)
    for term in KEY_TERMS.get(paper.slug, []):
        assert term in squash(text), term
    cjk = len(re.findall(r"[\u4e00-\u9fff]", text))
    assert cjk > 1000  # a page of notes, not a page of boxes


@pytest.mark.parametrize("slug", sorted(FORMULAS))
def test_equation_text_is_not_garbled(slug):
    text = text_of(paper_pdf(slug))
    for pattern in FORMULAS[slug]:
        assert re.search(pattern, text), pattern


# ── printing stays on the local server ─────────────────────────────────────────────────────


def test_printing_requests_nothing_but_the_local_server(tmp_path):
    page = pdf.Page("papers/transformer/", "Transformer", slug="transformer")
    with pdf.serve(SITE) as base, pdf.printer(base) as pr:
        data = pdf.print_page(pr, page, tmp_path / "t.pdf")
        assert pr.foreign == []
        # the check can fail: a page that loads an image from another host is caught
        tab = pr.context.new_page()
        tab.route("https://example.org/**", lambda route: route.abort())
        tab.set_content('<img src="https://example.org/x.png">')
        tab.close()
        assert pr.foreign == ["https://example.org/x.png"]
    assert data.startswith(b"%PDF") and pdf.n_pages(data) > 5


# ── downloads under diagrams and tables ────────────────────────────────────────────────────


def download_files(ext: str) -> list[Path]:
    return sorted((SITE / "downloads").rglob(f"*.{ext}"))


def test_every_diagram_and_table_has_its_downloads():
    svgs, csvs, texs = download_files("svg"), download_files("csv"), download_files("tex")
    assert len(csvs) == len(texs) == len(CATALOG.models)
    assert len(svgs) >= len(CATALOG.models)
    html = (SITE / "papers" / "resnet" / "index.html").read_text(encoding="utf-8")
    assert 'download="resnet50-diagram.svg"' in html
    for paper in PAPERS:  # one SVG link per diagram, and each link's file exists
        html = (SITE / "papers" / paper.slug / "index.html").read_text(encoding="utf-8")
        links = re.findall(
            r'<p class="dl-downloads">下载：<a download="[^"]+" href="([^"]+\.svg)"', html
        )
        assert len(links) == html.count('<figure class="dl-diagram"'), paper.slug
        assert all((SITE / "papers" / paper.slug / href).resolve().is_file() for href in links)


def test_each_downloaded_svg_renders_on_its_own():
    svgs = download_files("svg")
    with pdf.serve(SITE) as base, pdf.printer(base) as pr:
        tab = pr.context.new_page()
        for svg in svgs:
            rel = svg.relative_to(SITE).as_posix()
            text = svg.read_text(encoding="utf-8")
            assert "var(" not in text and "Noto Sans CJK SC" in text, rel
            tab.goto(base + rel)
            got = tab.evaluate(
                """() => {
                  const svg = document.documentElement;
                  const box = svg.getBoundingClientRect();
                  const texts = [...svg.querySelectorAll('text')];
                  const fills = [...svg.querySelectorAll('polygon, path, ellipse')]
                    .map(e => getComputedStyle(e).fill);
                  return {tag: svg.tagName, w: box.width, h: box.height, texts: texts.length,
                          light: fills.filter(f => f.startsWith('rgb(')).length,
                          images: svg.querySelectorAll('image').length,
                          title: svg.querySelector('title')?.textContent ?? ''};
                }"""
            )
            assert got["tag"] == "svg", f"{rel} is not a well-formed SVG document"
            assert got["w"] > 50 and got["h"] > 50 and got["texts"] > 1, (rel, got)
            # a figure of pictures (contrastive-views) draws them as <image>, not as filled shapes
            drawn = got["light"] + (got["images"] if rel.startswith("downloads/figures/") else 0)
            assert drawn > 0 and "深度学习论文学习" in got["title"], (rel, got)
        tab.close()
    assert pr.foreign == []


class _Tables(HTMLParser):
    """Every table of a page: rows of cell texts; and after which table each CSV link comes."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.csv_after: dict[str, int] = {}
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self.cell = []
        elif tag == "a" and (a.get("href") or "").endswith("params.csv"):
            self.csv_after[a["href"]] = len(self.tables) - 1

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.tables[-1][-1].append("".join(self.cell).strip())
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def test_each_csv_and_latex_table_has_the_rows_and_totals_of_the_page():
    checked = 0
    for paper in PAPERS:
        parser = _Tables()
        parser.feed((SITE / "papers" / paper.slug / "index.html").read_text(encoding="utf-8"))
        for href, index in parser.csv_after.items():
            page_rows = [r for r in parser.tables[index] if r and r[0] != "层（代码中的名字）"]
            csv_path = (SITE / "papers" / paper.slug / href).resolve()
            rows = list(csv.reader(io.StringIO(csv_path.read_text(encoding="utf-8-sig"))))
            assert rows[0] == list(downloads.HEADER)
            assert len(rows) - 1 == len(page_rows), csv_path
            for ours, theirs in zip(rows[1:], page_rows, strict=True):
                assert ours[1] == theirs[0].replace("\u2003", "").strip()
                assert ours[2:4] == theirs[1:3]
                assert ours[4] == theirs[3].replace(",", "")
                assert ours[5] == ("" if theirs[4] == "—" else theirs[4])
            assert rows[-1][1] == "合计"
            tex = csv_path.with_suffix(".tex").read_text(encoding="utf-8")
            body = tex.split("\\midrule", 1)[1].split("\\bottomrule")[0]
            lines = [ln for ln in body.splitlines() if ln.endswith("\\\\")]
            assert len(lines) == len(page_rows)
            assert f"\\textbf{{{int(rows[-1][4]):,}}}" in lines[-1]
            assert "\\begin{tabular}" in tex and "\\toprule" in tex
            checked += 1
    shown = {  # the tables the pages include
        m
        for page in (pdf.ROOT / "docs" / "papers").glob("*.md")
        for m in re.findall(r"generated/models/([^/]+)/params\.md", page.read_text("utf-8"))
    }
    assert checked == len(shown) > 10


# ── the exercises ──────────────────────────────────────────────────────────────────────────


def _exercise_records() -> dict[str, dict]:
    import json

    folder = pdf.ROOT / "generated" / "exercises"
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in folder.glob("*.json")}


@pytest.mark.parametrize("slug", sorted(_exercise_records()))
def test_answers_print_open_after_the_page_exercises(slug):
    exercises = _exercise_records()[slug]["exercises"]
    text = squash(text_of(paper_pdf(slug)))
    start = text.index(squash("练习参考答案"))
    questions, answers = text[:start], text[start:]
    last = 0
    for n, e in enumerate(exercises, 1):
        assert squash(e["title"]) in questions, e["id"]  # every question before the answers
        label = squash(f"练习 {n} · 参考答案")
        at = answers.index(label)  # the answers open, in order
        assert at > last or n == 1
        last = at
        if e["computed"]:
            value = e["computed"]["value"]
            if float(value).is_integer():
                assert squash(f"答案：{int(value):,}") in answers[at:], e["id"]
            else:  # printed rounded (0.774 for 0.7740453…); squashed, the digits of the
                # formula may follow (答案：0.3541/(4×2)…): some ≥ 2-decimal prefix rounds it
                m = re.match(r"答案：([-−]?[\d,]*)\.(\d+)", answers[at + len(label) :])
                assert m, e["id"]
                whole, digits = m.group(1).replace(",", "").replace("−", "-"), m.group(2)
                assert any(
                    float(f"{whole}.{digits[:k]}") == round(value, k)
                    for k in range(min(2, len(digits)), len(digits) + 1)
                ), e["id"]
    assert squash(exercises[0]["title"]) not in answers  # the answers do not repeat questions


def test_the_teachers_page_links_every_paper_pdf():
    html = (SITE / "teachers" / "index.html").read_text(encoding="utf-8")
    for paper in PAPERS:
        assert f'href="../papers/{paper.slug}/{paper.slug}.pdf"' in html
        assert (SITE / "papers" / paper.slug / f"{paper.slug}.pdf").is_file()


# ── the offline bundle ─────────────────────────────────────────────────────────────────────


def test_offline_paths_sit_beside_the_offline_pages():
    assert pdf.offline_path("papers/resnet/resnet.pdf") == "papers/resnet.pdf"
    assert pdf.offline_path(pdf.SITE_PDF) == pdf.SITE_PDF
    assert pdf.offline_path("a/b/c/c.pdf") == "a/b/c.pdf"


def test_the_offline_bundle_has_the_pdfs_where_its_pages_link_them():
    import zipfile

    bundle = pdf.ROOT / "dist" / "site-offline.zip"
    if not bundle.is_file():
        pytest.skip("no dist/site-offline.zip: run `nox -s docs` before `nox -s pdf`")
    with zipfile.ZipFile(bundle) as zf:
        names = set(zf.namelist())
        index = zf.read("site-offline/index.html").decode("utf-8")
        assert f'href="{pdf.SITE_PDF}"' in index and f"site-offline/{pdf.SITE_PDF}" in names
        teachers = zf.read("site-offline/teachers/index.html").decode("utf-8")
        for paper in PAPERS:
            page = zf.read(f"site-offline/papers/{paper.slug}.html").decode("utf-8")
            assert f'href="{paper.slug}.pdf"' in page
            assert f'href="../papers/{paper.slug}.pdf"' in teachers  # the same file, from there
            info = zf.getinfo(f"site-offline/papers/{paper.slug}.pdf")
            assert info.file_size == paper_pdf(paper.slug).stat().st_size
