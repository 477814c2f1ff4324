"""Two-way sync of folders and cases over both emulators (in-process HTTP): every change on
either side reaches the other field by field; conflicts wait with all three values; deletes
follow the policy; nothing echoes back, nothing is written twice."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.engine.apply import Crash
from core.engine.plan import Operation
from core.service import Service
from emulators.testrail import ops
from tests.helpers import Emulated, copy_emulated, emulate

PROJECT = "Acme Web Shop"


class CountingTransport(httpx.AsyncBaseTransport):
    """Passes requests through and counts the ones that write."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.writes: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method != "GET":
            self.writes.append(f"{request.method} {request.url}")
        return await self.inner.handle_async_request(request)


class Pair:
    """A migrated pair with helpers to edit either emulator as a person would."""

    def __init__(self, env: Emulated) -> None:
        self.env = env
        self.tr = env.testrail_state
        self.tf = env.testfiesta.state.testfiesta

    def service(self) -> Service:
        return self.env.service()

    def tr_case(self, case_id: int) -> dict[str, Any]:
        with self.tr.lock:
            return dict(self.tr.cases[case_id])

    def tr_edit(self, case_id: int, **body: Any) -> None:
        with self.tr.lock:
            ops.update_case(self.tr, case_id, body, None)

    def tf_row(self, case_id: int) -> dict[str, Any]:
        return next(
            r
            for r in self.tf.db.cases.values()
            if r.get("externalId", "").endswith(f"/case/{case_id}") and not r["deletedAt"]
        )

    def tf_edit(self, case_id: int, **changes: Any) -> None:
        self.tf.update(self.tf_row(case_id), changes)

    def tf_case(self, case_id: int) -> dict[str, Any]:
        return self.tf.render_case(self.tf_row(case_id))

    def first_cases(self, n: int) -> list[int]:
        with self.tr.lock:
            return sorted(self.tr.cases)[:n]


async def sync(service: Service, **kwargs: Any) -> Any:
    [report] = await service.sync(**kwargs)
    return report


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Emulated:
    """24 generated cases migrated, once per module; each test gets a copy (:func:`pair`)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        env = emulate(tmp_path_factory.mktemp("migrated"), monkeypatch, cases=24)

        async def migrate() -> None:
            async with env.service() as service:
                [report] = await service.migrate()
            assert report.complete

        asyncio.run(migrate())
    return env


@pytest.fixture
def pair(migrated: Emulated, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Pair:
    """A private copy of :func:`migrated`: both emulators' states, config and state store."""
    return Pair(copy_emulated(migrated, tmp_path, monkeypatch))


def set_policy(env: Emulated, text: str) -> None:
    """Append a ``[sync]`` table to the pair's config."""
    env.config_path.write_text(env.config_path.read_text() + "\n[sync]\n" + text + "\n")


async def test_migration_then_sync_writes_nothing_on_either_side(pair: Pair) -> None:
    tr = CountingTransport(httpx.ASGITransport(pair.env.testrail))
    tf = CountingTransport(httpx.ASGITransport(pair.env.testfiesta))
    async with pair.env.service(tr, tf) as service:
        report = await sync(service)
        again = await sync(service)
    assert report.writes == 0 and again.writes == 0
    assert tr.writes == [] and tf.writes == []
    # an idle poll of a prepared pair (no runs): TestRail get_sections, get_shared_steps and
    # get_cases (updated after the cursor), get_milestones, get_configs, get_plans and get_runs;
    # TestFiesta folders, shared steps, cases, milestones, the shim's get_configs, plans, runs
    # and executions
    assert again.requests == {"testrail": 7, "testfiesta": 8}


