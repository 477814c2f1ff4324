"""Crash harness: SIGKILL ``railfiesta migrate`` and ``railfiesta sync --once`` at random
moments, resume them, and count what a kill broke.

    python bench/crash.py [--trials 200] [--seed 0] [--cases 12] [--rounds 1] [--kills 2]

Each trial serves a fresh generated TestRail project (``--cases`` cases, one run with results)
and an empty TestFiesta organization on real TCP ports of 127.0.0.1 (uvicorn threads of this
process, behind :class:`tests.crashkit.Gate`, which times kills from the n-th write request).
Then, in child processes that run the real command line (``python -m tui.cli``):

1. ``migrate --json`` is SIGKILLed 0 to ``--kills`` times at random moments (seeded; see
   :func:`tests.crashkit.draw_kill`) and run again until one run ends by itself;
2. ``--rounds`` times: people edit both sides (TestRail: case titles, a new section with a
   case, new cases, a result, a new run; TestFiesta: case names, a new folder with a case, new
   cases, an execution's status, a new run), then ``sync --once --json`` is killed and resumed
   the same way.

After the last run of a trial it checks (each finding is counted and named):

- every case, folder, run, test/execution (per run and case) and result exists exactly once
  on each side (a duplicate, or a loss: the people's records and edits are the ground truth);
- the state store's links go both ways, every live record of both sides is linked, every link
  names a live record;
- the journal is empty;
- then (in this process, after at most two settling ``Service.sync()`` cycles that may only
  copy TestRail's defaults of cases it created to TestFiesta) the base of every pair equals
  both sides' values, as a full read of both sides shows them.

It prints one row per trial with findings and a table: trials, kills, duplicates, losses,
journal left, other findings, time. Exit code 1 when anything was found. ``tests/integration/
test_crash_harness.py`` runs a seeded handful of trials in CI.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.config import load_config  # noqa: E402
from core.engine.reconcile import Base, _known, _PairSpace  # noqa: E402
from core.kinds import KINDS  # noqa: E402
from core.service import Service  # noqa: E402
from core.store import StateStore  # noqa: E402
from emulators import testfiesta as testfiesta_emulator  # noqa: E402
from emulators import testrail as testrail_emulator  # noqa: E402
from emulators.server import RunningServer, start_in_thread  # noqa: E402
from emulators.testrail import ops, runs  # noqa: E402
from tests.crashkit import Gate, Hung, Kill, draw_kill, run_killable  # noqa: E402

USER, API_KEY = "crash@example.com", "crash-api-key"
HANDLE, TOKEN = "crash", "testfiesta_" + "c0" * 16 + "." + "ff" * 16
PROJECT, KEY = "Crash Shop", "CRASH"
SECRETS = {"CRASH_TESTRAIL_KEY": API_KEY, "CRASH_TESTFIESTA_TOKEN": TOKEN}
#: per phase: how kills are timed (tests.crashkit.draw_kill), n-th write up to this
WRITES_PER_PHASE = {"migrate": 40, "sync": 24}
#: a child running longer than this is a hang (seconds)
RUN_TIMEOUT = 180.0
#: what the settling cycles may write: TestRail's defaults of the cases a sync created there
SETTLE_WRITES = {"update testfiesta case"}
#: the first line of a TestRail result copied to TestFiesta (core.testfiesta.side)
RESULT_ID = re.compile(r"^TestRail result #(\d+) ")


@dataclass
class Size:
    """Per-trial size: generated ``cases``, edit ``rounds`` (each followed by a sync), case
    ``edits`` and ``new`` cases per side and round, ``min_kills`` to ``kills`` kills per phase."""

    cases: int = 12
    rounds: int = 1
    edits: int = 2
    new: int = 2
    kills: int = 2
    #: at least this many kills per phase
    min_kills: int = 0


@dataclass
class Expected:
    """The ground truth the people made. Cases are named by an identity (``tr:<id>`` for a
    TestRail case, ``tf:<name>`` for one made in TestFiesta) mapped to its current title."""

    titles: dict[str, str] = field(default_factory=dict)
    folders: Counter[str] = field(default_factory=Counter)
    runs: Counter[str] = field(default_factory=Counter)
    #: (run name, case identity) -> results on that TestRail test
    tests: dict[tuple[str, str], int] = field(default_factory=dict)
    #: TestRail result ids people added (each must arrive on TestFiesta once)
    results: set[int] = field(default_factory=set)
    #: the cases already edited (each is edited on one side at most: no conflicts)
    touched: set[str] = field(default_factory=set)


@dataclass
class Findings:
    """What one check found: ``duplicates``, ``losses``, ``journal`` entries left, and
    ``other`` findings (broken links, a base that differs, a failed run), each named."""

    duplicates: int = 0
    losses: int = 0
    journal: int = 0
    notes: list[str] = field(default_factory=list)
    other: int = 0

    def dup(self, what: str, n: int) -> None:
        if n:
            self.duplicates += n
            self.notes.append(f"duplicate: {what} x{n}")

    def lost(self, what: str, n: int = 1) -> None:
        if n:
            self.losses += n
            self.notes.append(f"lost: {what}")

    def odd(self, what: str) -> None:
        self.other += 1
        self.notes.append(what)


@dataclass
class Trial:
    """One trial's outcome."""

    seed: int
    kills: int = 0
    seconds: float = 0.0
    findings: Findings = field(default_factory=Findings)
    story: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------- the world


