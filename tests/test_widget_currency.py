"""The widget shows what the checkout charges (issue 16, item 3), within its byte budgets.

The product JSON the widget asks for answers in the link's currency (``?currency=``, which
``widgets/buybutton.js`` sends from the link's ``data-buybutton-currency``) when the product
has a price in it, else the browser's locale currency, else the product's own; the files a
publisher's page loads stay under their budgets as the server sends them (minified, gzip -9).
The browser side: tests/browser/test_widget_currency_browser.py."""

from __future__ import annotations

import re
from importlib.resources import files
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton import BuyButton
from buybutton.snippets import CardFacts
from buybutton_server.db import write_session
from buybutton_server.domain import price_lists
from buybutton_server.domain.catalog import require_product
from buybutton_server.views.public import WidgetFiles
from tests.conftest import add_product, path_of

BUTTON_PAGE_BUDGET = 2_048  # buybutton.js + buybutton.css: a page of plain buttons
ALL_FILES_BUDGET = 6_144  # every widget file (docs/benchmarks.md, "Widget weight")
URL = "/api/public/products/MUG-01"


@pytest.fixture
def mug(sessions: sessionmaker[Session]) -> None:
    """MUG-01 at EUR 24.00 with a list price of USD 27.00; TEE-M/TEE-L variants, only TEE-M
    with a USD price."""
    add_product(sessions, sku="MUG-01", title="Stoneware Mug", price="24.00", currency="EUR")
    add_product(sessions, sku="TEE-M", currency="EUR", variant_group="TEE", variant_label="M")
    add_product(
        sessions, sku="TEE-L", price="26.00", currency="EUR", variant_group="TEE", variant_label="L"
    )
    with write_session(sessions) as session:
        price_lists.set_price(require_product(session, "MUG-01"), "USD", 2700)
        price_lists.set_price(require_product(session, "TEE-M"), "USD", 2900)


def price(client: TestClient, url: str, **headers: str) -> tuple[str, int, str]:
    answer = client.get(url, headers=headers)
    assert answer.status_code == 200, answer.text
    p: dict[str, Any] = answer.json()["price"]
    return p["currency"], p["amount"], p["formatted"]


def test_served_widget_files_stay_within_their_budgets() -> None:
    served = {name: len(packed) for name, (_, packed, _, _) in WidgetFiles().files.items()}
    assert {"buybutton.js", "buybutton.css"} <= served.keys()
    button_page = served["buybutton.js"] + served["buybutton.css"]
    assert button_page <= BUTTON_PAGE_BUDGET, f"a page of buttons loads {button_page} B: {served}"
    assert sum(served.values()) <= ALL_FILES_BUDGET, f"all widget files: {served}"


def test_the_served_files_are_what_a_browser_gets(client: TestClient) -> None:
    """The budget test measures the bytes on the wire, not a copy of them."""
    packed = WidgetFiles().files["buybutton.js"][1]
    with client.stream("GET", "/widgets/buybutton.js", headers={"Accept-Encoding": "gzip"}) as r:
        assert r.headers["content-encoding"] == "gzip"
        assert b"".join(r.iter_raw()) == packed


def test_modules_use_only_what_the_core_exports() -> None:
    """buybutton-card/-moment/-overlay.js build on ``window.BuyButton``: every name they use
    must be one buybutton.js exports (a renamed export breaks cards and videos silently)."""
    widgets = files("buybutton_widgets")
    core = widgets.joinpath("buybutton.js").read_text(encoding="utf-8")
    exported = set(re.findall(r"(\w+): ?\w+", core.split("w.BuyButton = {", 1)[1]))
    assert {"product", "mount", "open", "el", "sheet", "ready", "scan"} <= exported
    for module in ("buybutton-card.js", "buybutton-moment.js", "buybutton-overlay.js"):
        text = widgets.joinpath(module).read_text(encoding="utf-8")
        used = set(re.findall(r"\bB\.(\w+)", text)) | set(re.findall(r"BuyButton\.(\w+)", text))
        assert used and used <= exported, (module, used - exported)


def test_the_links_currency_is_answered_when_the_product_has_it(
    client: TestClient, mug: None
) -> None:
    assert price(client, URL + "?currency=USD") == ("USD", 2700, "$27.00")
    assert price(client, URL + "?currency=usd") == ("USD", 2700, "$27.00")
    # The link's currency wins over the browser's locale currency, as at checkout.
    assert price(client, URL + "?currency=USD", **{"Accept-Language": "de-DE"})[:2] == (
        "USD",
        2700,
    )
    # A currency the product has no price in, or no currency at all: its own price.
    assert price(client, URL + "?currency=JPY")[:2] == ("EUR", 2400)
    assert price(client, URL + "?currency=%3Cscript%3E")[:2] == ("EUR", 2400)
    assert price(client, URL)[:2] == ("EUR", 2400)


def test_without_a_link_currency_the_browsers_locale_decides(client: TestClient, mug: None) -> None:
    assert price(client, URL, **{"Accept-Language": "en-US,en;q=0.8"})[:2] == ("USD", 2700)
    assert price(client, URL, **{"Accept-Language": "en-GB"})[:2] == ("EUR", 2400)  # no GBP
    assert price(client, URL, **{"Accept-Language": "de-DE"})[:2] == ("EUR", 2400)
    assert price(client, URL, **{"Accept-Language": "\x7f;;q=x"})[:2] == ("EUR", 2400)


def test_variants_are_priced_each_as_its_checkout_would(client: TestClient, mug: None) -> None:
    answer = client.get("/api/public/products/TEE-M?currency=USD").json()
    assert (answer["price"]["currency"], answer["price"]["amount"]) == ("USD", 2900)
    variants = answer["variants"]
    assert {v["sku"]: (v["price"]["currency"], v["price"]["amount"]) for v in variants} == {
        "TEE-M": ("USD", 2900),
        "TEE-L": ("EUR", 2600),  # no USD price: its checkout charges EUR
    }


def test_a_snippet_with_a_currency_signs_it_and_tells_the_widget(
    client: TestClient, bb: BuyButton, mug: None
) -> None:
    """``embed_snippet(currency=)``: the link's checkout charges USD, and the button carries
    ``data-buybutton-currency`` so the widget asks for (and the card preloads) the same price."""
    plain = bb.embed_snippet("MUG-01")
    assert "data-buybutton-currency" not in plain
    button = bb.embed_snippet("MUG-01", currency="USD")
    assert 'data-buybutton-currency="USD"' in button
    [href] = re.findall(r'href="([^"]+/c/[^"]+)"', button)
    page = client.get(path_of(href.replace("&amp;", "&")))
    assert page.status_code == 200
    assert 'name="shown_currency" value="USD"' in page.text
    card = bb.card_snippet(
        "MUG-01", currency="USD", facts=CardFacts(title="Mug", price="US$27.00")
    )
    assert '/api/public/products/MUG-01?currency=USD"' in card  # the preload the widget reuses
