"""A TestRail export file served through the :class:`core.testrail.client.TestRailClient`
interface, so a migration from a file takes the API migration's path unchanged
(``railfiesta migrate --from-xml FILE`` / ``--from-csv FILE``; issue: TestRail's own files as a
source).

:class:`ExportClient` answers the read methods a migration makes (``get_projects``,
``get_project``, ``get_suites``, ``get_sections``, ``get_cases``, ``get_case``,
``get_case_fields``, ``get_case_types``, ``get_priorities``, ``get_statuses``,
``get_templates``, and the empty ``get_runs``/``get_tests``/``get_results*``/``get_users``:
an export holds no runs, results or users, testrail-export-formats.md) from
:class:`core.testrail.exports.ExportData`. It sends no request. Every write raises
:class:`core.errors.RailfiestaError`: a file is a one-way source, so ``sync`` needs the API.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import httpx

from core.errors import NotFound, RailfiestaError
from core.http import ApiSession
from core.testrail.client import Params, TestRailClient, classify_testrail_error
from core.testrail.exports import ExportData, read_export

#: TestRail's system statuses (testrail-api.md §5.9): an export carries no statuses.
STOCK_STATUSES: list[dict[str, Any]] = [
    {"id": 1, "name": "passed", "label": "Passed", "is_system": True, "is_untested": False},
    {"id": 2, "name": "blocked", "label": "Blocked", "is_system": True, "is_untested": False},
    {"id": 3, "name": "untested", "label": "Untested", "is_system": True, "is_untested": True},
    {"id": 4, "name": "retest", "label": "Retest", "is_system": True, "is_untested": False},
    {"id": 5, "name": "failed", "label": "Failed", "is_system": True, "is_untested": False},
]
#: Methods whose answer is an empty list: an export has no runs, plans, results, users or
#: case history.
EMPTY_LISTS = frozenset(
    {
        "get_runs", "get_plans", "get_milestones", "get_tests", "get_results",
        "get_results_for_run", "get_users", "get_attachments_for_case", "get_shared_steps",
        "get_configs", "get_history_for_case",
    }
)  # fmt: skip


def _refuse(request: httpx.Request) -> httpx.Response:
    raise RailfiestaError(
        f"a TestRail export file cannot answer {request.url}",
        hint="this is a bug in railfiesta: an export source sends no requests",
    )


class ExportClient(TestRailClient):
    """A read-only TestRail over one export file (see the module docstring).

    ``data`` is what :func:`core.testrail.exports.read_export` made of the file; ``base_url``
    the configured ``[testrail] url`` (it names the instance in every externalId, so a later
    migration over the API finds what the file migrated). ``session`` counts no requests.
    """

    def __init__(self, data: ExportData, base_url: str) -> None:
        client = httpx.AsyncClient(transport=httpx.MockTransport(_refuse))
        session = ApiSession(
            "testrail", client, requests_per_minute=None, classify=classify_testrail_error
        )
        super().__init__(session, base_url)
        self.data = data
        self._cases = {str(row["id"]): row for row in data.cases}

    @classmethod
    def open(cls, path: Path, base_url: str, *, project_name: str | None = None) -> ExportClient:
        """Read ``path`` (XML or CSV export) as the project ``project_name``. Raises
        :class:`core.errors.ConfigError` naming the file when it is not an export."""
        return cls(read_export(path, project_name=project_name), base_url)

    def _answer(self, method: str, params: Params | None) -> Any:
        name, _, arg = method.partition("/")
        data = self.data
        if name in EMPTY_LISTS:
            return []
        if name == "get_projects":
            return [data.project]
        if name == "get_project" and arg == str(data.project["id"]):
            return data.project
        if name == "get_suites":
            return data.suites
        if name == "get_suite" and arg == str(data.suites[0]["id"]):
            return data.suites[0]
        if name == "get_sections":
            return data.sections
        if name == "get_cases":
            return [row for row in data.cases if _matches(row, params or {})]
        if name == "get_case" and arg in self._cases:
            return self._cases[arg]
        if name == "get_case_fields":
            return data.case_fields
        if name == "get_case_types":
            return data.case_types
        if name == "get_priorities":
            return data.priorities
        if name == "get_statuses":
            return STOCK_STATUSES
        if name == "get_templates":
            return data.templates
        raise RailfiestaError(
            f"the export file {data.path.name} has no {method}",
            hint="an export holds one suite's sections and cases; "
            "runs, plans, milestones and attachments need the TestRail API",
        )

    async def get_attachment(self, attachment_id: int | str) -> tuple[bytes, str, str | None]:
        """An export file holds no file bytes: :class:`NotFound` (the image stays a
        TestRail reference in the case text)."""
        raise NotFound(
            "testrail",
            "get_attachment",
            404,
            f"the export file {self.data.path.name} holds no attachment {attachment_id}",
        )

    async def get(self, method: str, params: Params | None = None) -> Any:
        """The answer the API would give to ``method``, from the file."""
        return self._answer(method, params)

    async def post(self, method: str, body: Mapping[str, Any] | None = None) -> Any:
        """Refused: an export file is a one-way source."""
        raise RailfiestaError(
            f"cannot {method.split('/', 1)[0]}: TestRail is read from the export file "
            f"{self.data.path.name}",
            hint="sync and writes to TestRail need the API: drop --from-xml / --from-csv",
        )

    async def paginate(
        self, method: str, key: str, params: Params | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        """Every row of a list ``method``, from the file."""
        for row in self._answer(method, params):
            yield row


def _matches(row: Mapping[str, Any], params: Mapping[str, Any]) -> bool:
    """``get_cases`` filters (§5.4): ``section_id``, ``updated_after``/``created_after``."""
    section = params.get("section_id")
    if section is not None and str(row.get("section_id")) != str(section):
        return False
    for name, column in (("updated_after", "updated_on"), ("created_after", "created_on")):
        after = params.get(name)
        if after is not None and (row.get(column) or 0) <= int(after):
            return False
    return True
