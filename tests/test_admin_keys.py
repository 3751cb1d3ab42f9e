"""The owner's API keys page: a key is shown once and stored only as a hash, works against
the API, and stops working the moment it is revoked; staff and forged forms get nothing."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton_server import Settings, create_app
from buybutton_server.db import write_session
from buybutton_server.db.models import ApiKey
from buybutton_server.domain import admin_auth
from buybutton_server.domain.admin_auth import ScryptCost, create_admin
from buybutton_server.domain.api_keys import create_key

PASSWORD = "correct horse battery staple"
KEY = re.compile(r'id="new-key"[^>]*value="(bb_[a-z]+_[a-z0-9]{8}_[A-Za-z0-9_-]+)"')


@pytest.fixture(autouse=True)
def cheap_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(admin_auth, "COST", ScryptCost(n=2**14, r=8, p=1))


@pytest.fixture
def https_client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), base_url="https://shop.test") as client:
        yield client


def signed_in(client: TestClient, sessions: sessionmaker[Session], role: str) -> str:
    """Sign in as a new login with ``role``; returns the page's CSRF token."""
    email = f"{role}@shop.example"
    with write_session(sessions) as session:
        create_admin(session, email, PASSWORD, role=role)
    answer = client.post(
        "/admin/login", data={"email": email, "password": PASSWORD}, follow_redirects=False
    )
    assert answer.status_code == 303
    # The 403 page a staff login gets carries the navigation and a CSRF token too.
    return csrf_of(client.get("/admin/keys").text)


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', page)
    assert found is not None
    return found[1]


@pytest.fixture
def owner(https_client: TestClient, sessions: sessionmaker[Session]) -> str:
    return signed_in(https_client, sessions, "owner")


def works(client: TestClient, key: str) -> bool:
    return client.get("/api/v1/products", headers={"Authorization": f"Bearer {key}"}).is_success


def key_count(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(ApiKey)) or 0


def once_of(page: str) -> str:
    found = re.search(r'name="once" value="([\w-]+)"', page)
    assert found is not None
    return found[1]


