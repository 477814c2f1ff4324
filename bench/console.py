"""Benchmark: how fast the console opens and answers keys over a 50,000-case TestRail project.

    python bench/console.py [--cases 50000] [--presses 40]

Seeds the TestRail emulator (``generate(cases=N)``; TestFiesta empty, so its pane says "not
migrated yet"), then runs the console headless with Pilot over both emulators, which answer
in a thread of their own (:class:`ServerThread`), so the console's CPU and theirs are apart:

- cold start: a fresh state directory, so the TestRail pane is read from the server;
- warm start: a second console over the same state directory; the TestRail pane paints from the
  read cache (DESIGN §6) and is read again from the server behind it; a new process also pays
  its imports, measured apart (``import_cost``) and added;
- keys, on the warm console once both reads are done: each time is ``pilot.press(key)`` plus
  ``pilot.pause()`` (the key handled and the screen settled), p50 and p95 per key, next to the
  same measure of a key on an empty Textual app (Pilot's own cost on this machine) and of a
  ``pilot.pause()`` alone on the warm console (Pilot's cost on this screen: it waits for each
  of its ~45 widgets, so part of every key's time is Pilot's). Three clocks: wall, CPU of the
  console's thread (the UI), CPU of the whole process.
- imports: a new process importing what the console imports, with a bytecode cache (as
  every start after the first of an installed console has: ``pip`` writes it, and Python on
  the first import), the median of three; the number without one is printed beside it
  (``PYTHONDONTWRITEBYTECODE`` makes every start compile the project's modules again).

Goals (issue 8): warm start under 2 s; p95 under 50 ms per key (CPU of the UI thread).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Tree

from core.config import load_config
from core.service import Service
from emulators import testfiesta as testfiesta_emulator
from emulators import testrail as testrail_emulator
from tui.app import RailfiestaApp
from tui.widgets.project_tree import ProjectTree

CONFIG = """
[testrail]
url = "http://testrail.bench"
user = "bench@example.com"
api_key_env = "BENCH_TESTRAIL_KEY"
requests_per_minute = 0
[testfiesta]
url = "http://testfiesta.bench"
handle = "bench"
token_env = "BENCH_TESTFIESTA_TOKEN"
requests_per_minute = 0
[[pair]]
testrail_project = "Bench Project"
testfiesta_project = "BENCH"
"""
TOKEN = "testfiesta_" + "0f" * 16 + "." + "e1" * 16
SIZE = (160, 48)
#: the row of :func:`paused` (not a key: left out of the goals)
PAUSE_ONLY = "(pause alone, this screen)"
WARM_GOAL, KEY_GOAL = 2.0, 0.050
#: lines printed under the key table (what a row measured)
NOTES: list[str] = []


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values``, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


async def wait(pilot: Pilot[Any], condition: Callable[[], bool], timeout: float = 120) -> None:
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("the console did not get there in time")
        await pilot.pause(0.005)


#: (wall seconds, CPU seconds of the console's thread, CPU seconds of the whole process)
Timing = tuple[float, float, float]


def clocks() -> Timing:
    """Now, on the three clocks of :data:`Timing`."""
    return time.perf_counter(), time.thread_time(), time.process_time()


def since(start: Timing) -> Timing:
    """The three clocks' time since ``start``."""
    now = clocks()
    return now[0] - start[0], now[1] - start[1], now[2] - start[2]


#: cProfile of the keys named by ``--profile`` (None: none profiled); :func:`keys` sets
#: :data:`PROFILING` to the kind of key being timed
PROFILE: Any = None
PROFILED: set[str] = set()
PROFILING = ""


async def timed(pilot: Pilot[Any], *keys: str) -> Timing:
    """:data:`Timing` of the keys being handled and the screen settling. Wall time also
    counts other processes' turns on a busy machine; the console thread's CPU is what the UI
    needed (the emulators answer in their own thread, :class:`ServerThread`); the process's
    CPU adds the emulators and the console's helper threads (state store)."""
    profile = PROFILE if PROFILING in PROFILED else None
    if profile is not None:
        profile.enable()
    start = clocks()
    await pilot.press(*keys)
    await pilot.pause()
    took = since(start)
    if profile is not None:
        profile.disable()
    return took


