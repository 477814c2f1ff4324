"""Shared steps as a kind of the one sync engine: migrated first (before the cases that use
them), kept shared (a case step points at the migrated shared step, never a pasted copy), and
kept in sync both ways after (testfiesta-api.md §3.4/§4.4, testrail-api.md §5.8)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from emulators.testrail import ops
from tests.helpers import Emulated, emulate

LOGIN = [
    {"content": "Open /login", "expected": "The login form is shown"},
    {"content": "Sign in as admin@example.com", "expected": "The dashboard greets Admin"},
]


def steps_template(state: Any) -> int:
    return next(t["id"] for t in state.templates.values() if t["name"] == "Test Case (Steps)")


def seed_shared(env: Emulated) -> tuple[int, list[int]]:
    """One shared step set used by three new cases (each: own step, the set, own step)."""
    state = env.testrail_state
    with state.lock:
        pid = next(iter(state.projects))
        shared = ops.add_shared_step(
            state, pid, {"title": "Log in as admin", "custom_steps_separated": LOGIN}, None
        )
        section = min(state.sections)
        cases = [
            ops.add_case(
                state,
                section,
                {
                    "title": f"Admin report {n}",
                    "template_id": steps_template(state),
                    "custom_steps_separated": [
                        {"content": f"Prepare report {n}", "expected": "Ready"},
                        {"shared_step_id": shared["id"]},
                        {"content": f"Open report {n}", "expected": f"Report {n} shown"},
                    ],
                },
                None,
            )["id"]
            for n in (1, 2, 3)
        ]
    return int(shared["id"]), cases


def tf_case(env: Emulated, case_id: int) -> dict[str, Any]:
    tf = env.testfiesta.state.testfiesta
    return next(
        tf.render_case(r)
        for r in tf.db.cases.values()
        if str(r.get("externalId", "")).endswith(f"/case/{case_id}") and not r["deletedAt"]
    )


def tf_shared(env: Emulated) -> list[dict[str, Any]]:
    tf = env.testfiesta.state.testfiesta
    return [r for r in tf.db.shared_steps.values() if not r["deletedAt"]]


@pytest.fixture
async def migrated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Emulated, int, list[int]]:
    env = emulate(tmp_path, monkeypatch, cases=12)
    shared, cases = seed_shared(env)
    async with env.service() as service:
        [report] = await service.migrate()
    assert report.complete
    # the generated project's two sets and this one, each compared by content
    parity = report.parity["shared_step"]
    assert (parity.testrail, parity.testfiesta, parity.equal) == (3, 3, 3)
    assert (parity.missing, parity.extra, parity.differing) == ([], [], [])
    assert report.parity["case"].exact
    return env, shared, cases


async def test_cases_point_at_the_one_migrated_shared_step(
    migrated: tuple[Emulated, int, list[int]],
) -> None:
    env, _shared, cases = migrated
    [copy] = [s for s in tf_shared(env) if s["name"] == "Log in as admin"]
    assert [(s["description"], s["expectedResult"]) for s in copy["steps"]] == [
        ("Open /login", "The login form is shown"),
        ("Sign in as admin@example.com", "The dashboard greets Admin"),
    ]
    for n, case in enumerate(cases, start=1):
        steps = tf_case(env, case)["steps"]
        assert [(s.get("description"), s.get("sharedStepUid")) for s in steps] == [
            (f"Prepare report {n}", None),
            (None, copy["uid"]),  # a reference, not a pasted copy of the two steps
            (f"Open report {n}", None),
        ]


async def test_an_edit_in_testrail_reaches_all_three_cases_through_the_one_shared_step(
    migrated: tuple[Emulated, int, list[int]],
) -> None:
    env, shared, cases = migrated
    state = env.testrail_state
    with state.lock:
        ops.update_shared_step(
            state,
            shared,
            {
                "custom_steps_separated": [
                    *LOGIN[:1],
                    {
                        "content": "Sign in as root@example.com",
                        "expected": "The dashboard greets Root",
                    },
                ]
            },
            None,
        )
    async with env.service() as service:
        [report] = await service.sync()
    assert report.applied is not None
    assert report.applied.done == {"update testfiesta shared_step": 1}
    [copy] = [s for s in tf_shared(env) if s["name"] == "Log in as admin"]
    assert [s["description"] for s in copy["steps"]] == [
        "Open /login",
        "Sign in as root@example.com",
    ]
    for case in cases:
        [step] = [s for s in tf_case(env, case)["steps"] if s.get("sharedStepUid")]
        assert step["sharedStepUid"] == copy["uid"]
    async with env.service() as service:
        [again] = await service.sync()
    assert again.writes == 0, "our own write came back as a change"


async def test_an_edit_in_testfiesta_reaches_the_testrail_set_and_its_cases(
    migrated: tuple[Emulated, int, list[int]],
) -> None:
    env, shared, cases = migrated
    tf = env.testfiesta.state.testfiesta
    [copy] = [s for s in tf_shared(env) if s["name"] == "Log in as admin"]
    tf.update(copy, {"name": "Log in as administrator"})
    async with env.service() as service:
        [report] = await service.sync()
    assert report.applied is not None
    assert report.applied.done == {"update testrail shared_step": 1}
    state = env.testrail_state
    with state.lock:
        assert state.shared_steps[shared]["title"] == "Log in as administrator"
        assert ops.shared_step_case_ids(state, shared) == cases
