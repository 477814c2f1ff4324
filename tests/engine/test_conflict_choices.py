"""The facade's conflict calls over a real StateStore and two in-memory sides: the record's
title, "the same choice for the rest of this field", and an edited value, each applied by the
next cycle."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from core.engine.cycle import (
    Engine,
    find_conflict,
    record_title,
    resolve_conflict,
    resolve_rest,
    rest_of_field,
    stored_conflicts,
)
from core.engine.reconcile import MIGRATE, TESTFIESTA, TESTRAIL, Settings, conflict_id
from core.engine.sides import MemorySide
from core.store import StateStore

STEPS = [{"content": "Open page", "expected": "Form shows"}, {"content": "Click"}]


@pytest.fixture
def store(tmp_path: Path) -> Any:
    with StateStore(tmp_path / "state") as opened:
        yield opened


async def three_title_conflicts_and_a_step(
    store: StateStore,
) -> tuple[MemorySide, MemorySide, list[str], str]:
    """Cases "Case 1".."Case 3" renamed differently on both sides, and step 2 of "Case 4"
    edited on both; returns the sides, the three title cases and the step case."""
    tr, tf = MemorySide("testrail", "tr"), MemorySide("testfiesta", "tf")
    root = tr.add("folder", {"name": "Root"})
    cases = [tr.add("case", {"title": f"Case {n}", "folder": root}) for n in (1, 2, 3)]
    stepped = tr.add("case", {"title": "Case 4", "folder": root, "steps": STEPS})
    await Engine(store, tr, tf).run(Settings(mode=MIGRATE), full=True)
    for n, case in enumerate(cases, 1):
        copy = store.linked(case)
        assert copy is not None
        tr.edit(case, title=f"TR {n}")
        tf.edit(copy, title=f"TF {n}")
    copy = store.linked(stepped)
    assert copy is not None
    tr.edit(stepped, steps=[STEPS[0], {"content": "Click (TR)"}])
    tf.edit(copy, steps=[STEPS[0], {"content": "Click (TF)"}])
    report = await Engine(store, tr, tf).run(Settings())
    assert sorted(c.field for c in report.plan.conflicts) == ["steps[2]", *["title"] * 3]
    return tr, tf, cases, stepped


async def test_the_record_title_comes_from_the_base(store: StateStore) -> None:
    _tr, _tf, cases, stepped = await three_title_conflicts_and_a_step(store)
    # the title both last agreed on, not either side's new one
    assert record_title(store, cases[0]) == "Case 1"
    assert record_title(store, stepped) == "Case 4"
    assert record_title(store, "tr:case:999") is None


async def test_the_rest_of_a_field_is_the_other_open_conflicts_of_that_field(
    store: StateStore,
) -> None:
    _tr, _tf, cases, stepped = await three_title_conflicts_and_a_step(store)
    first, second, third = (conflict_id(c, "title") for c in cases)
    assert [e["conflict"]["id"] for e in rest_of_field(store, first)] == [second, third]
    resolve_conflict(store, second, TESTFIESTA, by="alice")
    # a conflict with a choice already made is not "the rest"
    assert [e["conflict"]["id"] for e in rest_of_field(store, first)] == [third]
    assert rest_of_field(store, conflict_id(stepped, "steps[2]")) == []
    with pytest.raises(KeyError):
        rest_of_field(store, "000000000000")


async def test_the_same_choice_for_the_rest_lands_on_both_sides(store: StateStore) -> None:
    tr, tf, cases, stepped = await three_title_conflicts_and_a_step(store)
    first = conflict_id(cases[0], "title")
    resolve_conflict(store, first, TESTRAIL, by="alice")
    done = resolve_rest(store, first, TESTRAIL, by="alice")
    assert [e["conflict"]["id"] for e in done] == [conflict_id(c, "title") for c in cases[1:]]
    assert all(e["resolution"]["winner"] == TESTRAIL for e in done)
    # the step conflict is another field: untouched
    step_entry = find_conflict(store, conflict_id(stepped, "steps[2]"))
    assert step_entry["resolution"] is None
    with pytest.raises(ValueError, match="winner must be testrail or testfiesta"):
        resolve_rest(store, first, "value", by="alice")

    await Engine(store, tr, tf).run(Settings())
    for n, case in enumerate(cases, 1):
        copy = store.linked(case)
        assert copy is not None
        assert tr.record(case).values["title"] == f"TR {n}"
        assert tf.record(copy).values["title"] == f"TR {n}"
    assert [e["conflict"]["field"] for e in stored_conflicts(store)] == ["steps[2]"]


async def test_an_edited_step_lands_on_both_sides(store: StateStore) -> None:
    tr, tf, _cases, stepped = await three_title_conflicts_and_a_step(store)
    cid = conflict_id(stepped, "steps[2]")
    resolve_conflict(store, cid, "value", {"content": "Click once"}, by="bob")
    await Engine(store, tr, tf).run(Settings())
    copy = store.linked(stepped)
    assert copy is not None
    assert tr.record(stepped).values["steps"] == [STEPS[0], {"content": "Click once"}]
    assert tf.record(copy).values["steps"] == [STEPS[0], {"content": "Click once"}]
