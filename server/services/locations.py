"""Locations and stock per location through the API, the command line and the CSV import.
The rules are the domain's (:mod:`buybutton_server.domain.locations`); the request and
answer types are declared once, here.

Coordinates travel as degrees (``lat``, ``lng``: numbers) and are kept as micro-degrees.
Opening hours are ``{"mon": [["09:00", "18:00"]], ...}``; days left out are closed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, ValidationError

from buybutton_server.db import Sessions, read_session, write_session
from buybutton_server.db import models as db
from buybutton_server.domain import locations
from buybutton_server.domain.catalog import require_product
from buybutton_server.domain.inventory import STOCK_MAX
from buybutton_server.domain.locations import (
    INSTRUCTIONS_MAX,
    MINUTES_MAX,
    NAME_MAX,
    PRIORITY_MAX,
    LevelView,
    check_code,
    check_country,
    check_name,
    check_opening_hours,
    check_time_zone,
)
from buybutton_server.domain.outbox import iso_time
from buybutton_server.errors import InvalidInput
from buybutton_server.services.api_types import Answer, Input, Timestamp, rule, schema

Code = Annotated[str, Field(max_length=32), rule(check_code), schema(pattern="^[A-Z0-9_-]{1,32}$")]
Name = Annotated[str, Field(max_length=NAME_MAX), rule(check_name)]
Kind = Literal["warehouse", "store"]
Lat = Annotated[float, Field(ge=-90, le=90, description="degrees")]
Lng = Annotated[float, Field(ge=-180, le=180, description="degrees")]
Country = Annotated[str, Field(max_length=2), rule(check_country)]
TimeZone = Annotated[str, Field(max_length=64), rule(check_time_zone)]
Minutes = Annotated[int, Field(ge=0, le=MINUTES_MAX)]
HoldMinutes = Annotated[int, Field(ge=1, le=MINUTES_MAX)]
Priority = Annotated[int, Field(ge=0, le=PRIORITY_MAX, description="routing order, low first")]
Hours = dict[str, list[list[str]]]
_HOURS_SCHEMA = schema(example={"mon": [["09:00", "13:00"], ["14:00", "19:00"]]})


class _LocationFields(Input):
    """Fields a location may have; each is checked by the domain's rule."""

    country: Country | None = None
    region: Annotated[str, Field(max_length=64)] | None = None
    city: Annotated[str, Field(max_length=100)] | None = None
    postal_code: Annotated[str, Field(max_length=32)] | None = None
    line1: Annotated[str, Field(max_length=200)] | None = None
    time_zone: TimeZone | None = None
    opening_hours: Annotated[Hours, _HOURS_SCHEMA] | None = None
    pickup_ready_minutes: Minutes | None = None
    pickup_instructions: Annotated[str, Field(max_length=INSTRUCTIONS_MAX)] | None = None
    ships: bool | None = None
    accepts_returns: bool | None = None
    reservation_hold_minutes: HoldMinutes | None = None
    reservations_enabled: bool | None = None
    priority: Priority | None = None

    def _common(self) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        for name in self.model_fields_set & set(_LocationFields.model_fields):
            value = getattr(self, name)
            if value is None:
                continue
            if name == "opening_hours":
                value = check_opening_hours(value)
            elif isinstance(value, str) and name not in ("country", "time_zone"):
                value = locations.check_text(name, value)
            fields[name] = value
        return fields


class LocationCreate(_LocationFields):
    """A new location. ``ships`` defaults to true for a warehouse, false for a store."""

    code: Code
    name: Name
    kind: Kind
    lat: Lat
    lng: Lng
    pickup_enabled: bool = False

    def columns(self) -> dict[str, Any]:
        return {
            **self._common(),
            "name": self.name,
            "kind": self.kind,
            "lat_e6": locations.micro_degrees("lat", self.lat, 90),
            "lng_e6": locations.micro_degrees("lng", self.lng, 180),
            "pickup_enabled": self.pickup_enabled,
        }


class LocationUpdate(_LocationFields):
    """Changes to a location: any field but its code."""

    extra_hint: ClassVar[str] = "The code cannot change."

    name: Name | None = None
    kind: Kind | None = None
    lat: Lat | None = None
    lng: Lng | None = None
    pickup_enabled: bool | None = None
    active: bool | None = None

    def columns(self) -> dict[str, Any]:
        fields = self._common()
        for name in ("name", "kind", "pickup_enabled", "active"):
            if getattr(self, name) is not None:
                fields[name] = getattr(self, name)
        if self.lat is not None:
            fields["lat_e6"] = locations.micro_degrees("lat", self.lat, 90)
        if self.lng is not None:
            fields["lng_e6"] = locations.micro_degrees("lng", self.lng, 180)
        return fields


