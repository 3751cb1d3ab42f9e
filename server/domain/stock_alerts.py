"""Per-location ``stock.low``: a sale that takes a location's own units to LOW_STOCK or
below says so with the location (``{"sku", "available", "on_hand", "location": {"code",
"name"}}``), beside the product-wide ``stock.low`` of the stock sold online. Only in a shop
with more than one active location (with one, the product-wide event says it all)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from buybutton_server.db.models import Location
from buybutton_server.domain import inventory, outbox
from buybutton_server.domain.vocabulary import LOW_STOCK

_ACTIVE = select(func.count()).select_from(Location).where(Location.active.is_(True))


def announce_low_at_locations(session: Session, lines: Sequence[Any]) -> None:
    """For each sold line (``product_id``, ``quantity``, ``sku``, ``location_id``) whose
    location's available units just crossed LOW_STOCK: ``stock.low`` with the location."""
    located = [line for line in lines if line.location_id is not None]
    if not located or (session.connection().execute(_ACTIVE).scalar() or 0) < 2:
        return
    for line in located:
        on_hand, reserved = inventory.level_of(session, line.product_id, line.location_id)
        available = on_hand - reserved
        if available <= LOW_STOCK < available + line.quantity:
            where = session.get(Location, line.location_id)
            place = {"code": where.code, "name": where.name} if where else None
            data = {"sku": line.sku, "available": available, "on_hand": on_hand}
            outbox.record(session, "stock.low", {**data, "location": place})
