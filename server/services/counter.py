"""The store counter (``/store``): each action one transaction around domain/counter.py.

Every call names the signed-in login and the store's code; the store is looked up within the
login's scope first, so a clerk limited to one store cannot read or change another's orders
(they get "not found", and nothing is written). Code checks are rate-limited per order and
per login before the transaction; wrong codes also count on the order (``MAX_WRONG``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from buybutton.money import format_amount
from buybutton_server.db import read_session, write_session
from buybutton_server.db.models import Location, utcnow
from buybutton_server.domain import (
    counter,
    counter_returns,
    order_search,
    pickup,
    rate_limits,
    reservations,
)
from buybutton_server.domain import returns as return_rules
from buybutton_server.domain.admin_auth import Admin
from buybutton_server.domain.counter import CounterOrder
from buybutton_server.errors import InvalidInput, NotFound, RateLimited
from buybutton_server.payments import PaymentProvider
from buybutton_server.services import returns as return_service

Sessions = sessionmaker[Session]
# Code checks: per order (any login) and per login (any order), in 15 minutes.
PER_ORDER, PER_LOGIN, WINDOW = 10, 30, 900


@dataclass(frozen=True, slots=True)
class Store:
    code: str
    name: str
    city: str
    accepts_returns: bool


def _store(location: Location) -> Store:
    return Store(location.code, location.name, location.city, location.accepts_returns)


@dataclass(frozen=True, slots=True)
class Row:
    """One order on the counter's list, ready to show."""

    number: str
    name: str
    kind: str  # "Pickup" or "Reservation"
    state: str  # what the clerk reads: "Paid, not ready", "Ready since ...", ...
    total: str
    lines: tuple[str, ...]
    can_ready: bool
    can_new_code: bool
    can_collect: bool
    can_take_payment: bool


def _row(order: CounterOrder, zone: str) -> Row:
    """``zone``: the store's time zone for the times shown (``pickup.zone_of``)."""
    reserve = order.method == counter.RESERVE
    if order.ready_at is None:
        state = "Paid, not ready yet" if order.paid else "Reserved, not paid, not ready yet"
    else:
        state = f"Ready since {pickup.local_time(order.ready_at, zone)}" + (
            "" if order.paid else ", not paid"
        )
        if order.locked:
            state += " \u2014 too many wrong codes: send a new one"
    return Row(
        number=order.number,
        name=order.name,
        kind="Reservation" if reserve else "Pickup",
        state=state,
        total=format_amount(order.total, order.currency),
        lines=tuple(f"{units} \u00d7 {title}" for title, units in order.lines),
        can_ready=order.ready_at is None,
        can_new_code=order.ready_at is not None,
        can_collect=order.ready_at is not None and order.paid and not order.locked,
        can_take_payment=reserve and not order.paid,
    )


@dataclass(frozen=True, slots=True)
class StorePage:
    store: Store
    rows: tuple[Row, ...]


def stores(sessions: Sessions, user: Admin) -> list[Store]:
    with read_session(sessions) as session:
        return [_store(loc) for loc in counter.locations_for(session, user)]


def store_page(sessions: Sessions, user: Admin, code: str) -> StorePage:
    with read_session(sessions) as session:
        location = counter.location_for(session, user, code)
        zone = pickup.zone_of(session, location.time_zone)
        rows = tuple(_row(o, zone) for o in counter.open_orders(session, location.id))
        return StorePage(_store(location), rows)


def order_row(sessions: Sessions, user: Admin, code: str, number: str) -> tuple[Store, Row]:
    with read_session(sessions) as session:
        location = counter.location_for(session, user, code)
        found = counter.counter_order(session, location.id, counter.check_number(number))
        return _store(location), _row(found, pickup.zone_of(session, location.time_zone))


def mark_ready(
    sessions: Sessions,
    user: Admin,
    code: str,
    number: str,
    *,
    secret_keys: tuple[str, ...],
    new_code: bool = False,
) -> None:
    """Mark ready (the shopper gets the code by email); ``new_code``: send a fresh code."""
    with write_session(sessions) as session:
        location = counter.location_for(session, user, code)
        counter.mark_ready(
            session,
            location,
            counter.check_number(number),
            user,
            secret_key=secret_keys[-1],
            now=utcnow(),
            new_code_only=new_code,
        )


def _limit(sessions: Sessions, user: Admin, number: str) -> None:
    verdict = rate_limits.take(
        sessions,
        [
            rate_limits.Rule(f"pickup-code:order:{number}", PER_ORDER, WINDOW),
            rate_limits.Rule(f"pickup-code:login:{user.id}", PER_LOGIN, WINDOW),
        ],
    )
    if not verdict.allowed:
        minutes = max(1, round(verdict.retry_after / 60))
        raise RateLimited(
            verdict.retry_after,
            f"Too many pickup codes tried. Wait {minutes} minute{'s' if minutes != 1 else ''} "
            "and try again, or ask the shopper for the code in their email.",
        )


