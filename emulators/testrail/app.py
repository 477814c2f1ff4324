"""The ASGI face of the TestRail emulator: routing on the raw query string, Basic auth, rate
limit, maintenance and fault switches, content-type rules (testrail-api.md §1, §3, §12).

Request pipeline, in order:
0. optional web-server body limit (``max_body_bytes``) -> 413 with an HTML page, not JSON;
1. maintenance switch -> 409 (with ``Retry-After``);
2. sliding-window rate limit (all users, 60 s) -> 429 with ``Retry-After`` and TestRail's body;
3. injected latency, then injected 5xx faults (seeded, so deterministic); the wider fault
   switches of :mod:`emulators.faults` sit in front of all of this (``options.faults``);
4. routing: ``<any prefix>/index.php?/api/v2/<method>[/<id>[/<id2>]][&k=v...]`` or, for
   convenience, ``/api/v2/<method>/<ids>?k=v``; anything else -> 404;
5. "API disabled" switch -> 403, "session authentication disabled" switch -> 403; HTTP Basic
   auth (user e-mail + API key or password) -> 401;
6. unknown method -> 404; wrong verb -> 404 ``Unsupported HTTP method "get" for this action.``;
7. POST bodies: ``Content-Type: application/json`` required (multipart for uploads), JSON
   decoded (400 ``Invalid or incomplete JSON string in API request.``);
8. the handler runs under the state lock.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import collections
import json
import math
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.message import Message
from typing import Any
from urllib.parse import parse_qsl, unquote

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from emulators.dates import DateHeader
from emulators.faults import KINDS, FaultInjector, FaultSwitches
from emulators.testrail import ops
from emulators.testrail.api import EMPTY, ENDPOINTS, Call, RawBody, Upload, parse_ids
from emulators.testrail.errors import ApiError
from emulators.testrail.paging import PageRequest
from emulators.testrail.store import Row, TestRailState

AUTH_FAILED = "Authentication failed: invalid or missing user/password or session cookie."
API_DISABLED = (
    "The API is disabled for your installation. It can be enabled in the administration area "
    "in TestRail under Administration > Site Settings > API."
)
SESSION_DISABLED = (
    "Session authentication is disabled for the API. It can be enabled in the administration "
    "area in TestRail under Administration > Site Settings > API."
)
CT_MISSING = "Content-Type header missing (use Content-Type: application/json)"
CT_INVALID = "Content-Type header invalid (use Content-Type: application/json)"
BAD_JSON = "Invalid or incomplete JSON string in API request."
# [unverified] texts: the reference records no body for these.
MAINTENANCE = "TestRail is currently down for maintenance. Please try again later."
FAULT = "An internal error occurred (emulated fault)."
TOO_LARGE = "<html><head><title>413 Request Entity Too Large</title></head><body><h1>Request Entity Too Large</h1></body></html>"  # noqa: E501


@dataclass
class EmulatorOptions:
    """Switches of one emulator instance; change them at run time through ``app.state.options``.

    - ``api_enabled``: False -> every call 403 "The API is disabled ..." (§1.4).
    - ``session_auth_disabled``: True -> every call 403 "Session authentication is disabled
      for the API. ..." (§1.4 403 row, verbatim; §1.2 "API-key auth can be switched off
      separately ('session authentication for API')"). [INF] which requests a real server
      refuses with this text is not recorded; following §1.2's reading, the switch refuses
      every API call before credentials are checked, like ``api_enabled``.
    - ``requests_per_minute``: sliding 60 s window over all requests; None = no limit (Server).
    - ``maintenance``: True -> 409 with ``Retry-After: maintenance_retry_after`` (Cloud, §1.4).
    - ``latency``: seconds added before answering; ``error_rate`` (0..1) of requests answered
      with ``error_status`` (500 by default), drawn from ``random.Random(fault_seed)``.
    - ``legacy_arrays``: every paged endpoint answers a bare array (pre-6.7, §2.1).
    - ``legacy_ignores_offset``: a pre-6.7 server that also ignores ``offset``: bare arrays
      (implies ``legacy_arrays``) that always start at the first row, so asking for the next
      page returns the first one again (§2.4 "old servers ignore ``offset`` on some endpoints").
    - ``next_link_limit_zero``: ``_links.next`` carries ``limit=0``; following it literally
      answers 400, as trcli found (§2.4, §11 item 2; trcli commit 598e70c).
    - ``suites_paged``: ``get_suites`` answers the 9.3.1 envelope instead of a bare array.
    - ``max_upload_bytes``: larger uploads get TestRail's web-server 413 HTML page (§5.15).
    - ``max_body_bytes``: any request body (JSON or upload) larger than this gets the 413 HTML
      page before TestRail sees it (§1.4 413 row "Request body too large (web-server limit;
      HTML body, not JSON) — seen on huge ``add_results_for_cases``", §11 item 14). None (the
      default) = no limit: the reference documents no size for JSON bodies, only the 256 MB
      upload maximum (§5.15). [INF] the page is a typical web server's, not a recorded one.
    - ``base_url``: instance URL for ``url`` fields; default = the URL the request came in on.
    - ``faults``: the :class:`emulators.faults.FaultSwitches` (every kind of
      :data:`emulators.faults.KINDS`: 429 with ``Retry-After`` in seconds or as an HTTP date,
      409 maintenance, 500/502/503 before the handler, 5xx after it (the write landed), slow
      answers before/after, a connection reset mid-body, truncated JSON, an HTML login page
      with status 200, the ``USER AUTHENTICATION SUCCESSFUL!`` prefix, and rows shifted by
      one between two pages of an offset-paged list). ``faults.rate`` + ``faults.seed`` draw
      them at random from ``faults.enabled``; ``faults.push(kind)`` forces one on the next
      request it applies to. Independent of ``error_rate`` and ``maintenance`` above.
    """

    api_enabled: bool = True
    session_auth_disabled: bool = False
    requests_per_minute: int | None = None
    maintenance: bool = False
    maintenance_retry_after: int = 60
    latency: float = 0.0
    error_rate: float = 0.0
    error_status: int = 500
    fault_seed: int = 0
    legacy_arrays: bool = False
    legacy_ignores_offset: bool = False
    next_link_limit_zero: bool = False
    suites_paged: bool = False
    max_upload_bytes: int = 256 * 1024 * 1024
    max_body_bytes: int | None = None
    base_url: str | None = None
    faults: FaultSwitches = field(default_factory=FaultSwitches)


class SlidingWindow:
    """At most ``limit`` accepted requests in any ``window`` seconds (per instance, all users).

    :meth:`admit` returns None when the request is admitted (and counts it), else the whole
    seconds until the oldest counted request leaves the window (≥ 1). Rejected requests are not
    counted, so a client that waits ``Retry-After`` gets through.
    """

    def __init__(
        self, limit: int, *, window: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._times: collections.deque[float] = collections.deque()

    def admit(self) -> int | None:
        """None if admitted (and counted), else the ``Retry-After`` seconds (int, ≥ 1)."""
        now = self.clock()
        while self._times and self._times[0] <= now - self.window:
            self._times.popleft()
        if len(self._times) < self.limit:
            self._times.append(now)
            return None
        return max(1, math.ceil(self._times[0] + self.window - now))


@dataclass
class _Runtime:
    state: TestRailState
    options: EmulatorOptions
    limiter: SlidingWindow | None
    fault_rng: random.Random
    rate_clock: Callable[[], float]
    limiter_key: int | None = None
    stats: collections.Counter[str] = field(default_factory=collections.Counter)

    def limiter_for(self) -> SlidingWindow | None:
        rpm = self.options.requests_per_minute
        if rpm is None:
            return None
        if self.limiter is None or self.limiter_key != rpm:
            self.limiter = SlidingWindow(rpm, clock=self.rate_clock)
            self.limiter_key = rpm
        return self.limiter


def _json(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(body, status, headers=headers, media_type="application/json; charset=utf-8")


def _error_bytes(_path: str, _status: int, message: str) -> bytes:
    """TestRail's error body ``{"error": message}`` (for injected faults)."""
    return json.dumps({"error": message}).encode("utf-8")


