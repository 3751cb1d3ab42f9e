"""What shopping channels ask of a product: brand, GTIN, MPN, condition and Google product
category. The rules (``check_*``) are the one definition: the CSV/JSON import, the API and
the admin form refuse the same things with the same words, each raising
:class:`InvalidInput`. A GTIN's check digit is verified with python-stdnum.
"""

from __future__ import annotations

from stdnum import ean
from stdnum.exceptions import ValidationError

from buybutton_server.errors import InvalidInput

BRAND_MAX, MPN_MAX, CATEGORY_MAX = 70, 70, 250
CONDITIONS = ("new", "refurbished", "used")
# The columns, as the import, the API and the form name them.
FEED_COLUMNS = ("brand", "gtin", "mpn", "condition", "google_category")
_GTIN_LENGTHS = (8, 12, 13, 14)


def _clean(name: str, value: str, limit: int) -> str | None:
    value = " ".join(value.split())
    if "\x00" in value:
        raise InvalidInput(f"{name} must not contain NUL characters (U+0000)")
    if len(value) > limit:
        raise InvalidInput(f"{name} is longer than {limit} characters")
    return value or None


def check_brand(value: str) -> str | None:
    """The brand as the channel shows it; empty clears it."""
    return _clean("brand", value, BRAND_MAX)


def check_mpn(value: str) -> str | None:
    """The manufacturer's part number; empty clears it."""
    return _clean("mpn", value, MPN_MAX)


def check_google_category(value: str) -> str | None:
    """A Google product category: its numeric id ("2920") or its path ("Home & Garden >
    Kitchen & Dining > Kitchen Tools & Utensils"); empty clears it."""
    return _clean("google_category", value, CATEGORY_MAX)


def check_condition(value: str) -> str:
    """new, refurbished or used (empty: new)."""
    value = value.strip().lower() or "new"
    if value not in CONDITIONS:
        raise InvalidInput(f"condition must be one of {', '.join(CONDITIONS)}, got {value!r:.40}")
    return value


def check_gtin(value: str) -> str | None:
    """A GTIN-8, -12 (UPC), -13 (EAN) or -14 with a correct check digit; spaces and dashes
    are dropped, the digits kept as given. Empty clears it."""
    digits = "".join(value.split()).replace("-", "")
    if not digits:
        return None
    if not (digits.isascii() and digits.isdecimal()) or len(digits) not in _GTIN_LENGTHS:
        raise InvalidInput(f"gtin must be 8, 12, 13 or 14 digits, got {value!r:.40}")
    try:
        ean.validate(digits)
    except ValidationError:
        raise InvalidInput(f"gtin {digits} has a wrong check digit") from None
    return digits


RULES = {
    "brand": check_brand,
    "gtin": check_gtin,
    "mpn": check_mpn,
    "condition": check_condition,
    "google_category": check_google_category,
}


def check_feed_fields(raw: dict[str, str]) -> dict[str, str | None]:
    """The given feed columns of ``raw`` (text), each checked; every problem is listed in
    one :class:`InvalidInput` ("gtin ...; brand ...")."""
    checked: dict[str, str | None] = {}
    problems: list[str] = []
    for name, value in raw.items():
        try:
            checked[name] = RULES[name](value)
        except InvalidInput as problem:
            problems.append(problem.message)
    if problems:
        raise InvalidInput("; ".join(problems))
    return checked
