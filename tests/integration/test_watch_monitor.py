"""A watching service publishes its state for consoles and takes their requests through the
state store (core.monitor): progress, last cycle, log ring, next poll; sync-now; a switch-off
in the config file pauses it within a second, also in the middle of a cycle."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from core.events import Activity
from core.http import RateLimitWait
from core.monitor import LOG_KEY, LOG_LINES, MONITOR_KEY, WatchMonitor, eta_seconds
from core.service import Service
from core.store import StateStore
from emulators.testrail import ops
from tests.helpers import Emulated, emulate

PROJECT = "Acme Web Shop"


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> float:
    """Wait until ``condition()`` holds; the seconds it took (AssertionError after timeout)."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)
    return time.monotonic() - start


class Watched:
    """A migrated pair, one service watching it and a second one (a console) on its state."""

    def __init__(self, env: Emulated, watcher: Service, console: Service) -> None:
        self.env, self.watcher, self.console = env, watcher, console
        self.tr = env.testrail_state
        self.tf = env.testfiesta.state.testfiesta

    def tr_edit(self, case_id: int, title: str) -> None:
        with self.tr.lock:
            ops.update_case(self.tr, case_id, {"title": title}, None)

    def tf_title(self, case_id: int) -> str:
        row = next(
            r
            for r in self.tf.db.cases.values()
            if str(r.get("externalId", "")).endswith(f"/case/{case_id}") and not r["deletedAt"]
        )
        return str(row["name"])

    def first_case(self) -> int:
        with self.tr.lock:
            return min(self.tr.cases)

    def doc(self) -> dict[str, Any]:
        return self.console.monitor()["watch"] or {}


@pytest.fixture
async def watched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    env = emulate(tmp_path, monkeypatch, cases=24)
    async with env.service() as service:
        [report] = await service.migrate()
    assert report.complete
    env.config_path.write_text(env.config_path.read_text() + "\n[sync]\nenabled = true\n")
    watcher, console = env.service(), env.service()
    await watcher.open()
    console.open_state()
    yield Watched(env, watcher, console)
    await watcher.close()
    await console.close()


async def test_the_watch_publishes_its_cycle_and_obeys_sync_now_and_off(watched: Watched) -> None:
    case = watched.first_case()
    watched.tr_edit(case, "Edited on TestRail before the watch")
    task = asyncio.create_task(watched.watcher.watch(interval=3600))
    try:
        await until(lambda: watched.doc().get("state") == "waiting")
        doc = watched.doc()
        assert watched.tf_title(case) == "Edited on TestRail before the watch"
        cycle = doc["cycles"][PROJECT]
        assert cycle["done"] == {"update testfiesta case": 1}
        assert (cycle["conflicts"], cycle["failed"], cycle["exit_code"]) == (0, 0, 0)
        assert doc["interval"] == 3600
        assert 3590 < doc["next_poll"] - time.time() <= 3600
        assert doc["progress"][PROJECT]["cases"]["done"] == 1
        assert doc["progress"][PROJECT]["cases"]["total"] == 1
        log = [line["message"] for line in watched.console.monitor()["log"]]
        assert f"{PROJECT}: synced (update testfiesta 1 case); 0 conflicts open" in log

        # sync now, from the other service: a cycle at once instead of in an hour
        watched.tr_edit(case, "Edited again, synced now")
        watched.console.request_sync_now()
        # a cycle at once (the next poll is an hour away); the bounds leave room for a busy CI
        took = await until(lambda: watched.tf_title(case) == "Edited again, synced now")
        assert took < 5.0
        await until(lambda: watched.doc().get("state") == "waiting")
        assert "sync now: asked for by a console" in [
            line["message"] for line in watched.console.monitor()["log"]
        ]

        # off in the config file: paused within a second, nothing more written
        watched.console.set_sync_enabled(False)
        took = await until(lambda: watched.doc().get("state") == "paused")
        assert took < 3.0  # a look every 0.2 s: well under a second on an idle machine
        assert watched.doc()["next_poll"] is None
        assert watched.console.monitor()["enabled"] is False
        watched.tr_edit(case, "Edited while paused")
        watched.env.config_path.touch()  # a touch is no switch: still paused
        await asyncio.sleep(0.6)
        assert watched.tf_title(case) == "Edited again, synced now"
        assert watched.doc()["state"] == "paused"

        # sync now while paused: one cycle, then paused again
        watched.console.request_sync_now()
        await until(lambda: watched.tf_title(case) == "Edited while paused")
        await until(lambda: watched.doc().get("state") == "paused")

        # on again: a cycle at once
        watched.tr_edit(case, "Edited after switching on")
        watched.console.set_sync_enabled(True)
        took = await until(lambda: watched.tf_title(case) == "Edited after switching on")
        assert took < 5.0
    finally:
        watched.watcher.request_stop()
        await asyncio.wait_for(task, 5)
    assert watched.doc()["state"] == "stopped"


