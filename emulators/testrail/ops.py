"""Writes on a :class:`TestRailState`: projects, suites, sections, cases, fields, milestones,
users, labels and shared steps, validated the way TestRail validates them.

Both the HTTP handlers (:mod:`emulators.testrail.api`) and the seeders
(:mod:`emulators.testrail.seed`) call these, so seeded data goes through the same rules as API
writes. Every function expects the caller to hold ``state.lock`` (the app does). Failures raise
:class:`~emulators.testrail.errors.ApiError` (400 with TestRail's text).

Body dicts are the decoded JSON of the request (testrail-api.md §5, Appendix A).
"""

from __future__ import annotations

import copy
import json
from typing import Any

from emulators.testrail.errors import ApiError, bad_request, invalid, required
from emulators.testrail.store import (
    CHECKBOX,
    DATE,
    DROPDOWN,
    INTEGER,
    MILESTONE,
    MULTI_SELECT,
    STEP_RESULTS,
    STEPS,
    STRING,
    TEXT,
    URL,
    USER,
    Row,
    TestRailState,
    field_config,
    parse_items,
)
from emulators.testrail.values import (
    Body,
    opt_int,
    req_text,
    to_bool,
    to_id_list,
    to_int,
    to_text,
    to_timespan,
)

# ---------------------------------------------------------------------------------------------
# projects and suites (§5.1, §5.2)


def add_project(state: TestRailState, body: Body, *, master_suite_name: str = "Master") -> Row:
    """``add_project``: ``name``*, ``announcement``, ``show_announcement``, ``suite_mode`` (1..3,
    default 1). Single-suite projects (modes 1/2) get their one suite, named ``Master``."""
    name = req_text(body, "name")
    mode = opt_int(body, "suite_mode") or 1
    if mode not in (1, 2, 3):
        raise bad_request("Field :suite_mode is not a valid suite mode.")
    pid = state.next_id("project")
    row: Row = {
        "id": pid,
        "name": name,
        "announcement": to_text(body.get("announcement"), "announcement"),
        "show_announcement": to_bool(body.get("show_announcement", False), "show_announcement"),
        "is_completed": False,
        "completed_on": None,
        "suite_mode": mode,
    }
    state.projects[pid] = row
    if mode in (1, 2):
        _new_suite(state, pid, master_suite_name, None, is_master=True)
    return row


def update_project(state: TestRailState, project_id: int, body: Body) -> Row:
    """``update_project``: partial ``name``, ``announcement``, ``show_announcement``,
    ``is_completed`` (sets/clears ``completed_on``)."""
    row = state.project(project_id)
    if "name" in body:
        row["name"] = req_text(body, "name")
    if "announcement" in body:
        row["announcement"] = to_text(body["announcement"], "announcement")
    if "show_announcement" in body:
        row["show_announcement"] = to_bool(body["show_announcement"], "show_announcement")
    if "is_completed" in body:
        done = to_bool(body["is_completed"], "is_completed")
        if done != row["is_completed"]:
            row["is_completed"] = done
            row["completed_on"] = state.now() if done else None
    return row


def _new_suite(
    state: TestRailState,
    project_id: int,
    name: str,
    description: str | None,
    *,
    is_master: bool,
    is_baseline: bool = False,
) -> Row:
    sid = state.next_id("suite")
    row: Row = {
        "id": sid,
        "name": name,
        "description": description,
        "project_id": project_id,
        "is_master": is_master,
        "is_baseline": is_baseline,
        "is_completed": False,
        "completed_on": None,
    }
    state.suites[sid] = row
    return row


def add_suite(state: TestRailState, project_id: int, body: Body) -> Row:
    """``add_suite/{project_id}``: ``name``*, ``description``.

    - Mode 3 (multiple suites): a new ordinary suite (``is_master: false``).
    - Mode 2 (single suite + baselines): once the master exists, a new suite is a **baseline**
      (``is_baseline: true``, ``is_master: false``): testrail-api.md §5.2 "Baselines
      (``suite_mode`` 2) are extra suites with ``is_baseline: true``", §5.1 "2 single suite +
      baselines". [INF] the reference does not say which API call creates a baseline; the
      emulator takes ``add_suite`` on a mode-2 project as that call. It starts empty, like any
      new suite; :func:`emulators.testrail.seed.add_baseline` copies the master into one.
    - Mode 1 (single suite): a project that already has its suite answers 400 ``The project is
      in single suite mode and already has a test suite.`` [unverified text].

    A mode 1/2 project without its master suite (never the case after :func:`add_project`)
    gets the new suite as its master.
    """
    project = state.project(project_id)
    name = req_text(body, "name")
    description = to_text(body.get("description"), "description")
    if project["suite_mode"] == 3:
        return _new_suite(state, project_id, name, description, is_master=False)
    if state.master_suite(project) is None:
        return _new_suite(state, project_id, name, description, is_master=True)
    if project["suite_mode"] == 2:
        return _new_suite(state, project_id, name, description, is_master=False, is_baseline=True)
    raise bad_request("The project is in single suite mode and already has a test suite.")


def update_suite(state: TestRailState, suite_id: int, body: Body) -> Row:
    """``update_suite/{suite_id}``: partial ``name``, ``description``."""
    row = state.suite(suite_id)
    if "name" in body:
        row["name"] = req_text(body, "name")
    if "description" in body:
        row["description"] = to_text(body["description"], "description")
    return row


