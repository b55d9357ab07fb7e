"""Reader pages: overview, paper cards (prerequisites, BibTeX, video), glossary, reading paths,
abbreviations, the offline configuration and bundle, the Zensical report. No model is built."""

from __future__ import annotations

import re
import tomllib
import zipfile
from pathlib import Path

import pytest

from tools.generator import catalog as cat
from tools.generator import overview, pages, tables
from tools.reports import zensical as zensical_report
from tools.website import bundle as offline_bundle

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
CATALOG = cat.load()
GLOSSARY = overview.load_glossary()
PATHS = overview.load_paths()
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _links(markdown: str) -> list[str]:
    return [t for t in LINK.findall(markdown) if not t.startswith(("http://", "https://", "#"))]


def _table_rows(markdown: str) -> list[list[str]]:
    rows = [ln for ln in markdown.splitlines() if ln.startswith("| ")]
    return [[c.strip() for c in re.split(r"(?<!\\)\|", r)[1:-1]] for r in rows[2:]]


# ── overview ───────────────────────────────────────────────────────────────────────────────


def test_comparison_table_lists_every_model_with_our_exact_count():
    summaries = {m.id: {"params": m.params, "macs": 123_000_000} for m in CATALOG.models[:3]}
    table = overview.comparison_table(CATALOG, summaries)
    rows = _table_rows(table)
    assert len(rows) == len(CATALOG.models)
    by_name = {
        re.sub(r"^\[(.*)\]\(papers/[\w-]+\.md\)$", r"\1", r[0]).replace("\\|", "|"): r for r in rows
    }
    for m in CATALOG.models:
        row = by_name[m.name]
        assert row[1] == str(m.paper.year) and row[2] == m.paper.venue
        assert row[4] == f"{m.params:,}", m.id
        assert row[5] == ("123.0 M" if m.id in summaries else "—"), m.id
        if m.paper_params:
            assert row[3] == tables.paper_figure(m.paper_params)
    years = [int(r[1]) for r in rows]
    assert years == sorted(years)
    assert table.startswith('<div class="dl-sortable" markdown>')


def test_overview_links_only_existing_pages(tmp_path):
    (tmp_path / "papers").mkdir()
    (tmp_path / "papers" / "resnet.md").write_text("# x\n")
    for text in (
        overview.comparison_table(CATALOG, {}, tmp_path),
        overview.timeline(CATALOG, tmp_path),
        overview.glossary_table(CATALOG, GLOSSARY, tmp_path),
        overview.reading_paths(CATALOG, PATHS, tmp_path),
        pages.papers_index(CATALOG, tmp_path),
    ):
        assert set(_links(text)) <= {"papers/resnet.md"}


def test_timeline_has_every_paper_by_year():
    text = overview.timeline(CATALOG)
    years = [int(y) for y in re.findall(r"^(\d{4})$", text, flags=re.M)]
    assert years == sorted(set(p.year for p in CATALOG.papers.values()))
    for p in CATALOG.papers.values():
        assert p.title_zh in text


def test_input_labels():
    by_id = {m.id: m for m in CATALOG.models}
    assert overview.input_label(by_id["resnet50"]) == "3×224×224"
    assert overview.input_label(by_id["bert-base"]) == "128 个词元"
    assert overview.input_label(by_id["transformer-base"]) == "12 个词元 + 10 个词元"


def test_params_plot_draws_every_model():
    from tools.generator.figures import style

    with style.style_context():
        fig = overview.params_vs_year(CATALOG)()
    ax = fig.axes[0]
    points = sum(len(c.get_offsets()) for c in ax.collections)
    assert points == len(CATALOG.models)
    assert ax.get_yscale() == "log"
    labels = {t.get_text() for t in ax.texts}
    drawn = [p for p in CATALOG.papers.values() if CATALOG.models_of(p.slug)]
    assert len(labels) == len(drawn)
    assert all(any(label in p.short_name for p in drawn) for label in labels)


# ── paper cards: prerequisites, video, BibTeX ─────────────────────────────────────────────


def test_prerequisites_resolve_and_follow_the_issue():
    papers = CATALOG.papers
    for p in papers.values():
        for dep in p.prereq:
            assert dep in papers, (p.slug, dep)
    expected = {"vit": {"transformer"}, "mae": {"vit"}, "clip": {"vit", "transformer"}}
    expected["dalle2"] = {"clip"}
    for slug, needs in expected.items():
        if slug in papers:
            assert needs <= set(papers[slug].prereq), slug


