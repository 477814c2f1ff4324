"""TestRail's own export files as the migration source (``migrate --from-xml`` /
``--from-csv``), over the in-process TestFiesta emulator.

Expected values are read straight from the real files in ../shared/data/real-exports with
ElementTree and the csv module, independent of core.testrail.exports. Where a suite was exported
both as XML and as CSV (and the CSV again as "Excel"), all three must give TestFiesta the same
folders and cases.
"""

from __future__ import annotations

import asyncio
import zlib
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.config import load_config
from core.errors import ConfigError, RailfiestaError
from core.migrate import MigrationReport
from core.service import Service
from core.testrail.exports import (
    csv_time,
    date_order,
    read_export,
    split_numbered,
    timespan,
)
from emulators import testfiesta as testfiesta_emulator
from tests.integration.test_real_exports import EXPORTS, expected_from_xml, read_back

TOKEN = "testfiesta_" + "cd" * 16
#: suites exported as XML, CSV and "Excel" (a CSV named .xls, with a sep= line)
TWINS = [
    "Fibibb__Shopping-Cart__shopping_cart",
    "Nhiiron__BackBugsTests__backbugs",
    "Nhiiron__Parabank__parabank",
    "Nhiiron__Swag-Labs__swag_labs",
]
CaseView = tuple[Any, ...]


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "railfiesta.toml"
    path.write_text(
        """
[testrail]
url = "https://acme.testrail.io"
user = "qa@example.com"
api_key_env = "TEST_EXPORT_TESTRAIL_KEY_UNSET"

[testfiesta]
url = "http://testfiesta.test"
handle = "acme"
token_env = "TEST_EXPORT_TESTFIESTA_TOKEN"
requests_per_minute = 0

[[pair]]
testrail_project = "From a file"
testfiesta_project = "FILE"
""",
        encoding="utf-8",
    )
    return path


def _service(config: Path, tf_app: Any, state: Path, export: Path) -> Service:
    return Service(
        load_config(config),
        state_dir=state,
        testfiesta_transport=httpx.ASGITransport(tf_app),
        testrail_export=export,
    )


async def _read_back(tf_app: Any) -> tuple[list[tuple[str, ...]], list[CaseView]]:
    return await read_back(
        "http://testfiesta.test", TOKEN, "FILE", transport=httpx.ASGITransport(tf_app)
    )


def _migrate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, export: Path, *, runs: int = 1
) -> tuple[list[MigrationReport], list[tuple[str, ...]], list[CaseView]]:
    monkeypatch.setenv("TEST_EXPORT_TESTFIESTA_TOKEN", TOKEN)
    monkeypatch.delenv("TEST_EXPORT_TESTRAIL_KEY_UNSET", raising=False)
    tf_app = testfiesta_emulator.create_app(handle="acme", token=TOKEN)
    tmp_path.mkdir(parents=True, exist_ok=True)
    config = _config(tmp_path)

    async def go() -> tuple[list[MigrationReport], Any]:
        reports = []
        for _ in range(runs):
            async with _service(config, tf_app, tmp_path / "state", export) as service:
                reports.append((await service.migrate())[0])
        return reports, await _read_back(tf_app)

    reports, (folders, cases) = asyncio.run(go())
    return reports, folders, cases


def _lines(view: CaseView) -> CaseView:
    """A case view as both export formats can carry it: CRLF as LF (the CSV export writes CRLF
    inside cells where the XML parser gives LF, testrail-export-formats.md §1.5, §2.1) and step
    texts without trailing blanks (the CSV's ``Steps (Step)`` sub-columns drop them: the XML of
    Fibibb's C36 has ``button. `` where its CSV has ``button.``)."""

    def fix(value: Any) -> Any:
        if isinstance(value, str):
            return value.replace("\r\n", "\n")
        if isinstance(value, tuple):
            return tuple(fix(v) for v in value)
        return value

    *head, steps = (fix(v) for v in view)
    return (*head, tuple(tuple((text or "").rstrip() for text in step) for step in steps))


