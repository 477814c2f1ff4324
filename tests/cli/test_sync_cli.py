"""The sync verbs as a user meets them: ``sync``, ``conflicts``, ``status`` and ``check``.

Each test calls ``tui.cli.main`` in-process; :func:`tui.cli.make_service` is replaced so that
every Service the command line builds talks to the two emulators through in-process ASGI
transports (no sockets), the way ``tests.helpers.Emulated.service`` wires them.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import signal
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.config import Config
from core.lock import StateLock
from core.service import Service
from emulators import testrail as testrail_emulator
from emulators.testrail import ops
from tests.conftest import REPO_ROOT
from tests.helpers import API_KEY, Emulated, emulate
from tui.cli import main

NEW_TITLE = "Checkout with a gift card £5 — 日本語"


class Cli:
    """Runs ``railfiesta ...`` against the emulated pair and edits either side by hand."""

    def __init__(self, env: Emulated, capsys: pytest.CaptureFixture[str]) -> None:
        self.env = env
        self.capsys = capsys
        self.tr = env.testrail_state
        self.tf = env.testfiesta.state.testfiesta

    def __call__(self, *argv: str) -> tuple[int, str, str]:
        """Exit code, stdout and stderr of ``railfiesta ARGV --config ... --state ...``."""
        self.capsys.readouterr()
        code = main(
            [*argv, "--config", str(self.env.config_path), "--state", str(self.env.state_dir)]
        )
        out, err = self.capsys.readouterr()
        return code, out, err

    def json(self, *argv: str) -> tuple[int, Any]:
        code, out, _ = self(*argv, "--json")
        return code, json.loads(out)

    def first_case(self) -> int:
        with self.tr.lock:
            return min(self.tr.cases)

    def tr_title(self, case_id: int) -> str:
        with self.tr.lock:
            return str(self.tr.cases[case_id]["title"])

    def tr_edit(self, case_id: int, **body: Any) -> None:
        with self.tr.lock:
            ops.update_case(self.tr, case_id, body, None)

    def tf_row(self, case_id: int) -> dict[str, Any]:
        return next(
            r
            for r in self.tf.db.cases.values()
            if str(r.get("externalId", "")).endswith(f"/case/{case_id}") and not r["deletedAt"]
        )

    def tf_edit(self, case_id: int, **changes: Any) -> None:
        self.tf.update(self.tf_row(case_id), changes)

    def tf_title(self, case_id: int) -> str:
        return str(self.tf.render_case(self.tf_row(case_id))["name"])


def small_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Emulated:
    """:func:`tests.helpers.emulate`'s config and TestFiesta, with a TestRail project small
    enough to migrate in a moment: two nested sections and three cases."""
    emulated = emulate(tmp_path, monkeypatch, cases=0)
    state = testrail_emulator.TestRailState()
    with state.lock:
        project = ops.add_project(state, {"name": "Acme Web Shop"})
        checkout = ops.add_section(state, project["id"], {"name": "Checkout"})
        gift = ops.add_section(
            state, project["id"], {"name": "Gift cards", "parent_id": checkout["id"]}
        )
        for title, section in (
            ("Pay with a saved card", checkout),
            ("Pay by invoice", checkout),
            ("Redeem a gift card", gift),
        ):
            body = {"title": title, "custom_preconds": "Logged in\nas a customer"}
            ops.add_case(state, section["id"], body, None)
    return replace(
        emulated,
        testrail=testrail_emulator.create_app(state, user="qa@example.com", api_key=API_KEY),
        testrail_state=state,
    )


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Emulated:
    env = small_project(tmp_path, monkeypatch)

    def in_process(config: Config, state_dir: Path | None) -> Service:
        return Service(
            config,
            state_dir=state_dir,
            testrail_transport=httpx.ASGITransport(env.testrail),
            testfiesta_transport=httpx.ASGITransport(env.testfiesta),
        )

    monkeypatch.setattr("tui.cli.make_service", in_process)
    return env


@pytest.fixture
def cli(env: Emulated, capsys: pytest.CaptureFixture[str]) -> Cli:
    """The command line over an emulated pair that has been migrated."""
    run = Cli(env, capsys)
    code, _, err = run("migrate")
    assert code == 0, err
    return run


def conflict_on_the_first_case(cli: Cli) -> tuple[int, str, str]:
    """Edit the first case's title differently on both sides; (case, base, conflict id)."""
    case = cli.first_case()
    base = cli.tr_title(case)
    cli.tr_edit(case, title="Title from TestRail")
    cli.tf_edit(case, name="Title from TestFiesta")
    code, reports = cli.json("sync", "--once")
    assert code == 1
    [conflict] = reports[0]["plan"]["conflicts"]
    return case, base, str(conflict["id"])


