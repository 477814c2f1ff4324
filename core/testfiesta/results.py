"""What a TestRail result holds that TestFiesta v1 has no field for, kept in its comment.

The shim's ``add_result`` takes only ``status_id`` and ``comment`` (testfiesta-api.md §5.2,
§7.5), so a copied result's ``elapsed``, ``version``, ``defects``, result custom fields and step
results travel as a trailing block of its comment::

    <the TestRail comment>

    — TestRail result details —
    Elapsed: 1m 30s
    Version: 2.4.1
    Defects: BUG-12, BUG-13
    Environment: Live
    Step 1 (Passed): Logged in
    Step 2 (Failed): HTTP 500

One ``Name: value`` line per value that is set (empty ones are left out): the three built-in
values, then each result field by its TestRail label (:func:`detail_names`), then one
``Step N (status): actual`` line per step result. A value of several lines continues on lines
indented by two spaces. :func:`split_details` reads such a comment back into the user's comment
and the block's entries, and :func:`details_values` turns the entries back into canonical
result values, so a result read back compares equal to the TestRail result it copies.

Pure: no I/O. The field definitions come from :attr:`core.testrail.catalog.TestRailCatalog.
result_fields` (system name -> :class:`~core.testrail.catalog.CaseField`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from core.model import FIELD_PREFIX
from core.testrail.catalog import CaseField, testrail_value

#: The line a details block starts with.
DETAILS_HEADER = "— TestRail result details —"

#: The result values TestRail keeps in its own columns, with the names the block gives them.
BUILT_IN = {"elapsed": "Elapsed", "version": "Version", "defects": "Defects"}

#: Indent of the lines that continue a value of several lines.
CONTINUATION = "  "

_STEP = re.compile(r"^Step (\d+)(?: \((.*)\))?$")

#: One line of a details block: its name and its value as text.
Entry = tuple[str, str]


def detail_names(fields: Mapping[str, CaseField]) -> dict[str, str]:
    """The name each result field goes by in a block, by system name: its label, or
    ``"<label> (<system name>)"`` when the label is taken already (by a built-in name of
    :data:`BUILT_IN`, or by an earlier field), so every name reads back to one field."""
    taken = {name.casefold() for name in BUILT_IN.values()}
    out: dict[str, str] = {}
    for system, result_field in fields.items():
        name = result_field.label
        if name.casefold() in taken or _STEP.match(name):
            name = f"{name} ({system})"
        taken.add(name.casefold())
        out[system] = name
    return out


def value_text(value: Any) -> str:
    """A canonical value as a block shows it: a checkbox as ``Yes``/``No``, a multi-select
    as its labels joined by ``", "``, anything else as text."""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _parse_value(text: str, kind: str) -> Any:
    """Inverse of :func:`value_text` for a field of ``kind`` (:data:`core.testrail.catalog.
    FIELD_KINDS`)."""
    if kind == "checkbox" and text in ("Yes", "No"):
        return text == "Yes"
    if kind == "integer" and re.fullmatch(r"-?\d+", text):
        return int(text)
    if kind == "multi_select":
        return text.split(", ") if text else []
    return text


def detail_entries(values: Mapping[str, Any], fields: Mapping[str, CaseField]) -> list[Entry]:
    """The entries of a result's block from its canonical ``values`` (see
    :meth:`core.testrail.catalog.TestRailCatalog.result_details`): ``elapsed``, ``version``,
    ``defects``, each ``field:<system name>`` in ``fields`` order (a field ``fields`` does
    not know by its system name), then ``Step N (status)`` per step result with its
    ``actual`` text. Values that are empty (None, ``""``, ``[]``) are left out, as is a step
    result with neither status nor actual text."""
    entries: list[Entry] = []
    for name, shown in BUILT_IN.items():
        if values.get(name) not in (None, ""):
            entries.append((shown, str(values[name])))
    names = detail_names(fields)
    custom = [k[len(FIELD_PREFIX) :] for k in values if k.startswith(FIELD_PREFIX)]
    order = [s for s in fields if s in custom] + sorted(s for s in custom if s not in fields)
    for system in order:
        value = values[FIELD_PREFIX + system]
        if value in (None, "", []):
            continue
        entries.append((names.get(system, system), value_text(value)))
    for number, step in enumerate(values.get("step_results") or [], start=1):
        status, actual = str(step.get("status") or ""), str(step.get("actual") or "")
        if status or actual:
            entries.append((f"Step {number} ({status})" if status else f"Step {number}", actual))
    return entries


def details_block(entries: Sequence[Entry]) -> str:
    """The block for ``entries``: :data:`DETAILS_HEADER`, then ``Name: value`` per entry
    (``Name:`` for an empty value), the second and later lines of a value indented by
    :data:`CONTINUATION`."""
    lines = [DETAILS_HEADER]
    for name, value in entries:
        first, *rest = value.split("\n")
        lines.append(f"{name}: {first}" if first else f"{name}:")
        lines.extend(CONTINUATION + line for line in rest)
    return "\n".join(lines)


def with_details(comment: str, entries: Sequence[Entry]) -> str:
    """``comment`` followed by a blank line and the :func:`details_block` of ``entries``;
    ``comment`` alone when there are none, unless one of its lines is the header itself: then
    an empty block follows, so :func:`split_details` gives the comment back whole."""
    holds_header = DETAILS_HEADER in comment.split("\n")
    if not entries and not holds_header:
        return comment
    block = details_block(entries)
    return f"{comment}\n\n{block}" if comment else block


def split_details(text: str, names: Sequence[str] = ()) -> tuple[str, list[Entry]]:
    """Inverse of :func:`with_details`: ``(comment, entries)``. The block starts at the last
    line equal to :data:`DETAILS_HEADER` (the one written after the user's text); a text
    without one is all comment. A line starts an entry with the longest of ``names`` (the
    names the reader knows, so a name holding ``": "`` reads whole) followed by ``:``, else
    its text up to the first ``": "`` (or a trailing ``:``) is the name; a line indented by
    :data:`CONTINUATION` continues the value before it."""
    lines = text.split("\n")
    at = max((i for i, line in enumerate(lines) if line == DETAILS_HEADER), default=None)
    if at is None:
        return text, []
    before = "\n".join(lines[:at])
    if at:
        before = before[:-1] if before.endswith("\n") else before
    known = sorted(names, key=len, reverse=True)
    entries: list[list[str]] = []
    for line in lines[at + 1 :]:
        if line.startswith(CONTINUATION) and entries:
            entries[-1][1] += "\n" + line[len(CONTINUATION) :]
            continue
        name = next((n for n in known if line.startswith(n + ":")), None)
        if name is not None:
            value = line[len(name) + 1 :]
        elif ": " in line:
            name, value = line.split(": ", 1)
            value = " " + value
        elif line.endswith(":"):
            name, value = line[:-1], ""
        else:
            name, value = line, ""
        entries.append([name, value[1:] if value.startswith(" ") else value])
    return before, [(name, value) for name, value in entries]


def details_values(
    entries: Sequence[Entry], fields: Mapping[str, CaseField]
) -> tuple[dict[str, Any], list[Entry]]:
    """Inverse of :func:`detail_entries`: the canonical result values the entries name
    (``elapsed``, ``version``, ``defects``, ``field:<system name>`` typed by the field's kind,
    ``step_results`` as ``{status, actual}`` per step: a step's action and expected text are
    its execution step's, not the comment's), and the entries no known name explains."""
    by_name = {shown: name for name, shown in BUILT_IN.items()}
    by_field = {shown: system for system, shown in detail_names(fields).items()}
    values: dict[str, Any] = {}
    steps: dict[int, dict[str, str]] = {}
    unknown: list[Entry] = []
    for name, text in entries:
        step = _STEP.match(name)
        if name in by_name:
            values[by_name[name]] = text
        elif name in by_field:
            system = by_field[name]
            values[FIELD_PREFIX + system] = _parse_value(text, fields[system].kind)
        elif step is not None:
            item = {"status": step.group(2) or "", "actual": text}
            steps[int(step.group(1))] = {k: v for k, v in item.items() if v}
        else:
            unknown.append((name, text))
    if steps:
        values["step_results"] = [steps.get(n, {}) for n in range(1, max(steps) + 1)]
    return values, unknown


def testrail_result_fields(
    comment: str, fields: Mapping[str, CaseField]
) -> tuple[str, dict[str, Any]]:
    """A TestFiesta result's comment as TestRail's ``add_result`` takes it (§5.14): the
    comment without its details block, and the block's known values in their own TestRail
    fields (``elapsed``, ``version``, ``defects``, and each result field of ``fields`` by
    its system name, a dropdown label back to its item id by
    :func:`core.testrail.catalog.testrail_value`). What the block holds that has no TestRail
    field of its own here (step results: TestRail's need each step's action; names no field
    explains) stays in the comment, in a block of its own."""
    names = [*BUILT_IN.values(), *detail_names(fields).values()]
    text, entries = split_details(comment, names)
    values, _ = details_values(entries, fields)
    body: dict[str, Any] = {}
    for name in BUILT_IN:
        if values.get(name):
            body[name] = values[name]
    by_field = set(detail_names(fields).values())
    for system, result_field in fields.items():
        value = values.get(FIELD_PREFIX + system)
        if value not in (None, "", []):
            body[system] = testrail_value(result_field, value)
    rest = [(n, v) for n, v in entries if n not in BUILT_IN.values() and n not in by_field]
    return with_details(text, rest), body
