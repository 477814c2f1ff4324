"""Fault injection in both emulators (:mod:`emulators.faults`): every kind, one by one, and the
seeded random mode. Writes check whether the fault came before the handler (nothing stored) or
after it (the write landed, its answer lost)."""

from __future__ import annotations

import base64
import json
import time
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import pytest

from emulators import testfiesta as tf_emulator
from emulators import testrail as tr_emulator
from emulators.faults import KINDS, LEGACY_PREFIX, FaultSwitches, WireTransport
from emulators.server import start_in_thread
from emulators.testfiesta.state import TestFiestaState

USER, KEY = "qa@example.com", "secret-key"
TR_AUTH = {"Authorization": "Basic " + base64.b64encode(f"{USER}:{KEY}".encode()).decode()}
API = "/index.php?/api/v2/"
HANDLE = "acme"
TOKEN = "testfiesta_" + "a1" * 16 + "." + "b2" * 16
TF_AUTH = {"Authorization": f"Bearer {TOKEN}"}
V1 = f"/v1/{HANDLE}"


@pytest.fixture
def tr_state() -> tr_emulator.TestRailState:
    state = tr_emulator.TestRailState()
    tr_emulator.generate(state, cases=600, seed=7)
    return state


def tr_app(state: tr_emulator.TestRailState, **options: Any) -> Any:
    return tr_emulator.create_app(state, user=USER, api_key=KEY, **options)


def client(app: Any, headers: dict[str, str], timeout: float = 5.0) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=WireTransport(app), base_url="http://emulator.test", headers=headers,
        timeout=timeout,
    )  # fmt: skip


@pytest.fixture
def tf_state() -> TestFiestaState:
    state = TestFiestaState()
    project = state.create_project("Demo", "DEMO")
    root = state.root_folder("DEMO")["uid"]
    for n in range(30):
        state.create_folder(project["uid"], f"Folder {n:02d}", root)
    return state


def tf_app(state: TestFiestaState, **options: Any) -> Any:
    return tf_emulator.create_app(state, handle=HANDLE, token=TOKEN, **options)


async def tr_cases_page(c: httpx.AsyncClient, offset: int) -> list[int]:
    response = await c.get(API + f"get_cases/1&limit=250&offset={offset}")
    assert response.status_code == 200
    return [row["id"] for row in response.json()["cases"]]


# ---------------------------------------------------------------------- before the handler


@pytest.mark.parametrize(
    ("kind", "status", "message"),
    [
        ("500", 500, "emulated server fault (500)"),
        ("502", 502, "emulated server fault (502)"),
        ("503", 503, "emulated server fault (503)"),
        ("409", 409, "TestRail is currently down for maintenance. Please try again later."),
        ("429", 429, "API Rate Limit Exceeded (emulated fault). Retry after 7 seconds."),
    ],
)
async def test_testrail_fault_before_the_handler_writes_nothing(
    tr_state: tr_emulator.TestRailState, kind: str, status: int, message: str
) -> None:
    app = tr_app(tr_state, retry_after=7)
    app.state.faults.push(kind)
    async with client(app, TR_AUTH) as c:
        response = await c.post(API + "add_case/1", json={"title": "never stored"})
        again = await c.post(API + "add_case/1", json={"title": "stored"})
    assert (response.status_code, response.json()) == (status, {"error": message})
    if kind in ("409", "429"):
        assert response.headers["retry-after"] == "7"
    titles = [c["title"] for c in tr_state.cases.values()]
    assert (titles.count("never stored"), titles.count("stored")) == (0, 1)
    assert again.status_code == 200
    assert app.state.faults.injected == {kind: 1}


async def test_429_with_an_http_date(tr_state: tr_emulator.TestRailState) -> None:
    app = tr_app(tr_state, retry_after=30)
    app.state.faults.push("429-date")
    async with client(app, TR_AUTH) as c:
        response = await c.get(API + "get_project/1")
    assert response.status_code == 429
    when = parsedate_to_datetime(response.headers["retry-after"]).timestamp()
    assert 29 <= when - time.time() <= 30


