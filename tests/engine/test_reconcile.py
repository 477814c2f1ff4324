"""reconcile() and merge_lists(): pure, so every test builds Inputs by hand and asserts the exact
decisions, conflicts, resolutions and notices."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pytest

from core.engine.reconcile import (
    ARCHIVE,
    ASK,
    MIGRATE,
    NEWEST_WINS,
    PROPAGATE,
    TESTFIESTA,
    TESTFIESTA_WINS,
    TESTRAIL,
    TESTRAIL_WINS,
    Base,
    Conflict,
    Create,
    Flag,
    Forget,
    Inputs,
    Link,
    ListMerge,
    Notice,
    Reconciliation,
    Refresh,
    Remove,
    Resolution,
    Settings,
    Snapshot,
    Update,
    conflict_id,
    merge_lists,
    reconcile,
)
from core.model import Record

TR_ROOT, TF_ROOT = "tr:folder:1", "tf:folder:1"
TR_SUB, TF_SUB = "tr:folder:2", "tf:folder:2"
TR_CASE, TF_CASE = "tr:case:10", "tf:case:20"


def steps(*contents: str) -> list[dict[str, str]]:
    return [{"content": c} for c in contents]


BASE_STEPS = steps("Open page", "Type name", "Click", "Check")
CASE = {
    "title": "Log in",
    "folder": TR_ROOT,
    "priority": "Medium",
    "template": "Test Case (Steps)",
    "field:custom_preconds": "Logged out",
    "steps": BASE_STEPS,
}
FOLDER_BASES = (
    Base("folder", TR_ROOT, TF_ROOT, {"name": "Root"}),
    Base("folder", TR_SUB, TF_SUB, {"name": "Sub", "parent": TR_ROOT}),
)


def case_base(tr: str = TR_CASE, tf: str = TF_CASE, **changes: Any) -> Base:
    return Base("case", tr, tf, {**CASE, **changes})


def tr_case(key: str = TR_CASE, updated_on: int | None = None, **changes: Any) -> Record:
    return Record("case", key, {**CASE, **changes}, updated_on=updated_on)


def tf_case(
    key: str = TF_CASE, updated_on: int | None = None, origin: str | None = None, **changes: Any
) -> Record:
    """A TestFiesta copy of CASE: its folder is TestFiesta's own key."""
    values = {**CASE, "folder": TF_ROOT, **changes}
    return Record("case", key, values, origin=origin, updated_on=updated_on)


def inputs(
    *records: Record,
    bases: Iterable[Base] | None = None,
    tr_complete: Iterable[str] = (),
    tf_complete: Iterable[str] = (),
    resolutions: Mapping[str, tuple[str, Any]] | None = None,
    links: Mapping[str, str] | None = None,
) -> Inputs:
    """Inputs over ``records`` (split by key prefix); bases default to the folders and CASE."""
    chosen = list(bases) if bases is not None else [*FOLDER_BASES, case_base()]
    return Inputs(
        bases={b.testrail: b for b in chosen},
        testrail=Snapshot(
            {r.key: r for r in records if r.key.startswith("tr:")}, frozenset(tr_complete)
        ),
        testfiesta=Snapshot(
            {r.key: r for r in records if r.key.startswith("tf:")}, frozenset(tf_complete)
        ),
        resolutions=dict(resolutions or {}),
        links=dict(links or {}),
    )


def unordered(decisions: Iterable[Any]) -> list[Any]:
    """``decisions`` in a fixed order (reconcile returns them in no particular order)."""
    return sorted(decisions, key=repr)


def conflict(name: str, tr: Any, base: Any, tf: Any, pair: str = TR_CASE) -> Conflict:
    partner = TF_CASE if pair == TR_CASE else pair.replace("tr:", "tf:")
    return Conflict(
        conflict_id(pair, name),
        "case",
        pair,
        partner,
        name,
        {TESTRAIL: tr, "base": base, TESTFIESTA: tf},
    )


# ---------------------------------------------------------------------- helpers of the module


def test_conflict_id_is_stable_and_short() -> None:
    first = conflict_id(TR_CASE, "title")
    assert first == conflict_id(TR_CASE, "title")
    assert len(first) == 12
    assert int(first, 16) >= 0
    assert first != conflict_id(TR_CASE, "priority")
    assert first != conflict_id("tr:case:11", "title")


def test_policy_for_a_step_follows_its_list() -> None:
    settings = Settings(conflict_policy=TESTRAIL_WINS, field_policies={"steps": ASK})
    assert settings.policy_for("steps[2]") == ASK
    assert settings.policy_for("steps") == ASK
    assert settings.policy_for("title") == TESTRAIL_WINS


def test_base_round_trips_through_json_form() -> None:
    base = Base("case", TR_CASE, TF_CASE, CASE, frozenset({"title", "priority"}), TESTRAIL)
    data = base.as_dict()
    assert data["unknown"] == ["priority", "title"]
    assert Base.from_dict(data) == base


# ---------------------------------------------------------------------- one linked pair


def test_pair_in_sync_decides_nothing_references_compared_in_pair_space() -> None:
    """The TF copy's folder is tf:folder:1, linked (by a folder base) to tr:folder:1."""
    result = reconcile(inputs(tr_case(), tf_case()), Settings())
    assert result == Reconciliation()


