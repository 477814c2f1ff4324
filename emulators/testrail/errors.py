"""The error type of the emulator: an HTTP status plus TestRail's ``{"error": ...}`` text.

TestRail API v2 answers every failure with a JSON object holding a single ``error`` string
(testrail-api.md §1.4). Missing or inaccessible entities are **400**, not 404; 404 is kept for
unknown methods and wrong verbs.
"""

from __future__ import annotations


class ApiError(Exception):
    """A TestRail error response: ``status`` (HTTP code), ``message`` (the ``error`` text),
    extra ``headers``.

    Raised by the store operations and the endpoint handlers; the ASGI app turns it into
    ``{"error": message}`` with ``status``.
    """

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def bad_request(message: str) -> ApiError:
    """A 400 with ``message`` verbatim."""
    return ApiError(400, message)


def required(field: str) -> ApiError:
    """400 ``Field :<field> is a required field.`` (testrail-api.md §1.4, verbatim form)."""
    return ApiError(400, f"Field :{field} is a required field.")


def invalid(field: str, what: str) -> ApiError:
    """400 ``Field :<field> is not a valid <what>.``, TestRail's text for a missing/unknown entity.

    ``what`` is e.g. ``"test case"``, ``"section"``, ``"test suite"`` (§1.4, §12 item 4).
    """
    return ApiError(400, f"Field :{field} is not a valid {what}.")
