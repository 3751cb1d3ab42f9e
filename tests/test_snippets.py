"""Embed snippets: every merchant-supplied string is text, never markup, in every kind."""

from __future__ import annotations

from collections.abc import Callable
from html.parser import HTMLParser

import pytest

from buybutton import BuyButton, ConfigurationError
from buybutton.snippets import email_snippet, qr_snippet, social_text, video_description

HOSTILE = [
    '"><script>alert(1)</script>',
    "' onmouseover='alert(1)",
    "<img src=x onerror=alert(1)>",
    'Mug & Co. "Deluxe" <b>',
]
SAFE_ATTRIBUTES = {
    "class", "href", "src", "alt", "width", "height", "style", "role", "cellpadding",
    "cellspacing", "border", "align", "target", "rel", "async", "controls", "playsinline",
    "preload", "poster", "data-buybutton-video",
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
            assert tag in {"a", "link", "script", "img", "table", "tr", "td", "video", "figure",
                           "figcaption", "ul", "li", "center"}, (kind, tag)  # fmt: skip
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
