"""``POST /webhooks/stripe``: verify first, then apply once."""

from __future__ import annotations

import logging

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from buybutton_server.domain.orders import refund_order
from buybutton_server.domain.payment_events import apply_payment_event
from buybutton_server.errors import NotFound
from buybutton_server.payments import PaymentUnavailable
from buybutton_server.payments.stripe_provider import WebhookSignatureInvalid

log = logging.getLogger("buybutton.webhooks")
MAX_BODY = 512 * 1024


async def stripe_webhook(request: Request) -> Response:
    provider = request.app.state.payments
    if provider.name != "stripe":
        raise NotFound()
    body = await request.body()
    if len(body) > MAX_BODY:
        return _error(413, "too_large", "Webhook body is too large.")
    try:
        event = provider.verify_webhook(body, request.headers.get("stripe-signature"))
    except WebhookSignatureInvalid:
        return _error(400, "invalid_signature", "The Stripe-Signature header does not verify.")
    if event is None:
        return JSONResponse({"received": True, "ignored": True})
    sessions = request.app.state.sessions
    outcome = await run_in_threadpool(apply_payment_event, sessions, provider.name, event)
    if outcome.refund_due and outcome.order_id is not None:
        try:
            await run_in_threadpool(
                refund_order,
                sessions,
                provider,
                outcome.order_id,
                reason="out_of_stock",
                restock=False,
            )
        except PaymentUnavailable:
            log.warning("automatic refund of order %s deferred to the sweeper", outcome.order_id)
    return JSONResponse({"received": True, "duplicate": outcome.duplicate})


def _error(status: int, code: str, message: str) -> Response:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)
