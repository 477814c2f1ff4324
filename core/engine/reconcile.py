"""Reconcile: base x TestRail x TestFiesta -> decisions (DESIGN §5.2). Pure: no I/O, no store.

Every linked pair has a **base**: the values both sides last agreed on. Values are compared in
*pair space*: a reference to another record is written as the TestRail key of the pair it
belongs to (or the TestFiesta key while that record exists only in TestFiesta), so a case's
``folder`` means the same thing on both sides.

Per linked pair and per value:

- equal on both sides -> in sync (the base follows, if it lagged);
- changed on one side only -> propagate it to the other;
- changed differently on both -> a :class:`Conflict` holding all three values, settled by the
  field's policy (``testrail-wins``, ``testfiesta-wins``, ``newest-wins``) or queued (``ask``);
  a person's choice arrives as a resolution and is then propagated like any change.

Lists named by the kind (a case's ``steps``) merge item by item: an edit of step 2 on one side
and of step 4 on the other both land; the same step edited on both is one conflict on that
step (``steps[2]``, counted from 1). A side that did not observe a record (it did not change
since the cursor) is taken to hold the base.

A record that is new on one side is created on the other; one whose ``origin`` names an
unlinked record of the other side is linked to it instead (a lost answer, a lost store). A
record gone from a side whose observation is complete is a tombstone: ``flag`` (default)
reports it, ``archive`` and ``propagate`` archive or delete the other copy, an edit on the
other side beats the delete (the edited record is kept and copied back), and more deletes than
``big_delete_threshold`` wait for confirmation. In ``migrate`` mode only creates and links flow,
from TestRail to TestFiesta.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from core.kinds import APPEND_ONLY, KINDS, READ_ONLY, Kind, map_item_references
from core.model import Record, canonical_values

TESTRAIL = "testrail"
TESTFIESTA = "testfiesta"
SIDES = (TESTRAIL, TESTFIESTA)

#: Modes: two-way sync, or the migration's first pass (TestRail -> TestFiesta, create only).
SYNC = "sync"
MIGRATE = "migrate"

#: Conflict policies (``[sync] conflict_policy`` and ``[sync.fields]``).
ASK = "ask"
TESTRAIL_WINS = "testrail-wins"
TESTFIESTA_WINS = "testfiesta-wins"
NEWEST_WINS = "newest-wins"

#: Delete policies (``[sync] delete_policy``).
FLAG = "flag"
ARCHIVE = "archive"
PROPAGATE = "propagate"


def other(side: str) -> str:
    """The other side's name."""
    return TESTFIESTA if side == TESTRAIL else TESTRAIL


def side_of(key: str) -> str:
    """``"testrail"`` for a ``tr:`` key, ``"testfiesta"`` for a ``tf:`` key."""
    return TESTRAIL if key.startswith("tr:") else TESTFIESTA


def conflict_id(pair: str, value_name: str) -> str:
    """Stable id of the conflict on ``value_name`` of ``pair`` (12 hex characters), the same
    every cycle, so a conflict seen again is the same conflict."""
    return hashlib.sha256(f"{pair}|{value_name}".encode()).hexdigest()[:12]


