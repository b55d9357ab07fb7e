"""Figures generated from code, one module per paper (``tools/figures/<slug>.py``).

A figure module defines:

* ``DEPENDS``: the repository files (besides itself) whose content the figures depend on,
  e.g. ``("reference_impl/resnet.py",)``; a change to any of them redraws the figures.
* ``FIGURES``: a dict from figure name (``"<slug>-<what>"``) to a function taking no
  argument and returning a :class:`matplotlib.figure.Figure` made with
  :func:`tools.figures.style.new_figure`.

Figures must be deterministic (seed every random generator) and quick (a few seconds on a CPU).
Colours: draw text, axes and neutral lines in :data:`tools.figures.style.FG`; the generator
replaces it by ``currentColor`` so the inline SVG follows Material's light/dark toggle.
"""
