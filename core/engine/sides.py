"""The Side interface the engine drives, and an in-memory side for the engine's own tests.

A side is one system (TestRail or TestFiesta) for one ``[[pair]]``. The engine asks it what
changed since a cursor, fetches single records, finds a record by its ``origin`` (after a lost
answer), and writes. Values a side receives and returns are *side space*: references hold the
side's own keys (the engine translates them through the links).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from core.errors import NotFound, RailfiestaError
from core.model import Record


@dataclass(frozen=True)
class Observation:
    """What :meth:`Side.observe` saw: ``records`` by key, the kinds whose listing was
    ``complete`` (a linked key missing from them was deleted), and the ``cursor`` to pass
    next time (JSON-ready; committed only after the cycle applied)."""

    records: Mapping[str, Record]
    complete: frozenset[str]
    cursor: Mapping[str, Any]


class LostAnswer(Exception):
    """A write may or may not have landed (the connection dropped before the answer)."""


class Side(Protocol):
    """One system of a pair, as the engine sees it."""

    name: str

    async def observe(
        self,
        cursor: Mapping[str, Any] | None,
        *,
        full: bool,
        linked: Callable[[str], bool] = ...,
        kinds: Collection[str] | None = None,
    ) -> Observation:
        """Records changed since ``cursor`` (None: everything); ``full`` lists every record
        of every kind, so deletions show. ``linked`` tells whether a key of this side is
        paired already (a side may read more of what is not). ``kinds`` (None: all) names
        the kinds the cycle needs: the side reads at least their listings and may read more
        (listings that come together); ``complete`` names only kinds it listed whole, so a
        kind it did not read is never taken as deleted, and the cursor keeps what it said of
        what was not read."""
        ...

    async def fetch(self, keys: Iterable[str]) -> dict[str, Record]:
        """The current records of ``keys``; a key that no longer exists is left out."""
        ...

    async def find(self, kind: str, origin: str, values: Mapping[str, Any]) -> Record | None:
        """The record of ``kind`` whose origin is ``origin`` (a key of the other side); a side
        that keeps no marker for a kind matches ``values`` (side space) instead."""
        ...

    async def create(
        self, kind: str, items: Sequence[tuple[Mapping[str, Any], str]], *, more: bool = False
    ) -> list[str | RailfiestaError]:
        """Create one record per ``(values, origin)``; their new keys in order, or in a
        record's place the error that kept that one record out (the others landed). Raises
        :class:`LostAnswer` when it cannot tell what landed.

        ``more``: more creates of this kind follow these. A side that packs creates into
        requests may then send only the requests it filled and return the keys of a prefix
        of ``items`` (at least one): the rest were not sent and come again at the head of
        the next call, so no request goes out half full at a hand-off."""
        ...

    async def update(self, kind: str, key: str, changes: Mapping[str, Any]) -> None:
        """Write ``changes`` to record ``key``; :class:`core.errors.NotFound` when it is
        gone."""
        ...

    async def archive(self, kind: str, key: str) -> None:
        """Archive record ``key`` (kept, marked as deleted on the other side)."""
        ...

    async def delete(self, kind: str, key: str) -> None:
        """Delete record ``key``; a record already gone is not an error."""
        ...


@dataclass
class _Row:
    kind: str
    values: dict[str, Any]
    origin: str | None
    changed: int
    archived: bool = False


@dataclass
class MemorySide:
    """A side held in memory, for the engine's tests and property tests.

    ``prefix`` is ``"tr"`` or ``"tf"``; keys are ``<prefix>:<kind>:<n>``. Every write ticks
    a logical clock; :meth:`observe` returns what changed after the cursor's tick. Kinds in
    ``listed`` are always observed completely (as TestRail sections are re-listed);
    the others only on a full observation. ``lose_answers`` makes that many next creates land
    and then raise :class:`LostAnswer`. ``writes`` counts write calls.
    """

    name: str
    prefix: str
    listed: frozenset[str] = frozenset({"folder"})
    rows: dict[str, _Row] = field(default_factory=dict)
    clock: int = 0
    next_id: int = 1
    lose_answers: int = 0
    writes: int = 0

    # ------------------------------------------------------------------ a person's edits

    def add(self, kind: str, values: Mapping[str, Any], origin: str | None = None) -> str:
        """Create a record as a person would; returns its key."""
        self.clock += 1
        key = f"{self.prefix}:{kind}:{self.next_id}"
        self.next_id += 1
        self.rows[key] = _Row(kind, dict(values), origin, self.clock)
        return key

    def edit(self, key: str, **values: Any) -> None:
        """Change values of a record as a person would."""
        self.clock += 1
        row = self.rows[key]
        row.values.update(values)
        row.changed = self.clock

    def remove(self, key: str) -> None:
        """Delete a record as a person would."""
        self.clock += 1
        del self.rows[key]

    def record(self, key: str) -> Record:
        """The record ``key`` as the engine would see it."""
        row = self.rows[key]
        return Record(row.kind, key, row.values, row.origin, row.changed)

    def live(self, kind: str) -> list[Record]:
        """Every record of ``kind``."""
        return [self.record(k) for k, r in self.rows.items() if r.kind == kind]

    def _row(self, key: str, endpoint: str) -> _Row:
        row = self.rows.get(key)
        if row is None:
            raise NotFound(self.name, endpoint, 404, f"{key} does not exist")
        return row

    # ------------------------------------------------------------------ Side

    async def observe(
        self,
        cursor: Mapping[str, Any] | None,
        *,
        full: bool,
        linked: Callable[[str], bool] = lambda _key: False,
        kinds: Collection[str] | None = None,
    ) -> Observation:
        """See :meth:`Side.observe`; the cursor is ``{"tick": n}``. A scoped observation
        (``kinds``) reads those kinds since the cursor and keeps the cursor where it was (it
        has one tick for every kind)."""
        since = int((cursor or {}).get("tick", -1))
        records = {
            key: self.record(key)
            for key, row in self.rows.items()
            if (full or cursor is None or row.kind in self.listed or row.changed > since)
            and (kinds is None or row.kind in kinds)
        }
        complete = set({"folder", "case"} if full or cursor is None else self.listed)
        if kinds is not None:
            complete &= set(kinds)
            return Observation(records, frozenset(complete), dict(cursor or {"tick": -1}))
        return Observation(records, frozenset(complete), {"tick": self.clock})

    async def fetch(self, keys: Iterable[str]) -> dict[str, Record]:
        """See :meth:`Side.fetch`."""
        return {key: self.record(key) for key in keys if key in self.rows}

    async def find(self, kind: str, origin: str, values: Mapping[str, Any]) -> Record | None:
        """See :meth:`Side.find` (by origin only)."""
        for key, row in self.rows.items():
            if row.kind == kind and row.origin == origin:
                return self.record(key)
        return None

    async def create(
        self, kind: str, items: Sequence[tuple[Mapping[str, Any], str]], *, more: bool = False
    ) -> list[str | RailfiestaError]:
        """See :meth:`Side.create` (every item, ``more`` or not)."""
        self.writes += 1
        keys: list[str | RailfiestaError] = [
            self.add(kind, values, origin) for values, origin in items
        ]
        if self.lose_answers:
            self.lose_answers -= 1
            raise LostAnswer(f"{self.name}: the answer to a create of {len(items)} was lost")
        return keys

    async def update(self, kind: str, key: str, changes: Mapping[str, Any]) -> None:
        """See :meth:`Side.update`."""
        self.writes += 1
        self.clock += 1
        row = self._row(key, "update")
        row.values.update(changes)
        for name, value in changes.items():
            if value is None:
                row.values.pop(name, None)
        row.changed = self.clock

    async def archive(self, kind: str, key: str) -> None:
        """See :meth:`Side.archive`."""
        self.writes += 1
        self.clock += 1
        row = self._row(key, "archive")
        row.archived = True
        row.changed = self.clock

    async def delete(self, kind: str, key: str) -> None:
        """See :meth:`Side.delete`."""
        self.writes += 1
        self.clock += 1
        self.rows.pop(key, None)
