"""Beside the site steps: MkDocs' dirty builds and live-reload server, in the preview's process.

For :mod:`tools.website.serve`. :class:`Site` builds ``mkdocs.yml`` into a temporary folder
with ``dirty=True``, told which pages to rebuild: MkDocs' dirty mode rebuilds a page only when
its Markdown is newer than its HTML, so :class:`Hooks` marks the HTML of the pages that include a
changed file as old (in the build folder; nothing is written into ``docs/``). The hooks are
MkDocs events registered in this process only (``mkdocs.yml`` stays standard); they also give
the navigation the titles of the pages not rebuilt, and the search index their entries.
:class:`Reloader` is ``mkdocs serve``'s live-reload server, its epochs moved by the preview.
MkDocs is imported on first use, so that the preview's loop can be tested without it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tools.website import watch
from tools.website.build import problems


@dataclasses.dataclass
class BuildResult:
    """What one site build did."""

    ok: bool
    pages: list[str]  # the pages rebuilt (docs/-relative)
    problems: list[str]  # errors, or warnings of a build that succeeded
    seconds: float


class Site:
    """Dirty MkDocs builds of ``mkdocs.yml`` into a temporary folder, with the preview's hooks."""

    def __init__(self, root: Path, url: str) -> None:
        self.root, self.url = root, url
        self.dir = Path(tempfile.mkdtemp(prefix="dl-preview-"))
        self.hooks = Hooks(self.dir)
        self.config: Any = None
        self.auto_append: list[str] = []
        self.templates: Any = None  # compiled Jinja templates, kept across builds
        self.theme_files: dict[tuple[str, ...], list[str]] = {}  # theme files, by folders, filter

    def load(self) -> Any:
        """``mkdocs.yml`` loaded afresh (as ``mkdocs serve`` does: the API pages re-read code)."""
        from mkdocs.config import load_config

        config = load_config(config_file=str(self.root / "mkdocs.yml"), site_dir=str(self.dir))
        config.site_url = self.url
        config.theme.get_env = self.theme_env(config.theme)
        snippets = config.mdx_configs.get("pymdownx.snippets", {})
        self.auto_append = list(snippets.get("auto_append", []))
        config.plugins["dl-preview"] = self.hooks  # after the search plugin: runs last
        if self.config is None:  # once per process, as mkdocs serve does
            config.plugins.on_startup(command="serve", dirty=False)
        self.config = config
        return config

    def theme_env(self, theme: Any) -> Callable[[], Any]:
        """``theme.get_env``, made faster to start for a build of one page.

        Each build makes new Jinja environments, which would compile the theme's templates
        again (a third of a one-page build here) and list and filter the theme's thousands of
        files again (a seventh): the compiled templates are kept (Jinja's bytecode cache, which
        checks each template's source) and so is the list of static files of each set of theme
        folders (the files of an installed theme do not change while the preview runs).
        """
        import jinja2

        if self.templates is None:
            self.templates = _memory_bytecode_cache()
        make_env, folders = theme.get_env, tuple(theme.dirs)

        def get_env() -> jinja2.Environment:
            env = make_env()
            env.bytecode_cache = self.templates
            listing = env.list_templates

            def list_templates(extensions: Any = None, filter_func: Any = None) -> list[str]:
                key = (*folders, repr(extensions), getattr(filter_func, "__qualname__", ""))
                if key not in self.theme_files:
                    self.theme_files[key] = listing(extensions, filter_func)
                return list(self.theme_files[key])

            env.list_templates = list_templates
            return env

        return get_env

    def pages_for(self, paths: set[str], pages: set[str], autodoc: bool = True) -> set[str]:
        """The pages made from any of ``paths`` (their includes followed; ``:::`` modules too)."""
        return watch.affected_pages(self.root, paths, pages, self.auto_append, autodoc)

    def build(self, pages: set[str] | None) -> BuildResult:
        """Rebuild ``pages`` (``docs/``-relative; ``None``: all) and whatever MkDocs finds newer."""
        from mkdocs.commands.build import build

        records = Records()
        self.hooks.stale, self.hooks.built, self.hooks.pages = pages, [], []
        t0 = time.perf_counter()
        with records.capture():
            try:
                config = self.load()
                self.hooks.search = None if pages is None else _pause_indexing(config)
                build(config, serve_url=self.url, dirty=True)
                ok = True
            except Exception as exc:  # any failure: one line, and the last good pages stay
                if not any(line.startswith("ERROR") for line in records.lines):
                    records.lines.append(f"ERROR - {type(exc).__name__}: {exc}")
                ok = False
        found = problems(records.text(), self.root) if records.lines else []
        return BuildResult(ok, list(self.hooks.built), found, time.perf_counter() - t0)

    def index_search(self) -> None:
        """After the pages are served: index those the last build rebuilt (see :class:`Hooks`)."""
        self.hooks.index_search()

    def close(self) -> None:
        """Run the plugins' shutdown event, remove the build folder."""
        if self.config is not None:
            with contextlib.suppress(Exception):
                self.config.plugins.on_shutdown()
        shutil.rmtree(self.dir, ignore_errors=True)


