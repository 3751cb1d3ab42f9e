"""Settling orders: what a charge, a provider event or the sweeper says moves an order on.

Every move is one conditional ``UPDATE`` on the status it moves from, so a move that already
happened (a duplicate event, a concurrent settlement) changes nothing, and whatever order the
news arrives in, a payment that succeeded ends ``paid`` and one that never did ends ``failed``
or ``canceled``:

- :func:`apply_success`: ``pending`` → ``paid`` takes the reserved stock; ``failed`` or
  ``canceled`` → ``paid`` takes stock still on the shelf, or flags a refund when none is left.
- :func:`apply_failure`: ``pending`` → ``failed``/``canceled`` releases the reservation;
  ``failed`` → ``canceled`` (canceled outranks failed). Paid and refunded never change.
- :func:`note_progress`: the provider is still working; the order stays ``pending``.

Each move is announced in its own transaction (``order.paid``, ``order.payment_failed``,
``order.canceled``), so a move that changes nothing announces nothing.

:func:`settle_order` applies a charge's answer; :func:`reconcile_order` and
:func:`release_expired` ask the provider about payments whose reservation ran out.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import (
    BindParameter,
    DateTime,
    Row,
    String,
    Update,
    bindparam,
    case,
    func,
    select,
    update,
)
from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.db import read_session, write_session
from buybutton_server.db.models import Order, utcnow
from buybutton_server.domain import (
    analytics,
    commission_ledger,
    discounts,
    inventory,
    mail,
    outbox,
    stock_alerts,
)
from buybutton_server.domain.order_rows import (
    ORDERS,
    REFUND_DUE,
    changed_rows,
    in_lock_order,
    lines_of,
)
from buybutton_server.domain.refunds import refund_order
from buybutton_server.domain.vocabulary import LOW_STOCK, OrderStatus
from buybutton_server.errors import InternalError, NotFound
from buybutton_server.payments.base import ChargeResult, PaymentProvider

log = logging.getLogger("buybutton.orders")

Reconciled = Literal["paid", "refund_due", "waiting", "released"]
# Why an order was canceled, as ``order.canceled`` says: its hold ran out, its shopper left
# the payment unfinished, or the provider canceled the payment.
CancelReason = Literal["expired", "abandoned", "payment_canceled"]

# However long a payment keeps processing, its checkout holds stock at most this long from
# the order's creation; then the stock goes back (a late success is still honoured).
HOLD_CEILING = timedelta(hours=1)

# Status moves, built once (they run in every payment's settlement).
_O = ORDERS.c
_ORDER_ID: BindParameter[int] = bindparam("order_id")
_KEEP_REFERENCE = func.coalesce(bindparam("reference", type_=String), _O.payment_reference)
_NOTE_PROGRESS = (
    update(ORDERS)
    .where(_O.id == _ORDER_ID, _O.status == OrderStatus.PENDING)
    .values(payment_status=bindparam("provider_status"), payment_reference=_KEEP_REFERENCE)
)
# Waiting on the shopper (3-D Secure): the hold shrinks to ``until`` (never grows).
_UNTIL: BindParameter[datetime] = bindparam("until", type_=DateTime(timezone=True))
_NOTE_ACTION = _NOTE_PROGRESS.values(
    reserved_until=case((_O.reserved_until > _UNTIL, _UNTIL), else_=_O.reserved_until)
)


def _to_paid(*from_statuses: OrderStatus) -> Update:
    return (
        update(ORDERS)
        .where(_O.id == _ORDER_ID, _O.status.in_(from_statuses))
        .values(
            status=OrderStatus.PAID,
            paid_at=bindparam("paid_at"),
            reserved_until=None,
            payment_status="succeeded",
            failure_code=None,
            failure_message=None,
            payment_reference=_KEEP_REFERENCE,
            hold_client=None,
            hold_link=None,
        )
    )


def _to_given_up(*from_statuses: OrderStatus) -> Update:
    status: BindParameter[str] = bindparam("status")
    return (
        update(ORDERS)
        .where(_O.id == _ORDER_ID, _O.status.in_(from_statuses))
        .values(
            status=status,
            payment_status=status,
            failure_code=bindparam("code"),
            failure_message=bindparam("message"),
            reserved_until=None,
            payment_reference=_KEEP_REFERENCE,
            hold_client=None,
            hold_link=None,
        )
    )


# Answers the order's row as it is now: what order.paid says and settle_order returns.
_PAID_FROM_PENDING = _to_paid(OrderStatus.PENDING).returning(*ORDERS.c)
_PAID_AFTER_GIVING_UP = _to_paid(OrderStatus.FAILED, OrderStatus.CANCELED)
_GIVEN_UP_FROM_PENDING = _to_given_up(OrderStatus.PENDING)
_CANCELED_AFTER_FAILING = _to_given_up(OrderStatus.FAILED)
_FLAG = update(ORDERS).where(_O.id == _ORDER_ID).values(attention=bindparam("attention"))
_HOLD_LONGER = (
    update(ORDERS)
    .where(_O.id == _ORDER_ID, _O.status == OrderStatus.PENDING)
    .values(reserved_until=bindparam("reserved_until"))
)
_PAYMENT_STATUS = select(_O.payment_status).where(_O.id == _ORDER_ID)
_ORDER = select(ORDERS).where(_O.id == _ORDER_ID)


def settle_order(
    factory: sessionmaker[Session],
    order_id: int,
    result: ChargeResult,
    *,
    action_hold: timedelta | None = None,
) -> Row[Any]:
    """Record what a charge said, in one transaction. Idempotent.

    Providers that settle by webhook may answer ``requires_action`` or ``processing`` here;
    that is noted on the order, which stays pending until the webhook says more. An order
    waiting on the shopper (``requires_action``) holds its stock ``action_hold`` from now at
    most. Returns the order's row as this transaction left it (Core: every column of
    ``orders``, attributes by column name; ``order_rows.load_order`` reads the lines).
    """
    with write_session(factory) as session:
        settled: Row[Any] | None = None
        if result.succeeded:
            _, settled = _take_payment(session, order_id, reference=result.reference)
        elif result.failed:
            apply_failure(
                session,
                order_id,
                status=OrderStatus.FAILED,
                code=result.code,
                message=result.message,
                reference=result.reference,
            )
        elif result.status == "requires_action" and action_hold is not None:
            params = {
                "order_id": order_id,
                "provider_status": result.status,
                "reference": result.reference,
                "until": utcnow() + action_hold,
            }
            changed_rows(session, _NOTE_ACTION, params)
        else:
            note_progress(session, order_id, result.status, reference=result.reference)
        if settled is None:  # the paid move answers the row; any other reads it
            settled = session.connection().execute(_ORDER, {"order_id": order_id}).first()
        if settled is None:
            raise NotFound(f"No order with id {order_id}.")
        return settled


def note_progress(
    session: Session, order_id: int, provider_status: str, *, reference: str | None
) -> None:
    """The provider is still working (3-D Secure, processing): note it, decide nothing."""
    changed_rows(
        session,
        _NOTE_PROGRESS,
        {"order_id": order_id, "provider_status": provider_status, "reference": reference},
    )


def record_payment_reference(factory: sessionmaker[Session], order_id: int, reference: str) -> None:
    """Remember the provider's payment id in its own committed transaction, before the
    payment is confirmed."""
    with write_session(factory) as session:
        note_progress(session, order_id, "created", reference=reference)


def _reservation_missing(order_id: int, sku: str) -> InternalError:
    # A broken invariant (the stock_bounds constraint should make it impossible): logged for
    # the operator; the shopper sees the generic message and the transaction rolls back.
    log.error("order %s: reservation for %s is missing", order_id, sku)
    return InternalError()


def apply_success(session: Session, order_id: int, *, reference: str | None) -> bool:
    """The money arrived. Returns True when the order now needs an automatic refund.

    A pending order takes its reserved stock. An order already given up (failed or canceled,
    its reservation released) that is paid after all takes stock if there still is some;
    otherwise it is marked for an automatic refund, never left as an order nobody can fill.
    A paid or refunded order is left alone, so duplicates change nothing.
    """
    return _take_payment(session, order_id, reference=reference)[0]


def _take_payment(
    session: Session, order_id: int, *, reference: str | None
) -> tuple[bool, Row[Any] | None]:
    """:func:`apply_success`, also answering the order's row when the move from pending
    read it (None otherwise: nothing changed, or the row changed after it was read)."""
    params = {"order_id": order_id, "reference": reference, "paid_at": utcnow()}
    # Orders row first, products second: the lock order every transaction here follows.
    paid = session.connection().execute(_PAID_FROM_PENDING, params).first()
    if paid is not None:
        # Every column: the same rows serve the stock moves and the order.paid event.
        lines = outbox.order_line_rows(session, order_id)
        for line in in_lock_order(lines):
            if not inventory.take_reserved(
                session, line.product_id, line.quantity, location_id=line.location_id
            ):
                raise _reservation_missing(order_id, line.sku)
        _announce_paid(session, order_id, lines, row=paid)
        return False, paid
    return _paid_after_giving_up(session, order_id, params), None


def _paid_after_giving_up(session: Session, order_id: int, params: dict[str, Any]) -> bool:
    """A failed or canceled order paid after all: stock if there is some, else a refund
    flag (True)."""
    if not changed_rows(session, _PAID_AFTER_GIVING_UP, params):
        return False  # already paid or refunded
    lines = outbox.order_line_rows(session, order_id)
    with session.begin_nested() as savepoint:
        if all(
            inventory.take_available(
                session, ln.product_id, ln.quantity, location_id=ln.location_id
            )
            for ln in in_lock_order(lines)
        ):
            _announce_paid(session, order_id, lines)
            return False
        savepoint.rollback()
    changed_rows(session, _FLAG, {"order_id": order_id, "attention": REFUND_DUE})
    return True


def _announce_paid(
    session: Session, order_id: int, lines: list[Row[Any]], *, row: Row[Any] | None = None
) -> None:
    """``order.paid`` and, for products this sale took to LOW_STOCK or below, ``stock.low``:
    written to the outbox in the transaction that makes the order paid (``row``: the order
    as the move left it, when the caller has it)."""
    order = outbox.record_order_event(session, "order.paid", order_id, lines=lines, row=row)
    commission_ledger.on_paid(session, order_id)  # payees' shares into the ledger
    mail.queue_receipt(session, order)
    analytics.record_order_event(session, "payment_succeeded", order, amount=order.total_amount)
    for line in lines:
        on_hand, reserved = inventory.totals_of(session, line.product_id)
        available = on_hand - reserved
        if available <= LOW_STOCK < available + line.quantity:
            outbox.record(
                session,
                "stock.low",
                {"sku": line.sku, "available": available, "on_hand": on_hand},
            )
    stock_alerts.announce_low_at_locations(session, lines)  # per location (issue 15)


def apply_failure(
    session: Session,
    order_id: int,
    *,
    status: str,
    code: str | None,
    message: str | None,
    reference: str | None = None,
    reason: CancelReason = "payment_canceled",
) -> None:
    """The payment failed or was canceled (``status``): release the stock.

    A pending order releases its stock. Canceled outranks failed (a payment that failed and
    was then canceled is canceled, whichever event came first), so a failed order may still
    become canceled; its stock was already released. Paid and refunded orders never change.
    Each move is announced once, in its transaction: ``order.payment_failed`` (with the
    ``failure``) when the order becomes failed, ``order.canceled`` (with ``reason``) when it
    becomes canceled.
    """
    params = {
        "order_id": order_id,
        "status": status,
        "code": code,
        "message": message,
        "reference": reference,
    }
    was = session.scalar(_PAYMENT_STATUS, {"order_id": order_id})  # for the email's rule
    if changed_rows(session, _GIVEN_UP_FROM_PENDING, params):
        if mail.wants_payment_failed(was, status, reason):  # 3-D Secure failed: a way back
            mail.queue_payment_failed(session, order_id)
        for line in lines_of(session, order_id):
            if not inventory.release(
                session, line.product_id, line.quantity, location_id=line.location_id
            ):
                raise _reservation_missing(order_id, line.sku)
        discounts.release(session, order_id)  # the codes' uses go back too
        if status == OrderStatus.FAILED:
            failed = session.get(Order, order_id, populate_existing=True)
            analytics.record_order_event(session, "payment_failed", failed)
            failure = {"code": code, "message": message}
            outbox.record_order_event(
                session, "order.payment_failed", order_id, {"failure": failure}
            )
        else:
            outbox.record_order_event(session, "order.canceled", order_id, {"reason": reason})
    elif status == OrderStatus.CANCELED:
        if changed_rows(session, _CANCELED_AFTER_FAILING, params):
            outbox.record_order_event(session, "order.canceled", order_id, {"reason": reason})


def reconcile_order(
    factory: sessionmaker[Session],
    provider: PaymentProvider,
    order: Order,
    *,
    hold_for: timedelta = timedelta(minutes=15),
    now: datetime | None = None,
    ceiling: timedelta = HOLD_CEILING,
    reason: CancelReason = "expired",
) -> Reconciled:
    """Settle a pending order from what the provider says about its payment.

    Succeeded means paid (the webhook may simply be late); processing earns more time, up to
    ``ceiling`` after the order was created, when its stock is released all the same; anything
    else is canceled at the provider first, so it can no longer succeed, and the stock is
    released (``order.canceled`` says ``reason``: the hold ``expired``, or the shopper
    ``abandoned`` the payment). Returns "paid", "refund_due", "waiting" or "released".
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
        now = now or utcnow()
        created = order.created_at
        last = (created if created.tzinfo else created.replace(tzinfo=UTC)) + ceiling
        if state == "processing" and now < last:
            until = min(now + hold_for, last)
            changed_rows(session, _HOLD_LONGER, {"order_id": order.id, "reserved_until": until})
            return "waiting"
        if state == "processing":  # still processing at the ceiling: give the stock back
            apply_failure(
                session,
                order.id,
                status=OrderStatus.CANCELED,
                code="payment_too_slow",
                message="The payment took too long to confirm; the order was not kept.",
                reason=reason,
            )
            return "released"
        apply_failure(
            session,
            order.id,
            status=OrderStatus.CANCELED,
            code="checkout_abandoned",
            message="The payment was not completed.",
            reason=reason,
        )
        return "released"