async def test_a_title_edited_in_testrail_reaches_testfiesta_once(pair: Pair) -> None:
    [case] = pair.first_cases(1)
    pair.tr_edit(case, title="Checkout with a gift card £5 — 日本語")
    async with pair.service() as service:
        report = await sync(service)
        assert report.applied.done == {"update testfiesta case": 1}
        assert pair.tf_case(case)["name"] == "Checkout with a gift card £5 — 日本語"
        again = await sync(service)
    assert again.writes == 0, "our own write came back as a change"


async def test_a_priority_edited_in_testfiesta_reaches_testrail(pair: Pair) -> None:
    [case] = pair.first_cases(1)
    critical = next(p for p in pair.tf.priorities if p.name == "Critical")
    before = pair.tr_case(case)["priority_id"]
    pair.tf_edit(case, priority=critical.uid)
    async with pair.service() as service:
        report = await sync(service)
    assert report.applied.done == {"update testrail case": 1}
    with pair.tr.lock:
        names = {p["id"]: p["name"] for p in pair.tr.priorities.values()}
    assert names[pair.tr_case(case)["priority_id"]] == "Critical"
    assert names[before] != "Critical"


async def test_title_in_testrail_and_preconditions_in_testfiesta_both_merge(pair: Pair) -> None:
    [case] = pair.first_cases(1)
    pair.tr_edit(case, title="Merged title")
    custom = dict(pair.tf_row(case)["customFields"] or {})
    custom["Preconditions"] = "Logged in\nas admin"
    pair.tf_edit(case, customFields=custom)
    async with pair.service() as service:
        report = await sync(service)
    assert report.plan.conflicts == []
    assert pair.tf_case(case)["name"] == "Merged title"
    assert pair.tr_case(case)["custom"]["custom_preconds"] == "Logged in\nas admin"


async def test_one_field_edited_differently_is_one_conflict_and_nothing_moves(
    pair: Pair,
) -> None:
    [case] = pair.first_cases(1)
    base = pair.tr_case(case)["title"]
    pair.tr_edit(case, title="TestRail title")
    pair.tf_edit(case, name="TestFiesta title")
    async with pair.service() as service:
        report = await sync(service)
        [conflict] = service.conflicts()
    assert report.exit_code == 1
    assert conflict["conflict"]["field"] == "title"
    assert conflict["conflict"]["values"] == {
        "testrail": "TestRail title",
        "base": base,
        "testfiesta": "TestFiesta title",
    }
    assert pair.tr_case(case)["title"] == "TestRail title"
    assert pair.tf_case(case)["name"] == "TestFiesta title"


@pytest.mark.parametrize(
    ("winner", "value", "expected"),
    [
        ("testrail", None, "TestRail title"),
        ("testfiesta", None, "TestFiesta title"),
        ("value", "Typed by a person", "Typed by a person"),
    ],
)
async def test_a_resolution_lands_on_both_sides_and_the_loser_stays_readable(
    pair: Pair, winner: str, value: str | None, expected: str
) -> None:
    [case] = pair.first_cases(1)
    pair.tr_edit(case, title="TestRail title")
    pair.tf_edit(case, name="TestFiesta title")
    async with pair.service() as service:
        await sync(service)
        [entry] = service.conflicts()
        service.resolve(entry["conflict"]["id"][:6], winner, value)
        report = await sync(service)
        assert service.conflicts() == []
        assert report.exit_code == 0
        assert service.store is not None
        [logged] = [service.store.get_in("resolved", i) for i in service.store.family("resolved")]
    assert pair.tr_case(case)["title"] == expected
    assert pair.tf_case(case)["name"] == expected
    assert logged["resolution"]["winner"] == winner
    losing = {"TestRail title", "TestFiesta title"} - {expected}
    assert set(logged["losing"].values()) == losing


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ('conflict_policy = "testrail-wins"', "TestRail title"),
        ('conflict_policy = "testfiesta-wins"', "TestFiesta title"),
        ('conflict_policy = "ask"\n[sync.fields]\ntitle = "testfiesta-wins"', "TestFiesta title"),
    ],
)
async def test_a_policy_settles_the_conflict_on_both_sides(
    pair: Pair, policy: str, expected: str
) -> None:
    set_policy(pair.env, policy)
    [case] = pair.first_cases(1)
    pair.tr_edit(case, title="TestRail title")
    pair.tf_edit(case, name="TestFiesta title")
    async with pair.service() as service:
        report = await sync(service)
        assert service.conflicts() == []
    assert [r.winner for r in report.plan.resolutions] == [
        "testrail" if expected == "TestRail title" else "testfiesta"
    ]
    assert pair.tr_case(case)["title"] == expected
    assert pair.tf_case(case)["name"] == expected


