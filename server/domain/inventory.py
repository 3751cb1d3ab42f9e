"""Stock moves, each one conditional ``UPDATE`` of one location's level whose affected-row
count says if it happened.

Stock lives per (product, location) in ``stock_levels``; the conditions keep it from going
negative under any concurrency, on SQLite and on PostgreSQL alike, and the level's
``stock_bounds`` CHECK is the backstop behind them. A product's stock is the sum of the
levels at the active locations that ship (``Product.on_hand``/``reserved``, derived).

Moves of an order line act at the line's location; ``location_id=None`` means the default
location (``MAIN``). The merchant's moves that name no location (the API's ``/stock``, the
stock sheet, the catalog import) set the product's total by moving MAIN's level by the
difference. The statements are built once, with bound parameters: they run on every checkout.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    CursorResult,
    Integer,
    Table,
    Update,
    and_,
    bindparam,
    exists,
    func,
    literal_column,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from buybutton_server.db.models import DEFAULT_LOCATION, Location, Product, StockLevel, utcnow
from buybutton_server.errors import Conflict, InvalidInput, NotFound, OutOfStock

STOCK_MAX = 10**9  # units at one location (and in one move): inside a 32-bit integer

# ``metadata.tables`` gives the tables typed as ``Table`` (``__table__`` is a FromClause).
LEVELS: Table = StockLevel.metadata.tables["stock_levels"]
LOCATIONS: Table = Location.metadata.tables["locations"]
_PRODUCTS: Table = Product.metadata.tables["products"]
_S, _L, _P = LEVELS.c, LOCATIONS.c, _PRODUCTS.c
_ID: BindParameter[int] = bindparam("pid", type_=Integer)
_N: BindParameter[int] = bindparam("n", type_=Integer)
_MAIN_ID = select(_L.id).where(_L.code == DEFAULT_LOCATION).scalar_subquery()
# The line's location, or MAIN when it names none.
_AT = func.coalesce(bindparam("loc", type_=Integer), _MAIN_ID)
_HERE = and_(_S.product_id == _ID, _S.location_id == _AT)
_SELLABLE = and_(
    exists().where(_P.id == _S.product_id, _P.active.is_(True)),
    exists().where(_L.id == _S.location_id, _L.active.is_(True)),
)

_RESERVE = (
    update(LEVELS)
    .where(_HERE, _S.on_hand - _S.reserved >= _N, _SELLABLE)
    .values(reserved=_S.reserved + _N)
)
_TAKE_RESERVED = (
    update(LEVELS)
    .where(_HERE, _S.reserved >= _N)
    .values(on_hand=_S.on_hand - _N, reserved=_S.reserved - _N)
)
_RELEASE = update(LEVELS).where(_HERE, _S.reserved >= _N).values(reserved=_S.reserved - _N)
_TAKE_AVAILABLE = (
    update(LEVELS).where(_HERE, _S.on_hand - _S.reserved >= _N).values(on_hand=_S.on_hand - _N)
)
_RESTOCK = update(LEVELS).where(_HERE, _S.on_hand + _N <= STOCK_MAX).values(on_hand=_S.on_hand + _N)
# One location's level, set by the merchant: never below what checkouts hold there.
_SET_LEVEL = (
    update(LEVELS).where(_HERE, _S.reserved <= _N).values(on_hand=_N, updated_at=bindparam("now"))
)

# -- the product's total (over the locations that sell online), moved at MAIN -------------

_ONLINE = LEVELS.alias("online")
_TOTAL: ColumnElement[int] = (
    select(func.coalesce(func.sum(_ONLINE.c.on_hand), literal_column("0")))
    .join(LOCATIONS, _L.id == _ONLINE.c.location_id)
    .where(_ONLINE.c.product_id == _ID, _L.ships.is_(True), _L.active.is_(True))
    .scalar_subquery()
)
_AT_MAIN = and_(_S.product_id == _ID, _S.location_id == _MAIN_ID)
# "The product has N": MAIN moves by N - total, never below what checkouts hold at MAIN.
_SET_TOTAL_MOVE = _N - _TOTAL
_SET_ON_HAND = (
    update(LEVELS)
    .where(_AT_MAIN, _S.reserved <= _S.on_hand + _SET_TOTAL_MOVE)
    .values(on_hand=_S.on_hand + _SET_TOTAL_MOVE, updated_at=bindparam("now"))
)
# The admin's stock sheet: the same, and only if nobody moved the stock since the page showed
# ``was`` (a sale, another clerk): a lost update is refused, not written over.
_SET_ON_HAND_IF = (
    update(LEVELS)
    .where(
        _AT_MAIN,
        _TOTAL == bindparam("was", type_=Integer),
        _S.reserved <= _S.on_hand + _SET_TOTAL_MOVE,
    )
    .values(on_hand=_S.on_hand + _SET_TOTAL_MOVE, updated_at=bindparam("now"))
)
# ...nor above STOCK_MAX (10**9): with |delta| <= STOCK_MAX too, on_hand + delta stays inside
# PostgreSQL's 32-bit integer, which it would otherwise overflow (an error, not a refusal).
_ADJUST_ON_HAND = (
    update(LEVELS)
    .where(
        _AT_MAIN,
        _S.reserved <= _S.on_hand + _N,
        _S.on_hand + _N >= 0,
        _S.on_hand + _N <= STOCK_MAX,
    )
    .values(on_hand=_S.on_hand + _N, updated_at=bindparam("now"))
)
_LEVEL_OF = select(_S.on_hand, _S.reserved).where(_S.product_id == _ID, _S.location_id == _AT)
_TOTALS_OF = (
    select(func.coalesce(func.sum(_S.on_hand), 0), func.coalesce(func.sum(_S.reserved), 0))
    .join(LOCATIONS, _L.id == _S.location_id)
    .where(_S.product_id == _ID, _L.ships.is_(True), _L.active.is_(True))
)


def _run(
    session: Session,
    statement: Update,
    product_id: int,
    quantity: int,
    location_id: int | None,
) -> bool:
    # Core on the session's connection: the same transaction, without ORM bookkeeping.
    params = {"pid": product_id, "n": quantity, "loc": location_id}
    result = session.connection().execute(statement, params)
    return cast("CursorResult[object]", result).rowcount == 1


def _product(session: Session, sku: str) -> Product:
    found = session.scalar(select(Product).where(Product.sku == sku))
    if found is None:
        raise NotFound(f"No product with sku {sku!r}.")
    return found


def main_location_id(session: Session) -> int:
    """The default location's id (migration 0025 creates it; it cannot be removed)."""
    return int(session.connection().execute(select(_MAIN_ID)).scalar_one())


