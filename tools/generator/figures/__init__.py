"""Step 7 of the generator: figures drawn from code, one module per paper.

Each is ``tools/generator/figures/<slug>.py`` (see :mod:`tools.generator` for the other steps).

A figure module defines:

* ``DEPENDS``: the repository files (besides itself) whose content the figures depend on,
  e.g. ``("reference_impl/resnet.py",)``; a change to any of them redraws the figures.
* ``FIGURES``: a dict from figure name (``"<slug>-<what>"``) to a function taking no
  argument and returning a :class:`matplotlib.figure.Figure` made with
  :func:`tools.generator.figures.style.new_figure`.

Figures must be deterministic (seed every random generator) and quick (a few seconds on a CPU).
Colours: draw text, axes and neutral lines in :data:`tools.generator.figures.style.FG`; the
generator
replaces it by ``currentColor`` so the inline SVG follows Material's light/dark toggle.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from typing import Any

from tools.generator import GenerationError, fonts
from tools.generator.catalog import ROOT


def figure_modules() -> list[str]:
    """Slugs that have a figure module, sorted."""
    return sorted(
        p.stem
        for p in (ROOT / "tools" / "generator" / "figures").glob("*.py")
        if p.stem not in ("__init__", "style")
    )


def figure_svg(draw: Callable[[], Any], name: str) -> str:
    """Render one figure to an SVG whose foreground follows the page colour (currentColor)."""
    import io

    import matplotlib.pyplot as plt

    from tools.generator.figures import style

    with style.style_context():
        fig = draw()
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
        plt.close(fig)
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]
    svg = svg.replace(style.FG, "currentColor").replace(style.FG.upper(), "currentColor")
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)
    svg = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{name}-{m.group(1)}"', svg)
    svg = re.sub(
        r'(xlink:href|href)="#([^"]+)"', lambda m: f'{m.group(1)}="#{name}-{m.group(2)}"', svg
    )
    svg = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{name}-{m.group(1)})", svg)
    svg = re.sub(
        r'<svg([^>]*?) width="([\d.]+)pt" height="([\d.]+)pt"',
        lambda m: (
            f'<svg{m.group(1)} class="dl-svg" data-search-exclude '
            f'style="max-width:{float(m.group(2)) * 4 / 3:.0f}px" width="100%"'
        ),
        svg,
        count=1,
    )
    fonts.check_svg(svg)  # a character without a glyph (¤ or a box) stops the build
    svg = trim_precision(svg)
    return "\n".join(line for line in svg.splitlines() if line.strip()) + "\n"


# Geometry attributes of matplotlib's SVG (never text content, never ids or embedded images).
_GEOMETRY = re.compile(r'(\s(?:d|x|y|x1|x2|y1|y2|cx|cy|r|width|height|points|transform)=")([^"]*)"')
_LONG_FLOAT = re.compile(r"(?<![\w.])-?\d+\.\d{3,}")
_NO_ROTATION = re.compile(r'\stransform="rotate\(-?0 [-\d. ]+\)"')


def trim_precision(svg: str) -> str:
    """Round the coordinates of a figure's SVG to 1/100 pt and drop no-op rotations.

    Matplotlib writes six decimals (10⁻⁶ pt); a hundredth of a point is far below a screen pixel,
    and the rounding shortens a vector figure by about 10 % (up to 21 %).
    """

    def short(m: re.Match[str]) -> str:
        text = f"{float(m.group(0)):.2f}".rstrip("0").rstrip(".")
        return "0" if text == "-0" else text

    svg = _NO_ROTATION.sub("", svg)
    return _GEOMETRY.sub(lambda m: m.group(1) + _LONG_FLOAT.sub(short, m.group(2)) + '"', svg)


def figure_artifacts(slug: str) -> dict[str, str]:
    """All figures of one figure module, and each as a standalone SVG download.

    ``downloads/figures/<name>.svg``: the page colour resolved to the figure's foreground, the
    natural size and a title (:func:`tools.generator.downloads.standalone_svg`), listed on the
    教师资源 page.
    """
    from tools.generator import downloads
    from tools.generator.figures import style

    mod = importlib.import_module(f"tools.generator.figures.{slug}")
    files: dict[str, str] = {}
    for name, draw in sorted(mod.FIGURES.items()):
        try:
            svg = figure_svg(draw, name)
        except Exception as exc:
            raise GenerationError(
                f"figure {name!r} (tools/generator/figures/{slug}.py): {type(exc).__name__}: {exc}"
            ) from exc
        doc = (draw.__doc__ or "").strip()
        caption = doc.splitlines()[0].rstrip("。.") if doc else name
        files[f"figures/{name}.svg"] = svg
        plain = svg.replace("currentColor", style.FG).replace(" data-search-exclude", "")
        title = f"{caption}，由 tools/generator/figures/{slug}.py 生成（深度学习论文学习）"
        files[f"downloads/figures/{name}.svg"] = downloads.standalone_svg(plain, title)
        files[f"figures/{name}.md"] = (
            f'<figure class="dl-figure" id="fig-{name}">\n{svg}'
            f"<figcaption>{caption}"
            f"（由 <code>tools/generator/figures/{slug}.py</code> 生成）</figcaption>\n"
            "</figure>\n"
        )
    return files
