"""The store counter: which locations a login works at, and a pickup order's handover.

- **Scope.** An owner, and a staff login with no locations, work at every location; a staff
  login limited to some (``staff_locations``) sees and changes only those locations' orders.
  Another store's order answers "not found": a clerk cannot tell it exists.
- **Ready.** Staff mark a pickup order (paid) or a reservation ready: one ``order_pickups``
  row, written once (its primary key is the order), with the HMAC of a fresh 6-digit code,
  ``order.ready_for_pickup`` and the shopper's ``pickup_ready`` email (the code and a QR code
  of the collect address) in the same transaction. Until then the order never looks ready.
- **Collected.** The code typed (or scanned) must match; each wrong code counts on the row
  and, after :data:`MAX_WRONG`, the order takes no more codes until staff send a new one
  (the service also rate-limits per order and per login). The right code marks it collected
  and fulfilled with one conditional ``UPDATE`` each, announces ``order.collected`` and
  queues the ``pickup_collected`` email.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload

from buybutton_server.db.models import Location, Order, OrderPickup
from buybutton_server.domain import admin_auth, commission_ledger, outbox
from buybutton_server.domain.admin_auth import OWNER, Admin
from buybutton_server.domain.mail import counter_emails
from buybutton_server.domain.order_rows import changed_rows
from buybutton_server.domain.vocabulary import OrderStatus
from buybutton_server.errors import Conflict, InvalidInput, NotFound

CODE_DIGITS = 6
MAX_WRONG = 5  # wrong codes for one pickup before staff must send a new one
PICKUP, RESERVE = "pickup", "reserve"
_SALT = b"buybutton.pickup-code\0"
_PICKUPS: Table = OrderPickup.metadata.tables["order_pickups"]


# -- codes ----------------------------------------------------------------------------------


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def code_hash(secret_key: str, public_id: str, code: str) -> str:
    """The stored form of a code: an HMAC under the shop's secret key, bound to the order
    (a plain hash of six digits would fall to a million guesses)."""
    message = _SALT + public_id.encode() + b"\0" + code.encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()


def code_matches(secret_keys: tuple[str, ...], public_id: str, code: str, stored: str) -> bool:
    """Whether ``code`` is the one stored, under any current key (newest last)."""
    if not (len(code) == CODE_DIGITS and code.isascii() and code.isdecimal()):
        return False
    found = False
    for key in secret_keys:
        found |= hmac.compare_digest(code_hash(key, public_id, code), stored)
    return found


def clean_code(text: str) -> str:
    """A code as typed: spaces and dashes dropped ("123 456")."""
    return "".join(ch for ch in text if ch not in " -\t")[:32]


# -- scope ----------------------------------------------------------------------------------


def locations_for(session: Session, user: Admin) -> list[Location]:
    """The active locations ``user`` works at, by name."""
    query = select(Location).where(Location.active.is_(True)).order_by(Location.name)
    if user.role != OWNER:
        ids = admin_auth.limited_to(session, user.id)
        if ids:
            query = query.where(Location.id.in_(ids))
    return list(session.scalars(query))


def location_for(session: Session, user: Admin, code: str) -> Location:
    """The location ``code`` if ``user`` works there; :class:`NotFound` otherwise (an
    unknown code and another store's look the same)."""
    for location in locations_for(session, user):
        if location.code == code:
            return location
    raise NotFound(f"You have no store {code[:32]!r} here. Choose one of your stores.")


# -- the day's list -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CounterOrder:
    id: int
    number: str
    name: str
    method: str  # pickup | reserve
    status: str
    currency: str
    total: int
    lines: tuple[tuple[str, int], ...]  # (title, units)
    ready_at: datetime | None
    collected_at: datetime | None
    locked: bool  # too many wrong codes: a new one must be sent

    @property
    def paid(self) -> bool:
        return self.status == OrderStatus.PAID


def _counter_order(order: Order, pickup: OrderPickup | None) -> CounterOrder:
    return CounterOrder(
        id=order.id,
        number=order.number,
        name=order.name,
        method=order.fulfilment_method,
        status=order.status,
        currency=order.currency,
        total=order.total_amount,
        lines=tuple((line.title, line.quantity) for line in order.lines),
        ready_at=pickup.ready_at if pickup else None,
        collected_at=pickup.collected_at if pickup else None,
        locked=bool(pickup and pickup.attempts >= MAX_WRONG),
    )


def _waiting(location_id: int) -> Any:
    return (
        Order.pickup_location_id == location_id,
        or_(
            (Order.fulfilment_method == PICKUP) & (Order.status == OrderStatus.PAID),
            (Order.fulfilment_method == RESERVE)
            & Order.status.in_((OrderStatus.RESERVED, OrderStatus.PAID)),
        ),
    )


def open_orders(session: Session, location_id: int, limit: int = 200) -> list[CounterOrder]:
    """Pickups (paid) and reservations at a location not yet collected, oldest first."""
    query = (
        select(Order, OrderPickup)
        .outerjoin(OrderPickup, OrderPickup.order_id == Order.id)
        .options(selectinload(Order.lines))
        .where(*_waiting(location_id), OrderPickup.collected_at.is_(None))
        .order_by(Order.created_at, Order.id)
        .limit(limit)
    )
    return [_counter_order(order, pickup) for order, pickup in session.execute(query)]


def counter_order(session: Session, location_id: int, number: str) -> CounterOrder:
    order, pickup = _order_at(session, location_id, number)
    return _counter_order(order, pickup)


def _order_at(session: Session, location_id: int, number: str) -> tuple[Order, OrderPickup | None]:
    order = session.scalar(
        select(Order)
        .options(selectinload(Order.lines))
        .where(
            Order.number == number[:32],
            Order.pickup_location_id == location_id,
            Order.fulfilment_method.in_((PICKUP, RESERVE)),
        )
        .execution_options(populate_existing=True)
    )
    if order is None:
        raise NotFound(f"There is no pickup or reservation {number[:32]!r} for this store.")
    pickup = session.scalar(
        select(OrderPickup)
        .where(OrderPickup.order_id == order.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return order, pickup


def location_json(location: Location) -> dict[str, Any]:
    return {"code": location.code, "name": location.name, "kind": location.kind}


# -- ready ----------------------------------------------------------------------------------


def mark_ready(
    session: Session,
    location: Location,
    number: str,
    staff: Admin,
    *,
    secret_key: str,
    now: datetime,
    new_code_only: bool = False,
) -> str:
    """Mark the order ready (or, ``new_code_only``, send a fresh code for one already
    ready); returns the code, which is stored only as its HMAC."""
    order, pickup = _order_at(session, location.id, number)
    if order.fulfilment_method == PICKUP and order.status != OrderStatus.PAID:
        raise Conflict(f"Order {order.number} is {order.status}, not paid: it can't be ready.")
    if order.fulfilment_method == RESERVE and order.status not in (
        OrderStatus.RESERVED,
        OrderStatus.PAID,
    ):
        raise Conflict(f"Reservation {order.number} is {order.status}: it can't be ready.")
    if pickup is not None and pickup.collected_at is not None:
        raise Conflict(f"Order {order.number} was collected already.", code="collected")
    code = new_code()
    hashed = code_hash(secret_key, order.public_id, code)
    if pickup is None:
        if new_code_only:
            raise Conflict(f"Order {order.number} is not marked ready yet.", code="not_ready")
        connection = session.connection()
        dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
        row = {
            "order_id": order.id,
            "location_id": location.id,
            "code_hash": hashed,
            "attempts": 0,
            "ready_at": now,
            "ready_by": staff.id,
        }
        statement = dialect.insert(_PICKUPS).values(row).on_conflict_do_nothing()
        # A row back, not the rowcount (psycopg answers -1 for this insert on PostgreSQL).
        inserted = session.connection().execute(statement.returning(_PICKUPS.c.order_id))
        if inserted.first() is None:  # another clerk, a moment before
            raise Conflict(
                f"Order {order.number} was just marked ready by someone else.", code="ready"
            )
        outbox.record_order_event(
            session,
            "order.ready_for_pickup",
            order.id,
            {"location": location_json(location), "ready_at": outbox.iso_time(now)},
        )
        copy = 1
    else:
        if not new_code_only:
            raise Conflict(
                f"Order {order.number} is ready already. Use \u201cSend a new code\u201d if the "
                "shopper lost theirs.",
                code="ready",
            )
        moved = changed_rows(
            session,
            update(OrderPickup)
            .where(OrderPickup.order_id == order.id, OrderPickup.collected_at.is_(None))
            .values(code_hash=hashed, attempts=0),
        )
        if not moved:
            raise Conflict(f"Order {order.number} was collected already.", code="collected")
        copy = 2 + int(now.timestamp())
    counter_emails.queue_pickup_ready(session, order, location, code, copy=copy)
    return code


# -- collected ------------------------------------------------------------------------------


def collect(
    session: Session,
    location: Location,
    number: str,
    code: str,
    staff: Admin,
    *,
    secret_keys: tuple[str, ...],
    now: datetime,
) -> bool:
    """Hand the order over if ``code`` is its code: True. A wrong code counts against the
    order and returns False (the caller commits the count, then refuses)."""
    order, pickup = _order_at(session, location.id, number)
    if pickup is None:
        raise Conflict(f"Order {order.number} is not marked ready yet.", code="not_ready")
    if pickup.collected_at is not None:
        raise Conflict(f"Order {order.number} was collected already.", code="collected")
    if pickup.attempts >= MAX_WRONG:
        raise Conflict(
            f"Too many wrong codes for order {order.number}. Send the shopper a new code "
            "(\u201cSend a new code\u201d), then try again.",
            code="code_locked",
        )
    if order.status != OrderStatus.PAID:
        raise Conflict(
            f"Reservation {order.number} is not paid: take the payment first (Paid in store).",
            code="not_paid",
        )
    if not code_matches(secret_keys, order.public_id, clean_code(code), pickup.code_hash):
        changed_rows(
            session,
            update(OrderPickup)
            .where(OrderPickup.order_id == order.id)
            .values(attempts=OrderPickup.attempts + 1),
        )
        return False
    moved = changed_rows(
        session,
        update(OrderPickup)
        .where(OrderPickup.order_id == order.id, OrderPickup.collected_at.is_(None))
        .values(collected_at=now, collected_by=staff.id),
    )
    if not moved:
        raise Conflict(f"Order {order.number} was collected already.", code="collected")
    changed_rows(
        session,
        update(Order)
        .where(Order.id == order.id, Order.fulfilled_at.is_(None))
        .values(fulfilled_at=now),
    )
    outbox.record_order_event(
        session,
        "order.collected",
        order.id,
        {"location": location_json(location), "collected_at": outbox.iso_time(now)},
    )
    commission_ledger.on_fulfilled(session, order.id)  # handed over: sellers' transfers due
    counter_emails.queue_pickup_collected(session, order, location)
    return True


def find_pickup_location(session: Session, number: str) -> Location | None:
    """The store a pickup or reservation is collected at (for a scanned QR code)."""
    return session.scalar(
        select(Location)
        .join(Order, Order.pickup_location_id == Location.id)
        .where(Order.number == number[:32], Order.fulfilment_method.in_((PICKUP, RESERVE)))
    )


def check_number(text: str) -> str:
    number = text.strip().upper()
    if not number or len(number) > 32 or "\x00" in number:
        raise InvalidInput("Type the order number, e.g. BB-1042.")
    return number
