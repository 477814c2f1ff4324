"""Both sides of a record (Service.record_sides) and the mapping editor's core rules."""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path

import pytest

from core.config import load_config
from core.details import DetailRow, compare_records
from core.mapping import (
    ERROR,
    WARNING,
    MappingRules,
    MetaItem,
    Vocabulary,
    mapping_edits,
    validate_mapping,
)
from core.service import Service
from tests.helpers import emulate

SAMPLE = Path(__file__).resolve().parents[2] / "sample-config.toml"
USER_ID = "6f1c2b7e-3d4a-4e5f-8a9b-0c1d2e3f4a5b"


@pytest.fixture(autouse=True)
def _null_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")


# ---------------------------------------------------------------------- record_sides


async def test_record_sides_marks_the_changed_title_and_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulated = emulate(tmp_path, monkeypatch, cases=12)
    async with emulated.service() as service:
        await service.migrate()
        assert service.testrail is not None and service.store is not None
        tf_key = service.store.linked("tr:case:10")
        assert tf_key is not None and tf_key.startswith("tf:case:")
        row = await service.testrail.get_case(10)
        steps = row["custom_steps_separated"]
        # the generated case starts with a shared step set of two steps (one item of the
        # case's steps, kept shared); its own second step is TestRail's steps[3]
        assert [s.get("shared_step_id") for s in steps[:3]] == [1, 1, None]
        steps[3] = {**steps[3], "expected": "The start page shows the cart"}
        await service.testrail.update_case(
            10, {"title": "Reject a reused one-time code", "custom_steps_separated": steps}
        )

        sides = await service.record_sides("tr:case:10")
        assert (sides.kind, sides.testrail_key, sides.testfiesta_key) == (
            "case",
            "tr:case:10",
            tf_key,
        )
        assert sides.testrail and sides.testfiesta and sides.note == ""
        differing = [row for row in sides.rows if row.differ]
        assert differing == [
            DetailRow(
                "title",
                "Title",
                "Reject a reused one-time code",
                "Attempt to reject a reused one-time code in dark mode",
                True,
            ),
            DetailRow(
                "steps[3].expected",
                "Step 3 expected",
                "The start page shows the cart",
                "The start page is shown without errors",
                True,
                step=3,
            ),
        ]
        rows = {row.name: row for row in sides.rows}
        assert rows["folder"] == DetailRow("folder", "Folder", "Desktop", "Desktop", False)
        assert rows["field:custom_preconds"].label == "Preconditions"
        assert rows["field:custom_automation_type"].testfiesta == "Playwright"
        assert [(r.label, r.testrail, r.differ) for r in sides.rows if r.step == 1] == [
            ("Step 1 shared step", "tr:shared_step:1", False)
        ]
        assert [r.label for r in sides.rows if r.step == 2] == ["Step 2 action", "Step 2 expected"]

        # the TestFiesta key gives the same comparison
        again = await service.record_sides(tf_key)
        assert again.rows == sides.rows


async def test_a_record_only_in_testrail_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulated = emulate(tmp_path, monkeypatch, cases=12)
    async with emulated.service() as service:
        # before the TestFiesta project exists only TestRail is read
        early = await service.record_sides("tr:case:10")
        assert early.note == "Only in TestRail: not linked to a TestFiesta record"
        assert (early.testrail, early.testfiesta, early.testfiesta_key) == (True, False, None)
        assert early.differences == 0
        title = next(row for row in early.rows if row.name == "title")
        assert (title.testrail, title.testfiesta) == (
            "Attempt to reject a reused one-time code in dark mode",
            "",
        )

        await service.migrate()
        assert service.testrail is not None
        added = await service.testrail.add_case(11, {"title": "Coupon code is case-blind"})
        sides = await service.record_sides(f"tr:case:{added['id']}")
        assert sides.note == "Only in TestRail: not linked to a TestFiesta record"
        assert [(r.label, r.testrail, r.testfiesta) for r in sides.rows[:2]] == [
            ("Title", "Coupon code is case-blind", ""),
            ("Folder", "Desktop", ""),
        ]


def test_compare_records_lists_a_missing_step_as_a_difference() -> None:
    rows = compare_records(
        {"title": "A", "steps": [{"content": "Open"}, {"content": "Pay", "expected": "Paid"}]},
        {"title": "A", "steps": [{"content": "Open"}]},
    )
    assert [(r.label, r.testrail, r.testfiesta, r.differ) for r in rows] == [
        ("Title", "A", "A", False),
        ("Step 1 action", "Open", "Open", False),
        ("Step 2 action", "Pay", "", True),
        ("Step 2 expected", "Paid", "", True),
    ]


# ---------------------------------------------------------------------- mapping rules


