"""Staff logins, password changes and set-password links (reset and invitation).

Emails go through ``services.mail.queue_password_reset`` after the transaction that made the
link has committed. Links point at the configured ``base_url``, never at the request's Host
header, so a forged Host cannot send a reset link to another site.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.db import read_session, write_session
from buybutton_server.domain import admin_auth, locations, password_reset, rate_limits
from buybutton_server.domain.admin_auth import Admin, Login
from buybutton_server.domain.password_reset import INVITE_LIFETIME, RESET_LIFETIME
from buybutton_server.errors import InvalidInput, RateLimited
from buybutton_server.services import mail

log = logging.getLogger("buybutton")

RESETS_PER_WINDOW, RESET_WINDOW_SECONDS = 5, 900  # per address (IPv6 by /64)
ACCOUNT_RESETS_PER_WINDOW, ACCOUNT_RESET_WINDOW_SECONDS = 3, 3600  # per email asked for
CHANGES_PER_WINDOW, CHANGE_WINDOW_SECONDS = 10, 900  # password changes per login


def _limit(sessions: sessionmaker[Session], rules: list[rate_limits.Rule], what: str) -> None:
    verdict = rate_limits.take(sessions, rules)
    if not verdict.allowed:
        minutes = max(1, round(verdict.retry_after / 60))
        raise RateLimited(
            verdict.retry_after,
            f"There have been too many {what}. Try again in {minutes} "
            f"minute{'s' if minutes != 1 else ''}.",
        )


def _email_key(prefix: str, email: str) -> str:
    normalised = email.strip().lower().encode("utf-8", "replace")
    return f"{prefix}:" + hashlib.sha256(normalised).hexdigest()[:32]


def _link(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/admin/password-reset/{token}"


def _send(
    sessions: sessionmaker[Session],
    to: str,
    url: str,
    lifetime: timedelta = RESET_LIFETIME,
    *,
    invitation: bool = False,
) -> None:
    """Queue the email with the link (the mail outbox sends it)."""
    minutes = int(lifetime.total_seconds() // 60)
    mail.queue_password_reset(sessions, to, url, expires_minutes=minutes, invitation=invitation)


# -- the owner's staff page --------------------------------------------------------------------


def logins(sessions: sessionmaker[Session]) -> list[Login]:
    with read_session(sessions) as session:
        return admin_auth.logins(session)


def location_scopes(
    sessions: sessionmaker[Session],
) -> tuple[list[tuple[str, str]], dict[int, list[str]]]:
    """The active locations ``(code, name)`` and each limited login's location codes."""
    with read_session(sessions) as session:
        shown = [(loc.code, loc.name) for loc in locations.all_locations(session) if loc.active]
        return shown, admin_auth.scopes(session)


def counter_only(sessions: sessionmaker[Session], user_id: int) -> bool:
    """Whether a login is limited to some stores (it then works at their counter only)."""
    with read_session(sessions) as session:
        return bool(admin_auth.limited_to(session, user_id))


def set_locations(sessions: sessionmaker[Session], user_id: int, codes: list[str]) -> str | None:
    """Limit a login to the locations ``codes`` (none: every location); its email, or None
    for an unknown login."""
    with write_session(sessions) as session:
        user = admin_auth.login_by_id(session, user_id)
        if user is None:
            return None
        ids: set[int] = set()
        for code in codes:
            found = locations.location_by_code(session, code[:32])
            if found is None:
                raise InvalidInput(f"There is no location {code[:32]!r}.")
            ids.add(found.id)
        admin_auth.set_locations(session, user_id, ids)
        return user.email


def add_login(
    sessions: sessionmaker[Session],
    email: str,
    role: str,
    password: str,
    *,
    secret_keys: tuple[str, ...],
    base_url: str,
) -> Admin:
    """A new login. With ``password`` it can sign in at once; without, it gets an invitation
    email whose link sets its first password (the random one it starts with is never told)."""
    invite = not password
    with write_session(sessions) as session:
        made = admin_auth.create_admin(session, email, password or secrets.token_urlsafe(32), role)
        user = admin_auth.login_by_id(session, made.id)
        token = password_reset.make_token(secret_keys, user, password_reset.INVITE) if user else ""
    if invite:
        _send(sessions, made.email, _link(base_url, token), INVITE_LIFETIME, invitation=True)
    return made


