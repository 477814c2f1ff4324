"""Test mode: check every request and response of the TestFiesta emulator against the contracts.

What: :class:`ContractValidation` is a pure ASGI middleware that :func:`create_app
<emulators.testfiesta.app.create_app>` puts in front of everything when the environment
variable :data:`SPECS_ENV` names a directory holding ``testfiesta-v1.openapi.json`` and
``testrail-v2-shim.openapi.json``. Each exchange is checked by :class:`ContractChecker` with
openapi-core (the validator, not ours: ``OpenAPI.iter_request_errors`` /
``iter_response_errors``), against the published specs after the documented fix-ups and the
§1.5/§3.12 tolerances of :mod:`emulators.testfiesta.contract_spec`. A violation is **recorded**
(:func:`take_violations`), never swallowed; the answer itself goes out unchanged, so the test
that caused it sees the emulator's behaviour and the test run's hooks fail it (tests/conftest.py).
Recording works the same in-process (``httpx.ASGITransport``) and over real HTTP (uvicorn
threads), where an error status alone could be retried away or ignored by the client.

Rules (why: the emulator must speak exactly the public contracts, DESIGN §3 and §9):

- **Requests** are violations only when the emulator *accepted* them (status < 400): a 4xx
  answer to a request the spec rejects is the emulator enforcing the contract. A 2xx/3xx
  answer to an operation the spec does not have (unknown path or method) is a violation.
- **Responses** are always checked when the spec declares their status code; an error status
  (>= 400) the spec does not declare passes (the v1 spec documents no errors at all, §1.4).
  Untyped schemas (``{}``) accept anything.
- Shim calls are located with :func:`~emulators.testfiesta.contract_spec.shim_target` (the
  TestRail method lives in the raw query string) and handed to openapi-core with that path
  pattern (openapi-core's ``SupportsPathPattern`` protocol) and the ``&k=v`` parameters as the
  query. Every request is presented as addressed to the spec's own server
  (``https://api.testfiesta.com``): the emulator stands in for it on any host and port.

openapi-core is imported only here, and this module only when test mode is on, so the product
runtime never needs it. Parsed specs are cached per process and directory
(:func:`load_checker`), so a test session parses each spec once.

Source: openapi-core docs, "Validation" (``iter_request_errors``, ``iter_response_errors``)
and "Integrations" / protocols reference (``Request``, ``SupportsPathPattern``, ``Response``).
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from emulators.testfiesta import contract_spec as S
from emulators.testfiesta.uploads import STORAGE_PREFIX

#: When set, every TestFiesta emulator app validates its traffic against the specs in this
#: directory (tests/conftest.py sets it for the whole test run).
SPECS_ENV = "RAILFIESTA_CONTRACT_SPECS"

#: How much of a body a violation report quotes.
EXCERPT = 400


@dataclass(frozen=True)
class Violation:
    """One exchange that broke a contract: ``api`` (``v1`` or ``shim``), ``method``,
    ``target`` (path and query as sent), the answer's ``status``, ``problems`` (one line each)
    and excerpts of both bodies."""

    api: str
    method: str
    target: str
    status: int
    problems: tuple[str, ...]
    request_body: str = ""
    response_body: str = ""

    def __str__(self) -> str:
        lines = [f"{self.api} {self.method} {self.target} -> {self.status}"]
        lines += [f"  - {problem}" for problem in self.problems]
        if self.request_body:
            lines.append(f"  request body: {self.request_body}")
        if self.response_body:
            lines.append(f"  response body: {self.response_body}")
        return "\n".join(lines)


_lock = threading.Lock()
_violations: list[Violation] = []
_checked = 0


def checked_exchanges() -> int:
    """How many exchanges this process has checked so far (proof that checking ran)."""
    return _checked


def _count() -> None:
    global _checked
    with _lock:
        _checked += 1


def record(violation: Violation) -> None:
    """Keep ``violation`` until :func:`take_violations` (thread-safe: servers run in threads)."""
    with _lock:
        _violations.append(violation)


def take_violations() -> list[Violation]:
    """Every violation recorded since the last call, oldest first; clears the record."""
    with _lock:
        taken = list(_violations)
        _violations.clear()
    return taken


# --- openapi-core adapters (its Request / SupportsPathPattern / Response protocols) ----------


@dataclass
class _Request:
    """A request as openapi-core's ``Request`` protocol wants it (``method`` lower case)."""

    host_url: str
    path: str
    method: str
    parameters: Any
    content_type: str
    body: bytes | None
    path_pattern: str | None = None


