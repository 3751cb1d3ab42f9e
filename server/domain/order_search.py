"""Finding orders for the merchant: by number, or a filtered page (API and admin reads)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from buybutton_server.db.models import Order
from buybutton_server.errors import NotFound


def order_by_number(session: Session, number: str, *, refunds: bool = False) -> Order:
    """The order with its lines (and refunds); :class:`NotFound` if there is none."""
    query = select(Order).options(selectinload(Order.lines)).where(Order.number == number)
    if refunds:
        query = query.options(selectinload(Order.refunds))
    order = session.scalar(query)
    if order is None:
        raise NotFound(f"No order {number!r}.")
    return order


@dataclass(frozen=True, slots=True)
class OrderFilter:
    """Which orders to list; ``None`` leaves a criterion out. Times are timezone-aware.
    ``number`` and ``email`` match any part, in any case (the admin's search)."""

    number: str | None = None
    email: str | None = None
    status: str | None = None
    source: str | None = None
    campaign: str | None = None
    content: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None


def orders_before(session: Session, before: int, limit: int, where: OrderFilter) -> list[Order]:
    """Orders that match ``where``, newest first (by id, which grows with time), with their
    lines: those with ids below ``before``, or from the newest when ``before`` is 0.

    The same order as ``buybutton orders list``; a page's cursor is its last (oldest) id, so
    orders placed while a client pages appear on no later page and none is shown twice."""
    query = select(Order).options(selectinload(Order.lines)).order_by(Order.id.desc()).limit(limit)
    if before:
        query = query.where(Order.id < before)
    if where.number:
        query = query.where(Order.number.contains(where.number.upper(), autoescape=True))
    if where.email:
        query = query.where(func.lower(Order.email).contains(where.email.lower(), autoescape=True))
    if where.status:
        query = query.where(Order.status == where.status)
    if where.source:
        query = query.where(Order.source == where.source)
    if where.campaign:
        query = query.where(Order.campaign == where.campaign)
    if where.content:
        query = query.where(Order.content == where.content)
    if where.created_after:
        query = query.where(Order.created_at >= where.created_after)
    if where.created_before:
        query = query.where(Order.created_at < where.created_before)
    return list(session.scalars(query))


def recent_orders(
    session: Session, *, status: str | None = None, attention: bool = False, limit: int = 50
) -> list[Order]:
    """The newest ``limit`` orders (``buybutton orders list``), only those in ``status`` or,
    with ``attention``, only those the merchant should look at."""
    query = select(Order).order_by(Order.id.desc()).limit(limit)
    if status:
        query = query.where(Order.status == status)
    if attention:
        query = query.where(Order.attention.is_not(None))
    return list(session.scalars(query))


def paid_since(session: Session, since: datetime, limit: int = 100) -> list[Order]:
    """Orders paid at or after ``since``, in the order they were paid (the demo's ticker)."""
    query = (
        select(Order)
        .where(Order.paid_at.is_not(None), Order.paid_at >= since)
        .order_by(Order.paid_at, Order.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def order_by_reference(session: Session, reference: str) -> Order | None:
    """The order whose number (in any case) or public id is ``reference``, or None."""
    return session.scalar(
        select(Order).where(or_(Order.number == reference.upper(), Order.public_id == reference))
    )
