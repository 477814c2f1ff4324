"""Writes and read shapes for execution data: runs, tests, results, plans, configurations and
attachments (testrail-api.md §5.10-§5.15, §7).

Same contract as :mod:`emulators.testrail.ops`: callers hold ``state.lock``; failures raise
:class:`~emulators.testrail.errors.ApiError` with TestRail's texts.

Tests of an open run show the live case data; closing a run freezes a snapshot (§5.13).
Bulk result writes validate every row before storing any (all-or-nothing, §7).
"""

from __future__ import annotations

import copy
import mimetypes
from typing import Any

from emulators.testrail import ops
from emulators.testrail.errors import ApiError, bad_request, invalid, required
from emulators.testrail.store import (
    STATUS_COUNTER_KEYS,
    UNTESTED,
    Row,
    TestRailState,
    custom_values,
    public,
)
from emulators.testrail.timespan import format_timespan
from emulators.testrail.values import (
    Body,
    opt_int,
    req_text,
    to_id_list,
    to_int,
    to_text,
    to_timespan,
)

CLOSED_RUN = "Field :run_id refers to a completed test run and cannot be changed."  # [unverified]
CLOSED_PLAN = (
    "Field :plan_id refers to a completed test plan and cannot be changed."  # [unverified]
)
NO_ACTIVE_TEST = "No (active) test found for the run/case combination."


# ---------------------------------------------------------------------------------------------
# runs (§5.11)


def _include_all(value: Any) -> bool:
    """``include_all`` as TestRail reads it: JSON false/0 mean false; any non-empty string
    (even ``"false"``) means true (the Gurock-forum pitfall in §5.11); absent = true."""
    if value is None:
        return True
    if isinstance(value, str):
        return bool(value.strip())
    return bool(value)


def _suite_case_ids(state: TestRailState, suite_id: int) -> list[int]:
    order = {sec["id"]: i for i, (sec, _) in enumerate(state.section_order(suite_id))}
    cases = list(state.indexed("suite", suite_id))
    cases.sort(key=lambda c: (order.get(c["section_id"], 0), c["display_order"], c["id"]))
    return [c["id"] for c in cases]


def _select_cases(
    state: TestRailState, suite_id: int, include_all: bool, case_ids: Any
) -> list[int]:
    if include_all:
        return _suite_case_ids(state, suite_id)
    ids = [] if case_ids is None else to_id_list(case_ids, "case_ids")
    for cid in ids:
        case = state.cases.get(cid)
        if case is None or case["suite_id"] != suite_id:
            raise invalid("case_ids", "test case")
    return list(dict.fromkeys(ids))


def _check_user(state: TestRailState, value: Any, field: str) -> int | None:
    if value is None:
        return None
    uid = to_int(value, field)
    if uid not in state.users:
        raise invalid(field, "user")
    return uid


def _check_milestone(state: TestRailState, project_id: int, value: Any) -> int | None:
    if value is None:
        return None
    mid = to_int(value, "milestone_id")
    if state.milestone(mid)["project_id"] != project_id:
        raise invalid("milestone_id", "milestone")
    return mid