class Address(Answer):
    country: str
    region: str
    city: str
    postal_code: str
    line1: str


class Location(Answer):
    code: str
    name: str
    kind: str
    address: Address
    lat: float | None
    lng: float | None
    time_zone: str
    opening_hours: Hours
    pickup_enabled: bool
    pickup_ready_minutes: int
    pickup_instructions: str
    ships: bool
    accepts_returns: bool
    reservation_hold_minutes: int
    reservations_enabled: bool
    priority: int
    active: bool
    created_at: Timestamp | None
    updated_at: Timestamp | None

    @classmethod
    def of(cls, row: db.Location) -> Location:
        return cls(
            code=row.code,
            name=row.name,
            kind=row.kind,
            address=Address(
                country=row.country,
                region=row.region,
                city=row.city,
                postal_code=row.postal_code,
                line1=row.line1,
            ),
            lat=row.lat_e6 / 1_000_000 if row.lat_e6 is not None else None,
            lng=row.lng_e6 / 1_000_000 if row.lng_e6 is not None else None,
            time_zone=row.time_zone,
            opening_hours=locations.opening_hours(row),
            pickup_enabled=row.pickup_enabled,
            pickup_ready_minutes=row.pickup_ready_minutes,
            pickup_instructions=row.pickup_instructions,
            ships=row.ships,
            accepts_returns=row.accepts_returns,
            reservation_hold_minutes=row.reservation_hold_minutes,
            reservations_enabled=row.reservations_enabled,
            priority=row.priority,
            active=row.active,
            created_at=iso_time(row.created_at),
            updated_at=iso_time(row.updated_at),
        )


class LocationList(Answer):
    data: list[Location]


class StockAt(Input):
    """The units on hand at one location (never below what checkouts hold there)."""

    on_hand: Annotated[int, Field(ge=0, le=STOCK_MAX)]


class Level(Answer):
    location: str
    name: str
    kind: str
    ships: bool
    pickup_enabled: bool
    active: bool
    on_hand: int
    reserved: int
    available: int

    @classmethod
    def of(cls, level: LevelView) -> Level:
        return cls(
            location=level.location,
            name=level.name,
            kind=level.kind,
            ships=level.ships,
            pickup_enabled=level.pickup_enabled,
            active=level.active,
            on_hand=level.on_hand,
            reserved=level.reserved,
            available=level.available,
        )


class ProductStock(Answer):
    """A product's stock: the totals that sell online (active locations that ship) and each
    location's level."""

    sku: str
    on_hand: int
    reserved: int
    available: int
    locations: list[Level]


# -- operations ---------------------------------------------------------------------------


def list_locations(sessions: Sessions) -> LocationList:
    with read_session(sessions) as session:
        return LocationList(data=[Location.of(row) for row in locations.all_locations(session)])


def get_location(sessions: Sessions, code: str) -> Location:
    with read_session(sessions) as session:
        return Location.of(locations.require_location(session, code))


def create_location(sessions: Sessions, body: LocationCreate) -> Location:
    with write_session(sessions) as session:
        return Location.of(locations.create_location(session, body.code, body.columns()))


def update_location(sessions: Sessions, code: str, body: LocationUpdate) -> Location:
    with write_session(sessions) as session:
        return Location.of(locations.update_location(session, code, body.columns()))


def set_stock_at(sessions: Sessions, code: str, sku: str, body: StockAt) -> Level:
    with write_session(sessions) as session:
        return Level.of(locations.set_stock_at(session, code, sku, body.on_hand))


def product_stock(sessions: Sessions, sku: str) -> ProductStock:
    with read_session(sessions) as session:
        product = require_product(session, sku)
        return ProductStock(
            sku=sku,
            on_hand=product.on_hand,
            reserved=product.reserved,
            available=product.available,
            locations=[Level.of(level) for level in locations.levels_of(session, product.id)],
        )


# -- the command line and the CSV import --------------------------------------------------

