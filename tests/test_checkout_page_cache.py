"""The checkout page's hot path (issue 13, "Performance"; services/checkout_page_cache.py):
the shop's zones and pickup stores are read on every page, so what the merchant writes shows
on the next page; the kept option lists and pages never serve a stale country, price or
store; each response has its own attempt key and nonce."""

from __future__ import annotations

import re

from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton import BuyButton
from buybutton_server.db import write_session
from buybutton_server.domain import addresses
from buybutton_server.domain.shipping_zones import (
    AreaSpec,
    RateSpec,
    ZoneSpec,
    delete_zone,
    require_rate,
    save_rate,
    save_zone,
)
from buybutton_server.services import checkout_page_cache
from buybutton_server.services.addresses import form_context
from buybutton_server.templating import make_templates
from tests.conftest import add_product, attempt_key, path_of
from tests.test_pickup import add_store, stock_at


def zone(sessions: sessionmaker[Session], country: str) -> tuple[int, int]:
    with write_session(sessions) as session:
        made = save_zone(session, ZoneSpec(f"Zone {country}", (AreaSpec(country),)))
        rate = save_rate(session, made.id, RateSpec("Standard", "flat", "USD", 500))
        return made.id, rate.id


def picker(html: str) -> list[str]:
    """The codes the page's country picker offers."""
    found = re.search(r'<select name="country".*?</select>', html, re.S)
    assert found, "the page has no country picker"
    return re.findall(r'<option value="([A-Z]{2})"', found[0])


def open_page(client: TestClient, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    return page.text


def test_a_zone_written_shows_on_the_next_page(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions)
    path = path_of(bb.checkout_link("MUG-01"))
    everywhere = picker(open_page(client, path))
    assert len(everywhere) == len(addresses.countries()) > 200  # no zones: any country
    japan, _ = zone(sessions, "JP")
    html = open_page(client, path)
    assert picker(html) == ["JP"] and 'data-countries="JP"' in html
    assert '<option value="JP" selected>Japan</option>' in html  # the only one, chosen
    _, germany_rate = zone(sessions, "DE")
    assert picker(open_page(client, path)) == ["DE", "JP"]  # by name: Germany, Japan
    with write_session(sessions) as session:
        delete_zone(session, japan)
    assert picker(open_page(client, path)) == ["DE"]
    with write_session(sessions) as session:  # no active rate left: anywhere again
        germany = require_rate(session, germany_rate).zone_id
        off = RateSpec("Standard", "flat", "USD", 500, active=False)
        save_rate(session, germany, off, germany_rate)
    assert picker(open_page(client, path)) == everywhere


def test_a_pickup_store_written_shows_on_the_next_page(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions)
    path = path_of(bb.checkout_link("MUG-01"))
    assert 'name="fulfilment"' not in open_page(client, path)  # no store: no list read
    add_store(sessions, "B", lat=38.76, lng=-9.1)
    stock_at(sessions, "B", "MUG-01", 3)
    html = open_page(client, path)
    assert re.findall(r'name="fulfilment" value="([^"]+)"', html) == ["delivery", "pickup:B"]


def test_a_kept_page_follows_price_and_stock_and_fills_its_slots_per_response(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions, stock=5)
    path = path_of(bb.checkout_link("MUG-01"))
    first, second = open_page(client, path), open_page(client, path)
    assert "$24.00" in first and "\x00" not in first
    assert attempt_key(first) != attempt_key(second)  # a fresh attempt key each time
    nonces = [re.findall(r'nonce="([^"]+)"', html) for html in (first, second)]
    assert nonces[0] and nonces[1] and set(nonces[0]).isdisjoint(nonces[1])
    add_product(sessions, price="19.50", stock=2)  # the same SKU, a new price and stock
    html = open_page(client, path)
    assert "$19.50" in html and "$24.00" not in html and "Only 2 left" in html


def test_the_kept_option_lists_are_what_the_template_renders() -> None:
    """The prebuilt options equal the partial's own loops (every country, a shop's few, a
    chosen region), escaped the same."""
    env = make_templates().env
    partial = env.from_string(
        '{% from "_address_fields.html" import address_fields %}'
        "{{ address_fields(a.layout, a['values'], a.errors, a.countries, options=options) }}"
    )
    cases = [
        form_context({}, allowed=()),
        form_context({"country": "US", "region": "California"}, allowed=()),
        form_context({}, allowed=("de", "JP", "US"), accept_language="ja-JP"),
        form_context({"country": "BA"}, allowed=("BA", "HM", "AX")),
    ]
    for context in cases:
        kept = partial.render(a=context, options=context["options"])
        loops = partial.render(a=context, options={})
        assert re.sub(r">\s+<", "><", kept) == re.sub(r">\s+<", "><", loops)
    assert '<option value="CA" selected>California</option>' in partial.render(
        a=cases[1], options=cases[1]["options"]
    )


def test_option_lists_mark_only_the_chosen_one() -> None:
    options = str(checkout_page_cache.country_options(("DE", "AT"), "AT"))
    assert options == (
        '<option value="AT" selected>Austria</option><option value="DE">Germany</option>'
    )
    assert "selected" not in str(checkout_page_cache.country_options(("DE",), "FR"))


def test_the_remembered_first_country_is_default_country() -> None:
    long_header = "de-DE," + ",".join(f"x{i};q=0.1" for i in range(60))  # not kept
    for prefill, header, allowed in [
        (None, "de-DE,de;q=0.9", ()),
        (None, "ja-JP", ("DE", "JP")),
        ("AT", "en-GB", ("AT", "GB")),
        (None, None, ()),
        (None, long_header, ()),
    ]:
        expected = addresses.default_country(prefill, header, allowed)
        assert checkout_page_cache.first_country(prefill, header, allowed) == expected
