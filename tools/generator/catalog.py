"""Step 1 of the generator: the catalog, one list of the papers and models the site shows.

Read from ``tools/catalog.toml`` (see :mod:`tools.generator` for the other steps).

The generator, the pages (through generated cards and tables) and the tests all read it, so nothing
about a model is written twice. :func:`load` validates the file and names the entry at fault.
"""

from __future__ import annotations

import dataclasses
import importlib
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CATALOG_PATH = ROOT / "tools" / "catalog.toml"

_ID = re.compile(r"^[a-z][a-z0-9-]*$")
_DTYPES = {
    "float": "float32",
    "float32": "float32",
    "long": "int64",
    "int64": "int64",
    "bool": "bool",
}


class CatalogError(ValueError):
    """A catalog entry is malformed or points at something that does not exist."""


@dataclasses.dataclass(frozen=True)
class Paper:
    """A paper: its citation and where its page and reference module live."""

    slug: str
    title: str
    title_zh: str
    authors: tuple[str, ...]
    venue: str
    year: int
    module: str
    page: str
    arxiv: str | None = None
    doi: str | None = None
    url: str | None = None
    #: The matching episode of Mu Li's 论文精读 video series (only where one exists).
    video: str | None = None
    #: Slugs of the papers to read first (links in the page card, reading order on the site).
    prereq: tuple[str, ...] = ()
    #: BibTeX entry type: ``inproceedings``, ``article`` (journal) or ``misc`` (preprint); by
    #: default ``misc`` when the venue is ``arXiv``, else ``inproceedings``.
    bibtex_type: str | None = None
    #: Journal details for the BibTeX entry, when known.
    pages: str | None = None
    volume: str | None = None
    number: str | None = None
    #: The other papers a page covers (GPT · GPT-2 · GPT-3): cited in the card's BibTeX block.
    also: tuple[Paper, ...] = ()

    @property
    def short_name(self) -> str:
        """The name before the colon of ``title_zh`` (``ResNet`` for ``ResNet：深度残差学习``)."""
        return re.split(r"[：:]", self.title_zh, maxsplit=1)[0].strip()

    @property
    def import_name(self) -> str:
        """Dotted module name, e.g. ``reference_impl.resnet``."""
        return self.module.removesuffix(".py").replace("/", ".")

    @property
    def link(self) -> str:
        """The paper's canonical link: arXiv, else DOI, else the given URL."""
        if self.arxiv:
            return f"https://arxiv.org/abs/{self.arxiv}"
        if self.doi:
            return f"https://doi.org/{self.doi}"
        return self.url or ""


@dataclasses.dataclass(frozen=True)
class InputSpec:
    """One positional forward argument: a random tensor of this shape and dtype."""

    shape: tuple[int, ...]
    dtype: str = "float32"
    high: int = 2

    def make(self, device: str, seed: int = 0) -> Any:
        """Build the example tensor (random values on CPU, empty on ``meta``)."""
        import torch

        dtype = getattr(torch, self.dtype)
        if device == "meta":
            return torch.empty(self.shape, dtype=dtype, device="meta")
        gen = torch.Generator().manual_seed(seed)
        if dtype.is_floating_point:
            return torch.randn(self.shape, generator=gen, dtype=dtype)
        if dtype == torch.bool:
            return torch.ones(self.shape, dtype=torch.bool)
        return torch.randint(0, self.high, self.shape, generator=gen, dtype=dtype)


@dataclasses.dataclass(frozen=True)
class Block:
    """A detail diagram of one submodule of a model."""

    name: str
    path: str
    title: str
    depth: float = float("inf")  # levels of modules to open inside the block
    merge: str = "none"  # "none" (every layer a box), "segments" or "chains"
    #: the anchor of a block diagram of another model of the same paper that shows this
    #: submodule's structure (``<model id>-blocks-<name>``): nothing is drawn, its boxes link there
    same_as: str = ""


