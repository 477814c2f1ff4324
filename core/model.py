"""Canonical records: one neutral shape per kind, between TestRail's and TestFiesta's.

Each side's adapter turns its API rows into these records and back; mapping, migration and the
sync engine only ever compare and copy records. Keys are stable per side (DESIGN §4):
``tr:<kind>:<id>`` for TestRail (``tr:section:12``, ``tr:case:3401``) and ``tf:<kind>:<uid>``
for TestFiesta (``tf:folder:55``, ``tf:case:1345``). A *link* in the state store pairs them.

Values are canonical: text exactly as stored (line breaks included), dropdowns as option labels
(never TestRail's item ids), priorities/types/templates by name, times as UNIX seconds.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


def tr_key(kind: str, record_id: int | str) -> str:
    """Stable key of a TestRail record: ``tr:case:12``."""
    return f"tr:{kind}:{record_id}"


def tf_key(kind: str, uid: int | str) -> str:
    """Stable key of a TestFiesta record: ``tf:case:1345``."""
    return f"tf:{kind}:{uid}"


def key_id(key: str) -> str:
    """The id part of a key: ``"tr:case:12"`` -> ``"12"``."""
    return key.rsplit(":", 1)[1]


@dataclass(frozen=True, slots=True)
class Step:
    """One separated step: action ``content`` and ``expected`` result, as typed by a person.

    ``additional_info`` and ``refs`` are TestRail's optional step columns; ``shared_step`` is the
    key of the shared-step set the step came from, if any.
    """

    content: str
    expected: str = ""
    additional_info: str = ""
    refs: str = ""
    shared_step: str | None = None


@dataclass
class FolderRecord:
    """A TestRail suite or section, or a TestFiesta folder.

    ``parent`` is the parent's key (``None`` for a top-level folder), ``position`` the sort key
    (TestRail ``display_order``).
    """

    key: str
    name: str
    parent: str | None
    position: float | None = None
    description: str = ""


@dataclass
class CaseRecord:
    """A test case in canonical form.

    ``fields`` maps TestRail custom field system names (``custom_preconds``,
    ``custom_automation_type``) to canonical values: text as stored, dropdown and multi-select
    values as labels, checkboxes as bools. Separated steps live in ``steps``, not in ``fields``.
    ``created_on``/``updated_on`` are UNIX seconds (``None`` when the side does not say).
    """

    key: str
    title: str
    folder: str
    template: str
    type: str | None = None
    priority: str | None = None
    refs: str = ""
    estimate: str = ""
    fields: dict[str, Any] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    created_on: int | None = None
    updated_on: int | None = None


# ---------------------------------------------------------------------- engine records

#: Canonical values that mean "no value": a field holding one of these is left out of a
#: record, so a side that stores ``""`` and a side that stores nothing agree.
EMPTY_VALUES: tuple[Any, ...] = (None, "", [], {})


def canonical_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` without empty entries (see :data:`EMPTY_VALUES`), keys sorted, every text
    shared (:func:`sys.intern`): the base and both sides' copies of a record hold the same
    text, so tens of thousands of linked records keep one copy of it, not three."""
    return {sys.intern(k): _shared(values[k]) for k in sorted(values) if not _is_empty(values[k])}


def _shared(value: Any) -> Any:
    if isinstance(value, str):
        return sys.intern(value)
    if isinstance(value, list):
        return [_shared(v) for v in value]
    if isinstance(value, dict):
        return {sys.intern(str(k)): _shared(v) for k, v in value.items()}
    return value


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | list | dict) and len(value) == 0)


