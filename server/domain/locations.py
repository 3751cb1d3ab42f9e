"""Locations (warehouses and stores): the rules a location keeps, look-ups, changes, and the
stock each one holds (docs/stores.md).

The ``check_*`` rules are the one definition of a valid location: the API's request types,
the command line and the CSV import apply them, so all refuse the same things with the same
words. Each raises :class:`InvalidInput`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from buybutton_server.db.models import (
    DEFAULT_LOCATION,
    LOCATION_KINDS,
    Location,
    Product,
    StockLevel,
)
from buybutton_server.domain import inventory
from buybutton_server.domain.address_rules import is_country
from buybutton_server.errors import Conflict, InvalidInput, NotFound, OutOfStock

CODE_PATTERN = re.compile(r"[A-Z0-9_-]{1,32}")
NAME_MAX, INSTRUCTIONS_MAX, LINE_MAX = 200, 1000, 200
MINUTES_MAX = 60 * 24 * 30  # a month
PRIORITY_MAX = 1_000_000
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
INTERVALS_MAX = 4  # per day
_HOUR = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]|24:00")
_TEXT_LIMITS = {"region": 64, "city": 100, "postal_code": 32, "line1": LINE_MAX}
# What may change after creation (the code is the location's name in URLs and files).
FIELDS = (
    "name",
    "kind",
    "country",
    "region",
    "city",
    "postal_code",
    "line1",
    "lat_e6",
    "lng_e6",
    "time_zone",
    "opening_hours",
    "pickup_enabled",
    "pickup_ready_minutes",
    "pickup_instructions",
    "ships",
    "accepts_returns",
    "reservation_hold_minutes",
    "reservations_enabled",
    "priority",
    "active",
)

# -- the rules ----------------------------------------------------------------------------


def check_code(code: str) -> str:
    if not CODE_PATTERN.fullmatch(code):
        raise InvalidInput(
            f"code {code[:40]!r} must be 1-32 capital letters, digits, '_' or '-' (e.g. LIS-1)"
        )
    return code


def check_name(name: str) -> str:
    if not name.strip() or len(name) > NAME_MAX or "\x00" in name:
        raise InvalidInput(f"name is required, at most {NAME_MAX} characters")
    return name.strip()


def check_kind(kind: str) -> str:
    if kind not in LOCATION_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(LOCATION_KINDS)}, not {kind[:20]!r}")
    return kind


def check_country(code: str) -> str:
    """An ISO 3166 alpha-2 code (upper-cased), or empty."""
    if code and not is_country(code.upper()):
        raise InvalidInput(f"country {code[:10]!r} is not an ISO 3166 code such as PT or DE")
    return code.upper()


def check_text(name: str, value: str) -> str:
    limit = INSTRUCTIONS_MAX if name == "pickup_instructions" else _TEXT_LIMITS.get(name, NAME_MAX)
    if len(value) > limit or "\x00" in value:
        raise InvalidInput(f"{name} must be at most {limit} characters")
    return value.strip()


def micro_degrees(name: str, value: object, limit: int) -> int:
    """Degrees (a number or a decimal string such as "38.7223") as integer micro-degrees,
    within ±``limit`` degrees."""
    try:
        degrees = Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidInput(f"{name} must be a number of degrees, not {str(value)[:20]!r}") from None
    if not degrees.is_finite() or not -limit <= degrees <= limit:
        raise InvalidInput(f"{name} must be from -{limit} to {limit} degrees")
    return int((degrees * 1_000_000).to_integral_value())


def check_time_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"time_zone {name[:40]!r} is not an IANA time zone such as Europe/Lisbon"
        ) from None
    return name


def check_minutes(name: str, value: int, low: int = 0) -> int:
    if not low <= value <= MINUTES_MAX:
        raise InvalidInput(f"{name} must be a whole number of minutes from {low} to {MINUTES_MAX}")
    return value


def check_priority(value: int) -> int:
    if not 0 <= value <= PRIORITY_MAX:
        raise InvalidInput(f"priority must be a whole number from 0 to {PRIORITY_MAX}")
    return value


def _minutes(hour: str) -> int:
    return int(hour[:2]) * 60 + int(hour[3:])


def check_opening_hours(hours: Mapping[str, Any]) -> str:
    """``{"mon": [["09:00", "13:00"], ["14:00", "19:00"]], ...}`` (days left out are closed)
    as the JSON text stored: each interval opens before it closes, in order, never
    overlapping, at most INTERVALS_MAX a day."""
    if not isinstance(hours, Mapping):
        raise InvalidInput(
            'opening_hours must map days to intervals: {"mon": [["09:00", "18:00"]]}'
        )
    cleaned: dict[str, list[list[str]]] = {}
    for day, intervals in hours.items():
        if day not in DAYS:
            raise InvalidInput(f"opening_hours: {str(day)[:10]!r} is not one of {', '.join(DAYS)}")
        if not isinstance(intervals, list) or len(intervals) > INTERVALS_MAX:
            raise InvalidInput(f"opening_hours.{day}: a list of at most {INTERVALS_MAX} intervals")
        last = -1
        for interval in intervals:
            if (
                not isinstance(interval, list | tuple)
                or len(interval) != 2
                or not all(isinstance(h, str) and _HOUR.fullmatch(h) for h in interval)
            ):
                raise InvalidInput(f'opening_hours.{day}: each interval is ["HH:MM", "HH:MM"]')
            opens, closes = _minutes(interval[0]), _minutes(interval[1])
            if not last <= opens < closes:
                raise InvalidInput(
                    f"opening_hours.{day}: intervals open before they close, in order, "
                    "without overlapping"
                )
            last = closes
        cleaned[day] = [[str(h) for h in interval] for interval in intervals]
    return json.dumps({day: cleaned[day] for day in DAYS if day in cleaned}, separators=(",", ":"))


def opening_hours(location: Location) -> dict[str, list[list[str]]]:
    """The stored opening hours, as checked."""
    loaded: dict[str, list[list[str]]] = json.loads(location.opening_hours or "{}")
    return loaded


# -- look-ups and changes -----------------------------------------------------------------


def location_by_code(session: Session, code: str) -> Location | None:
    return session.scalar(select(Location).where(Location.code == code))


def require_location(session: Session, code: str) -> Location:
    found = location_by_code(session, code) if CODE_PATTERN.fullmatch(code) else None
    if found is None:
        raise NotFound(f"No location with code {code[:40]!r}.")
    return found


def all_locations(session: Session, *, include_inactive: bool = True) -> list[Location]:
    """Every location in routing order (priority, then id)."""
    query = select(Location).order_by(Location.priority, Location.id)
    if not include_inactive:
        query = query.where(Location.active.is_(True))
    return list(session.scalars(query))


def _keep_default_selling(location: Location) -> None:
    if location.code == DEFAULT_LOCATION and not (location.ships and location.active):
        raise InvalidInput(
            f"{DEFAULT_LOCATION} is where stock without a location goes: it stays active and "
            "keeps shipping."
        )


def create_location(session: Session, code: str, fields: Mapping[str, Any]) -> Location:
    """A new location; ``fields`` are checked columns. Raises :class:`Conflict` when the
    code is taken."""
    location = Location(code=check_code(code), **fields)
    if location.ships is None:
        location.ships = location.kind == "warehouse"
    session.add(location)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"A location with code {code!r} exists already.") from None
    return location


def update_location(session: Session, code: str, fields: Mapping[str, Any]) -> Location:
    """Change checked columns of a location (never its code)."""
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise InvalidInput(f"cannot change {', '.join(sorted(unknown))} here")
    location = require_location(session, code)
    for name, value in fields.items():
        setattr(location, name, value)
    _keep_default_selling(location)
    session.flush()
    return location


# -- stock per location -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LevelView:
    """One location's stock of one product."""

    location: str  # code
    name: str
    kind: str
    ships: bool
    pickup_enabled: bool
    active: bool
    on_hand: int
    reserved: int

    @property
    def available(self) -> int:
        return max(self.on_hand - self.reserved, 0)


