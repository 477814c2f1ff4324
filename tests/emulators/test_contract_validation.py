"""Contract validation of the TestFiesta emulator (issue 3): the spec fix-ups, the §1.5
tolerances, the shim path mapping, and the checker and middleware that run in every test.

The specs come from the directory tests/conftest.py put in ``RAILFIESTA_CONTRACT_SPECS``
(``../shared/specs`` or ``$RAILFIESTA_SHARED_SPECS``); the checker is the one the whole session
shares (parsed once). Violations a test provokes on purpose are taken with
``contract.take_violations()`` so the session hooks do not fail the test for them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate as validate_spec
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from emulators.faults import FaultInjector
from emulators.server import start_in_thread
from emulators.testfiesta import contract, create_app
from emulators.testfiesta import contract_spec as S
from emulators.testfiesta import dto as D
from emulators.testfiesta import v1 as v1_module
from tests.helpers import emulate

SPECS = Path(os.environ[contract.SPECS_ENV])
TOKEN = "testfiesta_contract"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
JSON = [("content-type", "application/json")]
PAGE = "limit=10&offset=0"
ENVELOPE = {"count": 0, "items": [], "nextOffset": 0}
RUNS_POST = "/v1/{handle}/projects/{key}/runs"


@pytest.fixture(scope="module")
def raw_v1() -> dict[str, Any]:
    return json.loads((SPECS / S.V1_SPEC_FILE).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def raw_shim() -> dict[str, Any]:
    return json.loads((SPECS / S.SHIM_SPEC_FILE).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def checker() -> contract.ContractChecker:
    """The session's checker (built when the first emulator app was created)."""
    return contract.load_checker(str(SPECS))


def v1(
    checker: contract.ContractChecker,
    method: str,
    path: str,
    *,
    query: str = "",
    body: Any = None,
    status: int = 200,
    answer: Any = None,
) -> list[str]:
    """The problems of one v1 exchange ``method /v1/acme<path>`` (JSON in, JSON out)."""
    raw = b"" if body is None else json.dumps(body).encode()
    out = b"" if answer is None else json.dumps(answer).encode()
    api, problems = checker.check(
        method,
        f"/v1/acme{path}",
        query,
        JSON if body is not None else [],
        raw,
        status,
        JSON if answer is not None else [],
        out,
    )
    assert api == "v1"
    return problems


def shim(
    checker: contract.ContractChecker,
    method: str,
    call: str,
    *,
    body: Any = None,
    status: int = 200,
    answer: Any = None,
) -> list[str]:
    """The problems of one shim exchange ``method /trv2/acme/index.php?<call>``."""
    raw = b"" if body is None else json.dumps(body).encode()
    out = b"" if answer is None else json.dumps(answer).encode()
    api, problems = checker.check(
        method,
        "/trv2/acme/index.php",
        call,
        JSON if body is not None else [],
        raw,
        status,
        JSON if answer is not None else [],
        out,
    )
    assert api == "shim"
    return problems


def response_schema(spec: dict[str, Any], key: str, method: str, code: str = "200") -> Any:
    return spec["paths"][key][method]["responses"][code]["content"]["application/json"]["schema"]


def param(operation: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in operation.get("parameters", []) if p["name"] == name)


# --- the published files are refused; the fix-ups are pure ------------------------------------


def test_the_published_files_are_refused_by_a_strict_validator(
    raw_v1: dict[str, Any], raw_shim: dict[str, Any]
) -> None:
    with pytest.raises(OpenAPIValidationError, match="Path parameter 'handle'"):
        validate_spec(raw_v1)
    with pytest.raises(OpenAPIValidationError):
        validate_spec(raw_shim)


