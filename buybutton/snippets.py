"""Paste-ready HTML and text for each surface a publisher posts to.

Every merchant-supplied string goes through :func:`html.escape` with ``quote=True`` before it
lands in markup, whether as text or inside an attribute. The functions here take everything
they show as arguments, so they work offline; :class:`buybutton.BuyButton` fills in signed
links and the shop's addresses.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from html import escape
from urllib.parse import quote

THEME_ATTRIBUTES = ("color", "text-color", "radius", "font-size")
_THEME_VALUE = re.compile(r"^[#a-zA-Z0-9.%(), -]{1,40}$")


def _theme(theme: Mapping[str, str] | None) -> str:
    """``data-buybutton-color="#0a7"`` and friends; the widget turns them into CSS custom
    properties inside its Shadow DOM. Unknown keys and odd values are refused."""
    out = []
    for key, value in (theme or {}).items():
        if key not in THEME_ATTRIBUTES:
            raise ValueError(f"theme keys are {', '.join(THEME_ATTRIBUTES)}; got {key!r}")
        if not _THEME_VALUE.match(value):
            raise ValueError(f"theme value {value!r} is not a plain CSS value")
        out.append(f' data-buybutton-{key}="{escape(value)}"')
    return "".join(out)


@dataclass(frozen=True, slots=True)
class CardFacts:
    """What a product card shows before any script runs: the title, the formatted price and
    the image. With them the card paints with the page (the image is a plain ``<img>`` in the
    markup, fetched at once) instead of after the script, its module and the product JSON."""

    title: str
    price: str
    image_url: str | None = None


def _heading(level: int | None) -> str:
    if level is None:
        return ""
    if not 1 <= level <= 6:
        raise ValueError("heading is a level from 1 to 6")
    return f' data-buybutton-heading="{level}"'


def _widget_link(
    *, href: str, sku: str, label: str, api_base: str, layout: str | None, extra: str = ""
) -> str:
    layout_attr = f' data-buybutton-layout="{escape(layout)}"' if layout else ""
    return (
        f'<a class="buybutton" href="{escape(href)}" data-buybutton-sku="{escape(sku)}" '
        f'data-buybutton-api="{escape(api_base)}"{layout_attr}{extra}>{escape(label)}</a>'
    )


def _assets(api_base: str) -> tuple[str, str]:
    return (
        f'<link rel="stylesheet" href="{escape(api_base)}/widgets/buybutton.css">',
        f'<script async src="{escape(api_base)}/widgets/buybutton.js"></script>',
    )


# A fallback card sized by HTML attributes only (allowed under any CSP, needs no stylesheet):
# the table is 452 px tall, as tall as the card that replaces it, so nothing below it moves.
CARD_HEIGHT = 452
_URI_COMPONENT_SAFE = "-_.!~*'()"


def _rich_card(
    *, link: str, sku: str, api_base: str, facts: CardFacts, currency: str | None = None
) -> str:
    """The card snippet when the product is known: no render-blocking stylesheet; the
    module and the product JSON are preloaded beside the core script (same URLs the widget
    asks for, so the browser reuses them), and the image is in the markup with high fetch
    priority, so it is the page's Largest Contentful Paint without waiting for any script."""
    api = escape(api_base)
    # quote() with encodeURIComponent's safe set: the very URL the widget fetches.
    product_url = f"{api}/api/public/products/{escape(quote(sku, safe=_URI_COMPONENT_SAFE))}"
    if currency:
        product_url += f"?currency={escape(quote(currency, safe=_URI_COMPONENT_SAFE))}"
    image = (
        f'<tr><td><img src="{escape(facts.image_url)}" alt="" width="360" height="200" '
        'fetchpriority="high"></td></tr>\n'
        if facts.image_url
        else ""
    )
    return (
        f'<link rel="preload" as="script" href="{api}/widgets/buybutton-card.js">\n'
        f'<link rel="preload" as="fetch" href="{product_url}" crossorigin>\n'
        f'<table data-buybutton-card role="presentation" height="{CARD_HEIGHT}" '
        'cellpadding="0" cellspacing="0">\n'
        f"{image}"
        f"<tr><td><strong>{escape(facts.title)}</strong><br>{escape(facts.price)}</td></tr>\n"
        f"<tr><td>{link}</td></tr>\n</table>\n"
        f'<script async src="{api}/widgets/buybutton.js"></script>'
    )


