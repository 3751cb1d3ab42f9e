"""The checkout: what a signed link offers, and one payment attempt for it.

:func:`pay` is the whole use case, from a verified link to a settled (or pending) order, in
one thread and without a transaction held across the provider's answer:

1. :func:`load_offer`: the link's product (or the variant the shopper chose), with a short
   link's stored pre-fill.
2. :func:`read_details`: the shopper's contact and shipping fields, from what they typed, the
   link's pre-fill and the wallet, in that order of precedence.
3. ``orders.place_order``: a ``pending`` order and its stock reservation under the attempt key
   (a repeated key finds the first order and charges nothing). Only a well-formed attempt
   (our attempt key, valid fields, a quantity the link and product allow) gets this far, and
   only such attempts count against the link's rate limit and the caps on unfinished
   checkouts per client and per link (:class:`HoldPolicy`).
4. ``provider.charge``, with the attempt key as the idempotency key; the provider hands its
   payment id to ``settlement.record_payment_reference`` before any money can move.
5. ``settlement.settle_order``: ``paid``, ``failed``, or still ``pending`` when the provider
   settles by webhook (``requires_action`` carries a client secret for 3-D Secure, and holds
   the stock only ``HoldPolicy.action_hold``).

The answer is an :class:`Outcome`; errors the shopper cannot fix on the page (the product
gone, sold out, the provider down) are raised from ``buybutton_server.errors``.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from enum import StrEnum
from typing import Any, Literal

from sqlalchemy.orm import Session, sessionmaker

from buybutton.tokens import CheckoutLink
from buybutton_server.db import run_read
from buybutton_server.domain import carts, rate_limits, short_links, ucp_sessions
from buybutton_server.domain.carts import Item
from buybutton_server.domain.catalog import ProductView, product_view, variants_of
from buybutton_server.domain.checkout_model import Address
from buybutton_server.domain.orders import (
    Choice,
    HoldLimits,
    OrderSummary,
    Shopper,
    order_summary,
    place_order,
    record_payment_reference,
    settle_order,
)
from buybutton_server.domain.pickup import PICKUP_REFUSALS
from buybutton_server.domain.pricing import NO_SHIPPING_TO_COUNTRY
from buybutton_server.domain.vocabulary import OrderStatus
from buybutton_server.errors import (
    InvalidInput,
    NotEnoughStock,
    NotFound,
    PaymentUnavailable,
    ProductUnavailable,
    RateLimited,
    ShopError,
    TotalChanged,
)
from buybutton_server.payments.base import ChargeRequest, ChargeResult, PaymentProvider
from buybutton_server.services import commissions
from buybutton_server.services.checkout_currency import in_currency, items_in, locale_region
from buybutton_server.services.checkout_details import (
    ADDRESS_FIELDS,
    FIELDS,
    Collected,
    Ships,
    all_codes,
    quantity_problem,
    read_details,
)

__all__ = ["ADDRESS_FIELDS", "FIELDS", "quantity_problem", "read_details"]

PaymentMethod = Literal["card", "wallet"]
# (hits, per seconds): at most that many tries in any window of that length.
Limit = tuple[int, int]

ATTEMPT_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def _key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True, kw_only=True, slots=True)
class HoldPolicy:
    """How long, and how much, unfinished checkouts may hold (the settings of the same names;
    None turns a limit off)."""

    action_hold: timedelta | None = None  # a payment waiting on 3-D Secure
    per_client: int | None = None  # unfinished checkouts per client (IPv6 by /64)
    per_link: int | None = None  # unfinished checkouts per link
    link_rate: Limit | None = None  # well-formed attempts per link per window


@dataclass(frozen=True, slots=True)
class Offer:
    """What a page sells: the link as the shopper will pay it, its product (None when there
    is no such product), and the product's variants (empty when it has none).

    A multi-item link also has its ``items`` (every line whose product exists; ``product``
    is the first line's) and ``problem``, what stops the cart (raise it), or None."""

    link: CheckoutLink
    product: ProductView | None
    variants: tuple[ProductView, ...] = ()
    items: tuple[Item, ...] = ()
    problem: ShopError | None = None
    prefill: Address | None = None

    @property
    def requires_shipping(self) -> bool:
        if self.items:
            return any(item.product.requires_shipping for item in self.items)
        return self.product is not None and self.product.requires_shipping


def load_offer(factory: sessionmaker[Session], link: CheckoutLink, variant: str | None) -> Offer:
    """The link's product, or the variant the shopper picked (``variant``, only within the
    signed product's variant group), with a short link's stored pre-fill filled in. A
    multi-item link reads all its lines' products at once (no variants). In its currency."""
    link, prefill = _with_prefill(factory, link)
    if link.items:
        items, problem = carts.read_items(factory, link.items)
        items = items_in(factory, items, link.currency)
        first = items[0].product if items else None
        return Offer(link, first, items=items, problem=problem, prefill=prefill)
    product = in_currency(factory, product_view(factory, link.sku), link.currency)
    if product is None or not product.variant_group:
        return Offer(link, product, prefill=prefill)
    variants = tuple(in_currency(factory, v, link.currency) for v in variants_of(factory, product))
    if variant and variant != product.sku:
        for candidate in variants:
            if candidate.sku == variant:
                chosen = replace(link, sku=candidate.sku)
                return Offer(chosen, candidate, variants, prefill=prefill)
    return Offer(link, product, variants, prefill=prefill)


def _with_prefill(
    factory: sessionmaker[Session], link: CheckoutLink
) -> tuple[CheckoutLink, Address | None]:
    """A short link's stored pre-fill (email, name, shipping address), when the link names
    a short code whose stored lines are the link's own; else the link as it is."""
    if not link.short_code:
        return link, None
    stored = short_links.find(factory, link.short_code)
    if stored is None or not stored.matches(link):
        return link, None
    return replace(link, email=stored.email, name=stored.name), stored.address


async def read_offer(
    factory: sessionmaker[Session], link: CheckoutLink, variant: str | None
) -> Offer:
    """:func:`load_offer` for the page's hot path: inline on SQLite (a local read costs less
    than a trip through the thread pool), in the thread pool on PostgreSQL (``run_read``)."""
    return await run_read(factory, load_offer, factory, link, variant)


def find_product(factory: sessionmaker[Session], sku: str) -> ProductView | None:
    return product_view(factory, sku)


@dataclass(frozen=True, kw_only=True)
class PaymentForm:
    """One payment attempt as the shopper sent it, for a link whose signature verified.

    ``details`` holds the contact and shipping fields as typed (by :data:`FIELDS` name);
    ``payment_details`` what the provider needs (card fields, or Stripe's payment method
    id); ``first_touch`` the attribution cookie's content, when tracking is allowed;
    ``client`` the shopper's address and ``token`` the link as it came (for the limits).
    """

    link: CheckoutLink
    variant: str | None = None
    quantity: int
    attempt_key: str
    method: PaymentMethod
    details: Mapping[str, str]
    payment_details: Mapping[str, str] = field(repr=False)
    first_touch: Mapping[str, Any] | None = None
    client: str = "unknown"
    token: str = ""
    # What the page's quote showed: typed codes (the link's are added), the shipping option
    # picked, and the total shown (None: not checked, as for API callers that never saw one).
    codes: tuple[str, ...] = ()
    shipping_option: str | None = None
    shown_total: int | None = None
    quoted: bool = False  # whether the page had priced shipping and tax when it was sent
    # Pick up at (or, with ``reserve``, reserve and pay at) the store with this code
    # instead of delivery: no address is asked for (domain/pickup.py).
    pickup: str | None = None
    reserve: bool = False
    shown_currency: str | None = None  # the page's; another one when paying is a 409


class Problem(StrEnum):
    """Why an attempt did not make an order the shopper can go on with."""

    INCOMPLETE_FORM = "incomplete_form"  # no valid attempt key: the page was not ours
    INVALID_FIELDS = "invalid_fields"  # see Outcome.errors
    NOT_ENOUGH_STOCK = "not_enough_stock"  # fewer left than asked for; nothing charged
    PAYMENT_FAILED = "payment_failed"  # the order failed; code and alert say why
    TOTAL_CHANGED = "total_changed"  # priced now, the total is not the one shown; no charge


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """What a payment attempt came to, with what the page needs to show it again.

    Exactly one of ``order`` (set unless the attempt stopped before an order existed) and
    ``problem`` decides the answer: a ``problem`` has an ``alert`` for the shopper and a
    machine ``code``; a failed payment has both an ``order`` and a ``problem``.
    ``client_secret`` is set when the order is pending on 3-D Secure in the browser.
    """

    link: CheckoutLink
    product: ProductView
    variants: tuple[ProductView, ...]
    quantity: int
    values: Mapping[str, str]
    items: tuple[Item, ...] = ()
    order: OrderSummary | None = None
    problem: Problem | None = None
    code: str | None = None
    alert: str | None = None
    errors: Mapping[str, str] = field(default_factory=dict)
    client_secret: str | None = field(default=None, repr=False)


def pay(
    factory: sessionmaker[Session],
    provider: PaymentProvider,
    form: PaymentForm,
    *,
    hold_for: timedelta,
    holds: HoldPolicy | None = None,
) -> Outcome:
    """Run one payment attempt (the steps in this module's docstring); ``hold_for`` is how
    long the stock stays reserved for a payment still under way, ``holds`` what limits it.

    Raises ``ProductUnavailable``, ``RateLimited`` (over a limit of ``holds``), ``SoldOut``,
    or ``PaymentUnavailable`` (the order, if one was placed, is settled as failed first,
    releasing its stock).
    """
    offer = load_offer(factory, form.link, form.variant)
    link, product = offer.link, offer.product
    if offer.problem is not None:
        raise offer.problem
    if product is None or not product.active:
        raise ProductUnavailable()
    wallet = None
    if form.method == "wallet":
        wallet = provider.wallet_contact(form.details.get("country") or None)
    ships: Ships = Collected() if form.pickup else (offer if offer.items else product)
    values, errors, address = read_details(form.details, ships, wallet, link)
    wrong_quantity = None if offer.items else quantity_problem(link, product, form.quantity)
    if wrong_quantity:
        errors["quantity"] = wrong_quantity
    shown = Outcome(
        link=link,
        product=product,
        variants=offer.variants,
        quantity=link.quantity if offer.items else form.quantity,
        values=values,
        items=offer.items,
    )
    if not ATTEMPT_KEY.match(form.attempt_key):
        alert = "Your checkout form was incomplete. Please try again."
        return replace(shown, problem=Problem.INCOMPLETE_FORM, code="incomplete_form", alert=alert)
    if errors:
        alert = "Please check the highlighted fields."
        return replace(
            shown, problem=Problem.INVALID_FIELDS, code="invalid_fields", alert=alert, errors=errors
        )
    shopper = Shopper(
        email=values["email"],
        name=values["name"],
        line1=address.line1 if address else None,
        line2=(address.line2 or None) if address else None,
        city=address.city if address else None,
        postal_code=address.postal_code if address else None,
        country=address.country if address else None,
        region=(address.region or None) if address else None,
    )
    choice = Choice(
        codes=all_codes(link, form.codes),
        shipping_option=form.shipping_option,
        expected_total=form.shown_total,
        pickup=form.pickup,
        reserve=form.reserve,
        currency=link.currency,
        region=locale_region(),
        shown_currency=form.shown_currency,
    )
    try:
        order, created = place_order(
            factory,
            link=link,
            quantity=form.quantity,
            shopper=shopper,
            attempt_key=form.attempt_key,
            provider=provider.name,
            method=form.method,
            hold_for=hold_for,
            first_touch=form.first_touch,
            limits=_limits(holds, form),
            choice=choice,
        )
    except TotalChanged as changed:  # nothing written, nothing charged: show the new total
        alert = changed.message
        if not form.quoted:
            alert = "Shipping and tax for your address are now included. Check the total and pay."
        return replace(shown, problem=Problem.TOTAL_CHANGED, code=changed.code, alert=alert)
    except (InvalidInput, NotFound) as refused:  # a store that cannot take it: say why
        if form.pickup and refused.code in PICKUP_REFUSALS:
            return replace(
                shown,
                problem=Problem.INVALID_FIELDS,
                code=refused.code,
                alert=refused.message,
                errors={"fulfilment": refused.message},
            )
        if refused.code != NO_SHIPPING_TO_COUNTRY:
            raise
        return replace(
            shown,
            problem=Problem.INVALID_FIELDS,
            code=refused.code,
            alert=refused.message,
            errors={"country": refused.message},
        )
    except NotEnoughStock as short:
        now = load_offer(factory, link, None) if offer.items else None  # what is left now
        return replace(
            shown,
            items=now.items if now else shown.items,
            product=product_view(factory, link.sku) or product,
            problem=Problem.NOT_ENOUGH_STOCK,
            code=short.code,
            alert=short.message,
        )
    if not created:  # a repeated attempt: its order as it stands, nothing charged again
        return _settled(shown, order_summary(order))
    ucp_sessions.order_placed(factory, link, order.public_id)  # via a UCP continue_url?
    if order.status == OrderStatus.RESERVED:  # paid at the store's counter, not here
        return _settled(shown, order_summary(order))

    metadata = {"order_public_id": order.public_id, "order_number": order.number}
    # The parts of the total, in minor units of the order's currency, as the page showed them.
    for key, amount in (
        ("subtotal", order.subtotal_amount),
        ("discount", order.discount_amount),
        ("shipping", order.shipping_amount),
        ("tax", order.tax_amount),
        ("total", order.total_amount),
    ):
        metadata[key] = str(amount)
    for key, value in (
        ("source", link.source),
        ("campaign", link.campaign),
        ("content", link.content),
    ):
        if value:
            metadata[key] = value
    charge = ChargeRequest(
        amount=order.total_amount,
        currency=order.currency,
        idempotency_key=order.attempt_key,
        method=form.method,
        details=form.payment_details,
        metadata=metadata,
        record_reference=functools.partial(record_payment_reference, factory, order.id),
        # Stripe Connect: one seller's destination charge and application fee (issue 17).
        connect=commissions.charge_params(factory, order.id) if _connects(provider) else {},
    )
    try:
        result = provider.charge(charge)
    except PaymentUnavailable:
        down = ChargeResult(
            status="failed", code="provider_unavailable", message=PaymentUnavailable.message
        )
        settle_order(factory, order.id, down)
        raise
    action_hold = holds.action_hold if holds else None
    settled = order_summary(settle_order(factory, order.id, result, action_hold=action_hold))
    secret = None
    if result.status == "requires_action" and settled.status == OrderStatus.PENDING:
        secret = result.client_secret
    return _settled(shown, settled, client_secret=secret)


def _limits(holds: HoldPolicy | None, form: PaymentForm) -> HoldLimits | None:
    if holds is None:
        return None
    return HoldLimits(
        client=_key(rate_limits.client_key(form.client)),
        link=_key(form.token or form.link.sku),
        per_client=holds.per_client,
        per_link=holds.per_link,
        link_rate=holds.link_rate,
    )


def _settled(shown: Outcome, order: OrderSummary, *, client_secret: str | None = None) -> Outcome:
    if order.status == OrderStatus.FAILED:
        return replace(
            shown,
            order=order,
            problem=Problem.PAYMENT_FAILED,
            code=order.failure_code or "payment_failed",
            alert=order.failure_message or "Your payment failed.",
        )
    return replace(shown, order=order, client_secret=client_secret)


def limit_payment_attempts(
    factory: sessionmaker[Session],
    *,
    client: str,
    subject: str,
    per_client: Limit | None,
    per_subject: Limit | None,
) -> None:
    """Count a payment try against its client address and its subject (the link's token, or
    the order's public id), shared by every worker through the database. Raises
    ``RateLimited`` when either is over its limit (None: no limit)."""
    subject_key = hashlib.sha256(subject.encode()).hexdigest()[:32]
    limits = [
        (f"pay-ip:{rate_limits.client_key(client)}", per_client),
        (f"pay-link:{subject_key}", per_subject),
    ]
    rules = [rate_limits.Rule(k, limit[0], limit[1]) for k, limit in limits if limit is not None]
    verdict = rate_limits.take(factory, rules)  # a refused try writes nothing
    if not verdict.allowed:
        raise RateLimited(verdict.retry_after)


def _connects(provider: PaymentProvider) -> bool:
    """Whether the provider pays sellers through Stripe Connect (only Stripe, when set)."""
    return bool(getattr(provider, "connect", False))
