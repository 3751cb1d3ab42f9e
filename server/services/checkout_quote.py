"""The checkout page's prices (issue 13): the cart of a link priced for the address, codes
and shipping option the shopper chose, through :func:`~..domain.quoting.quote` (the one
way to price a cart), shaped for the page and for ``POST /c/{token}/quote``.

Nothing here writes: a quote is a read, so the quote endpoint needs no CSRF token and no
rate limit. What is charged is priced again inside the transaction that places the order
(``orders.place_order``), against the total the page showed (``shown_total``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from buybutton.tokens import CheckoutLink
from buybutton_server.db import fetch_all, read_session
from buybutton_server.db.models import ShippingRate, ShippingZoneArea
from buybutton_server.domain import addresses, pickup, quoting
from buybutton_server.domain.checkout_model import Address, Message, Quote, Severity
from buybutton_server.domain.locales import format_money, localize
from buybutton_server.errors import InvalidInput, ProductUnavailable
from buybutton_server.services import checkout
from buybutton_server.services.checkout_details import address_fields, all_codes

MAX_CODES = 5
CODE_MAX_LENGTH = 40
_CODE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
# The fields of an address the price depends on (the rest only matter for the parcel).
PRICED_FIELDS = ("country", "region", "postal_code", "city")
# The countries of every zone with an active rate, read with one prebuilt statement on the
# page's hot path (domain.shipping.shipping_countries asks the same, through the ORM).
_COUNTRIES = (
    select(ShippingZoneArea.country)
    .join(ShippingRate, ShippingRate.zone_id == ShippingZoneArea.zone_id)
    .where(ShippingRate.active.is_(True))
    .distinct()
    .order_by(ShippingZoneArea.country)
)


def shipping_countries(factory: sessionmaker[Session]) -> tuple[str, ...]:
    """The countries the shop ships to, sorted (empty: it ships anywhere)."""
    return tuple(str(row[0]) for row in fetch_all(factory, _COUNTRIES, {}))


def parse_codes(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(codes, refused)`` of what a shopper typed: codes separated by spaces or commas,
    upper-cased, at most :data:`MAX_CODES`; ``refused`` holds what cannot be a code."""
    codes: list[str] = []
    refused: list[str] = []
    for word in re.split(r"[\s,;]+", text[: MAX_CODES * (CODE_MAX_LENGTH + 1)]):
        if not word:
            continue
        if _CODE.match(word) and len(codes) < MAX_CODES:
            if word.upper() not in codes:
                codes.append(word.upper())
        else:
            refused.append(word[:CODE_MAX_LENGTH])
    return tuple(codes), tuple(refused)


def priced_address(fields: Mapping[str, str]) -> tuple[Address | None, str | None]:
    """The part of a (perhaps half-typed) address the price depends on: ``(address,
    None)``, ``(None, None)`` when no country is chosen yet, or ``(None, message)`` for a
    country we do not know. A region is read by name or code ("California" -> CA)."""
    raw = " ".join(str(fields.get("country") or "").split())[:64]
    if not raw:
        return None, None
    code = addresses.country_code(raw)
    if code is None:
        return None, f"We don't know the country “{raw}”."
    region_text = str(fields.get("region") or "")[:100]
    region = addresses.region_code(code, region_text) or ""
    postal = " ".join(str(fields.get("postal_code") or "").split())[:20].upper()
    city = " ".join(str(fields.get("city") or "").split())[:100]
    return Address(country=code, region=region, postal_code=postal, city=city), None


@dataclass(frozen=True, slots=True)
class PageQuote:
    """A quote as the page and the quote endpoint show it: ``data`` is the JSON shape
    (amounts in minor units and formatted), ``quote`` the priced checkout."""

    quote: Quote
    data: dict[str, Any]

    @property
    def total(self) -> int:
        return self.quote.totals.total