def add_run(
    state: TestRailState,
    project_id: int,
    body: Body,
    user_id: int | None,
    *,
    plan: Row | None = None,
    entry: Row | None = None,
    config_ids: list[int] | None = None,
) -> Row:
    """``add_run/{project_id}``: ``suite_id`` (required in mode 3), ``name``*, ``description``,
    ``milestone_id``, ``assignedto_id``, ``include_all`` (default true), ``case_ids`` (when
    include_all is false), ``refs``, ``start_on``/``due_on`` (UNIX seconds). Creates one Untested
    test per selected case, assigned to the run's assignee. ``plan``/``entry``/``config_ids`` are
    set when the run belongs to a plan entry."""
    project = state.project(project_id)
    suite = ops.resolve_suite(state, project, body.get("suite_id"))
    name = req_text(body, "name")
    include_all = _include_all(body.get("include_all"))
    milestone_id = _check_milestone(state, project_id, body.get("milestone_id"))
    assignee = _check_user(state, body.get("assignedto_id"), "assignedto_id")
    case_ids = _select_cases(state, suite["id"], include_all, body.get("case_ids"))
    configs = [state.configs[c] for c in config_ids or []]
    rid = state.next_id("run")
    row: Row = {
        "id": rid,
        "suite_id": suite["id"],
        "name": name,
        "description": to_text(body.get("description"), "description"),
        "milestone_id": milestone_id,
        "assignedto_id": assignee,
        "include_all": include_all,
        "is_completed": False,
        "completed_on": None,
        "config": ", ".join(c["name"] for c in configs) or None,
        "config_ids": [c["id"] for c in configs],
        "refs": to_text(body.get("refs"), "refs"),
        "start_on": opt_int(body, "start_on"),
        "due_on": opt_int(body, "due_on"),
        "project_id": project_id,
        "plan_id": plan["id"] if plan else None,
        "entry_index": entry["_index"] if entry else None,
        "entry_id": entry["id"] if entry else None,
        "created_on": state.now(),
        "created_by": user_id,
        "is_archived": False,
        "archived_on": None,
        "dynamic_filters": None,
    }
    state.runs[rid] = row
    for cid in case_ids:
        _new_test(state, row, cid)
    return row


def _new_test(state: TestRailState, run: Row, case_id: int) -> Row:
    tid = state.next_id("test")
    test: Row = {
        "id": tid,
        "case_id": case_id,
        "status_id": UNTESTED,
        "assignedto_id": run["assignedto_id"],
        "run_id": run["id"],
        "_snapshot": None,
    }
    state.put("tests", test)
    return test


def add_case_to_open_runs(state: TestRailState, case: Row) -> None:
    """A new case joins every open ``include_all`` run of its suite (TestRail behaviour)."""
    for run in state.runs.values():
        if run["suite_id"] == case["suite_id"] and run["include_all"] and not run["is_completed"]:
            _new_test(state, run, case["id"])


def update_run(state: TestRailState, run_id: int, body: Body) -> Row:
    """``update_run/{run_id}``: partial add_run fields; ``case_ids``/``include_all`` replace the
    selection: tests of dropped cases disappear with their results, kept tests keep theirs."""
    run = state.run(run_id)
    if run["is_completed"]:
        raise bad_request(CLOSED_RUN)
    if "name" in body:
        run["name"] = req_text(body, "name")
    for key in ("description", "refs"):
        if key in body:
            run[key] = to_text(body[key], key)
    for key in ("start_on", "due_on"):
        if key in body:
            run[key] = opt_int(body, key)
    if "milestone_id" in body:
        run["milestone_id"] = _check_milestone(state, run["project_id"], body["milestone_id"])
    if "assignedto_id" in body:
        run["assignedto_id"] = _check_user(state, body["assignedto_id"], "assignedto_id")
    if "include_all" in body or "case_ids" in body:
        include_all = _include_all(body.get("include_all", run["include_all"]))
        wanted = _select_cases(state, run["suite_id"], include_all, body.get("case_ids"))
        _set_run_cases(state, run, wanted)
        run["include_all"] = include_all
    return run


def _set_run_cases(state: TestRailState, run: Row, wanted: list[int]) -> None:
    current = {t["case_id"]: t for t in state.indexed("run", run["id"])}
    keep = set(wanted)
    for cid, test in current.items():
        if cid not in keep:
            for res in [r["id"] for r in state.indexed("test", test["id"])]:
                del state.results[res]
            del state.tests[test["id"]]
    for cid in wanted:
        if cid not in current:
            _new_test(state, run, cid)


def close_run(state: TestRailState, run_id: int) -> Row:
    """``close_run/{run_id}``: marks the run completed (``completed_on`` = now) and freezes its
    tests' case data. A closed run cannot be closed or changed again (400)."""
    run = state.run(run_id)
    if run["is_completed"]:
        raise bad_request(CLOSED_RUN)
    for test in state.indexed("run", run_id):
        test["_snapshot"] = _test_case_data(state, test)
    run["is_completed"] = True
    run["completed_on"] = state.now()
    return run


