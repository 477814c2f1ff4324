"""The ``railfiesta`` command line: the console and its headless forms (DESIGN §8).

    railfiesta [--config FILE]                    the console
    railfiesta demo [--headless] [--json] [--from-xml FILE] [--cases N]
    railfiesta migrate --config FILE [--project NAME] [--dry-run] [--json]
    railfiesta emulate testrail --port P --user U --api-key K [--from-xml FILE] [--cases N]
    railfiesta emulate testfiesta --port P --handle H --token T

Exit codes: 0 clean, 1 something pending (items skipped or not arrived, warnings), 2 failures,
3 fatal (bad config, missing secret, wrong credentials, API disabled, server unreachable).
Textual is imported only by the verbs that open the console.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn, TextIO

from core.config import load_config
from core.errors import (
    AccessDenied,
    AuthenticationFailed,
    ConfigError,
    RailfiestaError,
    SecretMissing,
    ServerUnreachable,
    UnexpectedResponse,
    WrongServer,
)
from core.migrate import MigrationReport
from core.service import Service

EXIT_OK, EXIT_PENDING, EXIT_FAILED, EXIT_FATAL = 0, 1, 2, 3
EXIT_CODES = """exit codes:
  0  clean: everything arrived
  1  something is pending: warnings, items skipped or missing
  2  failures while working (what was written stays linked; run again to resume)
  3  fatal: bad command line or config, missing secret, wrong credentials or URL,
     API disabled, server unreachable"""
_FATAL = (
    ConfigError,
    SecretMissing,
    AuthenticationFailed,
    AccessDenied,
    ServerUnreachable,
    WrongServer,
    UnexpectedResponse,
)


class _UsageError(Exception):
    """A command-line mistake (argparse would exit 2, which means "failures" here)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _UsageError(message)


def exit_code(reports: Sequence[MigrationReport]) -> int:
    """0 when every report is complete and has no warning, else 1 (something is pending)."""
    if all(r.complete and not r.warnings for r in reports):
        return EXIT_OK
    return EXIT_PENDING


def print_reports(
    reports: Sequence[MigrationReport], *, as_json: bool, out: TextIO | None = None
) -> None:
    """Print migration reports as a table per project, or as one JSON document."""
    out = out or sys.stdout
    if as_json:
        json.dump(
            {"projects": [r.as_dict() for r in reports], "complete": exit_code(reports) == 0},
            out,
            indent=2,
            ensure_ascii=False,
        )
        out.write("\n")
        return
    for report in reports:
        verb = "would migrate" if report.dry_run else "migrated"
        out.write(
            f"TestRail project {report.testrail_project!r} {verb} to TestFiesta project "
            f"{report.testfiesta_project}\n\n"
        )
        created = "to create" if report.dry_run else "created"
        header = f"{'kind':<10}{'TestRail':>10}{'TestFiesta':>12}{created:>11}{'requests*':>11}"
        out.write(header + "\n" + "-" * len(header) + "\n")
        for kind, count in report.kinds.items():
            mark = ""
            if count.duplicates:
                mark = f"   <- {count.duplicates} duplicated"
            elif count.testrail != count.testfiesta and not report.dry_run:
                mark = f"   <- {count.testrail - count.testfiesta} missing"
            out.write(
                f"{kind:<10}{count.testrail:>10}{count.testfiesta:>12}{count.created:>11}"
                f"{count.requests:>11}{mark}\n"
            )
        requests = ", ".join(f"{side} {n}" for side, n in report.requests.items())
        out.write(f"\n* HTTP requests to both servers; in all: {requests}\n")
        for warning in report.warnings:
            out.write(f"warning: {warning}\n")
        out.write("not migrated: " + "; ".join(report.not_migrated) + "\n\n")


async def _migrate(service: Service, project: str | None, dry_run: bool) -> list[MigrationReport]:
    async with service:
        return await service.migrate(project, dry_run=dry_run)


def _config_path(args: argparse.Namespace) -> str:
    if not getattr(args, "config", None):
        raise ConfigError(
            "no config given",
            hint="pass --config FILE (copy sample-config.toml to start), or try `railfiesta demo`",
        )
    return str(args.config)


def cmd_migrate(args: argparse.Namespace) -> int:
    """``railfiesta migrate``: migrate every pair (or ``--project``) of the config."""
    config = load_config(_config_path(args))
    service = Service(config, state_dir=Path(args.state) if args.state else None)
    if not args.json:
        service.subscribe(ProgressPrinter(sys.stderr))
    reports = asyncio.run(_migrate(service, args.project, args.dry_run))
    if args.project is not None and not reports:
        names = ", ".join(repr(str(p.testrail_project)) for p in config.pairs)
        raise ConfigError(
            f"no [[pair]] has testrail_project = {args.project!r}",
            path=str(config.path),
            hint=f"--project takes a testrail_project of the config: {names}",
        )
    print_reports(reports, as_json=args.json)
    return exit_code(reports)


