"""Stripe, through the official SDK and PaymentIntents, confirmed on the server.

The browser turns card (or wallet) details into a payment method with Stripe.js and sends us
its id; we create and confirm a PaymentIntent for the amount in our database, with the
checkout's attempt key as the idempotency key, so a retried request never charges twice. When
the bank wants 3-D Secure, the browser finishes it with the client secret. The order is settled
only by Stripe's webhook (see ``webhooks``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal
from urllib.parse import urlsplit

import stripe

from buybutton_server.payments.base import (
    AccountEvent,
    BalanceInsufficient,
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    ConnectedAccount,
    EventKind,
    PaymentEvent,
    PaymentUnavailable,
    RefundResult,
    TransferRequest,
    WebhookSignatureInvalid,
)
from buybutton_server.payments.messages import decline_message

log = logging.getLogger("buybutton.stripe")

STRIPE_JS_URL = "https://js.stripe.com/v3/"
STRIPE_API_BASE = "https://api.stripe.com"
_PAYMENT_METHOD_ID = re.compile(r"^(pm|card|src)_[A-Za-z0-9_]{3,255}$")
WEBHOOK_TOLERANCE_SECONDS = 300
# Stripe's PaymentIntent event types, by what they mean for the payment.
_EVENT_KINDS: dict[str, EventKind] = {
    "payment_intent.succeeded": "succeeded",
    "payment_intent.payment_failed": "failed",
    "payment_intent.canceled": "canceled",
    "payment_intent.processing": "processing",
    "payment_intent.requires_action": "requires_action",
}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _error_code(intent: Mapping[str, Any]) -> str | None:
    error = intent.get("last_payment_error") or {}
    code: str | None = error.get("decline_code") or error.get("code")
    return code


class StripePaymentProvider:
    name = "stripe"
    calls_network = True
    settles_by_webhook = True
    webhook_signature_header = "stripe-signature"

    def __init__(
        self,
        *,
        secret_key: str,
        publishable_key: str,
        webhook_secret: str,
        api_base: str | None = None,
        js_url: str = STRIPE_JS_URL,
        payment_method_types: Sequence[str] = ("card",),
        intent_params: Mapping[str, Any] | None = None,
        timeout: float = 20.0,
        max_network_retries: int = 2,
        http_client: stripe.HTTPClient | None = None,
        connect: bool = False,
        connect_webhook_secret: str | None = None,
    ) -> None:
        self.client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": api_base} if api_base else None,
            max_network_retries=max_network_retries,
            http_client=http_client or stripe.RequestsClient(timeout=timeout),
        )
        # Stripe Connect (docs/commissions.md): refunds of destination charges reverse the
        # transfer and the application fee; ``account.updated`` from connected accounts
        # arrives signed with the Connect endpoint's secret.
        self.connect = connect
        self.connect_webhook_secret = connect_webhook_secret
        self.publishable_key = publishable_key
        self.webhook_secret = webhook_secret
        self.api_origin = _origin(api_base or STRIPE_API_BASE)
        self.js_url = js_url
        self.payment_method_types = list(payment_method_types)
        # Extra PaymentIntent parameters for real Stripe (e.g. return_url); the local fake
        # accepts only a core set, so nothing beyond it is sent unless configured.
        self.intent_params = dict(intent_params or {})

    # -- charging -----------------------------------------------------------------------

    def charge(self, request: ChargeRequest) -> ChargeResult:
        payment_method = request.details.get("payment_method", "")
        if not _PAYMENT_METHOD_ID.match(payment_method):
            return ChargeResult(
                status="failed",
                code="missing_payment_method",
                message="Enter your card details, then tap Pay again.",
            )
        params: dict[str, Any] = {
            "amount": request.amount,
            "currency": request.currency.lower(),
            "payment_method": payment_method,
            "payment_method_types": self.payment_method_types,
            "metadata": dict(request.metadata),
            **self.intent_params,
            **request.connect,
        }
        # Create, record, then confirm: if this process dies after the money moves, the order
        # already holds the PaymentIntent id and the sweeper can ask Stripe about it.
        reference = None
        try:
            intent = self.client.v1.payment_intents.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": "bb-pay-" + request.idempotency_key},
            )
            reference = intent.id
            if request.record_reference is not None:
                request.record_reference(intent.id)
            intent = self.client.v1.payment_intents.confirm(
                intent.id, options={"idempotency_key": "bb-confirm-" + request.idempotency_key}
            )
        except stripe.CardError as exc:
            error = exc.error
            decline = getattr(error, "decline_code", None) if error else None
            return ChargeResult(
                status="failed",
                code=decline or exc.code,
                message=decline_message(decline, exc.code),
                reference=reference,
            )
        except stripe.StripeError as exc:
            raise self._unavailable(exc) from None
        return self._result(intent)

    def _unavailable(self, exc: stripe.StripeError) -> PaymentUnavailable:
        # Connection failures, rate limits and Stripe's own errors are worth a retry by the
        # shopper; authentication or request errors are ours and are logged for the merchant.
        level = logging.WARNING
        if isinstance(exc, stripe.AuthenticationError | stripe.InvalidRequestError):
            level = logging.ERROR
        log.log(level, "stripe request failed: %s (%s)", type(exc).__name__, exc.user_message)
        return PaymentUnavailable()

    def _result(self, intent: Any) -> ChargeResult:
        data = intent.to_dict()
        status, reference = data["status"], data["id"]
        if status == "succeeded":
            return ChargeResult(status="succeeded", reference=reference)
        if status in ("processing", "requires_capture"):
            return ChargeResult(status="processing", reference=reference)
        if status == "requires_action":
            return ChargeResult(
                status="requires_action", reference=reference, client_secret=data["client_secret"]
            )
        code = _error_code(data)
        return ChargeResult(
            status="failed", reference=reference, code=code, message=decline_message(code)
        )

    def status(self, reference: str) -> ChargeStatus | Literal["canceled"]:
        try:
            intent = self.client.v1.payment_intents.retrieve(reference)
        except stripe.StripeError as exc:
            raise self._unavailable(exc) from None
        if intent.status == "canceled":
            return "canceled"
        return self._result(intent).status

    def cancel(self, reference: str) -> None:
        try:
            self.client.v1.payment_intents.cancel(reference)
        except stripe.InvalidRequestError:
            # Already succeeded or canceled: the caller asks status() which one.
            return
        except stripe.StripeError as exc:
            raise self._unavailable(exc) from None

    def refund(self, reference: str, *, amount: int, idempotency_key: str) -> RefundResult:
        params: dict[str, Any] = {"payment_intent": reference, "amount": amount}
        try:
            if self.connect and self.client.v1.payment_intents.retrieve(reference).to_dict().get(
                "transfer_data"
            ):
                # A destination charge: Stripe takes back the seller's transfer and our fee
                # in proportion to the amount refunded.
                params.update(reverse_transfer=True, refund_application_fee=True)
            refund = self.client.v1.refunds.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": "bb-refund-" + idempotency_key},
            )
        except stripe.StripeError as exc:
            raise self._unavailable(exc) from None
        return RefundResult(reference=refund.id)

    # -- webhooks -----------------------------------------------------------------------

    def _construct(self, payload: bytes, signature: str | None) -> stripe.Event:
        secrets = [self.webhook_secret]
        if self.connect_webhook_secret:
            secrets.append(self.connect_webhook_secret)
        for secret in secrets:
            try:
                return self.client.construct_event(
                    payload, signature, secret, tolerance=WEBHOOK_TOLERANCE_SECONDS
                )
            except (stripe.SignatureVerificationError, ValueError):
                continue
        raise WebhookSignatureInvalid("The Stripe-Signature header does not verify.")

    def verify_webhook(
        self, payload: bytes, signature: str | None
    ) -> PaymentEvent | AccountEvent | None:
        """Check the signature over the raw body first, then read the event.

        Returns ``None`` for a genuine event that is not about a PaymentIntent or a
        connected account.
        """
        event = self._construct(payload, signature)
        if event.type == "account.updated":
            return AccountEvent(
                id=event.id,
                type=event.type,
                account=_account(event.data.object.to_dict()),
                created=_created(event),
            )
        if not event.type.startswith("payment_intent."):
            return None
        intent = event.data.object.to_dict()
        code = _error_code(intent)
        return PaymentEvent(
            id=event.id,
            type=event.type,
            kind=_EVENT_KINDS.get(event.type, "other"),
            reference=intent["id"],
            order_public_id=(intent.get("metadata") or {}).get("order_public_id"),
            code=code,
            message=decline_message(code) if intent.get("last_payment_error") else None,
        )

    # -- Connect: payees' accounts, transfers and reversals --------------------------------

    def create_account(self, *, email: str | None, kind: str, idempotency_key: str) -> str:
        # card_payments with transfers: accounts asking for transfers alone were refused.
        params: dict[str, Any] = {
            "type": "express",
            "capabilities": {
                "card_payments": {"requested": True},
                "transfers": {"requested": True},
            },
            "business_type": "company" if kind == "seller" else "individual",
            "metadata": {"payee_kind": kind},
        }
        if email:
            params["email"] = email
        try:
            account = self.client.v1.accounts.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": "bb-acct-" + idempotency_key},
            )
        except stripe.StripeError as exc:
            raise self._unavailable(exc) from None
        return str(account.id)

    def account_link(self, account: str, *, refresh_url: str, return_url: str) -> str:
        try:
            link = self.client.v1.account_links.create(
                params={
                    "account": account,
                    "refresh_url": refresh_url,
                    "return_url": return_url,
                    "type": "account_onboarding",
                }
            )
        except stripe.StripeError as exc:
            raise self._unavailable(exc) from None
        return str(link.url)

    def account(self, account: str) -> ConnectedAccount:
        try:
            found = self.client.v1.accounts.retrieve(account)
        except stripe.StripeError as exc:
            raise self._unavailable(exc) from None
        return _account(found.to_dict())

    def transfer(self, request: TransferRequest) -> str:
        params: dict[str, Any] = {
            "amount": request.amount,
            "currency": request.currency.lower(),
            "destination": request.destination,
            "transfer_group": request.transfer_group,
            "metadata": dict(request.metadata),
        }
        try:
            if request.source_payment:
                # Tied to the order's charge: the transfer waits for its funds, never the
                # platform's other balance.
                intent = self.client.v1.payment_intents.retrieve(request.source_payment)
                params["source_transaction"] = intent.to_dict().get("latest_charge")
            made = self.client.v1.transfers.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": "bb-tr-" + request.idempotency_key},
            )
        except stripe.StripeError as exc:
            raise self._unavailable(exc) from None
        return str(made.id)

    def reverse_transfer(self, reference: str, *, amount: int, idempotency_key: str) -> str:
        try:
            reversal = self.client.v1.transfers.reversals.create(
                reference,
                params={"amount": amount},
                options={"idempotency_key": "bb-trr-" + idempotency_key},
            )
        except stripe.InvalidRequestError as exc:
            if exc.code in ("balance_insufficient", "insufficient_funds"):
                raise BalanceInsufficient() from None
            raise self._unavailable(exc) from None
        except stripe.StripeError as exc:
            raise self._unavailable(exc) from None
        return str(reversal.id)

    # -- browser ------------------------------------------------------------------------

    def page_settings(self) -> Mapping[str, str]:
        return {"publishable_key": self.publishable_key, "js_url": self.js_url}

    def content_security_policy(self) -> Mapping[str, list[str]]:
        js = _origin(self.js_url)
        frames = [js, "https://hooks.stripe.com"] if js == "https://js.stripe.com" else [js]
        return {
            "script-src": [js],
            "frame-src": frames,
            "connect-src": sorted({self.api_origin, js}),
        }

    def wallet_contact(self, country: str | None = None) -> Mapping[str, str]:
        return {}


def _account(data: Mapping[str, Any]) -> ConnectedAccount:
    return ConnectedAccount(
        id=str(data["id"]),
        charges_enabled=bool(data.get("charges_enabled")),
        payouts_enabled=bool(data.get("payouts_enabled")),
        details_submitted=bool(data.get("details_submitted")),
    )


def _created(event: stripe.Event) -> int | None:
    """The event's ``created`` (Unix seconds), None when a payload lacks it."""
    found = event.to_dict().get("created")
    return found if type(found) is int else None
