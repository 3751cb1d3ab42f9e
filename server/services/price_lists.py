"""A product's price list from the admin: add or change one currency's price, or remove it.

The merchant types a price in the currency's major units (``"12.50"``, ``"1200"`` for JPY);
:class:`ListPriceEntry` converts it with the currency's exponent. The API sets the whole list
at once through ``prices`` on a product (:mod:`.catalog`).
"""

from __future__ import annotations

from typing import Self

from pydantic import model_validator
from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.db import write_session
from buybutton_server.domain import catalog, price_lists
from buybutton_server.errors import InvalidInput
from buybutton_server.services.api_types import Input, broken
from buybutton_server.services.catalog import Currency, Price


class ListPriceEntry(Input):
    """One currency's price as a merchant types it, in major units."""

    currency: Currency
    price: Price

    @model_validator(mode="after")
    def _a_price(self) -> Self:
        try:
            price_lists.check_list_price(self.price, self.currency)
        except InvalidInput as problem:
            raise broken(problem.message) from None
        return self

    @property
    def amount(self) -> int:
        """The price in the currency's minor units."""
        return price_lists.check_list_price(self.price, self.currency)


def set_list_price(sessions: sessionmaker[Session], sku: str, entry: ListPriceEntry) -> bool:
    """Add ``entry``'s currency to the product's list, or change its price. True if added."""
    with write_session(sessions) as session:
        product = catalog.require_product(session, sku)
        added = price_lists.set_price(product, entry.currency, entry.amount)
        session.flush()
        return added


def remove_list_price(sessions: sessionmaker[Session], sku: str, currency: str) -> None:
    with write_session(sessions) as session:
        price_lists.remove_price(catalog.require_product(session, sku), currency)
        session.flush()
