"""One sync at a time per state directory.

Two syncs over the same links would both create what the other is creating. Every command that
writes to a state directory holds :class:`StateLock` on it while it runs::

    with StateLock(state_dir, command="railfiesta sync") as lock:
        if lock.warning:
            log(lock.warning)        # took over from a crashed run
        ...

The exclusion itself is :func:`fcntl.flock` (non-blocking) on ``<dir>/sync.lock``, so the
operating system lets go of the lock when its holder dies, however it dies. The file (mode
0600) tells who holds it, as JSON ``{"pid": int, "host": str, "started": unix seconds,
"command": str}``, for the error a second sync gets (:class:`SyncLocked`) and for a console that
wants to follow a running sync (:func:`read_holder`). Releasing empties the file; it is never
deleted, because deleting a flock file lets two processes lock two different files.

A file that still names a holder while nobody holds the lock was left by a run that did not
release it (killed, crashed, power cut): the new holder takes over and says so
(:attr:`StateLock.taken_over_from`, :attr:`StateLock.warning`).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shlex
import socket
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from core.errors import ConfigError, RailfiestaError

__all__ = ["LOCK_NAME", "StateLock", "SyncLocked", "holder_name", "read_holder"]

LOCK_NAME = "sync.lock"

#: How long a refused lock, or an empty lock file, is given to settle: a holder writes its
#: details just after it locks, and :func:`read_holder` locks for an instant to look.
_SETTLE_SECONDS = 0.5
_SETTLE_STEP = 0.01

_log = logging.getLogger(__name__)


#: The verbs that hold the lock, as a holder's command line names them.
LOCKING_VERBS = ("migrate", "sync", "state", "conflicts", "demo")


def holder_name(command: object) -> str:
    """Who holds the lock, by the verb of its ``command`` line (the lock file's ``command``):
    ``"railfiesta migrate --config x.toml"`` -> ``"another railfiesta migrate"``, the console
    (``"railfiesta (console)"``) -> ``"a railfiesta console"``; a command that names no verb
    of :data:`LOCKING_VERBS` (or none at all) -> ``"another railfiesta run"``."""
    text = str(command or "")
    if "(console)" in text:
        return "a railfiesta console"
    try:
        words = shlex.split(text)
    except ValueError:
        words = text.split()
    verb = next((w for w in words[1:] if w in LOCKING_VERBS), None)
    return f"another railfiesta {verb}" if verb else "another railfiesta run"


class SyncLocked(RailfiestaError):
    """Another live process holds the sync lock of this state directory.

    ``holder`` is its lock file's JSON (``pid``, ``host``, ``started``, ``command``; empty when
    it has not written them yet), ``path`` the lock file. The message names the holder's verb
    (:func:`holder_name`: ``another railfiesta migrate holds ...``), pid, host, command and
    start time; the hint is ``wait for it to finish, or stop it (kill <pid>)``.
    """

    def __init__(self, holder: Mapping[str, Any], *, path: Path) -> None:
        self.holder = dict(holder)
        self.path = path
        pid = self.holder.get("pid")
        who = holder_name(self.holder.get("command"))
        if pid is None:
            message = f"{who} holds {path} (it has not said who it is yet)"
            hint = "wait for it to finish"
        else:
            message = (
                f"{who} holds {path}: pid {pid} on {self.holder.get('host', '?')}, "
                f"running {self.holder.get('command') or '?'!r}, "
                f"started {_when(self.holder.get('started'))}"
            )
            hint = f"wait for it to finish, or stop it (kill {pid})"
        super().__init__(message, hint=hint)


class StateLock:
    """The sync lock of state directory ``directory`` (created 0700 when missing).

    ``command`` is what the holder tells others it is running (default: this process's command
    line). Use as a context manager, or call :meth:`acquire` and :meth:`release`.

    After acquiring, :attr:`taken_over_from` is the JSON a holder that did not release left
    behind (``{"pid", "host", "started", "command"}``), else None, and :attr:`warning` says the
    same in a sentence for the log.
    """

    def __init__(self, directory: Path, *, command: str | None = None) -> None:
        self.directory = Path(directory)
        self.path = self.directory / LOCK_NAME
        self.command = command if command is not None else shlex.join(sys.argv)
        self.taken_over_from: dict[str, Any] | None = None
        self.warning: str | None = None
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock now."""
        return self._fd is not None

    def acquire(self) -> str | None:
        """Take the lock without waiting and write who holds it; returns :attr:`warning`.

        Raises :class:`SyncLocked` when another process (or another :class:`StateLock` in this
        one) holds it, :class:`~core.errors.ConfigError` when the lock file cannot be created
        or written (naming it and the fix), and :class:`RuntimeError` when this object already
        holds it.
        """
        if self._fd is not None:
            raise RuntimeError(f"{self.path} is already held by this StateLock")
        fd = _open(self.path, create=True)
        try:
            _lock_or_raise(fd, self.path)
            previous = _parse(_read_fd(fd))
            info = {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "started": int(time.time()),
                "command": self.command,
            }
            data = json.dumps(info, ensure_ascii=False).encode("utf-8")
            os.ftruncate(fd, 0)
            os.pwrite(fd, data, 0)
            os.fsync(fd)
        except OSError as exc:
            os.close(fd)
            raise _file_error(self.path, exc) from None
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        self.taken_over_from = previous
        self.warning = _takeover_warning(previous, self.path) if previous else None
        if self.warning:
            # info, not warning: the caller says it (the CLI as "railfiesta: warning: ..."),
            # and Python's last-resort handler would print a warning a second time
            _log.info("%s", self.warning)
        return self.warning

    def release(self) -> None:
        """Empty the lock file and let go of the lock; nothing happens when not held."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            with contextlib.suppress(OSError):  # a stale name is harmless: the flock decides
                os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def __enter__(self) -> StateLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def read_holder(directory: Path) -> dict[str, Any] | None:
    """Who holds the sync lock of ``directory``: ``{"pid", "host", "started", "command"}``.

    None when nobody holds it (no directory, no lock file, or a lock file a crashed run left
    behind). ``{}`` in the unlikely case that the lock is held but its holder's details cannot
    be read (it is still writing them after half a second, or the file is not this format).
    A :class:`StateLock` held in this same process counts as a holder.

    Raises :class:`~core.errors.ConfigError` when the lock file exists but cannot be opened.
    """
    path = Path(directory) / LOCK_NAME
    try:
        fd = _open(path, create=False)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _settled_holder(fd) or {}
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    except OSError as exc:
        raise _file_error(path, exc) from None
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------- helpers


def _open(path: Path, *, create: bool) -> int:
    """The lock file's descriptor, never through a symlink, not inherited by children.

    ``create``: read-write, the directory (0700) and file made when missing, the file's mode
    set to 0600. Otherwise read-only, and :class:`FileNotFoundError` when there is no file.
    """
    if not create:
        try:
            return os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise _file_error(path, exc) from None
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise _file_error(path, exc) from None
    try:
        os.fchmod(fd, 0o600)  # an older file, or one made under another umask
    except OSError as exc:
        os.close(fd)
        raise _file_error(path, exc) from None
    return fd


def _lock_or_raise(fd: int, path: Path) -> None:
    """flock ``fd`` exclusively; :class:`SyncLocked` when someone else keeps it.

    A refusal is retried for a moment while the file names no live holder: a
    :func:`read_holder` looks with a brief shared lock, and a new holder writes its details
    just after it locks.
    """
    deadline = time.monotonic() + _SETTLE_SECONDS
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            holder = _parse(_read_fd(fd))
            if (holder and _alive(holder) is not False) or time.monotonic() >= deadline:
                raise SyncLocked(holder or {}, path=path) from None
            time.sleep(_SETTLE_STEP)


def _settled_holder(fd: int) -> dict[str, Any] | None:
    """The holder's details, waiting a moment for a holder that has just locked."""
    deadline = time.monotonic() + _SETTLE_SECONDS
    while True:
        holder = _parse(_read_fd(fd))
        if holder or time.monotonic() >= deadline:
            return holder
        time.sleep(_SETTLE_STEP)


