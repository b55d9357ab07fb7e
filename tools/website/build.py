r"""Site step 1 of 4: build the site into a temporary folder, swap it into ``site/`` on success.

The first step after the generator (see :mod:`tools.website`).

Usage::

    python -m tools.website.build              # mkdocs build --strict, then swap into site/
    python -m tools.website.build --generate   # run python -m tools.generate first
    python -m tools.website.build --if-stale   # keep site/ when it is newer than every input
    python -m tools.website.build --offline    # and the offline bundle, in parallel

A failed generation or a failed strict build leaves the previous ``site/`` untouched and exits
non-zero with one ``error:`` line per problem naming the page or model and the cause (``-v``
adds MkDocs' full log). ``nox -s docs`` runs ``--offline``; ``nox -s browser``, ``--if-stale``.

After the build, :func:`compact_search_index` rewrites ``search/search_index.json``: UTF-8
instead of ``\uXXXX`` escapes (a Chinese character takes 3 bytes, not 6) and without the code
of the "完整代码" (full source) sections, whose parts the pages' snippet sections already index,
and without the API pages' signature blocks, and with every glossary term kept whole for Chinese
search (:func:`keep_terms_whole`; jieba and the glossary load in a thread while MkDocs builds);
:func:`compact_html` unwraps the code tokens that Material does not colour and drops the
indentation between tags (:func:`collapse_gaps`). With ``--offline``
the offline bundle is built at the same time in a second process (the two builds are
independent; on two cores the pair takes about as long as one), and is skipped when its inputs
have not changed.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# the glossary's Chinese terms and a jieba cut that keeps them whole (see glossary_cut)
GlossaryCut = tuple[list[str], Callable[[str], Iterable[str]]]
TMP_PREFIX = ".site-tmp-"  # git-ignored (/.site-tmp*/); the pid follows, so stale ones are found
ENV = {"NO_MKDOCS_2_WARNING": "1", "PYTHONHASHSEED": "0"}
# What a build reads: the freshness check of --if-stale compares their mtimes with site/.
INPUTS = ("mkdocs.yml", "docs", "reference_impl", "generated")
IGNORED_INPUTS = ("generated/.stamps", "generated/timings.json")

_LOG_LINE = re.compile(r"^(?:ERROR|WARNING)\s+-\s+(?P<msg>.*)$")
_ABORTED = re.compile(r"^Aborted with (?P<n>\d+) warnings? in strict mode!$")


def newest_input(root: Path) -> tuple[float, Path | None]:
    """The newest mtime among the build's inputs, and that file."""
    newest, which = 0.0, None
    skip = tuple(root / p for p in IGNORED_INPUTS)
    for name in INPUTS:
        top = root / name
        paths = [top] if top.is_file() else top.rglob("*") if top.is_dir() else []
        for p in paths:
            if p.is_file() and not any(p == s or s in p.parents for s in skip):
                mtime = p.stat().st_mtime
                if mtime > newest:
                    newest, which = mtime, p
    return newest, which


def is_fresh(site: Path, root: Path = ROOT) -> bool:
    """True when ``site/index.html`` is newer than every input of the build."""
    index = site / "index.html"
    if not index.is_file():
        return False
    newest, _ = newest_input(root)
    return newest <= index.stat().st_mtime


def problems(log: str, root: Path = ROOT) -> list[str]:
    """The lines of a MkDocs log that say what went wrong (warnings abort a strict build).

    A warning followed by an indented list (e.g. pages missing from ``nav``) becomes one line.
    A missing snippet section names only the section; the include line is looked up and added.
    """
    found: list[str] = []
    lines = log.splitlines()
    for line in lines:
        m = _LOG_LINE.match(line.strip())
        if m and not _ABORTED.match(m.group("msg")):
            found.append(m.group("msg").strip())
        elif found and re.match(r"^\s+- \S", line) and found[-1].endswith((":", ",")):
            found[-1] += " " + line.strip()[2:] + ","
    found = [_where_snippet(msg.rstrip(","), root) for msg in found]
    if not found:  # a crash before logging: the exception line of the traceback
        tail = [ln for ln in lines if re.match(r"^[\w.]+(Error|Exception)\b", ln)]
        found = tail[-1:] or [ln for ln in lines if ln.strip()][-1:]
    return found


