"""Hostile webhook receivers, on real sockets: one answering a huge body, one dripping a byte
at a time. Neither may bloat the sender's memory, stall other endpoints' deliveries, or
outlive its claim (then another worker would send the same event twice)."""

from __future__ import annotations

import socket
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.db import write_session
from buybutton_server.db.models import DeliveryAttempt, WebhookDelivery, WebhookEndpoint
from buybutton_server.domain import outbox
from buybutton_server.domain.outbox import delivery as delivery_module
from buybutton_server.errors import InternalError

Handler = Callable[[socket.socket], None]


class RawReceiver:
    """A TCP server on loopback; each connection is handed to ``handler`` in a thread."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests = 0
        self.first_request_at: float | None = None
        self.stop = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}/hook"

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            _read_request(conn)
            self.requests += 1
            if self.first_request_at is None:
                self.first_request_at = time.monotonic()
            try:
                self.handler(conn)
            except OSError:
                pass  # the sender hung up: what we want it to do

    def close(self) -> None:
        self.stop.set()
        self.listener.close()
        self.thread.join(timeout=2)


def _read_request(conn: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        body += conn.recv(65536)


HUGE = 256 * 1024 * 1024


def huge_answer(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % HUGE)
    chunk = b"x" * 65536
    for _ in range(HUGE // len(chunk)):
        conn.sendall(chunk)


def ok(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")


def dripping(every: float) -> Handler:
    def drip(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nX-Drip: ")
        for _ in range(600):  # a header that never ends, one byte at a time
            conn.sendall(b"y")
            time.sleep(every)

    return drip


@pytest.fixture
def receivers() -> Iterator[Callable[[Handler], RawReceiver]]:
    started: list[RawReceiver] = []

    def start(handler: Handler) -> RawReceiver:
        started.append(RawReceiver(handler))
        return started[-1]

    yield start
    for receiver in started:
        receiver.close()


def _endpoint(sessions: sessionmaker[Session], url: str) -> None:
    with write_session(sessions) as session:
        outbox.create_endpoint(session, url, ["*"])


def _event(sessions: sessionmaker[Session]) -> None:
    with write_session(sessions) as session:
        outbox.record(session, "stock.low", {"sku": "MUG-01", "available": 1})


def test_a_huge_answer_is_not_read(receivers: Callable[[Handler], RawReceiver]) -> None:
    """Before: the whole answer was read into memory (the review saw 1.6 GB)."""
    huge = receivers(huge_answer)
    sender = outbox.Sender(allow_private=True)
    tracemalloc.start()
    try:
        started = time.monotonic()
        status = sender.post(huge.url, {"content-type": "application/json"}, b"{}")
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert status == 200
    assert peak < 2 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB while answering a 256 MB body"
    assert elapsed < 2


def test_a_dripping_receiver_stalls_no_one_and_ends_before_its_claim(
    sessions: sessionmaker[Session],
    receivers: Callable[[Handler], RawReceiver],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Before: deliveries went one by one, and a byte every few seconds kept resetting the
    read timeout, so the attempt never ended (a healthy endpoint had 0 attempts after 92 s)
    and outlived its claim (a second worker would send the event again)."""
    monkeypatch.setattr(delivery_module, "CLAIM_FOR", timedelta(seconds=2.5))
    slow, healthy = receivers(dripping(0.2)), receivers(ok)
    _endpoint(sessions, slow.url)  # first: its delivery comes first
    _endpoint(sessions, healthy.url)
    _event(sessions)
    sender = outbox.Sender(allow_private=True, deadline=1.0)

    started = time.monotonic()
    first = threading.Thread(target=outbox.deliver_due, args=(sessions, sender), daemon=True)
    first.start()
    while healthy.first_request_at is None and time.monotonic() - started < 3:
        time.sleep(0.02)
    assert healthy.first_request_at is not None, "the healthy endpoint got nothing"
    assert healthy.first_request_at - started < 0.8, "it waited for the slow one"
    # Both are sent at once; on a loaded machine the slow one's request may land a moment
    # after the healthy one's, so wait for it rather than catch it mid-flight.
    arrived_by = time.monotonic() + 0.5
    while slow.requests == 0 and time.monotonic() < arrived_by:
        time.sleep(0.01)
    assert slow.requests == 1, "the slow endpoint got its request"
    assert first.is_alive(), "the slow one is still dripping"

    # A second worker keeps looking until well past the claim.
    while time.monotonic() - started < 3.5:
        outbox.deliver_due(sessions, sender)
        time.sleep(0.25)
    first.join(timeout=5)
    assert not first.is_alive()
    assert slow.requests == 1, "sent twice: the attempt outlived its claim"
    with sessions() as session:
        slow_id = session.scalar(select(WebhookEndpoint.id).where(WebhookEndpoint.url == slow.url))
        delivery = session.scalar(
            select(WebhookDelivery).where(WebhookDelivery.endpoint_id == slow_id)
        )
        assert delivery is not None and delivery.status == "pending"
        [attempt] = session.scalars(
            select(DeliveryAttempt).where(DeliveryAttempt.delivery_id == delivery.id)
        )
    assert attempt.status_code is None and attempt.error and "Timeout" in attempt.error
    assert attempt.duration_ms < 1500, "cut off at its 1 s deadline"


def test_the_default_deadline_sits_well_inside_the_claim(
    sessions: sessionmaker[Session],
) -> None:
    assert outbox.ATTEMPT_DEADLINE * 2 <= outbox.CLAIM_FOR.total_seconds()
    with pytest.raises(InternalError, match="deadline"):
        outbox.deliver_due(sessions, outbox.Sender(deadline=outbox.CLAIM_FOR.total_seconds()))


def test_endpoints_are_served_in_parallel_but_boundedly(
    sessions: sessionmaker[Session], receivers: Callable[[Handler], RawReceiver]
) -> None:
    """Ten slow endpoints (each answering after 0.5 s) take a few rounds of the pool, not ten
    in a row, and not ten threads at once."""
    in_flight, most = [0], [0]
    lock = threading.Lock()

    def slow_ok(conn: socket.socket) -> None:
        with lock:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
        time.sleep(0.5)
        with lock:
            in_flight[0] -= 1
        ok(conn)

    for _ in range(10):
        _endpoint(sessions, receivers(slow_ok).url)
    _event(sessions)
    started = time.monotonic()
    assert outbox.deliver_due(sessions, outbox.Sender(allow_private=True)) == 10
    elapsed = time.monotonic() - started
    assert most[0] == outbox.PARALLEL_ENDPOINTS
    assert elapsed < 3.5, "one after another would take 5 s"