def _pause_indexing(config: Any) -> Any:
    """Take Material's search plugin off the pages of this build; the plugin, or ``None``."""
    plugin = config.plugins.get("material/search")
    events = config.plugins.events["page_context"]
    if plugin is None or plugin.on_page_context not in events:
        return None
    events.remove(plugin.on_page_context)
    return plugin


def _memory_bytecode_cache() -> Any:
    """A Jinja bytecode cache in memory, for the life of the preview."""
    import jinja2

    class MemoryBytecodeCache(jinja2.BytecodeCache):
        def __init__(self) -> None:
            self.store: dict[str, bytes] = {}

        def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
            if bucket.key in self.store:
                bucket.bytecode_from_string(self.store[bucket.key])

        def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
            self.store[bucket.key] = bucket.bytecode_to_string()

    return MemoryBytecodeCache()


class Records(logging.Handler):
    """MkDocs' warnings and errors during one build, as ``LEVEL - message`` lines."""

    # MkDocs' note on every dirty build, and the exception repeated after its own log line
    NOISE = ("A 'dirty' build is being performed", "Aborted with a BuildError")

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Keep one record (its first line)."""
        msg = record.getMessage().strip().splitlines()
        if msg and not msg[0].startswith(self.NOISE):
            self.lines.append(f"{record.levelname} - {' '.join(m.strip() for m in msg)}")

    def text(self) -> str:
        """The kept lines, as a log that :func:`tools.website.build.problems` reads."""
        return "\n".join(self.lines)

    @contextlib.contextmanager
    def capture(self):
        """Collect MkDocs' log (and nothing else prints it) for the duration."""
        logger = logging.getLogger("mkdocs")
        before = logger.propagate
        logger.addHandler(self)
        logger.propagate = False
        try:
            yield self
        finally:
            logger.removeHandler(self)
            logger.propagate = before


