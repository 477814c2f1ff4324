"""What a TestRail instance's metadata means for one project, and TestRail cases as records.

TestRail case rows carry ids everywhere: ``template_id``, ``type_id``, ``priority_id``, dropdown
item ids inside ``custom_*``. :class:`TestRailCatalog` holds the lookups built from
``get_case_fields``, ``get_case_types``, ``get_priorities`` and ``get_templates`` and turns a row
into a :class:`core.model.CaseRecord` with names and labels (testrail-api.md §5.4-5.7).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from core.errors import MappingError, UnexpectedResponse
from core.model import FIELD_PREFIX, CaseRecord, Step, tr_key
from core.text import as_markdown

#: Case field ``type_id`` -> kind name (testrail-api.md §5.4 "Custom field value encodings").
FIELD_KINDS: dict[int, str] = {
    1: "string",
    2: "integer",
    3: "text",
    4: "url",
    5: "checkbox",
    6: "dropdown",
    7: "user",
    8: "date",
    9: "milestone",
    10: "steps",
    11: "step_results",
    12: "multi_select",
    13: "bdd",
    14: "bdd_results",
}


#: Longest value of a String (type 1) case field, in characters (testrail-api.md §5.4 table).
STRING_MAX = 250


def check_case_body(
    catalog: TestRailCatalog, body: Mapping[str, Any], *, title: str, creating: bool
) -> None:
    """Refuse an ``add_case`` (``creating``) or ``update_case`` body TestRail would reject,
    before it is sent: a required field (``options.is_required``, §5.6) of the case's template
    left without a value (on update: set to empty), or a String field longer than
    :data:`STRING_MAX` characters ("Field :custom_x is too long", §5.4). Raises
    :class:`MappingError` naming the case, the field and the fix."""
    template_id = body.get("template_id") or (catalog.default_template if creating else None)
    for case_field in catalog.fields_for(template_id):
        name = case_field.system_name
        if not creating and name not in body:
            continue
        value = body.get(name)
        if case_field.is_required and value in (None, "", []):
            raise MappingError(
                f"case {title!r}: TestRail requires {case_field.label!r} ({name}) and the "
                "TestFiesta case has no value for it",
                hint=f"fill {case_field.label!r} in TestFiesta, or make the field optional in "
                "TestRail (Administration > Customizations); the case was not sent",
            )
        if case_field.kind == "string" and isinstance(value, str) and len(value) > STRING_MAX:
            raise MappingError(
                f"case {title!r}: {case_field.label!r} ({name}) is {len(value)} characters; "
                f"TestRail String fields hold at most {STRING_MAX}",
                hint="shorten the value in TestFiesta, or change the TestRail field to a Text "
                "field; the case was not sent",
            )


def testrail_seconds(value: Any, *, what: str) -> int | None:
    """A TestRail timestamp (``created_on``, ``updated_on``: UNIX seconds, §1.3) as an int;
    None stays None. Raises :class:`UnexpectedResponse` naming ``what`` for anything that is not
    a whole number (a date text, a negative number)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        number = None
    else:
        try:
            number = int(value)
        except ValueError:
            number = None
    if number is None or number < 0:
        raise UnexpectedResponse(
            f"testrail answered {value!r} as {what}: not a UNIX timestamp (whole seconds)",
            hint="check that [testrail] url is the TestRail site root; if it is, that record's "
            "date is broken on the server: edit the record in TestRail",
        )
    return number


def parse_items(items: str | None) -> dict[int, str]:
    """Dropdown/multi-select options from ``options.items``: ``"0, None\\n1, Ranorex"`` ->
    ``{0: "None", 1: "Ranorex"}``. Lines without a numeric id are skipped; the space after the
    comma is optional and labels are trimmed (§5.6)."""
    result: dict[int, str] = {}
    for line in (items or "").splitlines():
        ident, sep, label = line.partition(",")
        if not sep:
            continue
        try:
            result[int(ident.strip())] = label.strip()
        except ValueError:
            continue
    return result


@dataclass(frozen=True)
class CaseField:
    """One case field as it applies to one project.

    ``kind`` is from :data:`FIELD_KINDS`; ``template_ids`` empty with ``include_all`` means every
    template; ``items`` are the dropdown options of the config that applies to the project.
    """

    system_name: str
    label: str
    kind: str
    include_all: bool
    template_ids: frozenset[int]
    items: Mapping[int, str] = field(default_factory=dict)
    is_required: bool = False
    is_active: bool = True

    def applies_to(self, template_id: int | None) -> bool:
        """Whether cases of ``template_id`` show this field (TestRail stores stale values of
        fields the template does not show; those are not part of the case)."""
        return self.include_all or template_id is None or template_id in self.template_ids

    def label_of(self, item_id: Any) -> str:
        """The option label for a stored item id; the id itself (as text) if it is unknown."""
        try:
            return self.items.get(int(item_id), str(item_id))
        except (TypeError, ValueError):
            return str(item_id)


