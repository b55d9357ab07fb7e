"""Reports run on demand, written to ``reports/``: not part of building the site.

- :mod:`~tools.reports.bench`: time and memory of the generator and the build (``nox -s bench``)
- :mod:`~tools.reports.preview`: how fast the live preview shows an edit (``nox -s bench-preview``)
- :mod:`~tools.reports.zensical`: the same ``mkdocs.yml`` built by MkDocs and by Zensical,
  compared (``nox -s zensical``)
"""
