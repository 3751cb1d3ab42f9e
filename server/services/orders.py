"""Orders through the API: list (filtered, paged, newest first), read, refund, fulfil.

An order's JSON is defined once, by :func:`buybutton_server.domain.outbox.order_json` (the
webhooks send the same); :class:`Order` declares it for the document and checks every answer
against it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import Field
from sqlalchemy.orm import Session, sessionmaker

from buybutton.money import format_amount
from buybutton_server.db import read_session
from buybutton_server.domain import order_search
from buybutton_server.domain.catalog import AMOUNT_MAX
from buybutton_server.domain.fulfilment import (
    CARRIER_MAX,
    TRACKING_NUMBER_MAX,
    TRACKING_URL_MAX,
    tracking,
)
from buybutton_server.domain.orders import fulfill_order, refund_order
from buybutton_server.domain.outbox import order_json
from buybutton_server.domain.shipments import MAX_PARCEL_LINES, ship_lines
from buybutton_server.domain.vocabulary import OrderStatus
from buybutton_server.errors import InvalidInput
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
    unit_amount: Annotated[int, Field(description="price of one, minor units")]
    subtotal_amount: Annotated[int, Field(description="unit_amount * quantity")]
    discount_amount: Annotated[int, Field(description="taken off this line by codes")]
    tax_amount: Annotated[
        int, Field(description="tax on this line: contained in it when the order's tax_included")
    ]
    tax_rate_bp: Annotated[int, Field(description="the rate applied, basis points: 1900 = 19%")]
    total_amount: Annotated[
        int, Field(description="subtotal_amount - discount_amount (+ tax_amount when added)")
    ]
    shipped_quantity: Annotated[int, Field(description="units sent in shipments so far")] = 0


class Shipping(Answer):
    line1: str
    line2: str | None
    city: str | None
    postal_code: str | None
    region: Annotated[str | None, Field(description="state or province code, e.g. CA")]
    country: str | None


class FirstTouch(Answer):
    source: str | None
    campaign: str | None
    content: str | None
    at: Timestamp


class Attribution(Answer):
    source: str | None
    campaign: str | None
    content: str | None
    first_touch: Annotated[
        FirstTouch | None,
        Field(description="the first link this browser came through (attribution window)"),
    ]


class Payment(Answer):
    provider: str
    method: str | None
    reference: str | None


class Tracking(Answer):
    carrier: str | None
    number: str | None
    url: str | None


class Place(Answer):
    code: str
    name: str


class Fulfilment(Answer):
    method: Annotated[
        str, Field(description="shipping, pickup (paid online) or reserve (paid in store)")
    ]
    location: Annotated[Place | None, Field(description="the pickup store; null for shipping")]
    ready_estimate: Annotated[
        Timestamp | None,
        Field(description="when checkout said it would be ready (not the store's confirmation)"),
    ]


class Order(Answer):
    number: str
    status: OrderStatus
    subtotal: Annotated[Money, Field(description="the lines at their prices")]
    discount: Annotated[Money, Field(description="taken off by discount codes")]
    shipping_cost: Annotated[Money, Field(description="shipping charged")]
    tax: Annotated[Money, Field(description="included in the total, or added to it")]
    shipping_tax: Annotated[Money, Field(description="the part of tax charged on shipping")]
    tax_included: Annotated[
        bool, Field(description="true: prices contain the tax; false: it was added")
    ]
    total: Annotated[
        Money, Field(description="subtotal - discount + shipping_cost (+ tax unless included)")
    ]
    refunded: Money
    shipping_option: Annotated[str | None, Field(description="the shipping option's id")]
    shipping_title: Annotated[str | None, Field(description="its name, as the shopper saw it")]
    discount_codes: Annotated[list[str], Field(description="codes applied, upper case")]
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
    fulfilment: Fulfilment
    tracking: Tracking | None

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


class ParcelLine(Input):
    sku: Annotated[str, Field(min_length=1, max_length=64)]
    quantity: Annotated[int, Field(ge=1, le=999)]


class FulfilInput(Input):
    carrier: (
        Annotated[
            str,
            Field(
                max_length=CARRIER_MAX,
                description="e.g. DHL, UPS, USPS, FedEx, Royal Mail, Colissimo, PostNL, or any",
            ),
        ]
        | None
    ) = None
    tracking_number: Annotated[str, Field(max_length=TRACKING_NUMBER_MAX)] | None = None
    lines: (
        Annotated[
            list[ParcelLine],
            Field(
                min_length=1,
                max_length=MAX_PARCEL_LINES,
                description="a partial shipment: these units only (left out: everything left)",
            ),
        ]
        | None
    ) = None
    tracking_url: (
        Annotated[
            str,
            Field(
                max_length=TRACKING_URL_MAX,
                description="https only; built for a known carrier when left out",
            ),
        ]
        | None
    ) = None


Sessions = sessionmaker[Session]
_ONCE = re.compile(r"[A-Za-z0-9_-]{16,64}")


def list_orders(sessions: Sessions, query: OrderQuery) -> OrderList:
    """A page of orders, newest first; ``next_cursor`` continues with older ones."""
    where = order_search.OrderFilter(
        status=query.status,
        source=query.source,
        campaign=query.campaign,
        content=query.content,
        created_after=query.created_after,
        created_before=query.created_before,
    )
    with read_session(sessions) as session:
        rows = order_search.orders_before(session, query.cursor, query.limit + 1, where)
        shown, cursor = page(rows, query.limit, lambda o: o.id)
        return OrderList(data=[Order.of(o) for o in shown], next_cursor=cursor)


def get_order(sessions: Sessions, number: str) -> Order:
    with read_session(sessions) as session:
        return Order.of(order_search.order_by_number(session, number))


def refund(
    sessions: Sessions,
    payments: PaymentProvider,
    number: str,
    body: RefundInput,
    *,
    reason: str = "requested_by_merchant",
    once: str | None = None,
) -> Order:
    """Refund all (no ``amount``) or part of a paid order; a full refund restocks unless
    ``restock`` is false. Raises RefundRefused (a conflict) when the order cannot be.

    ``once`` (a token the caller made for this one refund, e.g. in a form) makes a repeat of
    the same call answer with the order instead of refunding again."""
    with read_session(sessions) as session:
        found = order_search.order_by_number(session, number)
        order_id, public_id = found.id, found.public_id
    restock = True if body.restock is None else body.restock
    if once is not None and not _ONCE.fullmatch(once):
        raise InvalidInput("This form is out of date: reload the page and try again.")
    key = f"{public_id}-once-{once}" if once else None
    refunded = refund_order(
        sessions, payments, order_id, amount=body.amount, restock=restock, reason=reason, key=key
    )
    return Order.of(refunded)


def fulfil(sessions: Sessions, number: str, body: FulfilInput | None = None) -> Order:
    """Mark a paid order fulfilled, with tracking if given (a known carrier's link is built
    when left out). Idempotent: ``order.fulfilled`` is sent once, and again only when the
    tracking changes."""
    given = tracking(body.carrier, body.tracking_number, body.tracking_url) if body else None
    with read_session(sessions) as session:
        order_search.order_by_number(session, number)
    if body is not None and body.lines:
        parcel = [(line.sku, line.quantity) for line in body.lines]
        return Order.of(ship_lines(sessions, number, parcel, given))
    return Order.of(fulfill_order(sessions, number, given))


class PaidOrderWatch:
    """``buybutton demo``'s ticker: each call of :meth:`news` gives one line per order paid
    since the last call (from the watch's start), as ``order BB-… paid: $24.00``.

    Number and total only: no email, name or address reaches the terminal (or a log)."""

    def __init__(self, sessions: Sessions, start: datetime) -> None:
        self.sessions = sessions
        self.since = start
        self.told: set[str] = set()  # numbers already told, paid at ``since``

    def news(self) -> list[str]:
        with read_session(self.sessions) as session:
            paid = order_search.paid_since(session, self.since)
            found = [(o.number, o.paid_at, o.total_amount, o.currency) for o in paid]
        lines = []
        for number, paid_at, total, currency in found:
            if number in self.told or paid_at is None:
                continue
            if paid_at.tzinfo is None:  # SQLite gives UTC back without its zone
                paid_at = paid_at.replace(tzinfo=UTC)
            if paid_at > self.since:
                self.since, self.told = paid_at, set()
            self.told.add(number)
            lines.append(f"order {number} paid: {format_amount(total, currency)}")
        return lines
