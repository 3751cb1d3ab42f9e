"""Who may call the API, and its Idempotency-Key: the use cases behind every API request.

Every request carries ``Authorization: Bearer bb_…``. Read endpoints take any live key;
writes need a ``write`` key. Writes accept ``Idempotency-Key``: the same key with the same
request gets the first answer again, with another request a 409
(:mod:`buybutton_server.domain.idempotency`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy.orm import Session, sessionmaker

from buybutton_server import errors
from buybutton_server.db import write_session
from buybutton_server.domain import api_keys, idempotency
from buybutton_server.domain.idempotency import StoredAnswer

__all__ = [
    "Caller",
    "ReadOnlyKey",
    "Scope",
    "Sessions",
    "StoredAnswer",
    "authenticate",
    "claim",
    "forget",
    "remember",
]

Scope = Literal["read", "write"]
Sessions = sessionmaker[Session]


class ReadOnlyKey(errors.Forbidden):
    message = "This API key is read-only; writes need a key created with --scope write."


@dataclass(frozen=True, slots=True)
class Caller:
    """The API key a request came with."""

    key_id: int
    scope: str


def authenticate(sessions: Sessions, authorization: str, needs: Scope) -> Caller:
    """The caller of an ``Authorization: Bearer …`` header, allowed ``needs``; raises
    Unauthorized (no live key) or Forbidden (a read key that tries to write)."""
    token = authorization[7:].strip() if authorization[:7].lower() == "bearer " else ""
    key = api_keys.find_key(sessions, token) if token else None
    if key is None:
        raise errors.Unauthorized()
    if needs == "write" and key.scope != "write":
        raise ReadOnlyKey()
    return Caller(key_id=key.id, scope=key.scope)


def claim(sessions: Sessions, caller: Caller, key: str, fingerprint: str) -> StoredAnswer | None:
    """The first answer given under ``key``, or None after claiming it for this request."""
    idempotency.check_key(key)
    with write_session(sessions) as session:
        return idempotency.claim(session, caller.key_id, key, fingerprint)


def remember(sessions: Sessions, caller: Caller, key: str, answer: StoredAnswer) -> None:
    """Keep the answer, to give it again to a retry."""
    with write_session(sessions) as session:
        idempotency.store(session, caller.key_id, key, answer)


def forget(sessions: Sessions, caller: Caller, key: str) -> None:
    """Release the key after a failure on our side, so the request may be retried."""
    with write_session(sessions) as session:
        idempotency.forget(session, caller.key_id, key)
