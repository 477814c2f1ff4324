"""An asyncio event loop on a virtual clock: sleeping costs no real time.

``loop.time()`` starts at 0 and jumps forward to the next timer whenever nothing is ready, so
``asyncio.sleep(300)`` (stamina's backoff and the pacer's waits) return at
once while the loop's clock shows the time they waited. Nothing is patched in the code under
test: it sleeps as in production, only the clock is virtual. Each turn of the loop also costs
:data:`TICK` (one microsecond), as real turns do: code that re-arms a timer for "now" (a
limiter's rounding) would otherwise spin forever at one instant. Compare times with
``pytest.approx(..., abs=0.01)``.

    result, loop = run_on_fake_clock(coroutine)
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

#: Virtual seconds each turn of the loop takes.
TICK = 1e-6


class _AdvancingSelector(selectors.DefaultSelector):
    """Polls without blocking; when nothing is ready, moves the loop's clock by ``timeout``."""

    loop: FakeClockLoop

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        self.loop.now += TICK
        events = super().select(0)
        if events:
            return events
        if timeout is None:
            # only a thread (the default executor) can wake the loop: wait for it for real
            events = super().select(5.0)
            if not events:
                raise RuntimeError("fake clock: the loop would wait forever (a deadlock)")
            return events
        self.loop.now += timeout
        return events


class FakeClockLoop(asyncio.SelectorEventLoop):
    """A selector event loop whose ``time()`` is :attr:`now` (seconds, starts at 0)."""

    def __init__(self) -> None:
        selector = _AdvancingSelector()
        super().__init__(selector)
        selector.loop = self
        self.now = 0.0

    def time(self) -> float:
        return self.now


def run_on_fake_clock(coroutine: Coroutine[Any, Any, T]) -> tuple[T, FakeClockLoop]:
    """Run ``coroutine`` to completion on a fresh :class:`FakeClockLoop`; its result and the
    loop (``loop.now`` is the virtual time the run took)."""
    loops: list[FakeClockLoop] = []

    def factory() -> FakeClockLoop:
        loops.append(FakeClockLoop())
        return loops[-1]

    with asyncio.Runner(loop_factory=factory) as runner:
        result = runner.run(coroutine)
    return result, loops[0]
