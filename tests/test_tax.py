"""The built-in tax table (server/domain/tax.py): the worked examples of docs/tax.md, exactly,
and the rules by destination."""

from __future__ import annotations

from fractions import Fraction

import pytest

from buybutton_server.domain.checkout_model import (
    Address,
    CartLine,
    CartProduct,
    DiscountGrant,
    Quote,
    ShippingOption,
    TaxClass,
    TaxLine,
    TaxRequest,
)
from buybutton_server.domain.pricing import price
from buybutton_server.domain.tax import BuiltinTax, Rate, rate_for, round_half_up, tax_on
from buybutton_server.domain.tax_rates import EU, VAT_RATES

STANDARD, REDUCED, ZERO, DIGITAL = TaxClass

EU_27 = set(
    "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK".split()
)


def product(
    sku: str,
    amount: int,
    currency: str = "EUR",
    tax_class: TaxClass = STANDARD,
    *,
    shipped: bool = True,
) -> CartProduct:
    return CartProduct(
        product_id=len(sku),
        sku=sku,
        title=sku.title(),
        unit_amount=amount,
        currency=currency,
        requires_shipping=shipped,
        tax_class=tax_class,
    )


def quote(
    lines: list[CartLine],
    *,
    ship_to: Address | None,
    shipping: int | None = None,
    origin: str = "DE",
    inclusive: bool = True,
) -> Quote:
    currency = lines[0].product.currency
    options = [] if shipping is None else [ShippingOption("standard", "Standard", shipping)]
    return price(
        lines,
        currency=currency,
        grants=[],
        shipping_options=options,
        selected_shipping_id=None,
        ship_to=ship_to,
        origin_country=origin,
        prices_include_tax=inclusive,
        tax=BuiltinTax(),
    )


# -- the worked examples of docs/tax.md ----------------------------------------------------


def test_example_germany_inclusive_with_a_book_and_shipping() -> None:
    q = quote(
        [CartLine(product("TEE", 2990), 1), CartLine(product("BOOK", 2400, tax_class=REDUCED), 1)],
        ship_to=Address("DE"),
        shipping=490,
    )
    assert [line.tax for line in q.lines] == [
        TaxLine(1900, 477, "VAT 19%"),
        TaxLine(700, 157, "VAT 7%"),
    ]
    assert [line.total for line in q.lines] == [2990, 2400]
    t = q.totals
    assert (t.subtotal, t.discount, t.fulfillment, t.tax, t.fulfillment_tax, t.total) == (
        5390,
        0,
        490,
        712,
        78,
        5880,
    )
    assert t.prices_include_tax


def test_example_france_inclusive_after_a_discount_rounds_half_up() -> None:
    q = price(
        [CartLine(product("PRINT", 2495), 2)],
        currency="EUR",
        grants=[DiscountGrant("TEN", "10 % off", (499,))],
        shipping_options=[ShippingOption("standard", "Standard", 390)],
        selected_shipping_id=None,
        ship_to=Address("FR"),
        origin_country="DE",
        prices_include_tax=True,
        tax=BuiltinTax(),
    )
    # 44.91 / 1.2 = 37.425 -> 37.43 net, so 7.48 VAT; shipping 3.90 / 1.2 = 3.25 -> 0.65.
    assert q.lines[0].tax == TaxLine(2000, 748, "VAT 20%")
    t = q.totals
    assert (t.subtotal, t.discount, t.fulfillment, t.tax, t.fulfillment_tax, t.total) == (
        4990,
        499,
        390,
        813,
        65,
        4881,
    )


def test_example_reduced_rates() -> None:
    assert tax_on(2400, rate_for("DE", "", REDUCED), included=True) == 157
    assert tax_on(1850, rate_for("FR", "", REDUCED), included=True) == 96
    assert rate_for("FR", "", REDUCED).label == "VAT 5.5%"


def test_example_zero_rated_book_in_great_britain() -> None:
    q = quote(
        [
            CartLine(product("BOOK", 1299, "GBP", ZERO), 1),
            CartLine(product("MUG", 1500, "GBP"), 1),
        ],
        ship_to=Address("GB"),
        shipping=350,
        origin="GB",
    )
    assert [line.tax for line in q.lines] == [
        TaxLine(0, 0, "No tax"),
        TaxLine(2000, 250, "VAT 20%"),
    ]
    # Mixed rates: shipping pays the standard rate. 3.50 / 1.2 = 2.9167 -> 2.92, VAT 0.58.
    assert (q.totals.tax, q.totals.fulfillment_tax, q.totals.total) == (308, 58, 3149)


