"""A TestRail result's elapsed time, version, defects, result fields and step results reach
TestFiesta: at the end of the result's comment (v1 has no fields for them), and the newest
result's step statuses on the execution's steps; get_result_fields is read once per
migration, and what is copied already costs nothing the second time."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.model import key_id
from core.testfiesta.results import details_values, split_details
from core.testrail.catalog import TestRailCatalog
from core.testrail.client import TestRailClient
from core.testrail.side import TestRailContext, TestRailSide
from emulators.testrail import runs
from emulators.testrail.store import DROPDOWN, TEMPLATE_STEPS
from tests.helpers import API_KEY, TESTRAIL_URL, Emulated, emulate


class Recorder(httpx.AsyncBaseTransport):
    """Passes requests through and keeps ``"<method> <path>?<query>"`` of each, and the
    ``steps`` of each execution PATCH."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.seen: list[str] = []
        self.step_patches: list[list[dict[str, Any]]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(f"{request.method} {request.url.path}?{request.url.query.decode()}")
        if request.method == "PATCH" and "/executions/" in request.url.path:
            steps = json.loads(request.content).get("steps")
            if steps:
                self.step_patches.append(steps)
        return await self.inner.handle_async_request(request)

    def count(self, text: str) -> int:
        return sum(1 for s in self.seen if text in s)


STEPS = [
    {"content": "Open the cart", "expected": "Cart shows 2 items"},
    {"content": "Pay with the test card", "expected": "Payment accepted"},
    {"content": "Open the receipt", "expected": "Receipt e-mailed"},
]

EXPECTED_BLOCK = "\n".join(
    [
        "— TestRail result details —",
        "Elapsed: 1m 30s",
        "Version: 2.4.1",
        "Defects: BUG-12, BUG-13",
        "Environment: Live",
        "Step 1 (Passed): Cart shows 2 items",
        "Step 2 (Failed): Zahlung abgelehnt — 402",
        "Step 3 (Blocked):",
    ]
)


class DetailsPair:
    """A TestRail project whose run over two cases (one with three steps) has results with
    details; ``custom_environment`` is a dropdown whose item 2 is "Canary" in another
    project's context and "Live" in this one's."""

    def __init__(self, env: Emulated) -> None:
        self.env = env
        self.tr = env.testrail_state
        self.tf = env.testfiesta.state.testfiesta
        with self.tr.lock:
            project = next(iter(self.tr.projects.values()))
            field = self.tr.add_field_row(
                self.tr.result_fields,
                "result_field",
                name="environment",
                label="Environment",
                type_id=DROPDOWN,
                include_all=True,
                options={"is_required": False, "items": "1, Staging\n2, Canary"},
                project_ids=[project["id"] + 100],
            )
            field["configs"].append(
                {
                    "id": "6f0e0c56-0000-4000-8000-000000000002",
                    "context": {"is_global": False, "project_ids": [project["id"]]},
                    "options": {"is_required": False, "items": "1, Staging\n2, Live"},
                }
            )
            self.cases = sorted(self.tr.cases)[:2]
            stepped = self.tr.cases[self.cases[0]]
            stepped["template_id"] = TEMPLATE_STEPS
            stepped["custom"]["custom_steps_separated"] = [dict(s) for s in STEPS]
            self.run = runs.add_run(
                self.tr,
                project["id"],
                {
                    "suite_id": stepped["suite_id"],
                    "name": "Checkout regression",
                    "include_all": False,
                    "case_ids": self.cases,
                },
                1,
            )
            self.test = next(
                t["id"]
                for t in self.tr.tests.values()
                if t["run_id"] == self.run["id"] and t["case_id"] == self.cases[0]
            )

    def tr_result(self, status_id: int, step_statuses: list[int], **more: Any) -> None:
        actuals = ["Cart shows 2 items", "Zahlung abgelehnt — 402", ""]
        steps = [
            {**step, "actual": actual, "status_id": status}
            for step, actual, status in zip(STEPS, actuals, step_statuses, strict=True)
        ]
        body = {"status_id": status_id, "custom_step_results": steps, **more}
        with self.tr.lock:
            runs.add_result(self.tr, self.test, body, 1)

    def execution(self) -> dict[str, Any]:
        run = next(r for r in self.tf.db.runs.values() if r["name"] == "Checkout regression")
        case = next(
            c["uid"]
            for c in self.tf.db.cases.values()
            if str(c.get("externalId") or "").endswith(f"/case/{self.cases[0]}")
        )
        return next(
            e
            for e in self.tf.db.executions.values()
            if e["testRunUid"] == run["uid"] and e["testCaseUid"] == case
        )

    def comments(self) -> list[str]:
        uid = self.execution()["uid"]
        rows = [r for r in self.tf.db.results.values() if r["executionUid"] == uid]
        return [str(r["comment"]) for r in sorted(rows, key=lambda r: r["uid"])]

    def step_statuses(self) -> list[str | None]:
        names = {s.uid: s.name for s in self.tf.execution_statuses}
        steps = sorted(self.execution()["steps"], key=lambda s: s["position"])
        return [names.get(s.get("status")) for s in steps]

    async def migrate(self) -> tuple[Recorder, Recorder]:
        testrail = Recorder(httpx.ASGITransport(self.env.testrail))
        testfiesta = Recorder(httpx.ASGITransport(self.env.testfiesta))
        async with self.env.service(testrail, testfiesta) as service:
            [report] = await service.migrate()
        assert report.complete, report.warnings
        return testrail, testfiesta


@pytest.fixture
def pair(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DetailsPair:
    made = DetailsPair(emulate(tmp_path, monkeypatch, cases=12))
    made.tr_result(1, [1, 1, 1], comment="First pass")
    made.tr_result(
        5,
        [1, 5, 2],
        comment="Fails on Safari:\nthe button is hidden",
        elapsed="1m 30s",
        version="2.4.1",
        defects="BUG-12, BUG-13",
        custom_environment=2,
    )
    return made


async def test_the_details_end_the_comment_and_the_step_statuses_reach_the_execution(
    pair: DetailsPair,
) -> None:
    testrail, testfiesta = await pair.migrate()
    first, second = pair.comments()
    assert first.startswith("TestRail result #") and " · Passed · " in first
    assert first.endswith(
        "\n\nFirst pass\n\n— TestRail result details —\n"
        "Step 1 (Passed): Cart shows 2 items\nStep 2 (Passed): Zahlung abgelehnt — 402\n"
        "Step 3 (Passed):"
    )
    assert second.endswith("\n\nFails on Safari:\nthe button is hidden\n\n" + EXPECTED_BLOCK)
    # read back, the comment gives TestRail's comment and values again
    catalog = TestRailCatalog.build(1, [], [], [], [])
    catalog.project_id = int(next(iter(pair.tr.projects)))
    catalog.set_result_fields(pair.tr.result_fields.values())
    comment, entries = split_details(second.split("\n\n", 1)[1])
    assert comment == "Fails on Safari:\nthe button is hidden"
    assert details_values(entries, catalog.result_fields) == (
        {
            "elapsed": "1m 30s",
            "version": "2.4.1",
            "defects": "BUG-12, BUG-13",
            "field:custom_environment": "Live",
            "step_results": [
                {"status": "Passed", "actual": "Cart shows 2 items"},
                {"status": "Failed", "actual": "Zahlung abgelehnt — 402"},
                {"status": "Blocked"},
            ],
        },
        [],
    )
    # the newest result's step statuses, on the execution's three steps
    assert pair.step_statuses() == ["Passed", "Failed", "Blocked"]
    names = {s.uid: s.name for s in pair.tf.execution_statuses}
    names_uid = {name: uid for uid, name in names.items()}
    assert names[pair.execution()["status"]] == "Failed"
    assert testrail.count("api/v2/get_result_fields") == 1
    assert testfiesta.count("api/v2/add_results/") == 1
    assert [[s["status"] for s in steps] for steps in testfiesta.step_patches] == [
        [names_uid["Passed"], names_uid["Failed"], names_uid["Blocked"]]
    ]

    testrail, testfiesta = await pair.migrate()
    assert testfiesta.count("api/v2/add_result") == 0
    assert testfiesta.step_patches == []
    assert pair.comments() == [first, second]
    assert testrail.count("api/v2/get_result_fields") == 1


async def test_step_statuses_already_on_the_execution_cost_no_request(
    pair: DetailsPair,
) -> None:
    await pair.migrate()
    pair.tr_result(5, [1, 5, 2], comment="Still failing")
    async with pair.env.service(
        None, testfiesta := Recorder(httpx.ASGITransport(pair.env.testfiesta))
    ) as service:
        [report] = await service.sync()
    assert report.writes == 1
    assert pair.comments()[-1].endswith("Still failing\n\n" + EXPECTED_BLOCK.replace(
        "Elapsed: 1m 30s\nVersion: 2.4.1\nDefects: BUG-12, BUG-13\nEnvironment: Live\n", ""
    ))  # fmt: skip
    assert testfiesta.step_patches == []
    pair.tr_result(1, [1, 1, 1], comment="Fixed")
    async with pair.env.service(
        None, testfiesta := Recorder(httpx.ASGITransport(pair.env.testfiesta))
    ) as service:
        [report] = await service.sync()
    assert len(testfiesta.step_patches) == 1
    # only the steps whose status changed are sent
    assert [s["position"] for s in testfiesta.step_patches[0]] == [1, 2]
    assert pair.step_statuses() == ["Passed", "Passed", "Passed"]


async def test_a_testfiesta_result_s_details_go_to_testrail_s_own_result_fields(
    pair: DetailsPair,
) -> None:
    client = TestRailClient.connect(
        TESTRAIL_URL,
        "qa@example.com",
        API_KEY,
        requests_per_minute=0,
        transport=httpx.ASGITransport(pair.env.testrail),
    )
    project = next(iter(pair.tr.projects.values()))
    side = TestRailSide(
        client, TestRailContext(project, [], TestRailCatalog.build(project["id"], [], [], [], []))
    )
    comment = (
        "Checked on the phone ✅\n\n— TestRail result details —\nElapsed: 2m 5s\n"
        "Version: 2.5.0\nDefects: BUG-20, BUG-21\nEnvironment: Live\n"
        "Step 1 (Passed): ok\nReviewer: Ana"
    )
    values = {"test": f"tr:test:{pair.test}", "status": "Failed", "comment": comment}
    try:
        [key] = await side.create("result", [(values, "tf:result:77")])
    finally:
        await client.aclose()
    assert isinstance(key, str)
    with pair.tr.lock:
        row = runs.render_result(pair.tr, pair.tr.results[int(key_id(key))])
    assert (row["status_id"], row["elapsed"], row["version"], row["defects"]) == (
        5,
        "2m 5s",
        "2.5.0",
        "BUG-20, BUG-21",
    )
    assert row["custom_environment"] == 2  # "Live" in this project's context
    # what TestRail has no field of its own for stays in the comment
    assert row["comment"] == (
        "Checked on the phone ✅\n\n— TestRail result details —\nStep 1 (Passed): ok\nReviewer: Ana"
    )


async def test_a_step_result_past_the_execution_s_last_step_is_added_as_a_step(
    pair: DetailsPair,
) -> None:
    await pair.migrate()
    steps = [
        {**step, "actual": "ok", "status_id": 1} for step in STEPS
    ] + [{"content": "Log out", "expected": "Signed out", "actual": "Still signed in",
          "status_id": 5}]  # fmt: skip
    with pair.tr.lock:
        runs.add_result(pair.tr, pair.test, {"status_id": 5, "custom_step_results": steps}, 1)
    testfiesta = Recorder(httpx.ASGITransport(pair.env.testfiesta))
    async with pair.env.service(None, testfiesta) as service:
        [report] = await service.sync()
    assert report.writes == 1
    names = {s.uid: s.name for s in pair.tf.execution_statuses}
    uid = {name: uid for uid, name in names.items()}
    [patch] = testfiesta.step_patches
    assert [(s.get("uid") is not None, s["position"], s["status"]) for s in patch] == [
        (True, 1, uid["Passed"]),
        (True, 2, uid["Passed"]),
        (False, 3, uid["Failed"]),
    ]
    assert patch[-1]["description"] == "Log out" and patch[-1]["expectedResult"] == "Signed out"
    assert pair.step_statuses() == ["Passed", "Passed", "Passed", "Failed"]
    assert pair.comments()[-1].endswith(
        "— TestRail result details —\nStep 1 (Passed): ok\nStep 2 (Passed): ok\n"
        "Step 3 (Passed): ok\nStep 4 (Failed): Still signed in"
    )


async def test_a_result_field_added_during_a_sync_is_read_again_once(pair: DetailsPair) -> None:
    await pair.migrate()
    testrail = Recorder(httpx.ASGITransport(pair.env.testrail))
    async with pair.env.service(testrail, None) as service:
        pair.tr_result(1, [1, 1, 1], comment="Green again")
        await service.sync()
        assert testrail.count("api/v2/get_result_fields") == 1
        with pair.tr.lock:
            pair.tr.add_field_row(
                pair.tr.result_fields,
                "result_field",
                name="build",
                label="Build",
                type_id=1,
                include_all=True,
            )
        pair.tr_result(1, [1, 1, 1], comment="On the new build", custom_build="1433")
        await service.sync()
        assert testrail.count("api/v2/get_result_fields") == 2
        assert pair.comments()[-1].endswith(
            "On the new build\n\n— TestRail result details —\nBuild: 1433\n"
            "Step 1 (Passed): Cart shows 2 items\nStep 2 (Passed): Zahlung abgelehnt — 402\n"
            "Step 3 (Passed):"
        )
        pair.tr_result(1, [1, 1, 1], comment="Still green", custom_build="1434")
        await service.sync()
        assert testrail.count("api/v2/get_result_fields") == 2
    assert (
        pair.comments()[-1]
        .split("\n\n", 1)[1]
        .startswith("Still green\n\n— TestRail result details —\nBuild: 1434\n")
    )


async def test_step_statuses_nothing_maps_are_one_warning_for_all_their_steps(
    pair: DetailsPair,
) -> None:
    """The newest result's three steps are Blocked, and Blocked maps to a name TestFiesta
    lacks: one warning names the three steps (was one line per step)."""
    pair.tr_result(5, [2, 2, 2], comment="Blocked all the way")
    pair.env.config_path.write_text(
        pair.env.config_path.read_text() + '\n[mapping.status]\nBlocked = "Gesperrt"\n'
    )
    async with pair.env.service() as service:
        [report] = await service.migrate()
    uid = pair.execution()["uid"]
    steps = [w for w in report.warnings if "step" in w and "Gesperrt" in w]
    assert steps == [
        f"3 steps (execution {uid}, step 1; execution {uid}, step 2; execution {uid}, step 3): "
        "TestRail status 'Blocked' has no TestFiesta status named 'Gesperrt'; it is not "
        "replaced by another one (change its [mapping.status] line to one of TestFiesta's "
        "statuses: Blocked, Failed, Passed, Retest, Skipped, Untested)"
    ]
    assert pair.step_statuses() == [None, None, None]
