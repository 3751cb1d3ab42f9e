"""Fixes after the review of the merchant admin (docs/security.md, "Fixed after review"):
very large ids in admin paths, the reset link's single use under concurrency."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton_server import Settings, create_app
from buybutton_server.db import write_session
from buybutton_server.domain import admin_auth
from buybutton_server.domain.admin_auth import ScryptCost, create_admin
from tests.test_admin_staff import OWNER, PASSWORD, csrf_of, sign_in

HUGE = ("2147483648", "9223372036854775808", "9" * 40)


@pytest.fixture(autouse=True)
def cheap_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(admin_auth, "COST", ScryptCost(n=2**14, r=8, p=1))


@pytest.fixture
def owner(settings: Settings, sessions: sessionmaker[Session]) -> Iterator[TestClient]:
    with write_session(sessions) as session:
        create_admin(session, OWNER, PASSWORD)
    with TestClient(
        create_app(settings), base_url="https://shop.test", raise_server_exceptions=False
    ) as client:
        assert sign_in(client, OWNER) == 303
        yield client


@pytest.mark.parametrize("number", HUGE)
def test_very_large_ids_in_admin_paths_are_not_found(owner: TestClient, number: str) -> None:
    """Review F7: ``/admin/mail/{id}`` and ``/admin/staff/{id}`` answered 500."""
    csrf = csrf_of(owner)
    for path in (
        f"/admin/mail/{number}",
        f"/admin/mail/{number}/html",
        f"/admin/shipping/zones/{number}",
        f"/admin/shipping/zones/{number}/delete",
        f"/admin/shipping/rates/{number}",
        f"/admin/webhooks/{number}",
        f"/admin/webhooks/{number}/delete",
    ):
        assert owner.get(path).status_code == 404, path
    for path, form in (
        (f"/admin/staff/{number}", {"action": "disable"}),
        (f"/admin/staff/{number}", {"action": "link"}),
        (f"/admin/staff/{number}", {"action": "role", "role": "staff"}),
        (f"/admin/shipping/zones/{number}", {"name": "EU", "countries": "PT"}),
        (f"/admin/shipping/zones/{number}/delete", {}),
        (f"/admin/shipping/rates/{number}/delete", {}),
        (f"/admin/webhooks/{number}/disable", {}),
        (f"/admin/webhooks/{number}/rotate", {}),
        (f"/admin/discounts/{number}/disable", {}),
    ):
        answer = owner.post(path, data={"csrf": csrf, **form}, follow_redirects=False)
        assert answer.status_code == 404, (path, form, answer.status_code)


def _reset_token(sessions: sessionmaker[Session], settings: Settings) -> str:
    from buybutton_server.db.models import AdminUser
    from buybutton_server.domain import password_reset

    with write_session(sessions) as session:
        user = create_admin(session, OWNER, PASSWORD)
    with sessions() as session:
        found = session.get(AdminUser, user.id)
        assert found is not None
        return password_reset.make_token(settings.secret_keys, found)


FIRST, SECOND = "the first new passphrase", "the second new passphrase"


@pytest.mark.postgres
def test_one_reset_link_used_twice_at_once_sets_one_password(
    settings: Settings, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review F9: both uses read the login before either writes (PostgreSQL runs them side
    by side; SQLite queues writers, so there the second simply finds the link used)."""
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("SQLite serialises the two writers")
    from buybutton_server.domain.password_reset import LinkUsed
    from buybutton_server.services import staff

    token = _reset_token(sessions, settings)
    hash_password = admin_auth.hash_password
    raced: list[str] = []

    def hash_after_the_other_use(password: str) -> str:
        if password == FIRST and not raced:
            # the first use has read the login: the second runs and commits now
            raced.append("started")
            staff.complete_reset(sessions, settings.secret_keys, token, new=SECOND, confirm=SECOND)
            raced.append("done")
        return hash_password(password)

    monkeypatch.setattr(admin_auth, "hash_password", hash_after_the_other_use)
    with pytest.raises(LinkUsed):
        staff.complete_reset(sessions, settings.secret_keys, token, new=FIRST, confirm=FIRST)
    assert raced == ["started", "done"], "the second use went through"
    monkeypatch.setattr(admin_auth, "hash_password", hash_password)
    with write_session(sessions) as session:
        assert admin_auth.authenticate(session, OWNER, SECOND) is not None
        assert admin_auth.authenticate(session, OWNER, FIRST) is None


def test_the_password_is_set_only_while_the_links_hash_is_current(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    """The conditional UPDATE itself, on each backend: a password set between reading the
    login and writing (another use of the link) makes this use :class:`LinkUsed`."""
    from sqlalchemy import update

    from buybutton_server.db.models import AdminUser
    from buybutton_server.domain import password_reset

    token = _reset_token(sessions, settings)
    with pytest.raises(password_reset.LinkUsed), write_session(sessions) as session:
        user = password_reset.user_for_token(session, settings.secret_keys, token)
        session.execute(
            update(AdminUser)
            .where(AdminUser.id == user.id)
            .values(password_hash=admin_auth.hash_password(SECOND))
            .execution_options(synchronize_session=False)
        )
        password_reset.set_password(session, user, FIRST)
    with write_session(sessions) as session:
        user = password_reset.user_for_token(session, settings.secret_keys, token)
        password_reset.set_password(session, user, FIRST)  # nothing was written: works once
    with pytest.raises(password_reset.LinkUsed), write_session(sessions) as session:
        password_reset.user_for_token(session, settings.secret_keys, token)
