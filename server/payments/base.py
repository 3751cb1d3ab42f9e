"""The interface every payment provider implements, and the values that cross it.

Two styles of provider fit it. The built-in ``test`` provider answers ``succeeded`` or
``failed`` at once. Stripe may also answer ``requires_action`` (3-D Secure, finished in the
browser) or ``processing``; such payments are settled later by the provider's webhook, never by
the shopper's browser.

Nothing outside ``payments`` knows which provider it talks to: webhooks are verified and read
by :meth:`PaymentProvider.verify_webhook` into a provider-neutral :class:`PaymentEvent`, a bad
signature is :class:`WebhookSignatureInvalid`, and a provider that cannot be reached raises the
server's :class:`~buybutton_server.errors.PaymentUnavailable` (re-exported here), so the same
error reaches the shopper whatever the provider.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from buybutton_server.errors import BadRequest, Conflict, PaymentUnavailable

__all__ = [
    "AccountEvent",
    "BalanceInsufficient",
    "ChargeRequest",
    "ChargeResult",
    "ChargeStatus",
    "ConnectedAccount",
    "EventKind",
    "PaymentEvent",
    "PaymentProvider",
    "PaymentUnavailable",
    "PayoutProvider",
    "RefundResult",
    "TransferRequest",
    "WebhookSignatureInvalid",
]

ChargeStatus = Literal["succeeded", "failed", "requires_action", "processing"]
# What a provider's event says about a payment. An "other" event (created, updated, ...) is
# recorded as processed and changes nothing.
EventKind = Literal["succeeded", "failed", "canceled", "processing", "requires_action", "other"]


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
    # Stripe Connect parameters for the charge (``domain.commissions.charge_params``): an
    # application fee and a destination for one seller, or the order's transfer group.
    connect: Mapping[str, Any] = field(default_factory=dict)


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


@dataclass(frozen=True, kw_only=True)
class PaymentEvent:
    """The parts of a verified provider event that settle an order.

    ``id`` is the provider's event id (applied at most once), ``type`` its own name for the
    event (kept for the record), ``kind`` what it means for the payment, ``reference`` the
    provider's payment id (``Order.payment_reference``), ``order_public_id`` the order the
    payment was created for, when the provider echoes it back. ``code`` and ``message`` say
    why a payment failed, in the shopper's words (``payments.messages``).
    """

    id: str
    type: str
    kind: EventKind
    reference: str
    order_public_id: str | None = None
    code: str | None = None
    message: str | None = None


class WebhookSignatureInvalid(BadRequest):
    """A webhook body not signed with our secret, or signed too long ago. Nothing in it is
    read."""

    code = "invalid_signature"
    title = "Signature does not verify"
    message = "The webhook signature does not verify."


class PaymentProvider(Protocol):
    name: str
    # True when the final word on a payment comes by webhook rather than from charge().
    settles_by_webhook: bool
    # True when charge() waits on the network, so it must run off the event loop.
    calls_network: bool
    # The request header that carries a webhook's signature ("" for a provider without them).
    webhook_signature_header: str

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

    def wallet_contact(self, country: str | None = None) -> Mapping[str, str]:
        """Contact and shipping details a wallet shares when the shopper pays with it (the
        test wallet's sample address is in ``country``, the one the form shows)."""
        ...

    def page_settings(self) -> Mapping[str, str]:
        """What the checkout page needs to load the provider's browser code."""
        ...

    def content_security_policy(self) -> Mapping[str, list[str]]:
        """Extra CSP sources the checkout page needs, by directive."""
        ...

    def verify_webhook(
        self, payload: bytes, signature: str | None
    ) -> PaymentEvent | AccountEvent | None:
        """Check the signature over the raw body, and only then read the event.

        Raises :class:`WebhookSignatureInvalid` when it does not verify; returns ``None`` for
        a genuine event that is neither about a payment nor about a payee's connected
        account (``AccountEvent``): acknowledged, changes nothing.
        """
        ...


# -- paying payees (Stripe Connect; the test provider keeps the same ledger, moving nothing) --


@dataclass(frozen=True, kw_only=True)
class ConnectedAccount:
    """A payee's connected account as the provider sees it."""

    id: str
    charges_enabled: bool = False
    payouts_enabled: bool = False
    details_submitted: bool = False


@dataclass(frozen=True, kw_only=True)
class AccountEvent:
    """A verified ``account.updated``: the account's state, applied to its payee.
    ``created`` is the event's own time (Unix seconds): events come in any order, and an
    older one than the state already applied changes nothing."""

    id: str
    type: str
    account: ConnectedAccount
    created: int | None = None


@dataclass(frozen=True, kw_only=True)
class TransferRequest:
    """Money from the platform's balance to a payee: ``source_payment`` is the order's
    payment reference (its charge funds the transfer), ``transfer_group`` the order's."""

    amount: int
    currency: str
    destination: str
    transfer_group: str
    source_payment: str | None
    idempotency_key: str
    metadata: Mapping[str, str] = field(default_factory=dict)


class BalanceInsufficient(Conflict):
    """The payee's balance cannot cover a reversal: recorded as owed, asked again later."""

    code = "balance_insufficient"
    title = "The payee's balance is too low"
    message = "The payee's balance cannot cover this reversal now; it is recorded as owed."


@runtime_checkable
class PayoutProvider(Protocol):
    """What paying payees needs from a provider (both built-in providers have it)."""

    name: str

    def create_account(self, *, email: str | None, kind: str, idempotency_key: str) -> str:
        """A new connected account for a payee (asking for card_payments and transfers)."""
        ...

    def account_link(self, account: str, *, refresh_url: str, return_url: str) -> str:
        """A fresh onboarding link for ``account`` (made when clicked: links expire)."""
        ...

    def account(self, account: str) -> ConnectedAccount:
        """The account's state now."""
        ...

    def transfer(self, request: TransferRequest) -> str:
        """Send ``request``; returns the transfer's reference."""
        ...

    def reverse_transfer(self, reference: str, *, amount: int, idempotency_key: str) -> str:
        """Take ``amount`` of a transfer back; raises :class:`BalanceInsufficient` when the
        payee's balance cannot cover it. Returns the reversal's reference."""
        ...
