"""Step 8 of the generator: verbatim copies of the reference modules for the 完整代码 blocks.

The pages' full-source blocks include them (see :mod:`tools.generator`).

``pymdownx.snippets`` removes the section markers (``# --8<-- [start:name]`` / ``[end:name]``)
when a page includes a whole file, so a page that includes ``reference_impl/<slug>.py`` directly
shows, and its copy button copies, the module minus those lines. The generator therefore writes
``generated/source/<slug>.py``: the module with every line that snippets would treat as notation
escaped by one ``;`` (snippets' escape syntax, which it removes again), so that the block a page
includes from it is the module file byte for byte::

    ```python
    --8<-- "generated/source/resnet.py"
    ```

:func:`escape_snippets` is the escaping, :func:`source_artifacts` the files to write.
"""

from __future__ import annotations

import re
from pathlib import Path

# The two kinds of notation pymdownx.snippets (13.x) recognises in an included file, with the
# run of `;` that escapes them (see SnippetPreprocessor.RE_ALL_SNIPPETS / RE_SNIPPET_SECTION):
#   a whole-line include or block marker:  [space][;*]--8<-- "path"   or   [space][;*]--8<--
#   a section marker anywhere in a line:   …[;*]--8<-- [start:name] …
# Snippets removes one `;` from an escaped line, so adding one `;` at the escape position
# makes every such line come out unchanged.
_LINE = re.compile(
    r"""(?x)
    ^(?P<space>[ \t]*)
    (?P<escape>;*)
    (?P<all>
        -{1,}8<-{1,}[ \t]+(?:"(?:\\"|[^"\n\r])+?"|'(?:\\'|[^'\n\r])+?')(?![ \t]) |
        -{1,}8<-{1,}(?![ \t])
    )\r?$
    """
)
_SECTION = re.compile(
    r"""(?xi)
    ^(?P<pre>.*?)
    (?<!;)(?!(?<=-)-)
    (?P<escape>;*)
    (?P<marker>-{1,}8<-{1,}[ \t]+
      \[[ \t]*(?:start|end)[ \t]*:[ \t]*[a-z][-_0-9a-z]*[ \t]*\])
    (?P<post>.*?)$
    """
)


def escape_snippets(text: str) -> str:
    """Escape every snippets notation line of ``text`` so that a whole-file include is verbatim."""
    out = []
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        end = line[len(body) :]
        if "8<-" in body:
            m = _LINE.match(body)
            if m:
                body = m.group("space") + ";" + body[len(m.group("space")) :]
            else:
                m = _SECTION.match(body)
                if m:
                    body = m.group("pre") + ";" + body[len(m.group("pre")) :]
        out.append(body + end)
    return "".join(out)


def source_artifacts(modules: dict[str, Path]) -> dict[str, str]:
    """``{"source/<slug>.py": escaped text}`` for each paper's module (``{slug: path}``)."""
    return {
        f"source/{slug}.py": escape_snippets(path.read_text(encoding="utf-8"))
        for slug, path in sorted(modules.items())
    }
