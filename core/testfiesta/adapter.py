"""Canonical records <-> TestFiesta v1 payloads and rows.

The public contracts leave several things open (DESIGN §12, testfiesta-api.md [INF]). Each such
assumption lives in exactly one function here, whose docstring names it, so a user with a live
tenant can confirm or correct it in one place:

- :func:`custom_field_key` -- under which key a case's ``customFields`` holds a field's value;
- :func:`steps_payload` / :func:`steps_from_testfiesta` -- the step item shape;
- :func:`root_folder` -- how the project's root folder is recognised.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from core.errors import UnexpectedResponse
from core.model import CaseRecord, Step, tf_key

#: ``source`` written on every record railfiesta creates in TestFiesta (DESIGN §4).
SOURCE = "testrail"


def custom_field_key(field: Mapping[str, Any]) -> str:
    """Key of a custom field's value inside a case's ``customFields``.

    [INF] testfiesta-api.md §4.6: values live in the entity's ``customFields`` object, "probably"
    keyed by the field's name or slug. We use the field ``name``, which is what a person sees.
    """
    return str(field["name"])


def root_folder(folders: Iterable[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The project's root folder: the one folder without a parent.

    [INF] testfiesta-api.md §3.2: every project has a root folder (the shim's "suite",
    ``is_master``); top-level folders hang under it.
    """
    roots = [f for f in folders if f.get("parentUid") in (None, 0) and not f.get("deletedAt")]
    return roots[0] if len(roots) >= 1 else None


def steps_payload(steps: Sequence[Step], shared_uids: Mapping[str, int] | None = None) -> list[Any]:
    """Case steps as TestFiesta step items, in order.

    [INF] testfiesta-api.md §4.4/§7.2: ``{description, expectedResult, sharedStepUid?,
    children: []}``; TestRail's ``additional_info``/``refs`` step columns go into the step's
    ``customFields`` (no declared home). Text is sent exactly as stored. A step from a
    shared step (its ``shared_step`` a ``tf:shared_step:<uid>`` key) is only
    ``{sharedStepUid}``: TestFiesta's case step references the shared step (§4.4), whose
    text lives there, never a pasted copy.
    """
    items: list[Any] = []
    for position, step in enumerate(steps, start=1):
        if step.shared_step and step.shared_step.startswith("tf:shared_step:"):
            items.append(
                {
                    "sharedStepUid": int(step.shared_step.rsplit(":", 1)[1]),
                    "position": position,
                    "children": [],
                }
            )
            continue
        item: dict[str, Any] = {
            "description": step.content,
            "expectedResult": step.expected,
            "position": position,
            "children": [],
        }
        extra = {
            k: v for k, v in (("additionalInfo", step.additional_info), ("refs", step.refs)) if v
        }
        if extra:
            item["customFields"] = extra
        if step.shared_step and shared_uids and step.shared_step in shared_uids:
            item["sharedStepUid"] = shared_uids[step.shared_step]
        items.append(item)
    return items


def shared_step_payload(
    name: str, steps: Sequence[Mapping[str, Any]], external_id: str | None
) -> dict[str, Any]:
    """Engine shared step values as a CreateSharedStepDto (testfiesta-api.md §3.4): ``name``
    and ``steps`` of SharedStepItem ``{id, description, expectedResult, children}``.

    [INF] CreateSharedStepDto has no ``externalId``; the required free-text item ``id``
    carries it instead (``<externalId>#<n>``), so a re-run finds the copy again
    (:func:`shared_step_origin`). TestRail's ``additional_info``/``refs`` step columns have
    no home: SharedStepItem allows no other properties (spec 0.67.1), so they are not sent
    (the parity report then shows such a shared step as differing)."""
    items: list[dict[str, Any]] = []
    for n, step in enumerate(steps, start=1):
        item: dict[str, Any] = {
            "id": f"{external_id}#{n}" if external_id else str(n),
            "description": str(step.get("content") or ""),
            "expectedResult": str(step.get("expected") or ""),
            "children": [],
        }
        items.append(item)
    return {"name": name, "steps": items}


def shared_step_origin(row: Mapping[str, Any]) -> str | None:
    """The ``externalId`` :func:`shared_step_payload` put in a shared step's first item id,
    or None (a shared step made in TestFiesta)."""
    steps = row.get("steps") or []
    first = steps[0] if steps and isinstance(steps[0], Mapping) else {}
    ident = str(first.get("id") or "")
    return ident.rsplit("#", 1)[0] if "#" in ident else None


def steps_from_testfiesta(items: Iterable[Mapping[str, Any]]) -> list[Step]:
    """Inverse of :func:`steps_payload` for a case read back from TestFiesta."""
    steps: list[Step] = []
    for item in items:
        extra = item.get("customFields") or {}
        shared = item.get("sharedStepUid")
        steps.append(
            Step(
                content=str(item.get("description") or ""),
                expected=str(item.get("expectedResult") or ""),
                additional_info=str(extra.get("additionalInfo") or ""),
                refs=str(extra.get("refs") or ""),
                shared_step=tf_key("shared_step", shared) if shared else None,
            )
        )
    return steps


