"""Beside the generator's flow: the fonts that measure the labels, checked, in every cache key.

See :mod:`tools.generator` for the flow.

Two programs lay out text at generation time and so decide the geometry of what they write:

- **Graphviz** sizes every diagram box around its label with the font that fontconfig resolves
  for :data:`CJK_FAMILY` (``fc-match``), and, for Chinese characters that font lacks, with the
  font fontconfig falls back to for Chinese (``fc-match '<family>:lang=zh-cn'``).
- **matplotlib** lays out every figure with the files that ``font_manager.findfont`` resolves
  for the families of :func:`figure_families` (:data:`CJK_FAMILY`, then :data:`LATIN_FAMILY`,
  which ships with matplotlib).

Installing, removing or upgrading a font therefore changes the output, so :func:`cache_key` (the
file name, face index and content hash of each resolved font) is part of the hash of every
diagram and figure group (``tools/generate.py: versions``), and :func:`describe` names the fonts in
one line of the build log. When no installed font covers the Chinese labels, :func:`resolve`
raises :class:`FontError` with one line naming the package to install: a site whose labels are
boxes or ``¤`` is never built.

matplotlib keeps its own list of fonts (``fontlist-*.json`` in its cache folder) and does not
notice a font installed after that list was written. When the Chinese family is missing from the
list, :func:`figure_families` adds the file fontconfig resolves for it (``FontManager.addfont``),
so a stale list does not matter. Only families that resolve are ever handed to matplotlib, so it
has no reason to log ``findfont: Font family … not found``.
"""

from __future__ import annotations

import functools
import hashlib
import html
import json
import logging
import os
import re
import shutil
import subprocess
from dataclasses import astuple, dataclass
from pathlib import Path

#: The family the diagrams are measured with (``diagram.FONT`` must name it; a test checks)
#: and the first family of every figure. The site's CSS lists it among its CJK fonts.
CJK_FAMILY = "Noto Sans CJK SC"
#: The figures' second family, for Latin text and symbols; a copy ships with matplotlib.
LATIN_FAMILY = "DejaVu Sans"
#: Characters every label font must have: common words of the diagrams' and figures' labels.
CJK_SAMPLE = "参数共享残差注意力编码器解码器时间步输入输出层块"
PACKAGE = "fonts-noto-cjk"
INSTALL_HINT = (
    f"no installed font covers the Chinese labels of the diagrams and figures (looked for "
    f"{CJK_FAMILY!r} and any font fontconfig offers for Chinese): install {PACKAGE} "
    f"(Debian/Ubuntu: sudo apt-get install {PACKAGE}; Fedora: google-noto-sans-cjk-fonts; "
    "macOS: brew install --cask font-noto-sans-cjk-sc), then rerun"
)


class FontError(RuntimeError):
    """No usable font for the Chinese labels; the message is one line naming the package."""


@dataclass(frozen=True)
class Font:
    """One resolved font face: the family asked for and the file (and face) that answered."""

    family: str
    path: str
    index: int = 0

    @property
    def file(self) -> str:
        """The file name and, in a collection (.ttc), the face: ``NotoSansCJK-Regular.ttc#2``."""
        name = Path(self.path).name
        return f"{name}#{self.index}" if self.index or name.endswith((".ttc", ".otc")) else name

    def identity(self) -> list[str]:
        """What makes two machines' fonts the same: name, file, face and the file's content."""
        return [self.family, self.file, _digest(self.path)]

    def covers(self, text: str) -> bool:
        """Whether the face has a glyph for every character of ``text`` (FreeType's cmap)."""
        return not missing_glyphs(self, text)


@dataclass(frozen=True)
class Fonts:
    """The fonts of one generation run: Graphviz's and matplotlib's."""

    diagrams: tuple[Font, ...]
    figures: tuple[Font, ...]


@functools.cache
def _digest(path: str) -> str:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    except OSError:
        return "<unreadable>"
    return h.hexdigest()[:16]


def missing_glyphs(font: Font, text: str) -> list[str]:
    """The characters of ``text`` (whitespace aside) that ``font`` has no glyph for."""
    from matplotlib import ft2font

    face = ft2font.FT2Font(font.path, face_index=font.index)
    return sorted({c for c in text if not c.isspace() and face.get_char_index(ord(c)) == 0})


