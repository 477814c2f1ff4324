"""Attach: with `railfiesta sync --watch` running in a child process over real TCP, the console
starts no engine; it shows that sync's state and log from the state store, its `S` makes the
child sync now, and its `s` pauses the child (the config says enabled = false, the child says
it is off and writes nothing more). A conflict chosen in the attached console (`c`, `>`) is
applied by the child, and a console opened again while the child runs (as after an SSH drop)
shows where it is."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from core.config import load_config
from core.report import PENDING
from core.service import Service
from emulators.server import RunningServer, start_in_thread
from emulators.testrail import ops
from tests.helpers import TESTFIESTA_URL, TESTRAIL_URL, TOKEN, Emulated, emulate
from tests.tui.pilot import log_text, wait_for
from tui.app import RailfiestaApp
from tui.bridge import format_line
from tui.screens.conflicts import ConflictsScreen

REPO_ROOT = Path(__file__).resolve().parents[2]
PROJECT = "Acme Web Shop"


class Child:
    """``railfiesta sync --watch`` in a process of its own; its stdout lines as they come."""

    def __init__(self, config: Path, state: Path) -> None:
        env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "tui.cli", "--config", str(config), "--state", str(state)),
                *("sync", "--watch", "--interval", "1h"),
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def said(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    def wait_for(self, text: str, timeout: float = 60) -> None:
        """Block until a line says ``text`` (its first cycle takes a few seconds to start)."""
        deadline = time.monotonic() + timeout
        while not self.said(text):
            assert self.process.poll() is None, "\n".join(self.lines)
            assert time.monotonic() < deadline, "\n".join(self.lines)
            time.sleep(0.05)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(5)


@dataclass
class Served(Emulated):
    """:class:`Emulated` with both emulators' TCP addresses."""

    testrail_url: str = ""
    testfiesta_url: str = ""


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    """Both emulators on TCP ports of 127.0.0.1, the config pointing there, migrated."""
    made = emulate(tmp_path, monkeypatch, cases=12)
    servers: list[RunningServer] = [
        start_in_thread(made.testrail),
        start_in_thread(made.testfiesta),
    ]
    env = Served(**vars(made), testrail_url=servers[0].url, testfiesta_url=servers[1].url)
    try:
        text = env.config_path.read_text(encoding="utf-8")
        text = text.replace(TESTRAIL_URL, servers[0].url).replace(TESTFIESTA_URL, servers[1].url)
        env.config_path.write_text(text + "\n[sync]\nenabled = true\n", encoding="utf-8")
        import asyncio

        async def migrate() -> None:
            async with Service(load_config(env.config_path), state_dir=env.state_dir) as service:
                [report] = await service.migrate()
                assert report.complete

        asyncio.run(migrate())
        yield env
    finally:
        for server in servers:
            server.stop()


def tf_title(env: Emulated, case_id: int) -> str:
    state = env.testfiesta.state.testfiesta
    row = next(
        r
        for r in state.db.cases.values()
        if str(r.get("externalId", "")).endswith(f"/case/{case_id}") and not r["deletedAt"]
    )
    return str(row["name"])


def tf_writes(env: Emulated) -> list[tuple[int, str]]:
    """Every TestFiesta case as (uid, update time): any write changes it."""
    state = env.testfiesta.state.testfiesta
    return sorted((int(r["uid"]), str(r["updatedAt"])) for r in state.db.cases.values())


