"""Benchmark: what a migration costs, in HTTP requests first, then time and memory.

    python bench/migration.py [--cases 100 600 2000] [--suite-mode 1]

For each project size it seeds the TestRail emulator, migrates into an empty TestFiesta emulator
(in-process, so time is the product's own work plus the emulators'), and prints per entity kind
the requests spent against the minimum the APIs allow, then the TestRail rate-limit budget the
run would use on Cloud (180 requests/minute), the wall time and the peak Python memory.
A second run over the same state shows the cost of an idempotent re-run.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import tempfile
import time
import tracemalloc
from pathlib import Path

import httpx

from core.config import load_config
from core.migrate import CASE_BATCH, CASE_BATCH_BYTES, MigrationReport
from core.service import Service
from core.testrail.client import PAGE_SIZE
from emulators import testfiesta as testfiesta_emulator
from emulators import testrail as testrail_emulator

CLOUD_PER_MINUTE = 180
CONFIG = """
[testrail]
url = "http://testrail.bench"
user = "bench@example.com"
api_key_env = "BENCH_TESTRAIL_KEY"
requests_per_minute = 0
[testfiesta]
url = "http://testfiesta.bench"
handle = "bench"
token_env = "BENCH_TESTFIESTA_TOKEN"
requests_per_minute = 0
[[pair]]
testrail_project = "Bench Project"
testfiesta_project = "BENCH"
"""


def minimum(kind: str, report: MigrationReport, suites: int) -> int:
    """Fewest requests the public APIs allow for ``kind`` on an empty TestFiesta."""
    count = report.kinds[kind]
    if kind == "project":  # find project, 4 metadata reads, suites; list + create; priorities
        return 1 + 4 + 1 + 2 + 1
    if kind in ("fields", "templates"):  # list (a new project may have defaults) + one
        # create each (no bulk endpoint)
        return 1 + count.testrail
    if kind == "folders":  # root lookup, sections per suite, one create per folder (bulk
        # cannot nest), read-back
        return 1 + suites + count.testrail + 1
    if kind == "tags":  # list + one create per type (no bulk endpoint)
        return 1 + count.created
    if kind == "cases":  # case pages + batches of creates + read-back pages
        return (
            math.ceil(count.testrail / PAGE_SIZE)
            + math.ceil(count.testrail / CASE_BATCH)
            + math.ceil(count.testrail / PAGE_SIZE)
        )
    return 0


async def run_once(config_path: Path, state_dir: Path, tr_app, tf_app) -> MigrationReport:  # type: ignore[no-untyped-def]
    service = Service(
        load_config(config_path),
        state_dir=state_dir,
        testrail_transport=httpx.ASGITransport(tr_app),
        testfiesta_transport=httpx.ASGITransport(tf_app),
    )
    async with service:
        return (await service.migrate())[0]


def bench(cases: int, suite_mode: int) -> None:
    os.environ["BENCH_TESTRAIL_KEY"] = "bench-key"
    os.environ["BENCH_TESTFIESTA_TOKEN"] = "testfiesta_bench"
    state = testrail_emulator.TestRailState()
    testrail_emulator.generate(
        state, cases=cases, seed=11, suite_mode=suite_mode, project_name="Bench Project"
    )
    suites = 3 if suite_mode == 3 else 1
    tr_app = testrail_emulator.create_app(state, user="bench@example.com", api_key="bench-key")
    tf_app = testfiesta_emulator.create_app(handle="bench", token="testfiesta_bench")
    with tempfile.TemporaryDirectory() as work:
        config = Path(work) / "bench.toml"
        config.write_text(CONFIG, encoding="utf-8")
        tracemalloc.start()
        started = time.perf_counter()
        first = asyncio.run(run_once(config, Path(work) / "state", tr_app, tf_app))
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        started = time.perf_counter()
        second = asyncio.run(run_once(config, Path(work) / "state", tr_app, tf_app))
        rerun = time.perf_counter() - started

    print(f"\n{cases} cases, suite mode {suite_mode}")
    print(f"{'kind':<10}{'records':>9}{'requests':>10}{'minimum':>9}{'re-run':>8}")
    for kind, count in first.kinds.items():
        print(
            f"{kind:<10}{count.testrail:>9}{count.requests:>10}"
            f"{minimum(kind, first, suites):>9}{second.kinds[kind].requests:>8}"
        )
    testrail_requests = first.requests["testrail"]
    print(
        f"requests: TestRail {testrail_requests}, TestFiesta {first.requests['testfiesta']}; "
        f"re-run: TestRail {second.requests['testrail']}, "
        f"TestFiesta {second.requests['testfiesta']}"
    )
    print(
        f"TestRail Cloud budget: {testrail_requests / CLOUD_PER_MINUTE:.2f} min of "
        f"{CLOUD_PER_MINUTE}/min; time {elapsed:.2f} s (re-run {rerun:.2f} s); "
        f"peak Python memory {peak / 1e6:.1f} MB"
    )
    print(
        "minimum for cases counts batches of CASE_BATCH; the product also caps a batch at "
        f"{CASE_BATCH_BYTES // 1000} KB of JSON (TestFiesta answers 413 above ~100 KB)"
    )
    assert first.complete and second.complete


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, nargs="+", default=[100, 600, 2000])
    parser.add_argument("--suite-mode", type=int, default=1, choices=(1, 3))
    args = parser.parse_args()
    for cases in args.cases:
        bench(cases, args.suite_mode)


if __name__ == "__main__":
    main()
