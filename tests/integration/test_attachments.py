"""Attachments as a kind of the one sync engine: case and run files and images a case's text
shows inline (listed by get_attachments_for_case or not) reach TestFiesta through the
signed-URL upload (testfiesta-api.md §3.13) with identical bytes, each downloaded once; the
inline reference points at the copy; a second migration and a crash in the middle leave the
counts and hashes exact."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.engine.apply import Crash
from core.http import IN_FLIGHT
from emulators.testrail import ops, runs
from tests.helpers import Emulated, emulate

#: A 1x1 PNG (67 bytes), and two more files with other bytes.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)
DIAGRAM = PNG + b"diagram"
LOG = b"2026-01-01 checkout started\n2026-01-01 checkout paid\n"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Recorder(httpx.AsyncBaseTransport):
    """Passes requests through, keeps their method and target, and can crash (as a kill
    would) right after the ``crash_after``-th signed upload landed."""

    def __init__(self, inner: httpx.AsyncBaseTransport, crash_after: int | None = None) -> None:
        self.inner = inner
        self.seen: list[str] = []
        self.crash_after = crash_after

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        self.seen.append(f"{request.method} {request.url.path}?{request.url.query.decode()}")
        if request.url.path.startswith("/storage/"):
            assert "authorization" not in request.headers, "the API key went to storage"
            if self.crash_after is not None and self.puts() == self.crash_after:
                raise Crash()
        return response

    def puts(self) -> int:
        return sum(1 for s in self.seen if s.startswith("PUT /storage/"))

    def downloads(self) -> int:
        return sum(1 for s in self.seen if "api/v2/get_attachment/" in s)


FAILURE = PNG + b"failure"
CONSOLE = b"TypeError: total is undefined\n    at pay (checkout.js:12)\n"
NOTES = "Release 2.0 plan — sign-off notes ✅\n".encode()
MATRIX = b"browser;os\nChrome;Windows\n"


def seed(env: Emulated) -> dict[str, Any]:
    """A steps case with a listed screenshot and an inline image #77 that
    get_attachments_for_case does not list; a second case with a log file; a run over both
    with the log as its own file, whose first test has a failed result carrying two files
    and a passed one without, and whose second test has a result without files; a plan with
    one entry over the first case, a file of its own and one of the entry's."""
    state = env.testrail_state
    with state.lock:
        pid = next(iter(state.projects))
        steps = next(t["id"] for t in state.templates.values() if t["name"] == "Test Case (Steps)")
        section = min(state.sections)
        suite = state.sections[section]["suite_id"]
        case = ops.add_case(
            state,
            section,
            {
                "title": "Checkout shows the diagram",
                "template_id": steps,
                "custom_steps_separated": [
                    {"content": "Open checkout", "expected": "Cart shown"},
                    {
                        "content": "Compare with ![](index.php?/attachments/get/77)",
                        "expected": "Same layout",
                    },
                ],
            },
            None,
        )
        other = ops.add_case(state, section, {"title": "Checkout log kept"}, None)
        screenshot = runs.add_attachment(
            state, "case", case["id"], pid, "screenshot.png", PNG, "image/png", None
        )
        state._ids["attachment"] = 76  # the inline image's id is 77
        inline = runs.add_attachment(
            state, "editor", 0, pid, "diagram.png", DIAGRAM, "image/png", None
        )
        log = runs.add_attachment(
            state, "case", other["id"], pid, "checkout.log", LOG, "text/plain", None
        )
        run = runs.add_run(
            state,
            pid,
            {"suite_id": suite, "name": "Checkout regression", "include_all": False,
             "case_ids": [case["id"], other["id"]]},
            None,
        )  # fmt: skip
        tests = {t["case_id"]: t["id"] for t in state.tests.values() if t["run_id"] == run["id"]}
        failed, passed, quiet = runs.add_results(
            state,
            run["id"],
            {"results": [
                {"test_id": tests[case["id"]], "status_id": 5, "comment": "Total missing"},
                {"test_id": tests[case["id"]], "status_id": 1, "comment": "Fixed"},
                {"test_id": tests[other["id"]], "status_id": 1},
            ]},
            None,
        )  # fmt: skip
        run_log = runs.add_attachment(
            state, "run", run["id"], pid, "run.log", LOG + b"run done\n", "text/plain", None
        )
        failure = runs.add_attachment(
            state, "result", failed["id"], pid, "failure.png", FAILURE, "image/png", None
        )
        console = runs.add_attachment(
            state, "result", failed["id"], pid, "console.txt", CONSOLE, "text/plain", None
        )
        plan = runs.add_plan(
            state,
            pid,
            {"name": "Release 2.0 plan", "entries": [
                {"suite_id": suite, "include_all": False, "case_ids": [case["id"]]}
            ]},
            None,
        )  # fmt: skip
        notes = runs.add_attachment(
            state, "plan", plan["id"], pid, "plan-notes.txt", NOTES, "text/plain", None
        )
        [entry] = plan["_entries"]
        matrix = runs.add_attachment(
            state, "plan_entry", entry["id"], pid, "entry-matrix.csv", MATRIX, "text/csv", None
        )
    assert inline["id"] == 77
    assert state.results[failed["id"]]["attachment_ids"] == [failure["id"], console["id"]]
    return {
        "case": case["id"],
        "other": other["id"],
        "run": run["id"],
        "plan": plan["id"],
        "test": tests[case["id"]],
        "results": [failed["id"], passed["id"], quiet["id"]],
        "ids": {
            "screenshot.png": screenshot["id"],
            "attachment-77.png": 77,
            "checkout.log": log["id"],
            "run.log": run_log["id"],
            "failure.png": failure["id"],
            "console.txt": console["id"],
            "plan-notes.txt": notes["id"],
            "entry-matrix.csv": matrix["id"],
        },
        "entry": entry["id"],
    }


