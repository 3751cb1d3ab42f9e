"""Order links a shopper can keep: ``/o/{token}`` opens an order's page without a login.

A token is an itsdangerous signature (HMAC-SHA256, the shop's secret keys: the newest signs,
every key verifies, so keys rotate) over the order's public id, under the salt
:data:`SALT`, so no other token of ours (a checkout link, a cookie, a password reset) is ever
taken for one. Tokens do not expire: the emails that carry them are the shopper's record of
the order. Replacing every secret key revokes them all.

:func:`find_order` is the ``/orders/find`` lookup: an order by its number and the email it
was placed with (both in any case).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence

from itsdangerous import BadSignature, URLSafeSerializer, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from buybutton_server.db.models import Order

SALT = "buybutton.order-link.v1"
# Longer than any token we make (a public id is at most 32 characters): read no further.
MAX_TOKEN = 200
PATH_PREFIX = "/o/"
# The ``/orders/find`` form carries a timed signature of its own (salt :data:`FORM_SALT`): a
# post without one we made in the last :data:`FORM_LIFETIME` seconds is refused.
FORM_SALT = "buybutton.order-find-form.v1"
FORM_LIFETIME = 2 * 3600


@functools.lru_cache(maxsize=8)
def _signer(secret_keys: tuple[str, ...]) -> URLSafeSerializer:
    return URLSafeSerializer(
        list(secret_keys), salt=SALT, signer_kwargs={"digest_method": hashlib.sha256}
    )


def make_token(secret_keys: Sequence[str], public_id: str) -> str:
    """The token of an order's link (signed with the newest key)."""
    return str(_signer(tuple(secret_keys)).dumps({"o": public_id}))


def order_path(secret_keys: Sequence[str], public_id: str) -> str:
    """``/o/<token>``: the order page's lasting address."""
    return PATH_PREFIX + make_token(secret_keys, public_id)


def public_id_for(secret_keys: Sequence[str], token: str) -> str | None:
    """The order public id a token was made for, or None when the token is not one of ours
    (altered, cut short, signed with a key we no longer hold, or made for something else)."""
    if not token or len(token) > MAX_TOKEN:
        return None
    try:
        payload = _signer(tuple(secret_keys)).loads(token)
    except BadSignature:
        return None
    if not isinstance(payload, dict):
        return None
    public_id = payload.get("o")
    if not isinstance(public_id, str) or not 0 < len(public_id) <= 32:
        return None
    return public_id


@functools.lru_cache(maxsize=8)
def _form_signer(secret_keys: tuple[str, ...]) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        list(secret_keys), salt=FORM_SALT, signer_kwargs={"digest_method": hashlib.sha256}
    )


def form_token(secret_keys: Sequence[str]) -> str:
    """The hidden value of a freshly shown ``/orders/find`` form."""
    return str(_form_signer(tuple(secret_keys)).dumps("find"))


def form_token_ok(secret_keys: Sequence[str], token: str, *, max_age: int = FORM_LIFETIME) -> bool:
    """Whether ``token`` is a form value we made in the last ``max_age`` seconds."""
    if not token or len(token) > MAX_TOKEN:
        return False
    try:
        return bool(_form_signer(tuple(secret_keys)).loads(token, max_age=max_age) == "find")
    except BadSignature:  # SignatureExpired included
        return False


def normal_email(email: str) -> str:
    return email.strip().lower()


def normal_number(number: str) -> str:
    return number.strip().upper()


def email_key(email: str) -> str:
    """What a rate limit names an email by: a digest, never the address itself."""
    return hashlib.sha256(normal_email(email).encode()).hexdigest()[:32]


def lookup_key(email: str, number: str) -> str:
    """What the ``/orders/find`` limit names a lookup by: a digest of the email and the
    order number together (both in any case), so posts naming someone's address with other
    numbers do not use up that person's own tries."""
    text = f"{normal_email(email)}\n{normal_number(number)}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def find_order(session: Session, email: str, number: str) -> Order | None:
    """The order numbered ``number`` placed with ``email`` (both compared in any case), or
    None. Numbers are stored in upper case; one indexed read by number either way, the
    email compared after."""
    order = session.scalar(select(Order).where(Order.number == normal_number(number)))
    if order is None or normal_email(order.email) != normal_email(email):
        return None
    return order