def _error(err: ApiError) -> Response:
    return _json(err.status, {"error": err.message}, err.headers)


def parse_target(path: str, query: bytes) -> tuple[str, list[tuple[str, str]], str] | None:
    """``(api_path, params, prefix)`` of a request, or None when it is not an API call.

    ``api_path`` is ``/api/v2/<method>[/<ids>]``; ``params`` the decoded ``&k=v`` pairs in order
    (``+`` and ``%2C`` decoded); ``prefix`` the install subpath (``""`` or ``/testrail``).
    The raw query string is split by hand: Starlette's parser would treat ``/api/v2/...`` as a
    key (§1.1).
    """
    raw = query.decode("utf-8", "replace")
    if path.endswith("/index.php"):
        prefix = path[: -len("/index.php")]
        first, _, rest = raw.partition("&")
        api_path, _, extra = unquote(first).partition("?")
        params = parse_qsl(extra, keep_blank_values=True) + parse_qsl(rest, keep_blank_values=True)
    elif "/api/v2/" in path:
        prefix = path[: path.index("/api/v2/")]
        api_path = path[len(prefix) :]
        params = parse_qsl(raw, keep_blank_values=True)
    else:
        return None
    if not api_path.startswith("/api/v2/"):
        return None
    return api_path.rstrip("/"), params, prefix.rstrip("/")


