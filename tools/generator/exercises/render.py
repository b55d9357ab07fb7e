"""Beside step 11 (exercises): the one place exercise records become strings.

The page section (Markdown with ``md_in_html``: each answer a closed ``<details>`` that the
search index leaves out, ``data-search-exclude``), Moodle XML (numerical questions with a
tolerance for 计算, essay questions with the answer as grader information for 代码 and 思考) and
the 教师资源 page (per paper: the PDF, every diagram SVG, table CSV/LaTeX, figure and quiz file,
from the generator's stamps, i.e. the files each group wrote).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tools.generator.catalog import ROOT
from tools.generator.exercises import Exercise, formula_tex, number_tex, snippet_text

SITE_QUIZ = "downloads/quiz/all-papers.xml"
CATEGORY = "深度学习论文学习"
KIND_CLASS = {"计算": "calc", "代码": "code", "思考": "think"}
KIND_HELP = {
    "计算": "手算一个数，答案由参考实现算出",
    "代码": "修改参考实现，观察效果",
    "思考": "答案见论文或本页",
}


# ── the page section ───────────────────────────────────────────────────────────────────────


def answer_markdown(ex: Exercise, snippets: bool = True) -> str:
    """The body of an answer block (Markdown).

    ``snippets``: include 代码 solutions as snippet sections (the page); the Moodle XML shows them
    itself (:func:`grader_html`).
    """
    parts = []
    if ex.computed is not None:
        c = ex.computed
        unit = f" {c.unit}" if c.unit else ""
        parts.append(f"**答案：{c.shown()}**{unit}")
        value = number_tex(int(c.value) if float(c.value).is_integer() else c.value)
        parts.append(f"$$\n{formula_tex(c.formula)} = {value}\n$$")
    parts.append(ex.answer.strip())
    if snippets:
        for ref in ex.solution:  # titled with the tested file it comes from
            parts.append(f'```python title="{ref.split(":")[0]}"\n--8<-- "{ref}"\n```')
        if ex.test:
            parts.append(f"（`{ex.test}` 检查这一点。）")
    if ex.cite:
        parts.append(f"出处：{ex.cite.strip()}")
    return "\n\n".join(parts)


def exercise_block(n: int, ex: Exercise) -> str:
    """One exercise: number, kind, title, question, and its answer closed."""
    kind = KIND_CLASS[ex.kind]
    head = (
        f'<p class="dl-exercise__head"><span class="dl-exercise__n">练习 {n}</span> '
        f'<span class="dl-kind dl-kind--{kind}" title="{KIND_HELP[ex.kind]}">{ex.kind}</span> '
        f'<span class="dl-exercise__title">{html.escape(ex.title)}</span></p>'
    )
    return (
        f'<div class="dl-exercise" id="{ex.id}" data-n="{n}" markdown>\n\n{head}\n\n'
        f"{ex.question.strip()}\n\n"
        '<details class="success dl-answer" data-search-exclude markdown>\n'
        "<summary>参考答案</summary>\n\n"
        f"{answer_markdown(ex)}\n\n</details>\n\n</div>\n"
    )


def page_section(slug: str, exercises: list[Exercise]) -> str:
    """The 练习 section of a paper page (included under ``## 练习``)."""
    kinds = "、".join(f"{k} {sum(e.kind == k for e in exercises)} 题" for k in KIND_CLASS)
    about = (
        f"共 {len(exercises)} 题（{kinds}），答案折叠在每题下方的“参考答案”里。"
        "计算题的答案由参考实现在生成网站时算出"
        f"（`tools/generator/exercises/{slug}.py`），手算公式与之核对；"
        f"代码题的参考解答是经过测试的文件（`reference_impl/exercises/{slug}.py`）。"
        f"教师可下载本页练习的 Moodle 题库 [{slug}.xml](../downloads/quiz/{slug}.xml)"
        '{ download="' + f'{slug}-quiz.xml" }}，全站题库和各篇的图、表、PDF 见'
        "[教师资源](../teachers/index.md)。"
    )
    blocks = "\n".join(exercise_block(n, ex) for n, ex in enumerate(exercises, 1))
    return f'<div class="dl-exercises" markdown>\n\n{about}\n\n{blocks}\n</div>\n'


# ── Moodle XML ─────────────────────────────────────────────────────────────────────────────

_LOCAL_LINK = re.compile(r"\[([^\]]+)\]\((?!https?:)[^)]*\)(\{[^}]*\})?")


def to_html(markdown_text: str) -> str:
    r"""Markdown → HTML for Moodle: math as ``\(…\)`` and ``\[…\]`` (Moodle's MathJax filter).

    Links into the site are kept as their text: a quiz lives outside the site.
    """
    import markdown

    text = _LOCAL_LINK.sub(r"\1", markdown_text)
    md = markdown.Markdown(
        extensions=["tables", "fenced_code", "pymdownx.arithmatex"],
        extension_configs={"pymdownx.arithmatex": {"generic": True}},
    )
    return md.convert(text)


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _text(tag: str, body: str, fmt: str = "html") -> str:
    return f'<{tag} format="{fmt}"><text>{_cdata(body)}</text></{tag}>'


def grader_html(ex: Exercise) -> str:
    """The answer of a 代码 or 思考 exercise for the teacher: text, solution code, source."""
    parts = [to_html(ex.answer)]
    for ref in ex.solution:
        code = html.escape(snippet_text(ref))
        parts.append(f"<p><code>{html.escape(ref)}</code></p><pre><code>{code}</code></pre>")
    if ex.test:
        parts.append(f"<p>测试：<code>{html.escape(ex.test)}</code></p>")
    if ex.cite:
        parts.append(to_html(f"出处：{ex.cite}"))
    return "\n".join(parts)


def moodle_question(paper: str, n: int, ex: Exercise) -> str:
    """One ``<question>`` of Moodle's XML format."""
    name = f"<name><text>{html.escape(f'{paper} 练习 {n}：{ex.title}')}</text></name>"
    common = [name, "<idnumber>" + ex.id + "</idnumber>"]
    question = ex.question
    if ex.computed is not None:
        c = ex.computed
        unit = f"（单位：{c.unit}）" if c.unit else ""
        question += f"\n\n请只填写数字{unit}。"
        value = int(c.value) if float(c.value).is_integer() else c.value
        feedback = to_html(answer_markdown(ex, snippets=False))
        return "\n".join(
            [
                '<question type="numerical">',
                *common,
                _text("questiontext", to_html(question)),
                _text("generalfeedback", feedback),
                "<defaultgrade>1</defaultgrade>",
                "<penalty>0.3333333</penalty>",
                "<hidden>0</hidden>",
                '<answer fraction="100" format="moodle_auto_format">',
                f"<text>{value}</text>",
                f"<tolerance>{c.tolerance:g}</tolerance>",
                _text("feedback", ""),
                "</answer>",
                "<showunits>3</showunits>",
                "</question>",
            ]
        )
    return "\n".join(
        [
            '<question type="essay">',
            *common,
            _text("questiontext", to_html(question)),
            _text("generalfeedback", ""),
            "<defaultgrade>1</defaultgrade>",
            "<penalty>0</penalty>",
            "<hidden>0</hidden>",
            "<responseformat>editor</responseformat>",
            "<responserequired>1</responserequired>",
            "<responsefieldlines>15</responsefieldlines>",
            "<attachments>0</attachments>",
            "<attachmentsrequired>0</attachmentsrequired>",
            _text("graderinfo", grader_html(ex)),
            _text("responsetemplate", ""),
            "</question>",
        ]
    )


def moodle_xml(papers: dict[str, list[Exercise]]) -> str:
    """A Moodle question bank (XML format): one category per paper, its exercises in order."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>', "<quiz>"]
    for paper, exercises in papers.items():
        out += [
            '<question type="category">',
            f"<category><text>$course$/top/{CATEGORY}/{html.escape(paper)}</text></category>",
            "</question>",
        ]
        out += [moodle_question(paper, n, ex) for n, ex in enumerate(exercises, 1)]
    out.append("</quiz>")
    return "\n".join(out) + "\n"


# ── the 教师资源 page ────────────────────────────────────────────────────────────────────────


def stamped_files(out: Path, group: str) -> list[str]:
    """The files a generator group wrote (its stamp's record), or none."""
    stamp = out / ".stamps" / f"{group}.json"
    try:
        return list(json.loads(stamp.read_text(encoding="utf-8")).get("files", []))
    except (OSError, ValueError):
        return []


def _links(paths: Iterable[str], label=lambda p: Path(p).name) -> str:
    return " · ".join(f"[{label(p)}](../{p}){{ download }}" for p in paths)


def teachers_page(catalog: Any, exercises: dict[str, list[Exercise]], out: Path) -> str:
    """Per paper: page, PDF, quiz, diagrams (SVG), tables (CSV, LaTeX), figures."""
    total = sum(len(e) for e in exercises.values())
    lines = [
        f"全站 {len(exercises)} 篇论文、{total} 道练习的 Moodle 题库："
        f"[all-papers.xml](../{SITE_QUIZ}){{ download }}"
        "（题库 → 导入 → Moodle XML 格式；每篇论文一个题目类别）。",
        "",
    ]
    for slug, paper in catalog.papers.items():
        if not (ROOT / "docs" / paper.page).is_file():
            continue
        lines += [f"## {paper.short_name}", ""]
        lines.append(f"- 笔记：[{paper.title_zh}](../{paper.page})")
        lines.append(
            f'- PDF：<a class="dl-pdf" href="../papers/{slug}/{slug}.pdf">{slug}.pdf</a>'
            "（由 `nox -s pdf` 打印）"
        )
        if slug in exercises:
            exs = exercises[slug]
            kinds = "、".join(f"{k} {sum(e.kind == k for e in exs)}" for k in KIND_CLASS)
            lines.append(
                f"- 练习：{len(exs)} 题（{kinds}）：[页面上的练习](../{paper.page}#练习) · "
                f"Moodle XML {_links([f'downloads/quiz/{slug}.xml'])}"
            )
        for model in catalog.models_of(slug):
            files = [
                f for f in stamped_files(out, f"model-{model.id}") if f.startswith("downloads/")
            ]
            svgs = sorted(
                (f for f in files if f.endswith(".svg")), key=lambda f: ("/" in _stem(f), f)
            )
            tables = [f for f in files if f.endswith((".csv", ".tex"))]
            if svgs or tables:
                lines.append(
                    f"- {model.name}：结构图 SVG {_links(svgs, _stem)}；参数表 {_links(tables)}"
                )
        figures = [
            f for f in stamped_files(out, f"figures-{slug}") if f.startswith("downloads/figures/")
        ]
        if figures:
            lines.append(f"- 插图 SVG：{_links(figures, _stem)}")
        lines.append("")
    return "\n".join(lines)


def _stem(path: str) -> str:
    """``downloads/resnet50/blocks/basic-identity.svg`` → ``blocks/basic-identity``."""
    parts = path.split("/")
    return "/".join(parts[2:]).removesuffix(".svg") if len(parts) > 2 else Path(path).stem
