"""The mapping editor (``m``): which TestFiesta item each TestRail item becomes.

One tab per vocabulary of :data:`core.mapping.VOCABULARIES` (fields, statuses, priorities,
case types, users). Each row is a TestRail item from live metadata, its TestFiesta counterpart
(as the config maps it, else the default) and a live sample value; ``enter`` picks another
counterpart among TestFiesta's live items (fields and tags may also be typed: migration creates
them; TestFiesta users cannot be listed, so their ids are typed). The problems
:func:`core.mapping.validate_mapping` finds are listed below the table and marked in the rows;
``w`` writes the changed rows into the config through :meth:`core.service.Service.save_mapping`
(tomlkit: comments, order and every other byte stay), asking first when problems remain.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Input, OptionList, Static, TabbedContent
from textual.widgets import TabPane as Pane
from textual.widgets.option_list import Option

from core.errors import RailfiestaError
from core.mapping import (
    CLOSED_VOCABULARIES,
    ERROR,
    VOCABULARIES,
    MappingProblem,
    MetaItem,
    Vocabulary,
    counterpart,
    validate_mapping,
)
from core.service import Service
from tui.screens.modals import Confirm
from tui.widgets.footer import KeyFooter

#: Tab titles, in :data:`core.mapping.VOCABULARIES` order.
TAB_TITLES = {
    "fields": "Fields",
    "status": "Statuses",
    "priority": "Priorities",
    "types": "Case types",
    "users": "Users",
}

#: What a TestFiesta counterpart is called, per vocabulary (the picker's question).
COUNTERPART_WORDS = {
    "fields": "custom field",
    "status": "status",
    "priority": "priority",
    "types": "tag",
    "users": "user id",
}

#: Row marks: an error, a warning, a change not saved yet.
ERROR_MARK, WARNING_MARK, CHANGED_MARK = "!", "?", "*"

#: The status line while both sides' metadata is read.
READING = "Reading live metadata from both servers…"

#: Longest sample shown in a row (characters; the first line only).
SAMPLE_WIDTH = 40


def plural(count: int, word: str) -> str:
    """``"1 problem"``, ``"2 problems"``."""
    return f"{count} {word}{'' if count == 1 else 's'}"


def sample_text(value: str) -> str:
    """The first line of ``value``, cut to :data:`SAMPLE_WIDTH` characters with "…"."""
    line = value.splitlines()[0] if value else ""
    if len(line) > SAMPLE_WIDTH or "\n" in value:
        return line[: SAMPLE_WIDTH - 1] + "…"
    return line


class MappingTable(DataTable[str | Text]):
    """The rows of one tab; ``enter`` picks the counterpart of the row under the cursor."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "enter", "select_cursor", "Change", id="mapping.pick",
            tooltip="Choose the TestFiesta counterpart of the row under the cursor",
        ),
    ]  # fmt: skip


