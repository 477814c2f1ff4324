"""In-memory state of one emulated TestRail instance, and how its rows look on the wire.

A :class:`TestRailState` holds every table of one instance (projects, suites, sections, cases,
metadata, users, milestones, runs, tests, results, plans, configs, shared steps, attachments,
labels, case history) as plain dicts keyed by id. Rows keep internal bookkeeping in keys that
start with ``_``; the ``render_*`` functions produce the public JSON shapes of testrail-api.md §5
and the recorded samples in ``shared/data/testrail-samples``.

Writes go through :mod:`emulators.testrail.ops` (shared by the HTTP handlers and the seeders),
which take :attr:`TestRailState.lock`. Tests may read the state directly from another thread
with :meth:`TestRailState.snapshot` or the small ``find_*`` helpers, which also take the lock.

Timestamps are UNIX seconds from an injectable clock (:class:`ManualClock` in tests), so
``created_on``/``updated_on`` are strictly server-assigned and tests can advance time.
"""

from __future__ import annotations

import copy
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from emulators.testrail.errors import invalid
from emulators.testrail.timespan import format_timespan

Row = dict[str, Any]
Clock = Callable[[], int]

# Field type ids (testrail-api.md §5.4 table).
STRING, INTEGER, TEXT, URL, CHECKBOX, DROPDOWN, USER, DATE, MILESTONE = 1, 2, 3, 4, 5, 6, 7, 8, 9
STEPS, STEP_RESULTS, MULTI_SELECT = 10, 11, 12

# Default template ids on a fresh instance (§5.4 field notes).
TEMPLATE_TEXT, TEMPLATE_STEPS, TEMPLATE_EXPLORATORY = 1, 2, 3
TEMPLATE_NAMES = {
    TEMPLATE_TEXT: "Test Case (Text)",
    TEMPLATE_STEPS: "Test Case (Steps)",
    TEMPLATE_EXPLORATORY: "Exploratory Session",
}

UNTESTED = 3

# Stock case types of a new install (§5.7); alphabetical ids put "Other" (default) at 7, which
# matches the live sample (id 7 is_default) and codepine's "Functional"-looking type 6.
DEFAULT_CASE_TYPES = [
    "Acceptance",
    "Accessibility",
    "Automated",
    "Compatibility",
    "Destructive",
    "Functional",
    "Other",
    "Performance",
    "Regression",
    "Security",
    "Smoke & Sanity",
    "Usability",
]
DEFAULT_CASE_TYPE = "Other"

# (name, weight); default "Medium". Weight = ordering, higher = more important (§5.7).
DEFAULT_PRIORITIES = [("Low", 1), ("Medium", 2), ("High", 3), ("Critical", 4)]
DEFAULT_PRIORITY = "Medium"

# System statuses 1..5 with the colours of the live sample (dichovsky__live_statuses.json).
DEFAULT_STATUSES: list[Row] = [
    {
        "id": 1,
        "name": "passed",
        "label": "Passed",
        "color_dark": 6667107,
        "color_medium": 9820525,
        "color_bright": 12709313,
        "is_system": True,
        "is_untested": False,
        "is_final": True,
    },
    {
        "id": 2,
        "name": "blocked",
        "label": "Blocked",
        "color_dark": 9474192,
        "color_medium": 13684944,
        "color_bright": 14737632,
        "is_system": True,
        "is_untested": False,
        "is_final": True,
    },
    {
        "id": 3,
        "name": "untested",
        "label": "Untested",
        "color_dark": 11579568,
        "color_medium": 15395562,
        "color_bright": 15790320,
        "is_system": True,
        "is_untested": True,
        "is_final": False,
    },
    {
        "id": 4,
        "name": "retest",
        "label": "Retest",
        "color_dark": 13026868,
        "color_medium": 15593088,
        "color_bright": 16448182,
        "is_system": True,
        "is_untested": False,
        "is_final": False,
    },
    {
        "id": 5,
        "name": "failed",
        "label": "Failed",
        "color_dark": 14250867,
        "color_medium": 15829135,
        "color_bright": 16631751,
        "is_system": True,
        "is_untested": False,
        "is_final": True,
    },
]

