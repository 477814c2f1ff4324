"""Migration behaviours: suite mode 3, dry run, resume after a lost answer, bad input."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.errors import AuthenticationFailed, ConfigError
from tests.helpers import emulate


class DropAnswerAfter(httpx.AsyncBaseTransport):
    """Delivers requests to the app, but loses the answer to the ``nth`` ``POST /cases``:
    the server did the work, the client sees a reset connection."""

    def __init__(self, inner: httpx.AsyncBaseTransport, nth: int) -> None:
        self.inner = inner
        self.nth = nth
        self.case_posts = 0
        self.cases_sent: list[int] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.method == "POST" and request.url.path.endswith("/cases"):
            self.case_posts += 1
            self.cases_sent.append(len(json.loads(await request.aread())))
            if self.case_posts == self.nth:
                await response.aread()
                raise httpx.RemoteProtocolError("Server disconnected without sending a response")
        return response


async def test_a_lost_answer_mid_migration_is_looked_up_at_once_and_the_run_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The answer to the second batch of cases is lost (the server kept the batch): the
    migration looks those cases up at once, links them, and goes on with the rest in the same
    run; nothing is sent twice and nothing is created twice."""
    env = emulate(tmp_path, monkeypatch, cases=260)
    flaky = DropAnswerAfter(httpx.ASGITransport(env.testfiesta), nth=2)
    async with env.service(testfiesta_transport=flaky) as service:
        report = (await service.migrate())[0]
    assert report.complete
    assert len(flaky.cases_sent) >= 3  # the run went on after the lost answer
    assert sum(flaky.cases_sent) == 260  # every case was sent once, none again
    cases = env.testfiesta_cases("ACME")
    assert len(cases) == 260
    external_ids = Counter(c["externalId"] for c in cases)
    assert external_ids.most_common(1)[0][1] == 1, "a case was created twice"
    async with env.service() as again:
        assert again.store is not None
        linked = list(again.store.links("tr:case:"))
        assert again.store.family("journal") == []
    assert len(linked) == 260
    async with env.service() as service:
        rerun = (await service.migrate())[0]
    assert rerun.kinds["cases"].created == 0


async def test_suite_mode_3_gives_one_top_level_folder_per_suite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = emulate(tmp_path, monkeypatch, cases=150, suite_mode=3)
    async with env.service() as service:
        report = (await service.migrate())[0]
        suites = await service.testrail_tree("Acme Web Shop")
        tree = await service.testfiesta_tree("ACME")
    assert report.complete
    assert len(suites) == 3
    assert [node.name for node in tree if node.kind == "folder"] == [s.name for s in suites]
    for suite, folder in zip(suites, tree, strict=True):
        assert [c.name for c in folder.children if c.kind == "folder"] == [
            c.name for c in suite.children
        ]
        assert folder.linked == suite.key
    assert report.kinds["cases"].testfiesta == 150


async def test_dry_run_reads_both_sides_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = emulate(tmp_path, monkeypatch, cases=40)
    async with env.service() as service:
        report = (await service.migrate(dry_run=True))[0]
    assert report.dry_run
    assert report.kinds["cases"].testrail == 40
    assert report.kinds["cases"].created == 40
    assert report.kinds["cases"].testfiesta == 0
    assert report.kinds["project"].created == 1
    assert env.testfiesta.state.testfiesta.projects() == []


async def test_unknown_project_and_wrong_token_are_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = emulate(tmp_path, monkeypatch, cases=5)
    env.config_path.write_text(
        env.config_path.read_text().replace('"Acme Web Shop"', '"Acme Webshop 2"'), "utf-8"
    )
    async with env.service() as service:
        with pytest.raises(ConfigError, match="testrail_project = 'Acme Webshop 2'") as missing:
            await service.migrate()
    assert "'Acme Web Shop'" in missing.value.hint

    monkeypatch.setenv("RF_TEST_TESTFIESTA_TOKEN", "testfiesta_wrong")
    env.config_path.write_text(
        env.config_path.read_text().replace('"Acme Webshop 2"', '"Acme Web Shop"'), "utf-8"
    )
    async with env.service() as service:
        with pytest.raises(AuthenticationFailed) as denied:
            await service.migrate()
    assert denied.value.side == "testfiesta"
    assert "testfiesta_wrong" not in str(denied.value)
    assert "$RF_TEST_TESTFIESTA_TOKEN" in denied.value.hint


