"""Set-password links: for a forgotten password, and for a new login's invitation.

A link is ``/admin/password-reset/{token}``. The token is an itsdangerous timed signature
(the shop's secret keys, newest signs, salt ``buybutton.password-reset``) over the login's id,
the kind of link and a digest of the login's current password hash. A reset link lasts
:data:`RESET_LIFETIME`, an invitation :data:`INVITE_LIFETIME`. Setting a password changes the
hash, so the same link is then refused: every link works once, also when it is used twice
at the same moment (:func:`set_password` writes only while the hash is still the bound one).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import update
from sqlalchemy.orm import Session

from buybutton_server.db.models import AdminUser
from buybutton_server.domain import admin_auth
from buybutton_server.errors import BadRequest, Gone

SALT = "buybutton.password-reset"
RESET_LIFETIME = timedelta(hours=1)
INVITE_LIFETIME = timedelta(days=3)
RESET, INVITE = "reset", "invite"
_LIFETIMES = {RESET: RESET_LIFETIME, INVITE: INVITE_LIFETIME}


class LinkUsed(Gone):
    title = "This link has expired"
    message = (
        "This link has expired or has been used already. Ask for a new one on the "
        "“Forgot your password?” page."
    )


class LinkBroken(BadRequest):
    title = "This link is not valid"
    message = (
        "This link is not valid: it may have been cut short. Copy the whole link from the "
        "email, or ask for a new one."
    )


def _serializer(secret_keys: tuple[str, ...]) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(list(secret_keys), salt=SALT)


def _digest(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:32]


def make_token(secret_keys: tuple[str, ...], user: AdminUser, kind: str = RESET) -> str:
    return _serializer(secret_keys).dumps([user.id, kind, _digest(user.password_hash)])


def user_for_token(session: Session, secret_keys: tuple[str, ...], token: str) -> AdminUser:
    """The active login the link ``token`` was made for (:class:`LinkBroken` if it was not
    made by us, :class:`LinkUsed` once it expired, was used or its login was disabled)."""
    if len(token) > 300:
        raise LinkBroken()
    serializer = _serializer(secret_keys)
    try:
        payload = serializer.loads(token, max_age=int(INVITE_LIFETIME.total_seconds()))
    except SignatureExpired:
        raise LinkUsed() from None
    except BadSignature:
        raise LinkBroken() from None
    try:
        user_id, kind, digest = payload
        lifetime = _LIFETIMES[kind]
    except (TypeError, ValueError, KeyError):
        raise LinkBroken() from None
    try:  # the kind's own lifetime (the signature is already checked)
        serializer.loads(token, max_age=int(lifetime.total_seconds()))
    except SignatureExpired:
        raise LinkUsed() from None
    user = session.get(AdminUser, user_id) if isinstance(user_id, int) else None
    if (
        user is None
        or user.disabled_at is not None
        or not isinstance(digest, str)
        or not hmac.compare_digest(digest, _digest(user.password_hash))
    ):
        raise LinkUsed()
    return user


def set_password(session: Session, user: AdminUser, password: str) -> None:
    """Set ``password`` for the login :func:`user_for_token` answered, only while its
    password hash is still the one the link was bound to: one conditional ``UPDATE``. Of two
    uses of one link at once (two tabs, a double click; PostgreSQL runs them side by side)
    one sets the password and the other gets :class:`LinkUsed`. Every session of the login
    ends."""
    admin_auth.check_new_password(password)
    new_hash = admin_auth.hash_password(password)
    moved = session.execute(
        update(AdminUser)
        .where(AdminUser.id == user.id, AdminUser.password_hash == user.password_hash)
        .values(password_hash=new_hash)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise LinkUsed()
    session.expire(user, ["password_hash"])
    admin_auth.end_sessions(session, user.id)
