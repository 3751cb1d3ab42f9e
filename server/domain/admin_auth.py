"""Merchant logins: scrypt-hashed passwords, database-backed sessions, CSRF tokens.

The session cookie is ``__Host-buybutton_admin`` (Secure, HttpOnly, SameSite=Lax, Path=/, no
Domain): only this exact origin over HTTPS ever sees it. Browsers also accept Secure cookies
from ``http://localhost`` and ``http://127.0.0.1``, so development works the same way. Only a
SHA-256 of the cookie's secret is stored, and sessions live in the database so every worker
process knows them.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from buybutton.tokens import EMAIL_PATTERN
from buybutton_server.db.models import AdminSession, AdminUser
from buybutton_server.errors import InvalidInput

COOKIE = "__Host-buybutton_admin"
SESSION_LIFETIME = timedelta(hours=12)
MIN_PASSWORD = 12
# scrypt with n=2**14, r=8, p=1: about 16 MiB and 50 ms per guess (RFC 7914; OWASP's floor).
_N, _R, _P = 2**14, 8, 1


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(digest)}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        computed = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=32,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(computed, base64.b64decode(digest))


@functools.cache
def _dummy_hash() -> str:
    """A hash to check against when the email is unknown, so both cases take the same time
    (made on first use: scrypt is too slow to pay in every worker's start)."""
    return hash_password(secrets.token_urlsafe(16))


@dataclass(frozen=True, slots=True)
class Admin:
    """A signed-in merchant, as pages show them."""

    id: int
    email: str


def create_admin(session: Session, email: str, password: str) -> Admin:
    email = email.strip().lower()
    if not EMAIL_PATTERN.match(email):
        raise InvalidInput(f"{email!r} is not an email address")
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"the password must be at least {MIN_PASSWORD} characters")
    user = AdminUser(email=email, password_hash=hash_password(password))
    session.add(user)
    try:
        session.flush()
    except IntegrityError:
        raise InvalidInput(f"a login for {email} exists already") from None
    return Admin(user.id, user.email)


def authenticate(session: Session, email: str, password: str) -> AdminUser | None:
    user = session.scalar(select(AdminUser).where(AdminUser.email == email.strip().lower()))
    valid = check_password(password, user.password_hash if user else _dummy_hash())
    return user if user is not None and valid else None


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(session: Session, user: AdminUser) -> str:
    """A new session for ``user``; returns the cookie value (shown nowhere else)."""
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    session.execute(delete(AdminSession).where(AdminSession.expires_at < now))
    session.add(
        AdminSession(
            token_hash=_token_hash(token), user_id=user.id, expires_at=now + SESSION_LIFETIME
        )
    )
    return token


def user_for(factory: sessionmaker[Session], token: str | None) -> Admin | None:
    """The merchant whose unexpired session ``token`` is, if any."""
    if not token or len(token) > 100:
        return None
    with factory() as session:
        row = session.execute(
            select(AdminUser.id, AdminUser.email, AdminSession.expires_at)
            .join(AdminSession, AdminSession.user_id == AdminUser.id)
            .where(AdminSession.token_hash == _token_hash(token))
        ).first()
    if row is None:
        return None
    user_id, email, expires_at = row
    if expires_at.tzinfo is None:  # SQLite hands back naive datetimes
        expires_at = expires_at.replace(tzinfo=UTC)
    if expires_at <= datetime.now(UTC):
        return None
    return Admin(user_id, email)


def end_session(session: Session, token: str) -> None:
    session.execute(delete(AdminSession).where(AdminSession.token_hash == _token_hash(token)))


def csrf_token(secret: str, session_token: str) -> str:
    """Bound to the session: a token from one login is worthless in another."""
    mac = hmac.new(secret.encode(), b"buybutton.csrf\0" + session_token.encode(), "sha256")
    return mac.hexdigest()


def csrf_ok(secret: str, session_token: str, given: str) -> bool:
    return hmac.compare_digest(csrf_token(secret, session_token), given or "")
