"""The main screen: connections on top, TestRail and TestFiesta side by side, progress and log.

Below 100 columns the panes stack (class ``-narrow``); below 32 rows the log shrinks
(``-short``). The screen reacts to messages from the app (service opened or failed, migration
started or finished) and from the panes (connection state); it never calls HTTP itself.
"""

from __future__ import annotations

from collections.abc import Callable

from textual import on
from textual.app import ComposeResult
from textual.containers import Container
from textual.screen import Screen
from textual.widgets import Footer

from core.service import Budget, Service
from tui.messages import (
    ConnectionChanged,
    MigrationFinished,
    MigrationProgress,
    MigrationStarted,
    ServiceFailed,
    ServiceOpened,
)
from tui.widgets.activity import ActivityLog, MigrationProgressRow
from tui.widgets.connection_bar import ConnectionBar
from tui.widgets.panes import TestFiestaPane, TestRailPane

#: Seconds between two refreshes of the request budgets in the header.
BUDGET_INTERVAL = 1.0


class MainScreen(Screen[None]):
    """Both projects, the header and the activity below.

    ``service`` is read for the config (header) and passed to the panes; ``drain`` feeds the
    activity log (``EventBridge.drain``); ``pair_index`` picks the ``[[pair]]`` to show.
    """

    # Screen declares these as `ClassVar[...] | None`, which mypy reads as instance variables;
    # left unannotated so mypy and ruff agree.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]  # noqa: RUF012
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]  # noqa: RUF012

    def __init__(
        self, service: Service, drain: Callable[[], list[str]], *, pair_index: int = 0
    ) -> None:
        super().__init__(id="main")
        self.service = service
        self.pair_index = pair_index
        self._drain = drain
        self._service_open = False

    def compose(self) -> ComposeResult:
        """Header, panes, progress, log, footer."""
        testrail, testfiesta = self.service.config.testrail, self.service.config.testfiesta
        yield ConnectionBar((testrail.url, testrail.user), (testfiesta.url, testfiesta.handle))
        with Container(id="panes"):
            yield TestRailPane(self.service, self.pair_index, id="testrail-pane")
            yield TestFiestaPane(self.service, self.pair_index, id="testfiesta-pane")
        yield MigrationProgressRow(id="progress")
        yield ActivityLog(self._drain, id="activity")
        yield Footer()

    def on_mount(self) -> None:
        """Start the budget refresher; focus the TestRail tree."""
        self.set_interval(BUDGET_INTERVAL, self.refresh_budgets)
        self.query_one("#testrail-tree").focus()

    # ------------------------------------------------------------------ parts

    @property
    def testrail_pane(self) -> TestRailPane:
        """The left pane."""
        return self.query_one(TestRailPane)

    @property
    def testfiesta_pane(self) -> TestFiestaPane:
        """The right pane."""
        return self.query_one(TestFiestaPane)

    @property
    def progress(self) -> MigrationProgressRow:
        """The progress row."""
        return self.query_one(MigrationProgressRow)

    def reload_panes(self) -> None:
        """Reload both trees (badges change after a migration), keeping open nodes open."""
        if self._service_open:
            self.testrail_pane.load()
            self.testfiesta_pane.load()

    def refresh_budgets(self) -> None:
        """Read both request budgets from the service into the header."""
        budgets: list[Budget] | None = None
        if self._service_open:
            try:
                budgets = self.service.budgets()
            except RuntimeError:  # closed while we were asking
                budgets = None
        self.query_one(ConnectionBar).show_budgets(budgets)

    # ------------------------------------------------------------------ messages

    @on(ServiceOpened)
    def _opened(self) -> None:
        self._service_open = True
        self.reload_panes()
        self.refresh_budgets()

    @on(ServiceFailed)
    def _failed(self, message: ServiceFailed) -> None:
        bar = self.query_one(ConnectionBar)
        for pane in (self.testrail_pane, self.testfiesta_pane):
            bar.row(pane.side).set_state("error", message.detail)
            pane.show_note(f"Cannot connect: {message.detail}", error=True)

    @on(ConnectionChanged)
    def _connection(self, message: ConnectionChanged) -> None:
        self.query_one(ConnectionBar).row(message.side).set_state(message.state, message.detail)

    def show_migration(
        self, message: MigrationStarted | MigrationProgress | MigrationFinished
    ) -> None:
        """Show migration news: started, one progress step, or finished (then reload both
        panes, since records and links changed)."""
        if isinstance(message, MigrationStarted):
            self.progress.start()
        elif isinstance(message, MigrationProgress):
            self.progress.show(message.project, message.stage, message.done, message.total)
        else:
            self.progress.finish(message.ok, message.summary)
            self.reload_panes()
