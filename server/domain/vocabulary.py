"""Words the shop uses everywhere, each defined once: order and delivery statuses, the
low-stock threshold, and money as JSON."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from buybutton.money import decimal_string

# A product is "low in stock" at this many available units or fewer (pages show
# "Only N left"; a sale that crosses it sends ``stock.low``).
LOW_STOCK = 5


class OrderStatus(StrEnum):
    """An order's life: ``pending`` (stock reserved, payment under way) becomes ``paid`` or
    ``failed``; an expired hold becomes ``canceled``; a paid order refunded in full becomes
    ``refunded``. A reservation (reserve online, pay in store) is ``reserved`` until staff
    mark it paid at the counter or its hold runs out (``canceled``). The database's CHECK
    constraint lists the same values."""

    PENDING = "pending"
    RESERVED = "reserved"
    PAID = "paid"
    FAILED = "failed"
    CANCELED = "canceled"
    REFUNDED = "refunded"


ORDER_STATUSES: tuple[str, ...] = tuple(OrderStatus)


class DeliveryStatus(StrEnum):
    """A webhook delivery: ``pending`` until an attempt gets a 2xx (``delivered``), retries
    run out (``failed``), or its endpoint goes away (``canceled``)."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELED = "canceled"


def is_low_stock(available: int) -> bool:
    return 0 < available <= LOW_STOCK


def money_json(amount: int, currency: str) -> dict[str, Any]:
    """Money in every JSON answer: integer minor units, the ISO currency, and a decimal
    string for people (``{"amount": 2490, "currency": "EUR", "decimal": "24.90"}``)."""
    return {"amount": amount, "currency": currency, "decimal": decimal_string(amount, currency)}
