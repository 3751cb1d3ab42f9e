"""The interface every payment provider implements.

Two styles of provider fit it. The built-in ``test`` provider answers ``succeeded`` or
``failed`` at once. Stripe may also answer ``requires_action`` (3-D Secure, finished in the
browser) or ``processing``; such payments are settled later by the provider's webhook, never by
the shopper's browser.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

ChargeStatus = Literal["succeeded", "failed", "requires_action", "processing"]


@dataclass(frozen=True, kw_only=True)
class ChargeRequest:
    """Money to take for one order. ``amount`` comes from the database, never the browser."""

    amount: int
    currency: str
    idempotency_key: str
    method: str
    details: Mapping[str, str] = field(default_factory=dict, repr=False)
    metadata: Mapping[str, str] = field(default_factory=dict)
    # Called with the provider's payment id once it exists and before any money can move,
    # so that a crash afterwards leaves an order that knows where to ask.
    record_reference: Callable[[str], None] | None = field(default=None, repr=False)


@dataclass(frozen=True, kw_only=True)
class ChargeResult:
    status: ChargeStatus
    reference: str | None = None
    code: str | None = None
    message: str | None = None
    # For ``requires_action``: what the browser needs to finish the payment.
    client_secret: str | None = field(default=None, repr=False)

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"

    @property
    def failed(self) -> bool:
        return self.status == "failed"


@dataclass(frozen=True, kw_only=True)
class RefundResult:
    reference: str


class PaymentUnavailable(Exception):
    """The provider could not be reached or answered with an error of its own.

    The shopper may try again; the order that was being paid is released.
    """


class PaymentProvider(Protocol):
    name: str
    # True when the final word on a payment comes by webhook rather than from charge().
    settles_by_webhook: bool
    # True when charge() waits on the network, so it must run off the event loop.
    calls_network: bool

    def charge(self, request: ChargeRequest) -> ChargeResult:
        """Take the money, or say why not. The same idempotency key must never charge twice."""
        ...

    def status(self, reference: str) -> ChargeStatus | Literal["canceled"]:
        """Ask the provider where a payment stands (for reservations that ran out)."""
        ...

    def cancel(self, reference: str) -> None:
        """Make sure a payment that has not succeeded never will."""
        ...

    def refund(self, reference: str, *, amount: int, idempotency_key: str) -> RefundResult: ...

    def wallet_contact(self) -> Mapping[str, str]:
        """Contact and shipping details a wallet shares when the shopper pays with it."""
        ...

    def page_settings(self) -> Mapping[str, str]:
        """What the checkout page needs to load the provider's browser code."""
        ...

    def content_security_policy(self) -> Mapping[str, list[str]]:
        """Extra CSP sources the checkout page needs, by directive."""
        ...