def levels_of(session: Session, product_id: int) -> list[LevelView]:
    """A product's stock at every location that has a level, in routing order."""
    query = (
        select(
            Location.code,
            Location.name,
            Location.kind,
            Location.ships,
            Location.pickup_enabled,
            Location.active,
            StockLevel.on_hand,
            StockLevel.reserved,
        )
        .join(StockLevel, StockLevel.location_id == Location.id)
        .where(StockLevel.product_id == product_id)
        .order_by(Location.priority, Location.id)
    )
    return [
        LevelView(row[0], row[1], row[2], bool(row[3]), bool(row[4]), bool(row[5]), *row[6:])
        for row in session.execute(query)
    ]


def set_stock_at(session: Session, code: str, sku: str, on_hand: int) -> LevelView:
    """Set ``sku``'s ``on_hand`` at location ``code``: never below what checkouts hold there.
    Raises :class:`NotFound` (either unknown), :class:`OutOfStock` below the reserved."""
    location = require_location(session, code)
    product = session.scalar(select(Product).where(Product.sku == sku))
    if product is None:
        raise NotFound(f"No product with sku {sku!r}.")
    if not inventory.set_level(session, product.id, location.id, on_hand):
        _, reserved = inventory.level_of(session, product.id, location.id)
        raise OutOfStock(
            f"{sku} at {code}: stock cannot go below the {reserved} units held by checkouts "
            "in progress there."
        )
    return next(level for level in levels_of(session, product.id) if level.location == code)


