"""The state store: links between the two sides, base values, cursors and the journal.

One diskcache directory per config (DESIGN §6), under the platform's user data directory unless
``--state`` names another. Opened with :class:`JSONOnlyDisk`, a ``diskcache.JSONDisk`` that also
refuses the rows JSONDisk would still unpickle (a value in pickle mode, a key not stored raw):
the default disk unpickles values, which lets anyone who can write the directory run code
(CVE-2025-69872). The directory is created 0700 and its files are 0600 (the database file is
made 0600 before SQLite creates its ``-wal`` and ``-shm`` files, which take its mode).
Multi-key updates go through ``Cache.transact()``. No secret is ever written here.

Opening checks the store (:func:`check_database`): a database SQLite cannot read, a truncated
file, a row that is not JSON, or a store without its schema version raise
:class:`StoreDamaged`, naming the way out; a damaged store is never reset silently. A store of
a store whose creation was cut off (:data:`CREATING` beside it: a kill between the empty
file and its schema version) holds nothing yet and is made again. A store of
an older :data:`SCHEMA_VERSION` is brought up to date by :data:`MIGRATIONS` (one step per
version); one of a newer railfiesta is refused. :meth:`StateStore.export` and
:meth:`StateStore.load` copy every key to and from a JSON backup (``railfiesta state export`` /
``state import``).

Keys (all strings, values JSON):

- ``link:<tr key>`` -> ``<tf key>`` and ``link:<tf key>`` -> ``<tr key>`` (both directions);
- ``meta:schema`` -> :data:`SCHEMA_VERSION`;
- ``base:<tr key>`` -> the pair's base (:class:`core.engine.reconcile.Base` as a dict),
  committed together with its link;
- ``journal:<operation id>`` -> ``{"op": ..., "state": "planned"|"sent"|"confirmed",
  "result": ..., "at": UNIX seconds}``, with ``index:journal`` listing the ids;
- ``conflict:<id>`` -> ``{"conflict": ..., "resolution": None | {...}}``, with
  ``index:conflict`` listing the ids;
- ``resolved:<UNIX ms>:<id>`` -> one journaled resolution (who, when, which side, old and new
  values), with ``index:resolved``;
- ``cursor:<pair>:<side>`` -> the side's observation cursor for that pair;
- ``settled:<pair>`` -> UNIX seconds the engine's last pass over that pair ended (its writes
  are the bases: :func:`core.sync_state.settled_key`);
- ``meta:*`` -> small facts (``meta:last_poll``, ``meta:requests``);
- ``monitor:<name>`` -> what a running ``sync --watch`` publishes for consoles (a document
  and a bounded ring of log lines: :mod:`core.monitor`), ``control:<request>`` -> the UNIX
  time a console asked that watch for ``<request>`` (``sync_now``).

Families that are listed keep an ``index:<family>`` value (a JSON list) updated in the same
transaction, so listing them never scans every key; the bases of :data:`LISTED_KINDS` are
listed per pair in ``index:bases:<pair>:<kind>`` (schema 2).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import sqlite3
import stat
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping, Sequence
from pathlib import Path
from typing import Any

import diskcache
import platformdirs

from core.errors import ConfigError

#: The layout this railfiesta writes. 1: links, bases, journal, conflicts, cursors; 2: the
#: per-pair index of folder and run bases (``index:bases:<pair>:<kind>``).
SCHEMA_VERSION = 2
#: The database file diskcache keeps in the state directory.
DATABASE = "cache.db"
#: Present only while a new store is being created (from before :data:`DATABASE` exists until
#: its schema version is written): a store found beside it was cut off while it was made,
#: holds no state, and is made again instead of being reported damaged.
CREATING = "cache.db.creating"
#: What ``state export`` writes: ``{"format": EXPORT_FORMAT, "schema": N, "exported": UNIX
#: seconds, "entries": {key: value}}``.
EXPORT_FORMAT = "railfiesta-state"
_SQLITE_HEADER = b"SQLite format 3\x00"
_LINK = "link:"
_BASE = "base:"
_INDEX = "index:"

#: Keys :meth:`StateStore.linked_many` asks for in one SQL query (SQLite's default limit
#: of bound parameters is 32,766 since 3.32; older builds allow 999).
KEYS_PER_QUERY = 900

#: Kinds whose every base is needed every cycle (their listings are always complete), so
#: their keys are indexed per pair: ``index:bases:<scope>:<kind>``.
LISTED_KINDS = frozenset({"folder", "run", "shared_step"})


def _listed_index(base: dict[str, Any]) -> str:
    return f"{_INDEX}bases:{base.get('scope', '0')}:{base['kind']}"


class StoreDamaged(ConfigError):
    """The state store cannot be read as railfiesta wrote it: ``directory`` is the state
    directory, ``detail`` what is wrong. The hint names the ways out: restore a backup
    (``railfiesta state import BACKUP --force``) or move the directory away to start over
    (the next migrate or sync finds every record again by its externalId)."""

    def __init__(self, directory: Path, detail: str) -> None:
        self.directory = Path(directory)
        self.detail = detail
        super().__init__(
            f"state store at {directory} is damaged: {detail}",
            hint=(
                "restore a backup with `railfiesta state import BACKUP --force`, or move "
                f"{directory} away to start over (links are found again by externalId)"
            ),
        )


class JSONOnlyDisk(diskcache.JSONDisk):  # type: ignore[misc]
    """``diskcache.JSONDisk`` that reads nothing but what it writes: keys stored raw (JSON,
    zlib-compressed) and values in raw mode. JSONDisk's parent would unpickle a value row in
    pickle mode or a key not stored raw, so a planted row could run code when read; here it
    raises :class:`StoreDamaged` instead, as does a row that is not compressed JSON."""

    def _damaged(self, detail: str) -> StoreDamaged:
        return StoreDamaged(Path(self._directory), detail)

    def get(self, key: Any, raw: bool) -> Any:
        if not raw:
            raise self._damaged("a key is not stored as JSON (pickled?)")
        try:
            return super().get(key, raw)
        except (zlib.error, ValueError, TypeError) as exc:
            raise self._damaged(f"a key is not JSON ({exc})") from None

    def fetch(self, mode: int, filename: Any, value: Any, read: bool) -> Any:
        if mode != diskcache.core.MODE_RAW or read:
            kind = "pickle" if mode == diskcache.core.MODE_PICKLE else f"mode {mode}"
            raise self._damaged(f"a value is stored in {kind}, not as JSON")
        try:
            return super().fetch(mode, filename, value, read)
        except (zlib.error, ValueError, TypeError) as exc:
            raise self._damaged(f"a value is not JSON ({exc})") from None


def check_database(directory: Path) -> None:
    """Raise :class:`StoreDamaged` unless ``directory/cache.db`` is missing (a new store) or a
    database SQLite reads whole (``PRAGMA quick_check``) whose every row is JSON as
    :class:`JSONOnlyDisk` writes it (keys raw, values in raw mode, zlib-compressed JSON), with
    ``meta:schema`` among them when it holds any row. Reads and decodes every row once,
    so opening costs time in proportion to the store's size."""
    path = Path(directory) / DATABASE
    if not path.exists():
        return
    with path.open("rb") as head:
        header = head.read(len(_SQLITE_HEADER))
    if not header:
        raise StoreDamaged(directory, f"{path} is empty (truncated)")
    if header != _SQLITE_HEADER:
        raise StoreDamaged(directory, f"{path} is not an SQLite database")
    try:
        con = sqlite3.connect(path)
    except sqlite3.Error as exc:
        raise StoreDamaged(directory, f"{path} cannot be opened ({exc})") from None
    try:
        verdict = [str(row[0]) for row in con.execute("PRAGMA quick_check")]
        if verdict != ["ok"]:
            raise StoreDamaged(directory, f"{path} fails SQLite's check: {verdict[0]}")
        tables = {row[0] for row in con.execute("SELECT name FROM sqlite_master")}
        if "Cache" not in tables:
            raise StoreDamaged(directory, f"{path} holds no state store table")
        schema = False
        count = 0
        for key, raw, mode, value in con.execute("SELECT key, raw, mode, value FROM Cache"):
            count += 1
            name = _row_key(directory, key, raw)
            if mode != diskcache.core.MODE_RAW or not isinstance(value, bytes):
                kind = "pickle" if mode == diskcache.core.MODE_PICKLE else f"mode {mode}"
                raise StoreDamaged(directory, f"{name!r} is stored in {kind}, not as JSON")
            try:
                json.loads(zlib.decompress(value).decode("utf-8"))
            except (zlib.error, ValueError) as exc:
                raise StoreDamaged(
                    directory, f"the value of {name!r} is not JSON ({exc})"
                ) from None
            schema = schema or name == _SCHEMA_KEY
        if count and not schema:
            raise StoreDamaged(directory, f"{path} has no schema version ({_SCHEMA_KEY})")
    except sqlite3.DatabaseError as exc:
        raise StoreDamaged(directory, f"{path} cannot be read ({exc})") from None
    finally:
        con.close()