class World:
    """Both emulators on TCP for one trial, the config and state directory, and the truth."""

    def __init__(self, tmp: Path, rng: random.Random, size: Size) -> None:
        self.tmp = tmp
        self.rng = rng
        self.size = size
        self.arrivals: list[float] = []
        self.tr = testrail_emulator.TestRailState()
        testrail_emulator.generate(
            self.tr, cases=size.cases, seed=rng.randrange(1 << 30), project_name=PROJECT
        )
        self.tf_app = testfiesta_emulator.create_app(handle=HANDLE, token=TOKEN)
        self.tf = self.tf_app.state.testfiesta
        self.expected = Expected()
        #: the test the newest TestRail result of people went to: (run name, case identity)
        self.last_result: tuple[str, str] | None = None
        self._seed_testrail()
        tr_app = testrail_emulator.create_app(self.tr, user=USER, api_key=API_KEY)
        self.servers: list[RunningServer] = [
            start_in_thread(Gate(tr_app, self.arrivals)),
            start_in_thread(Gate(self.tf_app, self.arrivals)),
        ]
        self.config_path = tmp / "railfiesta.toml"
        self.state_dir = tmp / "state"
        self.config_path.write_text(
            f"""
[testrail]
url = "{self.servers[0].url}"
user = "{USER}"
api_key_env = "CRASH_TESTRAIL_KEY"
requests_per_minute = 0

[testfiesta]
url = "{self.servers[1].url}"
handle = "{HANDLE}"
token_env = "CRASH_TESTFIESTA_TOKEN"
requests_per_minute = 0

[[pair]]
testrail_project = "{PROJECT}"
testfiesta_project = "{KEY}"
""",
            encoding="utf-8",
        )

    def stop(self) -> None:
        for server in self.servers:
            server.stop()

    @property
    def project_id(self) -> int:
        return int(next(iter(self.tr.projects)))

    def _seed_testrail(self) -> None:
        """Unique case titles (the check counts by title), one run over some cases, results."""
        truth = self.expected
        with self.tr.lock:
            # the generator makes the same deep section tree whatever the number of cases:
            # keep the sections that hold a case, and their parents (a smaller migration)
            keep: set[int] = set()
            for row in self.tr.cases.values():
                section: int | None = int(row["section_id"])
                while section is not None and section not in keep:
                    keep.add(section)
                    section = self.tr.sections[section].get("parent_id")
            for section_id in [s for s in self.tr.sections if s not in keep]:
                del self.tr.sections[section_id]
            for case_id, row in self.tr.cases.items():
                row["title"] = f"{row['title']} #{case_id}"
                truth.titles[f"tr:{case_id}"] = row["title"]
            truth.folders.update(self.tr_folders())
            chosen = self.rng.sample(sorted(self.tr.cases), min(4, len(self.tr.cases)))
            self._tr_run("Regression 1", chosen)
            for _ in range(3):
                self._tr_result("Regression 1")

    def _tr_run(self, name: str, case_ids: list[int]) -> None:
        suite = self.tr.cases[case_ids[0]]["suite_id"]
        runs.add_run(
            self.tr,
            self.project_id,
            {"suite_id": suite, "name": name, "include_all": False, "case_ids": case_ids},
            1,
        )
        self.expected.runs[name] += 1
        for case_id in case_ids:
            self.expected.tests[(name, f"tr:{case_id}")] = 0

    def _tr_result(self, run_name: str) -> None:
        [run] = [r for r in self.tr.runs.values() if r["name"] == run_name]
        tests = sorted(t["id"] for t in self.tr.tests.values() if t["run_id"] == run["id"])
        test = self.tr.tests[self.rng.choice(tests)]
        result = runs.add_result(
            self.tr,
            test["id"],
            {"status_id": self.rng.choice([1, 2, 5]), "comment": f"checked {len(tests)}"},
            1,
        )
        self.expected.results.add(int(result["id"]))
        ident = f"tr:{test['case_id']}"
        self.last_result = (run_name, ident)
        self.expected.tests[(run_name, ident)] = self.expected.tests.get((run_name, ident), 0) + 1

    # ------------------------------------------------------------------ reading the sides

    def tr_folders(self) -> Counter[str]:
        """TestRail's sections as paths of names (``a/b/c``)."""
        sections = {sid: row for sid, row in self.tr.sections.items() if not row.get("_deleted")}

        def path(sid: int) -> str:
            row = sections[sid]
            parent = row.get("parent_id")
            return f"{path(parent)}/{row['name']}" if parent in sections else str(row["name"])

        return Counter(path(sid) for sid in sections)

    def tf_project_uid(self) -> int | None:
        try:
            return int(self.tf.project(KEY)["uid"])
        except Exception:
            return None

    def tf_live(self, table: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
        uid = self.tf_project_uid()
        return [r for r in table.values() if r.get("projectUid") == uid and not r.get("deletedAt")]

    def tf_folders(self) -> Counter[str]:
        """TestFiesta's folders (the root folder left out) as paths of names."""
        rows = {int(r["uid"]): r for r in self.tf_live(self.tf.db.folders)}
        roots = {uid for uid, r in rows.items() if not r.get("parentUid")}

        def path(uid: int) -> str:
            row = rows[uid]
            parent = row.get("parentUid")
            if parent in roots or parent not in rows:
                return str(row["name"])
            return f"{path(int(parent))}/{row['name']}"

        return Counter(path(uid) for uid in rows if uid not in roots)

    def tf_execution(self, run_name: str, title: str) -> dict[str, Any]:
        [run] = [r for r in self.tf_live(self.tf.db.runs) if r["name"] == run_name]
        [case] = [c for c in self.tf_live(self.tf.db.cases) if c["name"] == title]
        [execution] = [
            e
            for e in self.tf_live(self.tf.db.executions)
            if e["testRunUid"] == run["uid"] and e["testCaseUid"] == case["uid"]
        ]
        return execution

    # ------------------------------------------------------------------ people's edits

    def fresh_cases(self, count: int) -> list[str]:
        """``count`` case identities nobody edited yet, from cases on both sides."""
        free = sorted(i for i in self.expected.titles if i not in self.expected.touched)
        chosen = self.rng.sample(free, min(count, len(free)))
        self.expected.touched.update(chosen)
        return chosen

    def tr_case_id(self, ident: str, title: str) -> int:
        """The TestRail id of a case identity (a TestFiesta-made case: by its ``title`` on
        TestRail)."""
        if ident.startswith("tr:"):
            return int(ident[3:])
        [case_id] = [cid for cid, row in self.tr.cases.items() if row["title"] == title]
        return int(case_id)

    def tf_case(self, title: str) -> dict[str, Any]:
        """The live TestFiesta case called ``title``."""
        rows = [r for r in self.tf_live(self.tf.db.cases) if r["name"] == title]
        if len(rows) != 1:
            names = sorted(str(r["name"]) for r in self.tf_live(self.tf.db.cases))
            raise ValueError(f"{len(rows)} live TestFiesta cases called {title!r}; live: {names}")
        return rows[0]

    async def edit(self, round_no: int) -> None:
        """People at work on both sides between two syncs (see the module docstring)."""
        truth, rng, size = self.expected, self.rng, self.size
        r = round_no
        #: the cases both sides hold now, by the title both give them
        before = dict(truth.titles)
        pool = sorted(before)
        tr_edits = self.fresh_cases(size.edits)
        tf_edits = self.fresh_cases(size.edits)
        with self.tr.lock:
            for ident in tr_edits:
                title = f"tr-edit-r{r}-{ident}"
                ops.update_case(self.tr, self.tr_case_id(ident, before[ident]), {"title": title}, 1)
                truth.titles[ident] = title
            parent = rng.choice(sorted(self.tr.sections))
            section = ops.add_section(
                self.tr, self.project_id, {"name": f"tr-section-r{r}", "parent_id": parent}
            )
            truth.folders = self.tr_folders()
            sections = [section["id"], *(rng.choice(sorted(self.tr.sections)) for _ in range(9))]
            for n in range(size.new):
                title = f"tr-new-r{r}-{n}"
                row = ops.add_case(self.tr, sections[n % len(sections)], {"title": title}, 1)
                truth.titles[f"tr:{row['id']}"] = title
            self._tr_result("Regression 1")
            in_run = rng.sample(pool, 2)
            run_name = f"tr-run-r{r}"
            self._tr_run(run_name, [self.tr_case_id(i, truth.titles[i]) for i in in_run])
            # _tr_run keyed the tests by TestRail id: name them by identity
            for ident in in_run:
                if not ident.startswith("tr:"):
                    truth.tests.pop((run_name, f"tr:{self.tr_case_id(ident, truth.titles[ident])}"))
                    truth.tests[(run_name, ident)] = 0
        for ident in tf_edits:
            name = f"tf-edit-r{r}-{ident}"
            assert self.tf.update(self.tf_case(before[ident]), {"name": name})
            truth.titles[ident] = name

        def tf_title(ident: str) -> str:
            return truth.titles[ident] if ident in tf_edits else before[ident]

        project_uid = self.tf_project_uid()
        assert project_uid is not None
        folders = [r for r in self.tf_live(self.tf.db.folders) if r.get("parentUid")]
        async with Service(load_config(self.config_path), state_dir=self.tmp / "people") as people:
            client = people.testfiesta
            assert client is not None
            folder = await client.create_folder(
                KEY,
                name=f"tf-folder-r{r}",
                parent_uid=int(rng.choice(folders)["uid"]),
                project_uid=project_uid,
            )
            homes = [folder, *(rng.choice(folders) for _ in range(9))]
            new_cases = [
                {
                    "name": f"tf-new-r{r}-{n}",
                    "parentId": int(homes[n % len(homes)]["uid"]),
                    "projectId": project_uid,
                    "steps": [],
                    "customFields": {},
                }
                for n in range(size.new)
            ]
            await client.create_cases(KEY, new_cases)
            for case in new_cases:
                truth.titles[f"tf:{case['name']}"] = str(case["name"])
            # an execution's status set in TestFiesta: TestRail gets one result for it
            # on a test whose TestRail result did not change this round, to a status other
            # than its TestRail one (the same status set on both sides is no change to copy)
            others = sorted(
                k for k in truth.tests if k[0] == "Regression 1" and k != self.last_result
            )
            run_name, ident = rng.choice(others)
            execution = self.tf_execution(run_name, tf_title(ident))
            with self.tr.lock:
                [test] = [
                    t
                    for t in self.tr.tests.values()
                    if self.tr.runs[t["run_id"]]["name"] == run_name
                    and t["case_id"] == self.tr_case_id(ident, before[ident])
                ]
                current = int(test["status_id"])
            wanted = "Passed" if current == 5 else "Failed"
            status = self.tf.execution_status_named(wanted)
            await client.update_execution(KEY, int(execution["uid"]), {"status": status.uid})
            truth.tests[(run_name, ident)] += 1
            in_run = rng.sample(pool, 2)
            run_name = f"tf-run-r{r}"
            uids = [int(self.tf_case(tf_title(i))["uid"]) for i in in_run]
            await client.create_run(KEY, {"name": run_name, "caseUids": uids})
            truth.runs[run_name] += 1
            for ident in in_run:
                truth.tests[(run_name, ident)] = 0
        truth.folders[self.tf_folder_path(int(folder["uid"]))] += 1

    def tf_folder_path(self, uid: int) -> str:
        rows = {int(r["uid"]): r for r in self.tf_live(self.tf.db.folders)}
        names = []
        while uid in rows and rows[uid].get("parentUid"):
            names.append(str(rows[uid]["name"]))
            uid = int(rows[uid]["parentUid"])
        return "/".join(reversed(names))


# ---------------------------------------------------------------------------- the checks


def count(findings: Findings, what: str, actual: Counter[Any], expected: Counter[Any]) -> None:
    """Duplicates and losses of one side's records against the truth; a record nobody made
    is an ``other`` finding (a stray)."""
    for item, n in sorted(expected.items(), key=str):
        have = actual.get(item, 0)
        if have > n:
            findings.dup(f"{what} {item!r}", have - n)
        elif have < n:
            findings.lost(f"{what} {item!r}", n - have)
    for item in sorted(set(actual) - set(expected), key=str):
        findings.odd(f"stray {what} {item!r} x{actual[item]}")


def check_records(world: World, findings: Findings) -> None:
    """Every case, folder, run, test and result exactly once on each side."""
    truth = world.expected
    tr, tf = world.tr, world.tf
    with tr.lock:
        tr_cases = {cid: row["title"] for cid, row in tr.cases.items()}
        tr_runs = {rid: row["name"] for rid, row in tr.runs.items()}
        tr_tests = {
            tid: (tr_runs[t["run_id"]], tr_cases.get(t["case_id"])) for tid, t in tr.tests.items()
        }
        tr_results = Counter(tr_tests[r["test_id"]] for r in tr.results.values())
        tr_folders = world.tr_folders()
    titles = Counter(truth.titles.values())
    count(findings, "TestRail case", Counter(tr_cases.values()), titles)
    count(findings, "TestRail folder", tr_folders, truth.folders)
    count(findings, "TestRail run", Counter(tr_runs.values()), truth.runs)
    tests = Counter({(run, truth.titles[i]): 1 for run, i in truth.tests})
    count(findings, "TestRail test", Counter(tr_tests.values()), tests)
    results = Counter({(run, truth.titles[i]): n for (run, i), n in truth.tests.items() if n})
    count(findings, "TestRail result on", tr_results, results)

    tf_cases = {int(r["uid"]): r["name"] for r in world.tf_live(tf.db.cases)}
    tf_runs = {int(r["uid"]): r["name"] for r in world.tf_live(tf.db.runs)}
    executions = world.tf_live(tf.db.executions)
    count(findings, "TestFiesta case", Counter(tf_cases.values()), titles)
    count(findings, "TestFiesta folder", world.tf_folders(), truth.folders)
    count(findings, "TestFiesta run", Counter(tf_runs.values()), truth.runs)
    tf_tests = Counter(
        (tf_runs.get(e["testRunUid"]), tf_cases.get(e["testCaseUid"])) for e in executions
    )
    count(findings, "TestFiesta execution", tf_tests, tests)
    live = {int(e["uid"]) for e in executions}
    copied = Counter(
        int(m.group(1))
        for r in tf.db.results.values()
        if r["executionUid"] in live and (m := RESULT_ID.match(str(r.get("comment") or "")))
    )
    count(findings, "TestFiesta copy of TestRail result", copied, Counter(truth.results))


def check_store(world: World, findings: Findings) -> None:
    """Links both ways, every live record linked, every link to a live record; the journal."""
    with StateStore(world.state_dir) as store:
        findings.journal = len(store.family("journal"))
        if findings.journal:
            findings.notes.append(f"journal left: {findings.journal}")
        forward = dict(store.links("tr:"))
        backward = dict(store.links("tf:"))
    for tr_key, tf_key in forward.items():
        if backward.get(tf_key) != tr_key:
            findings.odd(f"link {tr_key} -> {tf_key} has no way back")
    for tf_key, tr_key in backward.items():
        if forward.get(tr_key) != tf_key:
            findings.odd(f"link {tf_key} -> {tr_key} has no way back")
    with world.tr.lock:
        live_tr = {
            *(f"tr:case:{i}" for i in world.tr.cases),
            *(f"tr:section:{i}" for i, r in world.tr.sections.items() if not r.get("_deleted")),
            *(f"tr:run:{i}" for i in world.tr.runs),
            *(f"tr:test:{i}" for i in world.tr.tests),
        }
        results = {f"tr:result:{i}" for i in world.tr.results}
    tf = world.tf
    live_tf = {
        *(f"tf:case:{r['uid']}" for r in world.tf_live(tf.db.cases)),
        *(f"tf:folder:{r['uid']}" for r in world.tf_live(tf.db.folders) if r.get("parentUid")),
        *(f"tf:run:{r['uid']}" for r in world.tf_live(tf.db.runs)),
        *(f"tf:execution:{r['uid']}" for r in world.tf_live(tf.db.executions)),
    }
    kinds = ("tr:case:", "tr:section:", "tr:run:", "tr:test:")
    linked_tr = {k for k in forward if k.startswith(kinds)}
    linked_tf = {v for k, v in forward.items() if k.startswith(kinds)}
    for key in sorted(live_tr - linked_tr):
        findings.odd(f"{key} is not linked")
    for key in sorted(live_tf - linked_tf):
        findings.odd(f"{key} is not linked")
    for key in sorted(linked_tr - live_tr):
        findings.odd(f"link of {key}, which TestRail does not hold")
    for key in sorted(linked_tf - live_tf):
        findings.odd(f"link to {key}, which TestFiesta does not hold")
    for key in sorted(k for k in forward if k.startswith("tr:result:") and k not in results):
        findings.odd(f"link of {key}, which TestRail does not hold")


async def settle_and_compare(world: World, findings: Findings) -> None:
    """Settling cycles, then the base of every pair against both sides' full read."""
    config = load_config(world.config_path)
    async with Service(config, state_dir=world.state_dir) as service:
        for attempt in range(3):
            [report] = await service.sync()
            done = report.applied.done if report.applied else {}
            writes = {k: n for k, n in done.items() if k.split(" ")[0] in WRITE_VERBS}
            if not writes:
                break
            if set(writes) - SETTLE_WRITES or attempt == 2:
                findings.odd(f"settling cycle {attempt + 1} wrote {writes}")
        engine, _ = await service._pair_engine(0, read_only=True)
        inputs, _ = await engine.observe(full=True)
    space = _PairSpace(inputs.bases.values(), inputs.links)
    records = {**inputs.testrail.records, **inputs.testfiesta.records}
    for base in inputs.bases.values():
        kind = KINDS.get(base.kind)
        if kind is None or kind.merge != "three-way":
            continue
        for key in (base.testrail, base.testfiesta):
            record = records.get(key)
            if record is None:
                findings.odd(f"base {base.testrail}: {key} not found by a full read")
                continue
            differ = _differences(base, _known(space, kind, record, base), kind.create_only)
            if differ:
                findings.odd(f"base of {base.testrail} differs from {key}: {differ}")


def _differences(base: Base, values: dict[str, Any], ignore: tuple[str, ...]) -> list[str]:
    names = (set(base.values) | set(values)) - set(ignore)
    return sorted(n for n in names if base.values.get(n) != values.get(n))


# ---------------------------------------------------------------------------- a trial


WRITE_VERBS = ("create", "update", "archive", "delete")


def _command(world: World, *verb: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "tui.cli",
        *verb,
        "--config",
        str(world.config_path),
        "--state",
        str(world.state_dir),
        "--json",
    ]


def phase(world: World, trial: Trial, name: str, argv: list[str]) -> None:
    """Run ``argv`` killed 0..``kills`` times (drawn), then to its end; a run that ends by
    itself with a code other than 0 is a finding."""
    rng = world.rng
    kills = rng.randint(world.size.min_kills, world.size.kills)
    for n in range(kills + 1):
        kill: Kill | None = None
        if n < kills:
            kill = draw_kill(rng, nth_write=(1, WRITES_PER_PHASE[name]), after_start=(0.05, 2.0))
        ended = run_killable(
            argv,
            arrivals=world.arrivals,
            kill=kill,
            log=world.tmp / f"{name}-{len(trial.story)}",
            env=SECRETS,
            timeout=RUN_TIMEOUT,
        )
        if ended.killed:
            trial.kills += 1
            trial.story.append(f"{name}: killed {kill} ({ended.writes} writes)")
            continue
        trial.story.append(
            f"{name}: ended {ended.returncode} ({ended.writes} writes, {ended.seconds:.1f} s)"
        )
        if ended.returncode != 0:
            tail = ended.stderr.read_text(errors="replace").strip().splitlines()[-3:]
            trial.findings.odd(f"{name} exited {ended.returncode}: {' | '.join(tail)}")
        return


def run_trial(seed: int, size: Size, tmp: Path) -> Trial:
    """One trial (see the module docstring)."""
    trial = Trial(seed)
    started = time.monotonic()
    os.environ.update(SECRETS)  # this process reads both sides too (edits, checks)
    rng = random.Random(seed)
    world = World(tmp, rng, size)
    try:
        phase(world, trial, "migrate", _command(world, "migrate"))
        for round_no in range(1, size.rounds + 1):
            try:
                asyncio.run(world.edit(round_no))
            except (AssertionError, ValueError) as broken:
                # the people's edits found a side not as the trial expects it: say so, and
                # let the checks below count what is missing or doubled
                trial.findings.odd(f"edit round {round_no}: {type(broken).__name__}: {broken}")
                trial.story.append(f"edit round {round_no} failed")
                break
            phase(world, trial, "sync", _command(world, "sync", "--once"))
        marks = [time.monotonic()]
        check_records(world, trial.findings)
        asyncio.run(settle_and_compare(world, trial.findings))
        # after the settling cycles: the tests of a run a sync created are paired by the
        # cycle after it (they did not exist when it observed)
        check_store(world, trial.findings)
        marks.append(time.monotonic())
        trial.story.append(f"checks {marks[1] - marks[0]:.1f} s")
    except Hung as hung:
        trial.findings.odd(str(hung).splitlines()[0])
    finally:
        world.stop()
    trial.seconds = time.monotonic() - started
    return trial


@contextmanager
def _trial_dir(keep: Path | None, seed: int) -> Iterator[Path]:
    if keep is not None:
        path = keep / f"trial-{seed}"
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix=f"crash-{seed}-") as tmp:
        yield Path(tmp)


