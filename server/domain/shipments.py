"""Partial shipments: some units of some lines leave in one parcel, with its tracking.

Each line counts its shipped units (``order_lines.shipped_quantity``); a parcel adds to them
with one conditional UPDATE per line, which never lets the count pass the line's quantity
(a CHECK backs it), so two clerks shipping the last unit at once ship it once. The parcel
that ships the last unit fulfils the order and announces ``order.fulfilled``; an earlier one
announces ``order.partially_fulfilled`` with the parcel. Each parcel with its own tracking
number sends the shopper a shipped email.

Fulfilling a whole order (:func:`.fulfilment.fulfill_order`) records one parcel of whatever
was left (:func:`ship_the_rest`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.db import write_session
from buybutton_server.db.models import Order, OrderLine, Shipment, ShipmentLine, utcnow
from buybutton_server.domain import commission_ledger, mail, outbox
from buybutton_server.domain.order_rows import changed_rows, load_order
from buybutton_server.domain.vocabulary import OrderStatus
from buybutton_server.errors import FulfillRefused, InvalidInput, NotFound

MAX_PARCEL_LINES = 20


@dataclass(frozen=True, slots=True)
class Tracking:
    """How a parcel travels; each part optional. Build it with :func:`.fulfilment.tracking`."""

    carrier: str | None = None
    number: str | None = None
    url: str | None = None

    @property
    def given(self) -> bool:
        return any((self.carrier, self.number, self.url))


_L = OrderLine.__table__.c
_SHIP_UNITS = (
    update(OrderLine)
    .where(
        _L.id == bindparam("line_id"),
        _L.shipped_quantity + bindparam("n") <= _L.quantity,
    )
    .values(shipped_quantity=_L.shipped_quantity + bindparam("n"))
)
_UNSHIPPED = select(func.coalesce(func.sum(_L.quantity - _L.shipped_quantity), 0)).where(
    _L.order_id == bindparam("order_id")
)


def shipment_json(shipment: Shipment, skus: dict[int, str]) -> dict[str, Any]:
    return {
        "carrier": shipment.carrier,
        "tracking_number": shipment.tracking_number,
        "tracking_url": shipment.tracking_url,
        "lines": [
            {"sku": skus[line.order_line_id], "quantity": line.quantity} for line in shipment.lines
        ],
    }


def _merged(wanted: Sequence[tuple[str, int]]) -> dict[str, int]:
    if not wanted:
        raise InvalidInput("Name at least one line to ship (sku and quantity).")
    if len(wanted) > MAX_PARCEL_LINES:
        raise InvalidInput(f"A parcel holds at most {MAX_PARCEL_LINES} lines.")
    merged: dict[str, int] = {}
    for sku, quantity in wanted:
        if quantity < 1:
            raise InvalidInput(f"The quantity of {sku} to ship must be at least 1.")
        merged[sku] = merged.get(sku, 0) + quantity
    return merged


def ship_lines(
    factory: sessionmaker[Session],
    number: str,
    wanted: Sequence[tuple[str, int]],
    given: Tracking | None = None,
) -> Order:
    """Send ``wanted`` (``(sku, units)``) of paid order ``number`` in one parcel with
    ``given`` tracking. Raises ``NotFound`` (no such order), ``InvalidInput`` (no such line,
    a quantity below 1) or ``FulfillRefused`` (not paid, already fulfilled, or more units
    than are left to ship: nothing is recorded)."""
    given = given or Tracking()
    units = _merged(wanted)
    with write_session(factory) as session:
        order = session.scalar(select(Order).where(Order.number == number).with_for_update())
        if order is None:
            raise NotFound(f"No order {number!r}.")
        if order.status != OrderStatus.PAID:
            raise FulfillRefused(f"order {number} is {order.status}, not paid")
        if order.fulfilled_at is not None:
            raise FulfillRefused(f"order {number} is fulfilled: every unit has shipped")
        lines = {
            line.sku: line
            for line in session.scalars(select(OrderLine).where(OrderLine.order_id == order.id))
        }
        parcel = Shipment(
            order_id=order.id,
            carrier=given.carrier,
            tracking_number=given.number,
            tracking_url=given.url,
            created_at=utcnow(),
        )
        for sku, quantity in units.items():
            line = lines.get(sku)
            if line is None:
                raise InvalidInput(f"Order {number} has no line {sku}.")
            if not changed_rows(session, _SHIP_UNITS, {"line_id": line.id, "n": quantity}):
                session.refresh(line)
                left = line.quantity - line.shipped_quantity
                raise FulfillRefused(f"only {left} of {sku} left to ship in order {number}")
            parcel.lines.append(ShipmentLine(order_line_id=line.id, quantity=quantity))
        session.add(parcel)
        session.flush()
        return _announce(session, order.id, parcel, {line.id: line.sku for line in lines.values()})


def ship_the_rest(session: Session, order_id: int, given: Tracking) -> None:
    """Record the parcel of an order fulfilled whole: every unit not shipped yet."""
    rows = session.scalars(
        select(OrderLine).where(
            OrderLine.order_id == order_id, OrderLine.shipped_quantity < OrderLine.quantity
        )
    ).all()
    if not rows:
        return
    parcel = Shipment(
        order_id=order_id,
        carrier=given.carrier,
        tracking_number=given.number,
        tracking_url=given.url,
        created_at=utcnow(),
    )
    for line in rows:
        parcel.lines.append(
            ShipmentLine(order_line_id=line.id, quantity=line.quantity - line.shipped_quantity)
        )
        line.shipped_quantity = line.quantity
    session.add(parcel)
    session.flush()


def _announce(session: Session, order_id: int, parcel: Shipment, skus: dict[int, str]) -> Order:
    tracking = {}
    if parcel.carrier or parcel.tracking_number or parcel.tracking_url:
        tracking = {
            "carrier": parcel.carrier,
            "tracking_number": parcel.tracking_number,
            "tracking_url": parcel.tracking_url,
        }
    left = session.connection().execute(_UNSHIPPED, {"order_id": order_id}).scalar_one()
    if left == 0:
        changed_rows(
            session,
            update(Order)
            .where(Order.id == order_id, Order.fulfilled_at.is_(None))
            .values(fulfilled_at=utcnow(), **tracking),
        )
        extra = {"shipment": shipment_json(parcel, skus)}
        outbox.record_order_event(session, "order.fulfilled", order_id, extra)
        commission_ledger.on_fulfilled(session, order_id)  # sellers' transfers due
    else:
        if tracking:
            changed_rows(session, update(Order).where(Order.id == order_id).values(**tracking))
        extra = {"shipment": shipment_json(parcel, skus)}
        outbox.record_order_event(session, "order.partially_fulfilled", order_id, extra)
    fresh = load_order(session, order_id)
    mail.queue_shipped(session, fresh, parcel.carrier, parcel.tracking_number, parcel.tracking_url)
    return fresh
