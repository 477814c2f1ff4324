"""What a running ``sync --watch`` tells other processes, through the state store.

A console opened while another process holds the state directory's sync lock (DESIGN §8:
"attach to a running sync") does not start a second engine: it reads what that process
publishes and sends it requests, both through the state store (:mod:`core.store`), which
both processes open.

The watching process subscribes a :class:`WatchMonitor` to its service's events. It keeps:

- ``monitor:watch``: one JSON document (:meth:`WatchMonitor.document`): who watches (``pid``,
  ``host``), its ``state`` (``syncing``, ``waiting``, ``paused``, ``stopped``), ``interval``
  and ``next_poll`` (UNIX seconds, None while paused), the progress of the cycle in flight per
  pair and kind (``done``, ``total``, ``started``), the last finished cycle per pair, rate-limit
  waits, and both sides' request budgets;
- ``monitor:log``: the last :data:`LOG_LINES` activity lines, oldest first, each
  ``{"at": UNIX seconds, "level": "info"|"warning"|"error", "message": str}``.

It writes at most every :data:`FLUSH_SECONDS` while events arrive, and at once when its state
changes. The console asks for a cycle now with ``control:sync_now`` (UNIX seconds of the
request), which the watch takes during its sleep; switching sync off goes through the config
file (``[sync] enabled``), which the watch checks several times a second.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from typing import Any

from core.events import Activity, Progress
from core.http import RateLimitWait, Retrying
from core.report import SyncFinished, SyncReport, WatchPaused
from core.store import StateStore

#: Store keys (see the module docstring).
MONITOR_KEY = "monitor:watch"
LOG_KEY = "monitor:log"
SYNC_NOW = "sync_now"
#: Activity lines kept in ``monitor:log``.
LOG_LINES = 200
#: Seconds between two writes of the monitor while events arrive.
FLUSH_SECONDS = 0.5

#: The states a watch publishes.
SYNCING, WAITING, PAUSED, STOPPED = "syncing", "waiting", "paused", "stopped"


def eta_seconds(done: int, total: int | None, started: float, now: float) -> float | None:
    """Seconds left for ``total - done`` items at the pace since ``started`` (UNIX seconds):
    None while unknown (no total, nothing done yet, or under a second of history); 0 when
    done."""
    if total is None:
        return None
    if done >= total:
        return 0.0
    spent = now - started
    if done <= 0 or spent < 1.0:
        return None
    return (total - done) * spent / done


def cycle_summary(report: SyncReport) -> dict[str, Any]:
    """The last-cycle entry of one pair: ``at`` (UNIX seconds), ``testfiesta_project``,
    ``done`` (``{"update case": 3, ...}``), ``failed``, ``conflicts``, ``exit_code``,
    ``requests`` per side."""
    applied = report.applied
    return {
        "at": time.time(),
        "testfiesta_project": report.testfiesta_project,
        "done": dict(applied.done) if applied else {},
        "failed": len(applied.failed) if applied else 0,
        "conflicts": len(report.plan.conflicts),
        "exit_code": report.exit_code,
        "requests": dict(report.requests),
    }


class WatchMonitor:
    """The event listener a watching service publishes through (see the module docstring).

    ``store``: the state store both processes open; ``interval``: seconds between cycles;
    ``budgets``: returns ``[(side, requests in the last minute, per-minute limit or None,
    429/409 answers so far, the 409 maintenance waits among them)]`` (the service's
    clients). ``clock`` gives UNIX seconds.
    """

    def __init__(
        self,
        store: StateStore,
        *,
        interval: float,
        budgets: Callable[[], list[tuple[str, int, int | None, int, int]]] = list,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.clock = clock
        self._budgets = budgets
        self._lines: list[dict[str, Any]] = []
        #: UNIX seconds of the last write
        self.flushed_at = 0.0
        previous = store.get(MONITOR_KEY) or {}
        self.doc: dict[str, Any] = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "state": WAITING,
            "interval": interval,
            "next_poll": None,
            "updated": clock(),
            "progress": {},
            # what the watch before this one finished stays until this one finishes a cycle
            "cycles": dict(previous.get("cycles") or {}),
            "waits": {},
            "budgets": {},
        }

    def __call__(self, event: object) -> None:
        """Take one service event; write when :data:`FLUSH_SECONDS` have passed."""
        now = self.clock()
        if isinstance(event, Progress):
            kinds = self.doc["progress"].setdefault(event.project, {})
            entry = kinds.get(event.stage)
            if entry is None or event.done < entry["done"]:
                entry = kinds[event.stage] = {"done": 0, "total": None, "started": now}
            entry["done"], entry["total"], entry["updated"] = event.done, event.total, now
        elif isinstance(event, Activity):
            self._line(event.level, event.message, event.at)
        elif isinstance(event, SyncFinished):
            self.doc["cycles"][event.report.testrail_project] = cycle_summary(event.report)
        elif isinstance(event, RateLimitWait):
            self.doc["waits"][event.side] = {
                "until": now + event.seconds,
                "endpoint": event.endpoint,
                "reason": event.reason,
                "count": int(self.doc["waits"].get(event.side, {}).get("count", 0)) + 1,
            }
            self._line(
                "warning",
                f"{event.side} {event.reason} on {event.endpoint}: waiting {event.seconds:.1f} s",
                now,
            )
        elif isinstance(event, Retrying):
            self._line(
                "warning", f"{event.side} {event.endpoint}: {event.reason}; trying again", now
            )
        elif isinstance(event, WatchPaused):
            self._line("info", "sync is off: paused" if event.paused else "sync is on", now)
        else:
            return
        if now - self.flushed_at >= FLUSH_SECONDS:
            self.flush()

    def _line(self, level: str, message: str, at: float) -> None:
        self._lines.append({"at": at, "level": level, "message": message})

    def state(self, state: str, *, next_poll: float | None = None) -> None:
        """The watch is ``syncing`` (a cycle starts: its progress starts afresh), ``waiting``
        until ``next_poll`` (UNIX seconds), ``paused`` or ``stopped``; written at once."""
        self.doc["state"] = state
        self.doc["next_poll"] = next_poll
        if state == SYNCING:
            self.doc["progress"] = {}
        self.flush()

    def flush(self) -> None:
        """Write the document and the new log lines (one transaction)."""
        now = self.clock()
        self.flushed_at = now
        self.doc["updated"] = now
        self.doc["budgets"] = {
            side: {
                "last_minute": last,
                "per_minute": limit,
                "rate_limited": waits,
                "maintenance_waits": maintenance,
            }
            for side, last, limit, waits, maintenance in self._budgets()
        }
        lines, self._lines = self._lines, []
        self.store.publish(MONITOR_KEY, self.doc, log_key=LOG_KEY, lines=lines, keep=LOG_LINES)

    def document(self) -> dict[str, Any]:
        """The document as last built (see the module docstring)."""
        return self.doc
