"""The state store: links between the two sides, base values, cursors and the journal.

One diskcache directory per config (DESIGN §6), under the platform's user data directory unless
``--state`` names another. Opened with ``diskcache.JSONDisk``: the default disk unpickles values,
which lets anyone who can write the directory run code (CVE-2025-69872). The directory is created
0700 and its files are made 0600. Multi-key updates go through ``Cache.transact()``. No secret is
ever written here.

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
- ``meta:*`` -> small facts (``meta:last_poll``, ``meta:requests``).

Families that are listed keep an ``index:<family>`` value (a JSON list) updated in the same
transaction, so listing them never scans every key.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import diskcache
import platformdirs

from core.errors import ConfigError

SCHEMA_VERSION = 1
_LINK = "link:"
_BASE = "base:"
_INDEX = "index:"

#: Kinds whose every base is needed every cycle (their listings are always complete), so
#: their keys are indexed per pair: ``index:bases:<scope>:<kind>``.
LISTED_KINDS = frozenset({"folder", "run"})


def _listed_index(base: dict[str, Any]) -> str:
    return f"{_INDEX}bases:{base.get('scope', '0')}:{base['kind']}"


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
        self._cache = diskcache.Cache(
            str(self.directory),
            disk=diskcache.JSONDisk,
            disk_min_file_size=1 << 30,  # keep every value inside the 0600 database file
            eviction_policy="none",
            size_limit=1 << 40,
        )
        self._restrict_files()
        version = self._cache.get("meta:schema")
        if version is None:
            self._cache.set("meta:schema", SCHEMA_VERSION)
        elif int(version) > SCHEMA_VERSION:
            raise ConfigError(
                f"state in {self.directory} has schema {version}; this railfiesta reads "
                f"{SCHEMA_VERSION}",
                hint="upgrade railfiesta, or point --state at a fresh directory",
            )

    def _restrict_files(self) -> None:
        for path in self.directory.iterdir():
            if path.is_file():
                os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)

    def close(self) -> None:
        """Flush and close the database."""
        self._restrict_files()
        self._cache.close()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
