"""The checkout's currency for what a page shows (issue 16, docs/languages.md "Prices per
currency"): a link's product, variants or cart lines priced in the link's currency, else the
currency of the request's locale territory, else the products' own, from their price lists
(:mod:`..domain.price_lists`). The order is priced again, the same way, inside the
transaction that places it (:func:`..domain.order_choice.priced`)."""

from __future__ import annotations

from dataclasses import replace
from typing import overload

from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.domain import locales, price_lists
from buybutton_server.domain.carts import Item
from buybutton_server.domain.catalog import ProductView


def locale_region() -> str | None:
    """The territory of the request's language (``de-CH``: CH), None for a bare language or
    outside a shopper's request (views/languages.py sets it)."""
    lang = locales.CURRENT.get()
    return lang.region if lang is not None else None


@overload
def in_currency(
    factory: sessionmaker[Session], product: ProductView, asked: str | None
) -> ProductView: ...
@overload
def in_currency(factory: sessionmaker[Session], product: None, asked: str | None) -> None: ...
def in_currency(
    factory: sessionmaker[Session], product: ProductView | None, asked: str | None
) -> ProductView | None:
    """``product`` priced in the currency its checkout charges (docs/languages.md, "Prices
    per currency"): ``asked`` (the link's), else the locale's, when its list has it. None
    or an archived product as it is."""
    if product is None or not product.active:
        return product
    own = ((product.id, product.currency, product.price_amount),)
    currency, amounts = price_lists.offer_prices(factory, own, asked=asked, region=locale_region())
    if currency == product.currency:
        return product
    return replace(product, currency=currency, price_amount=amounts[0])


def items_in(
    factory: sessionmaker[Session], items: tuple[Item, ...], asked: str | None
) -> tuple[Item, ...]:
    """A cart's lines in one currency that every line is offered in (see :func:`in_currency`)."""
    if not items:
        return items
    own = tuple((i.product.id, i.product.currency, i.product.price_amount) for i in items)
    currency, amounts = price_lists.offer_prices(factory, own, asked=asked, region=locale_region())
    return tuple(
        item
        if item.product.currency == currency
        else replace(item, product=replace(item.product, currency=currency, price_amount=amount))
        for item, amount in zip(items, amounts, strict=True)
    )
