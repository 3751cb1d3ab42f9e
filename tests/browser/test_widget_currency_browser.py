"""The widget shows the link's currency (issue 16, item 3): a product priced in EUR with a USD
price in its list, on a British phone (whose own currency, GBP, the product lacks). The button
for a USD link shows the USD price, and the checkout behind it totals the same USD amount; a
button without a currency shows what its own checkout shows, the EUR price."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Playwright, expect

from buybutton_server.db import write_session
from buybutton_server.domain import price_lists
from buybutton_server.domain.catalog import require_product
from tests.browser.conftest import Demo, checkout_ready, new_phone
from tests.conftest import add_product

pytestmark = pytest.mark.browser

USD = "US$27.00"  # en-GB formatting of USD 27.00
EUR = "€24.00"

ADD_BUTTONS = """([usd, eur]) => {
  for (const [href, currency, label] of [[usd, "USD", "Buy in dollars"], [eur, "", "Buy"]]) {
    const a = document.createElement("a");
    a.href = href;
    a.textContent = label;
    a.setAttribute("data-buybutton-sku", "MUG-INTL");
    if (currency) a.setAttribute("data-buybutton-currency", currency);
    document.body.prepend(a);
  }
}"""


def test_a_usd_link_shows_and_charges_the_usd_price(
    browser: Browser, playwright: Playwright, demo: Demo
) -> None:
    add_product(
        demo.sessions,
        sku="MUG-INTL",
        title="Travel Mug",
        price="24.00",
        currency="EUR",
        stock=50,
        requires_shipping="no",
    )
    with write_session(demo.sessions) as session:
        price_lists.set_price(require_product(session, "MUG-INTL"), "USD", 2700)
    usd_link = demo.bb.checkout_link("MUG-INTL", currency="USD", source="blog")
    eur_link = demo.bb.checkout_link("MUG-INTL", source="blog")
    phone = new_phone(browser, playwright, locale="en-GB")
    page = phone.new_page()
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url))
    page.goto(demo.post)
    page.evaluate(ADD_BUTTONS, [usd_link, eur_link])
    dollars = page.locator('a[data-buybutton-currency="USD"]')
    euros = page.locator('a[data-buybutton-sku="MUG-INTL"]:not([data-buybutton-currency])')
    expect(dollars.locator(".p")).to_have_text(f" · {USD}")
    expect(euros.locator(".p")).to_have_text(f" · {EUR}")
    # One product, two currencies: two answers, each cached under its own currency.
    mugs = sorted(u.rsplit("/", 1)[1] for u in asked if "/MUG-INTL" in u)
    assert mugs == ["MUG-INTL", "MUG-INTL?currency=USD"]

    dollars.tap()
    checkout_ready(page)
    expect(page.locator("#total")).to_have_text(USD)
    expect(page.locator('input[name="shown_currency"]')).to_have_value("USD")
    page.goto(eur_link)
    checkout_ready(page)
    expect(page.locator("#total")).to_have_text(EUR)
    phone.close()
