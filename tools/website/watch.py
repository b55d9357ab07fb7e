"""Beside the site steps: what changed in the repository, and which pages and models it touches.

The bookkeeping of the live preview (:mod:`tools.website.serve`), kept free of MkDocs so that
``nox -s tests`` checks it: snapshots of the watched trees (a cheap ``stat`` walk, compared
between two polls), which pages include a changed file (``pymdownx.snippets`` includes, followed
through included files, and mkdocstrings' ``::: module`` blocks), which catalog models are built
from a changed reference file, the generator's error lines said in one line, and the search index
of a dirty build merged with the previous one.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path

#: What the preview watches (relative to the repository root); ``generated/`` is only read.
SOURCES = ("docs", "reference_impl", "tools", "mkdocs.yml")
#: The generator's inputs among them: a change here reruns ``python -m tools.generate``.
GENERATOR_INPUTS = ("reference_impl/", "tools/")
# Editors' temporary and backup files (vim's 4913 probe and swap files, emacs' lock and backup
# files, JetBrains' ___jb_tmp___, ``.#`` locks), compiled Python and hidden files: never content.
_IGNORED = re.compile(r"^(\..*|.*~|.*\.sw[a-p]|4913|.*___jb_\w+___|.*\.py[co]|#.*#)$")
_IGNORED_DIRS = {"__pycache__", ".pytest_cache", ".ruff_cache", ".git"}
# generated/'s bookkeeping: written on every run, shown on no page
_GENERATED_SKIP = ("generated/.stamps/", "generated/timings.json")

#: path (relative, POSIX) → (mtime in ns, size)
Snapshot = dict[str, tuple[int, int]]
#: the generator's inputs: a snapshot's files, and what each page includes (generator_inputs)
Inputs = dict[str, object]


def snapshot(root: Path, tops: Iterable[str] = SOURCES) -> Snapshot:
    """``stat`` every file under ``tops`` (symbolic links to folders are not followed)."""
    found: Snapshot = {}
    for top in tops:
        path = root / top
        if path.is_file():
            st = path.stat()
            found[top] = (st.st_mtime_ns, st.st_size)
            continue
        for folder, dirs, files in os.walk(path):
            dirs[:] = [d for d in dirs if d not in _IGNORED_DIRS and not d.startswith(".")]
            rel = Path(folder).relative_to(root).as_posix()
            for name in files:
                if _IGNORED.match(name):
                    continue
                try:
                    st = os.stat(os.path.join(folder, name))
                except FileNotFoundError:  # removed between the listing and the stat
                    continue
                found[f"{rel}/{name}"] = (st.st_mtime_ns, st.st_size)
    return found


def generated_snapshot(root: Path) -> Snapshot:
    """:func:`snapshot` of ``generated/``, without the generator's stamps and timings."""
    return {
        p: v
        for p, v in snapshot(root, ("generated",)).items()
        if not p.startswith(_GENERATED_SKIP) and p not in _GENERATED_SKIP
    }


def changed(old: Mapping[str, object], new: Mapping[str, object]) -> set[str]:
    """Paths added, removed or modified between two snapshots."""
    return {p for p in old.keys() | new.keys() if old.get(p) != new.get(p)}


# ── which pages a file reaches ─────────────────────────────────────────────────────────
# A snippet line of pymdownx.snippets: alone on its line, the path quoted, optionally followed
# by ``:section`` or ``:start:end``. The escaped form (``;--8<--``, generated/source/) is none.
_SNIPPET = re.compile(r"""^[ \t]*--8<--[ \t]+(["'])([^"'\n]+)\1[ \t]*$""", re.M)
_BLOCK = re.compile(r"^[ \t]*--8<--[ \t]*\n(.*?)^[ \t]*--8<--[ \t]*$", re.M | re.S)
_AUTODOC = re.compile(r"^:::[ \t]+([\w.]+)", re.M)


