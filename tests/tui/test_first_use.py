"""What a first-time user met in the console, each checked as the user sees it: where the
cursor is, what enter shows, how the panes read, what the progress row and the header say
(waits, retries, stages, the outcome), the keys, switching pairs, quitting mid-migration."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

import pytest
from textual.widgets import Collapsible, Footer, Label, Static
from textual.widgets._toast import Toast

from core.errors import ServerUnreachable
from core.events import Progress
from core.http import RateLimitWait, Retrying
from core.service import Service, TreeNode
from emulators.testrail import ops
from emulators.testrail.store import TestRailState
from tests.tui.conftest import PROJECT, add_project
from tests.tui.pilot import (
    child,
    cursor_label,
    loaded,
    log_text,
    names,
    open_node,
    screen_text,
    state_of,
    wait_for,
)
from tui.app import QUIT_QUESTION, RailfiestaApp
from tui.bridge import EventBridge
from tui.screens.details import RecordDetails
from tui.screens.help import HelpScreen
from tui.screens.modals import Confirm
from tui.widgets.project_tree import ProjectTree


def trees(app: RailfiestaApp) -> tuple[ProjectTree, ProjectTree]:
    """The TestRail and the TestFiesta tree."""
    screen = app.main_screen
    return (
        screen.query_one("#testrail-tree", ProjectTree),
        screen.query_one("#testfiesta-tree", ProjectTree),
    )


def detail_rows(app: RailfiestaApp) -> list[str]:
    """The lines of the details modal, as shown."""
    return [str(row.content) for row in app.screen.query(".details-row").results(Static)]


# ---------------------------------------------------------------------------------- 1 cursor


async def test_cursor_starts_on_the_first_row_so_enter_opens_it(
    secrets: None, make_service: Callable[..., Service]
) -> None:
    app = RailfiestaApp(make_service())
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app)
        left, right = trees(app)
        assert app.focused is left
        assert left.cursor_line == 0 and cursor_label(left) == "Login"
        await pilot.press("enter")  # at once: no ↓ first
        login = child(left.root, "Login")
        await wait_for(pilot, lambda: "loading…" not in names(login) and len(names(login)) > 1)
        assert login.is_expanded
        await pilot.press("down")
        assert cursor_label(left) == "Password reset"

        await pilot.press("M")
        await wait_for(pilot, lambda: not app.migrating)
        await wait_for(pilot, lambda: names(right.root) == ["Login", "Checkout"])
        # the reload after the migration kept the cursor where it was
        await wait_for(pilot, lambda: cursor_label(left) == "Password reset")

        await pilot.press("tab")  # the other pane: its cursor is on its first row too
        assert app.focused is right
        assert right.cursor_line == 0 and cursor_label(right) == "Login"
        await pilot.press("space")
        assert child(right.root, "Login").is_expanded


def cursor_background(tree: ProjectTree) -> str | None:
    """The background colour (hex) of the label on ``tree``'s cursor line, as drawn."""
    strip = tree.render_line(tree.cursor_line - tree.scroll_offset.y)
    label = cursor_label(tree)
    for segment in strip:
        if label in segment.text and segment.style is not None and segment.style.bgcolor:
            color = segment.style.bgcolor.triplet
            return color.hex if color is not None else None
    return None


async def test_tab_moves_the_cursor_look_to_the_other_pane(
    secrets: None, make_service: Callable[..., Service]
) -> None:
    """Only the focused tree's cursor is drawn in the cursor colour; the other's in the
    blurred one (the focus repaints the cursor lines alone, without a restyle)."""
    app = RailfiestaApp(make_service())
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app)
        await pilot.press("M")
        await wait_for(pilot, lambda: not app.migrating)
        left, right = trees(app)
        await wait_for(pilot, lambda: names(right.root) == ["Login", "Checkout"])
        focused = app.theme_variables["block-cursor-background"].lower()
        assert app.focused is left
        assert cursor_background(left) == focused
        blurred = cursor_background(right)  # the theme's blurred cursor, over the pane
        assert blurred is not None and blurred != focused
        await pilot.press("tab")
        assert app.focused is right
        assert (cursor_background(left), cursor_background(right)) == (blurred, focused)
        await pilot.press("tab", "tab")  # the log, then back to the TestRail tree
        assert app.focused is left
        assert (cursor_background(left), cursor_background(right)) == (focused, blurred)


# ---------------------------------------------------------------------------------- 2 details


