"""A report: how fast the live preview shows an edit; ``reports/preview.json`` and ``bench.md``.

Run on demand (see :mod:`tools.reports`); ``nox -s bench-preview`` runs it in the docs
virtualenv.

Usage::

    python -m tools.reports.preview [--repeat 3] [--out reports]

It copies the repository into a temporary folder (``generated/`` included, so the preview
starts warm; the real working tree is never edited), starts ``python -m tools.website.serve``
there on a free port of 127.0.0.1, and times, from the write of a file to the moment the page
fetched over HTTP shows the change (median of ``--repeat`` runs each):

1. a one-line edit of ``docs/papers/resnet.md`` (target ≤ 1 s);
2. a model edit: ``num_classes`` of ``reference_impl/resnet.py`` 1000 → 1001 (then 1002, 1003),
   with the catalog's ``params`` of the ResNet models updated as an author must (the generator
   checks them): until the page shows the new parameter count in its table and the new
   ``fc`` width in its diagram (target ≤ 10 s), and until the preview says it is up to date
   (the other variants and the figures regenerated too);
3. three broken files, each then fixed: a note including a snippet section that does not exist,
   a reference file that raises, a catalog typo. Timed until the terminal shows the error line
   (and how many lines it printed; the page must still be served, unchanged), and after the
   fix until the page shows the fixed version (for the catalog, whose fix changes no page,
   until the preview says it is up to date).

Before the preview, with ``--no-baseline`` not given, the note edit is timed the same way under
plain ``mkdocs serve`` (what ``nox -s serve`` ran before the preview: a whole-site rebuild per
change). The preview's CPU use while idle is measured over 10 s. Then it stops the preview with
SIGTERM and checks that no process is left in the copy. The
numbers go to ``reports/preview.json`` and to a section of ``reports/bench.md`` between two
markers (``nox -s bench`` keeps that section when it rewrites the rest).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tools.reports import bench

ROOT = Path(__file__).resolve().parents[2]
NOTE = "docs/papers/resnet.md"
PAGE = "papers/resnet/"
MODULE = "reference_impl/resnet.py"
PAPER = "resnet"
SHOWN = "resnet50"  # the model whose parameter table and overview diagram the page shows
MARK = "预览计时"  # starts the line the note edits write
TARGETS = {"note": 1.0, "model": 10.0}
# the copy: the repository without its virtualenvs, builds and caches (generated/ is kept)
SKIP = {".git", ".nox", "site", "dist", "reports", ".pytest_cache", ".ruff_cache"}


def copy_repo(dest: Path, root: Path = ROOT) -> None:
    """The repository with ``generated/`` (a warm start), without builds and virtualenvs."""
    patterns = shutil.ignore_patterns("__pycache__", "*.pyc", ".site-tmp*")

    def ignore(folder: str, names: list[str]) -> set[str]:
        top = SKIP & set(names) if Path(folder) == root else set()
        return top | patterns(folder, names)

    shutil.copytree(root, dest, ignore=ignore, symlinks=True)


def free_port() -> int:
    """A port of 127.0.0.1 that nothing listens on (now)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``python -m tools.website.serve`` in a copy; its output lines with their times.

    ``baseline``: ``mkdocs serve`` instead, as ``nox -s serve`` ran it before the preview
    (every change a whole-site rebuild, the generator never rerun).
    """

    def __init__(self, repo: Path, baseline: bool = False) -> None:
        self.repo, self.port = repo, free_port()
        env = {**os.environ, **bench.ENV}
        env.pop("PYTHONPATH", None)
        if baseline:
            cmd = [sys.executable, "-m", "mkdocs", "serve", "-a", f"127.0.0.1:{self.port}"]
            self.ready, self.done = r"Serving on http", r"Reloading browsers"
        else:
            cmd = [sys.executable, "-m", "tools.website.serve", "--port", str(self.port)]
            self.ready, self.done = r"^preview: serving", r"^preview: up to date"
        self.proc = subprocess.Popen(
            cmd, cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.lines: list[tuple[float, str]] = []
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self.cond:
                self.lines.append((time.monotonic(), line.rstrip("\n")))
                self.cond.notify_all()

    def wait_line(self, pattern: str, after: float, timeout: float) -> tuple[float, str] | None:
        """The first line since ``after`` that matches ``pattern`` (a regex), and its time."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for t, line in self.lines:
                    if t >= after and regex.search(line):
                        return t, line
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    return None
                self.cond.wait(min(left, 1.0))

    def said(self, after: float, until: float, prefix: str = "") -> list[str]:
        """The lines printed between two times (that start with ``prefix``)."""
        with self.cond:
            return [ln for t, ln in self.lines if after <= t <= until and ln.startswith(prefix)]

    def fetch(self, path: str) -> tuple[int, str]:
        """GET a page over HTTP (waits while the preview builds)."""
        url = f"http://127.0.0.1:{self.port}/{path}"
        try:
            with urllib.request.urlopen(url, timeout=300) as r:
                return r.status, r.read().decode("utf-8")
        except urllib.error.HTTPError as exc:
            return exc.code, ""

    def wait_page(self, needles: list[str], after: float, timeout: float = 300) -> float | None:
        """Seconds from ``after`` until the page shows every needle (``None``: it never did)."""
        deadline = after + timeout
        while time.monotonic() < deadline:
            status, html = self.fetch(PAGE)
            if status == 200 and all(n in html for n in needles):
                return round(time.monotonic() - after, 2)
            # often at first, for the short times; then less, for the preview's CPU time
            time.sleep(0.05 if time.monotonic() - after < 3 else 0.2)
        return None

    def cpu(self) -> float:
        """CPU seconds of the preview's process tree so far (the generator and its workers)."""
        return tree_cpu(self.proc.pid)

    def stop(self) -> float:
        """SIGTERM, as Ctrl-C would; seconds until the preview has exited."""
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return round(time.monotonic() - t0, 2)


