"""What a checkout chose besides its lines, and the cart priced from it inside the placing
transaction (:func:`.orders.place_order`): the shopper, the codes, the shipping option or
the store to pick up at (or reserve at), and the total the page showed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from buybutton_server.domain import pickup, price_lists, quoting, shipping
from buybutton_server.domain.checkout_model import (
    Address,
    CartLine,
    PickupPoint,
    Quote,
    Severity,
    TaxProvider,
)
from buybutton_server.errors import InvalidInput, TotalChanged


@dataclass(frozen=True, kw_only=True)
class Shopper:
    email: str
    name: str
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    postal_code: str | None = None
    country: str | None = None
    region: str | None = None


@dataclass(frozen=True, slots=True)
class Choice:
    """What the shopper chose besides the lines: discount codes (as typed), a shipping
    option id from the page's quote (None: the cheapest), the total the page showed them
    (None: not checked), and the tax provider (None: the shop's).

    ``pickup``: the code of the store to collect at instead of delivery (no address, no
    shipping cost); with ``reserve`` the order is a reservation there, paid in store.

    ``currency`` (the link's) and ``region`` (the shopper's locale territory) choose the
    currency priced in (:func:`.price_lists.checkout_currency`); ``shown_currency`` is the
    one the page showed (None: not checked): another one now is ``TotalChanged``."""

    codes: Sequence[str] = ()
    shipping_option: str | None = None
    expected_total: int | None = None
    tax: TaxProvider | None = None
    pickup: str | None = None
    reserve: bool = False
    currency: str | None = None
    region: str | None = None
    shown_currency: str | None = None


@dataclass(frozen=True, slots=True)
class Priced:
    cart: tuple[CartLine, ...]
    quote: Quote
    # The store chosen for pickup or a reservation (checked), else None: delivery.
    point: PickupPoint | None = None


def destination(shopper: Shopper) -> Address | None:
    """Where the shopper's parcel goes, as the pricing engine reads it."""
    if not shopper.country:
        return None
    return Address(
        country=shopper.country,
        region=shopper.region or "",
        city=shopper.city or "",
        postal_code=shopper.postal_code or "",
        line1=shopper.line1 or "",
        line2=shopper.line2 or "",
        name=shopper.name,
    )


def priced(
    session: Session,
    wanted: Sequence[tuple[str, int]],
    shopper: Shopper,
    choice: Choice,
    *,
    now: datetime,
) -> Priced:
    """The cart priced inside the placing transaction: what is charged is what was read
    here. Raises what ``quoting`` raises, what :func:`.pickup.pickup_point` raises for the
    chosen store, ``InvalidInput`` when the quote has an error (no shipping to the
    address) and ``TotalChanged`` when the total or its currency is not the one shown."""
    currency = None
    if choice.currency or choice.region:
        skus = [sku for sku, _ in wanted]
        found = price_lists.checkout_currency(
            session, skus, asked=choice.currency, region=choice.region
        )
        currency = found or None
    cart = quoting.cart_lines(session, wanted, currency=currency)
    point = None
    if choice.pickup:
        point = pickup.pickup_point(session, choice.pickup, reserve=choice.reserve, now=now)
    elif choice.reserve:
        raise InvalidInput("Choose the store to reserve at.", code="store_required")
    request = quoting.QuoteRequest(
        lines=tuple(wanted),
        ship_to=destination(shopper) if shipping.needs_address(cart) and not point else None,
        codes=tuple(choice.codes),
        shipping_option=choice.shipping_option,
        email=shopper.email,
        pickup=point,
        currency=currency,
    )
    quote = quoting.quote(session, request, now=now, tax=choice.tax, lines=cart)
    error = next((m for m in quote.messages if m.severity is Severity.ERROR), None)
    if error is not None:
        raise InvalidInput(error.content, code=error.code)
    if choice.expected_total is not None and choice.expected_total != quote.totals.total:
        raise TotalChanged(quote)
    if choice.shown_currency is not None and choice.shown_currency != quote.currency:
        raise TotalChanged(quote)  # never a silent switch of currency
    return Priced(cart, quote, point)
