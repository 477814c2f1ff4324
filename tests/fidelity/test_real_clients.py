"""Real TestRail clients, written by other people, run unchanged against the emulator.

Why: the emulator is the stand-in for TestRail in every other test; if TestRail's own CLI and a
widely used Python client work against it exactly as they would against a real instance, its
routing, auth, envelopes, ``_links``, multipart uploads and write semantics are what real
clients expect, not just what our own client happens to send.

- **trcli 1.15.3** (Gurock's official CLI) runs as a subprocess against the emulator served on
  a real port: ``parse_junit`` with a JUnit report written here (passed, failed with a message,
  skipped, errored; properties for a comment, result steps, a result field, a case field and an
  attachment). It matches cases through the ``custom_automation_id`` case field, which is created
  through ``add_case_field`` and scoped to one project as a TestRail admin would.
- **testrail-api 1.14.0** (tolstislon's client) lists projects, walks 300 cases with
  ``get_cases_bulk`` (offset pages of 250), adds bulk results by case and uploads and downloads
  a result attachment.

Assertions read the emulator's state afterwards (its API or :meth:`TestRailState.snapshot`).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import testrail_api
from testrail_api._exception import StatusCodeError

from emulators.server import RunningServer, start_in_thread
from emulators.testrail import TestRailState, create_app, generate, ops
from emulators.testrail import runs as tr_runs

USER, KEY = "ci@example.com", "trcli-api-key"
TRCLI_TIMEOUT = 60  # seconds per trcli invocation (each takes ~1.5 s)
SHOT = b"\x89PNG\r\n\x1a\n fake screenshot bytes"

REPORT = """<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="checkout">
  <testsuite name="Login" tests="3">
    <testcase classname="tests.login" name="test_ok" time="1.5">
      <properties>
        <property name="testrail_result_comment" value="smoke ok"/>
        <property name="testrail_case_field" value="priority_id:4"/>
      </properties>
    </testcase>
    <testcase classname="tests.login" name="test_bad_password" time="0.2">
      <properties>
        <property name="testrail_result_step" value="passed: Open /login"/>
        <property name="testrail_result_step" value="failed: Submit wrong password"/>
        <property name="testrail_attachment" value="shot.png"/>
        <property name="testrail_result_field" value="custom_environment:staging"/>
      </properties>
      <failure message="expected 401, got 500">Traceback: boom</failure>
    </testcase>
    <testcase classname="tests.login" name="test_sso" time="0">
      <skipped message="no idp"/>
    </testcase>
  </testsuite>
  <testsuite name="Cart" tests="2">
    <testcase classname="tests.cart" name="test_add" time="3"/>
    <testcase classname="tests.cart" name="test_remove" time="2">
      <error message="KeyError: sku">stack</error>
    </testcase>
  </testsuite>
</testsuites>
"""

# What trcli 1.15.3 makes of REPORT, per automation id: (status_id, comment, elapsed). Its
# status map is passed 1 / failure+error 5 / skipped 4 (Retest); elapsed rounds up to whole
# seconds ("0.2" -> "1s", "0" -> none); comments join the property comment or the failure
# message and text.
EXPECTED = {
    "tests.login.test_ok": (1, "smoke ok\n\n", "2s"),
    "tests.login.test_bad_password": (
        5,
        "Message: expected 401, got 500\nText: Traceback: boom",
        "1s",
    ),
    "tests.login.test_sso": (4, "Message: no idp", None),
    "tests.cart.test_add": (1, "", "3s"),
    "tests.cart.test_remove": (5, "Message: KeyError: sku\nText: stack", "2s"),
}


def _trcli_binary() -> str:
    """The ``trcli`` console script of this environment (the test extra installs it)."""
    found = shutil.which("trcli", path=str(Path(sys.executable).parent)) or shutil.which("trcli")
    assert found, "trcli is not installed: pip install -e '.[test]'"
    return found


def trcli(
    server: RunningServer, workdir: Path, project: str, *args: str
) -> subprocess.CompletedProcess[str]:
    """``trcli -y -h <url> --project <project> -u USER -k KEY parse_junit -f report.xml ...``."""
    command = [_trcli_binary(), "-y", "-h", server.url, "--project", project, "-u", USER, "-k", KEY]
    command += ["parse_junit", "-f", "report.xml", *args]
    return subprocess.run(
        command, cwd=workdir, capture_output=True, text=True, timeout=TRCLI_TIMEOUT, check=False
    )


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A directory holding the JUnit report and the screenshot it attaches."""
    (tmp_path / "report.xml").write_text(REPORT, encoding="utf-8")
    (tmp_path / "shot.png").write_bytes(SHOT)
    return tmp_path