def steps_of(pair: Pair, case: int) -> list[str]:
    return [s["content"] for s in pair.tr_case(case)["custom"]["custom_steps_separated"]]


def steps_case(pair: Pair) -> int:
    with pair.tr.lock:
        return next(
            cid
            for cid, row in sorted(pair.tr.cases.items())
            if len(row["custom"].get("custom_steps_separated") or []) >= 4
        )


async def test_step_2_and_step_4_edited_on_different_sides_both_land(pair: Pair) -> None:
    case = steps_case(pair)
    steps = pair.tr_case(case)["custom"]["custom_steps_separated"]
    tr_steps = [dict(s) for s in steps]
    tr_steps[1]["content"] = "Step two, edited in TestRail"
    pair.tr_edit(case, custom_steps_separated=tr_steps)
    tf_steps = [dict(s) for s in pair.tf_row(case)["steps"]]
    tf_steps[3]["description"] = "Step four, edited in TestFiesta"
    pair.tf_edit(case, steps=tf_steps)
    async with pair.service() as service:
        report = await sync(service)
    assert report.plan.conflicts == []
    merged = [s["content"] for s in steps]
    merged[1], merged[3] = "Step two, edited in TestRail", "Step four, edited in TestFiesta"
    assert steps_of(pair, case) == merged
    assert [s["description"] for s in pair.tf_row(case)["steps"]] == merged


async def test_the_same_step_edited_on_both_is_one_conflict_on_that_step(pair: Pair) -> None:
    case = steps_case(pair)
    steps = pair.tr_case(case)["custom"]["custom_steps_separated"]
    tr_steps = [dict(s) for s in steps]
    tr_steps[1]["content"] = "TestRail's step two"
    tr_steps[0]["content"] = "Step one, TestRail only"
    pair.tr_edit(case, custom_steps_separated=tr_steps)
    tf_steps = [dict(s) for s in pair.tf_row(case)["steps"]]
    tf_steps[1]["description"] = "TestFiesta's step two"
    pair.tf_edit(case, steps=tf_steps)
    async with pair.service() as service:
        report = await sync(service)
    [conflict] = report.plan.conflicts
    assert conflict.field == "steps[2]"
    assert conflict.values["testrail"]["content"] == "TestRail's step two"
    assert conflict.values["testfiesta"]["content"] == "TestFiesta's step two"
    assert conflict.values["base"]["content"] == steps[1]["content"]
    # the clean edit of step 1 still reached TestFiesta; step 2 stays each side's own
    assert pair.tf_row(case)["steps"][0]["description"] == "Step one, TestRail only"
    assert pair.tf_row(case)["steps"][1]["description"] == "TestFiesta's step two"
    assert steps_of(pair, case)[1] == "TestRail's step two"


async def test_a_case_moved_in_testrail_moves_to_the_linked_folder(pair: Pair) -> None:
    [case] = pair.first_cases(1)
    row = pair.tr_case(case)
    with pair.tr.lock:
        other = next(
            s["id"]
            for s in pair.tr.sections.values()
            if s["suite_id"] == row["suite_id"] and s["id"] != row["section_id"]
        )
    pair.tr_edit(case, section_id=other)
    async with pair.service() as service:
        await sync(service)
        assert service.store is not None
        folder = service.store.linked(f"tr:section:{other}")
    assert folder == f"tf:folder:{pair.tf_row(case)['parentUid']}"


