"""TestFiesta's TestRail-compatible shim ("TRV2", specs/testrail-v2-shim.openapi.json) at
``/trv2/{handle}/index.php?/api/v2/<method>[/<arg>...][&k=v...]`` (testfiesta-api.md §5.2).

Same Bearer key as v1 (the shim spec documents no auth [INF]). The raw query string is parsed
by hand, as TestRail clients build it: its first ``&``-component is the API path, the rest are
``k=v`` parameters (ignored by the methods emulated here [INF], as TestRail ignores unknown
ones). Errors answer ``{"error": "..."}``.

Emulated methods (ids are TestFiesta uids; see §5.2 for the id mapping):

- ``get_statuses`` -> bare array of the org's execution statuses ``{id, name, label,
  color_dark, color_medium, color_bright, is_final, is_system: false, is_untested}``
  (``name`` and ``label`` are both the status name [INF]).
- ``get_priorities`` -> bare array ``{id, name, short_name, priority (= id), is_default:
  false}``.
- ``get_case/{case_id}`` and ``update_case/{case_id}`` -> the case in the shim's TestRail shape
  (:func:`shim_case`); a missing case is a 404 (the shim uses 404 where TestRail says 400).
  ``update_case`` takes the spec's system fields and ``custom_case_<field_name>`` keys.
- ``get_case_types`` -> the org's live tags usable on cases ``{id, name, is_default: false}``.
- ``get_templates/{project_id}`` -> ``{id, name, is_default, case_fields: [{system_name,
  name, type}]}``.
- Tests (= executions) and results: ``get_test``, ``get_tests/{run_id}``, ``get_results``,
  ``get_results_for_case``, ``get_results_for_run`` (TestRail's bulk envelope
  ``{offset, limit, size, _links, <key>}``), ``add_result``, ``add_result_for_case``,
  ``add_results``, ``add_results_for_cases``. Result inputs are only ``status_id`` and
  ``comment``; a result's status becomes the execution's status.
- Configurations: ``get_configs``, ``add_config_group``, ``add_config``,
  ``update_config_group``, ``update_config`` (answers the group, as documented),
  ``delete_config_group``, ``delete_config`` (answer JSON ``null``).
- Plans: ``close_plan`` (archives the plan; answers it in the shim's plan shape).
- Case attachments: ``add_attachment_to_case`` (multipart field ``attachment`` ->
  ``{"attachment_id": "<id>"}``; the bytes are kept, see ``TestFiestaState.attachments``) and
  ``get_attachments_for_case``.

Documented as unsupported (403): ``add_suite``, ``delete_suite``, ``get_history_for_case``.
Methods the shim documents but this emulator does not emulate answer 501 with a message saying
so (not a behaviour of the real service: a gap in the emulator, to be filled when needed);
methods the shim does not document at all answer 404. A method called with the wrong HTTP verb
or a non-numeric or missing id answers 400 [INF].
"""

from __future__ import annotations

import copy
import email.policy
import hashlib
from dataclasses import dataclass
from email.parser import BytesParser
from typing import Any
from urllib.parse import unquote, unquote_plus

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from emulators.testfiesta.errors import ApiError, bad_request, not_found, parse_json
from emulators.testfiesta.resolve import as_uid, is_digits
from emulators.testfiesta.state import Row, TestFiestaState, live, unix_seconds

#: Every shim method: name -> (HTTP method, number of path ids) (from the shim spec).
SHIM_METHODS: dict[str, tuple[str, int]] = {
    "get_projects": ("GET", 0),
    "get_project": ("GET", 1),
    "add_project": ("POST", 0),
    "update_project": ("POST", 1),
    "delete_project": ("POST", 1),
    "get_suite": ("GET", 1),
    "get_suites": ("GET", 1),
    "add_suite": ("POST", 1),
    "update_suite": ("POST", 1),
    "delete_suite": ("POST", 1),
    "get_section": ("GET", 1),
    "get_sections": ("GET", 1),
    "add_section": ("POST", 1),
    "move_section": ("POST", 1),
    "update_section": ("POST", 1),
    "delete_section": ("POST", 1),
    "get_case": ("GET", 1),
    "get_cases": ("GET", 1),
    "get_history_for_case": ("GET", 1),
    "add_case": ("POST", 1),
    "copy_cases_to_section": ("POST", 1),
    "update_case": ("POST", 1),
    "update_cases": ("POST", 1),
    "move_cases_to_section": ("POST", 1),
    "delete_case": ("POST", 1),
    "delete_cases": ("POST", 1),
    "get_run": ("GET", 1),
    "get_runs": ("GET", 1),
    "add_run": ("POST", 1),
    "update_run": ("POST", 1),
    "close_run": ("POST", 1),
    "delete_run": ("POST", 1),
    "get_plan": ("GET", 1),
    "get_plans": ("GET", 1),
    "add_plan": ("POST", 1),
    "update_plan": ("POST", 1),
    "add_plan_entry": ("POST", 1),
    "add_run_to_plan_entry": ("POST", 2),
    "update_plan_entry": ("POST", 2),
    "update_run_in_plan_entry": ("POST", 1),
    "close_plan": ("POST", 1),
    "delete_plan": ("POST", 1),
    "delete_plan_entry": ("POST", 2),
    "delete_run_from_plan_entry": ("POST", 1),
    "get_milestone": ("GET", 1),
    "get_milestones": ("GET", 1),
    "add_milestone": ("POST", 1),
    "update_milestone": ("POST", 1),
    "delete_milestone": ("POST", 1),
    "get_test": ("GET", 1),
    "get_tests": ("GET", 1),
    "get_results": ("GET", 1),
    "get_results_for_case": ("GET", 2),
    "get_results_for_run": ("GET", 1),
    "add_result": ("POST", 1),
    "add_result_for_case": ("POST", 2),
    "add_results": ("POST", 1),
    "add_results_for_cases": ("POST", 1),
    "get_case_types": ("GET", 0),
    "get_priorities": ("GET", 0),
    "get_statuses": ("GET", 0),
    "get_templates": ("GET", 1),
    "get_configs": ("GET", 1),
    "add_config_group": ("POST", 1),
    "add_config": ("POST", 1),
    "update_config_group": ("POST", 1),
    "update_config": ("POST", 1),
    "delete_config_group": ("POST", 1),
    "delete_config": ("POST", 1),
    "add_attachment_to_case": ("POST", 1),
    "get_attachments_for_case": ("GET", 1),
}

