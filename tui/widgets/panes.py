"""The two project panes: TestRail on the left, TestFiesta on the right.

Each pane loads its tree from the service in an exclusive worker (a reload cancels the one
before), reports its server's state with :class:`tui.messages.ConnectionChanged`, and shows a
failure as a note in the tree instead of raising. Both keep the records the user had open
(and the cursor's record) across a reload, those opened while it read included
(:meth:`ProjectPane._landing`), and start afresh when they switch to another pair.

The panes read alike: TestFiesta hides its project's root folder (a container nobody made) and
TestRail hides the lone suite of a single-suite project (the suite that maps onto that root
folder), so both show the same sections/folders at the top. Projects with several suites
(suite mode 3) show the suites on the left and their folders on the right. A suite-mode-2
project with baselines still shows its suites on the left: the service does not say which
one is the master (the one that maps onto the root folder).
"""

from __future__ import annotations

import time

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.markup import escape
from textual.widgets import Static
from textual.widgets.tree import TreeNode as UiNode
from textual.widgets.tree import UnknownNodeID
from textual.worker import Worker, WorkerState

from core.errors import RailfiestaError
from core.service import PaneRead, Service, TreeNode
from core.sync_state import STATES
from tui.messages import (
    BackgroundFailed,
    BadgesRead,
    CasesLoaded,
    ConnectionChanged,
    PaneLoaded,
    connection_news,
)
from tui.widgets.project_tree import BADGES, PaneItem, ProjectTree, record_id
from tui.widgets.text import show_text

LEGEND = "  ".join(f"{BADGES[state][0]} {BADGES[state][1]}" for state in STATES)


def clock(at: float) -> str:
    """``HH:MM`` of a UNIX time, local."""
    return time.strftime("%H:%M", time.localtime(at))


