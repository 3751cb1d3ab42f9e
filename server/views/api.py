"""The merchant's REST API under ``/api/v1``, described by ``/api/openapi.json``.

Every request carries ``Authorization: Bearer bb_…``. Read endpoints take any live key;
writes need a ``write`` key. Writes accept ``Idempotency-Key``: the same key with the same
body gets the first answer again, with another body a 409. Errors are always
``{"error": {"code", "message"}}``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from buybutton.money import decimal_string, is_currency, parse_amount
from buybutton.tokens import SKU_PATTERN, CheckoutLink
from buybutton_server import errors
from buybutton_server.db import read_session, write_session
from buybutton_server.db.models import (
    ApiKey,
    DeliveryAttempt,
    IdempotencyRecord,
    Order,
    Product,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    utcnow,
)
from buybutton_server.domain import analytics, api_keys, outbox, short_links
from buybutton_server.domain.orders import fulfill_order, refund_order
from buybutton_server.domain.outbox import iso_time
from buybutton_server.errors import (
    Conflict,
    FulfillRefused,
    NotFound,
    OutOfStock,
    RefundRefused,
    ShopError,
    Unauthorized,
)
from buybutton_server.views.errors import error_json


class Forbidden(errors.Forbidden):
    message = "This API key is read-only; writes need a key created with --scope write."


InvalidRequest = errors.InvalidInput


Handler = Callable[[Request, dict[str, Any]], Awaitable[tuple[int, Any]]]


# -- plumbing -------------------------------------------------------------------------------


def _authenticate(request: Request, scope: str) -> ApiKey:
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else ""
    key = api_keys.find_key(request.app.state.sessions, token) if token else None
    if key is None:
        raise Unauthorized()
    if scope == "write" and key.scope != "write":
        raise Forbidden()
    return key


async def _body(request: Request) -> dict[str, Any]:
    if request.method in ("GET", "DELETE"):
        return {}
    raw = await request.body()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise InvalidRequest("The body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise InvalidRequest("The body must be a JSON object.")
    return body


def endpoint(scope: str) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    def wrap(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        @functools.wraps(handler)
        async def view(request: Request) -> Response:
            key = await run_in_threadpool(_authenticate, request, scope)
            body = await _body(request)
            idempotency_key = request.headers.get("idempotency-key")
            if scope != "write" or not idempotency_key:
                status, data = await handler(request, body)
                return JSONResponse(data, status_code=status)
            return await _idempotent(request, key, idempotency_key, body, handler)

        return view

    return wrap


async def _idempotent(
    request: Request, key: ApiKey, idempotency_key: str, body: dict[str, Any], handler: Handler
) -> Response:
    if not 1 <= len(idempotency_key) <= 255:
        raise InvalidRequest("Idempotency-Key must be 1-255 characters.")
    fingerprint = hashlib.sha256(
        json.dumps([request.method, request.url.path, body], sort_keys=True).encode()
    ).hexdigest()
    sessions = request.app.state.sessions

    def claim() -> IdempotencyRecord | None:
        """The earlier answer, or None after claiming the key for this request."""
        with write_session(sessions) as session:
            found = session.scalar(
                select(IdempotencyRecord).where(
                    IdempotencyRecord.api_key_id == key.id, IdempotencyRecord.key == idempotency_key
                )
            )
            if found is not None:
                session.expunge(found)
                return found
            session.add(
                IdempotencyRecord(
                    api_key_id=key.id,
                    key=idempotency_key,
                    request_hash=fingerprint,
                    status_code=0,
                    response_body="",
                )
            )
            return None

    try:
        earlier = await run_in_threadpool(claim)
    except IntegrityError:
        raise Conflict("A request with this Idempotency-Key is in progress.") from None
    if earlier is not None:
        if earlier.request_hash != fingerprint:
            raise Conflict("This Idempotency-Key was used with a different request.")
        if earlier.status_code == 0:
            raise Conflict("A request with this Idempotency-Key is in progress.")
        return Response(
            earlier.response_body,
            status_code=earlier.status_code,
            media_type="application/json",
            headers={"Idempotent-Replayed": "true"},
        )

    def store(status: int, content: bytes) -> None:
        with write_session(sessions) as session:
            session.execute(
                update(IdempotencyRecord)
                .where(
                    IdempotencyRecord.api_key_id == key.id, IdempotencyRecord.key == idempotency_key
                )
                .values(status_code=status, response_body=content.decode())
            )

    def forget() -> None:
        with write_session(sessions) as session:
            session.execute(
                delete(IdempotencyRecord).where(
                    IdempotencyRecord.api_key_id == key.id, IdempotencyRecord.key == idempotency_key
                )
            )

    try:
        status, data = await handler(request, body)
    except ShopError as error:
        response = error_json(error)
        if response.status_code >= 500:
            await run_in_threadpool(forget)
            raise
        await run_in_threadpool(store, response.status_code, bytes(response.body))
        return response
    except Exception:
        await run_in_threadpool(forget)
        raise
    response = JSONResponse(data, status_code=status)
    await run_in_threadpool(store, status, bytes(response.body))
    return response


def _text(body: dict[str, Any], name: str, *, limit: int, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise InvalidRequest(f"{name} is required.")
        return None
    if not isinstance(value, str) or len(value) > limit or (required and not value.strip()):
        raise InvalidRequest(f"{name} must be a string of at most {limit} characters.")
    return value


def _whole(body: dict[str, Any], name: str, *, low: int, high: int = 10**9) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if type(value) is not int or not low <= value <= high:
        raise InvalidRequest(f"{name} must be a whole number from {low} to {high}.")
    return value


def _flag(body: dict[str, Any], name: str) -> bool | None:
    value = body.get(name)
    if value is not None and not isinstance(value, bool):
        raise InvalidRequest(f"{name} must be true or false.")
    return value


def _limit(request: Request) -> int:
    raw = request.query_params.get("limit", "25")
    if not raw.isdigit() or not 1 <= int(raw) <= 100:
        raise InvalidRequest("limit must be a whole number from 1 to 100.")
    return int(raw)


def _cursor(request: Request) -> int:
    raw = request.query_params.get("cursor")
    if raw is None:
        return 0
    if not re.fullmatch(r"c_\d{1,18}", raw):
        raise InvalidRequest("cursor is not one this API gave out.")
    return int(raw[2:])


# -- products and stock -----------------------------------------------------------------------


def product_json(product: Product) -> dict[str, Any]:
    return {
        "sku": product.sku,
        "title": product.title,
        "description": product.description,
        "image_url": product.image_url or None,
        "price": {
            "amount": product.price_amount,
            "currency": product.currency,
            "decimal": decimal_string(product.price_amount, product.currency),
        },
        "stock": {
            "on_hand": product.on_hand,
            "reserved": product.reserved,
            "available": max(product.on_hand - product.reserved, 0),
        },
        "active": product.active,
        "requires_shipping": product.requires_shipping,
        "variant_group": product.variant_group,
        "variant_label": product.variant_label,
        "created_at": iso_time(product.created_at),
        "updated_at": iso_time(product.updated_at),
    }


def _product(session: Session, sku: str) -> Product:
    found = session.scalar(select(Product).where(Product.sku == sku))
    if found is None:
        raise NotFound(f"No product with sku {sku!r}.")
    return found


def _product_fields(body: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    allowed = {
        "sku", "title", "description", "image_url", "price", "price_amount", "currency",
        "stock", "requires_shipping", "variant_group", "variant_label", "active",
    }  # fmt: skip
    unknown = set(body) - allowed - ({"sku", "stock"} if creating else set())
    if unknown or (not creating and {"sku", "stock"} & set(body)):
        extra = sorted(unknown | ({"sku", "stock"} & set(body) if not creating else set()))
        raise InvalidRequest(
            f"Unknown or read-only field(s): {', '.join(extra)}. Stock changes go to /stock."
        )
    fields: dict[str, Any] = {}
    title = _text(body, "title", limit=200, required=creating)
    if title is not None:
        fields["title"] = title
    description = _text(body, "description", limit=5000)
    if description is not None:
        fields["description"] = description
    for name in ("variant_group", "variant_label"):
        value = _text(body, name, limit=64)
        if value is not None:
            fields[name] = value or None  # "" takes the product out of its group
    image = _text(body, "image_url", limit=2048)
    if image is not None:
        if image and not image.startswith(("https://", "http://", "/")):
            raise InvalidRequest("image_url must be an http(s) URL or a path starting with /.")
        fields["image_url"] = image
    currency = _text(body, "currency", limit=3, required=creating)
    if currency is not None:
        if not is_currency(currency.upper()):
            raise InvalidRequest(f"currency {currency!r} is not an ISO 4217 code.")
        fields["currency"] = currency.upper()
    if "price" in body and "price_amount" in body:
        raise InvalidRequest("Give price (a decimal string) or price_amount, not both.")
    if "price" in body:
        price = _text(body, "price", limit=20, required=True)
        if "currency" not in fields:
            raise InvalidRequest("price needs currency in the same request.")
        try:
            fields["price_amount"] = parse_amount(price or "", fields["currency"])
        except ValueError as problem:
            raise InvalidRequest(str(problem)) from None
    elif "price_amount" in body:
        fields["price_amount"] = _whole(body, "price_amount", low=0, high=10**12)
    elif creating:
        raise InvalidRequest('price (e.g. "24.90") or price_amount (minor units) is required.')
    for name in ("requires_shipping", "active"):
        flag = _flag(body, name)
        if flag is not None:
            fields[name] = flag
    return fields


@endpoint("read")
async def list_products(request: Request, body: dict[str, Any]) -> tuple[int, Any]:
    limit, after = _limit(request), _cursor(request)
    archived = request.query_params.get("include_archived") == "true"

    def read() -> dict[str, Any]:
        with read_session(request.app.state.sessions) as session:
            query = select(Product).where(Product.id > after).order_by(Product.id).limit(limit + 1)
            if not archived:
                query = query.where(Product.active.is_(True))
            rows = list(session.scalars(query))
        return _page([product_json(p) for p in rows[:limit]], rows, limit)

    return 200, await run_in_threadpool(read)


def _page(data: list[Any], rows: list[Any], limit: int) -> dict[str, Any]:
    more = len(rows) > limit
    return {"data": data, "next_cursor": f"c_{rows[limit - 1].id}" if more else None}


@endpoint("write")
async def create_product(request: Request, body: dict[str, Any]) -> tuple[int, Any]:
    sku = _text(body, "sku", limit=64, required=True) or ""
    if not SKU_PATTERN.match(sku):
        raise InvalidRequest("sku may use only letters, digits, '.', '_' and '-' (1-64).")
    fields = _product_fields(body, creating=True)
    stock = _whole(body, "stock", low=0) or 0

    def create() -> dict[str, Any]:
        try:
            with write_session(request.app.state.sessions) as session:
                product = Product(sku=sku, on_hand=stock, reserved=0, **fields)
                session.add(product)
                session.flush()
                return product_json(product)
        except IntegrityError:
            raise Conflict(f"A product with sku {sku!r} exists already.") from None

    return 201, await run_in_threadpool(create)


@endpoint("read")
async def get_product(request: Request, body: dict[str, Any]) -> tuple[int, Any]:
    def read() -> dict[str, Any]:
        with read_session(request.app.state.sessions) as session:
            return product_json(_product(session, request.path_params["sku"]))

    return 200, await run_in_threadpool(read)


@endpoint("write")
async def update_product(request: Request, body: dict[str, Any]) -> tuple[int, Any]:
    fields = _product_fields(body, creating=False)

    def change() -> dict[str, Any]:
        with write_session(request.app.state.sessions) as session:
            product = _product(session, request.path_params["sku"])
            if "price" in body and "currency" not in body:
                raise InvalidRequest("price needs currency in the same request.")
            for name, value in fields.items():
                setattr(product, name, value)
            session.flush()
            return product_json(product)

    return 200, await run_in_threadpool(change)


@endpoint("write")
async def archive_product(request: Request, body: dict[str, Any]) -> tuple[int, Any]:
    """Archive: the product leaves sale (links show "no longer available"); orders keep it."""

    def archive() -> dict[str, Any]:
        with write_session(request.app.state.sessions) as session:
            product = _product(session, request.path_params["sku"])
            product.active = False
            session.flush()
            return product_json(product)

    return 200, await run_in_threadpool(archive)


def _set_stock(session: Session, sku: str, on_hand: int | None, delta: int | None) -> Product:
    """One conditional UPDATE: stock never drops below what checkouts hold."""
    product = _product(session, sku)
    target = Product.on_hand + delta if delta is not None else on_hand
    moved = session.execute(
        update(Product)
        .where(Product.id == product.id, Product.reserved <= target)
        .where((Product.on_hand + delta >= 0) if delta is not None else true())
        .values(on_hand=target, updated_at=utcnow())
    )
    if not moved.rowcount:  # type: ignore[attr-defined]
        session.refresh(product)
        raise OutOfStock(
            f"{sku}: stock cannot go below the {product.reserved} units held by checkouts "
            f"in progress (on hand {product.on_hand})."
        )
    session.refresh(product)
    return product


def _stock_change(body: dict[str, Any], where: str = "") -> tuple[int | None, int | None]:
    on_hand = _whole(body, "on_hand", low=0)
    delta = _whole(body, "delta", low=-(10**9), high=10**9)
    if (on_hand is None) == (delta is None):
        raise InvalidRequest(f"Give on_hand (set) or delta (adjust){where}, exactly one.")
    return on_hand, delta


@endpoint("write")
async def set_stock(request: Request, body: dict[str, Any]) -> tuple[int, Any]:
    on_hand, delta = _stock_change(body)

    def change() -> dict[str, Any]:
        with write_session(request.app.state.sessions) as session:
            return product_json(_set_stock(session, request.path_params["sku"], on_hand, delta))

    return 200, await run_in_threadpool(change)


@endpoint("write")
async def bulk_stock(request: Request, body: dict[str, Any]) -> tuple[int, Any]:
    """For POS and ERP sync: many products at once, all or nothing."""
    items = body.get("items")
    if not isinstance(items, list) or not 1 <= len(items) <= 1000:
        raise InvalidRequest("items must be a list of 1 to 1000 changes.")
    changes = []
    for n, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("sku"), str):
            raise InvalidRequest(f"items[{n}] needs a sku.")
        changes.append((item["sku"], *_stock_change(item, f" in items[{n}]")))

    def change() -> dict[str, Any]:
        with write_session(request.app.state.sessions) as session:
            return {"data": [product_json(_set_stock(session, *c)) for c in changes]}

    return 200, await run_in_threadpool(change)


# -- links ----------------------------------------------------------------------------------


@endpoint("write")
async def create_link(request: Request, body: dict[str, Any]) -> tuple[int, Any]:
    fields: dict[str, Any] = {"sku": _text(body, "sku", limit=64, required=True)}
    quantity = _whole(body, "quantity", low=1, high=99)
    if quantity is not None:
        fields["quantity"] = quantity
    for name, limit in (
        ("email", 254),
        ("name", 200),
        ("source", 64),
        ("campaign", 64),
        ("content", 64),
    ):
        value = _text(body, name, limit=limit)
        if value is not None:
            fields[name] = value
    expires_in = _whole(body, "expires_in", low=1, high=10 * 365 * 86400)
    short = _flag(body, "short") or False
    try:
        link = CheckoutLink(**fields)
    except ValueError as problem:
        raise InvalidRequest(str(problem)) from None
    if short and expires_in:
        raise InvalidRequest("Short links do not expire; leave out expires_in.")
    state = request.app.state
    base = state.settings.base_url

    def mint() -> dict[str, Any]:
        with read_session(state.sessions) as session:
            _product(session, link.sku)
        if not short:
            expiring = link
            if expires_in:
                expiring = CheckoutLink(
                    **{**fields, "expires_at": int(utcnow().timestamp()) + expires_in}
                )
            return {"url": f"{base}/c/{state.link_signer.sign(expiring)}", "short_url": None}
        with write_session(state.sessions) as session:
            code = short_links.mint(session, link)
        short_url = f"{base}/l/{code}"
        return {
            "url": short_url,
            "short_url": short_url,
            "qr_svg": f"{short_url}/qr.svg",
            "qr_png": f"{short_url}/qr.png",
        }

    return 201, await run_in_threadpool(mint)


# -- orders ---------------------------------------------------------------------------------


def _order(session: Session, number: str) -> Order:
    order = session.scalar(
        select(Order).options(selectinload(Order.lines)).where(Order.number == number)
    )
    if order is None:
        raise NotFound(f"No order {number!r}.")
    return order


def _moment(request: Request, name: str) -> datetime | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequest(
            f"{name} must be an ISO 8601 time, e.g. 2026-11-24T10:00:00Z."
        ) from None
    if moment.tzinfo is None:
        raise InvalidRequest(f"{name} needs a time zone, e.g. a trailing Z.")
    return moment


@endpoint("read")
async def list_orders(request: Request, body: dict[str, Any]) -> tuple[int, Any]:
    limit, after = _limit(request), _cursor(request)
    q = request.query_params
    status = q.get("status")
    if status is not None and status not in ("pending", "paid", "failed", "canceled", "refunded"):
        raise InvalidRequest("status must be pending, paid, failed, canceled or refunded.")
    since, until = _moment(request, "created_after"), _moment(request, "created_before")

    def read() -> dict[str, Any]:
        with read_session(request.app.state.sessions) as session:
            query = (
                select(Order)
                .options(selectinload(Order.lines))
                .where(Order.id > after)
                .order_by(Order.id)
                .limit(limit + 1)
            )
            if status:
                query = query.where(Order.status == status)
            for name in ("source", "campaign", "content"):
                if q.get(name):
                    query = query.where(getattr(Order, name) == q[name])
            if since:
                query = query.where(Order.created_at >= since)
            if until:
                query = query.where(Order.created_at < until)
            rows = list(session.scalars(query))
            return _page([outbox.order_json(o) for o in rows[:limit]], rows, limit)

    return 200, await run_in_threadpool(read)


@endpoint("read")
async def get_order(request: Request, body: dict[str, Any]) -> tuple[int, Any]:
    def read() -> dict[str, Any]:
        with read_session(request.app.state.sessions) as session:
            return outbox.order_json(_order(session, request.path_params["number"]))

    return 200, await run_in_threadpool(read)


@endpoint("write")
async def refund(request: Request, body: dict[str, Any]) -> tuple[int, Any]:
    amount = _whole(body, "amount", low=1, high=10**12)
    restock = _flag(body, "restock")
    state = request.app.state

    def run() -> dict[str, Any]:
        with read_session(state.sessions) as session:
            order_id = _order(session, request.path_params["number"]).id
        try:
            order = refund_order(
                state.sessions,
                state.payments,
                order_id,
                amount=amount,
                restock=True if restock is None else restock,
            )
        except RefundRefused as refused:
            raise Conflict(str(refused)) from None
        return outbox.order_json(order)

    return 200, await run_in_threadpool(run)


@endpoint("write")
async def fulfill(request: Request, body: dict[str, Any]) -> tuple[int, Any]:
    def run() -> dict[str, Any]:
        try:
            return outbox.order_json(
                fulfill_order(request.app.state.sessions, request.path_params["number"])
            )
        except LookupError:
            raise NotFound(f"No order {request.path_params['number']!r}.") from None
        except FulfillRefused as refused:
            raise Conflict(str(refused)) from None

    return 200, await run_in_threadpool(run)


# -- webhook endpoints ----------------------------------------------------------------------


def endpoint_json(row: WebhookEndpoint, *, secret: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": row.public_id,
        "url": row.url,
        "events": row.events.split(","),
        "enabled": row.enabled,
        "disabled_reason": row.disabled_reason,
        "created_at": iso_time(row.created_at),
    }
    if secret:
        data["secret"] = row.secret
    return data


def _webhook_endpoint(session: Session, public_id: str) -> WebhookEndpoint:
    row = session.scalar(select(WebhookEndpoint).where(WebhookEndpoint.public_id == public_id))
    if row is None:
        raise NotFound(f"No webhook endpoint {public_id!r}.")
    return row


@endpoint("write")
async def create_webhook_endpoint(request: Request, body: dict[str, Any]) -> tuple[int, Any]:
    url = _text(body, "url", limit=2048, required=True) or ""
    events = body.get("events", ["*"])
    if (
        not isinstance(events, list)
        or not events
        or not all(e == "*" or e in outbox.EVENT_TYPES for e in events)
    ):
        raise InvalidRequest(f"events must list some of {', '.join(outbox.EVENT_TYPES)} (or *).")
    allow_private = not request.app.state.settings.production
    try:
        outbox.check_url(url, allow_private=allow_private)
        if not allow_private:  # checked again at every connection, against DNS changes
            parts = urlsplit(url)
            await run_in_threadpool(
                outbox.public_address, parts.hostname or "", parts.port or 443, allow_private=False
            )
    except outbox.UnsafeDestination as refused:
        raise InvalidRequest(f"url refused: {refused}.") from None

    def create() -> dict[str, Any]:
        with write_session(request.app.state.sessions) as session:
            row = WebhookEndpoint(
                public_id="we_" + secrets.token_urlsafe(12),
                url=url,
                events=",".join(sorted(set(events))),
                secret=outbox.new_secret(),
                enabled=True,
            )
            session.add(row)
            session.flush()
            return endpoint_json(row, secret=True)

    return 201, await run_in_threadpool(create)


@endpoint("read")
async def list_webhook_endpoints(request: Request, body: dict[str, Any]) -> tuple[int, Any]:
    def read() -> dict[str, Any]:
        with read_session(request.app.state.sessions) as session:
            rows = session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id))
            return {"data": [endpoint_json(r) for r in rows], "next_cursor": None}

    return 200, await run_in_threadpool(read)


@endpoint("write")
async def rotate_secret(request: Request, body: dict[str, Any]) -> tuple[int, Any]:
    """A new secret signs from now on; the old one also signs for 24 hours, so a receiver
    can switch without missing an event."""

    def rotate() -> dict[str, Any]:
        with write_session(request.app.state.sessions) as session:
            row = _webhook_endpoint(session, request.path_params["endpoint_id"])
            row.previous_secret, row.secret = row.secret, outbox.new_secret()
            row.previous_secret_until = utcnow() + outbox.PREVIOUS_SECRET_LIFETIME
            data = endpoint_json(row, secret=True)
            data["previous_secret_valid_until"] = iso_time(row.previous_secret_until)
            return data

    return 200, await run_in_threadpool(rotate)


@endpoint("read")
async def list_deliveries(request: Request, body: dict[str, Any]) -> tuple[int, Any]:
    limit, after = _limit(request), _cursor(request)

    def read() -> dict[str, Any]:
        with read_session(request.app.state.sessions) as session:
            row = _webhook_endpoint(session, request.path_params["endpoint_id"])
            found = list(
                session.execute(
                    select(WebhookDelivery, WebhookEvent.public_id, WebhookEvent.type)
                    .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
                    .where(WebhookDelivery.endpoint_id == row.id, WebhookDelivery.id > after)
                    .order_by(WebhookDelivery.id)
                    .limit(limit + 1)
                )
            )
            data = []
            for delivery, event_id, event_type in found[:limit]:
                attempts = session.scalars(
                    select(DeliveryAttempt)
                    .where(DeliveryAttempt.delivery_id == delivery.id)
                    .order_by(DeliveryAttempt.id)
                )
                data.append(
                    {
                        "event_id": event_id,
                        "event_type": event_type,
                        "status": delivery.status,
                        "attempts": [
                            {
                                "at": iso_time(a.attempted_at),
                                "status_code": a.status_code,
                                "error": a.error,
                                "duration_ms": a.duration_ms,
                            }
                            for a in attempts
                        ],
                        "next_attempt_at": iso_time(delivery.next_attempt_at),
                        "delivered_at": iso_time(delivery.delivered_at),
                    }
                )
            more = len(found) > limit
            return {"data": data, "next_cursor": f"c_{found[limit - 1][0].id}" if more else None}

    return 200, await run_in_threadpool(read)


@endpoint("write")
async def replay_event(request: Request, body: dict[str, Any]) -> tuple[int, Any]:
    event_id = _text(body, "event_id", limit=40, required=True) or ""

    def run() -> dict[str, Any]:
        with write_session(request.app.state.sessions) as session:
            row = _webhook_endpoint(session, request.path_params["endpoint_id"])
            if not row.enabled:
                raise Conflict("This endpoint is disabled.")
            try:
                outbox.replay(session, row, event_id)
            except LookupError:
                raise NotFound(f"No event {event_id!r}.") from None
        return {"event_id": event_id, "status": "pending"}

    return 202, await run_in_threadpool(run)


@endpoint("read")
async def stats(request: Request, body: dict[str, Any]) -> tuple[int, Any]:
    """The funnel per product and placement; ``since``/``until`` are dates or ISO times."""
    state = request.app.state
    try:
        since, until = analytics.parse_range(
            request.query_params.get("since"), request.query_params.get("until")
        )
    except ValueError as problem:
        raise InvalidRequest(str(problem)) from None

    def read() -> dict[str, Any]:
        state.analytics.flush(state.sessions)
        return analytics.report_json(analytics.report(state.sessions, since, until))

    return 200, await run_in_threadpool(read)


def routes() -> list[Any]:
    from starlette.routing import Route

    v1 = "/api/v1"
    return [
        Route(f"{v1}/products", list_products, methods=["GET"]),
        Route(f"{v1}/products", create_product, methods=["POST"]),
        Route(f"{v1}/products/{{sku}}", get_product, methods=["GET"]),
        Route(f"{v1}/products/{{sku}}", update_product, methods=["PATCH"]),
        Route(f"{v1}/products/{{sku}}", archive_product, methods=["DELETE"]),
        Route(f"{v1}/products/{{sku}}/stock", set_stock, methods=["POST"]),
        Route(f"{v1}/stock", bulk_stock, methods=["POST"]),
        Route(f"{v1}/links", create_link, methods=["POST"]),
        Route(f"{v1}/stats", stats, methods=["GET"]),
        Route(f"{v1}/orders", list_orders, methods=["GET"]),
        Route(f"{v1}/orders/{{number}}", get_order, methods=["GET"]),
        Route(f"{v1}/orders/{{number}}/refund", refund, methods=["POST"]),
        Route(f"{v1}/orders/{{number}}/fulfill", fulfill, methods=["POST"]),
        Route(f"{v1}/webhook-endpoints", list_webhook_endpoints, methods=["GET"]),
        Route(f"{v1}/webhook-endpoints", create_webhook_endpoint, methods=["POST"]),
        Route(
            f"{v1}/webhook-endpoints/{{endpoint_id}}/rotate-secret", rotate_secret, methods=["POST"]
        ),
        Route(
            f"{v1}/webhook-endpoints/{{endpoint_id}}/deliveries", list_deliveries, methods=["GET"]
        ),
        Route(f"{v1}/webhook-endpoints/{{endpoint_id}}/replay", replay_event, methods=["POST"]),
    ]
