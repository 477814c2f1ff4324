"""The keys: a modal listing what each key does on the screen it was opened from."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from tui.widgets.project_tree import ONLY_HERE_BADGE, SYNCED_BADGE

#: Badge legend shown under the keys.
BADGES = (
    (SYNCED_BADGE, "synced: linked to a record on the other side"),
    (ONLY_HERE_BADGE, "only here: not on the other side (yet)"),
)


class HelpScreen(ModalScreen[None]):
    """A modal with ``keys`` as (key, what it does) rows and the badge legend.

    Closes on escape, ``q`` or ``?``.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="help.close"),
        Binding("q", "close", "Close", show=False),
        Binding("question_mark", "close", "Close", show=False, key_display="?"),
    ]

    def __init__(self, keys: Iterable[tuple[str, str]]) -> None:
        super().__init__(id="help")
        self.keys = list(keys)

    def compose(self) -> ComposeResult:
        """Title, key rows, legend."""
        with VerticalScroll(id="help-body") as body:
            body.border_title = "Keys"
            body.border_subtitle = "escape closes"
            width = max((len(key) for key, _ in self.keys), default=1)
            for key, what in self.keys:
                yield Label(f"{key:>{width}}  {what}", classes="help-key", markup=False)
            yield Static("")
            for badge, meaning in BADGES:
                yield Label(f"{badge:>{width}}  {meaning}", classes="help-badge", markup=False)

    def action_close(self) -> None:
        """Close the help."""
        self.dismiss(None)
