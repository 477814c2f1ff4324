"""Turns the core's event stream into console messages and log lines.

The core calls one listener for every event (``Service.subscribe``). :class:`EventBridge` is that
listener: a :class:`core.events.Progress` becomes a :class:`tui.messages.MigrationProgress`
posted to the app (the message coalesces in the queue), while :class:`core.events.Activity` and
:class:`core.http.RateLimitWait` become text lines in a bounded buffer that the activity log
drains on a timer. Both paths are safe to call from a thread: ``post_message`` is thread-safe
and so is ``deque.append``.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from textual.message import Message

from core.events import Activity, Progress
from core.http import RateLimitWait
from tui.messages import MigrationProgress

_LEVEL_TAGS = {"info": "   ", "warning": "WRN", "error": "ERR"}
_SIDE_NAMES = {"testrail": "TestRail", "testfiesta": "TestFiesta"}


def format_line(level: str, message: str, at: float | None = None) -> str:
    """One activity-log line: ``HH:MM:SS TAG message`` with the message on one line."""
    stamp = time.strftime("%H:%M:%S", time.localtime(time.time() if at is None else at))
    tag = _LEVEL_TAGS.get(level, level[:3].upper())
    return f"{stamp} {tag} {' '.join(message.split())}"


class EventBridge:
    """The listener handed to ``Service.subscribe``.

    ``post`` delivers a Textual message (normally ``App.post_message``). ``max_buffered`` caps
    the lines kept between two drains; older ones are dropped first, and the log says how many.
    """

    def __init__(self, post: Callable[[Message], object], *, max_buffered: int = 5000) -> None:
        self._post = post
        self._lines: deque[str] = deque(maxlen=max_buffered)
        self._dropped = 0

    def __call__(self, event: object) -> None:
        """Route one core event; unknown event types are ignored."""
        if isinstance(event, Progress):
            self._post(MigrationProgress(event.project, event.stage, event.done, event.total))
        elif isinstance(event, Activity):
            self.log(event.level, event.message, at=event.at)
        elif isinstance(event, RateLimitWait):
            side = _SIDE_NAMES.get(event.side, event.side)
            self.log(
                "warning",
                f"{side} rate limit on {event.endpoint}: waiting {event.seconds:.1f} s",
            )

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
