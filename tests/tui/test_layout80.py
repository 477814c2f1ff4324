"""The console at 80x24, as a first tester met it: every screen's footer keeps ``?`` and the
way back, the header keeps the last cycle, the sync state and the countdown, the stacked
panes keep 6 rows of tree each, the log wraps again after a resize, and toasts on the
conflicts screen leave the diff alone. Over the emulators in-process (tests/tui/conftest.py,
the conflicts of tests/tui/test_conflicts.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import OptionList
from textual.widgets._toast import Toast

from core.service import Service
from tests.tui.pilot import loaded, screen_text, wait_for
from tests.tui.test_conflicts import World, build_world, make_conflicts, open_conflicts
from tui.app import RailfiestaApp
from tui.screens.details import RecordDetails
from tui.screens.mapping import MappingEditor
from tui.sync_control import ATTACHED, SyncControl
from tui.widgets.activity import ActivityLog
from tui.widgets.connection_bar import address_text

#: 2026-01-05 09:30:00 UTC: the last cycle the header shows
LAST_POLL = 1_767_605_400.0


@pytest.fixture
async def conflicts(tmp_path: Path, secrets: None) -> World:
    """The three conflicts of tests/tui/test_conflicts.py (migrated, edited, synced once)."""
    made = build_world(tmp_path)
    await make_conflicts(made)
    return made


def lines_of(app: RailfiestaApp) -> list[str]:
    return screen_text(app).splitlines()


async def footer_line(pilot: Any, app: RailfiestaApp, starts: str) -> str:
    """The bottom line once the footer shows the current screen's keys (a refresh later)."""
    await wait_for(pilot, lambda: lines_of(app)[-1].startswith(starts), timeout=5)
    return lines_of(app)[-1].rstrip()


async def test_at_80x24_the_mapping_footer_shows_its_keys_then_help_and_quit_then_the_console(
    secrets: None, make_service: Callable[..., Service]
) -> None:
    app = RailfiestaApp(make_service())
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        main = await footer_line(pilot, app, "/ Filter")
        # the main screen keeps the console's keys in their BINDINGS order
        assert (
            main
            == "/ Filter s Sync on/off S Sync now M Migrate c Conflicts m Mapping ? Keys q Quit"
        )
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, MappingEditor) and app.screen.loaded)
        mapping = await footer_line(pilot, app, "⏎ Change")
        assert mapping == (
            "⏎ Change esc Close w Save x Undo row ? Keys q Quit s Sync on/off S Sync now M Mi"
        )


async def test_at_80x24_the_details_footer_shows_close_then_help(
    secrets: None, make_service: Callable[..., Service]
) -> None:
    app = RailfiestaApp(make_service())
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        tree = app.main_screen.testrail_pane.project_tree
        tree.move_cursor(tree.root.children[0])  # the Login section
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, RecordDetails))
        # q closes the details (their own key, not shown): the console's q is not bound there
        details = await footer_line(pilot, app, "esc Close")
        assert details == (
            "esc Close f Only differences ? Keys s Sync on/off S Sync now M Migrate c Conflic"
        )


