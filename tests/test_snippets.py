"""Embed snippets: every merchant-supplied string is text, never markup, in every kind."""

from __future__ import annotations

from collections.abc import Callable
from html.parser import HTMLParser

import pytest

from buybutton import BuyButton, ConfigurationError
from buybutton.snippets import (
    CardFacts,
    card_snippet,
    email_snippet,
    qr_snippet,
    social_text,
    video_description,
)

HOSTILE = [
    '"><script>alert(1)</script>',
    "' onmouseover='alert(1)",
    "<img src=x onerror=alert(1)>",
    'Mug & Co. "Deluxe" <b>',
]
ALLOWED_TAGS = {
    "a", "link", "script", "img", "table", "tr", "td", "video", "figure", "figcaption", "ul",
    "li", "center", "strong", "br",
}  # fmt: skip
SAFE_ATTRIBUTES = {
    "class", "href", "src", "alt", "width", "height", "style", "role", "cellpadding",
    "cellspacing", "border", "align", "target", "rel", "async", "controls", "playsinline",
    "preload", "poster", "data-buybutton-video", "as", "crossorigin", "fetchpriority",
    "data-buybutton-card",
}  # fmt: skip


class Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> Collector:
    parsed = Collector()
    parsed.feed(html)
    return parsed


@pytest.fixture
def bb() -> BuyButton:
    return BuyButton(secret_keys=["k" * 40], base_url="https://shop.example")


@pytest.mark.parametrize("label", HOSTILE)
def test_button_label_is_text_not_markup(bb: BuyButton, label: str) -> None:
    parsed = parse(bb.embed_snippet("MUG-01", label=label, source="blog"))
    assert [tag for tag, _ in parsed.tags] == ["link", "a", "script"]
    anchor = parsed.tags[1][1]
    assert set(anchor) == {"class", "href", "data-buybutton-sku", "data-buybutton-api"}
    assert "".join(parsed.text).strip() == label
    assert parsed.tags[0][1]["href"] == "https://shop.example/widgets/buybutton.css"
    assert parsed.tags[2][1]["src"] == "https://shop.example/widgets/buybutton.js"


def _every_kind(bb: BuyButton, text: str) -> dict[str, str]:
    moment = bb.moment("MUG-01", title=text, at=3, until=9)
    return {
        "button": bb.embed_snippet("MUG-01", label=text),
        "card": bb.card_snippet("MUG-01", label=text, theme={"color": "#0a7d4f"}),
        "rich card": bb.card_snippet(
            "MUG-01", label=text, facts=CardFacts(text, text, f"https://img.example/{text}")
        ),
        "email": bb.email_snippet(
            "MUG-01", title=text, price=text, image_url=f"https://img.example/{text}", label=text
        ),
        "video": bb.video_snippet(f"/v/{text}.mp4", [moment], poster=text, caption=text),
        "qr": qr_snippet(short_url=f"https://shop.example/l/{text}", title=text),
    }


@pytest.mark.parametrize("text", HOSTILE)
def test_no_snippet_kind_lets_a_title_become_markup(bb: BuyButton, text: str) -> None:
    for kind, html in _every_kind(bb, text).items():
        parsed = parse(html)
        assert all(tag != "script" or attrs.get("src") for tag, attrs in parsed.tags), kind
        for tag, attrs in parsed.tags:
            assert tag in ALLOWED_TAGS, (kind, tag)
            for name in attrs:
                assert name in SAFE_ATTRIBUTES or name.startswith("data-buybutton-"), (kind, name)
            assert not any(n.startswith("on") for n in attrs), (kind, attrs)
        visible = "".join(parsed.text)
        if kind != "qr":
            assert text in visible, kind


def test_plain_text_surfaces_keep_titles_as_given(bb: BuyButton) -> None:
    moment = bb.moment("MUG-01", title="Mug <b>", at=75, until=90)
    assert video_description([(moment, "https://s.example/l/abc123XYZ0")]) == (
        "1:15 Mug <b>: https://s.example/l/abc123XYZ0"
    )
    text = social_text(title="Mug", price="$24.00", url="https://s.example/l/x", hashtags=["a b"])
    assert text.splitlines() == ["Mug · $24.00", "Buy it in one tap: https://s.example/l/x", "#ab"]


def test_email_snippet_is_email_safe(bb: BuyButton) -> None:
    html = bb.email_snippet(
        "MUG-01", title="Stoneware Mug", price="$24.00", image_url="https://img.example/mug.png"
    )
    parsed = parse(html)
    tags = [tag for tag, _ in parsed.tags]
    assert "script" not in tags and "link" not in tags and "style" not in tags
    assert tags[0] == "table"
    image = next(attrs for tag, attrs in parsed.tags if tag == "img")
    assert image["alt"] == "Stoneware Mug" and image["width"] == "240"
    anchors = [attrs for tag, attrs in parsed.tags if tag == "a"]
    assert anchors and all(a["href"].startswith("https://shop.example/c/") for a in anchors)
    assert "v:roundrect" in html, "the Outlook (VML) half of the bulletproof button"


