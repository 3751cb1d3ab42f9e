"""The admin's orders pages: a search, an order's whole story, and the actions on it.

Reads give plain frozen values (money already formatted, times in UTC) so templates never
touch the database. Refunds go through :func:`buybutton_server.services.orders.refund`, the
API's path, with a token made for each rendered form: a form posted twice refunds once.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from buybutton.money import decimal_string, format_amount, parse_amount
from buybutton_server.db import read_session
from buybutton_server.domain import order_search
from buybutton_server.domain.address_rules import country_name
from buybutton_server.domain.catalog import AMOUNT_MAX
from buybutton_server.domain.fulfilment import CARRIERS, fulfill_order, known_carrier, tracking
from buybutton_server.domain.order_views import order_view
from buybutton_server.domain.vocabulary import ORDER_STATUSES, OrderStatus
from buybutton_server.errors import InvalidInput
from buybutton_server.payments import PaymentProvider
from buybutton_server.services import orders
from buybutton_server.services.orders import RefundInput

Sessions = sessionmaker[Session]
PAGE_SIZE = 50
SEARCH_MAX = 254
OTHER_CARRIER = "other"
# (value stored on the refund, label). Never ``out_of_stock``: that one the shop sets itself.
REFUND_REASONS: tuple[tuple[str, str], ...] = (
    ("requested_by_customer", "The customer asked"),
    ("returned", "Goods returned"),
    ("damaged", "Damaged or lost in transit"),
    ("duplicate", "Duplicate order"),
    ("fraudulent", "Fraudulent order"),
    ("requested_by_merchant", "Other"),
)
_REASON_LABELS = {**dict(REFUND_REASONS), "out_of_stock": "Sold out when paid"}
CARRIER_CHOICES: tuple[tuple[str, str], ...] = (
    *((key, name) for key, (name, _) in CARRIERS.items()),
    (OTHER_CARRIER, "Other"),
)


def when(moment: datetime | None) -> str:
    """``2026-11-26 10:14 UTC``; SQLite hands back UTC times without their zone."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


# -- the list -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrderSearch:
    """What the search form asked for; empty strings leave a criterion out."""

    number: str = ""
    email: str = ""
    status: str = ""
    source: str = ""
    before: int = 0

    def query(self, **changes: str | int) -> dict[str, str]:
        """The search as query parameters (for the next page's link), empty ones left out."""
        values: dict[str, str | int] = {
            "number": self.number,
            "email": self.email,
            "status": self.status,
            "source": self.source,
            **changes,
        }
        return {name: str(value) for name, value in values.items() if value}


def read_search(params: Mapping[str, str]) -> OrderSearch:
    """The search from a query string; :class:`InvalidInput` names a field that is wrong."""
    texts = {}
    for name, label in (("number", "Order number"), ("email", "Email"), ("source", "Source")):
        value = params.get(name, "").strip()
        if len(value) > SEARCH_MAX:
            raise InvalidInput(f"{label} is longer than {SEARCH_MAX} characters.")
        if "\x00" in value:
            raise InvalidInput(f"{label} must not contain NUL characters.")
        texts[name] = value
    status = params.get("status", "").strip()
    if status and status not in ORDER_STATUSES:
        raise InvalidInput(f"Status must be one of {', '.join(ORDER_STATUSES)}.")
    before = params.get("before", "").strip()
    if before and not (before.isdigit() and len(before) <= 18):
        raise InvalidInput("That page link is broken: start from the newest orders.")
    return OrderSearch(**texts, status=status, before=int(before or 0))


@dataclass(frozen=True, slots=True)
class OrderRow:
    number: str
    created: str
    email: str
    status: str
    total: str
    source: str | None


@dataclass(frozen=True, slots=True)
class OrderPage:
    rows: tuple[OrderRow, ...]
    older: int | None  # ``before`` for the next (older) page, if there is one


