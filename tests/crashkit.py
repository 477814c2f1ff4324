"""Killing a railfiesta process at random moments: what the kill-and-resume test and the crash
harness (``bench/crash.py``) share.

- :class:`Gate` sits in front of an emulator app served on TCP
  (:func:`emulators.server.start_in_thread`) and notes when each write request arrives, so a
  kill can be timed from the n-th write of a run instead of from the start alone (a run takes
  over a second to reach its first write);
- :func:`draw_kill` draws a moment (a :class:`Kill`) from a seeded :class:`random.Random`;
- :func:`run_killable` starts a command in a child process and SIGKILLs it at that moment
  unless it ends first.
"""

from __future__ import annotations

import math
import os
import random
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]


class Gate:
    """In front of an emulator: appends the arrival time (``time.monotonic()``) of each write
    request (not a GET) to ``arrivals``, a list both emulators' gates share. Drops a request
    whose body never arrived whole (its client was killed between the headers and the body),
    as a real server does: the TestFiesta emulator's contract check
    (``emulators.testfiesta.contract``) would hand it to the emulator as complete with the
    partial body (often none: a shim ``update_case`` without a body answers 200) and record a
    contract violation."""

    def __init__(self, app: Any, arrivals: list[float]) -> None:
        self.app = app
        self.arrivals = arrivals

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] != "GET":
            self.arrivals.append(time.monotonic())
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # never sent whole: nothing to do, nobody to answer
            body += message.get("body", b"")
            more = message.get("more_body", False)
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


@dataclass(frozen=True)
class Kill:
    """When to SIGKILL a run: ``delay`` seconds after its start (``nth_write`` 0) or after
    its ``nth_write``-th write request reached an emulator."""

    nth_write: int
    delay: float

    def __str__(self) -> str:
        after = f"write #{self.nth_write}" if self.nth_write else "start"
        return f"{self.delay * 1000:.0f} ms after {after}"


def draw_kill(
    rng: random.Random,
    *,
    early: float = 0.25,
    after_start: tuple[float, float] = (0.05, 1.5),
    nth_write: tuple[int, int] = (1, 400),
    after_write: tuple[float, float] = (0.0, 0.01),
) -> Kill:
    """A random moment: with probability ``early`` a uniform ``after_start`` seconds after the
    process started (mostly before its first write: start-up, observation, recovery);
    otherwise a uniform ``after_write`` seconds after the n-th write request, n log-uniform in
    ``nth_write`` (dense in the first writes, reaching into the last)."""
    if rng.random() < early:
        return Kill(0, rng.uniform(*after_start))
    low, high = (math.log(n) for n in nth_write)
    return Kill(round(math.exp(rng.uniform(low, high))), rng.uniform(*after_write))


@dataclass
class Ended:
    """How a child run ended: ``killed`` (by us) or by itself with ``returncode``, after
    ``seconds``, having sent ``writes`` write requests; its output files."""

    killed: bool
    returncode: int | None
    seconds: float
    writes: int
    stdout: Path
    stderr: Path


class Hung(AssertionError):
    """A child ran longer than its timeout (it was killed; ``stderr`` is its error output)."""


def run_killable(
    argv: Sequence[str],
    *,
    arrivals: list[float],
    kill: Kill | None,
    log: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 120.0,
) -> Ended:
    """Run ``argv`` (cwd the repository, ``PYTHONPATH`` the repository first), SIGKILLed at
    ``kill`` unless it ends first (``None``: left to finish). ``arrivals`` is the list the
    emulators' :class:`Gate` s fill; it is cleared first. Output goes to ``log`` with the
    suffixes ``.out`` and ``.err``. Raises :class:`Hung` after ``timeout`` seconds."""
    out, err = log.with_suffix(".out"), log.with_suffix(".err")
    arrivals.clear()
    started = time.monotonic()
    killed = False
    environment = {**os.environ, **(env or {})}
    environment["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO_ROOT), environment.get("PYTHONPATH", "")) if p
    )
    with out.open("wb") as stdout, err.open("wb") as stderr:
        child = subprocess.Popen(
            list(argv), cwd=REPO_ROOT, stdout=stdout, stderr=stderr, env=environment
        )
        while child.poll() is None:
            now = time.monotonic()
            if now - started > timeout:
                child.kill()
                child.wait()
                raise Hung(f"{' '.join(argv)} ran over {timeout:.0f} s:\n{err.read_text()}")
            if kill is not None:
                since: float | None = started
                if kill.nth_write:
                    n = kill.nth_write
                    since = arrivals[n - 1] if len(arrivals) >= n else None
                if since is not None and now >= since + kill.delay:
                    child.send_signal(signal.SIGKILL)
                    child.wait()
                    killed = True
                    break
            time.sleep(0.001)
    return Ended(
        killed,
        None if killed else child.returncode,
        time.monotonic() - started,
        len(arrivals),
        out,
        err,
    )