def _where_snippet(msg: str, root: Path) -> str:
    """Name the include line of a missing snippet section (MkDocs names only page and section)."""
    m = re.search(r"page '([^']+)': Snippet section '([^']+)' could not be located", msg)
    if not m:
        return msg
    page = root / "docs" / m.group(1)
    if page.is_file():
        for n, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            inc = re.search(rf"""--8<--\s+["']([^"']+):{re.escape(m.group(2))}["']""", line)
            if inc:
                return (
                    f"docs/{m.group(1)}:{n} includes section '{m.group(2)}' of {inc.group(1)}, "
                    f"which has no '# --8<-- [start:{m.group(2)}]' marker ({msg})"
                )
    return msg


# The heading (id) of the section that holds a page's whole module, verbatim (docs/papers/*.md).
FULL_SOURCE_SECTION = "完整代码"
# The API pages (papers/<slug>-api/): their signature blocks repeat the entry's name (its title)
# and the parameters its docstring lists.
API_PAGE = "-api/"
_PRE = re.compile(r"<pre>.*?</pre>", re.S)


# jieba's word breaks (U+200B, 3 bytes in UTF-8; about 60,000 of them) that touch a character
# the search separator of mkdocs.yml splits on anyway (whitespace, punctuation, < >) or another
# break change no token: leaving them out keeps the same words in 8 % fewer bytes.
_SEPARATOR_CHARS = r"\s\u3000\-_,:;!?=\[\]()<>\"`/|、。，．？！；：（）《》【】「」“”‘’…·"
_REDUNDANT_ZWSP = re.compile(
    rf"(?<=[{_SEPARATOR_CHARS}])\u200b|\u200b(?=[{_SEPARATOR_CHARS}]|\u200b)"
)


# ── Chinese search (issue 11) ───────────────────────────────────────────────────────────
# Material 9.8.1's search worker (``Search.search`` → ``segment``) rewrites each run of Han
# characters in a query before lunr sees it: it looks up the query's *proper* prefixes (never the
# whole query) among the words of the index and, if one is found, searches for the longest of them
# with a trailing wildcard; only when no prefix is an indexed word does the whole query survive.
# So 步幅 becomes ``步*`` as soon as 步 stands alone anywhere on the site, and 标签平滑 becomes
# ``标签*``. Two steps keep a glossary term whole: the Han runs of the index are cut again by
# jieba knowing every glossary term and synonym as a word (the plugin cuts without them), and
# every indexed word that is a proper prefix of a glossary term gets an invisible word joiner
# (U+2060, not a separator) appended, so it no longer equals that prefix: the query's prefixes
# find nothing and the query is searched whole. Such a word is still found as itself, since
# the query is matched with a trailing wildcard.
WORD_JOINER = "\u2060"
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAN_RUN = re.compile(f"[{_HAN}][{_HAN}\u200b]*")
_HAN_WORD = re.compile(f"[{_HAN}]+")
# JavaScript's \s (the separator is a JavaScript regular expression; \b and \d are ASCII there)
_JS_SPACE = "\t\n\x0b\x0c\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"


def search_terms() -> list[str]:
    """The Chinese words of the glossary.

    Every ``zh`` name (each part of 梯度消失 / 梯度爆炸) and every synonym in Han characters.
    """
    from tools.generator import overview  # lazy: only the build needs the glossary

    words: set[str] = set()
    for term in overview.load_glossary().terms:
        for name in (term.zh, *term.synonyms):
            words.update(_HAN_WORD.findall(name))
    return sorted(words)


