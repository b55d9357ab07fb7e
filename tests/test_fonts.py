"""The fonts that measure labels (tools/generator/fonts.py, issue 10 rule 6).

Same fonts → same cache key; another font → another key; no Chinese font → one error line naming
the package; a stale matplotlib font list is repaired quietly; no figure has a missing glyph.
"""

from __future__ import annotations

import copy
import io
import logging
import re
import shutil
from pathlib import Path

import pytest

from tools import generate
from tools.generator import cache, fonts
from tools.generator import figures as gen_figures
from tools.generator.catalog import load

DEJAVU = fonts.findfont(fonts.LATIN_FAMILY)  # ships with matplotlib: always there
CJK = fonts.findfont(fonts.CJK_FAMILY)
needs_cjk = pytest.mark.skipif(
    CJK is None, reason=f"{fonts.CJK_FAMILY} is not installed ({fonts.PACKAGE})"
)
HAN = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")


@pytest.fixture(autouse=True)
def _fresh_resolution():
    fonts.figure_families.cache_clear()
    yield
    fonts.figure_families.cache_clear()


def _font_file(tmp_path: Path, folder: str, data: bytes, name: str = "Font.ttc") -> str:
    path = tmp_path / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return str(path)


# ── cache key ────────────────────────────────────────────────────────────────────────────────


def test_diagram_font_is_the_one_resolved():
    from tools.generator import diagram

    assert diagram.FONT == fonts.CJK_FAMILY


def test_cache_key_follows_the_resolved_font(monkeypatch, tmp_path):
    """Another file (or another version of it) for the same family → another key for every
    diagram and figure group; the same file content in another folder → the same key."""
    a = _font_file(tmp_path, "usr", b"font version 1")
    a_elsewhere = _font_file(tmp_path, "local", b"font version 1")
    b = _font_file(tmp_path, "new", b"font version 2")

    def with_fonts(diagram_path: str, figure_path: str) -> tuple[str, str]:
        found = fonts.Fonts(
            (fonts.Font(fonts.CJK_FAMILY, diagram_path, 2),),
            (fonts.Font(fonts.CJK_FAMILY, figure_path, 2), DEJAVU),
        )
        monkeypatch.setattr(fonts, "resolve", lambda: found)
        vers = cache.versions()  # no argument: asks the (patched) resolver
        model = load().models[0]
        return cache.model_key(model, vers), cache.figure_key("rnn", vers)

    base = with_fonts(a, a)
    assert with_fonts(a_elsewhere, a_elsewhere) == base
    changed_diagrams = with_fonts(b, a)
    changed_figures = with_fonts(a, b)
    assert changed_diagrams[0] != base[0] and changed_diagrams[1] != base[1]
    assert changed_figures[0] != base[0] and changed_figures[1] != base[1]


def test_cache_key_names_file_and_face(tmp_path):
    path = _font_file(tmp_path, "x", b"same bytes")
    one = fonts.Fonts((fonts.Font(fonts.CJK_FAMILY, path, 2),), ())
    other_face = fonts.Fonts((fonts.Font(fonts.CJK_FAMILY, path, 0),), ())
    assert fonts.cache_key(one) != fonts.cache_key(other_face)
    assert "NotoSansCJK" not in fonts.cache_key(one)  # only what was resolved, nothing assumed


@needs_cjk
def test_log_line_names_the_fonts():
    found = fonts.resolve()
    line = fonts.describe(found)
    assert "\n" not in line and line.startswith("fonts: diagrams ")
    assert fonts.CJK_FAMILY in line and Path(CJK.path).name in line


# ── no Chinese font ─────────────────────────────────────────────────────────────────────────


def _no_cjk_anywhere(monkeypatch):
    """This machine as if fonts-noto-cjk were not installed: fontconfig and matplotlib fall back
    to DejaVu Sans, which has no Chinese glyphs."""
    dejavu = fonts.Font("DejaVu Sans", DEJAVU.path, 0)
    monkeypatch.setattr(fonts, "fc_match", lambda pattern: dejavu)
    real = fonts.findfont
    monkeypatch.setattr(fonts, "findfont", lambda family: None if "CJK" in family else real(family))


def test_missing_cjk_font_is_one_error_line(monkeypatch, tmp_path, capsys):
    _no_cjk_anywhere(monkeypatch)
    with pytest.raises(fonts.FontError):
        fonts.resolve()
    assert generate.run({"no-such-id"}, force=False, out=tmp_path / "gen") == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("error: ") and "fonts-noto-cjk" in err[0]
    assert not (tmp_path / "gen").exists()  # stopped before writing anything