# ---------------------------------------------------------------------------- sync on/off


def test_sync_on_and_off_change_exactly_one_line_and_need_no_network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async def no_network(self: Service) -> None:
        raise AssertionError("sync on/off opened the clients")

    monkeypatch.setattr(Service, "open", no_network)
    config = tmp_path / "railfiesta.toml"
    shutil.copyfile(REPO_ROOT / "sample-config.toml", config)
    original = config.read_bytes()
    argv = ["--config", str(config), "--state", str(tmp_path / "state")]

    assert main(["sync", "on", *argv]) == 0
    assert capsys.readouterr().out == "sync is on\n"
    before, after = original.decode().splitlines(), config.read_text().splitlines()
    changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert changed == [
        (
            "enabled = false                       # the console's `s` key flips this",
            "enabled = true                        # the console's `s` key flips this",
        )
    ]

    assert main(["sync", "off", *argv]) == 0
    assert capsys.readouterr().out == "sync is off\n"
    assert config.read_bytes() == original
    assert not (tmp_path / "state").exists()


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_sync_on_and_off_end_the_file_with_a_newline_when_its_last_line_is_the_switch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], newline: str
) -> None:
    config = tmp_path / "railfiesta.toml"
    head = (REPO_ROOT / "sample-config.toml").read_text(encoding="utf-8").split("[sync]")[0]
    text = head + "[sync]\nenabled = false"  # the last bytes: no final newline
    config.write_bytes(text.replace("\n", newline).encode())
    argv = ["--config", str(config), "--state", str(tmp_path / "state")]

    assert main(["sync", "on", *argv]) == 0
    assert capsys.readouterr().out == "sync is on\n"
    wanted = head + "[sync]\nenabled = true\n"
    assert config.read_bytes() == wanted.replace("\n", newline).encode()
    assert main(["sync", "off", *argv]) == 0
    assert capsys.readouterr().out == "sync is off\n"
    wanted = head + "[sync]\nenabled = false\n"
    assert config.read_bytes() == wanted.replace("\n", newline).encode()


def test_sync_needs_one_mode_and_only_its_options(
    env: Emulated, capsys: pytest.CaptureFixture[str]
) -> None:
    run = Cli(env, capsys)
    assert run("sync")[0] == 3
    code, _, err = run("sync", "--once", "--plan")
    assert code == 3
    assert "sync needs exactly one of --once, --plan, --watch, on, off (got --once --plan)" in err
    assert run("sync", "on", "--json")[2].startswith("railfiesta: sync on does not take --json")
    code, _, err = run("sync", "--watch", "--interval", "soon")
    assert code == 3
    assert '--interval must be a duration such as "30s", "5m" or "1h"' in err


# ---------------------------------------------------------------------------- status


def test_status_json_keys_and_types_before_and_after_a_cycle(cli: Cli) -> None:
    code, status = cli.json("status")
    assert code == 0
    assert status["sync"] == {"enabled": False, "interval": 300}
    assert status["conflicts"] == 0 and status["pending"] == 0
    assert status["last_poll"] is None
    assert status["requests"] == {"testrail": 0, "testfiesta": 0}
    assert status["holder"] is None

    assert cli("sync", "--once")[0] == 0
    code, status = cli.json("status")
    assert code == 0
    assert isinstance(status["sync"]["enabled"], bool)
    assert isinstance(status["conflicts"], int) and isinstance(status["pending"], int)
    assert isinstance(status["last_poll"], float)
    assert set(status["requests"]) == {"testrail", "testfiesta"}
    assert all(type(n) is int and n > 0 for n in status["requests"].values())


def test_status_text_says_what_waits(cli: Cli) -> None:
    conflict_on_the_first_case(cli)
    code, out, _ = cli("status")
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == "sync:            off (`railfiesta sync on` turns it on), every 5m"
    assert lines[1] == "running:         no sync is running"
    assert lines[2] == "conflicts open:  1"
    assert lines[3] == "pending:         0"