def _undo_cut_off_creation(directory: Path) -> None:
    """Remove the database of a store whose creation was cut off: :data:`CREATING` is still
    there and nobody holds its ``flock`` (a creator at work holds it until the schema version
    is written, so this waits for one that is running, however briefly, then finds the marker
    gone). Such a database holds no state: at most the schema version."""
    creating = directory / CREATING
    try:
        marker = os.open(creating, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return
    try:
        fcntl.flock(marker, fcntl.LOCK_EX)
        try:
            cut_off = os.stat(creating).st_ino == os.fstat(marker).st_ino
        except FileNotFoundError:
            cut_off = False  # its creator finished while this waited
        if cut_off:
            for name in (DATABASE, f"{DATABASE}-wal", f"{DATABASE}-shm"):
                (directory / name).unlink(missing_ok=True)
            creating.unlink(missing_ok=True)
    finally:
        os.close(marker)


def _row_key(directory: Path, key: Any, raw: Any) -> str:
    if raw != 1 or not isinstance(key, bytes):
        raise StoreDamaged(directory, "a key is not stored as JSON (pickled?)")
    try:
        return str(json.loads(zlib.decompress(key).decode("utf-8")))
    except (zlib.error, ValueError) as exc:
        raise StoreDamaged(directory, f"a key is not JSON ({exc})") from None


_SCHEMA_KEY = "meta:schema"


def _index_listed_bases(cache: Any) -> None:
    """Schema 1 -> 2: build ``index:bases:<pair>:<kind>`` from every base of
    :data:`LISTED_KINDS` (a store written before the index listed no folder or run base)."""
    indexes: dict[str, list[str]] = {}
    for raw in list(cache.iterkeys()):
        if isinstance(raw, str) and raw.startswith(_BASE):
            value = cache.get(raw)
            if isinstance(value, dict) and value.get("kind") in LISTED_KINDS:
                indexes.setdefault(_listed_index(value), []).append(raw[len(_BASE) :])
    for raw in list(cache.iterkeys()):
        if isinstance(raw, str) and raw.startswith(f"{_INDEX}bases:"):
            cache.delete(raw)
    for index, keys in indexes.items():
        cache.set(index, keys)


#: Migration steps: ``MIGRATIONS[n]`` turns a schema-``n`` store (a ``diskcache.Cache``) into
#: schema ``n + 1``, inside one transaction that also records the new version.
MIGRATIONS: Mapping[int, Callable[[Any], None]] = {1: _index_listed_bases}


def check_export(backup: Any) -> int:
    """The schema version of a ``state export`` document; :class:`ConfigError` (naming what
    is wrong) when it is not one, or one of a newer railfiesta."""
    what = "not a railfiesta state export"
    if not isinstance(backup, Mapping) or backup.get("format") != EXPORT_FORMAT:
        raise ConfigError(f'{what} (no "format": "{EXPORT_FORMAT}")')
    version = backup.get("schema")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ConfigError(f"{what} (its schema is {version!r})")
    if version > SCHEMA_VERSION:
        raise ConfigError(
            f"the export has schema {version}, written by a newer railfiesta; this one "
            f"reads schema {SCHEMA_VERSION} and older",
            hint="import it with the railfiesta that exported it, or upgrade",
        )
    entries = backup.get("entries")
    if not isinstance(entries, Mapping) or not all(isinstance(k, str) for k in entries):
        raise ConfigError(f'{what} ("entries" is not an object of keys)')
    if _SCHEMA_KEY in entries:
        raise ConfigError(f'{what} ("entries" holds {_SCHEMA_KEY})')
    return version


def set_aside(directory: Path) -> list[Path]:
    """Rename a damaged store's database files (``cache.db``, ``-wal``, ``-shm``) to
    ``<name>.damaged-<UNIX seconds>`` so a new store can start there; returns the new paths."""
    stamp = int(time.time())
    moved = []
    for name in (DATABASE, f"{DATABASE}-wal", f"{DATABASE}-shm"):
        path = Path(directory) / name
        if path.exists():
            target = path.with_name(f"{name}.damaged-{stamp}")
            path.rename(target)
            moved.append(target)
    return moved


def default_state_dir(config_path: Path) -> Path:
    """``<user data dir>/railfiesta/state/<first 16 hex of sha256(abs config path)>``."""
    digest = hashlib.sha256(str(config_path.resolve()).encode()).hexdigest()[:16]
    return Path(platformdirs.user_data_dir("railfiesta")) / "state" / digest


class StateStore:
    """Links and sync state for one config, persisted in ``directory``.

    Raises :class:`ConfigError` when the directory holds a newer schema than this version reads.
    Use as a context manager or call :meth:`close`.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.directory, 0o700)
        database = self.directory / DATABASE
        creating = self.directory / CREATING
        _undo_cut_off_creation(self.directory)
        check_database(self.directory)
        marker: int | None = None
        if not database.exists():
            marker = os.open(creating, os.O_CREAT | os.O_WRONLY | os.O_NOFOLLOW, 0o600)
            fcntl.flock(marker, fcntl.LOCK_EX)  # held until the schema version is written
            # 0600 before SQLite opens it: its -wal and -shm files take the database's mode
            os.close(os.open(database, os.O_CREAT | os.O_WRONLY | os.O_NOFOLLOW, 0o600))
        try:
            self._open(database)
            if marker is not None:  # made: gone before its lock is let go
                creating.unlink(missing_ok=True)
        finally:
            if marker is not None:
                os.close(marker)

    def _open(self, database: Path) -> None:
        self._restrict_files()
        try:
            self._cache = diskcache.Cache(
                str(self.directory),
                disk=JSONOnlyDisk,
                disk_min_file_size=1 << 30,  # keep every value inside the 0600 database file
                eviction_policy="none",
                size_limit=1 << 40,
                # SQLite's page cache (per connection) 4 MB, not diskcache's 32 MB, and no
                # memory-mapped reads (mapped pages count in the process's RSS): a migration of
                # 100,000 cases writes a base each, and a bigger cache adds nothing but memory
                sqlite_cache_size=1 << 10,
                sqlite_mmap_size=0,
            )
        except sqlite3.DatabaseError as exc:
            raise StoreDamaged(self.directory, f"{database} cannot be opened ({exc})") from None
        self._restrict_files()
        try:
            self._upgrade()
        except BaseException:
            self._cache.close()
            raise

    def _upgrade(self) -> None:
        """Write the schema version of a new store, run :data:`MIGRATIONS` on an older one,
        refuse a newer one (:class:`ConfigError`)."""
        version = self._cache.get(_SCHEMA_KEY)
        if version is None:
            self._cache.set(_SCHEMA_KEY, SCHEMA_VERSION)
            return
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise StoreDamaged(self.directory, f"its schema version is {version!r}")
        if version > SCHEMA_VERSION:
            raise ConfigError(
                f"state in {self.directory} has schema {version}, written by a newer "
                f"railfiesta; this one reads schema {SCHEMA_VERSION} and older",
                hint="upgrade railfiesta, or point --state at another directory",
            )
        while version < SCHEMA_VERSION:
            with self._cache.transact():
                MIGRATIONS[version](self._cache)
                version += 1
                self._cache.set(_SCHEMA_KEY, version)

    def _restrict_files(self) -> None:
        for path in self.directory.iterdir():
            if path.is_file() and not path.is_symlink():
                os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)

    @property
    def schema(self) -> int:
        """The schema version of the open store (:data:`SCHEMA_VERSION` once opened)."""
        return int(self._cache.get(_SCHEMA_KEY))

    def close(self) -> None:
        """Flush and close the database."""
        self._restrict_files()
        self._cache.close()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ backups

    def keys(self) -> list[str]:
        """Every key, sorted."""
        return sorted(str(k) for k in self._cache.iterkeys())

    def is_empty(self) -> bool:
        """Whether the store holds nothing but its schema version."""
        return all(k == _SCHEMA_KEY for k in self._cache.iterkeys())

    def export(self) -> dict[str, Any]:
        """Every key and value, read in one transaction (a consistent copy while a sync
        writes): ``{"format": EXPORT_FORMAT, "schema": SCHEMA_VERSION, "exported": UNIX
        seconds, "entries": {key: value}}``. The store holds no credential, so neither does
        this; the one short-lived permission it may hold, the signed URL of a file upload cut
        by a crash (``attachment-url:<pair>:<id>`` values ``signed`` and ``headers``, kept
        until the next run finishes that upload), is left out: a restored store uploads such a
        file anew and warns that TestFiesta may hold it twice."""
        with self._cache.transact():
            entries = {key: self._cache.get(key) for key in self.keys() if key != _SCHEMA_KEY}
        for key, value in entries.items():
            if key.startswith(ATTACHMENT_URLS) and isinstance(value, dict):
                entries[key] = {k: v for k, v in value.items() if k not in ("signed", "headers")}
        return {
            "format": EXPORT_FORMAT,
            "schema": self.schema,
            "exported": int(time.time()),
            "entries": entries,
        }

    def load(self, backup: Mapping[str, Any], *, replace: bool = False) -> int:
        """Replace everything with the entries of ``backup`` (what :meth:`export` returned,
        checked by :func:`check_export`), in one transaction, then bring an older backup's
        layout up to date with :data:`MIGRATIONS`. Returns the entries loaded.

        Raises :class:`ConfigError` when the store holds anything and ``replace`` is False.
        """
        version = check_export(backup)
        if not replace and not self.is_empty():
            raise ConfigError(
                f"state in {self.directory} is not empty ({len(self.keys()) - 1} entries)",
                hint="pass --force to replace it (export it first to keep a copy)",
            )
        entries = backup["entries"]
        with self._cache.transact():
            self._cache.clear()
            for key, value in entries.items():
                self._cache.set(key, value)
            self._cache.set(_SCHEMA_KEY, version)
        self._upgrade()
        self._restrict_files()
        return len(entries)

    # ------------------------------------------------------------------ links

    def link(self, testrail_key: str, testfiesta_key: str) -> None:
        """Pair ``tr:<kind>:<id>`` with ``tf:<kind>:<uid>``, both directions in one transaction."""
        with self._cache.transact():
            self._cache.set(_LINK + testrail_key, testfiesta_key)
            self._cache.set(_LINK + testfiesta_key, testrail_key)

    def link_many(self, pairs: Iterable[tuple[str, str]]) -> int:
        """Pair many (TestRail key, TestFiesta key) in one transaction; pairs already stored
        are left alone. Returns how many were new or changed."""
        changed = 0
        with self._cache.transact():
            for testrail_key, testfiesta_key in pairs:
                before = self._cache.get(_LINK + testrail_key)
                if before == testfiesta_key:
                    continue
                if before is not None:
                    self._cache.delete(_LINK + str(before))
                self._cache.set(_LINK + testrail_key, testfiesta_key)
                self._cache.set(_LINK + testfiesta_key, testrail_key)
                changed += 1
        return changed

    def linked(self, key: str) -> str | None:
        """The other side's key for ``key`` (either side's), or None when not linked."""
        value = self._cache.get(_LINK + key)
        return str(value) if value is not None else None

    def linked_many(self, keys: Iterable[str]) -> dict[str, str]:
        """:meth:`linked` of many keys in one SQL query per :data:`KEYS_PER_QUERY` keys, not
        one per key (the ~500 cases of a section opened in the console): ``{key: other
        side's key}``, with only the linked keys. Reads diskcache's table the way
        ``Cache.get`` does (same key encoding, the value decoded by :class:`JSONOnlyDisk`,
        expired rows skipped); raises :class:`StoreDamaged` on a row it would refuse."""
        wanted = list(dict.fromkeys(keys))
        disk = self._cache.disk
        by_row: dict[bytes, str] = {}
        for key in wanted:
            row_key, _raw = disk.put(_LINK + key)
            by_row[row_key] = key
        found: dict[str, str] = {}
        rows = list(by_row)
        for start in range(0, len(rows), KEYS_PER_QUERY):
            chunk = rows[start : start + KEYS_PER_QUERY]
            marks = ", ".join("?" * len(chunk))
            select = (
                "SELECT key, mode, filename, value FROM Cache WHERE raw = 1"
                f" AND key IN ({marks}) AND (expire_time IS NULL OR expire_time > ?)"
            )
            # diskcache's own connection (thread-local, as Cache.get uses it): it has no
            # public call that reads many keys at once
            for row_key, mode, filename, value in self._cache._sql(
                select, (*chunk, time.time())
            ).fetchall():
                other = disk.fetch(mode, filename, value, False)
                if other is not None:
                    found[by_row[row_key]] = str(other)
        return found

    def unlink(self, key: str) -> None:
        """Forget the pair that ``key`` belongs to (both directions)."""
        with self._cache.transact():
            other = self._cache.get(_LINK + key)
            self._cache.delete(_LINK + key)
            if other is not None:
                self._cache.delete(_LINK + str(other))

    def links(self, prefix: str = "tr:") -> Iterator[tuple[str, str]]:
        """Every pair as (key with ``prefix``, other key); ``prefix="tr:case:"`` narrows it."""
        for raw in self._cache.iterkeys():
            if isinstance(raw, str) and raw.startswith(_LINK + prefix):
                other = self._cache.get(raw)
                if other is not None:
                    yield raw[len(_LINK) :], str(other)

    def transact(self) -> Any:
        """A context manager: every store call inside commits together or not at all."""
        return self._cache.transact()

    # ------------------------------------------------------------------ bases

    def base(self, testrail_key: str) -> dict[str, Any] | None:
        """The base stored for the pair of ``testrail_key``, or None."""
        value = self._cache.get(_BASE + testrail_key)
        return dict(value) if value is not None else None

    def base_of(self, key: str) -> dict[str, Any] | None:
        """The base of the pair ``key`` (either side's key) belongs to, or None."""
        if key.startswith("tf:"):
            other = self.linked(key)
            return self.base(other) if other else None
        return self.base(key)

    def put_base(self, base: dict[str, Any]) -> None:
        """Store a pair's base and its link (both directions) in one transaction; a stale
        reverse link of either key is dropped."""
        testrail_key, testfiesta_key = str(base["testrail"]), str(base["testfiesta"])
        with self._cache.transact():
            before = self._cache.get(_LINK + testrail_key)
            if before is not None and before != testfiesta_key:
                self._cache.delete(_LINK + str(before))
            self._cache.set(_LINK + testrail_key, testfiesta_key)
            self._cache.set(_LINK + testfiesta_key, testrail_key)
            if base.get("kind") in LISTED_KINDS and self._cache.get(_BASE + testrail_key) is None:
                index = _listed_index(base)
                keys = list(self._cache.get(index) or [])
                keys.append(testrail_key)
                self._cache.set(index, keys)
            self._cache.set(_BASE + testrail_key, base)

    def drop_base(self, testrail_key: str) -> None:
        """Forget a pair: its base and both directions of its link."""
        with self._cache.transact():
            before = self._cache.get(_BASE + testrail_key)
            if before is not None and before.get("kind") in LISTED_KINDS:
                index = _listed_index(before)
                keys = [k for k in self._cache.get(index) or [] if k != testrail_key]
                self._cache.set(index, keys)
            self._cache.delete(_BASE + testrail_key)
            self.unlink(testrail_key)

    def bases(
        self, kind: str | None = None, *, scope: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every stored base (of ``kind`` and of pair ``scope`` only, when given). The kinds
        of :data:`LISTED_KINDS` come from their index; the others need a scan of every key
        (a full read, once a day by default)."""
        if kind in LISTED_KINDS and scope is not None:
            index = _listed_index({"kind": kind, "scope": scope})
            for key in self._cache.get(index) or []:
                value = self._cache.get(_BASE + str(key))
                if value is not None:
                    yield dict(value)
            return
        for raw in self._cache.iterkeys():
            if isinstance(raw, str) and raw.startswith(_BASE):
                value = self._cache.get(raw)
                if value is None or (kind is not None and value.get("kind") != kind):
                    continue
                if scope is None or value.get("scope", "0") == scope:
                    yield dict(value)

    # ------------------------------------------------------------------ indexed families

    def family(self, name: str) -> list[str]:
        """The ids listed in ``index:<name>``, oldest first."""
        return [str(i) for i in self._cache.get(_INDEX + name) or []]

    def put_in(self, name: str, item_id: str, value: Any) -> None:
        """Store ``value`` as ``<name>:<item_id>`` and list the id in ``index:<name>``."""
        with self._cache.transact():
            ids = list(self._cache.get(_INDEX + name) or [])
            if item_id not in ids:
                ids.append(item_id)
                self._cache.set(_INDEX + name, ids)
            self._cache.set(f"{name}:{item_id}", value)

    def put_many_in(self, name: str, items: Sequence[tuple[str, Any]]) -> None:
        """:meth:`put_in` for each ``(item_id, value)`` of ``items``, in one transaction that
        reads and writes ``index:<name>`` once (a batch of n costs O(n), not O(n²))."""
        if not items:
            return
        with self._cache.transact():
            ids = list(self._cache.get(_INDEX + name) or [])
            known = set(ids)
            for item_id, value in items:
                if item_id not in known:
                    known.add(item_id)
                    ids.append(item_id)
                self._cache.set(f"{name}:{item_id}", value)
            self._cache.set(_INDEX + name, ids)

    def drop_many_from(self, name: str, item_ids: Iterable[str]) -> None:
        """:meth:`drop_from` for each of ``item_ids``, in one transaction that reads and writes
        ``index:<name>`` once."""
        gone = set(item_ids)
        if not gone:
            return
        with self._cache.transact():
            ids = list(self._cache.get(_INDEX + name) or [])
            kept = [i for i in ids if i not in gone]
            if len(kept) != len(ids):
                self._cache.set(_INDEX + name, kept)
            for item_id in gone:
                self._cache.delete(f"{name}:{item_id}")

    def get_in(self, name: str, item_id: str) -> Any:
        """The value of ``<name>:<item_id>``, or None."""
        return self._cache.get(f"{name}:{item_id}")

    def drop_from(self, name: str, item_id: str) -> None:
        """Delete ``<name>:<item_id>`` and its index entry."""
        with self._cache.transact():
            ids = list(self._cache.get(_INDEX + name) or [])
            if item_id in ids:
                ids.remove(item_id)
                self._cache.set(_INDEX + name, ids)
            self._cache.delete(f"{name}:{item_id}")

    # ------------------------------------------------------------------ generic values

    def get(self, key: str, default: Any = None) -> Any:
        """A stored JSON value (for the sync engine's families)."""
        return self._cache.get(key, default)

    def set(self, key: str, value: Any) -> None:
        """Store a JSON value."""
        self._cache.set(key, value)

    def pairs(self) -> list[str]:
        """The pairs (TestRail project ids, as text) a migration or sync has run for
        (``meta:pairs``), sorted."""
        return [str(k) for k in self._cache.get("meta:pairs") or []]

    def note_pairs(self, pairs: Iterable[str]) -> None:
        """Add ``pairs`` to :meth:`pairs`."""
        with self._cache.transact():
            self._cache.set("meta:pairs", sorted({*self.pairs(), *pairs}))

    def delete(self, key: str) -> None:
        """Remove a value stored by :meth:`set` (nothing happens when there is none)."""
        self._cache.delete(key)

    # ------------------------------------------------------------------ monitor and control

    def publish(
        self,
        key: str,
        document: Any,
        *,
        log_key: str,
        lines: list[Any],
        keep: int,
    ) -> None:
        """Store ``document`` under ``key`` and append ``lines`` to the ring under ``log_key``
        (its last ``keep`` items stay), in one transaction (:mod:`core.monitor`)."""
        with self._cache.transact():
            self._cache.set(key, document)
            if lines:
                ring = list(self._cache.get(log_key) or [])
                ring.extend(lines)
                self._cache.set(log_key, ring[-keep:])

    def request(self, name: str, at: float) -> None:
        """Ask the process that watches this directory for ``name`` (``control:<name>``;
        ``at``: UNIX seconds of the request)."""
        self._cache.set(f"control:{name}", at)

    def take_request(self, name: str) -> float | None:
        """The UNIX time ``name`` was asked for, removing the request (None: not asked)."""
        with self._cache.transact():
            at = self._cache.get(f"control:{name}")
            if at is not None:
                self._cache.delete(f"control:{name}")
        return None if at is None else float(at)


#: The family prefix of the copies of TestRail attachments (``attachment-url:<pair>``).
ATTACHMENT_URLS = "attachment-url:"


class StoredFamily(MutableMapping[str, Any]):
    """One indexed family of ``store`` (:meth:`StateStore.put_in`) as a mapping: each
    assignment is written at once, so what it holds survives a crash (the copies of
    TestRail attachments, ``attachment-url:<pair>``: id -> ``{url, done, key}``)."""

    def __init__(self, store: StateStore, name: str) -> None:
        self.store = store
        self.name = name

    def __getitem__(self, item: str) -> Any:
        value = self.store.get_in(self.name, item)
        if value is None:
            raise KeyError(item)
        return value

    def __setitem__(self, item: str, value: Any) -> None:
        self.store.put_in(self.name, item, value)

    def __delitem__(self, item: str) -> None:
        if self.store.get_in(self.name, item) is None:
            raise KeyError(item)
        self.store.drop_from(self.name, item)

    def __iter__(self) -> Iterator[str]:
        return iter(self.store.family(self.name))

    def __len__(self) -> int:
        return len(self.store.family(self.name))
