"""Editing payees in the admin (issue 17, owner only): details, kind, locations and codes,
"when not payable", and commission rules typed as people type them ("12.5 %", "1.50"),
checked with specific messages (422, values kept, nothing written). A rule change never
touches a placed order."""

# ruff: noqa: F811  (fixtures imported from other test modules, used by name)
from __future__ import annotations

import re

from httpx2 import Response
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton_server import Settings, create_app
from buybutton_server.db import write_session
from buybutton_server.db.models import CommissionRule, DiscountCode, Payee, WebhookEvent
from buybutton_server.domain import locations, payees
from tests.test_commissions import network, place, shares
from tests.test_payees import (  # noqa: F401  (fixtures)
    PASSWORD,
    _csrf,
    cheap_scrypt,
    owner_browser,
)


def _post(client: TestClient, page: str, path: str, **fields: str) -> Response:
    return client.post(
        f"{page}{path}", data={"csrf": _csrf(client, page), **fields}, follow_redirects=False
    )


def _payee(sessions: sessionmaker[Session], payee_id: int) -> Payee:
    with sessions() as session:
        found = session.get(Payee, payee_id)
        assert found is not None
        return found


EDIT = {
    "name": "Store B, Porto",
    "kind": "seller",
    "email": "b@example.com",
    "unready": "refuse",
    "locations": "",
    "codes": "",
}


def test_the_owner_edits_a_payee(
    owner_browser: TestClient, sessions: sessionmaker[Session]
) -> None:
    ids = network(sessions)
    with write_session(sessions) as session:
        locations.create_location(session, "PORTO", {"name": "Porto store", "kind": "store"})
    page = f"/admin/payees/{ids['store-b']}"
    assert 'value="Store-B"' in owner_browser.get(page).text  # the form starts filled in
    saved = _post(owner_browser, page, "/edit", **{**EDIT, "locations": "porto"})
    assert saved.status_code == 303
    assert "The payee is saved." in owner_browser.get(saved.headers["location"]).text
    payee = _payee(sessions, ids["store-b"])
    assert (payee.name, payee.email, payee.unready) == ("Store B, Porto", "b@example.com", "refuse")
    with sessions() as session:
        assert payees.location_codes(session, payee.id) == ["PORTO"]
        assert "payee.updated" in session.scalars(select(WebhookEvent.type)).all()


def test_bad_edits_say_what_is_wrong_keep_the_values_and_write_nothing(
    owner_browser: TestClient, sessions: sessionmaker[Session]
) -> None:
    ids = network(sessions)
    page = f"/admin/payees/{ids['store-b']}"
    for fields, message in (
        ({"email": "not an address"}, "The payee&#39;s email is not an email address."),
        ({"name": ""}, "Give the payee a name of 1-200 characters."),
        ({"locations": "NOWHERE"}, "No location NOWHERE."),
        ({"codes": "WELCOME10"}, "Only a creator has discount codes of their own."),
        ({"kind": "creator"}, "delete them before changing its kind"),
        ({"unready": "maybe"}, "Choose what happens to its lines while it cannot be paid."),
    ):
        answer = _post(owner_browser, page, "/edit", **{**EDIT, "name": "Kept Name", **fields})
        assert answer.status_code == 422, fields
        assert message in answer.text, (fields, answer.text)
        if "name" not in fields:
            assert 'value="Kept Name"' in answer.text
        payee = _payee(sessions, ids["store-b"])
        assert (payee.name, payee.kind, payee.email) == ("Store-B", "seller", None)


def test_a_creator_without_rules_may_become_a_seller_and_codes_follow_the_kind(
    owner_browser: TestClient, sessions: sessionmaker[Session]
) -> None:
    with write_session(sessions) as session:
        session.add(DiscountCode(code="ANNA10", title="Anna", kind="percent", percent_bp=1000))
        anna = payees.create_payee(session, code="anna", name="Anna", kind="creator")
    page = f"/admin/payees/{anna.id}"
    fields = {**EDIT, "name": "Anna", "kind": "creator", "unready": "head_office"}
    assert _post(owner_browser, page, "/edit", **{**fields, "codes": "anna10"}).status_code == 303
    with sessions() as session:
        assert payees.discount_codes(session, anna.id) == ["ANNA10"]
    # A seller has no discount codes: keeping them while changing the kind is refused.
    refused = _post(owner_browser, page, "/edit", **{**fields, "kind": "seller", "codes": "ANNA10"})
    assert refused.status_code == 422
    assert _payee(sessions, anna.id).kind == "creator"
    assert _post(owner_browser, page, "/edit", **{**fields, "kind": "seller"}).status_code == 303
    assert _payee(sessions, anna.id).kind == "seller"


RULE = {"sku": "", "category": "", "percent": "", "fixed": "", "minimum": "", "maximum": ""}


