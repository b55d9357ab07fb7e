"""The built site and the site build: links, copy-and-run, bad input, determinism.

Markers (see pyproject.toml; a plain ``pytest`` runs only the unmarked, fast tests):

* ``site``: needs the built ``site/`` or builds small sites in temporary copies of the repository
  (the real tree is never modified) — run by ``nox -s browser``;
* ``slow``: two clean builds of the whole site compared — ``nox -s determinism``.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import tomllib
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tools.generator import sources
from tools.website import build as site_build
from tools.website import linkcheck

ROOT = Path(__file__).resolve().parent.parent
SITE = Path(os.environ.get("DL_SITE", ROOT / "site"))
ENV = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONHASHSEED": "0"}
ENV.pop("PYTHONPATH", None)
FULL_SOURCE = re.compile(r"\b(reference_impl/[\w/]+\.py)\b")

needs_site = pytest.mark.skipif(
    not (SITE / "index.html").is_file(), reason=f"{SITE} is not built (nox -s browser builds it)"
)


# ── link checker (fast, on a synthetic site) ─────────────────────────────────────────────


def test_linkcheck_finds_broken_links_and_anchors(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "index.html").write_text(
        '<a href="a/">ok</a> <a href="a/#x">ok</a> <a href="#top">ok</a> <p id="top"></p>'
        '<a href="a/#nope">bad anchor</a> <a href="b/">bad page</a>'
        '<svg><a xlink:href="#%E6%AE%8B">svg</a></svg><h2 id="残">h</h2>'
        '<a href="https://example.org/x">ext</a> <img src="data:image/png;base64,AA">'
    )
    (tmp_path / "a" / "index.html").write_text('<h1 id="x">x</h1><link href="../s.css">')
    (tmp_path / "s.css").write_text(
        "@font-face{src:url(f.woff2) format('woff2'),url(f.woff) format('woff')}"
        ".x{background:url(missing.png)}"
    )
    (tmp_path / "f.woff2").write_bytes(b"")
    res = linkcheck.check(tmp_path)
    assert sorted(res.broken) == [
        "index.html: <a> a/#nope → no id 'nope' on a/index.html",
        "index.html: <a> b/ → no such file (/b/)",
        "s.css: <css> missing.png → no such file (/missing.png)",
    ]
    assert dict(res.external) == {"https://example.org/x": {"index.html"}}
    assert "| <https://example.org/x> | `index.html` |" in linkcheck.report(res)


def test_search_index_is_utf8_without_full_source_code(tmp_path):
    docs = [
        {"location": "papers/a/", "title": "残差", "text": "<p>残差学习</p>"},
        {
            "location": "papers/a/#完整代码",
            "title": "完整代码",
            "text": "<p>展开</p><pre><code>x = 1\n</code></pre>",
        },
        {"location": "papers/a/#结构", "title": "结构", "text": "<pre><code>y = 2</code></pre>"},
        {
            "location": "papers/a-api/#m.f",
            "title": "f",
            "text": "<pre><code>f(x)</code></pre><p>F</p>",
        },
    ]
    (tmp_path / "search").mkdir()
    index = tmp_path / "search" / "search_index.json"
    index.write_text(json.dumps({"config": {"lang": ["en"]}, "docs": docs}))  # \\uXXXX, as Material
    (tmp_path / "search" / "search_index.js").write_text("var __index = {}")
    before, after = site_build.compact_search_index(tmp_path)
    assert after < before
    raw = index.read_text(encoding="utf-8")
    assert "残差学习" in raw and "\\u" not in raw
    data = json.loads(raw)
    assert [d["location"] for d in data["docs"]] == [d["location"] for d in docs]
    assert data["docs"][1]["text"] == "<p>展开</p>"  # the verbatim module: left out
    assert data["docs"][2]["text"] == docs[2]["text"]  # a snippet section: kept
    assert data["docs"][3]["text"] == "<p>F</p>"  # an API page's signature: its title says it
    js = (tmp_path / "search" / "search_index.js").read_text(encoding="utf-8")
    assert js == "var __index = " + raw


def test_search_index_drops_only_redundant_word_breaks(tmp_path):
    """A U+200B between two Han words is a token boundary and stays; one beside a separator goes."""
    zw = "\u200b"
    text = f"<p>{zw}残差{zw}学习{zw}{zw}是{zw} ResNet {zw}的{zw}核心{zw}，{zw}见{zw}图</p>"
    (tmp_path / "search").mkdir()
    index = tmp_path / "search" / "search_index.json"
    index.write_text(json.dumps({"docs": [{"location": "a/", "title": "t", "text": text}]}))
    site_build.compact_search_index(tmp_path)
    out = json.loads(index.read_text(encoding="utf-8"))["docs"][0]["text"]
    assert out == f"<p>残差{zw}学习{zw}是 ResNet 的{zw}核心，见{zw}图</p>"


# The search separator of mkdocs.yml, as Material writes it into the index's config.
SEPARATOR = re.search(r"^\s+separator: '(.+)'$", (ROOT / "mkdocs.yml").read_text(), re.M).group(1)
ZW, WJ = "\u200b", site_build.WORD_JOINER


def material_segment(query: str, words: set[str]) -> list[str]:
    """Material 9.8.1's ``segment`` (search worker): what a Chinese query is searched as."""
    cuts = [0] * len(query)
    for i in range(len(query)):
        for j in range(i + 1, len(query)):  # proper prefixes only, never the whole query
            if query[i:j] in words:
                cuts[i] = j - i
    segments: list[str] = []
    stack = [0]
    s = len(stack)
    while s > 0:
        s -= 1
        p = stack[s]
        for q in range(1, cuts[p]):
            if cuts[p + q] > cuts[p] - q:
                segments.append(query[p : p + q])
                stack[s:] = [p + q]
                s += 1
        q = p + cuts[p]
        if q < len(query) and cuts[q] and q < len(query) - 1:
            stack[s:] = [q]
            s += 1
        segments.append(query[p:q])
    return [query] if "" in segments else list(dict.fromkeys(segments))


