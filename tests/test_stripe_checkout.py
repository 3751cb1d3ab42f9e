"""The Stripe path through the ASGI app, against localstripe: pay, decline, 3-D Secure,
unreachable Stripe, expired reservations, refunds."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton import BuyButton
from buybutton_server import Settings, create_app
from buybutton_server.db.models import utcnow
from buybutton_server.domain.orders import refund_order, release_expired
from buybutton_server.payments import make_provider
from tests.conftest import BASE_URL, SHOPPER, add_product, attempt_key, orders, path_of, product
from tests.stripe_support import authenticate, card_id, stripe_client

JSON = {"Accept": "application/json"}


def submit(client: TestClient, path: str, payment_method: str, quantity: int = 1):
    key = attempt_key(client.get(path).text)
    return client.post(
        path,
        headers=JSON,
        data={
            "attempt": key,
            "quantity": str(quantity),
            "payment_method": payment_method,
            **SHOPPER,
        },
    )


def test_page_loads_stripe_js_under_its_csp(
    stripe_client_app: TestClient, bb: BuyButton, sessions: sessionmaker[Session], localstripe: str
) -> None:
    add_product(sessions)
    page = stripe_client_app.get(path_of(bb.checkout_link("MUG-01")))
    assert f'src="{localstripe}/js.stripe.com/v3/"></script>' in page.text
    assert 'data-stripe-key="pk_test_buybutton"' in page.text
    assert 'name="card_number"' not in page.text  # card data never touches our server
    csp = page.headers["content-security-policy"]
    assert f"'strict-dynamic' 'self' {localstripe};" in csp
    assert localstripe in csp.split("connect-src")[1].split(";")[0]


def test_card_payment_creates_intent_for_database_amount(
    stripe_client_app: TestClient,
    bb: BuyButton,
    sessions: sessionmaker[Session],
    localstripe: str,
) -> None:
    add_product(sessions, price="24.00", stock=5)
    path = path_of(
        bb.checkout_link("MUG-01", source="instagram", campaign="spring", max_quantity=10)
    )
    answer = submit(stripe_client_app, path, "pm_card_visa", quantity=2)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "paid"
    [order] = orders(sessions)
    assert order.status == "paid" and order.payment_reference.startswith("pi_")
    intent = stripe_client(localstripe).v1.payment_intents.retrieve(order.payment_reference)
    assert (intent.amount, intent.currency, intent.status) == (4800, "usd", "succeeded")
    assert intent.metadata.to_dict() == {
        "order_public_id": order.public_id,
        "order_number": order.number,
        "source": "instagram",
        "campaign": "spring",
        # The parts of the total, as the page showed them (issue 13, item 10).
        "subtotal": "4800",
        "discount": "0",
        "shipping": "0",
        "tax": "0",
        "total": "4800",
    }
    assert (product(sessions).on_hand, product(sessions).reserved) == (3, 0)


def test_declined_card_says_so_and_releases_stock(
    stripe_client_app: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions, stock=5)
    answer = submit(
        stripe_client_app, path_of(bb.checkout_link("MUG-01")), "pm_card_chargeCustomerFail"
    )
    assert answer.status_code == 402
    assert answer.json()["error"] == {
        "code": "card_declined",
        "message": "Your card was declined. Try another card.",
    }
    assert answer.json()["attempt"]  # a fresh key for the next try
    assert orders(sessions, "paid") == []
    assert (product(sessions).on_hand, product(sessions).reserved) == (5, 0)


def test_three_d_secure_waits_for_the_webhook(
    stripe_client_app: TestClient,
    bb: BuyButton,
    sessions: sessionmaker[Session],
    localstripe: str,
) -> None:
    add_product(sessions, stock=5)
    path = path_of(bb.checkout_link("MUG-01"))
    answer = submit(stripe_client_app, path, card_id(localstripe, "4000000000003220"))
    body = answer.json()
    assert body["status"] == "requires_action" and body["client_secret"].startswith("pi_")
    [order] = orders(sessions)
    assert (order.status, order.payment_status) == ("pending", "requires_action")
    assert product(sessions).reserved == 1  # held while the shopper talks to the bank
    authenticate(localstripe, order.payment_reference, body["client_secret"], success=True)
    page = stripe_client_app.get(body["next"])
    assert "Confirming your payment" in page.text  # the browser's word changes nothing
    assert orders(sessions)[0].status == "pending"


def test_failed_three_d_secure_is_released_from_stripes_answer(
    stripe_client_app: TestClient,
    bb: BuyButton,
    sessions: sessionmaker[Session],
    localstripe: str,
) -> None:
    add_product(sessions, stock=5)
    body = submit(
        stripe_client_app,
        path_of(bb.checkout_link("MUG-01")),
        card_id(localstripe, "4000000000003220"),
    ).json()
    [order] = orders(sessions)
    authenticate(localstripe, order.payment_reference, body["client_secret"], success=False)
    assert stripe_client_app.post(body["next"] + "/abandon").json() == {"status": "canceled"}
    intent = stripe_client(localstripe).v1.payment_intents.retrieve(order.payment_reference)
    assert intent.status == "canceled"  # it can no longer succeed behind our back
    assert (product(sessions).on_hand, product(sessions).reserved) == (5, 0)


def test_abandon_cannot_cancel_a_paid_order(
    stripe_client_app: TestClient,
    bb: BuyButton,
    sessions: sessionmaker[Session],
    localstripe: str,
) -> None:
    add_product(sessions, stock=5)
    body = submit(
        stripe_client_app,
        path_of(bb.checkout_link("MUG-01")),
        card_id(localstripe, "4000000000003220"),
    ).json()
    [order] = orders(sessions)
    authenticate(localstripe, order.payment_reference, body["client_secret"], success=True)
    # A lying or confused browser reports failure; Stripe says succeeded, so it is paid.
    assert stripe_client_app.post(body["next"] + "/abandon").json() == {"status": "paid"}
    assert product(sessions).on_hand == 4


def test_double_submit_creates_one_intent(
    stripe_client_app: TestClient,
    bb: BuyButton,
    sessions: sessionmaker[Session],
    localstripe: str,
) -> None:
    add_product(sessions, stock=5)
    path = path_of(bb.checkout_link("MUG-01"))
    form = {
        "attempt": attempt_key(stripe_client_app.get(path).text),
        "quantity": "1",
        "payment_method": "pm_card_visa",
        **SHOPPER,
    }
    first = stripe_client_app.post(path, headers=JSON, data=form).json()
    second = stripe_client_app.post(path, headers=JSON, data=form).json()
    assert first["next"] == second["next"]
    [order] = orders(sessions)
    intents = list(
        stripe_client(localstripe).v1.payment_intents.list(params={"limit": 5}).auto_paging_iter()
    )
    assert [i.id for i in intents].count(order.payment_reference) == 1
    ours = [i for i in intents if i.to_dict()["metadata"].get("order_public_id") == order.public_id]
    assert len(ours) == 1


def test_unreachable_stripe_says_try_again_and_holds_nothing(
    stripe_settings: Settings, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    from dataclasses import replace

    from tests.live_server import free_port

    add_product(sessions, stock=2)
    dead = replace(stripe_settings, stripe_api_base=f"http://127.0.0.1:{free_port()}")
    with TestClient(create_app(dead), base_url=BASE_URL) as client:
        path = path_of(bb.checkout_link("MUG-01"))
        answer = submit(client, path, "pm_card_visa")
        assert answer.status_code == 503
        assert answer.json()["error"]["code"] == "payment_unavailable"
        key = attempt_key(client.get(path).text)
        page = client.post(path, data={"attempt": key, "payment_method": "pm_card_visa", **SHOPPER})
        assert page.status_code == 503 and "try again" in page.text
    assert orders(sessions, "paid") == []
    assert (product(sessions).on_hand, product(sessions).reserved) == (2, 0)


def test_expired_reservation_is_canceled_at_stripe_and_released(
    stripe_settings: Settings,
    stripe_client_app: TestClient,
    bb: BuyButton,
    sessions: sessionmaker[Session],
    localstripe: str,
) -> None:
    add_product(sessions, stock=3)
    submit(
        stripe_client_app,
        path_of(bb.checkout_link("MUG-01")),
        card_id(localstripe, "4000000000003220"),
    )  # the shopper never finishes 3-D Secure
    provider = make_provider(stripe_settings)
    assert release_expired(sessions, provider) == 0  # not expired yet
    later = utcnow() + timedelta(seconds=stripe_settings.reservation_seconds + 1)
    assert release_expired(sessions, provider, now=later) == 1
    [order] = orders(sessions)
    assert (order.status, order.failure_code) == ("canceled", "checkout_abandoned")
    assert (
        stripe_client(localstripe).v1.payment_intents.retrieve(order.payment_reference).status
        == "canceled"
    )
    assert (product(sessions).on_hand, product(sessions).reserved) == (3, 0)


def test_expired_reservation_whose_payment_succeeded_is_paid_not_released(
    stripe_settings: Settings,
    stripe_client_app: TestClient,
    bb: BuyButton,
    sessions: sessionmaker[Session],
    localstripe: str,
) -> None:
    add_product(sessions, stock=3)
    body = submit(
        stripe_client_app,
        path_of(bb.checkout_link("MUG-01")),
        card_id(localstripe, "4000000000003220"),
    ).json()
    [order] = orders(sessions)
    authenticate(localstripe, order.payment_reference, body["client_secret"], success=True)
    later = utcnow() + timedelta(hours=1)  # and the webhook never came
    assert release_expired(sessions, make_provider(stripe_settings), now=later) == 1
    assert orders(sessions)[0].status == "paid"
    assert (product(sessions).on_hand, product(sessions).reserved) == (2, 0)


def test_partial_then_full_refund_returns_stock(
    stripe_settings: Settings,
    stripe_client_app: TestClient,
    bb: BuyButton,
    sessions: sessionmaker[Session],
    localstripe: str,
) -> None:
    add_product(sessions, price="24.00", stock=5)
    path = path_of(bb.checkout_link("MUG-01", max_quantity=10))
    submit(stripe_client_app, path, "pm_card_visa", quantity=2)
    [order] = orders(sessions)
    provider = make_provider(stripe_settings)
    partial = refund_order(sessions, provider, order.id, amount=1000)
    assert (partial.status, partial.refunded_amount) == ("paid", 1000)
    assert product(sessions).on_hand == 3  # a partial refund keeps the goods out
    full = refund_order(sessions, provider, order.id)
    assert (full.status, full.refunded_amount) == ("refunded", 4800)
    assert [r.amount for r in full.refunds] == [1000, 3800]
    assert product(sessions).on_hand == 5
    stripe_refunds = (
        stripe_client(localstripe)
        .v1.refunds.list(params={"payment_intent": order.payment_reference})
        .data
    )
    assert sorted(r.amount for r in stripe_refunds) == [1000, 3800]
