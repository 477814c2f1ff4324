"""The in-memory organisation behind the TestFiesta emulator: records, catalogues and clock.

One :class:`TestFiestaState` is one organisation (one ``{handle}``). It stores every record as
a dict in the JSON shape the API answers with (testfiesta-api.md §4), plus internal keys that
start with ``_`` and never leave the emulator. Handlers validate requests (``dto``), then call
the domain operations here; tests read the accessors (:meth:`TestFiestaState.folders`,
:meth:`~TestFiestaState.cases`, ...) to assert what the product wrote.

Choices the contracts leave open, all [INF]:

- uids are integers from **one** sequence shared by every numeric-uid table (projects, folders,
  cases, runs, ...), so a uid of one kind never names a record of another kind by accident;
  custom-field uids are strings ``"cf-<n>"`` (the mock's ``"cf-001"`` style).
- ``testCaseRef`` is a per-project running number from 1 (the ``KEY-1`` display id).
- Deletes are soft: ``deletedAt`` is set and the record leaves lists and single GETs (404).
- ``updatedAt`` moves only when a write changed something.
- Timestamps are ISO 8601 UTC with milliseconds and ``Z``; the clock is injectable.
- A folder's ``path`` is the dotted uids from the root folder down to the folder itself
  (root: ``"12"``; its child 15: ``"12.15"``), as the mocks' ``<parentUid>.150``.
- Creating a project creates its root folder (``parentUid`` null, name = project name; the shim
  calls it the suite) and, unless disabled, the four default templates the docs name (Text,
  Steps, Exploratory session, BDD; §3.5) with Text as the default.
"""

from __future__ import annotations

import copy
import random
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from emulators.testfiesta.errors import ApiError, bad_request, not_found

Row = dict[str, Any]
Clock = Callable[[], datetime]

DEFAULT_USER_UID = "6f1c2b7e-3d4a-4e5f-8a9b-0c1d2e3f4a5b"