def test_fixed_specs_load_and_the_fix_ups_are_pure(
    raw_v1: dict[str, Any], raw_shim: dict[str, Any], checker: contract.ContractChecker
) -> None:
    """The session checker exists, so openapi-core validated both prepared specs (it does on
    load); preparing them again changes nothing of the inputs and gives the same result."""
    before_v1, before_shim = json.dumps(raw_v1), json.dumps(raw_shim)
    v1_spec, shim_spec = contract.load_specs(SPECS)
    assert S.tolerate_v1_spec(S.fix_v1_spec(raw_v1)) == v1_spec
    assert S.fix_shim_spec(raw_shim) == shim_spec
    assert (json.dumps(raw_v1), json.dumps(raw_shim)) == (before_v1, before_shim)
    assert [f.name for f in S.V1_FIXES] == ["runs_post_path_params", "list_responses_paginated"]
    assert len(S.SHIM_FIXES) == 12
    assert all(f.why for f in (*S.V1_FIXES, *S.SHIM_FIXES))


# --- each v1 fix --------------------------------------------------------------------------------


def fixed(spec: dict[str, Any], steps: Any, name: str) -> dict[str, Any]:
    """``spec`` with only the step called ``name`` applied."""
    [step] = [s for s in steps if s.name == name]
    return S.apply_fixes(spec, [step])


def test_v1_fix_runs_post_path_params(raw_v1: dict[str, Any]) -> None:
    assert raw_v1["paths"][RUNS_POST]["post"]["parameters"] == []
    after = fixed(raw_v1, S.V1_FIXES, "runs_post_path_params")
    params = after["paths"][RUNS_POST]["post"]["parameters"]
    assert [(p["name"], p["in"], p["required"]) for p in params] == [
        ("handle", "path", True),
        ("key", "path", True),
    ]


def test_v1_fix_list_responses_paginated(raw_v1: dict[str, Any]) -> None:
    cases = "/v1/{handle}/projects/{key}/cases"
    assert response_schema(raw_v1, cases, "get") == {}
    after = fixed(raw_v1, S.V1_FIXES, "list_responses_paginated")
    assert response_schema(after, cases, "get") == {"$ref": S.PAGINATED_RESULT}
    changed = [
        key
        for key, item in raw_v1["paths"].items()
        if "get" in item
        and response_schema(raw_v1, key, "get") != response_schema(after, key, "get")
    ]
    assert len(changed) == 10
    # Single-object answers stay untyped: the spec says nothing about them.
    assert response_schema(after, cases + "/{id}", "get") == {}


# --- each shim fix ------------------------------------------------------------------------------

GET_CASE = "index.php?/api/v2/get_case/{case_id}"


def shim_fixed(raw: dict[str, Any], name: str) -> dict[str, Any]:
    """``raw`` after :func:`shim_leading_slash` and the fix ``name`` (keys with ``/``)."""
    steps = [f for f in S.SHIM_FIXES if f.name in ("leading_slash", name)]
    return S.apply_fixes(raw, steps)


def op(spec: dict[str, Any], key: str, method: str = "get") -> dict[str, Any]:
    paths = spec["paths"]
    operation: dict[str, Any] = paths.get(key, paths.get("/" + key))[method]
    return operation


def test_shim_fix_leading_slash(raw_shim: dict[str, Any]) -> None:
    assert GET_CASE in raw_shim["paths"]
    after = fixed(raw_shim, S.SHIM_FIXES, "leading_slash")
    assert list(after["paths"]) == ["/" + key for key in raw_shim["paths"]]


def test_shim_fix_missing_path_params(raw_shim: dict[str, Any]) -> None:
    key = "index.php?/api/v2/get_templates/{project_id}"
    assert "parameters" not in raw_shim["paths"][key]["get"]
    after = shim_fixed(raw_shim, "missing_path_params")
    assert op(after, key)["parameters"] == [
        {"name": "project_id", "in": "path", "required": True, "schema": {"type": "integer"}}
    ]
    assert param(op(after, "index.php?/api/v2/get_configs/{project_id}"), "project_id")
    assert param(op(after, "index.php?/api/v2/get_history_for_case/{case_id}"), "case_id")


def test_shim_fix_responses_in_request_body(raw_shim: dict[str, Any]) -> None:
    key = "index.php?/api/v2/add_plan/{project_id}"
    before = raw_shim["paths"][key]["post"]
    assert "responses" not in before and "responses" in before["requestBody"]
    after = op(shim_fixed(raw_shim, "responses_in_request_body"), key, "post")
    assert set(after["responses"]) == {"200", "400", "404", "500"}
    assert set(after["requestBody"]) == {"required", "description", "content"}


