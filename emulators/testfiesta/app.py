"""The TestFiesta emulator as one Starlette ASGI app: v1 + the TRV2 shim behind a gate.

Every request passes the gate in this order (each step optional except auth):

1. **Rate limit** (``requests_per_minute``): a sliding 60-second window over all requests
   that got past it; one more answers 429 with ``Retry-After`` (whole seconds until a slot
   frees). TestFiesta documents no limit (DESIGN §12.5), so it is off unless set [INF].
2. **Latency** (``latency`` seconds): sleep before answering.
3. **Faults** (:mod:`emulators.faults`, in front of everything, the contract check
   included: a fault is what the network or a proxy does): ``fault_rate`` in [0, 1] with
   ``fault_seed`` draws a fault for that share of requests from ``faults`` (kinds; default
   every kind TestFiesta can produce: 429 with ``Retry-After`` in seconds or as an HTTP
   date, 500/502/503 before the handler (nothing written), 5xx after it (the write landed,
   its answer lost), slow answers before/after, a connection reset mid-body, truncated JSON,
   an HTML login page with status 200, and rows shifted by one between two pages of a
   ``limit``/``offset`` list). Not TestRail's 409 maintenance: TestFiesta documents none, and
   its 409 means a conflict (a taken key or name); nor the legacy TestRail text prefix.
   ``app.state.faults`` (:class:`emulators.faults.FaultSwitches`) switches them live.
4. **Body limit** (``max_body_bytes``, v1 only; default :data:`DEFAULT_MAX_BODY_BYTES` =
   100 KB, None = off): a larger request body answers 413 ``{"statusCode": 413, "message":
   "request entity too large", "error": "Payload Too Large"}`` before anything reads it.
   [INF] TestFiesta documents no limit; the v1 server is NestJS (its DTO naming and, as far as
   the emulator infers, its error shape), whose Express body-parser refuses JSON bodies over
   its default ``limit: '100kb'`` (102 400 bytes) with that status and message. It runs before
   NestJS guards, hence before auth here. The shim gets no limit (nothing suggests one).
5. **Auth**: ``Authorization: Bearer <token>`` must equal the configured key, else 401
   (missing header, another scheme, or a wrong key; the message says which, never the key).
   Not for the emulated object storage of the signed-URL upload (``/storage/...``,
   :mod:`emulators.testfiesta.uploads`), whose URLs carry their own signature.

In test mode (environment variable ``RAILFIESTA_CONTRACT_SPECS`` = a directory holding the
published specs) a contract check sits in front of all of this: every request and answer is
validated against the specs and violations are recorded for the test run to fail on
(:mod:`emulators.testfiesta.contract`; openapi-core is imported only then).

Error bodies: v1 answers ``{"statusCode", "message", "error"}`` (NestJS [INF]); the shim
answers ``{"error": "..."}``. Paths outside ``/v1/{handle}/...`` and
``/trv2/{handle}/index.php`` answer 404.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import math
import os
import time
from collections import deque
from collections.abc import Callable, Iterable
from datetime import UTC

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from emulators.dates import DateHeader
from emulators.faults import KINDS, FaultInjector, FaultSwitches
from emulators.testfiesta.errors import ApiError
from emulators.testfiesta.shim import ShimApi
from emulators.testfiesta.state import TestFiestaState
from emulators.testfiesta.uploads import STORAGE_PREFIX, UploadApi
from emulators.testfiesta.v1 import V1Api

#: The fault kinds (:data:`emulators.faults.KINDS`) TestFiesta can produce (module docstring).
SUPPORTED_FAULTS = frozenset(KINDS) - {"409", "prefix"}

#: Express body-parser's default JSON ``limit`` ('100kb' = 100 * 1024 bytes), see step 4 [INF].
DEFAULT_MAX_BODY_BYTES = 100 * 1024
TOO_LARGE = "request entity too large"  # body-parser's message for its 413


def _is_shim(path: str) -> bool:
    return path.startswith("/trv2/")


def _error_bytes(path: str, status: int, message: str) -> bytes:
    """An error body in the dialect of ``path`` (v1 or shim), for injected faults."""
    error = ApiError(status, message)
    return json.dumps(error.shim_body() if _is_shim(path) else error.v1_body()).encode()


def _error_response(path: str, error: ApiError) -> JSONResponse:
    body = error.shim_body() if _is_shim(path) else error.v1_body()
    return JSONResponse(body, status_code=error.status, headers=error.headers)


class _Gate:
    """Pure ASGI middleware: rate limit, latency, body limit and auth (see the module
    docstring)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        token: str,
        requests_per_minute: int | None,
        latency: float,
        monotonic: Callable[[], float],
        max_body_bytes: int | None = None,
    ) -> None:
        self.app = app
        self.token = token
        self.rpm = requests_per_minute
        self.latency = latency
        self.max_body_bytes = max_body_bytes
        self.monotonic = monotonic
        self.window: deque[float] = deque()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            await self._admit(scope)
            receive = await self._limit_body(scope, receive)
            self._authenticate(scope)
        except ApiError as error:
            await _error_response(scope["path"], error)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _limit_body(self, scope: Scope, receive: Receive) -> Receive:
        """Step 4: 413 for a v1 body over ``max_body_bytes`` (by its Content-Length, else by
        reading it); returns a ``receive`` that replays what was read."""
        limit = self.max_body_bytes
        if limit is None or not scope["path"].startswith("/v1/"):
            return receive
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                raise ApiError(413, TOO_LARGE)
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > limit:
                raise ApiError(413, TOO_LARGE)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay

    async def _admit(self, scope: Scope) -> None:
        if self.rpm is not None:
            now = self.monotonic()
            while self.window and now - self.window[0] >= 60.0:
                self.window.popleft()
            if len(self.window) >= self.rpm:
                wait = max(1, math.ceil(60.0 - (now - self.window[0])))
                raise ApiError(
                    429,
                    f"rate limit of {self.rpm} requests per minute exceeded; retry in {wait} s",
                    {"Retry-After": str(wait)},
                )
            self.window.append(now)
        if self.latency > 0:
            await asyncio.sleep(self.latency)

    def _authenticate(self, scope: Scope) -> None:
        if scope["path"].startswith(STORAGE_PREFIX):
            return  # object storage: the URL's signature is the credential (uploads.py)
        header = ""
        for name, value in scope["headers"]:
            if name == b"authorization":
                header = value.decode("latin-1")
                break
        if not header:
            raise ApiError(401, "missing Authorization header: send 'Bearer <api key>'")
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise ApiError(401, "the Authorization header must be 'Bearer <api key>'")
        if not hmac.compare_digest(key.strip().encode(), self.token.encode()):
            raise ApiError(401, "invalid API key")


