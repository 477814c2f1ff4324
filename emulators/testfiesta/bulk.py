"""The bulk import ``POST /v1/{handle}/projects/{key}/data`` (operation NewData, D1; §3.12).

Body (``CreateDataDto``): ``{"entities": {"folders"|"cases"|"runs"|"executions": {"entries":
[...]}}, "runId"?: <run uid>}``; answers **204** with an empty body. The top-level ``runId`` is
not in the DTO (``additionalProperties: false``) but TestFiesta's own tool sends it
(testfiesta-api.md §3.12 "Top-level ``runId`` (the uid of a run created just before via POST
/runs) makes the server attach the executions to that run. The spec's
``additionalProperties:false`` does not mention it, but tacotruck sends it"), so it is accepted
as a named tolerance (``contract_spec.TOLERANCES`` ``data_run_id``). The spec documents the
shape only; everything below is inferred (testfiesta-api.md §3.12, DESIGN §12.1 and §12.3) and
marked so:

- [INF] **All or nothing.** The whole request is checked first (types, references, statuses);
  the first problem answers 400 naming the entry path
  (``body.entities.cases.entries[3].folderExternalId: ...``) and nothing is written.
- [INF] **Upsert by (``source``, ``externalId``) within the project.** A folder, case or run
  whose pair matches a live record of the same kind (whoever created it: /data, POST /folders,
  POST /cases, POST /runs) is updated in place: same uid, ``updatedAt`` bumped only when a value
  changed. Otherwise a record is created. Entries of one request apply in order folders, cases,
  runs, executions; a repeated pair in one request updates what the earlier entry created.
  Executions are keyed by (``source``, ``externalId``, run) so one case's execution in two runs
  stays two executions (tacotruck sends the case externalId as the execution externalId, #53);
  an execution entry without ``externalId`` always creates.
- [INF] **Undeclared properties go to ``customFields``.** Declared properties are applied
  (``name``, ``externalId``, ``source``; ``folderExternalId`` on cases; ``caseRef``, ``runRef``,
  ``externalId`` on executions). A case entry may also carry the case's own CreateCaseDTO
  properties ``steps``, ``priority`` (uid), ``templateId``, ``tags`` (names, replace the
  case's tags), ``customFields``, ``externalCreatedAt``, ``externalUpdatedAt``, applied to those
  fields; an execution entry's ``status`` is the execution status. Every other property,
  plus the keys of an explicit ``customFields`` object (which win over a same-named extra),
  **becomes** the record's ``customFields``: on an update they replace the old object, so an
  entry states all of a record's custom values and one it leaves out is gone (the natural
  ``{name, externalId, source, ...rest}`` reading; the mock folder's customFields are exactly
  its extras). Declared and case properties the entry leaves out stay as they were. A run's
  ``caseCount``/``frequency``/``progress`` (0/{}/0 unless the entry sends them) are recomputed
  from its executions whenever it has any.
- [INF] **Folders** sit under the project's root folder when created (FolderData has no parent
  field; a ``parent...`` property is just another customField); an update keeps the folder
  where it is. A case entry's ``folderExternalId`` must name a folder of the project with the
  same ``source`` (existing or earlier in this request), else 400; without it a new case goes
  to the root folder and an existing case stays put.
- **Execution ``status``** is a status *name* string (§3.12 "accepted as a **name string**
  (``passed|failed|blocked|skipped|error``)"), matched case-insensitively [INF] against the
  org's execution statuses (the default catalogue has Passed, Failed, Blocked, Skipped). A name
  the org lacks falls back through :data:`STATUS_ALIASES`: ``error`` becomes the org's Failed
  status, as tacotruck folds errors into failed (§6.6 "Errors count as failed", §8.4 "Errors
  were folded into failed"); an org with its own "Error" status keeps it. A number or a name
  that still matches nothing is a 400. Without a status a new execution is untested [INF].
- [INF] ``caseRef``/``runRef`` are externalIds of a case/run with the entry's ``source``; a
  ``caseRef`` that names no case is a 400, and so is a ``runRef`` that names no run, unless
  the request has a top-level ``runId``.
- [INF] **Top-level ``runId``** must be the uid of a live run of the project (else 400
  ``body.runId: ...``). Every execution of the request is then attached to that run, whatever
  its ``runRef`` says (``runRef`` stays required by the DTO but need not name a run); runs
  entries of the same request are still upserted as usual.
- [INF] Entity groups other than the four (e.g. legacy ``suites``) are a 400, as are entity
  groups without ``entries``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from emulators.testfiesta import dto as D
from emulators.testfiesta.errors import bad_request
from emulators.testfiesta.resolve import apply_tag_names, as_uid, resolve_case_fields
from emulators.testfiesta.state import Row, TestFiestaState, live

#: Case properties of CreateCaseDTO a bulk case entry may carry (applied, not customFields).
CASE_ENTRY_PROPERTIES = {
    "steps": D.F(D.ARRAY),
    "priority": D.F(D.NUMBER),
    "templateId": D.F(D.STRING),
    "tags": D.F(D.ARRAY, items=D.STRING),
    "customFields": D.F(D.OBJECT),
    "externalCreatedAt": D.F(D.STRING),
    "externalUpdatedAt": D.F(D.STRING),
}
_CASE_ENTRY = D.Dto("CaseData", dict(CASE_ENTRY_PROPERTIES), additional=True)
_OTHER_ENTRY = D.Dto("entry", {"customFields": D.F(D.OBJECT)}, additional=True)

#: Execution status names of tacotruck's JUnit path (§3.12, §6.6) that an org's catalogue may
#: lack, and the status name they stand for: errors are folded into failed (§6.6, §8.4).
STATUS_ALIASES = {"error": "failed"}

_DECLARED = {
    "folders": {"name", "externalId", "source"},
    "cases": {"name", "externalId", "source", "folderExternalId", *CASE_ENTRY_PROPERTIES},
    "runs": {"name", "externalId", "source"},
    "executions": {"externalId", "caseRef", "runRef", "source", "status"},
}


def _extras(group: str, entry: dict[str, Any]) -> dict[str, Any]:
    """The entry's customFields contribution: undeclared properties, then ``customFields``."""
    extras = {k: copy.deepcopy(v) for k, v in entry.items() if k not in _DECLARED[group]}
    extras.pop("customFields", None)
    extras.update(copy.deepcopy(entry.get("customFields", {})))
    return extras


