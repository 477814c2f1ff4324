"""The TestFiesta emulator's routes and DTO tables against the published v1 spec itself.

Reads ``../shared/specs/testfiesta-v1.openapi.json`` (beside the checkout, or
``$RAILFIESTA_SHARED_SPECS``) and fails, never skips, when it is missing. Every difference
between the emulator and the spec must be one of the quirks testfiesta-api.md §1.5 lists, or
tacotruck's top-level ``runId`` on /data (§3.12).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from starlette.routing import Route

from emulators.testfiesta import create_app
from emulators.testfiesta import dto as D

REPO_ROOT = Path(__file__).resolve().parents[2]

#: Emulator DTO -> (spec schema, properties added for §1.5 quirks, required the spec has but
#: the emulator enforces differently).
DTOS: list[tuple[D.Dto, str, set[str], set[str]]] = [
    (D.CREATE_PROJECT, "CreateProjectDto", set(), set()),
    # tacotruck's folder variant: parentUid instead of parentId, plus position, integrationUid;
    # the handler requires one of parentId/parentUid.
    (D.CREATE_FOLDER, "CreateFolderDto", {"parentUid", "position", "integrationUid"}, {"parentId"}),
    (D.UPDATE_FOLDER, "UpdateFolderDto", set(), set()),
    (D.CREATE_CASE, "CreateCaseDTO", set(), set()),
    (D.SHARED_STEP_ITEM, "SharedStepItem", set(), set()),
    (D.CREATE_SHARED_STEP, "CreateSharedStepDto", set(), set()),
    (D.UPDATE_SHARED_STEP, "UpdateSharedStepDto", set(), set()),
    (D.TEMPLATE_FIELD, "TemplateField", set(), set()),
    (D.CREATE_TEMPLATE, "CreateTemplateDto", set(), set()),
    (D.UPDATE_TEMPLATE, "UpdateTemplateDto", set(), set()),
    (D.CREATE_CUSTOM_FIELD, "CreateCustomFieldDto", {"entityTypes"}, set()),
    (D.UPDATE_CUSTOM_FIELD, "UpdateCustomFieldDto", {"description"}, set()),
    (D.CREATE_TAG, "CreateTagDto", set(), set()),
    (D.UPDATE_TAG, "UpdateTagDto", set(), set()),
    (D.CREATE_RUN, "CreateRunDTO", set(), set()),
    (D.UPDATE_RUN, "UpdateRunDTO", set(), set()),
    (D.CONFIGURATION, "ConfigurationDTO", set(), set()),
    (D.CREATE_PLAN, "CreatePlanDTO", set(), set()),
    (D.UPDATE_PLAN, "UpdatePlanDTO", set(), set()),
    (D.CREATE_MILESTONE, "CreateMilestoneDTO", set(), set()),
    (D.UPDATE_MILESTONE, "UpdateMilestoneDTO", set(), set()),
    (D.EXECUTION_STEP, "ExecutionStep", set(), set()),
    (D.CREATE_EXECUTION, "CreateExecutionDTO", set(), set()),
    (D.TEST_EXECUTION_STEP, "TestExecutionStepDTO", set(), set()),
    (D.UPDATE_EXECUTION, "UpdateExecutionDTO", set(), set()),
    (D.FOLDER_DATA, "FolderData", set(), set()),
    (D.CASE_DATA, "CaseData", set(), set()),
    (D.RUN_DATA, "RunData", set(), set()),
    (D.EXECUTION_DATA, "ExecutionData", set(), set()),
    # tacotruck's top-level runId (§3.12), the tolerance data_run_id.
    (D.CREATE_DATA, "CreateDataDto", {"runId"}, set()),
]

#: Updates tacotruck sends with PUT (§1.5): accepted beside the spec's PATCH.
PUT_ALIASES = {
    "/v1/{handle}/projects/{key}/folders/{id}",
    "/v1/{handle}/projects/{key}/customFields/{id}",
    "/v1/{handle}/tags/{id}",
    "/v1/{handle}/projects/{key}/runs/{id}",
}


@pytest.fixture(scope="module")
def spec() -> Any:
    configured = os.environ.get("RAILFIESTA_SHARED_SPECS")
    specs = Path(configured) if configured else REPO_ROOT.parent / "shared" / "specs"
    path = specs / "testfiesta-v1.openapi.json"
    if not path.is_file():
        pytest.fail(f"TestFiesta v1 spec not found at {path}", pytrace=False)
    return json.loads(path.read_text(encoding="utf-8"))


def test_routes_are_exactly_the_spec_operations_plus_put_aliases(spec: Any) -> None:
    app = create_app(handle="acme", token="testfiesta_x")
    emulated = {
        (route.path, method)
        for route in app.routes
        if isinstance(route, Route) and route.path.startswith("/v1/")
        for method in route.methods or ()
        if method != "HEAD"
    }
    documented = {
        (path, method.upper())
        for path, operations in spec["paths"].items()
        for method in operations
        if method != "parameters"
    }
    assert len(documented) == 50
    # + the undocumented signed-URL upload TestFiesta's own CLI uses (testfiesta-api.md §3.13)
    assert emulated - documented == {(path, "PUT") for path in PUT_ALIASES} | {
        ("/v1/{handle}/projects/{key}/data/url", "POST")
    }
    assert documented - emulated == set()


@pytest.mark.parametrize(("dto", "schema", "added", "relaxed"), DTOS, ids=[d[1] for d in DTOS])
def test_dto_tables_match_the_spec(
    spec: Any, dto: D.Dto, schema: str, added: set[str], relaxed: set[str]
) -> None:
    documented = spec["components"]["schemas"][schema]
    properties = documented.get("properties", {})
    assert set(dto.fields) - added == set(properties)
    required = {name for name, field in dto.fields.items() if field.required}
    assert required == set(documented.get("required", [])) - relaxed
    assert dto.additional == (documented.get("additionalProperties") is not False)
    for name, field in dto.fields.items():
        if name not in properties:
            continue
        prop = properties[name]
        kind = prop.get("type")
        if "$ref" in prop:
            target = spec["components"]["schemas"][prop["$ref"].rsplit("/", 1)[1]]
            kind = target.get("type")
            if "enum" in target:
                assert field.enum == tuple(target["enum"]), name
        if kind is not None and field.kind not in (D.ANY, D.NUMLIKE, D.DATE_TIME):
            assert field.kind == kind, name
        if kind == "array" and "$ref" in prop.get("items", {}):
            item_schema = prop["items"]["$ref"].rsplit("/", 1)[1]
            if "enum" in spec["components"]["schemas"][item_schema]:
                assert field.enum == tuple(spec["components"]["schemas"][item_schema]["enum"])
