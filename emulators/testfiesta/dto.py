"""Request DTOs of TestFiesta v1 (spec 0.67.1, ``components.schemas``) and a small validator.

Each DTO is a :class:`Dto`: named fields with a kind, required flag, item kind and enum, plus
whether additional properties are allowed. The tables below copy the spec's schemas; where
the reference (testfiesta-api.md §1.5) lists a quirk the real clients rely on, the extra field is
added and commented. :func:`validate` returns nothing or raises a 400 that lists every problem
(``body.name must be a string; body.colour is not a property of CreateTagDto``).

Validation is what the spec implies [INF]: DTOs with ``additionalProperties: false`` reject
unknown keys (NestJS ``forbidNonWhitelisted``), required fields must be present, and types must
match (``number`` = a JSON number, never a boolean or numeric string, except where noted).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from emulators.testfiesta.errors import bad_request

# Field kinds.
STRING = "string"
NUMBER = "number"
BOOLEAN = "boolean"
OBJECT = "object"
ARRAY = "array"
ANY = "any"
DATE_TIME = "date-time"  # a string that parses as ISO 8601
NUMLIKE = "numlike"  # a number, or a string holding one (tacotruck's CreateCaseDTO.projectId)


@dataclass(frozen=True)
class F:
    """One DTO field: ``kind`` (see the kind constants), ``required``, ``items`` (the kind or
    :class:`Dto` of array items), ``enum`` (allowed string values), ``values`` (the kind every
    value of an object must have, e.g. ``Record<string,string>``), ``dto`` (a nested object)."""

    kind: str
    required: bool = False
    items: str | Dto | None = None
    enum: tuple[str, ...] | None = None
    values: str | None = None
    dto: Dto | None = None


@dataclass(frozen=True)
class Dto:
    """A named object schema: ``fields`` by property name; ``additional`` = unknown keys allowed."""

    name: str
    fields: dict[str, F] = field(default_factory=dict)
    additional: bool = False


def is_number(value: Any) -> bool:
    """True for a finite JSON number (int or float, never a bool)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value)


def parse_datetime(value: str) -> datetime | None:
    """Parse an ISO 8601 string (``Z`` allowed, date-only allowed); None if it does not parse."""
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _check(value: Any, spec: F, path: str, problems: list[str]) -> None:
    kind = spec.kind
    if kind == ANY:
        return
    if kind == STRING:
        if not isinstance(value, str):
            problems.append(f"{path} must be a string")
        elif spec.enum is not None and value not in spec.enum:
            problems.append(f"{path} must be one of {', '.join(spec.enum)} (got {value!r})")
    elif kind == DATE_TIME:
        if not isinstance(value, str) or parse_datetime(value) is None:
            problems.append(f"{path} must be an ISO 8601 date-time string")
    elif kind == NUMBER:
        if not is_number(value):
            problems.append(f"{path} must be a number")
    elif kind == NUMLIKE:
        ok = is_number(value) or (isinstance(value, str) and _numeric_string(value))
        if not ok:
            problems.append(f"{path} must be a number")
    elif kind == BOOLEAN:
        if not isinstance(value, bool):
            problems.append(f"{path} must be a boolean")
    elif kind == OBJECT:
        if not isinstance(value, dict):
            problems.append(f"{path} must be an object")
        elif spec.dto is not None:
            _check_dto(value, spec.dto, path, problems)
        elif spec.values is not None:
            for key, item in value.items():
                _check(item, F(spec.values), f"{path}.{key}", problems)
    elif kind == ARRAY:
        if not isinstance(value, list):
            problems.append(f"{path} must be an array")
        elif spec.items is not None:
            for index, item in enumerate(value):
                item_path = f"{path}[{index}]"
                if isinstance(spec.items, Dto):
                    if not isinstance(item, dict):
                        problems.append(f"{item_path} must be an object")
                    else:
                        _check_dto(item, spec.items, item_path, problems)
                else:
                    _check(item, F(spec.items, enum=spec.enum), item_path, problems)
    else:  # pragma: no cover - a typo in the tables below
        raise AssertionError(f"unknown field kind {kind}")


def _numeric_string(value: str) -> bool:
    try:
        return math.isfinite(float(value))
    except ValueError:
        return False


def _check_dto(value: dict[str, Any], dto: Dto, path: str, problems: list[str]) -> None:
    for name, spec in dto.fields.items():
        if name not in value:
            if spec.required:
                problems.append(f"{path}.{name} is required")
            continue
        _check(value[name], spec, f"{path}.{name}", problems)
    if not dto.additional:
        for name in value:
            if name not in dto.fields:
                problems.append(f"{path}.{name} is not a property of {dto.name}")


