"""Staff logins with roles, disabling, password change and password reset by email."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator

import pytest
from itsdangerous import TimestampSigner
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton_server import Settings, create_app
from buybutton_server.db import write_session
from buybutton_server.db.models import AdminSession, AdminUser, MailMessage
from buybutton_server.domain import admin_auth
from buybutton_server.domain.admin_auth import COOKIE, ScryptCost, create_admin
from buybutton_server.services import staff

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a much longer new passphrase"
OWNER = "owner@shop.example"


@pytest.fixture(autouse=True)
def cheap_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(admin_auth, "COST", ScryptCost(n=2**14, r=8, p=1))


@pytest.fixture
def mailed(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """The set-password emails the server asked the mail service to send: (to, link)."""
    sent: list[tuple[str, str]] = []
    monkeypatch.setattr(
        staff, "_send", lambda sessions, to, url, *lifetime, **how: sent.append((to, url))
    )
    return sent


@pytest.fixture
def owner(sessions: sessionmaker[Session]) -> str:
    with write_session(sessions) as session:
        create_admin(session, OWNER, PASSWORD)
    return OWNER


def _client(settings: Settings) -> TestClient:
    return TestClient(create_app(settings), base_url="https://shop.test")


@pytest.fixture
def browser(settings: Settings, owner: str) -> Iterator[TestClient]:
    with _client(settings) as client:
        yield client


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> int:
    answer = client.post(
        "/admin/login", data={"email": email, "password": password}, follow_redirects=False
    )
    return answer.status_code


def csrf_of(client: TestClient, page: str = "/admin/account") -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', client.get(page).text)
    assert found is not None
    return found[1]


def user_id(sessions: sessionmaker[Session], email: str) -> int:
    with sessions() as session:
        found = session.scalar(select(AdminUser.id).where(AdminUser.email == email))
    assert found is not None
    return found


def add_staff(client: TestClient, email: str, password: str = PASSWORD, role: str = "staff"):  # type: ignore[no-untyped-def]
    return client.post(
        "/admin/staff",
        data={"csrf": csrf_of(client), "email": email, "role": role, "password": password},
        follow_redirects=False,
    )


def count_logins(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(AdminUser)) or 0


def test_staff_pages_and_settings_are_owner_only(
    settings: Settings, sessions: sessionmaker[Session], browser: TestClient
) -> None:
    sign_in(browser, OWNER)
    assert add_staff(browser, "clerk@shop.example").status_code == 303
    with _client(settings) as clerk:
        assert sign_in(clerk, "clerk@shop.example") == 303
        orders = clerk.get("/admin/account")
        assert orders.status_code == 200
        assert "API keys" not in orders.text and 'href="/admin/staff"' not in orders.text
        token = csrf_of(clerk)
        before = count_logins(sessions)
        for path, form in (
            ("/admin/staff", {"email": "mole@shop.example", "role": "owner", "password": PASSWORD}),
            (
                f"/admin/staff/{user_id(sessions, 'clerk@shop.example')}",
                {"action": "role", "role": "owner"},
            ),
            ("/admin/settings", {"name": "Hijacked", "allowed_origins": "https://evil.example"}),
        ):
            assert clerk.get(path).status_code in (403, 405)
            refused = clerk.post(path, data={"csrf": token, **form}, follow_redirects=False)
            assert refused.status_code == 403, path
        assert clerk.get("/admin/staff").status_code == 403
        assert clerk.get("/admin/settings").status_code == 403
    assert count_logins(sessions) == before
    with sessions() as session:
        clerk_row = session.scalar(select(AdminUser).where(AdminUser.email == "clerk@shop.example"))
        assert clerk_row is not None and clerk_row.role == "staff"
    owner_view = browser.get("/admin/settings")
    assert "Hijacked" not in owner_view.text


def test_owner_lists_and_adds_logins_with_clear_errors(
    browser: TestClient, sessions: sessionmaker[Session]
) -> None:
    sign_in(browser, OWNER)
    assert add_staff(browser, "Clerk@Shop.example").headers["location"].endswith("notice=added")
    page = browser.get("/admin/staff?notice=added")
    assert "clerk@shop.example" in page.text and "The login was added" in page.text
    again = add_staff(browser, "clerk@shop.example")
    assert again.status_code == 422 and "exists already" in again.text
    short = add_staff(browser, "new@shop.example", password="short")
    assert short.status_code == 422 and "at least 12" in short.text
    assert 'value="new@shop.example"' in short.text, "the form keeps what was typed"
    bad_role = add_staff(browser, "new@shop.example", role="admin")
    assert bad_role.status_code == 422
    assert count_logins(sessions) == 2


def test_an_invited_login_sets_its_own_password(
    settings: Settings, browser: TestClient, mailed: list[tuple[str, str]]
) -> None:
    sign_in(browser, OWNER)
    invited = add_staff(browser, "new@shop.example", password="")
    assert invited.headers["location"].endswith("notice=invited")
    [(to, link)] = mailed
    assert to == "new@shop.example" and link.startswith("http://shop.test/admin/password-reset/")
    with _client(settings) as newcomer:
        path = link.removeprefix("http://shop.test")
        assert "Set your password" in newcomer.get(path).text
        done = newcomer.post(
            path, data={"new": NEW_PASSWORD, "confirm": NEW_PASSWORD}, follow_redirects=False
        )
        assert done.status_code == 303 and COOKIE in done.headers["set-cookie"]
        assert newcomer.get("/admin/account").status_code == 200
    with _client(settings) as later:
        assert sign_in(later, to, NEW_PASSWORD) == 303


def test_disabling_a_login_ends_its_sessions_at_once(
    settings: Settings, browser: TestClient, sessions: sessionmaker[Session]
) -> None:
    sign_in(browser, OWNER)
    add_staff(browser, "clerk@shop.example")
    clerk_id = user_id(sessions, "clerk@shop.example")
    with _client(settings) as clerk:
        sign_in(clerk, "clerk@shop.example")
        assert clerk.get("/admin/account").status_code == 200
        disabled = browser.post(
            f"/admin/staff/{clerk_id}",
            data={"csrf": csrf_of(browser), "action": "disable"},
            follow_redirects=False,
        )
        assert disabled.headers["location"].endswith("notice=disabled")
        assert clerk.get("/admin/account", follow_redirects=False).status_code == 303
        # A disabled login gets the wrong password's answer, even with the right password.
        refused = clerk.post(
            "/admin/login",
            data={"email": "clerk@shop.example", "password": PASSWORD},
            follow_redirects=False,
        )
        assert refused.status_code == 401 and "do not match" in refused.text
    with sessions() as session:
        assert not session.scalar(
            select(func.count()).select_from(AdminSession).where(AdminSession.user_id == clerk_id)
        )
    assert "disabled" in browser.get("/admin/staff").text
    browser.post(f"/admin/staff/{clerk_id}", data={"csrf": csrf_of(browser), "action": "enable"})
    with _client(settings) as clerk:
        assert sign_in(clerk, "clerk@shop.example") == 303


def test_the_last_owner_cannot_be_demoted_or_disabled(
    settings: Settings, browser: TestClient, sessions: sessionmaker[Session]
) -> None:
    sign_in(browser, OWNER)
    me = user_id(sessions, OWNER)
    for form in ({"action": "role", "role": "staff"}, {"action": "disable"}):
        refused = browser.post(f"/admin/staff/{me}", data={"csrf": csrf_of(browser), **form})
        assert refused.status_code == 409
        assert "last active owner" in refused.text
    with sessions() as session:
        row = session.get(AdminUser, me)
        assert row is not None and row.role == "owner" and row.disabled_at is None
    # With a second owner, the other owner may be demoted, but not oneself by accident.
    add_staff(browser, "partner@shop.example", role="owner")
    partner = user_id(sessions, "partner@shop.example")
    mine = browser.post(f"/admin/staff/{me}", data={"csrf": csrf_of(browser), "action": "disable"})
    assert mine.status_code == 409 and "your own login" in mine.text
    theirs = browser.post(
        f"/admin/staff/{partner}",
        data={"csrf": csrf_of(browser), "action": "role", "role": "staff"},
        follow_redirects=False,
    )
    assert theirs.status_code == 303
    unknown = browser.post("/admin/staff/9999", data={"csrf": csrf_of(browser), "action": "enable"})
    assert unknown.status_code == 404


def test_staff_changes_need_the_csrf_token(
    browser: TestClient, sessions: sessionmaker[Session]
) -> None:
    sign_in(browser, OWNER)
    add_staff(browser, "clerk@shop.example")
    clerk_id = user_id(sessions, "clerk@shop.example")
    for data in ({}, {"csrf": "0" * 64}):
        refused = browser.post(
            f"/admin/staff/{clerk_id}", data={**data, "action": "disable"}, follow_redirects=False
        )
        assert refused.status_code == 400
        added = browser.post(
            "/admin/staff",
            data={**data, "email": "x@shop.example", "role": "owner", "password": PASSWORD},
        )
        assert added.status_code == 400
    assert count_logins(sessions) == 2
    with sessions() as session:
        row = session.get(AdminUser, clerk_id)
        assert row is not None and row.disabled_at is None


def test_changing_the_password_needs_the_current_one_and_ends_other_sessions(
    settings: Settings, browser: TestClient
) -> None:
    sign_in(browser, OWNER)
    with _client(settings) as phone:
        sign_in(phone, OWNER)
        assert phone.get("/admin/account").status_code == 200
        wrong = browser.post(
            "/admin/account",
            data={
                "csrf": csrf_of(browser),
                "current": "not my password",
                "new": NEW_PASSWORD,
                "confirm": NEW_PASSWORD,
            },
        )
        assert wrong.status_code == 422 and "current password is not right" in wrong.text
        mismatch = browser.post(
            "/admin/account",
            data={
                "csrf": csrf_of(browser),
                "current": PASSWORD,
                "new": NEW_PASSWORD,
                "confirm": NEW_PASSWORD + "!",
            },
        )
        assert mismatch.status_code == 422 and "confirmation differ" in mismatch.text
        no_csrf = browser.post(
            "/admin/account",
            data={"current": PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        )
        assert no_csrf.status_code == 400
        assert phone.get("/admin/account").status_code == 200, "nothing changed yet"
        changed = browser.post(
            "/admin/account",
            data={
                "csrf": csrf_of(browser),
                "current": PASSWORD,
                "new": NEW_PASSWORD,
                "confirm": NEW_PASSWORD,
            },
            follow_redirects=False,
        )
        assert changed.headers["location"] == "/admin/account?notice=password"
        assert browser.get("/admin/account").status_code == 200, "this session stays"
        assert phone.get("/admin/account", follow_redirects=False).status_code == 303
        assert sign_in(phone, OWNER) == 401
        assert sign_in(phone, OWNER, NEW_PASSWORD) == 303


def _ask_reset(client: TestClient, email: str):  # type: ignore[no-untyped-def]
    return client.post("/admin/password-reset", data={"email": email})


def test_reset_answers_the_same_for_known_and_unknown_addresses(
    settings: Settings, owner: str, mailed: list[tuple[str, str]]
) -> None:
    with _client(settings) as client:
        login = client.get("/admin/login").text
        assert 'href="/admin/password-reset"' in login and "Forgot your password?" in login
        assert client.get("/admin/password-reset").status_code == 200
        unknown = _ask_reset(client, "nobody@shop.example")
        known = _ask_reset(client, "Owner@Shop.example")
    assert unknown.status_code == known.status_code == 200
    strip = re.compile(r'nonce-[^"\']+|nonce="[^"]+"')
    assert strip.sub("", unknown.text) == strip.sub("", known.text)
    assert "we've sent it a link" in html.unescape(known.text)
    assert [to for to, _ in mailed] == [OWNER]


def test_a_reset_link_works_once(
    settings: Settings, sessions: sessionmaker[Session], owner: str, mailed: list[tuple[str, str]]
) -> None:
    with _client(settings) as laptop, _client(settings) as client:
        sign_in(laptop, OWNER)
        _ask_reset(client, OWNER)
        path = mailed[0][1].removeprefix("http://shop.test")
        form = client.get(path)
        assert form.status_code == 200 and OWNER in form.text
        assert form.headers["referrer-policy"] == "no-referrer"
        short = client.post(path, data={"new": "short", "confirm": "short"})
        assert short.status_code == 422 and "at least 12" in short.text
        done = client.post(
            path, data={"new": NEW_PASSWORD, "confirm": NEW_PASSWORD}, follow_redirects=False
        )
        assert done.status_code == 303
        assert "new password is set" in client.get(done.headers["location"]).text
        assert laptop.get("/admin/account", follow_redirects=False).status_code == 303
        again = client.get(path)
        assert again.status_code == 410 and "expired or has been used" in again.text
        reuse = client.post(path, data={"new": PASSWORD, "confirm": PASSWORD})
        assert reuse.status_code == 410
        assert sign_in(laptop, OWNER, NEW_PASSWORD) == 303


def test_a_reset_link_expires_after_an_hour_and_cannot_be_forged(
    settings: Settings,
    owner: str,
    mailed: list[tuple[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with _client(settings) as client:
        signed_at = int(time.time()) - 3601
        with monkeypatch.context() as clock:
            clock.setattr(TimestampSigner, "get_timestamp", lambda self: signed_at)
            _ask_reset(client, OWNER)
        old = mailed[0][1].removeprefix("http://shop.test")
        expired = client.get(old)
        assert expired.status_code == 410 and "expired" in expired.text
        _ask_reset(client, OWNER)
        fresh = mailed[1][1].removeprefix("http://shop.test")
        assert client.get(fresh).status_code == 200
        head, tail = fresh.rsplit(".", 1)
        tampered = head + "." + ("A" if tail[0] != "A" else "B") + tail[1:]
        refused = client.get(tampered)
        assert refused.status_code == 400 and "not valid" in refused.text
        post = client.post(tampered, data={"new": NEW_PASSWORD, "confirm": NEW_PASSWORD})
        assert post.status_code == 400
    with _client(settings) as later:
        assert sign_in(later, OWNER) == 303, "the password did not change"


def test_reset_requests_are_rate_limited(
    settings: Settings, owner: str, mailed: list[tuple[str, str]]
) -> None:
    with _client(settings) as client:
        answers = [_ask_reset(client, OWNER).status_code for _ in range(4)]
        assert answers == [200, 200, 200, 429], "three a hour per account"
        others = [_ask_reset(client, f"x{n}@shop.example").status_code for n in range(3)]
        assert others == [200, 200, 429], "five per 15 minutes per address"
    assert len(mailed) == 3


def test_the_reset_link_goes_to_the_mail_outbox(
    settings: Settings, sessions: sessionmaker[Session], owner: str
) -> None:
    with _client(settings) as client:
        assert _ask_reset(client, OWNER).status_code == 200
        assert _ask_reset(client, "nobody@shop.example").status_code == 200
        with sessions() as session:
            queued = session.execute(select(MailMessage.kind, MailMessage.to_address)).all()
        assert queued == [("password_reset", OWNER)]
        with sessions() as session:
            data = session.scalar(select(MailMessage.data))
        assert data is not None
        link = re.search(r"http://shop\.test(/admin/password-reset/[^\"]+)", data)
        assert link is not None and client.get(link[1]).status_code == 200


def test_an_invitation_reads_as_one(
    settings: Settings, sessions: sessionmaker[Session], browser: TestClient
) -> None:
    """A new login's email welcomes them; it does not claim someone asked for a reset."""
    from buybutton_server.services import mail as mail_service

    sign_in(browser, OWNER)
    add_staff(browser, "new@shop.example", password="")
    with sessions() as session:
        queued = session.execute(
            select(MailMessage.id, MailMessage.kind, MailMessage.subject)
        ).one()
    assert queued.kind == "invitation" and "login for the admin" in queued.subject
    shown = mail_service.message(sessions, settings, queued.id)
    assert shown.hidden, "the admin never shows a body holding a sign-in link"
