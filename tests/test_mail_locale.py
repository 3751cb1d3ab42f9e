"""The rest of the shopper's languages (issue 16 item 1): an order remembers the language it
was placed in and its emails are written in it (a German receipt over real SMTP), the order
find and return pages are translated, messages the domain builds with values reach the
shopper in their language, and the owner picks the shop's default language."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton import BuyButton
from buybutton_server import Settings
from buybutton_server.db import write_session
from buybutton_server.db.models import Order, ShopProfile
from buybutton_server.domain import locales
from buybutton_server.domain.locales import Lang, localize
from buybutton_server.domain.mail import messages as mail_messages
from buybutton_server.domain.mail.emails import address_lines
from buybutton_server.services import mail as mail_service
from tests.conftest import GOOD_CARD, SHOPPER, add_product, attempt_key, path_of
from tests.test_admin_settings import GOOD, _signed_in, csrf_of
from tests.test_admin_settings import cheap_scrypt as cheap_scrypt
from tests.test_admin_settings import logins as logins
from tests.test_mail import messages, parts
from tests.test_mail_smtp import Inbox
from tests.test_mail_smtp import settings as settings
from tests.test_mail_smtp import smtp_server as smtp_server

NBSP = "\xa0"
GERMAN = {"Accept-Language": "de-DE,de;q=0.9,en;q=0.8"}


def _pay(client: TestClient, path: str, headers: dict[str, str] | None = None) -> Order:
    page = client.get(path, headers=headers)
    done = client.post(
        path,
        data={"attempt": attempt_key(page.text), "quantity": "1", **SHOPPER, **GOOD_CARD},
        headers=headers,
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    with client.app.state.sessions() as session:  # type: ignore[attr-defined]
        found = session.scalars(select(Order).order_by(Order.id.desc())).first()
        assert found is not None
        return found


def test_a_german_receipt_arrives_over_smtp_in_german(
    client: TestClient,
    bb: BuyButton,
    sessions: sessionmaker[Session],
    settings: Settings,
    smtp_server: tuple[Inbox, int],
) -> None:
    add_product(sessions, price="1234.50", currency="EUR", requires_shipping="no")
    order = _pay(client, path_of(bb.checkout_link("MUG-01")), GERMAN)
    assert order.locale == "de-DE"  # recorded as the checkout negotiated it
    assert mail_service.send_due(sessions, settings) == 1
    [(_recipients, message)] = smtp_server[0].received
    assert message["Subject"] == f"buybutton shop: Ihre Quittung für die Bestellung {order.number}"
    assert message["Content-Language"] == "de-DE"
    text, html = parts(message)
    for body in (text, html):
        assert f"1.234,50{NBSP}€" in body
        assert "ist bezahlt. Dies ist Ihre Quittung." in body and "Bezahlt mit:" in body
        assert "Your order" not in body and "Paid with" not in body
    assert '<html lang="de-DE" dir="ltr">' in html


def test_an_order_without_a_language_gets_the_shops_default_and_english_stays_english(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions, price="24.00", requires_shipping="no")
    english = _pay(client, path_of(bb.checkout_link("MUG-01")))
    assert english.locale == "en"
    [receipt] = messages(sessions, "receipt")
    assert receipt.subject.endswith(f"Your receipt for order {english.number}")
    with write_session(sessions) as session:
        session.add(ShopProfile(id=1, name="Boutique", default_locale="fr"))
        session.get_one(Order, english.id).locale = None  # placed before 0039, or by the API
    from buybutton_server.domain.mail.emails import resend_receipt

    with write_session(sessions) as session:
        resend_receipt(session, session.get_one(Order, english.id))
    copy = messages(sessions, "receipt")[-1]
    assert copy.subject == f"Boutique: Votre reçu pour la commande {english.number}"
    assert json.loads(copy.data)["locale"] == "fr"


def test_every_order_email_renders_in_arabic_right_to_left() -> None:
    data = {
        "locale": "ar",
        "number": "BB-1",
        "public_id": "p",
        "name": "Ana",
        "currency": "EUR",
        "total": 123450,
        "amount": 100,
        "refunded": 100,
        "full": False,
        "lines": [{"title": "Mug", "quantity": 1, "total": 123450, "sku": "M", "unit": 123450}],
        "carrier": "DHL",
        "tracking_number": "1",
        "tracking_url": None,
        "address": [],
        "payment": "Card",
        "reason": None,
        "items": [],
        "code": "123456",
        "reservation": True,
        "held_until": "",
        "store": {"name": "Loja", "address": ["Rua 1"], "instructions": ""},
        "status": "paid",
    }
    shop = mail_messages.ShopIdentity(name="Shop", support_email="help@shop.example")
    for kind in ("receipt", "refund", "shipped", "payment_failed", "order_link", "pickup_ready"):
        bodies = mail_messages.render(
            kind, data, shop=shop, base_url="https://s", secret_keys=["k" * 32], subject_line="x"
        )
        assert bodies.language == "ar"
        assert '<html lang="ar" dir="rtl">' in bodies.html, kind
        assert "طلب" in bodies.text or "الطلب" in bodies.text, kind
        assert "Hello" not in bodies.text and "Your order:" not in bodies.text, kind
    assert "راسلنا على" in bodies.text  # the footer too


def test_country_names_and_tax_labels_come_from_babel_in_the_language() -> None:
    class Shipped:
        name, ship_line1, ship_line2 = "Ana", "Hauptstr. 1", None
        ship_postal_code, ship_city, ship_region, ship_country = "10115", "Berlin", None, "DE"

    assert address_lines(Shipped(), Lang("de"))[-1] == "Deutschland"  # type: ignore[arg-type]
    assert address_lines(Shipped(), Lang("fr"))[-1] == "Allemagne"  # type: ignore[arg-type]
    assert localize("incl. VAT 19%", Lang("de")) == f"inkl. MwSt. 19{NBSP}%"
    assert localize("Sales tax 7.25%", Lang("fr")) == f"Taxe de vente 7,25{NBSP}%"
    assert localize("2-4 business days", Lang("de")) == "2\u20134 Werktage"


# -- messages the domain builds with values ---------------------------------------------------


@pytest.mark.parametrize(
    ("english", "language", "expected"),
    [
        ("Code WELCOME10 has been used up.", "de", "Der Code WELCOME10 ist aufgebraucht."),
        ("This code (SPRING) has expired.", "fr", "Ce code (SPRING) a expiré."),
        ("Email is required.", "de", "E-Mail ist erforderlich."),
        (
            "Sorry, only 2 of the Stoneware Mug left. Nothing was charged and nothing is held.",
            "es",
            "Lo sentimos, solo quedan 2 de «Stoneware Mug». No se ha cobrado ni reservado nada.",
        ),
        (
            "We can't ship these items to that address. Please choose another one.",
            "it",
            "Non possiamo spedire questi articoli a quell'indirizzo. Scegline un altro.",
        ),
        ("Sorry, this product just sold out. Nothing was charged.", "nl", None),
        ("Something nobody wrote <b>", "de", "Something nobody wrote <b>"),
    ],
)
def test_domain_messages_reach_the_shopper_in_their_language(
    english: str, language: str, expected: str | None
) -> None:
    found = localize(english, Lang(language))
    if expected is None:  # a catalog message: translated as such
        assert found == locales.gettext(english, Lang(language)) != english
    else:
        assert found == expected


def test_every_pattern_has_a_placeholder_for_each_value() -> None:
    from buybutton_server.domain.locale_words import MESSAGE_PATTERNS

    for pattern, message in MESSAGE_PATTERNS:
        for name in pattern.groupindex:
            assert f"%({name})s" in message, (pattern.pattern, message)


# -- pages ------------------------------------------------------------------------------------


def test_order_find_is_translated_with_its_errors_and_arabic_is_rtl(client: TestClient) -> None:
    page = client.get("/orders/find", headers=GERMAN)
    assert '<html lang="de-DE" dir="ltr">' in page.text and "Bestellung finden" in page.text
    assert "Bestellnummer" in page.text and page.headers["content-language"] == "de-DE"
    token = page.text.split('name="form" value="', 1)[1].split('"', 1)[0]
    wrong = client.post(
        "/orders/find", data={"form": token, "email": "nope", "number": ""}, headers=GERMAN
    )
    assert wrong.status_code == 422
    assert "Bitte prüfen Sie die unten markierten Felder." in wrong.text
    assert "Geben Sie die Bestellnummer aus Ihrer Bestätigung ein." in wrong.text
    arabic = client.get("/orders/find", headers={"Accept-Language": "ar"})
    assert '<html lang="ar" dir="rtl">' in arabic.text and "ابحث عن طلبك" in arabic.text


def test_the_return_page_is_translated(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions, price="24.00", requires_shipping="no")
    order = _pay(client, path_of(bb.checkout_link("MUG-01", locale="fr")))
    page = client.get(f"/orders/{order.public_id}/return", headers={"Accept-Language": "fr"})
    assert page.status_code == 200, page.text
    assert '<html lang="fr"' in page.text and "Retourner des articles" in page.text
    assert "J'ai changé d'avis" in page.text and "Demander un retour" in page.text
    refused = client.post(
        f"/orders/{order.public_id}/return",
        data={"key": "x", "reason": ""},
        headers={"Accept-Language": "fr"},
    )
    assert "Ce formulaire n'est plus à jour" in refused.text
    order_page = client.get(f"/orders/{order.public_id}", headers={"Accept-Language": "fr"})
    assert "Return items" not in order_page.text


# -- the shop's default language --------------------------------------------------------------


@pytest.fixture
def owner(settings: Settings, logins: None) -> Iterator[TestClient]:
    client = _signed_in(settings, "owner@shop.example")
    yield client
    client.__exit__(None, None, None)


def test_the_owner_sets_the_default_language_and_shoppers_without_one_get_it(
    owner: TestClient, client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    page = owner.get("/admin/settings")
    assert 'name="default_locale"' in page.text and ">Deutsch</option>" in page.text
    bad = owner.post(
        "/admin/settings", data={"csrf": csrf_of(owner), **GOOD, "default_locale": "xx"}
    )
    assert bad.status_code == 422 and "languages in the list" in bad.text
    with sessions() as session:
        assert session.get(ShopProfile, 1) is None  # nothing written
    saved = owner.post(
        "/admin/settings",
        data={"csrf": csrf_of(owner), **GOOD, "default_locale": "nl"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    with sessions() as session:
        assert session.get_one(ShopProfile, 1).default_locale == "nl"
    assert 'value="nl" lang="nl" selected' in owner.get("/admin/settings").text
    add_product(sessions, price="24.00", requires_shipping="no")
    shopper = owner.get(path_of(bb.checkout_link("MUG-01")), headers={"Accept-Language": "pt"})
    assert '<html lang="nl"' in shopper.text and "Betalen" in shopper.text
    german = owner.get(path_of(bb.checkout_link("MUG-01")), headers=GERMAN)
    assert '<html lang="de-DE"' in german.text  # the browser still wins over the default


def test_the_german_checkout_names_countries_and_free_shipping_in_german(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions, price="1234.50", currency="EUR")
    path = path_of(bb.checkout_link("MUG-01"))
    page = client.get(path, headers=GERMAN)
    assert '<option value="DE" selected>Deutschland</option>' in page.text
    assert ">Vereinigte Staaten</option>" in page.text and ">United States<" not in page.text
    english = client.get(path)
    assert ">United States</option>" in english.text  # the option lists are kept per language
    quote = client.post(
        path + "/quote",
        data={"quantity": "1", "country": "DE", "postal_code": "10115", "city": "Berlin"},
        headers=GERMAN,
    ).json()
    assert quote["shipping_options"][0]["title"] == "Kostenloser Versand"
    assert quote["shipping_options"][0]["estimate"] == ""
