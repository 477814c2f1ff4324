"""Migration of one TestRail project into one TestFiesta project (DESIGN §4).

Order (parents before children, metadata before records):

1. TestRail metadata: case fields, types, priorities, templates, suites.
2. The TestFiesta project (found by ``externalId``, then by key; created if missing), its
   priorities (shim ``get_priorities``), custom fields, templates, tags and folders.
3. Folders: in suite mode 3 one top-level folder per suite, else the suite is the root folder;
   then the section tree, parents first.
4. Cases, created in batches through ``POST /cases``.
5. The backfill: results, attachments and the cases' TestRail history (read by the first pass
   only, for the cases updated after they were created; written read-only to the case field
   :data:`core.history.HISTORY_FIELD` and archived in the state store, :data:`HISTORY_ARCHIVE`).
6. A read-back of both sides' counts for the report.

Every record created carries ``source="testrail"`` and ``externalId="<host>/<kind>/<id>"``.
Before creating anything the migration lists what TestFiesta already holds and links what it
finds, so a re-run, or a resume after a crash or a dropped connection, creates nothing twice
(lookup-or-create). Links are committed to the state store right after each write.

A state store that never finished a cycle of a project TestFiesta already holds (a new or lost
``--state``, another machine) relinks it (:data:`RELINK`): folders, cases, shared steps, runs,
plans and case history by their ``externalId``/origin, milestones and configurations by name,
tests by run and case, results by the TestRail id in their first line (one shim
``get_results`` per execution with a status), case files by name and size. Files of runs,
results and plans cannot be matched (TestFiesta's API lists none), so they are left out with
a warning naming the fix, never sent twice (:data:`UNMATCHED_FILES`). A copy deleted in
TestFiesta after its migration is copied again (a sync keeps its own delete rules). While a
migration runs, :data:`MIGRATING` says how far it got, so ``railfiesta status`` names one that
was killed part-way.
"""

from __future__ import annotations

import json
import re
import time
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from core.engine.apply import stage_of
from core.engine.cycle import OBSERVED, Engine
from core.engine.parity import Digest, KindParity, digest, parity
from core.engine.plan import CREATE, LINK, Operation, Plan
from core.engine.reconcile import MIGRATE, TESTFIESTA, TESTRAIL, Settings
from core.errors import ConfigError, NotFound
from core.events import Activity, CoreLanded, EventSink, Progress, ignore
from core.history import HISTORY_FIELD
from core.http import stage
from core.kinds import ATTACHMENT_OWNERS, BACKFILL, attachment_owner, counted, kind_label
from core.mapping import (
    ESTIMATE_FIELD,
    REFS_FIELD,
    TEMPLATE_DATA_TYPE,
    TESTFIESTA_FIELD_TYPE,
    MappingRules,
    match_name,
)
from core.model import Record, key_id, tf_key, tr_key
from core.report import CLEAN, PENDING, failure_lines
from core.store import ATTACHMENT_URLS, StateStore, StoredFamily
from core.testfiesta.adapter import SOURCE, custom_field_key, root_folder
from core.testfiesta.client import TestFiestaClient
from core.testfiesta.side import BATCH_SIZES, CASE_BATCH_BYTES, TestFiestaContext, TestFiestaSide
from core.testrail.catalog import TestRailCatalog
from core.testrail.client import TestRailClient
from core.testrail.side import TestRailContext, TestRailSide, check_section_tree

#: Seconds between two progress events of one stage (the console redraws on each).
PROGRESS_INTERVAL = 0.25

#: What a migration's passes after the first observe, per side (``Engine.run(scope=)``):
#: nothing of TestRail (the migration writes only TestFiesta) and TestFiesta's executions
#: (the runs the first pass created made them); the tests they pair with are those the first
#: pass read.
FOLLOW_UP = {TESTRAIL: frozenset[str](), TESTFIESTA: frozenset({"test"})}


#: What a migration never carries over, and says so in its report (DESIGN §1).
NOT_MIGRATED = (
    "user settings and preferences: invite each user in TestFiesta's UI, where they set "
    "theirs again",
    "external integrations (Jira, CI hooks): configure them again in TestFiesta",
    "session data (logins, API sessions): sign in to TestFiesta; make API keys for scripts "
    "and CI again under Settings > API Keys",
)


#: Kinds counted in the report by their links (label per kind, :data:`core.kinds.KIND_LABELS`),
#: in the report's order.
LINKED_KINDS = {
    kind: kind_label(kind)
    for kind in ("config_group", "config", "milestone", "run", "plan", "result")
}
#: The report's name of each kind it counts (:func:`core.kinds.kind_label`).
KIND_LABELS = {
    kind: kind_label(kind)
    for kind in ("folder", "shared_step", "case", *LINKED_KINDS, "attachment", "case_history")
}
#: Kinds whose records a migration's read-back compares by their digests
#: (:class:`core.engine.parity.Digest`): the cases and their history, a record per case.
DIGESTED = frozenset({"case", "case_history"})
#: Kinds in the parity report, in its order.
PARITY_KINDS = ("folder", "shared_step", "case", "config_group", "config", "milestone", "run",
                "plan", "test", "result", "attachment", "case_history")  # fmt: skip
#: What the parity of a kind does not show (testfiesta-api.md §7.6, §7.7), said under it.
PARITY_NOTES = {
    "milestone": "a sub-milestone's parent is kept in railfiesta's links only: TestFiesta v1 "
    "milestones have no parent field; TestRail's started flag is not carried (a TestFiesta "
    "milestone status is an org-defined uid: new milestones get the status of one the project "
    "has, else 23); TestFiesta requires start and due dates: a milestone without one gets the "
    "other (or started_on/completed_on), see core.testrail.side.milestone_dates",
    "plan": "TestFiesta plans have no entries: each TestRail entry run is a TestFiesta run of "
    "the plan with its configuration; include_all entries arrive as their resolved cases",
    "case_history": "counted per case: TestRail's cases with history, TestFiesta's cases whose "
    f"{HISTORY_FIELD!r} field holds it; read-only (TestFiesta has no history import): kept in "
    "that field and in the state store (history:<project id>), never synced back",
}


def attachment_owners_note(records: Mapping[str, Record]) -> str:
    """The parity note of kind ``attachment``: TestRail's files by owner kind, in
    :data:`core.kinds.ATTACHMENT_OWNERS` order (kinds without files left out), e.g. ``"by owner
    on TestRail: case 3, run 1, result 2, plan 1; ..."``. Said because TestFiesta has no result
    files: a result's file is its execution's there."""
    owners = Counter(
        owner.split(":")[1]
        for r in records.values()
        if r.kind == "attachment" and (owner := attachment_owner(r.values))
    )
    counts = ", ".join(f"{kind} {owners[kind]}" for kind in ATTACHMENT_OWNERS if owners[kind])
    note = f"by owner on TestRail: {counts or 'none'}"
    if owners["result"]:
        note += (
            "; on TestFiesta a result's file is its execution's (TestFiesta has no result files)"
        )
    return note


