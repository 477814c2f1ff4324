"""One sync cycle for one pair: observe, reconcile, plan, apply (DESIGN §5).

:class:`Engine` ties the pure parts (:mod:`core.engine.reconcile`, :mod:`core.engine.plan`)
to the two sides and the state store. The migration is the same cycle in ``migrate`` mode
over a full observation; ``sync --once`` is one cycle in ``sync`` mode; ``sync --plan`` and
``migrate --dry-run`` stop after planning.

Observation cursors are committed only after their cycle applied, so a crash or a stop
re-observes; the records of writes that failed are listed (``retry:<pair>``) and read again
next cycle, so a failure never hides a change behind a cursor that moved on.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from core.engine.apply import (
    CONFLICT,
    RESOLVED,
    Applier,
    ApplyReport,
    ProgressHook,
    StepHook,
    _no_hook,
    progress_totals,
    written_records,
)
from core.engine.plan import (
    CREATE,
    REFRESH,
    UPDATE,
    Operation,
    Plan,
    create_depths,
    depth_under,
    plan,
)
from core.engine.reconcile import (
    MIGRATE,
    TESTFIESTA,
    TESTRAIL,
    Base,
    Conflict,
    Inputs,
    Reconciliation,
    Settings,
    Snapshot,
    reconcile,
    side_of,
)
from core.engine.sides import Observation, Side
from core.kinds import KINDS, apply_rank
from core.model import Record
from core.store import StateStore
from core.sync_state import settled_key

#: The ``kind`` a progress hook gets once both sides are observed.
OBSERVED = "observed"


@dataclass
class CycleReport:
    """What one cycle did: the ``plan`` it made, what ``applied`` did (None for a dry run),
    ``recovered`` journal entries settled first, ``observed`` records per side, and ``held``
    the operations of the plan that :meth:`Engine.run` was asked to hold back (not applied;
    see :meth:`Engine.backfill`)."""

    plan: Plan
    applied: ApplyReport | None = None
    recovered: int = 0
    observed: dict[str, int] = field(default_factory=dict)
    inputs: Inputs | None = None
    held: list[Operation] = field(default_factory=list)

    @property
    def pending(self) -> int:
        """Items that wait for a person: open conflicts, held deletes, failed writes."""
        held = sum(1 for n in self.plan.notices if n.what in ("held", "skipped"))
        failed = len(self.applied.failed) if self.applied else 0
        return len(self.plan.conflicts) + held + failed


class Engine:
    """The sync engine for one pair (``pair`` names it in the store's cursor keys).

    ``testrail`` and ``testfiesta`` are :class:`core.engine.sides.Side` s; ``batch_sizes`` is
    passed to the :class:`core.engine.apply.Applier`; ``on_step`` lets tests crash between
    journal steps.
    """

    def __init__(
        self,
        store: StateStore,
        testrail: Side,
        testfiesta: Side,
        *,
        pair: str = "0",
        batch_sizes: Mapping[tuple[str, str], int] | None = None,
        on_step: StepHook = _no_hook,
    ) -> None:
        self.store = store
        self.sides: dict[str, Side] = {TESTRAIL: testrail, TESTFIESTA: testfiesta}
        self.pair = pair
        self.applier = Applier(
            store, self.sides, batch_sizes=batch_sizes, on_step=on_step, scope=pair
        )

    # ------------------------------------------------------------------ cursors

    def _cursor_key(self, side: str) -> str:
        return f"cursor:{self.pair}:{side}"

    def _linked(self, key: str) -> bool:
        return self.store.linked(key) is not None

    def _retry_key(self) -> str:
        return f"retry:{self.pair}"

    def cursor(self, side: str) -> Mapping[str, Any] | None:
        """The committed observation cursor of ``side`` (None before the first cycle)."""
        value = self.store.get(self._cursor_key(side))
        return dict(value) if isinstance(value, dict) else None

    # ------------------------------------------------------------------ conflicts

    def open_conflicts(self) -> list[dict[str, Any]]:
        """Stored conflicts of this pair (see :func:`stored_conflicts`)."""
        return [e for e in stored_conflicts(self.store) if e.get("scope", self.pair) == self.pair]

    def _resolutions(self) -> dict[str, tuple[str, Any]]:
        chosen: dict[str, tuple[str, Any]] = {}
        for entry in self.open_conflicts():
            resolution = entry.get("resolution")
            if resolution:
                chosen[entry["conflict"]["id"]] = (resolution["winner"], resolution["value"])
        return chosen

    def _store_conflicts(self, conflicts: list[Conflict]) -> None:
        now = time.time()  # conflicts one cycle found are equally old
        with self.store.transact():
            for conflict in conflicts:
                before = self.store.get_in(CONFLICT, conflict.id) or {}
                self.store.put_in(
                    CONFLICT,
                    conflict.id,
                    {
                        "conflict": conflict.as_dict(),
                        "resolution": before.get("resolution"),
                        "since": before.get("since", now),
                        "scope": self.pair,
                    },
                )

    def _log_resolutions(self, report: CycleReport) -> None:
        now = time.time()
        for index, resolution in enumerate(report.plan.resolutions):
            self.store.put_in(
                RESOLVED,
                f"{int(now * 1000)}:{index}:{resolution.conflict.id}",
                {
                    "conflict": resolution.conflict.as_dict(),
                    "resolution": {
                        "winner": resolution.winner,
                        "value": resolution.value,
                        "by": resolution.by,
                        "at": now,
                    },
                    "losing": dict(resolution.losing),
                    "closed": now,
                },
            )

    # ------------------------------------------------------------------ the cycle

    async def observe(
        self, *, full: bool, scope: Mapping[str, Collection[str]] | None = None
    ) -> tuple[Inputs, dict[str, Observation]]:
        """Observe both sides since their cursors and gather what reconcile needs: the bases
        of every observed record (all bases of a kind a side listed completely), and the
        records the other side did not observe but reconcile must compare (a record whose
        origin names an unlinked record; both copies of a pair with a chosen resolution).

        ``scope`` (side name -> kinds; a side not named observes every kind) limits what a
        side reads (see :meth:`core.engine.sides.Side.observe`): the kinds it leaves out are
        taken to hold their bases (never deleted: they are not ``complete``)."""
        scoped = {name: kinds for name, kinds in (scope or {}).items() if name in self.sides}
        observations = {
            # a scoped side gets its cursor even for a full read: it keeps what it says of
            # the kinds not read
            name: await side.observe(
                None if full and name not in scoped else self.cursor(name),
                full=full,
                linked=self._linked,
                **({"kinds": scoped[name]} if name in scoped else {}),
            )
            for name, side in self.sides.items()
        }
        bases: dict[str, Base] = {}

        def load(data: dict[str, Any] | None) -> None:
            if data is not None:
                base = Base.from_dict(data)
                bases[base.testrail] = base

        complete_kinds = {kind for o in observations.values() for kind in o.complete}
        for kind in complete_kinds:
            for data in self.store.bases(kind, scope=self.pair):
                load(data)
        for observation in observations.values():
            for key in observation.records:
                if key not in bases:
                    load(self.store.base_of(key))
        resolutions = self._resolutions()
        wanted: dict[str, set[str]] = {TESTRAIL: set(), TESTFIESTA: set()}
        resolved_pairs = {
            e["conflict"]["testrail"]
            for e in self.open_conflicts()
            if e["conflict"]["id"] in resolutions
        }
        for pair in resolved_pairs:
            load(self.store.base(pair))
            if pair in bases:
                wanted[TESTRAIL].add(bases[pair].testrail)
                wanted[TESTFIESTA].add(bases[pair].testfiesta)
        # records whose writes failed last cycle are read again, though the cursor moved on
        for key in self.store.get(self._retry_key()) or []:
            stored = self.store.base_of(str(key))
            load(stored)
            base = bases.get(str(stored["testrail"])) if stored is not None else None
            if base is not None:
                wanted[TESTRAIL].add(base.testrail)
                wanted[TESTFIESTA].add(base.testfiesta)
            else:
                wanted[side_of(str(key))].add(str(key))
        linked = {b.testrail for b in bases.values()} | {b.testfiesta for b in bases.values()}
        for name, observation in observations.items():
            for record in observation.records.values():
                if record.origin and record.key not in linked and side_of(record.origin) != name:
                    wanted[side_of(record.origin)].add(record.origin)
        records = {name: dict(o.records) for name, o in observations.items()}
        # records paired by what they join (a test: its run and case): look for the partner
        for name, observation in observations.items():
            other_side = TESTFIESTA if name == TESTRAIL else TESTRAIL
            for record in observation.records.values():
                if record.natural is None or record.key in linked:
                    continue
                joined = [self.store.linked(k) for k in record.natural]
                if None in joined:
                    continue
                found = await self.sides[other_side].find(
                    record.kind, "", {"natural": [k for k in joined if k]}
                )
                if found is not None:
                    seen = records[other_side].get(found.key)
                    if seen is None or seen.natural is None or seen.partial:
                        # what the side observed lacked what it joins: the lookup has it all
                        records[other_side][found.key] = found
        for name, keys in wanted.items():
            missing = [k for k in keys if k not in records[name]]
            if missing:
                records[name].update(await self.sides[name].fetch(missing))
        known = {b.testfiesta for b in bases.values()}
        links: dict[str, str] = {}
        for record in records[TESTFIESTA].values():
            refs = [*record.values.values(), *(record.natural or ())]
            for value in refs:
                if isinstance(value, str) and value.startswith("tf:") and value not in known:
                    partner = self.store.linked(value)
                    if partner is not None:
                        links[value] = partner
                    known.add(value)
        inputs = Inputs(
            bases,
            Snapshot(records[TESTRAIL], observations[TESTRAIL].complete),
            Snapshot(records[TESTFIESTA], observations[TESTFIESTA].complete),
            resolutions,
            links,
        )
        return inputs, observations

    async def make_plan(self, settings: Settings, *, full: bool = False) -> Plan:
        """Observe and plan, writing nothing (``sync --plan``, ``migrate --dry-run``)."""
        inputs, _ = await self.observe(full=full)
        return plan(reconcile(inputs, settings))

    async def run(
        self,
        settings: Settings,
        *,
        full: bool = False,
        on_progress: ProgressHook | None = None,
        hold: Collection[str] = (),
        scope: Mapping[str, Collection[str]] | None = None,
        chunk: int | None = None,
        on_chunk: Callable[[Sequence[Record]], None] | None = None,
    ) -> CycleReport:
        """One whole cycle: settle the journal, observe, reconcile, plan, apply, then store
        the conflicts, log the policy resolutions and commit the cursors.

        ``chunk`` (``migrate`` mode): when TestRail observed more than ``chunk`` records of
        a kind in :data:`CHUNKED` (cases), those are reconciled, planned and applied
        ``chunk`` at a time, in the order one plan would give them, between the operations
        of the kinds before and after theirs (reconciled and planned together, as one plan
        orders them): the operations and the values of a 100,000-case migration are not
        all held at once. After each part is applied, ``on_chunk`` gets TestRail's records
        of it, and the cycle lets them go, from its inputs and from TestRail's observation
        (:attr:`CycleReport.inputs` and ``plan`` then hold only the other kinds' records and
        operations; the conflicts, resolutions and notices of every part are in ``plan``).
        A migration writes one side only and each pair is decided on its own, so the parts
        decide what one reconcile would.

        ``scope`` limits what each side observes (see :meth:`observe`; a migration's later
        passes read only what its first pass can have changed).

        The operations on records of the kinds in ``hold`` are not applied but handed back in
        :attr:`CycleReport.held`, in plan order, for :meth:`backfill` (a migration's usable
        core first). The cursors are committed all the same: whoever holds operations back
        must apply them or leave :meth:`backfill_pending` set."""
        recovered = await self.applier.recover()
        inputs, observations = await self.observe(full=full, scope=scope)
        if on_progress is not None:
            seen = sum(len(o.records) for o in observations.values())
            on_progress(OBSERVED, seen, seen)
        if on_progress is not None:
            self.applier.on_progress = on_progress
        chunks = _chunks(inputs, chunk, settings) if chunk and settings.mode == MIGRATE else None
        if chunks is not None:
            return await self._run_in_chunks(
                settings, inputs, observations, chunks, recovered, hold, full, on_chunk
            )
        the_plan = plan(reconcile(inputs, settings))
        report = CycleReport(
            the_plan,
            recovered=recovered,
            observed={name: len(o.records) for name, o in observations.items()},
            inputs=inputs,
        )
        to_apply = the_plan
        if hold:
            held = set(hold)
            report.held = [op for op in the_plan.operations if op.kind in held]
            to_apply = Plan([op for op in the_plan.operations if op.kind not in held])
        report.applied = await self.applier.apply(to_apply)
        return self._finish(report, observations, full=full, hold=hold)

    def _finish(
        self,
        report: CycleReport,
        observations: Mapping[str, Observation],
        *,
        full: bool,
        hold: Collection[str],
    ) -> CycleReport:
        """After the apply: store the conflicts, log the resolutions, commit the cursors and
        the retry list (not after a stop)."""
        applied = report.applied
        assert applied is not None
        self._store_conflicts(report.plan.conflicts)
        self._log_resolutions(report)
        retry = sorted(
            {k for op, _ in applied.failed for k in (op.pair, op.source, op.target) if k}
            | {k for op in applied.skipped for k in (op.pair, op.source, op.target) if k}
        )
        with self.store.transact():
            if applied.stopped:
                return report  # the cursors stay: the next cycle sees the same changes
            for name, observation in observations.items():
                self.store.set(self._cursor_key(name), dict(observation.cursor))
            self.store.set(self._retry_key(), retry)
            # what this cycle wrote is the base on both sides: not pending (core.sync_state)
            self.store.set(settled_key(self.pair), time.time())
            if full and not hold and not applied.failed and not applied.skipped:
                self.store.delete(self._backfill_key())  # a whole read, all of it applied
        return report

    async def _run_in_chunks(
        self,
        settings: Settings,
        inputs: Inputs,
        observations: Mapping[str, Observation],
        chunks: tuple[Reconciliation, Plan, dict[str, int], list[Inputs]],
        recovered: int,
        hold: Collection[str],
        full: bool,
        on_chunk: Callable[[Sequence[Record]], None] | None,
    ) -> CycleReport:
        """:meth:`run` with ``chunk`` (see there): the other kinds' plan up to the chunked
        kinds, then each part's, then the rest of the other kinds' plan, planned again with
        the depths of the parts' creates it refers to (an attachment below its case), so it
        is in the order one plan gives."""
        rest_decided, rest_plan, depths, parts = chunks
        rank = min(apply_rank(kind) for kind in CHUNKED)
        before = [
            op
            for op in rest_plan.operations
            if (not op.writes and op.action != REFRESH)
            or (op.action in (CREATE, UPDATE) and apply_rank(op.kind) < rank)
        ]
        taken = {id(op) for op in before}
        after = [op for op in rest_plan.operations if id(op) not in taken]
        # the parts' creates the rest refers to: their depths place the rest's creates
        wanted = {
            ref
            for op in after
            if op.action == CREATE
            for name, _ in KINDS[op.kind].references
            if isinstance(ref := op.values.get(name), str)
        }
        placed: dict[str, int] = {}
        report = CycleReport(
            Plan(
                before + after,
                list(rest_plan.conflicts),
                list(rest_plan.resolutions),
                list(rest_plan.notices),
            ),
            recovered=recovered,
            observed={name: len(o.records) for name, o in observations.items()},
            inputs=inputs,
        )
        del rest_plan
        held = set(hold)
        report.applied = applied = ApplyReport()
        # one progress count for the whole cycle: a chunked kind's total is what its parts
        # planned so far plus a write for each record not planned yet
        applied_here = [op for op in before + after if op.kind not in held]
        written = written_records(applied_here)
        totals = progress_totals(applied_here, written)
        del applied_here
        unplanned = Counter(r.kind for part in parts for r in part.testrail.records.values())
        planned: Counter[str] = Counter()
        done: Counter[str] = Counter()

        async def apply(
            operations: list[Operation],
            *,
            more: bool = False,
            written: set[tuple[str, str]] = written,
        ) -> bool:
            report.held.extend(op for op in operations if op.kind in held)
            todo = [op for op in operations if op.kind not in held]
            if applied.carried:
                # creates of the part before that did not fill a batch: at the head of
                # this part's creates, as one plan would send them
                first = next((i for i, op in enumerate(todo) if op.action == CREATE), len(todo))
                todo[first:first] = applied.carried
            applied.merge(
                await self.applier.apply(
                    Plan(todo), more=more, totals=totals, done=done, written=written
                )
            )
            return not applied.stopped

        tr_records = inputs.testrail.records
        going = await apply(before)
        while parts and going:
            part = parts.pop(0)  # let go once applied
            part_plan = plan(reconcile(part, settings))
            report.plan.conflicts.extend(part_plan.conflicts)
            report.plan.resolutions.extend(part_plan.resolutions)
            report.plan.notices.extend(part_plan.notices)
            records = list(part.testrail.records.values())
            unplanned.subtract(r.kind for r in records)
            # a part's records (a chunked kind's) are linked and written in that part only
            part_written = written | written_records(part_plan.operations)
            planned.update(progress_totals(part_plan.operations, part_written))
            for op in part_plan.operations:
                if op.action == CREATE and op.source in wanted:
                    placed[op.source] = depth_under(op.kind, op.values, depths)
            for kind in CHUNKED:
                totals[kind] = planned[kind] + unplanned[kind]
            going = await apply(part_plan.operations, more=bool(parts), written=part_written)
            del part_plan, part, part_written
            if on_chunk is not None:
                on_chunk(records)
            for held_records in (tr_records, observations[TESTRAIL].records):
                if isinstance(held_records, dict):
                    for key in [r.key for r in records]:
                        held_records.pop(key, None)
            del records
        if going:
            if placed:
                before_ids = {op.id for op in before}
                replanned = plan(rest_decided, placed=placed).operations
                after = [op for op in replanned if op.id not in before_ids]
                report.plan.operations = before + after
            await apply(after)
        return self._finish(report, observations, full=full, hold=hold)

    def _backfill_key(self) -> str:
        return f"{BACKFILLING}{self.pair}"

    def backfill_pending(self) -> dict[str, int]:
        """See :func:`backfill_pending` (this pair's)."""
        return backfill_pending(self.store, self.pair)

    async def backfill(
        self, operations: Sequence[Operation], on_progress: ProgressHook | None = None
    ) -> ApplyReport:
        """Apply ``operations`` held back by earlier :meth:`run` s (several cycles' held
        lists, concatenated), after their cycles' other operations: in apply order of their
        kinds (stable, so one test's results stay in order), each record's first operation
        only, and creates whose source got linked meanwhile left out. While they land
        :meth:`backfill_pending` names what is left (updated after each batch, so a kill
        leaves it right); the records of failed or skipped writes go to the retry list, as
        a cycle's do."""
        rank = {name: index for index, name in enumerate(KINDS)}
        seen: set[tuple[str, str, str]] = set()
        todo: list[Operation] = []
        for op in sorted(operations, key=lambda o: rank.get(o.kind, len(rank))):
            mark = (op.kind, op.action, op.source or op.pair or op.id)
            copied = op.action == CREATE and op.source and self.store.linked(op.source)
            if mark in seen or (copied and not op.replaces):  # a replacing create is linked
                continue
            seen.add(mark)
            todo.append(op)
        left = Counter(op.kind for op in todo if op.writes)
        if not left:
            self.store.delete(self._backfill_key())
            return ApplyReport()
        self.store.set(self._backfill_key(), dict(left))
        report_progress = on_progress or self.applier.on_progress
        planned = dict(left)
        # the progress counts the records only linked too: those left are at most the writes
        counted = progress_totals(todo)

        def progress(kind: str, done: int, total: int) -> None:
            if kind in planned:
                left[kind] = min(planned[kind], counted[kind] - done)
                self.store.set(self._backfill_key(), {k: n for k, n in left.items() if n > 0})
            report_progress(kind, done, total)

        self.applier.on_progress = progress
        try:
            applied = await self.applier.apply(Plan(todo))
        finally:
            self.applier.on_progress = report_progress
        retry = {k for op, _ in applied.failed for k in (op.pair, op.source, op.target) if k}
        retry |= {k for op in applied.skipped for k in (op.pair, op.source, op.target) if k}
        with self.store.transact():
            if retry:
                old = {str(k) for k in self.store.get(self._retry_key()) or []}
                self.store.set(self._retry_key(), sorted(old | retry))
            unfinished = Counter(op.kind for op, _ in applied.failed)
            unfinished.update(op.kind for op in applied.skipped)
            if applied.stopped:
                unfinished.update({k: n for k, n in left.items() if n > 0})
            if unfinished:
                self.store.set(self._backfill_key(), dict(unfinished))
            else:
                self.store.delete(self._backfill_key())
            self.store.set(settled_key(self.pair), time.time())  # see _finish
        return applied

    def request_stop(self) -> None:
        """Stop the cycle in flight after its current operation (Ctrl-C, SIGTERM)."""
        self.applier.stop_requested = True

    def resolve(self, conflict_id: str, winner: str, value: Any = None, *, by: str) -> None:
        """See :func:`resolve_conflict`."""
        resolve_conflict(self.store, conflict_id, winner, value, by=by)

    def unresolve(self, conflict_id: str) -> bool:
        """See :func:`unresolve_conflict`."""
        return unresolve_conflict(self.store, conflict_id)


# ---------------------------------------------------------------------- parts of a cycle


#: Kinds a migration's cycle reconciles, plans and applies in parts (``Engine.run(chunk=)``).
CHUNKED = ("case",)


def _chunks(
    inputs: Inputs, size: int, settings: Settings
) -> tuple[Reconciliation, Plan, dict[str, int], list[Inputs]] | None:
    """``inputs`` split for :meth:`Engine.run` ``chunk``: the reconciliation and plan of the
    rest (every record and base not of a :data:`CHUNKED` kind, and those no part holds), the
    depths of the rest's creates (:func:`core.engine.plan.create_depths`) and the parts, each
    with ``size`` of TestRail's records of a chunked kind (in the order one plan would
    create them: :func:`core.engine.plan.depth_under` the rest's creates, stable), their
    bases and the TestFiesta records that pair with them (by base, by the TestRail record's
    origin, by their own origin). Each part's ``links`` also map the TestFiesta keys of the
    rest's bases, so its references read as in one reconcile. None when no kind has more
    than ``size`` records (one plan does)."""
    chunked = set(CHUNKED)
    tr_all, tf_all = inputs.testrail.records, inputs.testfiesta.records
    wanted = [r for r in tr_all.values() if r.kind in chunked]
    if len(wanted) <= size:
        return None
    keys = {r.key for r in wanted}
    by_tf = {b.testfiesta: b.testrail for b in inputs.bases.values()}
    origin_of = {r.origin: r.key for r in wanted if r.origin}

    def owner(key: str, record: Record) -> str | None:
        """The TestRail record of a part a TestFiesta record pairs with, or None."""
        if record.kind not in chunked:
            return None
        found = by_tf.get(key) or origin_of.get(key) or record.origin
        return found if found in keys else None

    rest_bases = {
        k: b for k, b in inputs.bases.items() if b.kind not in chunked or b.testrail not in keys
    }
    rest = Inputs(
        rest_bases,
        Snapshot({k: r for k, r in tr_all.items() if k not in keys}, inputs.testrail.complete),
        Snapshot(
            {k: r for k, r in tf_all.items() if owner(k, r) is None}, inputs.testfiesta.complete
        ),
        inputs.resolutions,
        # the rest's references to records of the parts (a run's cases) read through these
        {
            **inputs.links,
            **{b.testfiesta: b.testrail for k, b in inputs.bases.items() if k not in rest_bases},
        },
    )
    rest_decided = reconcile(rest, settings)
    del rest
    rest_plan = plan(rest_decided)
    depths = create_depths(op for op in rest_plan.operations if op.action == CREATE)
    wanted.sort(key=lambda r: depth_under(r.kind, r.values, depths))
    part_of = {r.key: index // size for index, r in enumerate(wanted)}
    count = -(-len(wanted) // size)
    bases: list[dict[str, Base]] = [{} for _ in range(count)]
    for key, base in inputs.bases.items():
        if key not in rest_bases:
            bases[part_of[base.testrail]][key] = base
    tf_parts: list[dict[str, Record]] = [{} for _ in range(count)]
    for key, record in tf_all.items():
        found = owner(key, record)
        if found is not None:
            tf_parts[part_of[found]][key] = record
    tr_parts: list[dict[str, Record]] = [{} for _ in range(count)]
    for record in wanted:
        tr_parts[part_of[record.key]][record.key] = record
    links = {**inputs.links, **{b.testfiesta: b.testrail for b in rest_bases.values()}}
    parts = [
        Inputs(
            bases[i],
            Snapshot(tr_parts[i], inputs.testrail.complete),
            Snapshot(tf_parts[i], inputs.testfiesta.complete),
            inputs.resolutions,
            links,
        )
        for i in range(count)
    ]
    return rest_decided, rest_plan, depths, parts


# ---------------------------------------------------------------------- backfill


#: Store key prefix of a pair's unfinished backfill (``meta:backfill:<pair>``).
BACKFILLING = "meta:backfill:"


def backfill_pending(store: StateStore, pair: str) -> dict[str, int]:
    """``{kind: operations}`` an :meth:`Engine.backfill` of ``pair`` started and did not
    finish (a kill, a stop, failed writes), empty when none waits. Their records are read
    again only by a full observation, so the next cycle of the pair must be full; a full
    cycle that applies its whole plan ends the backfill."""
    value = store.get(f"{BACKFILLING}{pair}")
    return {str(k): int(n) for k, n in value.items()} if isinstance(value, dict) else {}


# ---------------------------------------------------------------------- conflicts in the store


def stored_conflicts(store: StateStore) -> list[dict[str, Any]]:
    """Every open conflict, oldest first: ``{"conflict": Conflict.as_dict(), "resolution":
    None | {"winner", "value", "by", "at"}, "since": UNIX seconds}``."""
    entries = [store.get_in(CONFLICT, i) for i in store.family(CONFLICT)]
    return [e for e in entries if e]


def find_conflict(store: StateStore, conflict_id: str) -> dict[str, Any]:
    """The stored conflict whose id is ``conflict_id`` or starts with it (at least 4
    characters, unambiguous). Raises KeyError otherwise."""
    entry = store.get_in(CONFLICT, conflict_id)
    if entry is not None:
        return dict(entry)
    matches = [
        i for i in store.family(CONFLICT) if len(conflict_id) >= 4 and i.startswith(conflict_id)
    ]
    if len(matches) != 1:
        raise KeyError(conflict_id)
    return dict(store.get_in(CONFLICT, matches[0]))


def resolve_conflict(
    store: StateStore, conflict_id: str, winner: str, value: Any = None, *, by: str
) -> dict[str, Any]:
    """Record a person's choice for a conflict: ``winner`` ``testrail`` or ``testfiesta``
    (that side's value), or ``value`` (the typed ``value``). The next cycle applies it to both
    sides; until then :func:`unresolve_conflict` takes it back. Returns the updated entry.
    Raises KeyError for an unknown conflict, ValueError for an unknown winner."""
    if winner not in (TESTRAIL, TESTFIESTA, "value"):
        raise ValueError(f"winner must be testrail, testfiesta or value, not {winner!r}")
    entry = find_conflict(store, conflict_id)
    values = entry["conflict"]["values"]
    chosen = values[winner] if winner in (TESTRAIL, TESTFIESTA) else value
    entry["resolution"] = {"winner": winner, "value": chosen, "by": by, "at": time.time()}
    entry["losing"] = {
        side: values[side] for side in (TESTRAIL, TESTFIESTA) if values[side] != chosen
    }
    store.put_in(CONFLICT, entry["conflict"]["id"], entry)
    return entry


def unresolve_conflict(store: StateStore, conflict_id: str) -> bool:
    """Take back a choice not applied yet; False if there was none to take back."""
    try:
        entry = find_conflict(store, conflict_id)
    except KeyError:
        return False
    if not entry.get("resolution"):
        return False
    entry["resolution"] = None
    entry.pop("losing", None)
    store.put_in(CONFLICT, entry["conflict"]["id"], entry)
    return True


def record_title(store: StateStore, testrail_key: str) -> str | None:
    """The title (a case) or name (a folder, a run) both sides last agreed on for the pair
    of ``testrail_key``, from its base; None when the base holds neither."""
    base = store.base(testrail_key)
    values = (base or {}).get("values") or {}
    for name in ("title", "name"):
        if isinstance(values.get(name), str):
            return str(values[name])
    return None


def rest_of_field(store: StateStore, conflict_id: str) -> list[dict[str, Any]]:
    """The other open conflicts, no choice made yet, on the same field of the same kind as
    ``conflict_id`` in the same pair (``steps[2]`` and ``steps[4]`` are both the field
    ``steps``), oldest first. Raises KeyError for an unknown conflict."""
    entry = find_conflict(store, conflict_id)
    conflict = entry["conflict"]
    family = str(conflict["field"]).split("[", 1)[0]
    return [
        e
        for e in stored_conflicts(store)
        if e["conflict"]["id"] != conflict["id"]
        and not e.get("resolution")
        and e["conflict"]["kind"] == conflict["kind"]
        and str(e["conflict"]["field"]).split("[", 1)[0] == family
        and e.get("scope") == entry.get("scope")
    ]


def resolve_rest(
    store: StateStore, conflict_id: str, winner: str, *, by: str
) -> list[dict[str, Any]]:
    """ "The same choice for the rest of this field": ``winner`` (``testrail`` or
    ``testfiesta``) for every conflict :func:`rest_of_field` lists, in one transaction.
    Returns the updated entries. Raises KeyError for an unknown conflict, ValueError for a
    winner other than a side (a typed value belongs to one record)."""
    if winner not in (TESTRAIL, TESTFIESTA):
        raise ValueError(f"winner must be testrail or testfiesta, not {winner!r}")
    with store.transact():
        return [
            resolve_conflict(store, e["conflict"]["id"], winner, by=by)
            for e in rest_of_field(store, conflict_id)
        ]
