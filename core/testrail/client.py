"""TestRail API v2 client (also speaks to TestFiesta's TestRail-compatible shim).

URL form (testrail-api.md §1.1): ``{base}/index.php?/api/v2/<method>[/<id>]`` with extra
parameters joined by ``&``, never ``?``. Reads are GET, writes POST with a JSON body.
Lists come in every shape TestRail has used (§2): the ≥ 6.7 envelope
``{offset, limit, size, _links: {next, prev}, <key>: [...]}``, a bare array (pre-6.7 servers,
``get_suites`` up to 9.3.0, metadata endpoints) and the documented history example that wraps
the envelope in an outer array. :meth:`TestRailClient.paginate` walks them all.

The same class talks to the shim at ``{testfiesta}/trv2/{handle}/index.php?/api/v2/...``: the
protocol is the same, only the base URL, the auth header and a few list keys differ
(``get_projects`` rows under ``results``; 404 instead of 400 for a missing record).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

import httpx

from core.errors import AccessDenied, ApiError, UnexpectedResponse, WrongServer
from core.http import (
    ApiSession,
    classify_status,
    not_the_api,
    tls_verification,
)

#: TestRail's maximum (and default) page size for bulk GETs (testrail-api.md §2.2).
PAGE_SIZE = 250
#: Rows each next page re-reads of the previous one, to see rows shifted between two page
#: reads (:meth:`TestRailClient.paginate`); costs one page in 250.
OVERLAP = 1
#: Times one listing may be found shifted before it is reported as unreadable.
MAX_SHIFTS = 8


_OFFSET = re.compile(r"([&?])offset=(\d+)")


def _with_offset(url: str, offset: int) -> str:
    """``url`` asking for ``offset`` (its ``offset=`` replaced)."""
    return _OFFSET.sub(lambda m: f"{m.group(1)}offset={offset}", url, count=1)


def list_kept_shifting(side: str, endpoint: str, shifts: int) -> UnexpectedResponse:
    """The error for a list whose rows kept moving between page reads."""
    return UnexpectedResponse(
        f"{side} {endpoint}: the list kept changing while it was read page by page (rows "
        f"shifted between pages {shifts} times), so it cannot be read completely",
        hint="run again when fewer people (or scripts) add or delete records at once",
    )


Params = Mapping[str, str | int | bool | list[int] | None]


def _encode(value: str | int | bool | list[int]) -> str:
    """TestRail parameter encoding: booleans 0/1, lists comma-joined, then URL-quoted."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return quote(str(value), safe="")


def _testrail_error_body(response: httpx.Response) -> bool:
    """Whether an error answer is in TestRail's dialect: a JSON object with an ``error`` text
    (§1.4; every recorded error body has it)."""
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and isinstance(body.get("error"), str)


def classify_testrail_error(side: str, endpoint: str, response: httpx.Response) -> ApiError:
    """TestRail's error dialect (§1.4): a 400 whose text says "is not a valid" means the record
    does not exist; a 403 "API is disabled" gets the fix in its hint. On the TestRail side, a
    401 that is not TestRail's ``{"error": ...}`` comes from another service (an HTML login
    page, another JSON API): :class:`WrongServer` "this is not a TestRail API", not "check
    your key"."""
    error = classify_status(side, endpoint, response)
    text = error.server_message
    if response.status_code == 401 and side == "testrail" and not _testrail_error_body(response):
        return WrongServer(
            side,
            endpoint,
            401,
            f"{text}: {not_the_api(side)} (its 401 answer is not TestRail's)",
            hint="set [testrail] url to the TestRail site root, such as https://acme.testrail.io",
        )
    if response.status_code == 400 and "is not a valid" in text:
        error = classify_status(side, endpoint, response, not_found=True)
    if response.status_code == 404:
        url = response.request.url
        base = str(url.copy_with(query=None)).removesuffix("/index.php")
        return WrongServer(
            side,
            endpoint,
            404,
            text,
            hint=f"{base} does not answer TestRail API v2 method {endpoint}: check the url in "
            "the config (the site root, such as https://acme.testrail.io) and that the "
            "TestRail version has this method",
        )
    if isinstance(error, AccessDenied) and "API is disabled" in text:
        error.hint = "an administrator enables it under Administration > Site Settings > API"
    return error


