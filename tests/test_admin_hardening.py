"""Issue 11, items 12, 13 and 19: scrypt at OWASP's floor with upgrades at sign-in, a
per-account sign-in limit beside the per-address one, and builder GETs that write nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton_server import Settings, create_app
from buybutton_server.db import write_session
from buybutton_server.db.models import AdminUser, ShortLink
from buybutton_server.domain import admin_auth
from buybutton_server.domain.admin_auth import ScryptCost, check_password, create_admin
from buybutton_server.errors import InvalidInput, RateLimited
from buybutton_server.services import admin_login
from tests.conftest import add_product

PASSWORD = "correct horse battery staple"
OLD = ScryptCost(n=2**14, r=8, p=1)  # what hashes were made with before issue 11
CHEAP = ScryptCost(n=2**12, r=8, p=1)


@pytest.fixture
def https_client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), base_url="https://shop.test") as client:
        yield client


def _stored_hash(sessions: sessionmaker[Session]) -> str:
    with sessions() as session:
        stored = session.scalar(select(AdminUser.password_hash))
    assert stored is not None
    return stored


def _sign_in(client: TestClient, email: str, password: str = PASSWORD) -> int:
    answer = client.post(
        "/admin/login", data={"email": email, "password": password}, follow_redirects=False
    )
    return answer.status_code


# -- item 12 -----------------------------------------------------------------------------------


def test_production_hashes_at_owasps_floor() -> None:
    # OWASP: n=2**17, r=8, p=1 (128 MiB), or an equivalent cost; n=2**14 is below it.
    cost = admin_auth.COST
    assert cost.n * cost.p >= 2**17 and cost.r >= 8
    stored = admin_auth.hash_password(PASSWORD)
    assert stored.startswith(f"scrypt${cost.n}${cost.r}${cost.p}$")
    # 128 MiB is past hashlib's default maxmem (32 MiB): the hash must still verify.
    assert check_password(PASSWORD, stored)
    assert not check_password(PASSWORD + "!", stored)


def test_an_old_hash_still_verifies_and_is_upgraded_at_the_next_sign_in(
    https_client: TestClient, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as old_days:
        old_days.setattr(admin_auth, "COST", OLD)
        with write_session(sessions) as session:
            create_admin(session, "owner@shop.example", PASSWORD)
    before = _stored_hash(sessions)
    assert before.startswith("scrypt$16384$8$1$")
    assert admin_auth.needs_rehash(before)

    assert _sign_in(https_client, "owner@shop.example", "wrong password!!") == 401
    assert _stored_hash(sessions) == before, "a wrong password upgrades nothing"

    assert _sign_in(https_client, "owner@shop.example") == 303
    after = _stored_hash(sessions)
    production = admin_auth.COST
    assert after.startswith(f"scrypt${production.n}${production.r}${production.p}$")
    assert not admin_auth.needs_rehash(after)
    assert check_password(PASSWORD, after)


@pytest.mark.parametrize(
    "stored",
    [
        "scrypt$abc$8$1$c2FsdA==$ZGlnZXN0",
        "scrypt$²$8$1$c2FsdA==$ZGlnZXN0",
        "scrypt$1073741824$8$1$c2FsdA==$ZGlnZXN0",  # would ask for 1 TiB
        "scrypt$16384$8$1$not base64!$ZGlnZXN0",
        "scrypt$16384$8$1",
    ],
)
def test_malformed_or_outsized_hashes_never_verify(stored: str) -> None:
    assert not check_password(PASSWORD, stored)


# -- item 19 -----------------------------------------------------------------------------------


def test_sign_in_is_limited_per_account_across_addresses(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(admin_auth, "COST", CHEAP)
    with write_session(sessions) as session:
        create_admin(session, "owner@shop.example", PASSWORD)
        create_admin(session, "other@shop.example", PASSWORD)
    limit = admin_login.ACCOUNT_LOGINS_PER_WINDOW
    # Each guess from a fresh address: the per-address limit never trips.
    for guess in range(limit):
        ip = f"203.0.113.{guess + 1}"
        assert admin_login.log_in(sessions, ip, "Owner@shop.example", f"guess {guess}") is None
    with pytest.raises(RateLimited) as refused:
        admin_login.log_in(sessions, "198.51.100.7", "owner@shop.example", "one more guess")
    assert refused.value.retry_after > 0
    # Even the right password waits: the limit stops guessing, whoever guesses.
    with pytest.raises(RateLimited):
        admin_login.log_in(sessions, "198.51.100.8", "owner@shop.example", PASSWORD)
    # Other accounts are not affected.
    assert admin_login.log_in(sessions, "198.51.100.9", "other@shop.example", PASSWORD)


def test_unknown_accounts_are_limited_alike(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(admin_auth, "COST", CHEAP)
    for guess in range(admin_login.ACCOUNT_LOGINS_PER_WINDOW):
        assert (
            admin_login.log_in(sessions, f"203.0.113.{guess + 1}", "nobody@x.example", "pw") is None
        )
    with pytest.raises(RateLimited):
        admin_login.log_in(sessions, "198.51.100.7", "nobody@x.example", "pw")


# -- item 13 -----------------------------------------------------------------------------------


def _short_links(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(ShortLink)) or 0


def _csrf(client: TestClient) -> str:
    page = client.get("/admin/snippets").text
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', page)
    assert found is not None
    return found[1]


@pytest.mark.parametrize("surface", ["social", "qr", "video"])
def test_builder_gets_mint_no_short_links(
    https_client: TestClient,
    sessions: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
    surface: str,
) -> None:
    monkeypatch.setattr(admin_auth, "COST", CHEAP)
    add_product(sessions)
    with write_session(sessions) as session:
        create_admin(session, "owner@shop.example", PASSWORD)
    assert _sign_in(https_client, "owner@shop.example") == 303
    query = f"sku=MUG-01&surface={surface}&campaign=c1&video_src=https%3A%2F%2Fv.example%2Fa.mp4"
    for path in (
        f"/admin/snippets?{query}",
        f"/admin/snippets?format=json&{query}",
        f"/admin/preview?{query}",
    ):
        assert https_client.get(path).status_code == 200
    assert _short_links(sessions) == 0, "a GET (prefetch, crawler, preview frame) minted a link"
    page = https_client.get(f"/admin/snippets?{query}").text
    assert 'id="short-link-form"' in page and "Create short link" in page

    # The POST needs the session's CSRF token.
    refused = https_client.post(f"/admin/snippets?{query}", data={"csrf": "0" * 64})
    assert refused.status_code == 400 and _short_links(sessions) == 0
    for _ in range(2):
        created = https_client.post(
            f"/admin/snippets?{query}", data={"csrf": _csrf(https_client)}, follow_redirects=False
        )
        assert created.status_code == 303
    assert _short_links(sessions) == 1, "the same options reuse their code"
    answer = https_client.get(f"/admin/snippets?format=json&{query}").json()
    assert not answer["short_link_needed"] and "/l/" in answer["code"] + (answer["text"] or "")
    assert _short_links(sessions) == 1


# -- item 23, the builder's side --------------------------------------------------------------


def test_a_video_snippet_needs_a_video_url(
    https_client: TestClient, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(admin_auth, "COST", CHEAP)
    add_product(sessions)
    with write_session(sessions) as session:
        create_admin(session, "owner@shop.example", PASSWORD)
    _sign_in(https_client, "owner@shop.example")
    answer = https_client.get("/admin/snippets?format=json&sku=MUG-01&surface=video")
    assert answer.status_code == 422
    assert "video file's URL" in answer.json()["error"]["message"]
    assert "/media/video.mp4" not in answer.text


# -- item 18, the sign-in form ------------------------------------------------------------------


def test_nul_characters_in_the_sign_in_form_never_reach_the_database(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL refuses U+0000 in a query (a 500); SQLite would not notice, so watch the
    parameters every statement sends."""
    monkeypatch.setattr(admin_auth, "COST", CHEAP)
    sent: list[object] = []

    def record(
        conn: object, cursor: object, statement: str, parameters: object, *_: object
    ) -> None:
        sent.append(parameters)

    engine = sessions.kw["bind"]
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert admin_login.log_in(sessions, "203.0.113.1", "owner\x00@shop.example", "pw") is None
        with write_session(sessions) as session, pytest.raises(InvalidInput):
            create_admin(session, "owner\x00@shop.example", PASSWORD)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert sent and not any(_has_nul(parameters) for parameters in sent)


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(_has_nul(item) for item in value)
    return False