def resolve_suite(
    state: TestRailState, project: Row, suite_id: Any, *, field: str = "suite_id"
) -> Row:
    """The suite a project-level call works on (§5.1 suite modes).

    Mode 3: ``suite_id`` required (400 ``Field :suite_id is a required field.``) and must belong
    to the project (400 ``Field :suite_id is not a valid test suite.``). Modes 1/2: the single
    suite is implied; a given ``suite_id`` must still be one of the project's suites.
    """
    if suite_id is None or suite_id == "":
        if project["suite_mode"] == 3:
            raise required(field)
        master = state.master_suite(project)
        if master is None:
            raise invalid(field, "test suite")
        return master
    suite = state.suite(to_int(suite_id, field), field)
    if suite["project_id"] != project["id"]:
        raise invalid(field, "test suite")
    return suite


# ---------------------------------------------------------------------------------------------
# sections (§5.3)


def add_section(state: TestRailState, project_id: int, body: Body) -> Row:
    """``add_section/{project_id}``: ``name``*, ``description``, ``suite_id`` (required in mode 3),
    ``parent_id`` (a section of the same suite; 400 ``Field :parent_id is not a valid section.``).
    The new section goes last among its siblings."""
    project = state.project(project_id)
    name = req_text(body, "name")
    parent_id = opt_int(body, "parent_id")
    if project["suite_mode"] == 3 or body.get("suite_id") not in (None, ""):
        suite = resolve_suite(state, project, body.get("suite_id"))
    else:
        suite = resolve_suite(state, project, None)
    if parent_id is not None:
        parent = state.section(parent_id, "parent_id")
        if parent["suite_id"] != suite["id"]:
            raise invalid("parent_id", "section")
    siblings = [
        s["_order"]
        for s in state.sections.values()
        if s["suite_id"] == suite["id"] and s["parent_id"] == parent_id
    ]
    sid = state.next_id("section")
    row: Row = {
        "id": sid,
        "suite_id": suite["id"],
        "name": name,
        "description": to_text(body.get("description"), "description"),
        "parent_id": parent_id,
        "_order": max(siblings, default=0) + 1,
    }
    state.sections[sid] = row
    return row


def update_section(state: TestRailState, section_id: int, body: Body) -> Row:
    """``update_section/{section_id}``: partial ``name``, ``description``."""
    row = state.section(section_id)
    if "name" in body:
        row["name"] = req_text(body, "name")
    if "description" in body:
        row["description"] = to_text(body["description"], "description")
    return row


def move_section(state: TestRailState, section_id: int, body: Body) -> Row:
    """``move_section/{section_id}``: ``parent_id`` (null = root; same suite, not a descendant)
    and ``after_id`` (null = first among the new siblings)."""
    row = state.section(section_id)
    parent_id = opt_int(body, "parent_id")
    after_id = opt_int(body, "after_id")
    if parent_id is not None:
        parent = state.section(parent_id, "parent_id")
        if parent["suite_id"] != row["suite_id"] or parent_id in state.descendants(section_id):
            raise invalid("parent_id", "section")
    siblings = sorted(
        (
            s
            for s in state.sections.values()
            if s["suite_id"] == row["suite_id"] and s["parent_id"] == parent_id and s is not row
        ),
        key=lambda s: (s["_order"], s["id"]),
    )
    position = 0
    if after_id is not None:
        ids = [s["id"] for s in siblings]
        if after_id not in ids:
            raise invalid("after_id", "section")
        position = ids.index(after_id) + 1
    siblings.insert(position, row)
    row["parent_id"] = parent_id
    for order, sec in enumerate(siblings, start=1):
        sec["_order"] = order
    return row


# ---------------------------------------------------------------------------------------------
# metadata: templates, types, priorities, fields (§5.6, §5.7)


def project_templates(state: TestRailState, project_id: int) -> list[Row]:
    """Templates enabled for a project (``get_templates/{project_id}``), by id."""
    return [
        t
        for t in state.templates.values()
        if t["_project_ids"] is None or project_id in t["_project_ids"]
    ]


def ensure_template(state: TestRailState, name: str) -> Row:
    """The template called ``name``, created (instance-wide, not default) if missing."""
    row = state.find_by_name(state.templates, name)
    if row is None:
        tid = state.next_id("template")
        row = {
            "id": tid,
            "name": name,
            "i18n_custom_id": None,
            "is_default": False,
            "_project_ids": None,
        }
        state.templates[tid] = row
    return row


def ensure_case_type(state: TestRailState, name: str) -> Row:
    """The case type called ``name``, created if missing."""
    row = state.find_by_name(state.case_types, name)
    if row is None:
        i = state.next_id("case_type")
        row = {"id": i, "name": name, "is_default": False, "i18n_custom_id": None}
        state.case_types[i] = row
    return row


def ensure_priority(state: TestRailState, name: str) -> Row:
    """The priority called ``name``, created if missing with the next-higher weight."""
    row = state.find_by_name(state.priorities, name)
    if row is None:
        i = state.next_id("priority")
        weight = max((p["priority"] for p in state.priorities.values()), default=0) + 1
        row = {"id": i, "name": name, "short_name": name, "is_default": False, "priority": weight}
        state.priorities[i] = row
    return row


# ``add_case_field`` ``type``: a type name or its number as a *string* (testrail-api.md §5.6;
# tolstislon ``add_case_field`` docstring lists the names). Step Results (11) are result-only.
FIELD_TYPES = {
    "string": STRING,
    "integer": INTEGER,
    "text": TEXT,
    "url": URL,
    "checkbox": CHECKBOX,
    "dropdown": DROPDOWN,
    "user": USER,
    "date": DATE,
    "milestone": MILESTONE,
    "steps": STEPS,
    "multiselect": MULTI_SELECT,
    "multi-select": MULTI_SELECT,
}
FIELD_TYPE_INVALID = "Field :type is not a valid field type."  # [unverified text]