async def test_enter_on_a_case_shows_its_details(
    secrets: None, make_service: Callable[..., Service]
) -> None:
    app = RailfiestaApp(make_service())
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        left, right = trees(app)
        await pilot.press("enter")  # open Login
        login = child(left.root, "Login")
        await wait_for(pilot, lambda: "loading…" not in names(login) and len(names(login)) > 1)
        await pilot.press("down", "down")
        assert cursor_label(left) == "User signs in with a valid password"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RecordDetails))
        record = left.record(str(login.children[1].data and login.children[1].data.key))
        assert record is not None
        assert detail_rows(app) == [
            f"Case   {record.key}",
            "Title  User signs in with a valid password",
            "In     Login",
            "Badge  ○ only here: not in TestFiesta yet",
        ]
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, RecordDetails))

        await pilot.press("M")
        await wait_for(pilot, lambda: not app.migrating)
        await wait_for(pilot, lambda: names(right.root) == ["Login", "Checkout"])
        await wait_for(pilot, lambda: cursor_label(left) == "User signs in with a valid password")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RecordDetails))
        record = left.record(record.key)
        assert record is not None and record.linked is not None
        assert detail_rows(app) == [
            f"Case   {record.key}",
            "Title  User signs in with a valid password",
            "In     Login",
            f"Badge  ● synced: linked to TestFiesta {record.linked}",
            "There  User signs in with a valid password",
        ]
        await pilot.press("escape")

        # i shows any record's details: here a TestFiesta folder
        await wait_for(pilot, lambda: not isinstance(app.screen, RecordDetails))
        await pilot.press("tab", "i")
        await wait_for(pilot, lambda: isinstance(app.screen, RecordDetails))
        folder = right.record(str(right.root.children[0].data and right.root.children[0].data.key))
        assert folder is not None and folder.linked is not None
        assert detail_rows(app) == [
            f"Folder  {folder.key}",
            "Name    Login",
            "In      the TestFiesta project",
            f"Badge   ● synced: linked to TestRail {folder.linked}",
            "There   Login",
        ]


# ---------------------------------------------------------------------------------- 3 panes


async def test_multi_suite_project_shows_its_suites_on_both_sides(
    secrets: None, make_service: Callable[..., Service], testrail_state: TestRailState
) -> None:
    add_project(testrail_state, "Platform", {"Web": ["Login"], "API": ["Auth"]}, suite_mode=3)
    app = RailfiestaApp(make_service(pairs=[("Platform", "PLAT")]))
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app)
        left, right = trees(app)
        assert names(left.root) == ["Web", "API"]
        await pilot.press("M")
        await wait_for(pilot, lambda: not app.migrating)
        await wait_for(pilot, lambda: names(right.root) == ["Web", "API"])
        assert app.main_screen.progress.text == "Migrated: all 4 folders and 0 cases linked"


# ---------------------------------------------------------------------------------- 4 status