def _vocabularies() -> dict[str, Vocabulary]:
    return {
        "fields": Vocabulary(
            "fields",
            (MetaItem("custom_preconds", "Preconditions", True), MetaItem("custom_goals", "Goals")),
            (MetaItem("Preconditions"),),
        ),
        "status": Vocabulary(
            "status",
            (MetaItem("Passed"), MetaItem("Retest"), MetaItem("Failed")),
            (MetaItem("Passed"), MetaItem("Failed")),
        ),
        "users": Vocabulary("users", (MetaItem("qa@example.com"),), (), listable=False),
    }


def test_validation_finds_unmapped_and_two_to_one() -> None:
    chosen = {
        "fields": {"custom_preconds": "Pre-condition", "custom_goals": "Goals"},
        "status": {"Passed": "Passed", "Retest": "failed", "Failed": "Failed"},
        "users": {"qa@example.com": "qa@example.com"},
    }
    problems = validate_mapping(_vocabularies(), chosen)
    assert [(p.vocabulary, p.testrail, p.severity, p.message) for p in problems] == [
        (
            "fields",
            ("custom_preconds",),
            WARNING,
            "required TestRail field 'custom_preconds' has no TestFiesta field "
            "'Pre-condition' yet: migrate creates it",
        ),
        (
            "status",
            ("Retest", "Failed"),
            ERROR,
            "'Retest' and 'Failed' both map to 'failed': TestFiesta values could not say "
            "which TestRail one they were",
        ),
        (
            "users",
            ("qa@example.com",),
            ERROR,
            "TestRail user 'qa@example.com' maps to 'qa@example.com', which is not a "
            "TestFiesta user id (a UUID)",
        ),
    ]
    chosen["status"]["Retest"] = "Retest"
    chosen["fields"]["custom_preconds"] = "Preconditions"
    chosen["users"]["qa@example.com"] = USER_ID
    assert [p.message for p in validate_mapping(_vocabularies(), chosen)] == [
        "TestRail status 'Retest' is unmapped: TestFiesta has no status 'Retest'"
    ]


def test_three_to_one_says_all_and_lists_with_commas() -> None:
    chosen = {
        "fields": {"custom_preconds": "Preconditions", "custom_goals": "Goals"},
        "status": {"Passed": "Failed", "Retest": "Failed", "Failed": "Failed"},
        "users": {"qa@example.com": USER_ID},
    }
    assert [p.message for p in validate_mapping(_vocabularies(), chosen)] == [
        "'Passed', 'Retest' and 'Failed' all map to 'Failed': TestFiesta values could not "
        "say which TestRail one they were"
    ]


def test_mapping_edits_only_what_changed() -> None:
    rules = MappingRules(status={"Retest": "Failed"}, users={"qa@example.com": USER_ID})
    vocabularies = _vocabularies()
    unchanged = {
        "fields": {"custom_preconds": "Preconditions", "custom_goals": "Goals"},
        "status": {"Passed": "Passed", "Retest": "Failed", "Failed": "Failed"},
        "users": {"qa@example.com": USER_ID},
    }
    assert mapping_edits(rules, vocabularies, unchanged) == []
    changed = {
        **unchanged,
        "status": {**unchanged["status"], "Passed": "Skipped"},
        "users": {"qa@example.com": ""},
    }
    assert mapping_edits(rules, vocabularies, changed) == [
        ("mapping.status", "Passed", "Skipped"),
        ("users", "qa@example.com", None),
    ]


def test_save_mapping_changes_one_line_of_the_sample_config(tmp_path: Path) -> None:
    path = tmp_path / "railfiesta.toml"
    shutil.copyfile(SAMPLE, path)
    before = path.read_bytes()
    service = Service(load_config(path), state_dir=tmp_path / "state")
    vocabularies = {
        "status": Vocabulary(
            "status",
            tuple(MetaItem(n) for n in ("Passed", "Blocked", "Retest")),
            tuple(MetaItem(n) for n in ("Passed", "Blocked", "Retest", "Skipped")),
        )
    }
    chosen = {"status": {"Passed": "Passed", "Blocked": "Skipped", "Retest": "Retest"}}
    assert service.save_mapping(vocabularies, chosen) == [("mapping.status", "Blocked", "Skipped")]
    diff = [
        line
        for line in difflib.diff_bytes(
            difflib.unified_diff, before.splitlines(True), path.read_bytes().splitlines(True), n=0
        )
        if not line.startswith((b"---", b"+++", b"@@"))
    ]
    assert diff == [
        b'-Blocked = "Blocked"\n',
        b'+Blocked = "Skipped"\n',
    ]
    assert service.config.mapping.status["Blocked"] == "Skipped"
    assert service.save_mapping(vocabularies, chosen) == []  # already so: nothing written
