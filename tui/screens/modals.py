"""Modals over the main screen: a record's details, and yes/no questions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from core.service import TreeNode
from tui.bridge import SIDE_NAMES
from tui.widgets.project_tree import ONLY_HERE_BADGE, SYNCED_BADGE

_KIND_NAMES = {"suite": "Suite", "section": "Section", "folder": "Folder", "case": "Case"}


@dataclass
class RecordInfo:
    """What the details modal shows about one record.

    ``side`` is where it lives; ``path`` the names of the containers above it (top first);
    ``counterpart`` the linked record on the other side when that pane holds it.
    """

    side: str
    record: TreeNode
    path: list[str]
    counterpart: TreeNode | None = None


def detail_lines(info: RecordInfo) -> list[tuple[str, str]]:
    """(field, value) rows: kind and key, name, where, and the link with its badge."""
    record = info.record
    here = SIDE_NAMES.get(info.side, info.side)
    other = SIDE_NAMES["testfiesta" if info.side == "testrail" else "testrail"]
    rows = [
        (_KIND_NAMES.get(record.kind, record.kind), record.key),
        ("Title" if record.kind == "case" else "Name", record.name),
        ("In", " › ".join(info.path) if info.path else f"the {here} project"),
    ]
    if record.linked:
        rows.append(("Badge", f"{SYNCED_BADGE} synced: linked to {other} {record.linked}"))
        if info.counterpart is not None:
            rows.append(("There", info.counterpart.name))
    else:
        rows.append(("Badge", f"{ONLY_HERE_BADGE} only here: not in {other} yet"))
    return rows


class RecordDetails(ModalScreen[None]):
    """A record's details; escape, enter, ``i`` or ``q`` close it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="details.close"),
        Binding("enter", "close", "Close", show=False),
        Binding("i", "close", "Close", show=False),
        Binding("q", "close", "Close", show=False),
    ]

    def __init__(self, info: RecordInfo) -> None:
        super().__init__(id="details")
        self.info = info
        self.rows = detail_lines(info)

    def compose(self) -> ComposeResult:
        """One line per field."""
        with Vertical(id="details-body") as body:
            body.border_title = f"{SIDE_NAMES.get(self.info.side, self.info.side)} record"
            body.border_subtitle = "escape closes"
            width = max(len(name) for name, _ in self.rows)
            for name, value in self.rows:
                yield Static(f"{name:<{width}}  {value}", classes="details-row", markup=False)

    def action_close(self) -> None:
        """Close the details."""
        self.dismiss(None)


class Confirm(ModalScreen[bool]):
    """A yes/no question; ``y`` answers yes, ``n`` or escape no. There is no default."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n", "answer(False)", "No"),
        Binding("escape", "answer(False)", "No", show=False),
    ]

    def __init__(self, question: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.question = question

    def compose(self) -> ComposeResult:
        """The question and the keys."""
        with Vertical(id="confirm-body"):
            yield Static(self.question, id="confirm-question", markup=False)
            yield Label("y yes · n no", id="confirm-keys")

    def action_answer(self, yes: bool) -> None:
        """Close with the answer."""
        self.dismiss(yes)
