"""The TestFiesta emulator against the published contracts (v1 spec 0.67.1 and the TRV2 shim).

Most tests talk to the app in-process through ``httpx.ASGITransport``; one goes over real HTTP
through ``emulators.server.start_in_thread``. Every assertion checks real values: names, uids,
paths, step texts, statuses and counts.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from emulators.server import start_in_thread
from emulators.testfiesta import ExecutionStatus, TestFiestaState, build, create_app

HANDLE = "acme"
TOKEN = "testfiesta_" + "a1" * 16 + "." + "b2" * 16
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PAGE = {"limit": 100, "offset": 0}

PRECONDITION = "Der Benutzer ist angemeldet.\nZweite Zeile: äöü ß — «quoted» 東京\n\ttabbed"
STEP_TEXT = "Öffne die Seite\n  1. klicke «Speichern»\n  2. prüfe 🙂"
EXPECTED_TEXT = "Meldung „Gespeichert“ erscheint\r\nund bleibt 5 s sichtbar"


class FakeClock:
    """A settable clock for the emulator's timestamps."""

    def __init__(self) -> None:
        self.moment = datetime(2025, 3, 10, 12, 0, 0, 123000, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def state(clock: FakeClock) -> TestFiestaState:
    return TestFiestaState(clock=clock)


def make_client(app: Any, headers: dict[str, str] | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://testfiesta.local",
        headers=AUTH if headers is None else headers,
    )


@pytest.fixture
async def client(state: TestFiestaState) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(create_app(state, handle=HANDLE, token=TOKEN)) as c:
        yield c


V1 = f"/v1/{HANDLE}"


def shim(method: str) -> str:
    return f"/trv2/{HANDLE}/index.php?/api/v2/{method}"


async def new_project(client: httpx.AsyncClient, key: str = "DEMO", name: str = "Demo") -> Any:
    response = await client.post(
        f"{V1}/projects", json={"name": name, "key": key, "customFields": {}}
    )
    assert response.status_code == 200, response.text
    return response.json()


async def root_uid(client: httpx.AsyncClient, key: str = "DEMO") -> int:
    response = await client.get(f"{V1}/projects/{key}/folders", params=PAGE)
    roots = [f for f in response.json()["items"] if f["parentUid"] is None]
    assert len(roots) == 1
    return int(roots[0]["uid"])


async def new_folder(client: httpx.AsyncClient, name: str, parent: int, project_uid: int) -> Any:
    response = await client.post(
        f"{V1}/projects/DEMO/folders",
        json={"name": name, "parentId": parent, "projectUid": project_uid},
    )
    assert response.status_code == 200, response.text
    return response.json()


def case_dto(name: str, parent: int, project_uid: int | str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "parentId": parent, "projectId": project_uid, "steps": [],
            "customFields": {}, **extra}  # fmt: skip


async def post_data(client: httpx.AsyncClient, entities: dict[str, Any], **extra: Any) -> Any:
    return await client.post(f"{V1}/projects/DEMO/data", json={"entities": entities, **extra})


# --- auth, handle, routing --------------------------------------------------------------------


async def test_requests_without_or_with_a_wrong_key_get_401(state: TestFiestaState) -> None:
    app = create_app(state, handle=HANDLE, token=TOKEN)
    async with make_client(app, headers={}) as anonymous:
        response = await anonymous.get(f"{V1}/projects", params=PAGE)
        assert response.status_code == 401
        assert response.json() == {
            "statusCode": 401,
            "message": "missing Authorization header: send 'Bearer <api key>'",
            "error": "Unauthorized",
        }
    wrong = {"Authorization": "Bearer testfiesta_" + "0" * 32 + "." + "0" * 32}
    async with make_client(app, headers=wrong) as intruder:
        response = await intruder.get(f"{V1}/projects", params=PAGE)
        assert response.status_code == 401
        assert response.json()["message"] == "invalid API key"
        assert TOKEN not in response.text
        shim_response = await intruder.get(shim("get_statuses"))
        assert shim_response.status_code == 401
        assert shim_response.json() == {"error": "invalid API key"}
    basic = {"Authorization": "Basic dXNlcjpwYXNz"}
    async with make_client(app, headers=basic) as basic_client:
        response = await basic_client.get(f"{V1}/projects", params=PAGE)
        assert response.status_code == 401
        assert "Bearer" in response.json()["message"]
    async with make_client(app) as good:
        response = await good.get(f"{V1}/projects", params=PAGE)
        assert response.status_code == 200
        assert response.json() == {"count": 0, "items": [], "nextOffset": 0}


async def test_unknown_handle_and_unknown_project_are_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/other-org/projects", params=PAGE)
    assert response.status_code == 404
    assert response.json()["message"] == "organization 'other-org' not found"
    response = await client.get(f"{V1}/projects/NOPE/cases", params=PAGE)
    assert response.status_code == 404
    assert response.json()["message"] == "project 'NOPE' not found"


async def test_operations_missing_from_v1_are_404(client: httpx.AsyncClient) -> None:
    project = await new_project(client)
    root = await root_uid(client)
    created = await client.post(
        f"{V1}/projects/DEMO/cases", json=[case_dto("A", root, project["uid"])]
    )
    case_uid = created.json()[0]["uid"]
    # v1 has no case update and no single-project GET.
    response = await client.patch(f"{V1}/projects/DEMO/cases/{case_uid}", json={"name": "B"})
    assert response.status_code == 404
    assert response.json()["message"] == f"Cannot PATCH /v1/acme/projects/DEMO/cases/{case_uid}"
    response = await client.get(f"{V1}/projects/DEMO")
    assert response.status_code == 404


# --- pagination -------------------------------------------------------------------------------


async def test_lists_require_limit_and_offset_and_reject_undeclared_parameters(
    client: httpx.AsyncClient,
) -> None:
    await new_project(client)
    response = await client.get(f"{V1}/projects/DEMO/folders", params={"offset": 0})
    assert response.status_code == 400
    assert response.json() == {
        "statusCode": 400,
        "message": "query parameter limit is required",
        "error": "Bad Request",
    }
    response = await client.get(f"{V1}/projects/DEMO/folders", params={"limit": 10})
    assert response.json()["message"] == "query parameter offset is required"
    response = await client.get(f"{V1}/projects/DEMO/cases", params={**PAGE, "externalId": "x"})
    assert response.status_code == 400
    assert "'externalId' is not accepted" in response.json()["message"]
    response = await client.get(f"{V1}/projects/DEMO/cases", params={"limit": "ten", "offset": 0})
    assert response.status_code == 400
    assert response.json()["message"] == "query parameter limit must be a number (got 'ten')"


async def test_pagination_over_1200_cases(client: httpx.AsyncClient) -> None:
    project = await new_project(client)
    root = await root_uid(client)
    for chunk in range(4):
        batch = [
            case_dto(f"Case {n:04d}", root, project["uid"])
            for n in range(chunk * 300, chunk * 300 + 300)
        ]
        response = await client.post(f"{V1}/projects/DEMO/cases", json=batch)
        assert response.status_code == 200
        assert len(response.json()) == 300

    names: list[str] = []
    offsets: list[int] = []
    offset = 0
    while True:
        response = await client.get(
            f"{V1}/projects/DEMO/cases", params={"limit": 250, "offset": offset}
        )
        page = response.json()
        assert page["count"] == 1200
        names += [item["name"] for item in page["items"]]
        offsets.append(page["nextOffset"])
        if page["nextOffset"] >= page["count"]:
            break
        offset = page["nextOffset"]
    assert offsets == [250, 500, 750, 1000, 1200]
    assert names == [f"Case {n:04d}" for n in range(1200)]

    response = await client.get(
        f"{V1}/projects/DEMO/cases",
        params={"limit": 3, "offset": 0, "orderBy": "name", "order": "desc"},
    )
    assert [item["name"] for item in response.json()["items"]] == [
        "Case 1199",
        "Case 1198",
        "Case 1197",
    ]
    response = await client.get(
        f"{V1}/projects/DEMO/cases", params={"limit": 50, "offset": 0, "q": "case 07"}
    )
    page = response.json()
    assert page["count"] == 100
    assert page["items"][0]["name"] == "Case 0700"
    assert page["nextOffset"] == 50
    response = await client.get(
        f"{V1}/projects/DEMO/cases", params={"limit": 10, "offset": 0, "orderBy": "colour"}
    )
    assert response.status_code == 400
    assert response.json()["message"].startswith("orderBy must be one of uid, name,")


# --- projects and folders ---------------------------------------------------------------------


async def test_unknown_dto_property_is_400_and_writes_nothing(
    client: httpx.AsyncClient, state: TestFiestaState
) -> None:
    response = await client.post(
        f"{V1}/projects", json={"name": "Demo", "key": "DEMO", "customFields": {}, "colour": "red"}
    )
    assert response.status_code == 400
    assert response.json()["message"] == "body.colour is not a property of CreateProjectDto"
    response = await client.post(f"{V1}/projects", json={"name": "Demo", "key": "DEMO"})
    assert response.json()["message"] == "body.customFields is required"
    assert state.projects() == []


async def test_project_creation_makes_a_root_folder_and_keys_are_unique(
    client: httpx.AsyncClient, state: TestFiestaState
) -> None:
    project = await new_project(client, "DEMO", "Demo Project")
    assert project["key"] == "DEMO"
    assert project["name"] == "Demo Project"
    assert project["customFields"] == {}
    assert project["createdAt"] == "2025-03-10T12:00:00.123Z"
    root = state.root_folder("DEMO")
    assert root["name"] == "Demo Project"
    assert root["parentUid"] is None
    assert root["path"] == str(root["uid"])
    assert root["systemType"] == "folder"
    assert root["projectUid"] == project["uid"]
    response = await client.post(
        f"{V1}/projects", json={"name": "Again", "key": "DEMO", "customFields": {}}
    )
    assert response.status_code == 409
    assert response.json()["message"] == "a project with key 'DEMO' already exists"
    listing = await client.get(f"{V1}/projects", params=PAGE)
    assert [p["key"] for p in listing.json()["items"]] == ["DEMO"]


async def test_folder_tree_paths_moves_and_cascading_delete(
    client: httpx.AsyncClient, state: TestFiestaState, clock: FakeClock
) -> None:
    project = await new_project(client)
    root = await root_uid(client)
    a = await new_folder(client, "A", root, project["uid"])
    # tacotruck's variant: parentUid + position.
    response = await client.post(
        f"{V1}/projects/DEMO/folders",
        json={"name": "B", "parentUid": a["uid"], "projectUid": project["uid"], "position": -1.5},
    )
    b = response.json()
    c = await new_folder(client, "C", b["uid"], project["uid"])
    assert a["path"] == f"{root}.{a['uid']}"
    assert b["path"] == f"{root}.{a['uid']}.{b['uid']}"
    assert c["path"] == f"{root}.{a['uid']}.{b['uid']}.{c['uid']}"
    assert b["parentUid"] == a["uid"]
    assert b["position"] == -1.5
    listing = (await client.get(f"{V1}/projects/DEMO/folders", params=PAGE)).json()
    assert [(f["name"], f["parentUid"]) for f in listing["items"]] == [
        ("Demo", None),
        ("A", root),
        ("B", a["uid"]),
        ("C", b["uid"]),
    ]

    # Move B (with C) to the root; rename through PUT (tacotruck's verb).
    clock.advance(5)
    response = await client.patch(f"{V1}/projects/DEMO/folders/{b['uid']}", json={"parentId": root})
    assert response.json()["path"] == f"{root}.{b['uid']}"
    assert response.json()["updatedAt"] == "2025-03-10T12:00:05.123Z"
    moved_c = (await client.get(f"{V1}/projects/DEMO/folders/{c['uid']}")).json()
    assert moved_c["path"] == f"{root}.{b['uid']}.{c['uid']}"
    response = await client.put(f"{V1}/projects/DEMO/folders/{a['uid']}", json={"name": "A2"})
    assert response.json()["name"] == "A2"
    response = await client.patch(
        f"{V1}/projects/DEMO/folders/{b['uid']}", json={"parentId": c["uid"]}
    )
    assert response.status_code == 400
    assert response.json()["message"] == f"parentId: folder {c['uid']} is inside folder {b['uid']}"
    response = await client.patch(f"{V1}/projects/DEMO/folders/{b['uid']}", json={"position": 2})
    assert response.json()["message"] == "body.position is not a property of UpdateFolderDto"

    # Deleting B deletes C and the cases in both; A2 and its case stay.
    cases = await client.post(
        f"{V1}/projects/DEMO/cases",
        json=[
            case_dto("in B", b["uid"], project["uid"]),
            case_dto("in C", c["uid"], project["uid"]),
            case_dto("in A2", a["uid"], project["uid"]),
        ],
    )
    assert cases.status_code == 200
    response = await client.delete(f"{V1}/projects/DEMO/folders/{b['uid']}")
    assert response.json() == {"message": f"folder {b['uid']} deleted"}
    assert [f["name"] for f in state.folders("DEMO")] == ["Demo", "A2"]
    assert [case["name"] for case in state.cases("DEMO")] == ["in A2"]
    response = await client.get(f"{V1}/projects/DEMO/folders/{c['uid']}")
    assert response.status_code == 404
    response = await client.delete(f"{V1}/projects/DEMO/folders/{root}")
    assert response.status_code == 400


async def test_folder_create_checks_parent_and_project(client: httpx.AsyncClient) -> None:
    project = await new_project(client)
    root = await root_uid(client)
    response = await client.post(
        f"{V1}/projects/DEMO/folders", json={"name": "X", "projectUid": project["uid"]}
    )
    assert response.status_code == 400
    assert response.json()["message"] == "body.parentId is required"
    response = await client.post(
        f"{V1}/projects/DEMO/folders",
        json={"name": "X", "parentId": 99999, "projectUid": project["uid"]},
    )
    assert response.json()["message"] == "parentId: folder 99999 not found in this project"
    response = await client.post(
        f"{V1}/projects/DEMO/folders", json={"name": "X", "parentId": root, "projectUid": 424242}
    )
    assert response.status_code == 400
    assert "424242 is not the uid of project 'DEMO'" in response.json()["message"]


# --- cases ------------------------------------------------------------------------------------


async def test_case_creation_round_trips_steps_and_custom_fields(
    client: httpx.AsyncClient, state: TestFiestaState
) -> None:
    project = await new_project(client)
    root = await root_uid(client)
    templates = (await client.get(f"{V1}/projects/DEMO/templates", params=PAGE)).json()
    text_template = next(t for t in templates["items"] if t["name"] == "Text")
    custom_fields = {"Pre-condition": PRECONDITION, "expectedResultByStep": True, "refs": None}
    steps = [
        {"description": STEP_TEXT, "expectedResult": EXPECTED_TEXT},
        {"id": "given-id", "description": "zwei", "expectedResult": "", "children": [
            {"description": "child step"}]},
    ]  # fmt: skip
    dto = case_dto(
        "Anmeldung mit Umlauten ä",
        root,
        str(project["uid"]),  # tacotruck sends projectId as a string (§1.5)
        steps=steps,
        customFields=custom_fields,
        priorityText="medium",
        templateId=str(text_template["uid"]),
        tags=["smoke", "login"],
        source="testrail",
        externalId="tr.example/case/7",
        externalCreatedAt="2024-01-02T03:04:05Z",
    )
    response = await client.post(f"{V1}/projects/DEMO/cases", json=[dto])
    assert response.status_code == 200
    [case] = response.json()
    assert case["name"] == "Anmeldung mit Umlauten ä"
    assert case["customFields"] == custom_fields
    assert case["customFields"]["Pre-condition"] == PRECONDITION
    assert case["steps"][0]["description"] == STEP_TEXT
    assert case["steps"][0]["expectedResult"] == EXPECTED_TEXT
    assert isinstance(case["steps"][0]["id"], str) and case["steps"][0]["id"]
    assert case["steps"][1]["id"] == "given-id"
    assert case["steps"][1]["children"][0]["description"] == "child step"
    assert case["steps"][1]["children"][0]["id"]
    assert case["priority"] == 203
    assert case["testCaseTemplateUid"] == text_template["uid"]
    assert [t["name"] for t in case["tags"]] == ["smoke", "login"]
    assert all(t["systemType"] == "tag" and t["projectUid"] is None for t in case["tags"])
    assert case["parentUid"] == root
    assert case["projectUid"] == project["uid"]
    assert (case["source"], case["externalId"]) == ("testrail", "tr.example/case/7")
    assert case["externalCreatedAt"] == "2024-01-02T03:04:05Z"
    assert (case["testCaseRef"], case["version"], case["active"]) == (1, 1, True)
    assert case["createdBy"] == state.user_uid

    fetched = await client.get(f"{V1}/projects/DEMO/cases/{case['uid']}")
    assert fetched.json() == case
    # The raw bytes carry the text unescaped (UTF-8), and it parses back unchanged.
    assert "東京" in fetched.content.decode("utf-8")
    # POST /cases always creates: the same DTO again is a second case.
    again = await client.post(f"{V1}/projects/DEMO/cases", json=[dto])
    assert again.json()[0]["uid"] != case["uid"]
    assert again.json()[0]["testCaseRef"] == 2
    assert len(state.cases("DEMO")) == 2
    # Priority and tag filters.
    response = await client.get(
        f"{V1}/projects/DEMO/cases", params={**PAGE, "priority": "203", "tag": "smoke"}
    )
    assert response.json()["count"] == 2
    response = await client.get(f"{V1}/projects/DEMO/cases", params={**PAGE, "priority": "High"})
    assert response.json()["count"] == 0


async def test_case_creation_validates_every_item_before_writing(
    client: httpx.AsyncClient, state: TestFiestaState
) -> None:
    project = await new_project(client)
    root = await root_uid(client)
    good = case_dto("good", root, project["uid"])
    bad = {**case_dto("bad", root, project["uid"]), "title": "TestRail word"}
    response = await client.post(f"{V1}/projects/DEMO/cases", json=[good, bad])
    assert response.status_code == 400
    assert response.json()["message"] == "body[1].title is not a property of CreateCaseDTO"
    missing = {"name": "no steps", "parentId": root, "projectId": project["uid"]}
    response = await client.post(f"{V1}/projects/DEMO/cases", json=[missing])
    assert response.json()["message"] == (
        "body[0].customFields is required; body[0].steps is required"
    )
    response = await client.post(
        f"{V1}/projects/DEMO/cases", json=[case_dto("p", root, project["uid"], priority=3)]
    )
    assert response.status_code == 400
    assert response.json()["message"].startswith("body[0].priority: no priority with uid 3")
    response = await client.post(f"{V1}/projects/DEMO/cases", json=good)
    assert response.json()["message"] == "the body must be an array of CreateCaseDTO"
    assert state.cases("DEMO") == []
    assert state.tags() == []


async def test_deleted_case_leaves_lists_and_404s(client: httpx.AsyncClient) -> None:
    project = await new_project(client)
    root = await root_uid(client)
    created = await client.post(
        f"{V1}/projects/DEMO/cases",
        json=[case_dto("keep", root, project["uid"]), case_dto("drop", root, project["uid"])],
    )
    drop = created.json()[1]["uid"]
    response = await client.delete(f"{V1}/projects/DEMO/cases/{drop}")
    assert response.json() == {"message": f"case {drop} deleted"}
    assert (await client.get(f"{V1}/projects/DEMO/cases/{drop}")).status_code == 404
    listing = (await client.get(f"{V1}/projects/DEMO/cases", params=PAGE)).json()
    assert [c["name"] for c in listing["items"]] == ["keep"]
    assert listing["count"] == 1


# --- custom fields, templates, tags -----------------------------------------------------------


async def test_custom_fields_templates_and_tags(client: httpx.AsyncClient) -> None:
    await new_project(client)
    response = await client.post(
        f"{V1}/projects/DEMO/customFields",
        json={"name": "Automation Type", "type": "dropdown", "options": ["None", "Ranorex"],
              "entityTypes": ["testCase"]},
    )  # fmt: skip
    field = response.json()
    assert field["uid"] == "cf-1"
    assert (field["type"], field["slug"], field["options"]) == (
        "dropdown",
        "automation-type",
        ["None", "Ranorex"],
    )
    assert field["entityTypes"] == ["testCase"]
    response = await client.put(
        f"{V1}/projects/DEMO/customFields/cf-1", json={"description": "How it runs"}
    )
    assert response.json()["description"] == "How it runs"
    response = await client.post(
        f"{V1}/projects/DEMO/customFields", json={"name": "Bad", "type": "number"}
    )
    assert response.status_code == 400
    assert "body.type must be one of text, radio," in response.json()["message"]
    assert (await client.get(f"{V1}/projects/DEMO/customFields/cf-9")).status_code == 404

    response = await client.post(
        f"{V1}/projects/DEMO/templates",
        json={"name": "Exploratory", "templateFields": [
            {"id": "f1", "name": "Mission", "dataType": "text"}]},
    )  # fmt: skip
    template = response.json()
    assert template["customFields"] == {
        "templateFields": [{"id": "f1", "name": "Mission", "dataType": "text"}]
    }
    response = await client.patch(
        f"{V1}/projects/DEMO/templates/{template['uid']}", json={"name": "Exploratory 2"}
    )
    assert response.json()["name"] == "Exploratory 2"
    names = [
        t["name"]
        for t in (await client.get(f"{V1}/projects/DEMO/templates", params=PAGE)).json()["items"]
    ]
    assert names == ["Text", "Steps", "Exploratory session", "BDD", "Exploratory 2"]

    response = await client.post(f"{V1}/tags", json={"name": "Regression"})
    assert response.json()["message"] == "body.entityTypes is required"
    tag = (
        await client.post(f"{V1}/tags", json={"name": "Regression", "entityTypes": ["cases"]})
    ).json()
    assert (tag["systemType"], tag["projectUid"], tag["entityTypes"]) == ("tag", None, ["cases"])
    await client.post(f"{V1}/tags", json={"name": "Sprint", "entityTypes": ["runs"]})
    listing = (await client.get(f"{V1}/tags", params={**PAGE, "entityType": "cases"})).json()
    assert [t["name"] for t in listing["items"]] == ["Regression"]
    archived = (await client.put(f"{V1}/tags/{tag['uid']}", json={"archived": True})).json()
    assert archived["archivedAt"] is not None
    duplicate = await client.post(f"{V1}/tags", json={"name": "regression", "entityTypes": []})
    assert duplicate.status_code == 409


# --- bulk /data -------------------------------------------------------------------------------


async def test_data_upserts_by_source_and_external_id(
    client: httpx.AsyncClient, state: TestFiestaState, clock: FakeClock
) -> None:
    await new_project(client)
    entry = {"name": "First name", "externalId": "tr/case/1", "source": "testrail"}
    response = await post_data(client, {"cases": {"entries": [entry]}})
    assert response.status_code == 204
    assert response.content == b""
    [created] = state.cases("DEMO")
    clock.advance(60)
    response = await post_data(client, {"cases": {"entries": [{**entry, "name": "Second name"}]}})
    assert response.status_code == 204
    [updated] = state.cases("DEMO")
    assert updated["uid"] == created["uid"]
    assert updated["name"] == "Second name"
    assert updated["createdAt"] == "2025-03-10T12:00:00.123Z"
    assert updated["updatedAt"] == "2025-03-10T12:01:00.123Z"
    # The same values again change nothing, so updatedAt stays.
    clock.advance(60)
    await post_data(client, {"cases": {"entries": [{**entry, "name": "Second name"}]}})
    assert state.cases("DEMO")[0]["updatedAt"] == "2025-03-10T12:01:00.123Z"
    # Another source with the same externalId is another record.
    await post_data(client, {"cases": {"entries": [{**entry, "source": "junit-xml"}]}})
    assert [(c["source"], c["name"]) for c in state.cases("DEMO")] == [
        ("testrail", "Second name"),
        ("junit-xml", "First name"),
    ]


async def test_data_puts_undeclared_properties_in_custom_fields(
    client: httpx.AsyncClient, state: TestFiestaState
) -> None:
    await new_project(client)
    root = state.root_folder("DEMO")["uid"]
    entities = {
        "folders": {"entries": [
            {"name": "Suite A", "externalId": "ts_1", "source": "junit-xml", "tests": 3,
             "parentExternalId": "ts_0"}]},
        "cases": {"entries": [
            {"name": "t1", "externalId": "tc_1", "source": "junit-xml", "folderExternalId": "ts_1",
             "classname": "pkg.A", "time": 0.01, "preconds": PRECONDITION,
             "steps": [{"description": STEP_TEXT, "expectedResult": EXPECTED_TEXT}],
             "priority": 202, "tags": ["ci"], "customFields": {"refs": "JIRA-1"}}]},
    }  # fmt: skip
    response = await post_data(client, entities)
    assert response.status_code == 204, response.text
    [folder] = [f for f in state.folders("DEMO") if f["uid"] != root]
    assert folder["parentUid"] == root
    assert folder["customFields"] == {"tests": 3, "parentExternalId": "ts_0"}
    [case] = state.cases("DEMO")
    assert case["parentUid"] == folder["uid"]
    assert case["customFields"] == {
        "classname": "pkg.A",
        "time": 0.01,
        "preconds": PRECONDITION,
        "refs": "JIRA-1",
    }
    assert case["steps"][0]["description"] == STEP_TEXT
    assert case["steps"][0]["expectedResult"] == EXPECTED_TEXT
    assert case["priority"] == 202
    assert [t["name"] for t in case["tags"]] == ["ci"]
    # An update replaces customFields with the entry's extras, keeps what the entry leaves out
    # of the declared/case properties (folder, priority, tags) and keeps unchanged step ids.
    step_id = case["steps"][0]["id"]
    entities["cases"]["entries"][0] = {
        "name": "t1", "externalId": "tc_1", "source": "junit-xml", "time": 0.02,
        "preconds": PRECONDITION + "\nmore",
        "steps": [{"description": STEP_TEXT, "expectedResult": EXPECTED_TEXT}],
    }  # fmt: skip
    await post_data(client, {"cases": entities["cases"]})
    [case] = state.cases("DEMO")
    assert case["customFields"] == {"time": 0.02, "preconds": PRECONDITION + "\nmore"}
    assert case["steps"][0]["id"] == step_id
    assert case["parentUid"] == folder["uid"]
    assert case["priority"] == 202
    assert [t["name"] for t in case["tags"]] == ["ci"]


async def test_data_is_all_or_nothing(client: httpx.AsyncClient, state: TestFiestaState) -> None:
    await new_project(client)
    entities = {
        "folders": {"entries": [{"name": "S", "externalId": "ts_1", "source": "testrail"}]},
        "cases": {"entries": [
            {"name": "ok", "externalId": "c1", "source": "testrail", "folderExternalId": "ts_1"},
            {"name": "bad", "externalId": "c2", "source": "testrail",
             "folderExternalId": "ts_missing"}]},
    }  # fmt: skip
    response = await post_data(client, entities)
    assert response.status_code == 400
    assert response.json()["message"] == (
        "body.entities.cases.entries[1].folderExternalId: no folder with externalId "
        "'ts_missing' and source 'testrail' in project 'DEMO' or earlier in this request"
    )
    assert [f["name"] for f in state.folders("DEMO")] == ["Demo"]
    assert state.cases("DEMO") == []
    assert state.tags() == []
    response = await post_data(client, {"suites": {"entries": []}})
    assert response.status_code == 400
    assert "body.entities.suites is not a property" in response.json()["message"]
    response = await post_data(client, {"cases": {"entries": [{"name": "x", "source": "s"}]}})
    assert response.json()["message"] == "body.entities.cases.entries[0].externalId is required"
    response = await client.post(f"{V1}/projects/DEMO/data", json={"entities": {}, "extra": 1})
    assert response.json()["message"] == "body.extra is not a property of CreateDataDto"


async def test_data_runs_and_executions_link_by_refs_with_status_names(
    client: httpx.AsyncClient, state: TestFiestaState
) -> None:
    await new_project(client)
    entities: dict[str, Any] = {
        "cases": {"entries": [{"name": "t1", "externalId": "tc_1", "source": "ci"},
                              {"name": "t2", "externalId": "tc_2", "source": "ci"}]},
        "runs": {"entries": [{"name": "CI run", "externalId": "run-1", "source": "ci",
                              "customFields": {"externalId": "run-1"}}]},
        "executions": {"entries": [
            {"source": "ci", "externalId": "tc_1", "caseRef": "tc_1", "runRef": "run-1",
             "status": "passed", "time": 0.5},
            {"source": "ci", "externalId": "tc_2", "caseRef": "tc_2", "runRef": "run-1",
             "status": "Failed"}]},
    }  # fmt: skip
    response = await post_data(client, entities)
    assert response.status_code == 204, response.text
    [run] = state.runs("DEMO")
    executions = state.executions("DEMO")
    cases = {c["externalId"]: c["uid"] for c in state.cases("DEMO")}
    assert [(e["testCaseUid"], e["testRunUid"], e["status"]) for e in executions] == [
        (cases["tc_1"], run["uid"], 101),
        (cases["tc_2"], run["uid"], 102),
    ]
    assert executions[0]["customFields"] == {"time": 0.5}
    assert run["customFields"]["externalId"] == "run-1"
    assert run["customFields"]["caseCount"] == 2
    assert run["customFields"]["frequency"] == {"101": 1, "102": 1}
    # Re-sending an execution updates it (same run, same pair).
    entities["executions"]["entries"][1]["status"] = "passed"
    await post_data(client, {"executions": entities["executions"]})
    assert [e["status"] for e in state.executions("DEMO")] == [101, 101]
    # A TestRail status id passed through raw is rejected.
    bad = {"source": "ci", "caseRef": "tc_1", "runRef": "run-1", "status": 1}
    response = await post_data(client, {"executions": {"entries": [bad]}})
    assert response.status_code == 400
    assert response.json()["message"] == (
        "body.entities.executions.entries[0].status must be an execution status name such as "
        "'Passed' (got 1)"
    )
    bad = {"source": "ci", "caseRef": "tc_1", "runRef": "nope", "status": "passed"}
    response = await post_data(client, {"executions": {"entries": [bad]}})
    assert response.status_code == 400
    assert response.json()["message"] == (
        "body.entities.executions.entries[0].runRef: no run with externalId 'nope' and source "
        "'ci' in project 'DEMO' or in this request"
    )
    assert len(state.executions("DEMO")) == 2


async def test_data_takes_tacotruck_status_names_and_run_id(
    client: httpx.AsyncClient, state: TestFiestaState
) -> None:
    """§3.12: tacotruck sends ``passed|failed|blocked|skipped|error`` and a top-level
    ``runId`` (a run made just before with POST /runs) to attach the executions to; errors
    count as failed (§6.6, §8.4)."""
    project = await new_project(client)
    run = (await client.post(f"{V1}/projects/DEMO/runs", json={"name": "CI #7"})).json()
    names = ["passed", "failed", "blocked", "skipped", "error", "ERROR", "Skipped"]
    entities: dict[str, Any] = {
        "folders": {"entries": [{"name": "SuiteA", "externalId": "ts_a", "source": "junit-xml",
                                 "tests": len(names), "failures": 1, "errors": 2}]},
        "cases": {"entries": [{"name": f"t{i}", "classname": "pkg.A", "source": "junit-xml",
                               "externalId": f"tc_{i}", "folderExternalId": "ts_a"}
                              for i in range(len(names))]},
        "executions": {"entries": [{"source": "junit-xml", "externalId": f"tc_{i}",
                                    "caseRef": f"tc_{i}", "runRef": "4f1d-uuid", "time": 0.01,
                                    "status": name} for i, name in enumerate(names)]},
        "runs": {"entries": [{"name": "CI run", "source": "junit-xml", "externalId": "4f1d-uuid",
                              "customFields": {"externalId": "4f1d-uuid"}}]},
    }  # fmt: skip
    response = await post_data(client, entities, runId=run["uid"])
    assert response.status_code == 204, response.text
    executions = state.executions("DEMO")
    assert {e["testRunUid"] for e in executions} == {run["uid"]}
    assert [e["status"] for e in executions] == [101, 102, 103, 106, 102, 102, 106]
    posted = next(r for r in state.runs("DEMO") if r["uid"] == run["uid"])
    assert posted["customFields"]["caseCount"] == len(names)
    assert posted["customFields"]["frequency"] == {"101": 1, "102": 3, "103": 1, "106": 2}
    entry_run = next(r for r in state.runs("DEMO") if r["externalId"] == "4f1d-uuid")
    assert entry_run["customFields"]["caseCount"] == 0  # the runs entry is upserted, unused
    # Re-sending updates the same executions of the same run.
    entities["executions"]["entries"][4]["status"] = "passed"
    response = await post_data(client, {"executions": entities["executions"]}, runId=run["uid"])
    assert response.status_code == 204, response.text
    assert [e["status"] for e in state.executions("DEMO")][4] == 101
    assert len(state.executions("DEMO")) == len(names)
    # runId must name a live run of the project; nothing is written otherwise.
    one = {"executions": {"entries": [entities["executions"]["entries"][0]]}}
    response = await post_data(client, one, runId=project["uid"])
    assert response.status_code == 400
    assert response.json()["message"] == (
        f"body.runId: run {project['uid']} not found in this project"
    )
    response = await post_data(client, one, runId=str(run["uid"]))
    assert response.json()["message"] == "body.runId must be a number"
    # A name the catalogue lacks and no alias covers is still refused.
    bad = {**entities["executions"]["entries"][0], "status": "flaky"}
    response = await post_data(client, {"executions": {"entries": [bad]}}, runId=run["uid"])
    assert response.json()["message"] == (
        "body.entities.executions.entries[0].status: no execution status named 'flaky'; the org "
        "has Passed, Failed, Blocked, Retest, Untested, Skipped"
    )
    assert len(state.executions("DEMO")) == len(names)


async def test_data_error_status_is_the_org_s_own_when_it_has_one(clock: FakeClock) -> None:
    statuses = (
        ExecutionStatus(1, "Passed", 0x00FF00, True),
        ExecutionStatus(2, "Failed", 0xFF0000, True),
        ExecutionStatus(3, "Error", 0xFF8800, True),
        ExecutionStatus(4, "Untested", 0xCCCCCC, False, is_untested=True),
    )
    state = TestFiestaState(clock=clock, execution_statuses=statuses)
    async with make_client(create_app(state, handle=HANDLE, token=TOKEN)) as client:
        await new_project(client)
        entities = {
            "cases": {"entries": [{"name": "t", "externalId": "tc", "source": "ci"}]},
            "runs": {"entries": [{"name": "r", "externalId": "r", "source": "ci"}]},
            "executions": {"entries": [{"source": "ci", "caseRef": "tc", "runRef": "r",
                                        "status": "error"}]},
        }  # fmt: skip
        response = await post_data(client, entities)
    assert response.status_code == 204, response.text
    assert [e["status"] for e in state.executions("DEMO")] == [3]


# --- runs and executions (v1) -----------------------------------------------------------------


async def test_run_with_cases_gets_untested_executions(
    client: httpx.AsyncClient, state: TestFiestaState
) -> None:
    project = await new_project(client)
    root = await root_uid(client)
    created = await client.post(
        f"{V1}/projects/DEMO/cases",
        json=[case_dto("a", root, project["uid"]), case_dto("b", root, project["uid"])],
    )
    uids = [c["uid"] for c in created.json()]
    response = await client.post(
        f"{V1}/projects/DEMO/runs",
        json={"name": "Sprint 1", "caseUids": uids, "dueAt": "2025-04-01T00:00:00Z",
              "configs": ["browser:firefox"]},
    )  # fmt: skip
    run = response.json()
    assert run["systemType"] == "run"
    assert run["customFields"]["dueAt"] == "2025-04-01T00:00:00.000Z"
    assert run["customFields"]["caseCount"] == 2
    assert run["customFields"]["frequency"] == {"105": 2}
    executions = (await client.get(f"{V1}/projects/DEMO/executions", params=PAGE)).json()
    assert [(e["name"], e["status"]) for e in executions["items"]] == [
        ("a", 105),
        ("b", 105),
    ]
    first = executions["items"][0]["uid"]
    response = await client.patch(
        f"{V1}/projects/DEMO/executions/{first}", json={"status": 101, "steps": []}
    )
    assert response.json()["status"] == 101
    assert state.runs("DEMO")[0]["customFields"]["frequency"] == {"101": 1, "105": 1}
    response = await client.patch(f"{V1}/projects/DEMO/executions/{first}", json={"status": 1})
    assert response.status_code == 400
    assert response.json()["message"] == "body.steps is required"
    response = await client.put(
        f"{V1}/projects/DEMO/runs/{run['uid']}", json={"archive": True, "name": "Sprint 1 done"}
    )
    assert response.json()["archivedAt"] is not None
    assert response.json()["name"] == "Sprint 1 done"


# --- the TRV2 shim ----------------------------------------------------------------------------


async def test_shim_statuses_and_priorities(client: httpx.AsyncClient) -> None:
    statuses = (await client.get(shim("get_statuses"))).json()
    assert statuses[0] == {
        "id": 101,
        "name": "Passed",
        "label": "Passed",
        "color_dark": 0x4CAF50,
        "color_medium": 0x4CAF50,
        "color_bright": 0x4CAF50,
        "is_final": True,
        "is_system": False,
        "is_untested": False,
    }
    assert [(s["id"], s["name"], s["is_untested"]) for s in statuses] == [
        (101, "Passed", False),
        (102, "Failed", False),
        (103, "Blocked", False),
        (104, "Retest", False),
        (105, "Untested", True),
        (106, "Skipped", False),
    ]
    priorities = (await client.get(shim("get_priorities"))).json()
    assert priorities == [
        {"id": 201, "name": "Critical", "short_name": "Crit", "priority": 201, "is_default": False},
        {"id": 202, "name": "High", "short_name": "High", "priority": 202, "is_default": False},
        {"id": 203, "name": "Medium", "short_name": "Med", "priority": 203, "is_default": False},
        {"id": 204, "name": "Low", "short_name": "Low", "priority": 204, "is_default": False},
    ]


async def test_shim_update_case_adds_a_type_tag_and_keeps_the_others(
    client: httpx.AsyncClient, state: TestFiestaState, clock: FakeClock
) -> None:
    project = await new_project(client)
    root = await root_uid(client)
    functional = (
        await client.post(f"{V1}/tags", json={"name": "Functional", "entityTypes": ["cases"]})
    ).json()
    regression = (
        await client.post(f"{V1}/tags", json={"name": "Regression", "entityTypes": ["cases"]})
    ).json()
    folder = await new_folder(client, "Login", root, project["uid"])
    created = await client.post(
        f"{V1}/projects/DEMO/cases",
        json=[case_dto("Login works", root, project["uid"], tagIds=[functional["uid"]],
                       customFields={"preconds": PRECONDITION})],
    )  # fmt: skip
    case = created.json()[0]
    clock.advance(30)
    response = await client.post(
        shim(f"update_case/{case['uid']}"),
        json={"type_id": regression["uid"], "title": "Login still works", "priority_id": 201,
              "section_id": folder["uid"]},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["labels"] == [
        {"id": functional["uid"], "title": "Functional"},
        {"id": regression["uid"], "title": "Regression"},
    ]
    assert body["type_id"] == functional["uid"]  # the first tag of the case
    assert body["title"] == "Login still works"
    assert body["priority_id"] == 201
    assert body["section_id"] == folder["uid"]
    assert body["suite_id"] == root
    assert body["custom_case_preconds"] == PRECONDITION
    assert body["created_by"] == body["updated_by"] == state.user_uid
    assert body["created_on"] == int(datetime(2025, 3, 10, 12, 0, 0, tzinfo=UTC).timestamp())
    assert body["updated_on"] == body["created_on"] + 30
    assert body["is_deleted"] == 0
    v1_case = (await client.get(f"{V1}/projects/DEMO/cases/{case['uid']}")).json()
    assert [t["name"] for t in v1_case["tags"]] == ["Functional", "Regression"]
    assert v1_case["name"] == "Login still works"
    assert (await client.get(shim(f"get_case/{case['uid']}"))).json() == body
    types = (await client.get(shim("get_case_types"))).json()
    assert types == [
        {"id": functional["uid"], "name": "Functional", "is_default": False},
        {"id": regression["uid"], "name": "Regression", "is_default": False},
    ]
    # TestRail ids passed through raw are refused.
    response = await client.post(shim(f"update_case/{case['uid']}"), json={"priority_id": 2})
    assert response.status_code == 400
    assert response.json()["error"].startswith("priority_id: no priority with uid 2")


async def test_shim_update_case_sets_custom_case_fields(
    client: httpx.AsyncClient, state: TestFiestaState, clock: FakeClock
) -> None:
    """The shim spec's update_case requestBody: "the request body can also include the custom
    fields of the case which can be accessed by forming name as custom_case_<field_name>"."""
    project = await new_project(client)
    root = await root_uid(client)
    created = await client.post(
        f"{V1}/projects/DEMO/cases",
        json=[case_dto("Login", root, project["uid"],
                       customFields={"preconds": "old", "expectedResult": "Dashboard"})],
    )  # fmt: skip
    case = created.json()[0]
    clock.advance(10)
    response = await client.post(
        shim(f"update_case/{case['uid']}"),
        json={"custom_case_preconds": PRECONDITION, "custom_case_Browser": ["Chrome", "Firefox"],
              "title": "Login (SSO)"},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["custom_case_preconds"] == PRECONDITION
    assert body["custom_case_Browser"] == ["Chrome", "Firefox"]
    assert body["custom_case_expectedResult"] == "Dashboard"  # the others stay
    assert body["title"] == "Login (SSO)"
    v1_case = (await client.get(f"{V1}/projects/DEMO/cases/{case['uid']}")).json()
    assert v1_case["customFields"] == {
        "preconds": PRECONDITION,
        "expectedResult": "Dashboard",
        "Browser": ["Chrome", "Firefox"],
    }
    assert v1_case["updatedAt"] == "2025-03-10T12:00:10.123Z"
    # Re-sending the same values changes nothing.
    clock.advance(10)
    again = await client.post(
        shim(f"update_case/{case['uid']}"), json={"custom_case_preconds": PRECONDITION}
    )
    assert again.json()["updated_on"] == body["updated_on"]
    # Keys that are neither the spec's fields nor custom_case_<name> are still refused.
    for key in ("custom_preconds", "custom_case_", "refs"):
        response = await client.post(shim(f"update_case/{case['uid']}"), json={key: "x"})
        assert response.status_code == 400, key
        assert response.json()["error"] == (
            f"update_case does not take {key}; it takes only section_id, title, template_id, "
            "type_id, labels, priority_id and custom_case_<field_name> keys"
        )
    assert state.cases("DEMO")[0]["customFields"] == v1_case["customFields"]


async def test_shim_errors(client: httpx.AsyncClient, state: TestFiestaState) -> None:
    project = await new_project(client)
    response = await client.get(shim("get_case/987654"))
    assert response.status_code == 404
    assert response.json() == {"error": "case 987654 not found"}
    response = await client.get(shim("get_history_for_case/1"))
    assert response.status_code == 403
    assert response.json() == {
        "error": "get_history_for_case is not supported: TestFiesta does not support this endpoint"
    }
    response = await client.post(shim(f"add_suite/{project['uid']}"), json={"name": "S2"})
    assert response.status_code == 403
    response = await client.get(shim("get_case_fields"))
    assert response.status_code == 404
    assert "does not provide it" in response.json()["error"]
    # Documented by the shim but not emulated: 501, saying so (an emulator gap, not TestFiesta).
    for call in ("get_projects", f"get_project/{project['uid']}"):
        response = await client.get(shim(call))
        method = call.split("/")[0]
        assert (response.status_code, response.json()) == (
            501,
            {"error": f"{method} is part of the shim but not emulated yet"},
        )
    response = await client.post(shim(f"add_run/{project['uid']}"), json={"name": "R"})
    assert response.status_code == 501
    assert state.runs("DEMO") == []  # nothing was written
    response = await client.get(shim("get_case/abc"))
    assert response.status_code == 400
    response = await client.post(shim("get_statuses"))
    assert response.json() == {"error": "get_statuses requires GET"}
    templates = (await client.get(shim(f"get_templates/{project['uid']}"))).json()
    assert templates[0]["name"] == "Text"
    assert templates[0]["is_default"] is True
    assert templates[0]["case_fields"][0] == {
        "system_name": "custom_case_Pre-condition",
        "name": "Pre-condition",
        "type": "text",
    }


# --- knobs and real HTTP ----------------------------------------------------------------------


async def test_rate_limit_answers_429_with_retry_after(state: TestFiestaState) -> None:
    now = [1000.0]
    app = create_app(
        state, handle=HANDLE, token=TOKEN, requests_per_minute=2, monotonic=lambda: now[0]
    )
    async with make_client(app) as c:
        assert (await c.get(f"{V1}/projects", params=PAGE)).status_code == 200
        now[0] += 10
        assert (await c.get(f"{V1}/projects", params=PAGE)).status_code == 200
        now[0] += 5
        response = await c.get(f"{V1}/projects", params=PAGE)
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "45"
        assert response.json()["statusCode"] == 429
        now[0] += 45
        assert (await c.get(f"{V1}/projects", params=PAGE)).status_code == 200


async def test_v1_bodies_over_100_kb_answer_413(
    client: httpx.AsyncClient, state: TestFiestaState
) -> None:
    """[INF] NestJS's body-parser default JSON limit '100kb' (102 400 bytes): 413 with its
    message, before auth and before any write; exactly the limit passes; the shim has none."""
    project = await new_project(client)
    root = await root_uid(client)

    def cases_body(size: int) -> bytes:
        """A POST /cases body of exactly ``size`` bytes (the padding sits in customFields)."""
        case = case_dto("Big", root, project["uid"], customFields={"pad": ""})
        empty = len(json.dumps([case]).encode())
        case["customFields"]["pad"] = "x" * (size - empty)
        raw = json.dumps([case]).encode()
        assert len(raw) == size
        return raw

    json_type = {"Content-Type": "application/json"}
    cases = f"{V1}/projects/DEMO/cases"
    at_limit = await client.post(cases, content=cases_body(102_400), headers=json_type)
    over = await client.post(cases, content=cases_body(102_401), headers=json_type)

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the body is measured
        raw = cases_body(150_000)
        for start in range(0, len(raw), 10_000):
            yield raw[start : start + 10_000]

    chunked = await client.post(cases, content=chunks(), headers=json_type)
    async with make_client(
        create_app(state, handle=HANDLE, token=TOKEN), {"Authorization": "Bearer wrong"}
    ) as stranger:
        unauthenticated = await stranger.post(cases, content=cases_body(200_000), headers=json_type)
    big_shim = await client.post(
        shim(f"update_case/{at_limit.json()[0]['uid']}"),
        json={"custom_case_pad": "y" * 200_000},
    )
    too_large = {"statusCode": 413, "message": "request entity too large",
                 "error": "Payload Too Large"}  # fmt: skip
    assert at_limit.status_code == 200, at_limit.text
    for response in (over, chunked, unauthenticated):
        assert (response.status_code, response.json()) == (413, too_large)
    assert len(state.cases("DEMO")) == 1
    assert big_shim.status_code == 200
    async with make_client(create_app(state, handle=HANDLE, token=TOKEN, max_body_bytes=None)) as c:
        unlimited = await c.post(cases, content=cases_body(300_000), headers=json_type)
    assert unlimited.status_code == 200
    assert len(state.cases("DEMO")) == 2
    with pytest.raises(ValueError, match="max_body_bytes"):
        create_app(handle=HANDLE, token=TOKEN, max_body_bytes=0)


async def test_latency_delays_every_answer(state: TestFiestaState) -> None:
    app = create_app(state, handle=HANDLE, token=TOKEN, latency=0.3)
    async with make_client(app) as client:
        started = time.monotonic()
        response = await client.get(f"{V1}/projects", params=PAGE)
        waited = time.monotonic() - started
    assert response.status_code == 200 and waited >= 0.3
    with pytest.raises(ValueError, match="latency"):
        create_app(state, handle=HANDLE, token=TOKEN, latency=-1)


async def test_fault_rate_answers_5xx_before_any_write(state: TestFiestaState) -> None:
    app = create_app(
        state, handle=HANDLE, token=TOKEN, fault_rate=1.0, fault_seed=7, faults=["500", "503"]
    )
    async with make_client(app) as c:
        response = await c.post(
            f"{V1}/projects", json={"name": "Demo", "key": "DEMO", "customFields": {}}
        )
        assert response.status_code in (500, 503)
        assert response.json()["message"] == f"emulated server fault ({response.status_code})"
    assert state.projects() == []


def test_real_http_round_trip() -> None:
    app = build(HANDLE, TOKEN)
    with start_in_thread(app) as server, httpx.Client(base_url=server.url, headers=AUTH) as c:
        response = c.post(
            f"{V1}/projects", json={"name": "Über Projekt", "key": "UBER", "customFields": {}}
        )
        assert response.status_code == 200
        listing = c.get(f"{V1}/projects", params={"limit": 10, "offset": 0}).json()
        assert [(p["key"], p["name"]) for p in listing["items"]] == [("UBER", "Über Projekt")]
        response = c.get(f"{server.url}/trv2/{HANDLE}/index.php?/api/v2/get_priorities")
        assert [p["name"] for p in response.json()] == ["Critical", "High", "Medium", "Low"]
        assert c.get(f"{V1}/projects", params={"offset": 0}).status_code == 400


# --- milestones, plans, shared steps, executions ----------------------------------------------


async def test_milestones_plans_and_shared_steps(
    client: httpx.AsyncClient, state: TestFiestaState
) -> None:
    await new_project(client)
    run = (await client.post(f"{V1}/projects/DEMO/runs", json={"name": "R1"})).json()
    response = await client.post(f"{V1}/projects/DEMO/milestones", json={"name": "M1"})
    assert response.status_code == 400
    assert response.json()["message"] == (
        "body.startDate is required; body.dueAt is required; body.status is required"
    )
    milestone = (
        await client.post(
            f"{V1}/projects/DEMO/milestones",
            json={"name": "Sprint 1", "startDate": "2025-03-01", "dueAt": "2025-03-14T23:59:59Z",
                  "status": 23, "runIds": [run["uid"]]},
        )
    ).json()  # fmt: skip
    assert milestone["systemType"] == "milestone"
    assert milestone["customFields"]["startDate"] == "2025-03-01T00:00:00.000Z"
    assert milestone["customFields"]["dueAt"] == "2025-03-14T23:59:59.000Z"
    assert milestone["customFields"]["status"] == 23
    assert state.runs("DEMO")[0]["customFields"]["milestoneUids"] == [milestone["uid"]]
    closed = await client.patch(
        f"{V1}/projects/DEMO/milestones/{milestone['uid']}", json={"archived": True}
    )
    assert closed.json()["archivedAt"] == "2025-03-10T12:00:00.123Z"

    plan = (
        await client.post(
            f"{V1}/projects/DEMO/plans",
            json={"name": "Release plan", "milestoneUids": [milestone["uid"]],
                  "testRuns": [{"uid": run["uid"], "configuration": {
                      "type": "matrix", "sets": [["browser:firefox"], ["os:mac"]]}}],
                  "customFields": {"owner": "qa"}},
        )
    ).json()  # fmt: skip
    assert plan["customFields"]["testRuns"][0]["configuration"]["type"] == "matrix"
    assert plan["customFields"]["owner"] == "qa"
    response = await client.get(
        f"{V1}/projects/DEMO/plans", params={**PAGE, "archived": "false", "minRunCount": 1}
    )
    assert [p["name"] for p in response.json()["items"]] == ["Release plan"]
    response = await client.get(f"{V1}/projects/DEMO/plans", params={**PAGE, "minRunCount": 2})
    assert response.json()["count"] == 0
    response = await client.post(
        f"{V1}/projects/DEMO/plans", json={"name": "P", "customFields": {"n": 1}}
    )
    assert response.json()["message"] == "body.customFields.n must be a string"
    # A plan cannot be deleted through v1 (only the shim's delete_plan).
    response = await client.delete(f"{V1}/projects/DEMO/plans/{plan['uid']}")
    assert response.status_code == 404

    steps = [{"id": "s1", "title": "Log in", "description": "as admin", "children": [
        {"id": "s1.1", "expectedResult": "dashboard"}]}]  # fmt: skip
    shared = (
        await client.post(
            f"{V1}/projects/DEMO/shared-steps", json={"name": "Login", "steps": steps}
        )
    ).json()
    assert shared["steps"] == steps
    response = await client.post(
        f"{V1}/projects/DEMO/shared-steps", json={"name": "Bad", "steps": [{"title": "no id"}]}
    )
    assert response.json()["message"] == "body.steps[0].id is required"
    await client.delete(f"{V1}/projects/DEMO/shared-steps/{shared['uid']}")
    assert state.shared_steps("DEMO") == []


async def test_executions_created_and_updated_through_v1(
    client: httpx.AsyncClient, state: TestFiestaState
) -> None:
    project = await new_project(client)
    root = await root_uid(client)
    steps = [{"description": "a", "expectedResult": "b"}, {"description": "c"}]
    created = await client.post(
        f"{V1}/projects/DEMO/cases", json=[case_dto("Case", root, project["uid"], steps=steps)]
    )
    case = created.json()[0]
    run = (await client.post(f"{V1}/projects/DEMO/runs", json={"name": "R"})).json()
    tag_a = await client.post(f"{V1}/tags", json={"name": "a", "entityTypes": ["executions"]})
    tag_b = await client.post(f"{V1}/tags", json={"name": "b", "entityTypes": ["executions"]})
    execution = (
        await client.post(
            f"{V1}/projects/DEMO/executions",
            json={"customFields": {"env": "staging"}, "testCaseRef": case["testCaseRef"],
                  "testRunUid": run["uid"], "externalId": "tr/test/9", "source": "testrail"},
        )
    ).json()  # fmt: skip
    assert (execution["testCaseUid"], execution["testRunUid"]) == (case["uid"], run["uid"])
    assert execution["status"] == 105
    assert execution["name"] == "Case"
    response = await client.patch(
        f"{V1}/projects/DEMO/executions/{execution['uid']}",
        json={"status": 102, "assignedTo": state.user_uid, "tagUids": [tag_a.json()["uid"]],
              "tagReplacements": [{"existingTagUids": [tag_a.json()["uid"]],
                                   "newTagUids": [tag_b.json()["uid"]]}],
              "steps": [{"position": 0, "status": 102, "description": "step one"}]},
    )  # fmt: skip
    updated = response.json()
    assert updated["status"] == 102
    assert [t["name"] for t in updated["tags"]] == ["b"]
    assert updated["steps"] == [
        {"uid": updated["steps"][0]["uid"], "position": 0, "status": 102,
         "description": "step one"}]  # fmt: skip
    assert state.runs("DEMO")[0]["customFields"]["frequency"] == {"102": 1}
    response = await client.patch(
        f"{V1}/projects/DEMO/executions/{execution['uid']}",
        json={"steps": [{"uid": "missing", "position": 1}]},
    )
    assert response.json()["message"] == "body.steps[0].uid: no step 'missing'"


async def test_list_order_by_updated_at_and_limit_bounds(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    project = await new_project(client)
    root = await root_uid(client)
    first = await new_folder(client, "first", root, project["uid"])
    clock.advance(1)
    await new_folder(client, "second", root, project["uid"])
    clock.advance(1)
    await client.patch(f"{V1}/projects/DEMO/folders/{first['uid']}", json={"name": "first*"})
    response = await client.get(
        f"{V1}/projects/DEMO/folders",
        params={"limit": 10, "offset": 0, "orderBy": "updatedAt", "order": "desc"},
    )
    assert [f["name"] for f in response.json()["items"]] == ["first*", "second", "Demo"]
    response = await client.get(f"{V1}/projects/DEMO/folders", params={"limit": 0, "offset": 0})
    assert response.status_code == 400
    assert response.json()["message"] == "query parameter limit must be an integer >= 1 (got '0')"
    response = await client.get(f"{V1}/projects/DEMO/folders", params={"limit": 2, "offset": 9})
    assert response.json() == {"count": 3, "items": [], "nextOffset": 9}


async def test_shim_labels_replace_tags_and_accept_names(
    client: httpx.AsyncClient, state: TestFiestaState
) -> None:
    project = await new_project(client)
    root = await root_uid(client)
    old = (await client.post(f"{V1}/tags", json={"name": "old", "entityTypes": ["cases"]})).json()
    keep = (await client.post(f"{V1}/tags", json={"name": "keep", "entityTypes": ["cases"]})).json()
    case = (
        await client.post(
            f"{V1}/projects/DEMO/cases",
            json=[case_dto("c", root, project["uid"], tagIds=[old["uid"]])],
        )
    ).json()[0]
    response = await client.post(
        shim(f"update_case/{case['uid']}"), json={"labels": [str(keep["uid"]), "brand new"]}
    )
    assert [label["title"] for label in response.json()["labels"]] == ["keep", "brand new"]
    assert [t["name"] for t in state.tags()] == ["old", "keep", "brand new"]
    response = await client.post(shim(f"update_case/{case['uid']}"), json={"labels": [424242]})
    assert response.status_code == 400
    assert response.json() == {"error": "labels[0]: tag 424242 not found"}
    response = await client.post(shim("update_case/987654"), json={"title": "x"})
    assert response.status_code == 404


async def test_shim_results_history_and_tests(
    client: httpx.AsyncClient, state: TestFiestaState, clock: FakeClock
) -> None:
    project = await new_project(client)
    root = await root_uid(client)
    created = await client.post(
        f"{V1}/projects/DEMO/cases",
        json=[case_dto("Login", root, project["uid"]), case_dto("Logout", root, project["uid"])],
    )
    login, logout = (c["uid"] for c in created.json())
    run = (
        await client.post(
            f"{V1}/projects/DEMO/runs", json={"name": "R", "caseUids": [login, logout]}
        )
    ).json()
    tests = (await client.get(shim(f"get_tests/{run['uid']}"))).json()
    assert tests["size"] == 2
    assert [(t["title"], t["status_id"], t["case_id"]) for t in tests["tests"]] == [
        ("Login", 105, None),
        ("Logout", 105, None),
    ]
    login_test = tests["tests"][0]["id"]

    # History oldest first, as the migration replays it.
    first = await client.post(
        shim(f"add_result/{login_test}"), json={"status_id": 102, "comment": "failed on 9.1\nbad"}
    )
    assert first.status_code == 200, first.text
    clock.advance(60)
    second = await client.post(
        shim(f"add_result_for_case/{run['uid']}/{login}"), json={"status_id": 101}
    )
    assert second.json()["test_id"] == login_test
    assert second.json()["created_on"] == first.json()["created_on"] + 60
    assert (await client.get(shim(f"get_test/{login_test}"))).json()["status_id"] == 101
    history = (await client.get(shim(f"get_results/{login_test}"))).json()
    assert [(r["status_id"], r.get("comment")) for r in history["results"]] == [
        (101, None),
        (102, "failed on 9.1\nbad"),
    ]
    assert "comment" not in history["results"][0]  # no comment: left out, never null
    assert history["results"][1] == {
        "id": first.json()["id"],
        "test_id": login_test,
        "status_id": 102,
        "comment": "failed on 9.1\nbad",
        "created_by": state.user_uid,
        "created_on": first.json()["created_on"],
        "defects": None,
        "assignedto_id": None,
    }
    batch = await client.post(
        shim(f"add_results_for_cases/{run['uid']}"),
        json={"results": [{"case_id": logout, "status_id": 103, "comment": "blocked by #12"}]},
    )
    assert batch.json()["results"][0]["status_id"] == 103
    page = (await client.get(shim(f"get_results_for_run/{run['uid']}") + "&limit=2")).json()
    assert page["size"] == 3
    assert [r["status_id"] for r in page["results"]] == [103, 101]
    assert page["_links"]["next"] == f"/api/v2/get_results_for_run/{run['uid']}&limit=2&offset=2"
    filtered = await client.get(shim(f"get_results_for_run/{run['uid']}") + "&status_id=102,103")
    assert [r["status_id"] for r in filtered.json()["results"]] == [103, 102]
    assert state.runs("DEMO")[0]["customFields"]["frequency"] == {"101": 1, "103": 1}

    # Inputs the shim does not take, TestRail status ids, and unknown tests are refused.
    response = await client.post(
        shim(f"add_result/{login_test}"), json={"status_id": 101, "elapsed": "1m"}
    )
    assert response.json() == {
        "error": "body: the shim does not take elapsed; it takes only status_id, comment"
    }
    response = await client.post(shim(f"add_result/{login_test}"), json={"status_id": 1})
    assert response.status_code == 400
    assert response.json()["error"].startswith("body.status_id: no execution status with uid 1")
    response = await client.post(
        shim(f"add_results/{run['uid']}"),
        json={"results": [{"test_id": login_test, "status_id": 101}, {"test_id": 999999,
                                                                      "status_id": 101}]},
    )  # fmt: skip
    assert response.json() == {
        "error": f"results[1].test_id: test 999999 is not in run {run['uid']}"
    }
    assert len((await client.get(shim(f"get_results/{login_test}"))).json()["results"]) == 2
    assert (await client.get(shim("get_test/999999"))).status_code == 404
    # A closed run takes no more results.
    await client.patch(f"{V1}/projects/DEMO/runs/{run['uid']}", json={"archive": True})
    response = await client.post(shim(f"add_result/{login_test}"), json={"comment": "late"})
    assert response.status_code == 400
    assert (
        response.json()["error"]
        == f"add_result: run {run['uid']} is closed; results cannot be added"
    )


async def test_bad_json_bodies_and_trailing_slashes(
    client: httpx.AsyncClient, state: TestFiestaState
) -> None:
    body = b'{"name": "A", "key": "A", "customFields": {"ratio": NaN}}'
    response = await client.post(f"{V1}/projects", content=body)
    assert response.status_code == 400
    assert response.json()["message"] == (
        "the request body is not valid JSON (NaN is not valid JSON)"
    )
    response = await client.post(f"{V1}/projects", content=b"")
    assert response.json()["message"] == "a JSON request body is required"
    response = await client.post(shim("update_case/1"), content=b"[1, 2]")
    assert response.json() == {"error": "the request body must be a JSON object"}
    assert state.projects() == []
    response = await client.get(f"{V1}/projects/", params=PAGE)
    assert response.status_code == 404
    assert response.json()["message"] == "Cannot GET /v1/acme/projects/"


async def test_shim_configurations(client: httpx.AsyncClient) -> None:
    project = await new_project(client)
    group = await client.post(shim(f"add_config_group/{project['uid']}"), json={"name": "Browsers"})
    assert group.json() == {
        "id": group.json()["id"],
        "name": "Browsers",
        "project_id": project["uid"],
        "configs": [],
    }
    gid = group.json()["id"]
    chrome = (await client.post(shim(f"add_config/{gid}"), json={"name": "Chrome"})).json()
    firefox = (await client.post(shim(f"add_config/{gid}"), json={"name": "Firefox"})).json()
    assert chrome == {"id": chrome["id"], "name": "Chrome", "group_id": gid}
    renamed = await client.post(shim(f"update_config/{firefox['id']}"), json={"name": "Fx"})
    assert [c["name"] for c in renamed.json()["configs"]] == ["Chrome", "Fx"]
    deleted = await client.post(shim(f"delete_config/{chrome['id']}"))
    assert (deleted.status_code, deleted.json()) == (200, None)  # JSON null, as specified
    configs = (await client.get(shim(f"get_configs/{project['uid']}"))).json()
    assert configs == [
        {
            "id": gid,
            "name": "Browsers",
            "project_id": project["uid"],
            "configs": [{"id": firefox["id"], "name": "Fx", "group_id": gid}],
        }
    ]
    response = await client.post(shim(f"add_config/{gid}"), json={"title": "Safari"})
    assert response.json() == {"error": "the shim does not take title; it takes only name"}
    await client.post(shim(f"delete_config_group/{gid}"))
    assert (await client.get(shim(f"get_configs/{project['uid']}"))).json() == []
    assert (await client.post(shim(f"add_config/{gid}"), json={"name": "x"})).status_code == 404


async def test_shim_case_attachments_keep_the_bytes(
    client: httpx.AsyncClient, state: TestFiestaState
) -> None:
    project = await new_project(client)
    root = await root_uid(client)
    case = (
        await client.post(f"{V1}/projects/DEMO/cases", json=[case_dto("c", root, project["uid"])])
    ).json()[0]
    content = bytes(range(256)) * 40 + b"\r\n--not-a-boundary\r\n\x00end"
    response = await client.post(
        shim(f"add_attachment_to_case/{case['uid']}"),
        files={"attachment": ("Bildschirm ä.png", content, "image/png")},
    )
    assert response.status_code == 200, response.text
    attachment_id = response.json()["attachment_id"]
    assert isinstance(attachment_id, str)
    [stored] = state.attachments(case["uid"])
    assert stored["content"] == content
    assert stored["name"] == "Bildschirm ä.png"
    listing = (await client.get(shim(f"get_attachments_for_case/{case['uid']}"))).json()
    assert listing["size"] == 1
    assert listing["attachments"][0]["id"] == int(attachment_id)
    assert listing["attachments"][0]["size"] == len(content)
    assert listing["attachments"][0]["case_id"] == case["uid"]
    response = await client.post(
        shim(f"add_attachment_to_case/{case['uid']}"), json={"attachment": "x"}
    )
    assert response.status_code == 400
    response = await client.post(
        shim(f"add_attachment_to_case/{case['uid']}"), files={"file": ("a.txt", b"a")}
    )
    assert response.json() == {"error": "the multipart body has no file field 'attachment'"}
    response = await client.post(shim("add_attachment_to_case/987654"), files={"attachment": b"a"})
    assert response.status_code == 404


async def test_shim_close_plan_archives_the_plan(
    client: httpx.AsyncClient, state: TestFiestaState
) -> None:
    """Shim ``close_plan``: "closed / archived" (the v1 API has no plan archive); answers the
    plan in the shim's shape with its two synthetic entries (runs with and without configs)."""
    project = await new_project(client)
    chrome = (
        await client.post(
            f"{V1}/projects/DEMO/runs", json={"name": "Chrome", "configs": ["Browser:Chrome"]}
        )
    ).json()
    plain = (await client.post(f"{V1}/projects/DEMO/runs", json={"name": "Plain"})).json()
    sets = {"type": "simple", "sets": [["Browser:Chrome"]]}
    test_runs = [
        {"uid": chrome["uid"], "configuration": sets},
        {"uid": plain["uid"], "configuration": {"type": "simple", "sets": []}},
    ]
    plan = (
        await client.post(
            f"{V1}/projects/DEMO/plans", json={"name": "Release plan", "testRuns": test_runs}
        )
    ).json()
    closed = await client.post(shim(f"close_plan/{plan['uid']}"))
    answer = closed.json()
    assert closed.status_code == 200
    assert (answer["id"], answer["name"], answer["is_completed"]) == (
        plan["uid"],
        "Release plan",
        True,
    )
    assert answer["project_id"] == project["uid"]
    assert [[r["id"] for r in e["runs"]] for e in answer["entries"]] == [
        [chrome["uid"]],
        [plain["uid"]],
    ]
    assert answer["entries"][0]["runs"][0]["config"] == "Browser:Chrome"
    listed = (
        await client.get(f"{V1}/projects/DEMO/plans", params={"limit": 10, "offset": 0})
    ).json()
    assert [p["archivedAt"] is not None for p in listed["items"]] == [True]
    missing = await client.post(shim("close_plan/99999"))
    assert missing.status_code == 404
