"""The shared HTTP layer: retries, Retry-After, what is never re-sent, pacing, counting."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
import stamina

from core.errors import AccessDenied, ApiError, RateLimited, ServerUnreachable
from core.http import (
    IN_FLIGHT,
    MAX_RETRY_AFTER,
    PACER_MARGIN,
    Pacer,
    RateLimitWait,
    each_in_flight,
)
from core.testfiesta.client import TestFiestaClient
from core.testrail.client import TestRailClient
from tests.fakeclock import run_on_fake_clock


@pytest.fixture(autouse=True)
def no_backoff(request: pytest.FixtureRequest) -> Iterator[None]:
    """Retries happen as configured, without sleeping (except in the ``*_on_the_clock`` tests,
    which sleep for real on :mod:`tests.fakeclock`'s virtual clock)."""
    if request.node.name.split("[")[0].endswith("_on_the_clock"):
        yield
        return
    with stamina.set_testing(True, attempts=6, cap=True):
        yield


def _scripted(*answers: httpx.Response | Exception) -> tuple[httpx.MockTransport, list[str]]:
    queue = list(answers)
    methods: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        methods.append(request.method)
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return httpx.MockTransport(handler), methods


def _testrail(transport: httpx.MockTransport, events: list[object]) -> TestRailClient:
    return TestRailClient.connect(
        "https://acme.testrail.io",
        "qa@example.com",
        "k3y",
        requests_per_minute=None,
        transport=transport,
        on_event=events.append,
    )


async def test_429_is_retried_after_the_seconds_the_server_asks_for() -> None:
    body = {
        "error": "API Rate Limit Exceeded - 180 per minute maximum allowed. Retry after 6 seconds."
    }
    transport, methods = _scripted(
        httpx.Response(429, headers={"Retry-After": "6"}, json=body),
        httpx.Response(429, json=body),  # no header: the number in the text is used
        httpx.Response(200, json={"id": 1, "name": "Datahub"}),
    )
    events: list[object] = []
    client = _testrail(transport, events)
    project = await client.get_project(1)
    await client.aclose()
    assert project["name"] == "Datahub"
    assert methods == ["GET", "GET", "GET"]
    assert events == [
        RateLimitWait("testrail", "get_project", 6.0),
        RateLimitWait("testrail", "get_project", 6.0),
    ]
    stats = client.session.stats
    assert (stats.total, stats.retries, stats.rate_limited) == (3, 2, 2)
    assert stats.rate_limit_wait_seconds == 12.0


async def test_a_write_rejected_with_429_is_sent_again() -> None:
    transport, methods = _scripted(
        httpx.Response(429, headers={"Retry-After": "1"}, json={"error": "slow down"}),
        httpx.Response(200, json={"id": 7, "title": "Login works"}),
    )
    client = _testrail(transport, [])
    case = await client.add_case(3, {"title": "Login works"})
    await client.aclose()
    assert case["id"] == 7
    assert methods == ["POST", "POST"]


async def test_reads_retry_5xx_and_dropped_connections_writes_do_not() -> None:
    transport, methods = _scripted(
        httpx.Response(502, text="<html>Bad Gateway</html>"),
        httpx.ReadError("connection reset"),
        httpx.Response(200, json=[{"id": 1, "name": "Low"}]),
    )
    client = _testrail(transport, [])
    assert await client.get_priorities() == [{"id": 1, "name": "Low"}]
    assert methods == ["GET", "GET", "GET"]

    transport, methods = _scripted(httpx.Response(503, json={"error": "maintenance"}))
    client = _testrail(transport, [])
    with pytest.raises(ApiError) as failed:
        await client.add_case(3, {"title": "x"})
    assert failed.value.status == 503
    assert methods == ["POST"]  # may have been applied: never blindly re-sent

    transport, methods = _scripted(httpx.ReadTimeout("no answer"))
    client = _testrail(transport, [])
    with pytest.raises(ServerUnreachable, match="add_case: ReadTimeout"):
        await client.add_case(3, {"title": "x"})
    assert methods == ["POST"]
    await client.aclose()


async def test_a_write_that_never_connected_is_retried() -> None:
    transport, methods = _scripted(
        httpx.ConnectError("refused"), httpx.Response(200, json={"id": 9, "title": "t"})
    )
    client = _testrail(transport, [])
    assert (await client.add_case(1, {"title": "t"}))["id"] == 9
    assert methods == ["POST", "POST"]
    await client.aclose()


async def test_rate_limit_that_never_lifts_ends_in_a_named_error() -> None:
    answers = [httpx.Response(429, headers={"Retry-After": "1"}, json={"error": "busy"})] * 6
    transport, methods = _scripted(*answers)
    client = _testrail(transport, [])
    with pytest.raises(RateLimited) as limited:
        await client.get_case_types()
    await client.aclose()
    assert len(methods) == 6
    assert "requests_per_minute" in limited.value.hint


async def test_api_disabled_names_the_fix_and_no_secret() -> None:
    message = (
        "The API is disabled for your installation. It can be enabled in the administration "
        "area in TestRail under Administration > Site Settings > API."
    )
    transport, _ = _scripted(httpx.Response(403, json={"error": message}))
    client = _testrail(transport, [])
    with pytest.raises(AccessDenied) as denied:
        await client.get_projects()
    await client.aclose()
    assert "Site Settings > API" in denied.value.hint
    assert "k3y" not in str(denied.value)


async def test_testfiesta_pages_until_the_count_is_read() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        offset = int(request.url.params["offset"])
        items = [{"uid": i} for i in range(offset, min(offset + 250, 600))]
        next_offset = offset + len(items)
        return httpx.Response(200, json={"count": 600, "items": items, "nextOffset": next_offset})

    client = TestFiestaClient.connect(
        "https://api.testfiesta.com", "acme", "testfiesta_x", transport=httpx.MockTransport(handler)
    )
    cases = await client.list_cases("WEB")
    await client.aclose()
    assert [c["uid"] for c in cases] == list(range(600))
    assert seen == [
        "https://api.testfiesta.com/v1/acme/projects/WEB/cases?limit=250&offset=0",
        # each next page re-reads the last item of the one before (rows shifted between
        # two page reads show)
        "https://api.testfiesta.com/v1/acme/projects/WEB/cases?limit=250&offset=249",
        "https://api.testfiesta.com/v1/acme/projects/WEB/cases?limit=250&offset=498",
    ]


@pytest.mark.parametrize("per_minute", [19, 180, 1800])
def test_after_the_first_minute_a_long_job_is_spaced_evenly(per_minute: int) -> None:
    """The first minute's budget at once; once a request had to wait, one slot (window /
    limit) between sends: no burst of the whole budget every minute, so any stretch of the
    job after its first minute, wherever it starts, sends at 98 % of the budget."""
    pacer = Pacer(per_minute)
    count = 4 * per_minute
    slots = [pacer.reserve(i * 1e-4) for i in range(count)]  # a fast client asks at once
    window = 60.0 + PACER_MARGIN
    assert slots[:per_minute] == pytest.approx([i * 1e-4 for i in range(per_minute)])
    assert slots[per_minute:] == pytest.approx(
        [window + k * window / per_minute for k in range(count - per_minute)]
    )
    for i, start in enumerate(slots):
        assert sum(1 for t in slots[i:] if t < start + 60.0) <= per_minute
    # a stretch of a minute's budget starting anywhere after the first minute
    third = count // 3 + 7
    stretch = slots[third : third + per_minute + 1]
    span = stretch[-1] - stretch[0] + 60.0 / per_minute
    assert len(stretch) / (per_minute * span / 60.0) == pytest.approx(60 / 61, abs=0.01)


def test_the_spacing_ends_a_window_after_the_last_wait() -> None:
    """A client that stopped for a window is back to the burst: the budget it left unused
    goes at once, as for a new job."""
    pacer = Pacer(180)
    window = 60.0 + PACER_MARGIN
    slots = [pacer.reserve(0.0) for _ in range(200)]
    assert slots[-1] == pytest.approx(window + 19 * window / 180)
    later = slots[-1] + window + 1.0  # nothing asked for a window and a second
    again = [pacer.reserve(later) for _ in range(150)]
    assert again == [later] * 150


@pytest.mark.parametrize("per_minute", [19, 60, 180, 300, 500, 1000])
def test_pacer_never_admits_more_than_the_limit_in_any_minute(per_minute: int) -> None:
    """The slots handed out: the first minute's budget at once, then each slot one window
    (60 s + the margin) after the one it replaces; no 60-second window holds more than
    ``per_minute``, and every 61-second window from the first slot holds exactly that many."""
    pacer = Pacer(per_minute)
    asked = [i * 0.01 for i in range(3 * per_minute)]  # everyone asks within seconds
    slots = [pacer.reserve(t) for t in asked]
    assert slots[:per_minute] == asked[:per_minute]  # not spread over the minute
    assert slots[per_minute] == pytest.approx(asked[0] + 60.0 + PACER_MARGIN)
    assert slots == sorted(slots)
    for i, start in enumerate(slots):
        assert sum(1 for t in slots[i:] if t < start + 60.0) <= per_minute
    assert Pacer(None).requests_per_minute is None and Pacer(0).requests_per_minute is None


async def test_an_untrusted_certificate_is_not_retried_and_names_ca_bundle() -> None:
    transport, methods = _scripted(
        httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
    )
    client = _testrail(transport, [])
    with pytest.raises(ServerUnreachable, match=r"TLS certificate of https://acme\.testrail\.io"):
        await client.get_projects()
    await client.aclose()
    assert methods == ["GET"]


# ---------------------------------------------------------------------- on a virtual clock
# stamina and the pacer sleep with asyncio.sleep: both run on
# tests.fakeclock's loop, whose clock jumps to the next timer, so the waits below are the
# real waits the code asks for, measured when each request reaches the server.

RATE_BODY = {
    "error": "API Rate Limit Exceeded - 180 per minute maximum allowed. Retry after 30 seconds."
}


def _clocked(*answers: httpx.Response) -> tuple[httpx.MockTransport, list[tuple[str, float]]]:
    """A transport answering ``answers`` in order; records (method, loop time) per request."""
    queue = list(answers)
    seen: list[tuple[str, float]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, asyncio.get_running_loop().time()))
        return queue.pop(0) if queue else httpx.Response(200, json={"id": 1, "name": "Datahub"})

    return httpx.MockTransport(handler), seen


