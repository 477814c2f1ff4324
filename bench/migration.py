"""Benchmark: what a migration costs against TestRail's rate limit, per kind (issue 7).

    python bench/migration.py [--cases N] [--scale medium] [--rate 1800] [--seed 11]
    python bench/migration.py --memory-only [--cases 100000] [--scale medium]

Both emulators run in a child process on TCP ports of 127.0.0.1 (the TestRail one seeded
there), so this process holds railfiesta only: its peak RSS (``resource.getrusage``) is the
product's. ``--scale medium`` seeds issue 7's medium project (5,000 cases, 300 sections, 100
runs x 200 tests, 30,000 results, 20 plans, 30 milestones, 500 attachments, 50 shared steps;
:data:`emulators.testrail.seed.MEDIUM`), in proportion when ``--cases`` is given; without it
a project of ``--cases`` generated cases (:func:`emulators.testrail.seed.generate`).

``--rate N`` caps the TestRail emulator at N requests per sliding minute and sets the client's
``requests_per_minute`` to the same (a scaled Cloud limit: 1,800 is ten times Professional's
180); TestFiesta is not capped. The first table has one row per kind (the request-counting
stage, :func:`core.http.stage`): requests to TestRail and TestFiesta, the minimum the APIs
allow (:func:`minimum`, the formulas are written there), their ratio, the kind's time span;
then time to usable core (:class:`core.events.CoreLanded`), total time, the share of the rate
budget used during the long phases (:func:`budget_share`), 429s received and peak RSS.

``--memory-only`` drops the rate cap, notes no requests (no log held in this process) and
prints the second table: cases, peak RSS and time.
Goals (issue 7): ratio <= 1.05 for every kind, no 429 the emulator was not told to inject,
>= 95 % of the budget used in the long phases (and a job that fits in one minute's budget
not spread over the minute), peak memory under 400 MB at 100,000 cases.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core import http as core_http  # noqa: E402
from core.config import load_config  # noqa: E402
from core.events import CoreLanded  # noqa: E402
from core.migrate import MigrationReport  # noqa: E402
from core.service import Service  # noqa: E402
from core.testfiesta.side import CASE_BATCH, CASE_BATCH_BYTES  # noqa: E402
from core.testrail.client import PAGE_SIZE  # noqa: E402

USER, API_KEY = "bench@example.com", "bench-api-key"
HANDLE, TOKEN = "bench", "testfiesta_" + "b0" * 16 + "." + "ee" * 16
PROJECT, KEY = "Bench Project", "BENCH"
CONFIG = """
[testrail]
url = "{testrail}"
user = "{user}"
api_key_env = "BENCH_TESTRAIL_KEY"
requests_per_minute = {rate}
[testfiesta]
url = "{testfiesta}"
handle = "{handle}"
token_env = "BENCH_TESTFIESTA_TOKEN"
requests_per_minute = 0
[[pair]]
testrail_project = "{project}"
testfiesta_project = "{key}"
"""


# ---------------------------------------------------------------------------- the servers


@dataclass(frozen=True)
class Seeded:
    """What the child process seeded and serves: both URLs, the TestRail counts per table,
    the seconds seeding took and the child's peak RSS so far (kB)."""

    testrail: str
    testfiesta: str
    counts: dict[str, int]
    seconds: float
    rss_kb: int


