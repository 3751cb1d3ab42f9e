"""A cart priced from the database: the one place that turns ``(sku, quantity)`` lines, an
address, codes and a shipping choice into a :class:`~.checkout_model.Quote`.

Every way in uses it with whatever session it holds: the checkout page and its live
totals (a read session), :func:`~.orders.place_order` (inside the transaction that writes
the order, so the prices charged are the prices read there), the REST API and UCP. The
pricing itself is :func:`.pricing.price`; this module only reads its inputs:

- the products, now (unknown, archived, over a per-order maximum, mixed currencies: the
  same refusals as :func:`.carts.cart_problem`, naming the line);
- the shop's country and tax mode (``shop_profile``);
- the codes that apply (:func:`.discounts.evaluate`: a code that does not apply is a
  warning, never an error);
- the shipping options for the address (:func:`.shipping.options_for`, priced on the goods
  after discounts).

Nothing in a request sets a price or a total: callers pass skus, quantities, an address,
codes and an option id, and read the answer. The currency to price in is the one
:func:`.price_lists.checkout_currency` chose (the link's, the locale's or the products'
own): every line is then priced from its price list in it, never converted.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from buybutton_server.db.models import Product, ProductPrice, ShippingZone, ShopProfile
from buybutton_server.domain import discounts, shipping
from buybutton_server.domain.checkout_model import (
    MAX_LINES,
    Address,
    CartLine,
    CartProduct,
    PickupPoint,
    Quote,
    ShippingOption,
    TaxClass,
    TaxLine,
    TaxProvider,
    TaxRequest,
    TaxResult,
)
from buybutton_server.domain.pricing import price
from buybutton_server.domain.tax import BuiltinTax
from buybutton_server.errors import InvalidInput, ProductUnavailable

BUILTIN_TAX = BuiltinTax()

_P = Product.__table__.c
_PRODUCTS = select(
    _P.id,
    _P.sku,
    _P.title,
    _P.price_amount,
    _P.currency,
    _P.active,
    _P.max_per_order,
    _P.requires_shipping,
    _P.weight_grams,
    _P.tax_class,
    _P.variant_group,
).where(_P.sku.in_(bindparam("skus", expanding=True)))
_LISTED = select(ProductPrice.product_id, ProductPrice.amount).where(
    ProductPrice.currency == bindparam("currency"),
    ProductPrice.product_id.in_(bindparam("ids", expanding=True)),
)
_SHOP = select(ShopProfile.country, ShopProfile.prices_include_tax, ShopProfile.collect_tax).where(
    ShopProfile.id == 1
)
_ANY_ZONE = select(ShippingZone.id).limit(1)
# A shop with no shipping zones at all ships anywhere for free (as before zones existed);
# once it has one zone, only its zones' rates are offered.
FREE_ANYWHERE = ShippingOption(id="free", title="Free shipping", amount=0)


class NoTax:
    """The tax provider of a shop that does not collect tax: every line at rate 0."""

    name = "none"

    def compute(self, request: TaxRequest) -> TaxResult:
        nothing = TaxLine(0, 0)
        return TaxResult(lines=tuple(nothing for _ in request.lines), shipping=nothing)


NO_TAX = NoTax()


@dataclass(frozen=True, slots=True)
class ShopTax:
    """How the shop prices: its own country (ISO code), whether prices include tax, and
    whether it collects tax at all."""

    country: str = "US"
    prices_include_tax: bool = False
    collect_tax: bool = False


@dataclass(frozen=True, slots=True)
class QuoteRequest:
    """What a shopper (or an agent) chose: never a price.

    ``lines`` are ``(sku, quantity)`` in the order shown; ``ship_to`` is None until an
    address (or at least a country) is known; ``codes`` as typed (any case);
    ``shipping_option`` an id from an earlier quote (``rate-12``), or None for the
    cheapest; ``email`` counts per-customer code limits."""

    lines: tuple[tuple[str, int], ...]
    ship_to: Address | None = None
    codes: tuple[str, ...] = ()
    shipping_option: str | None = None
    email: str | None = None
    pickup: PickupPoint | None = None
    # The currency to price in (:func:`.price_lists.checkout_currency`); None: the
    # products' own.
    currency: str | None = None


def shop_tax(session: Session) -> ShopTax:
    row = session.connection().execute(_SHOP).first()
    if row is None:
        return ShopTax()
    return ShopTax(
        country=row.country or "US",
        prices_include_tax=bool(row.prices_include_tax),
        collect_tax=bool(row.collect_tax),
    )


def cart_lines(
    session: Session, wanted: Sequence[tuple[str, int]], *, currency: str | None = None
) -> tuple[CartLine, ...]:
    """The products of ``wanted``, read now, as priced cart lines in the same order; in
    ``currency`` from the price lists when given (a product's own currency: its price).

    Raises ``InvalidInput`` (no lines, over MAX_LINES, a quantity below 1 or over the
    product's maximum per order, mixed currencies, no price in ``currency``: code
    ``currency_not_offered``) or ``ProductUnavailable`` (an unknown or archived product),
    naming the line when there are several."""
    if not 1 <= len(wanted) <= MAX_LINES:
        raise InvalidInput(f"A checkout holds 1 to {MAX_LINES} products, not {len(wanted)}.")
    skus = sorted({sku for sku, _ in wanted})
    rows = {row.sku: row for row in session.connection().execute(_PRODUCTS, {"skus": skus})}
    several = len(wanted) > 1
    listed = _listed(session, rows.values(), currency) if currency else {}
    lines: list[CartLine] = []
    for position, (sku, quantity) in enumerate(wanted, start=1):
        where = f"Line {position}: " if several else ""
        row = rows.get(sku)
        if row is None or not row.active:
            if not several:
                raise ProductUnavailable()
            what = "no product " + sku if row is None else f"taken {row.title} ({sku}) down"
            raise ProductUnavailable(f"{where}the shop has {what}.")
        if quantity < 1:
            raise InvalidInput(f"{where}the quantity must be at least 1.")
        if quantity > row.max_per_order:
            of = f" of {row.title}" if several else ""
            raise InvalidInput(f"{where}at most {row.max_per_order}{of} per order.")
        unit, priced_in = row.price_amount, row.currency
        if currency and currency != row.currency:
            if row.id not in listed:
                raise InvalidInput(
                    f"{where}{row.title} has no price in {currency}.", code="currency_not_offered"
                )
            unit, priced_in = listed[row.id], currency
        if lines and priced_in != lines[0].product.currency:
            raise InvalidInput(
                "These products are priced in different currencies; buy them separately."
            )
        product = CartProduct(
            product_id=row.id,
            sku=row.sku,
            title=row.title,
            unit_amount=unit,
            currency=priced_in,
            requires_shipping=bool(row.requires_shipping),
            weight_grams=row.weight_grams or 0,
            tax_class=TaxClass(row.tax_class),
            collection=row.variant_group,
        )
        lines.append(CartLine(product, quantity))
    return tuple(lines)


def _listed(session: Session, rows: Iterable[Any], currency: str) -> dict[int, int]:
    """The list prices in ``currency`` of the products (id to minor units) whose own
    currency it is not; none read when it is every product's own."""
    ids = sorted(row.id for row in rows if row.currency != currency)
    if not ids:
        return {}
    found = session.connection().execute(_LISTED, {"currency": currency, "ids": ids})
    return {int(product_id): int(amount) for product_id, amount in found}


def quote(
    session: Session,
    request: QuoteRequest,
    *,
    now: datetime,
    tax: TaxProvider | None = None,
    lines: Sequence[CartLine] | None = None,
) -> Quote:
    """Price ``request`` with what the database holds now (``lines`` when the caller has
    just read them with :func:`cart_lines`). Raises what :func:`cart_lines` and
    :func:`.pricing.price` raise; a code that does not apply, a shipping option no longer
    offered or an address no zone serves are messages in the quote (the last one an error:
    ``quote.blocked``). ``tax`` replaces the built-in table (a shop that does not collect
    tax pays none whatever ``tax`` is)."""
    cart = (
        tuple(lines)
        if lines is not None
        else cart_lines(session, request.lines, currency=request.currency)
    )
    currency = cart[0].product.currency
    grants, notes = discounts.evaluate(
        session, request.codes, cart, currency=currency, email=request.email, now=now
    )
    goods = sum(line.subtotal for line in cart) - sum(sum(grant.line_amounts) for grant in grants)
    shop = shop_tax(session)
    ship_to, chosen = request.ship_to, request.shipping_option
    if request.pickup is not None:  # collected at a store: nothing to ship, its place's tax
        options: tuple[ShippingOption, ...] = (request.pickup.option,)
        ship_to, chosen = request.pickup.address, request.pickup.option.id
        if not ship_to.country:
            ship_to = Address(country=shop.country)
    else:
        options = shipping.options_for(session, ship_to, cart, max(goods, 0), currency)
        if not options and shipping.needs_address(cart) and _no_zones(session):
            options = (FREE_ANYWHERE,)
    return price(
        cart,
        currency=currency,
        grants=grants,
        shipping_options=options,
        selected_shipping_id=chosen,
        ship_to=ship_to,
        origin_country=shop.country,
        prices_include_tax=shop.prices_include_tax,
        tax=(tax or BUILTIN_TAX) if shop.collect_tax else NO_TAX,
        messages=notes,
    )


def _no_zones(session: Session) -> bool:
    return session.connection().execute(_ANY_ZONE).first() is None
