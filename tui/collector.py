"""When the console's garbage collector does its full collections: while nobody is typing.

CPython's collector runs a full (generation 2) collection on its own after every 10 young
(generation 1) collections, whatever the console is doing. Over a grown tree (thousands of
nodes, records and drawn lines: ~180,000 objects after 40 sections opened over 50,000 cases)
one full collection takes 36-112 ms, so the key press it lands in answers late (bench/console.py
"open, the others left open"). :class:`IdleCollector` makes full collections rare on their own
(:data:`FULL_EVERY` young ones instead of 10, Python's ``gc.set_threshold`` third value) and
runs one itself once no key or mouse event has come for :data:`IDLE_AFTER` seconds. The
youngest collections wait for :data:`NEWEST_EVERY` new objects instead of 700: opening a
section makes tens of thousands (its cases' JSON, their nodes, the drawn lines), most of them
freed by their reference counts before a collection would walk them, so about one walk is
left of seven (1-5 ms per open, bench/console.py). Garbage is still freed: at the next pause
of the user, or on the collector's own after :data:`FULL_EVERY` young collections during a
long burst of keys.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

#: Seconds without a key or mouse event after which a full collection is run by the console.
IDLE_AFTER = 1.0
#: Objects made (less those freed) after which the collector walks the newest ones
#: (``gc.set_threshold``'s first value; Python's default is 700).
NEWEST_EVERY = 10_000
#: Young (generation 1) collections after which the collector runs a full one on its own
#: (``gc.set_threshold``'s third value; Python's default is 10).
FULL_EVERY = 100


class IdleCollector:
    """Full garbage collections moved to the user's pauses (see the module docstring).

    :meth:`start` sets the collector's thresholds (the old ones are kept), :meth:`input`
    notes a key or mouse event, :meth:`tick` (call it every second or so) runs
    ``gc.collect()`` when the console has been idle for :data:`IDLE_AFTER` seconds and a
    young collection has happened since the last full one; :meth:`stop` puts the old
    thresholds back (a process running several consoles, such as the tests, gets Python's
    own behaviour back). ``clock`` gives seconds (:func:`time.monotonic`)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.last_input = clock()
        self.collections = 0  #: full collections run by :meth:`tick`
        self._thresholds: tuple[int, int, int] | None = None

    def start(self) -> None:
        """Keep the collector's thresholds; make its walks of the newest objects and its
        own full collections rare (:data:`NEWEST_EVERY`, :data:`FULL_EVERY`)."""
        if self._thresholds is None:
            self._thresholds = gc.get_threshold()
            _, middle, _ = self._thresholds
            gc.set_threshold(NEWEST_EVERY, middle, FULL_EVERY)

    def stop(self) -> None:
        """Put the thresholds :meth:`start` found back."""
        if self._thresholds is not None:
            gc.set_threshold(*self._thresholds)
            self._thresholds = None

    def input(self) -> None:
        """A key or mouse event came now."""
        self.last_input = self.clock()

    def tick(self) -> bool:
        """Run a full collection if idle for :data:`IDLE_AFTER` seconds and a young collection
        has run since the last full one (``gc.get_count()[2] > 0``); True when it ran."""
        if self.clock() - self.last_input < IDLE_AFTER or gc.get_count()[2] == 0:
            return False
        gc.collect()
        self.collections += 1
        return True