#: Methods the shim spec documents as 403 with the reason it gives.
FORBIDDEN: dict[str, str] = {
    "add_suite": "this project only supports a single test suite",
    "delete_suite": "this project only supports a single test suite",
    "get_history_for_case": "TestFiesta does not support this endpoint",
}

#: Methods whose body is multipart/form-data, not JSON.
MULTIPART = {"add_attachment_to_case"}

#: The system fields update_case takes (the properties of its request body in the shim spec).
UPDATE_CASE_FIELDS = ("section_id", "title", "template_id", "type_id", "labels", "priority_id")
#: Prefix of the custom-field keys update_case also takes (shim spec, update_case requestBody:
#: "the request body can also include the custom fields of the case which can be accessed by
#: forming name as custom_case_<field_name>").
CUSTOM_CASE_PREFIX = "custom_case_"


def parse_raw_query(raw: str) -> tuple[str, dict[str, str]]:
    """Split a TestRail-style query string ``/api/v2/get_case/5&k=v`` into the API path and
    the ``k=v`` parameters (both URL-decoded)."""
    head, *rest = raw.split("&")
    params: dict[str, str] = {}
    for part in rest:
        if part:
            key, _, value = part.partition("=")
            params[unquote_plus(key)] = unquote_plus(value)
    return unquote(head), params


def case_tags(state: TestFiestaState, case: Row) -> list[Row]:
    """The live tags of ``case``, in the case's order."""
    return live(state.db.tags[uid] for uid in case["_tagUids"] if uid in state.db.tags)


def type_id(tags: list[Row]) -> int | None:
    """The shim's ``type_id``: the uid of the first tag usable on cases, or None."""
    return next((t["uid"] for t in tags if "cases" in (t["entityTypes"] or [])), None)


def without_nulls(answer: dict[str, Any], *keys: str) -> dict[str, Any]:
    """``answer`` without those of ``keys`` whose value is None. The shim spec types these
    fields as non-nullable integers or strings, so a value the emulator does not have is left
    out rather than sent as ``null`` [INF: the real shim may send null; the contract does not
    allow it]. Fields the spec documents as always null stay ``null``."""
    return {k: v for k, v in answer.items() if not (k in keys and v is None)}


def shim_case(state: TestFiestaState, row: Row) -> dict[str, Any]:
    """A case in the shim's TestRail shape: ``id``, ``title``, ``section_id`` (folder uid),
    ``suite_id`` (root folder uid), ``template_id``, ``type_id`` (first live tag of the case
    whose entityTypes include ``cases``), ``priority_id`` (these three are left out when the
    case has none, :func:`without_nulls`), ``created_by`` and
    ``updated_by`` (equal, user UUID), ``created_on``/``updated_on`` (UNIX seconds),
    ``is_deleted: 0``, ``labels`` (``[{id, title}]`` of the case's tags [INF]), and one
    ``custom_case_<field_name>`` key per customFields entry (key used verbatim [INF])."""
    tags = case_tags(state, row)
    result: dict[str, Any] = {
        "id": row["uid"],
        "title": row["name"],
        "section_id": row["parentUid"],
        "suite_id": state.root_folder_row(row["projectUid"])["uid"],
        "template_id": row["testCaseTemplateUid"],
        "type_id": type_id(tags),
        "priority_id": row["priority"],
        "created_by": row["createdBy"],
        "updated_by": row["createdBy"],
        "created_on": unix_seconds(row["createdAt"]),
        "updated_on": unix_seconds(row["updatedAt"]),
        "is_deleted": 0,
        "labels": [{"id": t["uid"], "title": t["name"]} for t in tags],
    }
    if isinstance(row["customFields"], dict):
        for name, value in row["customFields"].items():
            result[f"custom_case_{name}"] = value
    return without_nulls(result, "template_id", "type_id", "priority_id")


