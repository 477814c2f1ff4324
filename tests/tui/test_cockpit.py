"""The sync cockpit driven with Pilot: `s` (persisted through tomlkit), `S` (a TestRail edit
reaches TestFiesta), the header (both connections, sync line, conflicts, an unavailable S),
the pair switcher, panes updated while records arrive, progress per kind."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from textual.widgets import Label

from core.config_edit import set_sync_enabled
from core.http import RequestStats
from core.lock import StateLock
from core.monitor import MONITOR_KEY
from core.service import Budget, Service
from emulators.testrail import ops
from emulators.testrail.store import TestRailState
from tests.tui.conftest import PROJECT, add_project
from tests.tui.pilot import child, loaded, log_text, names, open_node, wait_for
from tui.app import RailfiestaApp
from tui.widgets.connection_bar import ConnectionBar
from tui.widgets.project_tree import ProjectTree

SIGN_IN = "User signs in with a valid password"


def header(app: RailfiestaApp) -> ConnectionBar:
    return app.main_screen.header


def tf_names(service: Service) -> list[str]:
    """Every case name the TestFiesta emulator holds (through the service's transport)."""
    transport: Any = service._transports[1]
    state = transport.app.state.testfiesta
    return sorted(str(row["name"]) for row in state.db.cases.values() if not row["deletedAt"])


def tr_case_id(state: TestRailState, title: str) -> int:
    with state.lock:
        return next(cid for cid, row in state.cases.items() if row["title"] == title)


class Delayed(httpx.ASGITransport):
    """The TestFiesta transport, each request :attr:`delay` seconds late; the delay may be
    changed at any time, so a test slows down the one cycle it presses a key during, not
    the migrations before and after it."""

    def __init__(self, app: Any) -> None:
        super().__init__(app=app)
        self.delay = 0.0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.delay > 0:
            await asyncio.sleep(self.delay)
        return await super().handle_async_request(request)


def delayed(service: Service) -> Delayed:
    """Put a :class:`Delayed` TestFiesta transport (no delay yet) under ``service``, which
    is not open yet; it is returned to set its delay."""
    testrail, testfiesta = service._transports
    assert isinstance(testfiesta, httpx.ASGITransport)
    transport = Delayed(testfiesta.app)
    service._transports = (testrail, transport)
    return transport


async def migrated(pilot: Any, app: RailfiestaApp) -> None:
    await loaded(pilot, app)
    await pilot.press("M")
    await wait_for(
        pilot, lambda: app._migration is not None and app._migration.is_finished, timeout=20
    )
    await wait_for(pilot, lambda: app.main_screen.progress.text.startswith("Migrated"))


async def test_s_writes_sync_on_and_off_into_the_config_and_shows_it_at_once(
    secrets: None, make_service: Callable[..., Service], tmp_path: Path
) -> None:
    service = make_service()
    path = service.config.path
    before = path.read_bytes()
    # what `railfiesta sync on` writes, for comparison: the same tomlkit writer
    expected_on = tmp_path / "expected.toml"
    expected_on.write_bytes(before)
    set_sync_enabled(expected_on, True)
    assert expected_on.read_bytes() == before + b"\n[sync]\nenabled = true\n"
    app = RailfiestaApp(service)
    async with app.run_test(size=(120, 40)) as pilot:
        await migrated(pilot, app)
        assert header(app).sync_text.startswith("○ off · 0 open conflicts")
        await pilot.press("s")
        # at once: set before the file is written (a busy machine may deliver the key late)
        await wait_for(pilot, lambda: header(app).sync_text.startswith("● on"), timeout=5)
        await wait_for(pilot, lambda: path.read_bytes() == expected_on.read_bytes())
        # sync is on: the console runs the watch itself, holding the state lock
        await wait_for(pilot, lambda: app.sync.mode == "own", timeout=6)
        await wait_for(pilot, lambda: "next poll in 4:" in header(app).sync_text, timeout=10)
        holder = service.sync_holder()
        assert holder is not None and holder["command"] == "railfiesta (console)"
        assert "sync switched on ([sync] enabled = true)" in log_text(app)
        assert f"{PROJECT}: synced (nothing to do); 0 conflicts open" in log_text(app)

        await pilot.press("s")
        await wait_for(pilot, lambda: header(app).sync_text.startswith("○ off"), timeout=5)
        await wait_for(pilot, lambda: b"enabled = false" in path.read_bytes())
        assert path.read_bytes() == before + b"\n[sync]\nenabled = false\n"
        await wait_for(pilot, lambda: app.sync.mode == "none", timeout=6)
        assert service.sync_holder() is None  # the lock was let go
        assert "sync switched off ([sync] enabled = false)" in log_text(app)


async def test_S_brings_a_testrail_edit_to_testfiesta_and_into_the_panes(
    secrets: None,
    make_service: Callable[..., Service],
    testrail_state: TestRailState,
) -> None:
    service = make_service()
    app = RailfiestaApp(service)
    async with app.run_test(size=(120, 40)) as pilot:
        await migrated(pilot, app)
        case_id = tr_case_id(testrail_state, SIGN_IN)
        with testrail_state.lock:
            ops.update_case(
                testrail_state, case_id, {"title": "Sign in – edited in TestRail"}, None
            )
        screen = app.main_screen
        right = screen.query_one("#testfiesta-tree", ProjectTree)
        await wait_for(pilot, lambda: names(right.root) == ["Login", "Checkout"])
        login = child(right.root, "Login")
        await open_node(pilot, right, login)
        assert SIGN_IN in names(login)

        await pilot.press("S")
        await wait_for(pilot, lambda: "Sign in – edited in TestRail" in tf_names(service), 10)
        assert SIGN_IN not in tf_names(service)
        await wait_for(pilot, lambda: screen.progress.text.startswith("Synced"), timeout=10)
        assert screen.progress.text == "Synced Webshop -> WEB: 1 write, 0 conflicts open"
        # 7 records a side observed, 1 case written
        assert screen.kinds.text == "reading 14/14 ✓   cases 1/1 ✓"
        assert f"{PROJECT}: synced (update testfiesta 1 case); 0 conflicts open" in log_text(app)
        # the pane reloaded with the new title, the folder still open
        await wait_for(
            pilot,
            lambda: "Sign in – edited in TestRail" in names(child(right.root, "Login")),
            timeout=10,
        )
        await wait_for(pilot, lambda: app.sync.mode == "none")
        assert service.sync_holder() is None


async def test_a_budget_is_redrawn_only_when_its_text_changes_and_laid_out_when_wider(
    secrets: None, make_service: Callable[..., Service], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = RailfiestaApp(make_service())
    async with app.run_test(size=(160, 40)) as pilot:
        await loaded(pilot, app)
        bar = header(app)
        row = bar.row("testrail")
        label = row.query_one(".conn-budget", Label)
        # the console's own once-a-second budget redraw would show the real budget meanwhile
        monkeypatch.setattr(bar, "show_budgets", lambda budgets: None)
        updates: list[tuple[str, bool]] = []
        real = label.update

        def counted(content: Any = "", *, layout: bool = True) -> None:
            updates.append((str(content), layout))
            real(content, layout=layout)

        monkeypatch.setattr(label, "update", counted)
        row.set_budget(Budget("testrail", 17, 180, RequestStats()))
        row.set_budget(Budget("testrail", 17, 180, RequestStats()))  # the same text again
        assert updates == [("17/180 req/min", True)]  # (was "… req/min" of another width)
        row.set_budget(Budget("testrail", 18, 180, RequestStats()))  # as wide: no layout
        assert updates[-1] == ("18/180 req/min", False)
        row.set_budget(Budget("testrail", 18, 180, RequestStats(rate_limited=2)))
        assert updates[-1] == ("18/180 req/min · 429×2", True)
        assert len(updates) == 3
        await pilot.pause()
        assert label.render_line(0).text.strip() == "18/180 req/min · 429×2"


async def test_the_header_names_both_sides_the_sync_state_and_open_conflicts(
    secrets: None,
    make_service: Callable[..., Service],
    testrail_state: TestRailState,
) -> None:
    service = make_service()
    app = RailfiestaApp(service)
    async with app.run_test(size=(160, 40)) as pilot:
        await migrated(pilot, app)
        bar = header(app)
        assert bar.row("testrail").target_text == "http://testrail.test as qa@example.com"
        assert bar.row("testfiesta").target_text == "http://testfiesta.test · acme"
        assert bar.row("testrail").state_text == bar.row("testfiesta").state_text == "● connected"
        assert bar.row("testrail").budget_text.endswith(" req/min")
        # one case edited on both sides: a conflict, counted in the header
        case_id = tr_case_id(testrail_state, SIGN_IN)
        with testrail_state.lock:
            ops.update_case(testrail_state, case_id, {"title": "TestRail's title"}, None)
        tf_state: Any = service._transports[1]
        tf = tf_state.app.state.testfiesta
        row = next(r for r in tf.db.cases.values() if r["name"] == SIGN_IN)
        assert tf.update(row, {"name": "TestFiesta's title"})
        await pilot.press("S")
        await wait_for(pilot, lambda: "1 open conflict" in bar.sync_text, timeout=10)
        assert bar.sync_text.startswith("○ off · 1 open conflict · last cycle ")
        assert app.main_screen.progress.text == "Synced Webshop -> WEB: 0 writes, 1 conflict open"


async def test_a_side_that_is_down_makes_S_unavailable_and_says_why(
    secrets: None, make_service: Callable[..., Service]
) -> None:
    app = RailfiestaApp(make_service(testfiesta_token="testfiesta_another-token"))
    async with app.run_test(size=(160, 40)) as pilot:
        await loaded(pilot, app)
        bar = header(app)
        await wait_for(pilot, lambda: bar.row("testfiesta").state == "refused")
        # the state says it in a few cells; the whole error is the tooltip's and the log's
        assert bar.row("testfiesta").target_text == "http://testfiesta.test · acme"
        assert bar.row("testfiesta").state_text == "✗ key refused"
        # TestRail's row carries no error of the other side
        assert bar.row("testrail").target_text == "http://testrail.test as qa@example.com"
        assert app.check_action("sync_now", ()) is None  # dimmed in the footer
        await wait_for(pilot, lambda: "need both servers" in bar.sync_text)
        assert bar.sync_text.endswith("S and M need both servers (TestFiesta refused the API key)")
        await pilot.press("S")  # no cycle, no lock: a toast says why
        await pilot.pause(0.3)
        assert app.sync.mode == "none"


async def test_the_pair_switcher_names_both_projects_of_each_pair(
    secrets: None, make_service: Callable[..., Service], testrail_state: TestRailState
) -> None:
    add_project(testrail_state, "Mobile app", {"Mobile app": ["Onboarding"]})
    app = RailfiestaApp(make_service(pairs=((PROJECT, "WEB"), ("Mobile app", "MOB"))))
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app)
        bar = header(app)
        assert bar.pair_text == "1 of 2: Webshop → WEB  · p next pair"
        commands = [c.title for c in app.get_system_commands(app.screen)]
        assert "Show pair: Webshop → WEB" in commands
        assert "Show pair: Mobile app → MOB" in commands
        assert {"Sync on/off", "Sync now"} <= set(commands)
        await pilot.press("p")
        await wait_for(pilot, lambda: bar.pair_text.startswith("2 of 2"))
        assert bar.pair_text == "2 of 2: Mobile app → MOB  · p next pair"


async def test_the_testfiesta_pane_fills_while_the_migration_runs(
    secrets: None, make_service: Callable[..., Service]
) -> None:
    # every TestFiesta answer takes 0.15 s: the migration takes seconds, the panes reload
    # while it writes; once the pane has shown records, the rest goes at full speed
    service = make_service()
    transport = delayed(service)
    transport.delay = 0.15
    app = RailfiestaApp(service)
    seen_during: list[list[str]] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app)
        right = app.main_screen.query_one("#testfiesta-tree", ProjectTree)
        await pilot.press("M")
        await wait_for(pilot, lambda: app.migrating)
        deadline = time.monotonic() + 30
        while app.migrating and time.monotonic() < deadline:
            if names(right.root):
                seen_during.append(names(right.root))
                transport.delay = 0.0
            await pilot.pause(0.05)
        assert not app.migrating
        assert seen_during, "the TestFiesta pane showed nothing before the migration ended"
        assert seen_during[0][0] == "Login"
        kinds = app.main_screen.kinds.text
        assert "folders 3/3 ✓" in kinds and "cases 4/4 ✓" in kinds


