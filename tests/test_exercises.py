"""The exercises framework (tools/generator/exercises/): records, checks, page, Moodle XML.

Each paper's own answers are pinned in ``tests/test_exercises_<slug>.py``; this file checks what
every paper shares: a wrong hand formula stops the build, the page section and the Moodle XML
show the same numbers, the XML imports (well-formed, every question named, with a text and an
answer), answers are closed and left out of search, solutions stay self-contained.
"""

from __future__ import annotations

import ast
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tools import generate
from tools.generator import GenerationError, cache
from tools.generator import exercises as ex
from tools.generator.catalog import load
from tools.generator.exercises import render

ROOT = Path(__file__).resolve().parent.parent
CATALOG = load()
SLUGS = ex.exercise_modules()
LOADED = {slug: ex.load(slug) for slug in SLUGS}


def _computed(**kw) -> ex.Exercise:
    fields = dict(id="x-one", kind="计算", title="t", question="q", answer="a")
    return ex.Exercise(**{**fields, **kw})


# ── records and checks ─────────────────────────────────────────────────────────────────────


def test_a_wrong_hand_formula_stops_the_build():
    ok = _computed(computed=ex.Computed(value=70400, formula="256*64 + 9*64*64 + 64*256 + 768"))
    assert ok.computed.shown() == "70,400"
    with pytest.raises(
        GenerationError, match=r"hand formula .* 69632, but the code computes 70400"
    ):
        _computed(computed=ex.Computed(value=70400, formula="256*64 + 9*64*64 + 64*256"))
    with pytest.raises(GenerationError, match="only numbers"):
        _computed(computed=ex.Computed(value=1, formula="__import__('os')"))


def test_tolerance_lets_a_rounded_formula_pass():
    c = ex.Computed(value=4.9152, formula="4.9", tolerance=0.05, decimals=1)
    assert ex.formula_problems(c) == [] and c.shown() == "4.9"
    assert ex.formula_problems(ex.Computed(value=4.9152, formula="4.9"))


@pytest.mark.parametrize(
    ("kind", "extra", "message"),
    [
        ("计算", {}, "needs `computed`"),
        ("代码", {}, "needs `solution`"),
        ("代码", {"solution": ("reference_impl/resnet.py:nope",)}, r"no '# --8<-- \[start:nope"),
        ("思考", {}, "needs `cite`"),
        ("作文", {}, "kind must be one of"),
    ],
)
def test_each_kind_needs_its_fields(kind, extra, message):
    with pytest.raises(GenerationError, match=message):
        _computed(kind=kind, **extra)


def test_a_page_needs_five_to_eight_with_two_computed_and_one_code():
    def renamed(e: ex.Exercise, new_id: str) -> ex.Exercise:
        return ex.Exercise.from_json({**e.to_json(), "id": new_id})

    calc = _computed(id="p-a", computed=ex.Computed(value=2, formula="1 + 1"))
    think = _computed(id="p-b", kind="思考", cite="§1")
    code = renamed(next(e for e in LOADED["resnet"] if e.kind == "代码"), "p-c")
    others = [renamed(think, f"p-t{i}") for i in range(3)]
    with pytest.raises(GenerationError, match="not 5–8"):
        ex.check_set("p", [calc, think])
    with pytest.raises(GenerationError, match="at least 2 计算 and 1 代码"):
        ex.check_set("p", [calc, think, *others])
    with pytest.raises(GenerationError, match="duplicate ids"):
        ex.check_set("p", [calc, calc, code, think, think])
    with pytest.raises(GenerationError, match="must start with 'p-'"):
        ex.check_set("p", [calc, renamed(calc, "q-a2"), code, think, *others])
    ex.check_set("p", [calc, renamed(calc, "p-a2"), code, think, *others])


@pytest.mark.parametrize(
    ("formula", "tex"),
    [
        ("256*64 + 9*64*64", r"256 \times 64 + 9 \times 64 \times 64"),
        ("10 - (4 - 1)", r"10 - \left(4 - 1\right)"),
        ("2/(3*4)", r"2 / \left(3 \times 4\right)"),
        ("(384 // 16)**2 + 1", r"\left(384 / 16\right)^{2} + 1"),
        ("12*1024**2", r"12 \times 1{,}024^{2}"),
        ("round(5.5)", r"\operatorname{round}\left(5.5\right)"),
    ],
)  # fmt: skip
def test_hand_formulas_render_as_latex(formula, tex):
    assert ex.formula_tex(formula) == tex


def test_records_survive_json():
    for exercises in LOADED.values():
        for e in exercises:
            assert ex.Exercise.from_json(json.loads(json.dumps(e.to_json()))) == e


# ── every page's exercises ─────────────────────────────────────────────────────────────────


