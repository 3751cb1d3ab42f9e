"""Orders through the API: list (filtered, paged), read, refund, fulfil.

An order's JSON is defined once, by :func:`buybutton_server.domain.outbox.order_json` (the
webhooks send the same); :class:`Order` declares it for the document and checks every answer
against it.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field
from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.db import read_session
from buybutton_server.domain import order_search
from buybutton_server.domain.catalog import AMOUNT_MAX
from buybutton_server.domain.orders import fulfill_order, refund_order
from buybutton_server.domain.outbox import order_json
from buybutton_server.domain.vocabulary import OrderStatus
from buybutton_server.payments import PaymentProvider
from buybutton_server.services.api_types import (
    Answer,
    Input,
    ListQuery,
    Moment,
    Money,
    Timestamp,
    page,
)


class OrderLine(Answer):
    sku: str
    title: str
    quantity: int
    unit_amount: int
    total_amount: int


class Shipping(Answer):
    line1: str
    line2: str | None
    city: str | None
    postal_code: str | None
    country: str | None


class Attribution(Answer):
    source: str | None
    campaign: str | None
    content: str | None


class Payment(Answer):
    provider: str
    method: str | None
    reference: str | None


class Order(Answer):
    number: str
    status: OrderStatus
    total: Money
    refunded: Money
    email: str
    name: str
    shipping: Shipping | None
    lines: list[OrderLine]
    attribution: Attribution
    payment: Payment
    attention: str | None
    created_at: Timestamp | None
    paid_at: Timestamp | None
    fulfilled_at: Timestamp | None

    @classmethod
    def of(cls, order: Any) -> Order:
        return cls.model_validate(order_json(order))


class OrderList(Answer):
    data: list[Order]
    next_cursor: str | None


class OrderQuery(ListQuery):
    status: OrderStatus | None = None
    source: str | None = None
    campaign: str | None = None
    content: str | None = None
    created_after: Moment | None = None
    created_before: Moment | None = None


class RefundInput(Input):
    amount: Annotated[int, Field(ge=1, le=AMOUNT_MAX, description="minor units; default all")] | (
        None
    ) = None
    restock: Annotated[bool, Field(description="a full refund returns the stock; default true")] | (
        None
    ) = None


Sessions = sessionmaker[Session]


def list_orders(sessions: Sessions, query: OrderQuery) -> OrderList:
    where = order_search.OrderFilter(
        status=query.status,
        source=query.source,
        campaign=query.campaign,
        content=query.content,
        created_after=query.created_after,
        created_before=query.created_before,
    )
    with read_session(sessions) as session:
        rows = order_search.orders_after(session, query.cursor, query.limit + 1, where)
        shown, cursor = page(rows, query.limit, lambda o: o.id)
        return OrderList(data=[Order.of(o) for o in shown], next_cursor=cursor)


def get_order(sessions: Sessions, number: str) -> Order:
    with read_session(sessions) as session:
        return Order.of(order_search.order_by_number(session, number))


def refund(sessions: Sessions, payments: PaymentProvider, number: str, body: RefundInput) -> Order:
    """Refund all (no ``amount``) or part of a paid order; a full refund restocks unless
    ``restock`` is false. Raises RefundRefused (a conflict) when the order cannot be."""
    with read_session(sessions) as session:
        order_id = order_search.order_by_number(session, number).id
    restock = True if body.restock is None else body.restock
    return Order.of(refund_order(sessions, payments, order_id, amount=body.amount, restock=restock))


def fulfil(sessions: Sessions, number: str) -> Order:
    """Mark a paid order fulfilled; idempotent (``order.fulfilled`` is sent once)."""
    with read_session(sessions) as session:
        order_search.order_by_number(session, number)
    return Order.of(fulfill_order(sessions, number))