def button_snippet(
    *,
    href: str,
    sku: str,
    label: str,
    api_base: str,
    theme: Mapping[str, str] | None = None,
    layout: str | None = None,
    facts: CardFacts | None = None,
    heading: int | None = None,
    currency: str | None = None,
) -> str:
    """A link that works with no JavaScript, enhanced by the widget script when it loads.

    The link carries the full checkout URL; the script adds live price and stock (and, with
    ``layout="card"``, the product card). The stylesheet gives the link its final size
    before the script runs, so the page does not shift. A card given ``facts`` needs no
    stylesheet (see :func:`_rich_card`); ``heading`` (1-6) makes the card's title a heading
    of that level, which is otherwise a styled paragraph, so the host's outline is kept.
    """
    extra = _theme(theme) + (_heading(heading) if layout == "card" else "")
    if currency:  # the currency signed into href: the widget prices the button the same way
        extra += f' data-buybutton-currency="{escape(currency)}"'
    if layout == "card" and facts is not None:
        extra += (
            f' data-buybutton-title="{escape(facts.title)}"'
            f' data-buybutton-price="{escape(facts.price)}"'
            + (f' data-buybutton-image="{escape(facts.image_url)}"' if facts.image_url else "")
        )
    link = _widget_link(
        href=href, sku=sku, label=label, api_base=api_base, layout=layout, extra=extra
    )
    if layout == "card" and facts is not None:
        return _rich_card(link=link, sku=sku, api_base=api_base, facts=facts, currency=currency)
    css, script = _assets(api_base)
    return f"{css}\n{link}\n{script}"


def card_snippet(
    *,
    href: str,
    sku: str,
    label: str,
    api_base: str,
    theme: Mapping[str, str] | None = None,
    facts: CardFacts | None = None,
    heading: int | None = None,
) -> str:
    """A product card: image, title, price, stock, options and quantity, and a buy button."""
    return button_snippet(
        href=href,
        sku=sku,
        label=label,
        api_base=api_base,
        theme=theme,
        layout="card",
        facts=facts,
        heading=heading,
    )


def email_snippet(
    *,
    href: str,
    title: str,
    price: str,
    image_url: str | None,
    label: str = "Buy now",
    color: str = "#1f5eff",
) -> str:
    """Email-safe HTML: tables, inline styles, no script, no external CSS, a "bulletproof"
    button (VML for Outlook, a padded link for everyone else) and an image with alt text and
    width. Everything links to ``href``, a signed checkout link."""
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", color):
        raise ValueError("color must be a #rrggbb hex color")
    link, text = escape(href), escape(title)
    font = "font-family:Arial,Helvetica,sans-serif;"
    image = (
        f'<tr><td align="center" style="padding:0 0 12px;">'
        f'<a href="{link}" target="_blank"><img src="{escape(image_url)}" alt="{text}" '
        f'width="240" style="display:block;width:240px;max-width:100%;height:auto;border:0;">'
        f"</a></td></tr>\n"
        if image_url
        else ""
    )
    return (
        '<table role="presentation" cellpadding="0" cellspacing="0" border="0" width="100%" '
        'style="max-width:480px;margin:0 auto;">\n'
        f"{image}"
        f'<tr><td align="center" style="{font}font-size:18px;font-weight:bold;color:#17171c;'
        f'padding:0 0 4px;">{text}</td></tr>\n'
        f'<tr><td align="center" style="{font}font-size:16px;color:#4d5060;padding:0 0 16px;">'
        f"{escape(price)}</td></tr>\n"
        '<tr><td align="center">\n'
        "<!--[if mso]>"
        '<v:roundrect xmlns:v="urn:schemas-microsoft-com:vml" '
        'xmlns:w="urn:schemas-microsoft-com:office:word" '
        f'href="{link}" style="height:48px;v-text-anchor:middle;width:220px;" arcsize="17%" '
        f'stroke="f" fillcolor="{color}"><w:anchorlock/>'
        f'<center style="color:#ffffff;{font}font-size:16px;font-weight:bold;">{escape(label)}'
        "</center></v:roundrect><![endif]-->\n"
        "<!--[if !mso]><!-->"
        f'<a href="{link}" target="_blank" style="display:inline-block;background:{color};'
        f"color:#ffffff;{font}font-size:16px;font-weight:bold;line-height:48px;"
        'padding:0 28px;border-radius:8px;text-decoration:none;">'
        f"{escape(label)}</a><!--<![endif]-->\n"
        "</td></tr>\n</table>"
    )