def clock(at: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(at))


async def test_the_headers_last_cycle_is_the_last_finished_one_as_status_says(
    secrets: None, make_service: Callable[..., Service]
) -> None:
    """A watch that ran before left its per-pair cycles in the monitor document; a one-off
    cycle after it (``sync --once``, the console's ``S``) is newer: the header says what
    ``status`` says (``Service.last_poll``), and moves on with each cycle that ends."""
    service = make_service()
    app = RailfiestaApp(service)
    async with app.run_test(size=(160, 40)) as pilot:
        await migrated(pilot, app)
        bar = header(app)
        assert service.store is not None
        old, newer = 1_700_000_000.0, 1_700_000_043.0  # 43 s apart, as in the report
        service.store.set(MONITOR_KEY, {"state": "stopped", "cycles": {PROJECT: {"at": old}}})
        service.store.set("meta:last_poll", newer)
        assert service.status()["last_poll"] == service.last_poll() == newer
        await wait_for(pilot, lambda: bar.sync_text.endswith(f"last cycle {clock(newer)}"))
        assert bar.sync_text == f"○ off · 0 open conflicts · last cycle {clock(newer)}"

        for _ in range(2):  # two S cycles: each one's end is shown
            before = service.last_poll()
            assert before is not None
            await pilot.press("S")
            await wait_for(pilot, lambda b=before: service.last_poll() != b, timeout=10)
            await wait_for(pilot, lambda: app.sync.mode == "none", timeout=10)
            done = service.last_poll()
            assert done is not None and done > before
            await wait_for(
                pilot, lambda d=done: bar.sync_text.endswith(f"last cycle {clock(d)}"), 5
            )
            assert bar.sync_text == f"○ off · 0 open conflicts · last cycle {clock(done)}"
            assert done == service.status()["last_poll"]


