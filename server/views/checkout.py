"""The hosted checkout: ``/c/{token}`` shows one page and takes one POST; ``/orders/{id}``
shows the result."""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from buybutton.errors import ExpiredLink, InvalidLink
from buybutton.tokens import EMAIL_PATTERN, MAX_QUANTITY, CheckoutLink
from buybutton_server.db import read_session, run_read, write_session
from buybutton_server.db.models import Order
from buybutton_server.domain import analytics, rate_limits, short_links
from buybutton_server.domain.catalog import ProductView, product_view, variants_of
from buybutton_server.domain.orders import (
    Shopper,
    order_by_public_id,
    place_order,
    reconcile_order,
    record_payment_reference,
    settle_order,
)
from buybutton_server.errors import (
    LinkExpired,
    LinkNotValid,
    NotEnoughStock,
    NotFound,
    PaymentUnavailable,
    ProductUnavailable,
    RateLimited,
)
from buybutton_server.payments import ChargeRequest, ChargeResult
from buybutton_server.payments import PaymentUnavailable as ProviderDown
from buybutton_server.settings import origin_of
from buybutton_server.views.errors import render_error, wants_json

_ATTEMPT_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
QUANTITY_CHOICES = 10
NO_STORE = {"Cache-Control": "no-store"}

_FIELDS = {
    # name: (label, max length, needed only when the product ships)
    "email": ("Email", 254, False),
    "name": ("Full name", 200, False),
    "line1": ("Address", 200, True),
    "line2": ("Apartment, suite (optional)", 200, True),
    "city": ("City", 100, True),
    "postal_code": ("Postal code", 20, True),
    "country": ("Country", 64, True),
}
_OPTIONAL = {"line2"}


def _verify(request: Request, token: str) -> CheckoutLink:
    try:
        link: CheckoutLink = request.app.state.link_signer.verify(token)
        return link
    except ExpiredLink as expired:
        raise LinkExpired(context={"expired_link": expired.link}) from None
    except InvalidLink:
        raise LinkNotValid() from None


def _load_product(request: Request, sku: str) -> ProductView | None:
    return product_view(request.app.state.sessions, sku)


@dataclass(frozen=True, slots=True)
class Offer:
    """What this request sells: the link as the shopper will pay it, its product, and the
    product's variants (empty when it has none)."""

    link: CheckoutLink
    product: ProductView | None
    variants: tuple[ProductView, ...] = ()


def _load_offer(request: Request, link: CheckoutLink) -> Offer:
    """The link's product, or the variant the shopper picked (``?variant=SKU``, only within
    the signed product's variant group), with a short link's stored pre-fill filled in."""
    sessions = request.app.state.sessions
    if link.short_code:
        stored = short_links.find(sessions, link.short_code)
        if stored is not None and stored.sku == link.sku:
            link = replace(link, email=stored.email, name=stored.name)
    product = product_view(sessions, link.sku)
    if product is None or not product.variant_group:
        return Offer(link, product)
    variants = tuple(variants_of(sessions, product))
    chosen = request.query_params.get("variant")
    if chosen and chosen != product.sku:
        for variant in variants:
            if variant.sku == chosen:
                return Offer(replace(link, sku=variant.sku), variant, variants)
    return Offer(link, product, variants)


# Stand-ins rendered into cached pages and replaced on the way out.
_ATTEMPT_SLOT = "\x00attempt\x00"
_NONCE_SLOT = "\x00nonce\x00"


def _page(
    request: Request,
    *,
    token: str,
    link: CheckoutLink,
    product: ProductView,
    quantity: int,
    values: Mapping[str, str],
    variants: tuple[ProductView, ...] = (),
    errors: Mapping[str, str] | None = None,
    alert: str | None = None,
    status_code: int = 200,
) -> Response:
    state = request.app.state
    back = return_url(request, request.query_params.get("return"))

    def render() -> str:
        available = product.available
        choices = max(1, min(available, QUANTITY_CHOICES, MAX_QUANTITY))
        context: dict[str, Any] = {
            "token": token,
            "link": link,
            "product": product,
            "quantity": min(quantity, choices),
            "quantity_choices": range(1, choices + 1),
            "sold_out": available <= 0,
            "low_stock": 0 < available <= 5,
            "values": values,
            "errors": errors or {},
            "alert": alert,
            "fields": _FIELDS,
            "attempt_key": _ATTEMPT_SLOT,
            "csp_nonce": _NONCE_SLOT,
            "provider": state.payments.name,
            "provider_settings": state.payments.page_settings(),
            "image_url": _absolute_image(request, product),
            "return_url": back,
            "embedded": getattr(request.state, "frame_ancestors", None) is not None,
            "variants": variants,
            "variant_query": _query_without_variant(request),
        }
        return str(state.templates.get_template("checkout.html").render(context))

    if errors or alert:
        html = render()
    else:  # the plain page: the same bytes for the same link, product row and quantity
        key = (token, product, variants, quantity, back, request.url.query)
        html = state.page_cache.get_or_render(key, render)
    html = html.replace(_ATTEMPT_SLOT, secrets.token_urlsafe(18)).replace(
        _NONCE_SLOT, request.state.csp_nonce
    )
    return HTMLResponse(html, status_code=status_code, headers=NO_STORE)