async def test_the_console_attaches_to_a_running_watch_and_its_keys_reach_it(
    served: Emulated, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    child = Child(served.config_path, served.state_dir)
    try:
        deadline = time.monotonic() + 60
        while not child.said("0 conflicts, 0 held, 0 failed"):  # its first cycle ended
            assert child.process.poll() is None, "\n".join(child.lines)
            assert time.monotonic() < deadline, "\n".join(child.lines)
            time.sleep(0.05)
        service = Service(load_config(served.config_path), state_dir=served.state_dir)
        app = RailfiestaApp(service)
        async with app.run_test(size=(160, 40)) as pilot:
            bar = app.main_screen.header
            pid = child.process.pid
            await wait_for(pilot, lambda: app.sync.mode == "attached", timeout=15)
            await wait_for(pilot, lambda: "next poll in " in bar.sync_text, timeout=5)
            text = bar.sync_text
            assert text.startswith("● on · next poll in 59:") or text.startswith(
                "● on · next poll in 1:00:00"
            ), text
            assert f"attached to sync --watch (pid {pid})" in text
            assert " · last cycle " in text
            log = log_text(app)
            assert f"attached to sync --watch (pid {pid}, running since " in log
            assert f"{PROJECT}: synced (nothing to do); 0 conflicts open" in log  # its line
            assert app.sync.running is False  # no second engine here

            # S: the child syncs now (its interval is an hour)
            with served.testrail_state.lock:
                case_id = min(served.testrail_state.cases)
                ops.update_case(
                    served.testrail_state, case_id, {"title": "Edited, synced now"}, None
                )
            await pilot.press("S")
            await wait_for(pilot, lambda: tf_title(served, case_id) == "Edited, synced now", 15)
            await wait_for(pilot, lambda: child.said("update testfiesta 1 case"), timeout=5)
            await wait_for(
                pilot, lambda: "synced (update testfiesta 1 case)" in log_text(app), timeout=5
            )
            assert f"sync now: asked sync --watch (pid {pid})" in log_text(app)

            # s: off in the config file; the child pauses within a second or two
            await pilot.press("s")
            await wait_for(pilot, lambda: bar.sync_text.startswith("○ off"), timeout=1)
            switched = time.monotonic()
            await wait_for(pilot, lambda: child.said("sync is off ([sync] enabled = false"), 5)
            assert time.monotonic() - switched < 2.5
            assert load_config(served.config_path).sync.enabled is False
            await wait_for(pilot, lambda: "paused" in bar.sync_text, timeout=5)
            # ... and writes nothing more
            writes = tf_writes(served)
            with served.testrail_state.lock:
                ops.update_case(served.testrail_state, case_id, {"title": "While paused"}, None)
            await pilot.pause(1.5)
            assert tf_title(served, case_id) == "Edited, synced now"
            assert tf_writes(served) == writes
            assert child.process.poll() is None  # paused, not stopped
    finally:
        code = child.stop()
    assert code == 0, "\n".join(child.lines)
    assert child.lines[-1].endswith(" stopped")


def tf_row(env: Emulated, case_id: int) -> dict[str, object]:
    """The emulator's own row of TestRail case ``case_id``'s TestFiesta copy."""
    state = env.testfiesta.state.testfiesta
    return next(
        r
        for r in state.db.cases.values()
        if str(r.get("externalId", "")).endswith(f"/case/{case_id}") and not r["deletedAt"]
    )


def tf_api_title(env: Served, case_id: int) -> str:
    """The title TestFiesta's API answers for TestRail case ``case_id``'s copy (over TCP)."""
    uid = tf_row(env, case_id)["uid"]
    answer = httpx.get(
        f"{env.testfiesta_url}/v1/acme/projects/ACME/cases/{uid}",
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5,
    )
    answer.raise_for_status()
    return str(answer.json()["name"])


def make_conflict(env: Emulated) -> tuple[int, str]:
    """The title of the first case edited on both sides since the migration (nothing is sent
    to the emulators meanwhile): the next cycle finds a conflict. (Its case id, the base.)"""
    with env.testrail_state.lock:
        case_id = min(env.testrail_state.cases)
        base = str(env.testrail_state.cases[case_id]["title"])
        ops.update_case(env.testrail_state, case_id, {"title": "TestRail's new title"}, None)
    env.testfiesta.state.testfiesta.update(tf_row(env, case_id), {"name": "TestFiesta's new title"})
    return case_id, base


async def test_a_conflict_chosen_in_the_attached_console_is_applied_by_the_watch(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    case_id, base = make_conflict(served)
    child = Child(served.config_path, served.state_dir)
    try:
        child.wait_for("nothing to write; 1 conflict, 0 held, 0 failed")
        app = RailfiestaApp(Service(load_config(served.config_path), state_dir=served.state_dir))
        async with app.run_test(size=(160, 40)) as pilot:
            bar = app.main_screen.header
            await wait_for(pilot, lambda: app.sync.mode == "attached", timeout=15)
            await wait_for(pilot, lambda: " · 1 open conflict · " in bar.sync_text, timeout=5)
            await pilot.press("c")
            await wait_for(
                pilot,
                lambda: isinstance(app.screen, ConflictsScreen) and app.screen.loaded,
                timeout=5,
            )
            screen = app.screen
            assert isinstance(screen, ConflictsScreen)
            assert [(v.label, v.title, v.chosen) for v in screen.views] == [("title", base, False)]
            assert screen.title_text == "Conflicts: 1 open"

            await pilot.press("greater_than_sign")
            # the running watch applies the choice (its interval is an hour: it was asked)
            await wait_for(
                pilot, lambda: tf_api_title(served, case_id) == "TestRail's new title", 15
            )
            await wait_for(pilot, lambda: screen.views == [], timeout=5)
            assert screen.title_text == "Conflicts: none open"
            await wait_for(pilot, lambda: " · 0 open conflicts · " in bar.sync_text, timeout=5)
            assert tf_row(served, case_id)["name"] == "TestRail's new title"
            with served.testrail_state.lock:
                assert served.testrail_state.cases[case_id]["title"] == "TestRail's new title"
            await wait_for(pilot, lambda: child.said("update testfiesta 1 case"), timeout=5)
            pid = child.process.pid
            assert (
                f"1 conflict choice waiting: asked sync --watch (pid {pid}) to apply them now"
                in log_text(app)
            )
            assert child.process.poll() is None
    finally:
        code = child.stop()
    assert code == 0, "\n".join(child.lines)


async def test_a_console_reopened_while_the_watch_runs_shows_where_it_is(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As after an SSH drop: the first console is gone, the watch went on; a second console
    over the same state directory attaches and shows the watch's log so far, its progress,
    its state and the open conflicts."""
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    make_conflict(served)
    child = Child(served.config_path, served.state_dir)
    try:
        child.wait_for("nothing to write; 1 conflict, 0 held, 0 failed")
        pid = child.process.pid
        first = RailfiestaApp(Service(load_config(served.config_path), state_dir=served.state_dir))
        async with first.run_test(size=(160, 40)) as pilot:
            await wait_for(pilot, lambda: first.sync.mode == "attached", timeout=15)
            # a second cycle (S) that writes, while this console watches
            with served.testrail_state.lock:
                other = max(served.testrail_state.cases)
                ops.update_case(served.testrail_state, other, {"title": "Edited by S"}, None)
            await pilot.press("S")
            await wait_for(
                pilot, lambda: "synced (update testfiesta 1 case)" in log_text(first), 15
            )
            await wait_for(pilot, lambda: "next poll in " in first.main_screen.header.sync_text)
            kinds = first.main_screen.kinds.text
        # the first console is gone; the watch goes on
        assert child.process.poll() is None
        assert not child.said(" stopped")

        second = RailfiestaApp(Service(load_config(served.config_path), state_dir=served.state_dir))
        async with second.run_test(size=(160, 40)) as pilot:
            screen = second.main_screen
            await wait_for(pilot, lambda: second.sync.mode == "attached", timeout=15)
            await wait_for(pilot, lambda: "next poll in " in screen.header.sync_text, timeout=5)
            assert second.sync.running is False  # no second engine
            watch, holder = second.sync.snapshot["watch"], second.sync.snapshot["holder"]
            assert watch["pid"] == holder["pid"] == pid and watch["state"] == "waiting"
            # where it is: on, its next poll, the open conflict, who, its last cycle
            last = max(float(c["at"]) for c in watch["cycles"].values())
            text = screen.header.sync_text
            assert re.match(r"● on · next poll in (59:\d\d|1:00:00) · ", text), text
            assert (
                f" · 1 open conflict · attached to sync --watch (pid {pid}) · last cycle "
                + time.strftime("%H:%M:%S", time.localtime(last))
            ) in text
            # its log so far: every line it published, in order, after the attach line
            ring = second.sync.snapshot["log"]
            assert [r["message"] for r in ring] == [
                "sync is on",
                "syncing TestRail project 'Acme Web Shop'",
                "Acme Web Shop: synced (nothing to do); 1 conflict open",
                "sync now: asked for by a console",
                "Acme Web Shop: synced (update testfiesta 1 case); 1 conflict open",
            ]
            await wait_for(pilot, lambda: len(log_text(second).splitlines()) >= 1 + len(ring))
            lines = log_text(second).splitlines()
            assert lines[0].endswith(
                f"attached to sync --watch (pid {pid}, running since "
                + time.strftime("%H:%M:%S", time.localtime(float(holder["started"])))
                + "): showing its progress; s and S reach it"
            ), lines[0]
            assert lines[1 : 1 + len(ring)] == [
                format_line(r["level"], r["message"], r["at"]) for r in ring
            ]
            # its progress per kind, as the first console showed it
            await wait_for(pilot, lambda: screen.kinds.text == kinds, timeout=5)
            assert re.fullmatch(r"reading (\d+)/\1 ✓   cases 1/1 ✓", kinds), kinds
            assert screen.kinds.display
    finally:
        code = child.stop()
    assert code == PENDING, "\n".join(child.lines)  # its last cycle left the conflict open
