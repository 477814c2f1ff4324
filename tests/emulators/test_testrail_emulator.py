"""The TestRail API v2 emulator against the reference (testrail-api.md) and the real data.

Requests go through ``httpx.ASGITransport`` except one test over real HTTP
(``emulators.server.start_in_thread``). Expected values come from the reference's verbatim
texts and from the real XML exports in ``shared/data/real-exports``.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from emulators.server import start_in_thread
from emulators.testrail import (
    ApiError,
    ManualClock,
    TestRailState,
    add_baseline,
    build,
    create_app,
    from_xml,
    generate,
    ops,
)
from emulators.testrail.store import render_case, render_sections
from emulators.testrail.timespan import format_timespan, parse_timespan

USER, KEY = "qa@example.com", "secret-key"
API = "/index.php?/api/v2/"
START = 1_700_000_000


class FakeMonotonic:
    """Rate-limiter clock the test moves by hand (seconds)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@asynccontextmanager
async def client_for(
    app: Any, auth: tuple[str, str] | None = (USER, KEY)
) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://tr.test", auth=auth) as c:
        yield c


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def state600(clock: ManualClock) -> TestRailState:
    """A generated 600-case single-suite project (id 1)."""
    state = TestRailState(clock=clock)
    generate(state, cases=600, seed=7)
    return state


@pytest.fixture
def xml_files(real_exports: Path) -> list[Path]:
    files = sorted(real_exports.glob("*.xml"))
    assert len(files) == 8, f"expected the 8 real XML exports in {real_exports}"
    return files


def xml(real_exports: Path, prefix: str) -> Path:
    (path,) = [p for p in real_exports.glob("*.xml") if p.name.startswith(prefix)]
    return path


# ---------------------------------------------------------------------------------------------
# routing, verbs, content types


async def test_raw_query_routing_decodes_params_and_echoes_testrail_links(
    state600: TestRailState,
) -> None:
    async with client_for(create_app(state600, user=USER, api_key=KEY)) as c:
        r = await c.get(API + "get_cases/1&priority_id=1%2C4&filter=log+in&limit=5")
        body = r.json()
    assert r.status_code == 200
    expected = [
        case["id"]
        for case in sorted(state600.cases.values(), key=lambda x: x["id"])
        if case["priority_id"] in (1, 4) and "log in" in case["title"].lower()
    ]
    assert len(expected) > 5
    assert body["size"] == 5
    assert {case["priority_id"] for case in body["cases"]} <= {1, 4}
    assert all("log in" in case["title"].lower() for case in body["cases"])
    assert (
        body["_links"]["next"]
        == "/api/v2/get_cases/1&priority_id=1,4&filter=log%20in&limit=5&offset=5"
    )


async def test_question_mark_form_and_subpath_are_accepted(state600: TestRailState) -> None:
    app = create_app(state600, user=USER, api_key=KEY)
    async with client_for(app) as c:
        plain = await c.get("/api/v2/get_cases/1", params={"limit": 3, "suite_id": 1})
        sub = await c.get("/testrail/index.php?/api/v2/get_project/1")
    assert plain.status_code == 200
    assert plain.json()["_links"]["next"] == "/api/v2/get_cases/1&suite_id=1&limit=3&offset=3"
    assert sub.json()["url"] == "http://tr.test/testrail/index.php?/projects/overview/1"


async def test_wrong_verb_unknown_method_and_content_type(state600: TestRailState) -> None:
    async with client_for(create_app(state600, user=USER, api_key=KEY)) as c:
        get_write = await c.get(API + "add_case/1")
        post_read = await c.post(API + "get_case/1", json={})
        unknown = await c.get(API + "get_everything/1")
        no_type = await c.post(API + "add_section/1", content=b'{"name": "x"}')
        bad_type = await c.post(
            API + "add_section/1", content=b"name=x", headers={"Content-Type": "text/plain"}
        )
        bad_json = await c.post(
            API + "add_section/1",
            content=b'{"name": "x"',
            headers={"Content-Type": "application/json"},
        )
    assert (get_write.status_code, get_write.json()) == (
        404,
        {"error": 'Unsupported HTTP method "get" for this action.'},
    )
    assert post_read.status_code == 404
    assert post_read.json() == {"error": 'Unsupported HTTP method "post" for this action.'}
    assert unknown.status_code == 404 and "get_everything" in unknown.json()["error"]
    assert (no_type.status_code, no_type.json()) == (
        400,
        {"error": "Content-Type header missing (use Content-Type: application/json)"},
    )
    assert bad_type.json() == {
        "error": "Content-Type header invalid (use Content-Type: application/json)"
    }
    assert (bad_json.status_code, bad_json.json()) == (
        400,
        {"error": "Invalid or incomplete JSON string in API request."},
    )


# ---------------------------------------------------------------------------------------------
# auth, API switch, rate limit, maintenance, faults


async def test_auth_failures_and_password_login(state600: TestRailState) -> None:
    app = create_app(state600, user=USER, api_key=KEY, password="pw")
    failed = {"error": "Authentication failed: invalid or missing user/password or session cookie."}
    async with client_for(app, auth=None) as c:
        missing = await c.get(API + "get_projects")
        garbage = await c.get(API + "get_projects", headers={"Authorization": "Basic !!!"})
    async with client_for(app, auth=(USER, "wrong")) as c:
        wrong = await c.get(API + "get_projects")
    async with client_for(app, auth=("QA@Example.com", "pw")) as c:
        by_password = await c.get(API + "get_current_user")
    for r in (missing, garbage, wrong):
        assert (r.status_code, r.json()) == (401, failed)
    assert by_password.status_code == 200
    assert by_password.json()["email"] == USER


async def test_api_disabled_is_403_with_testrail_text(state600: TestRailState) -> None:
    app = create_app(state600, user=USER, api_key=KEY, api_enabled=False)
    async with client_for(app) as c:
        r = await c.get(API + "get_projects")
    assert r.status_code == 403
    assert r.json() == {
        "error": "The API is disabled for your installation. It can be enabled in the "
        "administration area in TestRail under Administration > Site Settings > API."
    }


async def test_rate_limit_429_with_retry_after_and_recovery(state600: TestRailState) -> None:
    mono = FakeMonotonic()
    app = create_app(state600, user=USER, api_key=KEY, requests_per_minute=3, rate_clock=mono)
    async with client_for(app) as c:
        codes = []
        for step in (0, 1, 1):
            mono.now += step
            codes.append((await c.get(API + "get_projects")).status_code)
        mono.now += 4  # 6 s after the first request
        limited = await c.get(API + "get_projects")
        mono.now += 53  # still 1 s before the first request leaves the window
        still = await c.get(API + "get_projects")
        mono.now += 1
        again = await c.get(API + "get_projects")
    assert codes == [200, 200, 200]
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "54"
    assert limited.json() == {
        "error": "API Rate Limit Exceeded - 3 per minute maximum allowed. Retry after 54 seconds."
    }
    assert still.status_code == 429 and still.headers["Retry-After"] == "1"
    assert again.status_code == 200
    assert app.state.stats["429"] == 2


async def test_rate_limit_counts_all_users(state600: TestRailState) -> None:
    mono = FakeMonotonic()
    app = create_app(state600, user=USER, api_key=KEY, requests_per_minute=2, rate_clock=mono)
    async with client_for(app) as c, client_for(app, auth=("other@x.io", "nope")) as other:
        assert (await other.get(API + "get_projects")).status_code == 401
        assert (await c.get(API + "get_projects")).status_code == 200
        r = await c.get(API + "get_projects")
    assert r.status_code == 429
    assert r.headers["Retry-After"] == "60"


async def test_maintenance_and_deterministic_faults(state600: TestRailState) -> None:
    app = create_app(state600, user=USER, api_key=KEY, maintenance=True)
    async with client_for(app) as c:
        r = await c.get(API + "get_projects")
        app.state.options.maintenance = False
        ok = await c.get(API + "get_projects")
    assert r.status_code == 409 and r.headers["Retry-After"] == "60" and "error" in r.json()
    assert ok.status_code == 200

    async def pattern(seed: int) -> list[int]:
        faulty = create_app(state600, user=USER, api_key=KEY, error_rate=0.5, fault_seed=seed)
        async with client_for(faulty) as c:
            return [(await c.get(API + "get_project/1")).status_code for _ in range(20)]

    first, second = await pattern(3), await pattern(3)
    assert first == second
    assert set(first) == {200, 500}


# ---------------------------------------------------------------------------------------------
# pagination (§2.2, §2.5)


async def test_get_cases_pages_over_600_cases(state600: TestRailState) -> None:
    pages = []
    async with client_for(create_app(state600, user=USER, api_key=KEY)) as c:
        for offset in (0, 250, 500):
            r = await c.get(API + f"get_cases/1&suite_id=1&offset={offset}")
            pages.append(r.json())
        beyond = (await c.get(API + "get_cases/1&suite_id=1&offset=600")).json()
    first, second, third = pages
    assert [p["offset"] for p in pages] == [0, 250, 500]
    assert [p["limit"] for p in pages] == [250, 250, 250]
    assert [p["size"] for p in pages] == [250, 250, 100]
    assert first["_links"] == {
        "next": "/api/v2/get_cases/1&suite_id=1&limit=250&offset=250",
        "prev": None,
    }
    assert second["_links"] == {
        "next": "/api/v2/get_cases/1&suite_id=1&limit=250&offset=500",
        "prev": "/api/v2/get_cases/1&suite_id=1&limit=250&offset=0",
    }
    assert third["_links"] == {
        "next": None,
        "prev": "/api/v2/get_cases/1&suite_id=1&limit=250&offset=250",
    }
    ids = [case["id"] for page in pages for case in page["cases"]]
    assert len(ids) == len(set(ids)) == 600
    assert (beyond["size"], beyond["cases"], beyond["_links"]["next"]) == (0, [], None)
    assert set(first) == {"offset", "limit", "size", "_links", "cases"}


@pytest.mark.parametrize("query", ["limit=0", "limit=251", "limit=abc", "offset=-1"])
async def test_page_window_outside_range_is_400(state600: TestRailState, query: str) -> None:
    async with client_for(create_app(state600, user=USER, api_key=KEY)) as c:
        r = await c.get(API + f"get_cases/1&{query}")
    assert r.status_code == 400
    assert set(r.json()) == {"error"}


async def test_legacy_arrays_honour_limit_and_offset(state600: TestRailState) -> None:
    app = create_app(state600, user=USER, api_key=KEY, legacy_arrays=True)
    async with client_for(app) as c:
        everything = (await c.get(API + "get_cases/1")).json()
        window = (await c.get(API + "get_cases/1&limit=10&offset=595")).json()
        projects = (await c.get(API + "get_projects")).json()
    assert isinstance(everything, list) and len(everything) == 600
    assert [case["id"] for case in window] == [case["id"] for case in everything[595:]]
    assert isinstance(projects, list) and projects[0]["id"] == 1


async def test_next_link_limit_zero_switch_gives_trcli_s_400(state600: TestRailState) -> None:
    """§2.4/§11 item 2: a ``_links.next`` with ``limit=0`` answers 400 when followed literally;
    trcli's rewrite to ``limit=250`` walks on."""
    app = create_app(state600, user=USER, api_key=KEY, next_link_limit_zero=True)
    async with client_for(app) as c:
        first = (await c.get(API + "get_cases/1&suite_id=1&limit=100")).json()
        literal = await c.get("/index.php?" + first["_links"]["next"])
        ids = [case["id"] for case in first["cases"]]
        link = first["_links"]["next"]
        while link:
            page = (await c.get("/index.php?" + link.replace("limit=0", "limit=250"))).json()
            ids += [case["id"] for case in page["cases"]]
            link = page["_links"]["next"]
    assert first["_links"] == {
        "next": "/api/v2/get_cases/1&suite_id=1&limit=0&offset=100",
        "prev": None,
    }
    assert first["limit"] == 100 and first["size"] == 100
    assert (literal.status_code, literal.json()) == (
        400,
        {"error": "Field :limit must be between 1 and 250."},
    )
    assert page["_links"]["prev"] == "/api/v2/get_cases/1&suite_id=1&limit=250&offset=100"
    assert len(ids) == len(set(ids)) == 600


