"""How people name and reach a record: the case ids they type, and each record's web address.

One rule each, used by the console (``y``/``Y``, the ``/`` filter) through the facade
(:meth:`core.service.Service.record_page`, :meth:`core.service.Service.testrail_search`):

* :func:`testrail_case_ref`: ``C123`` (TestRail's case id as its web UI shows it,
  testrail-api.md §4) or the record key ``tr:case:123`` -> ``123``.
* :func:`record_web_url`: the page a person opens in a browser for a record key, built from
  the configured API addresses:

  - TestRail: the ``url`` forms TestRail itself returns (testrail-api.md §4):
    ``{url}/index.php?/cases/view/<id>`` and ``{url}/index.php?/suites/view/<id>``; a section
    has no page of its own (TestRail shows it inside its suite's page): :func:`record_web_page`
    gives its suite's page instead, with :data:`SECTION_PAGE_NOTE`.
  - TestFiesta: the web app, not the API. Its address follows tacotruck's rule
    (testfiesta-api.md §1.1, TT url-substitutor ``convertApiUrlToDashboardUrl``): the API host's
    ``api.`` becomes ``app.`` (``https://api.testfiesta.com`` -> ``https://app.testfiesta.com``,
    ``staging-api.`` -> ``staging.app.``); any other host is kept as it is. The only deep link
    TestFiesta documents is a run's, ``{app}/{handle}/{project key}/runs/<uid>/folders``;
    the folder and case pages are **inferred** from it: ``{app}/{handle}/{key}/folders/<uid>``
    and ``{app}/{handle}/{key}/cases/<uid>``.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "SECTION_PAGE_NOTE",
    "record_web_page",
    "record_web_url",
    "testfiesta_app_url",
    "testrail_case_ref",
]

#: Why the page given for a TestRail section is another record's (:func:`record_web_page`).
SECTION_PAGE_NOTE = "a section has no page of its own in TestRail; this is its suite's"

_CASE_REF = re.compile(r"(?:c|tr:case:)([0-9]+)", re.IGNORECASE)
_TESTRAIL_PAGES = {"case": "cases/view", "suite": "suites/view"}
_TESTFIESTA_PAGES = {"case": "cases", "folder": "folders", "run": "runs"}


def testrail_case_ref(text: str) -> int | None:
    """The TestRail case id ``text`` names, as a person types it: ``"C123"``, ``"c123"`` or
    ``"tr:case:123"`` (spaces around it ignored) -> ``123``; None for anything else (a bare
    number is not taken: it could as well be a TestFiesta uid)."""
    match = _CASE_REF.fullmatch(text.strip())
    return int(match.group(1)) if match else None


def testfiesta_app_url(api_url: str) -> str:
    """TestFiesta's web app address for its API address (no trailing slash):
    ``https://api.testfiesta.com`` -> ``https://app.testfiesta.com``,
    ``https://staging-api.testfiesta.com`` -> ``https://staging.app.testfiesta.com``; an
    address whose host does not start with ``api.`` is kept (a path in it too)."""
    parts = urlsplit(api_url.rstrip("/"))
    host = parts.hostname or ""
    if host.startswith("staging-api."):
        new_host = "staging.app." + host.removeprefix("staging-api.")
    elif host.startswith("api."):
        new_host = "app." + host.removeprefix("api.")
    else:
        return api_url.rstrip("/")
    netloc = parts.netloc.replace(host, new_host, 1)
    return urlunsplit((parts.scheme, netloc, "", "", ""))


def record_web_url(
    key: str,
    *,
    testrail_url: str,
    testfiesta_url: str,
    handle: str,
    project_key: str | None,
) -> str | None:
    """The web page of record ``key`` (``tr:case:12``, ``tf:folder:5``; see the module's rules),
    or None for a kind without a page of its own (a TestRail section) or a TestFiesta record
    while ``project_key`` is unknown."""
    side, kind, number = [*key.split(":"), "", ""][:3]
    if not number:
        return None
    if side == "tr" and kind in _TESTRAIL_PAGES:
        return f"{testrail_url.rstrip('/')}/index.php?/{_TESTRAIL_PAGES[kind]}/{number}"
    if side == "tf" and project_key and kind in _TESTFIESTA_PAGES:
        app = testfiesta_app_url(testfiesta_url)
        tail = "/folders" if kind == "run" else ""
        return f"{app}/{handle}/{project_key}/{_TESTFIESTA_PAGES[kind]}/{number}{tail}"
    return None


def record_web_page(
    key: str,
    *,
    testrail_url: str,
    testfiesta_url: str,
    handle: str,
    project_key: str | None,
    suite_id: int | None = None,
) -> tuple[str, str] | None:
    """``(url, note)``: the page a person opens for record ``key``, ``note`` "" when it is the
    record's own (:func:`record_web_url`); for a TestRail section, which has none, its suite's
    page (``suite_id``: the suite it belongs to) with ``note`` :data:`SECTION_PAGE_NOTE`. None
    when there is no page to give (a section whose suite is not known, a TestFiesta record
    while ``project_key`` is unknown)."""
    pages = [key]
    if key.startswith("tr:section:") and suite_id is not None:
        pages.append(f"tr:suite:{suite_id}")
    for page in pages:
        url = record_web_url(
            page,
            testrail_url=testrail_url,
            testfiesta_url=testfiesta_url,
            handle=handle,
            project_key=project_key,
        )
        if url is not None:
            return url, "" if page == key else SECTION_PAGE_NOTE
    return None
