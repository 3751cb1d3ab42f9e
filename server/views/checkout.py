"""The hosted checkout: ``/c/{token}`` shows one page and takes one POST; ``/orders/{id}``
shows the result.

HTTP only: these functions read the path, query, form and cookies, call
``services.checkout``, and answer with a page or, for Stripe.js (``Accept: JSON``), JSON.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from buybutton.tokens import MAX_QUANTITY, CheckoutLink
from buybutton.urls import absolute, checkout_path, order_path
from buybutton_server.domain import analytics, locales
from buybutton_server.domain.carts import Item
from buybutton_server.domain.catalog import ProductView
from buybutton_server.domain.pickup import PickupStore
from buybutton_server.errors import (
    InternalError,
    LinkExpired,
    NotFound,
    ProductUnavailable,
    ShopError,
)
from buybutton_server.services import checkout, order_pages, pickup
from buybutton_server.services.checkout import (
    HoldPolicy,
    Outcome,
    PaymentForm,
    PaymentMethod,
    Problem,
)
from buybutton_server.services.checkout_quote import parse_codes
from buybutton_server.settings import origin_of
from buybutton_server.views import languages
from buybutton_server.views.bought import already_bought, remember_purchase
from buybutton_server.views.card_form import field_errors, shown_values
from buybutton_server.views.checkout_page import (
    NO_STORE,
    address_values,
    page_setup,
    render_page,
    ships,
)
from buybutton_server.views.checkout_quote import page_quote, verify
from buybutton_server.views.checkout_quote import quote as quote
from buybutton_server.views.errors import render_error, wants_json
from buybutton_server.views.origins import allowed_origins, load_origins, shop_identity

# The answer's status for each way an attempt can stop on the page.
STATUS_BY_PROBLEM = {
    Problem.INCOMPLETE_FORM: 400,
    Problem.INVALID_FIELDS: 422,
    Problem.NOT_ENOUGH_STOCK: 409,
    Problem.PAYMENT_FAILED: 402,
    Problem.TOTAL_CHANGED: 409,
}
_PAYMENT_FIELDS = ("card_number", "card_expiry", "card_cvc", "payment_method")
_DETAILS = (*checkout.FIELDS, *checkout.ADDRESS_FIELDS)
# Buttons that post the form back to be shown again, priced, without paying: "Apply" (a
# code), "Update total" (a shipping option) and "Update address fields" (a new country).
_SHOW_AGAIN = ("apply", "address_refresh")


async def checkout_page(request: Request) -> Response:
    token = request.path_params["token"]
    await load_origins(request)
    try:
        link = verify(request, token)
    except LinkExpired as error:
        return await _expired_page(request, error)
    lang = languages.choose(request, link.locale)  # the offer's link keeps this locale
    embedded = _allow_overlay(request)
    bought = await already_bought(request, embedded=embedded)
    if bought is not None:  # Back after paying: the order, and "Buy again" as a choice
        return bought
    state = request.app.state
    offer = await checkout.read_offer(state.sessions, link, request.query_params.get("variant"))
    link, product = offer.link, offer.product
    if offer.problem is not None:  # a multi-item link: the page names the line
        raise offer.problem
    if product is None or not product.active:
        raise ProductUnavailable()
    values = {"email": link.email or "", "name": link.name or ""}
    if offer.prefill is not None:  # a short link's address: the form starts filled in
        values.update(address_values(offer.prefill))
    countries = await _countries(request, product, offer.items)
    # The widget's card lets the shopper pick a quantity before tapping, within the link's range.
    quantity = _read_quantity(request.query_params, link.quantity)
    if not link.allows(quantity):
        quantity = link.quantity
    state.analytics.count("click", [(token, link)], request.headers, request.client)
    response = render_page(
        request,
        token=token,
        link=link,
        product=product,
        quantity=quantity,
        values=values,
        embedded=embedded,
        back=return_url(request, request.query_params.get("return")),
        countries=countries,
        variants=offer.variants,
        items=offer.items,
        pickup_stores=await _pickup_stores(request, link, quantity, offer.items),
        lang=lang,
    )
    _remember_first_touch(request, response, link)
    return response


async def _pickup_stores(
    request: Request, link: CheckoutLink, quantity: int, items: tuple[Item, ...]
) -> list[PickupStore]:
    """The stores offering pickup for this cart, in stock first (by city and name; the
    page's script re-sorts by distance when the shopper shares where they are)."""
    if not (await page_setup(request)).pickup:  # no store offers pickup: no list to read
        return []
    wanted = [(item.product.sku, item.quantity) for item in items] or [(link.sku, quantity)]
    try:
        return await run_in_threadpool(pickup.cart_pickup, request.app.state.sessions, wanted)
    except ShopError:  # a cart the page refuses on its own: no pickup list
        return []


async def _countries(
    request: Request, product: ProductView, items: tuple[Item, ...]
) -> tuple[str, ...]:
    """The shop's shipping countries for the picker (empty: any country), when it ships."""
    return (await page_setup(request)).countries if ships(product, items) else ()


def _remember_first_touch(request: Request, response: Response, link: CheckoutLink) -> None:
    """A first-party cookie with the first placement that brought this browser here."""
    settings = request.app.state.settings
    if not link.source or not analytics.tracking_allowed(request.headers):
        return
    existing = request.cookies.get(analytics.FIRST_TOUCH_COOKIE)
    if analytics.read_first_touch(settings.secret_keys, existing) is not None:
        return
    value = analytics.first_touch_cookie(settings.secret_keys, link)
    embedded = request.query_params.get("embed") == "1"  # a frame on another site: SameSite=None
    response.raw_headers.append(
        analytics.set_cookie_header(value, secure=settings.secure_cookies, embedded=embedded)
    )


def _first_touch(request: Request) -> dict[str, Any] | None:
    if not analytics.tracking_allowed(request.headers):
        return None
    raw = request.cookies.get(analytics.FIRST_TOUCH_COOKIE)
    return analytics.read_first_touch(request.app.state.settings.secret_keys, raw)


def _allow_overlay(request: Request) -> bool:
    """The overlay checkout (``?embed=1``): framed by the merchant's registered sites only.

    Sets ``request.state.frame_ancestors``, which the security middleware turns into the
    response's ``frame-ancestors``; returns whether the page is embedded."""
    origins = allowed_origins(request)
    if request.query_params.get("embed") == "1" and origins:
        request.state.frame_ancestors = list(origins)
        return True
    return False


def return_url(request: Request, raw: str | None) -> str | None:
    """A place to send the shopper back to, only on one of the merchant's own origins (or
    this shop's own site: a cart permalink's ``continue_to``)."""
    if not raw or len(raw) > 2048:
        return None
    origin = origin_of(raw)
    own = origin_of(request.app.state.settings.base_url)
    return raw if origin in allowed_origins(request) or origin == own else None


async def _expired_page(request: Request, error: LinkExpired) -> Response:
    expired: CheckoutLink = error.context["expired_link"]
    state = request.app.state
    product = await run_in_threadpool(checkout.find_product, state.sessions, expired.sku)
    context: dict[str, Any] = {}
    if product is not None and product.active:
        fresh = state.link_signer.sign(expired.without_personal_data())
        context = {
            "product": product,
            "fresh_url": checkout_path(fresh),
            "image_url": absolute(state.settings.base_url, product.image_url),
        }
    return render_error(request, error, **context)


def _read_quantity(form: Mapping[str, Any], default: int) -> int:
    """A quantity from a query or form: ASCII digits, at most two of them (``²`` and other
    Unicode digits are not numbers to ``int``), or ``default``."""
    raw = str(form.get("quantity", default))
    if not (raw.isascii() and raw.isdecimal() and len(raw) <= 2):
        return default
    return int(raw) if 1 <= int(raw) <= MAX_QUANTITY else default


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _shown_total(form: FormData) -> int | None:
    """The total the page showed (minor units), or None when the form carried none."""
    raw = str(form.get("shown_total", ""))
    if raw.isascii() and raw.isdecimal() and len(raw) <= 15:
        return int(raw)
    return None


def _payment_form(request: Request, form: FormData, link: CheckoutLink) -> PaymentForm:
    method: PaymentMethod = "wallet" if form.get("method") == "wallet" else "card"
    return PaymentForm(
        link=link,
        variant=request.query_params.get("variant"),
        quantity=_read_quantity(form, link.quantity),
        attempt_key=str(form.get("attempt", "")),
        method=method,
        details={name: str(form.get(name, "")) for name in _DETAILS},
        payment_details={name: str(form.get(name, "")) for name in _PAYMENT_FIELDS},
        first_touch=_first_touch(request),
        client=_client(request),
        token=request.path_params["token"],
        codes=parse_codes(str(form.get("codes", "")))[0],
        shipping_option=str(form.get("shipping_option", ""))[:40] or None,
        shown_total=_shown_total(form),
        shown_currency=str(form.get("shown_currency", ""))[:3].upper() or None,
        quoted=form.get("quoted") == "1",
        **_fulfilment(form),
    )


def _chosen(attempt: PaymentForm) -> str:
    if not attempt.pickup:
        return "delivery"
    return ("reserve:" if attempt.reserve else "pickup:") + attempt.pickup


def _fulfilment(form: FormData) -> dict[str, Any]:
    """``fulfilment`` as posted: ``delivery`` (or nothing), ``pickup:CODE`` or
    ``reserve:CODE`` (a store from the page's pickup list)."""
    method, _, code = str(form.get("fulfilment", "")).partition(":")
    if method not in ("pickup", "reserve") or not code:
        return {}
    return {"pickup": code[:32], "reserve": method == "reserve"}


async def _limit_payment_attempts(request: Request, subject: str | None) -> None:
    """Per client address and per order (``subject``), through ``services.checkout``. A
    link's limit counts only well-formed attempts, so ``pay`` leaves it to the service."""
    state = request.app.state
    await run_in_threadpool(
        checkout.limit_payment_attempts,
        state.sessions,
        client=_client(request),
        subject=subject or "",
        per_client=state.settings.rate_limit_pay_ip,
        per_subject=state.settings.rate_limit_pay_link if subject else None,
    )


def _hold_policy(request: Request) -> HoldPolicy:
    settings = request.app.state.settings
    return HoldPolicy(
        action_hold=timedelta(seconds=settings.action_hold_seconds),
        per_client=settings.pending_per_client,
        per_link=settings.pending_per_link,
        link_rate=settings.rate_limit_pay_link,
    )


async def pay(request: Request) -> Response:
    """Take a payment. A plain form post gets pages; Stripe.js (Accept: JSON) gets JSON."""
    token = request.path_params["token"]
    await load_origins(request)
    link = verify(request, token)
    languages.choose(request, link.locale)
    embedded = _allow_overlay(request)
    await _limit_payment_attempts(request, None)
    async with request.form(max_files=0, max_fields=40) as form:
        attempt = _payment_form(request, form, link)
        back = return_url(
            request, str(form.get("return") or request.query_params.get("return", ""))
        )
        again = any(form.get(name) for name in _SHOW_AGAIN) and not wants_json(request)
        extra = {
            name: str(form.get(name, ""))[:300]
            for name in ("codes", "shipping_option", "quantity", "fulfilment")
        }
    if again:
        return await _show_again(request, attempt, link, extra, back=back, embedded=embedded)
    state = request.app.state
    outcome = await run_in_threadpool(
        checkout.pay,
        state.sessions,
        state.payments,
        attempt,
        hold_for=timedelta(seconds=state.settings.reservation_seconds),
        holds=_hold_policy(request),
    )
    if wants_json(request):
        return _as_json(request, outcome, back)
    if outcome.problem is not None:
        values = {**shown_values(state.payments.name, outcome.values, attempt.payment_details)}
        fields = {**values, **extra, "quantity": str(outcome.quantity), "variant": outcome.link.sku}
        quote = await run_in_threadpool(page_quote, request, outcome.link, fields)
        return render_page(
            request,
            token=token,
            link=outcome.link,
            product=outcome.product,
            quantity=outcome.quantity,
            values={**values, "codes": extra["codes"]},
            embedded=embedded,
            back=back,
            countries=await _countries(request, outcome.product, outcome.items),
            variants=outcome.variants,
            items=outcome.items,
            alert=outcome.alert,
            errors=field_errors(outcome.code, outcome.alert, outcome.errors),
            quote=quote,
            status_code=STATUS_BY_PROBLEM[outcome.problem],
            pickup_stores=await _pickup_stores(
                request, outcome.link, outcome.quantity, outcome.items
            ),
            fulfilment=_chosen(attempt),
        )
    response = RedirectResponse(_order_address(request, outcome, back), status_code=303)
    remember_purchase(request, response, outcome)  # Back after paying shows this order
    return response


def _order_address(request: Request, outcome: Outcome, back: str | None) -> str:
    """The order page's address, keeping the way back to the shop and the overlay."""
    if outcome.order is None:  # an outcome without a problem always has its order
        raise InternalError()
    query = {"return": back} if back else {}
    if request.query_params.get("embed") == "1":
        query["embed"] = "1"
    return order_path(outcome.order.public_id) + (f"?{urlencode(query)}" if query else "")


def _as_json(request: Request, outcome: Outcome, back: str | None) -> Response:
    # Every answer carries a fresh attempt key: whatever happens next is a new attempt.
    body: dict[str, Any] = {"attempt": secrets.token_urlsafe(18)}
    if outcome.problem is not None:
        message = locales.localize(outcome.alert) if outcome.alert else outcome.alert
        body["error"] = {"code": outcome.code, "message": message}  # the shopper's language
        if outcome.errors:
            body["error"]["fields"] = dict(outcome.errors)
        status = STATUS_BY_PROBLEM[outcome.problem]
        return JSONResponse(body, status_code=status, headers=NO_STORE)
    body["next"] = _order_address(request, outcome, back)
    if outcome.client_secret:
        body["status"] = "requires_action"
        body["client_secret"] = outcome.client_secret
    elif outcome.order is not None:
        body["status"] = outcome.order.status
    response = JSONResponse(body, headers=NO_STORE)
    remember_purchase(request, response, outcome)
    return response


async def _show_again(
    request: Request,
    attempt: PaymentForm,
    link: CheckoutLink,
    extra: Mapping[str, str],
    *,
    back: str | None,
    embedded: bool,
) -> Response:
    """The form posted back by "Apply" or "Update": shown again as typed, priced for it;
    nothing is validated against the shopper, reserved or charged."""
    state = request.app.state
    offer = await checkout.read_offer(state.sessions, link, attempt.variant)
    if offer.problem is not None:
        raise offer.problem
    if offer.product is None or not offer.product.active:
        raise ProductUnavailable()
    quantity = attempt.quantity if link.allows(attempt.quantity) else link.quantity
    values = {name: " ".join(value.split()) for name, value in attempt.details.items()}
    values = shown_values(state.payments.name, values, attempt.payment_details)
    fields = {**values, **extra, "quantity": str(quantity), "variant": offer.link.sku}
    quote = await run_in_threadpool(page_quote, request, offer.link, fields)
    return render_page(
        request,
        token=request.path_params["token"],
        link=offer.link,
        product=offer.product,
        quantity=quantity,
        values={**values, "codes": extra.get("codes", "")},
        embedded=embedded,
        back=back,
        countries=await _countries(request, offer.product, offer.items),
        variants=offer.variants,
        items=offer.items,
        quote=quote,
        pickup_stores=await _pickup_stores(request, offer.link, quantity, offer.items),
        fulfilment=extra.get("fulfilment", ""),
    )


async def abandon(request: Request) -> Response:
    """The browser reports a payment it could not finish (3-D Secure failed or was closed);
    the order is settled from what the provider says, never from this report."""
    public_id = request.path_params["public_id"]
    await _limit_payment_attempts(request, public_id)
    state = request.app.state
    status = await run_in_threadpool(order_pages.abandon, state.sessions, state.payments, public_id)
    return JSONResponse({"status": status}, headers=NO_STORE)


async def order_page(request: Request) -> Response:
    sessions = request.app.state.sessions
    await load_origins(request)
    order = await run_in_threadpool(
        order_pages.find_order, sessions, request.path_params["public_id"]
    )
    if order is None:
        raise NotFound("We could not find that order. Check the link in your confirmation.")
    back = return_url(request, request.query_params.get("return"))
    languages.choose(request)
    response: Response = request.app.state.templates.TemplateResponse(
        request,
        "order.html",
        {
            "order": order,
            "embedded": _allow_overlay(request),
            "csp_nonce": request.state.csp_nonce,
            "return_url": back,
            "return_host": urlsplit(back).netloc if back else None,
            "shop_identity": shop_identity(request),
        },
        headers={**NO_STORE, "Referrer-Policy": "no-referrer"},
    )
    return response