def _field_type(value: Any) -> int:
    """The type id of an ``add_case_field`` ``type``. A JSON number is refused with 400, as the
    docs warn (``{type: 5}`` instead of ``{type: "5"}``)."""
    if value is None or value == "":
        raise required("type")
    if not isinstance(value, str):
        raise bad_request(FIELD_TYPE_INVALID)
    text = value.strip().lower()
    if text.isdigit() and int(text) in FIELD_TYPES.values():
        return int(text)
    if text in FIELD_TYPES:
        return FIELD_TYPES[text]
    raise bad_request(FIELD_TYPE_INVALID)


def _field_configs(state: TestRailState, value: Any, type_id: int) -> list[Row]:
    """Validate ``configs`` of ``add_case_field``: a non-empty array of ``{context, options}``.

    ``context.is_global`` (bool) or ``context.project_ids`` (existing projects) say where the
    config applies; ``options`` is kept as sent (``is_required`` defaults to false). Dropdown and
    Multi-select configs need ``options.items``. Each config gets a GUID ``id``. Texts of the
    400s are [unverified]; a global config is stored with ``project_ids: []`` (what fields
    created after install show: codepine__case_field_steps_type10.json,
    dichovsky__live_result_fields.json), stock fields keep ``null``.
    """
    if not isinstance(value, list) or not value:
        raise required("configs")
    out = []
    for config in value:
        if not isinstance(config, dict) or not isinstance(config.get("context"), dict):
            raise bad_request("Field :configs is not a valid array.")
        context = config["context"]
        is_global = to_bool(context.get("is_global", False), "configs.context.is_global")
        raw_ids = context.get("project_ids")
        project_ids = [] if raw_ids in (None, "") else to_id_list(raw_ids, "configs.context")
        for pid in project_ids:
            state.project(pid, "configs.context.project_ids")
        if not is_global and not project_ids:
            raise required("configs.context.project_ids")
        options = config.get("options") or {}
        if not isinstance(options, dict):
            raise bad_request("Field :configs.options is not a valid object.")
        options = copy.deepcopy(options)
        options["is_required"] = to_bool(
            options.get("is_required", False), "configs.options.is_required"
        )
        if type_id in (DROPDOWN, MULTI_SELECT) and not parse_items(str(options.get("items") or "")):
            raise required("configs.options.items")
        out.append(
            {
                "context": {
                    "is_global": is_global,
                    "project_ids": [] if is_global else project_ids,
                },
                "options": options,
                "id": state.guid(),
            }
        )
    return out


def add_case_field(state: TestRailState, body: Body) -> Row:
    """``add_case_field`` (admin): ``type``*, ``name``*, ``label``*, ``configs``*,
    ``description``, ``include_all`` (default false), ``template_ids`` (existing templates).

    Creates a case field whose ``system_name`` is ``custom_<name>``; a name already used by a
    case field -> 400 ``Field :name is already in use.`` [unverified text]. Returns the stored
    row; :func:`case_field_echo` renders the answer (which differs from ``get_case_fields``).
    """
    type_id = _field_type(body.get("type"))
    name = req_text(body, "name").strip()
    label = req_text(body, "label")
    if any(f["name"] == name for f in state.case_fields.values()):
        raise bad_request("Field :name is already in use.")
    include_all = to_bool(body.get("include_all", False), "include_all")
    template_ids = to_id_list(body.get("template_ids") or [], "template_ids")
    for tid in template_ids:
        if tid not in state.templates:
            raise invalid("template_ids", "template")
    configs = _field_configs(state, body.get("configs"), type_id)
    row = state.add_field_row(
        state.case_fields,
        "case_field",
        name=name,
        label=label,
        type_id=type_id,
        template_ids=template_ids,
        include_all=include_all,
        description=to_text(body.get("description"), "description"),
    )
    row["configs"] = configs
    return row


def case_field_echo(row: Row) -> Row:
    """The ``add_case_field`` answer: unlike ``get_case_fields`` it carries ``configs`` as a
    JSON-encoded *string* (global configs with ``project_ids: ""``), booleans as 0/1 and the
    extra ``entity_id``, ``location_id``, ``is_multi``, ``status_id``, ``is_system`` columns
    (testrail-api.md §5.6; jonny7/testrail-kit ``addedCaseFieldResponse``)."""
    configs = [
        {
            "context": {
                "is_global": c["context"]["is_global"],
                "project_ids": "" if c["context"]["is_global"] else c["context"]["project_ids"],
            },
            "options": c["options"],
            "id": c["id"],
        }
        for c in row["configs"]
    ]
    return {
        "id": row["id"],
        "name": row["name"],
        "system_name": row["system_name"],
        "entity_id": 1,
        "label": row["label"],
        "description": row["description"],
        "type_id": row["type_id"],
        "location_id": 2,
        "display_order": row["display_order"],
        "configs": json.dumps(configs, separators=(",", ":")),
        "is_multi": int(row["type_id"] == MULTI_SELECT),
        "is_active": int(row["is_active"]),
        "status_id": 1,
        "is_system": 0,
        "include_all": int(row["include_all"]),
        "template_ids": list(row["template_ids"]),
    }


