"""The main screen's badges, linked records and filter, and the console's terminal manners
(themes, NO_COLOR, clipboard, palette, no terminal, fatal errors), driven with Pilot over
both emulators in-process."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.command import CommandPalette
from textual.filter import Monochrome
from textual.widgets import Input, Label, OptionList
from textual.widgets._toast import Toast

from core.config import theme_names
from core.service import Service
from emulators.testrail import ops
from emulators.testrail.store import TestRailState
from tests.helpers import emulate
from tests.tui.conftest import PROJECT, add_project
from tests.tui.pilot import child, loaded, log_text, names, open_node, screen_text, wait_for
from tui import cli
from tui.app import RailfiestaApp
from tui.screens.conflicts import ConflictsScreen
from tui.terminal import run_console
from tui.widgets.panes import LEGEND
from tui.widgets.project_tree import CONFLICT_BADGE, SYNCED_BADGE, ProjectTree

ROOT = Path(__file__).resolve().parents[2]


async def migrated(pilot: Any, app: RailfiestaApp) -> None:
    """Press M and wait until both panes show the migrated project."""
    await loaded(pilot, app)
    await pilot.press("M")
    await wait_for(pilot, lambda: not app.migrating, timeout=20)
    screen = app.main_screen
    await wait_for(pilot, lambda: screen.testfiesta_pane.project_key is not None, timeout=10)
    await wait_for(pilot, lambda: bool(screen.testfiesta_pane.project_tree.root.children))


def trees(app: RailfiestaApp) -> tuple[ProjectTree, ProjectTree]:
    screen = app.main_screen
    return screen.testrail_pane.project_tree, screen.testfiesta_pane.project_tree


# ---------------------------------------------------------------------------------- badges


async def test_badges_follow_a_sync_cycle_without_reading_the_projects_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = emulate(tmp_path, monkeypatch, cases=6)
    tr = env.testrail_state
    app = RailfiestaApp(env.service())
    async with app.run_test(size=(160, 48)) as pilot:
        await migrated(pilot, app)
        _, right = trees(app)
        assert {right.state_of(r.key) for r in right.records()} == {"synced"}
        with tr.lock:
            first = sorted(tr.cases)[0]
            title = tr.cases[first]["title"]
            ops.update_case(tr, first, {"title": "Edited in TestRail"}, None)
        tf_state = env.testfiesta.state.testfiesta
        row = next(
            r
            for r in tf_state.db.cases.values()
            if r.get("externalId", "").endswith(f"/case/{first}") and not r["deletedAt"]
        )
        tf_state.update(row, {"name": "Edited in TestFiesta"})
        reads: list[str] = []
        for name in ("testfiesta_pane", "testrail_pane"):
            real = getattr(app.service, name)

            async def counted(*args: Any, _real: Any = real, _name: str = name) -> Any:
                reads.append(_name)
                return await _real(*args)

            monkeypatch.setattr(app.service, name, counted)
        await app.service.sync()  # the cycle ends: SyncCycleFinished reaches the screen
        [entry] = app.service.conflicts()
        tf_key = entry["conflict"]["testfiesta"]
        await wait_for(pilot, lambda: right.state_of(tf_key) == "conflict")
        others = {right.state_of(r.key) for r in right.records() if r.key != tf_key}
        assert others == {"synced"}
        # the name in the pane is still the one read before the edit: only the badge changed
        record = right.record(tf_key)
        assert record is not None and record.name == title
        await pilot.pause(0.3)
        assert reads == []  # no pane read either project again: the store said it all


async def test_opening_a_section_reads_its_badges_once_off_the_ui_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = emulate(tmp_path, monkeypatch, cases=6)
    tr = env.testrail_state
    with tr.lock:  # a section of five cases
        section = tr.cases[sorted(tr.cases)[0]]["section_id"]
        for n in range(4):
            ops.add_case(tr, section, {"title": f"One more case {n}"}, None)
    app = RailfiestaApp(env.service())
    async with app.run_test(size=(160, 48)) as pilot:
        await migrated(pilot, app)
        left, _ = trees(app)
        await pilot.pause(0.3)  # the badges of the reload after the migration are in
        calls: list[tuple[list[str], str]] = []
        real = app.service.badges

        def counted(nodes: Any, *, pair_index: int = 0) -> Any:
            calls.append(([node.key for node in nodes], threading.current_thread().name))
            return real(nodes, pair_index=pair_index)

        monkeypatch.setattr(app.service, "badges", counted)
        with tr.lock:
            cases = sorted(c for c, row in tr.cases.items() if row["section_id"] == section)
            first = cases[0]
        node = left._node_of(f"tr:section:{section}")
        if node is None:  # under a parent section: reveal it
            left.mark_linked(f"tr:section:{section}")
            node = left._node_of(f"tr:section:{section}")
        assert node is not None and not node.is_expanded
        await open_node(pilot, left, node)
        await wait_for(pilot, lambda: left.record(f"tr:case:{first}") is not None)
        await pilot.pause()
        assert len(cases) == 5
        # one batched read of the section's cases, in a worker thread, never on the UI's
        [(keys, thread)] = calls
        assert sorted(keys) == sorted(f"tr:case:{case}" for case in cases)
        assert thread != threading.main_thread().name
        assert {left.state_of(key) for key in keys} == {"synced"}


async def test_badges_show_conflict_and_synced_and_the_link_lights_up_across(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = emulate(tmp_path, monkeypatch, cases=6)
    tr = env.testrail_state
    app = RailfiestaApp(env.service())
    async with app.run_test(size=(160, 48)) as pilot:
        await migrated(pilot, app)
        left, right = trees(app)
        with tr.lock:
            first = sorted(tr.cases)[0]
            title = tr.cases[first]["title"]
            ops.update_case(tr, first, {"title": "Edited in TestRail"}, None)
        tf_state = env.testfiesta.state.testfiesta
        row = next(
            r
            for r in tf_state.db.cases.values()
            if r.get("externalId", "").endswith(f"/case/{first}") and not r["deletedAt"]
        )
        tf_state.update(row, {"name": "Edited in TestFiesta"})
        await app.service.sync()
        [entry] = app.service.conflicts()
        tf_key = entry["conflict"]["testfiesta"]
        assert entry["conflict"]["values"]["base"] == title

        app.main_screen.reload_panes()
        await wait_for(pilot, lambda: right.state_of(tf_key) == "conflict")
        assert right.record(tf_key) is not None
        assert {right.state_of(r.key) for r in right.records() if r.key != tf_key} == {"synced"}

        # open the TestRail section of that case and put the cursor on it
        tr_key = f"tr:case:{first}"
        section = tr.cases[first]["section_id"]
        left.focus()
        left.mark_linked(f"tr:section:{section}")  # reveal the section (opens its parents)
        node = left._node_of(f"tr:section:{section}")
        assert node is not None
        await open_node(pilot, left, node)
        await wait_for(pilot, lambda: left.record(tr_key) is not None)
        assert left.state_of(tr_key) == "conflict"
        left.move_cursor(left._node_of(tr_key))
        await pilot.pause()
        # the linked TestFiesta case is underlined and in view in the right pane
        assert right.linked_key == tf_key
        shown = right._node_of(tf_key)
        assert shown is not None and shown.line >= 0
        text = screen_text(app)
        assert f"{CONFLICT_BADGE} Edited in TestRail" in text
        assert f"{CONFLICT_BADGE} Edited in TestFiesta" in text
        assert SYNCED_BADGE in text
        # moving on to a section: its TestFiesta folder is the linked one now
        await pilot.press("up")
        cursor = left.cursor_node
        assert cursor is not None and cursor.data is not None and cursor.data.record is not None
        assert right.linked_key == cursor.data.record.linked


async def test_a_case_in_a_section_not_opened_is_named_in_the_other_border(
    secrets: None, make_service: Callable[..., Service]
) -> None:
    app = RailfiestaApp(make_service())
    async with app.run_test(size=(160, 48)) as pilot:
        await migrated(pilot, app)
        left, right = trees(app)
        right.focus()
        login = child(right.root, "Login")
        await open_node(pilot, right, login)
        await pilot.pause()
        right.move_cursor(child(login, "User signs in with a valid password"))
        await pilot.pause()
        screen = app.main_screen
        assert left.linked_key == "tr:case:1"
        assert screen.testrail_pane.border_subtitle == ("linked: C1, in a section not opened yet")


# ---------------------------------------------------------------------------------- filter


async def test_slash_filters_both_trees_and_escape_brings_everything_back(
    secrets: None, make_service: Callable[..., Service]
) -> None:
    app = RailfiestaApp(make_service())
    async with app.run_test(size=(80, 24)) as pilot:
        await migrated(pilot, app)
        left, right = trees(app)
        assert names(left.root) == ["Login", "Checkout"]
        await pilot.press("slash")
        screen = app.main_screen
        assert screen.filter_input.has_focus
        await pilot.press(*"expires")
        # TestRail: the server finds the case in a section nobody opened
        await wait_for(
            pilot, lambda: "Login" in names(left.root) and bool(left.root.children[0].children)
        )
        login = child(left.root, "Login")
        assert names(left.root) == ["Login"]
        assert names(login) == ["Password reset"]
        assert names(child(login, "Password reset")) == ["Reset link expires after 24 hours"]
        # TestFiesta: the tree holds every case, so the match is there at once
        assert names(right.root) == ["Login"]
        assert names(child(child(right.root, "Login"), "Password reset")) == [
            "Reset link expires after 24 hours"
        ]
        await pilot.press("enter")
        assert left.has_focus and screen.filter_input.value == "expires"
        await pilot.press("escape")
        assert screen.filter_input.value == ""
        assert not screen.filtering and not screen.filter_input.display
        assert names(left.root) == ["Login", "Checkout"]
        assert names(right.root) == ["Login", "Checkout"]


async def test_the_filter_matches_ids_and_says_when_nothing_matches(
    secrets: None, make_service: Callable[..., Service]
) -> None:
    app = RailfiestaApp(make_service())
    async with app.run_test(size=(120, 40)) as pilot:
        await migrated(pilot, app)
        left, right = trees(app)
        await open_node(pilot, left, child(left.root, "Checkout"))
        await wait_for(pilot, lambda: left.record("tr:case:4") is not None)
        app.main_screen.apply_filter("c4")
        assert names(left.root) == ["Checkout"]
        assert names(child(left.root, "Checkout")) == ["Cart keeps items after sign-out – Größe L"]
        app.main_screen.apply_filter("zzz-nothing")
        assert names(right.root) == ["nothing matches “zzz-nothing”"]


async def test_the_filter_matches_record_keys_and_typed_case_ids_in_sections_not_opened(
    secrets: None, make_service: Callable[..., Service]
) -> None:
    app = RailfiestaApp(make_service())
    async with app.run_test(size=(120, 40)) as pilot:
        await migrated(pilot, app)
        left, right = trees(app)
        assert left.record("tr:case:3") is None  # "Password reset" was never opened
        screen = app.main_screen
        await pilot.press("slash")
        # the key as the details screen and the log show it: TestRail asked for that case
        await pilot.press(*"tr:case:3")
        await wait_for(pilot, lambda: left.record("tr:case:3") is not None)
        await wait_for(pilot, lambda: names(left.root) == ["Login"])
        login = child(left.root, "Login")
        assert names(login) == ["Password reset"]
        assert names(child(login, "Password reset")) == ["Reset link expires after 24 hours"]
        # and TestFiesta's copy of it, through its link
        assert names(child(child(right.root, "Login"), "Password reset")) == [
            "Reset link expires after 24 hours"
        ]
        # TestRail's own form, C4, in "Checkout", never opened either
        screen.filter_input.value = ""
        await pilot.press(*"c4 ")  # 2 characters (a title search needs 3): a case id asks now
        await wait_for(pilot, lambda: left.record("tr:case:4") is not None)
        await wait_for(pilot, lambda: names(left.root) == ["Checkout"])
        assert names(child(left.root, "Checkout")) == ["Cart keeps items after sign-out – Größe L"]
        assert names(right.root) == ["Checkout"]  # the copy of C4
        assert names(child(right.root, "Checkout")) == ["Cart keeps items after sign-out – Größe L"]
        # TestFiesta's key: the copy of C4, and C4 through the link
        record = left.record("tr:case:4")
        tf_key = record.linked if record is not None else None
        assert tf_key is not None and tf_key.startswith("tf:case:")
        screen.apply_filter(tf_key)
        assert names(child(right.root, "Checkout")) == ["Cart keeps items after sign-out – Größe L"]
        assert names(child(left.root, "Checkout")) == ["Cart keeps items after sign-out – Größe L"]
        # a word that is in every key but in no name matches nothing
        screen.apply_filter("case")
        assert names(right.root) == ["nothing matches “case”"]


# ---------------------------------------------------------------------------------- layout


async def test_toasts_never_cover_the_active_pane_at_80x24(
    secrets: None, make_service: Callable[..., Service]
) -> None:
    app = RailfiestaApp(make_service())
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await loaded(pilot, app)
        screen = app.main_screen
        for pane in (screen.testrail_pane, screen.testfiesta_pane):
            pane.project_tree.focus()
            await pilot.pause()
            app.notify(f"hello from {pane.side}", timeout=30)
            await wait_for(pilot, lambda: bool(app.screen.query(Toast)))
            await pilot.pause()
            for toast in app.screen.query(Toast):
                assert not toast.region.overlaps(pane.region), (pane.side, toast.region)
            app.clear_notifications()
            await pilot.pause()
        # nothing cut off: both panes (6 rows of tree each), the progress row and the log
        assert screen.testrail_pane.region.height >= 8
        assert screen.testfiesta_pane.region.height >= 8
        assert screen.query_one("#activity").region.height == 2


@pytest.mark.parametrize(
    ("size", "newest"),
    [((80, 24), [16, 17, 18, 19]), ((120, 40), list(range(5, 20)))],
)
@pytest.mark.parametrize("active", ["testrail", "testfiesta"])
async def test_many_toasts_show_the_newest_and_never_over_the_active_pane(
    secrets: None,
    make_service: Callable[..., Service],
    size: tuple[int, int],
    newest: list[int],
    active: str,
) -> None:
    app = RailfiestaApp(make_service())
    async with app.run_test(size=size, notifications=True) as pilot:
        await loaded(pilot, app)
        screen = app.main_screen
        pane = screen.testrail_pane if active == "testrail" else screen.testfiesta_pane
        pane.project_tree.focus()
        await pilot.pause()
        for number in range(20):
            app.notify(f"toast number {number}", timeout=60)
            await pilot.pause(0.01)
        await pilot.pause(0.3)
        rows = screen_text(app).splitlines()
        shown = [int(row.split("toast number ")[1].split()[0]) for row in rows if "toast" in row]
        # the other pane holds 8 (80x24) or 30 rows (120x40): a one-line toast takes 2
        assert shown == newest
        region = pane.region
        over = [row[region.x : region.right] for row in rows[region.y : region.bottom]]
        assert not any("toast" in row for row in over)
        assert len(app._notifications) == len(newest)  # the older ones were dismissed


# ---------------------------------------------------------------------------------- themes


async def test_t_cycles_the_themes_and_the_palette_names_each(
    secrets: None, make_service: Callable[..., Service]
) -> None:
    app = RailfiestaApp(make_service())
    async with app.run_test() as pilot:
        assert app.theme == "railfiesta-dark"
        seen = []
        for _ in range(3):
            await pilot.press("t")
            seen.append(app.theme)
        assert seen == ["railfiesta-high-contrast", "railfiesta-light", "railfiesta-dark"]
        titles = [c.title for c in app.get_system_commands(app.screen)]
        # the palette offers the themes [ui] theme accepts, and only those
        assert [t for t in titles if "theme" in t.lower()] == [
            "Next theme",
            "Theme: dark",
            "Theme: high-contrast",
            "Theme: light",
        ]
        # Textual's own theme search (its palette of every registered theme) too
        app.search_themes()
        await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, CommandPalette)
                and bool(app.screen.query(OptionList))
                and app.screen.query_one(OptionList).option_count == 3
            ),
        )
        await pilot.pause(0.2)
        options = app.screen.query_one(OptionList)
        shown = sorted(str(options.get_option_at_index(i).prompt) for i in range(3))
        assert options.option_count == 3
        assert [line.split()[0] for line in shown] == sorted(theme_names())
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, CommandPalette))


async def test_a_bad_theme_file_is_reported_and_the_others_load(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    secrets: None,
    make_service: Callable[..., Service],
) -> None:
    folder = tmp_path / "themes"
    folder.mkdir()
    (folder / "broken.toml").write_text('name = "broken"\nprimary = "not a colour"\n')
    (folder / "sea.toml").write_text('name = "sea"\nprimary = "#0077be"\n')

    monkeypatch.setattr(RailfiestaApp, "THEME_FOLDERS", [ROOT / "themes", folder])
    app = RailfiestaApp(make_service())
    toasts: list[str] = []
    notify = app.notify
    monkeypatch.setattr(
        app, "notify", lambda message, **kw: (toasts.append(message), notify(message, **kw))
    )
    async with app.run_test(notifications=True) as pilot:
        await pilot.pause()
        assert {"railfiesta-dark", "railfiesta-light", "railfiesta-high-contrast", "sea"} <= set(
            app.available_themes
        )
        assert "broken" not in app.available_themes
        message = "theme file skipped: broken.toml: primary = 'not a colour' is not a colour"
        assert toasts == [message]
        assert message in " ".join(log_text(app).split())


@pytest.mark.parametrize(
    ("bad", "wanted", "using"),
    [
        ("railfiesta-light", "railfiesta-light", "railfiesta-dark"),
        ("railfiesta-dark", None, "railfiesta-high-contrast"),  # the default's own file
    ],
)
async def test_a_bad_file_of_the_theme_asked_for_is_reported_once(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    secrets: None,
    make_service: Callable[..., Service],
    bad: str,
    wanted: str | None,
    using: str,
) -> None:
    folder = tmp_path / "themes"
    folder.mkdir()
    for theme in (ROOT / "themes").glob("*.toml"):
        (folder / theme.name).write_bytes(theme.read_bytes())
    (folder / f"{bad}.toml").write_text(f'name = "{bad}"\nprimary = "not a colour"\n')
    monkeypatch.setattr(RailfiestaApp, "THEME_FOLDERS", [folder])
    app = RailfiestaApp(make_service(), theme=wanted)
    toasts: list[str] = []
    notify = app.notify
    monkeypatch.setattr(
        app, "notify", lambda message, **kw: (toasts.append(message), notify(message, **kw))
    )
    async with app.run_test(notifications=True) as pilot:
        await pilot.pause()
        assert app.theme == using
        message = (
            f"theme file skipped: {bad}.toml: primary = 'not a colour' is not a colour; "
            f"using {using}"
        )
        assert toasts == [message]  # no second "unknown theme" toast for the same file
        assert log_text(app).count("theme") == 1
        assert message in " ".join(log_text(app).split())


async def test_no_color_gives_monochrome_in_black_and_white(
    monkeypatch: pytest.MonkeyPatch, secrets: None, make_service: Callable[..., Service]
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = RailfiestaApp(make_service())
    assert app.no_color  # Textual 8.2.8 reads (and removes) NO_COLOR itself ...
    assert any(isinstance(f, Monochrome) for f in app._filters)  # ... and draws in greys
    assert app.theme == "railfiesta-high-contrast"  # black and white keeps every contrast
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        svg = app.export_screenshot()
    fills = dict(re.findall(r"\.(terminal-[0-9]+-r[0-9]+) \{ fill: #([0-9a-f]{6})", svg))
    texts = re.findall(r'<text class="(terminal-[0-9]+-r[0-9]+)"[^>]*>([^<]*)</text>', svg)
    colours = {fills[cls] for cls, text in texts if text.replace("&#160;", "").strip()}
    colours |= set(re.findall(r'<rect fill="#([0-9a-f]{6})"', svg))
    assert len(colours) > 3, "the screenshot has text and backgrounds"
    assert all(c[0:2] == c[2:4] == c[4:6] for c in colours), colours  # greys only


# ---------------------------------------------------------------------------------- clipboard


async def test_y_copies_the_id_and_shift_y_the_url_through_osc52(
    secrets: None, make_service: Callable[..., Service]
) -> None:
    app = RailfiestaApp(make_service())
    async with app.run_test(size=(120, 40)) as pilot:
        await migrated(pilot, app)
        left, right = trees(app)
        login = child(left.root, "Login")
        await open_node(pilot, left, login)
        await wait_for(pilot, lambda: left.record("tr:case:1") is not None)
        left.move_cursor(left._node_of("tr:case:1"))
        await pilot.press("y")
        assert app.clipboard == "C1"
        await pilot.press("Y")
        assert app.clipboard == "http://testrail.test/index.php?/cases/view/1"
        # a section has no page of its own: Y copies its suite's and says so (a nested one too)
        for section in ("tr:section:1", "tr:section:2"):
            left.move_cursor(left._node_of(section))
            app.clear_notifications()
            await pilot.press("Y")
            assert app.clipboard == "http://testrail.test/index.php?/suites/view/1"
            assert [n.message for n in app._notifications] == [
                "Copied URL: http://testrail.test/index.php?/suites/view/1 "
                f"(S{section[-1]}: a section has no page of its own in TestRail; "
                "this is its suite's)"
            ]
        right.focus()
        key = next(r.key for r in right.records() if r.name.startswith("User signs in"))
        uid = key.rsplit(":", 1)[1]
        right.mark_linked(key)  # opens its folder
        right.move_cursor(right._node_of(key))
        await pilot.pause()
        await pilot.press("Y")
        # the web page (core.addresses), not the API resource /v1/acme/projects/WEB/cases/N
        assert app.clipboard == f"http://testfiesta.test/acme/WEB/cases/{uid}"
        assert f"copied URL: http://testfiesta.test/acme/WEB/cases/{uid}" in log_text(app)
        folder = next(r.key for r in right.records() if r.name == "Login")
        right.move_cursor(right._node_of(folder))
        await pilot.press("Y")
        assert app.clipboard == f"http://testfiesta.test/acme/WEB/folders/{folder.split(':')[2]}"


# ---------------------------------------------------------------------------------- palette, keys


#: What the palette offers on the main screen with two pairs (title, explanation (keys)).
MAIN_PALETTE = [
    (
        "Sync on/off",
        "Switch two-way sync on or off, in the config file as `railfiesta sync on|off` (s)",
    ),
    ("Sync now", "Run a sync cycle now, or ask the running sync for one (S)"),
    ("Migrate", "Copy the TestRail project into TestFiesta (M)"),
    ("Conflicts", "Settle sync conflicts in a three-way diff (c)"),
    (
        "Mapping editor (fields, statuses, priorities, types, users)",
        "Which TestFiesta field, status, priority, tag and user each TestRail one becomes (m)",
    ),
    ("Next pair", "Show the next [[pair]] of the config in the panes (p)"),
    ("Next theme", "Switch to the next of the console's themes (t)"),
    ("Copy id", "Copy the selected record's id to the clipboard (y)"),
    ("Copy URL", "Copy the web address of the selected record's page to the clipboard (Y)"),
    ("Keys", "Show what each key does here (?)"),
    ("Quit", "Leave the console (q ^q)"),
    ("Next pane or log", "Next pane or log (tab)"),
    ("Previous pane or log", "Previous pane or log (shift+tab)"),
    (
        "Filter both trees",
        "Show only records whose name, id (C12) or key (tr:case:12) holds a text (/)",
    ),
    (
        "Open, or a case's details",
        "Open the record under the cursor, or show a case on both sides (⏎)",
    ),
    ("Open or close", "Open or close the record under the cursor (space)"),
    (
        "Open or close all below",
        "Open or close the record under the cursor and everything in it (shift+space)",
    ),
    ("Details", "The selected record on both sides, differences marked (i)"),
    ("Reload panes", "Read both projects again"),
    ("Show pair: Webshop → WEB", "Pair 1 of 2 in the panes (p: next pair)"),
    ("Show pair: Webshop → WEB2", "Pair 2 of 2 in the panes (p: next pair)"),
    ("Theme: dark", "Switch the colours to railfiesta-dark"),
    ("Theme: high-contrast", "Switch the colours to railfiesta-high-contrast"),
    ("Theme: light", "Switch the colours to railfiesta-light"),
]


async def test_the_palette_offers_every_key_once_in_our_words(
    secrets: None, make_service: Callable[..., Service]
) -> None:
    app = RailfiestaApp(make_service(pairs=(("Webshop", "WEB"), ("Webshop", "WEB2"))))
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app)
        commands = list(app.get_system_commands(app.screen))
        assert [(c.title, c.help) for c in commands] == MAIN_PALETTE
        # the help and the palette come from the same bindings: every row of ? (but the
        # navigation keys and the palette's own key) is a command, in the same words
        rows = [row for title, group in app.key_groups() if title != "Navigation" for row in group]
        assert [what for keys, what in rows if keys != "^p"] == [c.title for c in commands[:18]]
        # with the palette open, it still offers what the main screen binds
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
        behind = app.screen_stack[-2]
        assert [(c.title, c.help) for c in app.get_system_commands(behind)] == MAIN_PALETTE
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, CommandPalette))
        # Textual's own texts are not there
        assert "Change the current theme" not in " ".join(c.help for c in commands)
        # and a command does what it says: "Copy id" from the palette
        left, _ = trees(app)
        left.focus()
        left.move_cursor(child(left.root, "Login"))
        await pilot.press("ctrl+p")
        await pilot.press(*"Copy id")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.clipboard == "S1")
        # "Filter both trees" from the palette opens the filter line, as / does
        app.call_later(next(c for c in commands if c.title == "Filter both trees").callback)
        await wait_for(pilot, lambda: app.main_screen.filtering)
        assert app.focused is app.main_screen.filter_input


async def test_on_the_conflicts_screen_the_palette_names_its_keys_not_the_main_ones(
    secrets: None, make_service: Callable[..., Service]
) -> None:
    app = RailfiestaApp(make_service(pairs=(("Webshop", "WEB"), ("Webshop", "WEB2"))))
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app)
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ConflictsScreen))
        screen = app.screen
        commands = [(c.title, c.help) for c in app.get_system_commands(screen)]
        # p is "previous conflict" here: no "Next pair", no "Show pair", nothing of the
        # main screen's (filter, details, mapping, reload)
        assert [title for title, _ in commands] == [
            "Sync on/off",
            "Sync now",
            "Migrate",
            "Conflicts",
            "Next theme",
            "Copy id",
            "Copy URL",
            "Keys",
            "Quit",
            "Conflict: Next part",
            "Conflict: Previous part",
            "Conflict: TestRail wins",
            "Conflict: TestFiesta wins",
            "Conflict: Edit a merged value",
            "Conflict: Skip (leave it open)",
            "Conflict: Next conflict",
            "Conflict: Previous conflict",
            "Conflict: Undo the last choice",
            "Conflict: Same choice for the rest of this field",
            "Conflict: Show or hide the base",
            "Conflict: Back to the projects",
            "Theme: dark",
            "Theme: high-contrast",
            "Theme: light",
        ]
        helps = dict(commands)
        assert helps["Conflict: Previous conflict"] == "Show the previous conflict in the list (p)"
        assert helps["Conflict: Next conflict"] == "Show the next conflict in the list (n)"
        assert helps["Conflict: TestRail wins"] == "Keep TestRail's value: TestFiesta gets it (>)"
        assert helps["Quit"] == "Leave the console (q ^q)"
        # p here moves in the list; the panes keep their pair
        await pilot.press("p")
        await pilot.pause()
        assert app.pair_index == 0


async def test_the_pair_commands_name_both_projects_of_a_generated_key(
    secrets: None, make_service: Callable[..., Service], testrail_state: TestRailState
) -> None:
    add_project(testrail_state, "Backoffice", {"Master": ["Invoices"]})
    app = RailfiestaApp(make_service(pairs=((PROJECT, ""), ("Backoffice", ""))))
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app)

        def pair_commands() -> list[str]:
            return [
                c.title
                for c in app.get_system_commands(app.screen)
                if c.title.startswith("Show pair")
            ]

        # before the migration neither TestFiesta project exists
        assert pair_commands() == [
            "Show pair: Webshop → (new project)",
            "Show pair: Backoffice → (new project)",
        ]
        await pilot.press("M")
        await wait_for(pilot, lambda: not app.migrating, timeout=30)
        # the keys migrate generated, read for both pairs (not only the one shown)
        await wait_for(pilot, lambda: len(app.main_screen.project_keys) == 2, timeout=10)
        assert pair_commands() == [
            "Show pair: Webshop → WEBSHOP",
            "Show pair: Backoffice → BACKOFFICE",
        ]
        await wait_for(
            pilot, lambda: app.main_screen.header.pair_text.endswith("WEBSHOP  · p next pair")
        )
        assert app.main_screen.header.pair_text == "1 of 2: Webshop → WEBSHOP  · p next pair"


async def test_question_mark_lists_the_new_keys_and_badges(
    secrets: None, make_service: Callable[..., Service]
) -> None:
    app = RailfiestaApp(make_service())
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app)
        await pilot.press("question_mark")
        await pilot.pause()
        labels = list(app.screen.query(".help-key, .help-badge").results(Label))
        # a long row wraps under its own text, not under the keys (13 cells: "shift+space  ")
        mapping = next(str(label.content) for label in labels if "Mapping" in str(label.content))
        assert mapping.splitlines() == [
            "          m  Mapping editor (fields, statuses, priorities,",
            "             types, users)",
        ]
        text = "\n".join(re.sub(r"\n +", " ", str(label.content)).strip() for label in labels)
        for line in (
            "t  Next theme",
            "y  Copy id",
            "Y  Copy URL",
            "/  Filter both trees",
            "◐  pending: changed since the last poll, or a write waits",
            "✖  conflict: changed differently on both sides",
        ):
            assert line in text, line


# ---------------------------------------------------------------------------------- the terminal


def test_without_a_terminal_the_console_says_so_and_exits_3(tmp_path: Path) -> None:
    config = tmp_path / "railfiesta.toml"
    config.write_text(
        '[testrail]\nurl = "http://testrail.test"\nuser = "a@b.c"\napi_key_env = "X_KEY"\n'
        '[testfiesta]\nurl = "http://testfiesta.test"\nhandle = "acme"\ntoken_env = "X_TOKEN"\n'
        '[[pair]]\ntestrail_project = "Webshop"\n'
    )
    done = subprocess.run(
        [sys.executable, "-m", "tui.cli", "--config", str(config)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 3
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "railfiesta: the console needs a terminal, and stdin and stdout are not one; use a "
        "headless command instead (railfiesta status, sync --once, migrate)",
        "  fix: run railfiesta in a terminal (ssh -t, tmux) to open the console",
    ]


def test_no_mouse_reaches_the_app(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, secrets: None
) -> None:
    config = tmp_path / "railfiesta.toml"
    config.write_text(
        '[testrail]\nurl = "http://testrail.test"\nuser = "a@b.c"\napi_key_env = "X_KEY"\n'
        '[testfiesta]\nurl = "http://testfiesta.test"\nhandle = "acme"\ntoken_env = "X_TOKEN"\n'
        '[[pair]]\ntestrail_project = "Webshop"\n'
    )
    asked: list[bool] = []
    monkeypatch.setattr(cli, "require_terminal", lambda: None)
    monkeypatch.setattr(RailfiestaApp, "run", lambda self, mouse=True, **kw: asked.append(mouse))
    assert cli.main(["--config", str(config), "--no-mouse", "--state", str(tmp_path)]) == 0
    assert cli.main(["--config", str(config), "--state", str(tmp_path)]) == 0
    assert asked == [False, True]


def test_an_unexpected_error_in_the_console_exits_fatal(
    secrets: None, make_service: Callable[..., Service], capsys: pytest.CaptureFixture[str]
) -> None:
    class Crashing(RailfiestaApp):
        def on_mount(self) -> None:
            raise RuntimeError("boom in the console")

        def run(self, *, mouse: bool = True, **kwargs: Any) -> None:  # type: ignore[override]
            super().run(headless=True, mouse=mouse, size=(80, 24))

    assert run_console(Crashing(make_service()), mouse=False) == 3
    out, err = capsys.readouterr()
    assert "railfiesta: the console stopped on an unexpected error (above)" in err
    assert "boom in the console" in out + err  # Textual's traceback names the error


async def test_the_filter_line_is_an_input_hidden_until_slash(
    secrets: None, make_service: Callable[..., Service]
) -> None:
    app = RailfiestaApp(make_service())
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        field = app.main_screen.query_one("#filter", Input)
        assert not field.display or field.region.height == 0
        await pilot.press("slash")
        await pilot.pause()
        assert field.region.height == 1


async def test_a_link_to_a_folder_not_loaded_yet_is_marked_once_the_pane_has_loaded(
    secrets: None, make_service: Callable[..., Service]
) -> None:
    app = RailfiestaApp(make_service())
    async with app.run_test(size=(160, 48)) as pilot:
        await migrated(pilot, app)
        left, right = trees(app)
        screen = app.main_screen
        pane = screen.testfiesta_pane
        left.focus()
        await pilot.pause()
        login = child(left.root, "Login")
        right.clear_records()  # as while a reload reads (no await until it is asked again)
        pane.loaded = False
        left.move_cursor(login)
        screen.show_linked(left)  # as the cursor's move does
        record = login.data.record if login.data is not None else None
        assert record is not None and record.linked is not None
        uid = record.linked.rsplit(":", 1)[-1]
        assert pane.border_subtitle == f"linked: {uid}, not loaded yet"
        assert right.linked_key == record.linked
        pane.load()  # the reload lands
        await wait_for(pilot, lambda: pane.loaded and right.record(record.linked) is not None)
        await pilot.pause()
        assert pane.border_subtitle == LEGEND
        shown = right._node_of(record.linked)
        assert shown is not None and str(shown.label) == "Login" and shown.line >= 0
