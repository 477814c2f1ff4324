"""Where one record stands in the sync: the badge each pane row shows (DESIGN §8).

The rule, for a record of either side (its key ``tr:<kind>:<id>`` or ``tf:<kind>:<uid>``):

1. ``conflict``: an open conflict (one nobody chose for yet) names the record's pair;
2. ``only-here``: the record is not linked to a record on the other side;
3. ``pending``: linked, and the engine still has work for it: a journal entry not confirmed
   names it (a write planned or sent), a write for it failed and waits to be retried
   (``retry:<pair>``), a conflict of its pair was resolved and waits to be applied, or the
   record changed after the engine last looked at it: its ``updated`` is later than that
   side's case cursor for the pair, the end of the last poll (``meta:last_poll``) and the end
   of the engine's last pass over the pair (``settled:<pair>``, :func:`settled_key`: a sync
   cycle, a migration's pass or its backfill). What a pass wrote itself is stamped after the
   cursor its observation took, but it is what the pass committed as the base on both
   sides, so it is not pending: a migration's copies read as synced at once, not after the
   next sync. (An edit a person made on a side while the pass ran reads as synced until the
   next poll sees it, as one made during a sync cycle does.) When both sides were just read
   (the details, :meth:`core.service.Service.record_sides`), whether their values differ
   replaces this time test (``differ`` of :func:`record_state`);
4. ``synced``: linked, and none of the above.

:func:`attention_from_store` reads the few store values the rule needs once (the conflict,
journal and retry lists, cursors: small however big the project), so :func:`record_state` is
a set lookup per record and a pane can badge 50,000 records at once.

:func:`roll_up` counts, per container (TestRail suite or section, TestFiesta folder), the
records below it (any depth) in conflict and pending, so a folder shows what waits inside
it without being opened. It walks up from the flagged records only (few), once per badge
read, not per key press.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

SYNCED, PENDING, CONFLICT, ONLY_HERE = "synced", "pending", "conflict", "only-here"
#: Every state, in the order the console's legend lists them.
STATES = (SYNCED, PENDING, CONFLICT, ONLY_HERE)
#: What a container's roll-up counts, in the order it is shown.
ROLLED_UP = (CONFLICT, PENDING)


def settled_key(pair: str) -> str:
    """The state store key holding when the engine's last pass over pair ``pair`` (the
    TestRail project id) ended: UNIX seconds (local clock, like ``meta:last_poll``), written
    by :class:`core.engine.cycle.Engine` when a cycle commits its cursors and when a backfill
    ends. Everything the pass wrote before then is the base on both sides."""
    return f"settled:{pair}"


class _Store(Protocol):
    def family(self, name: str) -> list[str]: ...

    def get_in(self, name: str, item_id: str) -> Any: ...

    def get(self, key: str, default: Any = None) -> Any: ...


@dataclass(frozen=True)
class Attention:
    """What the state store says needs attention, gathered once for many records.

    ``conflicts``/``pending``: record keys (either side's) with an open conflict / pending
    work; ``changed_after``: per pair id (the TestRail project id) and side (``testrail``,
    ``testfiesta``), the UNIX second after which an ``updated`` time means "not read yet".
    """

    conflicts: frozenset[str] = frozenset()
    pending: frozenset[str] = frozenset()
    changed_after: Mapping[tuple[str, str], float] = field(default_factory=dict)


def _keys_of(values: Iterable[Any]) -> set[str]:
    return {v for v in values if isinstance(v, str) and v.startswith(("tr:", "tf:"))}


def attention_from_store(store: _Store, pairs: Iterable[str]) -> Attention:
    """Gather :class:`Attention` from a :class:`core.store.StateStore` for pair ids ``pairs``
    (``meta:pairs``). Reads ``index:conflict`` and its entries, ``index:journal`` and its
    entries, ``retry:<pair>``, ``cursor:<pair>:<side>`` and ``meta:last_poll``."""
    conflicts: set[str] = set()
    pending: set[str] = set()
    for conflict_id in store.family("conflict"):
        entry = store.get_in("conflict", conflict_id)
        if not entry:
            continue
        conflict = entry.get("conflict") or {}
        keys = _keys_of((conflict.get("testrail"), conflict.get("testfiesta")))
        (pending if entry.get("resolution") else conflicts).update(keys)
    for op_id in store.family("journal"):
        entry = store.get_in("journal", op_id)
        if not entry or entry.get("state") == "confirmed":
            continue
        op = entry.get("op") or {}
        pending.update(_keys_of((op.get("pair"), op.get("target"), op.get("source"))))
        pending.update(_keys_of(op.get("link") or ()))
    last_poll = float(store.get("meta:last_poll") or 0)
    changed_after: dict[tuple[str, str], float] = {}
    for pair in pairs:
        pending.update(_keys_of(store.get(f"retry:{pair}") or ()))
        settled = float(store.get(settled_key(pair)) or 0)
        for side in ("testrail", "testfiesta"):
            cursor = store.get(f"cursor:{pair}:{side}")
            if isinstance(cursor, dict) and cursor.get("cases") is not None:
                changed_after[(pair, side)] = max(float(cursor["cases"]), last_poll, settled)
    return Attention(frozenset(conflicts), frozenset(pending), changed_after)


def record_state(
    key: str,
    linked: str | None,
    attention: Attention,
    *,
    updated: float | None = None,
    pair: str | None = None,
    differ: bool | None = None,
) -> str:
    """The state (:data:`STATES`) of record ``key`` under the rule above. ``linked``: the
    other side's key (None: not linked); ``updated``: when the record last changed (UNIX
    seconds; None when the side does not say, e.g. sections and folders); ``pair``: the pair
    id whose cursor ``updated`` is compared with (None: not compared); ``differ``: both sides
    were just read and their values differ (True) or agree (False): then that decides
    between ``pending`` and ``synced`` instead of ``updated`` (None: not read)."""
    if key in attention.conflicts or (linked is not None and linked in attention.conflicts):
        return CONFLICT
    if linked is None:
        return ONLY_HERE
    if key in attention.pending or linked in attention.pending:
        return PENDING
    if differ is not None:
        return PENDING if differ else SYNCED
    if updated is not None and pair is not None:
        side = "testrail" if key.startswith("tr:") else "testfiesta"
        after = attention.changed_after.get((pair, side))
        if after is not None and updated > after:
            return PENDING
    return SYNCED


@dataclass(frozen=True)
class Below:
    """What waits below one container (any depth): how many records are in ``conflict``
    and how many are ``pending`` (:func:`roll_up`)."""

    conflicts: int = 0
    pending: int = 0

    def count(self, state: str) -> int:
        """The count for ``state`` (:data:`ROLLED_UP`; 0 for any other state)."""
        return self.conflicts if state == CONFLICT else self.pending if state == PENDING else 0


def roll_up(states: Mapping[str, str], parents: Mapping[str, str | None]) -> dict[str, Below]:
    """Per container key, the records below it in conflict and pending.

    ``states``: record key -> state (:data:`STATES`), as :func:`record_state` gave them;
    ``parents``: record key -> its container's key (None or absent: at the top). A record
    counts once in each container above it, up to the top (a loop in ``parents`` is walked
    once). Containers with nothing below in conflict or pending are left out. Costs the
    flagged records times their depth, not a walk of every record."""
    counts: dict[str, list[int]] = {}
    for key, state in states.items():
        if state not in ROLLED_UP:
            continue
        index = 0 if state == CONFLICT else 1
        seen = {key}
        up = parents.get(key)
        while up is not None and up not in seen:
            seen.add(up)
            counts.setdefault(up, [0, 0])[index] += 1
            up = parents.get(up)
    return {key: Below(conflicts, pending) for key, (conflicts, pending) in counts.items()}
