"""The headless progress lines of ``railfiesta migrate`` for waits the server asks for."""

from __future__ import annotations

import io

from core.http import RateLimitWait
from tui.cli import ProgressPrinter


def test_a_429_wait_and_a_maintenance_wait_are_told_apart() -> None:
    err = io.StringIO()
    printer = ProgressPrinter(err)
    printer(RateLimitWait("testrail", "get_cases", 12.0))
    printer(RateLimitWait("testrail", "get_projects", 60.0, 409))
    assert err.getvalue().splitlines() == [
        "testrail rate limit: waiting 12 s (get_cases)",
        "testrail is down for maintenance (HTTP 409): waiting 60 s (get_projects)",
    ]
