"""Generate the site's diagrams, parameter tables, figures and catalog pages into ``generated/``.

The steps live in :mod:`tools.generator` (in data-flow order there); this module plans a run
(what is stale), builds the stale groups in worker processes and writes their files.

Usage::

    python -m tools.generate                 # everything (cached: unchanged inputs are skipped)
    python -m tools.generate --only resnet50 # some models / figures / papers by id
    python -m tools.generate --force         # ignore the cache

A plain step that writes files (not a MkDocs plugin), run by ``nox -s docs`` before the build.
Each artifact group (a model, a paper's figures, the catalog pages) is rebuilt only when the hash
of everything it depends on changes: its source files, its catalog entry, this generator's code and
the library versions. Files are written atomically and the group's stamp last, so an interrupted
run leaves no half-written file and the next run redoes what was not stamped. A failing model is
reported in one line naming it and the cause; the other models' artifacts are kept and the run
exits 1.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import shutil
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tools.generator import GenerationError, fonts
from tools.generator.cache import (
    Stamp,
    emit,
    figure_key,
    model_key,
    resolve_fonts,
    versions,
    write_atomic,
)
from tools.generator.catalog import ROOT, Catalog, CatalogError, load
from tools.generator.exercises import exercise_artifacts, exercise_key, exercise_modules
from tools.generator.figures import figure_artifacts, figure_modules
from tools.generator.models import model_artifacts

OUT = ROOT / "generated"
DOT_HELP = (
    "Graphviz's `dot` program was not found on PATH: install Graphviz "
    "(Debian/Ubuntu: `sudo apt-get install graphviz`; macOS: `brew install graphviz`; "
    "Windows: `winget install graphviz`), then rerun."
)


# ── the run ───────────────────────────────────────────────────────────────────────────────


@contextlib.contextmanager
def timed(log: list[dict[str, Any]], group: str) -> Iterator[dict[str, Any]]:
    """Record how long a group took (for the report and the benchmark)."""
    entry: dict[str, Any] = {"group": group, "status": "built"}
    t0 = time.perf_counter()
    try:
        yield entry
    finally:
        entry["seconds"] = round(time.perf_counter() - t0, 3)
        log.append(entry)


def default_jobs() -> int:
    """Worker processes for the command line: the CPUs this process may use, at most 2.

    Two is enough to keep both cores of a small machine busy; more workers would each hold a
    copy of torch (and of a training figure's tensors) for little gain on the few long groups.
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    return max(1, min(2, cpus))


def _init_worker() -> None:
    """Pool initializer: import torch and matplotlib once per worker, not once per group.

    On Linux the worker also asks to be killed when the generator dies (``PR_SET_PDEATHSIG``),
    so that a killed run leaves no worker computing on, and fixes glibc's mmap threshold.
    """
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None)
            libc.prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
            # A fixed mmap threshold (M_MMAP_THRESHOLD = -3): blocks over 4 MB go back to the
            # system when freed. With glibc's sliding threshold the variable-sized tensors of
            # the DMTet fit fragmented the heap to 1.8 GB in some runs (about 360 MB with it).
            libc.mallopt(-3, 4 << 20)
    import matplotlib

    matplotlib.use("Agg")
    import torch  # noqa: F401


def build_group(kind: str, arg: Any) -> dict[str, Any]:
    """Build one artifact group (in a worker or inline); never raises.

    Returns ``{"files": {...}, "summary": {...}}`` on success, ``{"error": "one line"}`` on
    failure, and the CPU time it took (``cpu``), so the parent can write, stamp and report.
    """
    import resource

    import torch

    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0, w0 = time.process_time(), time.perf_counter()
    threads = torch.get_num_threads()
    # One thread per group, in a worker or not: the pool keeps the cores busy, two workers do
    # not oversubscribe them, and a figure's floating-point results do not depend on --jobs.
    torch.set_num_threads(1)
    result: dict[str, Any]
    try:
        if kind == "model":
            files, _ = model_artifacts(arg)
            result = {"files": files, "summary": json.loads(files[f"models/{arg.id}/summary.json"])}
        elif kind == "exercises":
            result = {"files": exercise_artifacts(arg)}
        else:
            result = {"files": figure_artifacts(arg)}
    except (GenerationError, CatalogError) as exc:
        result = {"error": str(exc)}
    except Exception as exc:  # an unexpected bug: still one line, with where it happened
        where = traceback.extract_tb(exc.__traceback__)[-1]
        at = f" (at {Path(where.filename).name}:{where.lineno})"
        if kind == "model":
            result = {"error": f"model {arg.id!r}: {type(exc).__name__}: {exc}{at}"}
        elif kind == "exercises":
            result = {
                "error": f"exercises tools/generator/exercises/{arg}.py: "
                f"{type(exc).__name__}: {exc}{at}"
            }
        else:
            result = {
                "error": f"figures tools/generator/figures/{arg}.py: "
                f"{type(exc).__name__}: {exc}{at}"
            }
    finally:
        torch.set_num_threads(threads)
    result["cpu"] = round(time.process_time() - t0, 3)
    result["seconds"] = round(time.perf_counter() - w0, 3)
    # the process's high-water mark after this group, and whether this group raised it: the
    # benchmark names the group that needs the most memory from these (ru_maxrss is in KiB)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result["peak_mb"] = round(rss / 1024, 1)
    result["raised_peak"] = rss > rss0
    return result


