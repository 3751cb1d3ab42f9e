"""Products: the rules a product keeps, look-ups and changes (the catalog import, which
applies these rules to a file's rows, is :mod:`.catalog_import`).

The rules (``check_*`` and :func:`price_in_minor_units`) are the one definition of a valid
product: the import applies them to a file's rows and the API's request types to JSON bodies,
so both refuse the same things with the same words. Each raises :class:`InvalidInput`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from ipaddress import ip_address
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from buybutton.money import decimal_string, is_currency, parse_amount
from buybutton.tokens import MAX_QUANTITY, SKU_PATTERN
from buybutton_server.db import fetch_all
from buybutton_server.db.models import Product
from buybutton_server.domain import inventory
from buybutton_server.domain.feeds_fields import FEED_COLUMNS
from buybutton_server.domain.inventory import STOCK_MAX as STOCK_MAX  # re-exported
from buybutton_server.errors import Conflict, InvalidInput, NotFound

# -- the rules ----------------------------------------------------------------------------

SKU_MAX, TITLE_MAX, DESCRIPTION_MAX, IMAGE_URL_MAX, LABEL_MAX = 64, 200, 5000, 2048, 64
PRICE_MAX = 20  # characters of a decimal price such as "24.90"
AMOUNT_MAX = 10**12  # minor units
WEIGHT_MAX = 10**8  # grams
TAX_CLASSES = ("standard", "reduced", "zero", "digital")


def check_sku(sku: str) -> str:
    if not SKU_PATTERN.fullmatch(sku):
        raise InvalidInput(f"sku {sku!r} may use only letters, digits, '.', '_' and '-' (1-64)")
    return sku


def check_length(name: str, value: str, limit: int) -> str:
    if len(value) > limit:
        raise InvalidInput(f"{name} is longer than {limit} characters")
    return check_no_nul(name, value)


def check_no_nul(name: str, value: str) -> str:
    """PostgreSQL cannot store NUL (U+0000) in text: refuse it here, not with a 500 there."""
    if "\x00" in value:
        raise InvalidInput(f"{name} must not contain NUL characters (U+0000)")
    return value


def check_title(title: str) -> str:
    if not title.strip():
        raise InvalidInput("title is required")
    return check_length("title", title, TITLE_MAX)


def check_currency(code: str) -> str:
    """The ISO 4217 code, upper-cased."""
    if not is_currency(code.upper()):
        raise InvalidInput(f"currency {code!r} is not an ISO 4217 code")
    return code.upper()


def _on_this_machine(url: str) -> bool:
    """An http URL of a loopback host: the demo serves images from its blog on whatever
    address it binds, and browsers treat these as this machine."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        address = ip_address(host) if host != "localhost" else None
    except ValueError:
        return False
    return parts.scheme == "http" and (
        host == "localhost"
        or (address is not None and (address.is_loopback or address.is_unspecified))
    )


def check_image_url(url: str) -> str:
    """An https URL or a path on this site; empty means no image. Shoppers' browsers would
    block (or warn about) an http image on an https page; the one exception is a loopback
    address, which browsers trust and the local demo serves its images from."""
    check_length("image_url", url, IMAGE_URL_MAX)
    on_site = url.startswith("/") and not url.startswith("//")  # "//host/x" is another site
    if url and not (on_site or url.startswith("https://") or _on_this_machine(url)):
        raise InvalidInput("image_url must be an https:// URL or a path starting with /")
    return url


def check_label(name: str, value: str) -> str | None:
    """A variant group or label; empty takes the product out of its group."""
    return check_length(name, value, LABEL_MAX) or None


def check_amount(amount: int) -> int:
    if not 0 <= amount <= AMOUNT_MAX:
        raise InvalidInput(f"price_amount must be a whole number from 0 to {AMOUNT_MAX}")
    return amount


def check_stock(on_hand: int) -> int:
    if not 0 <= on_hand <= STOCK_MAX:
        raise InvalidInput(f"stock must be a whole number from 0 to {STOCK_MAX}")
    return on_hand


