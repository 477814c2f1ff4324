"""The ``railfiesta`` command line: the console and its headless forms (DESIGN §8).

    railfiesta [--config FILE]                    the console
    railfiesta demo [--headless] [--json] [--from-xml FILE] [--cases N]
    railfiesta migrate --config FILE [--project NAME] [--dry-run] [--json]
    railfiesta sync --once [--full] [--confirm-deletes] [--json]
    railfiesta sync --plan [--full] [--confirm-deletes] [--json]
    railfiesta sync --watch [--interval 5m] [--confirm-deletes]
    railfiesta sync on|off
    railfiesta conflicts list [--json]
    railfiesta conflicts show ID
    railfiesta conflicts resolve ID --take testrail|testfiesta | --value TEXT
    railfiesta status [--json]
    railfiesta check [--json]
    railfiesta state export FILE [--force]
    railfiesta state import FILE [--force]
    railfiesta emulate testrail --port P --user U --api-key K [--from-xml FILE] [--cases N]
    railfiesta emulate testfiesta --port P --handle H --token T
        (both: [--fault-rate R [--faults KIND,...] [--fault-seed N]] to inject faults)

Every verb goes through :class:`core.service.Service`, the facade the console uses; reports are
printed by :mod:`tui.render`. Exit codes: 0 clean, 1 something pending (conflicts, held
deletes, items skipped or not arrived, warnings), 2 failures, 3 fatal (bad command line or
config, missing secret, wrong credentials, API disabled, server unreachable, the state directory
locked by another migrate or sync), 130 interrupted (Ctrl-C). Textual is imported only by the
verbs that open the console.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shlex
import signal
import sys
import textwrap
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO, TypeVar

from core.config import KEYRING_SERVICE, Config, load_config, parse_duration, resolve_secret
from core.conflicts import typed_value
from core.errors import (
    AccessDenied,
    AuthenticationFailed,
    ConfigError,
    RailfiestaError,
    SecretMissing,
    ServerUnreachable,
    UnexpectedResponse,
    WrongServer,
    transient,
)
from core.lock import StateLock, SyncLocked, holder_name, read_holder
from core.mapping import check_field_names, match_name
from core.migrate import MigrationReport, migration_exit_code
from core.report import CLEAN, FAILED, FATAL, PENDING, SyncFinished, SyncReport, WatchPaused
from core.report import exit_code as worst
from core.service import Service
from tui.render import (
    SIDE_NAMES,
    CheckResult,
    duration,
    print_checks,
    print_conflict,
    print_conflicts,
    print_migration_reports,
    print_plans,
    print_status,
    print_sync_reports,
    short,
    sync_summary,
)
from tui.terminal import require_terminal, run_console

EXIT_OK, EXIT_PENDING, EXIT_FAILED, EXIT_FATAL = CLEAN, PENDING, FAILED, FATAL
#: Ctrl-C (SIGINT), as shells report it; a second SIGTERM ends at once with 143.
EXIT_INTERRUPTED = 130
EXIT_CODES = """exit codes:
  0    clean: everything arrived, nothing waits
  1    something is pending: conflicts, held deletes, warnings, items skipped or missing
  2    failures while working (what was written stays linked; run again to resume)
  3    fatal: bad command line or config, missing secret, wrong credentials or URL,
       API disabled, server unreachable, the state directory locked by another
       migrate or sync, or damaged
  130  interrupted (Ctrl-C)"""
_FATAL = (
    ConfigError,
    SecretMissing,
    AuthenticationFailed,
    AccessDenied,
    ServerUnreachable,
    WrongServer,
    UnexpectedResponse,
    SyncLocked,
)
#: Suite modes as TestRail names them.
SUITE_MODES = {
    1: "a single repository for all cases",
    2: "a single repository with baseline support",
    3: "multiple test suites",
}
T = TypeVar("T")


class _UsageError(Exception):
    """A command-line mistake (argparse would exit 2, which means "failures" here)."""


class _Fatal(RailfiestaError):
    """A fatal mistake found by the command line itself (an unknown conflict id)."""


class _Interrupted(Exception):
    """A second signal ended the command at once; ``code`` is its exit code."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _UsageError(message)


# ---------------------------------------------------------------------------- plumbing


def make_service(config: Config, state_dir: Path | None) -> Service:
    """The :class:`Service` every verb uses (tests replace this to route requests to
    in-process emulators)."""
    return Service(config, state_dir=state_dir)


def _config_path(args: argparse.Namespace) -> str:
    if not getattr(args, "config", None):
        raise ConfigError(
            "no config given",
            hint="pass --config FILE (copy sample-config.toml to start), or try `railfiesta demo`",
        )
    return str(args.config)


def _service(args: argparse.Namespace) -> Service:
    config = load_config(_config_path(args))
    service = make_service(config, Path(args.state) if getattr(args, "state", None) else None)
    service.subscribe(_connection_warning)
    return service