def collect(
    sessions: Sessions,
    user: Admin,
    code: str,
    number: str,
    typed: str,
    *,
    secret_keys: tuple[str, ...],
) -> None:
    """Hand the order over if ``typed`` is its code; :class:`InvalidInput` if not."""
    number = counter.check_number(number)
    if not counter.clean_code(typed):
        raise InvalidInput("Type the 6-digit code from the shopper's email.")
    with read_session(sessions) as session:  # scope first: another store's order is unknown
        location = counter.location_for(session, user, code)
        counter.counter_order(session, location.id, number)
    _limit(sessions, user, number)
    with write_session(sessions) as session:
        location = counter.location_for(session, user, code)
        handed = counter.collect(
            session, location, number, typed, user, secret_keys=secret_keys, now=utcnow()
        )
    if not handed:
        raise InvalidInput(
            f"That code is not the code of order {number}. Check it with the shopper's email "
            "(nothing was changed).",
            code="wrong_code",
        )


def paid_in_store(sessions: Sessions, user: Admin, code: str, number: str) -> bool:
    """Take a reservation's payment at the counter (domain/reservations.py); False when it
    was paid in store already."""
    with write_session(sessions) as session:
        location = counter.location_for(session, user, code)
        found = counter.counter_order(session, location.id, counter.check_number(number))
        return reservations.mark_paid_in_store(session, found.id, location.id, user.email)


def scanned(sessions: Sessions, user: Admin, number: str) -> Store:
    """The store of a scanned pickup (for ``/store/collect``), if ``user`` works there."""
    with read_session(sessions) as session:
        location = counter.find_pickup_location(session, counter.check_number(number))
        mine = {loc.id for loc in counter.locations_for(session, user)}
        if location is None or location.id not in mine:
            raise NotFound(
                "That pickup is not one of your store's orders. Ask the shopper to collect it "
                "at the store named in their email."
            )
        return _store(location)


# -- returns at the counter -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReturnLine:
    id: int
    title: str
    sku: str
    bought: int
    left: int


@dataclass(frozen=True, slots=True)
class ReturnForm:
    store: Store
    number: str
    email: str
    closed: str | None
    lines: tuple[ReturnLine, ...]
    key: str


def return_form(
    sessions: Sessions, user: Admin, code: str, number: str, *, window_days: int
) -> ReturnForm:
    """The lines of order ``number`` that may still come back, for the counter's form."""
    with read_session(sessions) as session:
        location = counter.location_for(session, user, code)
        counter_returns.check_accepts(location)
        try:
            order = order_search.order_by_number(session, counter.check_number(number))
        except NotFound:
            raise NotFound(
                f"There is no order {number.strip()[:32]!r}. Check the number."
            ) from None
        left = return_rules.returnable(session, order)
        closed = return_rules.closed_reason(order, utcnow(), window_days)
        if closed is None and not any(left.values()):
            closed = "Everything in this order has been returned already."
        lines = tuple(
            ReturnLine(line.id, line.title, line.sku, line.quantity, left[line.id])
            for line in order.lines
        )
        key = return_service.new_form_key()
        return ReturnForm(_store(location), order.number, order.email, closed, lines, key)


@dataclass(frozen=True, slots=True)
class ReturnDone:
    return_id: int
    number: str
    refund: str
    restocked: bool


def return_done(sessions: Sessions, user: Admin, code: str, return_id: int) -> ReturnDone | None:
    """What a return taken at this store came to (None: not one of this store's)."""
    with read_session(sessions) as session:
        location = counter.location_for(session, user, code)
    try:
        done = return_service.get_return(sessions, return_id)
    except NotFound:
        return None
    if done.location != location.code:
        return None
    refund = format_amount(done.refund.amount, done.refund.currency) if done.refund else None
    return ReturnDone(return_id, done.order_number, refund or "nothing yet", done.restocked)


def take_return(
    sessions: Sessions,
    payments: PaymentProvider,
    user: Admin,
    code: str,
    form: Mapping[str, str],
    *,
    window_days: int,
) -> ReturnDone:
    """Receive a return at the store from the counter's form (``number``, ``qty-{line id}``,
    ``reason``, ``note``, ``restock`` yes/no, the one-time ``key``), then refund it through
    the original payment, restocking at this store unless the units are damaged."""
    stale = "This form is out of date: find the order again."
    key, wanted = return_service.read_form(form, stale=stale)
    restock = form.get("restock", "") == "yes"
    if form.get("restock", "") not in ("yes", "no"):
        raise InvalidInput("Choose whether the items go back on the shelf or are damaged.")
    with write_session(sessions) as session:
        location = counter.location_for(session, user, code)
        ret = counter_returns.take_return(
            session,
            location,
            counter.check_number(form.get("number", "")),
            wanted,
            reason=form.get("reason", ""),
            note=form.get("note"),
            key=key,
            now=utcnow(),
            window_days=window_days,
        )
        return_id = ret.id
    done = return_service.get_return(sessions, return_id)
    if done.status == return_rules.ReturnStatus.RECEIVED:
        done = return_service.refund(sessions, payments, return_id, restock=restock)
    refund = format_amount(done.refund.amount, done.refund.currency) if done.refund else "nothing"
    return ReturnDone(return_id, done.order_number, refund, done.restocked)
