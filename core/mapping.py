"""The explicit TestRail <-> TestFiesta mapping: priorities, statuses, types, fields, users.

Built from the config's ``[mapping.*]`` and ``[users]`` tables (DESIGN §4, §11). Every lookup
falls back to the same name on the other side, so an empty mapping means "names match"; the
config only lists the differences. Pure functions, no I/O: the mapping editor and the tests use
them directly.
"""

from __future__ import annotations

import re
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


# ---------------------------------------------------------------------- the mapping editor

#: The vocabularies the mapping editor shows, in tab order.
VOCABULARIES = ("fields", "status", "priority", "types", "users")

#: The config table each vocabulary lives in (DESIGN §11, sample-config.toml).
CONFIG_TABLES = {
    "fields": "mapping.fields",
    "status": "mapping.status",
    "priority": "mapping.priority",
    "types": "mapping.types",
    "users": "users",
}

#: TestFiesta vocabularies that are a closed list: a TestRail item mapped to a name missing
#: there cannot be carried (fields and tags are created when missing; users cannot be listed).
CLOSED_VOCABULARIES = frozenset({"status", "priority"})

#: TestRail field kinds that are not custom fields in TestFiesta (steps are the case's own).
STEP_FIELD_KINDS = frozenset({"steps", "step_results", "bdd_results"})

#: A TestFiesta user id: a UUID (``assignedTo`` takes only an id, testfiesta-api.md; DESIGN
#: §12.6). ``[users]`` values must have this form (:func:`core.config.load_config` refuses
#: others, :func:`validate_mapping` marks them); the TestFiesta side reads them with it.
USER_ID = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)

#: Severities of a :class:`MappingProblem`: an error means something cannot be carried.
ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class MetaItem:
    """One item of one side's live metadata, as the mapping editor lists it.

    ``name`` is what the config calls it: a TestRail field's system name, a status label, a
    priority, case type or tag name, a TestRail user's e-mail or a TestFiesta user id.
    ``label`` is shown beside it (a field's label, a user's full name); ``required`` marks a
    TestRail field cases must fill (``is_required``); ``sample`` is a live example value
    (a case's value of that field, the title of a case of that type, ...), "" when none.
    """

    name: str
    label: str = ""
    required: bool = False
    sample: str = ""


@dataclass(frozen=True)
class Vocabulary:
    """One tab of the mapping editor: both sides' live items of one vocabulary.

    ``name`` is one of :data:`VOCABULARIES`. ``listable`` is False when the TestFiesta side
    cannot be listed (users: TestFiesta's API has no user lookup, DESIGN §12.6), so its
    counterparts are typed, not chosen.
    """

    name: str
    testrail: tuple[MetaItem, ...]
    testfiesta: tuple[MetaItem, ...]
    listable: bool = True


@dataclass(frozen=True)
class MappingProblem:
    """Something wrong with a mapping: ``severity`` :data:`ERROR` (it cannot be carried as
    configured) or :data:`WARNING`; ``testrail`` the TestRail items it is about;
    ``blocks_save``: the config file cannot hold it at all (:func:`core.config.load_config`
    refuses it), so it must be fixed before anything is saved."""

    vocabulary: str
    testrail: tuple[str, ...]
    severity: str
    message: str
    blocks_save: bool = False


def configured_table(rules: MappingRules, vocabulary: str) -> Mapping[str, str]:
    """The config's table for ``vocabulary`` (TestRail name -> TestFiesta name) as loaded."""
    tables: dict[str, Mapping[str, str]] = {
        "fields": rules.fields,
        "status": rules.status,
        "priority": rules.priority,
        "types": rules.types,
        "users": rules.users,
    }
    return tables[vocabulary]


def counterpart(rules: MappingRules, vocabulary: str, item: MetaItem) -> str:
    """The TestFiesta name migration and sync use for TestRail ``item`` under ``rules``: the
    configured one, else the default (the field's label, the same name, no user: "")."""
    if vocabulary == "fields":
        return rules.field_name(item.name, item.label or item.name)
    if vocabulary == "status":
        return rules.status_name(item.name)
    if vocabulary == "priority":
        return rules.priority_name(item.name)
    if vocabulary == "types":
        return rules.type_tag(item.name)
    if vocabulary == "users":
        return rules.users.get(item.name, "")
    raise KeyError(vocabulary)


