"""Merchant sign-in: rate-limited password checks, database sessions and CSRF tokens."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.db import write_session
from buybutton_server.domain import admin_auth, rate_limits
from buybutton_server.domain.admin_auth import Admin
from buybutton_server.errors import BadRequest, RateLimited

LOGINS_PER_WINDOW, LOGIN_WINDOW_SECONDS = 10, 300


class FormExpired(BadRequest):
    message = "This form has expired. Reload the page and try again."


def signed_in(sessions: sessionmaker[Session], token: str | None) -> Admin | None:
    """The merchant whose session cookie is ``token``, if it is a live session."""
    return admin_auth.user_for(sessions, token)


def log_in(sessions: sessionmaker[Session], ip: str, email: str, password: str) -> str | None:
    """A new session's cookie value, or None when email and password do not match.

    Every try counts against ``ip`` first (:class:`RateLimited` past the limit), in its own
    transaction, so failed guesses are counted even though they write nothing else."""
    with write_session(sessions) as session:
        verdict = rate_limits.hit(
            session, f"login-ip:{ip}", limit=LOGINS_PER_WINDOW, per_seconds=LOGIN_WINDOW_SECONDS
        )
    if not verdict.allowed:
        raise RateLimited(verdict.retry_after)
    with write_session(sessions) as session:
        user = admin_auth.authenticate(session, email, password)
        return admin_auth.start_session(session, user) if user else None


def log_out(sessions: sessionmaker[Session], token: str) -> None:
    with write_session(sessions) as session:
        admin_auth.end_session(session, token)


def csrf_token(secret_keys: tuple[str, ...], token: str | None) -> str:
    """The CSRF token for forms of the session ``token`` (signed with the newest key)."""
    return admin_auth.csrf_token(secret_keys[-1], token or "")


def check_csrf(secret_keys: tuple[str, ...], token: str | None, given: str) -> None:
    """Raise :class:`FormExpired` unless ``given`` is the session's CSRF token."""
    if not admin_auth.csrf_ok(secret_keys[-1], token or "", given):
        raise FormExpired()
