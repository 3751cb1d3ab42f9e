"""Orders: placing them, and reading them for the shopper.

A checkout is three short steps, so no transaction is held open while a payment provider
thinks:

1. :func:`place_order` inserts a ``pending`` order under the checkout's attempt key (UNIQUE)
   and reserves its stock, in that order, and queues ``order.created``. A repeated attempt
   key finds the first order instead; a failed reservation rolls the order back.
2. The provider charges, with the attempt key as its idempotency key.
3. :func:`~buybutton_server.domain.settlement.settle_order` moves ``pending`` to ``paid``
   (taking the reserved stock) or to ``failed`` (releasing it), conditionally on the status
   it moves from, so whichever settlement arrives first wins and later ones change nothing.

The rest of an order's life lives beside this module: ``settlement`` (charges, provider
events, expired reservations), ``refunds`` and ``fulfilment``. Their entry points are
re-exported here, so ``domain.orders`` stays the one name to import them by.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn

from sqlalchemy import bindparam, case, func, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from buybutton.tokens import CheckoutLink
from buybutton_server.db import read_session, write_session
from buybutton_server.db.models import Order, OrderLine, utcnow
from buybutton_server.domain import analytics, inventory, outbox, rate_limits
from buybutton_server.domain.carts import LineShort
from buybutton_server.domain.fulfilment import fulfill_order
from buybutton_server.domain.order_rows import (
    LINES,
    ORDERS,
    PRODUCTS,
    load_order,
    order_by_attempt,
    order_by_public_id,
)
from buybutton_server.domain.refunds import refund_order
from buybutton_server.domain.settlement import (
    apply_failure,
    apply_success,
    note_progress,
    reconcile_order,
    record_payment_reference,
    release_expired,
    settle_order,
)
from buybutton_server.domain.vocabulary import OrderStatus
from buybutton_server.errors import (
    InternalError,
    InvalidInput,
    NotEnoughStock,
    ProductUnavailable,
    RateLimited,
    SoldOut,
)

__all__ = [
    "HoldLimits",
    "LineView",
    "OrderSummary",
    "OrderView",
    "Shopper",
    "apply_failure",
    "apply_success",
    "find_order_view",
    "fulfill_order",
    "load_order",
    "new_order_number",
    "note_progress",
    "order_by_attempt",
    "order_by_public_id",
    "order_summary",
    "order_view",
    "place_order",
    "reconcile_order",
    "record_payment_reference",
    "refund_order",
    "release_expired",
    "settle_order",
]

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_PUBLIC_ID_SHAPE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


@dataclass(frozen=True, kw_only=True)
class Shopper:
    email: str
    name: str
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    postal_code: str | None = None
    country: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class HoldLimits:
    """How much one checkout may hold, checked in the transaction that reserves its stock.

    ``client`` and ``link`` are short keys (hashes) of the shopper's address and of the link;
    ``per_client`` and ``per_link`` cap how many of their orders may be pending at once;
    ``link_rate`` (count, seconds) limits attempts through the link. Each is off when None.
    """

    client: str
    link: str
    per_client: int | None = None
    per_link: int | None = None
    link_rate: tuple[int, int] | None = None


def new_order_number() -> str:
    return "BB-" + "".join(secrets.choice(_CROCKFORD) for _ in range(8))


# -- placing --------------------------------------------------------------------------------

_ORDER_INSERT_COLUMNS = [c.name for c in ORDERS.columns if c.name != "id"]
_LINE_COLUMNS = [c.name for c in LINES.columns if c.name != "id"]
# Prebuilt statements: the checkout's hot path skips the ORM's unit of work.
_ATTEMPT_TAKEN = select(ORDERS.c.id).where(ORDERS.c.attempt_key == bindparam("key"))
_PRODUCT_FOR_ORDER = select(
    PRODUCTS.c.id,
    PRODUCTS.c.sku,
    PRODUCTS.c.title,
    PRODUCTS.c.price_amount,
    PRODUCTS.c.currency,
    PRODUCTS.c.active,
    PRODUCTS.c.max_per_order,
).where(PRODUCTS.c.sku == bindparam("sku"))
_AVAILABLE = select(PRODUCTS.c.on_hand - PRODUCTS.c.reserved).where(
    PRODUCTS.c.id == bindparam("id")
)
_HOLDING_CLIENT = ORDERS.c.hold_client == bindparam("client")
_HOLDING_LINK = ORDERS.c.hold_link == bindparam("link")
_PENDING_HOLDS = select(
    func.coalesce(func.sum(case((_HOLDING_CLIENT, 1), else_=0)), 0),
    func.coalesce(func.sum(case((_HOLDING_LINK, 1), else_=0)), 0),
).where(ORDERS.c.status == OrderStatus.PENDING, or_(_HOLDING_CLIENT, _HOLDING_LINK))
_INSERT_ORDER = insert(ORDERS).returning(ORDERS.c.id)
_INSERT_LINE = insert(LINES)


def _existing(session: Session, attempt_key: str) -> Order:
    order = order_by_attempt(session, attempt_key)
    if order is None:  # the attempt key was just seen taken, in this transaction
        raise InternalError()
    return order


def _check_holds(session: Session, limits: HoldLimits) -> None:
    """Raise ``RateLimited`` when this attempt goes over one of ``limits``; the attempt's own
    pending order is already written, so it counts among the pending holds."""
    if limits.link_rate is not None:
        count, seconds = limits.link_rate
        key = f"pay-link:{limits.link}"
        verdict = rate_limits.hit(session, key, limit=count, per_seconds=seconds)
        if not verdict.allowed:
            raise RateLimited(verdict.retry_after)
    if limits.per_client is None and limits.per_link is None:
        return
    params = {"client": limits.client, "link": limits.link}
    by_client, by_link = session.connection().execute(_PENDING_HOLDS, params).one()
    if limits.per_client is not None and by_client > limits.per_client:
        raise RateLimited(
            120,
            "You already have checkouts waiting for payment. Finish or close one, or try "
            "again in a few minutes; nothing was charged.",
        )
    if limits.per_link is not None and by_link > limits.per_link:
        raise RateLimited(
            60,
            "Many checkouts through this link are under way. Please try again in a minute; "
            "nothing was charged.",
        )


def place_order(
    factory: sessionmaker[Session],
    *,
    link: CheckoutLink,
    quantity: int,
    shopper: Shopper,
    attempt_key: str,
    provider: str,
    method: str,
    hold_for: timedelta,
    first_touch: Mapping[str, Any] | None = None,
    limits: HoldLimits | None = None,
) -> tuple[Order, bool]:
    """Reserve stock and write a pending order. Returns ``(order, created)``.

    When the attempt key was used before (a double tap, a resubmitted form) the first order is
    returned with ``created=False`` and nothing is written. Raises ``ProductUnavailable``,
    ``InvalidInput`` (more than the product's ``max_per_order``), ``RateLimited`` (over one
    of ``limits``), ``SoldOut`` or ``NotEnoughStock`` (with what is left), writing nothing.

    A multi-item link (``link.items``) places one order with a line per item, each at its
    signed quantity (``quantity`` is then unused); all lines are reserved or none, and a
    line the shelf cannot fill raises :class:`~.carts.LineShort` naming its product.
    """
    try:
        with write_session(factory) as session:
            connection = session.connection()
            if connection.execute(_ATTEMPT_TAKEN, {"key": attempt_key}).first() is not None:
                return _existing(session, attempt_key), False
            wanted = link.items or ((link.sku, quantity),)
            products = _products_for(session, wanted)
            total = sum(p.price_amount * n for p, n in products)
            order = Order(
                public_id=secrets.token_urlsafe(16),
                number=new_order_number(),
                attempt_key=attempt_key,
                status=OrderStatus.PENDING,
                currency=products[0][0].currency,
                total_amount=total,
                refunded_amount=0,
                email=shopper.email,
                name=shopper.name,
                ship_line1=shopper.line1,
                ship_line2=shopper.line2,
                ship_city=shopper.city,
                ship_postal_code=shopper.postal_code,
                ship_country=shopper.country,
                source=link.source,
                campaign=link.campaign,
                content=link.content,
                payment_provider=provider,
                payment_method=method,
                reserved_until=utcnow() + hold_for,
                created_at=utcnow(),
                hold_client=limits.client if limits else None,
                hold_link=limits.link if limits else None,
            )
            if first_touch:
                order.first_source = first_touch.get("s")
                order.first_campaign = first_touch.get("c")
                order.first_content = first_touch.get("n")
                order.first_touch_at = datetime.fromtimestamp(first_touch["t"], UTC)
            lines = [
                OrderLine(
                    product_id=product.id,
                    sku=product.sku,
                    title=product.title,
                    unit_amount=product.price_amount,
                    quantity=n,
                    total_amount=product.price_amount * n,
                )
                for product, n in products
            ]
            # Claim the attempt key before touching stock: every transaction locks orders
            # first and products second, so a double tap cannot deadlock with a settlement.
            order.id = connection.execute(
                _INSERT_ORDER, {c: getattr(order, c) for c in _ORDER_INSERT_COLUMNS}
            ).scalar_one()
            for line in lines:  # the link's order, which the order page shows
                line.order_id = order.id
            rows = [{c: getattr(line, c) for c in _LINE_COLUMNS} for line in lines]
            connection.execute(_INSERT_LINE, rows[0] if len(rows) == 1 else rows)
            order.lines = lines
            # All lines or none: each reservation is one conditional UPDATE, taken in product
            # id order (two carts with the same products lock them in the same order, so
            # PostgreSQL cannot deadlock them); a line that fails rolls all of them back.
            for product, n in sorted(products, key=lambda pair: pair[0].id):
                if not inventory.reserve(session, product.id, n):
                    _refuse_short(session, product, several=len(products) > 1)
            # Caps are judged after the stock: a sold-out product says "sold out", not "too
            # many tries". Over a cap, the rollback takes this order and its reservation back.
            if limits is not None:
                _check_holds(session, limits)
            analytics.record_checkout_started(session, link, order)
            # Announced with the placement, so only a placement that commits is announced;
            # a repeated attempt key returned above, before writing anything.
            outbox.record_order_event(session, "order.created", order.id)
            return order, True
    except IntegrityError:
        # Two requests with one attempt key raced past the look-up (PostgreSQL); the loser's
        # transaction, reservation included, rolled back. Answer with the winner's order.
        with write_session(factory) as session:
            if session.connection().execute(_ATTEMPT_TAKEN, {"key": attempt_key}).first():
                return _existing(session, attempt_key), False
        raise


def _products_for(session: Session, wanted: Sequence[tuple[str, int]]) -> list[tuple[Any, int]]:
    """Each wanted ``(sku, quantity)`` as ``(product row, quantity)``, in the same order.
    Raises ``ProductUnavailable`` or ``InvalidInput`` naming the line (a multi-item order)."""
    several = len(wanted) > 1
    found: list[tuple[Any, int]] = []
    for sku, quantity in wanted:
        product = session.connection().execute(_PRODUCT_FOR_ORDER, {"sku": sku}).first()
        if product is None or not product.active:
            if several:
                raise ProductUnavailable(f"The shop has taken {sku} down. Nothing was charged.")
            raise ProductUnavailable()
        if quantity > product.max_per_order:
            name = f" of {product.title}" if several else ""
            raise InvalidInput(f"At most {product.max_per_order}{name} per order.")
        if found and product.currency != found[0][0].currency:
            raise InvalidInput("These products are priced in different currencies.")
        found.append((product, quantity))
    return found


def _refuse_short(session: Session, product: Any, *, several: bool) -> NoReturn:
    """Raise what the shopper is told when ``product`` cannot be reserved: sold out or how
    many are left, naming the product in a multi-item order. The caller's rollback releases
    every line reserved before it."""
    left = session.connection().execute(_AVAILABLE, {"id": product.id}).scalar_one()
    available = max(left, 0)
    if several:
        raise LineShort(product.sku, product.title, available)
    if available <= 0:
        raise SoldOut()
    raise NotEnoughStock(available)


# -- reading --------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class OrderSummary:
    """Where an order stands, for the checkout's answer (read from the order row alone)."""

    public_id: str
    number: str
    status: str
    failure_code: str | None = None
    failure_message: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class LineView:
    sku: str
    title: str
    quantity: int
    unit_amount: int
    total_amount: int