def delete_run(state: TestRailState, run_id: int, *, soft: bool) -> Row | None:
    """``delete_run``: the run with its tests and results; ``soft`` returns
    ``{"affected_tests": n}`` without deleting (§9)."""
    state.run(run_id)
    tests = [t["id"] for t in state.indexed("run", run_id)]
    if soft:
        return {"affected_tests": len(tests)}
    for tid in tests:
        for res in [r["id"] for r in state.indexed("test", tid)]:
            del state.results[res]
        del state.tests[tid]
    del state.runs[run_id]
    return None


def run_counts(state: TestRailState, run_ids: set[int]) -> Row:
    """``passed_count`` ... ``custom_status7_count`` over the tests of ``run_ids`` (read
    through the ``run`` index: a run's counters cost its own tests)."""
    counts = dict.fromkeys(STATUS_COUNTER_KEYS.values(), 0)
    for run_id in run_ids:
        for test in state.indexed("run", run_id):
            key = STATUS_COUNTER_KEYS.get(test["status_id"])
            if key:
                counts[key] += 1
    return counts


def render_run(state: TestRailState, run: Row, base: str) -> Row:
    """A run in the shape of §5.11 (counters computed from its tests) with ``url``."""
    out: Row = {}
    for key in (
        "id",
        "suite_id",
        "name",
        "description",
        "milestone_id",
        "assignedto_id",
        "include_all",
        "is_completed",
        "completed_on",
        "config",
        "config_ids",
        "refs",
        "start_on",
        "due_on",
    ):
        out[key] = copy.deepcopy(run[key])
    out.update(run_counts(state, {run["id"]}))
    for key in (
        "project_id",
        "plan_id",
        "entry_index",
        "entry_id",
        "created_on",
        "created_by",
        "is_archived",
        "archived_on",
        "dynamic_filters",
    ):
        out[key] = run[key]
    out["url"] = f"{base}/index.php?/runs/view/{run['id']}"
    return out


# ---------------------------------------------------------------------------------------------
# tests (§5.13)


def _test_case_data(state: TestRailState, test: Row) -> Row:
    if test["_snapshot"] is not None:
        return copy.deepcopy(test["_snapshot"])
    case = state.cases.get(test["case_id"])
    if case is None:  # pragma: no cover - hard deletes remove tests of active runs
        return {}
    project_id = state.suites[case["suite_id"]]["project_id"]
    data: Row = {
        "title": case["title"],
        "template_id": case["template_id"],
        "type_id": case["type_id"],
        "priority_id": case["priority_id"],
        "estimate": format_timespan(case["estimate"]),
        "estimate_forecast": format_timespan(case.get("_forecast")),
        "refs": case["refs"],
        "milestone_id": case["milestone_id"],
    }
    data.update(custom_values(state, project_id, case["custom"]))
    return data


def render_test(state: TestRailState, test: Row) -> Row:
    """A test (§5.13): id, case_id, status_id, assignedto_id, run_id, then the case data
    (live while the run is open, frozen once closed) including its ``custom_*`` fields."""
    out: Row = {
        "id": test["id"],
        "case_id": test["case_id"],
        "status_id": test["status_id"],
        "assignedto_id": test["assignedto_id"],
        "run_id": test["run_id"],
    }
    out.update(_test_case_data(state, test))
    return out


# ---------------------------------------------------------------------------------------------
# results (§5.14, §7)


def _prepare_result(
    state: TestRailState, run: Row, test: Row, body: Body, user_id: int | None, prefix: str
) -> Row:
    """Validate one result row; nothing is stored here."""
    status_id = body.get("status_id")
    if status_id is not None:
        status_id = to_int(status_id, prefix + "status_id")
        status = state.statuses.get(status_id)
        if status is None or not status.get("_active"):
            raise invalid(prefix + "status_id", "status")
        if status["is_untested"]:
            raise bad_request(
                f"Field :{prefix}status_id uses an invalid status ({status['label']})."
            )
    assignee = _check_user(state, body.get("assignedto_id"), prefix + "assignedto_id")
    custom: Row = {}
    ops.apply_custom(state, state.result_fields, run["project_id"], body, custom, prefix)
    case = state.cases.get(test["case_id"])
    ops.check_required_custom(
        state,
        state.result_fields,
        run["project_id"],
        case["template_id"] if case else None,
        custom,
        prefix,
    )
    return {
        "id": 0,
        "test_id": test["id"],
        "status_id": status_id,
        "created_by": user_id,
        "created_on": 0,
        "assignedto_id": assignee,
        "comment": to_text(body.get("comment"), prefix + "comment"),
        "version": to_text(body.get("version"), prefix + "version"),
        "elapsed": to_timespan(body.get("elapsed"), prefix + "elapsed"),
        "defects": to_text(body.get("defects"), prefix + "defects"),
        "attachment_ids": [],
        "_custom": custom,
    }