async def test_M_with_sync_on_and_no_cycle_in_flight_migrates_at_once_then_syncs_again(
    secrets: None, make_service: Callable[..., Service]
) -> None:
    service = make_service()
    app = RailfiestaApp(service)
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        await migrated(pilot, app)
        first = app._migration
        bar = header(app)
        await pilot.press("s")
        await wait_for(pilot, lambda: app.sync.mode == "own", timeout=6)
        await wait_for(pilot, lambda: "next poll in 4:" in bar.sync_text, timeout=10)
        assert app.unavailable("migrate") == ""
        assert not app.sync.cycle_in_flight
        await pilot.press("M")
        # the own watch stops between two cycles; the migration starts, with the lock let go
        # (the migration may end before a look: the watch never runs beside it, sampled)
        overlaps: list[str] = []

        def second_migration_done() -> bool:
            if app.migrating and app.sync.running:
                overlaps.append(app.sync.mode)
            migration = app._migration
            return migration is not first and migration is not None and migration.is_finished

        await wait_for(pilot, second_migration_done)
        assert overlaps == []
        assert not app.sync.migration_queued
        text = log_text(app)
        assert text.count("migration started") == 2
        stops = text.index("M: the watch stops for the migration; it syncs again after")
        assert stops < text.rindex("migration started")
        # sync is still on: the console's watch starts again (a cycle at once), one engine
        await wait_for(pilot, lambda: app.sync.mode == "own", timeout=6)
        await wait_for(pilot, lambda: "next poll in 4:" in bar.sync_text, timeout=10)
        assert bar.sync_text.startswith("● on · next poll in 4:")
        assert "M:" not in bar.sync_text
        assert log_text(app).count("sync is on: this console syncs every 5:00") == 2


