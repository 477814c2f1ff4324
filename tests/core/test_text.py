"""core.text: TestRail's HTML-mode text as Markdown, everything else untouched."""

from __future__ import annotations

import pytest

from core.text import as_markdown, is_html


@pytest.mark.parametrize(
    ("html", "markdown"),
    [
        ("<p>Open</p><p>Click<br>Save</p>", "Open\n\nClick\nSave"),
        ("Line A<br/>Line B<br />Line C", "Line A\nLine B\nLine C"),
        ("<div>Step <b>one</b></div><ul><li>user_name</li><li>2*3</li></ul>",
         "Step **one**\n\n- user_name\n- 2*3"),
        ("<p>Größe &amp; Maße — 日本語</p>", "Größe & Maße — 日本語"),
    ],
)  # fmt: skip
def test_html_becomes_markdown_line_by_line(html: str, markdown: str) -> None:
    assert is_html(html)
    assert as_markdown(html) == markdown


@pytest.mark.parametrize(
    "text",
    [
        "Type <b> into the search field",
        "1. Open\n2. Check that a < b and b > c",
        "**bold** and _italic_ TestRail markdown\r\nwith CRLF  ",
        "|||:Col A|:Col B\n|| a | b",
        "",
    ],
)
def test_text_that_is_not_html_passes_unchanged(text: str) -> None:
    assert not is_html(text)
    assert as_markdown(text) == text
