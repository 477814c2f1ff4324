"""Writing values back into the TOML config without disturbing anything else (DESIGN §11).

The console's ``s`` key (sync on/off) and the mapping editor change one value at a time. Every
edit goes through tomlkit, so comments, blank lines, key order, quoting and every byte not part
of the edited value stay exactly as they were:

* an existing key keeps its line: only the value token changes, the inline comment after it is
  kept and stays in its column while there is room (one space at least); an edited last line
  gets the final newline the file lacked;
* a missing key is added after the last key of its table;
* a missing table is added at the end of the file, after a blank line, as ``[a.b]``;
* the file's line endings (all CRLF stays CRLF), a UTF-8 byte-order mark and its permission bits
  are kept; it is replaced atomically (a temporary file in the same folder, then
  :func:`os.replace`), so a crash leaves either the old or the new file, never half of one.

After writing, the file is read back with :func:`core.config.load_config`; if the edit made it
invalid (``conflict_policy = "bogus"``, an unknown key) the original bytes are put back and the
:class:`~core.errors.ConfigError` is raised again, so nothing is lost.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import stat
import tempfile
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import ParseError
from tomlkit.items import AoT, InlineTable, Item, String, StringType, Table
from tomlkit.toml_document import TOMLDocument

from core.config import load_config
from core.errors import ConfigError

__all__ = ["remove_value", "set_sync_enabled", "set_value"]

#: What :func:`set_value` writes: TOML's string, integer, boolean and float.
Value = str | int | bool | float

_BOM = "\ufeff"
_TOMLLIB_WHERE = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_TOMLLIB_END = re.compile(r"\s*\(at end of document\)\s*$")
_TOMLKIT_WHERE = re.compile(r"\s*at line \d+ col \d+\s*$")
_LONE_LF = re.compile(r"(?<!\r)\n")
_SYNTAX_HINT = "an unclosed quote or bracket, or a missing '=', is the usual cause"

# What a key can be set in: a [table] (or the super table of [a.b]) or an inline table.
_Table = Table | InlineTable


def set_value(path: Path, table: str, key: str, value: Value) -> None:
    """Set ``key`` in ``[table]`` of the TOML file at ``path`` to ``value``.

    ``table`` is a dotted table name (``"sync"``, ``"mapping.status"``: dots always separate
    parts, written without TOML quotes), ``key`` a single key name (quoted in the file
    when TOML needs it, ``"1 - High Priority"``), ``value`` a ``str``, ``int``, ``bool`` or
    ``float``. When the key exists only its value token changes (a literal ``'string'`` stays
    literal when it can); a missing key is added to its table, a missing table at the end of the
    file. Setting the value the file already holds writes nothing.

    Raises :class:`~core.errors.ConfigError` when the file cannot be read or written (naming the
    path and the fix), is not valid TOML (naming the file, line and column), when ``table`` runs
    into something that is not a plain table (``[[pair]]``, a value), or when the edited file no
    longer passes :func:`core.config.load_config` (the original bytes are restored first).
    Raises :class:`TypeError` for a value of another type and :class:`ValueError` for an empty
    table or key name.
    """
    _check_value(value)
    parts = _table_parts(table)
    _check_key(key)
    target = _real(path)
    original = _read(target)
    text, bom, crlf = _decode(target, original)
    doc = _parse(target, text)

    tables, missing = _walk(target, doc, parts)
    if missing and not (tables and isinstance(tables[0], InlineTable)):
        # a new [a.b] at the end of the file (an inline table gets nested inline tables)
        rendered = _append_table(doc.as_string(), parts, key, value)
    else:
        holder = _holding(tables, key)
        if holder is not None:
            old = holder.item(key)
            if not isinstance(old, Item) or isinstance(old, Table | AoT | InlineTable):
                raise ConfigError(
                    f"[{table}] {key} is a table, not a value: set_value changes values only",
                    path=str(target),
                    hint="edit that part of the file by hand",
                )
            if _same(old.unwrap(), value):
                return  # already so: leave the file (and its modification time) alone
            holder[key] = _replacement(old, value)
        else:
            _add(tables, missing, key, value)
        rendered = _end_last_line(text, doc.as_string())

    _check_result(target, rendered, parts, key, value)
    _commit(target, original, _encode(rendered, bom, crlf))


def remove_value(path: Path, table: str, key: str) -> bool:
    """Remove ``key`` (its whole line, inline comment included) from ``[table]`` in ``path``.

    ``table`` and ``key`` are named as for :func:`set_value`. Returns True when the key was
    there and is gone, False when the table or the key is missing (the file is not touched).
    The table itself stays, even when it is left empty.

    Raises :class:`~core.errors.ConfigError` like :func:`set_value`: unreadable or unwritable
    file, invalid TOML, ``table`` not a plain table, or a file that no longer passes
    :func:`core.config.load_config` without the key (a required key such as
    ``[testrail] url``); the original bytes are restored before raising.
    """
    parts = _table_parts(table)
    _check_key(key)
    target = _real(path)
    original = _read(target)
    text, bom, crlf = _decode(target, original)
    doc = _parse(target, text)
    tables, missing = _walk(target, doc, parts)
    holder = _holding(tables, key) if not missing else None
    if holder is None:
        return False
    del holder[key]
    rendered = doc.as_string()
    _check_result(target, rendered, parts, key, _ABSENT)
    _commit(target, original, _encode(rendered, bom, crlf))
    return True


def apply_edits(path: Path, edits: Sequence[tuple[str, str, Value | None]]) -> None:
    """Make every edit ``(table, key, value)`` to the TOML file at ``path``, all or none:
    a ``value`` of None removes the key (:func:`remove_value`), any other sets it
    (:func:`set_value`), each a byte-exact tomlkit edit.

    Raises :class:`~core.errors.ConfigError` as those do; the file then holds its original
    bytes again (the message says nothing was saved), however many edits had been made.
    """
    if not edits:
        return
    target = _real(path)
    original = _read(target)
    try:
        for table, key, value in edits:
            if value is None:
                remove_value(target, table, key)
            else:
                set_value(target, table, key, value)
    except ConfigError as refused:
        _write_atomic(target, original)
        raise ConfigError(
            f"nothing was saved: [{table}] {key}: {refused.message}",
            path=str(target),
            hint=refused.hint,
        ) from refused


def set_sync_enabled(path: Path, enabled: bool) -> None:
    """Turn two-way sync on or off in the config: ``[sync] enabled = true|false``.

    The same as ``set_value(path, "sync", "enabled", enabled)``, with its errors
    (:class:`~core.errors.ConfigError`).
    """
    set_value(path, "sync", "enabled", enabled)


# ---------------------------------------------------------------------------- arguments


def _check_value(value: object) -> None:
    if not isinstance(value, str | int | float):  # bool is an int
        raise TypeError(
            f"a config value must be str, int, bool or float, not {type(value).__name__}"
        )


def _table_parts(table: str) -> list[str]:
    parts = [part.strip() for part in table.split(".")]
    if not table.strip() or any(not part for part in parts):
        raise ValueError(f"{table!r} is not a table name such as 'sync' or 'mapping.status'")
    return parts


def _check_key(key: str) -> None:
    if not key.strip():
        raise ValueError("the key name is empty")


# ---------------------------------------------------------------------------- reading


def _real(path: Path) -> Path:
    """The file behind ``path``: a symlinked config is edited where it lives, link kept."""
    return Path(os.path.realpath(path))


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            "config file not found",
            path=str(path),
            hint="copy sample-config.toml and edit it, or pass --config",
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"cannot read the config: {exc.strerror or exc}",
            path=str(path),
            hint=f"check that {path} is a file you may read",
        ) from None


def _decode(path: Path, raw: bytes) -> tuple[str, bool, bool]:
    """Text without a byte-order mark, whether it had one, whether every line ends in CRLF."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"not UTF-8 text (byte 0x{raw[exc.start]:02x})",
            path=str(path),
            line=raw[: exc.start].count(b"\n") + 1,
            hint="save the file as UTF-8",
        ) from None
    bom = text.startswith(_BOM)
    if bom:
        text = text[len(_BOM) :]
    crlf = "\r\n" in text and _LONE_LF.search(text) is None
    return text, bom, crlf


