"""A migration's cycle in parts (``Engine.run(chunk=)``): what it holds at once is bounded by
the part's size, and it does what one plan does, request for request, crash for crash."""

from __future__ import annotations

import gc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from core.engine.apply import Crash
from core.engine.cycle import Engine
from core.engine.plan import Operation
from core.engine.reconcile import MIGRATE, TESTFIESTA, Settings
from core.engine.sides import MemorySide
from core.errors import RailfiestaError
from core.model import Record
from core.store import StateStore

#: cases a request holds on the packing side, and the applier's batch
BATCH = 3


@dataclass
class PackingSide(MemorySide):
    """A TestFiesta-like side: cases go in requests of :data:`BATCH`; with ``more`` only the
    requests they fill are sent (a prefix comes back). ``requests`` counts them;
    ``held`` notes, at every case request, the TestRail case records and case operations
    alive in the process (:func:`alive`) and the cases created before it."""

    requests: int = 0
    held: list[tuple[int, int, int]] | None = None

    async def create(
        self, kind: str, items: Sequence[tuple[Mapping[str, Any], str]], *, more: bool = False
    ) -> list[str | RailfiestaError]:
        if kind != "case":
            self.requests += 1
            return await super().create(kind, items, more=more)
        if self.held is not None:
            self.held.append((*alive(), sum(1 for r in self.rows.values() if r.kind == "case")))
        full = len(items) // BATCH * BATCH
        sent = items[:full] if more and full else items
        self.requests += -(-len(sent) // BATCH)
        return await super().create(kind, sent)


def alive() -> tuple[int, int]:
    """(TestRail case records, case operations) the process holds now."""
    gc.collect()
    objects = gc.get_objects()
    records = sum(1 for o in objects if type(o) is Record and o.key.startswith("tr:case:"))
    operations = sum(1 for o in objects if type(o) is Operation and o.kind == "case")
    return records, operations


def project(cases: int) -> tuple[MemorySide, PackingSide]:
    """A TestRail project of nested folders (a case in a deeper folder is created after the
    shallower ones', as one plan orders them), ``cases`` cases spread over them and the
    history of every fourth case (created after the cases, deeper ones' later)."""
    tr, tf = MemorySide("testrail", "tr"), PackingSide("testfiesta", "tf")
    root = tr.add("folder", {"name": "Root"})
    sub = tr.add("folder", {"name": "Sub", "parent": root})
    deeper = tr.add("folder", {"name": "Deeper", "parent": sub})
    folders = [deeper, root, sub]
    for n in range(cases):
        case = tr.add("case", {"title": f"Case {n}", "folder": folders[n % 3], "refs": f"R-{n}"})
        if n % 4 == 1:  # a record of a later kind, created below its case
            tr.add("case_history", {"case": case, "text": f"edited {n}"})
    return tr, tf


def rows(side: MemorySide) -> list[tuple[str, str, dict[str, Any], str | None]]:
    return [(key, row.kind, row.values, row.origin) for key, row in side.rows.items()]


async def migrate(
    tmp_path: Path, name: str, tr: MemorySide, tf: PackingSide, chunk: int | None
) -> tuple[list[tuple[str, int, int]], list[list[str]], Any]:
    progress: list[tuple[str, int, int]] = []
    handed: list[list[str]] = []
    with StateStore(tmp_path / name) as store:
        engine = Engine(store, tr, tf, batch_sizes={(TESTFIESTA, "case"): BATCH})
        report = await engine.run(
            Settings(mode=MIGRATE),
            full=True,
            on_progress=lambda kind, done, total: progress.append((kind, done, total)),
            chunk=chunk,
            on_chunk=lambda records: handed.append([r.key for r in records]),
        )
        bases = sorted((b["testrail"], b["testfiesta"]) for b in store.bases("case"))
    return progress, handed, (report.applied, bases, len(report.plan.conflicts))


async def test_a_migration_in_parts_holds_at_most_a_part_of_cases_at_once(
    tmp_path: Path,
) -> None:
    tr, tf = project(40)
    tf.held = []
    _, handed, (applied, bases, _) = await migrate(tmp_path, "parts", tr, tf, chunk=10)
    assert applied.done == {
        "create testfiesta folder": 3,
        "create testfiesta case": 40,
        "create testfiesta case_history": 10,
    }
    assert len(bases) == 40
    assert [len(keys) for keys in handed] == [10, 10, 10, 10]
    # at every case request: the operations of the part being applied and the creates of
    # the part before that did not fill a request (fewer than BATCH); TestRail's records of
    # the parts that landed are let go (the observation held them all)
    assert tf.held is not None and len(tf.held) == 14
    assert max(operations for _, operations, _ in tf.held) <= 10 + BATCH - 1
    for records, _, created in tf.held:
        assert records <= 40 - 10 * (created // 10)
    assert [records for records, _, _ in tf.held] == [40] * 3 + [30] * 3 + [20] * 4 + [10] * 4
    # one plan holds every case record and operation to its last request
    whole_tr, whole_tf = project(40)
    whole_tf.held = []
    await migrate(tmp_path, "whole", whole_tr, whole_tf, chunk=None)
    assert whole_tf.held is not None
    assert {(records, operations) for records, operations, _ in whole_tf.held} == {(40, 40)}


@pytest.mark.parametrize("chunk", [1, 4, 6, 7, 40])
async def test_a_migration_in_parts_does_what_one_plan_does(tmp_path: Path, chunk: int) -> None:
    tr, tf = project(20)
    progress, handed, outcome = await migrate(tmp_path, "parts", tr, tf, chunk=chunk)
    one_tr, one_tf = project(20)
    one_progress, _, one_outcome = await migrate(tmp_path, "one", one_tr, one_tf, chunk=None)
    # the same records in the same order (keys are creation order), the same requests
    assert rows(tf) == rows(one_tf)
    # 3 folders, 20 cases in 7 requests, the history of 5 cases
    assert tf.requests == one_tf.requests == 3 + 7 + 5
    assert outcome == one_outcome
    # one count for the whole cycle: each case once, up to the total
    cases = [(done, total) for kind, done, total in progress if kind == "case"]
    assert cases[0] == (0, 20) and cases[-1] == (20, 20)
    assert [d for d, _ in cases] == sorted(d for d, _ in cases)
    if chunk < 20:
        assert sorted(k for keys in handed for k in keys) == sorted(r.key for r in tr.live("case"))
    else:
        assert progress == one_progress and handed == []


@pytest.mark.parametrize("crash_at", [1, 7, 13, 20, 33, 47, 60])
async def test_a_crash_in_a_migration_in_parts_copies_each_case_once(
    tmp_path: Path, crash_at: int
) -> None:
    tr, tf = project(20)
    steps: list[str] = []

    def hook(step: str, op: Operation) -> None:
        steps.append(step)
        if len(steps) == crash_at:
            raise Crash()

    sizes = {(TESTFIESTA, "case"): BATCH}
    with StateStore(tmp_path / "state") as store:
        with pytest.raises(Crash):
            await Engine(store, tr, tf, batch_sizes=sizes, on_step=hook).run(
                Settings(mode=MIGRATE), full=True, chunk=4
            )
        report = await Engine(store, tr, tf, batch_sizes=sizes).run(
            Settings(mode=MIGRATE), full=True, chunk=4
        )
        assert report.applied is not None and report.applied.failed == []
        copies = [r.origin for r in tf.live("case")]
        assert sorted(copies) == sorted(r.key for r in tr.live("case"))  # once each
        assert len(list(store.bases("case"))) == 20
        assert store.family("journal") == []
        quiet = await Engine(store, tr, tf, batch_sizes=sizes).run(
            Settings(mode=MIGRATE), full=True, chunk=4
        )
        assert quiet.applied is not None and quiet.applied.writes == 0
