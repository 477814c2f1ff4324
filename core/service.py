"""The one facade the console and the command line use (DESIGN §2).

:class:`Service` owns the two API clients, the state store and the event stream for one config.
``tui`` never builds an HTTP client itself: it calls these methods and renders the events.

    async with Service(config) as service:
        reports = await service.migrate()
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx

from core.addresses import record_web_page, testrail_case_ref
from core.config import Config, connection_warnings, load_config, resolve_secret
from core.config_edit import apply_edits, set_sync_enabled
from core.conflicts import (
    NAMED,
    check_chosen_value,
    conflict_rows,
    edit_parts,
    edited_value,
    field_label,
)
from core.conflicts import ConflictRow as ConflictRow  # re-exported: the console's types
from core.conflicts import EditPart as EditPart
from core.conflicts import ResolutionHistory as ResolutionHistory
from core.details import RecordSides, compare_records
from core.engine.cycle import (
    Engine,
    backfill_pending,
    find_conflict,
    record_title,
    resolve_conflict,
    resolve_rest,
    rest_of_field,
    stored_conflicts,
    unresolve_conflict,
)
from core.engine.plan import Plan
from core.engine.reconcile import SYNC, Settings
from core.errors import ApiError, AuthenticationFailed, ConfigError
from core.events import Activity, ConnectionWarning, EventSink
from core.http import RequestStats
from core.kinds import KINDS, map_item_references
from core.lock import StateLock, SyncLocked, read_holder
from core.mapping import (
    ESTIMATE_FIELD,
    REFS_FIELD,
    STEP_FIELD_KINDS,
    MetaItem,
    Vocabulary,
    configured_table,
    mapping_edits,
)
from core.migrate import (
    IDENTITY_KEY,
    KIND_LABELS,
    MIGRATING,
    MigrationReport,
    ProjectMatch,
    ProjectMigration,
    find_testrail_project,
    instance_identity,
    match_testfiesta_project,
)
from core.model import FIELD_PREFIX, Record, tf_key, tr_key
from core.monitor import (
    LOG_KEY,
    MONITOR_KEY,
    PAUSED,
    STOPPED,
    SYNC_NOW,
    SYNCING,
    WAITING,
    WatchMonitor,
)
from core.read_cache import ReadCache
from core.report import (
    SyncFinished,
    SyncReport,
    SyncStarted,
    WatchPaused,
    done_text,
    exit_code,
    failure_lines,
)
from core.store import StateStore, StoreDamaged, check_export, default_state_dir, set_aside
from core.sync_state import (
    CONFLICT,
    PENDING,
    Below,
    attention_from_store,
    record_state,
    roll_up,
)
from core.testfiesta.adapter import unix_seconds
from core.testfiesta.client import TestFiestaClient
from core.testfiesta.side import BATCH_SIZES, TestFiestaSide
from core.testrail.catalog import TestRailCatalog
from core.testrail.client import TestRailClient
from core.testrail.offline import ExportClient
from core.testrail.side import TestRailContext, TestRailSide

__all__ = ["Budget", "Service", "StateLock", "SyncLocked", "TreeNode"]

#: Seconds between two looks of a watch at the config file and the store's requests.
WATCH_TICK = 0.2
#: Seconds between two writes of a waiting watch's monitor (its budgets, its ``updated``).
HEARTBEAT_SECONDS = 5.0

#: Most cases one filter search brings into the TestRail pane (one page of ``get_cases``).
SEARCH_LIMIT = 250


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
    ``key`` the record key; ``linked`` the other side's key when the state store pairs it;
    ``baseline`` marks a suite-mode-2 baseline suite."""

    kind: str
    key: str
    name: str
    parent: str | None
    linked: str | None = None
    children: list[TreeNode] = field(default_factory=list)
    #: a suite-mode-2 baseline (a frozen copy of the master suite), not the master itself
    baseline: bool = False
    #: when the record last changed (UNIX seconds; cases only, None where the API says not)
    updated: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON form for the read cache (children nested)."""
        return {
            "kind": self.kind,
            "key": self.key,
            "name": self.name,
            "parent": self.parent,
            "linked": self.linked,
            "children": [child.as_dict() for child in self.children],
            "baseline": self.baseline,
            "updated": self.updated,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TreeNode:
        """Inverse of :meth:`as_dict`."""
        return cls(
            str(data["kind"]),
            str(data["key"]),
            str(data["name"]),
            data.get("parent"),
            data.get("linked"),
            [cls.from_dict(child) for child in data.get("children") or ()],
            bool(data.get("baseline")),
            data.get("updated"),
        )


@dataclass
class PaneRead:
    """What one project pane shows: ``nodes`` (top level, children nested) read at ``at``
    (UNIX seconds), from the server or, when ``cached``, from the read cache
    (:mod:`core.read_cache`). ``project``: the TestRail project row (TestRail pane);
    ``key``: the TestFiesta project key, None before the first migration (TestFiesta pane)."""

    nodes: list[TreeNode]
    at: float
    cached: bool = False
    project: dict[str, Any] | None = None
    key: str | None = None


def _natural(text: str) -> tuple[Any, ...]:
    """``tr:case:9`` before ``tr:case:10``, ``steps[2]`` before ``steps[10]``."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text))


def _view_order(view: ConflictView) -> tuple[Any, ...]:
    """Oldest first; those one cycle found by record, then by field."""
    return (view.since or 0.0, _natural(view.testrail), _natural(view.field))


@dataclass
class ConflictView:
    """One stored conflict as the conflict screen shows it: ``id``, ``kind``, the record
    keys ``testrail``/``testfiesta``, ``field`` (the engine's value name, ``steps[2]``) and
    ``label`` (its words, ``step 2``), ``title`` (the record's title or name both sides last
    agreed on; None if the base has none), ``rows`` (the three values as text, per step
    column for a step), ``resolution`` (None while open, else ``{"winner", "value", "by",
    "at"}``: chosen, applied by the next sync cycle) and ``since`` (UNIX seconds)."""

    id: str
    kind: str
    testrail: str
    testfiesta: str
    field: str
    label: str
    title: str | None
    rows: list[ConflictRow]
    resolution: dict[str, Any] | None
    since: float | None

    @property
    def chosen(self) -> bool:
        """A choice is recorded and waits for the next cycle."""
        return bool(self.resolution)


def case_leaves(
    rows: Sequence[Mapping[str, Any]], store: StateStore, section: str | None = None
) -> list[TreeNode]:
    """The tree leaves of TestRail case rows (``get_cases``), in section key ``section``
    (None: each row's ``section_id``), with the TestFiesta keys the state store links them
    to, read in one batched query (``StateStore.linked_many``)."""
    keys = [tr_key("case", row["id"]) for row in rows]
    links = store.linked_many(keys)
    return [
        TreeNode(
            "case",
            key,
            str(row.get("title", "")),
            section if section is not None else tr_key("section", row["section_id"]),
            links.get(key),
            updated=int(row["updated_on"]) if row.get("updated_on") else None,
        )
        for key, row in zip(keys, rows, strict=True)
    ]


