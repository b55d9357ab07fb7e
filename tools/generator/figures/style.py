"""Step 7 of the generator, the look of every figure: one SVG for light and dark mode.

The shared matplotlib style of the generated figures.

The font families are not fixed here but resolved on this machine by
:mod:`tools.generator.fonts` (the
Chinese family first, then Latin; only families matplotlib can find), so a missing or newly
installed font never leaves ``¤`` or ``findfont`` warnings behind; :func:`rc` adds them to
:data:`RC`.
"""

from __future__ import annotations

from collections.abc import Callable

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

#: Sentinel foreground colour. The generator rewrites it to ``currentColor`` in the SVG,
#: so text, axes and ticks take the page's text colour (dark on light pages, light on dark).
FG = "#010203"

#: Data colours readable on both a white and a near-black background.
PALETTE = ("#1e88e5", "#e53935", "#43a047", "#fb8c00", "#8e24aa", "#00acc1", "#6d4c41")

RC = {
    "svg.fonttype": "none",  # keep text as text: the browser renders it with the page's CJK font
    "svg.hashsalt": "dl-paper-notes",  # deterministic ids
    "font.size": 10,
    "axes.unicode_minus": False,
    "axes.edgecolor": FG,
    "axes.labelcolor": FG,
    "axes.titlecolor": FG,
    "axes.facecolor": "none",
    "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
    "axes.spines.top": False,
    "axes.spines.right": False,
    "figure.facecolor": "none",
    "savefig.facecolor": "none",
    "savefig.edgecolor": "none",
    "text.color": FG,
    "xtick.color": FG,
    "ytick.color": FG,
    "grid.color": "#888888",
    "grid.alpha": 0.3,
    "legend.frameon": False,
    "legend.labelcolor": FG,
}


def rc() -> dict:
    """:data:`RC` with this machine's font families (:func:`.fonts.figure_families`)."""
    from tools.generator import fonts

    return {**RC, "font.family": list(fonts.figure_families())}


def new_figure(width: float = 7.0, height: float = 3.2, **kwargs) -> Figure:
    """Return a new figure (inches) drawn with the site's style; pass ``ncols`` etc. via kwargs.

    Use ``fig.subplots(...)`` on the result to get axes.
    """
    with plt.rc_context(rc()):
        fig = Figure(figsize=(width, height), layout="constrained", **kwargs)
    return fig


def style_context():
    """Context manager applying :func:`rc`; the generator wraps each figure function in it."""
    return plt.rc_context(rc())


def single_threaded(draw: Callable[[], Figure]) -> Callable[[], Figure]:
    """Run a tiny model's training on one thread: faster than oversubscribed threads.

    The numbers are then the same whether the generator (one thread per group) or a test draws it.
    """

    def wrapped() -> Figure:
        import torch

        n = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return draw()
        finally:
            torch.set_num_threads(n)

    wrapped.__doc__ = draw.__doc__
    return wrapped