def _encode(text: str, bom: bool, crlf: bool) -> bytes:
    if crlf:
        text = _LONE_LF.sub("\r\n", text)  # tomlkit writes new lines with LF
    return ((_BOM if bom else "") + text).encode("utf-8")


def _parse(path: Path, text: str) -> TOMLDocument:
    """tomlkit's document; syntax errors name the line and 1-based column (tomllib's words,
    the parser :func:`core.config.load_config` uses, where it has them)."""
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        where = _TOMLLIB_WHERE.search(message)
        if where:
            line, column = int(where.group(1)), int(where.group(2))
        else:
            line, column = _kit_position(text)
        reason = _TOMLLIB_END.sub("", _TOMLLIB_WHERE.sub("", message))
        raise _syntax_error(path, reason, line, column) from None
    try:
        return tomlkit.parse(text)
    except ParseError as exc:  # tomllib accepted it: rare, but say where tomlkit stopped
        reason = _TOMLKIT_WHERE.sub("", str(exc))
        raise _syntax_error(path, reason, exc.line, exc.col + 1) from None


def _kit_position(text: str) -> tuple[int, int]:
    """Where tomlkit stops (its column is 0-based), else the end of the document."""
    try:
        tomlkit.parse(text)
    except ParseError as exc:
        return exc.line, exc.col + 1
    lines = text.splitlines() or [""]
    return len(lines), len(lines[-1]) + 1


