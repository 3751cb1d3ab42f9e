"""Refunds that race (issue 11, item 7).

The review sent two partial refunds of one order at once: both reached the provider (the
customer got 400 back), the database recorded 300 and told the second caller to try again,
which would have refunded a third time. A refund is now claimed in the database before the
provider hears of it: concurrent refunds run one after the other, and a refund that could not
finish is retried under the same idempotency key.
"""

from __future__ import annotations

import secrets
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from buybutton.tokens import CheckoutLink
from buybutton_server.db.models import Order, Refund
from buybutton_server.domain.orders import refund_order
from buybutton_server.errors import PaymentUnavailable, RefundRefused
from buybutton_server.payments import RefundResult, TestPaymentProvider
from buybutton_server.services import checkout
from buybutton_server.services.checkout import PaymentForm
from tests.conftest import GOOD_CARD, SHOPPER, add_product, product


class SlowBank(TestPaymentProvider):
    """Refunds take a while and are kept by idempotency key, as a real provider keeps them:
    the same key twice is one refund."""

    def __init__(self, delay: float = 0.3) -> None:
        self.delay = delay
        self.refunds: dict[str, int] = {}
        self.calls: list[tuple[str, int]] = []
        self.fail_next = False
        self._lock = threading.Lock()

    def refund(self, reference: str, *, amount: int, idempotency_key: str) -> RefundResult:
        time.sleep(self.delay)
        with self._lock:
            self.calls.append((idempotency_key, amount))
            self.refunds.setdefault(idempotency_key, amount)
            if self.fail_next:  # the refund went through; the answer got lost
                self.fail_next = False
                raise PaymentUnavailable()
        return RefundResult(reference="re_" + idempotency_key)

    @property
    def refunded(self) -> int:
        return sum(self.refunds.values())


def paid_order(sessions: sessionmaker[Session], quantity: int = 1) -> int:
    add_product(sessions, price="24.00", stock=5)
    form = PaymentForm(
        link=CheckoutLink(sku="MUG-01", max_quantity=10),
        quantity=quantity,
        attempt_key=secrets.token_urlsafe(18),
        method="card",
        details=SHOPPER,
        payment_details=GOOD_CARD,
    )
    outcome = checkout.pay(sessions, TestPaymentProvider(), form, hold_for=timedelta(minutes=15))
    assert outcome.order is not None and outcome.order.status == "paid"
    with sessions() as session:
        order_id = session.scalar(select(Order.id))
        assert order_id is not None
        return order_id


def stored(sessions: sessionmaker[Session], order_id: int) -> tuple[int, list[int], str]:
    with sessions() as session:
        order = session.get_one(Order, order_id)
        amounts = list(session.scalars(select(Refund.amount).where(Refund.order_id == order_id)))
        return order.refunded_amount, sorted(amounts), order.status


def test_two_concurrent_partial_refunds_are_both_made_once(
    sessions: sessionmaker[Session],
) -> None:
    order_id = paid_order(sessions)
    bank = SlowBank()
    errors: list[Exception] = []
    start = threading.Barrier(2)

    def refund(amount: int) -> None:
        start.wait()
        try:
            refund_order(sessions, bank, order_id, amount=amount)
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=refund, args=(amount,)) for amount in (100, 300)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Before: the provider refunded 400, the database said 300, one caller was told to retry.
    assert errors == []
    assert bank.refunded == 400 and sorted(bank.refunds.values()) == [100, 300]
    assert stored(sessions, order_id) == (400, [100, 300], "paid")


def test_concurrent_full_refunds_refund_once_and_the_other_is_refused(
    sessions: sessionmaker[Session],
) -> None:
    order_id = paid_order(sessions, quantity=2)
    bank = SlowBank()
    outcomes: list[str] = []
    start = threading.Barrier(3)

    def refund() -> None:
        start.wait()
        try:
            refund_order(sessions, bank, order_id)
            outcomes.append("refunded")
        except RefundRefused as refused:
            outcomes.append(refused.message)

    threads = [threading.Thread(target=refund) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("refunded") == 1
    assert all("is refunded, not paid" in o for o in outcomes if o != "refunded")
    assert bank.refunded == 4800 and len(bank.calls) == 1
    assert stored(sessions, order_id) == (4800, [4800], "refunded")
    assert (product(sessions).on_hand, product(sessions).reserved) == (5, 0)


def test_a_retry_after_a_lost_answer_reuses_the_key(sessions: sessionmaker[Session]) -> None:
    order_id = paid_order(sessions)
    bank = SlowBank(delay=0)
    bank.fail_next = True
    with pytest.raises(PaymentUnavailable):
        refund_order(sessions, bank, order_id, amount=500)
    assert stored(sessions, order_id) == (0, [], "paid")  # nothing recorded yet...
    again = refund_order(sessions, bank, order_id, amount=500)  # ...the merchant retries
    assert again.refunded_amount == 500
    [(first_key, _), (second_key, _)] = bank.calls
    assert first_key == second_key and bank.refunded == 500
    # A different refund after an unfinished one finishes that one first, then its own.
    bank.fail_next = True
    with pytest.raises(PaymentUnavailable):
        refund_order(sessions, bank, order_id, amount=100)
    refund_order(sessions, bank, order_id, amount=200)
    assert bank.refunded == 800 and [a for _, a in bank.calls[2:]] == [100, 100, 200]
    assert stored(sessions, order_id) == (800, [100, 200, 500], "paid")


def test_a_waiting_refund_gives_up_with_a_conflict(sessions: sessionmaker[Session]) -> None:
    order_id = paid_order(sessions)
    bank = SlowBank(delay=1.0)
    worker = threading.Thread(target=refund_order, args=(sessions, bank, order_id), kwargs={})
    worker.start()
    time.sleep(0.3)
    with pytest.raises(RefundRefused, match="another refund is under way"):
        refund_order(sessions, bank, order_id, amount=100, wait=0.2)
    worker.join()
    assert bank.refunded == 2400 and stored(sessions, order_id)[0] == 2400
