"""Which location(s) fill an order, and the reservations that hold its units there.

:func:`reserve` runs inside the placing transaction. It reads the candidate levels of the
order's products, locking them (PostgreSQL ``FOR UPDATE``, in product id then location id
order, so two checkouts can never deadlock; SQLite's writers queue behind ``BEGIN
IMMEDIATE``), decides where each product comes from, then reserves with one conditional
UPDATE per (product, location), the CHECK behind it as ever.

The rules (docs/stores.md):

* ``at`` (a location the shopper chose, e.g. a store to pick up at): every line there, or a
  refusal naming the product it lacks.
* Delivery: the first location that ships (by ``priority``, then id) and can fill the WHOLE
  order. When none can, the order is split: greedily, the location that can fill the most
  of the remaining products (ties by priority, then id) takes them, until all are placed. A
  product no single location can fill is refused, naming it (a line is never split).

Repeated lines of one product are summed: they are checked, and reserved, together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Integer, bindparam, select
from sqlalchemy.orm import Session

from buybutton_server.domain import inventory
from buybutton_server.domain.inventory import LEVELS, LOCATIONS
from buybutton_server.errors import NotEnoughStock

_S, _L = LEVELS.c, LOCATIONS.c
_CANDIDATES = (
    select(_S.product_id, _S.location_id, _S.on_hand - _S.reserved, _L.priority, _L.code)
    .join(LOCATIONS, _L.id == _S.location_id)
    .where(_S.product_id.in_(bindparam("products", expanding=True)), _L.active.is_(True))
    .order_by(_S.product_id, _S.location_id)
    .with_for_update(of=LEVELS)
)
_SHIPPING = _CANDIDATES.where(_L.ships.is_(True))
_AT = _CANDIDATES.where(_L.id == bindparam("at", type_=Integer))
_NAME_OF = select(_L.name).where(_L.id == bindparam("at", type_=Integer))


@dataclass(frozen=True, slots=True)
class Want:
    """One line to reserve: its product and quantity (``sku`` and ``title`` name it in a
    refusal)."""

    product_id: int
    quantity: int
    sku: str = ""
    title: str = ""


class Unfilled(NotEnoughStock):
    """No location can fill ``want`` whole (with ``at``: the chosen location cannot). Nothing
    was reserved (the caller's rollback undoes the lines reserved before).

    ``available`` is the most one location could give (at ``location``, when chosen)."""

    def __init__(self, want: Want, available: int, location: str | None = None) -> None:
        self.want, self.location = want, location
        super().__init__(max(available, 0))
        self.code = "sold_out" if available <= 0 else "not_enough_stock"
        where = f" at {location}" if location else ""
        have = "none" if available <= 0 else f"only {available}"
        self.message = (
            f"Sorry, {have} of the {want.title or want.sku} left{where}. Nothing was charged "
            "and nothing is held."
        )


def _summed(lines: Sequence[Want]) -> dict[int, Want]:
    """One Want per product, quantities of repeated lines added up."""
    summed: dict[int, Want] = {}
    for line in lines:
        seen = summed.get(line.product_id)
        quantity = line.quantity + (seen.quantity if seen else 0)
        summed[line.product_id] = Want(line.product_id, quantity, line.sku, line.title)
    return summed


@dataclass(frozen=True, slots=True)
class _Level:
    location_id: int
    available: int
    rank: tuple[int, int]  # (priority, id)


def plan(
    wanted: dict[int, Want], levels: dict[int, dict[int, _Level]], ranks: list[tuple[int, int]]
) -> dict[int, int]:
    """Where each product comes from: ``{product_id: location_id}``. Raises :class:`Unfilled`
    for a product no single location holds enough of."""

    def fills(location_id: int, product_id: int) -> bool:
        level = levels.get(product_id, {}).get(location_id)
        return level is not None and level.available >= wanted[product_id].quantity

    for _, location_id in ranks:  # one location for the whole order
        if all(fills(location_id, product_id) for product_id in wanted):
            return dict.fromkeys(wanted, location_id)
    for product_id, want in wanted.items():
        if not any(fills(location_id, product_id) for _, location_id in ranks):
            most = max((lv.available for lv in levels.get(product_id, {}).values()), default=0)
            raise Unfilled(want, most)
    chosen: dict[int, int] = {}
    left = set(wanted)
    while left:  # fewest locations: the one filling the most remaining products first
        best = max(ranks, key=lambda r: (sum(fills(r[1], p) for p in left), -r[0], -r[1]))
        taken = {p for p in left if fills(best[1], p)}
        chosen.update(dict.fromkeys(taken, best[1]))
        left -= taken
    return chosen


def reserve(session: Session, lines: Sequence[Want], *, at: int | None = None) -> list[int]:
    """Reserve every line in this transaction, at ``at`` or where the rules route it; the
    location id of each line, in ``lines``' order. Raises :class:`Unfilled` (nothing the
    caller should keep: roll back) when the order cannot be filled as asked."""
    wanted = _summed(lines)
    params: dict[str, object] = {"products": sorted(wanted)}
    statement = _SHIPPING if at is None else _AT
    if at is not None:
        params["at"] = at
    levels: dict[int, dict[int, _Level]] = {}
    ranks: set[tuple[int, int]] = set()
    rows = session.connection().execute(statement, params)  # Core: no ORM execution
    for product_id, location_id, available, priority, _ in rows:
        rank = (int(priority), int(location_id))
        levels.setdefault(product_id, {})[location_id] = _Level(location_id, available, rank)
        ranks.add(rank)
    if at is not None:
        name = session.connection().execute(_NAME_OF, {"at": at}).scalar()
        for product_id, want in wanted.items():
            level = levels.get(product_id, {}).get(at)
            available = level.available if level else 0
            if available < want.quantity:
                raise Unfilled(want, available, name or "this location")
        chosen = dict.fromkeys(wanted, at)
    else:
        chosen = plan(wanted, levels, sorted(ranks))
    for product_id in sorted(wanted):  # the lock order: product id (one location each)
        location_id = chosen[product_id]
        quantity = wanted[product_id].quantity
        if not inventory.reserve(session, product_id, quantity, location_id=location_id):
            # The rows were locked and read above: only a product taken down gets here.
            raise Unfilled(wanted[product_id], 0)
    return [chosen[line.product_id] for line in lines]
