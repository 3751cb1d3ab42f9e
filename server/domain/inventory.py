"""Stock moves, each one conditional ``UPDATE`` whose affected-row count says if it happened.

The conditions keep stock from going negative under any concurrency, on SQLite and on
PostgreSQL alike; the ``stock_bounds`` CHECK constraint is the backstop behind them. The
statements are built once, with bound parameters: they run on every checkout.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import BindParameter, CursorResult, Integer, Table, Update, bindparam, update
from sqlalchemy.orm import Session

from buybutton_server.db.models import Product, utcnow
from buybutton_server.domain.catalog import STOCK_MAX, require_product
from buybutton_server.errors import Conflict, InvalidInput, OutOfStock

# ``metadata.tables`` gives the table typed as a ``Table`` (``__table__`` is a FromClause).
_PRODUCTS: Table = Product.metadata.tables["products"]
_P = _PRODUCTS.c
_ID: BindParameter[int] = bindparam("product_id", type_=Integer)
_N: BindParameter[int] = bindparam("n", type_=Integer)

_RESERVE = (
    update(_PRODUCTS)
    .where(_P.id == _ID, _P.active.is_(True), _P.on_hand - _P.reserved >= _N)
    .values(reserved=_P.reserved + _N)
)
_TAKE_RESERVED = (
    update(_PRODUCTS)
    .where(_P.id == _ID, _P.reserved >= _N)
    .values(on_hand=_P.on_hand - _N, reserved=_P.reserved - _N)
)
_RELEASE = (
    update(_PRODUCTS).where(_P.id == _ID, _P.reserved >= _N).values(reserved=_P.reserved - _N)
)
_TAKE_AVAILABLE = (
    update(_PRODUCTS)
    .where(_P.id == _ID, _P.on_hand - _P.reserved >= _N)
    .values(on_hand=_P.on_hand - _N)
)
_RESTOCK = update(_PRODUCTS).where(_P.id == _ID).values(on_hand=_P.on_hand + _N)
# The merchant's own moves: never below what checkouts hold, never negative.
_SET_ON_HAND = (
    update(_PRODUCTS)
    .where(_P.id == _ID, _P.reserved <= _N)
    .values(on_hand=_N, updated_at=bindparam("now"))
)
# The admin's stock sheet: the same, and only if nobody moved the stock since the page showed
# ``was`` (a sale, another clerk): a lost update is refused, not written over.
_SET_ON_HAND_IF = (
    update(_PRODUCTS)
    .where(_P.id == _ID, _P.on_hand == bindparam("was"), _P.reserved <= _N)
    .values(on_hand=_N, updated_at=bindparam("now"))
)
# ...nor above STOCK_MAX (10**9): with |delta| <= STOCK_MAX too, on_hand + delta stays inside
# PostgreSQL's 32-bit integer, which it would otherwise overflow (an error, not a refusal).
_ADJUST_ON_HAND = (
    update(_PRODUCTS)
    .where(
        _P.id == _ID,
        _P.reserved <= _P.on_hand + _N,
        _P.on_hand + _N >= 0,
        _P.on_hand + _N <= STOCK_MAX,
    )
    .values(on_hand=_P.on_hand + _N, updated_at=bindparam("now"))
)


def _run(session: Session, statement: Update, product_id: int, quantity: int) -> bool:
    # Core on the session's connection: the same transaction, without ORM bookkeeping.
    result = session.connection().execute(statement, {"product_id": product_id, "n": quantity})
    return cast("CursorResult[object]", result).rowcount == 1


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


def change_stock(
    session: Session, sku: str, *, on_hand: int | None = None, delta: int | None = None
) -> Product:
    """Set (``on_hand``) or adjust (``delta``) a product's stock with one conditional UPDATE:
    stock never drops below what checkouts hold, nor below zero. Raises
    :class:`OutOfStock` when it would, :class:`NotFound` for an unknown sku."""
    if (on_hand is None) == (delta is None):
        raise InvalidInput("Give on_hand (set) or delta (adjust), exactly one.")
    for name, value, low in (("on_hand", on_hand, 0), ("delta", delta, -STOCK_MAX)):
        if value is not None and not low <= value <= STOCK_MAX:
            raise InvalidInput(f"{name} must be a whole number from {low} to {STOCK_MAX}.")
    product = require_product(session, sku)
    statement, n = (_SET_ON_HAND, on_hand) if delta is None else (_ADJUST_ON_HAND, delta)
    result = session.connection().execute(
        statement, {"product_id": product.id, "n": n, "now": utcnow()}
    )
    session.refresh(product)
    if cast("CursorResult[object]", result).rowcount != 1:
        if delta is not None and product.on_hand + delta > STOCK_MAX:
            raise InvalidInput(
                f"{sku}: stock cannot go above {STOCK_MAX} (on hand {product.on_hand}, "
                f"delta {delta})."
            )
        raise OutOfStock(
            f"{sku}: stock cannot go below the {product.reserved} units held by checkouts "
            f"in progress (on hand {product.on_hand})."
        )
    return product


def set_on_hand_if(session: Session, product_id: int, was: int, on_hand: int) -> bool:
    """Set ``on_hand`` if it still is ``was`` and covers what checkouts hold. False if not:
    the caller reads the product to say which."""
    if not 0 <= on_hand <= STOCK_MAX:
        raise InvalidInput(f"on_hand must be a whole number from 0 to {STOCK_MAX}.")
    result = session.connection().execute(
        _SET_ON_HAND_IF, {"product_id": product_id, "n": on_hand, "was": was, "now": utcnow()}
    )
    return cast("CursorResult[object]", result).rowcount == 1


def change_stock_if(session: Session, sku: str, *, was: int, on_hand: int) -> Product:
    """Set ``sku``'s stock to ``on_hand`` if it still is ``was`` (what the page showed): a
    sale or another clerk's save in between is never written over. Raises :class:`Conflict`
    (``context["now"]``, the stock now) when it changed, :class:`OutOfStock` below what
    checkouts hold, :class:`NotFound` for an unknown sku."""
    product = require_product(session, sku)
    moved = set_on_hand_if(session, product.id, was, on_hand)
    session.refresh(product)
    if moved:
        return product
    if product.on_hand != was:
        raise Conflict(
            f"Stock on hand changed since you loaded the page (now {product.on_hand}): "
            "nothing was saved. Check the number and save again.",
            context={"now": product.on_hand},
        )
    raise OutOfStock(
        f"{sku}: stock cannot go below the {product.reserved} units held by checkouts "
        f"in progress (on hand {product.on_hand})."
    )
