"""Runs, tests and results through the engine: a TestRail run becomes a TestFiesta run whose
executions are paired with its tests, every result arrives oldest first with its author and
time, a result added in TestRail and a status set in TestFiesta in the same cycle both land,
each once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from core.store import StateStore
from emulators.testrail import runs
from tests.helpers import Emulated, emulate


class RunPair:
    """A pair whose TestRail project has one run over four cases, with results."""

    def __init__(self, env: Emulated) -> None:
        self.env = env
        self.tr = env.testrail_state
        self.tf = env.testfiesta.state.testfiesta
        with self.tr.lock:
            project = next(iter(self.tr.projects.values()))
            self.cases = sorted(self.tr.cases)[:4]
            suite = self.tr.cases[self.cases[0]]["suite_id"]
            self.run = runs.add_run(
                self.tr,
                project["id"],
                {
                    "suite_id": suite,
                    "name": "Release 2.4 regression",
                    "description": "Nightly, all browsers",
                    "include_all": False,
                    "case_ids": self.cases,
                },
                1,
            )
            self.tests = {
                t["case_id"]: t["id"]
                for t in self.tr.tests.values()
                if t["run_id"] == self.run["id"]
            }

    def tr_result(self, case: int, status_id: int, comment: str) -> dict[str, Any]:
        with self.tr.lock:
            return runs.add_result(
                self.tr, self.tests[case], {"status_id": status_id, "comment": comment}, 1
            )

    def tf_run(self) -> dict[str, Any]:
        return next(r for r in self.tf.db.runs.values() if r["name"] == "Release 2.4 regression")

    def tf_case_uid(self, case: int) -> int:
        """The uid of TestRail case ``case``'s TestFiesta copy."""
        return int(
            next(
                r["uid"]
                for r in self.tf.db.cases.values()
                if str(r.get("externalId") or "").endswith(f"/case/{case}")
            )
        )

    def tf_execution(self, case: int) -> dict[str, Any]:
        case_uid = self.tf_case_uid(case)
        run_uid = self.tf_run()["uid"]
        return next(
            e
            for e in self.tf.db.executions.values()
            if e["testRunUid"] == run_uid and e["testCaseUid"] == case_uid
        )

    def tf_status(self, case: int) -> str | None:
        status = self.tf_execution(case)["status"]
        return next((s.name for s in self.tf.execution_statuses if s.uid == status), None)

    def tf_comments(self, case: int) -> list[str]:
        uid = self.tf_execution(case)["uid"]
        rows = [r for r in self.tf.db.results.values() if r["executionUid"] == uid]
        return [r["comment"] for r in sorted(rows, key=lambda r: r["uid"])]