@dataclass(frozen=True, slots=True)
class Base:
    """What both sides last agreed on for one link.

    ``values`` are in pair space; ``unknown`` names values that never had a common ancestor
    (a record found on both sides, linked by its origin): a difference there is a conflict.
    ``gone`` is the side where the record was deleted and the delete was flagged.
    """

    kind: str
    testrail: str
    testfiesta: str
    values: Mapping[str, Any]
    unknown: frozenset[str] = frozenset()
    gone: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", canonical_values(self.values))

    def as_dict(self) -> dict[str, Any]:
        """JSON form for the state store."""
        return {
            "kind": self.kind,
            "testrail": self.testrail,
            "testfiesta": self.testfiesta,
            "values": dict(self.values),
            "unknown": sorted(self.unknown),
            "gone": self.gone,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Base:
        """Inverse of :meth:`as_dict`."""
        return cls(
            kind=str(data["kind"]),
            testrail=str(data["testrail"]),
            testfiesta=str(data["testfiesta"]),
            values=canonical_values(data.get("values") or {}),
            unknown=frozenset(data.get("unknown") or ()),
            gone=data.get("gone"),
        )


@dataclass(frozen=True)
class Snapshot:
    """What one side's observation returned: ``records`` by key (changed since the cursor, or
    all), and the kinds whose observation was ``complete`` (every live record is in
    ``records``, so a linked key missing from it was deleted)."""

    records: Mapping[str, Record]
    complete: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Settings:
    """The policies reconcile applies (from ``[sync]`` and the command line)."""

    mode: str = SYNC
    conflict_policy: str = ASK
    field_policies: Mapping[str, str] = field(default_factory=dict)
    delete_policy: str = FLAG
    big_delete_threshold: int = 20
    confirm_deletes: bool = False

    def policy_for(self, value_name: str) -> str:
        """The conflict policy of a value (``steps[2]`` follows ``steps``)."""
        name = value_name.split("[", 1)[0]
        return self.field_policies.get(name, self.conflict_policy)


# ---------------------------------------------------------------------- decisions


@dataclass(frozen=True, slots=True)
class Create:
    """Create on ``side`` a copy of ``source`` (a key of the other side) with ``values``
    (pair space). ``replaces`` is a pair whose link is dropped when this one is made (an edit
    that beat a delete)."""

    kind: str
    side: str
    source: str
    values: Mapping[str, Any]
    replaces: str | None = None


@dataclass(frozen=True, slots=True)
class Update:
    """Write ``changes`` (pair space) to ``target`` on ``side``; ``expected`` are the values
    the target holds now, ``settles`` the base values committed when it lands."""

    kind: str
    side: str
    pair: str
    target: str
    changes: Mapping[str, Any]
    expected: Mapping[str, Any]
    settles: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Link:
    """Pair two records that are copies of each other; ``base`` holds the values they agree
    on, ``unknown`` those they do not (no common ancestor)."""

    kind: str
    testrail: str
    testfiesta: str
    base: Mapping[str, Any]
    unknown: frozenset[str]


@dataclass(frozen=True, slots=True)
class Refresh:
    """Commit ``settles`` to the base of ``pair`` without writing (both sides already agree),
    and close the conflicts in ``resolves``."""

    kind: str
    pair: str
    settles: Mapping[str, Any]
    resolves: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Remove:
    """``action`` (``archive`` or ``delete``) the copy ``target`` on ``side``, because the
    record was deleted on the other side."""

    kind: str
    side: str
    pair: str
    target: str
    action: str


@dataclass(frozen=True, slots=True)
class Forget:
    """Drop the link and base of ``pair`` (gone on both sides)."""

    kind: str
    pair: str


@dataclass(frozen=True, slots=True)
class Conflict:
    """One value changed differently on both sides since the base. ``values`` has
    ``testrail``, ``base`` (None when there was no common ancestor) and ``testfiesta``."""

    id: str
    kind: str
    testrail: str
    testfiesta: str
    field: str
    values: Mapping[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """JSON form (``conflicts list --json``)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "testrail": self.testrail,
            "testfiesta": self.testfiesta,
            "field": self.field,
            "values": dict(self.values),
        }


@dataclass(frozen=True)
class Resolution:
    """A conflict settled by a policy or a person: ``winner`` is ``testrail``,
    ``testfiesta`` or ``value`` (typed in); ``value`` the kept value, ``losing`` the values
    that gave way (kept readable in the journal)."""

    conflict: Conflict
    winner: str
    value: Any
    losing: Mapping[str, Any]
    by: str


@dataclass(frozen=True)
class Notice:
    """Something reconcile will not act on and a person should know: ``what`` is
    ``flagged`` (deleted on one side, kept on the other), ``held`` (a delete waiting for
    confirmation), ``kept`` (an edit beat a delete), ``stray`` (a copy whose original is
    gone), ``recreated`` (a migration copies again what was deleted in TestFiesta: it acts,
    the notice says why) or ``skipped``."""

    what: str
    kind: str
    key: str
    message: str
    other: str | None = None


@dataclass(frozen=True)
class Flag:
    """Remember in the base that ``pair`` was deleted on ``gone`` and the delete was reported
    (``delete_policy = flag``), so it is reported once, not every cycle."""

    kind: str
    pair: str
    gone: str


Decision = Create | Update | Link | Refresh | Remove | Forget | Flag


@dataclass
class Reconciliation:
    """Everything one reconcile decided: ``decisions`` to plan, open ``conflicts``, policy
    ``resolutions`` and ``notices``."""

    decisions: list[Decision] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    resolutions: list[Resolution] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)


# ---------------------------------------------------------------------- list merge

_MISSING = object()


@dataclass(frozen=True)
class ListMerge:
    """Result of :func:`merge_lists`: ``merged`` items (base items stand at conflicting
    positions), ``conflicts`` the positions (0-based) changed differently on both sides, and
    ``whole`` when the two edits overlap in a way no position can describe."""

    merged: list[Any]
    conflicts: tuple[int, ...] = ()
    whole: bool = False


def _frozen(item: Any) -> str:
    return json.dumps(item, sort_keys=True, ensure_ascii=False)


def _hunks(base: Sequence[Any], new: Sequence[Any]) -> list[tuple[int, int, list[Any]]]:
    matcher = difflib.SequenceMatcher(
        a=[_frozen(x) for x in base], b=[_frozen(x) for x in new], autojunk=False
    )
    return [
        (i1, i2, list(new[j1:j2]))
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag != "equal"
    ]


def merge_lists(base: Sequence[Any], ours: Sequence[Any], theirs: Sequence[Any]) -> ListMerge:
    """Three-way merge of lists: ``ours`` and ``theirs`` are two edits of ``base``.

    Same length on all three: position by position. Otherwise the two edits' changed
    regions of ``base`` are applied together when they do not touch; touching regions that
    differ make the whole list a conflict.
    """
    if list(ours) == list(theirs):
        return ListMerge(list(ours))
    if list(ours) == list(base):
        return ListMerge(list(theirs))
    if list(theirs) == list(base):
        return ListMerge(list(ours))
    if len(base) == len(ours) == len(theirs):
        merged, conflicts = [], []
        for index, (b, o, t) in enumerate(zip(base, ours, theirs, strict=True)):
            if o == t or t == b:
                merged.append(o)
            elif o == b:
                merged.append(t)
            else:
                merged.append(b)
                conflicts.append(index)
        return ListMerge(merged, tuple(conflicts))
    ours_hunks, theirs_hunks = _hunks(base, ours), _hunks(base, theirs)
    for s1, e1, r1 in ours_hunks:
        for s2, e2, r2 in theirs_hunks:
            if (s1, e1, r1) == (s2, e2, r2):
                continue
            overlap = s1 < e2 and s2 < e1
            same_point = s1 == s2 and (s1 == e1 or s2 == e2)
            if overlap or same_point:
                return ListMerge(list(base), whole=True)
    hunks = sorted(
        [(*h, 0) for h in ours_hunks] + [(*h, 1) for h in theirs_hunks],
        key=lambda h: (h[0], h[1], h[3]),
    )
    merged = []
    position = 0
    applied: set[tuple[int, int, str]] = set()
    for start, end, replacement, _ in hunks:
        signature = (start, end, _frozen(replacement))
        if signature in applied:
            continue
        applied.add(signature)
        merged.extend(base[position:start])
        merged.extend(replacement)
        position = max(position, end)
    merged.extend(base[position:])
    return ListMerge(merged)


# ---------------------------------------------------------------------- reconcile


@dataclass(frozen=True)
class Inputs:
    """Everything reconcile looks at: the ``bases`` by TestRail key, both snapshots, and the
    values people chose for conflicts (``resolutions`` by conflict id, each
    ``(winner, value)`` with winner ``testrail``, ``testfiesta`` or ``value``). ``links``
    maps TestFiesta keys to the TestRail keys they are linked to, for references to records
    whose base is not among ``bases`` (the project's root folder, records not observed)."""

    bases: Mapping[str, Base]
    testrail: Snapshot
    testfiesta: Snapshot
    resolutions: Mapping[str, tuple[str, Any]] = field(default_factory=dict)
    links: Mapping[str, str] = field(default_factory=dict)


class _PairSpace:
    """Translation of one side's references into pair space (pure, from the bases)."""

    def __init__(self, bases: Iterable[Base], links: Mapping[str, str]) -> None:
        self.tr_of: dict[str, str] = dict(links)
        self.tr_of.update({b.testfiesta: b.testrail for b in bases})

    def key(self, ref: str) -> str:
        return self.tr_of.get(ref, ref)

    def values(self, record: Record, kind: Kind) -> dict[str, Any]:
        values = dict(record.values)
        if side_of(record.key) == TESTFIESTA:
            for name, _ in kind.references:
                ref = values.get(name)
                if isinstance(ref, str):
                    values[name] = self.key(ref)
            for name, _ in kind.list_references:
                refs = values.get(name)
                if isinstance(refs, list):
                    values[name] = [self.key(r) if isinstance(r, str) else r for r in refs]
            map_item_references(kind, values, self.key)
        return values

    def natural(self, record: Record) -> tuple[str, ...] | None:
        if record.natural is None:
            return None
        return tuple(self.key(k) for k in record.natural)


def reconcile(inputs: Inputs, settings: Settings) -> Reconciliation:
    """Decide what to do about every record either side observed (see the module docstring).

    Returns decisions in no particular order (:mod:`core.engine.plan` orders them), the open
    conflicts, the resolutions a policy made, and the notices. Never raises for data: every
    odd case becomes a notice.
    """
    out = Reconciliation()
    space = _PairSpace(inputs.bases.values(), inputs.links)
    by_tf = {b.testfiesta: b for b in inputs.bases.values()}
    tr_records, tf_records = inputs.testrail.records, inputs.testfiesta.records
    removes: list[Remove] = []

    for base in inputs.bases.values():
        kind = KINDS.get(base.kind)
        if kind is None:
            continue
        tr_rec = tr_records.get(base.testrail)
        tf_rec = tf_records.get(base.testfiesta)
        tr_gone = tr_rec is None and base.kind in inputs.testrail.complete
        tf_gone = tf_rec is None and base.kind in inputs.testfiesta.complete
        if (
            settings.mode == MIGRATE
            and tf_gone
            and tr_rec is not None
            and kind.creatable
            and base.gone != TESTRAIL
        ):
            # a migration makes TestFiesta hold what TestRail holds: a copy deleted there
            # (by a person, or flagged by a sync) is copied again, its old link dropped
            out.decisions.append(
                Create(base.kind, TESTFIESTA, tr_rec.key, tr_rec.values, base.testrail)
            )
            if kind.merge != READ_ONLY:  # a case's history goes with its case: no notice
                out.notices.append(
                    Notice(
                        "recreated",
                        base.kind,
                        tr_rec.key,
                        f"{base.testfiesta}, the copy of {tr_rec.key}, was deleted in "
                        "TestFiesta: the migration copies it again",
                        base.testfiesta,
                    )
                )
            continue
        if kind.merge == READ_ONLY:
            _read_only(out, base, kind, tr_rec, tf_rec, space, tf_seen_all=tf_gone)
            continue
        if base.gone is not None:
            if (base.gone == TESTRAIL and tf_gone) or (base.gone == TESTFIESTA and tr_gone):
                out.decisions.append(Forget(base.kind, base.testrail))
            continue
        if tr_gone and tf_gone:
            out.decisions.append(Forget(base.kind, base.testrail))
            continue
        if tr_gone or tf_gone:
            if settings.mode == MIGRATE:
                continue
            gone = TESTRAIL if tr_gone else TESTFIESTA
            survivor = tf_rec if tr_gone else tr_rec
            _tombstone(out, removes, base, kind, gone, survivor, space, settings)
            continue
        if tr_rec is None and tf_rec is None:
            continue
        if kind.merge == APPEND_ONLY:
            continue  # added once, never edited: a linked pair has nothing to merge
        tr_vals = _known(space, kind, tr_rec, base)
        tf_vals = _known(space, kind, tf_rec, base)
        _merge_pair(out, base, kind, tr_vals, tf_vals, tr_rec, tf_rec, inputs, settings)

    # records no base knows
    adopted_tf: set[str] = set()
    by_natural = {
        (r.kind, space.natural(r)): r
        for r in tf_records.values()
        if r.natural is not None and r.key not in by_tf
    }
    tf_by_origin: dict[str, list[Record]] = {}
    for tf_record in tf_records.values():
        if tf_record.origin:
            tf_by_origin.setdefault(tf_record.origin, []).append(tf_record)
    for key, record in tr_records.items():
        if key in inputs.bases or record.kind not in KINDS:
            continue
        kind = KINDS[record.kind]
        if not kind.creatable:
            match = by_natural.get((record.kind, space.natural(record)))
            if match is not None and match.key not in adopted_tf:
                adopted_tf.add(match.key)
                _adopt(out, kind, record, match, space, inputs, settings)
            continue
        partner = tf_records.get(record.origin) if record.origin else None
        if partner is None:
            partner = next(
                (
                    r
                    for r in tf_by_origin.get(key, ())
                    if r.key not in by_tf and r.key not in adopted_tf
                ),
                None,
            )
        if partner is not None and partner.key not in by_tf and partner.key not in adopted_tf:
            adopted_tf.add(partner.key)
            _adopt(out, kind, record, partner, space, inputs, settings)
            continue
        if record.origin and side_of(record.origin) == TESTFIESTA:
            out.notices.append(
                Notice(
                    "stray",
                    record.kind,
                    key,
                    f"{key} was copied from {record.origin}, which TestFiesta no longer has",
                    record.origin,
                )
            )
            continue
        # a TestRail record's values are pair space already: the create shares them (read
        # only, as every record's) rather than a copy per record of a first pass
        out.decisions.append(Create(record.kind, TESTFIESTA, key, record.values))

    for key, record in tf_records.items():
        if key in by_tf or key in adopted_tf or record.kind not in KINDS:
            continue
        kind = KINDS[record.kind]
        if not kind.creatable or kind.merge == READ_ONLY:
            # comes with its parent (paired by its natural key once both exist), or a
            # read-only copy of TestRail's: never created on, or reported to, TestRail
            continue
        if record.origin is not None:
            out.notices.append(
                Notice(
                    "stray",
                    record.kind,
                    key,
                    f"{key} was copied from {record.origin}, which TestRail no longer has "
                    "(deleted, or another TestRail)",
                    record.origin,
                )
            )
            continue
        if settings.mode == MIGRATE:
            continue
        out.decisions.append(Create(record.kind, TESTRAIL, key, space.values(record, kind)))

    if len(removes) > settings.big_delete_threshold and not settings.confirm_deletes:
        for remove in removes:
            out.notices.append(
                Notice(
                    "held",
                    remove.kind,
                    remove.target,
                    f"{remove.action} of {remove.target} waits: {len(removes)} deletes in one "
                    f"cycle exceed big_delete_threshold = {settings.big_delete_threshold} "
                    "(run with --confirm-deletes to apply them)",
                    remove.pair,
                )
            )
    else:
        out.decisions.extend(removes)
    return out


def _known(space: _PairSpace, kind: Kind, record: Record | None, base: Base) -> dict[str, Any]:
    """A side's values of a linked pair: the record's (pair space), with the base standing in
    for a record the side did not observe and for values a partial record does not carry."""
    if record is None:
        return dict(base.values)
    values = space.values(record, kind)
    if record.partial:
        return {**base.values, **values}
    return values


def _adopt(
    out: Reconciliation,
    kind: Kind,
    tr_rec: Record,
    tf_rec: Record,
    space: _PairSpace,
    inputs: Inputs,
    settings: Settings,
) -> None:
    """Link two copies found on both sides; values they agree on become the base, the others
    have no common ancestor and are merged as such (a difference is a conflict)."""
    tr_vals = space.values(tr_rec, kind)
    # the partner is not linked yet, so its own references may still be TestFiesta keys
    tf_vals = space.values(tf_rec, kind)
    names = (set(tr_vals) | set(tf_vals)) - set(kind.create_only)
    if tr_rec.copy != tf_rec.copy:
        # one record started as a copy made by railfiesta: its values were the defaults it
        # got, so they are the base and the other side's values flow to it
        copied = tf_vals if tf_rec.copy else tr_vals
        agreed = {n: copied[n] for n in names if n in copied}
        unknown: frozenset[str] = frozenset()
    else:
        agreed = {n: tr_vals[n] for n in names if tr_vals.get(n) == tf_vals.get(n) and n in tr_vals}
        unknown = frozenset(n for n in names if tr_vals.get(n) != tf_vals.get(n))
    out.decisions.append(Link(kind.name, tr_rec.key, tf_rec.key, agreed, unknown))
    if kind.merge == APPEND_ONLY:
        return
    if kind.merge == READ_ONLY:
        # TestRail wins: what the copy found lacks of it is written to TestFiesta
        changes = {n: v for n, v in tr_vals.items() if tf_vals.get(n) != v}
        if changes:
            expected = {n: tf_vals.get(n) for n in changes}
            out.decisions.append(
                Update(kind.name, TESTFIESTA, tr_rec.key, tf_rec.key, changes, expected, changes)
            )
        return
    if (unknown or tr_vals != agreed or tf_vals != agreed) and (
        settings.mode == SYNC or tr_rec.copy != tf_rec.copy
    ):
        base = Base(kind.name, tr_rec.key, tf_rec.key, agreed, unknown)
        _merge_pair(out, base, kind, tr_vals, tf_vals, tr_rec, tf_rec, inputs, settings)


def _read_only(
    out: Reconciliation,
    base: Base,
    kind: Kind,
    tr_rec: Record | None,
    tf_rec: Record | None,
    space: _PairSpace,
    *,
    tf_seen_all: bool = False,
) -> None:
    """A linked pair of a :data:`core.kinds.READ_ONLY` kind (a case's TestRail history): only
    TestRail's values count. Not read on TestRail this cycle (history is read by migrations
    only): nothing to do. Read: values TestFiesta's copy lacks or holds otherwise (edited
    there, or cleared) are written to it again (TestRail wins, never a conflict); equal
    values refresh a lagging base. Deletions on either side are never propagated: a copy
    missing from a complete TestFiesta listing (``tf_seen_all``) is written again, one
    TestFiesta did not list is taken to hold the base."""
    if tr_rec is None:
        return
    tr_vals = space.values(tr_rec, kind)
    if tf_rec is not None:
        tf_vals = space.values(tf_rec, kind)
    else:
        tf_vals = {} if tf_seen_all else dict(base.values)
    changes = {n: v for n, v in tr_vals.items() if tf_vals.get(n) != v}
    if changes:
        expected = {n: tf_vals.get(n) for n in changes}
        out.decisions.append(
            Update(kind.name, TESTFIESTA, base.testrail, base.testfiesta, changes, expected,
                   dict(tr_vals))
        )  # fmt: skip
    elif dict(base.values) != tr_vals:
        out.decisions.append(Refresh(kind.name, base.testrail, tr_vals))


def _tombstone(
    out: Reconciliation,
    removes: list[Remove],
    base: Base,
    kind: Kind,
    gone: str,
    survivor: Record | None,
    space: _PairSpace,
    settings: Settings,
) -> None:
    survivor_key = base.testfiesta if gone == TESTRAIL else base.testrail
    gone_key = base.testrail if gone == TESTRAIL else base.testfiesta
    if survivor is not None and space.values(survivor, kind) != dict(base.values):
        out.decisions.append(
            Create(kind.name, gone, survivor.key, space.values(survivor, kind), base.testrail)
        )
        out.notices.append(
            Notice(
                "kept",
                kind.name,
                survivor.key,
                f"{gone_key} was deleted in {gone} but {survivor.key} was edited since the "
                f"last sync: the edit wins, it is copied back to {gone}",
                gone_key,
            )
        )
        return
    if settings.delete_policy == FLAG:
        out.notices.append(
            Notice(
                "flagged",
                kind.name,
                survivor_key,
                f"{gone_key} was deleted in {gone}; {survivor_key} is kept (delete_policy = flag)",
                gone_key,
            )
        )
        out.decisions.append(Flag(kind.name, base.testrail, gone))
        return
    action = "archive" if settings.delete_policy == ARCHIVE else "delete"
    removes.append(Remove(kind.name, other(gone), base.testrail, survivor_key, action))


def _merge_pair(
    out: Reconciliation,
    base: Base,
    kind: Kind,
    tr_vals: Mapping[str, Any],
    tf_vals: Mapping[str, Any],
    tr_rec: Record | None,
    tf_rec: Record | None,
    inputs: Inputs,
    settings: Settings,
) -> None:
    """Three-way merge of one linked pair, value by value."""
    pair = base.testrail
    names = sorted(
        (set(tr_vals) | set(tf_vals) | set(base.values) | set(base.unknown)) - set(kind.create_only)
    )
    merged: dict[str, Any] = {}
    settles: dict[str, Any] = {}
    resolves: list[str] = []
    to_tr: dict[str, Any] = {}
    to_tf: dict[str, Any] = {}
    migrate = settings.mode == MIGRATE

    def decide(name: str, value: Any) -> None:
        merged[name] = value
        settles[name] = value
        if tr_vals.get(name) != value:
            to_tr[name] = value
        if tf_vals.get(name) != value:
            to_tf[name] = value

    for name in names:
        b = _MISSING if name in base.unknown else base.values.get(name)
        t, f = tr_vals.get(name), tf_vals.get(name)
        if t == f:
            if b != t:
                settles[name] = t
                resolves.append(conflict_id(pair, name))
            merged[name] = t
            continue
        if migrate:
            # the migration writes TestFiesta only where its record is a fresh copy (a copied
            # run's executions start as defaults): TestRail's values fill it in
            if tf_rec is not None and tf_rec.copy and b is not _MISSING and f == b:
                decide(name, t)
            continue
        if b is not _MISSING and t == b:
            decide(name, f)
            continue
        if b is not _MISSING and f == b:
            decide(name, t)
            continue
        if name in kind.lists and b is not _MISSING:
            result = merge_lists(b if isinstance(b, list) else [], t or [], f or [])
            if not result.whole:
                items = list(result.merged)
                unresolved: list[int] = []
                for index in result.conflicts:
                    label = f"{name}[{index + 1}]"
                    chosen = _settle(
                        out,
                        base,
                        label,
                        _at(t, index),
                        _at(b, index),
                        _at(f, index),
                        tr_rec,
                        tf_rec,
                        inputs,
                        settings,
                    )
                    if chosen is _MISSING:
                        unresolved.append(index)
                    else:
                        items[index] = chosen
                        resolves.append(conflict_id(pair, label))
                if unresolved:
                    # what merged cleanly or was settled still lands; the open conflicting
                    # steps keep each side's text and the base text, so they stay conflicts
                    _partial_list(out, base, kind, name, items, t, f, unresolved, b)
                    continue
                decide(name, items)
                continue
        chosen = _settle(
            out,
            base,
            name,
            t,
            None if b is _MISSING else b,
            f,
            tr_rec,
            tf_rec,
            inputs,
            settings,
        )
        if chosen is _MISSING:
            continue
        resolves.append(conflict_id(pair, name))
        decide(name, chosen)

    _emit_updates(out, base, kind, to_tr, to_tf, tr_vals, tf_vals, settles, resolves)


def _emit_updates(
    out: Reconciliation,
    base: Base,
    kind: Kind,
    to_tr: Mapping[str, Any],
    to_tf: Mapping[str, Any],
    tr_vals: Mapping[str, Any],
    tf_vals: Mapping[str, Any],
    settles: Mapping[str, Any],
    resolves: Sequence[str],
) -> None:
    pair = base.testrail
    written: set[str] = set()
    for side, changes, target, current in (
        (TESTRAIL, to_tr, base.testrail, tr_vals),
        (TESTFIESTA, to_tf, base.testfiesta, tf_vals),
    ):
        if not changes:
            continue
        own = {n: settles[n] for n in changes if n in settles}
        expected = {n: current.get(n) for n in changes}
        out.decisions.append(Update(kind.name, side, pair, target, dict(changes), expected, own))
        written |= set(changes)
    rest = {n: v for n, v in settles.items() if n not in written}
    if rest or resolves:
        out.decisions.append(Refresh(kind.name, pair, rest, tuple(dict.fromkeys(resolves))))


def _partial_list(
    out: Reconciliation,
    base: Base,
    kind: Kind,
    name: str,
    items: list[Any],
    t: Any,
    f: Any,
    conflicts: Sequence[int],
    b: Any,
) -> None:
    """Land the cleanly merged items of a list with open item conflicts: each side gets the
    merged list but keeps its own version of every conflicting item; the base keeps the base
    version there, so those items stay conflicts."""
    tr_list = [(_at(t, i) if i in conflicts else item) for i, item in enumerate(items)]
    tf_list = [(_at(f, i) if i in conflicts else item) for i, item in enumerate(items)]
    base_list = [(_at(b, i) if i in conflicts else item) for i, item in enumerate(items)]
    pair = base.testrail
    if tr_list != (t or []):
        out.decisions.append(
            Update(kind.name, TESTRAIL, pair, base.testrail, {name: tr_list}, {name: t}, {})
        )
    if tf_list != (f or []):
        out.decisions.append(
            Update(kind.name, TESTFIESTA, pair, base.testfiesta, {name: tf_list}, {name: f}, {})
        )
    if base_list != (b or []):
        out.decisions.append(Refresh(kind.name, pair, {name: base_list}))


def _at(values: Any, index: int) -> Any:
    if isinstance(values, list) and 0 <= index < len(values):
        return values[index]
    return None


def _settle(
    out: Reconciliation,
    base: Base,
    name: str,
    t: Any,
    b: Any,
    f: Any,
    tr_rec: Record | None,
    tf_rec: Record | None,
    inputs: Inputs,
    settings: Settings,
) -> Any:
    """The value a conflict on ``name`` settles to now, or ``_MISSING`` while it waits for a
    person (the conflict is then added to ``out.conflicts``)."""
    conflict = Conflict(
        conflict_id(base.testrail, name),
        base.kind,
        base.testrail,
        base.testfiesta,
        name,
        {TESTRAIL: t, "base": b, TESTFIESTA: f},
    )
    chosen = inputs.resolutions.get(conflict.id)
    if chosen is not None:
        chosen_side, value = chosen
        if chosen_side == TESTRAIL:
            return t
        if chosen_side == TESTFIESTA:
            return f
        return value
    policy = settings.policy_for(name)
    winner: str | None = None
    if policy == TESTRAIL_WINS:
        winner = TESTRAIL
    elif policy == TESTFIESTA_WINS:
        winner = TESTFIESTA
    elif policy == NEWEST_WINS:
        tr_time = tr_rec.updated_on if tr_rec else None
        tf_time = tf_rec.updated_on if tf_rec else None
        winner = TESTFIESTA if (tf_time or 0) > (tr_time or 0) else TESTRAIL
    if winner is None:
        out.conflicts.append(conflict)
        return _MISSING
    value = t if winner == TESTRAIL else f
    out.resolutions.append(
        Resolution(conflict, winner, value, {other(winner): f if winner == TESTRAIL else t}, policy)
    )
    return value
