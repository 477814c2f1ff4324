"""The Engine over two in-memory sides and a real StateStore: migration, a quiet next cycle,
crashes between journal steps, lost answers, and a person's resolution of a conflict."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from core.engine.apply import Crash
from core.engine.cycle import Engine
from core.engine.plan import Operation
from core.engine.reconcile import (
    MIGRATE,
    TESTFIESTA,
    TESTFIESTA_WINS,
    TESTRAIL,
    Base,
    Settings,
    conflict_id,
)
from core.engine.sides import MemorySide
from core.store import StateStore

STEPS = [{"content": "Open page", "expected": "Form shows"}, {"content": "Click"}]


@pytest.fixture
def store(tmp_path: Path) -> Any:
    with StateStore(tmp_path / "state") as opened:
        yield opened


def sides() -> tuple[MemorySide, MemorySide]:
    return MemorySide("testrail", "tr"), MemorySide("testfiesta", "tf")


def tf_rows(side: MemorySide) -> dict[str, tuple[str, dict[str, Any], str | None]]:
    return {key: (row.kind, row.values, row.origin) for key, row in side.rows.items()}


def case_copies(tr: MemorySide, tf: MemorySide, store: StateStore) -> list[tuple[str, str]]:
    """(TestRail case, its TestFiesta copy) per TestRail case; asserts each is linked once,
    both ways, with a base."""
    copies = []
    for record in tr.live("case"):
        found = [r for r in tf.live("case") if r.origin == record.key]
        assert len(found) == 1, (record.key, found)
        copy = found[0].key
        assert store.linked(record.key) == copy
        assert store.linked(copy) == record.key
        base = store.base(record.key)
        assert base is not None
        assert Base.from_dict(base).testfiesta == copy
        copies.append((record.key, copy))
    return copies


# ---------------------------------------------------------------------- migration


async def test_migration_copies_folders_and_cases_with_origin(store: StateStore) -> None:
    tr, tf = sides()
    root = tr.add("folder", {"name": "Root"})
    sub = tr.add("folder", {"name": "Sub", "parent": root, "description": "Nested"})
    login = tr.add("case", {"title": "Log in", "folder": root, "steps": STEPS, "priority": "High"})
    pay = tr.add(
        "case",
        {"title": "Pay £5", "folder": sub, "field:custom_preconds": "Card\nready"},
    )
    tf_only = tf.add("folder", {"name": "Only in TestFiesta"})

    report = await Engine(store, tr, tf).run(Settings(mode=MIGRATE), full=True)

    assert report.applied is not None
    assert report.applied.done == {"create testfiesta folder": 2, "create testfiesta case": 2}
    assert report.applied.failed == []
    assert report.plan.conflicts == []
    assert report.plan.notices == []
    assert tf_rows(tf) == {
        tf_only: ("folder", {"name": "Only in TestFiesta"}, None),
        "tf:folder:2": ("folder", {"name": "Root"}, root),
        "tf:folder:3": (
            "folder",
            {"name": "Sub", "parent": "tf:folder:2", "description": "Nested"},
            sub,
        ),
        "tf:case:4": (
            "case",
            {"title": "Log in", "folder": "tf:folder:2", "steps": STEPS, "priority": "High"},
            login,
        ),
        "tf:case:5": (
            "case",
            {"title": "Pay £5", "folder": "tf:folder:3", "field:custom_preconds": "Card\nready"},
            pay,
        ),
    }
    assert [store.linked(k) for k in (root, sub, login, pay, tf_only)] == [
        "tf:folder:2",
        "tf:folder:3",
        "tf:case:4",
        "tf:case:5",
        None,
    ]
    assert store.base(pay) == Base(
        "case",
        pay,
        "tf:case:5",
        {"title": "Pay £5", "folder": sub, "field:custom_preconds": "Card\nready"},
    ).as_dict() | {"scope": "0"}
    # migrate mode never writes to TestRail, not even the TestFiesta-only folder
    assert tr.writes == 0
    assert len(tr.rows) == 4
    assert tf.writes == 4
    assert store.family("journal") == []

    writes = (tr.writes, tf.writes)
    quiet = await Engine(store, tr, tf).run(Settings(mode=MIGRATE))
    assert quiet.plan.operations == []
    assert (tr.writes, tf.writes) == writes


async def test_cycle_after_migration_writes_nothing(store: StateStore) -> None:
    tr, tf = sides()
    root = tr.add("folder", {"name": "Root"})
    for title in ("Log in", "Log out", "日本語"):
        tr.add("case", {"title": title, "folder": root, "steps": STEPS})
    await Engine(store, tr, tf).run(Settings(mode=MIGRATE), full=True)
    writes = (tr.writes, tf.writes)
    assert writes == (0, 4)

    report = await Engine(store, tr, tf).run(Settings())
    assert report.plan.operations == []
    assert report.plan.conflicts == []
    assert report.plan.notices == []
    assert (tr.writes, tf.writes) == writes
    report = await Engine(store, tr, tf).run(Settings(), full=True)
    assert report.plan.operations == []
    assert (tr.writes, tf.writes) == writes


async def test_batched_creates_send_one_call_per_kind(store: StateStore) -> None:
    tr, tf = sides()
    root = tr.add("folder", {"name": "Root"})
    for n in range(5):
        tr.add("case", {"title": f"Case {n}", "folder": root})
    engine = Engine(store, tr, tf, batch_sizes={(TESTFIESTA, "case"): 100})
    report = await engine.run(Settings(mode=MIGRATE), full=True)
    assert report.applied is not None
    assert report.applied.done == {"create testfiesta folder": 1, "create testfiesta case": 5}
    assert tf.writes == 2
    assert len(case_copies(tr, tf, store)) == 5


# ---------------------------------------------------------------------- crashes


async def _three_new_cases(store: StateStore) -> tuple[MemorySide, MemorySide]:
    """A linked root folder, then three new TestRail cases for the next cycle to copy."""
    tr, tf = sides()
    root = tr.add("folder", {"name": "Root"})
    await Engine(store, tr, tf).run(Settings(mode=MIGRATE), full=True)
    for title in ("Log in", "Log out", "Reset password"):
        tr.add("case", {"title": title, "folder": root, "steps": STEPS})
    return tr, tf


def _counting(steps: list[tuple[str, str]], crash_at: int | None = None) -> Any:
    def hook(step: str, op: Operation) -> None:
        steps.append((step, op.source or ""))
        if len(steps) == crash_at:
            raise Crash()

    return hook


@pytest.mark.parametrize("batch", [1, 3])
async def test_a_cycle_creating_three_cases_has_nine_journal_steps(
    store: StateStore, batch: int
) -> None:
    tr, tf = await _three_new_cases(store)
    steps: list[tuple[str, str]] = []
    engine = Engine(
        store, tr, tf, batch_sizes={(TESTFIESTA, "case"): batch}, on_step=_counting(steps)
    )
    await engine.run(Settings())
    assert sorted(s for s, _ in steps) == ["confirmed"] * 3 + ["planned"] * 3 + ["sent"] * 3
    assert len(case_copies(tr, tf, store)) == 3


@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("crash_at", range(1, 10))
async def test_crash_at_any_journal_step_then_a_fresh_run_copies_each_case_once(
    store: StateStore, crash_at: int, batch: int
) -> None:
    tr, tf = await _three_new_cases(store)
    sizes = {(TESTFIESTA, "case"): batch}
    steps: list[tuple[str, str]] = []
    crashing = Engine(store, tr, tf, batch_sizes=sizes, on_step=_counting(steps, crash_at))
    with pytest.raises(Crash):
        await crashing.run(Settings())
    assert len(steps) == crash_at
    assert store.family("journal") != []

    report = await Engine(store, tr, tf, batch_sizes=sizes).run(Settings())
    assert report.recovered >= 1
    assert report.applied is not None
    assert report.applied.failed == []
    copies = case_copies(tr, tf, store)
    assert len(copies) == 3
    assert len(tf.live("case")) == 3
    assert store.family("journal") == []
    assert len(list(store.bases("case"))) == 3

    writes = (tr.writes, tf.writes)
    quiet = await Engine(store, tr, tf).run(Settings(), full=True)
    assert quiet.plan.operations == []
    assert (tr.writes, tf.writes) == writes


# ---------------------------------------------------------------------- lost answers


@pytest.mark.parametrize("batch", [1, 3])
async def test_lost_answer_makes_no_duplicate(store: StateStore, batch: int) -> None:
    tr, tf = await _three_new_cases(store)
    tf.lose_answers = 1
    engine = Engine(store, tr, tf, batch_sizes={(TESTFIESTA, "case"): batch})
    report = await engine.run(Settings())
    assert tf.lose_answers == 0
    assert report.applied is not None
    assert report.applied.failed == []
    assert report.applied.done == {"create testfiesta case": 3}
    assert len(tf.live("case")) == 3
    assert len(case_copies(tr, tf, store)) == 3
    assert store.family("journal") == []

    writes = (tr.writes, tf.writes)
    quiet = await Engine(store, tr, tf).run(Settings(), full=True)
    assert quiet.plan.operations == []
    assert (tr.writes, tf.writes) == writes


async def test_lost_answer_on_testrail_makes_no_duplicate(store: StateStore) -> None:
    tr, tf = await _three_new_cases(store)
    await Engine(store, tr, tf).run(Settings())
    folder = store.linked("tr:folder:1")
    assert folder is not None
    new = tf.add("case", {"title": "Made in TestFiesta", "folder": folder})
    tr.lose_answers = 1
    report = await Engine(store, tr, tf).run(Settings())
    assert report.applied is not None
    assert report.applied.failed == []
    copies = [r for r in tr.live("case") if r.origin == new]
    assert len(copies) == 1
    assert copies[0].values == {"title": "Made in TestFiesta", "folder": "tr:folder:1"}
    assert store.linked(new) == copies[0].key
    assert len(tr.live("case")) == 4


# ---------------------------------------------------------------------- conflicts


async def _conflict(store: StateStore) -> tuple[MemorySide, MemorySide, str, str, str]:
    """A migrated case whose title was then edited differently on both sides, the conflict
    stored by a cycle. Returns the sides, both keys and the conflict id."""
    tr, tf = sides()
    root = tr.add("folder", {"name": "Root"})
    case = tr.add("case", {"title": "Log in", "folder": root, "steps": STEPS})
    await Engine(store, tr, tf).run(Settings(mode=MIGRATE), full=True)
    copy = store.linked(case)
    assert copy is not None
    tr.edit(case, title="Sign in")
    tf.edit(copy, title="Log on")
    report = await Engine(store, tr, tf).run(Settings())
    cid = conflict_id(case, "title")
    assert [c.id for c in report.plan.conflicts] == [cid]
    assert store.family("conflict") == [cid]
    entry = store.get_in("conflict", cid)
    assert entry["conflict"]["values"] == {
        TESTRAIL: "Sign in",
        "base": "Log in",
        TESTFIESTA: "Log on",
    }
    assert entry["resolution"] is None
    return tr, tf, case, copy, cid


async def test_open_conflict_is_kept_and_writes_nothing(store: StateStore) -> None:
    tr, tf, case, copy, cid = await _conflict(store)
    writes = (tr.writes, tf.writes)
    report = await Engine(store, tr, tf).run(Settings(), full=True)
    assert [c.id for c in report.plan.conflicts] == [cid]
    assert report.plan.writes == []
    assert (tr.writes, tf.writes) == writes
    assert store.family("conflict") == [cid]
    assert tr.record(case).values["title"] == "Sign in"
    assert tf.record(copy).values["title"] == "Log on"


async def test_resolve_with_testrail_writes_its_value_to_both_sides(store: StateStore) -> None:
    tr, tf, case, copy, cid = await _conflict(store)
    engine = Engine(store, tr, tf)
    engine.resolve(cid, TESTRAIL, by="alice")
    tr_writes = tr.writes
    await engine.run(Settings())

    assert tr.record(case).values["title"] == "Sign in"
    assert tf.record(copy).values["title"] == "Sign in"
    assert tr.writes == tr_writes  # TestRail already held the winning value
    assert store.family("conflict") == []
    [logged] = store.family("resolved")
    entry = store.get_in("resolved", logged)
    assert entry["conflict"]["id"] == cid
    assert entry["conflict"]["values"][TESTFIESTA] == "Log on"  # the losing value, readable
    assert entry["resolution"]["winner"] == TESTRAIL
    assert entry["resolution"]["value"] == "Sign in"
    assert entry["resolution"]["by"] == "alice"
    assert Base.from_dict(store.base(case) or {}).values["title"] == "Sign in"

    writes = (tr.writes, tf.writes)
    quiet = await Engine(store, tr, tf).run(Settings(), full=True)
    assert quiet.plan.operations == []
    assert quiet.plan.conflicts == []
    assert (tr.writes, tf.writes) == writes


async def test_resolve_with_a_typed_value_writes_it_to_both_sides(store: StateStore) -> None:
    tr, tf, case, copy, cid = await _conflict(store)
    engine = Engine(store, tr, tf)
    engine.resolve(cid, "value", "Typed", by="bob")
    assert store.get_in("conflict", cid)["resolution"]["value"] == "Typed"
    await engine.run(Settings())

    assert tr.record(case).values["title"] == "Typed"
    assert tf.record(copy).values["title"] == "Typed"
    assert store.family("conflict") == []
    [logged] = store.family("resolved")
    entry = store.get_in("resolved", logged)
    assert entry["conflict"]["values"] == {
        TESTRAIL: "Sign in",
        "base": "Log in",
        TESTFIESTA: "Log on",
    }
    assert entry["resolution"]["winner"] == "value"
    assert entry["resolution"]["value"] == "Typed"


async def test_unresolve_takes_a_choice_back_before_it_is_applied(store: StateStore) -> None:
    tr, tf, case, copy, cid = await _conflict(store)
    engine = Engine(store, tr, tf)
    assert engine.unresolve(cid) is False
    engine.resolve(cid, TESTFIESTA, by="carol")
    assert store.get_in("conflict", cid)["resolution"]["value"] == "Log on"
    assert engine.unresolve(cid) is True
    assert store.get_in("conflict", cid)["resolution"] is None
    writes = (tr.writes, tf.writes)
    report = await engine.run(Settings())
    assert report.plan.operations == []
    assert (tr.writes, tf.writes) == writes
    assert store.family("conflict") == [cid]
    assert store.get_in("conflict", cid)["resolution"] is None
    assert store.family("resolved") == []
    assert tr.record(case).values["title"] == "Sign in"
    assert tf.record(copy).values["title"] == "Log on"


async def test_resolve_refuses_unknown_conflicts_and_winners(store: StateStore) -> None:
    tr, tf, _case, _copy, cid = await _conflict(store)
    engine = Engine(store, tr, tf)
    with pytest.raises(KeyError):
        engine.resolve("000000000000", TESTRAIL, by="dave")
    with pytest.raises(ValueError, match="winner"):
        engine.resolve(cid, "both", by="dave")
    assert store.get_in("conflict", cid)["resolution"] is None


async def test_policy_resolution_is_logged_with_the_losing_value(store: StateStore) -> None:
    tr, tf = sides()
    root = tr.add("folder", {"name": "Root"})
    case = tr.add("case", {"title": "Log in", "folder": root})
    await Engine(store, tr, tf).run(Settings(mode=MIGRATE), full=True)
    copy = store.linked(case)
    assert copy is not None
    tr.edit(case, title="Sign in")
    tf.edit(copy, title="Log on")
    await Engine(store, tr, tf).run(Settings(conflict_policy=TESTFIESTA_WINS))

    assert tr.record(case).values["title"] == "Log on"
    assert tf.record(copy).values["title"] == "Log on"
    assert store.family("conflict") == []
    [logged] = store.family("resolved")
    entry = store.get_in("resolved", logged)
    assert entry["losing"] == {TESTRAIL: "Sign in"}
    assert entry["resolution"]["winner"] == TESTFIESTA
    assert entry["resolution"]["by"] == TESTFIESTA_WINS
