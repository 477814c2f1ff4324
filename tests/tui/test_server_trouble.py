"""A server that is down, or that refuses our key in the middle of a sync, is shown where the
user looks: its header row, and one activity-log line with the whole error and its fix.

The down server is real: a TestFiesta URL on a loopback port nothing listens on (the client
says so at once, no retries). The key revoked mid-way is the TestFiesta emulator answering
401 once a switch is set (what the real service does when an API key is deleted)."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from core.config import load_config
from core.service import Service
from emulators.testfiesta import app as testfiesta_emulator
from emulators.testrail import app as testrail_emulator
from emulators.testrail.store import TestRailState
from tests.tui.conftest import (
    CONFIG,
    PAIR,
    PROJECT,
    TESTFIESTA_HANDLE,
    TESTFIESTA_TOKEN,
    TESTRAIL_KEY,
    TESTRAIL_USER,
)
from tests.tui.pilot import loaded, wait_for
from tests.tui.test_refused_login import log_lines, row_text
from tui.app import RailfiestaApp
from tui.widgets.connection_bar import ConnectionBar


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def service_for(
    tmp_path: Path,
    testrail_state: TestRailState,
    *,
    testfiesta_url: str = "http://testfiesta.test",
    testfiesta: httpx.AsyncBaseTransport | None = None,
) -> Service:
    """A Service over the TestRail emulator in-process and TestFiesta at ``testfiesta_url``
    (over ``testfiesta`` when given, else the network)."""
    path = tmp_path / "railfiesta.toml"
    text = CONFIG.format(user=TESTRAIL_USER, handle=TESTFIESTA_HANDLE)
    text = text.replace("http://testfiesta.test", testfiesta_url)
    path.write_text(text + PAIR.format(testrail=PROJECT, testfiesta="WEB"), encoding="utf-8")
    testrail = testrail_emulator.create_app(
        testrail_state, user=TESTRAIL_USER, api_key=TESTRAIL_KEY
    )
    return Service(
        load_config(path),
        state_dir=tmp_path / "state",
        testrail_transport=httpx.ASGITransport(app=testrail),
        testfiesta_transport=testfiesta,
    )


class Revocable(httpx.AsyncBaseTransport):
    """The TestFiesta emulator, answering 401 "invalid API key" (its own answer to a key it
    does not know) to every request once :attr:`revoked` is set."""

    def __init__(self) -> None:
        app = testfiesta_emulator.create_app(handle=TESTFIESTA_HANDLE, token=TESTFIESTA_TOKEN)
        self.inner = httpx.ASGITransport(app=app)
        self.revoked = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.revoked:
            request.headers["Authorization"] = "Bearer testfiesta_revoked"
        return await self.inner.handle_async_request(request)


async def test_a_testfiesta_that_is_down_is_in_the_header_and_once_in_the_log(
    secrets: None, tmp_path: Path, testrail_state: TestRailState
) -> None:
    port = closed_port()
    app = RailfiestaApp(
        service_for(tmp_path, testrail_state, testfiesta_url=f"http://127.0.0.1:{port}")
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app)
        bar = app.main_screen.query_one(ConnectionBar)
        await wait_for(pilot, lambda: bar.row("testfiesta").state == "error")
        await pilot.pause(0.3)  # the log flushes every 0.15 s
        expected = (
            f"ERR TestFiesta: cannot reach testfiesta at http://127.0.0.1:{port}: connection "
            f"refused (nothing listens on port {port} of this machine) (start the server on "
            f"port {port}, or fix the port in [testfiesta] url)"
        )
        assert [line for line in log_lines(app) if line.startswith("ERR")] == [expected]
        assert bar.row("testrail").state == "connected"
        assert bar.sync_text.endswith("S and M need both servers (TestFiesta down)")
        # a reload fails the same way: still one line
        app.main_screen.reload_panes()
        await pilot.pause(0.5)
        assert [line for line in log_lines(app) if line.startswith("ERR")] == [expected]


async def test_a_key_revoked_during_a_sync_cycle_shows_as_refused_in_the_header(
    secrets: None, tmp_path: Path, testrail_state: TestRailState
) -> None:
    testfiesta = Revocable()
    app = RailfiestaApp(service_for(tmp_path, testrail_state, testfiesta=testfiesta))
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app)
        await pilot.press("M")
        await wait_for(pilot, lambda: app._migration is not None and not app.migrating)
        await loaded(pilot, app)
        bar = app.main_screen.query_one(ConnectionBar)
        assert bar.row("testfiesta").state == "connected"
        testfiesta.revoked = True
        await pilot.press("S")  # one cycle: its first TestFiesta request is refused
        await wait_for(pilot, lambda: bar.row("testfiesta").state == "refused")
        await wait_for(pilot, lambda: app.sync.mode == "none")
        await pilot.pause(0.3)
        assert "✗ key refused" in row_text(app, "TestFiesta")
        assert bar.row("testrail").state == "connected"
        errors = [line for line in log_lines(app) if line.startswith("ERR")]
        assert len(errors) == 1, errors  # the cycle's error, not again as the header's
        assert errors[0].startswith("ERR sync failed: testfiesta ")
        assert "failed with HTTP 401: invalid API key" in errors[0]
        assert bar.sync_text.endswith("S and M need both servers (TestFiesta refused the API key)")
        # the key is back: the next cycle's success reloads the panes, which say so
        testfiesta.revoked = False
        app.main_screen.reload_panes()
        await wait_for(pilot, lambda: bar.row("testfiesta").state == "connected")


@pytest.fixture
def attached(make_service: Callable[..., Service]) -> RailfiestaApp:
    """A console whose sync control follows another process's watch (pid 4242)."""
    app = RailfiestaApp(make_service())
    app.sync.mode = "attached"
    app.sync.holder = {"pid": 4242, "host": "ci", "command": "railfiesta sync --watch"}
    return app


def test_m_while_attached_names_the_process_it_waits_for(attached: RailfiestaApp) -> None:
    assert attached.unavailable("migrate") == "M waits while sync --watch (pid 4242) runs"
    assert attached.sync.holder_label == "sync --watch (pid 4242)"