#: The longest groups of a cold run and their seconds on the 2-core reference machine (two
#: workers, ``generated/timings.json``): the order of a first run, when there are no timings yet.
EXPECTED_SECONDS = {
    "figures-rnn": 26.0,
    "figures-contrastive": 19.5,
    "figures-llama": 18.0,
    "figures-gan": 17.5,
    "figures-detr": 15.0,
    "figures-mae": 14.0,
    "figures-dmtet": 13.5,
    "figures-gpt": 10.5,
    "figures-clip": 7.5,
    "model-llama3-405b": 6.5,
    "figures-transformer": 6.0,
    "model-gpt3-175b": 5.0,
    "figures-resnet": 4.3,
    "model-llama3-70b": 4.0,
    "model-unclip-decoder": 3.1,
}


def _previous_seconds(out: Path) -> dict[str, float]:
    """How long each group took last time, else :data:`EXPECTED_SECONDS` (longest first)."""
    seconds = dict(EXPECTED_SECONDS)
    try:
        log = json.loads((out / "timings.json").read_text())
        seconds.update(
            {e["group"]: float(e.get("seconds", 0)) for e in log if e["status"] == "built"}
        )
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return seconds


def run(only: set[str] | None, force: bool, out: Path = OUT, jobs: int = 1) -> int:
    """Generate everything (or only the named ids); return the process exit code.

    The groups to rebuild (models, figure modules) are independent: with ``jobs`` > 1 they are
    built by a pool of worker processes, the longest first (by the previous run's timings, else
    by :data:`EXPECTED_SECONDS`, then figures before models). Workers only compute; this process
    writes every file and stamp, one group at a time as each finishes, so the output is the same
    whatever the order and an interrupted run keeps every group already stamped.
    """
    ready = _check_setup(out)
    if ready is None:
        return 1
    catalog, found = ready
    out.mkdir(parents=True, exist_ok=True)
    state = Run(out, versions(found), only, force)
    state.plan_models(catalog)
    state.plan_figures()
    state.plan_exercises()
    jobs = state.build(jobs)
    state.catalog_pages(catalog)
    return state.report(jobs)


def _check_setup(out: Path) -> tuple[Catalog, fonts.Fonts] | None:
    """The catalog, Graphviz and the fonts, or ``None`` after one ``error:`` line."""
    try:
        catalog = load()
    except CatalogError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
    if shutil.which("dot") is None:
        print(f"error: {DOT_HELP}", file=sys.stderr)
        return None
    try:  # the fonts that measure the labels: one log line, or one error line
        found = resolve_fonts(out)
    except fonts.FontError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
    print(fonts.describe(found))
    return catalog, found


