"""Deterministic seeding of a :class:`~emulators.testrail.store.TestRailState`.

- :func:`from_xml` loads a TestRail XML suite export (testrail-export-formats.md §1) as a new
  single-suite project, the way TestRail's XML import would.
- :func:`generate` builds a realistic demo project (nested sections, Text/Steps/Exploratory
  cases, custom dropdowns, multi-line and non-ASCII text, shared steps, attachments with an
  inline image) from a seed.
- :func:`add_baseline` copies a suite-mode-2 project's master into a new baseline suite.

Both go through :mod:`emulators.testrail.ops`, so seeded rows obey the same rules as API writes.

Choices where the references are silent (documented here once):

- Empty XML values (``<expected></expected>``, ``<references></references>``,
  ``<estimate></estimate>``, an empty ``<description>``) become ``null``: TestRail returns unset
  step sub-fields and unset fields as ``null`` (testrail-api.md §5.4). A value that is only
  whitespace is kept verbatim (it is not empty).
- A step's ``<index>`` is ignored; steps keep document order (the index is absent in newer
  exports and always equals document order in the real files).
- Custom text fields whose every value in the file is a single-line integer (``id_autotest``)
  become String fields (type 1), others Text fields (type 3); ``<id>``/``<value>`` pairs become
  Dropdown fields (type 6) whose ``items`` are ``"<id>, <trimmed value>"`` lines in id order;
  ``<item>`` lists become Multi-select fields (type 12). New fields are global; a field the
  export uses on a custom template gets that template added to its ``template_ids``.
- Case ids in the file are not kept: the import assigns fresh ids (the same ``C`` id may repeat,
  as in the klaros file). ``state.import_ids`` maps each new case id to the file's ``<id>`` text.
"""

from __future__ import annotations

import copy
import random
import re
import struct
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

from emulators.testrail import ops, runs
from emulators.testrail.errors import bad_request
from emulators.testrail.store import (
    DROPDOWN,
    MULTI_SELECT,
    STEPS,
    STRING,
    TEMPLATE_EXPLORATORY,
    TEMPLATE_STEPS,
    TEMPLATE_TEXT,
    TEXT,
    Row,
    TestRailState,
    parse_items,
)
from emulators.testrail.timespan import format_timespan, parse_timespan

# Stock fields and the templates they belong to (the brief: preconds on Text+Steps, steps and
# expected on Text, steps_separated on Steps, mission/goals on Exploratory).
_STOCK_TEMPLATES = {
    "preconds": [TEMPLATE_TEXT, TEMPLATE_STEPS],
    "steps": [TEMPLATE_TEXT],
    "expected": [TEMPLATE_TEXT],
    "steps_separated": [TEMPLATE_STEPS],
    "mission": [TEMPLATE_EXPLORATORY],
    "goals": [TEMPLATE_EXPLORATORY],
}
_INT = re.compile(r"-?\d+")


def _text(elem: ET.Element | None) -> str | None:
    """Element text exactly as parsed (entities decoded once, whitespace kept); "" -> None."""
    if elem is None:
        return None
    value = "".join(elem.itertext())
    return value if value != "" else None


def _sections(elem: ET.Element) -> list[ET.Element]:
    holder = elem.find("sections")
    return [] if holder is None else holder.findall("section")


def _cases(elem: ET.Element) -> list[ET.Element]:
    holder = elem.find("cases")
    return [] if holder is None else holder.findall("case")


def _walk_cases(root: ET.Element) -> Iterator[ET.Element]:
    for sec in _sections(root):
        yield from _cases(sec)
        yield from _walk_cases(sec)


def _field_kind(elem: ET.Element) -> str:
    if elem.tag == "steps_separated":
        return "steps"
    if elem.find("item") is not None:
        return "multi"
    if elem.find("id") is not None:
        return "dropdown"
    return "text"


def _survey(root: ET.Element) -> dict[str, Row]:
    """What each ``<custom>`` child looks like across the whole file (kind, items, values)."""
    out: dict[str, Row] = {}
    for case in _walk_cases(root):
        custom = case.find("custom")
        if custom is None:
            continue
        for elem in custom:
            info = out.setdefault(elem.tag, {"kind": _field_kind(elem), "items": {}, "values": []})
            if info["kind"] == "dropdown":
                _collect_item(info["items"], elem)
            elif info["kind"] == "multi":
                for item in elem.findall("item"):
                    _collect_item(info["items"], item)
            elif info["kind"] == "text":
                info["values"].append(_text(elem))
    return out


def _collect_item(items: dict[int, str], elem: ET.Element) -> None:
    raw_id = (elem.findtext("id") or "").strip()
    if _INT.fullmatch(raw_id):
        items.setdefault(int(raw_id), (elem.findtext("value") or "").strip())


def _ensure_fields(state: TestRailState, survey: dict[str, Row], project_id: int) -> dict[str, Row]:
    """A case field per custom element name, created scoped to ``project_id`` (or extended to
    it, with dropdown items merged); stock fields stay global. Returns fields by tag."""
    by_name = {f["name"]: f for f in state.case_fields.values()}
    out: dict[str, Row] = {}
    for tag, info in survey.items():
        field = by_name.get(tag)
        kind = info["kind"]
        if field is None:
            label = tag.replace("_", " ").title()
            new: dict[str, Any] = {"name": tag, "label": label, "project_ids": [project_id]}
            if kind == "steps":
                field = state.add_field_row(
                    state.case_fields,
                    "case_field",
                    type_id=STEPS,
                    template_ids=_STOCK_TEMPLATES["steps_separated"],
                    options={
                        "is_required": False,
                        "format": "markdown",
                        "has_expected": True,
                        "has_additional": False,
                        "has_reference": False,
                        "rows": "5",
                    },
                    **new,
                )
            elif kind in ("dropdown", "multi"):
                items = info["items"]
                options: Row = {"is_required": False, "items": _items_text(items)}
                if kind == "dropdown":
                    options["default_value"] = str(min(items)) if items else ""
                field = state.add_field_row(
                    state.case_fields,
                    "case_field",
                    type_id=DROPDOWN if kind == "dropdown" else MULTI_SELECT,
                    include_all=True,
                    options=options,
                    **new,
                )
            else:
                values = [v for v in info["values"] if v is not None]
                is_int = bool(values) and all(_INT.fullmatch(v) for v in values)
                options = {"is_required": False, "default_value": ""}
                if not is_int:
                    options.update(format="markdown", rows="5")
                field = state.add_field_row(
                    state.case_fields,
                    "case_field",
                    type_id=STRING if is_int else TEXT,
                    template_ids=_STOCK_TEMPLATES.get(tag, []),
                    include_all=tag not in _STOCK_TEMPLATES,
                    options=options,
                    **new,
                )
            by_name[tag] = field
        else:
            _extend(field, project_id, info["items"] if kind in ("dropdown", "multi") else {})
        out[tag] = field
    return out


