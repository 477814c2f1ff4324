"""TestRail text as the engine compares and TestFiesta receives it.

TestRail stores rich text as its Markdown dialect, but instances in HTML mode, and text pasted
from a browser or written by other tools, hold HTML (``<p>``, ``<br>``, ``<div>``; reference
testrail-export-formats.md §1.5: "Older or HTML-mode instances emit ``<div>…</div>`` and
``<br>``"). :func:`as_markdown` turns such HTML into Markdown with markdownify, so every line
arrives as a line; text that is not HTML passes unchanged, character for character.
"""

from __future__ import annotations

import re

#: Markup that only HTML writes: a closing block tag, or a line break tag. A lone ``<p>`` or
#: ``<b>`` in prose ("type <b> into the field") is not enough.
_HTML = re.compile(r"</\s*(?:p|div|li|ul|ol|h[1-6]|table|tr|td|th)\s*>|<\s*br\s*/?\s*>", re.I)
_BLANK_RUNS = re.compile(r"\n{3,}")


def is_html(text: str) -> bool:
    """Whether ``text`` is HTML rather than TestRail Markdown (see :data:`_HTML`)."""
    return "<" in text and _HTML.search(text) is not None


def as_markdown(text: str) -> str:
    """``text`` as Markdown: HTML converted (ATX headings, ``-`` bullets, no escaping of
    ``_`` and ``*``, trailing blanks of each line and runs of blank lines dropped); any other
    text returned as it is."""
    if not is_html(text):
        return text
    # imported here: markdownify brings BeautifulSoup and soupsieve (~0.3 s of a start),
    # which only HTML text needs
    from markdownify import markdownify

    markdown = markdownify(
        text,
        heading_style="ATX",
        bullets="-",
        escape_underscores=False,
        escape_asterisks=False,
        escape_misc=False,
    )
    lines = [line.rstrip() for line in markdown.replace("\r\n", "\n").split("\n")]
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip("\n")
