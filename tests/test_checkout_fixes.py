"""Issue 13, item 8: the card expiry as a phone types it, a refused card keeps what the
shopper typed, and Back after paying shows the paid order instead of a fresh checkout."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton import BuyButton
from buybutton_server import Settings, create_app
from buybutton_server.payments.base import ChargeRequest
from buybutton_server.payments.messages import DECLINE_MESSAGES
from buybutton_server.payments.test_provider import TestPaymentProvider, parse_expiry
from buybutton_server.views.bought import BOUGHT_COOKIE
from buybutton_server.views.card_form import shown_values
from tests.conftest import GOOD_CARD, SHOPPER, add_product, attempt_key, orders, path_of

EXPIRY_MESSAGE = DECLINE_MESSAGES["invalid_expiry"]
CHECKOUT_JS = Path(__file__).resolve().parents[1] / "server" / "static" / "checkout.js"
YY = (date.today().year + 4) % 100


def charge(expiry: str) -> str | None:
    details = {"card_number": "4242424242424242", "card_expiry": expiry, "card_cvc": "123"}
    request = ChargeRequest(
        amount=100, currency="USD", idempotency_key="k", method="card", details=details
    )
    result = TestPaymentProvider().charge(request)
    return result.code if result.status == "failed" else None


@pytest.mark.parametrize(
    "typed", [f"12{YY}", f"12/{YY}", f"12 / {YY}", f"12/20{YY}", f"1/{YY}", f" 01 /{YY} "]
)
def test_the_test_provider_takes_every_way_of_typing_an_expiry(typed: str) -> None:
    assert charge(typed) is None
    assert parse_expiry(typed) in {(12, 2000 + YY), (1, 2000 + YY)}


@pytest.mark.parametrize("typed", ["13/30", "1/2", "0030", "12-30", "1230/", "١٢/٣٠", ""])
def test_expiries_that_are_no_date_are_refused_with_the_message(typed: str) -> None:
    assert charge(typed) == "invalid_expiry"


def test_checkout_js_says_what_the_server_says() -> None:
    assert f'"{EXPIRY_MESSAGE}"' in CHECKOUT_JS.read_text()


def open_checkout(client: TestClient, url: str) -> tuple[str, str]:
    page = client.get(path_of(url))
    assert page.status_code == 200, page.text
    return path_of(url), attempt_key(page.text)


def test_an_expiry_typed_on_a_number_pad_pays(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions)
    path, key = open_checkout(client, bb.checkout_link("MUG-01"))
    card = {**GOOD_CARD, "card_expiry": f"12{YY}"}
    paid = client.post(path, data={"attempt": key, **SHOPPER, **card}, follow_redirects=False)
    assert paid.status_code == 303
    assert [o.status for o in orders(sessions)] == ["paid"]


@pytest.mark.parametrize("expiry", ["13/30", "1/2"])
def test_a_refused_card_keeps_what_was_typed_and_says_why_at_the_field(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session], expiry: str
) -> None:
    add_product(sessions)
    path, key = open_checkout(client, bb.checkout_link("MUG-01"))
    card = {**GOOD_CARD, "card_expiry": expiry}
    page = client.post(path, data={"attempt": key, **SHOPPER, **card})
    assert page.status_code == 402
    assert 'value="4242 4242 4242 4242"' in page.text
    assert f'value="{expiry}"' in page.text and 'value="123"' in page.text
    assert 'value="ana@example.com"' in page.text  # and the contact fields, as before
    field = re.search(r'<input name="card_expiry"[^>]*>\s*<small[^>]*>([^<]*)<', page.text)
    assert field is not None and field[1] == EXPIRY_MESSAGE
    assert 'aria-invalid="true" aria-describedby="err-card_expiry"' in field[0]
    assert 'id="err-card_expiry"' in field[0]
    assert 'aria-describedby="err-card_number"' not in page.text
    assert orders(sessions, "paid") == []


def test_a_wrong_cvc_is_shown_at_the_cvc_and_a_missing_email_keeps_the_card(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions)
    path, key = open_checkout(client, bb.checkout_link("MUG-01"))
    page = client.post(path, data={"attempt": key, **SHOPPER, **GOOD_CARD, "card_cvc": "1"})
    assert page.status_code == 402
    assert 'aria-describedby="err-card_cvc"' in page.text
    assert re.search(r'<input name="card_cvc" value="1" ', page.text)
    key = attempt_key(page.text)
    page = client.post(path, data={"attempt": key, **SHOPPER, **GOOD_CARD, "email": ""})
    assert page.status_code == 422
    assert 'value="4242 4242 4242 4242"' in page.text
    assert f'value="{GOOD_CARD["card_expiry"]}"' in page.text


def test_card_values_are_shown_again_only_in_test_mode() -> None:
    typed = {"card_number": "4242 4242 4242 4242", "card_expiry": "1230", "card_cvc": "987"}
    assert shown_values("test", {"email": "a@b.c"}, typed) == {"email": "a@b.c", **typed}
    assert shown_values("stripe", {"email": "a@b.c"}, typed) == {"email": "a@b.c"}


def test_a_stripe_shop_never_echoes_card_fields_posted_to_it(
    stripe_client_app: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    """Stripe Elements never posts card data here; should anything post it anyway, a refused
    payment's page must not write it back into HTML."""
    add_product(sessions)
    path = path_of(bb.checkout_link("MUG-01"))
    key = attempt_key(stripe_client_app.get(path).text)
    card = {"card_number": "4000 0566 5566 5556", "card_expiry": "0931", "card_cvc": "987"}
    page = stripe_client_app.post(
        path,
        data={
            "attempt": key,
            "payment_method": "pm_card_chargeCustomerFail",
            **SHOPPER,
            **card,
        },
    )
    assert page.status_code == 402, page.text
    assert 'value="ana@example.com"' in page.text  # the contact fields still come back
    for value in card.values():
        assert value not in page.text