def test_reference_through_links_outside_the_bases() -> None:
    """A folder whose base is not loaded still translates through Inputs.links."""
    bases = [case_base()]
    result = reconcile(
        inputs(tr_case(), tf_case(), bases=bases, links={TF_ROOT: TR_ROOT}), Settings()
    )
    assert result == Reconciliation()


def test_title_edited_in_testrail_only() -> None:
    result = reconcile(inputs(tr_case(title="Sign in"), tf_case()), Settings())
    assert result == Reconciliation(
        decisions=[
            Update(
                "case",
                TESTFIESTA,
                TR_CASE,
                TF_CASE,
                changes={"title": "Sign in"},
                expected={"title": "Log in"},
                settles={"title": "Sign in"},
            )
        ]
    )


def test_priority_edited_in_testfiesta_only() -> None:
    result = reconcile(inputs(tr_case(), tf_case(priority="High")), Settings())
    assert result == Reconciliation(
        decisions=[
            Update(
                "case",
                TESTRAIL,
                TR_CASE,
                TR_CASE,
                changes={"priority": "High"},
                expected={"priority": "Medium"},
                settles={"priority": "High"},
            )
        ]
    )


def test_side_that_did_not_observe_the_record_holds_the_base() -> None:
    result = reconcile(inputs(tr_case(title="Sign in")), Settings())
    assert result.decisions == [
        Update(
            "case",
            TESTFIESTA,
            TR_CASE,
            TF_CASE,
            changes={"title": "Sign in"},
            expected={"title": "Log in"},
            settles={"title": "Sign in"},
        )
    ]
    assert result.conflicts == []
    assert result.resolutions == []
    assert result.notices == []


def test_value_cleared_on_one_side_is_cleared_on_the_other() -> None:
    tf = Record("case", TF_CASE, {k: v for k, v in tf_case().values.items() if k != "priority"})
    result = reconcile(inputs(tr_case(), tf), Settings())
    assert result.decisions == [
        Update(
            "case",
            TESTRAIL,
            TR_CASE,
            TR_CASE,
            changes={"priority": None},
            expected={"priority": "Medium"},
            settles={"priority": None},
        )
    ]


def test_different_values_edited_on_each_side_both_land_without_conflict() -> None:
    tf = Record("case", TF_CASE, {**tf_case().values, "field:custom_preconds": "Logged in"})
    result = reconcile(inputs(tr_case(title="Sign in"), tf), Settings())
    assert unordered(result.decisions) == unordered(
        [
            Update(
                "case",
                TESTRAIL,
                TR_CASE,
                TR_CASE,
                changes={"field:custom_preconds": "Logged in"},
                expected={"field:custom_preconds": "Logged out"},
                settles={"field:custom_preconds": "Logged in"},
            ),
            Update(
                "case",
                TESTFIESTA,
                TR_CASE,
                TF_CASE,
                changes={"title": "Sign in"},
                expected={"title": "Log in"},
                settles={"title": "Sign in"},
            ),
        ],
    )
    assert result.conflicts == []
    assert result.resolutions == []


def test_same_edit_on_both_sides_only_moves_the_base() -> None:
    result = reconcile(inputs(tr_case(title="Sign in"), tf_case(title="Sign in")), Settings())
    assert result == Reconciliation(
        decisions=[Refresh("case", TR_CASE, {"title": "Sign in"}, (conflict_id(TR_CASE, "title"),))]
    )


def test_case_moved_in_testfiesta_moves_in_testrail_in_pair_space() -> None:
    result = reconcile(inputs(tr_case(), tf_case(folder=TF_SUB)), Settings())
    assert result.decisions == [
        Update(
            "case",
            TESTRAIL,
            TR_CASE,
            TR_CASE,
            changes={"folder": TR_SUB},
            expected={"folder": TR_ROOT},
            settles={"folder": TR_SUB},
        )
    ]


# ---------------------------------------------------------------------- conflicts and policies


def test_same_value_edited_differently_is_one_conflict_other_edits_still_land() -> None:
    result = reconcile(
        inputs(tr_case(title="Sign in"), tf_case(title="Log on", priority="High")), Settings()
    )
    assert result.conflicts == [conflict("title", "Sign in", "Log in", "Log on")]
    assert result.decisions == [
        Update(
            "case",
            TESTRAIL,
            TR_CASE,
            TR_CASE,
            changes={"priority": "High"},
            expected={"priority": "Medium"},
            settles={"priority": "High"},
        )
    ]
    assert result.resolutions == []
    assert result.notices == []


