"""TestRail's own export files as a migration source: the XML suite export and the CSV / "Excel"
export (reference testrail-export-formats.md).

:func:`read_export` sniffs the content (never the extension: the "Excel" export is a CSV saved as
``.xls``) and turns the file into :class:`ExportData`: rows shaped like TestRail API v2 answers
(``get_project``, ``get_suites``, ``get_sections``, ``get_cases``, ``get_case_fields``,
``get_case_types``, ``get_priorities``, ``get_templates``), so the rows take exactly the path an
API migration takes (catalog -> records -> engine). :mod:`core.testrail.offline` serves them.

What the formats do not carry is synthesised, deterministically, so a re-run produces the same
rows: sections have no id (numbered in document order from 1 under the file's namespace,
``S2-1``, :func:`namespace_of`, so two files migrated into one project keep their folders
apart), templates, types and priorities
come by name (numbered in order of first appearance, TestRail's stock names keep their stock
ids), dropdown options of a CSV come without ids (numbered in order of first appearance).
A case id (``C123``) is kept, so the externalId of a case migrated from a file equals the one
an API migration of the same instance gives it; a repeated or missing id gets a made-up number
in the file's own range (:func:`synthetic_base`, never a real id nor another file's), and
:attr:`ExportData.warnings` says so.

Raises :class:`core.errors.ConfigError` naming the file for anything that is not a TestRail
export (not XML or CSV, another XML root, no ``ID``/``Title`` header, bytes that are not UTF-8).
"""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.errors import ConfigError

Row = dict[str, Any]

#: Case field ``type_id`` values (testrail-api.md §5.4).
TEXT, DROPDOWN, STEPS, MULTI_SELECT, STRING = 3, 6, 10, 12, 1
#: TestRail's stock templates and their ids on every instance (testrail-api.md §5.7).
STOCK_TEMPLATES = {"Test Case (Text)": 1, "Test Case (Steps)": 2, "Exploratory Session": 3}
#: TestRail's stock priorities: name -> (id, rank) (testrail-api.md §5.5).
STOCK_PRIORITIES = {"Low": (1, 1), "Medium": (2, 2), "High": (3, 3), "Critical": (4, 4)}
#: TestRail's stock system fields: system name -> (label, type_id, templates they belong to).
SYSTEM_FIELDS: dict[str, tuple[str, int, tuple[int, ...]]] = {
    "custom_preconds": ("Preconditions", TEXT, (1, 2)),
    "custom_steps": ("Steps", TEXT, (1,)),
    "custom_expected": ("Expected Result", TEXT, (1,)),
    "custom_steps_separated": ("Steps", STEPS, (2,)),
    "custom_mission": ("Mission", TEXT, (3,)),
    "custom_goals": ("Goals", TEXT, (3,)),
}
#: CSV columns that are case attributes, not custom fields (§2.2).
CSV_SYSTEM_COLUMNS = frozenset(
    {
        "ID", "Title", "Template", "Type", "Priority", "Estimate", "Forecast", "References",
        "Section", "Section Depth", "Section Hierarchy", "Section Description", "Suite",
        "Suite ID", "Created By", "Created On", "Updated By", "Updated On", "Attachments",
    }
)  # fmt: skip
#: CSV labels of the stock text fields (§2.3).
CSV_TEXT_LABELS = {
    "Preconditions": "custom_preconds",
    "Expected Result": "custom_expected",
    "Mission": "custom_mission",
    "Goals": "custom_goals",
}
#: CSV sub-columns of a Steps field -> the API's step keys (§2.3).
CSV_STEP_COLUMNS = {
    "Steps (Step)": "content",
    "Steps (Expected Result)": "expected",
    "Steps (Additional Info)": "additional_info",
    "Steps (References)": "refs",
    "Steps (Shared step ID)": "shared_step_id",
}
#: CSV date columns (§2.2): locale text, no seconds, no time zone (read as UTC).
CSV_DATE_COLUMNS = ("Created On", "Updated On")
#: The orders a CSV export's locale writes day and month in (§2.2: US ``10/29/2022 1:51 PM``,
#: dotted day-first ``24.4.2021 11:31``; slashed day-first ``24/04/2021 13:51`` too), as the
#: ``strptime`` directives of the first two numbers.
DATE_ORDERS = {"day-first": ("%d", "%m"), "month-first": ("%m", "%d")}
#: The times a locale writes after the date: 24-hour or 12-hour, seconds optional.
_TIME_FORMS = ("%H:%M", "%I:%M %p", "%H:%M:%S", "%I:%M:%S %p")
#: Cells a grouped warning names before it says how many more there are.
SHOWN_CELLS = 3
#: Year-first forms, unambiguous (``2021-04-24 13:51``).
_ISO_FORMS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M")
#: The first bytes of a binary Excel workbook: .xls (OLE2 compound file) and .xlsx (ZIP).
OLE2_MAGIC, ZIP_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"PK\x03\x04"
_CASE_ID = re.compile(r"\s*C?(\d+)\s*")
_SUITE_ID = re.compile(r"\s*S?(\d+)\s*")