@dataclass
class Served:
    """An emulator on a real port: the server, its state and its per-method call counter."""

    server: RunningServer
    state: TestRailState
    stats: Counter[str]


@pytest.fixture
def served() -> Iterator[Served]:
    """An empty emulator (admin USER/KEY) on a real port."""
    state = TestRailState()
    app = create_app(state, user=USER, api_key=KEY)
    server = start_in_thread(app)
    try:
        yield Served(server, state, app.state.stats)
    finally:
        server.stop()


def api(server: RunningServer) -> httpx.Client:
    """A plain HTTP client on the emulator, for seeding through TestRail's own API."""
    return httpx.Client(base_url=server.url + "/index.php?/api/v2/", auth=(USER, KEY), timeout=10)


def add_automation_id_field(server: RunningServer, project_ids: list[int] | None) -> None:
    """``custom_automation_id`` (String), the field trcli matches cases with, created through
    ``add_case_field`` — for the given projects only, or global."""
    context: dict[str, Any] = (
        {"is_global": True}
        if project_ids is None
        else {"is_global": False, "project_ids": project_ids}
    )
    with api(server) as client:
        response = client.post(
            "add_case_field",
            json={
                "type": "String",
                "name": "automation_id",
                "label": "Automation ID",
                "include_all": True,
                "configs": [
                    {"context": context, "options": {"is_required": False, "default_value": ""}}
                ],
            },
        )
    assert response.status_code == 200, response.text


def add_environment_result_field(state: TestRailState) -> None:
    """A String result field ``custom_environment`` (TestRail has no API to add result fields)."""
    with state.lock:
        state.add_field_row(
            state.result_fields,
            "result_field",
            name="environment",
            label="Environment",
            type_id=1,
            include_all=True,
        )


def by_automation_id(snapshot: dict[str, Any], suite_id: int) -> dict[str, dict[str, Any]]:
    """Cases of a suite keyed by their ``custom_automation_id``."""
    return {
        c["custom"]["custom_automation_id"]: c
        for c in snapshot["cases"].values()
        if c["suite_id"] == suite_id and c["custom"].get("custom_automation_id")
    }


def results_of_run(
    snapshot: dict[str, Any], run_id: int, cases: dict[str, dict[str, Any]]
) -> dict[str, list[dict[str, Any]]]:
    """Results of a run per automation id, oldest first."""
    case_key = {c["id"]: key for key, c in cases.items()}
    tests = {
        t["id"]: case_key.get(t["case_id"])
        for t in snapshot["tests"].values()
        if t["run_id"] == run_id
    }
    out: dict[str, list[dict[str, Any]]] = {}
    for result in snapshot["results"].values():
        if result["test_id"] in tests:
            out.setdefault(str(tests[result["test_id"]]), []).append(result)
    return out


def assert_results_as_reported(
    snapshot: dict[str, Any], results: dict[str, list[dict[str, Any]]]
) -> None:
    """Every report test case got its status, comment and elapsed time; the failed login its
    result steps, result field and screenshot."""
    assert set(results) == set(EXPECTED)
    for key, (status_id, comment, elapsed) in EXPECTED.items():
        last = results[key][-1]
        shown_elapsed = None if last["elapsed"] is None else f"{last['elapsed']}s"
        assert (last["status_id"], last["comment"], shown_elapsed) == (
            status_id,
            comment,
            elapsed,
        ), key
    failed = results["tests.login.test_bad_password"][-1]
    assert failed["_custom"]["custom_environment"] == "staging"
    assert [(s["content"], s["status_id"]) for s in failed["_custom"]["custom_step_results"]] == [
        ("Open /login", 1),
        ("Submit wrong password", 5),
    ]
    (attachment_id,) = failed["attachment_ids"]
    attachment = snapshot["attachments"][attachment_id]
    assert (attachment["name"], attachment["_data"]) == ("shot.png", SHOT)
    others = [
        r for key, rows in results.items() if key != "tests.login.test_bad_password" for r in rows
    ]
    assert all(r["attachment_ids"] == [] for r in others)


