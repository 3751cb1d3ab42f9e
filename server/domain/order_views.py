"""Orders as their shopper reads them: the checkout's short answer (:class:`OrderSummary`)
and the order page (:class:`OrderView`), with the totals priced when the order was placed.
Re-exported by :mod:`.orders`."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.db import read_session
from buybutton_server.db.models import Order
from buybutton_server.domain.order_rows import order_by_public_id

_PUBLIC_ID_SHAPE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


@dataclass(frozen=True, kw_only=True, slots=True)
class OrderSummary:
    """Where an order stands, for the checkout's answer (read from the order row alone)."""

    public_id: str
    number: str
    status: str
    failure_code: str | None = None
    failure_message: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class LineView:
    sku: str
    title: str
    quantity: int
    unit_amount: int
    total_amount: int


@dataclass(frozen=True, kw_only=True, slots=True)
class OrderView:
    """An order as its shopper sees it (the order page): no ids, keys or attribution."""

    public_id: str
    number: str
    status: str
    currency: str
    total_amount: int
    email: str
    name: str
    ship_line1: str | None
    ship_line2: str | None
    ship_city: str | None
    ship_postal_code: str | None
    ship_country: str | None
    failure_code: str | None
    failure_message: str | None
    lines: tuple[LineView, ...]


def order_summary(order: Order) -> OrderSummary:
    return OrderSummary(
        public_id=order.public_id,
        number=order.number,
        status=order.status,
        failure_code=order.failure_code,
        failure_message=order.failure_message,
    )


def order_view(order: Order) -> OrderView:
    """The shopper's view of an order whose lines are loaded."""
    return OrderView(
        public_id=order.public_id,
        number=order.number,
        status=order.status,
        currency=order.currency,
        total_amount=order.total_amount,
        email=order.email,
        name=order.name,
        ship_line1=order.ship_line1,
        ship_line2=order.ship_line2,
        ship_city=order.ship_city,
        ship_postal_code=order.ship_postal_code,
        ship_country=order.ship_country,
        failure_code=order.failure_code,
        failure_message=order.failure_message,
        lines=tuple(
            LineView(
                sku=line.sku,
                title=line.title,
                quantity=line.quantity,
                unit_amount=line.unit_amount,
                total_amount=line.total_amount,
            )
            for line in order.lines
        ),
    )


def find_order_view(factory: sessionmaker[Session], public_id: str) -> OrderView | None:
    """The order with this public id, or None; an id that cannot be one is not looked up."""
    if not 16 <= len(public_id) <= 32 or not _PUBLIC_ID_SHAPE.issuperset(public_id):
        return None
    with read_session(factory) as session:
        order = order_by_public_id(session, public_id)
        return order_view(order) if order is not None else None