@dataclass
class _Op:
    """One checked entry: its group, position, the entry, and what the check resolved."""

    group: str
    where: str
    entry: dict[str, Any]
    resolved: dict[str, Any] = field(default_factory=dict)


class _Import:
    """One /data request against one project: :meth:`check` everything, then :meth:`apply`."""

    def __init__(self, state: TestFiestaState, project: Row) -> None:
        self.state = state
        self.project = project
        puid = project["uid"]
        # (source, externalId) -> uid of the live records of the project, per kind.
        self.index: dict[str, dict[tuple[str, str], int]] = {}
        for kind, table in (
            ("folders", state.db.folders),
            ("cases", state.db.cases),
            ("runs", state.db.runs),
        ):
            self.index[kind] = {
                (row["source"], row["externalId"]): row["uid"]
                for row in live(table.values())
                if row["projectUid"] == puid and row["externalId"]
            }
        self.executions: dict[tuple[str, str, int | None], int] = {
            (row["source"], row["externalId"], row["testRunUid"]): row["uid"]
            for row in live(state.db.executions.values())
            if row["projectUid"] == puid and row["externalId"]
        }
        self.pending: dict[str, set[tuple[str, str]]] = {k: set() for k in self.index}
        self.ops: list[_Op] = []
        #: The top-level ``runId``'s run uid, when the request has one.
        self.run_uid: int | None = None

    def _known(self, kind: str, key: tuple[str, str]) -> bool:
        return key in self.index[kind] or key in self.pending[kind]

    # --- phase 1: check (no writes) ----------------------------------------------------------

    def check(self, body: dict[str, Any]) -> None:
        """Validate the whole request and resolve every reference; raise a 400 on the first
        problem. Writes nothing."""
        if "runId" in body:
            run = self.state.run_row(self.project["uid"], as_uid(body["runId"]), "body.runId")
            self.run_uid = run["uid"]
        entities = body["entities"]
        for group in D.DATA_GROUPS:
            if group not in entities:
                continue
            for index, entry in enumerate(entities[group]["entries"]):
                op = _Op(group, f"body.entities.{group}.entries[{index}]", entry)
                getattr(self, f"_check_{group}")(op)
                self.ops.append(op)

    def _check_folders(self, op: _Op) -> None:
        D.validate(op.entry, _OTHER_ENTRY, op.where)
        self.pending["folders"].add((op.entry["source"], op.entry["externalId"]))

    def _check_cases(self, op: _Op) -> None:
        entry = D.validate(op.entry, _CASE_ENTRY, op.where)
        names = ("name", "externalId", "source", *CASE_ENTRY_PROPERTIES)
        props = {k: entry[k] for k in names if k in entry}
        props.pop("customFields", None)  # goes to customFields with the extras (_extras)
        op.resolved = resolve_case_fields(self.state, self.project, props, op.where)
        if "folderExternalId" in entry:
            key = (entry["source"], entry["folderExternalId"])
            if not self._known("folders", key):
                raise bad_request(
                    f"{op.where}.folderExternalId: no folder with externalId "
                    f"{entry['folderExternalId']!r} and source {entry['source']!r} in project "
                    f"{self.project['key']!r} or earlier in this request"
                )
        self.pending["cases"].add((entry["source"], entry["externalId"]))

    def _check_runs(self, op: _Op) -> None:
        D.validate(op.entry, _OTHER_ENTRY, op.where)
        self.pending["runs"].add((op.entry["source"], op.entry["externalId"]))

    def _check_executions(self, op: _Op) -> None:
        entry = D.validate(op.entry, _OTHER_ENTRY, op.where)
        source = entry["source"]
        if not self._known("cases", (source, entry["caseRef"])):
            raise bad_request(
                f"{op.where}.caseRef: no case with externalId {entry['caseRef']!r} and source "
                f"{source!r} in project {self.project['key']!r} or in this request"
            )
        if self.run_uid is None and not self._known("runs", (source, entry["runRef"])):
            raise bad_request(
                f"{op.where}.runRef: no run with externalId {entry['runRef']!r} and source "
                f"{source!r} in project {self.project['key']!r} or in this request"
            )
        if "status" in entry:
            status = entry["status"]
            if not isinstance(status, str):
                raise bad_request(
                    f"{op.where}.status must be an execution status name such as 'Passed' "
                    f"(got {status!r})"
                )
            op.resolved["status"] = execution_status_uid(self.state, status, f"{op.where}.status")

    # --- phase 2: apply (cannot fail after check) --------------------------------------------

    def apply(self) -> None:
        """Write every checked entry, in group order."""
        for op in self.ops:
            getattr(self, f"_apply_{op.group}")(op)

    def _apply_folders(self, op: _Op) -> None:
        state, entry = self.state, op.entry
        key = (entry["source"], entry["externalId"])
        uid = self.index["folders"].get(key)
        if uid is not None:
            row = state.db.folders[uid]
            state.update(row, {"name": entry["name"], "customFields": _extras("folders", entry)})
            return
        root = state.root_folder_row(self.project["uid"])
        row = state.create_folder(
            self.project["uid"],
            entry["name"],
            root["uid"],
            external_id=entry["externalId"],
            source=entry["source"],
            custom_fields=_extras("folders", entry),
        )
        self.index["folders"][key] = row["uid"]

    def _apply_cases(self, op: _Op) -> None:
        state, entry = self.state, op.entry
        key = (entry["source"], entry["externalId"])
        fields = apply_tag_names(state, dict(op.resolved))
        if "folderExternalId" in entry:
            fields["parentUid"] = self.index["folders"][
                (entry["source"], entry["folderExternalId"])
            ]
        uid = self.index["cases"].get(key)
        if uid is not None:
            row = state.db.cases[uid]
            if "steps" in fields:
                fields["steps"] = state.with_step_ids(fields["steps"], row["steps"])
            fields["customFields"] = _extras("cases", entry)
            state.update(row, fields)
            return
        fields.setdefault("parentUid", state.root_folder_row(self.project["uid"])["uid"])
        fields["customFields"] = _extras("cases", entry)
        row = state.create_case(self.project["uid"], fields)
        self.index["cases"][key] = row["uid"]

    def _apply_runs(self, op: _Op) -> None:
        state, entry = self.state, op.entry
        key = (entry["source"], entry["externalId"])
        uid = self.index["runs"].get(key)
        if uid is not None:
            row = state.db.runs[uid]
            custom = {"caseCount": 0, "frequency": {}, "progress": 0, **_extras("runs", entry)}
            state.update(row, {"name": entry["name"], "customFields": custom})
            if state.run_execution_rows(uid):
                state.refresh_run_stats(row)
            return
        row = state.create_run(
            self.project["uid"],
            entry["name"],
            {
                "externalId": entry["externalId"],
                "source": entry["source"],
                "customFields": _extras("runs", entry),
            },
        )
        self.index["runs"][key] = row["uid"]

    def _apply_executions(self, op: _Op) -> None:
        state, entry = self.state, op.entry
        source = entry["source"]
        case = state.db.cases[self.index["cases"][(source, entry["caseRef"])]]
        if self.run_uid is not None:
            run_uid = self.run_uid
        else:
            run_uid = self.index["runs"][(source, entry["runRef"])]
        fields: dict[str, Any] = {
            "testCaseUid": case["uid"],
            "testCaseRef": case["testCaseRef"],
            "testRunUid": run_uid,
            "name": case["name"],
        }
        if "status" in op.resolved:
            fields["status"] = op.resolved["status"]
        external_id = entry.get("externalId")
        uid = self.executions.get((source, external_id, run_uid)) if external_id else None
        if uid is not None:
            row = state.db.executions[uid]
            fields["customFields"] = _extras("executions", entry)
            state.update(row, fields)
            if run_uid in state.db.runs:
                state.refresh_run_stats(state.db.runs[run_uid])
            return
        untested = state.untested_status()
        fields.setdefault("status", untested.uid if untested else None)
        fields.update(
            externalId=external_id,
            source=source,
            priority=case["priority"],
            steps=state.execution_steps(case),
            customFields=_extras("executions", entry),
        )
        row = state.create_execution(self.project["uid"], fields)
        if external_id:
            self.executions[(source, external_id, run_uid)] = row["uid"]


def execution_status_uid(state: TestFiestaState, name: str, where: str) -> int:
    """The uid of the org's execution status called ``name`` (case-insensitive), else of the
    status its :data:`STATUS_ALIASES` entry names (``error`` -> Failed); a 400 naming ``where``
    and the org's statuses when neither exists."""
    by_name = {status.name.casefold(): status.uid for status in state.execution_statuses}
    key = name.casefold()
    if key not in by_name and STATUS_ALIASES.get(key) in by_name:
        key = STATUS_ALIASES[key]
    if key in by_name:
        return by_name[key]
    return state.execution_status_named(name, where).uid  # raises the 400


def import_data(state: TestFiestaState, project: Row, body: Any) -> None:
    """Run one ``POST /projects/{key}/data`` for ``project`` (a stored project row): validate
    ``body`` against CreateDataDto, check every entry, then upsert. Raises a 400
    :class:`~emulators.testfiesta.errors.ApiError` and writes nothing when anything is wrong.
    See the module docstring for the semantics."""
    body = D.validate(body, D.CREATE_DATA)
    job = _Import(state, project)
    job.check(body)
    job.apply()