def test_every_module_has_a_page_section_and_every_section_a_module():
    for paper in CATALOG.papers.values():
        page = ROOT / "docs" / paper.page
        if not page.is_file():
            continue
        text = page.read_text(encoding="utf-8")
        include = f'--8<-- "generated/papers/{paper.slug}/exercises.md"'
        has_section = re.search(rf"^## 练习\n\n{re.escape(include)}$", text, re.M) is not None
        assert has_section == (paper.slug in SLUGS), paper.page
        if has_section:  # before the references: the page's own last sections
            assert text.index("## 练习") < text.index("## 参考文献"), paper.page


@pytest.mark.parametrize("slug", SLUGS)
def test_computed_answers_on_the_page_equal_the_quiz(slug):
    exercises = LOADED[slug]
    page = render.page_section(slug, exercises)
    quiz = ET.fromstring(render.moodle_xml({slug: exercises}))
    numerical = {q.findtext("idnumber"): q for q in quiz if q.get("type") == "numerical"}
    assert set(numerical) == {e.id for e in exercises if e.kind == "计算"}
    for e in exercises:
        block = page[page.index(f'id="{e.id}"') :]
        block = block[: block.index("</details>")]
        assert '<details class="success dl-answer" data-search-exclude markdown>' in block
        if e.computed is None:
            continue
        answer = float(numerical[e.id].find("answer/text").text)
        assert answer == e.computed.value
        shown = f"{int(answer):,}" if answer.is_integer() else f"{answer:,.{e.computed.decimals}f}"
        assert f"**答案：{shown}**" in block


def _check_quiz(xml_text: str) -> list[ET.Element]:
    """Moodle's XML format: well-formed, every question named, with a text and an answer."""
    root = ET.fromstring(xml_text)
    assert root.tag == "quiz"
    questions = [q for q in root if q.get("type") != "category"]
    for q in questions:
        assert q.tag == "question" and q.get("type") in ("numerical", "essay")
        assert (q.findtext("name/text") or "").strip(), ET.tostring(q)[:80]
        assert (q.findtext("questiontext/text") or "").strip()
        assert q.find("questiontext").get("format") == "html"
        if q.get("type") == "numerical":
            float(q.findtext("answer/text"))
            assert q.find("answer").get("fraction") == "100"
            assert float(q.findtext("answer/tolerance")) >= 0
        else:
            assert (q.findtext("graderinfo/text") or "").strip()
    return questions


@pytest.mark.parametrize("slug", SLUGS)
def test_each_paper_quiz_imports(slug):
    questions = _check_quiz(render.moodle_xml({slug: LOADED[slug]}))
    assert len(questions) == len(LOADED[slug])
    code = [q for e, q in zip(LOADED[slug], questions, strict=True) if e.kind == "代码"]
    for q in code:  # the tested solution itself, as the teacher's reference answer
        assert "<pre><code>" in q.findtext("graderinfo/text")


def test_the_site_quiz_has_a_category_per_paper():
    quiz = {CATALOG.papers[s].short_name: LOADED[s] for s in SLUGS}
    root = ET.fromstring(render.moodle_xml(quiz))
    categories = [q.findtext("category/text") for q in root if q.get("type") == "category"]
    assert categories == [f"$course$/top/{render.CATEGORY}/{name}" for name in quiz]
    assert len(_check_quiz(render.moodle_xml(quiz))) == sum(len(v) for v in LOADED.values())


def test_quiz_math_is_for_mathjax_and_site_links_become_text():
    html = render.to_html("见[本页的图](#fig-x)和 $a^2$，[论文](https://arxiv.org/abs/1)")
    assert r"\(a^2\)" in html and "本页的图" in html and 'href="#fig-x"' not in html
    assert 'href="https://arxiv.org/abs/1"' in html


@pytest.mark.parametrize("slug", SLUGS)
def test_solutions_import_only_torch_and_their_paper(slug):
    path = ROOT / ex.SOLUTIONS / f"{slug}.py"
    allowed = {"torch", "torch.nn", f"reference_impl.{slug}", "__future__"}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            assert node.module in allowed, f"{path.name} imports {node.module}"
        elif isinstance(node, ast.Import):
            assert {a.name for a in node.names} <= allowed, f"{path.name} imports {node.names}"
    tests = ROOT / "tests" / f"test_exercises_{slug}.py"
    assert tests.is_file(), f"{tests.name}: each paper's answers and solutions are tested there"
    for e in LOADED[slug]:
        if e.test:
            file, name = e.test.split("::")
            assert f"def {name}(" in (ROOT / file).read_text(encoding="utf-8"), e.test


# ── the generator hook ─────────────────────────────────────────────────────────────────────


