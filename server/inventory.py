"""Stock moves, each one conditional ``UPDATE`` whose affected-row count says if it happened.

The conditions keep stock from going negative under any concurrency, on SQLite and on
PostgreSQL alike; the ``stock_bounds`` CHECK constraint is the backstop behind them.
"""

from __future__ import annotations

from sqlalchemy import CursorResult, update
from sqlalchemy.orm import Session

from buybutton_server.models import Product


def _run(session: Session, statement: object) -> bool:
    result = session.execute(statement, execution_options={"synchronize_session": False})  # type: ignore[call-overload]
    assert isinstance(result, CursorResult)
    return result.rowcount == 1


def reserve(session: Session, product_id: int, quantity: int) -> bool:
    """Hold ``quantity`` units for a checkout. False when fewer are available."""
    return _run(
        session,
        update(Product)
        .where(
            Product.id == product_id,
            Product.active.is_(True),
            Product.on_hand - Product.reserved >= quantity,
        )
        .values(reserved=Product.reserved + quantity),
    )


def take_reserved(session: Session, product_id: int, quantity: int) -> bool:
    """Turn a reservation into a sale: the units leave ``on_hand`` and ``reserved`` together."""
    return _run(
        session,
        update(Product)
        .where(Product.id == product_id, Product.reserved >= quantity)
        .values(on_hand=Product.on_hand - quantity, reserved=Product.reserved - quantity),
    )


def release(session: Session, product_id: int, quantity: int) -> bool:
    """Give reserved units back to the shelf."""
    return _run(
        session,
        update(Product)
        .where(Product.id == product_id, Product.reserved >= quantity)
        .values(reserved=Product.reserved - quantity),
    )


def take_available(session: Session, product_id: int, quantity: int) -> bool:
    """Sell units that no checkout holds, for a payment whose reservation was released."""
    return _run(
        session,
        update(Product)
        .where(Product.id == product_id, Product.on_hand - Product.reserved >= quantity)
        .values(on_hand=Product.on_hand - quantity),
    )


def restock(session: Session, product_id: int, quantity: int) -> bool:
    """Put units back on the shelf (a full refund of goods that come back)."""
    return _run(
        session,
        update(Product).where(Product.id == product_id).values(on_hand=Product.on_hand + quantity),
    )
