"""Generate the site's diagrams, parameter tables, figures and catalog pages into ``generated/``.

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
import hashlib
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tools import fonts
from tools.catalog import ROOT, CatalogError, Model, load

OUT = ROOT / "generated"
GENERATOR_FILES = (
    "tools/catalog.py",
    "tools/trace.py",
    "tools/diagram.py",
    "tools/tables.py",
    "tools/generate.py",
    "tools/fonts.py",
    "tools/downloads.py",
)
FIGURE_FILES = (
    "tools/figures/__init__.py",
    "tools/figures/style.py",
    "tools/generate.py",
    "tools/fonts.py",
)
DOT_HELP = (
    "Graphviz's `dot` program was not found on PATH: install Graphviz "
    "(Debian/Ubuntu: `sudo apt-get install graphviz`; macOS: `brew install graphviz`; "
    "Windows: `winget install graphviz`), then rerun."
)


class GenerationError(RuntimeError):
    """One artifact group could not be generated; the message names it and the cause."""


# ── small pure helpers ─────────────────────────────────────────────────────────────────────


def write_atomic(path: Path, text: str) -> bool:
    """Write ``text`` to ``path`` via a temporary file and rename; return whether it changed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode("utf-8")
    if path.exists() and path.read_bytes() == data:
        return False
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return True


def file_hash(*parts: str | bytes) -> str:
    """SHA-256 over the given parts (each length-prefixed)."""
    h = hashlib.sha256()
    for part in parts:
        b = part.encode("utf-8") if isinstance(part, str) else part
        h.update(len(b).to_bytes(8, "little") + b)
    return h.hexdigest()


def sources(*rel_paths: str) -> list[bytes]:
    """Contents of repository files (missing ones hash as their name, so adding one rebuilds)."""
    out = []
    for rel in sorted(set(rel_paths)):
        p = ROOT / rel
        out.append(rel.encode() + b"\0" + (p.read_bytes() if p.is_file() else b"<missing>"))
    return out


def versions(found: fonts.Fonts | None = None) -> str:
    """Library versions and fonts that change the artifacts (nothing heavy is imported).

    The fonts are the files Graphviz and matplotlib measure labels with (:mod:`tools.fonts`).
    """
    from importlib.metadata import version

    dot = shutil.which("dot")
    dot_v = ""
    if dot:
        dot_v = subprocess.run([dot, "-V"], capture_output=True, text=True).stderr.strip()
    libs = ("torch", "graphviz", "matplotlib", "torchinfo", "numpy")
    vers = [sys.version_info[:2], *(version(name) for name in libs), dot_v]
    return json.dumps([*vers, fonts.cache_key(found)])


class Stamp:
    """The cache: one stamp file per artifact group, holding the hash of its inputs and outputs."""

    def __init__(self, out: Path) -> None:
        self.dir = out / ".stamps"

    def fresh(self, group: str, key: str, out: Path) -> bool:
        """True when the group was generated from the same inputs and its files are intact."""
        stamp = self.dir / f"{group}.json"
        if not stamp.is_file():
            return False
        try:
            data = json.loads(stamp.read_text())
        except ValueError:
            return False
        if data.get("key") != key:
            return False
        return all((out / f).is_file() for f in data.get("files", []))

    def save(self, group: str, key: str, files: list[str]) -> None:
        """Record the inputs' hash and the files written, last of all."""
        write_atomic(self.dir / f"{group}.json", json.dumps({"key": key, "files": sorted(files)}))


# ── model artifacts ─────────────────────────────────────────────────────────────────────────


def model_key(model: Model, vers: str) -> str:
    """Hash of everything a model's artifacts depend on."""
    entry = json.dumps(model.entry(), sort_keys=True, default=str)
    page = f"docs/{model.paper.page}"  # which diagrams the page shows decides drill-down links
    return file_hash(vers, entry, *sources(model.paper.module, page, *GENERATOR_FILES))


def api_page(page: str) -> str:
    """The API page beside a paper's note: ``papers/resnet.md`` → ``papers/resnet-api.md``.

    Each note's ``::: reference_impl.<slug>`` block lives on this page of its own, so that the
    note reads as a note and stays light; the note's diagrams link to it.
    """
    return page.removesuffix(".md") + "-api.md"


def api_link(page: str, anchor: str) -> str:
    """A link from the note ``page`` (as its built HTML, with directory URLs) to an API anchor.

    Raw HTML (the diagrams' node links) is not rewritten by MkDocs, so this is the URL a browser
    resolves from ``papers/resnet/``: ``../resnet-api/#reference_impl.resnet.Bottleneck``. The
    offline bundle, built without directory URLs, rewrites such links (tools/offline_bundle.py).
    """
    return f"../{Path(api_page(page)).stem}/#{anchor}"