def index_words(docs: list[dict]) -> set[str]:
    sep = site_build.js_separator(SEPARATOR)
    return {
        d[f][a:b].lower() for d in docs for f in ("title", "text")
        for a, b in site_build.token_spans(d[f], sep)
    }  # fmt: skip


def test_search_keeps_glossary_terms_whole():
    """步幅 is searched as 步幅 (not 步*), 标签平滑 as 标签平滑 (not 标签*): issue 11."""
    terms = ["步幅", "步长", "标签平滑"]
    # as Material's plugin writes it: jieba's words between U+200B
    text = ZW.join(["", "第", "t", "步", "，", "用", "标签", "平滑", "，", "步幅", "为", "2", ""])
    docs = [{"location": "a/", "title": f"{ZW}标签{ZW}与{ZW}步幅", "text": text}]
    words = index_words(docs)
    assert material_segment("步幅", words) == ["步"]  # the bug this works around
    assert material_segment("标签平滑", words) == ["标签"]
    data = {"config": {"separator": SEPARATOR}, "docs": docs}
    marked = site_build.keep_terms_whole(data, terms, site_build.jieba_cut(terms))
    assert marked == 2  # 步 and 标签: proper prefixes of a term that are indexed words
    words = index_words(data["docs"])
    assert material_segment("步幅", words) == ["步幅"]
    assert material_segment("标签平滑", words) == ["标签平滑"]
    assert material_segment("步长", words) == ["步长"]  # not a word of the index: kept whole
    assert {"步幅", "标签平滑", "步" + WJ, "标签" + WJ} <= words and not {"步", "标签"} & words
    # the reader sees the same text: only invisible characters changed
    for new in data["docs"]:
        assert new["text"].replace(WJ, "").replace(ZW, "") == text.replace(ZW, "")
    assert not re.search(site_build.js_separator(SEPARATOR), WJ)  # the joiner stays in the word


def test_search_terms_come_from_the_glossary():
    terms = site_build.search_terms()
    assert {"步幅", "步长", "梯度消失", "梯度爆炸", "模式坍塌", "图像块"} <= set(terms)
    assert all(re.fullmatch(r"[\u3400-\u9fff]+", t) for t in terms)


def test_compact_search_index_keeps_terms_whole_in_both_copies(tmp_path):
    (tmp_path / "search").mkdir()
    index = tmp_path / "search" / "search_index.json"
    text = ZW.join(["", "每", "一步", "的", "步", "幅", ""])  # jieba without the glossary
    doc = {"location": "a/", "title": "t", "text": text}
    data = {"config": {"separator": SEPARATOR}, "docs": [doc]}
    index.write_text(json.dumps(data))
    (tmp_path / "search" / "search_index.js").write_text("var __index = {}")
    site_build.compact_search_index(tmp_path)
    raw = index.read_text(encoding="utf-8")
    words = index_words(json.loads(raw)["docs"])
    assert "步幅" in words and "步" not in words
    assert (tmp_path / "search" / "search_index.js").read_text(encoding="utf-8").endswith(raw)


