"""Reserve online, pay in store (ROPIS).

A reservation is an order placed with ``fulfilment_method = 'reserve'`` at a store whose
``reservations_enabled`` is set: no payment is taken online; the order is written in status
``reserved`` with its units held at that store (``routing.reserve(..., at=store)``) until
``reserved_until`` (now + the store's ``reservation_hold_minutes``). Then one of two moves,
each one conditional ``UPDATE`` on ``status = 'reserved'`` (whichever comes first wins, the
other changes nothing):

- :func:`mark_paid_in_store`: staff at that store took the payment at the counter:
  ``reserved`` → ``paid``, the held units leave the shelf (``take_reserved``), and the order
  is announced as any paid order is (``order.paid``, receipt, ledger, ``stock.low``).
- :func:`expire_reservations`: the deadline passed: ``reserved`` → ``canceled``, the units
  go back to the shelf there, the codes' uses come back, and ``reservation.expired`` (with
  the store) and ``order.canceled`` (reason ``expired``) are written to the outbox.

:func:`release_expired` is the sweeper's entry point (the app's loop and ``buybutton orders
release``): the payment sweep of :mod:`.settlement` and then the reservations.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import DateTime, bindparam, select, update
from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.db import engine_of, read_session, write_session
from buybutton_server.db.models import Location, Order, utcnow
from buybutton_server.domain import discounts, inventory, outbox, settlement
from buybutton_server.domain.order_rows import ORDERS, changed_rows, in_lock_order, lines_of
from buybutton_server.domain.vocabulary import OrderStatus
from buybutton_server.errors import Conflict, Gone, InternalError, NotFound
from buybutton_server.payments.base import PaymentProvider

# What a reservation's order says where a payment would be.
IN_STORE = "in_store"
RESERVE = "reserve"
PICKUP = "pickup"
SHIPPING = "shipping"
FULFILMENT_METHODS = (SHIPPING, PICKUP, RESERVE)

_O = ORDERS.c
_NOW = bindparam("now", type_=DateTime(timezone=True))
_PAID_IN_STORE = (
    update(ORDERS)
    .where(
        _O.id == bindparam("order_id"),
        _O.status == OrderStatus.RESERVED,
        _O.pickup_location_id == bindparam("location_id"),
        _O.reserved_until >= _NOW,
    )
    .values(
        status=OrderStatus.PAID,
        paid_at=_NOW,
        reserved_until=None,
        payment_status="succeeded",
        paid_in_store_by=bindparam("staff"),
        hold_client=None,
        hold_link=None,
    )
)
_EXPIRE = (
    update(ORDERS)
    .where(_O.id == bindparam("order_id"), _O.status == OrderStatus.RESERVED)
    .values(
        status=OrderStatus.CANCELED,
        payment_status=OrderStatus.CANCELED,
        failure_code="reservation_expired",
        failure_message="The reservation was not collected in time; the units went back.",
        reserved_until=None,
        hold_client=None,
        hold_link=None,
    )
)
_DUE = (
    select(_O.id)
    .where(_O.status == OrderStatus.RESERVED, _O.reserved_until < _NOW)
    .order_by(_O.reserved_until)
    .limit(bindparam("limit"))
)


def hold_until(location: Location, now: datetime) -> datetime:
    """When a reservation made ``now`` at ``location`` is released."""
    return now + timedelta(minutes=location.reservation_hold_minutes)


def _location_json(session: Session, location_id: int | None) -> dict[str, str] | None:
    location = session.get(Location, location_id) if location_id is not None else None
    if location is None:
        return None
    return {"code": location.code, "name": location.name}


def mark_paid_in_store(session: Session, order_id: int, location_id: int, staff: str) -> bool:
    """Staff at ``location_id`` took the payment for reservation ``order_id`` at the counter.

    In the caller's transaction (``with write_session(...)``): the order becomes ``paid``
    (``paid_in_store_by = staff``, e.g. the staff login's email), its held units leave the
    store's shelf and ``order.paid`` is announced. Returns True when this call made it paid,
    False when it was already paid in store at this location (a double tap: nothing
    changes). Refuses, changing nothing: ``NotFound`` for an unknown order, an order that is
    not a reservation, or one made at another store (staff cannot tell other stores' orders
    exist); ``Gone`` when the hold ran out (expired, or released since); ``Conflict`` for a
    reservation canceled otherwise.
    """
    now = utcnow()
    params = {"order_id": order_id, "location_id": location_id, "staff": staff, "now": now}
    if changed_rows(session, _PAID_IN_STORE, params):
        lines = outbox.order_line_rows(session, order_id)  # every column: order.paid too
        for line in in_lock_order(lines):
            if not inventory.take_reserved(
                session, line.product_id, line.quantity, location_id=line.location_id
            ):
                raise InternalError()  # the CHECK makes this impossible; rolled back
        settlement._announce_paid(session, order_id, lines)
        return True
    order = session.get(Order, order_id, populate_existing=True)
    if (
        order is None
        or order.fulfilment_method != RESERVE
        or order.pickup_location_id != location_id
    ):
        raise NotFound("No reservation with that number at this store.")
    if order.status == OrderStatus.PAID and order.paid_in_store_by is not None:
        return False
    if order.status == OrderStatus.RESERVED or order.failure_code == "reservation_expired":
        raise Gone(
            f"Reservation {order.number} expired: its hold ended and the units went back "
            "to the shelf. Place a new order or sell from the shelf."
        )
    raise Conflict(f"Reservation {order.number} is {order.status}; it cannot be paid now.")


def expire_one(session: Session, order_id: int) -> bool:
    """Release one reservation whose hold ran out (in the caller's transaction). False when
    it was no longer reserved (paid or released meanwhile): nothing changes."""
    if not changed_rows(session, _EXPIRE, {"order_id": order_id}):
        return False
    for line in lines_of(session, order_id):
        if not inventory.release(
            session, line.product_id, line.quantity, location_id=line.location_id
        ):
            raise InternalError()
    discounts.release(session, order_id)
    order = session.get(Order, order_id, populate_existing=True)
    location = _location_json(session, order.pickup_location_id if order else None)
    outbox.record_order_event(session, "reservation.expired", order_id, {"location": location})
    outbox.record_order_event(session, "order.canceled", order_id, {"reason": "expired"})
    return True


_CLAIM_ONE = _DUE.with_for_update(skip_locked=True)


def expire_reservations(
    factory: sessionmaker[Session], *, now: datetime | None = None, limit: int = 100
) -> int:
    """Release reservations whose hold ran out, each in its own transaction. Returns how
    many were released.

    On PostgreSQL each transaction claims the next due reservation with ``FOR UPDATE SKIP
    LOCKED``, so several servers sweeping at once take different orders instead of queueing
    on the same row; ``expire_one``'s conditional UPDATE stays the guard."""
    if engine_of(factory).dialect.name == "postgresql":
        released = 0
        for _ in range(limit):
            with write_session(factory) as session:
                params = {"now": now or utcnow(), "limit": 1}
                order_id = session.connection().execute(_CLAIM_ONE, params).scalar()
                if order_id is None:
                    break
                released += expire_one(session, order_id)
        return released
    with read_session(factory) as session:
        due = list(
            session.connection().execute(_DUE, {"now": now or utcnow(), "limit": limit}).scalars()
        )
    released = 0
    for order_id in due:
        with write_session(factory) as session:
            released += expire_one(session, order_id)
    return released


def release_expired(
    factory: sessionmaker[Session],
    provider: PaymentProvider,
    *,
    now: datetime | None = None,
    hold_for: timedelta = timedelta(minutes=15),
    limit: int = 100,
    ceiling: timedelta = settlement.HOLD_CEILING,
) -> int:
    """The sweeper: payments whose hold ran out (:func:`.settlement.release_expired`), then
    reservations whose hold ran out. Returns how many orders changed."""
    changed = settlement.release_expired(
        factory, provider, now=now, hold_for=hold_for, limit=limit, ceiling=ceiling
    )
    return changed + expire_reservations(factory, now=now, limit=limit)