def validate_mapping(
    vocabularies: Mapping[str, Vocabulary], chosen: Mapping[str, Mapping[str, str]]
) -> list[MappingProblem]:
    """The problems of a mapping: ``chosen[vocabulary][testrail name]`` is the TestFiesta
    counterpart of every TestRail item ("" = none), ``vocabularies`` both sides' live items.

    * two TestRail items mapped to one TestFiesta item (names compared ignoring case): an
      error, since a value coming back from TestFiesta could not say which one it was;
    * a status or priority mapped to a name TestFiesta does not have: an error (unmapped);
    * a required TestRail field whose TestFiesta field does not exist yet: a warning (the next
      ``migrate`` or sync creates it; until then its values are not in TestFiesta);
    * a user mapped to something that is not a TestFiesta user id (a UUID): an error.

    Returns problems in tab order, then TestRail order.
    """
    problems: list[MappingProblem] = []
    for name in VOCABULARIES:
        vocabulary = vocabularies.get(name)
        if vocabulary is None:
            continue
        choices = chosen.get(name, {})
        theirs = [item.name for item in vocabulary.testfiesta]
        by_target: dict[str, list[str]] = {}
        for item in vocabulary.testrail:
            target = choices.get(item.name, "")
            if target:
                by_target.setdefault(_fold(target), []).append(item.name)
            if name in CLOSED_VOCABULARIES and match_name(target, theirs) is None:
                what = "status" if name == "status" else "priority"
                problems.append(
                    MappingProblem(
                        name,
                        (item.name,),
                        ERROR,
                        f"TestRail {what} {item.name!r} is unmapped: TestFiesta has no "
                        f"{what} {target!r}",
                    )
                )
            elif name == "fields" and item.required and match_name(target, theirs) is None:
                problems.append(
                    MappingProblem(
                        name,
                        (item.name,),
                        WARNING,
                        f"required TestRail field {item.name!r} has no TestFiesta field "
                        f"{target!r} yet: migrate creates it",
                    )
                )
            elif name == "users" and target and not USER_ID.match(target.strip()):
                problems.append(
                    MappingProblem(
                        name,
                        (item.name,),
                        ERROR,
                        f"TestRail user {item.name!r} maps to {target!r}, which is not a "
                        "TestFiesta user id (a UUID)",
                        blocks_save=True,
                    )
                )
        for sources in by_target.values():
            if len(sources) > 1:
                shown = next(choices[s] for s in sources)
                named = [repr(s) for s in sources]
                listed = f"{', '.join(named[:-1])} and {named[-1]}"
                every = "both" if len(sources) == 2 else "all"
                problems.append(
                    MappingProblem(
                        name,
                        tuple(sources),
                        ERROR,
                        f"{listed} {every} map to {shown!r}: "
                        "TestFiesta values could not say which TestRail one they were",
                    )
                )
    order = {name: index for index, name in enumerate(VOCABULARIES)}
    return sorted(problems, key=lambda p: order[p.vocabulary])


def mapping_edits(
    rules: MappingRules,
    vocabularies: Mapping[str, Vocabulary],
    chosen: Mapping[str, Mapping[str, str]],
) -> list[tuple[str, str, str | None]]:
    """What to write so the config says ``chosen``: ``(table, key, value)`` per TestRail item
    whose counterpart under ``rules`` differs from its choice, ``value`` None meaning "remove
    the key" (a user with no TestFiesta id). Unchanged items give nothing, so saving an
    untouched editor writes nothing."""
    edits: list[tuple[str, str, str | None]] = []
    for name in VOCABULARIES:
        vocabulary = vocabularies.get(name)
        if vocabulary is None:
            continue
        for item in vocabulary.testrail:
            if item.name not in chosen.get(name, {}):
                continue
            wanted = chosen[name][item.name]
            if wanted == counterpart(rules, name, item):
                continue
            value = wanted if wanted else None
            if value is None and item.name not in configured_table(rules, name):
                continue
            edits.append((CONFIG_TABLES[name], item.name, value))
    return edits