def test_compact_html_unwraps_only_uncoloured_tokens_in_code_blocks(tmp_path):
    code = (
        '<pre><span></span><code><span class="k">def</span><span class="w"> </span>'
        '<span class="nf">f</span><span class="p">(</span><span class="n">x</span>'
        '<span class="p">):</span> <span class="n">y</span></code></pre>'
    )
    prose = '<p><span class="n">kept outside code</span></p>'
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "index.html").write_text(prose + code, encoding="utf-8")
    saved = site_build.compact_html(tmp_path)
    out = (tmp_path / "a" / "index.html").read_text(encoding="utf-8")
    assert out == prose + (
        '<pre><span></span><code><span class="k">def</span> <span class="nf">f</span>'
        '<span class="p">(</span>x<span class="p">):</span> y</code></pre>'
    )
    assert saved == len(prose + code) - len(out)
    assert re.sub(r"<[^>]+>", "", out) == re.sub(r"<[^>]+>", "", prose + code)  # same text


def test_collapse_gaps_drops_indentation_between_tags_only():
    """Jinja's indentation goes; text, single spaces, no-break spaces and <pre> stay (issue 25)."""
    html = (
        "<nav>\n  <ul>\n    <li><a>首页</a></li>\n  </ul>\n</nav>"
        "<p><b>a</b> <i>b</i>\u00a0\u00a0<i>c</i> <code><span>d</span>  <span>e</span></code></p>"
        "<pre><code>x\n\n    <span>y</span>  </code></pre><script>if (a)  {\n  b }</script>"
    )
    out = site_build.collapse_gaps(html)
    assert out.startswith("<nav>\n<ul>\n<li><a>首页</a></li>\n</ul>\n</nav>")
    assert (
        "<b>a</b> <i>b</i>\u00a0\u00a0<i>c</i> <code><span>d</span>  <span>e</span></code>" in out
    )
    assert out.endswith(
        "<pre><code>x\n\n    <span>y</span>  </code></pre><script>if (a)  {\n  b }</script>"
    )
    assert re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", out)) == re.sub(
        r"\s+", " ", re.sub(r"<[^>]+>", " ", html)
    )


def test_compact_html_joins_runs_of_punctuation_and_operators(tmp_path):
    """``.p`` and ``.o`` share one colour in both of Material's palettes: a run is one span."""
    code = (
        '<pre><code><span class="p">)</span> <span class="o">-&gt;</span> '
        '<span class="nb">int</span><span class="p">:</span><span class="o">=</span>'
        '<span class="s2">"a"</span> <span class="ow">in</span> '
        '<span class="p">[</span></code></pre>'
    )
    (tmp_path / "index.html").write_text(code, encoding="utf-8")
    site_build.compact_html(tmp_path)
    out = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert out == (
        '<pre><code><span class="p">) -&gt;</span> <span class="nb">int</span>'
        '<span class="p">:=</span><span class="s2">"a"</span> <span class="ow">in</span> '
        '<span class="p">[</span></code></pre>'
    )


def test_offline_bundle_rewrites_directory_links_and_is_cached_by_input_hash(tmp_path):
    from tools.website import bundle as offline_bundle

    site = tmp_path / "site"
    (site / "papers").mkdir(parents=True)
    (site / "papers" / "resnet.html").write_text(
        '<svg><a xlink:href="../resnet-api/#reference_impl.resnet.Bottleneck">B</a></svg>'
        '<a href="../gone/#x">stale</a><a href="https://arxiv.org/abs/1/">ext</a>'
    )
    (site / "papers" / "resnet-api.html").write_text('<h2 id="x">x</h2>')
    (site / "index.html").write_text('<a href="papers/resnet-api/">api</a>')
    assert offline_bundle.undirectory_links(site) == 2
    page = (site / "papers" / "resnet.html").read_text()
    assert 'xlink:href="resnet-api.html#reference_impl.resnet.Bottleneck"' in page
    assert 'href="../gone/#x"' in page and "https://arxiv.org/abs/1/" in page
    assert 'href="papers/resnet-api.html"' in (site / "index.html").read_text()

    repo = tmp_path / "repo"
    (repo / "docs").mkdir(parents=True)
    (repo / "generated" / ".stamps").mkdir(parents=True)
    (repo / "docs" / "index.md").write_text("# a\n")
    key = offline_bundle.input_key(repo)
    (repo / "generated" / "timings.json").write_text("[1]")
    (repo / "generated" / ".stamps" / "m.json").write_text("{}")
    assert offline_bundle.input_key(repo) == key  # bookkeeping does not change the site
    (repo / "docs" / "index.md").write_text("# b\n")
    assert offline_bundle.input_key(repo) != key
    # an unchanged key skips the build (no mkdocs run at all: the repository has no config)
    out = tmp_path / "dist" / "b.zip"
    out.parent.mkdir()
    out.write_bytes(b"zip")
    offline_bundle.key_file(out).write_text(offline_bundle.input_key(repo) + "\n")
    assert offline_bundle.build(out, repo) == 0 and out.read_bytes() == b"zip"
    (repo / "docs" / "index.md").write_text("# c\n")
    assert offline_bundle.build(out, repo) != 0  # changed: rebuilt, and here the build fails
    assert out.read_bytes() == b"zip"


