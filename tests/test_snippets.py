"""Embed snippets: every merchant-supplied string is escaped."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from buybutton import BuyButton, ConfigurationError

HOSTILE = [
    '"><script>alert(1)</script>',
    "' onmouseover='alert(1)",
    "<img src=x onerror=alert(1)>",
    'Mug & Co. "Deluxe" <b>',
]


class Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@pytest.mark.parametrize("label", HOSTILE)
def test_label_is_text_not_markup(label: str) -> None:
    bb = BuyButton(secret_keys=["k" * 40], base_url="https://shop.example")
    html = bb.embed_snippet("MUG-01", label=label, source="blog")
    parsed = Collector()
    parsed.feed(html)
    assert [tag for tag, _ in parsed.tags] == ["a", "script"]
    anchor = parsed.tags[0][1]
    assert set(anchor) == {"class", "href", "data-buybutton-sku", "data-buybutton-api"}
    assert "".join(parsed.text).strip() == label
    assert parsed.tags[1][1]["src"] == "https://shop.example/widgets/buybutton.js"


def test_base_url_with_quotes_cannot_break_out() -> None:
    with pytest.raises(ConfigurationError):
        BuyButton(secret_keys=["k" * 40], base_url="javascript:alert(1)")
    bb = BuyButton(secret_keys=["k" * 40], base_url='https://shop.example/"onload="x')
    parsed = Collector()
    parsed.feed(bb.embed_snippet("MUG-01"))
    assert "onload" not in parsed.tags[0][1]


def test_snippet_carries_no_personal_data() -> None:
    bb = BuyButton(secret_keys=["k" * 40], base_url="https://shop.example")
    with pytest.raises(TypeError):
        bb.embed_snippet("MUG-01", email="a@b.co")  # type: ignore[call-arg]
