"""Placing and settling orders.

A checkout is three short steps, so no transaction is held open while a payment provider
thinks:

1. :func:`place_order` inserts a ``pending`` order under the checkout's attempt key (UNIQUE)
   and reserves its stock, in that order. A repeated attempt key finds the first order
   instead; a failed reservation rolls the order back.
2. The provider charges, with the attempt key as its idempotency key.
3. :func:`settle_order` moves ``pending`` to ``paid`` (taking the reserved stock) or to
   ``failed`` (releasing it). The move is conditional on ``status = 'pending'``, so whichever
   settlement arrives first wins and later ones change nothing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from buybutton.tokens import CheckoutLink
from buybutton_server import inventory
from buybutton_server.catalog import product_by_sku
from buybutton_server.db import write_session
from buybutton_server.errors import NotEnoughStock, ProductUnavailable, SoldOut
from buybutton_server.models import Order, OrderLine, utcnow
from buybutton_server.payments.base import ChargeResult

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


@dataclass(frozen=True, kw_only=True)
class Shopper:
    email: str
    name: str
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    postal_code: str | None = None
    country: str | None = None


def new_order_number() -> str:
    return "BB-" + "".join(secrets.choice(_CROCKFORD) for _ in range(8))


def order_by_attempt(session: Session, attempt_key: str) -> Order | None:
    return session.scalar(
        select(Order).options(selectinload(Order.lines)).where(Order.attempt_key == attempt_key)
    )


def order_by_public_id(session: Session, public_id: str) -> Order | None:
    return session.scalar(
        select(Order).options(selectinload(Order.lines)).where(Order.public_id == public_id)
    )


def place_order(
    factory: sessionmaker[Session],
    *,
    link: CheckoutLink,
    quantity: int,
    shopper: Shopper,
    attempt_key: str,
    provider: str,
    method: str,
    hold_for: timedelta,
) -> tuple[Order, bool]:
    """Reserve stock and write a pending order. Returns ``(order, created)``.

    When the attempt key was used before (a double tap, a resubmitted form) the first order is
    returned with ``created=False`` and nothing is written.
    """
    try:
        with write_session(factory) as session:
            existing = order_by_attempt(session, attempt_key)
            if existing is not None:
                return existing, False
            product = product_by_sku(session, link.sku)
            if product is None or not product.active:
                raise ProductUnavailable()
            total = product.price_amount * quantity
            order = Order(
                public_id=secrets.token_urlsafe(16),
                number=new_order_number(),
                attempt_key=attempt_key,
                status="pending",
                currency=product.currency,
                total_amount=total,
                email=shopper.email,
                name=shopper.name,
                ship_line1=shopper.line1,
                ship_line2=shopper.line2,
                ship_city=shopper.city,
                ship_postal_code=shopper.postal_code,
                ship_country=shopper.country,
                source=link.source,
                campaign=link.campaign,
                content=link.content,
                payment_provider=provider,
                payment_method=method,
                reserved_until=utcnow() + hold_for,
                lines=[
                    OrderLine(
                        product_id=product.id,
                        sku=product.sku,
                        title=product.title,
                        unit_amount=product.price_amount,
                        quantity=quantity,
                        total_amount=total,
                    )
                ],
            )
            # Claim the attempt key before touching stock: every transaction locks orders
            # first and products second, so a double tap cannot deadlock with a settlement.
            session.add(order)
            session.flush()
            if not inventory.reserve(session, product.id, quantity):
                session.refresh(product)
                if product.available <= 0:
                    raise SoldOut()
                raise NotEnoughStock(product.available)
            return order, True
    except IntegrityError:
        # Two requests with one attempt key raced past the look-up (PostgreSQL); the loser's
        # transaction, reservation included, rolled back. Answer with the winner's order.
        with write_session(factory) as session:
            existing = order_by_attempt(session, attempt_key)
        if existing is None:
            raise
        return existing, False


def settle_order(factory: sessionmaker[Session], order_id: int, result: ChargeResult) -> Order:
    """Record the outcome of a charge. Idempotent: only a pending order changes."""
    with write_session(factory) as session:
        values: dict[str, object]
        if result.succeeded:
            values = {
                "status": "paid",
                "paid_at": utcnow(),
                "payment_reference": result.reference,
                "reserved_until": None,
            }
        else:
            values = {
                "status": "failed",
                "failure_code": result.code,
                "failure_message": result.message,
                "payment_reference": result.reference,
                "reserved_until": None,
            }
        moved = session.execute(
            update(Order).where(Order.id == order_id, Order.status == "pending").values(**values),
            execution_options={"synchronize_session": False},
        )
        assert isinstance(moved, CursorResult)
        order = session.scalar(
            select(Order).options(selectinload(Order.lines)).where(Order.id == order_id)
        )
        assert order is not None
        if moved.rowcount == 1:
            session.refresh(order)
            for line in order.lines:
                ok = (
                    inventory.take_reserved(session, line.product_id, line.quantity)
                    if result.succeeded
                    else inventory.release(session, line.product_id, line.quantity)
                )
                if not ok:
                    raise RuntimeError(f"order {order.number}: reservation for {line.sku} missing")
        return order