def ensure_level(session: Session, product_id: int, location_id: int | None = None) -> None:
    """Make sure (product, location) has a level row (0 on hand) so a conditional UPDATE can
    act on it. One ``INSERT ... ON CONFLICT DO NOTHING``: safe against a concurrent twin."""
    _ensure_levels(session, [product_id], location_id)


def _ensure_levels(session: Session, product_ids: list[int], location_id: int | None) -> None:
    where = location_id if location_id is not None else main_location_id(session)
    now = utcnow()
    rows = [
        {"product_id": p, "location_id": where, "on_hand": 0, "reserved": 0, "updated_at": now}
        for p in product_ids
    ]
    connection = session.connection()
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    connection.execute(dialect.insert(LEVELS).on_conflict_do_nothing(), rows)


def reserve(
    session: Session, product_id: int, quantity: int, *, location_id: int | None = None
) -> bool:
    """Hold ``quantity`` units at a location for a checkout. False when fewer are available
    there (or the product or location is not active)."""
    return _run(session, _RESERVE, product_id, quantity, location_id)


def take_reserved(
    session: Session, product_id: int, quantity: int, *, location_id: int | None = None
) -> bool:
    """Turn a reservation into a sale: the units leave ``on_hand`` and ``reserved`` together."""
    return _run(session, _TAKE_RESERVED, product_id, quantity, location_id)


