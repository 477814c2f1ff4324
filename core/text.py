"""TestRail text as the engine compares and TestFiesta receives it.

TestRail stores rich text as its Markdown dialect, but instances in HTML mode, and text pasted
from a browser or written by other tools, hold HTML (``<p>``, ``<br>``, ``<div>``; reference
testrail-export-formats.md §1.5: "Older or HTML-mode instances emit ``<div>…</div>`` and
``<br>``"). :func:`as_markdown` turns such HTML into Markdown with markdownify, so every line
arrives as a line; text that is not HTML passes unchanged, character for character.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

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


#: An image or file TestRail text refers to inline (testrail-api.md §5.15, §8):
#: ``index.php?/attachments/get/<id>``, the id an integer or a UUID, optionally behind the
#: instance's address (``https://x.testrail.io/index.php?/attachments/get/77``).
INLINE_ATTACHMENT = re.compile(
    r"(?:https?://[^\s()\"'<>]*?/)?index\.php\?/attachments/get/([\w-]+)"
)

#: The fragment railfiesta appends to the URL of a copy it made of an inline attachment
#: (``<copy url>#testrail-attachment-77``): browsers ignore it when fetching the file, and a
#: read of the text finds the TestRail attachment again without any stored state.
COPY_MARK = "#testrail-attachment-"
_COPY_URL = re.compile(r"[^\s()\"'<>#]+" + re.escape(COPY_MARK) + r"([\w-]+)")


def inline_attachment_ids(text: str) -> list[str]:
    """The TestRail attachment ids ``text`` refers to inline, in order, each once."""
    return list(dict.fromkeys(m.group(1) for m in INLINE_ATTACHMENT.finditer(text)))


def to_copy_urls(text: str, urls: Callable[[str], str | None]) -> str:
    """``text`` with each inline TestRail reference whose copy ``urls(id)`` knows replaced by
    ``<copy url>#testrail-attachment-<id>``; references without a copy stay as they are."""

    def swap(match: re.Match[str]) -> str:
        url = urls(match.group(1))
        return f"{url}{COPY_MARK}{match.group(1)}" if url else match.group(0)

    return INLINE_ATTACHMENT.sub(swap, text)


def from_copy_urls(text: str) -> str:
    """Inverse of :func:`to_copy_urls`: copy URLs back to ``index.php?/attachments/get/<id>``,
    TestRail's form, in which text is compared."""
    return _COPY_URL.sub(lambda m: f"index.php?/attachments/get/{m.group(1)}", text)


def map_text(value: Any, change: Callable[[str], str]) -> Any:
    """``value`` with ``change`` applied to every string inside it (lists and dicts walked)."""
    if isinstance(value, str):
        return change(value)
    if isinstance(value, list):
        return [map_text(v, change) for v in value]
    if isinstance(value, dict):
        return {k: map_text(v, change) for k, v in value.items()}
    return value