def _extend(field: Row, project_id: int, items: dict[int, str]) -> None:
    """Make ``field`` apply to ``project_id`` and know ``items`` (existing labels win)."""
    config = field["configs"][0]
    context = config["context"]
    if not context.get("is_global") and project_id not in (context.get("project_ids") or []):
        context["project_ids"] = [*(context.get("project_ids") or []), project_id]
    if items:
        known = parse_items(str(config["options"].get("items") or ""))
        config["options"]["items"] = _items_text({**items, **known})


def _show_step_columns(field: Row, steps: list[Row]) -> None:
    """Switch on ``has_additional``/``has_reference`` in the field's configs when the file fills
    those step columns: TestRail only answers the columns a Steps field enables
    (:func:`emulators.testrail.store.steps_as_shown`), and the export shows they were on."""
    for column, flag in (("additional_info", "has_additional"), ("refs", "has_reference")):
        if any(step[column] is not None for step in steps):
            for config in field["configs"]:
                config["options"][flag] = True


def _items_text(items: dict[int, str]) -> str:
    return "\n".join(f"{key}, {label}" for key, label in sorted(items.items()))


def _custom_values(
    custom: ET.Element | None, fields: dict[str, Row]
) -> tuple[dict[str, Any], set[str]]:
    values: dict[str, Any] = {}
    present: set[str] = set()
    if custom is None:
        return values, present
    for elem in custom:
        field = fields[elem.tag]
        present.add(elem.tag)
        key = field["system_name"]
        if field["type_id"] == STEPS:
            values[key] = [
                {
                    "content": _text(step.find("content")),
                    "expected": _text(step.find("expected")),
                    "additional_info": _text(step.find("additional_info")),
                    "refs": _text(step.find("refs")),
                }
                for step in elem.findall("step")
            ]
            _show_step_columns(field, values[key])
        elif field["type_id"] == DROPDOWN:
            raw_id = (elem.findtext("id") or "").strip()
            values[key] = int(raw_id) if _INT.fullmatch(raw_id) else None
        elif field["type_id"] == MULTI_SELECT:
            values[key] = [
                int((item.findtext("id") or "").strip())
                for item in elem.findall("item")
                if _INT.fullmatch((item.findtext("id") or "").strip())
            ]
        else:
            values[key] = _text(elem)
    return values, present


def _estimate(text: str | None) -> str | None:
    if text is None or not text.strip():
        return None
    raw = text.strip()
    if raw.isdigit():
        return format_timespan(int(raw))
    try:
        return format_timespan(parse_timespan(raw))
    except ValueError:
        return None


def default_author(state: TestRailState) -> int:
    """Id of the first active admin (the importing user), created as ``admin@example.com``
    when the instance has none."""
    for user in state.users.values():
        if user["is_admin"] and user["is_active"]:
            return int(user["id"])
    return int(ops.add_user(state, email="admin@example.com", name="Administrator")["id"])


def from_xml(
    state: TestRailState,
    path: str | PathLike[str],
    *,
    project_name: str | None = None,
    user_id: int | None = None,
) -> int:
    """Load a TestRail XML export (root ``<suite>`` or the import format's ``<sections>``) as a
    new suite-mode-1 project; returns the project id.

    The project is named ``project_name`` (default: the file name without extension); its one
    suite takes the export's ``<name>`` (``Master`` for a ``<sections>`` root) and
    ``<description>``. Sections are created in document order, each section's ``<cases>``
    before its child ``<sections>``. Templates, types and priorities are matched by **name**
    and created when missing; a case without ``<template>`` gets "Test Case (Steps)" when it has
    ``<steps_separated>``, "Exploratory Session" when it has ``<mission>``/``<goals>``, else
    the default "Test Case (Text)". ``<estimate>`` seconds become timespans (``840`` ->
    ``"14m"``), ``<references>`` become ``refs``. Text is kept exactly as the XML parser
    decodes it. ``created_on``/``updated_on`` are the state clock's now; ``created_by`` is
    ``user_id`` or :func:`default_author`.

    Raises ``xml.etree.ElementTree.ParseError`` for malformed XML and ``ValueError`` for an
    unexpected root element.
    """
    file = Path(path)
    root = ET.parse(file).getroot()
    if root.tag not in ("suite", "sections"):
        raise ValueError(f"{file}: root element <{root.tag}> is neither <suite> nor <sections>")
    if root.tag == "sections":
        wrapper = ET.Element("suite")
        wrapper.append(root)
        root, suite_name, suite_description = wrapper, "Master", None
    else:
        suite_name = _text(root.find("name")) or "Master"
        suite_description = _text(root.find("description"))
    with state.lock:
        if user_id is None:
            user_id = default_author(state)
        project = ops.add_project(
            state,
            {"name": project_name or file.stem, "suite_mode": 1},
            master_suite_name=suite_name,
        )
        suite = state.master_suite(project)
        assert suite is not None
        suite["description"] = suite_description
        fields = _ensure_fields(state, _survey(root), project["id"])

        def load(parent_elem: ET.Element, parent_id: int | None) -> None:
            for sec_elem in _sections(parent_elem):
                section = ops.add_section(
                    state,
                    project["id"],
                    {
                        "name": _text(sec_elem.find("name")) or "",
                        "description": _text(sec_elem.find("description")),
                        "parent_id": parent_id,
                    },
                )
                for case_elem in _cases(sec_elem):
                    case = _load_case(state, section["id"], case_elem, fields, user_id)
                    state.import_ids[case["id"]] = (case_elem.findtext("id") or "").strip()
                load(sec_elem, section["id"])

        load(root, None)
    return int(project["id"])


