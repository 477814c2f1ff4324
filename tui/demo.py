"""``railfiesta demo`` and ``railfiesta emulate``: the only place the product wires emulators.

The demo starts a TestRail emulator (seeded with a generated project, or from a TestRail XML
export) and an empty TestFiesta emulator on free ports of 127.0.0.1, writes a config into a
private temporary directory, and then either opens the console or runs the migration headless.
The credentials are random per run, live only in this process's environment, and are never
printed. Nothing needs the network.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import os
import secrets
import socket
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.config import load_config
from core.errors import ConfigError
from core.migrate import migration_exit_code
from core.report import CLEAN
from core.service import Service
from core.testrail.exports import export_text
from emulators import testfiesta as testfiesta_emulator
from emulators import testrail as testrail_emulator
from emulators.server import RunningServer, serve_forever, start_in_thread
from tui.render import print_migration_reports
from tui.terminal import run_console

DEMO_USER = "demo.lead@example.com"
DEMO_HANDLE = "demo"
DEMO_PROJECT = "Acme Web Shop"
#: Test plans in the generated demo project (with milestones, configurations, runs and results).
DEMO_PLANS = 3
TESTRAIL_KEY_ENV = "RAILFIESTA_DEMO_TESTRAIL_KEY"
TESTFIESTA_TOKEN_ENV = "RAILFIESTA_DEMO_TESTFIESTA_TOKEN"


@dataclass
class DemoEnvironment:
    """Both emulators running, and a config that points at them."""

    testrail: RunningServer
    testfiesta: RunningServer
    config_path: Path
    state_dir: Path


def _config_text(testrail_url: str, testfiesta_url: str, project: str | int, rpm: int) -> str:
    project_value = project if isinstance(project, int) else f'"{project}"'
    return f"""# written by `railfiesta demo`; the emulators stop when the demo ends
[testrail]
url = "{testrail_url}"
user = "{DEMO_USER}"
api_key_env = "{TESTRAIL_KEY_ENV}"
requests_per_minute = {rpm}

[testfiesta]
url = "{testfiesta_url}"
handle = "{DEMO_HANDLE}"
token_env = "{TESTFIESTA_TOKEN_ENV}"
requests_per_minute = 0