def test_without_cjk_figures_use_only_fonts_that_exist(monkeypatch):
    _no_cjk_anywhere(monkeypatch)
    assert fonts.figure_families() == (fonts.LATIN_FAMILY,)


# ── matplotlib's stale font list ────────────────────────────────────────────────────────────


@needs_cjk
def test_stale_matplotlib_font_list_is_repaired_quietly(monkeypatch, caplog):
    """matplotlib's cached list predates the font's installation: the file fontconfig resolves
    is added, the figures get the Chinese family, and no findfont warning is logged."""
    if not shutil.which("fc-match"):
        pytest.skip("fontconfig's fc-match is not installed")
    from matplotlib import font_manager

    stale = copy.copy(font_manager.fontManager)
    stale.ttflist = [e for e in stale.ttflist if "CJK" not in e.name]
    monkeypatch.setattr(font_manager, "fontManager", stale)
    assert fonts.findfont(fonts.CJK_FAMILY) is None  # the list really is stale
    with caplog.at_level(logging.DEBUG, logger="matplotlib"):
        families = fonts.figure_families()
        found = fonts.resolve()
    assert families[0] == fonts.CJK_FAMILY
    assert found.figures[0].covers(fonts.CJK_SAMPLE)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text


# ── every figure: every character has a glyph ───────────────────────────────────────────────


def _chinese_math_figure():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3, 1))
    fig.text(0.05, 0.6, "所有时间步共享同一组参数 $W_{ih}, W_{hh}, b$")  # rnn-unrolled's label
    fig.text(0.05, 0.2, "残差")
    return fig


def _svg(rc: dict) -> str:
    import matplotlib.pyplot as plt

    with plt.rc_context(rc):
        fig = _chinese_math_figure()
        buf = io.StringIO()
        fig.savefig(buf, format="svg")
    return buf.getvalue()


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_glyph_check_finds_dummy_glyphs_and_boxes():
    """With only DejaVu Sans, math labels get ``¤`` and plain labels boxes: both are found."""
    from tools.generator.figures import style

    problems = fonts.svg_glyph_problems(_svg({**style.RC, "font.family": ["DejaVu Sans"]}))
    assert any("¤" in p for p in problems)
    assert "no glyph for '残' in DejaVu Sans" in problems


@needs_cjk
def test_figure_style_draws_chinese_math_labels():
    from tools.generator.figures import style

    svg = _svg(style.rc())
    assert "¤" not in svg
    assert re.search(r"font-family: '?Noto Sans CJK SC'?[^>]*>所</tspan>", svg), "math label"
    assert fonts.svg_glyph_problems(svg) == []


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_generator_refuses_a_figure_with_missing_glyphs(monkeypatch):
    monkeypatch.setattr(fonts, "figure_families", lambda: (fonts.LATIN_FAMILY,))
    with pytest.raises(fonts.FontError, match="fonts-noto-cjk"):
        gen_figures.figure_svg(_chinese_math_figure, "test")


@needs_cjk
def test_every_generated_figure_has_every_glyph():
    """The figures of the last generation (drawing them all again takes minutes)."""
    svgs = sorted((generate.OUT / "figures").glob("*.svg"))
    svgs += sorted((generate.OUT / "overview").glob("*.svg"))
    if not svgs:
        pytest.skip("no figures generated yet: run `python -m tools.generate`")
    problems = [
        f"{p.name}: {msg}"
        for p in svgs
        for msg in fonts.svg_glyph_problems(p.read_text(encoding="utf-8"))
    ]
    assert not problems, "\n".join(problems)
    text = "".join(p.read_text(encoding="utf-8") for p in svgs)
    assert len(HAN.findall(text)) > 100, "the figures were expected to hold Chinese text"


def test_resolved_fonts_are_remembered_while_the_font_environment_is_unchanged(
    tmp_path, monkeypatch
):
    """A warm generator run reads the fonts back instead of importing matplotlib (0.7 s)."""
    memo = tmp_path / "fonts.json"
    first = fonts.resolve(memo=memo)
    assert memo.is_file() and fonts.environment() is not None

    def never(*a, **k):
        raise AssertionError("matplotlib was asked although nothing changed")

    monkeypatch.setattr(fonts, "matplotlib_fonts", never)
    assert fonts.resolve(memo=memo) == first
    monkeypatch.setattr(fonts, "environment", lambda: "a font was installed")
    with pytest.raises(AssertionError, match="matplotlib was asked"):
        fonts.resolve(memo=memo)