# ---------------------------------------------------------------------------- plan and once


def test_plan_after_a_migration_has_no_operations(cli: Cli) -> None:
    code, reports = cli.json("sync", "--plan")
    assert code == 0
    [report] = reports
    assert report["testrail_project"] == "Acme Web Shop"
    assert report["testfiesta_project"] == "ACME"
    assert report["plan"]["operations"] == []
    assert report["plan"]["conflicts"] == []
    assert report["applied"] is None
    assert report["exit_code"] == 0


def test_plan_text_shows_the_value_it_would_change_and_writes_nothing(cli: Cli) -> None:
    case = cli.first_case()
    old = cli.tf_title(case)
    cli.tr_edit(case, title=NEW_TITLE)
    code, out, _ = cli("sync", "--plan")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("Acme Web Shop -> ACME: plan (")
    assert lines[0].endswith("): 1 write, 0 conflicts, 0 held deletes; nothing was written")
    assert lines[1].startswith("  update testfiesta case tf:case:")
    assert lines[1].endswith(f"(pair tr:case:{case})")
    assert lines[2].startswith("      title: '")
    assert lines[2].endswith(f" -> {NEW_TITLE!r}")
    assert lines[3:5] == ["  counts:", "    cases         update testfiesta            1"]
    assert cli.tf_title(case) == old


def test_a_testrail_title_edit_reaches_testfiesta_with_sync_once(cli: Cli) -> None:
    case = cli.first_case()
    cli.tr_edit(case, title=NEW_TITLE)
    code, reports = cli.json("sync", "--once")
    assert code == 0
    [report] = reports
    [op] = report["plan"]["operations"]
    assert (op["action"], op["side"], op["kind"]) == ("update", "testfiesta", "case")
    assert op["values"] == {"title": NEW_TITLE}
    assert report["applied"]["done"] == {"update testfiesta case": 1}
    assert report["applied"]["failed"] == []
    assert cli.tf_title(case) == NEW_TITLE

    code, out, _ = cli("sync", "--once")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "Acme Web Shop -> ACME: sync cycle (changes since the last poll)"
    assert lines[1:5] == [
        "  nothing to write",
        "  conflicts: 0",
        "  deletes held: 0",
        "  failed: 0",
    ]
    assert lines[5].startswith("  requests: testrail ")
    assert lines[-1] == "no conflicts open"


def test_sync_once_text_table(cli: Cli) -> None:
    case = cli.first_case()
    cli.tr_edit(case, title=NEW_TITLE)
    code, out, _ = cli("sync", "--once")
    assert code == 0
    lines = out.splitlines()
    assert lines[1:7] == [
        "  kind          action   side           done",
        "  ------------------------------------------",
        "  cases         update   testfiesta        1",
        "  conflicts: 0",
        "  deletes held: 0",
        "  failed: 0",
    ]


def test_a_second_sync_on_the_same_state_is_fatal_and_names_the_holder(cli: Cli) -> None:
    with StateLock(cli.env.state_dir, command="railfiesta sync --watch"):
        code, out, err = cli("sync", "--once")
        assert (code, out) == (3, "")
        assert f"pid {os.getpid()}" in err
        assert "running 'railfiesta sync --watch'" in err
        assert f"fix: wait for it to finish, or stop it (kill {os.getpid()})" in err
        assert cli("migrate")[0] == 3
        assert cli("sync", "--plan")[0] == 0  # a plan writes nothing: no lock needed


# ---------------------------------------------------------------------------- conflicts