def _get_project_on_the_clock(*answers: httpx.Response) -> tuple[list[float], list[object]]:
    """GET get_project/1 through ``answers``; (times each request arrived, events)."""
    transport, seen = _clocked(*answers)
    events: list[object] = []

    async def go() -> None:
        client = _testrail(transport, events)
        try:
            assert (await client.get_project(1))["name"] == "Datahub"
        finally:
            await client.aclose()

    run_on_fake_clock(go())
    return [t for _, t in seen], events


def test_retry_after_header_wins_over_the_body_on_the_clock() -> None:
    times, events = _get_project_on_the_clock(
        httpx.Response(429, headers={"Retry-After": "7"}, json=RATE_BODY)
    )
    assert times == pytest.approx([0.0, 7.0], abs=0.01)
    assert events == [RateLimitWait("testrail", "get_project", 7.0)]


def test_the_wait_is_exactly_what_the_server_asks_for_each_time_on_the_clock() -> None:
    times, _ = _get_project_on_the_clock(
        httpx.Response(429, headers={"Retry-After": "3"}, json={"error": "slow down"}),
        httpx.Response(429, json=RATE_BODY),  # no header: the body's 30 seconds
        httpx.Response(429, headers={"Retry-After": "11"}, json={"error": "slow down"}),
    )
    assert times == pytest.approx([0.0, 3.0, 33.0, 44.0], abs=0.01)


