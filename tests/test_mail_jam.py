"""Review F2 and F11: one message that cannot be written never stops the outbox.

A line break in the shop's name (U+2028, NEL, CR/LF) used to make ``EmailMessage`` refuse
the Subject or From header while the message was composed outside the per-message error
handling: the sender raised on every run and every email (receipts, password resets) waited
for good. Now header values are put on one line, a recipient that is not one address fails
its message at once with a clear error, and the rest of the batch is sent.
"""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from buybutton_server import Settings
from buybutton_server.db import write_session
from buybutton_server.db.models import MailMessage, ShopProfile
from buybutton_server.domain.mail import messages as mail_messages
from buybutton_server.services import mail as mail_service


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


def _rows(sessions: sessionmaker[Session]) -> dict[str, MailMessage]:
    with sessions() as session:
        return {row.to_address: row for row in session.scalars(select(MailMessage))}


def _written(mail_dir: Path) -> dict[str, EmailMessage]:
    found = {}
    for path in mail_dir.glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        found[str(message["To"])] = message
    return found


def _queue(sessions: sessionmaker[Session], to: str) -> None:
    mail_service.queue_password_reset(sessions, to, f"http://shop.test/admin/x/{to}")


def test_a_shop_name_with_a_line_break_never_jams_the_outbox(
    sessions: sessionmaker[Session], settings: Settings, mail_dir: Path
) -> None:
    # A name saved before the settings page refused line breaks: in the stored subjects
    # and in the From header of every message.
    with write_session(sessions) as session:
        session.add(ShopProfile(id=1, name="Ana\u2028Shop\x85\r\nBcc: evil@x.example"))
    _queue(sessions, "first@shop.example")
    _queue(sessions, "second@shop.example")
    with sessions() as session:
        assert "\u2028" not in session.scalars(select(MailMessage.subject)).first()  # type: ignore[operator]
    # ... and one stored by an older version, with the line break in the subject.
    with write_session(sessions) as session:
        session.execute(
            update(MailMessage)
            .where(MailMessage.to_address == "first@shop.example")
            .values(subject="Ana\u2028Shop: Reset your password")
        )

    assert mail_service.send_due(sessions, settings) == 2
    rows = _rows(sessions)
    assert {row.status for row in rows.values()} == {"sent"}
    written = _written(mail_dir)
    assert set(written) == {"first@shop.example", "second@shop.example"}
    for message in written.values():
        assert "Ana Shop" in message["Subject"] and "\u2028" not in message["Subject"]
        assert message["From"].addresses[0].display_name.startswith("Ana Shop")
        assert message["Bcc"] is None, "nothing injected"


@pytest.mark.parametrize("bad", ["a;b@x.example", "a(@x.example", "<a@x.example", "a\nb@x.co"])
def test_a_bad_recipient_fails_its_message_and_the_rest_are_sent(
    sessions: sessionmaker[Session], settings: Settings, mail_dir: Path, bad: str
) -> None:
    _queue(sessions, bad)  # the oldest: first in the batch
    _queue(sessions, "good@shop.example")

    assert mail_service.send_due(sessions, settings) == 2
    rows = _rows(sessions)
    assert rows["good@shop.example"].status == "sent"
    failed = rows[bad]
    assert failed.status == "failed" and failed.attempts == 1
    assert failed.last_error and "not a single email address" in failed.last_error
    assert set(_written(mail_dir)) == {"good@shop.example"}
    assert mail_service.send_due(sessions, settings) == 0, "never retried"


def test_a_message_that_cannot_be_composed_fails_and_the_batch_goes_on(
    sessions: sessionmaker[Session],
    settings: Settings,
    mail_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    compose = mail_messages.compose

    def refuse_one(**fields: object) -> EmailMessage:
        if fields["to"] == "broken@shop.example":
            raise ValueError("Header values may not contain linefeed or carriage return")
        return compose(**fields)  # type: ignore[arg-type]

    monkeypatch.setattr(mail_messages, "compose", refuse_one)
    _queue(sessions, "broken@shop.example")
    _queue(sessions, "good@shop.example")

    assert mail_service.send_due(sessions, settings) == 2
    rows = _rows(sessions)
    assert rows["good@shop.example"].status == "sent"
    broken = rows["broken@shop.example"]
    assert broken.status == "failed" and broken.attempts == 1
    assert broken.last_error and broken.last_error.startswith("could not compose: Header")
    assert "admin/x" not in (broken.text_body or ""), "a failed reset keeps no link either"
    assert mail_service.send_due(sessions, settings) == 0


def test_an_unexpected_error_while_sending_is_retried_without_stopping_the_batch(
    sessions: sessionmaker[Session],
    settings: Settings,
    mail_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from buybutton_server.domain.mail.transports import FolderTransport

    send = FolderTransport.send

    def crash_once(self: FolderTransport, message: EmailMessage) -> None:
        if message["To"] == "crash@shop.example":
            raise UnicodeEncodeError("utf-8", "x", 0, 1, "surprise")
        send(self, message)

    monkeypatch.setattr(FolderTransport, "send", crash_once)
    _queue(sessions, "crash@shop.example")
    _queue(sessions, "good@shop.example")

    assert mail_service.send_due(sessions, settings) == 2
    rows = _rows(sessions)
    assert rows["good@shop.example"].status == "sent"
    crashed = rows["crash@shop.example"]
    assert crashed.status == "queued" and crashed.attempts == 1
    assert crashed.last_error and "could not send: UnicodeEncodeError" in crashed.last_error


def test_header_values_are_put_on_one_line() -> None:
    assert mail_messages.header_text("a\r\nb\u2028c\u2029d\x85e\x0bf\x00g  h") == "a b c d e f g h"
    assert mail_messages.recipient("Ana+tag@Shop.example").addr_spec == "Ana+tag@Shop.example"
    for bad in ("a;b@x.example", "a b@x.example", "ana@exa mple.com", "a\u2028b@x.example"):
        with pytest.raises(mail_messages.BadRecipient):
            mail_messages.recipient(bad)