def test_shim_fix_parameter_schema_typo(raw_shim: dict[str, Any]) -> None:
    key = "index.php?/api/v2/get_tests/{run_id}"
    assert "schema" not in param(raw_shim["paths"][key]["get"], "offset")
    after = op(shim_fixed(raw_shim, "parameter_schema_typo"), key)
    assert param(after, "offset")["schema"] == {"type": "integer"}
    assert "schema:schema" not in param(after, "offset")


def test_shim_fix_nested_responses(raw_shim: dict[str, Any]) -> None:
    results = "index.php?/api/v2/get_results/{test_id}"
    for_case = "index.php?/api/v2/get_results_for_case/{run_id}/{case_id}"
    update_config = "index.php?/api/v2/update_config/{config_id}"
    assert set(raw_shim["paths"][results]["get"]["responses"]) == {"200"}
    assert "content" in raw_shim["paths"][for_case]["get"]["responses"]
    assert raw_shim["paths"][update_config]["post"]["responses"]["200"]["500"] is None
    after = shim_fixed(raw_shim, "nested_responses")
    assert set(op(after, results)["responses"]) == {"200", "400", "404", "500"}
    assert set(op(after, results)["responses"]["200"]) == {"description", "content"}
    assert set(op(after, for_case)["responses"]) == {"200", "400", "404", "500"}
    assert "content" in op(after, for_case)["responses"]["200"]
    assert op(after, update_config, "post")["responses"]["500"] == {
        "description": "Empty (null) in the published spec."
    }


def test_shim_fix_property_outside_properties(raw_shim: dict[str, Any]) -> None:
    key = "index.php?/api/v2/get_results_for_run/{run_id}"
    items = response_schema(raw_shim, key, "get")["properties"]["results"]["items"]
    assert "test_id" in items and "test_id" not in items["properties"]
    after = shim_fixed(raw_shim, "property_outside_properties")
    items = response_schema(after, "/" + key, "get")["properties"]["results"]["items"]
    assert "test_id" not in items
    assert items["properties"]["test_id"]["type"] == "integer"


def test_shim_fix_null_types(raw_shim: dict[str, Any]) -> None:
    key = "index.php?/api/v2/delete_config/{config_id}"
    assert response_schema(raw_shim, key, "post") == {"type": None}
    after = shim_fixed(raw_shim, "null_types")
    assert response_schema(after, "/" + key, "post") == {}


def test_shim_fix_property_required_flags(raw_shim: dict[str, Any]) -> None:
    key = "index.php?/api/v2/add_case/{section_id}"
    body = raw_shim["paths"][key]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["properties"]["title"]["required"] is True
    assert "required" not in body["schema"]
    after = op(shim_fixed(raw_shim, "property_required_flags"), key, "post")
    schema = after["requestBody"]["content"]["application/json"]["schema"]
    assert schema["required"] == ["title"]
    assert all("required" not in p for p in schema["properties"].values())


def test_shim_fix_stray_result_properties(raw_shim: dict[str, Any]) -> None:
    key = "index.php?/api/v2/add_results/{run_id}"
    props = response_schema(raw_shim, key, "post")["properties"]
    assert "properties" in props and props["results"]["items"] == {"type": "object"}
    after = shim_fixed(raw_shim, "stray_result_properties")
    props = response_schema(after, "/" + key, "post")["properties"]
    assert "properties" not in props
    assert props["results"]["items"]["properties"]["comment"]["type"] == "string"


def test_shim_fix_null_default(raw_shim: dict[str, Any]) -> None:
    key = "index.php?/api/v2/get_projects"
    assert param(raw_shim["paths"][key]["get"], "is_completed")["schema"]["default"] is None
    after = op(shim_fixed(raw_shim, "null_default"), key)
    assert param(after, "is_completed")["schema"] == {"type": "integer"}


def test_shim_fix_documented_nulls(raw_shim: dict[str, Any]) -> None:
    key = "index.php?/api/v2/get_test/{test_id}"
    case_id = response_schema(raw_shim, key, "get")["properties"]["case_id"]
    assert case_id == {
        "type": "integer",
        "description": "TF does not support this field will be null",
    }
    after = response_schema(shim_fixed(raw_shim, "documented_nulls"), "/" + key, "get")
    assert after["properties"]["case_id"]["nullable"] is True
    assert "nullable" not in after["properties"]["title"]


