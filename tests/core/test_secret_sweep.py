"""A secret sweep: drive failures and normal work, then look for the secrets everywhere.

The secrets are the TestRail API key, the TestFiesta token, base64 of ``user:key`` (the HTTP
Basic credential) and ``Bearer <token>``. They must appear in no exception's text or hint (the
whole ``__cause__``/``__context__`` chain), no event sent to Service listeners, no line the
console's activity log would show, nothing the command line prints (stdout and stderr,
``--json`` included), no log record, no value read back from the state store (every key, read
through diskcache: it compresses values, so grepping the file would prove nothing) and no
file name in the state directory. The failures include servers that echo the request headers
back in their body, which is how a secret would get into a message.
"""

from __future__ import annotations

import base64
import json
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import stamina

from core.config import Config
from core.errors import RailfiestaError
from core.service import Service
from core.store import StateStore
from emulators.testrail import ops
from tests.helpers import API_KEY, TOKEN, Emulated, emulate
from tui.bridge import EventBridge
from tui.cli import main

USER = "qa@example.com"
SECRETS = {
    "api key": API_KEY,
    "token": TOKEN,
    "token body": TOKEN.removeprefix("testfiesta_"),
    "basic credential": base64.b64encode(f"{USER}:{API_KEY}".encode()).decode(),
    "bearer header": f"Bearer {TOKEN}",
}

Fault = Callable[[httpx.Request], httpx.Response | None]


#: Characters of a secret that count as a leak on their own (a cut-off secret still leaks).
WINDOW = 12


#: Secrets whose every :data:`WINDOW` characters are secret (``testfiesta_`` and ``Bearer``
#: are public words: the token's body stands for the token).
CUT_SECRETS = ("api key", "token body", "basic credential")


def leaks(text: str) -> list[str]:
    """The names of the secrets found in ``text``, whole or, for :data:`CUT_SECRETS`, any
    :data:`WINDOW` characters of one (a message cut to length may end inside a secret)."""
    found = []
    for name, secret in SECRETS.items():
        size = WINDOW if name in CUT_SECRETS else len(secret)
        if any(secret[i : i + size] in text for i in range(len(secret) - size + 1)):
            found.append(name)
    return found


def _echo(request: httpx.Request) -> str:
    return "\n".join(f"{name}: {value}" for name, value in request.headers.items())


class Faulty(httpx.AsyncBaseTransport):
    """The emulator, except where ``fault(request)`` answers (or raises) instead."""

    def __init__(self, inner: httpx.AsyncBaseTransport, fault: Fault | None = None) -> None:
        self.inner = inner
        self.fault = fault

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.fault is not None:
            answer = self.fault(request)
            if answer is not None:
                return answer
        return await self.inner.handle_async_request(request)


def refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("[Errno 111] Connection refused", request=request)


def status_401(request: httpx.Request) -> httpx.Response:
    body = {"error": "Authentication failed: invalid or missing user/password or session cookie."}
    return httpx.Response(401, json=body, request=request)


def status_500(request: httpx.Request) -> httpx.Response:
    return httpx.Response(500, json={"message": "Internal server error"}, request=request)


def html_413_on_cases(request: httpx.Request) -> httpx.Response | None:
    if request.method != "POST" or not request.url.path.endswith("/cases"):
        return None
    page = "<html><head><title>413 Request Entity Too Large</title></head><body>nginx</body>"
    return httpx.Response(413, text=page, headers={"content-type": "text/html"}, request=request)


def echo_502_text(request: httpx.Request) -> httpx.Response:
    return httpx.Response(502, text=f"Bad gateway. You sent:\n{_echo(request)}", request=request)


def echo_500_json(request: httpx.Request) -> httpx.Response:
    body = {"error": f"could not handle {dict(request.headers)}"}
    return httpx.Response(500, json=body, request=request)


def echo_200_not_json(request: httpx.Request) -> httpx.Response:
    """A login page that greets with the credential where the error's 80-character snippet
    of the body ends (a secret cut in two must not leak its first half)."""
    greeting = "Welcome to the single sign-on portal, you are logged in as: "
    text = f"{greeting}{request.headers['authorization']}"
    return httpx.Response(200, text=text, request=request)


# (name, side the fault is on, fault)
FAILURES: list[tuple[str, str, Fault]] = [
    ("refused connection", "testrail", refused),
    ("refused connection", "testfiesta", refused),
    ("401", "testrail", status_401),
    ("401", "testfiesta", status_401),
    ("500", "testfiesta", status_500),
    ("413 HTML page", "testfiesta", html_413_on_cases),
    ("5xx echoing the headers as text", "testrail", echo_502_text),
    ("5xx echoing the headers as JSON", "testrail", echo_500_json),
    ("5xx echoing the headers as JSON", "testfiesta", echo_500_json),
    ("200 echoing the credential, not JSON", "testrail", echo_200_not_json),
    ("200 echoing the credential, not JSON", "testfiesta", echo_200_not_json),
]


@pytest.fixture(autouse=True)
def quick_retries() -> Iterator[None]:
    """The failures are retried as configured, without the waits."""
    with stamina.set_testing(True, attempts=2):
        yield


class Sweep:
    """Everything a run showed: events, activity-log lines, printed output, log records."""

    def __init__(self, env: Emulated) -> None:
        self.env = env
        self.events: list[object] = []
        self.bridge = EventBridge(self.events.append)
        self.faults: dict[str, Fault | None] = {"testrail": None, "testfiesta": None}

    def service(self, config: Config, state_dir: Path | None) -> Service:
        service = Service(
            config,
            state_dir=state_dir,
            testrail_transport=Faulty(
                httpx.ASGITransport(self.env.testrail), self.faults["testrail"]
            ),
            testfiesta_transport=Faulty(
                httpx.ASGITransport(self.env.testfiesta), self.faults["testfiesta"]
            ),
        )
        service.subscribe(self.events.append)
        service.subscribe(self.bridge)
        return service

    def check_events(self) -> None:
        for event in self.events:
            assert leaks(repr(event)) == [], event
        for line in self.bridge.drain():
            assert leaks(line) == [], line
        self.events.clear()


