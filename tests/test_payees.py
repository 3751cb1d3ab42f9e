"""Payees through the API and the admin (issue 17): onboarding links made when asked,
owner-only pages with CSRF, the payee's own statement page without shopper data."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton_server import Settings, create_app
from buybutton_server.db import write_session
from buybutton_server.db.models import CommissionRule, Payee, WebhookEvent
from buybutton_server.domain import admin_auth
from buybutton_server.domain.admin_auth import ScryptCost, create_admin
from tests.conftest import add_product
from tests.test_api import make_key

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def cheap_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(admin_auth, "COST", ScryptCost(n=2**14, r=8, p=1))


@pytest.fixture
def api(client: TestClient, sessions: sessionmaker[Session]) -> TestClient:
    client.headers["Authorization"] = f"Bearer {make_key(sessions, 'write')}"
    return client


def test_payees_and_rules_through_the_api(api: TestClient, sessions: sessionmaker[Session]) -> None:
    add_product(sessions, sku="BAG", price="50.00")
    made = api.post("/api/v1/payees", json={"code": "Anna", "name": "Anna K", "kind": "creator"})
    assert made.status_code == 201, made.text
    assert made.json()["code"] == "anna" and made.json()["status"] == "invited"
    assert "statement_key" not in made.json()
    again = api.post("/api/v1/payees", json={"code": "anna", "name": "A", "kind": "creator"})
    assert again.status_code == 409
    rule = api.post("/api/v1/payees/anna/rules", json={"percent_bp": 500})
    assert rule.status_code == 201 and rule.json()["rules"][0]["percent_bp"] == 500
    over = api.post("/api/v1/payees/anna/rules", json={"percent_bp": 10_001})
    assert over.status_code == 422
    too_much = api.post(
        "/api/v1/payees/anna/rules", json={"sku": "BAG", "fixed_amount": 9000, "currency": "USD"}
    )
    assert too_much.status_code == 422 and "more than BAG costs" in too_much.text
    assert api.get("/api/v1/payees/nobody").status_code == 404
    assert api.get("/api/v1/payees").json()["data"][0]["code"] == "anna"


def test_a_read_key_cannot_add_payees(client: TestClient, sessions: sessionmaker[Session]) -> None:
    auth = {"Authorization": f"Bearer {make_key(sessions, 'read')}"}
    answer = client.post(
        "/api/v1/payees", json={"code": "x", "name": "X", "kind": "seller"}, headers=auth
    )
    assert answer.status_code == 403
    with sessions() as session:
        assert session.scalar(select(Payee.id)) is None


def test_the_onboarding_link_is_made_when_asked(
    api: TestClient, sessions: sessionmaker[Session]
) -> None:
    api.post("/api/v1/payees", json={"code": "store-b", "name": "Store B", "kind": "seller"})
    answer = api.post("/api/v1/payees/store-b/onboarding-link")
    assert answer.status_code == 200, answer.text
    # The test provider's onboarding ends at once: its link is the return address.
    assert re.fullmatch(r"http://shop\.test/payee/[\w-]{43}/returned", answer.json()["url"])
    assert answer.json()["status"] == "onboarding"
    back = api.get(answer.json()["url"].removeprefix("http://shop.test"), follow_redirects=False)
    assert back.status_code == 303
    payee = api.get("/api/v1/payees/store-b").json()
    assert payee["status"] == "active" and payee["stripe_account"].startswith("acct_test_")
    with sessions() as session:
        assert list(session.scalars(select(WebhookEvent.type))).count("payee.updated") == 2


@pytest.fixture
def owner_browser(settings: Settings, sessions: sessionmaker[Session]) -> Iterator[TestClient]:
    with write_session(sessions) as session:
        create_admin(session, "owner@shop.example", PASSWORD)
        create_admin(session, "clerk@shop.example", PASSWORD, role="staff")
    with TestClient(create_app(settings), base_url="https://shop.test") as client:
        client.post("/admin/login", data={"email": "owner@shop.example", "password": PASSWORD})
        yield client


def _csrf(client: TestClient, page: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', client.get(page).text)
    assert found is not None
    return found[1]


def test_the_admin_adds_a_payee_and_a_rule(
    owner_browser: TestClient, sessions: sessionmaker[Session]
) -> None:
    page = owner_browser.get("/admin/payees")
    assert page.status_code == 200 and "No payees yet" in page.text
    bad = owner_browser.post(
        "/admin/payees",
        data={"csrf": _csrf(owner_browser, "/admin/payees"), "code": "no way!", "name": "X"},
    )
    assert bad.status_code == 422 and 'value="no way!"' in bad.text
    made = owner_browser.post(
        "/admin/payees",
        data={
            "csrf": _csrf(owner_browser, "/admin/payees"),
            "code": "anna",
            "name": "Anna",
            "kind": "creator",
        },
        follow_redirects=False,
    )
    assert made.status_code == 303
    detail = made.headers["location"].split("?")[0]
    rule = owner_browser.post(
        f"{detail}/rules",
        data={"csrf": _csrf(owner_browser, detail), "percent": "12.5"},
        follow_redirects=False,
    )
    assert rule.status_code == 303
    assert "12.50 %" in owner_browser.get(detail).text
    with sessions() as session:
        assert session.scalar(select(CommissionRule.percent_bp)) == 1250


def test_a_foreign_csrf_token_writes_nothing(
    owner_browser: TestClient, sessions: sessionmaker[Session]
) -> None:
    answer = owner_browser.post(
        "/admin/payees", data={"csrf": "0" * 64, "code": "anna", "name": "A", "kind": "creator"}
    )
    assert answer.status_code in (400, 403)
    with sessions() as session:
        assert session.scalar(select(Payee.id)) is None


def test_staff_cannot_open_the_payees_pages(settings: Settings, owner_browser: TestClient) -> None:
    with TestClient(create_app(settings), base_url="https://shop.test") as clerk:
        clerk.post("/admin/login", data={"email": "clerk@shop.example", "password": PASSWORD})
        assert clerk.get("/admin/payees").status_code == 403
    assert owner_browser.get("/admin/payees/999").status_code == 404


def test_an_unknown_statement_key_is_not_found(client: TestClient) -> None:
    assert client.get("/payee/" + "x" * 43).status_code == 404


def test_the_creator_is_signed_into_the_link_and_checked_like_source() -> None:
    from buybutton import BuyButton
    from buybutton.tokens import CheckoutLink, LinkSigner
    from tests.conftest import SECRET

    bb = BuyButton(secret_keys=[SECRET], base_url="http://shop.test")
    token = bb.checkout_link("BAG", creator="anna").rsplit("/", 1)[1]
    link = LinkSigner([SECRET]).verify(token)
    assert link.creator == "anna" and link.to_wire()["cr"] == "anna"
    assert link.without_personal_data().creator == "anna"
    with pytest.raises(ValueError, match="creator must be"):
        CheckoutLink(sku="BAG", creator="no spaces")


def test_buybutton_link_takes_creator(capsys: pytest.CaptureFixture[str]) -> None:
    import argparse

    from buybutton import cli
    from buybutton.tokens import LinkSigner
    from tests.conftest import SECRET

    parser = argparse.ArgumentParser()
    cli.define_link(parser)
    args = parser.parse_args(["BAG", "--creator", "anna"])
    bb = cli.BuyButton(secret_keys=[SECRET], base_url="http://shop.test")
    cli.print_link(bb, args, print)
    url = capsys.readouterr().out.strip()
    assert LinkSigner([SECRET]).verify(url.rsplit("/", 1)[1]).creator == "anna"