def test_rules_are_typed_as_people_type_them_and_checked(
    owner_browser: TestClient, sessions: sessionmaker[Session]
) -> None:
    ids = network(sessions)
    page = f"/admin/payees/{ids['anna']}"
    added = _post(
        owner_browser,
        page,
        "/rules",
        **{**RULE, "percent": "12.5 %", "fixed": "0.50", "maximum": "4", "currency": "usd"},
    )
    assert added.status_code == 303
    with sessions() as session:
        rule = session.scalars(
            select(CommissionRule).where(CommissionRule.payee_id == ids["anna"])
        ).all()[-1]
        assert (rule.percent_bp, rule.fixed_amount, rule.max_amount, rule.currency) == (
            1250,
            50,
            400,
            "USD",
        )
    for fields, message in (
        ({"percent": "101"}, "The percentage is 0-100 %"),
        ({"percent": "abc"}, "Type the percentage as a number"),
        ({"percent": "5", "fixed": "1.505", "currency": "USD"}, "has more decimals than USD"),
        ({"percent": "5", "fixed": "x", "currency": "USD"}, "The fixed part"),
        ({"minimum": "5", "maximum": "2", "currency": "USD"}, "minimum is above its maximum"),
        ({"sku": "BAG", "fixed": "50.01", "currency": "USD"}, "more than BAG costs"),
        ({"percent": "5", "currency": "XXY"}, "is not a currency code"),
    ):
        answer = _post(owner_browser, page, "/rules", **{**RULE, **fields})
        assert answer.status_code == 422, fields
        assert message in answer.text, (fields, message)
        for name, value in fields.items():  # the values are kept
            assert re.search(rf'name="{name}"[^>]*value="{re.escape(value)}"', answer.text)
    with sessions() as session:
        assert len(session.scalars(select(CommissionRule)).all()) == 4  # 3 + the one added


def test_changing_a_rule_keeps_placed_orders_and_prices_new_ones(
    owner_browser: TestClient, sessions: sessionmaker[Session]
) -> None:
    ids = network(sessions)
    before = place(sessions, "test")
    assert shares(sessions, before) == {"store-b": 4000, "store-c": 2550}
    page = f"/admin/payees/{ids['store-b']}"
    with sessions() as session:
        rule_id = session.scalar(
            select(CommissionRule.id).where(CommissionRule.payee_id == ids["store-b"])
        )
    form = owner_browser.get(f"{page}?rule={rule_id}")  # the rule's numbers, to change
    assert 'name="percent" inputmode="decimal" maxlength="8" value="20"' in form.text
    assert f'name="rule" value="{rule_id}"' in form.text
    changed = _post(
        owner_browser,
        page,
        "/rules",
        **{**RULE, "rule": str(rule_id), "sku": "BAG", "percent": "10"},
    )
    assert changed.status_code == 303
    assert (
        "Orders placed already keep the shares they had"
        in owner_browser.get(changed.headers["location"]).text
    )
    assert shares(sessions, before) == {"store-b": 4000, "store-c": 2550}
    assert shares(sessions, place(sessions, "test"))["store-b"] == 4500
    # Another payee's rule is not this payee's to change.
    other = _post(
        owner_browser,
        f"/admin/payees/{ids['anna']}",
        "/rules",
        **{**RULE, "rule": str(rule_id), "percent": "1"},
    )
    assert other.status_code == 404
    with sessions() as session:
        assert session.get(CommissionRule, rule_id).percent_bp == 1000  # type: ignore[union-attr]


def test_editing_needs_the_owner_and_the_forms_token(
    settings: Settings, owner_browser: TestClient, sessions: sessionmaker[Session]
) -> None:
    ids = network(sessions)
    page = f"/admin/payees/{ids['store-b']}"
    forged = owner_browser.post(f"{page}/edit", data={**EDIT, "csrf": "0" * 64})
    assert forged.status_code in (400, 403)
    with TestClient(create_app(settings), base_url="https://shop.test") as clerk:
        clerk.post("/admin/login", data={"email": "clerk@shop.example", "password": PASSWORD})
        assert clerk.get(page).status_code == 403
        assert clerk.post(f"{page}/edit", data={**EDIT, "csrf": "0" * 64}).status_code == 403
    assert _payee(sessions, ids["store-b"]).name == "Store-B"
    assert (
        owner_browser.post(
            "/admin/payees/999/edit", data={**EDIT, "csrf": _csrf(owner_browser, page)}
        ).status_code
        == 404
    )


def test_the_onboarding_button_makes_a_fresh_link_when_clicked(
    owner_browser: TestClient, sessions: sessionmaker[Session]
) -> None:
    with write_session(sessions) as session:
        payee_id = payees.create_payee(session, code="store-d", name="D", kind="seller").id
    page = f"/admin/payees/{payee_id}"
    assert "Start onboarding" in owner_browser.get(page).text
    clicked = _post(owner_browser, page, "/onboarding")
    # The test provider's onboarding link is the return address itself.
    assert clicked.status_code == 303
    assert re.fullmatch(r"http://shop\.test/payee/[\w-]{43}/returned", clicked.headers["location"])
    assert _payee(sessions, payee_id).status == "onboarding"
