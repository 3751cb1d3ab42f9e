"""The shop's emails, each queued in the transaction of the event it tells of.

========================  =========================================  ===========================
email                     queued by                                  dedupe key
========================  =========================================  ===========================
receipt                   settlement, as the order becomes paid      ``receipt:<number>:1``
receipt (resent)          the admin's "resend receipt"               ``receipt:<number>:<n>``
refund                    refunds, as a refund is recorded           ``refund:<refund key>``
shipped                   fulfilment (:func:`queue_shipped`)         ``shipped:<number>:<hash>``
payment_failed            settlement, as a 3-D Secure payment fails  ``payment_failed:<number>``
order_link                ``/orders/find`` (services.order_links)    ``order_link:<number>:<n>``
password_reset            the admin's password reset                 ``password_reset:<hash>``
========================  =========================================  ===========================

Every email about an order (the counter's too, :mod:`.counter_emails`) is queued by
:func:`queue_order_email` and carries ``public_id``; the bodies link to the order through a
signed order link made when the message is sent (see :mod:`.messages`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from buybutton_server.db.models import Location, MailMessage, Order, ShopProfile, utcnow
from buybutton_server.domain import locales, pickup
from buybutton_server.domain.locale_words import N_
from buybutton_server.domain.locales import ENGLISH, Lang
from buybutton_server.domain.mail import messages
from buybutton_server.domain.mail.outbox import enqueue
from buybutton_server.domain.order_rows import load_order
from buybutton_server.domain.outbox.events import OrderRow
from buybutton_server.domain.shop_profile import ShopIdentity, identity, shop_name

PAYMENT_METHODS = {"card": N_("Card"), "wallet": N_("Wallet (Apple Pay or Google Pay)")}
_DEFAULT_LOCALE = select(ShopProfile.default_locale).where(ShopProfile.id == 1)


def order_lang(session: Session, order: Order | OrderRow) -> Lang:
    """The language of an order's emails: the one it was placed in (``orders.locale``),
    else the shop's default, else English (docs/languages.md)."""
    found = locales.parse_tag(getattr(order, "locale", None))
    if found is not None:
        return found
    return locales.for_order(None, session.connection().execute(_DEFAULT_LOCALE).scalar())


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


def address_lines(order: Order | OrderRow, lang: Lang = ENGLISH) -> list[str]:
    """The shipping address as lines, with its region and the country's name in ``lang``
    (empty for an order that ships nothing)."""
    if not order.ship_line1:
        return []
    city = " ".join(filter(None, [order.ship_postal_code, order.ship_city]))
    region = getattr(order, "ship_region", None)
    if region:
        city = f"{city}, {region}" if city else region
    country = order.ship_country or ""
    if len(country) == 2:
        country = locales.territory_name(country, lang)
    parts = [order.name, order.ship_line1, order.ship_line2, city, country]
    return [part for part in parts if part]


def _tax_label(order: Order | OrderRow, lang: Lang = ENGLISH) -> str:
    """``Tax`` or ``Tax (23%)``: the rate when all taxed lines share one (in ``lang``)."""
    rates = {line.tax_rate_bp for line in order.lines if line.tax_amount}
    if len(rates) == 1:
        (basis_points,) = rates
        rate = locales.format_percent(basis_points, lang)
        return locales.gettext(N_("Tax (%(rate)s)"), lang) % {"rate": rate}
    return locales.gettext(N_("Tax"), lang)


def totals_data(order: Order | OrderRow, lang: Lang = ENGLISH) -> dict[str, Any]:
    """The parts of an order's total as its receipt shows them."""
    codes = (order.discount_codes or "").split()
    return {
        "subtotal": order.subtotal_amount,
        "discount": order.discount_amount,
        "discount_codes": codes,
        "shipping": order.shipping_amount,
        "shipping_title": order.shipping_title,
        "ships": bool(order.ship_line1 or order.shipping_option),
        "tax": order.tax_amount,
        "tax_included": bool(order.tax_included),
        "tax_label": _tax_label(order, lang),
    }


