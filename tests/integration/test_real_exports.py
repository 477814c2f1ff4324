"""Every real TestRail XML export, migrated and read back through TestFiesta's API.

The exports go through both emulators in-process (``httpx.ASGITransport``, no sockets); one
smoke test sends one export over real TCP, so the wiring to a real server is covered too.

The expected values come from reading the export file directly with ElementTree, independent of
the emulator's importer and of the product: folder paths, case titles, preconditions, text
steps, expected results and separated steps must arrive character for character.
"""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.config import load_config
from core.service import Service
from core.testfiesta.client import TestFiestaClient
from emulators import testfiesta as testfiesta_emulator
from emulators import testrail as testrail_emulator
from emulators.server import start_in_thread

EXPORTS = [
    "AndriiBrykailo2__QA__testrail.xml",
    "Fibibb__Shopping-Cart__shopping_cart.xml",
    "Nhiiron__BackBugsTests__backbugs.xml",
    "Nhiiron__Parabank__parabank.xml",
    "Nhiiron__Swag-Labs__swag_labs.xml",
    "klaros-testmanagement__klaros-testrail-migration__master-testrail.xml",
    "testit-tms__migrators__example.xml",
    "testit-tms__migrators__Тестовый набор для BVT-тестирования10.0.0.xml",
]

CaseView = tuple[Any, ...]


def _text(element: ET.Element | None) -> str | None:
    """Element text as TestRail stores it: an empty element is no value."""
    if element is None or not element.text:
        return None
    return element.text


Section = tuple[tuple[str, ...], ET.Element]


def _sections(parent: ET.Element, path: tuple[str, ...]) -> Iterator[Section]:
    container = parent.find("sections")
    for section in container.findall("section") if container is not None else []:
        here = (*path, section.findtext("name") or "")
        yield here, section
        yield from _sections(section, here)


def expected_from_xml(path: Path) -> tuple[list[tuple[str, ...]], list[CaseView]]:
    """(folder paths, case views) read straight from a TestRail XML export."""
    root = ET.parse(path).getroot()
    folders: list[tuple[str, ...]] = []
    cases: list[CaseView] = []
    for folder_path, section in _sections(root, ()):
        folders.append(folder_path)
        for case in section.findall("cases/case"):
            custom = case.find("custom")

            def field(name: str, custom: ET.Element | None = custom) -> str | None:
                return _text(custom.find(name)) if custom is not None else None

            steps = tuple(
                (_text(step.find("content")) or "", _text(step.find("expected")) or "")
                for step in (custom.findall("steps_separated/step") if custom is not None else [])
            )
            cases.append(
                (
                    folder_path,
                    case.findtext("title") or "",
                    field("preconds"),
                    field("steps"),
                    field("expected"),
                    field("mission"),
                    field("goals"),
                    steps,
                )
            )
    return folders, cases


async def read_back(
    url: str, token: str, key: str, transport: httpx.AsyncBaseTransport | None = None
) -> tuple[list[tuple[str, ...]], list[CaseView]]:
    """(folder paths, case views) as TestFiesta's v1 API returns them."""
    client = TestFiestaClient.connect(
        url, "acme", token, requests_per_minute=None, transport=transport
    )
    try:
        folders = await client.list_folders(key)
        cases = await client.list_cases(key)
    finally:
        await client.aclose()
    by_uid = {f["uid"]: f for f in folders}

    def folder_path(uid: int) -> tuple[str, ...]:
        names: list[str] = []
        while uid in by_uid and by_uid[uid].get("parentUid"):
            names.append(by_uid[uid]["name"])
            uid = by_uid[uid]["parentUid"]
        return tuple(reversed(names))

    paths = [folder_path(f["uid"]) for f in folders if f.get("parentUid")]
    views = []
    for case in cases:
        custom = case.get("customFields") or {}
        views.append(
            (
                folder_path(case["parentUid"]),
                case["name"],
                custom.get("Preconditions"),
                custom.get("Steps"),
                custom.get("Expected Result"),
                custom.get("Mission"),
                custom.get("Goals"),
                tuple((s["description"], s["expectedResult"]) for s in case.get("steps") or []),
            )
        )
    return paths, views


