"""A fault storm: every fault both emulators can inject (:mod:`emulators.faults`), at 10 %,
seeded, while a project with runs and results is migrated and then edited on both sides and
synced, each run of ``migrate`` and ``sync --once`` simply started again when it fails (as cron
would). Once a run comes back clean and the faults stop, nothing is lost and nothing is
duplicated: every case title, folder, run and result exists exactly once on each side, every
case is linked both ways with the base equal to both sides, the journal is empty, and every
429/409 the clients waited for was one the emulators injected (see :mod:`tests.storm`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakeclock import run_on_fake_clock
from tests.helpers import emulate
from tests.storm import SHIFTS, Storm

CASES, RUNS, CASES_PER_RUN, RESULTS = 300, 3, 40, 30
EDITS, NEW = 20, 10


@pytest.mark.parametrize("seed", [1])
def test_a_fault_storm_loses_and_duplicates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    """The storm runs on :mod:`tests.fakeclock`'s virtual clock: a ``slow`` answer's wait
    and the client's read timeout (both ``asyncio`` timers) cost no real time, in the same
    order as on the wall clock (the answer comes later than the timeout)."""
    storm = Storm(emulate(tmp_path, monkeypatch, cases=CASES), rate=0.1, seed=seed)
    storm.add_runs(RUNS, CASES_PER_RUN, RESULTS)
    storm.faults(True)

    async def blow() -> tuple[int, int]:
        migrate_runs = await storm.until_clean("migrate")
        await storm.edit_both_sides(EDITS, NEW)
        sync_runs = await storm.until_clean("sync")
        storm.faults(False)
        await storm.until_clean("sync", limit=2)
        return migrate_runs, sync_runs

    (migrate_runs, sync_runs), loop = run_on_fake_clock(blow())
    tallies = storm.check()
    print(storm.story())
    print(dict(storm.injected), migrate_runs, sync_runs, storm.requests, storm.seconds, loop.now)
    wrong = {k: t for k, t in tallies.items() if t.duplicates or t.losses}
    assert wrong == {}, storm.story()
    assert tallies["case"].expected == CASES + 2 * NEW
    assert tallies["run"].expected == RUNS
    assert tallies["result"].expected == RUNS * RESULTS + 1
    assert tallies["status"].expected == 1
    # the storm really blew: most kinds hit at least once over both emulators, and rows
    # shifted both ways at least SHIFTS times (shifts wait for a paged read with an offset;
    # since a lost write answer no longer ends a run, fewer runs read fewer pages)
    assert len(storm.injected) >= 10, dict(storm.injected)
    assert storm.injected["page-insert"] >= SHIFTS and storm.injected["page-delete"] >= SHIFTS
