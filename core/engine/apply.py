"""Apply a plan through a journal in the state store (DESIGN §5.4).

Each write is journalled as ``sent`` in ``journal:<operation id>`` before its request goes
out (one transaction per batch), and its base and link are committed in the same transaction
that deletes the journal entry, right after the answer. The steps ``planned -> sent ->
confirmed`` are told to ``on_step`` (tests crash there); ``planned`` and ``confirmed`` rows
are not written on their own (nothing happens between ``planned`` and ``sent``, and
``confirmed`` is the commit itself), but older journals may hold them. A crash leaves at most
the entries of the operations in flight; :func:`recover` settles them before anything is sent
again:

- ``planned``: never sent: dropped (the next plan makes it again);
- ``sent``: a create is looked up on its side by origin (the TestFiesta ``externalId``, the
  TestRail marker) and linked when found; other writes are dropped, because the next
  observation shows whether they landed and reconcile treats an equal value as in sync;
- ``confirmed``: committed.

A create whose answer was lost while the process lives (:class:`core.engine.sides.LostAnswer`,
a 5xx, or a 2xx whose body is not the answer: :func:`may_have_landed`) is settled the same
way at once: looked up, linked when found, reported as failed (and made again next cycle)
when not. It is never re-sent blindly.

What we wrote becomes the base, so our own writes never come back as changes.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from core.engine.plan import (
    ARCHIVE,
    CREATE,
    DELETE,
    FLAG,
    FORGET,
    LINK,
    REFRESH,
    UPDATE,
    Operation,
    Plan,
    operation_id,
    owner_of,
)
from core.engine.reconcile import TESTFIESTA, TESTRAIL, Base, side_of
from core.engine.sides import LostAnswer, Side
from core.errors import (
    AnswerLost,
    ApiError,
    AuthenticationFailed,
    NotFound,
    RailfiestaError,
    ServerUnreachable,
    UnexpectedResponse,
    WrongServer,
)
from core.http import stage
from core.kinds import KINDS, kind_label, map_item_references
from core.model import canonical_values
from core.store import StateStore

JOURNAL = "journal"
CONFLICT = "conflict"
RESOLVED = "resolved"

PLANNED, SENT, CONFIRMED = "planned", "sent", "confirmed"

#: Errors that stop the whole apply (the server is unreachable, refuses us, or is not the
#: server we think): the journal keeps what was in flight and the next run settles it. A
#: write whose answer alone was lost (:class:`core.errors.AnswerLost`) does not stop it.
FATAL = (ServerUnreachable, AuthenticationFailed, WrongServer)


def stops_the_apply(error: BaseException) -> bool:
    """Whether ``error`` ends the whole apply (:data:`FATAL`, but not a lost answer)."""
    return isinstance(error, FATAL) and not isinstance(error, AnswerLost)


def may_have_landed(error: BaseException) -> bool:
    """Whether a failed write may still have been applied: its answer was lost
    (:class:`LostAnswer`, :class:`core.errors.AnswerLost`), the server or a proxy answered
    5xx (it may have failed after writing, or a gateway lost the upstream's answer), or a 2xx
    came with a body that is not the answer (cut short: :class:`UnexpectedResponse`)."""
    if isinstance(error, LostAnswer | UnexpectedResponse | AnswerLost):
        return True
    return isinstance(error, ApiError) and error.status >= 500


#: Called with (step name, operation) at every journal step; tests raise from it to crash.
StepHook = Callable[[str, Operation], None]


class Crash(BaseException):
    """Raised by a test's :data:`StepHook` to stop the process between two journal steps
    (a BaseException, so no ``except Exception`` in the engine swallows it)."""


class UnresolvedReference(RailfiestaError):
    """A value refers to a record that has no copy on the side being written yet."""


@dataclass
class ApplyReport:
    """What an apply did: ``done`` counts per ``"<action> <side> <kind>"``, ``failed`` the
    operations that did not land with the reason, ``skipped`` those left out because an
    earlier operation of the same pair failed, ``recreated`` the creates made because an
    update found its target deleted (an edit beats a delete); ``stopped`` that a stop was
    requested and the rest of the plan was left for the next cycle."""

    done: dict[str, int] = field(default_factory=dict)
    failed: list[tuple[Operation, str]] = field(default_factory=list)
    skipped: list[Operation] = field(default_factory=list)
    recreated: list[Operation] = field(default_factory=list)
    stopped: bool = False
    #: creates at the plan's end not sent because more of their kind follow in the next
    #: plan (:meth:`Applier.apply` ``more``): they go at the head of that plan's creates
    carried: list[Operation] = field(default_factory=list)

    def merge(self, other: ApplyReport) -> None:
        """Add ``other`` (the apply of a later part of the same cycle) to this report; its
        ``carried`` replaces this one's."""
        for key, n in other.done.items():
            self.done[key] = self.done.get(key, 0) + n
        self.failed.extend(other.failed)
        self.skipped.extend(other.skipped)
        self.recreated.extend(other.recreated)
        self.stopped = self.stopped or other.stopped
        self.carried = list(other.carried)

    def count(self, op: Operation, n: int = 1) -> None:
        """Count ``n`` landed operations like ``op``."""
        key = f"{op.action} {op.side} {op.kind}" if op.side else f"{op.action} {op.kind}"
        self.done[key] = self.done.get(key, 0) + n

    @property
    def writes(self) -> int:
        """Operations that wrote to a server."""
        return sum(
            n
            for key, n in self.done.items()
            if key.split(" ", 1)[0] in (CREATE, UPDATE, ARCHIVE, DELETE)
        )


def _no_hook(_step: str, _op: Operation) -> None:
    return None


#: Called with (kind, done so far, planned) for that kind (:func:`progress_totals` says what
#: counts): 0 before the first, then after each one.
ProgressHook = Callable[[str, int, int], None]


def written_records(operations: Sequence[Operation]) -> set[tuple[str, str]]:
    """(kind, pair) of the records ``operations`` link and also write: all that
    :func:`linked_only` needs to know. Only the links' records are kept, not every write's
    (a migration of 100,000 cases writes about a million records, and links few of them)."""
    linked = {(op.kind, op.pair) for op in operations if op.action == LINK and op.link}
    if not linked:
        return set()
    return {(op.kind, op.pair) for op in operations if op.writes and (op.kind, op.pair) in linked}


def linked_only(op: Operation, written: Collection[tuple[str, str]]) -> bool:
    """Whether ``op`` links a record with nothing to write (not in ``written``, the linked
    records that are written too: :func:`written_records`): a migration's TestRail test
    paired with the execution TestFiesta made for its run, its status the same. That record
    is done when linked."""
    return op.action == LINK and bool(op.link) and (op.kind, op.pair) not in written


def progress_totals(
    operations: Sequence[Operation], written: Collection[tuple[str, str]] | None = None
) -> Counter[str]:
    """What a :data:`ProgressHook` counts of ``operations``, per kind: the writes, and the
    records only linked (:func:`linked_only`; ``written`` defaults to the records
    ``operations`` write). A kind's count is then all its records the operations handle, as
    the migration report counts them (the demo's 1,290 tests: 657 written, 633 only
    linked), not its writes alone."""
    if written is None:
        written = written_records(operations)
    return Counter(op.kind for op in operations if op.writes or linked_only(op, written))


def _no_progress(_kind: str, _done: int, _total: int) -> None:
    return None


def stage_of(kind: str) -> str:
    """The request-counting stage of a kind, its name for people
    (:func:`core.kinds.kind_label`): ``"case"`` -> ``"cases"``, ``"shared_step"`` ->
    ``"shared steps"`` (the stage its reads count under too), ``"case_history"`` -> ``"case
    history"``."""
    return kind_label(kind)


class Applier:
    """Applies plans for one pair over ``sides`` (``{"testrail": ..., "testfiesta": ...}``)
    with the journal in ``store``; every base it writes carries ``scope`` (the pair's name),
    so pairs sharing a state store never see each other's records. ``batch_sizes`` caps how
    many creates of one kind go to a side in one call (``{("testfiesta", "case"): 100}``; 1
    when not named)."""

    def __init__(
        self,
        store: StateStore,
        sides: Mapping[str, Side],
        *,
        batch_sizes: Mapping[tuple[str, str], int] | None = None,
        on_step: StepHook = _no_hook,
        scope: str = "0",
    ) -> None:
        self.store = store
        self.scope = scope
        self.sides = sides
        self.batch_sizes = dict(batch_sizes or {})
        self.on_step = on_step
        self.on_progress: ProgressHook = _no_progress
        #: set (from another task or a signal handler) to stop after the operation in flight
        self.stop_requested = False

    # ------------------------------------------------------------------ journal

    def _mark_sent(self, ops: Sequence[Operation]) -> None:
        """Journal ``ops`` as ``sent`` in one transaction, before their request goes out. The
        ``planned`` step is told to ``on_step`` but not stored on its own: nothing happens
        between the two, and recovery settles a ``sent`` entry that never went out the same
        way (a create is looked up and not found; another write is dropped)."""
        now = time.time()
        self.store.put_many_in(
            JOURNAL, [(op.id, {"op": op.as_dict(), "state": SENT, "at": now}) for op in ops]
        )
        for state in (PLANNED, SENT):
            for op in ops:
                self.on_step(state, op)

    def _confirmed(self, ops: Sequence[Operation]) -> None:
        """Tell ``on_step`` that ``ops`` were answered; their commit follows at once, in one
        transaction with the journal entry's removal, so no ``confirmed`` row is written (a
        crash before that commit leaves them ``sent``: looked up, or dropped and observed)."""
        for op in ops:
            self.on_step(CONFIRMED, op)

    def pending(self) -> list[dict[str, Any]]:
        """The journal entries left (after a crash), oldest first."""
        entries = [self.store.get_in(JOURNAL, i) for i in self.store.family(JOURNAL)]
        return [e for e in entries if e]

    # ------------------------------------------------------------------ translation

    def to_side(self, op: Operation, side: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """``values`` (pair space) with references translated to ``side``'s keys. Raises
        :class:`UnresolvedReference` when a referenced record has no copy there."""
        kind = KINDS[op.kind]
        result = dict(values)

        def translate(name: str, ref: str) -> str:
            if side_of(ref) == side:
                return ref
            linked = self.store.linked(ref)
            if linked is None:
                raise UnresolvedReference(
                    f"{op.kind} {op.source or op.target}: its {name} {ref} has no copy in "
                    f"{side} yet",
                    hint="it is retried next cycle, after its parent lands",
                )
            return linked

        for name, _ in kind.references:
            ref = result.get(name)
            if isinstance(ref, str):
                result[name] = translate(name, ref)
        for name, _ in kind.list_references:
            refs = result.get(name)
            if isinstance(refs, list):
                result[name] = [translate(name, r) for r in refs if isinstance(r, str)]
        map_item_references(kind, result, lambda ref: translate("steps", ref))
        return result

    def to_pair(self, op: Operation, values: Mapping[str, Any]) -> dict[str, Any]:
        """``values`` with TestFiesta references replaced by their linked TestRail keys."""
        kind = KINDS[op.kind]
        result = dict(values)

        def pair_key(ref: Any) -> Any:
            if isinstance(ref, str) and side_of(ref) == TESTFIESTA:
                return self.store.linked(ref) or ref
            return ref

        for name, _ in kind.references:
            result[name] = pair_key(result.get(name))
        for name, _ in kind.references:
            if name not in values:
                result.pop(name, None)
        for name, _ in kind.list_references:
            if isinstance(result.get(name), list):
                result[name] = [pair_key(r) for r in result[name]]
        map_item_references(kind, result, pair_key)
        return result

    def _side_values(self, op: Operation) -> dict[str, Any]:
        try:
            return self.to_side(op, op.side or "", op.values)
        except UnresolvedReference:
            return dict(op.values)

    # ------------------------------------------------------------------ commits

    def _commit_create(self, op: Operation, new_key: str, *, settle_journal: bool = True) -> None:
        """Store the new pair's base and link; drop ``op``'s journal entry unless
        ``settle_journal`` is False (the caller drops a whole batch's entries at once, in the
        same transaction)."""
        source_side = side_of(op.source or "")
        tr_key, tf_key = (op.source, new_key) if source_side == TESTRAIL else (new_key, op.source)
        assert tr_key is not None and tf_key is not None
        with self.store.transact():
            if op.replaces:
                self._forget(op.replaces)
            base = Base(op.kind, tr_key, tf_key, canonical_values(self.to_pair(op, op.settles)))
            self.store.put_base({**base.as_dict(), "scope": self.scope})
            if settle_journal:
                self.store.drop_from(JOURNAL, op.id)

    def _commit_settles(self, op: Operation) -> None:
        with self.store.transact():
            if op.action == DELETE:
                self._forget(op.pair)
                self.store.drop_from(JOURNAL, op.id)
                return
            stored = self.store.base(op.pair)
            if stored is not None:
                base = Base.from_dict(stored)
                values = dict(base.values)
                for name, value in self.to_pair(op, op.settles).items():
                    values[name] = value
                unknown = base.unknown - set(op.settles)
                gone = base.gone
                if op.action == ARCHIVE:
                    gone = TESTRAIL if op.side == TESTFIESTA else TESTFIESTA
                self.store.put_base(
                    {
                        **Base(
                            base.kind, base.testrail, base.testfiesta, values, unknown, gone
                        ).as_dict(),
                        "scope": self.scope,
                    }
                )
            for conflict in op.resolves:
                self._close_conflict(conflict)
            self._close_settled(op.pair, set(op.settles))
            self.store.drop_from(JOURNAL, op.id)

    def _forget(self, pair: str) -> None:
        """Drop a pair's base and link and the conflicts about it (its record is gone)."""
        self.store.drop_base(pair)
        for conflict_id in self.store.family(CONFLICT):
            entry = self.store.get_in(CONFLICT, conflict_id)
            if entry and entry["conflict"]["testrail"] == pair:
                self.store.drop_from(CONFLICT, conflict_id)

    def _close_settled(self, pair: str, names: set[str]) -> None:
        """Close the open conflicts of ``pair`` on values that just settled (both sides now
        agree on them, whatever reconcile saw when it planned)."""
        if not names:
            return
        for conflict_id in self.store.family(CONFLICT):
            entry = self.store.get_in(CONFLICT, conflict_id)
            if not entry or entry["conflict"]["testrail"] != pair:
                continue
            field_name = str(entry["conflict"]["field"]).split("[", 1)[0]
            if field_name in names and not entry.get("resolution"):
                self.store.drop_from(CONFLICT, conflict_id)

    def _close_conflict(self, conflict_id: str) -> None:
        entry = self.store.get_in(CONFLICT, conflict_id)
        if entry is None:
            return
        resolution = entry.get("resolution")
        if resolution:
            log_id = f"{int(time.time() * 1000)}:{conflict_id}"
            self.store.put_in(RESOLVED, log_id, {**entry, "closed": time.time()})
        self.store.drop_from(CONFLICT, conflict_id)

    def _bookkeeping(self, op: Operation) -> None:
        with self.store.transact():
            if op.action == LINK and op.link:
                base = Base(
                    op.kind,
                    op.link[0],
                    op.link[1],
                    canonical_values(self.to_pair(op, op.settles)),
                    frozenset(op.unknown),
                )
                self.store.put_base({**base.as_dict(), "scope": self.scope})
            elif op.action == FORGET:
                self._forget(op.pair)
            elif op.action == FLAG:
                stored = self.store.base(op.pair)
                if stored is not None:
                    self.store.put_base({**stored, "gone": op.side, "scope": self.scope})
            elif op.action == REFRESH:
                self._commit_settles(op)

    # ------------------------------------------------------------------ apply

    async def apply(
        self,
        plan: Plan,
        *,
        more: bool = False,
        totals: Counter[str] | None = None,
        done: Counter[str] | None = None,
        written: Collection[tuple[str, str]] | None = None,
    ) -> ApplyReport:
        """Apply ``plan`` in order. A failing write is reported and the later operations of
        its pair are skipped; the rest go on. :class:`Crash` and cancellation propagate.

        A cycle applied in parts (:meth:`core.engine.cycle.Engine.run` ``chunk``) passes
        ``more`` (another part follows: creates at the plan's end that do not fill a batch
        are not sent but handed back in :attr:`ApplyReport.carried`, so no request goes out
        half full between two parts) and one ``totals`` and ``done`` (planned and done per
        kind, as :func:`progress_totals` counts, for :attr:`on_progress`) for all its parts,
        and ``written``, the linked records its parts write (:func:`written_records`)."""
        report = ApplyReport()
        failed_pairs: set[str] = set()
        operations = plan.operations
        if written is None:
            written = written_records(operations)
        if totals is None:
            totals = progress_totals(operations, written)
        if done is None:
            done = Counter()
        index = 0
        while index < len(operations):
            if self.stop_requested:
                report.stopped = True
                break
            op = operations[index]
            if op.pair in failed_pairs:
                report.skipped.append(op)
                index += 1
                continue
            if not op.writes:
                self._bookkeeping(op)
                report.count(op)
                index += 1
                if linked_only(op, written):  # the record is done
                    if not done[op.kind]:
                        self.on_progress(op.kind, 0, totals[op.kind])
                    done[op.kind] += 1
                    self.on_progress(op.kind, done[op.kind], totals[op.kind])
                continue
            if not done[op.kind]:
                self.on_progress(op.kind, 0, totals[op.kind])
            with stage(stage_of(op.kind)):
                if op.action == CREATE:
                    batch = self._batch(operations, index, failed_pairs)
                    after = index + len(batch)
                    limit = self.batch_sizes.get((op.side or "", op.kind), 1)
                    if more and after == len(operations) and len(batch) < limit:
                        report.carried = list(batch)  # the next part's creates fill it
                        break
                    joins = (
                        after < len(operations)
                        and self._joins(operations[after], batch[0], failed_pairs)
                    ) or (more and after == len(operations))
                    handled = await self._create(batch, report, failed_pairs, more=joins)
                else:
                    handled = 1
                    await self._write(op, report, failed_pairs)
            index += handled
            done[op.kind] += handled
            self.on_progress(op.kind, done[op.kind], totals[op.kind])
        return report

    def _batch(
        self, operations: Sequence[Operation], start: int, failed: set[str]
    ) -> list[Operation]:
        """The creates from ``start`` that go to the side together: same kind and side, at
        most the side's batch size, and never one owner's creates split between two batches
        (a batch ends before the owner whose creates would not all fit, unless that owner
        alone is over the size: then the batch holds all of that owner's). The plan puts one
        owner's creates together, so they land or fail together, in order."""
        first = operations[start]
        limit = self.batch_sizes.get((first.side or "", first.kind), 1)
        batch = [first]
        last_owner = owner_of(first)
        owner_starts = 0  # index in the batch of the last owner's first create
        for op in operations[start + 1 :]:
            if not self._joins(op, first, failed):
                break
            owner = owner_of(op)
            same_owner = owner is not None and owner == last_owner
            if len(batch) >= limit and not same_owner:
                break
            if not same_owner:
                owner_starts, last_owner = len(batch), owner
            batch.append(op)
        if len(batch) > limit and owner_starts > 0:  # the last owner ran past the size
            batch = batch[:owner_starts]
        return batch

    @staticmethod
    def _joins(op: Operation, first: Operation, failed: set[str]) -> bool:
        """Whether ``op`` may go to the side in one call with the creates from ``first``:
        a create of the same kind to the same side, of a pair that did not fail."""
        return (
            op.action == CREATE
            and op.kind == first.kind
            and op.side == first.side
            and op.pair not in failed
        )

    async def _create(
        self, batch: list[Operation], report: ApplyReport, failed: set[str], *, more: bool = False
    ) -> int:
        """Hand ``batch`` to its side's ``create`` and commit what landed; returns how many
        of ``batch`` (a prefix) were dealt with. ``more``: creates that may join it follow,
        so the side may send only the requests it fills (:meth:`core.engine.sides.Side.
        create`); the creates it leaves are handed again, at the head of the next batch."""
        side_name = batch[0].side or ""
        side = self.sides[side_name]
        ready: list[tuple[Operation, dict[str, Any]]] = []
        unresolved: list[tuple[int, Operation, str]] = []
        for position, op in enumerate(batch):
            try:
                ready.append((op, self.to_side(op, side_name, op.values)))
            except UnresolvedReference as error:
                unresolved.append((position, op, str(error)))

        def refuse(upto: int) -> None:
            for position, op, reason in unresolved:
                if position < upto:
                    report.failed.append((op, reason))
                    failed.add(op.pair)

        if not ready:
            refuse(len(batch))
            return len(batch)
        ops = [op for op, _ in ready]
        self._mark_sent(ops)
        try:
            items = [(values, op.source or "") for op, values in ready]
            keys = await (
                side.create(ops[0].kind, items, more=True)
                if more
                else side.create(ops[0].kind, items)
            )
        except (LostAnswer, RailfiestaError) as error:
            if stops_the_apply(error):
                raise
            if not may_have_landed(error):
                refuse(len(batch))
                for op in ops:
                    self.store.drop_from(JOURNAL, op.id)
                    report.failed.append((op, str(error)))
                    failed.add(op.pair)
                return len(batch)
            # maybe landed: settle by lookup now, as recovery would after a crash
            found = [await side.find(op.kind, op.source or "", self._side_values(op)) for op in ops]
            last = max((i for i, record in enumerate(found) if record is not None), default=-1)
            handled = len(batch)
            if 0 <= last < len(ops) - 1:
                # the side sends a batch in several requests: those after the last create
                # found were most likely never sent (it stopped at the lost one), so they
                # are handed again, at the head of the next batch, rather than failed
                handled = batch.index(ops[last + 1])
            for index, (op, record) in enumerate(zip(ops, found, strict=True)):
                if record is not None:
                    self._commit_create(op, record.key)
                    report.count(op)
                    continue
                self.store.drop_from(JOURNAL, op.id)
                if index <= last or handled == len(batch):
                    report.failed.append((op, str(error)))
                    failed.add(op.pair)
            refuse(handled)
            return handled
        handled = len(batch)
        if more and 0 < len(keys) < len(ops):
            # not sent: out of the journal, handed again with the creates that follow
            self.store.drop_many_from(JOURNAL, [op.id for op in ops[len(keys) :]])
            handled = batch.index(ops[len(keys)])
            ops = ops[: len(keys)]
        refuse(handled)
        landed = [(op, key) for op, key in zip(ops, keys, strict=True) if isinstance(key, str)]
        self._confirmed([op for op, _ in landed])
        with self.store.transact():
            for op, result in zip(ops, keys, strict=True):
                if isinstance(result, str):
                    self._commit_create(op, result, settle_journal=False)
                    report.count(op)
                else:
                    report.failed.append((op, str(result)))
                    failed.add(op.pair)
            self.store.drop_many_from(JOURNAL, [op.id for op in ops])
        return handled

    async def _write(self, op: Operation, report: ApplyReport, failed: set[str]) -> None:
        side_name = op.side or ""
        side = self.sides[side_name]
        self._mark_sent([op])
        try:
            if op.action == UPDATE:
                assert op.target is not None
                await side.update(op.kind, op.target, self.to_side(op, side_name, op.values))
            elif op.action == ARCHIVE:
                assert op.target is not None
                await side.archive(op.kind, op.target)
            else:
                assert op.target is not None
                await side.delete(op.kind, op.target)
        except NotFound:
            self.store.drop_from(JOURNAL, op.id)
            if op.action == UPDATE:
                await self._recreate(op, report, failed)
            else:  # already gone: what an archive or delete wanted
                self._commit_settles(op)
                report.count(op)
            return
        except (RailfiestaError, LostAnswer) as error:
            if stops_the_apply(error):
                raise
            self.store.drop_from(JOURNAL, op.id)
            report.failed.append((op, str(error)))
            failed.add(op.pair)
            return
        self._confirmed([op])
        self._commit_settles(op)
        report.count(op)

    async def _recreate(self, op: Operation, report: ApplyReport, failed: set[str]) -> None:
        """An update found its target deleted: the edit beats the delete, so the edited
        record is copied back as a new record (the old pair is dropped when it lands)."""
        stored = self.store.base(op.pair)
        if stored is None:
            return
        base = Base.from_dict(stored)
        source = base.testfiesta if op.side == TESTRAIL else base.testrail
        values = {**base.values, **op.values}
        create = Operation(
            id=operation_id(CREATE, op.kind, op.side, source),
            action=CREATE,
            kind=op.kind,
            pair=source,
            side=op.side,
            source=source,
            values=values,
            settles=values,
            replaces=op.pair,
        )
        report.recreated.append(create)
        await self._create([create], report, failed)

    # ------------------------------------------------------------------ recovery

    async def recover(self) -> int:
        """Settle what a crash left in the journal (see the module docstring); returns how
        many entries were found."""
        entries = self.pending()
        for entry in entries:
            op = Operation.from_dict(entry["op"])
            state = entry.get("state")
            if state == CONFIRMED:
                if op.action == CREATE:
                    self._commit_create(op, str(entry["result"]))
                else:
                    self._commit_settles(op)
                continue
            if state == SENT and op.action == CREATE and op.side is not None:
                found = await self.sides[op.side].find(
                    op.kind, op.source or "", self._side_values(op)
                )
                if found is not None:
                    self._commit_create(op, found.key)
                    continue
            self.store.drop_from(JOURNAL, op.id)
        return len(entries)
