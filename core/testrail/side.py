"""TestRail as a :class:`core.engine.sides.Side`: suites, sections and cases over API v2.

Reads at the cost the API allows (testrail-api.md §6): every cycle ``get_sections`` per suite
(sections have no ``updated_on``: a re-list, small and complete) and ``get_cases`` per suite
with ``updated_after`` = the newest ``updated_on`` seen minus :data:`OVERLAP` (1-second
timestamps, clocks that differ); a full observation reads every case, so deletions show
(they leave no tombstone, §9). Suite mode 3 re-reads ``get_suites`` too.

Milestones (``get_milestones``, sub-milestones flattened in), configuration groups and
configurations (``get_configs``) and plans (``get_plans``, then ``get_plan`` per open plan for
its entries) are re-listed every cycle (small, no time filter, §6); the runs of plan entries
are observed as runs (``get_runs`` leaves them out, §5.11).

Attachments (§5.15) of cases, runs, results and plans, and images shown inline, are observed
as kind ``attachment`` (see :meth:`TestRailSide._attachments`), each file downloaded once.

Case history (§5.5, kind ``case_history``) is read only while :attr:`TestRailSide.read_history`
is set, which a migration does for its first pass (never a sync cycle: the history is an audit
trail, kept read-only on TestFiesta), and only for the cases updated after they were created
(TestRail has none for the others): see :meth:`TestRailSide._history`.

Folders: in suite mode 1 and 2 the master suite is the anchor (linked to TestFiesta's root
folder) and sections hang under ``tr:suite:<id>``; a suite-mode-2 baseline is a folder; in
suite mode 3 every suite is a folder under the anchor ``tr:root:<project id>``.

A case created here for a TestFiesta case carries the marker ``testfiesta:case:<uid>`` in
``refs`` (DESIGN §4), so a lost answer or a lost state store finds it again; the marker is not
part of the synced ``refs`` value. Sections carry no marker: they are found again by name and
parent.
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from core.engine.sides import Observation
from core.errors import ApiError, MappingError, NotFound, RailfiestaError, UnexpectedResponse
from core.history import has_history, history_text
from core.http import each_in_flight, stage
from core.model import Record, case_values, key_id, step_values, tf_key, tr_key
from core.testfiesta.results import testrail_result_fields
from core.testrail.catalog import (
    TestRailCatalog,
    case_body,
    check_case_body,
    step_from_testrail,
    testrail_seconds,
    testrail_steps,
)
from core.testrail.client import TestRailClient
from core.text import inline_attachment_ids, map_text

#: Seconds subtracted from the cursor when polling (``updated_after`` inclusivity is not
#: documented, timestamps have 1-second resolution, clocks differ): §6 suggests 60-120 s.
OVERLAP = 120

#: Kinds re-listed completely every cycle (small lists without time filters, §6): a linked
#: key missing from them was deleted.
LISTED = frozenset({"milestone", "config_group", "config", "plan"})

#: Last line of a result railfiesta adds for a status set in TestFiesta; such results are
#: not copied back.
ECHO_MARK = "(status set in TestFiesta by railfiesta)"


def strip_marker(refs: str, kind: str = "case") -> tuple[str, str | None]:
    """``refs`` without the railfiesta marker, and the TestFiesta key the marker names:
    ``"RF-1, testfiesta:case:77"`` -> ``("RF-1", "tf:case:77")``."""
    match = re.search(rf"\s*,?\s*testfiesta:{kind}:(\d+)\s*", refs or "")
    if match is None:
        return refs or "", None
    rest = (refs[: match.start()] + ("," if match.start() and match.end() < len(refs) else "")
            + refs[match.end():])  # fmt: skip
    return rest.strip().strip(",").strip(), tf_key(kind, match.group(1))


def with_marker(refs: str | None, origin: str | None) -> str:
    """``refs`` with the marker of ``origin`` (a ``tf:case:`` or ``tf:run:`` key) appended."""
    if not origin or not origin.startswith(("tf:case:", "tf:run:")):
        return refs or ""
    marker = f"testfiesta:{origin.split(':')[1]}:{key_id(origin)}"
    return f"{refs}, {marker}" if refs else marker


def _all_text(values: Any) -> str:
    """Every string inside ``values`` (lists and dicts walked), one per line."""
    found: list[str] = []

    def keep(text: str) -> str:
        found.append(text)
        return text

    map_text(values, keep)
    return "\n".join(found)


def milestone_dates(row: Mapping[str, Any]) -> tuple[int | None, int | None]:
    """A TestRail milestone's ``(start, due)`` in UNIX seconds, as railfiesta carries them:
    TestFiesta requires both (CreateMilestoneDTO ``startDate``*, ``dueAt``*; §7.7) and TestRail
    often has neither. The documented default: the start is ``start_on``, else ``started_on``
    (when it was started), else the due date, else ``completed_on``; the due date is
    ``due_on``, else ``completed_on``, else the start. Both None only when TestRail holds no
    date at all (then TestFiesta gets the time of the copy; the migration says so)."""

    def seconds(name: str) -> int | None:
        value = row.get(name)
        return int(value) if value not in (None, "", 0) else None

    start = seconds("start_on") or seconds("started_on")
    due = seconds("due_on") or seconds("completed_on")
    return start or due, due or start


def _milestone_id(key: Any) -> int | None:
    """The TestRail milestone id of a ``tr:milestone:`` key (None for none)."""
    text = str(key or "")
    return int(key_id(text)) if text.startswith("tr:milestone:") else None


@dataclass
class TestRailContext:
    """The TestRail project of one pair: its ``project`` row (``id``, ``suite_mode``), its
    ``suites`` and the ``catalog`` of its fields, types, priorities and templates."""

    __test__ = False

    project: Mapping[str, Any]
    suites: list[dict[str, Any]]
    catalog: TestRailCatalog

    @property
    def project_id(self) -> int:
        """The project's id."""
        return int(self.project["id"])

    @property
    def suite_mode(self) -> int:
        """1 single suite, 2 single suite with baselines, 3 multiple suites."""
        return int(self.project.get("suite_mode") or 1)

    def suite_is_folder(self, suite: Mapping[str, Any]) -> bool:
        """Whether a suite is a folder of its own (mode 3, or a mode-2 baseline)."""
        return self.suite_mode == 3 or (self.suite_mode == 2 and bool(suite.get("is_baseline")))

    @property
    def anchor(self) -> str:
        """The key TestFiesta's root folder is linked to."""
        if self.suite_mode == 3:
            return tr_key("root", self.project_id)
        master = next((s for s in self.suites if not s.get("is_baseline")), self.suites[0])
        return tr_key("suite", master["id"])


def _number_or_text(ident: str) -> int | str:
    """A key's id as the API gives it: ``"12"`` -> 12; an export file's ``"S2-3"`` stays."""
    return int(ident) if ident.isdigit() else ident


