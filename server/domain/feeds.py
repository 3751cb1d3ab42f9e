"""Product feeds for shopping channels (Google Merchant Center, Meta, TikTok, Pinterest):
which products each channel gets, read in batches, and the cheap validator behind
``ETag``/``Last-Modified``. The formats (RSS 2.0 with the ``g:`` namespace, CSV) are in
:mod:`.feeds_formats`; the rules of the product fields in :mod:`.feeds_fields`.

A feed lists the active products whose every field the channel requires is present; the
others are left out and listed by :func:`missing` (``buybutton feeds check``). Each item
links to the product page with the channel as ``source``, so the checkout the shopper
reaches is credited to the channel.
"""

from __future__ import annotations

import hashlib
import hmac
from base64 import urlsafe_b64encode
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from buybutton.money import decimal_string
from buybutton.urls import absolute
from buybutton_server.db.models import FeedKey, Location, Product, ProductPrice, StockLevel
from buybutton_server.errors import InvalidInput

BATCH = 500  # products per read
FORMAT_VERSION = "1"  # bump when the output changes shape: every validator changes with it
ID_MAX, TITLE_MAX, DESCRIPTION_MAX = 50, 150, 5000  # Google's limits (the strictest)


@dataclass(frozen=True, slots=True)
class Channel:
    name: str
    source: str  # the attribution its links carry
    kind: str  # "xml" or "csv"
    requires: tuple[str, ...]  # fields besides id, title, link, price and availability

    @property
    def filename(self) -> str:
        return f"{self.name}.{self.kind}"

    @property
    def media_type(self) -> str:
        return "application/xml; charset=utf-8" if self.kind == "xml" else "text/csv; charset=utf-8"


_COMMON = ("description", "image_link")
CHANNELS: dict[str, Channel] = {
    # Merchant Center: brand, and a GTIN or an MPN, for new branded goods.
    "google": Channel("google", "google_shopping", "xml", (*_COMMON, "brand", "gtin or mpn")),
    "meta": Channel("meta", "meta", "csv", (*_COMMON, "brand")),
    "tiktok": Channel("tiktok", "tiktok", "csv", (*_COMMON, "brand")),
    "pinterest": Channel("pinterest", "pinterest", "csv", _COMMON),
}


def channel(name: str) -> Channel | None:
    return CHANNELS.get(name)


def require_channel(name: str) -> Channel:
    found = CHANNELS.get(name)
    if found is None:
        raise InvalidInput(f"Unknown feed {name!r}: the feeds are {', '.join(CHANNELS)}.")
    return found


# -- keys ---------------------------------------------------------------------------------


def derive_key(secret: str, channel_name: str, generation: int) -> str:
    """A feed's URL key: HMAC of the server's secret, the channel and its generation."""
    message = f"buybutton feed key\x00{channel_name}\x00{generation}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return urlsafe_b64encode(digest[:24]).decode()


def generation(session: Session, channel_name: str) -> int:
    found = session.get(FeedKey, channel_name)
    return found.generation if found is not None else 1


def rotate(session: Session, channel_name: str) -> int:
    """Bump the channel's generation: its old URL stops working. The new generation."""
    found = session.get(FeedKey, channel_name)
    if found is None:
        found = FeedKey(channel=channel_name, generation=1)
        session.add(found)
    found.generation = (found.generation or 1) + 1
    found.rotated_at = datetime.now(UTC)
    session.flush()
    return found.generation


def key_matches(secrets: tuple[str, ...], channel_name: str, gen: int, given: str) -> bool:
    """Whether ``given`` is the channel's key under any of the server's secrets (newest
    last: a secret being rotated out still opens the feed). Constant time per secret."""
    matched = False
    for secret in secrets:
        expected = derive_key(secret, channel_name, gen)
        matched |= hmac.compare_digest(expected.encode(), given.encode())
    return matched


# -- the validator ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Validator:
    etag: str
    last_modified: datetime


def _aware(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite aggregates answer text
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def validator(session: Session, channel_name: str, currency: str | None) -> Validator:
    """What the feed's content depends on, in three aggregate reads (no product row is
    read): products (count, last change), stock levels and selling locations (sums, last
    change) and price lists. Any sale, restock or edit changes it."""
    products = session.execute(
        select(func.count(), func.max(Product.updated_at), func.max(Product.id))
    ).one()
    stock = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(StockLevel.on_hand), 0),
            func.coalesce(func.sum(StockLevel.reserved), 0),
            func.max(StockLevel.updated_at),
        )
    ).one()
    places = session.execute(select(func.count(), func.max(Location.updated_at))).one()
    prices = session.execute(
        select(func.count(), func.coalesce(func.sum(ProductPrice.amount), 0))
    ).one()
    state = repr((FORMAT_VERSION, channel_name, currency, tuple(products), tuple(stock),
                  tuple(places), tuple(prices)))  # fmt: skip
    times = [_aware(products[1]), _aware(stock[3]), _aware(places[1])]
    known = [t for t in times if t is not None]
    last = max(known) if known else datetime(2000, 1, 1, tzinfo=UTC)
    etag = '"' + hashlib.sha256(state.encode()).hexdigest()[:32] + '"'
    # In UTC itself (PostgreSQL answers in the session's zone): Last-Modified is GMT.
    return Validator(etag=etag, last_modified=last.astimezone(UTC).replace(microsecond=0))


