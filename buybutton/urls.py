"""The shop's public addresses, built and read in one place.

The SDK builds checkout links offline and the server routes and reads them; both use these
functions, so the shape of an address has one definition.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

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


# -- cart permalinks (UCP ``dev.ucp.shopping.permalink``): ``/buy/sku:2,~b64:1`` -----------

BUY_PREFIX = "/buy/"
_RAW_ID = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")
_B64_ID = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def _item_token(item_id: str) -> str:
    if item_id and _RAW_ID.issuperset(item_id):
        return item_id
    return "~" + base64.urlsafe_b64encode(item_id.encode()).decode().rstrip("=")


def cart_path(items: Sequence[tuple[str, int]]) -> str:
    """``/buy/{items}``: a cart permalink, ``sku:qty`` pairs joined by commas; an id with
    other characters is spelled ``~`` + unpadded base64url of its UTF-8."""
    return BUY_PREFIX + ",".join(f"{_item_token(sku)}:{int(q)}" for sku, q in items)


def parse_cart(text: str) -> list[tuple[str, int]]:
    """The ``(item id, quantity)`` pairs of a permalink's ``{items}``, in order.

    Raises ValueError naming the pair that is malformed: a quantity that is not a positive
    whole number without leading zeros, a raw id with other characters than
    ``A-Z a-z 0-9 . _ -``, or a ``~`` id that is not canonical unpadded base64url of UTF-8
    text without control characters. Percent-encoding is not decoded (the spec forbids it)."""
    pairs: list[tuple[str, int]] = []
    for position, pair in enumerate(text.split(","), start=1):
        token, colon, quantity = pair.rpartition(":")
        if not colon or not token:
            raise ValueError(f"line {position} ({pair[:80]!r}) is not item:quantity")
        if not (quantity.isascii() and quantity.isdigit()) or quantity[0] == "0":
            raise ValueError(f"line {position}: the quantity must be a whole number from 1")
        if len(quantity) > 9:
            raise ValueError(f"line {position}: the quantity {quantity[:12]} is too large")
        pairs.append((_item_id(token, position), int(quantity)))
    return pairs


def _item_id(token: str, position: int) -> str:
    if not token.startswith("~"):
        if not _RAW_ID.issuperset(token):
            raise ValueError(f"line {position}: the item id has characters a raw id cannot have")
        return token
    body = token[1:]
    problem = f"line {position}: the ~ item id is not canonical base64url"
    if not body or not _B64_ID.issuperset(body) or len(body) % 4 == 1:
        raise ValueError(problem)
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        decoded = raw.decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        raise ValueError(problem) from None
    if base64.urlsafe_b64encode(raw).decode().rstrip("=") != body:
        raise ValueError(problem)
    if not decoded or any(not ch.isprintable() for ch in decoded):
        raise ValueError(f"line {position}: the item id holds control characters")
    return decoded
