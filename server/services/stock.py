"""Stock through the API: set or adjust one product, or many at once (all or nothing).

Every move is one conditional UPDATE in :func:`buybutton_server.domain.inventory.change_stock`:
stock never drops below what checkouts hold.
"""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import ConfigDict, Field, model_validator
from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.db import write_session
from buybutton_server.domain import inventory
from buybutton_server.domain import stock_sheet as sheet
from buybutton_server.domain.catalog import STOCK_MAX
from buybutton_server.services.api_types import Input, broken
from buybutton_server.services.catalog import Product, ProductList

_EXACTLY_ONE = ConfigDict(
    json_schema_extra={"oneOf": [{"required": ["on_hand"]}, {"required": ["delta"]}]}
)


class StockChange(Input):
    """``on_hand`` sets the stock; ``delta`` adjusts it. Exactly one."""

    model_config = _EXACTLY_ONE

    on_hand: Annotated[int, Field(ge=0, le=STOCK_MAX)] | None = None
    delta: Annotated[int, Field(ge=-STOCK_MAX, le=STOCK_MAX)] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.on_hand is None) == (self.delta is None):
            raise broken("Give on_hand (set) or delta (adjust), exactly one.")
        return self


class StockItem(StockChange):
    """One product's change in a bulk sync."""

    sku: Annotated[str, Field(max_length=64)]


class BulkStock(Input):
    problems = {"items": "items must be a list of 1 to 1000 changes."}

    items: Annotated[list[StockItem], Field(min_length=1, max_length=1000)]


def set_stock(sessions: sessionmaker[Session], sku: str, change: StockChange) -> Product:
    with write_session(sessions) as session:
        moved = inventory.change_stock(session, sku, on_hand=change.on_hand, delta=change.delta)
        return Product.of(moved)


def set_stock_if(sessions: sessionmaker[Session], sku: str, *, was: int, on_hand: int) -> Product:
    """The product page's stock form: set ``on_hand`` only if the stock still is ``was``,
    the number the page showed (:class:`Conflict` if a sale or a clerk moved it since)."""
    with write_session(sessions) as session:
        return Product.of(inventory.change_stock_if(session, sku, was=was, on_hand=on_hand))


def sync_stock(sessions: sessionmaker[Session], body: BulkStock) -> ProductList:
    """For POS and ERP sync: many products at once, all or nothing."""
    with write_session(sessions) as session:
        moved = [
            inventory.change_stock(session, i.sku, on_hand=i.on_hand, delta=i.delta)
            for i in body.items
        ]
        return ProductList(data=[Product.of(p) for p in moved], next_cursor=None)


# -- the admin's stock sheet (all or nothing; see domain/stock_sheet.py) -----------------


def stock_sheet(
    sessions: sessionmaker[Session], *, search: str = "", low: bool = False, page: int = 1
) -> sheet.StockSheet:
    with sessions() as session:
        return sheet.stock_sheet(session, search=search, low=low, page=page)


def save_sheet(sessions: sessionmaker[Session], edits: list[sheet.Edit]) -> int:
    """Apply the edited rows in one transaction; :class:`StockRefused` writes nothing."""
    if not edits:
        return 0
    with write_session(sessions) as session:
        return sheet.apply_edits(session, edits)


def plan_csv(sessions: sessionmaker[Session], text: str) -> sheet.CsvPlan:
    """What a ``sku,on_hand`` CSV would change, to show before it is applied."""
    rows = sheet.read_stock_csv(text)
    with sessions() as session:
        return sheet.plan_csv(session, rows)