async def test_a_case_created_on_each_side_appears_on_the_other_exactly_once(
    pair: Pair,
) -> None:
    [case] = pair.first_cases(1)
    section = pair.tr_case(case)["section_id"]
    with pair.tr.lock:
        made = ops.add_case(pair.tr, section, {"title": "Born in TestRail"}, None)
    folder_uid = pair.tf_row(case)["parentUid"]
    async with pair.service() as service:
        assert service.testfiesta is not None
        [born] = await service.testfiesta.create_cases(
            "ACME",
            [{"name": "Born in TestFiesta", "parentId": folder_uid, "projectId": 1, "steps": [],
              "customFields": {}}],
        )  # fmt: skip
        report = await sync(service)
        defaults = await sync(service)
        again = await sync(service)
    assert report.applied.done == {"create testfiesta case": 1, "create testrail case": 1}
    # TestRail gave the new case its defaults (priority, template, type, dropdowns): they
    # reach TestFiesta once, and then both sides rest
    assert defaults.applied.done == {"update testfiesta case": 1}
    assert again.writes == 0
    priorities = {p.uid: p.name for p in pair.tf.priorities}
    assert priorities[pair.tf.db.cases[born["uid"]]["priority"]] == "Medium"
    tf_titles = [r["name"] for r in pair.tf.db.cases.values() if not r["deletedAt"]]
    assert tf_titles.count("Born in TestRail") == 1
    with pair.tr.lock:
        tr_rows = [r for r in pair.tr.cases.values() if r["title"] == "Born in TestFiesta"]
    assert len(tr_rows) == 1
    assert tr_rows[0]["section_id"] == section
    assert tr_rows[0]["refs"] == f"testfiesta:case:{born['uid']}"
    assert made["id"] in {int(str(r.get("externalId")).rsplit("/", 1)[-1])
                          for r in pair.tf.db.cases.values() if r.get("externalId")}  # fmt: skip


@pytest.mark.parametrize("step", ["planned", "sent", "confirmed"])
async def test_a_crash_between_create_and_link_commit_creates_nothing_twice(
    pair: Pair, step: str
) -> None:
    [case] = pair.first_cases(1)
    section = pair.tr_case(case)["section_id"]
    with pair.tr.lock:
        ops.add_case(pair.tr, section, {"title": "Born in TestRail"}, None)
    folder_uid = pair.tf_row(case)["parentUid"]

    def crash(at: str, op: Operation) -> None:
        if at == step and op.action == "create":
            raise Crash()

    async with pair.service() as service:
        assert service.testfiesta is not None
        await service.testfiesta.create_cases(
            "ACME",
            [{"name": "Born in TestFiesta", "parentId": folder_uid, "projectId": 1, "steps": [],
              "customFields": {}}],
        )  # fmt: skip
        engine, _ = await service._pair_engine(0)
        engine.applier.on_step = crash
        with pytest.raises(Crash):
            await engine.run(service._settings())
    async with pair.service() as service:
        await sync(service)
        await sync(service)  # TestRail's defaults for the TestFiesta-born case
        again = await sync(service)
    assert again.writes == 0
    tf_titles = [r["name"] for r in pair.tf.db.cases.values() if not r["deletedAt"]]
    assert tf_titles.count("Born in TestRail") == 1
    with pair.tr.lock:
        assert [r["title"] for r in pair.tr.cases.values()].count("Born in TestFiesta") == 1


