"""Orders as their shopper reads them: the checkout's short answer (:class:`OrderSummary`)
and the order page (:class:`OrderView`), with the totals priced when the order was placed.
Re-exported by :mod:`.orders`."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Row
from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.db import read_session
from buybutton_server.db.models import Order, utcnow
from buybutton_server.domain import locales
from buybutton_server.domain.address_rules import country_code, country_name
from buybutton_server.domain.order_rows import order_by_public_id
from buybutton_server.domain.pickup import OrderPickupView, order_pickup
from buybutton_server.domain.tax_rates import SALES_TAX_COUNTRIES, VAT_RATES

_PUBLIC_ID_SHAPE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


@dataclass(frozen=True, kw_only=True, slots=True)
class OrderSummary:
    """Where an order stands, for the checkout's answer (read from the order row alone)."""

    public_id: str
    number: str
    status: str
    failure_code: str | None = None
    failure_message: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class LineView:
    """A line with its parts (minor units): ``total_amount = subtotal_amount -
    discount_amount`` (+ ``tax_amount`` when the order's tax was added on top)."""

    sku: str
    title: str
    quantity: int
    unit_amount: int
    total_amount: int
    subtotal_amount: int = 0
    discount_amount: int = 0
    tax_amount: int = 0
    tax_rate_bp: int = 0


@dataclass(frozen=True, kw_only=True, slots=True)
class OrderView:
    """An order as its shopper sees it (the order page): no ids, keys or attribution."""

    public_id: str
    number: str
    status: str
    currency: str
    total_amount: int
    email: str
    name: str
    ship_line1: str | None
    ship_line2: str | None
    ship_city: str | None
    ship_postal_code: str | None
    ship_country: str | None
    failure_code: str | None
    failure_message: str | None
    lines: tuple[LineView, ...]
    # The total's parts as priced when the order was placed (docs/tax.md): ``subtotal -
    # discount + shipping (+ tax unless tax_included) = total``.
    subtotal_amount: int = 0
    discount_amount: int = 0
    shipping_amount: int = 0
    tax_amount: int = 0
    tax_included: bool = False
    shipping_title: str | None = None
    discount_codes: tuple[str, ...] = ()
    ship_region: str | None = None
    # A pickup or reservation: the store, its address, the estimate, the hold (issue 15).
    pickup: OrderPickupView | None = None

    @property
    def country_label(self) -> str | None:
        """The country as people read it, in the page's language (orders store its ISO
        code; older orders a name, shown as it is)."""
        if not self.ship_country:
            return None
        if len(self.ship_country) == 2:
            return locales.territory_name(self.ship_country)
        return country_name(self.ship_country)

    @property
    def tax_label(self) -> str:
        """``incl. VAT 19%`` (in the prices) or ``Sales tax 7.25%`` (added on top); the
        rate only when every taxed line paid the same one."""
        return tax_label(self.ship_country, self.lines, included=self.tax_included)


def tax_label(country: str | None, lines: tuple[LineView, ...], *, included: bool) -> str:
    """The tax line's name for an order shipped to ``country`` (a code or, on orders from
    before country codes, a name)."""
    code = country_code(country or "") or ""
    if code in VAT_RATES:
        name = VAT_RATES[code][0]
    else:
        name = "Sales tax" if code in SALES_TAX_COUNTRIES else "Tax"
    rates = {line.tax_rate_bp for line in lines if line.tax_amount}
    if len(rates) == 1:
        name += f" {rates.pop() / 100:g}%"
    return f"incl. {name}" if included else name


def order_summary(order: Order | Row[Any]) -> OrderSummary:
    """From the ORM object or the Core row of an order (settlement answers the latter)."""
    return OrderSummary(
        public_id=order.public_id,
        number=order.number,
        status=order.status,
        failure_code=order.failure_code,
        failure_message=order.failure_message,
    )


def order_view(order: Order) -> OrderView:
    """The shopper's view of an order whose lines are loaded."""
    return OrderView(
        public_id=order.public_id,
        number=order.number,
        status=order.status,
        currency=order.currency,
        total_amount=order.total_amount,
        email=order.email,
        name=order.name,
        ship_line1=order.ship_line1,
        ship_line2=order.ship_line2,
        ship_city=order.ship_city,
        ship_postal_code=order.ship_postal_code,
        ship_country=order.ship_country,
        failure_code=order.failure_code,
        failure_message=order.failure_message,
        lines=tuple(
            LineView(
                sku=line.sku,
                title=line.title,
                quantity=line.quantity,
                unit_amount=line.unit_amount,
                total_amount=line.total_amount,
                subtotal_amount=line.unit_amount * line.quantity,
                discount_amount=line.discount_amount,
                tax_amount=line.tax_amount,
                tax_rate_bp=line.tax_rate_bp,
            )
            for line in order.lines
        ),
        subtotal_amount=order.subtotal_amount,
        discount_amount=order.discount_amount,
        shipping_amount=order.shipping_amount,
        tax_amount=order.tax_amount,
        tax_included=order.tax_included,
        shipping_title=order.shipping_title,
        discount_codes=tuple(order.discount_codes.split()) if order.discount_codes else (),
        ship_region=order.ship_region,
    )


def find_order_view(factory: sessionmaker[Session], public_id: str) -> OrderView | None:
    """The order with this public id, or None; an id that cannot be one is not looked up."""
    if not 16 <= len(public_id) <= 32 or not _PUBLIC_ID_SHAPE.issuperset(public_id):
        return None
    with read_session(factory) as session:
        order = order_by_public_id(session, public_id)
        if order is None:
            return None
        return replace(order_view(order), pickup=order_pickup(session, order, utcnow()))