def processes_in(folder: Path) -> list[int]:
    """The processes whose working directory is inside ``folder`` (what a stop left behind)."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cwd = Path(os.readlink(proc / "cwd"))
        except OSError:
            continue
        if cwd == folder or folder in cwd.parents:
            found.append(int(proc.name))
    return found


# ── the edits, in the copy ─────────────────────────────────────────────────────────────


def set_marker(text: str, marker: str) -> str:
    """The note with its timing line set to ``marker`` (a paragraph after the title)."""
    if re.search(rf"^{MARK}.*$", text, re.M):
        return re.sub(rf"^{MARK}.*$", marker, text, count=1, flags=re.M)
    return re.sub(r"^(# .*\n)", rf"\1\n{marker}\n", text, count=1, flags=re.M)


def with_classes(text: str, n: int) -> str:
    """``reference_impl/resnet.py`` with ``num_classes`` defaulting to ``n``."""
    new, count = re.subn(r"^(\s*num_classes: int = )\d+", rf"\g<1>{n}", text, count=1, flags=re.M)
    assert count == 1, "num_classes default not found"
    return new


def param_counts(
    module_text: str, catalog_text: str, paper: str = PAPER, only: set[str] | None = None
) -> dict[str, int]:
    """The parameter count of each catalog model of ``paper`` (``only`` some) from ``module_text``.

    As the generator counts (``meta`` device, shared weights once), so that the catalog's
    ``params`` can be updated with the edit, as its check requires.
    """
    import torch

    catalog = tomllib.loads(catalog_text)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"preview_bench_{paper}.py"
        path.write_text(module_text, encoding="utf-8")
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[path.stem] = module  # dataclasses look their module up
        try:
            spec.loader.exec_module(module)
            counts = {}
            for entry in catalog["models"]:
                if entry.get("paper") == paper and (only is None or entry["id"] in only):
                    with torch.device("meta"):
                        model = getattr(module, entry["constructor"])(**entry.get("kwargs", {}))
                    counts[entry["id"]] = sum(p.numel() for p in model.parameters())
        finally:
            sys.modules.pop(path.stem, None)
    return counts


def with_params(catalog_text: str, counts: dict[str, int]) -> str:
    """The catalog with the ``params`` of the given models set."""
    parts = catalog_text.split("[[models]]")
    for i, part in enumerate(parts[1:], 1):
        m = re.search(r'^id = "([^"]+)"', part, re.M)
        if m and m.group(1) in counts:
            n = counts[m.group(1)]
            parts[i] = re.sub(r"^params = \d+", f"params = {n}", part, count=1, flags=re.M)
    return "[[models]]".join(parts)


class Copy:
    """The files the measurements edit, in the copy."""

    def __init__(self, repo: Path) -> None:
        self.repo = repo

    def read(self, rel: str) -> str:
        """A file of the copy."""
        return (self.repo / rel).read_text(encoding="utf-8")

    def write(self, rel: str, text: str) -> None:
        """Write a file of the copy in place, as an editor saves."""
        (self.repo / rel).write_text(text, encoding="utf-8")


# ── the measurements ───────────────────────────────────────────────────────────────────


def up_to_date(server: Server, after: float, timeout: float = 900) -> float | None:
    """Seconds from ``after`` until the preview says it has nothing left to do."""
    hit = server.wait_line(server.done, after, timeout)
    return round(hit[0] - after, 2) if hit else None


def tree_cpu(root: int) -> float:
    """CPU seconds of a process and every live descendant, with the children each has waited for.

    The difference of two readings is what the tree spent in between: a child that ends in
    between moves from the live sum into its parent's count of waited-for children.
    """
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    tree, todo = set(), [root]
    while todo:
        pid = todo.pop()
        tree.add(pid)
        todo += [p for p, parent in parents.items() if parent == pid and p not in tree]
    total = 0.0
    for pid in tree:
        with contextlib.suppress(OSError):
            total += cpu_seconds(pid, children=True)
    return total


def cpu_seconds(pid: int, children: bool = False) -> float:
    """The CPU time a process has used so far (user and system, from ``/proc``).

    ``children``: with that of its children that have ended and been waited for.
    """
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(f) for f in fields[11 : 15 if children else 13])
    return ticks / os.sysconf("SC_CLK_TCK")


def measure_note(server: Server, copy: Copy, i: int) -> dict[str, Any]:
    """A one-line edit of the note: until the page shows the new line."""
    marker = f"{MARK} note-{i}"
    text = set_marker(copy.read(NOTE), marker)
    cpu, t0 = server.cpu(), time.monotonic()
    copy.write(NOTE, text)
    seconds = server.wait_page([marker], t0)
    cpu = round(server.cpu() - cpu, 2)
    up_to_date(server, t0)
    return {"seconds": seconds, "cpu": cpu}


def measure_model(server: Server, copy: Copy, classes: int) -> dict[str, Any]:
    """``num_classes`` → ``classes`` (and the catalog's counts): until table and diagram show it."""
    module = with_classes(copy.read(MODULE), classes)
    catalog = copy.read("tools/catalog.toml")
    counts = param_counts(module, catalog)
    needles = [f"<strong>{counts[SHOWN]:,}</strong>", f"fc {classes} "]
    cpu, t0 = server.cpu(), time.monotonic()
    copy.write(MODULE, module)
    copy.write("tools/catalog.toml", with_params(catalog, counts))
    seconds = server.wait_page(needles, t0)
    cpu = round(server.cpu() - cpu, 2)
    settled = up_to_date(server, t0)
    log = server.said(t0, t0 + (settled or 0), "preview: ")
    return {"classes": classes, "params": counts[SHOWN], "seconds": seconds, "cpu": cpu,
            "settled": settled, "log": log}  # fmt: skip


def break_and_fix(copy: Copy, kind: str, i: int) -> tuple[dict, dict, str, str]:
    """The files a broken edit writes, those its fix writes, its error's pattern, the check."""
    note, module, catalog = copy.read(NOTE), copy.read(MODULE), copy.read("tools/catalog.toml")
    fixed = f"{MARK} fix-{kind}-{i}"
    if kind == "note":
        bad = set_marker(note, f'{MARK} broken\n\n--8<-- "{MODULE}:no-such-section"')
        return {NOTE: bad}, {NOTE: set_marker(note, fixed)}, "no-such-section", fixed
    if kind == "module":
        bad = module + '\nraise RuntimeError("preview bench: broken on purpose")\n'
        base = re.sub(rf"^# {MARK}.*\n", "", module, flags=re.M)  # the previous run's comment
        good = base.replace("# --8<-- [start:config]\n", f"# --8<-- [start:config]\n# {fixed}\n")
        return {MODULE: bad}, {MODULE: good}, "broken on purpose", fixed
    bad = catalog.replace('constructor = "resnet50"', 'constructr = "resnet50"', 1)
    return {"tools/catalog.toml": bad}, {"tools/catalog.toml": catalog}, "constructr", ""


def page_text(server: Server) -> str | None:
    """The page as served, without the live-reload script's per-request numbers."""
    status, html = server.fetch(PAGE)
    return re.sub(r"livereload\(\d+, \d+\)", "", html) if status == 200 else None


def measure_broken(server: Server, copy: Copy, kind: str, i: int) -> dict[str, Any]:
    """A broken file: until its error line; the page still served; the fix: until it shows."""
    bad, good, pattern, fixed = break_and_fix(copy, kind, i)
    before = page_text(server)
    t0 = time.monotonic()
    for rel, text in bad.items():
        copy.write(rel, text)
    hit = server.wait_line(rf"^error: .*{re.escape(pattern)}", t0, 300)
    time.sleep(2.0)  # any further error line would come now
    during = page_text(server)
    t1 = time.monotonic()
    errors = server.said(t0, t1, "error:")
    for rel, text in good.items():
        copy.write(rel, text)
    if fixed:
        recovered = server.wait_page([fixed], t1)
        settled = up_to_date(server, t1)
    else:  # the catalog as it was: no page changes, the preview says it is up to date
        recovered = settled = up_to_date(server, t1)
    return {
        "error_seconds": round(hit[0] - t0, 2) if hit else None,
        "error_lines": errors,
        "served_last_good": during is not None and during == before,
        "recovered_seconds": recovered,
        "settled_seconds": settled,
    }


BROKEN = {
    "note": f"`{NOTE}` includes a snippet section that does not exist",
    "module": f"`{MODULE}` raises on import",
    "catalog": "`tools/catalog.toml`: a field misspelt (`constructr`)",
}


def bench_preview(repeat: int, baseline: bool = True) -> dict[str, Any]:
    """Start the preview in a temporary copy and run every measurement; the report data."""
    result: dict[str, Any] = {"machine": bench.machine(), "load_before": bench.loadavg()}
    result["date"] = time.strftime("%Y-%m-%d %H:%M")
    with tempfile.TemporaryDirectory(prefix="dl-preview-bench-") as tmp:
        repo = Path(tmp) / "repo"
        copy_repo(repo)
        result["warm_start"] = (repo / "generated").is_dir()
        if baseline:
            result["baseline"] = measure_baseline(repo, repeat)
        server = Server(repo)
        try:
            measure_preview(server, Copy(repo), repeat, result)
        finally:
            result["stop_seconds"] = server.stop()
            time.sleep(1.0)
            result["processes_left"] = processes_in(Path(tmp))
    result["load_after"] = bench.loadavg()
    return result


def measure_preview(server: Server, copy: Copy, repeat: int, result: dict[str, Any]) -> None:
    """Every measurement of the preview, into ``result``."""
    t0 = time.monotonic()
    started = server.wait_line(server.ready, t0, 1800)
    if started is None:
        result["error"] = "\n".join(ln for _, ln in server.lines[-20:])
        return
    result["startup_seconds"] = round(started[0] - t0, 1)
    up_to_date(server, t0)
    cpu, wall = cpu_seconds(server.proc.pid), time.monotonic()
    time.sleep(10.0)  # idle: only the stat walks of the watched trees
    idle = (cpu_seconds(server.proc.pid) - cpu) / (time.monotonic() - wall)
    result["idle_cpu_percent"] = round(100 * idle, 1)
    result["note"] = [measure_note(server, copy, i) for i in range(repeat)]
    result["model"] = [measure_model(server, copy, 1001 + i) for i in range(repeat)]
    result["broken"] = {
        kind: [measure_broken(server, copy, kind, i) for i in range(repeat)] for kind in BROKEN
    }


def measure_baseline(repo: Path, repeat: int) -> dict[str, Any]:
    """The note edit under plain ``mkdocs serve`` (the ``nox -s serve`` of before), same copy."""
    server, copy = Server(repo, baseline=True), Copy(repo)
    try:
        t0 = time.monotonic()
        started = server.wait_line(server.ready, t0, 1800)
        if started is None:
            return {"error": "\n".join(ln for _, ln in server.lines[-20:])}
        return {
            "startup_seconds": round(started[0] - t0, 1),
            "note": [measure_note(server, copy, 100 + i) for i in range(repeat)],
        }
    finally:
        server.stop()


# ── the report ─────────────────────────────────────────────────────────────────────────


def median(values: list[float | None]) -> float | None:
    """The median, or ``None`` when any run did not get there."""
    if not values or any(v is None for v in values):
        return None
    return round(statistics.median(v for v in values if v is not None), 2)


def row(
    what: str, values: list[float | None], target: float | None, shown: str, cpu: list | None = None
) -> str:
    """One table row: the median, the runs, whether it meets the target, the median CPU time."""
    m = median(values)
    runs = ", ".join("—" if v is None else f"{v:.2f}" for v in values)
    ok = "" if target is None or m is None else (" ✅" if m <= target else " ❌")
    limit = f"≤ {target:g} s" if target else ""
    said = "never (timed out)" if m is None else f"{m:.2f} s{ok}"
    spent = median(cpu) if cpu else None
    used = "" if spent is None else f"{spent:.2f} s"
    return f"| {what} | {limit} | {said} | {runs} | {used} | {shown} |"


def baseline_row(base: dict[str, Any] | None) -> list[str]:
    """The note edit under plain ``mkdocs serve``, if it was measured."""
    if not base:
        return []
    if "error" in base:
        return [
            "| … under plain `mkdocs serve` (before) | | did not start | | | see preview.json |"
        ]
    label = "… the same under plain `mkdocs serve`, as `nox -s serve` ran it before"
    runs = base["note"]
    cpu = [x.get("cpu") for x in runs]
    return [row(label, [x["seconds"] for x in runs], None, "a whole-site rebuild", cpu)]


def markdown(r: dict[str, Any]) -> str:
    """The report's section of ``reports/bench.md``."""
    m = r["machine"]
    lines = [
        bench.PREVIEW_START,
        "## Live preview (`nox -s serve`)",
        "",
        f"Measured {r['date']} by `nox -s bench-preview` (`tools/reports/preview.py`) on "
        f"{m['cpus']} CPU(s) ({m['cpu']}), load average before/after: {r['load_before']} / "
        f"{r.get('load_after')}. The preview runs in a temporary copy of the repository "
        f"({'warm: generated/ copied' if r.get('warm_start') else 'cold: no generated/'}); "
        "each time runs from the write of the file until the page `papers/resnet/`, fetched "
        "over HTTP from 127.0.0.1, shows the change (or the terminal the error); the median of "
        f"{len(r.get('note', []))} runs. CPU time: of the preview's process tree (the generator "
        "and its workers included) over the same span; a busy machine stretches the wall time, "
        "not this. "
        "Rerun: `nox -s bench-preview`.",
        "",
    ]
    if "error" in r:
        return "\n".join([*lines, f"The preview did not start:\n\n```\n{r['error']}\n```", ""])
    lines += [
        "| edit | target | median | runs (s) | CPU time | until |",
        "| :-- | --: | --: | :-- | --: | :-- |",
        row(f"one line of `{NOTE}`", [x["seconds"] for x in r["note"]], TARGETS["note"],
            "the page shows the new line", [x.get("cpu") for x in r["note"]]),
        *baseline_row(r.get("baseline")),
        row(f"`{MODULE}`: `num_classes` 1000 → {', '.join(str(x['classes']) for x in r['model'])}"
            " (and the catalog's `params`)", [x["seconds"] for x in r["model"]], TARGETS["model"],
            f"the table shows {SHOWN}'s new count, the diagram the new `fc` width",
            [x.get("cpu") for x in r["model"]]),
        row("… every artifact of the edit regenerated", [x["settled"] for x in r["model"]], None,
            "`preview: up to date` (the other variants, the figures)"),
    ]  # fmt: skip
    for kind, label in BROKEN.items():
        runs = r["broken"][kind]
        count = max(len(x["error_lines"]) for x in runs)
        kept = "the page still served unchanged" if all(x["served_last_good"] for x in runs) else (
            "**the page changed or was not served**")  # fmt: skip
        lines.append(row(f"{label}: the error", [x["error_seconds"] for x in runs], None,
                         f"{count} error line(s) at most; {kept}"))  # fmt: skip
        lines.append(row("… fixed", [x["recovered_seconds"] for x in runs], None,
                         "the page shows the fix" if kind != "catalog" else
                         "`preview: up to date` (the fix changes no page)"))  # fmt: skip
    lines += ["", "Error lines, as printed:", ""]
    lines += [f"- `{r['broken'][k][0]['error_lines'][0]}`" for k in BROKEN if
              r["broken"][k][0]["error_lines"]]  # fmt: skip
    left = r.get("processes_left", [])
    lines += [
        "",
        f"Start (warm generator run, then every page built): {r['startup_seconds']:.0f} s. "
        f"Idle, the preview used {r['idle_cpu_percent']:.1f} % of one core (its stat walk of "
        "the watched trees every 0.1 s). "
        f"Stopped with SIGTERM in {r['stop_seconds']:.1f} s; processes left in the copy: "
        f"{len(left)}.",
        "",
        "What the model edit printed (first run):",
        "",
        *[f"- `{line}`" for line in r["model"][0]["log"]],
        bench.PREVIEW_END,
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.reports.preview", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument(
        "--no-baseline",
        action="store_true",
        help="skip the note edit under plain mkdocs serve (the nox -s serve of before)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "reports")
    args = parser.parse_args(argv)
    result = bench_preview(args.repeat, baseline=not args.no_baseline)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "preview.json").write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    section = markdown(result)
    report = args.out / "bench.md"
    old = report.read_text(encoding="utf-8") if report.is_file() else ""
    report.write_text(bench.with_preview(old, section), encoding="utf-8")
    print(section)
    return 0 if "error" not in result else 1


if __name__ == "__main__":
    sys.exit(main())
