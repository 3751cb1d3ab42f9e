"""Fulfilment with tracking: the rules for carrier, number and link, and the same behaviour
through the API, the SDK and ``buybutton orders fulfil``."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton import BuyButton
from buybutton.cli import main
from buybutton_server import Settings
from buybutton_server.db import write_session
from buybutton_server.db.models import Order, WebhookEvent
from buybutton_server.domain.api_keys import create_key
from buybutton_server.domain.fulfilment import CARRIERS, Tracking, tracking
from buybutton_server.errors import InvalidInput
from tests.conftest import (
    BASE_URL,
    DECLINED_CARD,
    GOOD_CARD,
    SECRET,
    SHOPPER,
    add_product,
    attempt_key,
    path_of,
)


@pytest.mark.parametrize(
    ("typed", "name", "url"),
    [
        ("dhl", "DHL", "https://www.dhl.com/global-en/home/tracking.html?tracking-id=AB12"),
        ("UPS", "UPS", "https://www.ups.com/track?tracknum=AB12"),
        ("usps", "USPS", "https://tools.usps.com/go/TrackConfirmAction?tLabels=AB12"),
        ("Fed-Ex", "FedEx", "https://www.fedex.com/fedextrack/?trknbr=AB12"),
        ("Royal Mail", "Royal Mail", "https://www.royalmail.com/track-your-item#/tracking-results/AB12"),
        ("La Poste", "La Poste/Colissimo", "https://www.laposte.fr/outils/suivre-vos-envois?code=AB12"),
        ("colissimo", "La Poste/Colissimo", "https://www.laposte.fr/outils/suivre-vos-envois?code=AB12"),
        ("PostNL", "PostNL", "https://jouw.postnl.nl/track-and-trace/AB12"),
    ],
)  # fmt: skip
def test_known_carriers_get_their_name_and_tracking_link(typed: str, name: str, url: str) -> None:
    assert tracking(typed, " AB 12 ") == Tracking(carrier=name, number="AB 12", url=url)


def test_a_given_link_wins_and_other_carriers_keep_their_name() -> None:
    mine = "https://track.example/x?id=1"
    assert tracking("dhl", "1", mine).url == mine
    assert tracking("Bike Courier", "7") == Tracking(carrier="Bike Courier", number="7", url=None)
    assert tracking("ups") == Tracking(carrier="UPS")
    assert tracking(" ", "", None) == Tracking()
    assert not Tracking().given and tracking(number="1").given
    assert len(CARRIERS) == 7


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"url": "http://track.example/1"}, "https://"),
        ({"url": "javascript:alert(1)"}, "https://"),
        ({"url": "https://user:pw@track.example/1"}, "https://"),
        ({"url": "https:///nohost"}, "https://"),
        ({"url": "https://x.example/" + "a" * 500}, "longer than 500"),
        ({"carrier": "c" * 65}, "longer than 64"),
        ({"carrier": "DHL\nBcc: x"}, "one line"),
        ({"number": "1" * 129}, "longer than 128"),
        ({"number": "<b>1</b>"}, "letters, digits"),
    ],
)
def test_bad_tracking_is_refused_with_the_part_named(given: dict, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        tracking(**given)


# -- the API, the SDK and the CLI -----------------------------------------------------------


@pytest.fixture
def writer(sessions: sessionmaker[Session]) -> str:
    with write_session(sessions) as session:
        return create_key(session, "write", "test")[1]


def buy(client: TestClient, bb: BuyButton, card: dict[str, str] = GOOD_CARD) -> str:
    path = path_of(bb.checkout_link("MUG-01"))
    client.cookies.delete("bb_bought")  # buying through the same link again (item 8)
    client.post(path, data={"attempt": attempt_key(client.get(path).text), **SHOPPER, **card})
    with client.app.state.sessions() as session:  # type: ignore[attr-defined]
        number = session.scalar(select(Order.number).order_by(Order.id.desc()).limit(1))
    assert number is not None
    return number


def fulfilled_events(sessions: sessionmaker[Session]) -> list[dict]:
    with sessions() as session:
        rows = session.scalars(
            select(WebhookEvent.payload)
            .where(WebhookEvent.type == "order.fulfilled")
            .order_by(WebhookEvent.id)
        )
        return [json.loads(row)["data"]["order"] for row in rows]


def test_the_api_fulfils_with_tracking_and_changes_it_later(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session], writer: str
) -> None:
    add_product(sessions)
    number = buy(client, bb)
    auth = {"Authorization": f"Bearer {writer}"}
    assert client.get(f"/api/v1/orders/{number}", headers=auth).json()["tracking"] is None
    body = {"carrier": "UPS", "tracking_number": "1Z999AA10123456784"}
    done = client.post(f"/api/v1/orders/{number}/fulfill", json=body, headers=auth)
    assert done.status_code == 200, done.text
    expected = {
        "carrier": "UPS",
        "number": "1Z999AA10123456784",
        "url": "https://www.ups.com/track?tracknum=1Z999AA10123456784",
    }
    assert done.json()["tracking"] == expected and done.json()["fulfilled_at"]
    again = client.post(f"/api/v1/orders/{number}/fulfill", json=body, headers=auth)
    assert again.json() == done.json(), "the same values: nothing changes"
    bare = client.post(f"/api/v1/orders/{number}/fulfill", headers=auth)
    assert bare.json() == done.json(), "no body: nothing changes, the tracking stays"
    assert [e["tracking"] for e in fulfilled_events(sessions)] == [expected]

    new = {"carrier": "ups", "tracking_number": "1Z999AA10123456785"}
    changed = client.post(f"/api/v1/orders/{number}/fulfill", json=new, headers=auth).json()
    assert changed["tracking"]["number"] == "1Z999AA10123456785"
    assert changed["fulfilled_at"] == done.json()["fulfilled_at"]
    assert [e["tracking"]["number"] for e in fulfilled_events(sessions)] == [
        "1Z999AA10123456784",
        "1Z999AA10123456785",
    ]
    listed = client.get("/api/v1/orders", headers=auth).json()["data"][0]
    assert listed["tracking"] == changed["tracking"]


def test_the_api_refuses_bad_tracking_and_unpaid_orders(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session], writer: str
) -> None:
    add_product(sessions)
    number = buy(client, bb)
    auth = {"Authorization": f"Bearer {writer}"}
    for body, message in (
        ({"tracking_url": "http://track.example/1"}, "https://"),
        ({"tracking_number": "x" * 129}, "tracking_number"),
        ({"carrier": 5}, "carrier"),
        ({"courier": "DHL"}, "courier"),
    ):
        answer = client.post(f"/api/v1/orders/{number}/fulfill", json=body, headers=auth)
        assert answer.status_code == 422, body
        assert message in answer.json()["error"]["message"]
    assert client.get(f"/api/v1/orders/{number}", headers=auth).json()["fulfilled_at"] is None
    failed = buy(client, bb, card=DECLINED_CARD)
    refused = client.post(f"/api/v1/orders/{failed}/fulfill", json={"carrier": "DHL"}, headers=auth)
    assert refused.status_code == 409
    assert fulfilled_events(sessions) == []


def test_a_refunded_orders_tracking_no_longer_changes(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session], writer: str
) -> None:
    add_product(sessions)
    number = buy(client, bb)
    auth = {"Authorization": f"Bearer {writer}"}
    body = {"carrier": "DHL", "tracking_number": "1"}
    client.post(f"/api/v1/orders/{number}/fulfill", json=body, headers=auth)
    client.post(f"/api/v1/orders/{number}/refund", json={}, headers=auth)
    same = client.post(f"/api/v1/orders/{number}/fulfill", json=body, headers=auth)
    assert same.status_code == 200 and same.json()["status"] == "refunded"
    other = client.post(
        f"/api/v1/orders/{number}/fulfill", json={**body, "tracking_number": "2"}, headers=auth
    )
    assert other.status_code == 409 and "can no longer change" in other.text


def test_the_sdk_reads_tracking(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session], writer: str
) -> None:
    add_product(sessions)
    number = buy(client, bb)
    api = BuyButton(base_url=BASE_URL, api_key=writer, http_client=client)  # type: ignore[arg-type]
    fulfilled = api.fulfill_order(number, carrier="postnl", tracking_number="3SABC123")
    assert (fulfilled.carrier, fulfilled.tracking_number, fulfilled.tracking_url) == (
        "PostNL",
        "3SABC123",
        "https://jouw.postnl.nl/track-and-trace/3SABC123",
    )
    assert api.get_order(number).tracking_number == "3SABC123"


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    monkeypatch.setenv("BUYBUTTON_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("BUYBUTTON_SECRET_KEYS", SECRET)
    monkeypatch.setenv("BUYBUTTON_BASE_URL", BASE_URL)


def test_the_cli_fulfils_with_tracking(
    cli_env: None,
    client: TestClient,
    bb: BuyButton,
    sessions: sessionmaker[Session],
    capsys: pytest.CaptureFixture[str],
) -> None:
    add_product(sessions)
    number = buy(client, bb)
    argv = ["orders", "fulfil", number.lower(), "--carrier", "Royal Mail", "--tracking", "RM1"]
    assert main(argv) == 0
    url = "https://www.royalmail.com/track-your-item#/tracking-results/RM1"
    assert f"{number} fulfilled: Royal Mail RM1 {url}" in capsys.readouterr().out
    assert [e["tracking"]["url"] for e in fulfilled_events(sessions)] == [url]
    mine = "https://courier.example/t/9"
    assert main(["orders", "fulfill", number, "--carrier", "Courier", "--tracking", "9",
                 "--tracking-url", mine]) == 0  # fmt: skip
    assert f"{number} fulfilled: Courier 9 {mine}" in capsys.readouterr().out
    assert main(["orders", "fulfil", number, "--tracking-url", "http://x.example"]) == 1
    assert "https://" in capsys.readouterr().err
    assert main(["orders", "fulfil", "BB-NOPE"]) == 1
    assert "no order BB-NOPE" in capsys.readouterr().err
    assert len(fulfilled_events(sessions)) == 2
