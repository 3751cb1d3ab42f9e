"""An order page the shopper can find again (issue 14, item 2): every email about an order
links to it through a signed ``/o/{token}``; ``/orders/find`` mails a lost link (same answer
whether or not an order matches, rate-limited, a form we showed, through the outbox)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from itsdangerous import URLSafeSerializer
from sqlalchemy import text as sql
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send

from buybutton import BuyButton
from buybutton.tokens import CheckoutLink
from buybutton_server import Settings, create_app
from buybutton_server.db import write_session
from buybutton_server.db.models import Order
from buybutton_server.domain import mail, order_links
from buybutton_server.domain.orders import Shopper, place_order
from buybutton_server.domain.refunds import refund_order
from buybutton_server.domain.settlement import apply_success
from buybutton_server.payments.test_provider import TestPaymentProvider
from buybutton_server.services import mail as mail_service
from tests.conftest import BASE_URL, SHOPPER, add_product, path_of
from tests.test_mail import messages, parts, read_eml

OLD_KEY = "test-secret-key-0123456789abcdef-0123"  # the conftest's key
NEW_KEY = "a-newer-secret-key-for-rotation-4567-89ab"


@pytest.fixture
def mail_dir(tmp_path: Path) -> Path:
    return tmp_path / "outbox-folder"


@pytest.fixture
def settings(database_url: str, mail_dir: Path) -> Settings:
    return Settings(
        secret_keys=(OLD_KEY,),
        database_url=database_url,
        base_url=BASE_URL,
        webhook_seconds=3600,
        mail_dir=str(mail_dir),
    )


class ClientFromHeader:
    """Each request comes from the address in ``X-Test-Client``."""

    def __init__(self, app: Starlette) -> None:
        self.app = app
        self.state = app.state  # what tests.test_mail.pay reads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            address = dict(scope["headers"]).get(b"x-test-client", b"203.0.113.9").decode()
            scope = {**scope, "client": (address, 40000)}
        await self.app(scope, receive, send)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(ClientFromHeader(create_app(settings)), base_url=BASE_URL) as test_client:
        yield test_client


ANA = Shopper(
    email=SHOPPER["email"],
    name=SHOPPER["name"],
    line1="1 Market Street",
    city="San Francisco",
    region="CA",
    postal_code="94105",
    country="US",
)


def place(sessions: sessionmaker[Session], *, quantity: int = 2, shopper: Shopper = ANA) -> Order:
    """A pending card order for ``quantity`` mugs, placed (and priced) by the domain."""
    order, _ = place_order(
        sessions,
        link=CheckoutLink(sku="MUG-01", quantity=quantity),
        quantity=quantity,
        shopper=shopper,
        attempt_key=secrets.token_hex(12),
        provider="test",
        method="card",
        hold_for=timedelta(minutes=15),
    )
    return order


def paid(sessions: sessionmaker[Session], quantity: int = 2) -> Order:
    """A paid order (settled as a payment success is); its receipt is queued."""
    order = place(sessions, quantity=quantity)
    with write_session(sessions) as session:
        apply_success(session, order.id, reference=f"test_ch_{order.number}")
    with sessions() as session:
        return session.get_one(Order, order.id)


def sent_bodies(
    sessions: sessionmaker[Session], settings: Settings, mail_dir: Path
) -> dict[str, tuple[str, str]]:
    """Send what is due to the folder; every message's (text, html) by subject."""
    mail_service.send_due(sessions, settings)
    found: dict[str, tuple[str, str]] = {}
    for path in mail_dir.glob("*.eml"):
        message = read_eml(path)
        found[str(message["Subject"])] = parts(message)
    return found


def order_link_in(body: str) -> str:
    match = re.search(r"http://shop\.test(/o/[A-Za-z0-9_.\-]+)", body)
    assert match, body
    return match[1]


def form_token(page: str) -> str:
    match = re.search(r'name="form" value="([^"]+)"', page)
    assert match, page
    return match[1]


def find(client: TestClient, email: str, number: str, *, ip: str = "203.0.113.9") -> httpx.Response:
    token = form_token(client.get("/orders/find").text)
    return client.post(
        "/orders/find",
        data={"form": token, "email": email, "number": number},
        headers={"X-Test-Client": ip},
    )


# -- the link in the emails -------------------------------------------------------------------


def test_the_receipt_shows_the_totals_and_its_link_opens_the_order_page(
    client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    mail_dir: Path,
) -> None:
    add_product(sessions, price="24.00", stock=5)
    order = paid(sessions)
    [(text, html)] = sent_bodies(sessions, settings, mail_dir).values()
    for body in (text, html):
        assert "Subtotal" in body and "$48.00" in body and "Total" in body
        assert "94105 San Francisco, CA" in body and "United States" in body
        assert "Shipping" in body and "Free" in body
        assert f"/orders/{order.public_id}" not in body, "the signed link, not the bare page"
    path = order_link_in(text)
    assert path == order_link_in(html)
    opened = client.get(path, follow_redirects=False)
    assert opened.status_code == 303
    assert opened.headers["location"] == f"/orders/{order.public_id}"
    assert opened.headers["referrer-policy"] == "no-referrer"
    assert opened.headers["cache-control"] == "no-store"
    page = client.get(path)
    assert page.status_code == 200 and order.number in page.text