def instance_identity(testrail_url: str) -> str:
    """How migrated records name their TestRail: host (lower case, default port dropped) and
    path, without ``/index.php``. ``HTTPS://Acme.TestRail.io:443/`` -> ``acme.testrail.io``."""
    parsed = urlparse(testrail_url.strip())
    host = (parsed.hostname or "").lower()
    default = {"http": 80, "https": 443}.get(parsed.scheme.lower())
    port = f":{parsed.port}" if parsed.port and parsed.port != default else ""
    path = parsed.path.rstrip("/")
    if path.endswith("/index.php"):
        path = path[: -len("/index.php")]
    return f"{host}{port}{path.rstrip('/')}"


def external_id(identity: str, kind: str, record_id: int | str) -> str:
    """``<identity>/<kind>/<id>``: the ``externalId`` of a migrated record (DESIGN §4);
    ``identity`` comes from :func:`instance_identity`."""
    return f"{identity}/{kind}/{record_id}"


#: State-store key of the identity the last migration used (a hint, checked against TestFiesta).
IDENTITY_KEY = "identity:testrail"

#: State-store family of a project's archived case history (``history:<project id>``): item
#: ``<case id>`` -> the raw ``get_history_for_case`` entries (testrail-api.md §5.5), kept
#: read-only; ``railfiesta state export`` includes it.
HISTORY_ARCHIVE = "history:"
#: Cases a migration's first pass reconciles, plans and applies at a time
#: (``Engine.run(chunk=)``): ten full ``POST /cases`` batches; a part's values are let go
#: once it landed, so a 100,000-case project is never held whole from plan to read-back.
MIGRATION_CHUNK = 1000
#: Store key prefix (``meta:relink:<pair>``) set while a migration links what an earlier one
#: copied but this state store does not know (a new or lost ``--state``): kept until one ends
#: with nothing left to backfill, so a resume after a kill links the rest too.
RELINK = "meta:relink:"
#: Store key prefix (``meta:unmatched-files:<pair>``): a relinking migration left files of
#: runs, results or plans out (:meth:`ProjectMigration._unmatchable_files`); every later
#: migration of the pair leaves them out too, until this store knows them (never twice).
UNMATCHED_FILES = "meta:unmatched-files:"
#: Store key prefix (``meta:migrating:<pair>``) of a migration under way: ``{"project",
#: "testfiesta", "started" (UNIX seconds), "stage" ("core" or "backfill"), "planned"
#: ({kind: writes planned}), "finished" ([kinds whose writes all landed])}``; deleted when it
#: ends. One left behind is a migration killed part-way (``railfiesta status`` says so).
MIGRATING = "meta:migrating:"
#: Cases whose raw history is archived in one transaction while a migration reads it.
ARCHIVE_BATCH = 250


#: Largest attachment a dry run passes without a note, in bytes. TestFiesta documents no
#: per-file limit (testfiesta-api.md §3.13 gives only 50 GB of storage per user), so the
#: limit is TestRail's own upload maximum, 256 MB (testrail-api.md §5.15).
ATTACHMENT_LIMIT = 256 * 1024 * 1024


@dataclass(frozen=True)
class ProjectMatch:
    """Which TestFiesta project a TestRail project goes to, and under which identity.

    ``project`` is the existing TestFiesta project row, or None (create ``key``);
    ``identity`` names the TestRail in every externalId; ``respelled`` says the identity was
    found on TestFiesta under another spelling of the configured URL.
    """

    project: Mapping[str, Any] | None
    key: str
    identity: str
    respelled: bool = False


def match_testfiesta_project(
    projects: Iterable[Mapping[str, Any]],
    testrail_project: Mapping[str, Any],
    *,
    wanted_key: str,
    current_identity: str,
    remembered_identity: str | None = None,
    reserved_keys: Iterable[str] = (),
) -> ProjectMatch:
    """Decide where ``testrail_project`` (a ``get_project`` row) goes, from TestFiesta's
    project list (``GET /projects`` rows).

    - A configured ``wanted_key`` is obeyed: that project if it exists, else a new one with
      that key. Its identity is the one its externalId carries for this TestRail project id,
      else the configured URL's.
    - Without a key: the project whose externalId is ``<identity>/project/<id>`` for the
      configured URL's identity; else, for the remembered identity, if the project also has
      this TestRail project's name; else the only project railfiesta made for a TestRail
      project of the same id and name under another URL spelling (an IP for a host name, a
      new domain); those two flagged ``respelled``; else a new project with a key derived
      from the name.

    Evidence on TestFiesta decides, never the remembered identity alone: pointing the same
    state at another TestRail cannot file its records under the first one's name.
    """
    rows = list(projects)
    suffix = f"/project/{testrail_project['id']}"

    def prefix(row: Mapping[str, Any]) -> str | None:
        ext = str(row.get("externalId") or "")
        return ext[: -len(suffix)] if row.get("source") == SOURCE and ext.endswith(suffix) else None

    if wanted_key:
        chosen = next((p for p in rows if str(p.get("key")) == wanted_key), None)
        identity = (prefix(chosen) if chosen is not None else None) or current_identity
        return ProjectMatch(chosen, wanted_key, identity, identity != current_identity)
    ext = f"{current_identity}{suffix}"
    chosen = next((p for p in rows if p.get("externalId") == ext), None)
    if chosen is not None:
        return ProjectMatch(chosen, str(chosen["key"]), current_identity)
    if remembered_identity and remembered_identity != current_identity:
        ext = f"{remembered_identity}{suffix}"
        chosen = next(
            (
                p
                for p in rows
                if p.get("externalId") == ext and p.get("name") == testrail_project["name"]
            ),
            None,
        )
        if chosen is not None:
            return ProjectMatch(chosen, str(chosen["key"]), remembered_identity, True)
    same = [p for p in rows if prefix(p) and p.get("name") == testrail_project["name"]]
    if len(same) == 1:
        identity = prefix(same[0]) or current_identity
        return ProjectMatch(same[0], str(same[0]["key"]), identity, True)
    taken = [str(p.get("key")) for p in rows] + list(reserved_keys)
    key = project_key(str(testrail_project["name"]), taken, testrail_project["id"])
    return ProjectMatch(None, key, current_identity)