@dataclass
class ExportData:
    """One suite of one TestRail project as API-shaped rows (see the module docstring).

    ``project`` is a ``get_project`` row (suite mode 1, id 1 unless the caller sets one);
    ``sections`` and ``cases`` are in document order; ``warnings`` lists what was repaired.
    """

    path: Path
    project: Row
    suites: list[Row]
    sections: list[Row]
    cases: list[Row]
    case_fields: list[Row]
    case_types: list[Row]
    priorities: list[Row]
    templates: list[Row]
    warnings: list[str] = field(default_factory=list)
    #: CSV date cells that held no date, ``{"file", "row", "case", "column", "value"}`` (row 1
    #: is the header); :attr:`warnings` says so, grouped per column
    unread_dates: list[Row] = field(default_factory=list)


class _Names:
    """Name -> id for templates, types or priorities, with stock ids kept."""

    def __init__(self, stock: dict[str, int]) -> None:
        self.ids: dict[str, int] = {}
        self.stock = stock

    def id_of(self, name: str) -> int:
        name = " ".join(name.split())  # "Test Case  (Text)" is the renamed stock template
        if name not in self.ids:
            taken = set(self.ids.values()) | set(self.stock.values())
            self.ids[name] = self.stock.get(name) or max(taken, default=0) + 1
        return self.ids[name]