async def test_a_testrail_edit_90_seconds_older_than_the_cursor_still_arrives(
    pair: Pair,
) -> None:
    first, second = pair.first_cases(2)
    pair.tr_edit(first, title="Seen first")
    async with pair.service() as service:
        await sync(service)
        assert service.store is not None
        cursor = service.store.get("cursor:1:testrail")
    # a late write: stored with an updated_on 90 s before what the cursor already saw
    pair.tr_edit(second, title="Written late")
    with pair.tr.lock:
        pair.tr.cases[second]["updated_on"] = int(cursor["cases"]) - 90
    async with pair.service() as service:
        report = await sync(service)
    assert report.applied.done == {"update testfiesta case": 1}
    assert pair.tf_case(second)["name"] == "Written late"


@pytest.mark.parametrize(
    ("policy", "expected"),
    [("flag", "kept"), ("archive", "archived"), ("propagate", "deleted")],
)
async def test_a_case_deleted_in_testrail_follows_the_delete_policy(
    pair: Pair, policy: str, expected: str
) -> None:
    set_policy(pair.env, f'delete_policy = "{policy}"')
    [case] = pair.first_cases(1)
    uid = pair.tf_row(case)["uid"]
    with pair.tr.lock:
        ops.delete_cases(pair.tr, [case], soft=False)
    async with pair.service() as service:
        incremental = await sync(service)
        report = await sync(service, full=True)
    assert incremental.writes == 0, "a delete shows only in a full read"
    row = pair.tf.db.cases[uid]
    tags = [pair.tf.db.tags[t]["name"] for t in row["_tagUids"]]
    if expected == "kept":
        assert row["deletedAt"] is None and "Deleted in TestRail" not in tags
        assert [n.what for n in report.plan.notices] == ["flagged"]
    elif expected == "archived":
        assert row["deletedAt"] is None and "Deleted in TestRail" in tags
    else:
        assert row["deletedAt"] is not None


async def test_25_deletes_with_threshold_20_wait_for_confirmation(pair: Pair) -> None:
    set_policy(pair.env, 'delete_policy = "propagate"\nbig_delete_threshold = 20')
    with pair.tr.lock:
        doomed = sorted(pair.tr.cases)[:25] if len(pair.tr.cases) >= 25 else None
    if doomed is None:  # the fixture has 24 cases: add one more
        [case] = pair.first_cases(1)
        with pair.tr.lock:
            ops.add_case(pair.tr, pair.tr_case(case)["section_id"], {"title": "One more"}, None)
        async with pair.service() as service:
            await sync(service)
        with pair.tr.lock:
            doomed = sorted(pair.tr.cases)[:25]
    with pair.tr.lock:
        ops.delete_cases(pair.tr, doomed, soft=False)
    async with pair.service() as service:
        held = await sync(service, full=True)
        live = [r for r in pair.tf.db.cases.values() if not r["deletedAt"]]
        assert len(live) == 25
        assert held.held == 25 and held.exit_code == 1
        confirmed = await sync(service, full=True, confirm_deletes=True)
    assert confirmed.applied.done == {"delete testfiesta case": 25}
    assert [r for r in pair.tf.db.cases.values() if not r["deletedAt"]] == []


async def test_a_delete_on_one_side_and_an_edit_on_the_other_keeps_the_edit(
    pair: Pair,
) -> None:
    set_policy(pair.env, 'delete_policy = "propagate"')
    [case] = pair.first_cases(1)
    uid = pair.tf_row(case)["uid"]
    pair.tf_edit(case, name="Edited in TestFiesta")
    with pair.tr.lock:
        ops.delete_cases(pair.tr, [case], soft=False)
    async with pair.service() as service:
        report = await sync(service, full=True)
    assert pair.tf.db.cases[uid]["deletedAt"] is None
    assert pair.tf.db.cases[uid]["name"] == "Edited in TestFiesta"
    assert [n.what for n in report.plan.notices] == ["kept"]
    with pair.tr.lock:
        copies = [r for r in pair.tr.cases.values() if r["title"] == "Edited in TestFiesta"]
    assert len(copies) == 1
    assert re.fullmatch(rf"testfiesta:case:{uid}", copies[0]["refs"] or "")