def check_section_tree(suite: Mapping[str, Any], sections: Sequence[Mapping[str, Any]]) -> None:
    """Refuse a section tree that is not a tree (``get_sections`` rows of one suite, §5.3):
    a ``parent_id`` naming no section of the suite (an orphan), or parents that loop back (a
    cycle). Ids compare as text: an export file's sections have ids such as ``S2-3``
    (:func:`core.testrail.exports.namespace_of`). Raises :class:`UnexpectedResponse` naming
    the section, its parent and the fix, before anything is written: a folder tree cannot be
    built from it."""
    by_id = {str(s["id"]): s for s in sections}
    where = f"suite {suite.get('id')} ({suite.get('name')!r})"
    for section in sections:
        parent = section.get("parent_id")
        if parent and str(parent) not in by_id:
            raise UnexpectedResponse(
                f"TestRail section {section['id']} ({section.get('name')!r}) of {where} has "
                f"parent_id {parent}, which is not a section of that suite (an orphan)",
                hint="move the section under an existing one in TestRail (or ask its "
                "administrator to repair the section tree), then run again; nothing was written",
            )
    for section in sections:
        seen: list[str] = []
        current: Mapping[str, Any] | None = section
        while current is not None and current.get("parent_id"):
            ident = str(current["id"])
            if ident in seen:
                loop = " -> ".join(str(i) for i in [*seen[seen.index(ident) :], ident])
                raise UnexpectedResponse(
                    f"TestRail sections of {where} form a cycle of parents: {loop}",
                    hint="move one of these sections to the top level in TestRail (or ask its "
                    "administrator to repair the section tree), then run again; nothing was "
                    "written",
                )
            seen.append(ident)
            current = by_id.get(str(current["parent_id"]))


