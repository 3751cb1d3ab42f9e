"""Snippets for every surface, filled in from the catalog: what the snippet builder shows and
``buybutton snippet`` prints. The HTML itself comes from the SDK (``buybutton.snippets``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from typing import TypedDict

from sqlalchemy.orm import Session, sessionmaker

from buybutton import BuyButton, snippets
from buybutton.money import format_amount
from buybutton.tokens import CheckoutLink
from buybutton.urls import absolute, short_path
from buybutton_server.db import write_session
from buybutton_server.domain import carts, short_links
from buybutton_server.domain.catalog import ProductView, product_view
from buybutton_server.errors import InvalidInput, ProductUnavailable

SURFACES = {
    "button": "Blog button",
    "card": "Product card",
    "email": "Email (newsletter)",
    "video": "Shoppable video",
    "social": "Social post or chat (short link)",
    "qr": "QR code (print, TV)",
}
DEFAULT_SOURCE = {
    "button": "blog",
    "card": "blog",
    "email": "email",
    "video": "video",
    "social": "instagram",
    "qr": "qr",
}


@dataclass(frozen=True, slots=True)
class SnippetOptions:
    sku: str
    surface: str = "button"
    label: str = "Buy now"
    source: str | None = None
    campaign: str | None = None
    content: str | None = None
    # The creator whose post this is (commissions): signed into every link of the snippet.
    creator: str | None = None
    theme: dict[str, str] = field(default_factory=dict)
    video_src: str = ""
    at: float = 0
    until: float = 15
    # The video's further moments, (sku, at, until) each, after ``sku`` from ``at`` to ``until``.
    moments: tuple[tuple[str, float, float], ...] = ()

    def __post_init__(self) -> None:
        if self.surface not in SURFACES:
            raise InvalidInput(f"surface must be one of {', '.join(SURFACES)}")
        # Attribution is validated by the link format itself.
        try:
            CheckoutLink(
                sku=self.sku,
                source=self.attribution_source,
                campaign=self.campaign,
                content=self.content,
                creator=self.creator,
            )
        except ValueError as problem:
            raise InvalidInput(str(problem)) from None
        if not 0 < len(self.label) <= 80:
            raise InvalidInput("label must be 1-80 characters")
        if self.surface == "video" and not self.video_src.strip():
            # No placeholder: a relative "/media/video.mp4" would resolve against the host page.
            raise InvalidInput(
                "a video snippet needs the video file's URL (Video file URL; --video-src)"
            )
        if self.surface == "video":
            for sku, at, until in ((self.sku, self.at, self.until), *self.moments):
                if not 0 <= at < until:
                    raise InvalidInput("each moment needs 0 <= from < until (seconds)")
                try:
                    CheckoutLink(sku=sku)
                except ValueError as problem:
                    raise InvalidInput(str(problem)) from None

    @property
    def attribution_source(self) -> str:
        return self.source or DEFAULT_SOURCE[self.surface]


class Attribution(TypedDict):
    """The placement a snippet's links carry (``source`` always: a surface's default)."""

    source: str
    campaign: str | None
    content: str | None
    creator: str | None


@dataclass(frozen=True, slots=True)
class Snippet:
    """``code`` is what the publisher pastes; ``kind`` says whether it is HTML or plain text
    (social captions); ``short_url`` is set for surfaces that post a short link, and
    ``text`` holds a plain-text companion (a video description with time stamps).
    ``needs_short_link`` says the surface posts a short link that does not exist yet and
    ``code`` is empty: reading (a GET) never mints one; creating it is a separate POST."""

    code: str
    kind: str
    short_url: str | None = None
    text: str | None = None
    needs_short_link: bool = False


def make_snippet(
    sessions: sessionmaker[Session], bb: BuyButton, options: SnippetOptions, *, mint: bool
) -> Snippet:
    """The snippet for ``options``. Surfaces that post a short link mint it (or reuse the
    product's existing one) only when ``mint`` is set; otherwise they use an existing code
    or come back with ``needs_short_link``, having written nothing."""
    product = product_view(sessions, options.sku)
    if product is None or not product.active:
        raise ProductUnavailable("No product with that sku is for sale.")
    price = format_amount(product.price_amount, product.currency)
    attribution = Attribution(
        source=options.attribution_source,
        campaign=options.campaign,
        content=options.content,
        creator=options.creator,
    )
    if options.surface in ("button", "card"):
        code = bb.embed_snippet(
            options.sku,
            label=options.label,
            layout="card" if options.surface == "card" else None,
            theme=options.theme or None,
            **attribution,
        )
        return Snippet(code, "html")
    if options.surface == "email":
        code = bb.email_snippet(
            options.sku,
            title=product.title,
            price=price,
            image_url=_image_url(bb, product),
            label=options.label,
            **attribution,
        )
        return Snippet(code, "html")
    link = CheckoutLink(sku=options.sku, **attribution)
    short = mint_short_link(sessions, link) if mint else existing_short_link(sessions, link)
    if short is None:
        kind = "text" if options.surface == "social" else "html"
        return Snippet("", kind, needs_short_link=True)
    short_url = absolute(bb.base_url, short_path(short))
    if options.surface == "video":
        return _video(sessions, bb, options, product, attribution, short_url, mint=mint)
    if options.surface == "social":
        text = snippets.social_text(title=product.title, price=price, url=short_url)
        return Snippet(text, "text", short_url)
    return Snippet(snippets.qr_snippet(short_url=short_url, title=product.title), "html", short_url)


def _video(
    sessions: sessionmaker[Session],
    bb: BuyButton,
    options: SnippetOptions,
    product: ProductView,
    attribution: Attribution,
    short_url: str,
    *,
    mint: bool,
) -> Snippet:
    """The video with each moment's product over it; the description lists every moment."""
    lines = [(bb.moment(options.sku, title=product.title, at=options.at, until=options.until,
                        **attribution), short_url)]  # fmt: skip
    for sku, at, until in options.moments:
        other = product_view(sessions, sku)
        if other is None or not other.active:
            raise ProductUnavailable(f"No product with sku {sku!r} is for sale.")
        link = CheckoutLink(sku=sku, **attribution)
        short = mint_short_link(sessions, link) if mint else existing_short_link(sessions, link)
        if short is None:
            return Snippet("", "html", needs_short_link=True)
        moment = bb.moment(sku, title=other.title, at=at, until=until, **attribution)
        lines.append((moment, absolute(bb.base_url, short_path(short))))
    lines.sort(key=lambda line: line[0].at)
    video = bb.video_snippet(options.video_src.strip(), [m for m, _ in lines])
    return Snippet(video, "html", short_url, text=snippets.video_description(lines))


def mint_short_link(sessions: sessionmaker[Session], link: CheckoutLink) -> str:
    """A short code for ``link``; links without personal data reuse an existing code for the
    same product and attribution, so previewing a snippet twice does not mint twice."""
    with write_session(sessions) as session:
        return short_links.mint_or_reuse(session, link)


def existing_short_link(sessions: sessionmaker[Session], link: CheckoutLink) -> str | None:
    """The code already minted for ``link``, if any; reads only."""
    with sessions() as session:
        return short_links.existing_code(session, link)


def _image_url(bb: BuyButton, product: ProductView) -> str | None:
    return absolute(bb.base_url, product.image_url) if product.image_url else None


# -- shop the look: several products, one Buy ---------------------------------------------


def make_look_snippet(
    factory: sessionmaker[Session],
    bb: BuyButton,
    items: list[tuple[str, int]],
    *,
    label: str = "Buy the look",
    source: str | None = "blog",
    campaign: str | None = None,
    content: str | None = None,
    codes: tuple[str, ...] | None = None,
    creator: str | None = None,
) -> str:
    """A "shop the look" card for a blog post or an email: each product with its image,
    title and quantity, the total, and one Buy button to a signed multi-item link. Plain
    HTML with inline styles and no script (no widget needed; email clients show it too).
    Raises ``InvalidInput``/``ProductUnavailable`` naming a line the shop cannot sell."""
    try:
        href = bb.checkout_link(
            items=items,
            source=source,
            campaign=campaign,
            content=content,
            codes=codes,
            creator=creator,
        )
    except ValueError as refused:
        raise InvalidInput(str(refused)) from None
    found = carts.products_by_sku(factory, [sku for sku, _ in items])
    problem = carts.cart_problem(items, found)
    if problem is not None:
        raise problem
    if not 0 < len(label) <= 80:
        raise InvalidInput("label must be 1-80 characters")
    font = "font-family:Arial,Helvetica,sans-serif;"
    rows, total = [], 0
    for sku, quantity in items:
        product = found[sku]
        total += product.price_amount * quantity
        image = (
            f'<img src="{escape(absolute(bb.base_url, product.image_url))}" alt="" width="64" '
            'height="64" style="display:block;width:64px;height:64px;object-fit:cover;'
            'border-radius:6px;border:0;">'
            if product.image_url
            else ""
        )
        price = format_amount(product.price_amount, product.currency)
        rows.append(
            f'<tr><td style="padding:6px 12px 6px 0;width:64px;">{image}</td>'
            f'<td style="{font}font-size:15px;color:#17171c;padding:6px 0;">'
            f'{escape(product.title)}<br><span style="color:#4d5060;">{quantity} &times; '
            f"{escape(price)}</span></td></tr>"
        )
    currency = found[items[0][0]].currency
    link = escape(href)
    return (
        '<table role="presentation" class="bb-look" cellpadding="0" cellspacing="0" border="0" '
        'style="max-width:480px;width:100%;margin:0 auto;border:1px solid #e3e5ee;'
        'border-radius:12px;padding:12px;">\n'
        + "\n".join(rows)
        + f'\n<tr><td colspan="2" style="{font}font-size:16px;font-weight:bold;color:#17171c;'
        f'padding:10px 0;">Total {escape(format_amount(total, currency))}</td></tr>\n'
        f'<tr><td colspan="2"><a href="{link}" style="{font}display:block;text-align:center;'
        "background:#1f5eff;color:#ffffff;font-size:16px;font-weight:bold;padding:14px 20px;"
        f'border-radius:8px;text-decoration:none;">{escape(label)}</a></td></tr>\n'
        "</table>"
    )