def check_max_per_order(limit: int) -> int:
    if not 1 <= limit <= MAX_QUANTITY:
        raise InvalidInput(f"max_per_order must be a whole number from 1 to {MAX_QUANTITY}")
    return limit


def check_price(price: str, currency: str) -> int:
    """A decimal price (``"24.90"``) in ``currency``'s minor units."""
    check_length("price", price, PRICE_MAX)
    try:
        return check_amount(parse_amount(price, currency))
    except ValueError as problem:
        raise InvalidInput(str(problem)) from None


def price_in_minor_units(price: str | None, price_amount: int | None, currency: str) -> int:
    """Exactly one of a decimal ``price`` or ``price_amount`` (minor units)."""
    if (price is None) == (price_amount is None):
        raise InvalidInput('give exactly one of price (e.g. "24.90") or price_amount (minor units)')
    return check_price(price, currency) if price is not None else check_amount(price_amount or 0)


# -- look-ups and changes -----------------------------------------------------------------


def product_by_sku(session: Session, sku: str) -> Product | None:
    return session.scalar(select(Product).where(Product.sku == sku))


def require_product(session: Session, sku: str) -> Product:
    found = product_by_sku(session, sku)
    if found is None:
        raise NotFound(f"No product with sku {sku!r}.")
    return found


def products_after(
    session: Session, after: int, limit: int, *, include_archived: bool = False
) -> list[Product]:
    """Products with ids above ``after``, oldest first, up to ``limit``, price lists loaded."""
    query = select(Product).where(Product.id > after).order_by(Product.id).limit(limit)
    query = query.options(selectinload(Product.prices))
    if not include_archived:
        query = query.where(Product.active.is_(True))
    return list(session.scalars(query))


def create_product(session: Session, sku: str, fields: Mapping[str, Any]) -> Product:
    """A new product; ``fields`` are checked columns, and ``on_hand`` its first stock (at
    the default location)."""
    columns = dict(fields)
    on_hand = int(columns.pop("on_hand", 0))
    product = Product(sku=check_sku(sku), **columns)
    session.add(product)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"A product with sku {sku!r} exists already.") from None
    inventory.open_levels(session, [(product.id, on_hand)])
    session.refresh(product)
    return product


def update_product(session: Session, sku: str, fields: Mapping[str, Any]) -> Product:
    """Change checked columns of a product (never its sku or stock: see inventory)."""
    if {"sku", "on_hand", "reserved"} & set(fields):
        raise InvalidInput("sku and stock cannot change here; stock changes go to /stock.")
    product = require_product(session, sku)
    for name, value in fields.items():
        setattr(product, name, value)
    session.flush()
    return product


def archive_product(session: Session, sku: str) -> Product:
    """The product leaves sale (links show "no longer available"); orders keep it."""
    product = require_product(session, sku)
    product.active = False
    session.flush()
    return product


@dataclass(frozen=True, slots=True)
class ProductView:
    """A product as pages and public JSON show it: a plain read, no ORM identity."""

    id: int
    sku: str
    title: str
    description: str
    image_url: str
    price_amount: int
    currency: str
    on_hand: int
    reserved: int
    requires_shipping: bool
    active: bool
    variant_group: str | None
    variant_label: str | None
    max_per_order: int

    @property
    def available(self) -> int:
        return max(self.on_hand - self.reserved, 0)


# ``metadata.tables`` gives the table typed as a ``Table`` (``__table__`` is a FromClause).
_PRODUCTS: Table = Product.metadata.tables["products"]
# Every column of the view; on_hand and reserved are the derived sums (correlated scalar
# subqueries over the selling locations' levels), so the read stays one statement.
VIEW_COLUMNS = tuple(getattr(Product, name) for name in ProductView.__slots__)
_PRODUCT_VIEW = select(*VIEW_COLUMNS).where(_PRODUCTS.c.sku == bindparam("sku"))


