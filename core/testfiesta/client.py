"""TestFiesta API v1 client, plus its TestRail-compatible shim.

v1 (specs/testfiesta-v1.openapi.json): ``{url}/v1/{handle}/...`` with
``Authorization: Bearer testfiesta_...``; every list takes ``limit`` and ``offset`` and answers
``{count, items, nextOffset}`` (testfiesta-api.md §1.3). v1 has no case update, results,
attachments, users or configurations; for those the shim at
``{url}/trv2/{handle}/index.php?/api/v2/...`` (specs/testrail-v2-shim.openapi.json) speaks
TestRail's protocol, so it is a :class:`core.testrail.TestRailClient` sharing this host's
session (one rate budget for the host).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

import httpx

from core.errors import ApiError, UnexpectedResponse, WrongServer
from core.http import ApiSession, classify_status, server_message, tls_verification
from core.testrail.client import (
    MAX_SHIFTS,
    OVERLAP,
    TestRailClient,
    classify_testrail_error,
    list_kept_shifting,
)

#: Rows asked for per list request. No maximum is documented; 250 keeps pages small enough for
#: slow links and matches TestRail's page size.
PAGE_SIZE = 250


def classify_testfiesta_error(side: str, endpoint: str, response: httpx.Response) -> ApiError:
    """TestFiesta's dialect: 404 is "no such record" (the shim's too), except on the project
    list where it means a wrong URL or handle; the shim's other errors read like TestRail's."""
    if "/trv2/" in str(response.request.url):
        if response.status_code == 404:  # the shim's "no such record" (TestRail says 400)
            return classify_status(side, endpoint, response)
        return classify_testrail_error(side, endpoint, response)
    if response.status_code == 404 and endpoint in ("GET /projects", "POST /projects"):
        url = response.request.url
        return WrongServer(
            side,
            endpoint,
            404,
            server_message(response),
            hint=f"{url.scheme}://{url.netloc.decode()} has no organization at {url.path}: "
            "check [testfiesta] url (https://api.testfiesta.com) and handle",
        )
    return classify_status(side, endpoint, response)


class TestFiestaClient:
    """Async client for one TestFiesta organization (``handle``).

    Methods return decoded JSON (dicts, lists of dicts). ``shim`` is the TestRail-protocol
    client for the operations v1 lacks. Errors are :mod:`core.errors` exceptions.
    """

    __test__ = False

    def __init__(self, session: ApiSession, base_url: str, handle: str) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.handle = handle
        self.shim = TestRailClient(session, f"{self.base_url}/trv2/{quote(handle, safe='')}")

    @classmethod
    def connect(
        cls,
        url: str,
        handle: str,
        token: str,
        *,
        requests_per_minute: int | None = 600,
        timeout: float = 30.0,
        ca_bundle: str | None = None,
        verify_tls: bool = True,
        transport: httpx.AsyncBaseTransport | None = None,
        on_event: Callable[[object], None] | None = None,
    ) -> TestFiestaClient:
        """A client for ``url`` (``https://api.testfiesta.com``) and organization ``handle``,
        authenticated with the API key ``token`` (``testfiesta_...``; testfiesta-api.md §1.2).
        TLS as in :func:`core.http.tls_verification` (``ca_bundle``, ``verify_tls``).
        """
        client = httpx.AsyncClient(
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/json",
                "User-Agent": "railfiesta",
            },
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            # an injected transport (tests) carries its own connection handling
            verify=tls_verification(ca_bundle, verify_tls=verify_tls)
            if transport is None
            else True,
            transport=transport,
        )
        session = ApiSession(
            "testfiesta",
            client,
            requests_per_minute=requests_per_minute,
            classify=classify_testfiesta_error,
            on_event=on_event,
        )
        return cls(session, url, handle)

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self.session.aclose()

    # ------------------------------------------------------------------ transport

    def url(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        """``{url}/v1/{handle}{path}`` plus a normal ``?k=v`` query."""
        query = "&".join(
            f"{k}={quote(str(v), safe='')}" for k, v in (params or {}).items() if v is not None
        )
        base = f"{self.base_url}/v1/{quote(self.handle, safe='')}{path}"
        return f"{base}?{query}" if query else base

    async def request(
        self,
        method: str,
        path: str,
        *,
        endpoint: str,
        body: Any = None,
        params: Mapping[str, Any] | None = None,
    ) -> Any:
        """Send one v1 request; the decoded JSON answer (``None`` for 204)."""
        return await self.session.send_json(
            method, self.url(path, params), endpoint=endpoint, json_body=body
        )

    async def paginate(
        self, path: str, *, endpoint: str, params: Mapping[str, Any] | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        """Yield every item of a v1 list once, page by page (``limit``/``offset`` ->
        ``{count, items, nextOffset}``).

        Each next page is asked for at the rows read so far minus :data:`OVERLAP`, so rows
        shifted between two page reads (a record created or deleted meanwhile) show: the last
        item read must come back. Items repeated by an insertion are de-duplicated by
        ``uid``; when a deletion moved unseen items behind the offset the page is asked for
        again further back (see :meth:`core.testrail.client.TestRailClient.paginate`). Stops
        when a page is empty or adds nothing new, when ``nextOffset`` is missing or null, or
        when ``count`` rows are behind the offset. Raises :class:`UnexpectedResponse` for an
        answer without ``items`` or a list that kept shifting."""
        offset = 0
        seen: set[Any] = set()
        anchor: Any = None  # the uid of the last item read
        shifts = 0
        stepped_back = False  # this page was asked for again, further back
        while True:
            body = await self.request(
                "GET",
                path,
                endpoint=endpoint,
                params={**(params or {}), "limit": PAGE_SIZE, "offset": offset},
            )
            if not isinstance(body, dict) or not isinstance(body.get("items"), list):
                raise UnexpectedResponse(
                    f"testfiesta {endpoint} answered without an 'items' list: {str(body)[:120]!r}",
                    hint="check the TestFiesta URL (https://api.testfiesta.com) and handle",
                )
            items: list[dict[str, Any]] = body["items"]
            uids = [item.get("uid") if isinstance(item, dict) else None for item in items]
            if offset and anchor is not None and items and anchor not in uids:
                shifts += 1
                if shifts > MAX_SHIFTS:
                    raise list_kept_shifting(self.session.side, endpoint, shifts - 1)
                offset = max(0, offset - OVERLAP * 4**shifts)
                stepped_back = True
                continue
            fresh = 0
            for item, uid in zip(items, uids, strict=True):
                if uid is not None:
                    if uid in seen:
                        continue
                    seen.add(uid)
                fresh += 1
                yield item
            next_offset = body.get("nextOffset")
            count = body.get("count")
            read = offset + len(items)
            if (
                not items
                or (not fresh and not stepped_back)
                or not isinstance(next_offset, int | float)
                or (isinstance(count, int | float) and read >= count)
            ):
                return
            stepped_back = False
            anchor = uids[-1]
            offset = read - (OVERLAP if anchor is not None else 0)

    async def _list(self, path: str, endpoint: str, **params: Any) -> list[dict[str, Any]]:
        return [item async for item in self.paginate(path, endpoint=endpoint, params=params)]

    # ------------------------------------------------------------------ projects

    async def list_projects(self) -> list[dict[str, Any]]:
        """All projects of the organization (``GET /projects``)."""
        return await self._list("/projects", "GET /projects")

    async def create_project(
        self, name: str, key: str, *, external_id: str | None = None, source: str | None = None
    ) -> dict[str, Any]:
        """Create a project (``POST /projects``, CreateProjectDto); ``key`` must be unique."""
        body: dict[str, Any] = {"name": name, "key": key, "customFields": {}}
        if external_id:
            body["externalId"] = external_id
        if source:
            body["source"] = source
        result: dict[str, Any] = await self.request(
            "POST", "/projects", endpoint="POST /projects", body=body
        )
        return result

    # ------------------------------------------------------------------ folders

    async def list_folders(self, project: str) -> list[dict[str, Any]]:
        """Every folder of project ``project`` (a key), flat; ``parentUid`` gives the tree."""
        return await self._list(f"/projects/{quote(project)}/folders", "GET /folders")

    async def create_folder(
        self,
        project: str,
        *,
        name: str,
        parent_uid: int,
        project_uid: int,
        external_id: str | None = None,
        source: str | None = None,
        custom_fields: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Create one folder under ``parent_uid`` (``POST /folders``, CreateFolderDto)."""
        body: dict[str, Any] = {"name": name, "parentId": parent_uid, "projectUid": project_uid}
        if external_id:
            body["externalId"] = external_id
        if source:
            body["source"] = source
        if custom_fields:
            body["customFields"] = dict(custom_fields)
        result: dict[str, Any] = await self.request(
            "POST", f"/projects/{quote(project)}/folders", endpoint="POST /folders", body=body
        )
        return result

    async def update_folder(
        self, project: str, uid: int, changes: Mapping[str, Any]
    ) -> dict[str, Any]:
        """``PATCH /folders/{id}`` (UpdateFolderDto: ``name``, ``parentId``, ``customFields``
        ...); returns the folder as stored."""
        result: dict[str, Any] = await self.request(
            "PATCH",
            f"/projects/{quote(project)}/folders/{uid}",
            endpoint="PATCH /folders/{id}",
            body=dict(changes),
        )
        return result

    async def delete_folder(self, project: str, uid: int) -> None:
        """``DELETE /folders/{id}`` (TestFiesta deletes the folder's sub-folders and cases
        with it)."""
        await self.request(
            "DELETE", f"/projects/{quote(project)}/folders/{uid}", endpoint="DELETE /folders/{id}"
        )

    # ------------------------------------------------------------------ cases

    async def list_cases(self, project: str) -> list[dict[str, Any]]:
        """Every case of the project (``GET /cases``)."""
        return await self._list(f"/projects/{quote(project)}/cases", "GET /cases")

    def iter_cases(self, project: str) -> AsyncIterator[dict[str, Any]]:
        """Stream the cases of the project page by page."""
        return self.paginate(f"/projects/{quote(project)}/cases", endpoint="GET /cases")

    async def get_case(self, project: str, uid: int | str) -> dict[str, Any]:
        """One case (``GET /cases/{id}``)."""
        result: dict[str, Any] = await self.request(
            "GET", f"/projects/{quote(project)}/cases/{uid}", endpoint="GET /cases/{id}"
        )
        return result

    def iter_cases_by_update(self, project: str) -> AsyncIterator[dict[str, Any]]:
        """Stream the cases of the project, most recently updated first
        (``orderBy=updatedAt&order=desc``), so a poll can stop at its cursor."""
        return self.paginate(
            f"/projects/{quote(project)}/cases",
            endpoint="GET /cases",
            params={"orderBy": "updatedAt", "order": "desc"},
        )

    async def delete_case(self, project: str, uid: int | str) -> None:
        """``DELETE /cases/{id}``."""
        await self.request(
            "DELETE", f"/projects/{quote(project)}/cases/{uid}", endpoint="DELETE /cases/{id}"
        )

    async def create_cases(
        self, project: str, cases: Sequence[Mapping[str, Any]]
    ) -> list[dict[str, Any]]:
        """Create cases in one request (``POST /cases`` takes an array of CreateCaseDTO) and
        return them as stored, in request order. Not idempotent: look up first."""
        result = await self.request(
            "POST",
            f"/projects/{quote(project)}/cases",
            endpoint="POST /cases",
            body=[dict(c) for c in cases],
        )
        if not isinstance(result, list) or len(result) != len(cases):
            raise UnexpectedResponse(
                f"testfiesta POST /cases answered {type(result).__name__} for {len(cases)} cases",
                hint="re-run the migration: existing cases are found by externalId",
            )
        return result

    # ------------------------------------------------------------------ fields, templates, tags

    async def list_custom_fields(self, project: str) -> list[dict[str, Any]]:
        """Custom fields of the project (``GET /customFields``)."""
        return await self._list(f"/projects/{quote(project)}/customFields", "GET /customFields")

    async def create_custom_field(
        self, project: str, *, name: str, field_type: str, options: Sequence[str] | None = None
    ) -> dict[str, Any]:
        """Create a custom field (CreateCustomFieldDto: ``name``, ``type`` from CustomFieldTypes,
        ``options`` for dropdown/multi/radio, ``source``)."""
        body: dict[str, Any] = {"name": name, "type": field_type, "source": "testrail"}
        if options:
            body["options"] = list(options)
        result: dict[str, Any] = await self.request(
            "POST",
            f"/projects/{quote(project)}/customFields",
            endpoint="POST /customFields",
            body=body,
        )
        return result

    async def list_templates(self, project: str) -> list[dict[str, Any]]:
        """Templates of the project (``GET /templates``)."""
        return await self._list(f"/projects/{quote(project)}/templates", "GET /templates")

    async def create_template(
        self, project: str, *, name: str, fields: Sequence[Mapping[str, Any]]
    ) -> dict[str, Any]:
        """Create a template (CreateTemplateDto: ``name``, ``templateFields`` of
        ``{id, name, dataType}``)."""
        result: dict[str, Any] = await self.request(
            "POST",
            f"/projects/{quote(project)}/templates",
            endpoint="POST /templates",
            body={"name": name, "templateFields": [dict(f) for f in fields]},
        )
        return result

    async def list_tags(self) -> list[dict[str, Any]]:
        """The organization's tags (``GET /tags``; tags are org-wide, not per project)."""
        return await self._list("/tags", "GET /tags")

    async def create_tag(self, name: str, entity_types: Sequence[str]) -> dict[str, Any]:
        """Create an org-wide tag (CreateTagDto: ``name``, ``entityTypes`` such as
        ``["cases"]``)."""
        result: dict[str, Any] = await self.request(
            "POST",
            "/tags",
            endpoint="POST /tags",
            body={"name": name, "entityTypes": list(entity_types)},
        )
        return result

    # ------------------------------------------------------------------ runs and executions

    async def list_runs(self, project: str) -> list[dict[str, Any]]:
        """Every run of the project (``GET /runs``; archived ones carry ``archivedAt``)."""
        return await self._list(f"/projects/{quote(project)}/runs", "GET /runs")

    async def create_run(self, project: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /runs`` (CreateRunDTO: ``name``*, ``description``, ``caseUids`` -- one
        execution per case --, ``externalId``, ``source`` ...)."""
        result: dict[str, Any] = await self.request(
            "POST", f"/projects/{quote(project)}/runs", endpoint="POST /runs", body=dict(body)
        )
        return result

    async def update_run(self, project: str, uid: int, body: Mapping[str, Any]) -> dict[str, Any]:
        """``PATCH /runs/{id}`` (UpdateRunDTO: ``name``, ``description``, ``archive`` ...)."""
        result: dict[str, Any] = await self.request(
            "PATCH",
            f"/projects/{quote(project)}/runs/{uid}",
            endpoint="PATCH /runs/{id}",
            body=dict(body),
        )
        return result

    async def list_milestones(self, project: str) -> list[dict[str, Any]]:
        """Every milestone of the project (``GET /milestones``; closed ones carry
        ``archivedAt``; dates and status in ``customFields``, §4.3)."""
        return await self._list(f"/projects/{quote(project)}/milestones", "GET /milestones")

    async def create_milestone(self, project: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /milestones`` (CreateMilestoneDTO: ``name``*, ``startDate``*, ``dueAt``*
        (ISO 8601), ``status``* (an org milestone status uid), ``description`` ...; §3.10)."""
        result: dict[str, Any] = await self.request(
            "POST",
            f"/projects/{quote(project)}/milestones",
            endpoint="POST /milestones",
            body=dict(body),
        )
        return result

    async def update_milestone(
        self, project: str, uid: int, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        """``PATCH /milestones/{id}`` (UpdateMilestoneDTO: the create fields, all optional,
        plus ``archived``; §3.10)."""
        result: dict[str, Any] = await self.request(
            "PATCH",
            f"/projects/{quote(project)}/milestones/{uid}",
            endpoint="PATCH /milestones/{id}",
            body=dict(body),
        )
        return result

    async def list_plans(self, project: str) -> list[dict[str, Any]]:
        """Every plan of the project (``GET /plans``; its runs and their configurations in
        ``customFields.testRuns``)."""
        return await self._list(f"/projects/{quote(project)}/plans", "GET /plans")

    async def create_plan(self, project: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /plans`` (CreatePlanDTO: ``name``*, ``description``, ``milestoneUids``,
        ``testRuns`` ``[{uid, configuration}]``, ``externalId``, ``source`` ...; §3.9)."""
        result: dict[str, Any] = await self.request(
            "POST", f"/projects/{quote(project)}/plans", endpoint="POST /plans", body=dict(body)
        )
        return result

    async def update_plan(self, project: str, uid: int, body: Mapping[str, Any]) -> dict[str, Any]:
        """``PATCH /plans/{id}`` (UpdatePlanDTO: ``name``, ``description``, ``milestoneUids``,
        ``runUids`` ...; no archive flag, §3.9)."""
        result: dict[str, Any] = await self.request(
            "PATCH",
            f"/projects/{quote(project)}/plans/{uid}",
            endpoint="PATCH /plans/{id}",
            body=dict(body),
        )
        return result

    def iter_executions_by_update(self, project: str) -> AsyncIterator[dict[str, Any]]:
        """The project's executions, most recently updated first (``GET /executions``)."""
        return self.paginate(
            f"/projects/{quote(project)}/executions",
            endpoint="GET /executions",
            params={"orderBy": "updatedAt", "order": "desc"},
        )

    async def get_execution(self, project: str, uid: int) -> dict[str, Any]:
        """One execution (``GET /executions/{id}``, E3): ``uid``, ``testCaseUid``,
        ``testRunUid``, ``externalId``, ``status``, ... Raises :class:`NotFound` when gone."""
        result: dict[str, Any] = await self.request(
            "GET",
            f"/projects/{quote(project)}/executions/{uid}",
            endpoint="GET /executions/{id}",
        )
        return result

    async def update_execution(
        self, project: str, uid: int, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        """``PATCH /executions/{id}`` (UpdateExecutionDTO; ``steps`` is required, ``[]``
        when only the status changes)."""
        result: dict[str, Any] = await self.request(
            "PATCH",
            f"/projects/{quote(project)}/executions/{uid}",
            endpoint="PATCH /executions/{id}",
            body={"steps": [], **dict(body)},
        )
        return result

    # ------------------------------------------------------------------ shared steps

    async def list_shared_steps(self, project: str) -> list[dict[str, Any]]:
        """Every live shared step of the project (``GET /shared-steps``, S1; ``{uid, name,
        steps, updatedAt ...}``)."""
        return await self._list(f"/projects/{quote(project)}/shared-steps", "GET /shared-steps")

    async def create_shared_step(self, project: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /shared-steps`` (CreateSharedStepDto: ``name``*, ``steps``* of
        SharedStepItem; testfiesta-api.md §3.4); the new shared step."""
        result: dict[str, Any] = await self.request(
            "POST",
            f"/projects/{quote(project)}/shared-steps",
            endpoint="POST /shared-steps",
            body=dict(body),
        )
        return result

    async def update_shared_step(
        self, project: str, uid: int, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        """``PATCH /shared-steps/{id}`` (UpdateSharedStepDto: ``name``, ``steps``)."""
        result: dict[str, Any] = await self.request(
            "PATCH",
            f"/projects/{quote(project)}/shared-steps/{uid}",
            endpoint="PATCH /shared-steps/{id}",
            body=dict(body),
        )
        return result

    async def delete_shared_step(self, project: str, uid: int) -> None:
        """``DELETE /shared-steps/{id}`` (S5)."""
        await self.request(
            "DELETE",
            f"/projects/{quote(project)}/shared-steps/{uid}",
            endpoint="DELETE /shared-steps/{id}",
        )

    # ------------------------------------------------------------------ signed-URL upload

    async def upload_urls(self, project: str, files: Sequence[Mapping[str, Any]]) -> list[Any]:
        """``POST /projects/{key}/data/url`` (testfiesta-api.md §3.13, undocumented, as
        TestFiesta's CLI uses it): ``files`` of ``{fileName, fileType, size, mediaType,
        externalId, runId?}`` -> one ``{fileName, signedUrl, objectUrl, key, clientHeaders,
        storagePath}`` per file, in order. Raises :class:`UnexpectedResponse` for another
        answer."""
        answer = await self.request(
            "POST",
            f"/projects/{quote(project)}/data/url",
            endpoint="POST /data/url",
            body={"files": [dict(f) for f in files]},
        )
        rows = answer.get("files") if isinstance(answer, dict) else None
        if not isinstance(rows, list) or len(rows) != len(files):
            raise UnexpectedResponse(
                f"testfiesta POST /data/url answered {str(answer)[:120]!r} for {len(files)} files",
                hint="the signed-URL upload is undocumented (testfiesta-api.md §3.13): check "
                "that the TestFiesta server still offers it",
            )
        return rows

    async def put_signed(
        self, url: str, content: bytes, content_type: str, headers: Mapping[str, str]
    ) -> None:
        """``PUT`` ``content`` to a signed upload URL, with ``headers`` (its
        ``clientHeaders``) and ``Content-Type``, **without** the API key (§3.13)."""
        await self.session.send(
            "PUT",
            url,
            endpoint="PUT <signed upload URL>",
            content=content,
            headers={**{str(k): str(v) for k, v in headers.items()}, "Content-Type": content_type},
            anonymous=True,
        )

    # ------------------------------------------------------------------ bulk upsert

    async def upsert_data(self, project: str, entities: Mapping[str, Sequence[Any]]) -> None:
        """``POST /projects/{key}/data``: upsert folders/cases/runs/executions keyed by
        (``source``, ``externalId``); answers 204 with no body (testfiesta-api.md §3.12).

        ``entities`` maps a group name to its entries: ``{"cases": [CaseData, ...]}``.
        """
        body = {"entities": {group: {"entries": list(rows)} for group, rows in entities.items()}}
        await self.request(
            "POST", f"/projects/{quote(project)}/data", endpoint="POST /data", body=body
        )
