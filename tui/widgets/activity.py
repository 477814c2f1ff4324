"""The activity log and the migration progress row under the panes."""

from __future__ import annotations

import math
import textwrap
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Self

from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.geometry import Size
from textual.widgets import Label, Log, ProgressBar, Static

from core.monitor import eta_seconds
from tui.widgets.text import show_text

#: Seconds between two flushes of buffered lines into the log.
FLUSH_INTERVAL = 0.15


class ActivityLog(Log):
    """A plain-text log fed in batches.

    ``drain`` returns the lines queued since the last call (``EventBridge.drain``); a timer
    writes them with one ``write_lines`` every :data:`FLUSH_INTERVAL` seconds, so thousands of
    events cost a handful of repaints. Long lines are wrapped to the width (continuations
    indented under the message), so nothing hides past the right edge at 80 columns; the
    last ``max_lines`` lines as written are kept, and wrapped again when the width changes.
    """

    #: Where a line's message starts (after ``HH:MM:SS TAG ``); continuations indent to it.
    INDENT = 13

    def __init__(
        self, drain: Callable[[], list[str]], *, max_lines: int = 2000, id: str | None = None
    ) -> None:
        super().__init__(max_lines=max_lines, auto_scroll=True, id=id)
        self._drain = drain
        #: the lines as written (unwrapped), the newest ``max_lines``
        self.written: deque[str] = deque(maxlen=max_lines)
        #: the width the shown lines were wrapped to (0: not wrapped, no width yet)
        self._wrapped_to = 0
        #: the widget's size at the last resize handled
        self._size_seen = Size(0, 0)

    def on_mount(self) -> None:
        """Start the flush timer."""
        self.set_interval(FLUSH_INTERVAL, self.flush)

    def _wrap_width(self) -> int:
        """Columns to wrap to (0: too narrow to wrap, or not laid out yet)."""
        width = self.scrollable_content_region.width - 1
        return width if width > self.INDENT + 10 else 0

    def _wrap(self, lines: list[str], width: int) -> list[str]:
        if not width:
            return lines
        indent = " " * self.INDENT
        return [
            part
            for line in lines
            for part in textwrap.wrap(line, width, subsequent_indent=indent) or [""]
        ]

    def flush(self) -> None:
        """Write whatever is queued now."""
        lines = self._drain()
        if not lines:
            return
        self.written.extend(lines)
        width = self._wrap_width()
        if width != self._wrapped_to:  # resized since: every line again, at this width
            self._rewrap(width)
            return
        self.write_lines(self._wrap(lines, width))

    def on_resize(self, event: events.Resize) -> None:
        """Wrap the lines again to the new width; the newest lines in view again (a log
        that shrinks keeps its scroll offset, which hid them). Each write grows the virtual
        size, which Textual also reports as a resize: those change nothing here."""
        if event.size == self._size_seen:
            return
        self._size_seen = event.size
        width = self._wrap_width()
        if width != self._wrapped_to:
            self._rewrap(width)
        if not self.is_vertical_scrollbar_grabbed:
            self.call_after_refresh(self.scroll_end, animate=False, x_axis=False)

    def _rewrap(self, width: int) -> None:
        self._wrapped_to = width
        super().clear()
        self.write_lines(self._wrap(list(self.written), width))

    def clear(self) -> Self:
        """Empty the log, and forget the lines as written."""
        self.written.clear()
        super().clear()
        return self