async def test_legacy_ignores_offset_switch_repeats_the_first_page(
    state600: TestRailState,
) -> None:
    """§2.4: an old server that ignores ``offset`` answers the first page again; the
    reference's loop ("stop if a page adds no new ids") ends instead of spinning."""
    app = create_app(state600, user=USER, api_key=KEY, legacy_ignores_offset=True)
    async with client_for(app) as c:
        first = (await c.get(API + "get_cases/1&limit=250&offset=0")).json()
        second = (await c.get(API + "get_cases/1&limit=250&offset=250")).json()
        everything = (await c.get(API + "get_cases/1")).json()
        seen: list[int] = []
        requests, offset = 0, 0
        while True:
            requests += 1
            page = (await c.get(API + f"get_cases/1&limit=250&offset={offset}")).json()
            new = [case["id"] for case in page if case["id"] not in seen]
            seen += new
            if len(page) < 250 or not new:
                break
            offset += 250
    assert isinstance(first, list) and len(first) == 250
    assert [case["id"] for case in second] == [case["id"] for case in first]
    assert isinstance(everything, list) and len(everything) == 600
    assert (requests, len(seen)) == (2, 250)


async def test_suites_bare_by_default_and_paged_in_931_profile(state600: TestRailState) -> None:
    async with client_for(create_app(state600, user=USER, api_key=KEY)) as c:
        bare = (await c.get(API + "get_suites/1")).json()
    async with client_for(create_app(state600, user=USER, api_key=KEY, suites_paged=True)) as c:
        paged = (await c.get(API + "get_suites/1")).json()
    assert isinstance(bare, list) and bare[0]["name"] == "Master"
    assert paged["suites"] == bare and paged["size"] == 1


async def test_metadata_endpoints_are_bare_arrays(state600: TestRailState) -> None:
    async with client_for(create_app(state600, user=USER, api_key=KEY)) as c:
        got = {m: (await c.get(API + m)).json() for m in (
            "get_case_fields", "get_case_types", "get_priorities", "get_statuses",
            "get_templates/1", "get_result_fields")}  # fmt: skip
    assert all(isinstance(v, list) for v in got.values())
    statuses = {s["id"]: s for s in got["get_statuses"]}
    assert sorted(statuses) == [1, 2, 3, 4, 5]
    assert statuses[3]["label"] == "Untested" and statuses[3]["is_untested"] is True
    assert [s["is_untested"] for s in statuses.values()].count(True) == 1
    assert [p["name"] for p in got["get_priorities"]] == ["Low", "Medium", "High", "Critical"]
    assert [t["name"] for t in got["get_templates/1"]] == [
        "Test Case (Text)",
        "Test Case (Steps)",
        "Exploratory Session",
    ]
    fields = {f["system_name"]: f for f in got["get_case_fields"]}
    assert fields["custom_preconds"]["template_ids"] == [1, 2]
    assert fields["custom_steps_separated"]["type_id"] == 10
    assert fields["custom_automation_type"]["configs"][0]["options"]["items"] == (
        "0, None\n1, Selenium\n2, Playwright\n3, Cypress"
    )
    assert fields["custom_automation_type"]["configs"][0]["context"] == {
        "is_global": False,
        "project_ids": [1],
    }


# ---------------------------------------------------------------------------------------------
# shapes against the recorded samples


async def test_row_keys_cover_the_recorded_samples(
    state600: TestRailState, testrail_samples: Path
) -> None:
    def sample(name: str) -> Any:
        return json.loads((testrail_samples / name).read_text(encoding="utf-8"))

    async with client_for(create_app(state600, user=USER, api_key=KEY)) as c:
        case = (await c.get(API + "get_case/1")).json()
        section = (await c.get(API + "get_sections/1")).json()["sections"][0]
        project = (await c.get(API + "get_project/1")).json()
        suite = (await c.get(API + "get_suite/1")).json()
        statuses = (await c.get(API + "get_statuses")).json()
        fields = (await c.get(API + "get_case_fields")).json()
    recorded_case = sample("mlbexport__get_cases_items_steps_separated.json")[0]
    system_keys = {k for k in recorded_case if not k.startswith("custom_")}
    assert system_keys <= set(case)
    assert {"is_deleted", "labels"} <= set(case) and case["is_deleted"] == 0
    assert set(section) == set(sample("retailmenot__get_sections_paged.json")["sections"][0])
    assert set(project) == set(sample("retailmenot__get_projects_paged.json")["projects"][0])
    assert set(suite) == set(sample("mlbexport__get_suite.json"))
    assert set(statuses[0]) == set(sample("dichovsky__live_statuses.json")[0])
    assert set(fields[0]) == set(sample("dichovsky__live_case_fields.json")[0])
    assert isinstance(case["created_on"], int) and case["created_on"] <= START


async def test_sections_preorder_depth_and_display_order(state600: TestRailState) -> None:
    async with client_for(create_app(state600, user=USER, api_key=KEY)) as c:
        rows = (await c.get(API + "get_sections/1")).json()["sections"]
    assert [s["display_order"] for s in rows] == list(range(1, len(rows) + 1))
    seen: dict[int, int] = {}
    for sec in rows:
        if sec["parent_id"] is None:
            assert sec["depth"] == 0
        else:
            assert sec["parent_id"] in seen  # parent before child
            assert sec["depth"] == seen[sec["parent_id"]] + 1
        seen[sec["id"]] = sec["depth"]
    assert max(seen.values()) == 3  # module > feature > group > platform


# ---------------------------------------------------------------------------------------------
# 400 texts


async def test_missing_entities_are_400_with_testrail_texts(state600: TestRailState) -> None:
    cases = {
        "get_case/999999": "Field :case_id is not a valid test case.",
        "get_project/999": "Field :project_id is not a valid or accessible project.",
        "get_section/999999": "Field :section_id is not a valid section.",
        "get_suite/999": "Field :suite_id is not a valid test suite.",
        "get_cases/999": "Field :project_id is not a valid or accessible project.",
        "get_cases/1&suite_id=999": "Field :suite_id is not a valid test suite.",
        "get_run/5": "Field :run_id is not a valid test run.",
    }
    async with client_for(create_app(state600, user=USER, api_key=KEY)) as c:
        for path, text in cases.items():
            r = await c.get(API + path)
            assert (r.status_code, r.json()) == (400, {"error": text}), path


async def test_write_validation_texts(state600: TestRailState) -> None:
    async with client_for(create_app(state600, user=USER, api_key=KEY)) as c:
        no_title = await c.post(API + "add_case/1", json={"type_id": 1})
        blank_title = await c.post(API + "add_case/1", json={"title": "  "})
        bad_estimate = await c.post(API + "add_case/1", json={"title": "t", "estimate": "soon"})
        zero_estimate = await c.post(API + "add_case/1", json={"title": "t", "estimate": "0s"})
        bad_section = await c.post(API + "add_case/999999", json={"title": "t"})
        no_name = await c.post(API + "add_section/1", json={"description": "d"})
        bad_parent = await c.post(API + "add_section/1", json={"name": "n", "parent_id": 99999})
        bad_dropdown = await c.post(
            API + "add_case/1", json={"title": "t", "custom_automation_type": 42}
        )
        bad_update = await c.post(API + "update_case/999999", json={"title": "t"})
    assert no_title.json() == {"error": "Field :title is a required field."}
    assert blank_title.json() == {"error": "Field :title is a required field."}
    assert bad_estimate.status_code == 400
    assert bad_estimate.json() == {"error": "Field :estimate is not in a valid time span format."}
    assert zero_estimate.json() == bad_estimate.json()
    assert bad_section.json() == {"error": "Field :section_id is not a valid section."}
    assert no_name.json() == {"error": "Field :name is a required field."}
    assert bad_parent.json() == {"error": "Field :parent_id is not a valid section."}
    assert bad_dropdown.status_code == 400
    assert bad_dropdown.json()["error"].startswith("Field :custom_automation_type ")
    assert bad_update.json() == {"error": "Field :case_id is not a valid test case."}
    assert len(state600.cases) == 600  # nothing was created


# ---------------------------------------------------------------------------------------------
# suite mode 3 (§5.1)


async def test_suite_mode_3_requires_suite_id(clock: ManualClock) -> None:
    state = TestRailState(clock=clock)
    pid = generate(state, cases=60, seed=2, suite_mode=3)
    required = {"error": "Field :suite_id is a required field."}
    async with client_for(create_app(state, user=USER, api_key=KEY)) as c:
        cases = await c.get(API + f"get_cases/{pid}")
        sections = await c.get(API + f"get_sections/{pid}")
        add = await c.post(API + f"add_section/{pid}", json={"name": "New"})
        suites = (await c.get(API + f"get_suites/{pid}")).json()
        ok = await c.get(API + f"get_cases/{pid}&suite_id={suites[1]['id']}")
        added = await c.post(
            API + f"add_section/{pid}", json={"name": "New", "suite_id": suites[2]["id"]}
        )
    for r in (cases, sections, add):
        assert (r.status_code, r.json()) == (400, required)
    assert [s["name"] for s in suites] == ["Web App", "Mobile App", "Public API"]
    assert ok.status_code == 200 and ok.json()["size"] > 0
    assert {c["suite_id"] for c in ok.json()["cases"]} == {suites[1]["id"]}
    assert added.json()["suite_id"] == suites[2]["id"] and added.json()["depth"] == 0


async def test_suite_mode_2_add_suite_makes_baselines_and_mode_1_refuses(
    clock: ManualClock,
) -> None:
    """§5.2 "Baselines (suite_mode 2) are extra suites with is_baseline: true"; a mode-1
    project keeps its one suite."""
    state = TestRailState(clock=clock)
    async with client_for(create_app(state, user=USER, api_key=KEY)) as c:
        single = (await c.post(API + "add_project", json={"name": "One", "suite_mode": 1})).json()
        two = {"name": "Two", "suite_mode": 2}
        baselined = (await c.post(API + "add_project", json=two)).json()
        refused = await c.post(API + f"add_suite/{single['id']}", json={"name": "Second"})
        baseline = await c.post(
            API + f"add_suite/{baselined['id']}", json={"name": "R1", "description": "frozen"}
        )
        suites = (await c.get(API + f"get_suites/{baselined['id']}")).json()
        implied = await c.post(API + f"add_section/{baselined['id']}", json={"name": "Top"})
        in_baseline = await c.post(
            API + f"add_section/{baselined['id']}",
            json={"name": "Top", "suite_id": baseline.json()["id"]},
        )
    assert (refused.status_code, refused.json()) == (
        400,
        {"error": "The project is in single suite mode and already has a test suite."},
    )
    assert baseline.status_code == 200
    assert {k: baseline.json()[k] for k in ("name", "description", "is_master", "is_baseline")} == {
        "name": "R1", "description": "frozen", "is_master": False, "is_baseline": True,
    }  # fmt: skip
    assert [(s["name"], s["is_master"], s["is_baseline"]) for s in suites] == [
        ("Master", True, False),
        ("R1", False, True),
    ]
    assert implied.json()["suite_id"] == suites[0]["id"]  # mode 2 still implies the master
    assert in_baseline.json()["suite_id"] == baseline.json()["id"]


