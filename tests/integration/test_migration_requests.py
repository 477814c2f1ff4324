"""The requests a migration makes, pinned per kind and endpoint (issue 7: the API minimum).

A tiny project of the medium shape (:data:`emulators.testrail.seed.MEDIUM` scaled to 60
cases: 4 sections, 60 cases, 1 run of 60 tests, 360 results, 1 plan, 2 milestones, 6 files,
2 shared steps) is migrated in-process; every request is counted under the stage it was
sent in (:func:`core.http.stage`) and its endpoint without ids. A change that reads a list
twice, re-observes what the first pass already read, or sends a batch half full shows here
as a changed count.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from core import http as core_http
from core.http import json_body_bytes
from core.migrate import MIGRATION_CHUNK
from core.testfiesta.side import CASE_BATCH, CASE_BATCH_BYTES
from emulators import testrail as testrail_emulator
from emulators.testrail.seed import MEDIUM, generate_shape
from tests.helpers import API_KEY, Emulated, emulate


class Counting(httpx.AsyncBaseTransport):
    """Forwards to ``inner`` and counts each request as ``"<stage> <side> <endpoint>"``."""

    def __init__(self, side: str, inner: httpx.AsyncBaseTransport, seen: Counter[str]) -> None:
        self.side, self.inner, self.seen = side, inner, seen

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        stage = core_http._current_stage.get()  # the stage the request is counted under
        path, query = request.url.path, request.url.query.decode()
        if path.endswith("/index.php"):  # TestRail's API v2, or TestFiesta's shim of it
            endpoint = query.split("/api/v2/", 1)[-1].split("/")[0].split("&")[0]
        else:  # /v1/<handle>/projects/<key>/cases: "GET projects/cases"
            parts = [p for p in path.split("/") if p and not p.isdigit()][2:]
            endpoint = f"{request.method} " + "/".join(p for p in parts if p != "ACME")
        self.seen[f"{stage} {self.side} {endpoint}"] += 1
        return await self.inner.handle_async_request(request)


def medium_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Emulated:
    emulated = emulate(tmp_path, monkeypatch, cases=1)
    state = testrail_emulator.TestRailState()
    generate_shape(state, MEDIUM.scaled(60), seed=11, project_name="Acme Web Shop")
    emulated.testrail = testrail_emulator.create_app(state, user="qa@example.com", api_key=API_KEY)
    emulated.testrail_state = state
    return emulated


def migrate_counting(emulated: Emulated) -> tuple[Counter[str], bool]:
    seen: Counter[str] = Counter()

    async def go() -> bool:
        service = emulated.service(
            Counting("TR", httpx.ASGITransport(emulated.testrail), seen),
            Counting("TF", httpx.ASGITransport(emulated.testfiesta), seen),
        )
        async with service:
            [report] = await service.migrate()
        return report.complete

    return seen, asyncio.run(go())


#: Per stage, side and endpoint, what migrating the 60-case project costs. The follow-up
#: pass (it pairs the run's executions with TestRail's tests) reads one executions list and
#: nothing else; every other list is read once for the copy and once back for the parity.
EXPECTED = {
    "attachments TF GET projects/cases": 1,
    "attachments TF POST projects/data": 1,
    "attachments TF POST projects/data/url": 6,
    "attachments TF PUT ": 6,
    "attachments TR get_attachment": 6,
    "attachments TR get_attachments_for_case": 60,
    "attachments TR get_attachments_for_plan": 1,
    "attachments TR get_attachments_for_plan_entry": 1,
    "attachments TR get_attachments_for_run": 1,
    "case history TF GET projects/customFields": 1,
    "case history TF POST projects/customFields": 1,
    "case history TF update_case": 41,
    "case history TR get_history_for_case": 41,
    "cases TF GET projects/cases": 1,
    "cases TF POST projects/cases": 1,
    "cases TR get_cases": 1,
    "configs TF get_configs": 1,
    "configs TR get_configs": 1,
    "fields TF GET projects/customFields": 1,
    "fields TF POST projects/customFields": 9,
    "folders TF GET projects/folders": 1,
    "folders TF POST projects/folders": 4,
    "folders TR get_sections": 1,
    "milestones TF GET projects/milestones": 1,
    "milestones TF POST projects/milestones": 2,
    "milestones TR get_milestones": 1,
    "plans TF GET projects/plans": 1,
    "plans TF POST projects/plans": 1,
    "plans TR get_plan": 1,
    "plans TR get_plans": 1,
    "project TF GET projects": 1,
    "project TF GET projects/folders": 1,
    "project TF POST projects": 1,
    "project TF get_priorities": 1,
    "project TR get_case_fields": 1,
    "project TR get_case_types": 1,
    "project TR get_priorities": 1,
    "project TR get_projects": 1,
    "project TR get_suites": 1,
    "project TR get_templates": 1,
    "results TF add_results": 2,
    "runs TF GET projects/executions": 2,
    "runs TF GET projects/runs": 1,
    "runs TF POST projects/runs": 1,
    "runs TF get_statuses": 1,
    "runs TR get_result_fields": 1,
    "runs TR get_results_for_run": 2,
    "runs TR get_runs": 1,
    "runs TR get_statuses": 1,
    "runs TR get_tests": 1,
    "runs TR get_users": 1,
    "shared steps TF GET projects/shared-steps": 1,
    "shared steps TR get_shared_steps": 1,
    "shared steps TF POST projects/shared-steps": 2,
    "tags TF GET tags": 1,
    "tags TF POST tags": 12,
    "templates TF GET projects/templates": 1,
    "templates TF POST projects/templates": 3,
    "tests TF PATCH projects/executions": 60,
}


@pytest.mark.parametrize("chunk", [MIGRATION_CHUNK, 7])
def test_a_small_migration_makes_exactly_these_requests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    # the first pass in parts (cases 7 at a time) sends what one plan sends
    monkeypatch.setattr("core.migrate.MIGRATION_CHUNK", chunk)
    seen, complete = migrate_counting(medium_project(tmp_path, monkeypatch))
    assert complete
    assert dict(sorted(seen.items())) == EXPECTED
    assert sum(n for k, n in seen.items() if " TR " in k) == 130
    assert sum(n for k, n in seen.items() if " TF " in k) == 171


#: A sync cycle right after the migration: everything listed once (the follow-up pass left
#: both sides' cursors where a whole read would have), nothing to write.
SYNC_AFTER = {
    "TF GET projects": 1,
    "TF GET projects/cases": 1,
    "TF GET projects/customFields": 1,
    "TF GET projects/executions": 1,
    "TF GET projects/folders": 2,
    "TF GET projects/milestones": 1,
    "TF GET projects/plans": 1,
    "TF GET projects/runs": 1,
    "TF GET projects/shared-steps": 1,
    "TF GET projects/templates": 1,
    "TF get_configs": 1,
    "TF get_priorities": 1,
    "TF get_statuses": 1,
    "TR get_case_fields": 1,
    "TR get_case_types": 1,
    "TR get_cases": 1,
    "TR get_configs": 1,
    "TR get_milestones": 1,
    "TR get_plan": 1,
    "TR get_plans": 1,
    "TR get_priorities": 1,
    "TR get_projects": 1,
    "TR get_result_fields": 1,
    "TR get_results_for_run": 1,
    "TR get_runs": 1,
    "TR get_sections": 1,
    "TR get_shared_steps": 1,
    "TR get_statuses": 1,
    "TR get_suites": 1,
    "TR get_templates": 1,
    "TR get_users": 1,
}


@pytest.mark.parametrize("chunk", [MIGRATION_CHUNK, 7])
def test_the_sync_after_a_migration_reads_each_list_once_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    monkeypatch.setattr("core.migrate.MIGRATION_CHUNK", chunk)
    emulated = medium_project(tmp_path, monkeypatch)
    _, complete = migrate_counting(emulated)
    assert complete
    seen: Counter[str] = Counter()

    async def go() -> Any:
        service = emulated.service(
            Counting("TR", httpx.ASGITransport(emulated.testrail), seen),
            Counting("TF", httpx.ASGITransport(emulated.testfiesta), seen),
        )
        async with service:
            [report] = await service.sync()
        return report

    report = asyncio.run(go())
    assert not report.full
    assert report.plan.operations == []
    # the stage (before the side's name) left out: a sync cycle counts under its own
    without_stage: Counter[str] = Counter()
    for key, n in seen.items():
        without_stage[re.sub(r"^.*? (TR|TF) ", r"\1 ", key)] += n
    assert dict(without_stage) == SYNC_AFTER


class CaseBodies(httpx.AsyncBaseTransport):
    """Forwards to ``inner`` and keeps the body of each ``POST .../cases`` as sent."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.bodies: list[bytes] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path.endswith("/cases"):
            self.bodies.append(request.content)
        return await self.inner.handle_async_request(request)


