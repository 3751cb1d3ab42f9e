"""Money, numbers and dates in the shopper's locale (issue 16 item 2): Babel's patterns with
OUR ISO 4217 exponents (Babel's own currency digits are wrong for 13 currencies)."""

from __future__ import annotations

from datetime import date

import pytest

from buybutton.money import exponent, format_amount
from buybutton_server.domain import locales
from buybutton_server.domain.locales import Lang, format_date, format_money, format_number

NBSP = "\xa0"
DE, FR, EN = Lang("de", "DE"), Lang("fr"), Lang("en", "US")


def test_euro_in_german_and_french() -> None:
    assert format_money(123450, "EUR", DE) == f"1.234,50{NBSP}€"
    assert format_money(123450, "EUR", FR) == f"1\u202f234,50{NBSP}€"


def test_dollars_in_english_and_yen_without_decimals() -> None:
    assert format_money(123450, "USD", EN) == "$1,234.50"
    assert format_money(1200, "JPY", EN) == "¥1,200"
    assert format_money(1200, "JPY", DE) == f"1.200{NBSP}¥"


def test_iraqi_dinar_keeps_three_decimals() -> None:
    # Babel alone: "IQD12" (it thinks IQD has no minor unit); ISO 4217 says three.
    assert format_money(12345, "IQD", EN) == "IQD12.345"
    assert format_money(12345, "IQD", DE) == f"12,345{NBSP}IQD"


@pytest.mark.parametrize("currency", "AFN ALL IQD IRR KPW LAK LBP MGA MMK RSD SOS SYP YER".split())
def test_the_thirteen_babel_disagrees_on_use_our_exponent(currency: str) -> None:
    shown = format_money(123456, currency, EN)
    places = exponent(currency)
    digits = "".join(c for c in shown if c.isdigit())
    assert digits == "123456", shown  # no digit rounded away
    assert shown.rsplit(".", 1)[-1].isdigit() and len(shown.rsplit(".", 1)[-1]) == places


def test_negative_and_zero_amounts() -> None:
    assert format_money(-500, "EUR", DE) == f"-5,00{NBSP}€"
    assert format_money(0, "USD", EN) == "$0.00"


def test_without_a_language_money_keeps_the_plain_sdk_form() -> None:
    assert locales.CURRENT.get() is None
    assert format_money(2490, "EUR") == format_amount(2490, "EUR") == "€24.90"
    with locales.active(DE):
        assert format_money(2490, "EUR") == f"24,90{NBSP}€"
    assert format_money(2490, "EUR") == "€24.90"


def test_numbers_and_dates() -> None:
    assert format_number(1234567, DE) == "1.234.567"
    assert format_number(1234567, EN) == "1,234,567"
    assert format_date(date(2026, 3, 12), DE) == "12.03.2026"
    assert format_date(date(2026, 3, 12), EN) == "Mar 12, 2026"
