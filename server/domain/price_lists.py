"""A product's price list: exact prices in currencies other than its own, never converted.

The product's own currency is priced by the product (``price_amount``); the list holds the
others, one price per currency, each more than zero. Choosing a list price at checkout is not
done yet: the checkout charges the product's own price (see docs/admin.md, "Products").
"""

from __future__ import annotations

from collections.abc import Iterable

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
