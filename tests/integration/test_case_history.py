"""Case history (issue 7): a migration reads TestRail's ``get_history_for_case`` for the cases
updated after they were created, keeps it read-only in the TestFiesta case field "TestRail
history" and in the state store's archive (``history:<project id>``), writes it once, and
goes on with a warning where TestRail cannot give it (testrail-api.md §5.5)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from core.store import StateStore
from emulators.testrail import ops
from tests.helpers import Emulated, emulate
from tests.integration.test_attachments import Recorder

#: 2026-03-01 14:02 UTC
AT = 1_772_373_720


def _history_requests(seen: list[str], case_id: int) -> int:
    return sum(1 for s in seen if f"get_history_for_case/{case_id}" in s)


def _tf_case(env: Emulated, case_id: int) -> dict[str, object]:
    return next(
        r
        for r in env.testfiesta.state.testfiesta.db.cases.values()
        if str(r.get("externalId", "")).endswith(f"/case/{case_id}") and not r["deletedAt"]
    )


def _seed(env: Emulated) -> tuple[int, int, int]:
    """A case updated twice (by Jane Doe, then by a user ``get_users`` does not list) and a
    case never updated; returns (project id, updated case, never-updated case)."""
    tr = env.testrail_state
    with tr.lock:
        jane = ops.add_user(tr, email="jane@example.com", name="Jane Doe", is_admin=False)["id"]
        section = min(tr.sections)
        tr.clock = lambda: AT - 86_400
        edited = ops.add_case(tr, section, {"title": "Log in"}, jane)["id"]
        never = ops.add_case(tr, section, {"title": "Log out"}, jane)["id"]
        tr.clock = lambda: AT
        ops.update_case(tr, edited, {"title": "Log in with SSO"}, jane)
        tr.clock = lambda: AT + 60
        ops.update_case(tr, edited, {"refs": "JIRA-7"}, 999)
    return next(iter(tr.projects)), int(edited), int(never)


async def test_a_case_updated_twice_lands_its_two_lines_once_and_is_archived(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = emulate(tmp_path, monkeypatch, cases=0)
    project, edited, never = _seed(env)
    testrail = Recorder(httpx.ASGITransport(env.testrail))
    testfiesta = Recorder(httpx.ASGITransport(env.testfiesta))
    async with env.service(testrail_transport=testrail, testfiesta_transport=testfiesta) as svc:
        [report] = await svc.migrate()
    assert report.complete, report.warnings
    row = _tf_case(env, edited)
    assert row["customFields"]["TestRail history"] == (  # type: ignore[index]
        "2026-03-01 14:02 UTC · Jane Doe · Title: 'Log in' → 'Log in with SSO'\n"
        "2026-03-01 14:03 UTC · user 999 · References: (empty) → 'JIRA-7'"
    )
    assert "TestRail history" not in _tf_case(env, never)["customFields"]  # type: ignore[operator]
    # one request for the updated case, none for the case never updated
    assert _history_requests(testrail.seen, edited) == 1
    assert _history_requests(testrail.seen, never) == 0
    # one write of the history (the field created first), counted under its own kind
    history_writes = [s for s in testfiesta.seen if s.startswith("POST /trv2/acme/") and
                      "update_case" in s]  # fmt: skip
    assert len(history_writes) == 1
    assert report.kinds["case history"].testrail == report.kinds["case history"].testfiesta == 1
    # TestRail: get_users (to name them), get_history_for_case; TestFiesta: the field listed
    # and created, the case's history written
    assert report.kinds["case history"].requests == 5
    parity = report.parity["case_history"]
    assert (parity.testrail, parity.testfiesta, parity.equal) == (1, 1, 1)
    with StateStore(env.state_dir) as store:
        archived = store.get_in(f"history:{project}", str(edited))
        assert [e["created_on"] for e in archived] == [AT, AT + 60]
        assert [c["field"] for e in archived for c in e["changes"]] == ["title", "refs"]
        assert store.get_in(f"history:{project}", str(never)) is None

    # a second migration reads the history again and writes nothing
    testfiesta.seen.clear()
    async with env.service(testfiesta_transport=testfiesta) as svc:
        [again] = await svc.migrate()
        svc.export_state(tmp_path / "backup.json")
    assert again.complete, again.warnings
    assert [s for s in testfiesta.seen if not s.startswith("GET ")] == []
    entries = json.loads((tmp_path / "backup.json").read_text(encoding="utf-8"))["entries"]
    assert len(entries[f"history:{project}:{edited}"]) == 2


async def test_a_sync_cycle_after_the_migration_reads_no_history_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = emulate(tmp_path, monkeypatch, cases=0)
    _, edited, _ = _seed(env)
    async with env.service() as svc:
        [report] = await svc.migrate()
    assert report.complete, report.warnings
    testrail = Recorder(httpx.ASGITransport(env.testrail))
    async with env.service(testrail_transport=testrail) as svc:
        [cycle] = await svc.sync()
    assert not any("get_history_for_case" in s for s in testrail.seen)
    assert cycle.plan.writes == [] and cycle.plan.conflicts == []
    assert _tf_case(env, edited)["name"] == "Log in with SSO"


class RefuseHistory(httpx.AsyncBaseTransport):
    """TestRail as it is, except ``get_history_for_case`` answers ``status`` (a TestRail older
    than 6.5.4, or the method refused)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, status: int) -> None:
        self.inner = inner
        self.status = status
        self.asked = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if "get_history_for_case" in str(request.url):
            self.asked += 1
            return httpx.Response(self.status, json={"error": "You are not allowed (API)."})
        return await self.inner.handle_async_request(request)


