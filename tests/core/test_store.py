"""State store: private on disk, JSON only, links both ways, survives reopening."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest

from core.errors import ConfigError
from core.store import SCHEMA_VERSION, StateStore


def test_links_both_ways_and_survive_reopening(tmp_path: Path) -> None:
    with StateStore(tmp_path / "state") as store:
        store.link("tr:case:12", "tf:case:1345")
        store.link("tr:section:3", "tf:folder:55")
        assert store.linked("tr:case:12") == "tf:case:1345"
        assert store.linked("tf:case:1345") == "tr:case:12"
        assert store.linked("tr:case:13") is None
    with StateStore(tmp_path / "state") as store:
        assert sorted(store.links("tr:")) == [
            ("tr:case:12", "tf:case:1345"),
            ("tr:section:3", "tf:folder:55"),
        ]
        assert list(store.links("tr:case:")) == [("tr:case:12", "tf:case:1345")]
        store.unlink("tf:case:1345")
        assert store.linked("tr:case:12") is None


def test_directory_is_0700_and_files_0600(tmp_path: Path) -> None:
    directory = tmp_path / "state"
    with StateStore(directory) as store:
        store.link("tr:case:1", "tf:case:2")
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    files = [p for p in directory.iterdir() if p.is_file()]
    assert files
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_values_are_stored_as_json_never_pickles(tmp_path: Path) -> None:
    with StateStore(tmp_path / "state") as store:
        store.set("cursor:testrail:cases", {"updated_after": 1700000000})
    rows = (
        sqlite3.connect(tmp_path / "state" / "cache.db")
        .execute("SELECT value FROM Cache WHERE value IS NOT NULL")
        .fetchall()
    )
    assert rows
    for (value,) in rows:
        assert not bytes(value).startswith(b"\x80"), "a pickle protocol header"


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    with StateStore(tmp_path / "state") as store:
        store.set("meta:schema", SCHEMA_VERSION + 1)
    with pytest.raises(ConfigError, match="has schema 2"):
        StateStore(tmp_path / "state")


def test_link_many_writes_only_what_changed(tmp_path: Path) -> None:
    with StateStore(tmp_path / "state") as store:
        assert store.link_many([("tr:case:1", "tf:case:10"), ("tr:case:2", "tf:case:20")]) == 2
        assert store.link_many([("tr:case:1", "tf:case:10"), ("tr:case:2", "tf:case:21")]) == 1
        assert store.linked("tf:case:21") == "tr:case:2"
        assert store.linked("tr:case:2") == "tf:case:21"
        assert store.linked("tf:case:20") is None
