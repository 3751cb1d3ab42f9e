"""The ledger: what each order brought the platform and each payee, kept exact.

For every order with commission lines, at every moment::

    captured - refunded = platform + sum(payees)        (to the minor unit)

``on_paid`` writes each payee's frozen share and the platform's rest as ``sale`` entries;
``on_refund`` splits a refund over the same parties in proportion to their shares: a
payee's reversals so far are ``floor(refunded_so_far * share / captured)`` (so a full refund
takes back each share exactly, and a payee never goes below zero), and the platform takes
what rounding leaves (the remainder, a unit or two). Hooks run in the transaction of the
order's own move (paid, fulfilled, refunded); money moves later (:mod:`.payouts`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from buybutton_server.db.models import (
    LedgerEntry,
    Order,
    Payee,
    Transfer,
    TransferReversal,
    utcnow,
)
from buybutton_server.domain import commissions, outbox
from buybutton_server.domain.outbox.events import iso_time
from buybutton_server.domain.vocabulary import money_json

PLATFORM = None  # the payee id of the platform's entries


def split_refund(
    captured: int, shares: Mapping[int, int], refunded_before: int, amount: int
) -> tuple[dict[int, int], int]:
    """How a refund of ``amount`` (after ``refunded_before``) comes off each payee's share
    and the platform's: ``({payee: taken}, platform_taken)``, summing to ``amount``."""
    after = refunded_before + amount
    taken = {
        payee: after * share // captured - refunded_before * share // captured
        for payee, share in shares.items()
    }
    return taken, amount - sum(taken.values())


def _sale_written(session: Session, order_id: int) -> bool:
    return (
        session.scalar(
            select(LedgerEntry.id)
            .where(LedgerEntry.order_id == order_id, LedgerEntry.kind == "sale")
            .limit(1)
        )
        is not None
    )


def net(session: Session, order_id: int, payee_id: int | None) -> int:
    """What the order leaves ``payee_id`` (None: the platform) now."""
    who = LedgerEntry.payee_id.is_(None) if payee_id is None else LedgerEntry.payee_id == payee_id
    total = session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
            LedgerEntry.order_id == order_id, who
        )
    )
    return int(total or 0)


def announce(session: Session, event_type: str, transfer: Transfer, **extra: Any) -> None:
    order = session.get(Order, transfer.order_id)
    payee = session.get(Payee, transfer.payee_id)
    outbox.record(
        session,
        event_type,
        {"transfer": transfer_json(transfer, order, payee), **extra},
    )


def transfer_json(transfer: Transfer, order: Order | None, payee: Payee | None) -> dict[str, Any]:
    currency = transfer.currency
    return {
        "id": transfer.id,
        "order": order.number if order else None,
        "payee": payee.code if payee else None,
        "kind": transfer.kind,
        "status": transfer.status,
        "release": transfer.release,
        "amount": money_json(transfer.amount, currency),
        "reversed": money_json(transfer.reversed_amount, currency),
        "owed": money_json(transfer.owed_amount, currency),
        "transfer_group": transfer.transfer_group,
        "reference": transfer.reference,
        "sent_at": iso_time(transfer.sent_at),
    }


def on_paid(session: Session, order_id: int) -> None:
    """The order is paid: its shares go into the ledger, and a transfer per payee waits
    for its release (a destination charge's seller was paid by the charge itself)."""
    shares = commissions.shares(session, order_id)
    if not shares or _sale_written(session, order_id):
        return
    order = session.get(Order, order_id)
    if order is None:
        return
    captured = order.total_amount
    session.add_all(
        LedgerEntry(
            order_id=order_id, payee_id=payee_id, kind="sale", amount=share, currency=order.currency
        )
        for payee_id, share in sorted(shares.items())
    )
    session.add(
        LedgerEntry(
            order_id=order_id,
            payee_id=PLATFORM,
            kind="sale",
            amount=captured - sum(shares.values()),
            currency=order.currency,
        )
    )
    destination = commissions.is_destination(session, order_id)
    group = commissions.transfer_group(order)
    now = utcnow()
    for payee_id, share in sorted(shares.items()):
        payee = session.get(Payee, payee_id)
        seller = payee is not None and payee.kind == "seller"
        transfer = Transfer(
            order_id=order_id,
            payee_id=payee_id,
            kind="destination" if destination else "transfer",
            status="paid" if destination else "pending",
            release="fulfilment" if seller else "return_window",
            currency=order.currency,
            amount=share if destination else 0,
            transfer_group=group,
            idempotency_key=f"{order.public_id}-{payee_id}",
            sent_at=now if destination else None,
        )
        session.add(transfer)
        session.flush()
        if destination:
            announce(session, "transfer.created", transfer)


