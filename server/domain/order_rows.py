"""The order tables as Core, and the reads every order module shares.

``orders`` (placing, reading), ``settlement``, ``refunds`` and ``fulfilment`` build their
statements once from these tables. Every write transaction that touches an order locks the
``orders`` row first and ``products`` second, so two of them can never deadlock.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Executable, Row, Table, bindparam, select
from sqlalchemy.orm import Session, selectinload

from buybutton_server.db.models import Order, Product
from buybutton_server.errors import NotFound

# ``Model.metadata.tables`` gives the tables typed as ``Table`` (``__table__`` is a FromClause).
ORDERS: Table = Order.metadata.tables["orders"]
LINES: Table = Order.metadata.tables["order_lines"]
PRODUCTS: Table = Product.metadata.tables["products"]

# What ``Order.attention`` says about an order the merchant should look at.
REFUND_DUE = "Paid after its stock ran out: refund due."
REFUNDED_OUT_OF_STOCK = "Paid after its stock ran out: refunded automatically."

# In product id order: stock changes of a multi-item order lock products in that order.
_ORDER_LINES = (
    select(LINES.c.product_id, LINES.c.quantity, LINES.c.sku, LINES.c.location_id)
    .where(LINES.c.order_id == bindparam("order_id"))
    .order_by(LINES.c.product_id, LINES.c.location_id)
)


def in_lock_order(rows: list[Row[Any]]) -> list[Row[Any]]:
    """Line rows (with ``product_id`` and ``location_id``) in the order stock rows are locked:
    product id, then location id. A loop that moves stock line by line must go in this order,
    whatever order the lines were written in, or two carts listing the same products the
    other way round deadlock on PostgreSQL."""
    return sorted(rows, key=lambda row: (row.product_id, row.location_id or 0))


def changed_rows(
    session: Session, statement: Executable, params: dict[str, Any] | None = None
) -> int:
    """Run a conditional UPDATE in the session's transaction; how many rows it changed."""
    return session.connection().execute(statement, params or {}).rowcount


def lines_of(session: Session, order_id: int) -> list[Row[Any]]:
    """``(product_id, quantity, sku)`` of each line of an order (Core, no ORM objects)."""
    return list(session.connection().execute(_ORDER_LINES, {"order_id": order_id}))


def order_by_attempt(session: Session, attempt_key: str) -> Order | None:
    return session.scalar(
        select(Order).options(selectinload(Order.lines)).where(Order.attempt_key == attempt_key)
    )


def order_by_public_id(session: Session, public_id: str) -> Order | None:
    return session.scalar(
        select(Order).options(selectinload(Order.lines)).where(Order.public_id == public_id)
    )


def load_order(session: Session, order_id: int) -> Order:
    """The order with its lines and refunds, fresh from the database."""
    order = session.scalar(
        select(Order)
        .options(selectinload(Order.lines), selectinload(Order.refunds))
        .where(Order.id == order_id)
        .execution_options(populate_existing=True)
    )
    if order is None:
        raise NotFound(f"No order with id {order_id}.")
    return order
