"""The schema: products with stock, orders with lines.

Money is an integer amount of minor units plus an ISO 4217 code. Stock has two counters per
product and location (``stock_levels``): ``on_hand`` (what the merchant has there) and
``reserved`` (held by checkouts whose payment is under way); the database refuses
``reserved`` below zero or above ``on_hand``. A product's totals are derived from them.
"""

from .access import AdminSession, AdminUser, ApiKey, IdempotencyRecord, RateLimitWindow, ShortLink
from .analytics import (
    AnalyticsEvent,
    AnalyticsKey,
    AnalyticsTotal,
    RollupState,
    RollupWork,
)
from .base import Base, utcnow
from .catalog import Product, ProductPrice
from .commissions import (
    CommissionLine,
    CommissionRule,
    LedgerEntry,
    Payee,
    PayeeLocation,
    Transfer,
    TransferReversal,
)
from .counter import OrderPickup, StaffLocation
from .discounts import DiscountCode, DiscountCodeSku, DiscountRedemption
from .feeds import FeedKey
from .locations import DEFAULT_LOCATION, LOCATION_KINDS, Location, StockLevel
from .mail import MailMessage
from .media import ProductImage
from .orders import Order, OrderLine, ProcessedEvent, Refund
from .outbox import DeliveryAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent, WebhookSecret
from .privacy import Erasure
from .returns import Return, ReturnLine
from .shipments import Shipment, ShipmentLine
from .shipping import ShippingRate, ShippingRateBracket, ShippingZone, ShippingZoneArea
from .shop import ShopProfile
from .ucp import UcpCheckoutSession, UcpHandoff, UcpIdempotencyKey

__all__ = [
    "DEFAULT_LOCATION",
    "LOCATION_KINDS",
    "AdminSession",
    "AdminUser",
    "AnalyticsEvent",
    "AnalyticsKey",
    "AnalyticsTotal",
    "ApiKey",
    "Base",
    "CommissionLine",
    "CommissionRule",
    "DeliveryAttempt",
    "DiscountCode",
    "DiscountCodeSku",
    "DiscountRedemption",
    "Erasure",
    "FeedKey",
    "IdempotencyRecord",
    "LedgerEntry",
    "Location",
    "MailMessage",
    "Order",
    "OrderLine",
    "OrderPickup",
    "Payee",
    "PayeeLocation",
    "ProcessedEvent",
    "Product",
    "ProductImage",
    "ProductPrice",
    "RateLimitWindow",
    "Refund",
    "Return",
    "ReturnLine",
    "RollupState",
    "RollupWork",
    "Shipment",
    "ShipmentLine",
    "ShippingRate",
    "ShippingRateBracket",
    "ShippingZone",
    "ShippingZoneArea",
    "ShopProfile",
    "ShortLink",
    "StaffLocation",
    "StockLevel",
    "Transfer",
    "TransferReversal",
    "UcpCheckoutSession",
    "UcpHandoff",
    "UcpIdempotencyKey",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
    "WebhookSecret",
    "utcnow",
]