def _query_without_variant(request: Request) -> str:
    """The page's other query parameters, for the variant links to keep (return, embed)."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "variant"]
    return ("&" + urlencode(kept)) if kept else ""


def _absolute_image(request: Request, product: ProductView) -> str:
    url = product.image_url
    if url.startswith("/"):
        return request.app.state.settings.base_url + url
    return url


async def checkout_page(request: Request) -> Response:
    token = request.path_params["token"]
    try:
        link = _verify(request, token)
    except LinkExpired as error:
        return await _expired_page(request, error)
    offer = await run_read(request.app.state.sessions, _load_offer, request, link)
    link, product = offer.link, offer.product
    if product is None or not product.active:
        raise ProductUnavailable()
    values = {"email": link.email or "", "name": link.name or ""}
    _allow_overlay(request)
    # The widget's card lets the shopper pick a quantity before tapping; the link's is the default.
    quantity = _read_quantity(request.query_params, link.quantity)
    state = request.app.state
    state.analytics.add([analytics.event_row("click", link)])
    response = _page(
        request,
        token=token,
        link=link,
        product=product,
        quantity=quantity,
        values=values,
        variants=offer.variants,
    )
    _remember_first_touch(request, response, link)
    return response


def _remember_first_touch(request: Request, response: Response, link: CheckoutLink) -> None:
    """A first-party cookie with the first placement that brought this browser here."""
    settings = request.app.state.settings
    if not link.source or not analytics.tracking_allowed(request.headers):
        return
    existing = request.cookies.get(analytics.FIRST_TOUCH_COOKIE)
    if analytics.read_first_touch(settings.secret_keys, existing) is not None:
        return
    value = analytics.first_touch_cookie(settings.secret_keys, link)
    response.raw_headers.append(analytics.set_cookie_header(value, secure=settings.secure_cookies))


def _allow_overlay(request: Request) -> bool:
    """The overlay checkout (``?embed=1``): framed by the merchant's registered sites only."""
    if request.query_params.get("embed") == "1" and request.app.state.settings.allowed_origins:
        request.state.frame_ancestors = list(request.app.state.settings.allowed_origins)
        return True
    return False


def return_url(request: Request, raw: str | None) -> str | None:
    """A place to send the shopper back to, only on one of the merchant's own origins."""
    if not raw or len(raw) > 2048:
        return None
    origin = origin_of(raw)
    return raw if origin in request.app.state.settings.allowed_origins else None


async def _expired_page(request: Request, error: LinkExpired) -> Response:
    expired: CheckoutLink = error.context["expired_link"]
    product = await run_in_threadpool(_load_product, request, expired.sku)
    context: dict[str, Any] = {}
    if product is not None and product.active:
        fresh = request.app.state.link_signer.sign(expired.without_personal_data())
        context = {
            "product": product,
            "fresh_url": f"/c/{fresh}",
            "image_url": _absolute_image(request, product),
        }
    return render_error(request, error, **context)


def _read_quantity(form: Mapping[str, Any], default: int) -> int:
    raw = str(form.get("quantity", default))
    return int(raw) if raw.isdigit() and 1 <= int(raw) <= MAX_QUANTITY else default


def _read_details(
    form: FormData, product: ProductView, wallet: Mapping[str, str] | None, link: CheckoutLink
) -> tuple[dict[str, str], dict[str, str]]:
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    for name, (label, limit, shipping_only) in _FIELDS.items():
        if shipping_only and not product.requires_shipping:
            continue
        value = " ".join(str(form.get(name, "")).split())
        # What the shopper typed wins, then what the link pre-filled, then the wallet.
        if not value and name in ("email", "name"):
            value = getattr(link, name) or ""
        if not value and wallet is not None:
            value = wallet.get(name, "")
        values[name] = value
        if len(value) > limit:
            errors[name] = f"{label} is too long (at most {limit} characters)."
        elif not value and name not in _OPTIONAL:
            errors[name] = f"{label} is required."
    if "email" not in errors and not EMAIL_PATTERN.match(values["email"]):
        errors["email"] = "Enter an email address like name@example.com."
    return values, errors


