"""The published TestFiesta contracts, made loadable by a strict validator, plus the quirks the
emulator tolerates on purpose and the mapping of shim calls onto the shim spec's path keys.

What: three pure steps over spec dicts (nothing here reads files or imports openapi-core):

1. :func:`fix_v1_spec` / :func:`fix_shim_spec` repair **defects** of the published files
   (``../shared/specs/testfiesta-v1.openapi.json`` 0.67.1 and
   ``../shared/specs/testrail-v2-shim.openapi.json`` 1.0.0) that make openapi-spec-validator
   or openapi-core reject them, or that leave a documented response untyped. Each fix is a
   :class:`Fix` in :data:`V1_FIXES` / :data:`SHIM_FIXES` with the reason it is needed.
2. :func:`tolerate_v1_spec` relaxes the v1 spec for exactly the quirks
   testfiesta-api.md §1.5 lists, plus the top-level ``runId`` on /data that TestFiesta's own
   tool sends (§3.12) (each a named :class:`Tolerance` in :data:`TOLERANCES`). Nothing else is
   relaxed: any other difference between a request or response and the spec is a contract
   violation.
3. :func:`shim_target` maps a raw shim query string (``/api/v2/get_case/12&x=1``, as TestRail
   clients send it after ``index.php?``) to the shim spec's path key
   (``index.php?/api/v2/get_case/{case_id}``), its path parameters and its real query
   parameters, because the TestRail protocol hides the operation inside the query string where
   no OpenAPI path matcher looks.

Why: the emulator is trusted by every test, so :mod:`emulators.testfiesta.contract` checks each
of its requests and responses against these contracts in test mode (DESIGN §3, §9; issue 3).
The files themselves are never edited: they are the vendor's, byte-identical to the docs repo.

Source: the defects were found by loading both files with openapi-spec-validator 0.8 (the
validator openapi-core runs) and by reading the schemas the emulator's answers are checked
against; the quirks are testfiesta-api.md §1.5 and §3.12, quoted in each tolerance's ``quirk``.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, unquote_plus

Spec = dict[str, Any]

V1_SPEC_FILE = "testfiesta-v1.openapi.json"
SHIM_SPEC_FILE = "testrail-v2-shim.openapi.json"

#: The shim's path keys all start like this (before :func:`shim_leading_slash`).
SHIM_KEY_PREFIX = "index.php?/api/v2/"
#: The API path inside a shim query string starts like this.
SHIM_API_PREFIX = "/api/v2/"

V1_BASE = "/v1/{handle}"
RUNS = V1_BASE + "/projects/{key}/runs"
PLANS = V1_BASE + "/projects/{key}/plans"
PAGINATED_RESULT = "#/components/schemas/PaginatedResult_unknown_"


@dataclass(frozen=True)
class Fix:
    """One repair of a published spec: ``name``, ``why`` it is needed, and ``apply`` (mutates
    the spec dict it is given; callers pass a copy, see :func:`apply_fixes`)."""

    name: str
    why: str
    apply: Callable[[Spec], None]


@dataclass(frozen=True)
class Tolerance:
    """One quirk of testfiesta-api.md (§1.5, or §3.12 for ``runId``) the emulator accepts on
    purpose: ``name``, the ``quirk`` as the reference words it, and ``apply`` (relaxes the spec
    dict in place)."""

    name: str
    quirk: str
    apply: Callable[[Spec], None]


def apply_fixes(spec: Mapping[str, Any], steps: Iterable[Fix | Tolerance]) -> Spec:
    """A deep copy of ``spec`` with every step of ``steps`` applied in order (pure)."""
    fixed: Spec = copy.deepcopy(dict(spec))
    for step in steps:
        step.apply(fixed)
    return fixed


def _operations(spec: Spec) -> Iterable[tuple[str, str, dict[str, Any]]]:
    """(path key, method, operation) of every operation of ``spec``."""
    for key, item in spec["paths"].items():
        for method, operation in item.items():
            if method in ("get", "put", "post", "delete", "patch", "head", "options", "trace"):
                yield key, method, operation


def _schemas(node: Any) -> Iterable[dict[str, Any]]:
    """Every dict inside ``node`` (depth first), the node included."""
    if isinstance(node, dict):
        yield node
        for value in list(node.values()):
            yield from _schemas(value)
    elif isinstance(node, list):
        for value in node:
            yield from _schemas(value)


# --- v1 fixes --------------------------------------------------------------------------------


def v1_runs_post_path_params(spec: Spec) -> None:
    """POST /runs declares no parameters although its path has ``{handle}`` and ``{key}``:
    copy the two path parameters of GET on the same path."""
    item = spec["paths"][RUNS]
    declared = {p["name"] for p in item["post"].get("parameters", []) if p.get("in") == "path"}
    missing = [
        copy.deepcopy(p)
        for p in item["get"]["parameters"]
        if p.get("in") == "path" and p["name"] not in declared
    ]
    item["post"]["parameters"] = [*missing, *item["post"].get("parameters", [])]


def v1_list_responses_paginated(spec: Spec) -> None:
    """Every list operation (a GET taking the PaginatedQuery ``limit`` + ``offset``) answers
    the ``PaginatedResult`` envelope, but only GET /projects says so; the other 10 declare the
    200 schema as ``{}``. Point them at ``PaginatedResult_unknown_`` too."""
    for _key, method, operation in _operations(spec):
        if method != "get":
            continue
        query = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"}
        if not {"limit", "offset"} <= query:
            continue
        media = operation["responses"]["200"]["content"]["application/json"]
        if media.get("schema") == {}:
            media["schema"] = {"$ref": PAGINATED_RESULT}


V1_FIXES: tuple[Fix, ...] = (
    Fix(
        "runs_post_path_params",
        "POST /v1/{handle}/projects/{key}/runs omits its path parameters; openapi-spec-validator "
        "refuses the file ('Path parameter handle ... was not resolved'). Also quirk 1 of §1.5.",
        v1_runs_post_path_params,
    ),
    Fix(
        "list_responses_paginated",
        "10 list operations declare their 200 answer as {} although every list answers "
        "{count, items, nextOffset} (§1.3; GET /projects declares PaginatedResult_unknown_). "
        "Left untyped, a list without count or with a string nextOffset would pass.",
        v1_list_responses_paginated,
    ),
)


def fix_v1_spec(spec: Mapping[str, Any]) -> Spec:
    """The v1 spec with :data:`V1_FIXES` applied (pure: ``spec`` is not changed)."""
    return apply_fixes(spec, V1_FIXES)


# --- shim fixes ------------------------------------------------------------------------------

#: A response code key of an OpenAPI Responses object.
_STATUS = re.compile(r"^[1-5](\d\d|XX)$|^default$")


def shim_leading_slash(spec: Spec) -> None:
    """Path keys must start with ``/`` (OpenAPI 3.0 §4.7.8.1); the shim's start with
    ``index.php?``. Prefix ``/`` to every key, keeping the order."""
    spec["paths"] = {
        (key if key.startswith("/") else "/" + key): item for key, item in spec["paths"].items()
    }


def shim_missing_path_params(spec: Spec) -> None:
    """Declare the ``{name}`` path templates an operation does not declare
    (get_history_for_case, get_templates, get_configs) as required integer ids, like every
    other shim id."""
    for key, _method, operation in _operations(spec):
        names = re.findall(r"{(\w+)}", key)
        declared = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "path"}
        added = [
            {"name": n, "in": "path", "required": True, "schema": {"type": "integer"}}
            for n in names
            if n not in declared
        ]
        if added:
            operation["parameters"] = [*added, *operation.get("parameters", [])]


def shim_responses_in_request_body(spec: Spec) -> None:
    """Six plan operations (add_plan, update_plan, add_plan_entry, add_run_to_plan_entry,
    update_plan_entry, update_run_in_plan_entry) carry their ``responses`` (with 200) and
    their ``400``/``404``/``500`` inside ``requestBody``, so the operation has no
    ``responses``, which OpenAPI 3.0 requires. Move them out to the operation."""
    for _key, _method, operation in _operations(spec):
        body = operation.get("requestBody")
        if not isinstance(body, dict) or "responses" not in body:
            continue
        responses = body.pop("responses")
        for code in [k for k in body if _STATUS.match(k)]:
            responses.setdefault(code, body.pop(code))
        operation.setdefault("responses", responses)


def shim_parameter_schema_typo(spec: Spec) -> None:
    """get_tests' ``offset`` query parameter spells its schema key ``schema:schema``, so it
    has no schema (a Parameter needs one). Rename the key."""
    for _key, _method, operation in _operations(spec):
        for param in operation.get("parameters", []):
            if "schema:schema" in param and "schema" not in param:
                param["schema"] = param.pop("schema:schema")


def shim_nested_responses(spec: Spec) -> None:
    """Three malformed ``responses``: (a) 15 operations nest their ``400``/``404``/``500``
    inside the ``200`` response object; (b) get_results_for_case puts ``content`` beside
    ``200`` instead of inside it; (c) update_config and update_config_group declare
    ``500: null``. Move (a) and (b) to where OpenAPI expects them; give (c) a description,
    the one field a Response object requires."""
    for _key, _method, operation in _operations(spec):
        responses = operation.get("responses", {})
        for code in list(responses):
            if not _STATUS.match(code):
                continue
            nested = [k for k in responses[code] if _STATUS.match(k)]
            for inner in nested:
                responses.setdefault(inner, responses[code].pop(inner))
        for code, response in responses.items():
            if response is None:
                responses[code] = {"description": "Empty (null) in the published spec."}
        if "content" in responses:
            content = responses.pop("content")
            success = [c for c in responses if c.startswith("2")]
            if len(success) != 1 or "content" in responses[success[0]]:
                raise ValueError("cannot place a stray responses.content")  # pragma: no cover
            responses[success[0]]["content"] = content


#: The keywords of an OpenAPI 3.0 Schema object.
_SCHEMA_KEYWORDS = frozenset(
    (
        *("title", "multipleOf", "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum"),
        *("maxLength", "minLength", "pattern", "maxItems", "minItems", "uniqueItems"),
        *("maxProperties", "minProperties", "required", "enum", "type", "allOf", "oneOf"),
        *("anyOf", "not", "items", "properties", "additionalProperties", "description"),
        *("format", "default", "nullable", "discriminator", "readOnly", "writeOnly", "xml"),
        *("externalDocs", "example", "deprecated"),
    )
)


def shim_property_outside_properties(spec: Spec) -> None:
    """get_results_for_run's result items declare ``test_id`` beside ``properties`` instead of
    inside it (a key no Schema object has). Move such keys (a non-keyword whose value is a
    schema with a ``type``) into ``properties``."""
    for schema in list(_schemas(spec["paths"])):
        properties = schema.get("properties")
        if schema.get("type") != "object" or not isinstance(properties, dict):
            continue
        for key in [k for k in schema if k not in _SCHEMA_KEYWORDS and not k.startswith("x-")]:
            if isinstance(schema[key], dict) and "type" in schema[key]:
                properties.setdefault(key, schema.pop(key))


def shim_null_types(spec: Spec) -> None:
    """Nine 200 answers (delete_*, copy/move_cases_to_section) declare ``type: null``, which
    is no OpenAPI 3.0 type; the schema only carries a description. Drop the ``type``: the
    answer is untyped, so anything passes."""
    for schema in _schemas(spec["paths"]):
        if "type" in schema and schema["type"] is None:
            del schema["type"]


def shim_property_required_flags(spec: Spec) -> None:
    """Request bodies and the configuration answers mark properties with a Swagger-2 style
    ``required: true|false`` inside the property schema (a boolean where OpenAPI 3.0 wants a
    list on the object). Move the ``true`` ones into the object's ``required`` list."""
    for schema in _schemas(spec["paths"]):
        properties = schema.get("properties")
        if not isinstance(properties, dict):
            continue
        required = list(schema.get("required", []))
        for name, prop in properties.items():
            flagged = isinstance(prop, dict) and isinstance(prop.get("required"), bool)
            if flagged and prop.pop("required") and name not in required:
                required.append(name)
        if required:
            schema["required"] = required