def loaded_below(node: Any) -> bool:
    return "loading…" not in [str(c.label) for c in node.children]


def filtered(tree: ProjectTree, text: str) -> bool:
    return tree.filter_text == text


def tree_of(app: RailfiestaApp) -> ProjectTree:
    return app.main_screen.testrail_pane.project_tree


async def paused(pilot: Pilot[Any]) -> Timing:
    """:data:`Timing` of a ``pilot.pause()`` with no key: Pilot's part of :func:`timed`."""
    start = clocks()
    await pilot.pause()
    return since(start)


async def start(service: Service, *, warm: bool) -> tuple[Timing, float, dict[str, list[Timing]]]:
    """(seconds to the first painted TestRail tree, seconds to the server's read done, key
    times) for one console run."""
    app = RailfiestaApp(service)
    times: dict[str, list[Timing]] = {}
    began = clocks()
    async with app.run_test(size=SIZE) as pilot:
        tree = tree_of(app)
        await wait(pilot, lambda: bool(tree.records()))
        ready = since(began)
        pane = app.main_screen.testrail_pane
        await wait(pilot, lambda: pane.loaded and pane.cached_at is None)
        await wait(pilot, lambda: app.main_screen.testfiesta_pane.loaded)
        live = time.perf_counter() - began[0]
        if warm:
            times = await keys(pilot, app)
            times[PAUSE_ONLY] = [await paused(pilot) for _ in range(40)]
    return ready, live, times


async def keys(pilot: Pilot[Any], app: RailfiestaApp, presses: int = 40) -> dict[str, list[Timing]]:
    """Time each kind of key ``presses`` times (or as often as the data allows)."""
    global PROFILING
    tree = tree_of(app)
    times: dict[str, list[Timing]] = {"move down": []}
    PROFILING = "move down"
    tree.focus()
    await pilot.pause()
    for _ in range(presses):
        times["move down"].append(await timed(pilot, "down"))
    # open sections one after another (each loads its cases from the server behind), each
    # closed again, so the next section is one row down; then the same walk leaving open the
    # sections that hold sections, so the tree grows (to some thousands of lines) as a user's
    # does who opens a suite, then its sections, one after another
    for name, keep_open in (("open a section", False), ("open, the others left open", True)):
        times[name] = []
        tree.move_cursor(tree.root.children[0])
        await pilot.pause()
        opened, last_line = 0, -1
        while opened < presses and tree.cursor_line != last_line:
            node = tree.cursor_node
            if node is None:
                break
            if node.allow_expand and not node.is_expanded:
                PROFILING = name
                times[name].append(await timed(pilot, "space"))
                opened += 1
                await wait(pilot, partial(loaded_below, node))
                if not (keep_open and any(child.allow_expand for child in node.children)):
                    await pilot.press("space")
                    await pilot.pause()
            last_line = tree.cursor_line
            PROFILING = ""
            await timed(pilot, "down")
        if keep_open:
            lines = tree.last_line + 1
            NOTES.append(f"'{name}': the TestRail tree held {lines:,} lines at the end")
    for node in list(tree.root.children):
        node.collapse_all()
    await pilot.pause()
    # filter: type into the filter line, one character at a time (each key echoed), then
    # time how long the narrowed trees take to show once typing stops; then clear it
    times["filter"], times["filter shown"] = [], []
    PROFILING = "filter"
    for word in ("login", "check", "pay", "mobile", "report"):
        await pilot.press("slash")
        for char in word:
            times["filter"].append(await timed(pilot, char))
        start = clocks()
        await wait(pilot, partial(filtered, tree, word))
        await pilot.pause()
        times["filter shown"].append(since(start))
        await pilot.press("escape")
        await pilot.pause()
    tree.focus()
    times["switch pane"] = []
    PROFILING = "switch pane"
    for _ in range(presses):
        times["switch pane"].append(await timed(pilot, "tab"))
    return times


class Empty(App[None]):
    def compose(self) -> Any:
        yield Tree("root")


async def pilot_cost(presses: int) -> list[Timing]:
    app = Empty()
    async with app.run_test(size=SIZE) as pilot:
        return [await timed(pilot, "down") for _ in range(presses)]


