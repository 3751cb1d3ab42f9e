"""Transactional email without a mail server: the outbox (queued in the change's transaction,
deduplicated), the development folder of ``.eml`` files, the receipt, refund, shipped and
password-reset emails, ``buybutton mail list`` and ``/admin/mail``. The real SMTP exchanges
are in tests/test_mail_smtp.py."""

from __future__ import annotations

import email
import email.policy
import re
import secrets
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton import BuyButton
from buybutton.cli import main
from buybutton_server import Settings, create_app
from buybutton_server.db import write_session
from buybutton_server.db.models import MailMessage, Order
from buybutton_server.domain import admin_auth, mail
from buybutton_server.domain.admin_auth import ScryptCost, create_admin
from buybutton_server.domain.refunds import refund_order
from buybutton_server.domain.settlement import apply_success
from buybutton_server.errors import Conflict, NotFound
from buybutton_server.payments.test_provider import TestPaymentProvider
from buybutton_server.services import mail as mail_service
from tests.conftest import GOOD_CARD, SHOPPER, add_product, attempt_key, orders, path_of

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def cheap_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(admin_auth, "COST", ScryptCost(n=2**14, r=8, p=1))


@pytest.fixture
def mail_dir(tmp_path: Path) -> Path:
    return tmp_path / "outbox-folder"


@pytest.fixture
def settings(database_url: str, mail_dir: Path) -> Settings:
    return Settings(
        secret_keys=("test-secret-key-0123456789abcdef-0123",),
        database_url=database_url,
        base_url="http://shop.test",
        webhook_seconds=3600,
        mail_dir=str(mail_dir),
    )


