"""The amount charged is the total shown, always (issue 13, item 10): random carts, zones,
rates, codes, addresses and tax settings, each order placed through ``place_order`` and paid
through the test provider; the charge, the order row, the API and the ``order.paid`` webhook
agree, and the parts add up per order and per line."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton_server.db import write_session
from buybutton_server.db.models import (
    Order,
    ShippingRate,
    ShippingRateBracket,
    ShippingZone,
    ShippingZoneArea,
)
from buybutton_server.domain.orders import Shopper
from buybutton_server.errors import InvalidInput
from tests.conftest import add_product
from tests.test_totals_everywhere import (
    RecordingProvider,
    api_client,
    code,
    place_and_pay,
    tax_settings,
    webhook_order,
)

ADDRESSES = {
    "DE": Shopper(email="a@example.com", name="A", line1="Unter den Linden 1", city="Berlin",
                  postal_code="10117", country="DE"),
    "FR": Shopper(email="b@example.com", name="B", line1="1 Rue de Rivoli", city="Paris",
                  postal_code="75001", country="FR"),
    "US-CA": Shopper(email="c@example.com", name="C", line1="1 Market Street",
                     city="San Francisco", postal_code="94105", country="US", region="CA"),
    "US-NY": Shopper(email="d@example.com", name="D", line1="350 Fifth Avenue", city="New York",
                     postal_code="10118", country="US", region="NY"),
    "JP": Shopper(email="e@example.com", name="E", line1="1-1 Chiyoda", city="Chiyoda-ku",
                  postal_code="100-0001", country="JP", region="Tokyo"),
}  # fmt: skip
AREAS = ["DE", "FR", "US", "US/CA", "JP"]

products = st.lists(
    st.tuples(
        st.integers(1, 50_000),  # price, cents
        st.integers(1, 4),  # quantity
        st.sampled_from(["standard", "reduced", "zero", "digital"]),
        st.integers(0, 5_000),  # grams
    ),
    min_size=1,
    max_size=5,
)
rates = st.one_of(
    st.tuples(st.just("flat"), st.integers(0, 2_000), st.none()),
    st.tuples(st.just("free_over"), st.integers(0, 2_000), st.integers(0, 20_000)),
    st.tuples(st.just("weight"), st.integers(0, 2_000), st.none()),
)
# Each area in at most one of three zones (an area belongs to one zone), each with a rate.
zones = st.tuples(
    st.lists(st.one_of(st.none(), st.integers(0, 2)), min_size=len(AREAS), max_size=len(AREAS)),
    st.lists(rates, min_size=3, max_size=3),
).map(
    lambda spec: [
        ([a for a, z in zip(AREAS, spec[0], strict=True) if z == number], spec[1][number])
        for number in range(3)
        if number in spec[0]
    ]
)
codes = st.lists(
    st.one_of(
        st.tuples(st.just("percent"), st.integers(1, 10_000), st.none()),
        st.tuples(st.just("fixed"), st.integers(1, 30_000), st.none() | st.integers(0, 20_000)),
        st.tuples(st.just("free_shipping"), st.just(0), st.none()),
    ),
    max_size=2,
)  # fmt: skip
counter = itertools.count(1)


def _shop(
    sessions: sessionmaker[Session],
    cart: list[tuple[int, int, str, int]],
    zone_specs: list[tuple[list[str], tuple[str, int, int | None]]],
    code_specs: list[tuple[str, int, int | None]],
    *,
    origin: str,
    inclusive: bool,
) -> tuple[list[tuple[str, int]], list[str]]:
    """This example's products (new skus), zones and codes (new names); earlier examples'
    zones are removed."""
    run = next(counter)
    items = []
    for position, (price, quantity, tax_class, grams) in enumerate(cart):
        sku = f"P{run}-{position}"
        add_product(
            sessions, sku=sku, title=sku, price=f"{price / 100:.2f}", currency="EUR",
            stock=10, tax_class=tax_class, weight_grams=grams,
        )  # fmt: skip
        items.append((sku, quantity))
    tax_settings(sessions, country=origin, inclusive=inclusive)
    names = []
    with write_session(sessions) as session:
        session.execute(delete(ShippingZone))
        for number, (areas, (kind, amount, free_over)) in enumerate(zone_specs):
            found = ShippingZone(name=f"Z{number}", position=number)
            for area in sorted(set(areas)):
                country, _, region = area.partition("/")
                found.areas.append(ShippingZoneArea(country=country, region=region))
            rate = ShippingRate(
                name=f"Rate {number}", kind=kind, currency="EUR", active=True,
                amount=0 if kind == "weight" else amount, free_over_amount=free_over,
            )  # fmt: skip
            if kind == "weight":
                rate.brackets.append(ShippingRateBracket(up_to_grams=1000, amount=amount))
                rate.brackets.append(ShippingRateBracket(up_to_grams=100_000, amount=2 * amount))
            found.rates.append(rate)
            session.add(found)
        for number, (kind, value, minimum) in enumerate(code_specs):
            name = f"C{run}X{number}"
            fields: dict[str, Any] = {"kind": kind}
            if kind == "percent":
                fields["percent_bp"] = value
            elif kind == "fixed":
                fields.update(amount=value, currency="EUR", min_subtotal=minimum)
            code(session, name, **fields)
            names.append(name.lower())
    return items, names


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    cart=products,
    zone_specs=zones,
    code_specs=codes,
    where=st.sampled_from(sorted(ADDRESSES)),
    origin=st.sampled_from(["DE", "US", "FR"]),
    inclusive=st.booleans(),
)
def test_the_amount_charged_is_the_total_everywhere(
    sessions: sessionmaker[Session],
    client: TestClient,
    cart: list[tuple[int, int, str, int]],
    zone_specs: list[tuple[list[str], tuple[str, int, int | None]]],
    code_specs: list[tuple[str, int, int | None]],
    where: str,
    origin: str,
    inclusive: bool,
) -> None:
    items, names = _shop(sessions, cart, zone_specs, code_specs, origin=origin, inclusive=inclusive)
    provider = RecordingProvider()
    try:
        order = place_and_pay(
            sessions, items, shopper=ADDRESSES[where], codes=names, provider=provider
        )
    except InvalidInput as refused:
        # Zones exist and none takes the address: refused before anything is charged.
        assert zone_specs and refused.code == "no_shipping_to_country", refused
        assert provider.charged == []
        event("refused: no shipping to the address")
        return
    assert order.status == "paid"
    event(f"tax {'included' if order.tax_included else 'added'}: {bool(order.tax_amount)}")
    event(f"discounted: {bool(order.discount_amount)}")
    event(f"shipping charged: {bool(order.shipping_amount)}")
    with sessions() as session:
        stored = session.get(Order, order.id)
        assert stored is not None
        row_lines = list(stored.lines)
    api = api_client(client, sessions)
    shown = api.get(f"/api/v1/orders/{order.number}").json()
    hook = webhook_order(sessions, "order.paid", order.number)

    total = stored.total_amount
    assert [c.amount for c in provider.charged] == [total]
    assert shown["total"]["amount"] == hook["total"]["amount"] == total
    added = 0 if stored.tax_included else stored.tax_amount
    assert total == (
        stored.subtotal_amount - stored.discount_amount + stored.shipping_amount + added
    )
    # Per line: the parts sum to the order's; each line adds up by itself.
    assert sum(line.unit_amount * line.quantity for line in row_lines) == stored.subtotal_amount
    assert sum(line.discount_amount for line in row_lines) == stored.discount_amount
    assert sum(line.tax_amount for line in row_lines) <= stored.tax_amount
    for line in row_lines:
        line_added = 0 if stored.tax_included else line.tax_amount
        subtotal = line.unit_amount * line.quantity
        assert 0 <= line.discount_amount <= subtotal
        assert line.total_amount == subtotal - line.discount_amount + line_added
    lines_total = sum(line["total_amount"] for line in shown["lines"])
    shipping_added = 0 if stored.tax_included else shown["shipping_tax"]["amount"]
    assert lines_total + stored.shipping_amount + shipping_added == total
    # The API and the webhook say the same, part by part.
    for part in ("subtotal", "discount", "shipping_cost", "tax", "shipping_tax", "tax_included"):
        assert shown[part] == hook[part], part
    assert shown["lines"] == hook["lines"]
    assert shown["subtotal"]["amount"] == stored.subtotal_amount
    assert shown["discount"]["amount"] == stored.discount_amount
    assert shown["shipping_cost"]["amount"] == stored.shipping_amount
    assert shown["tax"]["amount"] == stored.tax_amount