def release_expired(
    factory: sessionmaker[Session],
    provider: PaymentProvider,
    *,
    now: datetime | None = None,
    hold_for: timedelta = timedelta(minutes=15),
    limit: int = 100,
    ceiling: timedelta = HOLD_CEILING,
) -> int:
    """Settle pending orders whose reservation ran out; retry automatic refunds.

    For each, the provider is asked where the payment stands: succeeded means paid (the
    webhook may simply be late), processing earns more time, anything else is canceled at
    the provider and released here (see :func:`reconcile_order` for the ``ceiling``). Returns
    how many orders changed.
    """
    now = now or utcnow()
    with read_session(factory) as session:
        expired = list(
            session.scalars(
                select(Order)
                .where(Order.status == OrderStatus.PENDING, Order.reserved_until < now)
                .order_by(Order.reserved_until)
                .limit(limit)
            )
        )
        refunds_due = list(
            session.scalars(
                select(Order.id)
                .where(Order.status == OrderStatus.PAID, Order.attention == REFUND_DUE)
                .limit(limit)
            )
        )
    changed = 0
    for order in expired:
        outcome = reconcile_order(
            factory, provider, order, hold_for=hold_for, now=now, ceiling=ceiling
        )
        if outcome == "refund_due":
            refunds_due.append(order.id)
        changed += outcome != "waiting"
    for order_id in refunds_due:
        refund_order(factory, provider, order_id, reason="out_of_stock", restock=False)
        changed += 1
    return changed