def js_separator(pattern: str) -> re.Pattern[str]:
    """Compile the search separator of mkdocs.yml the way the browser reads it."""
    return re.compile(pattern.replace("\\s", _JS_SPACE), re.ASCII)


def token_spans(text: str, separator: re.Pattern[str]):
    """The (start, end) of every token of ``text``, split like Material's ``split``."""
    start = pos = 0
    while True:
        m = separator.search(text, pos)
        until = m.start() if m else len(text)
        if start < until:
            yield start, until
        if m is None:
            return
        start = m.end()
        pos = m.end() if m.end() > m.start() else m.start() + 1


def recut_chinese(text: str, cut) -> str:
    """Cut every run of Han characters of an index entry again with ``cut`` (jieba's)."""

    def one(m: re.Match[str]) -> str:
        words = cut(m.group(0).replace("\u200b", ""))
        return "\u200b" + "\u200b".join(w for w in words if w) + "\u200b"

    return _HAN_RUN.sub(one, text)


def prefixes_to_join(words: set[str], terms: list[str]) -> set[str]:
    """The indexed ``words`` that are proper prefixes of a glossary term."""
    return {t[:i] for t in terms for i in range(1, len(t)) if t[:i] in words}


def join_words(text: str, marked: set[str], separator: re.Pattern[str]) -> str:
    """Append the word joiner to every token of ``text`` that is in ``marked``."""
    out, last = [], 0
    for a, b in token_spans(text, separator):
        if text[a:b] in marked:
            out += [text[last:b], WORD_JOINER]
            last = b
    return "".join(out) + text[last:]


def keep_terms_whole(data: dict, terms: list[str], cut) -> int:
    """Re-cut the index's Chinese with ``cut`` and mark the words that would shorten a term.

    ``data`` is the parsed search index (changed in place); returns how many distinct words
    got the word joiner.
    """
    separator = js_separator(data["config"]["separator"])
    docs = data.get("docs", [])
    words: set[str] = set()
    for doc in docs:
        for field in ("title", "text"):
            doc[field] = recut_chinese(doc.get(field, ""), cut)
            words.update(doc[field][a:b] for a, b in token_spans(doc[field], separator))
    marked = prefixes_to_join(words, terms)
    for doc in docs:
        for field in ("title", "text"):
            doc[field] = join_words(doc[field], marked, separator)
    return len(marked)


def jieba_cut(terms: list[str]):
    """Cut like Material's plugin (jieba's default mode), knowing ``terms`` as words."""
    import jieba

    jieba.setLogLevel(60)
    tokenizer = jieba.Tokenizer()
    for term in terms:
        tokenizer.add_word(term)  # frequency suggested by jieba: high enough to keep it whole
    return lambda text: tokenizer.cut(text)


def glossary_cut() -> GlossaryCut:
    """The glossary's Chinese terms and a jieba cut that knows them (loading jieba takes ~2 s)."""
    terms = search_terms()
    return terms, jieba_cut(terms)


def compact_search_index(site: Path, prepared: GlossaryCut | None = None) -> tuple[int, int]:
    r"""Rewrite the search index of a built site smaller; return its size before and after.

    The index is the same JSON for Material's search (same entries, same order), written as
    UTF-8 rather than ``\uXXXX`` escapes; the code blocks (``<pre>``) of the full-source
    sections are left out, since every part a reader looks for is also shown, and indexed, in a
    snippet section of the same page, and so are the signature blocks of the API pages; word
    breaks next to a separator are dropped (``_REDUNDANT_ZWSP``). Before that, the glossary's
    terms are made searchable whole (:func:`keep_terms_whole`; needs jieba, as the build does).
    ``search_index.js`` (the offline build's inlined copy) is rewritten from the same data.
    ``prepared`` is :func:`glossary_cut`'s result when the caller loaded it already.
    """
    path = site / "search" / "search_index.json"
    if not path.is_file():
        return 0, 0
    before = path.stat().st_size
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("config", {}).get("separator"):
        terms, cut = prepared or glossary_cut()
        keep_terms_whole(data, terms, cut)
    for doc in data.get("docs", []):
        where = doc.get("location", "")
        if where.endswith(f"#{FULL_SOURCE_SECTION}") or where.split("#")[0].endswith(API_PAGE):
            doc["text"] = _PRE.sub("", doc.get("text", "")).strip()
        doc["text"] = _REDUNDANT_ZWSP.sub("", doc.get("text", ""))
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    path.write_text(text, encoding="utf-8")
    js = path.with_suffix(".js")
    if js.is_file():
        js.write_text(f"var __index = {text}", encoding="utf-8")
    return before, path.stat().st_size