def _commit_results(state: TestRailState, pending: list[Row]) -> list[Row]:
    now = state.now()
    out = []
    touched: set[int] = set()
    for row in pending:
        row["id"] = state.next_id("result")
        row["created_on"] = now
        state.put("results", row)
        test = state.tests[row["test_id"]]
        if row["status_id"] is not None:
            test["status_id"] = row["status_id"]
        if row["assignedto_id"] is not None:
            test["assignedto_id"] = row["assignedto_id"]
        if row["elapsed"]:
            touched.add(test["case_id"])
        out.append(row)
    for case_id in touched:
        _update_forecast(state, case_id)
    return out


def _update_forecast(state: TestRailState, case_id: int) -> None:
    """``estimate_forecast`` of a case = mean ``elapsed`` of its results (seconds, rounded).

    TestRail mixes estimates and elapsed times in an undocumented way (§5.4: read-only,
    computed from past results); the mean of the recorded elapsed times stands in for it.
    """
    spans = [
        r["elapsed"]
        for t in state.indexed("case", case_id)
        for r in state.indexed("test", t["id"])
        if r["elapsed"]
    ]
    case = state.cases.get(case_id)
    if case is not None and spans:
        case["_forecast"] = round(sum(spans) / len(spans))


def _open_run(state: TestRailState, run_id: int) -> Row:
    run = state.run(run_id)
    if run["is_completed"]:
        raise bad_request(CLOSED_RUN)
    return run


def add_result(state: TestRailState, test_id: int, body: Body, user_id: int | None) -> Row:
    """``add_result/{test_id}``: ``status_id`` (not Untested: 400 ``Field :status_id uses an
    invalid status (Untested).``), ``comment``, ``version``, ``elapsed`` (timespan), ``defects``,
    ``assignedto_id``, ``custom_*`` result fields. Updates the test's status/assignee."""
    test = state.test(test_id)
    run = _open_run(state, test["run_id"])
    return _commit_results(state, [_prepare_result(state, run, test, body, user_id, "")])[0]


def _test_for_case(state: TestRailState, run_id: int, case_id: int) -> Row:
    for test in state.indexed("run", run_id):
        if test["case_id"] == case_id:
            return test
    raise bad_request(NO_ACTIVE_TEST)


def add_result_for_case(
    state: TestRailState, run_id: int, case_id: int, body: Body, user_id: int | None
) -> Row:
    """``add_result_for_case/{run_id}/{case_id}``; a case without a test in the run -> 400
    ``No (active) test found for the run/case combination.``"""
    run = _open_run(state, run_id)
    state.case(case_id)
    test = _test_for_case(state, run_id, case_id)
    return _commit_results(state, [_prepare_result(state, run, test, body, user_id, "")])[0]


def _result_rows(body: Body) -> list[Row]:
    rows = body.get("results")
    if rows is None:
        raise required("results")
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise bad_request("Field :results is not a valid array.")
    return rows


def add_results(state: TestRailState, run_id: int, body: Body, user_id: int | None) -> list[Row]:
    """``add_results/{run_id}``: ``{"results": [{test_id*, ...}]}``; all rows are validated
    before any is stored (texts use the ``results.`` prefix). Returns the created results."""
    run = _open_run(state, run_id)
    pending = []
    for row in _result_rows(body):
        if row.get("test_id") is None:
            raise required("results.test_id")
        test = state.tests.get(to_int(row["test_id"], "results.test_id"))
        if test is None or test["run_id"] != run_id:
            raise invalid("results.test_id", "test")
        pending.append(_prepare_result(state, run, test, row, user_id, "results."))
    return _commit_results(state, pending)


