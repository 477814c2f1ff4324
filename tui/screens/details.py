"""A record's details: where it is in the pane, then the record as it is on both sides.

The top rows (kind and key, title, where, badge, the title there) come from the pane at once;
the comparison is read in a worker through :meth:`core.service.Service.record_sides` (one read
per side), then shown field by field and step by step: the value's name, the TestRail value,
the TestFiesta value, and ``≠`` with the theme's ``$conflict`` colour where the sides differ.
``f`` shows only the differing rows. Once both sides are read the top rows say what was read,
not what the panes hold (they were read before, and a record edited since, on either side,
still shows its old title there): the titles of both sides and the badge core decided from
both (``RecordSides.state``: an edit not polled yet is ``pending``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from core.details import RecordSides
from core.errors import RailfiestaError
from core.service import Service, TreeNode
from core.sync_state import ONLY_HERE, SYNCED
from tui.bridge import SIDE_NAMES
from tui.widgets.footer import KeyFooter
from tui.widgets.project_tree import BADGES

_KIND_NAMES = {"suite": "Suite", "section": "Section", "folder": "Folder", "case": "Case"}

#: The mark of a row whose two sides differ (shown in ``$conflict``; readable without colour).
DIFFER_MARK = "≠"

#: What the comparison line says while both sides are read.
READING = "Reading the record on both sides…"


@dataclass
class RecordInfo:
    """What the details show about one record before anything is read.

    ``side`` is where it lives; ``path`` the names of the containers above it (top first);
    ``counterpart`` the linked record on the other side when that pane holds it; ``state``
    its badge as the pane shows it (``core.sync_state`` names; None: from the link alone).
    """

    side: str
    record: TreeNode
    path: list[str]
    counterpart: TreeNode | None = None
    state: str | None = None


def detail_lines(info: RecordInfo, sides: RecordSides | None = None) -> list[tuple[str, str]]:
    """(field, value) rows: kind and key, name, where, the link with its badge, and the name
    on the other side. With ``sides`` (both sides as just read) the names are those read and
    the badge is ``sides.state``; without, the pane's (``info``)."""
    record = info.record
    here = SIDE_NAMES.get(info.side, info.side)
    other_side = "testfiesta" if info.side == "testrail" else "testrail"
    other = SIDE_NAMES[other_side]
    name = record.name
    there = info.counterpart.name if info.counterpart is not None else None
    state = info.state or (SYNCED if record.linked else ONLY_HERE)
    if sides is not None:
        name = sides.name_on(info.side) or name
        there = sides.name_on(other_side)
        state = sides.state or state
    rows = [
        (_KIND_NAMES.get(record.kind, record.kind), record.key),
        ("Title" if record.kind == "case" else "Name", name),
        ("In", " › ".join(info.path) if info.path else f"the {here} project"),
    ]
    glyph, words = BADGES[state]
    if record.linked:
        rows.append(("Badge", f"{glyph} {words}: linked to {other} {record.linked}"))
        if there is not None:
            rows.append(("There", there))
    else:
        rows.append(("Badge", f"{glyph} {words}: not in {other} yet"))
    return rows


def summary(sides: RecordSides) -> str:
    """The comparison line: the one-side note, or how many values differ."""
    if sides.note:
        return sides.note
    count = sides.differences
    if count == 0:
        return f"Both sides agree on all {len(sides.rows)} values"
    return f"{count} of {len(sides.rows)} values differ ({DIFFER_MARK})"