# Roles of a fresh install (§5.16 ``get_roles``). The live capture redacts the names and shows
# ids 1-5 with 3 as the default and no project-admin role; the names are TestRail's stock role
# names in an [unverified] id order consistent with ``add_user`` (1 Lead, 3 Tester).
DEFAULT_ROLES = [(1, "Lead"), (2, "Designer"), (3, "Tester"), (4, "Guest"), (5, "Read-only")]
DEFAULT_ROLE_ID = 3


def i18n_key(table: str, name: str) -> str:
    """The ``i18n_custom_id`` of a row a fresh install ships (``templates_test_case_text``).

    Live TestRail (dichovsky__live_*.json) gives stock statuses, templates, case types and
    fields a translation-key string and rows an admin created later ``null``. Only that split is
    recorded (the strings are redacted); the format follows trcli's test fixtures
    (``templates_test_case_text``) and is [unverified] for the other tables.
    """
    slug = "".join(c if c.isalnum() else "_" for c in name.lower())
    return f"{table}_{'_'.join(part for part in slug.split('_') if part)}"


# Descriptions of the stock case fields. preconds/steps/expected are verbatim from a real
# Server (mlbexport__get_case_fields.json; preconds also in RetailMeNot's and jonny7's
# fixtures), where steps_separated has none; the Exploratory texts are [unverified]. The stock
# Step Results result field has none either (dichovsky__live_result_fields.json).
STOCK_FIELD_DESCRIPTIONS = {
    "preconds": "The preconditions of this test case. Reference other test cases with [C#] "
    "(e.g. [C17]).",
    "steps": "The required steps to execute the test case.",
    "expected": "The expected result after executing the test case.",
    "mission": "A high-level overview of what to test and which areas to cover, usually just "
    "1-2 sentences.",
    "goals": "A detailed list of goals to cover as part of the exploratory sessions.",
}

STATUS_COUNTER_KEYS = {
    1: "passed_count",
    2: "blocked_count",
    3: "untested_count",
    4: "retest_count",
    5: "failed_count",
}
STATUS_COUNTER_KEYS.update({6 + i: f"custom_status{i + 1}_count" for i in range(7)})

#: Indexes of :class:`TestRailState`: name -> (table, the row's key). ``section``/``suite``:
#: cases by ``section_id``/``suite_id``; ``run``/``case``: tests by ``run_id``/``case_id``;
#: ``test``: results by ``test_id``; ``entity``: attachments by ``(entity type, entity id)``.
#: They make a page read, a run's counters and a test's results cost what they hold, not the
#: whole instance (seeding and paging 100,000 cases stays linear).
INDEXES: dict[str, tuple[str, Callable[[Row], Any]]] = {
    "section": ("cases", lambda r: r["section_id"]),
    "suite": ("cases", lambda r: r["suite_id"]),
    "run": ("tests", lambda r: r["run_id"]),
    "case": ("tests", lambda r: r["case_id"]),
    "test": ("results", lambda r: r["test_id"]),
    "entity": ("attachments", lambda r: (r["_entity_type"], r["_entity_id"])),
}

_UUID_NS = uuid.UUID("6f1b6c52-2d1e-4c55-9a55-7e0f2a9b1c01")


class ManualClock:
    """A clock for tests: ``clock()`` returns :attr:`now` (UNIX seconds) until :meth:`advance`.

    Pass it as ``TestRailState(clock=ManualClock(1_700_000_000))``.
    """

    def __init__(self, start: int = 1_700_000_000) -> None:
        self.now = int(start)

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: int = 1) -> int:
        """Move time forward by ``seconds`` and return the new time."""
        self.now += int(seconds)
        return self.now


def _wall_clock() -> int:
    return int(time.time())


