"""A payment provider's webhook, after its signature verified: apply the event once, then
refund a payment that arrived after its stock ran out."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.domain.payment_events import apply_payment_event
from buybutton_server.domain.refunds import refund_order
from buybutton_server.errors import PaymentUnavailable
from buybutton_server.payments.base import AccountEvent, PaymentEvent, PaymentProvider
from buybutton_server.services.payees import apply_account_event

log = logging.getLogger("buybutton.webhooks")


@dataclass(frozen=True, slots=True)
class Received:
    """``duplicate``: the event was applied before, and nothing changed now."""

    duplicate: bool


def receive_payment_event(
    factory: sessionmaker[Session],
    provider: PaymentProvider,
    event: PaymentEvent | AccountEvent,
) -> Received:
    """Apply ``event`` (exactly once per event id). When it makes an order paid after its
    stock ran out, refund it at once; if the provider cannot be reached for that, the
    sweeper (``settlement.release_expired``) retries later. A payee's ``account.updated``
    keeps its status in step (docs/commissions.md)."""
    if isinstance(event, AccountEvent):
        return Received(duplicate=not apply_account_event(factory, provider.name, event))
    outcome = apply_payment_event(factory, provider.name, event)
    if outcome.refund_due and outcome.order_id is not None:
        try:
            refund_order(factory, provider, outcome.order_id, reason="out_of_stock", restock=False)
        except PaymentUnavailable:
            log.warning("automatic refund of order %s deferred to the sweeper", outcome.order_id)
    return Received(duplicate=outcome.duplicate)