@pytest.mark.parametrize("export", EXPORTS)
def test_xml_export_migrates_without_the_api_exactly_and_a_rerun_creates_nothing(
    export: str, real_exports: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = real_exports / export
    expected_folders, expected_cases = expected_from_xml(source)
    reports, folders, cases = _migrate(tmp_path, monkeypatch, source, runs=2)
    first, second = reports
    assert first.complete
    assert first.kinds["cases"].testrail == len(expected_cases)
    assert first.kinds["cases"].created == len(expected_cases)
    assert first.requests["testrail"] == 0
    assert Counter(folders) == Counter(expected_folders)
    assert Counter(cases) == Counter(expected_cases)
    assert second.complete
    assert sum(count.created for count in second.kinds.values()) == 0
    assert len(cases) == len(expected_cases)


@pytest.mark.parametrize("suite", TWINS)
def test_csv_and_excel_exports_give_what_the_xml_export_of_the_same_suite_gives(
    suite: str, real_exports: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected_folders, expected_cases = expected_from_xml(real_exports / f"{suite}.xml")
    for extension in ("csv", "xls"):
        _, folders, cases = _migrate(
            tmp_path / extension, monkeypatch, real_exports / f"{suite}.{extension}"
        )
        assert Counter(folders) == Counter(expected_folders), extension
        assert Counter(_lines(c) for c in cases) == Counter(_lines(c) for c in expected_cases)


def test_csv_text_template_cells_sections_and_dropdowns_arrive(
    real_exports: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = (
        real_exports
        / "giorgi-tsereteli__testrail-to-zephyr-csv-converter__data_testrail_export.csv"
    )
    data = read_export(source)
    case = next(row for row in data.cases if row["id"] == 24687)
    assert case["title"] == (
        "Account: API - Verify that Merging RPT And F180 Users is successful and has  the "
        "correct authorization"
    )
    assert case["custom_preconds"] == "1. RPT Admin\n2. F180 Admin"
    assert case["custom_expected"] == "Merging two users should also merge their data"
    assert case["refs"] == (
        "ENG-7523, ENG-17941, QAB-1, TRIAGE-17373, ENG-20952, TRIAGE-17846, ENG-23881, ENG-23918"
    )
    assert case["created_on"] == 1618846380  # 4/19/2021 3:33 PM, read as UTC
    templates = {row["id"]: row["name"] for row in data.templates}
    assert templates[case["template_id"]] == "Test Case (Text)"  # "Test Case  (Text)" in the file
    fields = {row["system_name"]: row for row in data.case_fields}
    automated = fields["custom_manual_automated"]
    assert automated["label"] == "Manual/Automated"
    assert automated["type_id"] == 6
    assert case["custom_manual_automated"] == 1
    assert automated["configs"][0]["options"]["items"].splitlines()[0] == "1, Automated"

    reports, folders, cases = _migrate(tmp_path, monkeypatch, source)
    assert reports[0].complete
    assert reports[0].kinds["cases"].testfiesta == 33
    assert ("Account", "Automation", "E2E") in folders
    titles = {c[1]: c for c in cases}
    merged = titles[case["title"]]
    assert merged[0] == ("Account", "Automation", "E2E")
    assert merged[2] == "1. RPT Admin\n2. F180 Admin"


def test_numbered_step_columns_split_in_order() -> None:
    assert split_numbered("1. Open\r\n2. Click\r\n3. Check") == ["Open", "Click", "Check"]
    assert split_numbered("1. \r\n2.", 2) == ["", ""]
    # a step whose own text starts a line with a number stays one step
    assert split_numbered("1. Enter:\n3. apples\n2. Submit", 2) == ["Enter:\n3. apples", "Submit"]
    assert split_numbered("1. only", 3) == ["only", "", ""]


def test_estimates_and_dates() -> None:
    assert timespan("840") == "14m"
    assert timespan("3930") == "1h 5m 30s"
    assert timespan("") is None
    assert timespan("2h") == "2h"
    assert csv_time("24.4.2021 11:31") == 1619263860
    assert csv_time("10/29/2022 1:51 PM") == 1667051460
    assert csv_time("yesterday") is None


def test_a_file_that_is_not_an_export_is_named_and_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cases = {
        "notes.txt": b"shopping list\nmilk\n",
        "other.xml": b"<?xml version='1.0'?><testsuite name='junit'/>",
        "broken.xml": b"<suite><sections><section>",
        "latin1.csv": '"ID","Title"\n"C1","Caf\xe9"\n'.encode("latin-1"),
    }
    messages = {}
    for name, content in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(ConfigError) as caught:
            read_export(path)
        messages[name] = str(caught.value)
    assert (
        "notes.txt is neither a TestRail XML export nor a TestRail CSV export"
        in messages["notes.txt"]
    )
    assert "its root is <testsuite>, not <suite> or <sections>" in messages["other.xml"]
    assert "is not well-formed XML (line 1, column 27)" in messages["broken.xml"]
    assert "latin1.csv is not UTF-8 (byte 22 is 0xe9)" in messages["latin1.csv"]
    assert "iconv" in messages["latin1.csv"]

    with pytest.raises(ConfigError, match="neither a TestRail XML export"):
        _migrate(tmp_path / "run", monkeypatch, tmp_path / "notes.txt")
    assert not (tmp_path / "run" / "state").exists() or not any(
        (tmp_path / "run" / "state").iterdir()
    )


def test_a_file_source_refuses_to_write_to_testrail(
    real_exports: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_EXPORT_TESTFIESTA_TOKEN", TOKEN)
    tf_app = testfiesta_emulator.create_app(handle="acme", token=TOKEN)
    service = _service(_config(tmp_path), tf_app, tmp_path / "state", real_exports / EXPORTS[0])

    async def go() -> None:
        async with service:
            assert service.testrail is not None
            await service.testrail.add_case(1, {"title": "new"})

    with pytest.raises(RailfiestaError, match="TestRail is read from the export file"):
        asyncio.run(go())


def test_what_the_reader_repaired_is_in_the_report_so_json_keeps_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, real_exports: Path
) -> None:
    name = "klaros-testmanagement__klaros-testrail-migration__master-testrail.xml"
    [report], _, _ = _migrate(tmp_path, monkeypatch, real_exports / name)
    assert report.complete
    assert report.notes == [
        f"{name}: case C2221114 appears more than once ('Test case 2'); it is migrated as a "
        "case of its own",
        f"{name}: case C2221114 appears more than once ('Test case 8'); it is migrated as a "
        "case of its own",
        f"{name}: case C2221116 appears more than once ('Test case 9'); it is migrated as a "
        "case of its own",
        f"{name}: case C2228993 appears more than once ('GUI Logger 3'); it is migrated as a "
        "case of its own",
    ]
    assert report.as_dict()["notes"] == report.notes


def test_two_suite_exports_go_into_one_project_apart_and_a_rerun_creates_nothing(
    real_exports: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two suites of one instance (Parabank S1: 5 sections, 16 cases; Swag Labs S2: 4
    sections, 26 cases) migrated one after the other into one TestFiesta project: each keeps
    its own folders (section numbers restart per file, the suite id namespaces them), and
    migrating both again creates nothing."""
    monkeypatch.setenv("TEST_EXPORT_TESTFIESTA_TOKEN", TOKEN)
    tf_app = testfiesta_emulator.create_app(handle="acme", token=TOKEN)
    config = _config(tmp_path)
    files = [real_exports / f"{suite}.xml" for suite in TWINS[2:]]
    expected = [expected_from_xml(path) for path in files]

    async def go() -> tuple[list[MigrationReport], Any]:
        reports = []
        for _ in range(2):
            for path in files:
                async with _service(config, tf_app, tmp_path / "state", path) as service:
                    reports.append((await service.migrate())[0])
        return reports, await _read_back(tf_app)

    reports, (folders, cases) = asyncio.run(go())
    assert [r.kinds["folders"].created for r in reports] == [5, 4, 0, 0]
    assert [r.kinds["cases"].created for r in reports] == [16, 26, 0, 0]
    assert all(r.complete for r in reports)
    assert len(folders) == 9
    assert len(cases) == 42
    assert Counter(folders) == Counter(expected[0][0] + expected[1][0])
    assert Counter(cases) == Counter(expected[0][1] + expected[1][1])


def _small_export(path: Path, sections: dict[str, list[str]]) -> Path:
    """An import-format XML file (root ``<sections>``, no suite id): section name -> its
    cases as ``"C<id> <title>"``."""
    parts = ["<?xml version='1.0' encoding='UTF-8'?><sections>"]
    for name, cases in sections.items():
        parts.append(f"<section><name>{name}</name><cases>")
        for case in cases:
            ident, title = case.split(" ", 1)
            parts.append(f"<case><id>{ident}</id><title>{title}</title></case>")
        parts.append("</cases></section>")
    parts.append("</sections>")
    path.write_text("".join(parts), encoding="utf-8")
    return path


def test_files_without_suite_ids_keep_their_sections_and_made_up_case_ids_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two files with no suite id: their sections are both numbered 1 and 2, and the case id
    one repeats (C5) once became 6, the real id of a case in the other file. Each file's name
    now namespaces them; both land whole in one project and a re-run creates nothing."""
    first = _small_export(
        tmp_path / "alpha.xml", {"Login": ["C5 Log in", "C5 Log out"], "Cart": ["C4 Add"]}
    )
    second = _small_export(
        tmp_path / "beta.xml", {"Login": ["C6 Reset password"], "Search": ["C7 Find"]}
    )
    data = read_export(first), read_export(second)
    assert [s["id"] for s in data[0].sections] == ["alpha-1", "alpha-2"]
    assert [s["id"] for s in data[1].sections] == ["beta-1", "beta-2"]
    base = 10**12 + zlib.crc32(b"alpha") % 10**6 * 10**6
    assert [c["id"] for c in data[0].cases] == [5, base + 1, 4]
    assert [c["section_id"] for c in data[0].cases] == ["alpha-1", "alpha-1", "alpha-2"]

    monkeypatch.setenv("TEST_EXPORT_TESTFIESTA_TOKEN", TOKEN)
    tf_app = testfiesta_emulator.create_app(handle="acme", token=TOKEN)
    config = _config(tmp_path)

    async def go() -> tuple[list[MigrationReport], Any]:
        reports = []
        for path in (first, second, first, second):
            async with _service(config, tf_app, tmp_path / "state", path) as service:
                reports.append((await service.migrate())[0])
        return reports, await _read_back(tf_app)

    reports, (folders, cases) = asyncio.run(go())
    assert [r.kinds["folders"].created for r in reports] == [2, 2, 0, 0]
    assert [r.kinds["cases"].created for r in reports] == [3, 2, 0, 0]
    assert sorted(folders) == [("Cart",), ("Login",), ("Login",), ("Search",)]
    assert sorted((c[0], c[1]) for c in cases) == [
        (("Cart",), "Add"),
        (("Login",), "Log in"),
        (("Login",), "Log out"),
        (("Login",), "Reset password"),
        (("Search",), "Find"),
    ]


def _dated_csv(path: Path, dates: list[tuple[str, str]]) -> Path:
    """A CSV export with one case per ``(Created On, Updated On)`` pair, ids C1, C2, ..."""
    lines = ['"ID","Title","Created On","Section","Updated On"']
    for n, (created, updated) in enumerate(dates, 1):
        lines.append(f'"C{n}","Case {n}","{created}","Main","{updated}"')
    path.write_bytes(("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8"))
    return path


def test_day_first_csv_dates_are_read_per_file_and_a_bad_one_is_named(tmp_path: Path) -> None:
    """``24/04/2021 13:51`` (a day above 12) makes the file day-first, so its ambiguous
    ``03/04/2021 10:00`` is April 3; a file whose ``10/29/2022`` decides month-first reads the
    same ``03/04/2021 10:00`` as March 4. A cell that is no date is dropped with a warning
    naming the file, row, case, column and value."""
    day_first = read_export(
        _dated_csv(
            tmp_path / "eu.csv",
            [("03/04/2021 10:00", "24/04/2021 13:51"), ("3.4.2021 9:05", "soon")],
        )
    )
    assert [(c["created_on"], c["updated_on"]) for c in day_first.cases] == [
        (1617444000, 1619272260),
        (1617440700, None),
    ]
    assert day_first.warnings == [
        "eu.csv: row 3 (C2), column 'Updated On': 'soon' is not a date TestRail writes "
        "(10/29/2022 1:51 PM, 24/04/2021 13:51, 24.4.2021 11:31, 2021-04-24 13:51); the case "
        "is migrated without it"
    ]
    month_first = read_export(
        _dated_csv(tmp_path / "us.csv", [("03/04/2021 10:00", "10/29/2022 1:51 PM")])
    )
    assert [(c["created_on"], c["updated_on"]) for c in month_first.cases] == [
        (1614852000, 1667051460)
    ]
    assert month_first.warnings == []
    # nothing decides: dotted dates are day-first, slashed ones month-first
    assert date_order(["3.4.2021 9:00"]) == "day-first"
    assert date_order(["3/4/2021 9:00", ""]) == "month-first"
    assert date_order(["2021-04-03 09:00", "13/4/2021 9:00"]) == "day-first"
    assert csv_time("2021-04-24 13:51") == 1619272260
    assert csv_time("24/04/2021 13:51") == 1619272260


def test_many_unreadable_dates_are_one_warning_and_the_report_lists_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Five cases whose ``Updated On`` holds no date: one note for the column (count, the
    first three cells), every cell in the report's ``unread``; the cases still arrive."""
    source = _dated_csv(
        tmp_path / "late.csv",
        [("24/04/2021 13:51", f"later {n}") for n in range(1, 6)],
    )
    [report], _, cases = _migrate(tmp_path / "run", monkeypatch, source)
    assert len(cases) == 5
    assert report.notes == [
        "late.csv: 5 cells of column 'Updated On' are not dates TestRail writes (10/29/2022 "
        "1:51 PM, 24/04/2021 13:51, 24.4.2021 11:31, 2021-04-24 13:51): row 2 (C1) 'later 1', "
        "row 3 (C2) 'later 2', row 4 (C3) 'later 3', ... 2 more (--json lists all); those "
        "cases are migrated without them"
    ]
    assert report.as_dict()["unread"] == [
        {"file": "late.csv", "row": n + 1, "case": f"C{n}", "column": "Updated On",
         "value": f"later {n}"}
        for n in range(1, 6)
    ]  # fmt: skip
