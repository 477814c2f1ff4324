"""State store: private on disk, JSON only, links both ways, survives reopening."""

from __future__ import annotations

import fcntl
import json
import os
import pickle
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import zlib
from pathlib import Path

import pytest
from diskcache.core import MODE_PICKLE

from core.errors import ConfigError
from core.store import (
    CREATING,
    MIGRATIONS,
    SCHEMA_VERSION,
    StateStore,
    StoreDamaged,
    check_database,
    check_export,
)


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


def test_linked_many_reads_the_links_of_many_keys_in_one_query_per_chunk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("core.store.KEYS_PER_QUERY", 4)
    with StateStore(tmp_path / "state") as store:
        store.link_many([(f"tr:case:{n}", f"tf:case:{100 + n}") for n in range(0, 10, 2)])
        store.link("tr:section:3", "tf:folder:55")
        queries: list[str] = []
        store._cache._con.set_trace_callback(queries.append)
        keys = [f"tr:case:{n}" for n in range(10)] + ["tf:folder:55", "tr:case:0"]
        found = store.linked_many(keys)
        store._cache._con.set_trace_callback(None)
    assert found == {
        "tr:case:0": "tf:case:100",
        "tr:case:2": "tf:case:102",
        "tr:case:4": "tf:case:104",
        "tr:case:6": "tf:case:106",
        "tr:case:8": "tf:case:108",
        "tf:folder:55": "tr:section:3",
    }
    # 11 different keys, 4 a query: 3 queries, whatever the number of keys linked
    assert len([q for q in queries if q.startswith("SELECT key, mode")]) == 3
    assert len(queries) == 3


def test_linked_many_refuses_a_pickled_link(tmp_path: Path) -> None:
    directory, marker = tmp_path / "state", tmp_path / "pwned"
    with StateStore(directory) as store:
        store.link("tr:case:1", "tf:case:2")
        _plant(
            directory, _json_key("link:tr:case:7"), 1, MODE_PICKLE, pickle.dumps(_Payload(marker))
        )
        with pytest.raises(StoreDamaged, match="a value is stored in pickle, not as JSON"):
            store.linked_many(["tr:case:1", "tr:case:7"])
    assert not marker.exists(), "the planted pickle ran"


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
    with pytest.raises(
        ConfigError, match=f"has schema {SCHEMA_VERSION + 1}, written by a newer railfiesta"
    ):
        StateStore(tmp_path / "state")


def test_link_many_writes_only_what_changed(tmp_path: Path) -> None:
    with StateStore(tmp_path / "state") as store:
        assert store.link_many([("tr:case:1", "tf:case:10"), ("tr:case:2", "tf:case:20")]) == 2
        assert store.link_many([("tr:case:1", "tf:case:10"), ("tr:case:2", "tf:case:21")]) == 1
        assert store.linked("tf:case:21") == "tr:case:2"
        assert store.linked("tr:case:2") == "tf:case:21"
        assert store.linked("tf:case:20") is None


def test_a_batch_lands_in_an_indexed_family_once_and_leaves_it_at_once(tmp_path: Path) -> None:
    with StateStore(tmp_path / "state") as store:
        store.put_in("journal", "op-0", {"state": "sent"})
        store.put_many_in("journal", [(f"op-{n}", {"n": n}) for n in range(1, 251)])
        store.put_many_in("journal", [("op-0", {"state": "confirmed"})])
        assert store.family("journal")[:3] == ["op-0", "op-1", "op-2"]
        assert len(store.family("journal")) == 251
        assert store.get_in("journal", "op-0") == {"state": "confirmed"}
        assert store.get_in("journal", "op-250") == {"n": 250}
        store.drop_many_from("journal", [f"op-{n}" for n in range(0, 250)] + ["op-unknown"])
        assert store.family("journal") == ["op-250"]
        assert store.get_in("journal", "op-7") is None
    with StateStore(tmp_path / "state") as store:
        assert store.family("journal") == ["op-250"]


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


# ---------------------------------------------------------------------------- no pickles