def _syntax_error(path: Path, reason: str, line: int, column: int) -> ConfigError:
    return ConfigError(
        f"not valid TOML at column {column}: {reason}",
        path=str(path),
        line=line,
        hint=f"fix line {line}, column {column} of {path} ({_SYNTAX_HINT}); nothing was written",
    )


# ---------------------------------------------------------------------------- editing


def _walk(path: Path, doc: TOMLDocument, parts: list[str]) -> tuple[list[_Table], list[str]]:
    """The pieces of the deepest existing table on ``parts``, and the parts below it that are
    missing. ``([], parts)`` when not even ``parts[0]`` exists.

    A table can be in several pieces: ``[sync]`` near the top and ``[sync.extra]`` further down
    make two ``sync`` tables in tomlkit's document body. Walking the body (not tomlkit's merged
    view) gives the piece that really holds a key, whose item keeps its trivia.
    """
    tables: list[_Table] = []
    for depth, part in enumerate(parts):
        bodies = [doc.body] if depth == 0 else [table.value.body for table in tables]
        found: list[_Table] = []
        for body in bodies:
            for name, child in body:
                if name is None or name.key != part:
                    continue
                if isinstance(child, Table | InlineTable):
                    found.append(child)
                    continue
                dotted = ".".join(parts[: depth + 1])
                if isinstance(child, AoT):
                    raise ConfigError(
                        f"[[{dotted}]] is an array of tables: only plain tables can be edited",
                        path=str(path),
                        hint=f"edit the [[{dotted}]] entries by hand",
                    )
                raise ConfigError(
                    f"{dotted} is a value, not a table",
                    path=str(path),
                    hint=f"use the table {dotted} belongs to, or edit the file by hand",
                )
        if not found:
            return tables, parts[depth:]
        tables = found
    return tables, []


def _holding(tables: list[_Table], key: str) -> _Table | None:
    """The piece of the table that holds ``key``, if any does."""
    return next((table for table in tables if key in table.value), None)


def _add(tables: list[_Table], missing: list[str], key: str, value: Value) -> None:
    """Add ``key = value`` below ``tables`` (the deepest existing table on the path).

    ``missing`` tables are only made inside an inline table, as nested inline tables (below a
    plain table they are added at the end of the file instead, see :func:`_append_table`). A
    missing key goes to the declared piece of its table, after its last key.
    """
    declared = [
        table for table in tables if not isinstance(table, Table) or not table.is_super_table()
    ]
    parent: Any = (declared or tables)[0]
    for part in missing:
        child = tomlkit.inline_table() if isinstance(parent, InlineTable) else tomlkit.table()
        parent[part] = child
        parent = child
    parent[key] = tomlkit.item(value)


