"""Short links that carry a full pre-fill on the server (issue 13, items 1 and 3): email,
name and a shipping address validated when minted, several items and discount codes. No
personal data ever reaches a URL; ``mint(..., address=)`` is the entry point others use."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton.tokens import CheckoutLink, LinkSigner
from buybutton_server import Settings
from buybutton_server.app import create_app
from buybutton_server.db import write_session
from buybutton_server.db.models import ShortLink
from buybutton_server.domain import short_links
from buybutton_server.domain.api_keys import create_key
from buybutton_server.domain.checkout_model import Address
from buybutton_server.domain.short_links import AddressRefused
from tests.conftest import BASE_URL, SECRET, add_product

PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"
BERLIN = Address(
    country="DE", city="Berlin", postal_code="10115", line1="Unter den Linden 1", name="Ana Lima"
)


@pytest.fixture
def shop(settings: Settings, sessions: sessionmaker[Session]) -> Iterator[TestClient]:
    add_product(sessions, stock=10)
    add_product(sessions, sku="TEE-M", title="Linen tee", price="30.00", stock=10)
    with TestClient(create_app(settings), base_url=BASE_URL, follow_redirects=False) as client:
        yield client


@pytest.fixture
def api(shop: TestClient, sessions: sessionmaker[Session]) -> TestClient:
    with write_session(sessions) as session:
        key = create_key(session, "write", "test")[1]
    shop.headers["Authorization"] = f"Bearer {key}"
    return shop


def _count(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(ShortLink)) or 0


def _hop(client: TestClient, code: str) -> CheckoutLink:
    """Open ``/l/{code}`` as a phone: one redirect, to a signed link; returns that link."""
    hop = client.get(f"/l/{code}", headers={"User-Agent": PHONE})
    assert hop.status_code == 302, hop.text
    target = hop.headers["location"]
    assert target.startswith("/c/")
    for personal in ("ana", "lima", "berlin", "10115", "linden"):
        assert personal not in target.lower(), f"{personal!r} leaked into {target}"
    return LinkSigner([SECRET]).verify(target.removeprefix("/c/"))


def test_mint_with_a_german_address_keeps_it_behind_the_code(
    shop: TestClient, sessions: sessionmaker[Session]
) -> None:
    typed = Address(country="de", city="Berlin", postal_code=" 10115 ", line1="Unter den Linden 1")
    link = CheckoutLink(sku="MUG-01", email="ana@example.com", name="Ana Lima", source="chat")
    with write_session(sessions) as session:
        code = short_links.mint(session, link, address=typed)
    target = _hop(shop, code)
    assert (target.email, target.name, target.short_code, target.source) == (
        None,
        None,
        code,
        "chat",
    )
    stored = short_links.find(sessions, code)
    assert stored is not None and stored.address == BERLIN  # normalised, named
    assert stored.has_personal_data and stored.matches(target)
    assert not stored.matches(CheckoutLink(sku="TEE-M", short_code=code))


def test_an_address_alone_is_personal_data_and_names_the_code(
    shop: TestClient, sessions: sessionmaker[Session]
) -> None:
    with write_session(sessions) as session:
        code = short_links.mint(session, CheckoutLink(sku="MUG-01"), address=BERLIN)
    assert _hop(shop, code).short_code == code
    stored = short_links.find(sessions, code)
    assert stored is not None and stored.name == "Ana Lima" and stored.address == BERLIN


def test_a_bad_postal_code_is_refused_with_the_field_message_and_nothing_stored(
    sessions: sessionmaker[Session],
) -> None:
    wrong = Address(country="DE", city="Berlin", postal_code="1011", line1="Unter den Linden 1")
    with pytest.raises(AddressRefused) as refused, write_session(sessions) as session:
        short_links.mint(session, CheckoutLink(sku="MUG-01"), address=wrong)
    assert refused.value.code == "invalid_address"
    assert set(refused.value.fields) == {"postal_code"}
    assert "postal code like" in refused.value.fields["postal_code"]
    assert "prefill.address.postal_code" in refused.value.message
    assert _count(sessions) == 0


def test_multi_item_short_link_with_codes_round_trips(
    shop: TestClient, sessions: sessionmaker[Session]
) -> None:
    link = CheckoutLink.for_items([("MUG-01", 2), ("TEE-M", 1)], codes=("WELCOME10",))
    with write_session(sessions) as session:
        code = short_links.mint(session, link)
        again = short_links.mint_or_reuse(session, link)
        other = short_links.mint_or_reuse(session, CheckoutLink.for_items([("MUG-01", 2)]))
    assert again == code and other != code  # the same public look reuses its code
    target = _hop(shop, code)
    assert target.items == (("MUG-01", 2), ("TEE-M", 1)) and target.codes == ("WELCOME10",)
    assert target.short_code is None  # nothing personal: the plain signed link
    stored = short_links.find(sessions, code)
    assert stored is not None and stored.lines == target.lines and stored.address is None


def test_api_mints_a_short_look_with_a_prefilled_address(
    api: TestClient, sessions: sessionmaker[Session]
) -> None:
    body = {
        "items": [{"sku": "MUG-01", "quantity": 2}, {"sku": "TEE-M"}],
        "codes": ["WELCOME10"],
        "short": True,
        "prefill": {
            "email": "ana@example.com",
            "address": {  # UCP's postal_address names work as well as ours
                "address_country": "DE",
                "address_locality": "Berlin",
                "postal_code": "10115",
                "street_address": "Unter den Linden 1",
                "first_name": "Ana",
                "last_name": "Lima",
            },
        },
    }
    answer = api.post("/api/v1/links", json=body)
    assert answer.status_code == 201, answer.text
    url = answer.json()["short_url"]
    assert re.fullmatch(r"http://shop\.test/l/[A-Za-z0-9]{10}", url)
    code = url.rsplit("/", 1)[1]
    target = _hop(api, code)
    assert target.items == (("MUG-01", 2), ("TEE-M", 1)) and target.short_code == code
    stored = short_links.find(sessions, code)
    assert stored is not None and stored.address == BERLIN and stored.email == "ana@example.com"


@pytest.mark.parametrize(
    ("prefill", "short", "says"),
    [
        ({"address": {"country": "DE", "city": "Berlin", "postal_code": "1011", "line1": "x"}},
         True, "prefill.address.postal_code"),
        ({"address": {"country": "Narnia", "city": "x", "line1": "x"}}, True, "Narnia"),
        ({"address": {"country": "US", "city": "LA", "postal_code": "90001", "line1": "1 Main",
                      "region": "Oregon"}}, True, "prefill.address.postal_code"),
        ({"email": "ana@example.com"}, False, "short"),
        ({"address": {"country": "DE", "colour": "red"}}, True, "colour"),
    ],
)  # fmt: skip
def test_api_refuses_a_bad_prefill_and_stores_nothing(
    api: TestClient,
    sessions: sessionmaker[Session],
    prefill: dict[str, object],
    short: bool,
    says: str,
) -> None:
    answer = api.post("/api/v1/links", json={"sku": "MUG-01", "short": short, "prefill": prefill})
    assert answer.status_code == 422, answer.text
    assert says in answer.json()["error"]["message"]
    assert _count(sessions) == 0


def test_sdk_mints_a_short_look_with_an_address(
    api: TestClient, sessions: sessionmaker[Session]
) -> None:
    from buybutton import BuyButton

    key = api.headers["Authorization"].split()[1]
    bb = BuyButton(base_url=BASE_URL, api_key=key, http_client=api)  # type: ignore[arg-type]
    link = bb.create_link(
        items=[("MUG-01", 2), ("TEE-M", 1)],
        short=True,
        email="ana@example.com",
        address={"country": "DE", "postal_code": "10115", "city": "Berlin",
                 "line1": "Unter den Linden 1", "name": "Ana Lima"},
    )  # fmt: skip
    code = str(link.short_url).rsplit("/", 1)[1]
    stored = short_links.find(sessions, code)
    assert stored is not None and stored.address == BERLIN and stored.email == "ana@example.com"
    assert stored.items == (("MUG-01", 2), ("TEE-M", 1))


def test_cli_mints_a_short_look_with_an_address(
    monkeypatch: pytest.MonkeyPatch,
    settings: Settings,
    sessions: sessionmaker[Session],
    capsys: pytest.CaptureFixture[str],
) -> None:
    from buybutton.cli import main

    monkeypatch.setenv("BUYBUTTON_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("BUYBUTTON_SECRET_KEYS", SECRET)
    monkeypatch.setenv("BUYBUTTON_BASE_URL", BASE_URL)
    add_product(sessions)
    add_product(sessions, sku="TEE-M", title="Linen tee", price="30.00")
    where = ["--country", "DE", "--postal-code", "10115", "--city", "Berlin", "--line1", "X 1"]
    args = ["link", "MUG-01:2", "TEE-M:1", "--short", "--email", "ana@example.com", *where]
    assert main([*args, "--code", "WELCOME10"]) == 0
    code = capsys.readouterr().out.strip().rsplit("/", 1)[1]
    stored = short_links.find(sessions, code)
    assert stored is not None and stored.address is not None
    assert (stored.address.country, stored.address.postal_code) == ("DE", "10115")
    assert stored.lines == (("MUG-01", 2), ("TEE-M", 1)) and stored.codes == ("WELCOME10",)
    # A bad postal code: the field's message, exit status 2, nothing stored.
    assert main(["link", "MUG-01", "--short", "--country", "DE", "--postal-code", "1"]) == 2
    assert "address.postal_code" in capsys.readouterr().err
    # An address never goes in a signed URL.
    assert main(["link", "MUG-01", "--country", "DE"]) != 0
    assert _count(sessions) == 1
