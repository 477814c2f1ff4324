"""Plan: decisions -> ordered operations (DESIGN §5.3). Pure: no I/O, no store.

Order: links, flags and forgets first (they write nothing), then creates and updates kind by
kind in :data:`core.kinds.KINDS` order (parents first; within a kind a new record after the
new record it refers to, and the creates of one owner together in their listed order: a
test's results, :func:`owner_of`), then base refreshes (after the writes of their pair), then
archives and deletes, cases before folders. Each operation carries the value it expects on
the target, so the plan says exactly what will change.

An operation's ``id`` is a hash of what it does, so planning the same change twice (after a
crash, in the next cycle) gives the same id and the journal recognises it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from core.engine.reconcile import (
    Conflict,
    Create,
    Decision,
    Forget,
    Link,
    Notice,
    Reconciliation,
    Refresh,
    Remove,
    Resolution,
    Update,
)
from core.kinds import KINDS, apply_rank

#: Operation actions; the first four write nothing to either server.
LINK, REFRESH, FORGET, FLAG = "link", "refresh", "forget", "flag"
CREATE, UPDATE, ARCHIVE, DELETE = "create", "update", "archive", "delete"
WRITES = (CREATE, UPDATE, ARCHIVE, DELETE)


@dataclass(frozen=True, slots=True)
class Operation:
    """One step of a plan, JSON-ready (it is journaled as :meth:`as_dict`).

    ``action``: see the constants above. ``side``: the server written (None for bookkeeping).
    ``pair``: the TestRail key of the link (the TestFiesta key for a record not linked yet).
    ``target``: the record written (update, archive, delete); ``source``: the record copied
    (create). ``values``: values written, pair space (create: all; update: the changed ones).
    ``expected``: what the target holds now. ``settles``: base values committed when it
    lands. ``resolves``: conflict ids it closes. ``replaces``: a pair dropped when a create
    lands (an edit that beat a delete). ``link``: (TestRail key, TestFiesta key) for a link;
    ``unknown``: values without a common ancestor (links only).
    """

    id: str
    action: str
    kind: str
    pair: str
    side: str | None = None
    target: str | None = None
    source: str | None = None
    values: Mapping[str, Any] = field(default_factory=dict)
    expected: Mapping[str, Any] = field(default_factory=dict)
    settles: Mapping[str, Any] = field(default_factory=dict)
    resolves: tuple[str, ...] = ()
    replaces: str | None = None
    link: tuple[str, str] | None = None
    unknown: tuple[str, ...] = ()

    @property
    def writes(self) -> bool:
        """Whether the operation sends a request to a server."""
        return self.action in WRITES

    def as_dict(self) -> dict[str, Any]:
        """JSON form for the journal and ``sync --plan --json``."""
        return {
            "id": self.id,
            "action": self.action,
            "kind": self.kind,
            "pair": self.pair,
            "side": self.side,
            "target": self.target,
            "source": self.source,
            "values": dict(self.values),
            "expected": dict(self.expected),
            "settles": dict(self.settles),
            "resolves": list(self.resolves),
            "replaces": self.replaces,
            "link": list(self.link) if self.link else None,
            "unknown": list(self.unknown),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Operation:
        """Inverse of :meth:`as_dict`."""
        link = data.get("link")
        return cls(
            id=str(data["id"]),
            action=str(data["action"]),
            kind=str(data["kind"]),
            pair=str(data["pair"]),
            side=data.get("side"),
            target=data.get("target"),
            source=data.get("source"),
            values=dict(data.get("values") or {}),
            expected=dict(data.get("expected") or {}),
            settles=dict(data.get("settles") or {}),
            resolves=tuple(data.get("resolves") or ()),
            replaces=data.get("replaces"),
            link=(str(link[0]), str(link[1])) if link else None,
            unknown=tuple(data.get("unknown") or ()),
        )


@dataclass
class Plan:
    """Ordered :class:`Operation` list plus what needs a person: open ``conflicts``, policy
    ``resolutions`` and ``notices``."""

    operations: list[Operation] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    resolutions: list[Resolution] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)

    @property
    def writes(self) -> list[Operation]:
        """The operations that send requests."""
        return [op for op in self.operations if op.writes]

    def counts(self) -> dict[str, dict[str, int]]:
        """``{kind: {action: n}}`` over the write operations, for the plan's summary."""
        result: dict[str, dict[str, int]] = {}
        for op in self.writes:
            per_kind = result.setdefault(op.kind, {})
            key = f"{op.action} {op.side}"
            per_kind[key] = per_kind.get(key, 0) + 1
        return result

    def as_dict(self) -> dict[str, Any]:
        """JSON form for ``sync --plan --json``."""
        return {
            "operations": [op.as_dict() for op in self.writes],
            "counts": self.counts(),
            "conflicts": [c.as_dict() for c in self.conflicts],
            "notices": [vars(n) for n in self.notices],
        }


