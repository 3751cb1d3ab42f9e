"""Products: the rules a product keeps, look-ups, changes, and the idempotent catalog import
(CSV or JSON, upsert by sku).

The rules (``check_*`` and :func:`price_in_minor_units`) are the one definition of a valid
product: the import applies them to a file's rows and the API's request types to JSON bodies,
so both refuse the same things with the same words. Each raises :class:`InvalidInput`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy import Table, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from buybutton.money import is_currency, parse_amount
from buybutton.tokens import MAX_QUANTITY, SKU_PATTERN
from buybutton_server.db import fetch_all
from buybutton_server.db.models import Product
from buybutton_server.errors import Conflict, InvalidInput, NotFound

_FIELDS = (
    "sku",
    "title",
    "description",
    "image_url",
    "price",
    "price_amount",
    "currency",
    "stock",
    "requires_shipping",
    "active",
    "variant_group",
    "variant_label",
    "max_per_order",
)


# -- the rules ----------------------------------------------------------------------------

SKU_MAX, TITLE_MAX, DESCRIPTION_MAX, IMAGE_URL_MAX, LABEL_MAX = 64, 200, 5000, 2048, 64
PRICE_MAX = 20  # characters of a decimal price such as "24.90"
AMOUNT_MAX = 10**12  # minor units
STOCK_MAX = 10**9


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


def check_image_url(url: str) -> str:
    """An http(s) URL or a path on this site; empty means no image."""
    check_length("image_url", url, IMAGE_URL_MAX)
    if url and not url.startswith(("https://", "http://", "/")):
        raise InvalidInput("image_url must be an http(s) URL or a path starting with /")
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
    """Products with ids above ``after``, oldest first, up to ``limit``."""
    query = select(Product).where(Product.id > after).order_by(Product.id).limit(limit)
    if not include_archived:
        query = query.where(Product.active.is_(True))
    return list(session.scalars(query))


def create_product(session: Session, sku: str, fields: Mapping[str, Any]) -> Product:
    """A new product; ``fields`` are checked columns (``on_hand`` among them)."""
    product = Product(sku=check_sku(sku), reserved=0, **fields)
    session.add(product)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"A product with sku {sku!r} exists already.") from None
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
_PRODUCT_VIEW = select(*(_PRODUCTS.c[name] for name in ProductView.__slots__)).where(
    _PRODUCTS.c.sku == bindparam("sku")
)


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
    select(*(_PRODUCTS.c[name] for name in ProductView.__slots__))
    .where(_PRODUCTS.c.variant_group == bindparam("group"))
    .where(_PRODUCTS.c.active.is_(True))
    .order_by(_PRODUCTS.c.price_amount, _PRODUCTS.c.sku)
)


def variants_of(factory: sessionmaker[Session], product: ProductView) -> list[ProductView]:
    """The active products of ``product``'s variant group, itself included, cheapest first."""
    if not product.variant_group:
        return []
    return [_view(row) for row in fetch_all(factory, _VARIANTS, {"group": product.variant_group})]


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


def read_catalog_file(path: Path) -> list[tuple[str, Mapping[str, Any]]]:
    """Read rows with the place each came from ('line 3', 'item 2') for error messages."""
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CatalogImportError([f"line {exc.lineno}: not valid JSON ({exc.msg})"]) from None
        items = data.get("products") if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise CatalogImportError(['JSON must be a list of products or {"products": [...]}'])
        return [(f"item {i}", item) for i, item in enumerate(items, start=1)]
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        unknown = set(reader.fieldnames or ()) - set(_FIELDS)
        if unknown:
            raise CatalogImportError([f"line 1: unknown column(s) {', '.join(sorted(unknown))}"])
        # DictReader's line_num counts physical lines, so quoted newlines still point right.
        rows: list[tuple[str, Mapping[str, Any]]] = []
        for row in reader:
            rows.append((f"line {reader.line_num}", row))
        return rows
    raise CatalogImportError([f"{path.name}: use a .csv or .json file"])