def payment_summary(order: Order | OrderRow, lang: Lang = ENGLISH) -> str:
    method = locales.gettext(PAYMENT_METHODS.get(order.payment_method or "", "Card"), lang)
    if order.payment_provider == "test":
        test = N_("%(method)s (a test payment: no money moved)")
        return locales.gettext(test, lang) % {"method": method}
    return method


def order_data(order: Order | OrderRow, lang: Lang) -> dict[str, Any]:
    """What every email about an order says first: its language, number, public id (the
    signed order link is made from it when sent) and the shopper's name."""
    return {
        "locale": lang.tag,
        "number": order.number,
        "public_id": order.public_id,
        "name": order.name,
    }


def queue_order_email(
    session: Session,
    order: Order | OrderRow,
    kind: str,
    *,
    key: str,
    extra: Callable[[Lang], dict[str, Any]],
    shop: ShopIdentity | None = None,
) -> bool:
    """Queue the ``kind`` email about ``order`` (the template ``mail/<kind>.*``) to the
    address it was placed with, in its language: the subject names the order, the data is
    :func:`order_data` and then ``extra(lang)``; deduplicated by ``<kind>:<key>``. ``shop``:
    the identity the caller has already read (else read here). False if queued already."""
    lang = order_lang(session, order)
    return enqueue(
        session,
        kind=kind,
        dedupe_key=f"{kind}:{key}",
        to=order.email,
        subject=messages.subject(kind, shop or identity(session), lang, number=order.number),
        data={**order_data(order, lang), **extra(lang)},
        order_id=order.id,
    )


def pickup_data(session: Session, order: Order | OrderRow, lang: Lang) -> dict[str, Any] | None:
    """Where and when a pickup or reservation is collected, in ``lang``, as the order page
    says it (:func:`.pickup.order_pickup`); None for a delivery."""
    if getattr(order, "pickup_location_id", None) is None:
        return None
    shown = pickup.order_pickup(session, order, utcnow())
    if shown is None:
        return None
    store = session.get(Location, order.pickup_location_id)
    country = store.country if store is not None else None
    address = list(shown.address)
    if country and address:  # the country's name in the email's language
        address[-1] = locales.territory_name(country, lang)
    return {
        "reserve": shown.reserve,
        "name": shown.name,
        "address": address,
        "ready": locales.localize(shown.ready_text, lang) if shown.ready_text else "",
        "held_until": locales.localize(shown.held_until, lang) if shown.held_until else "",
        "instructions": shown.instructions,
    }


def receipt_data(
    order: Order | OrderRow, lang: Lang = ENGLISH, *, pickup_at: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        **order_data(order, lang),
        "currency": order.currency,
        "total": order.total_amount,
        "lines": [
            {
                "title": line.title,
                "sku": line.sku,
                "quantity": line.quantity,
                "unit": line.unit_amount,
                "total": line.total_amount,
                "discount": line.discount_amount,
            }
            for line in order.lines
        ],
        "address": address_lines(order, lang),
        "payment": payment_summary(order, lang),
        **totals_data(order, lang),
        "pickup": pickup_at,
    }


def _queue_receipt(session: Session, order: Order | OrderRow, copy: int) -> bool:
    return queue_order_email(
        session,
        order,
        "receipt",
        key=f"{order.number}:{copy}",
        extra=lambda lang: receipt_data(order, lang, pickup_at=pickup_data(session, order, lang)),
        shop=ShopIdentity(name=shop_name(session)),
    )


def queue_receipt(session: Session, order: Order | OrderRow | int) -> None:
    """The receipt of an order that has just become paid (once per order). Pass the order
    the caller has already read (settlement has its row and lines) to save reading it
    again: on the paid-order path that second read was 4 of every 10 ms."""
    _queue_receipt(session, load_order(session, order) if isinstance(order, int) else order, 1)


def resend_receipt(session: Session, order: Order) -> None:
    """Another copy of a paid order's receipt, under a new dedupe key."""
    copies = session.scalar(
        select(func.count())
        .select_from(MailMessage)
        .where(MailMessage.order_id == order.id, MailMessage.kind == "receipt")
    )
    _queue_receipt(session, order, int(copies or 0) + 1)