def _data() -> dict:
    return tomllib.loads((ROOT / "tools" / "catalog.toml").read_text(encoding="utf-8"))


def test_unknown_or_cyclic_prerequisite_names_the_entry():
    data = _data()
    data["papers"]["vgg"]["prereq"] = ["nonexistent"]
    with pytest.raises(cat.CatalogError, match=r"\[papers\.vgg\].*unknown prereq 'nonexistent'"):
        cat.parse(data)
    data = _data()
    data["papers"]["alexnet"]["prereq"] = ["resnet"]
    data["papers"]["resnet"]["prereq"] = ["alexnet"]
    with pytest.raises(cat.CatalogError, match="prereq cycle"):
        cat.parse(data)
    data = _data()
    data["papers"]["vgg"]["video"] = "https://example.com/v"
    with pytest.raises(cat.CatalogError, match=r"\[papers\.vgg\].*video"):
        cat.parse(data)


def test_card_links_prerequisites_that_exist(tmp_path):
    (tmp_path / "papers").mkdir()
    (tmp_path / "papers" / "vgg.md").write_text("# x\n")
    resnet = CATALOG.papers["resnet"]
    text = pages.card(resnet, CATALOG, tmp_path)
    assert "先读\n:   [VGG](vgg.md)" in text
    assert '<a href="#完整代码"><code>reference_impl/resnet.py</code></a>' in text
    assert re.search(r"在 PyTorch \d+\.\d+(\.\d+)? 下测试", text)
    assert text.startswith('<div class="paper-card" markdown>') and text.endswith("</div>\n")
    assert "视频\n:   [李沐「论文精读」（B 站）](https://www.bilibili.com/video/" in text
    assert "```bibtex" in text
    # a prerequisite whose page does not exist yet is plain text, not a broken link
    vgg_page_missing = pages.card(resnet, CATALOG, tmp_path / "elsewhere")
    assert "先读\n:   VGG\n" in vgg_page_missing
    assert "视频" not in pages.card(CATALOG.papers["vgg"], CATALOG, tmp_path)


def _parse_bibtex(entry: str) -> tuple[str, str, dict[str, str]]:
    m = re.fullmatch(r"@(\w+)\{([a-z0-9]+),\n(.*)\}\n", entry, flags=re.S)
    assert m, entry
    fields: dict[str, str] = {}
    for line in m.group(3).splitlines():
        f = re.fullmatch(r"  (\w+) *= \{(.*)\},", line)
        assert f, line
        value = f.group(2)
        depth = 0
        for ch in value:
            depth += {"{": 1, "}": -1}.get(ch, 0)
            assert depth >= 0, value
        assert depth == 0, value
        assert f.group(1) not in fields
        fields[f.group(1)] = value
    return m.group(1), m.group(2), fields


@pytest.mark.parametrize("slug", list(CATALOG.papers))
def test_bibtex_is_well_formed(slug):
    paper = CATALOG.papers[slug]
    kind, key, fields = _parse_bibtex(pages.bibtex(paper))
    assert kind in {"inproceedings", "article", "misc"}
    need = {"inproceedings": "booktitle", "article": "journal", "misc": "howpublished"}[kind]
    assert {"title", "author", "year", need} <= set(fields)
    assert fields["year"] == str(paper.year)
    assert len(fields["author"].split(" and ")) == len(paper.authors)
    names = fields["author"].split(" and ")
    assert all(", " in a for a in names[:-1]) and (", " in names[-1] or names[-1] == "others")
    assert key.startswith(re.sub(r"[^a-z]", "", pages._ascii(paper.authors[0].split()[-1])))
    assert " · " not in fields["title"]
    if "pages" in fields:
        assert re.fullmatch(r"\d+--\d+", fields["pages"])
    if paper.arxiv:
        assert fields["eprint"] == paper.arxiv


def test_card_cites_every_paper_of_a_page_that_covers_several():
    """GPT · GPT-2 · GPT-3: one BibTeX entry each (catalog `also`), each well formed."""
    gpt = CATALOG.papers["gpt"]
    text = pages.card(gpt, CATALOG)
    assert "BibTeX 引用（本页的 3 篇论文）" in text
    for paper in (gpt, *gpt.also):
        entry = pages.bibtex(paper)
        assert "\n".join(f"    {line}".rstrip() for line in entry.splitlines()) in text
        kind, _, fields = _parse_bibtex(entry)
        assert fields["year"] == str(paper.year)
        assert kind == "inproceedings" or fields["howpublished"] == "OpenAI technical report"
    assert [pages.bibtex_key(p) for p in gpt.also] == ["radford2019language", "brown2020language"]