@dataclass(frozen=True)
class ShimCall:
    """One parsed shim call: ``method`` name, path ``ids``, ``params`` (the ``&k=v`` parts)
    and the JSON ``body`` (``{}`` for GET or an empty body); for multipart uploads ``body`` is
    ``{}`` and ``raw``/``content_type`` carry the request as received."""

    method: str
    ids: list[int]
    params: dict[str, str]
    body: dict[str, Any]
    raw: bytes = b""
    content_type: str = ""


def _int_field(body: dict[str, Any], name: str) -> int:
    value = as_uid(body[name])
    if not isinstance(value, int) or isinstance(value, bool):
        raise bad_request(f"Field :{name} is not a valid ID (got {body[name]!r})")
    return value


class ShimApi:
    """The shim over one :class:`TestFiestaState` for the organisation ``handle``;
    :meth:`endpoint` is the Starlette endpoint for ``/trv2/{handle}/index.php``."""

    def __init__(self, state: TestFiestaState, handle: str) -> None:
        self.state = state
        self.handle = handle

    async def endpoint(self, request: Request) -> Response:
        """Route one shim call; every error becomes ``{"error": ...}`` with its status."""
        try:
            result = await self._dispatch(request)
        except ApiError as error:
            return JSONResponse(error.shim_body(), status_code=error.status, headers=error.headers)
        return result if isinstance(result, Response) else JSONResponse(result)

    async def _dispatch(self, request: Request) -> Any:
        handle = request.path_params["handle"]
        if handle != self.handle:
            raise not_found(f"organization {handle!r} not found")
        path, params = parse_raw_query(request.scope["query_string"].decode("latin-1"))
        if not path.startswith("/api/v2/"):
            raise not_found(f"unknown API path {path!r}; expected index.php?/api/v2/<method>")
        name, *args = path[len("/api/v2/") :].split("/")
        if name not in SHIM_METHODS:
            raise not_found(f"unknown method {name!r}: the TestFiesta shim does not provide it")
        verb, arity = SHIM_METHODS[name]
        if name in FORBIDDEN:
            raise ApiError(403, f"{name} is not supported: {FORBIDDEN[name]}")
        if request.method != verb:
            raise bad_request(f"{name} requires {verb}")
        if len(args) != arity or not all(is_digits(arg) for arg in args):
            shape = "/".join(["<id>"] * arity)
            raise bad_request(f"{name} takes {arity} numeric id(s): {name}/{shape}".rstrip("/"))
        handler = getattr(self, name, None)
        if handler is None:
            raise ApiError(501, f"{name} is part of the shim but not emulated yet")
        ids = [int(arg) for arg in args]
        if name in MULTIPART:
            raw = await request.body()
            content_type = request.headers.get("content-type", "")
            return handler(ShimCall(name, ids, params, {}, raw, content_type))
        body = await self._body(request) if verb == "POST" else {}
        return handler(ShimCall(name, ids, params, body))

    @staticmethod
    async def _body(request: Request) -> dict[str, Any]:
        raw = await request.body()
        if not raw.strip():
            return {}
        body = parse_json(raw)
        if not isinstance(body, dict):
            raise bad_request("the request body must be a JSON object")
        return body

    # --- settings ----------------------------------------------------------------------------

    def get_statuses(self, call: ShimCall) -> list[dict[str, Any]]:
        """The org's execution statuses (shim get_statuses)."""
        return [
            {
                "id": s.uid,
                "name": s.name,
                "label": s.name,
                "color_dark": s.color,
                "color_medium": s.color,
                "color_bright": s.color,
                "is_final": s.is_final,
                "is_system": False,
                "is_untested": s.is_untested,
            }
            for s in self.state.execution_statuses
        ]

    def get_priorities(self, call: ShimCall) -> list[dict[str, Any]]:
        """The org's priorities (shim get_priorities); ``priority`` equals ``id``."""
        return [
            {
                "id": p.uid,
                "name": p.name,
                "short_name": p.short_name,
                "priority": p.uid,
                "is_default": False,
            }
            for p in self.state.priorities
        ]

    def get_case_types(self, call: ShimCall) -> list[dict[str, Any]]:
        """Live tags whose entityTypes include ``cases`` (shim: case types are tags)."""
        return [
            {"id": t["uid"], "name": t["name"], "is_default": False}
            for t in live(self.state.db.tags.values())
            if "cases" in (t["entityTypes"] or [])
        ]

    def get_templates(self, call: ShimCall) -> list[dict[str, Any]]:
        """The project's live templates; ``case_fields`` from ``templateFields`` with
        ``system_name`` = ``custom_case_<name>`` [INF]. 404 if the project does not exist."""
        [project_id] = call.ids
        project = self.state.db.projects.get(project_id)
        if project is None or project["deletedAt"] is not None:
            raise not_found(f"project {project_id} not found")
        return [
            {
                "id": t["uid"],
                "name": t["name"],
                "is_default": t["isDefault"],
                "case_fields": [
                    {
                        "system_name": f"custom_case_{f['name']}",
                        "name": f["name"],
                        "type": f["dataType"],
                    }
                    for f in t["customFields"].get("templateFields", [])
                ],
            }
            for t in live(self.state.db.templates.values())
            if t["projectUid"] == project_id
        ]

    # --- cases -------------------------------------------------------------------------------

    def _case(self, case_id: int) -> Row:
        row = self.state.db.cases.get(case_id)
        if row is None or row["deletedAt"] is not None:
            raise not_found(f"case {case_id} not found")
        return row

    def get_case(self, call: ShimCall) -> dict[str, Any]:
        """One live case in the shim shape; 404 if missing."""
        return shim_case(self.state, self._case(call.ids[0]))

    def update_case(self, call: ShimCall) -> dict[str, Any]:
        """Update a case through the shim: ``section_id`` (a folder of the case's project),
        ``title``, ``template_id``, ``type_id`` (a tag for cases; **added**, the case's other
        tags stay), ``labels`` (tag uids or names; replace the case's tags, then ``type_id``
        is added; an unknown name creates a tag for cases [INF]), ``priority_id`` (an org
        priority uid), and ``custom_case_<name>`` keys.

        ``custom_case_<name>`` sets the case's ``customFields[<name>]`` to the value sent (any
        JSON value, ``null`` included; the other customFields stay): the shim spec's
        update_case requestBody says "the request body can also include the custom fields of
        the case which can be accessed by forming name as custom_case_<field_name>", and
        :func:`shim_case` answers each customFields entry under that key (testfiesta-api.md
        §5.2 "Responses include custom_case_<field_name> keys"). The published contract
        overrides the earlier inference (DESIGN §12.2) that content changes only go through
        /data. [INF] ``<name>`` is used verbatim and need not name a template field or custom
        field (the response side is read the same way); an empty ``<name>`` is a 400.

        Any other key is a 400 naming it. Checks everything before writing; ``updatedAt``
        moves only if something changed."""
        state, body = self.state, call.body
        row = self._case(call.ids[0])
        project_uid = row["projectUid"]
        unknown = [
            key
            for key in body
            if key not in UPDATE_CASE_FIELDS
            and not (key.startswith(CUSTOM_CASE_PREFIX) and len(key) > len(CUSTOM_CASE_PREFIX))
        ]
        if unknown:
            raise bad_request(
                f"update_case does not take {', '.join(sorted(unknown))}; it takes only "
                f"{', '.join(UPDATE_CASE_FIELDS)} and {CUSTOM_CASE_PREFIX}<field_name> keys"
            )
        changes: dict[str, Any] = {}
        custom = {
            key[len(CUSTOM_CASE_PREFIX) :]: value
            for key, value in body.items()
            if key.startswith(CUSTOM_CASE_PREFIX)
        }
        if custom:
            current = row["customFields"]
            if current is not None and not isinstance(current, dict):
                raise bad_request(
                    f"case {row['uid']}: its customFields are not an object, so "
                    f"{CUSTOM_CASE_PREFIX}<field_name> keys cannot be set"
                )
            changes["customFields"] = {**(current or {}), **copy.deepcopy(custom)}
        if "title" in body:
            if not isinstance(body["title"], str) or not body["title"].strip():
                raise bad_request("Field :title must be a non-empty string")
            changes["name"] = body["title"]
        if "section_id" in body:
            folder = state.folder_row(project_uid, _int_field(body, "section_id"), "section_id")
            changes["parentUid"] = folder["uid"]
        if "template_id" in body:
            template = state.template_row(
                project_uid, _int_field(body, "template_id"), "template_id"
            )
            changes["testCaseTemplateUid"] = template["uid"]
        if "priority_id" in body:
            changes["priority"] = state.priority(_int_field(body, "priority_id"), "priority_id").uid
        type_uid = None
        if "type_id" in body:
            tag = state.tag_row(_int_field(body, "type_id"), "type_id")
            if "cases" not in (tag["entityTypes"] or []):
                raise bad_request(f"type_id: tag {tag['uid']} is not a tag for cases")
            type_uid = tag["uid"]
        tags = list(row["_tagUids"])
        new_names: list[str] = []
        if "labels" in body:
            labels = body["labels"]
            if not isinstance(labels, list):
                raise bad_request("Field :labels must be an array of tag ids or names")
            tags = []
            for index, label in enumerate(labels):
                if isinstance(label, str) and not is_digits(label):
                    existing = state.tag_named(label)
                    if existing is None:
                        new_names.append(label)
                    elif existing["uid"] not in tags:
                        tags.append(existing["uid"])
                    continue
                uid = as_uid(int(label) if isinstance(label, str) else label)
                tag = state.tag_row(uid, f"labels[{index}]")
                if tag["uid"] not in tags:
                    tags.append(tag["uid"])
        # Everything is checked: write.
        for uid in state.tag_uids_for_names(new_names):
            if uid not in tags:
                tags.append(uid)
        if type_uid is not None and type_uid not in tags:
            tags.append(type_uid)
        changes["_tagUids"] = tags
        state.update(row, changes)
        return shim_case(state, row)

    # --- tests (executions) and results ------------------------------------------------------

    def _execution(self, test_id: int) -> Row:
        row = self.state.db.executions.get(test_id)
        if row is None or row["deletedAt"] is not None:
            raise not_found(f"test {test_id} not found")
        return row

    def _run(self, run_id: int) -> Row:
        row = self.state.db.runs.get(run_id)
        if row is None or row["deletedAt"] is not None:
            raise not_found(f"run {run_id} not found")
        return row

    def _run_tests(self, run: Row) -> list[Row]:
        return self.state.run_execution_rows(run["uid"])

    def _test_for_case(self, run: Row, case_id: int, where: str | None = None) -> Row:
        """The live execution of case ``case_id`` in ``run``; 404 (or 400 naming ``where``)."""
        for execution in self._run_tests(run):
            if execution["testCaseUid"] == case_id:
                return execution
        message = f"no test for case {case_id} in run {run['uid']}"
        raise bad_request(f"{where}: {message}") if where else not_found(message)

    def _page(self, call: ShimCall, rows: list[Any], key: str) -> dict[str, Any]:
        """TestRail's bulk envelope ``{offset, limit, size, _links: {next, prev}, <key>}``;
        ``limit`` defaults to and is capped at 250 [INF], ``size`` is the total number of
        matching rows (the shim's wording) [INF], links keep the call's other parameters."""
        limit = _query_int(call.params, "limit", 250, minimum=1)
        offset = _query_int(call.params, "offset", 0, minimum=0)
        limit = min(limit, 250)
        base = "/".join([f"/api/v2/{call.method}", *(str(i) for i in call.ids)])
        extra = "".join(f"&{k}={v}" for k, v in call.params.items() if k not in ("limit", "offset"))

        def link(start: int) -> str:
            return f"{base}{extra}&limit={limit}&offset={start}"

        return {
            "offset": offset,
            "limit": limit,
            "size": len(rows),
            "_links": {
                "next": link(offset + limit) if offset + limit < len(rows) else None,
                "prev": link(max(0, offset - limit)) if offset > 0 else None,
            },
            key: rows[offset : offset + limit],
        }

    def get_test(self, call: ShimCall) -> dict[str, Any]:
        """One test (= execution) in the shim shape (:func:`shim_test`); 404 if missing."""
        return shim_test(self.state, self._execution(call.ids[0]))

    def get_tests(self, call: ShimCall) -> dict[str, Any]:
        """The run's tests, paged; ``status_id`` = comma-separated status uids to keep."""
        run = self._run(call.ids[0])
        tests = self._run_tests(run)
        if "status_id" in call.params:
            wanted = _query_ints(call.params, "status_id")
            tests = [t for t in tests if t["status"] in wanted]
        return self._page(call, [shim_test(self.state, t) for t in tests], "tests")

    def _results_of(self, executions: list[Row]) -> list[Row]:
        uids = {e["uid"] for e in executions}
        rows = [r for r in self.state.db.results.values() if r["executionUid"] in uids]
        return sorted(rows, key=lambda r: (r["createdAt"], r["uid"]), reverse=True)

    def get_results(self, call: ShimCall) -> dict[str, Any]:
        """The test's results, newest first [INF: TestRail's order], paged."""
        rows = self._results_of([self._execution(call.ids[0])])
        return self._page(call, [shim_result(r) for r in rows], "results")

    def get_results_for_case(self, call: ShimCall) -> dict[str, Any]:
        """The results of case ``case_id`` in run ``run_id``, newest first, paged."""
        run_id, case_id = call.ids
        rows = self._results_of([self._test_for_case(self._run(run_id), case_id)])
        return self._page(call, [shim_result(r) for r in rows], "results")

    def get_results_for_run(self, call: ShimCall) -> dict[str, Any]:
        """The run's results, newest first, paged; filters ``created_after``/
        ``created_before`` (UNIX seconds, exclusive [INF]), ``created_by`` (comma-separated
        user UUIDs) and ``status_id`` (comma-separated status uids)."""
        rows = [shim_result(r) for r in self._results_of(self._run_tests(self._run(call.ids[0])))]
        params = call.params
        if "created_after" in params:
            after = _query_int(params, "created_after", 0, minimum=0)
            rows = [r for r in rows if r["created_on"] > after]
        if "created_before" in params:
            before = _query_int(params, "created_before", 0, minimum=0)
            rows = [r for r in rows if r["created_on"] < before]
        if "created_by" in params:
            creators = {c.strip() for c in params["created_by"].split(",") if c.strip()}
            rows = [r for r in rows if r["created_by"] in creators]
        if "status_id" in params:
            wanted = _query_ints(params, "status_id")
            rows = [r for r in rows if r["status_id"] in wanted]
        return self._page(call, rows, "results")

    def _result_input(
        self, item: Any, where: str, id_key: str | None = None
    ) -> tuple[int | None, str | None]:
        """Check one result input: only ``status_id`` (an org execution status uid) and
        ``comment`` (a string), at least one of them [INF], plus ``id_key`` in batches. Any
        other field (``elapsed``, ``defects``, ``version``, ``custom_*``) is a 400: the shim
        takes none of them (§5.2)."""
        if not isinstance(item, dict):
            raise bad_request(f"{where} must be an object")
        allowed = ("status_id", "comment", *((id_key,) if id_key else ()))
        unknown = sorted(key for key in item if key not in allowed)
        if unknown:
            raise bad_request(
                f"{where}: the shim does not take {', '.join(unknown)}; "
                f"it takes only {', '.join(allowed)}"
            )
        status = None
        if item.get("status_id") is not None:
            status = self.state.execution_status(
                as_uid(item["status_id"]), f"{where}.status_id"
            ).uid
        comment = item.get("comment")
        if comment is not None and not isinstance(comment, str):
            raise bad_request(f"{where}.comment must be a string")
        if status is None and not comment:
            raise bad_request(f"{where}: a result needs a status_id or a comment")
        return status, comment

    def _check_open(self, execution: Row, where: str) -> None:
        """Results cannot be added to a test of a closed (archived) run [INF: as TestRail]."""
        run = self.state.db.runs.get(execution["testRunUid"])
        if run is not None and run["archivedAt"] is not None:
            raise bad_request(f"{where}: run {run['uid']} is closed; results cannot be added")

    def add_result(self, call: ShimCall) -> dict[str, Any]:
        """Add one result to test ``test_id`` (body: ``status_id``, ``comment``)."""
        execution = self._execution(call.ids[0])
        status, comment = self._result_input(call.body, "body")
        self._check_open(execution, "add_result")
        return shim_result(self.state.add_result(execution, status, comment))

    def add_result_for_case(self, call: ShimCall) -> dict[str, Any]:
        """Add one result to the test of case ``case_id`` in run ``run_id``."""
        run_id, case_id = call.ids
        execution = self._test_for_case(self._run(run_id), case_id)
        status, comment = self._result_input(call.body, "body")
        self._check_open(execution, "add_result_for_case")
        return shim_result(self.state.add_result(execution, status, comment))

    def _add_batch(self, call: ShimCall, id_key: str) -> dict[str, Any]:
        run = self._run(call.ids[0])
        unknown = sorted(key for key in call.body if key != "results")
        if unknown or not isinstance(call.body.get("results"), list):
            raise bad_request('the body must be {"results": [...]} and nothing else')
        checked = []
        for index, item in enumerate(call.body["results"]):
            where = f"results[{index}]"
            status, comment = self._result_input(item, where, id_key)
            if id_key not in item:
                raise bad_request(f"{where}.{id_key} is required")
            ref = as_uid(item[id_key])
            if id_key == "test_id":
                execution = self.state.db.executions.get(ref) if type(ref) is int else None
                if (
                    execution is None
                    or execution["deletedAt"] is not None
                    or (execution["testRunUid"] != run["uid"])
                ):
                    raise bad_request(f"{where}.test_id: test {ref!r} is not in run {run['uid']}")
            else:
                execution = self._test_for_case(run, ref, f"{where}.case_id")
            self._check_open(execution, where)
            checked.append((execution, status, comment))
        results = [shim_result(self.state.add_result(e, s, c)) for e, s, c in checked]
        return {
            "offset": 0,
            "limit": len(results),
            "size": len(results),
            "_links": {"next": None, "prev": None},
            "results": results,
        }

    def add_results(self, call: ShimCall) -> dict[str, Any]:
        """Add results to tests of run ``run_id`` (``{"results": [{test_id, status_id,
        comment}]}``); all are checked before any is written. Answers the bulk envelope with
        the new results, as the shim spec documents."""
        return self._add_batch(call, "test_id")

    def add_results_for_cases(self, call: ShimCall) -> dict[str, Any]:
        """Like :meth:`add_results`, keyed by ``case_id`` of the run's tests."""
        return self._add_batch(call, "case_id")

    # --- plans -------------------------------------------------------------------------------

    def _shim_plan(self, plan: Row) -> dict[str, Any]:
        """A plan in the shim's shape (close_plan answer in the shim spec): ``id``, ``name``,
        ``description``, ``milestone_id`` (the first linked milestone), ``is_completed`` /
        ``completed_on`` (archived), ``created_on``, ``created_by``, ``project_id``,
        ``assignedto_id: null``, ``url``, and the two synthetic ``entries`` (runs with
        configurations, runs without; §5.2) holding ``{id, name, config}`` per run [INF: the
        entry shape is not documented]."""
        custom = plan["customFields"] or {}
        milestones = custom.get("milestoneUids") or []
        runs = [self.state.db.runs.get(item["uid"]) for item in custom.get("testRuns") or []]
        live_runs = [r for r in runs if r is not None and r["deletedAt"] is None]

        def entry(index: int, with_configs: bool) -> dict[str, Any]:
            chosen = [r for r in live_runs if bool((r["customFields"] or {}).get("configs"))
                      == with_configs]  # fmt: skip
            return {
                "id": f"{plan['uid']}-{index}",
                "name": plan["name"],
                "runs": [
                    {
                        "id": r["uid"],
                        "name": r["name"],
                        "config": ", ".join((r["customFields"] or {}).get("configs") or []) or None,
                    }
                    for r in chosen
                ],
            }

        archived = plan["archivedAt"]
        return {
            "id": plan["uid"],
            "name": plan["name"],
            "description": plan.get("description"),
            "milestone_id": milestones[0] if milestones else None,
            "assignedto_id": None,
            "is_completed": archived is not None,
            "completed_on": unix_seconds(archived) if archived else None,
            "created_on": unix_seconds(plan["createdAt"]),
            "created_by": plan["createdBy"],
            "project_id": plan["projectUid"],
            "url": f"/{self.handle}/plans/{plan['uid']}",
            "entries": [entry(1, True), entry(2, False)],
        }

    def close_plan(self, call: ShimCall) -> dict[str, Any]:
        """Close (archive) plan ``plan_id``: ``archivedAt`` = now; answers the closed plan
        (shim spec: "The plan was successfully closed / archived"). A closed plan stays
        closed [INF: whether closing twice is an error is not documented]."""
        plan = self.state.db.plans.get(call.ids[0])
        if plan is None or plan["deletedAt"] is not None:
            raise not_found(f"plan {call.ids[0]} not found")
        if plan["archivedAt"] is None:
            self.state.update(plan, {"archivedAt": self.state.now()})
        return without_nulls(self._shim_plan(plan), "milestone_id", "completed_on", "description")

    # --- configurations ----------------------------------------------------------------------

    def _project(self, project_id: int) -> Row:
        row = self.state.db.projects.get(project_id)
        if row is None or row["deletedAt"] is not None:
            raise not_found(f"project {project_id} not found")
        return row

    def _config_group(self, group_id: int) -> Row:
        row = self.state.db.config_groups.get(group_id)
        if row is None or row["deletedAt"] is not None:
            raise not_found(f"configuration group {group_id} not found")
        return row

    def _config(self, config_id: int) -> Row:
        row = self.state.db.configs.get(config_id)
        if row is None or row["deletedAt"] is not None:
            raise not_found(f"configuration {config_id} not found")
        return row

    @staticmethod
    def _name(body: dict[str, Any]) -> str:
        """The ``name`` of a configuration body: the only field, a non-empty string."""
        unknown = sorted(key for key in body if key != "name")
        if unknown:
            raise bad_request(f"the shim does not take {', '.join(unknown)}; it takes only name")
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise bad_request("Field :name is a required non-empty string")
        return name

    def _group_out(self, group: Row) -> dict[str, Any]:
        configs = live(self.state.db.configs.values())
        return {
            "id": group["uid"],
            "name": group["name"],
            "project_id": group["projectUid"],
            "configs": [
                {"id": c["uid"], "name": c["name"], "group_id": group["uid"]}
                for c in configs
                if c["groupUid"] == group["uid"]
            ],
        }

    def get_configs(self, call: ShimCall) -> list[dict[str, Any]]:
        """The project's configuration groups with their configurations (bare array)."""
        project = self._project(call.ids[0])
        groups = live(self.state.db.config_groups.values())
        return [self._group_out(g) for g in groups if g["projectUid"] == project["uid"]]

    def add_config_group(self, call: ShimCall) -> dict[str, Any]:
        """Add a configuration group (``{name}``) to the project."""
        project = self._project(call.ids[0])
        name = self._name(call.body)
        row: Row = {
            "uid": self.state.new_uid(),
            "name": name,
            "projectUid": project["uid"],
            "deletedAt": None,
        }
        self.state.db.config_groups[row["uid"]] = row
        return self._group_out(row)

    def add_config(self, call: ShimCall) -> dict[str, Any]:
        """Add a configuration (``{name}``) to a group -> ``{id, name, group_id}``."""
        group = self._config_group(call.ids[0])
        name = self._name(call.body)
        row: Row = {
            "uid": self.state.new_uid(),
            "name": name,
            "groupUid": group["uid"],
            "deletedAt": None,
        }
        self.state.db.configs[row["uid"]] = row
        return {"id": row["uid"], "name": name, "group_id": group["uid"]}

    def update_config_group(self, call: ShimCall) -> dict[str, Any]:
        """Rename a configuration group; answers the group."""
        group = self._config_group(call.ids[0])
        group["name"] = self._name(call.body)
        return self._group_out(group)

    def update_config(self, call: ShimCall) -> dict[str, Any]:
        """Rename a configuration; answers its **group**, as the shim spec documents."""
        config = self._config(call.ids[0])
        config["name"] = self._name(call.body)
        return self._group_out(self.state.db.config_groups[config["groupUid"]])

    def delete_config_group(self, call: ShimCall) -> Response:
        """Delete a configuration group and its configurations; answers JSON ``null`` (the
        spec declares an application/json 200 of ``type: null``)."""
        group = self._config_group(call.ids[0])
        now = self.state.now()
        for config in live(self.state.db.configs.values()):
            if config["groupUid"] == group["uid"]:
                config["deletedAt"] = now
        group["deletedAt"] = now
        return JSONResponse(None)

    def delete_config(self, call: ShimCall) -> Response:
        """Delete a configuration; answers JSON ``null`` like :meth:`delete_config_group`."""
        self._config(call.ids[0])["deletedAt"] = self.state.now()
        return JSONResponse(None)

    # --- attachments -------------------------------------------------------------------------

    def add_attachment_to_case(self, call: ShimCall) -> dict[str, Any]:
        """Attach a file to a case: multipart/form-data with the file in field ``attachment``
        -> ``{"attachment_id": "<id>"}`` (a string, as the shim documents). The bytes are
        kept as received; 400 without a multipart ``attachment`` file."""
        case = self._case(call.ids[0])
        name, content = _multipart_file(call.raw, call.content_type, "attachment")
        row: Row = {
            "uid": self.state.new_uid(),
            "caseUid": case["uid"],
            "executionUid": None,
            "runUid": None,
            "planUid": None,
            "projectUid": case["projectUid"],
            "name": name,
            "size": len(content),
            "sha256": hashlib.sha256(content).hexdigest(),
            "createdBy": self.state.user_uid,
            "createdAt": self.state.now(),
            "_content": content,
        }
        self.state.db.attachments[row["uid"]] = row
        return {"attachment_id": str(row["uid"])}

    def get_attachments_for_case(self, call: ShimCall) -> dict[str, Any]:
        """The case's attachments, paged: ``{id, name, size, created_on, project_id,
        case_id}``; ``id`` is an integer here (the spec's type). The spec's ``user_id`` is an
        integer, but TestFiesta users are UUIDs and the emulator has no integer for them, so
        it is left out [INF]."""
        case = self._case(call.ids[0])
        rows = [
            {
                "id": a["uid"],
                "name": a["name"],
                "size": a["size"],
                "created_on": unix_seconds(a["createdAt"]),
                "project_id": a["projectUid"],
                "case_id": a["caseUid"],
            }
            for a in self.state.db.attachments.values()
            if a["caseUid"] == case["uid"]
        ]
        return self._page(call, rows, "attachments")


