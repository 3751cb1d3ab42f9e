"""The pricing engine (server/domain/pricing.py) and allocate (server/domain/allocation.py):
examples, bad input, and a property test over random carts, codes, rates and addresses."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from buybutton_server.domain.allocation import allocate
from buybutton_server.domain.checkout_model import (
    MAX_LINES,
    Address,
    CartLine,
    CartProduct,
    DiscountGrant,
    Message,
    Quote,
    Severity,
    ShippingOption,
    TaxClass,
    TaxLine,
    TaxRequest,
    TaxResult,
)
from buybutton_server.domain.pricing import price
from buybutton_server.domain.tax import BuiltinTax
from buybutton_server.errors import InternalError, InvalidInput, Unavailable


def product(sku: str, amount: int, *, currency: str = "EUR", shipped: bool = True) -> CartProduct:
    return CartProduct(
        product_id=len(sku),
        sku=sku,
        title=sku,
        unit_amount=amount,
        currency=currency,
        requires_shipping=shipped,
    )


def run(
    lines: Sequence[CartLine],
    *,
    grants: Sequence[DiscountGrant] = (),
    options: Sequence[ShippingOption] = (),
    selected: str | None = None,
    ship_to: Address | None = None,
    inclusive: bool = False,
    tax: object = None,
) -> Quote:
    return price(
        lines,
        currency=lines[0].product.currency if lines else "EUR",
        grants=grants,
        shipping_options=options,
        selected_shipping_id=selected,
        ship_to=ship_to,
        origin_country="DE",
        prices_include_tax=inclusive,
        tax=tax if tax is not None else BuiltinTax(),  # type: ignore[arg-type]
    )


CHEAP = ShippingOption("cheap", "Letter", 390)
FAST = ShippingOption("fast", "Express", 1290)


# -- examples -------------------------------------------------------------------------------


def test_no_selection_takes_the_cheapest_option() -> None:
    q = run([CartLine(product("A", 1000), 1)], options=[FAST, CHEAP], ship_to=Address("BR"))
    assert q.selected_shipping == CHEAP
    assert q.totals.fulfillment == 390
    assert q.shipping_options == (FAST, CHEAP)


def test_the_selected_option_is_used() -> None:
    q = run([CartLine(product("A", 1000), 1)], options=[CHEAP, FAST], selected="fast")
    assert q.selected_shipping == FAST and q.totals.fulfillment == 1290


def test_a_stale_selection_falls_back_to_the_cheapest_with_a_warning() -> None:
    q = run([CartLine(product("A", 1000), 1)], options=[FAST, CHEAP], selected="gone")
    assert q.selected_shipping == CHEAP
    assert [(m.severity, m.code) for m in q.messages] == [
        (Severity.WARNING, "shipping_option_changed")
    ]
    assert not q.blocked


def test_no_option_for_the_address_blocks_the_checkout() -> None:
    q = run([CartLine(product("A", 1000), 1)], ship_to=Address("AQ"))
    assert [(m.severity, m.code) for m in q.messages] == [
        (Severity.ERROR, "no_shipping_to_country")
    ]
    assert q.blocked and q.selected_shipping is None


def test_no_address_yet_is_not_an_error() -> None:
    assert run([CartLine(product("A", 1000), 1)]).messages == ()


def test_digital_only_carts_need_no_shipping() -> None:
    q = run(
        [CartLine(product("EBOOK", 999, shipped=False), 1)],
        options=[CHEAP],
        ship_to=Address("AQ"),
    )
    assert q.selected_shipping is None and q.shipping_options == ()
    assert q.totals.fulfillment == 0 and q.messages == ()


def test_callers_messages_are_kept_first() -> None:
    warning = Message(Severity.WARNING, "discount_code_invalid", "SUMMER is not a code.")
    q = price(
        [CartLine(product("A", 1000), 1)],
        currency="EUR",
        grants=[],
        shipping_options=[],
        selected_shipping_id=None,
        ship_to=Address("AQ"),
        origin_country="DE",
        prices_include_tax=True,
        tax=BuiltinTax(),
        messages=[warning],
    )
    assert [m.code for m in q.messages] == ["discount_code_invalid", "no_shipping_to_country"]


def test_discounts_are_clamped_to_the_line_and_the_grants_say_what_applied() -> None:
    lines = [CartLine(product("A", 1000), 1), CartLine(product("B", 500), 2)]
    first = DiscountGrant("HALF", "50 %", (500, 500))
    second = DiscountGrant("BIG", "30 off", (1000, 200))
    q = run(lines, grants=[first, second], options=[CHEAP], ship_to=Address("BR"))
    assert [line.discount for line in q.lines] == [1000, 700]
    assert [g.line_amounts for g in q.discounts] == [(500, 500), (500, 200)]
    assert q.totals.discount == 1700
    assert q.totals.total == 2000 - 1700 + 390


def test_free_shipping_takes_shipping_to_zero() -> None:
    free = DiscountGrant("SHIPFREE", "Free shipping", (0,), free_shipping=True)
    q = run([CartLine(product("A", 1000), 1)], grants=[free], options=[FAST], selected="fast")
    assert q.selected_shipping == FAST
    assert q.totals.fulfillment == 0 and q.totals.fulfillment_tax == 0
    assert q.discounts[0].shipping_amount == 1290 and q.discounts[0].amount == 1290


def test_shipping_discounts_never_exceed_shipping() -> None:
    off = DiscountGrant("SHIP5", "5 off shipping", (0,), shipping_amount=500)
    free = DiscountGrant("SHIPFREE", "Free shipping", (0,), free_shipping=True)
    q = run([CartLine(product("A", 1000), 1)], grants=[off, free], options=[CHEAP])
    assert [g.shipping_amount for g in q.discounts] == [390, 0]
    assert q.totals.fulfillment == 0


def test_tax_is_charged_after_the_discount() -> None:
    grant = DiscountGrant("TEN", "10 off", (1000,))
    q = run([CartLine(product("A", 10000), 1)], grants=[grant], ship_to=Address("DE"))
    assert q.lines[0].tax == TaxLine(1900, 1710, "VAT 19%")
    assert q.totals.total == 9000 + 1710


# -- bad input ------------------------------------------------------------------------------


def test_bad_carts_are_refused() -> None:
    with pytest.raises(InvalidInput, match="at least one"):
        run([])
    with pytest.raises(InvalidInput, match="at most 20"):
        run([CartLine(product(f"P{i}", 100), 1) for i in range(MAX_LINES + 1)])
    with pytest.raises(InvalidInput, match="at least 1"):
        run([CartLine(product("A", 100), 0)])
    with pytest.raises(InvalidInput, match="priced in USD"):
        run([CartLine(product("A", 100), 1), CartLine(product("B", 1, currency="USD"), 1)])


def test_malformed_grants_and_options_are_bugs_not_amounts() -> None:
    line = [CartLine(product("A", 100), 1)]
    with pytest.raises(InternalError):
        run(line, grants=[DiscountGrant("X", "x", (1, 2))])
    with pytest.raises(InternalError):
        run(line, grants=[DiscountGrant("X", "x", (-1,))])
    with pytest.raises(InternalError):
        run(line, options=[ShippingOption("x", "x", -1)])


class _Broken:
    name = "broken"

    def __init__(self, result: TaxResult) -> None:
        self.result = result

    def compute(self, request: TaxRequest) -> TaxResult:
        return self.result


def test_a_tax_provider_answering_nonsense_stops_the_checkout() -> None:
    line = [CartLine(product("A", 100), 1)]
    for result in [
        TaxResult(lines=(), shipping=TaxLine(0, 0)),
        TaxResult(lines=(TaxLine(1900, -1),), shipping=TaxLine(0, 0)),
        TaxResult(lines=(TaxLine(1900, 101),), shipping=TaxLine(0, 0), included=True),
    ]:
        with pytest.raises(Unavailable, match="broken"):
            run(line, tax=_Broken(result))


def test_a_provider_that_does_not_say_follows_the_shop() -> None:
    line = [CartLine(product("A", 1000), 1)]
    result = TaxResult(lines=(TaxLine(1000, 91),), shipping=TaxLine(0, 0))
    q = run(line, inclusive=True, tax=_Broken(result))
    assert q.totals.prices_include_tax and q.totals.total == 1000 and q.totals.tax == 91


# -- allocate -------------------------------------------------------------------------------


def test_allocate_examples() -> None:
    assert allocate(1000, [1, 1, 1]) == (334, 333, 333)
    assert allocate(500, [2990, 2400, 0]) == (277, 223, 0)  # 277.37 and 222.63
    assert allocate(0, [0, 0]) == (0, 0)
    assert allocate(0, []) == ()
    with pytest.raises(ValueError, match="zero weights"):
        allocate(7, [0, 0])
    with pytest.raises(ValueError, match="negative"):
        allocate(-1, [1])


@given(
    amount=st.integers(0, 10**9),
    weights=st.lists(st.integers(0, 10**8), min_size=1, max_size=20).filter(any),
)
def test_allocate_sums_exactly_and_stays_under_weights(amount: int, weights: list[int]) -> None:
    shares = allocate(amount, weights)
    assert sum(shares) == amount
    assert all(share >= 0 for share in shares)
    assert all(share == 0 for share, weight in zip(shares, weights, strict=True) if not weight)
    if amount <= sum(weights):
        assert all(share <= weight for share, weight in zip(shares, weights, strict=True))
    exact = [amount * w / sum(weights) for w in weights]
    assert all(abs(s - e) < 1 for s, e in zip(shares, exact, strict=True))


# -- the property test ----------------------------------------------------------------------

CURRENCIES = ["JPY", "EUR", "USD", "GBP", "KWD"]  # 0, 2, 2, 2 and 3 decimals
DESTINATIONS = [
    None,
    Address("DE"),
    Address("FR"),
    Address("HU"),
    Address("GB"),
    Address("CH"),
    Address("JP"),
    Address("AU"),
    Address("US", "CA"),
    Address("US", "MN"),
    Address("US", "OR"),
    Address("US"),
    Address("CA", "QC"),
    Address("CA", "ON"),
    Address("CA", "BC"),
    Address("BR"),
]


@st.composite
def checkouts(draw: st.DrawFn) -> dict[str, object]:
    currency = draw(st.sampled_from(CURRENCIES))
    count = draw(st.integers(1, MAX_LINES))
    lines = [
        CartLine(
            CartProduct(
                product_id=i,
                sku=f"SKU-{i}",
                title=f"Product {i}",
                unit_amount=draw(st.integers(0, 10**7)),
                currency=currency,
                requires_shipping=draw(st.booleans()),
                tax_class=draw(st.sampled_from(list(TaxClass))),
            ),
            draw(st.integers(1, 10)),
        )
        for i in range(count)
    ]
    grants = []
    for n in range(draw(st.integers(0, 3))):
        line_amounts = tuple(draw(st.integers(0, line.subtotal)) for line in lines)
        if draw(st.booleans()):  # a fixed amount split over the lines, as codes do
            subtotals = [line.subtotal for line in lines]
            line_amounts = allocate(draw(st.integers(0, sum(subtotals))), subtotals)
        grants.append(
            DiscountGrant(
                code=f"CODE{n}",
                title=f"Code {n}",
                line_amounts=line_amounts,
                shipping_amount=draw(st.integers(0, 10**5)),
                free_shipping=draw(st.booleans()),
            )
        )
    options = [
        ShippingOption(f"rate-{n}", f"Rate {n}", draw(st.integers(0, 10**5)))
        for n in range(draw(st.integers(0, 4)))
    ]
    selected = draw(st.sampled_from([None, "rate-0", "rate-1", "nowhere"]))
    return {
        "lines": lines,
        "currency": currency,
        "grants": grants,
        "shipping_options": options,
        "selected_shipping_id": selected,
        "ship_to": draw(st.sampled_from(DESTINATIONS)),
        "origin_country": draw(st.sampled_from(["DE", "US", "JP", "GB", "FR"])),
        "prices_include_tax": draw(st.booleans()),
    }


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(checkouts())
def test_invariants_hold_for_any_cart(checkout: dict[str, object]) -> None:
    q = price(tax=BuiltinTax(), **checkout)  # type: ignore[arg-type]
    t = q.totals
    lines: list[CartLine] = checkout["lines"]  # type: ignore[assignment]

    # Sums of the lines are the totals.
    assert t.subtotal == sum(line.subtotal for line in q.lines)
    assert t.subtotal == sum(line.product.unit_amount * line.quantity for line in lines)
    assert t.discount == sum(line.discount for line in q.lines)
    assert t.tax == sum(line.tax.amount for line in q.lines) + t.fulfillment_tax

    # The total formula, for the quote's own mode.
    added = 0 if t.prices_include_tax else t.tax
    assert t.total == t.subtotal - t.discount + t.fulfillment + added

    # What the page shows adds up to what is charged.
    shown = sum(line.total for line in q.lines) + t.fulfillment
    assert t.total == shown + (0 if t.prices_include_tax else t.fulfillment_tax)

    # No negative amounts; a discount never above its line; total >= 0.
    amounts = [t.subtotal, t.discount, t.fulfillment, t.tax, t.fulfillment_tax, t.total]
    for line in q.lines:
        amounts += [line.subtotal, line.discount, line.tax.amount, line.tax.rate_bp, line.total]
        assert line.discount <= line.subtotal
        if t.prices_include_tax:
            assert line.tax.amount <= line.subtotal - line.discount
    assert min(amounts) >= 0
    if t.prices_include_tax:
        assert t.tax <= t.total
        assert t.fulfillment_tax <= t.fulfillment

    # Discounts: the applied grants account for every unit taken off, lines and shipping.
    shipping = q.selected_shipping.amount if q.selected_shipping else 0
    assert 0 <= t.fulfillment <= shipping
    assert sum(g.amount for g in q.discounts) == t.discount + (shipping - t.fulfillment)
    if any(g.free_shipping for g in q.discounts):
        assert t.fulfillment == 0

    # US and Canadian sales taxes are always on top.
    ship_to = checkout["ship_to"]
    if isinstance(ship_to, Address) and ship_to.country in {"US", "CA"}:
        assert not t.prices_include_tax

    # Shipping: chosen when needed and offered, otherwise none.
    needs = any(line.product.requires_shipping for line in lines)
    if not needs or not checkout["shipping_options"]:
        assert q.selected_shipping is None and t.fulfillment == 0
    assert q.blocked == (needs and not checkout["shipping_options"] and ship_to is not None)