@dataclasses.dataclass
class Run:
    """One run of the generator: what is fresh, what to build, and what happened."""

    out: Path
    vers: str
    only: set[str] | None
    force: bool
    failures: dict[str, str] = dataclasses.field(default_factory=dict)
    log: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    summaries: dict[str, Any] = dataclasses.field(default_factory=dict)
    order: list[str] = dataclasses.field(default_factory=list)  # groups considered, catalog order
    todo: list[tuple[str, str, Any, str]] = dataclasses.field(default_factory=list)

    def __post_init__(self) -> None:
        self.stamps = Stamp(self.out)

    def wanted(self, *names: str) -> bool:
        """Whether the run covers any of ``names`` (every id when no ``--only`` is given)."""
        return self.only is None or any(n in self.only for n in names)

    def _plan(self, group: str, kind: str, arg: Any, key: str) -> bool:
        """Queue ``group`` unless its stamp is fresh; return whether it was cached."""
        self.order.append(group)
        if not self.force and self.stamps.fresh(group, key, self.out):
            self.log.append({"group": group, "status": "cached", "seconds": 0.0})
            return True
        self.todo.append((group, kind, arg, key))
        return False

    def plan_models(self, catalog: Catalog) -> None:
        """Every model of the catalog: cached (its summary read back) or queued."""
        for model in catalog.models:
            summary_path = self.out / "models" / model.id / "summary.json"
            if not self.wanted(model.id, model.paper.slug):
                if summary_path.is_file():
                    self.summaries[model.id] = json.loads(summary_path.read_text())
                continue
            if self._plan(f"model-{model.id}", "model", model, model_key(model, self.vers)):
                self.summaries[model.id] = json.loads(summary_path.read_text())

    def plan_figures(self) -> None:
        """Every figure module: cached or queued."""
        for slug in figure_modules():
            if self.wanted(slug, f"figures-{slug}"):
                self._plan(f"figures-{slug}", "figures", slug, figure_key(slug, self.vers))

    def plan_exercises(self) -> None:
        """Every exercises module (tools/generator/exercises/<slug>.py): cached or queued."""
        for slug in exercise_modules():
            if self.wanted(slug, f"exercises-{slug}"):
                self._plan(f"exercises-{slug}", "exercises", slug, exercise_key(slug, self.vers))

    def finish(self, group: str, kind: str, arg: Any, key: str, res: dict[str, Any]) -> None:
        """Log one built group; write its files and stamp, or record its error."""
        entry = {"group": group, "status": "built"}
        entry.update({k: res[k] for k in ("seconds", "cpu", "peak_mb", "raised_peak") if k in res})
        self.log.append(entry)
        if "error" in res:
            entry["status"] = "failed"
            self.failures[group] = res["error"]
            return
        self.stamps.save(group, key, emit(self.out, res["files"]))
        if kind == "model":
            self.summaries[arg.id] = res["summary"]

    def build(self, jobs: int) -> int:
        """Build the queue, the longest group first; return the number of workers used."""
        if not self.todo:
            return jobs
        last = _previous_seconds(self.out)
        self.todo.sort(key=lambda t: (-last.get(t[0], 0.0), t[1] == "model"))
        jobs = max(1, min(jobs, len(self.todo)))
        if jobs == 1:
            for group, kind, arg, key in self.todo:
                self.finish(group, kind, arg, key, build_group(kind, arg))
        else:
            _run_pool(self.todo, jobs, self.finish)
        return jobs

    def catalog_pages(self, catalog: Catalog) -> None:
        """The pages built from the catalog: cheap, always rewritten (unchanged files untouched)."""
        from tools.generator import exercises, overview, pages

        with timed(self.log, "catalog-pages") as entry:
            entry["status"] = "written"
            files = pages.paper_files(catalog, self.summaries)
            # across papers: the site's Moodle XML and the 教师资源 page, from the records and
            # stamps the groups wrote (tools/generator/exercises/)
            files.update(exercises.site_files(catalog, self.out))
            try:  # overview, glossary, reading paths, abbreviations (tools/generator/overview.py)
                files.update(overview.files(catalog, self.summaries, out=self.out))
            except ValueError as exc:  # ReaderDataError or invalid TOML: one line, others kept
                entry["status"] = "failed"
                self.failures["catalog-pages"] = f"reader pages: {exc}"
            emit(self.out, files)

    def report(self, jobs: int) -> int:
        """Write timings.json, print the summary and the errors; return the exit code."""
        rank = {g: i for i, g in enumerate([*self.order, "catalog-pages"])}
        self.log.sort(key=lambda e: rank[e["group"]])
        write_atomic(self.out / "timings.json", json.dumps(self.log, indent=1))
        built = sum(1 for e in self.log if e["status"] == "built")
        cached = sum(1 for e in self.log if e["status"] == "cached")
        workers = f" ({jobs} workers)" if jobs > 1 and self.todo else ""
        print(
            f"generated: {built} built, {cached} cached, {len(self.failures)} failed{workers}"
            f" → {self.out}"
        )
        for group in rank:  # failures in catalog order, whatever order they happened in
            if group in self.failures:
                print(f"error: {self.failures[group]}", file=sys.stderr)
        return 1 if self.failures else 0


def _run_pool(todo: list[tuple[str, str, Any, str]], jobs: int, finish: Callable) -> None:
    """Build ``todo`` in ``jobs`` spawned workers, in order; ``finish`` each group as it ends."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    ctx = multiprocessing.get_context("spawn")  # nothing inherited; each worker imports torch once
    with ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_init_worker) as pool:
        futures = {
            pool.submit(build_group, kind, arg): (g, kind, arg, key) for g, kind, arg, key in todo
        }
        for fut in as_completed(futures):
            group, kind, arg, key = futures[fut]
            try:
                res = fut.result()
            except BrokenProcessPool as exc:  # a worker was killed (out of memory, a signal)
                res = {"error": f"{group}: the worker process died ({exc})", "cpu": 0, "seconds": 0}
            finish(group, kind, arg, key, res)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.generate", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--only", nargs="+", metavar="ID", help="model ids, paper slugs or figure modules"
    )
    parser.add_argument("--force", action="store_true", help="ignore the cache and rebuild")
    parser.add_argument("--out", type=Path, default=OUT, help="output folder (default: generated/)")
    parser.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=default_jobs(),
        help="worker processes (default: the CPUs available, at most 2; 1 builds in-process)",
    )
    args = parser.parse_args(argv)
    return run(set(args.only) if args.only else None, args.force, args.out, jobs=args.jobs)


if __name__ == "__main__":
    sys.exit(main())
