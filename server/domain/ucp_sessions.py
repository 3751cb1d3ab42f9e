"""UCP checkout sessions on a database ``Session``: stored choices, and the checkout they
make now (:func:`evaluate`: the quote, UCP messages and the status).

A session stores what the agent chose, never a price; every answer quotes afresh through
:func:`.quoting.quote`. Statuses (UCP 2026-04-08):

- ``incomplete``: something the agent can fix through the API (``severity: recoverable``):
  an unknown product, a quantity over the maximum, out of stock, no email or name, no
  address or one the country's rules refuse, no shipping to it.
- ``requires_escalation``: nothing left for the API, but the buyer must act on our page
  (``continue_url``): paying, unless the platform and we share the test payment handler;
  or giving an address when the platform did not negotiate fulfillment.
- ``ready_for_complete``: the platform may call complete (test payment handler only).
- ``completed`` / ``canceled``: final; the session never changes again. A session past
  ``expires_at`` (6 hours after creation) reads as ``canceled``. A session whose buyer paid
  on our page (through a short link of its ``continue_url``, :func:`order_placed`) turns
  ``completed`` with that order (:func:`paid_order`).

Sessions belong to the agent that created them (:func:`find` takes the agent, the SHA-256 of
its profile URL); ``continue_url`` names the session by ``continue_id``, which only
:func:`find_continued` (the buyer's browser) accepts.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session, sessionmaker

from buybutton.tokens import EMAIL_PATTERN, CheckoutLink
from buybutton_server.db import write_session
from buybutton_server.db.models import Order, Product, UcpCheckoutSession, UcpHandoff
from buybutton_server.domain import addresses, price_lists, quoting, shipping
from buybutton_server.domain.checkout_model import Address, CartLine, Quote, Severity
from buybutton_server.domain.ucp_profiles import Agent
from buybutton_server.domain.ucp_shapes import DESTINATION_PATH, Choices, message
from buybutton_server.errors import InvalidInput

TTL = timedelta(hours=6)
FINAL = frozenset({"completed", "canceled"})
_STOCK = select(Product.sku, Product.on_hand, Product.reserved, Product.image_url).where(
    Product.sku.in_(bindparam("skus", expanding=True))
)


def new_public_id() -> str:
    return "chk_" + secrets.token_urlsafe(24)


def new_continue_id() -> str:
    return "cnt_" + secrets.token_urlsafe(24)


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# -- stored choices ----------------------------------------------------------------------------


def choices_of(row: UcpCheckoutSession) -> Choices:
    destination = json.loads(row.destination) if row.destination else None
    return Choices(
        lines=tuple((sku, int(quantity)) for sku, quantity in json.loads(row.line_items)),
        buyer=json.loads(row.buyer or "{}"),
        destination=destination,
        option=row.shipping_option,
        codes=tuple(json.loads(row.codes or "[]")),
        currency=row.currency or None,
    )


def state_hash(choices: Choices) -> str:
    """A fingerprint of the choices (for reusing a minted hand-off link)."""
    text = json.dumps(
        [choices.lines, dict(choices.buyer), choices.destination, choices.option, choices.codes],
        sort_keys=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()


def write_choices(row: UcpCheckoutSession, choices: Choices) -> None:
    row.line_items = json.dumps([list(line) for line in choices.lines])
    row.buyer = json.dumps(dict(choices.buyer), sort_keys=True)
    row.destination = json.dumps(dict(choices.destination)) if choices.destination else None
    row.shipping_option = choices.option
    row.codes = json.dumps(list(choices.codes))


def insert(
    session: Session, choices: Choices, *, agent: str, currency: str, now: datetime
) -> UcpCheckoutSession:
    """A new session of ``agent`` (the SHA-256 of its profile URL)."""
    row = UcpCheckoutSession(
        public_id=new_public_id(),
        agent=agent,
        continue_id=new_continue_id(),
        status="incomplete",
        currency=currency,
        answer="",
        created_at=now,
        updated_at=now,
        expires_at=now + TTL,
    )
    write_choices(row, choices)
    session.add(row)
    session.flush()
    return row


def find(
    session: Session, public_id: str, *, agent: str, lock: bool = False
) -> UcpCheckoutSession | None:
    """``agent``'s session, or None (as for an unknown id when another agent created it);
    ``lock``: its row locked (``FOR UPDATE``) for a write, so a write that read it cannot
    overwrite a move another made meanwhile (a complete)."""
    if not public_id.startswith("chk_") or len(public_id) > 40 or not agent:
        return None
    query = select(UcpCheckoutSession).where(
        UcpCheckoutSession.public_id == public_id, UcpCheckoutSession.agent == agent
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.scalar(query)


def find_continued(session: Session, continue_id: str) -> UcpCheckoutSession | None:
    """The session a ``continue_url`` names (the buyer's browser, no agent), or None."""
    if not continue_id.startswith("cnt_") or len(continue_id) > 40:
        return None
    query = select(UcpCheckoutSession).where(UcpCheckoutSession.continue_id == continue_id)
    return session.scalar(query.with_for_update())


def add_handoff(session: Session, row: UcpCheckoutSession, code: str) -> None:
    """Remember that short link ``code`` continues ``row`` on our page."""
    row.handoff_code = code
    session.add(UcpHandoff(code=code, session_id=row.id))


def order_placed(factory: sessionmaker[Session], link: CheckoutLink, order_public_id: str) -> None:
    """The checkout placed an order through ``link``: when the link came from a session's
    ``continue_url`` (a UCP short link) record the order on the open session, unless an
    order recorded before is paid already (an expired session is left alone). A no-op (no
    transaction) for any other link."""
    if link.source != "ucp" or not link.short_code:
        return
    with write_session(factory) as session:
        row = session.scalar(
            select(UcpCheckoutSession)
            .join(UcpHandoff, UcpHandoff.session_id == UcpCheckoutSession.id)
            .where(UcpHandoff.code == link.short_code)
            .with_for_update()
        )
        if row is None or current_status(row, datetime.now(UTC)) in FINAL:
            return
        if row.order_public_id and paid_order(session, row) is not None:
            return
        row.order_public_id = order_public_id


def paid_order(session: Session, row: UcpCheckoutSession) -> Order | None:
    """The order recorded on ``row`` if it has been paid (a buyer who paid on our page)."""
    if not row.order_public_id:
        return None
    return session.scalar(
        select(Order).where(Order.public_id == row.order_public_id, Order.paid_at.is_not(None))
    )


def current_status(row: UcpCheckoutSession, now: datetime) -> str:
    if row.status not in FINAL and aware(row.expires_at) <= now:
        return "canceled"
    return row.status


def forget_old(session: Session, before: datetime) -> int:
    """Delete sessions that expired before ``before``, with their hand-off records
    (deleted explicitly: SQLite does not always enforce ``ON DELETE CASCADE``)."""
    old = select(UcpCheckoutSession.id).where(UcpCheckoutSession.expires_at < before)
    session.execute(delete(UcpHandoff).where(UcpHandoff.session_id.in_(old)))
    result = session.execute(
        delete(UcpCheckoutSession).where(UcpCheckoutSession.expires_at < before)
    )
    return int(getattr(result, "rowcount", 0) or 0)


# -- the checkout they make --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Evaluation:
    """What the choices make now: the cart and its quote, the UCP messages, the status,
    the address the parcel goes to, and each product's picture."""

    cart: tuple[CartLine, ...]
    quote: Quote
    messages: Sequence[Mapping[str, Any]]
    status: str
    ship_to: Address | None = None
    images: Mapping[str, str] = field(default_factory=dict)


def _error(
    code: str, content: str, path: str | None, severity: str = "recoverable"
) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "error", "code": code}
    if path:
        out["path"] = path
    return {**out, "content": content, "severity": severity}


