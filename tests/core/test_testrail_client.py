"""The TestRail client against recorded real responses (shared/data/testrail-samples)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import stamina

from core.errors import AuthenticationFailed, NotFound, UnexpectedResponse
from core.testrail import TestRailCatalog, TestRailClient


def _client(handler) -> TestRailClient:  # type: ignore[no-untyped-def]
    return TestRailClient.connect(
        "https://acme.testrail.io",
        "qa@example.com",
        "secret-key",
        requests_per_minute=None,
        transport=httpx.MockTransport(handler),
    )


def _api_path(request: httpx.Request) -> str:
    """``get_cases/1&suite_id=3`` from ``.../index.php?/api/v2/get_cases/1&suite_id=3``."""
    query = request.url.query.decode()
    assert query.startswith("/api/v2/"), query
    return query[len("/api/v2/") :]


async def test_page_walk_follows_the_three_chained_pages(testrail_samples: Path) -> None:
    pages = {
        "get_models": "codepine__pagination_chain_page1.json",
        "get_models/2": "codepine__pagination_chain_page2.json",
        "get_models/3": "codepine__pagination_chain_page3.json",
    }
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        path = _api_path(request)
        asked.append(path)
        return httpx.Response(200, content=(testrail_samples / pages[path]).read_bytes())

    client = _client(handler)
    rows = [row async for row in client.paginate("get_models", "models")]
    await client.aclose()
    assert [r["id"] for r in rows] == [1, 3, 4, 5]
    assert [r["name"] for r in rows] == [
        "Test Model 1",
        "Test Model 3",
        "Test Model 4",
        "Test Model 5",
    ]
    assert asked == ["get_models", "get_models/2", "get_models/3"]
    assert client.session.stats.by_endpoint["get_models"] == 3


async def test_bare_array_of_a_pre_6_7_server_is_read_whole(testrail_samples: Path) -> None:
    body = (testrail_samples / "retailmenot__get_runs_bare_array.json").read_bytes()
    client = _client(lambda request: httpx.Response(200, content=body))
    runs = [row async for row in client.paginate("get_runs/1", "runs")]
    await client.aclose()
    assert len(runs) == len(json.loads(body)) == 9
    assert client.session.stats.total == 1  # fewer than 250 rows: no second page asked


async def test_extra_parameters_are_joined_with_ampersands() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(
            200,
            json={
                "offset": 0,
                "limit": 250,
                "size": 0,
                "_links": {"next": None, "prev": None},
                "cases": [],
            },
        )

    client = _client(handler)
    rows = [r async for r in client.iter_cases(5, 12, updated_after=1700000000, filter="a b,c")]
    await client.aclose()
    assert rows == []
    assert seen == [
        "https://acme.testrail.io/index.php?/api/v2/get_cases/5&suite_id=12"
        "&updated_after=1700000000&filter=a%20b%2Cc"
    ]


async def test_recorded_errors_become_named_exceptions(testrail_samples: Path) -> None:
    auth = (testrail_samples / "codepine__error_401_auth_failed.json").read_bytes()
    invalid = (testrail_samples / "codepine__error_400_invalid_id_template.json").read_bytes()

    def handler(request: httpx.Request) -> httpx.Response:
        if "get_case/" in _api_path(request):
            return httpx.Response(400, content=invalid)
        return httpx.Response(401, content=auth)

    client = _client(handler)
    with pytest.raises(AuthenticationFailed) as denied:
        await client.get_projects()
    with pytest.raises(NotFound) as missing:
        await client.get_case(99)
    await client.aclose()
    assert denied.value.status == 401
    assert "Authentication failed" in str(denied.value)
    assert "secret-key" not in str(denied.value)
    assert missing.value.status == 400
    assert json.loads(invalid)["error"] in str(missing.value)


async def test_an_error_body_is_never_an_empty_list() -> None:
    client = _client(lambda request: httpx.Response(200, json={"unexpected": True}))
    with pytest.raises(UnexpectedResponse, match="neither a list nor a page with 'sections'"):
        await client.get_sections(1, None)
    await client.aclose()


async def test_malformed_json_names_the_endpoint() -> None:
    """A read whose body is not JSON is retried (6 attempts), then named: JSON cut short as a
    truncated answer, anything else as not the API; an HTML page from a server that never
    answered JSON is named at once (the URL is a web page, not the API)."""
    client = _client(lambda request: httpx.Response(200, content=b'{"id": 1, "na'))
    garbage = _client(lambda request: httpx.Response(200, content=b"OK id=1"))
    login = _client(lambda request: httpx.Response(200, content=b"<html>login</html>"))
    with stamina.set_testing(True, attempts=6, cap=True):
        with pytest.raises(
            UnexpectedResponse,
            match=r"^testrail get_project answered HTTP 200 with JSON cut short after 13 bytes "
            r"\(the connection",
        ):
            await client.get_project(1)
        with pytest.raises(
            UnexpectedResponse,
            match=r"get_project answered HTTP 200 with a body that is not JSON: 'OK id=1': "
            r"this is not",
        ):
            await garbage.get_project(1)
        with pytest.raises(
            UnexpectedResponse, match=r"^testrail get_project got an HTML page instead of JSON"
        ):
            await login.get_project(1)
    await client.aclose()
    await garbage.aclose()
    await login.aclose()
    assert client.session.stats.by_endpoint["get_project"] == 6
    assert garbage.session.stats.by_endpoint["get_project"] == 6
    assert login.session.stats.by_endpoint["get_project"] == 1


def _mlb_catalog(samples: Path, project_id: int) -> TestRailCatalog:
    def load(name: str) -> list[dict[str, object]]:
        data = json.loads((samples / name).read_text(encoding="utf-8"))
        assert isinstance(data, list)
        return data

    return TestRailCatalog.build(
        project_id,
        load("mlbexport__get_case_fields.json"),
        load("mlbexport__get_case_types.json"),
        load("mlbexport__get_priorities.json"),
        [{"id": 1, "name": "Test Case", "is_default": True}],
    )


def test_dropdown_labels_parsed_from_recorded_case_fields(testrail_samples: Path) -> None:
    codelines = _mlb_catalog(testrail_samples, 252).fields["custom_pvocodelines"]
    assert dict(codelines.items) == {1: "MLB", 2: "GPL", 3: "MLB & GPL"}
    # "1,Account Management" -- no space after the comma
    category = _mlb_catalog(testrail_samples, 247).fields["custom_myprovenue_category"]
    assert category.items[1] == "Account Management"
    assert category.items[17] == "Venue Seat Maps"
    # ids starting at 0
    test_category = _mlb_catalog(testrail_samples, 222).fields["custom_test_category"]
    assert test_category.items[0] == "Smoke Test"
    assert test_category.items[8] == "Security Test"
    assert test_category.label_of(3) == "Regression Test"
    # the inactive DeviceType field of project 239 is not part of the project
    assert "custom_alfredhardware" not in _mlb_catalog(testrail_samples, 239).fields
    # a field configured for other projects only is not part of project 252
    assert "custom_myprovenue_category" not in _mlb_catalog(testrail_samples, 252).fields


def test_recorded_case_rows_become_records(testrail_samples: Path) -> None:
    catalog = _mlb_catalog(testrail_samples, 67)
    rows = json.loads(
        (testrail_samples / "mlbexport__get_cases_items_steps_separated.json").read_text("utf-8")
    )
    record = catalog.case_record(rows[0], "tr:section:1976225")
    assert record.key == "tr:case:34087421"
    assert record.title == "User is able to log in to MLB Beta"
    assert record.priority == "1 - High Priority"
    assert record.type == "Manual"
    assert record.estimate == "30s"
    assert [(s.content, s.expected) for s in record.steps] == [
        ("Navigate to messaging app on mobile device", "Messaging app login page is displayed"),
        (
            "Enter valid login details and click login button",
            "User is logged in successfully - contact list is displayed",
        ),
    ]

    crlf_rows = json.loads(
        (testrail_samples / "mlbexport__get_cases_items_text_template_crlf.json").read_text("utf-8")
    )
    crlf = _mlb_catalog(testrail_samples, 83).case_record(crlf_rows[0], "tr:section:151691")
    assert crlf.fields["custom_steps"].startswith(
        "1. User launches the At Bat app\r\n2. User navs to Scoreboard\r\n"
    )
    assert crlf.fields["custom_expected"] == (
        "Then the user should see the concurrency error message on the 7th device."
    )


async def test_a_next_link_with_limit_0_is_followed_with_250() -> None:
    """trcli found that following a ``limit=0`` link literally gets a 400 (reference §2.4)."""
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        path = _api_path(request)
        asked.append(path)
        if "limit=0" in path:
            return httpx.Response(400, json={"error": "Field :limit is not a valid limit."})
        if path == "get_cases/1&suite_id=2":
            return httpx.Response(200, json={
                "offset": 0, "limit": 250, "size": 250,
                "_links": {"next": "/api/v2/get_cases/1&suite_id=2&limit=0&offset=250",
                           "prev": None},
                "cases": [{"id": i} for i in range(250)],
            })  # fmt: skip
        return httpx.Response(200, json={
            "offset": 249, "limit": 250, "size": 4,
            "_links": {"next": None, "prev": "/api/v2/get_cases/1&suite_id=2&limit=250&offset=0"},
            "cases": [{"id": i} for i in range(249, 253)],
        })  # fmt: skip

    client = _client(handler)
    cases = [row async for row in client.iter_cases(1, 2)]
    await client.aclose()
    assert len(cases) == 253
    assert [c["id"] for c in cases] == list(range(253))
    # the next page starts one row early: the overlap that shows rows shifted between pages
    assert asked == ["get_cases/1&suite_id=2", "get_cases/1&suite_id=2&limit=250&offset=249"]


async def test_an_old_server_that_ignores_offset_cannot_loop_forever() -> None:
    """Pre-6.7 servers answer bare arrays and some ignore ``offset`` (reference §2.4)."""
    page = [{"id": i, "title": f"Case {i}"} for i in range(250)]
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(_api_path(request))
        return httpx.Response(200, json=page)  # the same first page, whatever offset says

    client = _client(handler)
    cases = [row async for row in client.iter_cases(1, None)]
    await client.aclose()
    assert [c["id"] for c in cases] == list(range(250))
    assert calls == ["get_cases/1", "get_cases/1&limit=250&offset=249"]
