"""The main screen: connections on top, TestRail and TestFiesta side by side, progress and log.

Below 100 columns the panes stack (class ``-narrow``) and the header says the same in fewer
words; below 32 rows the log shrinks (``-short``, and to 2 rows with stacked panes). The
screen reacts to messages from the app (service opened or failed, migration news, server
waits and retries) and from the panes (connection state, loaded); it never calls HTTP itself.
While no migration runs, the progress row says where the pair shown stands
(:meth:`MainScreen.status_text`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container
from textual.reactive import Reactive
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Input, Static, Tree
from textual.widgets._toast import ToastRack
from textual.widgets.tree import TreeNode as UiNode

from core.addresses import testrail_case_ref
from core.details import RecordSides
from core.errors import RailfiestaError
from core.http import RequestStats
from core.service import Budget, Service
from tui.bridge import SIDE_NAMES
from tui.messages import (
    BadgesRead,
    CasesLoaded,
    ConnectionChanged,
    MigrationFinished,
    MigrationProgress,
    MigrationStarted,
    PaneLoaded,
    ServerRetrying,
    ServerWaiting,
    ServiceFailed,
    ServiceOpened,
    SyncCycleFinished,
    SyncCycleStarted,
    WatchPausedChanged,
)
from tui.screens.details import RecordDetails, RecordInfo
from tui.widgets.activity import ActivityLog, KindProgress, MigrationProgressRow
from tui.widgets.connection_bar import ConnectionBar
from tui.widgets.filter_line import FilterInput
from tui.widgets.footer import KeyFooter
from tui.widgets.panes import LEGEND, ProjectPane, TestFiestaPane, TestRailPane
from tui.widgets.project_tree import PaneItem, ProjectTree, display_id

#: Seconds between two refreshes of the request budgets in the header.
BUDGET_INTERVAL = 1.0
#: Seconds a "trying again" notice stays on the progress row.
RETRY_NOTICE_SECONDS = 3.0
#: Seconds between two reloads of the panes while a migration or sync writes (and at least
#: this long after the last reload ended, so a big project is not read without pause).
LIVE_RELOAD_SECONDS = 2.0
#: Seconds between two badge refreshes (state store only) while records arrive.
BADGE_SECONDS = 0.5
#: Setup stages of a migration, left out of the progress per kind.
SETUP_STAGES = frozenset({"project", "fields", "templates"})
#: Before the cause, in the note shown when the service cannot open.
NOT_STARTED = "Neither server was contacted: "
#: Seconds the filter waits after a key before it narrows the trees ...
FILTER_DELAY = 0.15
#: ... and before it asks TestRail for matching cases (one request per suite, so only from
#: this many characters on: the request budget is 180 a minute on TestRail Cloud).
SEARCH_DELAY = 0.3
SEARCH_MIN = 3
#: What the filter line says before anything is typed.
FILTER_PLACEHOLDER = "Filter by name, id (C12) or key · enter: to the tree · escape: clear"


#: What the app hands to :meth:`MainScreen.show_migration`.
ServerNews = (
    MigrationStarted | MigrationProgress | MigrationFinished | ServerWaiting | ServerRetrying
)
#: What the app hands to :meth:`MainScreen.show_sync`.
SyncNews = SyncCycleStarted | SyncCycleFinished | WatchPausedChanged


def published_budget(own: Budget, published: dict[str, Any] | None) -> Budget:
    """The budget an attached watch published for ``own.side`` (``own`` when it published
    none): its requests in the last minute, its 429/409 answers and the 409 maintenance
    waits among them."""
    if not published:
        return own
    stats = RequestStats(
        rate_limited=int(published.get("rate_limited") or 0),
        maintenance_waits=int(published.get("maintenance_waits") or 0),
    )
    return Budget(
        own.side, int(published.get("last_minute") or 0), published.get("per_minute"), stats
    )


def plural(count: int, word: str) -> str:
    """``"1 record"``, ``"2 records"``."""
    return f"{count} {word}{'' if count == 1 else 's'}"


class MainScreen(Screen[None]):
    """Both projects, the header and the activity below.

    ``service`` is read for the config (header) and passed to the panes; ``drain`` feeds the
    activity log (``EventBridge.drain``); ``pair_index`` picks the ``[[pair]]`` to show
    (:meth:`show_pair` switches).
    """

    # Screen declares these as `ClassVar[...] | None`, which mypy reads as instance variables;
    # left unannotated so mypy and ruff agree.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]  # noqa: RUF012
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]  # noqa: RUF012
    # Screen repaints itself whole (every widget on it) when the focus moves; the widgets
    # that look different when focused restyle themselves, so a pane switch need not (that
    # full repaint was most of its CPU over a 50,000-case project: bench/console.py).
    focused: Reactive[Widget | None] = Reactive(None, repaint=False)

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "slash", "filter", "Filter", id="filter", key_display="/",
            tooltip="Show only records whose name, id (C12) or key (tr:case:12) holds a text",
        ),
        Binding("escape", "clear_filter", "Clear the filter", id="clear_filter", show=False),
    ]  # fmt: skip

    def __init__(
        self, service: Service, drain: Callable[[], list[str]], *, pair_index: int = 0
    ) -> None:
        super().__init__(id="main")
        self.service = service
        self.pair_index = pair_index
        self._drain = drain
        self._service_open = False
        self._service_failed = False
        #: the progress row shows a migration's outcome that says every record is linked
        self._outcome_all_linked = False
        #: monotonic time of the last live reload of the panes (None: none yet)
        self._live_reloaded: float | None = None
        #: side -> the refusal or failure already in the log (once, until the side connects)
        self._troubles: dict[str, str] = {}
        self._filter_timer: Timer | None = None
        #: monotonic time of the last badge refresh (None: none yet)
        self._badges_refreshed: float | None = None
        #: the filter line shows (``/`` until escape)
        self.filtering = False
        #: TestFiesta project key of each pair, as read (a pair without a configured key
        #: has a generated one: :meth:`pair_label` names it once known)
        self.project_keys: dict[int, str] = {}

    def compose(self) -> ComposeResult:
        """Header, the service note (hidden unless the service cannot open), panes, progress,
        log, footer."""
        testrail, testfiesta = self.service.config.testrail, self.service.config.testfiesta
        yield ConnectionBar((testrail.url, testrail.user), (testfiesta.url, testfiesta.handle))
        yield Static("", id="service-note", markup=False)
        yield FilterInput(placeholder=FILTER_PLACEHOLDER, id="filter")
        with Container(id="panes"):
            yield TestRailPane(self.service, self.pair_index, id="testrail-pane")
            yield TestFiestaPane(self.service, self.pair_index, id="testfiesta-pane")
        yield MigrationProgressRow(id="progress")
        yield KindProgress(id="kinds")
        yield ActivityLog(self._drain, id="activity")
        yield KeyFooter(console_first=())  # the console's keys are this screen's

    def on_resize(self) -> None:
        """The width decides the header's words (``-narrow``: set before this runs)."""
        self.header.set_narrow(self.has_class("-narrow"))
        self.refresh_sync()

    def on_screen_resume(self) -> None:
        """Back from another screen: the terminal may have been resized meanwhile, which
        moved the breakpoints (``-narrow``) but sent this screen no resize."""
        self.on_resize()

    def on_mount(self) -> None:
        """Start the budget refresher; focus the TestRail tree; say what is going on."""
        self.set_interval(BUDGET_INTERVAL, self.refresh_budgets)
        self.set_interval(1.0, self._tick)
        self.query_one("#testrail-tree").focus()
        self.progress.idle("Connecting…")
        self._show_pair_line()
        self.call_after_refresh(self.refresh_sync)  # the sync line at once, not on the tick

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

    @property
    def kinds(self) -> KindProgress:
        """The progress per kind (with ETA)."""
        return self.query_one(KindProgress)

    @property
    def header(self) -> ConnectionBar:
        """The connection header."""
        return self.query_one(ConnectionBar)

    @property
    def service_note(self) -> str:
        """The note above the panes saying why the service did not open ("" when hidden)."""
        widget = self.query_one("#service-note", Static)
        return str(widget.content) if widget.display else ""

    @property
    def filter_input(self) -> Input:
        """The filter line above the panes (hidden until ``/``)."""
        return self.query_one("#filter", Input)

    def reload_panes(self) -> None:
        """Reload both trees (badges change after a migration), keeping open nodes open."""
        if self._service_open:
            self.testrail_pane.load()
            self.testfiesta_pane.load()

    def show_pair(self, pair_index: int) -> None:
        """Show ``[[pair]]`` number ``pair_index`` in both panes (loaded afresh)."""
        self.pair_index = pair_index
        self.testrail_pane.pair_index = self.testfiesta_pane.pair_index = pair_index
        if not self.progress.running:
            self._outcome_all_linked = False
            self.progress.idle("Loading…")
        if self._service_open:
            self.testrail_pane.switch_pair(pair_index)
            self.testfiesta_pane.switch_pair(pair_index)
        self._show_pair_line()  # after the switch: the old pair's project key is not shown

    def refresh_budgets(self) -> None:
        """Read both request budgets from the service into the header."""
        budgets: list[Budget] | None = None
        if self._service_open:
            try:
                budgets = self.service.budgets()
            except RuntimeError:  # closed while we were asking
                budgets = None
        control = getattr(self.app, "sync", None)
        if budgets is not None and control is not None and control.mode == "attached":
            # the attached watch spends the requests: its published budgets, not ours
            published = (control.snapshot.get("watch") or {}).get("budgets") or {}
            budgets = [published_budget(b, published.get(b.side)) for b in budgets]
        self.header.show_budgets(budgets)

    # ------------------------------------------------------------------ sync

    def _tick(self) -> None:
        self.refresh_sync()
        self.kinds.tick()

    def refresh_sync(self) -> None:
        """The header's sync line from the app's sync control (on/off, next poll, open
        conflicts, an attached watch, why S or M is unavailable); an attached watch's
        progress per kind."""
        control = getattr(self.app, "sync", None)
        if control is None:
            return
        short = self.has_class("-narrow")  # about 67 columns for the line: fewer words
        text = control.header_text(short=short)
        down = self.app.servers_down()  # type: ignore[attr-defined]
        if down:  # one reason for both keys
            reasons = [
                f"S, M need both: {down}" if short else f"S and M need both servers ({down})"
            ]
        else:
            # a sync that waits for the migration says why S waits too
            keys = ("migrate",) if control.waits_for_migration else ("sync_now", "migrate")
            reasons = [
                self.app.unavailable(action, short=short)  # type: ignore[attr-defined]
                for action in keys
            ]
        text = " · ".join([text, *[r for r in reasons if r]])
        self.header.show_sync(text, on=control.enabled)
        if control.mode == "attached":
            doc = control.snapshot.get("watch") or {}
            progress = {
                project: {k: v for k, v in kinds.items() if k not in SETUP_STAGES}
                for project, kinds in (doc.get("progress") or {}).items()
            }
            self.kinds.show_published(progress)

    def live_refresh(self, *, force: bool = False) -> None:
        """Records are arriving (a migration or sync writes): reload both panes, at most
        every :data:`LIVE_RELOAD_SECONDS` (``force``: now, the run ended)."""
        now = time.monotonic()
        if not force and (
            self._live_reloaded is not None and now - self._live_reloaded < LIVE_RELOAD_SECONDS
        ):
            return
        if not force and not (self.testrail_pane.loaded and self.testfiesta_pane.loaded):
            return  # a load is under way: the next progress asks again
        self._live_reloaded = now
        self.reload_panes()

    def refresh_badges(self, *, force: bool = False) -> None:
        """Redraw both panes' badges and links from the state store (``Service.read_badges``,
        in a worker: no request), at most every :data:`BADGE_SECONDS` while records arrive
        (``force``: now, a run ended). The status row follows when they arrive
        (:class:`BadgesRead`)."""
        now = time.monotonic()
        if not self._service_open or (
            not force
            and self._badges_refreshed is not None
            and now - self._badges_refreshed < BADGE_SECONDS
        ):
            return
        self._badges_refreshed = now
        for pane in (self.testrail_pane, self.testfiesta_pane):
            if pane.loaded:
                pane.refresh_badges()
        self._update_status()

    def show_sync(self, message: SyncNews) -> None:
        """This console's sync: a cycle began, a pair's cycle ended (the panes reload), or
        the watch paused/resumed."""
        if isinstance(message, SyncCycleStarted):
            self._outcome_all_linked = False
            self.kinds.clear_kinds()
            self.progress.start("Syncing: reading both projects…")
        elif isinstance(message, SyncCycleFinished):
            self.progress.finish(message.exit_code < 2, message.summary)
            self.refresh_badges(force=True)  # what the cycle found, from the state store
            if message.exit_code < 2 and self._troubles:
                self.reload_panes()  # both servers answered the cycle: the loads say so
            elif message.writes:  # records changed on a side: read them
                self.live_refresh(force=True)
        self.refresh_sync()

    # ------------------------------------------------------------------ status

    def status_text(self) -> str:
        """Where the pair shown stands, for the idle progress row, from what the panes hold.

        "Press M to migrate" only while the TestFiesta project does not exist and TestRail
        can be read; "N TestRail records not in TestFiesta yet" as soon as the TestRail pane
        holds an unlinked record. TestRail cases load as their sections open, so "All N
        records linked" (N: the TestFiesta project's folders and cases) needs every section's
        cases loaded; before that the row says "All N loaded records linked".
        """
        testrail, testfiesta = self.testrail_pane, self.testfiesta_pane
        if self._service_failed:
            return "Not connected: see the note at the top"
        if testrail.failed:
            return "TestRail error: see the TestRail pane"
        if testfiesta.failed:
            return "TestFiesta error: see the TestFiesta pane"
        if not (testrail.loaded and testfiesta.loaded):
            return "Loading…"
        if testfiesta.project_key is None:
            return "Press M to migrate"
        missing = self._testrail_unlinked()
        if missing:
            return f"{plural(missing, 'TestRail record')} not in TestFiesta yet: press M to migrate"
        tf_total, tf_linked = testfiesta.link_counts()
        if tf_linked < tf_total:
            only = tf_total - tf_linked
            return f"{tf_linked} of {tf_total} records linked; {only} only in TestFiesta"
        if testrail.complete:
            return f"All {plural(tf_total, 'record')} linked"
        return f"All {plural(tf_total, 'loaded record')} linked"

    def _testrail_unlinked(self) -> int:
        """How many records the TestRail pane holds that are not linked (0 while either pane
        is not loaded, or before the TestFiesta project exists)."""
        testrail, testfiesta = self.testrail_pane, self.testfiesta_pane
        if not (testrail.loaded and testfiesta.loaded) or testfiesta.project_key is None:
            return 0
        total, linked = testrail.link_counts()
        return total - linked

    def _update_status(self) -> None:
        """Refresh what depends on both panes: the idle row and the TestFiesta note.

        A migration's outcome stays on the row, unless it says every record is linked and
        the TestRail pane now holds one that is not (added since, or while it ran)."""
        self.testfiesta_pane.offer_migration(self.testrail_pane.loaded)
        if self.progress.has_class("-idle"):
            self.progress.idle(self.status_text())
        elif self._outcome_all_linked and self._testrail_unlinked():
            self._outcome_all_linked = False
            self.progress.idle(self.status_text())
        self._show_pair_line()

    def _show_pair_line(self) -> None:
        """The header's pair line: which pair, n of m (hidden for a single pair)."""
        pairs = self.service.config.pairs
        if len(pairs) < 2:
            self.header.show_pair("")
            return
        pane = self.testfiesta_pane
        if pane.loaded and pane.project_key is not None:
            self.project_keys[pane.pair_index] = pane.project_key
        self.header.show_pair(
            f"{self.pair_index + 1} of {len(pairs)}: {self.pair_label(self.pair_index)}"
            "  · p next pair"
        )

    def pair_label(self, pair_index: int) -> str:
        """Both projects of ``[[pair]]`` number ``pair_index``: ``Webshop → WEB``; a
        generated TestFiesta key as read (:meth:`read_project_keys`), "(new project)"
        before the project exists (or before its key was read)."""
        pair = self.service.config.pairs[pair_index]
        target = self.project_keys.get(pair_index) or pair.testfiesta_project or "(new project)"
        return f"{pair.testrail_project} → {target}"

    @work(exclusive=True, group="project-keys", exit_on_error=False, description="project keys")
    async def read_project_keys(self) -> None:
        """Read the TestFiesta project key of every pair whose key the config leaves to be
        generated (:meth:`core.service.Service.testfiesta_project_key`), for
        :meth:`pair_label`, once each; nothing is asked with a single pair or configured
        keys."""
        pairs = self.service.config.pairs
        if len(pairs) < 2:
            return
        for index, pair in enumerate(pairs):
            if pair.testfiesta_project or index in self.project_keys:
                continue  # configured, or read before (a project's key stays)
            try:
                key = await self.service.testfiesta_project_key(index)
            except (RailfiestaError, RuntimeError):  # down, or closed: the panes say so
                return
            if key is not None:
                self.project_keys[index] = key
        self._show_pair_line()

    # ------------------------------------------------------------------ messages

    @on(ServiceOpened)
    def _opened(self) -> None:
        self._service_open = True
        self.reload_panes()
        self.refresh_budgets()
        self.read_project_keys()

    @on(ServiceFailed)
    def _failed(self, message: ServiceFailed) -> None:
        """The service did not open (a secret, the state directory ...): no request was
        sent, so both servers stay "not connected"; the cause shows once, above the panes."""
        self._service_failed = True
        note = self.query_one("#service-note", Static)
        note.update(NOT_STARTED + message.detail)
        note.display = True
        for pane in (self.testrail_pane, self.testfiesta_pane):
            self.header.row(pane.side).set_state(
                "not-connected", "not contacted: see the note at the top"
            )
            pane.show_note("Not connected")
        self._update_status()

    @on(ConnectionChanged)
    def _connection(self, message: ConnectionChanged) -> None:
        row = self.header.row(message.side)
        trouble = message.state in ("refused", "error")
        if trouble and self._troubles.get(message.side) != message.detail:
            # once per side and reason (each reload fails again), until it connects: the
            # whole error and its fix, as `railfiesta check` says them
            self._troubles[message.side] = message.detail
            if not message.logged:
                name = SIDE_NAMES.get(message.side, message.side)
                self.app.bridge.log("error", f"{name}: {message.detail}")  # type: ignore[attr-defined]
        elif message.state == "connected":
            self._troubles.pop(message.side, None)
        row.set_state(message.state, message.detail, short=message.short, phrase=message.phrase)
        self.app.refresh_bindings()  # M and S need both servers: dim or undim them now
        self.refresh_sync()  # and the sync line says why

    @on(PaneLoaded)
    @on(CasesLoaded)
    @on(BadgesRead)
    def _pane_loaded(self, message: PaneLoaded | CasesLoaded | BadgesRead) -> None:
        self._update_status()
        if not isinstance(message, BadgesRead):
            self._link_again()

    def show_migration(self, message: ServerNews) -> None:
        """Show migration and server news: started, one progress step, a wait or a retry, or
        finished (then reload both panes, since records and links changed)."""
        if isinstance(message, MigrationStarted):
            self._outcome_all_linked = False
            self.kinds.clear_kinds()
            self.progress.start()
            self.testfiesta_pane.migrating(True)
        elif isinstance(message, MigrationProgress):
            self.progress.show(message.project, message.stage, message.done, message.total)
            if message.stage not in SETUP_STAGES:
                self.kinds.step(message.project, message.stage, message.done, message.total)
            if message.stage not in SETUP_STAGES | {"reading"} and message.done:
                self.refresh_badges()  # links written so far: at once, from the store
                self.live_refresh()  # records arrive: show them
        elif isinstance(message, ServerWaiting):
            side = SIDE_NAMES.get(message.side, message.side)
            self.header.row(message.side).waiting(
                message.seconds,
                f"{side} asked to wait ({message.reason}) on {message.endpoint}",
                reason=message.reason,
            )
            self.progress.notice(f"{side} {message.reason}: waiting {{s}} s", message.seconds)
        elif isinstance(message, ServerRetrying):
            side = SIDE_NAMES.get(message.side, message.side)
            self.refresh_budgets()  # answers counted so far do not prove it back
            self.header.row(message.side).set_state(
                "retrying", f"{message.endpoint}: {message.reason}"
            )
            text = f"{side} {message.endpoint}: {message.reason}; trying again"
            self.progress.notice(text.replace("{", "{{").replace("}", "}}"), RETRY_NOTICE_SECONDS)
        else:
            self.progress.finish(message.ok, message.summary)
            self._outcome_all_linked = message.ok and message.complete
            self.testfiesta_pane.migrating(False)
            self.refresh_badges(force=True)
            if not message.ok:  # the retries gave up
                for side in SIDE_NAMES:
                    row = self.header.row(side)
                    if row.state == "retrying":
                        row.set_state("error", message.summary)
            self.reload_panes()
            self.read_project_keys()  # generated keys exist now

    # ------------------------------------------------------------------ active pane, links

    def on_descendant_focus(self) -> None:
        """The active pane decides where toasts go: never over it (app.tcss). The class goes
        on the toast rack, not the screen: a screen class restyles every widget (a tab press
        cost ~10x a cursor move)."""
        focused = self.focused
        right = focused is not None and self.testfiesta_pane in focused.ancestors_with_self
        for rack in self.query_children(ToastRack):
            rack.set_class(right, "-active-right")

    def toast_room(self) -> int:
        """Rows the toasts may take: the height of the pane that is not active (they sit over
        it, app.tcss), so the newest fit there whole (``RailfiestaApp.fit_toasts``)."""
        focused = self.focused
        right = focused is not None and self.testfiesta_pane in focused.ancestors_with_self
        other = self.testrail_pane if right else self.testfiesta_pane
        return other.region.height

    @on(Tree.NodeHighlighted)
    def _highlighted(self, event: Tree.NodeHighlighted[PaneItem]) -> None:
        """The cursor moved in a pane: underline (and bring into view) the linked record in
        the other pane; say so in its border when it is not loaded yet."""
        tree = event.control
        if not isinstance(tree, ProjectTree) or not tree.has_focus:
            return
        self.show_linked(tree)

    def show_linked(self, tree: ProjectTree) -> None:
        """Mark, in the other pane, the record linked to ``tree``'s cursor."""
        pane = next(p for p in self.query(ProjectPane) if p.project_tree is tree)
        other = self.testfiesta_pane if pane is self.testrail_pane else self.testrail_pane
        node = tree.cursor_node
        record = node.data.record if node is not None and node.data is not None else None
        linked = record.linked if record is not None else None
        tree.mark_linked(None, reveal=False)
        found = other.project_tree.mark_linked(linked)
        self._link_unseen = tree if linked is not None and not found else None
        if linked is not None and not found:
            where = (
                "in a section not opened yet"
                if other is self.testrail_pane and other.loaded
                else "not loaded yet"
            )
            other.show_subtitle(f"linked: {display_id(linked)}, {where}")
        else:
            other.show_subtitle(LEGEND)
        pane.show_subtitle(LEGEND)

    #: the tree whose cursor's linked record the other pane did not hold when it moved there
    #: (:meth:`show_linked`): looked for again when that pane loads more
    _link_unseen: ProjectTree | None = None

    def _link_again(self) -> None:
        """The other pane loaded records or cases: mark the link :meth:`show_linked` could not
        find (a folder named "not loaded yet" while a reload read stayed so until the cursor
        moved again)."""
        tree = self._link_unseen
        if tree is not None and tree.has_focus:
            self.show_linked(tree)

    # ------------------------------------------------------------------ filter

    def action_filter(self) -> None:
        """Show the filter line and put the cursor in it."""
        self.filtering = True
        self.filter_input.display = True
        self.filter_input.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        """Filter once typing pauses (:data:`FILTER_DELAY`): each key is echoed at once, and
        a burst of keys rebuilds the trees once, not once per key."""
        event.stop()
        if self._filter_timer is not None:
            self._filter_timer.stop()
        text = event.value
        self._filter_timer = self.set_timer(FILTER_DELAY, lambda: self.apply_filter(text))

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        """Enter: back to the TestRail tree, the filter stays."""
        event.stop()
        self.testrail_pane.project_tree.focus()

    def apply_filter(self, text: str) -> None:
        """Narrow both trees to the records whose name, id or key holds ``text`` (""): all).
        TestRail cases of sections not opened yet are asked of the server a moment later,
        from :data:`SEARCH_MIN` characters on, or at once for a case id (``C4``,
        ``tr:case:4``: ``Service.testrail_search`` then also asks for that case)."""
        for pane in (self.testrail_pane, self.testfiesta_pane):
            pane.project_tree.apply_filter(text)
        wanted = text.strip()
        asked = len(wanted) >= SEARCH_MIN or testrail_case_ref(wanted) is not None
        if asked and self._service_open and not self.testrail_pane.offline:
            self._search_testrail(wanted)
        else:
            self.workers.cancel_group(self, "filter-search")

    @work(exclusive=True, group="filter-search", exit_on_error=False, description="TestRail search")
    async def _search_testrail(self, text: str) -> None:
        await asyncio.sleep(SEARCH_DELAY)
        pane = self.testrail_pane
        tree = pane.project_tree
        if pane.project_id is None or tree.filter_text != text:
            return
        suites = tree.suite_ids()
        found = []
        try:
            for suite_id in suites:
                found += await self.service.testrail_search(pane.project_id, suite_id, text)
        except RailfiestaError:
            return  # the pane filters what it holds; the header shows the server's state
        if tree.filter_text == text:
            tree.apply_filter(text, extra=found)
            pane.refresh_badges(found)

    def clear_filter(self) -> None:
        """Empty and hide the filter line; both trees show everything again."""
        if self._filter_timer is not None:
            self._filter_timer.stop()
        self.filter_input.value = ""
        self.apply_filter("")
        self.filtering = False
        self.filter_input.display = False
        self.testrail_pane.project_tree.focus()

    def action_clear_filter(self) -> None:
        """Escape while a filter is set: clear it."""
        self.clear_filter()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Escape clears the filter only while there is one."""
        if action == "clear_filter":
            return self.filtering
        return True

    # ------------------------------------------------------------------ details

    @on(ProjectTree.DetailsWanted)
    def _details(self, message: ProjectTree.DetailsWanted) -> None:
        message.stop()
        info = self.record_info(message.tree, message.node)
        self.app.push_screen(
            RecordDetails(info, self.service, pair_index=self.pair_index, on_read=self._record_read)
        )

    def _record_read(self, sides: RecordSides) -> None:
        """The details read a record on both sides: both trees show its titles and badge as
        read (an edit made since a pane was read shows there at once, not at its next
        load), and their counts below the folders follow."""
        for pane, key in (
            (self.testrail_pane, sides.testrail_key),
            (self.testfiesta_pane, sides.testfiesta_key),
        ):
            tree = pane.project_tree
            if key is not None and tree.record(key) is not None:
                tree.take_read(key, sides.name_on(pane.side), sides.state)
                pane.refresh_roll_up()

    def record_info(self, tree: ProjectTree, node: UiNode[PaneItem]) -> RecordInfo:
        """What the details modal shows for ``node`` of ``tree``."""
        assert node.data is not None and node.data.record is not None
        record = node.data.record
        pane = next(p for p in self.query(ProjectPane) if p.project_tree is tree)
        other = self.testfiesta_pane if pane is self.testrail_pane else self.testrail_pane
        path: list[str] = []
        parent = node.parent
        while parent is not None and parent.data is not None and parent.data.record is not None:
            path.insert(0, parent.data.record.name)
            parent = parent.parent
        counterpart = other.project_tree.record(record.linked) if record.linked else None
        return RecordInfo(pane.side, record, path, counterpart, tree.state_of(record.key))