@pytest.mark.parametrize(
    ("policy", "winner", "value", "loser", "losing", "side", "target", "expected"),
    [
        (TESTRAIL_WINS, TESTRAIL, "Sign in", TESTFIESTA, "Log on", TESTFIESTA, TF_CASE, "Log on"),
        (TESTFIESTA_WINS, TESTFIESTA, "Log on", TESTRAIL, "Sign in", TESTRAIL, TR_CASE, "Sign in"),
    ],
)
def test_side_wins_policy(
    policy: str,
    winner: str,
    value: str,
    loser: str,
    losing: str,
    side: str,
    target: str,
    expected: str,
) -> None:
    result = reconcile(
        inputs(tr_case(title="Sign in"), tf_case(title="Log on")),
        Settings(conflict_policy=policy),
    )
    assert result.decisions == [
        Update(
            "case",
            side,
            TR_CASE,
            target,
            changes={"title": value},
            expected={"title": expected},
            settles={"title": value},
        ),
        Refresh("case", TR_CASE, {}, (conflict_id(TR_CASE, "title"),)),
    ]
    assert result.conflicts == []
    assert result.resolutions == [
        Resolution(
            conflict("title", "Sign in", "Log in", "Log on"), winner, value, {loser: losing}, policy
        )
    ]


@pytest.mark.parametrize(
    ("tr_time", "tf_time", "winner"),
    [
        (100, 200, TESTFIESTA),
        (200, 100, TESTRAIL),
        (100, 100, TESTRAIL),  # a tie goes to TestRail
        (None, 100, TESTFIESTA),
        (None, None, TESTRAIL),
    ],
)
def test_newest_wins_uses_updated_on(tr_time: int | None, tf_time: int | None, winner: str) -> None:
    result = reconcile(
        inputs(
            tr_case(title="Sign in", updated_on=tr_time),
            tf_case(title="Log on", updated_on=tf_time),
        ),
        Settings(conflict_policy=NEWEST_WINS),
    )
    value, losing = ("Sign in", "Log on") if winner == TESTRAIL else ("Log on", "Sign in")
    loser = TESTFIESTA if winner == TESTRAIL else TESTRAIL
    assert result.conflicts == []
    assert result.resolutions == [
        Resolution(
            conflict("title", "Sign in", "Log in", "Log on"),
            winner,
            value,
            {loser: losing},
            NEWEST_WINS,
        )
    ]
    target = TF_CASE if winner == TESTRAIL else TR_CASE
    assert result.decisions == [
        Update(
            "case",
            loser,
            TR_CASE,
            target,
            changes={"title": value},
            expected={"title": losing},
            settles={"title": value},
        ),
        Refresh("case", TR_CASE, {}, (conflict_id(TR_CASE, "title"),)),
    ]


def test_field_policy_overrides_conflict_policy() -> None:
    """title: testfiesta-wins by field; priority: the pair's ``ask`` -> a conflict."""
    result = reconcile(
        inputs(tr_case(title="Sign in", priority="High"), tf_case(title="Log on", priority="Low")),
        Settings(conflict_policy=ASK, field_policies={"title": TESTFIESTA_WINS}),
    )
    assert result.conflicts == [conflict("priority", "High", "Medium", "Low")]
    assert result.resolutions == [
        Resolution(
            conflict("title", "Sign in", "Log in", "Log on"),
            TESTFIESTA,
            "Log on",
            {TESTRAIL: "Sign in"},
            TESTFIESTA_WINS,
        )
    ]
    assert result.decisions == [
        Update(
            "case",
            TESTRAIL,
            TR_CASE,
            TR_CASE,
            changes={"title": "Log on"},
            expected={"title": "Sign in"},
            settles={"title": "Log on"},
        ),
        Refresh("case", TR_CASE, {}, (conflict_id(TR_CASE, "title"),)),
    ]


def test_field_policy_ask_overrides_a_winning_conflict_policy() -> None:
    result = reconcile(
        inputs(tr_case(title="Sign in", priority="High"), tf_case(title="Log on", priority="Low")),
        Settings(conflict_policy=TESTRAIL_WINS, field_policies={"title": ASK}),
    )
    assert result.conflicts == [conflict("title", "Sign in", "Log in", "Log on")]
    assert [(r.conflict.field, r.winner, r.value, r.by) for r in result.resolutions] == [
        ("priority", TESTRAIL, "High", TESTRAIL_WINS)
    ]
    assert result.decisions == [
        Update(
            "case",
            TESTFIESTA,
            TR_CASE,
            TF_CASE,
            changes={"priority": "High"},
            expected={"priority": "Low"},
            settles={"priority": "High"},
        ),
        Refresh("case", TR_CASE, {}, (conflict_id(TR_CASE, "priority"),)),
    ]


@pytest.mark.parametrize(
    ("winner", "typed", "value"),
    [(TESTRAIL, None, "Sign in"), (TESTFIESTA, None, "Log on"), ("value", "Typed", "Typed")],
)
def test_a_persons_resolution_is_propagated(winner: str, typed: Any, value: str) -> None:
    cid = conflict_id(TR_CASE, "title")
    result = reconcile(
        inputs(
            tr_case(title="Sign in"),
            tf_case(title="Log on"),
            resolutions={cid: (winner, typed)},
        ),
        Settings(conflict_policy=TESTRAIL_WINS),  # a person's choice beats the policy
    )
    updates = []
    if value != "Sign in":
        updates.append(
            Update(
                "case",
                TESTRAIL,
                TR_CASE,
                TR_CASE,
                changes={"title": value},
                expected={"title": "Sign in"},
                settles={"title": value},
            )
        )
    if value != "Log on":
        updates.append(
            Update(
                "case",
                TESTFIESTA,
                TR_CASE,
                TF_CASE,
                changes={"title": value},
                expected={"title": "Log on"},
                settles={"title": value},
            )
        )
    assert result == Reconciliation(
        decisions=[*updates, Refresh("case", TR_CASE, {}, (cid,))],
    )