def validate(value: Any, dto: Dto, path: str = "body") -> dict[str, Any]:
    """Check ``value`` against ``dto``; return it (typed as a dict) or raise a 400 listing
    every problem found, each naming the JSON path of the field."""
    problems: list[str] = []
    if not isinstance(value, dict):
        problems.append(f"{path} must be a JSON object ({dto.name})")
    else:
        _check_dto(value, dto, path, problems)
    if problems:
        raise bad_request("; ".join(problems))
    checked: dict[str, Any] = value
    return checked


# --- the DTOs (spec 0.67.1) -----------------------------------------------------------------

ENTITY_TYPES = (
    "cases",
    "milestones",
    "executions",
    "results",
    "runs",
    "plans",
    "defects",
    "users",
    "roles",
)
CUSTOM_FIELD_TYPES = (
    "text",
    "radio",
    "date",
    "step",
    "link",
    "checkbox",
    "dropdown",
    "multi",
    "file",
    "integer",
)
TEMPLATE_DATA_TYPES = (
    "text",
    "radio",
    "date",
    "step",
    "attachment",
    "link",
    "checkbox",
    "dropdown",
    "none",
)
#: Custom-field entity scopes tacotruck sends and the mocks return (§1.5, §3.6).
CUSTOM_FIELD_ENTITY_TYPES = ("testCase", "testResult")

CREATE_PROJECT = Dto(
    "CreateProjectDto",
    {
        "name": F(STRING, True),
        "key": F(STRING, True),
        "externalId": F(STRING),
        "source": F(STRING),
        "customFields": F(OBJECT, True),
    },
)

CREATE_FOLDER = Dto(
    "CreateFolderDto",
    {
        "name": F(STRING, True),
        "externalId": F(STRING),
        "source": F(STRING),
        "customFields": F(OBJECT),
        # Spec: parentId is required. tacotruck sends parentUid instead (§1.5); the handler
        # requires exactly one of the two.
        "parentId": F(NUMBER),
        "parentUid": F(NUMBER),
        "projectUid": F(NUMBER, True),
        # tacotruck's variant (§3.2): position (float sort key) and integrationUid.
        "position": F(NUMBER),
        "integrationUid": F(ANY),
    },
)

UPDATE_FOLDER = Dto(
    "UpdateFolderDto",
    {
        "name": F(STRING),
        "externalId": F(STRING),
        "source": F(STRING),
        "customFields": F(OBJECT),
        "parentId": F(NUMBER),
        "status": F(NUMBER),
    },
)

CREATE_CASE = Dto(
    "CreateCaseDTO",
    {
        "customFields": F(ANY, True),
        "source": F(STRING),
        "name": F(STRING, True),
        "priority": F(NUMBER),
        "status": F(NUMBER),
        "repoUID": F(STRING),
        "parentId": F(NUMBER, True),
        "steps": F(ARRAY, True),
        "externalId": F(STRING),
        # Typed number; tacotruck sends a string (§1.5).
        "projectId": F(NUMLIKE, True),
        "templateId": F(STRING),
        "tagIds": F(ARRAY, items=NUMBER),
        "tags": F(ARRAY, items=STRING),
        "externalCreatedAt": F(STRING),
        "externalUpdatedAt": F(STRING),
        "statusText": F(STRING),
        "priorityText": F(STRING),
        "createdBy": F(STRING),
        "createdAt": F(STRING),
    },
)

SHARED_STEP_ITEM = Dto("SharedStepItem")
# Recursive: children are SharedStepItems. Fill the table after the object exists.
SHARED_STEP_ITEM.fields.update(
    {
        "id": F(STRING, True),
        "title": F(STRING),
        "description": F(STRING),
        "expectedResult": F(STRING),
        "children": F(ARRAY, items=SHARED_STEP_ITEM),
        "sharedStepUid": F(NUMBER),
    }
)
CREATE_SHARED_STEP = Dto(
    "CreateSharedStepDto",
    {"name": F(STRING, True), "steps": F(ARRAY, True, items=SHARED_STEP_ITEM)},
)
UPDATE_SHARED_STEP = Dto(
    "UpdateSharedStepDto", {"name": F(STRING), "steps": F(ARRAY, items=SHARED_STEP_ITEM)}
)

TEMPLATE_FIELD = Dto(
    "TemplateField",
    {
        "id": F(STRING, True),
        "name": F(STRING, True),
        "dataType": F(STRING, True, enum=TEMPLATE_DATA_TYPES),
        "defaultValue": F(STRING),
        "value": F(STRING),
        "options": F(ARRAY, items=STRING),
    },
)
CREATE_TEMPLATE = Dto(
    "CreateTemplateDto",
    {"name": F(STRING, True), "templateFields": F(ARRAY, items=TEMPLATE_FIELD)},
)
UPDATE_TEMPLATE = Dto(
    "UpdateTemplateDto", {"name": F(STRING), "templateFields": F(ARRAY, items=TEMPLATE_FIELD)}
)

