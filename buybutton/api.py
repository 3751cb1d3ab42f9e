"""The REST API from Python: typed methods over httpx, retries, webhook verification.

>>> bb = BuyButton(base_url="https://shop.example", api_key="bb_write_…")   # doctest: +SKIP
>>> bb.create_product("MUG-01", title="Mug", price="24.00", currency="USD", stock=10)
>>> bb.create_link("MUG-01", source="instagram", short=True).url

Reads, and writes (each is sent with an ``Idempotency-Key`` the client makes up), are retried
on connection errors, 429 and 502/503/504, with exponential backoff and jitter, honouring
``Retry-After``. Errors raise the :class:`buybutton.errors.ApiError` family.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import httpx

from buybutton.errors import (
    ApiError,
    AuthenticationError,
    ConfigurationError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    OutOfStockError,
    PermissionDenied,
    RateLimitedError,
    ServerError,
    WebhookVerificationError,
)
from buybutton.resources import (
    Link,
    Order,
    Product,
    WebhookEndpoint,
    WebhookEvent,
)

RETRY_STATUSES = {429, 502, 503, 504}
WEBHOOK_TOLERANCE = 300  # seconds, as Standard Webhooks recommends


_ERRORS: dict[int, type[ApiError]] = {
    401: AuthenticationError,
    403: PermissionDenied,
    404: NotFoundError,
    409: ConflictError,
    422: InvalidRequestError,
}


class ApiClient:
    """Typed methods for ``/api/v1``. :class:`buybutton.BuyButton` has them all."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        *,
        timeout: float = 10.0,
        retries: int = 3,
        http_client: httpx.Client | None = None,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._key = api_key
        self._retries = retries
        self._http = http_client or httpx.Client(timeout=timeout)

    # -- transport --------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Any:
        if not self._key:
            raise ConfigurationError("api_key is not set: create one with `buybutton keys create`")
        headers = {"Authorization": f"Bearer {self._key}", "Accept": "application/json"}
        if method != "GET":
            # The same key on every retry: a write that reached the server is not repeated.
            headers["Idempotency-Key"] = str(uuid.uuid4())
        query = {k: v for k, v in (params or {}).items() if v is not None}
        for attempt in range(self._retries + 1):
            try:
                answer = self._http.request(
                    method,
                    self._base + path,
                    json=body if method != "GET" else None,
                    params=query,
                    headers=headers,
                )
            except httpx.TransportError as error:
                if attempt == self._retries:
                    raise ServerError(0, "unreachable", self._unreachable(error)) from None
                self._sleep(attempt, None)
                continue
            if answer.status_code in RETRY_STATUSES and attempt < self._retries:
                self._sleep(attempt, answer.headers.get("retry-after"))
                continue
            return self._result(answer)
        raise AssertionError("unreachable")  # pragma: no cover

    def _unreachable(self, error: httpx.TransportError) -> str:  # one line, no traceback
        if isinstance(error, httpx.TimeoutException):
            why = "it did not answer in time"
        elif isinstance(error, httpx.ConnectError):
            why = "nothing answered there (is the server running, and is base_url right?)"
        else:
            why = f"the connection failed ({type(error).__name__})"
        return f"cannot reach the buybutton server at {self._base}: {why}"

    def _sleep(self, attempt: int, retry_after: str | None) -> None:
        if retry_after and retry_after.isdigit():
            time.sleep(min(float(retry_after), 30))
            return
        time.sleep(min(0.25 * 2**attempt, 8) * (1 + random.random() / 2))

    @staticmethod
    def _result(answer: httpx.Response) -> Any:
        if answer.status_code < 400:
            return answer.json()
        try:
            error = answer.json()["error"]
            code, message = str(error["code"]), str(error["message"])
        except (ValueError, KeyError, TypeError):
            code, message = "http_error", answer.text[:200]
        status = answer.status_code
        if status == 429:
            retry = answer.headers.get("retry-after", "1")
            raise RateLimitedError(status, code, message, float(retry) if retry.isdigit() else 1)
        if status == 409 and code in ("out_of_stock", "not_enough_stock", "sold_out"):
            raise OutOfStockError(status, code, message)
        if status >= 500:
            raise ServerError(status, code, message)
        raise _ERRORS.get(status, ApiError)(status, code, message)

    def _pages(self, path: str, params: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        cursor = None
        while True:
            page = self._request("GET", path, params={**params, "cursor": cursor})
            yield from page["data"]
            cursor = page["next_cursor"]
            if cursor is None:
                return

    # -- products and stock -----------------------------------------------------------------

    def create_product(
        self,
        sku: str,
        *,
        title: str,
        price: str,
        currency: str,
        stock: int = 0,
        **fields: Any,
    ) -> Product:
        """``price`` is a decimal string (``"24.90"``); other fields: description,
        image_url, requires_shipping, variant_group, variant_label."""
        body = {"sku": sku, "title": title, "price": price, "currency": currency, "stock": stock}
        return Product.from_json(self._request("POST", "/api/v1/products", body={**body, **fields}))

    def import_catalog(self, products: Sequence[Mapping[str, Any]]) -> list[Product]:
        """Create each product, or update it (stock included) if its sku exists."""
        done = []
        for row in products:
            fields = dict(row)
            sku, stock = fields.pop("sku"), fields.pop("stock", None)
            try:
                self.get_product(sku)
            except NotFoundError:
                done.append(self.create_product(sku, **fields, stock=stock or 0))
                continue
            product = self.update_product(sku, **fields) if fields else self.get_product(sku)
            if stock is not None:
                product = self.set_stock(sku, stock)
            done.append(product)
        return done

    def get_product(self, sku: str) -> Product:
        return Product.from_json(self._request("GET", f"/api/v1/products/{sku}"))

    def update_product(self, sku: str, **fields: Any) -> Product:
        return Product.from_json(self._request("PATCH", f"/api/v1/products/{sku}", body=fields))

    def archive_product(self, sku: str) -> Product:
        return Product.from_json(self._request("DELETE", f"/api/v1/products/{sku}"))

    def iter_products(self, *, include_archived: bool = False) -> Iterator[Product]:
        params = {"include_archived": "true" if include_archived else None, "limit": 100}
        for data in self._pages("/api/v1/products", params):
            yield Product.from_json(data)

    def set_stock(self, sku: str, on_hand: int) -> Product:
        body = {"on_hand": on_hand}
        return Product.from_json(self._request("POST", f"/api/v1/products/{sku}/stock", body=body))

    def adjust_stock(self, sku: str, delta: int) -> Product:
        body = {"delta": delta}
        return Product.from_json(self._request("POST", f"/api/v1/products/{sku}/stock", body=body))

    def sync_stock(self, items: Sequence[Mapping[str, Any]]) -> list[Product]:
        """Many products at once, all or nothing: ``[{"sku": …, "on_hand": 5}, {"sku": …,
        "delta": -2}]``."""
        answer = self._request("POST", "/api/v1/stock", body={"items": list(items)})
        return [Product.from_json(p) for p in answer["data"]]

    # -- links ------------------------------------------------------------------------------

    def create_link(
        self,
        sku: str | None = None,
        *,
        items: Sequence[tuple[str, int]] | None = None,
        short: bool = False,
        address: Mapping[str, str] | None = None,
        **fields: Any,
    ) -> Link:
        """A checkout link minted by the server: ``short=True`` for ``/l/CODE`` (the
        pre-fill, if any, stays on the server). Fields: quantity, codes, email, name,
        source, campaign, content, expires_in (seconds; signed links only).

        ``items=[("MUG-01", 2), ("TEE-M", 1)]`` instead of ``sku`` sells several products
        in one checkout. ``address`` (short links only) pre-fills the shipping address:
        ``{"country": "DE", "postal_code": "10115", "city": "Berlin", "line1": ...}`` (or
        UCP's ``postal_address`` names); the server checks it against the country's rules
        and refuses it (:class:`InvalidRequestError`) field by field."""
        if (sku is None) == (items is None):
            raise ValueError("give sku or items, exactly one")
        body: dict[str, Any] = {"short": short, **fields}
        if items is not None:
            body["items"] = [{"sku": s, "quantity": q} for s, q in items]
        else:
            body["sku"] = sku
        if address is not None:
            prefill = {k: body.pop(k) for k in ("email", "name") if body.get(k) is not None}
            body.pop("email", None)
            body.pop("name", None)
            body["prefill"] = {**prefill, "address": dict(address)}
        answer = self._request("POST", "/api/v1/links", body=body)
        return Link(
            url=answer["url"],
            short_url=answer.get("short_url"),
            qr_svg=answer.get("qr_svg"),
            qr_png=answer.get("qr_png"),
        )

    # -- orders -----------------------------------------------------------------------------

    def get_order(self, number: str) -> Order:
        return Order.from_json(self._request("GET", f"/api/v1/orders/{number}"))

    def iter_orders(self, **filters: Any) -> Iterator[Order]:
        """Filters: status, source, campaign, content, created_after, created_before."""
        for data in self._pages("/api/v1/orders", {**filters, "limit": 100}):
            yield Order.from_json(data)

    def refund_order(self, number: str, *, amount: int | None = None) -> Order:
        body = {"amount": amount} if amount is not None else {}
        return Order.from_json(self._request("POST", f"/api/v1/orders/{number}/refund", body=body))

    def fulfill_order(
        self,
        number: str,
        *,
        carrier: str | None = None,
        tracking_number: str | None = None,
        tracking_url: str | None = None,
    ) -> Order:
        """Mark a paid order fulfilled; with tracking, the shopper can follow the parcel (a
        known carrier's link is built when ``tracking_url`` is left out)."""
        given = {
            "carrier": carrier,
            "tracking_number": tracking_number,
            "tracking_url": tracking_url,
        }
        body = {name: value for name, value in given.items() if value is not None}
        path = f"/api/v1/orders/{number}/fulfill"
        return Order.from_json(self._request("POST", path, body=body))

    # -- webhooks ---------------------------------------------------------------------------

    def create_webhook_endpoint(self, url: str, events: Sequence[str] = ("*",)) -> WebhookEndpoint:
        """The answer carries the endpoint's ``secret``: keep it to verify deliveries."""
        body = {"url": url, "events": list(events)}
        return WebhookEndpoint.from_json(
            self._request("POST", "/api/v1/webhook-endpoints", body=body)
        )

    def rotate_webhook_secret(self, endpoint_id: str) -> WebhookEndpoint:
        path = f"/api/v1/webhook-endpoints/{endpoint_id}/rotate-secret"
        return WebhookEndpoint.from_json(self._request("POST", path, body={}))

    def list_deliveries(self, endpoint_id: str) -> list[dict[str, Any]]:
        path = f"/api/v1/webhook-endpoints/{endpoint_id}/deliveries"
        return list(self._pages(path, {"limit": 100}))

    def replay_webhook(self, endpoint_id: str, event_id: str) -> None:
        path = f"/api/v1/webhook-endpoints/{endpoint_id}/replay"
        self._request("POST", path, body={"event_id": event_id})

    def disable_webhook_endpoint(self, endpoint_id: str) -> WebhookEndpoint:
        """Stop deliveries: pending ones are canceled, new events are not sent."""
        path = f"/api/v1/webhook-endpoints/{endpoint_id}/disable"
        return WebhookEndpoint.from_json(self._request("POST", path, body={}))

    def enable_webhook_endpoint(self, endpoint_id: str) -> WebhookEndpoint:
        """Deliver again (also after a 410 disabled it), from the next event on."""
        path = f"/api/v1/webhook-endpoints/{endpoint_id}/enable"
        return WebhookEndpoint.from_json(self._request("POST", path, body={}))

    def delete_webhook_endpoint(self, endpoint_id: str) -> None:
        """Delete the endpoint with its delivery log and secrets."""
        self._request("DELETE", f"/api/v1/webhook-endpoints/{endpoint_id}")


def verify_webhook(
    body: bytes | str,
    headers: Mapping[str, str],
    secrets: Sequence[str],
    *,
    now: float | None = None,
) -> WebhookEvent:
    """Check a Standard Webhooks delivery and return its event.

    ``secrets`` are ``whsec_…`` values (give the old and the new one while rotating). The
    timestamp must be within five minutes of ``now``. Raises :class:`WebhookVerificationError`
    for anything wrong with the delivery, however malformed (never ``TypeError`` or
    ``ValueError``), so a receiver needs one ``except`` to answer 400.
    """
    try:
        raw = body.encode() if isinstance(body, str) else bytes(body)
        lower = {str(k).lower(): v for k, v in headers.items()}
    except (TypeError, ValueError):
        raise WebhookVerificationError("the body or headers are not text") from None
    msg_id = lower.get("webhook-id")
    stamp = lower.get("webhook-timestamp")
    signatures = lower.get("webhook-signature")
    if not (isinstance(msg_id, str) and isinstance(stamp, str) and isinstance(signatures, str)):
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or signature")
    if not (msg_id and stamp and signatures):
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or signature")
    # isdigit() also passes "²", which int() refuses; 12 digits reach the year 33658.
    if not (stamp.isascii() and stamp.isdecimal() and len(stamp) <= 12):
        raise WebhookVerificationError("webhook-timestamp is not a number of seconds")
    if abs((time.time() if now is None else now) - int(stamp)) > WEBHOOK_TOLERANCE:
        raise WebhookVerificationError("the timestamp is too far from now")
    content = f"{msg_id}.{stamp}.".encode(errors="surrogateescape") + raw
    # Compared as bytes: compare_digest raises TypeError on non-ASCII str.
    given = {
        s.split(",", 1)[1].encode(errors="surrogateescape")
        for s in signatures.split()
        if s.startswith("v1,")
    }
    for secret in secrets:
        try:
            key = base64.b64decode(secret.removeprefix("whsec_"))
        except (TypeError, ValueError):
            raise WebhookVerificationError("a secret is not a whsec_ value") from None
        expected = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest())
        if any(hmac.compare_digest(expected, g) for g in given):
            return _event(msg_id, raw)
    raise WebhookVerificationError("no signature matches")


def _event(msg_id: str, raw: bytes) -> WebhookEvent:
    try:
        data = json.loads(raw)
        return WebhookEvent(
            id=msg_id, type=data["type"], timestamp=data["timestamp"], data=data["data"]
        )
    except (ValueError, TypeError, KeyError, RecursionError):
        raise WebhookVerificationError("the signed body is not a webhook event") from None
