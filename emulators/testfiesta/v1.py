"""The TestFiesta v1 REST API at ``/v1/{handle}/...`` (spec 0.67.1; testfiesta-api.md §2-§4).

Operations (ids as in testfiesta-api.md §2): projects P1-P2, folders F1-F5, cases C1-C4, shared
steps S1-S5, templates T1-T5, custom fields CF1-CF5, tags G1-G5, runs R1-R5, plans PL1-PL4,
milestones M1-M5, executions E1-E4, and the bulk import D1 (:mod:`emulators.testfiesta.bulk`).
Nothing else: there is no case update, no project GET/PATCH/DELETE, no results, attachments,
users or configurations in v1, and the emulator has none either.

Rules every operation follows:

- ``{handle}`` must be the emulator's handle, else 404; ``{key}`` must name a live project,
  else 404. (Auth is checked before routing, see :mod:`emulators.testfiesta.app`.)
- Bodies are validated against the spec's DTOs (:mod:`emulators.testfiesta.dto`): unknown keys
  of an ``additionalProperties: false`` DTO, missing required fields and wrong types -> 400.
- References (parent folder, template, tags, cases, runs, milestones, priorities, statuses)
  must exist in the project, else 400 naming the field [INF].
- Updates use PATCH; PUT is accepted too on runs, folders, tags and custom fields, because
  tacotruck sends PUT there (§1.5). Templates and milestones: PATCH only.
- Path ids: a non-numeric id where a number is expected answers 404 [INF].
- DELETE answers ``{"message": "..."}`` (200) and soft-deletes.
- Unmatched paths and methods answer 404 ``Cannot <METHOD> <path>`` (NestJS) [INF].
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from emulators.testfiesta import dto as D
from emulators.testfiesta.bulk import import_data
from emulators.testfiesta.errors import ApiError, bad_request, not_found, parse_json
from emulators.testfiesta.listing import (
    COMMON_ORDER,
    Q_BOOLEAN,
    Q_NUMBER,
    Q_NUMBERS,
    Q_STRING,
    Q_STRINGS,
    paginate,
    parse_page,
)
from emulators.testfiesta.resolve import (
    apply_tag_names,
    as_uid,
    is_digits,
    iso_or_400,
    resolve_case_fields,
    resolve_uids,
)
from emulators.testfiesta.state import Row, TestFiestaState, live, parse_iso, public, slugify

Handler = Callable[[Request], Awaitable[Any]]


async def read_json(request: Request) -> Any:
    """The parsed JSON body; 400 if it is empty or not JSON."""
    raw = await request.body()
    if not raw.strip():
        raise bad_request("a JSON request body is required")
    return parse_json(raw)


def path_uid(request: Request, kind: str, name: str = "id") -> int:
    """The numeric path id ``name``; 404 naming ``kind`` if it is not a whole number."""
    raw = request.path_params[name]
    if is_digits(raw):
        return int(raw)
    raise not_found(f"{kind} {raw!r} not found")


def archived_at(state: TestFiestaState, row: Row, archived: bool) -> str | None:
    """The ``archivedAt`` an archive flag asks for: kept if already archived, now if newly
    archived, None when unarchived."""
    if not archived:
        return None
    return row["archivedAt"] or state.now()


def deleted(kind: str, uid: Any) -> dict[str, str]:
    """The DELETE answer: ``{"message": "<kind> <uid> deleted"}``."""
    return {"message": f"{kind} {uid} deleted"}


# --- order fields per list --------------------------------------------------------------------

PROJECT_ORDER = (*COMMON_ORDER, "key")
FOLDER_ORDER = (*COMMON_ORDER, "parentUid", "position", "path")
CASE_ORDER = (
    *COMMON_ORDER,
    "parentUid",
    "priority",
    "status",
    "testCaseRef",
    "externalCreatedAt",
    "externalUpdatedAt",
)
TEMPLATE_ORDER = COMMON_ORDER
CUSTOM_FIELD_ORDER = (*COMMON_ORDER, "type", "slug")
TAG_ORDER = (*COMMON_ORDER, "archivedAt")
RUN_ORDER = (*COMMON_ORDER, "archivedAt")
EXECUTION_ORDER = (*COMMON_ORDER, "status", "priority", "testCaseUid", "testRunUid", "dueAt")
SHARED_STEP_ORDER = ("uid", "name", "createdAt", "updatedAt")


class V1Api:
    """The v1 handlers over one :class:`TestFiestaState`, for the organisation ``handle``.

    :meth:`routes` lists the Starlette routes; each handler returns a JSON-able value (200) or
    a :class:`Response`, and raises :class:`ApiError` for errors.
    """

    def __init__(self, state: TestFiestaState, handle: str) -> None:
        self.state = state
        self.handle = handle

    # --- plumbing ----------------------------------------------------------------------------

    def _endpoint(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            handle = request.path_params["handle"]
            if handle != self.handle:
                raise not_found(f"organization {handle!r} not found")
            result = await handler(request)
            if isinstance(result, Response):
                return result
            return JSONResponse(result)

        return endpoint

    def _project(self, request: Request) -> Row:
        return self.state.project_row(request.path_params["key"])

    @staticmethod
    def _project_rows(table: Mapping[Any, Row], project: Row) -> list[Row]:
        """The live rows of ``table`` that belong to ``project``, in creation order."""
        return [r for r in live(table.values()) if r["projectUid"] == project["uid"]]

    def routes(self) -> list[Route]:
        """The v1 routes, one per (path, method) the spec has (+ the PUT aliases of §1.5)."""
        base = "/v1/{handle}"
        proj = base + "/projects/{key}"
        table: list[tuple[str, str, Handler]] = [
            (base + "/projects", "GET", self.list_projects),
            (base + "/projects", "POST", self.create_project),
            (proj + "/folders", "GET", self.list_folders),
            (proj + "/folders", "POST", self.create_folder),
            (proj + "/folders/{id}", "GET", self.get_folder),
            (proj + "/folders/{id}", "PATCH", self.update_folder),
            (proj + "/folders/{id}", "PUT", self.update_folder),
            (proj + "/folders/{id}", "DELETE", self.delete_folder),
            (proj + "/cases", "GET", self.list_cases),
            (proj + "/cases", "POST", self.create_cases),
            (proj + "/cases/{id}", "GET", self.get_case),
            (proj + "/cases/{id}", "DELETE", self.delete_case),
            (proj + "/customFields", "GET", self.list_custom_fields),
            (proj + "/customFields", "POST", self.create_custom_field),
            (proj + "/customFields/{id}", "GET", self.get_custom_field),
            (proj + "/customFields/{id}", "PATCH", self.update_custom_field),
            (proj + "/customFields/{id}", "PUT", self.update_custom_field),
            (proj + "/customFields/{id}", "DELETE", self.delete_custom_field),
            (proj + "/templates", "GET", self.list_templates),
            (proj + "/templates", "POST", self.create_template),
            (proj + "/templates/{id}", "GET", self.get_template),
            (proj + "/templates/{id}", "PATCH", self.update_template),
            (proj + "/templates/{id}", "DELETE", self.delete_template),
            (base + "/tags", "GET", self.list_tags),
            (base + "/tags", "POST", self.create_tag),
            (base + "/tags/{id}", "GET", self.get_tag),
            (base + "/tags/{id}", "PATCH", self.update_tag),
            (base + "/tags/{id}", "PUT", self.update_tag),
            (base + "/tags/{id}", "DELETE", self.delete_tag),
            (proj + "/runs", "GET", self.list_runs),
            (proj + "/runs", "POST", self.create_run),
            (proj + "/runs/{id}", "GET", self.get_run),
            (proj + "/runs/{id}", "PATCH", self.update_run),
            (proj + "/runs/{id}", "PUT", self.update_run),
            (proj + "/runs/{id}", "DELETE", self.delete_run),
            (proj + "/milestones", "GET", self.list_milestones),
            (proj + "/milestones", "POST", self.create_milestone),
            (proj + "/milestones/{id}", "GET", self.get_milestone),
            (proj + "/milestones/{id}", "PATCH", self.update_milestone),
            (proj + "/milestones/{id}", "DELETE", self.delete_milestone),
            (proj + "/plans", "GET", self.list_plans),
            (proj + "/plans", "POST", self.create_plan),
            (proj + "/plans/{id}", "GET", self.get_plan),
            (proj + "/plans/{id}", "PATCH", self.update_plan),
            (proj + "/executions", "GET", self.list_executions),
            (proj + "/executions", "POST", self.create_execution),
            (proj + "/executions/{id}", "GET", self.get_execution),
            (proj + "/executions/{id}", "PATCH", self.update_execution),
            (proj + "/shared-steps", "GET", self.list_shared_steps),
            (proj + "/shared-steps", "POST", self.create_shared_step),
            (proj + "/shared-steps/{id}", "GET", self.get_shared_step),
            (proj + "/shared-steps/{id}", "PATCH", self.update_shared_step),
            (proj + "/shared-steps/{id}", "DELETE", self.delete_shared_step),
            (proj + "/data", "POST", self.post_data),
        ]
        return [Route(path, self._endpoint(fn), methods=[method]) for path, method, fn in table]

    # --- projects (P1, P2) -------------------------------------------------------------------

    async def list_projects(self, request: Request) -> Any:
        """P1 GET /projects: the org's live projects, paginated."""
        page = parse_page(request.query_params, PROJECT_ORDER)
        return paginate(live(self.state.db.projects.values()), page, public)

    async def create_project(self, request: Request) -> Any:
        """P2 POST /projects (CreateProjectDto) -> the project ``{uid, name, key, customFields,
        externalId, source, createdAt, updatedAt, archivedAt, deletedAt, createdBy}``.
        Also creates the root folder and default templates. 409 on a taken key [INF];
        400 on an empty name or key [INF]."""
        body = D.validate(await read_json(request), D.CREATE_PROJECT)
        for key in ("name", "key"):
            if not body[key].strip():
                raise bad_request(f"body.{key} must not be empty")
        row = self.state.create_project(
            body["name"],
            body["key"],
            custom_fields=body["customFields"],
            external_id=body.get("externalId"),
            source=body.get("source"),
        )
        return public(row)

    # --- folders (F1-F5) ---------------------------------------------------------------------

    async def list_folders(self, request: Request) -> Any:
        """F1: the project's live folders as a flat list (root included, ``parentUid`` null);
        the tree is ``parentUid`` / dotted ``path`` of uids (§4.1)."""
        project = self._project(request)
        page = parse_page(request.query_params, FOLDER_ORDER)
        return paginate(self._project_rows(self.state.db.folders, project), page, public)

    async def create_folder(self, request: Request) -> Any:
        """F2 (CreateFolderDto): ``parentId`` (spec) or ``parentUid`` (tacotruck, §1.5) names
        the parent folder (the root folder's uid for a top-level folder); ``projectUid`` must be
        this project's uid [INF]. ``position`` and ``integrationUid`` are kept if sent."""
        project = self._project(request)
        body = D.validate(await read_json(request), D.CREATE_FOLDER)
        parents = {as_uid(body[k]) for k in ("parentId", "parentUid") if k in body}
        if not parents:
            raise bad_request("body.parentId is required")
        if len(parents) > 1:
            raise bad_request("body.parentId and body.parentUid name different folders")
        if as_uid(body["projectUid"]) != project["uid"]:
            raise bad_request(
                f"body.projectUid: {body['projectUid']!r} is not the uid of project "
                f"{project['key']!r} ({project['uid']})"
            )
        row = self.state.create_folder(
            project["uid"],
            body["name"],
            parents.pop(),
            external_id=body.get("externalId"),
            source=body.get("source"),
            custom_fields=body.get("customFields"),
            position=body.get("position"),
            integration_uid=body.get("integrationUid"),
        )
        return public(row)

    async def get_folder(self, request: Request) -> Any:
        """F3: one live folder of the project."""
        project = self._project(request)
        return public(self.state.folder_row(project["uid"], path_uid(request, "folder")))

    async def update_folder(self, request: Request) -> Any:
        """F4 (UpdateFolderDto; PATCH, or PUT per §1.5): ``name``, ``externalId``, ``source``,
        ``customFields`` (replaces the object [INF]), ``parentId`` (moves the folder and its
        subtree; not the root, not into itself), ``status`` (kept as ``customFields.status``
        [INF]: the folder shape has no status field)."""
        project = self._project(request)
        row = self.state.folder_row(project["uid"], path_uid(request, "folder"))
        body = D.validate(await read_json(request), D.UPDATE_FOLDER)
        if "parentId" in body:
            self.state.move_folder(row, as_uid(body["parentId"]))
        changes: dict[str, Any] = {
            k: copy.deepcopy(body[k]) for k in ("name", "externalId", "source") if k in body
        }
        custom: dict[str, Any] = copy.deepcopy(
            body["customFields"] if "customFields" in body else row["customFields"]
        )
        if "status" in body:
            custom["status"] = body["status"]
        changes["customFields"] = custom
        self.state.update(row, changes)
        return public(row)

    async def delete_folder(self, request: Request) -> Any:
        """F5: soft-deletes the folder, its sub-folders and their cases; 400 on the root."""
        project = self._project(request)
        row = self.state.folder_row(project["uid"], path_uid(request, "folder"))
        self.state.delete_folder(row)
        return deleted("folder", row["uid"])

    # --- cases (C1-C4) -----------------------------------------------------------------------

    async def list_cases(self, request: Request) -> Any:
        """C1: live cases of the project, paginated; ``priority`` filters by priority uid or
        name, ``tag`` by tag uid or name [INF: the spec types both as strings]."""
        project = self._project(request)
        page = parse_page(request.query_params, CASE_ORDER, {"priority": Q_STRING, "tag": Q_STRING})
        rows = self._project_rows(self.state.db.cases, project)
        if "priority" in page.extras:
            wanted = page.extras["priority"]
            uids = {p.uid for p in self.state.priorities if wanted in (str(p.uid), p.name)}
            rows = [r for r in rows if r["priority"] in uids]
        if "tag" in page.extras:
            wanted = page.extras["tag"]
            tag_uids = {
                t["uid"]
                for t in live(self.state.db.tags.values())
                if wanted in (str(t["uid"]), t["name"])
            }
            rows = [r for r in rows if tag_uids.intersection(r["_tagUids"])]
        return paginate(rows, page, self.state.render_case)

    async def create_cases(self, request: Request) -> Any:
        """C2: the body is an **array** of CreateCaseDTO; answers the array of created cases
        (§4.4 shape). Always creates (no dedupe). Every item is validated and resolved before
        any is created (all-or-nothing [INF]); an empty array answers ``[]``."""
        project = self._project(request)
        body = await read_json(request)
        if not isinstance(body, list):
            raise bad_request("the body must be an array of CreateCaseDTO")
        resolved = []
        for index, item in enumerate(body):
            where = f"body[{index}]"
            D.validate(item, D.CREATE_CASE, where)
            resolved.append(resolve_case_fields(self.state, project, item, where))
        created = [
            self.state.create_case(project["uid"], apply_tag_names(self.state, fields))
            for fields in resolved
        ]
        return [self.state.render_case(row) for row in created]

    async def get_case(self, request: Request) -> Any:
        """C3: one live case."""
        project = self._project(request)
        return self.state.render_case(
            self.state.case_row(project["uid"], path_uid(request, "case"))
        )

    async def delete_case(self, request: Request) -> Any:
        """C4: soft-deletes the case."""
        project = self._project(request)
        row = self.state.case_row(project["uid"], path_uid(request, "case"))
        self.state.soft_delete(row)
        return deleted("case", row["uid"])

    # --- custom fields (CF1-CF5) -------------------------------------------------------------

    async def list_custom_fields(self, request: Request) -> Any:
        """CF1: the project's live custom fields (§4.6 shape), paginated."""
        project = self._project(request)
        page = parse_page(request.query_params, CUSTOM_FIELD_ORDER)
        rows = self._project_rows(self.state.db.custom_fields, project)
        return paginate(rows, page, public)

    async def create_custom_field(self, request: Request) -> Any:
        """CF2 (CreateCustomFieldDto + ``entityTypes`` per §1.5): uid ``"cf-<n>"``; 409 on a
        duplicate name in the project [INF]."""
        project = self._project(request)
        body = D.validate(await read_json(request), D.CREATE_CUSTOM_FIELD)
        return public(self.state.create_custom_field(project["uid"], body))

    async def get_custom_field(self, request: Request) -> Any:
        """CF3: one custom field by its string uid."""
        project = self._project(request)
        return public(self.state.custom_field_row(project["uid"], request.path_params["id"]))

    async def update_custom_field(self, request: Request) -> Any:
        """CF4 (UpdateCustomFieldDto + ``description`` per §1.5; PATCH or PUT). Renaming
        updates ``slug``; 409 if another live field has the new name [INF]."""
        project = self._project(request)
        row = self.state.custom_field_row(project["uid"], request.path_params["id"])
        body = D.validate(await read_json(request), D.UPDATE_CUSTOM_FIELD)
        changes = {k: copy.deepcopy(v) for k, v in body.items()}
        if "name" in body:
            for other in live(self.state.db.custom_fields.values()):
                same = other["projectUid"] == project["uid"] and other["name"] == body["name"]
                if same and other is not row:
                    raise ApiError(409, f"a custom field named {body['name']!r} already exists")
            changes["slug"] = slugify(body["name"])
        self.state.update(row, changes)
        return public(row)

    async def delete_custom_field(self, request: Request) -> Any:
        """CF5: soft-deletes the custom field (values on cases stay [INF])."""
        project = self._project(request)
        row = self.state.custom_field_row(project["uid"], request.path_params["id"])
        self.state.soft_delete(row)
        return deleted("custom field", row["uid"])

    # --- templates (T1-T5) -------------------------------------------------------------------

    async def list_templates(self, request: Request) -> Any:
        """T1: templates (§4.5), paginated; extras ``name`` (substring, case-insensitive
        [INF]), ``createdByIds`` (user UUIDs), ``creationStartDate``/``creationEndDate``
        (ISO, inclusive bounds on ``createdAt`` [INF])."""
        project = self._project(request)
        page = parse_page(
            request.query_params,
            TEMPLATE_ORDER,
            {
                "name": Q_STRING,
                "createdByIds": Q_STRINGS,
                "creationStartDate": Q_STRING,
                "creationEndDate": Q_STRING,
            },
        )
        rows = self._project_rows(self.state.db.templates, project)
        extras = page.extras
        if "name" in extras:
            rows = [r for r in rows if extras["name"].casefold() in r["name"].casefold()]
        if "createdByIds" in extras:
            rows = [r for r in rows if r["createdBy"] in extras["createdByIds"]]
        if "creationStartDate" in extras:
            start = parse_iso(iso_or_400(extras["creationStartDate"], "creationStartDate"))
            rows = [r for r in rows if parse_iso(r["createdAt"]) >= start]
        if "creationEndDate" in extras:
            end = parse_iso(iso_or_400(extras["creationEndDate"], "creationEndDate"))
            rows = [r for r in rows if parse_iso(r["createdAt"]) <= end]
        return paginate(rows, page, public)

    async def create_template(self, request: Request) -> Any:
        """T2 (CreateTemplateDto): fields land in ``customFields.templateFields``."""
        project = self._project(request)
        body = D.validate(await read_json(request), D.CREATE_TEMPLATE)
        row = self.state.create_template(
            project["uid"], body["name"], body.get("templateFields", [])
        )
        return public(row)

    async def get_template(self, request: Request) -> Any:
        """T3: one template (the spec types this id as a string; a numeric one is required)."""
        project = self._project(request)
        return public(self.state.template_row(project["uid"], path_uid(request, "template")))

    async def update_template(self, request: Request) -> Any:
        """T4 (UpdateTemplateDto, PATCH): ``name``; ``templateFields`` replaces the list."""
        project = self._project(request)
        row = self.state.template_row(project["uid"], path_uid(request, "template"))
        body = D.validate(await read_json(request), D.UPDATE_TEMPLATE)
        changes: dict[str, Any] = {}
        if "name" in body:
            changes["name"] = body["name"]
        if "templateFields" in body:
            changes["customFields"] = {
                **row["customFields"],
                "templateFields": copy.deepcopy(body["templateFields"]),
            }
        self.state.update(row, changes)
        return public(row)

    async def delete_template(self, request: Request) -> Any:
        """T5: soft-deletes the template (cases keep their ``testCaseTemplateUid`` [INF])."""
        project = self._project(request)
        row = self.state.template_row(project["uid"], path_uid(request, "template"))
        self.state.soft_delete(row)
        return deleted("template", row["uid"])

    # --- tags (G1-G5, org level) -------------------------------------------------------------

    async def list_tags(self, request: Request) -> Any:
        """G1: the org's live tags (archived ones included, with ``archivedAt``), paginated;
        ``entityType`` keeps tags whose ``entityTypes`` contain it."""
        page = parse_page(request.query_params, TAG_ORDER, {"entityType": Q_STRING})
        rows = live(self.state.db.tags.values())
        if "entityType" in page.extras:
            rows = [r for r in rows if page.extras["entityType"] in (r["entityTypes"] or [])]
        return paginate(rows, page, public)

    async def create_tag(self, request: Request) -> Any:
        """G2 (CreateTagDto; ``entityTypes`` required): envelope with ``systemType: tag`` and
        ``projectUid: null``; 409 on a duplicate name [INF]."""
        body = D.validate(await read_json(request), D.CREATE_TAG)
        row = self.state.create_tag(body["name"], body["entityTypes"], body.get("description"))
        return public(row)

    async def get_tag(self, request: Request) -> Any:
        """G3: one live tag."""
        return public(self.state.tag_row(path_uid(request, "tag")))

    async def update_tag(self, request: Request) -> Any:
        """G4 (UpdateTagDto; PATCH or PUT): ``archived`` sets/clears ``archivedAt``."""
        row = self.state.tag_row(path_uid(request, "tag"))
        body = D.validate(await read_json(request), D.UPDATE_TAG)
        if "name" in body:
            other = self.state.tag_named(body["name"])
            if other is not None and other is not row:
                raise ApiError(409, f"a tag named {body['name']!r} already exists")
        changes: dict[str, Any] = {
            k: copy.deepcopy(body[k]) for k in ("name", "description", "entityTypes") if k in body
        }
        if "archived" in body:
            changes["archivedAt"] = archived_at(self.state, row, body["archived"])
        self.state.update(row, changes)
        return public(row)

    async def delete_tag(self, request: Request) -> Any:
        """G5: soft-deletes the tag; it disappears from the ``tags`` of cases."""
        row = self.state.tag_row(path_uid(request, "tag"))
        self.state.soft_delete(row)
        return deleted("tag", row["uid"])

    # --- runs (R1-R5) ------------------------------------------------------------------------

    async def list_runs(self, request: Request) -> Any:
        """R1: live runs (envelope ``systemType: run``; attributes in customFields, §4.2)."""
        project = self._project(request)
        page = parse_page(request.query_params, RUN_ORDER)
        return paginate(self._project_rows(self.state.db.runs, project), page, public)

    async def create_run(self, request: Request) -> Any:
        """R2 (CreateRunDTO). ``customFields`` gets ``status``, ``priority``, ``dueAt``,
        ``link``, ``configs``, ``tagUids``, ``milestoneUids`` when sent, and ``caseCount``,
        ``frequency``, ``progress``; every ``caseUids`` case gets an execution in the untested
        status [INF]. Run ``status``/``priority`` are stored as sent (no catalogue) [INF]."""
        project = self._project(request)
        body = D.validate(await read_json(request), D.CREATE_RUN)
        state, puid = self.state, project["uid"]
        custom: dict[str, Any] = {}
        for key in ("status", "priority", "link"):
            if key in body:
                custom[key] = body[key]
        if "dueAt" in body:
            custom["dueAt"] = iso_or_400(body["dueAt"], "body.dueAt")
        if "configs" in body:
            custom["configs"] = list(body["configs"])
        custom["tagUids"] = resolve_uids(body.get("tagUids", []), state.tag_row, "body.tagUids")
        custom["milestoneUids"] = resolve_uids(
            body.get("milestoneUids", []),
            lambda uid, where: state.milestone_row(puid, uid, where),
            "body.milestoneUids",
        )
        case_uids = resolve_uids(
            body.get("caseUids", []),
            lambda uid, where: state.case_row(puid, uid, where),
            "body.caseUids",
        )
        attrs: dict[str, Any] = {"customFields": custom}
        for key in ("description", "externalId", "source"):
            if key in body:
                attrs[key] = body[key]
        run = state.create_run(puid, body["name"], attrs)
        untested = state.untested_status()
        for case_uid in case_uids:
            case = state.db.cases[case_uid]
            state.create_execution(
                puid,
                {
                    "testCaseUid": case_uid,
                    "testCaseRef": case["testCaseRef"],
                    "testRunUid": run["uid"],
                    "name": case["name"],
                    "status": untested.uid if untested else None,
                    "priority": case["priority"],
                    "steps": state.execution_steps(case),
                },
            )
        return public(run)

    async def get_run(self, request: Request) -> Any:
        """R3: one live run."""
        project = self._project(request)
        return public(self.state.run_row(project["uid"], path_uid(request, "run")))

    async def update_run(self, request: Request) -> Any:
        """R4 (UpdateRunDTO; PATCH or PUT). Relations change by deltas: add/remove milestone,
        tag and plan uids (plans get/lose the run in their ``testRuns``); ``archive`` sets or
        clears ``archivedAt``; ``configs`` replaces the list."""
        project = self._project(request)
        state, puid = self.state, project["uid"]
        run = state.run_row(puid, path_uid(request, "run"))
        body = D.validate(await read_json(request), D.UPDATE_RUN)
        custom = copy.deepcopy(run["customFields"])
        changes: dict[str, Any] = {}
        for key in ("name", "description"):
            if key in body:
                changes[key] = body[key]
        for key in ("status", "priority"):
            if key in body:
                custom[key] = body[key]
        if "dueAt" in body:
            custom["dueAt"] = iso_or_400(body["dueAt"], "body.dueAt")
        if "configs" in body:
            custom["configs"] = list(body["configs"])
        milestone = lambda uid, where: state.milestone_row(puid, uid, where)  # noqa: E731
        plan = lambda uid, where: state.plan_row(puid, uid, where)  # noqa: E731
        for name, lookup in (("Milestone", milestone), ("Tag", state.tag_row)):
            field = name.lower() + "Uids"
            current = list(custom.get(field, []))
            for uid in resolve_uids(body.get(f"add{name}Uids", []), lookup, f"body.add{name}Uids"):
                if uid not in current:
                    current.append(uid)
            removed = {as_uid(v) for v in body.get(f"remove{name}Uids", [])}
            custom[field] = [uid for uid in current if uid not in removed]
        added_plans = resolve_uids(body.get("addPlanUids", []), plan, "body.addPlanUids")
        removed_plans = resolve_uids(body.get("removePlanUids", []), plan, "body.removePlanUids")
        for plan_uid in added_plans:
            plan_row = state.db.plans[plan_uid]
            runs = copy.deepcopy(plan_row["customFields"]["testRuns"])
            if all(item["uid"] != run["uid"] for item in runs):
                runs.append({"uid": run["uid"], "configuration": {"type": "simple", "sets": []}})
            state.update(plan_row, {"customFields": {**plan_row["customFields"], "testRuns": runs}})
        for plan_uid in removed_plans:
            plan_row = state.db.plans[plan_uid]
            runs = [r for r in plan_row["customFields"]["testRuns"] if r["uid"] != run["uid"]]
            state.update(plan_row, {"customFields": {**plan_row["customFields"], "testRuns": runs}})
        if "archive" in body:
            changes["archivedAt"] = archived_at(self.state, run, body["archive"])
        changes["customFields"] = custom
        state.update(run, changes)
        return public(run)

    async def delete_run(self, request: Request) -> Any:
        """R5: soft-deletes the run and its executions [INF]."""
        project = self._project(request)
        run = self.state.run_row(project["uid"], path_uid(request, "run"))
        for execution in self.state.run_execution_rows(run["uid"]):
            self.state.soft_delete(execution)
        self.state.soft_delete(run)
        return deleted("run", run["uid"])

    # --- milestones (M1-M5) ------------------------------------------------------------------

    async def list_milestones(self, request: Request) -> Any:
        """M1: live milestones (envelope ``systemType: milestone``; §4.3)."""
        project = self._project(request)
        page = parse_page(request.query_params, RUN_ORDER)
        return paginate(self._project_rows(self.state.db.milestones, project), page, public)

    def _link_milestone(self, project: Row, milestone_uid: int, body: dict[str, Any]) -> None:
        """``runIds``/``planIds`` of a milestone DTO: the listed runs and plans carry the
        milestone in ``customFields.milestoneUids``, the project's other ones lose it [INF]."""
        state, puid = self.state, project["uid"]
        for field, table, lookup in (
            ("runIds", state.db.runs, state.run_row),
            ("planIds", state.db.plans, state.plan_row),
        ):
            if field not in body:
                continue
            wanted = resolve_uids(
                body[field], lambda uid, where, f=lookup: f(puid, uid, where), f"body.{field}"
            )
            for row in self._project_rows(table, project):
                current = list(row["customFields"].get("milestoneUids", []))
                if row["uid"] in wanted and milestone_uid not in current:
                    current.append(milestone_uid)
                elif row["uid"] not in wanted and milestone_uid in current:
                    current.remove(milestone_uid)
                else:
                    continue
                state.update(
                    row, {"customFields": {**row["customFields"], "milestoneUids": current}}
                )

    def _check_milestone_links(self, project: Row, body: dict[str, Any]) -> None:
        puid = project["uid"]
        resolve_uids(
            body.get("runIds", []),
            lambda u, where: self.state.run_row(puid, u, where),
            "body.runIds",
        )
        resolve_uids(
            body.get("planIds", []),
            lambda u, where: self.state.plan_row(puid, u, where),
            "body.planIds",
        )
        resolve_uids(body.get("tagUids", []), self.state.tag_row, "body.tagUids")

    async def create_milestone(self, request: Request) -> Any:
        """M2 (CreateMilestoneDTO: name, startDate, dueAt, status required). ``customFields``
        holds ``startDate``, ``dueAt``, ``status``, ``tagUids``, ``progress``; milestone
        ``status`` is stored as sent (no catalogue) [INF]."""
        project = self._project(request)
        body = D.validate(await read_json(request), D.CREATE_MILESTONE)
        self._check_milestone_links(project, body)
        row = self.state.new_envelope("milestone", body["name"], project["uid"])
        row["description"] = body.get("description")
        row["customFields"] = {
            "startDate": iso_or_400(body["startDate"], "body.startDate"),
            "dueAt": iso_or_400(body["dueAt"], "body.dueAt"),
            "status": body["status"],
            "tagUids": [as_uid(v) for v in body.get("tagUids", [])],
            "progress": 0,
        }
        self.state.db.milestones[row["uid"]] = row
        self._link_milestone(project, row["uid"], body)
        return public(row)

    async def get_milestone(self, request: Request) -> Any:
        """M3: one live milestone."""
        project = self._project(request)
        return public(self.state.milestone_row(project["uid"], path_uid(request, "milestone")))

    async def update_milestone(self, request: Request) -> Any:
        """M4 (UpdateMilestoneDTO, PATCH): fields as in M2; ``runIds``/``planIds`` replace the
        linked sets [INF]; ``archived`` sets or clears ``archivedAt`` (closed)."""
        project = self._project(request)
        row = self.state.milestone_row(project["uid"], path_uid(request, "milestone"))
        body = D.validate(await read_json(request), D.UPDATE_MILESTONE)
        self._check_milestone_links(project, body)
        custom = copy.deepcopy(row["customFields"])
        changes: dict[str, Any] = {}
        for key in ("name", "description"):
            if key in body:
                changes[key] = body[key]
        for key in ("startDate", "dueAt"):
            if key in body:
                custom[key] = iso_or_400(body[key], f"body.{key}")
        if "status" in body:
            custom["status"] = body["status"]
        if "tagUids" in body:
            custom["tagUids"] = [as_uid(v) for v in body["tagUids"]]
        if "archived" in body:
            changes["archivedAt"] = archived_at(self.state, row, body["archived"])
        changes["customFields"] = custom
        self.state.update(row, changes)
        self._link_milestone(project, row["uid"], body)
        return public(row)

    async def delete_milestone(self, request: Request) -> Any:
        """M5: soft-deletes the milestone."""
        project = self._project(request)
        row = self.state.milestone_row(project["uid"], path_uid(request, "milestone"))
        self.state.soft_delete(row)
        return deleted("milestone", row["uid"])

    # --- plans (PL1-PL4) ---------------------------------------------------------------------

    async def list_plans(self, request: Request) -> Any:
        """PL1: live plans, paginated. The filters the spec marks required (``archived``,
        ``minRunCount``, ``minCreatedAt``, ``minProgress``, ``projectUid``) are optional here
        (§1.5). Run count = ``len(customFields.testRuns)``; progress = ``customFields.progress``."""
        project = self._project(request)
        page = parse_page(
            request.query_params,
            RUN_ORDER,
            {
                "status": Q_NUMBER,
                "priority": Q_NUMBER,
                "statusUids": Q_NUMBERS,
                "priorityUids": Q_NUMBERS,
                "archived": Q_BOOLEAN,
                "minRunCount": Q_NUMBER,
                "maxRunCount": Q_NUMBER,
                "minCreatedAt": Q_STRING,
                "maxCreatedAt": Q_STRING,
                "minProgress": Q_NUMBER,
                "maxProgress": Q_NUMBER,
                "tagUids": Q_NUMBERS,
                "milestoneUids": Q_NUMBERS,
                "projectUid": Q_NUMBER,
            },
        )
        rows = self._project_rows(self.state.db.plans, project)
        x = page.extras

        def keep(row: Row) -> bool:
            custom = row["customFields"]
            runs = len(custom.get("testRuns", []))
            progress = custom.get("progress", 0)
            created = parse_iso(row["createdAt"])
            checks = [
                "status" not in x or custom.get("status") == x["status"],
                "priority" not in x or custom.get("priority") == x["priority"],
                "statusUids" not in x or custom.get("status") in x["statusUids"],
                "priorityUids" not in x or custom.get("priority") in x["priorityUids"],
                "archived" not in x or (row["archivedAt"] is not None) == x["archived"],
                "minRunCount" not in x or runs >= x["minRunCount"],
                "maxRunCount" not in x or runs <= x["maxRunCount"],
                "minProgress" not in x or progress >= x["minProgress"],
                "maxProgress" not in x or progress <= x["maxProgress"],
                "projectUid" not in x or row["projectUid"] == x["projectUid"],
                "tagUids" not in x or bool(set(custom.get("tagUids", [])) & set(x["tagUids"])),
                "milestoneUids" not in x
                or bool(set(custom.get("milestoneUids", [])) & set(x["milestoneUids"])),
                "minCreatedAt" not in x
                or created >= parse_iso(iso_or_400(x["minCreatedAt"], "minCreatedAt")),
                "maxCreatedAt" not in x
                or created <= parse_iso(iso_or_400(x["maxCreatedAt"], "maxCreatedAt")),
            ]
            return all(checks)

        return paginate([row for row in rows if keep(row)], page, public)

    def _plan_refs(self, project: Row, body: dict[str, Any]) -> dict[str, Any]:
        state, puid = self.state, project["uid"]
        out: dict[str, Any] = {}
        if "tagUids" in body:
            out["tagUids"] = resolve_uids(body["tagUids"], state.tag_row, "body.tagUids")
        if "milestoneUids" in body:
            out["milestoneUids"] = resolve_uids(
                body["milestoneUids"],
                lambda uid, where: state.milestone_row(puid, uid, where),
                "body.milestoneUids",
            )
        return out

    async def create_plan(self, request: Request) -> Any:
        """PL2 (CreatePlanDTO). Envelope ``systemType: plan`` [INF: no plan shape is
        documented]; ``customFields`` = the sent customFields plus ``status``, ``priority``,
        ``milestoneUids``, ``tagUids``, ``testRuns`` ([{uid, configuration}]; runs must exist),
        ``configuration``, ``progress``."""
        project = self._project(request)
        state, puid = self.state, project["uid"]
        body = D.validate(await read_json(request), D.CREATE_PLAN)
        custom: dict[str, Any] = dict(body.get("customFields", {}))
        custom.update(self._plan_refs(project, body))
        for key in ("status", "priority"):
            if key in body:
                custom[key] = body[key]
        test_runs = []
        for index, item in enumerate(body.get("testRuns", [])):
            run = state.run_row(puid, as_uid(item["uid"]), f"body.testRuns[{index}].uid")
            test_runs.append(
                {"uid": run["uid"], "configuration": copy.deepcopy(item["configuration"])}
            )
        custom["testRuns"] = test_runs
        if "configuration" in body:
            custom["configuration"] = copy.deepcopy(body["configuration"])
        custom.setdefault("progress", 0)
        row = state.new_envelope("plan", body["name"], puid)
        row.update(
            description=body.get("description"),
            externalId=body.get("externalId"),
            source=body.get("source"),
            customFields=custom,
        )
        state.db.plans[row["uid"]] = row
        return public(row)

    async def get_plan(self, request: Request) -> Any:
        """PL3: one live plan."""
        project = self._project(request)
        return public(self.state.plan_row(project["uid"], path_uid(request, "plan")))

    async def update_plan(self, request: Request) -> Any:
        """PL4 (UpdatePlanDTO): ``runUids`` replaces the plan's runs (kept runs keep their
        configuration, new ones get ``{type: simple, sets: []}`` [INF])."""
        project = self._project(request)
        state, puid = self.state, project["uid"]
        row = state.plan_row(puid, path_uid(request, "plan"))
        body = D.validate(await read_json(request), D.UPDATE_PLAN)
        custom = copy.deepcopy(row["customFields"])
        custom.update(self._plan_refs(project, body))
        changes: dict[str, Any] = {}
        for key in ("name", "description"):
            if key in body:
                changes[key] = body[key]
        for key in ("status", "priority"):
            if key in body:
                custom[key] = body[key]
        if "runUids" in body:
            uids = resolve_uids(
                body["runUids"], lambda uid, where: state.run_row(puid, uid, where), "body.runUids"
            )
            old = {item["uid"]: item for item in custom.get("testRuns", [])}
            custom["testRuns"] = [
                old.get(uid, {"uid": uid, "configuration": {"type": "simple", "sets": []}})
                for uid in uids
            ]
        changes["customFields"] = custom
        state.update(row, changes)
        return public(row)

    # --- executions (E1-E4) ------------------------------------------------------------------

    async def list_executions(self, request: Request) -> Any:
        """E1: live executions of the project (no run/case filter in the spec)."""
        project = self._project(request)
        page = parse_page(request.query_params, EXECUTION_ORDER)
        rows = self._project_rows(self.state.db.executions, project)
        return paginate(rows, page, self.state.render_execution)

    async def create_execution(self, request: Request) -> Any:
        """E2 (CreateExecutionDTO). ``testCaseUid`` or ``testCaseRef`` names the case,
        ``testRunUid`` the run (both optional, must exist when sent); ``status`` is an
        execution-status uid (default: the untested one); ``steps`` become
        ``{uid, testStepUid, description, customFields, position}`` [INF]."""
        project = self._project(request)
        state, puid = self.state, project["uid"]
        body = D.validate(await read_json(request), D.CREATE_EXECUTION)
        fields: dict[str, Any] = {"customFields": copy.deepcopy(body["customFields"])}
        for key in ("externalId", "source"):
            if key in body:
                fields[key] = body[key]
        case = None
        if "testCaseUid" in body:
            case = state.case_row(puid, as_uid(body["testCaseUid"]), "body.testCaseUid")
        if "testCaseRef" in body:
            ref = as_uid(body["testCaseRef"])
            by_ref = next(
                (c for c in self._project_rows(state.db.cases, project) if c["testCaseRef"] == ref),
                None,
            )
            if by_ref is None or (case is not None and by_ref is not case):
                raise bad_request(f"body.testCaseRef: no matching case with ref {ref!r}")
            case = by_ref
        if case is not None:
            fields.update(
                testCaseUid=case["uid"],
                testCaseRef=case["testCaseRef"],
                name=case["name"],
                priority=case["priority"],
            )
        if "testRunUid" in body:
            fields["testRunUid"] = state.run_row(
                puid, as_uid(body["testRunUid"]), "body.testRunUid"
            )["uid"]
        if "status" in body:
            fields["status"] = state.execution_status(as_uid(body["status"]), "body.status").uid
        else:
            untested = state.untested_status()
            fields["status"] = untested.uid if untested else None
        fields["steps"] = [
            {
                "uid": state.new_id(),
                "testStepUid": step["testStepUid"],
                "description": step["description"],
                "customFields": copy.deepcopy(step["customFields"]),
                "position": index,
            }
            for index, step in enumerate(body.get("steps", []))
        ]
        return state.render_execution(state.create_execution(puid, fields))

    async def get_execution(self, request: Request) -> Any:
        """E3: one live execution."""
        project = self._project(request)
        row = self.state.execution_row(project["uid"], path_uid(request, "execution"))
        return self.state.render_execution(row)

    async def update_execution(self, request: Request) -> Any:
        """E4 (UpdateExecutionDTO; ``steps`` required, ``[]`` for none). ``status`` /
        ``priority`` are catalogue uids; ``tagUids`` replaces the tags, ``tagReplacements``
        swaps existing for new ones; a step with ``uid`` updates that step (400 if unknown), one
        without adds a step; steps are kept sorted by ``position``."""
        project = self._project(request)
        state, puid = self.state, project["uid"]
        row = state.execution_row(puid, path_uid(request, "execution"))
        body = D.validate(await read_json(request), D.UPDATE_EXECUTION)
        changes: dict[str, Any] = {}
        if "status" in body:
            changes["status"] = state.execution_status(as_uid(body["status"]), "body.status").uid
        if "priority" in body:
            changes["priority"] = state.priority(as_uid(body["priority"]), "body.priority").uid
        if "dueAt" in body:
            changes["dueAt"] = iso_or_400(body["dueAt"], "body.dueAt")
        for key in ("assignedTo", "name"):
            if key in body:
                changes[key] = body[key]
        if "templateFields" in body:
            changes["templateFields"] = copy.deepcopy(body["templateFields"])
        tags = list(row["_tagUids"])
        if "tagUids" in body:
            tags = resolve_uids(body["tagUids"], state.tag_row, "body.tagUids")
        for index, swap in enumerate(body.get("tagReplacements", [])):
            where = f"body.tagReplacements[{index}]"
            new = resolve_uids(swap.get("newTagUids", []), state.tag_row, where + ".newTagUids")
            old = {as_uid(v) for v in swap.get("existingTagUids", [])}
            tags = [uid for uid in tags if uid not in old]
            tags += [uid for uid in new if uid not in tags]
        changes["_tagUids"] = tags
        for index, item in enumerate(body["steps"]):
            if "status" in item:
                state.execution_status(as_uid(item["status"]), f"body.steps[{index}].status")
        steps = copy.deepcopy(row["steps"])
        by_uid = {step.get("uid"): step for step in steps}
        for index, item in enumerate(body["steps"]):
            if "uid" in item:
                step = by_uid.get(item["uid"])
                if step is None:
                    raise bad_request(f"body.steps[{index}].uid: no step {item['uid']!r}")
            else:
                step = {"uid": state.new_id()}
                steps.append(step)
            for key in (
                "position",
                "status",
                "title",
                "description",
                "expectedResult",
                "sharedStepUid",
            ):
                if key in item:
                    step[key] = item[key]
        changes["steps"] = sorted(steps, key=lambda step: step.get("position", 0))
        state.update(row, changes)
        if row["testRunUid"] in state.db.runs:
            state.refresh_run_stats(state.db.runs[row["testRunUid"]])
        return state.render_execution(row)

    # --- shared steps (S1-S5) ----------------------------------------------------------------

    async def list_shared_steps(self, request: Request) -> Any:
        """S1: live shared steps ``{uid, name, steps, projectUid, ...}`` [INF shape]."""
        project = self._project(request)
        page = parse_page(request.query_params, SHARED_STEP_ORDER)
        return paginate(self._project_rows(self.state.db.shared_steps, project), page, public)

    async def create_shared_step(self, request: Request) -> Any:
        """S2 (CreateSharedStepDto: name, steps of SharedStepItem, stored as sent)."""
        project = self._project(request)
        body = D.validate(await read_json(request), D.CREATE_SHARED_STEP)
        now = self.state.now()
        row: Row = {
            "uid": self.state.new_uid(),
            "name": body["name"],
            "steps": copy.deepcopy(body["steps"]),
            "projectUid": project["uid"],
            "createdBy": self.state.user_uid,
            "createdAt": now,
            "updatedAt": now,
            "archivedAt": None,
            "deletedAt": None,
        }
        self.state.db.shared_steps[row["uid"]] = row
        return public(row)

    async def get_shared_step(self, request: Request) -> Any:
        """S3: one live shared step."""
        project = self._project(request)
        return public(self.state.shared_step_row(project["uid"], path_uid(request, "shared step")))

    async def update_shared_step(self, request: Request) -> Any:
        """S4 (UpdateSharedStepDto): ``name``; ``steps`` replaces the list."""
        project = self._project(request)
        row = self.state.shared_step_row(project["uid"], path_uid(request, "shared step"))
        body = D.validate(await read_json(request), D.UPDATE_SHARED_STEP)
        self.state.update(row, {k: copy.deepcopy(v) for k, v in body.items()})
        return public(row)

    async def delete_shared_step(self, request: Request) -> Any:
        """S5: soft-deletes the shared step."""
        project = self._project(request)
        row = self.state.shared_step_row(project["uid"], path_uid(request, "shared step"))
        self.state.soft_delete(row)
        return deleted("shared step", row["uid"])

    # --- bulk (D1) ---------------------------------------------------------------------------

    async def post_data(self, request: Request) -> Any:
        """D1 POST /projects/{key}/data: see :func:`emulators.testfiesta.bulk.import_data`.
        Answers 204 with an empty body."""
        project = self._project(request)
        import_data(self.state, project, await read_json(request))
        return Response(status_code=204)