class ProjectPane(Vertical):
    """A bordered pane around one :class:`ProjectTree`; subclasses fill it from one side.

    ``side`` is ``"testrail"`` or ``"testfiesta"``; ``title`` the border title before the
    project is known. A note above the tree (wrapped text) says "loading…", "not migrated
    yet" or why loading failed; it is hidden while the tree has content.
    """

    side = ""
    title = ""

    def __init__(self, service: Service, pair_index: int = 0, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="project-pane")
        self.service = service
        self.pair_index = pair_index
        self.border_title = self.title
        self.border_subtitle = self._subtitle = LEGEND
        self._loaded_once = False
        self._fresh = True
        #: the last load of the current pair succeeded / failed (neither while loading)
        self.loaded = False
        self.failed = False
        #: the tree shows the read cache's copy (UNIX time it was read), not the server's
        self.cached_at: float | None = None
        #: the server could not be read, and the cached copy stays (read-only)
        self.offline = False

    def make_tree(self) -> ProjectTree:
        """The pane's tree widget (subclasses choose lazy kinds)."""
        return ProjectTree(self.title, id=f"{self.side}-tree")

    def compose(self) -> ComposeResult:
        """The note, then the tree."""
        yield Static("", id=f"{self.side}-note", classes="pane-note", markup=False)
        yield self.make_tree()

    def on_descendant_focus(self) -> None:
        """The tree got the focus: the pane's border says it is the active one."""
        self._set_active(True)

    def on_descendant_blur(self) -> None:
        """The tree lost the focus."""
        self._set_active(False)

    def _set_active(self, active: bool) -> None:
        """Class ``-active`` on the pane, restyling the pane alone: no rule below it reads
        the class (``:focus-within`` restyled the pane, its note and its tree on every focus
        change, next to the tree's own restyle for ``:focus``)."""
        if self.has_class("-active") == active:
            return
        self.set_class(active, "-active", update=False)
        self.app.stylesheet.update_nodes([self], animate=True)

    def show_subtitle(self, text: str) -> None:
        """Put ``text`` under the pane's bottom border. Only a change is drawn: setting
        ``border_subtitle`` repaints the whole pane, tree included, even with the same text
        (it was most of a cursor move's CPU: each move sets both panes' subtitles)."""
        if text != self._subtitle:
            self._subtitle = text
            self.border_subtitle = text

    @property
    def project_tree(self) -> ProjectTree:
        """The pane's tree."""
        return self.query_one(ProjectTree)

    @property
    def note(self) -> str:
        """The note shown above the tree ("" when hidden)."""
        widget = self.query_one(".pane-note", Static)
        return str(widget.content) if widget.display else ""

    def show_note(self, text: str, *, error: bool = False) -> None:
        """Empty the tree and show ``text`` instead (styled as an error if ``error``)."""
        widget = self.query_one(".pane-note", Static)
        changed = show_text(widget, text) or not widget.display
        widget.set_class(error, "-error")
        widget.display = True
        if changed or self.project_tree.records():
            self.project_tree.clear_records()

    def hide_note(self) -> None:
        """Hide the note (the tree has content)."""
        self.query_one(".pane-note", Static).display = False

    def switch_pair(self, pair_index: int) -> None:
        """Show ``[[pair]]`` number ``pair_index`` instead: load it afresh."""
        self.pair_index = pair_index
        self._fresh = True
        self.loaded = self.failed = False
        self.border_title = self.title
        self.show_note("loading…")
        self.load()

    def load(self) -> object:
        """(Re)load the pane (subclasses run this in a worker)."""
        raise NotImplementedError

    def link_counts(self) -> tuple[int, int]:
        """(records, linked records) among those the pane holds."""
        records = self.project_tree.records()
        return len(records), sum(1 for record in records if record.linked)

    @property
    def complete(self) -> bool:
        """True when the pane holds its whole project (no lazily loaded part is missing)."""
        return self.project_tree.leaves_pending() == 0

    def _begin_load(self) -> set[str] | None:
        """The records open now (None on a first load or a new pair: those show "loading…")."""
        if not self._loaded_once or self._fresh:
            self._fresh = False
            self.show_note("loading…")
            if not self._loaded_once:
                self.post_message(ConnectionChanged(self.side, "connecting"))
            return None
        return self.project_tree.expanded_keys()

    def _landing(self, began: set[str] | None) -> set[str] | None:
        """The records to reopen when a reload lands, ``began`` being those open when it
        began (:meth:`_begin_load`; None: a first load). The user may have opened or closed
        records while it read (reloads run every few seconds during a migration or a sync):
        those open now stay open, and those open at the start stay open unless the user
        closed them meanwhile. A record open at the start whose parent was closed keeps its
        own state (it is open again when its parent is)."""
        if began is None:
            return None
        tree = self.project_tree
        return tree.expanded_keys() | (began - tree.closed_keys(began))

    def _failed(self, error: Exception) -> None:
        """Show why the load failed, in the pane and in the header (:func:`connection_news`:
        a config error keeps the server up, and S and M then say the pane's problem
        themselves); a cached copy on show stays (read-only, its age in the title)."""
        news = connection_news(self.side, error)
        self.post_message(news)
        detail = news.detail or str(error)
        if self.cached_at is not None:
            self.offline = True
            self.loaded, self.failed = True, False
            self.border_title = self._title_base + f" · offline: copy of {clock(self.cached_at)}"
            self.post_message(PaneLoaded(self.side))
            return
        self.show_note(f"{self.title}: {detail}", error=True)
        self.loaded, self.failed = False, True
        self.post_message(PaneLoaded(self.side))

    _title_base = ""

    def _titled(self, name: str, read: PaneRead) -> None:
        """The border title: side, project, and the cached copy's time while it shows."""
        self._title_base = f"{self.title} · {escape(name)}"  # a border title reads markup
        self.cached_at = read.at if read.cached else None
        self.offline = False
        suffix = f" · cached {clock(read.at)}, reading…" if read.cached else ""
        self.border_title = self._title_base + suffix

    def refresh_badges(self, records: list[TreeNode] | None = None) -> None:
        """Ask the service where ``records`` (default: every record the tree holds) stand
        now and redraw their badges, with the links a migration or sync wrote since the
        tree was read (``Service.read_badges``: the state store, in one batched query in a
        worker thread, no request to either server). The badges change when the answer
        comes, not before this returns; a refresh of every record replaces one under way."""
        if records is None:
            self._refresh_all_badges()
        else:
            self._refresh_some_badges(list(records))

    async def read_badges(
        self, records: list[TreeNode]
    ) -> dict[str, tuple[str, str | None]] | None:
        """``Service.read_badges`` of ``records`` (None: the service closed meanwhile; no
        read for no records, e.g. a section that holds only sections)."""
        if not records:
            return {}
        try:
            return await self.service.read_badges(records, pair_index=self.pair_index)
        except RuntimeError:  # the service closed meanwhile
            return None

    @work(exclusive=True, group="badges-all", exit_on_error=False, description="badges")
    async def _refresh_all_badges(self) -> None:
        tree = self.project_tree
        badges = await self.read_badges(tree.records())
        if badges is not None:
            tree.set_badges(badges)
            self.post_message(BadgesRead(self.side))
            self.refresh_roll_up()

    @work(group="badges", exit_on_error=False, description="badges")
    async def _refresh_some_badges(self, records: list[TreeNode]) -> None:
        badges = await self.read_badges(records)
        if badges is not None:
            self.project_tree.set_badges(badges)
            self.post_message(BadgesRead(self.side))
            self.refresh_roll_up()

    def set_leaf_badges(self, badges: dict[str, tuple[str, str | None]]) -> None:
        """Badges of leaves just filled in: on their lines, and in the containers' counts."""
        self.project_tree.set_badges(badges)
        self.refresh_roll_up()

    @work(exclusive=True, group="roll-up", exit_on_error=False, description="badges below")
    async def refresh_roll_up(self) -> None:
        """What waits below each container of the whole tree (``Service.read_roll_up``, in
        a worker thread: the state store, no request), after each badge read."""
        tree = self.project_tree
        try:  # the states the badges just gave: only the few flagged records are walked
            below = await self.service.read_roll_up(
                tree.records(), side=self.side, pair_index=self.pair_index, states=tree.states
            )
        except RuntimeError:  # the service closed meanwhile
            return
        self.project_tree.set_roll_up(below)

    def _connected(self) -> None:
        self._loaded_once = True
        self.loaded, self.failed = True, False
        self.post_message(ConnectionChanged(self.side, "connected"))
        self.post_message(PaneLoaded(self.side))

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR:
            what = event.worker.description or event.worker.name or self.title
            self.post_message(BackgroundFailed(what, event.worker.error))


