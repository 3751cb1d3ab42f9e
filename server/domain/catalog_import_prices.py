"""Price lists in the catalog import (issue 16 item 3): one column per currency, ``price_EUR``,
``price_GBP``, ... (docs/quickstart-developer.md, "Import a catalog").

- A column named ``price_`` and an ISO 4217 code, in any case (``price_eur`` is EUR), is a
  price-list column; ``price_amount`` stays the product's own price in minor units. Any other
  ``price_*`` column is refused on line 1, naming it.
- A cell holds the price in that currency's major units, like ``price`` (``"27.00"``;
  ``"1200"`` for JPY); empty is no price in that currency.
- The price columns a row gives REPLACE its product's list, as the API's ``prices`` does: a
  currency whose cell is empty leaves the list, and a row whose price cells are all empty
  clears it. A file (or a JSON item) without price columns leaves the list as it is.
- A row's list is checked by the API's own rules: :func:`.price_lists.check_list_price`
  (amount bounds, the currency's own exponent) and :func:`.price_lists.replace_prices` (not
  the product's own currency, at most :data:`.price_lists.LIST_MAX` currencies), so a bad
  row is refused with its line number before anything is written; the lists are then
  written in bulk statements, in the import's transaction (all or nothing).
- A row that changes a product's currency to one in its (kept) list is refused, as the API
  refuses it (:func:`.price_lists.check_own_currency_unlisted`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.orm import Session

from buybutton.money import decimal_string
from buybutton_server.db.models import Product, ProductPrice
from buybutton_server.domain.catalog import (
    CatalogImportError,
    ImportPlan,
    ImportResult,
    ProductRow,
    check_currency,
)
from buybutton_server.domain.price_lists import check_list_price, replace_prices
from buybutton_server.errors import InvalidInput

PREFIX = "price_"
PriceList = tuple[tuple[str, int], ...]  # (currency, minor units), sorted by currency
_OWN_PRICE = "price_amount"  # the product's own price in minor units, not a list column
_CHUNK = 500  # skus per look-up


def is_price_column(name: object) -> bool:
    """``price_EUR`` (any case) and ``price_xyz`` alike: the name says price list; whether
    the code is a currency is checked by :func:`header_problems` / :func:`row_prices`."""
    return isinstance(name, str) and name.lower().startswith(PREFIX) and name.lower() != _OWN_PRICE


def _shown_name(name: str) -> str:
    return PREFIX + name[len(PREFIX) :].upper()


def header_problems(names: Iterable[str]) -> list[str]:
    """Line 1's problems with its price-list columns: each must name an ISO 4217 code."""
    problems = []
    for name in names:
        if not is_price_column(name):
            continue
        try:
            check_currency(name[len(PREFIX) :].upper())
        except InvalidInput as problem:
            problems.append(
                f"line 1: column {_shown_name(name)}: {problem.message} (a price-list column "
                "is price_ and a currency code: price_EUR, price_GBP, ...)"
            )
    return problems


def row_prices(raw: Mapping[Any, Any], currency: str | None) -> tuple[PriceList | None, list[str]]:
    """The list a row gives (None: the row has no price column) and its problems, each
    naming its column. ``currency`` is the row's own (None when that is wrong itself)."""
    keys = [key for key in raw if is_price_column(key)]
    if not keys:
        return None, []
    problems: list[str] = []
    entries: list[tuple[str, int]] = []
    for key in keys:
        value = raw[key]
        if value is None or (isinstance(value, str) and not value.strip()):
            continue  # no price in this currency
        shown = _shown_name(key)
        if isinstance(value, float | bool):
            problems.append(f'{shown} must be a string such as "24.90", not {value!r}')
            continue
        try:
            code = check_currency(key[len(PREFIX) :].upper())
            entries.append((code, check_list_price(str(value).strip(), code)))
        except InvalidInput as problem:
            problems.append(f"{shown}: {problem.message}")
    if problems or currency is None:
        return None, problems
    wrong = _list_problem(currency, tuple(code for code, _ in entries))
    return (None, [wrong]) if wrong else (tuple(sorted(entries)), [])


