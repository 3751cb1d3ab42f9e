"""Returns: the rules, on a :class:`Session` the caller's transaction owns.

A shopper asks to send back some units of some lines of a paid order, with a reason, while
returns are open: from payment until :data:`DEFAULT_WINDOW_DAYS` (the shop's setting) after
fulfilment, or after payment when the order was never marked fulfilled. Across an order's
returns that are not rejected, no line comes back more often than it was bought: the count is
read with the order row locked (``FOR UPDATE``; SQLite's writers queue anyway), in the
transaction that writes the new return.

A return then moves ``requested`` → ``approved`` → ``received`` → ``refunded``, or ends
``rejected``; each move is one conditional ``UPDATE`` from the status it expects, so of two
clerks pressing the same button one wins and the other is told what happened. The refund
itself goes through :func:`buybutton_server.domain.refunds.refund_order` (the service layer
calls it, under a key unique to the return, so it is made once); :func:`finish_refund` then
records it on the return and, if asked, puts the returned units back on the shelf.

Webhooks ``return.requested``, ``return.approved``, ``return.received`` and
``return.rejected`` are written to the outbox in the same transaction as the change, with the
order and the return (:func:`return_json`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Table, func, select, update
from sqlalchemy.orm import Session, selectinload

from buybutton_server.db.models import Order, Refund, Return, ReturnLine
from buybutton_server.domain import inventory, outbox
from buybutton_server.domain.order_rows import changed_rows
from buybutton_server.domain.vocabulary import OrderStatus, money_json
from buybutton_server.errors import Conflict, InvalidInput, NotFound

DEFAULT_WINDOW_DAYS = 30
NOTE_MAX = 500


class ReturnStatus(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    RECEIVED = "received"
    REFUNDED = "refunded"
    REJECTED = "rejected"


RETURN_STATUSES: tuple[str, ...] = tuple(ReturnStatus)

# (stored value, what the shopper reads).
REASONS: tuple[tuple[str, str], ...] = (
    ("changed_mind", "I changed my mind"),
    ("wrong_size", "Wrong size or fit"),
    ("damaged", "It arrived damaged"),
    ("not_as_described", "Not as described"),
    ("wrong_item", "I received the wrong item"),
    ("other", "Something else"),
)
REASON_LABELS = dict(REASONS)

_RETURNS: Table = Return.metadata.tables["returns"]
_R = _RETURNS.c


def aware(moment: datetime | None) -> datetime | None:
    """SQLite hands timestamps back without their zone; they are UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def window_ends(order: Order, window_days: int) -> datetime | None:
    """When returns close: ``window_days`` after fulfilment, else after payment."""
    start = aware(order.fulfilled_at) or aware(order.paid_at)
    return None if start is None else start + timedelta(days=window_days)


def closed_reason(order: Order, now: datetime, window_days: int) -> str | None:
    """Why this order takes no return request now, in the shopper's words; None if it does."""
    if order.status == OrderStatus.REFUNDED:
        return "This order was refunded in full: there is nothing left to return."
    ends = window_ends(order, window_days)
    if order.status != OrderStatus.PAID or ends is None:
        return "Returns open once the order is paid."
    if now > ends:
        return (
            f"Returns for this order closed on {ends:%Y-%m-%d}: they are open for "
            f"{window_days} days after it was shipped (or paid, if it was not shipped)."
        )
    return None


def returned_counts(session: Session, order_id: int, before: int | None = None) -> dict[int, int]:
    """Units of each order line in the order's returns that are not rejected (only those
    with an id below ``before`` when given), by order line id."""
    query = (
        select(ReturnLine.order_line_id, func.sum(ReturnLine.quantity))
        .join(Return, Return.id == ReturnLine.return_id)
        .where(Return.order_id == order_id, Return.status != ReturnStatus.REJECTED)
        .group_by(ReturnLine.order_line_id)
    )
    if before is not None:
        query = query.where(Return.id < before)
    return {line_id: int(total) for line_id, total in session.execute(query)}


def returnable(session: Session, order: Order) -> dict[int, int]:
    """How many units of each of the order's lines may still be asked back."""
    taken = returned_counts(session, order.id)
    return {line.id: line.quantity - taken.get(line.id, 0) for line in order.lines}


