"""Paginated list queries of TestFiesta v1 (``PaginatedQuery`` and its per-list extensions).

Every list takes ``limit`` and ``offset`` (both **required** by the spec: missing -> 400),
optional ``q``, ``orderBy`` and ``order`` (``asc``|``desc``), plus the extras a list declares
(``priority``/``tag`` on cases, ``entityType`` on tags, ...). It answers
``{"count": <total matching>, "items": [...], "nextOffset": <number>}`` (PaginatedResult).

Choices the spec leaves open, all [INF]:

- ``nextOffset`` is always ``offset + len(items)``: ``offset + limit`` while more rows exist,
  and at the end ``offset + len(items)``, which equals ``count`` (whenever ``offset <= count``).
  The spec types it as a required, non-nullable number; tacotruck's mocks return ``null`` at the
  end, so a client should stop on ``nextOffset >= count`` or a short page, not on ``null``.
- ``limit`` must be an integer >= 1 and ``offset`` an integer >= 0 (``"10"`` and ``"10.0"``
  pass); there is no maximum page size (none is documented).
- Query parameters the list does not declare answer 400 (the query DTOs are
  ``additionalProperties: false``). Array parameters may be sent as ``name=a&name=b`` or
  ``name[]=a&name[]=b``.
- Rows come in creation (uid) order unless ``orderBy`` names a sortable field of the list;
  an unknown ``orderBy`` is a 400 listing the sortable fields. Ties keep uid order; nulls sort
  last ascending and first descending.
- ``q`` keeps rows whose ``name`` contains it, case-insensitively.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import QueryParams

from emulators.faults import page_shift
from emulators.testfiesta.errors import bad_request

Row = dict[str, Any]

# Extra parameter kinds.
Q_STRING = "string"
Q_NUMBER = "number"
Q_BOOLEAN = "boolean"
Q_STRINGS = "string[]"
Q_NUMBERS = "number[]"

#: Fields every list can order by; lists add their own.
COMMON_ORDER = ("uid", "name", "createdAt", "updatedAt", "externalId", "source")


@dataclass(frozen=True)
class Page:
    """A parsed list query: ``limit`` (>= 1), ``offset`` (>= 0), ``q``, ``order_by``,
    ``descending``, and ``extras`` (declared extra parameters that were sent, parsed)."""

    limit: int
    offset: int
    q: str | None
    order_by: str | None
    descending: bool
    extras: dict[str, Any]


def _integer(name: str, raw: str, minimum: int) -> int:
    try:
        value = float(raw)
    except ValueError:
        raise bad_request(f"query parameter {name} must be a number (got {raw!r})") from None
    if not math.isfinite(value) or value != int(value) or value < minimum:
        raise bad_request(f"query parameter {name} must be an integer >= {minimum} (got {raw!r})")
    return int(value)


def _number(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise bad_request(f"query parameter {name} must be a number (got {raw!r})") from None
    if not math.isfinite(value):
        raise bad_request(f"query parameter {name} must be a finite number (got {raw!r})")
    return value


def parse_page(
    params: QueryParams, orderable: Sequence[str], extras: dict[str, str] | None = None
) -> Page:
    """Parse and check a list query. ``orderable`` = fields ``orderBy`` may name; ``extras``
    = declared extra parameters (name -> kind). Raises a 400 naming the bad parameter."""
    extras = extras or {}
    declared = {"limit", "offset", "q", "orderBy", "order", *extras}
    for name in params:
        base = name[:-2] if name.endswith("[]") else name
        if base not in declared or (
            name != base and extras.get(base) not in (Q_STRINGS, Q_NUMBERS)
        ):
            allowed = ", ".join(sorted(declared))
            raise bad_request(f"query parameter {name!r} is not accepted here; allowed: {allowed}")
    for required in ("limit", "offset"):
        if required not in params:
            raise bad_request(f"query parameter {required} is required")
    limit = _integer("limit", params["limit"], 1)
    offset = _integer("offset", params["offset"], 0)
    order_by = params.get("orderBy")
    if order_by is not None and order_by not in orderable:
        raise bad_request(f"orderBy must be one of {', '.join(orderable)} (got {order_by!r})")
    order = params.get("order", "asc")
    if order not in ("asc", "desc"):
        raise bad_request(f"order must be asc or desc (got {order!r})")
    parsed: dict[str, Any] = {}
    for name, kind in extras.items():
        if kind in (Q_STRINGS, Q_NUMBERS):
            raw_values = params.getlist(name) + params.getlist(name + "[]")
            if not raw_values:
                continue
            if kind == Q_NUMBERS:
                parsed[name] = [_number(name, raw) for raw in raw_values]
            else:
                parsed[name] = raw_values
        elif name in params:
            raw = params[name]
            if kind == Q_NUMBER:
                parsed[name] = _number(name, raw)
            elif kind == Q_BOOLEAN:
                if raw not in ("true", "false"):
                    raise bad_request(f"query parameter {name} must be true or false (got {raw!r})")
                parsed[name] = raw == "true"
            else:
                parsed[name] = raw
    return Page(limit, offset, params.get("q"), order_by, order == "desc", parsed)


def paginate(rows: list[Row], page: Page, render: Callable[[Row], Row]) -> dict[str, Any]:
    """Filter ``rows`` (stored rows, creation order) by ``q``, sort by ``orderBy``, slice the
    page and render only its rows. Returns ``{count, items, nextOffset}``."""
    if page.q:
        needle = page.q.casefold()
        rows = [row for row in rows if needle in str(row.get("name") or "").casefold()]
    if page.order_by:
        field = page.order_by

        def key(row: Row) -> tuple[bool, Any]:
            value = row.get(field)
            return (value is None, 0 if value is None else value)

        try:
            rows = sorted(rows, key=key, reverse=page.descending)
        except TypeError:  # mixed value types: fall back to their text
            rows = sorted(rows, key=lambda row: str(row.get(field)), reverse=page.descending)
    # an injected page shift (emulators.faults): a row inserted (-1) or deleted (+1) before
    # this page since the previous one was read, so the page starts one row off
    shift = page_shift(page.offset)
    start = page.offset + shift
    items = [render(row) for row in rows[start : start + page.limit]]
    return {"count": len(rows) - shift, "items": items, "nextOffset": page.offset + len(items)}
