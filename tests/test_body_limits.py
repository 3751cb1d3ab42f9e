"""Request bodies are limited per route while they stream, slow bodies and slow request heads
are cut off, so neither a huge body nor a crowd of dripping connections holds the server."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import select
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

from buybutton_server.body_limits import (
    DEFAULT_LIMIT,
    KB,
    MB,
    ROUTE_LIMITS,
    BodyLimitMiddleware,
    limit_for,
)
from buybutton_server.runner import http_protocol
from tests.live_server import free_port


def run_apart(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run ``coroutine`` to the end on an event loop of its own thread: after the browser
    tests, Playwright's sync API keeps a loop running in the main thread, where
    ``asyncio.run`` refuses to start."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coroutine).result()


def test_every_route_has_a_limit() -> None:
    assert limit_for("/api/public/events", ROUTE_LIMITS, DEFAULT_LIMIT) == 16 * KB
    assert limit_for("/webhooks/stripe", ROUTE_LIMITS, DEFAULT_LIMIT) == 512 * KB
    assert limit_for("/api/v1/products", ROUTE_LIMITS, DEFAULT_LIMIT) == 1 * MB
    assert limit_for("/c/token", ROUTE_LIMITS, DEFAULT_LIMIT) == 64 * KB
    assert limit_for("/admin/login", ROUTE_LIMITS, DEFAULT_LIMIT) == 64 * KB
    assert limit_for("/orders/x/abandon", ROUTE_LIMITS, DEFAULT_LIMIT) == DEFAULT_LIMIT


# -- the middleware alone: what it reads --------------------------------------------------


class Reader:
    """An app that reads its whole body, as ``await request.body()`` does."""

    def __init__(self) -> None:
        self.read = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        async for chunk in request.stream():
            self.read += len(chunk)
        await PlainTextResponse("read")(scope, receive, send)


def _run(
    app: Any, path: str, chunks: Iterator[bytes], headers: tuple[tuple[bytes, bytes], ...] = ()
) -> tuple[list[Message], int]:
    sent: list[Message] = []
    pulled = 0

    async def receive() -> Message:
        nonlocal pulled
        chunk = next(chunks, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        pulled += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": path, "headers": list(headers)}
    run_apart(app(scope, receive, send))
    return sent, pulled


def _chunks(total: int, size: int = 64 * KB) -> Iterator[bytes]:
    for _ in range(total // size):
        yield b"[" * size


def test_a_declared_length_over_the_limit_is_refused_before_reading() -> None:
    reader = Reader()
    sent, pulled = _run(
        BodyLimitMiddleware(reader),
        "/api/public/events",
        _chunks(20 * MB),
        ((b"content-length", str(20 * MB).encode()),),
    )
    assert sent[0]["status"] == 413
    assert (b"connection", b"close") in sent[0]["headers"]
    assert pulled == 0 and reader.read == 0


@pytest.mark.parametrize("length", [b"12x", b"-1", "١٢".encode(), b"9" * 40])
def test_a_nonsense_length_is_a_400(length: bytes) -> None:
    sent, pulled = _run(
        BodyLimitMiddleware(Reader()), "/api/v1/x", _chunks(MB), ((b"content-length", length),)
    )
    assert sent[0]["status"] == 400 and pulled == 0


@pytest.mark.parametrize(
    ("path", "limit"), [("/api/public/events", 16 * KB), ("/api/v1/products", MB)]
)
def test_a_streamed_body_is_cut_off_at_the_limit(path: str, limit: int) -> None:
    reader = Reader()
    sent, pulled = _run(BodyLimitMiddleware(reader), path, _chunks(20 * MB, 4 * KB))
    assert sent[0]["status"] == 413
    assert pulled <= limit + 4 * KB  # one message past the limit, never more
    assert reader.read <= limit


def test_a_body_within_the_limit_passes_whole() -> None:
    reader = Reader()
    sent, _ = _run(BodyLimitMiddleware(reader), "/api/v1/products", _chunks(MB - 64 * KB))
    assert sent[0]["status"] == 200 and reader.read == MB - 64 * KB


def test_a_stalled_body_is_a_408() -> None:
    async def receive() -> Message:
        await asyncio.sleep(5)
        return {"type": "http.request", "body": b"x", "more_body": True}

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    app = BodyLimitMiddleware(Reader(), idle_seconds=0.2)
    scope = {"type": "http", "method": "POST", "path": "/c/x", "headers": []}
    started = time.monotonic()
    run_apart(app(scope, receive, send))
    assert time.monotonic() - started < 2
    assert sent[0]["status"] == 408


# -- through the app ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "size", "kind"),
    [
        ("/api/public/events", 16 * KB + 1, "json"),
        ("/webhooks/stripe", 512 * KB + 1, "json"),
        ("/api/v1/products", MB + 1, "json"),
        ("/c/anything", 64 * KB + 1, "json"),
    ],
)
def test_the_app_refuses_too_large_bodies(
    client: TestClient, path: str, size: int, kind: str
) -> None:
    answer = client.post(path, content=b"x" * size, headers={"Content-Type": "text/plain"})
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "body_too_large"


def test_a_chunked_beacon_over_the_limit_gets_413_from_the_view(client: TestClient) -> None:
    def body() -> Iterator[bytes]:
        for _ in range(64):
            yield b"[" * 1024

    answer = client.post(
        "/api/public/events", content=body(), headers={"Content-Type": "text/plain"}
    )
    assert answer.status_code == 413
    assert answer.headers["connection"] == "close"


# -- a real server ------------------------------------------------------------------------


def _rss_kb(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(field)


@contextmanager
def served(tmp_path: Path) -> Iterator[tuple[int, int]]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "buybutton.cli", "serve", "--port", str(port)],
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("BUYBUTTON_")},
            "BUYBUTTON_DATABASE_URL": f"sqlite:///{tmp_path / 'shop.sqlite3'}",
            "PYTHONUNBUFFERED": "1",
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    drain = threading.Thread(target=process.stdout.read, daemon=True)
    try:
        for line in process.stdout:
            if "Uvicorn running" in line:
                break
        else:
            raise AssertionError("the server did not start")
        drain.start()
        yield port, process.pid
    finally:
        process.terminate()
        process.wait(timeout=15)
        if drain.is_alive():
            drain.join(timeout=5)
        process.stdout.close()


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_a_20_mb_chunked_beacon_is_refused_early_and_costs_no_memory(tmp_path: Path) -> None:
    with served(tmp_path) as (port, pid):
        time.sleep(0.5)
        before = _rss_kb(pid, "VmRSS")
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(
            b"POST /api/public/events HTTP/1.1\r\nHost: shop\r\nContent-Type: text/plain\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"[" * (64 * KB)
        frame = b"%x\r\n%s\r\n" % (len(chunk), chunk)
        sent, answer = 0, b""
        sock.settimeout(10)
        try:
            while sent < 20 * MB:
                if select.select([sock], [], [], 0)[0]:
                    break
                sock.sendall(frame)
                sent += len(chunk)
        except OSError:
            pass  # the server closed the connection: as good as an answer
        try:
            while b"\r\n\r\n" not in answer:
                data = sock.recv(65536)
                if not data:
                    break
                answer += data
        except OSError:
            pass
        sock.close()
        peak = _rss_kb(pid, "VmHWM")
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent < 20 * MB  # refused while the body was still coming
    assert peak - before < 20 * 1024, f"{before} kB -> {peak} kB"


def test_200_slow_dripping_connections_are_closed(tmp_path: Path) -> None:
    """Each connection sends its request head one header line a second; the server closes
    each one 10 s (HEADER_SECONDS) after its first byte, and serves others meanwhile."""
    with served(tmp_path) as (port, _):
        socks = []
        for _ in range(200):
            sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: shop\r\n")
            socks.append(sock)
        started = time.monotonic()
        open_ = set(range(len(socks)))
        line = 0
        while open_ and time.monotonic() - started < 20:
            time.sleep(1)
            line += 1
            for i in list(open_):
                try:
                    if select.select([socks[i]], [], [], 0)[0] and not socks[i].recv(4096):
                        open_.discard(i)
                        continue
                    socks[i].sendall(b"X-Drip-%d: %d\r\n" % (line, line))
                except OSError:
                    open_.discard(i)
            if line == 3:  # an honest client is served in the meantime
                with socket.create_connection(("127.0.0.1", port), timeout=5) as honest:
                    honest.sendall(b"GET /healthz HTTP/1.1\r\nHost: shop\r\n\r\n")
                    assert honest.recv(100).startswith(b"HTTP/1.1 200")
        elapsed = time.monotonic() - started
        for sock in socks:
            sock.close()
    assert not open_, f"{len(open_)} connections still open after {elapsed:.0f} s"
    assert elapsed < 15


@pytest.mark.parametrize("kind", ["httptools", "h11"])
def test_a_kept_alive_connection_gets_a_deadline_for_each_request_head(kind: str) -> None:
    if kind == "httptools":
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as base
    else:
        from uvicorn.protocols.http.h11_impl import H11Protocol as base  # type: ignore[assignment]
    protocol = http_protocol(base, header_seconds=1.0)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            PlainTextResponse("ok"),
            host="127.0.0.1",
            port=port,
            http=protocol,
            log_level="warning",
            timeout_keep_alive=30,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            # A request whose head drips for 0.8 s is within the deadline ...
            for part in (b"GET / HTTP/1.1\r\n", b"Host: a\r\n", b"\r\n"):
                sock.sendall(part)
                time.sleep(0.4)
            assert sock.recv(1000).startswith(b"HTTP/1.1 200")
            # ... the next one on the same connection gets a deadline of its own.
            sock.sendall(b"GET / HTTP/1.1\r\n")
            started = time.monotonic()
            closed = False
            while time.monotonic() - started < 5:
                try:
                    sock.sendall(b"X-Drip: 1\r\n")
                except OSError:
                    closed = True
                    break
                if select.select([sock], [], [], 0.2)[0] and not sock.recv(100):
                    closed = True
                    break
            assert closed and time.monotonic() - started < 2.5
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_a_bodiless_get_reaches_the_app_untouched() -> None:
    """The fast path for pages: a GET with neither Content-Length nor Transfer-Encoding goes
    to the app with the server's own receive and send, so it pays nothing for the limits."""
    seen: list[tuple[Receive, Send]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append((receive, send))

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        return None

    middleware = BodyLimitMiddleware(app)
    get = {"type": "http", "method": "GET", "path": "/c/x", "headers": []}
    run_apart(middleware(get, receive, send))
    assert seen == [(receive, send)]
    post = {**get, "method": "POST"}  # a POST is watched even without body headers
    run_apart(middleware(post, receive, send))
    assert seen[1] != (receive, send)
