"""The order for a team that wants to start (issue 7, item 3): a migration puts the usable core
on TestFiesta first (folders, cases, runs, plans and the tests' latest statuses), then
backfills result history and files; a run that stops part-way says what is still
backfilling, and the next ``migrate`` or ``sync --once`` continues there."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from core.engine.apply import Crash
from core.events import Activity, CoreLanded
from tests.helpers import emulate
from tests.integration.test_attachments import Recorder, expected_files, seed, tf_files
from tui.render import print_migration_reports


def _writes(seen: list[str]) -> list[str]:
    return [s for s in seen if not s.startswith("GET ")]


def _is_backfill(request: str) -> bool:
    """A write of a result (the shim's add_result*) or of a file (signed URL, PUT, POST /data)."""
    return (
        "api/v2/add_result" in request
        or "/data/url" in request
        or request.startswith("PUT /storage/")
        or request.startswith("POST /v1/acme/projects/ACME/data?")
    )


class RefuseResults(httpx.AsyncBaseTransport):
    """TestFiesta as it is, except that the shim's add_results* answer 400 while ``refuse``."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.refuse = True

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.refuse and "api/v2/add_result" in str(request.url):
            return httpx.Response(400, json={"error": "Field :results is not valid."})
        return await self.inner.handle_async_request(request)


async def test_the_usable_core_lands_before_results_and_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = emulate(tmp_path, monkeypatch, cases=0)  # only the seed's files
    seeded = seed(env)
    recorder = Recorder(httpx.ASGITransport(env.testfiesta))
    events: list[object] = []
    async with env.service(testfiesta_transport=recorder) as service:
        service.subscribe(events.append)
        service.subscribe(
            lambda e: recorder.seen.append("CORE LANDED") if isinstance(e, CoreLanded) else None
        )
        [report] = await service.migrate()
        status = service.status()
    writes = _writes(recorder.seen)
    first = next(i for i, w in enumerate(writes) if _is_backfill(w))
    # the event that times "usable core" comes once, right before the first backfill write
    assert writes.index("CORE LANDED") == first - 1
    assert [(e.project, e.backfilling) for e in events if isinstance(e, CoreLanded)] == [
        ("Acme Web Shop", ("results", "attachments"))
    ]
    writes.remove("CORE LANDED")
    first -= 1
    core = [w for w in writes[first:] if not _is_backfill(w)]
    assert core == []  # nothing of the core after the first result or file
    core_writes = writes[:first]
    assert sum(1 for w in core_writes if w.startswith("POST /v1/acme/projects/ACME/cases")) >= 1
    # the run and the plan entry's run
    assert sum(1 for w in core_writes if w.startswith("POST /v1/acme/projects/ACME/runs")) == 2
    assert sum(1 for w in core_writes if w.startswith("POST /v1/acme/projects/ACME/plans")) == 1
    # the tests' latest statuses (passed, passed) are set on the executions before any result
    tf = env.testfiesta.state.testfiesta
    run_uid = next(
        r["uid"]
        for r in tf.db.runs.values()
        if str(r["externalId"]).endswith(f"/run/{seeded['run']}")
    )
    assert sum(1 for w in core_writes if "/executions/" in w and w.startswith("PATCH")) >= 1
    assert len(tf.run_execution_rows(run_uid)) == 2
    assert [
        e.message for e in events if isinstance(e, Activity) and "backfilling" in e.message
    ] == [
        "Acme Web Shop: folders, cases, runs and their latest statuses are on TestFiesta; "
        "backfilling results, attachments"
    ]
    assert report.backfilling == {}
    assert report.complete
    assert report.kinds["results"].testrail == report.kinds["results"].testfiesta == 3
    assert tf_files(env) == expected_files(env, seeded)
    assert status["backfilling"] == {}


async def test_refused_results_are_still_backfilling_and_the_next_migration_lands_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env = emulate(tmp_path, monkeypatch, cases=0)  # only the seed's files
    seed(env)
    refusing = RefuseResults(httpx.ASGITransport(env.testfiesta))
    async with env.service(testfiesta_transport=refusing) as service:
        [report] = await service.migrate()
        status = service.status()
    # the three results of the run wait, and the two files of the failed one; everything
    # else landed, the other six files included
    assert report.backfilling == {"results": 3, "attachments": 2}
    assert not report.complete
    assert report.kinds["cases"].testrail == report.kinds["cases"].testfiesta == 2
    assert report.kinds["results"].testfiesta == 0
    pair = str(next(iter(env.testrail_state.projects)))
    assert status["backfilling"] == {pair: {"result": 3, "attachment": 2}}
    print_migration_reports([report], as_json=False)
    assert (
        "still backfilling: results (3 left), attachments (2 left): "
        "run the same command again to continue where it stopped\n"
    ) in capsys.readouterr().out
    print_migration_reports([report], as_json=True)
    assert json.loads(capsys.readouterr().out)["projects"][0]["backfilling"] == {
        "results": 3,
        "attachments": 2,
    }

    refusing.refuse = False
    async with env.service(testfiesta_transport=refusing) as service:
        [again] = await service.migrate()
        assert service.status()["backfilling"] == {}
    assert again.backfilling == {}
    assert again.complete
    assert again.kinds["results"].testrail == again.kinds["results"].testfiesta == 3


async def test_a_kill_while_backfilling_is_continued_by_sync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = emulate(tmp_path, monkeypatch, cases=0)  # only the seed's files
    seeded = seed(env)
    # killed right after the first file landed: the results are in, the other files not
    killer = Recorder(httpx.ASGITransport(env.testfiesta), crash_after=1)
    with pytest.raises(Crash):
        async with env.service(testfiesta_transport=killer) as service:
            await service.migrate()
    pair = str(next(iter(env.testrail_state.projects)))
    async with env.service() as service:
        assert service.status()["backfilling"] == {pair: {"attachment": 8}}
    # sync --once reads everything again (the cursors moved past the files) and lands the rest
    recorder = Recorder(httpx.ASGITransport(env.testfiesta))
    async with env.service(testfiesta_transport=recorder) as service:
        [report] = await service.sync()
        assert service.status()["backfilling"] == {}
    assert report.full
    assert report.applied is not None and not report.applied.failed
    assert tf_files(env) == expected_files(env, seeded)
    # the seven files not copied yet, and the cut one PUT again to its signed URL (it is not a
    # case's: TestFiesta lists no run, execution or plan files to find it by)
    [cut] = list(env.testfiesta.state.testfiesta.db.attachments.values())[:1]
    assert cut["caseUid"] is None
    assert recorder.puts() == 8


def test_status_says_what_is_still_backfilling() -> None:
    import io

    from tui.render import print_status

    out = io.StringIO()
    print_status(
        {
            "sync": {"enabled": False, "interval": 300},
            "holder": None,
            "conflicts": 0,
            "pending": 0,
            "last_poll": None,
            "requests": {"testrail": 0, "testfiesta": 0},
            "backfilling": {"1": {"result": 3, "attachment": 2}},
        },
        as_json=False,
        out=out,
    )
    assert (
        "backfilling:     project 1: result (3 left), attachment (2 left); "
        "migrate or sync continues it\n"
    ) in out.getvalue()
