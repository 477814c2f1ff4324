"""The TestRail API v2 methods the emulator answers, one handler per method (testrail-api.md
Appendix A). The ASGI layer (:mod:`emulators.testrail.app`) authenticates, parses the request
into a :class:`Call` and runs the handler under the state lock.

A handler returns a JSON-able value, :data:`EMPTY` (HTTP 200 with an empty body, as TestRail's
deletes do, §1.3) or :class:`RawBody` (``get_attachment`` bytes); it raises
:class:`~emulators.testrail.errors.ApiError` for TestRail's 400s.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from emulators.testrail import ops, runs
from emulators.testrail.errors import ApiError, bad_request, invalid, required
from emulators.testrail.paging import PageRequest, paginate
from emulators.testrail.store import (
    Row,
    TestRailState,
    public,
    render_case,
    render_field,
    render_project,
    render_section,
    render_sections,
    render_suite,
)
from emulators.testrail.values import (
    Body,
    csv_ints,
    param_bool,
    param_int,
    to_id_list,
    to_int,
)


@dataclass
class RawBody:
    """A non-JSON 200 response: ``data`` bytes with ``content_type``."""

    data: bytes
    content_type: str


EMPTY = RawBody(b"", "application/json")


@dataclass
class Upload:
    """One multipart file part: ``filename``, ``data`` bytes, ``content_type`` (may be None)."""

    filename: str
    data: bytes
    content_type: str | None


@dataclass
class Call:
    """One parsed API call.

    ``method`` is the API method name, ``ids`` the path ids (ints, in declared order),
    ``params`` the decoded query parameters, ``page`` their pagination view, ``body`` the decoded
    JSON object (``{}`` for GET), ``files`` multipart uploads by field name, ``user`` the
    authenticated user row, ``base`` the instance URL used in ``url`` fields, ``text_ids`` the
    GUID path ids by name (``entry_id``); ``legacy_arrays``, ``suites_paged``,
    ``ignore_offset`` and ``next_limit_zero`` are the instance's paging switches.
    """

    state: TestRailState
    method: str
    ids: list[int]
    params: dict[str, str]
    page: PageRequest
    body: Body
    user: Row
    base: str
    legacy_arrays: bool = False
    suites_paged: bool = False
    files: dict[str, Upload] = field(default_factory=dict)
    text_ids: dict[str, str] = field(default_factory=dict)
    ignore_offset: bool = False
    next_limit_zero: bool = False

    @property
    def user_id(self) -> int:
        """Id of the authenticated user (``created_by``/``updated_by`` of writes)."""
        return int(self.user["id"])

    def paged(self, rows: list[Any], key: str, render: Callable[[Any], Any] = lambda r: r) -> Any:
        """``rows`` as a page under ``key`` (or a bare array in legacy mode), §2.2, with the
        server quirks the call was made under (:func:`~emulators.testrail.paging.paginate`)."""
        return paginate(
            self.page,
            rows,
            key,
            render,
            legacy=self.legacy_arrays,
            ignore_offset=self.ignore_offset,
            next_limit_zero=self.next_limit_zero,
        )


Handler = Callable[[Call], Any]


@dataclass(frozen=True)
class Endpoint:
    """A method's verb (``GET``/``POST``), path id names (``("run_id", "case_id")``), how many
    of them are required, and whether it takes a multipart upload."""

    verb: str
    ids: tuple[str, ...]
    required_ids: int
    handler: Handler
    multipart: bool = False


ENDPOINTS: dict[str, Endpoint] = {}


def endpoint(
    name: str, verb: str, *ids: str, optional: int = 0, multipart: bool = False
) -> Callable[[Handler], Handler]:
    """Register ``handler`` as API method ``name`` (path ``name/{ids...}``)."""

    def register(handler: Handler) -> Handler:
        ENDPOINTS[name] = Endpoint(verb, ids, len(ids) - optional, handler, multipart)
        return handler

    return register


def _time_filters(params: dict[str, str], row: Row, *pairs: tuple[str, str]) -> bool:
    """``<x>_after``/``<x>_before`` filters (UNIX seconds, strict > and <) on ``row[<x>_on]``."""
    for param, column in pairs:
        bound = param_int(params, param)
        if bound is None:
            continue
        value = row[column]
        if param.endswith("_after") and not value > bound:
            return False
        if param.endswith("_before") and not value < bound:
            return False
    return True


# ---------------------------------------------------------------------------------------------
# projects, suites


@endpoint("get_projects", "GET")
def get_projects(call: Call) -> Any:
    """Paged ``projects``; filter ``is_completed`` (0/1)."""
    done = param_bool(call.params, "is_completed")
    rows = [p for p in call.state.projects.values() if done is None or p["is_completed"] == done]
    return call.paged(rows, "projects", lambda p: render_project(call.state, p, call.base))


@endpoint("get_project", "GET", "project_id")
def get_project(call: Call) -> Any:
    """One project."""
    return render_project(call.state, call.state.project(call.ids[0]), call.base)


@endpoint("add_project", "POST")
def add_project(call: Call) -> Any:
    """Create a project (admin)."""
    return render_project(call.state, ops.add_project(call.state, call.body), call.base)


@endpoint("update_project", "POST", "project_id")
def update_project(call: Call) -> Any:
    """Partial project update."""
    row = ops.update_project(call.state, call.ids[0], call.body)
    return render_project(call.state, row, call.base)


@endpoint("get_suites", "GET", "project_id")
def get_suites(call: Call) -> Any:
    """Suites of a project: a bare array (≤ 9.3.0) or, with the 9.3.1 profile, paged ``suites``."""
    project = call.state.project(call.ids[0])
    rows = [s for s in call.state.suites.values() if s["project_id"] == project["id"]]

    def render(suite: Row) -> Row:
        return render_suite(call.state, suite, call.base)

    if call.suites_paged:
        return call.paged(rows, "suites", render)
    return [render(s) for s in rows]


@endpoint("get_suite", "GET", "suite_id")
def get_suite(call: Call) -> Any:
    """One suite."""
    return render_suite(call.state, call.state.suite(call.ids[0]), call.base)


@endpoint("add_suite", "POST", "project_id")
def add_suite(call: Call) -> Any:
    """Create a suite: a new suite in mode 3, a baseline in mode 2, 400 in mode 1
    (:func:`emulators.testrail.ops.add_suite`, testrail-api.md §5.2)."""
    return render_suite(call.state, ops.add_suite(call.state, call.ids[0], call.body), call.base)


@endpoint("update_suite", "POST", "suite_id")
def update_suite(call: Call) -> Any:
    """Rename / describe a suite."""
    row = ops.update_suite(call.state, call.ids[0], call.body)
    return render_suite(call.state, row, call.base)


# ---------------------------------------------------------------------------------------------
# sections


@endpoint("get_sections", "GET", "project_id")
def get_sections(call: Call) -> Any:
    """Paged ``sections`` of a suite in pre-order (``suite_id`` required in mode 3)."""
    project = call.state.project(call.ids[0])
    suite = ops.resolve_suite(call.state, project, call.params.get("suite_id"))
    return call.paged(render_sections(call.state, suite["id"]), "sections")


@endpoint("get_section", "GET", "section_id")
def get_section(call: Call) -> Any:
    """One section with ``depth``/``display_order``."""
    return render_section(call.state, call.state.section(call.ids[0]))


@endpoint("add_section", "POST", "project_id")
def add_section(call: Call) -> Any:
    """Create a section."""
    return render_section(call.state, ops.add_section(call.state, call.ids[0], call.body))


@endpoint("update_section", "POST", "section_id")
def update_section(call: Call) -> Any:
    """Rename / describe a section."""
    return render_section(call.state, ops.update_section(call.state, call.ids[0], call.body))


@endpoint("move_section", "POST", "section_id")
def move_section(call: Call) -> Any:
    """Re-parent / re-order a section."""
    return render_section(call.state, ops.move_section(call.state, call.ids[0], call.body))


def _soft(call: Call) -> bool:
    return bool(param_bool(call.params, "soft") or call.body.get("soft") in (1, True, "1"))


@endpoint("delete_section", "POST", "section_id")
def delete_section(call: Call) -> Any:
    """Delete a section subtree (``soft=1`` previews counts)."""
    result = ops.delete_section(call.state, call.ids[0], soft=_soft(call))
    return EMPTY if result is None else result


# ---------------------------------------------------------------------------------------------
# cases


def _case_rows(call: Call, project: Row) -> list[Row]:
    st, p = call.state, call.params
    suite = ops.resolve_suite(st, project, p.get("suite_id"))
    section_id = param_int(p, "section_id")
    if section_id is not None and st.section(section_id)["suite_id"] != suite["id"]:
        raise invalid("section_id", "section")
    key = ("get_cases", project["id"], tuple(call.page.filters))
    first = call.page.offset in (None, "", "0")
    return st.listing(key, first, lambda: _filter_cases(call, suite, section_id))


def _filter_cases(call: Call, suite: Row, section_id: int | None) -> list[Row]:
    """The cases of ``suite`` (of one section when ``section_id`` is given: read through the
    ``section`` index, so other sections' rows are never looked at) that pass the call's
    filters, in UI order."""
    st, p = call.state, call.params
    csv = {
        k: csv_ints(p, k)
        for k in (
            "created_by",
            "updated_by",
            "milestone_id",
            "priority_id",
            "template_id",
            "type_id",
            "label_id",
        )
    }
    text = (p.get("filter") or "").lower()
    ref = (p.get("refs") or "").strip()
    order = {sec["id"]: i for i, (sec, _) in enumerate(st.section_order(suite["id"]))}
    out = []
    candidates = (
        st.indexed("suite", suite["id"])
        if section_id is None
        else st.indexed("section", section_id)
    )
    for case in candidates:
        if case["suite_id"] != suite["id"]:
            continue
        if not _time_filters(
            p,
            case,
            ("created_after", "created_on"),
            ("created_before", "created_on"),
            ("updated_after", "updated_on"),
            ("updated_before", "updated_on"),
        ):
            continue
        if any(v is not None and case[k] not in v for k, v in csv.items() if k != "label_id"):
            continue
        if csv["label_id"] is not None and not csv["label_id"] & set(case["labels"]):
            continue
        if text and text not in case["title"].lower():
            continue
        if ref and ref not in [r.strip() for r in (case["refs"] or "").split(",")]:
            continue
        out.append(case)
    out.sort(key=lambda c: (order.get(c["section_id"], 0), c["display_order"], c["id"]))
    return out


@endpoint("get_cases", "GET", "project_id")
def get_cases(call: Call) -> Any:
    """Paged ``cases`` of a suite in UI order (section pre-order, then ``display_order``).

    Filters: ``suite_id`` (required in mode 3), ``section_id`` (direct children only),
    ``created_after``/``created_before``/``updated_after``/``updated_before`` (UNIX seconds,
    exclusive), csv ``created_by``/``updated_by``/``milestone_id``/``priority_id``/
    ``template_id``/``type_id``/``label_id``, ``filter`` (title substring, case-insensitive),
    ``refs`` (one reference). §5.4.
    """
    project = call.state.project(call.ids[0])
    rows = _case_rows(call, project)
    return call.paged(rows, "cases", lambda c: render_case(call.state, c))


@endpoint("get_case", "GET", "case_id")
def get_case(call: Call) -> Any:
    """One case."""
    return render_case(call.state, call.state.case(call.ids[0]))


@endpoint("add_case", "POST", "section_id")
def add_case(call: Call) -> Any:
    """Create a case in a section."""
    row = ops.add_case(call.state, call.ids[0], call.body, call.user_id)
    return render_case(call.state, row)


@endpoint("add_cases", "POST", "section_id")
def add_cases(call: Call) -> Any:
    """``{"cases": [...]}`` -> ``{"cases": [...]}``; validated all-or-nothing."""
    items = call.body.get("cases")
    if not isinstance(items, list) or not items:
        raise required("cases")
    checkpoint = call.state.checkpoint()
    created = []
    try:
        for item in items:
            if not isinstance(item, dict):
                raise bad_request("Field :cases is not a valid array.")
            created.append(ops.add_case(call.state, call.ids[0], item, call.user_id))
    except ApiError:
        call.state.restore(checkpoint)
        raise
    return {"cases": [render_case(call.state, c) for c in created]}


@endpoint("update_case", "POST", "case_id")
def update_case(call: Call) -> Any:
    """Partial case update (moves with ``section_id``)."""
    row = ops.update_case(call.state, call.ids[0], call.body, call.user_id)
    return render_case(call.state, row)


@endpoint("update_cases", "POST", "suite_id")
def update_cases(call: Call) -> Any:
    """``update_cases/{suite_id}``: ``case_ids``* + the same values for all; answers the live
    wrapper ``{"updated_cases": [...]}`` (dichovsky 5.2.0)."""
    suite = call.state.suite(call.ids[0])
    if call.body.get("case_ids") is None:
        raise required("case_ids")
    ids = to_id_list(call.body["case_ids"], "case_ids")
    for cid in ids:
        if call.state.case(cid)["suite_id"] != suite["id"]:
            raise invalid("case_ids", "test case")
    values = {k: v for k, v in call.body.items() if k not in ("case_ids", "section_id")}
    rows = [ops.update_case(call.state, cid, values, call.user_id) for cid in ids]
    return {"updated_cases": [render_case(call.state, r) for r in rows]}


@endpoint("move_cases_to_section", "POST", "section_id")
def move_cases_to_section(call: Call) -> Any:
    """Move cases, keeping their ids; empty 200."""
    ops.move_cases_to_section(call.state, call.ids[0], call.body, call.user_id)
    return EMPTY


@endpoint("delete_case", "POST", "case_id")
def delete_case(call: Call) -> Any:
    """Hard delete (empty 200) or ``soft=1`` preview ``{"affected_tests": n}``."""
    call.state.case(call.ids[0])
    result = ops.delete_cases(call.state, [call.ids[0]], soft=_soft(call))
    return EMPTY if result is None else result


@endpoint("delete_cases", "POST", "suite_id")
def delete_cases(call: Call) -> Any:
    """``delete_cases/{suite_id}`` with ``case_ids``*."""
    suite = call.state.suite(call.ids[0])
    if call.body.get("case_ids") is None:
        raise required("case_ids")
    ids = to_id_list(call.body["case_ids"], "case_ids")
    for cid in ids:
        if call.state.case(cid)["suite_id"] != suite["id"]:
            raise invalid("case_ids", "test case")
    result = ops.delete_cases(call.state, ids, soft=_soft(call))
    return EMPTY if result is None else result


@endpoint("get_history_for_case", "GET", "case_id")
def get_history_for_case(call: Call) -> Any:
    """Paged ``history`` of a case, oldest first (§5.5)."""
    call.state.case(call.ids[0])
    return call.paged(list(call.state.history.get(call.ids[0], [])), "history")


# ---------------------------------------------------------------------------------------------
# metadata (always bare arrays, §2.3)


@endpoint("get_case_fields", "GET")
def get_case_fields(call: Call) -> Any:
    """All case fields."""
    return [render_field(f) for f in call.state.case_fields.values()]


@endpoint("add_case_field", "POST")
def add_case_field(call: Call) -> Any:
    """Create a case field; answers the ``add_case_field`` echo (configs as a JSON string)."""
    return ops.case_field_echo(ops.add_case_field(call.state, call.body))


@endpoint("get_result_fields", "GET")
def get_result_fields(call: Call) -> Any:
    """All result fields."""
    return [render_field(f) for f in call.state.result_fields.values()]


@endpoint("get_case_types", "GET")
def get_case_types(call: Call) -> Any:
    """All case types."""
    return [public(t) for t in call.state.case_types.values()]


@endpoint("get_priorities", "GET")
def get_priorities(call: Call) -> Any:
    """All priorities."""
    return [public(p) for p in call.state.priorities.values()]


@endpoint("get_statuses", "GET")
def get_statuses(call: Call) -> Any:
    """Active statuses (system 1..5 plus active custom ones)."""
    return [public(s) for s in call.state.statuses.values() if s.get("_active")]


@endpoint("get_templates", "GET", "project_id")
def get_templates(call: Call) -> Any:
    """Templates enabled for a project."""
    call.state.project(call.ids[0])
    return [public(t) for t in ops.project_templates(call.state, call.ids[0])]


# ---------------------------------------------------------------------------------------------
# users (§5.16)


def _render_user(user: Row) -> Row:
    keys = (
        "id",
        "name",
        "email",
        "is_active",
        "role_id",
        "role",
        "is_admin",
        "email_notifications",
        "mfa_required",
        "group_ids",
    )
    return {k: user[k] for k in keys}


@endpoint("get_users", "GET", "project_id", optional=1)
def get_users(call: Call) -> Any:
    """All users (admin) or ``get_users/{project_id}``; a bare array (documented shape).
    Non-admins without a project id -> 403 (§5.16)."""
    if call.ids:
        call.state.project(call.ids[0])
    elif not call.user["is_admin"]:
        raise ApiError(
            403,
            "Access Denied. You are not a TestRail administrator. "
            "Field:project_id is a required field.",
        )
    return [_render_user(u) for u in call.state.users.values()]


@endpoint("get_roles", "GET")
def get_roles(call: Call) -> Any:
    """Paged ``roles`` (7.3+, born paged: testrail-api.md §2.3; tolstislon ``get_roles`` returns
    the envelope): ``{id, name, is_default, is_project_admin}`` as dichovsky__live_roles.json."""
    return call.paged(list(call.state.roles.values()), "roles", public)


@endpoint("get_user", "GET", "user_id")
def get_user(call: Call) -> Any:
    """One user."""
    return _render_user(call.state.user(call.ids[0]))


@endpoint("get_user_by_email", "GET")
def get_user_by_email(call: Call) -> Any:
    """``get_user_by_email&email=<addr>``; unknown -> 400 ``Field :email is not a valid user.``"""
    email = call.params.get("email")
    if not email:
        raise required("email")
    user = call.state.find_user_by_email(email)
    if user is None:
        raise invalid("email", "user")
    return _render_user(user)


@endpoint("get_current_user", "GET")
def get_current_user(call: Call) -> Any:
    """The authenticated user."""
    return _render_user(call.user)


# ---------------------------------------------------------------------------------------------
# milestones (§5.9)


def _render_milestone(call: Call, row: Row) -> Row:
    out = public(row)
    out["url"] = f"{call.base}/index.php?/milestones/view/{row['id']}"
    out["milestones"] = [
        _render_milestone(call, m)
        for m in call.state.milestones.values()
        if m["parent_id"] == row["id"]
    ]
    return out


@endpoint("get_milestones", "GET", "project_id")
def get_milestones(call: Call) -> Any:
    """Paged ``milestones`` (parents embed children in ``milestones``; children are also
    listed); filters ``is_completed``, ``is_started``."""
    call.state.project(call.ids[0])
    done = param_bool(call.params, "is_completed")
    started = param_bool(call.params, "is_started")
    rows = [
        m
        for m in call.state.milestones.values()
        if m["project_id"] == call.ids[0]
        and (done is None or m["is_completed"] == done)
        and (started is None or m["is_started"] == started)
    ]
    return call.paged(rows, "milestones", lambda m: _render_milestone(call, m))


@endpoint("get_milestone", "GET", "milestone_id")
def get_milestone(call: Call) -> Any:
    """One milestone with its sub-milestones."""
    return _render_milestone(call, call.state.milestone(call.ids[0]))


@endpoint("add_milestone", "POST", "project_id")
def add_milestone(call: Call) -> Any:
    """Create a milestone."""
    return _render_milestone(call, ops.add_milestone(call.state, call.ids[0], call.body))


@endpoint("update_milestone", "POST", "milestone_id")
def update_milestone(call: Call) -> Any:
    """Partial milestone update."""
    return _render_milestone(call, ops.update_milestone(call.state, call.ids[0], call.body))


# ---------------------------------------------------------------------------------------------
# configurations (§5.10)


@endpoint("get_configs", "GET", "project_id")
def get_configs(call: Call) -> Any:
    """Bare array of configuration groups."""
    call.state.project(call.ids[0])
    return runs.render_config_groups(call.state, call.ids[0])


@endpoint("add_config_group", "POST", "project_id")
def add_config_group(call: Call) -> Any:
    """Create a configuration group."""
    row = runs.add_config_group(call.state, call.ids[0], call.body)
    return dict(row, configs=[])


@endpoint("add_config", "POST", "config_group_id")
def add_config(call: Call) -> Any:
    """Create a configuration in a group."""
    return dict(runs.add_config(call.state, call.ids[0], call.body))


@endpoint("update_config_group", "POST", "config_group_id")
def update_config_group(call: Call) -> Any:
    """Rename a configuration group."""
    row = runs.update_config_group(call.state, call.ids[0], call.body)
    return dict(row, configs=[dict(c) for c in call.state.configs.values()
                              if c["group_id"] == row["id"]])  # fmt: skip


@endpoint("update_config", "POST", "config_id")
def update_config(call: Call) -> Any:
    """Rename a configuration."""
    return dict(runs.update_config(call.state, call.ids[0], call.body))


# ---------------------------------------------------------------------------------------------
# runs and tests (§5.11, §5.13)


@endpoint("get_runs", "GET", "project_id")
def get_runs(call: Call) -> Any:
    """Paged ``runs`` outside plans; filters ``created_after``/``created_before``, csv
    ``created_by``/``milestone_id``/``suite_id``, ``is_completed``, ``refs_filter``."""
    call.state.project(call.ids[0])
    p = call.params
    done = param_bool(p, "is_completed")
    csv = {k: csv_ints(p, k) for k in ("created_by", "milestone_id", "suite_id")}
    ref = (p.get("refs_filter") or "").strip()
    rows = [
        r
        for r in call.state.runs.values()
        if r["project_id"] == call.ids[0]
        and r["plan_id"] is None
        and (done is None or r["is_completed"] == done)
        and _time_filters(p, r, ("created_after", "created_on"), ("created_before", "created_on"))
        and all(v is None or r[k] in v for k, v in csv.items())
        and (not ref or ref in [x.strip() for x in (r["refs"] or "").split(",")])
    ]
    return call.paged(rows, "runs", lambda r: runs.render_run(call.state, r, call.base))


@endpoint("get_run", "GET", "run_id")
def get_run(call: Call) -> Any:
    """One run."""
    return runs.render_run(call.state, call.state.run(call.ids[0]), call.base)


@endpoint("add_run", "POST", "project_id")
def add_run(call: Call) -> Any:
    """Create a run and its tests."""
    row = runs.add_run(call.state, call.ids[0], call.body, call.user_id)
    return runs.render_run(call.state, row, call.base)


@endpoint("update_run", "POST", "run_id")
def update_run(call: Call) -> Any:
    """Partial run update; ``case_ids`` replaces the selection."""
    return runs.render_run(
        call.state, runs.update_run(call.state, call.ids[0], call.body), call.base
    )


@endpoint("close_run", "POST", "run_id")
def close_run(call: Call) -> Any:
    """Close a run; returns the closed run."""
    return runs.render_run(call.state, runs.close_run(call.state, call.ids[0]), call.base)


@endpoint("delete_run", "POST", "run_id")
def delete_run(call: Call) -> Any:
    """Delete a run (``soft=1`` previews)."""
    result = runs.delete_run(call.state, call.ids[0], soft=_soft(call))
    return EMPTY if result is None else result


@endpoint("get_tests", "GET", "run_id")
def get_tests(call: Call) -> Any:
    """Paged ``tests`` of a run; filter csv ``status_id``."""
    call.state.run(call.ids[0])
    statuses = csv_ints(call.params, "status_id")
    rows = [
        t
        for t in call.state.indexed("run", call.ids[0])
        if statuses is None or t["status_id"] in statuses
    ]
    return call.paged(rows, "tests", lambda t: runs.render_test(call.state, t))


@endpoint("get_test", "GET", "test_id")
def get_test(call: Call) -> Any:
    """One test."""
    return runs.render_test(call.state, call.state.test(call.ids[0]))


# ---------------------------------------------------------------------------------------------
# results (§5.14)


def _results_page(call: Call, rows: list[Row]) -> Any:
    p = call.params
    statuses = csv_ints(p, "status_id")
    creators = csv_ints(p, "created_by")
    defect = (p.get("defects_filter") or "").strip()
    rows = [
        r
        for r in rows
        if (statuses is None or r["status_id"] in statuses)
        and (creators is None or r["created_by"] in creators)
        and _time_filters(p, r, ("created_after", "created_on"), ("created_before", "created_on"))
        and (not defect or defect in [d.strip() for d in (r["defects"] or "").split(",")])
    ]
    rows.sort(key=lambda r: r["id"], reverse=True)
    return call.paged(rows, "results", lambda r: runs.render_result(call.state, r))


@endpoint("get_results", "GET", "test_id")
def get_results(call: Call) -> Any:
    """Paged ``results`` of a test, newest first."""
    call.state.test(call.ids[0])
    return _results_page(call, call.state.indexed("test", call.ids[0]))


@endpoint("get_results_for_case", "GET", "run_id", "case_id")
def get_results_for_case(call: Call) -> Any:
    """Paged ``results`` of a case's test in a run, newest first."""
    call.state.run(call.ids[0])
    call.state.case(call.ids[1])
    test = runs._test_for_case(call.state, call.ids[0], call.ids[1])
    return _results_page(call, call.state.indexed("test", test["id"]))


@endpoint("get_results_for_run", "GET", "run_id")
def get_results_for_run(call: Call) -> Any:
    """Paged ``results`` of every test in a run, newest first."""
    call.state.run(call.ids[0])
    tests = call.state.indexed("run", call.ids[0])
    return _results_page(call, [r for t in tests for r in call.state.indexed("test", t["id"])])


@endpoint("add_result", "POST", "test_id")
def add_result(call: Call) -> Any:
    """One result for a test."""
    return runs.render_result(
        call.state, runs.add_result(call.state, call.ids[0], call.body, call.user_id)
    )


@endpoint("add_result_for_case", "POST", "run_id", "case_id")
def add_result_for_case(call: Call) -> Any:
    """One result for a case in a run."""
    row = runs.add_result_for_case(call.state, call.ids[0], call.ids[1], call.body, call.user_id)
    return runs.render_result(call.state, row)


@endpoint("add_results", "POST", "run_id")
def add_results(call: Call) -> Any:
    """Bulk results by test id; bare array."""
    rows = runs.add_results(call.state, call.ids[0], call.body, call.user_id)
    return [runs.render_result(call.state, r) for r in rows]


@endpoint("add_results_for_cases", "POST", "run_id")
def add_results_for_cases(call: Call) -> Any:
    """Bulk results by case id; bare array."""
    rows = runs.add_results_for_cases(call.state, call.ids[0], call.body, call.user_id)
    return [runs.render_result(call.state, r) for r in rows]


# ---------------------------------------------------------------------------------------------
# plans (§5.12)


@endpoint("get_plans", "GET", "project_id")
def get_plans(call: Call) -> Any:
    """Paged ``plans`` without entries; filters ``created_after``/``created_before``, csv
    ``created_by``/``milestone_id``, ``is_completed``."""
    call.state.project(call.ids[0])
    p = call.params
    done = param_bool(p, "is_completed")
    csv = {k: csv_ints(p, k) for k in ("created_by", "milestone_id")}
    rows = [
        pl
        for pl in call.state.plans.values()
        if pl["project_id"] == call.ids[0]
        and (done is None or pl["is_completed"] == done)
        and _time_filters(p, pl, ("created_after", "created_on"), ("created_before", "created_on"))
        and all(v is None or pl[k] in v for k, v in csv.items())
    ]
    return call.paged(
        rows, "plans", lambda pl: runs.render_plan(call.state, pl, call.base, entries=False)
    )


@endpoint("get_plan", "GET", "plan_id")
def get_plan(call: Call) -> Any:
    """One plan with ``entries``."""
    return runs.render_plan(call.state, call.state.plan(call.ids[0]), call.base, entries=True)


@endpoint("add_plan", "POST", "project_id")
def add_plan(call: Call) -> Any:
    """Create a plan (with entries)."""
    row = runs.add_plan(call.state, call.ids[0], call.body, call.user_id)
    return runs.render_plan(call.state, row, call.base, entries=True)


@endpoint("add_plan_entry", "POST", "plan_id")
def add_plan_entry(call: Call) -> Any:
    """Add an entry (one run per configuration) to a plan; returns the entry."""
    entry = runs.add_plan_entry(call.state, call.ids[0], call.body, call.user_id)
    return runs.render_entry(call.state, entry, call.base)


@endpoint("update_plan_entry", "POST", "plan_id", "entry_id")
def update_plan_entry(call: Call) -> Any:
    """Update an entry and all its runs (``case_ids`` replaces their selection); the entry."""
    entry = runs.update_plan_entry(call.state, call.ids[0], call.text_ids["entry_id"], call.body)
    return runs.render_entry(call.state, entry, call.base)


@endpoint("update_run_in_plan_entry", "POST", "run_id")
def update_run_in_plan_entry(call: Call) -> Any:
    """Update one run of a plan entry (6.4+, configuration runs); the run."""
    run = runs.update_run_in_plan_entry(call.state, call.ids[0], call.body)
    return runs.render_run(call.state, run, call.base)


@endpoint("update_plan", "POST", "plan_id")
def update_plan(call: Call) -> Any:
    """Partial plan update (name, description, milestone_id ...); the plan with entries."""
    row = runs.update_plan(call.state, call.ids[0], call.body)
    return runs.render_plan(call.state, row, call.base, entries=True)


@endpoint("close_plan", "POST", "plan_id")
def close_plan(call: Call) -> Any:
    """Close a plan and its runs."""
    return runs.render_plan(
        call.state, runs.close_plan(call.state, call.ids[0]), call.base, entries=True
    )


# ---------------------------------------------------------------------------------------------
# shared steps (§5.8)


def _render_shared(call: Call, row: Row, uses: dict[int, list[int]] | None = None) -> Row:
    """A shared step set as the API answers it; ``uses``: :func:`ops.shared_step_uses`,
    computed once for a page."""
    out = {k: row[k] for k in ("id", "title", "project_id")}
    if uses is None:
        out["case_ids"] = ops.shared_step_case_ids(call.state, row["id"])
    else:
        out["case_ids"] = list(uses.get(row["id"], []))
    for key in ("created_by", "created_on", "updated_by", "updated_on", "custom_steps_separated"):
        out[key] = row[key]
    return out


def _shared(call: Call) -> Row:
    row = call.state.shared_steps.get(call.ids[0])
    if row is None:
        raise invalid("shared_step_id", "shared step")
    return row


@endpoint("get_shared_steps", "GET", "project_id")
def get_shared_steps(call: Call) -> Any:
    """Paged ``shared_steps``; filters created/updated after/before, csv ``created_by``."""
    call.state.project(call.ids[0])
    creators = csv_ints(call.params, "created_by")
    rows = [
        s
        for s in call.state.shared_steps.values()
        if s["project_id"] == call.ids[0]
        and (creators is None or s["created_by"] in creators)
        and _time_filters(
            call.params,
            s,
            ("created_after", "created_on"),
            ("created_before", "created_on"),
            ("updated_after", "updated_on"),
            ("updated_before", "updated_on"),
        )
    ]
    uses = ops.shared_step_uses(call.state)
    return call.paged(rows, "shared_steps", lambda s: _render_shared(call, s, uses))


@endpoint("get_shared_step", "GET", "shared_step_id")
def get_shared_step(call: Call) -> Any:
    """One shared step set."""
    return _render_shared(call, _shared(call))


@endpoint("get_shared_step_history", "GET", "shared_step_id")
def get_shared_step_history(call: Call) -> Any:
    """Earlier versions; a bare array as live Cloud answers (§2.3)."""
    return list(_shared(call)["_history"])


@endpoint("add_shared_step", "POST", "project_id")
def add_shared_step(call: Call) -> Any:
    """Create a shared step set."""
    return _render_shared(
        call, ops.add_shared_step(call.state, call.ids[0], call.body, call.user_id)
    )


@endpoint("update_shared_step", "POST", "shared_step_id")
def update_shared_step(call: Call) -> Any:
    """Update a shared step set (propagates into cases)."""
    return _render_shared(
        call, ops.update_shared_step(call.state, call.ids[0], call.body, call.user_id)
    )


@endpoint("delete_shared_step", "POST", "shared_step_id")
def delete_shared_step(call: Call) -> Any:
    """Delete a shared step set; empty 200. ``keep_in_cases`` 1 (the default) leaves its
    cases a local copy of the steps, 0 removes them from the cases too (§5.8)."""
    _shared(call)
    ops.delete_shared_step(call.state, call.ids[0], keep_in_cases=call.body.get("keep_in_cases", 1))
    return EMPTY


# ---------------------------------------------------------------------------------------------
# attachments (§5.15)


def _upload(call: Call, entity_type: str, entity_id: int, project_id: int) -> Any:
    upload = call.files.get("attachment")
    if upload is None:
        raise required("attachment")
    row = runs.add_attachment(
        call.state,
        entity_type,
        entity_id,
        project_id,
        upload.filename,
        upload.data,
        upload.content_type,
        call.user_id,
    )
    return {"attachment_id": row["id"]}


def _case_project(call: Call, case_id: int) -> int:
    return int(call.state.suites[call.state.case(case_id)["suite_id"]]["project_id"])


@endpoint("add_attachment_to_case", "POST", "case_id", multipart=True)
def add_attachment_to_case(call: Call) -> Any:
    """Upload to a case."""
    return _upload(call, "case", call.ids[0], _case_project(call, call.ids[0]))


@endpoint("add_attachment_to_result", "POST", "result_id", multipart=True)
def add_attachment_to_result(call: Call) -> Any:
    """Upload to a result."""
    result = call.state.results.get(call.ids[0])
    if result is None:
        raise invalid("result_id", "test result")
    run = call.state.runs[call.state.tests[result["test_id"]]["run_id"]]
    return _upload(call, "result", call.ids[0], run["project_id"])


@endpoint("add_attachment_to_run", "POST", "run_id", multipart=True)
def add_attachment_to_run(call: Call) -> Any:
    """Upload to a run."""
    return _upload(call, "run", call.ids[0], call.state.run(call.ids[0])["project_id"])


@endpoint("add_attachment_to_plan", "POST", "plan_id", multipart=True)
def add_attachment_to_plan(call: Call) -> Any:
    """Upload to a plan."""
    return _upload(call, "plan", call.ids[0], call.state.plan(call.ids[0])["project_id"])


@endpoint("add_attachment_to_plan_entry", "POST", "plan_id", "entry_id", multipart=True)
def add_attachment_to_plan_entry(call: Call) -> Any:
    """Upload to a plan entry (6.3+; ``entry_id`` is the entry's GUID)."""
    plan = call.state.plan(call.ids[0])
    entry = runs.plan_entry(plan, call.text_ids["entry_id"])
    return _upload(call, "plan_entry", entry["id"], plan["project_id"])


@endpoint("get_attachments_for_case", "GET", "case_id")
def get_attachments_for_case(call: Call) -> Any:
    """Paged ``attachments`` of a case."""
    call.state.case(call.ids[0])
    rows = runs.attachments_for(call.state, "case", {str(call.ids[0])})
    return call.paged(rows, "attachments")


@endpoint("get_attachments_for_run", "GET", "run_id")
def get_attachments_for_run(call: Call) -> Any:
    """Paged ``attachments`` of a run."""
    call.state.run(call.ids[0])
    return call.paged(runs.attachments_for(call.state, "run", {str(call.ids[0])}), "attachments")


@endpoint("get_attachments_for_plan", "GET", "plan_id")
def get_attachments_for_plan(call: Call) -> Any:
    """Paged ``attachments`` of a plan."""
    call.state.plan(call.ids[0])
    return call.paged(runs.attachments_for(call.state, "plan", {str(call.ids[0])}), "attachments")


@endpoint("get_attachments_for_plan_entry", "GET", "plan_id", "entry_id")
def get_attachments_for_plan_entry(call: Call) -> Any:
    """Attachments of a plan entry: a bare array (§2.3, not in the 6.7 paged list)."""
    entry = runs.plan_entry(call.state.plan(call.ids[0]), call.text_ids["entry_id"])
    return runs.attachments_for(call.state, "plan_entry", {str(entry["id"])})


@endpoint("get_attachments_for_test", "GET", "test_id")
def get_attachments_for_test(call: Call) -> Any:
    """Attachments of all results of a test: a bare array (§2.3)."""
    call.state.test(call.ids[0])
    results = {str(r["id"]) for r in call.state.indexed("test", call.ids[0])}
    return runs.attachments_for(call.state, "result", results)


@endpoint("get_attachment", "GET", "attachment_id")
def get_attachment(call: Call) -> Any:
    """The file's bytes with its content type."""
    row = call.state.attachments.get(call.ids[0])
    if row is None:
        raise invalid("attachment_id", "attachment")
    return RawBody(row["_data"], row["_content_type"])


@endpoint("delete_attachment", "POST", "attachment_id")
def delete_attachment(call: Call) -> Any:
    """Delete an attachment; empty 200."""
    runs.delete_attachment(call.state, call.ids[0])
    return EMPTY


# Path ids that are GUID strings, not integers (plan entries, testrail-api.md §4, §5.12).
TEXT_IDS = frozenset({"entry_id"})


def parse_ids(ep: Endpoint, raw: list[str]) -> tuple[list[int], dict[str, str]]:
    """Path ids: integer ids in declared order, and the GUID ids (``entry_id``) by name.

    A missing required id -> 400 ``Field :<name> is a required field.``, a non-integer where an
    integer is due -> 400 ``Field :<name> is not a valid ID.`` [unverified text]."""
    out: list[int] = []
    text: dict[str, str] = {}
    for i, name in enumerate(ep.ids):
        if i >= len(raw) or raw[i] == "":
            if i < ep.required_ids:
                raise required(name)
            break
        value = raw[i]
        if name in TEXT_IDS:
            text[name] = value
        elif not value.isdigit():
            raise bad_request(f"Field :{name} is not a valid ID.")
        else:
            out.append(to_int(value, name))
    return out, text
