"""``railfiesta state export|import FILE``: a JSON backup of the state store and its restore,
as a user meets them (``tui.cli.main`` in-process; no network: the state verbs read only the
config and the state directory)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from core.lock import StateLock
from core.store import StateStore
from tests.helpers import API_KEY, TOKEN, emulate
from tui.cli import main


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return emulate(tmp_path, monkeypatch, cases=1).config_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def fill(state: Path) -> None:
    with StateStore(state) as store:
        store.put_base(
            {
                "kind": "case",
                "testrail": "tr:case:7",
                "testfiesta": "tf:case:70",
                "values": {"title": "Pay with a gift card £5"},
                "scope": "1",
            }
        )
        store.set("cursor:1:testrail", {"cases": 1700000000})
        store.put_in("journal", "op1", {"op": {"action": "update"}, "state": "sent", "at": 2.5})


def test_export_then_import_into_a_new_directory(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state, backup = tmp_path / "state", tmp_path / "backup.json"
    fill(state)
    code, out, err = run(
        capsys, "state", "export", str(backup), "--config", str(config), "--state", str(state)
    )
    assert (code, err) == (0, "")
    assert out == f"exported 6 entries of {state} to {backup}\n"
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    text = backup.read_text(encoding="utf-8")
    assert API_KEY not in text and TOKEN not in text
    data = json.loads(text)
    assert data["entries"]["base:tr:case:7"]["values"] == {"title": "Pay with a gift card £5"}
    assert data["entries"]["journal:op1"] == {
        "op": {"action": "update"},
        "state": "sent",
        "at": 2.5,
    }

    restored = tmp_path / "restored"
    code, out, err = run(
        capsys, "state", "import", str(backup), "--config", str(config), "--state", str(restored)
    )
    assert (code, err) == (0, "")
    assert out == f"imported 6 entries from {backup} into {restored}\n"
    with StateStore(restored) as store, StateStore(state) as original:
        assert store.export()["entries"] == original.export()["entries"]
        assert store.linked("tf:case:70") == "tr:case:7"


def test_export_does_not_overwrite_a_file_without_force(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state, backup = tmp_path / "state", tmp_path / "backup.json"
    fill(state)
    backup.write_text("keep me", encoding="utf-8")
    code, out, err = run(
        capsys, "state", "export", str(backup), "--config", str(config), "--state", str(state)
    )
    assert (code, out) == (3, "")
    assert err == (
        f"railfiesta: {backup} exists\n"
        "  fix: choose another file, or pass --force to overwrite it\n"
    )
    assert backup.read_text(encoding="utf-8") == "keep me"
    code, _, _ = run(
        capsys,
        "state",
        "export",
        str(backup),
        "--force",
        "--config",
        str(config),
        "--state",
        str(state),
    )
    assert code == 0
    assert json.loads(backup.read_text(encoding="utf-8"))["format"] == "railfiesta-state"


def test_import_refuses_a_store_in_use_until_forced(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state, other, backup = tmp_path / "state", tmp_path / "other", tmp_path / "backup.json"
    fill(state)
    assert (
        run(capsys, "state", "export", str(backup), "--config", str(config), "--state", str(state))[
            0
        ]
        == 0
    )
    with StateStore(other) as store:
        store.link("tr:case:1", "tf:case:2")
    args = ["--config", str(config), "--state", str(other)]
    code, out, err = run(capsys, "state", "import", str(backup), *args)
    assert (code, out) == (3, "")
    assert err == (
        f"railfiesta: state in {other} is not empty (2 entries)\n"
        "  fix: pass --force to replace it (export it first to keep a copy)\n"
    )
    with StateStore(other) as store:
        assert store.linked("tr:case:1") == "tf:case:2"
    code, out, _ = run(capsys, "state", "import", str(backup), "--force", *args)
    assert code == 0
    with StateStore(other) as store:
        assert store.linked("tr:case:1") is None
        assert store.linked("tr:case:7") == "tf:case:70"


def test_import_refuses_while_a_sync_holds_the_lock(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state, backup = tmp_path / "state", tmp_path / "backup.json"
    fill(state)
    assert (
        run(capsys, "state", "export", str(backup), "--config", str(config), "--state", str(state))[
            0
        ]
        == 0
    )
    with StateLock(state, command="railfiesta sync --watch"):
        code, out, err = run(
            capsys,
            "state",
            "import",
            str(backup),
            "--force",
            "--config",
            str(config),
            "--state",
            str(state),
        )
    assert (code, out) == (3, "")
    assert f"railfiesta: another railfiesta sync holds {state / 'sync.lock'}: pid " in err
    assert "running 'railfiesta sync --watch'" in err


def test_import_refuses_a_file_that_is_not_an_export(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "notes.json"
    bad.write_text('{"hello": 1}', encoding="utf-8")
    code, out, err = run(
        capsys,
        "state",
        "import",
        str(bad),
        "--config",
        str(config),
        "--state",
        str(tmp_path / "state"),
    )
    assert (code, out) == (3, "")
    assert err == (
        f'railfiesta: {bad}: not a railfiesta state export (no "format": "railfiesta-state")\n'
        "  fix: give a file `railfiesta state export` wrote\n"
    )
    bad.write_text("not json", encoding="utf-8")
    code, _, err = run(
        capsys,
        "state",
        "import",
        str(bad),
        "--config",
        str(config),
        "--state",
        str(tmp_path / "state"),
    )
    assert code == 3 and err.startswith(f"railfiesta: {bad} is not JSON (")


def test_a_damaged_store_is_reported_and_replaced_only_by_a_forced_import(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state, backup = tmp_path / "state", tmp_path / "backup.json"
    fill(state)
    args = ["--config", str(config), "--state", str(state)]
    assert run(capsys, "state", "export", str(backup), *args)[0] == 0
    (state / "cache.db").write_bytes(b"\0" * 4096)
    code, out, err = run(capsys, "status", *args)
    assert (code, out) == (3, "")
    assert err == (
        f"railfiesta: state store at {state} is damaged: {state / 'cache.db'} is not an "
        "SQLite database\n"
        "  fix: restore a backup with `railfiesta state import BACKUP --force`, or move "
        f"{state} away to start over (links are found again by externalId)\n"
    )
    code, _, err = run(capsys, "state", "import", str(backup), *args)
    assert code == 3 and "is damaged" in err
    code, out, _ = run(capsys, "state", "import", str(backup), "--force", *args)
    assert code == 0
    [kept] = [p.name for p in state.iterdir() if ".damaged-" in p.name]
    assert kept.startswith("cache.db.damaged-")
    with StateStore(state) as store:
        assert store.linked("tr:case:7") == "tf:case:70"