def search(sessions: Sessions, wanted: OrderSearch) -> OrderPage:
    """A page of :data:`PAGE_SIZE` orders, newest first, matching ``wanted``."""
    where = order_search.OrderFilter(
        number=wanted.number or None,
        email=wanted.email or None,
        status=wanted.status or None,
        source=wanted.source or None,
    )
    with read_session(sessions) as session:
        found = order_search.orders_before(session, wanted.before, PAGE_SIZE + 1, where)
        rows = tuple(
            OrderRow(
                number=o.number,
                created=when(o.created_at),
                email=o.email,
                status=o.status,
                total=format_amount(o.total_amount, o.currency),
                source=o.source,
            )
            for o in found[:PAGE_SIZE]
        )
        older = found[PAGE_SIZE - 1].id if len(found) > PAGE_SIZE else None
    return OrderPage(rows=rows, older=older)


# -- one order ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LineRow:
    sku: str
    title: str
    quantity: int
    unit: str
    total: str
    subtotal: str = ""
    discount: str = ""  # "" when the line had none
    tax: str = ""  # "" when the line paid none
    tax_rate: str = ""  # "19%"


@dataclass(frozen=True, slots=True)
class RefundRow:
    created: str
    amount: str
    reason: str
    reference: str | None


@dataclass(frozen=True, slots=True)
class OrderDetail:
    number: str
    status: str
    currency: str
    created: str
    paid: str
    fulfilled: str
    name: str
    email: str
    address: tuple[str, ...]
    lines: tuple[LineRow, ...]
    total: str
    refunded: str
    # The total's parts as priced when the order was placed; "" for a part that is 0
    # (shipping: "Free" when the order ships).
    subtotal: str
    discount: str
    discount_codes: str
    shipping: str
    shipping_title: str | None
    tax: str
    tax_label: str
    tax_included: bool
    refundable: str  # in major units, for the refund form ("" when nothing is left)
    refunds: tuple[RefundRow, ...]
    payment_provider: str
    payment_method: str | None
    payment_reference: str | None
    payment_status: str | None
    source: str | None
    campaign: str | None
    content: str | None
    first_source: str | None
    first_campaign: str | None
    first_content: str | None
    first_touch: str
    carrier: str | None
    carrier_choice: str  # the carrier as the fulfil form's select knows it
    tracking_number: str | None
    tracking_url: str | None
    attention: str | None
    can_refund: bool
    can_fulfil: bool
    can_resend: bool


def order_detail(sessions: Sessions, number: str) -> OrderDetail:
    """Everything about one order; :class:`NotFound` for an unknown number."""
    with read_session(sessions) as session:
        o = order_search.order_by_number(session, number, refunds=True)
        currency = o.currency
        left = o.total_amount - o.refunded_amount
        paid = o.status == OrderStatus.PAID
        country = country_name(o.ship_country) if o.ship_country else None
        address = (
            o.ship_line1,
            o.ship_line2,
            " ".join(part for part in (o.ship_postal_code, o.ship_city) if part),
            o.ship_region,
            country,
        )
        view = order_view(o)
        ships = bool(o.ship_line1 or o.shipping_option)
        carrier_key = known_carrier(o.carrier) if o.carrier else None
        return OrderDetail(
            number=o.number,
            status=o.status,
            currency=currency,
            created=when(o.created_at),
            paid=when(o.paid_at),
            fulfilled=when(o.fulfilled_at),
            name=o.name,
            email=o.email,
            address=tuple(part for part in address if part),
            lines=tuple(
                LineRow(
                    sku=line.sku,
                    title=line.title,
                    quantity=line.quantity,
                    unit=format_amount(line.unit_amount, currency),
                    total=format_amount(line.total_amount, currency),
                    subtotal=format_amount(line.unit_amount * line.quantity, currency),
                    discount=_shown(line.discount_amount, currency),
                    tax=_shown(line.tax_amount, currency),
                    tax_rate=f"{line.tax_rate_bp / 100:g}%" if line.tax_amount else "",
                )
                for line in o.lines
            ),
            total=format_amount(o.total_amount, currency),
            refunded=format_amount(o.refunded_amount, currency),
            subtotal=format_amount(o.subtotal_amount, currency),
            discount=_shown(o.discount_amount, currency),
            discount_codes=" ".join((o.discount_codes or "").split()),
            shipping=(_shown(o.shipping_amount, currency) or "Free") if ships else "",
            shipping_title=o.shipping_title,
            tax=_shown(o.tax_amount, currency),
            tax_label=view.tax_label,
            tax_included=o.tax_included,
            refundable=decimal_string(left, currency) if paid and left > 0 else "",
            refunds=tuple(
                RefundRow(
                    created=when(r.created_at),
                    amount=format_amount(r.amount, currency),
                    reason=_REASON_LABELS.get(r.reason, r.reason),
                    reference=r.reference,
                )
                for r in o.refunds
            ),
            payment_provider=o.payment_provider,
            payment_method=o.payment_method,
            payment_reference=o.payment_reference,
            payment_status=o.payment_status,
            source=o.source,
            campaign=o.campaign,
            content=o.content,
            first_source=o.first_source,
            first_campaign=o.first_campaign,
            first_content=o.first_content,
            first_touch=when(o.first_touch_at),
            carrier=o.carrier,
            carrier_choice=carrier_key or (OTHER_CARRIER if o.carrier else ""),
            tracking_number=o.tracking_number,
            tracking_url=o.tracking_url,
            attention=o.attention,
            can_refund=paid and left > 0 and bool(o.payment_reference),
            can_fulfil=paid,
            can_resend=o.paid_at is not None,
        )