def includes(text: str) -> list[str]:
    """The files a Markdown text includes with ``pymdownx.snippets`` (paths, sections dropped)."""
    found = [m.group(2) for m in _SNIPPET.finditer(text)]
    for block in _BLOCK.finditer(text):
        found += [ln.strip() for ln in block.group(1).splitlines() if ln.strip()]
    return [_strip_section(p) for p in found if not p.startswith(";")]


def _strip_section(target: str) -> str:
    """``reference_impl/resnet.py:config`` → ``reference_impl/resnet.py`` (also ``:3:9``)."""
    path, sep, _ = target.partition(":")
    return path if sep else target


def autodoc_modules(text: str, root: Path) -> list[str]:
    """The files of the modules that mkdocstrings' ``::: a.b.C`` blocks of ``text`` document."""
    found = []
    for name in _AUTODOC.findall(text):
        parts = name.split(".")
        for n in range(len(parts), 0, -1):  # the longest dotted prefix that is a module file
            for rel in ("/".join(parts[:n]) + ".py", "/".join(parts[:n]) + "/__init__.py"):
                if (root / rel).is_file():
                    found.append(rel)
                    break
            else:
                continue
            break
    return found


def page_dependencies(
    root: Path, page: str, auto_append: Iterable[str] = (), autodoc: bool = True
) -> set[str]:
    """Every file the page ``docs/<page>`` is made from: itself, its includes, recursively.

    With ``autodoc``, also the module files its mkdocstrings blocks (``::: a.b``) document.
    """
    seen: set[str] = set()
    todo = [f"docs/{page}", *auto_append]
    while todo:
        rel = todo.pop()
        if rel in seen:
            continue
        seen.add(rel)
        try:
            text = (root / rel).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue  # a missing include: the build names it
        todo += includes(text)
        if autodoc and rel.endswith(".md"):
            todo += autodoc_modules(text, root)
    return seen


def affected_pages(
    root: Path,
    paths: Iterable[str],
    pages: Iterable[str],
    auto_append: Iterable[str] = (),
    autodoc: bool = True,
) -> set[str]:
    """The pages (``docs/``-relative, e.g. ``papers/resnet.md``) made from any of ``paths``."""
    paths = set(paths)
    return {p for p in pages if page_dependencies(root, p, auto_append, autodoc) & paths}


def generator_inputs(root: Path, snap: Snapshot) -> Inputs:
    """What the generator reads, as far as the preview can tell, from a snapshot of the sources.

    Its code and data (``reference_impl/``, ``tools/``) and, for each page, which ``generated/``
    files the page includes: the generator decides drill-down links by which diagrams a page
    shows, so adding or removing such an include reruns it, while an edit of the prose does not.
    """
    found: Inputs = {p: v for p, v in snap.items() if p.startswith(GENERATOR_INPUTS)}
    for page in sorted(doc_pages(snap)):
        try:
            text = (root / "docs" / page).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        shown = sorted({p for p in includes(text) if p.startswith("generated/")})
        found[f"docs/{page} includes"] = tuple(shown)
    return found


def doc_pages(snap: Mapping[str, object]) -> set[str]:
    """The Markdown pages of a snapshot, ``docs/``-relative."""
    return {p.removeprefix("docs/") for p in snap if p.startswith("docs/") and p.endswith(".md")}


# ── which models a file builds ─────────────────────────────────────────────────────────


def models_built_from(root: Path, paths: Iterable[str]) -> list[str]:
    """The catalog's model ids whose paper's module is one of ``paths``, in catalog order.

    Read from ``tools/catalog.toml`` directly (``[papers.<slug>] module`` and each
    ``[[models]]``'s ``paper``): the preview rebuilds these first, as the page shows them. An
    unreadable catalog gives none (the generator run that follows reports it).
    """
    modules = {p for p in paths if p.startswith("reference_impl/") and p.endswith(".py")}
    if not modules:
        return []
    try:
        catalog = tomllib.loads((root / "tools" / "catalog.toml").read_text(encoding="utf-8"))
        papers = catalog.get("papers", {})
        return [
            m["id"]
            for m in catalog.get("models", [])
            if papers.get(m.get("paper"), {}).get("module") in modules and "id" in m
        ]
    except (OSError, ValueError, TypeError, AttributeError):
        return []


