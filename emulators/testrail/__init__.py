"""TestRail API v2 emulator: an ASGI (Starlette) app that behaves like a TestRail server.

Public API:

- :func:`build` - the one call the CLI needs: seeded state + app.
- :func:`create_app` - an app over a given :class:`TestRailState` with every switch.
- :class:`TestRailState`, :class:`ManualClock` - the in-memory instance and a test clock.
- :func:`from_xml`, :func:`generate`, :func:`add_baseline` - deterministic seeding.
- :func:`main` - ``python -m emulators.testrail`` command line.

It imports only the standard library, starlette and uvicorn (never ``core`` or ``tui``).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from os import PathLike
from typing import Any

from starlette.applications import Starlette

from emulators.testrail.app import EmulatorOptions, SlidingWindow, create_app
from emulators.testrail.errors import ApiError
from emulators.testrail.seed import add_baseline, from_xml, generate
from emulators.testrail.store import ManualClock, TestRailState

__all__ = [
    "ApiError",
    "EmulatorOptions",
    "ManualClock",
    "SlidingWindow",
    "TestRailState",
    "add_baseline",
    "build",
    "create_app",
    "from_xml",
    "generate",
    "main",
]

DEFAULT_CASES = 600


def build(
    user: str,
    api_key: str,
    from_xml: str | PathLike[str] | Sequence[str | PathLike[str]] | None = None,
    cases: int | None = None,
    rpm: int | None = None,
    *,
    seed: int = 1,
    suite_mode: int = 1,
    password: str | None = None,
    **options: Any,
) -> Starlette:
    """A seeded TestRail emulator app, ready for ``emulators.server.serve_forever(app, port=P)``.

    - ``user``/``api_key``: the Basic-auth login (e-mail) and key the app accepts (``password``
      optionally too).
    - ``from_xml``: one XML export path or a list of them, each loaded as its own project
      (:func:`emulators.testrail.seed.from_xml`).
    - ``cases``: generate a demo project with that many cases
      (:func:`emulators.testrail.seed.generate`, ``seed``, ``suite_mode``). When neither
      ``from_xml`` nor ``cases`` is given, a 600-case demo project is generated.
    - ``rpm``: requests per minute before 429 (None = unlimited, like TestRail Server).
    - ``options``: any other :func:`create_app` keyword (``legacy_arrays``, ``latency``, ...).

    The state is reachable as ``app.state.testrail``.
    """
    from emulators.testrail import ops
    from emulators.testrail import seed as _seed

    state = TestRailState()
    ops.add_user(state, email=user, api_key=api_key, password=password)  # the seeds' author
    paths: list[str | PathLike[str]] = []
    if from_xml is not None:
        paths = [from_xml] if isinstance(from_xml, (str, PathLike)) else list(from_xml)
    for path in paths:
        _seed.from_xml(state, path)
    if cases is not None or not paths:
        _seed.generate(
            state, cases=DEFAULT_CASES if cases is None else cases, seed=seed, suite_mode=suite_mode
        )
    return create_app(
        state, user=user, api_key=api_key, password=password, requests_per_minute=rpm, **options
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m emulators.testrail [--port 8181] [--from-xml F ...] [--cases N] [--rpm N] ...``:
    serve a seeded emulator on 127.0.0.1 until Ctrl-C. Returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m emulators.testrail", description=__doc__)
    parser.add_argument("--port", type=int, default=8181)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--user", default="admin@example.com")
    parser.add_argument("--api-key", default="emulator-api-key")
    parser.add_argument("--from-xml", action="append", default=None, metavar="FILE")
    parser.add_argument("--cases", type=int, default=None)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--suite-mode", type=int, choices=(1, 2, 3), default=1)
    parser.add_argument("--rpm", type=int, default=None, help="requests per minute (429 above)")
    parser.add_argument("--legacy-arrays", action="store_true", help="pre-6.7 bare arrays")
    parser.add_argument(
        "--legacy-ignores-offset", action="store_true", help="pre-6.7 arrays, offset ignored"
    )
    parser.add_argument(
        "--next-link-limit-zero", action="store_true", help="_links.next carries limit=0"
    )
    parser.add_argument("--suites-paged", action="store_true", help="9.3.1 get_suites envelope")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per request")
    parser.add_argument("--error-rate", type=float, default=0.0, help="share of 500 answers")
    parser.add_argument("--fault-seed", type=int, default=0)
    args = parser.parse_args(argv)
    from emulators.server import serve_forever

    app = build(
        args.user,
        args.api_key,
        from_xml=args.from_xml,
        cases=args.cases,
        rpm=args.rpm,
        seed=args.seed,
        suite_mode=args.suite_mode,
        legacy_arrays=args.legacy_arrays,
        legacy_ignores_offset=args.legacy_ignores_offset,
        next_link_limit_zero=args.next_link_limit_zero,
        suites_paged=args.suites_paged,
        latency=args.latency,
        error_rate=args.error_rate,
        fault_seed=args.fault_seed,
    )
    serve_forever(app, host=args.host, port=args.port)
    return 0