def update_login(
    sessions: sessionmaker[Session],
    actor: Admin,
    user_id: int,
    *,
    role: str | None = None,
    enabled: bool | None = None,
) -> str | None:
    """Change a login's role or state; its email, or None for an unknown login."""
    with write_session(sessions) as session:
        user = admin_auth.update_login(session, actor, user_id, role=role, enabled=enabled)
        return user.email if user else None


def send_set_password_link(
    sessions: sessionmaker[Session], user_id: int, *, secret_keys: tuple[str, ...], base_url: str
) -> str | None:
    """Email an active login a link to set a new password (the owner's "send a link")."""
    with read_session(sessions) as session:
        user = admin_auth.login_by_id(session, user_id)
        if user is None or user.disabled_at is not None:
            return None
        email, token = user.email, password_reset.make_token(secret_keys, user)
    _send(sessions, email, _link(base_url, token))
    return email


# -- the signed-in login's own password --------------------------------------------------------


def change_password(
    sessions: sessionmaker[Session],
    admin: Admin,
    cookie: str | None,
    *,
    current: str,
    new: str,
    confirm: str,
) -> None:
    """Change ``admin``'s password; every other session of it ends (this one stays)."""
    if new != confirm:
        raise InvalidInput("the new password and its confirmation differ")
    admin_auth.check_new_password(new)
    _limit(
        sessions,
        [
            rate_limits.Rule(
                f"password-change:{admin.id}", CHANGES_PER_WINDOW, CHANGE_WINDOW_SECONDS
            )
        ],
        "password changes",
    )
    with write_session(sessions) as session:
        admin_auth.change_password(session, admin.id, current, new, keep=cookie)


# -- forgotten passwords -----------------------------------------------------------------------


def limit_reset_requests(sessions: sessionmaker[Session], ip: str, email: str) -> None:
    """Count a reset request against the address and the email (:class:`RateLimited` past
    either). Unknown emails count the same, so the limit tells nothing about accounts."""
    _limit(
        sessions,
        [
            rate_limits.Rule(
                f"reset-ip:{rate_limits.client_key(ip)}", RESETS_PER_WINDOW, RESET_WINDOW_SECONDS
            ),
            rate_limits.Rule(
                _email_key("reset-account", email),
                ACCOUNT_RESETS_PER_WINDOW,
                ACCOUNT_RESET_WINDOW_SECONDS,
            ),
        ],
        "password reset requests",
    )


def send_reset_link(
    sessions: sessionmaker[Session], email: str, *, secret_keys: tuple[str, ...], base_url: str
) -> None:
    """Email a reset link if ``email`` has an active login; nothing otherwise. The view runs
    this after answering, so both cases answer alike and in the same time."""
    with read_session(sessions) as session:
        user = admin_auth.active_by_email(session, email)
        if user is None:
            return
        to, token = user.email, password_reset.make_token(secret_keys, user)
    try:
        _send(sessions, to, _link(base_url, token))
    except Exception:
        log.exception("could not queue a password reset email")


def reset_email(sessions: sessionmaker[Session], secret_keys: tuple[str, ...], token: str) -> str:
    """The email of the login a valid link is for (else the link's error)."""
    with read_session(sessions) as session:
        return password_reset.user_for_token(session, secret_keys, token).email


def complete_reset(
    sessions: sessionmaker[Session],
    secret_keys: tuple[str, ...],
    token: str,
    *,
    new: str,
    confirm: str,
) -> str:
    """Set the password a link asks for; every session of the login ends and a new one
    starts (its cookie value is returned). The link stops working."""
    with write_session(sessions) as session:
        user = password_reset.user_for_token(session, secret_keys, token)
        if new != confirm:
            raise InvalidInput("the new password and its confirmation differ")
        password_reset.set_password(session, user, new)  # LinkUsed if used meanwhile
        return admin_auth.start_session(session, user)
