"""A seller that cannot be paid (payouts not enabled), issue 17: its lines go to the head
office, or (``unready: refuse``) its product cannot be bought: on the checkout page, in the
JSON payment path and through UCP the shopper (or agent) is told why, and nothing is
written or charged."""

# ruff: noqa: F811  (fixtures imported from other test modules, used by name)
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton import BuyButton
from buybutton_server.db import write_session
from buybutton_server.db.models import CommissionLine, Order
from buybutton_server.domain import commissions, payees
from buybutton_server.domain.commissions import RuleSpec
from tests.conftest import path_of
from tests.order_helpers import pay_on_page
from tests.test_ucp import (  # noqa: F401  (fixtures: the UCP shop and its agent)
    Agent,
    agent,
    german_update,
    platform,
    shop,
    valid,
)

REFUSED = "Stoneware Mug cannot be sold right now: its store is not ready to be paid."


def seller_of_the_mug(sessions: sessionmaker[Session], *, ready: bool, unready: str) -> int:
    """Store B sells MUG-01 (a product rule: 20 % to the head office); Stripe has its
    details but has not enabled its payouts unless ``ready``."""
    with write_session(sessions) as session:
        payee = payees.create_payee(
            session, code="store-b", name="Store B", kind="seller", unready=unready
        )
        payee.stripe_account = "acct_b"
        payee.status = "active" if ready else "restricted"
        payee.charges_enabled = True
        payee.payouts_enabled = ready
        payee.details_submitted = True
        commissions.add_rule(session, payee.id, RuleSpec(sku="MUG-01", percent_bp=2000))
        return payee.id


def counts(sessions: sessionmaker[Session]) -> tuple[int, int]:
    with sessions() as session:
        return (
            session.scalar(select(func.count(Order.id))) or 0,
            session.scalar(select(func.count(CommissionLine.id))) or 0,
        )


def test_the_checkout_page_and_the_json_path_refuse_it(
    shop: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    seller_of_the_mug(sessions, ready=False, unready="refuse")
    url = path_of(bb.checkout_link("MUG-01"))
    paid = pay_on_page(shop, url)
    assert paid.status_code == 404 and REFUSED in paid.text and "Nothing was charged" in paid.text
    as_json = pay_on_page(shop, url, headers={"Accept": "application/json"})
    assert as_json.status_code == 404
    assert as_json.json()["error"]["code"] == "seller_not_ready"
    assert counts(sessions) == (0, 0)


def test_falling_back_to_the_head_office_sells_it_without_a_share(
    shop: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    seller_of_the_mug(sessions, ready=False, unready="head_office")
    paid = pay_on_page(shop, path_of(bb.checkout_link("MUG-01")))
    assert paid.status_code == 303, paid.text
    assert counts(sessions) == (1, 0)  # sold by the head office: no seller's share


def test_ucp_says_why_and_completes_nothing(agent: Agent, sessions: sessionmaker[Session]) -> None:
    seller_of_the_mug(sessions, ready=False, unready="refuse")
    created = valid(agent.create(german_update([])).json())
    done = valid(agent.complete(created["id"], "success_token").json())
    assert done["status"] != "completed" and "order" not in done
    [note] = done["messages"]
    assert note["code"] == "seller_not_ready" and REFUSED in note["content"]
    assert counts(sessions) == (0, 0)


def test_once_its_payouts_are_enabled_it_sells_with_its_share(
    shop: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    seller_of_the_mug(sessions, ready=True, unready="refuse")
    paid = pay_on_page(shop, path_of(bb.checkout_link("MUG-01")))
    assert paid.status_code == 303, paid.text
    with sessions() as session:
        assert session.scalar(select(CommissionLine.amount)) == 2400 - 480
