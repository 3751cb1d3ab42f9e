"""What the REST API answers, as typed values: products, orders, links, webhook endpoints
and verified webhook events. Each keeps the JSON it came from in ``raw``."""

from __future__ import annotations

from dataclasses import dataclass, field
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
        )


@dataclass(frozen=True, slots=True)
class OrderLine:
    sku: str
    title: str
    quantity: int
    unit_amount: int
    total_amount: int


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

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Order:
        tracking = data.get("tracking") or {}
        return cls(
            number=data["number"],
            status=data["status"],
            total_amount=data["total"]["amount"],
            refunded_amount=data["refunded"]["amount"],
            currency=data["total"]["currency"],
            email=data["email"],
            name=data["name"],
            lines=tuple(OrderLine(**line) for line in data["lines"]),
            source=data["attribution"]["source"],
            campaign=data["attribution"]["campaign"],
            content=data["attribution"]["content"],
            paid_at=data["paid_at"],
            fulfilled_at=data["fulfilled_at"],
            carrier=tracking.get("carrier"),
            tracking_number=tracking.get("number"),
            tracking_url=tracking.get("url"),
            raw=data,
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