def shim_stray_result_properties(spec: Spec) -> None:
    """add_results and add_results_for_cases describe the result object in a property named
    ``properties`` beside ``results`` (whose items are a bare ``{type: object}``). Move it to
    ``results.items.properties``, where get_results_for_case has the same block."""
    for _key, _method, operation in _operations(spec):
        for response in operation.get("responses", {}).values():
            if not isinstance(response, dict):
                continue
            media = response.get("content", {}).get("application/json", {})
            props = media.get("schema", {}).get("properties", {})
            stray = props.get("properties")
            if isinstance(stray, dict) and "results" in props and "type" not in stray:
                del props["properties"]
                props["results"]["items"] = {"type": "object", "properties": stray}


def shim_null_default(spec: Spec) -> None:
    """get_projects' ``is_completed`` query parameter is a non-nullable integer with
    ``default: null``; openapi-spec-validator refuses the default. Drop it (absent = no
    filter, as the description says)."""
    for schema in _schemas(spec["paths"]):
        if "default" in schema and schema["default"] is None and not schema.get("nullable"):
            del schema["default"]


_SAYS_NULL = re.compile(r"\bnull\b", re.IGNORECASE)


def shim_documented_nulls(spec: Spec) -> None:
    """53 properties say in their description that their value is null ("TF does not support
    this field will be null", "Always null ...", "Null right now", "can be null if ...") but
    are not ``nullable``; 6 others with the same wording are. Make the description's word
    the schema's: ``nullable: true``."""
    for schema in _schemas(spec["paths"]):
        described = schema.get("description")
        typed = isinstance(schema.get("type"), str)
        if typed and isinstance(described, str) and _SAYS_NULL.search(described):
            schema["nullable"] = True


