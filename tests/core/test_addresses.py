"""How people name and reach records: typed case ids and each record's web page."""

from __future__ import annotations

import pytest

from core import addresses
from core.addresses import record_web_url


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("C123", 123),
        ("c7", 7),
        ("  tr:case:42 ", 42),
        ("TR:CASE:5", 5),
        ("123", None),  # a bare number could be a TestFiesta uid
        ("C12a", None),
        ("tr:section:3", None),
        ("Checkout C1", None),
        ("", None),
    ],
)
def test_testrail_case_ref_reads_the_forms_people_type(text: str, expected: int | None) -> None:
    assert addresses.testrail_case_ref(text) == expected


@pytest.mark.parametrize(
    ("api", "app"),
    [
        ("https://api.testfiesta.com", "https://app.testfiesta.com"),
        ("https://api.testfiesta.com/", "https://app.testfiesta.com"),
        ("https://staging-api.testfiesta.com", "https://staging.app.testfiesta.com"),
        ("https://api.example.org:8443", "https://app.example.org:8443"),
        ("http://127.0.0.1:8002", "http://127.0.0.1:8002"),
        ("https://tf.corp.example/", "https://tf.corp.example"),
    ],
)
def test_testfiesta_app_url_follows_tacotruck(api: str, app: str) -> None:
    assert addresses.testfiesta_app_url(api) == app


def web(key: str, project_key: str | None = "WEB") -> str | None:
    return record_web_url(
        key,
        testrail_url="https://acme.testrail.io/",
        testfiesta_url="https://api.testfiesta.com",
        handle="acme",
        project_key=project_key,
    )


def test_record_web_url_is_the_page_a_browser_opens_not_the_api() -> None:
    assert web("tr:case:12") == "https://acme.testrail.io/index.php?/cases/view/12"
    assert web("tr:suite:3") == "https://acme.testrail.io/index.php?/suites/view/3"
    assert web("tr:section:4") is None  # shown inside its suite's page
    assert web("tf:case:40") == "https://app.testfiesta.com/acme/WEB/cases/40"
    assert web("tf:folder:5") == "https://app.testfiesta.com/acme/WEB/folders/5"
    assert web("tf:run:9") == "https://app.testfiesta.com/acme/WEB/runs/9/folders"
    assert web("tf:case:40", project_key=None) is None
    assert web("tf:tag:1") is None
    assert web("nonsense") is None


def test_record_web_page_gives_a_section_its_suites_page_and_says_so() -> None:
    def page(key: str, suite_id: int | None, project_key: str | None = "WEB") -> object:
        return addresses.record_web_page(
            key,
            testrail_url="https://acme.testrail.io/",
            testfiesta_url="https://api.testfiesta.com",
            handle="acme",
            project_key=project_key,
            suite_id=suite_id,
        )

    assert page("tr:case:12", 3) == ("https://acme.testrail.io/index.php?/cases/view/12", "")
    assert page("tr:section:4", 3) == (
        "https://acme.testrail.io/index.php?/suites/view/3",
        "a section has no page of its own in TestRail; this is its suite's",
    )
    assert page("tr:section:4", None) is None  # its suite not known
    assert page("tf:folder:5", None) == ("https://app.testfiesta.com/acme/WEB/folders/5", "")
    assert page("tf:folder:5", None, project_key=None) is None
