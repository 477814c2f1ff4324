"""The errors railfiesta raises. Each names the thing that went wrong and how to fix it.

Tree::

    RailfiestaError              base; ``str()`` is one line for the user, ``hint`` the fix
     ├─ ConfigError              the TOML config is missing, malformed or inconsistent
     ├─ SecretMissing            an API key / token is not in the environment or the keyring
     ├─ ApiError                 a server answered with an error status (side, method, status)
     │   ├─ AuthenticationFailed 401: wrong user, API key or token
     │   ├─ AccessDenied         403: API disabled, or not allowed
     │   ├─ NotFound             TestRail 400 "not a valid ..." / TestFiesta 404
     │   ├─ WrongServer          not the API: 404 where it must answer, a redirect, a 401 in
     │   │                       another service's dialect ("this is not a TestRail API")
     │   └─ RateLimited          429 or 409 still failing after the retries
     ├─ UnexpectedResponse       a 2xx body that is not the documented shape (malformed JSON too)
     ├─ ServerUnreachable        "cannot reach": unknown host, refused loopback port (at once),
     │                           TLS failure, other connect failures and timeouts after retries
     └─ MappingError             a value has no counterpart on the other side (priority, field ...)

No error message ever contains a secret: the HTTP layer builds messages from the method name and
the status, never from request headers, and masks any secret a server's text echoes back
(:func:`core.http.redact`) before the text is cut to length.
"""

from __future__ import annotations


class RailfiestaError(Exception):
    """Base of every error railfiesta raises on purpose; ``hint`` tells the user the fix."""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigError(RailfiestaError):
    """The config file is missing, is not TOML, or holds an unknown or invalid key.

    ``path`` is the file, ``line`` the 1-based line of the offending key when known.
    """

    def __init__(self, message: str, *, path: str = "", line: int | None = None, hint: str = ""):
        where = f"{path}:{line}: " if path and line else (f"{path}: " if path else "")
        super().__init__(f"{where}{message}", hint=hint)
        self.path = path
        self.line = line


class SecretMissing(RailfiestaError):
    """An API key or token was looked up in the environment and the keyring and not found."""


class ApiError(RailfiestaError):
    """A server answered an API call with an error status.

    ``side`` is ``"testrail"`` or ``"testfiesta"``, ``endpoint`` the API method or path template
    (``get_cases``, ``POST /projects/{key}/cases``), ``status`` the HTTP status, and
    ``server_message`` the server's own error text (TestRail's ``error``, TestFiesta's
    ``message``).
    """

    def __init__(
        self,
        side: str,
        endpoint: str,
        status: int,
        server_message: str,
        *,
        hint: str = "",
    ) -> None:
        super().__init__(
            f"{side} {endpoint} failed with HTTP {status}: {server_message}", hint=hint
        )
        self.side = side
        self.endpoint = endpoint
        self.status = status
        self.server_message = server_message


class AuthenticationFailed(ApiError):
    """HTTP 401: the user/API key (TestRail) or the token (TestFiesta) was refused."""


class AccessDenied(ApiError):
    """HTTP 403: the API is switched off, or the account may not do this."""


class NotFound(ApiError):
    """The record does not exist: TestRail answers 400 "... is not a valid ...", TestFiesta 404."""


class WrongServer(ApiError):
    """The URL does not lead to the API: HTTP 404 where the API must answer (wrong URL, unknown
    TestFiesta handle, a server too old for the method), a 3xx redirect (never followed: it
    would drop the login and the body; the hint names the URL to use), or an answer in another
    service's dialect ("this is not a TestRail API")."""


class RateLimited(ApiError):
    """HTTP 429 (or TestRail Cloud's 409 maintenance) kept coming back after every retry."""


class UnexpectedResponse(RailfiestaError):
    """A successful answer whose body is not the documented shape (or not JSON at all).

    ``lasting``: asking again cannot help (bytes that are not UTF-8 in the middle of a body:
    the stored text is broken), so a read is not retried.
    """

    def __init__(self, message: str, *, hint: str = "", lasting: bool = False) -> None:
        super().__init__(message, hint=hint)
        self.lasting = lasting


class ServerUnreachable(RailfiestaError):
    """The server could not be reached: an unknown host name or a refused loopback port (at
    once: no retry changes them), a refused TLS certificate, or other connect failures and
    timeouts after the retries (see :mod:`core.http`). ``side`` is the server's
    (``"testrail"`` or ``"testfiesta"``; "" when not known)."""

    def __init__(self, message: str, *, hint: str = "", side: str = "") -> None:
        super().__init__(message, hint=hint)
        self.side = side


class AnswerLost(ServerUnreachable):
    """A write reached the server but its answer never came back (a timeout while waiting, a
    connection reset mid-answer): it may or may not have landed. Never re-sent blindly; the
    sync engine looks the record up at once and goes on with the other writes, instead of
    stopping as it does when the server cannot be reached at all."""


class MappingError(RailfiestaError):
    """A TestRail value has no TestFiesta counterpart (or back) under the current mapping."""


def refusal(error: BaseException) -> tuple[str, str] | None:
    """How a server's refusal of our login reads, or None when ``error`` is none (a server
    down, a wrong URL ...): ``(short, phrase)``, the short state for a header cell ("key
    refused", "access denied": a few cells, for 80 columns) and the phrase that follows the
    server's name in a sentence ("refused the API key"). The full reason and its fix are the
    error's own ``message`` and ``hint`` (no secret in either)."""
    if isinstance(error, AuthenticationFailed):
        return "key refused", "refused the API key"
    if isinstance(error, AccessDenied):
        return "access denied", "denied API access"
    return None


def failed_side(error: BaseException) -> str | None:
    """The server an error is about (``"testrail"`` or ``"testfiesta"``): an API error's or
    an unreachable server's; None for any other error (a config, a secret, a mapping)."""
    if isinstance(error, ApiError | ServerUnreachable) and error.side:
        return error.side
    return None


def transient(error: RailfiestaError) -> bool:
    """Whether a watch should try again at its next poll after ``error`` instead of ending:
    a server out of reach, rate limits that outlasted the retries, or a 5xx answer."""
    if isinstance(error, ServerUnreachable | RateLimited):
        return True
    return isinstance(error, ApiError) and not isinstance(error, NotFound) and error.status >= 500
