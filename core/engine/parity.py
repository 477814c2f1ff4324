"""Parity of the two sides after a migration: per kind, what TestRail holds, what TestFiesta
holds of it, whether each copy's content equals its original, and which records are missing
or extra (issue: a parity report at the end of every migration).

Pure: the records of one full observation of each side and the links in, counts and keys out.
Values are compared in pair space, as :mod:`core.engine.reconcile` compares them: TestFiesta's
references are turned into TestRail keys through the links, so a case in the copy of its
folder compares equal. Each side's content is summarised by :func:`content_hash` over the
values both sides carry (a partial record carries only some).

A record may come as its :class:`Digest` instead (:func:`digest`): the hashes parity compares,
without the values, so a migration of 100,000 cases need not hold both sides' values at once
to report their parity.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from core.kinds import KINDS, map_item_references
from core.model import Record


@dataclass
class KindParity:
    """Parity of one kind.

    ``testrail``: records TestRail holds; ``testfiesta``: how many of them have their copy on
    TestFiesta; ``equal``: copies whose content hash equals the original's; ``differing``,
    ``missing``: TestRail keys whose copy differs or is absent; ``extra``: TestFiesta keys no
    TestRail record explains (made in TestFiesta, or left by a record deleted in TestRail);
    ``compared``: False where TestFiesta's API lists no such records (results): then a copy is
    counted by its link and its content is not read back.
    """

    kind: str
    testrail: int = 0
    testfiesta: int = 0
    equal: int = 0
    differing: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    compared: bool = True
    #: what the counts do not show (values one API has no field for), one sentence each
    notes: list[str] = field(default_factory=list)

    @property
    def exact(self) -> bool:
        """Every TestRail record has its copy, with equal content."""
        return not self.missing and not self.differing

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view (``migrate --json``)."""
        return {
            "testrail": self.testrail,
            "testfiesta": self.testfiesta,
            "equal": self.equal,
            "hashes_compared": self.compared,
            "differing": self.differing,
            "missing": self.missing,
            "extra": self.extra,
            "notes": self.notes,
        }


def content_hash(values: Mapping[str, Any]) -> str:
    """The first 16 hex digits of sha256 over ``values`` as canonical JSON (keys sorted)."""
    text = json.dumps(values, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Digest:
    """What parity compares of a whole (not partial) record, its values let go: ``kind``,
    ``key``, ``hash`` (:func:`content_hash` of its values in pair space less the kind's
    create-only ones) and ``create_only``: (name, :func:`content_hash` of ``{name: value}``)
    per create-only value it holds, sorted by name (a value one side may not list at all,
    compared only where both hold it, as :func:`parity` does for records)."""

    kind: str
    key: str
    hash: str
    create_only: tuple[tuple[str, str], ...] = ()


def digest(record: Record, partner_of: Callable[[str], str | None] | None = None) -> Digest:
    """The :class:`Digest` of ``record``: its values as they are (a TestRail record: already
    pair space), or with ``partner_of`` (a TestFiesta record: the linked key of a reference,
    either direction, or None) turned into pair space first. Raises ValueError for a partial
    record (parity compares only the values both sides carry, which a digest cannot tell)."""
    if record.partial:
        raise ValueError(f"{record.key} is partial: parity needs its values")
    values = dict(record.values) if partner_of is None else _in_pair_space(record, partner_of)
    only = set(KINDS[record.kind].create_only) & values.keys()
    kept = {name: values.pop(name) for name in sorted(only)}
    return Digest(
        record.kind,
        record.key,
        content_hash(values),
        tuple((name, content_hash({name: value})) for name, value in kept.items()),
    )


def _same(ours: Digest, theirs: Digest) -> bool:
    """Whether two digests say equal content: the hashes, and the create-only values both
    hold."""
    mine, yours = dict(ours.create_only), dict(theirs.create_only)
    return ours.hash == theirs.hash and all(mine[n] == yours[n] for n in mine.keys() & yours)


def _in_pair_space(record: Record, partner_of: Callable[[str], str | None]) -> dict[str, Any]:
    kind = KINDS[record.kind]
    values = dict(record.values)
    for name, _ in kind.references:
        ref = values.get(name)
        if isinstance(ref, str):
            values[name] = partner_of(ref) or ref
    for name, _ in kind.list_references:
        refs = values.get(name)
        if isinstance(refs, list):
            values[name] = [partner_of(r) or r if isinstance(r, str) else r for r in refs]
    map_item_references(kind, values, lambda ref: partner_of(ref) or ref)
    return values


def parity(
    testrail: Mapping[str, Record | Digest],
    testfiesta: Mapping[str, Record | Digest],
    partner_of: Callable[[str], str | None],
    *,
    observed: Collection[str],
    kinds: Iterable[str] = KINDS,
    skip: Collection[str] = (),
) -> dict[str, KindParity]:
    """Parity per kind (in ``kinds`` order) of TestRail's ``testrail`` records and
    TestFiesta's ``testfiesta`` records (both keyed by record key, each from a full read);
    a record may come as its :class:`Digest` (:func:`digest`, a TestFiesta one made with
    ``partner_of``), compared by its hashes with the other copy's.

    ``partner_of(key)`` is the linked key on the other side (either direction) or None;
    ``observed`` the kinds TestFiesta's read lists (others are counted by link);
    ``skip`` keys that are not records of the project (the root folder the suite maps to).
    """
    out = {name: KindParity(name, compared=name in observed) for name in kinds}
    explained: set[str] = set()
    for key, record in testrail.items():
        count = out.get(record.kind)
        if count is None or key in skip:
            continue
        count.testrail += 1
        partner = partner_of(key)
        if partner is None or (count.compared and partner not in testfiesta):
            count.missing.append(key)
            continue
        count.testfiesta += 1
        explained.add(partner)
        if not count.compared:
            continue
        copy = testfiesta[partner]
        if isinstance(record, Digest) or isinstance(copy, Digest):
            ours_digest = record if isinstance(record, Digest) else digest(record)
            theirs_digest = copy if isinstance(copy, Digest) else digest(copy, partner_of)
            if _same(ours_digest, theirs_digest):
                count.equal += 1
            else:
                count.differing.append(key)
            continue
        ours, theirs = dict(record.values), _in_pair_space(copy, partner_of)
        # a partial record carries only some values; a create-only value (a run's cases) is
        # one a side may not list at all (its executions stand for it, as kind "test")
        unread = set(KINDS[record.kind].create_only)
        if record.partial or copy.partial:
            unread |= ours.keys() ^ theirs.keys()
        for name in unread & (ours.keys() ^ theirs.keys()):
            ours.pop(name, None)
            theirs.pop(name, None)
        if content_hash(ours) == content_hash(theirs):
            count.equal += 1
        else:
            count.differing.append(key)
    for key, record in testfiesta.items():
        count = out.get(record.kind)
        if count is not None and key not in explained and key not in skip:
            count.extra.append(key)
    for count in out.values():
        count.differing.sort()
        count.missing.sort()
        count.extra.sort()
    return out
