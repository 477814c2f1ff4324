"""Issue 7's input "Migrate twice; and kill after the second attachment, then restart: counts
and hashes stay exact", with a real process and a real SIGKILL.

Both emulators listen on TCP ports of 127.0.0.1 (uvicorn threads of this process) and
``railfiesta migrate --json`` runs in a child process (:func:`tests.crashkit.run_killable`).
The project holds the eight files of :func:`tests.integration.test_attachments.seed`: on
cases (one an inline image no listing shows), a run, a result, a plan and its entry. The TestFiesta
emulator's front (:class:`Hold`) lets the second signed ``PUT`` reach storage and keeps its
answer back, and the child is SIGKILLed right then: the file is in TestFiesta, railfiesta
never saw it land. The restart finishes it without a second copy; every file is then on
TestFiesta exactly once, on its owner's copy, with its name, size and sha256; the state store
holds each sha256; a second migration downloads and uploads nothing.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from core.store import StateStore
from emulators.server import start_in_thread
from tests.crashkit import Ended, Kill, run_killable
from tests.helpers import TESTFIESTA_URL, TESTRAIL_URL, Emulated, emulate
from tests.integration.test_attachments import FILES, expected_files, seed, sha, tf_files


class Hold:
    """In front of an emulator app: notes every request (``"<method> <path>?<query>"`` in
    ``seen``). With ``hold_at`` n, the n-th ``PUT`` to storage is handed to the app (its bytes
    are stored), then its answer is kept back until the client goes away, and the moment is
    appended to ``arrivals`` (the kill is timed from it)."""

    def __init__(self, app: Any, arrivals: list[float], hold_at: int | None = None) -> None:
        self.app = app
        self.arrivals = arrivals
        self.hold_at = hold_at
        self.seen: list[str] = []

    def puts(self) -> int:
        return sum(1 for s in self.seen if s.startswith("PUT /storage/"))

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"").decode()
        self.seen.append(f"{scope['method']} {scope['path']}?{query}")
        if not (scope["method"] == "PUT" and self.hold_at and self.puts() == self.hold_at):
            await self.app(scope, receive, send)
            return
        held: list[Any] = []

        async def keep(message: Any) -> None:
            held.append(message)

        await self.app(scope, receive, keep)
        assert held and held[0]["status"] == 200, "the held upload did not land"
        self.arrivals.append(time.monotonic())
        while (await receive())["type"] != "http.disconnect":
            pass  # the client never hears of it: it is killed first


@dataclass
class Served:
    env: Emulated
    seeded: dict[str, Any]
    testrail: Hold
    testfiesta: Hold
    arrivals: list[float]

    def migrate(self, log: Path, kill: Kill | None = None) -> Ended:
        """``railfiesta migrate --json`` in a child process, SIGKILLed at ``kill``."""
        where = ["--config", str(self.env.config_path), "--state", str(self.env.state_dir)]
        argv = [sys.executable, "-m", "tui.cli", "migrate", "--json", *where]
        return run_killable(argv, arrivals=self.arrivals, kill=kill, log=log, timeout=120.0)

    def downloads(self) -> int:
        return sum(1 for s in self.testrail.seen if "api/v2/get_attachment/" in s)


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    env = emulate(tmp_path, monkeypatch, cases=0)
    seeded = seed(env)
    arrivals: list[float] = []
    testrail, testfiesta = Hold(env.testrail, arrivals), Hold(env.testfiesta, arrivals)
    tr_server, tf_server = start_in_thread(testrail), start_in_thread(testfiesta)
    try:
        text = env.config_path.read_text(encoding="utf-8").replace(TESTRAIL_URL, tr_server.url)
        env.config_path.write_text(text.replace(TESTFIESTA_URL, tf_server.url), "utf-8")
        yield Served(env, seeded, testrail, testfiesta, arrivals)
    finally:
        tf_server.stop()
        tr_server.stop()


def report_of(ended: Ended) -> dict[str, Any]:
    assert not ended.killed
    assert ended.returncode == 0, ended.stderr.read_text()
    [report] = json.loads(ended.stdout.read_text())["projects"]
    return dict(report)


def test_killed_after_the_second_attachment_the_restart_and_a_second_migration_stay_exact(
    served: Served, tmp_path: Path
) -> None:
    served.testfiesta.hold_at = 2
    killed = served.migrate(tmp_path / "killed", Kill(nth_write=1, delay=0.0))
    assert killed.killed, killed.stderr.read_text()
    tf = served.env.testfiesta.state.testfiesta
    # the plan's file, then its entry's: cut after it reached storage (TestFiesta lists no
    # plan files, so only the signed URL it got can finish it without a second copy)
    landed = [(a["name"], a["planUid"]) for a in tf.db.attachments.values()]
    plan_uid = landed[0][1]
    assert landed == [("plan-notes.txt", plan_uid), ("entry-matrix.csv", plan_uid)]
    assert served.downloads() == 8

    served.testfiesta.hold_at = None
    before = len(served.testrail.seen), len(served.testfiesta.seen)
    restarted = report_of(served.migrate(tmp_path / "restart"))
    assert restarted["warnings"] == []
    assert tf_files(served.env) == expected_files(served.env, served.seeded)
    parity = restarted["parity"]["attachment"]
    assert (parity["testrail"], parity["testfiesta"], parity["missing"], parity["extra"]) == (
        8, 8, [], []
    )  # fmt: skip
    # the six files not copied yet, and the cut one once more: PUT again to its signed URL
    assert served.downloads() == 8 + 7
    assert served.testfiesta.puts() == 2 + 7
    uploads = [s for s in served.testfiesta.seen[before[1] :] if s.endswith("/data/url?")]
    assert len(uploads) == 6

    again = report_of(served.migrate(tmp_path / "again"))
    assert again["warnings"] == []
    assert tf_files(served.env) == expected_files(served.env, served.seeded)
    assert served.downloads() == 15 and served.testfiesta.puts() == 9, "copied again"
    assert again["parity"]["attachment"]["testfiesta"] == 8

    ids = served.seeded["ids"]
    with StateStore(served.env.state_dir) as store:
        hashes = {b["testrail"]: b["values"]["sha256"] for b in store.bases("attachment")}
        journal = store.family("journal")
    assert hashes == {f"tr:attachment:{ids[name]}": sha(data) for name, data in FILES.items()}
    assert journal == []
