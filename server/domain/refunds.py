"""Refunding paid orders, in full or in part, exactly once per request.

A refund is claimed in the database before the provider hears of it, so refunds of one
order run one at a time, and whatever happens after the claim, the provider sees one key per
refund:

1. :func:`_claim` writes the refund's idempotency key (``public_id``, amount refunded so far,
   amount now) and amount on the order, and takes the order's refund lock
   (``refund_claimed_at``), in one conditional ``UPDATE``. While another request holds the
   lock, this one waits for it (up to ``wait``), then reads the order again: two concurrent
   partial refunds are served one after the other, each checked against what is left.
2. The provider refunds under that key.
3. :func:`_record` writes the ``refunds`` row (UNIQUE on the key), adds the amount to the
   order and clears the claim, in one transaction.

If the provider cannot be reached (or the process dies) after step 1, the claim stays on the
order with its key; the next refund of that order finishes it first, under the same key, so
the provider answers with the refund it may already have made instead of refunding again.
A lock left by a process that died is taken over after ``STALE_CLAIM``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, Row, Update, bindparam, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from buybutton.money import format_amount
from buybutton_server.db import read_session, write_session
from buybutton_server.db.models import Order, Refund, utcnow
from buybutton_server.domain import analytics, commission_ledger, inventory, mail, outbox
from buybutton_server.domain.order_rows import (
    ORDERS,
    REFUNDED_OUT_OF_STOCK,
    changed_rows,
    lines_of,
    load_order,
)
from buybutton_server.domain.vocabulary import OrderStatus
from buybutton_server.errors import RefundRefused
from buybutton_server.payments.base import PaymentProvider

# Longer than a provider call with its retries can take (Stripe: 3 tries of 20 s).
STALE_CLAIM = timedelta(minutes=5)

_O = ORDERS.c
_ORDER_ID: BindParameter[int] = bindparam("order_id")
_CLAIM_STATE = select(
    _O.number,
    _O.public_id,
    _O.status,
    _O.total_amount,
    _O.refunded_amount,
    _O.currency,
    _O.payment_reference,
    _O.refund_claim,
    _O.refund_claim_amount,
    _O.refund_claimed_at,
).where(_O.id == _ORDER_ID)
_FREE = or_(_O.refund_claimed_at.is_(None), _O.refund_claimed_at < bindparam("stale_before"))


def _lock(claim: ColumnElement[bool]) -> Update:
    return (
        update(ORDERS)
        .where(
            _O.id == _ORDER_ID,
            _O.status == OrderStatus.PAID,
            _O.refunded_amount == bindparam("refunded"),
            _FREE,
            claim,
        )
        .values(
            refund_claim=bindparam("key"),
            refund_claim_amount=bindparam("amount"),
            refund_claimed_at=bindparam("now"),
        )
    )


_LOCK_NEW = _lock(_O.refund_claim.is_(None))
_LOCK_LEFT = _lock(_O.refund_claim == bindparam("key"))
# The provider could not be reached: the lock goes, the key and amount stay for a retry.
_UNLOCK = (
    update(ORDERS)
    .where(_O.id == _ORDER_ID, _O.refund_claim == bindparam("key"))
    .values(refund_claimed_at=None)
)


@dataclass(frozen=True, slots=True)
class _Claim:
    key: str
    amount: int
    reference: str  # the provider's payment
    resumed: bool  # finishing an earlier request's refund rather than this one's


def _now_aware(moment: datetime | None) -> datetime | None:
    """SQLite hands timestamps back without their zone; they are UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=utcnow().tzinfo)


def _wanted(
    state: Row[Any, Any, Any, Any, Any, Any, Any, Any, Any, Any], amount: int | None
) -> int:
    remaining = state.total_amount - state.refunded_amount
    if state.status != OrderStatus.PAID or not state.payment_reference:
        raise RefundRefused(f"order {state.number} is {state.status}, not paid")
    wanted = remaining if amount is None else amount
    if not 0 < wanted <= remaining:
        raise RefundRefused(
            f"order {state.number}: refund must be between "
            f"{format_amount(1, state.currency)} and {format_amount(remaining, state.currency)}"
        )
    return wanted


