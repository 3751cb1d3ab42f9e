"""The merchant's shipping zones and rates: reading, checking and writing them.

A zone is a name and its areas; an area (a country, a region of it or a postal prefix in it)
belongs to one zone at most, so "which zone is this address in?" has one answer. A rate is
checked whole before anything is written: its kind's amounts, its currency, its weight
brackets.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session, selectinload

from buybutton_server.db.models import (
    ShippingRate,
    ShippingRateBracket,
    ShippingZone,
    ShippingZoneArea,
)
from buybutton_server.domain.catalog import AMOUNT_MAX, check_currency
from buybutton_server.domain.shipping import (
    FREE_OVER,
    KINDS,
    WEIGHT,
    check_country,
    check_postal_prefix,
    check_region,
)
from buybutton_server.errors import InvalidInput, NotFound

NAME_MAX = 100
ESTIMATE_MAX = 100
AREAS_MAX = 500  # areas in one zone
BRACKETS_MAX = 50
RATES_MAX = 50  # rates in one zone
GRAMS_MAX = 10**8  # 100 tonnes
POSITION_MAX = 10**6


@dataclass(frozen=True, slots=True)
class AreaSpec:
    country: str
    region: str = ""
    postal_prefix: str = ""

    def describe(self) -> str:
        narrowed = self.region or (f"postal {self.postal_prefix}…" if self.postal_prefix else "")
        return f"{self.country} {narrowed}".strip()


@dataclass(frozen=True, slots=True)
class ZoneSpec:
    name: str
    areas: tuple[AreaSpec, ...]
    position: int = 0


@dataclass(frozen=True, slots=True)
class RateSpec:
    """A rate as the merchant wants it; amounts in minor units of ``currency``.
    ``brackets`` are (up to grams, amount) pairs for a weight rate."""

    name: str
    kind: str
    currency: str
    amount: int = 0
    free_over_amount: int | None = None
    brackets: tuple[tuple[int, int], ...] = ()
    delivery_estimate: str = ""
    active: bool = True


# -- rules ----------------------------------------------------------------------------------


def check_name(name: str, what: str = "name") -> str:
    text = name.strip()
    if not text:
        raise InvalidInput(f"Enter a {what}.")
    if len(text) > NAME_MAX:
        raise InvalidInput(f"The {what} must be at most {NAME_MAX} characters.")
    return text


def check_area(area: AreaSpec) -> AreaSpec:
    country = check_country(area.country)
    region = check_region(country, area.region) if area.region.strip() else ""
    prefix = check_postal_prefix(area.postal_prefix) if area.postal_prefix.strip() else ""
    return AreaSpec(country, region, prefix)


def check_zone(spec: ZoneSpec) -> ZoneSpec:
    areas = tuple(dict.fromkeys(check_area(area) for area in spec.areas))
    if not areas:
        raise InvalidInput("Name at least one country (ISO codes such as DE, FR, US).")
    if len(areas) > AREAS_MAX:
        raise InvalidInput(f"A zone covers at most {AREAS_MAX} countries, regions and prefixes.")
    if not 0 <= spec.position <= POSITION_MAX:
        raise InvalidInput(f"The position must be a whole number from 0 to {POSITION_MAX}.")
    return ZoneSpec(check_name(spec.name), areas, spec.position)


def check_amount(amount: int, what: str) -> int:
    if not 0 <= amount <= AMOUNT_MAX:
        raise InvalidInput(f"The {what} must be from 0 to {AMOUNT_MAX} minor units.")
    return amount


def check_brackets(brackets: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
    if not brackets:
        raise InvalidInput('A weight rate needs at least one bracket, e.g. "up to 1000 g: 4.90".')
    if len(brackets) > BRACKETS_MAX:
        raise InvalidInput(f"A rate has at most {BRACKETS_MAX} weight brackets.")
    seen: set[int] = set()
    for grams, amount in brackets:
        if not 1 <= grams <= GRAMS_MAX:
            raise InvalidInput(f"A bracket's weight must be from 1 to {GRAMS_MAX} g.")
        if grams in seen:
            raise InvalidInput(f"Two brackets are for up to {grams} g: keep one.")
        seen.add(grams)
        check_amount(amount, "bracket's price")
    return tuple(sorted(brackets))


def check_rate(spec: RateSpec) -> RateSpec:
    if spec.kind not in KINDS:
        raise InvalidInput("Choose how the rate is priced: flat, free over an amount, or weight.")
    estimate = spec.delivery_estimate.strip()
    if len(estimate) > ESTIMATE_MAX:
        raise InvalidInput(f"The delivery estimate must be at most {ESTIMATE_MAX} characters.")
    weight, free_over = spec.kind == WEIGHT, spec.kind == FREE_OVER
    if free_over and spec.free_over_amount is None:
        raise InvalidInput("Enter the amount of goods from which shipping is free.")
    return RateSpec(
        name=check_name(spec.name, "name for shoppers"),
        kind=spec.kind,
        currency=check_currency(spec.currency),
        amount=0 if weight else check_amount(spec.amount, "price"),
        free_over_amount=check_amount(spec.free_over_amount or 0, "threshold")
        if free_over
        else None,
        brackets=check_brackets(spec.brackets) if weight else (),
        delivery_estimate=estimate,
        active=spec.active,
    )


# -- reading --------------------------------------------------------------------------------


def list_zones(session: Session) -> list[ShippingZone]:
    """Every zone with its areas, rates and brackets, in the merchant's order."""
    query = (
        select(ShippingZone)
        .options(
            selectinload(ShippingZone.areas),
            selectinload(ShippingZone.rates).selectinload(ShippingRate.brackets),
        )
        .order_by(ShippingZone.position, ShippingZone.id)
    )
    return list(session.scalars(query))


