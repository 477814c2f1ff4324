"""The details (enter / i: a record on both sides) and the mapping editor (m), over the
emulators (tests/tui/conftest.py)."""

from __future__ import annotations

import difflib
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from textual.widgets import OptionList, Static

from core import config_edit
from core.config import load_config
from core.service import Service
from emulators.testfiesta.app import create_app as create_testfiesta
from emulators.testrail import ops
from emulators.testrail.app import create_app as create_testrail
from emulators.testrail.seed import from_xml
from emulators.testrail.store import TestRailState
from tests.helpers import emulate
from tests.tui.conftest import SUITE_XML, TESTFIESTA_HANDLE, TESTRAIL_KEY, TESTRAIL_USER
from tests.tui.pilot import child, cursor_label, loaded, names, wait_for
from tui.app import RailfiestaApp
from tui.screens.details import RecordDetails
from tui.screens.help import HelpScreen
from tui.screens.mapping import CounterpartPicker, MappingEditor
from tui.screens.modals import Confirm
from tui.widgets.project_tree import ProjectTree

SAMPLE = Path(__file__).resolve().parents[2] / "sample-config.toml"
SAMPLE_TOKEN = "testfiesta_sample-token"
USER_ID = "6f1c2b7e-3d4a-4e5f-8a9b-0c1d2e3f4a5b"


def trees(app: RailfiestaApp) -> tuple[ProjectTree, ProjectTree]:
    screen = app.main_screen
    return screen.testrail_pane.project_tree, screen.testfiesta_pane.project_tree


def details(app: RailfiestaApp) -> RecordDetails:
    screen = app.screen
    assert isinstance(screen, RecordDetails)
    return screen


def editor(app: RailfiestaApp) -> MappingEditor:
    screen = app.screen
    assert isinstance(screen, MappingEditor)
    return screen


def problems_text(app: RailfiestaApp) -> str:
    return str(editor(app).query_one("#mapping-problems", Static).content)


async def open_login_case(pilot: object, app: RailfiestaApp) -> None:
    """Cursor on "User signs in with a valid password" in the TestRail pane."""
    left, _ = trees(app)
    left.focus()
    login = child(left.root, "Login")
    left.move_cursor(login)
    if not login.is_expanded:
        await pilot.press("space")  # type: ignore[attr-defined]
    await wait_for(pilot, lambda: "loading…" not in names(login) and len(names(login)) > 1)  # type: ignore[arg-type]
    left.move_cursor(child(login, "User signs in with a valid password"))


def sample_service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Service:
    """A copy of sample-config.toml (every comment, [mapping.*] as shipped) over the
    emulators: TestRail holds "Sample Project" from SUITE_XML."""
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    monkeypatch.setenv("TESTRAIL_API_KEY", TESTRAIL_KEY)
    monkeypatch.setenv("TESTFIESTA_TOKEN", SAMPLE_TOKEN)
    xml = tmp_path / "sample.xml"
    xml.write_text(SUITE_XML, encoding="utf-8")
    state = TestRailState()
    from_xml(state, xml, project_name="Sample Project")
    path = tmp_path / "railfiesta.toml"
    shutil.copyfile(SAMPLE, path)
    return Service(
        load_config(path),
        state_dir=tmp_path / "state",
        testrail_transport=httpx.ASGITransport(
            app=create_testrail(state, user=TESTRAIL_USER, api_key=TESTRAIL_KEY)
        ),
        testfiesta_transport=httpx.ASGITransport(
            app=create_testfiesta(handle=TESTFIESTA_HANDLE, token=SAMPLE_TOKEN)
        ),
    )


# ---------------------------------------------------------------------------------- details


