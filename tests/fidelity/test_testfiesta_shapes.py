"""The TestFiesta emulator's entities have the shapes TestFiesta's own developers' mocks show.

Why: the v1 spec types every single-entity answer as ``{}``, so contract validation
(:mod:`emulators.testfiesta.contract`) checks requests and list envelopes but cannot see what a
case, folder, run, milestone, tag, template or custom field looks like. The best public
evidence for those shapes is the MSW mocks TestFiesta's developers wrote for tacotruck
(``tacotruck:test/mocks/testfiesta-handlers.ts``), transcribed in the reference:
testfiesta-api.md §4.1 (the tag-like envelope of folders, runs, milestones and tags, with §4.7
for tags), §4.4 (case), §4.5 (template) and §4.6 (custom field).

What is compared, per object the emulator answers (create answers, single GETs and list
items, all over its HTTP API):

- **Key set**: exactly the mock's keys, no more, no fewer.
- **JSON type of every value**: one the mock shows at that key (``5|null`` = integer or null).
  Where the mock only shows ``null`` or elides the value (``…``), it does not tell the type;
  the type the reference implies is allowed too, and :class:`Key` says why.
- **Coverage**: every type the mock shows at a key occurs in at least one answer, so a
  regression that, say, never fills ``parentUid`` cannot pass by answering null.

Not compared: the contents of ``customFields`` (the mocks elide them as ``{…}``; they are entity
data), the case step items (``CreateCaseDTO.steps`` is untyped: the emulator keeps the client's
objects and adds a UUID string ``id`` where the mock shows ``1``, see
:meth:`~emulators.testfiesta.state.TestFiestaState.with_step_ids`), and template ``rules`` items
(the v1 API has no way to create rules, §3.5, so the emulator's list is always empty).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from emulators.testfiesta import TestFiestaState, create_app
from tests.fidelity.shapes import json_type

HANDLE = "acme"
TOKEN = "testfiesta_" + "c3" * 16 + "." + "d4" * 16
V1 = f"/v1/{HANDLE}"
PAGE = {"limit": 100, "offset": 0}


@dataclass(frozen=True)
class Key:
    """One key of a mock: the JSON types the mock shows (``mock``), and types the reference
    implies where the mock shows only ``null`` or ``…`` (``also``, with the reason ``why``)."""

    mock: frozenset[str]
    also: frozenset[str] = frozenset()
    why: str = ""

    @property
    def allowed(self) -> frozenset[str]:
        """Every JSON type the key may have."""
        return self.mock | self.also


def k(*mock: str, also: tuple[str, ...] = (), why: str = "") -> Key:
    """A :class:`Key` from type names (``k("integer", "null")``)."""
    assert bool(also) == bool(why), "an allowed type beyond the mock needs its reason"
    return Key(frozenset(mock), frozenset(also), why)


ISO = "a timestamp: an ISO string like createdAt/updatedAt (§4.1)"
USER = "a user id: user ids are UUID strings (§4.10; the case mock's createdBy is '<uuid>')"

#: §4.1 [MOCK], the envelope shared by folders, runs, milestones and tags.
ENVELOPE: dict[str, Key] = {
    "uid": k("integer"),
    "name": k("string"),
    "description": k("null", also=("string",), why="CreateRunDTO/CreateTagDto take a string"),
    "entityTypes": k("array", "null"),
    "parentUid": k("integer", "null"),
    "projectUid": k("integer", "null"),
    "createdAt": k("string"),
    "updatedAt": k("string"),
    "archivedAt": k("null", also=("string",), why="archiving sets archivedAt (§4.1, §4.3); " + ISO),
    "deletedAt": k("null"),
    "systemType": k("string"),
    "slug": k("null"),
    "customFields": k("object", "null"),
    "externalCreatedAt": k("null"),
    "externalUpdatedAt": k("null"),
    "externalId": k("string", "null"),
    "source": k("string", "null"),
    "integrationUid": k("null"),
    "position": k("null", also=("number",), why="position is a float sort key (§4.1)"),
    "path": k("string"),
    "aggregates": k("object"),
    "createdBy": k("null", also=("string",), why=USER),
}
#: §4.1 says ``path`` is the folder tree; the mock is a folder. Runs, milestones and tags have
#: no place in that tree [INF], so the emulator answers null there.
PATHLESS = {
    **ENVELOPE,
    "path": k("string", also=("null",), why="only folders form the path tree (§4.1) [INF]"),
}
#: §4.7: a tag is the envelope with systemType "tag" and projectUid null (tags are org-level).
TAG = {**PATHLESS, "projectUid": k("null")}

#: §4.4 [MOCK], a case.
CASE: dict[str, Key] = {
    "uid": k("integer"),
    "projectUid": k("integer"),
    "repoUid": k("null", also=("string",), why="CreateCaseDTO.repoUID is a string (§3.3)"),
    "externalId": k("string"),
    "source": k("string"),
    "name": k("string"),
    "link": k("null"),
    "steps": k("array"),
    "customFields": k("object"),
    "testCaseRef": k("integer"),
    "testCaseTemplateUid": k(
        "null", also=("integer",), why="CreateCaseDTO.templateId names a template uid (§3.3)"
    ),
    "testResultTemplateUid": k("null"),
    "version": k("integer"),
    "active": k("boolean"),
    "externalCreatedAt": k(
        "null", also=("string",), why="CreateCaseDTO.externalCreatedAt is a string (§3.3)"
    ),
    "externalUpdatedAt": k(
        "null", also=("string",), why="CreateCaseDTO.externalUpdatedAt is a string (§3.3)"
    ),
    "createdAt": k("string"),
    "updatedAt": k("string"),
    "deletedAt": k("null"),
    "createdBy": k("string"),
    "status": k("integer"),
    "priority": k("integer"),
    "syncedAt": k("null"),
    "parentUid": k("integer"),
    "event": k("null"),
    "tags": k("array"),
}

#: §4.5 [MOCK], a template.
TEMPLATE: dict[str, Key] = {
    "uid": k("integer"),
    "name": k("string"),
    "createdBy": k("string"),
    "customFields": k("object"),
    "projectUid": k("integer"),
    "createdAt": k("string"),
    "updatedAt": k("string"),
    "deletedAt": k("null"),
    "isDefault": k("boolean"),
    "entityType": k("string"),
    "rules": k("array"),
    "externalId": k("null"),
    "source": k("null"),
    "integrationUid": k("null"),
}
#: §4.5 ``customFields.templateFields[]`` [MOCK] ``{name, dataType}``; ``id`` is required by
#: the spec's TemplateField DTO (§3.5), which the mock's author left out.
TEMPLATE_FIELD: dict[str, Key] = {
    "name": k("string"),
    "dataType": k("string"),
    "id": k(also=("string",), why="TemplateField.id is a required string in the spec (§3.5)"),
}

ELIDED = "the mock elides the value (…)"
#: §4.6 [MOCK], a custom field.
CUSTOM_FIELD: dict[str, Key] = {
    "uid": k("string"),
    "name": k("string"),
    "description": k(
        also=("null", "string"), why=ELIDED + "; tacotruck updates it with a string (§1.5)"
    ),
    "type": k("string"),
    "slug": k("string"),
    "options": k("array", "null"),
    "source": k(
        "string", also=("null",), why="CreateCustomFieldDto.source is optional (§3.6) [INF]"
    ),
    "externalId": k(also=("null", "string"), why=ELIDED + "; externalIds are strings (§3)"),
    "ownerUid": k(also=("string",), why=ELIDED + "; ownerType 'user': " + USER),
    "ownerType": k("string"),
    "projectUid": k("integer"),
    "entityTypes": k("array"),
    "createdAt": k(also=("string",), why=ELIDED + "; " + ISO),
    "updatedAt": k(also=("string",), why=ELIDED + "; " + ISO),
    "deletedAt": k("null"),
}


def shape_problems(
    objects: list[Mapping[str, Any]], shape: Mapping[str, Key], what: str
) -> list[str]:
    """Each object's key set against ``shape``, and the JSON type of each value."""
    found: list[str] = []
    for index, obj in enumerate(objects):
        where = f"{what}[{index}]"
        missing, extra = set(shape) - set(obj), set(obj) - set(shape)
        if missing:
            found.append(f"{where}: missing keys {sorted(missing)}")
        if extra:
            found.append(f"{where}: keys the mock lacks {sorted(extra)}")
        for key, value in obj.items():
            kind = json_type(value)
            if key in shape and kind not in shape[key].allowed:
                found.append(f"{where}.{key}: {kind}, the mock has {sorted(shape[key].allowed)}")
    return found


