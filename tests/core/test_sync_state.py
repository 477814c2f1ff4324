"""Per-record sync state (the panes' badges) and the panes' read cache, through the facade over
both emulators in-process: a migrated pair is synced; a conflict, a resolution waiting, an
edit after the last poll and an unlinked record each show as the rule in core.sync_state says."""

from __future__ import annotations

import os
import stat
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.read_cache import ReadCache
from core.service import Service, TreeNode
from core.sync_state import (
    CONFLICT,
    ONLY_HERE,
    PENDING,
    SYNCED,
    Attention,
    Below,
    attention_from_store,
    record_state,
    roll_up,
    settled_key,
)
from emulators.testrail import ops
from tests.helpers import Emulated, emulate


def flatten(nodes: list[TreeNode]) -> dict[str, TreeNode]:
    out: dict[str, TreeNode] = {}
    stack = list(nodes)
    while stack:
        node = stack.pop()
        out[node.key] = node
        stack.extend(node.children)
    return out


async def case_leaves(service: Service, pair_index: int = 0) -> list[TreeNode]:
    """Every TestRail case of the pair, section by section, as the pane reads them."""
    pane = await service.testrail_pane(pair_index)
    project_id = int(pane.project["id"]) if pane.project else 0
    leaves: list[TreeNode] = []
    for suite in pane.nodes:
        for node in flatten([suite]).values():
            if node.kind == "section":
                leaves += await service.testrail_cases(
                    project_id, int(suite.key.rsplit(":", 1)[1]), int(node.key.rsplit(":", 1)[1])
                )
    return leaves


@pytest.fixture
async def migrated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Emulated:
    env = emulate(tmp_path, monkeypatch, cases=12)
    async with env.service() as service:
        [report] = await service.migrate()
        await service.sync()  # cursors and meta:last_poll exist from here on
    assert report.complete
    return env


def test_the_rule_in_order() -> None:
    attention = Attention(
        conflicts=frozenset({"tr:case:1"}),
        pending=frozenset({"tf:case:20"}),
        changed_after={("7", "testrail"): 1000.0},
    )
    assert record_state("tf:case:10", "tr:case:1", attention) == CONFLICT  # the pair's other key
    assert record_state("tr:case:1", None, attention) == CONFLICT
    assert record_state("tr:case:5", None, attention) == ONLY_HERE
    assert record_state("tr:case:2", "tf:case:20", attention) == PENDING
    assert record_state("tr:case:3", "tf:case:30", attention, updated=1001, pair="7") == PENDING
    assert record_state("tr:case:3", "tf:case:30", attention, updated=1000, pair="7") == SYNCED
    assert record_state("tr:case:3", "tf:case:30", attention, updated=1001, pair="8") == SYNCED
    assert record_state("tf:case:30", "tr:case:3", attention, updated=5000, pair="7") == SYNCED


async def test_states_follow_conflicts_resolutions_edits_and_links(migrated: Emulated) -> None:
    env = migrated
    tr = env.testrail_state
    with tr.lock:
        first, second, third = sorted(tr.cases)[:3]
    async with env.service() as service:
        leaves = await case_leaves(service)
        states = service.sync_states(leaves)
        assert len(leaves) == 12
        assert set(states.values()) == {SYNCED}

        # one title edited differently on both sides: a conflict after the next sync
        with tr.lock:
            ops.update_case(tr, first, {"title": "TestRail title"}, None)
        tf_state = env.testfiesta.state.testfiesta
        row = next(
            r
            for r in tf_state.db.cases.values()
            if r.get("externalId", "").endswith(f"/case/{first}") and not r["deletedAt"]
        )
        tf_state.update(row, {"name": "TestFiesta title"})
        await service.sync()
        [entry] = service.conflicts()
        tf_first = entry["conflict"]["testfiesta"]

        # an edit after that poll, and a case nobody linked (added with sync off)
        tr.clock = lambda: int(time.time()) + 60
        with tr.lock:
            ops.update_case(tr, second, {"title": "Edited after the poll"}, None)
            section = tr.cases[third]["section_id"]
            added = ops.add_case(tr, section, {"title": "Added after the poll"}, None)
        leaves = await case_leaves(service)
        states = service.sync_states(leaves)
        assert states[f"tr:case:{first}"] == CONFLICT
        assert states[f"tr:case:{second}"] == PENDING
        assert states[f"tr:case:{third}"] == SYNCED
        assert states[f"tr:case:{added['id']}"] == ONLY_HERE
        assert sorted(states.values()).count(SYNCED) == 10
        tf_nodes = flatten((await service.testfiesta_pane()).nodes)
        assert service.sync_states([tf_nodes[tf_first]])[tf_first] == CONFLICT

        # chosen but not applied yet: pending until the next cycle applies it
        service.resolve(entry["conflict"]["id"], "testrail")
        states = service.sync_states(leaves)
        assert states[f"tr:case:{first}"] == PENDING
        assert service.sync_states([tf_nodes[tf_first]])[tf_first] == PENDING


