"""Fault injection shared by both emulators: the failures real TestRail and TestFiesta
instances (and the proxies in front of them) produce, switchable one by one or drawn at random.

:class:`FaultSwitches` holds the switches (live: change them while the app runs);
:class:`FaultInjector` is the ASGI middleware that applies them, outermost, so a fault is what
the network or a proxy does to an answer the emulator gave (or never gave). Each kind decides
*before* or *after* the emulator handled the request, which matters for writes: a fault
before never writes, a fault after lost the answer of a write that landed.

Kinds (:data:`KINDS`):

- ``429``: 429 with ``Retry-After: <seconds>`` (before; TestRail Cloud §3, the TestFiesta
  emulator's own limit [INF]); ``429-date``: the same with ``Retry-After`` as an HTTP date
  (RFC 9110 §10.2.3).
- ``409``: TestRail Cloud's maintenance answer, 409 with ``Retry-After`` (before; TestRail
  only: for TestFiesta 409 means a conflict, testfiesta-api.md documents no maintenance).
- ``500``, ``502``, ``503``: an error before the handler (nothing written).
- ``5xx-after``: the handler ran (a write landed), then 500/502/503 replaced its answer.
- ``slow``: the answer comes :attr:`FaultSwitches.slow_seconds` late, the wait before the
  handler (in-process a client that gives up cancels it, so nothing is written; over TCP the
  handler may still run after the client left, as a real server's does); ``slow-after``: the
  handler ran, then the wait (a write landed, its answer comes too late).
- ``reset``: the handler ran, the answer's headers and half its body were sent, then the
  connection drops (:class:`ConnectionReset` is raised inside the app; uvicorn closes the
  socket, :class:`WireTransport` turns it into the ``httpx.ReadError`` a TCP client sees).
- ``truncated``: the handler ran; status 200 with the body cut in half (Content-Length fits
  the cut body, as a proxy that truncates sends it).
- ``html``: an SSO proxy's login page, status 200 ``text/html``, instead of the answer
  (before: the request never reached the API).
- ``prefix``: old TestRail's ``USER AUTHENTICATION SUCCESSFUL!`` line before the JSON
  (testrail-api.md §1.4; TestRail only).
- ``page-insert`` / ``page-delete``: a record was inserted / deleted before this page while
  a client paged through a list (only a paged GET with ``offset`` > 0): the page starts one
  row earlier (its first row repeats the last of the previous page) or one row later (a row
  the client never sees); TestFiesta's ``count`` moves by one. The emulator's data does not
  change: the shift is applied where each emulator slices its pages (:func:`page_shift`).

An app answers only the kinds it supports (``supported``); the random mode draws from
:attr:`FaultSwitches.enabled` intersected with those that apply to the request.
"""

from __future__ import annotations

import asyncio
import contextvars
import random
import re
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any

import httpx

Scope = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]

#: Every fault kind, in the order tables list them.
KINDS = (
    "429",
    "429-date",
    "409",
    "500",
    "502",
    "503",
    "5xx-after",
    "slow",
    "slow-after",
    "reset",
    "truncated",
    "html",
    "prefix",
    "page-insert",
    "page-delete",
)
#: Kinds answered without calling the emulator (nothing is written).
BEFORE = frozenset({"429", "429-date", "409", "500", "502", "503", "html"})
#: Kinds applied to the emulator's own answer (a write has landed).
AFTER = frozenset({"5xx-after", "slow-after", "reset", "truncated", "prefix"})
#: Kinds that shift a page (paged GETs with offset > 0 only).
PAGING = frozenset({"page-insert", "page-delete"})
#: Kinds a client must see as "rate limited" (and only these).
RATE_LIMITS = frozenset({"429", "429-date", "409"})

LOGIN_PAGE = (
    b"<!DOCTYPE html><html><head><title>Sign in</title></head><body>"
    b"<h1>Single sign-on</h1><form method='post' action='/sso/login'>"
    b"<input name='username'><input name='password' type='password'>"
    b"<button>Sign in</button></form></body></html>"
)
LEGACY_PREFIX = b"USER AUTHENTICATION SUCCESSFUL!\n"

_OFFSET = re.compile(rb"(?:^|[&?])offset=(\d+)")


class ConnectionReset(ConnectionResetError):
    """Raised inside the app after part of an answer was sent: the connection drops."""


