"""Milestones, configurations and plans through the engine (issue 7): a plan with two entries x
two configurations (one entry include_all, one with case_ids) arrives as the same runs, cases
and configurations on TestFiesta; milestones keep their sub-milestone, dates and completed
state; a run keeps its milestone; edits flow both ways on sync; a second migration creates
nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from core.store import StateStore
from emulators.testrail import ops, runs
from tests.helpers import Emulated, emulate

#: 2026-03-02 00:00 UTC and later dates, UNIX seconds
START, DUE, BETA_DUE, OLD_START, OLD_DUE = (
    1772409600,
    1775088000,
    1773619200,
    1767225600,
    1769904000,
)


class PlanPair:
    """A TestRail project with three milestones (one a sub-milestone, one completed), two
    configuration groups, a plan of two entries x two configurations, and a run outside the
    plan on a milestone."""

    def __init__(self, env: Emulated) -> None:
        self.env = env
        self.tr = env.testrail_state
        self.tf = env.testfiesta.state.testfiesta
        with self.tr.lock:
            project = next(iter(self.tr.projects.values()))
            pid = project["id"]
            self.cases = sorted(self.tr.cases)
            suite = self.tr.cases[self.cases[0]]["suite_id"]
            self.release = ops.add_milestone(
                self.tr,
                pid,
                {"name": "Release 3.0", "description": "Spring release",
                 "start_on": START, "due_on": DUE},
            )  # fmt: skip
            self.beta = ops.add_milestone(
                self.tr,
                pid,
                {"name": "3.0 Beta", "start_on": START, "due_on": BETA_DUE,
                 "parent_id": self.release["id"]},
            )  # fmt: skip
            self.old = ops.add_milestone(
                self.tr, pid, {"name": "Release 2.9", "start_on": OLD_START, "due_on": OLD_DUE}
            )
            ops.update_milestone(self.tr, self.old["id"], {"is_completed": True})
            browser = runs.add_config_group(self.tr, pid, {"name": "Browser"})
            chrome = runs.add_config(self.tr, browser["id"], {"name": "Chrome"})
            firefox = runs.add_config(self.tr, browser["id"], {"name": "Firefox"})
            os_group = runs.add_config_group(self.tr, pid, {"name": "OS"})
            windows = runs.add_config(self.tr, os_group["id"], {"name": "Windows"})
            macos = runs.add_config(self.tr, os_group["id"], {"name": "macOS"})
            self.picked = self.cases[:3]
            self.plan = runs.add_plan(
                self.tr,
                pid,
                {
                    "name": "Release 3.0 test plan",
                    "description": "Everything before the release",
                    "milestone_id": self.release["id"],
                    "entries": [
                        {
                            "suite_id": suite,
                            "name": "Full regression",
                            "include_all": True,
                            "config_ids": [chrome["id"], firefox["id"]],
                            "runs": [
                                {"config_ids": [chrome["id"]]},
                                {"config_ids": [firefox["id"]]},
                            ],
                        },
                        {
                            "suite_id": suite,
                            "name": "Smoke",
                            "include_all": False,
                            "case_ids": self.picked,
                            "config_ids": [windows["id"], macos["id"]],
                            "runs": [
                                {"config_ids": [windows["id"]], "include_all": False,
                                 "case_ids": self.picked},
                                {"config_ids": [macos["id"]], "include_all": False,
                                 "case_ids": self.picked},
                            ],
                        },
                    ],
                },
                1,
            )  # fmt: skip
            self.plan_runs = [r for e in self.plan["_entries"] for r in e["_run_ids"]]
            smoke_windows = self.plan_runs[2]
            test = next(
                t
                for t in self.tr.tests.values()
                if t["run_id"] == smoke_windows and t["case_id"] == self.picked[0]
            )
            runs.add_result(self.tr, test["id"], {"status_id": 5, "comment": "Crash on IE"}, 1)
            self.nightly = runs.add_run(
                self.tr,
                pid,
                {"suite_id": suite, "name": "Nightly", "include_all": False,
                 "case_ids": self.cases[:2], "milestone_id": self.beta["id"]},
                1,
            )  # fmt: skip

    def tf_milestone(self, name: str) -> dict[str, Any]:
        return next(m for m in self.tf.db.milestones.values() if m["name"] == name)

    def tf_runs(self, names: set[str]) -> list[dict[str, Any]]:
        return sorted(
            (r for r in self.tf.db.runs.values() if r["name"] in names and not r["deletedAt"]),
            key=lambda r: r["uid"],
        )

    def tf_run_cases(self, run: dict[str, Any]) -> list[str]:
        titles = {c["uid"]: c["name"] for c in self.tf.db.cases.values()}
        return sorted(
            titles[e["testCaseUid"]]
            for e in self.tf.db.executions.values()
            if e["testRunUid"] == run["uid"] and not e["deletedAt"]
        )

    def titles(self, ids: list[int]) -> list[str]:
        return sorted(self.tr.cases[i]["title"] for i in ids)


@pytest.fixture
async def pair(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PlanPair:
    env = emulate(tmp_path, monkeypatch, cases=12)
    made = PlanPair(env)
    async with env.service() as service:
        [report] = await service.migrate()
    assert report.complete, report.warnings
    made.report = report  # type: ignore[attr-defined]
    return made


async def test_a_plan_of_two_entries_by_two_configurations_arrives_whole(pair: PlanPair) -> None:
    [plan] = [p for p in pair.tf.db.plans.values() if p["name"] == "Release 3.0 test plan"]
    assert plan["description"] == "Everything before the release"
    assert plan["source"] == "testrail"
    assert plan["externalId"] == f"testrail.test/plan/{pair.plan['id']}"
    runs_of_plan = {r["uid"]: r for r in pair.tf_runs({"Full regression", "Smoke"})}
    assert len(runs_of_plan) == 4
    test_runs = plan["customFields"]["testRuns"]
    assert [runs_of_plan[t["uid"]]["name"] for t in test_runs] == [
        "Full regression", "Full regression", "Smoke", "Smoke",
    ]  # fmt: skip
    assert [t["configuration"] for t in test_runs] == [
        {"type": "simple", "sets": [["Browser:Chrome"]]},
        {"type": "simple", "sets": [["Browser:Firefox"]]},
        {"type": "simple", "sets": [["OS:Windows"]]},
        {"type": "simple", "sets": [["OS:macOS"]]},
    ]
    assert [runs_of_plan[t["uid"]]["customFields"]["configs"] for t in test_runs] == [
        ["Browser:Chrome"], ["Browser:Firefox"], ["OS:Windows"], ["OS:macOS"],
    ]  # fmt: skip
    every_case = pair.titles(pair.cases)
    assert len(every_case) == 12
    cases_per_run = [pair.tf_run_cases(runs_of_plan[t["uid"]]) for t in test_runs]
    assert cases_per_run == [every_case, every_case, pair.titles(pair.picked),
                             pair.titles(pair.picked)]  # fmt: skip
    release = pair.tf_milestone("Release 3.0")
    assert plan["customFields"]["milestoneUids"] == [release["uid"]]
    # the plan run's result arrived on its execution
    smoke_windows = runs_of_plan[test_runs[2]["uid"]]
    comments = [
        r["comment"]
        for r in pair.tf.db.results.values()
        if pair.tf.db.executions[r["executionUid"]]["testRunUid"] == smoke_windows["uid"]
    ]
    assert len(comments) == 1 and comments[0].endswith("Crash on IE")
    # the shim's configuration groups hold the TestRail ones
    groups = {
        g["name"]: sorted(
            c["name"]
            for c in pair.tf.db.configs.values()
            if c["groupUid"] == g["uid"] and not c["deletedAt"]
        )
        for g in pair.tf.db.config_groups.values()
    }
    assert groups == {"Browser": ["Chrome", "Firefox"], "OS": ["Windows", "macOS"]}


async def test_milestones_keep_dates_completed_state_and_their_runs(pair: PlanPair) -> None:
    release, beta, old = (pair.tf_milestone(n) for n in ("Release 3.0", "3.0 Beta", "Release 2.9"))
    assert release["description"] == "Spring release"
    assert release["customFields"]["startDate"] == "2026-03-02T00:00:00.000Z"
    assert release["customFields"]["dueAt"] == "2026-04-02T00:00:00.000Z"
    assert beta["customFields"]["dueAt"] == "2026-03-16T00:00:00.000Z"
    assert release["archivedAt"] is None and beta["archivedAt"] is None
    assert old["archivedAt"] is not None
    assert release["customFields"]["status"] == 23
    [nightly] = pair.tf_runs({"Nightly"})
    assert nightly["customFields"]["milestoneUids"] == [beta["uid"]]
    # the sub-milestone's parent is kept in the links (TestFiesta v1 has no parent field)
    with StateStore(pair.env.state_dir) as store:
        base = store.base(f"tr:milestone:{pair.beta['id']}")
    assert base is not None and base["values"]["parent"] == f"tr:milestone:{pair.release['id']}"
    parity = pair.report.parity  # type: ignore[attr-defined]
    for kind, count in (("milestone", 3 + 2), ("config_group", 2), ("config", 4), ("plan", 1)):
        assert (parity[kind].testrail, parity[kind].testfiesta) == (count, count), kind
        assert parity[kind].equal == count, (kind, parity[kind].differing)
        assert parity[kind].missing == [] and parity[kind].extra == [], kind
    assert parity["run"].missing == [] and parity["run"].extra == []
    assert parity["run"].testfiesta == 5
    assert "parent is kept in railfiesta's links" in parity["milestone"].notes[0]


async def test_migrate_twice_creates_nothing_new(pair: PlanPair) -> None:
    counts = (len(pair.tf.db.milestones), len(pair.tf.db.plans), len(pair.tf.db.runs),
              len(pair.tf.db.configs), len(pair.tf.db.config_groups))  # fmt: skip
    async with pair.env.service() as service:
        [again] = await service.migrate()
        [synced] = await service.sync()
    assert {name: k.created for name, k in again.kinds.items() if k.created} == {}
    assert synced.writes == 0
    assert counts == (len(pair.tf.db.milestones), len(pair.tf.db.plans), len(pair.tf.db.runs),
                      len(pair.tf.db.configs), len(pair.tf.db.config_groups))  # fmt: skip


async def test_milestone_edits_flow_both_ways(pair: PlanPair) -> None:
    release = pair.tf_milestone("Release 3.0")
    pair.tf.update(
        release,
        {
            "name": "Release 3.0 (Spring)",
            "customFields": {**release["customFields"], "dueAt": "2026-04-09T00:00:00Z"},
        },
    )
    with pair.tr.lock:
        ops.update_milestone(
            pair.tr, pair.beta["id"], {"description": "Open beta", "is_completed": True}
        )
    async with pair.env.service() as service:
        [report] = await service.sync()
        [again] = await service.sync()
    assert report.applied is not None
    assert report.applied.done["update testrail milestone"] == 1
    assert report.applied.done["update testfiesta milestone"] == 1
    assert pair.tr.milestones[pair.release["id"]]["name"] == "Release 3.0 (Spring)"
    assert pair.tr.milestones[pair.release["id"]]["due_on"] == DUE + 7 * 86400
    beta = pair.tf_milestone("3.0 Beta")
    assert beta["description"] == "Open beta"
    assert beta["archivedAt"] is not None
    assert again.writes == 0


async def test_a_run_milestone_and_a_plan_name_changed_in_testfiesta_reach_testrail(
    pair: PlanPair,
) -> None:
    [nightly] = pair.tf_runs({"Nightly"})
    release = pair.tf_milestone("Release 3.0")
    beta = pair.tf_milestone("3.0 Beta")
    pair.tf.update(
        nightly, {"customFields": {**nightly["customFields"], "milestoneUids": [release["uid"]]}}
    )
    [plan] = pair.tf.db.plans.values()
    pair.tf.update(plan, {"name": "Release 3.0 plan (final)"})
    async with pair.env.service() as service:
        [report] = await service.sync()
        [again] = await service.sync()
    assert report.applied is not None and not report.applied.failed, report.applied.failed
    assert pair.tr.runs[pair.nightly["id"]]["milestone_id"] == pair.release["id"]
    assert pair.tr.plans[pair.plan["id"]]["name"] == "Release 3.0 plan (final)"
    assert beta["uid"] not in nightly["customFields"]["milestoneUids"]
    assert again.writes == 0


async def test_a_plan_closed_in_testrail_is_closed_in_testfiesta_with_its_runs(
    pair: PlanPair,
) -> None:
    with pair.tr.lock:
        runs.close_plan(pair.tr, pair.plan["id"])
    async with pair.env.service() as service:
        [report] = await service.sync()
        [again] = await service.sync()
    assert report.applied is not None and not report.applied.failed, report.applied.failed
    assert report.applied.done["update testfiesta plan"] == 1
    assert report.applied.done["update testfiesta run"] == 4
    [plan] = pair.tf.db.plans.values()
    assert plan["archivedAt"] is not None
    assert all(r["archivedAt"] is not None for r in pair.tf_runs({"Full regression", "Smoke"}))
    assert pair.tf_runs({"Nightly"})[0]["archivedAt"] is None
    assert again.writes == 0


async def test_a_milestone_made_in_testfiesta_reaches_testrail_with_its_dates(
    pair: PlanPair,
) -> None:
    project_uid = pair.tf_milestone("Release 3.0")["projectUid"]
    row = pair.tf.new_envelope("milestone", "Hotfix 3.0.1", project_uid)
    row["description"] = "Payment fix"
    row["customFields"] = {"startDate": "2026-04-03T00:00:00.000Z",
                           "dueAt": "2026-04-06T00:00:00.000Z", "status": 23}  # fmt: skip
    pair.tf.db.milestones[row["uid"]] = row
    async with pair.env.service() as service:
        [report] = await service.sync()
        [again] = await service.sync()
    assert report.applied is not None and not report.applied.failed, report.applied.failed
    assert report.applied.done["create testrail milestone"] == 1
    [made] = [m for m in pair.tr.milestones.values() if m["name"] == "Hotfix 3.0.1"]
    assert (made["description"], made["start_on"], made["due_on"]) == (
        "Payment fix", DUE + 86400, DUE + 4 * 86400,
    )  # fmt: skip
    assert made["parent_id"] is None and made["is_completed"] is False
    assert again.writes == 0
