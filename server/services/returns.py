"""Returns for the shopper's page, the admin's pages, the API and the command line.

Each action is one transaction (``write_session``) around the rules in
:mod:`buybutton_server.domain.returns`; the refund is the exception: the provider is called
between two of them, through :func:`buybutton_server.domain.refunds.refund_order` under a key
unique to the return (``{order public id}-return-{id}``), so however often the refund is
asked for, the provider refunds once, and ``order.refunded`` and the refund email go out as
for any refund.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from pydantic import Field
from sqlalchemy.orm import Session, sessionmaker

from buybutton.money import decimal_string, format_amount, parse_amount
from buybutton_server.db import read_session, write_session
from buybutton_server.db.models import Order, Return, utcnow
from buybutton_server.domain import order_search
from buybutton_server.domain import returns as rules
from buybutton_server.domain.catalog import AMOUNT_MAX
from buybutton_server.domain.order_rows import order_by_public_id
from buybutton_server.domain.refunds import refund_order
from buybutton_server.domain.returns import REASONS, RETURN_STATUSES, ReturnStatus
from buybutton_server.errors import InvalidInput, NotFound
from buybutton_server.payments import PaymentProvider
from buybutton_server.services.api_types import Answer, Input, ListQuery, Money, Timestamp, page
from buybutton_server.services.order_admin import when

Sessions = sessionmaker[Session]
PAGE_SIZE = 50
_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")

__all__ = ["REASONS", "RETURN_STATUSES", "ReturnStatus"]


# -- the API's shapes ---------------------------------------------------------------------------


class ReturnLineOut(Answer):
    sku: str
    title: str
    quantity: int


class ReturnOut(Answer):
    id: int
    order_number: str
    status: ReturnStatus
    reason: str
    note: str | None
    lines: list[ReturnLineOut]
    refund: Money | None
    restocked: bool
    location: str | None  # the store's code, for a return taken at its counter
    decision_note: str | None
    created_at: Timestamp | None
    approved_at: Timestamp | None
    received_at: Timestamp | None
    refunded_at: Timestamp | None
    rejected_at: Timestamp | None

    @classmethod
    def of(cls, ret: Return, order: Order) -> ReturnOut:
        return cls.model_validate(rules.return_json(ret, order))


class ReturnList(Answer):
    data: list[ReturnOut]
    next_cursor: str | None


class ReturnQuery(ListQuery):
    status: ReturnStatus | None = None


class ReturnItem(Input):
    sku: Annotated[str, Field(min_length=1, max_length=64)]
    quantity: Annotated[int, Field(ge=1, le=10**6)]


class ReturnCreate(Input):
    lines: Annotated[list[ReturnItem], Field(min_length=1, max_length=100)]
    reason: Annotated[str, Field(description=", ".join(value for value, _ in REASONS))]
    note: Annotated[str, Field(max_length=rules.NOTE_MAX)] | None = None
    key: (
        Annotated[
            str,
            Field(pattern=_KEY.pattern, description="makes a repeat of this request a no-op"),
        ]
        | None
    ) = None


class ReturnRefund(Input):
    amount: (
        Annotated[
            int,
            Field(ge=0, le=AMOUNT_MAX, description="minor units; default: the lines' share"),
        ]
        | None
    ) = None
    restock: Annotated[bool, Field(description="put the units back; default true")] | None = None


class ReturnReject(Input):
    note: Annotated[str, Field(max_length=rules.NOTE_MAX)] | None = None


def _out(ret: Return) -> ReturnOut:
    return ReturnOut.of(ret, ret.order)


def _loaded(session: Session, return_id: int) -> ReturnOut:
    return _out(rules.load_return(session, return_id))


def parse_id(text: str) -> int:
    """A return's id from a path; :class:`NotFound` when it cannot be one."""
    if not (text.isascii() and text.isdecimal() and len(text) <= 9 and int(text) > 0):
        raise NotFound(f"There is no return {text[:32]!r}.")
    return int(text)


# -- reads -----------------------------------------------------------------------------------


def list_returns(sessions: Sessions, query: ReturnQuery) -> ReturnList:
    with read_session(sessions) as session:
        found = rules.returns_before(session, query.cursor, query.limit + 1, query.status)
        shown, cursor = page(found, query.limit, lambda r: r.id)
        return ReturnList(data=[_out(r) for r in shown], next_cursor=cursor)


def order_returns(sessions: Sessions, number: str) -> ReturnList:
    with read_session(sessions) as session:
        order = order_search.order_by_number(session, number)
        found = rules.returns_of(session, order.id)
        return ReturnList(data=[ReturnOut.of(r, order) for r in found], next_cursor=None)


def get_return(sessions: Sessions, return_id: int) -> ReturnOut:
    with read_session(sessions) as session:
        return _loaded(session, return_id)


# -- actions ---------------------------------------------------------------------------------