def shim_page_links_nullable(spec: Spec) -> None:
    """TestRail's bulk envelope answers ``_links.next``/``prev`` as null at either end;
    get_projects declares them ``nullable`` ("or null if there are no more results"), the
    other paged answers copy the shape without the flag. Make them all nullable."""
    for schema in _schemas(spec["paths"]):
        links = schema.get("properties", {}).get("_links") if "properties" in schema else None
        if isinstance(links, dict):
            for name in ("next", "prev"):
                link = links.get("properties", {}).get(name)
                if isinstance(link, dict):
                    link["nullable"] = True


SHIM_FIXES: tuple[Fix, ...] = (
    Fix(
        "leading_slash",
        "path keys 'index.php?/api/v2/...' do not start with '/'; openapi-spec-validator "
        "refuses all 71 of them",
        shim_leading_slash,
    ),
    Fix(
        "missing_path_params",
        "get_history_for_case, get_templates and get_configs use {case_id}/{project_id} in "
        "the path without declaring it ('Path parameter ... was not resolved')",
        shim_missing_path_params,
    ),
    Fix(
        "responses_in_request_body",
        "six plan operations nest their responses inside requestBody, leaving the operation "
        "without the 'responses' OpenAPI 3.0 requires",
        shim_responses_in_request_body,
    ),
    Fix(
        "parameter_schema_typo",
        "get_tests' offset parameter has 'schema:schema' instead of 'schema'",
        shim_parameter_schema_typo,
    ),
    Fix(
        "nested_responses",
        "400/404/500 nested inside the 200 response (15 operations), a stray "
        "responses.content (get_results_for_case) and '500: null' (update_config, "
        "update_config_group) are invalid Response objects",
        shim_nested_responses,
    ),
    Fix(
        "property_outside_properties",
        "get_results_for_run declares test_id beside 'properties' in the result schema, an "
        "unknown Schema keyword",
        shim_property_outside_properties,
    ),
    Fix(
        "null_types",
        "'type: null' is not an OpenAPI 3.0 type (9 answers that only carry a description)",
        shim_null_types,
    ),
    Fix(
        "property_required_flags",
        "'required: true|false' inside property schemas is Swagger 2; OpenAPI 3.0 needs a "
        "list of names on the object (request bodies and configuration answers)",
        shim_property_required_flags,
    ),
    Fix(
        "stray_result_properties",
        "add_results(_for_cases) describe the result in a property named 'properties'; the "
        "schema is invalid and the results' items are left untyped",
        shim_stray_result_properties,
    ),
    Fix(
        "null_default",
        "'default: null' on the non-nullable integer is_completed of get_projects",
        shim_null_default,
    ),
    Fix(
        "documented_nulls",
        "53 properties documented as always/possibly null are typed non-nullable, so the "
        "values the shim documents would fail their own schema",
        shim_documented_nulls,
    ),
    Fix(
        "page_links_nullable",
        "_links.next/prev are null at the ends of a page set (get_projects says so and marks "
        "them nullable; the other paged answers omit the flag)",
        shim_page_links_nullable,
    ),
)