def require_zone(session: Session, zone_id: int) -> ShippingZone:
    zone = session.get(ShippingZone, zone_id)
    if zone is None:
        raise NotFound("There is no such shipping zone (was it deleted?).")
    return zone


def require_rate(session: Session, rate_id: int) -> ShippingRate:
    rate = session.get(ShippingRate, rate_id)
    if rate is None:
        raise NotFound("There is no such shipping rate (was it deleted?).")
    return rate


# -- writing --------------------------------------------------------------------------------


def _taken(session: Session, areas: tuple[AreaSpec, ...], zone_id: int | None) -> None:
    keys = [(a.country, a.region, a.postal_prefix) for a in areas]
    area_key = tuple_(
        ShippingZoneArea.country, ShippingZoneArea.region, ShippingZoneArea.postal_prefix
    )
    query = (
        select(ShippingZoneArea, ShippingZone.name)
        .join(ShippingZone, ShippingZone.id == ShippingZoneArea.zone_id)
        .where(area_key.in_(keys))
        .order_by(ShippingZoneArea.country)
    )
    if zone_id is not None:
        query = query.where(ShippingZoneArea.zone_id != zone_id)
    clashes = [
        f"{AreaSpec(area.country, area.region, area.postal_prefix).describe()} (in {name!r})"
        for area, name in session.execute(query)
    ]
    if clashes:
        raise InvalidInput(
            "Already in another zone: " + ", ".join(clashes[:10]) + ". Remove it there first."
        )


def save_zone(session: Session, spec: ZoneSpec, zone_id: int | None = None) -> ShippingZone:
    """Create a zone, or (``zone_id``) make an existing one exactly ``spec``."""
    spec = check_zone(spec)
    zone = ShippingZone() if zone_id is None else require_zone(session, zone_id)
    _taken(session, spec.areas, zone_id)
    zone.name, zone.position = spec.name, spec.position
    wanted = set(spec.areas)
    for row in list(zone.areas):
        key = AreaSpec(row.country, row.region, row.postal_prefix)
        if key in wanted:
            wanted.discard(key)
        else:
            zone.areas.remove(row)
    session.add(zone)
    session.flush()  # removals first: an area may move between rows of the same zone
    for area in spec.areas:
        if area in wanted:
            zone.areas.append(
                ShippingZoneArea(
                    country=area.country, region=area.region, postal_prefix=area.postal_prefix
                )
            )
    session.flush()
    return zone


def delete_zone(session: Session, zone_id: int) -> None:
    session.delete(require_zone(session, zone_id))
    session.flush()


def save_rate(
    session: Session, zone_id: int, spec: RateSpec, rate_id: int | None = None
) -> ShippingRate:
    """Add a rate to a zone, or (``rate_id``, of that zone) change one."""
    spec = check_rate(spec)
    zone = require_zone(session, zone_id)
    if rate_id is None:
        if len(zone.rates) >= RATES_MAX:
            raise InvalidInput(f"A zone has at most {RATES_MAX} rates.")
        rate = ShippingRate(zone_id=zone.id)
    else:
        rate = require_rate(session, rate_id)
        if rate.zone_id != zone.id:
            raise NotFound("There is no such shipping rate in this zone.")
    rate.name, rate.kind, rate.currency = spec.name, spec.kind, spec.currency
    rate.amount, rate.free_over_amount = spec.amount, spec.free_over_amount
    rate.delivery_estimate, rate.active = spec.delivery_estimate, spec.active
    rate.brackets.clear()
    session.add(rate)
    session.flush()  # old brackets go before new ones with the same weights arrive
    for grams, amount in spec.brackets:
        rate.brackets.append(ShippingRateBracket(up_to_grams=grams, amount=amount))
    session.flush()
    return rate


def delete_rate(session: Session, rate_id: int) -> None:
    session.delete(require_rate(session, rate_id))
    session.flush()