class CounterpartPicker(ModalScreen[str | None]):
    """Choose the TestFiesta counterpart of one TestRail item: from ``choices`` (live
    items), or typed when ``typed`` (fields, tags, user ids). Dismisses with the name, or
    None on escape. ``current`` is highlighted (or pre-filled)."""

    CSS_PATH = "mapping.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="mapping.pick.cancel"),
    ]

    def __init__(
        self, question: str, choices: list[MetaItem], current: str, *, typed: bool
    ) -> None:
        super().__init__(id="mapping-picker")
        self.question = question
        self.choices = choices
        self.current = current
        self.typed = typed

    def compose(self) -> ComposeResult:
        """The question, the live items, the text box."""
        with Vertical(id="picker-body") as body:
            body.border_title = "Map to"
            body.border_subtitle = "enter chooses · escape cancels"
            yield Static(self.question, id="picker-question", markup=False)
            if self.choices:
                yield OptionList(
                    *[
                        Option(
                            Text(f"{item.name}  ({item.label})" if item.label else item.name),
                            item.name,
                        )
                        for item in self.choices
                    ],
                    id="picker-options",
                )
            if self.typed:
                yield Input(
                    self.current,
                    placeholder="or type a name (empty: none)"
                    if self.choices
                    else "TestFiesta user id (a UUID); empty: none",
                    id="picker-input",
                )

    def on_mount(self) -> None:
        """Highlight the current counterpart (or focus the text box)."""
        if self.choices:
            options = self.query_one(OptionList)
            names = [item.name for item in self.choices]
            if self.current in names:
                options.highlighted = names.index(self.current)
            options.focus()
        else:
            self.query_one(Input).focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(str(event.option.id))

    @on(Input.Submitted)
    def _typed(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        """Close without a choice."""
        self.dismiss(None)


class MappingEditor(Screen[None]):
    """The mapping editor of ``[[pair]]`` number ``pair_index`` (see the module docstring).

    ``chosen`` holds the counterpart of every TestRail item per vocabulary, starting as the
    config says; ``problems`` what validation finds in it.
    """

    CSS_PATH = "mapping.tcss"
    #: before the palette's words for this screen's keys
    COMMAND_PREFIX: ClassVar[str] = "Mapping"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape", "close", "Close", id="mapping.close",
            tooltip="Back to the projects (asks first with unsaved changes)",
        ),
        Binding(
            "w", "save", "Save", id="mapping.save",
            tooltip="Write the changed rows into the config file; comments and order stay",
        ),
        Binding(
            "x", "revert", "Undo row", id="mapping.revert",
            tooltip="Put the row under the cursor back as the config has it",
        ),
        Binding("1", "tab('fields')", "Fields tab", show=False),
        Binding("2", "tab('status')", "Statuses tab", show=False),
        Binding("3", "tab('priority')", "Priorities tab", show=False),
        Binding("4", "tab('types')", "Case types tab", show=False),
        Binding("5", "tab('users')", "Users tab", show=False),
    ]  # fmt: skip

    def __init__(
        self, service: Service, *, pair_index: int = 0, project_key: str | None = None
    ) -> None:
        super().__init__(id="mapping")
        self.service = service
        self.pair_index = pair_index
        #: the TestFiesta project's key when the main screen found it (a generated key)
        self.project_key = project_key
        self.vocabularies: dict[str, Vocabulary] = {}
        self.chosen: dict[str, dict[str, str]] = {}
        self.problems: list[MappingProblem] = []
        self.loaded = False
        #: a save is writing the config file (in a worker thread)
        self.saving = False

    def compose(self) -> ComposeResult:
        """Tabs of tables, the problems, the footer."""
        pair = self.service.config.pairs[self.pair_index]
        target = pair.testfiesta_project or self.project_key or "(new project)"
        yield Static(
            f"Mapping  {pair.testrail_project} → {target}  ·  {self.service.config.path.name}",
            id="mapping-title",
            markup=False,
        )
        with TabbedContent(id="mapping-tabs"):
            for index, name in enumerate(VOCABULARIES, start=1):
                with Pane(f"{index} {TAB_TITLES[name]}", id=f"tab-{name}"):
                    yield MappingTable(id=f"table-{name}", cursor_type="row", zebra_stripes=True)
        yield Static(READING, id="mapping-problems", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        """Read both sides' metadata."""
        for name in VOCABULARIES:
            table = self.table(name)
            table.add_column("", key="mark", width=1)
            table.add_column("TestRail", key="testrail")
            table.add_column("TestFiesta", key="testfiesta")
            table.add_column("Sample", key="sample")
        self._load()

    def table(self, vocabulary: str) -> MappingTable:
        """The table of one tab."""
        return self.query_one(f"#table-{vocabulary}", MappingTable)

    @property
    def vocabulary(self) -> str:
        """The vocabulary of the tab shown."""
        active = self.query_one(TabbedContent).active or "tab-fields"
        return active.removeprefix("tab-")

    @property
    def changes(self) -> int:
        """How many rows differ from the config."""
        rules = self.service.config.mapping
        return sum(
            1
            for name, vocabulary in self.vocabularies.items()
            for item in vocabulary.testrail
            if self.chosen[name][item.name] != counterpart(rules, name, item)
        )

    @property
    def unsaved(self) -> int:
        """The unsaved rows quitting would lose (0 until both sides are read)."""
        return self.changes if self.loaded else 0

    # ------------------------------------------------------------------ loading

    @work(exclusive=True, group="mapping", exit_on_error=False, description="mapping editor")
    async def _load(self) -> None:
        status = self.query_one("#mapping-problems", Static)
        try:
            vocabularies = await self.service.mapping_vocabularies(self.pair_index)
        except RailfiestaError as error:
            status.update(f"Cannot read the live metadata: {error}")
            status.add_class("-error")
            return
        except RuntimeError:  # the service is not open (yet, or any more)
            status.update("Cannot read the live metadata: not connected")
            status.add_class("-error")
            return
        self.vocabularies = vocabularies
        self._reset_choices()
        self.loaded = True
        self._refresh()
        self.table(self.vocabulary).focus()

    def _reset_choices(self) -> None:
        rules = self.service.config.mapping
        self.chosen = {
            name: {item.name: counterpart(rules, name, item) for item in vocabulary.testrail}
            for name, vocabulary in self.vocabularies.items()
        }

    # ------------------------------------------------------------------ showing

    def _refresh(self) -> None:
        """Validate, then fill every table and the problem list."""
        self.problems = validate_mapping(self.vocabularies, self.chosen)
        marks: dict[tuple[str, str], str] = {}
        for problem in self.problems:
            for name in problem.testrail:
                if marks.get((problem.vocabulary, name)) != ERROR_MARK:
                    mark = ERROR_MARK if problem.severity == ERROR else WARNING_MARK
                    marks[(problem.vocabulary, name)] = mark
        rules = self.service.config.mapping
        # the marks' colours are the theme's variables (themes/*.toml), never fixed here
        colours = self.app.get_css_variables()
        styles = {
            ERROR_MARK: f"bold {colours.get('conflict', '')}".strip(),
            WARNING_MARK: f"bold {colours.get('pending', '')}".strip(),
            CHANGED_MARK: f"bold {colours.get('accent', '')}".strip(),
            "": "",
        }
        for name, vocabulary in self.vocabularies.items():
            table = self.table(name)
            row = table.cursor_row
            table.clear()
            for item in vocabulary.testrail:
                chosen = self.chosen[name][item.name]
                mark = marks.get((name, item.name), "")
                if not mark and chosen != counterpart(rules, name, item):
                    mark = CHANGED_MARK
                label = item.name
                if item.label and item.label.casefold() != item.name.casefold():
                    label += f" ({item.label})"
                if item.required:
                    label += " required"
                table.add_row(
                    Text(mark, style=styles[mark]),
                    Text(label),  # TestRail's words, shown literally (a str reads markup)
                    Text(chosen or "—"),
                    Text(sample_text(item.sample)),
                    key=item.name,
                )
            if vocabulary.testrail:
                table.move_cursor(row=min(row, len(vocabulary.testrail) - 1))
        status = self.query_one("#mapping-problems", Static)
        status.remove_class("-error")
        lines = [
            f"{ERROR_MARK if p.severity == ERROR else WARNING_MARK} {TAB_TITLES[p.vocabulary]}: "
            f"{p.message}"
            for p in self.problems
        ]
        changes = self.changes
        head = f"{plural(changes, 'unsaved change')}" if changes else "No unsaved changes"
        errors = sum(1 for p in self.problems if p.severity == ERROR)
        head += f" · {plural(len(self.problems), 'problem')}" if self.problems else " · no problems"
        if errors:
            head += f" ({plural(errors, 'error')})"
        status.update("\n".join([head, *lines]))
        status.set_class(bool(errors), "-has-errors")

    @property
    def rows(self) -> list[tuple[str, str, str, str]]:
        """(mark, TestRail, TestFiesta, sample) of every row of the tab shown."""
        table = self.table(self.vocabulary)
        rows = []
        for index in range(table.row_count):
            mark, testrail, testfiesta, sample = (str(cell) for cell in table.get_row_at(index))
            rows.append((mark, testrail, testfiesta, sample))
        return rows

    # ------------------------------------------------------------------ actions

    def action_tab(self, vocabulary: str) -> None:
        """Show the tab of ``vocabulary``."""
        self.query_one(TabbedContent).active = f"tab-{vocabulary}"
        self.table(vocabulary).focus()

    def _item(self) -> MetaItem | None:
        name = self.vocabulary
        vocabulary = self.vocabularies.get(name)
        table = self.table(name)
        if vocabulary is None or not vocabulary.testrail or table.row_count == 0:
            return None
        return vocabulary.testrail[table.cursor_row]

    def action_pick(self) -> None:
        """Choose the TestFiesta counterpart of the TestRail item under the cursor."""
        item, name = self._item(), self.vocabulary
        if item is None:
            return
        vocabulary = self.vocabularies[name]
        question = f"TestFiesta {COUNTERPART_WORDS[name]} for TestRail {item.name!r}" + (
            f" ({item.label})" if item.label else ""
        )
        picker = CounterpartPicker(
            question,
            list(vocabulary.testfiesta),
            self.chosen[name][item.name],
            typed=name not in CLOSED_VOCABULARIES or not vocabulary.listable,
        )

        def chosen(value: str | None) -> None:
            if value is None:
                return
            self.chosen[name][item.name] = value
            self._refresh()

        self.app.push_screen(picker, chosen)

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_pick()

    def action_revert(self) -> None:
        """Put the row under the cursor back as the config has it."""
        item, name = self._item(), self.vocabulary
        if item is None:
            return
        self.chosen[name][item.name] = counterpart(self.service.config.mapping, name, item)
        self._refresh()

    def action_save(self) -> None:
        """Write the changed rows into the config; with errors left, only after a yes."""
        if not self.loaded or self.saving:
            return
        if not self.changes:
            self.notify("Nothing to save: the config already says this.")
            return
        blocking = next((p for p in self.problems if p.blocks_save), None)
        if blocking is not None:
            self.notify(
                f"{blocking.message}: fix it first (the config cannot hold it)",
                title="Not saved",
                severity="error",
                markup=False,
            )
            return
        errors = sum(1 for p in self.problems if p.severity == ERROR)
        if errors:
            question = f"{plural(errors, 'error')} left (marked {ERROR_MARK}); save anyway?"
            self.app.push_screen(
                Confirm(question, id="confirm-save"), lambda yes: self._save() if yes else None
            )
            return
        self._save()

    def _save(self) -> None:
        """Save the choices as they are now (:meth:`_write`); ``w`` and escape wait until
        that is done."""
        if self.saving:
            return
        self.saving = True
        self._write({name: dict(choices) for name, choices in self.chosen.items()})

    @work(group="mapping-save", exit_on_error=False, description="save mapping")
    async def _write(self, saved: dict[str, dict[str, str]]) -> None:
        """Write ``saved`` into the config in a thread (the file and the config read again
        are disk work: the console answers keys meanwhile), then say so."""
        try:
            edits = await asyncio.to_thread(self.service.save_mapping, self.vocabularies, saved)
        except RailfiestaError as error:
            self.notify(str(error), title="Not saved", severity="error", markup=False)
            return
        finally:
            self.saving = False
        count = len(edits)
        self.notify(f"Saved {plural(count, 'change')} to {self.service.config.path.name}")
        # rows saved now read as the config says; a row changed while the file was written
        # keeps its new choice (still unsaved)
        rules = self.service.config.mapping
        for name, vocabulary in self.vocabularies.items():
            for item in vocabulary.testrail:
                if self.chosen[name][item.name] == saved[name][item.name]:
                    self.chosen[name][item.name] = counterpart(rules, name, item)
        if self.is_attached:
            self._refresh()

    def _discard_answered(self, yes: bool | None) -> None:
        if yes:
            self.dismiss(None)

    def action_close(self) -> None:
        """Close the editor (not while a save writes); with unsaved changes, only after a
        yes."""
        if self.saving:
            return
        if self.unsaved:
            count = self.unsaved
            question = f"Discard {plural(count, 'unsaved change')}?"
            self.app.push_screen(Confirm(question, id="confirm-discard"), self._discard_answered)
            return
        self.dismiss(None)