def test_a_conflict_lists_with_its_three_values_and_resolves_to_testrail(cli: Cli) -> None:
    case, base, conflict_id = conflict_on_the_first_case(cli)

    code, items = cli.json("conflicts", "list")
    assert code == 1
    [item] = items
    assert item["id"] == conflict_id
    assert item["kind"] == "case"
    assert item["field"] == "title"
    assert item["testrail"] == f"tr:case:{case}"
    assert item["testfiesta"].startswith("tf:case:")
    assert item["values"] == {
        "testrail": "Title from TestRail",
        "base": base,
        "testfiesta": "Title from TestFiesta",
    }
    assert item["resolution"] is None

    code, out, _ = cli("conflicts", "list")
    assert code == 1
    lines = out.splitlines()
    assert lines[0].split() == ["id", "kind", "field", "TestRail", "TestFiesta", "state"]
    assert lines[2].split() == [
        conflict_id,
        "case",
        "title",
        f"tr:case:{case}",
        item["testfiesta"],
        "open",
    ]

    code, out, err = cli("conflicts", "resolve", conflict_id[:6], "--take", "testrail")
    assert code == 0, out + err
    lines = out.splitlines()
    assert lines[0] == (
        f"conflict {conflict_id} (case title of tr:case:{case}): "
        "TestRail's value 'Title from TestRail' chosen"
    )
    assert lines[1] == "applying it now with one sync cycle:"
    assert f"conflict {conflict_id} resolved: both sides now hold 'Title from TestRail'" in lines
    assert cli.tr_title(case) == "Title from TestRail"
    assert cli.tf_title(case) == "Title from TestRail"
    assert cli.json("conflicts", "list") == (0, [])
    assert cli("conflicts", "list")[1] == "no conflicts open\n"


def test_conflicts_show_prints_every_value_and_a_diff_of_each_side(cli: Cli) -> None:
    case = cli.first_case()
    cli.tr_edit(case, title="Line one")
    assert cli("sync", "--once")[0] == 0
    cli.tr_edit(case, title="Line one\nfrom TestRail")
    cli.tf_edit(case, name="Line one\nfrom TestFiesta")
    code, reports = cli.json("sync", "--once")
    assert code == 1
    conflict_id = reports[0]["plan"]["conflicts"][0]["id"]

    code, out, _ = cli("conflicts", "show", conflict_id[:5])
    assert code == 0
    text = out.split("\n\n")
    assert text[0].splitlines()[0] == f"conflict {conflict_id}: case title"
    assert text[1:4] == [
        "TestRail:\n    | Line one\n    | from TestRail",
        "base (the value both sides last agreed on):\n    | Line one",
        "TestFiesta:\n    | Line one\n    | from TestFiesta",
    ]
    assert text[4] == (
        "diff base -> TestRail:\n    --- base\n    +++ testrail\n    @@ -1 +1,2 @@\n"
        "     Line one\n    +from TestRail"
    )
    assert text[5] == (
        "diff base -> TestFiesta:\n    --- base\n    +++ testfiesta\n    @@ -1 +1,2 @@\n"
        "     Line one\n    +from TestFiesta"
    )


def test_a_choice_while_a_migrate_holds_the_lock_says_the_next_sync_applies_it(
    cli: Cli,
) -> None:
    case, _, conflict_id = conflict_on_the_first_case(cli)
    with StateLock(cli.env.state_dir, command="railfiesta migrate --config acme.toml"):
        code, out, _ = cli("conflicts", "resolve", conflict_id, "--value", "Agreed title")
    assert code == 0
    assert out.splitlines()[1] == (
        f"another railfiesta migrate holds the state (pid {os.getpid()}: railfiesta migrate "
        "--config acme.toml): the choice is kept and the next sync applies it"
    )
    assert cli.tf_title(case) == "Title from TestFiesta"  # nothing applied yet
    assert cli("sync", "--once")[0] == 0
    assert cli.tr_title(case) == cli.tf_title(case) == "Agreed title"


def test_a_typed_value_while_a_watch_holds_the_lock_waits_for_that_sync(cli: Cli) -> None:
    case, _, conflict_id = conflict_on_the_first_case(cli)
    with StateLock(cli.env.state_dir, command="railfiesta sync --watch"):
        code, out, _ = cli("conflicts", "resolve", conflict_id, "--value", "Agreed title")
    assert code == 0
    assert out.splitlines()[1] == (
        f"the running sync (pid {os.getpid()}: railfiesta sync --watch) applies it at its "
        "next cycle"
    )
    assert cli.tf_title(case) == "Title from TestFiesta"  # nothing applied yet
    code, status = cli.json("status")
    assert (code, status["conflicts"], status["resolved_waiting"]) == (1, 0, 1)
    [item] = cli.json("conflicts", "list")[1]
    assert item["resolution"]["winner"] == "value"
    assert item["resolution"]["value"] == "Agreed title"

    assert cli("sync", "--once")[0] == 0
    assert cli.tr_title(case) == cli.tf_title(case) == "Agreed title"


