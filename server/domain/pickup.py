"""Pick up in store: which stores can hand over a cart, when, and the store a checkout
chose (docs/stores.md, "Pick up in store").

:func:`pickup_locations` answers the list the checkout page and
``GET /api/v1/products/{sku}/pickup-locations`` show: every active location offering pickup,
in ONE query (locations joined to the cart's stock levels), stores that have every line in
stock first (repeated lines of a product summed), then by distance from the shopper when
they shared where they are, otherwise by city and name. A store is ``in_stock`` only when
each product's ``on_hand - reserved`` there covers the summed quantity; the placing
transaction checks again with the rows locked (``routing.reserve(..., at=)``).

:func:`ready_at` is when an order placed now can be collected: ``pickup_ready_minutes`` of
opening time from now, in the store's time zone (a store with no opening hours given is
counted as always open).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, bindparam, select
from sqlalchemy.orm import Session

from buybutton_server.db.models import Location
from buybutton_server.domain.checkout_model import Address, PickupPoint
from buybutton_server.domain.inventory import LEVELS, LOCATIONS
from buybutton_server.errors import InvalidInput, NotFound

# The codes of the refusals a shopper can fix by choosing another store (or delivery).
PICKUP_REFUSALS = frozenset(
    ("unknown_store", "store_closed", "no_pickup_here", "no_reservations_here", "store_required")
)
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SEARCH_DAYS = 14
_EARTH_KM = 6371.0088

_S, _L = LEVELS.c, LOCATIONS.c
# One query: the locations offering pickup (ix_locations_active_pickup) and, beside each,
# its levels of the cart's products (the stock_levels primary key), NULL when it has none.
_PICKUP_LIST = (
    select(
        _L.id,
        _L.code,
        _L.name,
        _L.city,
        _L.country,
        _L.region,
        _L.postal_code,
        _L.line1,
        _L.lat_e6,
        _L.lng_e6,
        _L.time_zone,
        _L.opening_hours,
        _L.pickup_ready_minutes,
        _L.pickup_instructions,
        _L.reservations_enabled,
        _L.reservation_hold_minutes,
        _S.product_id,
        _S.on_hand - _S.reserved,
    )
    .outerjoin(
        LEVELS,
        and_(
            _S.location_id == _L.id,
            _S.product_id.in_(bindparam("products", expanding=True)),
        ),
    )
    .where(_L.active.is_(True), _L.pickup_enabled.is_(True))
)


@dataclass(frozen=True, slots=True)
class PickupStore:
    """One store in the pickup list, for the wanted cart."""

    location_id: int
    code: str
    name: str
    city: str
    country: str
    region: str
    postal_code: str
    line1: str
    lat: float | None
    lng: float | None
    instructions: str
    in_stock: bool
    # The fewest units of a wanted product it has, per unit asked (0 when one is missing).
    available: int
    distance_km: float | None
    ready_at: datetime
    ready_text: str
    reservations: bool
    hold_minutes: int


def distance_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_KM * math.asin(min(1.0, math.sqrt(a)))


def check_point(lat: object, lng: object) -> tuple[float, float] | None:
    """The shopper's position from a query or form (both or neither); InvalidInput when
    it is not a pair of degrees."""
    if lat in (None, "") and lng in (None, ""):
        return None
    try:
        point = float(str(lat)), float(str(lng))
    except ValueError:
        raise InvalidInput("lat and lng must be numbers of degrees, given together.") from None
    if not (-90 <= point[0] <= 90 and -180 <= point[1] <= 180) or not all(
        math.isfinite(v) for v in point
    ):
        raise InvalidInput("lat must be -90 to 90 and lng -180 to 180 degrees.")
    return point


def summed(wanted: Iterable[tuple[int, int]]) -> dict[int, int]:
    """Repeated lines of one product, summed: ``{product_id: quantity}``."""
    total: dict[int, int] = {}
    for product_id, quantity in wanted:
        total[product_id] = total.get(product_id, 0) + quantity
    return total


def _intervals(hours: str, day: datetime) -> list[tuple[datetime, datetime]]:
    """The opening intervals of ``day`` (a local midnight) as local datetimes."""
    opening: dict[str, list[list[str]]] = json.loads(hours or "{}")
    spans = []
    for start, end in opening.get(DAYS[day.weekday()], []):
        sh, sm = (int(part) for part in start.split(":"))
        eh, em = (int(part) for part in end.split(":"))
        spans.append((day + timedelta(hours=sh, minutes=sm), day + timedelta(hours=eh, minutes=em)))
    return spans


def ready_at(hours: str, time_zone: str, ready_minutes: int, now: datetime) -> datetime:
    """When an order placed at ``now`` (aware) is ready: ``ready_minutes`` of opening time
    later, in the store's time zone. Always-open when no opening hours are given; a store
    open on no day within two weeks answers ``now + ready_minutes``."""
    if not json.loads(hours or "{}"):
        return now + timedelta(minutes=ready_minutes)
    zone = ZoneInfo(time_zone)
    local = now.astimezone(zone).replace(tzinfo=None)
    left = timedelta(minutes=ready_minutes)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    for offset in range(_SEARCH_DAYS):
        day = midnight + timedelta(days=offset)
        for start, end in _intervals(hours, day):
            start = max(start, local)
            if end <= start:
                continue
            if start + left <= end:
                return (start + left).replace(tzinfo=zone).astimezone(UTC)
            left -= end - start
    return now + timedelta(minutes=ready_minutes)


def ready_text(ready: datetime, now: datetime, time_zone: str) -> str:
    """ "ready in 2 h", "ready today at 15:30", "ready tomorrow at 10:00", "ready on Monday at
    10:00": in the store's local time."""
    wait = ready - now
    if wait <= timedelta(minutes=1):
        return "ready now"
    zone = ZoneInfo(time_zone)
    local, today = ready.astimezone(zone), now.astimezone(zone).date()
    if wait <= timedelta(hours=4):
        minutes = math.ceil(wait.total_seconds() / 60)
        if minutes < 60:
            return f"ready in {minutes} min"
        hours, rest = divmod(minutes, 60)
        return f"ready in {hours} h" if rest == 0 else f"ready in {hours} h {rest} min"
    at = local.strftime("%H:%M")
    if local.date() == today:
        return f"ready today at {at}"
    if (local.date() - today).days == 1:
        return f"ready tomorrow at {at}"
    return f"ready on {local.strftime('%A')} at {at}"


