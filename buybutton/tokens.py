"""The checkout-link token: one definition, used by the SDK to sign and the server to verify.

A token is an itsdangerous ``URLSafeSerializer`` payload signed with HMAC-SHA256 under a salt
that names its purpose, so a token minted for another purpose never validates as a checkout
link. Keys are a list, newest last: the newest signs, every key verifies, which is how keys
rotate.

The payload is signed, not encrypted: anyone holding a link can read what it pre-fills.
Put personal data (email, name) only in links sent to that person.

Prices are never part of a link; the server always charges what its database says.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from itsdangerous.encoding import base64_decode, base64_encode

from buybutton.errors import ExpiredLink, InvalidLink
from buybutton.money import is_currency

CHECKOUT_LINK_SALT = "buybutton.checkout-link.v1"
MAX_QUANTITY = 99
# How far a published snippet lets the shopper change the quantity (the card's menu and the
# checkout's picker); links minted any other way sell the quantity they carry.
CHOOSABLE_QUANTITY = 10

# Shared with the server, which validates catalog skus and checkout emails the same way.
SKU_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
EMAIL_PATTERN = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s]{2,63}$")
_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/+-]{0,63}$")
SHORT_CODE_PATTERN = re.compile(r"^[A-Za-z0-9]{6,16}$")
# A BCP 47 language tag (``de``, ``de-AT``, ``pt-BR``); the server falls back to the shop's
# default language for one it has no catalog for.
LOCALE_PATTERN = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8}){0,3}$")
# A multi-item link ("shop the look") sells at most this many lines, each SKU once.
MAX_LINES = 20
# Discount codes a link may carry (a creator's code in their post); the checkout applies them.
MAX_CODES = 5
DISCOUNT_CODE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,32}$")  # any case; the checkout upper-cases

# Compact wire names keep links short; the mapping is part of the token format.
_WIRE = {
    "sku": "s",
    "quantity": "q",
    "email": "e",
    "name": "n",
    "source": "src",
    "campaign": "cmp",
    "content": "cnt",
    "expires_at": "x",
    "short_code": "l",
    "min_quantity": "qn",
    "max_quantity": "qx",
    "items": "i",
    "codes": "dc",
    "creator": "cr",
    "locale": "lc",
    "currency": "cy",
}
_FROM_WIRE = {wire: field for field, wire in _WIRE.items()}


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckoutLink:
    """What a checkout link asks for: a product, a quantity, optional pre-fill and attribution.

    ``expires_at`` is a Unix timestamp in seconds, or ``None`` for a link that does not expire.
    The signed ``quantity`` is what the shopper buys, unless the link sets ``min_quantity``
    or ``max_quantity``: then the shopper picks any quantity in that range (``quantity`` is
    the one shown first; a missing bound is 1 or :data:`MAX_QUANTITY`).
    """

    sku: str
    quantity: int = 1
    email: str | None = None
    name: str | None = None
    source: str | None = None
    campaign: str | None = None
    content: str | None = None
    expires_at: int | None = None
    # Set on links that a short link (``/l/{code}``) redirects to: the pre-fill stays in the
    # server's database under that code instead of in the URL.
    short_code: str | None = None
    min_quantity: int | None = None
    max_quantity: int | None = None
    # A multi-item link: every line as ``(sku, quantity)``, 2 to MAX_LINES of them, each
    # quantity binding; ``sku`` and ``quantity`` repeat the first line. None: one product.
    items: tuple[tuple[str, int], ...] | None = None
    # Discount codes to apply at checkout (upper-cased by the checkout; None: none).
    codes: tuple[str, ...] | None = None
    # The creator whose post carries the link (a payee's code, e.g. "anna"): their fee is
    # frozen on the order (server: domain/commissions.py). Attribution, not personal data.
    creator: str | None = None
    # The language of the checkout (``"de"``, ``"de-AT"``) and the currency to charge in
    # when the product has a price in it (its price list; never a conversion).
    locale: str | None = None
    currency: str | None = None

    def __post_init__(self) -> None:
        problem = _problem(self)
        if problem:
            raise ValueError(problem)

    @classmethod
    def for_items(cls, items: Sequence[tuple[str, int]], **fields: Any) -> CheckoutLink:
        """A link for several products, ``[("MUG-01", 2), ("TEE-M", 1)]``; one line makes the
        plain single-product link. Raises ValueError for no lines, more than
        :data:`MAX_LINES`, a SKU given twice or a quantity outside 1..:data:`MAX_QUANTITY`."""
        lines = tuple(_line(item) for item in items)
        if len(lines) > MAX_LINES:
            raise ValueError(f"a link holds at most {MAX_LINES} lines, not {len(lines)}")
        if not lines:
            raise ValueError("items must hold at least one (sku, quantity) line")
        if fields.keys() & {"sku", "quantity", "items", "min_quantity", "max_quantity"}:
            raise ValueError("a link with items takes no sku, quantity or min/max quantity")
        sku, quantity = lines[0]
        return cls(sku=sku, quantity=quantity, items=lines if len(lines) > 1 else None, **fields)

    @property
    def lines(self) -> tuple[tuple[str, int], ...]:
        """Every ``(sku, quantity)`` the link sells: its items, or its one product."""
        return self.items or ((self.sku, self.quantity),)

    def is_expired(self, now: float | None = None) -> bool:
        if self.expires_at is None:
            return False
        return (time.time() if now is None else now) >= self.expires_at

    @property
    def adjustable(self) -> bool:
        """Whether the shopper may change the quantity (within :attr:`quantity_range`)."""
        return self.min_quantity is not None or self.max_quantity is not None

    @property
    def quantity_range(self) -> tuple[int, int]:
        """The lowest and highest quantity this link sells: just ``quantity`` unless the
        link is :attr:`adjustable`."""
        if not self.adjustable:
            return self.quantity, self.quantity
        return self.min_quantity or 1, self.max_quantity or MAX_QUANTITY

    def allows(self, quantity: int) -> bool:
        low, high = self.quantity_range
        return low <= quantity <= high

    def without_personal_data(self) -> CheckoutLink:
        """The same product and attribution with no pre-filled email or name and no expiry."""
        return CheckoutLink(
            sku=self.sku,
            quantity=self.quantity,
            source=self.source,
            campaign=self.campaign,
            content=self.content,
            min_quantity=self.min_quantity,
            max_quantity=self.max_quantity,
            items=self.items,
            codes=self.codes,
            creator=self.creator,
            locale=self.locale,
            currency=self.currency,
        )

    def to_wire(self) -> dict[str, Any]:
        return {_WIRE[k]: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_wire(cls, data: object) -> CheckoutLink:
        if not isinstance(data, Mapping) or not set(data) <= set(_FROM_WIRE):
            raise InvalidLink("payload is not a checkout link")
        fields = {_FROM_WIRE[k]: v for k, v in data.items()}
        try:
            if isinstance(fields.get("items"), list):  # JSON has no tuples
                fields["items"] = tuple(_line(item) for item in fields["items"])
            if isinstance(fields.get("codes"), list):
                fields["codes"] = tuple(fields["codes"])
            return cls(**fields)
        except (TypeError, ValueError) as exc:
            raise InvalidLink(str(exc)) from None


def _line(item: object) -> tuple[str, int]:
    if not isinstance(item, (tuple, list)) or len(item) != 2:
        raise ValueError("each item must be a (sku, quantity) pair")
    sku, quantity = item
    if not isinstance(sku, str) or not SKU_PATTERN.match(sku):
        raise ValueError(f"item sku {sku!r} must be 1-64 letters, digits, '.', '_' or '-'")
    if type(quantity) is not int or not 1 <= quantity <= MAX_QUANTITY:
        raise ValueError(f"{sku}: quantity must be a whole number from 1 to {MAX_QUANTITY}")
    return sku, quantity


def _items_problem(link: CheckoutLink) -> str | None:
    items = link.items
    if items is None:
        return None
    if not isinstance(items, tuple) or not 2 <= len(items) <= MAX_LINES:
        return f"items must hold 2 to {MAX_LINES} lines (one product: use sku and quantity)"
    try:
        lines = [_line(item) for item in items]
    except ValueError as problem:
        return str(problem)
    skus = [sku for sku, _ in lines]
    twice = sorted({sku for sku in skus if skus.count(sku) > 1})
    if twice:
        return f"each sku may appear once in items; {', '.join(twice)} appears more than once"
    if lines[0] != (link.sku, link.quantity):
        return "sku and quantity must repeat the first item"
    if link.min_quantity is not None or link.max_quantity is not None:
        return "a link with items sells each line's quantity: no min_quantity or max_quantity"
    return None


def _codes_problem(codes: object) -> str | None:
    if codes is None:
        return None
    if (
        not isinstance(codes, tuple)
        or not 1 <= len(codes) <= MAX_CODES
        or not all(isinstance(c, str) and DISCOUNT_CODE_PATTERN.match(c) for c in codes)
    ):
        return f"codes must be 1-{MAX_CODES} discount codes of 1-32 letters, digits, _ or -"
    return None


def _problem(link: CheckoutLink) -> str | None:
    found = _items_problem(link) or _codes_problem(link.codes)
    if found:
        return found
    if not isinstance(link.sku, str) or not SKU_PATTERN.match(link.sku):
        return "sku must be 1-64 letters, digits, '.', '_' or '-'"
    if type(link.quantity) is not int or not 1 <= link.quantity <= MAX_QUANTITY:
        return f"quantity must be a whole number from 1 to {MAX_QUANTITY}"
    for bound in (link.min_quantity, link.max_quantity):
        if bound is not None and (type(bound) is not int or not 1 <= bound <= MAX_QUANTITY):
            return f"min_quantity and max_quantity must be whole numbers from 1 to {MAX_QUANTITY}"
    if not link.allows(link.quantity):
        return "quantity must lie between min_quantity and max_quantity"
    email = link.email
    if email is not None and (not isinstance(email, str) or not EMAIL_PATTERN.match(email)):
        return "email is not an email address"
    name = link.name
    if name is not None and (
        not isinstance(name, str) or not 0 < len(name) <= 200 or not name.isprintable()
    ):
        return "name must be 1-200 printable characters"
    for label in ("source", "campaign", "content", "creator"):
        value = getattr(link, label)
        if value is not None and (not isinstance(value, str) or not _LABEL.match(value)):
            return f"{label} must be 1-64 letters, digits or . _ : / + -"
    locale = link.locale
    if locale is not None and (
        not isinstance(locale, str) or len(locale) > 35 or not LOCALE_PATTERN.match(locale)
    ):
        return "locale must be a language tag such as de or de-AT"
    currency = link.currency
    if currency is not None and (not isinstance(currency, str) or not is_currency(currency)):
        return "currency must be an ISO 4217 code such as EUR"
    code = link.short_code
    if code is not None and (not isinstance(code, str) or not SHORT_CODE_PATTERN.match(code)):
        return "short_code must be 6-16 letters or digits"
    if link.expires_at is not None and type(link.expires_at) is not int:
        return "expires_at must be a whole number of seconds"
    return None


class LinkSigner:
    """Signs and verifies checkout-link tokens.

    ``secret_keys`` is a list of keys, newest last. The newest signs; all of them verify.
    """

    def __init__(self, secret_keys: Sequence[str], *, cache_size: int = 0) -> None:
        keys = list(secret_keys)
        if not keys or any(not k for k in keys):
            raise ValueError("at least one non-empty secret key is required")
        self._serializer = URLSafeSerializer(
            keys, salt=CHECKOUT_LINK_SALT, signer_kwargs={"digest_method": hashlib.sha256}
        )
        # Tokens that already passed verification, newest last. A popular link is verified
        # once per process; expiry is still checked on every use, failures are never kept.
        self._verified: OrderedDict[str, CheckoutLink] = OrderedDict()
        self._cache_size = cache_size

    def sign(self, link: CheckoutLink) -> str:
        token = self._serializer.dumps(link.to_wire())
        return token if isinstance(token, str) else token.decode()

    def verify(self, token: str, *, now: float | None = None) -> CheckoutLink:
        """Return the link a token carries.

        Raises :class:`InvalidLink` for anything not signed by one of our keys and
        :class:`ExpiredLink` (carrying the verified link) for a genuine but expired one.
        """
        cached = self._verified.get(token) if self._cache_size else None
        if cached is not None:
            if cached.is_expired(now):
                raise ExpiredLink(cached)
            return cached
        if not isinstance(token, str) or len(token) > 2048:
            raise InvalidLink("token is not a string of reasonable length")
        if not _canonical(token):
            raise InvalidLink("token is not in canonical form")
        try:
            data = self._serializer.loads(token)
        except BadSignature:
            raise InvalidLink("signature does not match") from None
        except Exception:  # itsdangerous may raise decoding errors for mangled tokens
            raise InvalidLink("token does not decode") from None
        link = CheckoutLink.from_wire(data)
        if self._cache_size:
            self._verified[token] = link
            if len(self._verified) > self._cache_size:
                self._verified.popitem(last=False)
        if link.is_expired(now):
            raise ExpiredLink(link)
        return link


def _canonical(token: str) -> bool:
    """True when every segment is base64 spelled the one way we write it.

    The last character of a base64 string can carry unused bits; without this check two
    spellings of one token would both verify.
    """
    segments = token.removeprefix(".").split(".")
    try:
        return all(seg and base64_encode(base64_decode(seg)).decode() == seg for seg in segments)
    except Exception:
        return False
