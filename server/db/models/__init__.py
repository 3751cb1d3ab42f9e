"""The schema: products with stock, orders with lines.

Money is an integer amount of minor units plus an ISO 4217 code. Stock has two counters:
``on_hand`` (what the merchant has) and ``reserved`` (held by checkouts whose payment is under
way); the database refuses ``reserved`` below zero or above ``on_hand``.
"""

from .access import AdminSession, AdminUser, ApiKey, IdempotencyRecord, RateLimitWindow, ShortLink
from .analytics import AnalyticsDaily, AnalyticsEvent
from .base import Base, utcnow
from .catalog import Product, ProductPrice
from .discounts import DiscountCode, DiscountCodeSku, DiscountRedemption
from .mail import MailMessage
from .media import ProductImage
from .orders import Order, OrderLine, ProcessedEvent, Refund
from .outbox import DeliveryAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent, WebhookSecret
from .shipping import ShippingRate, ShippingRateBracket, ShippingZone, ShippingZoneArea
from .shop import ShopProfile

__all__ = [
    "AdminSession",
    "AdminUser",
    "AnalyticsDaily",
    "AnalyticsEvent",
    "ApiKey",
    "Base",
    "DeliveryAttempt",
    "DiscountCode",
    "DiscountCodeSku",
    "DiscountRedemption",
    "IdempotencyRecord",
    "MailMessage",
    "Order",
    "OrderLine",
    "ProcessedEvent",
    "Product",
    "ProductImage",
    "ProductPrice",
    "RateLimitWindow",
    "Refund",
    "ShippingRate",
    "ShippingRateBracket",
    "ShippingZone",
    "ShippingZoneArea",
    "ShopProfile",
    "ShortLink",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
    "WebhookSecret",
    "utcnow",
]