def test_shim_fix_page_links_nullable(raw_shim: dict[str, Any]) -> None:
    key = "index.php?/api/v2/get_tests/{run_id}"
    links = response_schema(raw_shim, key, "get")["properties"]["_links"]["properties"]
    assert "nullable" not in links["next"]
    after = shim_fixed(raw_shim, "page_links_nullable")
    links = response_schema(after, "/" + key, "get")["properties"]["_links"]["properties"]
    assert links["next"]["nullable"] is links["prev"]["nullable"] is True


# --- shim calls -> path keys --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "key", "path_params", "query"),
    [
        ("/api/v2/get_case/12&x=1", GET_CASE, {"case_id": "12"}, [("x", "1")]),
        ("/api/v2/get_statuses", "index.php?/api/v2/get_statuses", {}, []),
        (
            "/api/v2/get_results_for_case/3/4&limit=2&offset=0",
            "index.php?/api/v2/get_results_for_case/{run_id}/{case_id}",
            {"run_id": "3", "case_id": "4"},
            [("limit", "2"), ("offset", "0")],
        ),
        (
            "/api/v2/get_results_for_run/9&created_by=a%2Cb&status_id=1,2",
            "index.php?/api/v2/get_results_for_run/{run_id}",
            {"run_id": "9"},
            [("created_by", "a,b"), ("status_id", "1,2")],
        ),
        ("/api/v2/get_case/abc", GET_CASE, {"case_id": "abc"}, []),  # the validator objects
        ("%2Fapi%2Fv2%2Fget_case%2F5", GET_CASE, {"case_id": "5"}, []),
    ],
)
def test_shim_target_maps_a_raw_query_to_the_spec_path_key(
    raw_shim: dict[str, Any], raw: str, key: str, path_params: dict[str, str], query: Any
) -> None:
    index = S.shim_key_index(raw_shim["paths"])
    assert S.shim_target(raw, index) == S.ShimTarget(key, path_params, query)
    # Built from the fixed spec (keys with a leading /) the index is the same.
    assert S.shim_key_index(S.fix_shim_spec(raw_shim)["paths"]) == index


@pytest.mark.parametrize(
    "raw", ["/api/v2/get_case", "/api/v2/get_case/1/2", "/api/v2/get_users", "/api/v1/x", ""]
)
def test_shim_target_is_none_for_calls_the_spec_does_not_have(
    raw_shim: dict[str, Any], raw: str
) -> None:
    assert S.shim_target(raw, S.shim_key_index(raw_shim["paths"])) is None


# --- wrong answers and accepted wrong requests are caught ---------------------------------------


def test_a_list_without_count_or_with_a_string_next_offset_is_caught(
    checker: contract.ContractChecker,
) -> None:
    listing = "/projects/ACME/cases"
    assert v1(checker, "GET", listing, query=PAGE, answer=ENVELOPE) == []
    [problem] = v1(checker, "GET", listing, query=PAGE, answer={"items": [], "nextOffset": 0})
    assert problem.startswith("response: InvalidData") and "'count' is a required" in problem
    [problem] = v1(checker, "GET", listing, query=PAGE, answer={**ENVELOPE, "nextOffset": "10"})
    assert "nextOffset: '10' is not of type 'number'" in problem
    [problem] = v1(checker, "GET", listing, query=PAGE, answer={**ENVELOPE, "extra": 1})
    assert "'extra' was unexpected" in problem


async def test_the_middleware_records_a_broken_answer_of_the_emulator(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_count(*args: Any) -> dict[str, Any]:
        return {"items": [], "nextOffset": 0}

    monkeypatch.setattr(v1_module, "paginate", no_count)
    app = create_app(handle="acme", token=TOKEN)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://tf.test", headers=AUTH
    ) as client:
        response = await client.get("/v1/acme/projects", params={"limit": 5, "offset": 0})
    assert response.json() == {"items": [], "nextOffset": 0}  # the answer is not altered
    [violation] = contract.take_violations()
    assert (violation.api, violation.method, violation.status) == ("v1", "GET", 200)
    assert violation.target == "/v1/acme/projects?limit=5&offset=0"
    assert "'count' is a required property" in violation.problems[0]