def _project_config(raw: Mapping[str, Any], project_id: int) -> Mapping[str, Any] | None:
    for config in raw.get("configs") or []:
        context = config.get("context") or {}
        project_ids = context.get("project_ids") or []
        if context.get("is_global") or (
            isinstance(project_ids, list) and project_id in project_ids
        ):
            result: Mapping[str, Any] = config
            return result
    return None


def project_fields(
    rows: Iterable[Mapping[str, Any]], project_id: int, *, what: str = "case"
) -> dict[str, CaseField]:
    """The fields of ``get_case_fields`` or ``get_result_fields`` rows (§5.6, the same shape)
    that apply to ``project_id``, by system name: a field whose configs do not cover the
    project, or an inactive one, is left out; ``items`` (dropdown and multi-select option ids
    -> labels) and ``is_required`` come from the config that applies to the project.
    ``what`` names the fields in the error (``"case"``, ``"result"``).

    Raises :class:`MappingError` for an active field of the project whose ``type_id`` is not
    in :data:`FIELD_KINDS` (a type newer than §5.4's table): its values have no known
    encoding, so nothing is copied until the field is dealt with."""
    fields: dict[str, CaseField] = {}
    for raw in rows:
        config = _project_config(raw, project_id)
        if config is None or raw.get("is_active") is False:
            continue
        options = config.get("options") or {}
        system_name = str(raw.get("system_name") or f"custom_{raw.get('name')}")
        label = str(raw.get("label") or raw.get("name") or system_name)
        type_id = raw.get("type_id")
        kind = FIELD_KINDS.get(type_id) if isinstance(type_id, int) else None
        if kind is None:
            raise MappingError(
                f"TestRail {what} field {system_name} ({label!r}) has type_id {type_id!r}, "
                f"which railfiesta does not know (known: 1-{max(FIELD_KINDS)}, §5.4)",
                hint="in TestRail (Administration > Customizations) deactivate the field or "
                "remove this project from its configs, then run again; nothing was written",
            )
        fields[system_name] = CaseField(
            system_name=system_name,
            label=label,
            kind=kind,
            include_all=bool(raw.get("include_all")),
            template_ids=frozenset(int(t) for t in raw.get("template_ids") or []),
            items=parse_items(options.get("items")),
            is_required=bool(options.get("is_required")),
        )
    return fields