# ---------------------------------------------------------------------- steps


def test_different_steps_edited_on_each_side_merge() -> None:
    tr_steps = steps("Open page", "Type email", "Click", "Check")
    tf_steps = steps("Open page", "Type name", "Click", "Check greeting")
    merged = steps("Open page", "Type email", "Click", "Check greeting")
    result = reconcile(inputs(tr_case(steps=tr_steps), tf_case(steps=tf_steps)), Settings())
    assert result == Reconciliation(
        decisions=[
            Update(
                "case",
                TESTRAIL,
                TR_CASE,
                TR_CASE,
                changes={"steps": merged},
                expected={"steps": tr_steps},
                settles={"steps": merged},
            ),
            Update(
                "case",
                TESTFIESTA,
                TR_CASE,
                TF_CASE,
                changes={"steps": merged},
                expected={"steps": tf_steps},
                settles={"steps": merged},
            ),
        ]
    )


def test_same_step_edited_on_both_is_one_conflict_clean_step_edits_still_land() -> None:
    """Step 2 differs on both sides; TestRail also edited step 3, which reaches TestFiesta.
    Each side keeps its own step 2 and the base keeps the old one, so it stays a conflict."""
    tr_steps = steps("Open page", "Type email", "Press Enter", "Check")
    tf_steps = steps("Open page", "Type login", "Click", "Check")
    result = reconcile(inputs(tr_case(steps=tr_steps), tf_case(steps=tf_steps)), Settings())
    assert result.conflicts == [
        conflict(
            "steps[2]",
            {"content": "Type email"},
            {"content": "Type name"},
            {"content": "Type login"},
        )
    ]
    assert result.decisions == [
        Update(
            "case",
            TESTFIESTA,
            TR_CASE,
            TF_CASE,
            changes={"steps": steps("Open page", "Type login", "Press Enter", "Check")},
            expected={"steps": tf_steps},
            settles={},
        ),
        Refresh(
            "case", TR_CASE, {"steps": steps("Open page", "Type name", "Press Enter", "Check")}
        ),
    ]
    assert result.resolutions == []
    assert result.notices == []


def test_same_step_conflict_follows_the_steps_field_policy() -> None:
    tr_steps = steps("Open page", "Type email", "Click", "Check")
    tf_steps = steps("Open page", "Type login", "Click", "Check!")
    merged = steps("Open page", "Type login", "Click", "Check!")
    result = reconcile(
        inputs(tr_case(steps=tr_steps), tf_case(steps=tf_steps)),
        Settings(field_policies={"steps": TESTFIESTA_WINS}),
    )
    step_conflict = conflict(
        "steps[2]", {"content": "Type email"}, {"content": "Type name"}, {"content": "Type login"}
    )
    assert result.conflicts == []
    assert result.resolutions == [
        Resolution(
            step_conflict,
            TESTFIESTA,
            {"content": "Type login"},
            {TESTRAIL: {"content": "Type email"}},
            TESTFIESTA_WINS,
        )
    ]
    assert result.decisions == [
        Update(
            "case",
            TESTRAIL,
            TR_CASE,
            TR_CASE,
            changes={"steps": merged},
            expected={"steps": tr_steps},
            settles={"steps": merged},
        ),
        Refresh("case", TR_CASE, {}, (step_conflict.id,)),
    ]


def test_resolved_step_lands_while_another_step_conflict_stays_open() -> None:
    """A person chose TestRail for steps[2]; steps[4] still waits. The choice is written to
    TestFiesta and to the base now, not dropped until steps[4] is settled too."""
    tr_steps = steps("Open page", "Type email", "Click", "Check A")
    tf_steps = steps("Open page", "Type login", "Click", "Check B")
    cid2, cid4 = conflict_id(TR_CASE, "steps[2]"), conflict_id(TR_CASE, "steps[4]")
    result = reconcile(
        inputs(
            tr_case(steps=tr_steps),
            tf_case(steps=tf_steps),
            resolutions={cid2: (TESTRAIL, None)},
        ),
        Settings(),
    )
    assert result.conflicts == [
        conflict("steps[4]", {"content": "Check A"}, {"content": "Check"}, {"content": "Check B"})
    ]
    assert cid4 == result.conflicts[0].id
    assert unordered(result.decisions) == unordered(
        [
            Update(
                "case",
                TESTFIESTA,
                TR_CASE,
                TF_CASE,
                changes={"steps": steps("Open page", "Type email", "Click", "Check B")},
                expected={"steps": tf_steps},
                settles={},
            ),
            Refresh("case", TR_CASE, {"steps": steps("Open page", "Type email", "Click", "Check")}),
            Refresh("case", TR_CASE, {}, (cid2,)),
        ],
    )


