"""Beside the site steps: the live preview (``nox -s serve``): regenerate, rebuild, reload.

Usage::

    python -m tools.website.serve [--port 8000] [--host 127.0.0.1]

Serves the site on http://127.0.0.1:8000 with live reload, for an author editing notes and
models. It watches ``docs/``, ``reference_impl/``, ``tools/`` (the generator, the catalog, the
glossary, the reading paths) and ``mkdocs.yml`` with a ``stat`` walk every 0.1 s (about 150
files, a millisecond), and waits until the files have been still for 0.1 s, so that an editor's
burst of writes is one change. Then:

- a changed generator input (``reference_impl/``, ``tools/``, or which ``generated/`` files a
  page includes) reruns ``python -m tools.generate``, which rebuilds only the stale groups (its
  content-hash cache). When a reference file changed, the models built from it that a page
  shows (the catalog and the pages say which) are regenerated first, ``--only`` them, and their
  pages are rebuilt before everything else that is stale (other variants, figures) follows in a
  second run. There is never more than one generator process; it runs beside the server, which
  keeps serving, and rebuilding notes, meanwhile;
- the pages made from a changed file are rebuilt by MkDocs in a dirty build in this process
  (:mod:`tools.website.dirty`). MkDocs' dirty mode rebuilds a page only when its Markdown is
  newer than its HTML, and knows nothing of the files a page includes (``generated/…``,
  ``reference_impl/…`` snippet sections, the module of an API page): the preview follows those
  includes itself (:func:`tools.website.watch.affected_pages`) and marks the HTML of each such
  page as old in its own temporary build folder (nothing is written into ``docs/``). The pages
  that include a changed file come first, the API pages (mkdocstrings, slower) in a second build.
  Pages made from files the generator is still rewriting wait for it, so that code and diagram
  change together;
- open pages reload after each build.

A broken file (a note with a missing snippet, a reference file that raises, a catalog typo)
prints one ``error:`` line and the server keeps serving the last good pages; the next change
that fixes it rebuilds everything that waited. Ctrl-C stops the generator (its process group)
and the server. ``mkdocs.yml`` stays standard: the preview's few MkDocs hooks are registered in
this process only, and the generator stays a step that writes files.

Dirty builds cost some accuracy, made up for where it is cheap: the navigation of a rebuilt page
shows every page's title (read from the pages not rebuilt, as MkDocs would leave them blank), and
the search index keeps the entries of the pages not rebuilt (a rebuilt page's are added just
after it is served). Not made up for: a changed title
shows in the navigation of the other pages only once they are rebuilt, and search uses MkDocs'
own index, without the post-processing of ``tools/website/build.py`` (Chinese glossary terms
kept whole, the full-source code left out). A new or removed page and a change to ``mkdocs.yml``
rebuild every page. ``nox -s docs`` remains the reader's site: a clean, strict build.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from tools.website import watch
from tools.website.build import ENV
from tools.website.dirty import Reloader, Site

ROOT = Path(__file__).resolve().parents[2]
POLL = 0.1  # seconds between two stat walks of the watched trees
QUIET = 0.1  # a change is acted on once the trees have been still this long
SETTLE_MAX = 2.0  # … or after this long, if an editor keeps writing
KEEP = "the preview keeps the last good pages"


def say(line: str) -> None:
    """One line on the terminal, at once (the output may be a pipe)."""
    print(line, flush=True)


# ── the generator, one run at a time ───────────────────────────────────────────────────


@dataclasses.dataclass
class GeneratorRun:
    """A finished ``python -m tools.generate`` run."""

    code: int
    output: str
    only: list[str]  # the model ids of a first, quick run; empty for a whole run
    inputs: watch.Inputs  # the generator's inputs when it started
    seconds: float


# A spare generator process: imports the libraries now, then runs ``python -m tools.generate``
# with the arguments of its first line (nothing of the repository is imported before that line).
_SPARE = """
import sys
for name in sys.argv[1:]:
    __import__(name)
line = sys.stdin.readline()
if line.strip():
    import json, runpy
    sys.argv = ["{module}", *json.loads(line)]
    runpy.run_module("{module}", run_name="__main__", alter_sys=True)