def test_over_real_http_the_violation_is_recorded_before_the_answer_arrives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(v1_module, "paginate", lambda *a: {**ENVELOPE, "nextOffset": "1"})
    app = create_app(handle="acme", token=TOKEN)
    with start_in_thread(app) as server, httpx.Client(base_url=server.url, headers=AUTH) as c:
        assert c.get("/v1/acme/projects", params={"limit": 5, "offset": 0}).status_code == 200
        [violation] = contract.take_violations()
    assert "nextOffset: '1' is not of type 'number'" in violation.problems[0]


async def test_an_unknown_dto_property_the_emulator_would_accept_is_a_request_violation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = create_app(handle="acme", token=TOKEN)
    tag = {"name": "smoke", "entityTypes": ["cases"], "colour": "red"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://tf.test", headers=AUTH
    ) as client:
        refused = await client.post("/v1/acme/tags", json=tag)
        assert refused.status_code == 400  # the emulator enforces the DTO: no violation
        assert contract.take_violations() == []
        lenient = D.Dto(D.CREATE_TAG.name, D.CREATE_TAG.fields, additional=True)
        monkeypatch.setattr(D, "CREATE_TAG", lenient)
        accepted = await client.post("/v1/acme/tags", json=tag)
    assert accepted.status_code == 200
    [violation] = contract.take_violations()
    assert violation.target == "/v1/acme/tags"
    assert violation.problems == (
        "request: InvalidRequestBody: <root>: Additional properties are not allowed "
        "('colour' was unexpected)",
    )


def test_what_is_not_a_listed_quirk_is_a_violation(checker: contract.ContractChecker) -> None:
    # Only runId is tolerated at the top of /data; another name is still unexpected.
    data = {"entities": {}, "runUid": 7}
    [problem] = v1(checker, "POST", "/projects/ACME/data", body=data, status=204)
    assert "'runUid' was unexpected" in problem
    # PUT is an alias only where tacotruck uses it; templates are PATCH only.
    [problem] = v1(checker, "PUT", "/projects/ACME/templates/5", body={}, answer={})
    assert "Operation put not found" in problem
    # An operation the spec does not have must not answer 2xx ...
    [problem] = v1(checker, "GET", "/projects/ACME/results", query=PAGE, answer=ENVELOPE)
    assert "Path not found" in problem
    # ... nor a documented one with an undocumented success status.
    [problem] = v1(checker, "POST", "/tags", body={"name": "t", "entityTypes": []}, status=201)
    assert "ResponseNotFound" in problem


def test_refused_requests_and_undocumented_errors_pass(checker: contract.ContractChecker) -> None:
    nest = {"statusCode": 400, "message": "body.colour is not a property", "error": "Bad Request"}
    bad_tag = {"name": "t", "entityTypes": ["cases"], "colour": "red"}
    assert v1(checker, "POST", "/tags", body=bad_tag, status=400, answer=nest) == []
    assert v1(checker, "GET", "/projects", status=401, answer=nest) == []
    assert v1(checker, "GET", "/projects/ACME/results", status=404, answer=nest) == []
    assert shim(checker, "GET", "/api/v2/get_history_for_case/1", status=403,
                answer={"error": "unsupported"}) == []  # fmt: skip


def test_shim_requests_and_answers_are_checked(checker: contract.ContractChecker) -> None:
    case = {"id": 5, "title": "Login", "section_id": 2, "is_deleted": 0, "labels": []}
    assert shim(checker, "GET", "/api/v2/get_case/5", answer=case) == []
    [problem] = shim(checker, "GET", "/api/v2/get_case/5", answer={**case, "title": 5})
    assert "title: 5 is not of type 'string'" in problem
    [problem] = shim(checker, "POST", "/api/v2/add_result/5", body={"status_id": "passed"},
                     answer={"id": 1})  # fmt: skip
    assert problem.startswith("request: InvalidRequestBody") and "status_id" in problem
    [problem] = shim(checker, "GET", "/api/v2/get_case/x", answer=case)
    assert "case_id" in problem
    assert shim(checker, "GET", "/api/v2/get_users", answer=[]) == [
        "no shim operation matches '/api/v2/get_users'"
    ]
    assert shim(checker, "POST", "/api/v2/delete_config/3", answer=None, status=200) != []
    assert shim(checker, "POST", "/api/v2/delete_config/3", body=None, answer=[None]) == []