@dataclass(frozen=True, kw_only=True, slots=True)
class OrderView:
    """An order as its shopper sees it (the order page): no ids, keys or attribution."""

    public_id: str
    number: str
    status: str
    currency: str
    total_amount: int
    email: str
    name: str
    ship_line1: str | None
    ship_line2: str | None
    ship_city: str | None
    ship_postal_code: str | None
    ship_country: str | None
    failure_code: str | None
    failure_message: str | None
    lines: tuple[LineView, ...]


def order_summary(order: Order) -> OrderSummary:
    return OrderSummary(
        public_id=order.public_id,
        number=order.number,
        status=order.status,
        failure_code=order.failure_code,
        failure_message=order.failure_message,
    )


def order_view(order: Order) -> OrderView:
    """The shopper's view of an order whose lines are loaded."""
    return OrderView(
        public_id=order.public_id,
        number=order.number,
        status=order.status,
        currency=order.currency,
        total_amount=order.total_amount,
        email=order.email,
        name=order.name,
        ship_line1=order.ship_line1,
        ship_line2=order.ship_line2,
        ship_city=order.ship_city,
        ship_postal_code=order.ship_postal_code,
        ship_country=order.ship_country,
        failure_code=order.failure_code,
        failure_message=order.failure_message,
        lines=tuple(
            LineView(
                sku=line.sku,
                title=line.title,
                quantity=line.quantity,
                unit_amount=line.unit_amount,
                total_amount=line.total_amount,
            )
            for line in order.lines
        ),
    )


def find_order_view(factory: sessionmaker[Session], public_id: str) -> OrderView | None:
    """The order with this public id, or None; an id that cannot be one is not looked up."""
    if not 16 <= len(public_id) <= 32 or not _PUBLIC_ID_SHAPE.issuperset(public_id):
        return None
    with read_session(factory) as session:
        order = order_by_public_id(session, public_id)
        return order_view(order) if order is not None else None