class TestRailState:
    """Every table of one emulated TestRail instance.

    Args:
        clock: callable returning UNIX seconds; defaults to wall time.
        defaults: create the metadata of a fresh install (templates 1-3, 12 case types,
            priorities Low/Medium/High/Critical, statuses 1-5, the stock case fields
            preconds/steps/expected/steps_separated/mission/goals and the result field
            step_results). ``False`` starts empty.
        seed: seeds :attr:`rng`, used for generated GUIDs (plan entries, field configs).

    Tables are ``dict[int, Row]`` in insertion order. Ids are instance-wide auto-increments per
    kind, as in TestRail. Use the ops module to write; read under :attr:`lock`.
    """

    __test__ = False  # not a pytest test class despite the name

    def __init__(self, *, clock: Clock | None = None, defaults: bool = True, seed: int = 0) -> None:
        self.lock = threading.RLock()
        self.clock: Clock = clock or _wall_clock
        self.rng = random.Random(seed)
        self._ids: dict[str, int] = {}
        self.projects: dict[int, Row] = {}
        self.suites: dict[int, Row] = {}
        self.sections: dict[int, Row] = {}
        self.cases: dict[int, Row] = {}
        #: section id -> (display_order, case id) of its last case (see next_display_order)
        self._last_order: dict[int, tuple[int, int]] = {}
        self.case_fields: dict[int, Row] = {}
        self.result_fields: dict[int, Row] = {}
        self.case_types: dict[int, Row] = {}
        self.priorities: dict[int, Row] = {}
        self.statuses: dict[int, Row] = {}
        self.templates: dict[int, Row] = {}
        self.users: dict[int, Row] = {}
        self.milestones: dict[int, Row] = {}
        self.runs: dict[int, Row] = {}
        self.tests: dict[int, Row] = {}
        self.results: dict[int, Row] = {}
        self.plans: dict[int, Row] = {}
        self.config_groups: dict[int, Row] = {}
        self.configs: dict[int, Row] = {}
        self.shared_steps: dict[int, Row] = {}
        self.attachments: dict[int, Row] = {}
        self.labels: dict[int, Row] = {}
        self.roles: dict[int, Row] = {}
        self.history: dict[int, list[Row]] = {}
        self.import_ids: dict[int, str] = {}  # case id -> <id> text of the XML it came from
        #: index name -> key -> row ids (an ordered set), see :meth:`put` and :meth:`indexed`;
        #: a dict, so :meth:`checkpoint`/:meth:`restore` keep it in step with the tables
        self._index: dict[str, dict[Any, dict[int, None]]] = {name: {} for name in INDEXES}
        #: bumped by every write through :meth:`put`/:meth:`reindex` and every API write: a
        #: :meth:`listing` made before a write is not served after it
        self.generation = 0
        #: the last few listings (query key, generation, ordered rows); a list, not a dict, so
        #: checkpoints never copy it
        self._listings: list[tuple[Any, int, list[Row]]] = []
        if defaults:
            self._install_defaults()

    # -- ids, time -------------------------------------------------------------------------
    def next_id(self, kind: str) -> int:
        """The next id of ``kind`` (1, 2, ...), instance-wide like TestRail's auto-increments."""
        value = self._ids.get(kind, 0) + 1
        self._ids[kind] = value
        return value

    def next_display_order(self, section_id: int, case_id: int) -> int:
        """``display_order`` for case ``case_id`` appended to section ``section_id`` (last +
        1), remembered as that section's last. The remembered last case is checked before it
        is trusted (it may have moved or gone), so a section is scanned only then: adding
        50,000 cases no longer scans every case each time."""
        known = self._last_order.get(section_id)
        if known is not None:
            order, last = known
            row = self.cases.get(last)
            if row is None or row["section_id"] != section_id or row["display_order"] != order:
                known = None
        if known is None:
            order = max(
                (c["display_order"] for c in self.indexed("section", section_id)), default=0
            )
        self._last_order[section_id] = (order + 1, case_id)
        return order + 1

    # -- indexes ---------------------------------------------------------------------------
    def put(self, table: str, row: Row) -> Row:
        """Store ``row`` in table ``table`` (``"cases"``, ``"tests"``, ...) under its ``id``
        and note it in that table's :data:`INDEXES`; returns ``row``. Every writer that adds a
        row to an indexed table goes through here (or :meth:`reindex` after changing a key)."""
        getattr(self, table)[row["id"]] = row
        self.reindex(table, row)
        return row

    def listing(self, key: Any, fresh: bool, build: Callable[[], list[Row]]) -> list[Row]:
        """The ordered rows of a paged listing named by ``key`` (method, path ids, filters).
        ``fresh`` (a first page, offset 0) always builds them (``build()``); a later page of
        the same listing reuses what the first page built as long as nothing was written
        since (:attr:`generation`), so paging N rows filters and sorts them once, not once
        per page. The rows themselves are the live table rows (rendered at read time)."""
        if not fresh:
            for known, generation, rows in self._listings:
                if known == key and generation == self.generation:
                    return rows
        rows = build()
        self._listings = [(key, self.generation, rows), *self._listings[:3]]
        return rows

    def reindex(self, table: str, row: Row) -> None:
        """Note ``row`` of ``table`` under its current keys (after a move: ``section_id``,
        ``suite_id``). The old entries need no removal: :meth:`indexed` skips them."""
        self.generation += 1
        for name, (of, key) in INDEXES.items():
            if of == table:
                self._index[name].setdefault(key(row), {})[row["id"]] = None

    def indexed(self, name: str, value: Any) -> list[Row]:
        """The rows that index ``name`` (:data:`INDEXES`) lists under ``value``, in the order
        they were noted, each checked against its table: a row deleted, or moved to another
        key, is left out. Costs the rows under ``value``, not the table; changes nothing."""
        table_name, key = INDEXES[name]
        table: dict[int, Row] = getattr(self, table_name)
        out: list[Row] = []
        for row_id in self._index[name].get(value, ()):
            row = table.get(row_id)
            if row is not None and key(row) == value:
                out.append(row)
        return out

    def now(self) -> int:
        """Current server time, UNIX seconds."""
        return int(self.clock())

    def guid(self) -> str:
        """A deterministic (seeded) GUID string, for plan entry ids and field config ids."""
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    # -- defaults --------------------------------------------------------------------------
    def _install_defaults(self) -> None:
        for tid, name in TEMPLATE_NAMES.items():
            self._ids["template"] = tid
            self.templates[tid] = {
                "id": tid,
                "name": name,
                "i18n_custom_id": i18n_key("templates", name),
                "is_default": tid == TEMPLATE_TEXT,
                "_project_ids": None,
            }
        for name in DEFAULT_CASE_TYPES:
            i = self.next_id("case_type")
            self.case_types[i] = {
                "id": i,
                "name": name,
                "is_default": name == DEFAULT_CASE_TYPE,
                "i18n_custom_id": i18n_key("case_types", name),
            }
        for name, weight in DEFAULT_PRIORITIES:
            i = self.next_id("priority")
            self.priorities[i] = {
                "id": i,
                "name": name,
                "short_name": name,
                "is_default": name == DEFAULT_PRIORITY,
                "priority": weight,
            }
        for status in DEFAULT_STATUSES:
            self.statuses[status["id"]] = dict(
                status, i18n_custom_id=i18n_key("statuses", status["name"]), _active=True
            )
        for rid, name in DEFAULT_ROLES:
            self._ids["role"] = rid
            self.roles[rid] = {
                "id": rid,
                "name": name,
                "is_default": rid == DEFAULT_ROLE_ID,
                "is_project_admin": False,
            }
        self._ids["status"] = 12  # custom statuses 6..12 exist but are inactive (not listed)
        text_opts = {"is_required": False, "default_value": "", "format": "markdown", "rows": "7"}
        stock = [
            ("preconds", "Preconditions", TEXT, [TEMPLATE_TEXT, TEMPLATE_STEPS], text_opts),
            ("steps", "Steps", TEXT, [TEMPLATE_TEXT], text_opts),
            ("expected", "Expected Result", TEXT, [TEMPLATE_TEXT], text_opts),
            (
                "steps_separated",
                "Steps",
                STEPS,
                [TEMPLATE_STEPS],
                {
                    "is_required": False,
                    "format": "markdown",
                    "has_expected": True,
                    "has_additional": False,
                    "has_reference": False,
                    "rows": "5",
                },
            ),
            ("mission", "Mission", TEXT, [TEMPLATE_EXPLORATORY], text_opts),
            ("goals", "Goals", TEXT, [TEMPLATE_EXPLORATORY], text_opts),
        ]
        for name, label, type_id, template_ids, options in stock:
            self.add_field_row(
                self.case_fields,
                "case_field",
                name=name,
                label=label,
                type_id=type_id,
                template_ids=template_ids,
                options=dict(options),
                description=STOCK_FIELD_DESCRIPTIONS.get(name),
                i18n_custom_id=i18n_key("case_fields", name),
            )
        self.add_field_row(
            self.result_fields,
            "result_field",
            name="step_results",
            label="Steps",
            type_id=STEP_RESULTS,
            template_ids=[TEMPLATE_STEPS],
            options={
                "is_required": False,
                "format": "markdown",
                "has_expected": True,
                "has_actual": True,
                "rows": "5",
            },
            i18n_custom_id=i18n_key("result_fields", "step_results"),
        )

    def add_field_row(
        self,
        table: dict[int, Row],
        kind: str,
        *,
        name: str,
        label: str,
        type_id: int,
        template_ids: Iterable[int] = (),
        include_all: bool = False,
        options: Row | None = None,
        description: str | None = None,
        project_ids: list[int] | None = None,
        is_global: bool | None = None,
        i18n_custom_id: str | None = None,
    ) -> Row:
        """Create a case or result field row (shape of §5.6) in ``table`` and return it.

        By default ``project_ids`` None makes the one config global (``is_global: true``,
        ``project_ids: null``, as stock fields read) and a list scopes it to those projects.
        ``is_global`` given explicitly stores the context as given: live TestRail shows global
        configs with ``project_ids: []`` too (dichovsky__live_result_fields.json).
        ``i18n_custom_id`` is a translation key for stock fields, None for created ones.
        """
        i = self.next_id(kind)
        config = {
            "context": {
                "is_global": project_ids is None if is_global is None else is_global,
                "project_ids": project_ids,
            },
            "options": options or {"is_required": False, "default_value": ""},
            "id": str(uuid.uuid5(_UUID_NS, f"{kind}:{i}:{name}")),
        }
        row: Row = {
            "id": i,
            "is_active": True,
            "type_id": type_id,
            "name": name,
            "system_name": f"custom_{name}",
            "label": label,
            "description": description,
            "configs": [config],
            "display_order": len(table) + 1,
            "include_all": include_all,
            "i18n_custom_id": i18n_custom_id,
            "template_ids": [] if include_all else sorted(set(template_ids)),
        }
        table[i] = row
        return row

    # -- lookups (raise TestRail's 400 texts) ----------------------------------------------
    def project(self, project_id: int, field: str = "project_id") -> Row:
        """The project row, or 400 ``Field :project_id is not a valid or accessible project.``"""
        row = self.projects.get(project_id)
        if row is None:
            raise invalid(field, "or accessible project")
        return row

    def suite(self, suite_id: int, field: str = "suite_id") -> Row:
        """The suite row, or 400 ``Field :suite_id is not a valid test suite.``"""
        row = self.suites.get(suite_id)
        if row is None:
            raise invalid(field, "test suite")
        return row

    def section(self, section_id: int, field: str = "section_id") -> Row:
        """The section row, or 400 ``Field :section_id is not a valid section.``"""
        row = self.sections.get(section_id)
        if row is None:
            raise invalid(field, "section")
        return row

    def case(self, case_id: int, field: str = "case_id") -> Row:
        """The (non-deleted) case row, or 400 ``Field :case_id is not a valid test case.``"""
        row = self.cases.get(case_id)
        if row is None:
            raise invalid(field, "test case")
        return row

    def run(self, run_id: int, field: str = "run_id") -> Row:
        """The run row, or 400 ``Field :run_id is not a valid test run.``"""
        row = self.runs.get(run_id)
        if row is None:
            raise invalid(field, "test run")
        return row

    def test(self, test_id: int, field: str = "test_id") -> Row:
        """The test row, or 400 ``Field :test_id is not a valid test.``"""
        row = self.tests.get(test_id)
        if row is None:
            raise invalid(field, "test")
        return row

    def plan(self, plan_id: int, field: str = "plan_id") -> Row:
        """The plan row, or 400 ``Field :plan_id is not a valid test plan.``"""
        row = self.plans.get(plan_id)
        if row is None:
            raise invalid(field, "test plan")
        return row

    def milestone(self, milestone_id: int, field: str = "milestone_id") -> Row:
        """The milestone row, or 400 ``Field :milestone_id is not a valid milestone.``"""
        row = self.milestones.get(milestone_id)
        if row is None:
            raise invalid(field, "milestone")
        return row

    def user(self, user_id: int, field: str = "user_id") -> Row:
        """The user row, or 400 ``Field :user_id is not a valid user.``"""
        row = self.users.get(user_id)
        if row is None:
            raise invalid(field, "user")
        return row

    def master_suite(self, project: Row) -> Row | None:
        """The single (master) suite of a suite-mode 1/2 project, None if it has none yet."""
        for suite in self.suites.values():
            if suite["project_id"] == project["id"] and not suite["is_baseline"]:
                return suite
        return None

    def find_user_by_email(self, email: str) -> Row | None:
        """The user whose e-mail matches case-insensitively, or None."""
        wanted = email.strip().lower()
        for user in self.users.values():
            if user["email"].lower() == wanted:
                return user
        return None

    def find_by_name(self, table: dict[int, Row], name: str) -> Row | None:
        """First row of ``table`` whose ``name`` equals ``name`` exactly, or None."""
        for row in table.values():
            if row.get("name") == name:
                return row
        return None

    def find_project(self, name: str) -> Row | None:
        """The project called ``name``, or None (thread-safe read for tests)."""
        with self.lock:
            return copy.deepcopy(self.find_by_name(self.projects, name))

    def checkpoint(self) -> Row:
        """Deep copy of every table and id counter, for all-or-nothing writes (:meth:`restore`)."""
        return copy.deepcopy({k: v for k, v in vars(self).items() if isinstance(v, dict)})

    def restore(self, checkpoint: Row) -> None:
        """Put back the tables and counters saved by :meth:`checkpoint`."""
        for key, value in checkpoint.items():
            setattr(self, key, value)

    def snapshot(self) -> Row:
        """A deep copy of all tables (internal keys included), taken under the lock, for tests."""
        with self.lock:
            return copy.deepcopy({k: v for k, v in vars(self).items() if isinstance(v, dict)})

    # -- derived data ----------------------------------------------------------------------
    def fields_for_project(self, table: dict[int, Row], project_id: int) -> list[Row]:
        """Fields of ``table`` configured for ``project_id`` (global or listed), display order."""
        out = [f for f in table.values() if field_config(f, project_id) is not None]
        return sorted(out, key=lambda f: (f["display_order"], f["id"]))

    def section_order(self, suite_id: int) -> list[tuple[Row, int]]:
        """``(section, depth)`` of a suite in UI pre-order: parent first, siblings by position."""
        children: dict[int | None, list[Row]] = {}
        for sec in self.sections.values():
            if sec["suite_id"] == suite_id:
                children.setdefault(sec["parent_id"], []).append(sec)
        for kids in children.values():
            kids.sort(key=lambda s: (s["_order"], s["id"]))
        out: list[tuple[Row, int]] = []
        stack: list[tuple[Row, int]] = [(s, 0) for s in reversed(children.get(None, []))]
        while stack:
            sec, depth = stack.pop()
            out.append((sec, depth))
            stack.extend((c, depth + 1) for c in reversed(children.get(sec["id"], [])))
        return out

    def descendants(self, section_id: int) -> list[int]:
        """Ids of ``section_id`` and every section below it."""
        out, todo = [], [section_id]
        while todo:
            sid = todo.pop()
            out.append(sid)
            todo.extend(s["id"] for s in self.sections.values() if s["parent_id"] == sid)
        return out


