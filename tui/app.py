"""The railfiesta console: a Textual app over :class:`core.service.Service`.

    app = RailfiestaApp(service, theme="railfiesta-dark")
    app.run(mouse=True)

The app opens the service in a worker when it mounts and closes it when it unmounts; the caller
only builds the service (config, state directory, transports). Everything slow (opening,
loading trees, migrating) runs in workers, and every failure ends up as a note in the UI, a log
line and a notification, never as a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from core.errors import RailfiestaError
from core.migrate import MigrationReport
from core.service import Service
from tui.bridge import EventBridge
from tui.messages import (
    BackgroundFailed,
    MigrationFinished,
    MigrationProgress,
    MigrationStarted,
    ServiceFailed,
    ServiceOpened,
)
from tui.screens.help import HelpScreen
from tui.screens.main import MainScreen
from tui.themes import DEFAULT_THEME, ThemeFileError, load_themes, variable_defaults


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


class RailfiestaApp(App[None]):
    """The console for one config.

    ``service``: an unopened :class:`Service` (the app opens and closes it).
    ``theme``: a theme name (None: the config's ``[ui] theme``); unknown names fall back to
    :data:`tui.themes.DEFAULT_THEME` with a warning. ``pair_index``: which ``[[pair]]`` the
    panes show (ValueError when the config has no such pair). ``mouse``: False turns mouse
    reporting off whatever ``run(mouse=...)`` says (None: the config's ``[ui] mouse``).
    """

    TITLE = "railfiesta"
    CSS_PATH = "app.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("M", "migrate", "Migrate", id="migrate", key_display="M"),
        Binding("question_mark", "help", "Keys", id="help", key_display="?"),
        Binding("q", "quit", "Quit", id="quit"),
    ]

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
        self.service_open = False
        self._migration: Worker[None] | None = None
        self._main: MainScreen | None = None
        self._startup_warnings: list[str] = []
        self._register_themes(theme or service.config.ui.theme)
        service.subscribe(self.bridge)

    # ------------------------------------------------------------------ setup

    def _register_themes(self, wanted: str) -> None:
        try:
            for theme in load_themes():
                self.register_theme(theme)
        except ThemeFileError as error:
            self._startup_warnings.append(f"theme files: {error}")
        if wanted in self.available_themes:
            self.theme = wanted
        else:
            self._startup_warnings.append(
                f"unknown theme {wanted!r}; using {DEFAULT_THEME}. "
                f"Known: {', '.join(sorted(self.available_themes))}"
            )
            if DEFAULT_THEME in self.available_themes:
                self.theme = DEFAULT_THEME

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
        """Show startup warnings and open the service."""
        for warning in self._startup_warnings:
            self.notify(warning, severity="warning", markup=False)
            self.bridge.log("warning", warning)
        self._open_service()

    async def on_unmount(self) -> None:
        """Close the service (clients and state store)."""
        await self.service.close()

    @work(exclusive=True, group="service", exit_on_error=False, description="connect")
    async def _open_service(self) -> None:
        try:
            await self.service.open()
        except RailfiestaError as error:
            detail = str(error)
            self.bridge.log("error", f"cannot connect: {detail}")
            self.notify(detail, title="Cannot connect", severity="error", markup=False)
            self.main_screen.post_message(ServiceFailed(detail))
            return
        except Exception as error:  # a bug or an OS error: say so, and let the handler log it
            self.main_screen.post_message(ServiceFailed(f"{type(error).__name__}: {error}"))
            raise
        self.service_open = True
        self.main_screen.post_message(ServiceOpened())

    # ------------------------------------------------------------------ migration

    @property
    def migrating(self) -> bool:
        """True while a migration worker exists and has not finished."""
        return self._migration is not None and not self._migration.is_finished

    def action_migrate(self) -> None:
        """Migrate every pair into TestFiesta (once at a time)."""
        if self.migrating:
            self.bridge.log("info", "a migration is already running")
            self.notify("A migration is already running.", severity="warning")
            return
        if not self.service_open:
            self.bridge.log("warning", "cannot migrate: not connected")
            self.notify("Not connected: see the header and the log.", severity="error")
            return
        self._migration = self._migrate()

    @work(exclusive=True, group="migrate", exit_on_error=False, description="migration")
    async def _migrate(self) -> None:
        # Start, progress and finish all go through the app's queue, so they arrive in order.
        self.post_message(MigrationStarted())
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
        summary = summarize(reports)
        complete = all(report.complete for report in reports)
        warnings = sum(len(report.warnings) for report in reports)
        for line in summary.splitlines():
            self.bridge.log("info" if complete else "warning", f"migrated: {line}")
        self.notify(
            summary,
            title="Migration finished" if complete else "Migration incomplete",
            severity="information" if complete and not warnings else "warning",
            markup=False,
        )
        self.post_message(MigrationFinished(True, " | ".join(summary.splitlines())))

    @on(MigrationStarted)
    @on(MigrationProgress)
    @on(MigrationFinished)
    def _forward_migration(
        self, message: MigrationStarted | MigrationProgress | MigrationFinished
    ) -> None:
        """Hand migration news to the main screen, in the order it happened."""
        if self.is_running and self._main is not None and self._main.is_mounted:
            self._main.show_migration(message)

    # ------------------------------------------------------------------ other actions

    def action_help(self) -> None:
        """Show the keys of the current screen."""
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.key_rows()))

    def key_rows(self) -> list[tuple[str, str]]:
        """(keys, description) for every described action bound on the current screen: the
        console's own keys first (in :attr:`BINDINGS` order), then the screen's, then the
        focused widget's. Keys bound to the same action share a row (``"q ^q"``)."""
        own = [b.action for b in self.BINDINGS if isinstance(b, Binding)]
        rows: dict[str, tuple[tuple[int, int], list[str], str]] = {}
        for active in self.screen.active_bindings.values():
            binding = active.binding
            if not binding.description:
                continue
            if active.node is self:
                rank = (0, own.index(binding.action) if binding.action in own else len(own))
            else:
                rank = (1 if isinstance(active.node, Screen) else 2, 0)
            key = self.get_key_display(binding)
            if binding.action in rows:
                rows[binding.action][1].append(key)
            else:
                rows[binding.action] = (rank, [key], binding.description)
        ordered = sorted(rows.values(), key=lambda row: row[0])
        return [(" ".join(sorted(keys, key=len)), what) for _, keys, what in ordered]

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Palette commands: ours first, then Textual's (theme, quit ...)."""
        yield SystemCommand(
            "Migrate", "Copy the TestRail project into TestFiesta (M)", self.action_migrate
        )
        yield SystemCommand("Reload panes", "Read both projects again", self._reload_panes)
        yield SystemCommand("Keys", "Show what each key does (?)", self.action_help)
        yield from super().get_system_commands(screen)

    def _reload_panes(self) -> None:
        self.main_screen.reload_panes()

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