def test_steps_of_different_lengths_merge() -> None:
    """TestFiesta inserts a step after step 1; TestRail edits step 4."""
    tr_steps = steps("Open page", "Type name", "Click", "Check greeting")
    tf_steps = steps("Open page", "Accept cookies", "Type name", "Click", "Check")
    merged = steps("Open page", "Accept cookies", "Type name", "Click", "Check greeting")
    result = reconcile(inputs(tr_case(steps=tr_steps), tf_case(steps=tf_steps)), Settings())
    assert result == Reconciliation(
        decisions=[
            Update(
                "case",
                TESTRAIL,
                TR_CASE,
                TR_CASE,
                changes={"steps": merged},
                expected={"steps": tr_steps},
                settles={"steps": merged},
            ),
            Update(
                "case",
                TESTFIESTA,
                TR_CASE,
                TF_CASE,
                changes={"steps": merged},
                expected={"steps": tf_steps},
                settles={"steps": merged},
            ),
        ]
    )


def test_overlapping_step_edits_are_one_conflict_on_steps() -> None:
    """TestRail deletes step 2; TestFiesta rewrites it and adds one: no position says it."""
    tr_steps = steps("Open page", "Click", "Check")
    tf_steps = steps("Open page", "Type login", "Click", "Check", "Log out")
    result = reconcile(inputs(tr_case(steps=tr_steps), tf_case(steps=tf_steps)), Settings())
    assert result == Reconciliation(conflicts=[conflict("steps", tr_steps, BASE_STEPS, tf_steps)])


# ---------------------------------------------------------------------- new records and links


def test_new_testrail_record_is_created_in_testfiesta() -> None:
    new = tr_case("tr:case:11", title="Log out", folder=TR_SUB)
    result = reconcile(inputs(new), Settings())
    assert result == Reconciliation(
        decisions=[
            Create("case", TESTFIESTA, "tr:case:11", {**CASE, "title": "Log out", "folder": TR_SUB})
        ]
    )
    assert reconcile(inputs(new), Settings(mode=MIGRATE)) == result


def test_new_testfiesta_record_is_created_in_testrail_in_sync_mode_only() -> None:
    """Its folder is linked (written as the TestRail key); a new folder is not (its own key)."""
    folder = Record("folder", "tf:folder:3", {"name": "New", "parent": TF_SUB})
    case = tf_case("tf:case:21", title="Log out", folder="tf:folder:3")
    result = reconcile(inputs(folder, case), Settings())
    assert unordered(result.decisions) == unordered(
        [
            Create("folder", TESTRAIL, "tf:folder:3", {"name": "New", "parent": TR_SUB}),
            Create(
                "case",
                TESTRAIL,
                "tf:case:21",
                {**CASE, "title": "Log out", "folder": "tf:folder:3"},
            ),
        ],
    )
    assert result.conflicts == []
    assert result.notices == []
    assert result.resolutions == []
    assert reconcile(inputs(folder, case), Settings(mode=MIGRATE)) == Reconciliation()


def test_copy_found_by_origin_is_linked_with_agreed_values_as_base() -> None:
    """A lost answer: the TestFiesta copy exists (origin = the TR key) but no base does."""
    tr = tr_case("tr:case:11", title="Sign in")
    tf = tf_case("tf:case:21", origin="tr:case:11", title="Log on")
    agreed = {k: v for k, v in CASE.items() if k != "title"}
    link = Link("case", "tr:case:11", "tf:case:21", agreed, frozenset({"title"}))
    assert reconcile(inputs(tr, tf), Settings(mode=MIGRATE)) == Reconciliation(decisions=[link])
    result = reconcile(inputs(tr, tf), Settings())
    assert result == Reconciliation(
        decisions=[link],
        conflicts=[
            Conflict(
                conflict_id("tr:case:11", "title"),
                "case",
                "tr:case:11",
                "tf:case:21",
                "title",
                {TESTRAIL: "Sign in", "base": None, TESTFIESTA: "Log on"},
            )
        ],
    )


def test_identical_copy_found_by_origin_is_linked_only() -> None:
    tr = tr_case("tr:case:11")
    tf = tf_case("tf:case:21", origin="tr:case:11")
    assert reconcile(inputs(tr, tf), Settings()) == Reconciliation(
        decisions=[Link("case", "tr:case:11", "tf:case:21", CASE, frozenset())]
    )


def test_testrail_copy_of_a_testfiesta_record_is_linked_by_its_origin() -> None:
    tr = Record("case", "tr:case:11", CASE, origin="tf:case:21")
    tf = tf_case("tf:case:21")
    assert reconcile(inputs(tr, tf), Settings()) == Reconciliation(
        decisions=[Link("case", "tr:case:11", "tf:case:21", CASE, frozenset())]
    )


def test_unknown_value_settled_by_policy_when_linking() -> None:
    tr = tr_case("tr:case:11", title="Sign in")
    tf = tf_case("tf:case:21", origin="tr:case:11", title="Log on")
    result = reconcile(inputs(tr, tf), Settings(conflict_policy=TESTRAIL_WINS))
    agreed = {k: v for k, v in CASE.items() if k != "title"}
    assert result.decisions == [
        Link("case", "tr:case:11", "tf:case:21", agreed, frozenset({"title"})),
        Update(
            "case",
            TESTFIESTA,
            "tr:case:11",
            "tf:case:21",
            changes={"title": "Sign in"},
            expected={"title": "Log on"},
            settles={"title": "Sign in"},
        ),
        Refresh("case", "tr:case:11", {}, (conflict_id("tr:case:11", "title"),)),
    ]
    assert [(r.winner, r.value, r.losing) for r in result.resolutions] == [
        (TESTRAIL, "Sign in", {TESTFIESTA: "Log on"})
    ]
    assert result.conflicts == []


