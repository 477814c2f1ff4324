"""The bad input catalogue where the command line is the surface (issue 9 items 3 and 4):
``railfiesta check`` names field names the live metadata lacks, ``demo --from-xml`` names a
file that is not a TestRail export, and Ctrl-C exits 130."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from core.config import Config
from core.service import Service
from tests.conftest import REPO_ROOT
from tests.core.test_bad_input import Counting
from tests.helpers import Emulated, emulate
from tui.cli import main


@pytest.fixture
def counted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Emulated, list[Counting]]:
    """A small emulated pair; every Service the command line builds counts its requests."""
    env = emulate(tmp_path, monkeypatch, cases=4)
    transports: list[Counting] = []

    def in_process(config: Config, state_dir: Path | None) -> Service:
        tr = Counting(httpx.ASGITransport(env.testrail))
        tf = Counting(httpx.ASGITransport(env.testfiesta))
        transports.extend([tr, tf])
        return Service(config, state_dir=state_dir, testrail_transport=tr, testfiesta_transport=tf)

    monkeypatch.setattr("tui.cli.make_service", in_process)
    return env, transports


def _check(env: Emulated, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    capsys.readouterr()
    code = main(["check", "--config", str(env.config_path), "--state", str(env.state_dir)])
    return code, capsys.readouterr().out.splitlines()


def test_check_names_mapping_and_sync_field_names_testrail_lacks(
    counted: tuple[Emulated, list[Counting]], capsys: pytest.CaptureFixture[str]
) -> None:
    env, transports = counted
    before = env.config_path.read_text()
    env.config_path.write_text(
        before
        + "\n[mapping.fields]\n"
        + 'custom_preconds = "Preconditions"\n'
        + 'custom_precondition = "Preconditions"\n'
        + "\n[sync.fields]\n"
        + 'title = "testrail-wins"\n'
        + 'custom_colour = "testfiesta-wins"\n'
    )
    config_bytes = env.config_path.read_bytes()
    code, lines = _check(env, capsys)
    assert code == 3
    assert "ok    [mapping.fields] custom_preconds = 'Preconditions': TestRail field " in "\n".join(
        lines
    )
    bad_mapping = lines.index(
        "FAIL  [mapping.fields] custom_precondition = 'Preconditions': TestRail has no case "
        "field 'custom_precondition'"
    )
    assert lines[bad_mapping + 1].startswith(
        "      fix: use a TestRail system name (custom_..., refs, estimate); TestRail's: "
    )
    assert "custom_preconds" in lines[bad_mapping + 1]
    assert "ok    [sync.fields] title = 'testrail-wins': a synced value" in lines
    bad_sync = lines.index(
        "FAIL  [sync.fields] custom_colour = 'testfiesta-wins': 'custom_colour' is neither a "
        "TestRail case field nor a synced value"
    )
    assert lines[bad_sync + 1].startswith(
        "      fix: use a TestRail system name (custom_...) or one of title, folder, template"
    )
    assert lines[-1] == "2 checks failed"
    assert [w for t in transports for w in t.writes] == []
    assert env.config_path.read_bytes() == config_bytes


def test_check_reports_a_bad_users_id_and_theme_as_the_config_failure(
    counted: tuple[Emulated, list[Counting]], capsys: pytest.CaptureFixture[str]
) -> None:
    env, transports = counted
    text = env.config_path.read_text()
    env.config_path.write_text(text + '\n[ui]\ntheme = "nord"\n')
    code, lines = _check(env, capsys)
    assert code == 3
    assert lines[0].endswith(":19: [ui] theme 'nord' is not a railfiesta theme")
    assert lines[0].startswith("FAIL  config: ")
    assert lines[1] == (
        "      fix: use one of: railfiesta-dark, railfiesta-high-contrast, railfiesta-light"
    )
    env.config_path.write_text(text + '\n[users]\n"qa@example.com" = "Quinn"\n')
    code, lines = _check(env, capsys)
    assert code == 3
    assert lines[0].endswith(":19: [users] 'qa@example.com' = 'Quinn' is not a TestFiesta user id")
    assert transports == []  # nothing was contacted: the config is wrong


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (
            b'<?xml version="1.0" encoding="UTF-8"?>\n<suite><name>Caf\xe9</name></suite>\n',
            "export.xml is not UTF-8 (byte 55 is 0xe9)",
        ),
        (
            b'<?xml version="1.0"?>\n<testsuites><testsuite name="unit">'
            b'<testcase name="adds"/></testsuite></testsuites>\n',
            "export.xml is not a TestRail XML suite export: ",
        ),
    ],
    ids=["not-utf8", "junit-xml"],
)
def test_demo_names_an_export_that_is_not_a_testrail_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, says: str
) -> None:
    export = tmp_path / "export.xml"
    export.write_bytes(content)
    code = main(["demo", "--headless", "--from-xml", str(export)])
    _, err = capsys.readouterr()
    assert code == 3
    assert "railfiesta: " in err and says in err
    assert "\n  fix: " in err
    if b"testsuites" in content:
        assert "root element <testsuites> is neither <suite> nor <sections>" in err


def _sigint_as_in_a_terminal() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_during_a_migration_exits_130(tmp_path: Path) -> None:
    """A real process, a real SIGINT: the migration waits on a server that accepts the
    connection and never answers; Ctrl-C ends it with 130 and the README's words."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        config = tmp_path / "railfiesta.toml"
        config.write_text(
            f'[testrail]\nurl = "http://127.0.0.1:{port}"\nuser = "q@a.io"\n'
            f'[testfiesta]\nurl = "http://127.0.0.1:{port}"\nhandle = "acme"\n'
            '[[pair]]\ntestrail_project = "Web"\n'
        )
        environment = {
            **os.environ,
            "TESTRAIL_API_KEY": "k",
            "TESTFIESTA_TOKEN": "testfiesta_t",
            "PYTHONPATH": str(REPO_ROOT),
        }
        command = ["migrate", "--config", str(config), "--state", str(tmp_path / "state")]
        child = subprocess.Popen(
            [sys.executable, "-m", "tui.cli", *command],
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            # as from a terminal: an ignored SIGINT is inherited (a test worker may run with
            # one), and a process started so would rightly ignore Ctrl-C
            preexec_fn=_sigint_as_in_a_terminal,
        )
        try:
            deadline = time.monotonic() + 30
            accepted = False
            silent.settimeout(0.2)
            while time.monotonic() < deadline and not accepted:
                try:
                    connection, _ = silent.accept()  # the child is waiting for an answer
                    accepted = True
                except TimeoutError:
                    assert child.poll() is None, child.communicate()
            assert accepted
            child.send_signal(signal.SIGINT)
            _, err = child.communicate(timeout=10)
            connection.close()
        finally:
            if child.poll() is None:
                child.kill()
    assert child.returncode == 130, err
    assert "railfiesta: interrupted; run the same command again to resume" in err
    assert "Traceback" not in err
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert "130 interrupted (Ctrl-C" in readme


def test_check_names_a_status_mapping_testfiesta_lacks(
    counted: tuple[Emulated, list[Counting]], capsys: pytest.CaptureFixture[str]
) -> None:
    env, transports = counted
    env.config_path.write_text(
        env.config_path.read_text() + '\n[mapping.status]\nPassed = "Approved"\n'
    )
    code, lines = _check(env, capsys)
    assert code == 3
    failed = lines.index(
        "FAIL  [mapping.status] 'Passed' = 'Approved': TestFiesta has no status 'Approved'"
    )
    assert lines[failed + 1].startswith("      fix: use names that exist (TestFiesta's: ")
    assert "Passed" in lines[failed + 1]
    assert lines[-1] == "1 check failed"
    assert [w for t in transports for w in t.writes] == []
