"""The catalog import: read a CSV or JSON file and check every row by the product rules of
:mod:`.catalog` (whose ``upsert_products`` then writes them by sku in bulk, all or nothing).

A file is read the way a merchant's spreadsheet writes it: UTF-8 with or without a BOM (any
other encoding is refused with the line of its first bad byte: no guessing), headers in any
case with spaces around them, and commas, semicolons or tabs between the values. Every
problem of every row is reported, one ``line N: …`` (``item N: …`` for JSON) per problem.
Price-list columns (``price_EUR``, ...) are read by :mod:`.catalog_import_prices`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

from buybutton_server.domain.catalog import (
    DESCRIPTION_MAX,
    TAX_CLASSES,
    WEIGHT_MAX,
    CatalogImportError,
    ImportResult,
    ProductRow,
    Progress,
    check_currency,
    check_image_url,
    check_label,
    check_length,
    check_max_per_order,
    check_no_nul,
    check_sku,
    check_stock,
    check_title,
    price_in_minor_units,
)
from buybutton_server.domain.catalog_import_prices import (
    header_problems,
    is_price_column,
    row_prices,
)
from buybutton_server.domain.feeds_fields import FEED_COLUMNS
from buybutton_server.domain.feeds_fields import RULES as FEED_RULES
from buybutton_server.errors import InvalidInput

FIELDS = (
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
    "weight_grams",
    "tax_class",
    *FEED_COLUMNS,
)
_REQUIRED = ("sku", "title", "currency")
_DELIMITERS = (",", ";", "\t")
_EXTRA = "\x00extra"  # the key of values past the header's columns (no column can be named so)
_SAVE_AS_UTF8 = 'save it as UTF-8 (in Excel: Save As > "CSV UTF-8") and import again'
_PROGRESS_EVERY = 500  # rows checked between two progress calls

__all__ = ["CatalogImportError", "ImportResult", "ProductRow", "read_catalog_file"]


# -- reading ------------------------------------------------------------------------------


def decode(data: bytes, name: str) -> str:
    """UTF-8, with or without a BOM; anything else names the line of its first bad byte."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CatalogImportError([f"line 1: {name} is UTF-16; {_SAVE_AS_UTF8}"])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        bad = data[exc.start]
        raise CatalogImportError(
            [f"line {line}: {name} is not UTF-8 (byte 0x{bad:02X}); {_SAVE_AS_UTF8}"]
        ) from None


def read_catalog_file(path: Path) -> list[tuple[str, Mapping[str, Any]]]:
    """Read rows with the place each came from ('line 3', 'item 2') for error messages."""
    kind = path.suffix.lower()
    if kind not in (".csv", ".json", ".tsv"):
        raise CatalogImportError([f"{path.name}: use a .csv or .json file"])
    text = decode(path.read_bytes(), path.name)
    if not text.strip():
        raise CatalogImportError(
            [f"{path.name} is empty: {'give a list of products' if kind == '.json' else _HINT}"]
        )
    rows = read_json(text) if kind == ".json" else read_csv(text)
    if not rows:
        raise CatalogImportError([f"{path.name} has no products: {_NO_ROWS}"])
    return rows


_HINT = "the first line names the columns (sku,title,price,currency,...), one product a line"
_NO_ROWS = "add one product a line under the header"


def read_json(text: str) -> list[tuple[str, Mapping[str, Any]]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CatalogImportError([f"line {exc.lineno}: not valid JSON ({exc.msg})"]) from None
    items = data.get("products") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise CatalogImportError(['JSON must be a list of products or {"products": [...]}'])
    return [(f"item {i}", item) for i, item in enumerate(items, start=1)]


def column_name(header: str) -> str:
    """``" Image URL "`` → ``image_url``: headers in any case, spaces or dashes for ``_``."""
    return "_".join(header.strip().lower().replace("-", " ").split())


def sniff_delimiter(text: str) -> str:
    """The delimiter of the header line: whichever of comma, semicolon and tab it uses most."""
    header = text.lstrip("\r\n").split("\n", 1)[0]
    counts = {d: header.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])  # ties keep the first: the comma
    return best if counts[best] else ","


def _header(cells: list[str]) -> list[str]:
    names = [column_name(cell) for cell in cells]
    problems = [
        f"line 1: column {name!r} appears twice"
        for i, name in enumerate(names)
        if name and name in names[:i]
    ]
    unknown = sorted({n for n in names if n and n not in FIELDS and not is_price_column(n)})
    if unknown:
        problems.append(
            f"line 1: unknown column(s) {', '.join(unknown)}; the columns are {', '.join(FIELDS)}"
            ", and price_EUR, price_USD, ... for a price list"
        )
    problems += header_problems(names)
    missing = [n for n in _REQUIRED if n not in names]
    if missing:
        problems.append(f"line 1: missing column(s) {', '.join(missing)}; {_HINT}")
    if problems:
        raise CatalogImportError(problems)
    return names


def read_csv(text: str) -> list[tuple[str, Mapping[str, Any]]]:
    reader = csv.reader(io.StringIO(text), delimiter=sniff_delimiter(text))
    names = _header(next(reader, []))
    rows: list[tuple[str, Mapping[str, Any]]] = []
    # The reader's line_num counts physical lines, so quoted newlines still point right.
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue  # a blank line, or a spreadsheet's row of empty cells
        row: dict[str, Any] = {}
        extra = [cell for cell in cells[len(names) :] if cell.strip()]
        for name, cell in zip(names, cells, strict=False):
            if name:
                row[name] = cell
            elif cell.strip():
                extra.append(cell)
        if extra:
            row[_EXTRA] = extra
        rows.append((f"line {reader.line_num}", row))
    return rows


