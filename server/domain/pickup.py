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

import functools
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Float, Integer, Select, and_, bindparam, case, func, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from buybutton_server.db.models import DEFAULT_LOCATION, Location
from buybutton_server.domain import locales
from buybutton_server.domain.address_rules import country_name
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
_E6 = 1_000_000
# The location columns a list row carries, by position (see :func:`_row_store`).
_COLUMNS = (
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
)
# Rows read beyond ``limit`` when ordering by distance: the database orders by a planar
# approximation, Python by the exact great-circle distance of the rows read.
_SPARE = 10


def _list_params(need: dict[int, int], near: tuple[float, float] | None) -> dict[str, Any]:
    """The values :func:`_list_query` binds (its statement depends only on the shape)."""
    values: dict[str, Any] = {}
    for n, (pid, qty) in enumerate(sorted(need.items())):
        values[f"p{n}"], values[f"q{n}"] = pid, qty
    if near is not None:
        values["lat0"], values["lng0"] = near[0] * _E6, near[1] * _E6
        values["coslat"] = math.cos(math.radians(near[0]))
    return values


@functools.lru_cache(maxsize=64)
def _list_query(products: int, near: bool, limited: bool) -> Select[Any]:
    """ONE query: the active locations offering pickup (``ix_locations_active_pickup``)
    outer-joined to their levels of the cart's ``products`` (the ``stock_levels`` primary
    key; ids ``p0…``, summed quantities ``q0…``), one row per location, ranked and cut in
    the database: in stock first (each product's ``on_hand - reserved`` covers its
    quantity), then, when ``near`` (``lat0``/``lng0`` in micro-degrees), nearest by the
    equirectangular approximation (``coslat`` = cos(lat0) is computed in Python: no SQL
    trigonometry, so SQLite and PostgreSQL alike), else by city and name; the first
    ``rows`` when ``limited``. Built once per shape (the cart size is capped)."""
    available = _S.on_hand - _S.reserved
    rank: ColumnElement[Any] = literal(1)
    units: ColumnElement[Any] = literal(0)
    ids = range(products)
    keys = [bindparam(f"p{n}", type_=Integer) for n in ids]
    if products:
        wanted = case(
            {keys[n]: bindparam(f"q{n}", type_=Integer) for n in ids},
            value=_S.product_id,
        )
        covered = func.count(case((available >= wanted, 1)))
        rank = case((covered == products, 0), else_=1)
        whole = func.count(_S.product_id) == products
        units = case((whole, func.min(available // wanted)), else_=0)
    columns = [_L.id, rank.label("rank"), units.label("units")]
    order: list[ColumnElement[Any]] = [columns[1]]
    if near:
        lat0, lng0 = bindparam("lat0", type_=Float), bindparam("lng0", type_=Float)
        coslat = bindparam("coslat", type_=Float)
        dlng = func.abs(_L.lng_e6 - lng0)
        dx = case((dlng > 180 * _E6, 360 * _E6 - dlng), else_=dlng) * coslat  # across 180°
        dy = _L.lat_e6 - lat0
        order += [case((_L.lat_e6.is_(None), 1), else_=0), dx * dx + dy * dy]
    order += [func.lower(_L.city), func.lower(_L.name), _L.code]
    ranked = (
        select(*columns)
        .outerjoin(
            LEVELS,
            and_(_S.location_id == _L.id, _S.product_id.in_(keys or [literal(-1)])),
        )
        .where(_L.active.is_(True), _L.pickup_enabled.is_(True))
        .group_by(_L.id)
        .order_by(*order)
    )
    if limited:
        ranked = ranked.limit(bindparam("rows", type_=Integer))
    # Only the rows kept carry the location's columns (a narrow sort, then a key look-up).
    best = ranked.subquery("best")
    return select(*_COLUMNS, best.c.rank, best.c.units).join(best, best.c.id == _L.id)


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
    stores, ranked and cut in the database (:func:`_list_query`); only the rows answered
    (and a few spare) come back, and get the exact distance and the ready time."""
    need = summed(wanted)
    rows = None if limit is None else limit + (_SPARE if near is not None else 0)
    ranked = []
    query = _list_query(len(need), near is not None, rows is not None)
    values = _list_params(need, near) | ({} if rows is None else {"rows": rows})
    for r in session.connection().execute(query, values):
        away = None
        if near is not None and r[8] is not None and r[9] is not None:
            away = distance_km(near[0], near[1], r[8] / _E6, r[9] / _E6)
        far = away if away is not None else math.inf
        key = (r[16], far if near else 0.0, r[3].casefold(), r[2].casefold(), r[1])
        ranked.append((key, r, away))
    ranked.sort(key=lambda entry: entry[0])
    ready_of: dict[tuple[str, str, int], tuple[datetime, str]] = {}
    found = []
    for _, r, away in ranked[:limit]:
        when = (r[11], r[10], r[12])  # stores with the same hours share the work
        if when not in ready_of:
            ready = ready_at(r[11], r[10], r[12], now)
            ready_of[when] = (ready, ready_text(ready, now, r[10]))
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
                lat=r[8] / _E6 if r[8] is not None else None,
                lng=r[9] / _E6 if r[9] is not None else None,
                instructions=r[13],
                in_stock=r[16] == 0,
                available=max(int(r[17] or 0), 0),
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


# -- times as a store reads them, and the pickup on the shopper's order page ---------------


def zone_of(session: Session, store_zone: str | None) -> str:
    """The time zone a store's times are shown in: its own, else the shop's (the time zone
    of MAIN, the shop's default location), else ``UTC``. ``UTC`` (the column's default) or
    an empty value count as not given; so does a name this machine does not know."""

    def given(name: str | None) -> str | None:
        if not name or name == "UTC":
            return None
        try:
            ZoneInfo(name)
        except (ValueError, KeyError):  # ZoneInfoNotFoundError is a KeyError
            return None
        return name

    found = given(store_zone)
    if found is None:
        main = select(Location.time_zone).where(Location.code == DEFAULT_LOCATION)
        found = given(session.scalar(main))
    return found or "UTC"


def local_time(moment: datetime, zone: str) -> str:
    """``2026-11-26 10:14`` in ``zone``; ``2026-11-26 10:14 UTC`` when that is UTC (a naive
    time from SQLite is UTC)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    shown = f"{aware.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M}"
    return f"{shown} UTC" if zone == "UTC" else shown


def held_text(until: datetime, zone: str, lang: locales.Lang | None = None) -> str:
    """A reservation's deadline as the shopper reads it (store time): in ``lang`` when given
    (an email), else in English, which the page translates (``_()``, locale_words)."""
    text = f"Held for you until {local_time(until, zone)}"
    return locales.localize(text, lang) if lang is not None else text


@dataclass(frozen=True, slots=True)
class OrderPickupView:
    """Where and when the shopper collects an order: the store's name and address, the
    estimate while it is still ahead (the counter's "ready" email is the confirmation),
    and for a reservation how long the store holds it."""

    reserve: bool
    name: str
    address: tuple[str, ...]
    instructions: str
    ready_text: str  # "ready today at 15:30"; "" once the estimate has passed
    held_until: str  # a reservation's deadline in the store's time, else ""


def order_pickup(session: Session, order: Any, now: datetime) -> OrderPickupView | None:
    """The pickup part of ``order`` (an ``Order``), or None for a delivery."""
    if order.fulfilment_method == "shipping" or order.pickup_location_id is None:
        return None
    store = session.get(Location, order.pickup_location_id)
    if store is None:
        return None
    zone = zone_of(session, store.time_zone)
    city = " ".join(filter(None, (store.postal_code, store.city)))
    country = country_name(store.country) if store.country else ""
    ready, text = order.pickup_ready_at, ""
    if ready is not None:
        ready = ready if ready.tzinfo else ready.replace(tzinfo=UTC)
        text = ready_text(ready, now, zone) if ready > now else ""
    reserve = order.fulfilment_method == "reserve" and order.status == "reserved"
    held = order.reserved_until if reserve else None
    return OrderPickupView(
        reserve=order.fulfilment_method == "reserve",
        name=store.name,
        address=tuple(p for p in (store.line1, city, store.region, country) if p),
        instructions=store.pickup_instructions or "",
        ready_text=text,
        held_until=held_text(held, zone) if held is not None else "",
    )