def fix_shim_spec(spec: Mapping[str, Any]) -> Spec:
    """The shim spec with :data:`SHIM_FIXES` applied (pure: ``spec`` is not changed)."""
    return apply_fixes(spec, SHIM_FIXES)


# --- §1.5 (and §3.12) tolerances (v1) ---------------------------------------------------------

#: The updates tacotruck sends with PUT (§1.5).
PUT_ALIAS_PATHS = (
    V1_BASE + "/projects/{key}/folders/{id}",
    V1_BASE + "/projects/{key}/customFields/{id}",
    V1_BASE + "/tags/{id}",
    V1_BASE + "/projects/{key}/runs/{id}",
)
#: GET /plans query parameters the spec marks required (§1.5).
PLAN_FILTERS = ("archived", "minRunCount", "minCreatedAt", "minProgress", "projectUid")


def tolerate_mixed_id_types(spec: Spec) -> None:
    """Path ``{id}`` is typed ``number`` on some operations and ``string`` on others of the
    same resource; clients send the same uid to both. Type every ``{id}`` as a string (what a
    URL segment is); the emulator parses it as an integer uid and answers 404 otherwise."""
    for _key, _method, operation in _operations(spec):
        for param in operation.get("parameters", []):
            if param.get("in") == "path" and param["name"] == "id":
                param["schema"] = {"type": "string"}


