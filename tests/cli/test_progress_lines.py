"""The headless progress lines of ``railfiesta migrate``: waits the server asks for, and each
stage's count."""

from __future__ import annotations

import io

import pytest

from core.http import RateLimitWait
from tests.demo import DEMO_GROUP, MigratedDemo
from tui.cli import ProgressPrinter


def test_a_429_wait_and_a_maintenance_wait_are_told_apart() -> None:
    err = io.StringIO()
    printer = ProgressPrinter(err)
    printer(RateLimitWait("testrail", "get_cases", 12.0))
    printer(RateLimitWait("testrail", "get_projects", 60.0, 409))
    assert err.getvalue().splitlines() == [
        "testrail rate limit: waiting 12 s (get_cases)",
        "testrail is down for maintenance (HTTP 409): waiting 60 s (get_projects)",
    ]


@pytest.mark.xdist_group(DEMO_GROUP)
def test_the_migration_of_the_demo_prints_each_kinds_whole_count(
    migrated_demo: MigratedDemo,
) -> None:
    """The demo (600 cases, seed 7), migrated with a :class:`ProgressPrinter` that prints
    only the stages' ends (the session's migration, :func:`tests.demo.migrate_demo`): the
    follow-up pass links 1,290 tests (657 written, 633 only linked) and reads 1,290
    executions again after the 3,716 records of the first read; the lines give each stage's
    count over the whole run, not its last pass's."""
    tests = migrated_demo.parity["test"]
    assert (tests.testrail, tests.testfiesta) == (1290, 1290)
    lines = [line for line in migrated_demo.printed.splitlines() if line.startswith("  ")]
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
