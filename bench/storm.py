"""Benchmark: a fault storm over a bigger project, with the table issue 9 asks for.

    python bench/storm.py [--cases 5000] [--runs 100] [--tests 200] [--results 300]
                          [--rate 0.1] [--seed 1]

The same storm as ``tests/integration/test_fault_storm.py`` (:mod:`tests.storm`): both
emulators in-process with every fault kind they support at ``--rate`` (seeded); the generated
TestRail project (``--cases`` cases in its generated sections, ``--runs`` open runs of
``--tests`` tests with ``--results`` results each) is migrated by cron-like runs until one comes
back clean, then both sides are edited (50 title edits and 20 new cases each, a result, a
status) and ``sync --once`` runs until one comes back clean; the faults stop, one more cycle
runs, and both sides are compared. It prints the faults injected per kind, then one row: runs
until clean (migrate / sync), retries, duplicates and losses per kind, journal entries left,
requests per side and the wall time. Each run is reported on stderr as it ends.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

import pytest

from emulators.faults import KINDS
from tests.helpers import emulate
from tests.storm import Outcome, Storm


def _progress(outcome: Outcome) -> None:
    print(
        f"  {outcome.what} run ({outcome.seconds:.1f} s): {outcome.ended} {outcome.detail[:120]}",
        file=sys.stderr,
        flush=True,
    )


async def storm(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory() as work, pytest.MonkeyPatch.context() as monkeypatch:
        started = time.perf_counter()
        env = emulate(Path(work), monkeypatch, cases=args.cases)
        run = Storm(env, rate=args.rate, seed=args.seed, on_outcome=_progress)
        run.add_runs(args.runs, args.tests, args.results)
        seeded = time.perf_counter() - started
        with env.testrail_state.lock:
            sections = len(env.testrail_state.sections)
            results = len(env.testrail_state.results)
        print(
            f"Project: {args.cases} cases in {sections} sections, {args.runs} runs x "
            f"{args.tests} tests, {results} results (seeded in {seeded:.1f} s); faults at "
            f"{args.rate:.0%}, seed {args.seed}\n"
        )
        run.faults(True)
        migrate_runs = await run.until_clean("migrate", limit=args.limit)
        await run.edit_both_sides(50, 20)
        sync_runs = await run.until_clean("sync", limit=args.limit)
        run.faults(False)
        await run.until_clean("sync", limit=3)
        tallies = run.check()
        injected = run.injected
        print("| fault | injected |\n|---|---:|")
        for kind in KINDS:
            print(f"| {kind} | {injected[kind]} |")
        print(f"| **all** | {sum(injected.values())} |\n")
        duplicates = sum(t.duplicates for t in tallies.values())
        losses = sum(t.losses for t in tallies.values())
        per_kind = ", ".join(
            f"{k} {t.duplicates}/{t.losses}" for k, t in tallies.items() if k != "journal"
        )
        print(
            "| runs until clean (migrate / sync) | retries | duplicates | losses | journal "
            "left | requests TR / TF | time |\n|---|---:|---:|---:|---:|---|---:|"
        )
        print(
            f"| {migrate_runs} / {sync_runs} | {run.retries} | {duplicates} | {losses} | "
            f"{tallies['journal'].losses} | {run.requests['testrail']} / "
            f"{run.requests['testfiesta']} | {run.seconds:.0f} s |\n"
        )
        print(f"Duplicates/losses per kind: {per_kind}.")
        print(f"Expected records: {', '.join(f'{k} {t.expected}' for k, t in tallies.items())}.")
        print("\nRuns:\n" + run.story())
        return 0 if duplicates == losses == tallies["journal"].losses == 0 else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--tests", type=int, default=200)
    parser.add_argument("--results", type=int, default=300)
    parser.add_argument("--rate", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--limit", type=int, default=200, help="runs before giving up")
    args = parser.parse_args(argv)
    return asyncio.run(storm(args))


if __name__ == "__main__":
    sys.exit(main())