class ServerThread:
    """An event loop in its own thread where the emulators answer, so that the console's
    thread (the UI) and the servers' CPU can be told apart (``time.thread_time``)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="emulators", daemon=True)
        self.thread.start()
        self.cpu = 0.0  # seconds of CPU the emulators' thread spent answering

    async def answer(self, transport: httpx.ASGITransport, request: httpx.Request) -> Any:
        start = time.thread_time()
        response = await transport.handle_async_request(request)
        await response.aread()
        self.cpu += time.thread_time() - start
        return response

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


class ThreadedASGI(httpx.AsyncBaseTransport):
    """``httpx.ASGITransport`` run on :class:`ServerThread`'s loop: the request body is read
    here, the app answers there, the (fully read) response comes back."""

    def __init__(self, app: Any, server: ServerThread) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.server = server

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        copy = httpx.Request(request.method, request.url, headers=request.headers, content=body)
        future = asyncio.run_coroutine_threadsafe(
            self.server.answer(self.inner, copy), self.server.loop
        )
        response: httpx.Response = await asyncio.wrap_future(future)
        return httpx.Response(
            response.status_code, headers=response.headers, content=response.content
        )


def service(
    config: Path, state: Path, testrail: Any, testfiesta: Any, server: ServerThread
) -> Service:
    return Service(
        load_config(config),
        state_dir=state,
        testrail_transport=ThreadedASGI(testrail, server),
        testfiesta_transport=ThreadedASGI(testfiesta, server),
    )


async def main(cases: int, presses: int) -> int:
    os.environ["BENCH_TESTRAIL_KEY"] = "bench-key"
    os.environ["BENCH_TESTFIESTA_TOKEN"] = TOKEN
    os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    state = testrail_emulator.TestRailState()
    seeded = time.perf_counter()
    testrail_emulator.generate(state, cases=cases, seed=1, project_name="Bench Project")
    print(f"seeded {cases} cases in {len(state.sections)} sections in "
          f"{time.perf_counter() - seeded:.1f} s")  # fmt: skip
    testrail = testrail_emulator.create_app(state, user="bench@example.com", api_key="bench-key")
    testfiesta = testfiesta_emulator.create_app(handle="bench", token=TOKEN)
    server = ServerThread()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "railfiesta.toml"
            config.write_text(CONFIG)
            state_dir = Path(tmp) / "state"
            cold_ready, cold_live, _ = await start(
                service(config, state_dir, testrail, testfiesta, server), warm=False
            )
            warm_ready, warm_live, times = await start(
                service(config, state_dir, testrail, testfiesta, server), warm=True
            )
            server_cpu = server.cpu
    finally:
        server.stop()
    baseline = await pilot_cost(presses)
    imports, compiling = import_cost(), import_cost(cached=False)
    print()
    print("times: wall; CPU of the console's thread (UI); CPU of the whole process (adds the")
    print("emulators' thread, which answers the console's requests, and the state store's)")
    print()
    print(f"{'start':<26}{'tree shown':>11}{'UI CPU':>9}{'proc CPU':>9}{'server read done':>18}")
    for name, (wall, ui, proc), live in (
        ("cold (no cache)", cold_ready, cold_live),
        ("warm (read cache)", warm_ready, warm_live),
    ):
        print(f"{name:<26}{wall:>10.2f}s{ui:>8.2f}s{proc:>8.2f}s{live:>17.2f}s")
    print(f"{'imports (new process)':<26}{imports[0]:>10.2f}s{'':>9}{imports[2]:>8.2f}s"
          f"   (no bytecode cache: {compiling[0]:.2f} s, CPU {compiling[2]:.2f} s)")  # fmt: skip
    whole = (warm_ready[0] + imports[0], warm_ready[2] + imports[2])
    print(f"{'warm start + imports':<26}{whole[0]:>10.2f}s{'':>9}{whole[1]:>8.2f}s")
    print(f"(the emulators' thread spent {server_cpu:.2f} s of CPU answering both consoles)")
    print()
    print(f"{'key, press + pause':<26}{'n':>4}{'p50 ms':>8}{'p95 ms':>8}{'max ms':>8}"
          f"{'UI p50':>8}{'UI p95':>8}{'proc p95':>9}")  # fmt: skip
    rows = [*times.items(), ("(empty app: Pilot only)", baseline)]
    worst = worst_proc = 0.0
    for name, values in rows:
        if not values:
            print(f"{name:<26}{0:>4}")
            continue
        walls = [w for w, _, _ in values]
        uis = [u for _, u, _ in values]
        procs = [p for _, _, p in values]
        if name in times and name not in ("filter shown", PAUSE_ONLY):  # not keys
            worst = max(worst, percentile(uis, 0.95))
            worst_proc = max(worst_proc, percentile(procs, 0.95))
        print(f"{name:<26}{len(values):>4}{statistics.median(walls) * 1000:>8.1f}"
              f"{percentile(walls, 0.95) * 1000:>8.1f}{max(walls) * 1000:>8.1f}"
              f"{statistics.median(uis) * 1000:>8.1f}{percentile(uis, 0.95) * 1000:>8.1f}"
              f"{percentile(procs, 0.95) * 1000:>9.1f}")  # fmt: skip
    for note in NOTES:
        print(note)
    print()
    load = os.getloadavg()[0]
    print(f"machine load average {load:.1f} on {os.cpu_count()} CPUs (wall times include it)")
    warm_ok = whole[1] < WARM_GOAL
    keys_ok = worst < KEY_GOAL
    print(f"goals (CPU time): warm start with imports < {WARM_GOAL:.0f} s: "
          f"{'met' if warm_ok else 'MISSED'}; every key p95 < {KEY_GOAL * 1000:.0f} ms on the "
          f"UI thread: {'met' if keys_ok else 'MISSED'} (whole process: "
          f"{'met' if worst_proc < KEY_GOAL else 'missed'})")  # fmt: skip
    return 0 if warm_ok and keys_ok else 1


def import_cost(*, cached: bool = True) -> Timing:
    """(wall, 0, CPU) of a new Python process importing what ``railfiesta console`` imports
    before its first paint: the part of a second start the in-process runs above skip.

    ``cached``: with a bytecode cache (a fresh ``PYTHONPYCACHEPREFIX``, filled by one import
    first), the median of three runs; else one run that writes no bytecode and so compiles
    every module that has none (``PYTHONDONTWRITEBYTECODE=1``)."""
    code = "import tui.cli, tui.app, textual.app"
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as pycache:
        if cached:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = pycache
        else:
            env["PYTHONDONTWRITEBYTECODE"] = "1"

        def run() -> tuple[float, float]:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            began = time.perf_counter()
            subprocess.run(
                [sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[1], env=env
            )
            wall = time.perf_counter() - began
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)

        if not cached:
            wall, cpu = run()
            return wall, 0.0, cpu
        run()  # writes the bytecode
        runs = sorted(run() for _ in range(3))
        walls, cpus = sorted(w for w, _ in runs), sorted(c for _, c in runs)
        return walls[1], 0.0, cpus[1]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=50_000)
    parser.add_argument("--presses", type=int, default=40)
    parser.add_argument(
        "--profile",
        action="append",
        default=[],
        metavar="KEY",
        help="cProfile the presses of this kind of key (a row's name, e.g. 'open, the others "
        "left open'; may repeat) and print the costliest functions (the console's thread "
        "only; profiling slows the keys it profiles)",
    )
    parser.add_argument("--profile-top", type=int, default=40, help="functions printed")
    parser.add_argument("--profile-out", type=Path, help="also write the profile there (pstats)")
    arguments = parser.parse_args()
    if arguments.profile:
        import cProfile

        PROFILE = cProfile.Profile()
        PROFILED.update(arguments.profile)
    code = asyncio.run(main(arguments.cases, arguments.presses))
    if PROFILE is not None:
        import pstats

        print()
        print(f"cProfile of {', '.join(sorted(PROFILED))} (the console thread):")
        for order in ("tottime", "cumulative"):
            pstats.Stats(PROFILE).sort_stats(order).print_stats(arguments.profile_top)
        if arguments.profile_out:
            PROFILE.dump_stats(arguments.profile_out)
    sys.exit(code)