def _read_fd(fd: int) -> bytes:
    chunks: list[bytes] = []
    offset = 0
    while chunk := os.pread(fd, 65536, offset):
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def _parse(raw: bytes) -> dict[str, Any] | None:
    """The holder JSON, or None for an empty file or anything not of that shape."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    pid = data.get("pid")
    if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
        return None
    return data


def _alive(holder: Mapping[str, Any]) -> bool | None:
    """Whether the holder's process runs: None when it is on another host (cannot tell)."""
    if holder.get("host") not in (None, socket.gethostname()):
        return None
    try:
        os.kill(int(holder["pid"]), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    except (OSError, OverflowError, ValueError):
        return False
    return True


def _takeover_warning(previous: Mapping[str, Any], path: Path) -> str:
    alive = _alive(previous)
    who = (
        f"pid {previous['pid']} on {previous.get('host', '?')} "
        f"({previous.get('command') or '?'!r}, started {_when(previous.get('started'))})"
    )
    if alive is False:
        why = "which is no longer running"
    elif alive is None:
        why = "on another host; it no longer holds the lock"
    else:
        why = "which is running but no longer holds the lock (a reused pid, or a killed release)"
    return f"took over {path} from {who}, {why}"


def _when(started: object) -> str:
    if isinstance(started, bool) or not isinstance(started, int | float):
        return "at an unknown time"
    return time.strftime("%Y-%m-%d %H:%M:%S %z", time.localtime(started))


def _file_error(path: Path, exc: OSError) -> ConfigError:
    return ConfigError(
        f"cannot use the sync lock: {exc.strerror or exc}",
        path=str(path),
        hint=(
            f"make {path.parent} a directory you may write to, or choose another with --state DIR"
        ),
    )
