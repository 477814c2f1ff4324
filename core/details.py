"""A linked record on both sides, field by field and step by step (the console's details).

Pure: :func:`compare_records` takes both sides' canonical values (:func:`core.model.case_values`
for cases, ``name``/``description``/``parent`` for folders) with the TestFiesta side's
references already in pair space (see :mod:`core.engine.reconcile`), and lists one
:class:`DetailRow` per value, steps one row per step part, each saying whether the two sides
differ. :meth:`core.service.Service.record_sides` reads the records and calls it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.mapping import ESTIMATE_FIELD, REFS_FIELD
from core.model import FIELD_PREFIX

#: Value names shown first, in this order, with their labels.
BUILT_IN = {
    "title": "Title",
    "name": "Name",
    "folder": "Folder",
    "parent": "Parent",
    "description": "Description",
    "template": "Template",
    "type": "Type",
    "priority": "Priority",
    REFS_FIELD: "References",
    ESTIMATE_FIELD: "Estimate",
}

#: A step's parts, in order, with the words shown after "Step n".
STEP_PARTS = {
    "content": "action",
    "expected": "expected",
    "additional_info": "info",
    "refs": "refs",
    "shared_step": "shared step",
}

#: Values holding another record's key (shown by that record's name).
REFERENCES = frozenset({"folder", "parent"})


@dataclass(frozen=True)
class DetailRow:
    """One line of the details: ``name`` the value's name (``title``,
    ``field:custom_preconds``, ``steps[2].expected`` counted from 1), ``label`` what the
    console shows (``Title``, ``Preconditions``, ``Step 2 expected``), each side's value as
    text ("" when that side has none) and whether they ``differ``. ``step`` is the step number
    (from 1) for step rows."""

    name: str
    label: str
    testrail: str
    testfiesta: str
    differ: bool
    step: int | None = None


@dataclass(frozen=True)
class RecordSides:
    """A record as it is on both sides (from :meth:`core.service.Service.record_sides`).

    ``kind`` is ``case`` or ``folder``; ``testrail_key`` / ``testfiesta_key`` the record's key
    on each side (None: not linked there); ``testrail`` / ``testfiesta`` whether that side
    holds it now; ``rows`` the comparison (:func:`compare_records`); ``note`` one sentence when
    the record is only on one side ("" when both hold it); ``state`` where the record stands
    now (``core.sync_state`` names: :func:`core.sync_state.record_state` with what the two
    sides just read, so an edit on either side shows as ``pending`` before any poll; None:
    not decided, e.g. a RecordSides made by hand).
    """

    kind: str
    testrail_key: str | None
    testfiesta_key: str | None
    testrail: bool
    testfiesta: bool
    rows: tuple[DetailRow, ...]
    note: str = ""
    state: str | None = None

    @property
    def differences(self) -> int:
        """How many rows differ."""
        return sum(1 for row in self.rows if row.differ)

    def name_on(self, side: str) -> str | None:
        """The record's title (a case) or name (a folder) on ``side`` (``testrail`` or
        ``testfiesta``) as just read; None when that side does not hold it."""
        if not (self.testrail if side == "testrail" else self.testfiesta):
            return None
        for row in self.rows:
            if row.name in ("title", "name"):
                return row.testrail if side == "testrail" else row.testfiesta
        return None


def shown(value: Any) -> str:
    """A canonical value as text: ``yes``/``no`` for booleans, lists joined with ", "."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(shown(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {shown(v)}" for k, v in value.items())
    return str(value)


def _order(name: str) -> tuple[int, str]:
    if name in BUILT_IN:
        return (0, f"{list(BUILT_IN).index(name):03d}")
    if name.startswith(FIELD_PREFIX):
        return (1, name)
    return (2, name)


def compare_records(
    testrail: Mapping[str, Any] | None,
    testfiesta: Mapping[str, Any] | None,
    *,
    labels: Mapping[str, str] | None = None,
    names: Mapping[str, str] | None = None,
) -> list[DetailRow]:
    """Both sides' values, row by row (see the module docstring).

    ``testrail`` / ``testfiesta``: canonical values (None: the side does not hold the record),
    references in pair space so equal means the same record. ``labels`` names custom fields
    by system name (``{"custom_preconds": "Preconditions"}``); ``names`` shows a referenced
    record by its name (``{"tr:section:3": "Login"}``), else its key. Two values differ when
    they are not equal; a side without the record differs from nothing.
    """
    tr, tf = dict(testrail or {}), dict(testfiesta or {})
    labels, names = labels or {}, names or {}
    both = testrail is not None and testfiesta is not None
    rows: list[DetailRow] = []
    for name in sorted({*tr, *tf} - {"steps"}, key=_order):
        left, right = tr.get(name), tf.get(name)
        if name in REFERENCES:
            left_text = names.get(str(left), str(left)) if left else ""
            right_text = names.get(str(right), str(right)) if right else ""
        else:
            left_text, right_text = shown(left), shown(right)
        if name.startswith(FIELD_PREFIX):
            system = name[len(FIELD_PREFIX) :]
            label = labels.get(system, system)
        else:
            label = BUILT_IN.get(name, name)
        rows.append(DetailRow(name, label, left_text, right_text, both and left != right))
    tr_steps, tf_steps = list(tr.get("steps") or []), list(tf.get("steps") or [])
    for index in range(max(len(tr_steps), len(tf_steps))):
        left_step = tr_steps[index] if index < len(tr_steps) else None
        right_step = tf_steps[index] if index < len(tf_steps) else None
        # a step from a shared step set is only its reference (its text is the set's)
        shared = all((s or {}).get("shared_step") for s in (left_step, right_step) if s)
        for part, words in STEP_PARTS.items():
            left = (left_step or {}).get(part, "")
            right = (right_step or {}).get(part, "")
            if not left and not right and (part != "content" or shared):
                continue
            if part == "shared_step":
                left, right = names.get(left, left), names.get(right, right)
            rows.append(
                DetailRow(
                    f"steps[{index + 1}].{part}",
                    f"Step {index + 1} {words}",
                    shown(left),
                    shown(right),
                    both and left != right,
                    step=index + 1,
                )
            )
    return rows