def _view(row: tuple[Any, ...]) -> ProductView:
    view = ProductView(*row)
    if type(view.active) is not bool:  # the bare sqlite3 driver answers 0 and 1
        view = replace(
            view, active=bool(view.active), requires_shipping=bool(view.requires_shipping)
        )
    return view


def product_view(factory: sessionmaker[Session], sku: str) -> ProductView | None:
    """The hot read of every checkout page: one prebuilt statement, no ORM unit of work."""
    rows = fetch_all(factory, _PRODUCT_VIEW, {"sku": sku})
    return _view(rows[0]) if rows else None


_VARIANTS = (
    select(*VIEW_COLUMNS)
    .where(_PRODUCTS.c.variant_group == bindparam("group"))
    .where(_PRODUCTS.c.active.is_(True))
    .order_by(_PRODUCTS.c.price_amount, _PRODUCTS.c.sku)
)


def variants_of(factory: sessionmaker[Session], product: ProductView) -> list[ProductView]:
    """The active products of ``product``'s variant group, itself included, cheapest first."""
    if not product.variant_group:
        return []
    return [_view(row) for row in fetch_all(factory, _VARIANTS, {"group": product.variant_group})]


# -- the import's rows (read and checked by :mod:`.catalog_import`) ----------------------

_CHUNK = 500  # skus per look-up, rows per bulk statement
Progress = Callable[[int, int], None]
"""Called with (rows done, rows in all) while a large import is checked and written."""


@dataclass(frozen=True, slots=True)
class ProductRow:
    """One validated row of an import."""

    sku: str
    title: str
    description: str
    image_url: str
    price_amount: int
    currency: str
    stock: int
    requires_shipping: bool
    active: bool
    variant_group: str | None = None
    variant_label: str | None = None
    max_per_order: int | None = None  # None: keep the product's (10 for a new one)
    weight_grams: int | None = None  # None: keep the product's (0 for a new one)
    tax_class: str | None = None  # None: keep the product's ("standard" for a new one)
    feed: tuple[tuple[str, str | None], ...] = ()  # the feed columns given (feeds_fields)
    prices: tuple[tuple[str, int], ...] | None = None  # price_EUR...: catalog_import_prices


class CatalogImportError(InvalidInput):
    """The import file has problems; ``problems`` lists each as 'line N: what is wrong'."""

    code = "invalid_catalog"

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(problems))


@dataclass(frozen=True, slots=True)
class ImportResult:
    created: int
    updated: int
    unchanged: int


# -- the import's writing ---------------------------------------------------------------

_COLUMNS = (
    "title", "description", "image_url", "price_amount", "currency", "on_hand",
    "requires_shipping", "active", "variant_group", "variant_label", "max_per_order",
    "weight_grams", "tax_class", *FEED_COLUMNS,
)  # fmt: skip
_KEPT = {"max_per_order": 10, "weight_grams": 0, "tax_class": "standard"}  # when not given


@dataclass(frozen=True, slots=True)
class Change:
    """One product the import would create or change: ``fields`` as (name, before, after)."""

    sku: str
    created: bool
    fields: tuple[tuple[str, Any, Any], ...]

    def describe(self) -> str:
        if self.created:
            after = dict((name, new) for name, _, new in self.fields)
            price = decimal_string(after["price_amount"], after["currency"])
            return (
                f"create {self.sku}: {after['title']!r}, {price} {after['currency']}, "
                f"stock {after['on_hand']}"
            )
        return f"update {self.sku}: " + "; ".join(
            f"{name} {old!r} -> {new!r}" for name, old, new in self.fields
        )


@dataclass(slots=True)
class ImportPlan:
    """What an import would do: the statements' rows and the changes to show."""

    creates: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    unchanged: int = 0
    changes: list[Change] = field(default_factory=list)

    @property
    def result(self) -> ImportResult:
        return ImportResult(len(self.creates), len(self.updates), self.unchanged)


def _existing(session: Session, skus: list[str]) -> dict[str, dict[str, Any]]:
    columns = [getattr(Product, name) for name in ("id", "sku", "reserved", *_COLUMNS)]
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(skus), _CHUNK):
        query = select(*columns).where(_PRODUCTS.c.sku.in_(skus[start : start + _CHUNK]))
        for row in session.execute(query).mappings():
            found[row["sku"]] = dict(row)
    return found