def field_config(field: Row, project_id: int | None) -> Row | None:
    """The config of ``field`` that applies to ``project_id`` (§5.6 context rules), or None."""
    for config in field["configs"]:
        context = config.get("context") or {}
        ids = context.get("project_ids") or []
        if context.get("is_global") or (project_id is not None and project_id in ids):
            return dict(config)
    return None


def parse_items(items: str) -> dict[int, str]:
    """Dropdown/multi-select ``items`` text (``"0, None\\n1, Ranorex"``) as ``{id: label}``."""
    out: dict[int, str] = {}
    for line in items.splitlines():
        key, sep, label = line.partition(",")
        if sep and key.strip().lstrip("-").isdigit():
            out[int(key.strip())] = label.strip()
    return out


# -- rendering: internal rows -> the JSON shapes of testrail-api.md §5 ---------------------
def public(row: Row) -> Row:
    """``row`` without internal (``_``-prefixed) keys."""
    return {k: copy.deepcopy(v) for k, v in row.items() if not k.startswith("_")}


def render_project(state: TestRailState, row: Row, base: str) -> Row:
    """Project (§5.1, retailmenot sample keys) with ``url`` ``.../projects/overview/<id>``."""
    out = public(row)
    out["url"] = f"{base}/index.php?/projects/overview/{row['id']}"
    return out