def _connection_warning(event: object) -> None:
    """Every verb that connects says on stderr, every run, when a secret could be read on the
    wire (``--json`` too: stdout stays the report)."""
    from core.events import ConnectionWarning

    if isinstance(event, ConnectionWarning):
        print(f"railfiesta: warning: {event.message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def _locked(service: Service, command: str) -> Iterator[StateLock]:
    """Hold the state lock of ``service``'s state directory (:class:`SyncLocked`, fatal, when
    another process holds it); a lock a crashed run left behind is taken over, saying so.
    Taken once the service is open, so a bad secret or state directory is named first."""
    lock = StateLock(service.state_dir, command=command)
    lock.acquire()
    if lock.warning:
        print(f"railfiesta: warning: {lock.warning}", file=sys.stderr)
    try:
        yield lock
    finally:
        lock.release()


def _stamp() -> str:
    return time.strftime("%H:%M:%S")


async def _stoppable(
    service: Service, work: Callable[[], Awaitable[T]], *, what: str
) -> tuple[T, int | None]:
    """Run ``work()`` so that the first SIGINT or SIGTERM asks ``service`` to stop after the
    operation in flight (saying so on stderr) and a second one ends it at once
    (:class:`_Interrupted`). Returns the result and the first signal received (None)."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    received: list[int] = []

    def on_signal(signum: int) -> None:
        received.append(signum)
        if len(received) == 1:
            service.request_stop()
            print(
                f"railfiesta: {signal.Signals(signum).name}: stopping {what} after the "
                "operation in flight; Ctrl-C again stops at once",
                file=sys.stderr,
                flush=True,
            )
        elif task is not None:
            print("railfiesta: stopping now", file=sys.stderr, flush=True)
            task.cancel()

    installed: list[tuple[int, Any]] = []
    if threading.current_thread() is threading.main_thread():
        for signum in (int(signal.SIGINT), int(signal.SIGTERM)):
            previous = signal.getsignal(signum)
            try:
                loop.add_signal_handler(signum, on_signal, signum)
            except (NotImplementedError, RuntimeError, ValueError):  # pragma: no cover
                continue
            installed.append((signum, previous))
    try:
        result = await work()
    except asyncio.CancelledError:
        if len(received) >= 2:
            raise _Interrupted(128 + received[-1]) from None
        raise
    finally:
        for signum, previous in installed:
            loop.remove_signal_handler(signum)
            if previous is not None:  # None: a handler not set from Python, left as it is
                signal.signal(signum, previous)
    return result, (received[0] if received else None)


def _after_stop(code: int, received: int | None) -> int:
    """A stop asked for with Ctrl-C exits 130; SIGTERM (a service manager) keeps ``code``."""
    return EXIT_INTERRUPTED if received == signal.SIGINT else code


class ProgressPrinter:
    """Headless progress on stderr: warnings, retries and rate-limit waits as they happen,
    and each stage's progress at most every ``interval`` seconds (and when it completes).
    ``activities=False`` leaves out the activity lines and the progress (the sync verbs,
    whose report says it all)."""

    def __init__(self, stream: TextIO, interval: float = 2.0, *, activities: bool = True) -> None:
        self.stream = stream
        self.interval = interval
        self.activities = activities
        self._last = 0.0

    def __call__(self, event: object) -> None:
        from core.events import Activity, ConnectionWarning, Progress
        from core.http import RateLimitWait, Retrying

        line = ""
        if isinstance(event, ConnectionWarning):
            return  # said once by the verb's own subscriber (_connection_warning)
        if isinstance(event, RateLimitWait):
            why = "is down for maintenance (HTTP 409):" if event.maintenance else "rate limit:"
            line = f"{event.side} {why} waiting {event.seconds:.0f} s ({event.endpoint})"
        elif isinstance(event, Retrying):
            line = f"{event.side} {event.endpoint}: {event.reason}; retrying"
        elif not self.activities:
            return
        elif isinstance(event, Activity):
            line = event.message if event.level == "info" else f"{event.level}: {event.message}"
        elif isinstance(event, Progress):
            now = time.monotonic()
            finished = event.total is not None and event.done >= event.total
            if not finished and now - self._last < self.interval:
                return
            self._last = now
            total = f"/{event.total}" if event.total is not None else ""
            line = f"  {event.stage}: {event.done}{total}"
        if line:
            print(line, file=self.stream, flush=True)


class WatchPrinter:
    """``sync --watch`` output: a time-stamped summary per pair and cycle, and when it pauses
    or resumes, on ``out``; retries and rate-limit waits on ``err``."""

    def __init__(self, out: TextIO, err: TextIO, interval: int) -> None:
        self.out = out
        self.progress = ProgressPrinter(err, activities=False)
        self.interval = interval
        self.paused: bool | None = None

    def __call__(self, event: object) -> None:
        if isinstance(event, SyncFinished):
            for line in sync_summary(event.report):
                print(f"{_stamp()} {line}", file=self.out, flush=True)
        elif isinstance(event, WatchPaused):
            if event.paused == self.paused:
                return  # the watch started again after a failed cycle: nothing changed
            self.paused = event.paused
            if event.paused:
                text = (
                    f"sync is off ([sync] enabled = false in {event.path}): waiting; "
                    "`railfiesta sync on` resumes it"
                )
            else:
                text = f"sync is on: a cycle every {duration(self.interval)}"
            print(f"{_stamp()} {text}", file=self.out, flush=True)
        else:
            self.progress(event)


# ---------------------------------------------------------------------------- console, demo


def cmd_console(args: argparse.Namespace) -> int:
    """``railfiesta [--config FILE]``: open the console (exit 3 without a terminal)."""
    config = load_config(_config_path(args))
    require_terminal()
    from tui.app import RailfiestaApp

    service = make_service(config, Path(args.state) if args.state else None)
    app = RailfiestaApp(service, theme=args.theme or config.ui.theme)
    return run_console(app, mouse=config.ui.mouse and not args.no_mouse)


def cmd_demo(args: argparse.Namespace) -> int:
    """``railfiesta demo``: both emulators on 127.0.0.1, a seeded project, then the console
    (or, with ``--headless``, the migration and its report)."""
    from tui.demo import run_demo

    if args.cases < 0:
        raise ConfigError(f"--cases {args.cases}: the number of cases cannot be negative")
    if args.rpm is not None and args.rpm < 1:
        raise ConfigError(f"--rpm {args.rpm}: requests per minute must be 1 or more")
    if not (args.headless or args.json):
        require_terminal()
    return run_demo(
        headless=args.headless or args.json,
        as_json=args.json,
        from_xml=Path(args.from_xml) if args.from_xml else None,
        cases=args.cases,
        seed=args.seed,
        requests_per_minute=args.rpm,
        mouse=not args.no_mouse,
        theme=args.theme,
    )


def _fault_options(parser: argparse.ArgumentParser) -> None:
    """``--fault-rate``, ``--faults`` and ``--fault-seed`` of ``railfiesta emulate``."""
    parser.add_argument(
        "--fault-rate",
        type=float,
        default=0.0,
        metavar="R",
        help="share of requests (0..1) that get an injected fault (default 0)",
    )
    parser.add_argument(
        "--faults",
        metavar="KIND,...",
        help="fault kinds to draw from (default: all the emulator supports): 429, 429-date, "
        "409 (TestRail), 500, 502, 503, 5xx-after, slow, slow-after, reset, truncated, html, "
        "prefix (TestRail), page-insert, page-delete",
    )
    parser.add_argument("--fault-seed", type=int, default=0, help="seed of the fault draw")


def cmd_emulate(args: argparse.Namespace) -> int:
    """``railfiesta emulate testrail|testfiesta``: one emulator in the foreground."""
    from tui.demo import emulate

    return emulate(args)


# ---------------------------------------------------------------------------- migrate


@contextlib.contextmanager
def _sigterm_as_ctrl_c() -> Iterator[None]:
    """While the block runs, SIGTERM (``kill``, a service manager) stops it as Ctrl-C does:
    the work in flight is cancelled, the state lock released, "interrupted; run the same
    command again to resume" said and 130 returned (:func:`main`); without it Python's
    default would end the process at once, silently, leaving the lock behind. What was
    written stays linked either way (the journal). Outside the main thread: nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> NoReturn:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


async def _migrate(
    service: Service, project: str | None, dry_run: bool, command: str
) -> list[MigrationReport]:
    async with service:
        if dry_run:
            return await service.migrate(project, dry_run=True)
        with _locked(service, command):
            return await service.migrate(project)


def cmd_migrate(args: argparse.Namespace) -> int:
    """``railfiesta migrate``: migrate every pair (or ``--project``) of the config, holding
    the state lock (a dry run reads only, and takes no lock)."""
    service = _service(args)
    config = service.config
    source = args.from_xml or args.from_csv
    if args.from_xml and args.from_csv:
        raise _UsageError("migrate takes one of --from-xml and --from-csv")
    if source:
        service.testrail_export = Path(source)
    if not args.json:
        service.subscribe(ProgressPrinter(sys.stderr))
    with _sigterm_as_ctrl_c():
        reports = asyncio.run(_migrate(service, args.project, args.dry_run, args.command_line))
    if args.project is not None and not reports:
        names = ", ".join(repr(str(p.testrail_project)) for p in config.pairs)
        raise ConfigError(
            f"no [[pair]] has testrail_project = {args.project!r}",
            path=str(config.path),
            hint=f"--project takes a testrail_project of the config: {names}",
        )
    print_migration_reports(reports, as_json=args.json)
    return migration_exit_code(reports)


# ---------------------------------------------------------------------------- sync


def _open_conflicts(service: Service) -> int:
    return sum(1 for entry in service.conflicts() if not entry.get("resolution"))


def _sync_code(reports: Sequence[SyncReport], open_conflicts: int) -> int:
    """The worst report's code, and at least 1 while conflicts stay open in the store (a
    conflict found by an earlier cycle still waits though this cycle did not see it again)."""
    return worst([*(r.exit_code for r in reports), EXIT_PENDING if open_conflicts else EXIT_OK])


def cmd_sync(args: argparse.Namespace) -> int:
    """``railfiesta sync --once|--plan|--watch|on|off``."""
    modes = [f"--{m}" for m in ("once", "plan", "watch") if getattr(args, m)]
    if args.switch:
        modes.append(args.switch)
    if len(modes) != 1:
        raise _UsageError(
            "sync needs exactly one of --once, --plan, --watch, on, off"
            + (f" (got {' '.join(modes)})" if modes else "")
        )
    mode = modes[0]
    allowed = {
        "--once": {"full", "confirm_deletes", "json"},
        "--plan": {"full", "confirm_deletes", "json"},
        "--watch": {"confirm_deletes", "interval"},
        "on": set(),
        "off": set(),
    }[mode]
    options = {"full": "--full", "confirm_deletes": "--confirm-deletes", "json": "--json"}
    options["interval"] = "--interval"
    for name, flag in options.items():
        if getattr(args, name) not in (None, False) and name not in allowed:
            raise _UsageError(f"sync {mode} does not take {flag}")
    if mode in ("on", "off"):
        return _sync_switch(args, mode == "on")
    if mode == "--plan":
        return _sync_plan(args)
    if mode == "--once":
        return _sync_once(args)
    return _sync_watch(args)


def _sync_switch(args: argparse.Namespace, enabled: bool) -> int:
    """``sync on``/``sync off``: one line of the config file, through tomlkit; no network."""
    service = _service(args)
    service.set_sync_enabled(enabled)
    word = "on" if enabled else "off"
    print(f"sync is {word}")
    holder = read_holder(service.state_dir)
    if holder and holder.get("pid"):
        what = "resumes" if enabled else "pauses after the operation in flight"
        print(
            f"the running sync (pid {holder['pid']}: {holder.get('command') or '?'}) {what} "
            "within a second",
            file=sys.stderr,
        )
    return EXIT_OK


def _sync_plan(args: argparse.Namespace) -> int:
    service = _service(args)
    if not args.json:
        service.subscribe(ProgressPrinter(sys.stderr, activities=False))

    async def run() -> list[SyncReport]:
        async with service:
            return await service.sync(
                plan_only=True, full=args.full, confirm_deletes=args.confirm_deletes
            )

    reports = asyncio.run(run())
    print_plans(reports, as_json=args.json)
    return worst(r.exit_code for r in reports)


def _sync_once(args: argparse.Namespace) -> int:
    service = _service(args)
    if not args.json:
        service.subscribe(ProgressPrinter(sys.stderr, activities=False))

    async def run() -> tuple[list[SyncReport], int | None, int]:
        async with service:
            with _locked(service, args.command_line):
                reports, received = await _stoppable(
                    service,
                    lambda: service.sync(full=args.full, confirm_deletes=args.confirm_deletes),
                    what="the sync",
                )
            return reports, received, _open_conflicts(service)

    reports, received, open_conflicts = asyncio.run(run())
    print_sync_reports(reports, as_json=args.json, open_conflicts=open_conflicts)
    return _after_stop(_sync_code(reports, open_conflicts), received)


def _sync_watch(args: argparse.Namespace) -> int:
    interval: int | None = None
    if args.interval is not None:
        try:
            interval = parse_duration(args.interval, what="--interval")
        except ValueError as exc:
            raise _UsageError(str(exc)) from None
    service = _service(args)
    every = interval or service.config.sync.interval
    service.subscribe(WatchPrinter(sys.stdout, sys.stderr, every))

    async def keep_watching() -> int:
        while True:
            try:
                return await service.watch(interval=interval, confirm_deletes=args.confirm_deletes)
            except RailfiestaError as error:
                if service.stopping or not transient(error):
                    raise
                again = duration(every)
                print(
                    f"{_stamp()} cycle failed: {error.message}; trying again in {again}", flush=True
                )
                slept = 0.0
                while slept < every and not service.stopping:
                    await asyncio.sleep(0.2)
                    slept += 0.2
                if service.stopping:
                    return EXIT_FAILED

    async def run() -> tuple[int, int | None]:
        async with service:
            with _locked(service, args.command_line):
                print(
                    f"{_stamp()} watching {service.config.path} (a cycle every {duration(every)} "
                    "while [sync] enabled is true); Ctrl-C stops after the operation in flight",
                    flush=True,
                )
                return await _stoppable(service, keep_watching, what="the watch")

    code, received = asyncio.run(run())
    print(f"{_stamp()} stopped", flush=True)
    return _after_stop(code, received)


# ---------------------------------------------------------------------------- conflicts


def _with_state(service: Service, call: Callable[[], T]) -> T:
    """``call()`` with only the state store open (no secret, no network)."""
    service.open_state()
    try:
        return call()
    finally:
        asyncio.run(service.close())


def _find_conflict(service: Service, conflict_id: str) -> dict[str, Any]:
    """The open conflict ``conflict_id`` names (the id or an unambiguous prefix of at least
    4 characters); a fatal error saying why otherwise."""
    try:
        return service.conflict(conflict_id)
    except KeyError:
        pass
    ids = [str(e["conflict"]["id"]) for e in service.conflicts()]
    matches = [i for i in ids if i.startswith(conflict_id)]
    if len(matches) > 1:
        if len(conflict_id) < 4:
            detail = "give at least 4 characters of the id"
        else:
            detail = "give more characters of the id"
        raise _Fatal(
            f"conflict id {conflict_id!r} matches {len(matches)} conflicts: "
            + ", ".join(matches[:5]),
            hint=detail,
        )
    if matches:
        raise _Fatal(f"conflict id {conflict_id!r} is too short", hint="give at least 4 characters")
    raise _Fatal(
        f"no open conflict has the id {conflict_id!r}"
        + ("" if ids else " (no conflicts are open)"),
        hint="`railfiesta conflicts list` shows the open ones",
    )


def cmd_conflicts(args: argparse.Namespace) -> int:
    """``railfiesta conflicts list|show|resolve``."""
    service = _service(args)
    if args.action == "list":
        entries = _with_state(service, service.conflicts)
        print_conflicts(entries, as_json=args.json)
        return EXIT_PENDING if entries else EXIT_OK
    if args.action == "show":
        entry = _with_state(service, lambda: _find_conflict(service, args.id))
        print_conflict(entry)
        return EXIT_OK
    return _resolve(args, service)


def _typed_value(entry: dict[str, Any], text: str) -> Any:
    """``--value TEXT`` for this conflict (:func:`core.conflicts.typed_value`: the text itself
    for a text value; JSON for a value that is not text on either side)."""
    try:
        return typed_value(entry["conflict"]["values"], text)
    except ValueError as error:
        raise _Fatal(
            f"{entry['conflict']['field']} {error}",
            hint="give --value as JSON, in the shape `railfiesta conflicts show ID` prints",
        ) from None


def _resolve(args: argparse.Namespace, service: Service) -> int:
    """Record the choice, then apply it now with one sync cycle unless another process holds
    the state lock (a running ``sync --watch`` applies it at its next cycle)."""

    if args.rest_of_field and not args.take:
        raise _Fatal(
            "--rest-of-field repeats a side's value; a typed value belongs to one record",
            hint="give --take testrail or --take testfiesta with --rest-of-field",
        )
    rest: list[dict[str, Any]] = []

    def record() -> dict[str, Any]:
        entry = _find_conflict(service, args.id)
        if args.take:
            chosen = service.resolve(entry["conflict"]["id"], args.take)
            if args.rest_of_field:
                rest.extend(service.resolve_rest(entry["conflict"]["id"], args.take))
            return chosen
        value = _typed_value(entry, args.value)
        try:
            return service.resolve(entry["conflict"]["id"], "value", value)
        except ValueError as error:
            raise _Fatal(
                str(error), hint="`railfiesta conflicts show ID` prints both sides' values"
            ) from None

    entry = _with_state(service, record)
    conflict = entry["conflict"]
    full_id = str(conflict["id"])
    chosen = entry["resolution"]["value"]
    who = "typed value" if args.value is not None else f"{SIDE_NAMES[args.take]}'s value"
    print(
        f"conflict {full_id} ({conflict['kind']} {conflict['field']} of {conflict['testrail']}): "
        f"{who} {short(chosen)} chosen"
    )
    for other in rest:
        print(
            f"conflict {other['conflict']['id']} ({other['conflict']['kind']} "
            f"{other['conflict']['field']} of {other['conflict']['testrail']}): {who} "
            f"{short(other['resolution']['value'])} chosen (the rest of the field)"
        )
    lock = StateLock(service.state_dir, command=args.command_line)
    try:
        lock.acquire()
    except SyncLocked as held:
        pid = held.holder.get("pid")
        holder = holder_name(held.holder.get("command"))
        who_runs = f"pid {pid}: {held.holder.get('command') or '?'}" if pid else "not said yet"
        if holder in ("another railfiesta sync", "a railfiesta console"):
            print(f"the running sync ({who_runs}) applies it at its next cycle")
        else:  # a migrate or a state import: it applies no choices
            print(
                f"{holder} holds the state ({who_runs}): the choice is kept and the next "
                "sync applies it"
            )
        return EXIT_OK
    try:
        if lock.warning:
            print(f"railfiesta: warning: {lock.warning}", file=sys.stderr)
        service.subscribe(ProgressPrinter(sys.stderr, activities=False))

        async def run() -> tuple[list[SyncReport], int | None, list[str]]:
            async with service:
                reports, received = await _stoppable(
                    service, lambda: service.sync(), what="the sync"
                )
                still = [str(e["conflict"]["id"]) for e in service.conflicts()]
                return reports, received, still

        print("applying it now with one sync cycle:\n")
        reports, received, still = asyncio.run(run())
    finally:
        lock.release()
    print_sync_reports(reports, as_json=False)
    if full_id in still:
        print(
            f"conflict {full_id} is still open: the choice stays recorded and the next cycle "
            "tries again (see the report above)"
        )
    else:
        print(f"conflict {full_id} resolved: both sides now hold {short(chosen)}")
    open_conflicts = len(still)
    if open_conflicts:
        print(f"{open_conflicts} conflicts still open: see `railfiesta conflicts list`")
    return _after_stop(_sync_code(reports, open_conflicts), received)


# ---------------------------------------------------------------------------- status


def cmd_status(args: argparse.Namespace) -> int:
    """``railfiesta status``: the state store and the config file only, no network."""
    service = _service(args)
    status = _with_state(service, service.status)
    print_status(status, as_json=args.json)
    waiting = (
        status["conflicts"]
        or status.get("resolved_waiting")
        or status["pending"]
        or status.get("migrating")
    )
    return EXIT_PENDING if waiting else EXIT_OK


# ---------------------------------------------------------------------------- state


def cmd_state(args: argparse.Namespace) -> int:
    """``railfiesta state export|import FILE``: back the state store up as JSON, or restore
    it; no secret, no network."""
    service = _service(args)
    path = Path(args.file)
    try:
        if args.action == "export":
            count = service.export_state(path, force=args.force)
            print(f"exported {count} entries of {service.state_dir} to {path}")
        else:
            count = service.import_state(path, force=args.force, command=args.command_line)
            print(f"imported {count} entries from {path} into {service.state_dir}")
    finally:
        asyncio.run(service.close())
    return EXIT_OK


# ---------------------------------------------------------------------------- check


def _failure(check: str, error: RailfiestaError) -> CheckResult:
    return CheckResult(check, False, error.message, error.hint)


async def _server_checks(
    service: Service,
    side: str,
    call: Callable[[], Awaitable[list[dict[str, Any]]]],
    who: str,
) -> tuple[list[CheckResult], bool]:
    """Server reachable, credentials accepted, API enabled: one listing answers all three."""
    name = SIDE_NAMES[side]
    url = service.config.testrail.url if side == "testrail" else service.config.testfiesta.url
    server = CheckResult(f"{name} server", True, f"{url} answers as {name}'s API")
    try:
        rows = await call()
    except AuthenticationFailed as error:
        return [server, _failure(f"{name} credentials", error)], False
    except AccessDenied as error:
        accepted = CheckResult(f"{name} credentials", True, f"{who} accepted")
        return [server, accepted, _failure(f"{name} API", error)], False
    except RailfiestaError as error:
        return [_failure(f"{name} server", error)], False
    return [
        server,
        CheckResult(f"{name} credentials", True, f"{who} accepted"),
        CheckResult(
            f"{name} API",
            True,
            f"enabled ({len(rows)} project{'s' * (len(rows) != 1)} visible)",
        ),
    ], True


def _names(rows: Sequence[dict[str, Any]], *keys: str) -> list[str]:
    return [str(row[k]) for row in rows for k in keys if row.get(k)]


def _mapping_checks(
    table: str,
    mapping: dict[str, str],
    testrail: Sequence[str],
    testfiesta: Sequence[str],
    what: str,
) -> list[CheckResult]:
    """Each ``[mapping.<table>]`` line: its TestRail name and its TestFiesta name exist."""
    results = []
    for tr_name, tf_name in mapping.items():
        check = f"[mapping.{table}] {tr_name!r} = {tf_name!r}"
        missing = []
        if match_name(tr_name, testrail) is None:
            missing.append(
                (f"TestRail has no {what} {tr_name!r}", f"TestRail's: {', '.join(testrail)}")
            )
        if match_name(tf_name, testfiesta) is None:
            missing.append(
                (
                    f"TestFiesta has no {what} {tf_name!r}",
                    f"TestFiesta's: {', '.join(testfiesta)}",
                )
            )
        if missing:
            results.append(
                CheckResult(
                    check,
                    False,
                    "; ".join(m[0] for m in missing),
                    f"use names that exist ({'; '.join(m[1] for m in missing)})",
                )
            )
        else:
            results.append(CheckResult(check, True, f"a {what} on both sides"))
    return results


async def _field_checks(service: Service, project_key: str | None) -> list[CheckResult]:
    """``[mapping.fields]`` and ``[sync.fields]`` names against TestRail's case fields and the
    (first pair's) TestFiesta project's custom fields; the rule is
    :func:`core.mapping.check_field_names`."""
    config = service.config
    if not config.mapping.fields and not config.sync.field_policies:
        return []
    try:
        tr_fields = await service.testrail_case_fields()
        tf_fields = await service.testfiesta_custom_fields(project_key) if project_key else None
    except RailfiestaError as error:
        return [_failure("[mapping.fields] and [sync.fields]", error)]
    return [
        CheckResult(*line)
        for line in check_field_names(
            config.mapping.fields,
            config.sync.field_policies,
            _names(tr_fields, "system_name"),
            None if tf_fields is None else _names(tf_fields, "name"),
        )
    ]


async def _online_checks(service: Service) -> list[CheckResult]:
    config = service.config
    results: list[CheckResult] = []
    try:
        await service.open()
    except RailfiestaError as error:
        return [_failure("state directory", error)]
    try:
        results.append(CheckResult("state directory", True, f"{service.state_dir} can be used"))
        tr_results, tr_ok = await _server_checks(
            service, "testrail", service.testrail_projects, f"user {config.testrail.user}"
        )
        tf_results, tf_ok = await _server_checks(
            service,
            "testfiesta",
            service.testfiesta_projects,
            f"token for organization {config.testfiesta.handle!r}",
        )
        results += tr_results + tf_results
        tf_statuses: list[dict[str, Any]] = []
        tf_priorities: list[dict[str, Any]] = []
        if tf_ok:
            try:
                tf_statuses = await service.testfiesta_statuses()
                tf_priorities = await service.testfiesta_priorities()
            except RailfiestaError as error:
                tf_ok = False
                results.append(_failure("TestFiesta TestRail shim", error))
            else:
                results.append(
                    CheckResult(
                        "TestFiesta TestRail shim",
                        True,
                        "answers (case updates and the status and priority lists use it)",
                    )
                )
        for index in range(1, len(config.pairs) + 1):
            label = f"[[pair]] {index}"
            if not tr_ok:
                break
            try:
                project = await service.testrail_project(index - 1)
            except RailfiestaError as error:
                results.append(_failure(f"{label} TestRail project", error))
                continue
            mode = int(project.get("suite_mode") or 1)
            results.append(
                CheckResult(
                    f"{label} TestRail project",
                    True,
                    f"{project['name']!r} (id {project['id']}), suite mode {mode}: "
                    f"{SUITE_MODES.get(mode, 'unknown')}",
                )
            )
            if not tf_ok:
                continue
            try:
                match = await service.testfiesta_project_match(index - 1)
            except RailfiestaError as error:
                results.append(_failure(f"{label} TestFiesta project", error))
                continue
            if match.project is not None:
                detail = f"{match.key} exists ({match.project.get('name')!r})"
            else:
                detail = f"{match.key} does not exist yet: it will be created by migrate"
            results.append(CheckResult(f"{label} TestFiesta project", True, detail))
            if index == 1:
                results += await _field_checks(service, match.key if match.project else None)
        if tr_ok and tf_ok:
            try:
                tr_statuses = await service.testrail_statuses()
                tr_priorities = await service.testrail_priorities()
            except RailfiestaError as error:
                results.append(_failure("TestRail statuses and priorities", error))
            else:
                results += _mapping_checks(
                    "status",
                    dict(config.mapping.status),
                    _names(tr_statuses, "label", "name"),
                    _names(tf_statuses, "name"),
                    "status",
                )
                results += _mapping_checks(
                    "priority",
                    dict(config.mapping.priority),
                    _names(tr_priorities, "name"),
                    _names(tf_priorities, "name"),
                    "priority",
                )
    finally:
        await service.close()
    return results


def cmd_check(args: argparse.Namespace) -> int:
    """``railfiesta check``: a read-only preflight of the config, the secrets, both servers,
    each pair's projects and the status/priority mapping."""
    results: list[CheckResult] = []
    try:
        service = _service(args)
    except ConfigError as error:
        results.append(_failure("config", error))
    else:
        config = service.config
        pairs = len(config.pairs)
        results.append(
            CheckResult(
                "config", True, f"{config.path} parses ({pairs} [[pair]] table{'s' * (pairs != 1)})"
            )
        )
        secrets_ok = True
        for side, env, account, what in service.secret_sources():
            try:
                resolve_secret(env, account=account, what=what)
            except SecretMissing as error:
                secrets_ok = False
                results.append(_failure(f"{SIDE_NAMES[side]} secret", error))
                continue
            where = (
                f"${env}"
                if (os.environ.get(env) or "").strip()
                else f"the OS keyring ({KEYRING_SERVICE}/{account})"
            )
            results.append(CheckResult(f"{SIDE_NAMES[side]} secret", True, f"{what} in {where}"))
        if secrets_ok:
            results += asyncio.run(_online_checks(service))
        else:
            results.append(
                CheckResult(
                    "servers",
                    False,
                    "not checked: a secret is missing",
                    "provide the secret above, then run `railfiesta check` again",
                )
            )
    print_checks(results, as_json=args.json)
    return EXIT_OK if all(r.ok for r in results) else EXIT_FATAL


# ---------------------------------------------------------------------------- the parser


def _para(*paragraphs: str) -> str:
    """Help text for a raw formatter: each paragraph wrapped to 92 columns."""
    return "\n\n".join(textwrap.fill(" ".join(p.split()), 92) for p in paragraphs)


def _config_options(parser: argparse.ArgumentParser) -> None:
    """--config and --state, also accepted after the command."""
    parser.add_argument("--config", default=argparse.SUPPRESS, help="the TOML config")
    parser.add_argument("--state", default=argparse.SUPPRESS, help="state directory")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every verb."""
    formatter = argparse.RawDescriptionHelpFormatter
    parser = _Parser(
        prog="railfiesta",
        description=_para(
            "Migrate TestRail into TestFiesta and keep both in sync. Without a "
            "command, opens the console for --config FILE."
        ),
        epilog=EXIT_CODES,
        formatter_class=formatter,
    )
    parser.add_argument("--config", help="the TOML config (see sample-config.toml)")
    parser.add_argument("--state", help="state directory (default: under your user data dir)")
    parser.add_argument("--theme", help="console theme (railfiesta-dark, -light, -high-contrast)")
    parser.add_argument("--no-mouse", action="store_true", help="turn mouse support off")
    parser.set_defaults(func=cmd_console)
    verbs = parser.add_subparsers(title="commands", metavar="COMMAND")

    demo = verbs.add_parser("demo", help="try it with local TestRail and TestFiesta emulators")
    demo.add_argument("--headless", action="store_true", help="migrate and print, no console")
    demo.add_argument("--json", action="store_true", help="headless, and print JSON")
    demo.add_argument("--from-xml", metavar="FILE", help="seed TestRail from an XML suite export")
    demo.add_argument("--cases", type=int, default=600, help="generated cases (default 600)")
    demo.add_argument("--seed", type=int, default=7, help="random seed of the generator")
    demo.add_argument(
        "--rpm",
        type=int,
        default=None,
        help="TestRail requests per minute, enforced by the emulator and paced by the client "
        "(default: no limit)",
    )
    demo.set_defaults(func=cmd_demo)

    migrate = verbs.add_parser(
        "migrate",
        help="migrate the config's [[pair]] projects",
        description=_para(
            "Copy each [[pair]]'s TestRail project into its TestFiesta project. Safe "
            "to re-run or resume: what TestFiesta already holds is found and linked, never "
            "created twice. Secrets come from the environment variables the config names "
            "(api_key_env, token_env; default TESTRAIL_API_KEY, TESTFIESTA_TOKEN) or the OS "
            "keyring. Holds the state directory's lock while it runs (not with --dry-run), so "
            "it refuses to start while a sync runs."
        ),
        epilog=EXIT_CODES,
        formatter_class=formatter,
    )
    _config_options(migrate)
    migrate.add_argument("--project", help="only the pair with this testrail_project")
    migrate.add_argument("--dry-run", action="store_true", help="read both sides, write nothing")
    migrate.add_argument(
        "--from-xml",
        metavar="FILE",
        help="read TestRail from a suite's XML export instead of its API (no API key needed)",
    )
    migrate.add_argument(
        "--from-csv",
        metavar="FILE",
        help="read TestRail from a CSV or 'Excel' export instead of its API",
    )
    migrate.add_argument("--json", action="store_true", help="print the report as JSON")
    migrate.set_defaults(func=cmd_migrate)

    sync = verbs.add_parser(
        "sync",
        help="two-way sync: one cycle, its plan, a watch loop, or switch it on/off",
        usage="railfiesta sync (--once | --plan | --watch | on | off) [options]",
        description="""Keep every [[pair]] of the config in two-way sync.

  sync --once    one cycle for every pair now, whatever [sync] enabled says; prints per pair
                 the writes per kind, action and side, conflicts, held deletes, failures with
                 their reasons and the requests each side spent (--json: an array of reports);
                 exit 1 while any conflict is open, also one an earlier cycle found
  sync --plan    what one cycle would do (each operation, the values it would change, the
                 counts); writes nothing to either server or to the state; exit 1 if
                 conflicts or held deletes wait, else 0
  sync --watch   a cycle every --interval (default [sync] interval) while [sync] enabled is
                 true in the config file (watched: `sync off` or the console's s elsewhere
                 pauses it within a second, after the operation in flight; the console's S
                 asks it for a cycle now). A server that cannot be reached, or answers 429 or 5xx,
                 is tried again at the next poll. The first Ctrl-C or SIGTERM stops after the
                 operation in flight; a second Ctrl-C stops at once
  sync on|off    set [sync] enabled in the config file (only that value changes; every
                 comment stays); needs no network

--once and --watch hold the state directory's lock: a second sync on the same state is a
fatal error naming the process that holds it. On --once too, the first Ctrl-C or SIGTERM
stops after the operation in flight and a second Ctrl-C at once. When one cycle would delete
or archive more than [sync] big_delete_threshold records, those deletes wait (held) until a
cycle runs with --confirm-deletes.""",
        epilog=EXIT_CODES
        + "\n\nAfter Ctrl-C the exit code is 130; after SIGTERM, that of the last cycle.",
        formatter_class=formatter,
    )
    _config_options(sync)
    sync.add_argument(
        "switch", nargs="?", choices=["on", "off"], metavar="on|off", help="switch sync on/off"
    )
    sync.add_argument("--once", action="store_true", help="run one sync cycle now")
    sync.add_argument("--plan", action="store_true", help="show what one cycle would do")
    sync.add_argument("--watch", action="store_true", help="sync every interval until stopped")
    sync.add_argument(
        "--full", action="store_true", help="read every record (deletions show only then)"
    )
    sync.add_argument(
        "--confirm-deletes", action="store_true", help="apply deletes that wait for confirmation"
    )
    sync.add_argument(
        "--interval", metavar="DURATION", help='--watch: "30s", "5m", "1h" (default [sync])'
    )
    sync.add_argument("--json", action="store_true", help="--once/--plan: print JSON")
    sync.set_defaults(func=cmd_sync)

    conflicts = verbs.add_parser(
        "conflicts",
        help="list, show and resolve sync conflicts",
        description=_para(
            "A conflict is a value changed differently on both sides since the last "
            "sync. It waits, with all three values (TestRail, the base both last agreed on, "
            "TestFiesta), until a person chooses. ID is a conflict's id or a prefix of at least "
            "4 characters that names only it."
        ),
        epilog=EXIT_CODES,
        formatter_class=formatter,
    )
    _config_options(conflicts)
    actions = conflicts.add_subparsers(title="actions", metavar="ACTION", required=True)
    listing = actions.add_parser(
        "list",
        help="the open conflicts (exit 1 if there are any)",
        description=_para(
            "The open conflicts as a table, or with --json an array of {id, kind, "
            "testrail, testfiesta, field, values: {testrail, base, testfiesta}, resolution, "
            "since}. Reads only the state directory. Exit 1 if any is open, else 0."
        ),
        epilog=EXIT_CODES,
        formatter_class=formatter,
    )
    _config_options(listing)
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    listing.set_defaults(func=cmd_conflicts, action="list")
    show = actions.add_parser(
        "show",
        help="one conflict: the three values in full and a diff of each side",
        description=_para(
            "The TestRail, base and TestFiesta values in full (text line by line) and "
            "a unified diff of each side against the base. Reads only the state directory."
        ),
        epilog=EXIT_CODES,
        formatter_class=formatter,
    )
    _config_options(show)
    show.add_argument("id", metavar="ID", help="conflict id or unambiguous prefix")
    show.set_defaults(func=cmd_conflicts, action="show")
    resolve = actions.add_parser(
        "resolve",
        help="choose a value and apply it",
        description=_para(
            "Record the choice, then apply it at once with one sync cycle of every "
            "pair (and print its report). If another process holds the state lock (a running "
            "`sync --watch`), the choice is recorded and that sync applies it at its next cycle. "
            "An unknown ID is fatal (exit 3)."
        ),
        epilog=EXIT_CODES,
        formatter_class=formatter,
    )
    _config_options(resolve)
    resolve.add_argument("id", metavar="ID", help="conflict id or unambiguous prefix")
    choice = resolve.add_mutually_exclusive_group(required=True)
    choice.add_argument("--take", choices=["testrail", "testfiesta"], help="keep this side's value")
    choice.add_argument(
        "--value",
        metavar="TEXT",
        help="write this value to both sides (JSON for a value that is not text)",
    )
    resolve.add_argument(
        "--rest-of-field",
        action="store_true",
        help="with --take: the same choice for every other open conflict on that field "
        "(title, steps ...) of the same kind (the console's D)",
    )
    resolve.set_defaults(func=cmd_conflicts, action="resolve")

    status = verbs.add_parser(
        "status",
        help="sync on/off, conflicts, pending items, the last poll",
        description=_para(
            "Whether sync is on, whether a sync runs (and which process), open "
            "conflicts, choices waiting for the next cycle, pending items (journal entries, "
            "writes to retry), the last poll and the requests it spent. Reads only the config "
            "and the state directory. --json: {sync: {enabled, interval}, conflicts, "
            "resolved_waiting, pending, last_poll (UNIX seconds or null), requests: {testrail, "
            "testfiesta}, holder}. Exit 1 while conflicts or pending items wait, else 0."
        ),
        epilog=EXIT_CODES,
        formatter_class=formatter,
    )
    _config_options(status)
    status.add_argument("--json", action="store_true", help="print JSON")
    status.set_defaults(func=cmd_status)

    check = verbs.add_parser(
        "check",
        help="read-only preflight of config, secrets, servers, projects and mapping",
        description=_para(
            "Check, writing nothing to either server: the config parses; both "
            "secrets are found; the state directory can be used; each server answers, accepts "
            "the credentials and has its API enabled (and TestFiesta's TestRail shim answers); "
            "each [[pair]]'s TestRail project exists (with its suite mode) and its TestFiesta "
            "project exists or will be created by migrate; every [mapping.status] and "
            "[mapping.priority] name exists on both sides; every [mapping.fields] key is a "
            "TestRail case field and every [sync.fields] key a TestRail case field or a synced "
            "value (title, steps, status ...). [users] ids and [ui] theme are checked when the "
            "config is read. One ok/FAIL line per check, each "
            "failure with its fix; --json: a list of {check, ok, detail, fix}. Exit 0 when all "
            "pass, 3 when any fails."
        ),
        epilog=EXIT_CODES,
        formatter_class=formatter,
    )
    _config_options(check)
    check.add_argument("--json", action="store_true", help="print JSON")
    check.set_defaults(func=cmd_check)

    state = verbs.add_parser(
        "state",
        help="back up or restore the state store (links, bases, journal) as JSON",
        description=_para(
            "The state store (--state, or the default directory for --config) holds what "
            "railfiesta knows of both sides: the links between their records, the base "
            "values of each pair, the change cursors, conflicts and resolutions, and the "
            "journal; never a secret. `state export FILE` writes all of it to FILE as JSON "
            "(mode 0600; an existing FILE only with --force). `state import FILE` restores "
            "such a backup: it refuses a store that holds anything unless --force, which "
            "replaces it (a damaged store's files are kept as cache.db.damaged-<time>), and "
            "it refuses while a sync or migration holds the state directory's lock. A store "
            "that cannot be read is reported, never reset: restore a backup, or move the "
            "directory away to start over (the next migrate or sync finds each record again "
            "by its externalId)."
        ),
        epilog=EXIT_CODES,
        formatter_class=formatter,
    )
    _config_options(state)
    state_actions = state.add_subparsers(title="actions", metavar="ACTION", required=True)
    for action, text in (
        ("export", "write the state store to FILE as JSON"),
        ("import", "replace the state store with the backup in FILE"),
    ):
        sub = state_actions.add_parser(action, help=text, description=_para(text + "."))
        _config_options(sub)
        sub.add_argument("file", metavar="FILE", help="the JSON backup")
        sub.add_argument(
            "--force",
            action="store_true",
            help="overwrite FILE" if action == "export" else "replace a store that is not empty",
        )
        sub.set_defaults(func=cmd_state, action=action)

    emulate = verbs.add_parser("emulate", help="run one emulator in the foreground")
    kinds = emulate.add_subparsers(title="emulators", metavar="SERVER", required=True)
    testrail = kinds.add_parser("testrail", help="a TestRail API v2 server")
    testrail.add_argument("--port", type=int, required=True, help="TCP port to listen on")
    testrail.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    testrail.add_argument("--user", required=True, help="login e-mail accepted by Basic auth")
    testrail.add_argument(
        "--api-key", help="API key accepted by Basic auth (default: $RAILFIESTA_EMULATOR_KEY)"
    )
    testrail.add_argument("--from-xml", metavar="FILE", help="seed from an XML suite export")
    testrail.add_argument(
        "--cases",
        type=int,
        help="seed a generated project with N cases (default 600) and, as the demo, 3 test "
        "plans with runs and results",
    )
    testrail.add_argument("--seed", type=int, default=7, help="generator seed (default 7)")
    testrail.add_argument("--rpm", type=int, help="answer 429 above this many requests/minute")
    _fault_options(testrail)
    testrail.set_defaults(func=cmd_emulate, server="testrail")
    testfiesta = kinds.add_parser("testfiesta", help="a TestFiesta API v1 server (with the shim)")
    testfiesta.add_argument("--port", type=int, required=True, help="TCP port to listen on")
    testfiesta.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    testfiesta.add_argument("--handle", required=True, help="organization handle")
    testfiesta.add_argument(
        "--token", help="accepted token, testfiesta_... (default: $RAILFIESTA_EMULATOR_TOKEN)"
    )
    testfiesta.add_argument("--rpm", type=int, help="answer 429 above this many requests/minute")
    _fault_options(testfiesta)
    testfiesta.set_defaults(func=cmd_emulate, server="testfiesta")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``railfiesta`` command; returns the exit code."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(arguments)
    except _UsageError as exc:
        return _usage(str(exc))
    args.command_line = shlex.join(["railfiesta", *arguments])
    try:
        code: int = args.func(args)
        return code
    except _UsageError as exc:
        return _usage(str(exc))
    except BrokenPipeError:  # `railfiesta migrate --json | head`: the reader left
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except (*_FATAL, _Fatal) as exc:
        _report_error(exc)
        return EXIT_FATAL
    except RailfiestaError as exc:
        _report_error(exc)
        return EXIT_FAILED
    except _Interrupted as exc:
        print("railfiesta: stopped at once; run the same command again to resume", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print("railfiesta: interrupted; run the same command again to resume", file=sys.stderr)
        return EXIT_INTERRUPTED


def _usage(message: str) -> int:
    print(f"railfiesta: {message}", file=sys.stderr)
    print("  fix: see railfiesta --help", file=sys.stderr)
    return EXIT_FATAL


def _report_error(exc: RailfiestaError) -> None:
    print(f"railfiesta: {exc.message}", file=sys.stderr)
    if exc.hint:
        print(f"  fix: {exc.hint}", file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
