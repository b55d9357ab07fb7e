"""Build-time tools, in three folders: the generator, the site steps, the reports.

- ``generate.py``: the entry point, ``python -m tools.generate`` (run by ``nox -s docs``)
- :mod:`tools.generator`: catalog → trace → diagram → tables → downloads → models → figures →
  sources → pages → overview, writing ``generated/``
- :mod:`tools.website`: build → bundle → linkcheck → pdf, from ``generated/`` and ``docs/`` to
  ``site/``, ``dist/`` and the PDFs
- :mod:`tools.reports`: benchmark and Zensical comparison, on demand
- ``catalog.toml``, ``glossary.toml``, ``reading_paths.toml``: the data the generator reads
"""