@dataclass
class FaultSwitches:
    """The fault switches of one emulator app (``app.state.faults``); change them any time.

    - ``rate``: share (0..1) of requests that get a fault, drawn from ``enabled`` with
      ``random.Random(seed)`` (the same seed and requests give the same faults).
    - ``enabled``: kinds the random mode draws from (default: every kind the app supports).
    - ``queue``: forced faults, in order; each is applied to the next request it applies to
      (a page shift waits for a paged GET with ``offset`` > 0), whatever ``rate`` says.
    - ``slow_seconds``: how late a ``slow``/``slow-after`` answer comes (set it above the
      client's timeout).
    - ``retry_after``: seconds a ``429``/``429-date``/``409`` asks the client to wait.
    - ``only``: a predicate on ``(method, target)``, the target being the path plus
      ``?<query>`` when there is one (TestRail-style APIs are routed by their query:
      ``/index.php?/api/v2/add_results/1``); requests it refuses get no fault (None: every
      request may get one).
    - ``injected``: what was injected so far, by kind (read it, do not set it).
    """

    rate: float = 0.0
    enabled: frozenset[str] | None = None
    seed: int = 0
    queue: deque[str] = field(default_factory=deque)
    slow_seconds: float = 35.0
    retry_after: int = 1
    only: Callable[[str, str], bool] | None = None
    injected: Counter[str] = field(default_factory=Counter)
    _rng: random.Random | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError("fault rate must be within [0, 1]")
        unknown = set(self.enabled or ()) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; known: {', '.join(KINDS)}")

    @property
    def rng(self) -> random.Random:
        """The seeded generator the draws use."""
        if self._rng is None:
            self._rng = random.Random(self.seed)
        return self._rng

    def push(self, *kinds: str) -> None:
        """Force ``kinds`` on the next requests they apply to (see ``queue``)."""
        for kind in kinds:
            if kind not in KINDS:
                raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(KINDS)}")
            self.queue.append(kind)

    def draw(self, applicable: Iterable[str]) -> str | None:
        """The fault for one request (None for none); ``applicable`` are the kinds this app
        supports that apply to it."""
        usable = set(applicable)
        for index, kind in enumerate(self.queue):
            if kind in usable:
                del self.queue[index]
                return kind
        if self.rate <= 0:
            return None
        pool = sorted(usable & set(self.enabled if self.enabled is not None else KINDS))
        if not pool or self.rng.random() >= self.rate:
            return None
        return self.rng.choice(pool)


@dataclass
class _Shift:
    rows: int
    used: bool = False


_PAGE_SHIFT: contextvars.ContextVar[_Shift | None] = contextvars.ContextVar(
    "page_shift", default=None
)


def page_shift(offset: int) -> int:
    """Rows this page moves by (0, +1 for a row deleted before it, -1 for a row inserted
    before it): the emulators' page slicers call it with the page's ``offset``."""
    shift = _PAGE_SHIFT.get()
    if shift is None or offset <= 0:
        return 0
    shift.used = True
    return shift.rows


def _paged_offset(scope: Scope) -> int:
    match = _OFFSET.search(scope.get("query_string", b""))
    return int(match.group(1)) if match else 0


def _with_length(headers: list[tuple[bytes, bytes]], length: int) -> list[tuple[bytes, bytes]]:
    kept = [(k, v) for k, v in headers if k.lower() != b"content-length"]
    return [*kept, (b"content-length", str(length).encode())]