def operation_id(*parts: Any) -> str:
    """16 hex characters of sha256 over the JSON of ``parts``."""
    text = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _operation(decision: Decision) -> Operation:
    if isinstance(decision, Create):
        return Operation(
            id=operation_id(CREATE, decision.kind, decision.side, decision.source),
            action=CREATE,
            kind=decision.kind,
            pair=decision.source,
            side=decision.side,
            source=decision.source,
            values=decision.values,
            settles=decision.values,
            replaces=decision.replaces,
        )
    if isinstance(decision, Update):
        return Operation(
            id=operation_id(UPDATE, decision.side, decision.target, decision.changes),
            action=UPDATE,
            kind=decision.kind,
            pair=decision.pair,
            side=decision.side,
            target=decision.target,
            values=decision.changes,
            expected=decision.expected,
            settles=decision.settles,
        )
    if isinstance(decision, Link):
        return Operation(
            id=operation_id(LINK, decision.testrail, decision.testfiesta),
            action=LINK,
            kind=decision.kind,
            pair=decision.testrail,
            settles=decision.base,
            link=(decision.testrail, decision.testfiesta),
            unknown=tuple(sorted(decision.unknown)),
        )
    if isinstance(decision, Refresh):
        return Operation(
            id=operation_id(REFRESH, decision.pair, decision.settles, decision.resolves),
            action=REFRESH,
            kind=decision.kind,
            pair=decision.pair,
            settles=decision.settles,
            resolves=decision.resolves,
        )
    if isinstance(decision, Remove):
        action = ARCHIVE if decision.action == "archive" else DELETE
        return Operation(
            id=operation_id(action, decision.side, decision.target),
            action=action,
            kind=decision.kind,
            pair=decision.pair,
            side=decision.side,
            target=decision.target,
        )
    if isinstance(decision, Forget):
        return Operation(
            id=operation_id(FORGET, decision.pair),
            action=FORGET,
            kind=decision.kind,
            pair=decision.pair,
        )
    return Operation(
        id=operation_id(FLAG, decision.pair, decision.gone),
        action=FLAG,
        kind=decision.kind,
        pair=decision.pair,
        side=decision.gone,
    )


def _depths(
    operations: Iterable[Operation], placed: Mapping[str, int] | None = None
) -> dict[str, int]:
    """For creates: how many records being created this plan sit above each one (through its
    references), so a child is created after its parent; ``placed`` gives the depths of
    records created in the same cycle by another plan (see :func:`plan`)."""
    placed = placed or {}
    creates = {op.source: op for op in operations if op.action == CREATE and op.source}
    depth: dict[str, int] = {}

    def of(key: str, seen: frozenset[str]) -> int:
        if key in depth:
            return depth[key]
        op = creates[key]
        kind = KINDS[op.kind]
        result = 0
        for name, _ in kind.references:
            ref = op.values.get(name)
            if isinstance(ref, str) and ref in creates and ref not in seen:
                result = max(result, of(ref, seen | {key}) + 1)
            elif isinstance(ref, str) and ref in placed:
                result = max(result, placed[ref] + 1)
        depth[key] = result
        return result

    for key in creates:
        of(key, frozenset())
    return depth


def create_depths(operations: Iterable[Operation]) -> dict[str, int]:
    """For the creates among ``operations``: how many records being created sit above each
    one, by its source (see :func:`plan`'s order)."""
    return _depths(operations)


def depth_under(kind: str, values: Mapping[str, Any], depths: Mapping[str, int]) -> int:
    """Where :func:`plan` would order a create of ``kind`` with ``values`` among creates
    planned with it whose depths are ``depths`` (:func:`create_depths`): one below the
    deepest record it refers to, 0 when it refers to none of them."""
    return max(
        (
            depths[ref] + 1
            for name, _ in KINDS[kind].references
            if isinstance(ref := values.get(name), str) and ref in depths
        ),
        default=0,
    )


def owner_of(op: Operation) -> str | None:
    """The record whose records of ``op``'s kind land in order and together
    (:attr:`core.kinds.Kind.in_order_within`: a result's test), for a create; else None."""
    name = KINDS[op.kind].in_order_within
    if name is None or op.action != CREATE:
        return None
    owner = op.values.get(name)
    return owner if isinstance(owner, str) else None


def _owner_order(operations: Iterable[Operation]) -> dict[str, int]:
    """For creates of a kind kept in order within an owner: the rank of the owner's first
    create, so the sort puts one owner's creates together, in their listed order."""
    first: dict[str, int] = {}
    out: dict[str, int] = {}
    for op in operations:
        owner = owner_of(op)
        if owner is not None:
            out[op.id] = first.setdefault(owner, len(first))
    return out


def plan(reconciliation: Reconciliation, *, placed: Mapping[str, int] | None = None) -> Plan:
    """Order the decisions of ``reconciliation`` into a :class:`Plan` (see the module
    docstring); conflicts, resolutions and notices are carried over unchanged.

    ``placed``: the depths (:func:`create_depths`) of records another plan of the same cycle
    creates (a cycle planned in parts); a create here that refers to one sits below it, as
    in one plan of both."""
    operations = [_operation(d) for d in reconciliation.decisions]
    depth = _depths(operations, placed)
    owners = _owner_order(operations)
    bookkeeping = {LINK: 0, FLAG: 1, FORGET: 1}

    def order(op: Operation) -> tuple[int, int, int, int, int]:
        if op.action in bookkeeping:
            return (0, bookkeeping[op.action], 0, 0, 0)
        if op.action in (ARCHIVE, DELETE):
            return (3, -apply_rank(op.kind), 0, 0, 0)
        rank = apply_rank(op.kind)
        if op.action == CREATE:
            return (1, rank, 0, depth.get(op.source or "", 0), owners.get(op.id, 0))
        if op.action == UPDATE:
            return (1, rank, 1, 0, 0)
        return (2, rank, 0, 0, 0)  # refresh: after the writes of its pair

    # a stable sort: within a step, records keep the order their side listed them in (the
    # order people see; TestFiesta keeps creation order for folders)
    operations.sort(key=order)
    return Plan(
        operations,
        list(reconciliation.conflicts),
        list(reconciliation.resolutions),
        list(reconciliation.notices),
    )