class _Builder:
    """Collects rows while a reader walks the file; :meth:`finish` makes the ExportData."""

    def __init__(self, path: Path, project_name: str) -> None:
        self.path = path
        self.project_name = project_name
        self.sections: list[Row] = []
        self.cases: list[Row] = []
        self.templates = _Names(STOCK_TEMPLATES)
        self.types = _Names({})
        self.priorities = _Names({name: ids[0] for name, ids in STOCK_PRIORITIES.items()})
        #: system name -> field row (type, label, options gathered)
        self.fields: dict[str, Row] = {}
        self.field_templates: dict[str, set[int]] = {}
        self.options: dict[str, dict[int, str]] = {}
        self.warnings: list[str] = []
        self.unread_dates: list[Row] = []
        self.suite: Row = {"id": 1, "name": "Master", "description": None}
        #: the file named its suite's id (``<id>S2</id>``, a ``Suite ID`` cell)
        self.suite_named = False
        #: the order a CSV file writes its dates in (:func:`date_order`, decided per file)
        self.date_order = "month-first"
        self._seen_ids: set[int] = set()
        self._pending_ids: list[Row] = []

    def section(self, name: str, description: str | None, parent: Row | None) -> Row:
        row = {
            "id": len(self.sections) + 1,
            "suite_id": self.suite["id"],
            "name": name,
            "description": description,
            "parent_id": None if parent is None else parent["id"],
            "depth": 0 if parent is None else parent["depth"] + 1,
            "display_order": len(self.sections) + 1,
        }
        self.sections.append(row)
        return row

    def field_row(self, system_name: str, label: str, type_id: int) -> Row:
        if system_name not in self.fields:
            self.fields[system_name] = {
                "system_name": system_name,
                "label": label,
                "type_id": type_id,
            }
            self.field_templates[system_name] = set()
            self.options[system_name] = {}
        return self.fields[system_name]

    def case(self, raw_id: str | None, row: Row, used: set[str]) -> None:
        match = _CASE_ID.fullmatch(raw_id or "")
        case_id = int(match.group(1)) if match else None
        if case_id is None or case_id in self._seen_ids:
            what = (
                f"case C{case_id} appears more than once"
                if case_id is not None
                else "a case has no id"
            )
            self.warnings.append(
                f"{self.path.name}: {what} ({row['title']!r}); it is migrated as a case of its own"
            )
            self._pending_ids.append(row)
        else:
            self._seen_ids.add(case_id)
            row["id"] = case_id
        row["suite_id"] = self.suite["id"]
        for name in used:
            self.field_templates[name].add(row["template_id"])
        self.cases.append(row)

    def namespace(self) -> str:
        """What makes this file's synthesised ids its own (see :func:`namespace_of`)."""
        return namespace_of(self.path, self.suite["id"] if self.suite_named else None)

    def finish(self) -> ExportData:
        space = self.namespace()
        number = synthetic_base(self.path, self.suite["id"] if self.suite_named else None)
        for n, row in enumerate(self._pending_ids, 1):
            row["id"] = number + n
        for row in self.sections:
            row["id"] = f"{space}-{row['id']}"
            if row["parent_id"] is not None:
                row["parent_id"] = f"{space}-{row['parent_id']}"
            row["suite_id"] = self.suite["id"]
        for row in self.cases:
            row["section_id"] = f"{space}-{row['section_id']}"
            row["suite_id"] = self.suite["id"]
        project = {
            "id": 1,
            "name": self.project_name,
            "announcement": None,
            "show_announcement": False,
            "is_completed": False,
            "completed_on": None,
            "suite_mode": 1,
            "url": "",
        }
        suite = {
            **self.suite,
            "project_id": 1,
            "is_master": True,
            "is_baseline": False,
            "is_completed": False,
            "completed_on": None,
            "url": "",
        }
        return ExportData(
            path=self.path,
            project=project,
            suites=[suite],
            sections=self.sections,
            cases=self.cases,
            case_fields=[self._field(i, row) for i, row in enumerate(self.fields.values(), 1)],
            case_types=[
                {"id": ident, "name": name, "is_default": i == 0}
                for i, (name, ident) in enumerate(self.types.ids.items())
            ],
            priorities=self._priorities(),
            templates=[
                {"id": ident, "name": name, "is_default": ident == 1}
                for name, ident in sorted(self.templates.ids.items(), key=lambda item: item[1])
            ],
            warnings=self.warnings + _date_warnings(self.path, self.unread_dates),
            unread_dates=self.unread_dates,
        )

    def _field(self, ident: int, row: Row) -> Row:
        name = row["system_name"]
        options: Row = {"is_required": False, "default_value": ""}
        if row["type_id"] in (DROPDOWN, MULTI_SELECT):
            items = self.options[name]
            options["items"] = "\n".join(f"{key}, {label}" for key, label in sorted(items.items()))
        if row["type_id"] == STEPS:
            options.update(has_expected=True, has_additional=True, has_reference=True)
        stock = SYSTEM_FIELDS.get(name)
        templates = sorted(self.field_templates[name] | set(stock[2] if stock else ()))
        include_all = stock is None
        return {
            "id": ident,
            "system_name": name,
            "name": name.removeprefix("custom_"),
            "label": row["label"],
            "type_id": row["type_id"],
            "is_active": True,
            "include_all": include_all,
            "template_ids": [] if include_all else templates,
            "configs": [
                {
                    "id": f"{ident}",
                    "context": {"is_global": True, "project_ids": None},
                    "options": options,
                }
            ],
        }

    def _priorities(self) -> list[Row]:
        rows = []
        extra_rank = len(STOCK_PRIORITIES)
        for name, ident in self.priorities.ids.items():
            stock = STOCK_PRIORITIES.get(name)
            if stock is None:
                extra_rank += 1
            rows.append(
                {
                    "id": ident,
                    "name": name,
                    "short_name": name,
                    "priority": stock[1] if stock else extra_rank,
                    "is_default": name == "Medium",
                }
            )
        return rows