class Hooks:
    """The preview's MkDocs events (registered in this process only, never in ``mkdocs.yml``).

    Search: a page's entries cost a third of its build (Material parses its whole HTML), so in
    a build of some pages Material's indexing is switched off (:meth:`Site.build`) and
    :meth:`index_search` adds the rebuilt pages' entries once the pages are served.
    """

    def __init__(self, site_dir: Path) -> None:
        self.dir = site_dir
        self.stale: set[str] | None = None  # pages to rebuild whatever their mtime; None: all
        self.built: list[str] = []  # the pages rebuilt by the current build (docs/-relative)
        self.pages: list[Any] = []  # … as MkDocs pages, rendered
        self.index: list[dict] | None = None  # the search entries after the last build
        self.search: Any = None  # Material's search plugin, when its indexing waits

    def on_files(self, files: Any, *, config: Any) -> Any:
        """Mark the HTML of the pages to rebuild as old: MkDocs' dirty mode then rebuilds them."""
        for file in files.documentation_pages():
            if self.stale is None or file.src_uri in self.stale:
                with contextlib.suppress(FileNotFoundError):
                    os.utime(file.abs_dest_path, (0, 0))
        return files

    def on_nav(self, nav: Any, *, config: Any, files: Any) -> Any:
        """Read the Markdown of the pages not rebuilt, so that the navigation has their titles."""
        for file in files.documentation_pages():
            if file.page is not None and file.page.markdown is None and not file.is_modified():
                file.page.read_source(config)
        return nav

    def on_page_context(self, context: Any, *, page: Any, config: Any, nav: Any) -> Any:
        """Note each page rebuilt."""
        self.built.append(page.file.src_uri)
        self.pages.append(page)
        return context

    def on_post_build(self, *, config: Any) -> None:
        """Give the search index back the entries of the pages not rebuilt."""
        data = self._read_index()
        if data is None:
            return
        if self.index is not None:
            if self.search is None:  # indexed in this build: the rebuilt pages' entries are new
                urls = {page.url for page in self.pages}
                data["docs"] = watch.merge_search_entries(self.index, data["docs"], urls)
            else:  # indexing waits for index_search: until then every page keeps its entries
                data["docs"] = self.index
            self._write_index(data)
        self.index = data["docs"]

    def index_search(self) -> None:
        """Add the entries of the pages the last build rebuilt without indexing them."""
        plugin, self.search = self.search, None
        data = self._read_index()
        if plugin is None or data is None or self.index is None:
            return
        for page in self.pages:
            plugin.search_index.add_entry_from_context(page)
        fresh = json.loads(plugin.search_index.generate_search_index(None))["docs"]
        urls = {page.url for page in self.pages}
        data["docs"] = self.index = watch.merge_search_entries(self.index, fresh, urls)
        self._write_index(data)

    def _read_index(self) -> dict | None:
        path = self.dir / "search" / "search_index.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None

    def _write_index(self, data: dict) -> None:
        path = self.dir / "search" / "search_index.json"
        path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


class Reloader:
    """MkDocs' live-reload server (``mkdocs serve``'s), serving the build folder.

    Its own file watcher is not started (:class:`Preview` watches); :meth:`begin`,
    :meth:`publish` and :meth:`abandon` move its epochs as its build loop would: requests wait
    while a build runs (``hold``), browsers reload after a good one, and after a failed one
    nothing reloads and the last good pages are served. A build that does not hold (the API
    pages, after the notes were published) lets requests through meanwhile: a note just rebuilt
    is served at once, not after the slower pages.
    """

    def __init__(self, host: str, port: int, site_dir: Path, root: Path) -> None:
        from mkdocs.livereload import LiveReloadServer

        self.server = LiveReloadServer(builder=lambda: None, host=host, port=port, root=site_dir)
        self.server.error_handler = lambda code: _error_page(site_dir, code)
        # registered, never started: a watched path makes the server inject its reload script
        self.server.watch(str(root / "docs"))
        self.holding = False

    def start(self) -> None:
        """Listen and answer requests in a thread."""
        self.server.server_bind()
        self.server.server_activate()
        self.server.serve_thread.start()

    def begin(self, hold: bool = True) -> None:
        """A build starts: requests wait for it (``hold``), or are answered meanwhile."""
        self.holding = hold
        if hold:
            with self.server._epoch_cond:
                self.server._wanted_epoch = max(self.server._visible_epoch + 1, _now_ms())

    def publish(self) -> None:
        """The build is done: serve it, reload the browsers."""
        with self.server._epoch_cond:
            if not self.holding:
                self.server._wanted_epoch = max(self.server._visible_epoch + 1, _now_ms())
            self.server._visible_epoch = self.server._wanted_epoch
            self.server._epoch_cond.notify_all()

    def abandon(self) -> None:
        """The build failed: serve the last good pages, reload nothing."""
        with self.server._epoch_cond:
            self.server._wanted_epoch = self.server._visible_epoch
            self.server._epoch_cond.notify_all()

    def close(self) -> None:
        """Stop answering."""
        self.abandon()
        self.server.shutdown()


def _now_ms() -> int:
    """The clock of MkDocs' live-reload epochs."""
    return round(time.monotonic() * 1000)


def _error_page(site_dir: Path, code: int) -> bytes | None:
    """The site's own 404 page (as ``mkdocs serve`` does)."""
    page = site_dir / f"{code}.html"
    return page.read_bytes() if code in (404, 500) and page.is_file() else None
