"""Wiring for tests: both emulators in-process and a Service over them."""

from __future__ import annotations

import copy
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from core.config import load_config
from core.service import Service
from emulators import testfiesta as testfiesta_emulator
from emulators import testrail as testrail_emulator

TESTRAIL_URL = "http://testrail.test"
TESTFIESTA_URL = "http://testfiesta.test"
API_KEY = "tr-api-key-for-tests"
TOKEN = "testfiesta_" + "0f" * 16 + "." + "e1" * 16


@dataclass
class Emulated:
    """Both emulators, their state, and a config file pointing at them."""

    testrail: Starlette
    testfiesta: Starlette
    testrail_state: testrail_emulator.TestRailState
    config_path: Path
    state_dir: Path

    def service(
        self,
        testrail_transport: httpx.AsyncBaseTransport | None = None,
        testfiesta_transport: httpx.AsyncBaseTransport | None = None,
    ) -> Service:
        """A fresh Service over the emulators (in-process transports unless given)."""
        return Service(
            load_config(self.config_path),
            state_dir=self.state_dir,
            testrail_transport=testrail_transport or httpx.ASGITransport(self.testrail),
            testfiesta_transport=testfiesta_transport or httpx.ASGITransport(self.testfiesta),
        )

    def testfiesta_cases(self, key: str) -> list[dict[str, object]]:
        """Cases the TestFiesta emulator holds for project ``key`` (its own view)."""
        state = self.testfiesta.state.testfiesta
        return list(state.cases(key))


def emulate(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    cases: int = 120,
    suite_mode: int = 1,
    project_name: str = "Acme Web Shop",
    testfiesta_key: str = "ACME",
    plans: int = 0,
) -> Emulated:
    """Seed a generated TestRail project, start nothing (in-process), write the config.
    ``plans`` > 0 adds the demo's execution data (milestones, configurations, that many plans,
    a run outside them, results: :func:`emulators.testrail.seed.generate`)."""
    monkeypatch.setenv("RF_TEST_TESTRAIL_KEY", API_KEY)
    monkeypatch.setenv("RF_TEST_TESTFIESTA_TOKEN", TOKEN)
    state = testrail_emulator.TestRailState()
    testrail_emulator.generate(
        state,
        cases=cases,
        seed=3,
        suite_mode=suite_mode,
        project_name=project_name,
        plans=plans,
    )
    config = tmp_path / "railfiesta.toml"
    config.write_text(
        f"""
[testrail]
url = "{TESTRAIL_URL}"
user = "qa@example.com"
api_key_env = "RF_TEST_TESTRAIL_KEY"
requests_per_minute = 0

[testfiesta]
url = "{TESTFIESTA_URL}"
handle = "acme"
token_env = "RF_TEST_TESTFIESTA_TOKEN"
requests_per_minute = 0

[[pair]]
testrail_project = "{project_name}"
testfiesta_project = "{testfiesta_key}"
""",
        encoding="utf-8",
    )
    return Emulated(
        testrail=testrail_emulator.create_app(state, user="qa@example.com", api_key=API_KEY),
        testfiesta=testfiesta_emulator.create_app(handle="acme", token=TOKEN),
        testrail_state=state,
        config_path=config,
        state_dir=tmp_path / "state",
    )


def copy_emulated(source: Emulated, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Emulated:
    """A private copy of ``source`` (as :func:`emulate` made it, maybe migrated since) in
    ``tmp_path``: both emulators' states, the config file and the state directory; the
    secrets in the environment. For a module that migrates once and lets each test change
    its own copy."""
    monkeypatch.setenv("RF_TEST_TESTRAIL_KEY", API_KEY)
    monkeypatch.setenv("RF_TEST_TESTFIESTA_TOKEN", TOKEN)
    with source.testrail_state.lock:
        state = copy.deepcopy(
            source.testrail_state, {id(source.testrail_state.lock): threading.RLock()}
        )
    tf_state = copy.deepcopy(source.testfiesta.state.testfiesta)
    config = tmp_path / source.config_path.name
    shutil.copyfile(source.config_path, config)
    if source.state_dir.exists():
        shutil.copytree(source.state_dir, tmp_path / "state")
    return Emulated(
        testrail=testrail_emulator.create_app(state, user="qa@example.com", api_key=API_KEY),
        testfiesta=testfiesta_emulator.create_app(tf_state, handle="acme", token=TOKEN),
        testrail_state=state,
        config_path=config,
        state_dir=tmp_path / "state",
    )
