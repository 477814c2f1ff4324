"""The bad input catalogue (issue 9 item 3): every mistake a new user or a strange server makes
is named with its fix, and nothing is written.

"Nothing written" is measured, not assumed: both emulators sit behind :class:`Counting`
transports and every test asserts that no request other than a GET reached either server,
that the config file is byte for byte what it was, and that the state store holds no link and
no identity (:func:`assert_nothing_written`).
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from core.config import load_config
from core.errors import (
    AccessDenied,
    AuthenticationFailed,
    ConfigError,
    MappingError,
    RailfiestaError,
    SecretMissing,
    ServerUnreachable,
    UnexpectedResponse,
    WrongServer,
    refusal,
)
from core.migrate import IDENTITY_KEY
from core.service import Service
from core.store import StateStore
from core.testfiesta.adapter import unix_seconds
from core.testrail.catalog import STRING_MAX, TestRailCatalog
from core.testrail.client import TestRailClient
from core.testrail.side import TestRailContext, TestRailSide
from tests.helpers import Emulated, emulate

Rewrite = Callable[[httpx.Request, httpx.Response], httpx.Response]


class Counting(httpx.AsyncBaseTransport):
    """Passes requests to ``inner`` and keeps ``(method, url)`` of each; ``rewrite`` may
    replace an answer (a strange server) before the client sees it."""

    def __init__(self, inner: httpx.AsyncBaseTransport, rewrite: Rewrite | None = None) -> None:
        self.inner = inner
        self.rewrite = rewrite
        self.requests: list[tuple[str, str]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((request.method, str(request.url)))
        response = await self.inner.handle_async_request(request)
        if self.rewrite is None:
            return response
        await response.aread()
        return self.rewrite(request, response)

    @property
    def writes(self) -> list[tuple[str, str]]:
        return [r for r in self.requests if r[0] != "GET"]


class Run:
    """One Service over the emulators with counted transports; :meth:`fails` runs an operation
    and returns the error it raised."""

    def __init__(
        self,
        env: Emulated,
        *,
        testrail: httpx.AsyncBaseTransport | None = None,
        testfiesta: httpx.AsyncBaseTransport | None = None,
        rewrite_testrail: Rewrite | None = None,
        rewrite_testfiesta: Rewrite | None = None,
    ) -> None:
        self.env = env
        self.config_bytes = env.config_path.read_bytes()
        self.tr = Counting(testrail or httpx.ASGITransport(env.testrail), rewrite_testrail)
        self.tf = Counting(testfiesta or httpx.ASGITransport(env.testfiesta), rewrite_testfiesta)

    def fails(self, operation: str = "migrate") -> RailfiestaError:
        async def go() -> None:
            service = Service(
                load_config(self.env.config_path),
                state_dir=self.env.state_dir,
                testrail_transport=self.tr,
                testfiesta_transport=self.tf,
            )
            async with service:
                await (service.migrate() if operation == "migrate" else service.sync())

        with pytest.raises(RailfiestaError) as raised:
            asyncio.run(go())
        return raised.value


def assert_nothing_written(run: Run) -> None:
    """No write request on either side, the config unchanged, no link or identity stored."""
    assert run.tr.writes == []
    assert run.tf.writes == []
    assert run.env.config_path.read_bytes() == run.config_bytes
    if run.env.state_dir.exists():
        with StateStore(run.env.state_dir) as store:
            assert list(store.links("tr:")) == []
            assert list(store.links("tf:")) == []
            assert store.get(IDENTITY_KEY) is None


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Emulated:
    return emulate(tmp_path, monkeypatch, cases=6)


def _line_of(env: Emulated, text: str) -> int:
    """1-based line of the config that holds ``text``."""
    lines = env.config_path.read_text().splitlines()
    return next(n for n, line in enumerate(lines, start=1) if text in line)


def _edit_config(env: Emulated, old: str, new: str) -> None:
    text = env.config_path.read_text()
    assert old in text
    env.config_path.write_text(text.replace(old, new))


def _json_rewrite(method: str, change: Callable[[Any], Any]) -> Rewrite:
    """A rewrite applying ``change`` to the JSON answer of TestRail API method ``method``."""

    def rewrite(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if f"/api/v2/{method}" not in str(request.url):
            return response
        body = change(response.json())
        return httpx.Response(
            response.status_code, json=body, headers={"content-type": "application/json"}
        )

    return rewrite


# ---------------------------------------------------------------------------- the config file


def test_malformed_toml_names_line_and_column(env: Emulated) -> None:
    _edit_config(env, 'handle = "acme"', "handle = acme")
    with pytest.raises(ConfigError) as error:
        load_config(env.config_path)
    assert error.value.line == 10
    assert str(error.value).startswith(f"{env.config_path}:10: not valid TOML: ")
    assert "(at line 10, column 10)" in error.value.message
    assert error.value.hint.startswith("fix the TOML at line 10, column 10 (text values need")


def test_unknown_key_names_its_line_and_the_known_keys(env: Emulated) -> None:
    _edit_config(env, "requests_per_minute = 0\n\n[testfiesta]", "rpm = 0\n\n[testfiesta]")
    with pytest.raises(ConfigError) as error:
        load_config(env.config_path)
    assert error.value.line == 6
    assert error.value.message == f"{env.config_path}:6: unknown key 'rpm' in [testrail]"
    assert error.value.hint == (
        "known keys: api_key_env, ca_bundle, requests_per_minute, timeout, url, user, verify_tls"
    )


def test_config_bytes_that_are_not_utf8_name_the_line(env: Emulated) -> None:
    raw = env.config_path.read_bytes().replace(b'user = "qa@example.com"', b'user = "qa\xe9"')
    env.config_path.write_bytes(raw)
    with pytest.raises(ConfigError) as error:
        load_config(env.config_path)
    assert error.value.message == f"{env.config_path}:4: not UTF-8 text (byte 0xe9)"
    assert error.value.hint == "save the file as UTF-8"


def test_users_values_must_be_testfiesta_user_ids(env: Emulated) -> None:
    text = env.config_path.read_text()
    env.config_path.write_text(text + '\n[users]\n"anna@example.com" = "anna@testfiesta.io"\n')
    with pytest.raises(ConfigError) as error:
        load_config(env.config_path)
    line = _line_of(env, "anna@testfiesta.io")
    assert line == 19
    assert error.value.line == line
    assert error.value.message == (
        f"{env.config_path}:{line}: [users] 'anna@example.com' = 'anna@testfiesta.io' is not a "
        "TestFiesta user id"
    )
    assert "use the user's id, a UUID such as" in error.value.hint
    uuid = "6f1c2b7e-3d4a-4e5f-8a9b-0c1d2e3f4a5b"
    env.config_path.write_text(text + f'\n[users]\n"anna@example.com" = "{uuid}"\n')
    assert dict(load_config(env.config_path).mapping.users) == {"anna@example.com": uuid}


def test_an_unknown_theme_names_the_shipped_ones(env: Emulated) -> None:
    text = env.config_path.read_text()
    env.config_path.write_text(text + '\n[ui]\ntheme = "solarized"\n')
    with pytest.raises(ConfigError) as error:
        load_config(env.config_path)
    assert error.value.line == _line_of(env, "solarized") == 19
    assert error.value.message.endswith("[ui] theme 'solarized' is not a railfiesta theme")
    assert error.value.hint == (
        "use one of: railfiesta-dark, railfiesta-high-contrast, railfiesta-light"
    )


def test_a_missing_secret_names_the_variable_and_the_keyring(
    env: Emulated, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RF_TEST_TESTFIESTA_TOKEN")
    monkeypatch.setattr("keyring.get_password", lambda service, account: None)
    run = Run(env)
    error = run.fails()
    assert isinstance(error, SecretMissing)
    assert error.message == (
        "TestFiesta API token not found: environment variable RF_TEST_TESTFIESTA_TOKEN is not "
        "set and the OS keyring has no entry railfiesta/testfiesta:acme@testfiesta.test"
    )
    assert error.hint == (
        "export RF_TEST_TESTFIESTA_TOKEN=... or run: keyring set railfiesta "
        "testfiesta:acme@testfiesta.test"
    )
    assert run.tr.requests == run.tf.requests == []
    assert_nothing_written(run)


# ---------------------------------------------------------------------------- the servers


def test_wrong_testrail_credentials(env: Emulated, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RF_TEST_TESTRAIL_KEY", "not-the-key")
    run = Run(env)
    error = run.fails()
    assert isinstance(error, AuthenticationFailed)
    assert error.message == (
        "testrail get_projects failed with HTTP 401: Authentication failed: invalid or missing "
        "user/password or session cookie."
    )
    assert error.hint == (
        "check [testrail] user 'qa@example.com' and the API key in $RF_TEST_TESTRAIL_KEY "
        "(TestRail: My Settings > API Keys)"
    )
    assert "not-the-key" not in str(error)
    assert refusal(error) == ("key refused", "refused the API key")  # the console's words
    assert_nothing_written(run)


def test_wrong_testfiesta_token(env: Emulated, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RF_TEST_TESTFIESTA_TOKEN", "testfiesta_wrong")
    run = Run(env)
    error = run.fails()
    assert isinstance(error, AuthenticationFailed)
    assert error.message == "testfiesta GET /projects failed with HTTP 401: invalid API key"
    assert error.hint == (
        "check the API key in $RF_TEST_TESTFIESTA_TOKEN (it starts with testfiesta_) and that "
        "it belongs to organization 'acme'"
    )
    assert_nothing_written(run)


def test_testrail_api_disabled(env: Emulated) -> None:
    env.testrail.state.options.api_enabled = False
    run = Run(env)
    error = run.fails()
    assert isinstance(error, AccessDenied)
    assert error.status == 403
    assert "The API is disabled for your installation" in error.message
    assert error.hint == "an administrator enables it under Administration > Site Settings > API"
    assert refusal(error) == ("access denied", "denied API access")
    assert_nothing_written(run)


def _site(answer: Callable[[Request], Response]) -> Starlette:
    async def handle(request: Request) -> Response:
        return answer(request)

    return Starlette(routes=[Route("/{path:path}", handle, methods=["GET", "POST"])])


@pytest.mark.parametrize(
    ("site", "says"),
    [
        (
            _site(lambda r: HTMLResponse("<html><body>Intranet</body></html>")),
            "testrail get_projects got an HTML page instead of JSON (HTTP 200): a login page? "
            "this is not a TestRail API",
        ),
        (
            _site(lambda r: JSONResponse({"status": "ok", "version": "2.1"})),
            "testrail get_projects answered neither a list nor a page with 'projects': "
            "\"{'status': 'ok', 'version': '2.1'}\": this is not a TestRail API",
        ),
        (
            _site(lambda r: JSONResponse({"message": "Missing bearer token"}, 401)),
            "testrail get_projects failed with HTTP 401: Missing bearer token: this is not a "
            "TestRail API (its 401 answer is not TestRail's)",
        ),
        (
            _site(lambda r: HTMLResponse("<html>Sign in</html>", 401)),
            "testrail get_projects failed with HTTP 401: non-JSON text/html; charset=utf-8 "
            "page: this is not a TestRail API (its 401 answer is not TestRail's)",
        ),
    ],
    ids=["html-page", "other-json-api", "other-json-401", "html-login-401"],
)
def test_a_testrail_url_that_points_at_another_service(
    env: Emulated, site: Starlette, says: str
) -> None:
    run = Run(env, testrail=httpx.ASGITransport(site))
    error = run.fails()
    assert isinstance(error, UnexpectedResponse | WrongServer)
    assert error.message == says
    assert error.hint.startswith("set [testrail] url to the TestRail site root, such as ")
    assert "API key" not in str(error)  # not "check your key"
    assert_nothing_written(run)


def test_http_redirected_to_https_is_not_followed(env: Emulated) -> None:
    site = _site(lambda r: RedirectResponse(str(r.url).replace("http://", "https://"), 301))
    run = Run(env, testrail=httpx.ASGITransport(site))
    error = run.fails()
    assert isinstance(error, WrongServer)
    assert error.message == (
        "testrail get_projects failed with HTTP 301: http://testrail.test redirects to "
        "https://testrail.test"
    )
    assert error.hint.startswith("use https://testrail.test in [testrail] url (https://...)")
    assert len(run.tr.requests) == 1  # the redirect was not followed (auth would be dropped)
    assert_nothing_written(run)


def test_a_testrail_project_that_does_not_exist(env: Emulated) -> None:
    _edit_config(env, 'testrail_project = "Acme Web Shop"', 'testrail_project = "Acme Shop"')
    run = Run(env)
    error = run.fails()
    assert isinstance(error, ConfigError)
    assert error.message == (
        "[[pair]] testrail_project = 'Acme Shop': TestRail has no project of that name"
    )
    assert error.hint == "projects the API user can see: 'Acme Web Shop'"
    assert_nothing_written(run)


def test_a_testfiesta_project_that_does_not_exist_for_sync(env: Emulated) -> None:
    run = Run(env)
    error = run.fails("sync")
    assert isinstance(error, ConfigError)
    assert error.message == (
        "TestFiesta has no project for TestRail project 'Acme Web Shop' (looked for key 'ACME')"
    )
    assert error.hint == "run `railfiesta migrate` first: sync keeps a migrated pair in step"
    assert_nothing_written(run)


def test_a_testfiesta_organization_that_does_not_exist(env: Emulated) -> None:
    _edit_config(env, 'handle = "acme"', 'handle = "acme-corp"')
    run = Run(env)
    error = run.fails()
    assert isinstance(error, WrongServer)
    assert error.message == (
        "testfiesta GET /projects failed with HTTP 404: organization 'acme-corp' not found"
    )
    assert error.hint == (
        "http://testfiesta.test has no organization at /v1/acme-corp/projects: check "
        "[testfiesta] url (https://api.testfiesta.com) and handle"
    )
    assert_nothing_written(run)


# ---------------------------------------------------------------------------- strange data


def _add_section(change: Callable[[list[dict[str, Any]]], None]) -> Rewrite:
    def edit(body: Any) -> Any:
        change(body["sections"])
        return body

    return _json_rewrite("get_sections", edit)


def test_an_orphaned_section_parent(env: Emulated) -> None:
    def orphan(sections: list[dict[str, Any]]) -> None:
        sections.append({**sections[0], "id": 900, "name": "Lost", "parent_id": 999})

    run = Run(env, rewrite_testrail=_add_section(orphan))
    error = run.fails()
    assert isinstance(error, UnexpectedResponse)
    assert error.message == (
        "TestRail section 900 ('Lost') of suite 1 ('Master') has parent_id 999, which is not "
        "a section of that suite (an orphan)"
    )
    assert error.hint.startswith("move the section under an existing one in TestRail")
    assert error.hint.endswith("nothing was written")
    assert_nothing_written(run)


def test_a_cycle_of_section_parents(env: Emulated) -> None:
    def cycle(sections: list[dict[str, Any]]) -> None:
        sections.append({**sections[0], "id": 901, "name": "Ping", "parent_id": 902})
        sections.append({**sections[0], "id": 902, "name": "Pong", "parent_id": 901})

    run = Run(env, rewrite_testrail=_add_section(cycle))
    error = run.fails()
    assert isinstance(error, UnexpectedResponse)
    assert error.message == (
        "TestRail sections of suite 1 ('Master') form a cycle of parents: 901 -> 902 -> 901"
    )
    assert error.hint.startswith("move one of these sections to the top level in TestRail")
    assert_nothing_written(run)


def test_an_unknown_custom_field_type(env: Emulated) -> None:
    def add_field(fields: list[dict[str, Any]]) -> list[dict[str, Any]]:
        hologram = {
            **fields[0],
            "id": 990,
            "system_name": "custom_hologram",
            "name": "hologram",
            "label": "Hologram",
            "type_id": 42,
            "configs": [{"context": {"is_global": True, "project_ids": None}, "options": {}}],
            "is_active": True,
        }
        return [*fields, hologram]

    run = Run(env, rewrite_testrail=_json_rewrite("get_case_fields", add_field))
    error = run.fails()
    assert isinstance(error, MappingError)
    assert error.message == (
        "TestRail case field custom_hologram ('Hologram') has type_id 42, which railfiesta "
        "does not know (known: 1-14, §5.4)"
    )
    assert error.hint.startswith("in TestRail (Administration > Customizations) deactivate")
    assert_nothing_written(run)


def test_testrail_bytes_that_are_not_utf8(env: Emulated) -> None:
    def latin1(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if "/api/v2/get_projects" not in str(request.url):
            return response
        text = json.dumps(response.json(), ensure_ascii=False).replace("Acme", "Café")
        return httpx.Response(200, content=text.encode("latin-1"))

    run = Run(env, rewrite_testrail=latin1)
    error = run.fails()
    assert isinstance(error, UnexpectedResponse)
    assert error.message.startswith("testrail get_projects answered bytes that are not UTF-8 ")
    assert "(byte 0xe9 at offset " in error.message
    assert "fix that record on the server" in error.hint
    assert_nothing_written(run)


def test_a_testrail_timestamp_that_is_not_unix_seconds(env: Emulated) -> None:
    def bad_date(body: Any) -> Any:
        body["cases"][0]["updated_on"] = "2024-05-01"
        return body

    run = Run(env, rewrite_testrail=_json_rewrite("get_cases", bad_date))
    error = run.fails()
    assert isinstance(error, UnexpectedResponse)
    assert error.message.startswith("testrail answered '2024-05-01' as case ")
    assert error.message.endswith(" updated_on: not a UNIX timestamp (whole seconds)")
    assert "edit the record in TestRail" in error.hint
    # cases are read after the project's metadata landed (lookup-or-create, so a rerun reuses
    # it); no folder, case or run was written, and nothing on TestRail
    assert run.tr.writes == []
    written = sorted({url.split("/v1/acme/")[1] for _, url in run.tf.writes})
    assert written == ["projects", "projects/ACME/customFields", "projects/ACME/templates"]
    assert not any("/folders" in url or "/cases" in url for _, url in run.tf.writes)


def test_a_testfiesta_date_that_is_not_iso_8601_stops_the_sync(env: Emulated) -> None:
    async def migrate() -> None:
        async with env.service() as service:
            await service.migrate()

    asyncio.run(migrate())

    def bad_date(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if request.method != "GET" or not request.url.path.endswith("/cases"):
            return response
        body = response.json()
        for item in body["items"]:
            item["updatedAt"] = "yesterday"
        return httpx.Response(200, json=body)

    run = Run(env, rewrite_testfiesta=bad_date)
    error = run.fails("sync")
    assert isinstance(error, UnexpectedResponse)
    assert error.message.startswith("testfiesta answered 'yesterday' as the updatedAt of uid ")
    assert error.message.endswith(": not an ISO 8601 date-time (such as 2024-09-16T20:02:21Z)")
    assert run.tr.writes == run.tf.writes == []


def test_a_testfiesta_date_that_is_not_iso_8601() -> None:
    assert unix_seconds("2024-09-16T20:02:21Z") == 1726516941
    assert unix_seconds("2024-09-16T20:02:21") == 1726516941  # no zone: UTC
    with pytest.raises(UnexpectedResponse) as error:
        unix_seconds("16/09/2024", what="case 7 updatedAt")
    assert error.value.message == (
        "testfiesta answered '16/09/2024' as case 7 updatedAt: not an ISO 8601 date-time "
        "(such as 2024-09-16T20:02:21Z)"
    )
    assert "edit the record in TestFiesta" in error.value.hint


# ---------------------------------------------------------------------------- the target's rules


def _testrail_side(required: bool) -> tuple[TestRailSide, list[httpx.Request]]:
    """A TestRail side whose project has a String field (required or not) and whose transport
    records (and refuses) every request."""
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(500, json={"error": "nothing should be sent"})

    client = TestRailClient.connect(
        "http://testrail.test", "qa@example.com", "k", transport=httpx.MockTransport(handler)
    )
    config = {
        "context": {"is_global": True, "project_ids": None},
        "options": {"is_required": required, "default_value": ""},
    }
    catalog = TestRailCatalog.build(
        1,
        [
            {
                "id": 1,
                "system_name": "custom_build",
                "label": "Build",
                "type_id": 1,
                "include_all": True,
                "configs": [config],
            }
        ],
        [{"id": 1, "name": "Other"}],
        [{"id": 2, "name": "Medium"}],
        [{"id": 1, "name": "Test Case (Text)", "is_default": True}],
    )
    context = TestRailContext({"id": 1, "suite_mode": 1}, [{"id": 1, "name": "Master"}], catalog)
    return TestRailSide(client, context), sent


def test_a_required_custom_field_on_testrail_is_named_before_sending() -> None:
    side, sent = _testrail_side(required=True)
    values = {"title": "Pay by card", "folder": "tr:section:4", "steps": []}
    results = asyncio.run(side.create("case", [(values, "tf:case:9")]))
    assert len(results) == 1 and isinstance(results[0], MappingError)
    assert results[0].message == (
        "case 'Pay by card': TestRail requires 'Build' (custom_build) and the TestFiesta case "
        "has no value for it"
    )
    assert results[0].hint.startswith("fill 'Build' in TestFiesta, or make the field optional")
    with pytest.raises(MappingError, match=r"TestRail requires 'Build' \(custom_build\)"):
        asyncio.run(side.update("case", "tr:case:3", {"field:custom_build": ""}))
    assert sent == []


def test_a_value_too_long_for_testrail_is_named_before_sending() -> None:
    side, sent = _testrail_side(required=False)
    long = "x" * (STRING_MAX + 50)
    values = {"title": "Pay", "folder": "tr:section:4", "field:custom_build": long}
    results = asyncio.run(side.create("case", [(values, "tf:case:9")]))
    assert isinstance(results[0], MappingError)
    assert results[0].message == (
        "case 'Pay': 'Build' (custom_build) is 300 characters; TestRail String fields hold at "
        "most 250"
    )
    assert results[0].hint.startswith("shorten the value in TestFiesta, or change the TestRail")
    with pytest.raises(MappingError, match="is 300 characters"):
        asyncio.run(side.update("case", "tr:case:3", {"field:custom_build": long}))
    assert sent == []


def test_the_testfiesta_spec_sets_no_length_limit() -> None:
    """TestFiesta's published v1 spec has no ``maxLength`` anywhere (so no title or field is
    "too long" for TestFiesta by contract); if a later spec adds one, this test fails and the
    rule belongs in the TestFiesta adapter."""
    from tests.conftest import SHARED_SPECS

    spec = (SHARED_SPECS / "testfiesta-v1.openapi.json").read_text(encoding="utf-8")
    assert '"paths"' in spec
    assert "maxLength" not in spec


# ---------------------------------------------------------------------------- failing fast


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("where", ["refused", "unresolvable"])
def test_unreachable_servers_fail_within_3_seconds(env: Emulated, where: str) -> None:
    port = _closed_port()
    url = f"http://127.0.0.1:{port}" if where == "refused" else "http://testrail.invalid"
    _edit_config(env, 'url = "http://testrail.test"', f'url = "{url}"')
    run = Run(env, testrail=httpx.AsyncHTTPTransport())
    start = time.monotonic()
    error = run.fails()
    elapsed = time.monotonic() - start
    assert elapsed < 3.0
    assert isinstance(error, ServerUnreachable)
    if where == "refused":
        assert error.message == (
            f"cannot reach testrail at {url}: connection refused (nothing listens on port "
            f"{port} of this machine)"
        )
        assert error.hint == f"start the server on port {port}, or fix the port in [testrail] url"
    else:
        assert error.message == (
            f"cannot reach testrail at {url}: the host name 'testrail.invalid' does not exist (DNS)"
        )
        assert error.hint == "check the spelling of the host in [testrail] url"
    assert len(run.tr.requests) == 1  # tried once: no retry changes either
    assert_nothing_written(run)


@pytest.mark.parametrize(
    ("url", "cause", "attempts"),
    [
        ("http://127.0.0.1:8080", ConnectionRefusedError(111, "refused"), 1),
        ("http://localhost:8080", ConnectionRefusedError(111, "refused"), 1),
        ("http://[::1]:8080", ConnectionRefusedError(111, "refused"), 1),
        (
            "https://gone.invalid",
            socket.gaierror(socket.EAI_NONAME, "Name or service not known"),
            1,
        ),
        # transient: a remote host restarting, a resolver that failed for now, a timeout
        ("https://acme.testrail.io", ConnectionRefusedError(111, "refused"), 3),
        (
            "https://acme.testrail.io",
            socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution"),
            3,
        ),
        ("https://acme.testrail.io", TimeoutError("timed out"), 3),
    ],
    ids=[
        "ipv4-loopback",
        "localhost",
        "ipv6-loopback",
        "nxdomain",
        "remote-refused",
        "dns-again",
        "timeout",
    ],
)
def test_only_final_connect_failures_skip_the_retries(
    url: str, cause: BaseException, attempts: int
) -> None:
    import stamina

    tried: list[httpx.Request] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        tried.append(request)
        try:
            raise cause
        except BaseException as exc:
            raise httpx.ConnectError("All connection attempts failed", request=request) from exc

    client = TestRailClient.connect(
        url, "qa@example.com", "k", transport=httpx.MockTransport(refuse)
    )
    with stamina.set_testing(True, attempts=3), pytest.raises(ServerUnreachable) as error:
        asyncio.run(client.get_projects())
    assert len(tried) == attempts
    if attempts == 1:
        assert error.value.message.startswith(f"cannot reach testrail at {url}: ")
    else:
        assert error.value.message.startswith("testrail get_projects: ConnectError talking to ")
