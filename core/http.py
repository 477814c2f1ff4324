"""The HTTP layer both sides share: pacing, retries, request counting, error mapping.

One :class:`ApiSession` per server (TestRail, TestFiesta v1, the TestFiesta shim share the
TestFiesta host's budget). Every request goes through :meth:`ApiSession.send`, which

1. waits for the per-host pacer so that no 60-second window holds more than the configured
   requests per minute (TestRail Cloud: 180 Professional / 300 Enterprise, reference
   testrail-api.md §3);
2. sends with httpx (timeouts set, TLS verified unless the config says otherwise);
3. retries with exponential backoff and jitter (``stamina``): 429 and TestRail's 409
   maintenance always (the server rejected the request before doing anything), honouring
   ``Retry-After`` or the "Retry after N seconds" text in the body; 5xx, timeouts, dropped
   connections and (through :meth:`ApiSession.send_json`) a 2xx body that is not JSON
   (truncated, or an HTML login page once the server has answered JSON before) only for
   reads, and for writes only when the request provably never reached the server (connect
   errors). A write that may have landed is never re-sent blindly: the caller resolves it by
   lookup-or-create. TestFiesta's 409 is a
   conflict (a taken key or name), not maintenance: never retried (``maintenance_409``);
   **connect failures that no wait will change fail at once** (:func:`final_connect_failure`):
   a connection *refused* by a loopback address (127.0.0.0/8, ``::1``, ``localhost``: nothing
   listens on that port of this machine, and nothing on it is restarting behind a load
   balancer) and a host name that does not exist (DNS ``EAI_NONAME``). Both raise
   :class:`ServerUnreachable` "cannot reach ..." within milliseconds. A refused connection to
   a remote host, a DNS lookup that failed temporarily (``EAI_AGAIN``), connect timeouts and
   resets are transient and retried with the backoff above;
4. never follows a redirect (httpx's default, kept on purpose): a 3xx answer drops the
   ``Authorization`` header and turns a POST into a GET, so it is an error that names the URL
   to configure instead ("use https://..." for the common http -> https redirect);
5. counts every request per endpoint and per stage (:class:`RequestStats`), so the monitor and
   the benchmarks can show requests, pacing waits and 429s.

Error statuses become :mod:`core.errors` exceptions that name the side, the endpoint and the
server's own message, never a header; whatever a server or the network says passes through
:func:`redact` first, so a secret it echoes back is masked.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import contextvars
import functools
import ipaddress
import json
import math
import re
import socket
import ssl
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx
import stamina
import stamina.instrumentation

from core.errors import (
    AccessDenied,
    AnswerLost,
    ApiError,
    AuthenticationFailed,
    NotFound,
    RateLimited,
    ServerUnreachable,
    UnexpectedResponse,
    WrongServer,
)

#: Stage that requests are attributed to (``"folders"``, ``"cases"`` ...); set by :func:`stage`.
_current_stage: contextvars.ContextVar[str] = contextvars.ContextVar("stage", default="other")

#: Seconds to wait after a 429 that carries neither ``Retry-After`` nor a number in its body.
DEFAULT_RATE_LIMIT_WAIT = 5.0
#: Longest single wait honoured from ``Retry-After`` (seconds); longer answers are capped.
MAX_RETRY_AFTER = 300.0

# stamina logs each scheduled retry through the logging module, which prints bare lines on a
# terminal with no logging set up; the sessions report retries as events instead.
stamina.instrumentation.set_on_retry_hooks([])

_RETRY_AFTER_TEXT = re.compile(r"Retry after (\d+)", re.IGNORECASE)
_LEGACY_PREFIX = b"USER AUTHENTICATION SUCCESSFUL!"

#: What each side's URL must point at, for "this is not ..." messages.
API_NAMES = {"testrail": "a TestRail API", "testfiesta": "the TestFiesta API"}
#: The documented example of each side's URL, for hints.
URL_EXAMPLES = {
    "testrail": "the TestRail site root, such as https://acme.testrail.io",
    "testfiesta": "https://api.testfiesta.com",
}


@contextlib.contextmanager
def stage(name: str) -> Iterator[None]:
    """Attribute the requests made inside the ``with`` block to stage ``name``."""
    token = _current_stage.set(name)
    try:
        yield
    finally:
        _current_stage.reset(token)


@dataclass
class RequestStats:
    """Counters of one session's traffic; read by the monitor, the report and ``bench/``.

    ``by_endpoint`` and ``by_stage`` count requests sent (retries included); ``retries`` counts
    the re-sends; ``rate_limited`` the 429/409 answers, ``maintenance_waits`` the 409s among
    them (TestRail's maintenance mode, not a rate limit); ``paced_seconds`` the time spent waiting
    for the pacer and ``rate_limit_wait_seconds`` the time spent honouring ``Retry-After``.
    """

    by_endpoint: Counter[str] = field(default_factory=Counter)
    by_stage: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    rate_limited: int = 0
    maintenance_waits: int = 0
    errors: int = 0
    paced_seconds: float = 0.0
    rate_limit_wait_seconds: float = 0.0
    _recent: deque[float] = field(default_factory=deque, repr=False)

    @property
    def total(self) -> int:
        """Requests sent so far (each retry counts: it costs rate-limit budget too)."""
        return sum(self.by_endpoint.values())

    def record(self, endpoint: str, now: float) -> None:
        """Count one request to ``endpoint`` sent at monotonic time ``now`` (seconds)."""
        self.by_endpoint[endpoint] += 1
        self.by_stage[_current_stage.get()] += 1
        self._recent.append(now)
        while self._recent[0] < now - 60.0:  # only the last minute is asked for
            self._recent.popleft()

    def last_minute(self, now: float | None = None) -> int:
        """Requests sent in the 60 seconds before ``now`` (monotonic seconds; default: now)."""
        now = time.monotonic() if now is None else now
        while self._recent and self._recent[0] < now - 60.0:
            self._recent.popleft()
        return len(self._recent)


@dataclass(frozen=True)
class Retrying:
    """Event: a request to ``side`` failed (``reason``) and is being tried again."""

    side: str
    endpoint: str
    reason: str


#: What a wait is called, by the status that asked for it (:attr:`RateLimitWait.reason`):
#: 429 is a rate limit, 409 TestRail's maintenance mode (a session retries a 409 only where
#: it means that: ``maintenance_409``; TestFiesta's 409 is a conflict, raised, never waited).
WAIT_REASONS = {429: "rate limit", 409: "maintenance"}


@dataclass(frozen=True)
class RateLimitWait:
    """Event: the server said 429/409 and the session sleeps ``seconds`` before retrying.
    ``status`` is the HTTP status: 429 (rate limit) or 409 (TestRail's maintenance mode)."""

    side: str
    endpoint: str
    seconds: float
    status: int = 429

    @property
    def maintenance(self) -> bool:
        """True for a maintenance wait (409), False for a rate limit (429)."""
        return self.status == 409

    @property
    def reason(self) -> str:
        """``"rate limit"`` or ``"maintenance"`` (:data:`WAIT_REASONS`), as people read it."""
        return WAIT_REASONS.get(self.status, "rate limit")


class _Retry(Exception):
    """Internal: this attempt failed in a way that may be retried, after ``backoff`` seconds."""

    def __init__(self, error: Exception, backoff: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.backoff = backoff


def _backoff_hook(exc: BaseException) -> bool | float:
    if isinstance(exc, _Retry):
        return exc.backoff if exc.backoff is not None else True
    return False


#: Seconds the pacer adds to TestRail's 60-second window: a request the server counts a
#: little later than it was sent (network jitter) still leaves the window before the pacer
#: sends the one that replaces it. Costs 1/61 of the budget (98.4 % of it stays usable).
PACER_MARGIN = 1.0


class Pacer:
    """Client-side limit: never more than ``requests_per_minute`` in any 60-second window.

    A sliding window over the send times, as TestRail Cloud counts (testrail-api.md §3): a
    request goes at once while fewer than ``requests_per_minute`` were sent in the last 60 s
    (plus :data:`PACER_MARGIN`), else it waits until the oldest of them leaves the window. So a
    job that fits in one minute's budget is sent at full speed, not spread over the minute.

    Once a request has had to wait (the budget is spent), the next ones are also spaced one
    slot apart (window / ``requests_per_minute``: 34 ms at 1,800/min, 339 ms at 180/min)
    for as long as the waiting goes on (until a window passes without a wait). Without the
    spacing a long job would repeat its first minute: the whole budget in a burst of a few
    seconds as the oldest sends leave the window, then nothing until the burst itself has
    left it. TestRail's limit is per instance, shared by every user and tool, so those bursts
    would take the instance's budget away from them in one go, and a phase of a job
    measured between two bursts would show an idle minute. Spaced, a long job sends at an
    even 98 % of the budget after its first minute (the margin costs the rest), and never
    more in any window than without the spacing.

    Waiting callers go in the order they asked (each reserves its slot when it asks). Times
    are the event loop's clock. ``None`` (or 0) means unlimited (TestRail Server has no
    built-in limit).
    """

    def __init__(self, requests_per_minute: int | None) -> None:
        self.requests_per_minute = requests_per_minute or None
        self.window = 60.0 + PACER_MARGIN
        #: the send times handed out (non-decreasing; the last ones may lie in the future)
        self._slots: deque[float] = deque()
        #: until when slots are spaced: one window after the last slot that had to wait
        self._spaced_until = -math.inf

    def reserve(self, now: float) -> float:
        """The time (loop seconds, ``>= now``) the next request may be sent, taken as
        that request's slot: the first moment at which the window ending there holds fewer
        than ``requests_per_minute`` slots, and, while requests are waiting, at least one
        slot (window / ``requests_per_minute``) after the slot before it."""
        limit = self.requests_per_minute
        assert limit is not None
        while self._slots and self._slots[0] <= now - self.window:
            self._slots.popleft()
        at = now if len(self._slots) < limit else max(now, self._slots[-limit] + self.window)
        if now < self._spaced_until and self._slots:
            at = max(at, self._slots[-1] + self.window / limit)
        if at > now:
            self._spaced_until = at + self.window
        self._slots.append(at)
        return at

    async def wait(self) -> float:
        """Wait for a slot; return the seconds spent waiting."""
        if self.requests_per_minute is None:
            return 0.0
        loop = asyncio.get_running_loop()
        now = loop.time()
        delay = self.reserve(now) - now
        if delay > 0:
            await asyncio.sleep(delay)
        return max(0.0, delay)


_T = TypeVar("_T")

#: Requests :func:`each_in_flight` keeps open at once. A request read one after another
#: waits out its round trip (request, server work, answer) before the next one can use
#: its pacer slot. When the round trip takes longer than one slot (60 s / requests per
#: minute: 33 ms at 1,800/min, 333 ms at Cloud's 180/min), the budget is left unused.
#: Four in flight cover a round trip of up to four slots. The :class:`Pacer` still sets
#: the pace: each request reserves its slot when it asks.
IN_FLIGHT = 4


async def each_in_flight(
    items: Sequence[_T], work: Callable[[_T], Awaitable[None]], *, limit: int = IN_FLIGHT
) -> None:
    """Await ``work(item)`` for each item, in order, with at most ``limit`` running at once.
    For independent reads through one :class:`ApiSession`: its pacer keeps the rate, and
    this keeps the pacer busy. ``work`` keeps what it reads (this returns nothing). The
    first exception stops it: no item is started after that, the running ones are cancelled
    and awaited, and the exception is raised. The current :func:`stage` carries over."""
    pending = iter(items)

    async def worker() -> None:
        for item in pending:  # one shared iterator: each item is taken once
            await work(item)

    tasks = [asyncio.create_task(worker()) for _ in range(max(1, min(limit, len(items))))]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def json_body_bytes(value: Any) -> int:
    """Bytes of ``value`` as a JSON request body, exactly as httpx sends ``json=`` (compact
    separators, UTF-8 left unescaped: ``httpx._content.encode_json``), so a batch packed
    under a byte cap is measured as it goes on the wire. Raises ``TypeError`` and
    ``ValueError`` as :func:`json.dumps` does (no NaN)."""
    return len(
        json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
    )


def tls_verification(ca_bundle: str | None, *, verify_tls: bool = True) -> ssl.SSLContext | bool:
    """httpx's ``verify`` for one host: an SSL context that requires a certificate chaining to
    httpx's default authorities (certifi, or ``SSL_CERT_FILE``/``SSL_CERT_DIR``) or to
    ``ca_bundle`` (a PEM file) and checks the host name (``CERT_REQUIRED``,
    ``check_hostname``); ``False`` only when the config says ``verify_tls = false`` for that
    host (which warns on every run, :func:`core.config.connection_warnings`). Raises
    :class:`OSError`/``ssl.SSLError`` for a ``ca_bundle`` that cannot be read."""
    if not verify_tls:
        return False
    if ca_bundle:
        return _required(ssl.create_default_context(cafile=ca_bundle))
    return _default_context()


def _required(context: ssl.SSLContext) -> ssl.SSLContext:
    context.verify_mode = ssl.CERT_REQUIRED
    context.check_hostname = True
    return context


@functools.cache
def _default_context() -> ssl.SSLContext:
    """httpx's default context, built once per process (loading the authorities takes a
    noticeable fraction of a second; both clients share it)."""
    return _required(httpx.create_ssl_context())


def _origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url`` (no path or query: they may be long)."""
    parsed = httpx.URL(url)
    port = f":{parsed.port}" if parsed.port else ""
    host = f"[{parsed.host}]" if ":" in parsed.host else parsed.host  # IPv6 (RFC 3986 §3.2.2)
    return f"{parsed.scheme}://{host}{port}"


def _is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) is this machine: ``localhost`` or a loopback
    address (127.0.0.0/8, ``::1``)."""
    if host.lower().rstrip(".") in ("localhost", "localhost.localdomain") or host.lower().endswith(
        ".localhost"
    ):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and every exception behind it (``__cause__``, ``__context__``, groups)."""
    todo, seen = [exc], set()
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo += [e for e in (current.__cause__, current.__context__) if e is not None]
        if isinstance(current, BaseExceptionGroup):
            todo += list(current.exceptions)


def final_connect_failure(side: str, url: str, exc: BaseException) -> ServerUnreachable | None:
    """The :class:`ServerUnreachable` for a connect failure no retry can change, else None.

    Final (see the module docstring, step 3): the host name does not exist
    (``socket.gaierror`` ``EAI_NONAME``), or a loopback address refused the connection
    (``ConnectionRefusedError``). Everything else (a remote host refusing, ``EAI_AGAIN``,
    timeouts) is transient and left to the retries. The message names the URL, never a secret.
    """
    parsed = httpx.URL(url)
    host = parsed.host
    origin = _origin(url)
    for cause in _causes(exc):
        if isinstance(cause, socket.gaierror) and cause.errno == socket.EAI_NONAME:
            return ServerUnreachable(
                f"cannot reach {side} at {origin}: the host name {host!r} does not exist (DNS)",
                hint=f"check the spelling of the host in [{side}] url",
                side=side,
            )
        if isinstance(cause, ConnectionRefusedError) and _is_loopback(host):
            port = parsed.port or (443 if parsed.scheme == "https" else 80)
            return ServerUnreachable(
                f"cannot reach {side} at {origin}: connection refused (nothing listens on port "
                f"{port} of this machine)",
                hint=f"start the server on port {port}, or fix the port in [{side}] url",
                side=side,
            )
    return None


def redirect_error(side: str, endpoint: str, response: httpx.Response) -> WrongServer:
    """The error for a 3xx answer (redirects are never followed, module docstring step 4).

    http -> https on the same host: "use https://host" in ``[side] url``; any other target: set
    the URL to where the server points.
    """
    request_url = response.request.url
    location = response.headers.get("location", "")
    target = request_url.join(location) if location else None
    status = response.status_code
    if (
        target is not None
        and request_url.scheme == "http"
        and target.scheme == "https"
        and (target.host == request_url.host)
    ):
        secure = _origin(str(target))
        return WrongServer(
            side,
            endpoint,
            status,
            f"{_origin(str(request_url))} redirects to {secure}",
            hint=f"use {secure} in [{side}] url (https://...): railfiesta does not follow "
            "redirects, which would drop the login and the request body",
        )
    where = _origin(str(target)) + target.path if target is not None else "another address"
    return WrongServer(
        side,
        endpoint,
        status,
        f"{_origin(str(request_url))} redirects to {where}",
        hint=f"set [{side}] url to {URL_EXAMPLES.get(side, 'the API address')}: railfiesta "
        "does not follow redirects, which would drop the login and the request body",
    )


def _retry_after_seconds(response: httpx.Response) -> float:
    """Seconds to wait after a 429/409, at most :data:`MAX_RETRY_AFTER`: ``Retry-After``
    (RFC 9110 §10.2.3; delay-seconds, or an HTTP date counted from the answer's own ``Date``
    header when it has one, so a skewed local clock does not matter), else the number in
    TestRail's body text ("Retry after 6 seconds"), else :data:`DEFAULT_RATE_LIMIT_WAIT`.
    The header wins over the body when both are given."""
    header = response.headers.get("Retry-After")
    if header:
        try:
            return min(MAX_RETRY_AFTER, max(0.0, float(header)))
        except ValueError:
            with contextlib.suppress(TypeError, ValueError):
                when = parsedate_to_datetime(header).timestamp()
                now = time.time()
                with contextlib.suppress(TypeError, ValueError):
                    now = parsedate_to_datetime(response.headers.get("Date", "")).timestamp()
                return min(MAX_RETRY_AFTER, max(0.0, when - now))
    match = _RETRY_AFTER_TEXT.search(response.text or "")
    if match:
        return min(MAX_RETRY_AFTER, float(match.group(1)))
    return DEFAULT_RATE_LIMIT_WAIT


#: What a masked secret reads as in messages.
REDACTED = "[redacted]"
_TOKEN_SHAPE = re.compile(r"testfiesta_[A-Za-z0-9._~+/=-]{8,}")
_AUTH_LINE = re.compile(
    r"(authorization[\"']?\s*[:=]\s*[\"']?)(?:(?:basic|bearer|token)\s+)?[^\s\"',;}]+",
    re.IGNORECASE,
)


def _secrets_in(request: httpx.Request | None) -> list[str]:
    """The secrets ``request`` carries, longest first: its whole ``Authorization`` value, the
    credential after the scheme and, for HTTP Basic, the decoded ``user:key`` and the key."""
    value = request.headers.get("authorization", "") if request is not None else ""
    found = [value] if value else []
    scheme, _, credential = value.partition(" ")
    if credential:
        found.append(credential)
        if scheme.lower() == "basic":
            with contextlib.suppress(ValueError):
                decoded = base64.b64decode(credential, validate=True).decode("utf-8")
                found.append(decoded)
                key = decoded.partition(":")[2]
                if len(key) >= 4:
                    found.append(key)
    return sorted(set(found), key=len, reverse=True)


def redact(text: str, request: httpx.Request | None = None) -> str:
    """``text`` with every secret masked as :data:`REDACTED`: those ``request`` carries (see
    :func:`_secrets_in`), anything shaped like a TestFiesta token (``testfiesta_...``) and the
    value of an echoed ``Authorization`` header. Every message built from what a server or
    the network said goes through here (a misconfigured proxy may echo the request back)."""
    for secret in _secrets_in(request):
        text = text.replace(secret, REDACTED)
    text = _TOKEN_SHAPE.sub(REDACTED, text)
    return _AUTH_LINE.sub(lambda m: m.group(1) + REDACTED, text)


def server_message(response: httpx.Response) -> str:
    """The server's own error text: TestRail's ``error``, TestFiesta's ``message`` (its
    ``error`` is the reason phrase), else the body (cut to 300 characters; HTML pages such as a
    413 from the web server are summarised), with secrets masked (:func:`redact`)."""
    request = response._request  # None for a response built without one (tests)
    # masked before it is cut, so no tail of a secret survives the cut
    return redact(_server_text(response), request)[:300]


def _server_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        if text.startswith("<"):
            return f"non-JSON {response.headers.get('content-type', 'text/html')} page"
        return text or response.reason_phrase
    if isinstance(body, dict):
        # NestJS (TestFiesta v1): "error" is only the reason phrase, "message" says what
        keys = ("message", "error") if "statusCode" in body else ("error", "message")
        for key in keys:
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
            if isinstance(value, list) and value:
                return "; ".join(str(v) for v in value)
    return json.dumps(body)


def not_the_api(side: str) -> str:
    """ "this is not a TestRail API" (or the TestFiesta one): said when an answer cannot come
    from the API the URL must point at (an HTML page, another JSON API)."""
    return f"this is not {API_NAMES.get(side, 'the expected API')}"


def _is_html(response: httpx.Response, raw: bytes) -> bool:
    ctype = response.headers.get("content-type", "").lower()
    head = raw.lstrip()[:15].lower()
    return "text/html" in ctype or head.startswith((b"<!doctype html", b"<html"))


def _cut_short(text: str, error: ValueError) -> bool:
    """Whether ``text`` is the start of a JSON object or array that ended early: the parser
    ran out of input (an unterminated string, or the error at the very end), as a truncated
    answer does. Any other body is not JSON at all."""
    if not text.lstrip().startswith(("{", "[")) or not isinstance(error, json.JSONDecodeError):
        return False
    return error.msg.startswith("Unterminated string") or error.pos >= len(text.rstrip())


#: Bodies longer than this (bytes) are decoded in a worker thread, not on the event loop: a
#: page of 250 TestRail cases is ~2.5 ms of JSON, which the console's loop need not spend
DECODE_IN_THREAD = 64 * 1024


def decode_json(response: httpx.Response, side: str, endpoint: str) -> Any:
    """The JSON body of a successful answer; ``None`` for an empty body (TestRail's deletes).

    Strips the ``USER AUTHENTICATION SUCCESSFUL!`` prefix old TestRail servers send
    (testrail-api.md §1.4). Raises :class:`UnexpectedResponse` for a body that is not UTF-8
    (RFC 8259 §8.1: JSON between systems is UTF-8; the message names the byte and its offset)
    or not JSON: JSON cut short (a truncated answer: worth another read), an HTML page (a
    login page of a single sign-on proxy, most often) and any other body ("this is not a
    TestRail API") each say so.
    """
    raw = response.content
    if raw.startswith(_LEGACY_PREFIX):
        raw = raw[len(_LEGACY_PREFIX) :].lstrip()
    if not raw.strip():
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.end >= len(raw) and exc.reason == "unexpected end of data":
            # A body cut short inside a character: a truncated answer, worth another read.
            raise UnexpectedResponse(
                f"{side} {endpoint} answered HTTP {response.status_code} with a body cut short "
                f"after {len(raw)} bytes",
                hint="the connection or a proxy cut the answer: run again",
            ) from None
        raise UnexpectedResponse(
            f"{side} {endpoint} answered bytes that are not UTF-8 (byte 0x{raw[exc.start]:02x} "
            f"at offset {exc.start})",
            hint=f"the {side} API answers UTF-8 JSON: check that [{side}] url is "
            f"{URL_EXAMPLES.get(side, 'the API')}; if it is, the stored text has a broken "
            "encoding: fix that record on the server",
            lasting=True,
        ) from None
    try:
        return json.loads(text)
    except ValueError as exc:
        if _is_html(response, raw):
            raise UnexpectedResponse(
                f"{side} {endpoint} got an HTML page instead of JSON (HTTP "
                f"{response.status_code}): a login page? {not_the_api(side)}",
                hint=f"set [{side}] url to {URL_EXAMPLES.get(side, 'the API address')}: it "
                "must reach the API itself, not a single sign-on or proxy page",
            ) from exc
        if _cut_short(text, exc):
            raise UnexpectedResponse(
                f"{side} {endpoint} answered HTTP {response.status_code} with JSON cut short "
                f"after {len(raw)} bytes",
                hint="the connection or a proxy cut the answer: run again",
            ) from exc
        snippet = redact(text[:2000], response._request)[:80]
        raise UnexpectedResponse(
            f"{side} {endpoint} answered HTTP {response.status_code} with a body that is not "
            f"JSON: {snippet!r}: {not_the_api(side)}",
            hint=f"set [{side}] url to {URL_EXAMPLES.get(side, 'the API address')}",
        ) from exc


class ApiSession:
    """One server's connection: an ``httpx.AsyncClient`` plus pacing, retries and counters.

    ``side`` names the server in errors and stats (``"testrail"``, ``"testfiesta"``).
    ``client`` is injected so tests can pass ``httpx.ASGITransport``/``MockTransport``.
    ``classify`` maps an error response to an exception (each side knows its error dialect).
    ``on_event`` receives :class:`RateLimitWait` events for the monitor.
    ``maintenance_409``: a 409 is TestRail Cloud's "down for maintenance" and is retried like
    a 429; False (TestFiesta) makes it the conflict it is there, raised at once.
    ``wait_initial``/``wait_max``: the backoff's first and longest wait (seconds).
    """

    def __init__(
        self,
        side: str,
        client: httpx.AsyncClient,
        *,
        requests_per_minute: int | None,
        classify: Callable[[str, str, httpx.Response], ApiError],
        attempts: int = 6,
        wait_max: float = 30.0,
        on_event: Callable[[object], None] | None = None,
        maintenance_409: bool = False,
        wait_initial: float = 0.5,
    ) -> None:
        self.side = side
        self.client = client
        self.pacer = Pacer(requests_per_minute)
        self.stats = RequestStats()
        #: the server's clock (UNIX seconds) at its last answer with a ``Date`` header, or
        #: None; change cursors are anchored to it, so our clock's skew does not matter
        self.server_time: float | None = None
        self.classify = classify
        self.attempts = attempts
        self.wait_max = wait_max
        self.wait_initial = wait_initial
        self.on_event = on_event
        self.maintenance_409 = maintenance_409
        #: True once this server answered JSON: from then on the URL is known to be the API,
        #: so an HTML page is a passing proxy hiccup (retried), not a wrong address
        self.answered_json = False

    async def aclose(self) -> None:
        """Close the underlying httpx client."""
        await self.client.aclose()

    def _note_server_time(self, response: httpx.Response) -> None:
        """Remember the server's clock from the answer's ``Date`` header (RFC 9110 §6.6.1)."""
        date = response.headers.get("date")
        if not date:
            return
        try:
            self.server_time = parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError):
            return

    async def send(
        self,
        method: str,
        url: str,
        *,
        endpoint: str,
        json_body: Any = None,
        files: Any = None,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
        anonymous: bool = False,
    ) -> httpx.Response:
        """Send one request with pacing and retries; return the successful (2xx) response.

        ``endpoint`` is the label for stats and errors (``get_cases``, ``POST /cases``).
        ``content`` is a raw body (bytes); ``anonymous`` sends the request without the
        session's ``Authorization`` header (a pre-signed storage URL, which must never see
        the API key).
        Raises :class:`AuthenticationFailed` (401), :class:`AccessDenied` (403),
        :class:`NotFound`, :class:`WrongServer` (a 3xx redirect, never followed),
        :class:`RateLimited` (429/409 after every retry), another :class:`ApiError` for other
        statuses, or :class:`ServerUnreachable` ("cannot reach ..." at once for a refused
        loopback port or an unknown host name; after the retries otherwise).
        """
        response, _ = await self._send(
            method, url, endpoint, json_body, files, headers, False, content, anonymous
        )
        return response

    async def send_json(
        self,
        method: str,
        url: str,
        *,
        endpoint: str,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """:meth:`send`, then the decoded JSON body (:func:`decode_json`; None for an empty
        one). A read whose 2xx body is not JSON (cut short, an HTML login page) is retried
        like a 5xx, then raises :class:`UnexpectedResponse` naming the side and endpoint; a
        write's is raised at once (the write may have landed: never re-sent), and so are bytes
        that are not UTF-8 inside the body and an HTML page before this server ever answered
        JSON (the URL points at a web page, not the API: no wait will change that)."""
        _, body = await self._send(method, url, endpoint, json_body, None, headers, True)
        return body

    async def _send(
        self,
        method: str,
        url: str,
        endpoint: str,
        json_body: Any,
        files: Any,
        headers: dict[str, str] | None,
        decode: bool,
        content: bytes | None = None,
        anonymous: bool = False,
    ) -> tuple[httpx.Response, Any]:
        is_read = method.upper() == "GET"
        first = True
        try:
            async for attempt in stamina.retry_context(
                on=_backoff_hook,
                attempts=self.attempts,
                timeout=None,
                wait_initial=self.wait_initial,
                wait_max=self.wait_max,
            ):
                with attempt:
                    if not first:
                        self.stats.retries += 1
                    first = False
                    response = await self._attempt(
                        method,
                        url,
                        endpoint,
                        is_read,
                        json_body,
                        files,
                        headers,
                        content,
                        anonymous,
                    )
                    if not decode:
                        return response, None
                    try:
                        if len(response.content) > DECODE_IN_THREAD:
                            body = await asyncio.to_thread(
                                decode_json, response, self.side, endpoint
                            )
                        else:
                            body = decode_json(response, self.side, endpoint)
                    except UnexpectedResponse as error:
                        self.stats.errors += 1
                        if (
                            not is_read
                            or error.lasting
                            or (not self.answered_json and _is_html(response, response.content))
                        ):
                            raise
                        self._tell(Retrying(self.side, endpoint, "a body that is not JSON"))
                        raise _Retry(error) from error
                    self.answered_json = True
                    return response, body
        except _Retry as exhausted:
            raise exhausted.error from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _attempt(
        self,
        method: str,
        url: str,
        endpoint: str,
        is_read: bool,
        json_body: Any,
        files: Any,
        headers: dict[str, str] | None,
        content: bytes | None = None,
        anonymous: bool = False,
    ) -> httpx.Response:
        self.stats.paced_seconds += await self.pacer.wait()
        self.stats.record(endpoint, time.monotonic())
        try:
            if content is None and not anonymous:
                response = await self.client.request(
                    method, url, json=json_body, files=files, headers=headers
                )
            else:
                request = self.client.build_request(
                    method, url, json=json_body, files=files, headers=headers, content=content
                )
                if anonymous:
                    request.headers.pop("Authorization", None)
                response = await self.client.send(request)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # Never reached the server: safe to retry reads and writes alike, except a
            # certificate the client refuses, which no retry will change.
            self.stats.errors += 1
            if "CERTIFICATE_VERIFY_FAILED" in str(exc):
                raise ServerUnreachable(
                    f"{self.side} {endpoint}: the TLS certificate of {_origin(url)} is not trusted",
                    hint=f"for a private certificate authority set ca_bundle in [{self.side}] "
                    "to its PEM file (verify_tls = false stops the check for that host, and "
                    "warns on every run)",
                    side=self.side,
                ) from exc
            final = final_connect_failure(self.side, url, exc)
            if final is not None:
                raise final from exc
            self._tell(Retrying(self.side, endpoint, f"{type(exc).__name__} to {_origin(url)}"))
            raise _Retry(self._unreachable(endpoint, url, exc)) from exc
        except httpx.TransportError as exc:
            # Timeouts and dropped connections after sending: the write may have landed.
            self.stats.errors += 1
            if is_read:
                self._tell(
                    Retrying(self.side, endpoint, f"{type(exc).__name__} from {_origin(url)}")
                )
                raise _Retry(self._unreachable(endpoint, url, exc)) from exc
            raise self._unreachable(endpoint, url, exc, lost=True) from exc
        self._note_server_time(response)
        status = response.status_code
        if 300 <= status < 400:
            self.stats.errors += 1
            raise redirect_error(self.side, endpoint, response)
        if status < 400:
            return response
        self.stats.errors += 1
        if status == 429 or (status == 409 and self.maintenance_409):
            self.stats.rate_limited += 1
            if status == 409:  # only where it means maintenance (above)
                self.stats.maintenance_waits += 1
            wait = _retry_after_seconds(response)
            self.stats.rate_limit_wait_seconds += wait
            self._tell(RateLimitWait(self.side, endpoint, wait, status))
            raise _Retry(self._rate_limited(endpoint, response), backoff=wait)
        api_error = self.classify(self.side, endpoint, response)
        if status >= 500 and is_read:
            self._tell(Retrying(self.side, endpoint, f"HTTP {status}"))
            raise _Retry(api_error)
        raise api_error

    def _tell(self, event: object) -> None:
        if self.on_event is not None:
            self.on_event(event)

    def _unreachable(
        self, endpoint: str, url: str, exc: Exception, *, lost: bool = False
    ) -> ServerUnreachable:
        request = exc._request if isinstance(exc, httpx.RequestError) else None
        detail = redact(str(exc).strip(), request)
        return (AnswerLost if lost else ServerUnreachable)(
            f"{self.side} {endpoint}: {type(exc).__name__} talking to {_origin(url)}"
            + (f" ({detail})" if detail else ""),
            hint=f"check the {self.side} url in the config, the network, and that the server is up",
            side=self.side,
        )

    def _rate_limited(self, endpoint: str, response: httpx.Response) -> RateLimited:
        return RateLimited(
            self.side,
            endpoint,
            response.status_code,
            server_message(response),
            hint="lower requests_per_minute in the config, or wait and run again",
        )


def classify_status(
    side: str, endpoint: str, response: httpx.Response, *, not_found: bool = False
) -> ApiError:
    """Map an error response to the :mod:`core.errors` class for its status.

    ``not_found`` marks a 400 that the caller's dialect knows to mean "no such record" (TestRail).
    """
    message = server_message(response)
    status = response.status_code
    if status == 401:
        return AuthenticationFailed(
            side,
            endpoint,
            status,
            message,
            hint=f"check the {side} user and API key/token named in the config",
        )
    if status == 403:
        return AccessDenied(side, endpoint, status, message)
    if status == 404 or not_found:
        return NotFound(side, endpoint, status, message)
    return ApiError(side, endpoint, status, message)
