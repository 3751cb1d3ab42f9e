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
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from buybutton.tokens import CheckoutLink
from buybutton_server import inventory
from buybutton_server.catalog import product_by_sku
from buybutton_server.db import read_session, write_session
from buybutton_server.errors import NotEnoughStock, ProductUnavailable, SoldOut
from buybutton_server.models import Order, OrderLine, Refund, utcnow
from buybutton_server.payments.base import ChargeResult, PaymentProvider

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
    """Record what a charge said, in one transaction. Idempotent.

    Providers that settle by webhook may answer ``requires_action`` or ``processing`` here;
    that is noted on the order, which stays pending until the webhook says more.
    """
    with write_session(factory) as session:
        if result.succeeded:
            apply_success(session, order_id, reference=result.reference)
        elif result.failed:
            apply_failure(
                session,
                order_id,
                status="failed",
                code=result.code,
                message=result.message,
                reference=result.reference,
            )
        else:
            note_progress(session, order_id, result.status, reference=result.reference)
        return load_order(session, order_id)


def load_order(session: Session, order_id: int) -> Order:
    order = session.scalar(
        select(Order)
        .options(selectinload(Order.lines), selectinload(Order.refunds))
        .where(Order.id == order_id)
        .execution_options(populate_existing=True)
    )
    assert order is not None
    return order


def _update(session: Session, statement: Any) -> int:
    result = session.execute(statement, execution_options={"synchronize_session": False})
    assert isinstance(result, CursorResult)
    return result.rowcount


def note_progress(
    session: Session, order_id: int, provider_status: str, *, reference: str | None
) -> None:
    """The provider is still working (3-D Secure, processing): note it, decide nothing."""
    values: dict[str, object] = {"payment_status": provider_status}
    if reference:
        values["payment_reference"] = reference
    _update(
        session,
        update(Order).where(Order.id == order_id, Order.status == "pending").values(**values),
    )


def record_payment_reference(factory: sessionmaker[Session], order_id: int, reference: str) -> None:
    """Remember the provider's payment id in its own committed transaction, before the
    payment is confirmed."""
    with write_session(factory) as session:
        note_progress(session, order_id, "created", reference=reference)


def apply_success(session: Session, order_id: int, *, reference: str | None) -> bool:
    """The money arrived. Returns True when the order now needs an automatic refund.

    A pending order takes its reserved stock. An order already given up (failed or canceled,
    its reservation released) that is paid after all takes stock if there still is some;
    otherwise it is marked for an automatic refund, never left as an order nobody can fill.
    A paid or refunded order is left alone, so duplicates change nothing.
    """
    paid = {
        "status": "paid",
        "paid_at": utcnow(),
        "reserved_until": None,
        "payment_status": "succeeded",
        "failure_code": None,
        "failure_message": None,
    }
    if reference:
        paid["payment_reference"] = reference
    # Orders row first, products second: the lock order every transaction here follows.
    if _update(
        session, update(Order).where(Order.id == order_id, Order.status == "pending").values(**paid)
    ):
        for line in load_order(session, order_id).lines:
            if not inventory.take_reserved(session, line.product_id, line.quantity):
                raise RuntimeError(f"order {order_id}: reservation for {line.sku} is missing")
        return False
    if not _update(
        session,
        update(Order)
        .where(Order.id == order_id, Order.status.in_(("failed", "canceled")))
        .values(**paid),
    ):
        return False  # already paid or refunded
    lines = load_order(session, order_id).lines
    with session.begin_nested() as savepoint:
        if all(inventory.take_available(session, ln.product_id, ln.quantity) for ln in lines):
            return False
        savepoint.rollback()
    _update(session, update(Order).where(Order.id == order_id).values(attention=REFUND_DUE))
    return True


def apply_failure(
    session: Session,
    order_id: int,
    *,
    status: str,
    code: str | None,
    message: str | None,
    reference: str | None = None,
) -> None:
    """The payment failed or was canceled: release the stock.

    A pending order releases its stock. Canceled outranks failed (a payment that failed and
    was then canceled is canceled, whichever event came first), so a failed order may still
    become canceled; its stock was already released. Paid and refunded orders never change.
    """
    values: dict[str, object] = {
        "status": status,
        "failure_code": code,
        "failure_message": message,
        "reserved_until": None,
        "payment_status": status,
    }
    if reference:
        values["payment_reference"] = reference
    if _update(
        session,
        update(Order).where(Order.id == order_id, Order.status == "pending").values(**values),
    ):
        for line in load_order(session, order_id).lines:
            if not inventory.release(session, line.product_id, line.quantity):
                raise RuntimeError(f"order {order_id}: reservation for {line.sku} is missing")
    elif status == "canceled":
        _update(
            session,
            update(Order).where(Order.id == order_id, Order.status == "failed").values(**values),
        )