def iso(moment: datetime) -> str:
    """``moment`` as ISO 8601 UTC with milliseconds and ``Z``: ``2025-03-10T12:00:00.000Z``.

    A naive datetime is taken as UTC.
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


def parse_iso(value: str) -> datetime:
    """Parse an ISO 8601 string (``Z`` or offset; naive = UTC); raise ValueError if invalid."""
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def unix_seconds(value: str) -> int:
    """An ISO timestamp of this emulator as UNIX seconds (the shim's time format)."""
    return int(parse_iso(value).timestamp())


@dataclass(frozen=True)
class ExecutionStatus:
    """An org-defined execution status: ``uid``, ``name``, ``color`` (24-bit RGB int),
    ``is_final`` (ends the test), ``is_untested`` (the "not run yet" status)."""

    uid: int
    name: str
    color: int
    is_final: bool
    is_untested: bool = False


@dataclass(frozen=True)
class Priority:
    """An org-defined priority: ``uid``, ``name``, ``short_name``."""

    uid: int
    name: str
    short_name: str


@dataclass(frozen=True)
class CaseStatus:
    """An org-defined case status (separate from execution statuses [INF]): ``uid``, ``name``."""

    uid: int
    name: str


# Numeric uids deliberately unlike TestRail's ids (1 Passed, 5 Failed; priorities 1..4), so a
# client that passes TestRail ids through raw gets a 400 instead of a silent wrong value.
DEFAULT_EXECUTION_STATUSES: tuple[ExecutionStatus, ...] = (
    ExecutionStatus(101, "Passed", 0x4CAF50, True),
    ExecutionStatus(102, "Failed", 0xE53935, True),
    ExecutionStatus(103, "Blocked", 0x757575, True),
    ExecutionStatus(104, "Retest", 0xFFA000, False),
    ExecutionStatus(105, "Untested", 0xBDBDBD, False, is_untested=True),
    ExecutionStatus(106, "Skipped", 0x42A5F5, True),
)
DEFAULT_PRIORITIES: tuple[Priority, ...] = (
    Priority(201, "Critical", "Crit"),
    Priority(202, "High", "High"),
    Priority(203, "Medium", "Med"),
    Priority(204, "Low", "Low"),
)
DEFAULT_CASE_STATUSES: tuple[CaseStatus, ...] = (
    CaseStatus(301, "Draft"),
    CaseStatus(302, "Active"),
    CaseStatus(303, "Deprecated"),
)
#: (name, is_default, ((field name, dataType), ...)) per default template (docs, §3.5).
DEFAULT_TEMPLATES: tuple[tuple[str, bool, tuple[tuple[str, str], ...]], ...] = (
    ("Text", True, (("Pre-condition", "text"), ("Steps", "text"), ("Expected result", "text"))),
    ("Steps", False, (("Pre-condition", "text"), ("Steps", "step"))),
    ("Exploratory session", False, (("Mission", "text"), ("Goals", "text"))),
    ("BDD", False, (("Given", "text"), ("When", "text"), ("Then", "text"))),
)


_Entry = TypeVar("_Entry", ExecutionStatus, Priority, CaseStatus)


def _by_uid(items: Sequence[_Entry], kind: str, uid: Any, where: str) -> _Entry:
    for item in items:
        if item.uid == uid and type(uid) is int:
            return item
    valid = ", ".join(f"{item.uid} ({item.name})" for item in items)
    raise bad_request(f"{where}: no {kind} with uid {uid!r}; the org has {valid}")


def _by_name(items: Sequence[_Entry], kind: str, name: str, where: str) -> _Entry:
    for item in items:
        if item.name.casefold() == name.casefold():
            return item
    valid = ", ".join(item.name for item in items)
    raise bad_request(f"{where}: no {kind} named {name!r}; the org has {valid}")


@dataclass
class Tables:
    """The stored rows of one organisation, uid -> row, in creation order (dicts keep it).

    Rows are the API shapes plus internal ``_`` keys; handlers and tests outside this module
    read them through :class:`TestFiestaState`, which hands out copies.
    """

    projects: dict[int, Row] = field(default_factory=dict)
    folders: dict[int, Row] = field(default_factory=dict)
    cases: dict[int, Row] = field(default_factory=dict)
    tags: dict[int, Row] = field(default_factory=dict)
    templates: dict[int, Row] = field(default_factory=dict)
    custom_fields: dict[str, Row] = field(default_factory=dict)
    runs: dict[int, Row] = field(default_factory=dict)
    milestones: dict[int, Row] = field(default_factory=dict)
    plans: dict[int, Row] = field(default_factory=dict)
    executions: dict[int, Row] = field(default_factory=dict)
    shared_steps: dict[int, Row] = field(default_factory=dict)
    #: Results of executions, written and read through the shim only (v1 has no results).
    results: dict[int, Row] = field(default_factory=dict)
    #: Configuration groups and their options (shim only; v1 has no configuration CRUD).
    config_groups: dict[int, Row] = field(default_factory=dict)
    configs: dict[int, Row] = field(default_factory=dict)
    #: Files added through the shim (cases) or the signed-URL upload (cases, executions, runs,
    #: plans; see ``emulators.testfiesta.uploads``): metadata plus the bytes (``_content``).
    attachments: dict[int, Row] = field(default_factory=dict)
    #: run uid -> the uids of its executions (deleted ones too), so a run's stats cost its
    #: own executions, not every execution of the organisation
    run_executions: dict[int, list[int]] = field(default_factory=dict)


def public(row: Row) -> Row:
    """A deep copy of ``row`` without the internal ``_`` keys."""
    return {key: copy.deepcopy(value) for key, value in row.items() if not key.startswith("_")}


def live(rows: Iterable[Row]) -> list[Row]:
    """The rows of ``rows`` that are not soft-deleted."""
    return [row for row in rows if row.get("deletedAt") is None]


class TestFiestaState:
    """One emulated TestFiesta organisation, in memory.

    ``clock`` returns the current time (aware or naive-UTC datetime); ``user_uid`` is the UUID
    of the API key's owner, used as ``createdBy``; ``execution_statuses``, ``priorities`` and
    ``case_statuses`` are the org's catalogues (shim ``get_statuses``/``get_priorities``);
    ``default_templates`` seeds each new project with the docs' four templates; ``seed`` makes
    generated step/field ids reproducible.

    The stored rows live in :attr:`db` (:class:`Tables`). Tests assert through the accessors
    at the end (``projects()``, ``project(key)``, ``root_folder(key)``, ``folders(key)``,
    ``cases(key)``, ``runs(key)``, ``executions(key)``, ...), which return response-shaped
    copies of the live (not deleted) records.
    """

    __test__ = False  # not a pytest test class, despite the name

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        user_uid: str = DEFAULT_USER_UID,
        execution_statuses: Sequence[ExecutionStatus] = DEFAULT_EXECUTION_STATUSES,
        priorities: Sequence[Priority] = DEFAULT_PRIORITIES,
        case_statuses: Sequence[CaseStatus] = DEFAULT_CASE_STATUSES,
        default_templates: bool = True,
        seed: int = 0,
    ) -> None:
        self.clock: Clock = clock or (lambda: datetime.now(UTC))
        self.user_uid = user_uid
        self.execution_statuses = tuple(execution_statuses)
        self.priorities = tuple(priorities)
        self.case_statuses = tuple(case_statuses)
        self.default_templates = default_templates
        self._rng = random.Random(seed)
        self._next_uid = 1
        self._next_cf = 1
        self._case_refs: dict[int, int] = {}
        self.db = Tables()

    # --- plumbing ------------------------------------------------------------------------

    def now(self) -> str:
        """The clock's current time as an ISO string (see :func:`iso`)."""
        return iso(self.clock())

    def new_uid(self) -> int:
        """The next integer uid of the shared sequence."""
        uid = self._next_uid
        self._next_uid += 1
        return uid

    def new_id(self) -> str:
        """A fresh UUID4 string from the seeded generator (step ids, template field ids)."""
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def update(self, row: Row, changes: dict[str, Any]) -> bool:
        """Apply ``changes`` to ``row``; bump ``updatedAt`` only if a value differs. True if so."""
        changed = False
        for key, value in changes.items():
            if key not in row or row[key] != value:
                row[key] = value
                changed = True
        if changed:
            row["updatedAt"] = self.now()
        return changed

    def soft_delete(self, row: Row) -> None:
        """Mark ``row`` deleted (``deletedAt`` = now)."""
        row["deletedAt"] = row["updatedAt"] = self.now()

    def new_envelope(self, system_type: str, name: str, project_uid: int | None) -> Row:
        """A new row in the tag-like envelope shape shared by folders, runs, milestones, tags
        and plans (§4.1)."""
        now = self.now()
        return {
            "uid": self.new_uid(),
            "name": name,
            "description": None,
            "entityTypes": None,
            "parentUid": None,
            "projectUid": project_uid,
            "createdAt": now,
            "updatedAt": now,
            "archivedAt": None,
            "deletedAt": None,
            "systemType": system_type,
            "slug": None,
            "customFields": {},
            "externalCreatedAt": None,
            "externalUpdatedAt": None,
            "externalId": None,
            "source": None,
            "integrationUid": None,
            "position": None,
            "path": None,
            "aggregates": {},
            "createdBy": self.user_uid,
        }

    # --- catalogues ----------------------------------------------------------------------

    def priority(self, uid: Any, where: str = "priority") -> Priority:
        """The priority with ``uid``; 400 naming ``where`` and the valid uids otherwise."""
        return _by_uid(self.priorities, "priority", uid, where)

    def priority_named(self, name: str, where: str = "priorityText") -> Priority:
        """The priority whose name matches ``name`` case-insensitively [INF]; 400 otherwise."""
        return _by_name(self.priorities, "priority", name, where)

    def case_status(self, uid: Any, where: str = "status") -> CaseStatus:
        """The case status with ``uid``; 400 otherwise."""
        return _by_uid(self.case_statuses, "case status", uid, where)

    def case_status_named(self, name: str, where: str = "statusText") -> CaseStatus:
        """The case status named ``name`` (case-insensitive [INF]); 400 otherwise."""
        return _by_name(self.case_statuses, "case status", name, where)

    def execution_status(self, uid: Any, where: str = "status") -> ExecutionStatus:
        """The execution status with ``uid``; 400 otherwise."""
        return _by_uid(self.execution_statuses, "execution status", uid, where)

    def execution_status_named(self, name: str, where: str = "status") -> ExecutionStatus:
        """The execution status named ``name`` (case-insensitive [INF]); 400 otherwise."""
        return _by_name(self.execution_statuses, "execution status", name, where)

    def untested_status(self) -> ExecutionStatus | None:
        """The status flagged ``is_untested`` (the default of a new execution), if any."""
        return next((s for s in self.execution_statuses if s.is_untested), None)

    # --- projects ------------------------------------------------------------------------

    def project_row(self, key: str) -> Row:
        """The stored project with ``key`` (exact match); 404 if there is none."""
        for row in self.db.projects.values():
            if row["key"] == key and row["deletedAt"] is None:
                return row
        raise not_found(f"project {key!r} not found")

    def create_project(
        self,
        name: str,
        key: str,
        *,
        custom_fields: dict[str, Any] | None = None,
        external_id: str | None = None,
        source: str | None = None,
    ) -> Row:
        """Create a project (P2) with its root folder and default templates; return its row.

        Raises 409 if ``key`` is taken [INF: the spec says keys are unique, not the code].
        """
        if any(row["key"] == key for row in self.db.projects.values()):
            raise ApiError(409, f"a project with key {key!r} already exists")
        now = self.now()
        row: Row = {
            "uid": self.new_uid(),
            "name": name,
            "key": key,
            "customFields": copy.deepcopy(custom_fields) if custom_fields is not None else {},
            "externalId": external_id,
            "source": source,
            "createdAt": now,
            "updatedAt": now,
            "archivedAt": None,
            "deletedAt": None,
            "createdBy": self.user_uid,
        }
        self.db.projects[row["uid"]] = row
        root = self.new_envelope("folder", name, row["uid"])
        root["path"] = str(root["uid"])
        self.db.folders[root["uid"]] = root
        row["_rootFolderUid"] = root["uid"]
        if self.default_templates:
            for template_name, is_default, fields in DEFAULT_TEMPLATES:
                template_fields = [
                    {"id": self.new_id(), "name": field, "dataType": data_type}
                    for field, data_type in fields
                ]
                template = self.create_template(row["uid"], template_name, template_fields)
                template["isDefault"] = is_default
        return row

    # --- folders -------------------------------------------------------------------------

    def root_folder_row(self, project_uid: int) -> Row:
        """The stored root folder of the project (the shim's suite)."""
        return self.db.folders[self.db.projects[project_uid]["_rootFolderUid"]]

    def folder_row(self, project_uid: int, uid: Any, where: str | None = None) -> Row:
        """The live folder ``uid`` of the project; 404 (or 400 naming ``where``) otherwise."""
        row = self.db.folders.get(uid) if type(uid) is int else None
        if row is None or row["projectUid"] != project_uid or row["deletedAt"] is not None:
            if where:
                raise bad_request(f"{where}: folder {uid!r} not found in this project")
            raise not_found(f"folder {uid!r} not found")
        return row

    def create_folder(
        self,
        project_uid: int,
        name: str,
        parent_uid: int,
        *,
        external_id: str | None = None,
        source: str | None = None,
        custom_fields: dict[str, Any] | None = None,
        position: float | None = None,
        integration_uid: Any = None,
    ) -> Row:
        """Create a folder under ``parent_uid`` (a live folder of the project; 400 otherwise)."""
        parent = self.folder_row(project_uid, parent_uid, where="parentId")
        row = self.new_envelope("folder", name, project_uid)
        row.update(
            parentUid=parent["uid"],
            path=f"{parent['path']}.{row['uid']}",
            externalId=external_id,
            source=source,
            customFields=copy.deepcopy(custom_fields) if custom_fields is not None else {},
            position=position,
            integrationUid=integration_uid,
        )
        self.db.folders[row["uid"]] = row
        return row

    def folder_subtree(self, row: Row) -> list[Row]:
        """``row`` and its live descendants (by ``path`` prefix)."""
        prefix = row["path"] + "."
        return [row] + [
            other
            for other in live(self.db.folders.values())
            if other["projectUid"] == row["projectUid"] and other["path"].startswith(prefix)
        ]

    def move_folder(self, row: Row, parent_uid: int) -> bool:
        """Give ``row`` the new parent and fix ``path`` of its subtree; 400 on the root, on a
        missing parent, or on a move into its own subtree. True if the parent changed."""
        if row["parentUid"] is None:
            raise bad_request("parentId: the root folder cannot be moved")
        if row["parentUid"] == parent_uid:
            return False
        parent = self.folder_row(row["projectUid"], parent_uid, where="parentId")
        old_path = row["path"]
        if parent["path"] == old_path or parent["path"].startswith(old_path + "."):
            raise bad_request(f"parentId: folder {parent_uid} is inside folder {row['uid']}")
        new_path = f"{parent['path']}.{row['uid']}"
        for folder in self.folder_subtree(row):
            folder["path"] = new_path + folder["path"][len(old_path) :]
        self.update(row, {"parentUid": parent["uid"]})
        return True

    def delete_folder(self, row: Row) -> None:
        """Soft-delete the folder, its sub-folders and their cases (F5; docs test-folders).
        400 on the root folder [INF]."""
        if row["parentUid"] is None:
            raise bad_request("the root folder of a project cannot be deleted")
        subtree = self.folder_subtree(row)
        uids = {folder["uid"] for folder in subtree}
        for case in live(self.db.cases.values()):
            if case["parentUid"] in uids:
                self.soft_delete(case)
        for folder in subtree:
            self.soft_delete(folder)

    # --- tags ----------------------------------------------------------------------------

    def tag_row(self, uid: Any, where: str | None = None) -> Row:
        """The live tag ``uid``; 404 (or 400 naming ``where``) otherwise."""
        row = self.db.tags.get(uid) if type(uid) is int else None
        if row is None or row["deletedAt"] is not None:
            if where:
                raise bad_request(f"{where}: tag {uid!r} not found")
            raise not_found(f"tag {uid!r} not found")
        return row

    def tag_named(self, name: str) -> Row | None:
        """The live tag named ``name`` (case-insensitive [INF]), or None."""
        for row in live(self.db.tags.values()):
            if row["name"].casefold() == name.casefold():
                return row
        return None

    def create_tag(self, name: str, entity_types: list[str], description: str | None = None) -> Row:
        """Create an org-level tag (G2); 409 if a live tag has the same name [INF]."""
        if self.tag_named(name) is not None:
            raise ApiError(409, f"a tag named {name!r} already exists")
        row = self.new_envelope("tag", name, None)
        row.update(entityTypes=list(entity_types), description=description, customFields=None)
        self.db.tags[row["uid"]] = row
        return row

    def tag_uids_for_names(self, names: Iterable[str]) -> list[int]:
        """Uids of the tags named ``names``; a name with no tag creates one for ``cases`` [INF:
        CreateCaseDTO.tags is "typically used when importing tags"]."""
        uids: list[int] = []
        for name in names:
            row = self.tag_named(name) or self.create_tag(name, ["cases"])
            if row["uid"] not in uids:
                uids.append(row["uid"])
        return uids

    def render_tags(self, uids: Iterable[int]) -> list[Row]:
        """The live tags among ``uids`` as response objects, in order."""
        return [
            public(self.db.tags[uid])
            for uid in uids
            if uid in self.db.tags and self.db.tags[uid]["deletedAt"] is None
        ]

    # --- templates -----------------------------------------------------------------------

    def template_row(self, project_uid: int, uid: Any, where: str | None = None) -> Row:
        """The live template ``uid`` of the project; 404 (or 400 naming ``where``) otherwise."""
        row = self.db.templates.get(uid) if type(uid) is int else None
        if row is None or row["projectUid"] != project_uid or row["deletedAt"] is not None:
            if where:
                raise bad_request(f"{where}: template {uid!r} not found in this project")
            raise not_found(f"template {uid!r} not found")
        return row

    def create_template(
        self, project_uid: int, name: str, template_fields: list[dict[str, Any]]
    ) -> Row:
        """Create a case template (T2) in the §4.5 shape; fields go to
        ``customFields.templateFields``."""
        now = self.now()
        row: Row = {
            "uid": self.new_uid(),
            "name": name,
            "createdBy": self.user_uid,
            "customFields": {"templateFields": copy.deepcopy(template_fields)},
            "projectUid": project_uid,
            "createdAt": now,
            "updatedAt": now,
            "deletedAt": None,
            "isDefault": False,
            "entityType": "testCase",
            "rules": [],
            "externalId": None,
            "source": None,
            "integrationUid": None,
        }
        self.db.templates[row["uid"]] = row
        return row

    # --- cases ---------------------------------------------------------------------------

    def case_row(self, project_uid: int, uid: Any, where: str | None = None) -> Row:
        """The live case ``uid`` of the project (any project if ``project_uid`` is None);
        404 (or 400 naming ``where``) otherwise."""
        row = self.db.cases.get(uid) if type(uid) is int else None
        if (
            row is None
            or row["deletedAt"] is not None
            or (project_uid is not None and row["projectUid"] != project_uid)
        ):
            if where:
                raise bad_request(f"{where}: case {uid!r} not found in this project")
            raise not_found(f"case {uid!r} not found")
        return row

    def with_step_ids(self, steps: list[Any], previous: list[Any] | None = None) -> list[Any]:
        """A copy of ``steps`` where every step object (and child step) without an ``id`` got
        one [INF]: the id of the ``previous`` step at the same position when there is one (so
        re-sending unchanged steps changes nothing), else a fresh UUID string. Items that are
        not objects are kept as sent."""
        previous = previous or []
        result: list[Any] = []
        for index, step in enumerate(steps):
            step = copy.deepcopy(step)
            before = previous[index] if index < len(previous) else None
            before = before if isinstance(before, dict) else {}
            if isinstance(step, dict):
                if step.get("id") in (None, ""):
                    step["id"] = before.get("id") or self.new_id()
                if isinstance(step.get("children"), list):
                    old_children = before.get("children")
                    step["children"] = self.with_step_ids(
                        step["children"], old_children if isinstance(old_children, list) else None
                    )
            result.append(step)
        return result

    def create_case(self, project_uid: int, fields: dict[str, Any]) -> Row:
        """Create a case in the §4.4 shape from resolved ``fields`` (keys of the case shape:
        name, parentUid, steps, customFields, priority, status, testCaseTemplateUid,
        tag uids under ``_tagUids``, externalId, source, ...). Steps get ids."""
        now = self.now()
        ref = self._case_refs.get(project_uid, 0) + 1
        self._case_refs[project_uid] = ref
        row: Row = {
            "uid": self.new_uid(),
            "projectUid": project_uid,
            "repoUid": None,
            "externalId": "",
            "source": "",
            "name": "",
            "link": None,
            "steps": [],
            "customFields": {},
            "testCaseRef": ref,
            "testCaseTemplateUid": None,
            "testResultTemplateUid": None,
            "version": 1,
            "active": True,
            "externalCreatedAt": None,
            "externalUpdatedAt": None,
            "createdAt": now,
            "updatedAt": now,
            "deletedAt": None,
            "createdBy": self.user_uid,
            "status": None,
            "priority": None,
            "syncedAt": None,
            "parentUid": None,
            "event": None,
            "_tagUids": [],
        }
        row.update(copy.deepcopy(fields))
        row["steps"] = self.with_step_ids(row["steps"])
        self.db.cases[row["uid"]] = row
        return row

    def render_case(self, row: Row) -> Row:
        """The case as the API answers it: ``tags`` = the live tag objects."""
        result = public(row)
        result["tags"] = self.render_tags(row["_tagUids"])
        return result

    # --- custom fields -------------------------------------------------------------------

    def custom_field_row(self, project_uid: int, uid: str) -> Row:
        """The live custom field ``uid`` (a string) of the project; 404 otherwise."""
        row = self.db.custom_fields.get(uid)
        if row is None or row["projectUid"] != project_uid or row["deletedAt"] is not None:
            raise not_found(f"custom field {uid!r} not found")
        return row

    def create_custom_field(self, project_uid: int, dto: dict[str, Any]) -> Row:
        """Create a custom field (CF2) in the §4.6 shape. 409 if a live field of the project
        has the same name [INF]. ``type`` defaults to ``text`` and ``entityTypes`` to
        ``["testCase"]`` [INF]."""
        name = dto["name"]
        for other in live(self.db.custom_fields.values()):
            if other["projectUid"] == project_uid and other["name"] == name:
                raise ApiError(409, f"a custom field named {name!r} already exists")
        uid = f"cf-{self._next_cf}"
        self._next_cf += 1
        now = self.now()
        row: Row = {
            "uid": uid,
            "name": name,
            "description": None,
            "type": dto.get("type", "text"),
            "slug": slugify(name),
            "options": list(dto["options"]) if "options" in dto else None,
            "source": dto.get("source"),
            "externalId": None,
            "ownerUid": self.user_uid,
            "ownerType": "user",
            "projectUid": project_uid,
            "entityTypes": list(dto.get("entityTypes", ["testCase"])),
            "createdAt": now,
            "updatedAt": now,
            "deletedAt": None,
        }
        self.db.custom_fields[uid] = row
        return row

    # --- runs, milestones, plans ---------------------------------------------------------

    def run_row(self, project_uid: int, uid: Any, where: str | None = None) -> Row:
        """The live run ``uid`` of the project; 404 (or 400 naming ``where``) otherwise."""
        return self._project_row(self.db.runs, "run", project_uid, uid, where)

    def milestone_row(self, project_uid: int, uid: Any, where: str | None = None) -> Row:
        """The live milestone ``uid`` of the project; 404 (or 400 naming ``where``)."""
        return self._project_row(self.db.milestones, "milestone", project_uid, uid, where)

    def plan_row(self, project_uid: int, uid: Any, where: str | None = None) -> Row:
        """The live plan ``uid`` of the project; 404 (or 400 naming ``where``) otherwise."""
        return self._project_row(self.db.plans, "plan", project_uid, uid, where)

    def execution_row(self, project_uid: int, uid: Any, where: str | None = None) -> Row:
        """The live execution ``uid`` of the project; 404 (or 400 naming ``where``)."""
        return self._project_row(self.db.executions, "execution", project_uid, uid, where)

    def shared_step_row(self, project_uid: int, uid: Any) -> Row:
        """The live shared step ``uid`` of the project; 404 otherwise."""
        return self._project_row(self.db.shared_steps, "shared step", project_uid, uid, None)

    @staticmethod
    def _project_row(
        table: dict[int, Row], kind: str, project_uid: int, uid: Any, where: str | None
    ) -> Row:
        row = table.get(uid) if type(uid) is int else None
        if row is None or row["projectUid"] != project_uid or row["deletedAt"] is not None:
            if where:
                raise bad_request(f"{where}: {kind} {uid!r} not found in this project")
            raise not_found(f"{kind} {uid!r} not found")
        return row

    def create_run(self, project_uid: int, name: str, attrs: dict[str, Any]) -> Row:
        """Create a run (envelope, ``systemType: run``). ``attrs`` may hold top-level
        ``description``, ``externalId``, ``source`` and ``customFields`` (the run attributes:
        status, priority, dueAt, tagUids, milestoneUids, configs, link; §4.2)."""
        row = self.new_envelope("run", name, project_uid)
        custom = {"caseCount": 0, "frequency": {}, "progress": 0}
        custom.update(copy.deepcopy(attrs.pop("customFields", {})))
        row.update(attrs, customFields=custom)
        self.db.runs[row["uid"]] = row
        return row

    def run_execution_rows(self, run_uid: int) -> list[Row]:
        """The live execution rows of run ``run_uid`` (internal rows, not copies), by uid."""
        return live(self.db.executions[uid] for uid in self.db.run_executions.get(run_uid, ()))

    def refresh_run_stats(self, run: Row) -> None:
        """Recompute ``caseCount``, ``frequency`` (status uid -> count) and ``progress`` (% of
        executions in a final status) in the run's customFields from its live executions
        [INF: §4.2 shows these keys; who computes them is undocumented]. ``updatedAt`` of the
        run does not move for this."""
        executions = self.run_execution_rows(run["uid"])
        frequency: dict[str, int] = {}
        final = {s.uid for s in self.execution_statuses if s.is_final}
        done = 0
        for execution in executions:
            status = execution["status"]
            if status is not None:
                frequency[str(status)] = frequency.get(str(status), 0) + 1
            if status in final:
                done += 1
        custom = run["customFields"]
        custom["caseCount"] = len(executions)
        custom["frequency"] = frequency
        custom["progress"] = round(100 * done / len(executions)) if executions else 0

    def create_execution(self, project_uid: int, fields: dict[str, Any]) -> Row:
        """Create an execution [INF shape: no mock shows one] from resolved ``fields``:
        testCaseUid, testCaseRef, testRunUid, status, steps, customFields, externalId, source,
        name. Refreshes the run's stats."""
        now = self.now()
        row: Row = {
            "uid": self.new_uid(),
            "projectUid": project_uid,
            "testCaseUid": None,
            "testCaseRef": None,
            "testRunUid": None,
            "name": None,
            "status": None,
            "priority": None,
            "assignedTo": None,
            "dueAt": None,
            "steps": [],
            "customFields": {},
            "templateFields": None,
            "externalId": None,
            "source": None,
            "createdAt": now,
            "updatedAt": now,
            "archivedAt": None,
            "deletedAt": None,
            "createdBy": self.user_uid,
            "_tagUids": [],
        }
        row.update(copy.deepcopy(fields))
        self.db.executions[row["uid"]] = row
        self.db.run_executions.setdefault(row["testRunUid"], []).append(row["uid"])
        if row["testRunUid"] in self.db.runs:
            self.refresh_run_stats(self.db.runs[row["testRunUid"]])
        return row

    def execution_steps(self, case: Row) -> list[Row]:
        """A new execution's steps from its case [INF shape]: ``{uid, testStepUid (the case
        step id), title, description, expectedResult, position}`` per case step, in order."""
        steps: list[Row] = []
        for position, step in enumerate(s for s in case["steps"] if isinstance(s, dict)):
            item: Row = {"uid": self.new_id(), "testStepUid": str(step.get("id"))}
            for key in ("title", "description", "expectedResult", "sharedStepUid"):
                if key in step:
                    item[key] = copy.deepcopy(step[key])
            item["position"] = position
            steps.append(item)
        return steps

    def add_result(self, execution: Row, status_uid: int | None, comment: str | None) -> Row:
        """Record a result on ``execution`` (shim add_result*): ``{uid, executionUid,
        statusUid, comment, createdBy, createdAt}``. A status also becomes the execution's
        current status (its ``updatedAt`` moves if it changed) and refreshes the run's stats
        [INF: as TestRail, the latest result sets the test's status]."""
        row: Row = {
            "uid": self.new_uid(),
            "executionUid": execution["uid"],
            "statusUid": status_uid,
            "comment": comment,
            "createdBy": self.user_uid,
            "createdAt": self.now(),
        }
        self.db.results[row["uid"]] = row
        if status_uid is not None and self.update(execution, {"status": status_uid}):
            run = self.db.runs.get(execution["testRunUid"])
            if run is not None:
                self.refresh_run_stats(run)
        return row

    def render_execution(self, row: Row) -> Row:
        """The execution as the API answers it: ``tags`` = the live tag objects."""
        result = public(row)
        result["tags"] = self.render_tags(row["_tagUids"])
        return result

    # --- accessors for tests and seeders (copies, live rows only) ------------------------

    def projects(self) -> list[Row]:
        """The live projects by uid, as the API shows them."""
        return [public(row) for row in live(self.db.projects.values())]

    def project(self, key: str) -> Row:
        """The project with ``key`` as the API shows it; 404 ApiError if missing."""
        return public(self.project_row(key))

    def root_folder(self, key: str) -> Row:
        """The root folder (the shim's suite) of project ``key``."""
        return public(self.root_folder_row(self.project_row(key)["uid"]))

    def _of(self, table: dict[Any, Row], key: str) -> list[Row]:
        project_uid = self.project_row(key)["uid"]
        return [row for row in live(table.values()) if row["projectUid"] == project_uid]

    def folders(self, key: str) -> list[Row]:
        """The live folders of project ``key`` (root first, then by uid)."""
        return [public(row) for row in self._of(self.db.folders, key)]

    def cases(self, key: str) -> list[Row]:
        """The live cases of project ``key`` by uid, as the API shows them."""
        return [self.render_case(row) for row in self._of(self.db.cases, key)]

    def runs(self, key: str) -> list[Row]:
        """The live runs of project ``key`` by uid."""
        return [public(row) for row in self._of(self.db.runs, key)]

    def executions(self, key: str) -> list[Row]:
        """The live executions of project ``key`` by uid."""
        return [self.render_execution(row) for row in self._of(self.db.executions, key)]

    def templates(self, key: str) -> list[Row]:
        """The live templates of project ``key`` by uid."""
        return [public(row) for row in self._of(self.db.templates, key)]

    def custom_fields(self, key: str) -> list[Row]:
        """The live custom fields of project ``key`` in creation order."""
        return [public(row) for row in self._of(self.db.custom_fields, key)]

    def milestones(self, key: str) -> list[Row]:
        """The live milestones of project ``key`` by uid."""
        return [public(row) for row in self._of(self.db.milestones, key)]

    def plans(self, key: str) -> list[Row]:
        """The live plans of project ``key`` by uid."""
        return [public(row) for row in self._of(self.db.plans, key)]

    def shared_steps(self, key: str) -> list[Row]:
        """The live shared steps of project ``key`` by uid."""
        return [public(row) for row in self._of(self.db.shared_steps, key)]

    def attachments(self, case_uid: int) -> list[Row]:
        """The attachments of case ``case_uid`` as stored: ``{uid, caseUid, projectUid, name,
        size, sha256, createdBy, createdAt, content}`` (``content`` = the bytes received)."""
        return [
            {**public(row), "content": row["_content"]}
            for row in self.db.attachments.values()
            if row["caseUid"] == case_uid
        ]

    def tags(self) -> list[Row]:
        """The live org-level tags by uid."""
        return [public(row) for row in live(self.db.tags.values())]


def slugify(name: str) -> str:
    """``"Expected Result"`` -> ``"expected-result"`` (custom-field ``slug`` [INF])."""
    out = []
    for char in name.casefold():
        out.append(char if char.isalnum() else "-")
    return "-".join(part for part in "".join(out).split("-") if part)