def content_hash(values: Mapping[str, Any]) -> str:
    """sha256 (hex, first 32 characters) of the canonical JSON of ``values``: equal hashes mean
    equal content on both sides."""
    text = json.dumps(canonical_values(values), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Record:
    """One record of one side as the sync engine sees it (DESIGN §5).

    ``kind`` is a kind of :mod:`core.kinds` (``"folder"``, ``"case"``); ``key`` the side's key
    (``tr:section:12``, ``tf:folder:55``). ``values`` are canonical field values (see
    :func:`canonical_values`); a reference to another record (a case's ``folder``, a folder's
    ``parent``) holds that record's key *on the same side*. ``origin`` is the other side's key
    this record says it is a copy of (TestFiesta ``externalId``, the TestRail marker), used to
    find it again after a lost answer or a lost state store. ``updated_on`` is UNIX seconds
    (None when the side does not say). ``natural`` is the key of a record that has no origin
    but is identified by the records it joins, on its own side (a test: its run and its case).
    ``copy`` says railfiesta made this record's parent as a copy of the other side's (a test of
    a run it created), so its values started as defaults and the other side's are the truth.
    ``partial`` says ``values`` holds only some of the record's values (what one read showed,
    such as a test's status from its newest result); the others are as in the base.
    """

    kind: str
    key: str
    values: Mapping[str, Any]
    origin: str | None = None
    updated_on: int | None = None
    natural: tuple[str, ...] | None = None
    copy: bool = False
    partial: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", canonical_values(self.values))

    @property
    def hash(self) -> str:
        """:func:`content_hash` of :attr:`values`."""
        return content_hash(self.values)


def step_values(step: Step) -> dict[str, str]:
    """A :class:`Step` as the canonical mapping the engine compares and merges; empty columns
    are left out. A step that comes from a shared step set is only ``{"shared_step": key}``:
    its text belongs to the shared step (kind ``shared_step``), never to the case."""
    if step.shared_step:
        return {"shared_step": step.shared_step}
    raw = {
        "content": step.content,
        "expected": step.expected,
        "additional_info": step.additional_info,
        "refs": step.refs,
    }
    return {k: v for k, v in raw.items() if v}


def steps_values(steps: list[Step]) -> list[dict[str, str]]:
    """A case's steps as engine values (:func:`step_values` each), where a run of consecutive
    steps from the same shared step set is one ``{"shared_step": key}`` item: TestRail returns
    a shared set expanded into its steps (testrail-api.md §5.4), TestFiesta as one step with
    ``sharedStepUid`` (testfiesta-api.md §4.4)."""
    out: list[dict[str, str]] = []
    for step in steps:
        values = step_values(step)
        if step.shared_step and out and out[-1] == values:
            continue
        out.append(values)
    return out


def step_from_values(values: Mapping[str, Any]) -> Step:
    """Inverse of :func:`step_values` (a shared step item has no text of its own)."""
    return Step(
        content=str(values.get("content") or ""),
        expected=str(values.get("expected") or ""),
        additional_info=str(values.get("additional_info") or ""),
        refs=str(values.get("refs") or ""),
        shared_step=str(values["shared_step"]) if values.get("shared_step") else None,
    )


#: Prefix of a custom field inside a case record's values: ``field:custom_preconds``.
FIELD_PREFIX = "field:"


def case_values(case: CaseRecord) -> dict[str, Any]:
    """A :class:`CaseRecord` as engine values: ``title``, ``folder`` (a key), ``template``,
    ``type``, ``priority``, ``refs``, ``estimate``, ``steps`` (:func:`steps_values`)
    and ``field:<system name>`` per custom field."""
    values: dict[str, Any] = {
        "title": case.title,
        "folder": case.folder,
        "template": case.template,
        "type": case.type,
        "priority": case.priority,
        "refs": case.refs,
        "estimate": case.estimate,
        "steps": steps_values(case.steps),
    }
    for name, value in case.fields.items():
        values[FIELD_PREFIX + name] = value
    return values


def case_from_values(key: str, values: Mapping[str, Any]) -> CaseRecord:
    """Inverse of :func:`case_values` (``created_on``/``updated_on`` unknown)."""
    return CaseRecord(
        key=key,
        title=str(values.get("title") or ""),
        folder=str(values.get("folder") or ""),
        template=str(values.get("template") or ""),
        type=values.get("type"),
        priority=values.get("priority"),
        refs=str(values.get("refs") or ""),
        estimate=str(values.get("estimate") or ""),
        fields={k[len(FIELD_PREFIX) :]: v for k, v in values.items() if k.startswith(FIELD_PREFIX)},
        steps=[step_from_values(s) for s in values.get("steps") or []],
    )
