"""A product's price list: exact prices in currencies other than its own, never converted.

The product's own currency is priced by the product (``price_amount``); the list holds the
others, one price per currency, each more than zero.

The checkout's currency is chosen once (:func:`choose`, docs/languages.md "Prices per
currency"): the link's currency if every line has a price in it, else the currency of the
shopper's locale territory (``de-CH``: CHF; a bare ``de`` has none) if every line has a
price in it, else the products' own. The cart is then priced in it from the lists
(:func:`.quoting.cart_lines`); nothing is ever converted.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence

from babel.numbers import get_territory_currencies
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.db import fetch_all
from buybutton_server.db.models import Product, ProductPrice
from buybutton_server.domain.catalog import AMOUNT_MAX, check_currency, check_price
from buybutton_server.errors import InvalidInput, NotFound

LIST_MAX = 50  # currencies in one product's list


def check_list_amount(amount: int) -> int:
    """A list price in minor units: more than zero (a free product has no price list)."""
    if not 1 <= amount <= AMOUNT_MAX:
        raise InvalidInput(
            f"a list price must be a whole number from 1 to {AMOUNT_MAX} minor units"
        )
    return amount


def check_list_price(price: str, currency: str) -> int:
    """A decimal list price (``"24.90"``) in ``currency``'s minor units, more than zero."""
    amount = check_price(price, currency)
    if amount == 0:
        raise InvalidInput("a list price must be more than 0")
    return amount


def _other_currency(product: Product, currency: str) -> str:
    code = check_currency(currency)
    if code == product.currency:
        raise InvalidInput(
            f"{code} is this product's own currency: its price there is the product's price, "
            "not a price-list entry"
        )
    return code


def set_price(product: Product, currency: str, amount: int) -> bool:
    """Add ``currency`` to the list at ``amount``, or change its price. True if added."""
    code = _other_currency(product, currency)
    check_list_amount(amount)
    for entry in product.prices:
        if entry.currency == code:
            entry.amount = amount
            return False
    if len(product.prices) >= LIST_MAX:
        raise InvalidInput(f"a price list holds at most {LIST_MAX} currencies")
    product.prices.append(ProductPrice(currency=code, amount=amount))
    return True


def remove_price(product: Product, currency: str) -> None:
    code = currency.strip().upper()
    for entry in product.prices:
        if entry.currency == code:
            product.prices.remove(entry)
            return
    raise NotFound(f"{product.sku} has no price in {code or 'that currency'}.")


def replace_prices(product: Product, prices: Iterable[tuple[str, int]]) -> None:
    """The list becomes exactly ``prices`` (currency, minor units); all checked first."""
    wanted: dict[str, int] = {}
    for currency, amount in prices:
        code = _other_currency(product, currency)
        if code in wanted:
            raise InvalidInput(f"prices lists {code} twice")
        wanted[code] = check_list_amount(amount)
    if len(wanted) > LIST_MAX:
        raise InvalidInput(f"a price list holds at most {LIST_MAX} currencies")
    for entry in list(product.prices):
        if entry.currency not in wanted:
            product.prices.remove(entry)
    for currency, amount in wanted.items():
        set_price(product, currency, amount)


def check_own_currency_unlisted(product: Product) -> None:
    """After a change of the product's currency: that currency must leave the list."""
    if any(entry.currency == product.currency for entry in product.prices):
        raise InvalidInput(
            f"{product.currency} is in this product's price list: remove it there (or give "
            "prices without it) before making it the product's own currency"
        )


# -- the checkout's currency ------------------------------------------------------------------

_LIST_OF = select(ProductPrice.currency, ProductPrice.amount).where(
    ProductPrice.product_id == bindparam("product_id")
)
_P = Product.__table__.c
_CART_PRICES = (
    select(_P.sku, _P.currency, _P.price_amount, ProductPrice.currency, ProductPrice.amount)
    .outerjoin(ProductPrice, ProductPrice.product_id == _P.id)
    .where(_P.sku.in_(bindparam("skus", expanding=True)))
)


_OWN_CURRENCY = select(_P.currency).where(_P.sku == bindparam("sku"))


@functools.lru_cache(maxsize=256)
def territory_currency(region: str | None) -> str | None:
    """The legal tender of a territory (``CH``: CHF, ``GB``: GBP); None without one."""
    if not region or not region.isascii() or not region.isalpha() or len(region) != 2:
        return None
    found = get_territory_currencies(region.upper(), tender=True)
    return str(found[0]) if found else None


def _asked(currency: str | None) -> str | None:
    code = (currency or "").strip().upper()
    return code if len(code) == 3 and code.isascii() and code.isalpha() else None


def choose(
    offered: Sequence[dict[str, int]], base: str, *, asked: str | None, region: str | None
) -> str:
    """The checkout's currency: ``asked`` (the link's) if every line is ``offered`` in it,
    else the currency of ``region`` (the shopper's locale territory) if every line is, else
    ``base`` (the first product's own). ``offered`` holds each line's prices by currency
    (its own and its list)."""
    for wanted in (_asked(asked), territory_currency(region)):
        if wanted and offered and all(wanted in prices for prices in offered):
            return wanted
    return base


def checkout_currency(
    session: Session, skus: Sequence[str], *, asked: str | None, region: str | None
) -> str:
    """:func:`choose` for the products ``skus`` as the database holds them now (the
    placing transaction, the API, UCP). Unknown skus are left to :func:`.quoting.cart_lines`."""
    if not skus:
        return ""
    if not _asked(asked) and not territory_currency(region):  # nothing wanted: the own
        row = session.connection().execute(_OWN_CURRENCY, {"sku": skus[0]}).first()
        return str(row[0]) if row else ""
    offered: dict[str, dict[str, int]] = {}
    rows = session.connection().execute(_CART_PRICES, {"skus": sorted(set(skus))})
    for sku, own, amount, listed, listed_amount in rows:
        prices = offered.setdefault(sku, {own: amount})
        if listed is not None:
            prices[listed] = listed_amount
    if skus[0] not in offered:
        return ""
    base = next(iter(offered[skus[0]]))
    known = [offered[sku] for sku in skus if sku in offered]
    return choose(known, base, asked=asked, region=region)


def list_prices(factory: sessionmaker[Session], product_id: int) -> dict[str, int]:
    """A product's list (currency to minor units), one prebuilt read for the page."""
    return {str(c): int(a) for c, a in fetch_all(factory, _LIST_OF, {"product_id": product_id})}


def offer_prices(
    factory: sessionmaker[Session],
    own: Sequence[tuple[int, str, int]],
    *,
    asked: str | None,
    region: str | None,
) -> tuple[str, tuple[int, ...]]:
    """The checkout's currency for products ``own`` (``(id, currency, amount)`` each) and
    their unit prices in it, reading a price list only when a wanted currency is not the
    product's own (the page's hot path: usually no read at all)."""
    wanted = [c for c in (_asked(asked), territory_currency(region)) if c]
    offered = [{currency: amount} for _, currency, amount in own]
    if any(c not in prices for c in wanted for prices in offered):
        for (product_id, _, _), prices in zip(own, offered, strict=True):
            prices.update(list_prices(factory, product_id))
    base = own[0][1]
    currency = choose(offered, base, asked=asked, region=region)
    if currency == base and any(c != base for _, c, _ in own):
        return base, tuple(amount for _, _, amount in own)  # mixed: the cart refuses it
    return currency, tuple(prices[currency] for prices in offered)