def test_retry_after_as_an_http_date_counts_from_the_answer_date_on_the_clock() -> None:
    server_now = datetime(2026, 3, 2, 9, 30, 0, tzinfo=UTC)  # far from this machine's clock
    times, events = _get_project_on_the_clock(
        httpx.Response(
            429,
            headers={
                "Date": format_datetime(server_now, usegmt=True),
                "Retry-After": format_datetime(server_now + timedelta(seconds=42), usegmt=True),
            },
            json=RATE_BODY,
        )
    )
    assert times == pytest.approx([0.0, 42.0], abs=0.01)
    assert events == [RateLimitWait("testrail", "get_project", 42.0)]


def test_retry_after_as_an_http_date_without_a_date_header_uses_the_local_clock() -> None:
    from core.http import _retry_after_seconds

    when = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=90)
    response = httpx.Response(429, headers={"Retry-After": format_datetime(when, usegmt=True)})
    assert 88.0 <= _retry_after_seconds(response) <= 90.0


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({"Retry-After": "86400"}, {"error": "slow down"}),
        ({}, {"error": "Maintenance. Retry after 7200 seconds."}),
    ],
    ids=["header", "body"],
)
def test_a_wait_longer_than_the_cap_is_capped_on_the_clock(
    headers: dict[str, str], body: dict[str, str]
) -> None:
    times, events = _get_project_on_the_clock(httpx.Response(429, headers=headers, json=body))
    assert MAX_RETRY_AFTER == 300.0
    assert times == pytest.approx([0.0, 300.0], abs=0.01)
    assert events == [RateLimitWait("testrail", "get_project", 300.0)]