async def test_html_login_page_with_status_200(tr_state: tr_emulator.TestRailState) -> None:
    app = tr_app(tr_state)
    app.state.faults.push("html", "html")
    async with client(app, TR_AUTH) as c:
        read = await c.get(API + "get_project/1")
        write = await c.post(API + "add_case/1", json={"title": "behind the proxy"})
    assert read.status_code == write.status_code == 200
    assert read.headers["content-type"] == "text/html; charset=utf-8"
    assert read.text.startswith("<!DOCTYPE html>") and "Sign in" in read.text
    assert [c for c in tr_state.cases.values() if c["title"] == "behind the proxy"] == []


# ---------------------------------------------------------------------- after the handler


async def test_5xx_after_the_handler_lost_the_answer_of_a_landed_write(
    tr_state: tr_emulator.TestRailState,
) -> None:
    app = tr_app(tr_state)
    app.state.faults.push("5xx-after")
    async with client(app, TR_AUTH) as c:
        response = await c.post(API + "add_case/1", json={"title": "landed"})
    assert response.status_code in (500, 502, 503)
    assert response.json() == {"error": f"emulated server fault ({response.status_code})"}
    assert [c["title"] for c in tr_state.cases.values()].count("landed") == 1


async def test_truncated_json_is_a_200_with_half_the_body(
    tr_state: tr_emulator.TestRailState,
) -> None:
    app = tr_app(tr_state)
    async with client(app, TR_AUTH) as c:
        whole = await c.get(API + "get_case/5")
        app.state.faults.push("truncated")
        cut = await c.get(API + "get_case/5")
    assert cut.status_code == 200
    assert cut.content == whole.content[: len(whole.content) // 2]
    assert cut.headers["content-length"] == str(len(cut.content))
    with pytest.raises(json.JSONDecodeError):
        cut.json()


async def test_legacy_prefix_before_the_json(tr_state: tr_emulator.TestRailState) -> None:
    app = tr_app(tr_state)
    app.state.faults.push("prefix")
    async with client(app, TR_AUTH) as c:
        response = await c.get(API + "get_case/5")
    assert response.content.startswith(LEGACY_PREFIX)
    assert json.loads(response.content[len(LEGACY_PREFIX) :])["id"] == 5


async def test_reset_mid_body_after_the_write_landed(tr_state: tr_emulator.TestRailState) -> None:
    app = tr_app(tr_state)
    app.state.faults.push("reset")
    async with client(app, TR_AUTH) as c:
        with pytest.raises(httpx.ReadError, match="connection reset mid-body"):
            await c.post(API + "add_case/1", json={"title": "reset"})
    assert [c["title"] for c in tr_state.cases.values()].count("reset") == 1


def test_reset_over_tcp_drops_the_connection(tr_state: tr_emulator.TestRailState) -> None:
    app = tr_app(tr_state)
    with start_in_thread(app) as server, httpx.Client(base_url=server.url, headers=TR_AUTH) as c:
        assert c.get(API + "get_case/5").status_code == 200
        app.state.faults.push("reset")
        with pytest.raises(httpx.RemoteProtocolError):
            c.get(API + "get_case/5")
        assert c.get(API + "get_case/5").json()["id"] == 5


@pytest.mark.parametrize(("kind", "landed"), [("slow", 0), ("slow-after", 1)])
async def test_slow_answers_time_out(
    tr_state: tr_emulator.TestRailState, kind: str, landed: int
) -> None:
    app = tr_app(tr_state, slow_seconds=0.5)
    app.state.faults.push(kind)
    async with client(app, TR_AUTH, timeout=0.2) as c:
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            await c.post(API + "add_case/1", json={"title": "slow"})
        assert 0.2 <= time.monotonic() - started < 0.45
    assert [c["title"] for c in tr_state.cases.values()].count("slow") == landed


# ---------------------------------------------------------------------- page shifts


@pytest.mark.parametrize(("kind", "shift"), [("page-insert", -1), ("page-delete", 1)])
async def test_testrail_page_shift(
    tr_state: tr_emulator.TestRailState, kind: str, shift: int
) -> None:
    app = tr_app(tr_state)
    async with client(app, TR_AUTH) as c:
        first = await tr_cases_page(c, 0)
        steady = await tr_cases_page(c, 250)
        app.state.faults.push(kind)
        assert await tr_cases_page(c, 0) == first  # offset 0: a shift cannot apply
        shifted = await tr_cases_page(c, 250)
    everything = first + steady
    assert shifted[:3] == everything[250 + shift : 253 + shift]
    assert app.state.faults.injected == {kind: 1}


@pytest.mark.parametrize(("kind", "shift"), [("page-insert", -1), ("page-delete", 1)])
async def test_testfiesta_page_shift_moves_rows_and_count(
    tf_state: TestFiestaState, kind: str, shift: int
) -> None:
    app = tf_app(tf_state)
    url = f"{V1}/projects/DEMO/folders"
    async with client(app, TF_AUTH) as c:
        whole = (await c.get(url, params={"limit": 100, "offset": 0})).json()
        app.state.faults.push(kind)
        page = (await c.get(url, params={"limit": 10, "offset": 10})).json()
    uids = [row["uid"] for row in whole["items"]]
    assert [row["uid"] for row in page["items"]] == uids[10 + shift : 20 + shift]
    assert (page["count"], page["nextOffset"]) == (whole["count"] - shift, 20)


# ---------------------------------------------------------------------- TestFiesta dialect


async def test_testfiesta_faults_speak_its_dialect_and_never_409(tf_state: TestFiestaState) -> None:
    app = tf_app(tf_state)
    faults = app.state.faults
    faults.push("503", "5xx-after", "truncated")
    async with client(app, TF_AUTH) as c:
        before = await c.post(
            f"{V1}/projects", json={"name": "A", "key": "AAA", "customFields": {}}
        )
        after = await c.post(f"{V1}/projects", json={"name": "B", "key": "BBB", "customFields": {}})
        cut = await c.get(f"{V1}/projects", params={"limit": 10, "offset": 0})
        shim = await c.get(f"/trv2/{HANDLE}/index.php?/api/v2/get_statuses")
    assert (before.status_code, before.json()) == (
        503,
        {
            "statusCode": 503,
            "message": "emulated server fault (503)",
            "error": "Service Unavailable",
        },
    )
    assert after.status_code in (500, 502, 503)
    assert [p["key"] for p in tf_state.projects()] == ["DEMO", "BBB"]
    assert cut.status_code == 200 and not cut.text.endswith("}")
    assert shim.status_code == 200
    with pytest.raises(ValueError, match=r"cannot inject \['409', 'prefix'\]"):
        tf_app(tf_state, faults=("409", "prefix", "500"))


# ---------------------------------------------------------------------- the random mode


async def test_random_mode_is_seeded_and_draws_only_enabled_kinds(
    tr_state: tr_emulator.TestRailState,
) -> None:
    async def storm(seed: int) -> list[str]:
        app = tr_app(tr_state, fault_rate=0.3, fault_seed=seed, faults=("500", "503", "html"))
        answers = []
        async with client(app, TR_AUTH) as c:
            for _ in range(200):
                response = await c.get(API + "get_case/5")
                answers.append(
                    "html" if response.text.startswith("<") else str(response.status_code)
                )
        injected = app.state.faults.injected
        assert sum(injected.values()) == sum(1 for a in answers if a != "200")
        assert dict(injected) == {k: answers.count(k) for k in ("500", "503", "html")}
        return answers

    first, again, other = await storm(4), await storm(4), await storm(5)
    assert first == again != other
    faulty = sum(1 for a in first if a != "200")
    assert 40 <= faulty <= 80  # 30 % of 200, give or take
    assert set(first) == {"200", "500", "503", "html"}


def test_switches_refuse_unknown_kinds_and_rates() -> None:
    with pytest.raises(ValueError, match="unknown fault kinds"):
        FaultSwitches(enabled=frozenset({"teapot"}))
    with pytest.raises(ValueError, match="within"):
        FaultSwitches(rate=1.5)
    assert len(KINDS) == 15
