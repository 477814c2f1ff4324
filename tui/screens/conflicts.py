"""The conflicts screen (``c``): every stored conflict, and a three-way diff of the one chosen.

A person settles conflicts by keyboard, one after the other: ``>`` TestRail wins, ``<``
TestFiesta wins, ``e`` edits a merged value, ``/`` skips, ``n``/``p`` move, ``u`` takes back
the last choice, ``D`` makes the last choice for the rest of that field (after a yes). There
is no default action: Enter chooses nothing. After each choice the screen moves on to the next
open conflict. A choice is recorded in the state store (:meth:`core.service.Service.resolve`,
as ``railfiesta conflicts resolve`` does); the next sync cycle applies it, whichever process
runs it, and the conflict then leaves the list. Until then it stays, marked as chosen. A watch
that runs with sync on (the console's own, or a ``sync --watch`` it is attached to) is asked
to apply the choices a moment after the last one (``chosen``, see :mod:`tui.sync_control`).

Every store call runs off the event loop (``asyncio.to_thread``); the list is read again every
:data:`RELOAD_SECONDS` so choices applied by a sync (here or in ``sync --watch``) show.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.markup import escape
from textual.screen import ModalScreen, Screen
from textual.widgets import Label, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from core.service import ConflictView, EditPart, Service
from tui.bridge import SIDE_NAMES
from tui.screens.modals import Confirm
from tui.widgets.diff import DiffView
from tui.widgets.project_tree import CONFLICT_BADGE

#: Seconds between two reads of the stored conflicts.
RELOAD_SECONDS = 1.0

#: The keys line: (key, what), in the order shown.
KEYS = (
    (">", "TestRail wins"),
    ("<", "TestFiesta wins"),
    ("e", "edit"),
    ("/", "skip"),
    ("n p", "next/previous"),
    ("u", "undo"),
    ("D", "same for the rest of the field"),
    ("b", "base"),
    ("esc", "back"),
    ("?", "keys"),
)

#: Marks in the list: an open conflict is marked with the trees' conflict badge (one glyph
#: per meaning: the trees' ``●`` means synced); a chosen one with a tick.
OPEN_MARK = CONFLICT_BADGE
CHOSEN_MARK = "✓"


def chosen_words(view: ConflictView) -> str:
    """What was chosen for ``view``: ``TestRail's value``, ``an edited value`` …"""
    resolution = view.resolution or {}
    winner = str(resolution.get("winner", ""))
    if winner == "value":
        return "an edited value"
    return f"{SIDE_NAMES.get(winner, winner)}'s value"


def record_words(view: ConflictView) -> str:
    """``case “Log in”`` (the key when the record has no title)."""
    return f"{view.kind} “{view.title}”" if view.title else f"{view.kind} {view.testrail}"