def plan_import(session: Session, rows: list[ProductRow]) -> ImportPlan:
    """Compare ``rows`` with the products in the database; write nothing.

    Stock in the file sets ``on_hand``; it may not drop below what checkouts have reserved.
    """
    plan = ImportPlan()
    existing = _existing(session, [row.sku for row in rows])
    problems: list[str] = []
    for row in rows:
        before = existing.get(row.sku)
        fields = {
            "title": row.title,
            "description": row.description,
            "image_url": row.image_url,
            "price_amount": row.price_amount,
            "currency": row.currency,
            "on_hand": row.stock,
            "requires_shipping": row.requires_shipping,
            "active": row.active,
            "variant_group": row.variant_group,
            "variant_label": row.variant_label,
            "max_per_order": row.max_per_order,
            "weight_grams": row.weight_grams,
            "tax_class": row.tax_class,
        }
        fields.update(row.feed)  # the feed columns the row gives (brand, gtin ...)
        unset = [name for name in _KEPT if fields[name] is None]
        if before is None:
            fields.update({name: _KEPT[name] for name in unset})
            plan.creates.append({"sku": row.sku, **fields})
            new = tuple((k, None, v) for k, v in fields.items())
            plan.changes.append(Change(row.sku, True, new))
            continue
        fields.update({name: before[name] for name in unset})
        if row.stock < before["reserved"]:
            problems.append(
                f"sku {row.sku!r}: stock {row.stock} is below the {before['reserved']} units "
                "held by checkouts in progress"
            )
            continue
        old = {k: bool(before[k]) if isinstance(v, bool) else before[k] for k, v in fields.items()}
        changed = tuple((k, old[k], v) for k, v in fields.items() if old[k] != v)
        if not changed:
            plan.unchanged += 1
            continue
        plan.updates.append({"id": before["id"], **fields, "moved": row.stock != before["on_hand"]})
        plan.changes.append(Change(row.sku, False, changed))
    if problems:
        raise CatalogImportError(problems)
    return plan


def apply_plan(session: Session, plan: ImportPlan, progress: Progress | None = None) -> None:
    """Write the plan in bulk statements, inside the caller's transaction. Stock goes to
    the default location (a product's total is set there, as the API's ``/stock`` does)."""
    total = len(plan.creates) + len(plan.updates)
    batches = [(True, plan.creates[i : i + _CHUNK]) for i in range(0, len(plan.creates), _CHUNK)]
    batches += [(False, plan.updates[i : i + _CHUNK]) for i in range(0, len(plan.updates), _CHUNK)]
    done = 0
    for creating, batch in batches:  # ORM bulk statements: one executemany per batch
        rows = [{k: v for k, v in row.items() if k not in ("on_hand", "moved")} for row in batch]
        session.execute(insert(Product) if creating else update(Product), rows)
        if creating:
            stock = {row["sku"]: row["on_hand"] for row in batch}
            ids = session.execute(select(Product.sku, Product.id).where(Product.sku.in_(stock)))
            inventory.open_levels(session, [(id_, stock[sku]) for sku, id_ in ids])
        elif not inventory.set_totals(
            session, [(r["id"], r["on_hand"]) for r in batch if r["moved"]]
        ):
            raise CatalogImportError(["stock changed while importing; import again"])
        done += len(batch)
        if progress is not None:
            progress(done, total)
    session.flush()


def upsert_products(
    session: Session, rows: list[ProductRow], progress: Progress | None = None
) -> ImportResult:
    """Create or update each product (and its price list) by sku, in the caller's transaction."""
    from buybutton_server.domain.catalog_import_prices import apply_prices, plan_prices

    plan = plan_import(session, rows)
    prices = plan_prices(session, rows, plan)
    apply_plan(session, plan, progress)
    apply_prices(session, prices)
    return prices.result(plan)
