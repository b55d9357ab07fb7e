"""The site steps: after the generator, build, bundle and check the site.

1. :mod:`~tools.website.build`: ``mkdocs build --strict`` into a temporary folder, swapped into
   ``site/`` on success; compacts the search index and the code markup (``nox -s docs``)
2. :mod:`~tools.website.bundle`: the same site for reading from disk (``file://``), as a zip
3. :mod:`~tools.website.linkcheck`: every internal link and anchor of the built site
4. :mod:`~tools.website.pdf`: the built site printed to PDF, one file per paper (``nox -s pdf``)

Beside them, for authors: :mod:`~tools.website.serve`, the live preview (``nox -s serve``), which
regenerates and rebuilds only what an edit changed (:mod:`~tools.website.watch` finds it).
"""
