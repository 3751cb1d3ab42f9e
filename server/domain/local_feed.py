"""The local inventory feed for Google (``/feeds/google-local.xml``): what each store holds of
each product, so a shopper searching nearby sees "in stock at Store B, pick up today".

One item per (store, product) for every active store (a location of kind ``store``, or any
that offers pickup) and every active product with a stock level there, in Google's local
product inventory XML (attribute names with underscores): ``g:store_code`` (the location's
code), ``g:id`` (the sku, as in the product feed), ``g:quantity`` (on hand less what
checkouts hold), ``g:availability`` (``in_stock`` / ``out_of_stock``), ``g:pickup_method``
(``buy`` where the store offers pickup and has the units, else ``not_supported``) and
``g:pickup_sla`` from the store's ``pickup_ready_minutes`` (``same_day`` within a working
day, ``next_day`` within two, then ``2-day`` .. ``6-day``, ``multi-week``). The price is
left to the product feed (the same everywhere).

The feed is behind the feeds' key (channel ``google-local``, :mod:`.feeds`), read in batches
(each in its own short session) and validated by the same cheap validator.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from buybutton_server.db.models import Location, Product, StockLevel
from buybutton_server.domain.feeds_formats import RSS_TAIL, rss_head
from buybutton_server.domain.feeds_formats import _xml as xml_text

CHANNEL = "google-local"
FILENAME = "google-local.xml"
MEDIA_TYPE = "application/xml; charset=utf-8"
BATCH = 500
_DAY = 24 * 60


@dataclass(frozen=True, slots=True)
class Store:
    id: int
    code: str
    pickup: bool
    sla: str


@dataclass(frozen=True, slots=True)
class LocalItem:
    store_code: str
    id: str
    quantity: int
    availability: str
    pickup_method: str
    pickup_sla: str  # "" when pickup is not supported


def pickup_sla(ready_minutes: int) -> str:
    """Google's pickup SLA for a store that readies an order in ``ready_minutes`` of opening
    time: within a day's opening ``same_day``, within two ``next_day``, then days."""
    if ready_minutes <= 12 * 60:
        return "same_day"
    days = -(-ready_minutes // _DAY)  # whole days, rounded up
    if days <= 1:
        return "next_day"
    return f"{days}-day" if days <= 6 else "multi-week"


def stores(session: Session) -> list[Store]:
    """The active stores (kind ``store`` or offering pickup), by code."""
    query = (
        select(Location.id, Location.code, Location.pickup_enabled, Location.pickup_ready_minutes)
        .where(
            Location.active.is_(True),
            or_(Location.kind == "store", Location.pickup_enabled.is_(True)),
        )
        .order_by(Location.code)
    )
    return [Store(r[0], r[1], bool(r[2]), pickup_sla(int(r[3]))) for r in session.execute(query)]


def items_at(session: Session, store: Store, after: int) -> tuple[list[LocalItem], int | None]:
    """A batch of ``store``'s items, products by id after ``after``; the last id read (None
    when done)."""
    query = (
        select(Product.id, Product.sku, StockLevel.on_hand, StockLevel.reserved)
        .join(StockLevel, StockLevel.product_id == Product.id)
        .where(
            StockLevel.location_id == store.id,
            Product.active.is_(True),
            Product.id > after,
        )
        .order_by(Product.id)
        .limit(BATCH)
    )
    rows = session.execute(query).all()
    if not rows:
        return [], None
    items = []
    for _, sku, on_hand, reserved in rows:
        quantity = max((on_hand or 0) - (reserved or 0), 0)
        pickup = store.pickup and quantity > 0
        items.append(
            LocalItem(
                store_code=store.code,
                id=sku,
                quantity=quantity,
                availability="in_stock" if quantity > 0 else "out_of_stock",
                pickup_method="buy" if pickup else "not_supported",
                pickup_sla=store.sla if pickup else "",
            )
        )
    return items, int(rows[-1][0])


Opener = Callable[[], AbstractContextManager[Session]]


def batches(open_session: Opener) -> Iterator[list[LocalItem]]:
    """Every item, a batch at a time, each batch read in its own session."""
    with open_session() as session:
        listed = stores(session)
    for store in listed:
        after: int | None = 0
        while after is not None:
            with open_session() as session:
                items, after = items_at(session, store, after)
            if items:
                yield items


_FIELDS = ("store_code", "id", "quantity", "availability", "pickup_method", "pickup_sla")


def render(batches: Iterator[list[LocalItem]], *, shop: str, home: str) -> Iterator[bytes]:
    """The feed's bytes (RSS 2.0 with the ``g:`` namespace), one chunk per batch."""
    yield rss_head(shop, home).encode()
    for batch in batches:
        parts: list[str] = []
        for item in batch:
            parts.append("<item>")
            for field in _FIELDS:
                value = str(getattr(item, field))
                if value:
                    parts.append(f"<g:{field}>{xml_text(value)}</g:{field}>")
            parts.append("</item>\n")
        yield "".join(parts).encode()
    yield RSS_TAIL.encode()