@dataclass(frozen=True, slots=True)
class Moment:
    """A product shown over a video from ``at`` to ``until`` seconds."""

    sku: str
    href: str
    title: str
    at: float
    until: float

    def __post_init__(self) -> None:
        if not 0 <= self.at < self.until:
            raise ValueError("a moment needs 0 <= at < until (seconds)")


def _clock(seconds: float) -> str:
    """``75`` → ``1:15``, ``3725`` → ``1:02:05``: the time-stamp form video players link."""
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def video_snippet(
    *,
    video_src: str,
    moments: Iterable[Moment],
    api_base: str,
    poster: str | None = None,
    caption: str | None = None,
) -> str:
    """An HTML5 video with shoppable moments: each product appears over the video during its
    time range and links to checkout. Without the script the links are a plain list."""
    poster_attr = f' poster="{escape(poster)}"' if poster else ""
    items = "\n".join(
        "  <li>"
        + _widget_link(
            href=m.href,
            sku=m.sku,
            label=m.title,
            api_base=api_base,
            layout="moment",
            extra=f' data-buybutton-at="{m.at:g}" data-buybutton-until="{m.until:g}"',
        )
        + f" ({_clock(m.at)})</li>"
        for m in moments
    )
    caption_html = f"\n<figcaption>{escape(caption)}</figcaption>" if caption else ""
    _, script = _assets(api_base)
    # The video's own stylesheet keeps it inside a phone's width (max-width: 100%).
    return (
        f'<link rel="stylesheet" href="{escape(api_base)}/widgets/buybutton-video.css">\n'
        "<figure data-buybutton-video>\n"
        f'<video src="{escape(video_src)}"{poster_attr} controls playsinline preload="metadata" '
        'width="640" height="360"></video>'
        f"{caption_html}\n"
        f'<ul class="buybutton-moments">\n{items}\n</ul>\n'
        "</figure>\n"
        f"{script}"
    )


def video_description(moments: Iterable[tuple[Moment, str]]) -> str:
    """Plain text for a video description on platforms that only allow links: one line per
    moment with its time stamp (which most players turn into a chapter link) and short link."""
    return "\n".join(f"{_clock(m.at)} {m.title}: {url}" for m, url in moments)


def social_text(*, title: str, price: str, url: str, hashtags: Iterable[str] = ()) -> str:
    """A caption block for social posts and chat messages: links only, no markup."""
    tags = " ".join("#" + re.sub(r"[^0-9A-Za-z_]", "", t) for t in hashtags if t)
    return f"{title} · {price}\nBuy it in one tap: {url}" + (f"\n{tags}" if tags else "")


def qr_snippet(*, short_url: str, title: str) -> str:
    """An <img> of the short link's QR code (SVG; add .png for print shops that want one)."""
    return (
        f'<img src="{escape(short_url)}/qr.svg" alt="QR code: buy {escape(title)}" '
        'width="200" height="200">'
    )