def namespace_of(path: Path, suite_id: int | None) -> str:
    """The prefix of the ids an export file's reader makes up (sections; a repeated or missing
    case id), so two files migrated into one TestFiesta project never share one: ``S<suite
    id>`` when the file names its suite (suite ids are unique on an instance, and a new export
    of the same suite, XML or CSV, keeps them), else the file name without its extension, each
    run of characters other than letters, digits and ``_`` as one ``_`` (``"my suite.xml"`` ->
    ``"my_suite"``). A section's externalId is then ``<host>/section/S2-3`` (the suite's third
    section in document order). Case ids stay numbers (the engine reads them as TestRail's
    integer ids): see :func:`synthetic_base`."""
    if suite_id is not None:
        return f"S{suite_id}"
    return re.sub(r"[^\w]+", "_", path.stem).strip("_") or "export"


def synthetic_base(path: Path, suite_id: int | None) -> int:
    """The number above which an export file's made-up case ids (a repeated or missing id) are
    counted: ``10**12 + namespace * 10**6``, the ``n``-th such case getting ``base + n``.
    ``namespace`` is the suite id when the file names it (``S8123`` -> 1008123000000, so its
    first repeated case is ``<host>/case/1008123000001``), else the CRC-32 of the file name
    without its extension modulo 10**6. TestRail's own ids are 32-bit, far below 10**12, so a
    made-up id never takes a real case's externalId, and two suites' made-up ids never meet
    (up to 999,999 made-up ids per file). The same file gives the same ids on every run."""
    if suite_id is not None:
        space = suite_id % 10**6
    else:
        space = zlib.crc32(path.stem.encode("utf-8")) % 10**6
    return 10**12 + space * 10**6


def export_text(path: Path, raw: bytes) -> str:
    """The text of an export file's bytes ``raw`` (UTF-8, a byte-order mark allowed). Raises
    :class:`ConfigError` naming ``path`` and the first byte that is not UTF-8: TestRail writes
    its exports as UTF-8 (the one rule for every export reader, the demo's included)."""
    if raw.startswith((OLE2_MAGIC, ZIP_MAGIC)):
        raise ConfigError(
            f"{path} is an Excel workbook (binary), not a TestRail export: TestRail's "
            '"Excel" export is a CSV file with a .xls name',
            hint="use the file TestRail exported as it is (Suite > Export > CSV/Excel), "
            'or save the workbook from Excel as "CSV UTF-8"',
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path} is not UTF-8 (byte {exc.start} is 0x{raw[exc.start]:02x})",
            hint="TestRail writes its exports as UTF-8; export the suite again, "
            "or convert the file with iconv -t UTF-8",
        ) from None


