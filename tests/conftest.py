"""Shared fixtures: where the real TestRail data lives, and a clean environment per test.

Contract validation is on for the whole run: every TestFiesta emulator app any test builds
checks each request and answer against ``../shared/specs`` (or $RAILFIESTA_SHARED_SPECS), see
:mod:`emulators.testfiesta.contract`, and a violation fails the test phase that caused it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from emulators.testfiesta import contract

if TYPE_CHECKING:
    from tests.demo import MigratedDemo

REPO_ROOT = Path(__file__).resolve().parent.parent

#: The published API specs; missing specs make every emulator-backed test fail, never skip.
SHARED_SPECS = Path(
    os.environ.get("RAILFIESTA_SHARED_SPECS") or REPO_ROOT.parent / "shared" / "specs"
)
os.environ[contract.SPECS_ENV] = str(SHARED_SPECS)


def _contract_checked(phase: str) -> object:
    """A hook wrapper failing test ``phase`` with every contract violation recorded during it
    (recorded, not raised, so servers in threads and clients that retry cannot hide one)."""

    @pytest.hookimpl(wrapper=True)
    def hook(item: pytest.Item) -> object:
        try:
            return (yield)
        finally:
            violations = contract.take_violations()
            if violations:
                report = "\n".join(str(v) for v in violations)
                # A traceback only if the phase failed too, so that failure stays visible.
                failed = sys.exc_info()[0] is not None
                pytest.fail(f"TestFiesta contract violated during {phase}:\n{report}", failed)

    return hook


pytest_runtest_setup = _contract_checked("setup")
pytest_runtest_call = _contract_checked("call")
pytest_runtest_teardown = _contract_checked("teardown")


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


@pytest.fixture(scope="session")
def migrated_demo(tmp_path_factory: pytest.TempPathFactory) -> MigratedDemo:
    """The demo project migrated once per session (per xdist worker), headless through the
    facade (:func:`tests.demo.migrate_demo`). Do not change it: copy it
    (:func:`tests.demo.copy_demo`). Mark its users ``xdist_group(tests.demo.DEMO_GROUP)``.
    Imported here, not at the top: a run without the console's tests needs no Textual."""
    from tests.demo import migrate_demo

    return migrate_demo(tmp_path_factory.mktemp("demo"))