def _claim(
    factory: sessionmaker[Session],
    order_id: int,
    amount: int | None,
    *,
    wait: float,
    key: str | None = None,
) -> _Claim | None:
    """Take the order's refund lock for ``amount`` (all that is left when None), or for the
    claim an earlier request left unfinished. Waits while another request holds the lock;
    raises :class:`RefundRefused` when the refund cannot be, or the wait runs out. With the
    caller's ``key``, None when a refund under that key is already recorded."""
    deadline = time.monotonic() + wait
    pause = 0.02
    while True:
        now = utcnow()
        with write_session(factory) as session:
            connection = session.connection()
            if key is not None and session.scalar(
                select(Refund.id).where(Refund.order_id == order_id, Refund.idempotency_key == key)
            ):
                return None
            state = connection.execute(_CLAIM_STATE, {"order_id": order_id}).one()
            claimed_at = _now_aware(state.refund_claimed_at)
            busy = claimed_at is not None and claimed_at >= now - STALE_CLAIM
            if not busy:
                reference = state.payment_reference or ""
                if state.refund_claim is not None:  # an earlier request's refund, unfinished
                    left = state.refund_claim, state.refund_claim_amount
                    claim = _Claim(*left, reference, resumed=True)
                else:
                    wanted = _wanted(state, amount)
                    fresh = key or f"{state.public_id}-{state.refunded_amount}-{wanted}"
                    claim = _Claim(fresh, wanted, reference, resumed=False)
                params = {
                    "order_id": order_id,
                    "refunded": state.refunded_amount,
                    "stale_before": now - STALE_CLAIM,
                    "key": claim.key,
                    "amount": claim.amount,
                    "now": now,
                }
                if changed_rows(session, _LOCK_LEFT if claim.resumed else _LOCK_NEW, params):
                    return claim
        if time.monotonic() >= deadline:
            raise RefundRefused(
                f"order {state.number}: another refund is under way; try again in a moment"
            )
        time.sleep(pause)
        pause = min(pause * 2, 0.25)


def _record(
    factory: sessionmaker[Session],
    order_id: int,
    claim: _Claim,
    *,
    reference: str | None,
    reason: str,
    restock: bool,
) -> None:
    """Write the refund the provider made under ``claim`` and clear the claim."""
    with write_session(factory) as session:
        order = load_order(session, order_id)
        if session.scalar(select(Refund.id).where(Refund.idempotency_key == claim.key)):
            return
        session.add(
            Refund(
                order_id=order_id,
                amount=claim.amount,
                reason=reason,
                reference=reference,
                idempotency_key=claim.key,
            )
        )
        full = order.refunded_amount + claim.amount == order.total_amount
        values: dict[str, object] = {
            "refunded_amount": Order.refunded_amount + claim.amount,
            "refund_claim": None,
            "refund_claim_amount": None,
            "refund_claimed_at": None,
        }
        if full:
            values["status"] = OrderStatus.REFUNDED
        if reason == "out_of_stock":
            values["attention"] = REFUNDED_OUT_OF_STOCK
        moved = changed_rows(
            session,
            update(Order)
            .where(
                Order.id == order_id,
                Order.refund_claim == claim.key,
                Order.status == OrderStatus.PAID,
            )
            .values(**values),
        )
        if not moved:  # the claim is ours until recorded: nothing else clears it
            raise RefundRefused(f"order {order.number} changed meanwhile; try again")
        if full and restock:
            for line in lines_of(session, order_id):
                inventory.restock(
                    session, line.product_id, line.quantity, location_id=line.location_id
                )
        outbox.record_order_event(session, "order.refunded", order_id)
        commission_ledger.on_refund(session, order_id, amount=claim.amount, key=claim.key)
        mail.queue_refund(session, order, claim.amount, claim.key)
        analytics.record_order_event(session, "refunded", order, amount=claim.amount)


def refund_order(
    factory: sessionmaker[Session],
    provider: PaymentProvider,
    order_id: int,
    *,
    amount: int | None = None,
    reason: str = "requested_by_merchant",
    restock: bool = True,
    wait: float = 30.0,
    key: str | None = None,
) -> Order:
    """Refund ``amount`` (all that is left by default) of a paid order.

    A full refund returns the stock unless ``restock`` is False, and makes the order
    ``refunded``. A refund another request left unfinished is finished first, under its own
    key; when it was this same refund (the same amount, or "all that is left" and nothing is
    left), that is the answer. Raises :class:`RefundRefused` for an order that is not paid,
    an amount out of range, or another refund still under way after ``wait`` seconds; the
    provider's ``PaymentUnavailable`` when it cannot be reached (the claim is kept for the
    retry, under the same key).

    ``key`` (at most 128 characters, unique to this order) makes the call itself idempotent:
    when a refund under it is recorded already, the order is returned as it is, so a form
    posted twice refunds once.
    """
    while True:
        claim = _claim(factory, order_id, amount, wait=wait, key=key)
        if claim is None:
            with read_session(factory) as session:
                return load_order(session, order_id)
        try:
            result = provider.refund(
                claim.reference, amount=claim.amount, idempotency_key=claim.key
            )
        except Exception:  # unreachable, or worse: whoever comes next retries this key
            with write_session(factory) as session:
                changed_rows(session, _UNLOCK, {"order_id": order_id, "key": claim.key})
            raise
        _record(
            factory,
            order_id,
            claim,
            reference=result.reference,
            reason=reason,
            restock=restock,
        )
        with read_session(factory) as session:
            order = load_order(session, order_id)
        retried = (
            claim.key == key
            or amount == claim.amount
            or (amount is None and order.refunded_amount == order.total_amount)
        )
        if not claim.resumed or retried:
            return order