async def test_generate_suite_mode_2_copies_the_master_into_one_baseline(
    clock: ManualClock,
) -> None:
    """``generate(..., suite_mode=2)``: a master with the generated cases and one baseline
    holding a copy of them (same tree, titles and values; new ids)."""
    state = TestRailState(clock=clock)
    pid = generate(state, cases=40, seed=4, suite_mode=2)
    async with client_for(create_app(state, user=USER, api_key=KEY)) as c:
        suites = (await c.get(API + f"get_suites/{pid}")).json()
        master, baseline = suites
        implied = (await c.get(API + f"get_cases/{pid}")).json()["cases"]
        copied = (await c.get(API + f"get_cases/{pid}&suite_id={baseline['id']}")).json()["cases"]
        master_sections = (await c.get(API + f"get_sections/{pid}")).json()["sections"]
        baseline_sections = (
            await c.get(API + f"get_sections/{pid}&suite_id={baseline['id']}")
        ).json()["sections"]
        edited = await c.post(API + f"update_case/{copied[0]['id']}", json={"title": "Changed"})
        original = (await c.get(API + f"get_case/{implied[0]['id']}")).json()
    assert len(suites) == 2
    assert (master["name"], master["is_master"], master["is_baseline"]) == ("Master", True, False)
    assert (baseline["name"], baseline["is_master"], baseline["is_baseline"]) == (
        "Release 1.0 baseline", False, True,
    )  # fmt: skip
    assert len(implied) == len(copied) == 40
    assert {c["suite_id"] for c in implied} == {master["id"]}
    assert {c["suite_id"] for c in copied} == {baseline["id"]}
    assert not {c["id"] for c in implied} & {c["id"] for c in copied}

    def tree(sections: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        names = {s["id"]: s["name"] for s in sections}
        return [(s["name"], names.get(s["parent_id"]), s["depth"], s["display_order"])
                for s in sections]  # fmt: skip

    assert tree(baseline_sections) == tree(master_sections)
    assert not {s["id"] for s in master_sections} & {s["id"] for s in baseline_sections}
    moved = {"id", "section_id", "suite_id", "estimate_forecast"}
    for a, b in zip(implied, copied, strict=True):
        assert {k: v for k, v in a.items() if k not in moved} == {
            k: v for k, v in b.items() if k not in moved
        }
    assert edited.json()["title"] == "Changed" and original["title"] == implied[0]["title"]


def test_add_baseline_needs_suite_mode_2(clock: ManualClock) -> None:
    state = TestRailState(clock=clock)
    pid = generate(state, cases=5, seed=1, suite_mode=1)
    with pytest.raises(ApiError) as refused:
        add_baseline(state, pid)
    assert refused.value.status == 400
    assert refused.value.message == (
        "Field :project_id is not a project with baselines (suite mode 2)."
    )
    assert len(state.suites) == 1


async def test_single_suite_mode_implies_the_suite(state600: TestRailState) -> None:
    async with client_for(create_app(state600, user=USER, api_key=KEY)) as c:
        r = await c.post(API + "add_section/1", json={"name": "Top", "description": None})
    assert r.status_code == 200
    assert r.json()["suite_id"] == 1


# ---------------------------------------------------------------------------------------------
# case writes


async def test_add_and_update_case_with_server_clock(
    state600: TestRailState, clock: ManualClock
) -> None:
    app = create_app(state600, user=USER, api_key=KEY)
    steps = [{"content": "Öffne die Seite\nund warte", "expected": "Seite „geladen“ ✅"}]
    async with client_for(app) as c:
        parent = (await c.post(API + "add_section/1", json={"name": "Parent"})).json()
        child = (
            await c.post(API + "add_section/1", json={"name": "Kind", "parent_id": parent["id"]})
        ).json()
        clock.advance(10)
        created = (
            await c.post(
                API + f"add_case/{child['id']}",
                json={
                    "title": "Кириллица & 日本語",
                    "template_id": 2,
                    "type_id": 6,
                    "priority_id": 4,
                    "estimate": "90s",
                    "refs": "JIRA-1, JIRA-2",
                    "custom_steps_separated": steps,
                    "custom_preconds": "  leading and trailing  \n",
                    "custom_no_such_field": "ignored",
                    "created_on": 1,
                },
            )
        ).json()
        clock.advance(30)
        updated = (
            await c.post(
                API + f"update_case/{created['id']}",
                json={
                    "section_id": parent["id"],
                    "custom_steps_separated": [{"content": "only step"}],
                    "updated_on": 5,
                },
            )
        ).json()
        after = (await c.get(API + f"get_cases/1&updated_after={START + 39}")).json()
        history = (await c.get(API + f"get_history_for_case/{created['id']}")).json()
        direct = (await c.get(API + f"get_cases/1&section_id={parent['id']}")).json()
    user_id = app.state.testrail.find_user_by_email(USER)["id"]
    assert child["depth"] == 1 and child["parent_id"] == parent["id"]
    assert created["created_on"] == created["updated_on"] == START + 10
    assert created["created_by"] == user_id
    assert created["estimate"] == "1m 30s" and created["refs"] == "JIRA-1, JIRA-2"
    assert created["title"] == "Кириллица & 日本語"
    assert created["custom_preconds"] == "  leading and trailing  \n"
    # the stock Steps field enables only ``expected`` (has_additional/has_reference off)
    assert created["custom_steps_separated"] == [steps[0]]
    assert "custom_no_such_field" not in created
    assert created["custom_automation_type"] == 0  # the dropdown's default_value
    assert created["display_order"] == 1
    assert updated["updated_on"] == START + 40 and updated["created_on"] == START + 10
    assert updated["section_id"] == parent["id"]
    assert updated["custom_steps_separated"] == [{"content": "only step", "expected": None}]
    assert [case["id"] for case in after["cases"]] == [created["id"]]
    assert [case["id"] for case in direct["cases"]] == [created["id"]]
    fields = {ch["field"] for ch in history["history"][0]["changes"]}
    assert fields == {"section_id", "custom_steps_separated"}


async def test_required_custom_field_and_time_filters(
    state600: TestRailState, clock: ManualClock
) -> None:
    field = next(f for f in state600.case_fields.values() if f["name"] == "test_level")
    field["configs"][0]["options"]["is_required"] = True
    field["configs"][0]["options"]["default_value"] = ""
    async with client_for(create_app(state600, user=USER, api_key=KEY)) as c:
        missing = await c.post(API + "add_case/1", json={"title": "t"})
        ok = await c.post(API + "add_case/1", json={"title": "t", "custom_test_level": 2})
        created_before = (await c.get(API + f"get_cases/1&created_before={START}")).json()
    assert missing.json() == {"error": "Field :custom_test_level is a required field."}
    assert ok.status_code == 200 and ok.json()["custom_test_level"] == 2
    assert created_before["size"] == 250  # the 600 seeded cases all predate START


async def test_string_field_values_are_at_most_250_characters(state600: TestRailState) -> None:
    """§5.4 custom field table: type 1 String is "string (≤ 250 chars)"."""
    field = {
        "type": "String",
        "name": "build_id",
        "label": "Build",
        "include_all": True,
        "configs": [{"context": {"is_global": True}, "options": {"is_required": False}}],
    }
    too_long = {"error": "Field :custom_build_id is too long (250 characters maximum)."}
    async with client_for(create_app(state600, user=USER, api_key=KEY)) as c:
        assert (await c.post(API + "add_case_field", json=field)).status_code == 200
        fits = await c.post(API + "add_case/1", json={"title": "t", "custom_build_id": "ß" * 250})
        over = await c.post(API + "add_case/1", json={"title": "t", "custom_build_id": "x" * 251})
        update = await c.post(
            API + f"update_case/{fits.json()['id']}", json={"custom_build_id": "y" * 251}
        )
        after = (await c.get(API + f"get_case/{fits.json()['id']}")).json()
    assert fits.status_code == 200 and fits.json()["custom_build_id"] == "ß" * 250
    assert (over.status_code, over.json()) == (400, too_long)
    assert (update.status_code, update.json()) == (400, too_long)
    assert after["custom_build_id"] == "ß" * 250
    assert len(state600.cases) == 601


async def test_clearing_a_required_field_with_update_case_is_400(
    state600: TestRailState, clock: ManualClock
) -> None:
    """§1.4 ``Field :custom_xyz is a required field.``, as add_case answers it, also when
    update_case (or update_cases) sends null for a required field."""
    field = next(f for f in state600.case_fields.values() if f["name"] == "test_level")
    field["configs"][0]["options"]["is_required"] = True
    required = {"error": "Field :custom_test_level is a required field."}
    async with client_for(create_app(state600, user=USER, api_key=KEY)) as c:
        case = (
            await c.post(API + "add_case/1", json={"title": "t", "custom_test_level": 2})
        ).json()
        clock.advance(60)
        cleared = await c.post(API + f"update_case/{case['id']}", json={"custom_test_level": None})
        bulk = await c.post(
            API + "update_cases/1", json={"case_ids": [case["id"]], "custom_test_level": None}
        )
        unchanged = (await c.get(API + f"get_case/{case['id']}")).json()
        renamed = await c.post(API + f"update_case/{case['id']}", json={"title": "renamed"})
    for r in (cleared, bulk):
        assert (r.status_code, r.json()) == (400, required)
    assert unchanged["custom_test_level"] == 2 and unchanged["updated_on"] == START
    assert renamed.status_code == 200 and renamed.json()["custom_test_level"] == 2


async def test_session_authentication_disabled_switch_is_403(state600: TestRailState) -> None:
    app = create_app(state600, user=USER, api_key=KEY, session_auth_disabled=True)
    async with client_for(app) as c:
        r = await c.get(API + "get_projects")
        app.state.options.session_auth_disabled = False
        ok = await c.get(API + "get_projects")
    assert (r.status_code, r.json()) == (
        403,
        {
            "error": "Session authentication is disabled for the API. It can be enabled in the "
            "administration area in TestRail under Administration > Site Settings > API."
        },
    )
    assert ok.status_code == 200


async def test_max_body_bytes_answers_the_web_server_s_413_html(state600: TestRailState) -> None:
    """§1.4 413 row: a body over the web server's limit gets an HTML page, not JSON, and
    TestRail never sees it (nothing is stored)."""
    app = create_app(state600, user=USER, api_key=KEY, max_body_bytes=2000)
    async with client_for(app) as c:
        run = (await c.post(API + "add_run/1", json={"name": "r"})).json()
        rows = [{"case_id": i, "status_id": 1, "comment": "ok " * 10} for i in range(1, 41)]
        big = await c.post(API + f"add_results_for_cases/{run['id']}", json={"results": rows})
        small = await c.post(API + f"add_results_for_cases/{run['id']}", json={"results": rows[:5]})
        listing = await c.get(API + "get_cases/1")  # no body: never limited
    assert big.status_code == 413
    assert big.headers["content-type"].startswith("text/html")
    assert big.text.startswith("<html>") and "Request Entity Too Large" in big.text
    assert small.status_code == 200 and len(small.json()) == 5
    assert len(state600.results) == 5
    assert listing.status_code == 200


# ---------------------------------------------------------------------------------------------
# runs, results, attachments


async def test_run_results_all_or_nothing_and_attachments(state600: TestRailState) -> None:
    app = create_app(state600, user=USER, api_key=KEY)
    async with client_for(app) as c:
        run = (
            await c.post(
                API + "add_run/1",
                json={"name": "Nightly", "include_all": False, "case_ids": [1, 2, 3]},
            )
        ).json()
        tests = (await c.get(API + f"get_tests/{run['id']}")).json()
        untested = await c.post(
            API + f"add_results_for_cases/{run['id']}",
            json={"results": [{"case_id": 1, "status_id": 1}, {"case_id": 2, "status_id": 3}]},
        )
        outside = await c.post(
            API + f"add_results_for_cases/{run['id']}",
            json={"results": [{"case_id": 1, "status_id": 1}, {"case_id": 4, "status_id": 1}]},
        )
        ok = await c.post(
            API + f"add_results_for_cases/{run['id']}",
            json={
                "results": [
                    {"case_id": 1, "status_id": 1, "elapsed": "42s", "comment": "OK"},
                    {"case_id": 2, "status_id": 5, "defects": "WEB-17"},
                    {"case_id": 2, "comment": "note only"},
                ]
            },
        )
        run_after = (await c.get(API + f"get_run/{run['id']}")).json()
        upload = await c.post(
            API + f"add_attachment_to_result/{ok.json()[0]['id']}",
            files={"attachment": ("log.txt", b"line 1\r\nline 2\x00\xff", "text/plain")},
        )
        attachment_id = upload.json()["attachment_id"]
        blob = await c.get(API + f"get_attachment/{attachment_id}")
        results = (await c.get(API + f"get_results_for_run/{run['id']}")).json()
        closed = (await c.post(API + f"close_run/{run['id']}", json={})).json()
        late = await c.post(API + f"add_result/{tests['tests'][0]['id']}", json={"status_id": 1})
    assert tests["size"] == 3 and {t["status_id"] for t in tests["tests"]} == {3}
    assert untested.json() == {
        "error": "Field :results.status_id uses an invalid status (Untested)."
    }
    assert outside.json() == {"error": "No (active) test found for the run/case combination."}
    assert isinstance(ok.json(), list) and [r["status_id"] for r in ok.json()] == [1, 5, None]
    assert ok.json()[0]["elapsed"] == "42s"
    assert (run_after["passed_count"], run_after["failed_count"], run_after["untested_count"]) == (
        1,
        1,
        1,
    )
    assert blob.content == b"line 1\r\nline 2\x00\xff"
    assert blob.headers["content-type"].startswith("text/plain")
    assert len(results["results"]) == 3  # the rejected calls stored nothing
    assert results["results"][-1]["attachment_ids"] == [attachment_id]
    assert closed["is_completed"] is True and closed["completed_on"] == START
    assert late.status_code == 400


# ---------------------------------------------------------------------------------------------
# XML seeding of the real exports


EXPECTED_XML = {
    # prefix: (sections, cases, max depth (0 = root), first case title)
    "AndriiBrykailo2": (1, 12, 0, "Sign up with valid data"),
    "Fibibb": (2, 7, 0, "The user can add the product to the shopping cart"),
    "Nhiiron__BackBugs": (2, 12, 0, "Home page - upper left icon functionality"),
    "Nhiiron__Parabank": (5, 16, 0, "Login"),
    "Nhiiron__Swag": (4, 26, 0, "Login"),
    "klaros": (9, 12, 1, "Test case 1"),
    "testit-tms__migrators__example": (23, 235, 2, "Print document history and attributes"),
    "testit-tms__migrators__Тестовый": (50, 141, 4, "Подготовка тестовых данных"),
}


def test_every_real_export_loads_with_exact_counts(
    xml_files: list[Path], clock: ManualClock
) -> None:
    state = TestRailState(clock=clock)
    seen = set()
    for path in xml_files:
        (prefix,) = [p for p in EXPECTED_XML if path.name.startswith(p)]
        seen.add(prefix)
        n_sections, n_cases, depth, title = EXPECTED_XML[prefix]
        pid = from_xml(state, path)
        (suite,) = [s for s in state.suites.values() if s["project_id"] == pid]
        sections = render_sections(state, suite["id"])
        cases = [c for c in state.cases.values() if c["suite_id"] == suite["id"]]
        assert len(sections) == n_sections, path.name
        assert len(cases) == n_cases, path.name
        assert max(s["depth"] for s in sections) == depth, path.name
        first = min(cases, key=lambda c: c["id"])
        assert first["title"] == title, path.name
        assert state.projects[pid]["name"] == path.stem
        assert state.projects[pid]["suite_mode"] == 1
    assert seen == set(EXPECTED_XML)


def _load(real_exports: Path, prefix: str) -> tuple[TestRailState, list[dict[str, Any]]]:
    state = TestRailState(clock=ManualClock(START))
    from_xml(state, xml(real_exports, prefix))
    return state, [render_case(state, c) for c in state.cases.values()]


def test_petstore_text_template_survives_exactly(real_exports: Path) -> None:
    state, cases = _load(real_exports, "AndriiBrykailo2")
    by_title = {c["title"]: c for c in cases}
    sign_in = by_title["Sign in with valid data"]
    assert sign_in["template_id"] == 1
    assert sign_in["custom_preconds"] == "User is signed up"
    assert sign_in["custom_steps"] == (
        "1. Open https://petstore.octoperf.com/actions/Catalog.action\n"
        "2. Click [Sign In]\n"
        '3. Fill in "Username" field with data : user222\n'
        '4. Fill in "Password" field with data : PASSWORD_REDACTED\n'
        "5. Click [Login]"
    )
    assert sign_in["custom_expected"] == "User signed in "  # trailing space kept
    assert sign_in["refs"] is None and sign_in["estimate"] is None
    assert sum(1 for c in cases if c["custom_automation_type"] == 0) == 5
    assert sum(1 for c in cases if c["custom_automation_type"] is None) == 7
    assert any("user's card" in (c["custom_expected"] or "") for c in cases)  # &apos;
    assert any("addItemToCart=&workingItemId=EST-1" in (c["custom_steps"] or "") for c in cases)
    assert state.suites[1]["name"] == "Master"


def test_parabank_steps_keep_content_and_expected(real_exports: Path) -> None:
    _, cases = _load(real_exports, "Nhiiron__Parabank")
    login = cases[0]
    assert login["template_id"] == 2
    assert login["custom_preconds"] == "User is registered"
    assert login["custom_steps_separated"] == [
        {
            "content": "User provides correct username and password",
            "expected": "Input field is filled with users password and username",
        },
        {
            "content": 'User press "login" button',
            "expected": "User is logged in and redirected to accounts overview",
        },
    ]
    steps = sum(len(c["custom_steps_separated"] or []) for c in cases)
    assert steps == 29


def test_swag_labs_multiline_expected_and_quoted_section(real_exports: Path) -> None:
    state, cases = _load(real_exports, "Nhiiron__Swag")
    assert cases[0]["custom_steps_separated"][1]["expected"] == (
        '1. User is logged in\n2. User is redirected to the "products" page'
    )
    names = [s["name"] for s in render_sections(state, 1)]
    assert names == ["Login", "Cart functonality", "Checkout", '"Products" page']


def test_klaros_duplicate_ids_become_distinct_cases(real_exports: Path) -> None:
    state, cases = _load(real_exports, "klaros")
    origin = state.import_ids
    assert len(cases) == 12 and len({c["id"] for c in cases}) == 12
    dupes = [cid for cid, text in origin.items() if text == "C2221114"]
    assert sorted(state.cases[c]["title"] for c in dupes) == [
        "Test case 1",
        "Test case 2",
        "Test case 8",
    ]
    assert len(set(origin.values())) == 8  # 12 cases carry only 8 distinct ids in the file
    # no <template>: steps_separated picks "Test Case (Steps)"
    assert {c["template_id"] for c in cases} == {2}
    logger = next(c for c in cases if c["title"] == "GUI Logger")
    assert logger["custom_steps_separated"][0] == {
        "content": "Set 1234\n1234\n1234",
        "expected": None,
    }
    assert logger["custom_steps_separated"][1]["expected"].startswith("123\n1234&1234\n1234")
    types = {t["name"] for t in state.case_types.values()}
    assert {"Functionality", "Automation Candidate"} <= types
    assert sum(len(c["custom_steps_separated"]) for c in cases) == 30


def test_testit_sample_estimates_refs_and_exploratory(real_exports: Path) -> None:
    state, cases = _load(real_exports, "testit-tms__migrators__example")
    by_origin = {state.import_ids[c["id"]]: c for c in cases}
    assert len(by_origin) == 235  # ids do not repeat here; titles do (31 distinct)
    assert by_origin["C2"]["title"] == "Change page color and verify print output"
    assert by_origin["C2"]["estimate"] == "14m"
    (explore,) = [c for c in cases if c["title"] == "explore"]
    assert explore["estimate"] == format_timespan(739980) == "1w 1d 13h 33m"
    assert explore["template_id"] == 3
    assert explore["custom_mission"].endswith(
        "  ![](index.php?/attachments/get/f26f987a-f544-4d48-bd78-65631273b927) "
    )
    assert explore["custom_goals"].startswith("https://jira.testit.ru/browse/TES-28215")
    assert sum(1 for c in cases if c["refs"]) == 83
    assert any(c["refs"] == "DH-10, DH-29" for c in cases)
    assert sum(1 for c in cases if c["estimate"]) == 149
    types = {state.case_types[c["type_id"]]["name"] for c in cases}
    assert "Smoke & Sanity" in types and len(types) == 12
    first = cases[0]
    # the third-party re-indent adds leading whitespace; it is data and must survive
    assert first["custom_preconds"].startswith("\n                            Lorem ipsum")


def test_bvt_cyrillic_nesting_dropdowns_and_strings(real_exports: Path) -> None:
    state, cases = _load(real_exports, "testit-tms__migrators__Тестовый")
    suite = state.suites[1]
    assert suite["name"] == "Тестовый набор для BVT-тестирования/10.0.0"
    sections = render_sections(state, 1)
    assert max(s["depth"] for s in sections) == 4  # five levels
    deepest = max(sections, key=lambda s: s["depth"])
    chain = [deepest]
    while chain[-1]["parent_id"] is not None:
        chain.append(next(s for s in sections if s["id"] == chain[-1]["parent_id"]))
    assert len(chain) == 5
    fields = {f["name"]: f for f in state.case_fields.values()}
    status_items = fields["statuscase"]["configs"][0]["options"]["items"]
    assert status_items == "1, Утверждён\n2, Черновик"
    assert fields["statuscase"]["type_id"] == 6
    assert fields["id_autotest"]["type_id"] == 1
    assert fields["comment"]["type_id"] == 3 and fields["comment"]["include_all"] is True
    first = cases[0]
    assert first["title"] == "Подготовка тестовых данных"
    assert first["custom_statuscase"] == 2 and first["custom_sign"] == 1
    assert first["custom_id_autotest"] == "0"
    steps = first["custom_steps_separated"]
    assert [s["expected"] for s in steps] == [None, None]
    assert steps[1]["content"].startswith("Записать на прием к врачу пациентов по направлению.")
    with_steps = [c for c in cases if c["custom_steps_separated"]]
    assert len(with_steps) == 2
    assert sum(len(c["custom_steps_separated"]) for c in with_steps) == 6


def test_entities_are_decoded_once_and_other_roots(tmp_path: Path) -> None:
    path = tmp_path / "import.xml"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        "<sections><section><name>A &amp;lt; B</name><description></description><cases>"
        "<case><id>C1</id><title>x &amp;amp; y</title><type>Exotic</type>"
        "<priority>P0 - Blocker</priority><estimate>3665</estimate>"
        "<custom><mission>Look\n\n  around </mission></custom></case>"
        "<case><id>C1</id><title>custom template</title><template>functional area</template>"
        "<type>Other</type><priority>Low</priority></case>"
        "</cases></section></sections>",
        encoding="utf-8",
    )
    state = TestRailState(clock=ManualClock(START))
    pid = from_xml(state, path, project_name="Imported")
    cases = [render_case(state, c) for c in state.cases.values()]
    assert state.projects[pid]["name"] == "Imported"
    assert state.sections[1]["name"] == "A &lt; B"
    assert cases[0]["title"] == "x &amp; y"
    assert cases[0]["custom_mission"] == "Look\n\n  around "
    assert cases[0]["template_id"] == 3 and cases[0]["estimate"] == "1h 1m 5s"
    assert state.case_types[cases[0]["type_id"]]["name"] == "Exotic"
    blocker = state.priorities[cases[0]["priority_id"]]
    assert blocker["name"] == "P0 - Blocker" and blocker["priority"] == 5
    custom = state.templates[cases[1]["template_id"]]
    assert custom["name"] == "functional area" and custom["is_default"] is False


