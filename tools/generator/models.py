"""Step 6 of the generator: one model → its diagrams, parameter table, summary and downloads.

Builds the model from the catalog, traces it (:mod:`~tools.generator.trace`), draws the views the
page shows (:mod:`~tools.generator.diagram`: the overview, catalog blocks and a detail diagram for
each collapsed box), writes its table (:mod:`~tools.generator.tables`) and the downloads
(:mod:`~tools.generator.downloads`).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tools.generator import GenerationError
from tools.generator.catalog import ROOT, CatalogError, Model


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
    offline bundle, built without directory URLs, rewrites such links (tools/website/bundle.py).
    """
    return f"../{Path(api_page(page)).stem}/#{anchor}"


def model_artifacts(model: Model) -> tuple[dict[str, str], Any]:
    """Build, trace and measure one model; return {relative path: text} and its stats."""
    import torch

    from tools.generator import downloads, tables
    from tools.generator.trace import trace

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
    needs it (at most ``MAX_DETAILS``). A box whose structure adds or lacks one layer of a drawn
    one (:func:`~tools.generator.diagram.variant_of`) links to that diagram.
    """

    def __init__(self, model: Model, tr: Any, known: dict[tuple, str], drawn: list[View]) -> None:
        self.model, self.tr, self.known = model, tr, dict(known)
        self.modules = tr.modules()
        self.queue: list[View] = []
        self.drawn = drawn  # every detail of the model so far: numbers stay unique on the page

    def detail(self, unit: Any) -> str | None:
        """The anchor of the detail diagram of a collapsed box (queued to be drawn if new)."""
        from tools.generator import diagram

        mod = self.modules.get(unit.path)
        if mod is None or type(mod).__module__ != self.model.paper.import_name:
            return None
        sig = diagram.signature(mod)
        sig = diagram.variant_of(sig, list(self.known)) or sig
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
        if b.same_as:  # drawn for another model: only linked to (see diagram_files)
            continue
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
    from tools.generator import diagram

    views, included = diagram_views(model), on_page(model)
    modules = tr.modules()
    known = {
        diagram.signature(modules[v.root]): v.anchor
        for v in views[1:]
        if v.name in included and v.root in modules
    }
    known |= {
        diagram.signature(modules[b.path]): b.same_as
        for b in model.blocks
        if b.same_as and b.path in modules
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
    from tools.generator import diagram

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
