"""Sync reports and exit codes (DESIGN §8): what one sync cycle of one pair did.

Exit codes, the same for every verb: 0 clean, 1 conflicts or skipped items pending, 2
failures, 3 fatal (bad config, wrong credentials, server unreachable; raised, not reported).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from core.engine.apply import ApplyReport
from core.engine.plan import Operation, Plan
from core.kinds import counted, kind_label, kind_word

CLEAN, PENDING, FAILED, FATAL = 0, 1, 2, 3
#: Records a grouped failure line names before it says how many more there are.
SHOWN_IDS = 3


def _record(op: Operation) -> str:
    return op.source or op.target or op.pair


def _shape(op: Operation, reason: str) -> str:
    """``reason`` without the record's own key or id, so the same refusal of two records
    reads the same (``"result tr:result:7 waits: ..."`` -> ``"result * waits: ..."``)."""
    for key in {k for k in (op.source, op.target, op.pair) if k}:
        reason = reason.replace(key, "*")
        ident = key.rsplit(":", 1)[-1]
        if len(ident) > 1 or ident.isdigit():
            reason = re.sub(rf"(?<![\w:]){re.escape(ident)}(?![\w])", "*", reason)
    return reason


Failure = tuple[Operation, str]


def group_failures(failed: Sequence[Failure]) -> list[list[Failure]]:
    """Failed writes ``(operation, reason)`` in groups: one ``action`` on one ``kind`` whose
    reasons differ only in the record's own key or id (:func:`_shape`), in the order their
    first failure came."""
    groups: dict[tuple[str, str, str], list[Failure]] = {}
    for op, reason in failed:
        key = (op.action, op.kind, _shape(op, str(reason)))
        groups.setdefault(key, []).append((op, str(reason)))
    return list(groups.values())


def more_like(group: Sequence[Failure], shown: int = SHOWN_IDS) -> str:
    """What follows a group's first failure on its line: ``""`` for a group of one, else
    ``" (and 760 more the same way: tr:result:2, tr:result:3, tr:result:4, ...; --json
    lists all)"``, naming up to ``shown`` of the others."""
    others = [_record(op) for op, _ in group[1:]]
    if not others:
        return ""
    listed = ", ".join(others[:shown]) + (", ..." if len(others) > shown else "")
    return f" (and {len(others)} more the same way: {listed}; --json lists all)"


def done_text(done: Mapping[str, int]) -> str:
    """An apply's write counts (``{"update testfiesta case": 1}``) in words, sorted:
    ``"update testfiesta 1 case, create testrail 2 shared steps"`` (kinds by their labels,
    :data:`core.kinds.KIND_LABELS`); a key of another shape is kept as ``"<key> <n>"``."""
    parts = []
    for key, n in sorted(done.items()):
        words = key.split(" ")
        if len(words) == 3:
            action, side, kind = words
            parts.append(f"{action} {side} {counted(n, kind_label(kind))}")
        else:
            parts.append(f"{key} {n}")
    return ", ".join(parts)


def failure_lines(failed: Sequence[Failure], *, verb: bool = False) -> list[str]:
    """One line per group of :func:`group_failures`, for people (``--json`` keeps every
    failure): ``"<kind> <key>: <reason>"`` for the group's first, then :func:`more_like`
    (``"result tr:result:1: result tr:result:1 waits: ... (and 760 more the same way:
    tr:result:2, ...; --json lists all)"``). ``verb`` puts the action first (``"create result
    tr:result:1: ..."``), as sync prints it."""
    lines = []
    for group in group_failures(failed):
        op, reason = group[0]
        head = f"{op.action} {kind_word(op.kind)}" if verb else kind_word(op.kind)
        lines.append(f"{head} {_record(op)}: {reason}{more_like(group)}")
    return lines


@dataclass
class SyncReport:
    """One pair's sync cycle (or plan, when ``applied`` is None).

    ``requests`` are the HTTP requests each side spent on it; ``full`` says whether every
    record was read (deletions are only seen then); ``warnings`` are sentences for people.
    """

    testrail_project: str
    testfiesta_project: str
    plan: Plan
    applied: ApplyReport | None = None
    requests: dict[str, int] = field(default_factory=dict)
    full: bool = False
    warnings: list[str] = field(default_factory=list)
    recovered: int = 0

    @property
    def writes(self) -> int:
        """Write operations that landed (planned ones, for a plan)."""
        if self.applied is None:
            return len(self.plan.writes)
        return self.applied.writes

    @property
    def held(self) -> int:
        """Deletes waiting for ``--confirm-deletes``."""
        return sum(1 for n in self.plan.notices if n.what == "held")

    @property
    def exit_code(self) -> int:
        """2 when a write failed, 1 when conflicts, held deletes or skipped writes wait,
        else 0."""
        if self.applied is not None and self.applied.failed:
            return FAILED
        if self.plan.conflicts or self.held or (self.applied and self.applied.skipped):
            return PENDING
        return CLEAN

    def as_dict(self) -> dict[str, Any]:
        """JSON form for ``sync --once --json`` and ``sync --plan --json``."""
        applied = self.applied
        return {
            "testrail_project": self.testrail_project,
            "testfiesta_project": self.testfiesta_project,
            "full": self.full,
            "plan": self.plan.as_dict(),
            "applied": None
            if applied is None
            else {
                "done": dict(applied.done),
                "failed": [
                    {"operation": op.as_dict(), "reason": reason} for op, reason in applied.failed
                ],
                "skipped": [op.as_dict() for op in applied.skipped],
            },
            "requests": dict(self.requests),
            "warnings": list(self.warnings),
            "recovered": self.recovered,
            "exit_code": self.exit_code,
        }


def exit_code(codes: Iterable[int]) -> int:
    """The worst of several exit codes (0 when there are none)."""
    return max(codes, default=CLEAN)


@dataclass(frozen=True)
class SyncStarted:
    """Event: a sync cycle over every ``[[pair]]`` begins (not sent for a plan)."""


@dataclass(frozen=True)
class SyncFinished:
    """Event: one pair's sync cycle (or plan) is over; ``report`` says what it did."""

    report: SyncReport


@dataclass(frozen=True)
class WatchPaused:
    """Event of ``sync --watch``: ``paused`` True when it found ``[sync] enabled = false`` in
    the config file ``path`` and waits, False when it (re)starts syncing."""

    paused: bool
    path: str