# ---------------------------------------------------------------------------------------------
# generated data, build, timespans


def test_generate_is_deterministic_and_realistic(clock: ManualClock) -> None:
    def titles(seed: int) -> list[tuple[str, Any]]:
        state = TestRailState(clock=ManualClock(START))
        generate(state, cases=520, seed=seed)
        return [
            (c["title"], c["custom"].get("custom_steps_separated")) for c in state.cases.values()
        ]

    assert titles(5) == titles(5)
    assert titles(5) != titles(6)
    state = TestRailState(clock=clock)
    generate(state, cases=520, seed=5)
    cases = list(state.cases.values())
    assert len(cases) == 520
    assert {c["template_id"] for c in cases} == {1, 2, 3}
    text = json.dumps([render_case(state, c) for c in cases], ensure_ascii=False)
    for needle in ("Größe", "Пользователь", "テスト", "✅", "JIRA-", "\\n"):
        assert needle in text, needle
    assert {state.priorities[c["priority_id"]]["name"] for c in cases} == {
        "Critical", "High", "Medium", "Low"}  # fmt: skip
    assert all(c["created_on"] <= c["updated_on"] <= START for c in cases)


async def test_build_from_xml_only(real_exports: Path) -> None:
    app = build(USER, KEY, from_xml=xml(real_exports, "Fibibb"))
    async with client_for(app) as c:
        projects = (await c.get(API + "get_projects")).json()["projects"]
        cases = (await c.get(API + "get_cases/1")).json()
    assert [p["name"] for p in projects] == ["Fibibb__Shopping-Cart__shopping_cart"]
    assert cases["size"] == 7
    author = app.state.testrail.find_user_by_email(USER)["id"]
    assert {c["created_by"] for c in cases["cases"]} == {author}