# Pygments tokens that Material does not colour apart from the code itself: names (``.n``, whose
# colour --md-code-hl-name-color is --md-code-fg-color in both schemes) and whitespace (``.w``).
_PLAIN_TOKEN = re.compile(r'<span class="[nw]">([^<]*)</span>')
_PRE_BLOCK = re.compile(r"<pre\b.*?</pre>", re.S)
# punctuation and operators: one colour in Material's palettes (--md-code-hl-punctuation-color
# and --md-code-hl-operator-color are both --md-default-fg-color--light), so a run of them, with
# the spaces between, can be one span
_DIM_RUN = re.compile(
    r'<span class="[po]">([^<]*)</span>((?:[ ]*<span class="[po]">[^<]*</span>)+)'
)
_DIM_TOKEN = re.compile(r'<span class="[po]">([^<]*)</span>')


def _compact_code(block: str) -> str:
    """One ``<pre>`` block without wrappers that change nothing it shows or copies."""
    block = _PLAIN_TOKEN.sub(r"\1", block)

    def one_span(m: re.Match[str]) -> str:
        return '<span class="p">' + m.group(1) + _DIM_TOKEN.sub(r"\1", m.group(2)) + "</span>"

    return _DIM_RUN.sub(one_span, block)


# Material's templates indent every tag: runs of spaces and newlines between two tags are about a
# third of the navigation's bytes, and the navigation (a section per theme, one per paper) is on
# every page. Outside preformatted text a run of whitespace shows as one space at most, so one
# newline shows the same. Only ASCII whitespace: a no-break space is content.
_VERBATIM = re.compile(r"<(pre|code|kbd|textarea|script|style)\b.*?</\1>", re.S)
_GAP = re.compile(r">[ \t\r\n]{2,}<")


def collapse_gaps(html: str) -> str:
    """``html`` with each whitespace run of two or more between tags made one newline.

    ``<pre>``, ``<code>`` and ``<kbd>`` (``white-space: pre-wrap`` in Material), ``<textarea>``,
    ``<script>`` and ``<style>`` are left as they are.
    """
    out, last = [], 0
    for m in _VERBATIM.finditer(html):
        out += [_GAP.sub(">\n<", html[last : m.start()]), m.group(0)]
        last = m.end()
    out.append(_GAP.sub(">\n<", html[last:]))
    return "".join(out)


def compact_html(site: Path) -> int:
    """Unwrap the code tokens that look the same without their ``<span>``; return bytes saved.

    About a fifth of a code block's bytes are ``<span class="n">name</span>`` wrappers, and
    runs of punctuation and operators (one colour) come split in several spans. Neither changes
    anything: the text, what the copy button copies and the colours stay the same. Outside the
    ``<pre>`` blocks only the indentation between tags goes (:func:`collapse_gaps`).
    """
    saved = 0
    for page in sorted(site.rglob("*.html")):
        text = page.read_text(encoding="utf-8")
        new = collapse_gaps(_PRE_BLOCK.sub(lambda m: _compact_code(m.group(0)), text))
        if new != text:
            saved += len(text.encode()) - len(new.encode())
            page.write_text(new, encoding="utf-8")
    return saved