class FaultInjector:
    """ASGI middleware applying :class:`FaultSwitches` (see the module docstring).

    ``supported``: the kinds this emulator produces. ``error_body(path, status, message)``
    returns the JSON bytes of an error answer in the emulator's dialect.
    """

    def __init__(
        self,
        app: Any,
        *,
        switches: FaultSwitches,
        supported: frozenset[str],
        error_body: Callable[[str, int, str], bytes],
    ) -> None:
        self.app = app
        self.switches = switches
        self.supported = supported
        self.error_body = error_body

    def _applicable(self, scope: Scope) -> set[str]:
        only = self.switches.only
        if only is not None:
            query = scope.get("query_string", b"").decode("latin-1")
            target = f"{scope['path']}?{query}" if query else scope["path"]
            if not only(scope["method"], target):
                return set()
        kinds = set(self.supported)
        if scope["method"] != "GET" or _paged_offset(scope) <= 0:
            kinds -= PAGING
        return kinds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        kind = self.switches.draw(self._applicable(scope))
        if kind is None:
            await self.app(scope, receive, send)
            return
        if kind in PAGING:
            shift = _Shift(-1 if kind == "page-insert" else 1)
            token = _PAGE_SHIFT.set(shift)
            try:
                await self.app(scope, receive, send)
            finally:
                _PAGE_SHIFT.reset(token)
            if shift.used:
                self.switches.injected[kind] += 1
            return
        if kind in BEFORE:
            self.switches.injected[kind] += 1
            await self._before(kind, scope, send)
            return
        if kind == "slow":
            self.switches.injected[kind] += 1
            await asyncio.sleep(self.switches.slow_seconds)
            await self.app(scope, receive, send)
            return
        await self._after(kind, scope, receive, send)

    async def _answer(
        self, send: Send, status: int, body: bytes, ctype: bytes, extra: list[Any]
    ) -> None:
        headers = [(b"content-type", ctype), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers + extra})
        await send({"type": "http.response.body", "body": body})

    async def _before(self, kind: str, scope: Scope, send: Send) -> None:
        json_type = b"application/json; charset=utf-8"
        wait = self.switches.retry_after
        if kind == "html":
            await self._answer(send, 200, LOGIN_PAGE, b"text/html; charset=utf-8", [])
        elif kind in ("429", "429-date"):
            header = (
                str(wait)
                if kind == "429"
                else formatdate(int(time.time()) + wait, usegmt=True)  # whole seconds
            )
            text = f"API Rate Limit Exceeded (emulated fault). Retry after {wait} seconds."
            body = self.error_body(scope["path"], 429, text)
            await self._answer(send, 429, body, json_type, [(b"retry-after", header.encode())])
        elif kind == "409":
            text = "TestRail is currently down for maintenance. Please try again later."
            body = self.error_body(scope["path"], 409, text)
            await self._answer(send, 409, body, json_type, [(b"retry-after", str(wait).encode())])
        else:
            status = int(kind)
            body = self.error_body(scope["path"], status, f"emulated server fault ({status})")
            await self._answer(send, status, body, json_type, [])

    async def _after(self, kind: str, scope: Scope, receive: Receive, send: Send) -> None:
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        status = int(start.get("status", 500))
        headers = list(start.get("headers") or [])
        body = b"".join(chunks)
        if status >= 400:  # only a successful answer can be lost or garbled
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        self.switches.injected[kind] += 1
        if kind == "5xx-after":
            code = self.switches.rng.choice((500, 502, 503))
            error = self.error_body(scope["path"], code, f"emulated server fault ({code})")
            await self._answer(send, code, error, b"application/json; charset=utf-8", [])
            return
        if kind == "slow-after":
            await asyncio.sleep(self.switches.slow_seconds)
        elif kind == "prefix":
            body = LEGACY_PREFIX + body
        elif kind == "truncated":
            body = body[: len(body) // 2]
        elif kind == "reset":
            await send(
                {"type": "http.response.start", "status": status, "headers": headers},
            )
            await send(
                {"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True}
            )
            raise ConnectionReset("emulated fault: connection reset mid-body")
        headers = _with_length(headers, len(body))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class WireTransport(httpx.AsyncBaseTransport):
    """``httpx.ASGITransport`` that fails like a TCP connection would for injected faults:
    an answer slower than the request's read timeout raises ``httpx.ReadTimeout`` (the
    ASGI transport itself ignores timeouts), and :class:`ConnectionReset` raised by the app
    raises ``httpx.ReadError``. Everything else is the ASGI transport's."""

    def __init__(self, app: Any) -> None:
        self.inner = httpx.ASGITransport(app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` to the app in-process (see the class docstring)."""
        timeouts = request.extensions.get("timeout") or {}
        read = timeouts.get("read")
        try:
            if read is None:
                return await self.inner.handle_async_request(request)
            return await asyncio.wait_for(self.inner.handle_async_request(request), read)
        except TimeoutError:
            raise httpx.ReadTimeout("timed out waiting for the answer", request=request) from None
        except ConnectionReset as exc:
            raise httpx.ReadError(str(exc), request=request) from None

    async def aclose(self) -> None:
        """Close the inner transport."""
        await self.inner.aclose()