async def test_M_during_a_cycle_is_queued_said_so_and_starts_when_the_cycle_ends(
    secrets: None, make_service: Callable[..., Service]
) -> None:
    service = make_service()
    transport = delayed(service)
    app = RailfiestaApp(service)
    queued = "M: the migration starts when this sync ends"
    async with app.run_test(size=(200, 40), notifications=True) as pilot:
        await migrated(pilot, app)
        first = app._migration
        bar = header(app)
        transport.delay = 0.15  # a cycle long enough to press M during it
        await pilot.press("S")
        await wait_for(pilot, lambda: app.sync.mode == "once", timeout=5)
        assert app.unavailable("migrate") == ""
        await pilot.press("M")
        await wait_for(pilot, lambda: app.sync.migration_queued, timeout=2)
        assert app._migration is first  # not yet: the cycle is in flight
        assert app.sync.mode == "once"
        assert queued in log_text(app)
        assert [n.message for n in app._notifications if n.message == queued] == [queued]
        assert bar.sync_text == f"○ off · syncing now… · {queued} · 0 open conflicts"
        transport.delay = 0.0  # the rest of the cycle and the migration at full speed
        await wait_for(pilot, lambda: app._migration is not first, timeout=20)
        # it started as the cycle ended: the cycle's line is logged, the lock let go
        assert app.sync.mode == "none"
        assert service.sync_holder() is None
        await wait_for(pilot, lambda: app._migration is not None and app._migration.is_finished)
        text = log_text(app)
        synced = text.index(f"{PROJECT}: synced (nothing to do); 0 conflicts open")
        assert text.index(queued) < synced < text.rindex("migration started")
        assert text.count("migration started") == 2
        assert queued not in bar.sync_text


