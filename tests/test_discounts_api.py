"""Discount codes through the REST API, the command line and the admin page: create (with
an Idempotency-Key), list, disable and enable; bad input gets one clear message and nothing
is written; forged forms and signed-out visitors get nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton_server import Settings, create_app
from buybutton_server.db import write_session
from buybutton_server.db.models import DiscountCode
from buybutton_server.domain import admin_auth
from buybutton_server.domain.admin_auth import ScryptCost, create_admin
from buybutton_server.domain.api_keys import create_key
from tests.conftest import BASE_URL, SECRET, add_product

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def cheap_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(admin_auth, "COST", ScryptCost(n=2**14, r=8, p=1))


def key(sessions: sessionmaker[Session], scope: str) -> dict[str, str]:
    with write_session(sessions) as session:
        return {"Authorization": f"Bearer {create_key(session, scope, 'test')[1]}"}


def count(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(DiscountCode)) or 0


# -- the API --------------------------------------------------------------------------------


def test_create_list_disable_enable(client: TestClient, sessions: sessionmaker[Session]) -> None:
    add_product(sessions, sku="TEE-M")
    auth = key(sessions, "write")
    body = {
        "code": "summer-10",
        "kind": "fixed",
        "amount": 500,
        "currency": "eur",
        "min_subtotal": 2000,
        "usage_limit": 100,
        "scope": "products",
        "skus": ["TEE-M"],
        "ends_at": "2030-01-01T00:00:00Z",
    }
    made = client.post("/api/v1/discount-codes", json=body, headers=auth)
    assert made.status_code == 201, made.text
    code = made.json()
    assert code["code"] == "SUMMER-10" and code["title"] == "SUMMER-10"
    assert code["amount"] == {"amount": 500, "currency": "EUR", "decimal": "5.00"}
    assert code["min_subtotal"]["decimal"] == "20.00" and code["skus"] == ["TEE-M"]
    assert (code["times_used"], code["usage_limit"], code["state"]) == (0, 100, "active")
    assert code["ends_at"] == "2030-01-01T00:00:00Z"
    listed = client.get("/api/v1/discount-codes?limit=1", headers=key(sessions, "read"))
    assert listed.status_code == 200 and [c["code"] for c in listed.json()["data"]] == ["SUMMER-10"]
    off = client.post("/api/v1/discount-codes/Summer-10/disable", headers=auth)
    assert off.status_code == 200 and off.json()["state"] == "disabled"
    on = client.post("/api/v1/discount-codes/summer-10/enable", headers=auth)
    assert on.json()["active"] is True
    assert client.post("/api/v1/discount-codes/NOPE/disable", headers=auth).status_code == 404


def test_create_is_idempotent_and_a_duplicate_is_a_conflict(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    auth = key(sessions, "write") | {"Idempotency-Key": "create-save-1"}
    body = {"code": "SAVE", "kind": "percent", "percent_bp": 1500}
    first = client.post("/api/v1/discount-codes", json=body, headers=auth)
    again = client.post("/api/v1/discount-codes", json=body, headers=auth)
    assert first.status_code == again.status_code == 201 and again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    other = client.post("/api/v1/discount-codes", json={**body, "percent_bp": 10}, headers=auth)
    assert other.status_code == 409
    dup = client.post(
        "/api/v1/discount-codes", json={**body, "code": "save"}, headers=key(sessions, "write")
    )
    assert dup.status_code == 409 and "already exists" in dup.json()["error"]["message"]
    assert count(sessions) == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"code": "X", "kind": "percent", "percent_bp": 10}, "code may use only"),
        ({"code": "FREE", "kind": "percent"}, "percentage from 0.01 to 100"),
        ({"code": "FREE", "kind": "percent", "percent_bp": 20000}, "percent_bp"),
        ({"code": "FREE", "kind": "fixed", "amount": 5}, "needs a currency"),
        ({"code": "FREE", "kind": "gift", "percent_bp": 5}, "kind"),
        ({"code": "FREE", "kind": "free_shipping", "starts_at": "tomorrow"}, "ISO 8601"),
        ({"code": "FREE", "kind": "free_shipping", "scope": "products", "skus": ["NO-1"]},
         "no product with sku 'NO-1'"),
    ],
)  # fmt: skip
def test_bad_codes_get_a_422_naming_the_problem(
    client: TestClient, sessions: sessionmaker[Session], body: dict[str, object], message: str
) -> None:
    answer = client.post("/api/v1/discount-codes", json=body, headers=key(sessions, "write"))
    assert answer.status_code == 422 and message in answer.text
    assert count(sessions) == 0


def test_read_keys_cannot_create_or_disable(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    reader = key(sessions, "read")
    body = {"code": "SAVE", "kind": "percent", "percent_bp": 1500}
    assert client.post("/api/v1/discount-codes", json=body, headers=reader).status_code == 403
    assert client.get("/api/v1/discount-codes").status_code == 401
    assert count(sessions) == 0


# -- the command line -----------------------------------------------------------------------


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    monkeypatch.setenv("BUYBUTTON_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("BUYBUTTON_SECRET_KEYS", SECRET)
    monkeypatch.setenv("BUYBUTTON_BASE_URL", BASE_URL)


def test_codes_command(
    cli_env: None, sessions: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    from buybutton.cli import main

    assert main(["codes", "create", "five", "--amount", "5.00", "--currency", "EUR",
                 "--limit", "10", "--min-subtotal", "20"]) == 0  # fmt: skip
    assert main(["codes", "create", "Ship", "--free-shipping"]) == 0
    assert main(["codes", "create", "half", "--percent", "12.5"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "created FIVE: €5.00 off",
        "created SHIP: Free shipping",
        "created HALF: 12.5% off",
    ]
    with sessions() as session:
        five = session.scalars(select(DiscountCode).where(DiscountCode.code == "FIVE")).one()
    assert (five.amount, five.min_subtotal, five.currency, five.usage_limit) == (
        500,
        2000,
        "EUR",
        10,
    )
    assert main(["codes", "disable", "ship"]) == 0
    assert main(["codes", "list"]) == 0
    listed = capsys.readouterr().out
    assert re.search(r"FIVE\s+€5.00 off\s+0/10\s+active", listed)
    assert re.search(r"SHIP\s+Free shipping\s+0\s+disabled", listed)
    assert main(["codes", "create", "bad", "--amount", "5.001", "--currency", "EUR"]) == 2
    assert main(["codes", "create", "five", "--percent", "5"]) == 2
    assert main(["codes", "disable", "nope"]) == 2
    errors = capsys.readouterr().err.splitlines()
    assert errors == [
        "buybutton: amount: '5.001' has more decimals than EUR allows (2)",
        "buybutton: A code FIVE already exists.",
        "buybutton: There is no discount code NOPE.",
    ]


# -- the admin page -------------------------------------------------------------------------


@pytest.fixture
def https_client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), base_url="https://shop.test") as client:
        yield client


def signed_in(client: TestClient, sessions: sessionmaker[Session], role: str) -> str:
    email = f"{role}@shop.example"
    with write_session(sessions) as session:
        create_admin(session, email, PASSWORD, role=role)
    answer = client.post(
        "/admin/login", data={"email": email, "password": PASSWORD}, follow_redirects=False
    )
    assert answer.status_code == 303
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', client.get("/admin/discounts").text)
    assert found is not None
    return found[1]


FORM = {
    "code": "welcome",
    "title": "Welcome gift",
    "kind": "percent",
    "percent": "15",
    "amount": "",
    "currency": "EUR",
    "min_subtotal": "",
    "starts_at": "",
    "ends_at": "2030-01-01T00:00",
    "usage_limit": "50",
    "per_customer_limit": "1",
    "scope": "all",
    "skus": "",
    "collection": "",
}


def test_staff_create_disable_and_enable_a_code(
    https_client: TestClient, sessions: sessionmaker[Session]
) -> None:
    csrf = signed_in(https_client, sessions, "staff")
    page = https_client.get("/admin/discounts")
    assert page.status_code == 200 and 'href="/admin/discounts" aria-current="page"' in page.text
    made = https_client.post(
        "/admin/discounts", data={**FORM, "csrf": csrf}, follow_redirects=False
    )
    assert made.status_code == 303 and made.headers["location"] == "/admin/discounts?notice=created"
    listed = https_client.get(made.headers["location"]).text
    assert "The code is ready" in listed and "WELCOME" in listed and "15% off" in listed
    assert (
        "0 of 50" in listed
        and "1 per customer" in listed
        and "until 2030-01-01 00:00 UTC" in listed
    )
    with sessions() as session:
        row = session.scalars(select(DiscountCode)).one()
    assert (row.percent_bp, row.currency, row.title) == (1500, None, "Welcome gift")
    off = https_client.post("/admin/discounts/WELCOME/disable", data={"csrf": csrf})
    assert off.status_code == 200 and "checkouts no longer take it" in off.text
    assert "Enable<span" in off.text
    https_client.post("/admin/discounts/WELCOME/enable", data={"csrf": csrf})
    with sessions() as session:
        assert session.scalars(select(DiscountCode.active)).one() is True
    missing = https_client.post("/admin/discounts/NOPE/disable", data={"csrf": csrf})
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"code": "a b"}, "code may use only"),
        ({"percent": "150"}, "percent must be from 0.01 to 100"),
        ({"kind": "fixed", "amount": "5.001"}, "has more decimals than EUR allows"),
        ({"kind": "fixed", "amount": "5", "currency": ""}, "amount needs a currency"),
        ({"usage_limit": "-1"}, "usage limit must be a whole number"),
        ({"ends_at": "soon"}, "ends must be a date"),
        ({"scope": "products", "skus": "NOPE-1"}, "no product with sku &#39;NOPE-1&#39;"),
    ],
)
def test_a_form_with_a_mistake_is_shown_again_with_what_was_typed(
    https_client: TestClient,
    sessions: sessionmaker[Session],
    changes: dict[str, str],
    message: str,
) -> None:
    csrf = signed_in(https_client, sessions, "owner")
    answer = https_client.post("/admin/discounts", data={**FORM, **changes, "csrf": csrf})
    assert answer.status_code == 422 and message in answer.text
    assert 'role="alert"' in answer.text and 'value="Welcome gift"' in answer.text
    assert count(sessions) == 0


def test_forged_forms_and_signed_out_visitors_get_nothing(
    https_client: TestClient, sessions: sessionmaker[Session]
) -> None:
    away = https_client.get("/admin/discounts", follow_redirects=False)
    assert away.status_code == 303 and away.headers["location"].startswith("/admin/login")
    signed_in(https_client, sessions, "staff")
    for data in ({**FORM}, {**FORM, "csrf": "0" * 64}):
        assert https_client.post("/admin/discounts", data=data).status_code == 400
    assert count(sessions) == 0


def test_codes_are_escaped_on_the_page(
    https_client: TestClient, sessions: sessionmaker[Session]
) -> None:
    csrf = signed_in(https_client, sessions, "owner")
    https_client.post("/admin/discounts", data={**FORM, "title": "<b>gift</b>", "csrf": csrf})
    page = https_client.get("/admin/discounts").text
    assert "&lt;b&gt;gift&lt;/b&gt;" in page and "<b>gift</b>" not in page
