"""UCP follow-ups and two review findings; the security tests perform the attack.

- A session id is no bearer key: sessions answer only the agent that created them, and
  ``continue_url`` names the session by an id of its own that the API never accepts.
- ``/orders/find``: posts naming a victim's email with wrong numbers do not lock the victim
  out (the limit counts email and order number together; the per-client limit stays).
- The retention job forgets expired UCP sessions and old UCP idempotency answers.
- A session whose buyer pays on our page (through ``continue_url``) reads ``completed``
  with the order, and never changes again.
- The test payment handler's ``spec`` and ``schema`` URLs are served.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton_server import Settings, create_app
from buybutton_server.db import write_session
from buybutton_server.db.models import (
    Order,
    UcpCheckoutSession,
    UcpHandoff,
    UcpIdempotencyKey,
    utcnow,
)
from buybutton_server.domain import retention, ucp_handler
from buybutton_server.domain.order_links import lookup_key
from buybutton_server.domain.ucp_profiles import TEST_HANDLER, TEST_HANDLER_ID
from buybutton_server.settings_rules import Retention
from tests import test_ucp
from tests.conftest import BASE_URL, GOOD_CARD, SHOPPER, add_product, attempt_key, path_of
from tests.test_mail import messages
from tests.test_order_links import ClientFromHeader, find, paid
from tests.test_ucp import LINES, Agent, Platform, german_update, platform_profile, valid

# The UCP suite's fixtures: a demo shop, a platform serving profiles, an agent.
shop = test_ucp.shop
platform = test_ucp.platform
agent = test_ucp.agent


def _row(sessions: sessionmaker[Session], public_id: str) -> UcpCheckoutSession:
    with sessions() as session:
        row = session.scalar(
            select(UcpCheckoutSession).where(UcpCheckoutSession.public_id == public_id)
        )
        assert row is not None
        return row


def _not_found(answer: Any) -> None:
    assert answer.status_code == 200, answer.text
    body = valid(answer.json())
    assert body["ucp"]["status"] == "error"
    assert [m["code"] for m in body["messages"]] == ["not_found"]


def _continue_id(body: dict[str, Any]) -> str:
    url = body["continue_url"]
    assert url.startswith(f"{BASE_URL}/ucp/continue/")
    return str(url.rsplit("/", 1)[1])


# -- a session id is no bearer key ----------------------------------------------------------------


def test_another_agent_cannot_read_update_complete_or_cancel_a_session(
    agent: Agent,
    shop: TestClient,
    platform: Platform,
    sessions: sessionmaker[Session],
) -> None:
    body = valid(agent.create(german_update(["WELCOME10"])).json())
    id = body["id"]
    assert body["status"] == "ready_for_complete"
    before = _row(sessions, id)
    # The same profile document, served from another URL: another agent.
    thief = Agent(shop, platform.serve("thief", platform_profile()))
    _not_found(thief.get(id))
    _not_found(thief.update(id, german_update([])))
    _not_found(thief.complete(id, "success_token"))
    _not_found(thief.cancel(id))
    after = _row(sessions, id)
    assert (after.status, after.answer, after.codes) == (before.status, before.answer, before.codes)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 0
    # Its owner still works with it.
    assert valid(agent.get(id).json())["status"] == "ready_for_complete"


def test_the_id_in_continue_url_opens_our_page_only(
    agent: Agent, shop: TestClient, sessions: sessionmaker[Session]
) -> None:
    body = valid(agent.create(german_update(["WELCOME10"])).json())
    id, continued = body["id"], _continue_id(body)
    assert id not in body["continue_url"] and continued != id
    before = _row(sessions, id)
    # Whoever holds the continue_url (the buyer, a forwarded chat) cannot drive the session.
    for answer in (
        agent.get(continued),
        agent.update(continued, german_update([])),
        agent.complete(continued, "success_token"),
        agent.cancel(continued),
    ):
        _not_found(answer)
    after = _row(sessions, id)
    assert (after.status, after.answer) == (before.status, before.answer)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 0
    # The session id opens no hand-off either; the continue id does.
    assert shop.get(f"/ucp/continue/{id}").status_code == 404
    assert shop.get(path_of(body["continue_url"])).status_code == 303


# -- paid on our page ---------------------------------------------------------------------------


def _pay_on_our_page(shop: TestClient, continue_url: str) -> None:
    hop = shop.get(path_of(continue_url))
    assert hop.status_code == 303, hop.text
    signed = shop.get(hop.headers["location"])
    assert signed.status_code in (302, 303, 307)
    path = path_of(signed.headers["location"])
    page = shop.get(path)
    assert page.status_code == 200, page.text
    form = {
        "attempt": attempt_key(page.text),
        "email": "jonas@example.com",
        "name": "Jonas Weber",
        "line1": "Unter den Linden 1",
        "city": "Berlin",
        "postal_code": "10117",
        "country": "DE",
        **GOOD_CARD,
    }
    paid = shop.post(path, data=form, follow_redirects=False)
    assert paid.status_code == 303, paid.text


def test_a_session_paid_on_our_page_becomes_completed_with_the_order(
    shop: TestClient, platform: Platform, sessions: sessionmaker[Session]
) -> None:
    plain = Agent(shop, platform.serve("plain", platform_profile(payment_handlers={})))
    body = valid(plain.create(german_update(["WELCOME10"])).json())
    assert body["status"] == "requires_escalation"
    id = body["id"]
    _pay_on_our_page(shop, body["continue_url"])
    with sessions() as session:
        [order] = session.scalars(select(Order)).all()
        assert order.status == "paid" and order.source == "ucp"
    done = valid(plain.get(id).json())
    assert done["status"] == "completed" and "continue_url" not in done
    assert done["order"] == {
        "id": order.public_id,
        "label": order.number,
        "permalink_url": f"{BASE_URL}/orders/{order.public_id}",
    }
    assert _row(sessions, id).status == "completed"
    # Final now: the agent cannot change it, and continue_url shows the order.
    for refused in (plain.update(id, german_update([])), plain.cancel(id)):
        assert refused.status_code == 409 and refused.json()["code"] == "checkout_immutable"
    again = shop.get(path_of(body["continue_url"]))
    assert again.status_code == 303 and again.headers["location"] == f"/orders/{order.public_id}"


def test_a_write_after_the_page_payment_is_refused_before_any_read(
    shop: TestClient, platform: Platform, sessions: sessionmaker[Session]
) -> None:
    plain = Agent(shop, platform.serve("plain", platform_profile(payment_handlers={})))
    body = valid(plain.create(german_update([])).json())
    _pay_on_our_page(shop, body["continue_url"])
    refused = plain.update(body["id"], german_update(["WELCOME10"]))
    assert refused.status_code == 409 and refused.json()["code"] == "checkout_immutable"
    assert valid(plain.get(body["id"]).json())["status"] == "completed"


def test_an_order_through_a_plain_short_link_touches_no_session(
    agent: Agent, shop: TestClient, sessions: sessionmaker[Session]
) -> None:
    body = valid(agent.create(german_update([])).json())
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(UcpHandoff)) == 0
    shop.get(path_of(body["continue_url"]))
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(UcpHandoff)) == 1
    assert _row(sessions, body["id"]).order_public_id is None


# -- retention ----------------------------------------------------------------------------------


def test_the_retention_job_forgets_old_ucp_sessions_and_keys(
    agent: Agent, shop: TestClient, sessions: sessionmaker[Session]
) -> None:
    old = valid(agent.create({"line_items": LINES}).json())
    shop.get(path_of(old["continue_url"]))  # a hand-off record too
    recent = valid(agent.create({"line_items": LINES}).json())
    now = utcnow()
    with write_session(sessions) as session:
        row = session.scalar(
            select(UcpCheckoutSession).where(UcpCheckoutSession.public_id == old["id"])
        )
        assert row is not None
        row.expires_at = now - timedelta(days=8)
        keys = session.scalars(select(UcpIdempotencyKey).order_by(UcpIdempotencyKey.id)).all()
        assert len(keys) == 2
        keys[0].created_at = now - timedelta(days=8)
        keys[1].created_at = now - timedelta(days=1)  # within the 48 hours kept at least
    done = retention.prune(sessions, Retention(idempotency=1), now=now)
    assert done.counts["UCP checkout sessions"] == 1
    assert done.counts["UCP idempotency answers"] == 1
    with sessions() as session:
        left = session.scalars(select(UcpCheckoutSession.public_id)).all()
        assert left == [recent["id"]]
        assert session.scalar(select(func.count()).select_from(UcpHandoff)) == 0
        assert session.scalar(select(func.count()).select_from(UcpIdempotencyKey)) == 1


# -- the test payment handler's documents ------------------------------------------------------


def test_the_test_handlers_spec_and_schema_are_served(shop: TestClient) -> None:
    handler = shop.get("/.well-known/ucp").json()["ucp"]["payment_handlers"][TEST_HANDLER][0]
    spec = shop.get(path_of(handler["spec"]))
    assert spec.status_code == 200
    assert spec.headers["content-type"].startswith("text/markdown")
    assert TEST_HANDLER in spec.text and "success_token" in spec.text
    answer = shop.get(path_of(handler["schema"]))
    assert answer.status_code == 200
    assert "public" in answer.headers["cache-control"]
    schema = answer.json()
    assert schema["$id"] == handler["schema"] == f"{BASE_URL}{ucp_handler.SCHEMA_PATH}"
    Draft202012Validator.check_schema(schema)
    defs = schema["$defs"]
    config = Draft202012Validator({**defs["test_config"]})
    assert not list(config.iter_errors(handler["config"]))
    instrument = Draft202012Validator({"$defs": defs, "$ref": "#/$defs/test_instrument"})
    good = {
        "id": "pi_1",
        "handler_id": TEST_HANDLER_ID,
        "type": "card",
        "credential": {"type": "token", "token": "success_token"},
    }
    assert not list(instrument.iter_errors(good))
    card = {**good, "credential": {"type": "card", "number": "4242424242424242"}}
    assert list(instrument.iter_errors(card))


# -- /orders/find cannot be used to lock a buyer out ---------------------------------------------


@pytest.fixture
def find_client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(ClientFromHeader(create_app(settings)), base_url=BASE_URL) as client:
        yield client


def test_posts_with_a_victims_email_do_not_lock_the_victim_out(
    find_client: TestClient, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions, stock=5)
    order = paid(sessions)
    attacks = [
        find(find_client, SHOPPER["email"], f"BB-WRONG{n:03d}", ip=f"198.51.100.{n}")
        for n in range(8)
    ]
    assert [a.status_code for a in attacks] == [200] * 8
    assert messages(sessions, "order_link") == []
    # The victim, from their own address, still gets the link mailed.
    mine = find(find_client, SHOPPER["email"], order.number, ip="203.0.113.50")
    assert mine.status_code == 200
    [mailed] = messages(sessions, "order_link")
    assert mailed.to_address == SHOPPER["email"] and mailed.order_id == order.id
    # The per-client limit still holds for the attacker's one address.
    tries = [
        find(find_client, SHOPPER["email"], f"BB-GUESS{n:03d}", ip="192.0.2.66") for n in range(11)
    ]
    assert [a.status_code for a in tries] == [200] * 10 + [429]
    # And one email with one number is still limited (5 per hour).
    same = [
        find(find_client, "someone@example.com", "BB-SAME0001", ip=f"198.51.100.{100 + n}")
        for n in range(6)
    ]
    assert [a.status_code for a in same] == [200] * 5 + [429]


def test_the_limit_key_names_email_and_number_by_a_digest() -> None:
    key = lookup_key(" Ana@Example.com ", "bb-7k2q9")
    assert key == lookup_key("ana@example.com", "BB-7K2Q9")
    assert key != lookup_key("ana@example.com", "BB-7K2Q8")
    assert "@" not in key and len(key) == 32
