"""The railfiesta console: a Textual app over :class:`core.service.Service`.

    app = RailfiestaApp(service, theme="railfiesta-dark")
    app.run(mouse=True)

The app opens the service in a worker when it mounts and closes it when it unmounts; the caller
only builds the service (config, state directory, transports). Everything slow (opening,
loading trees, migrating) runs in workers, and every failure ends up as a note in the UI, a log
line and a notification, never as a traceback.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable
from functools import partial
from importlib.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events, on, work
from textual.app import App, ScreenStackError, SystemCommand
from textual.binding import Binding, BindingType
from textual.command import CommandPalette
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets._toast import Toast, ToastRack
from textual.worker import Worker, WorkerState

from core.errors import RailfiestaError, failed_side
from core.kinds import counted
from core.migrate import MigrationReport
from core.report import CLEAN, FATAL
from core.service import Service
from tui.bridge import EventBridge
from tui.collector import IdleCollector
from tui.keys import CONSOLE, BoundAction, bound_actions, palette_actions
from tui.messages import (
    BackgroundFailed,
    MigrationFinished,
    MigrationProgress,
    MigrationStarted,
    ServerRetrying,
    ServerWaiting,
    ServiceFailed,
    ServiceOpened,
    SyncCycleFinished,
    SyncCycleStarted,
    WatchPausedChanged,
    connection_news,
)
from tui.screens.main import MainScreen, ServerNews, plural
from tui.screens.modals import Confirm
from tui.sync_control import ATTACHED, SyncControl
from tui.themes import (
    DEFAULT_THEME,
    NO_COLOR_THEME,
    load_theme_files,
    variable_defaults,
)
from tui.widgets.panes import ProjectPane
from tui.widgets.project_tree import ProjectTree, display_id

if TYPE_CHECKING:
    from collections.abc import Mapping

    from textual.actions import ActionParseResult
    from textual.dom import DOMNode

    from tui.screens.help import KeyRows

# The conflicts, mapping and help screens are imported when first opened: they pull in
# Textual widgets the main screen does not use (TextArea, DataTable, TabbedContent), and a
# console start paid for them (bench/console.py, "imports").


def summarize(reports: Iterable[MigrationReport]) -> str:
    """One line per report: ``Project -> KEY: folders 3->3, cases 40->40; 1 warning``."""
    lines = []
    for report in reports:
        kinds = ", ".join(
            f"{kind} {count.testrail}->{count.testfiesta}" for kind, count in report.kinds.items()
        )
        line = (
            f"{report.testrail_project} -> {report.testfiesta_project or '?'}: {kinds or 'nothing'}"
        )
        if report.warnings:
            count = len(report.warnings)
            line += f"; {count} warning{'s' if count != 1 else ''}"
        lines.append(line)
    return "\n".join(lines) or "nothing to migrate (no [[pair]] matched)"


def outcome(reports: Iterable[MigrationReport]) -> str:
    """One short line for the progress row (the log has :func:`summarize`, every kind): how
    many folders and cases TestFiesta holds and links, named so ("all 89 folders and 600
    cases linked", not "689 records", which read as every record), and whether warnings
    wait in the log."""
    reports = list(reports)
    if not reports:
        return "Nothing to migrate: no [[pair]] matched"
    kinds = ("folders", "cases")
    found = {k: sum(r.kinds[k].testfiesta for r in reports if k in r.kinds) for k in kinds}
    wanted = {k: sum(r.kinds[k].testrail for r in reports if k in r.kinds) for k in kinds}
    warnings = sum(len(report.warnings) for report in reports)
    if all(report.complete for report in reports):
        line = f"Migrated: all {counted(found['folders'], 'folders')} and "
        line += f"{counted(found['cases'], 'cases')} linked"
    else:
        line = (
            f"Migration incomplete: {found['folders']} of {counted(wanted['folders'], 'folders')}"
            f" and {found['cases']} of {counted(wanted['cases'], 'cases')} in TestFiesta"
        )
    if warnings:
        line += f"; {plural(warnings, 'warning')} in the log"
    return line


def freeze_startup() -> None:
    """Move every object alive now (modules, classes, the app's widgets and styles) to the
    collector's permanent generation (:func:`gc.freeze`): they live as long as the console,
    and each full collection would walk them again. A full collection over the imports alone
    took ~40 ms, long enough to make a key press late whenever one ran (Textual allocates
    plenty per press); afterwards it walks only what was made since. Cycles that are garbage
    already stay in memory (a few from startup); nothing frozen is freed while the console
    runs, so this runs once, before records are loaded (they are replaced on each reload),
    and :meth:`RailfiestaApp.on_unmount` undoes it."""
    gc.freeze()


#: What quitting during a migration asks.
QUIT_QUESTION = "A migration is running; quit anyway? It resumes next time."

#: The toast when the service cannot open (the cause is in the note it points to).
STARTUP_FAILED = "Neither server was contacted: see the note at the top."

#: Rows below the toast rack on a screen other than the main one (app.tcss: its margin).
TOAST_RACK_BELOW = 8

#: Seconds the "migration finished" toast stays.
NOTICE_SECONDS = 3.0


class RailfiestaApp(App[None]):
    """The console for one config.

    ``service``: an unopened :class:`Service` (the app opens and closes it).
    ``theme``: a theme name (None: the config's ``[ui] theme``); unknown names fall back to
    :data:`tui.themes.DEFAULT_THEME` with a warning. ``pair_index``: which ``[[pair]]`` the
    panes show (ValueError when the config has no such pair). ``mouse``: False turns mouse
    reporting off whatever ``run(mouse=...)`` says (None: the config's ``[ui] mouse``).
    """

    TITLE = "railfiesta"
    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses elsewhere find it
    # Every screen (the modals too) is -short below 32 rows, so toasts clear the progress row
    # and the log behind a modal as they do on the main screen (app.tcss).
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]  # noqa: RUF012

    # description: the footer's and the help's words; tooltip: the palette's explanation
    # (tui.keys derives both the help and the palette from these)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "s", "toggle_sync", "Sync on/off", id="toggle_sync",
            tooltip="Switch two-way sync on or off, in the config file as "
            "`railfiesta sync on|off`",
        ),
        Binding(
            "S", "sync_now", "Sync now", id="sync_now", key_display="S",
            tooltip="Run a sync cycle now, or ask the running sync for one",
        ),
        Binding(
            "M", "migrate", "Migrate", id="migrate", key_display="M",
            tooltip="Copy the TestRail project into TestFiesta",
        ),
        Binding(
            "c", "conflicts", "Conflicts", id="conflicts",
            tooltip="Settle sync conflicts in a three-way diff",
        ),
        Binding(
            "m", "mapping", "Mapping", id="mapping",
            tooltip="Which TestFiesta field, status, priority, tag and user each TestRail "
            "one becomes",
        ),
        Binding(
            "p", "next_pair", "Next pair", id="next_pair",
            tooltip="Show the next [[pair]] of the config in the panes",
        ),
        Binding(
            "t", "next_theme", "Theme", id="next_theme", show=False,
            tooltip="Switch to the next of the console's themes",
        ),
        Binding(
            "y", "copy_id", "Copy id", id="copy_id", show=False,
            tooltip="Copy the selected record's id to the clipboard",
        ),
        Binding(
            "Y", "copy_url", "Copy URL", id="copy_url", show=False, key_display="Y",
            tooltip="Copy the web address of the selected record's page to the clipboard",
        ),
        Binding(
            "question_mark", "help", "Keys", id="help", key_display="?",
            tooltip="Show what each key does here",
        ),
        Binding("q", "quit", "Quit", id="quit", tooltip="Leave the console"),
    ]  # fmt: skip

    #: Folders the theme files are read from (None: the ``themes`` package).
    THEME_FOLDERS: ClassVar[list[Traversable | Path] | None] = None

    def __init__(
        self,
        service: Service,
        *,
        theme: str | None = None,
        pair_index: int = 0,
        mouse: bool | None = None,
    ) -> None:
        pairs = len(service.config.pairs)
        if not 0 <= pair_index < pairs:
            raise ValueError(f"pair_index {pair_index} out of range: the config has {pairs} pairs")
        super().__init__()
        self.service = service
        self.pair_index = pair_index
        self.mouse_enabled = service.config.ui.mouse if mouse is None else mouse
        self.bridge = EventBridge(self.post_message)
        self.collector = IdleCollector()
        self.service_open = False
        #: the service could not open (config, secret, state): the console exits 3 (FATAL)
        self.startup_failed = False
        self._migration: Worker[None] | None = None
        #: the quit question shown, when a running migration was what it asked about
        self._quit_asked_mid_migration: Confirm | None = None
        self._main: MainScreen | None = None
        self._startup_warnings: list[str] = []
        self.own_themes: list[str] = []
        self._register_themes(theme or service.config.ui.theme or None)
        service.subscribe(self.bridge)
        self.sync = SyncControl(
            self,
            service,
            self.bridge,
            changed=self._sync_changed,
            down=self.servers_down,
            busy=lambda: self.migrating,
        )
        self.sync.on_news = self._attached_news
        self.sync.start_migration = self._start_migration
        self.sync.on_failure = self._sync_failed

    # ------------------------------------------------------------------ setup

    def _register_themes(self, wanted: str | None) -> None:
        """Register every good theme file (a bad one is named in a toast and the log, and
        the others still load), then switch to ``wanted``. Under NO_COLOR (Textual then
        draws in greys) the default theme gives way to the black-and-white one.

        Textual's built-in themes are unregistered once a theme file loaded: the console
        offers (``t``, the palette, ``--theme``) what ``[ui] theme`` accepts
        (``core.config.theme_names``: the files of the ``themes`` package), nothing else."""
        themes, errors = load_theme_files(self.THEME_FOLDERS)
        for theme in themes:
            self.register_theme(theme)
        self.own_themes = [theme.name for theme in themes]
        if self.own_themes:
            for name in list(self.available_themes):
                if name not in self.own_themes:
                    self.unregister_theme(name)
        # one warning per bad file, by file name; the theme asked for, when its own file is
        # bad, is said there ("...; using X"), not once more as an unknown theme
        skipped = {error.file or str(error): f"theme file skipped: {error}" for error in errors}
        if wanted is None or (wanted == DEFAULT_THEME and self.no_color):
            wanted = NO_COLOR_THEME if self.no_color else DEFAULT_THEME
        if wanted in self.available_themes:
            self.theme = wanted
        else:
            if DEFAULT_THEME in self.available_themes:
                self.theme = DEFAULT_THEME
            elif self.own_themes:  # the default's file is bad: the first good one
                self.theme = self.own_themes[0]
            own = f"{wanted}.toml"
            if own in skipped:
                skipped[own] += f"; using {self.theme}"
            else:
                skipped[""] = (
                    f"unknown theme {wanted!r}; using {self.theme}. "
                    f"Known: {', '.join(sorted(self.available_themes))}"
                )
        self._startup_warnings.extend(skipped.values())

    def get_theme_variable_defaults(self) -> dict[str, str]:
        """The console's colour variables for themes that do not set them."""
        return variable_defaults(self.current_theme)

    def get_default_screen(self) -> Screen[Any]:
        """The main screen."""
        self._main = MainScreen(self.service, self.bridge.drain, pair_index=self.pair_index)
        return self._main

    @property
    def main_screen(self) -> MainScreen:
        """The main screen (exists once the app runs)."""
        if self._main is None:
            raise RuntimeError("the app is not running")
        return self._main

    async def run_async(self, *, mouse: bool = True, **kwargs: Any) -> None:
        """Run the app; mouse reporting is on only if both ``mouse`` and the constructor's
        ``mouse`` allow it."""
        return await super().run_async(mouse=mouse and self.mouse_enabled, **kwargs)

    def on_mount(self) -> None:
        """Show startup warnings and open the service; once the first screen is drawn, the
        objects made so far are set aside from garbage collection (:func:`freeze_startup`);
        full collections wait for the user's pauses (:class:`tui.collector.IdleCollector`)."""
        for warning in self._startup_warnings:
            self.notify(warning, severity="warning", markup=False)
            self.bridge.log("warning", warning)
        self._open_service()
        self.call_after_refresh(freeze_startup)
        self.collector.start()
        self.set_interval(0.5, self.collector.tick, name="idle garbage collection")

    async def on_event(self, event: events.Event) -> None:
        """Note keys and mouse events for :class:`tui.collector.IdleCollector` (full garbage
        collections wait for a pause), then handle the event as Textual does."""
        if isinstance(event, events.Key | events.MouseEvent):
            self.collector.input()
        await super().on_event(event)

    async def on_unmount(self) -> None:
        """Stop the console's own sync (after the operation in flight), close the service;
        what :func:`freeze_startup` set aside is collectable again (a process that runs
        several consoles, such as the tests, would otherwise keep each one's widgets)."""
        self.sync.stop()
        self.collector.stop()
        await self.service.close()
        gc.unfreeze()

    @work(exclusive=True, group="service", exit_on_error=False, description="connect")
    async def _open_service(self) -> None:
        try:
            await self.service.open()
        except RailfiestaError as error:
            # Nothing was sent yet (secrets, state directory): the note above the panes says
            # why, once; the toast only points there.
            detail = str(error)
            self.startup_failed = True  # q then exits 3, as the headless verbs do
            self.bridge.log("error", f"cannot start: {detail}")
            self.notify(STARTUP_FAILED, title="Cannot start", severity="error")
            self.main_screen.post_message(ServiceFailed(detail))
            return
        except Exception as error:  # a bug or an OS error: say so, and let the handler log it
            self.main_screen.post_message(ServiceFailed(f"{type(error).__name__}: {error}"))
            raise
        self.service_open = True
        self.main_screen.post_message(ServiceOpened())
        self.sync.start()

    # ------------------------------------------------------------------ migration

    @property
    def migrating(self) -> bool:
        """True while a migration worker exists and has not finished."""
        return self._migration is not None and not self._migration.is_finished

    def action_migrate(self) -> None:
        """Migrate every pair into TestFiesta (once at a time)."""
        if self.unavailable("migrate"):
            self.notify(self.unavailable("migrate"), severity="warning", markup=False)
            return
        if self.migrating:
            self.bridge.log("info", "a migration is already running")
            self.notify("A migration is already running.", severity="warning")
            return
        if not self.service_open:
            self.bridge.log("warning", "cannot migrate: not connected")
            self.notify("Not connected: see the header and the log.", severity="error")
            return
        if self.sync.running:  # one engine at a time: after this console's sync
            self.sync.migrate_next()
            return
        self._start_migration()

    def _start_migration(self) -> None:
        self._migration = self._migrate()

    @work(exclusive=True, group="migrate", exit_on_error=False, description="migration")
    async def _migrate(self) -> None:
        # Start, progress and finish all go through the app's queue, so they arrive in order.
        self.post_message(MigrationStarted())
        self.bridge.new_run()
        self.bridge.log("info", "migration started")
        try:
            reports = await self.service.migrate()
        except RailfiestaError as error:
            self.bridge.log("error", f"migration failed: {error}")
            self.notify(str(error), title="Migration failed", severity="error", markup=False)
            self.post_message(MigrationFinished(False, f"Migration failed: {error.message}"))
            return
        except BaseException:  # cancelled, or a bug: the worker handler reports it
            self.post_message(MigrationFinished(False, "Migration stopped: see the log"))
            raise
        complete = all(report.complete for report in reports)
        warnings = sum(len(report.warnings) for report in reports)
        for line in summarize(reports).splitlines():
            self.bridge.log("info" if complete else "warning", f"migrated: {line}")
        # The progress row keeps the outcome and the log the details: the toast stays brief.
        self.notify(
            "Migration finished" if complete else "Migration incomplete: see the log",
            severity="information" if complete and not warnings else "warning",
            timeout=NOTICE_SECONDS,
        )
        self.post_message(MigrationFinished(True, outcome(reports), complete and bool(reports)))

    @on(MigrationStarted)
    @on(MigrationProgress)
    @on(MigrationFinished)
    @on(ServerWaiting)
    @on(ServerRetrying)
    def _forward_migration(self, message: ServerNews) -> None:
        """Hand migration and server news to the main screen, in the order it happened; the
        end of a migration drops a "quit anyway?" asked because of it."""
        if self.is_running and self._main is not None and self._main.is_mounted:
            self._main.show_migration(message)
        if isinstance(message, MigrationFinished):
            self._drop_stale_quit_question()

    # ------------------------------------------------------------------ sync

    def action_toggle_sync(self) -> None:
        """``s``: sync on/off, written to the config file as ``railfiesta sync on|off`` does."""
        self.sync.toggle()

    def action_sync_now(self) -> None:
        """``S``: a sync cycle now (the running watch's, or one of its own)."""
        if not self.service_open:
            self.notify("Not connected: see the header and the log.", severity="error")
            return
        self.sync.sync_now()

    def servers_down(self) -> str:
        """Why a server a sync needs cannot be used (``"TestFiesta down"``, ``"TestRail
        refused the API key"``), "" when both can; read from the header, which each pane's
        loads keep current."""
        if self._main is None or not self._main.is_mounted:
            return ""
        # what each server is, and who is so ("down": [TestFiesta]): both refusing the same
        # thing is one reason ("TestRail and TestFiesta refused the API key")
        down: dict[str, list[str]] = {}
        for side, name in (("testrail", "TestRail"), ("testfiesta", "TestFiesta")):
            row = self._main.header.row(side)
            if row.state == "refused":
                down.setdefault(row.phrase, []).append(name)
            elif row.down:
                what = "not connected" if row.state == "not-connected" else "down"
                down.setdefault(what, []).append(name)
        return ", ".join(f"{' and '.join(names)} {what}" for what, names in down.items())

    def unavailable(self, action: str, *, short: bool = False) -> str:
        """Why ``action`` cannot run now ("" when it can): the footer dims it and the
        header's sync line says why (``short``: in fewer words, for a narrow terminal)."""
        if action == "sync_now":
            down = self.servers_down()
            if down:
                return f"S needs both servers ({down})"
            if self.migrating:
                return "S waits for M" if short else "S waits for the migration"
        if action == "migrate":
            if self.sync.mode == ATTACHED:
                if short:
                    return "M waits for the sync"
                return f"M waits while {self.sync.holder_label or 'a sync'} runs"
            down = self.servers_down()
            if down:
                return f"M needs both servers ({down})"
        return ""

    def _sync_changed(self) -> None:
        if self._main is not None and self._main.is_mounted:
            self._main.refresh_sync()
        self.refresh_bindings()

    def _sync_failed(self, error: RailfiestaError) -> None:
        """A cycle of this console's sync ended on ``error`` (in the log already): the
        header shows the server it names as down or refused, as a pane's failed load does."""
        side = failed_side(error)
        if side is not None and self._main is not None and self._main.is_mounted:
            self._main.post_message(connection_news(side, error, logged=True))

    def _attached_news(self, finished: bool) -> None:
        if self._main is not None and self._main.is_mounted:
            self._main.refresh_badges(force=finished)
            self._main.live_refresh(force=finished)

    @on(SyncCycleStarted)
    @on(SyncCycleFinished)
    @on(WatchPausedChanged)
    def _forward_sync(
        self, message: SyncCycleStarted | SyncCycleFinished | WatchPausedChanged
    ) -> None:
        """Hand this console's sync news to the main screen."""
        if self.is_running and self._main is not None and self._main.is_mounted:
            self._main.show_sync(message)
        self.sync.poll()

    # ------------------------------------------------------------------ pairs

    async def run_action(
        self,
        action: str | ActionParseResult,
        default_namespace: DOMNode | None = None,
        namespaces: Mapping[str, DOMNode] | None = None,
    ) -> bool:
        """Run ``action``; ``S`` or ``M`` pressed while it cannot run (dimmed: :meth:`unavailable`)
        says why in a toast instead of doing nothing."""
        if action in ("sync_now", "migrate") and default_namespace in (None, self):
            reason = self.unavailable(str(action))
            if reason:
                self.notify(reason, severity="warning", markup=False)
                return True
        return await super().run_action(action, default_namespace, namespaces)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """ "Next pair" exists only when the config has several pairs, and like the mapping
        editor only on the main screen; an action that cannot run now (:meth:`unavailable`)
        shows dimmed."""
        # the pair switch and the mapping editor are the main screen's (the panes' pair):
        # not over the editor, the details, the conflicts nor a modal
        if action == "next_pair":
            return len(self.service.config.pairs) > 1 and self.keys_screen() is self._main
        if action == "mapping":
            return self.keys_screen() is self._main
        if self.unavailable(action):
            return None
        return True

    def action_next_pair(self) -> None:
        """Show the next ``[[pair]]`` (after the last, the first)."""
        self.show_pair((self.pair_index + 1) % len(self.service.config.pairs))

    def show_pair(self, pair_index: int) -> None:
        """Show ``[[pair]]`` number ``pair_index`` in the panes."""
        self.pair_index = pair_index
        self.main_screen.show_pair(pair_index)

    # ------------------------------------------------------------------ mapping

    def action_mapping(self) -> None:
        """Open the mapping editor of the pair shown."""
        if self.screen is self._main:
            from tui.screens.mapping import MappingEditor

            key = self._main.testfiesta_pane.project_key if self._main is not None else None
            self.push_screen(
                MappingEditor(self.service, pair_index=self.pair_index, project_key=key)
            )

    # ------------------------------------------------------------------ quitting

    async def action_quit(self) -> None:
        """Quit (``q``, and Textual's ``ctrl+q``); during a migration or with unsaved changes
        in the mapping editor, only after the user confirms (y/n): :meth:`quit_question`."""
        question = self.quit_question()
        if question is None:
            self.exit(return_code=FATAL if self.startup_failed else CLEAN)
            return
        if isinstance(self.screen, Confirm):
            return
        confirm = Confirm(question, id="confirm-quit")
        self._quit_asked_mid_migration = confirm if self.migrating else None
        self.push_screen(confirm, self._quit_answered)

    def quit_question(self) -> str | None:
        """What quitting asks first (None: it asks nothing): :data:`QUIT_QUESTION` during a
        migration, "Quit and discard 1 unsaved change?" while a mapping editor holds
        unsaved rows, one question naming both when both hold."""
        from tui.screens.mapping import MappingEditor

        unsaved = sum(
            screen.unsaved for screen in self.screen_stack if isinstance(screen, MappingEditor)
        )
        lost = plural(unsaved, "unsaved change")
        if self.migrating and unsaved:
            return f"A migration is running; quit anyway and discard {lost}? It resumes next time."
        if self.migrating:
            return QUIT_QUESTION
        if unsaved:
            return f"Quit and discard {lost}?"
        return None

    def _drop_stale_quit_question(self) -> None:
        """The migration ended while "quit anyway?" was asked: the question no longer holds,
        so it goes (as a no: the console stays, and says so in the log). Quitting now asks
        only what still holds (:meth:`quit_question`)."""
        confirm, self._quit_asked_mid_migration = self._quit_asked_mid_migration, None
        if confirm is not None and self.screen is confirm:
            self.bridge.log(
                "info", "the migration ended while quitting was asked: staying (q quits)"
            )
            confirm.dismiss(False)

    def _quit_answered(self, yes: bool | None) -> None:
        self._quit_asked_mid_migration = None
        if yes:
            self.exit(return_code=FATAL if self.startup_failed else CLEAN)

    # ------------------------------------------------------------------ other actions

    def action_conflicts(self) -> None:
        """Open the conflicts screen (once)."""
        from tui.screens.conflicts import ConflictsScreen

        if not isinstance(self.screen, ConflictsScreen):
            self.push_screen(ConflictsScreen(self.service, chosen=self.sync.chosen))

    def action_help(self) -> None:
        """Show the keys of the current screen."""
        from tui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.key_groups()))

    def keys_screen(self) -> Screen[Any]:
        """The screen whose keys count now: the current one, or the one the command palette
        was opened from while it shows (its ``check_action`` answers run then)."""
        stack = self.screen_stack
        if len(stack) > 1 and isinstance(stack[-1], CommandPalette):
            return stack[-2]
        return self.screen

    def bound_actions(self, screen: Screen[Any] | None = None) -> list[BoundAction]:
        """Every described action bound on ``screen`` (default: the current one), the one
        source of the help (:meth:`key_groups`) and the palette (:meth:`get_system_commands`):
        :func:`tui.keys.bound_actions`."""
        return bound_actions(self, self.screen if screen is None else screen, self._main)

    def key_groups(self) -> list[tuple[str, KeyRows]]:
        """(group title, rows of (keys, description)) for every described action bound on
        the current screen (:meth:`bound_actions`): the console's own keys (in
        :attr:`BINDINGS` order), then the focused pane's and the screen's, then
        :data:`tui.screens.help.NAVIGATION` (cursor, scrolling, paging: the help shows it
        collapsed). Keys bound to the same action share a row (``"q ^q"``); empty groups are
        left out."""
        from tui.screens.help import NAVIGATION

        focused = self.screen.focused
        here = "Panes" if isinstance(focused, ProjectTree) else "This screen"
        titles = ("Console", here, NAVIGATION)
        groups: list[tuple[str, KeyRows]] = [(title, []) for title in titles]
        for entry in self.bound_actions():
            groups[entry.rank[0]][1].append((entry.key_text, entry.words))
        return [(title, group) for title, group in groups if group]

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The palette: every action ``screen`` binds now, once, in the words the help uses
        (:meth:`bound_actions`), each with its binding's explanation and the keys that
        screen binds to it; the screen's own actions start with its ``COMMAND_PREFIX``
        ("Conflict: TestRail wins"). Then what has no key: reloading the panes and showing
        one pair (on the main screen only, as its keys are), and each theme. Textual's own
        commands are left out (its "Keys" and "Theme" would repeat ours)."""
        actions = self.bound_actions(screen)
        prefix = getattr(screen, "COMMAND_PREFIX", "")
        for entry in palette_actions(actions):
            title = entry.words
            if prefix and entry.rank[0] != CONSOLE:
                title = f"{prefix}: {title}"
            yield SystemCommand(
                title,
                f"{entry.tooltip or entry.words} ({entry.key_text})",
                partial(self.run_action, entry.action, entry.node),
            )
        if screen is self._main:
            yield SystemCommand("Reload panes", "Read both projects again", self._reload_panes)
            pairs = self.service.config.pairs
            next_pair = next((e.key_text for e in actions if e.action == "next_pair"), "")
            keys = f" ({next_pair}: next pair)" if next_pair else ""
            if len(pairs) > 1:
                for index in range(len(pairs)):
                    yield SystemCommand(
                        f"Show pair: {self._main.pair_label(index)}",
                        f"Pair {index + 1} of {len(pairs)} in the panes{keys}",
                        partial(self.show_pair, index),
                    )
        for name in self.own_themes:
            yield SystemCommand(
                f"Theme: {name.removeprefix('railfiesta-')}",
                f"Switch the colours to {name}",
                partial(self.switch_theme, name),
            )

    # ------------------------------------------------------------------ themes

    def action_next_theme(self) -> None:
        """Switch to the next of the console's themes (after the last, the first)."""
        names = self.own_themes
        if not names:
            return
        index = names.index(self.theme) + 1 if self.theme in names else 0
        self.switch_theme(names[index % len(names)])

    def switch_theme(self, name: str) -> None:
        """Use theme ``name`` and say so."""
        self.theme = name
        self.notify(f"Theme: {name}", timeout=NOTICE_SECONDS)

    # ------------------------------------------------------------------ clipboard

    def selected_record(self) -> tuple[ProjectPane, str] | None:
        """The pane and record key under the cursor of the focused tree (None: none)."""
        focused = self.screen.focused
        if not isinstance(focused, ProjectTree):
            return None
        node = focused.cursor_node
        if node is None or node.data is None or node.data.record is None:
            return None
        pane = next((a for a in focused.ancestors if isinstance(a, ProjectPane)), None)
        return (pane, node.data.record.key) if pane is not None else None

    def action_copy_id(self) -> None:
        """Copy the selected record's id (``C12``, a TestFiesta uid) through OSC 52."""
        selected = self.selected_record()
        if selected is None:
            self.notify("Put the cursor on a record first.", severity="warning")
            return
        self._copy(display_id(selected[1]), "id")

    def action_copy_url(self) -> None:
        """Copy the selected record's address (``Service.record_page``) through OSC 52; a
        TestRail section's is its suite's page, and the toast says so."""
        selected = self.selected_record()
        if selected is None:
            self.notify("Put the cursor on a record first.", severity="warning")
            return
        pane, key = selected
        project_key = getattr(pane, "project_key", None)
        focused = self.screen.focused
        node = focused.cursor_node if isinstance(focused, ProjectTree) else None
        suite_id = node.data.suite_id if node is not None and node.data is not None else None
        page = self.service.record_page(key, project_key=project_key, suite_id=suite_id)
        if page is None:
            self.notify(f"{display_id(key)} has no address of its own.", severity="warning")
            return
        url, note = page
        self._copy(url, "URL", f"{display_id(key)}: {note}" if note else "")

    def _copy(self, text: str, what: str, note: str = "") -> None:
        # OSC 52: the terminal (also over SSH; tmux needs `set-clipboard on`) takes it
        self.copy_to_clipboard(text)
        tail = f" ({note})" if note else ""
        self.bridge.log("info", f"copied {what}: {text}{tail}")
        self.notify(f"Copied {what}: {text}{tail}", timeout=NOTICE_SECONDS, markup=False)

    def _reload_panes(self) -> None:
        self.main_screen.reload_panes()

    # ------------------------------------------------------------------ toasts

    def _refresh_notifications(self) -> None:
        """Textual's toast rack, then :meth:`fit_toasts` once the new toasts are laid out.

        Textual 8.2.8 (pinned) lays the rack out top-down and clips what does not fit, so
        with many toasts the oldest showed and the newest were cut off (its scroll to the end
        does nothing: the rack is invisible and so has no size to scroll)."""
        super()._refresh_notifications()
        try:
            rack = self.screen.get_child_by_type(ToastRack)
        except (NoMatches, ScreenStackError):
            return
        # after the rack's own show (queued first), once its toasts have their heights
        self.call_later(rack.call_after_refresh, self.fit_toasts, rack)

    def toast_room(self) -> int:
        """Rows the toasts may take on the current screen: on the main screen the pane that
        is not active (``MainScreen.toast_room``), on the conflicts screen the list's height
        (``ConflictsScreen.toast_room``), elsewhere the screen less the progress
        row, the log and the footer below the rack (app.tcss)."""
        from tui.screens.conflicts import ConflictsScreen

        screen = self.screen
        if isinstance(screen, MainScreen | ConflictsScreen):
            return screen.toast_room()
        return max(screen.size.height - TOAST_RACK_BELOW, 2)

    def fit_toasts(self, rack: ToastRack) -> None:
        """Dismiss the oldest toasts that do not fit :meth:`toast_room` (their messages are
        in the log when they matter): the newest always show, whole; the newest one stays
        even if it alone is taller."""
        room = self.toast_room()
        used = 0
        toasts = list(rack.query(Toast))
        for index, toast in enumerate(reversed(toasts)):
            height = toast.region.height + toast.styles.margin.top + toast.styles.margin.bottom
            if index and used + height > room:
                for old in toasts[: len(toasts) - index]:
                    old._expire()  # as its timer would: the app forgets it, the rack drops it
                return
            used += height

    # ------------------------------------------------------------------ failures

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        """The app's own workers: report one that died of an unexpected error."""
        if event.state is WorkerState.ERROR:
            what = event.worker.description or event.worker.name or "background task"
            self.report_failure(what, event.worker.error)

    @on(BackgroundFailed)
    def _widget_worker_failed(self, message: BackgroundFailed) -> None:
        self.report_failure(message.what, message.error)

    def report_failure(self, what: str, error: BaseException | None) -> None:
        """Log and notify an unexpected error in one line (no traceback)."""
        detail = f"{what} failed: {type(error).__name__}: {error}"
        self.bridge.log("error", detail)
        self.notify(detail, title="Unexpected error", severity="error", markup=False)