async def _on_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return _error_response(request.url.path, exc)


async def _on_http_error(request: Request, exc: Exception) -> Response:
    """Router misses (404, and 405 for a known path with another method) answer 404 like
    NestJS: ``Cannot <METHOD> <path>`` [INF]."""
    assert isinstance(exc, HTTPException)
    status = 404 if exc.status_code in (404, 405) else exc.status_code
    message = f"Cannot {request.method} {request.url.path}"
    return _error_response(request.url.path, ApiError(status, message))


def create_app(
    state: TestFiestaState | None = None,
    *,
    handle: str,
    token: str,
    requests_per_minute: int | None = None,
    latency: float = 0.0,
    fault_rate: float = 0.0,
    fault_seed: int = 0,
    monotonic: Callable[[], float] = time.monotonic,
    max_body_bytes: int | None = DEFAULT_MAX_BODY_BYTES,
    faults: Iterable[str] | None = None,
    slow_seconds: float = 35.0,
    retry_after: int = 1,
) -> Starlette:
    """Build the emulator app for organisation ``handle`` with API key ``token``.

    ``state`` is the organisation's data (a fresh, empty :class:`TestFiestaState` if None);
    it is also reachable as ``app.state.testfiesta``. ``requests_per_minute`` (None = no limit),
    ``latency`` (seconds per request), ``fault_rate`` (share of requests that get a fault drawn
    from ``faults``, None = every supported kind; seeded by ``fault_seed``; ``slow_seconds``
    for slow answers, ``retry_after`` seconds for 429s; module docstring step 3) and
    ``monotonic`` (the rate limiter's clock, seconds) are the fault knobs of DESIGN §9.
    ``max_body_bytes`` is the v1 request-body limit (413 above it; 100 KB by default, None
    disables it; module docstring step 4). Raises ValueError on a bad knob.
    With ``RAILFIESTA_CONTRACT_SPECS`` set, the app also validates its traffic (module
    docstring); FileNotFoundError if the specs are not there.
    """
    if requests_per_minute is not None and requests_per_minute < 1:
        raise ValueError("requests_per_minute must be >= 1 or None")
    if max_body_bytes is not None and max_body_bytes < 1:
        raise ValueError("max_body_bytes must be >= 1 or None")
    if not 0.0 <= fault_rate <= 1.0:
        raise ValueError("fault_rate must be within [0, 1]")
    enabled = frozenset(faults) if faults is not None else None
    if enabled is not None and not enabled <= SUPPORTED_FAULTS:
        raise ValueError(
            f"the TestFiesta emulator cannot inject {sorted(enabled - SUPPORTED_FAULTS)}; "
            f"it can: {', '.join(k for k in KINDS if k in SUPPORTED_FAULTS)}"
        )
    switches = FaultSwitches(
        rate=fault_rate,
        enabled=enabled,
        seed=fault_seed,
        slow_seconds=slow_seconds,
        retry_after=retry_after,
    )
    if latency < 0:
        raise ValueError("latency must be >= 0 seconds")
    state = state if state is not None else TestFiestaState()
    v1 = V1Api(state, handle)
    shim = ShimApi(state, handle)
    uploads = UploadApi(state, handle, secret=token)
    routes = [
        *v1.routes(),
        *uploads.routes(),
        Route("/trv2/{handle}/index.php", shim.endpoint, methods=["GET", "POST"]),
    ]
    middleware = [
        Middleware(
            _Gate,
            token=token,
            requests_per_minute=requests_per_minute,
            latency=latency,
            monotonic=monotonic,
            max_body_bytes=max_body_bytes,
        )
    ]
    specs = os.environ.get("RAILFIESTA_CONTRACT_SPECS")
    if specs:
        # Test mode: validate everything, gate answers included (outermost middleware).
        from emulators.testfiesta.contract import ContractValidation, load_checker

        middleware.insert(0, Middleware(ContractValidation, checker=load_checker(specs)))

    def unix_now() -> float:
        now = state.clock()
        return (now if now.tzinfo else now.replace(tzinfo=UTC)).timestamp()

    middleware.append(Middleware(DateHeader, clock=unix_now))
    # outermost: a fault is the network's or a proxy's doing, not the API's
    middleware.insert(
        0,
        Middleware(
            FaultInjector,
            switches=switches,
            supported=SUPPORTED_FAULTS,
            error_body=_error_bytes,
        ),
    )
    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={ApiError: _on_api_error, HTTPException: _on_http_error},
    )
    # /v1/acme/projects/ is not /v1/acme/projects: answer 404, do not redirect [INF].
    app.router.redirect_slashes = False
    app.state.testfiesta = state
    app.state.faults = switches
    return app


def build(handle: str, token: str, rpm: int | None = None) -> Starlette:
    """The app the command line serves (``railfiesta emulate testfiesta --port P --handle H
    --token T``): an empty organisation ``handle`` with key ``token`` and an optional
    requests-per-minute limit ``rpm``."""
    return create_app(handle=handle, token=token, requests_per_minute=rpm)