def add_results_for_cases(
    state: TestRailState, run_id: int, body: Body, user_id: int | None
) -> list[Row]:
    """``add_results_for_cases/{run_id}``: ``{"results": [{case_id*, ...}]}``; all-or-nothing,
    the same case may appear several times (several results). Returns the created results."""
    run = _open_run(state, run_id)
    pending = []
    for row in _result_rows(body):
        if row.get("case_id") is None:
            raise required("results.case_id")
        cid = to_int(row["case_id"], "results.case_id")
        if cid not in state.cases:
            raise invalid("results.case_id", "test case")
        test = _test_for_case(state, run_id, cid)
        pending.append(_prepare_result(state, run, test, row, user_id, "results."))
    return _commit_results(state, pending)


def render_result(state: TestRailState, row: Row) -> Row:
    """A result (§5.14) with ``elapsed`` as a timespan and every project result field."""
    test = state.tests.get(row["test_id"])
    run = state.runs.get(test["run_id"]) if test else None
    out = public(row)
    out["elapsed"] = format_timespan(row["elapsed"])
    if run is not None:
        for field in state.fields_for_project(state.result_fields, run["project_id"]):
            out[field["system_name"]] = copy.deepcopy(row["_custom"].get(field["system_name"]))
    out["attachment_ids"] = list(row["attachment_ids"])
    return out


# ---------------------------------------------------------------------------------------------
# configurations (§5.10)


def add_config_group(state: TestRailState, project_id: int, body: Body) -> Row:
    """``add_config_group/{project_id}``: ``name``*."""
    state.project(project_id)
    gid = state.next_id("config_group")
    row = {"id": gid, "name": req_text(body, "name"), "project_id": project_id}
    state.config_groups[gid] = row
    return row


def add_config(state: TestRailState, group_id: int, body: Body) -> Row:
    """``add_config/{config_group_id}``: ``name``*."""
    if group_id not in state.config_groups:
        raise invalid("config_group_id", "configuration group")
    cid = state.next_id("config")
    row = {"id": cid, "name": req_text(body, "name"), "group_id": group_id}
    state.configs[cid] = row
    return row


def render_config_groups(state: TestRailState, project_id: int) -> list[Row]:
    """``get_configs/{project_id}``: groups with their ``configs`` (retailmenot sample)."""
    out = []
    for group in state.config_groups.values():
        if group["project_id"] == project_id:
            configs = [dict(c) for c in state.configs.values() if c["group_id"] == group["id"]]
            out.append(
                {
                    "id": group["id"],
                    "name": group["name"],
                    "project_id": project_id,
                    "configs": configs,
                }
            )
    return out


# ---------------------------------------------------------------------------------------------
# plans and entries (§5.12)


def add_plan(
    state: TestRailState,
    project_id: int,
    body: Body,
    user_id: int | None,
    *,
    atomic: bool = True,
) -> Row:
    """``add_plan/{project_id}``: ``name``*, ``description``, ``milestone_id``, ``start_on``,
    ``due_on``, ``entries`` (each as ``add_plan_entry``). All or nothing: an entry that fails
    validation puts every table back (``atomic``; the seeders pass False: their input is
    generated valid, and a copy of every table per plan made a 100,000-case seed take an
    hour)."""
    state.project(project_id)
    name = req_text(body, "name")
    milestone_id = _check_milestone(state, project_id, body.get("milestone_id"))
    entries = body.get("entries") or []
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise bad_request("Field :entries is not a valid array.")
    pid = state.next_id("plan")
    plan: Row = {
        "id": pid,
        "name": name,
        "description": to_text(body.get("description"), "description"),
        "milestone_id": milestone_id,
        "assignedto_id": _check_user(state, body.get("assignedto_id"), "assignedto_id"),
        "is_completed": False,
        "completed_on": None,
        "project_id": project_id,
        "created_on": state.now(),
        "created_by": user_id,
        "refs": to_text(body.get("refs"), "refs"),
        "start_on": opt_int(body, "start_on"),
        "due_on": opt_int(body, "due_on"),
        "_entries": [],
    }
    checkpoint = state.checkpoint() if atomic else None
    state.plans[pid] = plan
    try:
        for entry in entries:
            add_plan_entry(state, pid, entry, user_id)
    except ApiError:
        if checkpoint is not None:
            state.restore(checkpoint)
        raise
    return plan