def tolerate_plans_optional_filters(spec: Spec) -> None:
    """GET /plans marks five filters required (a query-DTO artefact): make them optional."""
    for param in spec["paths"][PLANS]["get"]["parameters"]:
        if param.get("in") == "query" and param["name"] in PLAN_FILTERS:
            param["required"] = False


def tolerate_case_project_id_string(spec: Spec) -> None:
    """``CreateCaseDTO.projectId`` is typed number; tacotruck sends a string."""
    schema = spec["components"]["schemas"]["CreateCaseDTO"]["properties"]
    number = schema["projectId"]
    schema["projectId"] = {"anyOf": [number, {"type": "string"}]}


def tolerate_folder_parent_uid(spec: Spec) -> None:
    """``CreateFolderDto`` requires ``parentId``; tacotruck sends ``parentUid`` instead (plus
    ``position`` and ``integrationUid``). Accept either parent field (one is still required)
    and the two extras."""
    schema = spec["components"]["schemas"]["CreateFolderDto"]
    parent = copy.deepcopy(schema["properties"]["parentId"])
    schema["properties"].update(
        {"parentUid": parent, "position": {"type": "number", "format": "double"}}
    )
    schema["properties"]["integrationUid"] = {}
    schema["required"] = [name for name in schema["required"] if name != "parentId"]
    schema["anyOf"] = [{"required": ["parentId"]}, {"required": ["parentUid"]}]


