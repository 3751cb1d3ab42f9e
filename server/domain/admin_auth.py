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
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from buybutton.tokens import EMAIL_PATTERN
from buybutton_server.db.models import AdminSession, AdminUser, Location, StaffLocation
from buybutton_server.errors import Conflict, InvalidInput

COOKIE = "__Host-buybutton_admin"
SESSION_LIFETIME = timedelta(hours=12)
MIN_PASSWORD = 12


@dataclass(frozen=True, slots=True)
class ScryptCost:
    """scrypt's parameters; a hash stores its own (``scrypt$n$r$p$salt$digest``)."""

    n: int
    r: int
    p: int

    @property
    def memory(self) -> int:
        """The bytes scrypt needs (its V array is 128·r·n, plus 128·r·p for B), with room."""
        return 128 * self.r * (self.n + self.p + 2) + 1024 * 1024


# OWASP's floor (Password Storage Cheat Sheet): n=2**17, r=8, p=1, i.e. 128 MiB and about
# 0.3-0.5 s per guess. Hashes made with older parameters (n=2**14 before issue 11) still
# verify and are re-hashed with these at the next successful sign-in. Tests lower COST with
# monkeypatch (tests/test_admin.py); nothing in production can.
COST = ScryptCost(n=2**17, r=8, p=1)
# The most any stored hash may ask for: a tampered row must not make us allocate gigabytes.
_MOST = ScryptCost(n=2**20, r=16, p=16)
# At most two derivations at a time per process (128 MiB each): a burst of sign-ins from
# many addresses waits here instead of taking the server's memory.
_DERIVING = threading.BoundedSemaphore(2)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _derive(password: str, salt: bytes, cost: ScryptCost) -> bytes:
    with _DERIVING:
        return hashlib.scrypt(
            password.encode(),
            salt=salt,
            n=cost.n,
            r=cost.r,
            p=cost.p,
            maxmem=cost.memory,
            dklen=32,
        )


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = _derive(password, salt, COST)
    return f"scrypt${COST.n}${COST.r}${COST.p}${_b64(salt)}${_b64(digest)}"


def _cost_of(stored: str) -> ScryptCost | None:
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        return None
    numbers = parts[1:4]
    if not all(part.isdecimal() and len(part) <= 8 for part in numbers):
        return None
    cost = ScryptCost(*(int(part) for part in numbers))
    if not (0 < cost.n <= _MOST.n and 0 < cost.r <= _MOST.r and 0 < cost.p <= _MOST.p):
        return None
    return cost


def check_password(password: str, stored: str) -> bool:
    cost = _cost_of(stored)
    if cost is None:
        return False
    _, _, _, _, salt, digest = stored.split("$")
    try:
        computed = _derive(password, base64.b64decode(salt), cost)
        expected = base64.b64decode(digest)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(computed, expected)


def needs_rehash(stored: str) -> bool:
    """Whether ``stored`` was made with other parameters than :data:`COST`."""
    return _cost_of(stored) != COST


def _dummy_hash() -> str:
    """A hash to check against when the email is unknown, so both cases take the same time
    (made on first use: scrypt is too slow to pay in every worker's start)."""
    return _dummy_hash_for(COST)


@functools.cache
def _dummy_hash_for(cost: ScryptCost) -> str:
    return hash_password(secrets.token_urlsafe(16))


@dataclass(frozen=True, slots=True)
class Admin:
    """A signed-in merchant, as pages show them."""

    id: int
    email: str
    role: str = "owner"

    @property
    def is_owner(self) -> bool:
        return self.role == OWNER


OWNER, STAFF = "owner", "staff"
ROLES = (OWNER, STAFF)


def create_admin(session: Session, email: str, password: str, role: str = OWNER) -> Admin:
    email = email.strip().lower()
    if not EMAIL_PATTERN.match(email) or "\x00" in email:
        raise InvalidInput(f"{email!r} is not an email address")
    check_new_password(password)
    if role not in ROLES:
        raise InvalidInput(f"the role must be one of {', '.join(ROLES)}")
    user = AdminUser(email=email, password_hash=hash_password(password), role=role)
    session.add(user)
    try:
        session.flush()
    except IntegrityError:
        raise InvalidInput(f"a login for {email} exists already") from None
    return Admin(user.id, user.email, user.role)


def authenticate(session: Session, email: str, password: str) -> AdminUser | None:
    email = email.strip().lower()
    # No account has a NUL in its email, and PostgreSQL refuses one in a query (a 500).
    user = (
        None
        if "\x00" in email
        else session.scalar(select(AdminUser).where(AdminUser.email == email))
    )
    valid = check_password(password, user.password_hash if user else _dummy_hash())
    # A disabled login gets the wrong password's answer (after the same work): no telling
    # which accounts exist or are disabled.
    if user is None or not valid or user.disabled_at is not None:
        return None
    if needs_rehash(user.password_hash):  # older parameters: upgrade now we know the password
        user.password_hash = hash_password(password)
    return user


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
            select(AdminUser.id, AdminUser.email, AdminUser.role, AdminSession.expires_at)
            .join(AdminSession, AdminSession.user_id == AdminUser.id)
            .where(AdminSession.token_hash == _token_hash(token))
            .where(AdminUser.disabled_at.is_(None))
        ).first()
    if row is None:
        return None
    user_id, email, role, expires_at = row
    if expires_at.tzinfo is None:  # SQLite hands back naive datetimes
        expires_at = expires_at.replace(tzinfo=UTC)
    if expires_at <= datetime.now(UTC):
        return None
    return Admin(user_id, email, role)