def test_copy_whose_original_was_not_observed_is_a_stray() -> None:
    tf = tf_case("tf:case:21", origin="tr:case:99")
    result = reconcile(inputs(tf), Settings())
    assert result.decisions == []
    assert result.conflicts == []
    assert result.resolutions == []
    [notice] = result.notices
    assert (notice.what, notice.kind, notice.key, notice.other) == (
        "stray",
        "case",
        "tf:case:21",
        "tr:case:99",
    )
    assert "tf:case:21" in notice.message
    assert "tr:case:99" in notice.message


def test_testrail_copy_whose_original_is_gone_is_a_stray() -> None:
    tr = Record("case", "tr:case:11", CASE, origin="tf:case:99")
    result = reconcile(inputs(tr), Settings())
    assert result.decisions == []
    [notice] = result.notices
    assert (notice.what, notice.kind, notice.key, notice.other) == (
        "stray",
        "case",
        "tr:case:11",
        "tf:case:99",
    )


# ---------------------------------------------------------------------- deletes


def test_delete_is_flagged_by_default() -> None:
    result = reconcile(inputs(tf_case(), tr_complete={"case"}), Settings())
    assert result.decisions == [Flag("case", TR_CASE, TESTRAIL)]
    [notice] = result.notices
    assert (notice.what, notice.kind, notice.key, notice.other) == (
        "flagged",
        "case",
        TF_CASE,
        TR_CASE,
    )
    assert result.conflicts == []
    assert result.resolutions == []


def test_missing_record_is_not_a_delete_when_observation_was_incomplete() -> None:
    assert reconcile(inputs(tf_case(), tf_complete={"case"}), Settings()) == Reconciliation()


@pytest.mark.parametrize(("policy", "action"), [(ARCHIVE, "archive"), (PROPAGATE, "delete")])
def test_delete_in_testrail_archives_or_deletes_the_testfiesta_copy(
    policy: str, action: str
) -> None:
    result = reconcile(inputs(tf_case(), tr_complete={"case"}), Settings(delete_policy=policy))
    assert result == Reconciliation(
        decisions=[Remove("case", TESTFIESTA, TR_CASE, TF_CASE, action)]
    )


def test_delete_in_testfiesta_deletes_the_testrail_copy() -> None:
    result = reconcile(inputs(tr_case(), tf_complete={"case"}), Settings(delete_policy=PROPAGATE))
    assert result == Reconciliation(
        decisions=[Remove("case", TESTRAIL, TR_CASE, TR_CASE, "delete")]
    )


def _many(n: int) -> list[Base]:
    return [case_base(f"tr:case:{100 + i}", f"tf:case:{200 + i}") for i in range(n)]


def test_more_deletes_than_the_threshold_are_held() -> None:
    bases = _many(25)
    result = reconcile(
        inputs(bases=bases, tr_complete={"case"}),
        Settings(delete_policy=PROPAGATE, big_delete_threshold=20),
    )
    assert result.decisions == []
    assert [(n.what, n.kind, n.key, n.other) for n in result.notices] == [
        ("held", "case", b.testfiesta, b.testrail) for b in bases
    ]


def test_held_deletes_go_with_confirmation() -> None:
    bases = _many(25)
    result = reconcile(
        inputs(bases=bases, tr_complete={"case"}),
        Settings(delete_policy=PROPAGATE, big_delete_threshold=20, confirm_deletes=True),
    )
    assert result == Reconciliation(
        decisions=[Remove("case", TESTFIESTA, b.testrail, b.testfiesta, "delete") for b in bases]
    )


def test_deletes_up_to_the_threshold_go_without_confirmation() -> None:
    bases = _many(20)
    result = reconcile(
        inputs(bases=bases, tr_complete={"case"}),
        Settings(delete_policy=ARCHIVE, big_delete_threshold=20),
    )
    assert len(result.decisions) == 20
    assert all(isinstance(d, Remove) and d.action == "archive" for d in result.decisions)
    assert result.notices == []


def test_edit_beats_delete_the_record_is_copied_back() -> None:
    result = reconcile(
        inputs(tf_case(title="Log on"), tr_complete={"case"}), Settings(delete_policy=PROPAGATE)
    )
    assert result.decisions == [
        Create("case", TESTRAIL, TF_CASE, {**CASE, "title": "Log on"}, replaces=TR_CASE)
    ]
    [notice] = result.notices
    assert (notice.what, notice.kind, notice.key, notice.other) == (
        "kept",
        "case",
        TF_CASE,
        TR_CASE,
    )
    assert result.conflicts == []


def test_gone_on_both_sides_is_forgotten() -> None:
    result = reconcile(
        inputs(tr_complete={"case"}, tf_complete={"case"}), Settings(delete_policy=PROPAGATE)
    )
    assert result == Reconciliation(decisions=[Forget("case", TR_CASE)])