class RecordDetails(Screen[None]):
    """A record's details (see the module docstring); escape, enter, ``i`` or ``q`` close
    it, ``f`` toggles "only differences".

    ``service`` and ``pair_index`` say where to read the record's two sides; without a
    ``service`` only the pane's rows are shown.
    """

    CSS_PATH = "details.tcss"
    #: before the palette's words for this screen's keys
    COMMAND_PREFIX: ClassVar[str] = "Details"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape", "close", "Close", id="details.close", tooltip="Back to the projects"
        ),
        Binding(
            "f", "only_differences", "Only differences", id="details.only_differences",
            tooltip="Show only the values whose sides differ, or all values again",
        ),
        Binding("enter", "close", "Close", show=False),
        Binding("i", "close", "Close", show=False),
        Binding("q", "close", "Close", show=False),
    ]  # fmt: skip

    def __init__(
        self,
        info: RecordInfo,
        service: Service | None = None,
        *,
        pair_index: int = 0,
        on_read: Callable[[RecordSides], None] | None = None,
    ) -> None:
        super().__init__(id="details")
        self.info = info
        self.service = service
        self.pair_index = pair_index
        #: told what both sides answered (the main screen brings its trees up to date)
        self.on_read = on_read
        self.rows = detail_lines(info)
        #: what :meth:`core.service.Service.record_sides` answered (None until then)
        self.sides: RecordSides | None = None
        self.only_differences = False

    def compose(self) -> ComposeResult:
        """The pane's rows, the comparison line and the comparison."""
        with Vertical(id="details-body") as body:
            side = SIDE_NAMES.get(self.info.side, self.info.side)
            body.border_title = f"{side} {self.info.record.kind}"
            body.border_subtitle = "escape closes · f only differences"
            yield from self._info_rows()
            yield Static(READING, id="details-summary", markup=False)
            with Horizontal(classes="detail-head"):
                yield Static("", classes="detail-mark")
                yield Static("Value", classes="detail-label")
                yield Static("TestRail", classes="detail-value")
                yield Static("TestFiesta", classes="detail-value")
            yield VerticalScroll(id="details-fields")
        yield KeyFooter()

    def _info_rows(self) -> list[Static]:
        """One line per row of :attr:`rows`, the names padded to one width."""
        width = max(len(name) for name, _ in self.rows)
        return [
            Static(f"{name:<{width}}  {value}", classes="details-row", markup=False)
            for name, value in self.rows
        ]

    async def _show_info_rows(self) -> None:
        """The top rows again, from what both sides answered (:attr:`sides`)."""
        rows = detail_lines(self.info, self.sides)
        if rows == self.rows:
            return
        self.rows = rows
        await self.query(".details-row").remove()
        body = self.query_one("#details-body", Vertical)
        await body.mount_all(self._info_rows(), before=self.query_one("#details-summary"))

    def on_mount(self) -> None:
        """Read both sides (when a service was given)."""
        if self.service is not None:
            self._read()
        else:
            self.query_one("#details-summary", Static).update("")

    @work(exclusive=True, group="details", exit_on_error=False, description="details")
    async def _read(self) -> None:
        assert self.service is not None
        summary_line = self.query_one("#details-summary", Static)
        try:
            sides = await self.service.record_sides(self.info.record.key, self.pair_index)
        except RailfiestaError as error:
            summary_line.update(f"Cannot read both sides: {error}")
            summary_line.add_class("-error")
            return
        except RuntimeError:  # the service is not open (yet, or any more)
            summary_line.update("Cannot read both sides: not connected")
            summary_line.add_class("-error")
            return
        self.sides = sides
        summary_line.update(summary(sides))
        await self._show_info_rows()
        await self._show_rows()
        if self.on_read is not None:
            self.on_read(sides)

    async def _show_rows(self) -> None:
        if self.sides is None:
            return
        table = self.query_one("#details-fields", VerticalScroll)
        await table.remove_children()
        rows = [row for row in self.sides.rows if row.differ or not self.only_differences]
        lines = []
        for row in rows:
            line = Horizontal(
                Static(DIFFER_MARK if row.differ else "", classes="detail-mark"),
                Static(row.label, classes="detail-label", markup=False),
                Static(row.testrail or "—", classes="detail-value -testrail", markup=False),
                Static(row.testfiesta or "—", classes="detail-value -testfiesta", markup=False),
                classes="detail-field" + (" -differ" if row.differ else ""),
            )
            if row.step is not None:
                line.add_class("-step")
            lines.append(line)
        await table.mount_all(lines)

    @property
    def shown_rows(self) -> list[tuple[str, str, str, str]]:
        """(mark, label, TestRail, TestFiesta) of every comparison row shown now."""
        shown = []
        for line in self.query(".detail-field"):
            cells = [str(cell.content) for cell in line.query(Static)]
            shown.append((cells[0], cells[1], cells[2], cells[3]))
        return shown

    async def action_only_differences(self) -> None:
        """Show only the rows whose sides differ, or all rows again."""
        self.only_differences = not self.only_differences
        await self._show_rows()

    def action_close(self) -> None:
        """Close the details."""
        self.dismiss(None)
