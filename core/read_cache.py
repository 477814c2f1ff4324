"""The read cache of the console's panes (DESIGN §6): the last tree each server gave.

A diskcache directory ``<state dir>/reads`` (0700, files 0600, ``diskcache.JSONDisk``: the
default disk unpickles, CVE-2025-69872), apart from the sync state so dropping it loses
nothing but speed. Values are JSON: ``{"at": UNIX seconds, "value": ...}``.

How it is used (:class:`core.service.Service`): every successful pane read from a server
replaces its entry; the console paints the cached copy first (it opens at once on a second
start, however big the project) and then reads the server again, so a cached copy never stays
on screen longer than one read; when the server cannot be reached, the copy stays and the
pane says how old it is (read-only). Entries older than ``max_age`` seconds are not used.
No secret is written here: keys name servers by URL and records by id.
"""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path
from typing import Any

import diskcache

#: Seconds after which a cached read is no longer shown (a week).
MAX_AGE = 7 * 24 * 3600.0


class ReadCache:
    """Cached server reads in ``directory``; ``max_age`` in seconds (see module docstring)."""

    def __init__(self, directory: Path, *, max_age: float = MAX_AGE) -> None:
        self.directory = Path(directory)
        self.max_age = max_age
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.directory, 0o700)
        self._cache = diskcache.Cache(
            str(self.directory),
            disk=diskcache.JSONDisk,
            disk_min_file_size=1 << 30,  # every value inside the 0600 database file
            size_limit=1 << 30,
        )
        self._restrict_files()

    def _restrict_files(self) -> None:
        for path in self.directory.iterdir():
            if path.is_file():
                os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)

    def get(self, key: str) -> tuple[Any, float] | None:
        """``(value, stored at UNIX seconds)`` for ``key``, or None when missing or older
        than ``max_age``."""
        entry = self._cache.get(key)
        if not isinstance(entry, dict) or "at" not in entry:
            return None
        at = float(entry["at"])
        if time.time() - at > self.max_age:
            return None
        return entry.get("value"), at

    def put(self, key: str, value: Any) -> None:
        """Store ``value`` (JSON-ready) for ``key``, stamped now."""
        self._cache.set(key, {"at": time.time(), "value": value})

    def drop(self, key: str) -> None:
        """Forget ``key`` (nothing happens when it is missing)."""
        self._cache.delete(key)

    def close(self) -> None:
        """Flush and close the database."""
        self._restrict_files()
        self._cache.close()
