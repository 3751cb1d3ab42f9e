"""Sharing a product where only a URL fits: short links, QR codes, product pages and the
oEmbed answer that lets a CMS turn a product URL into a card."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape as xml_escape

from sqlalchemy.orm import Session, sessionmaker

from buybutton.money import format_amount
from buybutton.tokens import CheckoutLink, LinkSigner
from buybutton.urls import absolute, checkout_path, short_path
from buybutton_server.domain import short_links
from buybutton_server.domain.catalog import ProductView
from buybutton_server.domain.short_links import ShortLinkView
from buybutton_server.errors import NotFound, NotImplementedHere
from buybutton_server.services.catalog_reads import active_product

_CODE = re.compile(r"^[A-Za-z0-9]{6,16}$")
_PRODUCT_PAGE = re.compile(r"/p/([^/]+)/?")
EMBED_WIDTH, EMBED_HEIGHT = 340, 430
QR_MEDIA_TYPES = {"svg": "image/svg+xml", "png": "image/png"}
OEMBED_FORMATS = ("json", "xml")


class ShortLinkUnknown(NotFound):
    title = "This link is not valid"
    message = "We don't know this link. Check that it was copied in full."


class OEmbedNotImplemented(NotImplementedHere):
    code = "format_not_supported"
    title = "Format not supported"
    message = "oEmbed answers in json or xml."


def product_page_path(sku: str) -> str:
    """``/p/{sku}``: the public product page."""
    return f"/p/{sku}"


def short_link(sessions: sessionmaker[Session], code: str) -> ShortLinkView:
    """The short link stored under ``code``; :class:`ShortLinkUnknown` if there is none."""
    found = short_links.find(sessions, code) if _CODE.match(code) else None
    if found is None:
        raise ShortLinkUnknown()
    return found


def signed_checkout_path(signer: LinkSigner, link: CheckoutLink) -> str:
    return checkout_path(signer.sign(link))


def qr_code(base_url: str, code: str, kind: str) -> tuple[bytes, str]:
    """The short link ``code`` as a QR code image (``svg`` or ``png``) and its media type."""
    media_type = QR_MEDIA_TYPES.get(kind)
    if media_type is None:
        raise NotFound("QR codes come as qr.svg or qr.png.")
    return short_links.qr_code(absolute(base_url, short_path(code)), kind), media_type


@dataclass(frozen=True, slots=True)
class ProductPage:
    """What a product page or card shows, with every address it links to made absolute."""

    product: ProductView
    image_url: str
    buy_url: str
    page_url: str


def product_page(
    sessions: sessionmaker[Session], signer: LinkSigner, base_url: str, sku: str, *, source: str
) -> ProductPage:
    """The page ``/p/{sku}`` (``source="web"``) or its card (``source="oembed"``)."""
    product = active_product(sessions, sku)
    content = "product-page" if source == "web" else None
    link = CheckoutLink(sku=product.sku, source=source, content=content)
    return page_for(product, base_url, signed_checkout_path(signer, link))


def page_for(product: ProductView, base_url: str, buy_path: str) -> ProductPage:
    return ProductPage(
        product=product,
        image_url=absolute(base_url, product.image_url),
        buy_url=absolute(base_url, buy_path),
        page_url=absolute(base_url, product_page_path(product.sku)),
    )


def sku_of_page_url(base_url: str, url: str) -> str:
    """The sku of one of our product page URLs; :class:`NotFound` for any other URL."""
    parts, base = urlsplit(url), urlsplit(base_url)
    match = _PRODUCT_PAGE.fullmatch(parts.path)
    if parts.netloc != base.netloc or parts.scheme not in ("http", "https") or not match:
        raise NotFound("No product at that URL.")
    return match.group(1)


def _attribute(value: str) -> str:
    return xml_escape(value, {'"': "&quot;"})


def oembed(
    product: ProductView, base_url: str, *, max_width: int | None, max_height: int | None
) -> dict[str, Any]:
    """The oEmbed answer (https://oembed.com, section 2.2), type ``rich``: a framed card."""
    width = EMBED_WIDTH if max_width is None else min(EMBED_WIDTH, max_width)
    height = EMBED_HEIGHT if max_height is None else min(EMBED_HEIGHT, max_height)
    src = absolute(base_url, product_page_path(product.sku) + "/embed")
    html = (
        f'<iframe src="{_attribute(src)}" width="{width}" height="{height}" '
        f'title="{_attribute(product.title)}" style="border:0;max-width:100%" '
        'loading="lazy"></iframe>'
    )
    answer: dict[str, Any] = {
        "version": "1.0",
        "type": "rich",
        "provider_name": "buybutton",
        "provider_url": base_url,
        "title": f"{product.title} · {format_amount(product.price_amount, product.currency)}",
        "html": html,
        "width": width,
        "height": height,
        "cache_age": 300,
    }
    if product.image_url:
        answer.update(
            thumbnail_url=absolute(base_url, product.image_url),
            thumbnail_width=600,
            thumbnail_height=600,
        )
    return answer


def oembed_xml(answer: dict[str, Any]) -> str:
    fields = "".join(f"<{key}>{xml_escape(str(value))}</{key}>" for key, value in answer.items())
    return f'<?xml version="1.0" encoding="utf-8" standalone="yes"?>\n<oembed>{fields}</oembed>'