# -- the items ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One product as a channel sees it: every address absolute, the price in the feed's
    currency, text cut to the channel's limits."""

    id: str
    title: str
    description: str
    link: str
    image_link: str
    availability: str  # "in stock" / "out of stock"
    price: str  # "12.50 USD"
    brand: str
    gtin: str
    mpn: str
    condition: str
    google_category: str
    item_group_id: str


_COLUMNS = (
    Product.id, Product.sku, Product.title, Product.description, Product.image_url,
    Product.price_amount, Product.currency, Product.on_hand, Product.reserved,
    Product.variant_group, Product.brand, Product.gtin, Product.mpn, Product.condition,
    Product.google_category,
)  # fmt: skip


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,.;:-") + "…"


def product_link(base_url: str, sku: str, source: str) -> str:
    return absolute(base_url, f"/p/{sku}?source={source}")


@dataclass(frozen=True, slots=True)
class Row:
    """A product's row, before a channel's rules: ``missing`` says what it lacks for them."""

    sku: str
    item: FeedItem

    def missing(self, chosen: Channel) -> list[str]:
        item, lacks = self.item, []
        if len(item.id) > ID_MAX:
            lacks.append(f"id (sku longer than {ID_MAX} characters)")
        for need in chosen.requires:
            if need == "gtin or mpn":
                if not (item.gtin or item.mpn):
                    lacks.append("gtin or mpn")
            elif not getattr(item, need):
                lacks.append(need)
        return lacks


def _rows(
    session: Session, base_url: str, chosen: Channel, currency: str | None, after: int
) -> tuple[list[Row], int | None]:
    query = select(*_COLUMNS).where(Product.active.is_(True), Product.id > after)
    batch = session.execute(query.order_by(Product.id).limit(BATCH)).all()
    if not batch:
        return [], None
    listed: dict[int, int] = {}
    if currency is not None:
        ids = [row[0] for row in batch]
        found = session.execute(
            select(ProductPrice.product_id, ProductPrice.amount).where(
                ProductPrice.product_id.in_(ids), ProductPrice.currency == currency
            )
        )
        listed = {product_id: amount for product_id, amount in found}
    rows = []
    for (pid, sku, title, description, image, amount, own, on_hand, reserved, group, brand,
         gtin, mpn, condition, category) in batch:  # fmt: skip
        if currency is not None and currency != own:
            if pid not in listed:
                continue  # no exact price in that currency: never converted
            amount, own = listed[pid], currency
        item = FeedItem(
            id=sku,
            title=_cut(title, TITLE_MAX),
            description=_cut(description or "", DESCRIPTION_MAX),
            link=product_link(base_url, sku, chosen.source),
            image_link=absolute(base_url, image) if image else "",
            availability="in stock" if (on_hand or 0) - (reserved or 0) > 0 else "out of stock",
            price=f"{decimal_string(amount, own)} {own}",
            brand=brand or "",
            gtin=gtin or "",
            mpn=mpn or "",
            condition=condition or "new",
            google_category=category or "",
            item_group_id=group or "",
        )
        rows.append(Row(sku, item))
    return rows, batch[-1][0]


def batches(
    open_session: Callable[[], AbstractContextManager[Session]],
    base_url: str,
    chosen: Channel,
    currency: str | None,
) -> Iterator[list[FeedItem]]:
    """The channel's items, a batch at a time, each batch read in its own short session
    from ``open_session()`` (a context manager): memory stays flat however large the
    catalog, and no transaction stays open while the channel reads slowly."""
    after: int | None = 0
    while after is not None:
        with open_session() as session:
            rows, after = _rows(session, base_url, chosen, currency, after)
        items = [row.item for row in rows if not row.missing(chosen)]
        if items:
            yield items


def missing(
    session: Session, base_url: str, chosen: Channel, currency: str | None = None
) -> list[tuple[str, list[str]]]:
    """The active products left out of the channel's feed, each with what it lacks."""
    found: list[tuple[str, list[str]]] = []
    after: int | None = 0
    while after is not None:
        rows, after = _rows(session, base_url, chosen, currency, after)
        found.extend((row.sku, lacks) for row in rows if (lacks := row.missing(chosen)))
    return found