def activate_custom_status(
    state: TestRailState,
    status_id: int,
    *,
    name: str,
    label: str,
    colors: tuple[int, int, int] = (0, 10526880, 13684944),
    is_final: bool = False,
) -> Row:
    """Seeding only (TestRail has no API for it): enable custom status ``status_id`` (6..12,
    ``custom_status1`` .. ``custom_status7``) under ``name``/``label``, as an admin does under
    Administration > Customizations. It is then listed by ``get_statuses`` with
    ``is_system: false`` and ``i18n_custom_id: null`` (dichovsky__live_statuses.json ids 7, 8)
    and accepted in results."""
    if status_id not in range(6, 13):
        raise bad_request("Field :status_id is not a valid custom status.")
    dark, medium, bright = colors
    row: Row = {
        "id": status_id,
        "name": name,
        "label": label,
        "color_dark": dark,
        "color_medium": medium,
        "color_bright": bright,
        "is_system": False,
        "is_untested": False,
        "is_final": is_final,
        "i18n_custom_id": None,
        "_active": True,
    }
    state.statuses[status_id] = row
    state.statuses = dict(sorted(state.statuses.items()))
    return row


def _default(table: dict[int, Row]) -> Row | None:
    for row in table.values():
        if row.get("is_default"):
            return row
    return next(iter(table.values()), None)


def field_applies(field: Row, template_id: int) -> bool:
    """True when a case field is shown on ``template_id`` (``include_all`` or listed)."""
    return bool(field["include_all"]) or template_id in field["template_ids"]


_KIND = {
    STRING: "string",
    INTEGER: "integer",
    TEXT: "text",
    URL: "URL",
    CHECKBOX: "checkbox value",
    DROPDOWN: "dropdown value",
    USER: "user",
    DATE: "date",
    MILESTONE: "milestone",
    STEPS: "steps array",
    STEP_RESULTS: "step results array",
    MULTI_SELECT: "multi-select value",
}


#: Longest String (type 1) custom field value: testrail-api.md §5.4 "string (≤ 250 chars)".
STRING_MAX = 250


def _field_error(field: Row, prefix: str) -> ApiError:
    kind = _KIND.get(field["type_id"], "value")
    return bad_request(f"Field :{prefix}{field['system_name']} is not a valid {kind}.")


def custom_value(
    state: TestRailState, field: Row, config: Row, value: Any, project_id: int, prefix: str = ""
) -> tuple[bool, Any]:
    """Validate one ``custom_*`` value by the field's type (§5.4 encoding table).

    Returns ``(store, value)``; ``store`` is False when TestRail silently drops the value
    (a scalar written to a multi-select, bun913/mcp-testrail#47). Invalid values raise 400
    ``Field :custom_x is not a valid <kind>.`` [unverified text]. ``None`` clears the value.
    A String (type 1) value longer than :data:`STRING_MAX` characters raises 400
    ``Field :custom_x is too long (250 characters maximum).``: §5.4 table, type 1 "string
    (≤ 250 chars)" [unverified text; counted in characters, not bytes, INF].
    """
    if value is None:
        return True, None
    t = field["type_id"]
    options = config.get("options") or {}
    if t in (STRING, TEXT, URL, DATE) or t > MULTI_SELECT:
        if isinstance(value, (dict, list, bool)):
            raise _field_error(field, prefix)
        text = value if isinstance(value, str) else str(value)
        if t == STRING and len(text) > STRING_MAX:
            raise bad_request(
                f"Field :{prefix}{field['system_name']} is too long "
                f"({STRING_MAX} characters maximum)."
            )
        return True, text
    if t == INTEGER:
        try:
            return True, to_int(value, "x")
        except ApiError:
            raise _field_error(field, prefix) from None
    if t == CHECKBOX:
        try:
            return True, to_bool(value, "x")
        except ApiError:
            raise _field_error(field, prefix) from None
    if t == DROPDOWN:
        items = parse_items(str(options.get("items") or ""))
        try:
            key = to_int(value, "x")
        except ApiError:
            raise _field_error(field, prefix) from None
        if key not in items:
            raise _field_error(field, prefix)
        return True, key
    if t == MULTI_SELECT:
        if not isinstance(value, list):
            return False, None
        items = parse_items(str(options.get("items") or ""))
        try:
            keys = [to_int(v, "x") for v in value]
        except ApiError:
            raise _field_error(field, prefix) from None
        if any(k not in items for k in keys):
            raise _field_error(field, prefix)
        return True, keys
    if t == USER:
        uid = _int_or_error(value, field, prefix)
        if uid not in state.users:
            raise _field_error(field, prefix)
        return True, uid
    if t == MILESTONE:
        mid = _int_or_error(value, field, prefix)
        ms = state.milestones.get(mid)
        if ms is None or ms["project_id"] != project_id:
            raise _field_error(field, prefix)
        return True, mid
    if t == STEPS:
        return True, normalise_steps(state, value, field, project_id, prefix)
    if t == STEP_RESULTS:
        if not isinstance(value, list) or not all(isinstance(s, dict) for s in value):
            raise _field_error(field, prefix)
        return True, [_step_result(s, field, prefix) for s in value]
    return True, value  # pragma: no cover - every type handled above


def _int_or_error(value: Any, field: Row, prefix: str) -> int:
    try:
        return to_int(value, "x")
    except ApiError:
        raise _field_error(field, prefix) from None


_STEP_KEYS = ("content", "expected", "additional_info", "refs")


def normalise_steps(
    state: TestRailState, value: Any, field: Row, project_id: int, prefix: str = ""
) -> list[Row]:
    """A Steps (type 10) value as stored and returned: ``[{content, expected, additional_info,
    refs}]`` with unset sub-fields ``null`` (§5.4 step object). A step ``{"shared_step_id": N}``
    is expanded into the shared step's steps, each carrying ``shared_step_id`` (§5.4, the UI's
    behaviour; [unverified] via API). Strings are kept verbatim."""
    if not isinstance(value, list):
        raise _field_error(field, prefix)
    out: list[Row] = []
    for step in value:
        if not isinstance(step, dict):
            raise _field_error(field, prefix)
        if step.get("shared_step_id") is not None:
            sid = _int_or_error(step["shared_step_id"], field, prefix)
            shared = state.shared_steps.get(sid)
            if shared is None or shared["project_id"] != project_id:
                raise bad_request(
                    f"Field :{prefix}{field['system_name']} uses an invalid shared step."
                )
            out.extend(dict(s, shared_step_id=sid) for s in shared["custom_steps_separated"])
            continue
        clean: Row = {}
        for key in _STEP_KEYS:
            v = step.get(key)
            if v is not None and not isinstance(v, str):
                if isinstance(v, (dict, list, bool)):
                    raise _field_error(field, prefix)
                v = str(v)
            clean[key] = v
        out.append(clean)
    return out