async def test_status_says_all_linked_and_offers_m_only_when_it_helps(
    secrets: None, make_service: Callable[..., Service], testrail_state: TestRailState
) -> None:
    service = make_service()
    app = RailfiestaApp(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        assert app.main_screen.progress.text == "Press M to migrate"
        await pilot.press("M")
        await wait_for(pilot, lambda: not app.migrating)

    # the next start: everything is linked already
    app = RailfiestaApp(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        progress = app.main_screen.progress
        # the sections' cases are not loaded yet: only what is loaded is claimed
        assert progress.text == "All 7 loaded records linked"
        assert app.main_screen.testfiesta_pane.note == ""

        # a new TestRail section: M would copy it, so the row says so
        project = testrail_state.find_project(PROJECT)
        assert project is not None
        master = testrail_state.master_suite(project)
        assert master is not None
        with testrail_state.lock:
            ops.add_section(testrail_state, project["id"], {"name": "Search"})
        app.main_screen.reload_panes()
        await wait_for(
            pilot,
            lambda: progress.text == "1 TestRail record not in TestFiesta yet: press M to migrate",
        )


async def test_status_follows_the_cases_as_they_load_and_the_pair_shown(
    secrets: None, make_service: Callable[..., Service], testrail_state: TestRailState
) -> None:
    add_project(testrail_state, "Backoffice", {"Master": ["Invoices", "Refunds"]})
    service = make_service(pairs=[(PROJECT, "WEB"), ("Backoffice", "BO")])
    login = testrail_state.find_by_name(testrail_state.sections, "Login")
    assert login is not None

    def add_case(title: str) -> None:
        with testrail_state.lock:
            ops.add_case(testrail_state, login["id"], {"title": title}, None)

    app = RailfiestaApp(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        screen, (left, _) = app.main_screen, trees(app)
        await pilot.press("M")
        await wait_for(pilot, lambda: not app.migrating)
        assert screen.progress.text == "Migrated: all 5 folders and 4 cases linked"  # both pairs
        # added in TestRail after the migration: the outcome gives way once the case shows
        add_case("Added after the migration")
        screen.reload_panes()
        await loaded(pilot, app)
        await wait_for(pilot, lambda: names(left.root) == ["Login", "Checkout"])
        await open_node(pilot, left, child(left.root, "Login"))
        wanted = "1 TestRail record not in TestFiesta yet: press M to migrate"
        await wait_for(pilot, lambda: screen.progress.text == wanted)
        shown = screen_text(app)
        assert "○ Added after the migration" in shown and wanted in shown
        await pilot.press("M")
        await wait_for(pilot, lambda: not app.migrating)

    # the next start: a case added since, in a section not opened yet
    add_case("Added while the console was closed")
    app = RailfiestaApp(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        screen, (left, _) = app.main_screen, trees(app)
        progress = screen.progress
        assert progress.text == "All 8 loaded records linked"  # not "All 8 records linked"
        assert "All 8 loaded records linked" in screen_text(app)

        login_node = child(left.root, "Login")
        await open_node(pilot, left, login_node)
        await wait_for(pilot, lambda: "Added while the console was closed" in names(login_node))
        await wait_for(pilot, lambda: progress.text == wanted)
        # at 80x24 the header's sync and pair lines leave the pane five rows: the new case
        # is the sixth, so the cursor goes down to it (the tree scrolls it in)
        left.move_cursor(child(login_node, "Added while the console was closed"))
        await pilot.pause()
        shown = screen_text(app)
        assert "○ Added while the console was closed" in shown and wanted in shown

        # the other pair: its own status, complete once every section's cases are in
        await pilot.press("p")
        await loaded(pilot, app)
        await wait_for(pilot, lambda: progress.text == "All 2 loaded records linked")
        for name in ("Invoices", "Refunds"):
            node = child(left.root, name)
            await open_node(pilot, left, node)
            await wait_for(pilot, lambda node=node: "loading…" not in names(node))
        await wait_for(pilot, lambda: progress.text == "All 2 records linked")
        assert "All 2 records linked" in screen_text(app)

        # and back: the sections start closed, so the status is partial again, until the
        # unmigrated case loads
        await pilot.press("p")
        await loaded(pilot, app)
        await wait_for(pilot, lambda: progress.text == "All 8 loaded records linked")
        login_node = child(left.root, "Login")
        await open_node(pilot, left, login_node)
        await wait_for(pilot, lambda: progress.text == wanted)


async def test_testfiesta_pane_says_migrating_while_the_migration_runs(
    secrets: None, make_service: Callable[..., Service]
) -> None:
    app = RailfiestaApp(make_service(latency=0.05))
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        screen, (left, right) = app.main_screen, trees(app)
        pane = screen.testfiesta_pane
        assert pane.note == "Not migrated yet: press M to migrate"
        await pilot.press("M")
        await wait_for(pilot, lambda: screen.progress.running)
        migrating = "Migrating… (records show here as they arrive)"
        await wait_for(pilot, lambda: pane.note == migrating)
        assert migrating in screen_text(app)
        assert "press M to migrate" not in screen_text(app)
        # cases arriving on the left refresh the notes: still no invitation to press M
        login = child(left.root, "Login")
        await open_node(pilot, left, login)
        await wait_for(pilot, lambda: "loading…" not in names(login))
        assert pane.note == migrating

        notes: set[str] = set()

        def done() -> bool:
            notes.add(pane.note)
            return not app.migrating and names(right.root) == ["Login", "Checkout"]

        await wait_for(pilot, done, timeout=20)
        assert pane.note == ""
        assert not any("press M" in note for note in notes)


async def test_no_migrate_hint_while_testrail_fails(
    secrets: None, make_service: Callable[..., Service], monkeypatch: pytest.MonkeyPatch
) -> None:
    service = make_service()

    async def unreachable(pair_index: int = 0) -> dict[str, object]:
        raise ServerUnreachable("testrail get_projects: ConnectError talking to testrail.test")

    monkeypatch.setattr(service, "testrail_project", unreachable)
    app = RailfiestaApp(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        screen = app.main_screen
        assert screen.progress.text == "TestRail error: see the TestRail pane"
        assert screen.testfiesta_pane.note == "Not migrated yet"


# ---------------------------------------------------------------------------------- 5 waits


async def test_rate_limit_waits_and_retries_show_in_header_and_progress(
    secrets: None, make_service: Callable[..., Service], monkeypatch: pytest.MonkeyPatch
) -> None:
    service = make_service()
    release = asyncio.Event()
    read_tree = service.testrail_tree

    async def slow_tree(project: str | int) -> list[TreeNode]:
        await release.wait()
        return await read_tree(project)

    monkeypatch.setattr(service, "testrail_tree", slow_tree)
    app = RailfiestaApp(service)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.main_screen
        testrail = screen.header.row("testrail")
        # TestRail answered (the project row) while its tree still loads: connected
        await wait_for(pilot, lambda: testrail.state_text == "● connected")
        assert screen.testrail_pane.note == "loading…"

        service.emit(RateLimitWait("testrail", "get_sections", 50.0))  # as the core says it
        await wait_for(pilot, lambda: screen.progress.text == "TestRail rate limit: waiting 50 s")
        assert testrail.state_text == "● connected"
        assert testrail.budget_text == "rate limit 50 s"
        assert "TestRail rate limit on get_sections: waiting 50.0 s" in log_text(app)

        service.emit(Retrying("testfiesta", "GET /projects", "HTTP 503"))
        await wait_for(pilot, lambda: state_of(app, "testfiesta") == "retrying")
        assert screen.header.row("testfiesta").state_text == "↻ retrying"
        assert screen.progress.text == "TestFiesta GET /projects: HTTP 503; trying again"
        screen.testfiesta_pane.load()  # the next answer proves it back
        await wait_for(pilot, lambda: state_of(app, "testfiesta") == "connected")

        release.set()
        await loaded(pilot, app)
        # progress (here: the status after the pane loaded) replaces the notice once over
        screen.progress.notice("gone", 0.01)
        await pilot.pause(0.05)
        screen.progress.tick()
        assert screen.progress.text == "Press M to migrate"


async def test_a_testrail_maintenance_wait_is_named_so_not_a_rate_limit(
    secrets: None, make_service: Callable[..., Service]
) -> None:
    service = make_service()
    app = RailfiestaApp(service)
    async with app.run_test(size=(160, 40)) as pilot:
        await loaded(pilot, app)
        screen = app.main_screen
        testrail = screen.header.row("testrail")
        # as the core says it: TestRail's 409 (maintenance_409), counted apart
        stats = service.budgets()[0].stats
        stats.rate_limited += 3
        stats.maintenance_waits += 1
        service.emit(RateLimitWait("testrail", "get_cases", 40.0, 409))
        await wait_for(pilot, lambda: screen.progress.text == "TestRail maintenance: waiting 40 s")
        assert testrail.budget_text == "maintenance 40 s"
        assert testrail.state_text == "● connected"
        assert "TestRail maintenance on get_cases: waiting 40.0 s" in log_text(app)
        assert "rate limit" not in log_text(app)
        testrail._wait_until = None  # the wait is over: the budget shows again
        screen.refresh_budgets()
        assert re.fullmatch(r"\d+ req/min · 429×2 · maintenance×1", testrail.budget_text)


# ---------------------------------------------------------------------------------- 6 toast


async def test_finish_toast_is_brief_and_hides_neither_progress_nor_log(
    secrets: None, make_service: Callable[..., Service]
) -> None:
    app = RailfiestaApp(make_service())
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await loaded(pilot, app)
        await pilot.press("M")
        await wait_for(pilot, lambda: not app.migrating)
        await wait_for(pilot, lambda: bool(app.screen.query(Toast)))
        await pilot.pause()
        [notification] = list(app._notifications)
        assert notification.message == "Migration finished"
        assert notification.timeout == 3.0
        toast = app.screen.query_one(Toast)
        screen = app.main_screen
        assert toast.region.height == 1
        for widget in (screen.progress, screen.query_one("#activity")):
            assert not toast.region.overlaps(widget.region)


async def test_a_toast_over_a_modal_hides_neither_progress_nor_log_at_80x24(
    secrets: None, make_service: Callable[..., Service]
) -> None:
    app = RailfiestaApp(make_service(latency=0.05))
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await loaded(pilot, app)
        await pilot.press("M")
        await wait_for(pilot, lambda: app.main_screen.progress.running)
        # a modal that stays up while the migration finishes (the quit question would go:
        # test_the_quit_question_goes_when_the_migration_ends_under_it)
        app.push_screen(Confirm("Stay up?", id="confirm-test"))
        await wait_for(pilot, lambda: isinstance(app.screen, Confirm))
        await wait_for(pilot, lambda: not app.migrating, timeout=20)
        await wait_for(pilot, lambda: bool(app.screen.query(Toast)))
        await pilot.pause()
        assert isinstance(app.screen, Confirm)
        toast = app.screen.query_one(Toast)
        screen = app.main_screen
        bottom = (screen.progress, screen.query_one("#activity"), screen.query_one(Footer))
        for widget in bottom:
            overlap = toast.region.intersection(widget.region)
            assert overlap.area == 0, (widget, toast.region, widget.region)
        # as seen: the toast's line is above the progress row, which reads in full
        rows = screen_text(app).splitlines()
        assert "Migration finished" in rows[toast.region.y]
        assert toast.region.bottom <= screen.progress.region.y
        assert (
            rows[screen.progress.region.y]
            .strip()
            .startswith("Migrated: all 3 folders and 4 cases linked")
        )
        for row in rows[screen.progress.region.y :]:
            assert "Migration finished" not in row


# ---------------------------------------------------------------------------------- 7 stages


async def test_every_stage_shows_in_the_log_and_the_clock_runs(
    secrets: None, make_service: Callable[..., Service]
) -> None:
    app = RailfiestaApp(make_service())
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app)
        await pilot.press("M")
        await wait_for(pilot, lambda: not app.migrating)
        log = log_text(app)
        assert re.search(r"Webshop: folders 3/3 done \(\d+\.\d s\)", log)
        assert re.search(r"Webshop: cases 4/4 done \(\d+\.\d s\)", log)
        assert re.fullmatch(r"0:0\d", app.main_screen.progress.clock)


def test_bridge_logs_each_stage_once_even_when_it_flew_by() -> None:
    bridge = EventBridge(lambda message: None)
    for event in (
        Progress("Shop", "folders", 0, 89),
        Progress("Shop", "folders", 25, 89),
        Progress("Shop", "reading cases", 250, None),  # folders stopped short
        Progress("Shop", "cases", 600, 600),  # reading cases ends here
        Progress("Shop", "cases", 600, 600),  # said twice by the core: logged once
    ):
        bridge(event)
    lines = [line[13:] for line in bridge.drain()]
    assert [re.sub(r" \(\d+\.\d s\)$", "", line) for line in lines] == [
        "Shop: folders 25/89 done",
        "Shop: reading cases done",
        "Shop: cases 600/600 done",
    ]
    bridge.new_run()
    bridge(Progress("Shop", "cases", 600, 600))
    assert len(bridge.drain()) == 1


# ---------------------------------------------------------------------------------- 8 help


async def test_help_shows_the_console_keys_first_and_folds_navigation(
    secrets: None, make_service: Callable[..., Service]
) -> None:
    app = RailfiestaApp(make_service())
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        groups = dict(help_screen.groups)
        assert list(groups) == ["Console", "Panes", "Navigation"]
        assert groups["Console"] == [
            ("s", "Sync on/off"),
            ("S", "Sync now"),
            ("M", "Migrate"),
            ("c", "Conflicts"),
            ("m", "Mapping editor (fields, statuses, priorities, types, users)"),
            ("t", "Next theme"),
            ("y", "Copy id"),
            ("Y", "Copy URL"),
            ("?", "Keys"),
            ("q ^q", "Quit"),
            ("^p", "Command palette (pairs, themes, reload …)"),
        ]
        assert groups["Panes"] == [
            ("tab", "Next pane or log"),
            ("shift+tab", "Previous pane or log"),
            ("/", "Filter both trees"),
            ("⏎", "Open, or a case's details"),
            ("space", "Open or close"),
            ("shift+space", "Open or close all below"),
            ("i", "Details"),
        ]
        navigation = [what for _, what in groups["Navigation"]]
        assert {"Scroll Left", "Page Right", "Cursor Up"} <= set(navigation)
        assert help_screen.query_one(Collapsible).collapsed
        shown = [
            str(label.content).strip() for label in help_screen.query(".help-key").results(Label)
        ]
        assert shown[0] == "s  Sync on/off"
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, HelpScreen))
        commands = [command.title for command in app.get_system_commands(app.screen)]
        assert commands[:4] == ["Sync on/off", "Sync now", "Migrate", "Conflicts"]
        await pilot.press("q")
    assert not app.is_running


# ---------------------------------------------------------------------------------- 9 pairs


async def test_p_switches_the_panes_between_pairs(
    secrets: None, make_service: Callable[..., Service], testrail_state: TestRailState
) -> None:
    add_project(testrail_state, "Backoffice", {"Master": ["Invoices", "Refunds"]})
    app = RailfiestaApp(make_service(pairs=[(PROJECT, "WEB"), ("Backoffice", "BO")]))
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        screen = app.main_screen
        left, right = trees(app)
        assert screen.header.pair_text == "1 of 2: Webshop → WEB  · p next pair"
        assert names(left.root) == ["Login", "Checkout"]
        assert "next_pair" in {b.binding.action for b in screen.active_bindings.values()}

        await pilot.press("p")
        await wait_for(pilot, lambda: names(left.root) == ["Invoices", "Refunds"])
        await loaded(pilot, app)
        assert screen.header.pair_text == "2 of 2: Backoffice → BO  · p next pair"
        assert str(screen.testrail_pane.border_title) == "TestRail · Backoffice"
        assert cursor_label(left) == "Invoices"
        assert screen.progress.text == "Press M to migrate"

        # M migrates every pair; the panes keep showing the one chosen
        await pilot.press("M")
        await wait_for(pilot, lambda: not app.migrating)
        await wait_for(pilot, lambda: names(right.root) == ["Invoices", "Refunds"])
        assert str(screen.testfiesta_pane.border_title) == "TestFiesta · BO"

        # the palette names each pair
        commands = {c.title: c for c in app.get_system_commands(app.screen)}
        assert {"Show pair: Webshop → WEB", "Show pair: Backoffice → BO"} <= set(commands)
        commands["Show pair: Webshop → WEB"].callback()
        # each pane loads in its own worker: either may be shown first
        await wait_for(pilot, lambda: names(right.root) == ["Login", "Checkout"])
        await wait_for(pilot, lambda: names(left.root) == ["Login", "Checkout"])
        assert screen.header.pair_text == "1 of 2: Webshop → WEB  · p next pair"


async def test_a_single_pair_has_no_pair_line_and_no_p(
    secrets: None, make_service: Callable[..., Service]
) -> None:
    app = RailfiestaApp(make_service())
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        screen = app.main_screen
        assert screen.header.pair_text == ""
        assert "next_pair" not in {b.binding.action for b in screen.active_bindings.values()}
        await pilot.press("p")  # nothing happens
        assert names(trees(app)[0].root) == ["Login", "Checkout"]


# ---------------------------------------------------------------------------------- 10 quit


async def test_the_quit_question_goes_when_the_migration_ends_under_it(
    secrets: None, make_service: Callable[..., Service]
) -> None:
    app = RailfiestaApp(make_service(latency=0.05))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.service_open)
        await pilot.press("M", "q")
        await wait_for(pilot, lambda: isinstance(app.screen, Confirm))
        assert app.screen.question == QUIT_QUESTION
        # the migration ends with the question up: it goes, the console stays and says so
        await wait_for(pilot, lambda: not isinstance(app.screen, Confirm), timeout=60)
        assert app.screen is app.main_screen and app.is_running
        await wait_for(pilot, lambda: not app.migrating)
        logged = [line for line in log_text(app).splitlines() if "quitting was asked" in line]
        assert [line[len("HH:MM:SS ") :] for line in logged] == [
            "    the migration ended while quitting was asked: staying (q quits)"  # info: "   "
        ]
        # nothing is left to ask: q quits at once
        await pilot.press("q")
    assert not app.is_running
    assert app.return_code == 0


async def test_quitting_mid_migration_asks_first(
    secrets: None, make_service: Callable[..., Service]
) -> None:
    app = RailfiestaApp(make_service(latency=0.05))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.service_open)
        await pilot.press("M")
        await wait_for(pilot, lambda: app.main_screen.progress.running)
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, Confirm))
        assert str(app.screen.query_one("#confirm-question", Static).content) == QUIT_QUESTION
        assert QUIT_QUESTION == "A migration is running; quit anyway? It resumes next time."
        await pilot.press("n")  # stay
        await wait_for(pilot, lambda: not isinstance(app.screen, Confirm))
        assert app.is_running and app.migrating
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, Confirm))
        await pilot.press("y")
    assert not app.is_running
    testrail, testfiesta = app.service.testrail, app.service.testfiesta
    assert testrail is not None and testrail.session.client.is_closed
    assert testfiesta is not None and testfiesta.session.client.is_closed
