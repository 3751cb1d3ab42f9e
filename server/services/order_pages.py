"""An order after its checkout: the shopper's order page, and a payment the browser could not
finish (3-D Secure failed or was closed)."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.db import read_session
from buybutton_server.domain.order_rows import order_by_public_id
from buybutton_server.domain.orders import OrderView, find_order_view, reconcile_order
from buybutton_server.domain.vocabulary import OrderStatus
from buybutton_server.errors import NotFound
from buybutton_server.payments.base import PaymentProvider


def find_order(factory: sessionmaker[Session], public_id: str) -> OrderView | None:
    """The shopper's order page: the order with this public id, or None."""
    return find_order_view(factory, public_id)


def abandon(factory: sessionmaker[Session], provider: PaymentProvider, public_id: str) -> str:
    """The browser could not finish a payment (3-D Secure failed or was closed).

    Nothing trusts that report: a pending order is settled from what the provider says
    (``settlement.reconcile_order``), so at worst a genuine payment is recorded as paid a
    little before its webhook. Returns the order's status afterwards; raises ``NotFound``.
    """
    with read_session(factory) as session:
        order = order_by_public_id(session, public_id)
    if order is None:
        raise NotFound()
    if order.status != OrderStatus.PENDING:
        return order.status
    reconcile_order(factory, provider, order, reason="abandoned")
    with read_session(factory) as session:
        order = order_by_public_id(session, public_id)
    if order is None:
        raise NotFound()
    return order.status