def test_a_tampered_or_foreign_token_is_a_clear_404_and_old_keys_still_open_links(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session], settings: Settings
) -> None:
    add_product(sessions, stock=5)
    order = paid(sessions)
    good = order_links.make_token((OLD_KEY,), order.public_id)
    tampered = good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB")
    foreign = order_links.make_token(("somebody-elses-key-0123456789abcdef",), order.public_id)
    # A checkout link's token is signed with our key but for another purpose (salt).
    checkout_token = path_of(bb.checkout_link("MUG-01")).removeprefix("/c/")
    other_salt = URLSafeSerializer([OLD_KEY], salt="buybutton.first-touch.v1").dumps(
        {"o": order.public_id}
    )
    unknown_order = order_links.make_token((OLD_KEY,), "x" * 22)
    for token in (tampered, foreign, checkout_token, other_salt, unknown_order, "x" * 500):
        answer = client.get(f"/o/{token}", follow_redirects=False)
        assert answer.status_code == 404, token
        assert "This order link is not valid" in answer.text
        assert answer.headers["referrer-policy"] == "no-referrer"
    # Keys rotate: a link signed with the old key opens with (old, new), new last.
    rotated = Settings(
        secret_keys=(OLD_KEY, NEW_KEY), database_url=settings.database_url, base_url=BASE_URL
    )
    with TestClient(create_app(rotated), base_url=BASE_URL) as other:
        answer = other.get(f"/o/{good}", follow_redirects=False)
        assert answer.headers["location"] == f"/orders/{order.public_id}"
        assert order_links.make_token(rotated.secret_keys, order.public_id) != good


# -- /orders/find -----------------------------------------------------------------------------


def test_find_mails_the_link_for_a_match_and_nothing_for_a_miss_with_the_same_answer(
    client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    mail_dir: Path,
) -> None:
    add_product(sessions, stock=5)
    order = paid(sessions)
    form = client.get("/orders/find")
    assert form.status_code == 200 and 'name="csrf"' not in form.text
    assert '<label class="field' in form.text and form.headers["cache-control"] == "no-store"
    before = len(messages(sessions))

    misses = [
        find(client, "someone.else@example.com", order.number),
        find(client, SHOPPER["email"], "BB-NOTREAL1"),
    ]
    assert len(messages(sessions)) == before, "nothing queued for a miss"
    hit = find(client, SHOPPER["email"].upper(), order.number.lower())
    answers = [*misses, hit]
    assert {a.status_code for a in answers} == {200}
    shown = {re.sub(r'value="[^"]*"', "", a.text) for a in answers}
    assert len(shown) == 1, "the same page whether or not an order matches"
    assert "If an order matches, we've sent a link to that address" in hit.text

    [queued] = messages(sessions, "order_link")
    assert queued.to_address == SHOPPER["email"] and queued.order_id == order.id
    find(client, SHOPPER["email"], order.number)  # asked again at once: not mailed twice
    assert len(messages(sessions, "order_link")) == 1

    bodies = sent_bodies(sessions, settings, mail_dir)
    text, html = bodies[f"buybutton shop: The link to your order {order.number}"]
    opened = client.get(order_link_in(text), follow_redirects=False)
    assert opened.headers["location"] == f"/orders/{order.public_id}"
    assert order_link_in(html) == order_link_in(text)


def test_find_refuses_a_form_it_did_not_show_and_cross_site_posts(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions, stock=5)
    order = paid(sessions)
    data = {"email": SHOPPER["email"], "number": order.number}
    for token in ("", "forged", form_token(client.get("/orders/find").text) + "x"):
        answer = client.post("/orders/find", data={**data, "form": token})
        assert answer.status_code == 400 and "send it again" in answer.text
    good = form_token(client.get("/orders/find").text)
    attack = client.post(
        "/orders/find",
        data={**data, "form": good},
        headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
    )
    assert attack.status_code == 403
    assert messages(sessions, "order_link") == []


def test_find_explains_bad_fields_and_keeps_the_values(client: TestClient) -> None:
    answer = find(client, "not-an-email", "<script>")
    assert answer.status_code == 422
    text = answer.text
    assert "like name@example.com" in text and "letters, digits and dashes" in text
    assert 'value="not-an-email"' in text and "<script>" not in text and "&lt;script&gt;" in text
    assert 'aria-invalid="true"' in text


def test_find_is_rate_limited_per_email_and_per_client_with_the_same_page(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions, stock=5)
    order = paid(sessions)
    per_email = [
        find(client, SHOPPER["email"], order.number, ip=f"198.51.100.{n}") for n in range(6)
    ]
    statuses = [a.status_code for a in per_email]
    assert statuses == [200] * 5 + [429]
    refused = per_email[-1]
    assert refused.headers["retry-after"].isdigit()
    assert "too many requests for order links" in refused.text
    assert "<h1>Find your order</h1>" in refused.text
    assert len(messages(sessions, "order_link")) == 1

    per_client = [
        find(client, f"shopper{n}@example.com", "BB-AAAA0000", ip="192.0.2.7") for n in range(11)
    ]
    assert [a.status_code for a in per_client] == [200] * 10 + [429]
    # Rate limits name an email by a digest, never the address itself.
    with sessions() as session:
        keys = " ".join(
            row[0] for row in session.execute(sql("SELECT key FROM rate_limit_windows"))
        )
    assert "@" not in keys and "order-find-email:" in keys


def test_every_email_about_an_order_uses_the_signed_link(
    client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    mail_dir: Path,
) -> None:
    add_product(sessions, price="24.00", stock=5)
    order = paid(sessions)
    refund_order(sessions, TestPaymentProvider(), order.id, amount=500)
    with write_session(sessions) as session:
        mail.queue_shipped(session, session.get_one(Order, order.id), "DHL", "JD1", None)
    bodies = sent_bodies(sessions, settings, mail_dir)
    assert len(bodies) == 3
    for text, html in bodies.values():
        assert order_link_in(text) == order_link_in(html)
        assert client.get(order_link_in(text), follow_redirects=False).status_code == 303