def _step_result(step: Row, field: Row, prefix: str) -> Row:
    out: Row = {}
    for key in ("content", "expected", "actual", "additional_info"):
        out[key] = step.get(key)
    status = step.get("status_id")
    out["status_id"] = None if status is None else _int_or_error(status, field, prefix)
    return out


def apply_custom(
    state: TestRailState,
    table: dict[int, Row],
    project_id: int,
    body: Body,
    target: Row,
    prefix: str = "",
) -> dict[str, tuple[Any, Any]]:
    """Validate and store every ``custom_*`` key of ``body`` that names a field configured for
    the project; unknown or unconfigured ``custom_*`` keys are silently ignored (§11 item 10).
    Returns ``{system_name: (old, new)}`` of what changed."""
    by_name = {f["system_name"]: f for f in table.values()}
    changes: dict[str, tuple[Any, Any]] = {}
    for key, value in body.items():
        if not key.startswith("custom_") or key not in by_name:
            continue
        field = by_name[key]
        config = field_config(field, project_id)
        if config is None:
            continue
        store, clean = custom_value(state, field, config, value, project_id, prefix)
        if store and target.get(key) != clean:
            changes[key] = (copy.deepcopy(target.get(key)), clean)
            target[key] = clean
    return changes


def _default_custom(field: Row, config: Row) -> Any:
    default = (config.get("options") or {}).get("default_value")
    if default in (None, ""):
        return None
    if field["type_id"] in (DROPDOWN, INTEGER):
        try:
            return int(str(default).strip())
        except ValueError:
            return None
    if field["type_id"] == CHECKBOX:
        return str(default).strip() in ("1", "true")
    return None  # text defaults are a UI pre-fill; API-created cases keep null


def check_required_custom(
    state: TestRailState,
    table: dict[int, Row],
    project_id: int,
    template_id: int | None,
    values: Row,
    prefix: str = "",
    *,
    only: set[str] | None = None,
) -> None:
    """400 ``Field :custom_x is a required field.`` (§1.4) for each required field (config
    ``is_required``) that applies (to ``template_id``, when given) and has no value; with
    ``only``, just the fields whose ``system_name`` is in it."""
    for field in state.fields_for_project(table, project_id):
        if only is not None and field["system_name"] not in only:
            continue
        if template_id is not None and not field_applies(field, template_id):
            continue
        config = field_config(field, project_id) or {}
        if (config.get("options") or {}).get("is_required") and values.get(
            field["system_name"]
        ) in (None, "", []):
            raise required(prefix + field["system_name"])


# ---------------------------------------------------------------------------------------------
# cases (§5.4)


def _case_system_fields(
    state: TestRailState, project: Row, body: Body, row: Row, *, partial: bool
) -> dict[str, tuple[Any, Any]]:
    """Validate and set title/template/type/priority/milestone/refs/estimate/labels on ``row``."""
    changes: dict[str, tuple[Any, Any]] = {}

    def put(key: str, value: Any) -> None:
        if row.get(key) != value:
            changes[key] = (row.get(key), value)
        row[key] = value

    if "title" in body or not partial:
        put("title", req_text(body, "title"))
    if "template_id" in body and body["template_id"] is not None:
        tid = to_int(body["template_id"], "template_id")
        if tid not in {t["id"] for t in project_templates(state, project["id"])}:
            raise invalid("template_id", "template")
        put("template_id", tid)
    elif not partial:
        enabled = project_templates(state, project["id"])
        default = next((t for t in enabled if t["is_default"]), enabled[0] if enabled else None)
        put("template_id", default["id"] if default else None)
    if "type_id" in body and body["type_id"] is not None:
        type_id = to_int(body["type_id"], "type_id")
        if type_id not in state.case_types:
            raise invalid("type_id", "case type")
        put("type_id", type_id)
    elif not partial:
        default_type = _default(state.case_types)
        put("type_id", default_type["id"] if default_type else None)
    if "priority_id" in body and body["priority_id"] is not None:
        priority_id = to_int(body["priority_id"], "priority_id")
        if priority_id not in state.priorities:
            raise invalid("priority_id", "priority")
        put("priority_id", priority_id)
    elif not partial:
        default_priority = _default(state.priorities)
        put("priority_id", default_priority["id"] if default_priority else None)
    if "milestone_id" in body or not partial:
        mid = opt_int(body, "milestone_id")
        if mid is not None and state.milestone(mid)["project_id"] != project["id"]:
            raise invalid("milestone_id", "milestone")
        put("milestone_id", mid)
    if "refs" in body or not partial:
        refs = to_text(body.get("refs"), "refs")
        put("refs", refs if refs != "" else None)
    if "estimate" in body or not partial:
        put("estimate", to_timespan(body.get("estimate"), "estimate"))
    if "labels" in body or not partial:
        put("labels", resolve_labels(state, project["id"], body.get("labels")))
    return changes