def coverage_problems(
    objects: list[Mapping[str, Any]], shape: Mapping[str, Key], what: str
) -> list[str]:
    """Every non-null type the mock shows at a key that no object has there (a ``null`` in
    a mock only says the key is nullable, as in :func:`tests.fidelity.shapes.compare`)."""
    found: list[str] = []
    for key, spec in shape.items():
        seen = {json_type(obj[key]) for obj in objects if key in obj}
        lacking = spec.mock - seen - {"null"}
        if lacking:
            found.append(f"{what}.{key}: never {sorted(lacking)} as the mock shows")
    return found


def problems(objects: list[Mapping[str, Any]], shape: Mapping[str, Key], what: str) -> list[str]:
    """Every difference between ``objects`` and ``shape``: key sets, types, coverage."""
    return shape_problems(objects, shape, what) + coverage_problems(objects, shape, what)


class Api:
    """The emulator app and an authenticated in-process client; every call must succeed."""

    def __init__(self) -> None:
        self.state = TestFiestaState()
        app = create_app(self.state, handle=HANDLE, token=TOKEN)
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://testfiesta.local",
            headers={"Authorization": f"Bearer {TOKEN}"},
        )

    async def call(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        """One v1 call under ``/v1/acme``; its JSON answer (None for 204)."""
        response = await self.client.request(method, V1 + path, json=body, params=params or None)
        assert response.status_code in (200, 204), (method, path, response.text)
        return response.json() if response.status_code == 200 else None

    async def items(self, path: str) -> list[Any]:
        """Every item of a list (one page holds them all here)."""
        page = await self.call("GET", path, **PAGE)
        assert page["count"] == len(page["items"])
        return list(page["items"])


Org = tuple[Api, dict[str, list[Any]]]


@pytest.fixture
async def org() -> AsyncIterator[Org]:
    """:func:`seeded`, with the client closed afterwards."""
    api, answered = await seeded()
    yield api, answered
    await api.client.aclose()


async def seeded() -> Org:
    """An organisation with every entity kind, made through the API the way clients make
    them (tacotruck's folder variant and /data included), and the objects the API answered,
    by kind."""
    api = Api()
    project = await api.call(
        "POST", "/projects", {"name": "Shop", "key": "SHOP", "customFields": {}}
    )
    key = "/projects/SHOP"
    [root] = await api.items(key + "/folders")
    smoke = await api.call("POST", "/tags", {"name": "smoke", "entityTypes": ["cases", "runs"]})
    ui = await api.call(
        "POST", "/tags", {"name": "ui", "description": "UI", "entityTypes": ["cases"]}
    )
    login = await api.call(
        "POST",
        key + "/folders",
        {"name": "Login", "parentUid": root["uid"], "projectUid": project["uid"], "position": 1.5},
    )
    await api.call(
        "POST",
        key + "/data",
        {"entities": {"folders": {"entries": [
            {"name": "SuiteA", "externalId": "ts_0123456789abcdef", "source": "junit-xml",
             "tests": 3, "time": 0.12}]}}},
    )  # fmt: skip
    [template, *_] = await api.items(key + "/templates")
    made = await api.call(
        "POST",
        key + "/templates",
        {"name": "API", "templateFields": [{"id": "f-1", "name": "Endpoint", "dataType": "text"}]},
    )
    cases = await api.call(
        "POST",
        key + "/cases",
        [
            {"name": "Log in", "parentId": login["uid"], "projectId": project["uid"],
             "steps": [{"id": "s1", "title": "Open", "description": "Open /login",
                        "children": []}],
             "customFields": {"expectedResultByStep": False, "expectedResult": "Dashboard"},
             "priority": 203, "status": 302, "tagIds": [smoke["uid"], ui["uid"]],
             "templateId": str(template["uid"]), "externalId": "tr:case:1", "source": "testrail",
             "externalCreatedAt": "2024-01-02T03:04:05Z"},
            {"name": "Log out", "parentId": root["uid"], "projectId": str(project["uid"]),
             "steps": [], "customFields": {}, "priorityText": "Low", "statusText": "Draft",
             "repoUID": "repo-1"},
        ],
    )  # fmt: skip
    run = await api.call(
        "POST",
        key + "/runs",
        {"name": "Nightly", "description": "all", "dueAt": "2025-06-01T00:00:00Z",
         "caseUids": [c["uid"] for c in cases], "tagUids": [smoke["uid"]]},
    )  # fmt: skip
    closed = await api.call("POST", key + "/runs", {"name": "Old"})
    closed = await api.call("PATCH", key + f"/runs/{closed['uid']}", {"archive": True})
    milestone = await api.call(
        "POST",
        key + "/milestones",
        {"name": "1.0", "startDate": "2025-05-01T00:00:00Z", "dueAt": "2025-06-01T00:00:00Z",
         "status": 23, "runIds": [run["uid"]]},
    )  # fmt: skip
    field = await api.call(
        "POST",
        key + "/customFields",
        {"name": "Browser", "type": "dropdown", "options": ["Chrome", "Firefox"],
         "source": "manual", "entityTypes": ["testCase", "testResult"]},
    )  # fmt: skip
    plain = await api.call("POST", key + "/customFields", {"name": "Notes"})
    answered: dict[str, list[Any]] = {
        "folders": [login, *await api.items(key + "/folders")],
        "cases": [*cases, *await api.items(key + "/cases")],
        "runs": [run, closed, *await api.items(key + "/runs")],
        "milestones": [milestone, *await api.items(key + "/milestones")],
        "tags": [smoke, ui, *await api.items("/tags")],
        "templates": [made, *await api.items(key + "/templates")],
        "custom_fields": [field, plain, *await api.items(key + "/customFields")],
    }
    singles = {"folders": login, "cases": cases[0], "runs": run, "milestones": milestone,
               "templates": made, "custom_fields": field}  # fmt: skip
    paths = {"folders": "/folders", "cases": "/cases", "runs": "/runs",
             "milestones": "/milestones", "templates": "/templates",
             "custom_fields": "/customFields"}  # fmt: skip
    for kind, obj in singles.items():
        answered[kind].append(await api.call("GET", f"{key}{paths[kind]}/{obj['uid']}"))
    answered["tags"].append(await api.call("GET", f"/tags/{smoke['uid']}"))
    return api, answered


def test_envelope_entities_have_the_mock_shape(org: Org) -> None:
    """§4.1 folders (the mock is a folder), runs, milestones; §4.7 tags."""
    api, answered = org
    found = shape_problems(answered["folders"], ENVELOPE, "folder")
    found += shape_problems(answered["runs"], PATHLESS, "run")
    found += shape_problems(answered["milestones"], PATHLESS, "milestone")
    found += shape_problems(answered["tags"], TAG, "tag")
    # One mock for four kinds: its "5|null"-style unions are covered across all of them.
    envelopes = [
        obj for kind in ("folders", "runs", "milestones", "tags") for obj in answered[kind]
    ]
    found += coverage_problems(envelopes, ENVELOPE, "envelope")
    assert found == []
    for kind, system_type in (("folders", "folder"), ("runs", "run"),
                              ("milestones", "milestone"), ("tags", "tag")):  # fmt: skip
        assert {obj["systemType"] for obj in answered[kind]} == {system_type}
    # path is the dotted ancestry of uids (§4.1): root "<root>", child "<root>.<child>".
    for folder in answered["folders"]:
        parent = api.state.db.folders.get(folder["parentUid"])
        expected = str(folder["uid"]) if parent is None else f"{parent['path']}.{folder['uid']}"
        assert folder["path"] == expected


def test_cases_have_the_mock_shape_with_tag_envelopes(org: Org) -> None:
    """§4.4: a case, its ``tags`` being §4.7 tag envelopes."""
    _, answered = org
    tags = [tag for case in answered["cases"] for tag in case["tags"]]
    assert len(tags) >= 2
    assert problems(answered["cases"], CASE, "case") + shape_problems(tags, TAG, "case.tags") == []


def test_templates_have_the_mock_shape(org: Org) -> None:
    """§4.5: a template, with ``customFields: {templateFields: [{name, dataType}]}``."""
    _, answered = org
    templates = answered["templates"]
    fields = [f for t in templates for f in t["customFields"]["templateFields"]]
    assert {key for t in templates for key in t["customFields"]} == {"templateFields"}
    assert problems(templates, TEMPLATE, "template") == []
    assert problems(fields, TEMPLATE_FIELD, "template.customFields.templateFields") == []
    assert {t["entityType"] for t in templates} == {"testCase"}


def test_custom_fields_have_the_mock_shape(org: Org) -> None:
    """§4.6: a custom field (string uid, ``entityTypes`` testCase/testResult)."""
    _, answered = org
    assert problems(answered["custom_fields"], CUSTOM_FIELD, "custom field") == []
    assert {e for f in answered["custom_fields"] for e in f["entityTypes"]} == {
        "testCase",
        "testResult",
    }


def test_the_comparison_catches_a_regression() -> None:
    """A dropped key, an extra key, a wrong type and a never-filled key are all reported."""
    good = {"uid": 1, "parentUid": 5}
    shape = {"uid": k("integer"), "parentUid": k("integer", "null")}
    assert problems([good, {"uid": 2, "parentUid": None}], shape, "x") == []
    assert problems([{"uid": 1, "parentUid": None}], shape, "x") == [
        "x.parentUid: never ['integer'] as the mock shows",
    ]
    assert problems([{"uid": 1}, good], shape, "x") == ["x[0]: missing keys ['parentUid']"]
    assert problems([{**good, "extra": 1}], {**shape, "parentUid": k("integer")}, "x") == [
        "x[0]: keys the mock lacks ['extra']"
    ]
    assert problems([{"uid": "1", "parentUid": 5}], {**shape, "parentUid": k("integer")}, "x") == [
        "x[0].uid: string, the mock has ['integer']",
        "x.uid: never ['integer'] as the mock shows",
    ]