async def test_details_show_both_sides_and_mark_what_differs(
    secrets: None, make_service: Callable[..., Service]
) -> None:
    app = RailfiestaApp(make_service())
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app)
        _, right = trees(app)

        # before the migration: only in TestRail, and the details say so
        await open_login_case(pilot, app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RecordDetails))
        await wait_for(pilot, lambda: details(app).sides is not None)
        summary = details(app).query_one("#details-summary", Static)
        assert str(summary.content) == "Only in TestRail: not linked to a TestFiesta record"
        assert details(app).shown_rows == [
            ("", "Title", "User signs in with a valid password", "—"),
            ("", "Folder", "Login", "—"),
            ("", "Template", "Test Case (Text)", "—"),
            ("", "Type", "Functional", "—"),
            ("", "Priority", "High", "—"),
        ]
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, RecordDetails))

        await pilot.press("M")
        await wait_for(pilot, lambda: not app.migrating)
        await wait_for(pilot, lambda: names(right.root) == ["Login", "Checkout"])
        assert app.service.testrail is not None
        await app.service.testrail.update_case(
            1, {"title": "User signs in with a passkey", "custom_preconds": "A passkey exists."}
        )

        # enter on the TestRail case: both sides, the two changed values marked
        await open_login_case(pilot, app)
        assert cursor_label(trees(app)[0]) == "User signs in with a valid password"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RecordDetails))
        await wait_for(pilot, lambda: details(app).sides is not None)
        assert str(details(app).query_one("#details-summary", Static).content) == (
            "2 of 6 values differ (≠)"
        )
        assert details(app).shown_rows == [
            ("≠", "Title", "User signs in with a passkey", "User signs in with a valid password"),
            ("", "Folder", "Login", "Login"),
            ("", "Template", "Test Case (Text)", "Test Case (Text)"),
            ("", "Type", "Functional", "Functional"),
            ("", "Priority", "High", "High"),
            ("≠", "Preconditions", "A passkey exists.", "—"),
        ]
        assert len(details(app).query(".detail-field.-differ")) == 2
        await pilot.press("f")  # only the differences
        assert [row[1] for row in details(app).shown_rows] == ["Title", "Preconditions"]
        await pilot.press("f")
        assert len(details(app).shown_rows) == 6

        # the help lists the details' keys
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        assert dict(help_screen.groups)["This screen"][-2:] == [
            ("⏎ i q esc", "Close"),
            ("f", "Only differences"),
        ]
        await pilot.press("escape")
        await pilot.press("i")  # i closes the details too
        await wait_for(pilot, lambda: not isinstance(app.screen, RecordDetails))

        # i on the linked TestFiesta case: the same comparison, read from the other side
        right.focus()
        folder = child(right.root, "Login")
        right.move_cursor(folder)
        # the left cursor's case is linked: this pane opened its folder to show it (underlined)
        assert folder.is_expanded
        case = child(folder, "User signs in with a valid password")
        assert case.data is not None
        assert right.linked_key == case.data.key
        right.move_cursor(case)
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, RecordDetails))
        await wait_for(pilot, lambda: details(app).sides is not None)
        assert details(app).sides is not None
        assert details(app).sides.differences == 2  # type: ignore[union-attr]
        assert details(app).query_one("#details-body").border_title == "TestFiesta case"

        # the palette offers this screen's keys (f too), in our words, each with the key
        # it has here (q closes: quitting is ^q), and nothing of the main screen's
        commands = list(app.get_system_commands(app.screen))
        assert [(c.title, c.help) for c in commands] == [
            (
                "Sync on/off",
                "Switch two-way sync on or off, in the config file as `railfiesta sync on|off` (s)",
            ),
            ("Sync now", "Run a sync cycle now, or ask the running sync for one (S)"),
            ("Migrate", "Copy the TestRail project into TestFiesta (M)"),
            ("Conflicts", "Settle sync conflicts in a three-way diff (c)"),
            ("Next theme", "Switch to the next of the console's themes (t)"),
            ("Copy id", "Copy the selected record's id to the clipboard (y)"),
            ("Copy URL", "Copy the web address of the selected record's page to the clipboard (Y)"),
            ("Keys", "Show what each key does here (?)"),
            ("Quit", "Leave the console (^q)"),
            ("Details: Next part", "Next part (tab)"),
            ("Details: Previous part", "Previous part (shift+tab)"),
            ("Details: Close", "Back to the projects (⏎ i q esc)"),
            (
                "Details: Only differences",
                "Show only the values whose sides differ, or all values again (f)",
            ),
            ("Theme: dark", "Switch the colours to railfiesta-dark"),
            ("Theme: high-contrast", "Switch the colours to railfiesta-high-contrast"),
            ("Theme: light", "Switch the colours to railfiesta-light"),
        ]
        # "Details: Only differences" from the palette does what f does
        screen = details(app)
        app.call_later(commands[12].callback)
        await wait_for(pilot, lambda: screen.only_differences)
        await wait_for(pilot, lambda: all(row[0] == "≠" for row in screen.shown_rows))
        assert len(screen.shown_rows) == 2

        # back on the main screen: the details and the editor are offered again
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, RecordDetails))
        commands = [c.title for c in app.get_system_commands(app.screen)]
        assert commands[:6] == [
            "Sync on/off",
            "Sync now",
            "Migrate",
            "Conflicts",
            "Mapping editor (fields, statuses, priorities, types, users)",
            "Next theme",
        ]
        assert {"Details", "Filter both trees", "Reload panes"} <= set(commands)