def check_error(error: BaseException) -> None:
    """The error and every error it was raised from or during."""
    seen: BaseException | None = error
    visited: set[int] = set()
    while seen is not None and id(seen) not in visited:  # a retried error's chain can loop
        visited.add(id(seen))
        texts = [str(seen), repr(seen), *(str(a) for a in seen.args)]
        if isinstance(seen, RailfiestaError):
            texts += [seen.message, seen.hint]
        for text in texts:
            assert leaks(text) == [], (type(seen).__name__, text)
        seen = seen.__cause__ or seen.__context__


def check_state(state_dir: Path) -> int:
    """No secret in any stored key or value, nor in a file name; returns the keys read."""
    for root, dirs, files in os.walk(state_dir):
        for name in [*dirs, *files]:
            assert leaks(name) == [], Path(root) / name
    store = StateStore(state_dir)
    try:
        keys = list(store._cache.iterkeys())
        for key in keys:
            assert leaks(str(key)) == [], key
            value = store._cache.get(key)
            assert leaks(json.dumps(value, default=str)) == [], key
    finally:
        store.close()
    return len(keys)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Emulated:
    return emulate(tmp_path, monkeypatch, cases=6)


@pytest.mark.parametrize(("failure", "side", "fault"), FAILURES)
async def test_no_secret_in_a_failure_seen_through_the_service(
    env: Emulated,
    failure: str,
    side: str,
    fault: Fault,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    sweep = Sweep(env)
    sweep.faults[side] = fault
    service = sweep.service(env.service().config, env.state_dir)
    with pytest.raises(RailfiestaError) as raised:
        async with service:
            reports = await service.migrate()
            # a 413 on one batch fails only those cases: the report says why
            for report in reports:
                for warning in report.warnings:
                    assert leaks(warning) == [], warning
                assert leaks(json.dumps(report.as_dict(), default=str)) == []
            raise RailfiestaError(f"{failure}: the migration carried on")
    check_error(raised.value)
    sweep.check_events()
    for record in caplog.records:
        assert leaks(record.getMessage()) == [], record.getMessage()
    assert check_state(env.state_dir) >= 1


@pytest.mark.parametrize(("failure", "side", "fault"), FAILURES)
def test_no_secret_in_what_the_command_line_prints_for_a_failure(
    env: Emulated,
    failure: str,
    side: str,
    fault: Fault,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sweep = Sweep(env)
    sweep.faults[side] = fault
    monkeypatch.setattr("tui.cli.make_service", sweep.service)
    where = ["--config", str(env.config_path), "--state", str(env.state_dir)]
    for argv in (["migrate"], ["migrate", "--json"], ["sync", "--once", "--json"], ["check"]):
        code = main([*argv, *where])
        out, err = capsys.readouterr()
        if argv[0] != "check":  # check only reads: a fault on writes does not touch it
            assert code != 0, (failure, argv, out, err)
        assert leaks(out) == [], (argv, out)
        assert leaks(err) == [], (argv, err)
    sweep.check_events()
    check_state(env.state_dir)


def test_no_secret_after_a_migration_a_sync_with_a_conflict_and_every_report(
    env: Emulated,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    sweep = Sweep(env)
    monkeypatch.setattr("tui.cli.make_service", sweep.service)
    where = ["--config", str(env.config_path), "--state", str(env.state_dir)]

    def run(*argv: str) -> tuple[int, str]:
        code = main([*argv, *where])
        out, err = capsys.readouterr()
        assert leaks(out) == [], (argv, out)
        assert leaks(err) == [], (argv, err)
        return code, out

    assert run("migrate")[0] == 0
    state = env.testrail_state
    with state.lock:
        case = min(state.cases)
        ops.update_case(state, case, {"title": "Title from TestRail"}, None)
    tf = env.testfiesta.state.testfiesta
    row = next(r for r in tf.db.cases.values() if str(r["externalId"]).endswith(f"/case/{case}"))
    tf.update(row, {"name": "Title from TestFiesta"})
    code, out = run("sync", "--once", "--json")
    assert code == 1  # the conflict stays open
    assert json.loads(out)[0]["plan"]["conflicts"]
    assert run("sync", "--plan")[0] == 1
    code, out = run("status", "--json")
    assert json.loads(out)["conflicts"] == 1
    assert run("conflicts", "list", "--json")[0] == 1
    assert run("check")[0] in (0, 1)
    sweep.check_events()
    for record in caplog.records:
        assert leaks(record.getMessage()) == [], record.getMessage()
    # links, bases, conflicts and cursors of 6 cases and their folders were all read back
    assert check_state(env.state_dir) > 20


def test_the_sweep_would_see_a_leak() -> None:
    """The checks themselves find each form of each secret."""
    assert leaks(f"x {base64.b64encode(f'{USER}:{API_KEY}'.encode()).decode()} y") == [
        "basic credential"
    ]
    assert leaks(f"Authorization: Bearer {TOKEN}") == ["token", "token body", "bearer header"]
    assert leaks(f"key={API_KEY}") == ["api key"]
    assert leaks(f"snippet: 'Bearer {TOKEN[:40]}'") == ["token body"]
    assert leaks(f"{API_KEY[3:15]}") == ["api key"]
    assert leaks("testfiesta_[redacted] and qa@example.com") == []
