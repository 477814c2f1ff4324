"""Plain-text and JSON rendering of every headless report: migrations, sync cycles and plans,
conflicts, status and the preflight check.

The command line (:mod:`tui.cli`) and the demo (:mod:`tui.demo`) both print through this
module, so a report looks the same whichever verb produced it. Nothing here talks to a server:
each function takes what :class:`core.service.Service` returned and writes it to ``out``
(standard output by default). JSON goes out as UTF-8 text (``ensure_ascii=False``), indented.
"""

from __future__ import annotations

import difflib
import json
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from core.engine.plan import WRITES, Operation
from core.kinds import counted, kind_label, kind_word
from core.migrate import MigrationReport, migration_exit_code
from core.report import SyncReport, group_failures, more_like

#: How each side is named in text.
SIDE_NAMES = {"testrail": "TestRail", "testfiesta": "TestFiesta"}
#: A value shown on one line is cut to this many characters.
SHORT = 60


def _out(out: TextIO | None) -> TextIO:
    return out if out is not None else sys.stdout


def print_json(data: Any, out: TextIO | None = None) -> None:
    """``data`` as indented UTF-8 JSON and a newline."""
    stream = _out(out)
    json.dump(data, stream, indent=2, ensure_ascii=False)
    stream.write("\n")


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def short(value: Any, width: int = SHORT) -> str:
    """``value`` on one line for a table: strings quoted, None as ``(none)``, anything else as
    compact JSON; longer than ``width`` cut with an ellipsis."""
    if value is None:
        return "(none)"
    if isinstance(value, str):
        text = repr(value)
        if len(text) > width:  # cut inside the quotes, so the value still reads as text
            cut = value[: max(1, width - 3)]
            while len(repr(cut)) > width - 1 and len(cut) > 1:
                cut = cut[:-1]
            text = repr(cut) + "…"
        return text
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= width else text[: width - 1] + "…"


def when(seconds: float | None) -> str:
    """UNIX seconds as local ``YYYY-MM-DD HH:MM:SS``, or ``never``."""
    if seconds is None:
        return "never"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(seconds)))


# ---------------------------------------------------------------------------- migration


def print_migration_reports(
    reports: Sequence[MigrationReport], *, as_json: bool, out: TextIO | None = None
) -> None:
    """Migration reports as a table per project, or as one JSON document
    ``{"projects": [...], "complete": bool, "exit_code": int}``.

    ``complete`` means one thing at both levels: everything on TestRail is on TestFiesta,
    each copy equal (:attr:`MigrationReport.complete`); the top level is true when every
    project is, so a dry run that would write is never complete. ``exit_code`` is the
    command's (:func:`core.migrate.migration_exit_code`): 0 when complete without warnings
    or, for a dry run, when its plan can be applied as it is."""
    out = _out(out)
    if as_json:
        print_json(
            {
                "projects": [r.as_dict() for r in reports],
                "complete": all(r.complete for r in reports),
                "exit_code": migration_exit_code(reports),
            },
            out,
        )
        return
    for report in reports:
        verb = "would migrate" if report.dry_run else "migrated"
        out.write(
            f"TestRail project {report.testrail_project!r} {verb} to TestFiesta project "
            f"{report.testfiesta_project}\n\n"
        )
        created = "to create" if report.dry_run else "created"
        header = f"{'kind':<14}{'TestRail':>10}{'TestFiesta':>12}{created:>11}{'requests*':>11}"
        out.write(header + "\n" + "-" * len(header) + "\n")
        for kind, count in report.kinds.items():
            mark = ""
            if count.duplicates:
                mark = f"   <- {count.duplicates} duplicated"
            elif count.testrail != count.testfiesta and not report.dry_run:
                mark = f"   <- {count.testrail - count.testfiesta} missing"
            out.write(
                f"{kind:<14}{count.testrail:>10}{count.testfiesta:>12}{count.created:>11}"
                f"{count.requests:>11}{mark}\n"
            )
        requests = ", ".join(f"{side} {n}" for side, n in report.requests.items())
        out.write(f"\n* HTTP requests to both servers; in all: {requests}\n")
        if report.parity:
            _write_parity(report, out)
        for warning in report.warnings:
            out.write(f"warning: {warning}\n")
        if report.backfilling:
            out.write(
                "still backfilling: "
                + ", ".join(f"{kind} ({n} left)" for kind, n in report.backfilling.items())
                + ": run the same command again to continue where it stopped\n"
            )
        for line in report.attention:
            out.write(f"needs attention: {line}\n")
        for line in report.notes:
            out.write(f"note: {line}\n")
        if report.dry_run and not report.attention and not report.warnings:
            out.write("the plan can be applied as it is: run the same command without --dry-run\n")
        out.write("not migrated: " + "; ".join(report.not_migrated) + "\n\n")