def test_the_group_writes_the_section_the_quiz_and_the_records(tmp_path):
    res = generate.build_group("exercises", "resnet")
    assert set(res["files"]) == {
        "papers/resnet/exercises.md",
        "downloads/quiz/resnet.xml",
        "exercises/resnet.json",
    }
    cache.emit(tmp_path, res["files"])
    (info, records), *_ = ex.read_records(tmp_path)
    assert info["slug"] == "resnet" and records == LOADED["resnet"]


def test_a_broken_exercises_module_is_one_line(monkeypatch):
    def broken(slug):
        raise GenerationError(
            "exercise 'resnet-x': the hand formula 1 = 1, but the code computes 2"
        )

    monkeypatch.setattr(generate, "exercise_artifacts", broken)
    res = generate.build_group("exercises", "resnet")
    assert res["error"].startswith("exercise 'resnet-x': the hand formula")
    monkeypatch.setattr(generate, "exercise_artifacts", lambda slug: 1 / 0)
    res = generate.build_group("exercises", "resnet")
    where = "exercises tools/generator/exercises/resnet.py"
    assert res["error"].startswith(f"{where}: ZeroDivisionError")


def test_the_key_covers_the_reference_module_and_the_solution(monkeypatch):
    key = ex.exercise_key("resnet", "v")
    for edited in ("reference_impl/resnet.py", "reference_impl/exercises/resnet.py"):
        real = cache.sources

        def sources(*paths, edited=edited, real=real):
            return [s + b"#" if s.startswith(edited.encode() + b"\0") else s for s in real(*paths)]

        monkeypatch.setattr(cache, "sources", sources)
        assert ex.exercise_key("resnet", "v") != key, edited
        monkeypatch.setattr(cache, "sources", real)
    assert ex.exercise_key("resnet", "v") == key
    assert ex.exercise_key("resnet", "w") != key


def test_the_teachers_page_lists_what_the_groups_wrote(tmp_path):
    stamps = tmp_path / ".stamps"
    stamps.mkdir()
    written = {
        "model-resnet50": ["downloads/resnet50/diagram.svg", "downloads/resnet50/params.csv",
                           "downloads/resnet50/params.tex", "models/resnet50/diagram.md"],
        "figures-resnet": ["downloads/figures/resnet-grad-norms.svg",
                           "figures/resnet-grad-norms.svg"],
    }  # fmt: skip
    for group, files in written.items():
        (stamps / f"{group}.json").write_text(json.dumps({"key": "k", "files": files}))
    page = render.teachers_page(CATALOG, {"resnet": LOADED["resnet"]}, tmp_path)
    section = page[page.index("## ResNet") :]
    section = section[: section.index("\n## ")]
    for rel in ["downloads/resnet50/diagram.svg", "downloads/resnet50/params.csv",
                "downloads/resnet50/params.tex", "downloads/figures/resnet-grad-norms.svg",
                "downloads/quiz/resnet.xml", "papers/resnet.md#练习"]:  # fmt: skip
        assert f"](../{rel})" in section, rel
    assert 'href="../papers/resnet/resnet.pdf"' in section
    assert "models/resnet50/diagram.md" not in section  # the page's own include, not a download
    assert f"](../{render.SITE_QUIZ})" in page


def test_offline_pdf_links_follow_the_pdfs():
    from tools.website.bundle import offline_pdf_links

    html = '<a class="dl-pdf" href="../papers/resnet/resnet.pdf">resnet.pdf</a>'
    assert offline_pdf_links(html) == html.replace("resnet/resnet.pdf", "resnet.pdf")
    for kept in ('<a href="resnet.pdf">', '<a href="https://a.org/x/x.pdf">', 'href="a/b.pdf"'):
        assert offline_pdf_links(kept) == kept


@pytest.mark.parametrize("slug", SLUGS)
def test_exercises_use_the_glossary_word(slug):
    """As tests/test_terms.py for the pages: prose uses the glossary's word, not a synonym."""
    from tools.generator import overview

    not_prose = re.compile(
        r"`[^`]*`|\$\$[^$]*\$\$|\$[^$]*\$|\]\([^)]*\)|“[^”]*”|（[A-Za-z][^）]*）"
    )
    problems = []
    for e in LOADED[slug]:
        text = not_prose.sub(" ", " ".join((e.title, e.question, e.answer, e.cite)))
        for term in overview.load_glossary().terms:
            for synonym in term.synonyms:
                if synonym.isascii():
                    found = re.search(rf"(?<![A-Za-z_\-]){re.escape(synonym)}(?![A-Za-z_\-])", text)
                else:
                    found = synonym in text
                if found:
                    problems.append(f"{e.id}: {synonym!r} instead of {term.zh!r}")
    assert not problems, "\n".join(problems)