def model_artifacts(model: Model) -> tuple[dict[str, str], Any]:
    """Build, trace and measure one model; return {relative path: text} and its stats."""
    import torch

    from tools import downloads, tables
    from tools.trace import trace

    torch.manual_seed(0)
    try:
        net = model.build()
    except CatalogError:
        raise
    except Exception as exc:
        raise GenerationError(
            f"model {model.id!r}: {model.paper.module}:{model.constructor}(**{model.kwargs}) "
            f"failed to build: {type(exc).__name__}: {exc}"
        ) from exc
    inputs = model.example_inputs()
    try:
        tr = trace(net, inputs)
        stats = tables.measure(net, inputs)
    except Exception as exc:
        raise GenerationError(
            f"model {model.id!r}: forward on inputs {[list(i.shape) for i in model.inputs]} "
            f"({model.device}) failed: {type(exc).__name__}: {exc}"
        ) from exc
    problem = tables.gap_problem(model, stats)
    if problem:
        raise GenerationError(f"model {model.id!r}: {problem}")

    def link(cls: type) -> str | None:
        if getattr(cls, "__module__", "") == model.paper.import_name:
            return api_link(model.paper.page, f"{cls.__module__}.{cls.__qualname__}")
        return None

    files = diagram_files(model, tr, link)
    files[f"models/{model.id}/params.md"] = tables.params_table(model, tr, stats)
    files[f"models/{model.id}/summary.json"] = json.dumps(
        {
            "id": model.id,
            "params": stats.params,
            "trainable": stats.trainable,
            "macs": stats.macs,
            "torchinfo_params": stats.torchinfo_params,
        },
        indent=1,
    )
    return downloads.add_downloads(model, files), stats  # SVG, CSV and LaTeX downloads


# ── diagrams ───────────────────────────────────────────────────────────────────────────────

MAX_DETAILS = 12  # detail diagrams drawn for one model's collapsed boxes


@dataclasses.dataclass
class View:
    """One diagram of a model: the overview, a catalog block, or a detail of a collapsed box."""

    name: str  # file name under models/<id>/ ("diagram", "blocks/<name>")
    root: str
    opts: dict[str, Any]
    caption: str
    anchor: str  # the <figure> id


class Drill:
    """Drill-down: a collapsed box links to a detail diagram of a module with its structure.

    That is a catalog block included on the paper's page, or one drawn under the diagram that
    needs it (at most ``MAX_DETAILS``).
    """

    def __init__(self, model: Model, tr: Any, known: dict[tuple, str], drawn: list[View]) -> None:
        self.model, self.tr, self.known = model, tr, dict(known)
        self.modules = tr.modules()
        self.queue: list[View] = []
        self.drawn = drawn  # every detail of the model so far: numbers stay unique on the page

    def detail(self, unit: Any) -> str | None:
        """The anchor of the detail diagram of a collapsed box (queued to be drawn if new)."""
        from tools import diagram

        mod = self.modules.get(unit.path)
        if mod is None or type(mod).__module__ != self.model.paper.import_name:
            return None
        sig = diagram.signature(mod)
        if sig not in self.known:
            n = len(self.drawn)
            if n >= MAX_DETAILS:
                return None
            anchor = f"{self.model.id}-detail-{n + 1}"
            title = f"{unit.path} · {type(mod).__name__} 的内部结构"
            view = View(f"detail-{n + 1}", unit.path, {}, title, anchor)
            self.queue.append(view)
            self.drawn.append(view)
            self.known[sig] = anchor
        return f"#{self.known[sig]}"


def diagram_views(model: Model) -> list[View]:
    """The overview and the catalog's blocks of a model."""
    opts = {"depth": 2, "merge": "segments", "rankdir": "TB", **model.diagram}
    views = [View("diagram", "", opts, f"{model.name} 结构总览", f"{model.id}-diagram")]
    for b in model.blocks:
        o = {"depth": b.depth, "merge": b.merge, "rankdir": "TB"}
        views.append(View(f"blocks/{b.name}", b.path, o, b.title, f"{model.id}-blocks-{b.name}"))
    return views


def on_page(model: Model) -> set[str]:
    """Generated diagram files of this model that its paper's page includes."""
    page = ROOT / "docs" / model.paper.page
    text = page.read_text(encoding="utf-8") if page.is_file() else ""
    return set(re.findall(rf"generated/models/{re.escape(model.id)}/([\w/-]+)\.md", text))


