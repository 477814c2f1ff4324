"""The progress per entity kind under the panes, with an ETA each (``KindProgress``): the
console's own run, fed step by step through the service's events, and a ``sync --watch``
the console is attached to, from the document that watch publishes in the state store.

The ETAs run on a clock the tests set (``KindProgress.clock``), so every text is exact:
``total - done`` items at the pace since the kind's first step.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from core.events import Progress
from core.service import Service
from tests.tui.conftest import PROJECT
from tests.tui.pilot import wait_for
from tui.app import RailfiestaApp

REPO_ROOT = Path(__file__).resolve().parents[2]
#: Some UNIX second (2027-01-15): the clocks of these tests start there.
START = 1_800_000_000.0


class Clock:
    """A clock that stands still until a test moves it."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_the_console_s_own_run_shows_each_kind_with_the_time_left(
    make_service: Callable[..., Service], secrets: None
) -> None:
    app = RailfiestaApp(make_service())
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_for(pilot, lambda: app.service_open, timeout=10)
        kinds = app.main_screen.kinds
        clock = Clock(START)
        kinds.clock = clock
        assert kinds.text == "" and not kinds.display
        emit = app.service.emit  # what a migration's or sync's steps go through

        emit(Progress(PROJECT, "project", 1, 1))  # a setup stage: not a kind
        emit(Progress(PROJECT, "folders", 0, 3))
        emit(Progress(PROJECT, "cases", 0, 400))
        await wait_for(pilot, lambda: kinds.text == "folders 0/3   cases 0/400", timeout=5)
        assert kinds.display

        clock.now = START + 12
        emit(Progress(PROJECT, "folders", 3, 3))
        emit(Progress(PROJECT, "cases", 100, 400))  # 100 in 12 s: 300 more take 36 s
        await wait_for(
            pilot, lambda: kinds.text == "cases 100/400 · 0:36 left   folders 3/3 ✓", timeout=5
        )

        clock.now = START + 20  # nothing new for 8 s: the tick slows the pace, 1:00 left
        await wait_for(
            pilot, lambda: kinds.text == "cases 100/400 · 1:00 left   folders 3/3 ✓", timeout=3
        )

        clock.now = START + 1000
        emit(Progress(PROJECT, "cases", 250, 400))  # 250 in 1000 s: 150 more take 600 s
        await wait_for(
            pilot, lambda: kinds.text == "cases 250/400 · 10:00 left   folders 3/3 ✓", timeout=5
        )
        emit(Progress(PROJECT, "cases", 400, 400))
        await wait_for(pilot, lambda: kinds.text == "folders 3/3 ✓   cases 400/400 ✓", timeout=5)


#: A stand-in for ``railfiesta sync --watch`` in the middle of a cycle: it holds the state
#: directory's sync lock and publishes through core's own :class:`core.monitor.WatchMonitor`,
#: on a clock of its own, its cases 30 of 120 one minute after the kind began; then it waits
#: (holding the lock) until its standard input closes.
FAKE_WATCH = """
import sys
from pathlib import Path

from core.events import Progress
from core.lock import StateLock
from core.monitor import SYNCING, WatchMonitor
from core.store import StateStore

state_dir, project, start = Path(sys.argv[1]), sys.argv[2], float(sys.argv[3])
with StateLock(state_dir, command="railfiesta sync --watch --interval 1h"):
    now = [start]
    monitor = WatchMonitor(StateStore(state_dir), interval=3600, clock=lambda: now[0])
    monitor.state(SYNCING)
    for stage, done, total in (
        ("project", 0, 1), ("project", 1, 1), ("reading", 0, 40), ("reading", 40, 40),
        ("cases", 0, 120),
    ):
        monitor(Progress(project, stage, done, total))
    now[0] = start + 60
    monitor(Progress(project, "cases", 30, 120))
    monitor.flush()
    print("published", flush=True)
    sys.stdin.read()
"""


async def test_an_attached_console_shows_the_watch_s_kind_in_progress_with_the_time_left(
    make_service: Callable[..., Service], secrets: None
) -> None:
    service = make_service()
    watch = subprocess.Popen(
        [sys.executable, "-c", FAKE_WATCH, str(service.state_dir), PROJECT, str(START)],
        cwd=REPO_ROOT,
        env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert watch.stdout is not None
        assert watch.stdout.readline() == "published\n"
        app = RailfiestaApp(service)
        async with app.run_test(size=(160, 40)) as pilot:
            kinds = app.main_screen.kinds
            clock = Clock(START + 60)  # the console's clock: as the watch's when it published
            kinds.clock = clock
            await wait_for(pilot, lambda: app.sync.mode == "attached", timeout=10)
            # the setup stage is left out; 30 cases in 60 s: 90 more take 3:00
            await wait_for(
                pilot, lambda: kinds.text == "cases 30/120 · 3:00 left   reading 40/40 ✓", 5
            )
            assert kinds.display
            header = app.main_screen.header.sync_text
            assert header.startswith("○ off · syncing… · 0 open conflicts · "), header
            assert f" · attached to sync --watch (pid {watch.pid})" in header
            assert app.sync.running is False

            clock.now = START + 80  # no news from the watch: at its pace so far, 4:00 left
            await wait_for(
                pilot, lambda: kinds.text == "cases 30/120 · 4:00 left   reading 40/40 ✓", 3
            )
    finally:
        if watch.stdin is not None:
            watch.stdin.close()
        assert watch.wait(10) == 0
