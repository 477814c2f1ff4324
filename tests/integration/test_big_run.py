"""A run of 700 tests with 36 results each (issue 7): every result arrives, in order, through
paged reads (``get_results_for_run`` pages of 250) and the shim's bulk ``add_results``.

The suite runs 70 tests x 36 results (2,520 results: still 11 pages and 11 bulk writes);
``RAILFIESTA_BIG_RUN_TESTS=700`` runs the issue's full size (25,200 results; about 3 minutes of
CPU, most of it the journal's state-store writes).
"""

from __future__ import annotations

import math
import os
import re
from collections import defaultdict
from pathlib import Path

import httpx
import pytest

from emulators.testrail import runs
from tests.helpers import emulate
from tests.integration.test_sync import CountingTransport

TESTS = int(os.environ.get("RAILFIESTA_BIG_RUN_TESTS", "70"))
RESULTS_EACH = 36
STATUSES = (1, 5, 2, 4)  # Passed, Failed, Blocked, Retest


async def test_a_run_of_many_tests_with_36_results_each_arrives_in_order_in_bulk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = emulate(tmp_path, monkeypatch, cases=TESTS)
    state = env.testrail_state
    with state.lock:
        project = next(iter(state.projects.values()))
        cases = sorted(state.cases)
        assert len(cases) == TESTS
        run = runs.add_run(
            state,
            project["id"],
            {"suite_id": state.cases[cases[0]]["suite_id"], "name": "Soak", "include_all": True},
            1,
        )
        tests = sorted(t["id"] for t in state.tests.values() if t["run_id"] == run["id"])
        for n in range(RESULTS_EACH):
            runs.add_results(
                state,
                run["id"],
                {
                    "results": [
                        {"test_id": t, "status_id": STATUSES[(n + t) % 4], "comment": f"pass {n}"}
                        for t in tests
                    ]
                },
                1,
            )
    testfiesta = CountingTransport(httpx.ASGITransport(env.testfiesta))
    async with env.service(testfiesta_transport=testfiesta) as service:
        [report] = await service.migrate()
    assert report.complete, report.warnings
    assert report.kinds["results"].testrail == TESTS * RESULTS_EACH
    assert report.kinds["results"].created == TESTS * RESULTS_EACH

    tf = env.testfiesta.state.testfiesta
    comments: dict[int, list[str]] = defaultdict(list)
    for result in sorted(tf.db.results.values(), key=lambda r: r["uid"]):
        comments[result["executionUid"]].append(result["comment"])
    assert len(comments) == TESTS
    passes = [[int(re.findall(r"pass (\d+)$", c)[0]) for c in chain] for chain in comments.values()]
    assert all(chain == list(range(RESULTS_EACH)) for chain in passes)
    bulk = sum(1 for w in testfiesta.writes if "/add_results/" in w)
    single = sum(1 for w in testfiesta.writes if "/add_result/" in w)
    # at most 250 results per request (and 64 KB): 25,200 results take 101 requests at best
    assert single == 0
    least = math.ceil(TESTS * RESULTS_EACH / 250)
    assert least <= bulk <= math.ceil(least * 1.3)
