"""The one facade the console and the command line use (DESIGN §2).

:class:`Service` owns the two API clients, the state store and the event stream for one config.
``tui`` never builds an HTTP client itself: it calls these methods and renders the events.

    async with Service(config) as service:
        reports = await service.migrate()
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import httpx

from core.config import Config, resolve_secret
from core.events import EventSink
from core.http import RequestStats
from core.migrate import MigrationReport, ProjectMigration, find_testrail_project
from core.model import tr_key
from core.store import StateStore, default_state_dir
from core.testfiesta.client import TestFiestaClient
from core.testrail.client import TestRailClient


@dataclass
class Budget:
    """Request budget of one server for the monitor: requests in the last 60 s against the
    configured per-minute limit (None = unlimited), plus the session totals."""

    side: str
    last_minute: int
    per_minute: int | None
    stats: RequestStats


@dataclass
class TreeNode:
    """One row of a project pane: ``kind`` is ``suite``, ``section``, ``folder`` or ``case``;
    ``key`` the record key; ``linked`` the other side's key when the state store pairs it."""

    kind: str
    key: str
    name: str
    parent: str | None
    linked: str | None = None
    children: list[TreeNode] = field(default_factory=list)


class Service:
    """Connections, state and operations for one config.

    ``state_dir`` overrides the default state directory; ``testrail_transport`` /
    ``testfiesta_transport`` route requests in-process (tests). Secrets are resolved on
    :meth:`open` (environment, then keyring) and raise :class:`core.errors.SecretMissing`.
    """

    def __init__(
        self,
        config: Config,
        *,
        state_dir: Path | None = None,
        testrail_transport: httpx.AsyncBaseTransport | None = None,
        testfiesta_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config
        self.state_dir = state_dir or default_state_dir(config.path)
        self._transports = (testrail_transport, testfiesta_transport)
        self._listeners: list[EventSink] = []
        self.testrail: TestRailClient | None = None
        self.testfiesta: TestFiestaClient | None = None
        self.store: StateStore | None = None

    # ------------------------------------------------------------------ lifecycle

    def subscribe(self, listener: Callable[[object], None]) -> None:
        """Receive every event (progress, activity, rate-limit waits)."""
        self._listeners.append(listener)

    def emit(self, event: object) -> None:
        """Send ``event`` to every listener."""
        for listener in self._listeners:
            listener(event)

    async def open(self) -> None:
        """Resolve secrets, build both clients and open the state store."""
        tr, tf = self.config.testrail, self.config.testfiesta
        api_key = resolve_secret(
            tr.api_key_env,
            account=f"testrail:{tr.user}@{urlparse(tr.url).netloc}",
            what="TestRail API key",
        )
        token = resolve_secret(
            tf.token_env,
            account=f"testfiesta:{tf.handle}@{urlparse(tf.url).netloc}",
            what="TestFiesta API token",
        )
        self.testrail = TestRailClient.connect(
            tr.url,
            tr.user,
            api_key,
            requests_per_minute=tr.requests_per_minute,
            timeout=tr.timeout,
            ca_bundle=tr.ca_bundle,
            transport=self._transports[0],
            on_event=self.emit,
        )
        self.testfiesta = TestFiestaClient.connect(
            tf.url,
            tf.handle,
            token,
            requests_per_minute=tf.requests_per_minute,
            timeout=tf.timeout,
            ca_bundle=tf.ca_bundle,
            transport=self._transports[1],
            on_event=self.emit,
        )
        self.store = StateStore(self.state_dir)

    async def close(self) -> None:
        """Close both clients and the store."""
        if self.testrail is not None:
            await self.testrail.aclose()
        if self.testfiesta is not None:
            await self.testfiesta.aclose()
        if self.store is not None:
            self.store.close()

    async def __aenter__(self) -> Service:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _clients(self) -> tuple[TestRailClient, TestFiestaClient, StateStore]:
        if self.testrail is None or self.testfiesta is None or self.store is None:
            raise RuntimeError("Service.open() has not been called")
        return self.testrail, self.testfiesta, self.store

    # ------------------------------------------------------------------ operations

    async def migrate(
        self, project: str | None = None, *, dry_run: bool = False
    ) -> list[MigrationReport]:
        """Migrate every ``[[pair]]`` (or only the one whose TestRail project is ``project``);
        one report per pair. Errors propagate; what was written stays linked."""
        testrail, testfiesta, store = self._clients()
        reports = []
        for pair in self.config.pairs:
            if project is not None and str(pair.testrail_project) != str(project):
                continue
            migration = ProjectMigration(
                testrail,
                testfiesta,
                store,
                self.config.mapping,
                on_event=self.emit,
                dry_run=dry_run,
            )
            reports.append(await migration.run(pair.testrail_project, pair.testfiesta_project))
        return reports

    def budgets(self) -> list[Budget]:
        """Request budgets of both servers, for the header and the monitor."""
        testrail, testfiesta, _ = self._clients()
        return [
            Budget(
                "testrail",
                testrail.session.stats.last_minute(),
                self.config.testrail.requests_per_minute,
                testrail.session.stats,
            ),
            Budget(
                "testfiesta",
                testfiesta.session.stats.last_minute(),
                self.config.testfiesta.requests_per_minute,
                testfiesta.session.stats,
            ),
        ]

    # ------------------------------------------------------------------ browsing (panes)

    async def testrail_tree(self, project: str | int) -> list[TreeNode]:
        """Suites with their section trees for a TestRail project (name or id); cases load
        separately with :meth:`testrail_cases` so big projects open fast."""
        testrail, _, store = self._clients()
        pid = int((await find_testrail_project(testrail, project))["id"])
        suites = []
        for suite in await testrail.get_suites(pid):
            suite_node = TreeNode("suite", tr_key("suite", suite["id"]), str(suite["name"]), None)
            suite_node.linked = store.linked(suite_node.key)
            nodes = {suite_node.key: suite_node}
            for section in await testrail.get_sections(pid, int(suite["id"])):
                parent_id = section.get("parent_id")
                node = TreeNode(
                    "section",
                    tr_key("section", section["id"]),
                    str(section["name"]),
                    tr_key("section", parent_id) if parent_id else suite_node.key,
                )
                node.linked = store.linked(node.key)
                nodes[node.key] = node
            for node in nodes.values():
                if node.parent in nodes:
                    nodes[node.parent].children.append(node)
            suites.append(suite_node)
        return suites

    async def testrail_cases(
        self, project_id: int, suite_id: int, section_id: int
    ) -> list[TreeNode]:
        """The cases directly in one section, as tree leaves."""
        testrail, _, store = self._clients()
        leaves = []
        async for row in testrail.iter_cases(project_id, suite_id, section_id=section_id):
            key = tr_key("case", row["id"])
            leaves.append(
                TreeNode(
                    "case",
                    key,
                    str(row.get("title", "")),
                    tr_key("section", section_id),
                    store.linked(key),
                )
            )
        return leaves
