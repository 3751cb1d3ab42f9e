"""Several products in one checkout ("shop the look"): the lines a link or a permalink
asks for, read against the catalog and checked line by line.

A multi-item link (``CheckoutLink.items``) sells each line at its signed quantity; nothing
in it sets a price. :func:`read_items` reads every line's product in one statement and
:func:`cart_problem` says what is wrong with the cart, naming the line, before a page is
shown or an order placed. ``orders.place_order`` reserves the lines in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.db import fetch_all
from buybutton_server.db.models import Product
from buybutton_server.domain.catalog import VIEW_COLUMNS, ProductView
from buybutton_server.domain.checkout_model import MAX_LINES
from buybutton_server.errors import (
    Conflict,
    InvalidInput,
    NotEnoughStock,
    ProductUnavailable,
    ShopError,
)

_PRODUCTS: Table = Product.metadata.tables["products"]
# One prebuilt statement for up to MAX_LINES skus (unused slots get ""), so the bare SQLite
# reader can run it like the single-product read.
_SLOTS = [f"sku{n}" for n in range(MAX_LINES)]
_BY_SKUS = select(*VIEW_COLUMNS).where(_PRODUCTS.c.sku.in_([bindparam(slot) for slot in _SLOTS]))


@dataclass(frozen=True, slots=True)
class Item:
    """One line of a cart as a page shows it: the product as read now and its quantity."""

    product: ProductView
    quantity: int

    @property
    def total(self) -> int:
        return self.product.price_amount * self.quantity


def products_by_sku(factory: sessionmaker[Session], skus: Sequence[str]) -> dict[str, ProductView]:
    """The products with these skus (at most MAX_LINES), by sku; unknown skus are missing."""
    if len(skus) > MAX_LINES:
        raise ValueError(f"at most {MAX_LINES} skus")
    params = {slot: (skus[n] if n < len(skus) else "") for n, slot in enumerate(_SLOTS)}
    views = (_view(row) for row in fetch_all(factory, _BY_SKUS, params))
    return {view.sku: view for view in views}


def _view(row: tuple[Any, ...]) -> ProductView:
    view = ProductView(*row)
    if type(view.active) is not bool:  # the bare sqlite3 driver answers 0 and 1
        active, ships = bool(view.active), bool(view.requires_shipping)
        view = replace(view, active=active, requires_shipping=ships)
    return view


def read_items(
    factory: sessionmaker[Session], lines: Sequence[tuple[str, int]]
) -> tuple[tuple[Item, ...], ShopError | None]:
    """``(items, problem)``: the lines whose products exist, in the link's order, and what
    stops the cart (None when it can be bought as asked)."""
    found = products_by_sku(factory, [sku for sku, _ in lines][:MAX_LINES])
    items = tuple(Item(found[sku], quantity) for sku, quantity in lines if sku in found)
    return items, cart_problem(lines, found)


def cart_problem(
    lines: Sequence[tuple[str, int]], found: dict[str, ProductView]
) -> ShopError | None:
    """What stops this cart, naming the line: an unknown or archived product
    (``ProductUnavailable``, 404), more than MAX_LINES lines, a quantity over the product's
    per-order maximum or products priced in different currencies (``InvalidInput``, 422)."""
    if not 1 <= len(lines) <= MAX_LINES:
        return InvalidInput(f"A checkout holds 1 to {MAX_LINES} products, not {len(lines)}.")
    currencies = set()
    for position, (sku, quantity) in enumerate(lines, start=1):
        product = found.get(sku)
        if product is None:
            return ProductUnavailable(f"Line {position}: the shop has no product {sku}.")
        if not product.active:
            return ProductUnavailable(
                f"Line {position}: the shop has taken {product.title} ({sku}) down."
            )
        if quantity > product.max_per_order:
            return InvalidInput(
                f"Line {position}: at most {product.max_per_order} of {product.title} per "
                f"order, not {quantity}."
            )
        currencies.add(product.currency)
    if len(currencies) > 1:
        return InvalidInput(
            "These products are priced in different currencies; buy them separately."
        )
    return None


class LineShort(NotEnoughStock):
    """A line of a multi-item order that the shelf cannot fill; nothing was reserved."""

    def __init__(self, sku: str, title: str, available: int) -> None:
        self.sku, self.title, self.available = sku, title, available
        if available <= 0:
            message = f"Sorry, the {title} sold out. Nothing was charged and nothing is held."
            code = "sold_out"
        else:
            message = (
                f"Sorry, only {available} of the {title} left. Nothing was charged and "
                "nothing is held."
            )
            code = "not_enough_stock"
        Conflict.__init__(self, message, code=code)
