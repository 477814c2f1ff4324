"""SIGKILL a real ``sync`` process at random moments; every resume applies each change once.

Both emulators listen on real TCP ports of 127.0.0.1 (uvicorn threads of this process). The
project is migrated (and synced once) in-process, then each side gets 200 changes: 150 case
title edits and 50 new cases, on different cases, so nothing conflicts. Then
``tests/integration/sync_child.py`` runs one sync cycle in a child process, which is SIGKILLed
at a random moment and started again, until one run ends by itself (after :data:`KILLS`
kills the run is left to finish). Whatever the kills hit (start-up, observation, recovery,
between two journal steps, inside a store transaction, mid-request, after a request landed
but before its answer was read), every edit ends up on the other side, every new case exists
there exactly once, the state store links every case exactly once, the journal is empty, and
the next run writes nothing (or first copies TestRail's defaults of the cases it created).

The moments: a quarter of the kills come a random 0.05-1.5 s after the process started
(mostly before its first write: start-up, observation, recovery); the others a random 0-10 ms
after the n-th write request of that run reached an emulator, n log-uniform in 1-400 (dense in
the 50-odd creates that open the apply, reaching into the 300 updates after them, whatever the
machine's speed; a kill timed from the start alone would rarely reach a write, as a run takes
over a second to get there). The project is migrated once per module and each test works on
copies of both emulators' states and of the state store. ``RAILFIESTA_KILL_TRIALS=N`` runs N
seeds (3 by default).
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import random
import shutil
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from core.config import load_config
from core.service import Service
from core.store import StateStore
from emulators import testfiesta as testfiesta_emulator
from emulators import testrail as testrail_emulator
from emulators.server import start_in_thread
from emulators.testrail import ops
from tests.crashkit import Gate, Hung, Kill, draw_kill, run_killable
from tests.helpers import API_KEY, TESTFIESTA_URL, TESTRAIL_URL, TOKEN, Emulated, emulate

CHILD = Path(__file__).with_name("sync_child.py")
PROJECT_KEY = "ACME"

#: per side: title edits and new cases; the project's cases (each edited on one side at most)
EDITS, NEW, CASES = 150, 50, 310
#: the share of kills timed from the process start, and their delay (uniform, seconds)
EARLY, AFTER_START = 0.25, (0.05, 1.5)
#: the others: after the n-th write request of the run (log-uniform), plus a delay (seconds)
NTH_WRITE, AFTER_WRITE = (1, 400), (0.0, 0.01)
#: kills per seed; the run after the last one is left to finish
KILLS = 6
#: one run taking longer than this is a hang, not a slow machine
RUN_TIMEOUT = 120.0

SEEDS = list(range(int(os.environ.get("RAILFIESTA_KILL_TRIALS") or 3)))
#: The seeds run on one xdist worker (``--dist loadgroup``): the project is migrated once,
#: not once on each worker that gets a seed.
pytestmark = pytest.mark.xdist_group("kill-resume")
WRITES = ("create", "update", "archive", "delete")


@dataclass
class Run:
    """One child process: its ``kill`` (None: left to finish), whether it was ``killed`` or
    ended by itself with ``report``, the ``writes`` requests the emulators got from it, and
    what a kill left in the journal (``"<state> <action> <side>"`` -> entries)."""

    kill: Kill | None
    killed: bool
    seconds: float
    writes: int
    journal: dict[str, int] = field(default_factory=dict)
    report: dict[str, Any] | None = None

    def summary(self) -> str:
        if not self.killed:
            report = self.report or {}
            return (
                f"ran {self.seconds:.1f} s, {self.writes} write requests, recovered "
                f"{report.get('recovered')}, exit code {report.get('exit_code')}: "
                f"{writes(report)}"
            )
        return (
            f"killed {self.kill} ({self.seconds:.1f} s, {self.writes} write requests): "
            f"journal {self.journal}"
        )


@dataclass
class Served:
    """The emulators on TCP, the config pointing at them, and the changes made."""

    env: Emulated
    #: when each write request reached either emulator (cleared before each run)
    arrivals: list[float]
    tr_edits: dict[int, str] = field(default_factory=dict)  # TestRail case id -> title
    tf_edits: dict[int, str] = field(default_factory=dict)  # TestFiesta case uid -> name
    tf_edited: dict[int, str] = field(default_factory=dict)  # and by TestRail case id
    tr_new: list[str] = field(default_factory=list)
    tf_new: list[str] = field(default_factory=list)

    @property
    def tr(self) -> Any:
        return self.env.testrail_state

    @property
    def tf(self) -> Any:
        return self.env.testfiesta.state.testfiesta

    def service(self) -> Service:
        """A Service over real HTTP to the TCP servers (no in-process transport)."""
        return Service(load_config(self.env.config_path), state_dir=self.env.state_dir)

    def tf_cases(self) -> list[dict[str, Any]]:
        """The live TestFiesta cases of the project (stored rows)."""
        project_uid = self.tf.project(PROJECT_KEY)["uid"]
        return [
            r
            for r in self.tf.db.cases.values()
            if r["projectUid"] == project_uid and not r["deletedAt"]
        ]

    def tf_row(self, case_id: int) -> dict[str, Any]:
        """The TestFiesta copy of TestRail case ``case_id`` (its externalId names it)."""
        [row] = [
            r for r in self.tf_cases() if str(r.get("externalId")).endswith(f"/case/{case_id}")
        ]
        return row

    def tr_cases(self) -> dict[int, dict[str, Any]]:
        with self.tr.lock:
            return {cid: dict(row) for cid, row in self.tr.cases.items()}


class Switch:
    """The ASGI app a server hands its requests to, swapped per test (the ports stay: the
    TestRail URL, port included, is the identity every migrated record carries)."""

    def __init__(self) -> None:
        self.app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


@dataclass
class Baseline:
    """A migrated project, served once per module: both emulators' states and the state
    store right after the migration, copied for each test."""

    env: Emulated
    switches: tuple[Switch, Switch]
    state_dir: Path

    def copy(self, tmp_path: Path) -> Served:
        """Fresh emulators (deep copies of the migrated states) behind the same ports, and a
        copy of the migrated state store."""
        tr_state = self.env.testrail_state
        with tr_state.lock:
            tr_copy = copy.deepcopy(tr_state, {id(tr_state.lock): threading.RLock()})
        tf_copy = copy.deepcopy(self.env.testfiesta.state.testfiesta)
        env = Emulated(
            testrail=testrail_emulator.create_app(tr_copy, user="qa@example.com", api_key=API_KEY),
            testfiesta=testfiesta_emulator.create_app(tf_copy, handle="acme", token=TOKEN),
            testrail_state=tr_copy,
            config_path=self.env.config_path,
            state_dir=tmp_path / "state",
        )
        shutil.copytree(self.state_dir, env.state_dir)
        arrivals: list[float] = []
        self.switches[0].app = Gate(env.testrail, arrivals)
        self.switches[1].app = Gate(env.testfiesta, arrivals)
        return Served(env, arrivals)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Baseline]:
    """Emulators on TCP, migrated once; the secrets stay in the environment for the children."""
    tmp = tmp_path_factory.mktemp("baseline")
    with pytest.MonkeyPatch.context() as monkeypatch:
        env = emulate(tmp, monkeypatch, cases=CASES)
        switches = (Switch(), Switch())
        switches[0].app, switches[1].app = env.testrail, env.testfiesta
        testrail, testfiesta = start_in_thread(switches[0]), start_in_thread(switches[1])
        try:
            text = env.config_path.read_text(encoding="utf-8")
            text = text.replace(TESTRAIL_URL, testrail.url)
            env.config_path.write_text(text.replace(TESTFIESTA_URL, testfiesta.url), "utf-8")
            asyncio.run(migrate_and_sync(Served(env, [])))
            yield Baseline(env, switches, env.state_dir)
        finally:
            testfiesta.stop()
            testrail.stop()


@pytest.fixture
def served(baseline: Baseline, tmp_path: Path) -> Served:
    return baseline.copy(tmp_path)


async def migrate_and_sync(served: Served) -> None:
    """Migrate, then sync once: nothing to write, so every write later is one of ours."""
    async with served.service() as service:
        [migrated] = await service.migrate()
        assert migrated.complete
        [synced] = await service.sync()
    assert synced.writes == 0


async def make_changes(served: Served, rng: random.Random) -> None:
    """200 changes a side on disjoint cases: titles edited, new cases in random folders."""
    case_ids = sorted(served.tr_cases())
    rng.shuffle(case_ids)
    on_testrail, on_testfiesta = case_ids[:EDITS], case_ids[EDITS : 2 * EDITS]
    with served.tr.lock:
        sections = sorted(served.tr.sections)
        for case_id in on_testrail:
            title = f"tr-edit-{case_id}"
            ops.update_case(served.tr, case_id, {"title": title}, None)
            served.tr_edits[case_id] = title
        for n in range(NEW):
            title = f"tr-new-{n}"
            ops.add_case(served.tr, rng.choice(sections), {"title": title}, None)
            served.tr_new.append(title)
    for case_id in on_testfiesta:
        row = served.tf_row(case_id)
        name = f"tf-edit-{row['uid']}"
        assert served.tf.update(row, {"name": name})
        served.tf_edits[row["uid"]] = name
        served.tf_edited[case_id] = name
    project_uid = served.tf.project(PROJECT_KEY)["uid"]
    root = served.tf.root_folder(PROJECT_KEY)["uid"]
    folders = [f["uid"] for f in served.tf.folders(PROJECT_KEY) if f["uid"] != root]
    served.tf_new = [f"tf-new-{n}" for n in range(NEW)]
    new_cases = [
        {
            "name": name,
            "parentId": rng.choice(folders),
            "projectId": project_uid,
            "steps": [],
            "customFields": {},
        }
        for name in served.tf_new
    ]
    async with served.service() as service:
        assert service.testfiesta is not None
        created = await service.testfiesta.create_cases(PROJECT_KEY, new_cases)
    assert len(created) == NEW


def journal_states(state_dir: Path) -> dict[str, int]:
    """What the journal holds: entries per ``"<state> <action> <side>"``."""
    with StateStore(state_dir) as store:
        entries = [store.get_in("journal", i) for i in store.family("journal")]
    return dict(
        Counter(f"{e['state']} {e['op']['action']} {e['op'].get('side')}" for e in entries if e)
    )


def run_child(served: Served, kill: Kill | None, log: Path) -> Run:
    """One ``sync_child.py``, SIGKILLed at ``kill`` unless it ends first (``None``: left to
    finish)."""
    try:
        ended = run_killable(
            [sys.executable, str(CHILD), str(served.env.config_path), str(served.env.state_dir)],
            arrivals=served.arrivals,
            kill=kill,
            log=log,
            timeout=RUN_TIMEOUT,
        )
    except Hung as hung:
        pytest.fail(str(hung))
    run = Run(kill, ended.killed, ended.seconds, ended.writes)
    if ended.killed:
        run.journal = journal_states(served.env.state_dir)
        return run
    assert ended.returncode == 0, f"sync exited {ended.returncode}:\n{ended.stderr.read_text()}"
    [run.report] = json.loads(ended.stdout.read_text())
    return run


def writes(report: dict[str, Any]) -> dict[str, int]:
    """The writes a report says landed: ``applied.done`` without the bookkeeping."""
    done = (report.get("applied") or {}).get("done") or {}
    return {k: n for k, n in done.items() if k.split(" ", 1)[0] in WRITES}


def check_converged(served: Served) -> None:
    tr_cases = served.tr_cases()
    tf_rows = served.tf_cases()
    by_external = Counter(str(r["externalId"]) for r in tf_rows if r.get("externalId"))
    twice = {ext: n for ext, n in by_external.items() if n > 1}
    assert twice == {}, "TestFiesta holds a TestRail case more than once (by externalId)"

    tf_names = Counter(r["name"] for r in tf_rows)
    tr_titles = Counter(r["title"] for r in tr_cases.values())
    for case_id, title in served.tr_edits.items():
        assert served.tf_row(case_id)["name"] == title, "a TestRail edit did not arrive"
    missing = {n: tr_titles[n] for n in served.tf_edits.values() if tr_titles[n] != 1}
    assert missing == {}, "TestFiesta edits not on TestRail exactly once"
    for uid, name in served.tf_edits.items():
        assert served.tf.db.cases[uid]["name"] == name
    wrong = {
        title: {"testrail": tr_titles[title], "testfiesta": tf_names[title]}
        for title in served.tr_new + served.tf_new
        if (tr_titles[title], tf_names[title]) != (1, 1)
    }
    assert wrong == {}, "new cases not exactly once on each side"
    assert len(tr_cases) == len(tf_rows) == CASES + 2 * NEW
    # TestRail's history: each edited title changed once, by the person or by one sync write
    # (a write repeated after a kill changes nothing, so it leaves no entry)
    with served.tr.lock:
        history = {cid: list(served.tr.history.get(cid, [])) for cid in tr_cases}
    edited = {**served.tr_edits, **served.tf_edited}
    title_changes = {
        cid: [c["new_value"] for e in history[cid] for c in e["changes"] if c["field"] == "title"]
        for cid in edited
    }
    assert title_changes == {cid: [title] for cid, title in edited.items()}

    with StateStore(served.env.state_dir) as store:
        journal = store.family("journal")
        links = dict(store.links("tr:case:"))
        back = dict(store.links("tf:case:"))
        bases = {b["testrail"]: b["testfiesta"] for b in store.bases("case")}
    assert journal == []
    assert sorted(links) == sorted(f"tr:case:{cid}" for cid in tr_cases)
    assert sorted(links.values()) == sorted(f"tf:case:{r['uid']}" for r in tf_rows)
    assert back == {tf: tr for tr, tf in links.items()}
    assert bases == links
    names = {f"tf:case:{r['uid']}": r["name"] for r in tf_rows}
    titles = {f"tr:case:{cid}": row["title"] for cid, row in tr_cases.items()}
    differ = {tr: tf for tr, tf in links.items() if names[tf] != titles[tr]}
    assert differ == {}, "linked cases whose titles differ"


@pytest.mark.parametrize("seed", SEEDS)
def test_sigkilled_sync_resumes_and_applies_every_change_exactly_once(
    served: Served, seed: int, tmp_path: Path
) -> None:
    rng = random.Random(seed)
    asyncio.run(make_changes(served, rng))
    runs: list[Run] = []

    def story() -> str:
        return f"seed {seed}:\n" + "\n".join(r.summary() for r in runs)

    while not runs or runs[-1].killed:
        kill = (
            draw_kill(
                rng,
                early=EARLY,
                after_start=AFTER_START,
                nth_write=NTH_WRITE,
                after_write=AFTER_WRITE,
            )
            if len(runs) < KILLS
            else None
        )
        runs.append(run_child(served, kill, tmp_path / f"run-{len(runs)}"))
    # TestRail gives the cases created there its defaults (priority, template, type,
    # dropdowns): a run that has not seen them yet copies them to TestFiesta, once
    runs.append(run_child(served, None, tmp_path / "quiet"))
    echo = writes(runs[-1].report or {})
    if echo:
        assert set(echo) == {"update testfiesta case"}, story()
        assert echo["update testfiesta case"] <= NEW, story()
        runs.append(run_child(served, None, tmp_path / "quiet-again"))
    print(story())  # shown when the test fails
    assert writes(runs[-1].report or {}) == {}, story()
    clean = [r.report for r in runs if r.report is not None]
    assert [r["exit_code"] for r in clean] == [0] * len(clean), story()
    check_converged(served)