# --- each §1.5 quirk is tolerated, and only as far as it goes -----------------------------------


def test_tolerances_are_exactly_the_quirks_of_section_1_5_and_run_id() -> None:
    assert [t.name for t in S.TOLERANCES] == [
        "mixed_id_types",
        "plans_optional_filters",
        "case_project_id_string",
        "folder_parent_uid",
        "put_aliases",
        "custom_field_extras",
        "data_run_id",  # §3.12: TestFiesta's own tool sends it
        "data_url",  # §3.13: the signed-URL upload TestFiesta's own tool attaches files with
    ]  # + quirk 1, POST /runs without path parameters: the fix runs_post_path_params
    assert all(t.quirk for t in S.TOLERANCES)


def test_quirk_post_runs_without_path_parameters(checker: contract.ContractChecker) -> None:
    assert v1(checker, "POST", "/projects/ACME/runs", body={"name": "R"}, answer={"uid": 1}) == []


def test_quirk_mixed_id_types(raw_v1: dict[str, Any], checker: contract.ContractChecker) -> None:
    templates = raw_v1["paths"]["/v1/{handle}/projects/{key}/templates/{id}"]
    assert param(templates["get"], "id")["schema"] == {"type": "string"}
    assert param(templates["patch"], "id")["schema"]["type"] == "number"
    tolerated = S.apply_fixes(fixed(raw_v1, S.TOLERANCES, "mixed_id_types"), [])
    ids = {
        json.dumps(param(operation, "id")["schema"])
        for item in tolerated["paths"].values()
        for operation in item.values()
        if any(p["name"] == "id" for p in operation.get("parameters", []))
    }
    assert ids == {'{"type": "string"}'}
    for method, path in [
        ("GET", "/projects/ACME/templates/7"),
        ("PATCH", "/projects/ACME/templates/7"),
        ("GET", "/projects/ACME/shared-steps/7"),
        ("PATCH", "/projects/ACME/shared-steps/7"),
        ("GET", "/projects/ACME/plans/7"),
        ("PATCH", "/projects/ACME/plans/7"),
        ("GET", "/projects/ACME/customFields/cf-001"),
    ]:
        body = {} if method == "PATCH" else None
        assert v1(checker, method, path, body=body, answer={"uid": 7}) == [], path


def test_quirk_plans_optional_filters(
    raw_v1: dict[str, Any], checker: contract.ContractChecker
) -> None:
    plans = raw_v1["paths"]["/v1/{handle}/projects/{key}/plans"]["get"]
    assert all(param(plans, name)["required"] for name in S.PLAN_FILTERS)
    listing = "/projects/ACME/plans"
    assert v1(checker, "GET", listing, query=PAGE, answer=ENVELOPE) == []
    assert v1(checker, "GET", listing, query=PAGE + "&archived=false", answer=ENVELOPE) == []
    [problem] = v1(checker, "GET", listing, query=PAGE + "&archived=maybe", answer=ENVELOPE)
    assert "archived" in problem  # optional, still typed
    [problem] = v1(checker, "GET", listing, query="offset=0", answer=ENVELOPE)
    assert "limit" in problem  # the PaginatedQuery stays required


def test_quirk_case_project_id_string(checker: contract.ContractChecker) -> None:
    case = {"name": "c", "parentId": 2, "projectId": "1", "steps": [], "customFields": {}}
    assert v1(checker, "POST", "/projects/ACME/cases", body=[case], answer=[]) == []
    assert v1(checker, "POST", "/projects/ACME/cases", body=[{**case, "projectId": 1}],
              answer=[]) == []  # fmt: skip
    [problem] = v1(checker, "POST", "/projects/ACME/cases", body=[{**case, "projectId": True}],
                   answer=[])  # fmt: skip
    assert "projectId" in problem