# ── Graphviz: fontconfig ─────────────────────────────────────────────────────────────────────


def fc_match(pattern: str) -> Font | None:
    """The font fontconfig resolves for ``pattern`` (``None`` without fontconfig's ``fc-match``)."""
    exe = shutil.which("fc-match")
    if exe is None:
        return None
    out = subprocess.run(
        [exe, "--format", "%{family[0]}\t%{file}\t%{index}", pattern],
        capture_output=True,
        text=True,
    ).stdout
    parts = out.split("\t")
    if len(parts) != 3 or not parts[1]:
        return None
    return Font(parts[0], parts[1], int(parts[2] or 0))


def graphviz_fonts(family: str = CJK_FAMILY) -> tuple[Font, ...]:
    """The faces Graphviz measures labels with: ``family``'s match and its Chinese fallback."""
    found = [fc_match(family), fc_match(f"{family}:lang=zh-cn")]
    return tuple(dict.fromkeys(f for f in found if f is not None))


# ── matplotlib: font_manager ─────────────────────────────────────────────────────────────────


def findfont(family: str) -> Font | None:
    """The face matplotlib uses for ``family``, or ``None`` (quietly: no findfont warning)."""
    from matplotlib import font_manager

    logger = logging.getLogger("matplotlib.font_manager")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        found = font_manager.fontManager.findfont(
            font_manager.FontProperties(family=family), fallback_to_default=False
        )
    except ValueError:
        return None
    finally:
        logger.setLevel(level)
    return Font(family, str(found), getattr(found, "face_index", 0))


def _add_to_matplotlib(font: Font) -> str | None:
    """Register ``font``'s file with matplotlib (a stale font list); return its family there."""
    from matplotlib import font_manager

    fm = font_manager.fontManager
    known = [e for e in fm.ttflist if e.fname == font.path]
    if not known:
        fm.addfont(font.path)
        known = [e for e in fm.ttflist if e.fname == font.path]
    names = [e.name for e in known if getattr(e, "index", 0) == font.index] or [
        e.name for e in known
    ]
    return names[0] if names else None


@functools.cache
def figure_families() -> tuple[str, ...]:
    """The ``font.family`` list for the figures: a Chinese family that resolves, then Latin.

    :data:`CJK_FAMILY` when matplotlib knows it; otherwise the font fontconfig resolves for it or
    for Chinese, added to matplotlib's list first (its cached list predates the install). Families
    that do not resolve are left out, so matplotlib never logs ``findfont`` warnings for them.
    Cached per process (worker processes resolve it themselves, with the same answer).
    """
    families = []
    cjk = findfont(CJK_FAMILY)
    if cjk is None or not cjk.covers(CJK_SAMPLE):
        for candidate in graphviz_fonts(CJK_FAMILY):
            if candidate.covers(CJK_SAMPLE):
                name = _add_to_matplotlib(candidate)
                if name and (found := findfont(name)) and found.covers(CJK_SAMPLE):
                    cjk = found
                    break
        else:
            cjk = None
    if cjk is not None:
        families.append(cjk.family)
    if findfont(LATIN_FAMILY) is not None:
        families.append(LATIN_FAMILY)
    return tuple(families)


def matplotlib_fonts() -> tuple[Font, ...]:
    """The faces matplotlib lays the figures out with (one per family of the figure style)."""
    return tuple(f for fam in figure_families() if (f := findfont(fam)) is not None)


# ── the output: every character drawn has a glyph ────────────────────────────────────────────

_TEXT = re.compile(r"<(?:text|tspan)\b[^>]*?\bstyle=\"([^\"]*)\"[^>]*>([^<]*)")
_FAMILY = re.compile(r"font-family:\s*([^;]+)")


@functools.cache
def _face(family: str, path: str, index: int) -> object:
    from matplotlib import ft2font

    return ft2font.FT2Font(path, face_index=index)