def test_trcli_parse_junit_single_suite(served: Served, workdir: Path) -> None:
    """trcli creates the missing sections and cases, a run and its results; a second upload
    reuses every case (one of them found on page 2 of ``get_cases`` by following ``_links``);
    a project where the automation-id field is not configured is refused by trcli itself."""
    server, state = served.server, served.state
    with state.lock:
        checkout = ops.add_project(state, {"name": "Checkout"})
        ops.add_project(state, {"name": "Other"})
    add_automation_id_field(server, [checkout["id"]])  # before the cases: unknown keys are dropped
    add_environment_result_field(state)
    with state.lock:
        legacy = ops.add_section(state, checkout["id"], {"name": "Legacy"})
        for i in range(260):  # > 250: the existing test_add case sits on the second page
            aid = "tests.cart.test_add" if i == 255 else f"legacy.case_{i}"
            ops.add_case(
                state, legacy["id"], {"title": f"Legacy {i}", "custom_automation_id": aid}, None
            )
    suite_id = state.master_suite(checkout)["id"]  # type: ignore[index]

    first = trcli(server, workdir, "Checkout", "--title", "Nightly 42", "--close-run")
    assert first.returncode == 0, first.stdout + first.stderr
    snap = state.snapshot()
    sections = sorted(snap["sections"].values(), key=lambda s: s["id"])
    assert [(s["name"], s["parent_id"]) for s in sections] == [
        ("Legacy", None),
        ("Login", None),
        ("Cart", None),
    ]
    section_name = {s["id"]: s["name"] for s in sections}
    cases = by_automation_id(snap, suite_id)
    assert len(snap["cases"]) == 264  # 260 seeded + 4 created; test_add was matched, not added
    created = {
        key: (section_name[c["section_id"]], c["title"])
        for key, c in cases.items()
        if c["section_id"] != legacy["id"]
    }
    assert created == {
        "tests.login.test_ok": ("Login", "test_ok"),
        "tests.login.test_bad_password": ("Login", "test_bad_password"),
        "tests.login.test_sso": ("Login", "test_sso"),
        "tests.cart.test_remove": ("Cart", "test_remove"),
    }
    assert cases["tests.cart.test_add"]["title"] == "Legacy 255"
    assert served.stats["get_cases"] == 2  # page 1, then trcli followed _links.next
    assert cases["tests.login.test_ok"]["priority_id"] == 4  # testrail_case_field priority_id:4
    (run,) = snap["runs"].values()
    assert (run["name"], run["suite_id"], run["include_all"], run["is_completed"]) == (
        "Nightly 42",
        suite_id,
        False,
        True,
    )
    assert {t["case_id"] for t in snap["tests"].values()} == {cases[k]["id"] for k in EXPECTED}
    results = results_of_run(snap, run["id"], cases)
    assert all(len(rows) == 1 for rows in results.values())
    assert_results_as_reported(snap, results)
    with api(server) as client:  # the counters TestRail derives from the tests' statuses
        counts = client.get(f"get_run/{run['id']}").json()
    assert (counts["passed_count"], counts["failed_count"], counts["retest_count"]) == (2, 2, 1)

    second = trcli(server, workdir, "Checkout", "--title", "Nightly 43")
    assert second.returncode == 0, second.stdout + second.stderr
    again = state.snapshot()
    assert len(again["cases"]) == 264 and len(again["sections"]) == 3  # nothing created twice
    run2 = max(again["runs"].values(), key=lambda r: r["id"])
    assert (run2["name"], run2["is_completed"]) == ("Nightly 43", False)
    assert_results_as_reported(
        again, results_of_run(again, run2["id"], by_automation_id(again, suite_id))
    )

    refused = trcli(server, workdir, "Other", "--title", "Nightly 44")
    assert refused.returncode != 0
    assert "automation_id field is not properly configured" in refused.stdout + refused.stderr
    assert len(state.snapshot()["runs"]) == 2


def test_trcli_multi_suite_project_and_plan_runs(served: Served, workdir: Path) -> None:
    """Suite mode 3 and plans: trcli creates a suite for the report and a configuration entry in
    a plan (``add_plan_entry`` with ``runs``), then re-uploads into that configuration run
    (``update_run_in_plan_entry``) and into a plain plan run (``update_plan_entry``, GUID path)."""
    server, state = served.server, served.state
    with state.lock:
        multi = ops.add_project(state, {"name": "Multi", "suite_mode": 3})
        api_suite = ops.add_suite(state, multi["id"], {"name": "API"})
        group = tr_runs.add_config_group(state, multi["id"], {"name": "Browsers"})
        chrome = tr_runs.add_config(state, group["id"], {"name": "Chrome"})
        plan = tr_runs.add_plan(
            state,
            multi["id"],
            {"name": "Release 2.0", "entries": [{"suite_id": api_suite["id"]}]},
            None,
        )
    add_automation_id_field(server, None)
    add_environment_result_field(state)
    plain_run = plan["_entries"][0]["_run_ids"][0]

    into_plan = trcli(
        server,
        workdir,
        "Multi",
        "--title",
        "Chrome pass",
        "--plan-id",
        str(plan["id"]),
        "--config-ids",
        str(chrome["id"]),
    )
    assert into_plan.returncode == 0, into_plan.stdout + into_plan.stderr
    snap = state.snapshot()
    suites = {s["name"]: s["id"] for s in snap["suites"].values()}
    assert list(suites) == ["API", "checkout"]  # trcli names the new suite after <testsuites>
    entries = snap["plans"][plan["id"]]["_entries"]
    assert [e["name"] for e in entries] == ["API", "Chrome pass"]
    (config_run,) = entries[1]["_run_ids"]
    run = snap["runs"][config_run]
    assert (run["suite_id"], run["config"], run["config_ids"]) == (
        suites["checkout"],
        "Chrome",
        [chrome["id"]],
    )
    cases = by_automation_id(snap, suites["checkout"])
    assert_results_as_reported(snap, results_of_run(snap, config_run, cases))

    rerun = trcli(server, workdir, "Multi", "--title", "Chrome rerun", "--run-id", str(config_run))
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    snap = state.snapshot()
    results = results_of_run(snap, config_run, by_automation_id(snap, suites["checkout"]))
    assert all(len(rows) == 2 for rows in results.values())  # results appended, tests kept
    assert snap["runs"][config_run]["name"] == "Chrome pass"  # a run's name is its entry's

    api_rerun = trcli(
        server,
        workdir,
        "Multi",
        "--title",
        "API rerun",
        "--suite-id",
        str(api_suite["id"]),
        "--run-id",
        str(plain_run),
    )
    assert api_rerun.returncode == 0, api_rerun.stdout + api_rerun.stderr
    snap = state.snapshot()
    assert snap["plans"][plan["id"]]["_entries"][0]["name"] == "API rerun"
    assert snap["runs"][plain_run]["name"] == "API rerun"
    api_cases = by_automation_id(snap, api_suite["id"])
    assert_results_as_reported(snap, results_of_run(snap, plain_run, api_cases))
    assert len(snap["suites"]) == 2 and len(snap["runs"]) == 2