async def test_M_during_the_own_watchs_cycle_waits_for_its_end(
    secrets: None, make_service: Callable[..., Service]
) -> None:
    service = make_service()
    transport = delayed(service)
    app = RailfiestaApp(service)
    queued = "M: the migration starts when this sync ends"
    async with app.run_test(size=(200, 40), notifications=True) as pilot:
        await migrated(pilot, app)
        first = app._migration
        bar = header(app)
        # a cycle long enough for a look at the state directory (once a second) to see it
        # syncing, and to press M during it
        transport.delay = 0.3
        await pilot.press("s")
        await wait_for(pilot, lambda: "syncing…" in bar.sync_text, timeout=10)
        assert app.sync.cycle_in_flight
        await pilot.press("M")
        await wait_for(pilot, lambda: app.sync.migration_queued, timeout=2)
        assert bar.sync_text == f"● on · syncing… · {queued} · 0 open conflicts"
        assert app._migration is first
        transport.delay = 0.0  # the rest of the cycle and the migration at full speed
        await wait_for(pilot, lambda: app._migration is not first, timeout=20)
        assert app.sync.mode == "none"
        await wait_for(pilot, lambda: app._migration is not None and app._migration.is_finished)
        text = log_text(app)
        synced = text.index(f"{PROJECT}: synced (nothing to do); 0 conflicts open")
        assert text.index(queued) < synced < text.rindex("migration started")
        # not stopped part-way: the cycle ended on its own
        assert "stopping after the operation in flight" not in text
        await wait_for(pilot, lambda: app.sync.mode == "own", timeout=6)


async def test_sync_switched_on_during_a_migration_waits_for_it_and_says_so(
    secrets: None, make_service: Callable[..., Service]
) -> None:
    """``s`` while a migration runs: sync is on, but the console's watch does not start
    (one engine at a time); the header says it waits for the migration, and once the
    migration ends the watch starts and the header shows its next poll instead."""
    service = make_service()
    transport = delayed(service)
    app = RailfiestaApp(service)
    async with app.run_test(size=(200, 40)) as pilot:
        await loaded(pilot, app)
        bar = header(app)
        transport.delay = 0.15  # a migration long enough to press s during it
        await pilot.press("M")
        await wait_for(pilot, lambda: app.migrating)
        s_waits = "S waits for the migration"  # why S is unavailable, on or off
        await wait_for(pilot, lambda: s_waits in bar.sync_text, timeout=5)
        assert bar.sync_text == f"○ off · 0 open conflicts · {s_waits}"  # off: no watch waits
        await pilot.press("s")
        await wait_for(pilot, lambda: bar.sync_text.startswith("● on"), timeout=5)
        # the sync that waits says why S waits too: not twice
        assert bar.sync_text == "● on · waiting for the migration · 0 open conflicts"
        assert app.migrating
        assert app.sync.mode == "none"
        transport.delay = 0.0
        await wait_for(pilot, lambda: not app.migrating, timeout=20)
        await wait_for(pilot, lambda: app.sync.mode == "own", timeout=6)
        await wait_for(pilot, lambda: "next poll in 4:" in bar.sync_text, timeout=10)
        assert bar.sync_text.startswith("● on · next poll in 4:")
        assert "waiting for the migration" not in bar.sync_text
        assert s_waits not in bar.sync_text
        text = log_text(app)
        # the watch started after the migration had ended, not during it
        assert text.index("migrated: Webshop -> WEB") < text.index(
            "sync is on: this console syncs every 5:00"
        )


async def test_a_look_while_the_watch_takes_the_lock_starts_no_second_watch(
    secrets: None, make_service: Callable[..., Service], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The state lock is taken in a thread, and the mode says "own" only once it is held:
    a look at the state directory meanwhile (once a second, or after any change) must not
    start a second watch, which cancelled the first after its thread took the lock (never
    let go: every later start found it held, and the console never synced)."""
    taken: list[StateLock] = []
    acquire = StateLock.acquire

    def slow_acquire(lock: StateLock) -> str | None:
        time.sleep(0.6)
        taken.append(lock)
        return acquire(lock)

    monkeypatch.setattr(StateLock, "acquire", slow_acquire)
    app = RailfiestaApp(make_service())
    async with app.run_test(size=(160, 40)) as pilot:
        await migrated(pilot, app)
        before = len(taken)
        syncing = [w for w in app.workers if w.group == "sync"]
        await pilot.press("s")
        await wait_for(
            pilot, lambda: any(w.group == "sync" and w not in syncing for w in app.workers), 5
        )
        for _ in range(3):  # looks while the lock is being taken
            app.sync.poll()
            await pilot.pause(0.1)
        await wait_for(pilot, lambda: app.sync.mode == "own", timeout=6)
        assert len(taken) == before + 1
        assert log_text(app).count("sync is on: this console syncs every 5:00") == 1