def resolve_labels(state: TestRailState, project_id: int, value: Any) -> list[int]:
    """Case ``labels`` written as ids or titles (§5.4); titles are created in the project.
    Unknown ids -> 400 ``Field :labels is not a valid label.`` [unverified text]."""
    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list):
        raise bad_request("Field :labels is not a valid array.")
    out: list[int] = []
    for item in value:
        if isinstance(item, int) and not isinstance(item, bool):
            label = state.labels.get(item)
            if label is None or label["project_id"] != project_id:
                raise invalid("labels", "label")
        elif isinstance(item, str):
            label = next(
                (
                    lb
                    for lb in state.labels.values()
                    if lb["project_id"] == project_id and lb["title"] == item
                ),
                None,
            )
            if label is None:
                lid = state.next_id("label")
                label = {
                    "id": lid,
                    "title": item,
                    "created_by": None,
                    "created_on": state.now(),
                    "project_id": project_id,
                }
                state.labels[lid] = label
        else:
            raise invalid("labels", "label")
        if label["id"] not in out:
            out.append(label["id"])
    return out


def add_case(
    state: TestRailState,
    section_id: int,
    body: Body,
    user_id: int | None,
    *,
    apply_defaults: bool = True,
    created_on: int | None = None,
    updated_on: int | None = None,
    field: str = "section_id",
) -> Row:
    """``add_case/{section_id}``: ``title``*, ``template_id``, ``type_id``, ``priority_id``,
    ``estimate`` (timespan), ``milestone_id``, ``refs``, ``labels`` and ``custom_*`` values of
    fields that exist (others ignored). Omitted type/priority/template take the defaults;
    dropdown/checkbox/integer fields take their configured ``default_value`` when
    ``apply_defaults``. Required custom fields of the template must be present.

    ``created_on``/``updated_on`` override the server clock (seeders only); the new case is
    appended to its section (``display_order`` = last + 1) and added to open ``include_all``
    runs of its suite.
    """
    section = state.section(section_id, field)
    suite = state.suites[section["suite_id"]]
    project = state.projects[suite["project_id"]]
    row: Row = {"id": 0, "section_id": section_id, "suite_id": suite["id"]}
    _case_system_fields(state, project, body, row, partial=False)
    custom: Row = {}
    apply_custom(state, state.case_fields, project["id"], body, custom)
    if apply_defaults:
        for f in state.fields_for_project(state.case_fields, project["id"]):
            if f["system_name"] not in custom and field_applies(f, row["template_id"]):
                value = _default_custom(f, field_config(f, project["id"]) or {})
                if value is not None:
                    custom[f["system_name"]] = value
    check_required_custom(state, state.case_fields, project["id"], row["template_id"], custom)
    now = state.now()
    cid = state.next_id("case")
    position = state.next_display_order(section_id, cid) - 1
    row.update(
        id=cid,
        created_by=user_id,
        created_on=created_on if created_on is not None else now,
        updated_by=user_id,
        updated_on=updated_on if updated_on is not None else (created_on or now),
        display_order=position + 1,
        custom=custom,
    )
    ordered = {k: row[k] for k in ("id", "title", "section_id", "suite_id")}
    ordered.update(row)
    state.put("cases", ordered)
    from emulators.testrail import runs as _runs  # local: runs imports this module

    _runs.add_case_to_open_runs(state, ordered)
    return ordered


def update_case(state: TestRailState, case_id: int, body: Body, user_id: int | None) -> Row:
    """``update_case/{case_id}``: any ``add_case`` field, partially; ``section_id`` moves the case
    within its suite (400 ``Field :section_id is not a valid section.`` otherwise) and appends it
    to the target section. A ``custom_steps_separated`` value replaces the whole array.
    Always bumps ``updated_on`` (server clock) and ``updated_by``; records a history entry.

    Clearing a required custom field (``null``, ``""`` or ``[]`` for a field whose config says
    ``is_required`` and that applies to the case's template) answers 400 ``Field :custom_x is
    a required field.`` as ``add_case`` does (§1.4 verbatim text, §12 item 5 "required custom
    fields"). [INF] only the keys the body sends are checked: the reference does not say
    whether TestRail refuses an update of a case that already lacks a required value.
    """
    row = state.case(case_id)
    suite = state.suites[row["suite_id"]]
    project = state.projects[suite["project_id"]]
    work = copy.deepcopy(row)
    changes = _case_system_fields(state, project, body, work, partial=True)
    changes.update(apply_custom(state, state.case_fields, project["id"], body, work["custom"]))
    sent = {key: work["custom"].get(key) for key in body if key.startswith("custom_")}
    check_required_custom(
        state, state.case_fields, project["id"], work["template_id"], sent, only=set(sent)
    )
    if body.get("section_id") is not None:
        target = state.section(to_int(body["section_id"], "section_id"))
        if target["suite_id"] != row["suite_id"]:
            raise invalid("section_id", "section")
        if target["id"] != row["section_id"]:
            changes["section_id"] = (row["section_id"], target["id"])
            work["section_id"] = target["id"]
            work["display_order"] = state.next_display_order(target["id"], row["id"])
    now = state.now()
    work["updated_on"] = now
    work["updated_by"] = user_id
    row.clear()
    row.update(work)
    state.reindex("cases", row)
    if changes:
        record_history(state, case_id, user_id, now, changes)
    return row


def record_history(
    state: TestRailState,
    case_id: int,
    user_id: int | None,
    when: int,
    changes: dict[str, tuple[Any, Any]],
) -> None:
    """Append a ``get_history_for_case`` entry (§5.5): ``{id, type_id: 6, created_on, user_id,
    changes: [{type_id, field, old_value, new_value}]}``."""
    entry = {
        "id": state.next_id("history"),
        "type_id": 6,
        "created_on": when,
        "user_id": user_id,
        "changes": [
            {"type_id": 1, "field": key, "old_value": old, "new_value": new}
            for key, (old, new) in changes.items()
        ],
    }
    state.history.setdefault(case_id, []).append(entry)