def tolerate_put_aliases(spec: Spec) -> None:
    """tacotruck updates runs, folders, tags and custom fields with PUT; the spec has PATCH.
    Give those four paths a PUT operation identical to their PATCH."""
    for key in PUT_ALIAS_PATHS:
        item = spec["paths"][key]
        alias = copy.deepcopy(item["patch"])
        alias["operationId"] = alias.get("operationId", "Update") + "ViaPut"
        item["put"] = alias


def tolerate_custom_field_extras(spec: Spec) -> None:
    """tacotruck sends ``entityTypes`` (``testCase``/``testResult``) on custom-field create
    and ``description`` on update; neither DTO declares them."""
    schemas = spec["components"]["schemas"]
    schemas["CreateCustomFieldDto"]["properties"]["entityTypes"] = {
        "type": "array",
        "items": {"type": "string", "enum": ["testCase", "testResult"]},
    }
    schemas["UpdateCustomFieldDto"]["properties"]["description"] = {"type": "string"}


def tolerate_data_run_id(spec: Spec) -> None:
    """``CreateDataDto`` is ``additionalProperties: false`` and has no ``runId``; tacotruck
    (TestFiesta's own tool) sends the uid of the run to attach the executions to as a
    top-level ``runId`` number. Declare it, as a number; nothing else becomes allowed."""
    schema = spec["components"]["schemas"]["CreateDataDto"]
    schema["properties"]["runId"] = {"type": "number"}


def tolerate_data_url(spec: Spec) -> None:
    """§3.13: ``POST /projects/{key}/data/url`` (the signed-URL upload tacotruck attaches
    files with) is not in the spec. Declare it with the request and answer §3.13 shows:
    ``{files: [{fileName*, fileType, size*, mediaType, externalId, runId}]}`` -> 201
    ``{files: [{fileName, signedUrl, objectUrl, key, clientHeaders, storagePath,
    externalId}]}``."""
    params = [
        {"name": "handle", "in": "path", "required": True, "schema": {"type": "string"}},
        {"name": "key", "in": "path", "required": True, "schema": {"type": "string"}},
    ]
    request_file = {
        "type": "object",
        "required": ["fileName", "size"],
        "properties": {
            "fileName": {"type": "string"},
            "fileType": {"type": "string"},
            "size": {"type": "number"},
            "mediaType": {"type": "string"},
            "externalId": {"type": "string"},
            "runId": {"type": "number"},
        },
    }
    answer_file = {
        "type": "object",
        "required": ["fileName", "signedUrl", "objectUrl", "key"],
        "properties": {
            "fileName": {"type": "string"},
            "signedUrl": {"type": "string"},
            "objectUrl": {"type": "string"},
            "key": {"type": "string"},
            "clientHeaders": {"type": "object"},
            "storagePath": {"type": "string"},
            "externalId": {"type": "string"},
        },
    }

    def files_of(item: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["files"],
            "properties": {"files": {"type": "array", "items": item}},
        }

    spec["paths"][V1_BASE + "/projects/{key}/data/url"] = {
        "post": {
            "operationId": "CreateSignedUploadUrls",
            "parameters": params,
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": files_of(request_file)}},
            },
            "responses": {
                "201": {
                    "description": "one signed upload URL per file",
                    "content": {"application/json": {"schema": files_of(answer_file)}},
                }
            },
        }
    }


