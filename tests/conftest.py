"""Shared fixtures: where the real TestRail data lives, and a clean environment per test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def shared_data_dir() -> Path:
    """The read-only real data: ``../shared/data`` beside the checkout, or $RAILFIESTA_SHARED_DATA.

    Tests that need it fail (never skip) when it is missing: a green run without the real data
    would prove nothing.
    """
    configured = os.environ.get("RAILFIESTA_SHARED_DATA")
    path = Path(configured) if configured else REPO_ROOT.parent / "shared" / "data"
    if not path.is_dir():
        pytest.fail(
            f"real TestRail data not found at {path}; put the shared data there "
            "or set RAILFIESTA_SHARED_DATA to its directory",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="session")
def real_exports() -> Path:
    """``shared/data/real-exports``: public TestRail XML/CSV exports nobody here wrote."""
    return shared_data_dir() / "real-exports"


@pytest.fixture(scope="session")
def testrail_samples() -> Path:
    """``shared/data/testrail-samples``: recorded TestRail API v2 responses."""
    return shared_data_dir() / "testrail-samples"
