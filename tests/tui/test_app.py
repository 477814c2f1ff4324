"""The console driven for real: Pilot keys against a Service over both emulators in-process."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.app import App, ComposeResult, InvalidThemeError
from textual.widgets import ProgressBar
from textual.widgets._toast import Toast

from core.config import theme_names
from core.events import Activity, Progress
from core.http import RateLimitWait, Retrying
from core.migrate import KindCount, MigrationReport
from core.service import Service, TreeNode
from tests.tui.pilot import (
    child,
    loaded,
    log_text,
    names,
    open_node,
    screen_text,
    state_of,
    wait_for,
)
from tui.app import RailfiestaApp, summarize
from tui.bridge import EventBridge
from tui.messages import MigrationProgress, ServerRetrying, ServerWaiting
from tui.themes import DEFAULT_THEME, ThemeFileError, load_themes, theme_from_toml
from tui.widgets.project_tree import ProjectTree

THEMES = {"railfiesta-dark", "railfiesta-light", "railfiesta-high-contrast"}


# ---------------------------------------------------------------------------------- end to end


async def test_migrate_fills_the_testfiesta_pane(
    secrets: None, make_service: Callable[..., Service]
) -> None:
    app = RailfiestaApp(make_service())
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.main_screen
        left = screen.query_one("#testrail-tree", ProjectTree)
        right = screen.query_one("#testfiesta-tree", ProjectTree)
        await loaded(pilot, app)
        assert state_of(app, "testrail") == state_of(app, "testfiesta") == "connected"

        # the sections of the single suite show at the top; nothing is linked yet
        assert names(left.root) == ["Login", "Checkout"]
        assert all(
            item.data and item.data.record and not item.data.record.linked
            for item in left.root.children
        )
        assert names(right.root) == []
        assert screen.testfiesta_pane.note == "Not migrated yet: press M to migrate"
        assert screen.progress.text == "Press M to migrate"

        await pilot.press("M")
        await wait_for(pilot, lambda: not app.migrating)
        bar = screen.query_one("#progress-bar", ProgressBar)
        assert bar.percentage == 1.0
        assert screen.progress.has_class("-done")
        assert screen.progress.text == "Migrated: all 3 folders and 4 cases linked"

        # the right pane reloaded: the same folders as the left, linked
        await wait_for(pilot, lambda: names(right.root) == ["Login", "Checkout"])
        assert screen.testfiesta_pane.note == ""
        assert all(
            node.data and node.data.record and node.data.record.linked
            for node in right.root.children
        )
        assert "WEB" in str(screen.testfiesta_pane.border_title)

        # opening a TestRail section loads its cases lazily
        await wait_for(pilot, lambda: names(left.root) == ["Login", "Checkout"])
        login = child(left.root, "Login")
        await open_node(pilot, left, login)
        await wait_for(pilot, lambda: "loading…" not in names(login) and len(names(login)) > 1)
        assert names(login) == [
            "Password reset",
            "User signs in with a valid password",
            "[smoke] Locked account is refused",
        ]
        # ... and the migrated folder holds the same case titles on TestFiesta
        folder = child(right.root, "Checkout")
        await open_node(pilot, right, folder)
        assert names(folder) == ["Cart keeps items after sign-out – Größe L"]

        log = log_text(app)
        assert "migration started" in log
        assert "migrated: Webshop -> WEB: " in log
        assert "folders 3->3, cases 4->4" in log


async def test_second_migrate_while_running_says_so(
    secrets: None, make_service: Callable[..., Service]
) -> None:
    app = RailfiestaApp(make_service())
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.service_open)
        app.action_migrate()
        first = app._migration
        app.action_migrate()  # still running: ignored with a notice
        assert app._migration is first
        assert "a migration is already running" in log_text(app)
        await wait_for(pilot, lambda: not app.migrating)
        assert first is not None and first.is_finished


# ---------------------------------------------------------------------------------- failures


async def test_wrong_token_shows_the_problem_in_the_pane(
    secrets: None, make_service: Callable[..., Service]
) -> None:
    app = RailfiestaApp(make_service(testfiesta_token="testfiesta_another-token"))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: state_of(app, "testfiesta") == "refused")
        message = app.main_screen.testfiesta_pane.note
        assert message.startswith("TestFiesta: testfiesta ")
        assert "HTTP 401" in message
        assert "check the API key in $RF_TEST_TESTFIESTA_TOKEN" in message  # Service.explain
        assert "another-token" not in message and "right-token" not in message
        await wait_for(pilot, lambda: state_of(app, "testrail") == "connected")
        assert "HTTP 401" in str(app.main_screen.query_one("#conn-testfiesta .conn-state").tooltip)
        # migrating cannot start: M is dimmed, and the header's sync line says why
        assert app.unavailable("migrate") == "M needs both servers (TestFiesta refused the API key)"
        await pilot.press("M")
        assert app._migration is None
        assert app.is_running


async def test_missing_secret_names_the_variable(
    secrets: None, make_service: Callable[..., Service], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RF_TEST_TESTFIESTA_TOKEN")
    app = RailfiestaApp(make_service())
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: state_of(app, "testfiesta") == "not-connected")
        message = app.main_screen.service_note
        assert message.startswith("Neither server was contacted: ")
        assert "RF_TEST_TESTFIESTA_TOKEN" in message
        assert "RF_TEST_TESTFIESTA_TOKEN" in log_text(app)
        await pilot.press("M")  # not connected: says so, starts nothing
        assert app._migration is None


async def test_a_service_that_cannot_open_contacts_no_server_and_says_why_once(
    secrets: None, make_service: Callable[..., Service], tmp_path: Path
) -> None:
    service = make_service()
    service.state_dir = tmp_path / "a-file"
    service.state_dir.write_text("not a directory", encoding="utf-8")
    app = RailfiestaApp(service)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        screen = app.main_screen
        await wait_for(pilot, lambda: screen.service_note != "")
        await wait_for(pilot, lambda: bool(app.screen.query(Toast)))
        await wait_for(pilot, lambda: screen_text(app).count("– not connected") == 2)
        note = screen.service_note
        assert note.startswith(f"Neither server was contacted: cannot use {service.state_dir} ")
        assert "as the state directory" in note
        # neither server was asked anything: neither is in error
        for side in ("testrail", "testfiesta"):
            assert state_of(app, side) == "not-connected"
            assert screen.header.row(side).state_text == "– not connected"
        assert screen.testrail_pane.note == screen.testfiesta_pane.note == "Not connected"
        assert screen.progress.text == "Not connected: see the note at the top"
        # the cause shows once on screen: in the note (the log keeps its line below the panes)
        toast = app.screen.query_one(Toast)
        assert "state directory" not in str(toast.render())
        activity = screen.query_one("#activity").region
        rows = screen_text(app).splitlines()
        above_the_log = "\n".join(rows[: activity.y])
        assert above_the_log.count("state directory") == 1
        assert "✗" not in screen_text(app)


async def test_unexpected_error_is_reported_not_raised(
    secrets: None, make_service: Callable[..., Service], monkeypatch: pytest.MonkeyPatch
) -> None:
    service = make_service()

    async def broken(project: str | int) -> list[TreeNode]:
        raise ValueError("boom")

    monkeypatch.setattr(service, "testrail_tree", broken)
    app = RailfiestaApp(service)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: state_of(app, "testrail") == "error")
        assert app.main_screen.testrail_pane.note == "TestRail: unexpected error: ValueError: boom"
        await wait_for(pilot, lambda: "TestRail tree failed: ValueError: boom" in log_text(app))
        assert app.is_running


# ---------------------------------------------------------------------------------- layout, keys


async def test_narrow_terminal_stacks_the_panes(
    secrets: None, make_service: Callable[..., Service]
) -> None:
    app = RailfiestaApp(make_service())
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: state_of(app, "testrail") == "connected")
        screen = app.main_screen
        assert screen.has_class("-narrow")
        left, right = screen.testrail_pane.region, screen.testfiesta_pane.region
        assert left.width == right.width == 80
        assert left.bottom <= right.y and left.height >= 5 and right.height >= 5
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        assert screen.has_class("-wide")
        assert screen.testrail_pane.region.y == screen.testfiesta_pane.region.y


# ---------------------------------------------------------------------------------- themes


def test_theme_files_load() -> None:
    themes = {theme.name: theme for theme in load_themes()}
    assert set(themes) == THEMES
    for theme in themes.values():
        assert {"synced", "pending", "conflict", "diff-added", "diff-removed"} <= set(
            theme.variables
        )
    assert themes["railfiesta-light"].dark is False


def test_bad_theme_file_is_named() -> None:
    with pytest.raises(ThemeFileError, match=r"bad\.toml: unknown key"):
        theme_from_toml('name = "x"\nprimary = "#000000"\nshiny = true\n', source="bad.toml")
    with pytest.raises(ThemeFileError, match="'primary' must be a string"):
        theme_from_toml('name = "x"\n', source="bad.toml")


async def test_themes_register_and_unknown_falls_back(
    secrets: None, make_service: Callable[..., Service]
) -> None:
    app = RailfiestaApp(make_service(), theme="railfiesta-high-contrast")
    async with app.run_test() as pilot:
        # what [ui] theme accepts, and nothing else (no Textual built-in theme)
        assert set(app.available_themes) == THEMES == set(theme_names())
        assert app.theme == "railfiesta-high-contrast"
        assert app.get_css_variables()["synced"] == "#00ff66"
        with pytest.raises(InvalidThemeError):
            app.theme = "textual-dark"
        assert app.theme == "railfiesta-high-contrast"

    for wanted in ("no-such-theme", "textual-dark"):
        app = RailfiestaApp(make_service(), theme=wanted)
        async with app.run_test() as pilot:
            assert app.theme == DEFAULT_THEME
            await pilot.pause()
            assert (
                f"unknown theme {wanted!r}; using railfiesta-dark. Known: railfiesta-dark, "
                "railfiesta-high-contrast, railfiesta-light" in " ".join(log_text(app).split())
            )


# ---------------------------------------------------------------------------------- pieces


def test_bridge_turns_events_into_messages_and_lines() -> None:
    posted: list[object] = []
    bridge = EventBridge(posted.append, max_buffered=3)
    bridge(Progress("Webshop", "reading cases", 5, None))
    bridge(Activity("warning", "field  custom_x\nhas no counterpart", at=0.0))
    bridge(RateLimitWait("testrail", "get_cases", 2.5))
    bridge(Retrying("testfiesta", "POST /cases", "HTTP 503"))
    bridge(object())
    assert posted == [
        MigrationProgress("Webshop", "reading cases", 5, None),
        ServerWaiting("testrail", "get_cases", 2.5),
        ServerRetrying("testfiesta", "POST /cases", "HTTP 503"),
    ]
    lines = bridge.drain()
    assert lines[0].endswith(" WRN field custom_x has no counterpart")
    assert lines[1].endswith(" WRN TestRail rate limit on get_cases: waiting 2.5 s")
    assert lines[2].endswith(" WRN TestFiesta POST /cases: HTTP 503; trying again")
    assert bridge.drain() == []
    for n in range(5):
        bridge.log("info", f"line {n}")
    lines = bridge.drain()
    assert "2 earlier lines not shown" in lines[0]
    assert [line[-6:] for line in lines[1:]] == ["line 2", "line 3", "line 4"]


def test_unknown_pair_is_refused(secrets: None, make_service: Callable[..., Service]) -> None:
    with pytest.raises(ValueError, match="pair_index 3 out of range"):
        RailfiestaApp(make_service(), pair_index=3)


def test_progress_messages_coalesce() -> None:
    older = MigrationProgress("Webshop", "cases", 1, 10)
    assert older.can_replace(MigrationProgress("Webshop", "cases", 2, 10))


def test_summary_per_kind_and_warnings() -> None:
    report = MigrationReport("Webshop", "WEB")
    report.kinds = {"folders": KindCount(3, 3), "cases": KindCount(4, 4)}
    report.warnings = ["a", "b"]
    assert summarize([report]) == "Webshop -> WEB: folders 3->3, cases 4->4; 2 warnings"
    assert summarize([]).startswith("nothing to migrate")


class TreeHost(App[None]):
    """A bare app around one ProjectTree."""

    def compose(self) -> ComposeResult:
        yield ProjectTree("t", id="t")


async def test_tree_never_adds_more_than_a_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ProjectTree, "CHUNK", 3)
    cases = [TreeNode("case", f"tf:case:{n}", f"case {n}", "tf:folder:1") for n in range(7)]
    folder = TreeNode("folder", "tf:folder:1", "Big", None, "tr:section:1", children=cases)
    app = TreeHost()
    async with app.run_test() as pilot:
        tree = app.query_one(ProjectTree)
        tree.show_records([folder, TreeNode("folder", "tf:folder:2", "Small", None)])
        big = child(tree.root, "Big")
        await open_node(pilot, tree, big)
        assert names(big) == ["case 0", "case 1", "case 2", "4 more…"]
        tree.move_cursor(big.children[-1])
        await pilot.press("enter")
        assert names(big) == ["case 0", "case 1", "case 2", "case 3", "case 4", "case 5", "1 more…"]
        await open_node(pilot, tree, child(tree.root, "Small"))
        assert names(child(tree.root, "Small")) == ["(empty)"]
