"""Tax from the built-in table (:mod:`.tax_rates`): ``BuiltinTax`` is the default
:class:`~.checkout_model.TaxProvider`. The rules, the rounding and worked examples are in
docs/tax.md; tests/test_tax.py reproduces those examples.

In short: tax where the goods go (the shop's own country when there is no address); VAT and
GST countries follow the shop's ``prices_include_tax``, US and Canadian sales taxes are added
on top; one rounding per line, half up to the minor unit; countries outside the table: no tax.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from buybutton_server.domain.checkout_model import (
    TaxClass,
    TaxLine,
    TaxRequest,
    TaxResult,
)
from buybutton_server.domain.tax_rates import (
    CA_GST,
    CA_PROVINCE_TAXES,
    EU,
    SALES_TAX_COUNTRIES,
    US_STATE_RATES,
    VAT_RATES,
    Parts,
)

_BP = 10_000  # basis points in 1


@dataclass(frozen=True, slots=True)
class Rate:
    """The tax one line pays: its parts in basis points (one part, or GST + PST in Canada)."""

    parts: Parts

    @property
    def total(self) -> Fraction:
        return sum((rate for _, rate in self.parts), Fraction(0))

    @property
    def rate_bp(self) -> int:
        """The rate in whole basis points, for ``TaxLine.rate_bp`` (rounded half up: four US
        states and Québec have rates with half a basis point; the label is exact)."""
        return round_half_up(self.total)

    @property
    def label(self) -> str:
        if not self.total:
            return "No tax"
        return " + ".join(f"{name} {percent(rate)}%" for name, rate in self.parts)


NO_TAX = Rate(())


def round_half_up(value: Fraction) -> int:
    """Round a non-negative amount to a whole minor unit, halves up (0.5 -> 1)."""
    return (2 * value.numerator + value.denominator) // (2 * value.denominator)


def percent(rate_bp: Fraction) -> str:
    """``1900`` -> ``"19"``, ``550`` -> ``"5.5"``, ``997.5`` -> ``"9.975"``."""
    value = Decimal(rate_bp.numerator) / Decimal(rate_bp.denominator) / 100
    return format(value.normalize(), "f")


def tax_on(amount: int, rate: Rate, *, included: bool) -> int:
    """The tax on one line. Added on top: ``round(amount * r)`` for each part. Included
    (``amount`` is gross): ``amount - round(amount / (1 + r))``."""
    if amount <= 0 or not rate.total:
        return 0
    if included:
        return amount - round_half_up(Fraction(amount) / (1 + rate.total / _BP))
    return sum(round_half_up(amount * part / _BP) for _, part in rate.parts)


def added_on_top(country: str) -> bool:
    """US and Canadian sales taxes are always added to the price, whatever the shop's
    setting; VAT and GST countries follow the shop."""
    return country in SALES_TAX_COUNTRIES


def in_table(country: str) -> bool:
    return country in VAT_RATES or country in SALES_TAX_COUNTRIES


def rate_for(country: str, region: str, tax_class: TaxClass) -> Rate:
    """The rate a product of ``tax_class`` pays when it goes to ``country`` (ISO 3166-1
    alpha-2) and ``region`` (state or province code, ``CA`` or ``US-CA``).

    ``reduced`` falls back to the standard rate where the country has none; ``digital``
    pays the standard rate of where the buyer is (the EU's rule for e-services; elsewhere the
    table has no special digital rate). Outside the table: no tax."""
    country = country.strip().upper()
    region = region.strip().upper().removeprefix(f"{country}-")
    if tax_class is TaxClass.ZERO:
        return NO_TAX
    if country == "US":
        # The state's base rate; reduced rates for food and exemptions are not modelled.
        state = US_STATE_RATES.get(region)
        return Rate((("Sales tax", state),)) if state else NO_TAX
    if country == "CA":
        return Rate(CA_PROVINCE_TAXES.get(region, (("GST", CA_GST),)))
    row = VAT_RATES.get(country)
    if row is None:
        return NO_TAX
    name, standard, reduced = row
    if tax_class is TaxClass.REDUCED and reduced is not None:
        return Rate(((name, reduced),))
    return Rate(((name, standard),))


def is_eu(country: str) -> bool:
    return country.strip().upper() in EU


class BuiltinTax:
    """The built-in table as a :class:`~.checkout_model.TaxProvider`.

    - Where: ``request.ship_to``, or the shop's ``origin_country`` when there is no address
      (digital goods, pickup).
    - Included or on top: the shop's ``prices_include_tax`` for VAT/GST countries; always on
      top for the US and Canada (the result says which, in ``TaxResult.included``).
    - Shipping pays the rate of the goods shipped; when they pay different rates, the
      standard rate. In the US shipping is not taxed (a simplification: some states do).
    - Rounding: per line and for shipping, half up to the minor unit.
    """

    name = "builtin"

    def compute(self, request: TaxRequest) -> TaxResult:
        if request.ship_to is not None:
            country, region = request.ship_to.country, request.ship_to.region
        else:
            country, region = request.origin_country, ""
        country = country.strip().upper()
        included = request.prices_include_tax and not added_on_top(country)
        rates = [rate_for(country, region, line.product.tax_class) for line in request.lines]
        lines = tuple(
            TaxLine(rate.rate_bp, tax_on(amount, rate, included=included), rate.label)
            for rate, amount in zip(rates, request.line_amounts, strict=True)
        )
        shipping_rate = self._shipping_rate(request, country, region, rates)
        shipping = TaxLine(
            shipping_rate.rate_bp,
            tax_on(request.shipping_amount, shipping_rate, included=included),
            shipping_rate.label,
        )
        return TaxResult(lines=lines, shipping=shipping, included=included)

    @staticmethod
    def _shipping_rate(request: TaxRequest, country: str, region: str, rates: list[Rate]) -> Rate:
        if country == "US":
            return NO_TAX
        shipped = {
            rate
            for rate, line in zip(rates, request.lines, strict=True)
            if line.product.requires_shipping
        }
        if len(shipped) == 1:
            return shipped.pop()
        return rate_for(country, region, TaxClass.STANDARD)