#: Most keys listed per parity line (the JSON report lists them all).
PARITY_KEYS_SHOWN = 10


def _kind_rows(kind: str) -> str:
    """A kind's name in the parity table, the one the kinds table uses
    (:func:`core.kinds.kind_label`): ``case`` -> ``cases``, ``shared_step`` -> ``shared
    steps``."""
    return kind_label(kind)


def _write_parity(report: MigrationReport, out: TextIO) -> None:
    """The read-back: per kind, copies found and content hashes equal, with the keys of what
    is missing, extra or different."""
    header = (
        f"\n{'parity':<14}{'TestRail':>10}{'TestFiesta':>12}{'equal':>8}"
        f"{'differ':>8}{'missing':>9}{'extra':>7}"
    )
    out.write(header + "\n" + "-" * (len(header) - 1) + "\n")
    for kind, count in report.parity.items():
        equal = str(count.equal) if count.compared else "-"
        out.write(
            f"{_kind_rows(kind):<14}{count.testrail:>10}{count.testfiesta:>12}{equal:>8}"
            f"{len(count.differing):>8}{len(count.missing):>9}{len(count.extra):>7}\n"
        )
    for kind, count in report.parity.items():
        for what, keys in (
            ("differ", count.differing),
            ("missing", count.missing),
            ("extra on TestFiesta", count.extra),
        ):
            if keys:
                shown = ", ".join(keys[:PARITY_KEYS_SHOWN])
                more = (
                    f" and {len(keys) - PARITY_KEYS_SHOWN} more"
                    if len(keys) > PARITY_KEYS_SHOWN
                    else ""
                )
                out.write(f"{_kind_rows(kind)} {what}: {shown}{more}\n")
    for kind, count in report.parity.items():
        for note in count.notes:
            out.write(f"{_kind_rows(kind)}: {note}\n")
    if any(not count.compared for count in report.parity.values()):
        out.write("- : counted by link (TestFiesta's API lists no such records to compare)\n")


# ---------------------------------------------------------------------------- sync


def _title(report: SyncReport, what: str) -> str:
    read = "full read" if report.full else "changes since the last poll"
    return f"{report.testrail_project} -> {report.testfiesta_project}: {what} ({read})"


def _requests(requests: Mapping[str, int]) -> str:
    return ", ".join(f"{side} {n}" for side, n in requests.items()) or "none"


def _operation_line(op: Operation) -> str:
    """``update testfiesta case tf:case:7 (pair tr:case:3)``: what is written where."""
    if op.writes:
        head = f"{op.action} {op.side} {kind_word(op.kind)}"
    else:
        head = f"{op.action} {kind_word(op.kind)} (bookkeeping, no request)"
    where = op.target or ""
    if op.action == "create":
        where = f"from {op.source}" if op.source else ""
    if op.pair and op.pair not in (op.target, op.source):
        where = f"{where} (pair {op.pair})" if where else f"pair {op.pair}"
    return f"{head} {where}".rstrip()


def _done_rows(done: Mapping[str, int]) -> list[tuple[str, str, str, int]]:
    """(kind, action, side, n) for the write counts of an apply (``"update testfiesta case"``)."""
    rows = []
    for key, n in done.items():
        parts = key.split(" ")
        if len(parts) == 3 and parts[0] in WRITES:
            action, side, kind = parts
            rows.append((kind_label(kind), action, side, n))
    return sorted(rows)


def _write_table(rows: Sequence[tuple[str, str, str, int]], count_header: str, out: TextIO) -> None:
    header = f"  {'kind':<14}{'action':<9}{'side':<12}{count_header:>7}"
    out.write(header + "\n  " + "-" * (len(header) - 2) + "\n")
    for kind, action, side, n in rows:
        out.write(f"  {kind:<14}{action:<9}{side:<12}{n:>7}\n")


def _notices(report: SyncReport, out: TextIO) -> None:
    for notice in report.plan.notices:
        out.write(f"  {notice.what}: {notice.message}\n")
    for warning in report.warnings:
        out.write(f"  warning: {warning}\n")