class TestRailPane(ProjectPane):
    """Suites > sections of the pair's TestRail project; a section's cases load when it opens."""

    __test__ = False
    side = "testrail"
    title = "TestRail"

    def __init__(self, service: Service, pair_index: int = 0, *, id: str | None = None) -> None:
        super().__init__(service, pair_index, id=id)
        self.project_id: int | None = None

    def make_tree(self) -> ProjectTree:
        """Sections are lazy: their cases come from ``Service.testrail_cases``."""
        return ProjectTree(self.title, lazy_kinds={"section"}, id=f"{self.side}-tree")

    @work(exclusive=True, group="testrail-tree", exit_on_error=False, description="TestRail tree")
    async def load(self) -> None:
        """(Re)load the project's suites and sections: first the read cache's copy (on a
        first load), then the server's."""
        reopen = self._begin_load()
        self.workers.cancel_group(self, "testrail-cases")
        if reopen is None:
            cached = await self.service.cached_testrail_pane(self.pair_index)
            if cached is not None:
                self._show(cached, None)
                reopen = self.project_tree.expanded_keys()
        try:
            read = await self.service.testrail_pane(self.pair_index)
        except RailfiestaError as error:
            self._failed(error)
            return
        except Exception as error:  # a bug: show it here, and let the app log it
            self._failed(error)
            raise
        self._show(read, self._landing(reopen))
        self._connected()

    def _show(self, read: PaneRead, reopen: set[str] | None) -> None:
        project = read.project or {}
        self.project_id = int(project["id"])
        self._titled(str(project.get("name", self.project_id)), read)
        self.hide_note()
        tree = self.project_tree
        suites = read.nodes
        if len(suites) == 1 and project.get("suite_mode") != 3:
            # the lone suite is the project's root, as TestFiesta's root folder is
            suite = suites[0]
            tree.show_records(
                sorted(suite.children, key=lambda record: record.kind == "case"),
                reopen=reopen,
                empty="(no sections)",
                suite_id=record_id(suite.key),
            )
        else:
            tree.show_records(suites, reopen=reopen, empty="(no suites)")
        self.refresh_badges()

    @on(ProjectTree.LoadLeaves)
    def _cases_wanted(self, event: ProjectTree.LoadLeaves) -> None:
        event.stop()
        self._load_cases(event.node)

    @work(group="testrail-cases", exit_on_error=False, description="TestRail cases")
    async def _load_cases(self, node: UiNode[PaneItem]) -> None:
        tree = self.project_tree
        item = node.data
        if item is None or item.key is None or item.suite_id is None or self.project_id is None:
            tree.fill_error(node, "cannot tell which suite this section belongs to")
            return
        section = (self.project_id, item.suite_id, record_id(item.key))
        try:
            if self.offline:
                raise LookupError("offline")
            leaves = await self.service.testrail_cases(*section)
        except (RailfiestaError, LookupError) as error:
            cached = await self.service.cached_testrail_cases(*section)
            badges = await self.read_badges(cached[0]) if cached is not None else None
            if cached is not None and _still_shown(tree, node):
                tree.fill(node, cached[0])
                if badges is not None:
                    self.set_leaf_badges(badges)
                self.post_message(CasesLoaded(self.side))
            elif _still_shown(tree, node):
                tree.fill_error(node, f"cases not loaded: {error}")
                self.post_message(CasesLoaded(self.side))
            return
        # read before the leaves show, so they show with their badges (no second frame)
        badges = await self.read_badges(leaves)
        if _still_shown(tree, node):
            tree.fill(node, leaves)
            if badges is not None:
                self.set_leaf_badges(badges)
            self.post_message(CasesLoaded(self.side))