CREATE_CUSTOM_FIELD = Dto(
    "CreateCustomFieldDto",
    {
        "name": F(STRING, True),
        "type": F(STRING, enum=CUSTOM_FIELD_TYPES),
        "source": F(STRING),
        "options": F(ARRAY, items=STRING),
        # Not in the DTO; tacotruck sends it on create and responses carry it (§1.5).
        "entityTypes": F(ARRAY, items=STRING, enum=CUSTOM_FIELD_ENTITY_TYPES),
    },
)
UPDATE_CUSTOM_FIELD = Dto(
    "UpdateCustomFieldDto",
    {
        "name": F(STRING),
        "type": F(STRING, enum=CUSTOM_FIELD_TYPES),
        "source": F(STRING),
        "options": F(ARRAY, items=STRING),
        # Not in the DTO; tacotruck sends it on update and responses carry it (§1.5).
        "description": F(STRING),
    },
)

CREATE_TAG = Dto(
    "CreateTagDto",
    {
        "name": F(STRING, True),
        "description": F(STRING),
        "entityTypes": F(ARRAY, True, items=STRING, enum=ENTITY_TYPES),
    },
)
UPDATE_TAG = Dto(
    "UpdateTagDto",
    {
        "name": F(STRING),
        "description": F(STRING),
        "entityTypes": F(ARRAY, items=STRING, enum=ENTITY_TYPES),
        "archived": F(BOOLEAN),
    },
)

CREATE_RUN = Dto(
    "CreateRunDTO",
    {
        "externalId": F(STRING),
        "source": F(STRING),
        "link": F(STRING),
        "priority": F(NUMBER),
        "status": F(NUMBER),
        "name": F(STRING, True),
        "description": F(STRING),
        "dueAt": F(DATE_TIME),
        "tagUids": F(ARRAY, items=NUMBER),
        "configs": F(ARRAY, items=STRING),
        "caseUids": F(ARRAY, items=NUMBER),
        "milestoneUids": F(ARRAY, items=NUMBER),
    },
)
UPDATE_RUN = Dto(
    "UpdateRunDTO",
    {
        "name": F(STRING),
        "description": F(STRING),
        "status": F(NUMBER),
        "priority": F(NUMBER),
        "dueAt": F(DATE_TIME),
        "addMilestoneUids": F(ARRAY, items=NUMBER),
        "removeMilestoneUids": F(ARRAY, items=NUMBER),
        "addTagUids": F(ARRAY, items=NUMBER),
        "removeTagUids": F(ARRAY, items=NUMBER),
        "addPlanUids": F(ARRAY, items=NUMBER),
        "removePlanUids": F(ARRAY, items=NUMBER),
        "archive": F(BOOLEAN),
        "configs": F(ARRAY, items=STRING),
    },
)

# ConfigurationDTO and the testRuns items do not say additionalProperties: false.
CONFIGURATION = Dto(
    "ConfigurationDTO",
    {
        "sets": F(ARRAY, True, items=ARRAY),
        "type": F(STRING, True, enum=("simple", "matrix")),
    },
    additional=True,
)
PLAN_TEST_RUN = Dto(
    "CreatePlanDTO.testRuns[]",
    {"configuration": F(OBJECT, True, dto=CONFIGURATION), "uid": F(NUMBER, True)},
    additional=True,
)
CREATE_PLAN = Dto(
    "CreatePlanDTO",
    {
        "name": F(STRING, True),
        "description": F(STRING),
        "milestoneUids": F(ARRAY, items=NUMBER),
        "status": F(NUMBER),
        "priority": F(NUMBER),
        "customFields": F(OBJECT, values=STRING),
        "externalId": F(STRING),
        "source": F(STRING),
        "testRuns": F(ARRAY, items=PLAN_TEST_RUN),
        "configuration": F(OBJECT, dto=CONFIGURATION),
        "tagUids": F(ARRAY, items=NUMBER),
    },
)
UPDATE_PLAN = Dto(
    "UpdatePlanDTO",
    {
        "name": F(STRING),
        "description": F(STRING),
        "tagUids": F(ARRAY, items=NUMBER),
        "milestoneUids": F(ARRAY, items=NUMBER),
        "runUids": F(ARRAY, items=NUMBER),
        "status": F(NUMBER),
        "priority": F(NUMBER),
    },
)