def test_build_defaults_to_a_generated_demo() -> None:
    app = build(USER, KEY, rpm=180)
    state = app.state.testrail
    assert len(state.cases) == 600
    assert app.state.options.requests_per_minute == 180


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("1m 30s", 90), ("1m30s", 90), ("2h 30m", 9000), ("1d", 86400), ("1w", 604800)],
)
def test_timespans(text: str, seconds: int) -> None:
    assert parse_timespan(text) == seconds
    assert parse_timespan(format_timespan(seconds) or "") == seconds


@pytest.mark.parametrize("text", ["", "0s", "5", "1x", "m", "1.5h"])
def test_invalid_timespans(text: str) -> None:
    with pytest.raises(ValueError):
        parse_timespan(text)


# ---------------------------------------------------------------------------------------------
# real HTTP


@pytest.fixture
def served(state600: TestRailState) -> Iterator[str]:
    with start_in_thread(create_app(state600, user=USER, api_key=KEY)) as server:
        yield server.url


def test_real_http_round_trip(served: str, state600: TestRailState) -> None:
    token = base64.b64encode(f"{USER}:{KEY}".encode()).decode()
    headers = {"Authorization": f"Basic {token}"}
    with httpx.Client(base_url=served, headers=headers, timeout=10) as c:
        created = c.post(
            "/index.php?/api/v2/add_case/1",
            json={"title": "Über HTTP", "custom_preconds": "line 1\r\nline 2"},
        )
        page = c.get("/index.php?/api/v2/get_cases/1&suite_id=1&limit=250&offset=500")
        again = c.get(f"/index.php?/api/v2/get_case/{created.json()['id']}")
        unauthorized = httpx.get(served + "/index.php?/api/v2/get_projects")
    assert created.status_code == 200
    case_id = created.json()["id"]
    assert state600.cases[case_id]["custom"]["custom_preconds"] == "line 1\r\nline 2"
    assert page.json()["size"] == 101
    assert again.json()["title"] == "Über HTTP"
    assert again.json()["custom_preconds"] == "line 1\r\nline 2"
    assert unauthorized.status_code == 401


# ---------------------------------------------------------------------------------------------
# secondary endpoints: plans, configs, shared steps, milestones, users, bulk case writes


async def test_plan_with_configuration_runs(state600: TestRailState) -> None:
    async with client_for(create_app(state600, user=USER, api_key=KEY)) as c:
        group = (await c.post(API + "add_config_group/1", json={"name": "Browsers"})).json()
        chrome = (await c.post(API + f"add_config/{group['id']}", json={"name": "Chrome"})).json()
        firefox = (await c.post(API + f"add_config/{group['id']}", json={"name": "Firefox"})).json()
        plan = (
            await c.post(
                API + "add_plan/1",
                json={
                    "name": "Release 2.0 regression",
                    "entries": [
                        {
                            "suite_id": 1,
                            "include_all": False,
                            "case_ids": [1, 2, 3],
                            "config_ids": [chrome["id"], firefox["id"]],
                            "runs": [
                                {
                                    "config_ids": [chrome["id"]],
                                    "include_all": False,
                                    "case_ids": [1, 2],
                                },
                                {"config_ids": [firefox["id"]]},
                            ],
                        }
                    ],
                },
            )
        ).json()
        bad = await c.post(
            API + "add_plan/1",
            json={"name": "x", "entries": [{"suite_id": 1, "config_ids": [999]}]},
        )
        configs = (await c.get(API + "get_configs/1")).json()
        runs = (await c.get(API + "get_runs/1")).json()
        plans = (await c.get(API + "get_plans/1")).json()
        closed = (await c.post(API + f"close_plan/{plan['id']}", json={})).json()
    (entry,) = plan["entries"]
    assert isinstance(entry["id"], str) and len(entry["id"]) == 36
    assert [r["config"] for r in entry["runs"]] == ["Chrome", "Firefox"]
    assert [r["untested_count"] for r in entry["runs"]] == [2, 3]
    assert {r["entry_id"] for r in entry["runs"]} == {entry["id"]}
    assert plan["untested_count"] == 5
    assert bad.json() == {"error": "Field :config_ids is not a valid configuration."}
    assert len(state600.plans) == 1  # the rejected plan left nothing behind
    assert configs == [
        {"id": group["id"], "name": "Browsers", "project_id": 1,
         "configs": [chrome, firefox]},
    ]  # fmt: skip
    assert runs["size"] == 0  # plan runs are not listed by get_runs
    assert "entries" not in plans["plans"][0]
    assert all(r["is_completed"] for r in closed["entries"][0]["runs"])


async def test_update_plan_entry_and_run_in_plan_entry(state600: TestRailState) -> None:
    """§5.12: ``update_plan_entry`` (GUID entry id in the path) renames the entry's runs and
    replaces their case selection, retained tests keeping their results; the per-configuration
    ``update_run_in_plan_entry`` changes one run; both refuse what is not theirs."""
    async with client_for(create_app(state600, user=USER, api_key=KEY)) as c:
        group = (await c.post(API + "add_config_group/1", json={"name": "OS"})).json()
        linux = (await c.post(API + f"add_config/{group['id']}", json={"name": "Linux"})).json()
        plan = (
            await c.post(
                API + "add_plan/1",
                json={
                    "name": "R",
                    "entries": [{"suite_id": 1, "include_all": False, "case_ids": [1, 2]}],
                },
            )
        ).json()
        (entry,) = plan["entries"]
        run_id = entry["runs"][0]["id"]
        await c.post(API + f"add_result_for_case/{run_id}/1", json={"status_id": 1})
        updated = await c.post(
            API + f"update_plan_entry/{plan['id']}/{entry['id']}",
            json={"name": "Renamed", "case_ids": [1, 3], "suite_id": 1, "refs": "REL-1"},
        )
        wrong_entry = await c.post(API + f"update_plan_entry/{plan['id']}/not-an-entry", json={})
        config_entry = (
            await c.post(
                API + f"add_plan_entry/{plan['id']}",
                json={
                    "suite_id": 1,
                    "config_ids": [linux["id"]],
                    "runs": [{"config_ids": [linux["id"]]}],
                },
            )
        ).json()
        config_run = config_entry["runs"][0]["id"]
        one_run = await c.post(
            API + f"update_run_in_plan_entry/{config_run}",
            json={"include_all": False, "case_ids": [5], "description": "only five"},
        )
        plain = (await c.post(API + "add_run/1", json={"name": "solo"})).json()
        not_in_plan = await c.post(API + f"update_run_in_plan_entry/{plain['id']}", json={})
        tests = (await c.get(API + f"get_tests/{run_id}")).json()["tests"]
    body = updated.json()
    assert updated.status_code == 200 and body["id"] == entry["id"] and body["name"] == "Renamed"
    assert [r["name"] for r in body["runs"]] == ["Renamed"] and body["runs"][0]["refs"] == "REL-1"
    assert {t["case_id"]: t["status_id"] for t in tests} == {1: 1, 3: 3}  # case 1 kept its pass
    assert wrong_entry.status_code == 400
    assert wrong_entry.json() == {"error": "Field :entry_id is not a valid test plan entry."}
    assert one_run.json()["untested_count"] == 1 and one_run.json()["description"] == "only five"
    assert not_in_plan.status_code == 400


async def test_shared_steps_expand_and_propagate(state600: TestRailState) -> None:
    async with client_for(create_app(state600, user=USER, api_key=KEY)) as c:
        shared = (
            await c.post(
                API + "add_shared_step/1",
                json={
                    "title": "Log in as admin",
                    "custom_steps_separated": [{"content": "Open /login", "expected": "Form"}],
                },
            )
        ).json()
        case = (
            await c.post(
                API + "add_case/1",
                json={
                    "title": "Uses a shared step",
                    "template_id": 2,
                    "custom_steps_separated": [
                        {"shared_step_id": shared["id"]},
                        {"content": "Own step", "expected": "Done"},
                    ],
                },
            )
        ).json()
        await c.post(
            API + f"update_shared_step/{shared['id']}",
            json={"custom_steps_separated": [{"content": "Open /signin"}, {"content": "Submit"}]},
        )
        after = (await c.get(API + f"get_case/{case['id']}")).json()
        listed = (await c.get(API + f"get_shared_step/{shared['id']}")).json()
        history = (await c.get(API + f"get_shared_step_history/{shared['id']}")).json()
    assert case["custom_steps_separated"][0] == {
        "content": "Open /login", "expected": "Form", "shared_step_id": shared["id"],
    }  # fmt: skip
    assert [s["content"] for s in after["custom_steps_separated"]] == [
        "Open /signin",
        "Submit",
        "Own step",
    ]
    assert listed["case_ids"] == [case["id"]]
    assert isinstance(history, list) and history[0]["title"] == "Log in as admin"


async def test_milestones_users_and_cross_project_checks(state600: TestRailState) -> None:
    async with client_for(create_app(state600, user=USER, api_key=KEY)) as c:
        other = (await c.post(API + "add_project", json={"name": "Other", "suite_mode": 3})).json()
        foreign = (await c.post(API + f"add_milestone/{other['id']}", json={"name": "M"})).json()
        parent = (await c.post(API + "add_milestone/1", json={"name": "2.0"})).json()
        child = (
            await c.post(API + "add_milestone/1", json={"name": "2.0.1", "parent_id": parent["id"]})
        ).json()
        wrong = await c.post(API + "add_case/1", json={"title": "t", "milestone_id": foreign["id"]})
        got = (await c.get(API + f"get_milestone/{parent['id']}")).json()
        users = (await c.get(API + "get_users")).json()
        by_mail = (await c.get(API + "get_user_by_email&email=" + USER.replace("@", "%40"))).json()
        no_user = await c.get(API + "get_user/999")
        suites = (await c.get(API + f"get_suites/{other['id']}")).json()
    assert other["suite_mode"] == 3 and suites == []
    assert wrong.json() == {"error": "Field :milestone_id is not a valid milestone."}
    assert [m["id"] for m in got["milestones"]] == [child["id"]]
    assert child["parent_id"] == parent["id"]
    assert USER in {u["email"] for u in users} and by_mail["email"] == USER
    assert no_user.json() == {"error": "Field :user_id is not a valid user."}


