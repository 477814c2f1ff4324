"""The kinds the sync engine moves, and what it needs to know of each (DESIGN §2, §5).

Per kind: the kinds it refers to (applied first), which of its values hold references to other
records (translated through the links before comparing), which values are lists merged item by
item, and how two sides' changes combine (:data:`THREE_WAY` field by field, or
:data:`APPEND_ONLY` for records that are only ever added, such as results).

The order of :data:`KINDS` is the apply order: parents before children. Deletes run in the
reverse order, children first, after every other operation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

#: Each field merges three ways: base x TestRail x TestFiesta.
THREE_WAY = "three-way"
#: Records are added on either side and copied to the other, never edited or merged.
APPEND_ONLY = "append-only"
#: Records read from TestRail and kept on TestFiesta as a read-only copy: TestRail always wins
#: (a difference is written to TestFiesta, never a conflict), nothing is created on or written
#: back to TestRail, and neither side's deletions are propagated.
READ_ONLY = "read-only"


@dataclass(frozen=True)
class Kind:
    """What the engine knows of one kind.

    ``parents``: kinds this one refers to; ``references``: value names holding a key of
    another record (``{"folder": "folder"}``: a case's ``folder`` is a folder key);
    ``lists``: value names holding lists merged item by item (a case's ``steps``);
    ``merge``: :data:`THREE_WAY`, :data:`APPEND_ONLY` or :data:`READ_ONLY`;
    ``list_references``: value names holding lists of keys (a run's ``cases``);
    ``create_only``: values sent when the record is created on the other side but never
    compared afterwards (the API cannot change them);
    ``creatable``: False for records that come into being with their parent (a run's tests),
    which are matched by their :attr:`core.model.Record.natural` key instead;
    ``item_references``: ``(list name, item value name, kind)`` for references held inside
    the items of a list (a case step's ``shared_step``); ``in_order_within``: the reference
    value naming the record whose records of this kind land in order and together (a
    result's ``test``: its results are its history, and the newest sets its status): the
    plan keeps one owner's records together and no batch or request splits them, so they
    land or fail together; ``backfill``: records a team can start without (a result's
    history, files, a case's TestRail history): a migration copies them after every other
    kind has landed, the usable core of folders, cases, runs and latest statuses first
    (:data:`BACKFILL`).
    """

    name: str
    parents: tuple[str, ...] = ()
    references: tuple[tuple[str, str], ...] = ()
    lists: tuple[str, ...] = ()
    merge: str = THREE_WAY
    list_references: tuple[tuple[str, str], ...] = ()
    create_only: tuple[str, ...] = ()
    creatable: bool = True
    item_references: tuple[tuple[str, str, str], ...] = ()
    in_order_within: str | None = None
    backfill: bool = False

    def reference_kind(self, value_name: str) -> str | None:
        """The kind a reference value points at, or None if ``value_name`` is not one."""
        return dict(self.references + self.list_references).get(value_name)


FOLDER = Kind("folder", parents=("folder",), references=(("parent", "folder"),))
#: A TestRail shared step set / TestFiesta shared step: ``title`` and ``steps`` (the same step
#: items as a case's). Cases refer to it from their steps, so it lands before them.
SHARED_STEP = Kind("shared_step", lists=("steps",))
#: A case's ``steps`` items are step values, or ``{"shared_step": <key>}`` for a run of steps
#: that come from one shared step set (kept shared, never a pasted copy).
CASE = Kind(
    "case",
    parents=("folder", "shared_step"),
    references=(("folder", "folder"),),
    lists=("steps",),
    item_references=(("steps", "shared_step", "shared_step"),),
)
#: A TestRail configuration group / TestFiesta (shim) configuration group: ``name``.
CONFIG_GROUP = Kind("config_group")
#: A TestRail configuration / TestFiesta (shim) configuration: ``name`` and its ``group``
#: (set when it is created: neither API moves a configuration to another group).
CONFIG = Kind(
    "config",
    parents=("config_group",),
    references=(("group", "config_group"),),
    create_only=("group",),
)
#: A TestRail / TestFiesta milestone: ``name``, ``description``, ``start_on`` and ``due_on``
#: (UNIX seconds), ``completed``; ``parent`` (a sub-milestone's parent) and ``started`` are sent
#: when it is created and never compared: TestFiesta v1 has no parent field and its ``status``
#: is an org-defined uid, not a started flag (testfiesta-api.md §7.7).
MILESTONE = Kind(
    "milestone",
    parents=("milestone",),
    references=(("parent", "milestone"),),
    create_only=("parent", "started"),
)
#: A TestRail run / TestFiesta run: ``name``, ``description``, ``closed``, ``milestone``; its
#: ``cases`` and ``configs`` (a plan run's configuration) are chosen when it is created
#: (TestFiesta's UpdateRunDTO cannot change a run's cases; TestRail's update_run cannot change
#: its configuration).
RUN = Kind(
    "run",
    parents=("case", "milestone", "config"),
    references=(("milestone", "milestone"),),
    list_references=(("cases", "case"), ("configs", "config")),
    create_only=("cases", "configs"),
)
#: A TestRail test / TestFiesta execution: its ``status`` (a status name). Tests come with
#: their run; they are paired by (run, case).
TEST = Kind("test", parents=("run", "case"), creatable=False)
#: A TestRail result: ``test``, ``status``, ``comment``, ``author``, ``created_on``, and what
#: else it holds (:meth:`core.testrail.catalog.TestRailCatalog.result_details`: ``elapsed``,
#: ``version``, ``defects``, ``step_results``, ``field:<system name>`` per result field).
#: Added, never edited; copied oldest first, a test's results together and in order (the
#: newest sets the status of the copy's execution, and its step statuses the execution's
#: steps, as it does in TestRail).
RESULT = Kind(
    "result",
    parents=("test",),
    references=(("test", "test"),),
    merge=APPEND_ONLY,
    in_order_within="test",
    backfill=True,
)

#: A TestRail test plan / TestFiesta plan: ``name``, ``description``, ``milestone``,
#: ``closed``; its ``runs`` (TestRail: the runs of its entries, in entry order) are chosen when
#: it is created (TestRail makes a plan's runs through its entries, never by adding a run).
PLAN = Kind(
    "plan",
    parents=("milestone", "run"),
    references=(("milestone", "milestone"),),
    list_references=(("runs", "run"),),
    create_only=("runs",),
)

#: The value names an attachment's owner goes by, one per owner kind (each names a record of
#: that kind, so links translate it): exactly one is set.
ATTACHMENT_OWNERS = ("case", "run", "result", "plan")

#: A file attached to a case, run, result or plan, or an image a case's text shows inline
#: (``index.php?/attachments/get/N``): its owner under the value named after the owner's kind
#: (:data:`ATTACHMENT_OWNERS`: ``case``, ``run``, ``result`` or ``plan``), ``name``, ``size``
#: (bytes), ``sha256`` (hex of the bytes, DESIGN §6), ``inline``: the cases whose text refers
#: to it (rewritten to the copy's URL once it lands), and for a result's file ``test``, the
#: result's test (TestFiesta takes the file on that execution); a plan entry's file is its
#: plan's, with the entry's GUID in ``entry``. ``inline`` and ``test`` are sent when created,
#: never compared. Copied once, never edited or merged (matched by content hash).
ATTACHMENT = Kind(
    "attachment",
    parents=("case", "run", "test", "result", "plan"),
    references=(*((name, name) for name in ATTACHMENT_OWNERS), ("test", "test")),
    list_references=(("inline", "case"),),
    create_only=("inline", "test"),
    merge=APPEND_ONLY,
    backfill=True,
)


#: A TestRail case's history (``get_history_for_case``, testrail-api.md §5.5), kept read-only
#: on TestFiesta: ``case`` (the case it belongs to) and ``text`` (one line per change,
#: :func:`core.history.history_text`). Read only during a migration and only for cases
#: updated after they were created; written to the TestFiesta case's text custom field
#: "TestRail history" (:data:`core.history.HISTORY_FIELD`), one write per case; never created
#: on TestRail, never a conflict (TestRail always wins), never synced back (:data:`READ_ONLY`).
CASE_HISTORY = Kind(
    "case_history",
    parents=("case",),
    references=(("case", "case"),),
    merge=READ_ONLY,
    backfill=True,
)


def attachment_owner(values: Mapping[str, Any]) -> str | None:
    """The key of the record an attachment's ``values`` hang on (see :data:`ATTACHMENT`), or
    None when none is set."""
    for name in ATTACHMENT_OWNERS:
        if isinstance(values.get(name), str):
            return str(values[name])
    return None


#: Every kind, in apply order (parents first).
KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        FOLDER,
        SHARED_STEP,
        CASE,
        CONFIG_GROUP,
        CONFIG,
        MILESTONE,
        RUN,
        TEST,
        PLAN,
        RESULT,
        ATTACHMENT,
        CASE_HISTORY,
    )
}

#: Each kind's one name for people, plural, in every report row, parity line, progress and
#: warning (and the keys of a migration report's ``kinds`` in ``--json``): words joined by
#: spaces, never the underscores of the kind's own name. :func:`kind_label` reads it.
KIND_LABELS: dict[str, str] = {
    "suite": "suites",
    "section": "sections",
    "folder": "folders",
    "shared_step": "shared steps",
    "case": "cases",
    "config_group": "config groups",
    "config": "configs",
    "milestone": "milestones",
    "run": "runs",
    "test": "tests",
    "plan": "plans",
    "result": "results",
    "attachment": "attachments",
    "case_history": "case history",
    "tag": "tags",
}


def kind_label(name: str) -> str:
    """The name for people of kind ``name`` (:data:`KIND_LABELS`): ``"config_group"`` ->
    ``"config groups"``; a kind not listed gets its words and an ``s``."""
    return KIND_LABELS.get(name) or name.replace("_", " ") + "s"


def kind_word(name: str) -> str:
    """One record of kind ``name`` for people, its label in the singular: ``"shared_step"`` ->
    ``"shared step"``, ``"case"`` -> ``"case"``, ``"case_history"`` -> ``"case history"``
    (in phrases naming one record: ``update testfiesta shared step tf:shared_step:3``)."""
    label = kind_label(name)
    return label[:-1] if label.endswith("s") else label


def counted(n: int, label: str) -> str:
    """``n`` and a plural label (:data:`KIND_LABELS`), singular for one: ``counted(1,
    "cases")`` -> ``"1 case"``, ``counted(2, "config groups")`` -> ``"2 config groups"``;
    a label not ending in ``s`` (``"case history"``) stays."""
    return f"{n} {label[:-1] if n == 1 and label.endswith('s') else label}"


#: The kinds a migration backfills after the usable core (:attr:`Kind.backfill`), in apply
#: order.
BACKFILL: tuple[str, ...] = tuple(name for name, kind in KINDS.items() if kind.backfill)


def map_item_references(
    kind: Kind, values: dict[str, Any], translate: Callable[[str], Any]
) -> None:
    """Replace, in place, every reference held inside list items of ``values`` (see
    :attr:`Kind.item_references`) by ``translate(reference)``; the lists are copied, never
    changed where they came from. A ``translate`` answer of None leaves the reference out."""
    for list_name, item_name, _ in kind.item_references:
        items = values.get(list_name)
        if not isinstance(items, list):
            continue
        out: list[Any] = []
        for item in items:
            if isinstance(item, Mapping) and isinstance(item.get(item_name), str):
                new = dict(item)
                translated = translate(item[item_name])
                if translated is None:
                    new.pop(item_name)
                else:
                    new[item_name] = translated
                item = new
            out.append(item)
        values[list_name] = out


def kind(name: str) -> Kind:
    """The :class:`Kind` called ``name``; KeyError for a kind the engine does not move."""
    return KINDS[name]


def apply_rank(name: str) -> int:
    """Position of kind ``name`` in the apply order (0 first)."""
    return list(KINDS).index(name)
