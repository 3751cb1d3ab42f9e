"""``Idempotency-Key`` for UCP writes, as :mod:`.idempotency` does it for the REST API, but
per agent (the SHA-256 of its profile URL) instead of per API key.

A key is claimed (status 0) in its own transaction before the write runs, under a UNIQUE
constraint, so two requests with one key cannot both run; the answer is stored when the
write ends, and a write that failed on our side forgets the claim. The fingerprint is the
SHA-256 of the method, the path and the raw body: the same key with another body, or on
another operation, is a conflict (409).
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from buybutton_server.db.models import UcpIdempotencyKey
from buybutton_server.domain.idempotency import KEY_MAX, StoredAnswer
from buybutton_server.errors import Conflict, InvalidInput

__all__ = ["StoredAnswer", "agent_of", "check_key", "claim", "fingerprint", "forget", "store"]

_IN_PROGRESS = 0
_T = UcpIdempotencyKey


def agent_of(profile_url: str) -> str:
    return hashlib.sha256(profile_url.encode()).hexdigest()


def fingerprint(method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256(f"{method} {path}\n".encode())
    digest.update(body)
    return digest.hexdigest()


def check_key(key: str | None) -> str:
    if key is None or not 1 <= len(key) <= KEY_MAX or not key.isascii() or not key.isprintable():
        raise InvalidInput(
            f"Send an Idempotency-Key header (1-{KEY_MAX} printable ASCII characters, a UUID "
            "is best) with every write.",
            code="idempotency_key_required",
        )
    return key


def claim(session: Session, agent: str, key: str, request_hash: str) -> StoredAnswer | None:
    """The answer stored under ``key``, or None after claiming it for this request. Raises
    :class:`Conflict` for another request under the key, or one still running."""
    found = session.scalar(select(_T).where(_T.agent == agent, _T.key == key))
    if found is None:
        session.add(
            _T(agent=agent, key=key, request_hash=request_hash, status_code=0, response_body="")
        )
        try:
            session.flush()
        except IntegrityError:
            raise Conflict(
                "A request with this Idempotency-Key is in progress.", code="idempotency_conflict"
            ) from None
        return None
    if found.request_hash != request_hash:
        raise Conflict(
            "This Idempotency-Key was used with a different request.", code="idempotency_conflict"
        )
    if found.status_code == _IN_PROGRESS:
        raise Conflict(
            "A request with this Idempotency-Key is in progress.", code="idempotency_conflict"
        )
    return StoredAnswer(status=found.status_code, body=found.response_body)


def store(session: Session, agent: str, key: str, answer: StoredAnswer) -> None:
    session.execute(
        update(_T)
        .where(_T.agent == agent, _T.key == key)
        .values(status_code=answer.status, response_body=answer.body)
    )


def forget(session: Session, agent: str, key: str) -> None:
    session.execute(delete(_T).where(_T.agent == agent, _T.key == key))


def forget_old(session: Session, before: datetime) -> int:
    """Delete answers stored before ``before`` (keep them at least 48 hours)."""
    result = session.execute(delete(_T).where(_T.created_at < before))
    return int(getattr(result, "rowcount", 0) or 0)
