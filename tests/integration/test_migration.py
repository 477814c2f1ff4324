"""Migration behaviours: suite mode 3, dry run, resume after a lost answer, bad input."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import httpx
import pytest

from core.errors import AuthenticationFailed, NotFound, ServerUnreachable
from tests.helpers import emulate


class DropAnswerAfter(httpx.AsyncBaseTransport):
    """Delivers requests to the app, but loses the answer to the ``nth`` ``POST /cases``:
    the server did the work, the client sees a reset connection."""

    def __init__(self, inner: httpx.AsyncBaseTransport, nth: int) -> None:
        self.inner = inner
        self.nth = nth
        self.case_posts = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.method == "POST" and request.url.path.endswith("/cases"):
            self.case_posts += 1
            if self.case_posts == self.nth:
                await response.aread()
                raise httpx.RemoteProtocolError("Server disconnected without sending a response")
        return response


async def test_a_lost_answer_mid_migration_resumes_without_duplicates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = emulate(tmp_path, monkeypatch, cases=260)
    flaky = DropAnswerAfter(httpx.ASGITransport(env.testfiesta), nth=2)
    async with env.service(testfiesta_transport=flaky) as service:
        with pytest.raises(ServerUnreachable, match="POST /cases: RemoteProtocolError"):
            await service.migrate()
    # the server kept both batches although the client saw only the first answer
    assert len(env.testfiesta_cases("ACME")) == 200

    async with env.service() as service:
        report = (await service.migrate())[0]
    assert report.complete
    assert report.kinds["cases"].created == 60  # only the third batch was still missing
    cases = env.testfiesta_cases("ACME")
    assert len(cases) == 260
    external_ids = Counter(c["externalId"] for c in cases)
    assert external_ids.most_common(1)[0][1] == 1, "a case was created twice"
    async with env.service() as again:
        assert again.store is not None
        linked = list(again.store.links("tr:case:"))
    assert len(linked) == 260


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
        with pytest.raises(NotFound, match="no project named 'Acme Webshop 2'") as missing:
            await service.migrate()
    assert "Acme Web Shop" in str(missing.value)

    monkeypatch.setenv("RF_TEST_TESTFIESTA_TOKEN", "testfiesta_wrong")
    env.config_path.write_text(
        env.config_path.read_text().replace('"Acme Webshop 2"', '"Acme Web Shop"'), "utf-8"
    )
    async with env.service() as service:
        with pytest.raises(AuthenticationFailed) as denied:
            await service.migrate()
    assert denied.value.side == "testfiesta"
    assert "testfiesta_wrong" not in str(denied.value)
    assert "token" in denied.value.hint
