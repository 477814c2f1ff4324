"""``migrate --dry-run`` prints the plan and exits 0 when it could be applied as it is, 1 only
when something in it needs a person: an unmapped status or priority, a case too large."""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path

import pytest

from core.events import Activity
from core.migrate import migration_exit_code
from emulators.testrail import seed
from tests.helpers import emulate
from tests.integration.test_sync_runs import RunPair
from tui.render import print_migration_reports


async def test_a_plan_that_can_be_applied_exits_0_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = emulate(tmp_path, monkeypatch, cases=30)
    async with env.service() as service:
        [report] = await service.migrate(dry_run=True)
    assert report.attention == []
    assert report.kinds["cases"].created == 30
    assert migration_exit_code([report]) == 0
    out = io.StringIO()
    print_migration_reports([report], as_json=False, out=out)
    assert "the plan can be applied as it is" in out.getvalue()
    assert env.testfiesta.state.testfiesta.db.cases == {}


async def test_unmapped_statuses_and_priorities_and_unknown_people_are_listed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = emulate(tmp_path, monkeypatch, cases=12)
    made = RunPair(env)
    state = env.testrail_state
    with state.lock:
        state.statuses[4]["label"] = "Needs another look"  # stock "Retest", renamed
        urgent = next(p for p in state.priorities.values() if p["name"] == "High")
        urgent["name"] = "Urgent"
        urgent_cases = sum(1 for c in state.cases.values() if c["priority_id"] == urgent["id"])
    made.tr_result(made.cases[0], 4, "please look again")
    async with env.service() as service:
        [report] = await service.migrate(dry_run=True)
    assert urgent_cases > 0
    assert report.attention == [
        "TestRail status 'Needs another look' has no TestFiesta status: results with it are "
        'not copied; add "Needs another look" = "<TestFiesta status>" under [mapping.status]',
        "TestRail priority 'Urgent' has no TestFiesta priority: its cases arrive without one; "
        'add "Urgent" = "<TestFiesta priority>" under [mapping.priority]',
    ]
    assert migration_exit_code([report]) == 1
    assert [n.split(":")[0] for n in report.notes if "[users]" in n] == [
        "1 TestRail person is not under [users] and is kept as text (author lines, no assignee)"
    ]

    env.config_path.write_text(
        env.config_path.read_text()
        + '\n[mapping.status]\n"Needs another look" = "Retest"\n'
        + '[mapping.priority]\nUrgent = "High"\n'
    )
    async with env.service() as service:
        [mapped] = await service.migrate(dry_run=True)
    assert mapped.attention == []
    assert migration_exit_code([mapped]) == 0


async def test_a_dry_run_after_a_migration_counts_what_testfiesta_holds_and_warns_of_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = emulate(tmp_path, monkeypatch, cases=20)
    state = env.testrail_state
    with state.lock:
        [project] = state.projects.values()
        [suite] = (s for s in state.suites.values() if s["project_id"] == project["id"])
        milestone = min(m["id"] for m in state.milestones.values())
        seed.add_plans(state, project["id"], 1, seed=3, milestone=milestone, suite_id=suite["id"])
    async with env.service() as service:
        [migrated] = await service.migrate()
    assert migrated.complete
    events: list[object] = []
    async with env.service() as service:
        service.subscribe(events.append)
        [plan] = await service.migrate(dry_run=True)
    counts = {k: (c.testrail, c.testfiesta, c.created) for k, c in plan.kinds.items()}
    expected = {k: (c.testrail, c.testrail, 0) for k, c in migrated.kinds.items()}
    assert counts == expected
    assert counts["runs"] == (5, 5, 0)
    assert counts["milestones"] == (4, 4, 0)
    assert counts["results"][0] > 0
    warnings = [e.message for e in events if isinstance(e, Activity) and e.level == "warning"]
    assert warnings == []
    assert migration_exit_code([plan]) == 0


