"""Structural comparison of a recorded TestRail response with the emulator's answer.

Why: the recorded samples in ``shared/data/testrail-samples`` were captured from real TestRail
instances (see their PROVENANCE.md), but their *values* are instance data (ids, names, dates;
the dichovsky captures even redact every string). What the emulator must reproduce is their
*structure*: the envelope (paged object vs bare array), the key set of every object and the JSON
type of every value. This module compares exactly that.

How a recording is read (:func:`shape_of`): all samples found at one place of the document are
merged, so a list of recorded objects becomes one shape whose keys are the union of their keys
(keys present in every item are *required*) and whose value types are the union of the
observed types. ``null`` is a type of its own.

The rules of :func:`compare` (each violation is one message naming the JSON path):

1. *Types*: every emulator value must have a type the recording shows at that path. ``null``
   is accepted only where the recording has ``null`` (or where the mapping declares the path
   ``nullable``, with a reason); where the recording only ever has ``null`` any type is
   accepted, because the recording does not tell.
2. *Keys*: every required recorded key must be present; an emulator key the recording lacks
   is an error unless the object sits under a ``trimmed`` path (the codepine and RetailMeNot
   fixtures were hand-trimmed by their authors, PROVENANCE.md) or the key is in ``extra``
   (a documented version difference, each with its reason).
3. *Coverage*: every non-null type the recording shows at a path, and every recorded key,
   must also occur somewhere in the emulator's answer — so a seed that leaves a field null or
   a list empty cannot pass by saying nothing. Paths the emulator legitimately never fills are
   listed in ``uncovered`` with a reason.

Paths look like ``$``, ``$.cases``, ``$.cases[]``, ``$.cases[].custom_steps_separated[]``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


def json_type(value: Any) -> str:
    """The JSON type name of a decoded value (``boolean`` is not an ``integer``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    raise TypeError(f"not a JSON value: {value!r}")


@dataclass
class Shape:
    """The merged structure of every sample seen at one JSON path."""

    types: set[str] = field(default_factory=set)
    keys: dict[str, Shape] = field(default_factory=dict)
    required: set[str] | None = None  # keys present in every object sample
    items: Shape | None = None  # merged shape of array items (None: only empty arrays)

    def add(self, value: Any) -> None:
        """Merge one more sample into this shape."""
        kind = json_type(value)
        self.types.add(kind)
        if kind == "object":
            present = set(value)
            self.required = present if self.required is None else self.required & present
            for key, child in value.items():
                self.keys.setdefault(key, Shape()).add(child)
        elif kind == "array":
            for item in value:
                if self.items is None:
                    self.items = Shape()
                self.items.add(item)


def shape_of(samples: Iterable[Any]) -> Shape:
    """One :class:`Shape` merging every sample (a single document: ``shape_of([doc])``)."""
    shape = Shape()
    for sample in samples:
        shape.add(sample)
    return shape


@dataclass
class Allowances:
    """Documented departures from the exact recorded structure (each value is the reason).

    - ``trimmed``: paths of objects that may carry keys the recording lacks because its
      author cut them (``"$"`` = the top object, ``"$.cases[]"`` = every listed case; nested
      objects are listed separately).
    - ``extra``: key names the emulator may add anywhere (version differences).
    - ``nullable``: paths where the emulator may answer ``null`` though the recording never does
      (so it need not produce the recorded types there either).
    - ``uncovered``: paths whose recorded types/keys the emulator never produces.
    """

    trimmed: Mapping[str, str] = field(default_factory=dict)
    extra: Mapping[str, str] = field(default_factory=dict)
    nullable: Mapping[str, str] = field(default_factory=dict)
    uncovered: Mapping[str, str] = field(default_factory=dict)

    def is_trimmed(self, path: str) -> bool:
        """True when the object at ``path`` is declared trimmed."""
        return path in self.trimmed


def compare(recorded: Any, actual: Any, allow: Allowances | None = None) -> list[str]:
    """Every structural difference between ``recorded`` and ``actual`` (empty = same shape)."""
    allow = allow or Allowances()
    expected = shape_of([recorded])
    errors: list[str] = []
    _check(actual, expected, "$", allow, errors)
    _cover(expected, shape_of([actual]), "$", allow, errors)
    return errors


def _check(value: Any, shape: Shape, path: str, allow: Allowances, errors: list[str]) -> None:
    kind = json_type(value)
    if kind == "null":
        if "null" not in shape.types and path not in allow.nullable:
            errors.append(f"{path}: null where the recording has {sorted(shape.types)}")
        return
    if shape.types == {"null"}:
        return  # the recording only shows null here: it does not tell the type
    if kind not in shape.types:
        errors.append(f"{path}: {kind} where the recording has {sorted(shape.types)}")
        return
    if kind == "object":
        missing = (shape.required or set()) - set(value)
        if missing:
            errors.append(f"{path}: missing keys {sorted(missing)}")
        unknown = set(value) - set(shape.keys) - set(allow.extra)
        if unknown and not allow.is_trimmed(path):
            errors.append(f"{path}: keys the recording lacks {sorted(unknown)}")
        for key, child in value.items():
            if key in shape.keys:
                _check(child, shape.keys[key], f"{path}.{key}", allow, errors)
    elif kind == "array" and shape.items is not None:
        for item in value:
            _check(item, shape.items, f"{path}[]", allow, errors)


def _cover(expected: Shape, actual: Shape, path: str, allow: Allowances, errors: list[str]) -> None:
    if path in allow.uncovered or path in allow.nullable or expected.types == {"null"}:
        return
    lacking = expected.types - actual.types - {"null"}
    if lacking:
        errors.append(f"{path}: the emulator never answers {sorted(lacking)} here")
    if "object" in expected.types and "object" in actual.types:
        for key, child in expected.keys.items():
            if key not in actual.keys:
                if f"{path}.{key}" not in allow.uncovered:
                    errors.append(f"{path}: the emulator never sends key {key!r}")
                continue
            _cover(child, actual.keys[key], f"{path}.{key}", allow, errors)
    if "array" in expected.types and expected.items is not None:
        if actual.items is None:
            if f"{path}[]" not in allow.uncovered:
                errors.append(f"{path}: the emulator's arrays here are all empty")
        else:
            _cover(expected.items, actual.items, f"{path}[]", allow, errors)