def project_key(name: str, taken: Iterable[str], project_id: int | str = "") -> str:
    """A TestFiesta project key for a TestRail project name: its ASCII letters and digits in
    upper case (accents dropped, at most 16), starting with a letter, made unique against
    ``taken`` with a number suffix. ``"Acme Web Shop"`` -> ``"ACMEWEBSHOP"``; a name with no
    ASCII letters (``"Тесты"``) becomes ``"TR<project id>"``."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Z0-9]", "", ascii_name.upper())[:16]
    if not re.search(r"[A-Z]", slug):
        slug = f"TR{project_id if project_id != '' else slug}"
    if not slug[0].isalpha():
        slug = ("P" + slug)[:16]
    existing = {t.upper() for t in taken}
    candidate, number = slug, 2
    while candidate in existing:
        suffix = str(number)
        candidate = slug[: 16 - len(suffix)] + suffix
        number += 1
    return candidate


async def find_testrail_project(testrail: TestRailClient, wanted: str | int) -> dict[str, Any]:
    """The TestRail project with id ``wanted`` (an int or digits) or that name (case and
    repeated spaces ignored). Raises :class:`ConfigError` naming the projects that do exist
    when there is no such project: the ``[[pair]]`` is what needs fixing."""
    if isinstance(wanted, int) or str(wanted).isdigit():
        try:
            return await testrail.get_project(int(wanted))
        except NotFound:
            raise ConfigError(
                f"[[pair]] testrail_project = {wanted}: TestRail has no project with that id",
                hint="use the number after /projects/overview/ in the project's URL, or its name",
            ) from None
    projects = await testrail.get_projects()
    found = match_name(str(wanted), [str(p["name"]) for p in projects])
    if found is None:
        names = ", ".join(repr(n) for n in sorted(str(p["name"]) for p in projects)[:10])
        raise ConfigError(
            f"[[pair]] testrail_project = {wanted!r}: TestRail has no project of that name",
            hint=f"projects the API user can see: {names or 'none'}",
        )
    return next(p for p in projects if p["name"] == found)


@dataclass
class KindCount:
    """Per entity kind: records on TestRail, records found on TestFiesta after the run, how
    many this run created, and the HTTP requests spent on the kind (both servers)."""

    testrail: int = 0
    testfiesta: int = 0
    created: int = 0
    requests: int = 0
    duplicates: int = 0


@dataclass
class MigrationReport:
    """What one project's migration did. ``kinds`` is ordered as migrated."""

    testrail_project: str
    testfiesta_project: str
    dry_run: bool = False
    kinds: dict[str, KindCount] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    requests: dict[str, int] = field(default_factory=dict)
    not_migrated: tuple[str, ...] = NOT_MIGRATED
    #: a dry run: what in its plan needs a person before it is applied (one line each)
    attention: list[str] = field(default_factory=list)
    #: what it only points out (people ``[users]`` does not name: a dry run and a migration)
    notes: list[str] = field(default_factory=list)
    #: per record kind, the read-back's parity (:mod:`core.engine.parity`); empty for a dry run
    parity: dict[str, KindParity] = field(default_factory=dict)
    #: what is still backfilling (``{"results": operations left}``, :data:`core.kinds.BACKFILL`)
    #: when the run stopped or failed part-way through it: a resume continues there
    backfilling: dict[str, int] = field(default_factory=dict)
    #: every write that failed, ``{"operation": Operation.as_dict(), "reason": text}``, in
    #: order (:attr:`warnings` groups them, :func:`core.report.failure_lines`)
    failed: list[dict[str, Any]] = field(default_factory=list)
    #: an export file's cells that could not be read (CSV dates: ``{"file", "row", "case",
    #: "column", "value"}``, :attr:`core.testrail.exports.ExportData.unread_dates`); its
    #: :attr:`notes` say so, grouped
    unread: list[dict[str, Any]] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Everything on TestRail is on TestFiesta, each copy equal to its original (never
        true for a dry run that would write)."""
        return (
            not self.backfilling
            and all(k.testrail == k.testfiesta and not k.duplicates for k in self.kinds.values())
            and all(p.exact for p in self.parity.values())
        )

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view for ``--json``."""
        return {
            "testrail_project": self.testrail_project,
            "testfiesta_project": self.testfiesta_project,
            "dry_run": self.dry_run,
            "complete": self.complete,
            "kinds": {name: vars(count) for name, count in self.kinds.items()},
            "requests": self.requests,
            "warnings": self.warnings,
            "failed": list(self.failed),
            "unread": list(self.unread),
            "parity": {kind: count.as_dict() for kind, count in self.parity.items()},
            "backfilling": dict(self.backfilling),
            "attention": self.attention,
            "notes": self.notes,
            "not_migrated": list(self.not_migrated),
        }


