"""API keys: ``bb_read_XXXXXXXX_secret`` or ``bb_write_XXXXXXXX_secret``.

The secret part is shown once, at creation; the database keeps a SHA-256 of the whole key
(a key has 256 random bits, so a fast hash is enough: there is nothing to brute-force) and
the visible prefix, which lists and logs show.
"""

from __future__ import annotations

import hashlib
import secrets
import string
import sys
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.db import make_engine, session_factory, write_session
from buybutton_server.db.models import ApiKey, utcnow
from buybutton_server.settings import Settings

SCOPES = ("read", "write")
_ID_ALPHABET = string.ascii_lowercase + string.digits


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(session: Session, scope: str, name: str = "") -> tuple[ApiKey, str]:
    if scope not in SCOPES:
        raise ValueError("scope must be read or write")
    prefix = f"bb_{scope}_" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(8))
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


def run_keys_command(settings: Settings, args: object, *, out: Callable[[str], None]) -> int:
    """``buybutton keys create|list|revoke``."""
    engine = make_engine(settings.database_url)
    sessions = session_factory(engine)
    try:
        action = args.action
        if action == "create":
            with write_session(sessions) as session:
                row, key = create_key(session, args.scope, args.name or "")
                prefix = row.prefix
            out(key)
            print(
                f"buybutton: created {prefix} ({args.scope}). This is the only time "
                "the key is shown: store it now.",
                file=sys.stderr,
            )
            return 0
        if action == "list":
            with sessions() as session:
                for row in session.scalars(select(ApiKey).order_by(ApiKey.id)):
                    state = "revoked" if row.revoked_at else "active"
                    out(f"{row.prefix}  {row.scope:5}  {state:7}  {row.name}")
            return 0
        with write_session(sessions) as session:
            if not revoke(session, args.prefix):
                print(f"buybutton: no key {args.prefix}", file=sys.stderr)
                return 1
        out(f"revoked {args.prefix}")
        return 0
    finally:
        engine.dispose()