def test_email_links_prefill_one_recipient_each(bb: BuyButton) -> None:
    from buybutton.tokens import LinkSigner

    links = bb.email_links("MUG-01", ["ana@example.com", ("bo@example.com", "Bo Lee")])
    signer = LinkSigner(["k" * 40])
    ana = signer.verify(links["ana@example.com"].rsplit("/", 1)[1])
    bo = signer.verify(links["bo@example.com"].rsplit("/", 1)[1])
    assert (ana.email, ana.name, ana.source) == ("ana@example.com", None, "email")
    assert (bo.email, bo.name) == ("bo@example.com", "Bo Lee")
    assert ana.expires_at is not None


@pytest.mark.parametrize(
    "make",
    [
        lambda bb: bb.card_snippet("MUG-01", theme={"color": 'red" onclick="x'}),
        lambda bb: bb.card_snippet("MUG-01", theme={"background": "red"}),
        lambda bb: email_snippet(href="h", title="t", price="p", image_url=None, color="red;"),
        lambda bb: bb.moment("MUG-01", title="t", at=9, until=3),
    ],
)
def test_bad_options_are_refused(bb: BuyButton, make: Callable[[BuyButton], object]) -> None:
    with pytest.raises(ValueError):
        make(bb)


def test_base_url_with_quotes_cannot_break_out() -> None:
    with pytest.raises(ConfigurationError):
        BuyButton(secret_keys=["k" * 40], base_url="javascript:alert(1)")
    bb = BuyButton(secret_keys=["k" * 40], base_url='https://shop.example/"onload="x')
    for html in _every_kind(bb, "Mug").values():
        for _, attrs in parse(html).tags:
            assert "onload" not in attrs


def test_snippet_carries_no_personal_data(bb: BuyButton) -> None:
    with pytest.raises(TypeError):
        bb.embed_snippet("MUG-01", email="a@b.co")  # type: ignore[call-arg]


def test_card_with_facts_paints_without_a_stylesheet(bb: BuyButton) -> None:
    """Issue 11 item 22: image, title and price in the markup, no render-blocking stylesheet,
    the module and the product JSON preloaded at the URLs the widget asks for, and a fallback
    exactly as tall as the card (HTML attributes only, so any CSP allows it)."""
    facts = CardFacts("Guji Beans, 250 g", "$16.50", "https://img.example/beans.svg")
    html = card_snippet(
        href="https://shop.example/c/x",
        sku="BEANS 250/g",
        label="Add to my order",
        api_base="https://shop.example",
        facts=facts,
    )
    parsed = parse(html)
    tags = [(tag, attrs) for tag, attrs in parsed.tags]
    assert not any(t == "link" and a.get("rel") == "stylesheet" for t, a in tags)
    preloads = {a["as"]: a for t, a in tags if t == "link" and a.get("rel") == "preload"}
    assert preloads["script"]["href"] == "https://shop.example/widgets/buybutton-card.js"
    # encodeURIComponent("BEANS 250/g"), as buybutton.js fetches it, CORS without cookies.
    assert preloads["fetch"]["href"] == "https://shop.example/api/public/products/BEANS%20250%2Fg"
    assert "crossorigin" in preloads["fetch"]
    [table] = [a for t, a in tags if t == "table"]
    assert table["height"] == "452" and "data-buybutton-card" in table
    [image] = [a for t, a in tags if t == "img"]
    assert image == {
        "src": "https://img.example/beans.svg",
        "alt": "",
        "width": "360",
        "height": "200",
        "fetchpriority": "high",
    }
    [link] = [a for t, a in tags if t == "a"]
    assert (link["data-buybutton-title"], link["data-buybutton-price"]) == (facts.title, "$16.50")
    assert link["data-buybutton-image"] == facts.image_url
    assert "Guji Beans, 250 g" in parsed.text and "Add to my order" in parsed.text
    assert [a["src"] for t, a in tags if t == "script"] == [
        "https://shop.example/widgets/buybutton.js"
    ]


def test_card_heading_level_is_the_hosts_choice(bb: BuyButton) -> None:
    """Issue 11 item 21: no heading level unless the snippet names one."""
    assert "data-buybutton-heading" not in bb.card_snippet("MUG-01")
    assert 'data-buybutton-heading="2"' in bb.card_snippet("MUG-01", heading=2)
    assert "data-buybutton-heading" not in bb.embed_snippet("MUG-01", heading=2)
    for level in (0, 7):
        with pytest.raises(ValueError):
            bb.card_snippet("MUG-01", heading=level)


def test_video_snippet_brings_the_stylesheet_that_fits_it_to_a_phone(bb: BuyButton) -> None:
    """Issue 11 item 23: the <video> keeps its width/height attributes (its aspect ratio) and
    the linked stylesheet gives it max-width: 100%."""
    html = bb.video_snippet("/v/pour.mp4", [bb.moment("MUG-01", title="Mug", at=1, until=5)])
    tags = parse(html).tags
    assert tags[0] == (
        "link",
        {"rel": "stylesheet", "href": "https://shop.example/widgets/buybutton-video.css"},
    )
    [video] = [a for t, a in tags if t == "video"]
    assert (video["width"], video["height"]) == ("640", "360")