def print_sync_reports(
    reports: Sequence[SyncReport],
    *,
    as_json: bool,
    open_conflicts: int | None = None,
    out: TextIO | None = None,
) -> None:
    """What one sync cycle did, per pair: the writes per kind, action and side, conflicts,
    held deletes, failures with their reasons and the requests each side spent. JSON: an array
    of :meth:`core.report.SyncReport.as_dict`. ``open_conflicts`` (every pair, from the store)
    ends the text when given."""
    out = _out(out)
    if as_json:
        print_json([r.as_dict() for r in reports], out)
        return
    for report in reports:
        applied = report.applied
        stopped = (
            " - stopped early, the rest waits for the next cycle"
            if (applied and applied.stopped)
            else ""
        )
        out.write(_title(report, "sync cycle") + stopped + "\n")
        rows = _done_rows(applied.done if applied else {})
        if rows:
            _write_table(rows, "done", out)
        else:
            out.write("  nothing to write\n")
        if report.recovered:
            out.write(
                f"  recovered {_plural(report.recovered, 'operation')} an interrupted run "
                "left in the journal\n"
            )
        out.write(f"  conflicts: {len(report.plan.conflicts)}\n")
        held = report.held
        out.write(
            f"  deletes held: {held}"
            + (" (run with --confirm-deletes to apply them)" if held else "")
            + "\n"
        )
        failed = applied.failed if applied else []
        out.write(f"  failed: {len(failed)}\n")
        for group in group_failures(failed):  # one line per kind of failure
            op, reason = group[0]
            out.write(f"    {_operation_line(op)}: {reason}{more_like(group)}\n")
        skipped = applied.skipped if applied else []
        if skipped:
            out.write(
                f"  skipped: {len(skipped)} (an earlier write of the same record failed; "
                "tried again next cycle)\n"
            )
        _notices(report, out)
        out.write(f"  requests: {_requests(report.requests)}\n\n")
    if open_conflicts is not None:
        if open_conflicts:
            out.write(
                f"{_plural(open_conflicts, 'conflict')} open: see `railfiesta conflicts list`\n"
            )
        else:
            out.write("no conflicts open\n")


def sync_summary(report: SyncReport) -> list[str]:
    """One line for a cycle of ``sync --watch`` (plus one per kind of failure,
    :func:`core.report.group_failures`, and one per notice)."""
    applied = report.applied
    rows = _done_rows(applied.done if applied else {})
    writes = ", ".join(f"{action} {side} {counted(n, kind)}" for kind, action, side, n in rows)
    failed = applied.failed if applied else []
    line = (
        f"{report.testrail_project} -> {report.testfiesta_project}: "
        f"{writes or 'nothing to write'}; {_plural(len(report.plan.conflicts), 'conflict')}, "
        f"{report.held} held, {len(failed)} failed; requests {_requests(report.requests)}"
    )
    if applied and applied.stopped:
        line += "; stopped early"
    lines = [line]
    lines += [
        f"  failed: {_operation_line(g[0][0])}: {g[0][1]}{more_like(g)}"
        for g in group_failures(failed)
    ]
    lines += [f"  {n.what}: {n.message}" for n in report.plan.notices]
    lines += [f"  warning: {w}" for w in report.warnings]
    return lines


def print_plans(reports: Sequence[SyncReport], *, as_json: bool, out: TextIO | None = None) -> None:
    """What a sync cycle would do, per pair: each operation (action, side, kind, target or
    source, and for each value what the target holds now -> what would be written), the
    counts, conflicts and held deletes. JSON: an array of ``SyncReport.as_dict()``."""
    out = _out(out)
    if as_json:
        print_json([r.as_dict() for r in reports], out)
        return
    for report in reports:
        plan = report.plan
        out.write(
            _title(report, "plan")
            + f": {_plural(len(plan.writes), 'write')}, "
            + f"{_plural(len(plan.conflicts), 'conflict')}, "
            + f"{_plural(report.held, 'held delete')}; nothing was written\n"
        )
        for op in plan.operations:
            out.write(f"  {_operation_line(op)}\n")
            for name, value in op.values.items():
                if op.action == "create" or name not in op.expected:
                    out.write(f"      {name} = {short(value)}\n")
                else:
                    out.write(f"      {name}: {short(op.expected[name])} -> {short(value)}\n")
        counts = plan.counts()
        if counts:
            out.write("  counts:\n")
            for kind, per in counts.items():
                for action_side, n in per.items():
                    out.write(f"    {kind_label(kind):<14}{action_side:<24}{n:>6}\n")
        elif not plan.operations:
            out.write("  nothing to do\n")
        for conflict in plan.conflicts:
            values = conflict.values
            out.write(
                f"  conflict {conflict.id}: {conflict.kind} {conflict.field} of "
                f"{conflict.testrail}: TestRail {short(values.get('testrail'), 30)}, "
                f"TestFiesta {short(values.get('testfiesta'), 30)}\n"
            )
        _notices(report, out)
        out.write(f"  requests: {_requests(report.requests)}\n\n")


