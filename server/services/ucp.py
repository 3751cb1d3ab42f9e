"""UCP checkout sessions over REST (2026-04-08): negotiate with the agent, create, read,
update and cancel sessions, and answer each write once per ``Idempotency-Key``.

Completing and the hand-off to our own checkout live in :mod:`.ucp_complete`. Each use case
returns an :class:`Answer` (HTTP status and JSON body) for the view to send; business
outcomes (a code that does not apply, an address we cannot ship to, an unknown session) are
HTTP 200 with UCP ``messages``, and only protocol problems raise: :class:`BadShape` (400),
``Conflict`` (409: an idempotency conflict, or a session that is final),
``NegotiationFailed`` (the spec's codes and statuses).

A session answers only the agent that created it (any other gets the spec's not-found), and
reads ``completed`` once the buyer has paid for it on our page (:func:`settle_from_page`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.db import read_session, write_session
from buybutton_server.db.models import UcpCheckoutSession, utcnow
from buybutton_server.domain import shop_profile, ucp_idempotency, ucp_profiles, ucp_sessions
from buybutton_server.domain.ucp_profiles import Agent, NegotiationFailed, ProfileCache
from buybutton_server.domain.ucp_sessions import Evaluation
from buybutton_server.domain.ucp_shapes import (
    BadShape,
    Choices,
    discounts,
    envelope,
    error_response,
    fulfillment,
    line_items,
    read_choices,
    totals,
)
from buybutton_server.errors import Conflict, InvalidInput, ProductUnavailable, ShopError
from buybutton_server.payments.base import PaymentProvider

__all__ = [
    "Answer",
    "BadShape",
    "Immutable",
    "NegotiationFailed",
    "Shop",
    "business_profile",
    "cancel",
    "create",
    "get",
    "negotiate",
    "run_write",
    "update",
]


class Immutable(Conflict):
    """A write to a completed or canceled session (409)."""

    code = "checkout_immutable"


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Shop:
    """What every use case needs: the database, the negotiated agent, our base URL, the
    payment provider and how long an order holds stock while it is paid."""

    factory: sessionmaker[Session]
    agent: Agent
    base_url: str
    provider: PaymentProvider
    hold_for: timedelta = timedelta(minutes=15)

    @property
    def agent_key(self) -> str:
        """Who owns the sessions this agent creates: the SHA-256 of its profile URL."""
        return ucp_idempotency.agent_of(self.agent.profile_url)

    @property
    def can_complete(self) -> bool:
        """Whether the platform can pay through the API: our test payment handler, offered
        by the test provider only, and declared by the platform too."""
        return self.provider.name == "test" and ucp_profiles.TEST_HANDLER in self.agent.handlers

    def continue_url(self, continue_id: str) -> str:
        return f"{self.base_url}/ucp/continue/{continue_id}"


def business_profile(base_url: str, provider: PaymentProvider) -> dict[str, Any]:
    return ucp_profiles.business_profile(base_url, test_payments=provider.name == "test")


def negotiate(
    cache: ProfileCache, header: str | None, *, allow_private: bool, ports: tuple[int, ...]
) -> Agent:
    """The platform named in ``UCP-Agent``, its profile fetched (or cached) and negotiated.
    Raises :class:`NegotiationFailed`."""
    url = ucp_profiles.profile_url(header, allow_http=allow_private)
    profile = cache.get(url)
    if profile is None:
        with cache.fetch_slot():
            raw = ucp_profiles.fetch_profile(url, allow_private=allow_private, ports=ports)
        profile = ucp_profiles.read_profile(raw)
        cache.put(url, profile)
    return ucp_profiles.negotiate(profile, url)


# -- rendering ---------------------------------------------------------------------------------


def _links(session: Session) -> list[dict[str, str]]:
    identity = shop_profile.identity(session)
    pairs = (
        ("terms_of_service", identity.terms_url, "Terms of service"),
        ("privacy_policy", identity.privacy_url, "Privacy policy"),
        ("refund_policy", identity.returns_url, "Returns and refunds"),
    )
    return [{"type": kind, "url": url, "title": title} for kind, url, title in pairs if url]


def handlers(shop: Shop) -> dict[str, Any]:
    if not shop.can_complete:
        return {}
    return {ucp_profiles.TEST_HANDLER: [ucp_profiles.test_handler(shop.base_url)]}


def render(
    shop: Shop,
    session: Session,
    row: UcpCheckoutSession,
    choices: Choices,
    evaluation: Evaluation,
    *,
    status: str | None = None,
    extra: tuple[Mapping[str, Any], ...] = (),
    order: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The checkout object for ``row`` as ``evaluation`` found it."""
    quote = evaluation.quote
    shown = status or evaluation.status
    body: dict[str, Any] = {
        "ucp": envelope(shop.agent, handlers(shop)),
        "id": row.public_id,
        "status": shown,
        "currency": quote.currency,
        "line_items": line_items(quote, evaluation.images),
        "totals": totals(quote),
        "messages": [*extra, *evaluation.messages] if shown not in ucp_sessions.FINAL else [*extra],
        "links": _links(session),
        "expires_at": ucp_sessions.aware(row.expires_at).isoformat().replace("+00:00", "Z"),
    }
    if choices.buyer:
        body["buyer"] = dict(choices.buyer)
    if shop.agent.discounts:
        body["discounts"] = discounts(quote, choices.codes)
    if shop.agent.fulfillment:
        found = fulfillment(quote, evaluation.cart, choices.destination)
        if found is not None:
            body["fulfillment"] = found
    if shown not in ucp_sessions.FINAL and row.continue_id:
        body["continue_url"] = shop.continue_url(row.continue_id)
    if order is not None:
        body["order"] = dict(order)
    return body