def test_flagged_delete_is_reported_once_then_forgotten_when_both_are_gone() -> None:
    flagged = [*FOLDER_BASES, Base("case", TR_CASE, TF_CASE, CASE, gone=TESTRAIL)]
    again = reconcile(inputs(tf_case(), bases=flagged, tr_complete={"case"}), Settings())
    assert again == Reconciliation()
    both = reconcile(inputs(bases=flagged, tr_complete={"case"}, tf_complete={"case"}), Settings())
    assert both == Reconciliation(decisions=[Forget("case", TR_CASE)])


@pytest.mark.parametrize("policy", [ARCHIVE, PROPAGATE])
def test_migrate_mode_makes_no_deletes(policy: str) -> None:
    settings = Settings(mode=MIGRATE, delete_policy=policy, confirm_deletes=True)
    assert reconcile(inputs(tf_case(), tr_complete={"case"}), settings) == Reconciliation()
    edited = inputs(tf_case(title="Log on"), tr_complete={"case"})
    assert reconcile(edited, settings) == Reconciliation()


@pytest.mark.parametrize("gone", [None, TESTFIESTA])
def test_migrate_mode_copies_again_what_was_deleted_in_testfiesta(gone: str | None) -> None:
    """A migration makes TestFiesta hold TestRail's records: a linked copy missing from a
    complete TestFiesta listing (deleted by a person, or flagged by a sync) is created again,
    its old link replaced; a sync cycle keeps its delete rules (flagged above)."""
    base = Base("case", TR_CASE, TF_CASE, dict(CASE), gone=gone)
    record = tr_case()
    result = reconcile(inputs(record, bases=[base], tf_complete={"case"}), Settings(mode=MIGRATE))
    assert result == Reconciliation(
        decisions=[Create("case", TESTFIESTA, TR_CASE, record.values, TR_CASE)],
        notices=[
            Notice(
                "recreated",
                "case",
                TR_CASE,
                f"{TF_CASE}, the copy of {TR_CASE}, was deleted in TestFiesta: the migration "
                "copies it again",
                TF_CASE,
            )
        ],
    )
    # a delete in TestRail that a sync flagged, the copy now gone too: forgotten, not copied
    gone_tr = Base("case", TR_CASE, TF_CASE, dict(CASE), gone=TESTRAIL)
    both = inputs(record, bases=[gone_tr], tf_complete={"case"})
    assert reconcile(both, Settings(mode=MIGRATE)) == Reconciliation(
        decisions=[Forget("case", TR_CASE)]
    )


def test_migrate_mode_leaves_linked_edits_alone() -> None:
    result = reconcile(
        inputs(tr_case(title="Sign in"), tf_case(priority="High")), Settings(mode=MIGRATE)
    )
    assert result == Reconciliation()


# ---------------------------------------------------------------------- merge_lists


@pytest.mark.parametrize(
    ("base", "ours", "theirs", "expected"),
    [
        # unchanged on one side: the other side's list
        (["a", "b"], ["a", "b"], ["a", "X"], ListMerge(["a", "X"])),
        (["a", "b"], ["a", "b", "c"], ["a", "b"], ListMerge(["a", "b", "c"])),
        # the same edit on both
        (["a", "b"], ["X"], ["X"], ListMerge(["X"])),
        # same length: position by position; the base stands where both differ
        (["a", "b", "c"], ["A", "b", "c"], ["a", "b", "C"], ListMerge(["A", "b", "C"])),
        (["a", "b", "c"], ["A", "B", "c"], ["Z", "b", "c"], ListMerge(["a", "B", "c"], (0,))),
        (["a", "b", "c"], ["A", "B", "C"], ["Z", "B", "Y"], ListMerge(["a", "B", "c"], (0, 2))),
        # lengths differ: separate regions apply together
        (["a", "b", "c"], ["x", "a", "b", "c"], ["a", "b", "C"], ListMerge(["x", "a", "b", "C"])),
        (["a", "b", "c"], ["a", "c"], ["a", "b", "c", "d"], ListMerge(["a", "c", "d"])),
        (
            ["a", "b", "c", "d"],
            ["a", "c", "d"],
            ["a", "c", "d", "e"],
            ListMerge(["a", "c", "d", "e"]),
        ),
        ([], ["x"], ["x"], ListMerge(["x"])),
        # touching regions that differ: the whole list
        (["a", "b"], ["a", "b", "x"], ["a", "b", "y"], ListMerge(["a", "b"], whole=True)),
        (["a", "b", "c"], ["a", "c"], ["a", "B", "c", "d"], ListMerge(["a", "b", "c"], whole=True)),
        ([], ["x"], ["y"], ListMerge([], whole=True)),
    ],
)
def test_merge_lists(
    base: list[str], ours: list[str], theirs: list[str], expected: ListMerge
) -> None:
    assert merge_lists(base, ours, theirs) == expected


def test_merge_lists_is_symmetric_for_separate_regions() -> None:
    base = steps("a", "b", "c", "d")
    ours = steps("a", "x", "b", "c", "d")
    theirs = steps("a", "b", "c")
    assert merge_lists(base, ours, theirs) == merge_lists(base, theirs, ours)
    assert merge_lists(base, ours, theirs) == ListMerge(steps("a", "x", "b", "c"))


# ---------------------------------------------------------------------- milestones and plans

