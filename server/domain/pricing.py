"""The pricing engine: a cart, the codes that apply, the shipping options and an address in;
a :class:`~.checkout_model.Quote` out. Pure: no database, no clock, no network (except what
the tax provider does). The invariants it keeps are in :mod:`.checkout_model`'s docstring;
tests/test_pricing.py checks them over random carts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from buybutton_server.domain.checkout_model import (
    MAX_LINES,
    Address,
    CartLine,
    DiscountGrant,
    Message,
    PricedLine,
    Quote,
    Severity,
    ShippingOption,
    TaxProvider,
    TaxRequest,
    TaxResult,
    Totals,
)
from buybutton_server.errors import InternalError, InvalidInput, Unavailable

NO_SHIPPING_TO_COUNTRY = "no_shipping_to_country"
SHIPPING_OPTION_CHANGED = "shipping_option_changed"


def price(
    lines: Sequence[CartLine],
    *,
    currency: str,
    grants: Sequence[DiscountGrant],
    shipping_options: Sequence[ShippingOption],
    selected_shipping_id: str | None,
    ship_to: Address | None,
    origin_country: str,
    prices_include_tax: bool,
    tax: TaxProvider,
    messages: Sequence[Message] = (),
) -> Quote:
    """Price a cart, in this order:

    1. Line subtotals (``unit_amount * quantity``).
    2. Discounts per line from ``grants``, applied in the order given. A grant's
       ``line_amounts`` has one entry per line. A line's discounts together never exceed its
       subtotal: a grant's amount on a line is cut to what is left of it, and the quote
       carries the grants as applied, so the sum of ``quote.discounts`` amounts is always
       ``totals.discount`` plus what came off shipping.
    3. Shipping, when a line needs it: the selected option, else the cheapest. An unknown
       ``selected_shipping_id`` (say, after the address changed) falls back to the cheapest
       with a warning. No options for an address: an error message
       ``no_shipping_to_country`` (the quote is ``blocked``).
    4. Shipping discounts: a free-shipping grant takes shipping to zero; other grants'
       ``shipping_amount`` likewise cut to what is left. ``totals.fulfillment`` is the
       shipping charged after them.
    5. Tax from ``tax`` on what each line costs after its discount, and on shipping.
    6. Totals: ``subtotal - discount + fulfillment``, plus ``tax`` when the tax is added on
       top (``totals.prices_include_tax`` says which; the provider decides per address).

    Raises ``InvalidInput`` for a cart no checkout may hold (no lines, over ``MAX_LINES``, a
    quantity below 1, a product in another currency), ``InternalError`` when a grant or a
    shipping option is malformed (a bug upstream), and ``Unavailable`` when the tax provider
    cannot answer or answers nonsense: never a wrong amount.
    """
    _check_cart(lines, currency)
    subtotals = [line.subtotal for line in lines]
    grants, line_discounts = _apply_to_lines(grants, subtotals)
    notes = list(messages)
    needs_shipping = any(line.product.requires_shipping for line in lines)
    options = tuple(shipping_options) if needs_shipping else ()
    selected = None
    if needs_shipping:
        selected = _select_shipping(options, selected_shipping_id, ship_to, notes)
    shipping = selected.amount if selected is not None else 0
    grants, shipping_discount = _apply_to_shipping(grants, shipping)
    fulfillment = shipping - shipping_discount
    amounts = tuple(s - d for s, d in zip(subtotals, line_discounts, strict=True))
    request = TaxRequest(
        currency=currency,
        prices_include_tax=prices_include_tax,
        ship_to=ship_to,
        origin_country=origin_country,
        lines=tuple(lines),
        line_amounts=amounts,
        shipping_amount=fulfillment,
    )
    result = tax.compute(request)
    _check_tax(result, request, tax.name)
    included = prices_include_tax if result.included is None else result.included
    priced = tuple(
        PricedLine(
            sku=line.product.sku,
            title=line.product.title,
            quantity=line.quantity,
            unit_amount=line.product.unit_amount,
            subtotal=subtotal,
            discount=discount,
            tax=line_tax,
            total=subtotal - discount + (0 if included else line_tax.amount),
        )
        for line, subtotal, discount, line_tax in zip(
            lines, subtotals, line_discounts, result.lines, strict=True
        )
    )
    subtotal, discount, tax_amount = sum(subtotals), sum(line_discounts), result.amount
    total = subtotal - discount + fulfillment + (0 if included else tax_amount)
    totals = Totals(
        subtotal=subtotal,
        discount=discount,
        fulfillment=fulfillment,
        tax=tax_amount,
        total=total,
        fulfillment_tax=result.shipping.amount,
        prices_include_tax=included,
    )
    return Quote(
        currency=currency,
        lines=priced,
        totals=totals,
        shipping_options=options,
        selected_shipping=selected,
        discounts=grants,
        messages=tuple(notes),
    )


def _check_cart(lines: Sequence[CartLine], currency: str) -> None:
    if not lines:
        raise InvalidInput("Add at least one product to the checkout.")
    if len(lines) > MAX_LINES:
        raise InvalidInput(f"A checkout can hold at most {MAX_LINES} different products.")
    for line in lines:
        if line.quantity < 1:
            raise InvalidInput(f"The quantity of {line.product.sku} must be at least 1.")
        if line.product.currency != currency:
            raise InvalidInput(
                f"{line.product.sku} is priced in {line.product.currency}, not {currency}: "
                "one checkout takes products of one currency."
            )
        if line.product.unit_amount < 0:
            raise InternalError()


def _apply_to_lines(
    grants: Sequence[DiscountGrant], subtotals: Sequence[int]
) -> tuple[tuple[DiscountGrant, ...], list[int]]:
    left = list(subtotals)
    applied: list[DiscountGrant] = []
    for grant in grants:
        if len(grant.line_amounts) != len(subtotals) or min(grant.line_amounts, default=0) < 0:
            raise InternalError()
        if grant.shipping_amount < 0:
            raise InternalError()
        taken = tuple(
            min(amount, rest) for amount, rest in zip(grant.line_amounts, left, strict=True)
        )
        left = [rest - take for rest, take in zip(left, taken, strict=True)]
        applied.append(replace(grant, line_amounts=taken))
    return tuple(applied), [s - rest for s, rest in zip(subtotals, left, strict=True)]


def _apply_to_shipping(
    grants: Sequence[DiscountGrant], shipping: int
) -> tuple[tuple[DiscountGrant, ...], int]:
    left = shipping
    applied: list[DiscountGrant] = []
    for grant in grants:
        take = left if grant.free_shipping else min(grant.shipping_amount, left)
        left -= take
        applied.append(replace(grant, shipping_amount=take))
    return tuple(applied), shipping - left


def _select_shipping(
    options: tuple[ShippingOption, ...],
    selected_id: str | None,
    ship_to: Address | None,
    notes: list[Message],
) -> ShippingOption | None:
    if any(option.amount < 0 for option in options):
        raise InternalError()
    if not options:
        said = any(note.code == NO_SHIPPING_TO_COUNTRY for note in notes)
        if ship_to is not None and not said:
            notes.append(
                Message(
                    Severity.ERROR,
                    NO_SHIPPING_TO_COUNTRY,
                    "We can't ship these items to that address. Please choose another one.",
                )
            )
        return None
    cheapest = min(options, key=lambda option: option.amount)
    if selected_id is None:
        return cheapest
    for option in options:
        if option.id == selected_id:
            return option
    notes.append(
        Message(
            Severity.WARNING,
            SHIPPING_OPTION_CHANGED,
            f"The shipping you chose is not available for this address; we picked "
            f"{cheapest.title} instead.",
        )
    )
    return cheapest


def _check_tax(result: TaxResult, request: TaxRequest, provider: str) -> None:
    included = request.prices_include_tax if result.included is None else result.included
    sound = len(result.lines) == len(request.lines)
    if sound:
        pairs = [*zip(result.lines, request.line_amounts, strict=True)]
        pairs.append((result.shipping, request.shipping_amount))
        sound = all(
            tax.amount >= 0 and tax.rate_bp >= 0 and not (included and tax.amount > amount)
            for tax, amount in pairs
        )
    if not sound:
        raise Unavailable(
            f"We could not work out the tax ({provider}). Nothing was charged; please try "
            "again in a few minutes."
        )