def release(
    session: Session, product_id: int, quantity: int, *, location_id: int | None = None
) -> bool:
    """Give reserved units back to the shelf."""
    return _run(session, _RELEASE, product_id, quantity, location_id)


def take_available(
    session: Session, product_id: int, quantity: int, *, location_id: int | None = None
) -> bool:
    """Sell units that no checkout holds, for a payment whose reservation was released."""
    return _run(session, _TAKE_AVAILABLE, product_id, quantity, location_id)


def restock(
    session: Session, product_id: int, quantity: int, *, location_id: int | None = None
) -> bool:
    """Put units back on the shelf of a location (the line's, a store taking a return; None:
    the default location). The level is created when the location had none."""
    ensure_level(session, product_id, location_id)
    return _run(session, _RESTOCK, product_id, quantity, location_id)


def set_level(session: Session, product_id: int, location_id: int, on_hand: int) -> bool:
    """Set one location's ``on_hand``; False when that is below what checkouts hold there."""
    if not 0 <= on_hand <= STOCK_MAX:
        raise InvalidInput(f"on_hand must be a whole number from 0 to {STOCK_MAX}.")
    ensure_level(session, product_id, location_id)
    params = {"pid": product_id, "n": on_hand, "loc": location_id}
    result = session.connection().execute(_SET_LEVEL, {**params, "now": utcnow()})
    return cast("CursorResult[object]", result).rowcount == 1


def level_of(session: Session, product_id: int, location_id: int | None = None) -> tuple[int, int]:
    """``(on_hand, reserved)`` of one location (MAIN when None); (0, 0) without a level."""
    params = {"pid": product_id, "loc": location_id}
    row = session.connection().execute(_LEVEL_OF, params).first()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def totals_of(session: Session, product_id: int) -> tuple[int, int]:
    """``(on_hand, reserved)`` of a product summed over the locations that sell online."""
    row = session.connection().execute(_TOTALS_OF, {"pid": product_id}).one()
    return int(row[0]), int(row[1])


def _refusal(session: Session, sku: str, product_id: int, asked: int) -> OutOfStock:
    """Why setting the total to ``asked`` failed: checkouts hold more, or the other locations
    already hold more than ``asked`` (their stock is changed per location)."""
    on_hand, reserved = totals_of(session, product_id)
    main_on_hand, main_reserved = level_of(session, product_id)
    elsewhere = on_hand - main_on_hand
    if elsewhere > 0 and asked < elsewhere + main_reserved:
        return OutOfStock(
            f"{sku}: stock cannot go below {elsewhere + main_reserved}: {elsewhere} are at "
            f"other locations (change those per location) and {main_reserved} are held by "
            f"checkouts at {DEFAULT_LOCATION} (on hand {on_hand})."
        )
    return OutOfStock(
        f"{sku}: stock cannot go below the {reserved} units held by checkouts "
        f"in progress (on hand {on_hand})."
    )