def render_suite(state: TestRailState, row: Row, base: str) -> Row:
    """Suite (§5.2) with ``url`` ``.../suites/view/<id>``."""
    out = public(row)
    out["url"] = f"{base}/index.php?/suites/view/{row['id']}"
    return out


def render_sections(state: TestRailState, suite_id: int) -> list[Row]:
    """All sections of a suite in pre-order with ``depth`` (0 = root) and suite-wide
    ``display_order`` (1..n in that order), keys as in retailmenot__get_sections_paged.json."""
    out = []
    for position, (sec, depth) in enumerate(state.section_order(suite_id), start=1):
        out.append(
            {
                "id": sec["id"],
                "suite_id": sec["suite_id"],
                "name": sec["name"],
                "description": sec["description"],
                "parent_id": sec["parent_id"],
                "display_order": position,
                "depth": depth,
            }
        )
    return out


def render_section(state: TestRailState, row: Row) -> Row:
    """One section with its current ``depth`` and ``display_order``."""
    for sec in render_sections(state, row["suite_id"]):
        if sec["id"] == row["id"]:
            return sec
    raise invalid("section_id", "section")  # pragma: no cover - row is always in its suite


def render_labels(state: TestRailState, label_ids: list[int]) -> list[Row]:
    """Case ``labels``: ``[{id, title, created_by, created_on}]`` (§5.4)."""
    return [public(state.labels[i]) for i in label_ids if i in state.labels]