def test_bibtex_keys_are_unique_per_paper():
    keys: dict[str, str] = {}
    for p in CATALOG.papers.values():
        key = pages.bibtex_key(p)
        assert keys.setdefault(key, p.link) == p.link, f"{key}: two different papers"


def test_bibtex_protects_acronyms():
    bert = pages.bibtex(CATALOG.papers["bert"])
    assert "{{BERT}: Pre-training" in bert
    assert "{ImageNet}" in pages.bibtex(CATALOG.papers["alexnet"])


# ── glossary, abbreviations, reading paths ────────────────────────────────────────────────


def test_glossary_is_large_and_consistent():
    assert len(GLOSSARY.terms) >= 60
    overview.check_names(CATALOG, GLOSSARY, PATHS)
    covered = {t.paper for t in GLOSSARY.terms}
    assert set(CATALOG.papers) <= covered, "every paper introduces at least one term"
    zh = [t.zh for t in GLOSSARY.terms]
    assert len(zh) == len(set(zh)), "duplicate Chinese terms"


def test_glossary_links_point_to_existing_pages():
    text = overview.glossary_table(CATALOG, GLOSSARY)
    rows = _table_rows(text)
    assert len(rows) == len(GLOSSARY.terms)
    for target in _links(text):
        assert (DOCS / target).is_file(), target
    for t, row in zip(
        sorted(GLOSSARY.terms, key=lambda t: t.zh), sorted(rows, key=lambda r: r[0]), strict=True
    ):
        page = CATALOG.papers[t.paper].page if t.paper in CATALOG.papers else f"papers/{t.paper}.md"
        assert ("](" in row[4]) == (DOCS / page).is_file(), (t.zh, row[4])


def test_abbreviations_file():
    """One definition per Markdown block: ``abbr`` re-tests the rest of a block once per line."""
    text = overview.abbreviations(GLOSSARY)
    lines = text.strip().split("\n\n")
    assert len(lines) == sum(1 for t in GLOSSARY.terms if t.abbr) >= 30
    for line in lines:
        assert re.fullmatch(r"\*\[[\w·-]+\]: [^\n]+", line), line
    assert "*[CNN]: 卷积神经网络（Convolutional Neural Network）：" in text


def test_abbreviations_do_not_touch_code_math_or_svg():
    """The abbr extension leaves code, math and the generated figures (raw HTML blocks) alone."""
    markdown = pytest.importorskip("markdown")
    src = (
        "用 CNN 和 `CNN` 以及 $\\mathrm{CNN}$。\n\n```python\nCNN = 1\n```\n\n"
        '<figure class="dl-figure">\n<svg><text>CNN</text></svg>\n</figure>\n\n'
        + overview.abbreviations(GLOSSARY)
    )
    html = markdown.markdown(
        src,
        extensions=["abbr", "md_in_html", "pymdownx.arithmatex", "pymdownx.superfences"],
        extension_configs={"pymdownx.arithmatex": {"generic": True}},
    )
    assert html.count("<abbr ") == 1
    assert "<code>CNN</code>" in html and "\\mathrm{CNN}" in html
    assert "<text>CNN</text>" in html


def test_reading_paths_resolve():
    ids = [rp.id for rp in PATHS]
    assert len(ids) == len(set(ids)) and all(re.fullmatch(r"[a-z0-9-]+", i) for i in ids)
    text = overview.reading_paths(CATALOG, PATHS)
    for target in _links(text):
        assert (DOCS / target).is_file(), target
    summary = overview.reading_summary(CATALOG, PATHS)
    assert summary.count("](reading-paths.md#") == len(PATHS)
    vision = next(rp for rp in PATHS if rp.id == "vision")
    order = [s.paper for s in vision.steps]
    assert order.index("resnet") < order.index("transformer") < order.index("vit")


def test_bad_glossary_entry_is_named(tmp_path):
    p = tmp_path / "g.toml"
    p.write_text('[[terms]]\nzh = "甲"\nen = "A"\ndef = "x | y"\npaper = "vgg"\n')
    with pytest.raises(overview.ReaderDataError, match="甲"):
        overview.load_glossary(p)
    g = overview.Glossary((overview.Term("乙", "B", "d", "nowhere"),), {})
    with pytest.raises(overview.ReaderDataError, match="nowhere"):
        overview.check_names(CATALOG, g, ())