def _authenticate(state: TestRailState, header: str | None) -> Row:
    if not header or not header.lower().startswith("basic "):
        raise ApiError(401, AUTH_FAILED)
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise ApiError(401, AUTH_FAILED) from None
    login, sep, secret = decoded.partition(":")
    user = state.find_user_by_email(login) if sep else None
    if user is None or not user["is_active"]:
        raise ApiError(401, AUTH_FAILED)
    if secret not in user["_api_keys"] and (
        user["_password"] is None or secret != user["_password"]
    ):
        raise ApiError(401, AUTH_FAILED)
    return user


def _params(message: Message, header: str, value: str) -> Message:
    message[header] = value
    return message


def parse_multipart(body: bytes, content_type: str) -> dict[str, Upload]:
    """File parts of a ``multipart/form-data`` body by field name (byte-exact payloads)."""
    boundary = _params(Message(), "content-type", content_type).get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        return {}
    out: dict[str, Upload] = {}
    for part in body.split(b"--" + boundary.encode("latin-1"))[1:]:
        if part.startswith(b"--"):
            break
        part = part.removeprefix(b"\r\n")
        head, _, data = part.partition(b"\r\n\r\n")
        data = data.removesuffix(b"\r\n")
        headers = Message()
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, sep, value = line.partition(":")
            if sep:
                headers[key.strip()] = value.strip()
        disposition = headers.get("content-disposition")
        if not disposition:
            continue
        name = headers.get_param("name", header="content-disposition")
        filename = headers.get_param("filename", header="content-disposition")
        if isinstance(name, str):
            out[name] = Upload(
                filename if isinstance(filename, str) else name,
                data,
                headers.get("content-type"),
            )
    return out


def _base_url(request: Request, options: EmulatorOptions, prefix: str) -> str:
    if options.base_url:
        return options.base_url.rstrip("/")
    host = request.headers.get("host") or "localhost"
    return f"{request.url.scheme}://{host}{prefix}"


def _too_large() -> Response:
    """The web server's 413 page: HTML, not TestRail's JSON error (§1.4 413 row)."""
    return Response(TOO_LARGE, 413, media_type="text/html")


async def _handle(request: Request, rt: _Runtime) -> Response:
    options, state = rt.options, rt.state
    if options.max_body_bytes is not None:
        declared = request.headers.get("content-length", "")
        size = int(declared) if declared.isdigit() else len(await request.body())
        if size > options.max_body_bytes:
            return _too_large()
    if options.maintenance:
        return _json(
            409, {"error": MAINTENANCE}, {"Retry-After": str(options.maintenance_retry_after)}
        )
    limiter = rt.limiter_for()
    if limiter is not None:
        wait = limiter.admit()
        if wait is not None:
            rt.stats["429"] += 1
            text = (
                f"API Rate Limit Exceeded - {limiter.limit} per minute maximum allowed. "
                f"Retry after {wait} seconds."
            )
            return _json(429, {"error": text}, {"Retry-After": str(wait)})
    if options.latency > 0:
        await asyncio.sleep(options.latency)
    if options.error_rate > 0 and rt.fault_rng.random() < options.error_rate:
        rt.stats["fault"] += 1
        return _json(options.error_status, {"error": FAULT})

    target = parse_target(request.url.path, request.scope.get("query_string", b""))
    if target is None:
        return _json(404, {"error": "Unknown or invalid URL: not a TestRail API v2 request."})
    api_path, pairs, prefix = target
    if not options.api_enabled:
        return _json(403, {"error": API_DISABLED})
    if options.session_auth_disabled:
        return _json(403, {"error": SESSION_DISABLED})
    try:
        user = _authenticate(state, request.headers.get("authorization"))
    except ApiError as err:
        return _error(err)

    segments = api_path[len("/api/v2/") :].split("/")
    method, raw_ids = segments[0], segments[1:]
    ep = ENDPOINTS.get(method)
    if ep is None:
        return _json(404, {"error": f"Unknown method '{method}'."})
    verb = request.method.upper()
    if verb != ep.verb:
        return _json(404, {"error": f'Unsupported HTTP method "{verb.lower()}" for this action.'})

    body: dict[str, Any] = {}
    files: dict[str, Upload] = {}
    if verb == "POST":
        raw = await request.body()
        ctype = request.headers.get("content-type")
        mime = (ctype or "").split(";")[0].strip().lower()
        if ep.multipart and mime == "multipart/form-data":
            if len(raw) > options.max_upload_bytes:
                return _too_large()
            files = parse_multipart(raw, ctype or "")
        elif not ctype:
            return _json(400, {"error": CT_MISSING})
        elif mime != "application/json":
            return _json(400, {"error": CT_INVALID})
        elif raw.strip():
            try:
                decoded = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                return _json(400, {"error": BAD_JSON})
            body = decoded if isinstance(decoded, dict) else {}

    params = dict(pairs)
    filters = [(k, v) for k, v in pairs if k not in ("limit", "offset")]
    try:
        ids, text_ids = parse_ids(ep, raw_ids)
        numbers = iter(ids)
        shown = [
            text_ids[n] if n in text_ids else str(next(numbers))
            for n in ep.ids[: len(ids) + len(text_ids)]
        ]
        page = PageRequest(
            "/api/v2/" + "/".join([method, *shown]),
            filters,
            params.get("limit"),
            params.get("offset"),
        )
        call = Call(
            state=state,
            method=method,
            ids=ids,
            params=params,
            page=page,
            body=body,
            user=user,
            base=_base_url(request, options, prefix),
            legacy_arrays=options.legacy_arrays or options.legacy_ignores_offset,
            suites_paged=options.suites_paged,
            files=files,
            text_ids=text_ids,
            ignore_offset=options.legacy_ignores_offset,
            next_limit_zero=options.next_link_limit_zero,
        )
        with state.lock:
            if verb == "POST":
                state.generation += 1  # a write: listings built before it are stale
            result = ep.handler(call)
    except ApiError as err:
        return _error(err)
    rt.stats[method] += 1
    if result is EMPTY:
        return Response(b"", 200)
    if isinstance(result, RawBody):
        return Response(result.data, 200, media_type=result.content_type)
    return _json(200, result)


