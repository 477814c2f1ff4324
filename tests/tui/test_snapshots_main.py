"""SVG snapshots of the main screen (pytest-textual-snapshot) at 80x24 and 160x48, dark and
high-contrast, over the seeded emulators in-process (tests/tui/conftest.py): the Webshop
project migrated, one TestRail case added after the migration (only here), the Login section
open on both sides. Nothing time-dependent is drawn: the log is emptied (stage durations) and
its clock frozen, and the progress row's elapsed time is replaced by the pair's status.

Update with ``pytest tests/tui/test_snapshots_main.py --snapshot-update`` after a deliberate
change, and look at the SVGs (``snapshot_report.html`` shows the differences).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from core.service import Service
from emulators.testrail import ops
from emulators.testrail.store import TestRailState
from tests.tui.pilot import child, loaded, wait_for
from tui import bridge
from tui.app import RailfiestaApp
from tui.widgets.activity import ActivityLog

#: 2026-01-05 09:30:00 UTC, the time every log line shows
FROZEN = 1_767_605_400.0


@pytest.fixture
def frozen_log(monkeypatch: pytest.MonkeyPatch) -> None:
    """The activity log stamps lines with :data:`FROZEN` in UTC."""
    clock = SimpleNamespace(
        time=lambda: FROZEN, localtime=time.gmtime, strftime=time.strftime, monotonic=time.monotonic
    )
    monkeypatch.setattr(bridge, "time", clock)


def main_screen_app(make_service: Callable[..., Service], theme: str) -> RailfiestaApp:
    return RailfiestaApp(make_service(), theme=theme)


async def settle(pilot: Any, state: TestRailState) -> None:
    """Migrate, add one TestRail case afterwards, open Login on both sides, hide the clock."""
    app: RailfiestaApp = pilot.app
    await loaded(pilot, app)
    await pilot.press("M")
    await wait_for(pilot, lambda: not app.migrating, timeout=20)
    screen = app.main_screen
    right = screen.testfiesta_pane.project_tree
    await wait_for(pilot, lambda: bool(right.root.children) and screen.testfiesta_pane.loaded)
    with state.lock:
        login = next(s for s in state.sections.values() if s["name"] == "Login")
        ops.add_case(state, login["id"], {"title": "Added after the migration"}, None)
    screen.reload_panes()
    await loaded(pilot, app)
    left = screen.testrail_pane.project_tree
    await wait_for(pilot, lambda: left.record("tr:case:1") is not None)  # Login opened again
    await wait_for(pilot, lambda: left.record("tr:case:5") is not None, timeout=6)
    left.focus()
    left.move_cursor(left._node_of("tr:case:1"))
    await pilot.pause()
    right_login = child(right.root, "Login")
    if not right_login.is_expanded:
        right_login.expand()
    screen.progress.idle(screen.status_text())  # no elapsed time on the row
    # the migration's lines carry stage durations: the log is emptied, then says one thing
    log = screen.query_one(ActivityLog)
    log.flush()
    log.clear()
    app.bridge.log("info", "log emptied for the snapshot (the migration's lines carry timings)")
    log.flush()
    app.clear_notifications()
    await pilot.pause()
    screen.refresh_budgets()  # every request made: the header counts them all, now
    await pilot.pause()


async def open_login(pilot: Any) -> None:
    app: RailfiestaApp = pilot.app
    await wait_for(pilot, lambda: bool(app._main and app._main.query("#testrail-tree")))
    await loaded(pilot, app)
    left = app.main_screen.testrail_pane.project_tree
    login = child(left.root, "Login")
    left.focus()
    left.move_cursor(login)
    await pilot.press("space")
    await wait_for(pilot, lambda: left.record("tr:case:1") is not None)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
@pytest.mark.parametrize("theme", ["railfiesta-dark", "railfiesta-high-contrast"])
def test_main_screen(
    snap_compare: Any,
    secrets: None,
    frozen_log: None,
    make_service: Callable[..., Service],
    testrail_state: TestRailState,
    size: tuple[int, int],
    theme: str,
) -> None:
    app = main_screen_app(make_service, theme)

    async def before(pilot: Any) -> None:
        await open_login(pilot)
        await settle(pilot, testrail_state)

    assert snap_compare(app, terminal_size=size, run_before=before)