@pytest.fixture
async def pair(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RunPair:
    env = emulate(tmp_path, monkeypatch, cases=12)
    made = RunPair(env)
    made.tr_result(made.cases[0], 5, "Fails on Safari:\nthe button is hidden")
    made.tr_result(made.cases[0], 1, "Fixed in build 118")
    made.tr_result(made.cases[1], 2, "Blocked by the login outage")
    async with env.service() as service:
        [report] = await service.migrate()
    assert report.complete, report.warnings
    return made


async def test_a_run_arrives_with_its_cases_and_every_result_oldest_first(pair: RunPair) -> None:
    run = pair.tf_run()
    assert run["description"] == "Nightly, all browsers"
    executions = [e for e in pair.tf.db.executions.values() if e["testRunUid"] == run["uid"]]
    assert len(executions) == 4
    first = pair.tf_comments(pair.cases[0])
    assert [c.split(" · ")[1] for c in first] == ["Failed", "Passed"]
    assert first[0].startswith("TestRail result #")
    assert " · by " in first[0] and first[0].endswith("Fails on Safari:\nthe button is hidden")
    assert first[1].endswith("Fixed in build 118")
    assert pair.tf_status(pair.cases[0]) == "Passed"
    assert pair.tf_status(pair.cases[1]) == "Blocked"
    async with pair.env.service() as service:
        [report] = await service.sync()
    assert report.writes == 0


async def test_a_result_in_testrail_and_a_status_in_testfiesta_both_land_once(
    pair: RunPair,
) -> None:
    pair.tr_result(pair.cases[2], 5, "Broken on Firefox")
    failed = next(s for s in pair.tf.execution_statuses if s.name == "Failed")
    execution = pair.tf_execution(pair.cases[3])
    pair.tf.update(execution, {"status": failed.uid})
    async with pair.env.service() as service:
        [report] = await service.sync()
        [again] = await service.sync()
    assert report.applied is not None
    assert report.applied.done["create testfiesta result"] == 1
    assert report.applied.done["update testrail test"] == 1
    assert again.writes == 0
    assert pair.tf_status(pair.cases[2]) == "Failed"
    assert pair.tf_comments(pair.cases[2])[-1].endswith("Broken on Firefox")
    with pair.tr.lock:
        test = pair.tr.tests[pair.tests[pair.cases[3]]]
        results = [r for r in pair.tr.results.values() if r["test_id"] == test["id"]]
    assert test["status_id"] == 5
    assert len(results) == 1, "the TestFiesta status became exactly one TestRail result"


async def test_a_run_made_in_testfiesta_reaches_testrail_with_its_cases_and_tests(
    pair: RunPair,
) -> None:
    """A run created in TestFiesta (``POST /runs`` with ``caseUids``) is created in TestRail
    over the same cases, and the cycle after pairs each test with its execution (it used to
    arrive as a run without cases: its executions never had a test)."""
    chosen = pair.cases[1:3]
    uids = [pair.tf_case_uid(case) for case in chosen]
    async with pair.env.service() as service:
        assert service.testfiesta is not None
        # an idle cycle first: the next one reads since a cursor, so it does not observe the
        # run's cases (unchanged) and must translate their keys through the store's links
        [idle] = await service.sync()
        made = await service.testfiesta.create_run("ACME", {"name": "Smoke", "caseUids": uids})
        [first] = await service.sync()
        [second] = await service.sync()
    assert idle.writes == 0 and first.full is False
    assert first.applied is not None and first.applied.done == {"create testrail run": 1}
    assert second.writes == 0
    with pair.tr.lock:
        [run] = [r for r in pair.tr.runs.values() if r["name"] == "Smoke"]
        tests = {t["case_id"]: t["id"] for t in pair.tr.tests.values() if t["run_id"] == run["id"]}
    assert sorted(tests) == sorted(chosen)
    executions = {
        e["testCaseUid"]: e["uid"]
        for e in pair.tf.db.executions.values()
        if e["testRunUid"] == made["uid"]
    }
    with StateStore(pair.env.state_dir) as store:
        paired = {case: store.linked(f"tr:test:{tests[case]}") for case in chosen}
    assert paired == {
        case: f"tf:execution:{executions[uid]}" for case, uid in zip(chosen, uids, strict=True)
    }


async def test_a_testfiesta_run_made_before_the_cursor_still_brings_its_cases(
    pair: RunPair,
) -> None:
    """The cases of a new TestFiesta run come from all its executions, also when the
    execution listing since the cursor no longer holds them (the run's executions are older
    than the last poll; e.g. the cycle that saw the run first failed to copy it)."""
    with pair.tr.lock:
        outside = sorted(set(pair.tr.cases) - set(pair.cases))[:2]  # in no run yet
    uids = [pair.tf_case_uid(case) for case in outside]
    async with pair.env.service() as service:
        assert service.testfiesta is not None
        [idle] = await service.sync()
        made = await service.testfiesta.create_run("ACME", {"name": "Old", "caseUids": uids})
    # the executions look a day old: an incremental listing stops before them
    for row in pair.tf.db.executions.values():
        if row["testRunUid"] == made["uid"]:
            row["updatedAt"] = "2020-01-01T00:00:00.000Z"
    async with pair.env.service() as service:
        [report] = await service.sync()
    assert idle.writes == 0 and report.full is False
    assert report.applied is not None and report.applied.done == {"create testrail run": 1}
    with pair.tr.lock:
        [run] = [r for r in pair.tr.runs.values() if r["name"] == "Old"]
        cases = sorted(t["case_id"] for t in pair.tr.tests.values() if t["run_id"] == run["id"])
    assert cases == outside


async def test_the_tests_of_a_run_copied_to_testrail_pair_with_executions_older_than_the_cursor(
    pair: RunPair,
) -> None:
    """A TestRail run made from a TestFiesta run has new tests whose partners, the run's
    executions, are older than TestFiesta's cursor (found by the crash harness, trial 88:
    slow cycles moved the cursor past them). The cycle that first reads the tests looks the
    executions up in a complete listing, not in the incremental one, and pairs every test."""
    with pair.tr.lock:
        outside = sorted(set(pair.tr.cases) - set(pair.cases))[:2]
    uids = [pair.tf_case_uid(case) for case in outside]
    async with pair.env.service() as service:
        assert service.testfiesta is not None
        made = await service.testfiesta.create_run("ACME", {"name": "Late", "caseUids": uids})
        [created] = await service.sync()
    for row in pair.tf.db.executions.values():
        if row["testRunUid"] == made["uid"]:
            row["updatedAt"] = "2020-01-01T00:00:00.000Z"
    async with pair.env.service() as service:
        [pairing] = await service.sync()
        [idle] = await service.sync()
    assert created.applied is not None and created.applied.done == {"create testrail run": 1}
    assert pairing.writes == 0 and idle.writes == 0 and pairing.full is False
    with pair.tr.lock:
        [run] = [r for r in pair.tr.runs.values() if r["name"] == "Late"]
        tests = {t["case_id"]: t["id"] for t in pair.tr.tests.values() if t["run_id"] == run["id"]}
    executions = {
        e["testCaseUid"]: e["uid"]
        for e in pair.tf.db.executions.values()
        if e["testRunUid"] == made["uid"]
    }
    with StateStore(pair.env.state_dir) as store:
        paired = {case: store.linked(f"tr:test:{tests[case]}") for case in outside}
    assert paired == {
        case: f"tf:execution:{executions[uid]}" for case, uid in zip(outside, uids, strict=True)
    }


async def test_a_status_set_in_testfiesta_stays_when_testrail_holds_older_results(
    pair: RunPair,
) -> None:
    """A status set in TestFiesta on a test that already has a TestRail result becomes one
    TestRail result, and the next cycles leave it: the older result, read again in the
    overlap window, is not the test's status (it used to be, and the next cycle set the
    execution back to it: the person's status was lost)."""
    failed = next(s for s in pair.tf.execution_statuses if s.name == "Failed")
    pair.tf.update(pair.tf_execution(pair.cases[1]), {"status": failed.uid})  # was Blocked
    async with pair.env.service() as service:
        [report] = await service.sync()
        [again] = await service.sync()
        [third] = await service.sync()
    assert report.applied is not None and report.applied.done == {"update testrail test": 1}
    assert (again.writes, third.writes) == (0, 0)
    assert pair.tf_status(pair.cases[1]) == "Failed"
    with pair.tr.lock:
        test = pair.tr.tests[pair.tests[pair.cases[1]]]
        statuses = [r["status_id"] for r in pair.tr.results.values() if r["test_id"] == test["id"]]
    assert (test["status_id"], statuses) == (5, [2, 5])


async def test_closing_a_run_in_testrail_archives_it_in_testfiesta(pair: RunPair) -> None:
    with pair.tr.lock:
        runs.close_run(pair.tr, pair.run["id"])
    async with pair.env.service() as service:
        [report] = await service.sync()
    assert report.applied is not None
    assert report.applied.done == {"update testfiesta run": 1}
    assert pair.tf_run()["archivedAt"] is not None


ANNA_ID = "0b5c7a4e-6f1d-4c53-9a36-2f0f5d6a1c11"
JUERGEN_ID = "7e2d9c10-3b8a-4f6e-8d21-5a4c3b2e1f00"


async def test_assignees_travel_through_users_both_ways(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = emulate(tmp_path, monkeypatch, cases=12)
    env.config_path.write_text(
        env.config_path.read_text()
        + f'\n[users]\n"anna.schmidt@example.com" = "{ANNA_ID}"\n'
        + f'"juergen.weiss@example.com" = "{JUERGEN_ID}"\n'
    )
    made = RunPair(env)
    with made.tr.lock:
        runs.add_result(made.tr, made.tests[made.cases[0]], {"status_id": 1, "assignedto_id": 1}, 1)
    async with env.service() as service:
        [report] = await service.migrate()
        assert report.complete, report.warnings
        assert made.tf_execution(made.cases[0])["assignedTo"] == ANNA_ID
        # reassigned in TestFiesta to a user [users] knows: TestRail follows with one result
        made.tf.update(made.tf_execution(made.cases[0]), {"assignedTo": JUERGEN_ID})
        [sync] = await service.sync()
        [again] = await service.sync()
    assert sync.applied is not None and sync.applied.done == {"update testrail test": 1}
    assert again.writes == 0
    with made.tr.lock:
        assert made.tr.tests[made.tests[made.cases[0]]]["assignedto_id"] == 2


class LoseRunAnswer(httpx.AsyncBaseTransport):
    """Delivers every request, but loses the answer to the first ``POST /runs``: TestFiesta
    made the run and its executions, the migration never heard."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.lost = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.method == "POST" and request.url.path.endswith("/runs") and not self.lost:
            self.lost += 1
            await response.aread()
            raise httpx.RemoteProtocolError("Server disconnected without sending a response")
        return response


async def test_a_run_whose_create_answer_was_lost_still_gets_its_tests_and_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The crash harness's trial 179: the run's copy is found again by its externalId and
    linked, which took a pass; its tests were then never paired and its results never copied
    (the migration passed again only after creating a run), so a status set later in
    TestFiesta was overwritten as if it were the copy's default. The migration now passes
    again after linking a run too: one run ends complete, every result arrives once."""
    env = emulate(tmp_path, monkeypatch, cases=12)
    made = RunPair(env)
    made.tr_result(made.cases[0], 5, "Fails on Safari")
    made.tr_result(made.cases[0], 1, "Fixed in build 118")
    made.tr_result(made.cases[1], 2, "Blocked by the login outage")
    lossy = LoseRunAnswer(httpx.ASGITransport(env.testfiesta))
    async with env.service(testfiesta_transport=lossy) as service:
        [report] = await service.migrate()
    assert lossy.lost == 1
    assert report.complete, report.warnings
    assert [r["name"] for r in made.tf.db.runs.values()] == ["Release 2.4 regression"]
    assert made.tf_comments(made.cases[0])[0].endswith("Fails on Safari")
    assert [c.rsplit("\n", 1)[-1] for c in made.tf_comments(made.cases[0])] == [
        "Fails on Safari",
        "Fixed in build 118",
    ]
    assert made.tf_status(made.cases[0]) == "Passed"
    assert made.tf_status(made.cases[1]) == "Blocked"
    with StateStore(env.state_dir) as store:
        assert all(store.linked(f"tr:test:{test}") for test in made.tests.values())
