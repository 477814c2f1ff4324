"""A test's results land together and in order (``Kind.in_order_within``).

Found by the 600-case fault storm: a bulk result request lost to a fault was made again in the
next run, after the newer results of the same tests had landed, so TestFiesta's executions
showed an older result's status as their latest (147 of 1,000 tests differed from TestRail for
good, and a sync would have sent those statuses back as edits). The plan now keeps one test's
results together, the applier never splits them between two requests, and the TestFiesta
side never sends a test's newer results after an older one was refused.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from core.engine.apply import Applier
from core.engine.plan import CREATE, LINK, plan
from core.engine.reconcile import TESTFIESTA, Create, Link, Reconciliation
from core.engine.sides import MemorySide
from core.errors import ApiError, RailfiestaError
from core.store import StateStore


def result(ident: int, test: int, status: str) -> Create:
    return Create(
        "result",
        TESTFIESTA,
        f"tr:result:{ident}",
        {"test": f"tr:test:{test}", "status": status, "comment": f"result {ident}"},
    )


#: TestRail lists a run's results oldest first, so a test's results are interleaved with the
#: other tests' (601 test 1, 602 test 2, 701 test 1, ...)
RESULTS = [
    result(601, 1, "Passed"),
    result(602, 2, "Blocked"),
    result(603, 3, "Failed"),
    result(701, 1, "Failed"),
    result(702, 2, "Passed"),
    result(801, 1, "Retest"),
    result(703, 2, "Failed"),
]
LINKS = [Link("test", f"tr:test:{n}", f"tf:test:{n}", {}, frozenset()) for n in (1, 2, 3)]


def test_the_plan_puts_each_tests_results_together_in_their_listed_order() -> None:
    planned = plan(Reconciliation(decisions=[*RESULTS, *LINKS]))
    creates = [op.source for op in planned.operations if op.action == CREATE]
    assert creates == [
        "tr:result:601",
        "tr:result:701",
        "tr:result:801",
        "tr:result:602",
        "tr:result:702",
        "tr:result:703",
        "tr:result:603",
    ]
    assert [op.action for op in planned.operations[:3]] == [LINK, LINK, LINK]


class RecordingSide(MemorySide):
    """A TestFiesta side that records each create call's origins and refuses (HTTP 400,
    nothing written) the call holding ``refuse``."""

    def __init__(self, refuse: str | None = None) -> None:
        super().__init__("testfiesta", "tf")
        self.calls: list[list[str]] = []
        self.refuse = refuse

    async def create(
        self, kind: str, items: Sequence[tuple[Mapping[str, Any], str]], *, more: bool = False
    ) -> list[str | RailfiestaError]:
        origins = [origin for _, origin in items]
        self.calls.append(origins)
        if self.refuse in origins:
            raise ApiError("testfiesta", "add_results/1", 400, "refused")
        return await super().create(kind, items, more=more)


def apply_results(tmp_path: Path, side: RecordingSide, batch: int) -> Any:
    planned = plan(Reconciliation(decisions=[*RESULTS, *LINKS]))
    with StateStore(tmp_path) as store:
        applier = Applier(
            store,
            {"testrail": MemorySide("testrail", "tr"), "testfiesta": side},
            batch_sizes={("testfiesta", "result"): batch},
        )
        return asyncio.run(applier.apply(planned))


def test_a_batch_never_splits_one_tests_results(tmp_path: Path) -> None:
    side = RecordingSide()
    report = apply_results(tmp_path, side, batch=2)
    # test 1 has three results: over the size, they go alone and together; test 2's three
    # would not fit beside test 3's one, so test 3's goes on its own
    assert side.calls == [
        ["tr:result:601", "tr:result:701", "tr:result:801"],
        ["tr:result:602", "tr:result:702", "tr:result:703"],
        ["tr:result:603"],
    ]
    assert report.failed == []
    assert report.done == {"link test": 3, "create testfiesta result": 7}


def test_a_batch_ends_before_a_test_whose_results_would_not_fit(tmp_path: Path) -> None:
    side = RecordingSide()
    apply_results(tmp_path, side, batch=4)
    assert side.calls == [
        ["tr:result:601", "tr:result:701", "tr:result:801"],
        ["tr:result:602", "tr:result:702", "tr:result:703", "tr:result:603"],
    ]


def test_a_refused_request_leaves_no_result_of_its_tests_behind(tmp_path: Path) -> None:
    side = RecordingSide(refuse="tr:result:702")
    report = apply_results(tmp_path, side, batch=2)
    failed = sorted(str(op.source) for op, _ in report.failed)
    assert failed == ["tr:result:602", "tr:result:702", "tr:result:703"]
    landed = sorted(str(row.values["comment"]) for row in side.rows.values())
    assert landed == ["result 601", "result 603", "result 701", "result 801"]