def iso8601(unix_seconds: int | None) -> str | None:
    """UNIX seconds as ISO 8601 UTC (``2024-09-16T20:02:21Z``); None stays None."""
    if unix_seconds is None:
        return None
    return datetime.fromtimestamp(int(unix_seconds), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def unix_seconds(iso: str | None, *, what: str = "a date") -> int | None:
    """ISO 8601 (``...Z`` or with offset, optional fraction) as UNIX seconds; None stays None.

    The v1 spec types every ``...At`` as ``date-time`` (RFC 3339). Raises
    :class:`UnexpectedResponse` naming ``what`` and the value for anything else (a date
    without a time zone is read as UTC).
    """
    if not iso:
        return None
    try:
        parsed = datetime.fromisoformat(str(iso).replace("Z", "+00:00"))
    except ValueError:
        raise UnexpectedResponse(
            f"testfiesta answered {iso!r} as {what}: not an ISO 8601 date-time "
            "(such as 2024-09-16T20:02:21Z)",
            hint="check that [testfiesta] url is https://api.testfiesta.com; if it is, that "
            "record's date is broken on the server: edit the record in TestFiesta",
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp())


@dataclass(frozen=True)
class CaseTarget:
    """Where and how a case lands in TestFiesta: resolved uids and field names.

    ``field_names`` maps canonical field names (TestRail system names, plus ``refs`` and
    ``estimate``) to TestFiesta custom field value keys (see :func:`custom_field_key`).
    """

    project_uid: int
    folder_uid: int
    template_uid: str | None
    priority_uid: int | None
    tag_uids: tuple[int, ...]
    field_names: Mapping[str, str]


def case_payload(record: CaseRecord, target: CaseTarget, external_id: str) -> dict[str, Any]:
    """A :class:`CaseRecord` as a CreateCaseDTO for ``POST /projects/{key}/cases``.

    Text fields are sent exactly as stored; an empty refs/estimate is left out.
    """
    custom: dict[str, Any] = {}
    for name, value in record.fields.items():
        custom[target.field_names.get(name, name)] = value
    for name, value in (("refs", record.refs), ("estimate", record.estimate)):
        if value:
            custom[target.field_names.get(name, name)] = value
    if record.steps:
        custom["expectedResultByStep"] = True
    payload: dict[str, Any] = {
        "name": record.title,
        "parentId": target.folder_uid,
        "projectId": target.project_uid,
        "steps": steps_payload(record.steps),
        "customFields": custom,
        "source": SOURCE,
        "externalId": external_id,
    }
    if target.template_uid is not None:
        payload["templateId"] = str(target.template_uid)
    if target.priority_uid is not None:
        payload["priority"] = target.priority_uid
    if target.tag_uids:
        payload["tagIds"] = list(target.tag_uids)
    created = iso8601(record.created_on)
    updated = iso8601(record.updated_on)
    if created:
        payload["externalCreatedAt"] = created
    if updated:
        payload["externalUpdatedAt"] = updated
    return payload


def case_record(
    row: Mapping[str, Any],
    *,
    field_names: Mapping[str, str],
    templates: Mapping[str, str],
    priorities: Mapping[int, str],
    tags: Mapping[int, str],
) -> CaseRecord:
    """A TestFiesta case row as a :class:`CaseRecord` (keys ``tf:case:<uid>``).

    ``field_names`` is the same canonical -> TestFiesta map used to write, inverted here;
    ``templates`` maps template uid -> name, ``priorities`` uid -> name, ``tags`` uid -> name
    (for tags given as bare uids; a tag object's own ``name`` wins).
    Fields TestFiesta has that no mapping names stay under their TestFiesta name.
    """
    by_tf_name = {tf: canonical for canonical, tf in field_names.items()}
    values: dict[str, Any] = {}
    refs = estimate = ""
    for name, value in (row.get("customFields") or {}).items():
        canonical = by_tf_name.get(name, name)
        if canonical == "refs":
            refs = str(value)
        elif canonical == "estimate":
            estimate = str(value)
        elif name != "expectedResultByStep":
            values[canonical] = value
    template_uid = row.get("templateUid", row.get("testCaseTemplateUid"))
    tag_names = [
        str(t.get("name") or tags.get(int(t["uid"]), ""))
        if isinstance(t, Mapping)
        else tags.get(int(t), "")
        for t in row.get("tags") or []
    ]
    priority = row.get("priority")
    return CaseRecord(
        key=tf_key("case", row["uid"]),
        title=str(row.get("name") or ""),
        folder=tf_key("folder", row.get("parentUid") or 0),
        template=templates.get(str(template_uid), "") if template_uid is not None else "",
        type=next((t for t in tag_names if t), None),
        priority=priorities.get(int(priority)) if isinstance(priority, int) else None,
        refs=refs,
        estimate=estimate,
        fields=values,
        steps=steps_from_testfiesta(row.get("steps") or []),
        created_on=unix_seconds(row.get("createdAt")),
        updated_on=unix_seconds(
            row.get("updatedAt"), what=f"the updatedAt of uid {row.get('uid')}"
        ),
    )
