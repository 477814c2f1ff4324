"""Re-running a migration loses and duplicates nothing (issue 7): a fresh ``--state`` over a
TestFiesta project an earlier migration filled links what is there (every kind, results too)
and sends nothing twice; a copy deleted in TestFiesta is copied again, the dry run saying so
first; a migration killed before its usable core landed is named by ``status``."""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.migrate import MigrationReport, migration_exit_code
from emulators.testrail import runs
from tests.helpers import Emulated, emulate
from tui.render import print_status

#: TestRail files of the generated plans that are not a case's: a plan's and a result's
NON_CASE_FILES = (4, 5)


def counts(report: MigrationReport) -> dict[str, tuple[int, int, int]]:
    """``{kind label: (on TestRail, on TestFiesta, created)}`` of a report."""
    return {k: (c.testrail, c.testfiesta, c.created) for k, c in report.kinds.items()}


def held_by_testfiesta(env: Emulated) -> dict[str, int]:
    """What the TestFiesta emulator holds, live rows per table."""
    db = env.testfiesta.state.testfiesta.db
    tables = ("folders", "cases", "shared_steps", "milestones", "config_groups", "configs",
              "runs", "plans", "executions", "results", "attachments")  # fmt: skip
    return {
        name: sum(1 for row in getattr(db, name).values() if not row.get("deletedAt"))
        for name in tables
    }


def plans_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, files: bool) -> Emulated:
    """120 cases and the demo's execution data (3 plans, results); ``files`` False drops the
    plan's and the result's file (TestFiesta's API cannot list those)."""
    env = emulate(tmp_path, monkeypatch, cases=120, plans=3)
    if not files:
        with env.testrail_state.lock:
            for ident in NON_CASE_FILES:
                runs.delete_attachment(env.testrail_state, ident)
    return env


#: What the first migration of :func:`plans_project` makes (kind label: TestRail count)
MIGRATED = {"project": 1, "fields": 9, "templates": 3, "folders": 91, "shared steps": 2,
            "cases": 120, "config groups": 2, "configs": 4, "milestones": 4, "runs": 9,
            "plans": 3, "results": 361, "case history": 82, "tags": 12}  # fmt: skip


async def test_a_fresh_state_links_every_kind_and_sends_nothing_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = plans_project(tmp_path, monkeypatch, files=False)
    async with env.service() as service:
        first = (await service.migrate())[0]
    assert first.complete
    assert counts(first) == {k: (n, n, n) for k, n in {**MIGRATED, "attachments": 3}.items()} | {
        "project": (1, 1, 1)
    }
    before = held_by_testfiesta(env)
    assert before["results"] == 361 and before["attachments"] == 3

    env.state_dir = tmp_path / "another-machine"  # the state store is gone
    async with env.service() as service:
        dry = (await service.migrate(dry_run=True))[0]
    # the dry run counts what TestFiesta holds of every kind, and would create nothing
    assert counts(dry) == {k: (n, n, 0) for k, n in {**MIGRATED, "attachments": 3}.items()}
    assert dry.warnings == [] and dry.attention == []
    assert migration_exit_code([dry]) == 0

    async with env.service() as service:
        relinked = (await service.migrate())[0]
    assert counts(relinked) == {k: (n, n, 0) for k, n in {**MIGRATED, "attachments": 3}.items()}
    assert held_by_testfiesta(env) == before  # nothing sent twice
    assert {k: (p.missing, p.extra, p.differing) for k, p in relinked.parity.items()} == {
        k: ([], [], [])
        for k in (
            "folder",
            "shared_step",
            "case",
            "config_group",
            "config",
            "milestone",
            "run",
            "plan",
            "test",
            "result",
            "attachment",
            "case_history",
        )
    }
    assert relinked.parity["result"].testfiesta == 361
    assert relinked.complete and relinked.warnings == []
    assert migration_exit_code([relinked]) == 0

    async with env.service() as service:  # and once more: it knows them all now
        again = (await service.migrate())[0]
    assert sum(c.created for c in again.kinds.values()) == 0
    assert again.requests["testfiesta"] < relinked.requests["testfiesta"]
    assert held_by_testfiesta(env) == before
    assert migration_exit_code([again]) == 0


UNMATCHED = (
    "2 files of runs, results or plans {verb} copied: this state store does not know what "
    "the earlier migration of this project copied, and TestFiesta's API lists no files of "
    "runs, executions or plans to check, so sending them could copy them twice "
    "(tr:attachment:4, tr:attachment:5); to copy what is missing, run `railfiesta migrate` "
    "with the --state directory of the first migration (or `railfiesta state import` its "
    "export)"
)


