"""Benchmark: how many warning lines a migration prints when its results are refused.

    python bench/warning_lines.py [--per-test 1 25 190]

A generated TestRail project (12 cases) with one run over four cases; each test gets
``--per-test`` results, all Passed, and ``[mapping.status]`` maps Passed to a name TestFiesta
lacks, so every result is refused (each test's first for its status, the rest waiting for
it). The migration runs in-process over both emulators; the table gives per row the refused
results and the warning lines of the report (one per failed write before grouping, one per
kind of failure after, :func:`core.report.failure_lines`).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

import pytest

from tests.helpers import emulate
from tests.integration.test_sync_runs import RunPair


def measure(per_test: int) -> tuple[int, int, int]:
    """(refused results, failed writes in the report, warning lines) for ``per_test``."""
    with tempfile.TemporaryDirectory() as directory, pytest.MonkeyPatch.context() as patch:
        env = emulate(Path(directory), patch, cases=12)
        made = RunPair(env)
        for n in range(per_test):
            for case in made.cases:
                made.tr_result(case, 1, f"fine {n}")
        env.config_path.write_text(
            env.config_path.read_text() + '\n[mapping.status]\nPassed = "Groen"\n'
        )

        async def go() -> tuple[int, int]:
            async with env.service() as service:
                [report] = await service.migrate()
            failed = sum(1 for f in report.failed if f["operation"]["kind"] == "result")
            return failed, len(report.warnings)

        failed, lines = asyncio.run(go())
    return 4 * per_test, failed, lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-test", type=int, nargs="+", default=[1, 25, 190])
    args = parser.parse_args()
    print(f"{'refused results':>16}{'failed (json)':>15}{'warning lines':>15}")
    for per_test in args.per_test:
        results, failed, lines = measure(per_test)
        print(f"{results:>16}{failed:>15}{lines:>15}")


if __name__ == "__main__":
    main()
