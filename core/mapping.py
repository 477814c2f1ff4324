"""The explicit TestRail <-> TestFiesta mapping: priorities, statuses, types, fields, users.

Built from the config's ``[mapping.*]`` and ``[users]`` tables (DESIGN §4, §11). Every lookup
falls back to the same name on the other side, so an empty mapping means "names match"; the
config only lists the differences. Pure functions, no I/O: the mapping editor and the tests use
them directly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

#: Pseudo system names for TestRail's built-in case fields that TestFiesta keeps as custom fields.
REFS_FIELD = "refs"
ESTIMATE_FIELD = "estimate"

#: TestFiesta field names used for them unless ``[mapping.fields]`` says otherwise.
DEFAULT_FIELD_NAMES = {REFS_FIELD: "References", ESTIMATE_FIELD: "Estimate"}

#: TestRail field kind -> TestFiesta custom field ``type`` (CustomFieldTypes, testfiesta-api.md
#: §7.8). Users and milestones have no TestFiesta type: they travel as text.
TESTFIESTA_FIELD_TYPE = {
    "string": "text",
    "integer": "integer",
    "text": "text",
    "url": "link",
    "checkbox": "checkbox",
    "dropdown": "dropdown",
    "user": "text",
    "date": "date",
    "milestone": "text",
    "multi_select": "multi",
    "bdd": "text",
}

#: TestFiesta custom field type -> template field ``dataType`` (CustomFieldDataType).
TEMPLATE_DATA_TYPE = {
    "text": "text",
    "integer": "text",
    "link": "link",
    "checkbox": "checkbox",
    "dropdown": "dropdown",
    "multi": "dropdown",
    "date": "date",
    "radio": "radio",
    "step": "step",
}


#: Value names ``[sync.fields]`` may name besides TestRail's case field system names: the
#: engine's values of cases, folders, runs and tests (:func:`core.model.case_values` and the
#: sides' folder, run and test records).
SYNC_VALUE_NAMES = (
    "title",
    "folder",
    "template",
    "type",
    "priority",
    "refs",
    "estimate",
    "steps",
    "name",
    "description",
    "parent",
    "closed",
    "status",
    "assignee",
)


class FieldCheck(NamedTuple):
    """One line of ``railfiesta check`` about a field name: ``check`` (the config line),
    ``ok``, ``detail`` (what was found) and ``fix`` (for a failure)."""

    check: str
    ok: bool
    detail: str
    fix: str = ""


def check_field_names(
    mapping_fields: Mapping[str, str],
    sync_fields: Mapping[str, str],
    testrail_fields: Iterable[str],
    testfiesta_fields: Iterable[str] | None,
) -> list[FieldCheck]:
    """Check ``[mapping.fields]`` and ``[sync.fields]`` against live metadata.

    ``testrail_fields``: the system names of TestRail's case fields (``get_case_fields``);
    ``testfiesta_fields``: the names of the TestFiesta project's custom fields
    (``GET /customFields``), or None when the project does not exist yet. A
    ``[mapping.fields]`` key must be a TestRail case field (or :data:`REFS_FIELD` /
    :data:`ESTIMATE_FIELD`); its TestFiesta name is reported as found or "created by migrate"
    (migrate looks fields up by name and creates the missing ones). A ``[sync.fields]`` key
    must be a TestRail case field or one of :data:`SYNC_VALUE_NAMES`. Pure."""
    testrail = sorted(set(testrail_fields))
    known = [*testrail, REFS_FIELD, ESTIMATE_FIELD]
    tf_names = None if testfiesta_fields is None else list(testfiesta_fields)
    results = []
    for system, tf_name in mapping_fields.items():
        check = f"[mapping.fields] {system} = {tf_name!r}"
        if system not in known:
            results.append(
                FieldCheck(
                    check,
                    False,
                    f"TestRail has no case field {system!r}",
                    "use a TestRail system name (custom_..., refs, estimate); TestRail's: "
                    + ", ".join(testrail),
                )
            )
        elif tf_names is not None and match_name(tf_name, tf_names) is not None:
            results.append(FieldCheck(check, True, "a case field on both sides"))
        else:
            results.append(
                FieldCheck(
                    check,
                    True,
                    f"TestRail field {system}; TestFiesta has no field {tf_name!r} yet: "
                    "migrate creates it",
                )
            )
    for name, policy in sync_fields.items():
        check = f"[sync.fields] {name} = {policy!r}"
        if name in testrail or name in SYNC_VALUE_NAMES:
            results.append(FieldCheck(check, True, "a synced value"))
        else:
            results.append(
                FieldCheck(
                    check,
                    False,
                    f"{name!r} is neither a TestRail case field nor a synced value",
                    "use a TestRail system name (custom_...) or one of "
                    + ", ".join(SYNC_VALUE_NAMES),
                )
            )
    return results


def _fold(name: str) -> str:
    return " ".join(name.split()).casefold()


def match_name(wanted: str, candidates: Iterable[str]) -> str | None:
    """The candidate equal to ``wanted`` ignoring case and repeated spaces, or None."""
    folded = _fold(wanted)
    for candidate in candidates:
        if _fold(candidate) == folded:
            return candidate
    return None


@dataclass(frozen=True)
class MappingRules:
    """Name maps from the config: TestRail name -> TestFiesta name, per vocabulary.

    ``fields`` keys are TestRail system names (``custom_preconds``, or :data:`REFS_FIELD` /
    :data:`ESTIMATE_FIELD`), values TestFiesta custom field names. ``users`` maps TestRail
    e-mails to TestFiesta e-mails (TestFiesta has no user API, DESIGN §12.6).
    """

    priority: Mapping[str, str] = field(default_factory=dict)
    status: Mapping[str, str] = field(default_factory=dict)
    types: Mapping[str, str] = field(default_factory=dict)
    fields: Mapping[str, str] = field(default_factory=dict)
    users: Mapping[str, str] = field(default_factory=dict)

    def field_name(self, system_name: str, label: str) -> str:
        """TestFiesta field name for a TestRail field: the configured one, else its label."""
        configured = self.fields.get(system_name)
        if configured:
            return configured
        return DEFAULT_FIELD_NAMES.get(system_name, label)

    def priority_name(self, testrail_name: str) -> str:
        """TestFiesta priority name for a TestRail priority name."""
        return self.priority.get(testrail_name, testrail_name)

    def status_name(self, testrail_name: str) -> str:
        """TestFiesta status name for a TestRail status label."""
        return self.status.get(testrail_name, testrail_name)

    def type_tag(self, testrail_type: str) -> str:
        """Name of the TestFiesta tag that carries a TestRail case type."""
        return self.types.get(testrail_type, testrail_type)

    @classmethod
    def from_tables(cls, mapping: Mapping[str, Any], users: Mapping[str, Any]) -> MappingRules:
        """Build from the parsed ``[mapping]`` table and ``[users]`` table of the config."""

        def table(name: str) -> dict[str, str]:
            return {str(k): str(v) for k, v in (mapping.get(name) or {}).items()}

        return cls(
            priority=table("priority"),
            status=table("status"),
            types=table("types"),
            fields=table("fields"),
            users={str(k): str(v) for k, v in users.items()},
        )
