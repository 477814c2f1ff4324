"""TestRail ≥ 6.7 pagination envelopes and pre-6.7 bare arrays (testrail-api.md §2.2, §2.5).

Envelope: ``{"offset", "limit", "size", "_links": {"next", "prev"}, <key>: [...]}`` where
``size`` is the number of rows in this page and the links are relative TestRail paths
(``/api/v2/get_cases/1&suite_id=3&limit=250&offset=250``) echoing the caller's filters, or null
at the ends.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from emulators.faults import page_shift
from emulators.testrail.errors import bad_request
from emulators.testrail.values import to_int

MAX_LIMIT = 250

# [unverified] texts: TestRail rejects these with 400 (dichovsky 5.1.0) but no body was recorded.
LIMIT_ERROR = "Field :limit must be between 1 and 250."
OFFSET_ERROR = "Field :offset must be zero or a positive integer."


@dataclass
class PageRequest:
    """Where a page request came from: ``path`` (``/api/v2/get_cases/1``), ``filters`` (the
    query parameters other than limit/offset, in request order), ``limit``/``offset`` as sent
    (None when absent)."""

    path: str
    filters: list[tuple[str, str]]
    limit: str | None
    offset: str | None


def parse_window(req: PageRequest, *, legacy: bool) -> tuple[int | None, int]:
    """``(limit, offset)`` of a request. Paged mode: limit defaults to 250 and must be 1..250
    (400 otherwise), offset ≥ 0. Legacy mode: no default limit (all rows), no upper bound."""
    limit: int | None = None
    if req.limit not in (None, ""):
        try:
            limit = to_int(req.limit, "limit")
        except Exception:
            raise bad_request(LIMIT_ERROR) from None
        if limit < 1 or (not legacy and limit > MAX_LIMIT):
            raise bad_request(LIMIT_ERROR)
    elif not legacy:
        limit = MAX_LIMIT
    offset = 0
    if req.offset not in (None, ""):
        try:
            offset = to_int(req.offset, "offset")
        except Exception:
            raise bad_request(OFFSET_ERROR) from None
        if offset < 0:
            raise bad_request(OFFSET_ERROR)
    return limit, offset


def link(req: PageRequest, limit: int, offset: int) -> str:
    """A relative TestRail link: path, the echoed filters, then ``limit`` and ``offset``."""
    parts = [req.path]
    parts += [f"{quote(k, safe='')}={quote(v, safe=',')}" for k, v in req.filters]
    parts += [f"limit={limit}", f"offset={offset}"]
    return "&".join(parts)


def paginate(
    req: PageRequest,
    rows: Sequence[Any],
    key: str,
    render: Callable[[Any], Any] = lambda r: r,
    *,
    legacy: bool = False,
    ignore_offset: bool = False,
    next_limit_zero: bool = False,
) -> Any:
    """One page of ``rows`` (already filtered and ordered), rendered with ``render``.

    Returns the envelope under ``key`` or, with ``legacy``, a bare array honouring
    limit/offset (pre-6.7 servers, §2.1). Two switches reproduce real servers' quirks:

    - ``ignore_offset``: the page always starts at row 0 whatever ``offset`` says (a valid
      ``offset`` is still required): testrail-api.md §2.4 "old servers ignore ``offset`` on
      some endpoints — dlenroc guards against infinite loops this way". [INF] the reference
      names neither the versions nor the endpoints; the switch applies it to every paged one.
    - ``next_limit_zero``: ``_links.next`` carries ``limit=0`` instead of the page size
      (§2.4 "replace ``limit=0`` with ``limit=250`` (trcli commit 598e70c: following a next
      link that contained ``limit=0`` returned 400)", §11 item 2). Following it literally
      gets the 400 of :func:`parse_window`, as trcli found. ``prev`` is left intact (the
      reference reports only ``next``).
    """
    limit, offset = parse_window(req, legacy=legacy)
    if ignore_offset:
        offset = 0
    # an injected page shift (emulators.faults): a row inserted (-1) or deleted (+1) before
    # this page since the previous one was read, so the page starts one row off
    shift = page_shift(offset)
    total = len(rows) - shift
    start = offset + shift
    end = len(rows) if limit is None else start + limit
    page = [render(r) for r in rows[start:end]]
    if legacy:
        return page
    assert limit is not None
    shown = 0 if next_limit_zero else limit
    next_link = link(req, shown, offset + limit) if offset + limit < total else None
    prev_link = link(req, limit, max(0, offset - limit)) if offset > 0 else None
    return {
        "offset": offset,
        "limit": limit,
        "size": len(page),
        "_links": {"next": next_link, "prev": prev_link},
        key: page,
    }