CSV_COLUMNS = ("code", "name", "kind", "lat", "lng", "pickup_enabled")
CSV_ROWS_MAX = 5000
_TRUE, _FALSE = {"true", "yes", "1", "y"}, {"false", "no", "0", "n", ""}


def _flag(name: str, text: str) -> bool:
    if text.strip().lower() in _TRUE:
        return True
    if text.strip().lower() in _FALSE:
        return False
    raise InvalidInput(f"{name} must be true or false, not {text[:20]!r}")


def _number(name: str, text: str) -> float:
    try:
        return float(text.strip())
    except ValueError:
        raise InvalidInput(f"{name} must be a number of degrees, not {text[:20]!r}") from None


def _whole(name: str, text: str) -> int:
    if not text.strip().isdigit():
        raise InvalidInput(f"{name} must be a whole number, not {text[:20]!r}")
    return int(text.strip())


_FLAGS = ("pickup_enabled", "ships", "accepts_returns", "reservations_enabled")
_WHOLES = ("pickup_ready_minutes", "reservation_hold_minutes", "priority")
_TEXTS = ("code", "name", "kind", "country", "region", "city", "postal_code", "line1")
_MORE_TEXTS = ("time_zone", "pickup_instructions")


def create_from_text(raw: Mapping[str, str]) -> LocationCreate:
    """A new location from text (a CSV row, command-line options): every field a string,
    the optional ones left out when empty. Raises :class:`InvalidInput` naming the field."""
    data: dict[str, Any] = {}
    for name, text in raw.items():
        if name not in (*_TEXTS, *_MORE_TEXTS, *_FLAGS, *_WHOLES, "lat", "lng"):
            raise InvalidInput(f"unknown column {name[:40]!r}")
        if text == "" and name not in CSV_COLUMNS:
            continue
        if name in _FLAGS:
            data[name] = _flag(name, text)
        elif name in _WHOLES:
            data[name] = _whole(name, text)
        elif name in ("lat", "lng"):
            data[name] = _number(name, text)
        else:
            data[name] = text.strip()
    try:
        return LocationCreate.model_validate(data)
    except ValidationError as problem:
        first = problem.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "row"
        raise InvalidInput(f"{where}: {first['msg']}") from None


def add_location(sessions: Sessions, raw: Mapping[str, str]) -> Location:
    return create_location(sessions, create_from_text(raw))


def import_locations(sessions: Sessions, text: str) -> list[Location]:
    """A CSV of new locations (a header naming at least code, name, kind, lat, lng and
    pickup_enabled; other columns optional), all or nothing. Raises :class:`InvalidInput`
    listing every bad line ("line N: ...")."""
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise InvalidInput("the file is empty: a header line, then one location a line")
    header = [cell.strip().lower() for cell in rows[0]]
    missing = [name for name in CSV_COLUMNS if name not in header]
    if missing:
        raise InvalidInput(f"line 1: the header lacks {', '.join(missing)}")
    if len(rows) - 1 > CSV_ROWS_MAX:
        raise InvalidInput(f"at most {CSV_ROWS_MAX} locations a file")
    problems: list[str] = []
    bodies: list[tuple[int, LocationCreate]] = []
    seen: dict[str, int] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            problems.append(f"line {number}: expected {len(header)} cells, found {len(row)}")
            continue
        try:
            body = create_from_text(dict(zip(header, row, strict=True)))
        except InvalidInput as problem:
            problems.append(f"line {number}: {problem.message}")
            continue
        if body.code in seen:
            problems.append(f"line {number}: code {body.code} is also on line {seen[body.code]}")
            continue
        seen[body.code] = number
        bodies.append((number, body))
    with write_session(sessions) as session:
        taken = {row.code for row in locations.all_locations(session)}
        problems += [
            f"line {number}: a location with code {body.code} exists already"
            for number, body in bodies
            if body.code in taken
        ]
        if problems:
            raise InvalidInput("; ".join(sorted(problems, key=_line_number)))
        made = [locations.create_location(session, b.code, b.columns()) for _, b in bodies]
        return [Location.of(row) for row in made]


def _line_number(problem: str) -> int:
    return int(problem.split(":")[0].removeprefix("line "))


def set_stock_from_text(sessions: Sessions, code: str, sku: str, on_hand: str) -> Level:
    return set_stock_at(sessions, code, sku, StockAt(on_hand=_whole("on_hand", on_hand)))
