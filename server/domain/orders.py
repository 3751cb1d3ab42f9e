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
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, String, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from buybutton.tokens import CheckoutLink
from buybutton_server.db import read_session, write_session
from buybutton_server.db.models import Order, OrderLine, Product, Refund, utcnow
from buybutton_server.domain import analytics, inventory, outbox
from buybutton_server.errors import (
    FulfillRefused,
    NotEnoughStock,
    ProductUnavailable,
    RefundRefused,
    SoldOut,
)
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


_ORDERS, _LINES, _PRODUCTS = Order.__table__, OrderLine.__table__, Product.__table__
_ORDER_INSERT_COLUMNS = [c.name for c in _ORDERS.columns if c.name != "id"]
_LINE_COLUMNS = [c.name for c in _LINES.columns if c.name != "id"]
# Prebuilt statements: the checkout's hot path skips the ORM's unit of work.
_ATTEMPT_TAKEN = select(_ORDERS.c.id).where(_ORDERS.c.attempt_key == bindparam("key"))
_PRODUCT_FOR_ORDER = select(
    _PRODUCTS.c.id,
    _PRODUCTS.c.sku,
    _PRODUCTS.c.title,
    _PRODUCTS.c.price_amount,
    _PRODUCTS.c.currency,
    _PRODUCTS.c.active,
).where(_PRODUCTS.c.sku == bindparam("sku"))
_AVAILABLE = select(_PRODUCTS.c.on_hand - _PRODUCTS.c.reserved).where(
    _PRODUCTS.c.id == bindparam("id")
)
_INSERT_ORDER = insert(_ORDERS).returning(_ORDERS.c.id)
_INSERT_LINE = insert(_LINES)
_ORDER_LINES = select(_LINES.c.product_id, _LINES.c.quantity, _LINES.c.sku).where(
    _LINES.c.order_id == bindparam("order_id")
)


def _existing(session: Session, attempt_key: str) -> Order:
    order = order_by_attempt(session, attempt_key)
    assert order is not None
    return order


def _lines(session: Session, order_id: int) -> list[Any]:
    return list(session.connection().execute(_ORDER_LINES, {"order_id": order_id}))


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
    first_touch: dict[str, Any] | None = None,
) -> tuple[Order, bool]:
    """Reserve stock and write a pending order. Returns ``(order, created)``.

    When the attempt key was used before (a double tap, a resubmitted form) the first order is
    returned with ``created=False`` and nothing is written.
    """
    try:
        with write_session(factory) as session:
            connection = session.connection()
            if connection.execute(_ATTEMPT_TAKEN, {"key": attempt_key}).first() is not None:
                return _existing(session, attempt_key), False
            product = connection.execute(_PRODUCT_FOR_ORDER, {"sku": link.sku}).first()
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
                refunded_amount=0,
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
                created_at=utcnow(),
            )
            if first_touch:
                order.first_source = first_touch.get("s")
                order.first_campaign = first_touch.get("c")
                order.first_content = first_touch.get("n")
                order.first_touch_at = datetime.fromtimestamp(first_touch["t"], UTC)
            line = OrderLine(
                product_id=product.id,
                sku=product.sku,
                title=product.title,
                unit_amount=product.price_amount,
                quantity=quantity,
                total_amount=total,
            )
            # Claim the attempt key before touching stock: every transaction locks orders
            # first and products second, so a double tap cannot deadlock with a settlement.
            order.id = connection.execute(
                _INSERT_ORDER, {c: getattr(order, c) for c in _ORDER_INSERT_COLUMNS}
            ).scalar_one()
            line.order_id = order.id
            connection.execute(_INSERT_LINE, {c: getattr(line, c) for c in _LINE_COLUMNS})
            order.lines = [line]
            if not inventory.reserve(session, product.id, quantity):
                available = max(connection.execute(_AVAILABLE, {"id": product.id}).scalar_one(), 0)
                if available <= 0:
                    raise SoldOut()
                raise NotEnoughStock(available)
            analytics.record(session, [analytics.event_row("checkout_started", link)])
            return order, True
    except IntegrityError:
        # Two requests with one attempt key raced past the look-up (PostgreSQL); the loser's
        # transaction, reservation included, rolled back. Answer with the winner's order.
        with write_session(factory) as session:
            if session.connection().execute(_ATTEMPT_TAKEN, {"key": attempt_key}).first():
                return _existing(session, attempt_key), False
        raise


