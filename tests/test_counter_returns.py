"""Return in store (issue 15, item 5): an order bought online comes back at a store's counter;
the units go back on THAT store's shelf (or nowhere when damaged), the refund goes through the
original payment, ``return.received`` names the store; a store that takes no returns, another
store's page and a foreign CSRF token are refused with nothing written."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from httpx2 import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton_server import Settings
from buybutton_server.db.models import Order, Refund, Return, WebhookEvent
from buybutton_server.domain import admin_auth, inventory
from buybutton_server.domain.admin_auth import ScryptCost
from tests.conftest import add_product, product
from tests.order_helpers import paid_order
from tests.test_counter import CLERK_A, CLERK_B, add_login, add_store, browser

MAIN_STOCK = 10
Sessions = sessionmaker[Session]
Stores = dict[str, int]


@pytest.fixture(autouse=True)
def cheap_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(admin_auth, "COST", ScryptCost(n=2**14, r=8, p=1))


@pytest.fixture
def stores(sessions: sessionmaker[Session]) -> dict[str, int]:
    add_product(sessions, stock=MAIN_STOCK)
    ids = {"C": add_store(sessions, "STORE-C"), "B": add_store(sessions, "STORE-B", returns=False)}
    add_login(sessions, CLERK_A, "staff", {ids["C"]})
    add_login(sessions, CLERK_B, "staff", {ids["B"]})
    return ids


@pytest.fixture
def clerk_c(settings: Settings, stores: dict[str, int]) -> Iterator[TestClient]:
    client = browser(settings, CLERK_A)
    yield client
    client.__exit__(None, None, None)


def bought_online(sessions: sessionmaker[Session]) -> Order:
    """A paid delivery order of 2 mugs, shipped from MAIN (written as settlement leaves it)."""
    return paid_order(sessions, [("MUG-01", 2)])


def form_of(client: TestClient, number: str) -> dict[str, str]:
    page = client.get(f"/store/STORE-C/returns?number={number}")
    assert page.status_code == 200, page.text
    fields = dict(re.findall(r'name="(csrf|key|number)" value="([^"]*)"', page.text))
    line = re.search(r'name="(qty-\d+)"', page.text)
    assert line is not None
    return {**fields, "line": line[1]}


def give_back(
    client: TestClient, form: dict[str, str], units: str, reason: str, restock: str
) -> Response:
    """Post the counter's return form for ``units`` of the order's line (not followed)."""
    return client.post(
        "/store/STORE-C/returns",
        data={**form, form["line"]: units, "reason": reason, "restock": restock},
        follow_redirects=False,
    )


def levels(sessions: sessionmaker[Session], location_id: int | None) -> tuple[int, int]:
    with sessions() as session:
        return inventory.level_of(session, product(sessions).id, location_id)


def received_events(sessions: sessionmaker[Session]) -> list[dict]:  # type: ignore[type-arg]
    with sessions() as session:
        rows = session.scalars(
            select(WebhookEvent.payload).where(WebhookEvent.type == "return.received")
        )
        return [json.loads(row)["data"] for row in rows]


def test_a_return_at_the_counter_restocks_that_store_and_refunds(
    clerk_c: TestClient, sessions: Sessions, stores: Stores
) -> None:
    order = bought_online(sessions)
    form = form_of(clerk_c, order.number)
    answer = give_back(clerk_c, form, "1", "changed_mind", "yes")
    assert answer.status_code == 303, answer.text
    done = clerk_c.get(answer.headers["location"])
    assert "refunded $24.00" in done.text and "back on this store" in done.text
    assert levels(sessions, stores["C"]) == (1, 0)  # at the store that took it
    assert levels(sessions, None) == (MAIN_STOCK, 0)  # not where it was shipped from
    with sessions() as session:
        ret = session.scalar(select(Return))
        assert ret is not None and ret.status == "refunded" and ret.location_id == stores["C"]
        refund = session.scalar(select(Refund))
        assert refund is not None and refund.amount == 2400
        assert session.get_one(Order, order.id).refunded_amount == 2400
    [event] = received_events(sessions)
    assert event["location"]["code"] == "STORE-C" and event["return"]["location"] == "STORE-C"
    # The same form posted again makes no second return or refund.
    again = give_back(clerk_c, form, "1", "changed_mind", "yes")
    assert again.status_code == 303
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Refund)) == 1


def test_damaged_units_are_not_restocked(
    clerk_c: TestClient, sessions: Sessions, stores: Stores
) -> None:
    order = bought_online(sessions)
    form = form_of(clerk_c, order.number)
    answer = give_back(clerk_c, form, "2", "damaged", "no")
    assert answer.status_code == 303
    assert levels(sessions, stores["C"]) == (0, 0)
    assert levels(sessions, None) == (MAIN_STOCK, 0)
    with sessions() as session:
        assert session.get_one(Order, order.id).refunded_amount == 4800


def test_more_than_was_bought_is_refused(
    clerk_c: TestClient, sessions: Sessions, stores: Stores
) -> None:
    order = bought_online(sessions)
    form = form_of(clerk_c, order.number)
    answer = give_back(clerk_c, form, "3", "changed_mind", "yes")
    assert answer.status_code == 409 and "at most 2 more" in answer.text
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Return)) == 0


def test_a_store_without_returns_and_another_store_are_refused(
    settings: Settings, clerk_c: TestClient, sessions: Sessions, stores: Stores
) -> None:
    order = bought_online(sessions)
    clerk_b = browser(settings, CLERK_B)
    page = clerk_b.get(f"/store/STORE-B/returns?number={order.number}")
    assert page.status_code == 409 and "does not take returns" in page.text
    form = form_of(clerk_c, order.number)
    # Clerk C's form posted to store B by clerk B's session: B takes no returns.
    token = re.search(r'name="csrf" value="([0-9a-f]{64})"', clerk_b.get("/store/STORE-B").text)
    assert token is not None
    refused = clerk_b.post(
        "/store/STORE-B/returns",
        data={**form, "csrf": token[1], form["line"]: "1", "reason": "other", "restock": "yes"},
    )
    assert refused.status_code == 409
    # Clerk B posting to store C (not theirs): not found.
    other = clerk_b.post(
        "/store/STORE-C/returns",
        data={**form, "csrf": token[1], form["line"]: "1", "reason": "other", "restock": "yes"},
    )
    assert other.status_code == 404
    # A foreign CSRF token on clerk C's own store.
    foreign = clerk_c.post(
        "/store/STORE-C/returns",
        data={**form, "csrf": "0" * 64, form["line"]: "1", "reason": "other", "restock": "yes"},
    )
    assert foreign.status_code in (400, 403)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Return)) == 0
    clerk_b.__exit__(None, None, None)
