"""The kinds the sync engine moves, and what it needs to know of each (DESIGN §2, §5).

Per kind: the kinds it refers to (applied first), which of its values hold references to other
records (translated through the links before comparing), which values are lists merged item by
item, and how two sides' changes combine (:data:`THREE_WAY` field by field, or
:data:`APPEND_ONLY` for records that are only ever added, such as results).

The order of :data:`KINDS` is the apply order: parents before children. Deletes run in the
reverse order, children first, after every other operation.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Each field merges three ways: base x TestRail x TestFiesta.
THREE_WAY = "three-way"
#: Records are added on either side and copied to the other, never edited or merged.
APPEND_ONLY = "append-only"


@dataclass(frozen=True)
class Kind:
    """What the engine knows of one kind.

    ``parents``: kinds this one refers to; ``references``: value names holding a key of
    another record (``{"folder": "folder"}``: a case's ``folder`` is a folder key);
    ``lists``: value names holding lists merged item by item (a case's ``steps``);
    ``merge``: :data:`THREE_WAY` or :data:`APPEND_ONLY`.
    """

    name: str
    parents: tuple[str, ...] = ()
    references: tuple[tuple[str, str], ...] = ()
    lists: tuple[str, ...] = ()
    merge: str = THREE_WAY

    def reference_kind(self, value_name: str) -> str | None:
        """The kind a reference value points at, or None if ``value_name`` is not one."""
        return dict(self.references).get(value_name)


FOLDER = Kind("folder", parents=("folder",), references=(("parent", "folder"),))
CASE = Kind("case", parents=("folder",), references=(("folder", "folder"),), lists=("steps",))

#: Every kind, in apply order (parents first).
KINDS: dict[str, Kind] = {kind.name: kind for kind in (FOLDER, CASE)}


def kind(name: str) -> Kind:
    """The :class:`Kind` called ``name``; KeyError for a kind the engine does not move."""
    return KINDS[name]


def apply_rank(name: str) -> int:
    """Position of kind ``name`` in the apply order (0 first)."""
    return list(KINDS).index(name)