async def test_bulk_case_writes_moves_and_deletes(
    state600: TestRailState, clock: ManualClock
) -> None:
    async with client_for(create_app(state600, user=USER, api_key=KEY)) as c:
        partial = await c.post(
            API + "add_cases/1", json={"cases": [{"title": "ok"}, {"priority_id": 1}]}
        )
        bare = await c.post(API + "add_cases/1", json=[{"title": "a"}])
        added = (
            await c.post(API + "add_cases/1", json={"cases": [{"title": "a"}, {"title": "b"}]})
        ).json()
        ids = [case["id"] for case in added["cases"]]
        clock.advance(5)
        updated = (
            await c.post(API + "update_cases/1", json={"case_ids": ids, "priority_id": 4})
        ).json()
        run = (
            await c.post(
                API + "add_run/1", json={"name": "r", "case_ids": ids, "include_all": False}
            )
        ).json()
        soft = (await c.post(API + f"delete_case/{ids[0]}&soft=1", json={})).json()
        still = await c.get(API + f"get_case/{ids[0]}")
        hard = await c.post(API + f"delete_case/{ids[0]}", json={})
        gone = await c.get(API + f"get_case/{ids[0]}")
        tests = (await c.get(API + f"get_tests/{run['id']}")).json()
        moved = await c.post(API + "move_cases_to_section/2", json={"case_ids": [ids[1]]})
        section = (await c.get(API + "get_section/3")).json()
        move = await c.post(API + "move_section/3", json={"parent_id": None, "after_id": 1})
        sections = (await c.get(API + "get_sections/1")).json()["sections"]
    assert partial.json() == {"error": "Field :title is a required field."}
    assert bare.json() == {"error": "Field :cases is a required field."}
    assert len(state600.cases) == 601  # 600 + the valid batch of 2 - 1 hard-deleted
    assert [c["priority_id"] for c in updated["updated_cases"]] == [4, 4]
    assert {c["updated_on"] for c in updated["updated_cases"]} == {START + 5}
    assert soft == {"affected_tests": 1} and still.status_code == 200
    assert (hard.status_code, hard.content) == (200, b"")
    assert gone.json() == {"error": "Field :case_id is not a valid test case."}
    assert [t["case_id"] for t in tests["tests"]] == [ids[1]]
    assert moved.status_code == 200 and state600.cases[ids[1]]["section_id"] == 2
    assert section["depth"] == 2 and move.json()["depth"] == 0
    roots = [s["id"] for s in sections if s["parent_id"] is None]
    assert roots[:2] == [1, 3]


async def test_estimate_forecast_follows_elapsed_results(state600: TestRailState) -> None:
    async with client_for(create_app(state600, user=USER, api_key=KEY)) as c:
        run = (await c.post(API + "add_run/1", json={"name": "r"})).json()
        await c.post(
            API + f"add_results_for_cases/{run['id']}",
            json={"results": [{"case_id": 1, "status_id": 1, "elapsed": "1m"},
                              {"case_id": 1, "status_id": 1, "elapsed": "2m"}]},
        )  # fmt: skip
        bad = await c.post(
            API + f"add_result_for_case/{run['id']}/1", json={"status_id": 1, "elapsed": "0s"}
        )
        case = (await c.get(API + "get_case/1")).json()
        test = (await c.get(API + f"get_tests/{run['id']}&status_id=1")).json()
    assert run["untested_count"] == 600
    assert case["estimate_forecast"] == "1m 30s"
    assert bad.json() == {"error": "Field :elapsed is not in a valid time span format."}
    assert [t["case_id"] for t in test["tests"]] == [1]


async def test_add_case_field_echo_refusals_and_use(state600: TestRailState) -> None:
    """``add_case_field`` (§5.6): numeric types only as strings, the quirky echo (configs as a
    JSON string, 0/1 flags), then the field is listed and its values accepted on project 1."""
    async with client_for(create_app(state600, user=USER, api_key=KEY)) as c:
        body = {
            "type": "Dropdown",
            "name": "browser",
            "label": "Browser",
            "include_all": True,
            "configs": [
                {
                    "context": {"is_global": False, "project_ids": [1]},
                    "options": {
                        "is_required": False,
                        "default_value": "1",
                        "items": "1, Chrome\n2, Firefox",
                    },
                }
            ],
        }
        bare_number = await c.post(API + "add_case_field", json={**body, "type": 6})
        no_configs = await c.post(API + "add_case_field", json={**body, "configs": []})
        no_items = await c.post(
            API + "add_case_field",
            json={**body, "configs": [{"context": {"is_global": True}, "options": {}}]},
        )
        unknown_project = await c.post(
            API + "add_case_field",
            json={
                **body,
                "configs": [
                    {"context": {"project_ids": [99]}, "options": body["configs"][0]["options"]}
                ],
            },
        )
        echo = (await c.post(API + "add_case_field", json={**body, "type": "6"})).json()
        again = await c.post(API + "add_case_field", json=body)
        listed = [
            f for f in (await c.get(API + "get_case_fields")).json() if f["name"] == "browser"
        ]
        section = (await c.get(API + "get_sections/1")).json()["sections"][0]
        case = (
            await c.post(
                API + f"add_case/{section['id']}", json={"title": "t", "custom_browser": 2}
            )
        ).json()
        roles = (await c.get(API + "get_roles")).json()
    assert bare_number.status_code == 400 and no_configs.status_code == 400
    assert no_configs.json() == {"error": "Field :configs is a required field."}
    assert no_items.json() == {"error": "Field :configs.options.items is a required field."}
    assert unknown_project.json() == {
        "error": "Field :configs.context.project_ids is not a valid or accessible project."
    }
    assert isinstance(echo["configs"], str) and json.loads(echo["configs"])[0]["context"] == {
        "is_global": False,
        "project_ids": [1],
    }
    assert (echo["system_name"], echo["type_id"], echo["include_all"], echo["is_multi"]) == (
        "custom_browser", 6, 1, 0,
    )  # fmt: skip
    assert again.json() == {"error": "Field :name is already in use."}
    (field,) = listed
    assert field["configs"][0]["options"]["items"] == "1, Chrome\n2, Firefox"
    assert field["i18n_custom_id"] is None and field["is_active"] is True
    assert case["custom_browser"] == 2
    assert set(roles) == {"offset", "limit", "size", "_links", "roles"}
    assert [r["id"] for r in roles["roles"] if r["is_default"]] == [3]


# ---------------------------------------------------------------------------------------------
# the rest of the README's fidelity table, endpoint by endpoint (each with exact values)

EMPTY_200 = (200, b"")


async def _case(c: httpx.AsyncClient, section_id: int, title: str) -> int:
    r = await c.post(API + f"add_case/{section_id}", json={"title": title})
    assert r.status_code == 200, r.text
    return int(r.json()["id"])


async def test_update_section_and_delete_section_soft_and_hard(state600: TestRailState) -> None:
    """§5.3 ``update_section`` {name, description}; §9 ``delete_section`` ``soft=1`` counts
    without deleting, a hard delete takes sub-sections, cases and their tests in active runs
    (closed runs keep theirs) and answers an empty 200 (§1.3)."""
    async with client_for(create_app(state600, user=USER, api_key=KEY)) as c:
        top = (await c.post(API + "add_section/1", json={"name": "Top"})).json()
        kid = await c.post(API + "add_section/1", json={"name": "Kid", "parent_id": top["id"]})
        kid_id = kid.json()["id"]
        leaf = await c.post(API + "add_section/1", json={"name": "Leaf", "parent_id": kid_id})
        other = (await c.post(API + "add_section/1", json={"name": "Other"})).json()
        cases = [await _case(c, top["id"], "a"), await _case(c, top["id"], "b"),
                 await _case(c, kid_id, "c"), await _case(c, leaf.json()["id"], "d")]  # fmt: skip
        keep = await _case(c, other["id"], "e")
        selection = {"include_all": False, "case_ids": [*cases, keep]}
        active = (await c.post(API + "add_run/1", json={"name": "active", **selection})).json()
        selection = {"include_all": False, "case_ids": [cases[2]]}
        closed = (await c.post(API + "add_run/1", json={"name": "closed", **selection})).json()
        await c.post(API + f"close_run/{closed['id']}", json={})
        renamed = await c.post(
            API + f"update_section/{top['id']}", json={"name": "Checkout", "description": "All"}
        )
        blank = await c.post(API + f"update_section/{top['id']}", json={"name": " "})
        soft = await c.post(API + f"delete_section/{top['id']}&soft=1", json={})
        still = await c.get(API + f"get_section/{leaf.json()['id']}")
        hard = await c.post(API + f"delete_section/{top['id']}", json={})
        gone = [await c.get(API + f"get_section/{sid}") for sid in (top["id"], kid_id)]
        case_gone = await c.get(API + f"get_case/{cases[3]}")
        active_tests = (await c.get(API + f"get_tests/{active['id']}")).json()["tests"]
        closed_tests = (await c.get(API + f"get_tests/{closed['id']}")).json()["tests"]
        again = await c.post(API + f"delete_section/{top['id']}", json={})
    assert renamed.status_code == 200
    assert {k: renamed.json()[k] for k in ("id", "name", "description", "parent_id", "depth")} == {
        "id": top["id"], "name": "Checkout", "description": "All", "parent_id": None, "depth": 0,
    }  # fmt: skip
    assert blank.json() == {"error": "Field :name is a required field."}
    assert soft.json() == {"affected_sections": 3, "affected_cases": 4, "affected_tests": 4}
    assert still.status_code == 200
    assert (hard.status_code, hard.content) == EMPTY_200
    for r in (*gone, again):
        assert (r.status_code, r.json()) == (
            400,
            {"error": "Field :section_id is not a valid section."},
        )
    assert case_gone.json() == {"error": "Field :case_id is not a valid test case."}
    assert [t["case_id"] for t in active_tests] == [keep]
    assert [(t["case_id"], t["title"]) for t in closed_tests] == [(cases[2], "c")]
    assert state600.cases[keep]["section_id"] == other["id"]


async def test_update_suite(state600: TestRailState) -> None:
    """§5.2 ``update_suite`` {name, description}, partial."""
    async with client_for(create_app(state600, user=USER, api_key=KEY)) as c:
        named = await c.post(API + "update_suite/1", json={"name": "Web shop"})
        described = await c.post(API + "update_suite/1", json={"description": "Regression"})
        blank = await c.post(API + "update_suite/1", json={"name": ""})
        missing = await c.post(API + "update_suite/99", json={"name": "x"})
        got = (await c.get(API + "get_suite/1")).json()
    assert named.json()["name"] == "Web shop" and named.json()["description"] is None
    assert (described.json()["name"], described.json()["description"]) == ("Web shop", "Regression")
    assert blank.json() == {"error": "Field :name is a required field."}
    assert missing.json() == {"error": "Field :suite_id is not a valid test suite."}
    assert (got["name"], got["description"], got["is_master"]) == ("Web shop", "Regression", True)


async def test_delete_cases_soft_and_hard(clock: ManualClock) -> None:
    """§5.4/§9 ``delete_cases/{suite_id}`` {case_ids}: ``soft=1`` previews
    ``affected_tests``; a hard delete answers an empty 200; cases of another suite are
    refused."""
    state = TestRailState(clock=clock)
    pid = generate(state, cases=6, seed=1, suite_mode=2)
    master, baseline = [s["id"] for s in state.suites.values()]
    mine = [cid for cid, case in state.cases.items() if case["suite_id"] == master]
    theirs = [cid for cid, case in state.cases.items() if case["suite_id"] == baseline]
    async with client_for(create_app(state, user=USER, api_key=KEY)) as c:
        run = (await c.post(API + f"add_run/{pid}", json={
            "name": "r", "include_all": False, "case_ids": mine[:3]})).json()  # fmt: skip
        soft = await c.post(API + f"delete_cases/{master}&soft=1", json={"case_ids": mine[:2]})
        foreign = await c.post(API + f"delete_cases/{master}", json={"case_ids": [theirs[0]]})
        no_ids = await c.post(API + f"delete_cases/{master}", json={})
        hard = await c.post(API + f"delete_cases/{master}", json={"case_ids": mine[:2]})
        left = (await c.get(API + f"get_cases/{pid}")).json()
        tests = (await c.get(API + f"get_tests/{run['id']}")).json()["tests"]
    assert soft.json() == {"affected_tests": 2}
    assert foreign.json() == {"error": "Field :case_ids is not a valid test case."}
    assert no_ids.json() == {"error": "Field :case_ids is a required field."}
    assert (hard.status_code, hard.content) == EMPTY_200
    assert [case["id"] for case in left["cases"]] == mine[2:]
    assert [t["case_id"] for t in tests] == [mine[2]]
    assert theirs[0] in state.cases


