"""Canonical records: one neutral shape per kind, between TestRail's and TestFiesta's.

Each side's adapter turns its API rows into these records and back; mapping, migration and the
sync engine only ever compare and copy records. Keys are stable per side (DESIGN §4):
``tr:<kind>:<id>`` for TestRail (``tr:section:12``, ``tr:case:3401``) and ``tf:<kind>:<uid>``
for TestFiesta (``tf:folder:55``, ``tf:case:1345``). A *link* in the state store pairs them.

Values are canonical: text exactly as stored (line breaks included), dropdowns as option labels
(never TestRail's item ids), priorities/types/templates by name, times as UNIX seconds.
"""

from __future__ import annotations

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


@dataclass(frozen=True)
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
