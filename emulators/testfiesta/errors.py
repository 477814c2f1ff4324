"""The one exception the TestFiesta emulator raises to answer a request with an error.

The real service documents no error schema (testfiesta-api.md §1.4). The v1 API of this emulator
answers every error in the NestJS shape ``{"statusCode": N, "message": "...", "error": "<reason>"}``
[INF]; the shim answers ``{"error": "..."}`` (TestRail's own shape). ``message`` always names
the problem: the field, the id, or the key that was wrong.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any


class ApiError(Exception):
    """An HTTP error answer: ``status`` (int HTTP code) and ``message`` (human-readable text).

    ``headers`` are extra response headers (for example ``Retry-After`` on a 429).
    """

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}

    def v1_body(self) -> dict[str, Any]:
        """The NestJS-style body of the v1 API [INF]: ``{statusCode, message, error}``."""
        return {"statusCode": self.status, "message": self.message, "error": reason(self.status)}

    def shim_body(self) -> dict[str, Any]:
        """The TestRail-style body of the shim: ``{"error": message}``."""
        return {"error": self.message}


#: Reason phrases where NestJS's ``HttpStatus`` names differ from Python's: 413 is
#: ``PAYLOAD_TOO_LARGE`` there, "Request Entity Too Large" in Python 3.11 [INF: NestJS].
NEST_REASONS = {413: "Payload Too Large"}


def reason(status: int) -> str:
    """The reason phrase of an HTTP status as NestJS words it, e.g. 404 -> ``"Not Found"``,
    413 -> ``"Payload Too Large"``."""
    if status in NEST_REASONS:
        return NEST_REASONS[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def bad_request(message: str) -> ApiError:
    """A 400 answer naming the invalid input."""
    return ApiError(400, message)


def not_found(message: str) -> ApiError:
    """A 404 answer naming what was not found."""
    return ApiError(404, message)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(raw: bytes) -> Any:
    """Decode a request body as strict JSON: ``NaN``/``Infinity`` and invalid UTF-8 are
    refused (they could not be answered back as JSON). Raises a 400 on any problem."""
    try:
        return json.loads(raw, parse_constant=_no_constant)
    except ValueError as error:
        raise bad_request(f"the request body is not valid JSON ({error})") from None