def _load_case(
    state: TestRailState,
    section_id: int,
    elem: ET.Element,
    fields: dict[str, Row],
    user_id: int | None,
) -> Row:
    values, present = _custom_values(elem.find("custom"), fields)
    template_name = _text(elem.find("template"))
    if template_name is None:
        if "steps_separated" in present:
            template = state.templates[TEMPLATE_STEPS]
        elif present & {"mission", "goals"}:
            template = state.templates[TEMPLATE_EXPLORATORY]
        else:
            template = state.templates[TEMPLATE_TEXT]
    else:
        template = ops.ensure_template(state, template_name)
    for tag in present:
        field = fields[tag]
        if not field["include_all"] and template["id"] not in field["template_ids"]:
            field["template_ids"] = sorted({*field["template_ids"], template["id"]})
    body: Row = {"title": _text(elem.find("title")) or "", "template_id": template["id"]}
    type_name = _text(elem.find("type"))
    if type_name is not None:
        body["type_id"] = ops.ensure_case_type(state, type_name)["id"]
    priority_name = _text(elem.find("priority"))
    if priority_name is not None:
        body["priority_id"] = ops.ensure_priority(state, priority_name)["id"]
    body["estimate"] = _estimate(_text(elem.find("estimate")))
    body["refs"] = _text(elem.find("references"))
    body.update(values)
    return ops.add_case(state, section_id, body, user_id, apply_defaults=False)


# ---------------------------------------------------------------------------------------------
# generated demo data

_MODULES: dict[str, dict[str, list[str]]] = {
    "Authentication": {
        "Login": [
            "log in with valid credentials",
            "log in with a wrong password",
            "log in after the account was locked",
            "stay logged in with 'Remember me'",
        ],
        "Password reset": [
            "request a reset link by e-mail",
            "reset the password with an expired link",
            "set a password that violates the policy",
        ],
        "Two-factor authentication": [
            "enrol an authenticator app",
            "log in with a recovery code",
            "reject a reused one-time code",
        ],
        "Single sign-on": [
            "sign in through the corporate IdP",
            "handle a SAML assertion without e-mail",
        ],
    },
    "Checkout": {
        "Cart": [
            "add an item to the cart",
            "change the quantity of an item",
            "remove the last item from the cart",
            "keep the cart after logging out",
        ],
        "Payment": [
            "pay with a saved card",
            "pay with a declined card",
            "pay with PayPal",
            "apply a 100% discount voucher",
        ],
        "Shipping": [
            "choose express delivery",
            "enter a P.O. box address",
            "ship to a country without delivery",
        ],
        "Invoices": ["download the PDF invoice", "show VAT for EU customers"],
    },
    "Catalog": {
        "Search": [
            "find a product by its SKU",
            "search with umlauts (Größe, Müller)",
            "search with Cyrillic text (Поиск)",
            "show suggestions while typing",
        ],
        "Product page": [
            "show all product images",
            "switch the product variant",
            "show the out-of-stock badge",
        ],
        "Filters": [
            "filter by price range",
            "combine brand and colour filters",
            "reset all filters",
        ],
    },
    "User profile": {
        "Personal data": [
            "change the display name",
            "upload an avatar larger than 5 MB",
            "save a name with emoji 🚀",
        ],
        "Notifications": ["unsubscribe from the newsletter", "enable push notifications"],
        "Privacy": ["export my personal data", "delete my account"],
    },
    "Reporting": {
        "Dashboards": ["open the sales dashboard", "share a dashboard link"],
        "Exports": [
            "export the report as CSV",
            "export the report as XLSX with 100k rows",
            "schedule a weekly export",
        ],
    },
    "Administration": {
        "Users and roles": ["invite a new user", "revoke the admin role", "deactivate a user"],
        "Audit log": ["record a failed login in the audit log", "filter the audit log by user"],
        "Localization": [
            "switch the UI to German",
            "switch the UI to Japanese (日本語)",
            "format dates for the ru-RU locale",
        ],
    },
    "Public API": {
        "Tokens": ["create a personal access token", "call the API with a revoked token"],
        "Rate limits": ["receive 429 after the limit", "retry after the Retry-After interval"],
        "Webhooks": ["deliver an order.created webhook", "retry a failed webhook delivery"],
    },
}

_GROUPS = ["Happy path", "Validation", "Edge cases"]
_PLATFORMS = ["Desktop", "Mobile"]
_QUALIFIERS = [
    "",
    "",
    "",
    " on a slow 3G connection",
    " with keyboard navigation only",
    " as a guest user",
    " after the session expired",
    " in dark mode",
    " with the screen reader enabled",
    " on Safari 17",
]
_PRECONDITIONS = [
    "User is logged in as a customer.",
    "Test data from the fixture set **demo-shop** is loaded.\nFeature flag `new_checkout` is on.",
    "Browser cache is cleared.\nLocale is set to de-DE (Größe/Maße in cm).",
    "Пользователь авторизован.\nКорзина пуста.",
    "テスト用のアカウントでログインしていること。",
    "An admin account exists.\n\n| Role | Login |\n|---|---|\n| Admin | admin@example.com |",
]
_STEP_ACTIONS = [
    ("Open the start page", "The start page is shown without errors"),
    ("Click **Sign in** in the header", "The login dialog opens"),
    ("Enter the test user's credentials\nand press Enter", "The dashboard is shown"),
    ("Navigate to the target page", "The page loads in under 2 seconds"),
    ("Fill in all required fields", "No validation message is shown"),
    ("Submit the form", "A success toast ✅ is shown"),
    ("Reload the page (F5)", "The entered data is still there"),
    ("Check the confirmation e-mail", "The e-mail arrives within 1 minute"),
    ("Switch the language to Deutsch", "Labels read e.g. „Bestätigen“ and „Zurück“"),
    ("Введите данные пользователя", "Данные сохранены"),
    ("Log out", ""),
]
_ESTIMATES = [None, None, "30s", "1m", "1m 30s", "2m", "3m", "5m", "10m", "15m", "30m", "1h"]
_TEAM = [
    ("Anna Schmidt", "anna.schmidt"),
    ("Jürgen Weiß", "juergen.weiss"),
    ("Olga Petrova", "olga.petrova"),
    ("Kenji Tanaka", "kenji.tanaka"),
    ("Maria García", "maria.garcia"),
]


def _ensure_generated_fields(state: TestRailState, project_id: int) -> None:
    specs = [
        ("automation_type", "Automation Type",
         {0: "None", 1: "Selenium", 2: "Playwright", 3: "Cypress"}, "0"),
        ("test_level", "Test Level",
         {1: "Unit", 2: "Integration", 3: "System", 4: "Acceptance"}, "3"),
    ]  # fmt: skip
    by_name = {f["name"]: f for f in state.case_fields.values()}
    for name, label, items, default in specs:
        field = by_name.get(name)
        if field is None:
            state.add_field_row(
                state.case_fields,
                "case_field",
                name=name,
                label=label,
                type_id=DROPDOWN,
                include_all=True,
                options={"is_required": False, "default_value": default,
                         "items": _items_text(items)},
                project_ids=[project_id],
            )  # fmt: skip
        else:
            _extend(field, project_id, items)