# ---------------------------------------------------------------------------------- mapping


async def test_mapping_editor_round_trip_changes_exactly_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = sample_service(tmp_path, monkeypatch)
    before = service.config.path.read_bytes()
    app = RailfiestaApp(service)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app)
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, MappingEditor))
        await wait_for(pilot, lambda: editor(app).loaded)
        await pilot.press("2")
        assert editor(app).vocabulary == "status"
        assert editor(app).rows == [
            ("", "Passed", "Passed", ""),
            ("", "Blocked", "Blocked", ""),
            ("", "Untested", "Untested", ""),
            ("", "Retest", "Retest", ""),
            ("", "Failed", "Failed", ""),
        ]
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, CounterpartPicker))
        options = app.screen.query_one(OptionList)
        assert [str(options.get_option_at_index(i).id) for i in range(options.option_count)] == [
            "Passed",
            "Failed",
            "Blocked",
            "Retest",
            "Untested",
            "Skipped",
        ]
        assert options.highlighted == 2  # the current counterpart
        await pilot.press("end", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, MappingEditor))
        assert editor(app).rows[1] == ("*", "Blocked", "Skipped", "")
        assert problems_text(app).startswith("1 unsaved change · no problems")
        assert service.config.path.read_bytes() == before  # nothing written before w
        await pilot.press("w")
        await wait_for(pilot, lambda: not editor(app).changes)
        assert editor(app).rows[1] == ("", "Blocked", "Skipped", "")
    after = service.config.path.read_bytes()
    diff = [
        line
        for line in difflib.diff_bytes(
            difflib.unified_diff, before.splitlines(True), after.splitlines(True), n=0
        )
        if not line.startswith((b"---", b"+++", b"@@"))
    ]
    assert diff == [b'-Blocked = "Blocked"\n', b'+Blocked = "Skipped"\n']
    assert load_config(service.config.path).mapping.status["Blocked"] == "Skipped"


