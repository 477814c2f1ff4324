"""Text lines that are set often: draw only a change.

``Static.update`` (``Label`` too) lays out the whole screen each time, even with the text it
already shows: every widget is placed and drawn again (~15-30 ms at 160x48 over a big
project, bench/console.py). The status row, the pair line and the pane notes are set again
after every section that loads, mostly to the same words.
"""

from __future__ import annotations

from textual.widgets import Static


def show_text(widget: Static, text: str) -> bool:
    """Put ``text`` (plain, or markup if ``widget`` reads markup) in ``widget`` unless it
    shows that already; True when it changed."""
    if str(widget.content) == text:
        return False
    widget.update(text)
    return True
