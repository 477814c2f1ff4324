"""How a stored conflict reads and how a person edits it (DESIGN §5.5, §8 conflict screen).

Pure functions over a conflict's three values (``testrail``, ``base``, ``testfiesta``, as
:class:`core.engine.reconcile.Conflict` keeps them); the console and the command line both
use them through :class:`core.service.Service`, so the rules live here once:

- :func:`conflict_rows`: the values as rows of text, one per field, or per step column
  (``step``, ``expected`` ...) for a step (``steps[2]``) or a whole step list;
- :func:`merge_text`: a three-way merge of two edits of one text; what both changed in the
  same place stays between :data:`OURS_MARKER` / :data:`THEIRS_MARKER` lines for the person;
- :func:`edit_parts` / :func:`edited_value`: the texts an editor opens with (both changes
  merged) and the value the edited texts make;
- :func:`typed_value`: ``conflicts resolve --value TEXT`` (text for a text value, JSON
  otherwise);
- :class:`ResolutionHistory`: the choices not applied yet, for undo.

Raises only ValueError (a value that cannot be built from what was typed).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from core.model import FIELD_PREFIX

#: The columns of a step (:func:`core.model.step_values`), in TestRail's order, with the
#: words the screens use for them.
STEP_COLUMNS = {
    "content": "step",
    "expected": "expected",
    "additional_info": "additional info",
    "refs": "refs",
}

#: Lines around a place both sides changed differently, in :func:`merge_text`'s draft.
OURS_MARKER = "<<<<<<< TestRail"
SPLIT_MARKER = "======="
THEIRS_MARKER = ">>>>>>> TestFiesta"

_STEP = re.compile(r"^(?P<name>[^\[]+)\[(?P<index>\d+)\]$")
_TOKEN = re.compile(r"\s+|\w+|[^\w\s]")


def field_label(name: str) -> str:
    """The words for a conflict's value name: ``title``, ``custom_preconds`` (for
    ``field:custom_preconds``), ``step 2`` (for ``steps[2]``)."""
    match = _STEP.match(name)
    if match and match["name"] == "steps":
        return f"step {match['index']}"
    if match:
        return f"{field_label(match['name'])} item {match['index']}"
    return name[len(FIELD_PREFIX) :] if name.startswith(FIELD_PREFIX) else name


def field_family(name: str) -> str:
    """The field a value name belongs to: ``steps`` for ``steps[2]``, else the name."""
    return name.split("[", 1)[0]


# ---------------------------------------------------------------------- rows


@dataclass(frozen=True)
class ConflictRow:
    """One line of the three-way view: ``label`` ("" for a plain field, ``step`` /
    ``expected`` ... for a step column, ``step 3 expected`` in a whole step list) and each
    value as text (None: the value or column is not there)."""

    label: str
    testrail: str | None
    base: str | None
    testfiesta: str | None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False)


def _shape(values: Mapping[str, Any]) -> str:
    """``text``, ``step`` (a mapping of step columns), ``steps`` (a list of them) or
    ``json``: how the three values read and are typed."""
    sides = [values.get(k) for k in ("testrail", "base", "testfiesta")]
    present = [v for v in sides if v is not None]
    if not present or any(isinstance(v, str) for v in present):
        return "text"
    if all(isinstance(v, Mapping) for v in present):
        return "step"
    if all(isinstance(v, list) and all(isinstance(i, Mapping) for i in v) for v in present):
        return "steps"
    return "json"


def _columns(*steps: Any) -> list[str]:
    names: list[str] = []
    for step in steps:
        if isinstance(step, Mapping):
            names.extend(k for k in step if k not in names)
    known = [k for k in STEP_COLUMNS if k in names]
    return known + sorted(k for k in names if k not in STEP_COLUMNS)


def _column_rows(prefix: str, t: Any, b: Any, f: Any) -> list[ConflictRow]:
    rows = []
    for column in _columns(t, b, f):
        label = f"{prefix}{STEP_COLUMNS.get(column, column)}"
        rows.append(
            ConflictRow(
                label,
                *(_text(s.get(column)) if isinstance(s, Mapping) else None for s in (t, b, f)),
            )
        )
    return rows


def conflict_rows(values: Mapping[str, Any]) -> list[ConflictRow]:
    """The three values of a conflict as rows of text: one row for a text or other value
    (JSON for a number or a list), one per column for a step, one per step and column for a
    whole step list (``step 1 step``, ``step 1 expected`` ...)."""
    t, b, f = values.get("testrail"), values.get("base"), values.get("testfiesta")
    shape = _shape(values)
    if shape == "step":
        return _column_rows("", t, b, f)
    if shape == "steps":
        rows: list[ConflictRow] = []
        longest = max(len(v) for v in (t, b, f) if isinstance(v, list))
        for index in range(longest):
            at = [v[index] if isinstance(v, list) and index < len(v) else None for v in (t, b, f)]
            rows.extend(_column_rows(f"step {index + 1} ", *at))
        return rows
    return [ConflictRow("", _text(t), _text(b), _text(f))]


# ---------------------------------------------------------------------- three-way merge


@dataclass
class _Chunk:
    """A run of the merge: ``ok`` (both agree or only one changed) or a clash."""

    merged: list[str] | None = None
    base: list[str] = field(default_factory=list)
    testrail: list[str] = field(default_factory=list)
    testfiesta: list[str] = field(default_factory=list)


def _hunks(base: Sequence[str], side: Sequence[str]) -> list[tuple[int, int, list[str]]]:
    matcher = difflib.SequenceMatcher(None, base, side, autojunk=False)
    return [
        (i1, i2, list(side[j1:j2]))
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag != "equal"
    ]


def _apply(
    base: Sequence[str], lo: int, hi: int, hunks: list[tuple[int, int, list[str]]]
) -> list[str]:
    out: list[str] = []
    at = lo
    for i1, i2, replacement in hunks:
        out.extend(base[at:i1])
        out.extend(replacement)
        at = i2
    out.extend(base[at:hi])
    return out


def _merge3(base: Sequence[str], tr: Sequence[str], tf: Sequence[str]) -> list[_Chunk]:
    """diff3 over sequences: each side's changes against ``base``; changes that touch or
    overlap form one region, clean when only one side changed it or both made it the same."""
    tagged = sorted(
        [(i1, i2, rep, 0) for i1, i2, rep in _hunks(base, tr)]
        + [(i1, i2, rep, 1) for i1, i2, rep in _hunks(base, tf)],
        key=lambda h: (h[0], h[1]),
    )
    chunks: list[_Chunk] = []
    at = 0
    index = 0
    while index < len(tagged):
        lo, hi = tagged[index][0], tagged[index][1]
        group = [tagged[index]]
        index += 1
        while index < len(tagged) and tagged[index][0] <= hi:
            group.append(tagged[index])
            hi = max(hi, tagged[index][1])
            index += 1
        if lo > at:
            chunks.append(_Chunk(merged=list(base[at:lo])))
        mine = [(i1, i2, r) for i1, i2, r, s in group if s == 0]
        theirs = [(i1, i2, r) for i1, i2, r, s in group if s == 1]
        tr_part = _apply(base, lo, hi, mine)
        tf_part = _apply(base, lo, hi, theirs)
        if not mine or not theirs or tr_part == tf_part:
            chunks.append(_Chunk(merged=tf_part if not mine else tr_part))
        else:
            chunks.append(_Chunk(base=list(base[lo:hi]), testrail=tr_part, testfiesta=tf_part))
        at = hi
    if at < len(base):
        chunks.append(_Chunk(merged=list(base[at:])))
    return chunks


def merge_text(base: str | None, testrail: str | None, testfiesta: str | None) -> str:
    """Both sides' edits of one text merged against the base: lines changed by one side
    take that side's text; lines both changed merge word by word when the words changed do
    not touch; what still clashes stays as a block

    ``<<<<<<< TestRail`` / TestRail's text / ``=======`` / TestFiesta's text /
    ``>>>>>>> TestFiesta``

    for a person to settle (:func:`has_markers`). No base (no common ancestor): the whole
    text clashes unless both are equal."""
    b, t, f = base or "", testrail or "", testfiesta or ""
    out: list[str] = []
    for chunk in _merge3(b.splitlines(True), t.splitlines(True), f.splitlines(True)):
        if chunk.merged is not None:
            out.extend(chunk.merged)
            continue
        tr_text, tf_text = "".join(chunk.testrail), "".join(chunk.testfiesta)
        base_text = "".join(chunk.base)
        words = _merge3(_TOKEN.findall(base_text), _TOKEN.findall(tr_text), _TOKEN.findall(tf_text))
        if base_text and all(w.merged is not None for w in words):
            out.extend(token for w in words for token in w.merged or [])
            continue
        ending = "\n" if tr_text.endswith("\n") or tf_text.endswith("\n") else ""
        out.append(
            f"{OURS_MARKER}\n{tr_text.rstrip(chr(10))}\n{SPLIT_MARKER}\n"
            f"{tf_text.rstrip(chr(10))}\n{THEIRS_MARKER}{ending}"
        )
    return "".join(out)


def has_markers(text: str) -> bool:
    """Whether ``text`` still holds a clash block of :func:`merge_text`."""
    return any(line.rstrip() in (OURS_MARKER, THEIRS_MARKER) for line in text.splitlines())


# ---------------------------------------------------------------------- editing


@dataclass(frozen=True)
class EditPart:
    """One text an editor shows: ``name`` is the step column (``content``, ``expected`` ...)
    or "" for the whole value; ``label`` the words for it; ``draft`` what it opens with."""

    name: str
    label: str
    draft: str


def edit_parts(values: Mapping[str, Any]) -> list[EditPart]:
    """What an editor of this conflict opens with: one text for a text (or other) value, one
    per column for a step, each drafted by :func:`merge_text` from both changes; a value
    that is neither text nor a step is edited as JSON."""
    t, b, f = values.get("testrail"), values.get("base"), values.get("testfiesta")
    shape = _shape(values)
    if shape == "step":
        return [
            EditPart(
                column,
                STEP_COLUMNS.get(column, column),
                merge_text(
                    *(_text(s.get(column)) if isinstance(s, Mapping) else None for s in (b, t, f))
                ),
            )
            for column in _columns(t, b, f)
        ]
    if shape == "text":
        return [EditPart("", "value", merge_text(b, t, f))]
    return [EditPart("", "value (JSON)", merge_text(_text(b), _text(t), _text(f)))]


def edited_value(values: Mapping[str, Any], texts: Mapping[str, str]) -> Any:
    """The value ``texts`` (by :attr:`EditPart.name`) make for this conflict: the text, a
    step of its non-empty columns, or the JSON's value. Raises ValueError while a clash
    block is left in a text, or for JSON that does not parse."""
    for name, text in texts.items():
        if has_markers(text):
            where = STEP_COLUMNS.get(name, name) or "the value"
            raise ValueError(
                f"{where} still holds a {OURS_MARKER} … {THEIRS_MARKER} block: keep the "
                "words you want and delete the marker lines"
            )
    shape = _shape(values)
    if shape == "step":
        return {name: text for name, text in texts.items() if text.strip()}
    return typed_value(values, texts.get("", ""))


#: Case fields that hold one line (the TestRail and TestFiesta forms edit them in a single
#: line): a chosen value with a line break is refused, not written to both sides.
ONE_LINE = frozenset({"title", "name", "refs", "estimate"})
#: Case fields whose value is one of a named set (the pair space holds TestRail's names),
#: with the ``[mapping]`` table that names more of them (None: no table).
NAMED: Mapping[str, str | None] = {"priority": "priority", "type": "types", "template": None}


def check_chosen_value(
    field: str, value: Any, values: Mapping[str, Any], named: Sequence[str] = ()
) -> None:
    """Refuse a typed or edited value (``conflicts resolve --value``, the console's ``e``)
    that the field cannot hold, before it is recorded: a line break in a one-line field
    (:data:`ONE_LINE`), or for a named field (:data:`NAMED`) a name that neither side, the
    base nor ``named`` (the config's ``[mapping]`` table for it: TestRail names) holds, so
    a sync would find no counterpart and bring the conflict back. Raises ValueError saying
    what the field takes."""
    if field in ONE_LINE and isinstance(value, str) and ("\n" in value or "\r" in value):
        raise ValueError(f"{field} is one line: join the lines, or keep the one you want")
    if field in NAMED and value is not None:
        known = [v for v in (values.get(k) for k in ("testrail", "base", "testfiesta")) if v] + [
            name for name in named if name
        ]
        choices = list(dict.fromkeys(str(v) for v in known))
        if str(value) not in choices:
            raise ValueError(
                f"{field} {value!r} is not one TestRail and TestFiesta both know: take one "
                f"of {', '.join(repr(c) for c in choices)}, or > or < for a side's"
            )


def typed_value(values: Mapping[str, Any], text: str) -> Any:
    """A typed value for this conflict (``conflicts resolve --value TEXT``): the text itself
    when the value is text on either side (or absent everywhere); JSON otherwise (a step, a
    list of steps, a number). Raises ValueError naming the types for JSON that does not
    parse."""
    sides = [values.get(k) for k in ("testrail", "testfiesta", "base")]
    if any(isinstance(v, str) for v in sides) or all(v is None for v in sides):
        return text
    try:
        return json.loads(text)
    except ValueError:
        kinds = sorted({type(v).__name__ for v in sides if v is not None})
        raise ValueError(f"holds {'/'.join(kinds)}, not text") from None


@dataclass
class ResolutionHistory:
    """The choices a person made on conflicts that no cycle has applied yet, newest last, so
    the last one can be taken back (the console's ``u``) however often the conflict screen
    is closed and opened again. :class:`core.service.Service` keeps one for its life; the
    choices themselves live in the state store (this holds only their conflict ids).

    ``batches``: conflict ids per choice (one id, or every id one "the same for the rest of
    the field" took); ``last_choice``: ``(conflict id, winner)`` of the last ``testrail`` /
    ``testfiesta`` choice (what "the same for the rest" repeats), None after an edited value
    or an undo.
    """

    batches: list[list[str]] = field(default_factory=list)
    last_choice: tuple[str, str] | None = None

    def record(self, conflict_ids: Sequence[str], *, winner: str | None = None) -> None:
        """One choice was stored for ``conflict_ids``: ``winner`` (``testrail`` or
        ``testfiesta``) when it took one side's value (a lone conflict's becomes
        :attr:`last_choice`; a batch leaves it), None for an edited value (clears it)."""
        if not conflict_ids:
            return
        self.batches.append(list(conflict_ids))
        if winner is not None and len(conflict_ids) == 1:
            self.last_choice = (conflict_ids[0], winner)
        elif winner is None:
            self.last_choice = None

    def undo(self, unresolve: Callable[[str], bool]) -> tuple[list[str], int]:
        """Take back the newest choice: ``unresolve`` (``Service.unresolve``: False when a
        cycle applied it meanwhile) for each of its conflict ids. Returns (the ids taken
        back, how many the choice held); ``([], 0)`` when there is nothing to take back."""
        if not self.batches:
            return [], 0
        batch = self.batches.pop()
        self.last_choice = None
        return [conflict_id for conflict_id in batch if unresolve(conflict_id)], len(batch)

    def __len__(self) -> int:
        """How many choices can be taken back."""
        return len(self.batches)
