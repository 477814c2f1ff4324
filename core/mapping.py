"""The explicit TestRail <-> TestFiesta mapping: priorities, statuses, types, fields, users.

Built from the config's ``[mapping.*]`` and ``[users]`` tables (DESIGN §4, §11). Every lookup
falls back to the same name on the other side, so an empty mapping means "names match"; the
config only lists the differences. Pure functions, no I/O: the mapping editor and the tests use
them directly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

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