def create_for_order(
    sessions: Sessions, number: str, body: ReturnCreate, window_days: int
) -> ReturnOut:
    """A return asked for on the shopper's behalf (by sku); the same rules as the page."""
    with write_session(sessions) as session:
        order = order_search.order_by_number(session, number)
        wanted: dict[int, int] = {}
        for item in body.lines:
            line = next((line for line in order.lines if line.sku == item.sku), None)
            if line is None:
                raise NotFound(f"Order {order.number} has no line with sku {item.sku!r}.")
            wanted[line.id] = wanted.get(line.id, 0) + item.quantity
        ret = rules.request_return(
            session,
            order.id,
            wanted,
            reason=body.reason,
            note=body.note,
            key=body.key or secrets.token_urlsafe(24),
            now=utcnow(),
            window_days=window_days,
        )
        return _loaded(session, ret.id)


def approve(sessions: Sessions, return_id: int) -> ReturnOut:
    with write_session(sessions) as session:
        return _out(rules.approve(session, return_id, utcnow()))


def receive(sessions: Sessions, return_id: int) -> ReturnOut:
    with write_session(sessions) as session:
        return _out(rules.receive(session, return_id, utcnow()))


def reject(sessions: Sessions, return_id: int, note: str | None = None) -> ReturnOut:
    with write_session(sessions) as session:
        return _out(rules.reject(session, return_id, note, utcnow()))


def refund(
    sessions: Sessions,
    payments: PaymentProvider,
    return_id: int,
    *,
    amount: int | None = None,
    restock: bool = True,
) -> ReturnOut:
    """Refund a received return: ``amount`` (minor units) or the lines' share by default,
    then mark it refunded (restocking its units unless ``restock`` is False). Of two clerks
    at once the provider refunds once (one key) and the second is told it is refunded."""
    with read_session(sessions) as session:
        ret = rules.load_return(session, return_id)
        rules.can_refund(ret)
        order = ret.order
        wanted = rules.suggested_refund(session, ret) if amount is None else amount
        left = order.total_amount - order.refunded_amount
        key = rules.refund_key(order.public_id, ret.id)
    if wanted > left:
        raise InvalidInput(
            f"Refund at most {format_amount(left, order.currency)}: that is what is left "
            f"of order {order.number}."
        )
    if wanted > 0:
        refund_order(
            sessions, payments, order.id, amount=wanted, reason="returned", restock=False, key=key
        )
    with write_session(sessions) as session:
        done = rules.finish_refund(session, return_id, wanted, restock=restock, now=utcnow())
        return _out(done)


def refund_from_text(
    sessions: Sessions, payments: PaymentProvider, return_id: int, amount: str, *, restock: bool
) -> ReturnOut:
    """:func:`refund` with ``amount`` in major units as typed (``12.50``); empty: default."""
    text = amount.strip()
    minor: int | None = None
    if text:
        with read_session(sessions) as session:
            currency = rules.load_return(session, return_id).order.currency
        try:
            minor = parse_amount(text, currency)
        except ValueError as error:
            raise InvalidInput(
                f"Amount: {error}; give it in {currency}, e.g. {decimal_string(500, currency)}."
            ) from None
        if minor > AMOUNT_MAX:
            raise InvalidInput("That amount is too large.")
    return refund(sessions, payments, return_id, amount=minor, restock=restock)


# -- the shopper's page ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ShopperLine:
    id: int
    title: str
    bought: int
    left: int  # units that may still be asked back


@dataclass(frozen=True, slots=True)
class ShopperReturn:
    id: int
    created: datetime  # the page writes dates and money as the shopper's locale does
    status: str
    lines: tuple[str, ...]  # "2 x Mug" (with a multiplication sign)
    refund: int | None  # minor units of ``currency``
    currency: str


@dataclass(frozen=True, slots=True)
class ShopperPage:
    public_id: str
    number: str
    closed: str | None  # why no return can be asked now; None when it can
    closes: datetime | None  # the last day returns are open (None when not paid)
    lines: tuple[ShopperLine, ...]
    returns: tuple[ShopperReturn, ...]


def _shopper_returns(order: Order, found: list[Return]) -> tuple[ShopperReturn, ...]:
    return tuple(
        ShopperReturn(
            id=r.id,
            created=r.created_at,
            status=r.status,
            lines=tuple(f"{item.quantity} \u00d7 {item.order_line.title}" for item in r.lines),
            refund=r.refund_amount,
            currency=order.currency,
        )
        for r in found
    )


def shopper_page(sessions: Sessions, public_id: str, window_days: int) -> ShopperPage:
    """What the return page shows; :class:`NotFound` for an unknown order link."""
    with read_session(sessions) as session:
        order = order_by_public_id(session, public_id)
        if order is None:
            raise NotFound("We could not find that order. Check the link in your confirmation.")
        left = rules.returnable(session, order)
        ends = rules.window_ends(order, window_days)
        closed = rules.closed_reason(order, utcnow(), window_days)
        if closed is None and not any(left.values()):
            closed = "Everything in this order has been returned or asked back already."
        return ShopperPage(
            public_id=order.public_id,
            number=order.number,
            closed=closed,
            closes=ends,
            lines=tuple(
                ShopperLine(id=line.id, title=line.title, bought=line.quantity, left=left[line.id])
                for line in order.lines
            ),
            returns=_shopper_returns(order, rules.returns_of(session, order.id)),
        )