def settle_order(factory: sessionmaker[Session], order_id: int, result: ChargeResult) -> Order:
    """Record what a charge said, in one transaction. Idempotent.

    Providers that settle by webhook may answer ``requires_action`` or ``processing`` here;
    that is noted on the order, which stays pending until the webhook says more. Returns the
    order row without its lines (use ``load_order`` for those).
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
        # The order row alone: its lines and refunds are not loaded here.
        order = session.get(Order, order_id, populate_existing=True)
        assert order is not None
        return order


def load_order(session: Session, order_id: int) -> Order:
    order = session.scalar(
        select(Order)
        .options(selectinload(Order.lines), selectinload(Order.refunds))
        .where(Order.id == order_id)
        .execution_options(populate_existing=True)
    )
    assert order is not None
    return order


def _update(session: Session, statement: Any, params: dict[str, Any] | None = None) -> int:
    result = session.connection().execute(statement, params or {})
    assert isinstance(result, CursorResult)
    return result.rowcount


# Status moves, built once. Each is conditional on the status it moves from, so a move that
# already happened (a duplicate event, a concurrent settlement) changes nothing.
_O = _ORDERS.c
_ORDER_ID = bindparam("order_id")
_KEEP_REFERENCE = func.coalesce(bindparam("reference", type_=String), _O.payment_reference)
_NOTE_PROGRESS = (
    update(_ORDERS)
    .where(_O.id == _ORDER_ID, _O.status == "pending")
    .values(payment_status=bindparam("provider_status"), payment_reference=_KEEP_REFERENCE)
)


def _to_paid(*from_statuses: str) -> Any:
    return (
        update(_ORDERS)
        .where(_O.id == _ORDER_ID, _O.status.in_(from_statuses))
        .values(
            status="paid",
            paid_at=bindparam("paid_at"),
            reserved_until=None,
            payment_status="succeeded",
            failure_code=None,
            failure_message=None,
            payment_reference=_KEEP_REFERENCE,
        )
    )


def _to_given_up(*from_statuses: str) -> Any:
    status = bindparam("status")
    return (
        update(_ORDERS)
        .where(_O.id == _ORDER_ID, _O.status.in_(from_statuses))
        .values(
            status=status,
            payment_status=status,
            failure_code=bindparam("code"),
            failure_message=bindparam("message"),
            reserved_until=None,
            payment_reference=_KEEP_REFERENCE,
        )
    )


_PAID_FROM_PENDING = _to_paid("pending")
_PAID_AFTER_GIVING_UP = _to_paid("failed", "canceled")
_GIVEN_UP_FROM_PENDING = _to_given_up("pending")
_CANCELED_AFTER_FAILING = _to_given_up("failed")
_FLAG = update(_ORDERS).where(_O.id == _ORDER_ID).values(attention=bindparam("attention"))


def note_progress(
    session: Session, order_id: int, provider_status: str, *, reference: str | None
) -> None:
    """The provider is still working (3-D Secure, processing): note it, decide nothing."""
    _update(
        session,
        _NOTE_PROGRESS,
        {"order_id": order_id, "provider_status": provider_status, "reference": reference},
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
    params = {"order_id": order_id, "reference": reference, "paid_at": utcnow()}
    # Orders row first, products second: the lock order every transaction here follows.
    if _update(session, _PAID_FROM_PENDING, params):
        lines = _lines(session, order_id)
        for line in lines:
            if not inventory.take_reserved(session, line.product_id, line.quantity):
                raise RuntimeError(f"order {order_id}: reservation for {line.sku} is missing")
        _announce_paid(session, order_id, lines)
        return False
    if not _update(session, _PAID_AFTER_GIVING_UP, params):
        return False  # already paid or refunded
    lines = _lines(session, order_id)
    with session.begin_nested() as savepoint:
        if all(inventory.take_available(session, ln.product_id, ln.quantity) for ln in lines):
            _announce_paid(session, order_id, lines)
            return False
        savepoint.rollback()
    _update(session, _FLAG, {"order_id": order_id, "attention": REFUND_DUE})
    return True


LOW_STOCK = 5
_STOCK_OF = select(_PRODUCTS.c.sku, _PRODUCTS.c.on_hand, _PRODUCTS.c.reserved).where(
    _PRODUCTS.c.id == bindparam("id")
)


def _announce_paid(session: Session, order_id: int, lines: list[Any]) -> None:
    """``order.paid`` and, for products this sale took to LOW_STOCK or below, ``stock.low``:
    written to the outbox in the transaction that makes the order paid."""
    order = outbox.record_order_event(session, "order.paid", order_id)
    analytics.record_order_event(session, "payment_succeeded", order, amount=order.total_amount)
    for line in lines:
        row = session.connection().execute(_STOCK_OF, {"id": line.product_id}).one()
        available = row.on_hand - row.reserved
        if available <= LOW_STOCK < available + line.quantity:
            outbox.record(
                session,
                "stock.low",
                {"sku": row.sku, "available": available, "on_hand": row.on_hand},
            )


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
    params = {
        "order_id": order_id,
        "status": status,
        "code": code,
        "message": message,
        "reference": reference,
    }
    if _update(session, _GIVEN_UP_FROM_PENDING, params):
        for line in _lines(session, order_id):
            if not inventory.release(session, line.product_id, line.quantity):
                raise RuntimeError(f"order {order_id}: reservation for {line.sku} is missing")
        if status == "failed":
            failed = session.get(Order, order_id, populate_existing=True)
            analytics.record_order_event(session, "payment_failed", failed)
    elif status == "canceled":
        _update(session, _CANCELED_AFTER_FAILING, params)


REFUND_DUE = "Paid after its stock ran out: refund due."
REFUNDED_OUT_OF_STOCK = "Paid after its stock ran out: refunded automatically."


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
            outbox.record_order_event(session, "order.refunded", order.id)
            analytics.record_order_event(session, "refunded", order, amount=amount)
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

    pass


def fulfill_order(factory: sessionmaker[Session], number: str) -> Order:
    """Mark a paid order as shipped or handed over. Idempotent: a second call changes nothing
    and sends no second ``order.fulfilled``."""
    with write_session(factory) as session:
        order = session.scalar(select(Order).where(Order.number == number))
        if order is None:
            raise LookupError(number)
        if order.fulfilled_at is None:
            if order.status != "paid":
                raise FulfillRefused(f"order {number} is {order.status}, not paid")
            moved = _update(
                session,
                update(Order)
                .where(Order.id == order.id, Order.fulfilled_at.is_(None), Order.status == "paid")
                .values(fulfilled_at=utcnow()),
            )
            if moved:
                outbox.record_order_event(session, "order.fulfilled", order.id)
        return load_order(session, order.id)
