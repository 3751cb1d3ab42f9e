"""Fulfilling paid orders: shipped, or handed over. Announced once with ``order.fulfilled``."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.db import write_session
from buybutton_server.db.models import Order, utcnow
from buybutton_server.domain import outbox
from buybutton_server.domain.order_rows import changed_rows, load_order
from buybutton_server.domain.vocabulary import OrderStatus
from buybutton_server.errors import FulfillRefused, NotFound


def fulfill_order(factory: sessionmaker[Session], number: str) -> Order:
    """Mark a paid order as shipped or handed over. Idempotent: a second call changes nothing
    and sends no second ``order.fulfilled``.

    Raises :class:`NotFound` for an unknown number and :class:`FulfillRefused` for an order
    that is not paid.
    """
    with write_session(factory) as session:
        order = session.scalar(select(Order).where(Order.number == number))
        if order is None:
            raise NotFound(f"No order {number!r}.")
        if order.fulfilled_at is None:
            if order.status != OrderStatus.PAID:
                raise FulfillRefused(f"order {number} is {order.status}, not paid")
            moved = changed_rows(
                session,
                update(Order)
                .where(
                    Order.id == order.id,
                    Order.fulfilled_at.is_(None),
                    Order.status == OrderStatus.PAID,
                )
                .values(fulfilled_at=utcnow()),
            )
            if moved:
                outbox.record_order_event(session, "order.fulfilled", order.id)
        return load_order(session, order.id)
