"""The admin's stock sheet: every product's stock, edited many rows at once, all or nothing.

Each edit carries the ``on_hand`` the clerk saw (``was``) and is one conditional UPDATE
(:func:`buybutton_server.domain.inventory.set_on_hand_if`): it happens only if the stock is
still what the page showed and covers what checkouts hold. Every edit is tried, so every
refused row is reported; one refusal rolls the whole transaction back.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from buybutton_server.db.models import Product
from buybutton_server.domain import inventory
from buybutton_server.domain.catalog import STOCK_MAX
from buybutton_server.domain.catalog_import import column_name, sniff_delimiter
from buybutton_server.domain.vocabulary import LOW_STOCK
from buybutton_server.errors import InvalidInput

PAGE_SIZE = 200
CSV_ROWS_MAX = 1000
SEARCH_MAX = 100
_WHOLE = re.compile(r"[0-9]{1,10}")
CELL_MAX = 200  # characters of one CSV cell: a SKU has at most 64, a stock number 10
_TOO_LONG = f"longer than {CELL_MAX} characters (is a quote left open?)"


@dataclass(frozen=True)
class StockRow:
    sku: str
    title: str
    active: bool
    on_hand: int
    reserved: int

    @property
    def available(self) -> int:
        return max(self.on_hand - self.reserved, 0)


@dataclass(frozen=True)
class StockSheet:
    rows: list[StockRow]
    total: int
    page: int
    pages: int


@dataclass(frozen=True)
class Edit:
    """Set ``sku``'s stock to what the clerk ``typed``, if it still is ``was``."""

    sku: str
    was: int
    typed: str
    line: int | None = None  # of a CSV