def on_fulfilled(session: Session, order_id: int) -> None:
    """Shipped or handed over: the sellers' transfers are due."""
    session.execute(
        update(Transfer)
        .where(
            Transfer.order_id == order_id,
            Transfer.status == "pending",
            Transfer.release == "fulfilment",
        )
        .values(status="due", due_at=utcnow())
    )


def on_refund(session: Session, order_id: int, *, amount: int, key: str) -> None:
    """A refund of ``amount`` (its idempotency ``key``): each party gives back its part.
    Transfers not sent yet simply send less; sent ones get a reversal to make (a destination
    charge's was made by the refund itself, with the application fee's)."""
    shares = commissions.shares(session, order_id)
    if not shares or not _sale_written(session, order_id):
        return
    if session.scalar(select(LedgerEntry.id).where(LedgerEntry.refund_key == key).limit(1)):
        return
    order = session.get(Order, order_id)
    if order is None:
        return
    refunded_before = -int(
        session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
                LedgerEntry.order_id == order_id, LedgerEntry.kind == "refund"
            )
        )
        or 0
    )
    taken, platform = split_refund(order.total_amount, shares, refunded_before, amount)
    for payee_id, part in sorted(taken.items()):
        session.add(
            LedgerEntry(
                order_id=order_id,
                payee_id=payee_id,
                kind="refund",
                amount=-part,
                currency=order.currency,
                refund_key=key,
            )
        )
    session.add(
        LedgerEntry(
            order_id=order_id,
            payee_id=PLATFORM,
            kind="refund",
            amount=-platform,
            currency=order.currency,
            refund_key=key,
        )
    )
    session.flush()
    for transfer in session.scalars(
        select(Transfer).where(Transfer.order_id == order_id).order_by(Transfer.id)
    ):
        if transfer.kind == "destination":
            part = taken.get(transfer.payee_id, 0)
            if part > 0:
                transfer.reversed_amount += part
                session.flush()
                announce(
                    session,
                    "transfer.reversed",
                    transfer,
                    reversal=money_json(part, transfer.currency),
                )
        elif transfer.status == "paid":
            plan_reversal(session, transfer)
        elif (
            transfer.status in ("pending", "due") and net(session, order_id, transfer.payee_id) == 0
        ):
            transfer.status = "canceled"  # fully refunded before it was sent
    session.flush()


def plan_reversal(session: Session, transfer: Transfer) -> TransferReversal | None:
    """A sent transfer worth more than the payee's part of the order now: the difference is
    a reversal to make (once; what is planned, done or owed already counts)."""
    planned = session.scalar(
        select(func.coalesce(func.sum(TransferReversal.amount), 0)).where(
            TransferReversal.transfer_id == transfer.id
        )
    )
    needed = (
        transfer.amount - net(session, transfer.order_id, transfer.payee_id) - int(planned or 0)
    )
    if needed <= 0:
        return None
    count = session.scalar(select(func.count()).where(TransferReversal.transfer_id == transfer.id))
    reversal = TransferReversal(
        transfer_id=transfer.id,
        amount=needed,
        status="due",
        idempotency_key=f"{transfer.idempotency_key}-r{int(count or 0) + 1}",
    )
    session.add(reversal)
    session.flush()
    return reversal


def order_id_by_number(session: Session, number: str) -> int | None:
    return session.scalar(select(Order.id).where(Order.number == number))


def order_ledger(session: Session, order_id: int) -> dict[str, Any]:
    """The order's ledger as the API shows it: each party's net, the entries' sums, and the
    invariant's two sides."""
    order = session.get(Order, order_id)
    if order is None:
        return {}
    parties: dict[int | None, int] = {}
    for payee_id, amount in session.execute(
        select(LedgerEntry.payee_id, LedgerEntry.amount).where(LedgerEntry.order_id == order_id)
    ):
        parties[payee_id] = parties.get(payee_id, 0) + amount
    codes = {
        p.id: p.code
        for p in session.scalars(select(Payee).where(Payee.id.in_([k for k in parties if k])))
    }
    currency = order.currency
    return {
        "order": order.number,
        "captured": money_json(order.total_amount, currency),
        "refunded": money_json(order.refunded_amount, currency),
        "platform": money_json(parties.get(PLATFORM, 0), currency),
        "payees": [
            {"payee": codes[k], "net": money_json(v, currency)}
            for k, v in sorted(parties.items(), key=lambda kv: codes.get(kv[0] or 0, ""))
            if k is not None
        ],
    }