#: name -> bytes of every file the seed gives TestRail (the inline image under its copy's name)
FILES = {
    "attachment-77.png": DIAGRAM,
    "checkout.log": LOG,
    "console.txt": CONSOLE,
    "entry-matrix.csv": MATRIX,
    "failure.png": FAILURE,
    "plan-notes.txt": NOTES,
    "run.log": LOG + b"run done\n",
    "screenshot.png": PNG,
}


def tf_case(env: Emulated, case_id: int) -> dict[str, Any]:
    tf = env.testfiesta.state.testfiesta
    return next(
        tf.render_case(r)
        for r in tf.db.cases.values()
        if str(r.get("externalId", "")).endswith(f"/case/{case_id}") and not r["deletedAt"]
    )


def tf_copy(env: Emulated, table: str, kind: str, ident: int) -> dict[str, Any]:
    """The live TestFiesta row of ``table`` whose externalId names TestRail ``kind`` ``ident``."""
    tf = env.testfiesta.state.testfiesta
    [row] = [
        r
        for r in getattr(tf.db, table).values()
        if str(r.get("externalId", "")).endswith(f"/{kind}/{ident}") and not r.get("deletedAt")
    ]
    return dict(row)


def owners(env: Emulated, seeded: dict[str, Any]) -> dict[str, str]:
    """The TestFiesta owner each TestRail file must land on, by file name: ``<kind>:<uid>``."""
    tf = env.testfiesta.state.testfiesta
    case = tf_case(env, seeded["case"])["uid"]
    other = tf_case(env, seeded["other"])["uid"]
    run = tf_copy(env, "runs", "run", seeded["run"])["uid"]
    [execution] = [e["uid"] for e in tf.run_execution_rows(run) if e["testCaseUid"] == case]
    plan = tf_copy(env, "plans", "plan", seeded["plan"])["uid"]
    return {
        "attachment-77.png": f"case:{case}",
        "checkout.log": f"case:{other}",
        "console.txt": f"execution:{execution}",
        "entry-matrix.csv": f"plan:{plan}",
        "failure.png": f"execution:{execution}",
        "plan-notes.txt": f"plan:{plan}",
        "run.log": f"run:{run}",
        "screenshot.png": f"case:{case}",
    }


def tf_files(env: Emulated) -> list[tuple[str, str, int, str]]:
    """(owner ``<kind>:<uid>``, name, size, sha256 of the bytes held) of every file TestFiesta
    holds, by name."""
    tf = env.testfiesta.state.testfiesta
    rows = []
    for a in tf.db.attachments.values():
        [owner] = [
            f"{kind}:{a[column]}"
            for kind, column in (("case", "caseUid"), ("execution", "executionUid"),
                                 ("run", "runUid"), ("plan", "planUid"))
            if a.get(column) is not None
        ]  # fmt: skip
        rows.append((owner, a["name"], a["size"], sha(a["_content"])))
    return sorted(rows, key=lambda row: (row[1], row[0]))


def expected_files(env: Emulated, seeded: dict[str, Any]) -> list[tuple[str, str, int, str]]:
    """What :func:`tf_files` must say: each seeded file once, on its owner's copy."""
    where = owners(env, seeded)
    return [(where[name], name, len(data), sha(data)) for name, data in sorted(FILES.items())]


def requests(recorder: Recorder, method: str) -> int:
    """How many TestRail API requests of ``method`` (``get_attachments_for_test``) were made."""
    return sum(1 for s in recorder.seen if f"api/v2/{method}/" in s)


async def migrate(env: Emulated, tr: Recorder | None = None, tf: Recorder | None = None) -> Any:
    async with env.service(tr, tf) as service:
        [report] = await service.migrate()
    return report


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Emulated:
    return emulate(tmp_path, monkeypatch, cases=0)  # no generated files: only these


