"""A fault storm over both emulators, in-process: the harness behind
``tests/integration/test_fault_storm.py`` and ``bench/storm.py``.

Both emulators get every fault kind they support (:mod:`emulators.faults`) at ``rate``,
seeded. A project with runs and results is migrated by a cron-like loop (a fresh
:class:`core.service.Service` per run; a run that raises is simply run again) until one run
comes back clean; then both sides are edited (case titles, new cases, a TestRail result, a
TestFiesta status) and ``sync --once`` runs the same way until one comes back clean. Then the
faults are switched off, one more cycle runs, and :meth:`Storm.check` counts duplicates and
losses per kind against what both sides must hold, checks the links, the bases and the journal,
and that every 429/409 the clients saw was one the emulators injected.

The client timeout is :data:`TIMEOUT` seconds (slow answers come :data:`SLOW` seconds late),
``Retry-After`` asks for 0 seconds and the backoff starts at 10 ms, so a storm costs the
product's work, not sleeps.
"""

from __future__ import annotations

import random
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from core.config import load_config
from core.errors import RailfiestaError
from core.service import Service
from core.store import StateStore
from core.testrail.side import ECHO_MARK
from emulators.faults import RATE_LIMITS, FaultSwitches, WireTransport
from emulators.testrail import ops, runs
from tests.helpers import Emulated

PROJECT_KEY = "ACME"
TIMEOUT = 0.5
SLOW = 0.7
SHIFTS = 3
_RESULT_ID = re.compile(r"^TestRail result #(\d+) ")
_CASE_ID = re.compile(r"/case/(\d+)$")


@dataclass
class Outcome:
    """One cron-like run: ``what`` ran (``migrate``/``sync``) and how it ended (``clean``,
    an exit code, or the error's class) with the error text."""

    what: str
    ended: str
    detail: str = ""
    seconds: float = 0.0


@dataclass
class Tally:
    """Duplicates and losses of one kind: ``expected`` records, ``found`` per side."""

    expected: int = 0
    duplicates: int = 0
    losses: int = 0