def _no_checkout(shop: Shop, error: ShopError, severity: str) -> Answer:
    code = "item_unavailable" if isinstance(error, ProductUnavailable) else "invalid_cart"
    note = {"type": "error", "code": code, "content": error.message, "severity": severity}
    return Answer(200, error_response(shop.agent.version, [note]))


def not_found(shop: Shop) -> Answer:
    note = {
        "type": "error",
        "code": "not_found",
        "content": "There is no checkout session with this id.",
        "severity": "unrecoverable",
    }
    return Answer(200, error_response(shop.agent.version, [note]))


def ended(row: UcpCheckoutSession) -> dict[str, Any]:
    """A final session as it ended; one that expired reads as canceled."""
    body: dict[str, Any] = json.loads(row.answer)
    if row.status not in ucp_sessions.FINAL:  # expired
        body["status"] = "canceled"
        body.pop("continue_url", None)
        body["messages"] = [
            {"type": "info", "code": "expired", "content": "This checkout session expired."}
        ]
    return body


def settle_from_page(session: Session, row: UcpCheckoutSession, base_url: str) -> bool:
    """Mark ``row`` completed, with its order, when the buyer paid for it on our page (an
    order placed through its ``continue_url``); True then. The checkout reads as the agent
    last saw it, with the order; the order holds what was paid."""
    if row.status in ucp_sessions.FINAL:
        return False
    order = ucp_sessions.paid_order(session, row)
    if order is None:
        return False
    body: dict[str, Any] = {**json.loads(row.answer or "{}"), "status": "completed"}
    body.pop("continue_url", None)
    body["messages"] = []
    body["order"] = {
        "id": order.public_id,
        "label": order.number,
        "permalink_url": f"{base_url}/orders/{order.public_id}",
    }
    row.status = "completed"
    row.answer = json.dumps(body, separators=(",", ":"))
    row.updated_at = utcnow()
    session.flush()
    return True


def save(row: UcpCheckoutSession, choices: Choices, status: str, body: Mapping[str, Any]) -> None:
    ucp_sessions.write_choices(row, choices)
    row.status = status
    row.currency = str(body.get("currency") or row.currency)
    row.answer = json.dumps(body, separators=(",", ":"))
    row.updated_at = utcnow()


# -- the use cases -----------------------------------------------------------------------------


def create(shop: Shop, data: object) -> Answer:
    choices = read_choices(data, shop.agent)
    now = utcnow()
    with write_session(shop.factory) as session:
        try:
            evaluation = ucp_sessions.evaluate(
                session, choices, shop.agent, can_complete=shop.can_complete, now=now
            )
        except (ProductUnavailable, InvalidInput) as error:
            return _no_checkout(shop, error, "unrecoverable")
        row = ucp_sessions.insert(
            session,
            choices,
            agent=shop.agent_key,
            currency=evaluation.quote.currency,
            now=now,
        )
        body = render(shop, session, row, choices, evaluation)
        save(row, choices, evaluation.status, body)
        return Answer(201, body)