def test_quirk_folder_parent_uid(checker: contract.ContractChecker) -> None:
    folder = {"name": "F", "projectUid": 1}
    tacotruck = {**folder, "parentUid": 2, "position": 1.5, "integrationUid": None}
    for body in ({**folder, "parentId": 2}, tacotruck):
        assert v1(checker, "POST", "/projects/ACME/folders", body=body, answer={"uid": 3}) == []
    [problem] = v1(checker, "POST", "/projects/ACME/folders", body=folder, answer={"uid": 3})
    assert "is not valid under any of the given schemas" in problem  # parentId or parentUid


def test_quirk_put_aliases(checker: contract.ContractChecker) -> None:
    for path in (
        "/projects/ACME/runs/5",
        "/projects/ACME/folders/5",
        "/tags/5",
        "/projects/ACME/customFields/cf-001",
    ):
        assert v1(checker, "PUT", path, body={"name": "x"}, answer={"uid": 5}) == [], path
        [problem] = v1(checker, "PUT", path, body={"colour": 1}, answer={"uid": 5})
        assert "'colour' was unexpected" in problem  # the PATCH DTO applies


def test_quirk_custom_field_extras(checker: contract.ContractChecker) -> None:
    fields = "/projects/ACME/customFields"
    create = {"name": "Browser", "entityTypes": ["testCase", "testResult"]}
    assert v1(checker, "POST", fields, body=create, answer={"uid": "cf-1"}) == []
    assert v1(checker, "PATCH", fields + "/cf-1", body={"description": "d"}, answer={}) == []
    [problem] = v1(checker, "POST", fields, body={**create, "entityTypes": ["cases"]}, answer={})
    assert "entityTypes/0: 'cases' is not one of" in problem
    [problem] = v1(checker, "PATCH", fields + "/cf-1", body={"entityTypes": []}, answer={})
    assert "'entityTypes' was unexpected" in problem


def test_tolerated_data_run_id(raw_v1: dict[str, Any], checker: contract.ContractChecker) -> None:
    """§3.12: tacotruck sends a top-level runId (a run uid) on /data."""
    schema = raw_v1["components"]["schemas"]["CreateDataDto"]
    assert "runId" not in schema["properties"] and schema["additionalProperties"] is False
    data = "/projects/ACME/data"
    assert v1(checker, "POST", data, body={"entities": {}, "runId": 7}, status=204) == []
    [problem] = v1(checker, "POST", data, body={"entities": {}, "runId": "7"}, status=204)
    assert "runId: '7' is not of type 'number'" in problem


# --- wiring --------------------------------------------------------------------------------------


def test_every_emulator_app_validates_in_test_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    def layers(app: Any) -> list[type]:
        return [m.cls for m in app.user_middleware]

    # the fault injector sits outside the check: an injected fault is the network's doing
    assert layers(create_app(handle="acme", token=TOKEN))[:2] == [
        FaultInjector,
        contract.ContractValidation,
    ]
    monkeypatch.delenv(contract.SPECS_ENV)
    assert contract.ContractValidation not in layers(create_app(handle="acme", token=TOKEN))


def test_missing_specs_fail_instead_of_switching_validation_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(contract.SPECS_ENV, str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"testfiesta-v1\.openapi\.json does not exist"):
        create_app(handle="acme", token=TOKEN)


def test_the_product_runtime_never_imports_openapi_core() -> None:
    code = (
        "import sys, emulators.testfiesta as tf\n"
        "tf.build('acme', 'testfiesta_x')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('openapi_core', 'openapi_spec_validator', 'werkzeug')))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != contract.SPECS_ENV}
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env
    )
    assert out.stdout.strip() == "[]"


async def test_a_full_migration_is_checked_and_breaks_no_contract(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = emulate(tmp_path, monkeypatch, cases=30)
    before = contract.checked_exchanges()
    async with env.service() as service:
        first = (await service.migrate())[0]
        again = (await service.migrate())[0]
    assert first.complete and again.complete
    assert first.kinds["cases"].created == 30 and again.kinds["cases"].created == 0
    assert contract.checked_exchanges() - before >= 20
    assert contract.take_violations() == []