@dataclass
class Storm:
    """The storm over ``env`` (see the module docstring)."""

    env: Emulated
    rate: float
    seed: int
    outcomes: list[Outcome] = field(default_factory=list)
    requests: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    rate_limited: int = 0
    seconds: float = 0.0
    #: TestRail case id -> the title both sides must end with (edits applied)
    titles: dict[int, str] = field(default_factory=dict)
    new_titles: list[str] = field(default_factory=list)
    tf_status_cases: list[int] = field(default_factory=list)
    #: told of each run as it ends (``bench/storm.py`` prints them as they come)
    on_outcome: Callable[[Outcome], None] | None = None

    def __post_init__(self) -> None:
        text = self.env.config_path.read_text(encoding="utf-8")
        text = text.replace(
            "requests_per_minute = 0", f"requests_per_minute = 0\ntimeout = {TIMEOUT}"
        )
        self.env.config_path.write_text(text, encoding="utf-8")
        for offset, switches in enumerate(self.switches):
            switches.seed = self.seed + offset
            switches.slow_seconds = SLOW
            switches.retry_after = 0

    @property
    def tr(self) -> Any:
        return self.env.testrail_state

    @property
    def tf(self) -> Any:
        return self.env.testfiesta.state.testfiesta

    @property
    def switches(self) -> tuple[FaultSwitches, FaultSwitches]:
        return self.env.testrail.state.faults, self.env.testfiesta.state.faults

    def faults(self, on: bool) -> None:
        """Switch the storm on (``rate``) or off (0, and nothing queued). Switching it on also
        queues :data:`SHIFTS` page shifts of each kind on each emulator: the random draw
        rarely picks one (a paged read with an offset is a small share of the requests, and
        a shift is 2 of the kinds it may get)."""
        for switches in self.switches:
            switches.rate = self.rate if on else 0.0
            switches.queue.clear()
            if on:
                switches.push(*["page-insert", "page-delete"] * SHIFTS)

    @property
    def injected(self) -> Counter[str]:
        """Faults injected so far, by kind, both emulators."""
        return self.switches[0].injected + self.switches[1].injected

    def service(self) -> Service:
        """A fresh Service over both emulators (in-process, failing like TCP)."""
        return Service(
            load_config(self.env.config_path),
            state_dir=self.env.state_dir,
            testrail_transport=WireTransport(self.env.testrail),
            testfiesta_transport=WireTransport(self.env.testfiesta),
        )

    async def run(self, what: str, action: Callable[[Service], Awaitable[str]]) -> Outcome:
        """One cron-like run of ``action``; every error is recorded, none escapes."""
        service = self.service()
        started = time.perf_counter()
        try:
            async with service:
                for session in (service.testrail, service.testfiesta):
                    assert session is not None
                    session.session.wait_initial, session.session.wait_max = 0.01, 0.05
                outcome = Outcome(what, await action(service))
        except RailfiestaError as error:
            outcome = Outcome(what, type(error).__name__, str(error))
        finally:
            spent = time.perf_counter() - started
            self.seconds += spent
            for name in ("testrail", "testfiesta"):
                client = getattr(service, name)
                if client is not None:
                    stats = client.session.stats
                    self.requests[name] += stats.total
                    self.retries += stats.retries
                    self.rate_limited += stats.rate_limited
        outcome.seconds = spent
        self.outcomes.append(outcome)
        if self.on_outcome is not None:
            self.on_outcome(outcome)
        return outcome

    async def until_clean(self, what: str, limit: int = 60) -> int:
        """Run ``migrate`` or ``sync`` until a run comes back clean; the runs it took."""

        async def migrate(service: Service) -> str:
            [report] = await service.migrate()
            return "clean" if report.complete else "incomplete"

        async def sync(service: Service) -> str:
            [report] = await service.sync()
            return "clean" if report.exit_code == 0 else f"exit {report.exit_code}"

        for count in range(1, limit + 1):
            outcome = await self.run(what, migrate if what == "migrate" else sync)
            if outcome.ended == "clean":
                return count
        raise AssertionError(f"{what} never came back clean in {limit} runs: {self.story()}")

    def story(self) -> str:
        """Every run's outcome, one a line."""
        return "\n".join(
            f"{o.what} ({o.seconds:.1f} s): {o.ended} {o.detail[:160]}" for o in self.outcomes
        )

    # ------------------------------------------------------------------ the project

    def add_runs(self, count: int, cases_per_run: int, results: int) -> None:
        """``count`` open TestRail runs over ``cases_per_run`` cases, ``results`` results in
        each (before the migration)."""
        rng = random.Random(self.seed)
        with self.tr.lock:
            project = next(iter(self.tr.projects.values()))
            ids = sorted(self.tr.cases)
            for n in range(count):
                chosen = ids[(n * cases_per_run) % len(ids) :][:cases_per_run]
                suite = self.tr.cases[chosen[0]]["suite_id"]
                body = {
                    "suite_id": suite,
                    "name": f"Storm run {n + 1}",
                    "include_all": False,
                    "case_ids": chosen,
                }
                run = runs.add_run(self.tr, project["id"], body, 1)
                tests = [t for t in self.tr.tests.values() if t["run_id"] == run["id"]]
                for r in range(results):
                    test = tests[r % len(tests)]
                    runs.add_result(
                        self.tr,
                        test["id"],
                        {"status_id": rng.choice((1, 2, 4, 5)), "comment": f"result {n}.{r}"},
                        1,
                    )

    async def edit_both_sides(self, edits: int, new: int) -> None:
        """On disjoint cases: ``edits`` title edits and ``new`` new cases on each side, a
        result on a TestRail test and a status on a TestFiesta execution."""
        rng = random.Random(self.seed + 7)
        with self.tr.lock:
            self.titles = {cid: row["title"] for cid, row in self.tr.cases.items()}
        ids = sorted(self.titles)
        rng.shuffle(ids)
        with self.tr.lock:
            sections = sorted(self.tr.sections)
            for case_id in ids[:edits]:
                self.titles[case_id] = f"tr-edit-{case_id}"
                ops.update_case(self.tr, case_id, {"title": self.titles[case_id]}, None)
            for n in range(new):
                self.new_titles.append(f"tr-new-{n}")
                ops.add_case(self.tr, rng.choice(sections), {"title": f"tr-new-{n}"}, None)
            # an untested test if one is left, else the newest that has not failed (the
            # TestFiesta status edit below takes the oldest execution: never the same test)
            test = max(
                (t for t in self.tr.tests.values() if t["status_id"] != 5),
                key=lambda t: (t["status_id"] == 3, t["id"]),
            )
            runs.add_result(self.tr, test["id"], {"status_id": 5, "comment": "storm fail"}, 1)
        by_case = {self._case_id(r): r for r in self.tf_cases()}
        for case_id in ids[edits : 2 * edits]:
            self.titles[case_id] = f"tf-edit-{case_id}"
            assert self.tf.update(by_case[case_id], {"name": self.titles[case_id]})
        failed = next(s for s in self.tf.execution_statuses if s.name == "Failed")
        other = [e for e in self.tf.db.executions.values() if e.get("status") != failed.uid]
        execution = sorted(other, key=lambda e: e["uid"])[0]
        assert self.tf.update(execution, {"status": failed.uid})
        self.tf_status_cases.append(int(execution["uid"]))
        project_uid = self.tf.project(PROJECT_KEY)["uid"]
        root = self.tf.root_folder(PROJECT_KEY)["uid"]
        folders = [f["uid"] for f in self.tf.folders(PROJECT_KEY) if f["uid"] != root]
        names = [f"tf-new-{n}" for n in range(new)]
        self.new_titles += names
        self.faults(False)
        async with self.service() as service:
            assert service.testfiesta is not None
            await service.testfiesta.create_cases(
                PROJECT_KEY,
                [
                    {"name": name, "parentId": rng.choice(folders), "projectId": project_uid,
                     "steps": [], "customFields": {}}
                    for name in names
                ],
            )  # fmt: skip
        self.faults(True)

    def _case_id(self, row: dict[str, Any]) -> int:
        match = _CASE_ID.search(str(row.get("externalId") or ""))
        return int(match.group(1)) if match else 0

    def tf_cases(self) -> list[dict[str, Any]]:
        """The live TestFiesta cases of the project (stored rows)."""
        project_uid = self.tf.project(PROJECT_KEY)["uid"]
        return [
            r
            for r in self.tf.db.cases.values()
            if r["projectUid"] == project_uid and not r["deletedAt"]
        ]

    # ------------------------------------------------------------------ the verdict

    def check(self) -> dict[str, Tally]:
        """Duplicates and losses per kind (``case``, ``folder``, ``run``, ``result``,
        ``status``) and the ``journal`` left; raises AssertionError when links, bases or
        rate limits are wrong."""
        tallies: dict[str, Tally] = {}
        expected = Counter([*self.titles.values(), *self.new_titles])
        with self.tr.lock:
            tr_cases = {cid: dict(row) for cid, row in self.tr.cases.items()}
            sections = Counter(s["name"] for s in self.tr.sections.values())
            tr_runs = Counter(r["name"] for r in self.tr.runs.values())
            tr_results = {
                rid: dict(r) for rid, r in self.tr.results.items() if r.get("status_id") is not None
            }
        tf_rows = self.tf_cases()
        for _side, found in (
            ("testrail", Counter(r["title"] for r in tr_cases.values())),
            ("testfiesta", Counter(r["name"] for r in tf_rows)),
        ):
            tally = tallies.setdefault("case", Tally(sum(expected.values())))
            tally.duplicates += sum(max(0, found[t] - n) for t, n in expected.items())
            tally.duplicates += sum(n for t, n in found.items() if t not in expected)
            tally.losses += sum(max(0, n - found[t]) for t, n in expected.items())
        project_uid = self.tf.project(PROJECT_KEY)["uid"]
        root = self.tf.root_folder(PROJECT_KEY)["uid"]
        folders = Counter(
            f["name"]
            for f in self.tf.db.folders.values()
            if f["projectUid"] == project_uid and not f.get("deletedAt") and f["uid"] != root
        )
        tallies["folder"] = _compare(sections, folders)
        tf_runs = Counter(
            r["name"]
            for r in self.tf.db.runs.values()
            if r["projectUid"] == project_uid and not r.get("deletedAt")
        )
        tallies["run"] = _compare(tr_runs, tf_runs)
        copied = Counter(
            int(m.group(1))
            for r in self.tf.db.results.values()
            if (m := _RESULT_ID.match(str(r.get("comment") or "")))
        )
        originals = {rid for rid, r in tr_results.items() if ECHO_MARK not in str(r["comment"])}
        tallies["result"] = Tally(
            len(originals),
            sum(n - 1 for n in copied.values() if n > 1) + len(set(copied) - originals),
            len(originals - set(copied)),
        )
        echoes = sum(1 for r in tr_results.values() if ECHO_MARK in str(r["comment"]))
        wanted = len(self.tf_status_cases)
        tallies["status"] = Tally(wanted, max(0, echoes - wanted), max(0, wanted - echoes))

        with StateStore(self.env.state_dir) as store:
            journal = store.family("journal")
            links = dict(store.links("tr:case:"))
            back = dict(store.links("tf:case:"))
            bases = {b["testrail"]: b["testfiesta"] for b in store.bases("case")}
        tallies["journal"] = Tally(0, 0, len(journal))
        assert sorted(links) == sorted(f"tr:case:{cid}" for cid in tr_cases), "unlinked cases"
        assert sorted(links.values()) == sorted(f"tf:case:{r['uid']}" for r in tf_rows)
        assert back == {tf: tr for tr, tf in links.items()}, "links one way only"
        assert bases == links, "bases that are not the links"
        names = {f"tf:case:{r['uid']}": r["name"] for r in tf_rows}
        titles = {f"tr:case:{cid}": row["title"] for cid, row in tr_cases.items()}
        differ = {tr: tf for tr, tf in links.items() if names[tf] != titles[tr]}
        assert differ == {}, "linked cases whose titles differ"
        injected = sum(n for kind, n in self.injected.items() if kind in RATE_LIMITS)
        assert self.rate_limited == injected, (
            f"the clients saw {self.rate_limited} 429/409 answers, {injected} were injected"
        )
        return tallies


def _compare(testrail: Counter[str], testfiesta: Counter[str]) -> Tally:
    """Names TestRail holds vs the copies TestFiesta holds (one each)."""
    return Tally(
        sum(testrail.values()),
        sum(max(0, testfiesta[n] - k) for n, k in testrail.items())
        + sum(k for n, k in testfiesta.items() if n not in testrail),
        sum(max(0, k - testfiesta[n]) for n, k in testrail.items()),
    )