def diagram_files(model: Model, tr: Any, link: Callable[[type], str | None]) -> dict[str, str]:
    """Every diagram of a model, each within the size budget, with drill-down links."""
    from tools import diagram

    views, included = diagram_views(model), on_page(model)
    modules = tr.modules()
    known = {
        diagram.signature(modules[v.root]): v.anchor
        for v in views[1:]
        if v.name in included and v.root in modules
    }
    files: dict[str, str] = {}
    drawn: list[View] = []
    for view in views:
        drill = Drill(model, tr, known, drawn)
        body, raw = render_view(model, tr, view, link, drill)
        files[f"models/{model.id}/{view.name}.svg"] = raw
        while drill.queue:  # details of this view's collapsed boxes, drawn under it
            detail = drill.queue.pop(0)
            text, files[f"models/{model.id}/{detail.name}.svg"] = render_view(
                model, tr, detail, link, drill
            )
            body += text
        files[f"models/{model.id}/{view.name}.md"] = body
    return files


def render_view(model: Model, tr: Any, view: View, link: Callable, drill: Drill) -> tuple[str, str]:
    """One diagram, fitted to the budget (a too-large one raises), as a <figure> and legend."""
    from tools import diagram

    o = {"depth": float("inf"), "merge": "none", **view.opts}
    layout = o.get("layout") if isinstance(o.get("layout"), dict) else None
    keep = tuple(layout.get(k, "") for k in ("down", "up")) if layout else ()
    try:
        g, mode, size = diagram.fit(tr, root=view.root, depth=o["depth"], merge=o["merge"],
                                    layout=layout, title=view.caption, keep=keep)  # fmt: skip
    except KeyError as exc:
        raise GenerationError(
            f"model {model.id!r}: block path {view.root!r} is not a submodule "
            "(fix 'blocks' in tools/catalog.toml)"
        ) from exc
    if not size.fits():
        raise GenerationError(
            f"model {model.id!r}: diagram {view.name!r} is over the size budget even one level "
            f"up: {size.height:.0f} px tall, text {size.text:.1f} px at {diagram.COLUMN_PX} px "
            f"(limits {diagram.MAX_HEIGHT_PX} px, {diagram.MIN_TEXT_PX} px)"
        )
    dot = diagram.to_dot(g, link=link, mode=mode, rankdir=o.get("rankdir", "TB"),
                         detail=drill.detail, layout=layout)  # fmt: skip
    raw, inline = diagram.render(dot)
    kinds = {u.kind for grp in g.groups for u in (g.units[k] for k in grp)}
    size_attr = f'data-height="{size.height:.0f}" data-text="{size.text:.1f}"'
    root = tr.modules().get(view.root)
    api = link(type(root)) if root is not None else None
    api_ref = f'；<a href="{api}">{type(root).__name__} 的 API 参考</a>' if api else ""
    unused = "".join(
        f"；<code>{name}</code>（{n:,} 个参数）在示例输入下没有用到" for name, n in g.unused.items()
    )
    return (
        f'<figure class="dl-diagram" id="{view.anchor}" {size_attr} data-search-exclude>\n{inline}'
        f"<figcaption>{view.caption}（由 <code>tools/generate.py</code> 从 "
        f"<code>{model.paper.module}</code> 生成；点击方框跳到它的结构图或 API 参考"
        f"{api_ref}{unused}）"
        "</figcaption>\n"
        f"</figure>\n\n{diagram.legend(kinds)}\n\n"
    ), raw


# ── figures ────────────────────────────────────────────────────────────────────────────────


def figure_modules() -> list[str]:
    """Slugs that have a figure module, sorted."""
    return sorted(
        p.stem
        for p in (ROOT / "tools" / "figures").glob("*.py")
        if p.stem not in ("__init__", "style")
    )


def figure_svg(draw: Callable[[], Any], name: str) -> str:
    """Render one figure to an SVG whose foreground follows the page colour (currentColor)."""
    import io

    import matplotlib.pyplot as plt

    from tools.figures import style

    with style.style_context():
        fig = draw()
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
        plt.close(fig)
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]
    svg = svg.replace(style.FG, "currentColor").replace(style.FG.upper(), "currentColor")
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)
    svg = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{name}-{m.group(1)}"', svg)
    svg = re.sub(
        r'(xlink:href|href)="#([^"]+)"', lambda m: f'{m.group(1)}="#{name}-{m.group(2)}"', svg
    )
    svg = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{name}-{m.group(1)})", svg)
    svg = re.sub(
        r'<svg([^>]*?) width="([\d.]+)pt" height="([\d.]+)pt"',
        lambda m: (
            f'<svg{m.group(1)} class="dl-svg" data-search-exclude '
            f'style="max-width:{float(m.group(2)) * 4 / 3:.0f}px" width="100%"'
        ),
        svg,
        count=1,
    )
    fonts.check_svg(svg)  # a character without a glyph (¤ or a box) stops the build
    svg = trim_precision(svg)
    return "\n".join(line for line in svg.splitlines() if line.strip()) + "\n"