async def test_the_second_start_reads_the_panes_from_the_cache(migrated: Emulated) -> None:
    env = migrated
    async with env.service() as service:
        assert await service.cached_testrail_pane() is None  # no pane was read yet
        live = await service.testrail_pane()
        live_tf = await service.testfiesta_pane()
        leaves = await case_leaves(service)
    # servers down: the cached reads send no request at all
    sent: list[str] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        sent.append(str(request.url))
        raise httpx.ConnectError("connection refused", request=request)

    down = env.service(httpx.MockTransport(refuse), httpx.MockTransport(refuse))
    async with down:
        cached = await down.cached_testrail_pane()
        cached_tf = await down.cached_testfiesta_pane()
        assert cached is not None and cached.cached and cached_tf is not None
        assert cached.project == live.project
        assert [n.as_dict() for n in cached.nodes] == [n.as_dict() for n in live.nodes]
        assert cached_tf.key == live_tf.key == "ACME"
        assert [n.as_dict() for n in cached_tf.nodes] == [n.as_dict() for n in live_tf.nodes]
        section = leaves[0].parent
        assert section is not None
        suite = live.nodes[0].key
        found = await down.cached_testrail_cases(
            int(live.project["id"]) if live.project else 0,
            int(suite.rsplit(":", 1)[1]),
            int(section.rsplit(":", 1)[1]),
        )
        assert found is not None
        assert [leaf.name for leaf in found[0]] == [
            leaf.name for leaf in leaves if leaf.parent == section
        ]
    assert sent == []
    reads = env.state_dir / "reads"
    assert stat.S_IMODE(os.stat(reads).st_mode) == 0o700
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in reads.iterdir() if p.is_file())


def test_a_cached_read_older_than_max_age_is_not_used(tmp_path: Path) -> None:
    cache = ReadCache(tmp_path / "reads", max_age=60)
    cache.put("tr-pane:x", {"nodes": []})
    found = cache.get("tr-pane:x")
    assert found is not None and found[0] == {"nodes": []}
    cache.max_age = -1
    assert cache.get("tr-pane:x") is None
    cache.close()