def pay(client: TestClient, bb: BuyButton, quantity: int = 2) -> Order:
    path = path_of(bb.checkout_link("MUG-01", quantity=quantity))
    client.cookies.delete("bb_bought")  # buying through the same link again (item 8)
    key = attempt_key(client.get(path).text)
    done = client.post(
        path,
        data={"attempt": key, "quantity": str(quantity), **SHOPPER, **GOOD_CARD},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    return orders(client.app.state.sessions, "paid")[-1]  # type: ignore[attr-defined]


def messages(sessions: sessionmaker[Session], kind: str | None = None) -> list[MailMessage]:
    with sessions() as session:
        query = select(MailMessage).order_by(MailMessage.id)
        if kind:
            query = query.where(MailMessage.kind == kind)
        return list(session.scalars(query))


def read_eml(path: Path) -> EmailMessage:
    parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()  # type: ignore[attr-defined]


def test_paying_queues_one_receipt_and_the_folder_transport_writes_it(
    client: TestClient,
    bb: BuyButton,
    sessions: sessionmaker[Session],
    settings: Settings,
    mail_dir: Path,
) -> None:
    add_product(sessions, price="24.00", stock=5)
    order = pay(client, bb)
    [queued] = messages(sessions)
    assert (queued.kind, queued.status) == ("receipt", "queued")
    assert queued.to_address == SHOPPER["email"]
    assert queued.order_id == order.id and queued.dedupe_key == f"receipt:{order.number}:1"

    assert mail_service.send_due(sessions, settings) == 1
    [written] = list(mail_dir.glob("*.eml"))
    message = read_eml(written)
    assert message.get_content_type() == "multipart/alternative"
    assert message["To"] == SHOPPER["email"]
    assert message["From"] == "buybutton shop <no-reply@shop.test>"
    assert order.number in message["Subject"]
    assert message["Message-ID"] and message["Date"]
    text, html = parts(message)
    for body in (text, html):
        assert order.number in body and "$48.00" in body and "$24.00" in body
        assert "Stoneware Mug" in body and "12 Harbour Street" in body
        assert "http://shop.test/o/" in body  # the signed order link (test_order_links.py)
    assert "test payment" in text
    assert 'style="' in html and "<link" not in html and "<script" not in html.lower()
    [sent] = messages(sessions)
    assert sent.status == "sent" and sent.sent_at is not None and sent.attempts == 1
    assert sent.text_body == text
    assert mail_service.send_due(sessions, settings) == 0, "sent once"


def test_the_receipt_is_queued_once_even_when_the_paid_event_comes_twice(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions, stock=5)
    order = pay(client, bb)
    for _ in range(2):
        with write_session(sessions) as session:
            assert apply_success(session, order.id, reference=order.payment_reference) is False
    with write_session(sessions) as session:
        mail.queue_receipt(session, order.id)  # even queued again by hand: the key dedupes
    assert len(messages(sessions, "receipt")) == 1


def test_a_rolled_back_change_queues_no_email(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions, stock=5)
    order = pay(client, bb)
    with pytest.raises(RuntimeError), write_session(sessions) as session:
        mail.queue_shipped(session, order, "DHL", "JD0001", None)
        raise RuntimeError("the fulfilment failed")
    assert messages(sessions, "shipped") == []


def test_resend_receipt_uses_a_new_key_and_refuses_unknown_or_unpaid_orders(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions, stock=5)
    order = pay(client, bb)
    mail_service.resend_receipt(sessions, order.number.lower())
    keys = [row.dedupe_key for row in messages(sessions, "receipt")]
    assert keys == [f"receipt:{order.number}:1", f"receipt:{order.number}:2"]
    with pytest.raises(NotFound):
        mail_service.resend_receipt(sessions, "NOPE-1")
    with write_session(sessions) as session:
        session.get_one(Order, order.id).status = "pending"
    with pytest.raises(Conflict, match="not paid yet"):
        mail_service.resend_receipt(sessions, order.number)


def test_refund_and_shipped_emails_say_what_happened(
    client: TestClient,
    bb: BuyButton,
    sessions: sessionmaker[Session],
    settings: Settings,
    mail_dir: Path,
) -> None:
    add_product(sessions, price="24.00", stock=5)
    order = pay(client, bb)
    refund_order(sessions, TestPaymentProvider(), order.id, amount=1000)
    with write_session(sessions) as session:
        fresh = session.get_one(Order, order.id)
        mail.queue_shipped(
            session, fresh, "DHL", "JD014600006281", "https://track.example/JD014600006281"
        )
        mail.queue_shipped(session, fresh, "DHL", "JD014600006281", None)  # same shipment
        mail.queue_shipped(session, fresh, "UPS", "1Z999", "javascript:alert(1)")
    assert [m.kind for m in messages(sessions)] == ["receipt", "refund", "shipped", "shipped"]
    assert mail_service.send_due(sessions, settings) == 4
    bodies: dict[str, list[tuple[str, str]]] = {}
    for path in mail_dir.glob("*.eml"):
        message = read_eml(path)
        bodies.setdefault(message["Subject"], []).append(parts(message))
    [(text, html)] = bodies[f"buybutton shop: Refund for order {order.number}"]
    assert "$10.00" in text and "$10.00" in html and "$48.00" in text
    dhl, ups = sorted(bodies[f"buybutton shop: Order {order.number} is on its way"])
    assert "JD014600006281" in dhl[0] and "Carrier: DHL" in dhl[0]
    assert "https://track.example/JD014600006281" in dhl[1]
    assert "1Z999" in ups[0] and "javascript:" not in ups[0] + ups[1]


def test_password_reset_states_the_expiry_and_its_link_is_never_kept_or_shown(
    https_admin: TestClient, sessions: sessionmaker[Session], settings: Settings, mail_dir: Path
) -> None:
    link = "http://shop.test/admin/reset/tok3n-abc?x=1&y=2"
    mail_service.queue_password_reset(sessions, "staff@shop.example", link, expires_minutes=30)
    mail_service.queue_password_reset(sessions, "staff@shop.example", link)  # the same request
    [queued] = messages(sessions)
    page = https_admin.get(f"/admin/mail/{queued.id}")
    assert page.status_code == 200 and "tok3n" not in page.text
    assert https_admin.get(f"/admin/mail/{queued.id}/html").status_code == 404

    assert mail_service.send_due(sessions, settings) == 1
    [written] = list(mail_dir.glob("*.eml"))
    text, html = parts(read_eml(written))
    assert link in text and "30 minutes" in text and "30 minutes" in html
    [sent] = messages(sessions)
    assert "tok3n" not in (sent.text_body or "") + (sent.html_body or "") + sent.data


def test_mail_list_prints_newest_first_with_a_header(
    monkeypatch: pytest.MonkeyPatch,
    client: TestClient,
    bb: BuyButton,
    sessions: sessionmaker[Session],
    database_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("BUYBUTTON_DATABASE_URL", database_url)
    assert main(["mail", "list"]) == 0
    assert "no emails yet" in capsys.readouterr().out
    add_product(sessions, stock=5)
    first, second = pay(client, bb, 1), pay(client, bb, 1)
    assert main(["mail", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:4] == ["id", "queued", "(UTC)", "status"]
    assert second.number in lines[1] and first.number in lines[2] and len(lines) == 3
    assert main(["mail", "list", "--failed"]) == 0
    assert "no failed emails" in capsys.readouterr().out


# -- /admin/mail ------------------------------------------------------------------------------


@pytest.fixture
def https_admin(settings: Settings, sessions: sessionmaker[Session]) -> Iterator[TestClient]:
    with write_session(sessions) as session:
        create_admin(session, "staff@shop.example", PASSWORD, role="staff")
    with TestClient(create_app(settings), base_url="https://shop.test") as client:
        signed = client.post(
            "/admin/login",
            data={"email": "staff@shop.example", "password": PASSWORD},
            follow_redirects=False,
        )
        assert signed.status_code == 303
        yield client


def test_staff_see_the_outbox_and_open_a_message_in_a_sandboxed_frame(
    https_admin: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions, stock=5)
    order = pay(https_admin, bb)  # the same app serves the checkout
    listing = https_admin.get("/admin/mail")
    assert listing.status_code == 200
    assert order.number in listing.text and SHOPPER["email"] in listing.text
    assert "Queued" in listing.text and 'scope="col"' in listing.text
    [queued] = messages(sessions)
    page = https_admin.get(f"/admin/mail/{queued.id}")
    assert page.status_code == 200
    assert f'src="/admin/mail/{queued.id}/html" sandbox' in page.text
    assert "<pre" in page.text and "$48.00" in page.text
    body = https_admin.get(f"/admin/mail/{queued.id}/html")
    assert body.status_code == 200 and order.number in body.text
    policy = body.headers["content-security-policy"]
    assert "script-src" not in policy and "default-src 'none'" in policy
    assert "sandbox" in policy and "frame-ancestors 'self'" in policy
    assert body.headers["x-frame-options"] == "SAMEORIGIN"
    assert https_admin.get("/admin/mail/99999").status_code == 404
    assert "no-store" in listing.headers["cache-control"]


def test_the_mail_pages_need_a_sign_in(client: TestClient) -> None:
    for path in ("/admin/mail", "/admin/mail/1", "/admin/mail/1/html"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303 and "/admin/login" in answer.headers["location"]


def test_the_folder_defaults_to_mail_next_to_the_sqlite_database(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/shop.sqlite3")
    assert mail.mail_folder(settings) == tmp_path / "mail"
    transport = mail.transport_for(settings)
    assert isinstance(transport, mail.FolderTransport)
    production = Settings(
        environment="production",
        secret_keys=(secrets.token_urlsafe(48),),
        base_url="https://shop.example",
        payment_provider="stripe",
        stripe_secret_key="sk_test_x",
        stripe_publishable_key="pk_test_x",
        stripe_webhook_secret="whsec_x",
    )
    assert mail.transport_for(production) is None
    assert "BUYBUTTON_SMTP_URL" in (mail.warning(production) or "")


def test_bad_mail_settings_are_named_and_passwords_never_echoed() -> None:
    from buybutton.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="smtp:// or smtps://") as bad:
        Settings.from_env({"BUYBUTTON_SMTP_URL": "http://user:hunter2secret@mail.example"})
    assert "hunter2secret" not in str(bad.value)
    with pytest.raises(ConfigurationError, match="not a URL") as bad:
        Settings.from_env({"BUYBUTTON_SMTP_URL": "smtp://u:hunter2secret@mail.example:99999"})
    assert "hunter2secret" not in str(bad.value)
    with pytest.raises(ConfigurationError, match="BUYBUTTON_MAIL_FROM"):
        Settings.from_env({"BUYBUTTON_MAIL_FROM": "not an address"})
    fine = Settings.from_env({"BUYBUTTON_SMTP_URL": "smtps://u:p%40ss@mail.example"})
    assert "p%40ss" not in repr(fine)
    assert re.search(r"BUYBUTTON_SMTP_URL", fine.as_environment().__repr__())


def test_every_message_in_the_outbox_counts_once(sessions: sessionmaker[Session]) -> None:
    with write_session(sessions) as session:
        for _ in range(3):
            mail.enqueue(
                session,
                kind="password_reset",
                dedupe_key="password_reset:same",
                to="a@b.example",
                subject="x",
                data={"reset_url": "http://x", "expires_minutes": 5},
            )
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(MailMessage)) == 1


def test_an_email_is_rendered_after_its_claim_commits(
    client: TestClient,
    bb: BuyButton,
    sessions: sessionmaker[Session],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Rendering (templates, the email package: tens of milliseconds) happens outside the
    claim's write transaction, so checkouts never wait for the write lock meanwhile: another
    session already sees the message claimed while it is rendered."""
    add_product(sessions, price="24.00", stock=5)
    pay(client, bb)
    seen: list[str] = []
    render = mail.messages.render

    def watching(*args: object, **kwargs: object) -> object:
        seen.extend(m.status for m in messages(sessions))  # a separate session: committed rows
        return render(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(mail.messages, "render", watching)
    assert mail_service.send_due(sessions, settings) == 1
    assert seen == ["sending"]
    assert [m.status for m in messages(sessions)] == ["sent"]