async def test_at_80x24_the_header_drops_the_scheme_and_keeps_the_last_cycle(
    secrets: None, make_service: Callable[..., Service]
) -> None:
    service = make_service()
    app = RailfiestaApp(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        assert service.store is not None
        service.store.set("meta:last_poll", LAST_POLL)
        clock = time.strftime("%H:%M:%S", time.localtime(LAST_POLL))
        bar = app.main_screen.header
        await wait_for(pilot, lambda: bar.sync_text.endswith(clock), timeout=5)
        await pilot.pause()
        top = [" ".join(line.split()) for line in lines_of(app)[:3]]
        assert top == [
            "TestRail testrail.test as qa@example.com ● connected "
            + bar.row("testrail").budget_text,
            "TestFiesta testfiesta.test · acme ● connected " + bar.row("testfiesta").budget_text,
            f"Sync ○ off · 0 conflicts · last {clock}",
        ]
        # wide again: the whole address and words
        await pilot.resize_terminal(120, 30)
        await wait_for(pilot, lambda: "open conflicts" in bar.sync_text, timeout=2)
        assert bar.sync_text == f"○ off · 0 open conflicts · last cycle {clock}"
        assert bar.row("testrail").target_text == "http://testrail.test as qa@example.com"


def test_the_short_sync_line_of_an_attached_watch_fits_80_columns() -> None:
    """The longest usual line (a watch elsewhere, its countdown, a chosen conflict, the last
    cycle) in 67 columns: 80 less the padding and the "Sync" column."""
    service: Any = type("S", (), {})()
    service.config = type("C", (), {"sync": type("Y", (), {"enabled": True})()})()
    control = SyncControl(
        None,  # type: ignore[arg-type]
        service,
        None,  # type: ignore[arg-type]
        changed=lambda: None,
        down=lambda: "",
        busy=lambda: False,
    )
    control.mode = ATTACHED
    control.holder = {"command": "railfiesta sync --watch --interval 5m", "pid": 4242}
    now = LAST_POLL + 48
    control.snapshot = {
        "watch": {"state": "watching", "next_poll": now + 252},
        "conflicts": 2,
        "resolved_waiting": 1,
        "last_poll": LAST_POLL,
    }
    clock = time.strftime("%H:%M:%S", time.localtime(LAST_POLL))
    short = control.header_text(now, short=True)
    assert (
        short
        == f"● on · next 4:12 · 2 conflicts (1 chosen) · last {clock} · attached: sync --watch"
    )
    # what is cut at 67 columns is who is attached, never the state, countdown or cycle
    assert short.index(clock) + len(clock) <= 67
    assert control.header_text(now) == (
        "● on · next poll in 4:12 · 2 open conflicts (1 chosen, not applied yet) · "
        f"attached to sync --watch (pid 4242) · last cycle {clock}"
    )


def test_a_short_address_has_no_scheme_nor_trailing_slash() -> None:
    assert address_text("https://acme.testrail.io/", narrow=True) == "acme.testrail.io"
    assert address_text("http://127.0.0.1:40073", narrow=True) == "127.0.0.1:40073"
    assert address_text("https://acme.testrail.io/", narrow=False) == "https://acme.testrail.io/"


async def test_at_80x24_each_stacked_pane_keeps_six_rows_of_tree(
    secrets: None, make_service: Callable[..., Service]
) -> None:
    app = RailfiestaApp(make_service())
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        screen = app.main_screen
        trees = (screen.testrail_pane.project_tree, screen.testfiesta_pane.project_tree)
        # the TestFiesta pane holds its note ("Not migrated yet") above its tree
        rows = [screen.testrail_pane.region.height, screen.testfiesta_pane.region.height]
        assert rows == [8, 9]
        assert trees[0].region.height == 6
        assert screen.query_one(ActivityLog).region.height == 2


async def test_a_log_line_wraps_again_to_the_new_width_after_a_resize(
    secrets: None, make_service: Callable[..., Service]
) -> None:
    app = RailfiestaApp(make_service())
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        log = app.main_screen.query_one(ActivityLog)
        log.clear()
        words = "the TestRail case C4 has an attachment that is larger than TestFiesta takes"
        app.bridge.log("warning", words)
        log.flush()
        stamp = log.written[-1][:8]
        assert log.lines == [
            f"{stamp} WRN the TestRail case C4 has an attachment that is larger than",
            "             TestFiesta takes",
        ]
        await pilot.resize_terminal(120, 24)
        await wait_for(pilot, lambda: len(log.lines) == 1, timeout=2)
        assert log.lines == [f"{stamp} WRN {words}"]
        await pilot.resize_terminal(60, 24)
        await wait_for(pilot, lambda: len(log.lines[0]) < 60, timeout=2)
        assert log.lines == [
            f"{stamp} WRN the TestRail case C4 has an attachment that",
            "             is larger than TestFiesta takes",
        ]
        # the newest line stays in view after the log shrank and wrapped again
        assert lines_of(app)[-2].rstrip() == "             is larger than TestFiesta takes"


async def test_at_80x24_toasts_on_the_conflicts_screen_leave_the_title_and_the_diff(
    conflicts: World,
) -> None:
    app = conflicts.app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        screen = await open_conflicts(pilot, app)
        app.notify("a long error message " * 8, title="Sync failed", severity="error")
        await pilot.pause(0.2)
        lines = lines_of(app)
        diff = screen.query_one("#conflict-diff").region
        listed = screen.query_one(OptionList).region
        # over the list's right half, under the title line: clipped to the list's rows
        assert lines[0].rstrip() == " Conflicts: 3 open"
        assert [line[42:].rstrip() for line in lines[2:7]] == [
            "Sync failed",
            "a long error message a long error",
            "message a long error message a long",
            "error message a long error message a",
            "long error message a long error",
        ]
        assert not any("▌" in line for line in lines[diff.y : diff.bottom])
        # a newer toast: the older one no longer fits the list's rows and goes
        app.notify("Copied id: tr:case:3")
        await wait_for(pilot, lambda: len(screen.query(Toast)) == 1, timeout=5)
        await pilot.pause(0.2)
        [toast] = screen.query(Toast)
        assert toast.region.y == listed.y + 1 and not toast.region.overlaps(diff)
        lines = lines_of(app)
        assert lines[2][42:].rstrip() == "Copied id: tr:case:3"
        assert not any("▌" in line for line in lines[diff.y : diff.bottom])


async def test_a_resize_while_another_screen_shows_reaches_the_main_screen(
    secrets: None, make_service: Callable[..., Service]
) -> None:
    app = RailfiestaApp(make_service())
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot, app)
        bar = app.main_screen.header
        assert bar.row("testrail").target_text == "http://testrail.test as qa@example.com"
        await pilot.press("question_mark")  # the keys: another screen over the main one
        await wait_for(pilot, lambda: app.screen is not app.main_screen, timeout=5)
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.main_screen, timeout=5)
        await pilot.pause()
        assert app.main_screen.has_class("-narrow") and app.main_screen.has_class("-short")
        assert bar.row("testrail").target_text == "testrail.test as qa@example.com"
        assert bar.sync_text.startswith("○ off · 0 conflicts")
        # and back to wide while another screen shows
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: app.screen is not app.main_screen, timeout=5)
        await pilot.resize_terminal(160, 48)
        await pilot.pause()
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.main_screen, timeout=5)
        await pilot.pause()
        assert app.main_screen.has_class("-wide") and app.main_screen.has_class("-tall")
        assert bar.row("testrail").target_text == "http://testrail.test as qa@example.com"