#: The byte cap the fill test runs under: :data:`CASE_BATCH_BYTES` lowered so that 60 cases
#: of the medium shape (about 790 bytes each, 47 KB in all) fill several requests, as 600
#: cases fill several under the real cap, in a tenth of the time.
TEST_CAP = 9_000


@pytest.mark.parametrize("chunk", [MIGRATION_CHUNK, 7])
def test_case_creates_are_filled_up_to_the_byte_cap_as_sent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    """60 cases of the medium shape under a byte cap of :data:`TEST_CAP` (the real
    :data:`CASE_BATCH_BYTES` patched where the side and the migration read it): every
    ``POST /cases`` body, measured on the wire, is within :data:`CASE_BATCH` cases and the
    cap, and each but the last is full: its next case would not have fitted (the sizes are
    httpx's compact JSON, so no batch is cut short by a measure that counts spaces never
    sent), also when the first pass sends its cases in parts of 7 (a part's last creates
    wait for the next part's)."""
    assert TEST_CAP < CASE_BATCH_BYTES
    monkeypatch.setattr("core.migrate.MIGRATION_CHUNK", chunk)
    monkeypatch.setattr("core.testfiesta.side.CASE_BATCH_BYTES", TEST_CAP)
    monkeypatch.setattr("core.migrate.CASE_BATCH_BYTES", TEST_CAP)
    emulated = emulate(tmp_path, monkeypatch, cases=1)
    state = testrail_emulator.TestRailState()
    generate_shape(state, MEDIUM.scaled(60), seed=11, project_name="Acme Web Shop")
    emulated.testrail = testrail_emulator.create_app(state, user="qa@example.com", api_key=API_KEY)
    recorder = CaseBodies(httpx.ASGITransport(emulated.testfiesta))

    async def go() -> bool:
        async with emulated.service(httpx.ASGITransport(emulated.testrail), recorder) as service:
            [report] = await service.migrate()
        return report.complete

    assert asyncio.run(go())
    batches = [json.loads(body) for body in recorder.bodies]
    assert sum(len(b) for b in batches) == 60
    assert len(batches) == 6  # 47,459 bytes of cases under a cap of 9,000
    assert all(len(b) <= CASE_BATCH for b in batches)
    assert all(len(body) <= TEST_CAP for body in recorder.bodies)
    for body, batch, after in zip(recorder.bodies, batches, batches[1:], strict=False):
        assert len(batch) == CASE_BATCH or len(body) + 1 + json_body_bytes(after[0]) > TEST_CAP
    total = sum(len(body) for body in recorder.bodies)
    assert len(batches) == math.ceil(total / TEST_CAP)