async def test_files_of_cases_runs_results_and_plans_arrive_with_identical_bytes(
    env: Emulated,
) -> None:
    seeded = seed(env)
    tr = Recorder(httpx.ASGITransport(env.testrail))
    tf = Recorder(httpx.ASGITransport(env.testfiesta))
    report = await migrate(env, tr, tf)
    assert report.complete, report.warnings
    case = tf_case(env, seeded["case"])
    # get_attachment names no file: the inline image's name says which TestRail file it was;
    # a result's files land on its test's execution (TestFiesta has no result files)
    assert tf_files(env) == expected_files(env, seeded)
    assert [(name, size) for _, name, size, _ in tf_files(env)] == [
        ("attachment-77.png", 74), ("checkout.log", 53), ("console.txt", 58),
        ("entry-matrix.csv", 26), ("failure.png", 74), ("plan-notes.txt", 40), ("run.log", 62),
        ("screenshot.png", 67),
    ]  # fmt: skip
    assert tr.downloads() == 8, "each file is downloaded once"
    assert tf.puts() == 8
    # the listings the API needs, no more: one per test whose results carry attachment_ids
    # (the second test's result and the passed result carry none), one per plan and per plan
    # entry, one per run (the plan's entry run too); each case's once per observation of it
    assert requests(tr, "get_attachments_for_test") == 1
    assert [s for s in tr.seen if "get_attachments_for_test" in s] == [
        f"GET /index.php?/api/v2/get_attachments_for_test/{seeded['test']}"
    ]
    assert requests(tr, "get_attachments_for_plan") == 1
    assert [s for s in tr.seen if "get_attachments_for_plan_entry" in s] == [
        f"GET /index.php?/api/v2/get_attachments_for_plan_entry/{seeded['plan']}/{seeded['entry']}"
    ]
    assert requests(tr, "get_attachments_for_run") == 2
    # the uploads name their owners as §3.13 wants: externalId, and runId for an execution
    tfstate = env.testfiesta.state.testfiesta
    [copy] = [a for a in tfstate.db.attachments.values() if a["name"] == "attachment-77.png"]
    assert [s["description"] for s in case["steps"]] == [
        "Open checkout",
        f"Compare with ![]({copy['objectUrl']}#testrail-attachment-77)",
    ]
    parity = report.parity["attachment"]
    assert (parity.testrail, parity.testfiesta, parity.missing, parity.extra) == (8, 8, [], [])
    assert parity.notes == [
        "by owner on TestRail: case 3, run 1, result 2, plan 2; on TestFiesta a result's file "
        "is its execution's (TestFiesta has no result files)"
    ]
    assert report.parity["case"].exact, report.parity["case"].differing
    # the state store keeps the hashes, and the owner under its kind's name
    async with env.service() as service:
        store = service.store
        assert store is not None
        bases = {b["testrail"]: b["values"] for b in store.bases("attachment")}
    ids = seeded["ids"]
    assert {key: values["sha256"] for key, values in bases.items()} == {
        f"tr:attachment:{ids[name]}": sha(data) for name, data in FILES.items()
    }
    failure = bases[f"tr:attachment:{ids['failure.png']}"]
    assert (failure["name"], failure["size"], failure["result"], failure["test"]) == (
        "failure.png", 74, f"tr:result:{seeded['results'][0]}", f"tr:test:{seeded['test']}"
    )  # fmt: skip
    plan_file = bases[f"tr:attachment:{ids['plan-notes.txt']}"]
    assert (plan_file["plan"], plan_file.get("case")) == (f"tr:plan:{seeded['plan']}", None)


async def test_migrate_twice_then_sync_copies_and_downloads_nothing_again(env: Emulated) -> None:
    seeded = seed(env)
    await migrate(env)
    before = tf_files(env)
    assert before == expected_files(env, seeded)
    tr = Recorder(httpx.ASGITransport(env.testrail))
    tf = Recorder(httpx.ASGITransport(env.testfiesta))
    again = await migrate(env, tr, tf)
    assert tf_files(env) == before and len(before) == 8
    assert tr.downloads() == 0 and tf.puts() == 0
    # the result's files are in the base: their names need no listing
    assert requests(tr, "get_attachments_for_test") == 0
    assert (again.parity["attachment"].testfiesta, again.parity["attachment"].missing) == (8, [])
    async with env.service() as service:
        [cycle] = await service.sync()
    assert cycle.writes == 0, "the rewritten inline reference came back as a change"
    assert tf_files(env) == before


