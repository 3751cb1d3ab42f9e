"""Paying payees: transfers when they are due, reversals after refunds (provider-neutral).

A seller's transfer is due when its order is fulfilled (shipped or collected), a creator's
when the return window has passed since fulfilment (or payment, for an order never
fulfilled); a payee is paid only while its account is ``active``. Each transfer is claimed
(``sending``, with the amount it will send) in one transaction, sent under its own
idempotency key, and recorded in another, so a retry after a crash sends the same transfer
under the same key. The amount sent is the payee's part of the order at that moment: a
refund before it just sends less; a refund after it plans a reversal
(:func:`~.commission_ledger.plan_reversal`), which is made here too. A reversal the payee's
balance cannot cover is kept as ``owed`` and asked again later, never dropped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import CursorResult, and_, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.db import write_session
from buybutton_server.db.models import Order, Payee, Transfer, TransferReversal, utcnow
from buybutton_server.domain import commission_ledger
from buybutton_server.domain.vocabulary import OrderStatus, money_json
from buybutton_server.errors import PaymentUnavailable
from buybutton_server.payments.base import BalanceInsufficient, PayoutProvider, TransferRequest

log = logging.getLogger("buybutton.payouts")

# A claim older than this was left by a process that died: it is sent again (same key).
STALE_SENDING = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class PayoutRun:
    sent: int = 0
    failed: int = 0
    reversed: int = 0
    owed: int = 0


def due_transfers(
    session: Session, now: datetime, *, return_window: timedelta = timedelta(days=30)
) -> list[Transfer]:
    """Transfers to send now: sellers' once the order is fulfilled, creators' once the
    return window has passed; only to active payees with an account; failed ones again, and
    claims left by a process that died."""
    window_start = now - return_window
    released = or_(
        Transfer.status.in_(("due", "failed")),
        and_(
            Transfer.status == "pending",
            Transfer.release == "fulfilment",
            Order.fulfilled_at.is_not(None),
        ),
        and_(
            Transfer.status == "pending",
            Transfer.release == "return_window",
            or_(
                Order.fulfilled_at <= window_start,
                and_(Order.fulfilled_at.is_(None), Order.paid_at <= window_start),
            ),
        ),
        and_(Transfer.status == "sending", Transfer.due_at < now - STALE_SENDING),
    )
    return list(
        session.scalars(
            select(Transfer)
            .join(Order, Order.id == Transfer.order_id)
            .join(Payee, Payee.id == Transfer.payee_id)
            .where(
                Transfer.kind == "transfer",
                released,
                Order.status.in_((OrderStatus.PAID, OrderStatus.REFUNDED)),
                Payee.status == "active",
                Payee.stripe_account.is_not(None),
            )
            .order_by(Transfer.id)
        )
    )


@dataclass(frozen=True, slots=True)
class _Claimed:
    transfer_id: int
    request: TransferRequest


def _claim(session: Session, transfer: Transfer, now: datetime) -> _Claimed | None:
    order = session.get(Order, transfer.order_id)
    payee = session.get(Payee, transfer.payee_id)
    if order is None or payee is None or not payee.stripe_account:
        return None
    # A first try sends the payee's part now; a retry, what the first try asked for.
    amount = transfer.amount or commission_ledger.net(session, order.id, payee.id)
    status = transfer.status
    if amount <= 0:
        session.execute(
            update(Transfer)
            .where(Transfer.id == transfer.id, Transfer.status == status)
            .values(status="canceled")
        )
        return None
    result = session.execute(
        update(Transfer)
        .where(Transfer.id == transfer.id, Transfer.status == status)
        .values(status="sending", amount=amount, due_at=now)
    )
    moved = cast("CursorResult[object]", result).rowcount
    if not moved:
        return None
    return _Claimed(
        transfer.id,
        TransferRequest(
            amount=amount,
            currency=transfer.currency,
            destination=payee.stripe_account,
            transfer_group=transfer.transfer_group,
            source_payment=order.payment_reference,
            idempotency_key=transfer.idempotency_key,
            metadata={"order": order.number, "payee": payee.code},
        ),
    )


def send_due(
    factory: sessionmaker[Session],
    provider: PayoutProvider,
    *,
    now: datetime | None = None,
    return_window: timedelta = timedelta(days=30),
) -> PayoutRun:
    """Send the transfers that are due, then make the reversals that are due or owed."""
    now = now or utcnow()
    with write_session(factory) as session:
        claimed = [
            c
            for t in due_transfers(session, now, return_window=return_window)
            if (c := _claim(session, t, now)) is not None
        ]
    sent = failed = 0
    for claim in claimed:
        try:
            reference = provider.transfer(claim.request)
        except PaymentUnavailable as exc:
            failed += 1
            with write_session(factory) as session:
                session.execute(
                    update(Transfer)
                    .where(Transfer.id == claim.transfer_id, Transfer.status == "sending")
                    .values(status="failed", failure=exc.message[:255])
                )
            continue
        sent += 1
        with write_session(factory) as session:
            transfer = session.get(Transfer, claim.transfer_id)
            if transfer is None:
                continue
            transfer.status, transfer.reference = "paid", reference
            transfer.sent_at, transfer.failure = utcnow(), None
            session.flush()
            commission_ledger.announce(session, "transfer.created", transfer)
            # A refund that came while it was on its way: take the difference back.
            commission_ledger.plan_reversal(session, transfer)
    reversed_, owed = reverse_due(factory, provider)
    return PayoutRun(sent=sent, failed=failed, reversed=reversed_, owed=owed)


def reverse_due(factory: sessionmaker[Session], provider: PayoutProvider) -> tuple[int, int]:
    """Make the reversals that are due, and ask again for those owed. Returns (made, owed)."""
    with write_session(factory) as session:
        todo = session.execute(
            select(
                TransferReversal.id,
                Transfer.reference,
                TransferReversal.amount,
                TransferReversal.idempotency_key,
            )
            .join(Transfer, Transfer.id == TransferReversal.transfer_id)
            .where(TransferReversal.status.in_(("due", "owed")), Transfer.reference.is_not(None))
            .order_by(TransferReversal.id)
        ).all()
    made = owed = 0
    for reversal_id, reference, amount, key in todo:
        try:
            done = provider.reverse_transfer(str(reference), amount=amount, idempotency_key=key)
        except BalanceInsufficient:
            owed += 1
            with write_session(factory) as session:
                _mark_owed(session, reversal_id)
            continue
        except PaymentUnavailable:
            log.warning("reversal %s deferred: the provider cannot be reached", key)
            continue
        made += 1
        with write_session(factory) as session:
            _mark_done(session, reversal_id, done)
    return made, owed


def _mark_owed(session: Session, reversal_id: int) -> None:
    reversal = session.get(TransferReversal, reversal_id)
    if reversal is None or reversal.status != "due":
        return
    reversal.status = "owed"
    transfer = session.get(Transfer, reversal.transfer_id)
    if transfer is not None:
        transfer.owed_amount += reversal.amount


def _mark_done(session: Session, reversal_id: int, reference: str) -> None:
    reversal = session.get(TransferReversal, reversal_id)
    if reversal is None or reversal.status == "done":
        return
    transfer = session.get(Transfer, reversal.transfer_id)
    if transfer is None:
        return
    if reversal.status == "owed":
        transfer.owed_amount -= reversal.amount
    reversal.status, reversal.reference, reversal.done_at = "done", reference, utcnow()
    transfer.reversed_amount += reversal.amount
    session.flush()
    commission_ledger.announce(
        session,
        "transfer.reversed",
        transfer,
        reversal=money_json(reversal.amount, transfer.currency),
    )
