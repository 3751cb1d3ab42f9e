"""The shop's public addresses, built and read in one place.

The SDK builds checkout links offline and the server routes and reads them; both use these
functions, so the shape of an address has one definition.
"""

from __future__ import annotations

CHECKOUT_PREFIX = "/c/"
SHORT_PREFIX = "/l/"


def checkout_path(token: str) -> str:
    """``/c/{token}``: the hosted checkout for a signed link."""
    return CHECKOUT_PREFIX + token


def short_path(code: str) -> str:
    """``/l/{code}``: a short link."""
    return SHORT_PREFIX + code


def order_path(public_id: str) -> str:
    """``/orders/{public_id}``: the shopper's order page."""
    return "/orders/" + public_id


def absolute(base_url: str, url: str) -> str:
    """``url`` as an absolute address: paths are joined to ``base_url``, full URLs kept."""
    return base_url.rstrip("/") + url if url.startswith("/") else url


def token_from_url(url: str) -> str | None:
    """The signed token of a checkout URL or path (``…/c/{token}?…#…``), or None."""
    if CHECKOUT_PREFIX not in url:
        return None
    token = url.split(CHECKOUT_PREFIX, 1)[1].split("?", 1)[0].split("#", 1)[0]
    return token or None
