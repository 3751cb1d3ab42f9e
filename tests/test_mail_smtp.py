"""Real SMTP exchanges with aiosmtpd on loopback (no mock of the transport): a paid order's
receipt arrives multipart with the order number and total; STARTTLS with a self-signed
certificate and a login; a 5xx refusal fails the message for good; an unreachable server
never stops an order; two senders racing send each message once."""

from __future__ import annotations

import email
import email.policy
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import sessionmaker
from starlette.testclient import TestClient

from buybutton import BuyButton
from buybutton.cli import main
from buybutton_server import Settings
from buybutton_server.db import write_session
from buybutton_server.db.models import utcnow
from buybutton_server.domain import mail
from buybutton_server.services import mail as mail_service
from tests.conftest import SHOPPER, add_product
from tests.live_server import free_port
from tests.test_mail import messages, parts, pay

USER, SECRET_PASSWORD = "shop", "smtp-pass-Zx81"
BOUNCE = "nobody@example.com"


class Inbox:
    """What the SMTP server received; refuses :data:`BOUNCE` with a 550."""

    def __init__(self, delay: float = 0.0) -> None:
        self.received: list[tuple[list[str], EmailMessage]] = []
        self.delay = delay
        self.lock = threading.Lock()

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address == BOUNCE:
            return "550 5.1.1 <nobody@example.com>: mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.delay:
            time.sleep(self.delay)  # holds the server: a slow mail server
        content = envelope.content
        assert isinstance(content, bytes)
        parsed = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        with self.lock:
            self.received.append((list(envelope.rcpt_tos), parsed))
        return "250 Message accepted"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
def settings(database_url: str, smtp_server: tuple[Inbox, int], tmp_path: Path) -> Settings:
    return Settings(
        secret_keys=("test-secret-key-0123456789abcdef-0123",),
        database_url=database_url,
        base_url="http://shop.test",
        webhook_seconds=3600,
        smtp_url=f"smtp://127.0.0.1:{smtp_server[1]}",
        mail_dir=str(tmp_path / "never-used"),
    )


def test_a_paid_orders_receipt_arrives_over_smtp(
    client: TestClient,
    bb: BuyButton,
    sessions: sessionmaker[DbSession],
    settings: Settings,
    smtp_server: tuple[Inbox, int],
) -> None:
    inbox = smtp_server[0]
    add_product(sessions, price="24.00", stock=5)
    order = pay(client, bb, quantity=2)
    assert mail_service.send_due(sessions, settings) == 1
    [(recipients, message)] = inbox.received
    assert recipients == [SHOPPER["email"]]
    assert message.get_content_type() == "multipart/alternative"
    assert message["To"] == SHOPPER["email"]
    assert message["From"] == "buybutton shop <no-reply@shop.test>"
    assert message["Subject"] == f"buybutton shop: Your receipt for order {order.number}"
    text, html = parts(message)
    for body in (text, html):
        assert order.number in body and "$48.00" in body
    [sent] = messages(sessions)
    assert sent.status == "sent" and sent.message_id == message["Message-ID"]
    assert not (Path(settings.mail_dir)).exists()


# -- STARTTLS and a login -------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (openssl: ``cryptography`` is not installed)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def _authenticator(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    def text(value: bytes | str) -> str:
        return value.decode() if isinstance(value, bytes) else value

    good = isinstance(auth_data, LoginPassword) and (
        text(auth_data.login),
        text(auth_data.password),
    ) == (USER, SECRET_PASSWORD)
    return AuthResult(success=good, handled=False)  # handled=False: aiosmtpd answers 535


def test_starttls_with_a_self_signed_certificate_and_a_login(
    client: TestClient,
    bb: BuyButton,
    sessions: sessionmaker[DbSession],
    settings: Settings,
    certificate: tuple[Path, Path],
) -> None:
    cert, key = certificate
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    inbox, port = Inbox(), free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=server_tls,
        require_starttls=True,
        auth_required=True,
        auth_require_tls=True,
        authenticator=_authenticator,
    )
    controller.start()
    try:
        add_product(sessions, stock=5)
        order = pay(client, bb, quantity=1)
        trusting = ssl.create_default_context(cafile=str(cert))
        url = f"smtp://{USER}:wrong-password@127.0.0.1:{port}"
        assert mail.send_due(sessions, mail.SmtpTransport(url, context=trusting), settings) == 1
        [waiting] = messages(sessions)
        assert waiting.status == "queued" and "refused the login" in (waiting.last_error or "")
        assert "wrong-password" not in (waiting.last_error or "")
        assert inbox.received == []

        # An untrusted certificate is refused: the password never leaves.
        url = f"smtp://{USER}:{SECRET_PASSWORD}@127.0.0.1:{port}"
        later = lambda: utcnow() + mail.RETRY_DELAYS[0] * 2  # noqa: E731
        assert mail.send_due(sessions, mail.SmtpTransport(url), settings, now=later) == 1
        [waiting] = messages(sessions)
        assert "TLS failed" in (waiting.last_error or "") and inbox.received == []

        even_later = lambda: utcnow() + mail.RETRY_DELAYS[1] * 2  # noqa: E731
        transport = mail.SmtpTransport(url, context=trusting)
        assert mail.send_due(sessions, transport, settings, now=even_later) == 1
        [(recipients, message)] = inbox.received
        assert recipients == [SHOPPER["email"]] and order.number in message["Subject"]
        [sent] = messages(sessions)
        assert (sent.status, sent.attempts, sent.last_error) == ("sent", 3, None)
    finally:
        controller.stop()


