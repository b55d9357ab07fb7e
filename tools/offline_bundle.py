"""Build the offline bundle: the site, readable from disk (``file://``) with search, as one zip.

Usage::

    python -m tools.offline_bundle                   # → dist/site-offline.zip
    python -m tools.offline_bundle --out some.zip

``mkdocs build --strict -f mkdocs-offline.yml`` (Material's ``offline`` plugin: no directory URLs,
the search index inlined as a script, the vendored iframe-worker shim so that search runs from
``file://``) into a temporary folder, then a check that no page loads a script, stylesheet, font
or image from the network, then a deterministic zip (sorted entries, fixed timestamps) written
atomically. The archive holds one folder, ``site-offline/``: unzip it and open
``site-offline/index.html``. Run by ``nox -s docs`` after the generator (it reads ``generated/``).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = "mkdocs-offline.yml"
OUT = ROOT / "dist" / "site-offline.zip"
FOLDER = "site-offline"
ENV = {"NO_MKDOCS_2_WARNING": "1", "PYTHONHASHSEED": "0"}
_ZIP_TIME = (2020, 1, 1, 0, 0, 0)

# Resources a page loads (not links it points to): these must all be local.
_LOADS = re.compile(
    r"""<(?:script|img|source|iframe)\b[^>]*\bsrc=["'](?P<a>[^"']+)["']"""
    r"""|<link\b[^>]*\bhref=["'](?P<b>[^"']+)["'][^>]*>"""
    r"""|url\(\s*["']?(?P<c>[^"')]+)""",
    re.I,
)
_REMOTE = re.compile(r"^(?:https?:)?//", re.I)
# <link> relations that do not load anything when the page is opened.
_LINK_SKIP = re.compile(r"""\brel=["'](?:canonical|alternate|prev|next|author|license)["']""", re.I)


def remote_loads(site: Path) -> list[str]:
    """``page: url`` for every script, stylesheet, image or CSS ``url()`` fetched from a network."""
    found: list[str] = []
    for path in sorted(site.rglob("*")):
        if path.suffix not in (".html", ".css") or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for m in _LOADS.finditer(text):
            url = m.group("a") or m.group("b") or m.group("c") or ""
            if m.group("b") and _LINK_SKIP.search(m.group(0)):
                continue
            if _REMOTE.match(url.strip()):
                found.append(f"{path.relative_to(site)}: {url}")
    return found


def write_zip(folder: Path, out: Path, arcroot: str = FOLDER) -> int:
    """Zip ``folder`` as ``arcroot/…``, sorted, with fixed timestamps; return the file count."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
            for p in files:
                info = zipfile.ZipInfo(f"{arcroot}/{p.relative_to(folder).as_posix()}", _ZIP_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                zf.writestr(info, p.read_bytes())
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return len(files)


def add_files(out: Path, files: dict[str, Path], arcroot: str = FOLDER) -> None:
    """Put ``files`` ({path in the site: file}) into the zip, replacing same-named entries.

    ``nox -s pdf`` adds the PDFs it printed; the entries stay sorted with fixed timestamps.
    """
    with zipfile.ZipFile(out) as zf:
        entries = {i.filename: zf.read(i) for i in zf.infolist()}
    entries |= {f"{arcroot}/{rel}": path.read_bytes() for rel, path in files.items()}
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
            for name in sorted(entries):
                info = zipfile.ZipInfo(name, _ZIP_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                zf.writestr(info, entries[name])
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def build(out: Path = OUT, root: Path = ROOT, config: str = CONFIG) -> int:
    """Build, check and zip the offline site; return the process exit code."""
    t0 = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix=".site-tmp-offline-"))
    site = tmp / FOLDER
    try:
        cmd = [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", config, "-d", str(site)]
        proc = subprocess.run(
            cmd,
            cwd=root,
            env={**os.environ, **ENV},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        if proc.returncode != 0 or not (site / "index.html").is_file():
            sys.stderr.write(proc.stdout)
            print(f"error: offline build ({config}) failed; {out} left unchanged", file=sys.stderr)
            return proc.returncode or 1
        if not (site / "search" / "search_index.js").is_file():
            print("error: offline build has no search/search_index.js", file=sys.stderr)
            return 1
        remote = remote_loads(site)
        if remote:
            for line in remote:
                print(f"error: the offline bundle loads from the network: {line}", file=sys.stderr)
            return 1
        n = write_zip(site, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    size = out.stat().st_size / 1e6
    print(
        f"offline bundle: {n} files, {size:.1f} MB in {time.perf_counter() - t0:.1f} s → {out} "
        f"(unzip, then open {FOLDER}/index.html)"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.offline_bundle", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--out", type=Path, default=OUT, help="zip file (default: dist/…)")
    parser.add_argument("--config", default=CONFIG, help=f"MkDocs config (default: {CONFIG})")
    args = parser.parse_args(argv)
    out = args.out if args.out.is_absolute() else ROOT / args.out
    return build(out, ROOT, args.config)


if __name__ == "__main__":
    sys.exit(main())
