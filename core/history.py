"""TestRail case history as readable text (testrail-api.md §5.5; DESIGN §4 "case history").

``get_history_for_case/{case_id}`` (TestRail 6.5.4+, paged under ``history``) lists what
changed in a case after it was created, oldest first. Each entry is ``{id, type_id,
created_on (some builds: timestamp), user_id, changes: [{type_id, field, label, old_value,
new_value, old_text?, new_text?, options?}]}``. TestFiesta has no history import (its v1 has
no history endpoint and the shim answers 403 for ``get_history_for_case``,
testfiesta-api.md §7.2), so a migration keeps the history read-only: as text in the case's
custom field :data:`HISTORY_FIELD` on TestFiesta and as the raw entries in the state store.

Pure: no I/O. :func:`history_lines` turns entries into one line per change, such as
``2026-03-01 14:02 UTC · Jane Doe · Title: 'Old' → 'New'``; :func:`history_text` joins them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

#: Name of the TestFiesta case text custom field that holds a migrated case's TestRail history
#: (created by the migration when missing; written by railfiesta only, never synced back).
HISTORY_FIELD = "TestRail history"

#: Labels of TestRail's system case fields, for changes that carry no ``label`` of their own.
SYSTEM_LABELS = {
    "title": "Title",
    "section_id": "Section",
    "suite_id": "Suite",
    "priority_id": "Priority",
    "type_id": "Type",
    "template_id": "Template",
    "milestone_id": "Milestone",
    "refs": "References",
    "estimate": "Estimate",
    "custom_preconds": "Preconditions",
    "custom_steps": "Steps",
    "custom_expected": "Expected Result",
    "custom_steps_separated": "Steps",
}

#: Longest value text a line shows (characters); longer text ends in "…".
VALUE_LIMIT = 200


def user_label(user_id: Any, users: Mapping[int, str]) -> str:
    """The name ``users`` (TestRail user id -> name, from ``get_users``) gives ``user_id``;
    ``"user 7"`` for an id the list does not name, ``"unknown user"`` for none."""
    if user_id is None or user_id == "":
        return "unknown user"
    try:
        ident = int(user_id)
    except (TypeError, ValueError):
        return f"user {user_id}"
    return users.get(ident) or f"user {ident}"


def entry_time(entry: Mapping[str, Any]) -> str:
    """When a history entry was made, ``YYYY-MM-DD HH:MM UTC``, from its ``created_on`` (UNIX
    seconds; some builds call it ``timestamp``); ``"unknown time"`` when it has neither."""
    seconds = entry.get("created_on", entry.get("timestamp"))
    try:
        moment = datetime.fromtimestamp(int(seconds), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return "unknown time"
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def value_text(value: Any) -> str:
    """One value of a change as it reads in a line: text in single quotes (line breaks shown
    as ``↵``, at most :data:`VALUE_LIMIT` characters), ``(empty)`` for None or empty text, a
    step list as ``(3 steps)``, numbers and booleans as they are, anything else as JSON."""
    if value is None or value == "" or value == []:
        return "(empty)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list) and all(isinstance(v, Mapping) for v in value):
        return f"({len(value)} step{'s' if len(value) != 1 else ''})"
    if not isinstance(value, str):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = value.replace("\r\n", "\n").replace("\n", " ↵ ")
    if len(text) > VALUE_LIMIT:
        text = text[: VALUE_LIMIT - 1] + "…"
    return f"'{text}'"


def change_label(change: Mapping[str, Any], labels: Mapping[str, str] | None = None) -> str:
    """The label of a change's field: its own ``label``, else ``labels`` (system name ->
    label, the project's case fields), else :data:`SYSTEM_LABELS`, else the field name
    without ``custom_``."""
    if change.get("label"):
        return str(change["label"])
    name = str(change.get("field") or "")
    if labels and name in labels:
        return labels[name]
    if name in SYSTEM_LABELS:
        return SYSTEM_LABELS[name]
    return name.removeprefix("custom_") or "a field"


def change_value(
    change: Mapping[str, Any],
    which: str,
    names: Mapping[str, Mapping[Any, str]] | None = None,
) -> str:
    """The ``old`` or ``new`` (``which``) value of a change as text: TestRail's display text
    (``old_text``/``new_text``) when it sent one, else the raw value named through ``names``
    (field -> {id: name}, e.g. ``priority_id`` -> the project's priorities), else the raw
    value (:func:`value_text`)."""
    text = change.get(f"{which}_text")
    if text not in (None, ""):
        return value_text(str(text))
    raw = change.get(f"{which}_value")
    known = (names or {}).get(str(change.get("field") or ""))
    if known is not None and raw is not None and not isinstance(raw, list | dict | bool):
        try:
            key: Any = int(raw)
        except (TypeError, ValueError):
            key = raw
        if key in known:
            return value_text(known[key])
    return value_text(raw)


def history_lines(
    entries: Iterable[Mapping[str, Any]],
    users: Mapping[int, str],
    *,
    labels: Mapping[str, str] | None = None,
    names: Mapping[str, Mapping[Any, str]] | None = None,
) -> list[str]:
    """One line per change of ``entries`` (``get_history_for_case`` rows, §5.5), oldest entry
    first (by time, then id): ``<time> · <user> · <label>: <old> → <new>``, e.g.
    ``2026-03-01 14:02 UTC · Jane Doe · Title: 'Old' → 'New'``. An entry without changes
    reads ``<time> · <user> · changed the case``. ``users`` names the users (id -> name;
    unmatched: ``user 7``); ``labels`` and ``names`` see :func:`change_label` and
    :func:`change_value`."""
    rows = [e for e in entries if isinstance(e, Mapping)]

    def order(entry: Mapping[str, Any]) -> tuple[int, int]:
        seconds = entry.get("created_on", entry.get("timestamp"))
        try:
            return int(seconds or 0), int(entry.get("id") or 0)
        except (TypeError, ValueError):
            return 0, 0

    lines: list[str] = []
    for entry in sorted(rows, key=order):
        head = f"{entry_time(entry)} · {user_label(entry.get('user_id'), users)}"
        changes = [c for c in entry.get("changes") or [] if isinstance(c, Mapping)]
        if not changes:
            lines.append(f"{head} · changed the case")
        for change in changes:
            old = change_value(change, "old", names)
            new = change_value(change, "new", names)
            lines.append(f"{head} · {change_label(change, labels)}: {old} → {new}")
    return lines


def history_text(
    entries: Iterable[Mapping[str, Any]],
    users: Mapping[int, str],
    *,
    labels: Mapping[str, str] | None = None,
    names: Mapping[str, Mapping[Any, str]] | None = None,
) -> str:
    """:func:`history_lines` joined by line breaks: the value of the TestFiesta case field
    :data:`HISTORY_FIELD` (empty for no entries)."""
    return "\n".join(history_lines(entries, users, labels=labels, names=names))


def has_history(created_on: Any, updated_on: Any) -> bool:
    """Whether TestRail can hold history for a case (§5.5): only a case updated after it was
    created has any, so only those are asked (``updated_on > created_on``, UNIX seconds)."""
    try:
        return int(updated_on or 0) > int(created_on or 0)
    except (TypeError, ValueError):
        return False
