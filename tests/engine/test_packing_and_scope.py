"""Requests packed across the applier's hand-offs (``Side.create(more=)``), creates never
sent after a lost answer handed again, and scoped observations (``Engine.run(scope=)``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from core.engine.cycle import Engine
from core.engine.reconcile import MIGRATE, PROPAGATE, TESTFIESTA, TESTRAIL, Settings
from core.engine.sides import LostAnswer, MemorySide
from core.errors import RailfiestaError
from core.store import StateStore


@pytest.fixture
def store(tmp_path: Path) -> Any:
    with StateStore(tmp_path / "state") as opened:
        yield opened


class PackingSide(MemorySide):
    """A TestFiesta side whose requests hold ``per_request`` cases: with ``more`` it sends
    only full requests and returns a prefix. ``requests`` lists each request's titles;
    ``lose`` makes that request (counted from 1) land and lose its answer."""

    def __init__(self, per_request: int, lose: int = 0) -> None:
        super().__init__("testfiesta", "tf")
        self.per_request = per_request
        self.requests: list[list[str]] = []
        self.lose = lose

    async def create(
        self, kind: str, items: Sequence[tuple[Mapping[str, Any], str]], *, more: bool = False
    ) -> list[str | RailfiestaError]:
        if kind != "case":
            return await super().create(kind, items)
        keys: list[str | RailfiestaError] = []
        chunks = [items[i : i + self.per_request] for i in range(0, len(items), self.per_request)]
        if more and len(chunks) > 1 and len(chunks[-1]) < self.per_request:
            chunks.pop()  # an open request at the end: it comes again with what follows
        for chunk in chunks:
            self.requests.append([str(values["title"]) for values, _ in chunk])
            keys += await super().create(kind, chunk)
            if len(self.requests) == self.lose:
                raise LostAnswer("the answer to a request of cases was lost")
        return keys


def _project(cases: int) -> MemorySide:
    tr = MemorySide("testrail", "tr")
    root = tr.add("folder", {"name": "Root"})
    for n in range(cases):
        tr.add("case", {"title": f"Case {n:02}", "folder": root})
    return tr


async def test_requests_stay_full_across_hand_offs(store: StateStore) -> None:
    # 25 cases handed 10 at a time to a side that sends 4 a request: 6 full requests and the
    # last one of 1, not 3 per hand-off (12 and a half-empty request after each)
    tr, tf = _project(25), PackingSide(per_request=4)
    engine = Engine(store, tr, tf, batch_sizes={(TESTFIESTA, "case"): 10})
    report = await engine.run(Settings(mode=MIGRATE), full=True)
    assert report.applied is not None and report.applied.failed == []
    assert [len(r) for r in tf.requests] == [4, 4, 4, 4, 4, 4, 1]
    titles = [t for r in tf.requests for t in r]
    assert titles == [f"Case {n:02}" for n in range(25)]
    assert report.applied.done == {"create testfiesta folder": 1, "create testfiesta case": 25}
    assert len(list(store.links("tr:case:"))) == 25
    assert store.family("journal") == []


async def test_creates_after_a_lost_answer_are_handed_again_not_failed(
    store: StateStore,
) -> None:
    # the second request's answer is lost: its cases are found by lookup; the ones of the
    # same hand-off it never sent come again with the next, and each case is sent once
    tr, tf = _project(10), PackingSide(per_request=3, lose=2)
    engine = Engine(store, tr, tf, batch_sizes={(TESTFIESTA, "case"): 10})
    report = await engine.run(Settings(mode=MIGRATE), full=True)
    assert report.applied is not None and report.applied.failed == []
    assert [len(r) for r in tf.requests] == [3, 3, 3, 1]
    assert sorted(t for r in tf.requests for t in r) == [f"Case {n:02}" for n in range(10)]
    assert len(tf.live("case")) == 10
    assert len(list(store.links("tr:case:"))) == 10
    assert store.family("journal") == []


async def test_a_kind_left_out_of_the_scope_is_never_taken_as_deleted(
    store: StateStore,
) -> None:
    tr, tf = _project(3), MemorySide("testfiesta", "tf")
    engine = Engine(store, tr, tf)
    await engine.run(Settings(mode=MIGRATE), full=True)
    cursor = engine.cursor(TESTFIESTA)
    settings = Settings(delete_policy=PROPAGATE)
    # a full read of cases only on TestRail, nothing on TestFiesta: the folder, unread,
    # holds its base, and no TestFiesta record is read or changed
    writes = tf.writes
    report = await engine.run(
        settings, full=True, scope={TESTRAIL: {"case"}, TESTFIESTA: frozenset()}
    )
    assert report.plan.operations == []
    assert report.observed == {TESTRAIL: 3, TESTFIESTA: 0}
    assert tf.writes == writes
    assert engine.cursor(TESTFIESTA) == cursor
    # an edit on TestRail is still carried by a scoped cycle that reads it
    case = tr.live("case")[0]
    tr.edit(case.key, title="Renamed")
    report = await engine.run(settings, scope={TESTRAIL: {"case"}, TESTFIESTA: {"case"}})
    assert [(op.action, op.kind) for op in report.plan.operations] == [("update", "case")]
    copy = store.linked(case.key)
    assert copy is not None and tf.record(copy).values["title"] == "Renamed"
    assert len(tf.live("folder")) == 1
