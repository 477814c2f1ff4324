"""The activity log times a sync cycle's reading from its start: the core sends the reading
stage's start (``done`` 0, total unknown) before it reads, not only its end (the log said
"reading 4491/4491 done (0.0 s)"). On a virtual clock (:mod:`tests.fakeclock`) where every
TestFiesta answer takes 0.2 s, the reading takes what its TestFiesta requests take."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from core.events import Progress
from core.service import Service
from tests.fakeclock import run_on_fake_clock
from tests.tui.conftest import PROJECT
from tui.bridge import EventBridge


def test_a_sync_cycles_reading_is_timed_from_its_start(
    secrets: None, make_service: Callable[..., Service]
) -> None:
    service = make_service(latency=0.2)

    async def go() -> tuple[list[tuple[str, int, int | None]], list[str], float]:
        async with service:
            [report] = await service.migrate()
            assert report.complete
            loop = asyncio.get_running_loop()
            bridge = EventBridge(lambda _message: None, clock=loop.time)
            reading: list[tuple[str, int, int | None]] = []

            def on_event(event: object) -> None:
                if isinstance(event, Progress) and event.stage == "reading":
                    reading.append((event.stage, event.done, event.total))
                bridge(event)

            service.subscribe(on_event)
            started = loop.time()
            await service.sync()
            return reading, bridge.drain(), loop.time() - started

    (reading, lines, took), _ = run_on_fake_clock(go())
    assert reading == [("reading", 0, None), ("reading", 14, 14)]
    [line] = [line for line in lines if ": reading " in line]
    assert line.endswith(f"{PROJECT}: reading 14/14 done (1.8 s)")
    assert took > 1.8
