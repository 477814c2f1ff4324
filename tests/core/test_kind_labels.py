"""One name for people per kind (core.kinds.KIND_LABELS), and counts that agree with one."""

from __future__ import annotations

import io

from core.engine.apply import stage_of
from core.engine.parity import KindParity
from core.kinds import KIND_LABELS, KINDS, counted, kind_label, kind_word
from core.migrate import KIND_LABELS as REPORT_LABELS
from core.migrate import PARITY_KINDS, KindCount, MigrationReport
from tui.render import print_migration_reports


def test_every_kind_has_one_label_of_words_used_by_report_parity_and_stages() -> None:
    assert all(name in KIND_LABELS for name in KINDS)
    assert all("_" not in label for label in KIND_LABELS.values())
    assert kind_label("config_group") == "config groups"
    assert kind_label("shared_step") == "shared steps"
    assert kind_label("case_history") == "case history"
    assert kind_label("widget_box") == "widget boxs"  # a kind not listed: its words and an s
    assert {kind: KIND_LABELS[kind] for kind in REPORT_LABELS} == REPORT_LABELS
    assert stage_of("shared_step") == "shared steps"  # its reads count under this stage too
    assert [kind_label(k) for k in PARITY_KINDS][:5] == [
        "folders", "shared steps", "cases", "config groups", "configs"
    ]  # fmt: skip


def test_counts_of_one_are_singular() -> None:
    assert counted(1, "cases") == "1 case"
    assert counted(2, "cases") == "2 cases"
    assert counted(1, "duplicate config groups") == "1 duplicate config group"
    assert counted(1, "case history") == "1 case history"
    assert counted(0, "tests") == "0 tests"


def test_the_kinds_and_parity_tables_name_a_kind_alike() -> None:
    report = MigrationReport("Acme", "ACME")
    report.kinds["config groups"] = KindCount(2, 2, 2, 2)
    report.parity["config_group"] = KindParity("config_group", testrail=2, testfiesta=2, equal=2)
    out = io.StringIO()
    print_migration_reports([report], as_json=False, out=out)
    rows = [line.split()[:2] for line in out.getvalue().splitlines() if line.startswith("config")]
    assert rows == [["config", "groups"], ["config", "groups"]]


def test_one_record_is_named_in_the_singular_with_spaces() -> None:
    assert [kind_word(k) for k in ("case", "shared_step", "config_group", "case_history")] == [
        "case",
        "shared step",
        "config group",
        "case history",
    ]