@dataclass
class TestRailCatalog:
    """Lookups for one TestRail project: fields that apply to it, types, priorities, templates.

    Build with :meth:`build` from the four metadata calls; ``fields`` is keyed by system name.
    """

    __test__ = False

    project_id: int
    fields: dict[str, CaseField]
    types: dict[int, str]
    priorities: dict[int, str]
    templates: dict[int, str]
    default_template: int | None = None
    #: result fields of the project by system name (``get_result_fields`` through
    #: :func:`project_fields`, the same rule as case fields), filled in place by
    #: :meth:`set_result_fields`
    result_fields: dict[str, CaseField] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        project_id: int,
        case_fields: Iterable[Mapping[str, Any]],
        case_types: Iterable[Mapping[str, Any]],
        priorities: Iterable[Mapping[str, Any]],
        templates: Iterable[Mapping[str, Any]],
    ) -> TestRailCatalog:
        """Interpret the metadata rows for ``project_id`` (:func:`project_fields` for the case
        fields; raises its :class:`MappingError`). :attr:`result_fields` starts empty: the
        TestRail side reads ``get_result_fields`` when it first reads results."""
        fields = project_fields(case_fields, project_id)
        template_rows = list(templates)
        default = next((int(t["id"]) for t in template_rows if t.get("is_default")), None)
        return cls(
            project_id=project_id,
            fields=fields,
            types={int(t["id"]): str(t["name"]) for t in case_types},
            priorities={int(p["id"]): str(p["name"]) for p in priorities},
            templates={int(t["id"]): str(t["name"]) for t in template_rows},
            default_template=default,
        )

    def set_result_fields(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Take ``get_result_fields`` rows (§5.6) as :attr:`result_fields`, in place (the
        TestFiesta side holds the same dict for the labels), by :func:`project_fields`."""
        self.result_fields.clear()
        self.result_fields.update(project_fields(rows, self.project_id, what="result"))

    def result_details(
        self, row: Mapping[str, Any], status_names: Mapping[int, str]
    ) -> dict[str, Any]:
        """What a ``get_results*`` row (§5.14) holds besides its status and comment, as
        canonical result values: ``elapsed`` (TestRail's timespan text, ``"1m 30s"``),
        ``version`` and ``defects`` (text as stored), ``step_results`` (the first Step
        Results field's items as ``{content, expected, actual, status}``: text as Markdown,
        ``status`` the status label from ``status_names``, empty parts left out) and
        ``field:<system name>`` per other result field of :attr:`result_fields` with a value,
        in canonical form (:meth:`canonical_value`: dropdown ids as the labels of the
        project's config). None values are left out; BDD scenario results are not carried."""
        values: dict[str, Any] = {}
        for name in ("elapsed", "version", "defects"):
            if row.get(name) not in (None, ""):
                values[name] = str(row[name])
        for result_field in self.result_fields.values():
            value = row.get(result_field.system_name)
            if value is None or result_field.kind in ("steps", "bdd", "bdd_results"):
                continue
            if result_field.kind == "step_results":
                if "step_results" not in values and isinstance(value, list):
                    values["step_results"] = [
                        step_result_from_testrail(item, status_names)
                        for item in value
                        if isinstance(item, Mapping)
                    ]
                continue
            values[FIELD_PREFIX + result_field.system_name] = self.canonical_value(
                result_field, value
            )
        return values

    def template_name(self, template_id: int | None) -> str:
        """Name of a template id (``"Test Case (Steps)"``); the default template when None."""
        if template_id is None:
            template_id = self.default_template
        if template_id is None:
            return "Test Case (Text)"
        return self.templates.get(template_id, f"Template {template_id}")

    def fields_for(self, template_id: int | None) -> list[CaseField]:
        """Fields shown by ``template_id``, in definition order."""
        return [f for f in self.fields.values() if f.applies_to(template_id)]

    def canonical_value(self, case_field: CaseField, value: Any) -> Any:
        """A stored ``custom_*`` value in canonical form: labels for dropdowns, bools for
        checkboxes, Text fields as Markdown (:func:`core.text.as_markdown`: HTML converted,
        Markdown as stored), other text as stored."""
        kind = case_field.kind
        if kind == "dropdown":
            return case_field.label_of(value)
        if kind == "multi_select":
            values = value if isinstance(value, list) else [value]
            return [case_field.label_of(v) for v in values]
        if kind == "checkbox":
            return bool(value)
        if kind == "integer":
            try:
                return int(value)
            except (TypeError, ValueError):
                return value
        if kind in ("user", "milestone"):
            return f"{kind}:{value}"
        if kind == "text" and isinstance(value, str):
            return as_markdown(value)
        return value

    def case_record(self, row: Mapping[str, Any], folder: str) -> CaseRecord:
        """A ``get_cases`` row as a :class:`CaseRecord` filed under ``folder`` (a key).

        Only the fields of the case's template are kept; the first Steps-type field becomes
        :attr:`CaseRecord.steps`; ``None`` values are left out (absent is not empty, §11.18).
        """
        template_id = row.get("template_id")
        steps: list[Step] = []
        values: dict[str, Any] = {}
        steps_taken = False
        for case_field in self.fields_for(template_id):
            value = row.get(case_field.system_name)
            if value is None:
                continue
            if case_field.kind == "steps" and not steps_taken and isinstance(value, list):
                steps = [step_from_testrail(s) for s in value if isinstance(s, Mapping)]
                steps_taken = True
                continue
            values[case_field.system_name] = self.canonical_value(case_field, value)
        type_id = row.get("type_id")
        priority_id = row.get("priority_id")
        return CaseRecord(
            key=tr_key("case", row["id"]),
            title=str(row.get("title") or ""),
            folder=folder,
            template=self.template_name(template_id),
            type=self.types.get(int(type_id)) if type_id is not None else None,
            priority=self.priorities.get(int(priority_id)) if priority_id is not None else None,
            refs=str(row.get("refs") or ""),
            estimate=str(row.get("estimate") or ""),
            fields=values,
            steps=steps,
            created_on=testrail_seconds(row.get("created_on"), what=f"case {row['id']} created_on"),
            updated_on=testrail_seconds(row.get("updated_on"), what=f"case {row['id']} updated_on"),
        )


def step_from_testrail(raw: Mapping[str, Any]) -> Step:
    """A ``custom_steps_separated`` item (``content``, ``expected``, ``additional_info``,
    ``refs``, ``shared_step_id``) as a :class:`Step`; null sub-fields become empty text, HTML
    becomes Markdown (:func:`core.text.as_markdown`)."""
    shared = raw.get("shared_step_id")
    return Step(
        content=as_markdown(str(raw.get("content") or "")),
        expected=as_markdown(str(raw.get("expected") or "")),
        additional_info=as_markdown(str(raw.get("additional_info") or "")),
        refs=str(raw.get("refs") or ""),
        shared_step=tr_key("shared_step", shared) if shared else None,
    )


def step_result_from_testrail(
    raw: Mapping[str, Any], status_names: Mapping[int, str]
) -> dict[str, str]:
    """A Step Results item (``content``, ``expected``, ``actual``, ``status_id``; §5.14) as
    a canonical step result: text as Markdown (:func:`core.text.as_markdown`), ``status``
    the label of ``status_id`` (its id as text when unknown); empty parts left out."""
    item = {
        name: as_markdown(str(raw.get(name) or "")) for name in ("content", "expected", "actual")
    }
    status = raw.get("status_id")
    if status is not None:
        try:
            item["status"] = status_names.get(int(status), str(status))
        except (TypeError, ValueError):
            item["status"] = str(status)
    return {k: v for k, v in item.items() if v}


def _id_of(names: Mapping[int, str], wanted: str | None) -> int | None:
    if not wanted:
        return None
    folded = " ".join(wanted.split()).casefold()
    for ident, name in names.items():
        if " ".join(name.split()).casefold() == folded:
            return ident
    return None


def testrail_value(case_field: CaseField, value: Any) -> Any:
    """A canonical value as ``add_case``/``update_case`` takes it for ``case_field``:
    dropdown labels back to item ids, multi-select labels to a list of ids, ``user:5`` and
    ``milestone:3`` to 5 and 3; text as it is. An unknown label stays as sent (TestRail then
    answers 400 naming the field)."""
    if value is None:
        return None
    kind = case_field.kind
    if kind in ("dropdown", "multi_select"):
        labels = value if isinstance(value, list) else [value]
        ids = [_id_of(case_field.items, str(v)) for v in labels]
        encoded = [i if i is not None else v for i, v in zip(ids, labels, strict=True)]
        return encoded if kind == "multi_select" else encoded[0]
    if kind in ("user", "milestone") and isinstance(value, str) and value.startswith(f"{kind}:"):
        rest = value.split(":", 1)[1]
        return int(rest) if rest.isdigit() else rest
    return value


def testrail_steps(steps: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Engine step items as ``custom_steps_separated`` items (testrail-api.md §5.4):
    ``content``, ``expected`` and the optional ``additional_info``/``refs``; a shared step
    item (``{"shared_step": "tr:shared_step:N"}``) as ``{"shared_step_id": N}``, which
    TestRail expands into the set's steps."""
    out: list[dict[str, Any]] = []
    for step in steps:
        if step.get("shared_step"):
            out.append({"shared_step_id": int(str(step["shared_step"]).rsplit(":", 1)[1])})
            continue
        item: dict[str, Any] = {
            "content": step.get("content", ""),
            "expected": step.get("expected", ""),
        }
        for name in ("additional_info", "refs"):
            if step.get(name):
                item[name] = step[name]
        out.append(item)
    return out


def case_body(catalog: TestRailCatalog, values: Mapping[str, Any]) -> dict[str, Any]:
    """Engine case values (see :func:`core.model.case_values`) as an ``add_case`` /
    ``update_case`` body (testrail-api.md §5.4): names back to ids, labels back to item ids,
    steps into the template's Steps field (a shared step item as ``{"shared_step_id": N}``,
    which TestRail expands into the set's steps). ``folder`` becomes ``section_id`` (a TestRail key
    ``tr:section:<id>``). Only the names present in ``values`` are sent; a value set to None
    clears the field."""
    body: dict[str, Any] = {}
    template_id = _id_of(catalog.templates, values.get("template"))
    for name, value in values.items():
        if name == "title":
            body["title"] = value or ""
        elif name == "folder" and isinstance(value, str) and value.startswith("tr:section:"):
            body["section_id"] = int(value.rsplit(":", 1)[1])
        elif name == "template" and template_id is not None:
            body["template_id"] = template_id
        elif name == "type":
            body["type_id"] = _id_of(catalog.types, value)
        elif name == "priority":
            body["priority_id"] = _id_of(catalog.priorities, value)
        elif name in ("refs", "estimate"):
            body[name] = value or None
        elif name == "steps":
            steps_field = next(
                (f.system_name for f in catalog.fields_for(template_id) if f.kind == "steps"),
                "custom_steps_separated",
            )
            body[steps_field] = testrail_steps(value or [])
        elif name.startswith(FIELD_PREFIX):
            system = name[len(FIELD_PREFIX) :]
            case_field = catalog.fields.get(system)
            body[system] = testrail_value(case_field, value) if case_field else value
    return {
        k: v
        for k, v in body.items()
        if v is not None or k not in ("type_id", "priority_id", "template_id")
    }