def test_example_california_exclusive() -> None:
    q = quote(
        [CartLine(product("TEE", 4999, "USD"), 1), CartLine(product("MUG", 1000, "USD"), 1)],
        ship_to=Address("US", "CA"),
        shipping=500,
        origin="US",
        inclusive=False,
    )
    # 49.99 x 7.25 % = 3.6243 -> 3.62; 10.00 x 7.25 % = 0.725 -> 0.73 (half up).
    assert [line.tax.amount for line in q.lines] == [362, 73]
    assert [line.total for line in q.lines] == [5361, 1073]
    assert q.lines[0].tax.label == "Sales tax 7.25%"
    t = q.totals
    assert (t.subtotal, t.fulfillment, t.tax, t.fulfillment_tax, t.total) == (
        5999,
        500,
        435,
        0,
        6934,
    )
    assert not t.prices_include_tax


def test_example_japan_yen_has_no_minor_unit() -> None:
    q = quote(
        [
            CartLine(product("TEA", 2980, "JPY"), 1),
            CartLine(product("SNACK", 1080, "JPY", REDUCED), 1),
        ],
        ship_to=Address("JP"),
        shipping=800,
        origin="JP",
    )
    assert [line.tax for line in q.lines] == [
        TaxLine(1000, 271, "Consumption tax 10%"),
        TaxLine(800, 80, "Consumption tax 8%"),
    ]
    assert (q.totals.tax, q.totals.fulfillment_tax, q.totals.total) == (424, 73, 4860)


def test_example_quebec_two_taxes_each_rounded() -> None:
    rate = rate_for("CA", "QC", STANDARD)
    assert rate.label == "GST 5% + QST 9.975%"
    assert rate.rate_bp == 1498
    # GST 29.99 x 5 % = 1.4995 -> 1.50; QST 29.99 x 9.975 % = 2.9915 -> 2.99.
    assert tax_on(2999, rate, included=False) == 449


# -- the rules ------------------------------------------------------------------------------


def test_rounding_is_half_up() -> None:
    assert round_half_up(Fraction(5, 2)) == 3
    assert round_half_up(Fraction(249, 100)) == 2
    assert round_half_up(Fraction(0)) == 0
    assert tax_on(1000, Rate((("VAT", Fraction(2500)),)), included=True) == 200


def test_every_eu_country_is_in_the_table() -> None:
    assert set(EU) == EU_27
    for country in EU_27:
        name, standard, reduced = VAT_RATES[country]
        assert name == "VAT"
        assert 1500 <= standard <= 2700, country  # the EU's floor is 15 %
        assert reduced is None or reduced < standard, country
        assert rate_for(country, "", STANDARD).rate_bp == standard
        assert rate_for(country, "", DIGITAL) == rate_for(country, "", STANDARD)


@pytest.mark.parametrize(
    ("country", "standard"),
    [("GB", 2000), ("CH", 810), ("NO", 2500), ("IS", 2400), ("AU", 1000), ("NZ", 1500)],
)
def test_other_vat_and_gst_countries(country: str, standard: int) -> None:
    assert rate_for(country, "", STANDARD).rate_bp == standard


def test_reduced_falls_back_to_standard_where_there_is_none() -> None:
    assert rate_for("DK", "", REDUCED) == rate_for("DK", "", STANDARD)
    assert rate_for("AU", "", REDUCED).label == "GST 10%"
    assert rate_for("US", "TX", REDUCED).label == "Sales tax 6.25%"


def test_zero_class_pays_nothing_anywhere() -> None:
    for country, region in [("DE", ""), ("US", "CA"), ("CA", "QC"), ("JP", "")]:
        assert rate_for(country, region, ZERO).rate_bp == 0


@pytest.mark.parametrize(
    ("region", "label", "rate_bp"),
    [
        ("CA", "Sales tax 7.25%", 725),
        ("us-ca", "Sales tax 7.25%", 725),
        ("US-CA", "Sales tax 7.25%", 725),
        ("NY", "Sales tax 4%", 400),
        ("MN", "Sales tax 6.875%", 688),
        ("OR", "No tax", 0),
        ("", "No tax", 0),
        ("ZZ", "No tax", 0),
    ],
)
def test_us_taxes_by_state(region: str, label: str, rate_bp: int) -> None:
    rate = rate_for("US", region, STANDARD)
    assert (rate.label, rate.rate_bp) == (label, rate_bp)


