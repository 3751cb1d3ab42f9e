"""Orders for tests: a paid order written as settlement leaves it (for tests about what
happens after the payment), and a purchase on the checkout page."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence

from httpx2 import Response
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton_server.db import write_session
from buybutton_server.db.models import Order, OrderLine, utcnow
from tests.conftest import GOOD_CARD, SHOPPER, attempt_key, product


def paid_order(sessions: sessionmaker[Session], items: Sequence[tuple[str, int]]) -> Order:
    """A paid test-provider order of ``items`` (sku, quantity) at each product's price, for
    ``SHOPPER``, written directly as settlement leaves it (no stock moves); returned with its
    lines loaded."""
    tag = secrets.token_hex(4).upper()
    lines, currency = [], ""
    for sku, quantity in items:
        found = product(sessions, sku)
        currency = currency or found.currency
        lines.append(
            OrderLine(
                product_id=found.id,
                sku=sku,
                title=found.title,
                unit_amount=found.price_amount,
                quantity=quantity,
                total_amount=found.price_amount * quantity,
            )
        )
    total = sum(line.total_amount for line in lines)
    with write_session(sessions) as session:
        order = Order(
            public_id=secrets.token_urlsafe(16),
            number=f"BB-{tag}",
            attempt_key=secrets.token_urlsafe(16),
            status="paid",
            currency=currency,
            total_amount=total,
            subtotal_amount=total,
            email=SHOPPER["email"],
            name=SHOPPER["name"],
            payment_provider="test",
            payment_method="card",
            payment_reference=f"test_pi_{tag}",
            paid_at=utcnow(),
            lines=lines,
        )
        session.add(order)
        session.flush()
        order_id = order.id
    with sessions() as session:
        found_order = session.get(Order, order_id)
        assert found_order is not None
        found_order.lines  # noqa: B018 (loaded while the session is open)
        return found_order


def pay_on_page(client: TestClient, url: str, headers: Mapping[str, str] | None = None) -> Response:
    """Open the checkout page at ``url`` and pay on it as ``SHOPPER`` with a good card;
    the answer to the payment (sent with ``headers``)."""
    page = client.get(url)
    data = {**SHOPPER, **GOOD_CARD, "attempt": attempt_key(page.text)}
    return client.post(url, data=data, headers=headers)
