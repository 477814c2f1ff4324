"""Reference checks shared by the v1 handlers, the bulk import and the shim.

Each function turns request values into stored values after checking that what they name
exists; none of them writes (except :func:`apply_tag_names`, called once everything checked).
All raise a 400 naming the field (``body[3].parentId: folder 99 not found in this project``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any

from emulators.testfiesta import dto as D
from emulators.testfiesta.errors import bad_request
from emulators.testfiesta.state import Row, TestFiestaState, iso, parse_iso


def is_digits(text: str) -> bool:
    """True if ``text`` is a non-empty run of ASCII digits (``"²"`` is not)."""
    return text.isascii() and text.isdigit()


def as_uid(value: Any) -> Any:
    """A JSON number that is a whole number as an int (``12.0`` -> 12); anything else as is
    (and then it matches no uid)."""
    if D.is_number(value) and value == int(value):
        return int(value)
    return value


def resolve_uids(values: Iterable[Any], lookup: Callable[..., Row], where: str) -> list[int]:
    """The uids ``values`` after checking each with ``lookup(uid, where=...)`` (which raises a
    400 naming ``where[i]``); duplicates dropped, order kept."""
    uids: list[int] = []
    for index, value in enumerate(values):
        row = lookup(as_uid(value), where=f"{where}[{index}]")
        if row["uid"] not in uids:
            uids.append(row["uid"])
    return uids


def iso_or_400(value: str, where: str) -> str:
    """``value`` (ISO 8601) normalised to this emulator's ISO form; 400 naming ``where``."""
    try:
        return iso(parse_iso(value))
    except ValueError:
        raise bad_request(f"{where} must be an ISO 8601 date-time (got {value!r})") from None


def resolve_case_fields(
    state: TestFiestaState, project: Row, body: dict[str, Any], where: str
) -> dict[str, Any]:
    """Translate a validated ``CreateCaseDTO`` (or the case properties of a bulk case entry)
    into stored case fields, checking every reference; nothing is written.

    Returns keys of the case shape (``name``, ``parentUid``, ``steps``, ``customFields``,
    ``priority``, ``status``, ``testCaseTemplateUid``, ``externalId``, ``source``, ...), plus
    ``_tagUids`` (existing tags) and ``_tagNames`` (tag names, created on apply if missing).
    400s name ``where.<field>``. [INF] decisions: ``priority`` and ``priorityText`` (likewise
    ``status``/``statusText``) must agree when both are sent; names match case-insensitively;
    ``projectId`` must be this project's uid; ``templateId`` is a numeric string naming a
    template of the project; ``createdAt`` must parse as ISO 8601.
    """
    project_uid = project["uid"]
    fields: dict[str, Any] = {}
    for key in ("name", "externalId", "source", "customFields", "createdBy"):
        if key in body:
            fields[key] = copy.deepcopy(body[key])
    for key in ("externalCreatedAt", "externalUpdatedAt"):
        if key in body:
            fields[key] = body[key]
    if "steps" in body:
        fields["steps"] = copy.deepcopy(body["steps"])
    if "repoUID" in body:
        fields["repoUid"] = body["repoUID"]
    if "createdAt" in body:
        fields["createdAt"] = iso_or_400(body["createdAt"], f"{where}.createdAt")
    if "projectId" in body and float(body["projectId"]) != project_uid:
        raise bad_request(
            f"{where}.projectId: {body['projectId']!r} is not the uid of project "
            f"{project['key']!r} ({project_uid})"
        )
    if "parentId" in body:
        folder = state.folder_row(project_uid, as_uid(body["parentId"]), where=f"{where}.parentId")
        fields["parentUid"] = folder["uid"]
    priority = None
    if "priority" in body:
        priority = state.priority(as_uid(body["priority"]), f"{where}.priority").uid
    if "priorityText" in body:
        named = state.priority_named(body["priorityText"], f"{where}.priorityText").uid
        if priority is not None and named != priority:
            raise bad_request(f"{where}: priority {priority} and priorityText disagree")
        priority = named
    if priority is not None:
        fields["priority"] = priority
    status = None
    if "status" in body:
        status = state.case_status(as_uid(body["status"]), f"{where}.status").uid
    if "statusText" in body:
        named = state.case_status_named(body["statusText"], f"{where}.statusText").uid
        if status is not None and named != status:
            raise bad_request(f"{where}: status {status} and statusText disagree")
        status = named
    if status is not None:
        fields["status"] = status
    if "templateId" in body:
        raw = body["templateId"]
        if not isinstance(raw, str) or not is_digits(raw.strip()):
            raise bad_request(f"{where}.templateId must be a template uid string (got {raw!r})")
        template = state.template_row(project_uid, int(raw), where=f"{where}.templateId")
        fields["testCaseTemplateUid"] = template["uid"]
    if "tagIds" in body:
        fields["_tagUids"] = resolve_uids(body["tagIds"], state.tag_row, f"{where}.tagIds")
    if "tags" in body:
        fields["_tagNames"] = list(body["tags"])
    return fields


def apply_tag_names(state: TestFiestaState, fields: dict[str, Any]) -> dict[str, Any]:
    """Turn ``_tagNames`` of resolved case fields into uids (creating missing tags) and merge
    them after ``_tagUids``. Returns ``fields`` without ``_tagNames``."""
    names = fields.pop("_tagNames", None)
    if names is not None:
        uids = list(fields.get("_tagUids", []))
        for uid in state.tag_uids_for_names(names):
            if uid not in uids:
                uids.append(uid)
        fields["_tagUids"] = uids
    return fields
