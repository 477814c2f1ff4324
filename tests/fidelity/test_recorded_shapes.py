"""The TestRail emulator answers with the structure of real TestRail responses.

Source of truth: every JSON file in ``shared/data/testrail-samples`` (found through the
``testrail_samples`` fixture; PROVENANCE.md there says where each was recorded). For each file a
mapping below loads the same kind of data into a fresh emulator — through its API, or through
its seeding functions where TestRail has no API (users, custom statuses, result fields) — asks
the endpoint that produced the recording, and compares the answer structurally with
:func:`tests.fidelity.shapes.compare`: envelope (paged object vs bare array), key sets, JSON types
per key, error bodies and their HTTP status. Values are instance data and are not compared,
except where the recording is TestRail's own text (the 401 body) or a pattern (the 400 text).

Departures from the exact recorded structure are declared per file with their reason
(:class:`~tests.fidelity.shapes.Allowances`): hand-trimmed fixtures (codepine, RetailMeNot),
keys that newer TestRail versions added, behaviours the API documents differently from a
fixture. A sample file without a mapping fails :func:`test_every_sample_file_has_a_mapping`.

Pre-6.7 bare-array recordings are checked against ``create_app(..., legacy_arrays=True)``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from emulators.testrail import ManualClock, TestRailState, create_app, ops
from tests.fidelity.shapes import Allowances, compare

USER, KEY = "qa@example.com", "fidelity-key"
API = "/index.php?/api/v2/"
START = 1_700_000_000

TRIMMED = "hand-trimmed fixture (PROVENANCE.md): its author cut keys TestRail sends"
NEWER = {
    "is_deleted": "7.x+ cases carry is_deleted: 0 (testrail-api.md §5.4); this server omits it",
    "labels": "7.7+ cases carry labels (testrail-api.md §5.4); this server predates them",
    "i18n_custom_id": "newer builds add i18n_custom_id (dichovsky live captures)",
    "attachment_ids": "newer result rows carry attachment_ids (testrail-api.md §5.14)",
}


class Emu:
    """A fresh emulator (manual clock at ``START``) and an authenticated in-process client."""

    def __init__(self, *, fresh_fields: bool = False, **options: Any) -> None:
        self.clock = ManualClock(START)
        self.state = TestRailState(clock=self.clock)
        if fresh_fields:  # an instance whose admin removed the stock fields
            self.state.case_fields.clear()
        self.app = create_app(self.state, user=USER, api_key=KEY, **options)
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://tr.test", auth=(USER, KEY)
        )

    async def raw(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request, whatever its status."""
        return await self.client.request(method, API + path, **kwargs)

    async def get(self, path: str) -> Any:
        """A GET that must succeed; its decoded body."""
        response = await self.raw("GET", path)
        assert response.status_code == 200, (path, response.text)
        return response.json()

    async def post(self, path: str, body: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """A POST that must succeed; its decoded body (None when TestRail answers empty)."""
        if body is not None:
            kwargs["json"] = body
        response = await self.raw("POST", path, **kwargs)
        assert response.status_code == 200, (path, response.text)
        return response.json() if response.content else None

    async def project(self, name: str = "Shop", **body: Any) -> dict[str, Any]:
        """A project (suite mode 1 unless ``suite_mode`` says otherwise)."""
        return await self.post("add_project", {"name": name, **body})  # type: ignore[no-any-return]

    async def single_suite(self, project_id: int) -> int:
        """Id of the one suite of a single-suite project."""
        suites = await self.get(f"get_suites/{project_id}")
        return int(suites[0]["id"])

    async def cases(
        self, project_id: int, titles: list[str], section: str = "Area", **case: Any
    ) -> list[dict[str, Any]]:
        """A section of ``project_id``'s single suite with one case per title."""
        sec = await self.post(f"add_section/{project_id}", {"name": section})
        return [await self.post(f"add_case/{sec['id']}", {"title": t, **case}) for t in titles]

    async def run_with_results(
        self, project_id: int, results: list[dict[str, Any]], **run: Any
    ) -> dict[str, Any]:
        """A run over the suite's cases, then ``results`` (``case_id`` each) through
        ``add_results_for_cases``; returns the run."""
        created = await self.post(f"add_run/{project_id}", {"name": "Nightly", **run})
        self.clock.advance(5)
        await self.post(f"add_results_for_cases/{created['id']}", {"results": results})
        return created  # type: ignore[no-any-return]


@dataclass
class Answer:
    """The emulator's side of one comparison: HTTP ``status`` and decoded ``body``, plus the
    ``recorded`` document to compare with when it must be adapted (None = the file as is)."""

    status: int
    body: Any
    recorded: Any = None


Builder = Callable[[Any, Path], Awaitable[Answer]]


@dataclass
class Mapping:
    """How one sample file is reproduced: ``build`` (recording, samples dir) -> :class:`Answer`,
    the expected ``status`` and the documented ``allow``ances."""

    build: Builder
    status: int = 200
    allow: Allowances = field(default_factory=Allowances)


MAPPINGS: dict[str, Mapping] = {}


def sample(
    *names: str,
    status: int = 200,
    trimmed: dict[str, str] | None = None,
    extra: dict[str, str] | None = None,
    nullable: dict[str, str] | None = None,
    uncovered: dict[str, str] | None = None,
) -> Callable[[Builder], Builder]:
    """Register a builder as the mapping of the sample file(s) ``names``."""

    def register(build: Builder) -> Builder:
        allow = Allowances(trimmed or {}, extra or {}, nullable or {}, uncovered or {})
        for name in names:
            MAPPINGS[name] = Mapping(build, status, allow)
        return build

    return register


def items(body: Any, key: str) -> list[Any]:
    """The entities of a paged answer (the mlbexport files strip the envelope, PROVENANCE.md)."""
    assert set(body) == {"offset", "limit", "size", "_links", key}, body.keys()
    return body[key]  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------------------------
# codepine/testrail-api-java-client: hand-trimmed fixtures, errors and a _links chain


@sample("codepine__case_field_steps_type10.json", trimmed={"$": TRIMMED})
async def _steps_field(rec: Any, _: Path) -> Answer:
    e = Emu(fresh_fields=True)
    config = rec["configs"][0]
    await e.post(
        "add_case_field",
        {
            "type": "Steps",
            "name": rec["name"],
            "label": rec["label"],
            "description": rec["description"],
            "include_all": True,
            "configs": [{"context": config["context"], "options": config["options"]}],
        },
    )
    (steps,) = await e.get("get_case_fields")
    return Answer(200, steps)


@sample("codepine__error_400_invalid_id_template.json", status=400)
async def _error_400(rec: Any, _: Path) -> Answer:
    e = Emu()
    response = await e.raw("GET", "get_project/4242")
    pattern = r"Field :(\w+)_id is not a valid or accessible (\w+)\."
    recorded, answered = (
        re.fullmatch(pattern, rec["error"]),
        re.fullmatch(pattern, response.json()["error"]),
    )
    assert recorded and answered, response.text  # same template, "model" -> "project"
    assert answered.groups() == ("project", "project")
    return Answer(response.status_code, response.json())


@sample("codepine__error_401_auth_failed.json", status=401)
async def _error_401(rec: Any, _: Path) -> Answer:
    e = Emu()
    response = await e.client.get(API + "get_projects", auth=(USER, "wrong-key"))
    assert response.json() == rec  # TestRail's own text, verbatim
    return Answer(response.status_code, response.json())


@sample("codepine__get_case_no_custom_fields.json", trimmed={"$": TRIMMED})
async def _case_no_custom(_: Any, __: Path) -> Answer:
    e = Emu(fresh_fields=True)
    p = await e.project()
    (case,) = await e.cases(p["id"], ["Test Case 2"], type_id=6, priority_id=4)
    e.clock.advance(60)
    await e.post(f"update_case/{case['id']}", {"title": "Test Case 2"})
    answer = await e.get(f"get_case/{case['id']}")
    assert not [k for k in answer if k.startswith("custom_")]
    return Answer(200, answer)


@sample("codepine__get_case_with_steps_field.json", trimmed={"$": TRIMMED})
async def _case_with_steps(rec: Any, _: Path) -> Answer:
    e = Emu(fresh_fields=True)
    await e.post(
        "add_case_field",
        {
            "type": "10",
            "name": "separated_steps",
            "label": "Separated Steps",
            "include_all": True,
            "configs": [
                {
                    "context": {"is_global": True, "project_ids": []},
                    "options": {"is_required": False, "format": "markdown", "has_expected": True},
                }
            ],
        },
    )
    p = await e.project()
    (case,) = await e.cases(
        p["id"], ["Test Case 2"], custom_separated_steps=rec["custom_separated_steps"]
    )
    answer = await e.get(f"get_case/{case['id']}")
    assert answer["custom_separated_steps"] == rec["custom_separated_steps"]
    return Answer(200, answer)


@sample("codepine__get_cases_paginated.json", trimmed={"$.cases[]": TRIMMED})
async def _cases_paginated(rec: Any, _: Path) -> Answer:
    e = Emu()
    p = await e.project()
    await e.cases(p["id"], [c["title"] for c in rec["cases"]])
    return Answer(200, await e.get(f"get_cases/{p['id']}"))


async def _plan(
    e: Emu, *, entries: int, milestone: bool = False
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A project with two suites, a plan (in a milestone if asked) with one entry per suite (the
    first with results: one passed, one failed), as in the codepine plan fixtures."""
    p = await e.project(suite_mode=3)
    suites = [await e.post(f"add_suite/{p['id']}", {"name": f"Test Suite {i}"}) for i in (1, 2)]
    case_ids = []
    for suite in suites:
        sec = await e.post(f"add_section/{p['id']}", {"name": "Area", "suite_id": suite["id"]})
        for title in ("Login", "Logout"):
            case_ids.append((await e.post(f"add_case/{sec['id']}", {"title": title}))["id"])
    body: dict[str, Any] = {"name": "Chrome Plan"}
    if milestone:
        body["milestone_id"] = (await e.post(f"add_milestone/{p['id']}", {"name": "1.0"}))["id"]
    plan = await e.post(f"add_plan/{p['id']}", body)
    for suite in suites[:entries]:
        await e.post(
            f"add_plan_entry/{plan['id']}",
            {"suite_id": suite["id"], "include_all": False, "case_ids": case_ids[:2]}
            if suite is suites[0]
            else {"suite_id": suite["id"]},
        )
    full = await e.get(f"get_plan/{plan['id']}")
    run_id = full["entries"][0]["runs"][0]["id"]
    await e.post(
        f"add_results_for_cases/{run_id}",
        {
            "results": [
                {"case_id": case_ids[0], "status_id": 1},
                {"case_id": case_ids[1], "status_id": 5},
            ]
        },
    )
    return p, plan


@sample("codepine__get_plan_no_entries.json", trimmed={"$": TRIMMED})
async def _plan_row(_: Any, __: Path) -> Answer:
    e = Emu()
    p, _plan_row = await _plan(e, entries=2)
    (row,) = items(await e.get(f"get_plans/{p['id']}"), "plans")
    assert "entries" not in row  # get_plans rows come without entries (§5.12)
    return Answer(200, row)


@sample(
    "codepine__get_plan_with_entries.json",
    trimmed={"$": TRIMMED, "$.entries[]": TRIMMED, "$.entries[].runs[]": TRIMMED},
)
async def _plan_full(_: Any, __: Path) -> Answer:
    e = Emu()
    _p, plan = await _plan(e, entries=2)
    return Answer(200, await e.get(f"get_plan/{plan['id']}"))


STALE_COMPLETED_ON = (
    "an active project answers completed_on null (testrail-api.md §5.1, retailmenot captures); "
    "the codepine fixture kept a timestamp on its active project"
)


async def _projects(e: Emu) -> None:
    """Projects like codepine's: suite modes 2/3/1, two completed, one with an announcement."""
    for i, (mode, done, shown) in enumerate(
        [
            (2, True, False),
            (3, True, True),
            (1, True, False),
            (1, False, False),
            (1, True, False),
        ],
        start=1,
    ):
        p = await e.project(
            f"Test Model {i}", suite_mode=mode, announcement="Hi", show_announcement=shown
        )
        if done:
            await e.post(f"update_project/{p['id']}", {"is_completed": True})


@sample(
    "codepine__get_projects_like_bare_array.json",
    trimmed={"$[]": TRIMMED},
    nullable={"$[].completed_on": STALE_COMPLETED_ON},
)
async def _projects_legacy(_: Any, __: Path) -> Answer:
    e = Emu(legacy_arrays=True)
    await _projects(e)
    return Answer(200, (await e.get("get_projects"))[:3])


@sample(
    "codepine__pagination_chain_page1.json",
    "codepine__pagination_chain_page2.json",
    "codepine__pagination_chain_page3.json",
    trimmed={"$.projects[]": TRIMMED},
    nullable={"$.projects[].completed_on": STALE_COMPLETED_ON},
)
async def _chain(rec: Any, _: Path) -> Answer:
    """codepine's three-page chain, reproduced by get_projects with limit=2 over five projects;
    ``models`` is the fixture's placeholder for the entity key (PROVENANCE.md)."""
    e = Emu()
    await _projects(e)
    page = {None: 0, "/api/v2/get_models/1": 1, "/api/v2/get_models/2": 2}[rec["_links"]["prev"]]
    body = await e.get(f"get_projects&limit=2&offset={2 * page}")
    for end in ("next", "prev"):  # the chain's ends are null at the same places
        assert (rec["_links"][end] is None) == (body["_links"][end] is None), (end, body)
        if body["_links"][end] is not None:
            assert body["_links"][end].startswith("/api/v2/get_projects&")
    recorded = {("projects" if k == "models" else k): v for k, v in rec.items()}
    return Answer(200, body, recorded)


STOCK_NULL = (
    "stock fields answer global configs with project_ids null (retailmenot, dichovsky live "
    "step results field); fields created later show [] as this fixture does"
)


@sample(
    "codepine__result_field_step_results_type11.json",
    trimmed={
        "$": TRIMMED,
        "$.configs[].options": TRIMMED + "; live stock Step Results options carry rows "
        "(dichovsky__live_result_fields.json)",
    },
    nullable={"$.configs[].context.project_ids": STOCK_NULL},
)
async def _step_results_field(_: Any, __: Path) -> Answer:
    e = Emu()
    (field_,) = [f for f in await e.get("get_result_fields") if f["type_id"] == 11]
    return Answer(200, field_)


async def _one_result(e: Emu, **result: Any) -> dict[str, Any]:
    p = await e.project()
    (case,) = await e.cases(p["id"], ["Login"])
    run = await e.run_with_results(p["id"], [{"case_id": case["id"], "status_id": 1, **result}])
    (test,) = items(await e.get(f"get_tests/{run['id']}"), "tests")
    (row,) = items(await e.get(f"get_results/{test['id']}"), "results")
    return row  # type: ignore[no-any-return]


@sample("codepine__get_result_no_custom_fields.json", trimmed={"$": TRIMMED})
async def _result_plain(_: Any, __: Path) -> Answer:
    e = Emu()
    e.state.result_fields.clear()
    row = await _one_result(e)
    assert not [k for k in row if k.startswith("custom_")]
    return Answer(200, row)


@sample(
    "codepine__get_result_with_step_results.json",
    trimmed={"$": TRIMMED, "$.custom_step_results[]": TRIMMED},
)
async def _result_steps(rec: Any, _: Path) -> Answer:
    e = Emu()
    return Answer(200, await _one_result(e, custom_step_results=rec["custom_step_results"]))


# ---------------------------------------------------------------------------------------------
# dichovsky/testrail-api-client: sanitized live TestRail Cloud captures (exact key sets)


@sample("dichovsky__live_attachment_entity.json")
async def _attachment(_: Any, __: Path) -> Answer:
    e = Emu()
    p = await e.project()
    (case,) = await e.cases(p["id"], ["Login"])
    files = {"attachment": ("log.txt", b"21 bytes of log text.", "text/plain")}
    added = await e.post(f"add_attachment_to_case/{case['id']}", files=files)
    (row,) = items(await e.get(f"get_attachments_for_case/{case['id']}"), "attachments")
    assert row["id"] == added["attachment_id"] and row["size"] == 21
    return Answer(200, row)


@sample("dichovsky__live_attachments_test_bare.json")
async def _attachments_for_test(_: Any, __: Path) -> Answer:
    e = Emu()
    p = await e.project()
    await e.cases(p["id"], ["Login"])
    run = await e.post(f"add_run/{p['id']}", {"name": "Nightly"})
    (test,) = items(await e.get(f"get_tests/{run['id']}"), "tests")
    return Answer(200, await e.get(f"get_attachments_for_test/{test['id']}"))


@sample("dichovsky__live_case_fields.json")
async def _live_case_fields(rec: Any, _: Path) -> Answer:
    """Four project-scoped Multi-select fields, created with ``add_case_field`` (type as the
    numeric string ``"12"``); the recorded project ids map onto projects made for them."""
    e = Emu(fresh_fields=True)
    pids = sorted({pid for f in rec for c in f["configs"] for pid in c["context"]["project_ids"]})
    mapped = {pid: (await e.project(f"P{pid}"))["id"] for pid in pids}
    for i, f in enumerate(rec):
        configs = []
        for c in f["configs"]:
            options = dict(c["options"], items="1, One\n2, Two")  # "redacted" is not item text
            ids = [mapped[pid] for pid in c["context"]["project_ids"]]
            configs.append(
                {"context": {"is_global": False, "project_ids": ids}, "options": options}
            )
        echo = await e.post(
            "add_case_field",
            {
                "type": str(f["type_id"]),
                "name": f"multi_{i}",
                "label": f"Multi {i}",
                "description": f["description"],
                "include_all": f["include_all"],
                "template_ids": f["template_ids"],
                "configs": configs,
            },
        )
        assert isinstance(echo["configs"], str) and echo["is_multi"] == 1  # the add echo (§5.6)
    return Answer(200, await e.get("get_case_fields"))


@sample("dichovsky__live_case_types.json")
async def _live_case_types(_: Any, __: Path) -> Answer:
    e = Emu()
    with e.state.lock:
        ops.ensure_case_type(e.state, "Exploratory")  # created later: i18n_custom_id null
    return Answer(200, await e.get("get_case_types"))


@sample("dichovsky__live_plan_entry.json")
async def _live_plan_entry(_: Any, __: Path) -> Answer:
    e = Emu()
    p = await e.project(suite_mode=3)
    suite = await e.post(f"add_suite/{p['id']}", {"name": "Regression"})
    sec = await e.post(f"add_section/{p['id']}", {"name": "Area", "suite_id": suite["id"]})
    for title in ("Login", "Logout"):
        await e.post(f"add_case/{sec['id']}", {"title": title})
    plan = await e.post(f"add_plan/{p['id']}", {"name": "Release"})
    entry = await e.post(f"add_plan_entry/{plan['id']}", {"suite_id": suite["id"]})
    return Answer(200, entry)


@sample("dichovsky__live_result_fields.json")
async def _live_result_fields(_: Any, __: Path) -> Answer:
    """The stock Step Results field plus a BDD Scenario Results field (type 14) on template 5,
    seeded with ``add_field_row`` (TestRail has no ``add_result_field``)."""
    e = Emu()
    with e.state.lock:
        ops.ensure_template(e.state, "Behaviour Driven Development")
        bdd = ops.ensure_template(e.state, "AI Evaluation")
        e.state.add_field_row(
            e.state.result_fields,
            "result_field",
            name="testrail_bdd_scenario_results",
            label="BDD Scenario Results",
            type_id=14,
            template_ids=[bdd["id"]],
            options={"is_required": False, "format": "markdown", "rows": "7"},
            project_ids=[],
            is_global=True,
        )
    return Answer(200, await e.get("get_result_fields"))


@sample("dichovsky__live_roles.json")
async def _live_roles(_: Any, __: Path) -> Answer:
    """get_roles is paged under ``roles`` (testrail-api.md §2.3); the capture holds its rows."""
    e = Emu()
    return Answer(200, items(await e.get("get_roles"), "roles"))


@sample("dichovsky__live_shared_step_history_bare.json")
async def _live_shared_history(_: Any, __: Path) -> Answer:
    e = Emu()
    p = await e.project()
    steps = [{"content": "Open /login", "expected": "Form shown"}]
    shared = await e.post(
        f"add_shared_step/{p['id']}", {"title": "Log in", "custom_steps_separated": steps}
    )
    e.clock.advance(30)
    await e.post(f"update_shared_step/{shared['id']}", {"title": "Log in as admin"})
    return Answer(200, await e.get(f"get_shared_step_history/{shared['id']}"))


@sample("dichovsky__live_statuses.json")
async def _live_statuses(_: Any, __: Path) -> Answer:
    e = Emu()
    with e.state.lock:
        ops.activate_custom_status(e.state, 7, name="flaky", label="Flaky")
        ops.activate_custom_status(e.state, 8, name="skipped", label="Skipped", is_final=True)
    return Answer(200, await e.get("get_statuses"))


@sample("dichovsky__live_templates.json")
async def _live_templates(_: Any, __: Path) -> Answer:
    e = Emu()
    p = await e.project()
    with e.state.lock:
        ops.ensure_template(e.state, "Behaviour Driven Development")
        ops.ensure_template(e.state, "AI Evaluation")
    return Answer(200, await e.get(f"get_templates/{p['id']}"))


@sample("dichovsky__live_user.json")
async def _live_user(_: Any, __: Path) -> Answer:
    e = Emu()
    me = await e.get("get_current_user")
    return Answer(200, await e.get(f"get_user/{me['id']}"))


# ---------------------------------------------------------------------------------------------
# dmason-mlb/testrail-exporter: a real self-hosted TestRail Server (list files hold the rows
# of the paged answers, envelope stripped; this server predates is_deleted/labels/i18n ids)


async def _mlb_instance(samples: Path) -> tuple[Emu, dict[int, int]]:
    """An emulator holding the MLB server's 25 case fields, created through ``add_case_field``
    from the recording, with one project per recorded project id (suite mode 3).

    Returns the emulator and the recorded -> emulator project id map."""
    fields = json.loads((samples / "mlbexport__get_case_fields.json").read_text("utf-8"))
    e = Emu(fresh_fields=True)
    pids = sorted({p for f in fields for c in f["configs"] for p in c["context"]["project_ids"]})
    mapped: dict[int, int] = {}
    with e.state.lock:
        for name in ("Behaviour Driven Development", "Custom 5", "Custom 6"):
            ops.ensure_template(e.state, name)
        for pid in pids:
            mapped[pid] = ops.add_project(e.state, {"name": f"MLB {pid}", "suite_mode": 3})["id"]
    for f in fields:
        configs = [
            {
                "context": {
                    "is_global": c["context"]["is_global"],
                    "project_ids": [mapped[p] for p in c["context"]["project_ids"]],
                },
                "options": c["options"],
            }
            for c in f["configs"]
        ]
        await e.post(
            "add_case_field",
            {
                "type": str(f["type_id"]),
                "name": f["name"],
                "label": f["label"],
                "description": f["description"],
                "include_all": f["include_all"],
                "template_ids": f["template_ids"],
                "configs": configs,
            },
        )
    return e, mapped


@sample("mlbexport__get_case_fields.json", extra={"i18n_custom_id": NEWER["i18n_custom_id"]})
async def _mlb_fields(_: Any, samples: Path) -> Answer:
    e, _mapped = await _mlb_instance(samples)
    with e.state.lock:  # the one inactive field of the export (no API switches it off)
        e.state.find_by_name(e.state.case_fields, "alfredhardware")["is_active"] = False  # type: ignore[index]
    return Answer(200, await e.get("get_case_fields"))


async def _mlb_cases(rec: Any, samples: Path, recorded_project: int) -> Answer:
    """The recorded cases re-created in the MLB project they came from: the emulator must
    answer exactly the custom keys that server's field configs give that project."""
    e, mapped = await _mlb_instance(samples)
    pid = mapped[recorded_project]
    suite = await e.post(f"add_suite/{pid}", {"name": "Sanity"})
    sections: dict[int, int] = {}
    created = []
    for case in rec:
        if case["section_id"] not in sections:
            sec = await e.post(f"add_section/{pid}", {"name": "Area", "suite_id": suite["id"]})
            sections[case["section_id"]] = sec["id"]
        body = {
            k: v
            for k, v in case.items()
            if k in ("title", "template_id", "refs", "estimate") or k.startswith("custom_")
        }
        created.append(await e.post(f"add_case/{sections[case['section_id']]}", body))
    if any(c["estimate_forecast"] for c in rec):  # forecasts come from recorded elapsed times
        run = await e.post(f"add_run/{pid}", {"name": "Sanity", "suite_id": suite["id"]})
        results = [{"case_id": c["id"], "status_id": 1, "elapsed": "30s"} for c in created]
        await e.post(f"add_results_for_cases/{run['id']}", {"results": results})
    answer = items(await e.get(f"get_cases/{pid}&suite_id={suite['id']}"), "cases")
    for mine, theirs in zip(answer, rec, strict=True):  # text arrives exactly (CRLF kept)
        for key in ("title", "custom_preconds", "custom_steps", "custom_expected"):
            assert mine[key] == theirs[key], key
        assert mine["custom_steps_separated"] == theirs["custom_steps_separated"]
    return Answer(200, answer)


@sample(
    "mlbexport__get_cases_items_steps_separated.json",
    extra={k: NEWER[k] for k in ("is_deleted", "labels")},
)
async def _mlb_steps_cases(rec: Any, samples: Path) -> Answer:
    return await _mlb_cases(rec, samples, recorded_project=195)  # "Baseball Data - Gameday"


@sample(
    "mlbexport__get_cases_items_text_template_crlf.json",
    extra={k: NEWER[k] for k in ("is_deleted", "labels")},
)
async def _mlb_text_cases(rec: Any, samples: Path) -> Answer:
    project = json.loads((samples / "mlbexport__get_project.json").read_text("utf-8"))
    return await _mlb_cases(rec, samples, recorded_project=project["id"])  # Android STB


@sample("mlbexport__get_case_types.json", extra={"i18n_custom_id": NEWER["i18n_custom_id"]})
async def _mlb_case_types(_: Any, __: Path) -> Answer:
    e = Emu()
    return Answer(200, await e.get("get_case_types"))


@sample("mlbexport__get_milestones_items.json")
async def _mlb_milestones(_: Any, __: Path) -> Answer:
    e = Emu()
    p = await e.project(suite_mode=3)
    m = await e.post(f"add_milestone/{p['id']}", {"name": "5.2.1 Applause"})
    e.clock.advance(10)
    await e.post(f"update_milestone/{m['id']}", {"is_started": True})
    e.clock.advance(10)
    await e.post(f"update_milestone/{m['id']}", {"is_completed": True})
    return Answer(200, items(await e.get(f"get_milestones/{p['id']}"), "milestones"))


@sample("mlbexport__get_priorities.json")
async def _mlb_priorities(_: Any, __: Path) -> Answer:
    return Answer(200, await Emu().get("get_priorities"))


@sample("mlbexport__get_project.json")
async def _mlb_project(rec: Any, _: Path) -> Answer:
    e = Emu()
    p = await e.project(rec["name"], suite_mode=3)
    return Answer(200, await e.get(f"get_project/{p['id']}"))


@sample("mlbexport__get_sections_items.json")
async def _mlb_sections(rec: Any, _: Path) -> Answer:
    e = Emu()
    p = await e.project(suite_mode=3)
    suite = await e.post(f"add_suite/{p['id']}", {"name": "Fast Track Regression"})
    for sec in rec:
        await e.post(f"add_section/{p['id']}", {"name": sec["name"], "suite_id": suite["id"]})
    body = await e.get(f"get_sections/{p['id']}&suite_id={suite['id']}")
    return Answer(200, items(body, "sections"))


@sample("mlbexport__get_suite.json")
async def _mlb_suite(_: Any, __: Path) -> Answer:
    e = Emu()
    p = await e.project(suite_mode=3)
    suite = await e.post(f"add_suite/{p['id']}", {"name": "Master"})
    return Answer(200, await e.get(f"get_suite/{suite['id']}"))


# ---------------------------------------------------------------------------------------------
# RetailMeNot/TestRailSDK: Cloud recordings, hand-trimmed; pre-6.7 arrays and 6.7 envelopes


@sample("retailmenot__get_case.json", trimmed={"$": TRIMMED})
async def _rmn_case(rec: Any, _: Path) -> Answer:
    e = Emu()
    p = await e.project()
    m = await e.post(f"add_milestone/{p['id']}", {"name": "1.0"})
    body = {
        k: rec[k]
        for k in ("refs", "estimate", "custom_expected", "custom_preconds", "custom_steps")
    }
    (case,) = await e.cases(
        p["id"],
        [rec["title"]],
        milestone_id=m["id"],
        custom_steps_separated=rec["custom_steps_separated"],
        **body,
    )
    e.clock.advance(60)
    await e.post(f"update_case/{case['id']}", {"priority_id": 2})
    return Answer(200, await e.get(f"get_case/{case['id']}"))


@sample("retailmenot__get_case_fields.json", trimmed={"$[]": TRIMMED})
async def _rmn_case_fields(_: Any, __: Path) -> Answer:
    """The recording lists Text fields only: the emulator's Text fields answer it, one of them
    project-scoped (``is_global: false``) as the recording's second field."""
    e = Emu()
    p = await e.project()
    await e.post(
        "add_case_field",
        {
            "type": "Text",
            "name": "testfield",
            "label": "Test field",
            "description": "The custom test field of this test case.",
            "include_all": True,
            "configs": [
                {
                    "context": {"is_global": False, "project_ids": [p["id"]]},
                    "options": {
                        "default_value": "",
                        "format": "markdown",
                        "is_required": False,
                        "rows": "5",
                    },
                }
            ],
        },
    )
    text = [f for f in await e.get("get_case_fields") if f["type_id"] == 3]
    return Answer(200, text)


@sample("retailmenot__get_case_types.json", extra={"i18n_custom_id": NEWER["i18n_custom_id"]})
async def _rmn_case_types(_: Any, __: Path) -> Answer:
    return Answer(200, await Emu().get("get_case_types"))


async def _rmn_instance(e: Emu) -> dict[str, Any]:
    """RetailMeNot's instance: a dropdown ``automation_priority`` and a text ``notes`` field
    beside the stock Steps field; returns a project."""
    p = await e.project()
    for body in (
        {"type": "Dropdown", "name": "automation_priority", "label": "Automation Priority",
         "options": {"is_required": False, "default_value": "1", "items": "1, High\n2, Low"}},
        {"type": "Text", "name": "notes", "label": "Notes",
         "options": {"is_required": False, "format": "markdown", "rows": "5"}},
    ):  # fmt: skip
        options = body.pop("options")
        await e.post(
            "add_case_field",
            {
                **body,
                "include_all": True,
                "configs": [{"context": {"is_global": True}, "options": options}],
            },
        )
    return p  # type: ignore[no-any-return]


@sample("retailmenot__get_cases_paged.json", trimmed={"$.cases[]": TRIMMED})
async def _rmn_cases(rec: Any, _: Path) -> Answer:
    e = Emu(fresh_fields=True)
    with e.state.lock:  # the stock Steps field this instance still has
        e.state.add_field_row(
            e.state.case_fields,
            "case_field",
            name="steps_separated",
            label="Steps",
            type_id=10,
            include_all=True,
            options={"is_required": False, "format": "markdown", "has_expected": True},
        )
    p = await _rmn_instance(e)
    cases = await e.cases(
        p["id"],
        [c["title"] for c in rec["cases"]],
        type_id=4,
        custom_steps_separated=rec["cases"][0]["custom_steps_separated"],
    )
    await e.run_with_results(
        p["id"], [{"case_id": cases[0]["id"], "status_id": 1, "elapsed": "22s"}]
    )
    return Answer(200, await e.get(f"get_cases/{p['id']}"))


@sample("retailmenot__get_configs.json")
async def _rmn_configs(rec: Any, _: Path) -> Answer:
    e = Emu()
    p = await e.project()
    for group in rec:
        g = await e.post(f"add_config_group/{p['id']}", {"name": group["name"]})
        for config in group["configs"]:
            await e.post(f"add_config/{g['id']}", {"name": config["name"]})
    return Answer(200, await e.get(f"get_configs/{p['id']}"))


@sample("retailmenot__get_plans_paged.json", trimmed={"$.plans[]": TRIMMED})
async def _rmn_plans(_: Any, __: Path) -> Answer:
    e = Emu()
    p, _first = await _plan(e, entries=1, milestone=True)
    m = await e.post(f"add_milestone/{p['id']}", {"name": "456"})
    await e.post(f"add_plan/{p['id']}", {"name": "Test Plan 2", "milestone_id": m["id"]})
    return Answer(200, await e.get(f"get_plans/{p['id']}"))


async def _rmn_projects(e: Emu, count: int) -> None:
    for i in range(count):
        await e.project(
            f"Name Project {i}",
            suite_mode=3,
            announcement="Sin City Gateway System" if i % 2 else None,
            show_announcement=i == 1,
        )


@sample("retailmenot__get_projects_bare_array.json")
async def _rmn_projects_legacy(_: Any, __: Path) -> Answer:
    e = Emu(legacy_arrays=True)
    await _rmn_projects(e, 1)
    return Answer(200, await e.get("get_projects"))


@sample("retailmenot__get_projects_paged.json")
async def _rmn_projects_paged(_: Any, __: Path) -> Answer:
    e = Emu()
    await _rmn_projects(e, 5)
    return Answer(200, await e.get("get_projects"))


async def _rmn_results(e: Emu) -> Any:
    """Results of one test like RetailMeNot's: an assigned failure and an assigned pass with
    comments, the pass with an elapsed time; newest first."""
    p = await e.project()
    (case,) = await e.cases(p["id"], ["Home Page - Universal Tags"])
    me = await e.get("get_current_user")
    run = await e.run_with_results(
        p["id"],
        [
            {"case_id": case["id"], "status_id": 5, "comment": "Broke", "assignedto_id": me["id"]},
            {"case_id": case["id"], "status_id": 1, "comment": "It worked!!", "elapsed": "11s",
             "assignedto_id": me["id"]},
        ],
    )  # fmt: skip
    tests = await e.get(f"get_tests/{run['id']}")
    (test,) = tests if isinstance(tests, list) else tests["tests"]
    return await e.get(f"get_results/{test['id']}")


@sample(
    "retailmenot__get_results_bare_array.json",
    extra={"attachment_ids": NEWER["attachment_ids"]},
)
async def _rmn_results_legacy(_: Any, __: Path) -> Answer:
    return Answer(200, await _rmn_results(Emu(legacy_arrays=True)))


@sample(
    "retailmenot__get_results_paged.json",
    extra={"attachment_ids": NEWER["attachment_ids"]},
)
async def _rmn_results_paged(_: Any, __: Path) -> Answer:
    return Answer(200, await _rmn_results(Emu()))


PLAN_RUNS = (
    "get_runs lists only runs outside plans (TestRail API docs, testrail-api.md §5.11); the SDK "
    "fixture mixes plan runs (plan_id, config) in"
)


async def _rmn_runs(e: Emu) -> Any:
    """Runs like RetailMeNot's: one with a subset of cases, one with everything, a milestone,
    an assignee and a description, and some results; plus a plan whose runs get_runs skips."""
    p = await e.project()
    cases = await e.cases(p["id"], ["Login", "Logout"])
    m = await e.post(f"add_milestone/{p['id']}", {"name": "6"})
    me = await e.get("get_current_user")
    await e.run_with_results(
        p["id"],
        [{"case_id": cases[0]["id"], "status_id": 1}],
        include_all=False,
        case_ids=[cases[0]["id"]],
    )
    await e.post(
        f"add_run/{p['id']}",
        {"name": "sample test run", "description": "includes all tests",
         "milestone_id": m["id"], "assignedto_id": me["id"]},
    )  # fmt: skip
    await e.post(
        f"add_plan/{p['id']}", {"name": "Plan", "entries": [{"suite_id": cases[0]["suite_id"]}]}
    )
    return await e.get(f"get_runs/{p['id']}")


@sample(
    "retailmenot__get_runs_bare_array.json",
    trimmed={"$[]": TRIMMED},
    uncovered={"$[].plan_id": PLAN_RUNS, "$[].config": PLAN_RUNS},
)
async def _rmn_runs_legacy(_: Any, __: Path) -> Answer:
    return Answer(200, await _rmn_runs(Emu(legacy_arrays=True)))


@sample("retailmenot__get_runs_paged.json", trimmed={"$.runs[]": TRIMMED})
async def _rmn_runs_paged(_: Any, __: Path) -> Answer:
    return Answer(200, await _rmn_runs(Emu()))


async def _rmn_sections(e: Emu) -> Any:
    p = await e.project()
    root = await e.post(f"add_section/{p['id']}", {"name": "All Test Cases"})
    await e.post(f"add_section/{p['id']}", {"name": "Error Handling", "parent_id": root["id"]})
    await e.post(f"add_section/{p['id']}", {"name": "Management"})
    return await e.get(f"get_sections/{p['id']}")


@sample("retailmenot__get_sections_bare_array.json", trimmed={"$[]": TRIMMED})
async def _rmn_sections_legacy(_: Any, __: Path) -> Answer:
    return Answer(200, await _rmn_sections(Emu(legacy_arrays=True)))


@sample("retailmenot__get_sections_paged.json")
async def _rmn_sections_paged(_: Any, __: Path) -> Answer:
    return Answer(200, await _rmn_sections(Emu()))


@sample("retailmenot__get_suites.json")
async def _rmn_suites(rec: Any, _: Path) -> Answer:
    """``get_suites`` is a bare array up to 9.3.0, the emulator's default profile (§5.2)."""
    e = Emu()
    p = await e.project(suite_mode=3)
    for suite in rec:
        await e.post(
            f"add_suite/{p['id']}", {"name": suite["name"], "description": suite["description"]}
        )
    return Answer(200, await e.get(f"get_suites/{p['id']}"))


@sample("retailmenot__get_tests_paged.json", trimmed={"$.tests[]": TRIMMED})
async def _rmn_tests(_: Any, __: Path) -> Answer:
    e = Emu(fresh_fields=True)
    with e.state.lock:
        e.state.add_field_row(
            e.state.case_fields,
            "case_field",
            name="steps_separated",
            label="Steps",
            type_id=10,
            include_all=True,
            options={"is_required": False, "format": "markdown", "has_expected": True},
        )
    p = await _rmn_instance(e)
    cases = await e.cases(p["id"], ["Home Page - Universal Tags", "Store Page - Universal Tags"])
    me = await e.get("get_current_user")
    run = await e.run_with_results(
        p["id"],
        [{"case_id": cases[0]["id"], "status_id": 1, "elapsed": "13s", "assignedto_id": me["id"]}],
    )
    await e.post(
        f"add_results_for_cases/{run['id']}",
        {"results": [{"case_id": cases[1]["id"], "comment": "looked at it", "elapsed": "27s"}]},
    )
    return Answer(200, await e.get(f"get_tests/{run['id']}"))


@sample("retailmenot__get_users.json", trimmed={"$[]": TRIMMED})
async def _rmn_users(_: Any, __: Path) -> Answer:
    e = Emu()
    with e.state.lock:
        ops.add_user(e.state, email="zzzyzz@example.com", name="Zach Zzyzzwyzzky", is_admin=False)
    return Answer(200, await e.get("get_users"))


# ---------------------------------------------------------------------------------------------


def test_every_sample_file_has_a_mapping(testrail_samples: Path) -> None:
    """A new recording without a mapping here fails loudly (and a mapping without its file)."""
    files = {p.name for p in testrail_samples.glob("*.json")}
    assert files, f"no recorded samples in {testrail_samples}"
    assert sorted(files - set(MAPPINGS)) == [], "sample files without a mapping"
    assert sorted(set(MAPPINGS) - files) == [], "mappings without a sample file"


@pytest.mark.parametrize("name", sorted(MAPPINGS))
async def test_emulator_answers_the_recorded_shape(name: str, testrail_samples: Path) -> None:
    """The emulator's answer to the recorded call has the recording's envelope, keys and types."""
    path = testrail_samples / name
    assert path.is_file(), f"recorded sample missing: {path}"
    recorded = json.loads(path.read_text("utf-8"))
    mapping = MAPPINGS[name]
    answer = await mapping.build(recorded, testrail_samples)
    assert answer.status == mapping.status, answer.body
    if answer.status != 200:
        assert set(answer.body) == {"error"} and isinstance(answer.body["error"], str)
    baseline = recorded if answer.recorded is None else answer.recorded
    problems = compare(baseline, answer.body, mapping.allow)
    assert problems == [], "\n".join(problems)