async def test_mapping_editor_validates_reverts_and_asks_before_discarding(
    secrets: None, make_service: Callable[..., Service]
) -> None:
    service = make_service()
    config_before = service.config.path.read_bytes()
    app = RailfiestaApp(service)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app)
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, MappingEditor))
        await wait_for(pilot, lambda: editor(app).loaded)
        assert editor(app).vocabulary == "fields"
        assert editor(app).rows[0] == ("", "custom_preconds (Preconditions)", "Preconditions", "")
        await pilot.press("m")  # m does not open a second editor over the first
        assert len(app.screen_stack) == 2

        # Retest -> Failed: two TestRail statuses on one TestFiesta status
        await pilot.press("2", "down", "down", "down")
        assert editor(app).rows[3][1] == "Retest"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, CounterpartPicker))
        options = app.screen.query_one(OptionList)
        options.highlighted = 1  # Failed
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, MappingEditor))
        assert [row[:3] for row in editor(app).rows[3:]] == [
            ("!", "Retest", "Failed"),
            ("!", "Failed", "Failed"),
        ]
        assert problems_text(app) == (
            "1 unsaved change · 1 problem (1 error)\n"
            "! Statuses: 'Retest' and 'Failed' both map to 'Failed': TestFiesta values could "
            "not say which TestRail one they were"
        )
        # w with an error left asks first; no keeps the file
        await pilot.press("w")
        await wait_for(pilot, lambda: isinstance(app.screen, Confirm))
        assert app.screen.question == "1 error left (marked !); save anyway?"
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, MappingEditor))
        assert service.config.path.read_bytes() == config_before

        # x puts the row back as the config has it
        await pilot.press("x")
        assert editor(app).rows[3][:3] == ("", "Retest", "Retest")
        assert problems_text(app) == "No unsaved changes · no problems"

        # 3 and 4: priorities and case types, with a live sample (a case of that kind)
        await pilot.press("3")
        assert editor(app).vocabulary == "priority"
        assert editor(app).rows == [
            ("", "Low", "Low", ""),
            ("", "Medium", "Medium", "Reset link expires after 24 hours"),
            ("", "High", "High", "User signs in with a valid password"),
            ("", "Critical", "Critical", "[smoke] Locked account is refused"),
        ]
        await pilot.press("4")
        assert editor(app).vocabulary == "types"
        assert ("", "Functional", "Functional", "User signs in with a valid password") in (
            editor(app).rows
        )
        # escape in the picker keeps the row as it was
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, CounterpartPicker))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, MappingEditor))
        assert problems_text(app) == "No unsaved changes · no problems"

        # the help lists the editor's keys
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        assert isinstance(app.screen, HelpScreen)
        assert dict(app.screen.groups)["This screen"][2:] == [
            ("esc", "Close"),
            ("w", "Save"),
            ("x", "Undo row"),
            ("1", "Fields tab"),
            ("2", "Statuses tab"),
            ("3", "Priorities tab"),
            ("4", "Case types tab"),
            ("5", "Users tab"),
            ("⏎", "Change"),
        ]
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, MappingEditor))

        # users are typed (TestFiesta cannot list them): a UUID is an id, an e-mail is not
        await pilot.press("5")
        assert [row[1:3] for row in editor(app).rows] == [
            ("admin@example.com (Administrator)", "—"),
            ("qa@example.com (Qa)", "—"),
        ]
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, CounterpartPicker))
        await pilot.press(*"qa@example.com", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, MappingEditor))
        assert editor(app).rows[1][:3] == ("!", "qa@example.com (Qa)", "qa@example.com")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, CounterpartPicker))
        await pilot.press("ctrl+u", *USER_ID, "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, MappingEditor))
        assert editor(app).rows[1][:3] == ("*", "qa@example.com (Qa)", USER_ID)

        # escape with an unsaved change asks; yes discards, the file is untouched
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, Confirm))
        assert app.screen.question == "Discard 1 unsaved change?"
        await pilot.press("y")
        await wait_for(pilot, lambda: app.screen is app.main_screen)
        assert service.config.path.read_bytes() == config_before

        # the help lists m in the console's keys
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        assert dict(help_screen.groups)["Console"][:5] == [
            ("s", "Sync on/off"),
            ("S", "Sync now"),
            ("M", "Migrate"),
            ("c", "Conflicts"),
            ("m", "Mapping editor (fields, statuses, priorities, types, users)"),
        ]