class TestRailClient:
    """Async client for TestRail API v2 (or a server speaking it, such as the TestFiesta shim).

    ``session`` carries auth, pacing and retries; ``base_url`` is the site root
    (``https://acme.testrail.io`` or ``https://host/testrail``). Methods return decoded JSON:
    dicts for single records, lists of dicts for lists. Errors are :mod:`core.errors`
    exceptions (see :meth:`core.http.ApiSession.send`).
    """

    __test__ = False  # not a pytest test class, despite the name

    def __init__(self, session: ApiSession, base_url: str) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")

    @classmethod
    def connect(
        cls,
        url: str,
        user: str,
        api_key: str,
        *,
        requests_per_minute: int | None = 180,
        timeout: float = 30.0,
        ca_bundle: str | None = None,
        verify_tls: bool = True,
        transport: httpx.AsyncBaseTransport | None = None,
        on_event: Callable[[object], None] | None = None,
    ) -> TestRailClient:
        """A client for the TestRail at ``url`` with HTTP Basic ``user``:``api_key`` (§1.2).

        ``timeout`` is per request in seconds; ``ca_bundle`` a PEM file for a private CA;
        ``verify_tls=False`` stops checking the certificate (see
        :func:`core.http.tls_verification`); ``transport`` lets tests route to an in-process
        emulator.
        """
        client = httpx.AsyncClient(
            auth=httpx.BasicAuth(user, api_key),
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            # an injected transport (tests) carries its own connection handling
            verify=tls_verification(ca_bundle, verify_tls=verify_tls)
            if transport is None
            else True,
            transport=transport,
            headers={"Accept": "application/json", "User-Agent": "railfiesta"},
        )
        session = ApiSession(
            "testrail",
            client,
            requests_per_minute=requests_per_minute,
            classify=classify_testrail_error,
            on_event=on_event,
            maintenance_409=True,
        )
        return cls(session, url)

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self.session.aclose()

    # ------------------------------------------------------------------ transport

    def url(self, method: str, params: Params | None = None) -> str:
        """``{base}/index.php?/api/v2/{method}&k=v...`` with ``None`` values left out."""
        query = "".join(
            f"&{key}={_encode(value)}" for key, value in (params or {}).items() if value is not None
        )
        return f"{self.base_url}/index.php?/api/v2/{method}{query}"

    @staticmethod
    def _endpoint(method: str) -> str:
        return method.split("/", 1)[0]

    async def get(self, method: str, params: Params | None = None) -> Any:
        """GET ``method`` (``"get_case/12"``) and return the decoded JSON body."""
        endpoint = self._endpoint(method)
        return await self.session.send_json("GET", self.url(method, params), endpoint=endpoint)

    async def post(self, method: str, body: Mapping[str, Any] | None = None) -> Any:
        """POST ``body`` as JSON to ``method`` (``"add_case/5"``); the decoded answer or None."""
        endpoint = self._endpoint(method)
        return await self.session.send_json(
            "POST", self.url(method), endpoint=endpoint, json_body=dict(body or {})
        )

    async def paginate(
        self, method: str, key: str, params: Params | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        """Yield every row of a list endpoint once, whatever shape the server answers (§2.4).

        Follows ``_links.next`` (prefixing ``index.php?`` and turning ``limit=0`` into 250);
        for bare arrays asks for the next ``offset`` while pages come back full. A next page
        whose offset is known is asked for :data:`OVERLAP` row earlier, which shows rows
        shifted between two page reads (records added or deleted meanwhile): the last row
        read must come back. A row added before the page repeats rows, which are
        de-duplicated by ``id``; a row deleted before it moves unseen rows behind the offset,
        so the page is asked for again further back until the last row read is in it (one
        more request, never a missed record, which a full read would take for a deletion).
        The walk stops when a page adds nothing new, so a server that ignores ``offset``
        cannot loop forever. Raises :class:`UnexpectedResponse` when a body is neither an
        array nor an envelope holding ``key`` (an error is never an empty list), or when the
        list was found shifted more than :data:`MAX_SHIFTS` times.
        """
        endpoint = self._endpoint(method)
        side = self.session.side
        url = self.url(method, params)
        requested: int | None = None  # the offset this page was asked at (None: not ours)
        seen: set[Any] = set()
        anchor: Any = None  # the id of the last row read
        shifts = 0
        stepped_back = False  # this page was asked for again, further back
        while True:
            body = await self.session.send_json("GET", url, endpoint=endpoint)
            if (
                isinstance(body, list)
                and len(body) == 1
                and isinstance(body[0], dict)
                and key in body[0]
            ):
                body = body[0]  # history-style outer array around the envelope
            link: str | None = None
            if isinstance(body, list):
                rows, more = body, len(body) >= PAGE_SIZE
            elif isinstance(body, dict) and key in body:
                rows = body[key] or []
                link = (body.get("_links") or {}).get("next")
                more = bool(link)
            else:
                side = self.session.side
                raise UnexpectedResponse(
                    f"{side} {endpoint} answered neither a list nor a page with "
                    f"'{key}': {str(body)[:120]!r}: {not_the_api(side)}",
                    hint=f"set [{side}] url to the TestRail site root, such as "
                    "https://acme.testrail.io (a TestRail whose version answers this list in "
                    "another shape is not supported)"
                    if side == "testrail"
                    else "check [testfiesta] url (https://api.testfiesta.com) and handle",
                )
            ids = [row.get("id") if isinstance(row, dict) else None for row in rows]
            if requested and anchor is not None and rows and anchor not in ids:
                # rows were deleted before this page: unseen rows moved behind the offset
                shifts += 1
                if shifts > MAX_SHIFTS:
                    raise list_kept_shifting(side, endpoint, shifts - 1)
                requested = max(0, requested - OVERLAP * 4**shifts)
                url = _with_offset(url, requested)
                stepped_back = True
                continue
            fresh = 0
            for row, row_id in zip(rows, ids, strict=True):
                if row_id is not None:
                    if row_id in seen:
                        continue
                    seen.add(row_id)
                fresh += 1
                yield row
            if not more or (not fresh and not stepped_back):
                return  # the end, or a server that ignores offset (nothing new)
            stepped_back = False
            anchor = ids[-1]
            overlap = OVERLAP if anchor is not None else 0
            if link is None:  # a bare array: the next offset is ours to choose
                requested = (requested or 0) + len(rows) - overlap
                url = self.url(method, {**(params or {}), "limit": PAGE_SIZE, "offset": requested})
                continue
            url = self._follow(link)
            offset = _OFFSET.search(url)
            requested = max(0, int(offset.group(2)) - overlap) if offset else None
            if requested is not None:
                url = _with_offset(url, requested)

    def _follow(self, link: str) -> str:
        """Absolute URL for a relative ``_links.next`` (``/api/v2/get_cases/1&offset=250``)."""
        link = link.replace("limit=0", f"limit={PAGE_SIZE}")
        if link.startswith("http"):
            return link
        if not link.startswith("/"):
            link = "/" + link
        return f"{self.base_url}/index.php?{link}"

    # ------------------------------------------------------------------ projects and structure

    async def get_projects(self, *, key: str = "projects") -> list[dict[str, Any]]:
        """All projects (``get_projects``, §5.1); the shim pages them under ``results``."""
        return [row async for row in self.paginate("get_projects", key)]

    async def get_project(self, project_id: int) -> dict[str, Any]:
        """One project with ``suite_mode`` 1 (single), 2 (baselines) or 3 (multiple suites)."""
        result: dict[str, Any] = await self.get(f"get_project/{project_id}")
        return result

    async def get_suites(self, project_id: int) -> list[dict[str, Any]]:
        """A project's suites: bare array up to 9.3.0, ``suites`` envelope after (§5.2)."""
        return [row async for row in self.paginate(f"get_suites/{project_id}", "suites")]

    async def get_sections(self, project_id: int, suite_id: int | None) -> list[dict[str, Any]]:
        """Sections of one suite (``suite_id`` is required in suite mode 3), pre-order (§5.3)."""
        return [
            row
            async for row in self.paginate(
                f"get_sections/{project_id}", "sections", {"suite_id": suite_id}
            )
        ]

    def iter_cases(
        self, project_id: int, suite_id: int | None, **filters: int | str | None
    ) -> AsyncIterator[dict[str, Any]]:
        """Stream the cases of one suite page by page (§5.4); ``filters`` such as
        ``updated_after`` (UNIX seconds) or ``section_id`` are passed through."""
        return self.paginate(f"get_cases/{project_id}", "cases", {"suite_id": suite_id, **filters})

    async def get_case(self, case_id: int) -> dict[str, Any]:
        """One case with all its ``custom_*`` values."""
        result: dict[str, Any] = await self.get(f"get_case/{case_id}")
        return result

    # ------------------------------------------------------------------ metadata (bare arrays)

    async def get_case_fields(self) -> list[dict[str, Any]]:
        """Instance-wide case field definitions (§5.6)."""
        return [row async for row in self.paginate("get_case_fields", "case_fields")]

    async def get_result_fields(self) -> list[dict[str, Any]]:
        """Instance-wide result field definitions (§5.6: the shape of case fields; the stock
        ``custom_step_results`` is type 11, Step Results)."""
        return [row async for row in self.paginate("get_result_fields", "result_fields")]

    async def get_case_types(self) -> list[dict[str, Any]]:
        """Case types ``{id, name, is_default}`` (§5.7)."""
        return [row async for row in self.paginate("get_case_types", "case_types")]

    async def get_priorities(self) -> list[dict[str, Any]]:
        """Priorities ``{id, name, short_name, priority, is_default}`` (§5.7)."""
        return [row async for row in self.paginate("get_priorities", "priorities")]

    async def get_statuses(self) -> list[dict[str, Any]]:
        """Active result statuses ``{id, name, label, is_untested, is_final ...}`` (§5.7)."""
        return [row async for row in self.paginate("get_statuses", "statuses")]

    async def get_templates(self, project_id: int) -> list[dict[str, Any]]:
        """Templates (field layouts) of a project ``{id, name, is_default}`` (§5.7)."""
        return [row async for row in self.paginate(f"get_templates/{project_id}", "templates")]

    # ------------------------------------------------------------------ writes

    async def add_section(self, project_id: int, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create a section (``name``*, ``description``, ``suite_id``, ``parent_id``)."""
        result: dict[str, Any] = await self.post(f"add_section/{project_id}", body)
        return result

    async def add_case(self, section_id: int, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create a case in a section; returns the stored case (not idempotent, §7)."""
        result: dict[str, Any] = await self.post(f"add_case/{section_id}", body)
        return result

    async def update_case(self, case_id: int, body: Mapping[str, Any]) -> dict[str, Any]:
        """Partial update of a case; returns the whole case as stored (§5.4)."""
        result: dict[str, Any] = await self.post(f"update_case/{case_id}", body)
        return result

    async def add_suite(self, project_id: int, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create a suite (``name``*, ``description``; suite mode 3, §5.2)."""
        result: dict[str, Any] = await self.post(f"add_suite/{project_id}", body)
        return result

    async def update_suite(self, suite_id: int, body: Mapping[str, Any]) -> dict[str, Any]:
        """Rename or re-describe a suite (``name``, ``description``)."""
        result: dict[str, Any] = await self.post(f"update_suite/{suite_id}", body)
        return result

    async def delete_suite(self, suite_id: int) -> None:
        """Delete a suite with its sections and cases (§9)."""
        await self.post(f"delete_suite/{suite_id}")

    async def update_section(self, section_id: int, body: Mapping[str, Any]) -> dict[str, Any]:
        """Rename or re-describe a section (``name``, ``description``)."""
        result: dict[str, Any] = await self.post(f"update_section/{section_id}", body)
        return result

    async def move_section(self, section_id: int, parent_id: int | None) -> dict[str, Any]:
        """Move a section under ``parent_id`` (None: the suite's top level), same suite."""
        result: dict[str, Any] = await self.post(
            f"move_section/{section_id}", {"parent_id": parent_id}
        )
        return result

    async def delete_section(self, section_id: int) -> None:
        """Delete a section with its sub-sections and cases (§9)."""
        await self.post(f"delete_section/{section_id}")

    async def delete_case(self, case_id: int) -> None:
        """Delete a case (hard delete; tests in active runs go with it, §9)."""
        await self.post(f"delete_case/{case_id}")

    # ------------------------------------------------------------------ shared steps (§5.8)

    async def get_shared_steps(
        self, project_id: int, *, updated_after: int | None = None
    ) -> list[dict[str, Any]]:
        """A project's shared step sets (``get_shared_steps``, paged under ``shared_steps``;
        ``updated_after`` in UNIX seconds; 7.0+)."""
        return [
            row
            async for row in self.paginate(
                f"get_shared_steps/{project_id}", "shared_steps", {"updated_after": updated_after}
            )
        ]

    async def get_shared_step(self, shared_step_id: int) -> dict[str, Any]:
        """One shared step set with its ``custom_steps_separated``."""
        result: dict[str, Any] = await self.get(f"get_shared_step/{shared_step_id}")
        return result

    async def add_shared_step(self, project_id: int, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create a shared step set (``title``*, ``custom_steps_separated``)."""
        result: dict[str, Any] = await self.post(f"add_shared_step/{project_id}", body)
        return result

    async def update_shared_step(
        self, shared_step_id: int, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Change a shared step set (``title``, ``custom_steps_separated``); TestRail carries
        the new steps into every case that uses it."""
        result: dict[str, Any] = await self.post(f"update_shared_step/{shared_step_id}", body)
        return result

    async def delete_shared_step(self, shared_step_id: int) -> None:
        """Delete a shared step set; its cases keep a local copy (``keep_in_cases`` 1)."""
        await self.post(f"delete_shared_step/{shared_step_id}", {"keep_in_cases": 1})

    def get_history_for_case(self, case_id: int) -> AsyncIterator[dict[str, Any]]:
        """Stream a case's history entries (``get_history_for_case/{case_id}``, §5.5, TestRail
        6.5.4+): paged under ``history`` (the documented example's outer array around the
        envelope is unwrapped by :meth:`paginate`). Rows: ``{id, type_id, created_on,
        user_id, changes: [...]}``. 403 on older versions or without permission."""
        return self.paginate(f"get_history_for_case/{case_id}", "history")

    # ------------------------------------------------------------------ attachments (§5.15)

    async def get_attachments_for_case(self, case_id: int) -> list[dict[str, Any]]:
        """A case's attachments (paged ``attachments``; bare arrays on some Cloud versions):
        ``id`` (integer or UUID string: kept opaque), ``name``/``filename``, ``size`` bytes."""
        return [
            row async for row in self.paginate(f"get_attachments_for_case/{case_id}", "attachments")
        ]

    async def get_attachments_for_run(self, run_id: int) -> list[dict[str, Any]]:
        """A run's own attachments (paged ``attachments`` or a bare array; 6.3+)."""
        return [
            row async for row in self.paginate(f"get_attachments_for_run/{run_id}", "attachments")
        ]

    async def get_attachments_for_plan(self, plan_id: int) -> list[dict[str, Any]]:
        """A plan's own attachments (paged ``attachments`` or a bare array; 6.3+; §5.15)."""
        return [
            row async for row in self.paginate(f"get_attachments_for_plan/{plan_id}", "attachments")
        ]

    async def get_attachments_for_plan_entry(
        self, plan_id: int, entry_id: str
    ) -> list[dict[str, Any]]:
        """A plan entry's own attachments (``entry_id`` its GUID; a bare array, §2.3; 6.3+)."""
        return [
            row
            async for row in self.paginate(
                f"get_attachments_for_plan_entry/{plan_id}/{entry_id}", "attachments"
            )
        ]

    async def get_attachments_for_test(self, test_id: int) -> list[dict[str, Any]]:
        """The attachments of every result of a test (a bare array, §2.3; 5.7+). The rows
        name no result: a result's own ``attachment_ids`` say which are its."""
        return [
            row async for row in self.paginate(f"get_attachments_for_test/{test_id}", "attachments")
        ]

    async def get_attachment(self, attachment_id: int | str) -> tuple[bytes, str, str | None]:
        """One attachment's bytes (``get_attachment/{id}``): ``(bytes, content type, file
        name from Content-Disposition or None)``."""
        method = f"get_attachment/{attachment_id}"
        response = await self.session.send("GET", self.url(method), endpoint=self._endpoint(method))
        disposition = response.headers.get("content-disposition", "")
        match = re.search(r'filename="?([^";]+)"?', disposition)
        return (
            response.content,
            response.headers.get("content-type", "application/octet-stream"),
            match.group(1) if match else None,
        )

    # ------------------------------------------------------------------ runs, tests, results

    async def get_runs(self, project_id: int) -> list[dict[str, Any]]:
        """Runs outside plans (``get_runs``, paged under ``runs``; §5.11)."""
        return [row async for row in self.paginate(f"get_runs/{project_id}", "runs")]

    async def get_tests(self, run_id: int) -> list[dict[str, Any]]:
        """The tests of a run (``get_tests``, paged under ``tests``; §5.13)."""
        return [row async for row in self.paginate(f"get_tests/{run_id}", "tests")]

    async def get_results_for_run(
        self, run_id: int, *, created_after: int | None = None
    ) -> list[dict[str, Any]]:
        """A run's results, newest first (``get_results_for_run``, ``created_after`` in UNIX
        seconds; paged under ``results``; §5.14)."""
        return [
            row
            async for row in self.paginate(
                f"get_results_for_run/{run_id}", "results", {"created_after": created_after}
            )
        ]

    async def get_results(self, test_id: int) -> list[dict[str, Any]]:
        """A test's results, newest first (``get_results``)."""
        return [row async for row in self.paginate(f"get_results/{test_id}", "results")]

    async def get_users(self, project_id: int | None = None) -> list[dict[str, Any]]:
        """Users (``get_users``; ``id``, ``name``, ``email``; §5.16)."""
        method = f"get_users/{project_id}" if project_id is not None else "get_users"
        return [row async for row in self.paginate(method, "users")]

    async def add_run(self, project_id: int, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create a run (``suite_id``, ``name``*, ``description``, ``include_all``,
        ``case_ids``, ``refs``; §5.11)."""
        result: dict[str, Any] = await self.post(f"add_run/{project_id}", body)
        return result

    async def update_run(self, run_id: int, body: Mapping[str, Any]) -> dict[str, Any]:
        """Change an open run (``name``, ``description``, ``case_ids`` ...)."""
        result: dict[str, Any] = await self.post(f"update_run/{run_id}", body)
        return result

    async def close_run(self, run_id: int) -> dict[str, Any]:
        """Close a run (read-only from then on; §9)."""
        result: dict[str, Any] = await self.post(f"close_run/{run_id}")
        return result

    async def add_result(self, test_id: int, body: Mapping[str, Any]) -> dict[str, Any]:
        """Add one result to a test (``status_id``, ``comment`` ...; not idempotent, §7)."""
        result: dict[str, Any] = await self.post(f"add_result/{test_id}", body)
        return result

    async def add_results(
        self, run_id: int, results: Sequence[Mapping[str, Any]]
    ) -> list[dict[str, Any]]:
        """Add results to tests of one run in one request (``add_results/{run_id}``, body
        ``{"results": [{test_id, status_id, comment ...}]}``; §5.14); the new results in the
        order sent. Answered as a bare array by TestRail and in the bulk envelope (under
        ``results``) by TestFiesta's shim; both are read. Not idempotent (§7)."""
        answer = await self.post(f"add_results/{run_id}", {"results": list(results)})
        rows = answer.get("results") if isinstance(answer, dict) else answer
        if not isinstance(rows, list):
            raise UnexpectedResponse(
                f"{self.session.side} add_results answered {str(answer)[:120]!r}",
                hint="the server's add_results answer is neither a list nor a page of results",
            )
        return rows

    # ------------------------------------------------------------------ milestones, configs, plans

    async def get_milestones(self, project_id: int) -> list[dict[str, Any]]:
        """Milestones of a project (``get_milestones``, paged under ``milestones``; §5.9), with
        the sub-milestones each parent embeds under ``milestones`` flattened in and every id
        once (whether children are also listed at the top level is not documented)."""
        out: dict[int, dict[str, Any]] = {}

        def take(row: Mapping[str, Any]) -> None:
            out.setdefault(int(row["id"]), dict(row))
            for child in row.get("milestones") or []:
                if isinstance(child, Mapping):
                    take(child)

        async for row in self.paginate(f"get_milestones/{project_id}", "milestones"):
            take(row)
        return list(out.values())

    async def add_milestone(self, project_id: int, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create a milestone (``name``*, ``description``, ``start_on``/``due_on`` UNIX
        seconds, ``parent_id``; §5.9)."""
        result: dict[str, Any] = await self.post(f"add_milestone/{project_id}", body)
        return result

    async def update_milestone(self, milestone_id: int, body: Mapping[str, Any]) -> dict[str, Any]:
        """Change a milestone (the add fields plus ``is_completed``, ``is_started``; §5.9)."""
        result: dict[str, Any] = await self.post(f"update_milestone/{milestone_id}", body)
        return result

    async def get_configs(self, project_id: int) -> list[dict[str, Any]]:
        """Configuration groups with their ``configs`` (``get_configs``, a bare array; §5.10)."""
        answer = await self.get(f"get_configs/{project_id}")
        if not isinstance(answer, list):
            raise UnexpectedResponse(
                f"{self.session.side} get_configs/{project_id} answered {str(answer)[:120]!r}",
                hint="get_configs answers a list of configuration groups",
            )
        return [dict(row) for row in answer if isinstance(row, Mapping)]

    async def add_config_group(self, project_id: int, name: str) -> dict[str, Any]:
        """Create a configuration group (``add_config_group``, ``{name}``; §5.10)."""
        result: dict[str, Any] = await self.post(f"add_config_group/{project_id}", {"name": name})
        return result

    async def add_config(self, group_id: int, name: str) -> dict[str, Any]:
        """Create a configuration in a group (``add_config``, ``{name}``; §5.10)."""
        result: dict[str, Any] = await self.post(f"add_config/{group_id}", {"name": name})
        return result

    async def update_config_group(self, group_id: int, name: str) -> dict[str, Any]:
        """Rename a configuration group (``update_config_group``; §5.10)."""
        result: dict[str, Any] = await self.post(f"update_config_group/{group_id}", {"name": name})
        return result

    async def update_config(self, config_id: int, name: str) -> dict[str, Any]:
        """Rename a configuration (``update_config``; §5.10)."""
        result: dict[str, Any] = await self.post(f"update_config/{config_id}", {"name": name})
        return result

    async def get_plans(self, project_id: int) -> list[dict[str, Any]]:
        """Test plans, without their entries (``get_plans``, paged under ``plans``; §5.12)."""
        return [row async for row in self.paginate(f"get_plans/{project_id}", "plans")]

    async def get_plan(self, plan_id: int) -> dict[str, Any]:
        """One plan with its ``entries`` and their ``runs`` (``get_plan``; §5.12): the only
        read that shows runs inside plans (``get_runs`` leaves them out)."""
        result: dict[str, Any] = await self.get(f"get_plan/{plan_id}")
        return result

    async def add_plan(self, project_id: int, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create a plan (``name``*, ``description``, ``milestone_id``, ``entries``; §5.12)."""
        result: dict[str, Any] = await self.post(f"add_plan/{project_id}", body)
        return result

    async def update_plan(self, plan_id: int, body: Mapping[str, Any]) -> dict[str, Any]:
        """Change a plan (``name``, ``description``, ``milestone_id``; §5.12)."""
        result: dict[str, Any] = await self.post(f"update_plan/{plan_id}", body)
        return result

    async def close_plan(self, plan_id: int) -> dict[str, Any]:
        """Close a plan and its runs (read-only from then on; §5.12, §9)."""
        result: dict[str, Any] = await self.post(f"close_plan/{plan_id}")
        return result