def test_a_login_is_never_sent_without_starttls(
    sessions: sessionmaker[DbSession], settings: Settings, smtp_server: tuple[Inbox, int]
) -> None:
    mail_service.queue_password_reset(sessions, "owner@shop.example", "http://shop.test/r/x")
    url = f"smtp://{USER}:{SECRET_PASSWORD}@127.0.0.1:{smtp_server[1]}"  # offers no STARTTLS
    assert mail.send_due(sessions, mail.SmtpTransport(url), settings) == 1
    [waiting] = messages(sessions)
    assert waiting.status == "queued" and "STARTTLS" in (waiting.last_error or "")
    assert smtp_server[0].received == []


# -- refusals, outages, races -----------------------------------------------------------------


def test_a_refused_recipient_fails_at_once_and_is_never_retried(
    sessions: sessionmaker[DbSession], settings: Settings, smtp_server: tuple[Inbox, int]
) -> None:
    mail_service.queue_password_reset(sessions, BOUNCE, "http://shop.test/r/bounce")
    assert mail_service.send_due(sessions, settings) == 1
    [failed] = messages(sessions)
    assert (failed.status, failed.attempts, failed.next_attempt_at) == ("failed", 1, None)
    assert "550" in (failed.last_error or "") and BOUNCE not in (failed.last_error or "")
    far = lambda: utcnow() + mail.RETRY_DELAYS[-1] * 10  # noqa: E731
    assert mail.send_due(sessions, mail.transport_for(settings), settings, now=far) == 0  # type: ignore[arg-type]
    assert smtp_server[0].received == []


def test_an_unreachable_server_never_stops_an_order_and_the_email_waits_with_its_error(
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
    bb: BuyButton,
    sessions: sessionmaker[DbSession],
    capsys: pytest.CaptureFixture[str],
) -> None:
    from buybutton_server import create_app

    dead = free_port()  # nothing listens there
    settings = Settings(
        secret_keys=("test-secret-key-0123456789abcdef-0123",),
        database_url=database_url,
        base_url="http://shop.test",
        webhook_seconds=3600,
        smtp_url=f"smtp://user:pa55word@127.0.0.1:{dead}",
    )
    add_product(sessions, stock=5)
    with TestClient(create_app(settings), base_url="http://shop.test") as client:
        order = pay(client, bb, quantity=1)
        assert order.status == "paid"
        assert mail_service.send_due(sessions, settings) == 1
    [waiting] = messages(sessions)
    assert waiting.status == "queued" and waiting.attempts == 1
    assert f"cannot reach 127.0.0.1:{dead}" in (waiting.last_error or "")
    assert "pa55word" not in (waiting.last_error or "")
    assert waiting.next_attempt_at is not None

    monkeypatch.setenv("BUYBUTTON_DATABASE_URL", database_url)
    assert main(["mail", "list", "--failed"]) == 0
    out = capsys.readouterr().out
    assert order.number in out and "queued" in out and "cannot reach" in out

    # Out of attempts: failed for good.
    for attempt in range(1, mail.MAX_ATTEMPTS):
        later = lambda: utcnow() + mail.RETRY_DELAYS[-1] * 2 * attempt  # noqa: E731,B023
        assert mail.send_due(sessions, mail.transport_for(settings), settings, now=later) == 1  # type: ignore[arg-type]
    [failed] = messages(sessions)
    assert (failed.status, failed.attempts) == ("failed", mail.MAX_ATTEMPTS)


def test_two_senders_racing_send_each_message_once(
    sessions: sessionmaker[DbSession], settings: Settings, smtp_server: tuple[Inbox, int]
) -> None:
    inbox = smtp_server[0]
    inbox.delay = 0.05
    with write_session(sessions) as session:
        for n in range(6):
            mail.queue_password_reset(session, f"user{n}@shop.example", f"http://shop.test/r/{n}")
    counts: list[int] = []
    threads = [
        threading.Thread(target=lambda: counts.append(mail_service.send_due(sessions, settings)))
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(counts) == 6
    addresses = sorted(recipients[0] for recipients, _ in inbox.received)
    assert addresses == [f"user{n}@shop.example" for n in range(6)]
    assert {m.status for m in messages(sessions)} == {"sent"}
