"""The last shopper words that stayed English (issue 16 items 1-2): a reservation's "held
for you until" and the pickup ready times, a declined card's message, and the dates (and
refund money) on the return page, each in the request's language with Babel's formats."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton import BuyButton
from buybutton_server.db import write_session
from buybutton_server.db.models import Order, Return
from buybutton_server.domain import locales, pickup
from buybutton_server.domain import returns as rules
from buybutton_server.domain.locales import Lang, localize
from buybutton_server.payments.messages import DECLINE_MESSAGES, FALLBACK
from tests.conftest import (
    DECLINED_CARD,
    GOOD_CARD,
    SHOPPER,
    add_product,
    attempt_key,
    orders,
    path_of,
)
from tests.test_mail_locale import _pay
from tests.test_pickup_confirmation import CONTACT, store_b
from tests.test_returns import form_key

NBSP = "\xa0"
GERMAN = {"Accept-Language": "de-DE,de;q=0.9,en;q=0.8"}
ISO_DAY = re.compile(r"\b\d{4}-\d\d-\d\d\b")


def _text(html: str) -> str:
    return html.replace("&#39;", "'").replace("&#34;", '"')


# -- 1. pickup: "Held for you until …" and the ready times --------------------------------------


def test_the_held_text_and_ready_times_are_written_for_the_locale() -> None:
    until = datetime(2026, 11, 26, 9, 14, tzinfo=UTC)  # 10:14 in Berlin
    assert pickup.held_text(until, "Europe/Berlin") == "Held for you until 2026-11-26 10:14"
    german = pickup.held_text(until, "Europe/Berlin", Lang("de"))
    assert german == "Für Sie reserviert bis 26.11.2026, 10:14"
    assert localize("Held for you until 2026-11-26 10:14 UTC", Lang("fr")) == (
        "Réservé pour vous jusqu'au 26 nov. 2026, 10:14 UTC"
    )
    assert localize("ready on Monday at 10:00", Lang("de")) == "abholbereit am Montag um 10:00"
    assert localize("ready today at 15:30", Lang("nl")) == "vandaag klaar om 15:30"
    assert localize("ready in 1 h 30 min", Lang("it")) == "disponibile tra 1 h 30 min"
    assert localize("ready now", Lang("es")) == "disponible ahora"
    # English is the source; a time it cannot read stays as written (never an error).
    assert localize("ready today at 15:30", Lang("en")) == "ready today at 15:30"
    assert localize("Held for you until 2026-13-45 10:14", Lang("de")).endswith("2026-13-45 10:14")


def test_a_german_shopper_reads_the_reservation_hold_in_german(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    store_b(sessions, reservations_enabled=True, reservation_hold_minutes=1440)
    path = path_of(bb.checkout_link("MUG-01"))
    form = {"attempt": attempt_key(client.get(path, headers=GERMAN).text), **CONTACT}
    page = client.post(path, data={**form, "fulfilment": "reserve:B"}, headers=GERMAN)
    assert page.status_code == 200, page.text
    [order] = orders(sessions)
    assert order.reserved_until is not None
    until = order.reserved_until.replace(tzinfo=UTC).astimezone(ZoneInfo("Europe/Lisbon"))
    html = _text(page.text)
    assert f"Für Sie reserviert bis {until:%d.%m.%Y, %H:%M}" in html
    assert "Held for you" not in html
    # The same order in English keeps the store's plain time (tests/test_pickup_confirmation).
    english = client.get(f"/orders/{order.public_id}", headers={"Accept-Language": "en"}).text
    assert f"Held for you until {until:%Y-%m-%d %H:%M}" in english


# -- 2. a declined card -----------------------------------------------------------------------


def test_every_decline_message_is_translated_in_every_language() -> None:
    for language in locales.LANGUAGES[1:]:
        for english in {*DECLINE_MESSAGES.values(), FALLBACK}:
            assert localize(english, Lang(language)) != english, (language, english)


def test_a_german_shopper_reads_a_declined_card_in_german(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions, price="1234.50", currency="EUR", requires_shipping="no")
    path = path_of(bb.checkout_link("MUG-01"))
    key = attempt_key(client.get(path, headers=GERMAN).text)
    insufficient = {**GOOD_CARD, "card_number": "4000 0000 0000 9995"}
    page = client.post(path, data={"attempt": key, **SHOPPER, **insufficient}, headers=GERMAN)
    html = _text(page.text)
    assert "Ihre Karte ist nicht ausreichend gedeckt." in html, html
    assert "insufficient funds" not in html
    # The page's script posts for JSON (a real provider's card form): the same words.
    key = attempt_key(client.get(path, headers=GERMAN).text)
    answer = client.post(
        path,
        data={"attempt": key, **SHOPPER, **DECLINED_CARD},
        headers={**GERMAN, "Accept": "application/json"},
    )
    error = answer.json()["error"]
    assert (
        error["message"] == "Ihre Karte wurde abgelehnt. Versuchen Sie es mit einer anderen Karte."
    )
    # The failed order's page says it in German too.
    failed = [o for o in orders(sessions) if o.status == "failed"][-1]
    order_page = _text(client.get(f"/orders/{failed.public_id}", headers=GERMAN).text)
    assert "Ihre Karte wurde abgelehnt." in order_page and "Your card" not in order_page


# -- 3. the return page's dates and money -----------------------------------------------------


def test_the_return_page_writes_dates_and_money_as_the_locale_does(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions, price="1234.50", currency="EUR", requires_shipping="no")
    order: Order = _pay(client, path_of(bb.checkout_link("MUG-01", locale="de")), GERMAN)
    window = client.app.state.settings.return_window_days  # type: ignore[attr-defined]
    ends = rules.window_ends(order, window)
    assert ends is not None
    address = f"/orders/{order.public_id}/return"
    page = client.get(address, headers=GERMAN)
    assert page.status_code == 200, page.text
    assert f"Rücksendungen sind bis {ends:%d.%m.%Y} möglich." in page.text
    [line] = re.findall(r'name="(qty-\d+)"', page.text)
    asked = {"key": form_key(page.text), "reason": "changed_mind", line: "1"}
    sent = client.post(address, data=asked, headers=GERMAN, follow_redirects=False)
    assert sent.status_code == 303, sent.text
    with write_session(sessions) as session:
        session.execute(update(Return).values(status="refunded", refund_amount=123450))
    today = datetime.now(UTC)
    html = client.get(address, headers=GERMAN).text
    assert (
        f"Angefragt am {today:%d.%m.%Y}" in html
        or f"Angefragt am {today - timedelta(minutes=5):%d.%m.%Y}" in html  # midnight
    )
    assert f"1.234,50{NBSP}€" in html
    assert not ISO_DAY.search(html), ISO_DAY.search(html)
    french = client.get(address, headers={"Accept-Language": "fr"}).text
    assert f"1{chr(0x202F)}234,50{NBSP}€" in french and not ISO_DAY.search(french)


def test_a_closed_return_window_names_its_day_in_the_locale() -> None:
    english = (
        "Returns for this order closed on 2026-11-20: they are open for 30 days after it was "
        "shipped (or paid, if it was not shipped)."
    )
    assert "20.11.2026" in localize(english, Lang("de"))
    assert "20 nov. 2026" in localize(english, Lang("fr"))
    assert localize("Code SPRING expired on 2 December 2026.", Lang("de")) == (
        "Der Code SPRING ist am 02.12.2026 abgelaufen."
    )
