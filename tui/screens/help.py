"""The keys: a modal listing what each key does on the screen it was opened from.

Keys come in groups: the console's own first, then those of the focused pane, then a collapsed
"Navigation" group with the generic cursor, scrolling and paging keys every list has.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Collapsible, Label, Static

from tui.widgets.project_tree import CONFLICT_BADGE, ONLY_HERE_BADGE, PENDING_BADGE, SYNCED_BADGE

#: Badge legend shown under the keys.
BADGES = (
    (SYNCED_BADGE, "synced: linked, nothing waiting"),
    (PENDING_BADGE, "pending: changed since the last poll, or a write waits"),
    (CONFLICT_BADGE, "conflict: changed differently on both sides"),
    (ONLY_HERE_BADGE, "only here: not on the other side (yet)"),
    (
        f"{CONFLICT_BADGE} 2",
        f"after a folder's name: 2 records below it in conflict ({PENDING_BADGE} 2: pending)",
    ),
)

#: The group whose keys start collapsed.
NAVIGATION = "Navigation"

KeyRows = list[tuple[str, str]]


#: Cells a help row has for its text: the help's 64 columns less its border, padding and
#: scrollbar (app.tcss ``#help-body``).
ROW_CELLS = 58


def key_row(key: str, what: str, width: int) -> str:
    """``key`` right-aligned in ``width`` cells, two spaces, ``what``; a ``what`` too long for
    :data:`ROW_CELLS` wraps under itself, not under the keys."""
    indent = " " * (width + 2)
    lines = textwrap.wrap(what, max(ROW_CELLS - len(indent), 16)) or [""]
    return f"{key:>{width}}  " + f"\n{indent}".join(lines)


class HelpScreen(ModalScreen[None]):
    """A modal with ``groups`` of (key, what it does) rows and the badge legend; the
    :data:`NAVIGATION` group starts collapsed.

    Closes on escape, ``q`` or ``?``.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="help.close"),
        Binding("q", "close", "Close", show=False),
        Binding("question_mark", "close", "Close", show=False, key_display="?"),
    ]

    def __init__(self, groups: Iterable[tuple[str, KeyRows]]) -> None:
        super().__init__(id="help")
        self.groups = [(title, list(rows)) for title, rows in groups if rows]

    @property
    def keys(self) -> KeyRows:
        """Every row, in the order shown."""
        return [row for _, rows in self.groups for row in rows]

    def compose(self) -> ComposeResult:
        """Groups of key rows, then the legend."""
        width = max((len(key) for key, _ in self.keys), default=1)
        with VerticalScroll(id="help-body") as body:
            body.border_title = "Keys"
            body.border_subtitle = "escape closes"
            for title, rows in self.groups:
                labels = [
                    Label(key_row(key, what, width), classes="help-key", markup=False)
                    for key, what in rows
                ]
                if title == NAVIGATION:
                    yield Collapsible(*labels, title=title, collapsed=True, id="help-navigation")
                else:
                    yield Label(title, classes="help-group")
                    yield from labels
            yield Label("Badges", classes="help-group")
            for badge, meaning in BADGES:
                yield Label(key_row(badge, meaning, width), classes="help-badge", markup=False)
            yield Static("")

    def action_close(self) -> None:
        """Close the help."""
        self.dismiss(None)
