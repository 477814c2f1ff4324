"""The demo's own data for the tests: the project ``railfiesta demo`` seeds
(:func:`tui.demo.demo_servers`: "Acme Web Shop", 600 generated cases, seed 7, three test
plans) and the config it writes (:func:`tui.demo.write_demo_config`), wired in-process through
``httpx.ASGITransport`` instead of the demo's threads.

Migrating the demo project takes seconds, so it is migrated once per test session (per xdist
worker) by the ``migrated_demo`` fixture of ``tests/conftest.py`` (:func:`migrate_demo`); the
tests that use it carry ``pytest.mark.xdist_group(DEMO_GROUP)`` so that, under
``--dist loadgroup``, they all run on one worker and that migration happens once. A test that
changes the demo works on :func:`copy_demo` of it.
"""

from __future__ import annotations

import asyncio
import copy
import io
import math
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.config import load_config
from core.engine.parity import KindParity
from core.service import Service
from emulators import testfiesta as testfiesta_emulator
from emulators import testrail as testrail_emulator
from emulators.testrail.store import TestRailState
from tui import demo as demo_module
from tui.app import RailfiestaApp
from tui.cli import ProgressPrinter
from tui.demo import DEMO_HANDLE, DEMO_USER, DemoServers

TESTRAIL_URL = "http://testrail.test"
TESTFIESTA_URL = "http://testfiesta.test"
#: The xdist group of every test that uses the session's migrated demo (``--dist loadgroup``).
DEMO_GROUP = "demo"


@dataclass
class Demo:
    """The demo's emulators (in-process), its config file and its state directory."""

    servers: DemoServers
    config_path: Path
    state_dir: Path
    #: the TestFiesta transport of the next service (None: a plain ASGITransport)
    testfiesta_transport: httpx.AsyncBaseTransport | None = None

    @property
    def state(self) -> TestRailState:
        return self.servers.testrail_state

    @property
    def tf(self) -> Any:
        return self.servers.testfiesta_app.state.testfiesta

    def service(self) -> Service:
        """A fresh unopened service over the demo, as ``run_demo`` makes it."""
        return Service(
            load_config(self.config_path),
            state_dir=self.state_dir,
            testrail_transport=httpx.ASGITransport(app=self.servers.testrail_app),
            testfiesta_transport=self.testfiesta_transport
            or httpx.ASGITransport(app=self.servers.testfiesta_app),
        )

    def app(self) -> RailfiestaApp:
        return RailfiestaApp(self.service())

    def tf_row(self, case_id: int) -> dict[str, Any]:
        """The TestFiesta copy of TestRail case ``case_id``."""
        return next(
            row
            for row in self.tf.db.cases.values()
            if str(row.get("externalId", "")).endswith(f"/case/{case_id}") and not row["deletedAt"]
        )

    def tr_title(self, case_id: int) -> str:
        with self.state.lock:
            return str(self.state.cases[case_id]["title"])


@dataclass
class MigratedDemo:
    """The demo migrated once, headless through the facade, a :class:`ProgressPrinter`
    (``interval=math.inf``: the stages' ends only) subscribed: the demo, the printer's
    output and the migration report's parity counts (kind -> counts on both sides)."""

    demo: Demo
    printed: str
    parity: dict[str, KindParity] = field(default_factory=dict)


def build_demo(directory: Path, servers: DemoServers) -> Demo:
    """The demo's config written into ``directory`` (created), its state in ``state``."""
    directory.mkdir(parents=True, exist_ok=True)
    path = demo_module.write_demo_config(directory, TESTRAIL_URL, TESTFIESTA_URL, servers.project)
    return Demo(servers, path, directory / "state")


def secrets_of(servers: DemoServers, patch: pytest.MonkeyPatch) -> None:
    """The demo's secrets in the environment (as ``demo_environment`` sets them); the
    keyring is the null backend."""
    patch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    patch.setenv(demo_module.TESTRAIL_KEY_ENV, servers.api_key)
    patch.setenv(demo_module.TESTFIESTA_TOKEN_ENV, servers.token)


def migrate_demo(directory: Path) -> MigratedDemo:
    """A fresh demo in ``directory``, migrated (see :class:`MigratedDemo`); AssertionError
    when the migration does not come back complete."""
    made = build_demo(directory, demo_module.demo_servers())
    err = io.StringIO()
    printer = ProgressPrinter(err, interval=math.inf)

    async def migrate() -> dict[str, KindParity]:
        async with made.service() as service:
            service.subscribe(printer)
            [report] = await service.migrate()
        assert report.complete
        return dict(report.parity)

    with pytest.MonkeyPatch.context() as patch:
        secrets_of(made.servers, patch)
        parity = asyncio.run(migrate())
    return MigratedDemo(made, err.getvalue(), parity)


def copy_demo(source: Demo, directory: Path, patch: pytest.MonkeyPatch) -> Demo:
    """A private copy of ``source`` in ``directory``: both emulators' states, the state
    directory and the config file; its secrets in the environment (through ``patch``)."""
    servers = source.servers
    with servers.testrail_state.lock:
        state = copy.deepcopy(
            servers.testrail_state, {id(servers.testrail_state.lock): threading.RLock()}
        )
    tf_state = copy.deepcopy(servers.testfiesta_app.state.testfiesta)
    copied = DemoServers(
        state,
        testrail_emulator.create_app(state, user=DEMO_USER, api_key=servers.api_key),
        testfiesta_emulator.create_app(tf_state, handle=DEMO_HANDLE, token=servers.token),
        servers.project,
        servers.api_key,
        servers.token,
    )
    made = build_demo(directory, copied)
    shutil.copytree(source.state_dir, made.state_dir)
    secrets_of(copied, patch)
    return made