_MILESTONE_FIELDS = {
    "name": F(STRING),
    "description": F(STRING),
    "startDate": F(DATE_TIME),
    "dueAt": F(DATE_TIME),
    "status": F(NUMBER),
    "planIds": F(ARRAY, items=NUMBER),
    "runIds": F(ARRAY, items=NUMBER),
    "tagUids": F(ARRAY, items=NUMBER),
}
CREATE_MILESTONE = Dto(
    "CreateMilestoneDTO",
    {
        **_MILESTONE_FIELDS,
        "name": F(STRING, True),
        "startDate": F(DATE_TIME, True),
        "dueAt": F(DATE_TIME, True),
        "status": F(NUMBER, True),
    },
)
UPDATE_MILESTONE = Dto("UpdateMilestoneDTO", {**_MILESTONE_FIELDS, "archived": F(BOOLEAN)})

EXECUTION_STEP = Dto(
    "ExecutionStep",
    {
        "testStepUid": F(STRING, True),
        "description": F(STRING, True),
        "customFields": F(OBJECT, True),
    },
)
CREATE_EXECUTION = Dto(
    "CreateExecutionDTO",
    {
        "externalId": F(STRING),
        "source": F(STRING),
        "testCaseUid": F(NUMBER),
        "testCaseRef": F(NUMBER),
        "testRunUid": F(NUMBER),
        "status": F(NUMBER),
        "customFields": F(OBJECT, True),
        "steps": F(ARRAY, items=EXECUTION_STEP),
    },
)
TEST_EXECUTION_STEP = Dto(
    "TestExecutionStepDTO",
    {
        "description": F(STRING),
        "sharedStepUid": F(NUMBER),
        "title": F(STRING),
        "expectedResult": F(STRING),
        "uid": F(STRING),
        "position": F(NUMBER, True),
        "status": F(NUMBER),
    },
)
TAG_REPLACEMENT = Dto(
    "UpdateExecutionDTO.tagReplacements[]",
    {"newTagUids": F(ARRAY, items=NUMBER), "existingTagUids": F(ARRAY, items=NUMBER)},
    additional=True,
)
UPDATE_EXECUTION = Dto(
    "UpdateExecutionDTO",
    {
        "status": F(NUMBER),
        "priority": F(NUMBER),
        "dueAt": F(DATE_TIME),
        "assignedTo": F(STRING),
        "tagUids": F(ARRAY, items=NUMBER),
        "tagReplacements": F(ARRAY, items=TAG_REPLACEMENT),
        "name": F(STRING),
        "steps": F(ARRAY, True, items=TEST_EXECUTION_STEP),
        "templateFields": F(ANY),
    },
)

# Bulk entries allow additional properties (spec: additionalProperties: {}).
FOLDER_DATA = Dto(
    "FolderData",
    {"name": F(STRING, True), "externalId": F(STRING, True), "source": F(STRING, True)},
    additional=True,
)
CASE_DATA = Dto(
    "CaseData",
    {
        "name": F(STRING, True),
        "externalId": F(STRING, True),
        "source": F(STRING, True),
        "folderExternalId": F(STRING),
    },
    additional=True,
)
RUN_DATA = Dto(
    "RunData",
    {"name": F(STRING, True), "externalId": F(STRING, True), "source": F(STRING, True)},
    additional=True,
)
EXECUTION_DATA = Dto(
    "ExecutionData",
    {
        "externalId": F(STRING),
        "caseRef": F(STRING, True),
        "runRef": F(STRING, True),
        "source": F(STRING, True),
    },
    additional=True,
)
#: Entity group name -> entry DTO, in the order /data applies them.
DATA_GROUPS: dict[str, Dto] = {
    "folders": FOLDER_DATA,
    "cases": CASE_DATA,
    "runs": RUN_DATA,
    "executions": EXECUTION_DATA,
}


def _group(entry: Dto) -> Dto:
    return Dto(
        f"CreateDataDto.entities.{entry.name}",
        {"entries": F(ARRAY, True, items=entry)},
        additional=True,
    )


CREATE_DATA = Dto(
    "CreateDataDto",
    {
        "entities": F(
            OBJECT,
            True,
            dto=Dto(
                "CreateDataDto.entities",
                {name: F(OBJECT, dto=_group(entry)) for name, entry in DATA_GROUPS.items()},
            ),
        ),
        # Not in the DTO (additionalProperties: false), but tacotruck, TestFiesta's own tool,
        # sends the uid of the run to attach the executions to (§3.12): a named tolerance,
        # contract_spec.TOLERANCES "data_run_id".
        "runId": F(NUMBER),
    },
)