def test_testrail_api_client_pages_results_and_attachments(served: Served, tmp_path: Path) -> None:
    """tolstislon's ``testrail_api``: projects, 300 cases over two offset pages, bulk results by
    case (a comment-only row leaves the test Untested), an attachment up and down again."""
    server, state = served.server, served.state
    project_id = generate(state, cases=300, seed=11, project_name="Datahub")
    client = testrail_api.TestRailAPI(server.url, USER, KEY, warn_ignore=True, timeout=10)
    stats = served.stats

    projects = client.projects.get_projects()
    assert [p["name"] for p in projects["projects"]] == ["Datahub"] and projects["_links"][
        "next"
    ] is None

    before = stats["get_cases"]
    cases = client.cases.get_cases_bulk(project_id)
    assert stats["get_cases"] - before == 2  # offset 0 (250 rows) and offset 250 (50 rows)
    with state.lock:
        expected_ids = sorted(state.cases)
    assert len(cases) == 300 and sorted(c["id"] for c in cases) == expected_ids

    a, b, c = (case["id"] for case in cases[:3])
    run = client.runs.add_run(project_id, name="API smoke", include_all=False, case_ids=[a, b, c])
    results = client.results.add_results_for_cases(
        run["id"],
        [
            {"case_id": a, "status_id": 1, "comment": "ok", "elapsed": "5s", "version": "2.0.1"},
            {"case_id": b, "status_id": 5, "comment": "boom", "defects": "BUG-7"},
            {"case_id": c, "comment": "looked at it"},
        ],
    )
    assert isinstance(results, list) and [r["status_id"] for r in results] == [1, 5, None]
    tests = {t["case_id"]: t for t in client.tests.get_tests(run["id"])["tests"]}
    assert {cid: tests[cid]["status_id"] for cid in (a, b, c)} == {a: 1, b: 5, c: 3}

    log = tmp_path / "failure.log"
    log.write_bytes("boom at line 7\nÜnïcödé\n".encode())
    uploaded = client.attachments.add_attachment_to_result(results[1]["id"], log)
    attachment_id = uploaded["attachment_id"]
    assert isinstance(attachment_id, int)
    listed = client.attachments.get_attachments_for_test(tests[b]["id"])
    assert [(x["id"], x["name"], x["size"]) for x in listed] == [
        (attachment_id, "failure.log", log.stat().st_size)
    ]
    downloaded = client.attachments.get_attachment(attachment_id, tmp_path / "back.log")
    assert downloaded.read_bytes() == log.read_bytes()

    for_run = client.results.get_results_for_run(run["id"])
    by_id = {r["id"]: r for r in for_run["results"]}
    assert by_id[results[1]["id"]]["attachment_ids"] == [attachment_id]
    assert (
        by_id[results[0]["id"]]["elapsed"] == "5s" and by_id[results[1]["id"]]["defects"] == "BUG-7"
    )

    with pytest.raises(StatusCodeError) as missing:
        client.cases.get_case(10**6)
    assert missing.value.status_code == 400
    assert missing.value.response is not None
    assert missing.value.response.json() == {"error": "Field :case_id is not a valid test case."}