async def test_every_case_keeps_priority_type_template_refs_estimate_and_dropdown_labels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Compare each TestRail case, as TestRail's API returns it, with its TestFiesta copy."""
    env = emulate(tmp_path, monkeypatch, cases=180)
    async with env.service() as service:
        report = (await service.migrate())[0]
    assert report.complete and not report.warnings

    auth = ("qa@example.com", "tr-api-key-for-tests")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(env.testrail), base_url="http://testrail.test", auth=auth
    ) as testrail:

        async def get(method: str) -> Any:
            response = await testrail.get(f"/index.php?/api/v2/{method}")
            response.raise_for_status()
            return response.json()

        pid = (await get("get_projects"))["projects"][0]["id"]
        priorities = {p["id"]: p["name"] for p in await get("get_priorities")}
        types = {t["id"]: t["name"] for t in await get("get_case_types")}
        templates = {t["id"]: t["name"] for t in await get(f"get_templates/{pid}")}
        fields = {f["system_name"]: f for f in await get("get_case_fields")}
        cases: list[dict[str, object]] = []
        offset = 0
        while True:
            page = await get(f"get_cases/{pid}&offset={offset}")
            cases += page["cases"]
            if not page["_links"]["next"]:
                break
            offset += 250

    def labels(system_name: str) -> dict[int, str]:
        items = fields[system_name]["configs"][0]["options"]["items"]
        return {int(i): v.strip() for i, _, v in (ln.partition(",") for ln in items.splitlines())}

    automation = labels("custom_automation_type")
    level = labels("custom_test_level")

    tf_state = env.testfiesta.state.testfiesta
    tf_priorities = {201: "Critical", 202: "High", 203: "Medium", 204: "Low"}
    tf_templates = {t["uid"]: t["name"] for t in tf_state.templates("ACME")}
    by_external = {c["externalId"]: c for c in tf_state.cases("ACME")}
    assert len(cases) == len(by_external) == 180
    seen_dropdowns = set()
    for case in cases:
        copy = by_external[f"testrail.test/case/{case['id']}"]
        custom = copy["customFields"]
        assert copy["name"] == case["title"]
        assert tf_priorities[copy["priority"]] == priorities[case["priority_id"]]
        assert [tag["name"] for tag in copy["tags"]] == [types[case["type_id"]]]
        assert tf_templates[copy["testCaseTemplateUid"]] == templates[case["template_id"]]
        assert custom.get("References") == case["refs"]
        assert custom.get("Estimate") == case["estimate"]
        assert custom["Automation Type"] == automation[case["custom_automation_type"]]
        assert custom["Test Level"] == level[case["custom_test_level"]]
        seen_dropdowns.add(custom["Automation Type"])
    assert seen_dropdowns == {"None", "Selenium", "Playwright", "Cypress"}


async def test_a_respelled_testrail_url_finds_the_same_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = emulate(tmp_path, monkeypatch, cases=30)
    async with env.service() as service:
        assert (await service.migrate())[0].kinds["cases"].created == 30

    original = env.config_path.read_text()
    # the same server, spelled differently: case, default port, /index.php
    env.config_path.write_text(
        original.replace('"http://testrail.test"', '"HTTP://TestRail.test:80/index.php"'), "utf-8"
    )
    async with env.service() as service:
        report = (await service.migrate())[0]
    assert {k: c.created for k, c in report.kinds.items()}["cases"] == 0
    assert report.warnings == []

    # another name for it, and a state directory that never saw the first run
    env.config_path.write_text(original.replace("testrail.test", "10.1.2.3"), "utf-8")
    env.state_dir = tmp_path / "fresh-state"
    async with env.service() as service:
        report = (await service.migrate())[0]
    assert report.complete
    assert sum(c.created for c in report.kinds.values()) == 0
    assert report.warnings == [
        "TestRail is configured as '10.1.2.3' but its records were migrated as "
        "'testrail.test'; they keep that identity, so nothing is copied twice"
    ]
    assert len(env.testfiesta_cases("ACME")) == 30