class TestRailSide:
    """The TestRail project of one pair as a Side (see the module docstring)."""

    __test__ = False
    name = "testrail"

    def __init__(
        self,
        client: TestRailClient,
        context: TestRailContext,
        *,
        sections: Mapping[int, list[dict[str, Any]]] | None = None,
    ) -> None:
        """``sections``: ``get_sections`` answers already read (by suite id), used by the
        first observation instead of reading them again."""
        self.client = client
        self.ctx = context
        self._prefetched: dict[int, list[dict[str, Any]]] = dict(sections or {})
        self.suite_of: dict[str, int] = {}
        self._origins: dict[str, str] = {}
        self._refs: dict[str, str] = {}
        self.sections_seen: dict[str, Record] = {}
        self.status_names: dict[int, str] = {}
        self.case_suite: dict[int, int] = {}
        self._tests_of: dict[int, list[dict[str, Any]]] = {}
        self.user_emails: dict[int, str] | None = None
        #: TestRail user id -> name (``get_users``), read with :attr:`user_emails`
        self.user_names: dict[int, str] = {}
        #: whether :meth:`observe` reads case history (a migration's first pass only)
        self.read_history = False
        #: case id -> the raw ``get_history_for_case`` entries the last observation read, for
        #: the cases that have any (the migration archives them in the state store)
        self.history_entries: dict[int, list[dict[str, Any]]] = {}
        #: when set, called with (case id, its raw entries) as each case's history is read,
        #: instead of keeping them in :attr:`history_entries` (the migration archives them
        #: as they come: a project's raw history is not held in memory)
        self.on_history: Callable[[int, list[dict[str, Any]]], None] | None = None
        #: ``get_history_for_case`` requests made (pages included)
        self.history_requests = 0
        #: gets one sentence per problem that does not stop the observation (case history
        #: this TestRail cannot give)
        self.warn: Callable[[str], None] = lambda _message: None
        #: whether :meth:`observe` downloads attachments it has no hash of (a dry run does
        #: not: it needs their count and sizes only)
        self.download = True
        #: the stored base values of a linked record by its key, or None (the state store's
        #: sha256 of an attachment already copied: it is not downloaded again)
        self.known: Callable[[str], Mapping[str, Any] | None] = lambda _key: None
        self._blobs: dict[str, tuple[bytes, str]] = {}
        self._blob_names: dict[str, str] = {}
        #: ``get_attachment`` requests made (each file is downloaded once)
        self.downloads = 0
        #: every record the last :meth:`observe` returned
        self.last_observed: dict[str, Record] = {}
        #: the runs inside plans the last observation read (``get_plan`` entries' runs)
        self.plan_runs: list[dict[str, Any]] = []
        #: ``get_plan`` answers of closed plans (read-only in TestRail: read once)
        self._closed_plans: dict[int, dict[str, Any]] = {}
        #: plan key -> the GUIDs of its entries, per observation (their files are the plan's)
        self._plan_entries: dict[str, list[str]] = {}
        #: result key -> (its test's id, the ids in its ``attachment_ids``), per observation
        self._result_files: dict[str, tuple[int, list[str]]] = {}
        #: ``get_attachments_for_test`` rows read so far, by attachment id (a result's files
        #: are listed once, though its result is read again until its test is paired)
        self._result_rows: dict[str, Mapping[str, Any]] = {}
        #: whether ``get_result_fields`` was read, and read during the current observation
        #: (see :meth:`_result_fields`)
        self._result_fields_read = False
        self._result_fields_fresh = False

    # ------------------------------------------------------------------ reading

    def _suite_parent(self, suite: Mapping[str, Any]) -> str | None:
        if self.ctx.suite_mode == 3:
            return self.ctx.anchor
        return self.ctx.anchor if suite.get("is_baseline") else None

    def case_record(self, row: Mapping[str, Any]) -> Record:
        """A ``get_cases`` row as a case record (marker stripped from ``refs``)."""
        section = tr_key("section", row.get("section_id") or 0)
        case = self.ctx.catalog.case_record(row, section)
        refs, origin = strip_marker(case.refs)
        case.refs = refs
        key = case.key
        if origin:
            self._origins[key] = origin
        self._refs[key] = refs
        return Record("case", key, case_values(case), origin, case.updated_on)

    async def _folders(self) -> dict[str, Record]:
        if self.ctx.suite_mode == 3:
            self.ctx.suites = await self.client.get_suites(self.ctx.project_id)
        records: dict[str, Record] = {}
        for suite in self.ctx.suites:
            suite_key = tr_key("suite", suite["id"])
            self.suite_of[suite_key] = int(suite["id"])
            if self.ctx.suite_is_folder(suite):
                records[suite_key] = Record(
                    "folder",
                    suite_key,
                    {
                        "name": str(suite.get("name") or ""),
                        "description": str(suite.get("description") or ""),
                        "parent": self._suite_parent(suite),
                    },
                )
            sections = self._prefetched.pop(int(suite["id"]), None)
            if sections is None:
                sections = await self.client.get_sections(self.ctx.project_id, int(suite["id"]))
            check_section_tree(suite, sections)
            for section in sections:
                key = tr_key("section", section["id"])
                parent = section.get("parent_id")
                self.suite_of[key] = int(suite["id"])
                records[key] = Record(
                    "folder",
                    key,
                    {
                        "name": str(section.get("name") or ""),
                        "description": str(section.get("description") or ""),
                        "parent": tr_key("section", parent) if parent else suite_key,
                    },
                )
        self.sections_seen = records
        return records

    async def observe(
        self,
        cursor: Mapping[str, Any] | None,
        *,
        full: bool,
        linked: Callable[[str], bool] = lambda _key: False,
        kinds: Collection[str] | None = None,
    ) -> Observation:
        """See :class:`core.engine.sides.Side`; the cursor is ``{"cases": UNIX seconds,
        "results": {run id: UNIX seconds}}``: the newest ``updated_on`` and, per open run, the
        newest result ``created_on`` seen.

        Scoped (``kinds``): an empty scope reads nothing (the cursor stays; what was read
        before, such as the tests :meth:`find` pairs with, stays known); any other scope is
        read as a whole observation (this side's listings come together)."""
        if kinds is not None and not kinds:
            return Observation({}, frozenset(), dict(cursor or {}))
        self._result_fields_fresh = False
        with stage("folders"):
            records = dict(await self._folders())
        # what changes after this answer has a later updated_on: the next poll starts here
        floor = int(self.client.session.server_time or 0)
        since = None if full or cursor is None else cursor.get("cases")
        newest = int(since or 0)
        times: dict[int, tuple[Any, Any]] = {}  # case id -> (created_on, updated_on)
        with stage("shared steps"):
            shared_since = await self._shared_steps(
                records, None if full or cursor is None else cursor.get("shared_steps")
            )
        with stage("cases"):
            for suite in self.ctx.suites:
                filters: dict[str, int | str | None] = {}
                if since is not None:
                    filters["updated_after"] = max(0, int(since) - OVERLAP)
                async for row in self.client.iter_cases(
                    self.ctx.project_id, int(suite["id"]), **filters
                ):
                    record = self.case_record(row)
                    self.case_suite[int(row["id"])] = int(suite["id"])
                    times[int(row["id"])] = (row.get("created_on"), row.get("updated_on"))
                    newest = max(newest, record.updated_on or 0)
                    records[record.key] = record
        with stage("milestones"):
            records.update(await self._milestones())
        with stage("configs"):
            records.update(await self._configs())
        with stage("plans"):
            records.update(await self._plans())
        with stage("runs"):
            results_cursor = await self._runs(
                records, dict((cursor or {}).get("results") or {}), full, linked
            )
        with stage("attachments"):
            await self._attachments(records, since is None, linked)
        if self.read_history:
            with stage("case history"):
                await self._history(records, times)
        self.last_observed = records
        complete = LISTED | (
            {"folder", "shared_step", "case", "run", "test"} if since is None else {"folder", "run"}
        )
        return Observation(
            records,
            complete,
            {
                "cases": max(newest, floor),
                "results": results_cursor,
                "shared_steps": max(shared_since, floor),
            },
        )

    # ------------------------------------------------------------------ case history

    async def _history(
        self, records: dict[str, Record], times: Mapping[int, tuple[Any, Any]]
    ) -> None:
        """Case history records (kind ``case_history``, ``tr:case_history:<case id>``) of the
        cases this observation read: ``get_history_for_case`` (§5.5, TestRail 6.5.4+, paged
        under ``history``; the documented outer array is unwrapped by the client) only for a
        case whose ``updated_on`` is later than its ``created_on`` (TestRail keeps no history
        of a case never updated: this saves one request per such case). Each record holds
        ``case`` and ``text`` (one line per change, users named through ``get_users``,
        :func:`core.history.history_text`); the raw entries go to :attr:`on_history` as each
        case's are read when it is set (they are not held), else they stay in
        :attr:`history_entries`. The first case is read alone, the others with
        :data:`core.http.IN_FLIGHT` requests open at once (:func:`core.http.each_in_flight`)
        under the session's pacer, so a round trip longer than one pacer slot does not leave
        the rate budget unused.

        A TestRail that cannot give history does not stop the migration: 403 (the API or the
        method refused: TestRail before 6.5.4, or no permission) and 404 (no such method) are
        said once through :attr:`warn` and no more history is asked for; a 400 for one case is
        said for that case and the others are read (records and warnings come in the cases'
        order)."""
        self.history_entries = {}
        wanted = [
            (key, record)
            for key, record in records.items()
            if record.kind == "case" and has_history(*times.get(int(key_id(key)), (0, 0)))
        ]
        if not wanted:
            return
        users = await self._user_names()
        catalog = self.ctx.catalog
        labels = {name: f.label for name, f in catalog.fields.items()}
        names: dict[str, Mapping[Any, str]] = {
            "priority_id": catalog.priorities,
            "type_id": catalog.types,
            "template_id": catalog.templates,
            "section_id": {  # an export file's section ids are text (S2-3)
                _number_or_text(key_id(k)): str(r.values.get("name"))
                for k, r in self.sections_seen.items()
                if k.startswith("tr:section:")
            },
        }
        read: dict[int, str] = {}  # case id -> its history's text (cases with any)
        refused: dict[int, ApiError] = {}  # case id -> its 400

        async def read_one(case_id: int) -> None:
            try:
                entries = [
                    row
                    async for row in self.client.get_history_for_case(case_id)
                    if isinstance(row, dict)
                ]
            except ApiError as error:
                if error.status != 400:
                    raise
                refused[case_id] = error
                return
            if not entries:
                return
            read[case_id] = history_text(entries, users, labels=labels, names=names)
            if self.on_history is not None:
                self.on_history(case_id, entries)
            else:
                self.history_entries[case_id] = entries

        case_ids = [int(key_id(key)) for key, _ in wanted]
        before = self.client.session.stats.by_endpoint["get_history_for_case"]
        unavailable: ApiError | None = None
        try:
            # the first case alone: a TestRail without the method says so once; the rest
            # with a few requests in flight, so the pacer, not the round trip, sets the pace
            await read_one(case_ids[0])
            await each_in_flight(case_ids[1:], read_one)
        except ApiError as error:
            if error.status not in (403, 404):
                raise
            unavailable = error
        finally:
            self.history_requests += (
                self.client.session.stats.by_endpoint["get_history_for_case"] - before
            )
        # one warning per refusal the server gave, however many cases it refused so
        by_message: dict[str, list[int]] = {}
        for key, _ in wanted:
            case_id = int(key_id(key))
            if case_id in refused:
                by_message.setdefault(str(refused[case_id].server_message), []).append(case_id)
                continue
            text = read.pop(case_id, None)
            if text is None:
                continue
            history_key = tr_key("case_history", case_id)
            records[history_key] = Record("case_history", history_key, {"case": key, "text": text})
        for message, ids in by_message.items():
            if len(ids) == 1:
                self.warn(
                    f"case history of TestRail case {ids[0]} could not be read "
                    f"(get_history_for_case answered 400: {message}); the case is migrated "
                    "without it"
                )
                continue
            shown = ", ".join(str(i) for i in ids[:3]) + (
                f", ... {len(ids) - 3} more" if len(ids) > 3 else ""
            )
            self.warn(
                f"case history of {len(ids)} TestRail cases could not be read "
                f"(get_history_for_case answered 400: {message}): {shown}; the cases are "
                "migrated without it"
            )
        if unavailable is not None:
            self.warn(
                "case history not available on this TestRail (needs 6.5.4+): "
                f"get_history_for_case answered {unavailable.status}; the cases are "
                "migrated without their history"
            )

    async def _user_names(self) -> dict[int, str]:
        """TestRail user id -> name (e-mail when a row has no name), read once."""
        await self._user_emails()
        return self.user_names

    # ------------------------------------------------------------------ attachments

    async def _attachments(
        self, records: dict[str, Record], full: bool, linked: Callable[[str], bool]
    ) -> None:
        """Attachment records (kind ``attachment``) of what this observation read (§5.15):
        the cases observed (one ``get_attachments_for_case`` each, :data:`core.http.IN_FLIGHT`
        open at once under the session's pacer: attachments have no time filter, §6, so a
        case's are re-listed when the case is read); the runs and plans new
        to railfiesta, or all on a full observation (``get_attachments_for_run``,
        ``get_attachments_for_plan``, and ``get_attachments_for_plan_entry`` per entry, whose
        files are their plan's: TestFiesta plans have no entries; neither row says whether it
        has files); the results
        observed whose own ``attachment_ids`` name files (one ``get_attachments_for_test``
        per test, for the names and sizes, only when one of them is not copied yet: a result
        without files costs nothing); plus every image the cases' text shows inline
        (``index.php?/attachments/get/N``), listed or not. Each record names its owner under
        the owner's kind (:data:`core.kinds.ATTACHMENT_OWNERS`) and holds ``name``, ``size``,
        ``sha256`` and ``inline`` (the cases that show it); a result's file also its ``test``.
        A file not copied yet is downloaded once (``get_attachment``) to hash it; one already
        copied keeps the hash the state store holds."""
        inline: dict[str, list[str]] = {}
        found: dict[str, dict[str, Any]] = {}

        def note(owner: str, key: str, rows: Iterable[Mapping[str, Any]], **more: Any) -> None:
            for row in rows:
                size = row.get("size")
                name = row.get("name") or row.get("filename")
                found[str(row["id"])] = {
                    owner: key,
                    **more,
                    "name": str(name) if name else None,
                    "size": int(size) if isinstance(size, int | float) else None,
                }

        case_files: dict[str, list[dict[str, Any]]] = {}

        async def list_case(key: str) -> None:
            case_files[key] = await self.client.get_attachments_for_case(int(key_id(key)))

        # one list per case, the requests in flight so the pacer, not the round trip, sets
        # the pace; noted below in the cases' order
        await each_in_flight([k for k, r in records.items() if r.kind == "case"], list_case)
        for key, record in list(records.items()):
            record_id = int(key_id(key)) if record.kind in ("case", "run", "plan") else 0
            if record.kind == "case":
                for image in inline_attachment_ids(_all_text(dict(record.values))):
                    inline.setdefault(image, []).append(key)
                note("case", key, case_files.pop(key))
            elif record.kind == "run" and (full or not linked(key)):
                note("run", key, await self.client.get_attachments_for_run(record_id))
            elif record.kind == "plan" and (full or not linked(key)):
                note("plan", key, await self.client.get_attachments_for_plan(record_id))
                for entry in self._plan_entries.get(key, []):
                    rows = await self.client.get_attachments_for_plan_entry(record_id, entry)
                    note("plan", key, rows, entry=entry)
        by_test: dict[int, list[tuple[str, str]]] = {}
        for result_key, (test_id, idents) in self._result_files.items():
            if result_key in records:
                by_test.setdefault(test_id, []).extend((result_key, i) for i in idents)
        for test_id, files in by_test.items():
            if any(
                i not in self._result_rows and not self._copied(tr_key("attachment", i), linked)
                for _, i in files
            ):
                for row in await self.client.get_attachments_for_test(test_id):
                    self._result_rows[str(row["id"])] = row
            for result_key, ident in files:
                listed_row = self._result_rows.get(ident, {"id": ident})
                note("result", result_key, [listed_row], test=tr_key("test", test_id))
        for image, cases in inline.items():
            found.setdefault(image, {"case": cases[0], "name": None, "size": None})
        for ident, seen in found.items():
            key = tr_key("attachment", ident)
            try:
                values = await self._attachment_values(key, seen, linked(key))
            except NotFound:
                continue  # an inline reference to a file TestRail no longer has
            except ApiError as error:
                if error.status != 400:  # TestRail answers 400 for an unknown attachment id
                    raise
                continue
            values["inline"] = sorted(inline.get(ident, []))
            records[key] = Record("attachment", key, values)

    def _copied(self, key: str, linked: Callable[[str], bool]) -> bool:
        """Whether attachment ``key`` is copied already (linked, its hash in the base)."""
        if not linked(key):
            return False
        base = self.known(key)
        return bool(base and base.get("sha256"))

    async def _attachment_values(
        self, key: str, seen: Mapping[str, Any], is_linked: bool
    ) -> dict[str, Any]:
        """An attachment's values from what a listing said of it (``seen``: its owner, ``name``
        and ``size``, None where unknown), the base of a copied one, or its bytes."""
        name, size = seen.get("name"), seen.get("size")
        values = {n: v for n, v in seen.items() if n not in ("name", "size")}
        base = self.known(key) if is_linked else None
        if base and base.get("sha256"):
            return {
                **values,
                "name": name or base.get("name"),
                "size": size if size is not None else base.get("size"),
                "sha256": base["sha256"],
            }
        if not self.download:
            return {**values, "name": name or f"attachment-{key_id(key)}", "size": size}
        filename = None
        if key in self._blobs:  # read by an earlier cycle, not copied yet (its owner was not)
            content, content_type = self._blobs[key]
            filename = self._blob_names.get(key)
        else:
            content, content_type, filename = await self._download(key)
            self._blobs[key] = (content, content_type)
            if filename:
                self._blob_names[key] = filename
        return {
            **values,
            "name": name
            or filename
            or f"attachment-{key_id(key)}{mimetypes.guess_extension(content_type) or ''}",
            "size": len(content),
            "sha256": hashlib.sha256(content).hexdigest(),
        }

    async def _download(self, key: str) -> tuple[bytes, str, str | None]:
        self.downloads += 1
        return await self.client.get_attachment(key_id(key))

    async def attachment_bytes(self, key: str) -> tuple[bytes, str]:
        """The bytes and content type of attachment ``key`` (``tr:attachment:<id>``): those
        :meth:`observe` downloaded (handed out once, then forgotten), else one
        ``get_attachment``."""
        blob = self._blobs.pop(key, None)
        self._blob_names.pop(key, None)
        if blob is not None:
            return blob
        content, content_type, _ = await self._download(key)
        return content, content_type

    # ------------------------------------------------------------------ shared steps

    def shared_step_record(self, row: Mapping[str, Any]) -> Record:
        """A ``get_shared_step(s)`` row as a shared step record: ``title`` and ``steps``
        (step values, as a case's: :func:`core.model.step_values`). Shared step sets carry no
        marker (no ``refs``): one made for a TestFiesta shared step is found by its title."""
        steps = [
            step_values(replace(step_from_testrail(s), shared_step=None))
            for s in row.get("custom_steps_separated") or []
            if isinstance(s, Mapping)
        ]
        return Record(
            "shared_step",
            tr_key("shared_step", row["id"]),
            {"title": str(row.get("title") or ""), "steps": steps},
            updated_on=testrail_seconds(
                row.get("updated_on"), what=f"shared step {row.get('id')} updated_on"
            ),
        )

    async def _shared_steps(self, records: dict[str, Record], since: Any) -> int:
        """The project's shared step sets (all, or those updated since ``since`` minus
        :data:`OVERLAP`: they have ``updated_on``, §6); a list row without its steps (some
        versions list only ``{id, title}``, §5.8) is read again with ``get_shared_step``.
        Returns the newest ``updated_on`` seen. A TestRail without shared steps (before 7.0:
        400/404) has none."""
        try:
            rows = await self.client.get_shared_steps(
                self.ctx.project_id,
                updated_after=None if since is None else max(0, int(since) - OVERLAP),
            )
        except ApiError as error:
            if error.status not in (400, 404):
                raise
            return int(since or 0)
        newest = int(since or 0)
        for row in rows:
            if "custom_steps_separated" not in row:
                row = await self.client.get_shared_step(int(row["id"]))
            record = self.shared_step_record(row)
            newest = max(newest, record.updated_on or 0)
            records[record.key] = record
        return newest

    # ------------------------------------------------------------------ runs

    async def _statuses(self) -> dict[int, str]:
        if not self.status_names:
            for row in await self.client.get_statuses():
                self.status_names[int(row["id"])] = str(row.get("label") or row.get("name"))
        return self.status_names

    async def _result_fields(self, rows: Sequence[Mapping[str, Any]] = ()) -> None:
        """Read ``get_result_fields`` into the catalog (:meth:`TestRailCatalog.
        set_result_fields`) when results are first read, and again (at most once per
        observation) when result ``rows`` hold a value the fields read do not explain: a
        ``custom_*`` key of no known field, or a dropdown or multi-select item id the
        project's config does not list (a field or an option added since). A TestRail that
        refuses it (400, 403, 404) has no result fields railfiesta can name; the results
        still travel."""
        if self._result_fields_read and (
            self._result_fields_fresh or not any(map(self._unexplained, rows))
        ):
            return
        self._result_fields_read = self._result_fields_fresh = True
        try:
            listed = await self.client.get_result_fields()
        except ApiError as error:
            if error.status not in (400, 403, 404):
                raise
            listed = []
        self.ctx.catalog.set_result_fields(listed)

    def _unexplained(self, row: Mapping[str, Any]) -> bool:
        """Whether result ``row`` holds a custom value the catalog's result fields do not
        explain (see :meth:`_result_fields`)."""
        fields = self.ctx.catalog.result_fields
        for name, value in row.items():
            if not name.startswith("custom_") or value is None:
                continue
            result_field = fields.get(name)
            if result_field is None:
                return True
            if result_field.kind in ("dropdown", "multi_select"):
                ids = value if isinstance(value, list) else [value]
                if any(str(i) == result_field.label_of(i) for i in ids):
                    return True
        return False

    async def _user_emails(self) -> dict[int, str]:
        if self.user_emails is None:
            self.user_emails = {}
            try:
                users = await self.client.get_users(self.ctx.project_id)
            except ApiError:  # older servers: no project filter; non-admins: no list
                try:
                    users = await self.client.get_users()
                except ApiError:
                    users = []
            for row in users:
                self.user_emails[int(row["id"])] = str(row.get("email") or row.get("name"))
                self.user_names[int(row["id"])] = str(row.get("name") or row.get("email"))
        return self.user_emails

    def test_record(
        self,
        test: Mapping[str, Any],
        run_key: str,
        copied: bool,
        statuses: Mapping[int, str],
        emails: Mapping[int, str],
    ) -> Record:
        """A ``get_tests`` row as a test record: ``status`` (its label) and ``assignee`` (the
        assigned user's e-mail), paired by (run, case)."""
        assignee = test.get("assignedto_id")
        return Record(
            "test",
            tr_key("test", test["id"]),
            {
                "status": statuses.get(int(test.get("status_id") or 3), "Untested"),
                "assignee": emails.get(int(assignee), "") if assignee else "",
            },
            natural=(run_key, tr_key("case", test.get("case_id") or 0)),
            copy=copied,
        )

    async def _user_id(self, email: Any) -> int | None:
        """The TestRail user id of an e-mail (None for no assignee)."""
        if not email:
            return None
        for ident, known in (await self._user_emails()).items():
            if known.casefold() == str(email).casefold():
                return ident
        raise MappingError(
            f"no TestRail user has the e-mail {email!r}",
            hint="add the user in TestRail, or map the TestFiesta user under [users]",
        )

    def run_record(self, row: Mapping[str, Any], cases: list[str] | None) -> Record:
        """A ``get_runs`` row as a run record: ``name``, ``description``, ``closed``; and
        ``cases`` when its tests were read."""
        _, origin = strip_marker(str(row.get("refs") or ""), "run")
        milestone = row.get("milestone_id")
        values: dict[str, Any] = {
            "name": str(row.get("name") or ""),
            "description": str(row.get("description") or ""),
            "closed": bool(row.get("is_completed")),
            "milestone": tr_key("milestone", milestone) if milestone else None,
            "configs": sorted(tr_key("config", c) for c in row.get("config_ids") or []),
        }
        if cases is not None:
            values["cases"] = cases
        return Record("run", tr_key("run", row["id"]), values, origin)

    async def _runs(
        self,
        records: dict[str, Record],
        results_cursor: dict[str, int],
        full: bool,
        linked: Callable[[str], bool],
    ) -> dict[str, int]:
        """Runs every cycle (one ``get_runs``); per open run its results since the run's
        cursor; the tests and every result of a run whose tests are not all linked yet (a run
        new to railfiesta, whose copy's tests are still to be paired)."""
        statuses = await self._statuses()
        self._tests_of = {}
        self._result_files = {}
        out: dict[str, int] = {}
        for row in [*await self.client.get_runs(self.ctx.project_id), *self.plan_runs]:
            run_id = int(row["id"])
            run_key = tr_key("run", run_id)
            copied = strip_marker(str(row.get("refs") or ""), "run")[1] is not None
            if row.get("is_completed"):
                records[run_key] = self.run_record(row, None)
                continue
            since = results_cursor.get(str(run_id))
            tests: list[dict[str, Any]] | None = None
            if full or since is None or not linked(run_key):
                tests = self._tests_of[run_id] = await self.client.get_tests(run_id)
                if any(not linked(tr_key("test", t["id"])) for t in tests):
                    since = None  # not all paired yet: read every result again
            results = await self.client.get_results_for_run(
                run_id, created_after=None if since is None else max(0, since - OVERLAP)
            )
            cases = [tr_key("case", t["case_id"]) for t in tests or [] if t.get("case_id")]
            records[run_key] = self.run_record(row, cases if tests is not None else None)
            latest: dict[int, tuple[int, int, int]] = {}
            newest = since or 0
            emails = await self._user_emails() if results else {}
            if results:
                await self._result_fields(results)
            # oldest first: they are copied in the order people added them
            for result in results:
                result["created_on"] = testrail_seconds(
                    result.get("created_on"), what=f"result {result.get('id')} created_on"
                )
            results.sort(key=lambda r: (r["created_on"] or 0, int(r["id"])))
            for result in results:
                created = int(result["created_on"] or 0)
                newest = max(newest, created)
                if result.get("status_id") is None:
                    continue  # a comment-only result
                test_id = int(result["test_id"])
                order = (created, int(result["id"]), int(result["status_id"]))
                # the test's status is its newest result's, an echo's too: an older result
                # read again in the overlap window must not undo a status set in TestFiesta
                latest[test_id] = max(latest.get(test_id, order), order)
                if ECHO_MARK in str(result.get("comment")):
                    continue  # the echo of a TestFiesta status: not a result to copy
                author = result.get("created_by")
                records[tr_key("result", result["id"])] = Record(
                    "result",
                    tr_key("result", result["id"]),
                    {
                        "test": tr_key("test", test_id),
                        "status": statuses.get(int(result["status_id"]), str(result["status_id"])),
                        "comment": str(result.get("comment") or ""),
                        "author": emails.get(int(author), str(author)) if author else "",
                        "created_on": created,
                        **self.ctx.catalog.result_details(result, statuses),
                    },
                    updated_on=created,
                )
                files = [str(ident) for ident in result.get("attachment_ids") or []]
                if files:
                    self._result_files[tr_key("result", result["id"])] = (test_id, files)
            emails = await self._user_emails() if tests else emails
            for test in tests or []:
                record = self.test_record(test, run_key, copied, statuses, emails)
                records[record.key] = record
            if tests is None:
                for test_id, (_, _, status_id) in latest.items():
                    key = tr_key("test", test_id)
                    records[key] = Record(
                        "test", key, {"status": statuses.get(status_id)}, partial=True
                    )
            out[str(run_id)] = newest
        return out

    async def fetch(self, keys: Iterable[str]) -> dict[str, Record]:
        """See :class:`core.engine.sides.Side` (one ``get_case`` per case)."""
        found: dict[str, Record] = {}
        wanted = list(keys)
        if any(k.startswith(("tr:section:", "tr:suite:")) for k in wanted):
            folders = await self._folders()
            found.update({k: folders[k] for k in wanted if k in folders})
        for key in wanted:
            if key.startswith("tr:case:"):
                try:
                    row = await self.client.get_case(int(key_id(key)))
                except NotFound:
                    continue
                found[key] = self.case_record(row)
            elif key.startswith("tr:shared_step:"):
                try:
                    row = await self.client.get_shared_step(int(key_id(key)))
                except NotFound:
                    continue
                found[key] = self.shared_step_record(row)
        return found

    async def find(self, kind: str, origin: str, values: Mapping[str, Any]) -> Record | None:
        """A case by its marker (every case of the project is read); a folder by name and
        parent among the listed sections."""
        if kind == "test":
            run_key, case_key = [*(values.get("natural") or []), "", ""][:2]
            if not run_key.startswith("tr:run:"):
                return None
            run_id = int(key_id(run_key))
            if run_id not in self._tests_of:
                self._tests_of[run_id] = await self.client.get_tests(run_id)
            for test in self._tests_of[run_id]:
                if tr_key("case", test.get("case_id") or 0) == case_key:
                    statuses, emails = await self._statuses(), await self._user_emails()
                    return self.test_record(test, run_key, False, statuses, emails)
            return None
        if kind == "shared_step":
            records: dict[str, Record] = {}
            await self._shared_steps(records, None)
            return next(
                (r for r in records.values() if r.values.get("title") == values.get("title")),
                None,
            )
        if kind in ("milestone", "config_group", "config"):
            # no marker field: the same name (and parent or group) is the record
            listed = await (self._milestones() if kind == "milestone" else self._configs())
            wanted = {n: values.get(n) for n in ("name", "parent", "group") if values.get(n)}
            for record in listed.values():
                if record.kind == kind and all(
                    record.values.get(n) == v for n, v in wanted.items()
                ):
                    return record
            return None
        if kind != "case" and kind != "folder":
            return None
        if kind == "folder":
            for record in (await self._folders()).values():
                if record.values.get("name") == values.get("name") and record.values.get(
                    "parent"
                ) == values.get("parent"):
                    return record
            return None
        for suite in self.ctx.suites:
            async for row in self.client.iter_cases(self.ctx.project_id, int(suite["id"])):
                record = self.case_record(row)
                if record.origin == origin:
                    return record
        return None

    # ------------------------------------------------------------------ milestones, configs, plans

    def milestone_record(self, row: Mapping[str, Any]) -> Record:
        """A ``get_milestones`` row as a milestone record: ``name``, ``description``,
        ``start_on``/``due_on`` (UNIX seconds, see :func:`milestone_dates`), ``completed``,
        ``started``, ``parent`` (the parent milestone's key for a sub-milestone)."""
        start, due = milestone_dates(row)
        parent = row.get("parent_id")
        return Record(
            "milestone",
            tr_key("milestone", row["id"]),
            {
                "name": str(row.get("name") or ""),
                "description": str(row.get("description") or ""),
                "start_on": start,
                "due_on": due,
                "completed": bool(row.get("is_completed")),
                "started": bool(row.get("is_started")),
                "parent": tr_key("milestone", parent) if parent else None,
            },
        )

    async def _milestones(self) -> dict[str, Record]:
        """Every milestone (``get_milestones``, sub-milestones flattened in; §5.9)."""
        records = {}
        for row in await self.client.get_milestones(self.ctx.project_id):
            record = self.milestone_record(row)
            records[record.key] = record
        return records

    async def _configs(self) -> dict[str, Record]:
        """Configuration groups and their configurations (one ``get_configs``; §5.10)."""
        records: dict[str, Record] = {}
        for group in await self.client.get_configs(self.ctx.project_id):
            group_key = tr_key("config_group", group["id"])
            records[group_key] = Record(
                "config_group", group_key, {"name": str(group.get("name") or "")}
            )
            for config in group.get("configs") or []:
                key = tr_key("config", config["id"])
                records[key] = Record(
                    "config", key, {"name": str(config.get("name") or ""), "group": group_key}
                )
        return records

    def plan_record(self, plan: Mapping[str, Any]) -> Record:
        """A ``get_plan`` answer as a plan record: ``name``, ``description``, ``milestone``,
        ``closed``, and ``runs`` (the runs of its entries, in entry order)."""
        milestone = plan.get("milestone_id")
        runs = [
            tr_key("run", run["id"])
            for entry in plan.get("entries") or []
            for run in entry.get("runs") or []
        ]
        return Record(
            "plan",
            tr_key("plan", plan["id"]),
            {
                "name": str(plan.get("name") or ""),
                "description": str(plan.get("description") or ""),
                "milestone": tr_key("milestone", milestone) if milestone else None,
                "closed": bool(plan.get("is_completed")),
                "runs": runs,
            },
        )

    async def _plans(self) -> dict[str, Record]:
        """Every plan (``get_plans``) with its entries (one ``get_plan`` per open plan; a
        closed plan is read once, it cannot change). The runs of the entries are kept in
        :attr:`plan_runs`: ``get_runs`` leaves them out (§5.11)."""
        records: dict[str, Record] = {}
        self.plan_runs = []
        self._plan_entries = {}
        for row in await self.client.get_plans(self.ctx.project_id):
            plan_id = int(row["id"])
            plan = self._closed_plans.get(plan_id)
            if plan is None:
                plan = await self.client.get_plan(plan_id)
                if plan.get("is_completed"):
                    self._closed_plans[plan_id] = plan
            record = self.plan_record(plan)
            records[record.key] = record
            self._plan_entries[record.key] = [
                str(entry["id"]) for entry in plan.get("entries") or [] if entry.get("id")
            ]
            for entry in plan.get("entries") or []:
                for run in entry.get("runs") or []:
                    self.plan_runs.append({**run, "plan_id": plan_id})
        return records

    async def _create_milestone(self, values: Mapping[str, Any]) -> str:
        body: dict[str, Any] = {"name": values.get("name") or "Untitled milestone"}
        if values.get("description"):
            body["description"] = values["description"]
        for name in ("start_on", "due_on"):
            if values.get(name) is not None:
                body[name] = int(values[name])
        parent = str(values.get("parent") or "")
        if parent.startswith("tr:milestone:"):
            body["parent_id"] = int(key_id(parent))
        row = await self.client.add_milestone(self.ctx.project_id, body)
        flags = {
            name: True
            for name, value in (("is_completed", "completed"), ("is_started", "started"))
            if values.get(value)
        }
        if flags:
            await self.client.update_milestone(int(row["id"]), flags)
        return tr_key("milestone", row["id"])

    async def _create_config(self, kind: str, values: Mapping[str, Any]) -> str:
        name = str(values.get("name") or "")
        if kind == "config_group":
            group = await self.client.add_config_group(self.ctx.project_id, name)
            return tr_key("config_group", group["id"])
        group_key = str(values.get("group") or "")
        if not group_key.startswith("tr:config_group:"):
            raise MappingError(
                f"configuration {name!r} has no TestRail configuration group ({group_key})",
                hint="run the sync again: its group is created first",
            )
        config = await self.client.add_config(int(key_id(group_key)), name)
        return tr_key("config", config["id"])

    async def _update_other(self, kind: str, key: str, changes: Mapping[str, Any]) -> None:
        """Milestones (``update_milestone``), configuration groups and configurations
        (``update_config_group``/``update_config``), plans (``update_plan``, ``close_plan``)."""
        ident = int(key_id(key))
        if kind == "milestone":
            body: dict[str, Any] = {
                n: changes[n] or "" for n in ("name", "description") if n in changes
            }
            for name in ("start_on", "due_on"):
                if name in changes:
                    body[name] = None if changes[name] is None else int(changes[name])
            if "completed" in changes:
                body["is_completed"] = bool(changes["completed"])
            if body:
                await self.client.update_milestone(ident, body)
        elif kind == "config_group" and "name" in changes:
            await self.client.update_config_group(ident, str(changes["name"] or ""))
        elif kind == "config" and "name" in changes:
            await self.client.update_config(ident, str(changes["name"] or ""))
        elif kind == "plan":
            body = {n: changes[n] or "" for n in ("name", "description") if n in changes}
            if "milestone" in changes:
                body["milestone_id"] = _milestone_id(changes["milestone"])
            if body:
                await self.client.update_plan(ident, body)
            if "closed" in changes:
                if not changes["closed"]:
                    raise MappingError(
                        f"{key}: a closed TestRail plan cannot be opened again",
                        hint="close the TestFiesta plan again, or copy the plan in TestRail",
                    )
                await self.client.close_plan(ident)
                self._closed_plans.pop(ident, None)

    # ------------------------------------------------------------------ writing

    async def create(
        self, kind: str, items: Sequence[tuple[Mapping[str, Any], str]], *, more: bool = False
    ) -> list[str | RailfiestaError]:
        """One ``add_section``/``add_suite``/``add_case`` per record (TestRail has no bulk
        create that keeps per-record values); a result one ``add_result`` (see
        :meth:`_create_result`). Every item is written, ``more`` or not."""
        keys: list[str | RailfiestaError] = []
        for values, origin in items:
            if kind == "folder":
                keys.append(await self._create_folder(values))
            elif kind == "case":
                try:
                    keys.append(await self._create_case(values, origin))
                except MappingError as refused:  # checked before sending: nothing written
                    keys.append(refused)
            elif kind == "run":
                keys.append(await self._create_run(values, origin))
            elif kind == "shared_step":
                row = await self.client.add_shared_step(
                    self.ctx.project_id,
                    {
                        "title": values.get("title") or "Untitled shared step",
                        "custom_steps_separated": testrail_steps(values.get("steps") or []),
                    },
                )
                keys.append(tr_key("shared_step", row["id"]))
            elif kind == "milestone":
                keys.append(await self._create_milestone(values))
            elif kind in ("config_group", "config"):
                try:
                    keys.append(await self._create_config(kind, values))
                except MappingError as refused:
                    keys.append(refused)
            elif kind == "result":
                try:
                    keys.append(await self._create_result(values, origin))
                except MappingError as refused:  # checked before sending: nothing written
                    keys.append(refused)
            elif kind == "plan":
                keys.append(
                    MappingError(
                        f"{origin}: a plan made in TestFiesta cannot be added to TestRail: "
                        "TestRail makes a plan's runs through its entries, and railfiesta does "
                        "not build entries from TestFiesta runs",
                        hint="create the plan in TestRail; its runs and results then reach "
                        "TestFiesta",
                    )
                )
            else:
                keys.append(
                    MappingError(
                        f"{origin}: a TestFiesta {kind} cannot be added to TestRail",
                        hint="TestFiesta statuses reach TestRail as results of its tests",
                    )
                )
        return keys

    async def _create_run(self, values: Mapping[str, Any], origin: str) -> str:
        case_ids = [int(key_id(c)) for c in values.get("cases") or [] if c.startswith("tr:case:")]
        suite_id = self.case_suite.get(case_ids[0]) if case_ids else None
        if suite_id is None:
            suite_id = int(self.ctx.suites[0]["id"])
        body: dict[str, Any] = {
            "suite_id": suite_id,
            "name": values.get("name") or "Untitled run",
            "include_all": False,
            "case_ids": case_ids,
        }
        if values.get("description"):
            body["description"] = values["description"]
        if _milestone_id(values.get("milestone")) is not None:
            body["milestone_id"] = _milestone_id(values.get("milestone"))
        marker = with_marker(None, origin)
        if marker:
            body["refs"] = marker
        run = await self.client.add_run(self.ctx.project_id, body)
        if values.get("closed"):
            await self.client.close_run(int(run["id"]))
        return tr_key("run", run["id"])

    async def _create_result(self, values: Mapping[str, Any], origin: str) -> str:
        """A TestFiesta result onto its TestRail test (``add_result/{test_id}``): its status,
        and its comment with a details block's known values in TestRail's own result fields
        (:func:`core.testfiesta.results.testrail_result_fields`: ``elapsed``, ``version``,
        ``defects``, result fields by label), not as text."""
        test = str(values.get("test") or "")
        if not test.startswith("tr:test:"):
            raise MappingError(
                f"result {origin} names no TestRail test ({test or 'none'})",
                hint="run the sync again: the result's test is paired first",
            )
        await self._result_fields()
        comment, fields = testrail_result_fields(
            str(values.get("comment") or ""), self.ctx.catalog.result_fields
        )
        body: dict[str, Any] = {"status_id": await self._status_id(values.get("status"))}
        if comment:
            body["comment"] = comment
        body.update(fields)
        row = await self.client.add_result(int(key_id(test)), body)
        return tr_key("result", row["id"])

    async def _status_id(self, name: Any) -> int:
        statuses = await self._statuses()
        for ident, label in statuses.items():
            if str(label).casefold() == str(name).casefold():
                if ident == 3:
                    break
                return ident
        raise MappingError(
            f"status {name!r} has no TestRail status a result can be added with",
            hint=f'map it under [mapping.status] ("<TestRail status>" = "{name}")',
        )

    async def _create_folder(self, values: Mapping[str, Any]) -> str:
        parent = str(values.get("parent") or self.ctx.anchor)
        body: dict[str, Any] = {"name": values.get("name") or "Untitled"}
        if values.get("description"):
            body["description"] = values["description"]
        if parent.startswith("tr:root:"):
            suite = await self.client.add_suite(self.ctx.project_id, body)
            self.ctx.suites.append(suite)
            key = tr_key("suite", suite["id"])
            self.suite_of[key] = int(suite["id"])
            return key
        suite_id = self.suite_of.get(parent)
        if suite_id is None:
            raise MappingError(
                f"folder {values.get('name')!r}: its parent {parent} is not a TestRail suite or "
                "section of this project",
                hint="run the sync again; if it persists, move the folder in TestFiesta",
            )
        body["suite_id"] = suite_id
        if parent.startswith("tr:section:"):
            body["parent_id"] = int(key_id(parent))
        section = await self.client.add_section(self.ctx.project_id, body)
        key = tr_key("section", section["id"])
        self.suite_of[key] = suite_id
        return key

    async def _create_case(self, values: Mapping[str, Any], origin: str) -> str:
        folder = str(values.get("folder") or "")
        if not folder.startswith("tr:section:"):
            raise MappingError(
                f"case {values.get('title')!r} is not in a section ({folder or 'no folder'}); "
                "TestRail keeps every case in a section",
                hint="move the case into a folder in TestFiesta",
            )
        body = case_body(self.ctx.catalog, values)
        check_case_body(self.ctx.catalog, body, title=str(values.get("title") or ""), creating=True)
        body.pop("section_id", None)
        body["refs"] = with_marker(values.get("refs"), origin) or None
        if body["refs"] is None:
            del body["refs"]
        row = await self.client.add_case(int(key_id(folder)), body)
        key = tr_key("case", row["id"])
        if origin:
            self._origins[key] = origin
        return key

    async def update(self, kind: str, key: str, changes: Mapping[str, Any]) -> None:
        """Sections: ``update_section`` and ``move_section``; suites ``update_suite``;
        cases ``update_case`` (a new ``folder`` moves the case, same suite)."""
        if kind == "folder":
            body = {n: changes[n] or "" for n in ("name", "description") if n in changes}
            if key.startswith("tr:suite:"):
                if body:
                    await self.client.update_suite(int(key_id(key)), body)
                return
            if body:
                await self.client.update_section(int(key_id(key)), body)
            if "parent" in changes:
                parent = str(changes["parent"] or "")
                await self.client.move_section(
                    int(key_id(key)),
                    int(key_id(parent)) if parent.startswith("tr:section:") else None,
                )
            return
        if kind in ("milestone", "config_group", "config", "plan"):
            await self._update_other(kind, key, changes)
            return
        if kind == "run":
            body = {n: changes[n] or "" for n in ("name", "description") if n in changes}
            if "milestone" in changes:
                body["milestone_id"] = _milestone_id(changes["milestone"])
            if body:
                await self.client.update_run(int(key_id(key)), body)
            if "closed" in changes:
                if not changes["closed"]:
                    raise MappingError(
                        f"{key}: a closed TestRail run cannot be opened again",
                        hint="archive the TestFiesta run again, or copy the run in TestRail",
                    )
                await self.client.close_run(int(key_id(key)))
            return
        if kind == "shared_step":
            shared: dict[str, Any] = {}
            if "title" in changes:
                shared["title"] = changes["title"] or ""
            if "steps" in changes:
                shared["custom_steps_separated"] = testrail_steps(changes["steps"] or [])
            if shared:
                await self.client.update_shared_step(int(key_id(key)), shared)
            return
        if kind == "test":
            result: dict[str, Any] = {"comment": ECHO_MARK}
            if "status" in changes:
                result["status_id"] = await self._status_id(changes["status"])
            if "assignee" in changes:
                result["assignedto_id"] = await self._user_id(changes["assignee"])
            if len(result) > 1:  # a status or assignee change TestRail keeps as a result
                await self.client.add_result(int(key_id(key)), result)
            return
        body = case_body(self.ctx.catalog, changes)
        check_case_body(
            self.ctx.catalog, body, title=str(changes.get("title") or key), creating=False
        )
        if "refs" in changes:
            body["refs"] = with_marker(changes.get("refs"), self._origins.get(key)) or None
        await self.client.update_case(int(key_id(key)), body)

    async def archive(self, kind: str, key: str) -> None:
        """TestRail has no archive for sections and cases: always
        :class:`core.errors.MappingError`."""
        raise MappingError(
            f"{key}: TestRail cannot archive a {kind}",
            hint='use delete_policy = "flag" or "propagate"',
        )

    async def delete(self, kind: str, key: str) -> None:
        """``delete_case``, ``delete_section`` or ``delete_suite``; gone already is fine."""
        if kind not in ("case", "folder"):
            raise MappingError(
                f"{key}: railfiesta does not delete a TestRail {kind}",
                hint='delete it in TestRail yourself, or keep delete_policy = "flag"',
            )
        try:
            if kind == "case":
                await self.client.delete_case(int(key_id(key)))
            elif kind == "shared_step":
                await self.client.delete_shared_step(int(key_id(key)))
            elif key.startswith("tr:suite:"):
                await self.client.delete_suite(int(key_id(key)))
            else:
                await self.client.delete_section(int(key_id(key)))
        except NotFound:
            return