def move_cases_to_section(
    state: TestRailState, section_id: int, body: Body, user_id: int | None
) -> None:
    """``move_cases_to_section/{section_id}``: ``case_ids``*, ``suite_id``; keeps ids, bumps
    ``updated_on``. Cases of another suite move only when ``suite_id`` names the target's suite."""
    target = state.section(section_id)
    if body.get("case_ids") is None:
        raise required("case_ids")
    ids = to_id_list(body["case_ids"], "case_ids")
    for cid in ids:
        case = state.case(cid)
        if (
            case["suite_id"] != target["suite_id"]
            and opt_int(body, "suite_id") != target["suite_id"]
        ):
            raise invalid("case_ids", "test case")
    for cid in ids:
        case = state.cases[cid]
        if case["section_id"] == section_id:
            continue
        if case["suite_id"] == target["suite_id"]:
            update_case(state, cid, {"section_id": section_id}, user_id)
        else:
            _cross_suite_move(state, case, target, user_id)


def _cross_suite_move(state: TestRailState, case: Row, target: Row, user_id: int | None) -> None:
    old = case["section_id"]
    case["section_id"] = target["id"]
    case["suite_id"] = target["suite_id"]
    case["display_order"] = state.next_display_order(target["id"], case["id"])
    state.reindex("cases", case)
    case["updated_on"] = state.now()
    case["updated_by"] = user_id
    record_history(
        state, case["id"], user_id, case["updated_on"], {"section_id": (old, target["id"])}
    )


def delete_cases(state: TestRailState, case_ids: list[int], *, soft: bool) -> Row | None:
    """Delete cases (hard) with their tests and results in active runs; ``soft`` only counts
    (§9): returns ``{"affected_tests": n}`` for a soft call, None after a hard delete."""
    tests = sorted(
        (
            t
            for cid in dict.fromkeys(case_ids)
            for t in state.indexed("case", cid)
            if not state.runs[t["run_id"]]["is_completed"]
        ),
        key=lambda t: t["id"],
    )
    if soft:
        return {"affected_tests": len(tests)}
    for t in tests:
        for rid in [r["id"] for r in state.indexed("test", t["id"])]:
            del state.results[rid]
        del state.tests[t["id"]]
    for cid in case_ids:
        state.cases.pop(cid, None)
        state.history.pop(cid, None)
    return None


def delete_section(state: TestRailState, section_id: int, *, soft: bool) -> Row | None:
    """``delete_section``: the section, its sub-sections and their cases (and active tests);
    ``soft`` returns ``{"affected_sections", "affected_cases", "affected_tests"}`` instead."""
    state.section(section_id)
    sections = state.descendants(section_id)
    cases = sorted(c["id"] for sid in sections for c in state.indexed("section", sid))
    counts = delete_cases(state, cases, soft=True) or {}
    if soft:
        return {"affected_sections": len(sections), "affected_cases": len(cases), **counts}
    delete_cases(state, cases, soft=False)
    for sid in sections:
        del state.sections[sid]
    return None


# ---------------------------------------------------------------------------------------------
# milestones (§5.9)


def add_milestone(state: TestRailState, project_id: int, body: Body) -> Row:
    """``add_milestone/{project_id}``: ``name``*, ``description``, ``due_on``, ``start_on`` (UNIX
    seconds), ``parent_id`` (a milestone of the project), ``refs``."""
    state.project(project_id)
    name = req_text(body, "name")
    parent_id = opt_int(body, "parent_id")
    if (
        parent_id is not None
        and state.milestone(parent_id, "parent_id")["project_id"] != project_id
    ):
        raise invalid("parent_id", "milestone")
    mid = state.next_id("milestone")
    row: Row = {
        "id": mid,
        "name": name,
        "description": to_text(body.get("description"), "description"),
        "start_on": opt_int(body, "start_on"),
        "started_on": None,
        "is_started": False,
        "due_on": opt_int(body, "due_on"),
        "is_completed": False,
        "completed_on": None,
        "project_id": project_id,
        "parent_id": parent_id,
        "refs": to_text(body.get("refs"), "refs"),
    }
    state.milestones[mid] = row
    return row


def update_milestone(state: TestRailState, milestone_id: int, body: Body) -> Row:
    """``update_milestone``: partial add fields plus ``is_completed``/``is_started`` (which set
    ``completed_on``/``started_on`` to now)."""
    row = state.milestone(milestone_id)
    for key in ("name",):
        if key in body:
            row[key] = req_text(body, key)
    for key in ("description", "refs"):
        if key in body:
            row[key] = to_text(body[key], key)
    for key in ("start_on", "due_on"):
        if key in body:
            row[key] = opt_int(body, key)
    if "parent_id" in body:
        parent_id = opt_int(body, "parent_id")
        if parent_id is not None and (
            parent_id == milestone_id
            or state.milestone(parent_id, "parent_id")["project_id"] != row["project_id"]
        ):
            raise invalid("parent_id", "milestone")
        row["parent_id"] = parent_id
    if "is_completed" in body:
        done = to_bool(body["is_completed"], "is_completed")
        if done != row["is_completed"]:
            row["is_completed"], row["completed_on"] = done, state.now() if done else None
    if "is_started" in body:
        started = to_bool(body["is_started"], "is_started")
        if started != row["is_started"]:
            row["is_started"], row["started_on"] = started, state.now() if started else None
    return row


# ---------------------------------------------------------------------------------------------
# users (§5.16)


