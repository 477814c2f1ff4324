"""plan(): decisions -> ordered operations, and operations as JSON (the journal's form)."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from core.engine.plan import (
    ARCHIVE,
    CREATE,
    DELETE,
    FLAG,
    FORGET,
    LINK,
    REFRESH,
    UPDATE,
    Operation,
    Plan,
    plan,
)
from core.engine.reconcile import (
    TESTFIESTA,
    TESTRAIL,
    Conflict,
    Create,
    Decision,
    Flag,
    Forget,
    Link,
    Notice,
    Reconciliation,
    Refresh,
    Remove,
    Resolution,
    Update,
)

ROOT = "tr:folder:1"
#: three new nested folders: A in the root, B in A, C in B (keys sort the other way round)
A, B, C = "tr:folder:9", "tr:folder:8", "tr:folder:7"

CASE = {"title": "Log in", "folder": C, "steps": [{"content": "Open"}]}


def chain(prefix: str, side: str) -> list[Create]:
    """Creates of A/B/C copied from ``prefix`` keys, given child first."""
    a, b, c = (f"{prefix}:folder:{n}" for n in (9, 8, 7))
    return [
        Create("folder", side, c, {"name": "C", "parent": b}),
        Create("folder", side, b, {"name": "B", "parent": a}),
        Create("folder", side, a, {"name": "A", "parent": ROOT}),
    ]


def decisions() -> list[Decision]:
    return [
        Remove("folder", TESTFIESTA, "tr:folder:3", "tf:folder:3", "delete"),
        Update(
            "case",
            TESTFIESTA,
            "tr:case:2",
            "tf:case:2",
            {"title": "Sign in"},
            {"title": "Log in"},
            {"title": "Sign in"},
        ),
        Refresh("case", "tr:case:2", {}, ("abcdefabcdef",)),
        Remove("case", TESTFIESTA, "tr:case:4", "tf:case:4", "archive"),
        Create("case", TESTFIESTA, "tr:case:5", CASE),
        *chain("tr", TESTFIESTA),
        Update(
            "folder",
            TESTRAIL,
            "tr:folder:1",
            "tr:folder:1",
            {"name": "Top"},
            {"name": "Root"},
            {"name": "Top"},
        ),
        Forget("case", "tr:case:6"),
        Flag("case", "tr:case:3", TESTRAIL),
        Link("case", "tr:case:7", "tf:case:7", {"title": "Pay"}, frozenset({"steps", "folder"})),
    ]


def summary(operations: list[Operation]) -> list[tuple[str, str, str]]:
    return [(op.action, op.kind, op.pair) for op in operations]


#: Bookkeeping that sends nothing (links, flags, forgets) first; refreshes after every create and
#: update (so a pair whose write failed never has its base moved), then removes.
EXPECTED_ORDER = [
    (LINK, "case", "tr:case:7"),
    (FORGET, "case", "tr:case:6"),
    (FLAG, "case", "tr:case:3"),
    (CREATE, "folder", A),
    (CREATE, "folder", B),
    (CREATE, "folder", C),
    (UPDATE, "folder", "tr:folder:1"),
    (CREATE, "case", "tr:case:5"),
    (UPDATE, "case", "tr:case:2"),
    (REFRESH, "case", "tr:case:2"),
    (ARCHIVE, "case", "tr:case:4"),
    (DELETE, "folder", "tr:folder:3"),
]


def test_plan_orders_links_folders_cases_updates_and_removes() -> None:
    result = plan(Reconciliation(decisions=decisions()))
    assert summary(result.operations) == EXPECTED_ORDER


@pytest.mark.parametrize("seed", range(5))
def test_steps_do_not_depend_on_decision_order_and_ties_keep_it(seed: int) -> None:
    """The steps (bookkeeping, creates by depth, updates, refreshes, removes) come out the
    same whatever order reconcile decided in; within a step the decisions keep their order,
    which is the order the side listed its records in (the order people see)."""
    shuffled = decisions()
    random.Random(seed).shuffle(shuffled)
    ops = plan(Reconciliation(decisions=shuffled)).operations
    assert sorted(summary(ops)) == sorted(EXPECTED_ORDER)
    steps = [(op.action in (LINK, FLAG, FORGET), op.action in (ARCHIVE, DELETE)) for op in ops]
    assert steps == sorted(steps, key=lambda s: (not s[0], s[1]))
    assert [op.pair for op in ops if op.action == CREATE and op.kind == "folder"] == [A, B, C]
    assert ops[0].action == LINK
    assert [op.pair for op in ops if op.action in (FLAG, FORGET)] == [
        d.pair for d in shuffled if isinstance(d, Flag | Forget)
    ]


@pytest.mark.parametrize(("prefix", "side"), [("tr", TESTFIESTA), ("tf", TESTRAIL)])
def test_nested_new_folders_are_created_parent_first(prefix: str, side: str) -> None:
    """Given child first; the pair-space references of a TestFiesta-only folder are its
    TestFiesta keys, so both directions order the same way."""
    result = plan(Reconciliation(decisions=list(chain(prefix, side))))
    assert [op.source for op in result.operations] == [
        f"{prefix}:folder:9",
        f"{prefix}:folder:8",
        f"{prefix}:folder:7",
    ]
    assert [op.values["name"] for op in result.operations] == ["A", "B", "C"]


def test_removes_run_last_cases_before_folders() -> None:
    removes: list[Decision] = [
        Remove("folder", TESTRAIL, "tr:folder:1", "tr:folder:1", "archive"),
        Remove("case", TESTRAIL, "tr:case:9", "tr:case:9", "delete"),
        Create("case", TESTRAIL, "tf:case:1", {"title": "New", "folder": "tr:folder:2"}),
        Remove("case", TESTFIESTA, "tr:case:2", "tf:case:2", "delete"),
    ]
    assert summary(plan(Reconciliation(decisions=removes)).operations) == [
        (CREATE, "case", "tf:case:1"),
        (DELETE, "case", "tr:case:9"),
        (DELETE, "case", "tr:case:2"),
        (ARCHIVE, "folder", "tr:folder:1"),
    ]


def _by_pair(result: Plan) -> dict[tuple[str, str], Operation]:
    return {(op.action, op.pair): op for op in result.operations}


def test_operations_carry_what_each_decision_says() -> None:
    ops = _by_pair(plan(Reconciliation(decisions=decisions())))
    create = ops[(CREATE, "tr:case:5")]
    assert create == Operation(
        id=create.id,
        action=CREATE,
        kind="case",
        pair="tr:case:5",
        side=TESTFIESTA,
        source="tr:case:5",
        values=CASE,
        settles=CASE,
    )
    update = ops[(UPDATE, "tr:case:2")]
    assert update == Operation(
        id=update.id,
        action=UPDATE,
        kind="case",
        pair="tr:case:2",
        side=TESTFIESTA,
        target="tf:case:2",
        values={"title": "Sign in"},
        expected={"title": "Log in"},
        settles={"title": "Sign in"},
    )
    link = ops[(LINK, "tr:case:7")]
    assert link == Operation(
        id=link.id,
        action=LINK,
        kind="case",
        pair="tr:case:7",
        settles={"title": "Pay"},
        link=("tr:case:7", "tf:case:7"),
        unknown=("folder", "steps"),
    )
    refresh = ops[(REFRESH, "tr:case:2")]
    assert refresh == Operation(
        id=refresh.id,
        action=REFRESH,
        kind="case",
        pair="tr:case:2",
        resolves=("abcdefabcdef",),
    )
    archive = ops[(ARCHIVE, "tr:case:4")]
    assert archive == Operation(
        id=archive.id,
        action=ARCHIVE,
        kind="case",
        pair="tr:case:4",
        side=TESTFIESTA,
        target="tf:case:4",
    )
    flag = ops[(FLAG, "tr:case:3")]
    assert flag == Operation(id=flag.id, action=FLAG, kind="case", pair="tr:case:3", side=TESTRAIL)
    forget = ops[(FORGET, "tr:case:6")]
    assert forget == Operation(id=forget.id, action=FORGET, kind="case", pair="tr:case:6")
    assert [op.writes for op in (create, update, archive, link, refresh, flag, forget)] == [
        True,
        True,
        True,
        False,
        False,
        False,
        False,
    ]


def test_replaces_is_carried_by_the_create() -> None:
    [op] = plan(
        Reconciliation(
            decisions=[Create("case", TESTRAIL, "tf:case:4", {"title": "X"}, "tr:case:4")]
        )
    ).operations
    assert (op.replaces, op.pair, op.source, op.side) == (
        "tr:case:4",
        "tf:case:4",
        "tf:case:4",
        TESTRAIL,
    )


def test_operation_round_trips_through_json() -> None:
    created = Create("case", TESTRAIL, "tf:case:4", {"title": "X"}, "tr:case:4")
    result = plan(Reconciliation(decisions=[*decisions(), created]))
    assert len(result.operations) == 13
    for op in result.operations:
        data = json.loads(json.dumps(op.as_dict()))
        assert Operation.from_dict(data) == op
        assert Operation.from_dict(data).as_dict() == op.as_dict()


def test_as_dict_is_exact() -> None:
    [op] = plan(
        Reconciliation(
            decisions=[
                Link("case", "tr:case:7", "tf:case:7", {"title": "Pay"}, frozenset({"b", "a"}))
            ]
        )
    ).operations
    assert op.as_dict() == {
        "id": op.id,
        "action": LINK,
        "kind": "case",
        "pair": "tr:case:7",
        "side": None,
        "target": None,
        "source": None,
        "values": {},
        "expected": {},
        "settles": {"title": "Pay"},
        "resolves": [],
        "replaces": None,
        "link": ["tr:case:7", "tf:case:7"],
        "unknown": ["a", "b"],
    }


def test_same_decision_gives_the_same_operation_id() -> None:
    first = plan(Reconciliation(decisions=decisions())).operations
    again = plan(Reconciliation(decisions=decisions())).operations
    assert [op.id for op in first] == [op.id for op in again]
    ids = [op.id for op in first]
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 16 and int(i, 16) >= 0 for i in ids)


def test_a_different_change_gives_a_different_update_id() -> None:
    def update(title: str) -> Operation:
        decision = Update(
            "case",
            TESTFIESTA,
            "tr:case:2",
            "tf:case:2",
            {"title": title},
            {"title": "Log in"},
            {"title": title},
        )
        [op] = plan(Reconciliation(decisions=[decision])).operations
        return op

    assert update("Sign in").id == update("Sign in").id
    assert update("Sign in").id != update("Log on").id


def test_conflicts_resolutions_and_notices_are_carried_over() -> None:
    conflict = Conflict("c1", "case", "tr:case:1", "tf:case:1", "title", {})
    resolution = Resolution(conflict, TESTRAIL, "A", {TESTFIESTA: "B"}, "testrail-wins")
    notice = Notice("flagged", "case", "tf:case:1", "deleted", "tr:case:1")
    result = plan(Reconciliation(conflicts=[conflict], resolutions=[resolution], notices=[notice]))
    assert result == Plan([], [conflict], [resolution], [notice])


def test_counts_and_json_cover_the_writes_only() -> None:
    result = plan(Reconciliation(decisions=decisions()))
    assert [op.action for op in result.writes] == [
        CREATE,
        CREATE,
        CREATE,
        UPDATE,
        CREATE,
        UPDATE,
        ARCHIVE,
        DELETE,
    ]
    assert result.counts() == {
        "folder": {"create testfiesta": 3, "update testrail": 1, "delete testfiesta": 1},
        "case": {"create testfiesta": 1, "update testfiesta": 1, "archive testfiesta": 1},
    }
    data: dict[str, Any] = result.as_dict()
    assert [op["id"] for op in data["operations"]] == [op.id for op in result.writes]
    assert data["conflicts"] == data["notices"] == []
