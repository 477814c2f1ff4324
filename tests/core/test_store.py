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


def test_folder_bases_come_from_their_index_per_pair(tmp_path: Path) -> None:
    with StateStore(tmp_path / "state") as store:
        for n in range(3):
            store.put_base(
                {"kind": "folder", "testrail": f"tr:section:{n}", "testfiesta": f"tf:folder:{n}",
                 "values": {"name": f"S{n}"}, "scope": "1"}
            )  # fmt: skip
        store.put_base(
            {"kind": "folder", "testrail": "tr:section:9", "testfiesta": "tf:folder:9",
             "values": {"name": "Other pair"}, "scope": "2"}
        )  # fmt: skip
        store.put_base(
            {"kind": "case", "testrail": "tr:case:1", "testfiesta": "tf:case:1",
             "values": {"title": "Log in"}, "scope": "1"}
        )  # fmt: skip
        # stored again (a new base value): still listed once
        store.put_base(
            {"kind": "folder", "testrail": "tr:section:1", "testfiesta": "tf:folder:1",
             "values": {"name": "Renamed"}, "scope": "1"}
        )  # fmt: skip
        store.drop_base("tr:section:0")
        names = [b["values"]["name"] for b in store.bases("folder", scope="1")]
        assert names == ["Renamed", "S2"]
        assert [b["testrail"] for b in store.bases("folder", scope="2")] == ["tr:section:9"]
        assert [b["testrail"] for b in store.bases("case", scope="1")] == ["tr:case:1"]
        assert store.linked("tf:folder:0") is None