def add_user(
    state: TestRailState,
    *,
    email: str,
    name: str | None = None,
    api_key: str | None = None,
    password: str | None = None,
    is_admin: bool = True,
) -> Row:
    """Create (or return the existing) user with login ``email``; ``api_key``/``password`` are the
    HTTP Basic secrets the emulator accepts for that user (kept in internal keys)."""
    row = state.find_user_by_email(email)
    if row is None:
        uid = state.next_id("user")
        row = {
            "id": uid,
            "name": name or email.split("@")[0].replace(".", " ").title(),
            "email": email,
            "is_active": True,
            "role_id": 1 if is_admin else 3,
            "role": "Lead" if is_admin else "Tester",
            "is_admin": is_admin,
            "email_notifications": True,
            "mfa_required": 0,
            "group_ids": [],
            "_api_keys": [],
            "_password": None,
        }
        state.users[uid] = row
    if api_key and api_key not in row["_api_keys"]:
        row["_api_keys"].append(api_key)
    if password:
        row["_password"] = password
    return row


# ---------------------------------------------------------------------------------------------
# shared steps (§5.8)


def add_shared_step(state: TestRailState, project_id: int, body: Body, user_id: int | None) -> Row:
    """``add_shared_step/{project_id}``: ``title``*, ``custom_steps_separated`` (array of steps)."""
    state.project(project_id)
    title = req_text(body, "title")
    steps = _shared_steps_value(state, body.get("custom_steps_separated") or [], project_id)
    now = state.now()
    sid = state.next_id("shared_step")
    row: Row = {
        "id": sid,
        "title": title,
        "project_id": project_id,
        "created_by": user_id,
        "created_on": now,
        "updated_by": user_id,
        "updated_on": now,
        "custom_steps_separated": steps,
        "_history": [],
    }
    state.shared_steps[sid] = row
    return row


def _shared_steps_value(state: TestRailState, value: Any, project_id: int) -> list[Row]:
    field = {"system_name": "custom_steps_separated", "type_id": STEPS}
    steps = normalise_steps(state, value, field, project_id)
    return [{k: s[k] for k in _STEP_KEYS} for s in steps]


def update_shared_step(
    state: TestRailState, shared_id: int, body: Body, user_id: int | None
) -> Row:
    """``update_shared_step/{id}``: partial ``title``/``custom_steps_separated``; the new steps
    replace the expanded copies in every case that uses the set (their ``updated_on`` is left
    alone: TestRail does not promise to bump it, §5.8)."""
    row = state.shared_steps.get(shared_id)
    if row is None:
        raise invalid("shared_step_id", "shared step")
    row["_history"].append(
        {
            "id": state.next_id("shared_step_history"),
            "timestamp": row["updated_on"],
            "user_id": row["updated_by"],
            "title": row["title"],
            "custom_steps_separated": copy.deepcopy(row["custom_steps_separated"]),
        }
    )
    if "title" in body:
        row["title"] = req_text(body, "title")
    if "custom_steps_separated" in body:
        row["custom_steps_separated"] = _shared_steps_value(
            state, body["custom_steps_separated"] or [], row["project_id"]
        )
        for case in state.cases.values():
            for f in state.case_fields.values():
                value = case["custom"].get(f["system_name"])
                if f["type_id"] == STEPS and isinstance(value, list):
                    case["custom"][f["system_name"]] = _reexpand(value, row)
    row["updated_on"] = state.now()
    row["updated_by"] = user_id
    return row


def _reexpand(steps: list[Row], shared: Row) -> list[Row]:
    out: list[Row] = []
    inside = False
    for step in steps:
        if step.get("shared_step_id") == shared["id"]:
            if not inside:
                out.extend(
                    dict(s, shared_step_id=shared["id"]) for s in shared["custom_steps_separated"]
                )
            inside = True
            continue
        inside = False
        out.append(step)
    return out


def delete_shared_step(state: TestRailState, shared_id: int, *, keep_in_cases: Any) -> None:
    """``delete_shared_step/{id}``: drop the set; its cases keep the expanded steps as their
    own (``shared_step_id`` removed) when ``keep_in_cases`` is 1 (the default), or lose
    those steps when it is 0 (testrail-api.md §5.8)."""
    keep = str(keep_in_cases) not in ("0", "False", "false")
    for case in state.cases.values():
        for f in state.case_fields.values():
            value = case["custom"].get(f["system_name"])
            if f["type_id"] != STEPS or not isinstance(value, list):
                continue
            kept: list[Row] = []
            for step in value:
                if isinstance(step, dict) and step.get("shared_step_id") == shared_id:
                    if keep:
                        kept.append({k: v for k, v in step.items() if k != "shared_step_id"})
                    continue
                kept.append(step)
            case["custom"][f["system_name"]] = kept
    del state.shared_steps[shared_id]


def shared_step_case_ids(state: TestRailState, shared_id: int) -> list[int]:
    """Ids of cases whose steps use shared step set ``shared_id``."""
    return shared_step_uses(state).get(shared_id, [])


def shared_step_uses(state: TestRailState) -> dict[int, list[int]]:
    """Per shared step set id, the ids of the cases whose steps use it: one pass over the
    cases (a page of 250 sets over 100,000 cases looked at each case per set, minutes)."""
    uses: dict[int, list[int]] = {}
    for case in state.cases.values():
        found: set[int] = set()
        for value in case["custom"].values():
            if isinstance(value, list):
                found.update(
                    s["shared_step_id"]
                    for s in value
                    if isinstance(s, dict) and isinstance(s.get("shared_step_id"), int)
                )
        for shared_id in found:
            uses.setdefault(shared_id, []).append(case["id"])
    return uses