def pickup_locations(
    session: Session,
    wanted: Sequence[tuple[int, int]],
    *,
    near: tuple[float, float] | None = None,
    now: datetime,
    limit: int | None = None,
) -> list[PickupStore]:
    """The pickup list for ``wanted`` (``(product_id, quantity)`` lines), sorted: in stock
    first, then nearest (when ``near``; stores without coordinates after those with), else
    by city and name; the first ``limit`` (None: all). One query, whatever the number of
    stores; the ready time is worked out only for the stores answered."""
    need = summed(wanted)
    rows = session.connection().execute(_PICKUP_LIST, {"products": sorted(need)})
    stores: dict[int, tuple[tuple[Any, ...], dict[int, int]]] = {}
    for row in rows:
        _, have = stores.setdefault(row[0], (tuple(row), {}))
        if row[16] is not None:
            have[int(row[16])] = int(row[17])
    ranked = []
    for r, have in stores.values():  # each row: the fields as selected, by position
        in_stock = bool(need) and all(have.get(p, 0) >= q for p, q in need.items())
        away = None
        if near is not None and r[8] is not None and r[9] is not None:
            away = distance_km(near[0], near[1], r[8] / 1e6, r[9] / 1e6)
        far = away if away is not None else math.inf
        key = (not in_stock, far if near else 0.0, r[3].casefold(), r[2].casefold(), r[1])
        ranked.append((key, r, have, in_stock, away))
    ranked.sort(key=lambda entry: entry[0])
    ready_of: dict[tuple[str, str, int], tuple[datetime, str]] = {}
    found = []
    for _, r, have, in_stock, away in ranked[:limit]:
        when = (r[11], r[10], r[12])  # stores with the same hours share the work
        if when not in ready_of:
            ready = ready_at(r[11], r[10], r[12], now)
            ready_of[when] = (ready, ready_text(ready, now, r[10]))
        units = min(have.get(pid, 0) // qty for pid, qty in need.items()) if need else 0
        found.append(
            PickupStore(
                location_id=r[0],
                code=r[1],
                name=r[2],
                city=r[3],
                country=r[4],
                region=r[5],
                postal_code=r[6],
                line1=r[7],
                lat=r[8] / 1e6 if r[8] is not None else None,
                lng=r[9] / 1e6 if r[9] is not None else None,
                instructions=r[13],
                in_stock=in_stock,
                available=max(units, 0),
                distance_km=round(away, 1) if away is not None else None,
                ready_at=ready_of[when][0],
                ready_text=ready_of[when][1],
                reservations=bool(r[14]),
                hold_minutes=int(r[15]),
            )
        )
    return found


def pickup_point(session: Session, code: str, *, reserve: bool, now: datetime) -> PickupPoint:
    """The store a checkout chose, checked: it exists, is open (active), offers pickup and,
    for a reservation, takes reservations. Raises ``NotFound`` / ``InvalidInput`` with what
    the shopper reads; nothing is written."""
    location = session.scalar(select(Location).where(Location.code == code[:32]))
    if location is None:
        raise NotFound(
            "That store is not one of ours. Please choose a store from the list.",
            code="unknown_store",
        )
    if not location.active:
        raise InvalidInput(
            f"{location.name} is closed for now. Please choose another store or delivery.",
            code="store_closed",
        )
    if not location.pickup_enabled:
        raise InvalidInput(
            f"{location.name} does not offer pickup. Please choose another store or delivery.",
            code="no_pickup_here",
        )
    if reserve and not location.reservations_enabled:
        raise InvalidInput(
            f"{location.name} does not take reservations; you can pay now and pick up there.",
            code="no_reservations_here",
        )
    ready = ready_at(location.opening_hours, location.time_zone, location.pickup_ready_minutes, now)
    return PickupPoint(
        location_id=location.id,
        code=location.code,
        name=location.name,
        address=Address(
            country=location.country or "",
            region=location.region,
            city=location.city,
            postal_code=location.postal_code,
            line1=location.line1,
            name=location.name,
        ),
        reserve=reserve,
        ready_at=ready,
        ready_text=ready_text(ready, now, location.time_zone),
        hold_minutes=location.reservation_hold_minutes,
    )