def test_testrail_409_maintenance_is_retried_reads_and_writes_on_the_clock() -> None:
    maintenance = {"error": "TestRail is currently undergoing maintenance. Retry after 20 seconds."}
    transport, seen = _clocked(
        httpx.Response(409, json=maintenance),
        httpx.Response(409, headers={"Retry-After": "15"}, json=maintenance),
        httpx.Response(200, json={"id": 1, "name": "Datahub"}),
        httpx.Response(409, json=maintenance),
        httpx.Response(200, json={"id": 7, "title": "Login works"}),
    )
    events: list[object] = []

    async def go() -> tuple[str, int]:
        client = _testrail(transport, events)
        try:
            project = await client.get_project(1)
            case = await client.add_case(3, {"title": "Login works"})
        finally:
            await client.aclose()
        return project["name"], case["id"]

    result, _ = run_on_fake_clock(go())
    assert result == ("Datahub", 7)
    assert [method for method, _ in seen] == ["GET", "GET", "GET", "POST", "POST"]
    assert [t for _, t in seen] == pytest.approx([0.0, 20.0, 35.0, 35.0, 55.0], abs=0.01)
    assert [e.seconds for e in events if isinstance(e, RateLimitWait)] == [20.0, 15.0, 20.0]
    assert {e.status for e in events if isinstance(e, RateLimitWait)} == {409}


@pytest.mark.parametrize("per_minute", [20, 60, 180, 300])
def test_the_pacer_admits_at_most_n_requests_in_any_sliding_minute_on_the_clock(
    per_minute: int,
) -> None:
    """Many requests through a real session (pacer, stats, transport) on the virtual clock:
    every 60-second window that opens at a request holds at most ``per_minute`` of them, and
    the pacer is not needlessly slow (the busiest window is full but for the request that
    lands as it closes)."""
    count = per_minute * 4 + 7
    transport, seen = _clocked(*[httpx.Response(200, json=[])] * count)

    async def go() -> None:
        client = TestRailClient.connect(
            "https://acme.testrail.io",
            "qa@example.com",
            "k3y",
            requests_per_minute=per_minute,
            transport=transport,
        )
        try:
            # concurrent callers, as the sides' gathers do
            await asyncio.gather(*(client.get("get_priorities") for _ in range(count)))
        finally:
            await client.aclose()

    run_on_fake_clock(go())
    times = sorted(t for _, t in seen)
    assert len(times) == count
    busiest = 0
    for i, start in enumerate(times):
        in_window = sum(1 for t in times[i:] if t < start + 60.0)
        busiest = max(busiest, in_window)
    assert busiest == per_minute  # a whole minute's budget goes at once
    # and over the whole run it keeps at least 95 % of the allowed pace
    assert times[-1] <= (count - 1) / (0.95 * per_minute) * 60.0