def end_session(session: Session, token: str) -> None:
    session.execute(delete(AdminSession).where(AdminSession.token_hash == _token_hash(token)))


def end_sessions(session: Session, user_id: int, *, keep: str | None = None) -> None:
    """End every session of ``user_id`` (but the one whose cookie is ``keep``)."""
    statement = delete(AdminSession).where(AdminSession.user_id == user_id)
    if keep:
        statement = statement.where(AdminSession.token_hash != _token_hash(keep))
    session.execute(statement)


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"the password must be at least {MIN_PASSWORD} characters")
    if len(password) > 1000:
        raise InvalidInput("the password must be at most 1000 characters")


def set_password(
    session: Session, user: AdminUser, password: str, *, keep: str | None = None
) -> None:
    """A new password for ``user``; every session but ``keep`` ends (and every reset link
    made for the old password stops working)."""
    check_new_password(password)
    user.password_hash = hash_password(password)
    end_sessions(session, user.id, keep=keep)


def change_password(
    session: Session, user_id: int, current: str, new: str, *, keep: str | None
) -> None:
    """The signed-in login changes its own password: ``current`` must be right."""
    user = session.get(AdminUser, user_id)
    if user is None or user.disabled_at is not None:
        raise InvalidInput("this login no longer exists")
    if not check_password(current, user.password_hash):
        raise InvalidInput("the current password is not right", context={"field": "current"})
    set_password(session, user, new, keep=keep)


# -- staff: the owner's list of logins ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Login:
    """A login as the staff page lists it."""

    id: int
    email: str
    role: str
    created_at: datetime
    disabled_at: datetime | None


def logins(session: Session) -> list[Login]:
    rows = session.execute(
        select(
            AdminUser.id,
            AdminUser.email,
            AdminUser.role,
            AdminUser.created_at,
            AdminUser.disabled_at,
        ).order_by(AdminUser.disabled_at.is_not(None), AdminUser.email)
    )
    return [Login(*row) for row in rows]


def login_by_id(session: Session, user_id: int) -> AdminUser | None:
    return session.get(AdminUser, user_id)


def active_by_email(session: Session, email: str) -> AdminUser | None:
    email = email.strip().lower()
    if "\x00" in email or len(email) > 254:
        return None
    return session.scalar(
        select(AdminUser).where(AdminUser.email == email, AdminUser.disabled_at.is_(None))
    )


def update_login(
    session: Session,
    actor: Admin,
    user_id: int,
    *,
    role: str | None = None,
    enabled: bool | None = None,
) -> AdminUser | None:
    """Change a login's role or disable / enable it, keeping at least one active owner.

    The active owners' rows are locked first (``FOR UPDATE`` on PostgreSQL; SQLite has one
    writer), so two owners demoting each other at once cannot leave the shop with none.
    Returns None for an unknown login."""
    if role is not None and role not in ROLES:
        raise InvalidInput(f"the role must be one of {', '.join(ROLES)}")
    owners = set(
        session.scalars(
            select(AdminUser.id)
            .where(AdminUser.role == OWNER, AdminUser.disabled_at.is_(None))
            .with_for_update()
        )
    )
    user = session.get(AdminUser, user_id)
    if user is None:
        return None
    loses_owner = user.id in owners and (role == STAFF or enabled is False)
    if loses_owner and owners == {user.id}:
        raise Conflict(
            f"{user.email} is the shop's last active owner: make another login an owner "
            "first, so someone can still manage the shop."
        )
    if loses_owner and user.id == actor.id:
        raise Conflict(
            "You can't demote or disable your own login here (you would lock yourself out "
            "of this page). Ask another owner to do it."
        )
    if role is not None:
        user.role = role
    if enabled is False and user.disabled_at is None:
        user.disabled_at = datetime.now(UTC)
        end_sessions(session, user.id)
    elif enabled is True:
        user.disabled_at = None
    return user


# -- the stores a login works at (the counter, issue 15) ----------------------------------------


def limited_to(session: Session, user_id: int) -> set[int]:
    """The locations a login is limited to; empty: every location."""
    query = select(StaffLocation.location_id).where(StaffLocation.user_id == user_id)
    return set(session.scalars(query))


def set_locations(session: Session, user_id: int, location_ids: set[int]) -> None:
    """Limit a login to ``location_ids`` (empty: every location)."""
    session.execute(delete(StaffLocation).where(StaffLocation.user_id == user_id))
    if location_ids:
        rows = [{"user_id": user_id, "location_id": i} for i in sorted(location_ids)]
        session.execute(insert(StaffLocation), rows)


def scopes(session: Session) -> dict[int, list[str]]:
    """Each limited login's location codes, by login id."""
    query = (
        select(StaffLocation.user_id, Location.code)
        .join(Location, Location.id == StaffLocation.location_id)
        .order_by(Location.code)
    )
    found: dict[int, list[str]] = {}
    for user_id, code in session.execute(query):
        found.setdefault(user_id, []).append(code)
    return found


def csrf_token(secret: str, session_token: str) -> str:
    """Bound to the session: a token from one login is worthless in another."""
    mac = hmac.new(secret.encode(), b"buybutton.csrf\0" + session_token.encode(), "sha256")
    return mac.hexdigest()


def csrf_ok(secret: str, session_token: str, given: str) -> bool:
    return hmac.compare_digest(csrf_token(secret, session_token), given or "")
