"""What the applier's progress counts: a kind's records, those written and those only linked.

A migration's follow-up pass pairs each TestRail test with the execution TestFiesta made for
its run and updates the executions whose status differs: on the demo (600 cases, seed 7)
1,290 tests, 657 of them written. The progress said ``tests 657/657`` while the migration
report counts 1,290 tests; a test only linked is done too.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from core.engine.apply import Applier, progress_totals
from core.engine.plan import LINK, UPDATE, plan
from core.engine.reconcile import TESTFIESTA, Link, Reconciliation, Update
from core.engine.sides import MemorySide
from core.store import StateStore


def test_a_kinds_progress_counts_its_linked_records_once_and_its_written_ones(
    tmp_path: Path,
) -> None:
    tf = MemorySide("testfiesta", "tf")
    keys = [tf.add("test", {"status": "Untested"}, None) for _ in range(3)]
    links = [Link("test", f"tr:test:{n}", key, {}, frozenset()) for n, key in enumerate(keys, 1)]
    # tests 1 and 3 have a status to write; test 2 is only linked
    updates = [
        Update("test", TESTFIESTA, f"tr:test:{n}", keys[n - 1], {"status": "Passed"}, {}, {})
        for n in (1, 3)
    ]
    planned = plan(Reconciliation(decisions=[*links, *updates]))
    assert [(op.action, op.pair) for op in planned.operations] == [
        (LINK, "tr:test:1"),
        (LINK, "tr:test:2"),
        (LINK, "tr:test:3"),
        (UPDATE, "tr:test:1"),
        (UPDATE, "tr:test:3"),
    ]
    assert progress_totals(planned.operations) == {"test": 3}
    progress: list[tuple[str, int, int]] = []
    with StateStore(tmp_path) as store:
        applier = Applier(store, {"testrail": MemorySide("testrail", "tr"), "testfiesta": tf})
        applier.on_progress = lambda kind, done, total: progress.append((kind, done, total))
        report = asyncio.run(applier.apply(planned))
    assert report.done == {"link test": 3, "update testfiesta test": 2}
    assert progress == [("test", 0, 3), ("test", 1, 3), ("test", 2, 3), ("test", 3, 3)]
    assert tf.writes == 2
