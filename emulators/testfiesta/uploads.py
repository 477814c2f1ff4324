"""The undocumented signed-URL upload of testfiesta-api.md §3.13, as TestFiesta's own CLI
(tacotruck) uses it to attach files to cases and executions.

1. ``POST /v1/{handle}/projects/{key}/data/url`` (authenticated, JSON) with
   ``{"files": [{fileName, fileType, size, mediaType, externalId, runId?}]}`` answers
   ``{"files": [{fileName, signedUrl, objectUrl, key, clientHeaders, storagePath,
   externalId}]}``, one per file, in order. 400 when ``files`` is not a non-empty list or an
   item lacks ``fileName`` (string) or ``size`` (a number >= 0).
2. ``PUT <signedUrl>`` with **no** ``Authorization``, the ``clientHeaders`` plus
   ``Content-Type``, and the raw bytes as the body, answers 200 with an empty body (object
   storage's answer). The URL's ``signature`` must be the one handed out (403 otherwise); a
   key is written once (a second PUT replaces the bytes, as object storage does). It lives
   under :data:`STORAGE_PREFIX`, outside the API (the gate lets it through without a key).

[INF] Where an uploaded file ends up. With a ``runId`` (tacotruck sends one for the files of
a run's executions, whose ``externalId`` is their case's, §3.12): the execution of that run
whose own ``externalId``, or whose case's, is the file's becomes its owner; with none such,
the run. Without a ``runId``: the live case of the project with that ``externalId`` (listed by
the shim's ``get_attachments_for_case``), else the execution with it, else the plan with it.
tacotruck matches its files back by ``externalId::fileName``; it reads nothing back. A file
whose upload never arrived is no attachment. The bytes are kept as received (``_content``)
with their sha256; the owner in ``caseUid``, ``executionUid``, ``runUid`` or ``planUid`` (one
set, the others None).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from emulators.testfiesta.errors import ApiError, bad_request, parse_json
from emulators.testfiesta.state import Row, TestFiestaState

#: Path prefix of the emulated object storage (not part of either API).
STORAGE_PREFIX = "/storage/"


class UploadApi:
    """The two steps of the signed-URL upload over ``state`` (see the module docstring)."""

    def __init__(self, state: TestFiestaState, handle: str, secret: str) -> None:
        self.state = state
        self.handle = handle
        self._secret = secret.encode()
        #: storage key -> what POST /data/url promised (project, externalId, runId, name)
        self.pending: dict[str, Row] = {}

    def routes(self) -> list[Route]:
        """``POST /v1/{handle}/projects/{key}/data/url`` and ``PUT /storage/{key}``."""
        return [
            Route("/v1/{handle}/projects/{key}/data/url", self.data_url, methods=["POST"]),
            Route(STORAGE_PREFIX + "{key}", self.put_object, methods=["PUT"]),
        ]

    def _signature(self, key: str) -> str:
        return hmac.new(self._secret, key.encode(), hashlib.sha256).hexdigest()[:32]

    async def data_url(self, request: Request) -> Response:
        """Step 1: one signed URL per file (see the module docstring); 201."""
        if request.path_params["handle"] != self.handle:
            raise ApiError(404, f"organization {request.path_params['handle']!r} not found")
        project = self.state.project_row(request.path_params["key"])
        body = parse_json(await request.body())
        files = body.get("files") if isinstance(body, dict) else None
        if not isinstance(files, list) or not files:
            raise bad_request("files must be a non-empty array")
        out: list[dict[str, Any]] = []
        origin = f"{request.url.scheme}://{request.url.netloc}"
        for index, item in enumerate(files):
            if not isinstance(item, dict) or not isinstance(item.get("fileName"), str):
                raise bad_request(f"files[{index}].fileName must be a string")
            size = item.get("size")
            if not isinstance(size, int | float) or isinstance(size, bool) or size < 0:
                raise bad_request(f"files[{index}].size must be a number >= 0")
            key = f"{project['uid']}-{self.state.new_id()}"
            self.pending[key] = {
                "projectUid": project["uid"],
                "name": item["fileName"],
                "fileType": item.get("fileType"),
                "externalId": item.get("externalId"),
                "runId": item.get("runId"),
            }
            answer: dict[str, Any] = {
                "fileName": item["fileName"],
                "signedUrl": f"{origin}{STORAGE_PREFIX}{key}?signature={self._signature(key)}",
                "objectUrl": f"{origin}{STORAGE_PREFIX}{key}",
                "key": key,
                "clientHeaders": {},
                "storagePath": f"{self.handle}/{project['key']}/{key}",
            }
            if item.get("externalId") is not None:
                answer["externalId"] = item["externalId"]
            out.append(answer)
        return JSONResponse({"files": out}, status_code=201)

    async def put_object(self, request: Request) -> Response:
        """Step 2: store the body under the signed key; 403 for a wrong or missing
        signature or an unknown key."""
        key = request.path_params["key"]
        promised = self.pending.get(key)
        given = request.query_params.get("signature", "")
        if promised is None or not hmac.compare_digest(given, self._signature(key)):
            return Response(b"SignatureDoesNotMatch", status_code=403)
        content = await request.body()
        self._attach(key, promised, content, f"{request.url.scheme}://{request.url.netloc}")
        return Response(b"", status_code=200)

    def _owner(self, promised: Row) -> dict[str, Any]:
        """The owner of a promised file (see the module docstring): ``{caseUid, executionUid,
        runUid, planUid}``, one set (all None when nothing matches)."""
        db = self.state.db
        project_uid = promised["projectUid"]
        external = promised.get("externalId")
        run_uid = promised.get("runId")
        owner: dict[str, Any] = dict.fromkeys(("caseUid", "executionUid", "runUid", "planUid"))

        def named(row: Row | None) -> bool:
            return (
                row is not None
                and bool(external)
                and row.get("externalId") == external
                and row.get("projectUid") == project_uid
                and row.get("deletedAt") is None
            )

        if run_uid is not None:
            for execution in self.state.run_execution_rows(run_uid):
                case_uid = execution.get("testCaseUid")
                if named(execution) or (case_uid is not None and named(db.cases.get(case_uid))):
                    owner["executionUid"] = execution["uid"]
                    return owner
            run = db.runs.get(run_uid)
            if run is not None and run.get("projectUid") == project_uid:
                owner["runUid"] = run_uid
            return owner
        for name, rows in (
            ("caseUid", db.cases),
            ("executionUid", db.executions),
            ("planUid", db.plans),
        ):
            found = next((r for r in rows.values() if named(r)), None)
            if found is not None:
                owner[name] = found["uid"]
                return owner
        return owner

    def _attach(self, key: str, promised: Row, content: bytes, origin: str) -> None:
        db = self.state.db
        project_uid = promised["projectUid"]
        existing = next((a for a in db.attachments.values() if a.get("_key") == key), None)
        row: Row = existing or {"uid": self.state.new_uid()}
        row.update(
            {
                **self._owner(promised),
                "projectUid": project_uid,
                "name": promised["name"],
                "size": len(content),
                "sha256": hashlib.sha256(content).hexdigest(),
                "objectUrl": f"{origin}{STORAGE_PREFIX}{key}",
                "createdBy": self.state.user_uid,
                "createdAt": self.state.now(),
                "_key": key,
                "_content": content,
            }
        )
        db.attachments[row["uid"]] = row
