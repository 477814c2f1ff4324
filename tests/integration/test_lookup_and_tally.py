"""What TestFiesta already holds is recognised by ``source`` and ``externalId`` together, and
the migration's tally counts TestRail's records found there, never just rows: a stray on
TestFiesta cannot stand in for a missing record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import Emulated, emulate
from tests.integration.test_migration import DropAnswerAfter


def _our_case_rows(env: Emulated, case_id: int) -> list[dict[str, Any]]:
    tf = env.testfiesta.state.testfiesta
    return [
        r
        for r in tf.db.cases.values()
        if str(r.get("externalId", "")).endswith(f"/case/{case_id}") and not r["deletedAt"]
    ]


@pytest.fixture
async def migrated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Emulated:
    env = emulate(tmp_path, monkeypatch, cases=8)
    async with env.service() as service:
        report = (await service.migrate())[0]
    assert report.complete
    assert report.kinds["cases"].testfiesta == 8
    return env


async def test_a_record_with_our_external_id_but_another_source_is_not_adopted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch of cases lands but its answer is lost, so the migration looks each case up;
    meanwhile one of them came to read ``source = "jira"`` (another tool's record with the
    same ``externalId``): it is not ours, so that case is created again and the copy left
    alone."""
    env = emulate(tmp_path, monkeypatch, cases=8)
    with env.testrail_state.lock:
        case = min(env.testrail_state.cases)
    tf = env.testfiesta.state.testfiesta

    class LoseAndRelabel(DropAnswerAfter):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            try:
                return await super().handle_async_request(request)
            except httpx.RemoteProtocolError:
                [row] = _our_case_rows(env, case)
                tf.update(row, {"source": "jira", "name": "Jira's copy"})
                raise

    lossy = LoseAndRelabel(httpx.ASGITransport(env.testfiesta), nth=1)
    async with env.service(testfiesta_transport=lossy) as service:
        await service.migrate()
    assert lossy.cases_sent[0] == 8  # all eight landed; the client never heard
    external = next(r["externalId"] for r in tf.db.cases.values() if r.get("source") == "jira")

    async with env.service() as service:
        report = (await service.migrate())[0]
    assert report.complete
    assert report.kinds["cases"].testfiesta == 8
    rows = [r for r in env.testfiesta_cases("ACME") if r["externalId"] == external]
    assert sorted((r["source"], r["name"] == "Jira's copy") for r in rows) == [
        ("jira", True),
        ("testrail", False),
    ]


@pytest.mark.parametrize("dry_run", [True, False], ids=["dry run", "migration"])
async def test_a_stray_on_testfiesta_does_not_hide_a_missing_case_in_the_tally(
    migrated: Emulated, dry_run: bool
) -> None:
    env = migrated
    with env.testrail_state.lock:
        case = max(env.testrail_state.cases)
    [row] = _our_case_rows(env, case)
    stray = str(row["externalId"]).rsplit("/", 1)[0] + "/999999"  # no such TestRail case
    env.testfiesta.state.testfiesta.update(row, {"externalId": stray})

    async with env.service() as service:
        report = (await service.migrate(dry_run=dry_run))[0]
    cases = report.kinds["cases"]
    assert (cases.testrail, cases.testfiesta, cases.duplicates) == (8, 7, 0)
    assert not report.complete
    assert report.warnings == [
        "TestFiesta project ACME holds 1 case migrated from TestRail records this project no "
        "longer has (deleted, or another TestRail)"
    ]
