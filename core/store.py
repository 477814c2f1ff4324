"""The state store: links between the two sides, base values, cursors and the journal.

One diskcache directory per config (DESIGN §6), under the platform's user data directory unless
``--state`` names another. Opened with ``diskcache.JSONDisk``: the default disk unpickles values,
which lets anyone who can write the directory run code (CVE-2025-69872). The directory is created
0700 and its files are made 0600. Multi-key updates go through ``Cache.transact()``. No secret is
ever written here.

Keys (all strings, values JSON):

- ``link:<tr key>`` -> ``<tf key>`` and ``link:<tf key>`` -> ``<tr key>`` (both directions);
- ``meta:schema`` -> :data:`SCHEMA_VERSION`;
- further families (``base:``, ``cursor:``, ``journal:``, ``conflict:``) belong to the sync engine.
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

    # ------------------------------------------------------------------ generic values

    def get(self, key: str, default: Any = None) -> Any:
        """A stored JSON value (for the sync engine's families)."""
        return self._cache.get(key, default)

    def set(self, key: str, value: Any) -> None:
        """Store a JSON value."""
        self._cache.set(key, value)
