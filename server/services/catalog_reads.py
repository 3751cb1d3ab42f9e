"""What shoppers and embeds read about products: the public product JSON, the product a
page shows, and the merchant's list of products to pick from.

Reads only, each one prebuilt statement through ``fetch_all`` (the bare SQLite reader on a
SQLite file): these answer every widget and product page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, sessionmaker

from buybutton.money import format_amount
from buybutton.tokens import SKU_PATTERN
from buybutton.urls import absolute
from buybutton_server.db import fetch_all
from buybutton_server.db.models import Product
from buybutton_server.domain.catalog import ProductView, product_view, variants_of
from buybutton_server.domain.locales import format_money
from buybutton_server.domain.vocabulary import is_low_stock, money_json
from buybutton_server.errors import ProductUnavailable
from buybutton_server.services.checkout_currency import in_currency

# A shopper picks at most this many in the widget's quantity menu.
QUANTITY_CHOICES = 10
# The storefront index shows at most this many products (one per variant group).
STOREFRONT_MAX = 500

_ACTIVE_PRODUCTS = (
    select(Product.sku, Product.title).where(Product.active.is_(True)).order_by(Product.title)
)


def price_json(product: ProductView) -> dict[str, Any]:
    """Money as everywhere (amount, currency, decimal), plus the text a widget shows."""
    amount, currency = product.price_amount, product.currency
    # In the asking browser's language for the widget (views/public.py), plain elsewhere.
    return {**money_json(amount, currency), "formatted": format_money(amount, currency)}


def for_sale(sessions: sessionmaker[Session], sku: str) -> ProductView | None:
    """The product with ``sku`` if it is a well-formed sku of an active product."""
    product = product_view(sessions, sku) if SKU_PATTERN.match(sku) else None
    return product if product is not None and product.active else None


def active_product(sessions: sessionmaker[Session], sku: str) -> ProductView:
    """Like :func:`for_sale`, raising :class:`ProductUnavailable` when there is none."""
    product = for_sale(sessions, sku)
    if product is None:
        raise ProductUnavailable()
    return product


def public_product(
    sessions: sessionmaker[Session],
    sku: str,
    *,
    base_url: str,
    overlay: bool,
    currency: str | None = None,
) -> dict[str, Any] | None:
    """``GET /api/public/products/{sku}``: what a widget shows, or None when not for sale.

    ``overlay`` says whether the asking page may frame the checkout (a registered origin).
    Prices are the checkout's (``currency``: the link's; else the locale's; else the own)."""
    product = in_currency(sessions, product_view(sessions, sku), currency)
    if product is None or not product.active:
        return None
    available = product.available
    return {
        "sku": product.sku,
        "title": product.title,
        "description": product.description,
        "image_url": absolute(base_url, product.image_url) or None,
        "price": price_json(product),
        "in_stock": available > 0,
        # Exact counts only when they help a shopper decide ("only 3 left").
        "low_stock": available if is_low_stock(available) else None,
        "max_quantity": min(available, QUANTITY_CHOICES, product.max_per_order),
        "variants": [
            {
                "sku": v.sku,
                "label": v.variant_label or v.title,
                "price": price_json(v),
                "in_stock": v.available > 0,
            }
            for v in (in_currency(sessions, v, currency) for v in variants_of(sessions, product))
        ],
        "overlay": overlay,
    }


def active_products(sessions: sessionmaker[Session]) -> list[tuple[str, str]]:
    """``(sku, title)`` of every product for sale, by title: the builder's product menu."""
    return [(sku, title) for sku, title in fetch_all(sessions, _ACTIVE_PRODUCTS, {})]


_SHOP_WINDOW = (
    select(
        Product.sku,
        Product.title,
        Product.image_url,
        Product.price_amount,
        Product.currency,
        Product.on_hand - Product.reserved,
        Product.variant_group,
    )
    .where(Product.active.is_(True))
    .order_by(Product.title, Product.price_amount, Product.sku)
    .limit(bindparam("most"))
    .offset(bindparam("skip"))
)
_CURRENCIES = (
    select(Product.currency)
    .where(Product.active.is_(True))
    .group_by(Product.currency)
    .order_by(func.count().desc(), Product.currency)
)


def shop_currency(sessions: sessionmaker[Session]) -> str:
    """The currency most active products are priced in (USD for an empty shop): the
    dashboard shows no revenue as ``$0.00`` in it rather than a bare 0."""
    rows = fetch_all(sessions, _CURRENCIES, {})
    return str(rows[0][0]) if rows else "USD"


# Enough rows for STOREFRONT_MAX entries when variant groups have a few variants each.
_WINDOW_SIZE = {"most": STOREFRONT_MAX * 4, "skip": 0}


@dataclass(frozen=True, slots=True)
class ShopItem:
    """One entry of the storefront index: a product, or a variant group by its cheapest."""

    sku: str
    title: str
    price: str  # formatted, "from $12.00" when the group's variants differ in price
    image_url: str  # absolute, or "" when the product has none
    page_url: str  # the public product page, /p/{sku}, on this site
    in_stock: bool


def storefront(sessions: sessionmaker[Session], base_url: str) -> list[ShopItem]:
    """``GET /``: the active products by title, a variant group once (its cheapest variant,
    in stock if any variant is), at most :data:`STOREFRONT_MAX` entries."""
    groups: dict[str, list[tuple[Any, ...]]] = {}
    order: list[list[tuple[Any, ...]]] = []
    for row in fetch_all(sessions, _SHOP_WINDOW, _WINDOW_SIZE):
        group = row[6]
        if group is None:
            order.append([row])
        elif group in groups:
            groups[group].append(row)
        else:
            groups[group] = [row]
            order.append(groups[group])
    items = []
    for rows in order[:STOREFRONT_MAX]:
        sku, title, image, amount, currency, _, _ = min(rows, key=lambda r: (r[3], r[0]))
        varies = len({(r[3], r[4]) for r in rows}) > 1
        price = format_amount(amount, currency)
        items.append(
            ShopItem(
                sku=sku,
                title=title,
                price=f"from {price}" if varies else price,
                image_url=absolute(base_url, image) if image else "",
                page_url=f"/p/{sku}",
                in_stock=any(r[5] > 0 for r in rows),
            )
        )
    return items