# -- checking -----------------------------------------------------------------------------


def validate_rows(
    rows: Iterable[tuple[str, Mapping[str, Any]]], progress: Progress | None = None
) -> list[ProductRow]:
    """Check every row; raise one error listing every problem, or return them all valid."""
    rows = list(rows)
    problems: list[str] = []
    valid: list[ProductRow] = []
    seen: dict[str, str] = {}
    for done, (where, raw) in enumerate(rows, start=1):
        if progress is not None and done % _PROGRESS_EVERY == 0:
            progress(done, len(rows))
        if not isinstance(raw, Mapping):
            problems.append(f"{where}: expected an object with product fields")
            continue
        row, wrong = _validate_row(raw)
        problems.extend(f"{where}: {problem}" for problem in wrong)
        sku = row.sku if row is not None else _sku_of(raw)
        if sku is not None and sku in seen:
            problems.append(f"{where}: sku {sku!r} already appears at {seen[sku]}")
            continue
        if sku is not None:
            seen[sku] = where
        if row is not None:
            valid.append(row)
    if problems:
        raise CatalogImportError(problems)
    return valid


def _sku_of(raw: Mapping[str, Any]) -> str | None:
    value = raw.get("sku")
    return value.strip() or None if isinstance(value, str) else None


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


def check_weight(grams: int) -> int:
    if grams > WEIGHT_MAX:
        raise InvalidInput(f"weight_grams must be a whole number from 0 to {WEIGHT_MAX}")
    return grams


def check_tax_class(name: str) -> str:
    if name not in TAX_CLASSES:
        raise InvalidInput(f"tax_class must be one of {', '.join(TAX_CLASSES)}, got {name!r:.40}")
    return name


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _feed_field(raw: Mapping[str, Any], name: str) -> str | None:
    return FEED_RULES[name](_text(raw, name))


def _validate_row(raw: Mapping[str, Any]) -> tuple[ProductRow | None, list[str]]:
    """A row of a file: text as the file has it (numbers and flags may be strings), checked
    by the same rules as the API. Every problem of the row is listed, not only the first."""
    problems: list[str] = []

    def check(rule: Callable[[], Any]) -> Any:
        try:
            return rule()
        except InvalidInput as problem:
            problems.append(problem.message)
            return None

    extra = raw.get(_EXTRA)
    if extra:
        problems.append(
            f"{len(extra)} value(s) past the header's columns (a delimiter or quote amiss?)"
        )
    unknown = {key for key in raw if key not in FIELDS and not is_price_column(key)} - {_EXTRA}
    if unknown:
        problems.append(f"unknown field(s) {', '.join(sorted(map(str, unknown)))}")
    sku = check(lambda: check_sku(_text(raw, "sku", required=True)))
    title = check(lambda: check_title(_text(raw, "title", required=True)))
    currency = check(lambda: check_currency(_text(raw, "currency", required=True)))
    price, price_amount = raw.get("price"), raw.get("price_amount")
    amount: Any = None
    if isinstance(price, float):
        problems.append('price must be a string such as "24.90", not a float')
    else:
        amount = (
            None if _blank(price_amount) else check(lambda: _whole(price_amount, "price_amount"))
        )
        if currency is not None and (_blank(price_amount) or amount is not None):
            text_price = None if _blank(price) else str(price).strip()
            amount = check(lambda: price_in_minor_units(text_price, amount, currency))
    limit, weight, tax_class = (
        raw.get("max_per_order"),
        raw.get("weight_grams"),
        raw.get("tax_class"),
    )
    values = {
        "description": check(
            lambda: check_length("description", _text(raw, "description"), DESCRIPTION_MAX)
        ),
        "image_url": check(lambda: check_image_url(_text(raw, "image_url"))),
        "stock": check(lambda: check_stock(_whole(raw.get("stock", 0) or 0, "stock"))),
        "requires_shipping": check(lambda: _flag(raw, "requires_shipping", True)),
        "active": check(lambda: _flag(raw, "active", True)),
        "variant_group": check(lambda: check_label("variant_group", _text(raw, "variant_group"))),
        "variant_label": check(lambda: check_label("variant_label", _text(raw, "variant_label"))),
        "max_per_order": None
        if _blank(limit)
        else check(lambda: check_max_per_order(_whole(limit, "max_per_order"))),
        "weight_grams": None
        if _blank(weight)
        else check(lambda: check_weight(_whole(weight, "weight_grams"))),
        "tax_class": None
        if _blank(tax_class)
        else check(lambda: check_tax_class(_text(raw, "tax_class").lower())),
    }
    # Feed columns (brand, gtin, ...): only those the row names; blank clears one.
    feed = tuple(
        (name, check(partial(_feed_field, raw, name))) for name in FEED_COLUMNS if name in raw
    )
    # Price-list columns (price_EUR, ...): given, they replace the product's list.
    prices, wrong = row_prices(raw, currency)
    problems += wrong
    if problems:
        return None, problems
    return ProductRow(
        sku=sku,
        title=title,
        price_amount=amount,
        currency=currency,
        feed=feed,
        prices=prices,
        **values,
    ), problems