class EditValue(ModalScreen[bool]):
    """An editor for a merged value: one text area per part (the value, or each column of a
    step), opened with both sides' changes merged. ``ctrl+s`` saves through ``save`` (which
    returns an error to show, or None once the choice is recorded); escape cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", priority=True, id="edit.save"),
        Binding("escape", "cancel", "Cancel", priority=True, id="edit.cancel"),
    ]

    DEFAULT_CSS = """
    EditValue {
        align: center middle;
    }
    #edit-body {
        width: 90%;
        max-width: 120;
        height: auto;
        max-height: 100%;
        border: round $primary;
        background: $surface;
        padding: 0 1;
    }
    #edit-body TextArea {
        height: auto;
        max-height: 8;
    }
    .edit-label {
        margin-top: 1;
        text-style: bold;
        color: $text-primary;
    }
    #edit-error {
        display: none;
        color: $text-error;
    }
    #edit-keys {
        color: $text-muted;
    }
    """

    #: The cursor starts in the first text area, so the keys typed edit the value (the
    #: scrolling body around the areas would take the focus first).
    AUTO_FOCUS = "TextArea"

    def __init__(
        self,
        heading: str,
        parts: list[EditPart],
        save: Callable[[dict[str, str]], Awaitable[str | None]],
    ) -> None:
        super().__init__(id="edit-value")
        self.heading = heading
        self.parts = parts
        self._save = save

    def compose(self) -> ComposeResult:
        """A label and a text area per part, the error line and the keys."""
        with VerticalScroll(id="edit-body") as body:
            body.border_title = escape(self.heading)  # a border title reads markup
            for index, part in enumerate(self.parts):
                yield Label(part.label, classes="edit-label", markup=False)
                yield TextArea(part.draft, id=f"edit-{index}", soft_wrap=True)
            yield Static("", id="edit-error", markup=False)
            yield Label("ctrl+s saves · escape cancels", id="edit-keys")

    def areas(self) -> list[TextArea]:
        """The text areas, one per part."""
        return [self.query_one(f"#edit-{i}", TextArea) for i in range(len(self.parts))]

    async def action_save(self) -> None:
        """Record the edited value, or say why it cannot be one."""
        texts = {part.name: area.text for part, area in zip(self.parts, self.areas(), strict=True)}
        error = await self._save(texts)
        if error is None:
            self.dismiss(True)
            return
        note = self.query_one("#edit-error", Static)
        note.update(error)
        note.display = True

    def action_cancel(self) -> None:
        """Close without choosing."""
        self.dismiss(False)


class ConflictsScreen(Screen[None]):
    """Every stored conflict and the three-way diff of the highlighted one.

    ``service`` is the console's :class:`Service` (its state store may be the only part
    open: conflicts need no network).
    """

    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]  # noqa: RUF012
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]  # noqa: RUF012

    #: before the palette's words for this screen's keys
    COMMAND_PREFIX: ClassVar[str] = "Conflict"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "greater_than_sign", "take('testrail')", "TestRail wins", key_display=">",
            id="conflicts.testrail", tooltip="Keep TestRail's value: TestFiesta gets it",
        ),
        Binding(
            "less_than_sign", "take('testfiesta')", "TestFiesta wins", key_display="<",
            id="conflicts.testfiesta", tooltip="Keep TestFiesta's value: TestRail gets it",
        ),
        Binding(
            "e", "edit", "Edit a merged value", id="conflicts.edit",
            tooltip="Write the value both sides get, starting from both changes",
        ),
        Binding(
            "slash", "skip", "Skip (leave it open)", key_display="/", id="conflicts.skip",
            tooltip="Leave this conflict open and show the next open one",
        ),
        Binding(
            "n", "move(1)", "Next conflict", id="conflicts.next",
            tooltip="Show the next conflict in the list",
        ),
        Binding(
            "p", "move(-1)", "Previous conflict", id="conflicts.previous",
            tooltip="Show the previous conflict in the list",
        ),
        Binding(
            "u", "undo", "Undo the last choice", id="conflicts.undo",
            tooltip="Take the last choice back before the sync applies it",
        ),
        Binding(
            "D", "same_for_rest", "Same choice for the rest of this field", key_display="D",
            id="conflicts.rest",
            tooltip="Make the last choice for this field in the other open conflicts (asks "
            "first)",
        ),
        Binding(
            "b", "toggle_base", "Show or hide the base", id="conflicts.base",
            tooltip="Show or hide the value both sides started from",
        ),
        Binding("escape", "close", "Back to the projects", id="conflicts.close"),
    ]  # fmt: skip

    DEFAULT_CSS = """
    ConflictsScreen {
        layout: vertical;
    }
    #conflicts-title {
        height: 1;
        padding: 0 1;
        background: $panel;
        text-style: bold;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    #conflict-list {
        height: 9;
        border: round $panel-lighten-2;
        background: transparent;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    #conflict-list:focus {
        border: round $primary;
    }
    ConflictsScreen.-short #conflict-list {
        height: 6;
    }
    #conflict-record {
        height: auto;
        padding: 0 1;
    }
    #conflict-diff {
        height: 1fr;
        border: round $panel-lighten-2;
        border-title-color: $text-primary;
    }
    #conflict-diff:focus {
        border: round $primary;
    }
    #conflict-keys {
        height: auto;
        padding: 0 1;
        background: $panel;
    }
    ConflictsScreen > .conflicts--open {
        color: $conflict;
        text-style: bold;
    }
    ConflictsScreen > .conflicts--chosen {
        color: $synced;
    }
    ConflictsScreen > .conflicts--muted {
        color: $text-muted;
    }
    ConflictsScreen > .conflicts--key {
        color: $text-accent;
        text-style: bold;
    }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "conflicts--open",
        "conflicts--chosen",
        "conflicts--muted",
        "conflicts--key",
    }

    def __init__(self, service: Service, *, chosen: Callable[[], None] | None = None) -> None:
        super().__init__(id="conflicts")
        self.service = service
        #: called after every choice stored or taken back (the app asks a running watch to
        #: apply them: :meth:`tui.sync_control.SyncControl.chosen`)
        self._chosen = chosen or (lambda: None)
        #: every stored conflict, oldest first, as last read
        self.views: list[ConflictView] = []
        #: the id of the conflict shown (None: there is none)
        self.current: str | None = None
        self.loaded = False
        #: bumped by every choice: a read that began before it is dropped
        self._generation = 0

    def compose(self) -> ComposeResult:
        """Title, the list, the record line, the diff, the keys."""
        yield Static("Conflicts", id="conflicts-title", markup=False)
        yield OptionList(id="conflict-list")
        yield Static("", id="conflict-record")
        with VerticalScroll(id="conflict-diff"):
            yield DiffView(id="diff")
        yield Static(self._keys_line(), id="conflict-keys")

    async def on_mount(self) -> None:
        """Read the conflicts; keep reading them."""
        self.query_one(OptionList).focus()
        await self.reload()
        self.set_interval(RELOAD_SECONDS, self.reload)

    def toast_room(self) -> int:
        """Rows the toasts may take: the list's height (they sit over it, below the title
        line: app.tcss), never the diff's (``RailfiestaApp.fit_toasts``)."""
        return self.option_list.outer_size.height

    # ------------------------------------------------------------------ parts

    @property
    def option_list(self) -> OptionList:
        """The list of conflicts."""
        return self.query_one("#conflict-list", OptionList)

    @property
    def diff(self) -> DiffView:
        """The diff of the conflict shown."""
        return self.query_one(DiffView)

    @property
    def current_view(self) -> ConflictView | None:
        """The conflict shown, as last read."""
        return next((v for v in self.views if v.id == self.current), None)

    @property
    def title_text(self) -> str:
        """The title line as shown."""
        return str(self.query_one("#conflicts-title", Static).content)

    @property
    def record_text(self) -> str:
        """The record line as shown."""
        content = self.query_one("#conflict-record", Static).content
        return content.plain if isinstance(content, Text) else str(content)

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"conflicts--{name}", partial=True)

    def _keys_line(self) -> Text:
        text = Text()
        for index, (key, what) in enumerate(KEYS):
            if index:
                text.append("  ")
            text.append(key, "bold")
            text.append(f" {what}")
        return text

    # ------------------------------------------------------------------ reading

    def _read(self) -> list[ConflictView]:
        """The stored conflicts (in a thread). Opens the state store alone when the service
        could not open (conflicts need no network); RuntimeError while it is still opening."""
        try:
            return self.service.conflict_views()
        except RuntimeError:
            opening = any(w.group == "service" and not w.is_finished for w in self.app.workers)
            if opening:
                raise
            self.service.open_state()
            return self.service.conflict_views()

    async def reload(self) -> None:
        """Read the stored conflicts again and show them, keeping the one shown."""
        generation = self._generation
        try:
            views = await asyncio.to_thread(self._read)
        except RuntimeError:
            self.query_one("#conflicts-title", Static).update("Conflicts: opening the state store…")
            return
        if generation != self._generation or not self.is_mounted:
            return  # a choice was made meanwhile: the next read shows it
        self._show(views)

    def _show(self, views: list[ConflictView]) -> None:
        before = [v.id for v in self.views]
        index = before.index(self.current) if self.current in before else 0
        changed = [(v.id, v.resolution) for v in views] != [
            (v.id, v.resolution) for v in self.views
        ]
        self.views = views
        self.loaded = True
        ids = [v.id for v in views]
        if self.current not in ids:
            # the one shown was applied: show what took its place
            self.current = ids[min(index, len(ids) - 1)] if ids else None
        if changed or self.option_list.option_count != len(views):
            self._fill_list()
        self._show_title()
        self._show_current()

    def _fill_list(self) -> None:
        options = self.option_list
        options.clear_options()
        options.add_options(Option(self._prompt(v), id=v.id) for v in self.views)
        if self.current is not None:
            options.highlighted = [v.id for v in self.views].index(self.current)

    def _prompt(self, view: ConflictView) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        if view.chosen:
            text.append(f"{CHOSEN_MARK} ", self._style("chosen"))
        else:
            text.append(f"{OPEN_MARK} ", self._style("open"))
        text.append(f"{view.label:<10} ")
        text.append(record_words(view))
        if view.chosen:
            text.append(f"  {chosen_words(view)} chosen", self._style("chosen"))
        return text

    def _show_title(self) -> None:
        chosen = sum(1 for v in self.views if v.chosen)
        still = len(self.views) - chosen
        if not self.views:
            line = "Conflicts: none open"
        else:
            line = f"Conflicts: {still} open"
            if chosen:
                line += f" · {chosen} chosen, the next sync applies them"
        self.query_one("#conflicts-title", Static).update(line)

    def _show_current(self) -> None:
        view = self.current_view
        record = self.query_one("#conflict-record", Static)
        box = self.query_one("#conflict-diff", VerticalScroll)
        if view is None:
            record.update(
                Text(
                    "Nothing to settle. Conflicts appear here when a sync finds a value "
                    "changed differently on both sides.",
                    self._style("muted"),
                )
            )
            box.border_title = ""
            self.diff.show([])
            return
        position = [v.id for v in self.views].index(view.id) + 1
        text = Text()
        text.append(f"{position}/{len(self.views)}  ", self._style("muted"))
        text.append(f"{view.label} of {record_words(view)}", "bold")
        text.append(f"  ·  TestRail {view.testrail} ↔ TestFiesta {view.testfiesta}\n")
        if view.chosen:
            text.append(f"{CHOSEN_MARK} {chosen_words(view)} chosen", self._style("chosen"))
            text.append(": the next sync writes it to both sides (u takes it back)")
        else:
            text.append(f"{OPEN_MARK} open", self._style("open"))
            text.append(": > TestRail wins, < TestFiesta wins, e edit, / skip")
        record.update(text)
        box.border_title = f"{escape(view.label)}  ·  conflict {view.id}"
        self.diff.show(view.rows)

    # ------------------------------------------------------------------ moving

    @on(OptionList.OptionHighlighted, "#conflict-list")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id is not None and event.option.id != self.current:
            self.current = event.option.id
            self._show_current()

    @on(OptionList.OptionSelected, "#conflict-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        """Enter chooses nothing (no default action)."""
        event.stop()

    def _go(self, conflict_id: str | None) -> None:
        self.current = conflict_id
        if conflict_id is not None:
            ids = [v.id for v in self.views]
            self.option_list.highlighted = ids.index(conflict_id)
        self._show_current()

    def action_move(self, step: int) -> None:
        """``n``/``p``: the next or previous conflict in the list (open or chosen)."""
        ids = [v.id for v in self.views]
        if not ids:
            return
        index = ids.index(self.current) if self.current in ids else 0
        self._go(ids[max(0, min(len(ids) - 1, index + step))])

    def _next_open(self) -> str | None:
        """The first open conflict after the one shown (wrapping), else None."""
        ids = [v.id for v in self.views]
        start = ids.index(self.current) if self.current in ids else -1
        for view in self.views[start + 1 :] + self.views[: start + 1]:
            if not view.chosen and view.id != self.current:
                return view.id
        return None

    def _move_on(self) -> None:
        """After a choice or a skip: the next open conflict, or say that none is left."""
        following = self._next_open()
        if following is not None:
            self._go(following)
        elif self.current_view is not None and not self.current_view.chosen:
            self.notify("No other conflict is open.", timeout=3)
        else:
            self._show_current()
            self.notify("Every conflict has a choice: the next sync applies them.", timeout=3)

    def action_skip(self) -> None:
        """``/``: leave this conflict open and show the next open one."""
        if self._needs_current() is not None:
            self._move_on()

    # ------------------------------------------------------------------ choosing

    def _needs_current(self) -> ConflictView | None:
        view = self.current_view
        if view is None:
            self.notify("No conflict to settle.", severity="warning", timeout=3)
        return view

    async def _reread(self) -> None:
        self._generation += 1
        self._show(await asyncio.to_thread(self.service.conflict_views))

    async def action_take(self, winner: str) -> None:
        """``>`` / ``<``: ``winner``'s value for the conflict shown, then the next one."""
        view = self._needs_current()
        if view is None:
            return
        try:
            await asyncio.to_thread(self.service.resolve, view.id, winner)
        except KeyError:
            self.notify("A sync applied this conflict meanwhile.", timeout=3)
            await self._reread()
            return
        self.service.resolutions.record([view.id], winner=winner)
        self._chosen()
        await self._reread()
        self._move_on()

    async def action_edit(self) -> None:
        """``e``: edit a value merged from both changes; saving records it."""
        view = self._needs_current()
        if view is None:
            return
        try:
            parts = await asyncio.to_thread(self.service.edit_parts, view.id)
        except KeyError:
            await self._reread()
            return

        async def save(texts: dict[str, str]) -> str | None:
            try:
                await asyncio.to_thread(self.service.resolve_edited, view.id, texts)
            except ValueError as error:
                return str(error)
            except KeyError:
                return "A sync applied this conflict meanwhile: escape closes."
            return None

        async def saved(done: bool | None) -> None:
            if not done:
                return
            self.service.resolutions.record([view.id])  # a typed value: not for D
            self._chosen()
            await self._reread()
            self._move_on()

        heading = f"Edit {view.label} of {record_words(view)}"
        self.app.push_screen(EditValue(heading, parts, save), saved)

    async def action_undo(self) -> None:
        """``u``: take back the last choice made (a ``D`` batch as a whole), if no sync has
        applied it yet; the conflict is shown open again. The choices are kept by the service
        (``Service.resolutions``), so closing and reopening this screen keeps them."""
        if not len(self.service.resolutions):
            self.notify("Nothing to undo here.", timeout=3)
            return
        undone, total = await asyncio.to_thread(self.service.undo_resolution)
        self._chosen()
        await self._reread()
        if undone:
            self._go(undone[0])
        if len(undone) < total:
            self.notify(
                f"{total - len(undone)} of {total} were applied by a sync already: they stay.",
                severity="warning",
                timeout=4,
            )

    async def action_same_for_rest(self) -> None:
        """``D``: the last choice (``>`` or ``<``) for every other open conflict on the same
        field, after a yes."""
        if self.service.resolutions.last_choice is None:
            self.notify(
                "Choose > or < first: D then makes that choice for the rest of the field.",
                severity="warning",
                timeout=4,
            )
            return
        conflict_id, winner = self.service.resolutions.last_choice
        try:
            rest = await asyncio.to_thread(self.service.rest_of_field, conflict_id)
        except KeyError:
            self.notify("A sync applied that choice already.", timeout=3)
            return
        chosen = next((v for v in self.views if v.id == conflict_id), None)
        label = chosen.label if chosen else "this field"
        family = label.split(" ", 1)[0] if label.startswith("step ") else label
        if not rest:
            self.notify(f"No other {family} conflict is open.", timeout=3)
            return
        side = SIDE_NAMES[winner]
        question = (
            f"Take {side}'s value for the {len(rest)} other open {family} "
            f"conflict{'s' if len(rest) != 1 else ''} too?"
        )

        async def answered(yes: bool | None) -> None:
            if not yes:
                return
            done = await asyncio.to_thread(self.service.resolve_rest, conflict_id, winner)
            ids = [str(e["conflict"]["id"]) for e in done]
            self.service.resolutions.record(ids, winner=winner)
            self._chosen()
            await self._reread()
            self._move_on()

        self.app.push_screen(Confirm(question, id="confirm-rest"), answered)

    def action_toggle_base(self) -> None:
        """``b``: show or hide the base column."""
        self.diff.toggle_base()

    def action_close(self) -> None:
        """Back to the projects."""
        self.dismiss(None)
