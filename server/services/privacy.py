"""The shopper's data for the API and the command line: export it, erase it (docs/privacy.md).

An erasure runs in one transaction (:func:`buybutton_server.domain.privacy.erase_email`);
then the copies of the erased emails in the development mail folder are deleted. Nothing
here logs or answers with the address itself: the answer names the placeholder it became.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field
from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.db import read_session, write_session
from buybutton_server.domain import privacy, privacy_export
from buybutton_server.domain.mail.transports import mail_folder
from buybutton_server.services.api_types import Answer, Input, Query
from buybutton_server.settings import Settings

log = logging.getLogger("buybutton.privacy")
Sessions = sessionmaker[Session]
_EMAIL = Annotated[str, Field(min_length=3, max_length=privacy.EMAIL_MAX)]
_RECORDS = Annotated[list[dict[str, Any]], Field(description="one object per record")]


class ExportQuery(Query):
    email: _EMAIL
    problems = {"email": "email must be an email address, e.g. ana@example.com."}


class EraseInput(Input):
    email: _EMAIL
    problems = {"email": "email must be an email address, e.g. ana@example.com."}


class PrivacyExport(Answer):
    """Every piece of personal data held about an email (docs/privacy.md)."""

    email: str
    held: Annotated[bool, Field(description="false when nothing is held about it")]
    orders: Annotated[
        list[dict[str, Any]],
        Field(description="as GET /orders/{number} shows them, with hold keys and failure"),
    ]
    short_links: _RECORDS
    emails: _RECORDS
    returns: Annotated[
        list[dict[str, Any]] | None, Field(description="null where returns are not installed")
    ]
    discount_redemptions: _RECORDS
    webhook_events: _RECORDS
    idempotency_records: _RECORDS
    ucp_checkout_sessions: _RECORDS
    other_records: Annotated[
        list[dict[str, Any]], Field(description="any other row naming the address: table, row")
    ]
    erasures: Annotated[list[dict[str, Any]], Field(description="erasures already done")]


class ErasureResult(Answer):
    """What an erasure changed. The address is not repeated: ``placeholder`` is what it
    became wherever it was."""

    erased: Annotated[bool, Field(description="false when nothing was held")]
    message: str
    placeholder: str
    counts: Annotated[dict[str, int], Field(description="records changed, by kind")]


def export(sessions: Sessions, email: str) -> PrivacyExport:
    with read_session(sessions) as session:
        return PrivacyExport.model_validate(privacy_export.export(session, email))


def erase(sessions: Sessions, settings: Settings, email: str, *, via: str) -> ErasureResult:
    """Erase ``email`` everywhere, in one transaction; ``via`` (``api``, ``cli``) is kept
    with the record of the erasure."""
    with write_session(sessions) as session:
        done = privacy.erase_email(session, email, via=via)
    shown = privacy.placeholder(email)
    removed = remove_mail_files(settings, done.message_ids)
    log.info("erasure via %s: %s (%s; %d mail files)", via, done, shown, removed)
    counts = {what: n for what, n in done.counts.items() if n}
    return ErasureResult(
        erased=bool(done.total),
        message=f"erased: {done}" if done.total else "nothing held about that address",
        placeholder=shown,
        counts=counts,
    )


def remove_mail_files(settings: Settings, message_ids: list[str]) -> int:
    """Delete the development folder's copies (``<Message-ID local part>.eml``) of these
    emails; SMTP keeps none. Returns how many went."""
    if settings.smtp_url or settings.production or not message_ids:
        return 0
    folder, removed = mail_folder(settings), 0
    for message_id in message_ids:
        name = message_id.strip("<>").split("@", 1)[0]
        safe = "".join(c for c in name if c.isalnum() or c in "-._") or "message"
        path = folder / f"{safe}.eml"
        if Path(path).is_file():
            path.unlink(missing_ok=True)
            removed += 1
    return removed
