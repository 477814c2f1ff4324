"""Export files a QA lead hands over that the readers must take or refuse by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ConfigError
from core.testrail.exports import read_export

HEADER = '"ID","Title","Section","Preconditions"\r\n'


def test_a_csv_cell_longer_than_the_csv_module_default_limit_is_read_whole(
    tmp_path: Path,
) -> None:
    # 300,000 characters: more than csv's default field limit of 131,072
    path = tmp_path / "long.csv"
    path.write_text(
        "\ufeffsep=;\r\n"
        + HEADER.replace(",", ";")
        + '"C7";"Long log";"Logs";"'
        + "X" * 300_000
        + '"\r\n'
        + '"C8";"Short";"Logs";"ok"\r\n',
        encoding="utf-8",
        newline="",
    )
    export = read_export(path)
    assert [(c["id"], c["title"]) for c in export.cases] == [(7, "Long log"), (8, "Short")]
    assert export.cases[0]["custom_preconds"] == "X" * 300_000
    assert export.cases[1]["custom_preconds"] == "ok"


@pytest.mark.parametrize(
    ("name", "start"),
    [
        ("book.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64),
        ("book.xlsx", b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 64),
    ],
    ids=["xls", "xlsx"],
)
def test_a_binary_excel_workbook_is_named_as_one_with_the_way_out(
    tmp_path: Path, name: str, start: bytes
) -> None:
    path = tmp_path / name
    path.write_bytes(start)
    with pytest.raises(ConfigError) as caught:
        read_export(path)
    assert caught.value.message == (
        f"{path} is an Excel workbook (binary), not a TestRail export: TestRail's "
        '"Excel" export is a CSV file with a .xls name'
    )
    assert caught.value.hint == (
        "use the file TestRail exported as it is (Suite > Export > CSV/Excel), "
        'or save the workbook from Excel as "CSV UTF-8"'
    )