@pytest.mark.parametrize("crash_after", range(1, len(FILES) + 1))
async def test_crashed_after_an_upload_the_restart_leaves_counts_and_hashes_exact(
    env: Emulated, crash_after: int
) -> None:
    """A crash right after the n-th file reached storage, before railfiesta saw it land, for
    every n: the files of every owner kind get cut once."""
    seeded = seed(env)
    tf = Recorder(httpx.ASGITransport(env.testfiesta), crash_after=crash_after)
    with pytest.raises(Crash):
        await migrate(env, None, tf)
    landed = tf_files(env)
    assert len(landed) == crash_after
    [cut] = [a for a in env.testfiesta.state.testfiesta.db.attachments.values()][-1:]
    on_case = cut["caseUid"] is not None
    tr = Recorder(httpx.ASGITransport(env.testrail))
    tf = Recorder(httpx.ASGITransport(env.testfiesta))
    report = await migrate(env, tr, tf)
    assert report.warnings == []
    assert tf_files(env) == expected_files(env, seeded)
    assert report.parity["attachment"].missing == []
    left = len(FILES) - crash_after
    # the files not copied yet; a cut case file is found in its case's listing, any other
    # (TestFiesta lists no run, execution or plan files) is read once more and PUT again to
    # the signed URL its cut upload got
    assert tr.downloads() == left + (0 if on_case else 1)
    assert tf.puts() == left + (0 if on_case else 1)
    assert sum(1 for s in tf.seen if s.startswith("POST /v1/acme/projects/ACME/data/url")) == left


async def test_a_result_added_with_a_file_after_the_migration_reaches_its_execution(
    env: Emulated,
) -> None:
    seeded = seed(env)
    await migrate(env)
    state = env.testrail_state
    retry = b"retry 2: paid after 3.2 s\n"
    with state.lock:
        pid = next(iter(state.projects))
        test = next(
            t["id"]
            for t in state.tests.values()
            if t["run_id"] == seeded["run"] and t["case_id"] == seeded["other"]
        )
        [result] = runs.add_results(
            state, seeded["run"], {"results": [{"test_id": test, "status_id": 5}]}, None
        )
        runs.add_attachment(
            state, "result", result["id"], pid, "retry.log", retry, "text/plain", None
        )
    tr = Recorder(httpx.ASGITransport(env.testrail))
    tf = Recorder(httpx.ASGITransport(env.testfiesta))
    async with env.service(tr, tf) as service:
        [cycle] = await service.sync()
    assert (cycle.exit_code, cycle.warnings) == (0, [])
    assert cycle.applied is not None
    # the new result, its status on the execution, and its file
    assert dict(cycle.applied.done) == {
        "create testfiesta result": 1,
        "update testfiesta test": 1,
        "create testfiesta attachment": 1,
    }
    tfstate = env.testfiesta.state.testfiesta
    run = tf_copy(env, "runs", "run", seeded["run"])["uid"]
    other = tf_case(env, seeded["other"])["uid"]
    [execution] = [e["uid"] for e in tfstate.run_execution_rows(run) if e["testCaseUid"] == other]
    assert [f for f in tf_files(env) if f[1] == "retry.log"] == [
        (f"execution:{execution}", "retry.log", len(retry), sha(retry))
    ]
    assert len(tf_files(env)) == 9
    # one listing for the one test whose new result names a file, one download, one upload
    assert [s for s in tr.seen if "get_attachments_for_test" in s] == [
        f"GET /index.php?/api/v2/get_attachments_for_test/{test}"
    ]
    assert tr.downloads() == 1 and tf.puts() == 1


class SlowCaseLists(httpx.AsyncBaseTransport):
    """TestRail as it is, except each ``get_attachments_for_case`` answers after 20 ms (a
    round trip longer than a pacer slot); counts how many of them are open at once."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.open = self.most_open = 0
        self.asked: list[int] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        if "get_attachments_for_case/" not in url:
            return await self.inner.handle_async_request(request)
        self.asked.append(int(url.rsplit("/", 1)[-1].split("&")[0]))
        self.open += 1
        self.most_open = max(self.most_open, self.open)
        try:
            await asyncio.sleep(0.02)
            return await self.inner.handle_async_request(request)
        finally:
            self.open -= 1


async def test_case_attachment_lists_are_read_four_at_once_and_every_file_lands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = emulate(tmp_path, monkeypatch, cases=12)  # and the seed's two
    seeded = seed(env)
    slow = SlowCaseLists(httpx.ASGITransport(env.testrail))
    async with env.service(testrail_transport=slow) as service:
        [report] = await service.migrate()
    assert report.complete, report.warnings
    case_ids = sorted(env.testrail_state.cases)
    assert len(case_ids) == 14 and sorted(slow.asked) == case_ids  # each case listed once
    assert slow.most_open == IN_FLIGHT == 4
    assert {name for _, name, _, _ in tf_files(env)} >= set(FILES)
    assert {(o, n, s, h) for o, n, s, h in tf_files(env) if n in FILES} == set(
        expected_files(env, seeded)
    )
