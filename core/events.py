"""Events the core emits while it works; the console and the CLI render them.

The core calls one ``on_event(event)`` callback. Events are small frozen dataclasses; progress
is coalesced by the core (one event per page or batch, never per request), so a consumer can
render each one. :class:`core.http.RateLimitWait` is an event too.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Progress:
    """``done`` of ``total`` items of ``stage`` (``"folders"``, ``"cases"``) for ``project``;
    ``total`` is None while unknown."""

    project: str
    stage: str
    done: int
    total: int | None


@dataclass(frozen=True)
class Activity:
    """One line for the activity log. ``level`` is ``"info"``, ``"warning"`` or ``"error"``;
    ``at`` is UNIX seconds."""

    level: str
    message: str
    at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class ConnectionWarning(Activity):
    """An :class:`Activity` (level ``"warning"``) about how a server is reached: TLS checks
    switched off by ``verify_tls = false``, or plain ``http://`` to a host that is not this
    machine. Emitted on every run (:func:`core.config.connection_warnings`); ``side`` is the
    config table (``testrail``, ``testfiesta``) and ``host`` the server's host name."""

    side: str = ""
    host: str = ""


@dataclass(frozen=True)
class CoreLanded:
    """Event of a migration (not a dry run): the usable core of TestRail project ``project``
    (folders, cases, runs and their latest statuses) is on TestFiesta and the backfill starts;
    ``backfilling`` names the kinds it still writes (``"results"``, ``"attachments"``; empty
    when nothing waits). ``at`` is UNIX seconds. The benchmark times "usable core" by it."""

    project: str
    backfilling: tuple[str, ...] = ()
    at: float = field(default_factory=time.time)


EventSink = Callable[[object], None]


def ignore(_event: object) -> None:
    """An :data:`EventSink` that drops everything."""
