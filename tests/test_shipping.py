"""Shipping: which zone an address falls in (most specific area wins), what each rate costs
for a cart (flat, free over a threshold, weight brackets, the cart's currency only), carts
that need no address, and the demo shop's zones. The owner's page is tested in
test_admin_shipping.py."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.db import write_session
from buybutton_server.db.models import ShippingRate
from buybutton_server.domain import shipping
from buybutton_server.domain.checkout_model import Address, CartLine, CartProduct
from buybutton_server.domain.shipping_zones import (
    AreaSpec,
    RateSpec,
    ZoneSpec,
    save_rate,
    save_zone,
)


def line(
    quantity: int = 1, grams: int = 0, *, shipped: bool = True, sku: str = "MUG-01"
) -> CartLine:
    product = CartProduct(
        product_id=1,
        sku=sku,
        title=sku,
        unit_amount=1000,
        currency="EUR",
        requires_shipping=shipped,
        weight_grams=grams,
    )
    return CartLine(product, quantity)


def zone(
    sessions: sessionmaker[Session], name: str, areas: list[AreaSpec], *rates: RateSpec
) -> int:
    with write_session(sessions) as session:
        made = save_zone(session, ZoneSpec(name, tuple(areas)))
        for rate in rates:
            save_rate(session, made.id, rate)
        return made.id


def flat(amount: int, name: str = "Standard", currency: str = "EUR") -> RateSpec:
    return RateSpec(name=name, kind="flat", currency=currency, amount=amount)


def offers(
    sessions: sessionmaker[Session],
    to: Address | None,
    lines: list[CartLine] | None = None,
    goods: int = 1000,
    currency: str = "EUR",
) -> list[tuple[str, int]]:
    with sessions() as session:
        found = shipping.options_for(session, to, lines or [line()], goods, currency)
        return [(option.title, option.amount) for option in found]


# -- matching and prices -----------------------------------------------------------------


def test_the_most_specific_area_wins(sessions: sessionmaker[Session]) -> None:
    zone(sessions, "Germany", [AreaSpec("DE")], flat(490, "Germany"))
    zone(sessions, "Berlin", [AreaSpec("DE", "", "10")], flat(390, "Berlin"))
    zone(sessions, "US", [AreaSpec("US")], flat(500, "US", "USD"))
    zone(
        sessions, "US West", [AreaSpec("US", "CA"), AreaSpec("US", "OR")], flat(600, "West", "USD")
    )
    zone(sessions, "San Francisco", [AreaSpec("US", "", "941")], flat(700, "SF", "USD"))
    zone(sessions, "SF downtown", [AreaSpec("US", "", "94103")], flat(800, "Downtown", "USD"))

    def title(to: Address, currency: str = "EUR") -> str:
        return offers(sessions, to, currency=currency)[0][0]

    assert title(Address("DE", postal_code="10115")) == "Berlin"
    assert title(Address("de", postal_code="80331")) == "Germany"
    assert title(Address("US", "NY", postal_code="10001"), "USD") == "US"
    assert title(Address("US", "CA", postal_code="90001"), "USD") == "West"
    assert title(Address("US", "CA", postal_code="94110"), "USD") == "SF"  # postal beats region
    assert title(Address("US", "CA", postal_code="94103-1234"), "USD") == "Downtown"
    assert title(Address("US", "or", postal_code="97201"), "USD") == "West"


def test_outside_every_zone_or_without_an_address_nothing_is_offered(
    sessions: sessionmaker[Session],
) -> None:
    zone(sessions, "Germany", [AreaSpec("DE")], flat(490))
    assert offers(sessions, Address("BR")) == []
    assert offers(sessions, None) == []
    assert offers(sessions, Address("")) == []
    assert offers(sessions, Address("DE")) == [("Standard", 490)]


def test_free_over_is_free_from_exactly_the_threshold(sessions: sessionmaker[Session]) -> None:
    free = RateSpec(
        name="Standard", kind="free_over", currency="EUR", amount=490, free_over_amount=5000
    )
    zone(sessions, "EU", [AreaSpec("FR")], free)
    to = Address("FR")
    assert offers(sessions, to, goods=4999) == [("Standard", 490)]
    assert offers(sessions, to, goods=5000) == [("Standard", 0)]
    assert offers(sessions, to, goods=9000) == [("Standard", 0)]


def test_weight_brackets_take_the_lightest_that_holds_the_cart(
    sessions: sessionmaker[Session],
) -> None:
    by_weight = RateSpec(
        name="Parcel", kind="weight", currency="EUR", brackets=((1000, 490), (5000, 990))
    )
    zone(sessions, "World", [AreaSpec("JP")], by_weight, flat(2500, "Courier"))
    to = Address("JP")
    assert offers(sessions, to, [line(2, 500)]) == [("Parcel", 490), ("Courier", 2500)]
    assert offers(sessions, to, [line(1, 1001)]) == [("Parcel", 990), ("Courier", 2500)]
    # Digital lines weigh nothing: 600 g shipped + a 10 kg "download" is still 600 g.
    cart = [line(1, 600), line(1, 10_000, shipped=False, sku="EBOOK")]
    assert offers(sessions, to, cart) == [("Parcel", 490), ("Courier", 2500)]
    # Heavier than every bracket: the weight rate offers nothing, the flat one still does.
    assert offers(sessions, to, [line(3, 2000)]) == [("Courier", 2500)]


def test_only_rates_in_the_carts_currency_are_offered(sessions: sessionmaker[Session]) -> None:
    zone(sessions, "NL", [AreaSpec("NL")], flat(490, "Euro"), flat(550, "Dollar", "USD"))
    assert offers(sessions, Address("NL"), currency="EUR") == [("Euro", 490)]
    assert offers(sessions, Address("NL"), currency="USD") == [("Dollar", 550)]
    assert offers(sessions, Address("NL"), currency="JPY") == []


def test_a_digital_cart_needs_no_address_and_has_no_options(
    sessions: sessionmaker[Session],
) -> None:
    zone(sessions, "DE", [AreaSpec("DE")], flat(490))
    digital = [line(1, shipped=False, sku="EBOOK")]
    assert not shipping.needs_address(digital)
    assert shipping.needs_address([*digital, line()])
    assert offers(sessions, Address("DE"), digital) == []


def test_option_ids_name_their_rate_and_inactive_rates_are_hidden(
    sessions: sessionmaker[Session],
) -> None:
    off = RateSpec(name="Old", kind="flat", currency="EUR", amount=100, active=False)
    zone(sessions, "AT", [AreaSpec("AT")], flat(490), off)
    zone(sessions, "No rates", [AreaSpec("CH")])
    with sessions() as session:
        (option,) = shipping.options_for(session, Address("AT"), [line()], 0, "EUR")
        rate_id = shipping.rate_id_of(option.id)
        assert option.id == f"rate-{rate_id}"
        stored = session.get(ShippingRate, rate_id)
        assert stored is not None and stored.name == "Standard"
        assert shipping.rate_id_of("rate-x") is None and shipping.rate_id_of("12") is None
        assert shipping.shipping_countries(session) == ("AT",)


def test_the_demo_shop_ships_to_europe_the_us_and_the_world(
    sessions: sessionmaker[Session],
) -> None:
    with write_session(sessions) as session:
        assert shipping.seed_demo_shipping(session, "EUR")
    with write_session(sessions) as session:
        assert not shipping.seed_demo_shipping(session, "EUR")  # only once
    assert offers(sessions, Address("DE"), goods=4000) == [("Standard", 490), ("Express", 1290)]
    assert offers(sessions, Address("DE"), goods=5000)[0] == ("Standard", 0)
    assert offers(sessions, Address("US", "NY")) == [("Standard", 500)]
    assert offers(sessions, Address("US", "CA")) == [("Standard", 600)]
    assert offers(sessions, Address("JP"), [line(1, 400)]) == [("International", 900)]
    assert offers(sessions, Address("BR")) == []
    with sessions() as session:
        assert {"DE", "US", "JP"} <= set(shipping.shipping_countries(session))


def test_the_shipping_command_lists_zones_and_rates(
    sessions: sessionmaker[Session],
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from buybutton.cli import main

    monkeypatch.setenv("BUYBUTTON_DATABASE_URL", database_url)
    assert main(["shipping", "list"]) == 0
    assert "No shipping zones" in capsys.readouterr().out
    with write_session(sessions) as session:
        shipping.seed_demo_shipping(session, "EUR")
    assert main(["shipping", "list"]) == 0
    out = capsys.readouterr().out
    assert "US West (zone 3): US CA, US OR, US WA" in out
    assert "Standard: €4.90, free from €50.00 (2-4 business days)" in out
    assert "up to 500 g: €9.00; up to 2000 g: €15.00" in out


def test_a_chosen_option_counts_only_while_it_is_offered(sessions: sessionmaker[Session]) -> None:
    zone(sessions, "DE", [AreaSpec("DE")], flat(990, "Express"), flat(490))
    other = zone(sessions, "US", [AreaSpec("US")], flat(100, "Cheap", "EUR"))
    with sessions() as session:
        options = shipping.options_for(session, Address("DE"), [line()], 0, "EUR")
        foreign = session.scalar(select(ShippingRate.id).where(ShippingRate.zone_id == other))
    assert [o.title for o in options] == ["Standard", "Express"]
    assert shipping.pick_option(options, options[1].id) == options[1]
    assert shipping.pick_option(options, f"rate-{foreign}") == options[0]  # another zone's
    assert shipping.pick_option(options, None) == options[0]
    assert shipping.pick_option((), options[0].id) is None