def change_stock(
    session: Session, sku: str, *, on_hand: int | None = None, delta: int | None = None
) -> Product:
    """Set (``on_hand``: the product's total becomes this) or adjust (``delta``) a product's
    stock at the default location with one conditional UPDATE: stock never drops below what
    checkouts hold, nor below zero. Raises :class:`OutOfStock` when it would,
    :class:`NotFound` for an unknown sku."""
    if (on_hand is None) == (delta is None):
        raise InvalidInput("Give on_hand (set) or delta (adjust), exactly one.")
    for name, value, low in (("on_hand", on_hand, 0), ("delta", delta, -STOCK_MAX)):
        if value is not None and not low <= value <= STOCK_MAX:
            raise InvalidInput(f"{name} must be a whole number from {low} to {STOCK_MAX}.")
    product = _product(session, sku)
    ensure_level(session, product.id)
    statement, n = (_SET_ON_HAND, on_hand) if delta is None else (_ADJUST_ON_HAND, delta)
    result = session.connection().execute(statement, {"pid": product.id, "n": n, "now": utcnow()})
    moved = cast("CursorResult[object]", result).rowcount == 1
    if moved:
        product.updated_at = utcnow()
        session.flush()
    session.refresh(product)
    if not moved:
        if delta is not None:
            main_on_hand, _ = level_of(session, product.id)
            if main_on_hand + delta > STOCK_MAX:
                raise InvalidInput(
                    f"{sku}: stock cannot go above {STOCK_MAX} (on hand {product.on_hand}, "
                    f"delta {delta})."
                )
            asked = product.on_hand + delta
        else:
            asked = on_hand or 0
        raise _refusal(session, sku, product.id, asked)
    return product


def set_on_hand_if(session: Session, product_id: int, was: int, on_hand: int) -> bool:
    """Set the product's total ``on_hand`` (at MAIN) if it still is ``was`` and covers what
    checkouts hold. False if not: the caller reads the product to say which."""
    if not 0 <= on_hand <= STOCK_MAX:
        raise InvalidInput(f"on_hand must be a whole number from 0 to {STOCK_MAX}.")
    ensure_level(session, product_id)
    result = session.connection().execute(
        _SET_ON_HAND_IF, {"pid": product_id, "n": on_hand, "was": was, "now": utcnow()}
    )
    return cast("CursorResult[object]", result).rowcount == 1


def change_stock_if(session: Session, sku: str, *, was: int, on_hand: int) -> Product:
    """Set ``sku``'s stock to ``on_hand`` if it still is ``was`` (what the page showed): a
    sale or another clerk's save in between is never written over. Raises :class:`Conflict`
    (``context["now"]``, the stock now) when it changed, :class:`OutOfStock` below what
    checkouts hold, :class:`NotFound` for an unknown sku."""
    product = _product(session, sku)
    moved = set_on_hand_if(session, product.id, was, on_hand)
    if moved:
        product.updated_at = utcnow()
        session.flush()
    session.refresh(product)
    if moved:
        return product
    if product.on_hand != was:
        raise Conflict(
            f"Stock on hand changed since you loaded the page (now {product.on_hand}): "
            "nothing was saved. Check the number and save again.",
            context={"now": product.on_hand},
        )
    raise _refusal(session, sku, product.id, on_hand)


# -- the catalog import's stock (all of it at MAIN) ---------------------------------------


def open_levels(session: Session, stock: list[tuple[int, int]]) -> None:
    """New products' first stock, ``(product_id, on_hand)``, at the default location."""
    if not stock:
        return
    main, now = main_location_id(session), utcnow()
    rows = [
        {"product_id": product_id, "location_id": main, "on_hand": n, "reserved": 0}
        for product_id, n in stock
    ]
    session.connection().execute(LEVELS.insert(), [{**row, "updated_at": now} for row in rows])


def set_totals(session: Session, stock: list[tuple[int, int]]) -> bool:
    """Set products' totals, ``(product_id, on_hand)``, each moved at MAIN as
    :func:`change_stock` does, in one executemany. False when one was refused (below what is
    held there): the caller rolls back."""
    if not stock:
        return True
    _ensure_levels(session, [product_id for product_id, _ in stock], None)
    now = utcnow()
    params = [{"pid": product_id, "n": n, "now": now} for product_id, n in stock]
    connection = session.connection()
    if not connection.dialect.supports_sane_multi_rowcount:
        return all(_moved(connection.execute(_SET_ON_HAND, row)) for row in params)
    return _moved(connection.execute(_SET_ON_HAND, params), len(params))


def _moved(result: object, rows: int = 1) -> bool:
    return cast("CursorResult[object]", result).rowcount == rows
