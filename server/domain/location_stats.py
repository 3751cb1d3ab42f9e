"""Pickups, reservations and returns per location (issue 15, item 7): which store's
catchment sells what. One report over orders placed in a time range:

- ``pickups``: orders to collect at the store (``fulfilment_method = 'pickup'``) that were
  paid (``paid`` or ``refunded`` since);
- ``reservations``: reservations placed there; ``reservations_paid`` of those paid at the
  counter; ``reservations_expired`` of those whose hold ran out;
- ``collected``: pickups handed over at the counter in the range (``order_pickups``);
- ``returns``: returns received at the store's counter in the range;
- ``revenue``: the totals of the paid pickups and reservations, per currency.

Three grouped reads, whatever the number of orders; every active store is listed, with
zeros when nothing happened there.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from buybutton_server.db.models import Location, Order, OrderPickup, Return

_PAID = ("paid", "refunded")


@dataclass(slots=True)
class LocationRow:
    code: str
    name: str
    pickups: int = 0
    reservations: int = 0
    reservations_paid: int = 0
    reservations_expired: int = 0
    collected: int = 0
    returns: int = 0
    revenue: dict[str, int] = field(default_factory=dict)


def per_location(session: Session, since: datetime, until: datetime) -> list[LocationRow]:
    """The report for orders placed in ``since``..``until`` (collections and returns in
    that range), one row per location that is an active store or saw any of it, by code."""
    places = session.execute(
        select(Location.id, Location.code, Location.name, Location.kind, Location.active)
    ).all()
    rows = {pid: LocationRow(code, name) for pid, code, name, _, _ in places}
    seen = {pid for pid, _, _, kind, active in places if active and kind == "store"}
    orders = session.execute(
        select(
            Order.pickup_location_id,
            Order.fulfilment_method,
            Order.status,
            Order.failure_code,
            Order.currency,
            func.count(),
            func.coalesce(func.sum(Order.total_amount), 0),
        )
        .where(
            Order.pickup_location_id.is_not(None),
            Order.created_at >= since,
            Order.created_at < until,
        )
        .group_by(
            Order.pickup_location_id,
            Order.fulfilment_method,
            Order.status,
            Order.failure_code,
            Order.currency,
        )
    )
    revenue: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for nullable_pid, method, status, failure, currency, count, total in orders:
        pid = cast(int, nullable_pid)  # the WHERE leaves out orders without a store
        row, paid = rows[pid], status in _PAID
        seen.add(pid)
        if method == "pickup" and paid:
            row.pickups += count
        if method == "reserve":
            row.reservations += count
            row.reservations_paid += count if paid else 0
            row.reservations_expired += count if failure == "reservation_expired" else 0
        if paid:
            revenue[pid][currency] += int(total)
    collected = session.execute(
        select(OrderPickup.location_id, func.count())
        .where(OrderPickup.collected_at >= since, OrderPickup.collected_at < until)
        .group_by(OrderPickup.location_id)
    )
    for pid, count in collected:
        rows[pid].collected = count
        seen.add(pid)
    returns = session.execute(
        select(Return.location_id, func.count())
        .where(
            Return.location_id.is_not(None),
            Return.received_at >= since,
            Return.received_at < until,
        )
        .group_by(Return.location_id)
    )
    for nullable_pid, count in returns:
        pid = cast(int, nullable_pid)  # the WHERE leaves out returns made online
        rows[pid].returns = count
        seen.add(pid)
    for pid, amounts in revenue.items():
        rows[pid].revenue = dict(sorted(amounts.items()))
    return sorted((rows[pid] for pid in seen), key=lambda row: row.code)