_STEP_FLAGS = {"additional_info": "has_additional", "refs": "has_reference"}


def steps_as_shown(steps: Any, options: Row) -> Any:
    """A Steps (type 10) value the way TestRail answers it for a field config's ``options``.

    Every step has ``content`` and ``expected`` (unless the config says ``has_expected:
    false``); ``additional_info`` and ``refs`` appear only when the config enables them
    (``has_additional``, ``has_reference``), and
    ``shared_step_id`` only on steps that came from a shared step set. Evidence: the real Server
    export mlbexport__get_cases_items_steps_separated.json answers ``{content, expected}`` steps
    for a field whose options are ``has_expected: true`` without the other two flags, and
    testrail-api.md §5.4 lists ``additional_info``/``refs`` "if has_additional/has_reference".
    The stored value keeps every column, so switching a flag on shows what was written.
    """
    if not isinstance(steps, list):
        return copy.deepcopy(steps)
    shown = ["content"]
    if options.get("has_expected") is not False:
        shown.append("expected")
    shown += [key for key in ("additional_info", "refs") if options.get(_STEP_FLAGS[key])]
    out = []
    for step in steps:
        row = {key: step.get(key) for key in shown}
        if step.get("shared_step_id") is not None:
            row["shared_step_id"] = step["shared_step_id"]
        out.append(row)
    return out