def all_nodes(nodes: Iterable[TreeNode]) -> list[TreeNode]:
    """``nodes`` and every node below them (any depth, no order promised)."""
    every: list[TreeNode] = []
    stack = list(nodes)
    while stack:
        node = stack.pop()
        every.append(node)
        stack.extend(node.children)
    return every


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
        testrail_export: Path | None = None,
    ) -> None:
        self.config = config
        #: a TestRail XML/CSV export read instead of the TestRail API (``migrate --from-xml``)
        self.testrail_export = testrail_export
        self.state_dir = state_dir or default_state_dir(config.path)
        self._transports = (testrail_transport, testfiesta_transport)
        self._listeners: list[EventSink] = []
        self.testrail: TestRailClient | None = None
        self.testfiesta: TestFiestaClient | None = None
        self.store: StateStore | None = None
        #: the panes' read cache (DESIGN §6), opened with the store
        self.reads: ReadCache | None = None
        #: TestRail project id (the pair id of the state store) per pair index, once read
        self._pair_id: dict[int, str] = {}
        self._engine: Engine | None = None
        #: engines prepared by an earlier cycle of this service (``--watch``, the console):
        #: the metadata is read once, so an idle poll costs only the change listings
        self._prepared: dict[int, tuple[Engine, ProjectMigration]] = {}
        #: read-only sides per pair for :meth:`record_sides` (metadata read once)
        self._readers: dict[int, tuple[TestRailSide, TestFiestaSide | None]] = {}
        self.stopping = False
        #: choices made on conflicts in this process, for undo (the console's ``u``)
        self.resolutions = ResolutionHistory()
        #: the cycle in flight stops after its current operation: sync was switched off
        self._halting = False

    # ------------------------------------------------------------------ lifecycle

    def subscribe(self, listener: Callable[[object], None]) -> None:
        """Receive every event (progress, activity, rate-limit waits)."""
        self._listeners.append(listener)

    def emit(self, event: object) -> None:
        """Send ``event`` to every listener."""
        for listener in self._listeners:
            listener(event)

    async def open(self) -> None:
        """Resolve secrets, build both clients and open the state store. Emits a
        :class:`core.events.ConnectionWarning` for each :func:`core.config.connection_warnings`
        (TLS checks off, plain http to another machine) every time."""
        tr, tf = self.config.testrail, self.config.testfiesta
        for side, host, message in connection_warnings(self.config):
            if side == "testrail" and self.testrail_export is not None:
                continue  # an export file is read, not that server
            self.emit(ConnectionWarning("warning", message, side=side, host=host))
        api_key = (
            resolve_secret(
                tr.api_key_env,
                account=f"testrail:{tr.user}@{urlparse(tr.url).netloc}",
                what="TestRail API key",
            )
            if self.testrail_export is None
            else ""
        )
        token = resolve_secret(
            tf.token_env,
            account=f"testfiesta:{tf.handle}@{urlparse(tf.url).netloc}",
            what="TestFiesta API token",
        )
        if self.testrail_export is not None:
            self.testrail = self._export_client(self.testrail_export)
        else:
            self.testrail = TestRailClient.connect(
                tr.url,
                tr.user,
                api_key,
                requests_per_minute=tr.requests_per_minute,
                timeout=tr.timeout,
                ca_bundle=tr.ca_bundle,
                verify_tls=tr.verify_tls,
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
            verify_tls=tf.verify_tls,
            transport=self._transports[1],
            on_event=self.emit,
        )
        try:
            self.store = StateStore(self.state_dir)
            self.reads = ReadCache(self.state_dir / "reads")
        except ConfigError:  # damaged, or of a newer railfiesta
            await self.close()
            raise
        except OSError as exc:
            await self.close()
            raise ConfigError(
                f"cannot use {self.state_dir} as the state directory: {exc.strerror}",
                hint="pass --state with a directory you can write (it is created if missing)",
            ) from None

    def _export_client(self, path: Path) -> ExportClient:
        """A read-only TestRail over the export at ``path`` for the one pair it can feed.

        The file's project takes the pair's ``testrail_project`` as its name (or id), so the
        migration finds it as it would over the API. Raises :class:`ConfigError` when the config
        has several pairs (an export holds one suite of one project) or the file is not an
        export."""
        if len(self.config.pairs) != 1:
            raise ConfigError(
                f"an export file feeds one [[pair]]; the config has {len(self.config.pairs)}",
                path=str(self.config.path),
                hint="migrate the file with a config that has the one [[pair]] it belongs to",
            )
        wanted = self.config.pairs[0].testrail_project
        client = ExportClient.open(path, self.config.testrail.url, project_name=str(wanted))
        if isinstance(wanted, int):
            client.data.project["id"] = wanted
            for suite in client.data.suites:
                suite["project_id"] = wanted
        for warning in client.data.warnings:
            self.emit(Activity("warning", warning))
        return client

    async def close(self) -> None:
        """Close both clients and the store."""
        if self.testrail is not None:
            await self.testrail.aclose()
        if self.testfiesta is not None:
            await self.testfiesta.aclose()
        if self.store is not None:
            self.store.close()
        if self.reads is not None:
            self.reads.close()
            self.reads = None

    async def __aenter__(self) -> Service:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _clients(self) -> tuple[TestRailClient, TestFiestaClient, StateStore]:
        if self.testrail is None or self.testfiesta is None or self.store is None:
            raise RuntimeError("Service.open() has not been called")
        return self.testrail, self.testfiesta, self.store

    def open_state(self) -> None:
        """Open only the state store: no secret, no client, no network (``status``,
        ``conflicts list``/``show``). :meth:`close` closes it; :meth:`open` later still works."""
        if self.store is not None:
            return
        try:
            self.store = StateStore(self.state_dir)
        except OSError as exc:
            raise ConfigError(
                f"cannot use {self.state_dir} as the state directory: {exc.strerror}",
                hint="pass --state with a directory you can write (it is created if missing)",
            ) from None

    # ------------------------------------------------------------------ backups

    def export_state(self, path: Path, *, force: bool = False) -> int:
        """``state export FILE``: every entry of the state store (links, bases, cursors,
        conflicts, resolutions, the journal; never a secret: the store holds none) as JSON
        (:meth:`core.store.StateStore.export`), written to ``path`` (mode 0600) through a
        temporary file, so a half-written backup never replaces a whole one. Returns the
        entries written. Raises :class:`ConfigError` when ``path`` exists and ``force`` is
        False, or cannot be written; :class:`core.store.StoreDamaged` for a damaged store."""
        path = Path(path)
        if path.exists() and not force:
            raise ConfigError(
                f"{path} exists", hint="choose another file, or pass --force to overwrite it"
            )
        self.open_state()
        backup = self._state().export()
        text = json.dumps(backup, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
        partial = path.with_name(f".{path.name}.partial")
        try:
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            os.replace(partial, path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                partial.unlink()
            raise ConfigError(
                f"cannot write {path}: {exc.strerror or exc}",
                hint="choose a file in a directory you can write",
            ) from None
        return len(backup["entries"])

    def import_state(self, path: Path, *, force: bool = False, command: str = "") -> int:
        """``state import FILE``: replace the state store with a :meth:`export_state` backup,
        holding the state lock (:class:`core.lock.SyncLocked` while a sync or migration runs).
        Refuses a store that holds anything unless ``force``; with ``force`` a damaged store's
        files are set aside (``cache.db.damaged-<UNIX seconds>``) first. An older backup is
        brought up to date (:data:`core.store.MIGRATIONS`). Returns the entries loaded.
        Raises :class:`ConfigError` for a file that is missing, not JSON or not an export."""
        path = Path(path)
        try:
            backup = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
        except (UnicodeDecodeError, ValueError) as exc:
            raise ConfigError(
                f"{path} is not JSON ({exc})",
                hint="give a file `railfiesta state export` wrote",
            ) from None
        try:
            check_export(backup)
        except ConfigError as error:
            raise ConfigError(
                f"{path}: {error.message}",
                hint=error.hint or "give a file `railfiesta state export` wrote",
            ) from None
        if self.store is not None:
            self.store.close()
            self.store = None
        with StateLock(self.state_dir, command=command or "railfiesta state import"):
            try:
                self.open_state()
            except StoreDamaged:
                if not force:
                    raise
                set_aside(self.state_dir)
                self.open_state()
            return self._state().load(backup, replace=force)

    def _state(self) -> StateStore:
        """The state store, after :meth:`open` or :meth:`open_state`."""
        if self.store is None:
            raise RuntimeError("Service.open() or open_state() has not been called")
        return self.store

    def secret_sources(self) -> list[tuple[str, str, str, str]]:
        """Where :meth:`open` looks for each secret: ``(side, environment variable, keyring
        account, what)`` (for ``check``, which reports each one)."""
        tr, tf = self.config.testrail, self.config.testfiesta
        return [
            (
                "testrail",
                tr.api_key_env,
                f"testrail:{tr.user}@{urlparse(tr.url).netloc}",
                "TestRail API key",
            ),
            (
                "testfiesta",
                tf.token_env,
                f"testfiesta:{tf.handle}@{urlparse(tf.url).netloc}",
                "TestFiesta API token",
            ),
        ]

    # ------------------------------------------------------------------ operations

    async def migrate(
        self, project: str | None = None, *, dry_run: bool = False
    ) -> list[MigrationReport]:
        """Migrate every ``[[pair]]`` (or only the one whose TestRail project is ``project``);
        one report per pair. Errors propagate; what was written stays linked."""
        testrail, testfiesta, store = self._clients()
        self._prepared.clear()
        self._readers.clear()
        reports = []
        reserved: set[str] = set()
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
                reserved_keys=reserved,
            )
            try:
                report = await migration.run(pair.testrail_project, pair.testfiesta_project)
            except AuthenticationFailed as error:
                raise self._explain(error) from None
            if isinstance(testrail, ExportClient):
                # what the file's reader repaired (a repeated or missing case id, a short
                # line) is in the report too, so --json, which prints no progress, keeps it
                report.notes[:0] = testrail.data.warnings
                report.unread = list(testrail.data.unread_dates)
            reports.append(report)
        return reports

    def explain(self, error: AuthenticationFailed) -> AuthenticationFailed:
        """``error`` with a hint naming the config keys and the variable behind the login."""
        return self._explain(error)

    def _explain(self, error: AuthenticationFailed) -> AuthenticationFailed:
        """Name the config keys and the variable behind a refused login."""
        if error.side == "testrail":
            tr = self.config.testrail
            error.hint = (
                f"check [testrail] user {tr.user!r} and the API key in ${tr.api_key_env} "
                "(TestRail: My Settings > API Keys)"
            )
        else:
            tf = self.config.testfiesta
            error.hint = (
                f"check the API key in ${tf.token_env} (it starts with testfiesta_) and that "
                f"it belongs to organization {tf.handle!r}"
            )
        return error

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

    # ------------------------------------------------------------------ sync

    def _settings(self, *, mode: str = SYNC, confirm_deletes: bool = False) -> Settings:
        """The engine's policies from ``[sync]``; ``[sync.fields]`` keys are TestRail names
        (``custom_preconds``, ``title``), the engine's are value names (``field:...``)."""
        sync = self.config.sync
        fields = {
            (FIELD_PREFIX + name if name.startswith("custom_") else name): policy
            for name, policy in sync.field_policies.items()
        }
        return Settings(
            mode=mode,
            conflict_policy=sync.conflict_policy,
            field_policies=fields,
            delete_policy=sync.delete_policy,
            big_delete_threshold=sync.big_delete_threshold,
            confirm_deletes=confirm_deletes,
        )

    async def _pair_engine(
        self, index: int, *, read_only: bool = False
    ) -> tuple[Engine, ProjectMigration]:
        """The engine of ``[[pair]]`` number ``index`` over freshly prepared sides (the
        metadata both sides need; missing custom fields and templates are created unless
        ``read_only``, which writes nothing anywhere)."""
        testrail, testfiesta, store = self._clients()
        pair = self.config.pairs[index]
        migration = ProjectMigration(
            testrail,
            testfiesta,
            store,
            self.config.mapping,
            on_event=self.emit,
            dry_run=read_only,
            create_project=False,
            verb="syncing",
        )
        try:
            project, suites, catalog = await migration.prepare(
                pair.testrail_project, pair.testfiesta_project
            )
        except AuthenticationFailed as error:
            raise self._explain(error) from None
        tr_side, tf_side = migration.sides(project, suites, catalog)
        tf_side.ctx.fresh = False  # the project exists: sync reads it
        if migration.root_uid and not read_only:
            store.link(tr_side.ctx.anchor, tf_key("folder", migration.root_uid))
        engine = Engine(
            store,
            tr_side,
            tf_side,
            pair=str(project["id"]),
            batch_sizes=BATCH_SIZES,
        )
        return engine, migration

    def _full_due(self, pair: str, now: float) -> bool:
        """Whether the periodic full read (``[sync] full_scan``) is due for ``pair``."""
        assert self.store is not None
        last = self.store.get(f"meta:full:{pair}")
        return last is None or now - float(last) >= self.config.sync.full_scan

    async def sync(
        self,
        *,
        plan_only: bool = False,
        full: bool = False,
        confirm_deletes: bool = False,
    ) -> list[SyncReport]:
        """One sync cycle (``sync --once``) or its plan (``plan_only``, nothing written) for
        every ``[[pair]]``, in order; one :class:`core.report.SyncReport` each. ``full`` reads
        every record (deletions show); it also happens by itself every ``[sync] full_scan``
        seconds. Conflicts go to the store (see :meth:`conflicts`). The cycle runs whatever
        ``[sync] enabled`` says (it is an explicit request). Raises what the HTTP layer raises
        for a server that cannot be used (the journal keeps what was in flight)."""
        testrail, testfiesta, store = self._clients()
        reports = []
        requests = {"testrail": 0, "testfiesta": 0}
        pairs_seen: set[str] = set()
        if not plan_only:
            self.emit(SyncStarted())
        for index in range(len(self.config.pairs)):
            tr_before, tf_before = testrail.session.stats.total, testfiesta.session.stats.total
            if plan_only and index not in self._prepared:
                # a plan writes nothing, not even the metadata a cycle would create
                engine, migration = await self._pair_engine(index, read_only=True)
            else:
                if index not in self._prepared:
                    self._prepared[index] = await self._pair_engine(index)
                engine, migration = self._prepared[index]
            if self._halting:
                break  # switched off during the cycle: the pairs left wait for the next one
            engine.applier.stop_requested = self.stopping or self._halting
            pairs_seen.add(engine.pair)
            self._engine = engine
            now = time.time()
            # a migration stopped while backfilling: only a full read finds what is left
            whole = full or self._full_due(engine.pair, now) or bool(engine.backfill_pending())
            settings = self._settings(confirm_deletes=confirm_deletes)
            assert migration.report is not None
            report = SyncReport(
                migration.report.testrail_project,
                migration.project_key,
                Plan(),
                full=whole,
                warnings=migration.report.warnings,
            )
            if plan_only:
                report.plan = await engine.make_plan(settings, full=whole)
            else:
                migration.begin_reading()
                cycle = await engine.run(settings, full=whole, on_progress=migration.apply_progress)
                report.plan, report.applied, report.recovered = (
                    cycle.plan,
                    cycle.applied,
                    cycle.recovered,
                )
                if whole and cycle.applied and not cycle.applied.stopped:
                    store.set(f"meta:full:{engine.pair}", now)
                self._emit_cycle(report)
            self._engine = None
            report.requests = {
                "testrail": testrail.session.stats.total - tr_before,
                "testfiesta": testfiesta.session.stats.total - tf_before,
            }
            for side, n in report.requests.items():
                requests[side] += n
            reports.append(report)
            self.emit(SyncFinished(report))
        if not plan_only:
            store.note_pairs(pairs_seen)
            store.set("meta:last_poll", time.time())
            store.set("meta:requests", requests)
        return reports

    def _emit_cycle(self, report: SyncReport) -> None:
        applied = report.applied
        done = done_text(applied.done if applied else {})
        self.emit(
            Activity(
                "info" if report.exit_code == 0 else "warning",
                f"{report.testrail_project}: synced ({done or 'nothing to do'}); "
                f"{len(report.plan.conflicts)} conflict{'s' * (len(report.plan.conflicts) != 1)} "
                "open",
            )
        )
        # one line per kind of failure; the report's applied.failed (--json) has each one
        for line in failure_lines(applied.failed if applied else [], verb=True):
            self.emit(Activity("error", line))
        for notice in report.plan.notices:
            self.emit(Activity("warning", notice.message))

    def request_stop(self) -> None:
        """Stop a running sync after the operation in flight (Ctrl-C, SIGTERM)."""
        self.stopping = True
        if self._engine is not None:
            self._engine.request_stop()

    async def watch(self, *, interval: float | None = None, confirm_deletes: bool = False) -> int:
        """``sync --watch``: a cycle every ``interval`` seconds (``[sync] interval`` by
        default) while ``[sync] enabled`` is true in the config file, until
        :meth:`request_stop`. Returns the exit code of the last cycle.

        The config file is looked at every :data:`WATCH_TICK` seconds (its size, time and
        inode; read again when they change): ``railfiesta sync off`` or the console's ``s``
        elsewhere pauses the watch at once, and stops a cycle in flight after its current
        operation (the cursors stay, so the next cycle sees the same changes); ``sync on``
        starts a cycle at once. A console's :meth:`request_sync_now` starts one at once too,
        even while paused. While it runs, the watch publishes its state, progress, last
        cycles and recent activity in the state store (:mod:`core.monitor`) for
        :meth:`monitor`.
        """
        _, _, store = self._clients()
        wait = float(interval or self.config.sync.interval)
        monitor = WatchMonitor(store, interval=wait, budgets=self._budget_counts)
        self.subscribe(monitor)
        code = 0
        paused: bool | None = None
        signature = self._config_signature()
        enabled = self.sync_enabled()
        store.take_request(SYNC_NOW)  # asked before this watch began: nobody waits for it
        wanted = False
        try:
            while not self.stopping:
                if paused is None or paused == enabled:
                    paused = not enabled
                    self.emit(WatchPaused(paused, str(self.config.path)))
                if enabled or wanted:
                    wanted = False
                    monitor.state(SYNCING)
                    guard = asyncio.create_task(self._halt_when_switched_off(signature))
                    try:
                        reports = await self.sync(confirm_deletes=confirm_deletes)
                    finally:
                        guard.cancel()
                        self._halting = False
                    code = exit_code(r.exit_code for r in reports)
                    signature = self._config_signature()
                    enabled = self.sync_enabled()
                due = time.time() + wait
                if self.stopping:
                    break
                monitor.state(WAITING if enabled else PAUSED, next_poll=due if enabled else None)
                while not self.stopping:
                    await asyncio.sleep(WATCH_TICK)
                    now_signature = self._config_signature()
                    if now_signature != signature:
                        signature = now_signature
                        was, enabled = enabled, self.sync_enabled()
                        if enabled and not was:
                            break  # switched on: a cycle now
                        if was and not enabled:
                            paused = True
                            self.emit(WatchPaused(True, str(self.config.path)))
                            monitor.state(PAUSED)
                    if store.take_request(SYNC_NOW) is not None:
                        self.emit(Activity("info", "sync now: asked for by a console"))
                        wanted = True
                        break
                    if enabled and time.time() >= due:
                        break
                    if time.time() - monitor.flushed_at >= HEARTBEAT_SECONDS:
                        monitor.flush()  # budgets age; a console sees the watch is alive
        finally:
            self._listeners.remove(monitor)
            monitor.state(STOPPED)
            self.stopping = False  # stopped: the next sync or watch of this service may run
        return code

    async def _halt_when_switched_off(self, signature: tuple[int, int, int] | None) -> None:
        """While a watch cycle runs: when the config file changes to ``[sync] enabled =
        false``, stop the cycle after the operation in flight."""
        while True:
            await asyncio.sleep(WATCH_TICK)
            now = self._config_signature()
            if now == signature:
                continue
            signature = now
            if not self.sync_enabled():
                self._halting = True
                if self._engine is not None:
                    self._engine.request_stop()
                self.emit(
                    Activity("info", "sync switched off: stopping after the operation in flight")
                )
                return

    def _config_signature(self) -> tuple[int, int, int] | None:
        """(inode, modification time in ns, size) of the config file; None when unreadable.
        An edit through :mod:`core.config_edit` replaces the file, so its inode changes."""
        try:
            info = os.stat(self.config.path)
        except OSError:
            return None
        return info.st_ino, info.st_mtime_ns, info.st_size

    def _budget_counts(self) -> list[tuple[str, int, int | None, int, int]]:
        """(side, requests in the last 60 s, per-minute limit, 429/409 answers, the 409
        maintenance waits among them) per side."""
        return [
            (b.side, b.last_minute, b.per_minute, b.stats.rate_limited, b.stats.maintenance_waits)
            for b in self.budgets()
        ]

    def request_sync_now(self) -> None:
        """Ask the process that holds this state directory's sync lock (a ``sync --watch``,
        or a console's own watch) for a cycle now; it takes the request within
        :data:`WATCH_TICK` seconds of its next look (``control:sync_now`` in the store)."""
        self._state().request(SYNC_NOW, time.time())

    def sync_holder(self) -> dict[str, Any] | None:
        """Who holds this state directory's sync lock (see :func:`core.lock.read_holder`):
        ``{"pid", "host", "started", "command"}``, or None. May wait half a second for a
        holder that is still writing its details."""
        return read_holder(self.state_dir)

    def lock(self, command: str) -> StateLock:
        """The sync lock of this state directory, not taken yet (``command``: what the holder
        tells others it runs). :meth:`StateLock.acquire` raises :class:`SyncLocked` while
        another process holds it."""
        return StateLock(self.state_dir, command=command)

    def monitor(self) -> dict[str, Any]:
        """What a console shows of the sync that runs on this state directory, from the
        state store and the config file only (no network): ``holder`` (:meth:`sync_holder`),
        ``watch`` (the document the watch publishes, :mod:`core.monitor`; None when no watch
        ever ran here), ``log`` (its last activity lines, oldest first: ``{"at", "level",
        "message"}``), ``enabled`` (``[sync] enabled`` now), ``conflicts`` (open, no choice
        yet), ``resolved_waiting`` (chosen, not applied yet) and ``last_poll`` (UNIX seconds
        of the last finished cycle, or None)."""
        store = self._state()
        conflicts = stored_conflicts(store)
        return {
            "holder": self.sync_holder(),
            "watch": store.get(MONITOR_KEY),
            "log": list(store.get(LOG_KEY) or []),
            "enabled": self.sync_enabled(),
            "conflicts": sum(1 for c in conflicts if not c.get("resolution")),
            "resolved_waiting": sum(1 for c in conflicts if c.get("resolution")),
            "last_poll": self.last_poll(),
        }

    def last_poll(self) -> float | None:
        """UNIX seconds of the end of the last finished sync cycle on this state directory
        (a watch's or a one-off, this process's or another's), or None: ``meta:last_poll``,
        which every cycle writes as it ends. ``status`` and the console's header show this."""
        value = self._state().get("meta:last_poll")
        return None if value is None else float(value)

    def sync_enabled(self) -> bool:
        """``[sync] enabled`` as the config file says now (it may have changed since open)."""
        try:
            return load_config(self.config.path).sync.enabled
        except ConfigError:
            return self.config.sync.enabled

    def set_sync_enabled(self, enabled: bool) -> None:
        """``sync on`` / ``sync off`` and the console's ``s``: writes ``[sync] enabled`` into
        the config file through tomlkit (every comment and other byte kept)."""
        set_sync_enabled(self.config.path, enabled)
        self.config = replace(self.config, sync=replace(self.config.sync, enabled=enabled))

    # ------------------------------------------------------------------ conflicts

    def conflicts(self) -> list[dict[str, Any]]:
        """Open conflicts, oldest first (see :func:`core.engine.cycle.stored_conflicts`)."""
        store = self._state()
        return stored_conflicts(store)

    def conflict(self, conflict_id: str) -> dict[str, Any]:
        """One open conflict by id or unambiguous id prefix; KeyError when there is none."""
        store = self._state()
        return find_conflict(store, conflict_id)

    def resolve(self, conflict_id: str, winner: str, value: Any = None) -> dict[str, Any]:
        """Choose for a conflict (``testrail``, ``testfiesta`` or ``value``); the next cycle
        applies it. See :func:`core.engine.cycle.resolve_conflict`."""
        store = self._state()
        if winner == "value":
            self._check_value(find_conflict(store, conflict_id), value)
        return resolve_conflict(store, conflict_id, winner, value, by=self._who())

    def _check_value(self, entry: Mapping[str, Any], value: Any) -> None:
        """:func:`core.conflicts.check_chosen_value` for ``entry``'s field, with the names
        the config's ``[mapping]`` table for it holds; ValueError when it cannot hold
        ``value``."""
        conflict = entry["conflict"]
        vocabulary = NAMED.get(str(conflict["field"]))
        named = list(configured_table(self.config.mapping, vocabulary)) if vocabulary else []
        check_chosen_value(str(conflict["field"]), value, conflict["values"], named)

    def unresolve(self, conflict_id: str) -> bool:
        """Take back a choice the engine has not applied yet."""
        store = self._state()
        return unresolve_conflict(store, conflict_id)

    def undo_resolution(self) -> tuple[list[str], int]:
        """Take back the newest choice in :attr:`resolutions` (see
        :meth:`core.conflicts.ResolutionHistory.undo`): (conflict ids taken back, how many
        the choice held)."""
        return self.resolutions.undo(self.unresolve)

    def _who(self) -> str:
        who = os.environ.get("USER") or os.environ.get("USERNAME") or "someone"
        return f"person:{who}"

    def conflict_views(self) -> list[ConflictView]:
        """Every stored conflict, oldest first (those one cycle found by record, then field),
        open or chosen-but-not-applied, with the record's title and its values as rows (the
        console's conflict screen). State store only: no network."""
        store = self._state()
        titles: dict[str, str | None] = {}
        views = []
        for entry in stored_conflicts(store):
            conflict = entry["conflict"]
            pair = str(conflict["testrail"])
            if pair not in titles:
                titles[pair] = record_title(store, pair)
            views.append(
                ConflictView(
                    id=str(conflict["id"]),
                    kind=str(conflict["kind"]),
                    testrail=pair,
                    testfiesta=str(conflict["testfiesta"]),
                    field=str(conflict["field"]),
                    label=field_label(str(conflict["field"])),
                    title=titles[pair],
                    rows=conflict_rows(conflict["values"]),
                    resolution=entry.get("resolution") or None,
                    since=entry.get("since"),
                )
            )
        return sorted(views, key=_view_order)

    def conflict_counts(self) -> tuple[int, int]:
        """``(open, chosen)``: conflicts waiting for a person, and those with a choice the
        next sync cycle applies (for the console's header)."""
        entries = stored_conflicts(self._state())
        chosen = sum(1 for e in entries if e.get("resolution"))
        return len(entries) - chosen, chosen

    def rest_of_field(self, conflict_id: str) -> list[dict[str, Any]]:
        """The other open conflicts on the same field and kind as ``conflict_id`` (see
        :func:`core.engine.cycle.rest_of_field`); KeyError for an unknown conflict."""
        return rest_of_field(self._state(), conflict_id)

    def resolve_rest(self, conflict_id: str, winner: str) -> list[dict[str, Any]]:
        """The same choice (``testrail`` or ``testfiesta``) for every conflict
        :meth:`rest_of_field` lists; the updated entries. See
        :func:`core.engine.cycle.resolve_rest`."""
        return resolve_rest(self._state(), conflict_id, winner, by=self._who())

    def edit_parts(self, conflict_id: str) -> list[EditPart]:
        """The texts an editor of the conflict opens with, both sides' changes merged (see
        :func:`core.conflicts.edit_parts`); KeyError for an unknown conflict."""
        entry = find_conflict(self._state(), conflict_id)
        return edit_parts(entry["conflict"]["values"])

    def resolve_edited(self, conflict_id: str, texts: dict[str, str]) -> dict[str, Any]:
        """Resolve the conflict with the value the edited ``texts`` (by
        :attr:`core.conflicts.EditPart.name`) make; ValueError when they do not make one (a
        clash block left, JSON that does not parse), KeyError for an unknown conflict."""
        store = self._state()
        entry = find_conflict(store, conflict_id)
        value = edited_value(entry["conflict"]["values"], texts)
        self._check_value(entry, value)
        return resolve_conflict(store, entry["conflict"]["id"], "value", value, by=self._who())

    # ------------------------------------------------------------------ status

    def status(self) -> dict[str, Any]:
        """``status --json``: ``sync.enabled``, ``sync.interval`` (seconds), ``conflicts``
        (open), ``resolved_waiting`` (chosen, not applied yet), ``pending`` (journal entries
        and held or failed items of the last cycle), ``last_poll`` (UNIX seconds or None),
        ``requests`` (``{"testrail": n, "testfiesta": n}`` spent by the last poll) and
        ``holder`` (the process running ``sync --watch``, or None) and ``backfilling``
        (``{pair: {kind: operations left}}`` of migrations stopped while backfilling)."""
        store = self._state()
        conflicts = stored_conflicts(store)
        retry = sum(len(store.get(k) or []) for k in self._retry_keys())
        return {
            "sync": {
                "enabled": self.sync_enabled(),
                "interval": self.config.sync.interval,
            },
            "conflicts": sum(1 for c in conflicts if not c.get("resolution")),
            "resolved_waiting": sum(1 for c in conflicts if c.get("resolution")),
            "pending": len(store.family("journal")) + retry,
            "last_poll": self.last_poll(),
            "requests": store.get("meta:requests") or {"testrail": 0, "testfiesta": 0},
            "holder": read_holder(self.state_dir),
            "backfilling": {
                pair: left for pair in self._pair_ids() if (left := backfill_pending(store, pair))
            },
            "migrating": self._migrations_stopped(),
        }

    def _migrations_stopped(self) -> dict[str, dict[str, Any]]:
        """The migrations that did not reach their end (killed, or stopped part-way), by
        pair: ``project``, ``testfiesta``, ``started`` (UNIX seconds), ``stage`` (``core``:
        the usable core had not landed; ``backfill``: it had), ``done`` ({kind label: records
        linked so far, this run's and earlier ones'}), ``unfinished`` ({kind label: writes
        this run planned} of the kinds it was writing when it stopped: some of them landed),
        ``finished`` (kind labels whose planned writes all landed), ``later`` (what it had
        not started: every kind after those, then the backfill) and ``resume`` (the command
        that resumes it)."""
        assert self.store is not None
        out: dict[str, dict[str, Any]] = {}
        for pair in self._pair_ids():
            marker = self.store.get(f"{MIGRATING}{pair}")
            if not isinstance(marker, dict):
                continue
            linked = Counter(
                str(b.get("kind")) for b in self.store.bases(scope=pair) if not b.get("gone")
            )
            planned = {str(k): int(n) for k, n in (marker.get("planned") or {}).items()}
            finished = set(marker.get("finished") or [])
            out[pair] = {
                "project": marker.get("project"),
                "testfiesta": marker.get("testfiesta"),
                "started": marker.get("started"),
                "stage": marker.get("stage"),
                "done": {KIND_LABELS.get(k, k): n for k in KINDS if (n := linked.get(k, 0))},
                "unfinished": {
                    KIND_LABELS.get(k, k): n for k, n in planned.items() if k not in finished
                },
                "finished": [KIND_LABELS.get(k, k) for k in KINDS if k in finished],
                "later": (
                    "the rest of the usable core, then the backfill (results, attachments, "
                    "case history)"
                    if marker.get("stage") != "backfill"
                    else "the rest of the backfill"
                ),
                "resume": "railfiesta migrate",
            }
        return out

    def _retry_keys(self) -> list[str]:
        assert self.store is not None
        return [k for k in (f"retry:{p}" for p in self._pair_ids()) if self.store.get(k)]

    def _pair_ids(self) -> list[str]:
        assert self.store is not None
        return self.store.pairs()

    # ------------------------------------------------------------------ preflight (read-only)

    async def testrail_projects(self) -> list[dict[str, Any]]:
        """Every TestRail project the API user sees (``get_projects``); the first request
        ``check`` sends, so a refused login gets the hint of :meth:`explain`."""
        testrail, _, _ = self._clients()
        try:
            return await testrail.get_projects()
        except AuthenticationFailed as error:
            raise self._explain(error) from None

    async def testfiesta_projects(self) -> list[dict[str, Any]]:
        """Every project of the TestFiesta organization (``GET /projects``)."""
        _, testfiesta, _ = self._clients()
        try:
            return await testfiesta.list_projects()
        except AuthenticationFailed as error:
            raise self._explain(error) from None

    async def testrail_statuses(self) -> list[dict[str, Any]]:
        """TestRail's result statuses (``get_statuses``: ``name``, ``label`` ...)."""
        testrail, _, _ = self._clients()
        return await testrail.get_statuses()

    async def testrail_priorities(self) -> list[dict[str, Any]]:
        """TestRail's priorities (``get_priorities``: ``name``, ``short_name`` ...)."""
        testrail, _, _ = self._clients()
        return await testrail.get_priorities()

    async def testfiesta_statuses(self) -> list[dict[str, Any]]:
        """The organization's execution statuses, through the TestRail shim."""
        _, testfiesta, _ = self._clients()
        return await testfiesta.shim.get_statuses()

    async def testfiesta_priorities(self) -> list[dict[str, Any]]:
        """The organization's priorities, through the TestRail shim."""
        _, testfiesta, _ = self._clients()
        return await testfiesta.shim.get_priorities()

    async def testrail_case_fields(self) -> list[dict[str, Any]]:
        """TestRail's case field definitions (``get_case_fields``: ``system_name``, ``label``,
        ``type_id``, ``configs`` ...; testrail-api.md §5.6)."""
        testrail, _, _ = self._clients()
        return await testrail.get_case_fields()

    async def testfiesta_custom_fields(self, project_key: str) -> list[dict[str, Any]]:
        """The custom fields of TestFiesta project ``project_key`` (``GET /customFields``)."""
        _, testfiesta, _ = self._clients()
        return await testfiesta.list_custom_fields(project_key)

    async def testfiesta_project_match(self, pair_index: int = 0) -> ProjectMatch:
        """Where ``[[pair]]`` number ``pair_index`` goes on TestFiesta: the existing project
        (``project`` set) or the key ``migrate`` would create (``project`` None)."""
        testrail, testfiesta, store = self._clients()
        pair = self.config.pairs[pair_index]
        return match_testfiesta_project(
            await testfiesta.list_projects(),
            await find_testrail_project(testrail, pair.testrail_project),
            wanted_key=pair.testfiesta_project,
            current_identity=instance_identity(testrail.base_url),
            remembered_identity=store.get(IDENTITY_KEY),
        )

    # ------------------------------------------------------------------ browsing (panes)

    async def testrail_project(self, pair_index: int = 0) -> dict[str, Any]:
        """The TestRail project row (``id``, ``name``, ``suite_mode`` ...) of ``[[pair]]``
        number ``pair_index``. Raises :class:`core.errors.NotFound` for an unknown project."""
        testrail, _, _ = self._clients()
        return await find_testrail_project(testrail, self.config.pairs[pair_index].testrail_project)

    async def testrail_tree(self, project: str | int) -> list[TreeNode]:
        """Suites with their section trees for a TestRail project (name or id); cases load
        separately with :meth:`testrail_cases` so big projects open fast."""
        testrail, _, store = self._clients()
        pid = int((await find_testrail_project(testrail, project))["id"])
        suites = []
        for suite in await testrail.get_suites(pid):
            suite_node = TreeNode(
                "suite",
                tr_key("suite", suite["id"]),
                str(suite["name"]),
                None,
                baseline=bool(suite.get("is_baseline")),
            )
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
        """The cases directly in one section, as tree leaves (``get_cases`` with
        ``section_id``, paged). The leaves are made, linked (state store) and put in the read
        cache in a worker thread: the console's loop waits on neither the store nor the
        cache (a section of ~500 cases was ~40 ms of its CPU)."""
        testrail, _, store = self._clients()
        rows = [
            row async for row in testrail.iter_cases(project_id, suite_id, section_id=section_id)
        ]
        section = tr_key("section", section_id)

        def leaves() -> list[TreeNode]:
            made = case_leaves(rows, store, section)
            self._cache_put(
                self._cases_cache_key(project_id, suite_id, section_id),
                [leaf.as_dict() for leaf in made],
            )
            return made

        return await asyncio.to_thread(leaves)

    async def testrail_search(
        self, project_id: int, suite_id: int, text: str, *, limit: int = SEARCH_LIMIT
    ) -> list[TreeNode]:
        """Cases of one suite whose title holds ``text`` (``get_cases`` with ``filter``, a
        case-insensitive substring, TestRail 6.7+), at most ``limit``, as tree leaves under
        their sections: the console's filter finds cases in sections not opened yet. The
        leaves are linked in a worker thread (see :meth:`testrail_cases`).

        A ``text`` that names a case id (``C123``, ``tr:case:123``:
        :func:`core.addresses.testrail_case_ref`) also asks for that case (``get_case``, one
        request), kept when it belongs to this suite; a case TestRail does not have (its 400)
        adds nothing. Other errors are raised (:class:`core.errors.RailfiestaError`)."""
        testrail, _, store = self._clients()
        rows: list[dict[str, Any]] = []
        async for row in testrail.iter_cases(project_id, suite_id, filter=text):
            rows.append(row)
            if len(rows) >= limit:
                break
        case_id = testrail_case_ref(text)
        if case_id is not None and all(int(row["id"]) != case_id for row in rows):
            try:
                row = await testrail.get_case(case_id)
            except ApiError as error:
                if error.status not in (400, 404):  # 400: "not a valid test case"
                    raise
            else:
                if row.get("suite_id") in (None, suite_id):
                    rows.append(row)
        return await asyncio.to_thread(lambda: case_leaves(rows, store))

    async def cached_testrail_cases(
        self, project_id: int, suite_id: int, section_id: int
    ) -> tuple[list[TreeNode], float] | None:
        """The cases of one section as the read cache last saw them, with when (UNIX
        seconds); None when not cached. No request is sent."""
        found = await self._cache_get(self._cases_cache_key(project_id, suite_id, section_id))
        if found is None:
            return None
        value, at = found
        return [TreeNode.from_dict(row) for row in value], at

    async def testfiesta_project_key(self, pair_index: int = 0) -> str | None:
        """The TestFiesta project key of ``[[pair]]`` number ``pair_index``: the configured key,
        else the project that carries this TestRail project's externalId; None if it does not
        exist yet (before the first migration)."""
        testrail, testfiesta, store = self._clients()
        pair = self.config.pairs[pair_index]
        match = match_testfiesta_project(
            await testfiesta.list_projects(),
            await find_testrail_project(testrail, pair.testrail_project),
            wanted_key=pair.testfiesta_project,
            current_identity=instance_identity(testrail.base_url),
            remembered_identity=store.get(IDENTITY_KEY),
        )
        return match.key if match.project is not None else None

    async def testfiesta_tree(self, project_key: str) -> list[TreeNode]:
        """The folder tree of a TestFiesta project (its root folder's children at the top),
        each folder with its cases as leaves. v1 cannot list cases by folder, so this reads
        the project's cases once and files them client-side."""
        _, testfiesta, store = self._clients()
        folders = await testfiesta.list_folders(project_key)
        nodes: dict[int, TreeNode] = {}
        for row in folders:
            key = tf_key("folder", row["uid"])
            parent = row.get("parentUid")
            nodes[int(row["uid"])] = TreeNode(
                "folder",
                key,
                str(row["name"]),
                tf_key("folder", parent) if parent else None,
                store.linked(key),
            )
        async for row in testfiesta.iter_cases(project_key):
            folder = nodes.get(int(row.get("parentUid") or 0))
            key = tf_key("case", row["uid"])
            leaf = TreeNode(
                "case",
                key,
                str(row.get("name", "")),
                folder.key if folder else None,
                store.linked(key),
                updated=unix_seconds(row.get("updatedAt")),
            )
            if folder is not None:
                folder.children.append(leaf)
        roots: list[TreeNode] = []
        for row in folders:
            node = nodes[int(row["uid"])]
            parent = row.get("parentUid")
            if parent and int(parent) in nodes:
                nodes[int(parent)].children.append(node)
            else:
                roots.append(node)
        # the project's root folder is a container, not a folder people made
        if len(roots) == 1:
            return roots[0].children
        return roots

    # ------------------------------------------------------------------ details (both sides)

    async def _reader(self, pair_index: int) -> tuple[TestRailSide, TestFiestaSide | None]:
        """Read-only sides of ``[[pair]]`` number ``pair_index`` (the TestFiesta side is None
        before the TestFiesta project exists). The metadata is read once per pair (nothing is
        created, no event is sent); an engine a sync prepared is reused."""
        if pair_index in self._prepared:
            engine = self._prepared[pair_index][0]
            tr_side, tf_side = engine.sides["testrail"], engine.sides["testfiesta"]
            if isinstance(tr_side, TestRailSide) and isinstance(tf_side, TestFiestaSide):
                return tr_side, tf_side
        if pair_index in self._readers:
            return self._readers[pair_index]
        testrail, testfiesta, store = self._clients()
        pair = self.config.pairs[pair_index]
        migration = ProjectMigration(
            testrail,
            testfiesta,
            store,
            self.config.mapping,
            on_event=lambda _event: None,
            dry_run=True,
            create_project=False,
        )
        sides: tuple[TestRailSide, TestFiestaSide | None]
        try:
            project, suites, catalog = await migration.prepare(
                pair.testrail_project, pair.testfiesta_project
            )
        except ConfigError:  # no TestFiesta project yet: only TestRail can be read
            project = await find_testrail_project(testrail, pair.testrail_project)
            catalog = await self._testrail_catalog(int(project["id"]))
            suites = await testrail.get_suites(int(project["id"]))
            sides = (TestRailSide(testrail, TestRailContext(project, suites, catalog)), None)
        else:
            tr_side, tf_side = migration.sides(project, suites, catalog)
            tf_side.ctx.fresh = False
            sides = (tr_side, tf_side)
        self._readers[pair_index] = sides
        return sides

    async def _testrail_catalog(self, project_id: int) -> TestRailCatalog:
        """The fields, types, priorities and templates of a TestRail project (four reads)."""
        testrail, _, _ = self._clients()
        return TestRailCatalog.build(
            project_id,
            await testrail.get_case_fields(),
            await testrail.get_case_types(),
            await testrail.get_priorities(),
            await testrail.get_templates(project_id),
        )

    async def record_sides(self, key: str, pair_index: int = 0) -> RecordSides:
        """A record as it is on both sides now, for the console's details: ``key`` is either
        side's key of a case or folder (``tr:case:12``, ``tf:folder:55``, ``tr:section:3``,
        ``tr:suite:1``); the other side's key comes from the state store's link.

        Reads the record from each side that has it (TestRail ``get_case`` / ``get_sections``,
        TestFiesta ``GET /cases/{uid}`` / ``GET /folders``) plus the folders it sits in, and
        compares the canonical values with :func:`core.details.compare_records` (TestFiesta's
        references translated into TestRail keys through the links). A record only on one
        side, or linked to one the other side no longer holds, says so in ``note``.
        Raises what the HTTP layer raises for a side that cannot be read.
        """
        _, _, store = self._clients()
        other = store.linked(key)
        tr_key_, tf_key_ = (key, other) if key.startswith("tr:") else (other, key)
        kind = "case" if key.split(":")[1] == "case" else "folder"
        tr_side, tf_side = await self._reader(pair_index)
        if tf_side is None and tf_key_ is not None:  # the project was made since: read again
            self._readers.pop(pair_index, None)
            tr_side, tf_side = await self._reader(pair_index)
        tr_record = await self._fetch_one(tr_side, tr_key_)
        tf_record = await self._fetch_one(tf_side, tf_key_) if tf_side else None
        references = ("folder", "parent")
        names: dict[str, str] = {}
        tr_refs = [str(v) for r in [tr_record] if r for n, v in r.values.items() if n in references]
        tf_refs = [str(v) for r in [tf_record] if r for n, v in r.values.items() if n in references]
        for side, refs in ((tr_side, tr_refs), (tf_side, tf_refs)):
            if side is None or not refs:
                continue
            for ref_key, folder in (await side.fetch(refs)).items():
                names[ref_key] = str(folder.values.get("name") or ref_key)
        tf_values: dict[str, Any] | None = None
        if tf_record is not None:
            tf_values = dict(tf_record.values)
            for name in references:
                ref = tf_values.get(name)
                if isinstance(ref, str):
                    linked = store.linked(ref)
                    if linked is not None:
                        names.setdefault(linked, names.get(ref, ref))
                        tf_values[name] = linked
            record_kind = KINDS.get(tf_record.kind)
            if record_kind is not None:  # a case step's shared step: its TestRail key
                map_item_references(record_kind, tf_values, lambda ref: store.linked(ref) or ref)
        labels = {name: case_field.label for name, case_field in tr_side.ctx.catalog.fields.items()}
        rows = compare_records(
            tr_record.values if tr_record else None, tf_values, labels=labels, names=names
        )
        note = ""
        if tr_record is None and tf_record is None:
            note = "Neither side holds this record now"
        elif tf_record is None:
            note = (
                f"Only in TestRail: {tf_key_}, its TestFiesta copy, is gone"
                if tf_key_
                else "Only in TestRail: not linked to a TestFiesta record"
            )
        elif tr_record is None:
            note = (
                f"Only in TestFiesta: {tr_key_}, its TestRail copy, is gone"
                if tr_key_
                else "Only in TestFiesta: not linked to a TestRail record"
            )
        # where it stands now: the rule of core.sync_state, with what was just read on both
        # sides in place of the poll times (an edit not polled yet is pending at once)
        attention = attention_from_store(store, self._pair_ids())
        # linked, and one side no longer holds its copy: the delete waits (held or flagged)
        both = tr_record is not None and tf_record is not None
        state = record_state(
            key, other, attention, differ=not both or any(row.differ for row in rows)
        )
        return RecordSides(
            kind,
            tr_key_,
            tf_key_,
            tr_record is not None,
            tf_record is not None,
            tuple(rows),
            note,
            state,
        )

    @staticmethod
    async def _fetch_one(
        side: TestRailSide | TestFiestaSide | None, key: str | None
    ) -> Record | None:
        if side is None or key is None:
            return None
        return (await side.fetch([key])).get(key)

    # ------------------------------------------------------------------ mapping editor

    async def testrail_case_types(self) -> list[dict[str, Any]]:
        """TestRail's case types (``get_case_types``: ``id``, ``name``, ``is_default``)."""
        testrail, _, _ = self._clients()
        return await testrail.get_case_types()

    async def testrail_users(self, pair_index: int = 0) -> list[dict[str, Any]]:
        """The users of ``[[pair]]`` number ``pair_index``'s TestRail project
        (``get_users/{project_id}``, which needs no administrator: ``email``, ``name``)."""
        testrail, _, _ = self._clients()
        project = await self.testrail_project(pair_index)
        return await testrail.get_users(int(project["id"]))

    async def testfiesta_tags(self) -> list[dict[str, Any]]:
        """The organization's tags (``GET /tags``: ``name`` ...); TestRail case types travel
        as tags."""
        _, testfiesta, _ = self._clients()
        return await testfiesta.list_tags()

    async def mapping_vocabularies(self, pair_index: int = 0) -> dict[str, Vocabulary]:
        """Both sides' live items for the mapping editor, one :class:`core.mapping.Vocabulary`
        per tab (fields, status, priority, types, users), with sample values from the first
        cases of the pair's first TestRail suite (at most one page, 250 cases).

        Fields are the TestRail project's case fields (steps excepted: they are the case's
        own) plus ``refs`` and ``estimate``; TestFiesta's users cannot be listed (its API has
        no user lookup), so that side is empty and ``listable`` False.
        """
        testrail, _, _ = self._clients()
        project = await self.testrail_project(pair_index)
        pid = int(project["id"])
        catalog = await self._testrail_catalog(pid)
        samples: dict[str, str] = {}
        titles: dict[tuple[str, str], str] = {}
        suites = await testrail.get_suites(pid)
        if suites:
            count = 0
            async for row in testrail.iter_cases(pid, int(suites[0]["id"])):
                case = catalog.case_record(row, "")
                for name, value in {
                    **case.fields,
                    REFS_FIELD: case.refs,
                    ESTIMATE_FIELD: case.estimate,
                }.items():
                    if value not in (None, "", []) and name not in samples:
                        samples[name] = str(value)
                for vocabulary, value in (("types", case.type), ("priority", case.priority)):
                    if value and (vocabulary, value) not in titles:
                        titles[(vocabulary, value)] = case.title
                count += 1
                if count >= 250:
                    break
        fields = [
            MetaItem(f.system_name, f.label, f.is_required, samples.get(f.system_name, ""))
            for f in catalog.fields.values()
            if f.kind not in STEP_FIELD_KINDS
        ]
        fields += [
            MetaItem(REFS_FIELD, "References", False, samples.get(REFS_FIELD, "")),
            MetaItem(ESTIMATE_FIELD, "Estimate", False, samples.get(ESTIMATE_FIELD, "")),
        ]
        project_key = await self.testfiesta_project_key(pair_index)
        tf_fields = [
            MetaItem(str(f["name"]), str(f.get("type") or ""))
            for f in (await self.testfiesta_custom_fields(project_key) if project_key else [])
        ]
        statuses = [
            MetaItem(str(s["label"]), str(s.get("name") or ""))
            for s in await self.testrail_statuses()
        ]
        tf_statuses = [MetaItem(str(s["name"])) for s in await self.testfiesta_statuses()]
        priorities = [
            MetaItem(name, "", False, titles.get(("priority", name), ""))
            for name in catalog.priorities.values()
        ]
        tf_priorities = [MetaItem(str(p["name"])) for p in await self.testfiesta_priorities()]
        types = [
            MetaItem(name, "", False, titles.get(("types", name), ""))
            for name in catalog.types.values()
        ]
        tags = [MetaItem(str(t["name"])) for t in await self.testfiesta_tags()]
        users = [
            MetaItem(str(u["email"]), str(u.get("name") or ""))
            for u in await self.testrail_users(pair_index)
            if u.get("email")
        ]
        return {
            "fields": Vocabulary("fields", tuple(fields), tuple(tf_fields)),
            "status": Vocabulary("status", tuple(statuses), tuple(tf_statuses)),
            "priority": Vocabulary("priority", tuple(priorities), tuple(tf_priorities)),
            "types": Vocabulary("types", tuple(types), tuple(tags)),
            "users": Vocabulary("users", tuple(users), (), listable=False),
        }

    def save_mapping(
        self,
        vocabularies: dict[str, Vocabulary],
        chosen: dict[str, dict[str, str]],
    ) -> list[tuple[str, str, str | None]]:
        """Write the mapping editor's choices into the config file: one tomlkit edit per
        TestRail item whose counterpart changed (:func:`core.mapping.mapping_edits`; a cleared
        user is removed from ``[users]``), so every comment, the order and every other byte
        stay as they were. Then the config is read again and engines prepared under the old
        mapping are dropped. Returns the edits made ``(table, key, value or None)``.

        Raises :class:`core.errors.ConfigError` when the file cannot be written or one edit
        would make it invalid: then no edit is saved (:func:`core.config_edit.apply_edits`).
        """
        edits = mapping_edits(self.config.mapping, vocabularies, chosen)
        apply_edits(self.config.path, edits)
        if edits:
            self.config = load_config(self.config.path)
            self._prepared.clear()
            self._readers.clear()
        return edits

    # ------------------------------------------------------------------ panes (read cache)

    def _cache_key(self, side: str, pair_index: int) -> str:
        pair = self.config.pairs[pair_index]
        if side == "testrail":
            return f"tr-pane:{self.config.testrail.url}:{pair.testrail_project}"
        return (
            f"tf-pane:{self.config.testfiesta.url}:{self.config.testfiesta.handle}:"
            f"{pair.testrail_project}:{pair.testfiesta_project or ''}"
        )

    def _cases_cache_key(self, project_id: int, suite_id: int, section_id: int) -> str:
        return f"tr-cases:{self.config.testrail.url}:{project_id}:{suite_id}:{section_id}"

    def _cache_put(self, key: str, value: Any) -> None:
        if self.reads is not None:
            self.reads.put(key, value)

    async def _cache_get(self, key: str) -> tuple[Any, float] | None:
        reads = self.reads
        if reads is None:
            return None
        return await asyncio.to_thread(reads.get, key)

    async def testrail_pane(self, pair_index: int = 0) -> PaneRead:
        """The TestRail pane of ``[[pair]]`` number ``pair_index`` from the server: the
        project row and its suites with their section trees (:meth:`testrail_tree`; cases
        load per section with :meth:`testrail_cases`). The answer replaces the read cache's
        copy. Raises what the HTTP layer raises (:class:`core.errors.NotFound` for an unknown
        project; a refused login with the hint of :meth:`explain`)."""
        try:
            project = await self.testrail_project(pair_index)
            suites = await self.testrail_tree(int(project["id"]))
        except AuthenticationFailed as error:
            raise self._explain(error) from None
        self._pair_id[pair_index] = str(project["id"])
        read = PaneRead(suites, time.time(), project=project)
        self._cache_put(
            self._cache_key("testrail", pair_index),
            {"project": project, "nodes": [node.as_dict() for node in suites]},
        )
        return read

    async def cached_testrail_pane(self, pair_index: int = 0) -> PaneRead | None:
        """The TestRail pane as the read cache last saw it (``cached`` True), or None. No
        request is sent; the cache is read off the event loop."""
        found = await self._cache_get(self._cache_key("testrail", pair_index))
        if found is None:
            return None
        value, at = found
        project = dict(value["project"])
        self._pair_id.setdefault(pair_index, str(project["id"]))
        nodes = await asyncio.to_thread(lambda: [TreeNode.from_dict(n) for n in value["nodes"]])
        return PaneRead(nodes, at, cached=True, project=project)

    async def testfiesta_pane(self, pair_index: int = 0) -> PaneRead:
        """The TestFiesta pane of ``[[pair]]`` number ``pair_index`` from the server: the
        project key (None before the first migration) and its folder tree with the cases
        (:meth:`testfiesta_tree`). The answer replaces the read cache's copy. A refused login
        has the hint of :meth:`explain`."""
        try:
            key = await self.testfiesta_project_key(pair_index)
            folders = await self.testfiesta_tree(key) if key is not None else []
        except AuthenticationFailed as error:
            raise self._explain(error) from None
        self._cache_put(
            self._cache_key("testfiesta", pair_index),
            {"key": key, "nodes": [node.as_dict() for node in folders]},
        )
        return PaneRead(folders, time.time(), key=key)

    async def cached_testfiesta_pane(self, pair_index: int = 0) -> PaneRead | None:
        """The TestFiesta pane as the read cache last saw it (``cached`` True), or None."""
        found = await self._cache_get(self._cache_key("testfiesta", pair_index))
        if found is None:
            return None
        value, at = found
        nodes = await asyncio.to_thread(lambda: [TreeNode.from_dict(n) for n in value["nodes"]])
        return PaneRead(nodes, at, cached=True, key=value.get("key"))

    # ------------------------------------------------------------------ links to share

    def record_page(
        self, key: str, *, project_key: str | None = None, suite_id: int | None = None
    ) -> tuple[str, str] | None:
        """``(url, note)`` for ``Y``: the web page a person opens for record ``key`` (a
        TestRail case or suite page, a TestFiesta case or folder page in its web app,
        ``project_key`` needed; note ""), or for a TestRail section (no page of its own) its
        suite's page with a note saying so (``suite_id``: the section's suite); None for no
        page at all. The rules: :func:`core.addresses.record_web_page`."""
        return record_web_page(
            key,
            testrail_url=self.config.testrail.url,
            testfiesta_url=self.config.testfiesta.url,
            handle=self.config.testfiesta.handle,
            project_key=project_key,
            suite_id=suite_id,
        )

    # ------------------------------------------------------------------ badges

    def badges(
        self, nodes: Iterable[TreeNode], *, pair_index: int = 0
    ) -> dict[str, tuple[str, str | None]]:
        """``(state, linked key)`` by record key for every node given and their children,
        as the state store says now: the link a migration or sync cycle wrote since the
        nodes were read (None: not linked) and the state :meth:`sync_states` gives under
        that link. State store only (what the last cycle observed and wrote): no request; the
        links in one batched query (``StateStore.linked_many``). Blocks on the store: the
        console calls :meth:`read_badges`."""
        store = self._state()
        attention = attention_from_store(store, self._pair_ids())
        pair = self._pair_id.get(pair_index)
        every = all_nodes(nodes)
        links = store.linked_many(node.key for node in every)  # one query, not one per node
        found: dict[str, tuple[str, str | None]] = {}
        for node in every:
            linked = links.get(node.key)
            state = record_state(node.key, linked, attention, updated=node.updated, pair=pair)
            found[node.key] = (state, linked)
        return found

    async def read_badges(
        self, nodes: Iterable[TreeNode], *, pair_index: int = 0
    ) -> dict[str, tuple[str, str | None]]:
        """:meth:`badges` read in a worker thread, so the console's loop never waits on the
        state store (a section of ~500 cases was ~450 reads on it). ``nodes`` is copied
        first (the list, not the nodes: their ``children`` are read in the thread)."""
        given = list(nodes)
        return await asyncio.to_thread(self.badges, given, pair_index=pair_index)

    def roll_up(
        self,
        nodes: Iterable[TreeNode],
        *,
        side: str,
        pair_index: int = 0,
        states: Mapping[str, str] | None = None,
    ) -> dict[str, Below]:
        """What waits below each container of a pane: per suite, section or folder key, how
        many records below it (any depth) are in conflict and pending
        (:func:`core.sync_state.roll_up`), for ``nodes`` (a pane's whole tree: every record it
        holds) on ``side`` (``testrail`` or ``testfiesta``). ``states``: the records' states
        as :meth:`badges` just gave them (the pane's); a node without one (or all, when
        None) gets :meth:`badges`' state under the links the state store holds now. The
        conflicts and pending writes of cases the nodes lack (TestRail cases of sections not
        opened yet) count too, under the folder their base names (the TestRail section; on
        TestFiesta its linked folder). State store only, no request: with ``states`` this
        costs the flagged records (few) and a walk up from each of them, else one batched
        link query more. Blocks on the store: the console calls :meth:`read_roll_up`."""
        store = self._state()
        attention = attention_from_store(store, self._pair_ids())
        pair = self._pair_id.get(pair_index)
        every = all_nodes(nodes)
        known = states or {}
        unknown = [node.key for node in every if node.key not in known]
        links = store.linked_many(unknown) if unknown else {}
        found: dict[str, str] = {}
        parents: dict[str, str | None] = {}
        for node in every:
            state = known.get(node.key)
            if state is None:
                state = record_state(
                    node.key, links.get(node.key), attention, updated=node.updated, pair=pair
                )
            found[node.key] = state
            parents[node.key] = node.parent
        states = found
        prefix = "tr:case:" if side == "testrail" else "tf:case:"
        unseen = (attention.conflicts | attention.pending) - states.keys()
        for key in sorted(k for k in unseen if k.startswith(prefix)):
            base = store.base_of(key) or {}
            folder = (base.get("values") or {}).get("folder")
            if not isinstance(folder, str):
                continue
            parent = folder if side == "testrail" else store.linked(folder)
            if parent is None:
                continue
            states[key] = CONFLICT if key in attention.conflicts else PENDING
            parents[key] = parent
        return roll_up(states, parents)

    async def read_roll_up(
        self,
        nodes: Iterable[TreeNode],
        *,
        side: str,
        pair_index: int = 0,
        states: Mapping[str, str] | None = None,
    ) -> dict[str, Below]:
        """:meth:`roll_up` read in a worker thread (the console's loop never waits on the
        state store); ``nodes`` is copied first, as :meth:`read_badges` does, and
        ``states`` too."""
        given = list(nodes)
        known = dict(states) if states is not None else None
        return await asyncio.to_thread(
            self.roll_up, given, side=side, pair_index=pair_index, states=known
        )

    def sync_states(self, nodes: Iterable[TreeNode], *, pair_index: int = 0) -> dict[str, str]:
        """Where each record stands, by key, for every node given and their children:
        ``synced``, ``pending``, ``conflict`` or ``only-here`` under the rule of
        :mod:`core.sync_state` (conflicts, journal, retry list and cursors of the state
        store). The pair's cursors are compared once its TestRail project was read
        (:meth:`testrail_pane`). Needs :meth:`open` or :meth:`open_state`."""
        store = self._state()
        attention = attention_from_store(store, self._pair_ids())
        pair = self._pair_id.get(pair_index)
        states: dict[str, str] = {}
        stack = list(nodes)
        while stack:
            node = stack.pop()
            states[node.key] = record_state(
                node.key, node.linked, attention, updated=node.updated, pair=pair
            )
            stack.extend(node.children)
        return states