@dataclasses.dataclass(frozen=True)
class Model:
    """A model shown on the site: how to build it, its example input and the paper's figures."""

    id: str
    paper: Paper
    name: str
    constructor: str
    inputs: tuple[InputSpec, ...]
    params: int
    kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    device: str = "meta"
    paper_params: float | None = None
    paper_macs: float | None = None
    paper_source: str = ""
    gap: str = ""
    blocks: tuple[Block, ...] = ()
    diagram: dict[str, Any] = dataclasses.field(default_factory=dict)
    table_depth: int = 2

    def build(self) -> Any:
        """Construct the model on its device (``meta`` by default: exact shapes, no memory)."""
        import torch

        fn = self.resolve()
        with torch.device(self.device):
            model = fn(**self.kwargs)
        return model.eval()

    def resolve(self) -> Callable[..., Any]:
        """Import the paper's module and return the constructor callable."""
        try:
            module = importlib.import_module(self.paper.import_name)
        except Exception as exc:  # an import error is reported with the model that needs it
            raise CatalogError(
                f"model {self.id!r}: cannot import {self.paper.module}: {type(exc).__name__}: {exc}"
            ) from exc
        fn = getattr(module, self.constructor, None)
        if not callable(fn):
            raise CatalogError(
                f"model {self.id!r}: unknown constructor {self.constructor!r} in "
                f"{self.paper.module} (fix 'constructor' in tools/catalog.toml)"
            )
        return fn

    def example_inputs(self, device: str | None = None) -> tuple[Any, ...]:
        """The forward arguments listed in the catalog, on the model's device."""
        return tuple(spec.make(device or self.device) for spec in self.inputs)

    def entry(self) -> dict[str, Any]:
        """The raw catalog fields (for cache keys)."""
        data = dataclasses.asdict(self)
        paper = dataclasses.asdict(self.paper)
        data["paper"] = {k: v for k, v in paper.items() if k not in _READER_FIELDS}
        return data


@dataclasses.dataclass(frozen=True)
class Theme:
    """A section of the site's navigation and of the home page's paper list."""

    name: str
    papers: tuple[str, ...]  # slugs, in reading order


@dataclasses.dataclass(frozen=True)
class Catalog:
    """All papers (by slug, in file order), all models (in file order) and the themes."""

    papers: dict[str, Paper]
    models: tuple[Model, ...]
    #: ``[[themes]]``: every paper in exactly one, in this order (empty: no grouping)
    themes: tuple[Theme, ...] = ()

    def model(self, model_id: str) -> Model:
        """Return the model with this id."""
        for m in self.models:
            if m.id == model_id:
                return m
        raise CatalogError(f"no model {model_id!r} in tools/catalog.toml")

    def models_of(self, slug: str) -> list[Model]:
        """The models of one paper, in catalog order."""
        return [m for m in self.models if m.paper.slug == slug]


