"""The command line as a user meets it: demo, migrate, errors and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tui.cli import main

FIXED_HEX = "5ec2e7"  # what secrets.token_hex returns in these tests


@pytest.fixture
def known_secrets(monkeypatch: pytest.MonkeyPatch) -> str:
    """Make the demo's random credentials predictable so the output can be searched."""
    monkeypatch.setattr("secrets.token_hex", lambda n=16: (FIXED_HEX * 11)[: 2 * n])
    return FIXED_HEX * 5


def test_headless_demo_json_reports_every_case_arrived(
    known_secrets: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["demo", "--headless", "--json", "--cases", "150"])
    out, err = capsys.readouterr()
    assert code == 0
    report = json.loads(out)
    assert report["complete"] is True
    project = report["projects"][0]
    assert project["testrail_project"] == "Acme Web Shop"
    assert project["testfiesta_project"] == "ACMEWEBSHOP"
    kinds = project["kinds"]
    assert kinds["cases"]["testrail"] == kinds["cases"]["testfiesta"] == 150
    assert kinds["cases"]["created"] == 150
    assert kinds["folders"]["testrail"] == kinds["folders"]["testfiesta"] > 10
    assert kinds["cases"]["requests"] > 0
    assert project["requests"]["testrail"] > 0
    assert project["not_migrated"] == [
        "user settings and preferences: invite each user in TestFiesta's UI, where they set "
        "theirs again",
        "external integrations (Jira, CI hooks): configure them again in TestFiesta",
        "session data (logins, API sessions): sign in to TestFiesta; make API keys for scripts "
        "and CI again under Settings > API Keys",
    ]
    # the generated execution data: milestones (one a sub-milestone, one completed), two
    # configuration groups of two, three plans (8 entry runs) and a run outside them
    parity = project["parity"]
    expected = {"config_group": 2, "config": 4, "milestone": 4, "plan": 3, "run": 9}
    for kind, count in expected.items():
        assert (parity[kind]["testrail"], parity[kind]["testfiesta"]) == (count, count), kind
        assert parity[kind]["equal"] == count, kind
        assert parity[kind]["missing"] == parity[kind]["extra"] == [], kind
    assert kinds["plans"]["created"] == 3
    assert known_secrets[:16] not in out + err


def test_headless_demo_from_a_real_export_prints_the_table(
    known_secrets: str, real_exports: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = real_exports / "Nhiiron__Parabank__parabank.xml"
    code = main(["demo", "--headless", "--from-xml", str(export)])
    out, err = capsys.readouterr()
    assert code == 0
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line[:1].isalpha()}
    assert rows["cases"][:3] == ["16", "16", "16"]
    assert rows["folders"][:3] == ["5", "5", "5"]
    assert "not migrated: user settings" in out
    assert known_secrets[:16] not in out + err


def test_demo_with_a_missing_export_is_a_clear_fatal_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["demo", "--headless", "--from-xml", str(tmp_path / "nope.xml")])
    _, err = capsys.readouterr()
    assert code == 3
    assert "nope.xml does not exist" in err
    assert "fix: export the suite from TestRail with Export > XML" in err


def test_demo_with_a_file_that_is_not_an_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.xml"
    broken.write_text("<suite><sections><section>", encoding="utf-8")
    code = main(["demo", "--headless", "--from-xml", str(broken)])
    _, err = capsys.readouterr()
    assert code == 3
    assert "broken.xml is not a TestRail XML suite export" in err


def test_migrate_with_a_broken_config_names_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[testrail]\nurl = "https://a.testrail.io"\nuser = "q"\ncolour = 1\n')
    code = main(["migrate", "--config", str(config)])
    _, err = capsys.readouterr()
    assert code == 3
    assert f"{config}:4: unknown key 'colour' in [testrail]" in err


