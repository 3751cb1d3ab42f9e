"""Finishing a UCP checkout session: ``complete`` with our test payment handler, and the
hand-off to our own checkout page (``continue_url``).

The agent never touches card data. With the built-in ``test`` provider, a platform that
declares ``com.buybutton.test_payment`` may complete a session with the credential token
``success_token`` (the order is placed and paid, as on our page, through
``orders.place_order`` and the provider) or ``fail_token`` (the payment is declined: a
``payment_failed`` message, the session stays open). Otherwise the buyer pays on our page:
``continue_url`` mints a short link with the session's lines, codes, email, name and
address (the address stays in our database, never in a URL) and redirects to it.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import update as sql_update

from buybutton.tokens import DISCOUNT_CODE_PATTERN, EMAIL_PATTERN, MAX_CODES, CheckoutLink
from buybutton_server.db import write_session
from buybutton_server.db.models import UcpCheckoutSession, utcnow
from buybutton_server.domain import addresses, short_links, ucp_profiles, ucp_sessions
from buybutton_server.domain.orders import (
    Choice,
    Shopper,
    place_order,
    record_payment_reference,
    settle_order,
)
from buybutton_server.domain.ucp_shapes import BadShape, Choices
from buybutton_server.domain.vocabulary import OrderStatus
from buybutton_server.errors import (
    Conflict,
    Gone,
    InvalidInput,
    NotFound,
    ProductUnavailable,
    ShopError,
)
from buybutton_server.payments.base import ChargeRequest, ChargeResult
from buybutton_server.services.ucp import (
    Answer,
    Shop,
    not_found,
    open_row,
    render,
    save,
    settle_from_page,
)

# What each test token pays with: the test provider's own success and decline cards.
_CARDS = {
    ucp_profiles.SUCCESS_TOKEN: "4242424242424242",
    ucp_profiles.FAILURE_TOKEN: "4000000000000002",
}
_PAYMENT = "$.payment.instruments[0]"


def _error(code: str, content: str, path: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "error", "code": code}
    if path:
        out["path"] = path
    return {**out, "content": content, "severity": "recoverable"}


def _token(data: object) -> tuple[str | None, dict[str, Any] | None]:
    """The test token of the selected instrument, or a message saying what is wrong."""
    if not isinstance(data, dict) or not isinstance(data.get("payment"), dict):
        raise BadShape("$.payment is required to complete a checkout.")
    instruments = data["payment"].get("instruments")
    if not isinstance(instruments, list) or not instruments or len(instruments) > 8:
        raise BadShape("$.payment.instruments must hold 1 to 8 instruments.")
    if not all(isinstance(i, dict) for i in instruments):
        raise BadShape("$.payment.instruments must hold objects.")
    chosen = next((i for i in instruments if i.get("selected") is True), instruments[0])
    if chosen.get("handler_id") != ucp_profiles.TEST_HANDLER_ID:
        return None, _error(
            "payment_handler_unavailable",
            "This shop takes payments through the API only with its test handler "
            f"({ucp_profiles.TEST_HANDLER_ID}); the buyer can pay on continue_url.",
            f"{_PAYMENT}.handler_id",
        )
    credential = chosen.get("credential")
    token = credential.get("token") if isinstance(credential, dict) else None
    if token not in _CARDS:
        return None, _error(
            "payment_failed",
            f"Use the test token {ucp_profiles.SUCCESS_TOKEN} or {ucp_profiles.FAILURE_TOKEN}; "
            "card numbers are never accepted.",
            f"{_PAYMENT}.credential",
        )
    return str(token), None


def _claim(shop: Shop, public_id: str) -> UcpCheckoutSession | Answer:
    """Move the session to ``complete_in_progress`` (one conditional UPDATE: of two
    completes at once, one goes on), or the answer when it cannot complete now."""
    now = utcnow()
    with write_session(shop.factory) as session:
        row = open_row(session, shop, public_id)
        if row is None:
            return not_found(shop)
        choices = ucp_sessions.choices_of(row)
        try:
            evaluation = ucp_sessions.evaluate(
                session, choices, shop.agent, can_complete=shop.can_complete, now=now
            )
        except (ProductUnavailable, InvalidInput) as error:
            note = _error("invalid_cart", error.message)
            return Answer(200, {**json.loads(row.answer), "messages": [note]})
        if evaluation.status != "ready_for_complete":
            note = _error("not_ready", "This checkout is not ready to complete; see messages.")
            return Answer(200, render(shop, session, row, choices, evaluation, extra=(note,)))
        moved = session.execute(
            sql_update(UcpCheckoutSession)
            .where(UcpCheckoutSession.id == row.id, UcpCheckoutSession.status == row.status)
            .values(status="complete_in_progress", updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if getattr(moved, "rowcount", 0) != 1:
            raise Conflict("This checkout session is being completed.", code="complete_in_progress")
        return row


def _finish(
    shop: Shop,
    public_id: str,
    *,
    note: Mapping[str, Any] | None = None,
    order: Mapping[str, str] | None = None,
) -> Answer:
    """Render the session after a complete: ``completed`` with its ``order``, or open
    again with ``note`` (why it did not complete)."""
    with write_session(shop.factory) as session:
        row = ucp_sessions.find(session, public_id, agent=shop.agent_key)
        if row is None:  # pragma: no cover - sessions are not deleted while open
            return not_found(shop)
        choices = ucp_sessions.choices_of(row)
        evaluation = ucp_sessions.evaluate(
            session, choices, shop.agent, can_complete=shop.can_complete, now=utcnow()
        )
        status = "completed" if order else evaluation.status
        extra = (note,) if note else ()
        body = render(
            shop, session, row, choices, evaluation, status=status, extra=extra, order=order
        )
        if order:
            row.order_public_id = order["id"]
        save(row, choices, status, body)
        return Answer(200, body)


def complete(shop: Shop, public_id: str, data: object, idempotency_key: str) -> Answer:
    token, problem = _token(data)
    claimed = _claim(shop, public_id)
    if isinstance(claimed, Answer):
        return claimed
    if problem is not None or token is None:
        return _finish(shop, public_id, note=problem)
    choices = ucp_sessions.choices_of(claimed)
    with write_session(shop.factory) as session:
        evaluation = ucp_sessions.evaluate(
            session, choices, shop.agent, can_complete=True, now=utcnow()
        )
    where = evaluation.ship_to
    shopper = Shopper(
        email=choices.buyer.get("email", ""),
        name=ucp_sessions.buyer_name(choices),
        line1=where.line1 if where else None,
        line2=(where.line2 or None) if where else None,
        city=where.city if where else None,
        postal_code=where.postal_code if where else None,
        country=where.country if where else None,
        region=(where.region or None) if where else None,
    )
    chosen = evaluation.quote.selected_shipping
    attempt = "ucp_" + hashlib.sha256(f"{public_id} {idempotency_key}".encode()).hexdigest()[:40]
    link = CheckoutLink.for_items(choices.lines, source="ucp")
    try:
        placed, _ = place_order(
            shop.factory,
            link=link,
            quantity=link.quantity,
            shopper=shopper,
            attempt_key=attempt,
            provider=shop.provider.name,
            method="card",
            hold_for=shop.hold_for,
            choice=Choice(
                codes=choices.codes,
                shipping_option=chosen.id if chosen else None,
                expected_total=evaluation.quote.totals.total,
                currency=choices.currency,
                shown_currency=evaluation.quote.currency,
            ),
        )
    except ShopError as refused:  # sold out meanwhile, a code used up, the total changed
        code = "out_of_stock" if refused.code in ("sold_out", "not_enough_stock") else refused.code
        return _finish(shop, public_id, note=_error(code, refused.message))
    charge = ChargeRequest(
        amount=placed.total_amount,
        currency=placed.currency,
        idempotency_key=placed.attempt_key,
        method="card",
        details={"card_number": _CARDS[token], "card_expiry": "12/99", "card_cvc": "123"},
        metadata={"order_public_id": placed.public_id, "order_number": placed.number},
        record_reference=functools.partial(record_payment_reference, shop.factory, placed.id),
    )
    try:
        result = shop.provider.charge(charge)
    except ShopError as down:
        result = ChargeResult(status="failed", code="provider_unavailable", message=down.message)
    settled = settle_order(shop.factory, placed.id, result)
    if settled.status != OrderStatus.PAID:
        why = settled.failure_message or "The payment was declined."
        return _finish(shop, public_id, note=_error("payment_failed", why, f"{_PAYMENT}"))
    order = {
        "id": settled.public_id,
        "label": settled.number,
        "permalink_url": f"{shop.base_url}/orders/{settled.public_id}",
    }
    return _finish(shop, public_id, order=order)


# -- the hand-off to our checkout --------------------------------------------------------------


def _link(choices: Choices) -> CheckoutLink:
    email = choices.buyer.get("email", "")
    name = ucp_sessions.buyer_name(choices)
    codes = []
    for code in choices.codes:
        if DISCOUNT_CODE_PATTERN.match(code) and code.upper() not in codes:
            codes.append(code.upper())
    return CheckoutLink.for_items(
        choices.lines,
        email=email if EMAIL_PATTERN.match(email) else None,
        name=name if name.isprintable() else None,
        source="ucp",
        codes=tuple(codes[:MAX_CODES]) or None,
    )


def handoff(shop: Shop, continue_id: str) -> str:
    """Where ``continue_url`` (naming the session by its ``continue_id``) sends the buyer:
    a short link to our checkout with the session's lines, codes and pre-fill (minted once
    per state of the session, each recorded so an order placed through it completes the
    session), the order page of a completed session. Raises ``NotFound`` or ``Gone``
    (canceled or expired)."""
    with write_session(shop.factory) as session:
        row = ucp_sessions.find_continued(session, continue_id)
        if row is None:
            raise NotFound("There is no such checkout.")
        settle_from_page(session, row, shop.base_url)
        status = ucp_sessions.current_status(row, utcnow())
        if status == "completed" and row.order_public_id:
            return f"/orders/{row.order_public_id}"
        if status in ucp_sessions.FINAL:
            raise Gone("This checkout has ended; ask the assistant to start a new one.")
        choices = ucp_sessions.choices_of(row)
        state = ucp_sessions.state_hash(choices)
        if row.handoff_code and row.handoff_state == state:
            return f"/l/{row.handoff_code}"
        try:
            link = _link(choices)
        except ValueError as problem:
            raise InvalidInput(f"This checkout cannot be opened: {problem}.") from None
        address = None
        if choices.destination:
            found, _ = addresses.validate(addresses.from_ucp(choices.destination))
            address = found
        try:
            code = short_links.mint(session, link, address=address)
        except short_links.AddressRefused:
            code = short_links.mint(session, link)
        ucp_sessions.add_handoff(session, row, code)
        row.handoff_state = state
        return f"/l/{code}"