REFUND_DUE = "Paid after its stock ran out: refund due."
REFUNDED_OUT_OF_STOCK = "Paid after its stock ran out: refunded automatically."


class RefundRefused(Exception):
    """The refund cannot be made as asked; the message says why."""


def refund_order(
    factory: sessionmaker[Session],
    provider: PaymentProvider,
    order_id: int,
    *,
    amount: int | None = None,
    reason: str = "requested_by_merchant",
    restock: bool = True,
) -> Order:
    """Refund all or part of a paid order.

    The idempotency key is derived from the order's refund state, so repeating a refund
    after a crash reuses the provider's record instead of refunding twice. A full refund
    returns the stock unless ``restock`` is False.
    """
    with read_session(factory) as session:
        order = load_order(session, order_id)
    remaining = order.total_amount - order.refunded_amount
    if order.status != "paid" or not order.payment_reference:
        raise RefundRefused(f"order {order.number} is {order.status}, not paid")
    amount = remaining if amount is None else amount
    if not 0 < amount <= remaining:
        raise RefundRefused(
            f"order {order.number}: refund must be between 1 and {remaining} minor units"
        )
    key = f"{order.public_id}-{order.refunded_amount}-{amount}"
    result = provider.refund(order.payment_reference, amount=amount, idempotency_key=key)
    with write_session(factory) as session:
        if session.scalar(select(Refund.id).where(Refund.idempotency_key == key)) is None:
            session.add(
                Refund(
                    order_id=order.id,
                    amount=amount,
                    reason=reason,
                    reference=result.reference,
                    idempotency_key=key,
                )
            )
            full = order.refunded_amount + amount == order.total_amount
            values: dict[str, object] = {"refunded_amount": Order.refunded_amount + amount}
            if full:
                values["status"] = "refunded"
            if reason == "out_of_stock":
                values["attention"] = REFUNDED_OUT_OF_STOCK
            moved = _update(
                session,
                update(Order)
                .where(
                    Order.id == order.id,
                    Order.refunded_amount == order.refunded_amount,
                    Order.status == "paid",
                )
                .values(**values),
            )
            if not moved:
                raise RefundRefused(f"order {order.number} changed meanwhile; try again")
            if full and restock:
                for line in order.lines:
                    inventory.restock(session, line.product_id, line.quantity)
        return load_order(session, order.id)


def reconcile_order(
    factory: sessionmaker[Session],
    provider: PaymentProvider,
    order: Order,
    *,
    hold_for: timedelta = timedelta(minutes=15),
    now: datetime | None = None,
) -> str:
    """Settle a pending order from what the provider says about its payment.

    Succeeded means paid (the webhook may simply be late); processing earns more time;
    anything else is canceled at the provider first, so it can no longer succeed, and the
    stock is released. Returns "paid", "refund_due", "waiting" or "released".
    """
    state = None
    if order.payment_reference:
        state = provider.status(order.payment_reference)
        if state in ("requires_action", "failed"):
            provider.cancel(order.payment_reference)
            state = provider.status(order.payment_reference)
    with write_session(factory) as session:
        if state == "succeeded":
            refund_due = apply_success(session, order.id, reference=order.payment_reference)
            return "refund_due" if refund_due else "paid"
        if state == "processing":
            _update(
                session,
                update(Order)
                .where(Order.id == order.id, Order.status == "pending")
                .values(reserved_until=(now or utcnow()) + hold_for),
            )
            return "waiting"
        apply_failure(
            session,
            order.id,
            status="canceled",
            code="checkout_abandoned",
            message="The payment was not completed.",
        )
        return "released"


def release_expired(
    factory: sessionmaker[Session],
    provider: PaymentProvider,
    *,
    now: datetime | None = None,
    hold_for: timedelta = timedelta(minutes=15),
    limit: int = 100,
) -> int:
    """Settle pending orders whose reservation ran out; retry automatic refunds.

    For each, the provider is asked where the payment stands: succeeded means paid (the
    webhook may simply be late), processing earns more time, anything else is canceled at
    the provider and released here. Returns how many orders changed.
    """
    now = now or utcnow()
    with read_session(factory) as session:
        expired = list(
            session.scalars(
                select(Order)
                .where(Order.status == "pending", Order.reserved_until < now)
                .order_by(Order.reserved_until)
                .limit(limit)
            )
        )
        refunds_due = list(
            session.scalars(
                select(Order.id)
                .where(Order.status == "paid", Order.attention == REFUND_DUE)
                .limit(limit)
            )
        )
    changed = 0
    for order in expired:
        outcome = reconcile_order(factory, provider, order, hold_for=hold_for, now=now)
        if outcome == "refund_due":
            refunds_due.append(order.id)
        changed += outcome != "waiting"
    for order_id in refunds_due:
        refund_order(factory, provider, order_id, reason="out_of_stock", restock=False)
        changed += 1
    return changed