def make(client: TestClient, csrf: str, name: str = "Reporting", scope: str = "read") -> str:
    once = once_of(client.get("/admin/keys").text)
    answer = client.post(
        "/admin/keys", data={"csrf": csrf, "name": name, "scope": scope, "once": once}
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    assert "it will not be shown again" in answer.text
    found = KEY.search(answer.text)
    assert found is not None
    return found[1]


def test_a_new_key_is_shown_once_stored_hashed_and_works(
    https_client: TestClient, sessions: sessionmaker[Session], owner: str
) -> None:
    page = https_client.get("/admin/keys")
    assert page.status_code == 200
    for scope in ("read", "write"):  # each scope explained on the page
        assert f'value="{scope}"' in page.text
    assert "Reads only" in page.text and "Reads and changes" in page.text

    key = make(https_client, owner)
    with sessions() as session:
        row = session.scalar(select(ApiKey))
        assert row is not None
    assert row.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in (row.prefix, row.key_hash, row.name)
    assert key.startswith(row.prefix) and row.name == "Reporting" and row.scope == "read"

    listing = https_client.get("/admin/keys")
    assert key not in listing.text, "a reload shows only the prefix"
    assert row.prefix in listing.text and "active" in listing.text

    api = https_client.get("/api/v1/products", headers={"Authorization": f"Bearer {key}"})
    assert api.status_code == 200
    write = https_client.post(
        "/api/v1/products",
        json={"sku": "X-1", "title": "X", "price": "1.00", "currency": "USD"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert write.status_code == 403, "a read key cannot write"


def test_revoking_asks_first_then_takes_effect_at_once(
    https_client: TestClient, sessions: sessionmaker[Session], owner: str
) -> None:
    key = make(https_client, owner, scope="write")
    with sessions() as session:
        prefix = session.scalar(select(ApiKey.prefix))
    bearer = {"Authorization": f"Bearer {key}"}
    assert https_client.get("/api/v1/products", headers=bearer).status_code == 200

    confirm = https_client.get(f"/admin/keys/{prefix}/revoke")
    assert confirm.status_code == 200 and "stops working at once" in confirm.text
    with sessions() as session:
        assert session.scalar(select(ApiKey.revoked_at)) is None, "asking revokes nothing"

    revoked = https_client.post(
        f"/admin/keys/{prefix}/revoke", data={"csrf": owner}, follow_redirects=False
    )
    assert revoked.status_code == 303
    assert revoked.headers["location"] == "/admin/keys?notice=revoked"
    assert https_client.get("/api/v1/products", headers=bearer).status_code == 401
    listing = https_client.get(revoked.headers["location"])
    assert "The key is revoked" in listing.text and "revoked" in listing.text
    assert https_client.get("/admin/keys/bb_read_nope/revoke").status_code == 404


def test_bad_input_is_explained_and_nothing_is_written(
    https_client: TestClient, sessions: sessionmaker[Session], owner: str
) -> None:
    blank = https_client.post("/admin/keys", data={"csrf": owner, "name": " ", "scope": "read"})
    assert blank.status_code == 422 and "Give the key a name" in blank.text
    odd = https_client.post("/admin/keys", data={"csrf": owner, "name": "App", "scope": "admin"})
    assert odd.status_code == 422 and "read or write" in odd.text
    assert 'value="App"' in odd.text, "the form keeps what was typed"
    long = https_client.post(
        "/admin/keys", data={"csrf": owner, "name": "x" * 101, "scope": "read"}
    )
    assert long.status_code == 422
    assert key_count(sessions) == 0


def test_a_key_name_is_escaped(https_client: TestClient, owner: str) -> None:
    make(https_client, owner, name="<script>alert(1)</script>")
    page = https_client.get("/admin/keys").text
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page


def test_missing_or_foreign_csrf_is_refused(
    https_client: TestClient, sessions: sessionmaker[Session], owner: str
) -> None:
    for data in ({"name": "A", "scope": "read"}, {"csrf": "0" * 64, "name": "A", "scope": "read"}):
        assert https_client.post("/admin/keys", data=data).status_code == 400
    assert key_count(sessions) == 0
    key = make(https_client, owner)
    prefix = key[: key.index("_", 8)]
    refused = https_client.post(f"/admin/keys/{prefix}/revoke", data={"csrf": "0" * 64})
    assert refused.status_code == 400
    assert https_client.get(
        "/api/v1/products", headers={"Authorization": f"Bearer {key}"}
    ).is_success


def test_staff_cannot_see_create_or_revoke_keys(
    https_client: TestClient, sessions: sessionmaker[Session]
) -> None:
    with write_session(sessions) as session:
        row, key = create_key(session, "write", "Backend")
        prefix = row.prefix
    csrf = signed_in(https_client, sessions, "staff")
    refused = https_client.get("/admin/keys")
    assert refused.status_code == 403 and "Ask an owner of this shop" in refused.text
    assert 'href="/admin/keys"' not in refused.text, "not in a staff login's navigation"
    assert https_client.get(f"/admin/keys/{prefix}/revoke").status_code == 403
    made = https_client.post("/admin/keys", data={"csrf": csrf, "name": "Mine", "scope": "write"})
    assert made.status_code == 403 and "bb_write_" not in made.text
    gone = https_client.post(f"/admin/keys/{prefix}/revoke", data={"csrf": csrf})
    assert gone.status_code == 403
    assert key_count(sessions) == 1
    assert https_client.get(
        "/api/v1/products", headers={"Authorization": f"Bearer {key}"}
    ).is_success


def test_signed_out_visitors_are_sent_to_sign_in(https_client: TestClient) -> None:
    answer = https_client.get("/admin/keys", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/admin/login")
    posted = https_client.post("/admin/keys", data={"name": "x"}, follow_redirects=False)
    assert posted.status_code == 303


def test_refreshing_the_new_key_page_makes_no_second_key(
    https_client: TestClient, sessions: sessionmaker[Session], owner: str
) -> None:
    """Review F12: the answer that shows a new key is a POST answer; a refresh posts the
    same form again."""
    form = {"csrf": owner, "name": "Backend", "scope": "write"}
    form["once"] = once_of(https_client.get("/admin/keys").text)
    first = https_client.post("/admin/keys", data=form)
    assert first.status_code == 200 and KEY.search(first.text)
    again = https_client.post("/admin/keys", data=form)  # the browser's "resend"
    assert again.status_code == 409 and "This form was already used" in again.text
    assert KEY.search(again.text) is None, "no key shown"
    assert key_count(sessions) == 1
    # the same token with another scope is the same form too
    assert https_client.post("/admin/keys", data={**form, "scope": "read"}).status_code == 409
    # the page that showed the key carries a fresh form: another key on purpose works
    second = https_client.post(
        "/admin/keys", data={**form, "name": "Second", "once": once_of(first.text)}
    )
    assert second.status_code == 200 and key_count(sessions) == 2
    # a form without its token (or with a made-up one) is out of date: nothing written
    for once in ("", "x", "!" * 30):
        stale = https_client.post("/admin/keys", data={**form, "once": once})
        assert stale.status_code == 422 and "out of date" in stale.text
    assert key_count(sessions) == 2