def _locked_order(session: Session, order_id: int) -> Order:
    order = session.scalar(
        select(Order)
        .options(selectinload(Order.lines))
        .where(Order.id == order_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if order is None:
        raise NotFound(f"No order with id {order_id}.")
    return order


def check_note(note: str | None) -> str | None:
    text = (note or "").strip()
    if len(text) > NOTE_MAX:
        raise InvalidInput(f"Keep the note to {NOTE_MAX} characters (it has {len(text)}).")
    if "\x00" in text:
        raise InvalidInput("The note must not contain NUL characters.")
    return text or None


def request_return(
    session: Session,
    order_id: int,
    wanted: Mapping[int, int],
    *,
    reason: str,
    note: str | None,
    key: str,
    now: datetime,
    window_days: int,
) -> Return:
    """Write a return of ``wanted`` (order line id → units) and announce ``return.requested``.

    The same ``key`` again (a form posted twice) gives the return it made. Raises
    :class:`NotFound` for a line that is not this order's, :class:`InvalidInput` for a
    reason, note or quantity that cannot be, :class:`Conflict` when returns are closed
    (``returns_closed``) or more units are asked than are left (``already_returned``)."""
    order = _locked_order(session, order_id)
    earlier = session.scalar(
        select(Return).options(selectinload(Return.lines)).where(Return.request_key == key)
    )
    if earlier is not None:
        if earlier.order_id != order_id:
            raise InvalidInput("This form is out of date: reload the page and try again.")
        return earlier
    closed = closed_reason(order, now, window_days)
    if closed:
        raise Conflict(closed, code="returns_closed", title="Returns are closed")
    if reason not in REASON_LABELS:
        raise InvalidInput("Choose a reason for the return.")
    text = check_note(note)
    lines = {line.id: line for line in order.lines}
    for line_id, units in wanted.items():
        if line_id not in lines:
            raise NotFound(f"Order {order.number} has no line {line_id}.")
        if units < 0:
            raise InvalidInput("Quantities to return must be 0 or more.")
    chosen = {line_id: units for line_id, units in wanted.items() if units > 0}
    if not chosen:
        raise InvalidInput("Choose at least one item to return.")
    left = returnable(session, order)
    for line_id, units in chosen.items():
        line = lines[line_id]
        if units > left[line_id]:
            done = line.quantity - left[line_id]
            more = f"at most {left[line_id]} more" if left[line_id] else "none is left"
            raise Conflict(
                f"{line.title}: {done} of {line.quantity} already returned or asked back; {more}.",
                code="already_returned",
                title="Already returned",
            )
    ret = Return(
        order_id=order_id,
        status=ReturnStatus.REQUESTED,
        reason=reason,
        note=text,
        request_key=key,
        created_at=now,
        lines=[ReturnLine(order_line_id=i, quantity=n) for i, n in sorted(chosen.items())],
    )
    session.add(ret)
    session.flush()
    _announce(session, "return.requested", ret, order)
    return ret


def load_return(session: Session, return_id: int) -> Return:
    """The return with its lines (each with its order line) and its order."""
    query = (
        select(Return)
        .options(
            selectinload(Return.lines).selectinload(ReturnLine.order_line),
            selectinload(Return.order).selectinload(Order.lines),
        )
        .where(Return.id == return_id)
        .execution_options(populate_existing=True)
    )
    found = session.scalar(query)
    if found is None:
        raise NotFound(f"There is no return {return_id}.")
    return found


def returns_of(session: Session, order_id: int) -> list[Return]:
    """An order's returns, oldest first."""
    return list(
        session.scalars(
            select(Return)
            .options(selectinload(Return.lines).selectinload(ReturnLine.order_line))
            .where(Return.order_id == order_id)
            .order_by(Return.id)
        )
    )


def returns_before(
    session: Session, before: int, limit: int, status: str | None = None
) -> list[Return]:
    """Up to ``limit`` returns, newest first, with ids below ``before`` (0: from the newest)."""
    query = (
        select(Return)
        .options(
            selectinload(Return.lines).selectinload(ReturnLine.order_line),
            selectinload(Return.order),
        )
        .order_by(Return.id.desc())
        .limit(limit)
    )
    if before:
        query = query.where(Return.id < before)
    if status:
        query = query.where(Return.status == status)
    return list(session.scalars(query))


_VERBS = {
    ReturnStatus.APPROVED: "approved",
    ReturnStatus.RECEIVED: "marked received",
    ReturnStatus.REFUNDED: "refunded",
    ReturnStatus.REJECTED: "rejected",
}


def _move(
    session: Session,
    return_id: int,
    expected: Sequence[ReturnStatus],
    to: ReturnStatus,
    **values: Any,
) -> None:
    """One conditional UPDATE from ``expected`` to ``to``; :class:`Conflict` naming the
    status it has now when another request moved it first."""
    statement = (
        update(_RETURNS)
        .where(_R.id == return_id, _R.status.in_([str(s) for s in expected]))
        .values(status=str(to), **values)
    )
    if changed_rows(session, statement) == 1:
        return
    now = session.scalar(select(Return.status).where(Return.id == return_id))
    if now is None:
        raise NotFound(f"There is no return {return_id}.")
    raise Conflict(
        f"Return {return_id} is {now}, so it cannot be {_VERBS[to]}"
        + (" again." if now == to else " now."),
        code="return_state",
    )


def approve(session: Session, return_id: int, now: datetime) -> Return:
    _move(session, return_id, (ReturnStatus.REQUESTED,), ReturnStatus.APPROVED, approved_at=now)
    ret = load_return(session, return_id)
    _announce(session, "return.approved", ret, ret.order)
    return ret


def receive(session: Session, return_id: int, now: datetime) -> Return:
    _move(session, return_id, (ReturnStatus.APPROVED,), ReturnStatus.RECEIVED, received_at=now)
    ret = load_return(session, return_id)
    _announce(session, "return.received", ret, ret.order)
    return ret


def receive_at_counter(
    session: Session, return_id: int, location: dict[str, Any], location_id: int, now: datetime
) -> Return:
    """A return handed in at a store's counter: approved and received there at once (its
    units go back on that store's shelf when refunded); ``return.received`` names it."""
    _move(
        session,
        return_id,
        (ReturnStatus.REQUESTED,),
        ReturnStatus.RECEIVED,
        approved_at=now,
        received_at=now,
        location_id=location_id,
    )
    ret = load_return(session, return_id)
    _announce(session, "return.received", ret, ret.order, location=location)
    return ret


def refund_key(order_public_id: str, return_id: int) -> str:
    """The key a return's refund is made under (one refund per return, at the provider too)."""
    return f"{order_public_id}-return-{return_id}"


def reject(session: Session, return_id: int, note: str | None, now: datetime) -> Return:
    """Reject a return not yet refunded. A return whose refund is under way (the order's
    refund claim is its key) or recorded is refused: the money is going out or gone."""
    text = check_note(note)
    order_id = session.scalar(select(Return.order_id).where(Return.id == return_id))
    if order_id is None:
        raise NotFound(f"There is no return {return_id}.")
    order = _locked_order(session, order_id)
    key = refund_key(order.public_id, return_id)
    refunded = session.scalar(
        select(Refund.id).where(Refund.order_id == order_id, Refund.idempotency_key == key)
    )
    if order.refund_claim == key or refunded is not None:
        raise Conflict(
            f"Return {return_id} is being refunded, so it cannot be rejected now.",
            code="return_state",
        )
    _move(
        session,
        return_id,
        (ReturnStatus.REQUESTED, ReturnStatus.APPROVED, ReturnStatus.RECEIVED),
        ReturnStatus.REJECTED,
        rejected_at=now,
        decision_note=text,
    )
    ret = load_return(session, return_id)
    _announce(session, "return.rejected", ret, ret.order)
    return ret


def suggested_refund(session: Session, ret: Return) -> int:
    """The returned lines' share of what was paid for them (line totals after discount, with
    their tax); shipping is not included. Units are shared out so that the returns of a
    whole line add up to its total exactly; never more than is left to refund."""
    before = returned_counts(session, ret.order_id, before=ret.id)
    amount = 0
    for item in ret.lines:
        line = item.order_line
        done = before.get(line.id, 0)
        share = (line.total_amount * (done + item.quantity)) // line.quantity
        amount += share - (line.total_amount * done) // line.quantity
    order = ret.order
    return max(0, min(amount, order.total_amount - order.refunded_amount))


def can_refund(ret: Return) -> None:
    """:class:`Conflict` unless the return is received (the refund's step before)."""
    if ret.status != ReturnStatus.RECEIVED:
        raise Conflict(
            f"Return {ret.id} is {ret.status}: mark it received before refunding it.",
            code="return_state",
        )


def finish_refund(
    session: Session, return_id: int, amount: int, *, restock: bool, now: datetime
) -> Return:
    """Record the return's refund (already made by the provider) and, with ``restock``, put
    its units back on the shelf: one conditional UPDATE per product, the order row locked
    first (as every order change does) and products in id order."""
    order_id = session.scalar(select(Return.order_id).where(Return.id == return_id))
    if order_id is None:
        raise NotFound(f"There is no return {return_id}.")
    _locked_order(session, order_id)
    _move(
        session,
        return_id,
        (ReturnStatus.RECEIVED,),
        ReturnStatus.REFUNDED,
        refunded_at=now,
        refund_amount=amount,
        restocked=restock,
    )
    ret = load_return(session, return_id)
    if restock:
        units: dict[int, int] = {}
        for item in ret.lines:
            product_id = item.order_line.product_id
            units[product_id] = units.get(product_id, 0) + item.quantity
        for product_id, count in sorted(units.items()):
            inventory.restock(session, product_id, count, location_id=ret.location_id)
    return load_return(session, return_id)


def return_json(ret: Return, order: Order) -> dict[str, Any]:
    """A return as the API and the webhooks show it."""
    lines = {line.id: line for line in order.lines}
    return {
        "id": ret.id,
        "order_number": order.number,
        "status": ret.status,
        "reason": ret.reason,
        "note": ret.note,
        "lines": [
            {
                "sku": lines[item.order_line_id].sku,
                "title": lines[item.order_line_id].title,
                "quantity": item.quantity,
            }
            for item in ret.lines
        ],
        "refund": None
        if ret.refund_amount is None
        else money_json(ret.refund_amount, order.currency),
        "restocked": ret.restocked,
        "location": ret.location.code if ret.location is not None else None,
        "decision_note": ret.decision_note,
        "created_at": outbox.iso_time(ret.created_at),
        "approved_at": outbox.iso_time(ret.approved_at),
        "received_at": outbox.iso_time(ret.received_at),
        "refunded_at": outbox.iso_time(ret.refunded_at),
        "rejected_at": outbox.iso_time(ret.rejected_at),
    }


def _announce(session: Session, event_type: str, ret: Return, order: Order, **extra: Any) -> None:
    data = {"return": return_json(ret, order), **extra}
    outbox.record_order_event(session, event_type, order.id, data)
