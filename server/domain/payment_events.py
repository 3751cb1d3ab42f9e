"""Applying payment-provider events to orders, exactly once each.

The event id goes into ``processed_events`` (UNIQUE per provider) in the same transaction as
the event's effect. A duplicate delivery, concurrent or not, fails that insert and changes
nothing. The effects themselves are the convergent moves of ``settlement``: whatever order
the events arrive in, a payment that succeeded ends paid, and one that never did ends failed
or canceled. Events arrive already verified and provider-neutral (``payments.PaymentEvent``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.db import write_session
from buybutton_server.db.models import Order, ProcessedEvent
from buybutton_server.domain.settlement import apply_failure, apply_success, note_progress
from buybutton_server.domain.vocabulary import OrderStatus
from buybutton_server.payments.base import PaymentEvent


@dataclass(frozen=True)
class EventOutcome:
    """``duplicate``: seen before, nothing done. ``order_id``: the order it was about, if
    any. ``refund_due``: the payment succeeded after its stock ran out; refund it."""

    duplicate: bool = False
    order_id: int | None = None
    refund_due: bool = False


def _find_order(session: Session, event: PaymentEvent) -> Order | None:
    conditions = [Order.payment_reference == event.reference]
    if event.order_public_id:
        conditions.append(Order.public_id == event.order_public_id)
    return session.scalar(select(Order).where(or_(*conditions)).limit(1))


def apply_payment_event(
    factory: sessionmaker[Session], provider: str, event: PaymentEvent
) -> EventOutcome:
    """Apply a verified event from ``provider`` (its name) once, in one transaction."""
    try:
        with write_session(factory) as session:
            order = _find_order(session, event)
            # Orders first, then the event row: the same lock order as every other write.
            if order is not None:
                session.refresh(order, with_for_update=True)
            session.add(
                ProcessedEvent(
                    provider=provider,
                    event_id=event.id,
                    type=event.type,
                    order_id=order.id if order else None,
                )
            )
            session.flush()
            if order is None:
                return EventOutcome()
            if order.payment_reference not in (None, event.reference):
                return EventOutcome(order_id=order.id)  # about another payment attempt
            refund_due = False
            if event.kind == "succeeded":
                refund_due = apply_success(session, order.id, reference=event.reference)
            elif event.kind == "failed":
                apply_failure(
                    session,
                    order.id,
                    status=OrderStatus.FAILED,
                    code=event.code,
                    message=event.message,
                    reference=event.reference,
                )
            elif event.kind == "canceled":
                apply_failure(
                    session,
                    order.id,
                    status=OrderStatus.CANCELED,
                    code="payment_canceled",
                    message="The payment was canceled.",
                    reference=event.reference,
                )
            elif event.kind in ("processing", "requires_action"):
                note_progress(session, order.id, event.kind, reference=event.reference)
            return EventOutcome(order_id=order.id, refund_due=refund_due)
    except IntegrityError:
        return EventOutcome(duplicate=True)
