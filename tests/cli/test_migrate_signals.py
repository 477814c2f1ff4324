"""``railfiesta migrate`` stopped by SIGTERM (``kill PID``) ends as Ctrl-C does."""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Any

import pytest

from core.lock import read_holder
from core.service import Service
from tests.cli.test_sync_cli import Cli, env  # noqa: F401  (the fixture)
from tests.helpers import Emulated


def test_sigterm_stops_a_migration_as_ctrl_c_does_and_the_rerun_creates_nothing(
    env: Emulated,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cli = Cli(env, capsys)
    original = Service.migrate
    unhandled: list[int] = []

    async def migrate_then_sigterm(self: Service, *args: Any, **kwargs: Any) -> Any:
        reports = await original(self, *args, **kwargs)
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.sleep(0.5)  # the handler runs here
        return reports

    def not_railfiesta(signum: int, frame: object) -> None:
        unhandled.append(signum)  # without railfiesta's handler: Python's would kill pytest

    monkeypatch.setattr(Service, "migrate", migrate_then_sigterm)
    before = signal.signal(signal.SIGTERM, not_railfiesta)
    try:
        code, out, err = cli("migrate")
        assert signal.getsignal(signal.SIGTERM) is not_railfiesta  # put back
    finally:
        signal.signal(signal.SIGTERM, before)
    assert (code, unhandled, out) == (130, [], "")
    assert err.splitlines()[-1] == ("railfiesta: interrupted; run the same command again to resume")
    assert read_holder(env.state_dir) is None  # released, not left behind

    monkeypatch.setattr(Service, "migrate", original)
    code, report = cli.json("migrate")
    assert code == 0
    [project] = report["projects"]
    assert {k: c["created"] for k, c in project["kinds"].items() if c["created"]} == {}