def get(shop: Shop, public_id: str) -> Answer:
    now = utcnow()
    with read_session(shop.factory) as session:
        row = ucp_sessions.find(session, public_id, agent=shop.agent_key)
        if row is None:
            return not_found(shop)
        paid_here = row.status not in ucp_sessions.FINAL and row.order_public_id is not None
    if paid_here:  # an order placed through continue_url: paid by now?
        with write_session(shop.factory) as session:
            row = ucp_sessions.find(session, public_id, agent=shop.agent_key, lock=True)
            if row is not None and settle_from_page(session, row, shop.base_url):
                return Answer(200, json.loads(row.answer))
    with read_session(shop.factory) as session:
        row = ucp_sessions.find(session, public_id, agent=shop.agent_key)
        if row is None:  # pragma: no cover - sessions are not deleted while they are read
            return not_found(shop)
        if ucp_sessions.current_status(row, now) in ucp_sessions.FINAL:
            return Answer(200, ended(row))
        choices = ucp_sessions.choices_of(row)
        try:
            evaluation = ucp_sessions.evaluate(
                session, choices, shop.agent, can_complete=shop.can_complete, now=now
            )
        except (ProductUnavailable, InvalidInput) as error:
            return _no_checkout(shop, error, "recoverable")
        busy = row.status if row.status == "complete_in_progress" else None
        return Answer(200, render(shop, session, row, choices, evaluation, status=busy))


def open_row(session: Session, shop: Shop, public_id: str) -> UcpCheckoutSession | None:
    """The agent's session to write, or None; raises :class:`Immutable` for a final one (an
    expired one is marked canceled first, one the buyer paid for on our page completed) or
    ``Conflict`` while it is being completed."""
    row = ucp_sessions.find(session, public_id, agent=shop.agent_key, lock=True)
    if row is None:
        return None
    if settle_from_page(session, row, shop.base_url):
        raise Immutable("This checkout session is completed; it cannot change any more.")
    status = ucp_sessions.current_status(row, utcnow())
    if status in ucp_sessions.FINAL:
        if row.status != status:  # expired now: it stays canceled
            row.answer = json.dumps(ended(row), separators=(",", ":"))
            row.status = status
            session.flush()
        raise Immutable(f"This checkout session is {status}; it cannot change any more.")
    if status == "complete_in_progress":
        raise Conflict("This checkout session is being completed.", code="complete_in_progress")
    return row


def update(shop: Shop, public_id: str, data: object) -> Answer:
    now = utcnow()
    with write_session(shop.factory) as session:
        row = open_row(session, shop, public_id)
        if row is None:
            return not_found(shop)
        choices = read_choices(data, shop.agent, ucp_sessions.choices_of(row))
        try:
            evaluation = ucp_sessions.evaluate(
                session, choices, shop.agent, can_complete=shop.can_complete, now=now
            )
        except (ProductUnavailable, InvalidInput) as error:
            return _no_checkout(shop, error, "recoverable")
        body = render(shop, session, row, choices, evaluation)
        save(row, choices, evaluation.status, body)
        return Answer(200, body)


def cancel(shop: Shop, public_id: str) -> Answer:
    now = utcnow()
    with write_session(shop.factory) as session:
        row = open_row(session, shop, public_id)
        if row is None:
            return not_found(shop)
        choices = ucp_sessions.choices_of(row)
        try:
            evaluation = ucp_sessions.evaluate(
                session, choices, shop.agent, can_complete=False, now=now
            )
        except (ProductUnavailable, InvalidInput):
            body = {**json.loads(row.answer), "status": "canceled", "messages": []}
            body.pop("continue_url", None)
        else:
            body = render(shop, session, row, choices, evaluation, status="canceled")
        save(row, choices, "canceled", body)
        return Answer(200, body)


def run_write(
    shop: Shop, key: str | None, fingerprint: str, operation: Callable[[], Answer]
) -> Answer:
    """Run ``operation`` once per ``Idempotency-Key``: the same key and request get the
    first answer again (nothing runs twice, a payment included), another request under the
    key a 409. A protocol error (raised) forgets the claim, so the request may be retried."""
    key = ucp_idempotency.check_key(key)
    agent = ucp_idempotency.agent_of(shop.agent.profile_url)
    with write_session(shop.factory) as session:
        stored = ucp_idempotency.claim(session, agent, key, fingerprint)
    if stored is not None:
        return Answer(stored.status, json.loads(stored.body))
    try:
        answer = operation()
    except BaseException:
        with write_session(shop.factory) as session:
            ucp_idempotency.forget(session, agent, key)
        raise
    body = json.dumps(answer.body, separators=(",", ":"))
    with write_session(shop.factory) as session:
        ucp_idempotency.store(
            session, agent, key, ucp_idempotency.StoredAnswer(answer.status, body)
        )
    return answer
