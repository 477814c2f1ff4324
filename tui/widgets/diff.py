"""A three-way word diff of one conflict: TestRail | base | TestFiesta, our own over difflib.

(textual-diff-view is AGPL-3.0, which this MIT project does not take on: DESIGN §8.)

:class:`DiffView` shows the rows of a :class:`core.service.ConflictView` (one per field, or
per step column): the three values side by side with the words each side changed against the
base highlighted, and below them each side *as its change against the base* (what it removed
struck through, what it added marked). Below :data:`COMPACT_BELOW` columns only the two
changes show side by side, and the base column is toggled (:meth:`DiffView.toggle_base`).
Colours are the component classes' (theme variables ``$diff-added`` and ``$diff-removed``),
never fixed colours; the added words are also bold and the removed ones struck, so the diff
reads without colour (NO_COLOR).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from typing import ClassVar

from rich.console import Group, RenderableType
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.widget import Widget

from core.service import ConflictRow

#: Below this many columns the view is compact: the two changes side by side, base toggled.
COMPACT_BELOW = 96

#: What an absent value or step column reads as.
ABSENT = "(none)"
#: What an absent base reads as (the record had no common ancestor).
NO_BASE = "(none: no common ancestor)"

_TOKEN = re.compile(r"\s+|\w+|[^\w\s]")

#: (tag, base text, side text): tag ``equal`` or ``change``.
Piece = tuple[str, str, str]


def word_pieces(base: str, side: str) -> list[Piece]:
    """``side`` against ``base`` word by word: runs of ``equal`` text and ``change`` runs
    (what base had there, what the side has). Changes separated only by white space are
    joined, so a rewritten sentence reads as one change, not as words around kept spaces."""
    a, b = _TOKEN.findall(base), _TOKEN.findall(side)
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    pieces: list[Piece] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        old, new = "".join(a[i1:i2]), "".join(b[j1:j2])
        if tag == "equal":
            pieces.append(("equal", old, new))
        elif (
            len(pieces) >= 2
            and pieces[-1][0] == "equal"
            and not pieces[-1][1].strip()
            and pieces[-2][0] == "change"
        ):
            _, gap, _ = pieces.pop()
            _, was_old, was_new = pieces.pop()
            pieces.append(("change", was_old + gap + old, was_new + gap + new))
        elif pieces and pieces[-1][0] == "change":
            _, was_old, was_new = pieces.pop()
            pieces.append(("change", was_old + old, was_new + new))
        else:
            pieces.append(("change", old, new))
    return pieces


def side_text(base: str, side: str, added: Style) -> Text:
    """``side`` with the words it added or rewrote against ``base`` in ``added``."""
    text = Text()
    for tag, _old, new in word_pieces(base, side):
        text.append(new, added if tag == "change" else None)
    return text


def base_text(base: str, sides: Sequence[str], removed: Style) -> Text:
    """``base`` with the words either side removed or rewrote in ``removed``."""
    changed = [False] * len(base)
    for side in sides:
        at = 0
        for tag, old, _new in word_pieces(base, side):
            if tag == "change":
                for i in range(at, at + len(old)):
                    changed[i] = True
            at += len(old)
    text = Text()
    start = 0
    for i in range(1, len(base) + 1):
        if i == len(base) or changed[i] != changed[start]:
            text.append(base[start:i], removed if changed[start] else None)
            start = i
    return text


#: Around removed and added text in a change (git's ``--word-diff=plain`` marks), so it
#: reads where strike-through and bold do not show: copied text, a plain terminal.
REMOVED_MARKS, ADDED_MARKS = ("[-", "-]"), ("{+", "+}")


def change_text(base: str, side: str, added: Style, removed: Style) -> Text:
    """``side`` as its change against ``base``: removed text ``[-like this-]`` in
    ``removed`` (struck), added text ``{+like this+}`` in ``added``, kept text plain."""
    text = Text()
    for tag, old, new in word_pieces(base, side):
        if tag == "equal":
            text.append(new)
            continue
        for part, style, (opening, closing) in (
            (old, removed, REMOVED_MARKS),
            (new, added, ADDED_MARKS),
        ):
            if part:
                text.append(opening, style)
                text.append(part, style)
                text.append(closing, style)
    return text


class DiffView(Widget):
    """The rows of one conflict as a three-way word diff (see the module docstring).

    :meth:`show` sets the rows; the view lays them out for its width when it renders.
    """

    DEFAULT_CSS = """
    DiffView {
        height: auto;
        padding: 0 1;
    }
    DiffView > .diff-view--added {
        background: $diff-added;
        text-style: bold;
    }
    DiffView > .diff-view--removed {
        background: $diff-removed;
        text-style: strike;
    }
    DiffView > .diff-view--heading {
        color: $text-primary;
        text-style: bold;
    }
    DiffView > .diff-view--label {
        color: $text-muted;
    }
    DiffView > .diff-view--absent {
        color: $text-muted;
        text-style: italic;
    }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "diff-view--added",
        "diff-view--removed",
        "diff-view--heading",
        "diff-view--label",
        "diff-view--absent",
    }

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: list[ConflictRow] = []
        #: None: the base column shows when the view is wide, not when it is compact
        self.base_wanted: bool | None = None

    def show(self, rows: Sequence[ConflictRow]) -> None:
        """Show ``rows`` (the conflict's values, one row per field or step column)."""
        self.rows = list(rows)
        self.refresh(layout=True)

    @property
    def compact(self) -> bool:
        """Narrower than :data:`COMPACT_BELOW`: the two changes side by side."""
        return 0 < self.size.width < COMPACT_BELOW

    @property
    def base_shown(self) -> bool:
        """Whether the base column shows now."""
        return (not self.compact) if self.base_wanted is None else self.base_wanted

    def toggle_base(self) -> bool:
        """Show the base column if it is hidden, hide it if it shows; returns whether it
        shows now."""
        self.base_wanted = not self.base_shown
        self.refresh(layout=True)
        return self.base_wanted

    # ------------------------------------------------------------------ rendering

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"diff-view--{name}", partial=True)

    def _value(self, value: str | None, is_base: bool, make: Text) -> Text:
        if value is None:
            return Text(NO_BASE if is_base else ABSENT, self._style("absent"))
        return make

    def _table(self, headings: Sequence[str], labelled: bool) -> Table:
        table = Table(
            box=None,
            expand=True,
            show_header=True,
            header_style=self._style("heading"),
            padding=(0, 1, 0, 0),
            show_edge=False,
        )
        if labelled:
            table.add_column("", style=self._style("label"), no_wrap=True, ratio=None)
        for heading in headings:
            table.add_column(heading, ratio=1, overflow="fold")
        return table

    def render(self) -> RenderableType:
        """The value table (wide), then each side's change against the base."""
        if not self.rows:
            return Text("")
        added, removed = self._style("added"), self._style("removed")
        labelled = any(row.label for row in self.rows)
        parts: list[RenderableType] = []
        if not self.compact:
            headings = ["TestRail", "base", "TestFiesta"] if self.base_shown else []
            if headings:
                values = self._table(headings, labelled)
                for row in self.rows:
                    b = row.base or ""
                    cells = [
                        self._value(row.testrail, False, side_text(b, row.testrail or "", added)),
                        self._value(
                            row.base,
                            True,
                            base_text(b, [row.testrail or "", row.testfiesta or ""], removed),
                        ),
                        self._value(
                            row.testfiesta, False, side_text(b, row.testfiesta or "", added)
                        ),
                    ]
                    values.add_row(*([Text(row.label)] if labelled else []), *cells)
                parts += [values, Text("")]
        with_base = self.compact and self.base_shown
        headings = ["TestRail's change against the base"]
        if with_base:
            headings.append("base")
        headings.append("TestFiesta's change against the base")
        if self.compact:
            headings = [h.replace(" against the base", "") for h in headings]
        changes = self._table(headings, labelled)
        for row in self.rows:
            b = row.base or ""
            cells = [
                self._value(row.testrail, False, change_text(b, row.testrail or "", added, removed))
            ]
            if with_base:
                cells.append(self._value(row.base, True, Text(b)))
            cells.append(
                self._value(
                    row.testfiesta, False, change_text(b, row.testfiesta or "", added, removed)
                )
            )
            changes.add_row(*([Text(row.label)] if labelled else []), *cells)
        parts.append(changes)
        return Group(*parts)