# ---------------------------------------------------------------------------- conflicts


def conflict_item(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A stored conflict as ``conflicts list --json`` shows it: ``id``, ``kind``,
    ``testrail``/``testfiesta`` (the record keys), ``field``, ``values`` (``testrail``,
    ``base``, ``testfiesta``), ``resolution`` (None, or ``{"winner", "value", "by", "at"}``)
    and ``since`` (UNIX seconds)."""
    conflict = entry["conflict"]
    return {
        "id": conflict["id"],
        "kind": conflict["kind"],
        "testrail": conflict["testrail"],
        "testfiesta": conflict["testfiesta"],
        "field": conflict["field"],
        "values": {
            "testrail": conflict["values"].get("testrail"),
            "base": conflict["values"].get("base"),
            "testfiesta": conflict["values"].get("testfiesta"),
        },
        "resolution": entry.get("resolution") or None,
        "since": entry.get("since"),
    }


def _chosen(resolution: Mapping[str, Any] | None) -> str:
    if not resolution:
        return "open"
    winner = str(resolution.get("winner"))
    return f"{'typed value' if winner == 'value' else SIDE_NAMES.get(winner, winner)} chosen"


def print_conflicts(
    entries: Sequence[Mapping[str, Any]], *, as_json: bool, out: TextIO | None = None
) -> None:
    """Open conflicts as a table (or a JSON array of :func:`conflict_item`)."""
    out = _out(out)
    items = [conflict_item(e) for e in entries]
    if as_json:
        print_json(items, out)
        return
    if not items:
        out.write("no conflicts open\n")
        return
    header = f"{'id':<14}{'kind':<8}{'field':<22}{'TestRail':<16}{'TestFiesta':<16}state"
    out.write(header + "\n" + "-" * len(header) + "\n")
    for item in items:
        out.write(
            f"{item['id']:<14}{item['kind']:<8}{item['field']:<22}{item['testrail']:<16}"
            f"{item['testfiesta']:<16}{_chosen(item['resolution'])}\n"
        )
    out.write(
        f"\n{_plural(len(items), 'conflict')}; `railfiesta conflicts show ID` shows the values, "
        "`railfiesta conflicts resolve ID --take testrail|testfiesta` settles one\n"
    )


def _lines(value: Any) -> list[str]:
    """A value as the lines a person reads: text split at newlines, None as nothing, anything
    else as indented JSON."""
    if value is None:
        return []
    if isinstance(value, str):
        return value.split("\n")
    return json.dumps(value, indent=2, ensure_ascii=False).split("\n")


def print_conflict(entry: Mapping[str, Any], out: TextIO | None = None) -> None:
    """One conflict in full: the records, the three values line by line, and a unified diff
    of each side against the base."""
    out = _out(out)
    item = conflict_item(entry)
    values = item["values"]
    out.write(f"conflict {item['id']}: {item['kind']} {item['field']}\n")
    out.write(f"  TestRail record:   {item['testrail']}\n")
    out.write(f"  TestFiesta record: {item['testfiesta']}\n")
    out.write(f"  open since:        {when(item['since'])}\n")
    resolution = item["resolution"]
    if resolution:
        out.write(
            f"  chosen:            {_chosen(resolution)} by {resolution.get('by', '?')} at "
            f"{when(resolution.get('at'))}; the next sync cycle writes it to both sides\n"
        )
        out.write("  value chosen:\n")
        for line in _lines(resolution.get("value")) or ["(none)"]:
            out.write(f"    | {line}\n")
    for side, label in (
        ("testrail", "TestRail"),
        ("base", "base (the value both sides last agreed on)"),
        ("testfiesta", "TestFiesta"),
    ):
        out.write(f"\n{label}:\n")
        value = values[side]
        if value is None:
            out.write("    (none: no common ancestor)\n" if side == "base" else "    (none)\n")
            continue
        for line in _lines(value):
            out.write(f"    | {line}\n")
    base = _lines(values["base"])
    for side in ("testrail", "testfiesta"):
        name = SIDE_NAMES[side]
        out.write(f"\ndiff base -> {name}:\n")
        diff = list(
            difflib.unified_diff(base, _lines(values[side]), "base", side, lineterm="", n=2)
        )
        if not diff:
            out.write("    (same as the base)\n")
        for line in diff:
            out.write(f"    {line}\n")
    if not resolution:
        out.write(
            f"\nsettle it: railfiesta conflicts resolve {item['id']} --take testrail "
            "(or --take testfiesta, or --value TEXT)\n"
        )


# ---------------------------------------------------------------------------- status


def print_status(status: Mapping[str, Any], *, as_json: bool, out: TextIO | None = None) -> None:
    """``Service.status()`` as lines, or as its JSON."""
    out = _out(out)
    if as_json:
        print_json(dict(status), out)
        return
    sync = status["sync"]
    state = "on" if sync["enabled"] else "off (`railfiesta sync on` turns it on)"
    out.write(f"sync:            {state}, every {duration(int(sync['interval']))}\n")
    holder = status.get("holder")
    if holder:
        out.write(
            f"running:         pid {holder.get('pid', '?')} on {holder.get('host', '?')}: "
            f"{holder.get('command') or '?'} (since {when(holder.get('started'))})\n"
        )
    elif holder is not None:
        out.write("running:         a sync holds the state lock (it has not said who it is)\n")
    else:
        out.write("running:         no sync is running\n")
    out.write(f"conflicts open:  {status['conflicts']}\n")
    waiting = status.get("resolved_waiting", 0)
    if waiting:
        out.write(f"chosen, waiting: {waiting} (the next cycle applies them)\n")
    out.write(f"pending:         {status['pending']}\n")
    for pair, left in (status.get("backfilling") or {}).items():
        kinds = ", ".join(f"{kind} ({n} left)" for kind, n in left.items())
        out.write(f"backfilling:     project {pair}: {kinds}; migrate or sync continues it\n")
    for pair, stopped in (status.get("migrating") or {}).items():
        out.write(
            f"migration:       INCOMPLETE: {stopped.get('project')} -> "
            f"{stopped.get('testfiesta')} (project {pair}, started "
            f"{when(stopped.get('started'))}) stopped part-way"
            + (
                " before the usable core landed\n"
                if stopped.get("stage") != "backfill"
                else " while backfilling\n"
            )
        )
        done = ", ".join(f"{kind} {n:,}" for kind, n in (stopped.get("done") or {}).items())
        out.write(f"  done:          {done or 'nothing yet'}\n")
        unfinished = ", ".join(
            f"{kind} (part of {n:,})" for kind, n in (stopped.get("unfinished") or {}).items()
        )
        out.write(
            f"  not done:      {unfinished + ', then ' if unfinished else ''}"
            f"{stopped.get('later')}\n"
        )
        out.write(
            f"  resume:        `{stopped.get('resume')}` with the same arguments continues it "
            "(nothing lands twice)\n"
        )
    out.write(f"last poll:       {when(status.get('last_poll'))}\n")
    requests = status.get("requests") or {}
    out.write(f"last requests:   {_requests(requests)}\n")


def duration(seconds: int) -> str:
    """Seconds as people write them in the config: ``5m``, ``1h``, ``90s``."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


# ---------------------------------------------------------------------------- check


@dataclass(frozen=True)
class CheckResult:
    """One line of ``railfiesta check``: what was checked, whether it passed, what was found
    (or what is wrong), and for a failure the fix."""

    check: str
    ok: bool
    detail: str
    fix: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON form: ``{"check", "ok", "detail", "fix"}``."""
        return {"check": self.check, "ok": self.ok, "detail": self.detail, "fix": self.fix}


def print_checks(
    results: Iterable[CheckResult], *, as_json: bool, out: TextIO | None = None
) -> None:
    """Check results as ``ok``/``FAIL`` lines (each failure with its fix), or a JSON list."""
    out = _out(out)
    results = list(results)
    if as_json:
        print_json([r.as_dict() for r in results], out)
        return
    for result in results:
        out.write(f"{'ok' if result.ok else 'FAIL':<6}{result.check}: {result.detail}\n")
        if not result.ok and result.fix:
            out.write(f"      fix: {result.fix}\n")
    failed = sum(1 for r in results if not r.ok)
    out.write(
        f"\n{_plural(failed, 'check')} failed\n" if failed else f"\nall {len(results)} checks ok\n"
    )