def generate(
    state: TestRailState,
    cases: int = 600,
    seed: int = 1,
    suite_mode: int = 1,
    *,
    project_name: str | None = None,
    plans: int = 0,
    sections: int | None = None,
) -> int:
    """Create a realistic generated project and return its id; the same ``seed`` (and clock)
    gives the same project.

    ``plans`` > 0 adds execution data (:func:`add_plans`): milestones with a sub-milestone and
    a completed one, the configuration groups Browser (Chrome, Firefox) and OS (Windows,
    macOS), that many test plans (the first with an ``include_all`` entry over both browsers
    and a ``case_ids`` entry over both systems), a run outside the plans, and results.
    Every generated project also gets two shared step sets and three files
    (:func:`add_shared_steps_and_files`, no randomness), added before the plans.

    Sections nest 3-4 levels (module > feature > group > platform); ``cases`` cases are spread
    over them with a mix of Text (≈40%), Steps (≈55%) and Exploratory templates, multi-line and
    non-ASCII text (German, Cyrillic, Japanese, emoji), priorities Critical/High/Medium/Low,
    stock case types, refs like ``JIRA-123``, estimates, two dropdown fields
    (``custom_automation_type``, ``custom_test_level``) and two milestones. Suite mode 3 spreads
    the modules over three suites. Suite mode 2 adds one baseline of the finished master,
    "Release 1.0 baseline" (:func:`add_baseline`: a copy with new ids, so the project holds
    ``2 * cases`` cases). ``created_on``/``updated_on`` lie up to a year before the state
    clock's now; authors are five generated users. A case updated after it was created has
    one ``get_history_for_case`` entry at its ``updated_on`` (:func:`_generated_history`), as
    TestRail records one per update (§5.5); the others have none.

    ``sections`` (≥ 1) makes the tree exactly that many sections: the generated tree loses its
    last leaves while it has more, and gets "Area <n>" sections under its features (round
    robin) while it has fewer; None keeps the tree as generated (about 110 sections).
    """
    if suite_mode not in (1, 2, 3):
        raise ValueError("suite_mode must be 1, 2 or 3")
    rng = random.Random(seed)
    with state.lock:
        authors = [
            ops.add_user(state, email=f"{login}@example.com", name=name, is_admin=False)["id"]
            for name, login in _TEAM
        ]
        project = ops.add_project(
            state,
            {
                "name": project_name or f"Demo Shop {seed}",
                "suite_mode": suite_mode,
                "announcement": "Generated by the railfiesta TestRail emulator.",
            },
        )
        pid = project["id"]
        _ensure_generated_fields(state, pid)
        now = state.now()
        milestones = [
            ops.add_milestone(state, pid, {"name": name, "due_on": now + days * 86400})["id"]
            for name, days in (("Release 1.0", 30), ("Release 1.1 – Localisation", 90))
        ]
        modules = list(_MODULES)
        if suite_mode == 3:
            suites = [
                ops.add_suite(state, pid, {"name": name, "description": desc})["id"]
                for name, desc in (
                    ("Web App", "Browser front end"),
                    ("Mobile App", "iOS and Android"),
                    ("Public API", "REST API v2"),
                )
            ]
        else:
            master = state.master_suite(project)
            assert master is not None
            suites = [master["id"]]
        leaves: list[tuple[int, str, str]] = []  # (section id, module, action list key)
        for index, module in enumerate(modules):
            suite_id = suites[index % len(suites)]
            top = ops.add_section(
                state,
                pid,
                {"name": module, "suite_id": suite_id, "description": f"All tests for {module}."},
            )
            for feature in _MODULES[module]:
                feat = ops.add_section(
                    state, pid, {"name": feature, "suite_id": suite_id, "parent_id": top["id"]}
                )
                leaves.append((feat["id"], module, feature))
                for group in rng.sample(_GROUPS, k=rng.randint(1, 3)):
                    grp = ops.add_section(
                        state, pid, {"name": group, "suite_id": suite_id, "parent_id": feat["id"]}
                    )
                    leaves.append((grp["id"], module, feature))
                    if rng.random() < 0.35:
                        for platform in _PLATFORMS:
                            plat = ops.add_section(
                                state,
                                pid,
                                {"name": platform, "suite_id": suite_id, "parent_id": grp["id"]},
                            )
                            leaves.append((plat["id"], module, feature))
        if sections is not None:
            _fit_sections(state, pid, leaves, sections)
        types = [t["id"] for t in state.case_types.values()]
        prio_by_name = {p["name"]: p["id"] for p in state.priorities.values()}
        priorities = [prio_by_name.get(n) for n in ("Critical", "High", "Medium", "Medium", "Low")]
        for n in range(cases):
            section_id, module, feature = (
                leaves[n % len(leaves)] if n < len(leaves) else rng.choice(leaves)
            )
            body = _generated_case(rng, n, module, feature, types, priorities, milestones)
            created = now - rng.randint(2 * 86400, 365 * 86400)
            updated = min(now, created + rng.choice([0, 0, 3600, 86400, 7 * 86400, 40 * 86400]))
            case = ops.add_case(
                state, section_id, body, rng.choice(authors), created_on=created, updated_on=updated
            )
            if updated > created:
                _generated_history(state, case, n, authors[(n + 1) % len(authors)], updated)
        add_shared_steps_and_files(state, pid, now)
        if plans > 0:
            add_plans(state, pid, plans, seed=seed, milestone=milestones[0], suite_id=suites[0])
        if suite_mode == 2:
            add_baseline(
                state,
                pid,
                name="Release 1.0 baseline",
                description="The test cases as they were shipped with Release 1.0.",
            )
    return int(pid)


def _fit_sections(
    state: TestRailState, project_id: int, leaves: list[tuple[int, str, str]], wanted: int
) -> None:
    """Make the project's (case-less) section tree exactly ``wanted`` sections, keeping
    ``leaves`` (where cases go) in step: drop the newest sections without children while
    there are too many, then add "Area <n>" sections under the features in turn."""
    if wanted < 1:
        raise ValueError("sections must be at least 1")
    mine = [s for s in state.sections.values() if s["suite_id"] in _suite_ids(state, project_id)]
    parents = {s["parent_id"] for s in mine}
    for section in reversed(mine):
        if len(mine) <= wanted:
            break
        if section["id"] in parents:
            continue
        ops.delete_section(state, section["id"], soft=False)
        mine.remove(section)
        parents = {s["parent_id"] for s in mine}
        leaves[:] = [leaf for leaf in leaves if leaf[0] != section["id"]]
    if not leaves:  # only top sections (modules) are left: their cases use a first feature
        leaves += [(s["id"], s["name"], next(iter(_MODULES[s["name"]]))) for s in mine]
    hosts = list(leaves)
    n = 0
    while len(mine) < wanted:
        feature_id, module, feature = hosts[n % len(hosts)]
        parent = state.sections[feature_id]
        area = ops.add_section(
            state,
            project_id,
            {"name": f"Area {n + 1}", "suite_id": parent["suite_id"], "parent_id": feature_id},
        )
        mine.append(area)
        leaves.append((area["id"], module, feature))
        n += 1