@dataclass(kw_only=True)
class Outcome:
    """What a payment attempt came to; rendered as a page or as JSON for Stripe.js."""

    order: Order | None = None
    alert: str | None = None
    status_code: int = 200
    errors: dict[str, str] = field(default_factory=dict)
    code: str | None = None
    client_secret: str | None = None
    product: ProductView | None = None


async def _attempt(request: Request, token: str, link: CheckoutLink) -> tuple[Outcome, dict]:
    state = request.app.state
    provider = state.payments
    async with request.form(max_files=0, max_fields=40) as form:
        offer = await run_in_threadpool(_load_offer, request, link)
        link, product = offer.link, offer.product
        if product is None or not product.active:
            raise ProductUnavailable()
        quantity = _read_quantity(form, link.quantity)
        attempt_key = str(form.get("attempt", ""))
        method = "wallet" if form.get("method") == "wallet" else "card"
        wallet = provider.wallet_contact() if method == "wallet" else None
        values, errors = _read_details(form, product, wallet, link)
        details = {
            k: str(form.get(k, ""))
            for k in ("card_number", "card_expiry", "card_cvc", "payment_method")
        }
        back = return_url(
            request, str(form.get("return") or request.query_params.get("return", ""))
        )
    echo = {"product": product, "quantity": quantity, "values": values, "variants": offer.variants}
    request.state.link = link
    request.state.return_url = back

    if not _ATTEMPT_KEY.match(attempt_key):
        alert = "Your checkout form was incomplete. Please try again."
        return Outcome(alert=alert, status_code=400, code="incomplete_form"), echo
    if errors:
        alert = "Please check the highlighted fields."
        return Outcome(alert=alert, status_code=422, errors=errors, code="invalid_fields"), echo

    shopper = Shopper(
        email=values["email"],
        name=values["name"],
        line1=values.get("line1"),
        line2=values.get("line2") or None,
        city=values.get("city"),
        postal_code=values.get("postal_code"),
        country=values.get("country"),
    )
    try:
        order, created = await run_in_threadpool(
            place_order,
            state.sessions,
            link=link,
            quantity=quantity,
            shopper=shopper,
            attempt_key=attempt_key,
            provider=provider.name,
            method=method,
            hold_for=timedelta(seconds=state.settings.reservation_seconds),
            first_touch=_first_touch(request),
        )
    except NotEnoughStock as short:
        echo["product"] = await run_in_threadpool(_load_product, request, link.sku) or product
        return Outcome(alert=short.message, status_code=409, code=short.code), echo
    if not created:
        return _settled(order), echo

    metadata = {"order_public_id": order.public_id, "order_number": order.number}
    metadata.update(
        {
            k: v
            for k, v in (
                ("source", link.source),
                ("campaign", link.campaign),
                ("content", link.content),
            )
            if v
        }
    )
    charge_request = ChargeRequest(
        amount=order.total_amount,
        currency=order.currency,
        idempotency_key=order.attempt_key,
        method=method,
        details=details,
        metadata=metadata,
        record_reference=functools.partial(record_payment_reference, state.sessions, order.id),
    )
    try:
        if provider.calls_network:
            result = await run_in_threadpool(provider.charge, charge_request)
        else:  # the test provider answers from memory: no thread needed
            result = provider.charge(charge_request)
    except ProviderDown:
        down = ChargeResult(
            status="failed", code="provider_unavailable", message=PaymentUnavailable.message
        )
        await run_in_threadpool(settle_order, state.sessions, order.id, down)
        raise PaymentUnavailable() from None
    order = await run_in_threadpool(settle_order, state.sessions, order.id, result)
    outcome = _settled(order)
    if result.status == "requires_action" and order.status == "pending":
        outcome.client_secret = result.client_secret
    return outcome, echo


def _first_touch(request: Request) -> dict[str, Any] | None:
    if not analytics.tracking_allowed(request.headers):
        return None
    raw = request.cookies.get(analytics.FIRST_TOUCH_COOKIE)
    return analytics.read_first_touch(request.app.state.settings.secret_keys, raw)