def price_cart(
    factory: sessionmaker[Session],
    link: CheckoutLink,
    *,
    lines: Sequence[tuple[str, int]],
    ship_to: Address | None,
    codes: Sequence[str] = (),
    shipping_option: str | None = None,
    email: str | None = None,
    ships: bool = True,
    fulfilment: str = "",
    currency: str | None = None,
) -> PageQuote:
    """Price ``lines`` (the link's, at the quantities shown) for the page, in ``currency``
    (the offer's: :mod:`.checkout_currency`; None: the products' own). Raises what
    ``quoting.quote`` raises for a cart no checkout may hold."""
    method, _, store = fulfilment.partition(":")
    with read_session(factory) as session:
        now = datetime.now(UTC)
        point = None  # a store to pick up (or reserve) at: no shipping, the store's tax
        if method in ("pickup", "reserve") and store and ships:
            point = pickup.pickup_point(session, store[:32], reserve=method == "reserve", now=now)
            ship_to = point.address
        request = quoting.QuoteRequest(
            lines=tuple(lines),
            ship_to=None if point else ship_to,
            codes=all_codes(link, codes),
            shipping_option=shipping_option or None,
            email=email or None,
            pickup=point,
            currency=currency,
        )
        quote = quoting.quote(session, request, now=now)
    return PageQuote(quote, shape(quote, link, ships=ships, address_known=ship_to is not None))


def _money(amount: int, currency: str) -> dict[str, Any]:
    # In the shopper's language on the checkout (views/languages.py), plain elsewhere.
    return {"amount": amount, "formatted": format_money(amount, currency)}


def tax_label(quote: Quote) -> str:
    """``incl. VAT 19%`` (tax in the prices) or ``Sales tax 7.25%`` (added on top); just
    ``VAT`` / ``Tax`` when the lines pay different rates."""
    labels = {line.tax.label for line in quote.lines if line.tax.amount}
    label = labels.pop() if len(labels) == 1 else ""
    if not label:
        vat = any(line.tax.label.startswith("VAT") for line in quote.lines)
        label = "VAT" if vat else "Tax"
    return f"incl. {label}" if quote.totals.prices_include_tax else label


def shape(quote: Quote, link: CheckoutLink, *, ships: bool, address_known: bool) -> dict[str, Any]:
    """The quote as JSON: what ``POST /c/{token}/quote`` answers and the page renders."""
    currency = quote.currency
    totals = quote.totals
    signed = {c.upper() for c in link.codes or ()}
    lines = [
        {
            "sku": line.sku,
            "title": line.title,
            "quantity": line.quantity,
            "unit_price": _money(line.unit_amount, currency),
            "subtotal": _money(line.subtotal, currency),
            "discount": _money(line.discount, currency),
            "tax": {**_money(line.tax.amount, currency), "rate_bp": line.tax.rate_bp},
            "total": _money(line.total, currency),
        }
        for line in quote.lines
    ]
    options = [
        {
            "id": option.id,
            "title": localize(option.title),  # the shop's words; the demo's are in the catalogs
            "estimate": localize(option.delivery_estimate),
            "price": _money(option.amount, currency),
        }
        for option in quote.shipping_options
    ]
    return {
        "currency": currency,
        "lines": lines,
        "totals": {
            "subtotal": _money(totals.subtotal, currency),
            "discount": _money(totals.discount, currency),
            "shipping": _money(totals.fulfillment, currency),
            "tax": {
                **_money(totals.tax, currency),
                "included": totals.prices_include_tax,
                "label": localize(tax_label(quote)),
            },
            "total": _money(totals.total, currency),
        },
        "shipping_options": options,
        "selected_shipping": quote.selected_shipping.id if quote.selected_shipping else None,
        "discounts": [
            {
                "code": grant.code,
                "title": grant.title,
                "signed": grant.code.upper() in signed,
                **_money(grant.amount, currency),
            }
            for grant in quote.discounts
        ],
        "messages": [message_json(m) for m in quote.messages],
        "address_known": address_known,
        "ships": ships,
        "priced": True,
        "blocked": quote.blocked,
    }


