"""Idempotency keys for API writes: the same key with the same request gets the first answer
again; with another request, a conflict.

A key is claimed (a row with status 0) before the write runs, under a UNIQUE constraint per
API key, so two concurrent requests with one key cannot both run. The answer is stored when
the write ends; a write that failed on our side forgets the claim, so it may be retried.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from buybutton_server.db.models import IdempotencyRecord
from buybutton_server.errors import Conflict, InvalidInput

KEY_MAX = 255
_IN_PROGRESS = 0  # the status of a claimed key whose request has not answered yet


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    """The first answer given under a key: its HTTP status and JSON body."""

    status: int
    body: str


def check_key(key: str) -> str:
    if not 1 <= len(key) <= KEY_MAX:
        raise InvalidInput(f"Idempotency-Key must be 1-{KEY_MAX} characters.")
    return key


def _this(api_key_id: int, key: str) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    return (IdempotencyRecord.api_key_id == api_key_id, IdempotencyRecord.key == key)


def claim(session: Session, api_key_id: int, key: str, fingerprint: str) -> StoredAnswer | None:
    """The earlier answer under ``key``, or None after claiming ``key`` for this request.

    Raises :class:`Conflict` if the key was used for another request (another
    ``fingerprint``) or its request is still running."""
    found = session.scalar(select(IdempotencyRecord).where(*_this(api_key_id, key)))
    if found is None:
        session.add(
            IdempotencyRecord(
                api_key_id=api_key_id,
                key=key,
                request_hash=fingerprint,
                status_code=_IN_PROGRESS,
                response_body="",
            )
        )
        try:
            session.flush()
        except IntegrityError:
            raise Conflict("A request with this Idempotency-Key is in progress.") from None
        return None
    if found.request_hash != fingerprint:
        raise Conflict("This Idempotency-Key was used with a different request.")
    if found.status_code == _IN_PROGRESS:
        raise Conflict("A request with this Idempotency-Key is in progress.")
    return StoredAnswer(status=found.status_code, body=found.response_body)


def store(session: Session, api_key_id: int, key: str, answer: StoredAnswer) -> None:
    session.execute(
        update(IdempotencyRecord)
        .where(*_this(api_key_id, key))
        .values(status_code=answer.status, response_body=answer.body)
    )


def forget(session: Session, api_key_id: int, key: str) -> None:
    session.execute(delete(IdempotencyRecord).where(*_this(api_key_id, key)))