async def test_the_mapping_title_names_a_generated_project_key_and_its_help_has_no_panes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = emulate(tmp_path, monkeypatch, cases=4)
    text = env.config_path.read_text(encoding="utf-8")
    env.config_path.write_text(text.replace('testfiesta_project = "ACME"\n', ""), "utf-8")
    app = RailfiestaApp(env.service())
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app)
        screen = app.main_screen
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, MappingEditor))
        title = app.screen.query_one("#mapping-title", Static)
        assert str(title.content) == "Mapping  Acme Web Shop → (new project)  ·  railfiesta.toml"
        await pilot.press("escape")
        await pilot.press("M")
        await wait_for(pilot, lambda: not app.migrating, timeout=30)
        await wait_for(pilot, lambda: screen.testfiesta_pane.project_key == "ACMEWEBSHOP")
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, MappingEditor))
        title = app.screen.query_one("#mapping-title", Static)
        assert str(title.content) == "Mapping  Acme Web Shop → ACMEWEBSHOP  ·  railfiesta.toml"
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        keys = dict(app.screen.keys)
        assert keys["tab"] == "Next part"  # not "Next pane or log": this screen has neither
        assert keys["shift+tab"] == "Previous part"


async def test_the_mapping_editor_marks_an_unmapped_required_field_and_its_palette_has_its_keys(
    secrets: None, make_service: Callable[..., Service], testrail_state: TestRailState
) -> None:
    with testrail_state.lock:  # a field every TestRail case must fill, unknown to TestFiesta
        ops.add_case_field(
            testrail_state,
            {
                "type": "String",
                "name": "ticket",
                "label": "Ticket",
                "configs": [{"context": {"is_global": True}, "options": {"is_required": True}}],
            },
        )
    app = RailfiestaApp(make_service())
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app)
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, MappingEditor))
        await wait_for(pilot, lambda: editor(app).loaded)
        assert editor(app).vocabulary == "fields"
        ticket = next(row for row in editor(app).rows if row[1].startswith("custom_ticket"))
        assert ticket == ("?", "custom_ticket (Ticket) required", "Ticket", "")
        assert problems_text(app) == (
            "No unsaved changes · 1 problem\n"
            "? Fields: required TestRail field 'custom_ticket' has no TestFiesta field "
            "'Ticket' yet: migrate creates it"
        )
        # a warning does not stop a save (only errors ask first)
        assert not editor(app).problems[0].blocks_save

        # the palette offers the editor's keys: w, x, 1-5, enter and tab too
        commands = list(app.get_system_commands(app.screen))
        assert [(c.title, c.help) for c in commands][9:] == [
            ("Mapping: Next part", "Next part (tab)"),
            ("Mapping: Previous part", "Previous part (shift+tab)"),
            (
                "Mapping: Close",
                "Back to the projects (asks first with unsaved changes) (esc)",
            ),
            (
                "Mapping: Save",
                "Write the changed rows into the config file; comments and order stay (w)",
            ),
            ("Mapping: Undo row", "Put the row under the cursor back as the config has it (x)"),
            ("Mapping: Fields tab", "Fields tab (1)"),
            ("Mapping: Statuses tab", "Statuses tab (2)"),
            ("Mapping: Priorities tab", "Priorities tab (3)"),
            ("Mapping: Case types tab", "Case types tab (4)"),
            ("Mapping: Users tab", "Users tab (5)"),
            (
                "Mapping: Change",
                "Choose the TestFiesta counterpart of the row under the cursor (⏎)",
            ),
            ("Theme: dark", "Switch the colours to railfiesta-dark"),
            ("Theme: high-contrast", "Switch the colours to railfiesta-high-contrast"),
            ("Theme: light", "Switch the colours to railfiesta-light"),
        ]
        titles = [c.title for c in commands]
        assert "Filter both trees" not in titles  # the main screen's: not offered here
        assert not [t for t in titles if "pair" in t.casefold()]
        # a tab command does what its key does
        app.call_later(commands[titles.index("Mapping: Statuses tab")].callback)
        await wait_for(pilot, lambda: editor(app).vocabulary == "status")