@functools.lru_cache(maxsize=1024)
def _list_problem(currency: str, codes: tuple[str, ...]) -> str | None:
    """The API's :func:`.replace_prices` on a product of ``currency`` with nothing stored yet,
    for a list of ``codes`` (the amounts are checked already): its own currency listed, a
    currency twice, more than LIST_MAX. Kept per shape: a file's rows share a few."""
    try:
        replace_prices(Product(currency=currency), [(code, 1) for code in codes])
    except InvalidInput as problem:
        return problem.message
    return None


# -- planning and writing -------------------------------------------------------------------


@dataclass(slots=True)
class PricePlan:
    """The price lists an import changes: for each sku, its list before and after."""

    lists: dict[str, tuple[PriceList, PriceList]] = field(default_factory=dict)
    only: int = 0  # products the plan leaves unchanged but for their list

    def result(self, plan: ImportPlan) -> ImportResult:
        """``plan``'s counts, with a product whose list alone changes counted updated."""
        counts = plan.result
        return ImportResult(
            counts.created, counts.updated + self.only, counts.unchanged - self.only
        )

    def describe(self, plan: ImportPlan) -> list[str]:
        """``plan``'s change lines, each followed by its list's change; then the products
        whose list alone changes."""
        lines = []
        for change in plan.changes:
            text = change.describe()
            if change.sku in self.lists:
                before, after = self.lists[change.sku]
                was = "" if change.created else f"{_listed(before)} -> "
                text += f"; prices {was}{_listed(after)}"
            lines.append(text)
        described = {change.sku for change in plan.changes}
        lines += [
            f"update {sku}: prices {_listed(before)} -> {_listed(after)}"
            for sku, (before, after) in self.lists.items()
            if sku not in described
        ]
        return lines


def _listed(prices: PriceList) -> str:
    return ", ".join(f"{code} {decimal_string(amount, code)}" for code, amount in prices) or "none"


_LISTS = (
    select(Product.sku, ProductPrice.currency, ProductPrice.amount)
    .join(ProductPrice, ProductPrice.product_id == Product.id)
    .where(Product.sku.in_(bindparam("skus", expanding=True)))
)


def _stored(session: Session, skus: list[str]) -> dict[str, PriceList]:
    found: dict[str, list[tuple[str, int]]] = {}
    for start in range(0, len(skus), _CHUNK):
        rows = session.execute(_LISTS, {"skus": skus[start : start + _CHUNK]})
        for sku, currency, amount in rows:
            found.setdefault(sku, []).append((currency, amount))
    return {sku: tuple(sorted(entries)) for sku, entries in found.items()}


def plan_prices(session: Session, rows: list[ProductRow], plan: ImportPlan) -> PricePlan:
    """Compare the rows' lists with the stored ones; write nothing. Raises for a row that
    makes a product's currency one its kept list holds."""
    stored = _stored(session, [row.sku for row in rows])
    changed = {change.sku for change in plan.changes}
    prices = PricePlan()
    problems = []
    for row in rows:
        before = stored.get(row.sku, ())
        if row.prices is None:
            if any(code == row.currency for code, _ in before):
                problems.append(
                    f"sku {row.sku!r}: {row.currency} is in this product's price list: give "
                    f"a price_{row.currency} column left empty to remove it from the list"
                )
            continue
        if row.prices != before:
            prices.lists[row.sku] = (before, row.prices)
            if row.sku not in changed:
                prices.only += 1
    if problems:
        raise CatalogImportError(problems)
    return prices


def apply_prices(session: Session, prices: PricePlan) -> None:
    """Write the changed lists inside the caller's transaction, after :func:`.apply_plan`
    (new products have their ids then): each changed list's rows deleted and its new ones
    inserted, in bulk statements per chunk. The lists were checked row by row already."""
    skus = list(prices.lists)
    for start in range(0, len(skus), _CHUNK):
        chunk = skus[start : start + _CHUNK]
        found = session.execute(select(Product.sku, Product.id).where(Product.sku.in_(chunk)))
        ids = {sku: product_id for sku, product_id in found}
        session.execute(
            delete(ProductPrice)
            .where(ProductPrice.product_id.in_(list(ids.values())))
            .execution_options(synchronize_session=False)
        )
        rows = [
            {"product_id": ids[sku], "currency": code, "amount": amount}
            for sku in chunk
            for code, amount in prices.lists[sku][1]
        ]
        if rows:
            session.execute(insert(ProductPrice), rows)
    session.flush()
