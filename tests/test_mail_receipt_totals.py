"""The receipt shows the parts of the total as the order stored them (issue 14, item 1):
Subtotal, Discount (codes), Shipping (title), Tax (added, or included), Total; and an
older queued receipt without them still renders."""

from __future__ import annotations

from typing import Any

from buybutton_server.domain.mail import messages
from buybutton_server.domain.shop_profile import ShopIdentity

KEYS = ("test-secret-key-0123456789abcdef-0123",)


def receipt(**totals: Any) -> dict[str, Any]:
    return {
        "number": "BB-TOTALS01",
        "public_id": "p" * 22,
        "name": "Ana <b>Lima</b>",
        "currency": "EUR",
        "total": 5480,
        "lines": [{"title": "Mug", "sku": "MUG-01", "quantity": 2, "unit": 2400, "total": 4800}],
        "address": ["Ana Lima", "Rua 1", "4000-123 Porto", "Portugal"],
        "payment": "Card",
        **totals,
    }


def render(data: dict[str, Any]) -> tuple[str, str]:
    bodies = messages.render(
        "receipt",
        data,
        shop=ShopIdentity(name="Shop"),
        base_url="http://shop.test",
        secret_keys=KEYS,
        subject_line="Receipt",
    )
    return bodies.text, bodies.html


PARTS = {
    "subtotal": 4800,
    "discount": 480,
    "discount_codes": ["WELCOME10"],
    "shipping": 500,
    "shipping_title": "DE/EU standard",
    "ships": True,
    "tax": 660,
    "tax_label": "Tax (23%)",
}


def test_tax_added_is_a_line_before_the_total() -> None:
    text, html = render(receipt(**PARTS, tax_included=False))
    assert "Subtotal: €48.00" in text
    assert "Discount (WELCOME10): -€4.80" in text
    assert "Shipping (DE/EU standard): €5.00" in text
    assert "Tax (23%): €6.60" in text and "Includes" not in text
    assert text.index("Tax (23%)") < text.index("Total: €54.80")
    for part in ("€48.00", "WELCOME10", "€4.80", "DE/EU standard", "€6.60", "€54.80"):
        assert part in html
    assert "Ana &lt;b&gt;Lima&lt;/b&gt;" in html and "<b>Lima" not in html
    assert "http://shop.test/o/" in text and "/orders/" not in text


def test_tax_included_is_said_under_the_total_and_free_shipping_says_free() -> None:
    text, html = render(receipt(**{**PARTS, "shipping": 0}, tax_included=True))
    assert "Shipping (DE/EU standard): Free\n" in text
    assert "Includes tax (23%): €6.60" in text
    assert text.index("Total: €54.80") < text.index("Includes tax")
    assert "Includes tax (23%)" in html


def test_a_receipt_queued_before_totals_existed_still_renders() -> None:
    text, _ = render(receipt())
    assert "Total: €54.80" in text and "Subtotal" not in text
