"""TLS stays verified unless a host is switched off, and every weak link says so each run.

The SSL context asserted is the one the client's connection pool really uses
(``httpx.AsyncHTTPTransport`` -> ``httpcore`` pool), not the argument the code meant to pass.
"""

from __future__ import annotations

import json
import ssl
from pathlib import Path
from typing import Any

import certifi
import httpx
import pytest

from core.config import Config, connection_warnings, load_config
from core.errors import ConfigError
from core.events import ConnectionWarning
from core.service import Service
from core.testfiesta.client import TestFiestaClient
from core.testrail.client import TestRailClient
from tests.helpers import emulate
from tui.cli import main


def _pool_context(client: TestRailClient | TestFiestaClient) -> ssl.SSLContext | None:
    transport = client.session.client._transport
    assert isinstance(transport, httpx.AsyncHTTPTransport)
    context: ssl.SSLContext | None = transport._pool._ssl_context
    return context


def _clients(**tls: Any) -> tuple[TestRailClient, TestFiestaClient]:
    testrail = TestRailClient.connect("https://acme.testrail.io", "qa@example.com", "k", **tls)
    testfiesta = TestFiestaClient.connect("https://api.testfiesta.com", "acme", "tf_x", **tls)
    return testrail, testfiesta


async def test_both_clients_require_a_certificate_and_check_the_host_name_by_default() -> None:
    for client in _clients():
        context = _pool_context(client)
        assert context is not None
        assert context.verify_mode == ssl.CERT_REQUIRED
        assert context.check_hostname is True
        assert context.cert_store_stats()["x509_ca"] > 50  # the public authorities are loaded
        await client.aclose()


async def test_a_ca_bundle_is_verified_the_same_way() -> None:
    for client in _clients(ca_bundle=certifi.where()):
        context = _pool_context(client)
        assert context is not None
        assert (context.verify_mode, context.check_hostname) == (ssl.CERT_REQUIRED, True)
        await client.aclose()


async def test_verify_tls_false_switches_the_check_off_for_that_client_only() -> None:
    testrail = TestRailClient.connect(
        "https://acme.testrail.io", "qa@example.com", "k", verify_tls=False
    )
    testfiesta = TestFiestaClient.connect("https://api.testfiesta.com", "acme", "tf_x")
    off, on = _pool_context(testrail), _pool_context(testfiesta)
    assert off is not None and on is not None
    assert (off.verify_mode, off.check_hostname) == (ssl.CERT_NONE, False)
    assert (on.verify_mode, on.check_hostname) == (ssl.CERT_REQUIRED, True)
    await testrail.aclose()
    await testfiesta.aclose()


def _config(tmp_path: Path, testrail: str, testfiesta: str, extra_tr: str = "") -> Config:
    path = tmp_path / "railfiesta.toml"
    path.write_text(
        f"""
[testrail]
url = "{testrail}"
user = "qa@example.com"
{extra_tr}

[testfiesta]
url = "{testfiesta}"
handle = "acme"

[[pair]]
testrail_project = "Web"
""",
        encoding="utf-8",
    )
    return load_config(path)


def test_verify_tls_false_warns_naming_the_host(tmp_path: Path) -> None:
    config = _config(
        tmp_path, "https://qa.acme.example", "https://api.testfiesta.com", "verify_tls = false"
    )
    assert config.testrail.verify_tls is False
    assert config.testfiesta.verify_tls is True
    assert connection_warnings(config) == [
        (
            "testrail",
            "qa.acme.example",
            "[testrail] verify_tls = false: the TLS certificate of qa.acme.example is not "
            "checked, so anyone on the way can read the API key; set ca_bundle to the PEM file "
            "of its certificate authority instead",
        )
    ]


def test_plain_http_to_another_machine_warns_and_to_this_one_does_not(tmp_path: Path) -> None:
    config = _config(tmp_path, "http://testrail.intranet:8080/testrail", "http://127.0.0.1:9000")
    assert connection_warnings(config) == [
        (
            "testrail",
            "testrail.intranet",
            "[testrail] url http://testrail.intranet:8080/testrail is plain http: the API key "
            "travels unencrypted to testrail.intranet; use https://",
        )
    ]
    for url in (
        "http://localhost:8080",
        "http://[::1]:8080",
        "http://127.0.0.2",
        "http://x.localhost",
    ):
        assert connection_warnings(_config(tmp_path, url, "https://api.testfiesta.com")) == []
    assert connection_warnings(_config(tmp_path, "https://a.example", "http://tf.example")) == [
        (
            "testfiesta",
            "tf.example",
            "[testfiesta] url http://tf.example is plain http: the API token travels "
            "unencrypted to tf.example; use https://",
        )
    ]


def test_verify_tls_must_be_a_boolean(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        _config(tmp_path, "https://a.example", "https://b.example", 'verify_tls = "no"')
    assert error.value.line == 5
    assert "[testrail] verify_tls must be true or false" in error.value.message


async def test_every_open_emits_the_warning_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = emulate(tmp_path, monkeypatch, cases=0)  # http://testrail.test, http://testfiesta.test
    seen: list[object] = []
    for _ in range(2):
        service = env.service()
        service.subscribe(seen.append)
        async with service:
            pass
    warnings = [e for e in seen if isinstance(e, ConnectionWarning)]
    assert [(w.level, w.side, w.host) for w in warnings] == [
        ("warning", "testrail", "testrail.test"),
        ("warning", "testfiesta", "testfiesta.test"),
    ] * 2
    assert warnings[0].message == (
        "[testrail] url http://testrail.test is plain http: the API key travels unencrypted "
        "to testrail.test; use https://"
    )


def test_the_command_line_prints_the_warning_once_even_with_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env = emulate(tmp_path, monkeypatch, cases=3)

    def in_process(config: Config, state_dir: Path | None) -> Service:
        return Service(
            config,
            state_dir=state_dir,
            testrail_transport=httpx.ASGITransport(env.testrail),
            testfiesta_transport=httpx.ASGITransport(env.testfiesta),
        )

    monkeypatch.setattr("tui.cli.make_service", in_process)
    for extra in ([], ["--json"]):
        argv = ["migrate", "--dry-run", *extra, "--config", str(env.config_path)]
        code = main([*argv, "--state", str(env.state_dir)])
        out, err = capsys.readouterr()
        assert code == 0, err  # a dry run that could do everything
        warned = [line for line in err.splitlines() if line.startswith("railfiesta: warning:")]
        assert warned == [
            "railfiesta: warning: [testrail] url http://testrail.test is plain http: the API "
            "key travels unencrypted to testrail.test; use https://",
            "railfiesta: warning: [testfiesta] url http://testfiesta.test is plain http: the "
            "API token travels unencrypted to testfiesta.test; use https://",
        ]
        if extra:
            assert json.loads(out)["projects"][0]["testrail_project"] == "Acme Web Shop"
