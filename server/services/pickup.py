"""Pick up in store for the API and the checkout page: the pickup list of a product (or a
cart) as an answer type. The rules and the one query are :mod:`.domain.pickup`'s."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from pydantic import Field

from buybutton_server.db import Sessions, read_session
from buybutton_server.db.models import utcnow
from buybutton_server.domain import pickup, quoting
from buybutton_server.domain.carts import Item
from buybutton_server.domain.catalog import ProductView, require_product
from buybutton_server.domain.outbox import iso_time
from buybutton_server.services.api_types import Answer, Query, Timestamp


class PickupQuery(Query):
    """Where the shopper is (both or neither) and how many they want."""

    lat: Annotated[float, Field(ge=-90, le=90, description="degrees")] | None = None
    lng: Annotated[float, Field(ge=-180, le=180, description="degrees")] | None = None
    quantity: Annotated[int, Field(ge=1, le=10_000)] = 1
    limit: Annotated[int, Field(ge=1, le=1000, description="how many stores, best first")] = 20


class PickupLocation(Answer):
    code: str
    name: str
    city: str
    country: str
    line1: str
    postal_code: str
    lat: float | None
    lng: float | None
    # Every unit asked for is on the shelf there now (not a promise: the order checks again).
    in_stock: bool
    available: int
    distance_km: float | None
    ready_at: Timestamp | None
    ready_text: str
    # The store lets the shopper reserve and pay at the counter.
    reservations: bool
    pickup_instructions: str

    @classmethod
    def of(cls, store: pickup.PickupStore) -> PickupLocation:
        return cls(
            code=store.code,
            name=store.name,
            city=store.city,
            country=store.country,
            line1=store.line1,
            postal_code=store.postal_code,
            lat=store.lat,
            lng=store.lng,
            in_stock=store.in_stock,
            available=store.available,
            distance_km=store.distance_km,
            ready_at=iso_time(store.ready_at),
            ready_text=store.ready_text,
            reservations=store.reservations,
            pickup_instructions=store.instructions,
        )


class PickupLocationList(Answer):
    """Stores that offer pickup: in stock first, then nearest (with ``lat``/``lng``), else
    by city and name."""

    sku: str
    quantity: int
    data: list[PickupLocation]


def product_pickup(sessions: Sessions, sku: str, query: PickupQuery) -> PickupLocationList:
    near = pickup.check_point(query.lat, query.lng)
    with read_session(sessions) as session:
        product = require_product(session, sku)
        stores = pickup.pickup_locations(
            session, [(product.id, query.quantity)], near=near, now=utcnow(), limit=query.limit
        )
    data = [PickupLocation.of(store) for store in stores]
    return PickupLocationList(sku=product.sku, quantity=query.quantity, data=data)


def cart_pickup(
    sessions: Sessions,
    wanted: Sequence[tuple[str, int]],
    near: tuple[float, float] | None = None,
    limit: int = 20,
) -> list[pickup.PickupStore]:
    """The pickup list for a checkout's lines (``(sku, quantity)``); [] when the cart
    cannot be read (the page shows its own refusal for that)."""
    with read_session(sessions) as session:
        cart = quoting.cart_lines(session, wanted)
        lines = [(line.product.product_id, line.quantity) for line in cart]
        return pickup.pickup_locations(session, lines, near=near, now=utcnow(), limit=limit)


def delivers(product: ProductView, quantity: int, items: Sequence[Item] = ()) -> bool:
    """Whether delivery can be offered for the page's lines: the stock that ships (a
    product's total is over the active locations that ship; docs/stores.md) covers every
    line, repeated products summed. A product stocked only at stores that do not ship
    cannot be delivered: the checkout then offers pickup only (issue 15)."""
    lines = [(item.product, item.quantity) for item in items] or [(product, quantity)]
    need = pickup.summed((p.id, qty) for p, qty in lines)
    stock = {p.id: p.available for p, _ in lines}
    return all(stock[pid] >= qty for pid, qty in need.items())
