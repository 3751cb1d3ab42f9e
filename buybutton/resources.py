"""What the REST API answers, as typed values: products, orders, links, webhook endpoints
and verified webhook events. Each keeps the JSON it came from in ``raw``."""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass, field, fields
from typing import Any


@dataclass(frozen=True, slots=True)
class Product:
    sku: str
    title: str
    price_amount: int
    currency: str
    on_hand: int
    reserved: int
    available: int
    active: bool
    raw: dict[str, Any] = field(repr=False, compare=False)
    # What shopping channels ask for (docs/feeds.md); None when not set.
    brand: str | None = None
    gtin: str | None = None
    mpn: str | None = None
    condition: str | None = None
    google_category: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Product:
        return cls(
            sku=data["sku"],
            title=data["title"],
            price_amount=data["price"]["amount"],
            currency=data["price"]["currency"],
            on_hand=data["stock"]["on_hand"],
            reserved=data["stock"]["reserved"],
            available=data["stock"]["available"],
            active=data["active"],
            raw=data,
            brand=data.get("brand"),
            gtin=data.get("gtin"),
            mpn=data.get("mpn"),
            condition=data.get("condition"),
            google_category=data.get("google_category"),
        )


@dataclass(frozen=True, slots=True)
class OrderLine:
    """One line of an order, amounts in minor units. ``total_amount`` is ``subtotal_amount
    - discount_amount``, plus ``tax_amount`` when the order's tax was added on top. The
    parts default to 0 so payloads from servers before 0.x (without them) still parse."""

    sku: str
    title: str
    quantity: int
    unit_amount: int
    total_amount: int
    subtotal_amount: int = 0
    discount_amount: int = 0
    tax_amount: int = 0
    tax_rate_bp: int = 0
    shipped_quantity: int = 0

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OrderLine:
        """The line, ignoring keys this version does not know (a newer server's)."""
        return cls(**{name: data[name] for name in _LINE_FIELDS if name in data})


_LINE_FIELDS = tuple(f.name for f in fields(OrderLine))


@dataclass(frozen=True, slots=True)
class Order:
    number: str
    status: str
    total_amount: int
    refunded_amount: int
    currency: str
    email: str
    name: str
    lines: tuple[OrderLine, ...]
    source: str | None
    campaign: str | None
    content: str | None
    paid_at: str | None
    fulfilled_at: str | None
    carrier: str | None
    tracking_number: str | None
    tracking_url: str | None
    raw: dict[str, Any] = field(repr=False, compare=False)
    # The total's parts (minor units, in ``currency``): ``subtotal_amount - discount_amount +
    # shipping_amount (+ tax_amount unless tax_included) == total_amount``. Keyword-only
    # with defaults, so answers from servers that did not send them still parse.
    _: KW_ONLY
    subtotal_amount: int = 0
    discount_amount: int = 0
    shipping_amount: int = 0
    tax_amount: int = 0
    shipping_tax_amount: int = 0  # the part of tax_amount charged on shipping
    tax_included: bool = False
    shipping_option: str | None = None
    shipping_title: str | None = None
    discount_codes: tuple[str, ...] = ()
    # The first link this browser came through (the attribution above is the last).
    first_source: str | None = None
    first_campaign: str | None = None
    first_content: str | None = None
    first_touch_at: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Order:
        tracking = data.get("tracking") or {}
        first = data["attribution"].get("first_touch") or {}

        def amount(name: str) -> int:
            part = data.get(name)
            return int(part["amount"]) if part else 0

        return cls(
            number=data["number"],
            status=data["status"],
            total_amount=data["total"]["amount"],
            refunded_amount=data["refunded"]["amount"],
            currency=data["total"]["currency"],
            email=data["email"],
            name=data["name"],
            lines=tuple(OrderLine.from_json(line) for line in data["lines"]),
            source=data["attribution"]["source"],
            campaign=data["attribution"]["campaign"],
            content=data["attribution"]["content"],
            paid_at=data["paid_at"],
            fulfilled_at=data["fulfilled_at"],
            carrier=tracking.get("carrier"),
            tracking_number=tracking.get("number"),
            tracking_url=tracking.get("url"),
            raw=data,
            subtotal_amount=amount("subtotal"),
            discount_amount=amount("discount"),
            shipping_amount=amount("shipping_cost"),
            tax_amount=amount("tax"),
            shipping_tax_amount=amount("shipping_tax"),
            tax_included=bool(data.get("tax_included", False)),
            shipping_option=data.get("shipping_option"),
            shipping_title=data.get("shipping_title"),
            discount_codes=tuple(data.get("discount_codes") or ()),
            first_source=first.get("source"),
            first_campaign=first.get("campaign"),
            first_content=first.get("content"),
            first_touch_at=first.get("at"),
        )


@dataclass(frozen=True, slots=True)
class Link:
    url: str
    short_url: str | None
    qr_svg: str | None = None
    qr_png: str | None = None


@dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    id: str
    url: str
    events: tuple[str, ...]
    enabled: bool
    secret: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WebhookEndpoint:
        return cls(
            id=data["id"],
            url=data["url"],
            events=tuple(data["events"]),
            enabled=data["enabled"],
            secret=data.get("secret"),
        )


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """A verified webhook. ``id`` is the ``webhook-id``: deduplicate on it."""

    id: str
    type: str
    timestamp: str
    data: dict[str, Any]

    @property
    def order(self) -> Order | None:
        return Order.from_json(self.data["order"]) if "order" in self.data else None
