"""A side whose server refuses our login (a wrong API key or token: HTTP 401) is shown as
refused, not as down: its header row, the sync line, one activity-log line per side with the
whole error and the fix `railfiesta check` gives (``Service.explain``), and a toast naming
the reason when S or M is pressed. Over the emulators in-process (tests/tui/conftest.py),
started with a wrong key."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from core.service import Service
from tests.helpers import emulate
from tests.tui.conftest import TESTFIESTA_TOKEN, TESTRAIL_KEY
from tests.tui.pilot import loaded, log_text, screen_text, wait_for
from tui.app import RailfiestaApp
from tui.widgets.connection_bar import ConnectionBar

WRONG_KEY = "a-wrong-testrail-key"
#: the log's line for TestRail, as `railfiesta check` says it (message, then the fix)
TESTRAIL_LINE = (
    "ERR TestRail: testrail get_projects failed with HTTP 401: Authentication failed: invalid "
    "or missing user/password or session cookie. (check [testrail] user 'qa@example.com' and "
    "the API key in $RF_TEST_TESTRAIL_KEY (TestRail: My Settings > API Keys))"
)
TESTFIESTA_LINE = (
    "ERR TestFiesta: testfiesta GET /projects failed with HTTP 401: invalid API key (check the "
    "API key in $RF_TEST_TESTFIESTA_TOKEN (it starts with testfiesta_) and that it belongs to "
    "organization 'acme')"
)


@pytest.fixture
def wrong_key(secrets: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment holds a TestRail API key the emulator does not know."""
    monkeypatch.setenv("RF_TEST_TESTRAIL_KEY", WRONG_KEY)


def row_text(app: RailfiestaApp, name: str) -> str:
    """The screen line of header row ``name`` ("TestRail"), spaces collapsed."""
    line = next(line for line in screen_text(app).splitlines() if line.startswith(f" {name} "))
    return " ".join(line.split())


def log_lines(app: RailfiestaApp) -> list[str]:
    """The log's lines without the time, continuations joined (the log wraps to its width)."""
    lines: list[str] = []
    for line in log_text(app).splitlines():
        if line.startswith(" "):
            lines[-1] += " " + line.strip()
        else:
            lines.append(line.split(" ", 1)[1])
    return lines


def notifications(app: RailfiestaApp) -> list[str]:
    return [notification.message for notification in app._notifications]


async def test_a_refused_testrail_key_is_refused_not_down(
    wrong_key: None, make_service: Callable[..., Service]
) -> None:
    app = RailfiestaApp(make_service())
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app)
        bar = app.main_screen.query_one(ConnectionBar)
        await wait_for(pilot, lambda: bar.row("testfiesta").state == "connected")
        assert bar.row("testrail").state == "refused"
        assert bar.row("testrail").state_text == "✗ key refused"
        assert bar.row("testrail").target_text == "http://testrail.test as qa@example.com"
        assert row_text(app, "TestRail").startswith(
            "TestRail http://testrail.test as qa@example.com ✗ key refused "
        )
        assert bar.sync_text == (
            "○ off · 0 open conflicts · S and M need both servers (TestRail refused the API key)"
        )
        await pilot.pause(0.3)  # the log flushes every 0.15 s
        assert [line for line in log_lines(app) if line.startswith("ERR")] == [TESTRAIL_LINE]
        await pilot.press("S")
        await pilot.press("M")
        await pilot.pause()
        assert notifications(app) == [
            "S needs both servers (TestRail refused the API key)",
            "M needs both servers (TestRail refused the API key)",
        ]
        assert app.sync.mode == "none" and app._migration is None
        # a reload is refused again: still one line
        app.main_screen.reload_panes()
        await pilot.pause(0.5)
        assert [line for line in log_lines(app) if line.startswith("ERR")] == [TESTRAIL_LINE]
        assert WRONG_KEY not in log_text(app) + screen_text(app)


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
async def test_both_keys_refused_show_at_80_columns_with_the_whole_reason_in_the_log(
    wrong_key: None, make_service: Callable[..., Service], size: tuple[int, int]
) -> None:
    # the TestFiesta emulator accepts another token than the one the environment holds
    app = RailfiestaApp(make_service(testfiesta_token="testfiesta_another-token"))
    async with app.run_test(size=size) as pilot:
        await loaded(pilot, app)
        bar = app.main_screen.query_one(ConnectionBar)
        await wait_for(pilot, lambda: bar.row("testfiesta").state == "refused")
        await pilot.pause(0.3)  # laid out; the log flushes every 0.15 s
        for name in ("TestRail", "TestFiesta"):
            assert "✗ key refused" in row_text(app, name)  # in view, not cut
        if size[0] >= 100:
            assert bar.sync_text == (
                "○ off · 0 open conflicts · S and M need both servers "
                "(TestRail and TestFiesta refused the API key)"
            )
        else:  # fewer words below 100 columns (the end is cut at 80: both rows say it)
            assert bar.sync_text == (
                "○ off · 0 conflicts · S, M need both: TestRail and TestFiesta refused the API key"
            )
        errors = [line for line in log_lines(app) if line.startswith("ERR")]
        assert sorted(errors) == [TESTFIESTA_LINE, TESTRAIL_LINE]  # the panes load at once
        await pilot.press("S")
        await pilot.pause()
        assert notifications(app) == [
            "S needs both servers (TestRail and TestFiesta refused the API key)"
        ]
        shown = log_text(app) + screen_text(app)
        assert WRONG_KEY not in shown and TESTFIESTA_TOKEN not in shown
        assert TESTRAIL_KEY not in shown


async def test_a_testrail_with_its_api_switched_off_denies_access(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    env = emulate(tmp_path, monkeypatch, cases=3)
    env.testrail.state.options.api_enabled = False  # every call: 403 "The API is disabled"
    app = RailfiestaApp(env.service())
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        bar = app.main_screen.query_one(ConnectionBar)
        await wait_for(pilot, lambda: bar.row("testrail").state == "refused")
        await pilot.pause(0.3)
        assert "✗ access denied" in row_text(app, "TestRail")
        # at 80 columns in fewer words, and whole on the screen
        assert bar.sync_text == "○ off · 0 conflicts · S, M need both: TestRail denied API access"
        assert f" Sync       {bar.sync_text} " in screen_text(app)
        errors = [line for line in log_lines(app) if line.startswith("ERR")]
        assert len(errors) == 1
        assert errors[0].startswith("ERR TestRail: testrail get_projects failed with HTTP 403: ")
        assert errors[0].endswith(
            "(an administrator enables it under Administration > Site Settings > API)"
        )
        await pilot.press("M")
        await pilot.pause()
        assert notifications(app) == ["M needs both servers (TestRail denied API access)"]