# Geometry attributes of matplotlib's SVG (never text content, never ids or embedded images).
_GEOMETRY = re.compile(r'(\s(?:d|x|y|x1|x2|y1|y2|cx|cy|r|width|height|points|transform)=")([^"]*)"')
_LONG_FLOAT = re.compile(r"(?<![\w.])-?\d+\.\d{3,}")
_NO_ROTATION = re.compile(r'\stransform="rotate\(-?0 [-\d. ]+\)"')


def trim_precision(svg: str) -> str:
    """Round the coordinates of a figure's SVG to 1/100 pt and drop no-op rotations.

    Matplotlib writes six decimals (10⁻⁶ pt); a hundredth of a point is far below a screen pixel,
    and the rounding shortens a vector figure by about 10 % (up to 21 %).
    """

    def short(m: re.Match[str]) -> str:
        text = f"{float(m.group(0)):.2f}".rstrip("0").rstrip(".")
        return "0" if text == "-0" else text

    svg = _NO_ROTATION.sub("", svg)
    return _GEOMETRY.sub(lambda m: m.group(1) + _LONG_FLOAT.sub(short, m.group(2)) + '"', svg)


def figure_artifacts(slug: str) -> dict[str, str]:
    """All figures of one figure module."""
    mod = importlib.import_module(f"tools.figures.{slug}")
    files: dict[str, str] = {}
    for name, draw in sorted(mod.FIGURES.items()):
        try:
            svg = figure_svg(draw, name)
        except Exception as exc:
            raise GenerationError(
                f"figure {name!r} (tools/figures/{slug}.py): {type(exc).__name__}: {exc}"
            ) from exc
        doc = (draw.__doc__ or "").strip()
        caption = doc.splitlines()[0].rstrip("。.") if doc else name
        files[f"figures/{name}.svg"] = svg
        files[f"figures/{name}.md"] = (
            f'<figure class="dl-figure" id="fig-{name}">\n{svg}'
            f"<figcaption>{caption}（由 <code>tools/figures/{slug}.py</code> 生成）</figcaption>\n"
            "</figure>\n"
        )
    return files


def figure_key(slug: str, vers: str) -> str:
    """Hash of a figure module, the files it declares in DEPENDS, and the figure style."""
    text = (ROOT / "tools" / "figures" / f"{slug}.py").read_text(encoding="utf-8")
    m = re.search(r"^DEPENDS\s*=\s*\(([^)]*)\)", text, flags=re.M)
    deps = re.findall(r"['\"]([^'\"]+)['\"]", m.group(1)) if m else []
    return file_hash(vers, *sources(f"tools/figures/{slug}.py", *deps, *FIGURE_FILES))


# ── the run ───────────────────────────────────────────────────────────────────────────────