def _serve(args: argparse.Namespace, rate: int | None, pipe: Any) -> None:
    """Child process: seed TestRail, serve both emulators on TCP until the pipe says stop."""
    from emulators import testfiesta as testfiesta_emulator
    from emulators import testrail as testrail_emulator
    from emulators.server import start_in_thread
    from emulators.testrail import ops
    from emulators.testrail.seed import MEDIUM, generate, generate_shape

    started = time.perf_counter()
    state = testrail_emulator.TestRailState()
    ops.add_user(state, email=USER, api_key=API_KEY)
    if args.scale == "medium":
        shape = MEDIUM if args.cases is None else MEDIUM.scaled(args.cases)
        generate_shape(state, shape, seed=args.seed, project_name=PROJECT)
    else:
        generate(state, cases=args.cases or 300, seed=args.seed, project_name=PROJECT)
    seconds = time.perf_counter() - started
    counts = {
        table: len(getattr(state, table))
        for table in ("sections", "cases", "runs", "tests", "results", "plans", "milestones",
                      "attachments", "shared_steps", "config_groups", "configs")
    }  # fmt: skip
    counts["plan_entries"] = sum(len(p["_entries"]) for p in state.plans.values())
    counts["tested"] = sum(1 for t in state.tests.values() if t["status_id"] != 3)
    # created open, then closed: TestFiesta's create DTOs have no archived flag
    counts["closed_milestones"] = sum(1 for m in state.milestones.values() if m.get("is_completed"))
    counts["closed_runs"] = sum(1 for r in state.runs.values() if r.get("is_completed"))
    counts["closed_plans"] = sum(1 for p in state.plans.values() if p.get("is_completed"))
    per_run = [
        sum(len(state.indexed("test", t["id"])) for t in state.indexed("run", rid))
        for rid in state.runs
    ]
    counts["result_pages"] = sum(max(1, math.ceil(r / 250)) for r in per_run)
    counts["result_batches"] = sum(math.ceil(r / 250) for r in per_run)
    counts["test_pages"] = sum(max(1, -(-len(state.indexed("run", r)) // 250)) for r in state.runs)
    # a case's history is TestRail's to give: the cases with history entries must each be read
    counts["history_cases"] = sum(1 for c in state.cases if state.history.get(c))
    counts["tests_with_files"] = len(
        {r["test_id"] for r in state.results.values() if r["attachment_ids"]}
    )
    tr = start_in_thread(
        testrail_emulator.create_app(state, user=USER, api_key=API_KEY, requests_per_minute=rate)
    )
    tf = start_in_thread(testfiesta_emulator.create_app(handle=HANDLE, token=TOKEN))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    pipe.send(Seeded(tr.url, tf.url, counts, seconds, rss))
    pipe.recv()  # the parent is done
    pipe.send(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    tr.stop()
    tf.stop()


# ---------------------------------------------------------------------------- the recorder


@dataclass(slots=True)
class Sent:
    """One request as the client sent it: monotonic ``at``, the ``stage`` it counts under,
    its ``side``, method + path and the answer's status."""

    at: float
    stage: str
    side: str
    what: str
    status: int
    #: bytes of the request body
    size: int = 0


class Recorder(httpx.AsyncBaseTransport):
    """An httpx transport that forwards to the real one and notes every request (:class:`Sent`)
    with the stage :func:`core.http.stage` set around it; with ``log`` None it notes nothing
    (``--memory-only``: the peak RSS is railfiesta's, not a log of every request)."""

    def __init__(self, side: str, log: list[Sent] | None) -> None:
        self.side = side
        self.log = log
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        stage = core_http._current_stage.get()  # the bench peeks at the counting stage
        at = time.monotonic()
        response = await self.inner.handle_async_request(request)
        if self.log is None:
            return response
        query = request.url.query.decode()
        path = request.url.path + (f"?{query}" if query else "")
        self.log.append(Sent(at, kind_of(stage), self.side, f"{request.method} {path}",
                             response.status_code, len(request.content)))  # fmt: skip
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def endpoint_of(sent: Sent) -> str:
    """``TR get_cases``, ``TF POST /cases``: the endpoint without ids, for ``--endpoints``."""
    method, _, path = sent.what.partition(" ")
    if sent.side == "testrail":
        return "TR " + path.split("/api/v2/", 1)[-1].split("/")[0].split("&")[0]
    parts = [p for p in path.split("?")[0].split("/") if p and not p.isdigit()]
    return f"TF {method} /" + "/".join(parts[3:] if parts[:1] == ["v1"] else parts[2:])


def kind_of(stage: str) -> str:
    """The kind a stage counts: ``"shared_steps"`` (the applier) and ``"shared steps"`` (the
    observation) are one kind."""
    return stage.replace("_", " ")


# ---------------------------------------------------------------------------- minimum


@dataclass
class Tally:
    """Per kind: requests to each side, time span (first to last request, seconds)."""

    testrail: int = 0
    testfiesta: int = 0
    first: float = math.inf
    last: float = 0.0
    endpoints: Counter[str] = field(default_factory=Counter)


def minimum(kind: str, n: Mapping[str, int], log: list[Sent]) -> tuple[int | None, str]:
    """Fewest requests the public APIs allow for ``kind``, both sides together, and how it is
    computed: a migration into an empty TestFiesta that reads TestRail once, writes each
    record once at the largest batch TestFiesta takes, and reads TestFiesta back once for the
    parity report. ``n`` holds the seeded TestRail counts; ``log`` gives the bytes sent
    (TestFiesta's batches are also capped at 64 KB of JSON, ``CASE_BATCH_BYTES``).

    - folders: ceil(sections/250) ``get_sections`` + 1 create per folder (a folder names its
      parent: no bulk create) + ceil((sections+1)/250) folder pages read back;
    - cases: ceil(cases/250) ``get_cases`` + max(ceil(cases/100), ceil(bytes/64 KB)) bulk
      ``POST /cases`` + ceil(cases/250) pages read back. Every list here is counted at 250
      new rows a page, the APIs' floor; the clients re-read one row a page
      (:data:`core.testrail.client.OVERLAP`, so a row deleted between two page reads cannot
      hide an unread one), which costs a page in 249 and shows in the ratio, not here;
    - shared steps, milestones: ceil(n/250) list pages + 1 create each (no bulk) + ceil(n/250)
      pages read back; plans the same plus 1 ``get_plan`` each (entries are only there);
      + 1 close per completed milestone (``PATCH`` ``archived``) and per closed plan (the
      shim's ``close_plan``): ``CreateMilestoneDTO`` and ``CreatePlanDTO`` have no such flag
      (testfiesta-api.md §3.9, §3.10);
    - configs: 1 ``get_configs`` + 1 create per group and config + 1 shim ``get_configs``
      read back;
    - runs: ceil(runs/250) ``get_runs`` + per run ceil(tests/250) ``get_tests`` and
      ceil(results/250) ``get_results_for_run`` + ``get_statuses`` + ``get_users`` +
      ``get_result_fields`` (a result's custom fields are named by it);
      TestFiesta: 1 create per run + the project's executions listed once to pair them with
      the tests and once to read them back, ceil(tests/250) pages each (``GET /executions``
      has no run filter, testfiesta-api.md §2 E1: one list serves every run) +
      ceil(runs/250) run pages read back + the shim's statuses + 1 ``PATCH`` ``archive``
      per closed run (``CreateRunDTO`` has none, §3.9);
    - tests: 1 execution update per tested test (its latest status; no bulk update);
    - results: max(sum over runs of ceil(results/250), ceil(bytes/64 KB)) shim
      ``add_results`` (at most 250 a request);
    - attachments: 1 ``get_attachments_for_case`` per case (no time filter, no bulk) + 1
      ``get_attachments_for_run`` per run, ``..._for_plan`` per plan and ``..._for_plan_entry``
      per entry + 1 ``get_attachments_for_test`` per test whose results have files + 1
      ``get_attachment`` per file; TestFiesta: 2 per file (the signed URL, the PUT of the
      bytes) + 1 ``POST /data`` registering them;
    - case history: 1 ``get_history_for_case`` per case that has history (§5.5: one case a
      request, no bulk; a case's entries fit in one page) + 1 shim ``update_case`` writing it
      per such case (v1 has no case update, testfiesta-api.md §2) + 1 create of the
      ``TestRail history`` field (the project's fields are listed once, under fields);
    - project, fields, templates, tags, other: metadata, what was sent (one read each, one
      create per missing item: not estimated).
    """

    def pages(count: int) -> int:
        return max(1, math.ceil(count / PAGE_SIZE))

    def sent_bytes(path: str) -> int:
        return sum(s.size for s in log if s.side == "testfiesta" and path in s.what)

    runs, cases = n.get("runs", 0), n["cases"]
    if kind == "folders":
        sections = n["sections"]
        return (
            pages(sections) + sections + pages(sections + 1),
            f"{pages(sections)} + {sections} + {pages(sections + 1)}",
        )
    if kind == "cases":
        batch = CASE_BATCH
        creates = max(math.ceil(cases / batch), math.ceil(sent_bytes("/cases") / CASE_BATCH_BYTES))
        return 2 * pages(cases) + creates, f"2*{pages(cases)} + {creates}"
    if kind in ("shared steps", "milestones", "plans"):
        count = n[kind.replace(" ", "_")]
        plans = count if kind == "plans" else 0
        closed = n.get(f"closed_{kind}", 0)
        least = 2 * pages(count) + count + plans + closed
        return least, (
            f"2*{pages(count)} + {count}"
            + (f" + {plans}" if plans else "")
            + (f" + {closed} closed" if closed else "")
        )
    if kind == "configs":
        made = n["config_groups"] + n["configs"]
        return 2 + made, f"1 + {made} + 1"
    if kind == "runs":
        read = pages(runs) + n["test_pages"] + n["result_pages"] + 3
        executions = pages(n["tests"])
        closed = n.get("closed_runs", 0)
        write = runs + 2 * executions + pages(runs) + 1 + closed
        return read + write, (
            f"{pages(runs)} + {n['test_pages']} + {n['result_pages']} + 3 + {runs} + "
            f"2*{executions} + {pages(runs)} + 1" + (f" + {closed} closed" if closed else "")
        )
    if kind == "tests":
        return n["tested"], f"{n['tested']} tested tests"
    if kind == "results":
        batches = max(n["result_batches"], math.ceil(sent_bytes("/index.php") / CASE_BATCH_BYTES))
        return batches, f"max({n['result_batches']}, bytes/64 KB)"
    if kind == "attachments":
        owners = cases + runs + n["plans"] + n["plan_entries"]
        files = n["attachments"]
        least = owners + n["tests_with_files"] + 3 * files + (1 if files else 0)
        return least, f"{owners} + {n['tests_with_files']} + 3*{files} + 1"
    if kind == "case history":
        with_history = n.get("history_cases", 0)
        return 2 * with_history + 1, f"2*{with_history} + 1"
    return None, "metadata: as sent"


def budget_share(log: list[Sent], rate: int) -> list[tuple[str, int, float, float, int]]:
    """The long phases and the share of the rate budget each used: per kind, its TestRail
    requests from the first to the last; a phase is long when it needs more than one minute's
    budget (> ``rate`` requests). Share = requests / (rate x span / 60 s), the span counted
    up to the last request plus one pacer slot (60/rate s).

    A long phase whose first request comes within 60 s of the job's first TestRail request
    shares that first minute's budget with the kinds sent before it (each short, or it would
    come first): the job's first minute goes in one burst (a job that fits in one minute's
    budget is not spread over it), and what it cannot hold waits for the burst to leave the
    window. So that phase is measured from the job's first request, and the requests before
    it count with its own; otherwise the idle rest of the first minute, which no pacer can
    fill, would count against it alone. Returns (kind, requests, span, share, requests
    counted before it) per long phase."""
    out = []
    by_kind: dict[str, list[float]] = {}
    every: list[float] = []
    for sent in log:
        if sent.side == "testrail":
            by_kind.setdefault(sent.stage, []).append(sent.at)
            every.append(sent.at)
    every.sort()  # noted as answers come: requests in flight together may come out of order
    for kind, times in by_kind.items():
        if len(times) <= rate:
            continue
        times.sort()
        start, before = times[0], 0
        if times[0] - every[0] < 60.0:
            start, before = every[0], sum(1 for at in every if at < times[0])
        span = times[-1] - start + 60.0 / rate
        out.append((kind, len(times), span, (len(times) + before) / (rate * span / 60.0), before))
    return out


# ---------------------------------------------------------------------------- the run


async def migrate(
    config: Path, state: Path, log: list[Sent] | None
) -> tuple[MigrationReport, float]:
    """One migration through the service; returns its report and when the core landed
    (monotonic seconds, ``nan`` when no :class:`CoreLanded` came). ``log`` None: the
    requests are not noted (see :class:`Recorder`)."""
    service = Service(
        load_config(config),
        state_dir=state,
        testrail_transport=Recorder("testrail", log),
        testfiesta_transport=Recorder("testfiesta", log),
    )
    landed = [math.nan]

    def note(event: object) -> None:
        if isinstance(event, CoreLanded):
            landed[0] = time.monotonic()

    async with service:
        service.subscribe(note)
        [report] = await service.migrate()
    return report, landed[0]


def run(args: argparse.Namespace) -> int:
    os.environ["BENCH_TESTRAIL_KEY"] = API_KEY
    os.environ["BENCH_TESTFIESTA_TOKEN"] = TOKEN
    rate = None if args.memory_only else args.rate
    parent, child = multiprocessing.get_context("fork").Pipe()
    server = multiprocessing.get_context("fork").Process(
        target=_serve, args=(args, rate, child), daemon=True
    )
    server.start()
    seeded: Seeded = parent.recv()
    log: list[Sent] = []
    try:
        with tempfile.TemporaryDirectory() as work:
            config = Path(work) / "bench.toml"
            config.write_text(
                CONFIG.format(testrail=seeded.testrail, testfiesta=seeded.testfiesta, user=USER,
                              rate=rate or 0, handle=HANDLE, project=PROJECT, key=KEY),
                encoding="utf-8",
            )  # fmt: skip
            started = time.monotonic()
            noted = None if args.memory_only else log
            report, landed = asyncio.run(migrate(config, Path(work) / "state", noted))
            total = time.monotonic() - started
    finally:
        parent.send("stop")
        server_rss = parent.recv()
        server.join(10)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    counts = dict(seeded.counts)
    tables = ("sections", "cases", "runs", "tests", "results", "plans", "milestones",
              "attachments", "shared_steps")  # fmt: skip
    what = ", ".join(f"{counts[k]:,} {k.replace('_', ' ')}" for k in tables)
    print(f"\nSeeded in {seeded.seconds:.1f} s: {what}")
    if args.memory_only:
        print("\n| cases | peak RSS (railfiesta) | time | emulators' peak RSS | complete |")
        print("|---:|---:|---:|---:|---|")
        print(f"| {counts['cases']:,} | {rss_mb:.0f} MB | {total:.1f} s | "
              f"{server_rss / 1024:.0f} MB | {report.complete} |")  # fmt: skip
        return 0 if report.complete and rss_mb < 400 else 1
    assert rate is not None
    tallies: dict[str, Tally] = {}
    for sent in log:
        tally = tallies.setdefault(sent.stage, Tally())
        setattr(tally, sent.side, getattr(tally, sent.side) + 1)
        tally.first = min(tally.first, sent.at)
        tally.last = max(tally.last, sent.at)
        tally.endpoints[endpoint_of(sent)] += 1
    print(f"\nRate: TestRail {rate}/min (emulator and client), TestFiesta uncapped\n")
    print("| kind | TestRail | TestFiesta | requests | minimum | ratio | first to last | how the "
          "minimum is computed |\n|---|---:|---:|---:|---:|---:|---:|---|")  # fmt: skip
    worst = 0.0
    for kind, tally in tallies.items():
        sent = tally.testrail + tally.testfiesta
        least, how = minimum(kind, counts, log)
        ratio = "" if not least else f"{sent / least:.2f}"
        if least:
            worst = max(worst, sent / least)
        print(f"| {kind} | {tally.testrail} | {tally.testfiesta} | {sent} | "
              f"{'' if least is None else least} | {ratio} | {tally.last - tally.first:.1f} s | "
              f"{how} |")  # fmt: skip
    limited = sum(1 for s in log if s.status == 429)
    long_phases = budget_share(log, rate)
    shares = ", ".join(
        f"{kind} {n} requests"
        + (f" (and the {before} before it in the first minute)" if before else "")
        + f" in {span:.0f} s: {share:.0%}"
        for kind, n, span, share, before in long_phases
    )
    tr_times = sorted(s.at for s in log if s.side == "testrail")
    tr_total = len(tr_times)
    overall = tr_total / (rate * (tr_times[-1] - tr_times[0] + 60.0 / rate) / 60.0)
    none = "none (no kind needs more than one minute of budget)"
    fits = "fits" if tr_total <= rate else "does not fit"
    print(
        f"\nrequests: TestRail {report.requests['testrail']}, TestFiesta "
        f"{report.requests['testfiesta']}; time to usable core {landed - started:.1f} s, total "
        f"{total:.1f} s; budget used in the long phases: {shares or none}"
        + (f", from TestRail's first request to its last: {overall:.0%}" if tr_total > rate else "")
        + f"; a TestRail job of "
        f"{tr_total} requests {fits} in one minute's budget; 429s received: {limited}; peak "
        f"RSS {rss_mb:.0f} MB (emulators {server_rss / 1024:.0f} MB); complete: "
        f"{report.complete}; worst ratio {worst:.2f}"
    )
    for kind in args.trace or []:
        print(f"\n{kind}, in order (seconds from the start):")
        for sent in log:
            if sent.stage == kind:
                print(f"  {sent.at - started:7.2f} {sent.side:<10} {sent.what[:110]}")
    if args.endpoints:
        for kind, tally in tallies.items():
            print(f"  {kind}: " + ", ".join(f"{e} {c}" for e, c in tally.endpoints.most_common()))
    return 0 if report.complete and not limited else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=None, help="cases (default 300, or the "
                        "medium project's 5,000 with --scale medium)")  # fmt: skip
    parser.add_argument("--scale", choices=("medium",), default=None)
    parser.add_argument("--rate", type=int, default=1800, help="TestRail requests per minute")
    parser.add_argument("--memory-only", action="store_true", help="peak RSS and time, no cap")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--endpoints", action="store_true", help="requests per endpoint too")
    parser.add_argument("--trace", action="append", metavar="KIND", help="list a kind's requests")
    args = parser.parse_args(argv)
    if args.memory_only and args.cases is None:
        args.cases = 100_000
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