@pytest.mark.parametrize("count", [1, 25, 180])
def test_a_job_that_fits_in_one_minutes_budget_is_not_spread_over_the_minute(count: int) -> None:
    """At 180 a minute, up to 180 requests go at once (issue 7); the 181st would wait."""
    transport, seen = _clocked(*[httpx.Response(200, json=[])] * count)

    async def go() -> None:
        client = TestRailClient.connect(
            "https://acme.testrail.io",
            "qa@example.com",
            "k3y",
            requests_per_minute=180,
            transport=transport,
        )
        try:
            for _ in range(count):  # one after the other, as a paging read does
                await client.get("get_priorities")
        finally:
            await client.aclose()

    run_on_fake_clock(go())
    assert len(seen) == count
    assert max(t for _, t in seen) == pytest.approx(0.0, abs=0.01)


@pytest.mark.parametrize("gap", [b"", b"\n", b"\r\n  "], ids=["none", "newline", "crlf"])
async def test_the_legacy_text_before_the_json_is_stripped(gap: bytes) -> None:
    """Old TestRail servers answer ``USER AUTHENTICATION SUCCESSFUL!`` before the JSON
    (testrail-api.md §1.4), for single records and lists alike."""
    prefix = b"USER AUTHENTICATION SUCCESSFUL!" + gap
    transport, _ = _scripted(
        httpx.Response(200, content=prefix + b'{"id": 1, "name": "Datahub"}'),
        httpx.Response(200, content=prefix + b'[{"id": 2, "name": "High"}]'),
    )
    client = _testrail(transport, [])
    assert await client.get_project(1) == {"id": 1, "name": "Datahub"}
    assert await client.get_priorities() == [{"id": 2, "name": "High"}]
    await client.aclose()


# ---------------------------------------------------------------------- reads kept in flight


def test_reads_in_flight_use_the_budget_a_slow_round_trip_would_leave_on_the_clock() -> None:
    """400 reads at 180 a minute whose round trip takes 1 s (three pacer slots): one after
    another they would need 400 s; with :func:`each_in_flight` the pacer sets the pace (at
    most 180 in any minute, >= 95 % of the budget used) and never more than 4 are open."""
    count, per_minute = 400, 180
    open_now = [0, 0]  # open, most open at once
    sent: list[float] = []
    read: list[int] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        sent.append(asyncio.get_running_loop().time())
        open_now[0] += 1
        open_now[1] = max(open_now[1], open_now[0])
        await asyncio.sleep(1.0)
        open_now[0] -= 1
        return httpx.Response(200, json=[])

    async def go() -> None:
        client = TestRailClient.connect(
            "https://acme.testrail.io",
            "qa@example.com",
            "k3y",
            requests_per_minute=per_minute,
            transport=httpx.MockTransport(handler),
        )

        async def one(n: int) -> None:
            await client.get(f"get_case/{n}")
            read.append(n)

        try:
            await each_in_flight(range(count), one)
        finally:
            await client.aclose()

    run_on_fake_clock(go())
    assert sorted(read) == list(range(count)) and len(sent) == count
    assert open_now[1] == IN_FLIGHT == 4
    busiest = max(sum(1 for t in sent[i:] if t < start + 60.0) for i, start in enumerate(sent))
    assert busiest == per_minute
    span = sent[-1] - sent[0] + 60.0 / per_minute
    assert count / (per_minute * span / 60.0) >= 0.95


def test_the_first_failure_stops_the_reads_in_flight() -> None:
    """An exception stops :func:`each_in_flight`: nothing starts after it, the reads still
    running are cancelled, and the exception is raised."""
    started: list[int] = []
    finished: list[int] = []

    async def one(n: int) -> None:
        started.append(n)
        await asyncio.sleep(0.5 if n != 5 else 0.1)
        if n == 5:
            raise AccessDenied("testrail", "get_history_for_case", 403, "no")
        finished.append(n)

    async def go() -> None:
        with pytest.raises(AccessDenied):
            await each_in_flight(list(range(4, 20)), one, limit=3)

    _, loop = run_on_fake_clock(go())
    assert started == [4, 5, 6]  # the first three; none after the failure
    assert finished == []  # 4 and 6 were cancelled
    assert loop.time() == pytest.approx(0.1, abs=0.01)