def pay_with_wallet(client: TestClient, path: str) -> str:
    key = attempt_key(client.get(path).text)
    paid = client.post(path, data={"attempt": key, "method": "wallet"}, follow_redirects=False)
    assert paid.status_code == 303, paid.text
    return str(paid.headers["location"])


def test_back_after_paying_shows_the_order_and_buying_again_is_a_choice(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions)
    path = path_of(bb.checkout_link("MUG-01"))
    order_url = pay_with_wallet(client, path)
    [order] = orders(sessions, "paid")
    [cookie] = [c for c in client.cookies.jar if c.name == BOUGHT_COOKIE]
    assert (cookie.value, cookie.path) == (order.public_id, path)
    assert cookie.has_nonstandard_attr("HttpOnly")

    back = client.get(path)  # what Back does: the same link, with the cookie
    assert back.status_code == 200 and back.headers["cache-control"] == "no-store"
    assert "You bought this already" in back.text and order.number in back.text
    assert f'href="{order_url}"' in back.text
    assert 'name="attempt"' not in back.text  # no form: one more tap cannot buy again
    assert 'href="?again=1"' in back.text

    again = client.get(path + "?again=1", follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == path
    assert BOUGHT_COOKIE not in client.cookies  # forgotten: "Buy again" was the choice
    assert 'name="attempt"' in client.get(path).text  # the normal checkout

    pay_with_wallet(client, path)  # buying again remembers the newer order
    newer = {o.public_id for o in orders(sessions, "paid")} - {order.public_id}
    assert client.cookies[BOUGHT_COOKIE] in newer
    assert "You bought this already" in client.get(path + "?embed=1").text


def test_without_the_cookie_the_link_shows_the_checkout(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions)
    path = path_of(bb.checkout_link("MUG-01"))
    pay_with_wallet(client, path)
    client.cookies.clear()
    page = client.get(path)
    assert 'name="attempt"' in page.text and "You bought this already" not in page.text
    other = path_of(bb.checkout_link("MUG-01", quantity=2))  # another link: its own memory
    client.cookies.set(BOUGHT_COOKIE, orders(sessions)[0].public_id, path=path)
    assert 'name="attempt"' in client.get(other).text


def test_a_cookie_naming_no_paid_order_shows_the_checkout(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions)
    path = path_of(bb.checkout_link("MUG-01"))
    for value in ("nosuchorder00000000000", "x" * 300, "<script>"):
        client.cookies.set(BOUGHT_COOKIE, value)
        assert 'name="attempt"' in client.get(path).text
        client.cookies.clear()
    key = attempt_key(client.get(path).text)
    card = {**GOOD_CARD, "card_number": "4000 0000 0000 0002"}  # declined: a failed order
    client.post(path, data={"attempt": key, **SHOPPER, **card})
    assert BOUGHT_COOKIE not in client.cookies
    [failed] = orders(sessions)
    client.cookies.set(BOUGHT_COOKIE, failed.public_id)
    assert 'name="attempt"' in client.get(path).text


def test_a_stale_form_whose_attempt_paid_does_not_pay_again(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    """The form still on screen (or restored by the browser) carries the attempt that paid:
    posting it again answers with the same order and charges nothing."""
    add_product(sessions, stock=5)
    path = path_of(bb.checkout_link("MUG-01"))
    key = attempt_key(client.get(path).text)
    first = client.post(path, data={"attempt": key, "method": "wallet"}, follow_redirects=False)
    client.cookies.clear()
    again = client.post(path, data={"attempt": key, "method": "wallet"}, follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == first.headers["location"]
    assert len(orders(sessions)) == 1


def test_the_cookie_fits_a_cross_site_overlay_over_https(
    bb: BuyButton, sessions: sessionmaker[Session], settings: Settings
) -> None:
    add_product(sessions)
    secure = replace(settings, base_url="https://shop.test")
    with TestClient(create_app(secure), base_url="https://shop.test") as https:
        path = path_of(bb.checkout_link("MUG-01"))
        for query, flags in (("", "SameSite=Lax; Secure"), ("?embed=1", "SameSite=None")):
            https.cookies.clear()
            key = attempt_key(https.get(path + query).text)
            paid = https.post(
                path + query, data={"attempt": key, "method": "wallet"}, follow_redirects=False
            )
            line = paid.headers["set-cookie"]
            assert f"Path={path}; HttpOnly; {flags}" in line, line
        assert "Secure; Partitioned" in line