def test_site_build_condenses_the_mkdocs_log(tmp_path):
    (tmp_path / "docs" / "papers").mkdir(parents=True)
    (tmp_path / "docs" / "papers" / "x.md").write_text('```python\n--8<-- "ref/x.py:nope"\n```\n')
    log = textwrap.dedent(
        """\
        INFO    -  Cleaning site directory
        WARNING -  The following pages exist in the docs directory, but are not in "nav":
          - papers/a.md
          - papers/b.md
        ERROR   -  Error reading page 'papers/x.md': Snippet section 'nope' could not be located
        Traceback (most recent call last):
        pymdownx.snippets.SnippetMissingError: Snippet section 'nope' could not be located
        """
    )
    found = site_build.problems(log, tmp_path)
    assert found[0].endswith('"nav": papers/a.md, papers/b.md')
    assert found[1].startswith("docs/papers/x.md:2 includes section 'nope' of ref/x.py")
    assert len(found) == 2


# ── full-source blocks ────────────────────────────────────────────────────────────────────


class _FullSources(HTMLParser):
    """The code blocks a page presents as a complete file: a <details> whose summary names
    ``reference_impl/<file>.py`` and which holds one code block."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[tuple[str, str]] = []
        self._details: list[dict] = []
        self._in_summary = False
        self._in_code = 0
        self._pre = False

    def handle_starttag(self, tag, attrs):
        if tag == "details":
            self._details.append({"summary": "", "codes": []})
        elif tag == "summary" and self._details:
            self._in_summary = True
        elif tag == "code" and self._details and self._pre:
            self._in_code += 1
            if self._in_code == 1:
                self._details[-1]["codes"].append([])
        if tag == "pre":
            self._pre = True

    def handle_endtag(self, tag):
        if tag == "summary":
            self._in_summary = False
        elif tag == "code" and self._in_code:
            self._in_code -= 1
        elif tag == "pre":
            self._pre = False
        elif tag == "details" and self._details:
            d = self._details.pop()
            m = FULL_SOURCE.search(d["summary"])
            if m and len(d["codes"]) == 1:
                self.blocks.append((m.group(1), "".join(d["codes"][0])))

    def handle_data(self, data):
        if self._in_summary:
            self._details[-1]["summary"] += data
        elif self._in_code:
            self._details[-1]["codes"][-1].append(data)


def full_sources(html_file: Path) -> list[tuple[str, str]]:
    """``[(module path, code text)]`` of the full-source blocks of one built page."""
    p = _FullSources()
    p.feed(html_file.read_text(encoding="utf-8"))
    return p.blocks


def paper_pages() -> list[Path]:
    """The notes (not their API pages, ``papers/<slug>-api/``)."""
    if not (SITE / "papers").is_dir():
        return []
    pages = sorted((SITE / "papers").glob("*/index.html"))
    return [p for p in pages if not p.parent.name.endswith("-api")]


@pytest.mark.site
def test_escaped_copy_is_included_verbatim(tmp_path):
    """tools/generator/sources.py: a whole-file include of the escaped copy is the module, byte
    for byte."""
    import markdown

    for module in sorted((ROOT / "reference_impl").glob("*.py")):
        text = module.read_text(encoding="utf-8")
        (tmp_path / "m.py").write_text(sources.escape_snippets(text), encoding="utf-8")
        md = markdown.Markdown(
            extensions=["pymdownx.snippets"],
            extension_configs={"pymdownx.snippets": {"base_path": [str(tmp_path)]}},
        )
        lines = md.preprocessors["snippet"].run(['--8<-- "m.py"'])
        assert lines == text.split("\n"), module.name
    tricky = '# --8<-- [start:x]\n  ;--8<-- "a.md"\n--8<--\nx = "--8<--"\n'
    (tmp_path / "t.py").write_text(sources.escape_snippets(tricky), encoding="utf-8")
    md = markdown.Markdown(
        extensions=["pymdownx.snippets"],
        extension_configs={"pymdownx.snippets": {"base_path": [str(tmp_path)]}},
    )
    assert md.preprocessors["snippet"].run(['--8<-- "t.py"']) == tricky.split("\n")


@pytest.mark.site
@needs_site
def test_built_index_searches_every_glossary_term_whole():
    """In site/: each glossary term found on the site is a word (or starts one), no proper prefix
    of it is a word, so Material searches it whole (issue 11)."""
    docs = json.loads((SITE / "search" / "search_index.json").read_text(encoding="utf-8"))["docs"]
    words = index_words(docs)
    plain = "".join(d["title"] + d["text"] for d in docs).replace(ZW, "").replace(WJ, "")
    found = [t for t in site_build.search_terms() if t in plain]
    assert len(found) > 100
    for term in found:
        assert material_segment(term, words) == [term], term
        assert any(w.startswith(term) for w in words), f"{term}: cut into pieces"


@pytest.mark.site
@needs_site
def test_internal_links_and_anchors_resolve():
    res = linkcheck.check(SITE)
    assert res.pages >= 2 and res.internal > 0
    assert not res.broken, f"{len(res.broken)} broken:\n" + "\n".join(res.broken[:50])


@pytest.mark.site
@needs_site
def test_every_paper_page_shows_its_whole_module():
    missing = [p.parent.name for p in paper_pages() if not full_sources(p)]
    assert not missing, f"pages without a full-source (完整代码) block: {missing}"


@pytest.mark.site
@needs_site
def test_full_source_blocks_are_the_module_files():
    """The HTML of each "完整代码" block is the module file (the browser test checks the copy
    button on top of this)."""
    differ = []
    for page in paper_pages():
        for module, code in full_sources(page):
            if code.rstrip() != (ROOT / module).read_text(encoding="utf-8").rstrip():
                differ.append(f"papers/{page.parent.name}/: {module}")
    assert not differ, "full-source blocks that differ from the file (stale site?): " + str(differ)


def _torch_pin() -> str:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    return next(d for d in deps if d.startswith("torch=="))


@pytest.fixture(scope="session")
def torch_only_python(tmp_path_factory) -> Path:
    """A virtualenv with only torch (the project's pin), created once and kept under .nox/."""
    venv = Path(os.environ.get("DL_COPY_RUN_VENV", ROOT / ".nox" / "copy-run-torch-only"))
    pin = _torch_pin()
    marker = venv / "torch-pin.txt"
    python = venv / "bin" / "python"
    if not (marker.is_file() and marker.read_text() == pin and python.exists()):
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", pin],
            check=True,
            env={**ENV, "PIP_NO_INPUT": "1"},
        )
        marker.write_text(pin)
    return python


