"""The ``Date`` header every origin server with a clock sends (RFC 9110 §6.6.1), from the
emulator's own clock, so a client can anchor its change cursors to the server's time."""

from __future__ import annotations

from collections.abc import Callable
from email.utils import formatdate
from typing import Any

Scope = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]


class DateHeader:
    """ASGI middleware adding ``Date: <IMF-fixdate>`` from ``clock`` (UNIX seconds) to every
    HTTP answer that does not carry one."""

    def __init__(self, app: Any, *, clock: Callable[[], float]) -> None:
        self.app = app
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_date(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                if not any(name.lower() == b"date" for name, _ in headers):
                    date = formatdate(float(self.clock()), usegmt=True).encode()
                    headers.append((b"date", date))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_date)
