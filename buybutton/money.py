"""Money as integer minor units plus an ISO 4217 currency code.

Amounts never travel as floats. ``parse_amount("24.90", "EUR") == 2490`` and
``format_amount(2490, "EUR") == "€24.90"``.
"""

from __future__ import annotations

import re
from decimal import Decimal

# Active ISO 4217 codes. Minor-unit exponents other than 2 are listed in _EXPONENTS.
CURRENCIES = frozenset(
    """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN
    BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP
    GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS
    KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR
    MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF
    SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD
    TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWG""".split()
)
_EXPONENTS = {
    **dict.fromkeys("BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF".split(), 0),
    **dict.fromkeys("BHD IQD JOD KWD LYD OMR TND".split(), 3),
}
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹", "KRW": "₩"}


def is_currency(code: str) -> bool:
    return code in CURRENCIES


def exponent(currency: str) -> int:
    """How many decimal places the currency's minor unit has (2 for USD, 0 for JPY)."""
    return _EXPONENTS.get(currency, 2)


# A plain decimal in major units: ASCII digits, at most one point, no sign, exponent,
# grouping or inner space. Checked on the text before Decimal sees it, so "1E+999999999",
# "NaN" or ten thousand digits cost a regex match, never a big-number computation.
DIGITS_MAX = 18  # significant digits of an amount: far above any price, far below trouble
TEXT_MAX = 40  # characters of an amount as typed (leading zeros and all)
_PLAIN = re.compile(r"([0-9]*)(?:\.([0-9]*))?")
_NEGATIVE = re.compile(r"-[0-9]*(?:\.[0-9]*)?")


def _shown(text: str) -> str:
    """The typed text for a message: quoted, one line, and short."""
    return repr(text if len(text) <= 24 else text[:20] + "…")


def parse_amount(text: str, currency: str) -> int:
    """Turn a decimal string in major units into minor units, refusing extra precision.

    Only a plain decimal is an amount (``12``, ``12.50``, ``.5``; surrounding spaces are
    ignored): signs, exponents, ``NaN``/``Infinity``, grouping commas, non-ASCII digits and
    more than :data:`DIGITS_MAX` significant digits raise :class:`ValueError`."""
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not a number")
    typed = text.strip()
    if len(typed) > TEXT_MAX:
        raise ValueError(f"{_shown(typed)} is longer than {TEXT_MAX} characters")
    match = _PLAIN.fullmatch(typed)
    if match is None or typed in ("", "."):
        if _NEGATIVE.fullmatch(typed) and typed.strip("-.") != "":
            raise ValueError(f"{_shown(typed)} is not a price")
        raise ValueError(f"{_shown(typed)} is not a number")
    whole, fraction = match[1].lstrip("0"), (match[2] or "").rstrip("0")
    places = exponent(currency)
    if len(fraction) > places:
        raise ValueError(f"{_shown(typed)} has more decimals than {currency} allows ({places})")
    if len(whole) + places > DIGITS_MAX:
        raise ValueError(f"{_shown(typed)} is too large")
    minor = Decimal(f"{whole or '0'}.{fraction or '0'}").scaleb(places)
    return int(minor)


def format_amount(amount: int, currency: str) -> str:
    """A short human form: ``$24.00``, ``¥1200``, ``12.500 KWD``."""
    places = exponent(currency)
    number = f"{Decimal(amount).scaleb(-places):,.{places}f}"
    symbol = _SYMBOLS.get(currency)
    return f"{symbol}{number}" if symbol else f"{number} {currency}"


def decimal_string(amount: int, currency: str) -> str:
    """The amount in major units with no symbol or grouping: ``24.00``, ``1200``."""
    places = exponent(currency)
    return f"{Decimal(amount).scaleb(-places):.{places}f}"