async def test_switching_off_stops_a_cycle_in_flight(
    watched: Watched, monkeypatch: pytest.MonkeyPatch
) -> None:
    with watched.tr.lock:
        cases = sorted(watched.tr.cases)[:20]
    for case in cases:
        watched.tr_edit(case, f"Slow edit {case}")
    # every TestFiesta write takes 0.15 s, so the 20 updates take 3 s
    inner = watched.watcher.testfiesta
    assert inner is not None
    # every request, send() and send_json() alike, goes through the session's _send
    original = inner.session._send
    writes: list[float] = []

    async def slow(method: str, *args: Any, **kwargs: Any) -> Any:
        if method != "GET":
            writes.append(time.monotonic())
            await asyncio.sleep(0.15)
        return await original(method, *args, **kwargs)

    monkeypatch.setattr(inner.session, "_send", slow)
    task = asyncio.create_task(watched.watcher.watch(interval=3600))
    try:
        await until(lambda: len(writes) >= 3, timeout=60)  # preparing takes long on a busy CI
        watched.console.set_sync_enabled(False)
        switched = time.monotonic()
        await until(lambda: watched.doc().get("state") == "paused", timeout=5)
        assert time.monotonic() - switched < 2.0
        landed = len(writes)
        assert landed < len(cases)
        await asyncio.sleep(0.5)
        assert len(writes) == landed  # nothing more after the pause
        synced = sum(1 for c in cases if watched.tf_title(c) == f"Slow edit {c}")
        assert synced in (landed - 1, landed)
        log = [line["message"] for line in watched.console.monitor()["log"]]
        assert "sync switched off: stopping after the operation in flight" in log
    finally:
        watched.watcher.request_stop()
        await asyncio.wait_for(task, 5)


def test_the_log_ring_keeps_the_last_lines(tmp_path: Path) -> None:
    now = [1000.0]
    with StateStore(tmp_path / "state") as store:
        monitor = WatchMonitor(store, interval=60, clock=lambda: now[0])
        for n in range(LOG_LINES + 50):
            now[0] += 1.0  # every event a second later: each one is written
            monitor(Activity("info", f"line {n}", at=now[0]))
        ring = store.get(LOG_KEY)
        assert len(ring) == LOG_LINES
        assert ring[0]["message"] == "line 50"
        assert ring[-1] == {"at": now[0], "level": "info", "message": f"line {LOG_LINES + 49}"}
        assert store.get(MONITOR_KEY)["state"] == "waiting"


def test_the_watch_names_a_maintenance_wait_and_publishes_its_count(tmp_path: Path) -> None:
    now = [1000.0]
    with StateStore(tmp_path / "state") as store:
        monitor = WatchMonitor(
            store,
            interval=60,
            clock=lambda: now[0],
            budgets=lambda: [("testrail", 12, 180, 3, 1), ("testfiesta", 4, None, 0, 0)],
        )
        now[0] += 10.0
        monitor(RateLimitWait("testrail", "get_cases", 30.0, 409))
        now[0] += 10.0
        monitor(RateLimitWait("testrail", "get_sections", 5.0, 429))
        doc = store.get(MONITOR_KEY)
        assert [line["message"] for line in store.get(LOG_KEY)] == [
            "testrail maintenance on get_cases: waiting 30.0 s",
            "testrail rate limit on get_sections: waiting 5.0 s",
        ]
        assert doc["waits"]["testrail"] == {
            "until": 1025.0,
            "endpoint": "get_sections",
            "reason": "rate limit",
            "count": 2,
        }
        assert doc["budgets"] == {
            "testrail": {
                "last_minute": 12,
                "per_minute": 180,
                "rate_limited": 3,
                "maintenance_waits": 1,
            },
            "testfiesta": {
                "last_minute": 4,
                "per_minute": None,
                "rate_limited": 0,
                "maintenance_waits": 0,
            },
        }


def test_eta_from_the_pace_so_far() -> None:
    assert eta_seconds(25, 100, started=1000.0, now=1010.0) == 30.0
    assert eta_seconds(100, 100, started=1000.0, now=1010.0) == 0.0
    assert eta_seconds(0, 100, started=1000.0, now=1010.0) is None
    assert eta_seconds(5, None, started=1000.0, now=1010.0) is None
    assert eta_seconds(5, 100, started=1000.0, now=1000.5) is None
