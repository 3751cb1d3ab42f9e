"""Several servers on one PostgreSQL (issue 18, item 5): the outbox's claim of due webhook
deliveries and the reservation sweeper's claim use ``FOR UPDATE SKIP LOCKED``, so
concurrent claimers take different rows, never wait on each other, and never take the same
delivery twice."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.db import write_session
from buybutton_server.db.models import WebhookDelivery, WebhookEndpoint, utcnow
from buybutton_server.domain import outbox
from buybutton_server.domain.outbox import delivery as delivery_module

pytestmark = pytest.mark.postgres
on_postgres = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)

ENDPOINTS = 6
EVENTS = 12


def _outbox(sessions: sessionmaker[Session]) -> list[int]:
    """``ENDPOINTS`` endpoints, ``EVENTS`` events: one delivery each per endpoint."""
    with write_session(sessions) as session:
        for n in range(ENDPOINTS):
            outbox.create_endpoint(session, f"https://hooks{n}.example/in", ["*"])
    for n in range(EVENTS):
        with write_session(sessions) as session:
            outbox.record(session, "stock.low", {"sku": f"SKU-{n}", "available": 1})
    with sessions() as session:
        return list(session.scalars(select(WebhookDelivery.id)))


class Recording(outbox.Sender):
    """Answers 204 after a little while, and records every delivery it was handed."""

    def __init__(self) -> None:
        super().__init__(deadline=5)
        self.sent: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def post(self, url: str, headers: dict[str, str], body: bytes) -> int:
        time.sleep(0.01)
        with self.lock:
            self.sent.append((url, headers["webhook-id"]))
        return 204


@on_postgres
def test_two_claimers_never_take_the_same_delivery(sessions: sessionmaker[Session]) -> None:
    ids = _outbox(sessions)
    assert len(ids) == ENDPOINTS * EVENTS
    taken: list[list[int]] = [[], []]
    barrier = threading.Barrier(2)

    def claimer(n: int) -> None:
        barrier.wait()
        while claims := delivery_module.claim_due(sessions, utcnow(), 7):
            taken[n].extend(c.delivery_id for batch in claims.values() for c in batch)

    threads = [threading.Thread(target=claimer, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not set(taken[0]) & set(taken[1])
    assert sorted(taken[0] + taken[1]) == sorted(ids), "every due delivery claimed once"


@on_postgres
def test_a_claimer_skips_rows_another_holds_instead_of_waiting(
    sessions: sessionmaker[Session],
) -> None:
    ids = _outbox(sessions)
    held = ids[:10]
    with sessions() as holder, holder.begin():  # another server, mid-claim
        holder.execute(
            select(WebhookDelivery.id).where(WebhookDelivery.id.in_(held)).with_for_update()
        )
        found: list[dict[int, list[delivery_module.Claim]]] = []
        claiming = threading.Thread(
            target=lambda: found.append(delivery_module.claim_due(sessions, utcnow(), 1000)),
            daemon=True,
        )
        claiming.start()
        claiming.join(timeout=10)
        assert found, "it waited for the other's locks"
    claims = found[0]
    claimed = {c.delivery_id for batch in claims.values() for c in batch}
    assert claimed and not claimed & set(held)
    assert all(len(batch) <= delivery_module.PER_ENDPOINT for batch in claims.values())


@on_postgres
def test_two_servers_delivering_at_once_send_each_delivery_once(
    sessions: sessionmaker[Session],
) -> None:
    _outbox(sessions)
    sender = Recording()
    barrier = threading.Barrier(2)

    def server() -> None:
        barrier.wait()
        while outbox.deliver_due(sessions, sender, limit=10):
            pass

    threads = [threading.Thread(target=server) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(sender.sent) == ENDPOINTS * EVENTS
    assert max(Counter(sender.sent).values()) == 1, "a delivery was sent twice"
    with sessions() as session:
        states = Counter(session.scalars(select(WebhookDelivery.status)))
    assert states == {"delivered": ENDPOINTS * EVENTS}


@on_postgres
def test_a_failing_endpoint_hands_the_rest_of_its_batch_back(
    sessions: sessionmaker[Session],
) -> None:
    _outbox(sessions)

    class Down(Recording):
        def post(self, url: str, headers: dict[str, str], body: bytes) -> int:
            super().post(url, headers, body)
            return 503 if "hooks0." in url else 204

    sender = Down()
    now = utcnow()
    outbox.deliver_due(sessions, sender, now=lambda: now, limit=1000)
    with sessions() as session:
        rows = session.execute(
            select(
                WebhookDelivery.status, WebhookDelivery.next_attempt_at, WebhookDelivery.attempts
            )
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .where(WebhookEndpoint.url.startswith("https://hooks0."))
            .order_by(WebhookDelivery.id)
        ).all()
    assert sum(1 for url, _ in sender.sent if "hooks0." in url) == 1, "stopped at the first"
    waiting = [row for row in rows if row.status == "pending"]
    tried = [row for row in waiting if row.attempts == 1]
    assert len(tried) == 1 and tried[0].next_attempt_at > now + timedelta(seconds=4)
    # The rest of the failing endpoint's batch is due again at once, not held by a claim.
    assert len(waiting) == len(rows) == EVENTS
    assert all(row.next_attempt_at <= now for row in waiting if row.attempts == 0)


@on_postgres
def test_a_claim_that_ran_out_and_was_taken_over_is_not_sent_again(
    sessions: sessionmaker[Session],
) -> None:
    _outbox(sessions)
    first = delivery_module.claim_due(sessions, utcnow(), 1)
    (claim,) = next(iter(first.values()))
    with write_session(sessions) as session:  # another server took it after the claim ran out
        session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == claim.delivery_id)
            .values(next_attempt_at=claim.until + timedelta(seconds=1))
        )
    outcome = delivery_module._attempt(sessions, Recording(), claim.delivery_id, utcnow, claim)
    assert outcome is None
