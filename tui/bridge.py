"""Turns the core's event stream into console messages and log lines.

The core calls one listener for every event (``Service.subscribe``). :class:`EventBridge` is that
listener: a :class:`core.events.Progress` becomes a :class:`tui.messages.MigrationProgress`
posted to the app (the message coalesces in the queue), and a log line when its stage completes
(the bridge sees every event, so no stage goes unrecorded however fast it was);
:class:`core.http.RateLimitWait` and :class:`core.http.Retrying` become
:class:`tui.messages.ServerWaiting` / :class:`tui.messages.ServerRetrying` plus a log line;
:class:`core.events.Activity` becomes a log line; the sync events
(:class:`core.report.SyncStarted`, :class:`core.report.SyncFinished`,
:class:`core.report.WatchPaused`) become the ``Sync*`` / ``WatchPausedChanged`` messages.
Lines go to a bounded buffer that the activity log drains on a timer. Every path is safe to
call from a thread: ``post_message`` is thread-safe and so is ``deque.append``.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from textual.message import Message

from core.events import Activity, Progress
from core.http import RateLimitWait, Retrying
from core.report import SyncFinished, SyncReport, SyncStarted, WatchPaused
from tui.messages import (
    MigrationProgress,
    ServerRetrying,
    ServerWaiting,
    SyncCycleFinished,
    SyncCycleStarted,
    WatchPausedChanged,
)

_LEVEL_TAGS = {"info": "   ", "warning": "WRN", "error": "ERR"}
#: How each side is named on screen.
SIDE_NAMES = {"testrail": "TestRail", "testfiesta": "TestFiesta"}


def format_line(level: str, message: str, at: float | None = None) -> str:
    """One activity-log line: ``HH:MM:SS TAG message`` with the message on one line."""
    stamp = time.strftime("%H:%M:%S", time.localtime(time.time() if at is None else at))
    tag = _LEVEL_TAGS.get(level, level[:3].upper())
    return f"{stamp} {tag} {' '.join(message.split())}"


class EventBridge:
    """The listener handed to ``Service.subscribe``.

    ``post`` delivers a Textual message (normally ``App.post_message``). ``max_buffered`` caps
    the lines kept between two drains; older ones are dropped first, and the log says how many.
    ``clock`` (seconds, monotonic) times the stages.
    """

    def __init__(
        self,
        post: Callable[[Message], object],
        *,
        max_buffered: int = 5000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._post = post
        self._clock = clock
        self._lines: deque[str] = deque(maxlen=max_buffered)
        self._dropped = 0
        #: (project, stage) -> (monotonic time of its first event, its latest event), for the
        #: stages that have not finished
        self._stages: dict[tuple[str, str], tuple[float, Progress]] = {}
        self._finished: set[tuple[str, str]] = set()

    def __call__(self, event: object) -> None:
        """Route one core event; unknown event types are ignored."""
        if isinstance(event, Progress):
            self._stage_news(event)
            self._post(MigrationProgress(event.project, event.stage, event.done, event.total))
        elif isinstance(event, Activity):
            self.log(event.level, event.message, at=event.at)
        elif isinstance(event, RateLimitWait):
            side = SIDE_NAMES.get(event.side, event.side)
            self.log(
                "warning",
                f"{side} {event.reason} on {event.endpoint}: waiting {event.seconds:.1f} s",
            )
            self._post(ServerWaiting(event.side, event.endpoint, event.seconds, event.reason))
        elif isinstance(event, Retrying):
            side = SIDE_NAMES.get(event.side, event.side)
            self.log("warning", f"{side} {event.endpoint}: {event.reason}; trying again")
            self._post(ServerRetrying(event.side, event.endpoint, event.reason))
        elif isinstance(event, SyncStarted):
            self.new_run()
            self._post(SyncCycleStarted())
        elif isinstance(event, SyncFinished):
            report = event.report
            self._post(
                SyncCycleFinished(
                    report.testrail_project, sync_line(report), report.exit_code, report.writes
                )
            )
        elif isinstance(event, WatchPaused):
            self.log("info", "sync is off: waiting" if event.paused else "sync is on: watching")
            self._post(WatchPausedChanged(event.paused))

    def log(self, level: str, message: str, *, at: float | None = None) -> None:
        """Queue a line for the activity log (``level``: info, warning or error)."""
        if len(self._lines) == self._lines.maxlen:
            self._dropped += 1
        self._lines.append(format_line(level, message, at))

    def drain(self) -> list[str]:
        """Take every queued line, oldest first, preceded by a note if some were dropped."""
        lines = []
        while self._lines:
            lines.append(self._lines.popleft())
        dropped, self._dropped = self._dropped, 0
        if dropped:
            lines.insert(0, format_line("warning", f"... {dropped} earlier lines not shown"))
        return lines

    def new_run(self) -> None:
        """A migration starts: every stage may be logged once more."""
        self._stages.clear()
        self._finished.clear()

    def _stage_news(self, event: Progress) -> None:
        """Log a stage once when it completes (``done`` reaches ``total``); a stage of unknown
        size (or one that stopped short) ends when the next stage of its project begins. A
        stage is timed from its first event (``done`` 0 as it starts, the reading's too)."""
        now = self._clock()
        key = (event.project, event.stage)
        if key in self._finished:
            return
        for (project, stage), (started, last) in list(self._stages.items()):
            if project == event.project and stage != event.stage:
                del self._stages[(project, stage)]
                self._finished.add((project, stage))
                count = "" if last.total is None else f" {last.done}/{last.total}"
                self.log("info", f"{project}: {stage}{count} done ({now - started:.1f} s)")
        started = self._stages.get(key, (now, event))[0]
        self._stages[key] = (started, event)
        if event.total is not None and event.done >= event.total:
            del self._stages[key]
            self._finished.add(key)
            self.log(
                "info",
                f"{event.project}: {event.stage} {event.done}/{event.total} done "
                f"({now - started:.1f} s)",
            )


def sync_line(report: SyncReport) -> str:
    """``Synced Webshop -> WEB: 3 writes, 1 conflict open`` (``..., 2 failed``)."""
    applied = report.applied
    failed = len(applied.failed) if applied else 0
    conflicts = len(report.plan.conflicts)
    line = (
        f"Synced {report.testrail_project} -> {report.testfiesta_project}: "
        f"{report.writes} write{'' if report.writes == 1 else 's'}, "
        f"{conflicts} conflict{'' if conflicts == 1 else 's'} open"
    )
    if failed:
        line += f", {failed} failed"
    if applied and applied.stopped:
        line += ", stopped early"
    return line
