"""``migrate --dry-run`` prints the plan and exits 0 when it could be applied as it is, 1 only
when something in it needs a person: an unmapped status or priority, a case too large."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from core.migrate import migration_exit_code
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
    assert any("not under [users] and are kept as text" in note for note in report.notes)

    env.config_path.write_text(
        env.config_path.read_text()
        + '\n[mapping.status]\n"Needs another look" = "Retest"\n'
        + '[mapping.priority]\nUrgent = "High"\n'
    )
    async with env.service() as service:
        [mapped] = await service.migrate(dry_run=True)
    assert mapped.attention == []
    assert migration_exit_code([mapped]) == 0