def _plant(directory: Path, key: bytes, raw: int, mode: int, value: bytes) -> None:
    """Insert one row into the store's database behind diskcache's back (an attacker with
    write access to the directory)."""
    con = sqlite3.connect(directory / "cache.db")
    con.execute(
        "INSERT INTO Cache (key, raw, store_time, expire_time, access_time, access_count,"
        " tag, size, mode, filename, value) VALUES (?, ?, 0, NULL, 0, 0, NULL, 0, ?, NULL, ?)",
        (key, raw, mode, value),
    )
    con.commit()
    con.close()


def _json_key(name: str) -> bytes:
    """A key as JSONDisk stores it (JSON, zlib level 1)."""
    return zlib.compress(json.dumps(name).encode(), 1)


class _Payload:
    """Unpickling this creates ``marker``: proof that a pickle ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.mkdir, (str(self.marker),))


def test_a_pickled_value_planted_in_the_store_is_never_unpickled(tmp_path: Path) -> None:
    directory, marker = tmp_path / "state", tmp_path / "pwned"
    with StateStore(directory) as store:
        store.set("cursor:1:testrail", {"updated_after": 1700000000})
        # planted while the store is open: the disk itself refuses it
        _plant(directory, _json_key("meta:evil"), 1, MODE_PICKLE, pickle.dumps(_Payload(marker)))
        with pytest.raises(StoreDamaged, match="a value is stored in pickle, not as JSON"):
            store.get("meta:evil")
    assert not marker.exists(), "the planted pickle ran"
    # and opening finds it before anything reads it
    with pytest.raises(StoreDamaged) as damaged:
        StateStore(directory)
    assert damaged.value.message == (
        f"state store at {directory} is damaged: 'meta:evil' is stored in pickle, not as JSON"
    )
    assert not marker.exists()


def test_a_pickled_key_planted_in_the_store_is_never_unpickled(tmp_path: Path) -> None:
    directory, marker = tmp_path / "state", tmp_path / "pwned"
    with StateStore(directory) as store:
        store.link("tr:case:1", "tf:case:2")
        _plant(directory, pickle.dumps(_Payload(marker)), 0, 1, zlib.compress(b"1"))
        with pytest.raises(StoreDamaged, match="a key is not stored as JSON"):
            list(store.links("tr:"))
    assert not marker.exists(), "the planted pickle ran"
    with pytest.raises(StoreDamaged, match="a key is not stored as JSON"):
        StateStore(directory)
    assert not marker.exists()


# ---------------------------------------------------------------------------- damage


def _filled(directory: Path) -> Path:
    with StateStore(directory) as store:
        for n in range(300):
            store.put_base(
                {
                    "kind": "case",
                    "testrail": f"tr:case:{n}",
                    "testfiesta": f"tf:case:{1000 + n}",
                    "values": {"title": f"Case number {n} " * 8},
                }
            )
    return directory / "cache.db"


HINT = (
    "restore a backup with `railfiesta state import BACKUP --force`, or move {dir} away to "
    "start over (links are found again by externalId)"
)


def test_a_truncated_store_is_reported_with_the_way_out_and_left_as_it_is(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "state"
    database = _filled(directory)
    size = database.stat().st_size
    with database.open("r+b") as handle:
        handle.truncate(size // 2)
    before = database.read_bytes()
    with pytest.raises(StoreDamaged) as damaged:
        StateStore(directory)
    assert damaged.value.message.startswith(f"state store at {directory} is damaged: ")
    assert "cache.db" in damaged.value.detail
    assert damaged.value.hint == HINT.format(dir=directory)
    assert database.read_bytes() == before, "never reset silently"


def test_a_store_truncated_to_nothing_is_reported(tmp_path: Path) -> None:
    directory = tmp_path / "state"
    database = _filled(directory)
    database.write_bytes(b"")
    with pytest.raises(StoreDamaged) as damaged:
        StateStore(directory)
    assert damaged.value.detail == f"{database} is empty (truncated)"
    assert database.stat().st_size == 0


def test_garbage_bytes_are_reported(tmp_path: Path) -> None:
    directory = tmp_path / "state"
    database = _filled(directory)
    database.write_bytes(os.urandom(8192))
    with pytest.raises(StoreDamaged) as damaged:
        StateStore(directory)
    assert damaged.value.detail == f"{database} is not an SQLite database"


def test_garbage_inside_the_database_pages_is_reported(tmp_path: Path) -> None:
    directory = tmp_path / "state"
    database = _filled(directory)
    data = bytearray(database.read_bytes())
    data[4096:12288] = os.urandom(8192)  # pages 2-3: the header still says SQLite
    database.write_bytes(bytes(data))
    with pytest.raises(StoreDamaged, match=r"is damaged: .*cache\.db"):
        StateStore(directory)


def test_a_value_that_is_not_json_is_reported_naming_its_key(tmp_path: Path) -> None:
    directory = tmp_path / "state"
    _filled(directory)
    _plant(directory, _json_key("cursor:1:testfiesta"), 1, 1, zlib.compress(b"{not json"))
    with pytest.raises(StoreDamaged) as damaged:
        StateStore(directory)
    assert damaged.value.detail.startswith("the value of 'cursor:1:testfiesta' is not JSON (")


def test_a_store_without_its_schema_version_is_reported(tmp_path: Path) -> None:
    directory = tmp_path / "state"
    _filled(directory)
    con = sqlite3.connect(directory / "cache.db")
    con.execute("DELETE FROM Cache WHERE key = ?", (_json_key("meta:schema"),))
    con.commit()
    con.close()
    with pytest.raises(StoreDamaged) as damaged:
        StateStore(directory)
    assert damaged.value.detail == f"{directory / 'cache.db'} has no schema version (meta:schema)"


# ---------------------------------------------------------------------------- schema


def test_a_schema_1_store_is_migrated_its_folder_and_run_bases_indexed(tmp_path: Path) -> None:
    """Schema 1 (before the per-pair index) listed folder and run bases by a scan; a store
    written then is opened with its index built, every other value kept."""
    directory = tmp_path / "state"
    folder = {"kind": "folder", "testrail": "tr:section:3", "testfiesta": "tf:folder:55"}
    run = {"kind": "run", "testrail": "tr:run:9", "testfiesta": "tf:run:77", "scope": "4"}
    case = {"kind": "case", "testrail": "tr:case:1", "testfiesta": "tf:case:2"}
    with StateStore(directory) as store:
        for base in (folder, run, case):
            store.set(f"base:{base['testrail']}", base)  # as schema 1 wrote them: no index
        store.set("meta:schema", 1)
        store.set("cursor:4:testrail", {"cases": 1700000000})
    assert MIGRATIONS.keys() == {1}
    with StateStore(directory) as store:
        assert store.schema == SCHEMA_VERSION == 2
        assert list(store.bases("folder", scope="0")) == [folder]
        assert list(store.bases("run", scope="4")) == [run]
        assert store.get("index:bases:0:folder") == ["tr:section:3"]
        assert store.get("index:bases:4:run") == ["tr:run:9"]
        assert store.get("cursor:4:testrail") == {"cases": 1700000000}
        assert store.base("tr:case:1") == case


# ---------------------------------------------------------------------------- export/import


def _sample(store: StateStore) -> None:
    store.put_base(
        {
            "kind": "case",
            "testrail": "tr:case:12",
            "testfiesta": "tf:case:1345",
            "values": {"title": "Log in – Grüße", "steps": [{"content": "Öffnen"}]},
            "unknown": [],
            "gone": None,
            "scope": "1",
        }
    )
    store.put_base({"kind": "folder", "testrail": "tr:section:3", "testfiesta": "tf:folder:55"})
    store.link("tr:suite:1", "tf:folder:50")
    store.set("cursor:1:testrail", {"cases": 1700000123, "results": {"9": 1700000001}})
    store.put_in("journal", "ab12", {"op": {"action": "create"}, "state": "sent", "at": 1.5})
    store.put_in(
        "conflict",
        "c0ffee123456",
        {"conflict": {"id": "c0ffee123456"}, "resolution": None, "since": 1700000000.25},
    )
    store.put_in("resolved", "1700000000000:0:c0ffee", {"resolution": {"winner": "testrail"}})
    store.set("meta:last_poll", 1700000999.5)


def test_export_then_import_gives_back_every_value_exactly(tmp_path: Path) -> None:
    with StateStore(tmp_path / "a") as store:
        _sample(store)
        backup = store.export()
    assert backup["format"] == "railfiesta-state" and backup["schema"] == SCHEMA_VERSION
    entries = backup["entries"]
    assert entries["link:tr:case:12"] == "tf:case:1345"
    assert entries["link:tf:case:1345"] == "tr:case:12"
    assert entries["base:tr:case:12"]["values"] == {
        "title": "Log in – Grüße",
        "steps": [{"content": "Öffnen"}],
    }
    assert entries["index:bases:0:folder"] == ["tr:section:3"]
    assert entries["journal:ab12"] == {"op": {"action": "create"}, "state": "sent", "at": 1.5}
    assert entries["index:journal"] == ["ab12"]
    assert entries["conflict:c0ffee123456"]["since"] == 1700000000.25
    assert entries["cursor:1:testrail"] == {"cases": 1700000123, "results": {"9": 1700000001}}
    assert "meta:schema" not in entries
    copied = json.loads(json.dumps(backup))  # through the file format
    with StateStore(tmp_path / "b") as store:
        assert store.load(copied) == len(entries)
        again = store.export()
        assert store.linked("tf:folder:50") == "tr:suite:1"
        assert store.family("journal") == ["ab12"]
        assert next(iter(store.bases("folder", scope="0")))["testfiesta"] == "tf:folder:55"
    assert again["entries"] == entries


def test_import_refuses_a_store_that_holds_anything_unless_replacing(tmp_path: Path) -> None:
    with StateStore(tmp_path / "a") as store:
        _sample(store)
        backup = store.export()
    with StateStore(tmp_path / "b") as store:
        store.link("tr:case:99", "tf:case:98")
        with pytest.raises(ConfigError, match="is not empty \\(2 entries\\)") as refused:
            store.load(backup)
        assert refused.value.hint == "pass --force to replace it (export it first to keep a copy)"
        assert store.linked("tr:case:99") == "tf:case:98"
        store.load(backup, replace=True)
        assert store.linked("tr:case:99") is None
        assert store.export()["entries"] == backup["entries"]


@pytest.mark.parametrize(
    ("backup", "message"),
    [
        ([], 'not a railfiesta state export (no "format": "railfiesta-state")'),
        ({"format": "railfiesta-state", "schema": "2"}, "its schema is '2'"),
        (
            {"format": "railfiesta-state", "schema": 99, "entries": {}},
            "the export has schema 99, written by a newer railfiesta",
        ),
        ({"format": "railfiesta-state", "schema": 1, "entries": []}, '"entries" is not'),
    ],
)
def test_what_is_not_an_export_is_refused(backup: object, message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        check_export(backup)
    assert message in refused.value.message


def test_an_older_export_is_migrated_on_import(tmp_path: Path) -> None:
    folder = {"kind": "folder", "testrail": "tr:section:3", "testfiesta": "tf:folder:55"}
    backup = {
        "format": "railfiesta-state",
        "schema": 1,
        "entries": {"base:tr:section:3": folder, "link:tr:section:3": "tf:folder:55"},
    }
    with StateStore(tmp_path / "s") as store:
        store.load(backup)
        assert store.schema == 2
        assert list(store.bases("folder", scope="0")) == [folder]


# ---------------------------------------------------------------------------- modes


def test_files_made_after_open_are_0600_too(tmp_path: Path) -> None:
    """SQLite makes ``cache.db-wal`` and ``-shm`` when it writes; with a umask of 022 they
    would be 0644 unless the database file is 0600 before SQLite first opens it."""
    directory = tmp_path / "state"
    previous = os.umask(0o022)
    try:
        with StateStore(directory) as store:
            for n in range(200):
                store.link(f"tr:case:{n}", f"tf:case:{n}")
            names = {p.name: stat.S_IMODE(p.stat().st_mode) for p in directory.iterdir()}
            assert {"cache.db", "cache.db-wal", "cache.db-shm"} <= set(names)
            assert names == dict.fromkeys(names, 0o600)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700


def test_an_export_leaves_out_the_signed_url_of_a_cut_upload(tmp_path: Path) -> None:
    """A crash between a file's PUT and its end leaves the signed URL in the store (the next
    run sends the same bytes there again); a backup never carries that write permission."""
    with StateStore(tmp_path) as store:
        cut = {
            "url": "https://files.example/acme/7",
            "done": False,
            "key": "uid-7",
            "signed": "https://storage.example/put/7?X-Amz-Signature=abc123",
            "headers": {"x-amz-meta-owner": "case-12"},
        }
        store.put_in("attachment-url:1", "7", cut)
        entries = store.export()["entries"]
        assert store.get_in("attachment-url:1", "7") == cut
    assert entries["attachment-url:1:7"] == {
        "url": "https://files.example/acme/7",
        "done": False,
        "key": "uid-7",
    }
    assert "X-Amz-Signature" not in json.dumps(entries)


# ---------------------------------------------------------------------------- creation


def test_a_store_cut_off_after_its_empty_file_is_made_again(tmp_path: Path) -> None:
    """A kill between the empty 0600 file and SQLite's first page leaves ``cache.db`` empty
    beside its creation marker: nothing was in it, so it is made again, not refused."""
    directory = tmp_path / "state"
    directory.mkdir()
    (directory / CREATING).write_bytes(b"")
    (directory / "cache.db").write_bytes(b"")
    with StateStore(directory) as store:
        assert store.schema == SCHEMA_VERSION
        store.set("cursor:1:testrail", {"updated_after": 1700000000})
    assert not (directory / CREATING).exists()
    with StateStore(directory) as store:
        assert store.get("cursor:1:testrail") == {"updated_after": 1700000000}


def test_a_store_killed_while_sqlite_made_its_tables_is_made_again(tmp_path: Path) -> None:
    """SIGKILL inside the creation (SQLite's header written, the state table not yet, as the
    crash bench once hit) and a second open gives a working store with its schema version."""
    directory = tmp_path / "state"
    child = (
        "import os, signal, sys\n"
        "import diskcache\n"
        "from core.store import StateStore\n"
        "real = diskcache.Cache.__init__\n"
        "def cut(self, directory, **settings):\n"
        "    import sqlite3\n"
        "    con = sqlite3.connect(os.path.join(directory, 'cache.db'))\n"
        "    con.execute('CREATE TABLE IF NOT EXISTS Settings (key TEXT NOT NULL UNIQUE, value)')\n"
        "    con.commit()\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "diskcache.Cache.__init__ = cut\n"
        f"StateStore({str(directory)!r})\n"
    )
    done = subprocess.run([sys.executable, "-c", child], env=dict(os.environ), check=False)
    assert done.returncode == -signal.SIGKILL
    assert (directory / CREATING).exists()
    with pytest.raises(StoreDamaged, match="holds no state store table"):
        check_database(directory)  # what an open without the marker would have said
    with StateStore(directory) as store:
        assert store.schema == SCHEMA_VERSION
    assert not (directory / CREATING).exists()
    assert stat.S_IMODE((directory / "cache.db").stat().st_mode) == 0o600


def test_a_store_being_made_by_another_process_is_waited_for_never_removed(
    tmp_path: Path,
) -> None:
    """A creation marker whose ``flock`` is held belongs to a creator at work: an open waits
    for it and keeps what it made (two commands started at once on a new directory)."""
    directory = tmp_path / "state"
    _filled(directory)
    marker = directory / CREATING
    held = os.open(marker, os.O_CREAT | os.O_WRONLY, 0o600)
    fcntl.flock(held, fcntl.LOCK_EX)
    opened: list[int] = []

    def open_and_count() -> None:
        with StateStore(directory) as store:
            opened.append(len(list(store.bases("case"))))

    waiter = threading.Thread(target=open_and_count)
    waiter.start()
    waiter.join(0.3)
    assert waiter.is_alive(), "an open does not go ahead while the creator holds the marker"
    marker.unlink()  # the creator finished: marker gone, then its lock let go
    os.close(held)
    waiter.join(10)
    assert opened == [300]