async def test_badges_read_every_link_in_one_batched_query(
    migrated: Emulated, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = migrated
    async with env.service() as service:
        pane = await service.testrail_pane()
        store = service.store
        assert store is not None
        real_linked, real_many = store.linked, store.linked_many
        asked: list[list[str]] = []

        def counted(keys: Any) -> dict[str, str]:
            asked.append(list(keys))
            return real_many(asked[-1])

        def one_by_one(key: str) -> str | None:
            raise AssertionError(f"read one by one: {key}")

        monkeypatch.setattr(store, "linked_many", counted)
        monkeypatch.setattr(store, "linked", one_by_one)
        project_id = int(pane.project["id"]) if pane.project else 0
        [suite] = pane.nodes
        sections = [n for n in flatten(pane.nodes).values() if n.kind == "section"]
        leaves: list[TreeNode] = []
        for section in sections:  # each section's cases: one query each
            leaves += await service.testrail_cases(
                project_id, int(suite.key.rsplit(":", 1)[1]), int(section.key.rsplit(":", 1)[1])
            )
        assert len(asked) == len(sections)
        nodes = [*pane.nodes, *leaves]
        every = flatten(nodes)
        truth = {key: real_linked(key) for key in every}  # one by one, as before
        expected = service.sync_states(nodes)
        asked.clear()
        badges = await service.read_badges(nodes)
    assert len(asked) == 1
    assert sorted(asked[0]) == sorted(every)
    assert sum(1 for key in badges if key.startswith("tr:case:")) == 12
    assert badges == {key: (expected[key], truth[key]) for key in every}
    assert all(truth[key] is not None for key in every if key.startswith("tr:case:"))
    assert {leaf.key: leaf.linked for leaf in leaves} == {
        leaf.key: truth[leaf.key] for leaf in leaves
    }


class DictStore:
    """The three reads :func:`core.sync_state.attention_from_store` makes, over a dict."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def family(self, name: str) -> list[str]:
        return list(self.values.get(f"index:{name}", []))

    def get_in(self, name: str, item_id: str) -> Any:
        return self.values.get(f"{name}:{item_id}")

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)


def test_what_the_last_pass_wrote_after_its_cursor_is_synced() -> None:
    # the pass observed up to 1000 (its cursor), wrote until 1030 and ended at 1030.5
    store = DictStore(
        {
            "cursor:7:testfiesta": {"cases": 1000},
            "cursor:7:testrail": {"cases": 990},
            settled_key("7"): 1030.5,
        }
    )
    attention = attention_from_store(store, ["7"])
    assert attention.changed_after == {("7", "testfiesta"): 1030.5, ("7", "testrail"): 1030.5}
    written = record_state("tf:case:9", "tr:case:3", attention, updated=1030, pair="7")
    assert written == SYNCED
    edited = record_state("tf:case:9", "tr:case:3", attention, updated=1031, pair="7")
    assert edited == PENDING
    # a later poll still wins when it is later
    store.values["meta:last_poll"] = 2000.0
    attention = attention_from_store(store, ["7"])
    assert attention.changed_after[("7", "testrail")] == 2000.0


def test_both_sides_just_read_decide_between_pending_and_synced() -> None:
    attention = Attention(
        conflicts=frozenset({"tr:case:1"}),
        pending=frozenset({"tf:case:20"}),
        changed_after={("7", "testrail"): 1000.0},
    )
    # an edit not polled yet: the sides differ, so pending whatever the times say
    assert record_state("tr:case:3", "tf:case:30", attention, differ=True) == PENDING
    assert (
        record_state("tr:case:3", "tf:case:30", attention, updated=1, pair="7", differ=True)
        == PENDING
    )
    # agreeing now: synced, though the time test alone said pending
    assert (
        record_state("tr:case:3", "tf:case:30", attention, updated=5000, pair="7", differ=False)
        == SYNCED
    )
    # conflicts, links and the engine's own work come first
    assert record_state("tr:case:1", "tf:case:10", attention, differ=False) == CONFLICT
    assert record_state("tr:case:5", None, attention, differ=True) == ONLY_HERE
    assert record_state("tr:case:2", "tf:case:20", attention, differ=False) == PENDING


def test_roll_up_counts_each_flagged_record_in_every_container_above_it() -> None:
    parents: dict[str, str | None] = {
        "tr:section:1": "tr:suite:1",
        "tr:section:2": "tr:section:1",
        "tr:section:3": "tr:suite:1",
        "tr:case:10": "tr:section:2",
        "tr:case:11": "tr:section:2",
        "tr:case:12": "tr:section:1",
        "tr:case:13": "tr:section:3",
        "tr:suite:1": None,
    }
    states = {
        "tr:case:10": CONFLICT,
        "tr:case:11": PENDING,
        "tr:case:12": PENDING,
        "tr:case:13": SYNCED,
        "tr:section:3": ONLY_HERE,
        "tr:section:2": CONFLICT,  # a folder's own conflict (its name) counts above it
    }
    assert roll_up(states, parents) == {
        "tr:section:2": Below(conflicts=1, pending=1),
        "tr:section:1": Below(conflicts=2, pending=2),
        "tr:suite:1": Below(conflicts=2, pending=2),
    }
    assert roll_up({"tr:case:13": SYNCED}, parents) == {}
    # a loop in the parents is walked once
    looped = roll_up({"a": CONFLICT}, {"a": "b", "b": "c", "c": "b"})
    assert looped == {"b": Below(1, 0), "c": Below(1, 0)}
    assert Below(3, 4).count(CONFLICT) == 3 and Below(3, 4).count(PENDING) == 4
    assert Below(3, 4).count(SYNCED) == 0


async def test_a_migration_alone_leaves_every_copy_synced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = emulate(tmp_path, monkeypatch, cases=12)
    async with env.service() as service:
        [report] = await service.migrate()  # no sync after it
        assert report.complete
        store = service.store
        assert store is not None
        [pair] = store.pairs()
        settled = float(store.get(settled_key(pair)))
        # as on a big project: the writes landed well after the observation took its cursor
        for side in ("testrail", "testfiesta"):
            cursor = dict(store.get(f"cursor:{pair}:{side}"))
            cursor["cases"] = int(settled) - 3600
            store.set(f"cursor:{pair}:{side}", cursor)
        tr_leaves = await case_leaves(service)  # the TestRail pane read: the pair is known
        tf_nodes = flatten((await service.testfiesta_pane()).nodes)
        tf_cases = [n for n in tf_nodes.values() if n.kind == "case"]
        assert len(tf_cases) == 12
        assert all(n.updated is not None and n.updated <= settled for n in tf_cases)
        states = service.sync_states(list(tf_nodes.values()))
        assert set(states.values()) == {SYNCED}
        assert set(service.sync_states(tr_leaves).values()) == {SYNCED}
        assert service.roll_up(list(tf_nodes.values()), side="testfiesta") == {}

        # an edit on TestFiesta after the migration ended is pending, and so is its folder
        tf_state = env.testfiesta.state.testfiesta
        edited = tf_cases[0]
        row = tf_state.db.cases[int(edited.key.rsplit(":", 1)[1])]
        tf_state.clock = lambda: datetime.now(UTC) + timedelta(seconds=60)
        assert tf_state.update(row, {"name": "Edited on TestFiesta"})
        tf_nodes = flatten((await service.testfiesta_pane()).nodes)
        states = service.sync_states(list(tf_nodes.values()))
        assert [key for key, state in states.items() if state != SYNCED] == [edited.key]
        assert states[edited.key] == PENDING
        below = service.roll_up(list(tf_nodes.values()), side="testfiesta")
        assert below[str(edited.parent)] == Below(conflicts=0, pending=1)