@dataclass(frozen=True)
class Refusal:
    sku: str
    message: str
    line: int | None = None
    now: int | None = None  # the stock now, when it changed since the page was shown

    def describe(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        return f"{where}{self.sku}: {self.message}"


class StockRefused(InvalidInput):
    """Some rows cannot be saved; ``refusals`` says which and why. Nothing was written."""

    code = "stock_refused"

    def __init__(self, refusals: list[Refusal]) -> None:
        self.refusals = tuple(refusals)
        count = len(refusals)
        super().__init__(
            f"Nothing was saved: {count} row{'s' if count != 1 else ''} cannot be "
            "saved as typed. Fix them and save again."
        )


def stock_sheet(
    session: Session, *, search: str = "", low: bool = False, page: int = 1
) -> StockSheet:
    """Products, active first then by title, ``PAGE_SIZE`` a page; ``search`` matches sku or
    title; ``low`` keeps those with ``LOW_STOCK`` or fewer available."""
    conditions = []
    search = search.strip()[:SEARCH_MAX]
    if search:
        pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conditions.append(
            or_(
                Product.sku.ilike(pattern, escape="\\"),
                Product.title.ilike(pattern, escape="\\"),
            )
        )
    if low:
        conditions.append(Product.on_hand - Product.reserved <= LOW_STOCK)
    total = session.scalar(select(func.count()).select_from(Product).where(*conditions)) or 0
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    page = min(max(page, 1), pages)
    query = (
        select(Product.sku, Product.title, Product.active, Product.on_hand, Product.reserved)
        .where(*conditions)
        .order_by(Product.active.desc(), Product.title, Product.sku)
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    )
    rows = [StockRow(*row) for row in session.execute(query)]
    return StockSheet(rows=rows, total=total, page=page, pages=pages)


def parse_quantity(typed: str) -> int:
    """A whole number of units from 0 to STOCK_MAX, or :class:`InvalidInput` saying why."""
    text = typed.strip()
    if not text:
        raise InvalidInput("enter a number of units (0 or more)")
    if text.startswith("-") and _WHOLE.fullmatch(text[1:]):
        raise InvalidInput("stock cannot be negative")
    if not _WHOLE.fullmatch(text) or int(text) > STOCK_MAX:
        raise InvalidInput(f"“{text[:20]}” is not a whole number from 0 to {STOCK_MAX}")
    return int(text)


def _duplicates(edits: list[Edit]) -> list[Refusal]:
    first: dict[str, Edit] = {}
    refusals = []
    for edit in edits:
        seen = first.setdefault(edit.sku, edit)
        if seen is not edit:
            again = f" (also line {seen.line})" if seen.line is not None else ""
            refusals.append(Refusal(edit.sku, f"listed twice{again}", edit.line))
    return refusals


def apply_edits(session: Session, edits: list[Edit]) -> int:
    """Apply every edit, or raise :class:`StockRefused` listing every refused one (the
    caller's transaction then rolls back the others). The number of rows changed."""
    refusals = _duplicates(edits)
    for edit in edits:
        try:
            quantity = parse_quantity(edit.typed)
        except InvalidInput as problem:
            refusals.append(Refusal(edit.sku, problem.message, edit.line))
            continue
        product = session.scalar(select(Product).where(Product.sku == edit.sku))
        if product is None:
            refusals.append(Refusal(edit.sku, "no product has this SKU", edit.line))
            continue
        if inventory.set_on_hand_if(session, product.id, edit.was, quantity):
            continue
        session.refresh(product)
        if product.on_hand != edit.was:
            message = f"changed since you loaded the page (now {product.on_hand})"
            refusals.append(Refusal(edit.sku, message, edit.line, now=product.on_hand))
        else:
            refusals.append(Refusal(edit.sku, _below_reserved(product.reserved), edit.line))
    if refusals:
        raise StockRefused(sorted(refusals, key=lambda r: r.line or 0))
    return len(edits)


def _below_reserved(reserved: int) -> str:
    return (
        f"cannot go below the {reserved} unit{'s' if reserved != 1 else ''} "
        "held by checkouts in progress"
    )


# -- CSV: sku,on_hand ---------------------------------------------------------------------


@dataclass(frozen=True)
class CsvRow:
    line: int
    sku: str
    typed: str


def read_stock_csv(text: str) -> list[CsvRow]:
    """``sku,on_hand`` lines (a header line naming them is optional; comma, semicolon or
    tab). Raises :class:`StockRefused` for lines that are not two cells, cells longer than
    :data:`CELL_MAX` and text the csv module cannot read (each named by its line)."""
    text = text.removeprefix("\ufeff")  # pasted from a file saved by Excel: not part of "sku"
    reader = csv.reader(io.StringIO(text), delimiter=sniff_delimiter(text))
    rows: list[CsvRow] = []
    refusals: list[Refusal] = []
    try:
        for cells in reader:
            line = reader.line_num
            if any(len(cell) > CELL_MAX for cell in cells):
                refusals.append(Refusal("cell", _TOO_LONG, line))
                continue
            if not any(cell.strip() for cell in cells):
                continue
            names = [column_name(cell) for cell in cells]
            if not rows and not refusals and names[:1] == ["sku"]:
                if names != ["sku", "on_hand"]:
                    refusals.append(Refusal("header", "the columns must be sku,on_hand", line))
                continue
            if len(cells) != 2:
                sku = cells[0].strip()[:64]
                refusals.append(Refusal(sku, "expected two cells: sku,on_hand", line))
                continue
            rows.append(CsvRow(line, cells[0].strip(), cells[1].strip()))
    except csv.Error as problem:
        # Past csv.field_size_limit() (128 KB) the reader gives up: the rest is not read.
        message = _TOO_LONG if "field limit" in str(problem) else f"not readable CSV ({problem})"
        refusals.append(Refusal("cell", message, reader.line_num))
    if len(rows) > CSV_ROWS_MAX:
        refusals.append(Refusal("file", f"at most {CSV_ROWS_MAX} rows at a time", None))
    if not rows and not refusals:
        refusals.append(Refusal("file", "no rows: one sku,on_hand a line", None))
    if refusals:
        raise StockRefused(refusals)
    return rows


@dataclass(frozen=True)
class PlannedChange:
    line: int
    sku: str
    title: str
    was: int
    new: int

    @property
    def token(self) -> str:
        """The change as the confirm form carries it: ``line|sku|was|new``."""
        return f"{self.line}|{self.sku}|{self.was}|{self.new}"


def edit_from_token(token: str) -> Edit:
    """The edit a confirm form's ``line|sku|was|new`` stands for."""
    parts = token.split("|")
    if len(parts) != 4 or not all(_WHOLE.fullmatch(p) for p in (parts[0], parts[2], parts[3])):
        raise InvalidInput("The confirmation is damaged: preview the CSV again.")
    return Edit(parts[1], int(parts[2]), parts[3], int(parts[0]))


def edits_from_sheet(rows: list[tuple[str, str, str]]) -> list[Edit]:
    """The sheet's ``(sku, was, typed)`` rows the clerk changed (typed differs from was)."""
    return [
        Edit(sku, int(was) if _WHOLE.fullmatch(was) else -1, typed)
        for sku, was, typed in rows
        if typed.strip() != was.strip()
    ]


@dataclass(frozen=True)
class CsvPlan:
    changes: list[PlannedChange]
    unchanged: int


def plan_csv(session: Session, rows: list[CsvRow]) -> CsvPlan:
    """What the CSV would change (old → new), or :class:`StockRefused` listing every line
    that cannot be applied: unknown SKUs, bad numbers, below what checkouts hold."""
    skus = [row.sku for row in rows]
    found = {
        product.sku: product
        for product in session.scalars(select(Product).where(Product.sku.in_(set(skus))))
    }
    edits = [Edit(row.sku, 0, row.typed, row.line) for row in rows]
    refusals = _duplicates(edits)
    changes: list[PlannedChange] = []
    unchanged = 0
    for row in rows:
        product = found.get(row.sku)
        if product is None:
            refusals.append(Refusal(row.sku[:64], "no product has this SKU", row.line))
            continue
        try:
            new = parse_quantity(row.typed)
        except InvalidInput as problem:
            refusals.append(Refusal(row.sku, problem.message, row.line))
            continue
        if new < product.reserved:
            refusals.append(Refusal(row.sku, _below_reserved(product.reserved), row.line))
        elif new == product.on_hand:
            unchanged += 1
        else:
            changes.append(PlannedChange(row.line, row.sku, product.title, product.on_hand, new))
    if refusals:
        raise StockRefused(sorted(refusals, key=lambda r: r.line or 0))
    return CsvPlan(changes=changes, unchanged=unchanged)
