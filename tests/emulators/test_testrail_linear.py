"""The TestRail emulator stays linear in the data it holds (issue 7): seeding, paging cases,
a run's counters and a test's results read through indexes, never the whole table.

Pinned without timing: the tables are swapped for :class:`Watched` dicts that count full
scans (``values()``, ``items()``, iteration) and rows fetched by id. Before the indexes every
page of ``get_cases`` scanned every case, ``add_case`` scanned them on a section's first case,
and ``get_run`` counted over every test of the instance.
"""

from __future__ import annotations

from collections.abc import ItemsView, Iterator, ValuesView
from typing import Any

import httpx
import pytest

from emulators.testrail import TestRailState, create_app, generate, ops, runs

USER, KEY = "qa@example.com", "secret-key"
API = "/index.php?/api/v2/"


class Watched(dict[int, Any]):
    """A table that counts full scans and rows read by id (``get``, ``[]``)."""

    scans = 0
    reads = 0

    def values(self) -> ValuesView[Any]:
        self.scans += 1
        return super().values()

    def items(self) -> ItemsView[int, Any]:
        self.scans += 1
        return super().items()

    def __iter__(self) -> Iterator[int]:
        self.scans += 1
        return super().__iter__()

    def get(self, key: int, default: Any = None) -> Any:
        self.reads += 1
        return super().get(key, default)

    def __getitem__(self, key: int) -> Any:
        self.reads += 1
        return super().__getitem__(key)

    def reset(self) -> None:
        self.scans = self.reads = 0


def watch(state: TestRailState, table: str) -> Watched:
    watched = Watched(getattr(state, table))
    setattr(state, table, watched)
    return watched


@pytest.fixture
def state() -> TestRailState:
    """A generated 120-case project (id 1, suite 1) and a run over 40 of its cases with a
    result on each of its first 10 tests."""
    state = TestRailState()
    ops.add_user(state, email=USER, api_key=KEY)
    generate(state, cases=120, seed=5, project_name="Linear")
    with state.lock:
        case_ids = sorted(state.cases)[:40]
        run = runs.add_run(
            state, 1, {"name": "Linear run", "include_all": False, "case_ids": case_ids}, 1
        )
        tests = [t["id"] for t in state.tests.values() if t["run_id"] == run["id"]]
        runs.add_results(
            state, run["id"], {"results": [{"test_id": t, "status_id": 1} for t in tests[:10]]}, 1
        )
    return state


async def get(state: TestRailState, path: str) -> Any:
    app = create_app(state, user=USER, api_key=KEY)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://tr.test", auth=(USER, KEY)
    ) as client:
        response = await client.get(API + path)
        assert response.status_code == 200, response.text
        return response.json()


async def test_paging_cases_filters_and_sorts_them_once() -> None:
    state = TestRailState()
    ops.add_user(state, email=USER, api_key=KEY)
    generate(state, cases=120, seed=5, project_name="Linear")
    cases = watch(state, "cases")
    seen: list[int] = []
    for offset in range(0, 120, 25):
        page = await get(state, f"get_cases/1&limit=25&offset={offset}")
        seen += [c["id"] for c in page["cases"]]
    assert len(seen) == 120 and sorted(seen) == sorted(dict.keys(cases))
    assert cases.scans == 0  # the suite index, never the table
    assert cases.reads == 120  # each case looked up once: by the first page, not by all five


async def test_a_section_read_touches_only_that_sections_cases(state: TestRailState) -> None:
    first = min(dict.values(state.cases), key=lambda c: c["id"])
    section = first["section_id"]
    mine = sorted(c["id"] for c in dict.values(state.cases) if c["section_id"] == section)
    cases = watch(state, "cases")
    page = await get(state, f"get_cases/1&section_id={section}")
    assert [c["id"] for c in page["cases"]] == mine
    assert cases.scans == 0 and cases.reads == len(mine)


async def test_a_run_and_its_results_cost_their_own_rows(state: TestRailState) -> None:
    run_id = max(state.runs)
    tests = watch(state, "tests")
    results = watch(state, "results")
    run = await get(state, f"get_run/{run_id}")
    assert (run["passed_count"], run["untested_count"]) == (10, 30)
    assert tests.scans == 0 and tests.reads == 40  # the run's 40 tests, none of the others
    tests.reset()
    page = await get(state, f"get_results_for_run/{run_id}")
    assert page["size"] == 10
    assert (tests.scans, results.scans) == (0, 0)
    assert results.reads == 10


def test_seeding_cases_never_scans_the_case_table() -> None:
    state = TestRailState()
    generate(state, cases=10, seed=5, project_name="Linear")
    cases = watch(state, "cases")
    sections = sorted(state.sections)
    with state.lock:
        for n in range(200):
            ops.add_case(state, sections[n % len(sections)], {"title": f"case {n}"}, None)
    assert cases.scans == 0
    per_section = {s: [c for c in dict.values(cases) if c["section_id"] == s] for s in sections}
    for rows in per_section.values():  # appended in order, one after the other
        orders = [c["display_order"] for c in sorted(rows, key=lambda c: c["id"])]
        assert orders == list(range(1, len(rows) + 1))