def run_trials(
    seeds: list[int],
    size: Size,
    *,
    keep: Path | None = None,
    echo: bool = False,
    verbose: bool = False,
) -> list[Trial]:
    """Every trial of ``seeds`` in turn; ``echo`` prints a line per trial as it ends."""
    trials = []
    for seed in seeds:
        with _trial_dir(keep, seed) as tmp:
            trial = run_trial(seed, size, tmp)
        trials.append(trial)
        if echo:
            f = trial.findings
            line = (
                f"trial {seed}: {trial.kills} kills, {f.duplicates} dup, {f.losses} lost, "
                f"journal {f.journal}, {f.other} other, {trial.seconds:.1f} s"
            )
            print(line, flush=True)
            for note in f.notes[:20]:
                print(f"    {note}", flush=True)
            if f.notes or verbose:
                print("    story: " + "; ".join(trial.story), flush=True)
    return trials


def table(trials: list[Trial]) -> str:
    """The summary table (Markdown)."""
    rows = [
        ("trials", len(trials)),
        ("kills", sum(t.kills for t in trials)),
        ("duplicates", sum(t.findings.duplicates for t in trials)),
        ("losses", sum(t.findings.losses for t in trials)),
        ("journal left", sum(t.findings.journal for t in trials)),
        ("other findings", sum(t.findings.other for t in trials)),
        ("time", f"{sum(t.seconds for t in trials):.0f} s"),
    ]
    head = "| " + " | ".join(str(k) for k, _ in rows) + " |"
    rule = "|" + "|".join("---:" for _ in rows) + "|"
    body = "| " + " | ".join(str(v) for _, v in rows) + " |"
    return "\n".join([head, rule, body])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=10, help="trials (default 10)")
    parser.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    parser.add_argument("--cases", type=int, default=Size.cases, help="generated cases")
    parser.add_argument("--rounds", type=int, default=Size.rounds, help="edit+sync rounds")
    parser.add_argument("--kills", type=int, default=Size.kills, help="most kills per phase")
    parser.add_argument("--keep", type=Path, help="keep each trial's files under this directory")
    parser.add_argument("--json", action="store_true", help="also print the trials as JSON")
    parser.add_argument("-v", "--verbose", action="store_true", help="every trial's story")
    args = parser.parse_args(argv)
    size = Size(cases=args.cases, rounds=args.rounds, kills=args.kills)
    seeds = list(range(args.seed, args.seed + args.trials))
    trials = run_trials(seeds, size, keep=args.keep, echo=True, verbose=args.verbose)
    print()
    print(table(trials))
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "seed": t.seed,
                        "kills": t.kills,
                        "seconds": round(t.seconds, 2),
                        "duplicates": t.findings.duplicates,
                        "losses": t.findings.losses,
                        "journal": t.findings.journal,
                        "notes": t.findings.notes,
                        "story": t.story,
                    }
                    for t in trials
                ]
            )
        )
    bad = any(t.findings.duplicates or t.findings.losses or t.findings.journal for t in trials)
    return 1 if bad or any(t.findings.other for t in trials) else 0


if __name__ == "__main__":
    sys.exit(main())