@pytest.mark.site
@needs_site
def test_full_source_blocks_run_with_only_torch(torch_only_python, tmp_path):
    """What a reader copies from a page runs: each full-source block, alone, with only torch."""
    blocks = []
    for page in paper_pages():
        for module, code in full_sources(page):
            path = tmp_path / page.parent.name / Path(module).name
            path.parent.mkdir(exist_ok=True)
            path.write_text(code, encoding="utf-8")
            blocks.append((page.parent.name, path))
    if not blocks:
        pytest.skip("no full-source block on the site yet")
    env = {**ENV, "OMP_NUM_THREADS": "1"}

    def run(item):
        page, path = item
        t0 = time.perf_counter()
        proc = subprocess.run(
            [str(torch_only_python), path.name],
            cwd=path.parent,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        return page, path.name, proc, time.perf_counter() - t0

    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(run, blocks))
    failures = [
        f"papers/{page}/ {name}: exit {proc.returncode}\n{proc.stderr.strip()[-800:]}"
        for page, name, proc, _ in results
        if proc.returncode != 0
    ]
    timing = ", ".join(f"{name} {s:.1f}s" for _, name, _, s in results)
    print(f"ran {len(results)} full-source blocks with only torch: {timing}")
    assert not failures, "\n\n".join(failures)


# ── bad input keeps the last good site (small sites in temporary copies) ─────────────────