def clean_stale(root: Path) -> None:
    """Remove temporary folders left by killed builds (their process no longer exists)."""
    for p in root.glob(f"{TMP_PREFIX}*"):
        m = re.match(rf"{re.escape(TMP_PREFIX)}(?:old-)?(\d+)-", p.name)
        if not m or not p.is_dir():
            continue
        pid = int(m.group(1))
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(p, ignore_errors=True)
        except PermissionError:  # alive, another user's
            pass


def swap(new: Path, site: Path) -> None:
    """Replace ``site`` by ``new`` (both on the same file system) with two renames."""
    old = None
    if site.exists():
        old = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}old-{os.getpid()}-", dir=site.parent))
        old.rmdir()
        site.rename(old)
    new.rename(site)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def run_generate(root: Path) -> int:
    """Run the generator; on failure its own ``error:`` lines name the model and the cause."""
    env = {**os.environ, **ENV}
    return subprocess.run([sys.executable, "-m", "tools.generate"], cwd=root, env=env).returncode


def build(site: Path, root: Path = ROOT, config: str = "mkdocs.yml", verbose: bool = False) -> int:
    """Strict build into a temporary folder next to ``site``; swap only on success."""
    site = site if site.is_absolute() else root / site
    clean_stale(site.parent)
    tmp = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{os.getpid()}-", dir=site.parent))
    cmd = [sys.executable, "-m", "mkdocs", "build", "--strict", "--clean", "-f", config]
    cmd += ["-d", str(tmp)]
    t0 = time.perf_counter()
    # load jieba and the glossary while MkDocs builds (this process only waits for it)
    loader = concurrent.futures.ThreadPoolExecutor(1)
    prepared = loader.submit(glossary_cut)
    try:
        proc = subprocess.run(
            cmd,
            cwd=root,
            env={**os.environ, **ENV},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        if proc.returncode != 0 or not (tmp / "index.html").is_file():
            if verbose:
                sys.stderr.write(proc.stdout)
            found = problems(proc.stdout, root)
            for msg in found:
                print(f"error: {msg}", file=sys.stderr)
            kept = "the previous site is kept" if site.exists() else "no site was written"
            print(
                f"mkdocs build --strict failed ({len(found)} problem(s) above; -v for the full "
                f"log): {site.name}/ left unchanged, {kept}",
                file=sys.stderr,
            )
            return proc.returncode or 1
        before, after = compact_search_index(tmp, prepared.result())
        compact_html(tmp)
        swap(tmp, site)
    finally:
        loader.shutdown(cancel_futures=True)
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(tmp)
    print(
        f"site built in {time.perf_counter() - t0:.1f} s → {site} "
        f"(search index {before / 2**20:.2f} → {after / 2**20:.2f} MB)"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.website.build", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--site", type=Path, default=Path("site"), help="target (default: site/)")
    parser.add_argument("--generate", action="store_true", help="run tools.generate first")
    parser.add_argument(
        "--if-stale", action="store_true", help="skip the build when site/ is newer than its inputs"
    )
    parser.add_argument(
        "--offline", action="store_true", help="also build the offline bundle, in parallel"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="print MkDocs' full log")
    args = parser.parse_args(argv)
    site = args.site if args.site.is_absolute() else ROOT / args.site
    if args.generate:
        code = run_generate(ROOT)
        if code != 0:
            print(f"generation failed (see above): {site.name}/ left unchanged", file=sys.stderr)
            return code
    offline = None
    if args.offline:  # independent of the main build: run it beside it, on the other core
        offline = subprocess.Popen(
            [sys.executable, "-m", "tools.website.bundle"],
            cwd=ROOT,
            env={**os.environ, **ENV},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    if args.if_stale and is_fresh(site):
        print(f"{site.name}/ is newer than all its inputs: reused, not rebuilt")
        code = 0
    else:
        code = build(site, verbose=args.verbose)
    if offline is not None:
        out, _ = offline.communicate()
        sys.stdout.write(out)
        code = code or offline.returncode
    return code


if __name__ == "__main__":
    sys.exit(main())
