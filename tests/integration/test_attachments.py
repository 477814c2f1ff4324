"""Attachments as a kind of the one sync engine: case and run files and images a case's text
shows inline (listed by get_attachments_for_case or not) reach TestFiesta through the
signed-URL upload (testfiesta-api.md §3.13) with identical bytes, each downloaded once; the
inline reference points at the copy; a second migration and a crash in the middle leave the
counts and hashes exact."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.engine.apply import Crash
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


def seed(env: Emulated) -> dict[str, Any]:
    """A steps case with a listed screenshot and an inline image #77 that
    get_attachments_for_case does not list; a second case with a log file; a run with the
    log as its own file."""
    state = env.testrail_state
    with state.lock:
        pid = next(iter(state.projects))
        steps = next(t["id"] for t in state.templates.values() if t["name"] == "Test Case (Steps)")
        section = min(state.sections)
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
    assert inline["id"] == 77
    return {"case": case["id"], "other": other["id"], "ids": [screenshot["id"], 77, log["id"]]}


def tf_case(env: Emulated, case_id: int) -> dict[str, Any]:
    tf = env.testfiesta.state.testfiesta
    return next(
        tf.render_case(r)
        for r in tf.db.cases.values()
        if str(r.get("externalId", "")).endswith(f"/case/{case_id}") and not r["deletedAt"]
    )


def tf_files(env: Emulated) -> list[tuple[int | None, str, str]]:
    """(case uid, name, sha256 of the bytes held) of every file TestFiesta holds."""
    tf = env.testfiesta.state.testfiesta
    return sorted(
        ((a["caseUid"], a["name"], sha(a["_content"])) for a in tf.db.attachments.values()),
        key=lambda row: row[1],
    )


async def migrate(env: Emulated, tr: Recorder | None = None, tf: Recorder | None = None) -> Any:
    async with env.service(tr, tf) as service:
        [report] = await service.migrate()
    return report


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Emulated:
    return emulate(tmp_path, monkeypatch, cases=0)  # no generated files: only these


async def test_files_and_the_unlisted_inline_image_arrive_with_identical_bytes(
    env: Emulated,
) -> None:
    seeded = seed(env)
    tr = Recorder(httpx.ASGITransport(env.testrail))
    tf = Recorder(httpx.ASGITransport(env.testfiesta))
    report = await migrate(env, tr, tf)
    assert report.complete
    case, other = tf_case(env, seeded["case"]), tf_case(env, seeded["other"])
    assert tf_files(env) == [
        # get_attachment names no file: the name says which TestRail file it was
        (case["uid"], "attachment-77.png", sha(DIAGRAM)),
        (other["uid"], "checkout.log", sha(LOG)),
        (case["uid"], "screenshot.png", sha(PNG)),
    ]
    assert tr.downloads() == 3, "each file is downloaded once"
    assert tf.puts() == 3
    # the inline reference points at the copy of #77
    tfstate = env.testfiesta.state.testfiesta
    [copy] = [a for a in tfstate.db.attachments.values() if a["name"] == "attachment-77.png"]
    assert [s["description"] for s in case["steps"]] == [
        "Open checkout",
        f"Compare with ![]({copy['objectUrl']}#testrail-attachment-77)",
    ]
    parity = report.parity["attachment"]
    assert (parity.testrail, parity.testfiesta, parity.missing, parity.extra) == (3, 3, [], [])
    assert report.parity["case"].exact, report.parity["case"].differing
    # the state store keeps the hashes
    async with env.service() as service:
        store = service.store
        assert store is not None
        bases = {b["testrail"]: b["values"]["sha256"] for b in store.bases("attachment")}
    assert bases == {
        f"tr:attachment:{seeded['ids'][0]}": sha(PNG),
        "tr:attachment:77": sha(DIAGRAM),
        f"tr:attachment:{seeded['ids'][2]}": sha(LOG),
    }


async def test_migrate_twice_then_sync_copies_and_downloads_nothing_again(env: Emulated) -> None:
    seed(env)
    await migrate(env)
    before = tf_files(env)
    tr = Recorder(httpx.ASGITransport(env.testrail))
    tf = Recorder(httpx.ASGITransport(env.testfiesta))
    again = await migrate(env, tr, tf)
    assert tf_files(env) == before and len(before) == 3
    assert tr.downloads() == 0 and tf.puts() == 0
    assert (again.parity["attachment"].testfiesta, again.parity["attachment"].missing) == (3, [])
    async with env.service() as service:
        [cycle] = await service.sync()
    assert cycle.writes == 0, "the rewritten inline reference came back as a change"


async def test_killed_after_the_second_upload_the_restart_leaves_counts_and_hashes_exact(
    env: Emulated,
) -> None:
    seed(env)
    tf = Recorder(httpx.ASGITransport(env.testfiesta), crash_after=2)
    with pytest.raises(Crash):
        await migrate(env, None, tf)
    assert len(tf_files(env)) == 2
    tr = Recorder(httpx.ASGITransport(env.testrail))
    report = await migrate(env, tr)
    files = tf_files(env)
    assert sorted(name for _, name, _ in files) == [
        "attachment-77.png",
        "checkout.log",
        "screenshot.png",
    ]
    assert {name: digest for _, name, digest in files} == {
        "checkout.log": sha(LOG),
        "attachment-77.png": sha(DIAGRAM),
        "screenshot.png": sha(PNG),
    }
    assert report.parity["attachment"].missing == []
    assert tr.downloads() == 1, "only the file not copied yet is read again"
