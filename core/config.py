"""The TOML config: read and validated into frozen dataclasses (DESIGN §11).

``sample-config.toml`` is the documented copy. Unknown keys are errors that name the line; every
key has a default except ``testrail.url``, ``testrail.user``, ``testfiesta.url``,
``testfiesta.handle`` and at least one ``[[pair]]``. Secrets are never read from the file: the
file names an environment variable, and :func:`resolve_secret` looks there and then in the OS
keyring. Writing the file back (the mapping editor) goes through tomlkit so comments survive;
see :mod:`core.config_edit`.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from core.errors import ConfigError, SecretMissing
from core.mapping import USER_ID, MappingRules

CONFLICT_POLICIES = ("ask", "testrail-wins", "testfiesta-wins", "newest-wins")
DELETE_POLICIES = ("flag", "archive", "propagate")
KEYRING_SERVICE = "railfiesta"

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_SECRET_WORDS = ("api_key", "token", "password", "secret")


@functools.cache
def theme_names() -> tuple[str, ...]:
    """The console themes railfiesta ships: the file names (without ``.toml``) in the
    ``themes`` package, which is where ``tui.themes`` loads them from. ``[ui] theme`` must be
    one of them."""
    from importlib import resources

    folder = resources.files("themes")
    return tuple(
        sorted(
            entry.name.removesuffix(".toml")
            for entry in folder.iterdir()
            if entry.name.endswith(".toml") and entry.is_file()
        )
    )


@dataclass(frozen=True)
class TestRailSettings:
    """``[testrail]``: where TestRail is and who we are there.

    ``requests_per_minute``: Cloud Professional 180, Enterprise 300, Server your choice (0 or
    absent = no client-side limit). ``timeout`` seconds per request. ``ca_bundle``: a PEM file
    for a private certificate authority. ``verify_tls = false`` stops checking this host's
    certificate (every run then warns, see :func:`connection_warnings`).
    """

    __test__ = False

    url: str
    user: str
    api_key_env: str = "TESTRAIL_API_KEY"
    requests_per_minute: int | None = 180
    timeout: float = 30.0
    ca_bundle: str | None = None
    verify_tls: bool = True


@dataclass(frozen=True)
class TestFiestaSettings:
    """``[testfiesta]``: the TestFiesta API URL, organization handle and token variable;
    ``requests_per_minute``, ``timeout``, ``ca_bundle`` and ``verify_tls`` as for TestRail."""

    __test__ = False

    url: str
    handle: str
    token_env: str = "TESTFIESTA_TOKEN"
    requests_per_minute: int | None = 600
    timeout: float = 30.0
    ca_bundle: str | None = None
    verify_tls: bool = True


@dataclass(frozen=True)
class Pair:
    """``[[pair]]``: one TestRail project (name or id) and its TestFiesta project key.

    ``testfiesta_project`` empty means "generate a key from the TestRail name" (uppercase slug).
    """

    testrail_project: str | int
    testfiesta_project: str = ""


@dataclass(frozen=True)
class SyncSettings:
    """``[sync]``: polling ``interval`` (seconds), conflict and delete policies, and
    ``full_scan``: seconds between two reads of every record (deletions leave no trace in
    TestRail's change filters, so they show only then; default one day)."""

    enabled: bool = False
    interval: int = 300
    full_scan: int = 86400
    conflict_policy: str = "ask"
    delete_policy: str = "flag"
    big_delete_threshold: int = 20
    field_policies: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class UiSettings:
    """``[ui]``: console theme and mouse support."""

    theme: str = "railfiesta-dark"
    mouse: bool = True


@dataclass(frozen=True)
class Config:
    """The whole config file, validated. ``path`` is where it was read from."""

    path: Path
    testrail: TestRailSettings
    testfiesta: TestFiestaSettings
    pairs: tuple[Pair, ...]
    sync: SyncSettings = field(default_factory=SyncSettings)
    mapping: MappingRules = field(default_factory=MappingRules)
    ui: UiSettings = field(default_factory=UiSettings)


def parse_duration(value: Any, *, what: str) -> int:
    """``"5m"``, ``"30s"``, ``"1h"``, ``"2d"`` or a number of seconds -> seconds (int > 0)."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    match = _DURATION.match(str(value))
    if not match or int(match.group(1)) <= 0:
        raise ValueError(f'{what} must be a duration such as "30s", "5m" or "1h"')
    return int(match.group(1)) * _UNITS[match.group(2)]


#: An environment variable name (POSIX shells: letters, digits and _, not first a digit).
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class _Reader:
    """Walks the parsed TOML, turning problems into ConfigErrors with line numbers."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()

    def line_of(self, table: str, key: str) -> int | None:
        """1-based line where ``key`` is assigned inside ``[table]`` (best effort)."""
        current = ""
        header = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
        assign = re.compile(rf"^\s*(\"{re.escape(key)}\"|'{re.escape(key)}'|{re.escape(key)})\s*=")
        for number, line in enumerate(self.lines, start=1):
            found = header.match(line)
            if found:
                current = found.group(1).replace('"', "").replace(" ", "")
                if not key and current == table:
                    return number
                if not table and key and current.split(".")[0] == key:
                    return number  # an unknown top-level table
                continue
            if key and current == table and assign.match(line):
                return number
        return None

    def fail(self, table: str, key: str, message: str, hint: str = "") -> ConfigError:
        return ConfigError(message, path=str(self.path), line=self.line_of(table, key), hint=hint)

    def table(self, data: Mapping[str, Any], name: str, allowed: set[str]) -> dict[str, Any]:
        value = data.get(name, {})
        if not isinstance(value, dict):
            raise self.fail("", name, f"[{name}] must be a table")
        for key in value:
            if key in allowed:
                continue
            hint = f"known keys: {', '.join(sorted(allowed))}"
            if any(word in key.lower() for word in _SECRET_WORDS):
                hint = (
                    "secrets are never read from the file: put the value in the environment "
                    "variable named by api_key_env/token_env, or in the OS keyring"
                )
            raise self.fail(name, key, f"unknown key {key!r} in [{name}]", hint)
        return value

    def env_name(self, section: Mapping[str, Any], table: str, key: str, default: str) -> str:
        """``api_key_env``/``token_env``: the name of an environment variable. A value that
        is no variable name (``testfiesta_...``, a ``/``, ``.`` or ``-``) or looks like a key
        (20+ characters mixing upper and lower case letters and digits) is refused without
        being repeated, since it is most likely the secret itself."""
        value = section.get(key, default)
        name = value if isinstance(value, str) else ""
        looks_secret = (
            len(name) >= 20
            and any(c.islower() for c in name)
            and any(c.isupper() for c in name)
            and any(c.isdigit() for c in name)
        )
        if not _ENV_NAME.fullmatch(name) or name.startswith("testfiesta_") or looks_secret:
            raise self.fail(
                table,
                key,
                f"[{table}] {key} must be the name of an environment variable (letters, digits "
                "and _), and its value is not one: it looks like the secret itself, so it is "
                "not repeated here",
                hint=f'put the secret in the environment and name it: {key} = "{default}", '
                f"then export {default}=...",
            )
        return name

    def required(self, section: Mapping[str, Any], table: str, key: str) -> str:
        value = section.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(
                table, key, f"[{table}] {key} is required", hint=f'add {key} = "..." to [{table}]'
            )
        return value.strip()

    def integer(self, section: Mapping[str, Any], table: str, key: str, default: int) -> int:
        value = section.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.fail(table, key, f"[{table}] {key} must be a whole number >= 0")
        return value

    def number(self, section: Mapping[str, Any], table: str, key: str, default: float) -> float:
        value = section.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise self.fail(table, key, f"[{table}] {key} must be a number of seconds > 0")
        return float(value)

    def boolean(self, section: Mapping[str, Any], table: str, key: str, default: bool) -> bool:
        value = section.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(table, key, f"[{table}] {key} must be true or false")
        return value

    def url(self, section: Mapping[str, Any], table: str) -> str:
        value = self.required(section, table, "url").rstrip("/")
        parsed = urlparse(value)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise self.fail(
                table,
                "url",
                f"[{table}] url {value!r} is not an http(s) URL",
                hint="for example https://acme.testrail.io",
            )
        return value


def load_config(path: str | Path) -> Config:
    """Read and validate the config at ``path``.

    Raises :class:`ConfigError` naming the file and line for: a missing file, TOML syntax
    errors, unknown keys, missing required keys, and values of the wrong kind.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            "config file not found",
            path=str(path),
            hint="copy sample-config.toml and edit it, or pass --config",
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read the config: {exc.strerror}", path=str(path)) from None
    try:
        text = raw.decode("utf-8-sig")  # a byte-order mark (Notepad) is harmless
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"not UTF-8 text (byte 0x{raw[exc.start]:02x})",
            path=str(path),
            line=line,
            hint="save the file as UTF-8",
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+), column (\d+)", str(exc))
        at = (int(match.group(1)), int(match.group(2))) if match else None
        raise ConfigError(
            f"not valid TOML: {exc}",
            path=str(path),
            line=at[0] if at else None,
            hint=(
                f"fix the TOML at line {at[0]}, column {at[1]} (text values need quotes, "
                "tables look like [name]; see sample-config.toml)"
                if at
                else "fix the TOML syntax (see sample-config.toml)"
            ),
        ) from None
    reader = _Reader(path, text)
    known = {"testrail", "testfiesta", "pair", "sync", "mapping", "users", "ui"}
    for key in data:
        if key not in known:
            raise reader.fail(
                "",
                key,
                f"unknown top-level key or table {key!r}",
                hint=f"known: {', '.join(sorted(known))}",
            )

    tr = reader.table(
        data,
        "testrail",
        {"url", "user", "api_key_env", "requests_per_minute", "timeout", "ca_bundle", "verify_tls"},
    )
    tf = reader.table(
        data,
        "testfiesta",
        {"url", "handle", "token_env", "requests_per_minute", "timeout", "ca_bundle", "verify_tls"},
    )
    testrail = TestRailSettings(
        url=reader.url(tr, "testrail"),
        user=reader.required(tr, "testrail", "user"),
        api_key_env=reader.env_name(tr, "testrail", "api_key_env", "TESTRAIL_API_KEY"),
        requests_per_minute=reader.integer(tr, "testrail", "requests_per_minute", 180) or None,
        timeout=reader.number(tr, "testrail", "timeout", 30.0),
        ca_bundle=str(tr["ca_bundle"]) if tr.get("ca_bundle") else None,
        verify_tls=reader.boolean(tr, "testrail", "verify_tls", True),
    )
    testfiesta = TestFiestaSettings(
        url=reader.url(tf, "testfiesta"),
        handle=reader.required(tf, "testfiesta", "handle"),
        token_env=reader.env_name(tf, "testfiesta", "token_env", "TESTFIESTA_TOKEN"),
        requests_per_minute=reader.integer(tf, "testfiesta", "requests_per_minute", 600) or None,
        timeout=reader.number(tf, "testfiesta", "timeout", 30.0),
        ca_bundle=str(tf["ca_bundle"]) if tf.get("ca_bundle") else None,
        verify_tls=reader.boolean(tf, "testfiesta", "verify_tls", True),
    )

    raw_pairs = data.get("pair", [])
    if not isinstance(raw_pairs, list) or not raw_pairs:
        raise reader.fail(
            "",
            "",
            "no [[pair]] table: nothing to migrate",
            hint='add [[pair]] with testrail_project = "..." and testfiesta_project = "KEY"',
        )
    pairs: list[Pair] = []
    for raw in raw_pairs:
        for key in raw:
            if key not in ("testrail_project", "testfiesta_project"):
                raise reader.fail(
                    "pair",
                    key,
                    f"unknown key {key!r} in [[pair]]",
                    hint="known keys: testfiesta_project, testrail_project",
                )
        project = raw.get("testrail_project")
        if isinstance(project, bool) or not isinstance(project, str | int) or project == "":
            raise reader.fail(
                "pair",
                "testrail_project",
                "[[pair]] testrail_project must be a project name or id",
            )
        key = str(raw.get("testfiesta_project", "")).strip()
        if key and not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]{0,49}", key):
            raise reader.fail(
                "pair",
                "testfiesta_project",
                f"testfiesta_project {key!r} is not a usable project key",
                hint="letters, digits, - and _, starting with a letter",
            )
        pairs.append(Pair(testrail_project=project, testfiesta_project=key))

    sync_table = reader.table(
        data,
        "sync",
        {
            "enabled",
            "interval",
            "conflict_policy",
            "delete_policy",
            "big_delete_threshold",
            "full_scan",
            "fields",
        },
    )
    try:
        interval = parse_duration(sync_table.get("interval", "5m"), what="[sync] interval")
    except ValueError as exc:
        raise reader.fail("sync", "interval", str(exc)) from None
    try:
        full_scan = parse_duration(sync_table.get("full_scan", "1d"), what="[sync] full_scan")
    except ValueError as exc:
        raise reader.fail("sync", "full_scan", str(exc)) from None
    policy = sync_table.get("conflict_policy", "ask")
    if policy not in CONFLICT_POLICIES:
        raise reader.fail(
            "sync",
            "conflict_policy",
            f"conflict_policy {policy!r} is not one of " + ", ".join(CONFLICT_POLICIES),
        )
    delete_policy = sync_table.get("delete_policy", "flag")
    if delete_policy not in DELETE_POLICIES:
        raise reader.fail(
            "sync",
            "delete_policy",
            f"delete_policy {delete_policy!r} is not one of " + ", ".join(DELETE_POLICIES),
        )
    field_policies = sync_table.get("fields", {})
    if not isinstance(field_policies, dict) or any(
        v not in CONFLICT_POLICIES for v in field_policies.values()
    ):
        raise reader.fail(
            "sync.fields",
            "",
            "[sync.fields] values must be conflict policies: " + ", ".join(CONFLICT_POLICIES),
        )
    enabled = sync_table.get("enabled", False)
    if not isinstance(enabled, bool):
        raise reader.fail("sync", "enabled", "[sync] enabled must be true or false")
    sync = SyncSettings(
        enabled=enabled,
        interval=interval,
        conflict_policy=str(policy),
        delete_policy=str(delete_policy),
        big_delete_threshold=reader.integer(sync_table, "sync", "big_delete_threshold", 20),
        full_scan=full_scan,
        field_policies={str(k): str(v) for k, v in field_policies.items()},
    )

    mapping_table = reader.table(data, "mapping", {"status", "priority", "types", "fields"})
    for name, table in mapping_table.items():
        if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
            raise reader.fail(
                f"mapping.{name}", "", f"[mapping.{name}] must map names to names (strings)"
            )
    users = data.get("users", {})
    if not isinstance(users, dict) or not all(isinstance(v, str) for v in users.values()):
        raise reader.fail(
            "users", "", "[users] must map TestRail e-mails to TestFiesta user ids (text)"
        )
    for email, user_id in users.items():
        if not USER_ID.match(user_id.strip()):
            raise reader.fail(
                "users",
                email,
                f"[users] {email!r} = {user_id!r} is not a TestFiesta user id",
                hint="TestFiesta's API sets assignees by user id only: use the user's id, a "
                'UUID such as "6f1c2b7e-3d4a-4e5f-8a9b-0c1d2e3f4a5b" (an e-mail or a name '
                "cannot be looked up)",
            )

    ui_table = reader.table(data, "ui", {"theme", "mouse"})
    theme = ui_table.get("theme", "railfiesta-dark")
    known_themes = theme_names()
    if theme not in known_themes:
        raise reader.fail(
            "ui",
            "theme",
            f"[ui] theme {theme!r} is not a railfiesta theme",
            hint=f"use one of: {', '.join(known_themes)}",
        )
    mouse = ui_table.get("mouse", True)
    if not isinstance(mouse, bool):
        raise reader.fail("ui", "mouse", "[ui] mouse must be true or false")
    ui = UiSettings(theme=str(theme), mouse=mouse)
    return Config(
        path=path,
        testrail=testrail,
        testfiesta=testfiesta,
        pairs=tuple(pairs),
        sync=sync,
        mapping=MappingRules.from_tables(
            mapping_table, {email: user_id.strip() for email, user_id in users.items()}
        ),
        ui=ui,
    )


def resolve_secret(env_name: str, *, account: str, what: str) -> str:
    """The secret in environment variable ``env_name``, else in the OS keyring under service
    ``railfiesta`` and ``account`` (``testrail:qa@example.com``).

    Raises :class:`SecretMissing` naming the variable and the keyring entry to set; the message
    never contains a secret.
    """
    raw = os.environ.get(env_name)
    value = (raw or "").strip()
    if value:
        return value
    state = "is empty" if raw is not None else "is not set"
    try:
        import keyring
        import keyring.errors

        stored = keyring.get_password(KEYRING_SERVICE, account)
    except Exception:  # no keyring backend on a headless server is normal
        stored = None
    if stored:
        return str(stored)
    raise SecretMissing(
        f"{what} not found: environment variable {env_name} {state} and the OS keyring has "
        f"no entry {KEYRING_SERVICE}/{account}",
        hint=f"export {env_name}=... or run: keyring set {KEYRING_SERVICE} {account}",
    )


def _is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine: ``localhost``, ``*.localhost`` or a loopback IP."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def connection_warnings(config: Config) -> list[tuple[str, str, str]]:
    """``(side, host, message)`` for every way the config exposes a secret on the wire:
    ``verify_tls = false`` (the certificate is not checked, so a man in the middle can read
    the API key) and an ``http://`` URL to a host that is not this machine (the key travels
    unencrypted). :meth:`core.service.Service.open` emits them on every run."""
    warnings: list[tuple[str, str, str]] = []
    for side, settings in (("testrail", config.testrail), ("testfiesta", config.testfiesta)):
        parsed = urlparse(settings.url)
        host = parsed.hostname or parsed.netloc
        secret = "API key" if side == "testrail" else "API token"
        if parsed.scheme == "http" and not _is_loopback(host):
            warnings.append(
                (
                    side,
                    host,
                    f"[{side}] url {settings.url} is plain http: the {secret} travels "
                    f"unencrypted to {host}; use https://",
                )
            )
        elif parsed.scheme == "https" and not settings.verify_tls:
            warnings.append(
                (
                    side,
                    host,
                    f"[{side}] verify_tls = false: the TLS certificate of {host} is not "
                    f"checked, so anyone on the way can read the {secret}; set ca_bundle to "
                    "the PEM file of its certificate authority instead",
                )
            )
    return warnings
