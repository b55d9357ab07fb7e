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

from tools.catalog import ROOT, CatalogError, Model, load

OUT = ROOT / "generated"
GENERATOR_FILES = (
    "tools/catalog.py",
    "tools/trace.py",
    "tools/diagram.py",
    "tools/tables.py",
    "tools/generate.py",
)
FIGURE_FILES = ("tools/figures/__init__.py", "tools/figures/style.py", "tools/generate.py")
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


def versions() -> str:
    """Library versions that change the artifacts (from metadata: nothing heavy is imported)."""
    from importlib.metadata import version

    dot = shutil.which("dot")
    dot_v = ""
    if dot:
        dot_v = subprocess.run([dot, "-V"], capture_output=True, text=True).stderr.strip()
    libs = ("torch", "graphviz", "matplotlib", "torchinfo", "numpy")
    return json.dumps([sys.version_info[:2], *(version(name) for name in libs), dot_v])


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


def model_artifacts(model: Model) -> tuple[dict[str, str], Any]:
    """Build, trace and measure one model; return {relative path: text} and its stats."""
    import torch

    from tools import tables
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
            return f"#{cls.__module__}.{cls.__qualname__}"
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
    return files, stats


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

    def __init__(self, model: Model, tr: Any, known: dict[tuple, str]) -> None:
        self.model, self.tr, self.known = model, tr, dict(known)
        self.modules = tr.modules()
        self.queue: list[View] = []

    def detail(self, unit: Any) -> str | None:
        """The anchor of the detail diagram of a collapsed box (queued to be drawn if new)."""
        from tools import diagram

        mod = self.modules.get(unit.path)
        if mod is None or type(mod).__module__ != self.model.paper.import_name:
            return None
        sig = diagram.signature(mod)
        if sig not in self.known:
            n = len(self.queue)
            if n >= MAX_DETAILS:
                return None
            anchor = f"{self.model.id}-detail-{n + 1}"
            title = f"{unit.path} · {type(mod).__name__} 的内部结构"
            self.queue.append(View(f"detail-{n + 1}", unit.path, {}, title, anchor))
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
    for view in views:
        drill = Drill(model, tr, known)
        body, raw = render_view(model, tr, view, link, drill)
        while drill.queue:  # details of this view's collapsed boxes, drawn under it
            body += render_view(model, tr, drill.queue.pop(0), link, drill)[0]
        files[f"models/{model.id}/{view.name}.md"] = body
        files[f"models/{model.id}/{view.name}.svg"] = raw
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
    raw, inline = diagram.render(dot, view.anchor)
    kinds = {u.kind for grp in g.groups for u in (g.units[k] for k in grp)}
    size_attr = f'data-height="{size.height:.0f}" data-text="{size.text:.1f}"'
    unused = "".join(
        f"；<code>{name}</code>（{n:,} 个参数）在示例输入下没有用到" for name, n in g.unused.items()
    )
    return (
        f'<figure class="dl-diagram" id="{view.anchor}" {size_attr}>\n{inline}'
        f"<figcaption>{view.caption}（由 <code>tools/generate.py</code> 从 "
        f"<code>{model.paper.module}</code> 生成；点击方框跳到它的结构图或 API 参考{unused}）"
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
            f'<svg{m.group(1)} class="dl-svg" '
            f'style="max-width:{float(m.group(2)) * 4 / 3:.0f}px" width="100%"'
        ),
        svg,
        count=1,
    )
    return "\n".join(line for line in svg.splitlines() if line.strip()) + "\n"


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


def run(only: set[str] | None, force: bool, out: Path = OUT) -> int:
    """Generate everything (or only the named ids); return the process exit code."""
    try:
        catalog = load()
    except CatalogError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if shutil.which("dot") is None:
        print(f"error: {DOT_HELP}", file=sys.stderr)
        return 1
    out.mkdir(parents=True, exist_ok=True)
    stamps = Stamp(out)
    vers = versions()
    failures: list[str] = []
    log: list[dict[str, Any]] = []
    summaries: dict[str, Any] = {}

    def wanted(name: str) -> bool:
        return only is None or name in only

    for model in catalog.models:
        group = f"model-{model.id}"
        key = model_key(model, vers)
        summary_path = out / "models" / model.id / "summary.json"
        if not wanted(model.id) and not wanted(model.paper.slug):
            if summary_path.is_file():
                summaries[model.id] = json.loads(summary_path.read_text())
            continue
        with timed(log, group) as entry:
            if not force and stamps.fresh(group, key, out):
                entry["status"] = "cached"
                summaries[model.id] = json.loads(summary_path.read_text())
                continue
            try:
                files, stats = model_artifacts(model)
            except (GenerationError, CatalogError) as exc:
                entry["status"] = "failed"
                failures.append(str(exc))
                continue
            except Exception as exc:  # an unexpected bug: still one line, with where it happened
                entry["status"] = "failed"
                where = traceback.extract_tb(exc.__traceback__)[-1]
                failures.append(
                    f"model {model.id!r}: {type(exc).__name__}: {exc} "
                    f"(at {Path(where.filename).name}:{where.lineno})"
                )
                continue
            stamps.save(group, key, emit(out, files))
            summaries[model.id] = json.loads(files[f"models/{model.id}/summary.json"])

    for slug in figure_modules():
        group = f"figures-{slug}"
        if not wanted(slug) and not wanted(group):
            continue
        key = figure_key(slug, vers)
        with timed(log, group) as entry:
            if not force and stamps.fresh(group, key, out):
                entry["status"] = "cached"
                continue
            try:
                files = figure_artifacts(slug)
            except GenerationError as exc:
                entry["status"] = "failed"
                failures.append(str(exc))
                continue
            except Exception as exc:
                entry["status"] = "failed"
                failures.append(f"figures tools/figures/{slug}.py: {type(exc).__name__}: {exc}")
                continue
            stamps.save(group, key, emit(out, files))

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
        try:  # overview, glossary, reading paths, abbreviations (tools/overview.py)
            files.update(overview.files(catalog, summaries, out=out))
        except ValueError as exc:  # ReaderDataError or invalid TOML: one line, others kept
            entry["status"] = "failed"
            failures.append(f"reader pages: {exc}")
        emit(out, files)

    write_atomic(out / "timings.json", json.dumps(log, indent=1))
    built = sum(1 for e in log if e["status"] == "built")
    cached = sum(1 for e in log if e["status"] == "cached")
    print(f"generated: {built} built, {cached} cached, {len(failures)} failed → {out}")
    for msg in failures:
        print(f"error: {msg}", file=sys.stderr)
    return 1 if failures else 0


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
    args = parser.parse_args(argv)
    return run(set(args.only) if args.only else None, args.force, args.out)


if __name__ == "__main__":
    sys.exit(main())