async def test_duplicates_in_testfiesta_are_reported_not_hidden(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = emulate(tmp_path, monkeypatch, cases=12)
    async with env.service() as service:
        await service.migrate()
        assert service.testfiesta is not None
        original = env.testfiesta_cases("ACME")[0]
        await service.testfiesta.create_cases(
            "ACME",
            [
                {
                    "name": original["name"],
                    "parentId": original["parentUid"],
                    "projectId": original["projectUid"],
                    "steps": [],
                    "customFields": {},
                    "source": "testrail",
                    "externalId": original["externalId"],
                }
            ],
        )
        report = (await service.migrate())[0]
    assert not report.complete
    assert report.kinds["cases"].testfiesta == 12
    assert report.kinds["cases"].duplicates == 1
    assert "holds 1 duplicate case (the same TestRail record twice)" in report.warnings[0]


class BodyLimit(httpx.AsyncBaseTransport):
    """A web server in front of TestFiesta refusing ``POST /cases`` bodies above ``limit`` bytes
    with an HTML 413 page, as body-size limits do (nothing reaches the app)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, limit: int) -> None:
        self.inner = inner
        self.limit = limit
        self.refused = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        if len(body) > self.limit and request.url.path.endswith("/cases"):
            self.refused += 1
            return httpx.Response(413, html="<html><h1>413 Request Entity Too Large</h1></html>")
        return await self.inner.handle_async_request(request)


async def test_a_body_size_limit_splits_case_batches_and_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = emulate(tmp_path, monkeypatch, cases=90)
    limited = BodyLimit(httpx.ASGITransport(env.testfiesta), limit=20_000)
    async with env.service(testfiesta_transport=limited) as service:
        report = (await service.migrate())[0]
    assert limited.refused > 0
    assert report.complete
    assert report.kinds["cases"].created == 90
    external_ids = [c["externalId"] for c in env.testfiesta_cases("ACME")]
    assert len(external_ids) == len(set(external_ids)) == 90


async def test_a_case_too_large_on_its_own_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = emulate(tmp_path, monkeypatch, cases=3)
    limited = BodyLimit(httpx.ASGITransport(env.testfiesta), limit=300)
    async with env.service(testfiesta_transport=limited) as service:
        report = (await service.migrate())[0]
    # the migration goes on past each case that cannot land, names it and its fix
    assert not report.complete
    assert report.kinds["cases"].testrail == 3
    assert report.kinds["cases"].testfiesta == 0
    too_large = [w for w in report.warnings if "is too large for TestFiesta (HTTP 413" in w]
    assert len(too_large) == 3
    assert all(w.startswith("case tr:case:") for w in too_large)
    assert all("shorten its longest text field" in w for w in too_large)


async def test_suite_mode_2_master_is_the_root_and_each_baseline_a_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = emulate(tmp_path, monkeypatch, cases=40, suite_mode=2)
    async with env.service() as service:
        report = (await service.migrate())[0]
        suites = await service.testrail_tree("Acme Web Shop")
        tree = await service.testfiesta_tree("ACME")
    master = next(s for s in suites if not s.baseline)
    [baseline] = [s for s in suites if s.baseline]
    assert baseline.name == "Release 1.0 baseline"
    assert report.complete
    assert report.kinds["cases"].testrail == report.kinds["cases"].testfiesta == 80
    # the root holds the master's sections and one folder for the baseline
    assert [n.name for n in tree if n.kind == "folder"] == [
        *(c.name for c in master.children),
        "Release 1.0 baseline",
    ]
    baseline_folder = next(n for n in tree if n.name == "Release 1.0 baseline")
    assert baseline_folder.linked == baseline.key
    assert [c.name for c in baseline_folder.children if c.kind == "folder"] == [
        c.name for c in baseline.children
    ]


async def test_a_new_configured_key_gets_its_own_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = emulate(tmp_path, monkeypatch, cases=20)
    async with env.service() as service:
        await service.migrate()
    env.config_path.write_text(env.config_path.read_text().replace('"ACME"', '"ACMECOPY"'), "utf-8")
    env.state_dir = tmp_path / "another-state"
    async with env.service() as service:
        report = (await service.migrate())[0]
    assert report.testfiesta_project == "ACMECOPY"
    assert report.kinds["project"].created == 1
    assert report.kinds["cases"].created == 20
    assert len(env.testfiesta_cases("ACME")) == len(env.testfiesta_cases("ACMECOPY")) == 20