def test_migrate_without_the_secret_says_which_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TESTRAIL_API_KEY", raising=False)
    monkeypatch.setattr("keyring.get_password", lambda service, account: None)
    config = tmp_path / "ok.toml"
    config.write_text(
        '[testrail]\nurl = "https://a.testrail.io"\nuser = "q@a.io"\n'
        '[testfiesta]\nurl = "https://api.testfiesta.com"\nhandle = "acme"\n'
        "[[pair]]\ntestrail_project = 1\n"
    )
    code = main(["migrate", "--config", str(config), "--state", str(tmp_path / "s")])
    _, err = capsys.readouterr()
    assert code == 3
    assert "environment variable TESTRAIL_API_KEY is not set" in err
    assert "export TESTRAIL_API_KEY=" in err


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("Nhiiron__Parabank__parabank.csv", "parabank.csv is a TestRail CSV/Excel export"),
        ("Nhiiron__Parabank__parabank.xls", "parabank.xls is a TestRail CSV/Excel export"),
    ],
)
def test_demo_tells_a_csv_export_from_an_xml_one(
    real_exports: Path, name: str, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = real_exports / name
    code = main(["demo", "--headless", "--from-xml", str(path)])
    _, err = capsys.readouterr()
    assert code == 3
    assert says in err
    assert err.splitlines()[-1] == (
        f"  fix: migrate the CSV itself: railfiesta migrate --config FILE --from-csv {path}; "
        "or export the suite from TestRail with Export > XML and pass that file"
    )


def test_an_empty_export_and_a_directory_are_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.xml"
    empty.write_bytes(b"")
    assert main(["demo", "--headless", "--from-xml", str(empty)]) == 3
    assert main(["demo", "--headless", "--from-xml", str(tmp_path)]) == 3
    _, err = capsys.readouterr()
    assert "empty.xml is empty" in err
    assert "is a directory, not a TestRail XML export" in err


def test_usage_mistakes_are_fatal_and_say_where_to_look(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["migrate"]) == 3
    assert main(["demo", "--cases", "-5", "--headless"]) == 3
    assert main(["frobnicate"]) == 3
    _, err = capsys.readouterr()
    assert "no config given" in err
    assert "--cases -5: the number of cases cannot be negative" in err
    assert "invalid choice: 'frobnicate'" in err


def test_config_before_or_after_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[testrail]\nurl = "https://a.testrail.io"\ncolor = 1\n')
    assert main(["--config", str(config), "migrate"]) == 3
    assert main(["migrate", "--config", str(config)]) == 3
    _, err = capsys.readouterr()
    assert err.count(f"{config}:3: unknown key 'color' in [testrail]") == 2


def _valid_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, testrail: str, testfiesta: str
) -> Path:
    """A config with both secrets in the environment, for servers at these URLs."""
    monkeypatch.setenv("TESTRAIL_API_KEY", "k")
    monkeypatch.setenv("TESTFIESTA_TOKEN", "testfiesta_t")
    config = tmp_path / "ok.toml"
    config.write_text(
        f'[testrail]\nurl = "{testrail}"\nuser = "q@a.io"\n'
        f'[testfiesta]\nurl = "{testfiesta}"\nhandle = "acme"\n'
        '[[pair]]\ntestrail_project = "Web"\n'
    )
    return config


def test_a_state_path_that_is_a_file_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _valid_config(
        tmp_path, monkeypatch, "https://a.testrail.io", "https://api.testfiesta.com"
    )
    occupied = tmp_path / "occupied"
    occupied.write_text("not a directory")
    code = main(["migrate", "--config", str(config), "--state", str(occupied)])
    _, err = capsys.readouterr()
    assert code == 3
    assert f"cannot use {occupied} as the state directory" in err


def test_an_unreachable_server_names_its_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # a refused loopback port is final (core.http): no "retrying" line, no backoff
    config = _valid_config(tmp_path, monkeypatch, "http://127.0.0.1:9", "http://127.0.0.1:9")
    code = main(["migrate", "--config", str(config), "--state", str(tmp_path / "s")])
    _, err = capsys.readouterr()
    assert code == 3
    assert (
        "railfiesta: cannot reach testrail at http://127.0.0.1:9: connection refused "
        "(nothing listens on port 9 of this machine)" in err
    )
    assert "fix: start the server on port 9, or fix the port in [testrail] url" in err
    assert "retrying" not in err
    assert "stamina" not in err


def test_emulate_refuses_bad_ports_and_rates(capsys: pytest.CaptureFixture[str]) -> None:
    base = ["emulate", "testrail", "--user", "u@x.io", "--api-key", "k"]
    assert main([*base, "--port", "70000"]) == 3
    assert main([*base, "--port", "18999", "--rpm", "-3"]) == 3
    assert main([*base, "--port", "18999", "--host", "10.255.255.1"]) == 3
    _, err = capsys.readouterr()
    assert "--port 70000 is not a TCP port" in err
    assert "--rpm -3: requests per minute must be 1 or more" in err
    assert "--host must be an address of this machine" in err


def test_emulate_names_an_unknown_fault_kind(capsys: pytest.CaptureFixture[str]) -> None:
    tf = ["emulate", "testfiesta", "--handle", "acme", "--token", "testfiesta_x"]
    assert main([*tf, "--port", "18998", "--fault-rate", "0.1", "--faults", "500,409"]) == 3
    tr = ["emulate", "testrail", "--user", "u@x.io", "--api-key", "k", "--cases", "1"]
    assert main([*tr, "--port", "18998", "--fault-rate", "2"]) == 3
    _, err = capsys.readouterr()
    assert "the TestFiesta emulator cannot inject ['409']" in err
    assert "fault rate must be within [0, 1]" in err


def test_a_web_page_instead_of_the_api_is_fatal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse
    from starlette.routing import Route

    from emulators.server import start_in_thread

    async def page(request: object) -> HTMLResponse:
        return HTMLResponse("<html><body>Welcome to our intranet</body></html>")

    site = Starlette(routes=[Route("/{path:path}", page)])
    with start_in_thread(site) as server:
        config = _valid_config(tmp_path, monkeypatch, server.url, server.url)
        code = main(["migrate", "--config", str(config), "--state", str(tmp_path / "s")])
    _, err = capsys.readouterr()
    assert code == 3
    assert "testrail get_projects got an HTML page instead of JSON (HTTP 200): a login page?" in err