async def test_a_testrail_without_case_history_gives_a_warning_and_the_migration_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = emulate(tmp_path, monkeypatch, cases=6)  # four generated cases were updated
    _, edited, _ = _seed(env)
    refusing = RefuseHistory(httpx.ASGITransport(env.testrail), 403)
    async with env.service(testrail_transport=refusing) as svc:
        [report] = await svc.migrate()
    assert report.warnings == [
        "case history not available on this TestRail (needs 6.5.4+): get_history_for_case "
        "answered 403; the cases are migrated without their history"
    ]
    assert refusing.asked == 1  # said once, not asked again for the other cases
    assert report.kinds["cases"].testrail == report.kinds["cases"].testfiesta == 8
    assert "case history" not in report.kinds
    assert "TestRail history" not in _tf_case(env, edited)["customFields"]  # type: ignore[operator]


class RefuseOneHistory(httpx.AsyncBaseTransport):
    """TestRail as it is, except ``get_history_for_case/<case_id>`` answers 400."""

    def __init__(self, inner: httpx.AsyncBaseTransport, case_id: int) -> None:
        self.inner = inner
        self.case_id = case_id
        self.asked: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        if "get_history_for_case" in url:
            self.asked.append(url.rsplit("/", 1)[-1])
        if f"get_history_for_case/{self.case_id}" in url:
            return httpx.Response(400, json={"error": "Field :case_id is not a valid case."})
        return await self.inner.handle_async_request(request)


async def test_a_case_whose_history_is_refused_is_named_and_the_others_are_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = emulate(tmp_path, monkeypatch, cases=6)  # four generated cases were updated
    _, edited, never = _seed(env)
    refusing = RefuseOneHistory(httpx.ASGITransport(env.testrail), edited)
    async with env.service(testrail_transport=refusing) as svc:
        [report] = await svc.migrate()
    assert report.warnings == [
        f"case history of TestRail case {edited} could not be read (get_history_for_case "
        "answered 400: Field :case_id is not a valid case.); the case is migrated without it"
    ]
    # each updated case asked once (the six generated ones and the edited one), the case
    # never updated not at all
    asked = sorted(int(c) for c in refusing.asked)
    assert asked == [1, 2, 3, 4, 5, 6, edited] and never not in asked
    assert "TestRail history" not in _tf_case(env, edited)["customFields"]  # type: ignore[operator]
    for case_id in asked[:-1]:
        assert _tf_case(env, case_id)["customFields"]["TestRail history"]  # type: ignore[index]
    assert report.kinds["case history"].testrail == report.kinds["case history"].testfiesta == 6
    parity = report.parity["case_history"]
    assert (parity.testrail, parity.testfiesta, parity.equal) == (6, 6, 6)


class RefuseSomeHistory(RefuseOneHistory):
    """``get_history_for_case`` answers 400 for every case in ``case_ids``."""

    def __init__(self, inner: httpx.AsyncBaseTransport, case_ids: set[int]) -> None:
        super().__init__(inner, 0)
        self.case_ids = case_ids

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        if "get_history_for_case" in url and int(url.rsplit("/", 1)[-1]) in self.case_ids:
            return httpx.Response(400, json={"error": "Field :case_id is not a valid case."})
        return await self.inner.handle_async_request(request)


async def test_cases_whose_history_is_refused_the_same_way_are_one_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = emulate(tmp_path, monkeypatch, cases=6)  # cases 1-6 have history
    _seed(env)
    refusing = RefuseSomeHistory(httpx.ASGITransport(env.testrail), {1, 2, 3, 4, 5})
    async with env.service(testrail_transport=refusing) as svc:
        [report] = await svc.migrate()
    assert report.warnings == [
        "case history of 5 TestRail cases could not be read (get_history_for_case answered "
        "400: Field :case_id is not a valid case.): 1, 2, 3, ... 2 more; the cases are "
        "migrated without it"
    ]