def _replacement(old: Item, value: Value) -> Item:
    """A new value token for ``old``'s line: same string style when possible, and the inline
    comment kept in its column while the value leaves room (one space at least)."""
    new: Item
    if (
        isinstance(value, str)
        and isinstance(old, String)
        and old.type is StringType.SLL
        and "'" not in value
        and not any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value)
    ):
        new = tomlkit.string(value, literal=True)
    else:
        new = tomlkit.item(value)
    trivia = old.trivia
    new.trivia.comment = trivia.comment
    new.trivia.comment_ws = trivia.comment_ws
    old_text, new_text = old.as_string(), new.as_string()
    if trivia.comment and set(trivia.comment_ws) <= {" "} and "\n" not in old_text + new_text:
        width = len(old_text) + len(trivia.comment_ws) - len(new_text)
        new.trivia.comment_ws = " " * max(1, width)
    return new


def _append_table(text: str, parts: list[str], key: str, value: Value) -> str:
    """``text`` with ``[a.b]`` and ``key = value`` added at the end, after a blank line."""
    header = "[" + ".".join(tomlkit.key(part).as_string() for part in parts) + "]\n"
    line = tomlkit.dumps({key: value})
    if text and not text.endswith("\n"):
        text += "\n"
    if text.strip() and not text.endswith("\n\n"):
        text += "\n"
    return text + header + line


def _end_last_line(before: str, after: str) -> str:
    """``after`` with a final newline when the edit wrote its last line and the file had none
    (``enabled = false`` as the file's last bytes: ``sync on`` leaves ``enabled = true\n``,
    not a file that still ends mid-line); a last line the edit did not touch stays as it
    was, byte for byte."""
    if after.endswith("\n") or after.rpartition("\n")[2] == before.rpartition("\n")[2]:
        return after
    return after + "\n"


def _same(held: object, value: Value) -> bool:
    """The file holds exactly ``value``: same type (``1`` is not ``1.0`` nor ``true``), and
    NaN counts as equal to NaN."""
    if type(held) is not type(value):
        return False
    if isinstance(value, float) and isinstance(held, float) and math.isnan(value):
        return math.isnan(held)
    return held == value


class _Absent:
    """Marks "the key must be gone" for :func:`_check_result`."""


_ABSENT = _Absent()


def _check_result(
    path: Path, rendered: str, parts: list[str], key: str, expected: Value | _Absent
) -> None:
    """Before anything is written: the edited text parses and holds exactly the edit."""
    try:
        node: Any = tomllib.loads(rendered)
        for part in parts:
            node = node[part]
        ok = key not in node if isinstance(expected, _Absent) else _same(node[key], expected)
    except (tomllib.TOMLDecodeError, KeyError, TypeError) as exc:
        ok, detail = False, f": {exc}"
    else:
        detail = ""
    if not ok:
        raise ConfigError(
            f"editing [{'.'.join(parts)}] {key} would not give a valid file{detail}",
            path=str(path),
            hint="edit the file by hand; it was left as it was",
        )


# ---------------------------------------------------------------------------- writing


def _commit(path: Path, original: bytes, new: bytes) -> None:
    """Write ``new`` atomically, re-validate, and put ``original`` back if it fails."""
    _write_atomic(path, new)
    try:
        load_config(path)
    except ConfigError as invalid:
        try:
            _write_atomic(path, original)
        except ConfigError as stuck:
            raise ConfigError(
                f"the edit made the config invalid ({invalid.message}) and putting the "
                f"original back failed: {stuck.message}",
                path=str(path),
                hint=stuck.hint,
            ) from invalid
        raise


def _write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` through a temporary file beside it, keeping its mode."""
    folder = path.parent
    try:
        info = path.stat()
        handle, temp_name = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise _write_error(path, exc) from None
    temp = Path(temp_name)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, stat.S_IMODE(info.st_mode))
        if (info.st_uid, info.st_gid) != (os.getuid(), os.getgid()):
            with contextlib.suppress(OSError):  # only root may give a file away
                os.chown(temp, info.st_uid, info.st_gid)
        os.replace(temp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise _write_error(path, exc) from None
    with contextlib.suppress(OSError):  # make the rename itself durable where supported
        directory = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


def _write_error(path: Path, exc: OSError) -> ConfigError:
    return ConfigError(
        f"cannot write the config: {exc.strerror or exc}",
        path=str(path),
        hint=(
            f"make {path.parent} writable for you and check the disk is not full (the file is "
            "replaced through a temporary file in the same folder); it was left as it was"
        ),
    )