@dataclass
class _Response:
    """A response as openapi-core's ``Response`` protocol wants it."""

    status_code: int
    content_type: str
    headers: Any
    data: bytes | None


def _excerpt(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace")
    return text if len(text) <= EXCERPT else text[:EXCERPT] + "..."


def _describe(error: BaseException) -> str:
    """One line for an openapi-core error: the schema errors it wraps (JSON path and message
    of each, which ``str(error)`` does not show), or else its own message."""
    details = []
    for cause in (error, error.__cause__):
        for schema_error in getattr(cause, "schema_errors", None) or ():
            where = "/".join(str(p) for p in schema_error.absolute_path)
            details.append(f"{where or '<root>'}: {schema_error.message}")
    if details:  # str(error) would repeat the whole value; the schema errors say more
        return f"{type(error).__name__}: " + "; ".join(dict.fromkeys(details))
    return f"{type(error).__name__}: {error}"


class ContractChecker:
    """Checks one exchange against the fixed and tolerated v1 spec and the fixed shim spec.

    ``v1`` and ``shim`` are spec dicts ready for openapi-core (the outputs of
    :func:`load_specs`). :meth:`check` returns the problems of one exchange (empty = fine).
    """

    def __init__(self, v1: Mapping[str, Any], shim: Mapping[str, Any]) -> None:
        from openapi_core import OpenAPI

        self.v1 = OpenAPI.from_dict(dict(v1))
        self.shim = OpenAPI.from_dict(dict(shim))
        self.v1_host = _host(v1["servers"][0]["url"])
        self.shim_host = _host(shim["servers"][0]["url"])
        self.shim_index = S.shim_key_index(shim["paths"])

    def check(
        self,
        method: str,
        path: str,
        query_string: str,
        headers: list[tuple[str, str]],
        body: bytes,
        status: int,
        response_headers: list[tuple[str, str]],
        response_body: bytes,
    ) -> tuple[str, list[str]]:
        """(api, problems) of one exchange; api is ``v1``, ``shim`` or ``other``."""
        from openapi_core.datatypes import RequestParameters
        from werkzeug.datastructures import Headers, ImmutableMultiDict

        header = Headers(headers)
        content_type = header.get("content-type", "application/octet-stream")
        if path.startswith("/trv2/"):
            api, openapi = "shim", self.shim
            target = S.shim_target(query_string, self.shim_index)
            if target is None:
                if status < 400:
                    return api, [f"no shim operation matches {query_string!r}"]
                return api, []
            handle_path = path.removesuffix("/index.php")
            parameters = RequestParameters(
                query=ImmutableMultiDict(target.query),
                header=header,
                path=dict(target.path_params),
            )
            request = _Request(
                self.shim_host,
                f"{handle_path}/{target.path_key}",
                method.lower(),
                parameters,
                content_type,
                body,
                path_pattern=f"{handle_path}/{target.path_key}",
            )
        elif path.startswith("/v1/"):
            api, openapi = "v1", self.v1
            parameters = RequestParameters(
                query=ImmutableMultiDict(parse_qsl(query_string, keep_blank_values=True)),
                header=header,
            )
            request = _Request(self.v1_host, path, method.lower(), parameters, content_type, body)
        elif path.startswith(STORAGE_PREFIX):
            return "storage", []  # the signed-URL upload's object storage: neither API
        else:
            return "other", ([f"{path} is outside both APIs"] if status < 400 else [])

        from openapi_core.templating.paths.exceptions import PathError
        from openapi_core.templating.responses.exceptions import ResponseNotFound

        problems: list[str] = []
        request_errors = list(openapi.iter_request_errors(request))
        unknown_operation = any(isinstance(e, PathError) for e in request_errors)
        if status < 400:
            problems += [f"request: {_describe(e)}" for e in request_errors]
        if unknown_operation:
            return api, problems
        response = _Response(
            status,
            Headers(response_headers).get("content-type", ""),
            Headers(response_headers),
            response_body,
        )
        for error in openapi.iter_response_errors(request, response):
            if isinstance(error, ResponseNotFound) and status >= 400:
                continue  # an error status the spec does not document: nothing to check
            problems.append(f"response: {_describe(error)}")
        return api, problems


def _host(server_url: str) -> str:
    """``scheme://host`` of a server URL (``http://api.testfiesta.com/trv2/{handle}/`` ->
    ``http://api.testfiesta.com``)."""
    parts = urlsplit(server_url)
    return f"{parts.scheme}://{parts.netloc}"


def load_specs(specs_dir: str | Path) -> tuple[S.Spec, S.Spec]:
    """(v1, shim) spec dicts from ``specs_dir``, fixed (and v1 tolerated), ready to validate
    with. Raises FileNotFoundError naming the missing file: validation never silently
    switches off."""
    directory = Path(specs_dir)
    loaded = []
    for name in (S.V1_SPEC_FILE, S.SHIM_SPEC_FILE):
        path = directory / name
        if not path.is_file():
            raise FileNotFoundError(
                f"contract validation is on ({SPECS_ENV}={specs_dir}) but {path} does not exist"
            )
        loaded.append(json.loads(path.read_text(encoding="utf-8")))
    v1, shim = loaded
    return S.tolerate_v1_spec(S.fix_v1_spec(v1)), S.fix_shim_spec(shim)


@functools.lru_cache(maxsize=4)
def load_checker(specs_dir: str) -> ContractChecker:
    """The :class:`ContractChecker` for ``specs_dir``, built once per process (parsing and
    checking both specs takes about a second)."""
    return ContractChecker(*load_specs(specs_dir))


@dataclass
class _Exchange:
    """What the middleware captured of one HTTP exchange."""

    body: bytes = b""
    status: int = 0
    headers: list[tuple[str, str]] = field(default_factory=list)
    chunks: list[bytes] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)


