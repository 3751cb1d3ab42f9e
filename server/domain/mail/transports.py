"""Where composed emails go: an SMTP server, or (in development) a folder of ``.eml`` files.

A transport's :meth:`~Transport.batch` opens a short-lived channel that sends one message at a
time; SMTP connects on the first message and reuses the connection for the rest of the batch.
A send either returns (the server took the message), raises :class:`MailRefused` (a 5xx
answer about this message or its recipient: retrying cannot help), or raises
:class:`MailDeferred` (unreachable, timed out, a 4xx, a login refused: try again later).
Error texts never carry the URL's password.
"""

from __future__ import annotations

import os
import smtplib
import ssl
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

from buybutton_server.db.sessions import database_url
from buybutton_server.settings import Settings

SMTP_TIMEOUT = 20.0  # seconds, for the connection and every command after it
_ERROR_LENGTH = 200


class MailRefused(Exception):
    """The mail server refused this message for good (a 5xx)."""


class MailDeferred(Exception):
    """The message could not be handed over now; it is worth trying again."""


class Channel(Protocol):
    def send(self, message: EmailMessage) -> None: ...


class Transport(Protocol):
    description: str

    def batch(self) -> AbstractContextManager[Channel]: ...


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _ERROR_LENGTH else text[: _ERROR_LENGTH - 1] + "…"


def _text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else reply


# -- a folder ---------------------------------------------------------------------------------


class FolderTransport:
    """Each message becomes ``<folder>/<Message-ID's local part>.eml`` (development)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.description = f"the folder {folder}"

    @contextmanager
    def batch(self) -> Iterator[Channel]:
        yield self

    def send(self, message: EmailMessage) -> None:
        name = (message["Message-ID"] or "message").strip("<>").split("@", 1)[0]
        safe = "".join(c for c in name if c.isalnum() or c in "-._") or "message"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
            with os.fdopen(handle, "wb") as file:
                file.write(message.as_bytes())
            os.replace(temporary, self.folder / f"{safe}.eml")
        except OSError as error:
            raise MailDeferred(_short(f"cannot write to {self.folder}: {error.strerror}")) from None


# -- SMTP -------------------------------------------------------------------------------------


class SmtpTransport:
    """``smtp://[user:pass@]host[:port]`` (STARTTLS when offered, required with a login) or
    ``smtps://`` (TLS from the start). ``context`` verifies the server's certificate; tests
    pass one that trusts their own."""

    def __init__(
        self, url: str, *, timeout: float = SMTP_TIMEOUT, context: ssl.SSLContext | None = None
    ) -> None:
        parts = urlsplit(url)
        self.implicit_tls = parts.scheme == "smtps"
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (465 if self.implicit_tls else 587)
        self.user = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.timeout = timeout
        self.context = context or ssl.create_default_context()
        self.description = f"{parts.scheme}://{self.host}:{self.port}"

    @contextmanager
    def batch(self) -> Iterator[Channel]:
        channel = _SmtpChannel(self)
        try:
            yield channel
        finally:
            channel.close()

    def connect(self) -> smtplib.SMTP:
        where = f"{self.host}:{self.port}"
        try:
            client: smtplib.SMTP
            if self.implicit_tls:
                client = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=self.context
                )
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            try:
                self._secure_and_log_in(client)
            except BaseException:
                client.close()
                raise
            return client
        except smtplib.SMTPAuthenticationError as error:
            raise MailDeferred(_short(f"{where} refused the login: {error.smtp_code}")) from None
        except smtplib.SMTPNotSupportedError as error:
            raise MailDeferred(_short(f"{where}: {error}")) from None
        except smtplib.SMTPException as error:
            raise MailDeferred(_short(f"{where}: {error}")) from None
        except ssl.SSLError as error:
            raise MailDeferred(_short(f"{where}: TLS failed ({error.reason})")) from None
        except TimeoutError:
            raise MailDeferred(f"{where} did not answer within {self.timeout:g} s") from None
        except OSError as error:
            reason = error.strerror or type(error).__name__
            raise MailDeferred(_short(f"cannot reach {where}: {reason}")) from None

    def _secure_and_log_in(self, client: smtplib.SMTP) -> None:
        client.ehlo()
        if not self.implicit_tls:
            if client.has_extn("starttls"):
                client.starttls(context=self.context)
                client.ehlo()
            elif self.user is not None:
                # A password never travels in the clear.
                raise smtplib.SMTPNotSupportedError(
                    "the server does not offer STARTTLS, which a login requires"
                )
        if self.user is not None and self.password is not None:
            client.login(self.user, self.password)


class _SmtpChannel:
    def __init__(self, transport: SmtpTransport) -> None:
        self.transport = transport
        self.client: smtplib.SMTP | None = None

    def send(self, message: EmailMessage) -> None:
        if self.client is None:
            self.client = self.transport.connect()
        where = self.transport.description
        try:
            self.client.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            text = "; ".join(
                f"{code} {reply.decode(errors='replace')}"
                for code, reply in error.recipients.values()
            )
            if all(code >= 500 for code in codes):
                raise MailRefused(_short(f"recipient refused: {text}")) from None
            raise MailDeferred(_short(f"recipient deferred: {text}")) from None
        except (smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as error:
            reply = _text(error.smtp_error)
            self._drop()
            if error.smtp_code >= 500 and isinstance(error, smtplib.SMTPDataError):
                raise MailRefused(_short(f"message refused: {error.smtp_code} {reply}")) from None
            raise MailDeferred(_short(f"{where}: {error.smtp_code} {reply}")) from None
        except (smtplib.SMTPException, OSError) as error:
            self._drop()
            raise MailDeferred(_short(f"{where}: {error or type(error).__name__}")) from None

    def _drop(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    def close(self) -> None:
        if self.client is None:
            return
        try:
            self.client.quit()
        except (smtplib.SMTPException, OSError):
            pass
        finally:
            self._drop()


# -- choosing -----------------------------------------------------------------------------------


def mail_folder(settings: Settings) -> Path:
    """``BUYBUTTON_MAIL_DIR``, else ``mail/`` next to a SQLite database file, else ``./mail``."""
    if settings.mail_dir:
        return Path(settings.mail_dir)
    url = database_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return Path(os.path.abspath(url.database or "")).parent / "mail"
    return Path("mail")


def transport_for(settings: Settings) -> Transport | None:
    """SMTP when ``BUYBUTTON_SMTP_URL`` is set; else the folder in development, and nothing
    in production (the messages wait in the outbox: see :func:`warning`)."""
    if settings.smtp_url:
        return SmtpTransport(settings.smtp_url)
    if settings.production:
        return None
    return FolderTransport(mail_folder(settings))


def warning(settings: Settings) -> str | None:
    """The one line the server and the worker log at start when email cannot go out."""
    if settings.production and not settings.smtp_url:
        return (
            "BUYBUTTON_SMTP_URL is not set: emails (receipts, password resets) wait in the "
            "outbox until it is (see `buybutton mail list`)"
        )
    return None
