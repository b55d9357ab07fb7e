"""The generator: from the catalog to the files MkDocs includes (``python -m tools.generate``).

Data flows through its modules in this order; each module's docstring opens with its place in it.

1. :mod:`~tools.generator.catalog`: ``tools/catalog.toml`` → papers and models
2. :mod:`~tools.generator.trace`: a model run on example inputs → the calls and ops it made
3. :mod:`~tools.generator.diagram`: a trace → Graphviz diagrams (overview, blocks, details)
4. :mod:`~tools.generator.tables`: a model and its trace → parameter counts, MACs, the table
5. :mod:`~tools.generator.downloads`: diagrams and tables → SVG, CSV and LaTeX downloads
6. :mod:`~tools.generator.models`: steps 2–5 for one model → its files
7. :mod:`~tools.generator.figures`: matplotlib figures, one module per paper
8. :mod:`~tools.generator.sources`: byte-for-byte copies of the reference files
9. :mod:`~tools.generator.pages`: each paper's card, variants, "论文 vs 本实现" and test list
10. :mod:`~tools.generator.overview`: the pages across papers (overview, glossary, reading paths)
11. :mod:`~tools.generator.exercises`: each paper's 练习, answers computed by its reference code →
    the page section and Moodle XML; across papers the site's quiz and the 教师资源 page

Beside the flow: :mod:`~tools.generator.cache` (hashes, stamps, atomic writes: what is rebuilt)
and :mod:`~tools.generator.fonts` (the fonts that measure labels, part of every cache key).
"""


class GenerationError(RuntimeError):
    """One artifact group could not be generated; the message names it and the cause."""