def create_app(
    state: TestRailState | None = None,
    *,
    user: str = "admin@example.com",
    api_key: str = "emulator-api-key",
    password: str | None = None,
    requests_per_minute: int | None = None,
    api_enabled: bool = True,
    session_auth_disabled: bool = False,
    max_body_bytes: int | None = None,
    legacy_arrays: bool = False,
    legacy_ignores_offset: bool = False,
    next_link_limit_zero: bool = False,
    suites_paged: bool = False,
    latency: float = 0.0,
    error_rate: float = 0.0,
    error_status: int = 500,
    fault_seed: int = 0,
    maintenance: bool = False,
    base_url: str | None = None,
    rate_clock: Callable[[], float] = time.monotonic,
    fault_rate: float = 0.0,
    faults: Iterable[str] | None = None,
    slow_seconds: float = 35.0,
    retry_after: int = 1,
) -> Starlette:
    """A Starlette app answering TestRail API v2 over ``state`` (a fresh instance if None).

    ``user``/``api_key`` (and optional ``password``) become an active admin user that HTTP
    Basic auth accepts. The other keywords set :class:`EmulatorOptions`; ``rate_clock``
    (monotonic seconds) drives the rate limiter, injectable for tests. ``fault_rate``,
    ``faults`` (kinds to draw from; None = all), ``fault_seed``, ``slow_seconds`` and
    ``retry_after`` set ``options.faults`` (:class:`emulators.faults.FaultSwitches`, also
    ``app.state.faults``); ValueError for an unknown kind or a rate outside [0, 1].

    The app serves every path: ``/index.php?/api/v2/...`` at the root or under any subpath
    (``/testrail/index.php?...``). ``app.state.testrail`` is the :class:`TestRailState`,
    ``app.state.options`` the live :class:`EmulatorOptions`, ``app.state.stats`` a Counter of
    answered calls per method plus ``"429"`` and ``"fault"``.
    """
    state = state or TestRailState()
    with state.lock:
        ops.add_user(state, email=user, api_key=api_key, password=password, is_admin=True)
    options = EmulatorOptions(
        api_enabled=api_enabled,
        session_auth_disabled=session_auth_disabled,
        max_body_bytes=max_body_bytes,
        requests_per_minute=requests_per_minute,
        maintenance=maintenance,
        latency=latency,
        error_rate=error_rate,
        error_status=error_status,
        fault_seed=fault_seed,
        legacy_arrays=legacy_arrays,
        legacy_ignores_offset=legacy_ignores_offset,
        next_link_limit_zero=next_link_limit_zero,
        suites_paged=suites_paged,
        base_url=base_url,
        faults=FaultSwitches(
            rate=fault_rate,
            enabled=frozenset(faults) if faults is not None else None,
            seed=fault_seed,
            slow_seconds=slow_seconds,
            retry_after=retry_after,
        ),
    )
    rt = _Runtime(state, options, None, random.Random(fault_seed), rate_clock)

    async def endpoint(request: Request) -> Response:
        return await _handle(request, rt)

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    app = Starlette(
        routes=[Route("/{path:path}", endpoint, methods=methods)],
        middleware=[
            Middleware(
                FaultInjector,
                switches=options.faults,
                supported=frozenset(KINDS),
                error_body=_error_bytes,
            ),
            Middleware(DateHeader, clock=state.clock),
        ],
    )
    app.state.testrail = state
    app.state.options = options
    app.state.faults = options.faults
    app.state.stats = rt.stats
    return app
