"""Merchant sign-in: rate-limited password checks, database sessions and CSRF tokens."""

from __future__ import annotations

import hashlib

from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.db import write_session
from buybutton_server.domain import admin_auth, rate_limits
from buybutton_server.domain.admin_auth import Admin
from buybutton_server.errors import BadRequest, RateLimited

LOGINS_PER_WINDOW, LOGIN_WINDOW_SECONDS = 10, 300
# Per account, whatever the address: guesses spread over many addresses (a botnet, IPv6)
# still meet this one. It also locks the owner out while an attack lasts; that is the price.
ACCOUNT_LOGINS_PER_WINDOW, ACCOUNT_WINDOW_SECONDS = 10, 900


class FormExpired(BadRequest):
    message = "This form has expired. Reload the page and try again."


def signed_in(sessions: sessionmaker[Session], token: str | None) -> Admin | None:
    """The merchant whose session cookie is ``token``, if it is a live session."""
    return admin_auth.user_for(sessions, token)


def log_in(sessions: sessionmaker[Session], ip: str, email: str, password: str) -> str | None:
    """A new session's cookie value, or None when email and password do not match.

    Every try counts against ``ip`` (IPv6 by /64) and against the account named by ``email``
    (:class:`RateLimited` past either limit, before the password is checked), in its own
    transaction, so failed guesses are counted even though they write nothing else. Unknown
    emails are counted the same way, so the limit says nothing about which accounts exist."""
    # A refused try is judged by a read and writes nothing (no write lock under a flood).
    verdict = rate_limits.take(
        sessions,
        [
            rate_limits.Rule(
                f"login-ip:{rate_limits.client_key(ip)}", LOGINS_PER_WINDOW, LOGIN_WINDOW_SECONDS
            ),
            rate_limits.Rule(
                _account_key(email), ACCOUNT_LOGINS_PER_WINDOW, ACCOUNT_WINDOW_SECONDS
            ),
        ],
    )
    if not verdict.allowed:
        minutes = max(1, round(verdict.retry_after / 60))
        raise RateLimited(
            verdict.retry_after,
            f"There have been too many sign-in attempts. Try again in {minutes} "
            f"minute{'s' if minutes != 1 else ''}.",
        )
    with write_session(sessions) as session:
        user = admin_auth.authenticate(session, email, password)
        return admin_auth.start_session(session, user) if user else None


def _account_key(email: str) -> str:
    """The account's bucket: a hash of the normalised email, so the rate-limit table holds no
    email addresses and a 1 MB "email" makes a key of the usual size."""
    normalised = email.strip().lower().encode("utf-8", "replace")
    return "login-account:" + hashlib.sha256(normalised).hexdigest()[:32]


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