class TestFiestaPane(ProjectPane):
    """Folders > cases of the pair's TestFiesta project, or a note before the first migration."""

    __test__ = False
    side = "testfiesta"
    title = "TestFiesta"

    #: Shown while the TestFiesta project does not exist yet ...
    NOT_MIGRATED = "Not migrated yet"
    #: ... and this follows while TestRail can be read (see :meth:`offer_migration`).
    MIGRATE_HINT = ": press M to migrate"
    #: Shown instead while a migration runs (see :meth:`migrating`).
    MIGRATING = "Migrating… (records show here as they arrive)"

    def __init__(self, service: Service, pair_index: int = 0, *, id: str | None = None) -> None:
        super().__init__(service, pair_index, id=id)
        self.project_key: str | None = None
        self._offer = False
        #: a migration runs, or ended and the load that shows its result has not finished
        self._migrating = False
        self._migration_ended = False

    def _not_migrated_note(self) -> str:
        if self._migrating:
            return self.MIGRATING
        return self.NOT_MIGRATED + (self.MIGRATE_HINT if self._offer else "")

    def offer_migration(self, offer: bool) -> None:
        """Whether the "not migrated yet" note invites pressing M (only while TestRail is
        readable: the screen decides)."""
        self._offer = offer
        if self.loaded and self.project_key is None:
            self.show_note(self._not_migrated_note())

    def migrating(self, running: bool) -> None:
        """A migration started (True) or ended (False): while it runs, a project that does
        not exist yet reads "Migrating…" instead of inviting M. After the end that note
        stays until a :meth:`load` begun since (the screen reloads the panes) finishes."""
        if running:
            self._migrating, self._migration_ended = True, False
            if self.loaded and self.project_key is None:
                self.show_note(self._not_migrated_note())
        else:
            self._migration_ended = True

    def _loaded_after(self, after_migration: bool) -> None:
        """A load finished; one begun after a migration ended shows its outcome, so the
        "Migrating…" note is over."""
        if after_migration and self._migration_ended:
            self._migrating = self._migration_ended = False

    @work(
        exclusive=True, group="testfiesta-tree", exit_on_error=False, description="TestFiesta tree"
    )
    async def load(self) -> None:
        """(Re)load the project's folders and cases: first the read cache's copy (on a first
        load), then the server's."""
        reopen = self._begin_load()
        after_migration = self._migration_ended
        if reopen is None:
            cached = await self.service.cached_testfiesta_pane(self.pair_index)
            if cached is not None and cached.key is not None:
                self._show(cached, None)
                reopen = self.project_tree.expanded_keys()
        try:
            read = await self.service.testfiesta_pane(self.pair_index)
        except RailfiestaError as error:
            self._loaded_after(after_migration)
            self._failed(error)
            return
        except Exception as error:  # a bug: show it here, and let the app log it
            self._loaded_after(after_migration)
            self._failed(error)
            raise
        self._loaded_after(after_migration)
        self._show(read, self._landing(reopen))
        self._connected()

    def _show(self, read: PaneRead, reopen: set[str] | None) -> None:
        self.project_key = read.key
        if read.key is None:
            self.border_title = self.title
            self.cached_at = None
            self.show_note(self._not_migrated_note())
        else:
            self._titled(read.key, read)
            self.hide_note()
            self.project_tree.show_records(read.nodes, reopen=reopen, empty="(no folders)")
            self.refresh_badges()


def _still_shown(tree: ProjectTree, node: UiNode[PaneItem]) -> bool:
    """True while ``node`` is part of ``tree`` (a reload replaces every node)."""
    try:
        return tree.get_node_by_id(node.id) is node
    except UnknownNodeID:
        return False