def custom_values(state: TestRailState, project_id: int, values: Row) -> Row:
    """``custom_*`` keys for every case field configured for the project, null when unset;
    Steps values shaped by the project's field config (:func:`steps_as_shown`)."""
    out: Row = {}
    for field in state.fields_for_project(state.case_fields, project_id):
        value = values.get(field["system_name"])
        if field["type_id"] == STEPS:
            options = (field_config(field, project_id) or {}).get("options") or {}
            out[field["system_name"]] = steps_as_shown(value, options)
        else:
            out[field["system_name"]] = copy.deepcopy(value)
    return out


def render_case(state: TestRailState, row: Row) -> Row:
    """A case in the read model of §5.4: system fields in the recorded order, ``estimate`` as
    a timespan string, ``is_deleted: 0``, ``labels``, then every project case field as
    ``custom_*``."""
    project_id = state.suites[row["suite_id"]]["project_id"]
    out: Row = {
        "id": row["id"],
        "title": row["title"],
        "section_id": row["section_id"],
        "template_id": row["template_id"],
        "type_id": row["type_id"],
        "priority_id": row["priority_id"],
        "milestone_id": row["milestone_id"],
        "refs": row["refs"],
        "created_by": row["created_by"],
        "created_on": row["created_on"],
        "updated_by": row["updated_by"],
        "updated_on": row["updated_on"],
        "estimate": format_timespan(row["estimate"]),
        "estimate_forecast": format_timespan(row.get("_forecast")),
        "suite_id": row["suite_id"],
        "display_order": row["display_order"],
        "is_deleted": 0,
        "labels": render_labels(state, row["labels"]),
    }
    out.update(custom_values(state, project_id, row["custom"]))
    return out


def render_field(row: Row) -> Row:
    """A case/result field as ``get_case_fields`` returns it (§5.6)."""
    return public(row)