def queue_refund(session: Session, order: Order, amount: int, refund_key: str) -> None:
    """A refund of ``amount`` (minor units) just recorded under ``refund_key``; ``order``
    as it was before this refund."""
    refunded = order.refunded_amount + amount
    queue_order_email(
        session,
        order,
        "refund",
        key=refund_key,
        extra=lambda lang: {
            "currency": order.currency,
            "amount": amount,
            "refunded": refunded,
            "total": order.total_amount,
            "full": refunded >= order.total_amount,
        },
    )


def queue_shipped(
    session: Session,
    order: Order,
    carrier: str | None,
    tracking_number: str | None,
    tracking_url: str | None,
) -> None:
    """The shipped email of an order just fulfilled; once per (order, carrier, tracking
    number). A tracking link that is not http(s) is left out."""
    link = (
        tracking_url
        if tracking_url and urlsplit(tracking_url).scheme in ("http", "https")
        else None
    )
    queue_order_email(
        session,
        order,
        "shipped",
        key=f"{order.number}:{_digest(carrier or '', tracking_number or '')}",
        extra=lambda lang: {
            "carrier": carrier or None,
            "tracking_number": tracking_number or None,
            "tracking_url": link,
            "address": address_lines(order, lang),
        },
    )


# A failed payment gets its email when the shopper had been sent to confirm it (3-D Secure,
# a wallet's confirmation): the payment status the order had before it was given up.
ACTION_STATUS = "requires_action"


def wants_payment_failed(previous_status: str | None, status: str, reason: str) -> bool:
    """The rule for the "payment failed" email: the order was waiting on the shopper's
    confirmation (``requires_action``), and then its payment failed, or the shopper's browser
    reported it could not finish (canceled, reason ``abandoned``). A hold that ran out
    (``expired``) or a payment canceled at the provider sends nothing."""
    if previous_status != ACTION_STATUS:
        return False
    return status == "failed" or (status == "canceled" and reason == "abandoned")


def queue_payment_failed(session: Session, order: Order | OrderRow | int) -> bool:
    """The "your payment did not go through" email with a way back (a fresh checkout link
    for the same items, made when sent); once per order. False if queued already."""
    found = load_order(session, order) if isinstance(order, int) else order
    return queue_order_email(
        session,
        found,
        "payment_failed",
        key=found.number,
        extra=lambda lang: {
            "currency": found.currency,
            "total": found.total_amount,
            "lines": [
                {"title": line.title, "quantity": line.quantity, "total": line.total_amount}
                for line in found.lines
            ],
            "items": [[line.sku, line.quantity] for line in found.lines],
            "codes": (found.discount_codes or "").split(),
            "reason": locales.localize(found.failure_message, lang)
            if found.failure_message
            else found.failure_message,
        },
        shop=ShopIdentity(name=shop_name(session)),
    )


def queue_order_link(session: Session, order: Order, *, window: int) -> bool:
    """The link to an order's page, asked for on ``/orders/find``; at most one per order
    per ``window`` (a number naming a stretch of time, part of the dedupe key). Sent to the
    email the order was placed with."""
    return queue_order_email(
        session,
        order,
        "order_link",
        key=f"{order.number}:{window}",
        extra=lambda lang: {"status": order.status},
    )


def queue_password_reset(
    session: Session,
    to: str,
    reset_url: str,
    *,
    expires_minutes: int = 60,
    invitation: bool = False,
) -> None:
    """A password-reset link for an admin login (once per link); an ``invitation`` says the
    login is new and the link sets its first password."""
    kind = "invitation" if invitation else "password_reset"
    enqueue(
        session,
        kind=kind,
        dedupe_key=f"{kind}:{_digest(reset_url)}",
        to=to,
        subject=messages.subject(kind, identity(session)),
        data={"reset_url": reset_url, "expires_minutes": expires_minutes},
    )