# -- the demo shop's stores ---------------------------------------------------------------

_WEEK = {day: [["10:00", "20:00"]] for day in DAYS[:6]}  # Monday to Saturday
# (code, name, city, postal code, line1, lat, lng, flags, {sku: on_hand}). A is nearest the
# demo's default position (Lisbon); only B holds the kettle (sold out online).
_DEMO_STORES: tuple[tuple[str, str, str, str, str, str, str, dict[str, bool], dict[str, int]],
                    ...] = (
    ("LIS-CHIADO", "Lisbon Chiado", "Lisboa", "1200-109", "Rua Garrett 10", "38.7107",
     "-9.1423", {}, {"DRIPPER-01": 3, "BEANS-GUJI-250": 6}),
    ("PORTO-BAIXA", "Porto Baixa", "Porto", "4000-069", "Rua de Santa Catarina 112", "41.1466",
     "-8.6066", {"reservations_enabled": True},
     {"DRIPPER-01": 2, "GRINDER-02": 2, "KETTLE-03": 2}),
    ("COIMBRA", "Coimbra Baixa", "Coimbra", "3000-150", "Rua Ferreira Borges 50", "40.2089",
     "-8.4294", {"accepts_returns": True}, {"BEANS-GUJI-250": 4, "GRINDER-02": 1}),
)  # fmt: skip


def seed_demo_stores(session: Session) -> bool:
    """The demo shop's three stores (all offer pickup; Porto takes reservations, Coimbra
    takes returns), each with its own stock. Does nothing once a location other than MAIN
    exists, so a merchant's changes survive a restart. True if it seeded."""
    other = select(Location.id).where(Location.code != DEFAULT_LOCATION).limit(1)
    if session.scalar(other) is not None:
        return False
    hours = check_opening_hours(_WEEK)
    for code, name, city, postal, line1, lat, lng, flags, stock in _DEMO_STORES:
        fields: dict[str, Any] = {
            "name": name,
            "kind": "store",
            "country": "PT",
            "city": city,
            "postal_code": postal,
            "line1": line1,
            "lat_e6": micro_degrees("lat", lat, 90),
            "lng_e6": micro_degrees("lng", lng, 180),
            "time_zone": "Europe/Lisbon",
            "opening_hours": hours,
            "pickup_enabled": True,
            "pickup_ready_minutes": 120,
            "pickup_instructions": "Ask at the till; bring your pickup code.",
            "ships": False,
            "accepts_returns": False,
            **flags,
        }
        location = create_location(session, code, fields)
        for sku, on_hand in stock.items():
            product_id = session.scalar(select(Product.id).where(Product.sku == sku))
            if product_id is not None:
                inventory.set_level(session, product_id, location.id, on_hand)
    return True