def _need(entry: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in entry:
        raise CatalogError(f"{where}: missing field {key!r}")
    value = entry[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise CatalogError(f"{where}: field {key!r} has the wrong type ({type(value).__name__})")
    return value


def _input(spec: Any, where: str) -> InputSpec:
    if isinstance(spec, list):
        spec = {"shape": spec}
    if not isinstance(spec, dict) or "shape" not in spec:
        raise CatalogError(f"{where}: each input is a shape list or a table with 'shape'")
    shape = spec["shape"]
    if not shape or not all(isinstance(n, int) and n > 0 for n in shape):
        raise CatalogError(f"{where}: input shape {shape!r} must be positive integers")
    dtype = _DTYPES.get(spec.get("dtype", "float"))
    if dtype is None:
        raise CatalogError(f"{where}: unknown input dtype {spec.get('dtype')!r}")
    return InputSpec(tuple(shape), dtype, int(spec.get("high", 2)))


def _str_list(entry: dict[str, Any], key: str, where: str) -> list[str]:
    value = entry.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CatalogError(f"{where}: field {key!r} must be a list of strings")
    return value


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


_VIDEO = re.compile(
    r"^https://(www\.bilibili\.com/video/BV\w+/?|youtu\.be/[\w-]+|www\.youtube\.com/watch\?v=[\w-]+)$"
)
_BIBTEX_TYPES = {"inproceedings", "article", "misc"}


def _check_prereqs(papers: dict[str, Paper]) -> None:
    """Every prerequisite names a catalog paper, and following them never loops."""
    for slug, paper in papers.items():
        where = f"tools/catalog.toml [papers.{slug}]"
        for dep in paper.prereq:
            if dep not in papers:
                raise CatalogError(f"{where}: unknown prereq {dep!r} (not a [papers.*] slug)")
            if dep == slug:
                raise CatalogError(f"{where}: a paper cannot be its own prereq")

    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(slug: str, path: list[str]) -> None:
        if state.get(slug) == 2:
            return
        if state.get(slug) == 1:
            cycle = " → ".join([*path[path.index(slug) :], slug])
            raise CatalogError(f"tools/catalog.toml [papers.{slug}]: prereq cycle {cycle}")
        state[slug] = 1
        for dep in papers[slug].prereq:
            visit(dep, [*path, slug])
        state[slug] = 2

    for slug in papers:
        visit(slug, [])


_PAPER_FIELDS = {f.name for f in dataclasses.fields(Paper)}
#: Paper fields shown only in the page card: they do not change a model's artifacts (cache key).
_READER_FIELDS = {"video", "prereq", "bibtex_type", "pages", "volume", "number", "also"}
_MODEL_FIELDS = {f.name for f in dataclasses.fields(Model)}


def parse(data: dict[str, Any], root: Path = ROOT) -> Catalog:
    """Validate the decoded TOML and build the :class:`Catalog`."""
    papers: dict[str, Paper] = {}
    for slug, entry in data.get("papers", {}).items():
        papers[slug] = _paper(slug, entry, root)
    _check_prereqs(papers)
    models: list[Model] = []
    seen: set[str] = set()
    for i, entry in enumerate(data.get("models", [])):
        models.append(_model(i, entry, papers, seen))
    _check_same_as(models)
    return Catalog(papers, tuple(models), _themes(data.get("themes", []), papers))


def _themes(entries: Any, papers: dict[str, Paper]) -> tuple[Theme, ...]:
    """The ``[[themes]]`` list: names, and every paper in exactly one of them."""
    if not entries:
        return ()
    themes, seen = [], {}
    for i, entry in enumerate(entries):
        where = f"tools/catalog.toml [[themes]] #{i + 1}"
        if not isinstance(entry, dict) or set(entry) != {"name", "papers"}:
            raise CatalogError(f"{where}: a theme has exactly 'name' and 'papers'")
        name = _need(entry, "name", str, where)
        slugs = _str_list(entry, "papers", where)
        for slug in slugs:
            if slug not in papers:
                raise CatalogError(f"{where} ({name}): unknown paper {slug!r}")
            if slug in seen:
                raise CatalogError(f"{where} ({name}): paper {slug!r} is already in {seen[slug]!r}")
            seen[slug] = name
        themes.append(Theme(name, tuple(slugs)))
    missing = [s for s in papers if s not in seen]
    if missing:
        raise CatalogError(
            f"tools/catalog.toml: paper(s) {', '.join(missing)} in no [[themes]] entry "
            "(add each to the 'papers' of one theme)"
        )
    return tuple(themes)


def _check_same_as(models: list[Model]) -> None:
    """Every ``same_as`` names a drawn block of another model of the same paper."""
    drawn = {
        (m.paper.slug, f"{m.id}-blocks-{b.name}") for m in models for b in m.blocks if not b.same_as
    }
    for m in models:
        for b in m.blocks:
            if b.same_as and (m.paper.slug, b.same_as) not in drawn:
                raise CatalogError(
                    f"tools/catalog.toml model {m.id!r}: block {b.name!r}: same_as {b.same_as!r} "
                    f"is not a block drawn for another model of paper {m.paper.slug!r}"
                )


def _paper(slug: str, entry: dict[str, Any], root: Path) -> Paper:
    """One ``[papers.<slug>]`` table, checked."""
    where = f"tools/catalog.toml [papers.{slug}]"
    if not _ID.match(slug):
        raise CatalogError(f"{where}: slug must be lowercase letters, digits and hyphens")
    unknown = set(entry) - _PAPER_FIELDS
    if unknown:
        raise CatalogError(f"{where}: unknown field(s) {sorted(unknown)}")
    paper = Paper(
        slug=slug,
        title=_need(entry, "title", str, where),
        title_zh=entry.get("title_zh", entry.get("title", "")),
        authors=tuple(_need(entry, "authors", list, where)),
        venue=_need(entry, "venue", str, where),
        year=_need(entry, "year", int, where),
        module=_need(entry, "module", str, where),
        page=_need(entry, "page", str, where),
        arxiv=entry.get("arxiv"),
        doi=entry.get("doi"),
        url=entry.get("url"),
        video=entry.get("video"),
        prereq=tuple(_str_list(entry, "prereq", where)),
        bibtex_type=entry.get("bibtex_type"),
        pages=entry.get("pages"),
        volume=_opt_str(entry.get("volume")),
        number=_opt_str(entry.get("number")),
        also=tuple(  # checked as papers of their own, with the page and module of this one
            _paper(
                f"{slug}-also-{i}",
                {**other, "module": entry.get("module"), "page": entry.get("page")},
                root,
            )
            for i, other in enumerate(entry.get("also", []))
        ),
    )
    if paper.video and not _VIDEO.match(paper.video):
        raise CatalogError(f"{where}: video must be a bilibili.com or youtube.com https URL")
    if paper.bibtex_type is not None and paper.bibtex_type not in _BIBTEX_TYPES:
        raise CatalogError(f"{where}: bibtex_type must be one of {sorted(_BIBTEX_TYPES)}")
    if not (root / paper.module).is_file():
        raise CatalogError(f"{where}: module {paper.module} does not exist")
    if not paper.link:
        raise CatalogError(f"{where}: give one of arxiv, doi or url")
    return paper


def _model(i: int, entry: dict[str, Any], papers: dict[str, Paper], seen: set[str]) -> Model:
    """The ``i``-th ``[[models]]`` entry, checked (``seen``: the ids so far, for duplicates)."""
    where = f"tools/catalog.toml [[models]] #{i + 1}"
    model_id = _need(entry, "id", str, where)
    where = f"tools/catalog.toml model {model_id!r}"
    if not _ID.match(model_id):
        raise CatalogError(f"{where}: id must be lowercase letters, digits and hyphens")
    if model_id in seen:
        raise CatalogError(f"{where}: duplicate id")
    seen.add(model_id)
    unknown = set(entry) - _MODEL_FIELDS
    if unknown:
        raise CatalogError(f"{where}: unknown field(s) {sorted(unknown)}")
    slug = _need(entry, "paper", str, where)
    if slug not in papers:
        raise CatalogError(f"{where}: unknown paper {slug!r}")
    inputs = tuple(_input(s, where) for s in _need(entry, "inputs", list, where))
    device = entry.get("device", "meta")
    if device not in ("meta", "cpu"):
        raise CatalogError(f"{where}: device must be 'meta' or 'cpu'")
    return Model(
        id=model_id,
        paper=papers[slug],
        name=entry.get("name", model_id),
        constructor=_need(entry, "constructor", str, where),
        inputs=inputs,
        params=_need(entry, "params", int, where),
        kwargs=dict(entry.get("kwargs", {})),
        device=device,
        paper_params=entry.get("paper_params"),
        paper_macs=entry.get("paper_macs"),
        paper_source=entry.get("paper_source", ""),
        gap=entry.get("gap", ""),
        blocks=_blocks(entry, where),
        diagram=dict(entry.get("diagram", {})),
        table_depth=int(entry.get("table_depth", 2)),
    )


def _blocks(entry: dict[str, Any], where: str) -> tuple[Block, ...]:
    """A model's ``blocks``: the sub-modules drawn as diagrams of their own."""
    blocks = []
    for b in entry.get("blocks", []):
        if not isinstance(b, dict) or not {"name", "path"} <= set(b):
            raise CatalogError(f"{where}: each block needs 'name' and 'path'")
        if not _ID.match(b["name"]):
            raise CatalogError(f"{where}: block name {b['name']!r} must be lowercase-hyphen")
        if b.get("merge", "none") not in ("none", "segments", "chains"):
            raise CatalogError(f"{where}: block merge must be none, segments or chains")
        depth = float(b.get("depth", float("inf")))
        title, merge = b.get("title", b["path"]), b.get("merge", "none")
        blocks.append(Block(b["name"], b["path"], title, depth, merge, b.get("same_as", "")))
    return tuple(blocks)


def load(path: Path = CATALOG_PATH) -> Catalog:
    """Read and validate ``tools/catalog.toml``."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{path.relative_to(ROOT)}: not valid TOML: {exc}") from exc
    return parse(data, path.resolve().parent.parent)
