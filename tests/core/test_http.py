"""The shared HTTP layer: retries, Retry-After, what is never re-sent, pacing, counting."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import stamina

from core.errors import AccessDenied, ApiError, RateLimited, ServerUnreachable
from core.http import Pacer, RateLimitWait
from core.testfiesta.client import TestFiestaClient
from core.testrail.client import TestRailClient


@pytest.fixture(autouse=True)
def no_backoff() -> Iterator[None]:
    """Retries happen as configured, without sleeping."""
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


@pytest.mark.parametrize("per_minute", [19, 60, 180, 300, 500, 1000])
def test_pacer_never_admits_more_than_the_limit_in_any_minute(per_minute: int) -> None:
    """A leaky bucket admits at most capacity + drain rate x 60 s in any 60-second window."""
    limiter = Pacer(per_minute)._limiter
    assert limiter is not None
    worst_minute = limiter.max_rate + limiter.max_rate / limiter.time_period * 60.0
    assert per_minute * 0.9 <= worst_minute <= per_minute + 1e-9
    assert Pacer(None)._limiter is None


async def test_an_untrusted_certificate_is_not_retried_and_names_ca_bundle() -> None:
    transport, methods = _scripted(
        httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
    )
    client = _testrail(transport, [])
    with pytest.raises(ServerUnreachable, match=r"TLS certificate of https://acme\.testrail\.io"):
        await client.get_projects()
    await client.aclose()
    assert methods == ["GET"]
