"""SVG snapshots of the details and the mapping editor (pytest-textual-snapshot), at 80x24 and
160x48, in the dark and the high-contrast theme. The data are the emulators' (conftest.py)
after a migration, with one TestRail case edited since: nothing depends on the clock.

Update after a deliberate change with ``pytest tests/tui/test_snapshots_details_mapping.py
--snapshot-update`` and look at the SVGs before committing them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import OptionList

from core.service import Service
from core.sync_state import PENDING
from tests.tui.pilot import child, loaded, names, wait_for
from tui.app import RailfiestaApp
from tui.screens.details import RecordDetails
from tui.screens.mapping import CounterpartPicker, MappingEditor

SIZES = [(80, 24), (160, 48)]
THEMES = ["railfiesta-dark", "railfiesta-high-contrast"]


async def _migrated(pilot: Pilot[Any]) -> RailfiestaApp:
    app = pilot.app
    assert isinstance(app, RailfiestaApp)
    await wait_for(pilot, lambda: bool(app.main_screen.query("#testfiesta-pane")))
    await loaded(pilot, app)
    await pilot.press("M")
    await wait_for(pilot, lambda: not app.migrating, timeout=20)
    right = app.main_screen.testfiesta_pane.project_tree
    await wait_for(pilot, lambda: names(right.root) == ["Login", "Checkout"], timeout=10)
    return app


async def _settle(pilot: Pilot[Any], app: RailfiestaApp) -> None:
    app.clear_notifications()  # "Migration finished" would otherwise cover a corner
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


async def _open_details(pilot: Pilot[Any]) -> None:
    app = await _migrated(pilot)
    assert app.service.testrail is not None
    # TestRail stamps whole seconds: past the next one, the edit is surely later than the
    # migration's last read, so the case's badge is "pending" (DESIGN §8), not by chance
    await asyncio.sleep(1.05)
    await app.service.testrail.update_case(
        1,
        {
            "title": "User signs in with a passkey",
            "custom_preconds": "A passkey is registered for the user.",
        },
    )
    left = app.main_screen.testrail_pane.project_tree
    left.focus()
    case = "User signs in with a passkey"  # the section's cases load after the edit
    for _ in range(200):  # the panes reload after the migration: look the node up afresh
        if "Login" in names(left.root):
            login = child(left.root, "Login")
            if case in names(login):
                left.move_cursor(child(login, case))
                break
            if not login.is_expanded:
                left.move_cursor(login)
                await pilot.press("space")
        await pilot.pause(0.05)
    else:
        raise AssertionError(f"no {case!r} under Login: {names(left.root)}")
    await wait_for(pilot, lambda: left.state_of("tr:case:1") == PENDING, timeout=10)
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, RecordDetails))
    screen = app.screen
    assert isinstance(screen, RecordDetails)
    await wait_for(pilot, lambda: len(screen.shown_rows) == 6, timeout=10)
    await _settle(pilot, app)


async def _open_mapping(pilot: Pilot[Any]) -> None:
    app = await _migrated(pilot)
    await pilot.press("m")
    await wait_for(pilot, lambda: isinstance(app.screen, MappingEditor))
    editor = app.screen
    assert isinstance(editor, MappingEditor)
    await wait_for(pilot, lambda: editor.loaded, timeout=10)
    await pilot.press("2", "down", "down", "down", "enter")  # Retest -> Failed: an error
    await wait_for(pilot, lambda: isinstance(app.screen, CounterpartPicker))
    app.screen.query_one(OptionList).highlighted = 1
    await pilot.press("enter")
    await wait_for(pilot, lambda: app.screen is editor)
    await _settle(pilot, app)


def _app(make_service: Callable[..., Service], theme: str) -> RailfiestaApp:
    app = RailfiestaApp(make_service(), theme=theme)
    app.animation_level = "none"
    return app


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_details_snapshot(
    snap_compare: Callable[..., bool],
    secrets: None,
    make_service: Callable[..., Service],
    size: tuple[int, int],
    theme: str,
) -> None:
    assert snap_compare(_app(make_service, theme), terminal_size=size, run_before=_open_details)


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_mapping_editor_snapshot(
    snap_compare: Callable[..., bool],
    secrets: None,
    make_service: Callable[..., Service],
    size: tuple[int, int],
    theme: str,
) -> None:
    assert snap_compare(_app(make_service, theme), terminal_size=size, run_before=_open_mapping)