def svg_glyph_problems(svg: str) -> list[str]:
    """Characters of a matplotlib SVG (``svg.fonttype: none``) that no font named for them has.

    Every ``<text>``/``<tspan>`` names its font families; each of its characters must have a glyph
    in one of them (as resolved by matplotlib). matplotlib's math text puts ``¤`` where a glyph
    was missing, so a ``¤`` is a problem too. Returns one short message per problem.
    """
    problems: set[str] = set()
    for style, raw in _TEXT.findall(svg):
        text = html.unescape(raw).strip()
        if not text:
            continue
        if "¤" in text:
            problems.add("¤ (matplotlib's dummy glyph: a character had no glyph)")
        m = _FAMILY.search(style)
        families = [f.strip().strip("'\"") for f in m.group(1).split(",")] if m else []
        faces = [
            _face(f.family, f.path, f.index) for fam in families if (f := findfont(fam)) is not None
        ]
        for c in set(text) - {"¤"}:
            if not c.isspace() and not any(face.get_char_index(ord(c)) for face in faces):
                problems.add(f"no glyph for {c!r} in {', '.join(families) or 'any font'}")
    return sorted(problems)


def check_svg(svg: str) -> None:
    """Raise :class:`FontError` (one line) when :func:`svg_glyph_problems` finds any."""
    problems = svg_glyph_problems(svg)
    if problems:
        raise FontError(f"missing glyphs: {'; '.join(problems[:5])} — {INSTALL_HINT}")


# ── the run ──────────────────────────────────────────────────────────────────────────────────


def resolve(memo: Path | None = None) -> Fonts:
    """Both programs' fonts; :class:`FontError` when either has none for the Chinese labels.

    With ``memo`` (a JSON file), the answer is remembered together with the font environment it
    came from (:func:`environment`): while that is unchanged, a rerun reads it back instead of
    importing matplotlib (about 0.7 s of a warm generator run).
    """
    env = environment() if memo is not None else None
    if env is not None and (fonts := _read_memo(memo, env)) is not None:
        return fonts
    fonts = Fonts(graphviz_fonts(), matplotlib_fonts())
    groups = [fonts.figures]
    if shutil.which("fc-match"):  # without fontconfig, Graphviz's choice cannot be asked
        groups.append(fonts.diagrams)
    for group in groups:
        if not any(f.covers(CJK_SAMPLE) for f in group):
            raise FontError(INSTALL_HINT)
    if env is not None:
        memo.parent.mkdir(parents=True, exist_ok=True)
        as_lists = {k: [astuple(f) for f in v] for k, v in vars(fonts).items()}
        memo.write_text(json.dumps({"env": env, "fonts": as_lists}), encoding="utf-8")
    return fonts


def environment() -> str | None:
    """What the fonts are resolved from, in a few milliseconds; ``None`` without ``fc-list``.

    Fontconfig's list of font files, matplotlib's version and its cached font list, and this
    module: installing or removing a font, or matplotlib rebuilding its list, changes it.
    """
    from importlib.metadata import version

    exe = shutil.which("fc-list")
    if exe is None:
        return None
    listed = subprocess.run(
        [exe, "--format", "%{file}:%{index}\\n"], capture_output=True, text=True, check=False
    ).stdout
    cache = Path(os.environ.get("MPLCONFIGDIR") or "")
    if not os.environ.get("MPLCONFIGDIR"):
        cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "matplotlib"
    lists = [
        (p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(cache.glob("fontlist-*"))
    ]
    parts = [sorted(listed.splitlines()), version("matplotlib"), lists, _digest(__file__)]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def _read_memo(memo: Path, env: str) -> Fonts | None:
    """The remembered fonts if they were resolved in the same environment and still exist."""
    try:
        data = json.loads(memo.read_text(encoding="utf-8"))
        if data["env"] != env:
            return None
        fonts = Fonts(*(tuple(Font(*f) for f in data["fonts"][k]) for k in ("diagrams", "figures")))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not all(Path(f.path).is_file() for f in (*fonts.diagrams, *fonts.figures)):
        return None
    return fonts


def cache_key(fonts: Fonts | None = None) -> str:
    """A JSON string that changes whenever a resolved font (file, face or content) changes."""
    fonts = fonts or resolve()
    return json.dumps(
        {
            "diagrams": [f.identity() for f in fonts.diagrams],
            "figures": [f.identity() for f in fonts.figures],
        }
    )


def describe(fonts: Fonts) -> str:
    """One line for the build log naming the fonts that measure the labels."""

    def names(group: tuple[Font, ...]) -> str:
        return ", ".join(f"{f.family} ({f.file})" for f in group) or "none"

    return f"fonts: diagrams {names(fonts.diagrams)}; figures {names(fonts.figures)}"