MILESTONE = {
    "name": "Release 3.0",
    "start_on": 1772409600,
    "due_on": 1775088000,
    "completed": False,
}


def test_a_sub_milestones_parent_and_started_flag_are_never_compared() -> None:
    """TestFiesta v1 has no milestone parent and no started flag: a linked pair whose
    TestRail side has both (and TestFiesta neither) is in sync; a due date edited in
    TestFiesta is propagated to TestRail and nothing else."""
    tr_values = {**MILESTONE, "parent": "tr:milestone:1", "started": True}
    base = Base("milestone", "tr:milestone:2", "tf:milestone:9", tr_values)
    parent = Base("milestone", "tr:milestone:1", "tf:milestone:8", {"name": "Release"})
    inputs = Inputs(
        {b.testrail: b for b in (base, parent)},
        Snapshot({"tr:milestone:2": Record("milestone", "tr:milestone:2", tr_values)}),
        Snapshot(
            {
                "tf:milestone:9": Record(
                    "milestone", "tf:milestone:9", {**MILESTONE, "due_on": 1775692800}
                )
            }
        ),
    )
    result = reconcile(inputs, Settings())
    assert result.decisions == [
        Update(
            "milestone",
            TESTRAIL,
            "tr:milestone:2",
            "tr:milestone:2",
            {"due_on": 1775692800},
            {"due_on": 1775088000},
            {"due_on": 1775692800},
        )
    ]
    assert result.conflicts == []


def test_a_plans_runs_are_sent_on_create_and_its_milestone_compared_in_pair_space() -> None:
    """A new TestRail plan is created on TestFiesta with its runs and milestone; a linked
    plan whose TestFiesta copy lists its runs' TestFiesta keys is in sync."""
    plan = {"name": "Release plan", "milestone": "tr:milestone:1",
            "runs": ["tr:run:5", "tr:run:6"], "closed": False}  # fmt: skip
    bases = [
        Base("milestone", "tr:milestone:1", "tf:milestone:8", {"name": "Release"}),
        Base("run", "tr:run:5", "tf:run:15", {"name": "Chrome"}),
        Base("run", "tr:run:6", "tf:run:16", {"name": "Firefox"}),
        Base("plan", "tr:plan:3", "tf:plan:13", plan),
    ]
    copy = {**plan, "milestone": "tf:milestone:8", "runs": ["tf:run:15", "tf:run:16"]}
    inputs = Inputs(
        {b.testrail: b for b in bases},
        Snapshot(
            {
                "tr:plan:3": Record("plan", "tr:plan:3", plan),
                "tr:plan:4": Record("plan", "tr:plan:4", {**plan, "name": "Sprint 1"}),
            }
        ),
        Snapshot({"tf:plan:13": Record("plan", "tf:plan:13", copy)}),
    )
    result = reconcile(inputs, Settings(mode=MIGRATE))
    assert result.decisions == [
        Create("plan", TESTFIESTA, "tr:plan:4", {**plan, "name": "Sprint 1"})
    ]


# ------------------------------------------------------------ read-only kinds (case history)

TR_HISTORY, TF_HISTORY = "tr:case_history:10", "tf:case_history:20"
HISTORY_BASE = Base(
    "case_history", TR_HISTORY, TF_HISTORY, {"case": TR_CASE, "text": "2026-03-01 · Ann · a"}
)


def history(key: str, text: str, case: str) -> Record:
    return Record("case_history", key, {"case": case, "text": text})


def test_a_read_only_copy_edited_on_testfiesta_is_written_again_never_a_conflict() -> None:
    grown = "2026-03-01 · Ann · a\n2026-03-02 · Bob · b"
    result = reconcile(
        inputs(
            tr_case(), tf_case(),
            history(TR_HISTORY, grown, TR_CASE),
            history(TF_HISTORY, "edited on TestFiesta", TF_CASE),
            bases=[*FOLDER_BASES, case_base(), HISTORY_BASE],
        ),
        Settings(),
    )  # fmt: skip
    assert result.conflicts == []
    assert result.decisions == [
        Update(
            "case_history", TESTFIESTA, TR_HISTORY, TF_HISTORY,
            changes={"text": grown},
            expected={"text": "edited on TestFiesta"},
            settles={"case": TR_CASE, "text": grown},
        )
    ]  # fmt: skip


def test_a_read_only_kind_not_read_on_testrail_or_deleted_on_testfiesta_decides_nothing() -> None:
    # a sync cycle reads no history: nothing is written, nothing forgotten, nothing removed
    not_read = reconcile(
        inputs(tr_case(), tf_case(), history(TF_HISTORY, "2026-03-01 · Ann · a", TF_CASE),
               bases=[*FOLDER_BASES, case_base(), HISTORY_BASE]),
        Settings(),
    )  # fmt: skip
    assert not_read.decisions == [] and not_read.conflicts == []
    # a TestFiesta copy with no TestRail original is never created on TestRail
    stray = reconcile(
        inputs(tr_case(), tf_case(), history("tf:case_history:99", "typed there", TF_CASE)),
        Settings(mode=MIGRATE),
    )
    assert [d for d in stray.decisions if isinstance(d, Create)] == []
    assert stray.notices == []