async def test_update_run_and_delete_run(state600: TestRailState) -> None:
    """§5.11 ``update_run``: partial fields; ``case_ids`` replaces the selection (dropped
    cases' tests go with their results, kept ones keep theirs); closed runs refuse writes.
    §9 ``delete_run``: ``soft=1`` counts, a hard delete answers an empty 200."""
    async with client_for(create_app(state600, user=USER, api_key=KEY)) as c:
        milestone = (await c.post(API + "add_milestone/1", json={"name": "3.0"})).json()
        run = (await c.post(API + "add_run/1", json={
            "name": "r", "include_all": False, "case_ids": [1, 2, 3]})).json()  # fmt: skip
        await c.post(API + f"add_results_for_cases/{run['id']}",
                     json={"results": [{"case_id": 1, "status_id": 1},
                                       {"case_id": 2, "status_id": 5}]})  # fmt: skip
        updated = await c.post(API + f"update_run/{run['id']}", json={
            "name": "r2", "description": "nightly", "milestone_id": milestone["id"],
            "refs": "REL-3", "case_ids": [1, 4]})  # fmt: skip
        tests = (await c.get(API + f"get_tests/{run['id']}")).json()["tests"]
        results = (await c.get(API + f"get_results_for_run/{run['id']}")).json()["results"]
        soft = await c.post(API + f"delete_run/{run['id']}&soft=1", json={})
        other = (await c.post(API + "add_run/1", json={
            "name": "o", "include_all": False, "case_ids": [5]})).json()  # fmt: skip
        await c.post(API + f"close_run/{other['id']}", json={})
        closed = await c.post(API + f"update_run/{other['id']}", json={"name": "x"})
        hard = await c.post(API + f"delete_run/{run['id']}", json={})
        gone = await c.get(API + f"get_run/{run['id']}")
        gone_results = await c.get(API + f"get_results_for_run/{run['id']}")
    body = updated.json()
    assert (body["name"], body["description"], body["milestone_id"], body["refs"]) == (
        "r2", "nightly", milestone["id"], "REL-3",
    )  # fmt: skip
    assert (body["passed_count"], body["failed_count"], body["untested_count"]) == (1, 0, 1)
    assert {t["case_id"]: t["status_id"] for t in tests} == {1: 1, 4: 3}
    assert [r["status_id"] for r in results] == [1]  # case 2's failure left with its test
    assert soft.json() == {"affected_tests": 2}
    assert closed.json() == {
        "error": "Field :run_id refers to a completed test run and cannot be changed."
    }
    assert (hard.status_code, hard.content) == EMPTY_200
    for r in (gone, gone_results):
        assert r.json() == {"error": "Field :run_id is not a valid test run."}
    assert not [t for t in state600.tests.values() if t["run_id"] == run["id"]]
    assert not [r for r in state600.results.values() if r["test_id"] in {t["id"] for t in tests}]


async def test_include_all_string_false_means_all_cases(state600: TestRailState) -> None:
    """§5.11: "Sending ``include_all`` as the string ``"false"`` ... silently creates a run
    with *all* cases"; JSON false honours ``case_ids``."""
    async with client_for(create_app(state600, user=USER, api_key=KEY)) as c:
        text = (await c.post(API + "add_run/1", json={
            "name": "s", "include_all": "false", "case_ids": [1]})).json()  # fmt: skip
        boolean = (await c.post(API + "add_run/1", json={
            "name": "b", "include_all": False, "case_ids": [1]})).json()  # fmt: skip
    assert (text["include_all"], text["untested_count"]) == (True, 600)
    assert (boolean["include_all"], boolean["untested_count"]) == (False, 1)


async def test_add_results_by_test_id_get_test_and_get_results_for_case(
    state600: TestRailState, clock: ManualClock
) -> None:
    """§5.14 ``add_results/{run_id}`` {results: [{test_id, ...}]} -> bare array, all or
    nothing; §5.13 ``get_test``; ``get_results_for_case`` newest first, filtered."""
    async with client_for(create_app(state600, user=USER, api_key=KEY)) as c:
        run = (await c.post(API + "add_run/1", json={
            "name": "r", "include_all": False, "case_ids": [1, 2]})).json()  # fmt: skip
        other = (await c.post(API + "add_run/1", json={
            "name": "o", "include_all": False, "case_ids": [1]})).json()  # fmt: skip
        tests = (await c.get(API + f"get_tests/{run['id']}")).json()["tests"]
        by_case = {t["case_id"]: t["id"] for t in tests}
        foreign = (await c.get(API + f"get_tests/{other['id']}")).json()["tests"][0]["id"]
        mixed = await c.post(
            API + f"add_results/{run['id']}",
            json={
                "results": [
                    {"test_id": by_case[1], "status_id": 1},
                    {"test_id": foreign, "status_id": 1},
                ]
            },
        )
        no_id = await c.post(API + f"add_results/{run['id']}", json={"results": [{"status_id": 1}]})
        clock.advance(5)
        added = await c.post(API + f"add_results/{run['id']}", json={"results": [
            {"test_id": by_case[1], "status_id": 5, "comment": "boom", "elapsed": "1m 5s",
             "defects": "WEB-1", "version": "2.0"},
            {"test_id": by_case[2], "status_id": 2},
            {"test_id": by_case[1], "status_id": 1, "comment": "fixed"}]})  # fmt: skip
        single = await c.post(
            API + f"add_result/{by_case[2]}",
            json={"status_id": 4, "comment": "flaky", "assignedto_id": 1},
        )
        retest = (await c.get(API + f"get_test/{by_case[2]}")).json()
        test = (await c.get(API + f"get_test/{by_case[1]}")).json()
        missing_test = await c.get(API + "get_test/999999")
        for_case = (await c.get(API + f"get_results_for_case/{run['id']}/1")).json()
        failed_only = (await c.get(API + f"get_results_for_case/{run['id']}/1&status_id=5")).json()
        not_in_run = await c.get(API + f"get_results_for_case/{run['id']}/3")
    assert mixed.json() == {"error": "Field :results.test_id is not a valid test."}
    assert no_id.json() == {"error": "Field :results.test_id is a required field."}
    rows = added.json()
    assert isinstance(rows, list)
    assert [(r["test_id"], r["status_id"], r["comment"]) for r in rows] == [
        (by_case[1], 5, "boom"), (by_case[2], 2, None), (by_case[1], 1, "fixed"),
    ]  # fmt: skip
    first = rows[0]
    assert (first["elapsed"], first["defects"], first["version"]) == ("1m 5s", "WEB-1", "2.0")
    assert {r["created_on"] for r in rows} == {START + 5}
    assert (test["id"], test["case_id"], test["run_id"], test["status_id"]) == (
        by_case[1], 1, run["id"], 1,
    )  # fmt: skip
    assert test["title"] == state600.cases[1]["title"] and "custom_preconds" in test
    assert missing_test.json() == {"error": "Field :test_id is not a valid test."}
    assert single.status_code == 200 and isinstance(single.json(), dict)
    assert {k: single.json()[k] for k in ("test_id", "status_id", "comment", "assignedto_id")} == {
        "test_id": by_case[2], "status_id": 4, "comment": "flaky", "assignedto_id": 1,
    }  # fmt: skip
    assert (retest["status_id"], retest["assignedto_id"]) == (4, 1)
    assert [r["comment"] for r in for_case["results"]] == ["fixed", "boom"]  # newest first
    assert for_case["size"] == 2 and set(for_case) >= {"offset", "limit", "_links"}
    assert [r["id"] for r in failed_only["results"]] == [rows[0]["id"]]
    assert not_in_run.json() == {"error": "No (active) test found for the run/case combination."}
    assert len(state600.results) == 4  # the refused calls stored nothing


async def test_get_shared_steps_lists_and_filters(
    state600: TestRailState, clock: ManualClock
) -> None:
    """§5.8 ``get_shared_steps/{project_id}``: paged ``shared_steps``, filters
    ``created_after``/``updated_after`` (UNIX seconds) and ``created_by``."""
    async with client_for(create_app(state600, user=USER, api_key=KEY)) as c:
        steps = [{"content": "Open /login", "expected": "Form"}]
        one = (
            await c.post(
                API + "add_shared_step/1", json={"title": "Log in", "custom_steps_separated": steps}
            )
        ).json()
        clock.advance(100)
        two = (await c.post(API + "add_shared_step/1", json={"title": "Log out"})).json()
        clock.advance(100)
        await c.post(API + f"update_shared_step/{one['id']}", json={"title": "Log in (SSO)"})
        listed = (await c.get(API + "get_shared_steps/1")).json()
        created_late = (await c.get(API + f"get_shared_steps/1&created_after={START + 50}")).json()
        updated_late = (await c.get(API + f"get_shared_steps/1&updated_after={START + 150}")).json()
        by_other = (await c.get(API + "get_shared_steps/1&created_by=999")).json()
        paged = (await c.get(API + "get_shared_steps/1&limit=1")).json()
        unknown = await c.get(API + "get_shared_steps/999")
    assert set(listed) == {"offset", "limit", "size", "_links", "shared_steps"}
    # the generated project's own two sets come first (seed.add_shared_steps_and_files)
    assert [(s["id"], s["title"]) for s in listed["shared_steps"]] == [
        (1, "Log in as a shop customer"), (2, "Empty the cart"),
        (one["id"], "Log in (SSO)"), (two["id"], "Log out"),
    ]  # fmt: skip
    assert listed["shared_steps"][2]["custom_steps_separated"] == [
        {"content": "Open /login", "expected": "Form", "additional_info": None, "refs": None}
    ]
    assert [s["id"] for s in created_late["shared_steps"]] == [two["id"]]
    assert [s["id"] for s in updated_late["shared_steps"]] == [one["id"]]
    assert by_other["size"] == 0
    assert paged["_links"]["next"] == "/api/v2/get_shared_steps/1&limit=1&offset=1"
    assert unknown.json() == {"error": "Field :project_id is not a valid or accessible project."}


async def test_delete_shared_step_keeps_or_removes_the_steps_in_its_cases(
    state600: TestRailState,
) -> None:
    """§5.8 ``delete_shared_step/{id}`` with ``keep_in_cases`` 1 (the default: the cases keep
    the steps as their own) or 0 (the steps leave the cases too)."""
    with state600.lock:  # the generated sets 1 and 2 are used by three cases each
        kept_case = ops.shared_step_case_ids(state600, 1)[0]
        dropped_case = ops.shared_step_case_ids(state600, 2)[0]
        kept_before = list(state600.cases[kept_case]["custom"]["custom_steps_separated"])
        dropped_before = list(state600.cases[dropped_case]["custom"]["custom_steps_separated"])
    async with client_for(create_app(state600, user=USER, api_key=KEY)) as c:
        kept = await c.post(API + "delete_shared_step/1", json={"keep_in_cases": 1})
        dropped = await c.post(API + "delete_shared_step/2", json={"keep_in_cases": 0})
        gone = await c.get(API + "get_shared_step/1")
    assert (kept.status_code, kept.content, dropped.status_code) == (200, b"", 200)
    assert gone.status_code == 400
    with state600.lock:
        kept_after = state600.cases[kept_case]["custom"]["custom_steps_separated"]
        dropped_after = state600.cases[dropped_case]["custom"]["custom_steps_separated"]
    assert kept_after == [
        {k: v for k, v in s.items() if k != "shared_step_id"} for s in kept_before
    ]
    assert dropped_after == [s for s in dropped_before if s.get("shared_step_id") != 2]
    assert len(dropped_after) == len(dropped_before) - 1  # the set "Empty the cart" has 1 step