class ProjectMigration:
    """Migrates one ``[[pair]]``; create one per run and call :meth:`run`.

    ``dry_run`` reads both sides and counts what would be created, writing nothing;
    ``create_project`` off makes a missing TestFiesta project a :class:`ConfigError` (sync
    uses :meth:`prepare` and :meth:`sides` that way).
    """

    def __init__(
        self,
        testrail: TestRailClient,
        testfiesta: TestFiestaClient,
        store: StateStore,
        rules: MappingRules,
        *,
        on_event: EventSink = ignore,
        dry_run: bool = False,
        reserved_keys: set[str] | None = None,
        create_project: bool = True,
        verb: str = "migrating",
    ) -> None:
        self.tr = testrail
        self.tf = testfiesta
        self.store = store
        self.rules = rules
        self.emit = on_event
        self.dry_run = dry_run
        self.create_project = create_project
        #: what the activity line says the run is doing ("migrating", "syncing")
        self.verb = verb
        #: project keys already chosen in this run (a dry run creates none, so it must
        #: remember them to predict the keys of later pairs)
        self.reserved_keys = reserved_keys if reserved_keys is not None else set()
        # resolved during run()
        self.project_key = ""
        self.project_uid = 0
        self.root_uid = 0
        #: ``get_sections`` of each suite (by suite id), read by :meth:`prepare` and handed to
        #: the TestRail side's first observation
        self.sections: dict[int, list[dict[str, Any]]] = {}
        self.created_project = False
        self.identity = instance_identity(testrail.base_url)
        self.field_names: dict[str, str] = {}
        self.template_uids: dict[str, str] = {}
        self.tag_uids: dict[str, int] = {}
        self.priority_uids: dict[str, int] = {}
        self.folder_uids: dict[str, int] = {}
        self._warned: set[str] = set()
        self._last_progress = 0.0
        #: per stage of the run under way: (done, total) of its earlier passes summed, and
        #: (done, total) of the pass under way (:meth:`_progress`)
        self._passes: dict[str, tuple[int, int, int, int | None]] = {}
        self.report: MigrationReport | None = None
        #: the :data:`MIGRATING` key of the migration under way ("" when none)
        self._migrating = ""
        #: this state store had never run the pair before this migration
        self._new_to_store = True

    @property
    def _project_had_data(self) -> bool:
        """Whether the TestFiesta project existed before this run (else listing it is moot)."""
        return bool(self.project_uid) and not self.created_project

    def _ext(self, kind: str, record_id: int | str) -> str:
        return external_id(self.identity, kind, record_id)

    def _progress(self, stage_name: str, done: int, total: int | None) -> None:
        """Emit :class:`Progress` for ``stage_name``, at most every :data:`PROGRESS_INTERVAL`
        seconds while it runs, and always at its start (0) and its end (``done == total``).

        ``done`` and ``total`` are the pass's under way; the event carries the stage's
        running totals of the run (:meth:`begin_reading` starts one): a migration writes
        some kinds in several passes and reads in several, and its progress is the whole
        kind's (a pass that began after the one before it finished adds to its count)."""
        before_done, before_total, last_done, last_total = self._passes.get(
            stage_name, (0, 0, 0, None)
        )
        if stage_name in self._passes and last_total is not None and last_done >= last_total:
            before_done, before_total = before_done + last_done, before_total + last_total
        self._passes[stage_name] = (before_done, before_total, done, total)
        now = time.monotonic()
        edge = done == 0 or (total is not None and done >= total)
        if not edge and now - self._last_progress < PROGRESS_INTERVAL:
            return
        self._last_progress = now
        assert self.report is not None
        self.emit(
            Progress(
                self.report.testrail_project,
                stage_name,
                before_done + done,
                None if total is None else before_total + total,
            )
        )

    def begin_reading(self) -> None:
        """A run (the migration, or a sync cycle of the pair) starts reading both sides: the
        stages' running totals start over and stage ``reading`` starts now (its only other
        event comes when both sides are read, so its duration counts from here)."""
        self._passes = {}
        self._progress("reading", 0, None)

    def _warn(self, message: str) -> None:
        if message in self._warned:
            return
        self._warned.add(message)
        assert self.report is not None
        self.report.warnings.append(message)
        self.emit(Activity("warning", message))

    async def run(
        self, testrail_project: str | int, testfiesta_project: str = ""
    ) -> MigrationReport:
        """Migrate the TestRail project (name or id) into the TestFiesta project key (created
        if missing; generated from the name when empty). Returns the report; raises
        :class:`core.errors.ConfigError` for an unknown TestRail project and the HTTP layer's
        errors for failed requests (everything written so far stays linked)."""
        tr_before = dict(self.tr.session.stats.by_stage)
        tf_before = dict(self.tf.session.stats.by_stage)
        tr_total, tf_total = self.tr.session.stats.total, self.tf.session.stats.total
        project, suites, catalog = await self.prepare(testrail_project, testfiesta_project)
        report = self.report
        assert report is not None
        name = report.testrail_project
        await self._records(project, suites, catalog)
        for kind in report.kinds:
            report.kinds[kind].requests = (
                self.tr.session.stats.by_stage[kind]
                - tr_before.get(kind, 0)
                + self.tf.session.stats.by_stage[kind]
                - tf_before.get(kind, 0)
            )
        report.requests = {
            "testrail": self.tr.session.stats.total - tr_total,
            "testfiesta": self.tf.session.stats.total - tf_total,
        }
        # a dry run writes nothing, so its counts differ by what it would create: no warning
        level = "info" if report.complete or report.dry_run else "warning"
        self.emit(
            Activity(
                level,
                f"{name}: "
                + ", ".join(f"{k} {c.testrail}->{c.testfiesta}" for k, c in report.kinds.items()),
            )
        )
        return report

    async def prepare(
        self, testrail_project: str | int, testfiesta_project: str = ""
    ) -> tuple[dict[str, Any], list[dict[str, Any]], TestRailCatalog]:
        """Everything before the records: the TestRail project, its metadata and suites; the
        TestFiesta project (found, or created unless this is a dry run or ``create_project``
        is off), its priorities, custom fields and templates (lookup-or-create). Returns the
        project row, the suites and the catalog; :attr:`report` holds their counts."""
        self._passes = {}
        with stage("project"):
            project = await find_testrail_project(self.tr, testrail_project)
            name = str(project["name"])
            self.report = report = MigrationReport(name, "", dry_run=self.dry_run)
            self.emit(Activity("info", f"{self.verb} TestRail project {name!r}"))
            self._progress("project", 0, 1)
            pid = int(project["id"])
            catalog = TestRailCatalog.build(
                pid,
                await self.tr.get_case_fields(),
                await self.tr.get_case_types(),
                await self.tr.get_priorities(),
                await self.tr.get_templates(pid),
            )
            suites = await self.tr.get_suites(pid)
        with stage("folders"):
            # read (and checked) before anything is written: a section tree with an orphan or
            # a cycle stops here, not after the project, fields and templates were created
            self.sections = {
                int(suite["id"]): await self.tr.get_sections(pid, int(suite["id"]))
                for suite in suites
            }
            for suite in suites:
                check_section_tree(suite, self.sections[int(suite["id"])])
        with stage("project"):
            await self._testfiesta_project(project, testfiesta_project)
            report.testfiesta_project = self.project_key
            report.kinds["project"] = KindCount(
                testrail=1,
                testfiesta=1 if self.project_uid else 0,
                created=1 if self.created_project else 0,
            )
            for row in await self.tf.shim.get_priorities():
                self.priority_uids[str(row["name"])] = int(row["id"])
        self._progress("project", 1, 1)
        with stage("fields"):
            tf_fields = await self._fields(catalog)
            self._progress("fields", len(tf_fields), len(tf_fields))
        with stage("templates"):
            await self._templates(catalog, tf_fields)
            self._progress("templates", len(catalog.templates), len(catalog.templates))
        return project, suites, catalog

    # ------------------------------------------------------------------ projects

    async def _testfiesta_project(self, project: Mapping[str, Any], wanted_key: str) -> None:
        """Find or create the TestFiesta project (see :func:`match_testfiesta_project`) and
        settle :attr:`identity`, warning when TestFiesta knows this TestRail under another
        spelling of its URL (its records keep that spelling, so nothing is copied twice)."""
        current = instance_identity(self.tr.base_url)
        match = match_testfiesta_project(
            await self.tf.list_projects(),
            project,
            wanted_key=wanted_key,
            current_identity=current,
            remembered_identity=self.store.get(IDENTITY_KEY),
            reserved_keys=self.reserved_keys,
        )
        self.identity = match.identity
        self.project_key = match.key
        if match.respelled:
            self._warn(
                f"TestRail is configured as {current!r} but its records were migrated as "
                f"{match.identity!r}; they keep that identity, so nothing is copied twice"
            )
        if match.project is not None:
            self.project_uid = int(match.project["uid"])
        elif not self.create_project:
            raise ConfigError(
                f"TestFiesta has no project for TestRail project {project['name']!r} "
                f"(looked for key {match.key!r})",
                hint="run `railfiesta migrate` first: sync keeps a migrated pair in step",
            )
        elif self.dry_run:
            self.emit(Activity("info", f"would create TestFiesta project {match.key}"))
            self.created_project = True
        else:
            created = await self.tf.create_project(
                str(project["name"]),
                match.key,
                external_id=self._ext("project", project["id"]),
                source=SOURCE,
            )
            self.project_uid = int(created["uid"])
            self.created_project = True
            self.store.link(tr_key("project", project["id"]), tf_key("project", created["uid"]))
            self.emit(Activity("info", f"created TestFiesta project {match.key}"))
        if self.project_uid:
            root = root_folder(await self.tf.list_folders(self.project_key))
            self.root_uid = int(root["uid"]) if root else 0
        self.reserved_keys.add(self.project_key)
        if not self.dry_run:
            self.store.set(IDENTITY_KEY, self.identity)

    # ------------------------------------------------------------------ metadata

    async def _fields(self, catalog: TestRailCatalog) -> dict[str, dict[str, Any]]:
        """Ensure a TestFiesta custom field per TestRail case field of the project (steps
        excepted: they are the case's own steps), plus refs and estimate. Returns the
        TestFiesta fields by name."""
        assert self.report is not None
        count = self.report.kinds.setdefault("fields", KindCount())
        key = self.project_key
        # listed even in a project created just now: TestFiesta may give new projects defaults
        tf_fields = await self.tf.list_custom_fields(key) if self.project_uid else []
        by_name = {str(f["name"]): f for f in tf_fields}
        used_names: dict[str, str] = {}
        wanted: list[tuple[str, str, str, list[str]]] = []  # canonical, tf name, type, options
        for case_field in catalog.fields.values():
            if case_field.kind in ("steps", "step_results", "bdd_results"):
                continue
            name = self.rules.field_name(case_field.system_name, case_field.label)
            if name in used_names and used_names[name] != case_field.system_name:
                name = f"{name} ({case_field.system_name})"
            used_names[name] = case_field.system_name
            field_type = TESTFIESTA_FIELD_TYPE.get(case_field.kind, "text")
            options = list(case_field.items.values())
            wanted.append((case_field.system_name, name, field_type, options))
        for system in (REFS_FIELD, ESTIMATE_FIELD):
            wanted.append((system, self.rules.field_name(system, system), "text", []))
        count.testrail = len(wanted)
        for canonical, name, field_type, options in wanted:
            if name not in by_name and not self.dry_run:
                by_name[name] = await self.tf.create_custom_field(
                    key, name=name, field_type=field_type, options=options or None
                )
                count.created += 1
            elif name not in by_name:
                count.created += 1
            if name in by_name:
                self.field_names[canonical] = custom_field_key(by_name[name])
                count.testfiesta += 1
            else:
                self.field_names[canonical] = name
        return by_name

    async def _templates(
        self, catalog: TestRailCatalog, tf_fields: Mapping[str, Mapping[str, Any]]
    ) -> None:
        """Ensure a TestFiesta template per TestRail template of the project, with the fields
        that template shows."""
        assert self.report is not None
        count = self.report.kinds.setdefault("templates", KindCount())
        count.testrail = len(catalog.templates)
        templates = await self.tf.list_templates(self.project_key) if self.project_uid else []
        tf_templates = {str(t["name"]): str(t["uid"]) for t in templates}
        for template_id, template_name in catalog.templates.items():
            if template_name in tf_templates:
                self.template_uids[template_name] = tf_templates[template_name]
                count.testfiesta += 1
                continue
            count.created += 1
            if self.dry_run:
                continue
            fields = []
            for case_field in catalog.fields_for(template_id):
                if case_field.kind in ("step_results", "bdd_results"):
                    continue
                if case_field.kind == "steps":
                    fields.append(
                        {"id": case_field.system_name, "name": "Steps", "dataType": "step"}
                    )
                    continue
                tf_name = self.field_names.get(case_field.system_name, case_field.label)
                tf_field = tf_fields.get(tf_name)
                data_type = TEMPLATE_DATA_TYPE.get(
                    TESTFIESTA_FIELD_TYPE.get(case_field.kind, "text"), "text"
                )
                fields.append(
                    {
                        "id": str(tf_field["uid"]) if tf_field else case_field.system_name,
                        "name": tf_name,
                        "dataType": data_type,
                    }
                )
            created = await self.tf.create_template(
                self.project_key, name=template_name, fields=fields
            )
            self.template_uids[template_name] = str(created["uid"])
            count.testfiesta += 1

    # ------------------------------------------------------------------ folders and cases

    def sides(
        self, project: Mapping[str, Any], suites: list[dict[str, Any]], catalog: TestRailCatalog
    ) -> tuple[TestRailSide, TestFiestaSide]:
        """The two :mod:`core.engine` sides of this pair, over what :meth:`prepare` found."""
        testrail = TestRailSide(
            self.tr, TestRailContext(project, suites, catalog), sections=self.sections
        )
        self.sections = {}  # read once: the next cycle lists them again
        context = TestFiestaContext(
            project_key=self.project_key,
            project_uid=self.project_uid,
            root_uid=self.root_uid,
            identity=self.identity,
            rules=self.rules,
            field_names=self.field_names,
            template_uids=self.template_uids,
            priority_uids=self.priority_uids,
            tag_uids=self.tag_uids,
            testrail_names={
                "priority": list(catalog.priorities.values()),
                "type": list(catalog.types.values()),
                "template": list(catalog.templates.values()),
            },
            fresh=not self._project_had_data,
            copy_urls=StoredFamily(self.store, f"{ATTACHMENT_URLS}{project['id']}"),
            result_fields=catalog.result_fields,
        )
        testfiesta = TestFiestaSide(self.tf, context, warn=self._warn)
        testrail.warn = self._warn
        # attachments: TestRail's bytes go straight to TestFiesta; a file already copied
        # keeps the sha256 its base holds (not downloaded again); a dry run downloads none
        testfiesta.blobs = testrail.attachment_bytes
        testrail.known = lambda key: (self.store.base(key) or {}).get("values")
        testrail.download = not self.dry_run
        return testrail, testfiesta

    async def _records(
        self, project: Mapping[str, Any], suites: list[dict[str, Any]], catalog: TestRailCatalog
    ) -> None:
        """Folders and cases: the sync engine's first pass (one-way, create only), which links
        what TestFiesta already holds (by ``externalId``) and seeds every base; then the
        read-back tally."""
        assert self.report is not None
        testrail, testfiesta = self.sides(project, suites, catalog)
        anchor = testrail.ctx.anchor
        if self.root_uid and not self.dry_run:
            self.store.link(anchor, tf_key("folder", self.root_uid))
        # a store that never ran this pair (a new or lost --state) over a project that
        # holds data: what is there is an earlier migration's, relinked (RELINK)
        self._new_to_store = f"{project['id']}" not in self.store.pairs()
        if not self.dry_run:
            self.store.note_pairs([f"{project['id']}"])
        engine = Engine(
            self.store,
            testrail,
            testfiesta,
            pair=f"{project['id']}",
            batch_sizes=BATCH_SIZES,
        )
        settings = Settings(mode=MIGRATE)
        # a project that holds data while this store never ran it: an earlier
        # migration's copies are read and linked, results and all (TestFiestaContext.relink)
        relink_key = f"{RELINK}{engine.pair}"
        testfiesta.ctx.relink = self._project_had_data and (
            self.store.get(relink_key) is not None
            or (engine.cursor(TESTFIESTA) is None and self._new_to_store)
        )
        files_key = f"{UNMATCHED_FILES}{engine.pair}"
        skip_files = testfiesta.ctx.relink or self.store.get(files_key) is not None
        if not self.dry_run:
            if testfiesta.ctx.relink:
                self.store.set(relink_key, time.time())
            self._migrating = f"{MIGRATING}{engine.pair}"
            self.store.set(
                self._migrating,
                {
                    "project": self.report.testrail_project,
                    "testfiesta": self.project_key,
                    "started": time.time(),
                    "stage": "core",
                    "planned": {},
                    "finished": [],
                },
            )
        self.begin_reading()
        # TestRail's records parity compares by their digests (core.engine.parity.Digest):
        # the first pass hands over its cases part by part (MIGRATION_CHUNK) as they land,
        # and lets go of their values; the other digested kinds are added before the read-back
        tr_digests: dict[str, Record | Digest] = {}
        case_types: set[str] = set()

        def release(records: Sequence[Record]) -> None:
            for record in records:
                if record.kind == "case" and record.values.get("type"):
                    case_types.add(str(record.values["type"]))
                tr_digests[record.key] = digest(record)
                testrail.last_observed.pop(record.key, None)

        # the history is read by the first (full) pass of a migration only: an audit trail,
        # kept read-only on TestFiesta, so sync cycles never ask for it
        testrail.read_history = True
        if self.dry_run:
            cycle_plan = await engine.make_plan(settings, full=True)
            testrail.read_history = False
            self._note_recreated(cycle_plan)
        else:
            # the usable core first (folders, cases, runs, latest statuses): the backfill
            # kinds (result history, files) wait until every pass has applied the rest
            # the raw history is archived as it is read, a transaction per ARCHIVE_BATCH
            # cases, not held in memory through the pass
            read_history: list[tuple[int, list[dict[str, Any]]]] = []

            def archive(case_id: int, entries: list[dict[str, Any]]) -> None:
                read_history.append((case_id, entries))
                if len(read_history) >= ARCHIVE_BATCH:
                    self._archive_history(project, dict(read_history))
                    read_history.clear()

            testrail.on_history = archive
            try:
                cycle = await engine.run(
                    settings,
                    full=True,
                    on_progress=self.apply_progress,
                    hold=BACKFILL,
                    chunk=MIGRATION_CHUNK,
                    on_chunk=release,
                )
            finally:
                testrail.on_history = None
            testrail.read_history = False
            self._archive_history(project, dict(read_history))
            read_history.clear()
            self.store.set(f"meta:full:{engine.pair}", time.time())  # a full read: see sync
            tr_records = testrail.last_observed
            testfiesta.ctx.fresh = False  # it holds what the first pass wrote
            self._note_recreated(cycle.plan)
            done = Counter(cycle.applied.done if cycle.applied else {})
            held = list(cycle.held)
            failed = list(cycle.applied.failed if cycle.applied else [])
            # a run copied to TestFiesta gets its executions there; the next pass pairs them
            # with TestRail's tests and copies the results onto them. A run linked to the copy
            # an interrupted migration left (a create whose answer was lost) needs that pass too.
            # Those passes read only what the first one can have changed (FOLLOW_UP): the
            # migration writes TestFiesta alone, and of it only the executions appear by
            # themselves; every other record is as the first pass read and wrote it
            for _ in range(3):
                if not any(
                    op.kind == "run" and op.action in (CREATE, LINK) for op in cycle.plan.operations
                ):
                    break
                cycle = await engine.run(
                    settings, on_progress=self.apply_progress, hold=BACKFILL, scope=FOLLOW_UP
                )
                done.update(cycle.applied.done if cycle.applied else {})
                held.extend(cycle.held)
                failed.extend(cycle.applied.failed if cycle.applied else [])
            cycle_plan = cycle.plan
            waiting = sorted({op.kind for op in held if op.writes}, key=BACKFILL.index)
            self.emit(
                CoreLanded(
                    self.report.testrail_project, tuple(KIND_LABELS.get(k, k) for k in waiting)
                )
            )
            if waiting:
                self.emit(
                    Activity(
                        "info",
                        f"{self.report.testrail_project}: folders, cases, runs and their "
                        "latest statuses are on TestFiesta; backfilling "
                        + ", ".join(KIND_LABELS.get(k, k) for k in waiting),
                    )
                )
            unmatched = 0
            if skip_files:
                kept = self._unmatchable_files(held)
                unmatched, held = len(held) - len(kept), kept
                if unmatched:
                    self.store.set(files_key, unmatched)
                else:
                    self.store.delete(files_key)
            if self._migrating:
                self._mark(stage="backfill")
            backfilled = await engine.backfill(held, on_progress=self.apply_progress)
            done.update(backfilled.done)
            # a pass's failed create whose record a later pass copied is no failure
            failed = [
                (op, reason)
                for op, reason in failed
                if not (op.action == CREATE and op.source and self.store.linked(op.source))
            ]
            failed.extend(backfilled.failed)
            self.report.backfilling = {
                KIND_LABELS.get(k, k): n for k, n in engine.backfill_pending().items()
            }
            # one line per kind of failure (761 refused results are one line); --json
            # and the report keep every one (MigrationReport.failed)
            for line in failure_lines(failed):
                self._warn(line)
            self.report.failed = [
                {"operation": op.as_dict(), "reason": str(reason)} for op, reason in failed
            ]
            stopped = engine.applier.stop_requested
            if not self.report.backfilling and not failed and not stopped:
                self.store.delete(relink_key)
            if not stopped:
                self.store.delete(self._migrating)  # it ran to its end (a kill leaves it)
            self._migrating = ""
            creates = Counter(
                {k.rsplit(" ", 1)[1]: n for k, n in done.items() if k.startswith("create ")}
            )
            # the plans are applied: their operations (a first pass plans one create per
            # record, values and all) are not held through the read-back, which holds every
            # TestFiesta record; only the last cycle's conflicts and, when nothing was
            # written, its observation stay
            last_inputs = None if sum(done.values()) else cycle.inputs
            cycle_plan = Plan(conflicts=list(cycle_plan.conflicts))
            del cycle, held
        linked_now: set[str] = set()  # a dry run: what its plan links or finds by name
        if self.dry_run:
            tr_records = testrail.last_observed
            linked_now = {
                op.link[0] for op in cycle_plan.operations if op.action == LINK and op.link
            }
            partners = {
                op.link[0]: op.link[1]
                for op in cycle_plan.operations
                if op.action == LINK and op.link
            }
            creates = Counter()
            unsent: list[Operation] = []
            for op in cycle_plan.writes:
                if op.action != CREATE:
                    continue
                group = tr_records.get(str(op.values.get("group") or ""))
                group_name = str(group.values.get("name")) if group is not None else None
                owner = attachment_owner(op.values) if op.kind == "attachment" else None
                if skip_files and owner and not owner.startswith("tr:case:"):
                    unsent.append(op)  # not sent by the migration: see _unmatchable_files
                    continue
                case = partners.get(owner or "") or (self.store.linked(owner) if owner else None)
                with stage(KIND_LABELS.get(op.kind, op.kind)):
                    found = op.source and await testfiesta.existing_copy(
                        op.kind, op.values, origin=op.source, group_name=group_name, case=case
                    )
                if found:
                    linked_now.add(str(op.source))
                else:
                    creates[op.kind] += 1
            if unsent:
                self._unmatchable_files(unsent)
        on_testrail_of = Counter(r.kind for r in tr_records.values())
        on_testrail_of.update(r.kind for r in tr_digests.values())
        for kind, label in KIND_LABELS.items():
            on_testrail = on_testrail_of[kind]
            if kind not in ("folder", "case") and not on_testrail and not creates[kind]:
                continue  # a project without runs: the report stays about what it has
            count = self.report.kinds.setdefault(label, KindCount())
            count.testrail = on_testrail
            count.created = creates[kind] - testfiesta.found_existing[kind]
            if kind not in ("folder", "case"):
                count.testfiesta = sum(
                    1
                    for r in (*tr_records.values(), *tr_digests.values())
                    if r.kind == kind and (r.key in linked_now or self.store.linked(r.key))
                )
        present = set(on_testrail_of) | {"folder", "case"}
        types = case_types | {
            str(r.values["type"]) for r in tr_records.values() if r.values.get("type")
        }
        if self.dry_run and types and not self.tag_uids:
            # tags are organization-wide: they may exist though the project does not yet, and
            # a real run lists them (GET /tags) before creating any, so the dry run does too
            with stage("tags"):
                for tag in await self.tf.list_tags():
                    self.tag_uids.setdefault(str(tag["name"]), int(tag["uid"]))
        tags = self.report.kinds.setdefault("tags", KindCount())
        tags.testrail = len({self.rules.type_tag(t) for t in types})
        tags.created = (
            testfiesta.created_tags
            if not self.dry_run
            else sum(1 for t in types if match_name(self.rules.type_tag(t), self.tag_uids) is None)
        )
        tags.testfiesta = tags.testrail - (tags.created if self.dry_run else 0)
        for conflict in cycle_plan.conflicts:
            self._warn(
                f"{conflict.testfiesta} differs from {conflict.testrail} in {conflict.field}: "
                "kept as a conflict for `railfiesta conflicts`"
            )
        expected = {
            kind: {
                external_id(self.identity, key_kind, key_id(r.key))
                for r in (*tr_records.values(), *tr_digests.values())
                if r.kind == kind
                for key_kind in [r.key.split(":")[1]]
            }
            for kind in ("folder", "case")
        }
        if self.dry_run:
            self._tally("folders", expected["folder"], testfiesta.listed["folder"])
            self._tally("cases", expected["case"], testfiesta.listed["case"])
            await self._attention(tr_records, testfiesta)
            return
        # the read-back: one full read of TestFiesta after the writes (when nothing was
        # written, the cycle's own read is the read-back). Of the cases and their history,
        # the most numerous records, parity keeps only digests (core.engine.parity.Digest):
        # TestRail's are made before the read, TestFiesta's as it is read, so the values of
        # both sides are never held at once
        tf_digests: dict[str, Record | Digest] = {}
        if last_inputs is None:
            for key, record in tr_records.items():
                if record.kind in DIGESTED:
                    tr_digests[key] = digest(record)
            tr_records = {k: r for k, r in tr_records.items() if k not in tr_digests}
            testrail.last_observed = {}

            def set_aside(record: Record) -> bool:
                if record.kind not in DIGESTED:
                    return False
                tf_digests[record.key] = digest(record, self.store.linked)
                return True

            testfiesta.set_aside = set_aside
            try:
                with stage("parity"):
                    observation = await testfiesta.observe(None, full=True)
            finally:
                testfiesta.set_aside = None
            tf_records, observed = observation.records, observation.complete
        else:
            tf_records = last_inputs.testfiesta.records
            observed = last_inputs.testfiesta.complete
        self._tally("folders", expected["folder"], testfiesta.listed["folder"])
        self._tally("cases", expected["case"], testfiesta.listed["case"])
        self.report.parity = parity(
            {**tr_records, **tr_digests},
            {**tf_records, **tf_digests},
            self.store.linked,
            observed=observed,
            kinds=[k for k in PARITY_KINDS if k in present],
            skip={anchor, *(k for k in tr_records if k.startswith("tr:suite:"))},
        )
        for kind, note in PARITY_NOTES.items():
            if kind in self.report.parity:
                self.report.parity[kind].notes.append(note)
        if "attachment" in self.report.parity:
            self.report.parity["attachment"].notes.append(attachment_owners_note(tr_records))
        self._note_people(tr_records)
        for check in self.report.parity.values():
            if check.differing:
                self._warn(
                    f"{counted(len(check.differing), kind_label(check.kind))} "
                    f"{'differs' if len(check.differing) == 1 else 'differ'} on TestFiesta "
                    "from TestRail: "
                    + ", ".join(check.differing[:5])
                    + (" ..." if len(check.differing) > 5 else "")
                )

    def _archive_history(
        self, project: Mapping[str, Any], entries: Mapping[int, list[dict[str, Any]]]
    ) -> None:
        """Keep the raw case history a migration read in the state store's local archive
        (:data:`HISTORY_ARCHIVE` ``<project id>``, item ``<case id>``), in one transaction;
        entries already archived unchanged are not written again."""
        family = f"{HISTORY_ARCHIVE}{project['id']}"
        changed = [
            (str(case_id), rows)
            for case_id, rows in entries.items()
            if self.store.get_in(family, str(case_id)) != rows
        ]
        self.store.put_many_in(family, changed)

    async def _attention(
        self, tr_records: Mapping[str, Record], testfiesta: TestFiestaSide
    ) -> None:
        """What a dry run's plan needs a person for (:attr:`MigrationReport.attention`):
        TestRail statuses and priorities nothing maps, cases too large to send; and what
        it only notes (people :attr:`MigrationReport.notes`): authors and assignees kept as
        text because ``[users]`` does not name them."""
        assert self.report is not None
        statuses = {
            str(r.values["status"])
            for r in tr_records.values()
            if r.kind in ("test", "result") and r.values.get("status")
        }
        unmapped_statuses = await testfiesta.unmapped_statuses(statuses)
        have = ", ".join(sorted(set(testfiesta.status_names.values())))
        for name in unmapped_statuses:
            if name in self.rules.status:  # mapped, to a name TestFiesta does not have
                self.report.attention.append(
                    f"TestRail status {name!r} is mapped to {self.rules.status[name]!r}, which "
                    "TestFiesta does not have: results with it are not copied; change its "
                    f"[mapping.status] line to one of TestFiesta's statuses: {have}"
                )
                continue
            self.report.attention.append(
                f"TestRail status {name!r} has no TestFiesta status: results with it are not "
                f'copied; add "{name}" = "<TestFiesta status>" under [mapping.status]'
            )
        priorities = {
            str(r.values["priority"])
            for r in tr_records.values()
            if r.kind == "case" and r.values.get("priority")
        }
        have = ", ".join(sorted(testfiesta.ctx.priority_uids))
        for name in testfiesta.unmapped_priorities(priorities):
            if name in self.rules.priority:  # mapped, to a name TestFiesta does not have
                self.report.attention.append(
                    f"TestRail priority {name!r} is mapped to {self.rules.priority[name]!r}, "
                    "which TestFiesta does not have: its cases arrive without one; change its "
                    f"[mapping.priority] line to one of TestFiesta's priorities: {have}"
                )
                continue
            self.report.attention.append(
                f"TestRail priority {name!r} has no TestFiesta priority: its cases arrive "
                f'without one; add "{name}" = "<TestFiesta priority>" under [mapping.priority]'
            )
        for record in tr_records.values():
            if record.kind != "case":
                continue
            size = len(json.dumps(dict(record.values), ensure_ascii=False).encode("utf-8"))
            if size > CASE_BATCH_BYTES:
                self.report.attention.append(
                    f"case {record.key} ({str(record.values.get('title'))[:60]!r}) holds "
                    f"{size:,} bytes, more than one request carries ({CASE_BATCH_BYTES:,}): "
                    "it may be refused (HTTP 413); shorten its text or attach it as a file"
                )
        for record in tr_records.values():
            limit_size = record.values.get("size") if record.kind == "attachment" else None
            if isinstance(limit_size, int) and limit_size > ATTACHMENT_LIMIT:
                self.report.attention.append(
                    f"attachment {record.key} ({str(record.values.get('name'))[:60]!r}) of "
                    f"{attachment_owner(record.values)} holds {limit_size:,} bytes, more than "
                    f"{ATTACHMENT_LIMIT:,} (TestRail's upload limit; TestFiesta documents "
                    "none): it may be refused; keep it in TestRail or shrink it"
                )
        self._note_people(tr_records)

    def _note_people(self, tr_records: Mapping[str, Record]) -> None:
        """Note (:attr:`MigrationReport.notes`) the TestRail authors and assignees of tests
        and results that ``[users]`` does not name: kept as text, never assigned. A dry run
        and a migration both say it."""
        assert self.report is not None
        people = {
            str(r.values[name])
            for r in tr_records.values()
            for name in ("assignee", "author")
            if r.kind in ("test", "result") and r.values.get(name)
        }
        known = {email.casefold() for email in self.rules.users}
        unmatched = sorted(p for p in people if p.casefold() not in known)
        if unmatched:
            self.report.notes.append(
                (
                    "1 TestRail person is not under [users] and is kept as text "
                    if len(unmatched) == 1
                    else f"{len(unmatched)} TestRail people are not under [users] and are kept "
                    "as text "
                )
                + f"(author lines, no assignee): {', '.join(unmatched[:10])}"
                + (" ..." if len(unmatched) > 10 else "")
            )

    def apply_progress(self, kind: str, done: int, total: int) -> None:
        """The engine's progress hook (:data:`core.engine.apply.ProgressHook`): emits
        :class:`Progress` for stage ``reading`` (both sides observed) or ``<kind>s``
        (``cases``: written so far of those planned), coalesced. A migration under way notes
        in the store when a kind's writes start (how many are planned) and when they have
        all landed (:data:`MIGRATING`), so ``railfiesta status`` can tell after a kill."""
        if self._migrating and kind != OBSERVED and (done == 0 or done >= total):
            marker = self.store.get(self._migrating) or {}
            planned = dict(marker.get("planned") or {})
            finished = list(marker.get("finished") or [])
            if done == 0:
                planned[kind] = planned.get(kind, 0) + total if kind in finished else total
                finished = [k for k in finished if k != kind]
            elif kind not in finished:
                finished.append(kind)
            self._mark(planned=planned, finished=finished)
        self._progress("reading" if kind == OBSERVED else stage_of(kind), done, total)

    def _note_recreated(self, the_plan: Plan) -> None:
        """Note (:attr:`MigrationReport.notes`) the copies deleted in TestFiesta that the
        plan copies again (reconcile's ``recreated`` notices), by kind."""
        assert self.report is not None
        by_kind: dict[str, list[str]] = {}
        for notice in the_plan.notices:
            if notice.what == "recreated":
                by_kind.setdefault(notice.kind, []).append(notice.key)
        verb = "would copy" if self.dry_run else "copies"
        for kind, keys in by_kind.items():
            label = KIND_LABELS.get(kind, kind)
            self.report.notes.append(
                f"{len(keys)} {label} deleted in TestFiesta since they were migrated: the "
                f"migration {verb} them again ({', '.join(sorted(keys)[:5])}"
                + (" ..." if len(keys) > 5 else "")
                + ")"
            )

    def _mark(self, **changes: Any) -> None:
        """Update the :data:`MIGRATING` marker of the migration under way."""
        marker = self.store.get(self._migrating)
        if isinstance(marker, dict):
            self.store.set(self._migrating, {**marker, **changes})

    def _unmatchable_files(self, held: list[Operation]) -> list[Operation]:
        """``held`` without the creates of files of runs, results and plans, which a
        migration relinking an earlier one's copies (:attr:`TestFiestaContext.relink`) must
        not send: TestFiesta's API lists no files but a case's (testfiesta-api.md §3.13,
        §7.9), so it cannot tell whether the earlier migration copied them, and sending them
        again could put each there twice. A warning names them and the fix."""
        kept, left = [], []
        for op in held:
            owner = attachment_owner(op.values) if op.kind == "attachment" else None
            if op.action == CREATE and owner and not owner.startswith("tr:case:"):
                left.append(op.source or op.pair or op.id)
            else:
                kept.append(op)
        if left:
            self._warn(
                f"{len(left)} files of runs, results or plans "
                + ("would not be" if self.dry_run else "were not")
                + " copied: this state store "
                "does not know what the earlier migration of this project copied, and "
                "TestFiesta's API lists no files of runs, executions or plans to check, so "
                "sending them could copy them twice ("
                + ", ".join(sorted(left)[:5])
                + (" ..." if len(left) > 5 else "")
                + "); to copy what is missing, run `railfiesta migrate` with the --state "
                "directory of the first migration (or `railfiesta state import` its export)"
            )
        return kept

    # ------------------------------------------------------------------ verification

    def _tally(self, kind: str, expected: set[str], listed: list[str]) -> None:
        """Count what TestFiesta holds of ``expected`` (externalIds) given the externalIds
        ``listed`` by a read of the project: found, duplicated, and records of ours that no
        TestRail record explains (from another TestRail address, or deleted in TestRail)."""
        assert self.report is not None
        count = self.report.kinds[kind]
        seen = Counter(listed)
        count.testfiesta = sum(1 for ext in expected if seen[ext])
        count.duplicates = sum(seen[ext] - 1 for ext in expected if seen[ext] > 1)
        strays = sum(n for ext, n in seen.items() if ext not in expected)
        if count.duplicates:
            self._warn(
                f"TestFiesta project {self.project_key} holds "
                f"{counted(count.duplicates, 'duplicate ' + kind)} (the same TestRail record "
                "twice)"
            )
        if strays:
            self._warn(
                f"TestFiesta project {self.project_key} holds {counted(strays, kind)} migrated "
                "from TestRail records this project no longer has (deleted, or another TestRail)"
            )


def migration_exit_code(reports: Sequence[MigrationReport]) -> int:
    """0 when every report is complete and has no warning, else 1 (something is pending).
    A dry run: 0 when its plan could be applied as it is, 1 when something in it needs
    attention (:attr:`MigrationReport.attention`) or raised a warning."""
    if all((not r.attention if r.dry_run else r.complete) and not r.warnings for r in reports):
        return CLEAN
    return PENDING