def validate_rows(rows: Iterable[tuple[str, Mapping[str, Any]]]) -> list[ProductRow]:
    """Check every row; raise one error listing every problem, or return them all valid."""
    problems: list[str] = []
    valid: list[ProductRow] = []
    seen: dict[str, str] = {}
    for where, raw in rows:
        if not isinstance(raw, Mapping):
            problems.append(f"{where}: expected an object with product fields")
            continue
        try:
            row = _validate_row(raw)
        except InvalidInput as problem:
            problems.append(f"{where}: {problem.message}")
            continue
        if row.sku in seen:
            problems.append(f"{where}: sku {row.sku!r} already appears at {seen[row.sku]}")
            continue
        seen[row.sku] = where
        valid.append(row)
    if problems:
        raise CatalogImportError(problems)
    return valid


def _text(raw: Mapping[str, Any], key: str, *, required: bool = False) -> str:
    value = raw.get(key)
    value = "" if value is None else check_no_nul(key, str(value).strip())
    if required and not value:
        raise InvalidInput(f"{key} is required")
    return value


def _flag(raw: Mapping[str, Any], key: str, default: bool) -> bool:
    value = raw.get(key)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "y"):
        return True
    if text in ("0", "false", "no", "n"):
        return False
    raise InvalidInput(f"{key} must be true or false, got {value!r}")


def _whole(value: Any, name: str) -> int:
    # ASCII digits, at most 30 (the bounds then speak): no "²", no 5,000 digits echoed back.
    text = str(value).strip()
    digits = text.removeprefix("-")
    whole = digits.isascii() and digits.isdecimal() and 0 < len(digits) <= 30
    if isinstance(value, bool | float) or not whole:
        raise InvalidInput(f"{name} must be a whole number, got {value!r:.40}")
    number = int(text)
    if number < 0:
        raise InvalidInput(f"{name} must not be negative, got {number}")
    return number


def _validate_row(raw: Mapping[str, Any]) -> ProductRow:
    """A row of a file: text as the file has it (numbers and flags may be strings), checked
    by the same rules as the API."""
    unknown = set(raw) - set(_FIELDS)
    if unknown:
        raise InvalidInput(f"unknown field(s) {', '.join(sorted(map(str, unknown)))}")
    sku = check_sku(_text(raw, "sku", required=True))
    currency = check_currency(_text(raw, "currency", required=True))
    price, price_amount = raw.get("price"), raw.get("price_amount")
    if isinstance(price, float):
        raise InvalidInput('price must be a string such as "24.90", not a float')
    amount = price_in_minor_units(
        None if price in (None, "") else str(price),
        None if price_amount in (None, "") else _whole(price_amount, "price_amount"),
        currency,
    )
    return ProductRow(
        sku=sku,
        title=check_title(_text(raw, "title", required=True)),
        description=check_length("description", _text(raw, "description"), DESCRIPTION_MAX),
        image_url=check_image_url(_text(raw, "image_url")),
        price_amount=amount,
        currency=currency,
        stock=check_stock(_whole(raw.get("stock", 0) or 0, "stock")),
        requires_shipping=_flag(raw, "requires_shipping", True),
        active=_flag(raw, "active", True),
        variant_group=check_label("variant_group", _text(raw, "variant_group")),
        variant_label=check_label("variant_label", _text(raw, "variant_label")),
        max_per_order=check_max_per_order(_whole(raw["max_per_order"], "max_per_order"))
        if raw.get("max_per_order") not in (None, "")
        else None,
    )


def upsert_products(session: Session, rows: list[ProductRow]) -> ImportResult:
    """Create or update each product by sku, inside the caller's transaction.

    Stock in the file sets ``on_hand``; it may not drop below what checkouts have reserved.
    """
    created = updated = unchanged = 0
    existing = {
        p.sku: p
        for p in session.scalars(select(Product).where(Product.sku.in_([r.sku for r in rows])))
    }
    problems: list[str] = []
    for row in rows:
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
        }
        if row.max_per_order is not None:
            fields["max_per_order"] = row.max_per_order
        product = existing.get(row.sku)
        if product is None:
            session.add(Product(sku=row.sku, reserved=0, **fields))
            created += 1
            continue
        if row.stock < product.reserved:
            problems.append(
                f"sku {row.sku!r}: stock {row.stock} is below the {product.reserved} units "
                "held by checkouts in progress"
            )
            continue
        if all(getattr(product, k) == v for k, v in fields.items()):
            unchanged += 1
            continue
        for key, value in fields.items():
            setattr(product, key, value)
        updated += 1
    if problems:
        raise CatalogImportError(problems)
    session.flush()
    return ImportResult(created=created, updated=updated, unchanged=unchanged)