TOY = '''\
"""Toy {name}: two linear layers, for the site-build tests."""

import time

import torch
from torch import nn


# --8<-- [start:model]
class Toy{name}(nn.Module):
    """Two linear layers."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(8, 8)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 8) → (B, 2)."""
        return self.fc2(self.act(self.fc1(x)))


# --8<-- [end:model]


class Broken(nn.Module):
    """A model whose forward raises."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Raise."""
        raise ValueError("boom")


def toy{lower}(delay: float = 0.0) -> Toy{name}:
    """Build the toy (after ``delay`` seconds, to interrupt a run on purpose)."""
    time.sleep(delay)
    return Toy{name}()


def broken() -> Broken:
    """Build the broken model."""
    return Broken()
'''

PAGE = """\
# Toy {name}

--8<-- "generated/papers/toy{lower}/card.md"

```python
--8<-- "reference_impl/toy{lower}.py:model"
```

--8<-- "generated/models/toy{lower}/diagram.md"

--8<-- "generated/models/toy{lower}/params.md"
"""


def _paper(lower: str) -> str:
    return textwrap.dedent(
        f"""\
        [papers.toy{lower}]
        title = "Toy {lower.upper()}"
        title_zh = "玩具 {lower.upper()}"
        authors = ["A. Author"]
        venue = "Test"
        year = 2024
        arxiv = "0000.0000{1 if lower == "a" else 2}"
        module = "reference_impl/toy{lower}.py"
        page = "papers/toy{lower}.md"
        """
    )


def _model(model_id: str, paper: str, constructor: str, params: int | str = 90, extra="") -> str:
    params_toml = f'"{params}"' if isinstance(params, str) else str(params)
    return (
        f'\n[[models]]\nid = "{model_id}"\npaper = "{paper}"\nname = "{model_id}"\n'
        f'constructor = "{constructor}"\ninputs = [[2, 8]]\nparams = {params_toml}\n{extra}'
    )


CATALOG = _paper("a") + "\n" + _paper("b") + _model("toya", "toya", "toya")
CATALOG += _model("toyb", "toyb", "toyb")


def make_mini_repo(dest: Path) -> Path:
    """A repository with the real tools/, mkdocs.yml (its nav replaced) and site assets, and two
    toy models and pages instead of the papers."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "tools", dest / "tools", ignore=ignore)
    for fig in (dest / "tools" / "generator" / "figures").glob("*.py"):
        if fig.name not in ("__init__.py", "style.py"):
            fig.unlink()
    for module in (dest / "tools" / "generator" / "exercises").glob("*.py"):  # the papers' 练习
        if module.stem not in ("__init__", "render"):
            module.unlink()
    (dest / "tools" / "catalog.toml").write_text(CATALOG, encoding="utf-8")
    for data in ("glossary.toml", "reading_paths.toml"):  # the lead's reader pages: left empty
        if (dest / "tools" / data).is_file():
            (dest / "tools" / data).write_text("", encoding="utf-8")
    (dest / "reference_impl").mkdir()
    (dest / "reference_impl" / "__init__.py").write_text("")
    (dest / "docs" / "papers").mkdir(parents=True)
    for d in ("assets/katex", "stylesheets", "javascripts"):
        shutil.copytree(ROOT / "docs" / d, dest / "docs" / d)
    # the downloads under diagrams and tables (tools/generator/downloads.py): a link into generated/
    (dest / "docs" / "downloads").symlink_to(os.readlink(ROOT / "docs" / "downloads"))
    for name in ("A", "B"):
        lower = name.lower()
        (dest / "reference_impl" / f"toy{lower}.py").write_text(TOY.format(name=name, lower=lower))
        (dest / "docs" / "papers" / f"toy{lower}.md").write_text(
            PAGE.format(name=name, lower=lower)
        )
    (dest / "docs" / "index.md").write_text('# Toys\n\n--8<-- "generated/papers/index.md"\n')
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    config = re.sub(r"(?m)^nav:\n(?:[ \t]+.*\n|[ \t]*\n)*", "", config)
    config += "\nnav:\n  - index.md\n  - papers/toya.md\n  - papers/toyb.md\n"
    (dest / "mkdocs.yml").write_text(config, encoding="utf-8")
    return dest


def run_site_build(repo: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tools.website.build", *args],
        cwd=repo,
        env=env or ENV,
        capture_output=True,
        text=True,
        timeout=600,
    )


def snapshot(folder: Path) -> dict[str, str]:
    """{relative path: sha256} of every file under ``folder``."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def error_lines(proc: subprocess.CompletedProcess) -> list[str]:
    return [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.startswith("error:")]


