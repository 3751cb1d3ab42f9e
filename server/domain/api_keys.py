"""API keys: ``bb_read_XXXXXXXX_secret`` or ``bb_write_XXXXXXXX_secret``.

The secret part is shown once, at creation; the database keeps a SHA-256 of the whole key
(a key has 256 random bits, so a fast hash is enough: there is nothing to brute-force) and
the visible prefix, which lists and logs show.
"""

from __future__ import annotations

import hashlib
import secrets
import string

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.db import read_session
from buybutton_server.db.models import ApiKey, utcnow
from buybutton_server.errors import Conflict

SCOPES = ("read", "write")
_ID_ALPHABET = string.ascii_lowercase + string.digits


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class FormUsed(Conflict):
    """The admin's create form was posted again (a page refresh): its key exists already."""

    title = "This form was already used"
    message = (
        "This form was already used: the key it made is in the list below (its secret was "
        "shown once). To make another key, fill in the form again."
    )


def _form_id(once: str) -> str:
    """The prefix's 8 characters for the form token ``once``: the same form posted twice
    asks for the same prefix, which is UNIQUE, so it makes one key."""
    digest = hashlib.sha256(b"buybutton.api-key-form:" + once.encode()).digest()
    return "".join(_ID_ALPHABET[byte % len(_ID_ALPHABET)] for byte in digest[:8])


def create_key(
    session: Session, scope: str, name: str = "", *, once: str | None = None
) -> tuple[ApiKey, str]:
    """A new key; with ``once`` (the admin form's token) at most one key per token
    (:class:`FormUsed` for the second; a concurrent second fails on the UNIQUE prefix)."""
    if scope not in SCOPES:
        raise ValueError("scope must be read or write")
    if once is None:
        prefix = f"bb_{scope}_" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(8))
    else:
        form_id = _form_id(once)
        taken = [f"bb_{known}_{form_id}" for known in SCOPES]
        if session.scalar(select(ApiKey.id).where(ApiKey.prefix.in_(taken))) is not None:
            raise FormUsed()
        prefix = f"bb_{scope}_{form_id}"
    key = f"{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKey(prefix=prefix, key_hash=_hash(key), scope=scope, name=name[:100])
    session.add(row)
    session.flush()
    return row, key


def find_key(factory: sessionmaker[Session], key: str) -> ApiKey | None:
    """The live key row for a presented key, or None (unknown, malformed or revoked)."""
    if not key.startswith("bb_") or len(key) > 200:
        return None
    with factory() as session:
        row = session.scalar(select(ApiKey).where(ApiKey.key_hash == _hash(key)))
        if row is None or row.revoked_at is not None:
            return None
        session.expunge(row)
        return row


def revoke(session: Session, prefix: str) -> bool:
    row = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if row is None:
        return False
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return True


def list_keys(factory: sessionmaker[Session]) -> list[ApiKey]:
    """Every key, oldest first, revoked ones included (detached rows, for listing)."""
    with read_session(factory) as session:
        rows = list(session.scalars(select(ApiKey).order_by(ApiKey.id)))
        session.expunge_all()
        return rows