async def test_run_and_plan_attachments_list_download_and_delete(
    state600: TestRailState,
) -> None:
    """§5.15: ``add_attachment_to_run``/``_plan`` (multipart ``attachment`` ->
    ``{"attachment_id"}``), ``get_attachments_for_run``/``_plan`` (paged ``attachments``),
    ``get_attachment`` bytes, ``delete_attachment`` (empty 200), also off a result."""
    png = b"\x89PNG\r\n\x1a\n pixels"
    async with client_for(create_app(state600, user=USER, api_key=KEY)) as c:
        run = (await c.post(API + "add_run/1", json={
            "name": "r", "include_all": False, "case_ids": [1]})).json()  # fmt: skip
        plan = (await c.post(API + "add_plan/1", json={"name": "p"})).json()
        to_run = await c.post(
            API + f"add_attachment_to_run/{run['id']}",
            files={"attachment": ("shot.png", png, "image/png")},
        )
        to_plan = await c.post(
            API + f"add_attachment_to_plan/{plan['id']}",
            files={"attachment": ("notes.txt", b"plan notes", "text/plain")},
        )
        no_part = await c.post(
            API + f"add_attachment_to_run/{run['id']}",
            files={"file": ("x.txt", b"x", "text/plain")},
        )
        result = (
            await c.post(API + f"add_result_for_case/{run['id']}/1", json={"status_id": 1})
        ).json()
        to_result = await c.post(
            API + f"add_attachment_to_result/{result['id']}",
            files={"attachment": ("log.txt", b"log", "text/plain")},
        )
        run_list = (await c.get(API + f"get_attachments_for_run/{run['id']}")).json()
        plan_list = (await c.get(API + f"get_attachments_for_plan/{plan['id']}")).json()
        blob = await c.get(API + f"get_attachment/{to_run.json()['attachment_id']}")
        deleted = await c.post(API + f"delete_attachment/{to_run.json()['attachment_id']}", json={})
        result_id = to_result.json()["attachment_id"]
        await c.post(API + f"delete_attachment/{result_id}", json={})
        after = (await c.get(API + f"get_attachments_for_run/{run['id']}")).json()
        download = await c.get(API + f"get_attachment/{to_run.json()['attachment_id']}")
        twice = await c.post(API + f"delete_attachment/{to_run.json()['attachment_id']}", json={})
        result_after = (await c.get(API + f"get_results_for_run/{run['id']}")).json()
    assert isinstance(to_run.json()["attachment_id"], int)
    assert no_part.json() == {"error": "Field :attachment is a required field."}
    (row,) = run_list["attachments"]
    assert set(run_list) == {"offset", "limit", "size", "_links", "attachments"}
    assert {k: row[k] for k in ("id", "name", "filename", "filetype", "size", "project_id",
                                "is_image", "icon")} == {
        "id": to_run.json()["attachment_id"], "name": "shot.png", "filename": "shot.png",
        "filetype": "png", "size": len(png), "project_id": 1, "is_image": True, "icon": "image",
    }  # fmt: skip
    assert [(a["id"], a["name"], a["size"]) for a in plan_list["attachments"]] == [
        (to_plan.json()["attachment_id"], "notes.txt", 10)
    ]
    assert (blob.content, blob.headers["content-type"]) == (png, "image/png")
    assert (deleted.status_code, deleted.content) == EMPTY_200
    assert after["attachments"] == []
    invalid = {"error": "Field :attachment_id is not a valid attachment."}
    assert download.json() == invalid and twice.json() == invalid
    assert result_after["results"][0]["attachment_ids"] == []


async def test_plan_entry_and_test_attachments_are_bare_arrays(state600: TestRailState) -> None:
    """§5.15, §2.3: ``add_attachment_to_plan_entry/{plan}/{entry GUID}`` and
    ``get_attachments_for_plan_entry`` (a bare array, the entry's files only: not the plan's);
    ``get_attachments_for_test`` (a bare array of the files of all the test's results, which
    name theirs in ``attachment_ids``); an unknown entry is refused."""
    async with client_for(create_app(state600, user=USER, api_key=KEY)) as c:
        plan = (await c.post(API + "add_plan/1", json={"name": "p", "entries": [
            {"suite_id": 1, "include_all": False, "case_ids": [1, 2]}]})).json()  # fmt: skip
        entry = plan["entries"][0]
        to_entry = await c.post(
            API + f"add_attachment_to_plan_entry/{plan['id']}/{entry['id']}",
            files={"attachment": ("entry.txt", b"entry notes", "text/plain")},
        )
        await c.post(
            API + f"add_attachment_to_plan/{plan['id']}",
            files={"attachment": ("plan.txt", b"plan", "text/plain")},
        )
        listed = await c.get(API + f"get_attachments_for_plan_entry/{plan['id']}/{entry['id']}")
        unknown = await c.get(API + f"get_attachments_for_plan_entry/{plan['id']}/nope")
        run_id = entry["runs"][0]["id"]
        [first, second] = (await c.get(API + f"get_tests/{run_id}")).json()["tests"]
        results = (await c.post(API + f"add_results/{run_id}", json={"results": [
            {"test_id": first["id"], "status_id": 5}, {"test_id": first["id"], "status_id": 1},
            {"test_id": second["id"], "status_id": 1}]})).json()  # fmt: skip
        files = []
        for result, name in ((results[0], "a.log"), (results[1], "b.log"), (results[2], "c.log")):
            answer = await c.post(
                API + f"add_attachment_to_result/{result['id']}",
                files={"attachment": (name, name.encode(), "text/plain")},
            )
            files.append(answer.json()["attachment_id"])
        of_test = (await c.get(API + f"get_attachments_for_test/{first['id']}")).json()
        rows = (await c.get(API + f"get_results_for_run/{run_id}")).json()["results"]
    assert isinstance(to_entry.json()["attachment_id"], int)
    assert [(a["id"], a["name"], a["size"]) for a in listed.json()] == [
        (to_entry.json()["attachment_id"], "entry.txt", 11)
    ]
    assert unknown.status_code == 400
    assert [(a["id"], a["name"]) for a in of_test] == [(files[0], "a.log"), (files[1], "b.log")]
    assert {r["id"]: r["attachment_ids"] for r in rows} == {
        results[0]["id"]: [files[0]],
        results[1]["id"]: [files[1]],
        results[2]["id"]: [files[2]],
    }


async def test_latency_and_error_status_switches(state600: TestRailState) -> None:
    """The outage switches: ``latency`` seconds before each answer; ``error_rate`` of
    answers with ``error_status`` (500 unless set) and the emulator's fault text."""
    app = create_app(state600, user=USER, api_key=KEY, latency=0.3)
    async with client_for(app) as c:
        started = time.monotonic()
        slow = await c.get(API + "get_project/1")
        waited = time.monotonic() - started
        app.state.options.latency = 0.0
        app.state.options.error_rate = 1.0
        app.state.options.error_status = 503
        down = await c.get(API + "get_project/1")
    assert slow.status_code == 200 and waited >= 0.3
    assert (down.status_code, down.json()) == (
        503,
        {"error": "An internal error occurred (emulated fault)."},
    )
    assert app.state.stats["fault"] == 1
    unavailable = create_app(state600, user=USER, api_key=KEY, error_rate=1.0, error_status=502)
    async with client_for(unavailable) as c:
        assert (await c.post(API + "add_case/1", json={"title": "lost"})).status_code == 502
    assert len(state600.cases) == 600  # a fault answers before any write


async def test_update_plan_and_renaming_configurations(state600: TestRailState) -> None:
    """§5.12 ``update_plan`` changes name, description and milestone of an open plan (a closed
    one: 400); §5.10 ``update_config_group``/``update_config`` rename."""
    async with client_for(create_app(state600, user=USER, api_key=KEY)) as c:
        group = (await c.post(API + "add_config_group/1", json={"name": "Browsers"})).json()
        chrome = (await c.post(API + f"add_config/{group['id']}", json={"name": "Chrome"})).json()
        plan = (await c.post(API + "add_plan/1", json={"name": "Release plan"})).json()
        updated = (
            await c.post(
                API + f"update_plan/{plan['id']}",
                json={"name": "Release 1.0 plan", "description": "Final", "milestone_id": 1},
            )
        ).json()
        bad_milestone = await c.post(API + f"update_plan/{plan['id']}", json={"milestone_id": 999})
        renamed_group = (
            await c.post(API + f"update_config_group/{group['id']}", json={"name": "Browser"})
        ).json()
        renamed = (
            await c.post(API + f"update_config/{chrome['id']}", json={"name": "Chromium"})
        ).json()
        await c.post(API + f"close_plan/{plan['id']}", json={})
        closed = await c.post(API + f"update_plan/{plan['id']}", json={"name": "x"})
        configs = (await c.get(API + "get_configs/1")).json()
    assert (updated["name"], updated["description"], updated["milestone_id"]) == (
        "Release 1.0 plan", "Final", 1,
    )  # fmt: skip
    assert updated["entries"] == []
    assert bad_milestone.status_code == 400
    assert renamed_group == {"id": group["id"], "name": "Browser", "project_id": 1,
                             "configs": [chrome]}  # fmt: skip
    assert renamed == {"id": chrome["id"], "name": "Chromium", "group_id": group["id"]}
    assert closed.status_code == 400
    assert configs[0]["name"] == "Browser"


def test_generate_with_plans_is_deterministic_and_complete(clock: ManualClock) -> None:
    """``generate(plans=3)``: the same project twice; milestones with a sub-milestone and a
    completed one, Browser/OS configurations, an include_all and a case_ids entry, a closed
    plan, results; the cases are those of ``generate`` without plans."""
    made = []
    for plans in (3, 3, 0):
        state = TestRailState(clock=ManualClock(START))
        generate(state, cases=40, seed=5, plans=plans)
        made.append(state)
    first, second, plain = made
    assert first.milestones == second.milestones and first.results == second.results
    # the results' elapsed times give the cases an estimate_forecast (§5.4); nothing else
    assert {
        i: {k: v for k, v in c.items() if k != "_forecast"} for i, c in first.cases.items()
    } == (plain.cases)
    assert any("_forecast" in c for c in first.cases.values())
    details = [r for r in first.results.values() if r["elapsed"] and r["_custom"]]
    assert details and all(r["_custom"].get("custom_environment") in (1, 2, 3) for r in details)
    assert any(r["_custom"].get("custom_step_results") for r in first.results.values())
    milestones = {m["name"]: m for m in first.milestones.values()}
    assert sorted(milestones) == [
        "1.0 Release candidate", "Release 0.9", "Release 1.0", "Release 1.1 – Localisation",
    ]  # fmt: skip
    assert milestones["1.0 Release candidate"]["parent_id"] == milestones["Release 1.0"]["id"]
    assert milestones["Release 0.9"]["is_completed"] is True
    assert all(m["due_on"] for m in milestones.values())
    groups = {g["name"]: g["id"] for g in first.config_groups.values()}
    assert sorted(
        (next(n for n, i in groups.items() if i == c["group_id"]), c["name"])
        for c in first.configs.values()
    ) == [("Browser", "Chrome"), ("Browser", "Firefox"), ("OS", "Windows"), ("OS", "macOS")]
    plans = sorted(first.plans.values(), key=lambda p: p["id"])
    assert [p["name"] for p in plans] == [
        "Release 1.0 test plan", "Sprint 1 sign-off", "Sprint 2 sign-off",
    ]  # fmt: skip
    assert [p["is_completed"] for p in plans] == [False, False, True]
    full, smoke = plans[0]["_entries"]
    assert (full["include_all"], smoke["include_all"]) == (True, False)
    run_cases = [
        len([t for t in first.tests.values() if t["run_id"] == r])
        for e in (full, smoke)
        for r in e["_run_ids"]
    ]
    assert run_cases == [40, 40, 20, 20]
    assert len(first.runs) == 9 and len(first.results) > 0


def test_generate_shape_makes_exactly_the_scaled_medium_project() -> None:
    from emulators.testrail.seed import MEDIUM, generate_shape

    shape = MEDIUM.scaled(500)
    assert (shape.sections, shape.runs, shape.tests, shape.results, shape.plans) == (
        30, 10, 200, 3000, 2
    )  # fmt: skip
    assert (shape.milestones, shape.attachments, shape.shared_steps) == (3, 50, 5)
    state = TestRailState()
    pid = generate_shape(state, shape, seed=11, project_name="Medium")
    assert state.projects[pid]["name"] == "Medium"
    counts = [len(state.sections), len(state.cases), len(state.runs), len(state.tests),
              len(state.results), len(state.plans), len(state.milestones),
              len(state.attachments), len(state.shared_steps)]  # fmt: skip
    assert counts == [30, 500, 10, 2000, 3000, 2, 3, 50, 5]
    assert sorted({len(state.indexed("run", r)) for r in state.runs}) == [200]
    owners = sorted({a["_entity_type"] for a in state.attachments.values()})
    assert owners == ["case", "editor", "plan", "result", "run"]
    assert [p["name"] for p in state.plans.values()] == ["Plan 1", "Plan 2"]
    created = [r["created_on"] for r in state.results.values()]
    assert created == sorted(created) and max(created) < state.now() - 86400
