"""Site step 2 of 4: the offline bundle, the site readable from disk (``file://``) as one zip.

Search included (see :mod:`tools.website` for the other steps).

Usage::

    python -m tools.website.bundle                   # → dist/site-offline.zip
    python -m tools.website.bundle --out some.zip

``mkdocs build --strict -f mkdocs-offline.yml`` (Material's ``offline`` plugin: no directory URLs,
the search index inlined as a script, the vendored iframe-worker shim so that search runs from
``file://``) into a temporary folder, then a check that no page loads a script, stylesheet, font
or image from the network, then a deterministic zip (sorted entries, fixed timestamps) written
atomically. The archive holds one folder, ``site-offline/``: unzip it and open
``site-offline/index.html``. Run by ``nox -s docs`` after the generator (it reads ``generated/``),
beside the main build (``tools/website/build.py --offline``).

Cached by content: the hash of every input of the build (the two configs, ``docs/``,
``reference_impl/``, ``generated/``, this tool, the library versions) is kept next to the zip, and
an unchanged hash skips the build (``--force`` rebuilds), so a warm ``nox -s docs`` costs one
strict build, not two.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import posixpath
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from tools.website.build import compact_html, compact_search_index

ROOT = Path(__file__).resolve().parents[2]
CONFIG = "mkdocs-offline.yml"
OUT = ROOT / "dist" / "site-offline.zip"
FOLDER = "site-offline"
ENV = {"NO_MKDOCS_2_WARNING": "1", "PYTHONHASHSEED": "0"}
_ZIP_TIME = (2020, 1, 1, 0, 0, 0)
# What the offline build reads (files under these, sorted), and what it may ignore.
INPUTS = (
    "mkdocs.yml",
    CONFIG,
    "docs",
    "reference_impl",
    "generated",
    "tools/website/bundle.py",
    "tools/website/build.py",
)
IGNORED = (".stamps", "__pycache__", "timings.json")
LIBS = ("mkdocs", "mkdocs-material", "mkdocstrings", "mkdocstrings-python", "pymdown-extensions")

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


# A relative link in directory-URL form (``../resnet-api/#x``), left as written in raw HTML.
_DIR_LINK = re.compile(
    r"(?P<attr>\b(?:xlink:)?href)=\""
    r"(?P<path>(?![a-z][a-z0-9+.-]*:|/)[^\"#?]*/)(?P<frag>#[^\"]*)?\""
)


# A link to a paper's PDF written for the served site, where the PDF sits in the page's folder
# (``../papers/resnet/resnet.pdf``, the 教师资源 page): offline it sits beside the page's .html
# file (``papers/resnet.pdf``, see tools/website/pdf.py ``offline_path``).
_PDF_LINK = re.compile(
    r'(?P<attr>\bhref=")(?P<dir>(?:[^"/:#?]+/)*)(?P<name>[\w-]+)/(?P=name)\.pdf"'
)


def offline_pdf_links(text: str) -> str:
    """``…/<name>/<name>.pdf`` → ``…/<name>.pdf`` in the links of an offline page."""
    return _PDF_LINK.sub(lambda m: f'{m["attr"]}{m["dir"]}{m["name"]}.pdf"', text)


def undirectory_links(site: Path) -> int:
    """Rewrite raw directory-style links of an offline build to its ``.html`` files.

    MkDocs rewrites the Markdown links of an offline build (no directory URLs), but not the links
    inside raw HTML, such as the diagrams' node links, which are written for the served site:
    from ``papers/resnet/`` to ``../resnet-api/#…``. Resolved from where the page is served
    (``papers/resnet.html`` is served as ``papers/resnet/``), they point to ``resnet-api.html#…``;
    a link whose target does not exist is left alone. Links to a paper's PDF follow the PDF
    (:func:`offline_pdf_links`). Returns the number of directory links rewritten.
    """
    count = 0
    for page in sorted(site.rglob("*.html")):
        rel = page.relative_to(site).as_posix()
        served = rel.removesuffix("index.html") if rel.endswith("index.html") else rel[:-5] + "/"

        def fix(m: re.Match[str], rel: str = rel, served: str = served) -> str:
            nonlocal count
            target = posixpath.normpath(posixpath.join(posixpath.dirname("/" + served), m["path"]))
            target = target.strip("/")
            for cand in (f"{target}.html", f"{target}/index.html" if target else "index.html"):
                if (site / cand).is_file():
                    count += 1
                    url = posixpath.relpath(cand, posixpath.dirname(rel) or ".")
                    return f'{m["attr"]}="{url}{m["frag"] or ""}"'
            return m.group(0)

        text = page.read_text(encoding="utf-8")
        new = offline_pdf_links(_DIR_LINK.sub(fix, text))
        if new != text:
            page.write_text(new, encoding="utf-8")
    return count


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


def input_key(root: Path = ROOT, config: str = CONFIG) -> str:
    """SHA-256 over the offline build's inputs: paths and contents, library versions."""
    from importlib.metadata import PackageNotFoundError, version

    h = hashlib.sha256()
    for lib in (*LIBS, "jieba"):
        try:
            h.update(f"{lib}=={version(lib)}\n".encode())
        except PackageNotFoundError:
            h.update(f"{lib} missing\n".encode())
    for name in dict.fromkeys((*INPUTS, config)):
        top = root / name
        files = [top] if top.is_file() else sorted(top.rglob("*")) if top.is_dir() else []
        for p in files:
            if p.is_file() and not _ignored(p.relative_to(root)):
                data = p.read_bytes()
                rel = p.relative_to(root).as_posix().encode()
                h.update(len(rel).to_bytes(8, "little") + rel + len(data).to_bytes(8, "little"))
                h.update(data)
    return h.hexdigest()


def _ignored(rel: Path) -> bool:
    """Generator bookkeeping and caches, which do not change the site."""
    return any(part in IGNORED for part in rel.parts)


def key_file(out: Path) -> Path:
    """Where the hash of the inputs of ``out`` is kept (next to it, hidden)."""
    return out.with_name(f".{out.name}.key")


def build(out: Path = OUT, root: Path = ROOT, config: str = CONFIG, force: bool = False) -> int:
    """Build, check and zip the offline site unless its inputs are unchanged; return exit code."""
    t0 = time.perf_counter()
    key = input_key(root, config)
    stamp = key_file(out)
    if not force and out.is_file() and stamp.is_file() and stamp.read_text().strip() == key:
        os.utime(out)  # fresh for mtime-based checks too
        print(f"offline bundle: inputs unchanged, {out} kept ({time.perf_counter() - t0:.1f} s)")
        return 0
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
        undirectory_links(site)
        remote = remote_loads(site)
        if remote:
            for line in remote:
                print(f"error: the offline bundle loads from the network: {line}", file=sys.stderr)
            return 1
        compact_search_index(site)
        compact_html(site)
        n = write_zip(site, out)
        stamp.write_text(key + "\n")
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
        prog="python -m tools.website.bundle", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--out", type=Path, default=OUT, help="zip file (default: dist/…)")
    parser.add_argument("--config", default=CONFIG, help=f"MkDocs config (default: {CONFIG})")
    parser.add_argument("--force", action="store_true", help="rebuild even if nothing changed")
    args = parser.parse_args(argv)
    out = args.out if args.out.is_absolute() else ROOT / args.out
    return build(out, ROOT, args.config, force=args.force)


if __name__ == "__main__":
    sys.exit(main())