"""


class Generator:
    """At most one ``python -m tools.generate`` child at a time, in its own process group.

    Its own process group: Ctrl-C on the terminal reaches the preview, which stops the whole
    group (the generator and its worker processes) instead of each printing a traceback. A quick
    run (a page's few models, ``--jobs 1``: one process, no worker pool) starts in a spare
    process that imported torch and the other libraries beforehand, which halves its time; a
    new spare is started after each run. The spare imports nothing of the repository before its
    run begins, so an edit of the generator is never missed.
    """

    # what a model's build imports from outside the repository, by ``python -X importtime``:
    # torch, and torch._dynamo, which tracing pulls in later (about as long again as torch)
    PRELOAD = ("torch", "torch._dynamo", "numpy", "matplotlib", "graphviz")

    def __init__(self, root: Path, module: str = "tools.generate", preload=PRELOAD) -> None:
        self.root, self.module, self.preload = root, module, tuple(preload)
        self.proc: subprocess.Popen[str] | None = None
        self.log: IO[str] | None = None
        self.spare: tuple[subprocess.Popen[str], IO[str]] | None = None
        self.want_spare = False  # a run ended: start a spare when the preview is done with it
        self.only: list[str] = []
        self.inputs: watch.Inputs = {}
        self.t0 = 0.0

    @property
    def running(self) -> bool:
        """Whether a run has started and not been collected by :meth:`poll`."""
        return self.proc is not None

    def _spawn(self, cmd: list[str], stdin: int | None = None) -> tuple[subprocess.Popen, IO]:
        log = tempfile.TemporaryFile("w+", encoding="utf-8")
        proc = subprocess.Popen(
            cmd,
            cwd=self.root,
            env={**os.environ, **ENV},
            stdin=stdin,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        return proc, log

    def warm_up(self) -> None:
        """After a run ended, start a spare process for the next quick run (unless one waits)."""
        if not self.want_spare:
            return
        self.want_spare = False
        if self.spare is None or self.spare[0].poll() is not None:
            code = _SPARE.format(module=self.module)
            self.spare = self._spawn([sys.executable, "-c", code, *self.preload], subprocess.PIPE)

    def start(self, only: list[str], inputs: watch.Inputs) -> None:
        """Start a run (``--only`` the given ids, in one process, else everything stale)."""
        assert self.proc is None, "one generator run at a time"
        args = ["--only", *only, "--jobs", "1"] if only else []
        self.proc = None
        if only and self.spare is not None and self.spare[0].poll() is None:
            proc, log = self.spare
            self.spare = None
            try:
                assert proc.stdin is not None
                proc.stdin.write(json.dumps(args) + "\n")
                proc.stdin.close()
                self.proc, self.log = proc, log
            except OSError:  # the spare died meanwhile: a new process, as usual
                log.close()
        if self.proc is None:
            self.proc, self.log = self._spawn([sys.executable, "-m", self.module, *args])
        self.only, self.inputs, self.t0 = list(only), inputs, time.perf_counter()

    def poll(self, wait: bool = False) -> GeneratorRun | None:
        """The finished run, once (``wait``: block until it ends), else ``None``."""
        if self.proc is None or (self.proc.poll() is None and not wait):
            return None
        code = self.proc.wait()
        assert self.log is not None
        self.log.seek(0)
        output = self.log.read()
        self.log.close()
        self.proc, self.log, self.want_spare = None, None, True
        return GeneratorRun(code, output, self.only, self.inputs, time.perf_counter() - self.t0)

    def stop(self) -> None:
        """End the run that is still going (its process group: the workers too) and the spare."""
        for proc, log in [(self.proc, self.log), self.spare or (None, None)]:
            if proc is None:
                continue
            for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, None)):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, sig)
                try:
                    proc.wait(grace)
                    break
                except subprocess.TimeoutExpired:
                    continue
            if log is not None:
                log.close()
        self.proc = self.log = self.spare = None


# ── the preview's loop ─────────────────────────────────────────────────────────────────


class Preview:
    """Decide, every :data:`POLL` seconds, what to regenerate and which pages to rebuild.

    ``site`` builds pages and says which pages a file reaches (:class:`Site`: ``build``,
    ``pages_for``), ``reloader`` holds requests during a build and reloads the browsers after
    (:class:`Reloader`), and ``generator`` runs the generator (:class:`Generator`); the tests
    pass stand-ins.
    """

    def __init__(self, root: Path, site: Any, reloader: Any, generator: Any) -> None:
        self.root, self.site, self.reloader, self.generator = root, site, reloader, generator
        self.sources = watch.snapshot(root)
        self._inputs = watch.generator_inputs(root, self.sources)
        self.built: watch.Snapshot = {}  # the site's inputs at the last good build
        self.generated: watch.Inputs | None = None  # inputs of the last whole generator run
        self.quick: watch.Inputs | None = None  # … of the last run --only the changed models
        self.failed: watch.Inputs | None = None  # … of the last failed run
        self.pending = True  # something may need rebuilding
        self.site_ok = False  # the last site build succeeded
        self.said_done = False  # "up to date" was said since the last change

    # the generator's side
    def inputs(self) -> watch.Inputs:
        """The generator's inputs in the current snapshot."""
        return self._inputs

    def generator_due(self) -> bool:
        """Whether the generator's inputs differ from its last whole run and its last failure."""
        inputs = self.inputs()
        return inputs != self.generated and inputs != self.failed

    def quick_models(self) -> list[str]:
        """The models built from a reference file changed since they were last regenerated.

        Only those a page shows (its diagram, table or blocks): the others (variants drawn for
        the overview and the downloads) follow in the whole run, with the figures.
        """
        if self.generated is None:  # the first run regenerates everything stale
            return []
        since = watch.changed(self.quick or self.generated, self.inputs())
        built = watch.models_built_from(self.root, since)
        if not built:
            return []
        shown = watch.models_shown(self.root, watch.doc_pages(self.sources))
        return [m for m in built if m in shown]

    def start_generator(self, quick: bool) -> None:
        """Start a run if one is due: ``quick``, only the models of a changed reference file."""
        if self.generator.running or not self.generator_due():
            return
        only = self.quick_models()
        if quick and not only:
            return
        self.generator.start(only if quick else [], self.inputs())

    def generator_finished(self, run: GeneratorRun) -> None:
        """Record a finished run; print its summary or its error in one line."""
        self.pending = True
        what = f"models {', '.join(run.only)}" if run.only else "generator"
        if run.code == 0:
            if not run.only:
                self.generated = run.inputs
            self.quick, self.failed = run.inputs, None
            say(f"preview: {what}: {watch.generator_summary(run.output)} in {run.seconds:.1f} s")
        else:
            self.failed = run.inputs
            say(f"error: {watch.generator_error(run.output)} · {KEEP}")

    def held(self) -> bool:
        """Whether pages made from generator inputs and outputs must wait (a run is due)."""
        if self.generator.running or self.inputs() == self.failed:
            return True
        return self.generator_due() and self.quick != self.inputs()

    # the site's side
    def site_inputs(self) -> watch.Snapshot:
        """Everything a page may be made from: the sources but the tools, and ``generated/``."""
        state = {p: v for p, v in self.sources.items() if not p.startswith("tools/")}
        return state | watch.generated_snapshot(self.root)

    def build_site(self) -> None:
        """Rebuild the pages made from what changed since the last good build."""
        self.pending = False
        state = self.site_inputs()
        work = watch.changed(self.built, state)
        if self.held():  # the generator is due or running: its inputs and outputs wait
            work = {p for p in work if not p.startswith(("reference_impl/", "generated/"))}
        if not work:
            return
        for n, pages in enumerate(self.batches(work)):
            if not self.build(pages, hold=n == 0):  # the first batch holds requests back
                return
        for p in work:
            if p in state:
                self.built[p] = state[p]
            else:
                self.built.pop(p, None)

    def batches(self, work: set[str]) -> list[set[str] | None]:
        """The pages made from ``work``, in the order to build them; ``None`` for every page.

        Every page when a page was added or removed or ``mkdocs.yml`` changed. Otherwise the
        pages that include a changed file come first, and the API pages that only document a
        changed module (mkdocstrings: several times slower to build) in a second build.
        """
        pages = watch.doc_pages(self.built)
        if not self.built or "mkdocs.yml" in work or pages != watch.doc_pages(self.sources):
            return [None]
        every = self.site.pages_for(work, pages)
        first = self.site.pages_for(work, pages, autodoc=False)
        return [b for b in (first, every - first) if b] or [set()]

    def build(self, pages: set[str] | None, hold: bool = True) -> bool:
        """One build (``hold``: requests wait for it); reload, or say what failed, keep the pages.

        The second batch (API pages) does not hold requests: the notes it follows are served
        as soon as they are published.
        """
        self.reloader.begin(hold)
        result = self.site.build(pages)
        self.site_ok = result.ok
        if not result.ok:
            self.reloader.abandon()
            found = result.problems or ["the build failed"]
            more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
            say(f"error: {found[0]}{more} · {KEEP}")
            return False
        self.reloader.publish()
        self.site.index_search()  # the pages are served: now their search entries
        for problem in result.problems:
            say(f"warning: {problem}")
        shown = ", ".join(result.pages[:3]) + (", …" if len(result.pages) > 3 else "")
        say(f"preview: {len(result.pages)} page(s) rebuilt in {result.seconds:.1f} s: {shown}")
        return True

    # the loop
    def settle(self) -> bool:
        """Take a new snapshot; on a change, wait until the trees are still. Changed or not."""
        now = watch.snapshot(self.root)
        if now == self.sources:
            return False
        deadline = time.monotonic() + SETTLE_MAX
        while time.monotonic() < deadline:
            time.sleep(QUIET)
            again = watch.snapshot(self.root)
            if again == now:
                break
            now = again
        self.sources = now
        self._inputs = watch.generator_inputs(self.root, now)
        return True

    def tick(self) -> None:
        """One round: collect the generator, look for changes, regenerate, rebuild."""
        run = self.generator.poll()
        if run is not None:
            self.generator_finished(run)
        if self.settle():
            self.pending = True
        if self.pending:
            self.said_done = False
            self.start_generator(quick=True)  # the models first: the page shows them
            self.build_site()
            self.start_generator(quick=False)
        self.generator.warm_up()  # after the page: the spare's imports would slow its build
        if not self.said_done and self.up_to_date():
            self.said_done = True
            say("preview: up to date")

    def up_to_date(self) -> bool:
        """Nothing left to do: no generator run due or going, the last build good, no error."""
        busy = self.generator.running or self.generator_due() or self.pending
        return not busy and self.failed is None and self.site_ok

    def run(self, ticks: int | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        """Tick forever (or ``ticks`` times); a bug in a tick is one line, not the end."""
        n = 0
        while ticks is None or n < ticks:
            try:
                self.tick()
            except Exception as exc:  # the preview's own bug: say where, keep serving
                where = traceback.extract_tb(exc.__traceback__)[-1]
                at = f"{Path(where.filename).name}:{where.lineno}"
                say(f"error: preview: {type(exc).__name__}: {exc} (at {at}) · {KEEP}")
            sleep(POLL)
            n += 1


# ── the command ────────────────────────────────────────────────────────────────────────


def _interrupt(signum: int, frame: Any) -> None:
    """SIGTERM / SIGHUP end the preview like Ctrl-C: the generator is stopped, not orphaned."""
    raise KeyboardInterrupt


def serve(root: Path, host: str, port: int) -> int:
    """Generate, build every page, serve; then watch and rebuild until interrupted."""
    os.chdir(root)  # pymdownx.snippets resolves its base_path against the working directory
    with contextlib.suppress(ImportError):  # Material's search cuts Chinese with jieba: quietly
        import jieba

        jieba.setLogLevel(60)
    url = f"http://{host}:{port}/"
    site = Site(root, url)
    generator = Generator(root)
    try:
        reloader = Reloader(host, port, site.dir, root)
        reloader.start()
    except OSError as exc:
        say(f"error: cannot serve on {host}:{port}: {exc}")
        site.close()
        return 1
    preview = Preview(root, site, reloader, generator)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupt)
    try:
        say("preview: generating (python -m tools.generate) …")
        generator.start([], preview.inputs())
        preview.generator_finished(generator.poll(wait=True))
        say("preview: building every page …")
        preview.build_site()
        say(f"preview: serving {url} · watching docs/, reference_impl/, tools/, mkdocs.yml")
        preview.run()
    except KeyboardInterrupt:
        say("preview: stopped")
    finally:
        generator.stop()
        reloader.close()
        site.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.website.serve", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--host", default="127.0.0.1", help="address (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    args = parser.parse_args(argv)
    return serve(ROOT, args.host, args.port)


if __name__ == "__main__":
    sys.exit(main())
