"""Edges a first review of the console found, each pinned: TestRail text that looks like
markup is shown as written, an action that needs a server that is down is dimmed with the
reason, a [[pair]] problem is the pane's and not the server's, a console that could not start
exits 3, the details badge is the tree's, and 80x24 keeps the keys and the active pane in view.
Over the emulators in-process (tests/tui/conftest.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from rich.style import Style
from textual.widgets import Static

from core.service import Service, TreeNode
from core.sync_state import CONFLICT, PENDING, SYNCED
from emulators.testrail.store import TestRailState
from tests.tui.conftest import PROJECT, add_project
from tests.tui.pilot import child, loaded, names, open_node, screen_text, wait_for
from tui.app import RailfiestaApp
from tui.screens.details import RecordDetails, RecordInfo, detail_lines
from tui.screens.mapping import MappingEditor
from tui.widgets.project_tree import PENDING_BADGE, SYNCED_BADGE

#: Rich and Textual markup in a TestRail title: an unmatched closing tag, a style, a link
MARKUP_TITLE = "[/] Locked [b]account[/b] [link=x]is refused"


async def test_a_title_that_looks_like_markup_shows_as_written_in_the_mapping_editor(
    secrets: None, make_service: Callable[..., Service], testrail_state: TestRailState
) -> None:
    with testrail_state.lock:
        case = next(c for c in testrail_state.cases.values() if c["title"].startswith("[smoke]"))
        case["title"] = MARKUP_TITLE
    app = RailfiestaApp(make_service())
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot, app)
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, MappingEditor) and app.screen.loaded)
        await pilot.press("3")  # priorities: Critical's sample is that case's title
        await pilot.pause()
        assert isinstance(app.screen, MappingEditor)  # not crashed on a MarkupError
        assert "Critical    [/] Locked [b]account[/b] [link=x]is re…" in screen_text(app)


async def test_a_project_name_that_looks_like_markup_titles_its_pane(
    secrets: None, make_service: Callable[..., Service], testrail_state: TestRailState
) -> None:
    add_project(testrail_state, "QA [/] team", {"Main": ["Smoke"]})
    app = RailfiestaApp(make_service(pairs=(("QA [/] team", "QA"),)))
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot, app)
        pane = app.main_screen.testrail_pane
        assert pane.loaded and not pane.failed
        assert "TestRail · QA [/] team" in screen_text(app)


async def test_migrate_is_dimmed_with_the_reason_while_testfiesta_refuses_the_token(
    secrets: None, make_service: Callable[..., Service]
) -> None:
    app = RailfiestaApp(make_service(testfiesta_token="testfiesta_another-token"))
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot, app)
        await wait_for(pilot, lambda: app.main_screen.header.row("testfiesta").down)
        assert app.unavailable("migrate") == "M needs both servers (TestFiesta refused the API key)"
        assert app.check_action("migrate", ()) is None  # shown dimmed
        await pilot.press("M")  # says why instead of doing nothing
        await pilot.pause()
        assert app._migration is None
        assert [n.message for n in app._notifications] == [
            "M needs both servers (TestFiesta refused the API key)"
        ]


async def test_a_pair_naming_no_testrail_project_leaves_both_servers_up(
    secrets: None, make_service: Callable[..., Service]
) -> None:
    app = RailfiestaApp(make_service(pairs=((PROJECT, "WEB"), ("Nope", "NOPE"))))
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot, app)
        await pilot.press("p")
        screen = app.main_screen
        await wait_for(pilot, lambda: screen.testrail_pane.failed)
        await wait_for(
            pilot, lambda: screen.testfiesta_pane.failed or screen.testfiesta_pane.loaded
        )
        assert screen.header.row("testrail").state == "connected"
        assert screen.header.row("testfiesta").state == "connected"
        assert app.servers_down() == ""
        note = str(screen.testrail_pane.query_one(".pane-note", Static).content)
        assert note.startswith(
            "TestRail: [[pair]] testrail_project = 'Nope': TestRail has no project of that name"
        )


async def test_a_console_that_could_not_start_exits_3_on_q(
    make_service: Callable[..., Service], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    monkeypatch.delenv("RF_TEST_TESTRAIL_KEY", raising=False)  # no TestRail API key anywhere
    app = RailfiestaApp(make_service())
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.startup_failed)
        await pilot.press("q")
    assert app.return_code == 3


def test_the_details_badge_is_the_one_the_tree_shows() -> None:
    record = TreeNode("case", "tr:case:2", "Refund a cancelled order", "tr:section:1", "tf:case:14")
    rows = dict(detail_lines(RecordInfo("testrail", record, ["Checkout"], state=CONFLICT)))
    assert rows["Badge"] == "✖ conflict: linked to TestFiesta tf:case:14"
    rows = dict(detail_lines(RecordInfo("testrail", record, ["Checkout"], state=PENDING)))
    assert rows["Badge"] == "◐ pending: linked to TestFiesta tf:case:14"
    rows = dict(detail_lines(RecordInfo("testrail", record, ["Checkout"])))
    assert rows["Badge"] == "● synced: linked to TestFiesta tf:case:14"


async def test_a_case_changed_since_the_last_poll_shows_pending_in_the_tree_and_the_details(
    secrets: None, make_service: Callable[..., Service]
) -> None:
    app = RailfiestaApp(make_service())
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app)
        await pilot.press("M")
        await wait_for(pilot, lambda: not app.migrating, timeout=30)
        screen = app.main_screen
        left = screen.testrail_pane.project_tree
        right = screen.testfiesta_pane.project_tree
        await wait_for(pilot, lambda: names(right.root) == ["Login", "Checkout"], timeout=10)
        assert app.service.testrail is not None
        # TestRail stamps whole seconds: past the next one the edit is surely later than
        # the migration's last read (its cursor), so the case is "pending" until a sync
        await asyncio.sleep(1.05)
        await app.service.testrail.update_case(1, {"title": "User signs in with a passkey"})
        screen.reload_panes()
        await wait_for(pilot, lambda: "Login" in names(left.root))
        await open_node(pilot, left, child(left.root, "Login"))
        await wait_for(pilot, lambda: left.state_of("tr:case:1") == PENDING, timeout=10)
        await pilot.pause()
        # the tree draws the badge before the title; the other cases stay synced
        node = left._node_of("tr:case:1")
        assert node is not None
        assert left.render_label(node, Style(), Style()).plain == (
            f"{PENDING_BADGE} User signs in with a passkey"
        )
        lines = [line for line in screen_text(app).splitlines() if "User signs in" in line]
        assert [line.split("│")[1].strip() for line in lines] == [
            f"├─ {PENDING_BADGE} User signs in with a passkey"
        ]
        login = child(left.root, "Login")
        assert [left.render_label(n, Style(), Style()).plain for n in login.children] == [
            f"▶ {SYNCED_BADGE} Password reset",
            f"{PENDING_BADGE} User signs in with a passkey",
            f"{SYNCED_BADGE} [smoke] Locked account is refused",
        ]
        assert left.state_of("tr:case:2") == SYNCED
        # and the details say the same badge, in words
        left.focus()
        left.move_cursor(node)
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, RecordDetails))
        details = app.screen
        assert isinstance(details, RecordDetails)
        record = left.record("tr:case:1")
        assert record is not None and record.linked is not None
        assert record.linked.startswith("tf:case:")
        assert dict(details.rows)["Badge"] == (
            f"{PENDING_BADGE} pending: linked to TestFiesta {record.linked}"
        )


async def test_at_80x24_the_footer_keeps_help_and_quit_and_toasts_leave_the_active_pane(
    secrets: None, make_service: Callable[..., Service]
) -> None:
    app = RailfiestaApp(make_service())
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await loaded(pilot, app)
        # the footer draws its keys once the screen's bindings are ready (a refresh later)
        await wait_for(pilot, lambda: "? Keys" in screen_text(app).splitlines()[23], timeout=5)
        assert "q Quit" in screen_text(app).splitlines()[23]
        for _ in range(3):
            app.notify("a long error message " * 8, title="Sync failed", severity="error")
        await pilot.pause(0.3)
        pane = app.main_screen.testrail_pane  # active: on top, the TestFiesta pane below
        assert app.focused is pane.project_tree
        top, bottom = pane.region.y, pane.region.y + pane.region.height
        lines = screen_text(app).splitlines()
        assert not any("Sync failed" in line for line in lines[top:bottom])
        assert any("Sync failed" in line for line in lines[bottom:])