class MigrationProgressRow(Horizontal):
    """What the migration is doing (``stage done/total``), how long it has run, and a bar.

    Idle, the row holds a status line that the screen chooses (:meth:`idle`). The bar is
    indeterminate while a stage's total is unknown. A server wait (:meth:`notice`: a rate
    limit, a retry) shows over the progress text with a countdown, and gives way to the
    progress text when it ends or when the next progress arrives.
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="-idle")
        self._text = ""
        self._notice: tuple[str, float] | None = None  # (text with {s} for seconds, deadline)
        self._started: float | None = None
        self._ended: float | None = None

    def compose(self) -> ComposeResult:
        """Label, clock, bar."""
        yield Label("", id="progress-label", markup=False)
        yield Label("", id="progress-clock", markup=False)
        yield ProgressBar(total=None, show_eta=False, id="progress-bar")

    def on_mount(self) -> None:
        """Tick once a second (clock and countdowns)."""
        self.set_interval(1.0, self.tick)

    @property
    def bar(self) -> ProgressBar:
        """The progress bar."""
        return self.query_one("#progress-bar", ProgressBar)

    @property
    def text(self) -> str:
        """What the row says now."""
        return str(self.query_one("#progress-label", Label).content)

    @property
    def clock(self) -> str:
        """The elapsed time shown ("" when none)."""
        return str(self.query_one("#progress-clock", Label).content)

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`finish`."""
        return self.has_class("-running")

    def _state(self, state: str) -> None:
        for name in ("-idle", "-running", "-done", "-failed"):
            self.set_class(name == state, name)

    def _label(self, text: str) -> None:
        self._text = text
        self._render_text()

    def _render_text(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        text = self._text
        if self._notice is not None:
            notice, deadline = self._notice
            left = deadline - now
            if left > 0:
                text = notice.format(s=math.ceil(left))
            else:
                self._notice = None
        show_text(self.query_one("#progress-label", Label), text)
        clock = ""
        if self._started is not None:
            clock = elapsed_text((self._ended or now) - self._started)
        show_text(self.query_one("#progress-clock", Label), clock)

    def tick(self) -> None:
        """Advance the clock and any countdown."""
        if self._notice is not None or self.running:
            self._render_text()

    def idle(self, text: str) -> None:
        """No migration to show: say ``text`` (a status of the pair shown)."""
        self._state("-idle")
        self._started = self._ended = None
        self._label(text)

    def notice(self, text: str, seconds: float) -> None:
        """Show ``text`` for ``seconds``; ``{s}`` in it counts the seconds left down."""
        self._notice = (text, time.monotonic() + seconds)
        self._render_text()

    def start(self, text: str = "Migrating: reading both projects…") -> None:
        """A migration (or sync cycle) began: indeterminate bar, clock from zero, ``text``."""
        self._state("-running")
        self._notice = None
        self._started, self._ended = time.monotonic(), None
        self.bar.update(total=None, progress=0)
        self._label(text)

    def show(self, project: str, stage: str, done: int, total: int | None) -> None:
        """``done`` of ``total`` items of ``stage``; ``total`` None = unknown. Ends a notice:
        progress means the server answers again."""
        self._notice = None
        if total is None:
            self.bar.update(total=None, progress=done)
            self._label(f"{project}: {stage} {done}")
        else:
            # an empty stage (0 of 0) is a finished one
            self.bar.update(total=total or 1, progress=min(done, total) if total else 1)
            self._label(f"{project}: {stage} {done}/{total}")

    def finish(self, ok: bool, summary: str) -> None:
        """The migration ended; a successful one fills the bar. The clock stops."""
        self._state("-done" if ok else "-failed")
        self._notice = None
        if self._started is not None:
            self._ended = time.monotonic()
        if ok:
            total = self.bar.total or 1
            self.bar.update(total=total, progress=total)
        self._label(summary)


class KindProgress(Static):
    """Progress per entity kind of the run shown, with an ETA each, on one line:
    ``cases 120/400 · 0:24 left   folders 3/3 ✓``. Kinds in the order they started; stages
    without a total show their count alone. Hidden while there is nothing to show.

    Fed one step at a time (:meth:`step`: the console's own migration or sync) or whole
    (:meth:`show_published`: the progress a watching process published in the state store).
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        #: (project, stage) -> [done, total, started (UNIX seconds)]
        self._kinds: dict[tuple[str, str], list[Any]] = {}
        #: UNIX seconds now (the ETAs' clock; a published watch's ``started`` is on it too)
        self.clock: Callable[[], float] = time.time
        self.display = False

    @property
    def text(self) -> str:
        """What the line says now."""
        return str(self.content)

    def clear_kinds(self) -> None:
        """A new run begins: forget the kinds of the last one."""
        self._kinds.clear()
        self._render_kinds()

    def step(self, project: str, stage: str, done: int, total: int | None) -> None:
        """``done`` of ``total`` items of ``stage`` (a kind: ``cases``) of ``project``."""
        now = self.clock()
        entry = self._kinds.get((project, stage))
        if entry is None or done < entry[0]:
            entry = self._kinds[(project, stage)] = [done, total, now]
        entry[0], entry[1] = done, total
        self._render_kinds(now)

    def show_published(self, progress: dict[str, dict[str, dict[str, Any]]]) -> None:
        """The ``progress`` of a published watch document (:mod:`core.monitor`)."""
        self._kinds = {
            (project, stage): [int(e["done"]), e.get("total"), float(e["started"])]
            for project, stages in progress.items()
            for stage, e in stages.items()
        }
        self._render_kinds()

    def tick(self) -> None:
        """Refresh the ETAs (once a second)."""
        if self._kinds:
            self._render_kinds()

    def _render_kinds(self, now: float | None = None) -> None:
        now = self.clock() if now is None else now
        several = len({project for project, _ in self._kinds}) > 1
        # the kinds under way first, with their time left, then those done: the row is one
        # line, cut at the right edge (the kinds done are the ones the log also names)
        parts, finished = [], []
        for (project, stage), (done, total, started) in self._kinds.items():
            name = f"{project} {stage}" if several else stage
            if total is None:
                parts.append(f"{name} {done}")
                continue
            left = eta_seconds(done, total, started, now)
            if left == 0:
                finished.append(f"{name} {done}/{total} ✓")
            elif left is None:
                parts.append(f"{name} {done}/{total}")
            else:
                parts.append(f"{name} {done}/{total} · {elapsed_text(left)} left")
        parts += finished
        text = "   ".join(parts)
        if text != str(self.content):
            self.update(text)
        if self.display != bool(parts):
            self.display = bool(parts)


def elapsed_text(seconds: float) -> str:
    """``"0:07"``, ``"12:03"``, ``"1:02:03"``."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"