# ── offline bundle and Zensical report ─────────────────────────────────────────────────────


def _plugins_block(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    block = re.search(r"^plugins:\n(.*?)(?=^\S)", text + "\nend:", flags=re.M | re.S).group(1)
    return [ln for ln in block.splitlines() if ln.strip() and not ln.strip().startswith("#")]


def _features(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    block = re.search(r"^  features:\n((?:    - .*\n)+)", text, flags=re.M).group(1)
    return [ln.split("#")[0].strip()[2:] for ln in block.splitlines()]


def test_offline_config_repeats_the_lists_of_mkdocs_yml():
    main = [f for f in _features(ROOT / "mkdocs.yml") if not f.startswith("navigation.instant")]
    assert _features(ROOT / "mkdocs-offline.yml") == main
    main = _plugins_block(ROOT / "mkdocs.yml")
    assert any("- search:" in ln for ln in main) and any("mkdocstrings" in ln for ln in main)
    offline = _plugins_block(ROOT / "mkdocs-offline.yml")
    assert offline == [*main, "  - offline"]
    text = (ROOT / "mkdocs-offline.yml").read_text(encoding="utf-8")
    assert re.search(r"^INHERIT: mkdocs\.yml$", text, flags=re.M)
    assert "assets/iframe-worker/shim.js" in text
    assert (DOCS / "assets" / "iframe-worker" / "shim.js").is_file()
    assert (DOCS / "assets" / "iframe-worker" / "LICENSE").is_file()


def test_offline_bundle_detects_network_loads_and_zips_deterministically(tmp_path):
    site = tmp_path / "s"
    (site / "a").mkdir(parents=True)
    (site / "index.html").write_text(
        '<link rel="canonical" href="https://x.org/"><a href="https://arxiv.org/abs/1">paper</a>'
        '<script src="assets/x.js"></script>'
    )
    assert offline_bundle.remote_loads(site) == []
    (site / "a" / "index.html").write_text('<script src="https://unpkg.com/iframe-worker/shim">')
    (site / "a" / "s.css").write_text("@font-face{src:url(//fonts.example/x.woff2)}")
    found = offline_bundle.remote_loads(site)
    assert found == [
        "a/index.html: https://unpkg.com/iframe-worker/shim",
        "a/s.css: //fonts.example/x.woff2",
    ]
    one, two = tmp_path / "1.zip", tmp_path / "2.zip"
    offline_bundle.write_zip(site, one)
    offline_bundle.write_zip(site, two)
    assert one.read_bytes() == two.read_bytes()
    with zipfile.ZipFile(one) as zf:
        assert zf.namelist() == sorted(zf.namelist())
        assert all(n.startswith("site-offline/") for n in zf.namelist())


def test_zensical_report_features():
    page = (
        '<html><article><h2 id="问题">问题</h2><span class="arithmatex">x</span>'
        '<figure class="dl-figure" id="f">\n<svg></svg></figure><abbr title="t">CNN</abbr>'
        '<p>--8&lt;-- "x"</p></article></html>'
    )
    f = zensical_report.features(page)
    assert f["math"] == 1 and f["svg"] == 1 and f["abbr"] == 1 and f["snippet-left"] == 1
    assert zensical_report.heading_ids(page) == ["问题"]


def test_no_math_opens_an_html_tag():
    """`$<t$` is an HTML tag to Python-Markdown, which reads HTML before math: the rest of the
    block can turn into inline HTML, and the abbreviations then reach into the diagrams' SVG
    text (the labels vanish). Write `$< t$` or `$\\lt t$`."""
    tag = re.compile(r"<[A-Za-z/!?]")
    bad = []
    for path in sorted(DOCS.rglob("*.md")):
        in_block = in_fence = False
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.lstrip().startswith(("```", "~~~")):
                in_fence = not in_fence
            if in_fence:
                continue
            text = re.sub(r"`[^`]*`", "", line)
            if text.strip().startswith("$$"):
                in_block = not in_block if text.strip() == "$$" else in_block
                spans = [text]
            elif in_block:
                spans = [text]
            else:
                spans = re.findall(r"(?<![\\$])\$(?!\$)(.+?)(?<!\\)\$", text)
            if any(tag.search(s) for s in spans):
                bad.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()[:100]}")
    assert not bad, "\n".join(bad)
