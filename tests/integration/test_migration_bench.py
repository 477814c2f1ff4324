"""The migration benchmark (``bench/migration.py``, issue 7) in CI, scaled down: the medium
project's shape at 60 cases, served by both emulators in a child process on TCP, migrated
with TestRail capped at 100,000 a minute. It prints the per-kind table with the minimum the
APIs allow, lands everything and meets no 429. ``python bench/migration.py --scale medium``
is the full run."""

from __future__ import annotations

import pytest

from bench.migration import main


def test_the_scaled_medium_bench_prints_its_table_and_lands_everything(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--cases", "60", "--scale", "medium", "--rate", "100000"]) == 0
    out = capsys.readouterr().out
    assert (
        "Seeded in " in out
        and "4 sections, 60 cases, 1 runs, 60 tests, 360 results, 1 plans, 2 milestones, "
        "6 attachments, 2 shared steps"
        in out
    ), out
    rows = {line.split(" | ")[0][2:]: line.split(" | ")[1:] for line in out.splitlines()
            if line.startswith("| ") and not line.startswith("| kind")}  # fmt: skip
    # four sections: the minimum is one get_sections, four creates, one page read back; the
    # migration's second pass (it pairs the runs' executions with the tests) reads no folders
    assert rows["folders"][:5] == ["1", "5", "6", "6", "1.00"], rows["folders"]
    # one run of 60 tests and 360 results: get_runs, get_tests, 2 result pages, statuses,
    # users, result fields; one create, the executions listed to pair and to read back, the
    # runs read back, the shim's statuses
    assert rows["runs"][:5] == ["7", "5", "12", "12", "1.00"], rows["runs"]
    assert rows["tests"][:5] == ["0", "60", "60", "60", "1.00"], rows["tests"]
    assert "429s received: 0" in out and "complete: True" in out
