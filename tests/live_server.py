"""Real HTTP servers on loopback for browser tests: uvicorn in a background thread."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import uvicorn
from starlette.types import ASGIApp


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LiveServers:
    """Serve several apps, each on its own port, until :meth:`stop`."""

    def __init__(self, apps: list[tuple[ASGIApp, int]]) -> None:
        self.servers = [
            uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
            for app, port in apps
        ]
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            await asyncio.gather(*(server.serve() for server in self.servers))

        asyncio.run(main())

    def __enter__(self) -> LiveServers:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not all(server.started for server in self.servers):
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("live servers did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for server in self.servers:
            server.should_exit = True
        self.thread.join(timeout=15)
