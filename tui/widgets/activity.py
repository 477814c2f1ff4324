"""The activity log and the migration progress row under the panes."""

from __future__ import annotations

import textwrap
from collections.abc import Callable

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label, Log, ProgressBar

#: Seconds between two flushes of buffered lines into the log.
FLUSH_INTERVAL = 0.15


class ActivityLog(Log):
    """A plain-text log fed in batches.

    ``drain`` returns the lines queued since the last call (``EventBridge.drain``); a timer
    writes them with one ``write_lines`` every :data:`FLUSH_INTERVAL` seconds, so thousands of
    events cost a handful of repaints. Long lines are wrapped to the width (continuations
    indented under the message), so nothing hides past the right edge at 80 columns. Keeps at
    most ``max_lines`` lines.
    """

    #: Where a line's message starts (after ``HH:MM:SS TAG ``); continuations indent to it.
    INDENT = 13

    def __init__(
        self, drain: Callable[[], list[str]], *, max_lines: int = 2000, id: str | None = None
    ) -> None:
        super().__init__(max_lines=max_lines, auto_scroll=True, id=id)
        self._drain = drain

    def on_mount(self) -> None:
        """Start the flush timer."""
        self.set_interval(FLUSH_INTERVAL, self.flush)

    def flush(self) -> None:
        """Write whatever is queued now."""
        lines = self._drain()
        if not lines:
            return
        width = self.scrollable_content_region.width - 1
        if width > self.INDENT + 10:
            lines = [
                part
                for line in lines
                for part in textwrap.wrap(line, width, subsequent_indent=" " * self.INDENT) or [""]
            ]
        self.write_lines(lines)


class MigrationProgressRow(Horizontal):
    """What the migration is doing (``stage done/total``) and a bar.

    The bar is indeterminate while the total is unknown.
    """

    IDLE = "Press M to migrate"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="-idle")

    def compose(self) -> ComposeResult:
        """Label, then bar."""
        yield Label(self.IDLE, id="progress-label", markup=False)
        yield ProgressBar(total=None, show_eta=False, id="progress-bar")

    @property
    def bar(self) -> ProgressBar:
        """The progress bar."""
        return self.query_one("#progress-bar", ProgressBar)

    def _label(self, text: str) -> None:
        self.query_one("#progress-label", Label).update(text)

    def start(self) -> None:
        """A migration began: indeterminate bar."""
        self.remove_class("-idle", "-failed", "-done")
        self.add_class("-running")
        self.bar.update(total=None, progress=0)
        self._label("Migrating: starting…")

    def show(self, project: str, stage: str, done: int, total: int | None) -> None:
        """``done`` of ``total`` items of ``stage``; ``total`` None = unknown."""
        if total is None:
            self.bar.update(total=None, progress=done)
            self._label(f"{project}: {stage} {done}")
        else:
            # an empty stage (0 of 0) is a finished one
            self.bar.update(total=total or 1, progress=min(done, total) if total else 1)
            self._label(f"{project}: {stage} {done}/{total}")

    def finish(self, ok: bool, summary: str) -> None:
        """The migration ended; a successful one fills the bar."""
        self.remove_class("-running")
        self.add_class("-done" if ok else "-failed")
        if ok:
            total = self.bar.total or 1
            self.bar.update(total=total, progress=total)
        self._label(summary)