def read_export(path: Path, *, project_name: str | None = None) -> ExportData:
    """Read a TestRail XML or CSV export at ``path`` (see the module docstring).

    ``project_name`` names the project the rows claim to come from (default: the file name
    without its extension). Raises :class:`ConfigError` naming the file when it cannot be read
    or is not a TestRail export.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"cannot read the export file {path}: {exc.strerror}",
            hint="pass the path of a TestRail XML or CSV export",
        ) from None
    text = export_text(path, raw)
    builder = _Builder(path, project_name or path.stem)
    start = text.lstrip()
    if start.startswith("<"):
        _read_xml(builder, text)
    else:
        _read_csv(builder, text)
    return builder.finish()


# ---------------------------------------------------------------------------------------------
# XML (§1)


def _text(elem: ET.Element | None) -> str | None:
    """Element text as parsed (entities decoded once, whitespace kept); "" -> None."""
    if elem is None:
        return None
    value = "".join(elem.itertext())
    return value if value != "" else None


def _children(elem: ET.Element, holder: str, tag: str) -> list[ET.Element]:
    found = elem.find(holder)
    return [] if found is None else found.findall(tag)


def _read_xml(builder: _Builder, text: str) -> None:
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        line, column = exc.position
        raise ConfigError(
            f"{builder.path} is not well-formed XML (line {line}, column {column + 1})",
            hint="export the suite again from TestRail (Suite > Export > XML)",
        ) from None
    if root.tag == "sections":  # the documented import format: no <suite> wrapper
        holder = ET.Element("suite")
        holder.append(root)
        root = holder
    elif root.tag == "suite":
        suite_id = _SUITE_ID.fullmatch(root.findtext("id") or "")
        builder.suite_named = suite_id is not None
        builder.suite = {
            "id": int(suite_id.group(1)) if suite_id else 1,
            "name": _text(root.find("name")) or "Master",
            "description": _text(root.find("description")),
        }
    else:
        raise ConfigError(
            f"{builder.path} is XML but not a TestRail export: its root is <{root.tag}>, "
            "not <suite> or <sections>",
            hint="export the suite from TestRail (Suite > Export > XML)",
        )

    def walk(elem: ET.Element, parent: Row | None) -> None:
        for section_elem in _children(elem, "sections", "section"):
            section = builder.section(
                _text(section_elem.find("name")) or "",
                _text(section_elem.find("description")),
                parent,
            )
            for case_elem in _children(section_elem, "cases", "case"):
                _xml_case(builder, case_elem, section["id"])
            walk(section_elem, section)

    walk(root, None)


def _xml_kind(elem: ET.Element) -> int:
    if elem.tag == "steps_separated":
        return STEPS
    if elem.find("item") is not None:
        return MULTI_SELECT
    if elem.find("id") is not None:
        return DROPDOWN
    return TEXT


def _option(builder: _Builder, name: str, elem: ET.Element) -> int | None:
    match = re.fullmatch(r"\s*(-?\d+)\s*", elem.findtext("id") or "")
    if match is None:
        return None
    ident = int(match.group(1))
    builder.options[name].setdefault(ident, (elem.findtext("value") or "").strip())
    return ident


def _xml_case(builder: _Builder, elem: ET.Element, section_id: int) -> None:
    custom = elem.find("custom")
    values: Row = {}
    for child in [] if custom is None else list(custom):
        name = f"custom_{child.tag}"
        stock = SYSTEM_FIELDS.get(name)
        kind = stock[1] if stock else _xml_kind(child)
        builder.field_row(name, stock[0] if stock else child.tag.replace("_", " ").title(), kind)
        kind = builder.fields[name]["type_id"]
        if kind == STEPS:
            values[name] = [
                {
                    "content": _text(step.find("content")),
                    "expected": _text(step.find("expected")),
                    "additional_info": _text(step.find("additional_info")),
                    "refs": _text(step.find("refs")),
                }
                for step in child.findall("step")
            ]
        elif kind == DROPDOWN:
            values[name] = _option(builder, name, child)
        elif kind == MULTI_SELECT:
            chosen = [_option(builder, name, item) for item in child.findall("item")]
            values[name] = [ident for ident in chosen if ident is not None]
        else:
            values[name] = _text(child)
    template_name = _text(elem.find("template"))
    if template_name is None:  # trimmed files: infer from the fields the case fills
        if "custom_steps_separated" in values:
            template_name = "Test Case (Steps)"
        elif values.keys() & {"custom_mission", "custom_goals"}:
            template_name = "Exploratory Session"
        else:
            template_name = "Test Case (Text)"
    row: Row = {
        "title": _text(elem.find("title")) or "",
        "section_id": section_id,
        "template_id": builder.templates.id_of(template_name),
        "type_id": _named(builder.types, _text(elem.find("type"))),
        "priority_id": _named(builder.priorities, _text(elem.find("priority"))),
        "estimate": timespan(_text(elem.find("estimate"))),
        "refs": _text(elem.find("references")),
        "created_on": None,
        "updated_on": None,
        **values,
    }
    builder.case(elem.findtext("id"), row, set(values))


def _named(names: _Names, name: str | None) -> int | None:
    return None if name is None or not name.strip() else names.id_of(name)


def timespan(value: str | None) -> str | None:
    """An XML ``<estimate>`` (whole seconds, §1.2) as the API's timespan text: ``"840"`` ->
    ``"14m"``, ``"3930"`` -> ``"1h 5m 30s"``; text that is already a timespan is kept; empty ->
    None."""
    if value is None or not value.strip():
        return None
    raw = value.strip()
    if not raw.isdigit():
        return raw
    seconds = int(raw)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return " ".join(parts) or None


# ---------------------------------------------------------------------------------------------
# CSV (§2)


def _read_csv(builder: _Builder, text: str) -> None:
    lines = text.split("\n", 2)
    delimiter = None
    if lines and re.fullmatch(r"sep=(.)\r?", lines[0]):
        delimiter = lines[0][4]
        text = text.split("\n", 1)[1] if "\n" in text else ""
    header_line = text.split("\n", 1)[0]
    if delimiter is None:
        delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
    # a cell may hold a long text (a pasted log): no cell is longer than the file, and the
    # csv module's default limit (131,072 characters) would refuse a valid export
    csv.field_size_limit(max(csv.field_size_limit(), len(text)))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise ConfigError(
            f"{builder.path} is not a readable CSV file (line {reader.line_num}: {exc})",
            hint="export the suite again from TestRail (Suite > Export > CSV)",
        ) from None
    if not rows or "ID" not in rows[0] or "Title" not in rows[0]:
        raise ConfigError(
            f"{builder.path} is neither a TestRail XML export nor a TestRail CSV export "
            "(a CSV export starts with the columns ID and Title)",
            hint="export the suite from TestRail (Suite > Export > XML or CSV) with the ID "
            "and Title columns",
        )
    header = [cell.strip() for cell in rows[0]]
    steps_columns = [i for i, name in enumerate(header) if name == "Steps"]
    date_columns = [i for i, name in enumerate(header) if name in CSV_DATE_COLUMNS]
    builder.date_order = date_order(
        cells[i] for cells in rows[1:] for i in date_columns if i < len(cells)
    )
    sections: dict[tuple[str, ...], Row] = {}
    for number, cells in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            builder.warnings.append(
                f"{builder.path.name}: line {number} has {len(cells)} cells, "
                f"the header {len(header)}; the missing ones are read as empty"
            )
        record = {name: cells[i] if i < len(cells) else "" for i, name in enumerate(header)}
        path = _csv_path(record)
        section = _csv_section(builder, sections, path, record.get("Section Description") or None)
        if record.get("Suite"):
            suite_id = _SUITE_ID.fullmatch(record.get("Suite ID") or "")
            builder.suite["name"] = record["Suite"]
            if suite_id:
                builder.suite["id"] = int(suite_id.group(1))
                builder.suite_named = True
        _csv_case(
            builder,
            record,
            [cells[i] for i in steps_columns if i < len(cells)],
            section,
            number,
        )


def _csv_path(record: dict[str, str]) -> tuple[str, ...]:
    hierarchy = record.get("Section Hierarchy") or ""
    if hierarchy.strip():
        return tuple(part.strip() for part in hierarchy.split(" > "))
    return (record.get("Section") or "Test Cases",)


def _csv_section(
    builder: _Builder,
    sections: dict[tuple[str, ...], Row],
    path: tuple[str, ...],
    description: str | None,
) -> Row:
    parent: Row | None = None
    for depth in range(1, len(path) + 1):
        prefix = path[:depth]
        if prefix not in sections:
            sections[prefix] = builder.section(
                prefix[-1], description if depth == len(path) else None, parent
            )
        parent = sections[prefix]
    assert parent is not None
    return parent


def split_numbered(cell: str, count: int | None = None) -> list[str]:
    """A CSV step sub-column (``"1. a\r\n2. b"``, §2.3) as its items, ``["a", "b"]``.

    Markers are found in order (``1.``, then ``2.`` at a line start ...), so a line of step
    text that starts with another number stays inside its step. TestRail ends the items of a
    cell with CRLF and keeps LF inside an item's own text, so when the cell holds CRLF only
    CRLF-led markers count (Parabank's "...mmessage\n\n\n\r\n2. Field is filled"); when that
    does not give ``count`` items (a text that itself used CRLF), any line break counts.
    ``count`` (the number of steps, from the ``Steps (Step)`` column) stops the search and
    pads missing items with "".
    """
    breaks = [r"\r\n", r"\r?\n"] if "\r\n" in cell else [r"\r?\n"]
    items: list[str] = []
    for line_break in breaks:
        items = _numbered_items(cell, line_break, count)
        if count is None or len(items) == count:
            break
    if count is not None:
        items = items[:count] + [""] * (count - len(items))
    return items


def _numbered_items(cell: str, line_break: str, count: int | None) -> list[str]:
    starts: list[tuple[int, int]] = []
    position, number = 0, 1
    while count is None or number <= count:
        marker = re.compile(rf"(?:^|{line_break}){number}\.(?: |(?=\r?\n)|$)")
        match = marker.search(cell, position)
        if match is None:
            break
        starts.append((match.start(), match.end()))
        position, number = match.end(), number + 1
    return [
        cell[end : starts[i + 1][0] if i + 1 < len(starts) else len(cell)].rstrip("\r\n")
        for i, (_, end) in enumerate(starts)
    ]


def _csv_steps(record: dict[str, str]) -> list[Row] | None:
    content = record.get("Steps (Step)") or ""
    if not content.strip():
        return None
    contents = split_numbered(content)
    columns = {
        key: split_numbered(record.get(column) or "", len(contents))
        for column, key in CSV_STEP_COLUMNS.items()
    }
    steps = []
    for index, text in enumerate(contents):
        step: Row = {"content": text or None}
        for key in ("expected", "additional_info", "refs"):
            step[key] = columns[key][index] or None
        shared = columns["shared_step_id"][index].strip()
        if shared.isdigit():
            step["shared_step_id"] = int(shared)
        steps.append(step)
    return steps


def _strptime(value: str, forms: Iterable[str]) -> int | None:
    for form in forms:
        try:
            return int(datetime.strptime(value, form).replace(tzinfo=UTC).timestamp())
        except ValueError:
            continue
    return None


def _order_forms(order: str) -> list[str]:
    first, second = DATE_ORDERS[order]
    return [f"{first}{sep}{second}{sep}%Y {t}" for sep in "/.-" for t in _TIME_FORMS]


def _orders_of(value: str) -> set[str]:
    """The orders of :data:`DATE_ORDERS` in which ``value`` is a date (both for
    ``3/4/2021 9:00``, one for ``24/04/2021 13:51``, none for text that is no date)."""
    return {order for order in DATE_ORDERS if _strptime(value, _order_forms(order)) is not None}


def date_order(values: Iterable[str]) -> str:
    """The order (a key of :data:`DATE_ORDERS`) a CSV file writes its dates in, decided once
    per file from the ``values`` that only one order reads (a first number above 12 is a day:
    ``24/04/2021 13:51``; a second one above 12 is a day too: ``10/29/2022 1:51 PM``). When no
    value decides, or values decide both ways, the separator of the first date decides as the
    locales do: dotted dates are day-first (``24.4.2021``), slashed and dashed ones
    month-first (``4/3/2021`` is April 3)."""
    votes: Counter[str] = Counter()
    first: str | None = None
    for raw in values:
        value = " ".join(raw.split())
        if not value:
            continue
        orders = _orders_of(value)
        if orders and first is None:
            first = value
        if len(orders) == 1:
            votes.update(orders)
    if len(votes) == 1:
        return next(iter(votes))
    return "day-first" if first is not None and "." in first.split(" ", 1)[0] else "month-first"


def csv_time(value: str, order: str | None = None) -> int | None:
    """A CSV ``Created On``/``Updated On`` cell (locale text, §2.2) as UNIX seconds (UTC);
    None when empty or no date. ``order`` (a key of :data:`DATE_ORDERS`, from
    :func:`date_order` over the file) reads an ambiguous ``3/4/2021``; without it the value
    decides alone (:func:`date_order` of this one value). Year-first dates
    (``2021-04-24 13:51``) read the same in every order."""
    value = " ".join(value.split())
    if not value:
        return None
    found = _strptime(value, _ISO_FORMS)
    if found is not None:
        return found
    order = order or date_order([value])
    found = _strptime(value, _order_forms(order))
    if found is None:  # only the other order reads it (the file decided the other way)
        other = "month-first" if order == "day-first" else "day-first"
        found = _strptime(value, _order_forms(other))
    return found


def _csv_date(builder: _Builder, record: dict[str, str], column: str, number: int) -> int | None:
    """The date in ``column`` of the CSV row ``number`` (the header is row 1), read in the
    file's :attr:`_Builder.date_order`; a cell that holds no date adds a warning naming the
    file, the row, its case id, the column and the value (the case is migrated without it)."""
    value = record.get(column) or ""
    found = csv_time(value, builder.date_order)
    if found is None and value.strip():
        builder.unread_dates.append(
            {
                "file": builder.path.name,
                "row": number,
                "case": (record.get("ID") or "").strip() or "no id",
                "column": column,
                "value": value,
            }
        )
    return found


def _date_warnings(path: Path, unread: list[Row]) -> list[str]:
    """The warnings of the date cells that held no date (:attr:`ExportData.unread_dates`):
    one per cell when a column has one, else one per column with the count and the first
    :data:`SHOWN_CELLS` (the report's ``unread`` in ``--json`` lists every one)."""
    forms = "10/29/2022 1:51 PM, 24/04/2021 13:51, 24.4.2021 11:31, 2021-04-24 13:51"
    lines = []
    for column in CSV_DATE_COLUMNS:
        cells = [c for c in unread if c["column"] == column]
        if len(cells) == 1:
            [cell] = cells
            lines.append(
                f"{path.name}: row {cell['row']} ({cell['case']}), column {column!r}: "
                f"{cell['value']!r} is not a date TestRail writes ({forms}); the case is "
                "migrated without it"
            )
        elif cells:
            shown = ", ".join(
                f"row {c['row']} ({c['case']}) {c['value']!r}" for c in cells[:SHOWN_CELLS]
            )
            more = f", ... {len(cells) - SHOWN_CELLS} more" if len(cells) > SHOWN_CELLS else ""
            lines.append(
                f"{path.name}: {len(cells)} cells of column {column!r} are not dates TestRail "
                f"writes ({forms}): {shown}{more} (--json lists all); those cases are migrated "
                "without them"
            )
    return lines


def _csv_case(
    builder: _Builder,
    record: dict[str, str],
    steps_cells: list[str],
    section: Row,
    number: int,
) -> None:
    template_name = record.get("Template") or ""
    steps = _csv_steps(record)
    if not template_name.strip():
        template_name = "Test Case (Steps)" if steps else "Test Case (Text)"
    values: Row = {}
    if steps is not None:
        builder.field_row("custom_steps_separated", "Steps", STEPS)
        values["custom_steps_separated"] = steps
    elif any(cell.strip() for cell in steps_cells):
        builder.field_row("custom_steps", "Steps", TEXT)
        values["custom_steps"] = next(cell for cell in steps_cells if cell.strip())
    for label, value in record.items():
        if label in CSV_SYSTEM_COLUMNS or label == "Steps" or label in CSV_STEP_COLUMNS:
            continue
        name = CSV_TEXT_LABELS.get(label) or "custom_" + _slug(label)
        if not value.strip():
            continue
        # TestRail writes dropdown values with the leading space of its "0, None" items (§2.3)
        kind = DROPDOWN if name not in SYSTEM_FIELDS and value.startswith(" ") else TEXT
        field = builder.field_row(name, label, kind)
        if field["type_id"] == DROPDOWN:
            options = builder.options[name]
            label_text = value.strip()
            ident = next((k for k, v in options.items() if v == label_text), None)
            if ident is None:
                ident = max(options, default=0) + 1
                options[ident] = label_text
            values[name] = ident
        else:
            values[name] = value
    row: Row = {
        "title": record.get("Title") or "",
        "section_id": section["id"],
        "template_id": builder.templates.id_of(template_name),
        "type_id": _named(builder.types, record.get("Type")),
        "priority_id": _named(builder.priorities, record.get("Priority")),
        "estimate": (record.get("Estimate") or "").strip() or None,
        "refs": (record.get("References") or "").strip() or None,
        "created_on": _csv_date(builder, record, "Created On", number),
        "updated_on": _csv_date(builder, record, "Updated On", number),
        **values,
    }
    builder.case(record.get("ID"), row, set(values))


def _slug(label: str) -> str:
    slug = re.sub(r"[^0-9a-z]+", "_", label.lower()).strip("_")
    return slug or "field"