_MODEL_FILE = re.compile(r"^generated/models/([^/]+)/")


def models_shown(root: Path, pages: Iterable[str]) -> set[str]:
    """The model ids whose generated files (diagram, table, blocks) a page includes."""
    shown: set[str] = set()
    for page in pages:
        try:
            text = (root / "docs" / page).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        shown.update(m.group(1) for p in includes(text) if (m := _MODEL_FILE.match(p)))
    return shown


# ── the generator's errors in one line ─────────────────────────────────────────────────
_GROUP_PREFIX = re.compile(r"^(?:model '(?P<model>[^']+)'|figures (?P<fig>\S+?\.py)):\s*")
_EXCEPTION = re.compile(r"^(?:[A-Za-z_][\w.]*\.)?\w*(?:Error|Exception|Interrupt)\b.*")
_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+)')


def generator_error(output: str) -> str:
    """What went wrong in a failed ``python -m tools.generate`` run, in one line.

    The generator prints one ``error:`` line per failed group; when a broken reference file
    fails all its models, they share one cause, said once with the groups' names. A crash
    (a traceback) is said by its exception line and where it happened.
    """
    errors = [ln[len("error: ") :].strip() for ln in output.splitlines() if ln.startswith("error:")]
    if not errors:
        lines = output.splitlines()
        last = [ln.strip() for ln in lines if _EXCEPTION.match(ln.strip())]
        frames = [m for ln in lines if (m := _FRAME.match(ln))]
        where = f" (at {Path(frames[-1]['file']).name}:{frames[-1]['line']})" if frames else ""
        tail = last[-1] if last else next((ln for ln in reversed(lines) if ln.strip()), "")
        return f"python -m tools.generate crashed: {tail or 'no output'}{where}"
    causes: dict[str, list[str]] = {}
    for err in errors:
        m = _GROUP_PREFIX.match(err)
        name = (m.group("model") or Path(m.group("fig")).stem + " figures") if m else ""
        causes.setdefault(err[m.end() :] if m else err, []).append(name)
    cause, names = next(iter(causes.items()))
    if len(errors) == 1:
        return errors[0]
    if len(causes) == 1:
        shown = ", ".join(names[:4]) + (", …" if len(names) > 4 else "")
        return f"{cause} ({len(names)} groups failed: {shown})"
    return f"{errors[0]} (and {len(errors) - 1} more failed groups)"


def generator_summary(output: str) -> str:
    """The generator's ``generated: N built, M cached, K failed`` line, without the folder."""
    m = re.search(r"^generated: (.*?)(?: → .*)?$", output, re.M)
    return m.group(1) if m else ""


# ── the search index of a dirty build ──────────────────────────────────────────────────


def page_of(location: str) -> str:
    """The page URL of a search entry's location (``papers/resnet/#问题`` → ``papers/resnet/``)."""
    return location.split("#", 1)[0]


def merge_search_entries(previous: list[dict], written: list[dict], built: set[str]) -> list[dict]:
    """The full search index after a dirty build that rebuilt the pages ``built`` (URLs).

    A dirty build indexes only the pages it rebuilt, ``written`` (the preview starts Material's
    search plugin as for a plain build, so that it does not merge with its own copy, which is
    right only when a single page was rebuilt): the entries of every other page come from
    ``previous``, in their order, and each rebuilt page's from ``written``, in its place.
    """
    fresh: dict[str, list[dict]] = {}
    for entry in written:
        if page_of(entry.get("location", "")) in built:
            fresh.setdefault(page_of(entry["location"]), []).append(entry)
    merged: list[dict] = []
    for entry in previous:
        page = page_of(entry.get("location", ""))
        if page in built:
            merged += fresh.pop(page, [])
        else:
            merged.append(entry)
    for entries in fresh.values():  # pages new since the previous index
        merged += entries
    return merged
