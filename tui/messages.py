"""Messages that cross widget and screen boundaries in the console.

Widget-local messages live on their widgets; these are the ones the app, the main screen and
the panes exchange. Core events (``core.events``) become these through
:class:`tui.bridge.EventBridge`.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from core.errors import ConfigError, RailfiestaError, failed_side, refusal


@dataclass
class MigrationProgress(Message):
    """``done`` of ``total`` (None = unknown) items of ``stage`` for ``project``.

    Replaces any earlier progress message still waiting in the queue, so a burst of core
    progress events costs one repaint.
    """

    project: str
    stage: str
    done: int
    total: int | None

    def can_replace(self, message: Message) -> bool:
        """A newer progress message of the same project and stage supersedes an older one
        (each stage's last count still arrives, for the progress per kind)."""
        return (
            isinstance(message, MigrationProgress)
            and message.project == self.project
            and message.stage == self.stage
        )


@dataclass
class ConnectionChanged(Message):
    """One server's connection state changed.

    ``side`` is ``"testrail"`` or ``"testfiesta"``; ``state`` is ``"connecting"``,
    ``"connected"``, ``"error"`` or ``"refused"`` (the server is up and refused our login:
    :func:`core.errors.refusal`, whose ``short`` state and sentence ``phrase`` come along);
    ``detail`` is the one-line reason for an error with its fix (never a secret: core error
    messages are built from method names and statuses).
    """

    side: str
    state: str
    detail: str = ""
    short: str = ""
    phrase: str = ""
    #: the detail is in the activity log already (a failed sync cycle logs its error)
    logged: bool = False


def connection_news(side: str, error: Exception, *, logged: bool = False) -> ConnectionChanged:
    """What ``error``, met while talking to ``side``'s server, says about that connection:
    "refused" (our login; the side that refused it, which may be the other one:
    :func:`core.errors.failed_side`), "connected" for a config error (the server answered;
    the ``[[pair]]`` is wrong), else "error" with the one-line reason and its fix."""
    if isinstance(error, RailfiestaError):
        detail = str(error)
    else:
        detail = f"unexpected error: {type(error).__name__}: {error}"
    if isinstance(error, ConfigError):
        return ConnectionChanged(side, "connected")
    side = failed_side(error) or side
    refused = refusal(error)
    if refused is not None:
        return ConnectionChanged(side, "refused", detail, *refused, logged=logged)
    return ConnectionChanged(side, "error", detail, logged=logged)


@dataclass
class ServerWaiting(Message):
    """``side`` answered 429/409 (so it is reachable) and the core waits ``seconds`` before
    sending ``endpoint`` again; ``reason`` is the core's name for the wait
    (``RateLimitWait.reason``: "rate limit" or "maintenance")."""

    side: str
    endpoint: str
    seconds: float
    reason: str = "rate limit"


@dataclass
class ServerRetrying(Message):
    """A request to ``side`` failed (``reason``: a dropped connection, a 5xx ...) and the
    core is trying it again."""

    side: str
    endpoint: str
    reason: str


@dataclass
class PaneLoaded(Message):
    """A project pane finished loading (its records and links are current)."""

    side: str


@dataclass
class CasesLoaded(Message):
    """The cases of one section arrived in a pane (or failed to): the pane knows more of its
    project, so what depends on its records (the status row) is due again."""

    side: str


@dataclass
class BadgesRead(Message):
    """A pane's badges and links arrived from the state store (``Service.read_badges``, in
    a worker): its records' links may have changed, so the status row is due again."""

    side: str


@dataclass
class ServiceOpened(Message):
    """The service opened; the panes may load."""


@dataclass
class ServiceFailed(Message):
    """The service could not open (missing secret, bad config ...); ``detail`` says why."""

    detail: str


@dataclass
class MigrationStarted(Message):
    """A migration began."""


@dataclass
class MigrationFinished(Message):
    """A migration ended; ``ok`` is False when it failed (the log says why); ``summary``
    is one line for the progress row; ``complete`` is True when every report was complete
    (the summary then says all records are linked)."""

    ok: bool
    summary: str
    complete: bool = False


@dataclass
class BackgroundFailed(Message):
    """A widget's worker died of an unexpected error (a bug, not a server answer).

    Worker state messages do not bubble, so widgets forward failures with this one; the app
    logs ``what`` and the error and tells the user, without a traceback.
    """

    what: str
    error: BaseException | None


@dataclass
class SyncCycleStarted(Message):
    """A sync cycle of this console's service began (its own watch, or ``S``)."""


@dataclass
class SyncCycleFinished(Message):
    """One pair's sync cycle ended: ``project`` (TestRail), ``summary`` one line for the
    progress row, ``exit_code`` as the CLI's (0 clean, 1 pending, 2 failures), ``writes``
    the write operations that landed (``SyncReport.writes``)."""

    project: str
    summary: str
    exit_code: int
    writes: int = 0


@dataclass
class WatchPausedChanged(Message):
    """This console's watch found ``[sync] enabled`` false (``paused``) or true again."""

    paused: bool
