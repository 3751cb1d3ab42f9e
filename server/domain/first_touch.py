"""The first-touch cookie: the first placement (source, campaign, content) that brought a
browser to the checkout, kept signed in a first-party cookie for
:data:`ATTRIBUTION_WINDOW` and stored on its order (see :mod:`.analytics`)."""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer

from buybutton.tokens import CheckoutLink

ATTRIBUTION_WINDOW = timedelta(days=30)
FIRST_TOUCH_COOKIE = "bb_ft"


def _touch_signer(secret_keys: Sequence[str]) -> URLSafeSerializer:
    return _signer_for(tuple(secret_keys))


@functools.lru_cache(maxsize=8)
def _signer_for(secret_keys: tuple[str, ...]) -> URLSafeSerializer:
    return URLSafeSerializer(list(secret_keys), salt="buybutton.first-touch.v1")


def read_first_touch(
    secret_keys: Sequence[str], raw: str | None, *, now: float | None = None
) -> dict[str, Any] | None:
    """The first touch stored in the cookie, if it is ours and inside the window."""
    if not raw or len(raw) > 500:
        return None
    try:
        touch = _touch_signer(secret_keys).loads(raw)
    except BadSignature:
        return None
    if not isinstance(touch, dict) or not isinstance(touch.get("t"), int):
        return None
    if (time.time() if now is None else now) - touch["t"] > ATTRIBUTION_WINDOW.total_seconds():
        return None
    return touch


def first_touch_cookie(secret_keys: Sequence[str], link: CheckoutLink) -> str:
    minute = int(time.time()) // 60 * 60  # a minute is precise enough for attribution
    return _signed_touch(tuple(secret_keys), link.source, link.campaign, link.content, minute)


@functools.lru_cache(maxsize=1024)
def _signed_touch(
    secret_keys: tuple[str, ...],
    source: str | None,
    campaign: str | None,
    content: str | None,
    minute: int,
) -> str:
    """Signed once per placement and minute: the checkout page sets this on every first
    visit, and signing costs more than the rest of the page."""
    touch = {"s": source, "c": campaign, "n": content, "t": minute}
    return _touch_signer(secret_keys).dumps(touch)


@functools.lru_cache(maxsize=1024)
def set_cookie_header(value: str, *, secure: bool, embedded: bool = False) -> tuple[bytes, bytes]:
    """The ``Set-Cookie`` header for a first touch (built by hand: the standard library's
    cookie module is slow, and the value is already URL-safe).

    ``SameSite=Lax`` on the shop's own pages. In the overlay (``embedded``: a frame on the
    merchant's site, another site) a Lax cookie is neither stored nor sent, so over https it
    is ``SameSite=None; Secure; Partitioned``: kept in a jar for that one top-level site
    (CHIPS), useless for following anyone across sites. Browsers refuse ``SameSite=None``
    without ``Secure``, so over plain http (development) it stays Lax and the first touch of
    a cross-site overlay is not kept (docs/analytics.md)."""
    seconds = int(ATTRIBUTION_WINDOW.total_seconds())
    if embedded and secure:
        flags = "SameSite=None; Secure; Partitioned"
    else:
        flags = "SameSite=lax; Secure" if secure else "SameSite=lax"
    line = f"{FIRST_TOUCH_COOKIE}={value}; Max-Age={seconds}; Path=/; HttpOnly; {flags}"
    return b"set-cookie", line.encode("latin-1")


def tracking_allowed(headers: Mapping[str, str]) -> bool:
    """Anything beyond counts (the first-touch cookie) only without Do-Not-Track or GPC."""
    return headers.get("dnt") != "1" and headers.get("sec-gpc") != "1"