def buyer_name(choices: Choices) -> str:
    for source in (choices.buyer, choices.destination or {}):
        name = " ".join(p for p in (source.get("first_name"), source.get("last_name")) if p)
        if name:
            return name[:200]
    return ""


def evaluate(
    session: Session, choices: Choices, agent: Agent, *, can_complete: bool, now: datetime
) -> Evaluation:
    """Quote ``choices`` and judge them. Raises ``ProductUnavailable`` or ``InvalidInput``
    (naming the line) when the lines cannot make a checkout at all."""
    seen: dict[str, int] = {}
    for position, (sku, _) in enumerate(choices.lines, start=1):
        if sku in seen:
            raise InvalidInput(
                f"Line {position}: {sku} is already line {seen[sku]}; give each product once."
            )
        seen[sku] = position
    currency = None
    if choices.currency:  # the agent's hint, if every line is priced in it
        skus = [sku for sku, _ in choices.lines]
        currency = price_lists.checkout_currency(session, skus, asked=choices.currency, region=None)
    cart = quoting.cart_lines(session, choices.lines, currency=currency or None)
    notes: list[dict[str, Any]] = []
    stock = {row.sku: row for row in session.execute(_STOCK, {"skus": list(seen)})}
    for n, line in enumerate(cart):
        row = stock.get(line.product.sku)
        left = max(row.on_hand - row.reserved, 0) if row is not None else 0
        if line.quantity > left:
            what = "is sold out" if left == 0 else f"has only {left} left"
            notes.append(
                _error("out_of_stock", f"{line.product.title} {what}.", f"$.line_items[{n}]")
            )
    ship_to = None
    needs_address = shipping.needs_address(cart)
    if needs_address and choices.destination:
        ship_to, refusals = addresses.validate(
            addresses.from_ucp(choices.destination), path=DESTINATION_PATH
        )
        notes.extend(message(note) for note in refusals)
    elif needs_address and agent.fulfillment:
        notes.append(
            _error("missing", "Add a shipping address.", "$.fulfillment.methods[0].destinations")
        )
    email = choices.buyer.get("email", "")
    request = quoting.QuoteRequest(
        lines=choices.lines,
        ship_to=ship_to,
        codes=choices.codes,
        shipping_option=choices.option,
        email=email or None,
        currency=currency or None,
    )
    quote = quoting.quote(session, request, now=now, lines=cart)
    notes.extend(message(note) for note in quote.messages)
    if not email:
        notes.append(_error("missing", "Add the buyer's email address.", "$.buyer.email"))
    elif not EMAIL_PATTERN.match(email):
        notes.append(
            _error(
                "invalid_email", "Enter an email address like name@example.com.", "$.buyer.email"
            )
        )
    if not buyer_name(choices):
        notes.append(
            _error("missing", "Add the buyer's first and last name.", "$.buyer.first_name")
        )
    errors = [n for n in notes if n["type"] == "error"]
    if any(n["severity"] == "recoverable" for n in errors):
        status = "incomplete"
    elif needs_address and not agent.fulfillment:
        notes.append(
            _error(
                "fulfillment_required",
                "The buyer gives the shipping address on the shop's checkout page.",
                None,
                "requires_buyer_input",
            )
        )
        status = "requires_escalation"
    elif can_complete:
        status = "ready_for_complete"
    else:
        notes.append(
            _error(
                "payment_required",
                "The buyer pays on the shop's own checkout page: open continue_url.",
                None,
                "requires_buyer_input",
            )
        )
        status = "requires_escalation"
    images = {
        sku: row.image_url
        for sku, row in stock.items()
        if row.image_url and _absolute(row.image_url)
    }
    return Evaluation(cart, quote, notes, status, ship_to, images)


def _absolute(url: str) -> bool:
    return url.startswith(("https://", "http://"))


def blocked(evaluation: Evaluation) -> bool:
    return evaluation.quote.blocked or evaluation.status != "ready_for_complete"


__all__ = [
    "FINAL",
    "TTL",
    "Evaluation",
    "Severity",
    "add_handoff",
    "blocked",
    "buyer_name",
    "choices_of",
    "current_status",
    "evaluate",
    "find",
    "find_continued",
    "forget_old",
    "insert",
    "order_placed",
    "paid_order",
    "state_hash",
    "write_choices",
]