def unpriced(
    lines: Sequence[tuple[str, str, int, int]], currency: str, *, ships: bool
) -> dict[str, Any]:
    """The page before its first quote (``(sku, title, quantity, unit amount)`` lines): the
    goods at their prices, shipping and tax still to come. The page's script asks for the
    quote after load; without script, paying prices it and shows the total first."""
    subtotal = sum(quantity * unit for _, _, quantity, unit in lines)
    zero = _money(0, currency)
    return {
        "currency": currency,
        "lines": [
            {
                "sku": sku,
                "title": title,
                "quantity": quantity,
                "unit_price": _money(unit, currency),
                "subtotal": _money(unit * quantity, currency),
                "discount": zero,
                "total": _money(unit * quantity, currency),
            }
            for sku, title, quantity, unit in lines
        ],
        "totals": {
            "subtotal": _money(subtotal, currency),
            "discount": zero,
            "shipping": zero,
            "tax": {**zero, "included": False, "label": "Tax"},
            "total": _money(subtotal, currency),
        },
        "shipping_options": [],
        "selected_shipping": None,
        "discounts": [],
        "messages": [],
        "address_known": False,
        "ships": ships,
        "priced": False,
        "blocked": False,
    }


def message_json(message: Message) -> dict[str, Any]:
    found: dict[str, Any] = {
        "severity": message.severity.value,
        "code": message.code,
        "content": localize(message.content),  # the request's language (CURRENT)
    }
    if message.path:
        found["path"] = message.path
    return found


# The fields the checkout posts that the price depends on (nothing about payment).
QUOTE_FIELDS = (
    "fulfilment",
    "country",
    "region",
    "postal_code",
    "city",
    "line1",
    "codes",
    "shipping_option",
    "quantity",
    "variant",
    "email",
    "method",
)


def _quantity(raw: str, default: int) -> int:
    if not raw:
        return default
    if not (raw.isascii() and raw.isdecimal() and len(raw) <= 2) or not 1 <= int(raw):
        raise InvalidInput("Choose a quantity from the list.", code="invalid_quantity")
    return int(raw)


def quote_form(
    factory: sessionmaker[Session],
    link: CheckoutLink,
    fields: Mapping[str, str],
    *,
    wallet: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """``POST /c/{token}/quote``, and a page shown again: the link's cart priced for the
    form's fields (:data:`QUOTE_FIELDS`). ``wallet`` is the wallet's contact when the
    shopper pays with it (its address counts when no street was typed, as when paying).

    Raises ``InvalidInput`` (a quantity the link does not allow, a country we do not know),
    ``ProductUnavailable`` and what ``quoting`` raises; never writes."""
    offer = checkout.load_offer(factory, link, fields.get("variant") or None)
    if offer.problem is not None:
        raise offer.problem
    product = offer.product
    if product is None or not product.active:
        raise ProductUnavailable()
    link = offer.link
    if offer.items:
        lines: tuple[tuple[str, int], ...] = tuple(link.items or ())
    else:
        quantity = _quantity(fields.get("quantity", ""), link.quantity)
        wrong = checkout.quantity_problem(link, product, quantity)
        if wrong:
            raise InvalidInput(wrong, code="invalid_quantity")
        lines = ((product.sku, quantity),)
    ships = offer.requires_shipping
    ship_to: Address | None = None
    shown = address_fields(fields, wallet)
    fulfilment = fields.get("fulfilment", "")
    if ships and not fulfilment.startswith(("pickup:", "reserve:")):
        ship_to, unknown = priced_address(shown)
        if unknown:
            raise InvalidInput(unknown, code="invalid_country")
    codes, refused = parse_codes(fields.get("codes", ""))
    priced = price_cart(
        factory,
        link,
        lines=lines,
        ship_to=ship_to,
        codes=codes,
        shipping_option=fields.get("shipping_option") or None,
        email=fields.get("email") or (wallet or {}).get("email"),
        ships=ships,
        fulfilment=fulfilment,
        currency=product.currency,  # the link's, the locale's or the own (load_offer)
    )
    data = priced.data
    data["messages"] = [
        message_json(
            Message(Severity.WARNING, "discount_code_invalid", f"“{word}” is not a code we know.")
        )
        for word in refused
    ] + data["messages"]
    if wallet is not None:  # what the wallet's sheet shows before the one tap
        data["wallet"] = {
            name: shown[name] for name in ("country", "region", "city", "postal_code", "line1")
        } | {"email": wallet.get("email", ""), "name": wallet.get("name", "")}
    return data
