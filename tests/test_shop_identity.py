"""Issue 13, item 7: the shop's identity on the checkout, the order and the message pages.

The name (and logo) at the top, who sells and the policies in the footer, and "By placing
this order you accept the shop's terms" above the pay buttons; nothing of it until the owner
has set an identity."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton import BuyButton
from buybutton_server import Settings, create_app
from buybutton_server.db import write_session
from buybutton_server.db.models import ShopProfile
from buybutton_server.domain import admin_auth, shop_profile
from buybutton_server.domain.admin_auth import ScryptCost, create_admin
from tests.conftest import add_product, orders, path_of

IDENTITY = {
    "name": "Pour Over Goods",
    "support_email": "help@pourover.example",
    "logo_url": "https://cdn.example/logo.png",
    "legal_address": "Pour Over Goods Lda\n12 Harbour Street\n4000-123 Porto",
    "terms_url": "https://pourover.example/terms",
    "returns_url": "https://pourover.example/returns",
    "privacy_url": "https://pourover.example/privacy",
}
SHOWN = [
    "Pour Over Goods",
    'href="mailto:help@pourover.example"',
    "Pour Over Goods Lda<br>12 Harbour Street<br>4000-123 Porto",
    'href="https://pourover.example/terms"',
    'href="https://pourover.example/returns"',
    'href="https://pourover.example/privacy"',
]
TERMS_LINE = "By placing this order you accept the shop's"
PLAIN_FOOTER = '<footer class="foot">Secure checkout by buybutton</footer>'


def save_identity(sessions: sessionmaker[Session], **fields: str) -> None:
    with write_session(sessions) as session:
        shop_profile.save(session, {**IDENTITY, **fields}, allow_http_origins=False)


def pay_with_wallet(client: TestClient, path: str) -> str:
    page = client.get(path)
    key = re.search(r'name="attempt" value="([^"]+)"', page.text)
    assert key is not None
    paid = client.post(path, data={"attempt": key[1], "method": "wallet"}, follow_redirects=False)
    assert paid.status_code == 303, paid.text
    return str(paid.headers["location"])


def test_the_checkout_order_and_bought_pages_show_who_sells(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions)
    save_identity(sessions)
    path = path_of(bb.checkout_link("MUG-01"))
    checkout = client.get(path).text
    for text in [*SHOWN, TERMS_LINE, 'data-shop-name="Pour Over Goods"']:
        assert text in checkout, text
    assert '<img class="shop-logo" src="https://cdn.example/logo.png" alt="Pour Over Goods"' in (
        checkout
    )
    # The terms line comes before every pay button.
    assert checkout.index(TERMS_LINE) < checkout.index('id="pay-wallet"')
    assert checkout.index(TERMS_LINE) < checkout.index('id="pay-card"')

    order_url = pay_with_wallet(client, path)
    order_page = client.get(order_url).text
    bought = client.get(path).text  # Back after paying
    assert "You bought this already" in bought
    for page in (order_page, bought):
        for text in SHOWN:
            assert text in page, text
        assert TERMS_LINE not in page  # nothing more to accept after paying
    assert len(orders(sessions, "paid")) == 1


def test_only_the_policies_that_are_set_are_linked(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions)
    save_identity(sessions, terms_url="", privacy_url="", logo_url="")
    page = client.get(path_of(bb.checkout_link("MUG-01"))).text
    assert 'href="https://pourover.example/returns"' in page
    assert "pourover.example/terms" not in page and "pourover.example/privacy" not in page
    assert TERMS_LINE not in page, "no terms to accept without a terms address"
    assert "shop-logo" not in page and '<span class="shop-name">Pour Over Goods</span>' in page


def test_a_message_page_in_the_checkout_names_the_shop(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    save_identity(sessions)
    page = client.get(path_of(bb.checkout_link("NOPE-01")))
    assert page.status_code >= 400
    assert 'href="mailto:help@pourover.example"' in page.text
    assert "Pour Over Goods" in page.text


def test_without_an_identity_the_pages_show_none_of_it(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions)
    path = path_of(bb.checkout_link("MUG-01"))
    checkout = client.get(path).text
    order_page = client.get(pay_with_wallet(client, path)).text
    bought = client.get(path).text
    missing = client.get(path_of(bb.checkout_link("NOPE-01"))).text
    for page in (checkout, order_page, bought, missing):
        assert PLAIN_FOOTER in page, "the footer as it always was"
        assert "<body>\n<main" in page, "no header above the page"
        for absent in ("shop-head", "shop-foot", "mailto:", "terms-note", "data-shop-name"):
            assert absent not in page, absent
        assert shop_profile.DEFAULT_NAME not in page


def test_merchant_strings_are_escaped(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions)
    save_identity(
        sessions,
        name='<script>alert(1)</script> & "Co"',
        legal_address="<b>1 Main St</b>\n<img src=x onerror=alert(1)>",
    )
    page = client.get(path_of(bb.checkout_link("MUG-01"))).text
    assert "<script>alert(1)" not in page and "<img src=x" not in page and "<b>1" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;Co&#34;" in page
    assert 'data-shop-name="&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;Co&#34;"' in page
    assert "&lt;b&gt;1 Main St&lt;/b&gt;<br>&lt;img src=x onerror=alert(1)&gt;" in page


def test_a_plain_http_logo_is_never_shown(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    """The settings page refuses it; a row written some other way is guarded at render."""
    add_product(sessions)
    with pytest.raises(shop_profile.ProfileInvalid):
        save_identity(sessions, logo_url="http://cdn.example/logo.png")
    save_identity(sessions)
    with write_session(sessions) as session:
        row = session.get(ShopProfile, 1)
        assert row is not None
        row.logo_url = "http://cdn.example/logo.png"
    page = client.get(path_of(bb.checkout_link("MUG-01"))).text
    assert "cdn.example/logo.png" not in page and '<img class="shop-logo"' not in page
    assert '<span class="shop-name">Pour Over Goods</span>' in page


def test_the_demo_identity_is_seeded_once_and_never_over_the_owners(
    sessions: sessionmaker[Session],
) -> None:
    with write_session(sessions) as session:
        shop_profile.seed_demo_identity(session)
    with sessions() as session:
        seeded = shop_profile.identity(session)
    assert seeded.name == "Pour-Over Supply Co." and seeded.terms_url is None
    assert seeded.support_email is not None and seeded.support_email.endswith("@example.com")
    assert seeded.legal_address
    save_identity(sessions)
    with write_session(sessions) as session:
        shop_profile.seed_demo_identity(session)
    with sessions() as session:
        assert shop_profile.identity(session).name == "Pour Over Goods"


@pytest.fixture
def owner(
    settings: Settings, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    monkeypatch.setattr(admin_auth, "COST", ScryptCost(n=2**14, r=8, p=1))
    with write_session(sessions) as session:
        create_admin(session, "owner@shop.example", "correct horse battery staple")
    with TestClient(create_app(settings), base_url="https://shop.test") as client:
        signed_in = client.post(
            "/admin/login",
            data={"email": "owner@shop.example", "password": "correct horse battery staple"},
        )
        assert signed_in.status_code == 200
        yield client


def test_saving_the_settings_shows_the_new_name_on_the_next_checkout(
    owner: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    """The identity is cached per worker (with the allowed origins); the worker that saved
    uses the new one at once, and the rendered-page cache never serves the old name."""
    add_product(sessions)
    path = path_of(bb.checkout_link("MUG-01"))
    assert "shop-head" not in owner.get(path).text  # cached: no identity yet
    page = owner.get("/admin/account").text
    csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', page)
    assert csrf is not None
    for name in ("First Name Roasters", "Second Name Roasters"):
        saved = owner.post(
            "/admin/settings",
            data={"csrf": csrf[1], **IDENTITY, "name": name, "allowed_origins": ""},
            follow_redirects=False,
        )
        assert saved.status_code == 303, saved.text
        shown = owner.get(path).text
        assert f'<span class="shop-name" aria-hidden="true">{name}</span>' in shown
        assert ("First Name" in shown) == name.startswith("First"), "never the old name"