def add_plan_entry(state: TestRailState, plan_id: int, body: Body, user_id: int | None) -> Row:
    """``add_plan_entry/{plan_id}``: ``suite_id``*, ``name``, ``description``, ``assignedto_id``,
    ``include_all`` (default true), ``case_ids``, ``config_ids``, ``refs``, ``runs`` (one object
    per configuration run: ``config_ids``, ``include_all``, ``case_ids``, ``assignedto_id``,
    ``description``). The entry id is a GUID string. Returns the entry row."""
    plan = state.plan(plan_id)
    if plan["is_completed"]:
        raise bad_request(CLOSED_PLAN)
    if body.get("suite_id") is None:
        raise required("suite_id")
    suite = state.suite(to_int(body["suite_id"], "suite_id"))
    if suite["project_id"] != plan["project_id"]:
        raise invalid("suite_id", "test suite")
    config_ids = to_id_list(body.get("config_ids") or [], "config_ids")
    for cid in config_ids:
        if cid not in state.configs:
            raise invalid("config_ids", "configuration")
    runs = body.get("runs") or [{}]
    if not isinstance(runs, list) or not all(isinstance(r, dict) for r in runs):
        raise bad_request("Field :runs is not a valid array.")
    entry: Row = {
        "id": state.guid(),
        "suite_id": suite["id"],
        "name": to_text(body.get("name"), "name") or suite["name"],
        "description": to_text(body.get("description"), "description"),
        "include_all": _include_all(body.get("include_all")),
        "dynamic_filters": None,
        "_refs": to_text(body.get("refs"), "refs"),
        "_index": len(plan["_entries"]) + 1,
        "_run_ids": [],
    }
    for spec in runs:
        run_configs = to_id_list(spec.get("config_ids") or [], "runs.config_ids")
        for cid in run_configs:
            if cid not in state.configs:
                raise invalid("runs.config_ids", "configuration")
        run_body = {
            "suite_id": suite["id"],
            "name": entry["name"],
            "description": spec.get("description", entry["description"]),
            "milestone_id": plan["milestone_id"],
            "assignedto_id": spec.get("assignedto_id", body.get("assignedto_id")),
            "include_all": spec.get("include_all", body.get("include_all")),
            "case_ids": spec.get("case_ids", body.get("case_ids")),
            "refs": entry["_refs"],
        }
        run = add_run(
            state,
            plan["project_id"],
            run_body,
            user_id,
            plan=plan,
            entry=entry,
            config_ids=run_configs,
        )
        entry["_run_ids"].append(run["id"])
    plan["_entries"].append(entry)
    return entry


NOT_AN_ENTRY = "Field :entry_id is not a valid test plan entry."  # [unverified text]
NOT_IN_PLAN = "Field :run_id is not a valid test run in a test plan entry."  # [unverified text]

# What ``update_plan_entry`` passes on to every run of the entry, and what
# ``update_run_in_plan_entry`` accepts (tolstislon docstrings; testrail-api.md §5.12). A run's
# name is its entry's, so only ``update_plan_entry`` renames.
_ENTRY_RUN_KEYS = (
    "description",
    "assignedto_id",
    "start_on",
    "due_on",
    "include_all",
    "case_ids",
    "refs",
)


def _entry(plan: Row, entry_id: str) -> Row:
    entries: list[Row] = plan["_entries"]
    for entry in entries:
        if entry["id"] == entry_id:
            return entry
    raise bad_request(NOT_AN_ENTRY)


def plan_entry(plan: Row, entry_id: str) -> Row:
    """The entry of ``plan`` whose GUID is ``entry_id`` (400 when it has none)."""
    return _entry(plan, entry_id)