def _shown(amount: int, currency: str) -> str:
    return format_amount(amount, currency) if amount else ""


def new_form_token() -> str:
    """A fresh token for one rendered refund form."""
    return secrets.token_urlsafe(24)


# -- actions --------------------------------------------------------------------------------


def refund_from_form(
    sessions: Sessions,
    payments: PaymentProvider,
    number: str,
    *,
    amount: str,
    reason: str,
    restock: bool,
    once: str,
) -> None:
    """Refund ``amount`` (major units, e.g. ``5.00``) of a paid order, once per ``once``.

    Raises :class:`InvalidInput` for an amount or reason that cannot be, RefundRefused when
    the order cannot be refunded that much, PaymentUnavailable when the provider failed;
    nothing is refunded then."""
    if reason not in dict(REFUND_REASONS):
        raise InvalidInput("Choose a reason for the refund.")
    with read_session(sessions) as session:
        order = order_search.order_by_number(session, number)
        currency, left = order.currency, order.total_amount - order.refunded_amount
    text = amount.strip()
    if not text:
        raise InvalidInput("Enter the amount to refund, e.g. 5.00.")
    try:
        minor = parse_amount(text, currency)
    except ValueError as error:
        raise InvalidInput(
            f"Amount: {error}; give it in {currency}, e.g. {decimal_string(500, currency)}."
        ) from None
    # Over what is left is the domain's to refuse: after a refund under this very form (a
    # double submit) the amount is over what is left, and the answer is "done", not an error.
    if minor < 1 or minor > AMOUNT_MAX:
        raise InvalidInput(
            f"Refund between {format_amount(1, currency)} and {format_amount(left, currency)}."
        )
    orders.refund(
        sessions,
        payments,
        number,
        RefundInput(amount=minor, restock=restock),
        reason=reason,
        once=once,
    )


def fulfil_from_form(
    sessions: Sessions,
    number: str,
    *,
    carrier: str,
    other_carrier: str,
    tracking_number: str,
    tracking_url: str,
) -> None:
    """Fulfil a paid order (or change its tracking) from the admin's form: ``carrier`` is a
    key of :data:`CARRIER_CHOICES` or empty. :class:`InvalidInput` names what is wrong."""
    if carrier == OTHER_CARRIER:
        name = other_carrier.strip()
        if not name:
            raise InvalidInput("Name the carrier, or choose one from the list.")
    elif carrier in CARRIERS:
        name = CARRIERS[carrier][0]
    elif carrier:
        raise InvalidInput("Choose a carrier from the list, or Other.")
    else:
        name = ""
    fulfill_order(sessions, number, tracking(name, tracking_number, tracking_url))