[[pair]]
testrail_project = {project_value}
"""


def seed_from_export(state: testrail_emulator.TestRailState, path: Path) -> int:
    """Load a TestRail XML suite export into ``state``; the new project's id.

    Raises :class:`ConfigError` that says what the file is when it is not an XML export: a
    directory, an empty file, TestRail's CSV/"Excel" export (CSV text, often with ``sep=``), or
    XML that is malformed or not a suite export.
    """
    fix = "export the suite from TestRail with Export > XML and pass that file"
    if path.is_dir():
        raise ConfigError(f"{path} is a directory, not a TestRail XML export", hint=fix)
    if not path.is_file():
        raise ConfigError(f"{path} does not exist", hint=fix)
    head = path.read_bytes()[:512].lstrip(b"\xef\xbb\xbf").lstrip()
    if not head:
        raise ConfigError(f"{path} is empty", hint=fix)
    if not head.startswith(b"<"):
        if head[:1] in (b"{", b"["):
            kind = "JSON (an API dump?), not XML"
        elif b"," in head or b";" in head:
            raise ConfigError(
                f"{path} is a TestRail CSV/Excel export; the demo seeds its TestRail "
                "emulator from XML suite exports only",
                hint=f"migrate the CSV itself: railfiesta migrate --config FILE --from-csv {path}"
                f"; or {fix}",
            )
        else:
            kind = "not XML"
        raise ConfigError(
            f"{path} is {kind}; railfiesta reads TestRail XML suite exports", hint=fix
        )
    export_text(path, path.read_bytes())  # not UTF-8: named by core's rule
    try:
        return testrail_emulator.from_xml(state, path)
    except Exception as exc:  # malformed XML, or XML that is not a suite export
        raise ConfigError(
            f"{path.name} is not a TestRail XML suite export: {exc}", hint=fix
        ) from None


def _check_listen(args: argparse.Namespace) -> None:
    """Refuse bad --port/--host/--rpm/--cases values before anything starts."""
    if not 1 <= args.port <= 65535:
        raise ConfigError(f"--port {args.port} is not a TCP port", hint="use 1 to 65535")
    if args.rpm is not None and args.rpm < 1:
        raise ConfigError(f"--rpm {args.rpm}: requests per minute must be 1 or more")
    if getattr(args, "cases", None) is not None and args.cases < 0:
        raise ConfigError(f"--cases {args.cases}: the number of cases cannot be negative")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((args.host, args.port))
        except OSError as exc:
            in_use = exc.errno == errno.EADDRINUSE
            raise ConfigError(
                f"cannot listen on {args.host}:{args.port}: {exc.strerror}",
                hint="pick another --port, or stop what is using this one"
                if in_use
                else "--host must be an address of this machine, such as 127.0.0.1",
            ) from None


@dataclass
class DemoServers:
    """The demo's two emulator apps, not yet listening: TestRail over the seeded
    ``testrail_state``, TestFiesta empty; ``api_key`` and ``token`` are the credentials they
    accept, ``project`` is the TestRail project the config pairs (a name or an id)."""

    testrail_state: testrail_emulator.TestRailState
    testrail_app: Any
    testfiesta_app: Any
    project: str | int
    api_key: str
    token: str


def demo_servers(
    *,
    from_xml: Path | None = None,
    cases: int = 600,
    seed: int = 7,
    requests_per_minute: int | None = None,
) -> DemoServers:
    """The seeded emulator apps of the demo (see :func:`demo_environment`), with random
    credentials; serve them in threads, or (the tests) hand them to ``httpx.ASGITransport``.
    Raises :class:`ConfigError` when ``from_xml`` does not exist or is not an export."""
    api_key = secrets.token_hex(16)
    token = f"testfiesta_{secrets.token_hex(16)}.{secrets.token_hex(16)}"
    state = testrail_emulator.TestRailState()
    if from_xml is not None:
        project: str | int = seed_from_export(state, from_xml)
    else:
        generate_project(state, cases, seed, project_name=DEMO_PROJECT)
        project = DEMO_PROJECT
    testrail_app = testrail_emulator.create_app(
        state, user=DEMO_USER, api_key=api_key, requests_per_minute=requests_per_minute
    )
    testfiesta_app = testfiesta_emulator.create_app(handle=DEMO_HANDLE, token=token)
    return DemoServers(state, testrail_app, testfiesta_app, project, api_key, token)


def write_demo_config(
    directory: Path,
    testrail_url: str,
    testfiesta_url: str,
    project: str | int,
    requests_per_minute: int | None = None,
) -> Path:
    """Write the demo's config (owner-only) into ``directory``; its path. The secrets are
    named by :data:`TESTRAIL_KEY_ENV` and :data:`TESTFIESTA_TOKEN_ENV`, never written."""
    config_path = directory / "railfiesta-demo.toml"
    config_path.write_text(
        _config_text(testrail_url, testfiesta_url, project, requests_per_minute or 0),
        encoding="utf-8",
    )
    os.chmod(config_path, 0o600)
    return config_path


@contextlib.contextmanager
def demo_environment(
    *,
    from_xml: Path | None = None,
    cases: int = 600,
    seed: int = 7,
    requests_per_minute: int | None = None,
) -> Iterator[DemoEnvironment]:
    """Start both emulators and write the demo config; stop everything on exit.

    ``from_xml`` seeds TestRail from a TestRail XML suite export; otherwise a generated project
    of ``cases`` cases (deterministic for ``seed``). ``requests_per_minute`` makes the TestRail
    emulator answer 429 above that rate, and the client pace itself to it.
    Raises :class:`ConfigError` when ``from_xml`` does not exist or is not an export.
    """
    servers = demo_servers(
        from_xml=from_xml, cases=cases, seed=seed, requests_per_minute=requests_per_minute
    )
    os.environ[TESTRAIL_KEY_ENV] = servers.api_key
    os.environ[TESTFIESTA_TOKEN_ENV] = servers.token
    with (
        tempfile.TemporaryDirectory(prefix="railfiesta-demo-") as workdir,
        start_in_thread(servers.testrail_app) as testrail,
        start_in_thread(servers.testfiesta_app) as testfiesta,
    ):
        config_path = write_demo_config(
            Path(workdir), testrail.url, testfiesta.url, servers.project, requests_per_minute
        )
        try:
            yield DemoEnvironment(testrail, testfiesta, config_path, Path(workdir) / "state")
        finally:
            os.environ.pop(TESTRAIL_KEY_ENV, None)
            os.environ.pop(TESTFIESTA_TOKEN_ENV, None)


def run_demo(
    *,
    headless: bool,
    as_json: bool = False,
    from_xml: Path | None = None,
    cases: int = 600,
    seed: int = 7,
    requests_per_minute: int | None = None,
    mouse: bool = True,
    theme: str | None = None,
) -> int:
    """Run the demo; the exit code is 0 only when (headless) everything arrived."""
    with demo_environment(
        from_xml=from_xml, cases=cases, seed=seed, requests_per_minute=requests_per_minute
    ) as env:
        config = load_config(env.config_path)
        service = Service(config, state_dir=env.state_dir)
        if headless:
            if not as_json:
                print(
                    f"TestRail emulator on {env.testrail.url}, "
                    f"TestFiesta emulator on {env.testfiesta.url}",
                    file=sys.stderr,
                )

            async def migrate() -> list:  # type: ignore[type-arg]
                async with service:
                    return await service.migrate()

            reports = asyncio.run(migrate())
            print_migration_reports(reports, as_json=as_json)
            return migration_exit_code(reports)
        from tui.app import RailfiestaApp

        app = RailfiestaApp(service, theme=theme or config.ui.theme)
        return run_console(app, mouse=mouse)


def _faults(args: argparse.Namespace) -> dict[str, Any]:
    """The fault keywords of ``create_app`` from ``--fault-rate``/``--faults``/``--fault-seed``
    (:mod:`emulators.faults`)."""
    kinds = getattr(args, "faults", None)
    return {
        "fault_rate": getattr(args, "fault_rate", 0.0),
        "fault_seed": getattr(args, "fault_seed", 0),
        "faults": [k.strip() for k in kinds.split(",") if k.strip()] if kinds else None,
    }


def generate_project(
    state: testrail_emulator.TestRailState,
    cases: int,
    seed: int,
    *,
    project_name: str | None = None,
) -> int:
    """The generated TestRail project of the demo and of ``railfiesta emulate testrail
    --cases N``, so both serve the same kind of project: ``cases`` cases, and with any case
    :data:`DEMO_PLANS` test plans, their milestones, configurations, runs and results
    (:func:`emulators.testrail.seed.add_plans`: the first plan's "Full regression" runs every
    case on two browsers, so runs' tests and results grow with ``cases``). Returns the
    project id; deterministic per ``seed``."""
    plans = DEMO_PLANS if cases > 0 else 0
    return testrail_emulator.generate(
        state, cases=cases, seed=seed, project_name=project_name, plans=plans
    )


def emulate(args: argparse.Namespace) -> int:
    """``railfiesta emulate testrail|testfiesta``: serve one emulator until Ctrl-C."""
    if args.server == "testrail":
        api_key = args.api_key or os.environ.get("RAILFIESTA_EMULATOR_KEY")
        if not api_key:
            raise ConfigError(
                "no API key for the TestRail emulator",
                hint="pass --api-key KEY or set RAILFIESTA_EMULATOR_KEY",
            )
        _check_listen(args)
        state = testrail_emulator.TestRailState()
        if args.from_xml:
            seed_from_export(state, Path(args.from_xml))
        else:
            generate_project(state, max(0, args.cases or 600), args.seed)
        try:
            app = testrail_emulator.create_app(
                state, user=args.user, api_key=api_key, requests_per_minute=args.rpm,
                **_faults(args),
            )  # fmt: skip
        except ValueError as error:
            raise ConfigError(str(error), hint="see railfiesta emulate testrail --help") from None
        print(f"TestRail emulator: http://{args.host}:{args.port} (user {args.user})")
    else:
        token = args.token or os.environ.get("RAILFIESTA_EMULATOR_TOKEN")
        if not token or not token.startswith("testfiesta_"):
            raise ConfigError(
                "the TestFiesta emulator needs a token starting with testfiesta_",
                hint="pass --token testfiesta_... or set RAILFIESTA_EMULATOR_TOKEN",
            )
        _check_listen(args)
        try:
            app = testfiesta_emulator.create_app(
                handle=args.handle, token=token, requests_per_minute=args.rpm, **_faults(args)
            )
        except ValueError as error:
            raise ConfigError(str(error), hint="see railfiesta emulate testfiesta --help") from None
        print(f"TestFiesta emulator: http://{args.host}:{args.port} (handle {args.handle})")
    serve_forever(app, host=args.host, port=args.port)
    return CLEAN