async def test_files_of_runs_results_and_plans_are_never_sent_twice_and_the_fix_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = plans_project(tmp_path, monkeypatch, files=True)
    async with env.service() as service:
        assert (await service.migrate())[0].complete
    before = held_by_testfiesta(env)
    assert before["attachments"] == 5

    env.state_dir = tmp_path / "another-machine"
    async with env.service() as service:
        dry = (await service.migrate(dry_run=True))[0]
    assert counts(dry)["attachments"] == (5, 3, 0)
    assert counts(dry)["results"] == (361, 361, 0)
    assert dry.warnings == [UNMATCHED.format(verb="would not be")]
    for _ in range(2):  # the second run is no different: the two stay out
        async with env.service() as service:
            report = (await service.migrate())[0]
        assert held_by_testfiesta(env) == before
        assert counts(report)["attachments"] == (5, 3, 0)
        assert report.parity["attachment"].missing == ["tr:attachment:4", "tr:attachment:5"]
        assert report.warnings == [UNMATCHED.format(verb="were not")]
        assert migration_exit_code([report]) == 1

    # the state of the first migration, brought back, copies nothing twice either
    env.state_dir = tmp_path / "state"
    async with env.service() as service:
        report = (await service.migrate())[0]
    assert report.complete and report.warnings == []
    assert held_by_testfiesta(env) == before


async def test_a_case_deleted_in_testfiesta_is_copied_again_and_the_dry_run_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = emulate(tmp_path, monkeypatch, cases=12)
    async with env.service() as service:
        assert (await service.migrate())[0].complete
    [row] = [c for c in env.testfiesta_cases("ACME") if str(c["externalId"]).endswith("/case/1")]
    async with env.service() as service:
        assert service.testfiesta is not None
        await service.testfiesta.delete_case("ACME", row["uid"])
    note = (
        "1 cases deleted in TestFiesta since they were migrated: the migration {verb} them "
        "again (tr:case:1)"
    )

    async with env.service() as service:
        dry = (await service.migrate(dry_run=True))[0]
    assert counts(dry)["cases"] == (12, 11, 1)
    assert dry.notes == [note.format(verb="would copy")]
    assert dry.warnings == [] and migration_exit_code([dry]) == 0

    async with env.service() as service:
        report = (await service.migrate())[0]
    assert counts(report)["cases"] == (12, 12, 1)
    assert report.notes == [note.format(verb="copies")]
    assert report.complete and report.warnings == []
    assert {k: p.missing for k, p in report.parity.items() if p.missing} == {}
    assert migration_exit_code([report]) == 0
    [copy] = [c for c in env.testfiesta_cases("ACME") if str(c["externalId"]).endswith("/case/1")]
    assert copy["uid"] != row["uid"] and copy["name"] == row["name"]
    assert len(env.testfiesta_cases("ACME")) == 12

    async with env.service() as service:
        again = (await service.migrate())[0]
    assert sum(c.created for c in again.kinds.values()) == 0 and again.notes == []


class Killed(BaseException):
    """The process died (SIGKILL): nothing after it runs, no handler sees it."""


class KillAt(httpx.AsyncBaseTransport):
    """Kills the migration as the ``nth`` ``POST /cases`` is sent (the request is lost)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, nth: int) -> None:
        self.inner = inner
        self.nth = nth
        self.posts = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path.endswith("/cases"):
            self.posts += 1
            if self.posts == self.nth:
                raise Killed
        return await self.inner.handle_async_request(request)


async def test_status_names_a_migration_killed_before_its_core_landed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = emulate(tmp_path, monkeypatch, cases=250)
    service = env.service(testfiesta_transport=KillAt(httpx.ASGITransport(env.testfiesta), 3))
    with pytest.raises(Killed):
        async with service:
            await service.migrate()
    await service.close()

    async with env.service() as service:
        status: dict[str, Any] = service.status()
    [(pair, stopped)] = status["migrating"].items()
    started = stopped.pop("started")
    assert isinstance(started, float)
    assert stopped == {
        "project": "Acme Web Shop",
        "testfiesta": "ACME",
        "stage": "core",
        "done": {"folders": 91, "shared steps": 2, "cases": 161},
        "unfinished": {"cases": 250},
        "finished": ["folders", "shared steps"],
        "later": "the rest of the usable core, then the backfill (results, attachments, "
        "case history)",
        "resume": "railfiesta migrate",
    }
    out = io.StringIO()
    print_status(status, as_json=False, out=out)
    lines = [
        line for line in out.getvalue().splitlines() if "migration" in line or line[:2] == "  "
    ]
    assert lines[1:] == [
        "  done:          folders 91, shared steps 2, cases 161",
        "  not done:      cases (part of 250), then the rest of the usable core, then the "
        "backfill (results, attachments, case history)",
        "  resume:        `railfiesta migrate` with the same arguments continues it (nothing "
        "lands twice)",
    ]
    assert lines[0].startswith(
        f"migration:       INCOMPLETE: Acme Web Shop -> ACME (project {pair}, started "
    )
    assert lines[0].endswith(") stopped part-way before the usable core landed")

    async with env.service() as service:
        report = (await service.migrate())[0]
        assert report.complete
        assert service.status()["migrating"] == {}
    copies = Counter(str(c["externalId"]) for c in env.testfiesta_cases("ACME"))
    assert max(copies.values()) == 1
    assert len(env.testfiesta_cases("ACME")) == 250