def read_form(form: Mapping[str, str], *, stale: str) -> tuple[str, dict[int, int]]:
    """The one-time ``key`` and the units wanted back per order line (``qty-{line id}``
    fields) of a return form, the shopper's or the counter's; :class:`InvalidInput` with
    ``stale`` for a missing or malformed key, :class:`NotFound` for a line id that cannot be
    one, :class:`InvalidInput` for a quantity that is not a whole number."""
    key = form.get("key", "")
    if not _KEY.fullmatch(key):
        raise InvalidInput(stale)
    wanted: dict[int, int] = {}
    for name, value in form.items():
        if not name.startswith("qty-"):
            continue
        line, text = name[4:], value.strip() or "0"
        if not (line.isdecimal() and len(line) <= 9):
            raise NotFound("That item is not part of this order.")
        if not (text.isascii() and text.isdecimal() and len(text) <= 6):
            raise InvalidInput("Quantities to return must be whole numbers, 0 or more.")
        wanted[int(line)] = int(text)
    return key, wanted


def request_from_form(
    sessions: Sessions, public_id: str, form: Mapping[str, str], window_days: int
) -> int:
    """Ask for a return from the shopper's form (``qty-{line id}`` fields, ``reason``,
    ``note``, the one-time ``key``); the new return's id. Raises as the domain does."""
    key, wanted = read_form(form, stale="This form is out of date: reload the page and try again.")
    with write_session(sessions) as session:
        order = order_by_public_id(session, public_id)
        if order is None:
            raise NotFound("We could not find that order. Check the link in your confirmation.")
        ret = rules.request_return(
            session,
            order.id,
            wanted,
            reason=form.get("reason", ""),
            note=form.get("note"),
            key=key,
            now=utcnow(),
            window_days=window_days,
        )
        return ret.id


def new_form_key() -> str:
    return secrets.token_urlsafe(24)


# -- the admin's pages -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AdminReturn:
    id: int
    order_number: str
    email: str
    status: str
    created: str
    reason: str
    note: str | None
    decision_note: str | None
    lines: tuple[tuple[str, str, int], ...]  # (sku, title, units)
    suggested: str  # the default refund, major units
    refund: str | None
    restocked: bool
    currency: str
    times: tuple[tuple[str, str], ...]  # (what, when) for the moves made


def _admin_row(session: Session, ret: Return, *, suggest: bool) -> AdminReturn:
    order = ret.order
    moves = (
        ("Requested", ret.created_at),
        ("Approved", ret.approved_at),
        ("Received", ret.received_at),
        ("Refunded", ret.refunded_at),
        ("Rejected", ret.rejected_at),
    )
    suggested = rules.suggested_refund(session, ret) if suggest else 0
    return AdminReturn(
        id=ret.id,
        order_number=order.number,
        email=order.email,
        status=ret.status,
        created=when(ret.created_at),
        reason=rules.REASON_LABELS.get(ret.reason, ret.reason),
        note=ret.note,
        decision_note=ret.decision_note,
        lines=tuple((i.order_line.sku, i.order_line.title, i.quantity) for i in ret.lines),
        suggested=decimal_string(suggested, order.currency),
        refund=None
        if ret.refund_amount is None
        else format_amount(ret.refund_amount, order.currency),
        restocked=ret.restocked,
        currency=order.currency,
        times=tuple((what, when(moment)) for what, moment in moves if moment is not None),
    )


def read_status(raw: str) -> str:
    status = raw.strip()
    if status and status not in RETURN_STATUSES:
        raise InvalidInput(f"Status must be one of {', '.join(RETURN_STATUSES)}.")
    return status


def admin_list(sessions: Sessions, status: str, before: int = 0) -> list[AdminReturn]:
    with read_session(sessions) as session:
        found = rules.returns_before(session, before, PAGE_SIZE, status or None)
        return [_admin_row(session, r, suggest=False) for r in found]


def admin_detail(sessions: Sessions, return_id: int) -> AdminReturn:
    with read_session(sessions) as session:
        ret = rules.load_return(session, return_id)
        return _admin_row(session, ret, suggest=ret.status == ReturnStatus.RECEIVED)


def brief(ret: ReturnOut) -> str:
    """One line for a terminal."""
    units = ", ".join(f"{line.quantity} x {line.sku}" for line in ret.lines)
    refund = f" refunded {ret.refund.decimal} {ret.refund.currency}" if ret.refund else ""
    return f"{ret.id:>6}  {ret.order_number:14}  {ret.status:9}  {units}{refund}"


def reason_label(value: str) -> str:
    return rules.REASON_LABELS.get(value, value)
