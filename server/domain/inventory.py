"""Stock moves, each one conditional ``UPDATE`` whose affected-row count says if it happened.

The conditions keep stock from going negative under any concurrency, on SQLite and on
PostgreSQL alike; the ``stock_bounds`` CHECK constraint is the backstop behind them. The
statements are built once, with bound parameters: they run on every checkout.
"""

from __future__ import annotations

from sqlalchemy import CursorResult, Update, bindparam, update
from sqlalchemy.orm import Session

from buybutton_server.db.models import Product

_P = Product.__table__.c
_ID, _N = bindparam("product_id"), bindparam("n")

_RESERVE = (
    update(Product.__table__)
    .where(_P.id == _ID, _P.active.is_(True), _P.on_hand - _P.reserved >= _N)
    .values(reserved=_P.reserved + _N)
)
_TAKE_RESERVED = (
    update(Product.__table__)
    .where(_P.id == _ID, _P.reserved >= _N)
    .values(on_hand=_P.on_hand - _N, reserved=_P.reserved - _N)
)
_RELEASE = (
    update(Product.__table__)
    .where(_P.id == _ID, _P.reserved >= _N)
    .values(reserved=_P.reserved - _N)
)
_TAKE_AVAILABLE = (
    update(Product.__table__)
    .where(_P.id == _ID, _P.on_hand - _P.reserved >= _N)
    .values(on_hand=_P.on_hand - _N)
)
_RESTOCK = update(Product.__table__).where(_P.id == _ID).values(on_hand=_P.on_hand + _N)


def _run(session: Session, statement: Update, product_id: int, quantity: int) -> bool:
    # Core on the session's connection: the same transaction, without ORM bookkeeping.
    result = session.connection().execute(statement, {"product_id": product_id, "n": quantity})
    assert isinstance(result, CursorResult)
    return result.rowcount == 1


def reserve(session: Session, product_id: int, quantity: int) -> bool:
    """Hold ``quantity`` units for a checkout. False when fewer are available."""
    return _run(session, _RESERVE, product_id, quantity)


def take_reserved(session: Session, product_id: int, quantity: int) -> bool:
    """Turn a reservation into a sale: the units leave ``on_hand`` and ``reserved`` together."""
    return _run(session, _TAKE_RESERVED, product_id, quantity)


def release(session: Session, product_id: int, quantity: int) -> bool:
    """Give reserved units back to the shelf."""
    return _run(session, _RELEASE, product_id, quantity)


def take_available(session: Session, product_id: int, quantity: int) -> bool:
    """Sell units that no checkout holds, for a payment whose reservation was released."""
    return _run(session, _TAKE_AVAILABLE, product_id, quantity)


def restock(session: Session, product_id: int, quantity: int) -> bool:
    """Put units back on the shelf (a full refund of goods that come back)."""
    return _run(session, _RESTOCK, product_id, quantity)