def test_rest_of_field_takes_the_same_side_for_every_open_conflict_on_it(cli: Cli) -> None:
    with cli.tr.lock:
        first, second = sorted(cli.tr.cases)[:2]
    for n, case in enumerate((first, second), 1):
        cli.tr_edit(case, title=f"TestRail title {n}")
        cli.tf_edit(case, name=f"TestFiesta title {n}")
    code, reports = cli.json("sync", "--once")
    assert code == 1
    ids = {c["testrail"]: c["id"] for c in reports[0]["plan"]["conflicts"]}
    one, two = ids[f"tr:case:{first}"], ids[f"tr:case:{second}"]
    code, out, _ = cli("conflicts", "resolve", one, "--take", "testfiesta", "--rest-of-field")
    assert code == 0
    assert out.splitlines()[:2] == [
        f"conflict {one} (case title of tr:case:{first}): TestFiesta's value "
        "'TestFiesta title 1' chosen",
        f"conflict {two} (case title of tr:case:{second}): TestFiesta's value "
        "'TestFiesta title 2' chosen (the rest of the field)",
    ]
    assert cli.tr_title(first) == cli.tf_title(first) == "TestFiesta title 1"
    assert cli.tr_title(second) == cli.tf_title(second) == "TestFiesta title 2"
    code, out, err = cli("conflicts", "resolve", one, "--value", "x", "--rest-of-field")
    assert (code, out) == (3, "")
    assert err.splitlines()[0] == (
        "railfiesta: --rest-of-field repeats a side's value; a typed value belongs to one record"
    )


def test_an_unknown_conflict_id_is_fatal(cli: Cli) -> None:
    code, out, err = cli("conflicts", "resolve", "feedbeef", "--take", "testfiesta")
    assert (code, out) == (3, "")
    assert err.splitlines() == [
        "railfiesta: no open conflict has the id 'feedbeef' (no conflicts are open)",
        "  fix: `railfiesta conflicts list` shows the open ones",
    ]
    assert cli("conflicts", "show", "feedbeef")[0] == 3


# ---------------------------------------------------------------------------- watch


def _signal_after_first_cycle(
    monkeypatch: pytest.MonkeyPatch, *signums: signal.Signals
) -> list[int]:
    """Make the first sync cycle send ``signums`` to this process as it ends."""
    original = Service.sync
    cycles: list[int] = []

    async def sync_then_signal(self: Service, **kwargs: Any) -> Any:
        import asyncio

        reports = await original(self, **kwargs)
        cycles.append(len(reports))
        if len(cycles) == 1:
            for signum in signums:
                os.kill(os.getpid(), signum)
            await asyncio.sleep(0.05)  # the loop runs the handlers here
        return reports

    monkeypatch.setattr(Service, "sync", sync_then_signal)
    return cycles