class ProgressPrinter:
    """Headless progress on stderr: warnings, retries and rate-limit waits as they happen,
    and each stage's progress at most every ``interval`` seconds (and when it completes)."""

    def __init__(self, stream: TextIO, interval: float = 2.0) -> None:
        self.stream = stream
        self.interval = interval
        self._last = 0.0

    def __call__(self, event: object) -> None:
        from core.events import Activity, Progress
        from core.http import RateLimitWait, Retrying

        line = ""
        if isinstance(event, Activity):
            line = event.message if event.level == "info" else f"{event.level}: {event.message}"
        elif isinstance(event, RateLimitWait):
            line = f"{event.side} rate limit: waiting {event.seconds:.0f} s ({event.endpoint})"
        elif isinstance(event, Retrying):
            line = f"{event.side} {event.endpoint}: {event.reason}; retrying"
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


def cmd_console(args: argparse.Namespace) -> int:
    """``railfiesta [--config FILE]``: open the console."""
    config = load_config(_config_path(args))
    from tui.app import RailfiestaApp

    service = Service(config, state_dir=Path(args.state) if args.state else None)
    app = RailfiestaApp(service, theme=args.theme or config.ui.theme)
    app.run(mouse=config.ui.mouse and not args.no_mouse)
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    """``railfiesta demo``: both emulators on 127.0.0.1, a seeded project, then the console
    (or, with ``--headless``, the migration and its report)."""
    from tui.demo import run_demo

    if args.cases < 0:
        raise ConfigError(f"--cases {args.cases}: the number of cases cannot be negative")
    if args.rpm is not None and args.rpm < 1:
        raise ConfigError(f"--rpm {args.rpm}: requests per minute must be 1 or more")
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


def cmd_emulate(args: argparse.Namespace) -> int:
    """``railfiesta emulate testrail|testfiesta``: one emulator in the foreground."""
    from tui.demo import emulate

    return emulate(args)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every verb."""
    parser = _Parser(
        prog="railfiesta",
        description="Migrate TestRail into TestFiesta and keep both in sync. Without a "
        "command, opens the console for --config FILE.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
        description="Copy each [[pair]]'s TestRail project into its TestFiesta project. Safe "
        "to re-run or resume: what TestFiesta already holds is found and linked, never "
        "created twice. Secrets come from the environment variables the config names "
        "(api_key_env, token_env; default TESTRAIL_API_KEY, TESTFIESTA_TOKEN) or the OS "
        "keyring.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    migrate.add_argument("--config", default=argparse.SUPPRESS, help="the TOML config")
    migrate.add_argument("--state", default=argparse.SUPPRESS, help="state directory")
    migrate.add_argument("--project", help="only the pair with this testrail_project")
    migrate.add_argument("--dry-run", action="store_true", help="read both sides, write nothing")
    migrate.add_argument("--json", action="store_true", help="print the report as JSON")
    migrate.set_defaults(func=cmd_migrate)

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
    testrail.add_argument("--cases", type=int, help="seed a generated project with N cases")
    testrail.add_argument("--seed", type=int, default=7, help="generator seed (default 7)")
    testrail.add_argument("--rpm", type=int, help="answer 429 above this many requests/minute")
    testrail.set_defaults(func=cmd_emulate, server="testrail")
    testfiesta = kinds.add_parser("testfiesta", help="a TestFiesta API v1 server (with the shim)")
    testfiesta.add_argument("--port", type=int, required=True, help="TCP port to listen on")
    testfiesta.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    testfiesta.add_argument("--handle", required=True, help="organization handle")
    testfiesta.add_argument(
        "--token", help="accepted token, testfiesta_... (default: $RAILFIESTA_EMULATOR_TOKEN)"
    )
    testfiesta.add_argument("--rpm", type=int, help="answer 429 above this many requests/minute")
    testfiesta.set_defaults(func=cmd_emulate, server="testfiesta")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``railfiesta`` command; returns the exit code."""
    try:
        args = build_parser().parse_args(argv)
    except _UsageError as exc:
        print(f"railfiesta: {exc}", file=sys.stderr)
        print("  fix: see railfiesta --help", file=sys.stderr)
        return EXIT_FATAL
    try:
        code: int = args.func(args)
        return code
    except BrokenPipeError:  # `railfiesta migrate --json | head`: the reader left
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except _FATAL as exc:
        _report_error(exc)
        return EXIT_FATAL
    except RailfiestaError as exc:
        _report_error(exc)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("railfiesta: interrupted; run the same command again to resume", file=sys.stderr)
        return 130


def _report_error(exc: RailfiestaError) -> None:
    print(f"railfiesta: {exc.message}", file=sys.stderr)
    if exc.hint:
        print(f"  fix: {exc.hint}", file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