def shim_result(row: Row) -> dict[str, Any]:
    """A stored result in the shim shape: ``id``, ``test_id``, ``status_id``, ``comment``
    (left out when the result has none, :func:`without_nulls`), ``created_by`` (user UUID),
    ``created_on`` (UNIX seconds), ``defects`` and ``assignedto_id`` (always null, as the
    shim documents)."""
    answer = {
        "id": row["uid"],
        "test_id": row["executionUid"],
        "status_id": row["statusUid"],
        "comment": row["comment"],
        "created_by": row["createdBy"],
        "created_on": unix_seconds(row["createdAt"]),
        "defects": None,
        "assignedto_id": None,
    }
    return without_nulls(answer, "comment")


def shim_test(state: TestFiestaState, execution: Row) -> dict[str, Any]:
    """An execution as a shim test: ``id``, ``run_id``, ``status_id``, ``title``,
    ``priority_id``, ``type_id`` (first tag for cases of its case; both left out when there is
    none, :func:`without_nulls`), and ``case_id``, ``assigned_to_id`` always null (the shim
    documents them as unsupported). ``milestone_id`` and ``refs`` have no source in the
    emulator [INF] and are never sent (the spec types them non-nullable)."""
    case = state.db.cases.get(execution["testCaseUid"])
    answer = {
        "id": execution["uid"],
        "case_id": None,
        "assigned_to_id": None,
        "run_id": execution["testRunUid"],
        "status_id": execution["status"],
        "title": execution["name"],
        "type_id": type_id(case_tags(state, case)) if case is not None else None,
        "priority_id": execution["priority"],
    }
    return without_nulls(answer, "type_id", "priority_id")


