"""Writing events: an event and one delivery per subscribed endpoint, in the caller's
transaction, so a change and its announcement commit together or not at all."""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Insert,
    Integer,
    String,
    Table,
    bindparam,
    insert,
    literal_column,
    or_,
    select,
)
from sqlalchemy.orm import Session, object_session

from buybutton_server.db.models import (
    Location,
    Order,
    OrderLine,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    utcnow,
)
from buybutton_server.domain.vocabulary import DeliveryStatus, money_json
from buybutton_server.errors import InternalError

# In an order's order of life. An endpoint subscribes to some of them, or to ``*``: every
# type, including types added later (an explicit list never grows by itself).
EVENT_TYPES = (
    "order.created",
    "order.payment_failed",
    "order.paid",
    "order.canceled",
    "order.refunded",
    "order.fulfilled",
    "order.partially_fulfilled",
    "order.ready_for_pickup",
    "order.collected",
    "reservation.expired",
    "return.requested",
    "return.approved",
    "return.received",
    "return.rejected",
    "stock.low",
    "payee.updated",
    "transfer.created",
    "transfer.reversed",
)


def iso_time(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z; SQLite hands back naive datetimes, which are UTC here."""
    if moment is None:
        return None
    return moment.isoformat().replace("+00:00", "Z") if moment.tzinfo else moment.isoformat() + "Z"


def fulfilment_json(order: Any, session: Session | None = None) -> dict[str, Any]:
    """How the order reaches the shopper: ``method`` (``shipping``, ``pickup``, ``reserve``),
    the store (``code``, ``name``; null for shipping) and ``ready_estimate`` (the estimate the
    shopper was shown at checkout, not the store's confirmation). The store is read through
    ``session`` (an ORM order's own session when not given)."""
    place = None
    location_id = getattr(order, "pickup_location_id", None)
    if location_id is not None:
        if session is None and isinstance(order, Order):
            session = object_session(order)
        found = session.get(Location, location_id) if session is not None else None
        if found is not None:
            place = {"code": found.code, "name": found.name}
    return {
        "method": getattr(order, "fulfilment_method", None) or "shipping",
        "location": place,
        "ready_estimate": iso_time(getattr(order, "pickup_ready_at", None)),
    }


def order_json(
    order: Any, lines: Sequence[Any] | None = None, *, session: Session | None = None
) -> dict[str, Any]:
    """An order (ORM object or Core row) as the API and the webhooks show it: the one
    definition of that shape (the API's ``Order`` type is checked against it). A Core row
    needs ``session`` to name its pickup store (:func:`fulfilment_json`).

    The total's parts are as priced when the order was placed: ``subtotal - discount +
    shipping_cost (+ tax unless tax_included) = total``; each line's parts sum to the
    order's, and ``shipping_tax`` is the part of ``tax`` charged on shipping."""
    lines = order.lines if lines is None else lines
    currency = order.currency
    line_tax = sum(line.tax_amount for line in lines)
    return {
        "number": order.number,
        "status": order.status,
        "subtotal": money_json(order.subtotal_amount, currency),
        "discount": money_json(order.discount_amount, currency),
        "shipping_cost": money_json(order.shipping_amount, currency),
        "tax": money_json(order.tax_amount, currency),
        "shipping_tax": money_json(max(order.tax_amount - line_tax, 0), currency),
        "tax_included": bool(order.tax_included),
        "total": money_json(order.total_amount, currency),
        "refunded": money_json(order.refunded_amount, currency),
        "shipping_option": order.shipping_option,
        "shipping_title": order.shipping_title,
        "discount_codes": order.discount_codes.split() if order.discount_codes else [],
        "email": order.email,
        "name": order.name,
        "shipping": None
        if order.ship_line1 is None
        else {
            "line1": order.ship_line1,
            "line2": order.ship_line2,
            "city": order.ship_city,
            "postal_code": order.ship_postal_code,
            "region": order.ship_region,
            "country": order.ship_country,
        },
        "lines": [
            {
                "sku": line.sku,
                "title": line.title,
                "quantity": line.quantity,
                "unit_amount": line.unit_amount,
                "subtotal_amount": line.unit_amount * line.quantity,
                "discount_amount": line.discount_amount,
                "tax_amount": line.tax_amount,
                "tax_rate_bp": line.tax_rate_bp,
                "total_amount": line.total_amount,
                "shipped_quantity": line.shipped_quantity,
            }
            for line in lines
        ],
        "attribution": {
            "source": order.source,
            "campaign": order.campaign,
            "content": order.content,
            "first_touch": None
            if order.first_touch_at is None
            else {
                "source": order.first_source,
                "campaign": order.first_campaign,
                "content": order.first_content,
                "at": iso_time(order.first_touch_at),
            },
        },
        "payment": {
            "provider": order.payment_provider,
            "method": order.payment_method,
            "reference": order.payment_reference,
        },
        "attention": order.attention,
        "created_at": iso_time(order.created_at),
        "paid_at": iso_time(order.paid_at),
        "fulfilled_at": iso_time(order.fulfilled_at),
        "fulfilment": fulfilment_json(order, session),
        "tracking": None
        if order.carrier is None and order.tracking_number is None and order.tracking_url is None
        else {
            "carrier": order.carrier,
            "number": order.tracking_number,
            "url": order.tracking_url,
        },
    }


# Prebuilt Core statements: recording runs inside every payment's settlement.
# ``metadata.tables`` gives the tables typed as ``Table`` (``__table__`` is a FromClause).
_EVENTS: Table = WebhookEvent.metadata.tables["webhook_events"]
_DELIVERIES: Table = WebhookDelivery.metadata.tables["webhook_deliveries"]
_ENDPOINTS: Table = WebhookEndpoint.metadata.tables["webhook_endpoints"]
_ORDERS: Table = Order.metadata.tables["orders"]
_LINES: Table = OrderLine.metadata.tables["order_lines"]
_INSERT_EVENT = insert(_EVENTS).returning(_EVENTS.c.id)
# ``events`` is a comma-separated list (or "*"): padded with commas, a subscription to the
# type is the text ",type," inside it, the same test as splitting it in Python.
_PADDED: ColumnElement[str] = (
    literal_column("','", String) + _ENDPOINTS.c.events + literal_column("','", String)
)


def _deliveries_for(event_type: str) -> Insert:
    """One delivery per enabled endpoint subscribed to ``event_type`` (or to "*"), in one
    ``INSERT … SELECT``: no read of the endpoints before the write."""
    subscribed = select(
        _ENDPOINTS.c.id,
        bindparam("event_id", type_=Integer),
        literal_column(f"'{DeliveryStatus.PENDING.value}'"),
        literal_column("0"),
        bindparam("now", type_=DateTime(timezone=True)),
    ).where(
        _ENDPOINTS.c.enabled.is_(True),
        or_(_PADDED.contains(",*,"), _PADDED.contains(f",{event_type},", autoescape=True)),
    )
    columns = ["endpoint_id", "event_id", "status", "attempts", "next_attempt_at"]
    return insert(_DELIVERIES).from_select(columns, subscribed)


_DELIVER = {event_type: _deliveries_for(event_type) for event_type in EVENT_TYPES}
_ORDER_ROW = select(_ORDERS).where(_ORDERS.c.id == bindparam("order_id"))
_LINE_ROWS = select(_LINES).where(_LINES.c.order_id == bindparam("order_id")).order_by(_LINES.c.id)


def order_line_rows(session: Session, order_id: int) -> list[Any]:
    """Every column of an order's lines (Core rows), in line order."""
    return list(session.connection().execute(_LINE_ROWS, {"order_id": order_id}).all())


def record(session: Session, event_type: str, data: dict[str, Any]) -> str:
    """Write an event and its deliveries in the caller's transaction. Returns the
    webhook-id. ``event_type`` must be one of :data:`EVENT_TYPES`."""
    if event_type not in EVENT_TYPES:
        raise InternalError(f"unknown webhook event type {event_type!r}")
    now = utcnow()
    public_id = "msg_" + secrets.token_urlsafe(18)
    payload = json.dumps(
        {"type": event_type, "timestamp": iso_time(now), "data": data}, separators=(",", ":")
    )
    connection = session.connection()
    event_id = connection.execute(
        _INSERT_EVENT,
        {"public_id": public_id, "type": event_type, "payload": payload, "created_at": now},
    ).scalar_one()
    connection.execute(_DELIVER[event_type], {"event_id": event_id, "now": now})
    return public_id


class OrderRow:
    """An order row (Core) with its lines, read the cheap way."""

    def __init__(self, row: Any, lines: Sequence[Any]) -> None:
        self._row, self.lines = row, lines

    def __getattr__(self, name: str) -> Any:
        return getattr(self._row, name)


def record_order_event(
    session: Session,
    event_type: str,
    order_id: int,
    extra: Mapping[str, Any] | None = None,
    *,
    lines: Sequence[Any] | None = None,
    row: Any | None = None,
) -> OrderRow:
    """Announce an order's change; returns the order row (Core) with ``lines`` read too.
    ``extra`` adds fields beside ``order`` (``reason``, ``failure``). Rows the caller has
    already, each one statement fewer: ``lines``, the rows of :func:`order_line_rows`, and
    ``row``, every column of the order as it is now in this transaction (what an
    ``INSERT``/``UPDATE … RETURNING`` of all its columns answered)."""
    connection = session.connection()
    order = row if row is not None else connection.execute(_ORDER_ROW, {"order_id": order_id}).one()
    if lines is None:
        lines = order_line_rows(session, order_id)
    shown = order_json(order, lines, session=session)
    record(session, event_type, {"order": shown, **(extra or {})})
    return OrderRow(order, lines)