def emit(out: Path, files: dict[str, str]) -> list[str]:
    """Write the files atomically; return their relative paths."""
    for rel, text in sorted(files.items()):
        write_atomic(out / rel, text)
    return sorted(files)


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
        else:
            result = {"files": figure_artifacts(arg)}
    except (GenerationError, CatalogError) as exc:
        result = {"error": str(exc)}
    except Exception as exc:  # an unexpected bug: still one line, with where it happened
        where = traceback.extract_tb(exc.__traceback__)[-1]
        at = f" (at {Path(where.filename).name}:{where.lineno})"
        if kind == "model":
            result = {"error": f"model {arg.id!r}: {type(exc).__name__}: {exc}{at}"}
        else:
            result = {"error": f"figures tools/figures/{arg}.py: {type(exc).__name__}: {exc}{at}"}
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
    "figures-gan": 27.0,
    "figures-rnn": 26.0,
    "figures-contrastive": 20.0,
    "figures-mae": 12.0,
    "figures-dmtet": 10.5,
    "figures-clip": 8.5,
    "figures-transformer": 6.0,
    "model-unclip-decoder": 5.0,
    "figures-resnet": 4.6,
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
    try:
        catalog = load()
    except CatalogError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if shutil.which("dot") is None:
        print(f"error: {DOT_HELP}", file=sys.stderr)
        return 1
    try:  # the fonts that measure the labels: one log line, or one error line
        found = fonts.resolve()
    except fonts.FontError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(fonts.describe(found))
    out.mkdir(parents=True, exist_ok=True)
    stamps = Stamp(out)
    vers = versions(found)
    failures: dict[str, str] = {}
    log: list[dict[str, Any]] = []
    summaries: dict[str, Any] = {}
    order: list[str] = []  # every group considered, in catalog order (the report's order)
    todo: list[tuple[str, str, Any, str]] = []  # (group, kind, model or slug, key)

    def wanted(name: str) -> bool:
        return only is None or name in only

    for model in catalog.models:
        group = f"model-{model.id}"
        summary_path = out / "models" / model.id / "summary.json"
        if not wanted(model.id) and not wanted(model.paper.slug):
            if summary_path.is_file():
                summaries[model.id] = json.loads(summary_path.read_text())
            continue
        key = model_key(model, vers)
        order.append(group)
        if not force and stamps.fresh(group, key, out):
            log.append({"group": group, "status": "cached", "seconds": 0.0})
            summaries[model.id] = json.loads(summary_path.read_text())
        else:
            todo.append((group, "model", model, key))

    for slug in figure_modules():
        group = f"figures-{slug}"
        if not wanted(slug) and not wanted(group):
            continue
        key = figure_key(slug, vers)
        order.append(group)
        if not force and stamps.fresh(group, key, out):
            log.append({"group": group, "status": "cached", "seconds": 0.0})
        else:
            todo.append((group, "figures", slug, key))

    def finish(group: str, kind: str, arg: Any, key: str, res: dict[str, Any]) -> None:
        entry = {"group": group, "status": "built"}
        entry.update({k: res[k] for k in ("seconds", "cpu", "peak_mb", "raised_peak") if k in res})
        log.append(entry)
        if "error" in res:
            entry["status"] = "failed"
            failures[group] = res["error"]
            return
        stamps.save(group, key, emit(out, res["files"]))
        if kind == "model":
            summaries[arg.id] = res["summary"]

    if todo:
        last = _previous_seconds(out)
        todo.sort(key=lambda t: (-last.get(t[0], 0.0), t[1] == "model"))
        jobs = max(1, min(jobs, len(todo)))
        if jobs == 1:
            for group, kind, arg, key in todo:
                finish(group, kind, arg, key, build_group(kind, arg))
        else:
            _run_pool(todo, jobs, finish)

    # catalog pages: cheap, always rewritten (unchanged content is not touched on disk)
    from tools import overview, pages, tables
    from tools import sources as source_copies

    with timed(log, "catalog-pages") as entry:
        entry["status"] = "written"
        files = {"papers/index.md": pages.papers_index(catalog)}
        # verbatim copies of the modules for the pages' full-source blocks (tools/sources.py)
        modules = {p.slug: ROOT / p.module for p in catalog.papers.values()}
        files.update(source_copies.source_artifacts(modules))
        for slug, paper in catalog.papers.items():
            files[f"papers/{slug}/card.md"] = pages.card(paper, catalog)
            stats = {
                m.id: tables.Stats(s["params"], s["trainable"], s["macs"], {}, None)
                for m in catalog.models_of(slug)
                if (s := summaries.get(m.id))
            }
            files[f"papers/{slug}/variants.md"] = pages.variants_table(
                catalog.models_of(slug), stats
            )
            vs = pages.paper_vs_impl(paper, catalog.models_of(slug), stats)
            files[f"papers/{slug}/vs.md"] = vs
            files[f"papers/{slug}/tests.md"] = pages.tests_list(slug)
        try:  # overview, glossary, reading paths, abbreviations (tools/overview.py)
            files.update(overview.files(catalog, summaries, out=out))
        except ValueError as exc:  # ReaderDataError or invalid TOML: one line, others kept
            entry["status"] = "failed"
            failures["catalog-pages"] = f"reader pages: {exc}"
        emit(out, files)

    rank = {g: i for i, g in enumerate([*order, "catalog-pages"])}
    log.sort(key=lambda e: rank[e["group"]])
    write_atomic(out / "timings.json", json.dumps(log, indent=1))
    built = sum(1 for e in log if e["status"] == "built")
    cached = sum(1 for e in log if e["status"] == "cached")
    workers = f" ({jobs} workers)" if jobs > 1 and todo else ""
    print(f"generated: {built} built, {cached} cached, {len(failures)} failed{workers} → {out}")
    for group in rank:  # failures in catalog order, whatever order they happened in
        if group in failures:
            print(f"error: {failures[group]}", file=sys.stderr)
    return 1 if failures else 0


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