class ContractValidation:
    """Pure ASGI middleware: buffer the request, let the app answer into a buffer, check the
    exchange with ``checker``, record any violation, then send the answer unchanged.

    Buffering makes the record happen before the client sees the answer, so a test that
    returns right after its last request cannot miss a violation.
    """

    def __init__(self, app: ASGIApp, *, checker: ContractChecker) -> None:
        self.app = app
        self.checker = checker

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        exchange = _Exchange()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            exchange.body += message.get("body", b"")
            more = message.get("more_body", False)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": exchange.body, "more_body": False}
            return await receive()

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                exchange.status = message["status"]
                exchange.headers = [
                    (k.decode("latin-1"), v.decode("latin-1")) for k, v in message["headers"]
                ]
            elif message["type"] == "http.response.body":
                exchange.chunks.append(message.get("body", b""))
            exchange.messages.append(message)

        await self.app(scope, replay, capture)
        self._check(scope, exchange)
        for message in exchange.messages:
            await send(message)

    def _check(self, scope: Scope, exchange: _Exchange) -> None:
        query = scope.get("query_string", b"").decode("latin-1")
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        response_body = b"".join(exchange.chunks)
        method = scope["method"]
        try:
            api, problems = self.checker.check(
                method,
                scope["path"],
                query,
                headers,
                exchange.body,
                exchange.status,
                exchange.headers,
                response_body,
            )
        except Exception as error:  # a validator crash must fail the test, not pass it
            api, problems = "?", [f"the contract check itself failed: {error!r}"]
        _count()
        if problems:
            target = scope["path"] + (f"?{query}" if query else "")
            record(
                Violation(
                    api,
                    method,
                    target,
                    exchange.status,
                    tuple(problems),
                    _excerpt(exchange.body),
                    _excerpt(response_body),
                )
            )
