"""The headless progress lines of ``railfiesta migrate``: waits the server asks for, and each
stage's count."""

from __future__ import annotations

import asyncio
import io
import math
from pathlib import Path

import pytest

from core.http import RateLimitWait
from tests.tui.test_demo_keys import build_demo, secrets_of
from tui.cli import ProgressPrinter
from tui.demo import demo_servers


def test_a_429_wait_and_a_maintenance_wait_are_told_apart() -> None:
    err = io.StringIO()
    printer = ProgressPrinter(err)
    printer(RateLimitWait("testrail", "get_cases", 12.0))
    printer(RateLimitWait("testrail", "get_projects", 60.0, 409))
    assert err.getvalue().splitlines() == [
        "testrail rate limit: waiting 12 s (get_cases)",
        "testrail is down for maintenance (HTTP 409): waiting 60 s (get_projects)",
    ]


def test_the_migration_of_the_demo_prints_each_kinds_whole_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo (600 cases, seed 7): the follow-up pass links 1,290 tests (657 written, 633
    only linked) and reads 1,290 executions again after the 3,716 records of the first read;
    the lines give each stage's count over the whole run, not its last pass's."""
    demo = build_demo(tmp_path, demo_servers())
    secrets_of(demo.servers, monkeypatch)
    err = io.StringIO()
    printer = ProgressPrinter(err, interval=math.inf)  # the stages' ends only

    async def migrate() -> None:
        async with demo.service() as service:
            service.subscribe(printer)
            [report] = await service.migrate()
        assert report.complete
        assert (report.parity["test"].testrail, report.parity["test"].testfiesta) == (1290, 1290)

    asyncio.run(migrate())
    lines = [line for line in err.getvalue().splitlines() if line.startswith("  ")]
    assert lines == [
        "  project: 1/1",
        "  fields: 9/9",
        "  templates: 3/3",
        "  reading: 3716/3716",
        "  folders: 89/89",
        "  shared steps: 2/2",
        "  cases: 600/600",
        "  config groups: 2/2",
        "  configs: 4/4",
        "  milestones: 4/4",
        "  runs: 9/9",
        "  plans: 3/3",
        "  reading: 5006/5006",
        "  tests: 1290/1290",
        "  results: 1304/1304",
        "  attachments: 5/5",
        "  case history: 404/404",
    ]