def update_plan_entry(state: TestRailState, plan_id: int, entry_id: str, body: Body) -> Row:
    """``update_plan_entry/{plan_id}/{entry_id}``: partial ``name``, ``description``,
    ``assignedto_id``, ``start_on``, ``due_on``, ``include_all``, ``case_ids``, ``refs``,
    applied to the entry and every run in it; ``case_ids``/``include_all`` replace each run's
    selection and tests of retained cases keep their results (§5.12). Other keys (trcli sends
    ``suite_id``) are ignored. All runs are validated before any changes (all-or-nothing)."""
    plan = state.plan(plan_id)
    if plan["is_completed"]:
        raise bad_request(CLOSED_PLAN)
    entry = _entry(plan, entry_id)
    run_body = {k: body[k] for k in _ENTRY_RUN_KEYS if k in body}
    if "name" in body:
        run_body["name"] = req_text(body, "name")
    checkpoint = state.checkpoint()
    try:
        for rid in entry["_run_ids"]:
            update_run(state, rid, run_body)
    except ApiError:
        state.restore(checkpoint)
        raise
    entry = _entry(state.plans[plan_id], entry_id)  # restore() may have swapped the tables
    if "name" in run_body:
        entry["name"] = run_body["name"]
    if "description" in body:
        entry["description"] = to_text(body["description"], "description")
    if "include_all" in body:
        entry["include_all"] = _include_all(body["include_all"])
    if "refs" in body:
        entry["_refs"] = to_text(body["refs"], "refs")
    return entry


def update_run_in_plan_entry(state: TestRailState, run_id: int, body: Body) -> Row:
    """``update_run_in_plan_entry/{run_id}`` (6.4+): partial ``description``, ``assignedto_id``,
    ``start_on``, ``due_on``, ``include_all``, ``case_ids``, ``refs`` of one run of a plan entry
    (the per-configuration runs). A run outside any plan -> 400 [unverified text]; ``name`` and
    other keys are ignored (the name belongs to the entry)."""
    run = state.run(run_id)
    if run["plan_id"] is None:
        raise bad_request(NOT_IN_PLAN)
    return update_run(state, run_id, {k: body[k] for k in _ENTRY_RUN_KEYS if k in body})


def update_plan(state: TestRailState, plan_id: int, body: Body) -> Row:
    """``update_plan/{plan_id}``: partial ``name``, ``description``, ``milestone_id``,
    ``assignedto_id``, ``refs``, ``start_on``/``due_on`` of the plan (§5.12; entries change
    through the entry methods). A closed plan -> 400."""
    plan = state.plan(plan_id)
    if plan["is_completed"]:
        raise bad_request(CLOSED_PLAN)
    if "name" in body:
        plan["name"] = req_text(body, "name")
    for key in ("description", "refs"):
        if key in body:
            plan[key] = to_text(body[key], key)
    for key in ("start_on", "due_on"):
        if key in body:
            plan[key] = opt_int(body, key)
    if "milestone_id" in body:
        plan["milestone_id"] = _check_milestone(state, plan["project_id"], body["milestone_id"])
    if "assignedto_id" in body:
        plan["assignedto_id"] = _check_user(state, body["assignedto_id"], "assignedto_id")
    return plan


def update_config_group(state: TestRailState, group_id: int, body: Body) -> Row:
    """``update_config_group/{config_group_id}``: ``name``* (§5.10)."""
    group = state.config_groups.get(group_id)
    if group is None:
        raise invalid("config_group_id", "configuration group")
    group["name"] = req_text(body, "name")
    return group


def update_config(state: TestRailState, config_id: int, body: Body) -> Row:
    """``update_config/{config_id}``: ``name``* (§5.10)."""
    config = state.configs.get(config_id)
    if config is None:
        raise invalid("config_id", "configuration")
    config["name"] = req_text(body, "name")
    return config