async def test_a_first_dry_run_raises_no_warning_for_what_it_would_create(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = emulate(tmp_path, monkeypatch, cases=10)
    events: list[object] = []
    async with env.service() as service:
        service.subscribe(events.append)
        [plan] = await service.migrate(dry_run=True)
    assert plan.kinds["cases"].created == 10
    activities = [(e.level, e.message) for e in events if isinstance(e, Activity)]
    assert [level for level, message in activities if message.startswith("Acme Web Shop:")] == [
        "info"
    ]


async def test_a_status_or_priority_mapped_to_a_name_testfiesta_lacks_names_that_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = emulate(tmp_path, monkeypatch, cases=12)
    made = RunPair(env)
    made.tr_result(made.cases[0], 1, "fine")
    env.config_path.write_text(
        env.config_path.read_text()
        + '\n[mapping.status]\nPassed = "Groen"\n[mapping.priority]\nHigh = "Hoch"\n'
    )
    async with env.service() as service:
        [report] = await service.migrate(dry_run=True)
    assert report.attention == [
        "TestRail status 'Passed' is mapped to 'Groen', which TestFiesta does not have: "
        "results with it are not copied; change its [mapping.status] line to one of "
        "TestFiesta's statuses: Blocked, Failed, Passed, Retest, Skipped, Untested",
        "TestRail priority 'High' is mapped to 'Hoch', which TestFiesta does not have: its "
        "cases arrive without one; change its [mapping.priority] line to one of TestFiesta's "
        "priorities: Critical, High, Low, Medium",
    ]
    assert migration_exit_code([report]) == 1


async def test_a_migration_with_a_status_mapped_to_a_missing_name_says_which_line_to_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = emulate(tmp_path, monkeypatch, cases=12)
    made = RunPair(env)
    made.tr_result(made.cases[0], 1, "fine")
    env.config_path.write_text(
        env.config_path.read_text() + '\n[mapping.status]\nPassed = "Groen"\n'
    )
    async with env.service() as service:
        [report] = await service.migrate()
    assert not report.complete
    mapping = [w for w in report.warnings if "'Groen'" in w]
    assert sorted(w.split(":", 1)[0] for w in mapping) == ["result tr", "test tf"]
    assert {w.split(": ", 1)[1] for w in mapping} == {
        "TestRail status 'Passed' has no TestFiesta status named 'Groen'; it is not replaced "
        "by another one (change its [mapping.status] line to one of TestFiesta's statuses: "
        "Blocked, Failed, Passed, Retest, Skipped, Untested)"
    }


async def test_a_migration_notes_the_people_users_does_not_name_as_its_dry_run_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = emulate(tmp_path, monkeypatch, cases=12)
    made = RunPair(env)
    made.tr_result(made.cases[0], 1, "fine")
    async with env.service() as service:
        [plan] = await service.migrate(dry_run=True)
    async with env.service() as service:
        [report] = await service.migrate()
    assert report.complete
    assert (
        report.notes
        == plan.notes
        == [
            "1 TestRail person is not under [users] and is kept as text (author lines, no "
            "assignee): anna.schmidt@example.com"
        ]
    )
    out = io.StringIO()
    print_migration_reports([report], as_json=False, out=out)
    assert f"note: {report.notes[0]}\n" in out.getvalue()


async def test_results_refused_the_same_way_are_one_warning_and_json_keeps_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Eight results whose status maps to a missing name: one warning line for the results
    (the first, then how many more and which), while the report's ``failed`` (``--json``)
    keeps all eight (a tester saw 761 lines, one per result)."""
    env = emulate(tmp_path, monkeypatch, cases=12)
    made = RunPair(env)
    results = [made.tr_result(case, 1, f"fine {n}") for n in (1, 2) for case in made.cases]
    env.config_path.write_text(
        env.config_path.read_text() + '\n[mapping.status]\nPassed = "Groen"\n'
    )
    async with env.service() as service:
        [report] = await service.migrate()
    keys = [f"tr:result:{r['id']}" for r in results]
    refused = [f for f in report.failed if f["operation"]["kind"] == "result"]
    assert sorted(f["operation"]["source"] for f in refused) == sorted(keys)
    # each test's first result is refused for its status, its second waits for the first
    assert [w for w in report.warnings if w.startswith("result ")] == [
        f"result {keys[0]}: TestRail status 'Passed' has no TestFiesta status named 'Groen'; "
        "it is not replaced by another one (change its [mapping.status] line to one of "
        "TestFiesta's statuses: Blocked, Failed, Passed, Retest, Skipped, Untested) "
        f"(and 3 more the same way: {', '.join(keys[1:4])}; --json lists all)",
        f"result {keys[4]}: result {keys[4]} waits: an older result of its test could not be "
        "copied (fix the older result's problem (reported above), then run again) "
        f"(and 3 more the same way: {', '.join(keys[5:8])}; --json lists all)",
    ]
    assert report.as_dict()["failed"] == report.failed
    # and the four tests whose status waits for those results: one line too
    assert Counter(f["operation"]["kind"] for f in report.failed) == {"result": 8, "test": 4}
    assert len([w for w in report.warnings if w.startswith("test ")]) == 1


async def test_dry_run_json_complete_means_one_thing_and_the_exit_code_says_ready(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``complete`` at the top level and per project both mean "everything is on TestFiesta";
    a dry run that would write is not, and its ready plan is the top-level exit code 0."""
    env = emulate(tmp_path, monkeypatch, cases=12)
    async with env.service() as service:
        [plan] = await service.migrate(dry_run=True)
    out = io.StringIO()
    print_migration_reports([plan], as_json=True, out=out)
    document = json.loads(out.getvalue())
    assert (document["complete"], document["exit_code"]) == (False, 0)
    assert document["projects"][0]["complete"] is False
    async with env.service() as service:
        [report] = await service.migrate()
    out = io.StringIO()
    print_migration_reports([report], as_json=True, out=out)
    document = json.loads(out.getvalue())
    assert (document["complete"], document["exit_code"]) == (True, 0)
    assert document["projects"][0]["complete"] is True
