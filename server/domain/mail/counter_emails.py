"""The counter's emails: ``pickup_ready`` (the 6-digit code and a QR code of the collect
address) and ``pickup_collected``, each queued in the transaction of the change.

The code is in the message's ``data`` only until it is sent: the outbox then keeps the
bodies and data with the code removed (``messages.SECRET_FIELDS``), and the admin never
shows a ``pickup_ready`` body (a secret kind). The QR image is made when the message is sent.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from buybutton_server.db.models import Location, Order
from buybutton_server.domain import pickup
from buybutton_server.domain.locales import Lang
from buybutton_server.domain.mail.emails import queue_order_email


def _store(location: Location) -> dict[str, Any]:
    city = " ".join(filter(None, [location.postal_code, location.city]))
    return {
        "name": location.name,
        "address": [part for part in (location.line1, city) if part],
        "instructions": location.pickup_instructions or "",
    }


def _lines(order: Order) -> list[dict[str, Any]]:
    return [{"title": line.title, "quantity": line.quantity} for line in order.lines]


def _held(session: Session, order: Order, location: Location, lang: Lang) -> str:
    if order.fulfilment_method != "reserve" or order.status == "paid" or not order.reserved_until:
        return ""
    zone = pickup.zone_of(session, location.time_zone)
    return pickup.held_text(order.reserved_until, zone, lang)  # the email's language


def queue_pickup_ready(
    session: Session, order: Order, location: Location, code: str, *, copy: int = 1
) -> bool:
    """ "Your order is ready": the code to give at the counter (``copy`` > 1: a new code)."""
    return queue_order_email(
        session,
        order,
        "pickup_ready",
        key=f"{order.number}:{copy}",
        extra=lambda lang: {
            "code": code,
            "reservation": order.fulfilment_method == "reserve" and order.status != "paid",
            # How long the store holds an unpaid reservation, in the store's time (issue 15).
            "held_until": _held(session, order, location, lang),
            "currency": order.currency,
            "total": order.total_amount,
            "store": _store(location),
            "lines": _lines(order),
        },
    )


def queue_pickup_collected(session: Session, order: Order, location: Location) -> bool:
    """ "You collected your order" (once per order)."""
    return queue_order_email(
        session,
        order,
        "pickup_collected",
        key=order.number,
        extra=lambda lang: {"store": _store(location), "lines": _lines(order)},
    )
