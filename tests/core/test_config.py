"""Config: the documented sample loads; mistakes name their line and the fix; secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import load_config, parse_duration, resolve_secret
from core.errors import ConfigError, SecretMissing
from tests.conftest import REPO_ROOT

MINIMAL = """
[testrail]
url = "https://acme.testrail.io/"
user = "qa@example.com"

[testfiesta]
url = "https://api.testfiesta.com"
handle = "acme"

[[pair]]
testrail_project = "Datahub"
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "railfiesta.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_sample_config_is_valid_and_documents_every_default() -> None:
    config = load_config(REPO_ROOT / "sample-config.toml")
    assert config.testrail.url == "https://example.testrail.io"
    assert config.testrail.requests_per_minute == 180
    assert config.testfiesta.handle == "acme"
    assert config.pairs[0].testrail_project == "Sample Project"
    assert config.pairs[0].testfiesta_project == "SAMPLE"
    assert config.sync.interval == 300
    assert config.sync.conflict_policy == "ask"
    assert config.mapping.priority_name("Critical") == "Critical"
    assert config.mapping.field_name("custom_preconds", "Preconds") == "Preconditions"
    assert config.mapping.field_name("refs", "refs") == "References"
    assert config.sync.full_scan == 86400
    assert dict(config.mapping.users) == {}  # the example user id is a comment


def test_minimal_config_gets_the_defaults(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, MINIMAL))
    assert config.testrail.url == "https://acme.testrail.io"  # trailing slash dropped
    assert config.testrail.api_key_env == "TESTRAIL_API_KEY"
    assert config.testfiesta.token_env == "TESTFIESTA_TOKEN"
    assert config.testfiesta.requests_per_minute == 600
    assert config.sync.enabled is False
    assert config.sync.delete_policy == "flag"
    assert config.mapping.priority_name("High") == "High"


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (
            MINIMAL.replace('user = "qa@example.com"', 'usr = "qa@example.com"'),
            4,
            "unknown key 'usr'",
        ),
        (
            MINIMAL.replace('handle = "acme"', 'handle = "acme"\napi_token = "x"'),
            9,
            "secrets are never",
        ),
        (MINIMAL + '\n[sync]\nconflict_policy = "latest"\n', 14, "conflict_policy 'latest'"),
        (MINIMAL + '\n[sync]\ninterval = "soon"\n', 14, "duration"),
        (MINIMAL.replace("https://acme.testrail.io/", "acme.testrail.io"), 3, "not an http(s) URL"),
        (MINIMAL.replace("[[pair]]", "[[pairs]]"), 10, "unknown top-level key"),
        (MINIMAL + "\n[testrail\n", 13, "not valid TOML"),
    ],
)
def test_mistakes_name_the_file_line_and_problem(
    tmp_path: Path, text: str, line: int, words: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert error.value.line == line
    assert f"{path}:{line}:" in str(error.value)
    assert words in str(error.value)


def test_missing_pair_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no \[\[pair\]\] table"):
        load_config(_write(tmp_path, MINIMAL.split("[[pair]]")[0]))
    with pytest.raises(ConfigError, match="config file not found") as missing:
        load_config(tmp_path / "nope.toml")
    assert "sample-config.toml" in missing.value.hint


def test_durations() -> None:
    assert parse_duration("5m", what="x") == 300
    assert parse_duration("30s", what="x") == 30
    assert parse_duration("1h", what="x") == 3600
    assert parse_duration(90, what="x") == 90
    with pytest.raises(ValueError):
        parse_duration("0m", what="x")


def test_secret_from_the_environment_and_a_clear_miss(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RF_TEST_KEY", "s3cr3t-value")
    assert resolve_secret("RF_TEST_KEY", account="testrail:a@b", what="TestRail API key") == (
        "s3cr3t-value"
    )
    monkeypatch.delenv("RF_TEST_KEY")
    monkeypatch.setattr("keyring.get_password", lambda service, account: None)
    with pytest.raises(SecretMissing) as missing:
        resolve_secret("RF_TEST_KEY", account="testrail:a@b", what="TestRail API key")
    assert "RF_TEST_KEY is not set" in str(missing.value)
    assert "keyring set railfiesta testrail:a@b" in missing.value.hint


@pytest.mark.parametrize(
    ("table", "key", "secret", "default"),
    [
        (
            "testrail",
            "api_key_env",
            "Ob5ODnuP0PkCoRBa3x5K-2mQQ8wRkqvpjjt0XJPQd",
            "TESTRAIL_API_KEY",
        ),
        ("testrail", "api_key_env", "Ob5ODnuP0PkCoRBa3x5K2mQQ8wRkqvpjjt0XJPQd", "TESTRAIL_API_KEY"),
        ("testfiesta", "token_env", "testfiesta_0f0f0f0f.e1e1e1e1", "TESTFIESTA_TOKEN"),
    ],
    ids=["key-with-dash", "key-like-a-name", "token"],
)
def test_a_secret_pasted_where_its_variable_name_goes_is_refused_and_not_repeated(
    tmp_path: Path, table: str, key: str, secret: str, default: str
) -> None:
    text = MINIMAL.replace(f"[{table}]\n", f'[{table}]\n{key} = "{secret}"\n')
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    line = 3 if table == "testrail" else 7
    assert error.value.message == (
        f"{path}:{line}: [{table}] {key} must be the name of an environment variable "
        "(letters, digits and _), and its value is not one: it looks like the secret itself, "
        "so it is not repeated here"
    )
    assert error.value.hint == (
        f'put the secret in the environment and name it: {key} = "{default}", '
        f"then export {default}=..."
    )
    assert secret not in str(error.value) + error.value.hint


def test_ordinary_variable_names_are_taken(tmp_path: Path) -> None:
    text = MINIMAL.replace("[testrail]\n", '[testrail]\napi_key_env = "ci_testrail_key_2"\n')
    text = text.replace("[testfiesta]\n", '[testfiesta]\ntoken_env = "RF_TEST_TESTFIESTA_TOKEN"\n')
    config = load_config(_write(tmp_path, text))
    assert (config.testrail.api_key_env, config.testfiesta.token_env) == (
        "ci_testrail_key_2",
        "RF_TEST_TESTFIESTA_TOKEN",
    )
