"""Fixtures for the console tests: a Service wired in-process to both emulators.

The TestRail emulator is seeded from a small TestRail XML export written here, so every name
the tests assert is visible in this file.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import httpx
import pytest

from core.config import load_config
from core.service import Service
from emulators.testfiesta.app import create_app as testfiesta_app
from emulators.testrail import ops
from emulators.testrail.app import create_app as testrail_app
from emulators.testrail.seed import from_xml
from emulators.testrail.store import TestRailState

TESTRAIL_USER = "qa@example.com"
TESTRAIL_KEY = "tr-key-123"
TESTFIESTA_HANDLE = "acme"
TESTFIESTA_TOKEN = "testfiesta_right-token"
PROJECT = "Webshop"

SUITE_XML = """<?xml version="1.0" encoding="UTF-8"?>
<suite>
  <id>S1</id>
  <name>Webshop</name>
  <description>Storefront regression</description>
  <sections>
    <section>
      <name>Login</name>
      <cases>
        <case>
          <id>C1</id>
          <title>User signs in with a valid password</title>
          <type>Functional</type>
          <priority>High</priority>
        </case>
        <case>
          <id>C2</id>
          <title>[smoke] Locked account is refused</title>
          <type>Functional</type>
          <priority>Critical</priority>
        </case>
      </cases>
      <sections>
        <section>
          <name>Password reset</name>
          <cases>
            <case>
              <id>C3</id>
              <title>Reset link expires after 24 hours</title>
            </case>
          </cases>
        </section>
      </sections>
    </section>
    <section>
      <name>Checkout</name>
      <cases>
        <case>
          <id>C4</id>
          <title>Cart keeps items after sign-out – Größe L</title>
        </case>
      </cases>
    </section>
  </sections>
</suite>
"""

CONFIG = """
[testrail]
url = "http://testrail.test"
user = "{user}"
api_key_env = "RF_TEST_TESTRAIL_KEY"
requests_per_minute = 0

[testfiesta]
url = "http://testfiesta.test"
handle = "{handle}"
token_env = "RF_TEST_TESTFIESTA_TOKEN"
requests_per_minute = 0
"""

PAIR = """
[[pair]]
testrail_project = "{testrail}"
testfiesta_project = "{testfiesta}"
"""


def add_project(
    state: TestRailState, name: str, suites: dict[str, list[str]], *, suite_mode: int = 1
) -> int:
    """Add TestRail project ``name`` to ``state``: ``suites`` maps each suite name to its
    top-level section names (suite mode 1 takes one suite, renamed from "Master"). No cases."""
    with state.lock:
        project = ops.add_project(state, {"name": name, "suite_mode": suite_mode})
        pid = int(project["id"])
        for index, (suite_name, sections) in enumerate(suites.items()):
            if suite_mode == 3:
                suite_id = int(ops.add_suite(state, pid, {"name": suite_name})["id"])
            else:
                assert index == 0, "a single-suite project has one suite"
                master = state.master_suite(project)
                assert master is not None
                master["name"] = suite_name
                suite_id = int(master["id"])
            for section in sections:
                ops.add_section(state, pid, {"name": section, "suite_id": suite_id})
    return pid


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both secrets in the environment; the keyring is the null backend (hermetic, fast)."""
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    monkeypatch.setenv("RF_TEST_TESTRAIL_KEY", TESTRAIL_KEY)
    monkeypatch.setenv("RF_TEST_TESTFIESTA_TOKEN", TESTFIESTA_TOKEN)


@pytest.fixture
def testrail_state(tmp_path: Path) -> TestRailState:
    """A TestRail emulator state holding project "Webshop" from :data:`SUITE_XML`."""
    xml = tmp_path / "webshop.xml"
    xml.write_text(SUITE_XML, encoding="utf-8")
    state = TestRailState()
    from_xml(state, xml, project_name=PROJECT)
    return state


@pytest.fixture
def make_service(tmp_path: Path, testrail_state: TestRailState) -> Callable[..., Service]:
    """``make_service(testfiesta_token=..., latency=..., pairs=...)``: a fresh unopened Service
    over both emulators.

    ``testfiesta_token`` is the token the TestFiesta emulator accepts (the client sends the
    one in the environment); ``latency`` seconds are added to every TestFiesta answer;
    ``pairs`` lists the ``[[pair]]`` (TestRail project, TestFiesta key) of the config.
    """

    def make(
        *,
        testfiesta_token: str = TESTFIESTA_TOKEN,
        latency: float = 0.0,
        pairs: Sequence[tuple[str, str]] = ((PROJECT, "WEB"),),
    ) -> Service:
        path = tmp_path / "railfiesta.toml"
        text = CONFIG.format(user=TESTRAIL_USER, handle=TESTFIESTA_HANDLE)
        for testrail_project, testfiesta_key in pairs:
            text += PAIR.format(testrail=testrail_project, testfiesta=testfiesta_key)
        path.write_text(text, encoding="utf-8")
        config = load_config(path)
        testrail = testrail_app(testrail_state, user=TESTRAIL_USER, api_key=TESTRAIL_KEY)
        testfiesta = testfiesta_app(
            handle=TESTFIESTA_HANDLE, token=testfiesta_token, latency=latency
        )
        return Service(
            config,
            state_dir=tmp_path / "state",
            testrail_transport=httpx.ASGITransport(app=testrail),
            testfiesta_transport=httpx.ASGITransport(app=testfiesta),
        )

    return make
