"""TestFiesta as a :class:`core.engine.sides.Side`: folders and cases over v1 and the shim.

Reads (testfiesta-api.md §2): ``GET /folders`` every cycle (small, complete), cases by
``GET /cases?orderBy=updatedAt&order=desc`` down to the cursor minus :data:`OVERLAP`, or all of
them on a full observation. Writes: ``POST /folders`` and ``PATCH``/``DELETE /folders/{id}``;
``POST /cases`` in batches capped by count and bytes and halved on 413; the shim's
``update_case`` for title, folder, template, priority, tags and custom fields; the ``/data``
upsert for steps (DESIGN §12.2: the shim's update_case takes no steps), which needs the case's
``externalId`` (a case created in TestFiesta has none, so its steps cannot be written and the
operation says so); ``DELETE /cases/{id}``.

Milestones (``GET``/``POST``/``PATCH /milestones``), plans (``GET``/``POST``/``PATCH
/plans``, the shim's ``close_plan``) and the shim's configuration groups and configurations
(``get_configs``, ``add_config_group``, ``add_config``, ``update_config*``) are listed every
cycle; a run's configurations travel as ``configs: ["<group>:<option>"]`` and in its plan's
``testRuns`` ``configuration``.

A case's TestRail history (kind ``case_history``, :mod:`core.history`) lives in the case's text
custom field :data:`core.history.HISTORY_FIELD` (created when missing, before the first one is
written; one shim ``update_case`` per case): a case whose field is set is observed as a
``tf:case_history:<case uid>`` record. The field is not one of the case's synced values, so
writing it never comes back as an edit of the case.

TestRail results land through the shim's ``add_results``/``add_result`` (status and comment
only): the comment keeps the original author and time in its first line and ends with the
details v1 has no field for (:mod:`core.testfiesta.results`); the newest result's step
statuses go onto the execution's steps (``PATCH /executions/{id}``, only where they differ).

Values are canonical in TestRail's vocabulary (priority, type and template names as TestRail
spells them), so the two sides compare equal; this module translates through ``[mapping]``.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections import Counter
from collections.abc import (
    Awaitable,
    Callable,
    Collection,
    Iterable,
    Mapping,
    MutableMapping,
    Sequence,
)
from dataclasses import dataclass, field, replace
from typing import Any

from core.engine.sides import Observation
from core.errors import ApiError, MappingError, NotFound, RailfiestaError, UnexpectedResponse
from core.history import HISTORY_FIELD
from core.http import json_body_bytes, stage
from core.kinds import attachment_owner
from core.mapping import ESTIMATE_FIELD, REFS_FIELD, USER_ID, MappingRules, match_name
from core.model import (
    FIELD_PREFIX,
    Record,
    case_from_values,
    case_values,
    key_id,
    step_values,
    tf_key,
    tr_key,
)
from core.testfiesta.adapter import (
    SOURCE,
    CaseTarget,
    case_payload,
    case_record,
    iso8601,
    shared_step_origin,
    shared_step_payload,
    steps_from_testfiesta,
    steps_payload,
    unix_seconds,
)
from core.testfiesta.client import TestFiestaClient
from core.testfiesta.results import detail_entries, with_details
from core.testrail.catalog import CaseField
from core.text import COPY_MARK, from_copy_urls, map_text, to_copy_urls

#: Seconds subtracted from the cursor when polling: TestFiesta's clock and ours differ, and two
#: writes in the same second must both be seen (duplicates are harmless: values compare).
OVERLAP = 120

#: Most cases per ``POST /cases`` request, and most bytes of its JSON body as sent
#: (:func:`core.http.json_body_bytes`). No limit is documented (testfiesta-api.md §2 C2, the
#: spec's CreateCases body is an array without maxItems); web frameworks commonly refuse
#: bodies above 100 KB with 413, so batches stay well below that, and a 413 halves them.
CASE_BATCH = 100
CASE_BATCH_BYTES = 64_000
#: Most results per shim ``add_results`` request, and most JSON bytes (the same reasoning as
#: for cases: no documented limit, a common 100 KB body limit).
RESULT_BATCH = 250
RESULT_BATCH_BYTES = 64_000
#: How many creates of a kind the engine hands this side at once (``Engine(batch_sizes=)``).
BATCH_SIZES = {("testfiesta", "case"): CASE_BATCH, ("testfiesta", "result"): RESULT_BATCH}

#: Tag that marks a case archived because it was deleted in TestRail (``delete_policy =
#: "archive"``); v1 has no archive flag for cases.
ARCHIVE_TAG = "Deleted in TestRail"

_EXTERNAL = re.compile(
    r"^(?P<identity>.+)/(?P<kind>suite|section|case|run|plan|shared_step|attachment)/(?P<id>[\w-]+)$"
)

#: Kinds listed completely every cycle (small lists, no time filter): milestones, the shim's
#: configuration groups and configurations, plans.
LISTED = frozenset({"milestone", "config_group", "config", "plan"})

#: The milestone ``status`` uid sent when the project has no milestone to take one from.
#: CreateMilestoneDTO requires a status, milestone statuses are org-defined and v1 cannot list
#: them (testfiesta-api.md §4.8); 23 is the milestone status of TestFiesta's API examples.
DEFAULT_MILESTONE_STATUS = 23

#: First line of a result copied from TestRail: who added it, when, and its TestRail id (the
#: shim's add_result takes only a status and a comment, so the original author and time
#: travel in the comment, DESIGN §4).
RESULT_HEADER = "TestRail result #{id} · {status} · by {author} · {time}"
_RESULT_ID = re.compile(r"^TestRail result #(\d+) ")


@dataclass
class TestFiestaContext:
    """What the TestFiesta side needs to know of its project, resolved before a cycle.

    ``field_names`` maps canonical field names (TestRail system names, ``refs``,
    ``estimate``) to TestFiesta custom field value keys; ``template_uids``,
    ``priority_uids`` and ``tag_uids`` map TestFiesta names to uids; ``testrail_names`` holds
    TestRail's own spellings per vocabulary (``priority``, ``type``, ``template``) so values
    read from TestFiesta come back in them. ``fresh``: the project was created in this run,
    so it holds nothing and listing it is skipped. ``copy_urls``: the copies of TestRail
    attachments made so far (see :meth:`TestFiestaSide.create`).
    """

    __test__ = False

    project_key: str
    project_uid: int
    root_uid: int
    identity: str
    rules: MappingRules
    field_names: dict[str, str] = field(default_factory=dict)
    template_uids: dict[str, str] = field(default_factory=dict)
    priority_uids: dict[str, int] = field(default_factory=dict)
    tag_uids: dict[str, int] = field(default_factory=dict)
    testrail_names: dict[str, list[str]] = field(default_factory=dict)
    fresh: bool = False
    #: TestRail attachment id -> ``{"url": copy URL, "done": upload finished}`` (kept in the
    #: state store by the caller: text written later points at copies made before)
    copy_urls: MutableMapping[str, Any] = field(default_factory=dict)
    #: TestRail's result fields by system name (the TestRail catalog's
    #: :attr:`~core.testrail.catalog.TestRailCatalog.result_fields`, the same dict: filled when
    #: TestRail's results are first read), for their labels in a copied result's comment
    result_fields: Mapping[str, CaseField] = field(default_factory=dict)
    #: the state store does not know what an earlier migration copied here (a new or lost
    #: ``--state``): the results on executions of copied runs are read too (shim
    #: ``get_results``, one request per execution with a status), so the ones copied before
    #: are linked by the TestRail id in their first line instead of being sent again
    relink: bool = False


def external_id(identity: str, key: str) -> str:
    """``<identity>/<kind>/<id>`` for a TestRail key (``tr:section:5`` -> ``host/section/5``)."""
    _, kind, record_id = key.split(":", 2)
    return f"{identity}/{kind}/{record_id}"


class TestFiestaSide:
    """The TestFiesta project of one pair as a Side (see the module docstring). ``warn`` gets
    one sentence per problem that does not stop the cycle (an unmapped priority)."""

    __test__ = False
    name = "testfiesta"

    def __init__(
        self,
        client: TestFiestaClient,
        context: TestFiestaContext,
        *,
        warn: Callable[[str], None] = lambda _message: None,
    ) -> None:
        self.client = client
        self.ctx = context
        self.warn = warn
        #: case key -> what later writes need of its row (:meth:`_kept_row`), for every case
        #: read or created
        self._rows: dict[str, dict[str, Any]] = {}
        self._by_external: dict[str, dict[str, Any]] | None = None
        self.created_tags = 0
        self._tags_listed = False
        self.status_names: dict[int, str] = {}
        self.copied_runs: set[int] = set()
        self._executions: list[dict[str, Any]] | None = None
        #: execution uid -> its run's uid, for every execution read (bulk result writes)
        self.execution_runs: dict[int, int] = {}
        #: execution uid -> its case's uid and its own ``externalId`` (None when it has
        #: none), for every execution read (a result's files go to its execution)
        self.execution_cases: dict[int, int] = {}
        self.execution_external: dict[int, str | None] = {}
        #: execution uid -> its steps (``{uid, position, status, ...}``) as last read or
        #: written (a copied result's step statuses are sent only where they differ)
        self.execution_steps: dict[int, list[dict[str, Any]]] = {}
        #: plan uid -> its externalId, for every plan read or created (a plan's files)
        self.plan_external: dict[int, str] = {}
        #: case keys this side created (their attachments need no lookup before create)
        self.created_cases: set[str] = set()
        #: per kind, creates answered with a copy that was already there (lookup first)
        self.found_existing: Counter[str] = Counter()
        #: run uid -> its externalId, for every run read or created
        self.run_external: dict[int, str] = {}
        self.listed: dict[str, list[str]] = {"folder": [], "case": []}
        #: the bytes and content type of a TestRail attachment by its key (the TestRail
        #: side's :meth:`~core.testrail.side.TestRailSide.attachment_bytes`)
        self.blobs: Callable[[str], Awaitable[tuple[bytes, str]]] | None = None
        #: shared step key -> the externalId its items carry (kept when its steps change)
        self._shared_external: dict[str, str] = {}
        #: ``"group:option"`` -> configuration key, and back (shim ``get_configs``)
        self.config_keys: dict[str, str] = {}
        self.config_strings: dict[str, str] = {}
        self._groups: dict[str, str] = {}
        self._run_milestones: dict[int, list[int]] = {}
        self.milestone_status: int | None = None
        #: the shim's get_configs could not be read this cycle (see :meth:`_configs`)
        self.configs_unread = False
        self._linked: Callable[[str], bool] = lambda _key: False
        self._milestones_seen: dict[str, Record] = {}
        self._taken: set[str] = set()
        #: a run's ``"group:option"`` configs, by run key (for its plan's ``testRuns``)
        self._run_configs: dict[str, list[str]] = {}
        #: execution uids whose results :meth:`_copied_results` read
        self._results_read: set[int] = set()
        #: whether the project has the custom field :data:`HISTORY_FIELD` (checked once)
        self._history_field = False
        #: when set, called with each case and case history record :meth:`observe` reads; a
        #: record it takes (True) is left out of the observation (a migration's read-back
        #: keeps only the :class:`core.engine.parity.Digest` of each, not 100,000 records)
        self.set_aside: Callable[[Record], bool] | None = None

    # ------------------------------------------------------------------ reading

    def _origin(self, row: Mapping[str, Any]) -> str | None:
        ext = row.get("externalId")
        if not ext or row.get("source") != SOURCE:
            return None
        match = _EXTERNAL.match(str(ext))
        if match is None or match["identity"] != self.ctx.identity:
            return str(ext)  # a copy of another TestRail's record: never ours to re-create
        kind = match["kind"]
        return tr_key(kind, match["id"])

    def _testrail_name(
        self, vocabulary: str, name: str | None, mapped: Mapping[str, str]
    ) -> str | None:
        if not name:
            return None
        inverse = {v: k for k, v in mapped.items()}
        wanted = inverse.get(name, name)
        return match_name(wanted, self.ctx.testrail_names.get(vocabulary, [])) or wanted

    def folder_record(self, row: Mapping[str, Any]) -> Record:
        """A ``GET /folders`` row as a folder record: ``name``, ``description``, ``parent``."""
        custom = row.get("customFields") or {}
        parent = row.get("parentUid")
        return Record(
            "folder",
            tf_key("folder", row["uid"]),
            {
                "name": str(row.get("name") or ""),
                "description": str(custom.get("description") or "")
                if isinstance(custom, dict)
                else "",
                "parent": tf_key("folder", parent) if parent else None,
            },
            self._origin(row),
            unix_seconds(row.get("updatedAt"), what=f"the updatedAt of uid {row.get('uid')}"),
        )

    def case_record(self, row: Mapping[str, Any]) -> Record:
        """A case row as a case record in TestRail's vocabulary (see :func:`case_values`)."""
        ctx = self.ctx
        tags = {uid: name for name, uid in ctx.tag_uids.items()}
        row = {
            **row,
            "customFields": map_text(row.get("customFields") or {}, from_copy_urls),
            "steps": map_text(row.get("steps") or [], from_copy_urls),
            "tags": [
                t
                for t in row.get("tags") or []
                if not (isinstance(t, Mapping) and t.get("name") == ARCHIVE_TAG)
            ],
        }
        record = case_record(
            row,
            field_names=ctx.field_names,
            templates={uid: name for name, uid in ctx.template_uids.items()},
            priorities={uid: name for name, uid in ctx.priority_uids.items()},
            tags=tags,
        )
        values = case_values(record)
        values["priority"] = self._testrail_name("priority", record.priority, ctx.rules.priority)
        values["type"] = self._testrail_name("type", record.type, ctx.rules.types)
        values["template"] = (
            match_name(record.template, ctx.testrail_names.get("template", [])) or record.template
        )
        mapped = set(ctx.field_names) - {REFS_FIELD, ESTIMATE_FIELD}
        for name in [n for n in values if n.startswith(FIELD_PREFIX)]:
            if name[len(FIELD_PREFIX) :] not in mapped:
                del values[name]
        return Record("case", record.key, values, self._origin(row), record.updated_on)

    def history_record(self, row: Mapping[str, Any], case: Record) -> Record | None:
        """The case history a case row holds in :data:`HISTORY_FIELD`, as a ``case_history``
        record (``tf:case_history:<case uid>``: ``case``, ``text``), its origin the TestRail
        case history of the case's origin; None when the field is empty."""
        text = (row.get("customFields") or {}).get(HISTORY_FIELD)
        if not isinstance(text, str) or not text:
            return None
        origin = case.origin
        if origin and origin.startswith("tr:case:"):
            origin = tr_key("case_history", key_id(origin))
        else:
            origin = None
        key = tf_key("case_history", key_id(case.key))
        return Record("case_history", key, {"case": case.key, "text": text}, origin)

    async def _ensure_history_field(self) -> None:
        """The project's text custom field :data:`HISTORY_FIELD`: listed once
        (``GET /customFields``), created when missing (``POST /customFields``, type
        ``text``)."""
        if self._history_field:
            return
        fields = await self.client.list_custom_fields(self.ctx.project_key)
        if not any(str(f.get("name")) == HISTORY_FIELD for f in fields):
            await self.client.create_custom_field(
                self.ctx.project_key, name=HISTORY_FIELD, field_type="text"
            )
        self._history_field = True

    async def _write_history(self, case: Any, text: Any) -> str:
        """Write a case's TestRail history ``text`` into its :data:`HISTORY_FIELD` (one shim
        ``update_case`` with ``custom_case_<field>``); returns the ``case_history`` key."""
        case_key = str(case or "")
        if not case_key.startswith("tf:case:"):
            raise MappingError(
                f"case history of {case_key or 'no case'}: its case has no TestFiesta copy",
                hint="run the migration again: the case is copied first",
            )
        await self._ensure_history_field()
        await self.client.shim.update_case(
            self._uid(case_key), {f"custom_case_{HISTORY_FIELD}": str(text or "")}
        )
        self._rows.pop(case_key, None)
        return tf_key("case_history", key_id(case_key))

    def shared_step_record(self, row: Mapping[str, Any]) -> Record:
        """A ``GET /shared-steps`` row as a shared step record: ``title`` (its ``name``) and
        ``steps`` (each SharedStepItem's ``description``/``expectedResult`` as a step's
        ``content``/``expected``); its origin is the ``externalId`` kept in the first item's
        id (:func:`core.testfiesta.adapter.shared_step_origin`)."""
        steps = [
            step_values(replace(step, shared_step=None))
            for step in steps_from_testfiesta(
                s for s in row.get("steps") or [] if isinstance(s, Mapping)
            )
        ]
        external = shared_step_origin(row)
        key = tf_key("shared_step", row["uid"])
        if external:
            self._shared_external[key] = external
        origin = self._origin({"externalId": external, "source": SOURCE}) if external else None
        return Record(
            "shared_step",
            key,
            {"title": str(row.get("name") or ""), "steps": steps},
            origin,
            unix_seconds(row.get("updatedAt"), what=f"the updatedAt of uid {row.get('uid')}"),
        )

    async def _folders(self) -> list[dict[str, Any]]:
        rows = await self.client.list_folders(self.ctx.project_key)
        live = [r for r in rows if not r.get("deletedAt")]
        self.listed["folder"] = [
            str(r.get("externalId")) for r in rows if r.get("source") == SOURCE
        ]
        return live

    async def observe(
        self,
        cursor: Mapping[str, Any] | None,
        *,
        full: bool,
        linked: Callable[[str], bool] = lambda _key: False,
        kinds: Collection[str] | None = None,
    ) -> Observation:
        """See :class:`core.engine.sides.Side`; the cursor is ``{"cases": UNIX seconds,
        "executions": UNIX seconds}``, the newest ``updatedAt`` seen of each.

        Scoped to tests (``kinds`` within ``{"test"}``, a migration's later passes): only the
        executions are listed, with the runs as the last observation or this side's creates
        knew them; an empty scope reads nothing. A case cursor that no observation set yet
        (the project was fresh: nothing in it predates the first pass) starts at this
        observation's server time, as the whole read it stands in for would have set it.
        Any other scope is read as a whole observation."""
        self._linked = linked
        if self.ctx.fresh:
            complete = LISTED | {"folder", "shared_step", "case", "case_history", "run", "test"}
            return Observation({}, complete, dict(cursor or {}))
        if kinds is not None and not set(kinds) - {"test"}:
            return await self._observe_tests(cursor, full=full, linked=linked, kinds=kinds)
        records: dict[str, Record] = {}
        with stage("folders"):
            folders = await self._folders()
        # what changes after this answer has a later updatedAt: the next poll starts here
        floor = int(self.client.session.server_time or 0)
        for row in folders:
            if int(row["uid"]) == self.ctx.root_uid:
                continue
            record = self.folder_record(row)
            records[record.key] = record
        with stage("shared steps"):
            for row in await self.client.list_shared_steps(self.ctx.project_key):
                record = self.shared_step_record(row)
                records[record.key] = record
        since = None if full or cursor is None else cursor.get("cases")
        newest = int(since or 0)
        listed: list[str] = []
        rows = (
            self.client.iter_cases(self.ctx.project_key)
            if since is None
            else self.client.iter_cases_by_update(self.ctx.project_key)
        )
        with stage("cases"):
            async for row in rows:
                updated = (
                    unix_seconds(
                        row.get("updatedAt"), what=f"the updatedAt of uid {row.get('uid')}"
                    )
                    or 0
                )
                if since is not None and updated < int(since) - OVERLAP:
                    break
                newest = max(newest, updated)
                if row.get("source") == SOURCE:
                    listed.append(str(row.get("externalId")))
                record = self.case_record(row)
                self._rows[record.key] = self._kept_row(row)
                history = self.history_record(row, record)
                for kept in (record, history):
                    if kept is not None and not (self.set_aside and self.set_aside(kept)):
                        records[kept.key] = kept
        if since is None:
            self.listed["case"] = listed
        with stage("milestones"):
            records.update(await self._milestones())
        with stage("configs"):
            records.update(await self._configs())
        with stage("plans"):
            records.update(await self._plans())
        with stage("runs"):
            executions_since = await self._runs(
                records, None if full or cursor is None else cursor.get("executions"), linked
            )
        complete = LISTED | (
            {"folder", "shared_step", "case", "case_history", "run", "test"}
            if since is None
            else {"folder", "shared_step", "run"}
        )
        if self.configs_unread:
            complete -= {"config_group", "config"}
        return Observation(
            records,
            complete,
            {"cases": max(newest, floor), "executions": max(executions_since, floor)},
        )

    async def _observe_tests(
        self,
        cursor: Mapping[str, Any] | None,
        *,
        full: bool,
        linked: Callable[[str], bool],
        kinds: Collection[str],
    ) -> Observation:
        """A scoped :meth:`observe` of kind ``test`` (or of nothing): the executions updated
        since the cursor's (all of them without one), no runs listing."""
        records: dict[str, Record] = {}
        since = None if full or cursor is None else cursor.get("executions")
        newest = int(since or 0)
        if "test" in kinds:
            with stage("runs"):
                newest = await self._runs(records, since, linked, runs=False)
        floor = int(self.client.session.server_time or 0)
        complete = frozenset({"test"} if "test" in kinds and since is None else ())
        before = dict(cursor or {})
        return Observation(
            records,
            complete,
            {**before, "cases": before.get("cases", floor), "executions": max(newest, floor)},
        )

    # ------------------------------------------------------------------ runs

    async def _statuses(self) -> dict[int, str]:
        if not self.status_names:
            for row in await self.client.shim.get_statuses():
                self.status_names[int(row["id"])] = str(row.get("label") or row.get("name"))
        return self.status_names

    async def unmapped_statuses(self, testrail_names: Iterable[str]) -> list[str]:
        """The TestRail status names (of tests and results) that neither ``[mapping.status]``
        nor a TestFiesta status of the same name covers (shim ``get_statuses``); a result
        with one of them would not be copied."""
        wanted = sorted(set(testrail_names) - {"Untested"})
        if not wanted:
            return []
        known = (await self._statuses()).values()
        return [n for n in wanted if match_name(self.ctx.rules.status_name(n), known) is None]

    def unmapped_priorities(self, testrail_names: Iterable[str]) -> list[str]:
        """The TestRail priority names that neither ``[mapping.priority]`` nor a TestFiesta
        priority of the same name covers; those cases would arrive without a priority."""
        return [
            name
            for name in sorted(set(testrail_names))
            if match_name(self.ctx.rules.priority_name(name), self.ctx.priority_uids) is None
        ]

    def _status_name(self, uid: Any) -> str | None:
        """A TestFiesta execution status uid as TestRail's name for it (``[mapping.status]``
        read backwards); None for no status (untested)."""
        if uid is None:
            return "Untested"
        name = self.status_names.get(int(uid), str(uid))
        return self._testrail_name("status", name, self.ctx.rules.status)

    async def _status_uid(self, testrail_name: Any) -> int:
        statuses = await self._statuses()
        wanted = self.ctx.rules.status_name(str(testrail_name))
        found = match_name(wanted, statuses.values())
        if found is None:
            raise MappingError(
                f"TestRail status {testrail_name!r} has no TestFiesta status named {wanted!r}; "
                "it is not replaced by another one",
                hint=(
                    "change its [mapping.status] line to one of TestFiesta's statuses: "
                    + ", ".join(sorted(set(statuses.values())))
                    if str(testrail_name) in self.ctx.rules.status
                    else f'add "{testrail_name}" = "<TestFiesta status>" under [mapping.status]'
                ),
            )
        return next(uid for uid, name in statuses.items() if name == found)

    def run_record(self, row: Mapping[str, Any]) -> Record:
        """A ``GET /runs`` row as a run record: ``name``, ``description``, ``closed``
        (archived), ``milestone`` (the first of ``customFields.milestoneUids``), ``configs``
        (the configurations its ``customFields.configs`` ``"group:option"`` strings name)."""
        custom = row.get("customFields") if isinstance(row.get("customFields"), Mapping) else {}
        milestones = list((custom or {}).get("milestoneUids") or [])
        self._run_milestones[int(row["uid"])] = [int(m) for m in milestones]
        strings = [str(c) for c in (custom or {}).get("configs") or []]
        self._run_configs[tf_key("run", row["uid"])] = strings
        configs = [self.config_keys.get(c) for c in strings]
        return Record(
            "run",
            tf_key("run", row["uid"]),
            {
                "name": str(row.get("name") or ""),
                "description": str(row.get("description") or ""),
                "closed": row.get("archivedAt") is not None,
                "milestone": tf_key("milestone", milestones[0]) if milestones else None,
                "configs": sorted(c for c in configs if c),
            },
            self._origin(row),
            unix_seconds(row.get("updatedAt"), what=f"the updatedAt of uid {row.get('uid')}"),
        )

    def execution_record(self, row: Mapping[str, Any]) -> Record:
        """An execution as a test record, paired by its run and case: ``status``, and
        ``assignee`` (the TestRail e-mail that ``[users]`` maps to its ``assignedTo`` user
        id). An execution whose assignee ``[users]`` does not name says nothing about the
        assignee (a partial record), so an unknown TestFiesta user never unassigns anyone."""
        run_uid = row.get("testRunUid")
        values: dict[str, Any] = {"status": self._status_name(row.get("status"))}
        assigned = row.get("assignedTo")
        by_user = {str(v).casefold(): k for k, v in self.ctx.rules.users.items()}
        email = by_user.get(str(assigned).casefold()) if assigned else None
        if email:
            values["assignee"] = email
        return Record(
            "test",
            tf_key("execution", row["uid"]),
            values,
            updated_on=unix_seconds(
                row.get("updatedAt"), what=f"the updatedAt of uid {row.get('uid')}"
            ),
            natural=(tf_key("run", run_uid or 0), tf_key("case", row.get("testCaseUid") or 0)),
            copy=run_uid in self.copied_runs,
            partial="assignee" not in values,
        )

    def _assignee(self, email: Any) -> str | None:
        """The TestFiesta user id for a TestRail e-mail, from ``[users]``; None (and a
        warning, once per e-mail) when ``[users]`` gives no user id: TestFiesta's API has no
        user lookup and ``assignedTo`` takes only an id (DESIGN §12.6)."""
        if not email:
            return None
        mapped = self.ctx.rules.users.get(str(email))
        if mapped and USER_ID.match(mapped):
            return mapped
        self.warn(
            f"assignee {email!r} was not set in TestFiesta: TestFiesta's API takes a user id "
            f"and [users] maps {email!r} to {mapped or 'nothing'} (set it to the user's "
            "TestFiesta id, a UUID, under [users])"
        )
        return None

    async def _runs(
        self,
        records: dict[str, Record],
        since: Any,
        linked: Callable[[str], bool] = lambda _key: False,
        *,
        runs: bool = True,
    ) -> int:
        """Every run (one ``GET /runs``; not with ``runs=False``) and the executions updated
        since ``since`` (UNIX seconds; None: all), newest first. A run made in TestFiesta
        that is not linked yet (new to railfiesta) carries its ``cases`` (the cases of its
        executions, by execution uid), so its TestRail copy is created with the same cases:
        when the listing since ``since`` may not hold all its executions, every execution is
        listed once more."""
        await self._statuses()
        new_runs: dict[int, Record] = {}
        for row in await self.client.list_runs(self.ctx.project_key) if runs else []:
            if row.get("externalId"):
                self.run_external[int(row["uid"])] = str(row["externalId"])
            record = self.run_record(row)
            if record.origin and record.origin.startswith("tr:"):
                self.copied_runs.add(int(row["uid"]))
            elif not linked(record.key):
                new_runs[int(row["uid"])] = record
            records[record.key] = record
        newest = int(since or 0)
        rows: list[dict[str, Any]] = []
        complete = True
        async for row in self.client.iter_executions_by_update(self.ctx.project_key):
            updated = (
                unix_seconds(row.get("updatedAt"), what=f"the updatedAt of uid {row.get('uid')}")
                or 0
            )
            if since is not None and updated < int(since) - OVERLAP:
                complete = False
                break
            newest = max(newest, updated)
            record = self.execution_record(row)
            records[record.key] = record
            rows.append(dict(row))
            self._note_run(row)
        if new_runs and not complete:
            rows = [
                dict(r) async for r in self.client.iter_executions_by_update(self.ctx.project_key)
            ]
            complete = True
        # find() pairs tests by run and case among these rows: only a complete listing will
        # do (an execution older than the cursor is still the partner of a new TestRail test)
        self._executions = rows if complete else None
        if self.ctx.relink:
            await self._copied_results(records, rows)
        if new_runs:
            cases: dict[int, list[tuple[int, str]]] = {uid: [] for uid in new_runs}
            for row in rows:
                run_uid = row.get("testRunUid")
                if run_uid in cases and row.get("testCaseUid") and not row.get("deletedAt"):
                    cases[run_uid].append((int(row["uid"]), tf_key("case", row["testCaseUid"])))
            for uid, record in new_runs.items():
                values = {**record.values, "cases": [key for _, key in sorted(cases[uid])]}
                records[record.key] = replace(record, values=values)
        return newest

    async def _copied_results(
        self, records: dict[str, Record], executions: Iterable[Mapping[str, Any]]
    ) -> None:
        """Add to ``records`` the results railfiesta copied onto ``executions`` before
        (:attr:`TestFiestaContext.relink`): of each live execution of a copied run that has a
        status (an execution without one holds no result), read once per side, the shim's
        ``get_results`` rows whose comment starts with :data:`RESULT_HEADER` become result
        records ``tf:result:<id>`` (``test``: the execution) whose origin is the TestRail
        result the header names. v1 has no results resource (testfiesta-api.md §7.5): that
        line is the only key a copied result keeps."""
        for row in executions:
            uid = int(row["uid"])
            if (
                uid in self._results_read
                or row.get("deletedAt")
                or row.get("status") is None
                or row.get("testRunUid") not in self.copied_runs
            ):
                continue
            self._results_read.add(uid)
            with stage("results"):
                results = await self.client.shim.get_results(uid)
            for result in results:
                match = _RESULT_ID.match(str(result.get("comment") or ""))
                if match is None:
                    continue
                key = tf_key("result", result["id"])
                records[key] = Record(
                    "result",
                    key,
                    {"test": tf_key("execution", uid)},
                    tr_key("result", match.group(1)),
                    partial=True,
                )

    def _note_run(self, execution: Mapping[str, Any]) -> None:
        if execution.get("testRunUid") is not None:
            self.execution_runs[int(execution["uid"])] = int(execution["testRunUid"])
        if execution.get("testCaseUid") is not None:
            self.execution_cases[int(execution["uid"])] = int(execution["testCaseUid"])
        external = execution.get("externalId")
        self.execution_external[int(execution["uid"])] = str(external) if external else None
        if isinstance(execution.get("steps"), list):
            self.execution_steps[int(execution["uid"])] = [
                dict(step) for step in execution["steps"] if isinstance(step, Mapping)
            ]

    async def fetch(self, keys: Iterable[str]) -> dict[str, Record]:
        """See :class:`core.engine.sides.Side` (one ``GET /cases/{id}`` per case)."""
        found: dict[str, Record] = {}
        wanted = list(keys)
        if any(k.startswith("tf:folder:") for k in wanted):
            for row in await self._folders():
                record = self.folder_record(row)
                if record.key in wanted:
                    found[record.key] = record
        for key in wanted:
            if key.startswith("tf:case:"):
                try:
                    row = await self.client.get_case(self.ctx.project_key, key_id(key))
                except NotFound:
                    continue
                self._rows[key] = self._kept_row(row)
                found[key] = self.case_record(row)
        if any(k.startswith("tf:shared_step:") for k in wanted):
            for row in await self.client.list_shared_steps(self.ctx.project_key):
                record = self.shared_step_record(row)
                if record.key in wanted:
                    found[record.key] = record
        return found

    async def find(self, kind: str, origin: str, values: Mapping[str, Any]) -> Record | None:
        """The record whose ``source`` is ours and whose ``externalId`` names ``origin`` (one
        listing, then cached; another tool's record with the same ``externalId`` is not it); an
        execution by its run and case; a result by the TestRail id in its first line."""
        if kind == "test":
            natural = tuple(values.get("natural") or ())
            if self._executions is None:
                self._executions = []
                async for row in self.client.iter_executions_by_update(self.ctx.project_key):
                    self._executions.append(dict(row))
                    self._note_run(row)
            for row in self._executions:
                record = self.execution_record(row)
                if record.natural == natural:
                    return record
            return None
        if kind == "result":
            test = str(values.get("test") or "")
            if not test.startswith("tf:execution:") or not origin.startswith("tr:result:"):
                return None
            for row in await self.client.shim.get_results(int(key_id(test))):
                match = _RESULT_ID.match(str(row.get("comment") or ""))
                if match and tr_key("result", match.group(1)) == origin:
                    return Record("result", tf_key("result", row["id"]), {}, origin)
            return None
        if kind == "attachment":
            return await self._find_attachment(origin, values)
        if kind == "case_history":
            case = str(values.get("case") or "")
            if not case.startswith("tf:case:"):
                return None
            try:
                row = await self.client.get_case(self.ctx.project_key, key_id(case))
            except NotFound:
                return None
            history = self.history_record(row, self.case_record(row))
            if history is None or history.values.get("text") != values.get("text"):
                return None  # not written (or not this text): writing it again is harmless
            return history
        if kind == "shared_step":
            for row in await self.client.list_shared_steps(self.ctx.project_key):
                record = self.shared_step_record(row)
                if record.origin == origin:
                    return record
            return None
        if kind in ("milestone", "config_group", "config"):
            # no externalId on these DTOs (§7.7): the same name (dates, group) is the record
            listed = await (self._milestones() if kind == "milestone" else self._configs())
            names = ("name", "start_on", "due_on", "group")
            wanted = {n: values.get(n) for n in names if values.get(n) is not None}
            for record in listed.values():
                if record.kind == kind and all(
                    record.values.get(n) == v for n, v in wanted.items()
                ):
                    return record
            return None
        if kind in ("run", "plan"):
            if not origin.startswith("tr:"):
                return None
            rows = await (
                self.client.list_runs(self.ctx.project_key)
                if kind == "run"
                else self.client.list_plans(self.ctx.project_key)
            )
            ext = external_id(self.ctx.identity, origin)
            for row in rows:
                if row.get("source") == SOURCE and row.get("externalId") == ext:
                    return self.run_record(row) if kind == "run" else self.plan_record(row)
            return None
        if self._by_external is None:
            # source and externalId together: another tool's record may carry the same id
            index: dict[str, dict[str, Any]] = {}
            for row in await self._folders():
                if row.get("source") == SOURCE:
                    index[f"folder:{row.get('externalId')}"] = row
            async for row in self.client.iter_cases(self.ctx.project_key):
                if row.get("source") == SOURCE:
                    index[f"case:{row.get('externalId')}"] = row
            self._by_external = index
        if not origin.startswith("tr:"):
            return None
        found = self._by_external.get(f"{kind}:{external_id(self.ctx.identity, origin)}")
        if found is None:
            return None
        return self.folder_record(found) if kind == "folder" else self.case_record(found)

    async def _find_attachment(self, origin: str, values: Mapping[str, Any]) -> Record | None:
        """The copy of TestRail attachment ``origin`` after a crash or a lost answer: its
        upload finished (``copy_urls`` says done), or it was started and the owner case
        lists a file of the same name and size (shim ``get_attachments_for_case``); its
        inline references are then rewritten. None when nothing landed.

        The files of runs, executions and plans cannot be listed (neither v1 nor the shim has a
        call for them), so one whose upload was cut (its ``PUT`` sent, its end not seen) is
        ``PUT`` once more to the same signed URL: object storage replaces the object's bytes
        with the same bytes, so TestFiesta still holds it once. When that URL no longer takes
        it (expired: 4xx), the file is uploaded anew, with a warning that TestFiesta may now
        hold it twice."""
        ident = key_id(origin)
        entry = self.ctx.copy_urls.get(ident)
        if not isinstance(entry, Mapping):
            return None
        if not entry.get("done"):
            owner = attachment_owner(values) or ""
            if not owner.startswith("tf:case:"):
                if not await self._put_again(origin, entry, values):
                    return None
                entry = self.ctx.copy_urls[ident]
                for case in values.get("inline") or []:
                    await self._rewrite_case(str(case))
                return Record("attachment", tf_key("attachment", str(entry.get("key"))), {}, origin)
            rows = await self.client.shim.get_attachments_for_case(self._uid(owner))
            if not any(
                r.get("name") == values.get("name") and r.get("size") == values.get("size")
                for r in rows
            ):
                return None
            self.ctx.copy_urls[ident] = {**entry, "done": True}
        for case in values.get("inline") or []:
            await self._rewrite_case(str(case))
        return Record("attachment", tf_key("attachment", str(entry.get("key"))), {}, origin)

    async def _put_again(
        self, origin: str, entry: Mapping[str, Any], values: Mapping[str, Any]
    ) -> bool:
        """``PUT`` the bytes of ``origin`` once more to the signed URL its cut upload got
        (``entry``, from ``copy_urls``); True when storage took them (the entry is then marked
        done and its signed URL dropped). False, with a warning, when it did not."""
        signed = entry.get("signed")
        refused = None
        if signed and self.blobs is not None:
            content, content_type = await self.blobs(origin)
            if values.get("sha256") and hashlib.sha256(content).hexdigest() != values["sha256"]:
                refused = "TestRail now sends other bytes"
            else:
                try:
                    await self.client.put_signed(
                        str(signed), content, content_type, entry.get("headers") or {}
                    )
                except ApiError as error:
                    if not 400 <= (error.status or 0) < 500:
                        raise
                    refused = f"its signed URL answered {error.status}"
        else:
            refused = "its signed URL was not kept"
        if refused is None:
            self.ctx.copy_urls[key_id(origin)] = {
                "url": entry.get("url"), "done": True, "key": entry.get("key")
            }  # fmt: skip
            return True
        self.warn(
            f"{origin} ({values.get('name')!r}): its upload to {attachment_owner(values)} was "
            f"cut before railfiesta saw it finish and cannot be finished ({refused}); it is "
            "uploaded again, so TestFiesta may hold the file twice (its API lists no files of "
            "runs, executions or plans to check): delete the older copy in TestFiesta if so"
        )
        return False

    # ------------------------------------------------------------------ milestones, configs, plans

    def milestone_record(self, row: Mapping[str, Any]) -> Record:
        """A ``GET /milestones`` row as a milestone record: ``name``, ``description``,
        ``start_on``/``due_on`` (``customFields.startDate``/``dueAt`` as UNIX seconds),
        ``completed`` (``archivedAt`` set). No parent: v1 has none (§7.7)."""
        custom = row.get("customFields") if isinstance(row.get("customFields"), Mapping) else {}
        what = f"a date of milestone {row.get('uid')}"
        return Record(
            "milestone",
            tf_key("milestone", row["uid"]),
            {
                "name": str(row.get("name") or ""),
                "description": str(row.get("description") or ""),
                "start_on": unix_seconds((custom or {}).get("startDate"), what=what),
                "due_on": unix_seconds((custom or {}).get("dueAt"), what=what),
                "completed": row.get("archivedAt") is not None,
            },
            updated_on=unix_seconds(row.get("updatedAt"), what=f"the updatedAt of {row['uid']}"),
        )

    async def _milestones(self) -> dict[str, Record]:
        """Every live milestone (``GET /milestones``); the first one's ``status`` becomes the
        status new milestones get (see :meth:`_milestone_status`)."""
        records: dict[str, Record] = {}
        for row in await self.client.list_milestones(self.ctx.project_key):
            if row.get("deletedAt"):
                continue
            record = self.milestone_record(row)
            records[record.key] = record
            status = (row.get("customFields") or {}).get("status")
            if self.milestone_status is None and isinstance(status, int | float):
                self.milestone_status = int(status)
        self._milestones_seen = records
        return records

    def _milestone_status(self) -> int:
        """The ``status`` uid a new milestone gets: CreateMilestoneDTO requires one, milestone
        statuses are org-defined and v1 cannot list them (§4.8), so railfiesta takes the status
        of a milestone the project already has, else :data:`DEFAULT_MILESTONE_STATUS`."""
        return (
            self.milestone_status
            if self.milestone_status is not None
            else (DEFAULT_MILESTONE_STATUS)
        )

    async def _configs(self) -> dict[str, Record]:
        """Configuration groups and configurations (the shim's ``get_configs``: v1 has no
        configuration API, §4.9); fills :attr:`config_keys` for the runs' ``configs``."""
        records: dict[str, Record] = {}
        self.config_keys, self.config_strings, self._groups = {}, {}, {}
        try:
            groups = await self.client.shim.get_configs(self.ctx.project_uid)
        except ApiError as error:
            if error.status not in (403, 404, 501):
                raise
            # a shim without configurations: runs keep their configs as sent, nothing is
            # compared, and the configurations are not taken for deleted
            self.configs_unread = True
            self.warn(f"TestFiesta's shim get_configs answered {error.status}: configurations "
                      "are not compared this cycle")  # fmt: skip
            return records
        self.configs_unread = False
        for group in groups:
            group_key = tf_key("config_group", group["id"])
            group_name = str(group.get("name") or "")
            self._groups[group_key] = group_name
            records[group_key] = Record("config_group", group_key, {"name": group_name})
            for config in group.get("configs") or []:
                key = tf_key("config", config["id"])
                name = str(config.get("name") or "")
                records[key] = Record("config", key, {"name": name, "group": group_key})
                self.config_strings[key] = f"{group_name}:{name}"
                self.config_keys.setdefault(f"{group_name}:{name}", key)
        return records

    def plan_record(self, row: Mapping[str, Any]) -> Record:
        """A ``GET /plans`` row as a plan record: ``name``, ``description``, ``milestone``
        (the first of ``milestoneUids``), ``closed`` (``archivedAt`` set), ``runs`` (the uids
        of ``customFields.testRuns``, in order)."""
        custom = row.get("customFields") if isinstance(row.get("customFields"), Mapping) else {}
        milestones = list((custom or {}).get("milestoneUids") or [])
        runs = [
            tf_key("run", item["uid"])
            for item in (custom or {}).get("testRuns") or []
            if isinstance(item, Mapping) and item.get("uid") is not None
        ]
        return Record(
            "plan",
            tf_key("plan", row["uid"]),
            {
                "name": str(row.get("name") or ""),
                "description": str(row.get("description") or ""),
                "milestone": tf_key("milestone", milestones[0]) if milestones else None,
                "closed": row.get("archivedAt") is not None,
                "runs": runs,
            },
            self._origin(row),
            unix_seconds(row.get("updatedAt"), what=f"the updatedAt of plan {row.get('uid')}"),
        )

    async def _plans(self) -> dict[str, Record]:
        """Every live plan (``GET /plans``)."""
        records: dict[str, Record] = {}
        for row in await self.client.list_plans(self.ctx.project_key):
            if not row.get("deletedAt"):
                record = self.plan_record(row)
                records[record.key] = record
                if row.get("externalId"):
                    self.plan_external[int(row["uid"])] = str(row["externalId"])
        return records

    async def _create_milestone(self, values: Mapping[str, Any]) -> str:
        """``POST /milestones`` with the required ``startDate``, ``dueAt`` (the copy's time
        when TestRail has no date at all, with a warning) and ``status``; then ``archived``
        when it is completed."""
        start, due = values.get("start_on"), values.get("due_on")
        if start is None or due is None:
            now = int(self.client.session.server_time or time.time())
            self.warn(
                f"milestone {values.get('name')!r} has no start or due date in TestRail; "
                f"TestFiesta requires both: set to {iso8601(now)}"
            )
            start, due = start or due or now, due or start or now
        for key, record in self._milestones_seen.items():
            # no externalId on milestones (§7.7): an unlinked one of the same name and dates
            # is this milestone's copy (a lost state store, a lost answer), not a second one
            wanted = {"name": values.get("name"), "start_on": start, "due_on": due}
            same = all(record.values.get(n) == v for n, v in wanted.items())
            if same and not self._linked(key) and key not in self._taken:
                self._taken.add(key)
                self.found_existing["milestone"] += 1
                if bool(values.get("completed")) != record.values.get("completed"):
                    await self.client.update_milestone(
                        self.ctx.project_key,
                        self._uid(key),
                        {"archived": bool(values.get("completed"))},
                    )
                return key
        body: dict[str, Any] = {
            "name": values.get("name") or "Untitled milestone",
            "startDate": iso8601(int(start)),
            "dueAt": iso8601(int(due)),
            "status": self._milestone_status(),
        }
        if values.get("description"):
            body["description"] = values["description"]
        row = await self.client.create_milestone(self.ctx.project_key, body)
        if values.get("completed"):
            await self.client.update_milestone(
                self.ctx.project_key, int(row["uid"]), {"archived": True}
            )
        return tf_key("milestone", row["uid"])

    async def existing_copy(
        self,
        kind: str,
        values: Mapping[str, Any],
        *,
        origin: str = "",
        group_name: str | None = None,
        case: str | None = None,
    ) -> str | None:
        """For a dry run: the key of the unlinked milestone, configuration group or
        configuration that a create of ``kind`` with ``values`` (pair space) would take
        instead of making one (they keep no externalId: the same name and dates, the same
        ``group_name:name``, see :meth:`_create_milestone` and :meth:`_create_config`), from
        what the last observation listed; for a case's file, the file of the same name and
        size on ``case`` (its TestFiesta copy, one shim ``get_attachments_for_case``, see
        :meth:`_existing_attachment`), or for an inline image without a size (not downloaded)
        the copy the case's text points at (``origin``: the TestRail attachment). None for
        other kinds or when there is none."""
        name = str(values.get("name") or "")
        if kind == "attachment":
            if case is None or not case.startswith("tf:case:"):
                return None
            if values.get("size") is None:
                # an inline image the dry run did not download (no size, no file name yet):
                # copied when the case's text points at its copy
                row = await self.client.get_case(self.ctx.project_key, key_id(case))
                text = json.dumps([row.get("customFields"), row.get("steps")], ensure_ascii=False)
                marked = re.search(re.escape(COPY_MARK + key_id(origin)) + r"\b", text)
                return tf_key("attachment", f"inline-{key_id(origin)}") if marked else None
            rows = await self.client.shim.get_attachments_for_case(self._uid(case))
            for row in rows:
                if row.get("name") == values.get("name") and row.get("size") == values.get("size"):
                    return tf_key("attachment", f"case-{row['id']}")
            return None
        if kind == "milestone":
            start, due = values.get("start_on"), values.get("due_on")
            if start is None or due is None:
                return None  # the copy would get today's date: nothing listed has it
            for key, record in self._milestones_seen.items():
                same = (record.values.get("name"), record.values.get("start_on"),
                        record.values.get("due_on")) == (name, start, due)  # fmt: skip
                if same and not self._linked(key):
                    return key
            return None
        if kind == "config_group":
            return next((k for k, n in self._groups.items() if n == name), None)
        if kind == "config" and group_name is not None:
            return self.config_keys.get(f"{group_name}:{name}")
        return None

    async def _create_config(self, kind: str, values: Mapping[str, Any]) -> str:
        """Shim ``add_config_group``/``add_config`` (§4.9). A group or configuration of the
        same name that TestFiesta already has is taken instead of a second one (they have no
        externalId, and two of one name would make ``group:option`` ambiguous)."""
        name = str(values.get("name") or "")
        if kind == "config_group":
            for key, known in self._groups.items():
                if known == name:
                    self.found_existing[kind] += 1
                    return key
            group = await self.client.shim.add_config_group(self.ctx.project_uid, name)
            key = tf_key("config_group", group["id"])
            self._groups[key] = name
            return key
        group_key = str(values.get("group") or "")
        group_name = self._groups.get(group_key)
        if group_name is None:
            raise MappingError(
                f"configuration {name!r}: its group {group_key} is not a TestFiesta "
                "configuration group",
                hint="run the sync again: its group is created first",
            )
        existing = self.config_keys.get(f"{group_name}:{name}")
        if existing is not None:
            self.found_existing[kind] += 1
            return existing
        config = await self.client.shim.add_config(self._uid(group_key), name)
        key = tf_key("config", config["id"])
        self.config_keys[f"{group_name}:{name}"] = key
        self.config_strings[key] = f"{group_name}:{name}"
        return key

    def _configuration(self, run_key: str) -> dict[str, Any]:
        """A plan run's ConfigurationDTO: ``{"type": "simple", "sets": [[its configs]]}``."""
        configs = self._run_configs.get(run_key, [])
        return {"type": "simple", "sets": [configs] if configs else []}

    async def _create_plan(self, values: Mapping[str, Any], origin: str) -> str:
        """``POST /plans`` with its runs (``testRuns`` with each run's configuration), its
        milestone, ``externalId`` and ``source``; a closed plan is then closed through the
        shim's ``close_plan`` (v1 has no plan archive, §7.6)."""
        body: dict[str, Any] = {
            "name": values.get("name") or "Untitled plan",
            "externalId": external_id(self.ctx.identity, origin),
            "source": SOURCE,
            "testRuns": [
                {"uid": self._uid(run), "configuration": self._configuration(str(run))}
                for run in values.get("runs") or []
            ],
        }
        if values.get("description"):
            body["description"] = values["description"]
        if values.get("milestone"):
            body["milestoneUids"] = [self._uid(values["milestone"])]
        plan = await self.client.create_plan(self.ctx.project_key, body)
        self.plan_external[int(plan["uid"])] = body["externalId"]
        if values.get("closed"):
            await self.client.shim.close_plan(int(plan["uid"]))
        return tf_key("plan", plan["uid"])

    async def _update_other(self, kind: str, key: str, changes: Mapping[str, Any]) -> None:
        """Milestones (``PATCH /milestones``), configuration groups and configurations (shim
        ``update_config_group``/``update_config``), plans (``PATCH /plans``, shim
        ``close_plan``)."""
        uid = self._uid(key)
        if kind == "milestone":
            body: dict[str, Any] = {
                n: changes[n] or "" for n in ("name", "description") if n in changes
            }
            for name, field_name in (("start_on", "startDate"), ("due_on", "dueAt")):
                if changes.get(name) is not None:
                    body[field_name] = iso8601(int(changes[name]))
            if "completed" in changes:
                body["archived"] = bool(changes["completed"])
            if body:
                await self.client.update_milestone(self.ctx.project_key, uid, body)
        elif kind == "config_group" and "name" in changes:
            await self.client.shim.update_config_group(uid, str(changes["name"] or ""))
        elif kind == "config" and "name" in changes:
            await self.client.shim.update_config(uid, str(changes["name"] or ""))
        elif kind == "plan":
            body = {n: changes[n] or "" for n in ("name", "description") if n in changes}
            if "milestone" in changes:
                milestone = changes["milestone"]
                body["milestoneUids"] = [self._uid(milestone)] if milestone else []
            if body:
                await self.client.update_plan(self.ctx.project_key, uid, body)
            if changes.get("closed"):
                await self.client.shim.close_plan(uid)
            elif "closed" in changes:
                raise MappingError(
                    f"{key}: TestFiesta's API cannot open a closed plan again",
                    hint="open the plan in TestFiesta, or copy it in TestRail",
                )

    # ------------------------------------------------------------------ writing

    def _uid(self, key: Any) -> int:
        return int(key_id(str(key)))

    async def _tag_uid(self, testrail_type: str | None) -> int | None:
        if not testrail_type:
            return None
        name = self.ctx.rules.type_tag(testrail_type)
        found = match_name(name, self.ctx.tag_uids)
        if found is None and not self._tags_listed:
            self._tags_listed = True
            with stage("tags"):
                for tag in await self.client.list_tags():
                    self.ctx.tag_uids.setdefault(str(tag["name"]), int(tag["uid"]))
            found = match_name(name, self.ctx.tag_uids)
        if found is not None:
            return self.ctx.tag_uids[found]
        with stage("tags"):
            created = await self.client.create_tag(name, ["cases"])
        self.ctx.tag_uids[name] = int(created["uid"])
        self.created_tags += 1
        return int(created["uid"])

    def _priority_uid(self, testrail_name: str | None) -> int | None:
        if not testrail_name:
            return None
        wanted = self.ctx.rules.priority_name(testrail_name)
        found = match_name(wanted, self.ctx.priority_uids)
        if found is None:
            self.warn(
                str(
                    MappingError(
                        f"TestRail priority {testrail_name!r} has no TestFiesta priority "
                        f"named {wanted!r}; those cases were created without a priority",
                        hint=f'add "{testrail_name}" = "<TestFiesta priority>" '
                        "under [mapping.priority]",
                    )
                )
            )
            return None
        return self.ctx.priority_uids[found]

    def _copy_url(self, ident: str) -> str | None:
        entry = self.ctx.copy_urls.get(ident)
        return str(entry["url"]) if isinstance(entry, Mapping) and entry.get("done") else None

    def with_copy_urls(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """``values`` with every inline TestRail attachment reference that has a copy here
        pointing at the copy (:func:`core.text.to_copy_urls`)."""
        return {
            name: map_text(value, lambda text: to_copy_urls(text, self._copy_url))
            for name, value in values.items()
        }

    async def _case_payload(self, values: Mapping[str, Any], origin: str) -> dict[str, Any]:
        values = self.with_copy_urls(values)
        record = case_from_values(origin, values)
        tag = await self._tag_uid(record.type)
        target = CaseTarget(
            project_uid=self.ctx.project_uid,
            folder_uid=self._uid(values["folder"]),
            template_uid=self.ctx.template_uids.get(record.template) or None,
            priority_uid=self._priority_uid(record.priority),
            tag_uids=(tag,) if tag is not None else (),
            field_names=self.ctx.field_names,
        )
        return case_payload(record, target, external_id(self.ctx.identity, origin))

    async def create(
        self, kind: str, items: Sequence[tuple[Mapping[str, Any], str]], *, more: bool = False
    ) -> list[str | RailfiestaError]:
        """Folders one request each (``POST /folders``), cases in batches (``POST /cases``).
        Every record carries ``source`` and the ``externalId`` of its origin. A case too large
        for TestFiesta even alone is returned as its :class:`core.errors.MappingError`.

        With ``more`` (more creates of the kind follow), cases and results are sent only in
        requests they fill (:data:`CASE_BATCH` cases or the next one past
        :data:`CASE_BATCH_BYTES`; a run's results likewise, see :meth:`_create_results`):
        the keys returned are those of the items sent, a prefix; the rest come again."""
        self._by_external = None
        keys: list[str | RailfiestaError] = []
        if kind == "folder":
            for values, origin in items:
                parent = values.get("parent")
                description = str(values.get("description") or "")
                created = await self.client.create_folder(
                    self.ctx.project_key,
                    name=str(values.get("name") or ""),
                    parent_uid=self._uid(parent) if parent else self.ctx.root_uid,
                    project_uid=self.ctx.project_uid,
                    external_id=external_id(self.ctx.identity, origin),
                    source=SOURCE,
                    custom_fields={"description": description} if description else None,
                )
                keys.append(tf_key("folder", created["uid"]))
            return keys
        if kind == "run":
            for values, origin in items:
                keys.append(await self._create_run(values, origin))
            return keys
        if kind == "shared_step":
            for values, origin in items:
                external = external_id(self.ctx.identity, origin)
                created = await self.client.create_shared_step(
                    self.ctx.project_key,
                    shared_step_payload(
                        str(values.get("title") or "Untitled shared step"),
                        values.get("steps") or [],
                        external,
                    ),
                )
                key = tf_key("shared_step", created["uid"])
                self._shared_external[key] = external
                keys.append(key)
            return keys
        if kind == "milestone":
            for values, _ in items:
                keys.append(await self._create_milestone(values))
            return keys
        if kind in ("config_group", "config"):
            for values, _ in items:
                try:
                    keys.append(await self._create_config(kind, values))
                except MappingError as refused:
                    keys.append(refused)
            return keys
        if kind == "plan":
            for values, origin in items:
                keys.append(await self._create_plan(values, origin))
            return keys
        if kind == "result":
            return await self._create_results(items, more=more)
        if kind == "attachment":
            return [await self._create_attachment(values, origin) for values, origin in items]
        if kind == "case_history":
            for values, _ in items:
                try:
                    keys.append(await self._write_history(values.get("case"), values.get("text")))
                except MappingError as refused:
                    keys.append(refused)
            return keys
        payloads = [(await self._case_payload(values, origin), origin) for values, origin in items]
        batch: list[tuple[dict[str, Any], str]] = []
        size = 1  # the body's bytes: "[" and "]", less the comma the first case goes without
        for payload, origin in payloads:
            length = json_body_bytes(payload) + 1  # the case and the comma before it
            if batch and (len(batch) >= CASE_BATCH or size + length > CASE_BATCH_BYTES):
                keys += await self._create_cases(batch)
                batch, size = [], 1
            batch.append((payload, origin))
            size += length
        if batch and (not more or not keys or len(batch) >= CASE_BATCH):
            keys += await self._create_cases(batch)
        return keys

    async def _create_run(self, values: Mapping[str, Any], origin: str) -> str:
        body: dict[str, Any] = {
            "name": values.get("name") or "Untitled run",
            "caseUids": [self._uid(c) for c in values.get("cases") or []],
            "externalId": external_id(self.ctx.identity, origin),
            "source": SOURCE,
        }
        if values.get("description"):
            body["description"] = values["description"]
        if values.get("milestone"):
            body["milestoneUids"] = [self._uid(values["milestone"])]
        configs = [self.config_strings[c] for c in values.get("configs") or []
                   if c in self.config_strings]  # fmt: skip
        if configs:
            body["configs"] = configs
        run = await self.client.create_run(self.ctx.project_key, body)
        self._run_configs[tf_key("run", run["uid"])] = configs
        self.copied_runs.add(int(run["uid"]))
        self.run_external[int(run["uid"])] = body["externalId"]
        self._executions = None
        if values.get("closed"):
            await self.client.update_run(self.ctx.project_key, int(run["uid"]), {"archive": True})
        return tf_key("run", run["uid"])

    async def _create_attachment(
        self, values: Mapping[str, Any], origin: str
    ) -> str | RailfiestaError:
        """One TestRail attachment through the signed-URL upload (testfiesta-api.md §3.13,
        as TestFiesta's CLI attaches files): ``POST /data/url`` with the owner's
        ``externalId`` (and ``runId`` for a run's or an execution's file: see
        :meth:`_upload_target`), then ``PUT`` of the bytes to the signed URL. The bytes must
        hash to the record's ``sha256``. Then each case whose text shows the file inline is
        rewritten to point at the copy (:meth:`_rewrite_case`). The copy's URL is kept in
        ``copy_urls`` before the upload (not done) and after it
        (done), so a crash in between is settled by :meth:`find`."""
        if self.blobs is None:
            return MappingError(
                f"{origin}: no TestRail side to read the file from",
                hint="run migrate or sync (they read both sides)",
            )
        owner = attachment_owner(values) or ""
        file: dict[str, Any] = {
            "fileName": str(values.get("name") or f"attachment-{key_id(origin)}"),
            "mediaType": "attachment",
        }
        target = await self._upload_target(origin, owner, values)
        if isinstance(target, RailfiestaError):
            return target
        file.update(target)
        if owner.startswith("tf:case:") and owner not in self.created_cases:
            found = await self._existing_attachment(origin, owner, values)
            if found is not None:
                return found
        content, content_type = await self.blobs(origin)
        digest = hashlib.sha256(content).hexdigest()
        if values.get("sha256") and digest != values["sha256"]:
            return MappingError(
                f"{origin}: TestRail sent other bytes than it did when it was read "
                f"(sha256 {digest[:12]} instead of {str(values['sha256'])[:12]})",
                hint="run the migration again: the file is read once more",
            )
        file.update(fileType=content_type, size=len(content))
        [answer] = await self.client.upload_urls(self.ctx.project_key, [file])
        ident = key_id(origin)
        url = str(answer.get("objectUrl") or "")
        # until the PUT is seen through, the entry keeps the signed URL (one PUT of this one
        # object, until it expires): a restart finishes a cut upload with it (_put_again)
        self.ctx.copy_urls[ident] = {
            "url": url,
            "done": False,
            "key": str(answer.get("key")),
            "signed": str(answer["signedUrl"]),
            "headers": dict(answer.get("clientHeaders") or {}),
        }
        await self.client.put_signed(
            str(answer["signedUrl"]), content, content_type, answer.get("clientHeaders") or {}
        )
        self.ctx.copy_urls[ident] = {"url": url, "done": True, "key": str(answer.get("key"))}
        for case in values.get("inline") or []:
            await self._rewrite_case(str(case))
        return tf_key("attachment", str(answer.get("key")))

    async def _upload_target(
        self, origin: str, owner: str, values: Mapping[str, Any]
    ) -> dict[str, Any] | RailfiestaError:
        """Whom an uploaded file goes to (testfiesta-api.md §3.13, §7.5, §7.9): the
        ``externalId`` of its owner, and ``runId`` for a file on a run or an execution.

        - a case's: the case's ``externalId``;
        - a run's: the run's ``externalId`` and its uid as ``runId``;
        - a result's: TestFiesta keeps no result records with files, so the file goes to the
          result's execution (the attachment's ``test``): the execution's ``externalId`` (its
          case's when it has none, as tacotruck's executions carry their case's) and its run's
          uid as ``runId`` (execution read when it was listed, else ``GET /executions/{id}``);
        - a plan's: the plan's ``externalId``.

        A :class:`MappingError` when the owner has no ``externalId`` (made in TestFiesta)."""
        if owner.startswith("tf:case:"):
            row = await self._row(owner)
            if not row.get("externalId"):
                return MappingError(
                    f"{origin}: its case {owner} was created in TestFiesta and has no "
                    "externalId, which the upload needs",
                    hint="attach the file to the case in TestFiesta",
                )
            return {"externalId": str(row["externalId"])}
        if owner.startswith("tf:run:"):
            run_external = self.run_external.get(self._uid(owner))
            target: dict[str, Any] = {"runId": self._uid(owner)}
            if run_external:
                target["externalId"] = run_external
            return target
        if owner.startswith("tf:result:"):
            test = str(values.get("test") or "")
            if not test.startswith("tf:execution:"):
                return MappingError(
                    f"{origin}: its result {owner} names no TestFiesta execution ({test})",
                    hint="run the sync again: the result's test is paired first",
                )
            execution = self._uid(test)
            if execution not in self.execution_runs or execution not in self.execution_cases:
                self._note_run(await self.client.get_execution(self.ctx.project_key, execution))
            external = self.execution_external.get(execution)
            case = self.execution_cases.get(execution)
            if not external and case is not None:
                external = (await self._row(tf_key("case", case))).get("externalId")
            if not external or execution not in self.execution_runs:
                return MappingError(
                    f"{origin}: the execution {test} of result {owner} has no externalId "
                    "(nor has its case), which the upload needs",
                    hint="attach the file to the execution in TestFiesta",
                )
            return {"externalId": str(external), "runId": self.execution_runs[execution]}
        if owner.startswith("tf:plan:"):
            plan_external = self.plan_external.get(self._uid(owner))
            if not plan_external:
                return MappingError(
                    f"{origin}: its plan {owner} has no externalId, which the upload needs",
                    hint="attach the file to the plan in TestFiesta",
                )
            return {"externalId": plan_external}
        return MappingError(
            f"{origin}: TestFiesta's API takes files for cases, runs, executions and plans "
            f"only ({owner or 'no owner'})",
            hint="the file stays in TestRail",
        )

    async def _existing_attachment(
        self, origin: str, owner: str, values: Mapping[str, Any]
    ) -> str | None:
        """Lookup before create (DESIGN §4) for a file of a case this run did not create (a
        re-run whose state store is new): the owner's shim ``get_attachments_for_case``
        listing a file of the same name and size is the copy (TestFiesta's API lists no
        hash to compare). An inline copy's URL is read back from the case's text. Counted
        in :attr:`found_existing`."""
        rows = await self.client.shim.get_attachments_for_case(self._uid(owner))
        match = next(
            (
                r
                for r in rows
                if r.get("name") == values.get("name") and r.get("size") == values.get("size")
            ),
            None,
        )
        if match is None:
            return None
        ident = key_id(origin)
        if values.get("inline") and not self._copy_url(ident):
            row = await self.client.get_case(self.ctx.project_key, key_id(owner))
            text = json.dumps([row.get("customFields"), row.get("steps")], ensure_ascii=False)
            url = re.search(r"([^\s()\"'<>#]+)" + re.escape(COPY_MARK + ident) + r"\b", text)
            if url:
                self.ctx.copy_urls[ident] = {"url": url.group(1), "done": True, "key": ""}
        self.found_existing["attachment"] += 1
        return tf_key("attachment", f"case-{match['id']}")

    async def _rewrite_case(self, key: str) -> None:
        """Point the inline attachment references of case ``key`` at their copies: one
        ``GET /cases/{id}`` and, when something changed, one ``/data`` upsert of its steps and
        custom fields (the case needs its ``externalId``; one without keeps TestRail's
        references)."""
        row = await self.client.get_case(self.ctx.project_key, key_id(key))
        self._rows.pop(key, None)
        swap = lambda text: to_copy_urls(text, self._copy_url)  # noqa: E731
        custom = map_text(row.get("customFields") or {}, swap)
        steps = map_text(row.get("steps") or [], swap)
        if custom == (row.get("customFields") or {}) and steps == (row.get("steps") or []):
            return
        if not row.get("externalId") or not row.get("source"):
            return
        entry = {
            "name": row.get("name") or "",
            "externalId": row["externalId"],
            "source": row["source"],
            "steps": steps,
            "customFields": custom,
        }
        await self.client.upsert_data(self.ctx.project_key, {"cases": [entry]})

    def _result_comment(self, values: Mapping[str, Any], origin: str) -> str:
        """A copied result's comment: :data:`RESULT_HEADER` (id, status, author and time kept),
        a blank line, and TestRail's comment followed by the details TestFiesta has no field
        for (:func:`core.testfiesta.results.with_details`: elapsed, version, defects, result
        fields by their labels, step results)."""
        created = values.get("created_on")
        header = RESULT_HEADER.format(
            id=key_id(origin),
            status=values.get("status"),
            author=values.get("author") or "unknown",
            time=iso8601(int(created)) if created else "unknown time",
        )
        entries = detail_entries(values, self.ctx.result_fields)
        comment = with_details(str(values.get("comment") or ""), entries)
        return f"{header}\n\n{comment}" if comment else header

    async def _create_results(
        self, items: Sequence[tuple[Mapping[str, Any], str]], *, more: bool = False
    ) -> list[str | RailfiestaError]:
        """TestRail results onto their executions, oldest first, through the shim's bulk
        ``add_results/{run}`` (one request per run and :data:`RESULT_BATCH` results, capped by
        :data:`RESULT_BATCH_BYTES`); a result whose execution's run is not known yet goes alone
        through ``add_result/{execution}``. One execution's results are never split between
        two requests (a request may run past the caps for them): each request lands whole or
        not at all, so an execution never shows an older result's status as its latest. A
        status nothing maps is returned as its :class:`MappingError` in its place; the others
        still land. With ``more``, a last request that is neither full nor followed by
        another run's results is not sent when it holds the last items: the keys returned
        end before them (see :meth:`create`)."""
        out: list[str | RailfiestaError | None] = [None] * len(items)
        group: list[tuple[int, int, dict[str, Any]]] = []
        group_run: int | None = None
        # the body's bytes: {"results":[ and ]}, less the comma the first result goes without
        empty = json_body_bytes({"results": []}) - 1
        size = empty

        async def flush() -> None:
            nonlocal group, size
            if not group or group_run is None:
                return
            rows = await self.client.shim.add_results(
                group_run, [{"test_id": execution, **body} for _, execution, body in group]
            )
            if len(rows) != len(group):
                raise UnexpectedResponse(
                    f"testfiesta add_results/{group_run} answered {len(rows)} results for "
                    f"{len(group)} sent",
                    hint="run the sync again: the results it wrote are found by their header",
                )
            for (index, _, _), row in zip(group, rows, strict=True):
                out[index] = tf_key("result", row["id"])
            group, size = [], empty

        refused: set[int] = set()  # executions one of whose results could not be sent
        for index, (values, origin) in enumerate(items):
            execution = self._uid(values["test"])
            if execution in refused:
                out[index] = MappingError(
                    f"result {origin} waits: an older result of its test could not be copied",
                    hint="fix the older result's problem (reported above), then run again",
                )
                continue
            try:
                status = await self._status_uid(values.get("status"))
            except MappingError as error:
                out[index] = error
                refused.add(execution)
                continue
            body = {"status_id": status, "comment": self._result_comment(values, origin)}
            run = self.execution_runs.get(execution)
            if run is None:
                row = await self.client.shim.add_result(execution, body)
                out[index] = tf_key("result", row["id"])
                continue
            length = json_body_bytes({"test_id": execution, **body}) + 1  # and its comma
            full = len(group) >= RESULT_BATCH or size + length > RESULT_BATCH_BYTES
            if group and (run != group_run or (full and execution != group[-1][1])):
                await flush()
            group_run = run
            group.append((index, execution, body))
            size += length
        end = len(items)
        if (
            more
            and group
            and len(group) < RESULT_BATCH
            and group[0][0] > 0
            and [i for i, _, _ in group] == list(range(group[0][0], len(items)))
        ):
            end = group[0][0]  # an open request at the end: sent with what follows
        else:
            await flush()
        latest: dict[int, Mapping[str, Any]] = {}
        for index, (values, _) in enumerate(items[:end]):
            if isinstance(out[index], str):
                latest[self._uid(values["test"])] = values
        unmapped: dict[str, list[str]] = {}  # refusal -> "execution <uid>, step <n>"
        for execution, values in latest.items():
            if values.get("step_results"):
                await self._step_statuses(execution, values["step_results"], unmapped)
        for refusal, steps in unmapped.items():  # one line per refusal, however many steps
            shown = "; ".join(steps[:3]) + (
                f"; ... {len(steps) - 3} more" if len(steps) > 3 else ""
            )
            where = steps[0] if len(steps) == 1 else f"{len(steps)} steps ({shown})"
            self.warn(f"{where}: {refusal}")
        return [key if key is not None else RailfiestaError("not written") for key in out[:end]]

    async def _step_statuses(
        self,
        execution: int,
        step_results: Sequence[Mapping[str, Any]],
        unmapped: dict[str, list[str]],
    ) -> None:
        """The step statuses of an execution's newest copied result onto its steps (§7.5:
        ``PATCH /executions/{id}`` ``steps[] {uid, position, status}``, only the latest
        state): the N-th step result onto the execution's N-th step by ``position``, a step
        result past its last step added as a step (``description``, ``expectedResult``).
        Nothing is sent when every step already has its status (the execution's steps as
        last read, else one ``GET /executions/{id}``); a step status nothing maps is left
        out and added to ``unmapped`` (its refusal -> ``"execution <uid>, step <n>"``), which
        the caller warns of once per refusal."""
        if execution not in self.execution_steps:
            self._note_run(await self.client.get_execution(self.ctx.project_key, execution))
        steps = sorted(
            self.execution_steps.get(execution, []), key=lambda s: s.get("position") or 0
        )
        body: list[dict[str, Any]] = []
        for index, result in enumerate(step_results):
            if not result.get("status"):
                continue
            try:
                status = await self._status_uid(result["status"])
            except MappingError as error:
                unmapped.setdefault(str(error), []).append(
                    f"execution {execution}, step {index + 1}"
                )
                continue
            if index < len(steps):
                step = steps[index]
                if step.get("status") != status:
                    body.append(
                        {"uid": step["uid"], "position": step.get("position", index),
                         "status": status}
                    )  # fmt: skip
                continue
            position = (steps[-1].get("position") or 0) + index - len(steps) + 1 if steps else index
            added: dict[str, Any] = {"position": position, "status": status}
            if result.get("content"):
                added["description"] = result["content"]
            if result.get("expected"):
                added["expectedResult"] = result["expected"]
            body.append(added)
        if not body:
            return
        row = await self.client.update_execution(self.ctx.project_key, execution, {"steps": body})
        self._note_run(row)

    async def _create_cases(
        self, batch: list[tuple[dict[str, Any], str]]
    ) -> list[str | RailfiestaError]:
        """One ``POST /cases``; a 413 (nothing stored) splits the batch in halves; one case
        too large alone comes back as a clear error in its place."""
        try:
            created = await self.client.create_cases(
                self.ctx.project_key, [payload for payload, _ in batch]
            )
        except ApiError as error:
            if error.status != 413:
                raise
            if len(batch) == 1:
                payload, origin = batch[0]
                return [
                    MappingError(
                        f"case {origin} ({str(payload.get('name'))[:60]!r}) is too large for "
                        "TestFiesta (HTTP 413 even on its own)",
                        hint="shorten its longest text field in TestRail, then run again",
                    )
                ]
            half = len(batch) // 2
            return await self._create_cases(batch[:half]) + await self._create_cases(batch[half:])
        keys: list[str | RailfiestaError] = []
        for row in created:
            key = tf_key("case", row["uid"])
            self._rows[key] = self._kept_row(row)
            self.created_cases.add(key)
            keys.append(key)
        return keys

    async def _row(self, key: str) -> dict[str, Any]:
        if key not in self._rows:
            row = await self.client.get_case(self.ctx.project_key, key_id(key))
            self._rows[key] = self._kept_row(row)
        return self._rows[key]

    def _kept_row(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """What the writes after a read need of a case row (:meth:`update`, :meth:`archive`,
        the steps' ``/data`` upsert, a file's owner): ``externalId``, ``source`` and ``tags``
        as tag uids (ints), the keys it has. Not the whole row: a migration reads or
        creates every case, and a whole row is ~3 KB (bench/migration.py's cases)."""
        kept = {name: row[name] for name in ("externalId", "source") if name in row}
        if "tags" in row:
            kept["tags"] = [
                t for t in (self._tag_of(x) for x in row["tags"] or []) if t is not None
            ]
        return kept

    async def update(self, kind: str, key: str, changes: Mapping[str, Any]) -> None:
        """Folders: ``PATCH /folders/{id}``. Cases: shim ``update_case``, plus the ``/data``
        upsert when steps changed. Raises :class:`core.errors.NotFound` when the record is
        gone, :class:`core.errors.MappingError` for steps of a case without ``externalId``."""
        if kind == "folder":
            body: dict[str, Any] = {}
            if "name" in changes:
                body["name"] = changes["name"] or ""
            if "parent" in changes:
                parent = changes["parent"]
                body["parentId"] = self._uid(parent) if parent else self.ctx.root_uid
            if "description" in changes:
                body["customFields"] = {"description": changes["description"] or ""}
            await self.client.update_folder(self.ctx.project_key, self._uid(key), body)
            return
        if kind in ("milestone", "config_group", "config", "plan"):
            await self._update_other(kind, key, changes)
            return
        if kind == "case_history":
            if "text" in changes:
                await self._write_history(changes.get("case") or tf_key("case", key_id(key)),
                                          changes["text"])  # fmt: skip
            return
        if kind == "run":
            body = {n: changes[n] or "" for n in ("name", "description") if n in changes}
            if "closed" in changes:
                body["archive"] = bool(changes["closed"])
            if "milestone" in changes:
                current = self._run_milestones.get(self._uid(key), [])
                wanted = [self._uid(changes["milestone"])] if changes["milestone"] else []
                if wanted and wanted[0] not in current:
                    body["addMilestoneUids"] = wanted
                if [m for m in current if m not in wanted]:
                    body["removeMilestoneUids"] = [m for m in current if m not in wanted]
            await self.client.update_run(self.ctx.project_key, self._uid(key), body)
            return
        if kind == "shared_step":
            body = {}
            if "title" in changes:
                body["name"] = changes["title"] or ""
            if "steps" in changes:
                body["steps"] = shared_step_payload(
                    "", changes["steps"] or [], self._shared_external.get(key)
                )["steps"]
            if body:
                await self.client.update_shared_step(self.ctx.project_key, self._uid(key), body)
            return
        if kind == "test":
            execution: dict[str, Any] = {}
            if "status" in changes:
                execution["status"] = await self._status_uid(changes["status"])
            if "assignee" in changes:
                user = self._assignee(changes["assignee"])
                if user is not None:
                    execution["assignedTo"] = user
            if execution:
                await self.client.update_execution(self.ctx.project_key, self._uid(key), execution)
            return
        changes = self.with_copy_urls(changes)
        row = await self._row(key)
        shim: dict[str, Any] = {}
        names = self.ctx.field_names
        for name, value in changes.items():
            if name == "title":
                shim["title"] = value or ""
            elif name == "folder":
                shim["section_id"] = self._uid(value)
            elif name == "template" and value in self.ctx.template_uids:
                shim["template_id"] = int(self.ctx.template_uids[value])
            elif name == "priority":
                uid = self._priority_uid(value)
                if uid is not None:
                    shim["priority_id"] = uid
            elif name == "type":
                # the case's type is its first tag (as the shim's type_id): replace that one
                tags = [t for t in (self._tag_of(x) for x in row.get("tags") or []) if t]
                new = await self._tag_uid(value)
                rest = tags[1:] if tags and tags[0] != self.ctx.tag_uids.get(ARCHIVE_TAG) else tags
                shim["labels"] = ([new] if new is not None else []) + rest
            elif name in (REFS_FIELD, ESTIMATE_FIELD):
                shim[f"custom_case_{names.get(name, name)}"] = value or None
            elif name.startswith(FIELD_PREFIX):
                system = name[len(FIELD_PREFIX) :]
                shim[f"custom_case_{names.get(system, system)}"] = value
        if shim:
            await self.client.shim.update_case(self._uid(key), shim)
        if "steps" in changes:
            await self._write_steps(key, row, changes["steps"] or [])
        self._rows.pop(key, None)

    def _tag_of(self, tag: Any) -> int | None:
        if isinstance(tag, Mapping):
            return int(tag["uid"])
        try:
            return int(tag)
        except (TypeError, ValueError):
            return None

    async def _write_steps(self, key: str, row: Mapping[str, Any], steps: list[Any]) -> None:
        external, source = row.get("externalId"), row.get("source")
        if not external or not source:
            raise MappingError(
                f"{key} was created in TestFiesta: TestFiesta's API cannot change its steps "
                "(v1 has no case update, the shim's update_case takes no steps, and the /data "
                "upsert needs an externalId)",
                hint="edit the steps of this case in TestFiesta; its other values still sync",
            )
        current = await self.client.get_case(self.ctx.project_key, key_id(key))
        record = case_from_values(key, {"steps": steps})
        entry = {
            "name": current.get("name") or "",
            "externalId": external,
            "source": source,
            "steps": steps_payload(record.steps),
            "customFields": {
                **(current.get("customFields") or {}),
                "expectedResultByStep": bool(record.steps),
            },
        }
        await self.client.upsert_data(self.ctx.project_key, {"cases": [entry]})

    async def archive(self, kind: str, key: str) -> None:
        """Cases: tagged :data:`ARCHIVE_TAG` (v1 has no case archive). Folders cannot be
        archived through the API: :class:`core.errors.MappingError`."""
        if kind == "milestone":
            await self.client.update_milestone(
                self.ctx.project_key, self._uid(key), {"archived": True}
            )
            return
        if kind != "case":
            raise MappingError(
                f"{key}: TestFiesta's API cannot archive a {kind}",
                hint='use delete_policy = "flag" or "propagate" for folders',
            )
        row = await self._row(key)
        tags = [t for t in (self._tag_of(x) for x in row.get("tags") or []) if t is not None]
        await self.client.shim.update_case(self._uid(key), {"labels": [*tags, ARCHIVE_TAG]})
        self._rows.pop(key, None)

    async def delete(self, kind: str, key: str) -> None:
        """``DELETE /folders/{id}`` or ``DELETE /cases/{id}``; gone already is fine."""
        if kind not in ("case", "folder"):
            raise MappingError(
                f"{key}: railfiesta does not delete a TestFiesta {kind}",
                hint='delete it in TestFiesta yourself, or keep delete_policy = "flag"',
            )
        try:
            if kind == "folder":
                await self.client.delete_folder(self.ctx.project_key, self._uid(key))
            elif kind == "shared_step":
                await self.client.delete_shared_step(self.ctx.project_key, self._uid(key))
            else:
                await self.client.delete_case(self.ctx.project_key, self._uid(key))
        except NotFound:
            return