def _suite_ids(state: TestRailState, project_id: int) -> set[int]:
    return {s["id"] for s in state.suites.values() if s["project_id"] == project_id}


#: The generated project's shared step sets: title and steps ``(content, expected)``.
_SHARED_STEPS = (
    (
        "Log in as a shop customer",
        (
            ("Open /login", "The login form is shown"),
            ("Sign in as customer@example.com", "The account page greets the customer"),
        ),
    ),
    (
        "Empty the cart",
        (("Open the cart and remove every item", "The cart says „Ihr Warenkorb ist leer“"),),
    ),
)


def tiny_png(red: int, green: int, blue: int) -> bytes:
    """A valid 1x1 PNG of one colour (deterministic bytes, 69 bytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(bytes([0, red, green, blue]), 9)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def add_shared_steps_and_files(state: TestRailState, project_id: int, now: int) -> None:
    """Give a generated project shared steps and attachments (deterministic, no randomness):
    each set of :data:`_SHARED_STEPS` is put at the start of the steps of up to three Steps
    cases (the last three Steps cases by id use the first set, the three before them the
    second), as TestRail returns a used set: expanded, each step carrying ``shared_step_id``
    (testrail-api.md §5.4); the last Steps case gets a listed screenshot
    (``add_attachment_to_case``) and a step showing an image inline
    (``![](index.php?/attachments/get/N)``) that is not one of its listed attachments
    (uploaded through the editor, §5.15); the one before it gets a text file. Case
    ``updated_on`` values stay as generated."""
    steps_cases = [
        c
        for c in reversed(state.cases.values())
        if c["template_id"] == TEMPLATE_STEPS and c["custom"].get("custom_steps_separated")
    ]
    for index, (title, steps) in enumerate(_SHARED_STEPS):
        shared = ops.add_shared_step(
            state,
            project_id,
            {
                "title": title,
                "custom_steps_separated": [{"content": c, "expected": e} for c, e in steps],
            },
            None,
        )
        shared["created_on"] = shared["updated_on"] = now - 30 * 86400
        for case in steps_cases[3 * index : 3 * index + 3]:
            expanded = [
                dict(s, shared_step_id=shared["id"]) for s in shared["custom_steps_separated"]
            ]
            case["custom"]["custom_steps_separated"] = [
                *expanded,
                *case["custom"]["custom_steps_separated"],
            ]
    if not steps_cases:
        return
    first = steps_cases[0]
    runs.add_attachment(
        state, "case", first["id"], project_id, "checkout-screenshot.png", tiny_png(200, 30, 30),
        "image/png", first["created_by"],
    )  # fmt: skip
    inline = runs.add_attachment(
        state, "editor", 0, project_id, "payment-flow.png", tiny_png(30, 30, 200), "image/png",
        first["created_by"],
    )  # fmt: skip
    steps = first["custom"]["custom_steps_separated"]
    steps[-1] = dict(
        steps[-1],
        content=f"{steps[-1].get('content') or ''}\n![](index.php?/attachments/get/{inline['id']})",
    )
    if len(steps_cases) > 1:
        second = steps_cases[1]
        runs.add_attachment(
            state, "case", second["id"], project_id, "gateway.log",
            b"12:00:01 POST /payments 201\n12:00:02 webhook paid\n", "text/plain",
            second["created_by"],
        )  # fmt: skip


#: Statuses of generated results (TestRail ids: mostly Passed, then Failed, Blocked, Retest).
_RESULT_STATUSES = (1, 1, 1, 1, 5, 5, 2, 4)
_RESULT_COMMENTS = (
    "",
    "Works as expected.",
    "Fails on the second attempt:\nthe spinner never stops.",
    "Blocked by the staging outage.",
    "Retested after the fix in build 1432 — OK ✅",
)


#: Options of the generated result field "Environment" (a dropdown, ``custom_environment``).
RESULT_ENVIRONMENTS = {1: "Staging", 2: "Live", 3: "Local"}


def add_result_details(state: TestRailState, rows: list[Row]) -> None:
    """Give generated ``add_results`` rows (in place, by their position: no random numbers,
    so the rest of the project stays as it was) what a result holds besides its status and
    comment (§5.14): every second row an ``elapsed`` time, every third a ``version``, a
    failed one (status 5) ``defects``, every row an "Environment" (:data:`RESULT_ENVIRONMENTS`),
    and a row whose case has separated steps its ``custom_step_results`` (each step passed but
    the last, which has the result's status)."""
    for index, row in enumerate(rows):
        if index % 2 == 0:
            row["elapsed"] = f"{index % 4 + 1}m {index * 7 % 60 + 1}s"
        if index % 3 == 0:
            row["version"] = f"1.0.{index % 4}"
        if row.get("status_id") == 5:
            row["defects"] = f"PAY-{900 + index % 40}, PAY-{950 + index % 10}"
        row["custom_environment"] = index % 3 + 1
        test = state.tests.get(row["test_id"])
        case = state.cases.get(test["case_id"]) if test else None
        steps = ((case or {}).get("custom") or {}).get("custom_steps_separated") or []
        if steps:
            last = len(steps) - 1
            row["custom_step_results"] = [
                {
                    "content": step.get("content") or "",
                    "expected": step.get("expected") or "",
                    "actual": "As expected" if n < last or row["status_id"] == 1
                    else "The spinner never stops",
                    "status_id": 1 if n < last else row["status_id"],
                }
                for n, step in enumerate(steps)
                if isinstance(step, dict)
            ]  # fmt: skip


def add_plans(
    state: TestRailState, project_id: int, plans: int, *, seed: int, milestone: int, suite_id: int
) -> list[int]:
    """Execution data for a generated project (caller holds ``state.lock``); returns the plan
    ids. Deterministic per ``seed`` (its own random stream: the cases stay as without it).

    - milestones: ``milestone`` ("Release 1.0") gets a start date; "1.0 Release candidate" is
      its sub-milestone (start and due dates); "Release 0.9" is completed;
    - configuration groups Browser (Chrome, Firefox) and OS (Windows, macOS);
    - plan 1, "Release 1.0 test plan" on Release 1.0: entry "Full regression"
      (``include_all``, one run per browser) and entry "Smoke" (``case_ids``: 20 cases, one run
      per OS); the other plans, "Sprint <n> sign-off", on the candidate: one ``case_ids`` entry
      of 10 cases over both browsers; the last of them (with 2 plans or more) is closed, on
      Release 0.9;
    - a run outside the plans, "Nightly build 1432", on the candidate;
    - results: about half the tests of every open run get 1-3 results, with elapsed times,
      versions, defects, the result field "Environment" (a dropdown of the project) and step
      results (:func:`add_result_details`);
    - files (:func:`add_plan_and_result_files`): plan 1 gets a checklist, the nightly run's
      first failed result a screenshot.
    """
    rng = random.Random(seed * 7919 + 17)
    now = state.now()
    day = 86400
    ops.update_milestone(state, milestone, {"start_on": now - 14 * day})
    candidate = ops.add_milestone(
        state,
        project_id,
        {
            "name": "1.0 Release candidate",
            "description": "Feature freeze; only fixes from here on.",
            "start_on": now - 2 * day,
            "due_on": now + 20 * day,
            "parent_id": milestone,
        },
    )["id"]
    ops.update_milestone(state, candidate, {"is_started": True})
    previous = ops.add_milestone(
        state,
        project_id,
        {"name": "Release 0.9", "start_on": now - 120 * day, "due_on": now - 60 * day},
    )["id"]
    ops.update_milestone(state, previous, {"is_completed": True})
    state.add_field_row(
        state.result_fields,
        "result_field",
        name="environment",
        label="Environment",
        type_id=DROPDOWN,
        include_all=True,
        options={"is_required": False, "default_value": "",
                 "items": _items_text(RESULT_ENVIRONMENTS)},
        project_ids=[project_id],
    )  # fmt: skip
    browser = runs.add_config_group(state, project_id, {"name": "Browser"})["id"]
    browsers = [runs.add_config(state, browser, {"name": n})["id"] for n in ("Chrome", "Firefox")]
    os_group = runs.add_config_group(state, project_id, {"name": "OS"})["id"]
    systems = [runs.add_config(state, os_group, {"name": n})["id"] for n in ("Windows", "macOS")]
    case_ids = [c["id"] for c in state.cases.values() if c["suite_id"] == suite_id]
    made: list[int] = []
    for n in range(plans):
        if n == 0:
            body: Row = {
                "name": "Release 1.0 test plan",
                "description": "Everything that must pass before Release 1.0 ships.",
                "milestone_id": milestone,
                "entries": [
                    {
                        "suite_id": suite_id,
                        "name": "Full regression",
                        "include_all": True,
                        "config_ids": browsers,
                        "runs": [{"config_ids": [c]} for c in browsers],
                    },
                    {
                        "suite_id": suite_id,
                        "name": "Smoke",
                        "include_all": False,
                        "case_ids": sorted(rng.sample(case_ids, min(20, len(case_ids)))),
                        "config_ids": systems,
                        "runs": [{"config_ids": [c]} for c in systems],
                    },
                ],
            }
        else:
            closed = plans > 1 and n == plans - 1
            body = {
                "name": f"Sprint {n} sign-off",
                "milestone_id": previous if closed else candidate,
                "entries": [
                    {
                        "suite_id": suite_id,
                        "name": f"Sprint {n} checks",
                        "include_all": False,
                        "case_ids": sorted(rng.sample(case_ids, min(10, len(case_ids)))),
                        "config_ids": browsers,
                        "runs": [{"config_ids": [c]} for c in browsers],
                    }
                ],
            }
        plan = runs.add_plan(state, project_id, body, None, atomic=False)
        made.append(int(plan["id"]))
    nightly = runs.add_run(
        state,
        project_id,
        {
            "suite_id": suite_id,
            "name": "Nightly build 1432",
            "milestone_id": candidate,
            "include_all": False,
            "case_ids": sorted(rng.sample(case_ids, min(30, len(case_ids)))),
        },
        None,
    )
    run_ids = [r for p in made for e in state.plans[p]["_entries"] for r in e["_run_ids"]]
    tests_of: dict[int, list[int]] = {rid: [] for rid in [*run_ids, nightly["id"]]}
    for test in state.tests.values():
        if test["run_id"] in tests_of:
            tests_of[test["run_id"]].append(test["id"])
    for rid, tests in tests_of.items():
        rows = [
            {"test_id": t, "status_id": rng.choice(_RESULT_STATUSES),
             "comment": rng.choice(_RESULT_COMMENTS)}
            for t in tests
            if rng.random() < 0.5
            for _ in range(rng.randint(1, 3))
        ]  # fmt: skip
        if rows:
            add_result_details(state, rows)
            runs.add_results(state, rid, {"results": rows}, None)
    add_plan_and_result_files(state, project_id, made[0], tests_of[nightly["id"]])
    if plans > 1:
        runs.close_plan(state, made[-1])
    return made


def add_plan_and_result_files(
    state: TestRailState, project_id: int, plan_id: int, tests: list[int]
) -> None:
    """Give plan ``plan_id`` a file (``add_attachment_to_plan``: "release-checklist.md") and
    the first failed result of ``tests`` (else their first result) a screenshot
    (``add_attachment_to_result``: "failure-<test id>.png"); deterministic bytes. No result
    among ``tests``: only the plan's file."""
    runs.add_attachment(
        state, "plan", plan_id, project_id, "release-checklist.md",
        b"# Release 1.0 checklist\n- [x] regression green\n- [ ] sign-off by QA lead\n",
        "text/markdown", None,
    )  # fmt: skip
    wanted = set(tests)
    results = sorted(
        (r for r in state.results.values() if r["test_id"] in wanted), key=lambda r: r["id"]
    )
    failed = [r for r in results if r["status_id"] == 5] or results
    if failed:
        result = failed[0]
        runs.add_attachment(
            state, "result", result["id"], project_id, f"failure-{result['test_id']}.png",
            tiny_png(220, 40, 40), "image/png", result["created_by"],
        )  # fmt: skip


def add_baseline(
    state: TestRailState,
    project_id: int,
    *,
    name: str = "Baseline",
    description: str | None = None,
) -> int:
    """Create a baseline of a suite-mode-2 project's master suite and return its suite id.

    The baseline is made by :func:`emulators.testrail.ops.add_suite` (so it is the suite
    TestRail's rule gives a mode-2 project: ``is_baseline: true``, testrail-api.md §5.2), then
    filled with a copy of the master: every section (same names, descriptions, tree and order)
    and every case (same title, system fields, labels and ``custom_*`` values) under **new
    ids**, as a baseline is a separate suite (§5.1 "2 single suite + baselines").

    [INF] what TestRail copies into a baseline is not recorded in the reference; the copy here
    keeps each case's authors and ``created_on``/``updated_on`` (a baseline branches the same
    cases) and leaves ``estimate_forecast`` empty (no results exist for the copies yet).
    Raises :class:`~emulators.testrail.errors.ApiError` 400 when the project is not in suite
    mode 2 (``add_suite``'s own rule for mode 1; a mode-3 project has no master to copy).
    """
    with state.lock:
        project = state.project(project_id)
        if project["suite_mode"] != 2:
            raise bad_request("Field :project_id is not a project with baselines (suite mode 2).")
        master = state.master_suite(project)
        assert master is not None  # add_project gives every mode-2 project its master
        baseline = ops.add_suite(state, project_id, {"name": name, "description": description})
        section_ids: dict[int, int] = {}
        for section, _depth in state.section_order(master["id"]):
            sid = state.next_id("section")
            state.sections[sid] = dict(
                copy.deepcopy(section),
                id=sid,
                suite_id=baseline["id"],
                parent_id=section_ids.get(section["parent_id"]),
            )
            section_ids[section["id"]] = sid
        for case in sorted(state.indexed("suite", master["id"]), key=lambda c: c["id"]):
            cid = state.next_id("case")
            row = copy.deepcopy(case)
            row.pop("_forecast", None)
            row.update(id=cid, section_id=section_ids[case["section_id"]], suite_id=baseline["id"])
            state.put("cases", row)
    return int(baseline["id"])


def _generated_history(state: TestRailState, case: Row, n: int, user_id: int, when: int) -> None:
    """The history entry of generated case number ``n``, updated at ``when`` by ``user_id``
    (no randomness, so the generated project stays the same): by turns its priority changed
    from another one, its references were added, or its estimate changed (a case without
    references or an estimate gets the priority change); the case's values are its current
    ones. Titles are left alone: their history is the sync's own to show."""
    turn = n % 3
    changes: dict[str, tuple[Any, Any]]
    if turn == 1 and case.get("refs"):
        changes = {"refs": (None, case["refs"])}
    elif turn == 2 and case.get("estimate"):
        before = "30m" if case["estimate"] != "30m" else "15m"
        changes = {"estimate": (before, case["estimate"])}
    else:
        current = case.get("priority_id")
        other = next((i for i in sorted(state.priorities) if i != current), None)
        changes = {"priority_id": (other, current)}
    ops.record_history(state, int(case["id"]), user_id, when, changes)


def _generated_case(
    rng: random.Random,
    n: int,
    module: str,
    feature: str,
    types: list[int],
    priorities: list[int | None],
    milestones: list[int],
) -> Row:
    action = rng.choice(_MODULES[module][feature])
    verb = rng.choice(
        [
            "Verify that the user can",
            "Check that a customer can",
            "User can",
            "Ensure an admin can",
            "Attempt to",
        ]
    )
    title = f"{verb} {action}{rng.choice(_QUALIFIERS)}"
    roll = rng.random()
    template = (
        TEMPLATE_STEPS if roll < 0.55 else TEMPLATE_TEXT if roll < 0.95 else TEMPLATE_EXPLORATORY
    )
    body: Row = {
        "title": title,
        "template_id": template,
        "type_id": rng.choice(types),
        "priority_id": rng.choice(priorities),
        "estimate": rng.choice(_ESTIMATES),
        "custom_automation_type": rng.choice([0, 0, 1, 2, 3]),
        "custom_test_level": rng.choice([2, 3, 3, 4]),
    }
    if rng.random() < 0.6:
        keys = [f"JIRA-{rng.randint(10, 2999)}" for _ in range(rng.choice([1, 1, 1, 2, 3]))]
        body["refs"] = ", ".join(keys)
    if rng.random() < 0.15:
        body["milestone_id"] = rng.choice(milestones)
    if template != TEMPLATE_EXPLORATORY and rng.random() < 0.8:
        body["custom_preconds"] = rng.choice(_PRECONDITIONS)
    if template == TEMPLATE_STEPS:
        steps = rng.sample(_STEP_ACTIONS, k=rng.randint(2, 6))
        body["custom_steps_separated"] = [
            {"content": content, "expected": expected or None} for content, expected in steps
        ]
    elif template == TEMPLATE_TEXT:
        steps = rng.sample(_STEP_ACTIONS, k=rng.randint(2, 5))
        body["custom_steps"] = "\n".join(f"{i}. {c}" for i, (c, _) in enumerate(steps, start=1))
        body["custom_expected"] = "\n".join(f"- {e}" for _, e in steps if e) or "No errors."
    else:
        body["custom_mission"] = f"Explore {feature.lower()} in {module} for 30 minutes (#{n + 1})."
        body["custom_goals"] = (
            "- Find crashes 💥\n- Note confusing texts\n- Try non-ASCII input: ÄÖÜ, ё, 漢字"
        )
    return body


@dataclass(frozen=True)
class Shape:
    """The size of a generated project for benchmarks (issue 7): ``cases`` cases in exactly
    ``sections`` sections, ``runs`` open runs of ``tests`` tests each (the first ``plans`` of
    them are the one-run entries of as many test plans), ``results`` results spread over
    those tests, ``milestones``, ``attachments`` (files on cases, results, runs and plans) and
    ``shared_steps`` shared step sets. Counts include what :func:`generate` always adds (two
    milestones, two shared step sets, three files). :data:`MEDIUM` is the medium project."""

    cases: int = 5000
    sections: int = 300
    runs: int = 100
    tests: int = 200
    results: int = 30_000
    plans: int = 20
    milestones: int = 30
    attachments: int = 500
    shared_steps: int = 50

    def scaled(self, cases: int) -> Shape:
        """This shape at ``cases`` cases: every count in proportion (at least 1; at least the
        three files and two milestones and step sets :func:`generate` makes), tests per run
        kept (at most ``cases``)."""
        factor = cases / self.cases

        def part(count: int, floor: int = 1) -> int:
            return max(floor, round(count * factor))

        return Shape(
            cases=cases,
            sections=part(self.sections),
            runs=part(self.runs),
            tests=min(self.tests, cases),
            results=part(self.results),
            plans=min(part(self.plans), part(self.runs)),
            milestones=part(self.milestones, 2),
            attachments=part(self.attachments, 3),
            shared_steps=part(self.shared_steps, 2),
        )


#: The medium project of issue 7.
MEDIUM = Shape()


def generate_shape(
    state: TestRailState, shape: Shape, *, seed: int = 1, project_name: str | None = None
) -> int:
    """A generated project (:func:`generate`, suite mode 1) of exactly ``shape``; returns its
    id. Deterministic per ``seed``. On top of what :func:`generate` makes: milestones "Sprint
    <n>" (every fifth a sub-milestone of the one before, every fourth completed), shared step
    sets "Shared step <n>" (each used by one Steps case), plans "Plan <n>" with one entry of one
    run each, runs "Run <n>", results round robin over every test (statuses mostly passed,
    ``created_on`` spread over the month before the last day, in id order) and files
    "file-<n>.txt" (small text) on cases (60 %), results (30 %), runs and plans."""
    with state.lock:
        pid = generate(
            state,
            cases=shape.cases,
            seed=seed,
            project_name=project_name,
            sections=shape.sections,
        )
        rng = random.Random(seed * 104729 + 3)
        now = state.now()
        project = state.projects[pid]
        suite = state.master_suite(project)
        assert suite is not None
        milestones = [m["id"] for m in state.milestones.values() if m["project_id"] == pid]
        for n in range(len(milestones), shape.milestones):
            parent = milestones[-1] if n % 5 == 4 else None
            row = ops.add_milestone(
                state,
                pid,
                {
                    "name": f"Sprint {n + 1}",
                    "start_on": now - (60 - n) * 86400,
                    "due_on": now + n * 86400,
                    **({"parent_id": parent} if parent else {}),
                },
            )
            if n % 4 == 3:
                ops.update_milestone(state, row["id"], {"is_completed": True})
            milestones.append(row["id"])
        steps_cases = [
            c
            for c in state.cases.values()
            if c["template_id"] == TEMPLATE_STEPS
            and not any(
                s.get("shared_step_id") for s in c["custom"].get("custom_steps_separated") or []
            )
        ]
        have = sum(1 for s in state.shared_steps.values() if s["project_id"] == pid)
        for n in range(have, shape.shared_steps):
            shared = ops.add_shared_step(
                state,
                pid,
                {
                    "title": f"Shared step {n + 1}",
                    "custom_steps_separated": [
                        {"content": f"Open screen {n + 1}", "expected": "It is shown"},
                        {"content": f"Fill form {n + 1}", "expected": "It is saved"},
                    ],
                },
                None,
            )
            if steps_cases:
                case = steps_cases[n % len(steps_cases)]
                expanded = [
                    dict(s, shared_step_id=shared["id"]) for s in shared["custom_steps_separated"]
                ]
                case["custom"]["custom_steps_separated"] = [
                    *expanded,
                    *case["custom"]["custom_steps_separated"],
                ]
        case_ids = [c["id"] for c in _ordered_cases(state, suite["id"])]
        tests = min(shape.tests, len(case_ids))
        run_ids: list[int] = []
        plan_ids: list[int] = []
        for n in range(shape.runs):
            start = (n * tests) % len(case_ids)
            chosen = sorted((case_ids[start:] + case_ids[:start])[:tests])
            milestone = milestones[n % len(milestones)] if milestones else None
            if n < shape.plans:
                plan = runs.add_plan(
                    state,
                    pid,
                    {
                        "name": f"Plan {n + 1}",
                        "milestone_id": milestone,
                        "entries": [
                            {
                                "suite_id": suite["id"],
                                "name": f"Plan {n + 1} checks",
                                "include_all": False,
                                "case_ids": chosen,
                            }
                        ],
                    },
                    None,
                    atomic=False,
                )
                plan_ids.append(int(plan["id"]))
                run_ids += [r for e in plan["_entries"] for r in e["_run_ids"]]
            else:
                body: Row = {
                    "suite_id": suite["id"],
                    "name": f"Run {n + 1}",
                    "milestone_id": milestone,
                    "include_all": False,
                    "case_ids": chosen,
                }
                run_ids.append(int(runs.add_run(state, pid, body, None)["id"]))
        all_tests = [(rid, t["id"]) for rid in run_ids for t in state.indexed("run", rid)]
        per_run: dict[int, list[Row]] = {}
        for n in range(shape.results if all_tests else 0):
            rid, tid = all_tests[n % len(all_tests)]
            per_run.setdefault(rid, []).append(
                {
                    "test_id": tid,
                    "status_id": rng.choice(_RESULT_STATUSES),
                    "comment": rng.choice(_RESULT_COMMENTS),
                }
            )
        results: list[int] = []
        for rid, rows in per_run.items():
            results += [int(r["id"]) for r in runs.add_results(state, rid, {"results": rows}, None)]
        # results lie in the last month, oldest first (as people added them), not all at now:
        # a sync's created_after window sees none of them again
        step = 30 * 86400 // max(1, len(results))
        for n, result_id in enumerate(results):
            state.results[result_id]["created_on"] = now - 31 * 86400 + n * step
        have = sum(1 for a in state.attachments.values() if a["project_id"] == pid)
        owners: list[tuple[str, int]] = []
        for n in range(shape.attachments - have):
            slot = n % 20
            if slot < 12 or not (results or run_ids):
                owners.append(("case", case_ids[(n * 7) % len(case_ids)]))
            elif slot < 18 and results:
                owners.append(("result", results[(n * 13) % len(results)]))
            elif slot == 18 and run_ids[shape.plans :]:
                standalone = run_ids[shape.plans :]
                owners.append(("run", standalone[n % len(standalone)]))
            elif plan_ids:
                owners.append(("plan", plan_ids[n % len(plan_ids)]))
            else:
                owners.append(("case", case_ids[(n * 7) % len(case_ids)]))
        for n, (kind, owner) in enumerate(owners):
            data = f"file {n + 1} of {kind} {owner}\n".encode() * 4
            runs.add_attachment(
                state, kind, owner, pid, f"file-{n + 1}.txt", data, "text/plain", None
            )
    return pid


def _ordered_cases(state: TestRailState, suite_id: int) -> list[Row]:
    """The cases of a suite by id (through the suite index)."""
    return sorted(state.indexed("suite", suite_id), key=lambda c: c["id"])
