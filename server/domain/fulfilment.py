"""Fulfilling paid orders: shipped, or handed over, with how the parcel travels.

Announced with ``order.fulfilled``: once when the order is fulfilled, and again only when its
tracking changes afterwards (a corrected or new tracking number). The same call with the same
values changes nothing and announces nothing.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.db import write_session
from buybutton_server.db.models import Order, utcnow
from buybutton_server.domain import commission_ledger, mail, outbox
from buybutton_server.domain.order_rows import changed_rows, load_order
from buybutton_server.domain.shipments import Tracking, ship_the_rest
from buybutton_server.domain.vocabulary import OrderStatus
from buybutton_server.errors import FulfillRefused, InvalidInput, NotFound

CARRIER_MAX = 64
TRACKING_NUMBER_MAX = 128
TRACKING_URL_MAX = 500

# Known carriers: the name shown and stored, and their public tracking page for a number.
CARRIERS: dict[str, tuple[str, str]] = {
    "dhl": ("DHL", "https://www.dhl.com/global-en/home/tracking.html?tracking-id={}"),
    "ups": ("UPS", "https://www.ups.com/track?tracknum={}"),
    "usps": ("USPS", "https://tools.usps.com/go/TrackConfirmAction?tLabels={}"),
    "fedex": ("FedEx", "https://www.fedex.com/fedextrack/?trknbr={}"),
    "royal-mail": ("Royal Mail", "https://www.royalmail.com/track-your-item#/tracking-results/{}"),
    "colissimo": (
        "La Poste/Colissimo",
        "https://www.laposte.fr/outils/suivre-vos-envois?code={}",
    ),
    "postnl": ("PostNL", "https://jouw.postnl.nl/track-and-trace/{}"),
}
# What people type for them (lower case, letters and digits only).
_ALIASES = {
    "dhl": "dhl",
    "dhlexpress": "dhl",
    "ups": "ups",
    "usps": "usps",
    "fedex": "fedex",
    "royalmail": "royal-mail",
    "laposte": "colissimo",
    "colissimo": "colissimo",
    "lapostecolissimo": "colissimo",
    "postnl": "postnl",
}
_NUMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ./_-]*")


def known_carrier(name: str) -> str | None:
    """The key in :data:`CARRIERS` of a carrier's name as typed (``"Royal Mail"``), or None."""
    folded = re.sub(r"[^a-z0-9]", "", name.lower())
    return _ALIASES.get(folded) or (name if name in CARRIERS else None)


def _text(value: str | None, what: str, limit: int) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    if len(value) > limit:
        raise InvalidInput(f"The {what} is longer than {limit} characters.")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise InvalidInput(f"The {what} must be one line of text.")
    return value


def _https_url(value: str | None) -> str | None:
    url = _text(value, "tracking link", TRACKING_URL_MAX)
    if url is None:
        return None
    parts = urlsplit(url)
    if (
        parts.scheme.lower() != "https"
        or not parts.hostname
        or parts.username is not None
        or any(c.isspace() for c in url)
    ):
        raise InvalidInput(
            "The tracking link must be an https:// address, e.g. https://carrier.example/track/123."
        )
    return url


def tracking(
    carrier: str | None = None, number: str | None = None, url: str | None = None
) -> Tracking:
    """Checked tracking details: trimmed, within their lengths, an https link only. A known
    carrier is stored under its usual name and, given a number but no link, gets its
    tracking page's link. Raises :class:`InvalidInput` naming the part at fault."""
    name = _text(carrier, "carrier", CARRIER_MAX)
    code = _text(number, "tracking number", TRACKING_NUMBER_MAX)
    if code is not None and not _NUMBER.fullmatch(code):
        raise InvalidInput(
            "The tracking number may hold letters, digits, spaces, dots, dashes and slashes."
        )
    link = _https_url(url)
    key = known_carrier(name) if name else None
    if key is not None:
        name, page = CARRIERS[key]
        if link is None and code is not None:
            link = page.format(quote(code.replace(" ", ""), safe=""))
    return Tracking(carrier=name, number=code, url=link)


def fulfill_order(
    factory: sessionmaker[Session], number: str, given: Tracking | None = None
) -> Order:
    """Mark a paid order as shipped or handed over, with ``given`` tracking if any.

    Idempotent: a second call with no tracking, or the same tracking, changes nothing and
    sends no second ``order.fulfilled``. A fulfilled order given other tracking keeps its
    fulfilment time, takes the new tracking (all three parts, replacing the old) and is
    announced again.

    Raises :class:`NotFound` for an unknown number and :class:`FulfillRefused` for an order
    that is not paid.
    """
    given = given or Tracking()
    with write_session(factory) as session:
        order = session.scalar(select(Order).where(Order.number == number))
        if order is None:
            raise NotFound(f"No order {number!r}.")
        values = {
            "carrier": given.carrier,
            "tracking_number": given.number,
            "tracking_url": given.url,
        }
        paid = (Order.id == order.id, Order.status == OrderStatus.PAID)
        if order.fulfilled_at is None:
            if order.status != OrderStatus.PAID:
                raise FulfillRefused(f"order {number} is {order.status}, not paid")
            statement = (
                update(Order)
                .where(*paid, Order.fulfilled_at.is_(None))
                .values(fulfilled_at=utcnow(), **(values if given.given else {}))
            )
        else:
            current = (order.carrier, order.tracking_number, order.tracking_url)
            if not given.given or current == (given.carrier, given.number, given.url):
                return load_order(session, order.id)
            if order.status != OrderStatus.PAID:
                raise FulfillRefused(
                    f"order {number} is {order.status}: its tracking can no longer change"
                )
            statement = (
                update(Order)
                .where(
                    *paid,
                    Order.fulfilled_at.is_not(None),
                    or_(
                        Order.carrier.is_distinct_from(given.carrier),
                        Order.tracking_number.is_distinct_from(given.number),
                        Order.tracking_url.is_distinct_from(given.url),
                    ),
                )
                .values(**values)
            )
        if changed_rows(session, statement):
            ship_the_rest(session, order.id, given)
            outbox.record_order_event(session, "order.fulfilled", order.id)
            commission_ledger.on_fulfilled(session, order.id)  # sellers' transfers due
            fresh = load_order(session, order.id)
            # The shopper's shipped email, in this transaction (once per tracking number).
            mail.queue_shipped(
                session, fresh, fresh.carrier, fresh.tracking_number, fresh.tracking_url
            )
            return fresh
        return load_order(session, order.id)
