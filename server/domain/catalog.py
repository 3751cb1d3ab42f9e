"""Products: look-ups and the idempotent catalog import (CSV or JSON, upsert by sku)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, sessionmaker

from buybutton.money import is_currency, parse_amount
from buybutton.tokens import SKU_PATTERN
from buybutton_server.db import fetch_all
from buybutton_server.db.models import Product

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
)


def product_by_sku(session: Session, sku: str) -> Product | None:
    return session.scalar(select(Product).where(Product.sku == sku))


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

    @property
    def available(self) -> int:
        return max(self.on_hand - self.reserved, 0)


_PRODUCT_VIEW = select(
    *(Product.__table__.c[name] for name in ProductView.__slots__)  # type: ignore[attr-defined]
).where(Product.__table__.c.sku == bindparam("sku"))


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
    select(
        *(Product.__table__.c[name] for name in ProductView.__slots__)  # type: ignore[attr-defined]
    )
    .where(Product.__table__.c.variant_group == bindparam("group"))
    .where(Product.__table__.c.active.is_(True))
    .order_by(Product.__table__.c.price_amount, Product.__table__.c.sku)
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


class CatalogImportError(Exception):
    """The import file has problems; ``problems`` lists each as 'line N: what is wrong'."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


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
        rows = []
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
        except ValueError as exc:
            problems.append(f"{where}: {exc}")
            continue
        if row.sku in seen:
            problems.append(f"{where}: sku {row.sku!r} already appears at {seen[row.sku]}")
            continue
        seen[row.sku] = where
        valid.append(row)
    if problems:
        raise CatalogImportError(problems)
    return valid


def _text(raw: Mapping[str, Any], key: str, *, required: bool = False, limit: int = 200) -> str:
    value = raw.get(key)
    value = "" if value is None else str(value).strip()
    if required and not value:
        raise ValueError(f"{key} is required")
    if len(value) > limit:
        raise ValueError(f"{key} is longer than {limit} characters")
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
    raise ValueError(f"{key} must be true or false, got {value!r}")


def _validate_row(raw: Mapping[str, Any]) -> ProductRow:
    unknown = set(raw) - set(_FIELDS)
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(sorted(map(str, unknown)))}")
    sku = _text(raw, "sku", required=True, limit=64)
    if not SKU_PATTERN.match(sku):
        raise ValueError(f"sku {sku!r} may use only letters, digits, '.', '_' and '-'")
    currency = _text(raw, "currency", required=True, limit=3).upper()
    if not is_currency(currency):
        raise ValueError(f"currency {currency!r} is not an ISO 4217 code")
    price, price_amount = raw.get("price"), raw.get("price_amount")
    if (price in (None, "")) == (price_amount in (None, "")):
        raise ValueError("give exactly one of price (e.g. 24.90) or price_amount (minor units)")
    if price not in (None, ""):
        if isinstance(price, float):
            raise ValueError('price must be a string such as "24.90", not a float')
        amount = parse_amount(str(price), currency)
    else:
        amount = _whole(price_amount, "price_amount")
    stock = _whole(raw.get("stock", 0) or 0, "stock")
    image_url = _text(raw, "image_url", limit=2048)
    if image_url and not image_url.startswith(("https://", "http://", "/")):
        raise ValueError("image_url must be an http(s) URL or a path starting with /")
    return ProductRow(
        sku=sku,
        title=_text(raw, "title", required=True),
        description=_text(raw, "description", limit=5000),
        image_url=image_url,
        price_amount=amount,
        currency=currency,
        stock=stock,
        requires_shipping=_flag(raw, "requires_shipping", True),
        active=_flag(raw, "active", True),
        variant_group=_optional_label(raw, "variant_group"),
        variant_label=_optional_label(raw, "variant_label"),
    )


def _optional_label(raw: Mapping[str, Any], key: str) -> str | None:
    text = _text(raw, key, limit=64)
    return text or None


def _whole(value: Any, name: str) -> int:
    if isinstance(value, bool) or isinstance(value, float):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ValueError(f"{name} must be a whole number, got {value!r}") from None
    if number < 0:
        raise ValueError(f"{name} must not be negative, got {number}")
    return number


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