def _query_int(params: dict[str, str], name: str, default: int, *, minimum: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    if not is_digits(raw) or int(raw) < minimum:
        raise bad_request(f"Field :{name} must be an integer >= {minimum} (got {raw!r})")
    return int(raw)


def _query_ints(params: dict[str, str], name: str) -> set[int]:
    parts = [part.strip() for part in params[name].split(",") if part.strip()]
    if not all(is_digits(part) for part in parts):
        raise bad_request(f"Field :{name} must be a comma-separated list of ids")
    return {int(part) for part in parts}


def _multipart_file(raw: bytes, content_type: str, field: str) -> tuple[str, bytes]:
    """The (file name, bytes) of form field ``field`` of a multipart/form-data body, parsed
    with the standard library; 400 if the body is not multipart or lacks the field."""
    if not content_type.lower().startswith("multipart/form-data"):
        raise bad_request(f"the body must be multipart/form-data with a file field {field!r}")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=email.policy.HTTP).parsebytes(head + raw)
    if message.is_multipart():
        for part in message.iter_parts():
            if part.get_param("name", header="content-disposition") == field:
                payload = part.get_payload(decode=True)
                content = payload if isinstance(payload, bytes) else b""
                return part.get_filename() or field, content
    raise bad_request(f"the multipart body has no file field {field!r}")