async def test_the_mapping_editor_saves_off_the_ui_thread_and_shows_a_failed_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = sample_service(tmp_path, monkeypatch)
    before = service.config.path.read_bytes()
    app = RailfiestaApp(service)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await loaded(pilot, app)
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, MappingEditor))
        await wait_for(pilot, lambda: editor(app).loaded)
        await pilot.press("2", "down", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, CounterpartPicker))
        await pilot.press("end", "enter")  # Blocked -> Skipped
        await wait_for(pilot, lambda: isinstance(app.screen, MappingEditor))
        assert editor(app).rows[1] == ("*", "Blocked", "Skipped", "")

        # the folder refuses the new file (root ignores chmod: the OS call fails instead)
        def refused(*args: object, **kwargs: object) -> tuple[int, str]:
            raise PermissionError(13, "Permission denied", str(service.config.path.parent))

        monkeypatch.setattr(config_edit, "tempfile", SimpleNamespace(mkstemp=refused))
        app.clear_notifications()
        await pilot.press("w")
        await wait_for(pilot, lambda: not editor(app).saving and bool(app._notifications))
        [note] = list(app._notifications)
        assert (note.title, note.severity) == ("Not saved", "error")
        folder = service.config.path.parent
        assert note.message == (
            f"{service.config.path}: cannot write the config: Permission denied (make {folder} "
            "writable for you and check the disk is not full (the file is replaced through a "
            "temporary file in the same folder); it was left as it was)"
        )
        # the editor keeps the change, the file is as it was
        assert editor(app).rows[1] == ("*", "Blocked", "Skipped", "")
        assert problems_text(app).startswith("1 unsaved change")
        assert service.config.path.read_bytes() == before

        # writable again: w saves, in a worker thread, not on the console's
        monkeypatch.setattr(config_edit, "tempfile", tempfile)
        threads: list[str] = []
        real = service.save_mapping

        def counted(*args: Any) -> Any:
            threads.append(threading.current_thread().name)
            return real(*args)

        monkeypatch.setattr(service, "save_mapping", counted)
        app.clear_notifications()
        await pilot.press("w")
        await wait_for(pilot, lambda: not editor(app).changes)
        assert len(threads) == 1 and threads[0] != threading.main_thread().name
        assert editor(app).rows[1] == ("", "Blocked", "Skipped", "")
        assert problems_text(app).startswith("No unsaved changes")
        assert [n.message for n in app._notifications] == ["Saved 1 change to railfiesta.toml"]
    assert load_config(service.config.path).mapping.status["Blocked"] == "Skipped"


async def test_quitting_the_mapping_editor_with_an_unsaved_change_asks_first(
    secrets: None, make_service: Callable[..., Service]
) -> None:
    service = make_service()
    config_before = service.config.path.read_bytes()
    app = RailfiestaApp(service)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app)
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, MappingEditor))
        await wait_for(pilot, lambda: editor(app).loaded)
        # no change yet: nothing to ask (checked without quitting)
        assert app.quit_question() is None
        # Passed -> Skipped: one unsaved change
        await pilot.press("2")
        assert editor(app).rows[0][1] == "Passed"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, CounterpartPicker))
        options = app.screen.query_one(OptionList)
        picked = [str(options.get_option_at_index(i).id) for i in range(options.option_count)]
        options.highlighted = picked.index("Skipped")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, MappingEditor))
        assert editor(app).rows[0][:3] == ("*", "Passed", "Skipped")
        assert problems_text(app).splitlines()[0].startswith("1 unsaved change · ")

        # q asks; no stays in the editor with the change kept
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, Confirm))
        assert app.screen.question == "Quit and discard 1 unsaved change?"
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, MappingEditor))
        assert app.is_running
        assert editor(app).rows[0][:3] == ("*", "Passed", "Skipped")
        assert editor(app).unsaved == 1

        # ctrl+q (Textual's quit key) asks the same; q over the question changes nothing
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: isinstance(app.screen, Confirm))
        assert app.screen.question == "Quit and discard 1 unsaved change?"
        await pilot.press("q")
        assert app.is_running and len(app.screen_stack) == 3
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, MappingEditor))

        # yes quits, and the config file is as it was
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, Confirm))
        await pilot.press("y")
    assert not app.is_running
    assert app.return_code == 0
    assert service.config.path.read_bytes() == config_before