def _config(tmp_path: Path, testrail_url: str, testfiesta_url: str, project_id: int) -> Path:
    path = tmp_path / "railfiesta.toml"
    path.write_text(
        f"""
[testrail]
url = "{testrail_url}"
user = "qa@example.com"
api_key_env = "TEST_TESTRAIL_KEY"
requests_per_minute = 0

[testfiesta]
url = "{testfiesta_url}"
handle = "acme"
token_env = "TEST_TESTFIESTA_TOKEN"
requests_per_minute = 0

[[pair]]
testrail_project = {project_id}
testfiesta_project = "REAL"
""",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize("export", EXPORTS)
def test_real_export_arrives_exactly_and_a_rerun_creates_nothing(
    export: str, real_exports: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _migrate_and_compare(real_exports / export, tmp_path, monkeypatch, tcp=False)


def test_one_real_export_over_tcp(
    real_exports: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same check with both emulators served on 127.0.0.1 (real sockets, real httpx pool)."""
    _migrate_and_compare(real_exports / EXPORTS[1], tmp_path, monkeypatch, tcp=True)


def _migrate_and_compare(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, tcp: bool
) -> None:
    assert source.is_file(), f"missing real export {source}"
    expected_folders, expected_cases = expected_from_xml(source)
    assert expected_cases, "the export holds cases"

    token = "testfiesta_" + "ab" * 16
    monkeypatch.setenv("TEST_TESTRAIL_KEY", "real-data-key")
    monkeypatch.setenv("TEST_TESTFIESTA_TOKEN", token)
    state = testrail_emulator.TestRailState()
    project_id = testrail_emulator.from_xml(state, source)
    tr_app = testrail_emulator.create_app(state, user="qa@example.com", api_key="real-data-key")
    tf_app = testfiesta_emulator.create_app(handle="acme", token=token)

    async def migrate_twice(
        testrail_url: str, testfiesta_url: str, in_process: bool
    ) -> tuple[Any, Any, Any]:
        config = load_config(_config(tmp_path, testrail_url, testfiesta_url, project_id))

        def service() -> Service:
            if not in_process:
                return Service(config, state_dir=tmp_path / "state")
            return Service(
                config,
                state_dir=tmp_path / "state",
                testrail_transport=httpx.ASGITransport(tr_app),
                testfiesta_transport=httpx.ASGITransport(tf_app),
            )

        async with service() as first_run:
            first = (await first_run.migrate())[0]
        back = await read_back(
            testfiesta_url, token, "REAL", httpx.ASGITransport(tf_app) if in_process else None
        )
        async with service() as second_run:
            second = (await second_run.migrate())[0]
        return first, back, second

    if tcp:
        with start_in_thread(tr_app) as testrail, start_in_thread(tf_app) as testfiesta:
            assert testrail.url.startswith("http://127.0.0.1:")
            result = asyncio.run(migrate_twice(testrail.url, testfiesta.url, False))
    else:
        result = asyncio.run(migrate_twice("http://testrail.test", "http://testfiesta.test", True))
    first, (folders, cases), second = result

    assert first.complete
    assert first.kinds["folders"].testrail == len(expected_folders)
    assert first.kinds["cases"].testrail == len(expected_cases)
    assert len(folders) == len(expected_folders)
    assert len(cases) == len(expected_cases)
    assert Counter(folders) == Counter(expected_folders)
    assert Counter(cases) == Counter(expected_cases)

    assert second.complete
    assert {kind: count.created for kind, count in second.kinds.items()} == {
        "project": 0,
        "fields": 0,
        "templates": 0,
        "folders": 0,
        "tags": 0,
        "cases": 0,
    }
    assert second.kinds["cases"].testfiesta == len(expected_cases)
