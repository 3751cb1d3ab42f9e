"""The interface every payment provider implements."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, kw_only=True)
class ChargeRequest:
    """Money to take for one order. ``amount`` comes from the database, never the browser."""

    amount: int
    currency: str
    idempotency_key: str
    method: str
    details: Mapping[str, str] = field(default_factory=dict, repr=False)
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class ChargeResult:
    succeeded: bool
    reference: str | None = None
    code: str | None = None
    message: str | None = None


class PaymentUnavailable(Exception):
    """The provider could not be reached or answered with an error of its own.

    No money moved; the shopper may try again.
    """


class PaymentProvider(Protocol):
    name: str

    def charge(self, request: ChargeRequest) -> ChargeResult:
        """Take the money, or say why not. The same idempotency key must never charge twice."""
        ...

    def wallet_contact(self) -> Mapping[str, str]:
        """Contact and shipping details a wallet shares when the shopper pays with it."""
        ...
