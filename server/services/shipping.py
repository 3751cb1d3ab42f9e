"""Shipping zones and rates for the owner's admin page and the command line.

The forms are text as a merchant types it: countries as ``DE, AT, FR``; regions as lines
``US: CA, OR, WA``; postal prefixes as lines ``DE: 10, 12``; amounts in major units
(``4.90``); weight brackets as lines ``up to 1000 g: 4.90``. Every broken rule is reported
under its field (``InvalidInput.context["fields"]``) and nothing is written.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from buybutton.money import decimal_string, format_amount, parse_amount
from buybutton_server.db import read_session, write_session
from buybutton_server.db.models import ShippingRate, ShippingZone
from buybutton_server.domain import shipping, shipping_zones
from buybutton_server.domain.catalog import check_currency
from buybutton_server.domain.shipping import FLAT, FREE_OVER, WEIGHT
from buybutton_server.domain.shipping_zones import AreaSpec, RateSpec, ZoneSpec
from buybutton_server.errors import Conflict, InvalidInput

Sessions = sessionmaker[Session]
T = TypeVar("T")

KIND_LABELS = {
    FLAT: "Flat price",
    FREE_OVER: "Free over an amount",
    WEIGHT: "By weight",
}
_SEPARATORS = re.compile(r"[\s,;]+")
_BRACKET = re.compile(
    r"(?:up\s*to\s*)?([0-9]{1,9}(?:\.[0-9]{1,3})?)\s*(g|kg)?\s*[:=]\s*(\S{1,20})", re.IGNORECASE
)
TEXT_MAX = 20_000  # characters of one text field


# -- what the pages show --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RateView:
    id: int
    zone_id: int
    name: str
    kind: str
    currency: str
    amount: int
    free_over_amount: int | None
    brackets: tuple[tuple[int, int], ...]
    delivery_estimate: str
    active: bool

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)

    @property
    def price(self) -> str:
        """The rate in words: ``€4.90``, ``€4.90, free from €50.00``, ``by weight: …``."""
        money = format_amount(self.amount, self.currency)
        if self.kind == FREE_OVER and self.free_over_amount is not None:
            return f"{money}, free from {format_amount(self.free_over_amount, self.currency)}"
        if self.kind == WEIGHT:
            return "; ".join(
                f"up to {grams} g: {format_amount(amount, self.currency)}"
                for grams, amount in self.brackets
            )
        return money

    def form(self) -> dict[str, object]:
        """The rate as its edit form shows it (amounts in major units)."""
        return {
            "name": self.name,
            "kind": self.kind,
            "currency": self.currency,
            "amount": decimal_string(self.amount, self.currency) if self.kind != WEIGHT else "",
            "free_over": decimal_string(self.free_over_amount, self.currency)
            if self.free_over_amount is not None
            else "",
            "brackets": "\n".join(
                f"up to {grams} g: {decimal_string(amount, self.currency)}"
                for grams, amount in self.brackets
            ),
            "delivery_estimate": self.delivery_estimate,
            "active": self.active,
        }

    @classmethod
    def of(cls, row: ShippingRate) -> RateView:
        return cls(
            id=row.id,
            zone_id=row.zone_id,
            name=row.name,
            kind=row.kind,
            currency=row.currency,
            amount=row.amount,
            free_over_amount=row.free_over_amount,
            brackets=tuple((b.up_to_grams, b.amount) for b in row.brackets),
            delivery_estimate=row.delivery_estimate,
            active=row.active,
        )


@dataclass(frozen=True, slots=True)
class ZoneView:
    id: int
    name: str
    position: int
    areas: tuple[AreaSpec, ...]
    rates: tuple[RateView, ...]

    @property
    def countries(self) -> str:
        return ", ".join(a.country for a in self.areas if not a.region and not a.postal_prefix)

    def _lines(self, pick: Callable[[AreaSpec], str]) -> str:
        grouped: dict[str, list[str]] = {}
        for area in self.areas:
            if pick(area):
                grouped.setdefault(area.country, []).append(pick(area))
        return "\n".join(f"{country}: {', '.join(items)}" for country, items in grouped.items())

    @property
    def regions(self) -> str:
        return self._lines(lambda a: a.region if not a.postal_prefix else "")

    @property
    def postal(self) -> str:
        return self._lines(lambda a: a.postal_prefix)

    def form(self) -> dict[str, object]:
        return {
            "name": self.name,
            "countries": self.countries,
            "regions": self.regions,
            "postal": self.postal,
            "position": str(self.position),
        }

    @classmethod
    def of(cls, row: ShippingZone) -> ZoneView:
        areas = sorted(
            (AreaSpec(a.country, a.region, a.postal_prefix) for a in row.areas),
            key=lambda a: (a.country, a.region, a.postal_prefix),
        )
        return cls(
            id=row.id,
            name=row.name,
            position=row.position,
            areas=tuple(areas),
            rates=tuple(RateView.of(rate) for rate in row.rates),
        )


def list_zones(sessions: Sessions) -> list[ZoneView]:
    with read_session(sessions) as session:
        return [ZoneView.of(zone) for zone in shipping_zones.list_zones(session)]


def zone(sessions: Sessions, zone_id: int) -> ZoneView:
    with read_session(sessions) as session:
        return ZoneView.of(shipping_zones.require_zone(session, zone_id))


def rate(sessions: Sessions, rate_id: int) -> RateView:
    with read_session(sessions) as session:
        return RateView.of(shipping_zones.require_rate(session, rate_id))


def countries(sessions: Sessions) -> tuple[str, ...]:
    """The countries the shop ships to (for the checkout's country picker)."""
    with read_session(sessions) as session:
        return shipping.shipping_countries(session)


# -- reading the forms ----------------------------------------------------------------------


class _Fields:
    """Collects each field's first problem."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def check(self, name: str, rule: Callable[[], T], fallback: T) -> T:
        try:
            return rule()
        except InvalidInput as problem:
            self.errors.setdefault(name, problem.message)
            return fallback

    def raise_any(self) -> None:
        if self.errors:
            raise InvalidInput(
                "Nothing was saved: " + " ".join(self.errors.values()),
                context={"fields": dict(self.errors)},
            )


def _text(form: Mapping[str, str], name: str) -> str:
    text = str(form.get(name, ""))
    if len(text) > TEXT_MAX:
        raise InvalidInput(f"That is too long: at most {TEXT_MAX} characters.")
    return text


def _tokens(text: str) -> list[str]:
    return [token for token in _SEPARATORS.split(text) if token]


def _narrowed(text: str, kind: str) -> list[tuple[str, str]]:
    """Lines ``CC: a, b`` as (country, item) pairs."""
    pairs: list[tuple[str, str]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        country, colon, items = line.partition(":")
        if not colon or not items.strip():
            raise InvalidInput(f'Write {kind} as lines such as "US: CA, OR" (got {line[:40]!r}).')
        code = shipping.check_country(country)
        pairs.extend((code, item) for item in _tokens(items))
    return pairs


def _areas(form: Mapping[str, str], fields: _Fields) -> tuple[AreaSpec, ...]:
    def whole() -> list[AreaSpec]:
        return [AreaSpec(shipping.check_country(c)) for c in _tokens(_text(form, "countries"))]

    def regions() -> list[AreaSpec]:
        pairs = _narrowed(_text(form, "regions"), "regions")
        return [AreaSpec(c, shipping.check_region(c, r)) for c, r in pairs]

    def postal() -> list[AreaSpec]:
        pairs = _narrowed(_text(form, "postal"), "postal code prefixes")
        return [AreaSpec(c, "", shipping.check_postal_prefix(p)) for c, p in pairs]

    none: list[AreaSpec] = []
    return (
        *fields.check("countries", whole, none),
        *fields.check("regions", regions, none),
        *fields.check("postal", postal, none),
    )


def _whole(text: str, what: str) -> int:
    text = text.strip() or "0"
    if not (text.isascii() and text.isdigit() and len(text) <= 9):
        raise InvalidInput(f"The {what} must be a whole number, such as 0 or 10.")
    return int(text)


def zone_spec(form: Mapping[str, str]) -> ZoneSpec:
    """A zone form, checked field by field (``InvalidInput`` with ``context["fields"]``)."""
    fields = _Fields()
    name = fields.check("name", lambda: shipping_zones.check_name(_text(form, "name")), "")
    areas = _areas(form, fields)
    if not areas and not fields.errors:
        fields.errors["countries"] = "Name at least one country (ISO codes such as DE, FR, US)."
    position = fields.check("position", lambda: _whole(_text(form, "position"), "position"), 0)
    fields.raise_any()
    return ZoneSpec(name=name, areas=areas, position=position)


def _money(text: str, currency: str, what: str) -> int:
    if not text.strip():
        raise InvalidInput(f'Enter the {what}, e.g. "4.90".')
    try:
        return parse_amount(text[:40], currency)
    except ValueError as problem:
        raise InvalidInput(f"The {what}: {problem}.") from None


def _grams(number: str, unit: str) -> int:
    grams = Decimal(number) * (1000 if unit.lower() == "kg" else 1)
    if grams != grams.to_integral_value():
        raise InvalidInput(f"{number} {unit} is not a whole number of grams.")
    return int(grams)


def brackets_of(text: str, currency: str) -> tuple[tuple[int, int], ...]:
    """Lines ``up to 1000 g: 4.90`` (or ``2 kg: 9.90``) as (grams, minor units)."""
    found: list[tuple[int, int]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        match = _BRACKET.fullmatch(line.strip())
        if match is None:
            raise InvalidInput(
                f'Write brackets as lines such as "up to 1000 g: 4.90" ({line[:40]!r}).'
            )
        try:
            grams = _grams(match[1], match[2] or "g")
        except InvalidOperation:
            raise InvalidInput(f"{match[1]!r} is not a weight.") from None
        found.append((grams, _money(match[3], currency, "bracket's price")))
    return shipping_zones.check_brackets(tuple(found))


def rate_spec(form: Mapping[str, str]) -> RateSpec:
    """A rate form with amounts in major units, checked field by field."""
    fields = _Fields()
    name = fields.check(
        "name", lambda: shipping_zones.check_name(_text(form, "name"), "name for shoppers"), ""
    )
    kind = str(form.get("kind", ""))
    if kind not in KIND_LABELS:
        fields.errors["kind"] = "Choose how the rate is priced."
    currency = fields.check("currency", lambda: check_currency(_text(form, "currency")), "")
    amount, free_over = 0, None
    brackets: tuple[tuple[int, int], ...] = ()
    if currency and kind in (FLAT, FREE_OVER):
        amount = fields.check("amount", lambda: _money(_text(form, "amount"), currency, "price"), 0)
    if currency and kind == FREE_OVER:
        free_over = fields.check(
            "free_over", lambda: _money(_text(form, "free_over"), currency, "free-over amount"), 0
        )
    if currency and kind == WEIGHT:
        brackets = fields.check(
            "brackets", lambda: brackets_of(_text(form, "brackets"), currency), brackets
        )
    estimate = _text(form, "delivery_estimate").strip()
    if len(estimate) > shipping_zones.ESTIMATE_MAX:
        fields.errors["delivery_estimate"] = (
            f"The delivery estimate must be at most {shipping_zones.ESTIMATE_MAX} characters."
        )
    fields.raise_any()
    return RateSpec(
        name=name,
        kind=kind,
        currency=currency,
        amount=amount,
        free_over_amount=free_over,
        brackets=brackets,
        delivery_estimate=estimate,
        active=form.get("active") == "on",
    )


# -- writing --------------------------------------------------------------------------------


def _written(sessions: Sessions, write: Callable[[Session], T]) -> T:
    try:
        with write_session(sessions) as session:
            return write(session)
    except IntegrityError:
        # Two owners saving at once: the database's constraints keep one area in one zone.
        raise Conflict(
            "Someone changed shipping at the same moment: reload and try again."
        ) from None


def create_zone(sessions: Sessions, form: Mapping[str, str]) -> ZoneView:
    spec = zone_spec(form)
    return _written(sessions, lambda s: ZoneView.of(shipping_zones.save_zone(s, spec)))


def update_zone(sessions: Sessions, zone_id: int, form: Mapping[str, str]) -> ZoneView:
    spec = zone_spec(form)
    return _written(sessions, lambda s: ZoneView.of(shipping_zones.save_zone(s, spec, zone_id)))


def delete_zone(sessions: Sessions, zone_id: int) -> None:
    _written(sessions, lambda s: shipping_zones.delete_zone(s, zone_id))


def create_rate(sessions: Sessions, zone_id: int, form: Mapping[str, str]) -> RateView:
    spec = rate_spec(form)
    return _written(sessions, lambda s: RateView.of(shipping_zones.save_rate(s, zone_id, spec)))


def update_rate(sessions: Sessions, rate_id: int, form: Mapping[str, str]) -> RateView:
    spec = rate_spec(form)

    def write(session: Session) -> RateView:
        zone_id = shipping_zones.require_rate(session, rate_id).zone_id
        return RateView.of(shipping_zones.save_rate(session, zone_id, spec, rate_id))

    return _written(sessions, write)


def delete_rate(sessions: Sessions, rate_id: int) -> int:
    """Delete a rate; returns its zone's id."""

    def write(session: Session) -> int:
        zone_id = shipping_zones.require_rate(session, rate_id).zone_id
        shipping_zones.delete_rate(session, rate_id)
        return zone_id

    return _written(sessions, write)


def seed_demo(sessions: Sessions, currency: str | None = None) -> bool:
    with write_session(sessions) as session:
        return shipping.seed_demo_shipping(session, currency)