def close_plan(state: TestRailState, plan_id: int) -> Row:
    """``close_plan/{plan_id}``: closes every open run of the plan and the plan itself."""
    plan = state.plan(plan_id)
    if plan["is_completed"]:
        raise bad_request(CLOSED_PLAN)
    for entry in plan["_entries"]:
        for rid in entry["_run_ids"]:
            if rid in state.runs and not state.runs[rid]["is_completed"]:
                close_run(state, rid)
    plan["is_completed"] = True
    plan["completed_on"] = state.now()
    return plan


def render_entry(state: TestRailState, entry: Row, base: str) -> Row:
    """A plan entry as live TestRail answers ``add_plan_entry`` (dichovsky__live_plan_entry.json):
    GUID ``id``, ``runs`` (full run rows), ``suite_id``, ``name``, ``description``,
    ``include_all``, ``dynamic_filters``. The entry's ``refs`` live on its runs: the live entry
    has no ``refs`` key (older builds showed one; testrail-api.md §5.12)."""
    out: Row = {"id": entry["id"]}
    out["runs"] = [
        render_run(state, state.runs[r], base) for r in entry["_run_ids"] if r in state.runs
    ]
    out.update(public(entry))
    return out


def render_plan(state: TestRailState, plan: Row, base: str, *, entries: bool) -> Row:
    """A plan (§5.12) with counters over all its runs; ``entries`` only for ``get_plan``."""
    out: Row = {}
    for key in (
        "id",
        "name",
        "description",
        "milestone_id",
        "assignedto_id",
        "is_completed",
        "completed_on",
    ):
        out[key] = plan[key]
    run_ids = {r for e in plan["_entries"] for r in e["_run_ids"]}
    out.update(run_counts(state, run_ids))
    for key in ("project_id", "created_on", "created_by", "refs", "start_on", "due_on"):
        out[key] = plan[key]
    out["url"] = f"{base}/index.php?/plans/view/{plan['id']}"
    if entries:
        out["entries"] = [render_entry(state, e, base) for e in plan["_entries"]]
    return out


# ---------------------------------------------------------------------------------------------
# attachments (§5.15)


def add_attachment(
    state: TestRailState,
    entity_type: str,
    entity_id: int | str,
    project_id: int,
    filename: str,
    data: bytes,
    content_type: str | None,
    user_id: int | None,
) -> Row:
    """Store an uploaded file for ``entity_type`` (``case``, ``result``, ``run``, ``plan``,
    ``plan_entry``) and return the attachment row; the API answers ``{"attachment_id": id}``.

    The public keys are those of a live TestRail Cloud list row
    (dichovsky__live_attachment_entity.json): integer ``id`` and ``data_id``, a
    ``cassandra_file_id`` UUID string, no entity columns (the owner is kept internally)."""
    aid = state.next_id("attachment")
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    ctype = content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
    row: Row = {
        "id": aid,
        "name": filename,
        "filename": filename,
        "filetype": ext,
        "cassandra_file_id": state.guid(),
        "size": len(data),
        "created_on": state.now(),
        "project_id": project_id,
        "user_id": user_id,
        "data_id": aid,
        "is_image": ctype.startswith("image/"),
        "icon": "image" if ctype.startswith("image/") else "other",
        "_entity_type": entity_type,
        "_entity_id": str(entity_id),
        "_data": data,
        "_content_type": ctype,
    }
    state.put("attachments", row)
    if entity_type == "result":
        state.results[int(entity_id)]["attachment_ids"].append(aid)
    return row


def attachments_for(state: TestRailState, entity_type: str, entity_ids: set[str]) -> list[Row]:
    """Public rows of the attachments of ``entity_type`` whose entity id is in ``entity_ids``."""
    rows = [a for i in entity_ids for a in state.indexed("entity", (entity_type, i))]
    return [public(a) for a in sorted(rows, key=lambda a: a["id"])]


def delete_attachment(state: TestRailState, attachment_id: int) -> None:
    """``delete_attachment/{id}``; also drops it from its result's ``attachment_ids``."""
    row = state.attachments.pop(attachment_id, None)
    if row is None:
        raise invalid("attachment_id", "attachment")
    if row["_entity_type"] == "result":
        result = state.results.get(int(row["_entity_id"]))
        if result and attachment_id in result["attachment_ids"]:
            result["attachment_ids"].remove(attachment_id)