@pytest.fixture(scope="module")
def good_repo(tmp_path_factory) -> Path:
    """A mini repository with a good build in site/ (built once for this module)."""
    repo = make_mini_repo(tmp_path_factory.mktemp("mini") / "repo")
    proc = run_site_build(repo, "--generate")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (repo / "site" / "papers" / "toyb" / "index.html").is_file()
    return repo


@pytest.fixture
def repo(good_repo, tmp_path) -> Path:
    """A fresh copy of the good mini repository for one test."""
    return Path(shutil.copytree(good_repo, tmp_path / "repo", symlinks=True))


def _append_model(repo: Path, text: str) -> None:
    with (repo / "tools" / "catalog.toml").open("a", encoding="utf-8") as f:
        f.write(text)


def _assert_kept(repo: Path, site: dict, generated: dict, proc) -> None:
    assert proc.returncode != 0
    assert snapshot(repo / "site") == site, "site/ changed"
    now = snapshot(repo / "generated")
    for rel, digest in generated.items():
        if rel.startswith(("models/", "figures/")):
            assert now.get(rel) == digest, f"generated/{rel} changed"
    assert not list(repo.glob(".site-tmp*")), "a temporary site folder was left behind"


BAD_INPUTS = {
    "forward-raises": (
        lambda repo: _append_model(repo, _model("bad", "toyb", "broken", 18)),
        [r"model 'bad'", r"forward .* failed: ValueError: boom"],
    ),
    "unknown-constructor": (
        lambda repo: _append_model(repo, _model("bad", "toyb", "nope")),
        [r"model 'bad'", r"unknown constructor 'nope' in reference_impl/toyb\.py"],
    ),
    "malformed-catalog-entry": (
        lambda repo: _append_model(repo, _model("bad", "toyb", "toyb", "many")),
        [r"tools/catalog\.toml model 'bad'", r"field 'params' has the wrong type"],
    ),
    "invalid-toml": (
        lambda repo: _append_model(repo, "\n[[models]\nid = 'bad'\n"),
        [r"tools/catalog\.toml", r"not valid TOML"],
    ),
    "missing-snippet-section": (
        lambda repo: (repo / "docs" / "papers" / "toya.md").write_text(
            '# Toy A\n\n```python\n--8<-- "reference_impl/toya.py:nope"\n```\n'
        ),
        [r"docs/papers/toya\.md:4", r"section 'nope' of reference_impl/toya\.py"],
    ),
}


@pytest.mark.site
@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_keeps_the_last_good_site(repo, case):
    site, generated = snapshot(repo / "site"), snapshot(repo / "generated")
    break_it, patterns = BAD_INPUTS[case]
    break_it(repo)
    proc = run_site_build(repo, "--generate")
    errors = error_lines(proc)
    assert len(errors) == 1, f"want one error line, got:\n{proc.stdout}{proc.stderr}"
    print(errors[0])
    for pattern in patterns:
        assert re.search(pattern, errors[0]), errors[0]
    _assert_kept(repo, site, generated, proc)


@pytest.mark.site
def test_missing_dot_keeps_the_last_good_site(repo, tmp_path):
    site, generated = snapshot(repo / "site"), snapshot(repo / "generated")
    (repo / "reference_impl" / "toya.py").write_text(
        (repo / "reference_impl" / "toya.py").read_text() + "# edited\n"
    )
    empty = tmp_path / "no-dot"
    empty.mkdir()
    proc = run_site_build(repo, "--generate", env={**ENV, "PATH": str(empty)})
    errors = error_lines(proc)
    assert len(errors) == 1 and "`dot` program was not found" in errors[0], proc.stderr
    _assert_kept(repo, site, generated, proc)