def test_watch_syncs_while_enabled_and_sigterm_stops_it(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("sync", "on")[0] == 0
    case = cli.first_case()
    cli.tr_edit(case, title=NEW_TITLE)
    cycles = _signal_after_first_cycle(monkeypatch, signal.SIGTERM)
    code, out, err = cli("sync", "--watch", "--interval", "1s")
    assert code == 0
    assert cycles == [1]
    assert cli.tf_title(case) == NEW_TITLE
    lines = [line.split(" ", 1)[1] for line in out.splitlines()]
    assert lines[0].startswith("watching ")
    assert lines[1] == "sync is on: a cycle every 1s"
    assert lines[2].startswith(
        "Acme Web Shop -> ACME: update testfiesta 1 case; 0 conflicts, 0 held, 0 failed;"
    )
    assert lines[-1] == "stopped"
    assert "SIGTERM: stopping the watch after the operation in flight" in err


def test_watch_waits_while_sync_is_off(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[bool] = []

    def off_then_interrupt(self: Service) -> bool:
        calls.append(False)
        if len(calls) == 1:
            os.kill(os.getpid(), signal.SIGINT)
        return False

    monkeypatch.setattr(Service, "sync_enabled", off_then_interrupt)
    code, out, err = cli("sync", "--watch", "--interval", "1s")
    assert code == 130
    assert calls == [False]  # asked once, then it waited until the signal
    lines = [line.split(" ", 1)[1] for line in out.splitlines()]
    assert lines[1] == (
        f"sync is off ([sync] enabled = false in {cli.env.config_path}): waiting; "
        "`railfiesta sync on` resumes it"
    )
    assert "SIGINT: stopping the watch" in err
    assert cli.json("status")[1]["last_poll"] is None


def test_a_second_ctrl_c_stops_at_once_with_130(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    assert cli("sync", "on")[0] == 0
    _signal_after_first_cycle(monkeypatch, signal.SIGINT, signal.SIGINT)
    code, _, err = cli("sync", "--watch", "--interval", "1m")
    assert code == 130
    assert "railfiesta: stopping now" in err
    assert "stopped at once; run the same command again to resume" in err
    assert cli.json("status")[1]["holder"] is None  # the lock was let go


# ---------------------------------------------------------------------------- check


def test_check_passes_against_the_emulators(cli: Cli) -> None:
    sample = (REPO_ROOT / "sample-config.toml").read_text()
    mapping = sample[sample.index("[mapping.status]") : sample.index("[mapping.types]")]
    config = cli.env.config_path
    config.write_text(config.read_text() + "\n" + mapping)
    code, results = cli.json("check")
    assert code == 0, results
    assert all(r["ok"] for r in results)
    checks = [r["check"] for r in results]
    assert checks == [
        "config",
        "TestRail secret",
        "TestFiesta secret",
        "state directory",
        "TestRail server",
        "TestRail credentials",
        "TestRail API",
        "TestFiesta server",
        "TestFiesta credentials",
        "TestFiesta API",
        "TestFiesta TestRail shim",
        "[[pair]] 1 TestRail project",
        "[[pair]] 1 TestFiesta project",
        "[mapping.status] 'Passed' = 'Passed'",
        "[mapping.status] 'Failed' = 'Failed'",
        "[mapping.status] 'Blocked' = 'Blocked'",
        "[mapping.status] 'Retest' = 'Retest'",
        "[mapping.priority] 'Critical' = 'Critical'",
    ]
    details = {r["check"]: r["detail"] for r in results}
    assert details["[[pair]] 1 TestRail project"] == (
        "'Acme Web Shop' (id 1), suite mode 1: a single repository for all cases"
    )
    assert details["[[pair]] 1 TestFiesta project"] == "ACME exists ('Acme Web Shop')"


def test_check_before_migrating_says_migrate_creates_the_project(
    env: Emulated, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = Cli(env, capsys)("check")
    assert code == 0
    assert (
        "ok    [[pair]] 1 TestFiesta project: ACME does not exist yet: it will be created by "
        "migrate\n"
    ) in out
    assert out.endswith("\nall 13 checks ok\n")


def test_check_with_a_wrong_token_fails_naming_the_variable(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RF_TEST_TESTFIESTA_TOKEN", "testfiesta_wrong")
    code, out, _ = cli("check")
    assert code == 3
    lines = out.splitlines()
    failed = [line for line in lines if line.startswith("FAIL")]
    assert failed == [lines[lines.index(failed[0])]]
    assert failed[0].startswith("FAIL  TestFiesta credentials: testfiesta GET /projects failed")
    fix = lines[lines.index(failed[0]) + 1]
    assert fix.startswith("      fix: check the API key in $RF_TEST_TESTFIESTA_TOKEN")
    assert "testfiesta_wrong" not in out
    assert out.endswith("\n1 check failed\n")


def test_check_with_a_missing_mapping_name_names_both_lists(cli: Cli) -> None:
    config = cli.env.config_path
    config.write_text(config.read_text() + '\n[mapping.priority]\n"Urgent" = "Critical"\n')
    code, results = cli.json("check")
    assert code == 3
    [failed] = [r for r in results if not r["ok"]]
    assert failed["check"] == "[mapping.priority] 'Urgent' = 'Critical'"
    assert failed["detail"] == "TestRail has no priority 'Urgent'"
    assert failed["fix"].startswith("use names that exist (TestRail's: ")


# ---------------------------------------------------------------------------- structure


def test_the_demo_and_the_command_line_share_one_renderer() -> None:
    """tui.demo prints through tui.render and no longer imports tui.cli."""
    tree = ast.parse((REPO_ROOT / "tui" / "demo.py").read_text(encoding="utf-8"))
    imported = {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }
    assert "tui.render" in imported
    assert "tui.cli" not in imported
