"""``migrate --dry-run`` and ``sync --plan`` only read: every request they send, on both
sides, is a GET (the organization-wide tag listing included), whatever there is to do.

Both transports are wrapped and every request recorded; the command line runs in-process.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from core.config import Config
from core.service import Service
from emulators.testrail import ops
from tests.helpers import Emulated, emulate
from tui.cli import main


class Recording(httpx.AsyncBaseTransport):
    """Passes every request on and remembers ``(method, path?query)``."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.requests: list[tuple[str, str]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        target = request.url.raw_path.decode()
        self.requests.append((request.method, target))
        return await self.inner.handle_async_request(request)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Emulated:
    return emulate(tmp_path, monkeypatch, cases=30)


def _run(
    env: Emulated, monkeypatch: pytest.MonkeyPatch, *argv: str
) -> tuple[int, Recording, Recording]:
    """``railfiesta ARGV`` over recording transports; (exit code, TestRail's, TestFiesta's)."""
    testrail = Recording(httpx.ASGITransport(env.testrail))
    testfiesta = Recording(httpx.ASGITransport(env.testfiesta))

    def in_process(config: Config, state_dir: Path | None) -> Service:
        return Service(
            config,
            state_dir=state_dir,
            testrail_transport=testrail,
            testfiesta_transport=testfiesta,
        )

    monkeypatch.setattr("tui.cli.make_service", in_process)
    code = main([*argv, "--config", str(env.config_path), "--state", str(env.state_dir)])
    return code, testrail, testfiesta


def _assert_only_gets(testrail: Recording, testfiesta: Recording, *, tags: bool = True) -> None:
    """Every request a GET; ``tags``: the organization's tag listing among them (a migration
    counts the tags it would create; a sync plan has no tag to decide)."""
    for side in (testrail, testfiesta):
        assert side.requests, "the command read nothing"
        writes = [r for r in side.requests if r[0] != "GET"]
        assert writes == []
    assert (("GET", "/v1/acme/tags?limit=250&offset=0") in testfiesta.requests) is tags
    assert any(path.startswith("/index.php?/api/v2/get_cases/") for _, path in testrail.requests)


def test_a_dry_run_of_a_new_project_only_reads_and_counts_the_org_tags(
    env: Emulated, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    state = env.testrail_state
    with state.lock:
        types = sorted({state.case_types[c["type_id"]]["name"] for c in state.cases.values()})
    assert len(types) >= 2
    # tags are organization-wide: one exists before the project does
    env.testfiesta.state.testfiesta.create_tag(types[0], ["cases"])
    code, testrail, testfiesta = _run(env, monkeypatch, "migrate", "--dry-run", "--json")
    out, err = capsys.readouterr()
    assert code == 0, err  # a dry run that could do everything
    _assert_only_gets(testrail, testfiesta)
    assert env.testfiesta.state.testfiesta.projects() == []
    [project] = json.loads(out)["projects"]
    tally = project["kinds"]["tags"]
    assert (tally["testrail"], tally["created"], tally["testfiesta"]) == (
        len(types),
        len(types) - 1,
        1,
    )


def test_a_dry_run_and_a_plan_with_work_on_both_sides_only_read(
    env: Emulated, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, testfiesta = _run(env, monkeypatch, "migrate")
    assert code == 0, capsys.readouterr().err
    assert any(method == "POST" for method, _ in testfiesta.requests)  # the recorder sees writes

    state = env.testrail_state
    with state.lock:
        first = min(state.cases)
        ops.update_case(state, first, {"title": "Edited in TestRail"}, None)
        section = state.cases[first]["section_id"]
        ops.add_case(state, section, {"title": "New in TestRail"}, None)
    tf = env.testfiesta.state.testfiesta
    row = next(r for r in tf.db.cases.values() if not r["deletedAt"] and r["uid"] != first)
    tf.update(row, {"name": "Edited in TestFiesta"})
    tr_before, tf_before = len(state.cases), len(env.testfiesta_cases("ACME"))

    for argv in (("migrate", "--dry-run"), ("sync", "--plan"), ("sync", "--plan", "--full")):
        capsys.readouterr()
        code, testrail, testfiesta = _run(env, monkeypatch, *argv)
        # a dry run that could do it all exits 0; a plan with work waiting 1
        assert code == (0 if argv[0] == "migrate" else 1), (argv, capsys.readouterr())
        _assert_only_gets(testrail, testfiesta, tags=argv[0] == "migrate")
    assert (len(state.cases), len(env.testfiesta_cases("ACME"))) == (tr_before, tf_before)
    assert state.cases[first]["title"] == "Edited in TestRail"