@pytest.mark.site
def test_interrupted_generation_leaves_no_half_written_file(repo):
    """Kill the generator half-way (after toya, while toyb is being built); rerun recovers."""
    site = snapshot(repo / "site")
    before = snapshot(repo / "generated")
    for name in ("toya", "toyb"):
        path = repo / "reference_impl" / f"{name}.py"
        path.write_text(path.read_text() + "# edited\n")
    catalog = repo / "tools" / "catalog.toml"
    catalog.write_text(
        catalog.read_text().replace(
            'constructor = "toyb"\n', 'constructor = "toyb"\nkwargs = {delay = 30.0}\n'
        )
    )
    stamp = repo / "generated" / ".stamps" / "model-toya.json"
    old_stamp = stamp.read_text()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tools.website.build", "--generate"],
        cwd=repo,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while stamp.read_text() == old_stamp:  # toya rebuilt and stamped: toyb is sleeping
            assert time.monotonic() < deadline and proc.poll() is None, "generator did not start"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    after = snapshot(repo / "generated")
    tmp_files = [rel for rel in after if rel.endswith(".tmp")]
    assert snapshot(repo / "site") == site, "site/ changed"
    for rel in after:
        if rel.startswith("models/toyb/"):
            assert after[rel] == before[rel], f"{rel} was touched before its model finished"
    # every visible artifact is complete: it is either the old file or the new one, never a part
    for rel in after:
        if rel.startswith("models/toya/") and rel.endswith(".md"):
            text = (repo / "generated" / rel).read_text()
            assert text.endswith("\n") and text.count("<figure") == text.count("</figure>"), rel

    catalog.write_text(catalog.read_text().replace("kwargs = {delay = 30.0}\n", ""))
    proc = run_site_build(repo, "--generate")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    final = snapshot(repo / "generated")
    leftover = [rel for rel in final if rel.endswith(".tmp") and rel not in tmp_files]
    assert not leftover, f"the recovery run left temporary files: {leftover}"
    assert "site built" in proc.stdout, proc.stdout
    timings = json.loads((repo / "generated" / "timings.json").read_text())
    assert {e["group"]: e["status"] for e in timings}["model-toyb"] == "built"


@pytest.mark.site
def test_if_stale_reuses_a_fresh_site_and_rebuilds_a_stale_one(repo):
    proc = run_site_build(repo, "--if-stale")
    assert proc.returncode == 0 and "reused" in proc.stdout, proc.stdout + proc.stderr
    page = repo / "docs" / "papers" / "toya.md"
    time.sleep(0.05)
    page.write_text(page.read_text() + "\n新的一段。\n")
    proc = run_site_build(repo, "--if-stale")
    assert proc.returncode == 0 and "site built" in proc.stdout, proc.stdout + proc.stderr
    assert "新的一段" in (repo / "site" / "papers" / "toya" / "index.html").read_text()


# ── determinism: two clean builds ────────────────────────────────────────────────────────

# Fields that legitimately differ between two builds (documented in the README):
# - sitemap.xml.gz: gzip stores its creation time; the XML inside is compared instead;
# - sitemap.xml <lastmod>: the build date (equal unless the builds straddle midnight);
# - generated/timings.json: how long each step took.
VOLATILE = {"generated/timings.json"}


def _copy_sources(dest: Path) -> None:
    from tools.reports.bench import copy_repo  # everything but outputs, virtualenvs and caches

    copy_repo(dest, ROOT)


def _normalise(rel: str, data: bytes, repo: Path) -> bytes:
    if rel == "site/sitemap.xml.gz":
        import gzip

        data = gzip.decompress(data)
    if rel.startswith("site/sitemap.xml"):
        data = re.sub(rb"<lastmod>[^<]*</lastmod>", b"<lastmod/>", data)
    return data.replace(str(repo).encode(), b"<repo>")


@pytest.mark.slow
def test_two_clean_builds_are_identical(tmp_path):
    repos = [tmp_path / "a", tmp_path / "b"]
    procs = []
    t0 = time.perf_counter()
    for repo in repos:
        _copy_sources(repo)
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "tools.website.build", "--generate"],
                cwd=repo,
                env={**ENV, "OMP_NUM_THREADS": "1"},
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    outs = [p.communicate(timeout=3600)[0] for p in procs]
    print(f"two clean builds (in parallel) took {time.perf_counter() - t0:.0f} s")
    for p, out in zip(procs, outs, strict=True):
        assert p.returncode == 0, out[-3000:]
    snaps = []
    for repo in repos:
        snap = {}
        for folder in ("generated", "site"):
            for p in sorted((repo / folder).rglob("*")):
                rel = p.relative_to(repo).as_posix()
                if p.is_file() and rel not in VOLATILE:
                    snap[rel] = _normalise(rel, p.read_bytes(), repo)
        snaps.append(snap)
    a, b = snaps
    assert sorted(a) == sorted(b), set(a) ^ set(b)
    differ = [rel for rel in a if a[rel] != b[rel]]
    assert not differ, f"{len(differ)} files differ between two clean builds: {differ[:20]}"
    located = [rel for rel in a if b"<repo>" in a[rel]]
    print(f"{len(a)} files identical; files naming the build folder (normalised): {located}")