@pytest.mark.parametrize(
    ("region", "label"),
    [
        ("ON", "HST 13%"),
        ("NS", "HST 14%"),
        ("BC", "GST 5% + PST 7%"),
        ("QC", "GST 5% + QST 9.975%"),
        ("AB", "GST 5%"),
        ("", "GST 5%"),
    ],
)
def test_canada_taxes_by_province(region: str, label: str) -> None:
    assert rate_for("CA", region, STANDARD).label == label


def test_countries_outside_the_table_pay_no_tax() -> None:
    q = quote([CartLine(product("TEE", 2990), 1)], ship_to=Address("BR"), shipping=990)
    assert q.totals.tax == 0
    assert q.lines[0].tax == TaxLine(0, 0, "No tax")
    assert q.totals.total == 3980


def test_sales_tax_is_added_on_top_even_for_an_inclusive_shop() -> None:
    # A German shop with gross prices sells to New York: the state's 4 % comes on top.
    q = quote([CartLine(product("TEE", 2990), 1)], ship_to=Address("US", "NY"), shipping=490)
    assert not q.totals.prices_include_tax
    assert q.lines[0].tax.amount == 120
    assert q.totals.fulfillment_tax == 0  # shipping is not taxed in the US table
    assert q.totals.total == 2990 + 490 + 120


def test_vat_follows_the_shop_setting() -> None:
    lines = [CartLine(product("TEE", 10000, "USD"), 1)]
    on_top = quote(lines, ship_to=Address("DE"), origin="US", inclusive=False)
    assert (on_top.totals.tax, on_top.totals.total, on_top.totals.prices_include_tax) == (
        1900,
        11900,
        False,
    )
    included = quote(lines, ship_to=Address("DE"), origin="US", inclusive=True)
    assert (included.totals.tax, included.totals.total) == (1597, 10000)


def test_the_same_gross_price_carries_each_countrys_vat() -> None:
    lines = [CartLine(product("TEE", 2990), 1)]
    assert quote(lines, ship_to=Address("DE")).totals.tax == 477
    assert quote(lines, ship_to=Address("FR")).totals.tax == 498
    assert quote(lines, ship_to=Address("HU")).totals.tax == 636
    assert {quote(lines, ship_to=Address(c)).totals.total for c in ("DE", "FR", "HU")} == {2990}


def test_digital_goods_without_an_address_are_taxed_at_the_shops_country() -> None:
    ebook = product("EBOOK", 999, tax_class=DIGITAL, shipped=False)
    q = quote([CartLine(ebook, 1)], ship_to=None, origin="DE")
    assert q.lines[0].tax == TaxLine(1900, 160, "VAT 19%")
    assert q.selected_shipping is None and q.totals.fulfillment == 0
    # With an address, the buyer's country: an Austrian buyer pays Austria's 20 %.
    assert quote([CartLine(ebook, 1)], ship_to=Address("AT")).lines[0].tax.rate_bp == 2000


def test_shipping_follows_the_goods_rate_when_they_share_one() -> None:
    books = [CartLine(product("BOOK", 2400, tax_class=REDUCED), 2)]
    q = quote(books, ship_to=Address("DE"), shipping=490)
    # 4.90 / 1.07 = 4.5794 -> 4.58, VAT 0.32: the books' 7 %, not the standard rate.
    assert q.totals.fulfillment_tax == 32
    # A digital line needs no shipping and does not change the shipping's rate.
    mixed = [*books, CartLine(product("EBOOK", 999, tax_class=DIGITAL, shipped=False), 1)]
    assert quote(mixed, ship_to=Address("DE"), shipping=490).totals.fulfillment_tax == 32


def test_canadian_shipping_is_taxed_on_top() -> None:
    q = quote(
        [CartLine(product("TEE", 2999, "CAD"), 1)],
        ship_to=Address("CA", "ON"),
        shipping=1000,
        origin="CA",
        inclusive=True,
    )
    assert not q.totals.prices_include_tax
    assert (q.lines[0].tax.amount, q.totals.fulfillment_tax) == (390, 130)
    assert q.totals.total == 2999 + 1000 + 390 + 130


def test_the_provider_answers_one_line_per_line() -> None:
    lines = (CartLine(product("A", 100), 1), CartLine(product("B", 200, tax_class=ZERO), 3))
    result = BuiltinTax().compute(
        TaxRequest(
            currency="EUR",
            prices_include_tax=False,
            ship_to=Address("de"),
            origin_country="DE",
            lines=lines,
            line_amounts=(100, 600),
            shipping_amount=0,
        )
    )
    assert [line.amount for line in result.lines] == [19, 0]
    assert result.included is False
    assert BuiltinTax.name == "builtin"
