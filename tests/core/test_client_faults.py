"""Both clients over the emulators with faults switched on (:mod:`emulators.faults`): reads
survive every fault or name the side and endpoint; a write whose answer was lost is never sent
again; a list read while rows shift between its pages still yields every record once."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import stamina

from core.errors import ApiError, RateLimited, ServerUnreachable, UnexpectedResponse
from core.http import RateLimitWait
from core.testfiesta.client import TestFiestaClient
from core.testrail.client import TestRailClient
from emulators import testfiesta as tf_emulator
from emulators import testrail as tr_emulator
from emulators.faults import WireTransport
from emulators.testfiesta.state import TestFiestaState

USER, KEY = "qa@example.com", "secret-key"
HANDLE = "acme"
TOKEN = "testfiesta_" + "a1" * 16 + "." + "b2" * 16
TIMEOUT = 0.25


@pytest.fixture(autouse=True)
def no_backoff() -> Iterator[None]:
    """Retries happen as configured (6 attempts), without sleeping."""
    with stamina.set_testing(True, attempts=6, cap=True):
        yield


@pytest.fixture(scope="module")
def seeded() -> tr_emulator.TestRailState:
    state = tr_emulator.TestRailState()
    tr_emulator.generate(state, cases=600, seed=7)
    return state


@pytest.fixture
def tr_state(seeded: tr_emulator.TestRailState) -> tr_emulator.TestRailState:
    """A copy of the seeded 600-case project (seeding once per module)."""
    with seeded.lock:
        return copy.deepcopy(seeded, {id(seeded.lock): threading.RLock()})


def tr_client(state: tr_emulator.TestRailState, **options: Any) -> tuple[Any, TestRailClient]:
    app = tr_emulator.create_app(state, user=USER, api_key=KEY, slow_seconds=0.5, **options)
    client = TestRailClient.connect(
        "http://testrail.test",
        USER,
        KEY,
        requests_per_minute=None,
        timeout=TIMEOUT,
        transport=WireTransport(app),
    )
    return app, client


@pytest.fixture
def tf_state() -> TestFiestaState:
    state = TestFiestaState()
    project = state.create_project("Demo", "DEMO")
    root = state.root_folder("DEMO")["uid"]
    for n in range(600):
        state.create_folder(project["uid"], f"Folder {n:03d}", root)
    return state


def tf_client(state: TestFiestaState, **options: Any) -> tuple[Any, TestFiestaClient]:
    app = tf_emulator.create_app(state, handle=HANDLE, token=TOKEN, slow_seconds=0.5, **options)
    client = TestFiestaClient.connect(
        "http://testfiesta.test",
        HANDLE,
        TOKEN,
        requests_per_minute=None,
        timeout=TIMEOUT,
        transport=WireTransport(app),
    )
    return app, client


def titles(state: tr_emulator.TestRailState, title: str) -> int:
    return sum(1 for case in state.cases.values() if case["title"] == title)


# ---------------------------------------------------------------------- reads


@pytest.mark.parametrize(
    "kind",
    [
        "429",
        "429-date",
        "409",
        "500",
        "502",
        "503",
        "5xx-after",
        "slow",
        "slow-after",
        "reset",
        "truncated",
        "html",
    ],
)
async def test_a_read_survives_one_fault(tr_state: tr_emulator.TestRailState, kind: str) -> None:
    app, client = tr_client(tr_state, retry_after=0)
    await client.get_case(4)  # the server has answered JSON: an HTML page is now a hiccup
    app.state.faults.push(kind)
    case = await client.get_case(5)
    await client.aclose()
    assert (case["id"], case["title"]) == (5, tr_state.cases[5]["title"])
    assert client.session.stats.by_endpoint["get_case"] == 3
    assert client.session.stats.retries == 1
    assert client.session.stats.rate_limited == (1 if kind in ("429", "429-date", "409") else 0)
    assert app.state.faults.injected == {kind: 1}


async def test_the_legacy_prefix_is_stripped_without_a_retry(
    tr_state: tr_emulator.TestRailState,
) -> None:
    app, client = tr_client(tr_state)
    app.state.faults.push("prefix")
    case = await client.get_case(5)
    await client.aclose()
    assert case["id"] == 5 and client.session.stats.total == 1


@pytest.mark.parametrize(
    ("kind", "error", "message"),
    [
        (
            "html",
            UnexpectedResponse,
            "testrail get_case got an HTML page instead of JSON (HTTP 200): a login page? "
            "this is not a TestRail API (set [testrail] url to the TestRail site root, such as "
            "https://acme.testrail.io: it must reach the API itself, not a single sign-on or "
            "proxy page)",
        ),
        (
            "truncated",
            UnexpectedResponse,
            "testrail get_case answered HTTP 200 with JSON cut short",
        ),
        ("503", ApiError, "testrail get_case failed with HTTP 503: emulated server fault (503)"),
        ("reset", ServerUnreachable, "testrail get_case: ReadError talking to http://testrail."),
        ("slow", ServerUnreachable, "testrail get_case: ReadTimeout talking to http://testrail."),
    ],
)
async def test_a_fault_that_persists_is_named_after_six_attempts(
    tr_state: tr_emulator.TestRailState, kind: str, error: type[Exception], message: str
) -> None:
    app, client = tr_client(tr_state, fault_rate=1.0, faults=[kind])
    app.state.faults.rate = 0.0
    await client.get_case(4)  # the server has answered JSON: an HTML page is now a hiccup
    app.state.faults.rate = 1.0
    with pytest.raises(error) as raised:
        await client.get_case(5)
    await client.aclose()
    assert str(raised.value).startswith(message)
    assert client.session.stats.by_endpoint["get_case"] == 1 + 6


async def test_an_html_page_before_any_json_fails_at_once(
    tr_state: tr_emulator.TestRailState,
) -> None:
    """The first answer is an HTML page: the URL is a web page, not the API; no retry."""
    _, client = tr_client(tr_state, fault_rate=1.0, faults=["html"])
    with pytest.raises(UnexpectedResponse, match="got an HTML page instead of JSON"):
        await client.get_case(5)
    await client.aclose()
    assert client.session.stats.by_endpoint["get_case"] == 1
    assert client.session.stats.retries == 0


# ---------------------------------------------------------------------- writes


@pytest.mark.parametrize(
    ("kind", "error", "landed"),
    [
        ("5xx-after", ApiError, 1),
        ("500", ApiError, 0),
        ("truncated", UnexpectedResponse, 1),
        ("html", UnexpectedResponse, 0),
        ("reset", ServerUnreachable, 1),
        ("slow-after", ServerUnreachable, 1),
        ("slow", ServerUnreachable, 0),
    ],
)
async def test_a_write_whose_answer_was_lost_is_not_sent_again(
    tr_state: tr_emulator.TestRailState, kind: str, error: type[Exception], landed: int
) -> None:
    app, client = tr_client(tr_state)
    app.state.faults.push(kind)
    with pytest.raises(error):
        await client.add_case(1, {"title": "written once"})
    await client.aclose()
    assert client.session.stats.by_endpoint["add_case"] == 1
    assert titles(tr_state, "written once") == landed


@pytest.mark.parametrize("kind", ["429", "429-date", "409"])
async def test_a_write_the_server_refused_before_doing_anything_is_sent_again(
    tr_state: tr_emulator.TestRailState, kind: str
) -> None:
    app, client = tr_client(tr_state, retry_after=0)
    app.state.faults.push(kind)
    case = await client.add_case(1, {"title": "after a wait"})
    await client.aclose()
    assert case["title"] == "after a wait" and titles(tr_state, "after a wait") == 1
    assert client.session.stats.by_endpoint["add_case"] == 2


async def test_a_testfiesta_409_is_a_conflict_raised_at_once(tf_state: TestFiestaState) -> None:
    _, client = tf_client(tf_state)
    with pytest.raises(ApiError) as raised:
        await client.create_project("Again", "DEMO")
    await client.aclose()
    assert not isinstance(raised.value, RateLimited)
    assert raised.value.status == 409
    assert str(raised.value) == (
        "testfiesta POST /projects failed with HTTP 409: a project with key 'DEMO' already exists"
    )
    assert client.session.stats.total == 1 and client.session.stats.rate_limited == 0


async def test_a_testrail_409_is_maintenance_and_retried(
    tr_state: tr_emulator.TestRailState,
) -> None:
    app, client = tr_client(tr_state, retry_after=0)
    waits: list[RateLimitWait] = []
    client.session.on_event = lambda event: (
        waits.append(event) if isinstance(event, RateLimitWait) else None
    )
    app.state.faults.push("409", "429", "409")
    assert (await client.get_project(1))["id"] == 1
    await client.aclose()
    stats = client.session.stats
    assert stats.rate_limited == 3 and stats.total == 4
    assert stats.maintenance_waits == 2  # the 409s: maintenance, not a rate limit
    assert [(w.status, w.maintenance, w.reason) for w in waits] == [
        (409, True, "maintenance"),
        (429, False, "rate limit"),
        (409, True, "maintenance"),
    ]


# ---------------------------------------------------------------------- rows shifted between pages


@pytest.mark.parametrize(
    "kinds",
    [("page-insert",), ("page-delete",), ("page-delete", "page-delete", "page-insert")],
)
async def test_testrail_cases_read_once_each_while_rows_shift(
    tr_state: tr_emulator.TestRailState, kinds: tuple[str, ...]
) -> None:
    app, client = tr_client(tr_state)
    app.state.faults.push(*kinds)
    ids = [row["id"] async for row in client.iter_cases(1, None)]
    await client.aclose()
    assert sorted(ids) == sorted(tr_state.cases) and len(ids) == 600
    assert app.state.faults.injected == {k: kinds.count(k) for k in set(kinds)}


async def test_testfiesta_folders_read_once_each_while_rows_shift(
    tf_state: TestFiestaState,
) -> None:
    app, client = tf_client(tf_state)
    app.state.faults.push("page-delete", "page-insert", "page-delete")
    folders = await client.list_folders("DEMO")
    await client.aclose()
    names = [f["name"] for f in folders]
    assert sorted(names) == ["Demo", *(f"Folder {n:03d}" for n in range(600))]
    assert app.state.faults.injected == {"page-delete": 2, "page-insert": 1}


@pytest.mark.parametrize("seed", range(5))
async def test_a_seeded_storm_of_shifts_loses_and_repeats_nothing(
    tr_state: tr_emulator.TestRailState, tf_state: TestFiestaState, seed: int
) -> None:
    shifts = ["page-insert", "page-delete"]
    tr_app, tr = tr_client(tr_state, fault_rate=0.8, fault_seed=seed, faults=shifts)
    tf_app, tf = tf_client(tf_state, fault_rate=0.8, fault_seed=seed + 100, faults=shifts)
    ids = [row["id"] async for row in tr.iter_cases(1, None)]
    folders = await tf.list_folders("DEMO")
    await tr.aclose()
    await tf.aclose()
    assert sorted(ids) == sorted(tr_state.cases)
    assert len({f["uid"] for f in folders}) == len(folders) == 601
    injected = tr_app.state.faults.injected + tf_app.state.faults.injected
    assert sum(injected.values()) >= 2


async def test_a_list_that_keeps_shifting_is_named() -> None:
    """A server whose every next page has moved on (rows deleted before it each time)."""

    def handler(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params.get("offset") or 0)
        start = 0 if offset == 0 else offset + 1000  # the rows before keep going away
        return httpx.Response(200, json=[{"id": n} for n in range(start, start + 250)])

    client = TestRailClient.connect(
        "http://testrail.test",
        USER,
        KEY,
        requests_per_minute=None,
        transport=httpx.MockTransport(handler),
    )
    with pytest.raises(UnexpectedResponse) as raised:
        [row async for row in client.iter_cases(1, None)]
    await client.aclose()
    assert str(raised.value).startswith(
        "testrail get_cases: the list kept changing while it was read page by page (rows "
        "shifted between pages 8 times), so it cannot be read completely"
    )
    # the first page; 249 shifted, back to 245, 229, 165 (shifted again each time), 0 (read
    # again: nothing new, but a page asked for further back goes on); then 249 and 0 four
    # times, and the ninth shift at 249 gives up
    assert client.session.stats.total == 15
