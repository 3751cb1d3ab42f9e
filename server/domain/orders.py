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
from buybutton_server.db import write_session
from buybutton_server.db.models import Order, OrderLine, utcnow
from buybutton_server.domain import (
    analytics,
    commissions,
    discounts,
    locales,
    outbox,
    rate_limits,
    reservations,
    routing,
)
from buybutton_server.domain.carts import LineShort
from buybutton_server.domain.fulfilment import fulfill_order
from buybutton_server.domain.order_choice import Choice, Shopper, destination, priced
from buybutton_server.domain.order_rows import (
    LINES,
    ORDERS,
    load_order,
    order_by_attempt,
    order_by_public_id,
)
from buybutton_server.domain.order_views import (
    LineView,
    OrderSummary,
    OrderView,
    find_order_view,
    order_summary,
    order_view,
)
from buybutton_server.domain.refunds import refund_order
from buybutton_server.domain.reservations import release_expired
from buybutton_server.domain.settlement import (
    apply_failure,
    apply_success,
    note_progress,
    reconcile_order,
    record_payment_reference,
    settle_order,
)
from buybutton_server.domain.vocabulary import OrderStatus
from buybutton_server.errors import (
    InternalError,
    NotEnoughStock,
    RateLimited,
    SoldOut,
)

__all__ = [
    "Choice",
    "HoldLimits",
    "LineView",
    "OrderSummary",
    "OrderView",
    "Shopper",
    "apply_failure",
    "apply_success",
    "destination",
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
_HOLDING_CLIENT = ORDERS.c.hold_client == bindparam("client")
_HOLDING_LINK = ORDERS.c.hold_link == bindparam("link")
_PENDING_HOLDS = select(
    func.coalesce(func.sum(case((_HOLDING_CLIENT, 1), else_=0)), 0),
    func.coalesce(func.sum(case((_HOLDING_LINK, 1), else_=0)), 0),
).where(
    # Reservations hold stock without paying: they count against the same caps.
    ORDERS.c.status.in_((OrderStatus.PENDING, OrderStatus.RESERVED)),
    or_(_HOLDING_CLIENT, _HOLDING_LINK),
)
# Both answer every column as written (defaults included): what ``order.created`` says,
# without reading the rows back.
_INSERT_ORDER = insert(ORDERS).returning(*ORDERS.c)
_INSERT_LINES = insert(LINES).returning(*LINES.c, sort_by_parameter_order=True)


def _given(objects: Sequence[object], columns: Sequence[str]) -> list[dict[str, Any]]:
    """Rows to INSERT: the columns set on some object; the others take their defaults (a
    column added with a default needs no change here)."""
    keys = [c for c in columns if any(getattr(o, c) is not None for o in objects)]
    return [{c: getattr(o, c) for c in keys} for o in objects]


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
    choice: Choice | None = None,
) -> tuple[Order, bool]:
    """Reserve stock and write a pending order. Returns ``(order, created)``.

    When the attempt key was used before (a double tap, a resubmitted form) the first order is
    returned with ``created=False`` and nothing is written. Raises ``ProductUnavailable``,
    ``InvalidInput`` (more than the product's ``max_per_order``), ``RateLimited`` (over one
    of ``limits``), ``SoldOut`` or ``NotEnoughStock`` (with what is left), writing nothing.

    A multi-item link (``link.items``) places one order with a line per item, each at its
    signed quantity (``quantity`` is then unused); all lines are reserved or none, and a
    line the shelf cannot fill raises :class:`~.carts.LineShort` naming its product.

    The order is priced here (:mod:`.quoting`, inside this transaction): shipping for the
    shopper's address, tax, and ``choice``'s codes (the link's codes when no ``choice``),
    each code's use counted. Raises ``InvalidInput`` when the quote refuses the address
    and ``TotalChanged`` when ``choice.expected_total`` is not the total priced now.

    ``choice.pickup`` (a store's code): collected there, no address and no shipping cost,
    every line reserved at that store or ``routing.Unfilled`` naming the product and the
    store; with ``choice.reserve`` the order is ``reserved`` (unpaid, held until the store's
    deadline: :mod:`.reservations`). A store that is unknown, closed, without pickup (or
    reservations) is refused by :func:`.pickup.pickup_point`; nothing is written.
    """
    try:
        with write_session(factory) as session:
            connection = session.connection()
            if connection.execute(_ATTEMPT_TAKEN, {"key": attempt_key}).first() is not None:
                return _existing(session, attempt_key), False
            wanted = link.items or ((link.sku, quantity),)
            now = utcnow()
            chose = choice or Choice(codes=link.codes or ())
            cart = priced(session, wanted, shopper, chose, now=now)
            chosen, point = cart.quote.selected_shipping, cart.point
            order = Order(
                public_id=secrets.token_urlsafe(16),
                number=new_order_number(),
                attempt_key=attempt_key,
                status=OrderStatus.RESERVED if point and point.reserve else OrderStatus.PENDING,
                currency=cart.quote.currency,
                total_amount=cart.quote.totals.total,
                subtotal_amount=cart.quote.totals.subtotal,
                discount_amount=cart.quote.totals.discount,
                shipping_amount=cart.quote.totals.fulfillment,
                tax_amount=cart.quote.totals.tax,
                tax_included=cart.quote.totals.prices_include_tax,
                shipping_option=chosen.id if chosen else None,
                shipping_title=chosen.title if chosen else None,
                discount_codes=" ".join(grant.code for grant in cart.quote.discounts) or None,
                refunded_amount=0,
                email=shopper.email,
                name=shopper.name,
                # A pickup or reservation keeps no shipping address.
                ship_line1=None if point else shopper.line1,
                ship_line2=None if point else shopper.line2,
                ship_city=None if point else shopper.city,
                ship_postal_code=None if point else shopper.postal_code,
                ship_country=None if point else shopper.country,
                ship_region=None if point else shopper.region,
                locale=locales.order_locale(),
                fulfilment_method=point.method if point else reservations.SHIPPING,
                pickup_location_id=point.location_id if point else None,
                pickup_ready_at=point.ready_at if point else None,
                source=link.source,
                campaign=link.campaign,
                content=link.content,
                payment_provider=reservations.IN_STORE if point and point.reserve else provider,
                payment_method=reservations.IN_STORE if point and point.reserve else method,
                reserved_until=now
                + (timedelta(minutes=point.hold_minutes) if point and point.reserve else hold_for),
                created_at=now,
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
                    product_id=cart_line.product.product_id,
                    sku=line.sku,
                    title=line.title,
                    unit_amount=line.unit_amount,
                    quantity=line.quantity,
                    total_amount=line.total,
                    discount_amount=line.discount,
                    tax_amount=line.tax.amount,
                    tax_rate_bp=line.tax.rate_bp,
                    shipped_quantity=0,
                )
                for cart_line, line in zip(cart.cart, cart.quote.lines, strict=True)
            ]
            # Claim the attempt key before touching stock: every transaction locks orders
            # first and products second, so a double tap cannot deadlock with a settlement.
            order_row = connection.execute(
                _INSERT_ORDER, _given([order], _ORDER_INSERT_COLUMNS)[0]
            ).one()
            order.id = order_row.id
            # Each code's use is counted by a conditional UPDATE (the last use goes to one
            # order); a code used up since the page was priced rolls everything back.
            if cart.quote.discounts:
                discounts.redeem(
                    session, cart.quote.discounts, order_id=order.id, email=shopper.email
                )
            # All lines or none, each at a location (domain/routing.py): one conditional
            # UPDATE per product and location, locked in product id then location id order
            # (two carts with the same products cannot deadlock on PostgreSQL); a line that
            # fails rolls all of them back.
            wants = [
                routing.Want(c.product.product_id, c.quantity, c.product.sku, c.product.title)
                for c in cart.cart
            ]
            try:  # a pickup or reservation: every line at the chosen store, or a refusal
                where = routing.reserve(session, wants, at=point.location_id if point else None)
            except routing.Unfilled as short:
                if point is not None:  # names the product and the store that lacks it
                    raise
                _refuse_short(short, several=len(cart.cart) > 1)
            # The lines, each at the location that reserved it, in the link's order (which
            # the order page shows); written after the stock, so they are written once.
            for line, location_id in zip(lines, where, strict=True):
                line.order_id, line.location_id = order.id, location_id
            line_rows = connection.execute(_INSERT_LINES, _given(lines, _LINE_COLUMNS)).all()
            for line, row in zip(lines, line_rows, strict=True):
                line.id = row.id
            order.lines = lines
            # Each payee's share, frozen now (lines and their locations are written).
            commissions.freeze(session, order, lines, link)
            # Caps are judged after the stock: a sold-out product says "sold out", not "too
            # many tries". Over a cap, the rollback takes this order and its reservation back.
            if limits is not None:
                _check_holds(session, limits)
            analytics.record_checkout_started(session, link, order)
            # Announced with the placement, so only a placement that commits is announced;
            # a repeated attempt key returned above, before writing anything.
            outbox.record_order_event(
                session, "order.created", order.id, row=order_row, lines=line_rows
            )
            return order, True
    except IntegrityError:
        # Two requests with one attempt key raced past the look-up (PostgreSQL); the loser's
        # transaction, reservation included, rolled back. Answer with the winner's order.
        with write_session(factory) as session:
            if session.connection().execute(_ATTEMPT_TAKEN, {"key": attempt_key}).first():
                return _existing(session, attempt_key), False
        raise


def _refuse_short(short: routing.Unfilled, *, several: bool) -> NoReturn:
    """Raise what the shopper is told when a line cannot be reserved: sold out or how many
    are left (the most one location can send), naming the product in a multi-item order.
    The caller's rollback releases every line reserved before it."""
    available = max(short.available, 0)
    if several:
        raise LineShort(short.want.sku, short.want.title, available)
    if available <= 0:
        raise SoldOut()
    raise NotEnoughStock(available)
