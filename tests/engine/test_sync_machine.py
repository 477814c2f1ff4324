"""Property test of the engine (as vdirsyncer's SyncMachine): random creates, edits, moves and
deletes on both in-memory sides, interleaved with sync cycles that crash between any two
journal steps and with answers lost after a create landed. After a final settle with a fixed
policy both sides and the base agree, and nothing is duplicated or lost.

``RAILFIESTA_SYNC_EXAMPLES`` raises the number of examples (default 500).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from core.engine.apply import Crash
from core.engine.cycle import Engine
from core.engine.plan import Operation
from core.engine.reconcile import PROPAGATE, TESTRAIL_WINS, Base, Settings
from core.engine.sides import MemorySide
from core.store import StateStore

EXAMPLES = int(os.environ.get("RAILFIESTA_SYNC_EXAMPLES", "500"))

TITLES = st.sampled_from(["Log in", "Log out", "Pay £5", "日本語", "Reset password", ""])
STEP_TEXTS = st.sampled_from(["Open page", "Click", "Type 😀", "Check\nresult", "Wait"])
STEPS = st.lists(st.fixed_dictionaries({"content": STEP_TEXTS}), max_size=4)
SIDE = st.sampled_from(["tr", "tf"])


def run(coro: Any) -> Any:
    return asyncio.run(coro)


class SyncMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.directory = Path(tempfile.mkdtemp(prefix="rf-sync-"))
        self.store = StateStore(self.directory)
        self.sides = {
            "tr": MemorySide("testrail", "tr"),
            "tf": MemorySide("testfiesta", "tf"),
        }
        #: cases a person deleted, with the key they were linked to at that moment
        self.may_vanish: set[str] = set()
        self.person_made: set[str] = set()
        #: values a person set since the last clean sync: record key -> {value name: value}
        self.edits: dict[str, dict[str, Any]] = {}
        root_tr = self.sides["tr"].add("folder", {"name": "Root"})
        self.person_made.add(root_tr)

    def teardown(self) -> None:
        self.store.close()

    # ------------------------------------------------------------------ helpers

    def engine(self, crash_at: int | None = None) -> Engine:
        steps = {"n": 0}

        def hook(_step: str, _op: Operation) -> None:
            steps["n"] += 1
            if crash_at is not None and steps["n"] == crash_at:
                raise Crash()

        return Engine(self.store, self.sides["tr"], self.sides["tf"], on_step=hook)

    def folders(self, side: str) -> list[str]:
        return [r.key for r in self.sides[side].live("folder")]

    def cases(self, side: str) -> list[str]:
        return [r.key for r in self.sides[side].live("case")]

    # ------------------------------------------------------------------ a person's edits

    @rule(side=SIDE, name=TITLES, data=st.data())
    def add_folder(self, side: str, name: str, data: st.DataObject) -> None:
        parent = data.draw(st.sampled_from([None, *self.folders(side)]))
        key = self.sides[side].add("folder", {"name": name or "Folder", "parent": parent})
        self.person_made.add(key)

    @precondition(lambda self: self.folders("tr") or self.folders("tf"))
    @rule(side=SIDE, title=TITLES, steps=STEPS, data=st.data())
    def add_case(self, side: str, title: str, steps: list[Any], data: st.DataObject) -> None:
        folders = self.folders(side)
        if not folders:
            return
        folder = data.draw(st.sampled_from(folders))
        key = self.sides[side].add("case", {"title": title, "folder": folder, "steps": steps})
        self.person_made.add(key)

    @rule(side=SIDE, title=TITLES, data=st.data())
    def edit_title(self, side: str, title: str, data: st.DataObject) -> None:
        cases = self.cases(side)
        if cases:
            case = data.draw(st.sampled_from(cases))
            self.sides[side].edit(case, title=title)
            self.edits.setdefault(case, {})["title"] = title

    @rule(side=SIDE, steps=STEPS, data=st.data())
    def edit_steps(self, side: str, steps: list[Any], data: st.DataObject) -> None:
        cases = self.cases(side)
        if cases:
            case = data.draw(st.sampled_from(cases))
            self.sides[side].edit(case, steps=steps)
            self.edits.setdefault(case, {})["steps"] = steps

    @rule(side=SIDE, data=st.data())
    def move_case(self, side: str, data: st.DataObject) -> None:
        cases, folders = self.cases(side), self.folders(side)
        if cases and folders:
            case = data.draw(st.sampled_from(cases))
            folder = data.draw(st.sampled_from(folders))
            self.sides[side].edit(case, folder=folder)
            self.edits.setdefault(case, {})["folder"] = folder

    @rule(side=SIDE, name=TITLES, data=st.data())
    def rename_folder(self, side: str, name: str, data: st.DataObject) -> None:
        folders = self.folders(side)
        if folders:
            folder = data.draw(st.sampled_from(folders))
            self.sides[side].edit(folder, name=name or "Renamed")
            self.edits.setdefault(folder, {})["name"] = name or "Renamed"

    @rule(side=SIDE, data=st.data())
    def delete_case(self, side: str, data: st.DataObject) -> None:
        cases = self.cases(side)
        if not cases:
            return
        case = data.draw(st.sampled_from(cases))
        self.may_vanish.add(case)
        linked = self.store.linked(case)
        if linked:
            self.may_vanish.add(linked)
            # the survivor's edits may have merged with edits the deleted copy carried: from
            # here on only its existence is checked, not which edit its values came from
            self.edits.pop(linked, None)
        self.edits.pop(case, None)
        for row_key, row in self.sides["tr" if side == "tf" else "tf"].rows.items():
            if row.origin == case:
                self.may_vanish.add(row_key)
        self.sides[side].remove(case)

    # ------------------------------------------------------------------ sync

    @rule(
        crash_at=st.one_of(st.none(), st.integers(min_value=1, max_value=12)),
        full=st.booleans(),
        lose=st.sampled_from([0, 0, 0, 1]),
        lose_side=SIDE,
    )
    def sync(self, crash_at: int | None, full: bool, lose: int, lose_side: str) -> None:
        self.sides[lose_side].lose_answers = lose
        policy = Settings(delete_policy=PROPAGATE, big_delete_threshold=1000)
        try:
            run(self.engine(crash_at).run(policy, full=full))
        except Crash:
            pass
        finally:
            self.sides[lose_side].lose_answers = 0

    @rule()
    def clean_sync(self) -> None:
        """A cycle (full, nothing crashes, conflicts queued) then one more: every pair
        without an open conflict agrees, and holds the edit of the one side that made one;
        a conflict stands only where both sides were edited."""
        policy = Settings(delete_policy=PROPAGATE, big_delete_threshold=1000)
        run(self.engine().run(policy, full=True))
        run(self.engine().run(policy, full=True))
        open_pairs = set()
        for conflict_id in self.store.family("conflict"):
            conflict = self.store.get_in("conflict", conflict_id)["conflict"]
            open_pairs.add(conflict["testrail"])
            assert conflict["testrail"] in self.edits, conflict
            assert conflict["testfiesta"] in self.edits, conflict
        bases = [Base.from_dict(b) for b in self.store.bases()]
        by_tf = {b.testfiesta: b.testrail for b in bases}
        tr, tf = self.sides["tr"], self.sides["tf"]
        for base in bases:
            if base.testrail in open_pairs or base.gone:
                continue
            if base.testrail not in tr.rows or base.testfiesta not in tf.rows:
                continue
            tr_values = dict(tr.record(base.testrail).values)
            tf_values = self.in_pair_space(dict(tf.record(base.testfiesta).values), by_tf)
            assert tr_values == tf_values, base
            tr_edits = self.edits.pop(base.testrail, {})
            tf_edits = self.in_pair_space(self.edits.pop(base.testfiesta, {}), by_tf)
            for name, value in tr_edits.items():
                if name not in tf_edits and value not in (None, "", []):
                    assert tr_values.get(name) == value, (base, name)
            for name, value in tf_edits.items():
                if name not in tr_edits and value not in (None, "", []):
                    assert tr_values.get(name) == value, (base, name)

    @staticmethod
    def in_pair_space(values: dict[str, Any], by_tf: dict[str, str]) -> dict[str, Any]:
        for ref in ("parent", "folder"):
            if isinstance(values.get(ref), str):
                values[ref] = by_tf.get(values[ref], values[ref])
        return values

    # ------------------------------------------------------------------ checks

    @invariant()
    def one_copy_per_origin(self) -> None:
        for side in self.sides.values():
            origins = [row.origin for row in side.rows.values() if row.origin]
            assert len(origins) == len(set(origins)), f"duplicate copies on {side.name}"

    def teardown_check(self) -> None:
        """Settle with a fixed policy, then everything must agree."""
        settle = Settings(
            conflict_policy=TESTRAIL_WINS, delete_policy=PROPAGATE, big_delete_threshold=1000
        )
        for _ in range(6):
            report = run(self.engine().run(settle, full=True))
            assert report.applied is not None
            if not report.applied.writes and not report.plan.writes:
                break
        else:
            raise AssertionError("the sides did not converge in 6 full cycles")
        assert not report.plan.conflicts
        assert self.store.family("journal") == []
        tr, tf = self.sides["tr"], self.sides["tf"]
        bases = [Base.from_dict(b) for b in self.store.bases()]
        by_tr = {b.testrail: b for b in bases}
        by_tf = {b.testfiesta: b for b in bases}
        assert set(by_tr) == set(tr.rows), "a TestRail record is not linked exactly once"
        assert set(by_tf) == set(tf.rows), "a TestFiesta record is not linked exactly once"
        for base in bases:
            tr_values = dict(tr.record(base.testrail).values)
            tf_values = dict(tf.record(base.testfiesta).values)
            for ref in ("parent", "folder"):
                if tf_values.get(ref):
                    tf_values[ref] = by_tf[tf_values[ref]].testrail
            assert tr_values == tf_values, base
            assert dict(base.values) == tr_values, base
        for key in self.person_made:
            side = tr if key.startswith("tr:") else tf
            if key not in side.rows:
                assert key in self.may_vanish, f"{key} was lost"


class TestSyncMachine(SyncMachine.TestCase):  # type: ignore[name-defined,misc]
    settings = settings(
        max_examples=EXAMPLES,
        stateful_step_count=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )


def _teardown(self: SyncMachine) -> None:
    try:
        self.teardown_check()
    finally:
        self.store.close()


SyncMachine.teardown = _teardown  # type: ignore[method-assign]