#: The §1.5 quirks, one each, and tacotruck's /data ``runId`` (§3.12; evidence: TestFiesta's
#: own tool sends it). Quirk 1 of §1.5 (POST /runs without path parameters) is repaired by the
#: fix ``runs_post_path_params`` because the file cannot be loaded without it.
TOLERANCES: tuple[Tolerance, ...] = (
    Tolerance(
        "mixed_id_types",
        "id types are mixed: template GET uses string, PATCH/DELETE use number ... "
        "The emulator should accept both and parse them as integers.",
        tolerate_mixed_id_types,
    ),
    Tolerance(
        "plans_optional_filters",
        "GET /plans marks archived, minRunCount, minCreatedAt, minProgress and projectUid as "
        "required query params ... Accept them as optional.",
        tolerate_plans_optional_filters,
    ),
    Tolerance(
        "case_project_id_string",
        "CreateCaseDTO.projectId is typed number, but tacotruck sends a string.",
        tolerate_case_project_id_string,
    ),
    Tolerance(
        "folder_parent_uid",
        "CreateFolderDto uses parentId plus projectUid. tacotruck sends parentUid plus "
        "projectUid (plus position, integrationUid) ... Accept both.",
        tolerate_folder_parent_uid,
    ),
    Tolerance(
        "put_aliases",
        "tacotruck uses PUT for runs, folders, tags and custom fields ... Accept both.",
        tolerate_put_aliases,
    ),
    Tolerance(
        "custom_field_extras",
        "tacotruck sends entityTypes (testCase/testResult) on custom-field create and "
        "description on custom-field update. Neither is in the spec DTO.",
        tolerate_custom_field_extras,
    ),
    Tolerance(
        "data_run_id",
        "§3.12: Top-level runId (the uid of a run created just before via POST /runs) makes "
        "the server attach the executions to that run. The spec's additionalProperties:false "
        "does not mention it, but tacotruck sends it.",
        tolerate_data_run_id,
    ),
    Tolerance(
        "data_url",
        "§3.13 Undocumented signed-URL upload — POST /v1/{handle}/projects/{key}/data/url. "
        "This is how tacotruck attaches files to cases and executions.",
        tolerate_data_url,
    ),
)


def tolerate_v1_spec(spec: Mapping[str, Any]) -> Spec:
    """The (fixed) v1 spec relaxed by :data:`TOLERANCES` (pure)."""
    return apply_fixes(spec, TOLERANCES)


# --- shim calls -> spec path keys ------------------------------------------------------------


@dataclass(frozen=True)
class ShimTarget:
    """A shim call located in the shim spec: ``path_key`` as published
    (``index.php?/api/v2/get_case/{case_id}``), ``path_params`` (``{"case_id": "12"}``, raw
    strings) and ``query`` (the ``&k=v`` parameters, decoded, in order)."""

    path_key: str
    path_params: dict[str, str]
    query: list[tuple[str, str]]


def shim_key_index(path_keys: Iterable[str]) -> dict[tuple[str, int], str]:
    """(method name, number of path ids) -> path key, for the keys of a shim spec (with or
    without the leading ``/`` of :func:`shim_leading_slash`)."""
    index: dict[tuple[str, int], str] = {}
    for key in path_keys:
        bare = key.lstrip("/")
        if bare.startswith(SHIM_KEY_PREFIX):
            name, *params = bare[len(SHIM_KEY_PREFIX) :].split("/")
            index[(name, len(params))] = bare
    return index


def shim_target(raw_query: str, index: Mapping[tuple[str, int], str]) -> ShimTarget | None:
    """Locate a shim call from its raw query string.

    ``raw_query`` is everything after ``index.php?``: an API path, then ``&k=v`` parameters
    (``/api/v2/get_cases/3&limit=250&offset=0``). ``index`` comes from :func:`shim_key_index`.
    Returns None when the query names no operation of the spec (not ``/api/v2/...``, an
    unknown method, or a method with another number of ids). Path ids are returned as sent,
    even if not numeric: checking them is the validator's job.
    """
    head, *rest = raw_query.split("&")
    path = unquote(head)
    if not path.startswith(SHIM_API_PREFIX):
        return None
    name, *args = path[len(SHIM_API_PREFIX) :].split("/")
    key = index.get((name, len(args)))
    if key is None:
        return None
    names = re.findall(r"{(\w+)}", key)
    query = []
    for part in rest:
        if part:
            k, _, v = part.partition("=")
            query.append((unquote_plus(k), unquote_plus(v)))
    return ShimTarget(key, dict(zip(names, args, strict=True)), query)