def _settled(order: Order) -> Outcome:
    if order.status == "failed":
        return Outcome(
            order=order,
            alert=order.failure_message or "Your payment failed.",
            status_code=402,
            code=order.failure_code or "payment_failed",
        )
    return Outcome(order=order)


def _limit_payment_attempts(request: Request, token: str) -> None:
    """Per IP and per link, shared by every worker through the database."""
    settings = request.app.state.settings
    ip = request.client.host if request.client else "unknown"
    link_key = hashlib.sha256(token.encode()).hexdigest()[:32]
    limits = [
        (f"pay-ip:{ip}", settings.rate_limit_pay_ip),
        (f"pay-link:{link_key}", settings.rate_limit_pay_link),
    ]
    with write_session(request.app.state.sessions) as session:
        for key, limit in limits:
            if limit is None:
                continue
            verdict = rate_limits.hit(session, key, limit=limit[0], per_seconds=limit[1])
            if not verdict.allowed:
                raise RateLimited(verdict.retry_after)


async def pay(request: Request) -> Response:
    """Take a payment. A plain form post gets pages; Stripe.js (Accept: JSON) gets JSON."""
    token = request.path_params["token"]
    link = _verify(request, token)
    _allow_overlay(request)
    await run_in_threadpool(_limit_payment_attempts, request, token)
    outcome, echo = await _attempt(request, token, link)
    if wants_json(request):
        return _as_json(request, outcome)
    if outcome.alert is not None:
        return _page(
            request,
            token=token,
            link=getattr(request.state, "link", link),
            alert=outcome.alert,
            status_code=outcome.status_code,
            errors=outcome.errors,
            **echo,
        )
    assert outcome.order is not None
    return RedirectResponse(_order_path(request, outcome.order), status_code=303)


def _order_path(request: Request, order: Order) -> str:
    back = getattr(request.state, "return_url", None)
    query = {"return": back} if back else {}
    if request.query_params.get("embed") == "1":
        query["embed"] = "1"
    return f"/orders/{order.public_id}" + (f"?{urlencode(query)}" if query else "")


def _as_json(request: Request, outcome: Outcome) -> Response:
    # Every answer carries a fresh attempt key: whatever happens next is a new attempt.
    body: dict[str, Any] = {"attempt": secrets.token_urlsafe(18)}
    if outcome.alert is not None:
        body["error"] = {"code": outcome.code, "message": outcome.alert}
        if outcome.errors:
            body["error"]["fields"] = outcome.errors
        return JSONResponse(body, status_code=outcome.status_code, headers=NO_STORE)
    assert outcome.order is not None
    body["next"] = _order_path(request, outcome.order)
    body["status"] = "requires_action" if outcome.client_secret else outcome.order.status
    if outcome.client_secret:
        body["client_secret"] = outcome.client_secret
    return JSONResponse(body, headers=NO_STORE)


async def abandon(request: Request) -> Response:
    """The browser reports a payment it could not finish (3-D Secure failed or was closed).

    Nothing here trusts that report: the order is settled from what the provider says, so at
    worst a genuine payment is recorded as paid a little earlier than its webhook.
    """
    public_id = request.path_params["public_id"]
    await run_in_threadpool(_limit_payment_attempts, request, public_id)
    order = await run_in_threadpool(_load_order, request, public_id)
    if order is None:
        raise NotFound()
    if order.status == "pending":
        state = request.app.state
        try:
            await run_in_threadpool(reconcile_order, state.sessions, state.payments, order)
        except ProviderDown:
            raise PaymentUnavailable() from None
        order = await run_in_threadpool(_load_order, request, public_id)
        assert order is not None
    return JSONResponse({"status": order.status}, headers=NO_STORE)


def _load_order(request: Request, public_id: str) -> Order | None:
    with read_session(request.app.state.sessions) as session:
        return order_by_public_id(session, public_id)


async def order_page(request: Request) -> Response:
    public_id = request.path_params["public_id"]
    order = None
    if re.fullmatch(r"[A-Za-z0-9_-]{16,32}", public_id):
        order = await run_in_threadpool(_load_order, request, public_id)
    if order is None:
        raise NotFound("We could not find that order. Check the link in your confirmation.")
    back = return_url(request, request.query_params.get("return"))
    return request.app.state.templates.TemplateResponse(
        request,
        "order.html",
        {
            "order": order,
            "embedded": _allow_overlay(request),
            "csp_nonce": request.state.csp_nonce,
            "return_url": back,
            "return_host": urlsplit(back).netloc if back else None,
        },
        headers={**NO_STORE, "Referrer-Policy": "no-referrer"},
    )
