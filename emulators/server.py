"""Serve an emulator's ASGI app on 127.0.0.1 with uvicorn, in a background thread.

The demo and the integration tests use this to put an emulator behind a real TCP port, so the
product talks real HTTP to it. Port 0 picks a free port; :attr:`RunningServer.url` tells which.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import uvicorn


@dataclass
class RunningServer:
    """An emulator listening on ``url`` (``http://127.0.0.1:<port>``) until :meth:`stop`."""

    url: str
    port: int
    _server: uvicorn.Server
    _thread: threading.Thread

    def stop(self, timeout: float = 5.0) -> None:
        """Ask uvicorn to exit and wait up to ``timeout`` seconds for the thread to end."""
        self._server.should_exit = True
        self._thread.join(timeout)

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_in_thread(
    app: Any, *, host: str = "127.0.0.1", port: int = 0, startup_timeout: float = 10.0
) -> RunningServer:
    """Start ``app`` on ``host:port`` (0 = a free port) and return once it accepts connections.

    Raises ``RuntimeError`` if uvicorn has not started within ``startup_timeout`` seconds
    (for example when the port is taken).
    """
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets marked TCP, and without
    # it every answer waits ~40 ms for the client's delayed ACK (Nagle)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, daemon=True, name=f"emulator:{bound_port}"
    )
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"emulator did not start on {host}:{bound_port}")
        time.sleep(0.01)
    return RunningServer(f"http://{host}:{bound_port}", bound_port, server, thread)


def serve_forever(app: Any, *, host: str = "127.0.0.1", port: int) -> None:
    """Run ``app`` in the foreground on ``host:port`` until interrupted (Ctrl-C)."""
    uvicorn.run(app, host=host, port=port, log_level="info", lifespan="off")
