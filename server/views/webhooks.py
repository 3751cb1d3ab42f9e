"""``POST /webhooks/stripe``: verify first, then apply once.

The view knows no provider: the configured one verifies the body and reads it into a
``PaymentEvent`` (``payments.base``); ``services.payment_events`` applies it.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from buybutton_server.errors import NotFound, TooLarge
from buybutton_server.payments.base import PaymentProvider, WebhookSignatureInvalid
from buybutton_server.services.payment_events import receive_payment_event
from buybutton_server.views.errors import error_json

MAX_BODY = 512 * 1024


async def stripe_webhook(request: Request) -> Response:
    provider: PaymentProvider = request.app.state.payments
    if not provider.settles_by_webhook:
        raise NotFound()
    body = await request.body()
    if len(body) > MAX_BODY:
        return error_json(TooLarge("Webhook body is too large."))
    try:
        event = provider.verify_webhook(
            body, request.headers.get(provider.webhook_signature_header)
        )
    except WebhookSignatureInvalid as invalid:
        return error_json(invalid)
    if event is None:
        return JSONResponse({"received": True, "ignored": True})
    received = await run_in_threadpool(
        receive_payment_event, request.app.state.sessions, provider, event
    )
    return JSONResponse({"received": True, "duplicate": received.duplicate})
