"""Beside the generator's flow: what is rebuilt. Hashes of inputs, stamps, atomic writes.

An artifact group (a model, a paper's figures, the catalog pages) is rebuilt only when the hash of
everything it depends on changes: its source files, its catalog entry, the generator's code, the
library versions and the fonts. Files are written atomically and the group's stamp last, so an
interrupted run leaves no half-written file and the next run redoes what was not stamped.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tools.generator import fonts
from tools.generator.catalog import ROOT, Model

GENERATOR_FILES = (
    "tools/generator/catalog.py",
    "tools/generator/trace.py",
    "tools/generator/diagram.py",
    "tools/generator/tables.py",
    "tools/generate.py",
    "tools/generator/cache.py",
    "tools/generator/models.py",
    "tools/generator/fonts.py",
    "tools/generator/downloads.py",
)
FIGURE_FILES = (
    "tools/generator/figures/__init__.py",
    "tools/generator/figures/style.py",
    "tools/generator/downloads.py",  # the figures' standalone SVG downloads
    "tools/generate.py",
    "tools/generator/fonts.py",
)


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

    The fonts are the files Graphviz and matplotlib measure labels with (:mod:`.fonts`).
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


def resolve_fonts(out: Path | None) -> fonts.Fonts:
    """This machine's label fonts, remembered beside the stamps of ``out`` (see fonts.resolve)."""
    return fonts.resolve(memo=Stamp(out).dir / "fonts.json" if out is not None else None)


# ── the keys ──────────────────────────────────────────────────────────────────────────────


def model_key(model: Model, vers: str) -> str:
    """Hash of everything a model's artifacts depend on."""
    entry = json.dumps(model.entry(), sort_keys=True, default=str)
    page = f"docs/{model.paper.page}"  # which diagrams the page shows decides drill-down links
    return file_hash(vers, entry, *sources(model.paper.module, page, *GENERATOR_FILES))


def figure_key(slug: str, vers: str) -> str:
    """Hash of a figure module, the files it declares in DEPENDS, and the figure style."""
    text = (ROOT / "tools" / "generator" / "figures" / f"{slug}.py").read_text(encoding="utf-8")
    m = re.search(r"^DEPENDS\s*=\s*\(([^)]*)\)", text, flags=re.M)
    deps = re.findall(r"['\"]([^'\"]+)['\"]", m.group(1)) if m else []
    return file_hash(vers, *sources(f"tools/generator/figures/{slug}.py", *deps, *FIGURE_FILES))


def emit(out: Path, files: dict[str, str]) -> list[str]:
    """Write the files atomically; return their relative paths."""
    for rel, text in sorted(files.items()):
        write_atomic(out / rel, text)
    return sorted(files)
