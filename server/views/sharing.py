"""Pages for places that only take a URL: short links with unfurl tags, QR codes, public
product pages and the oEmbed endpoint that lets a CMS turn a product URL into a card."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode, urlsplit
from xml.sax.saxutils import escape as xml_escape

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from buybutton.money import format_amount
from buybutton.tokens import SKU_PATTERN, CheckoutLink
from buybutton_server.db import run_read
from buybutton_server.domain import short_links
from buybutton_server.domain.catalog import ProductView, product_view
from buybutton_server.errors import NotFound, NotImplementedHere, ProductUnavailable

# Link-preview fetchers of messengers and social apps. They get a page with the product's
# Open Graph tags; people get the one-hop redirect to checkout.
_UNFURLERS = re.compile(
    r"facebookexternalhit|facebot|twitterbot|slackbot|whatsapp|telegrambot|discordbot|"
    r"linkedinbot|pinterest|redditbot|applebot|skypeuripreview|iframely|embedly|"
    r"mastodon|bluesky|signal|vkshare|snapchat|google-pagerenderer",
    re.IGNORECASE,
)


class ShortLinkUnknown(NotFound):
    title = "This link is not valid"
    message = "We don't know this link. Check that it was copied in full."


_CODE = re.compile(r"^[A-Za-z0-9]{6,16}$")

EMBED_WIDTH, EMBED_HEIGHT = 340, 430


def _absolute(request: Request, url: str) -> str:
    return request.app.state.settings.base_url + url if url.startswith("/") else url


def _signed_path(request: Request, link: CheckoutLink) -> str:
    return "/c/" + request.app.state.link_signer.sign(link)


def _find_short_link(request: Request) -> short_links.ShortLinkView:
    code = request.path_params["code"]
    found = short_links.find(request.app.state.sessions, code) if _CODE.match(code) else None
    if found is None:
        raise ShortLinkUnknown()
    return found


async def short_link(request: Request) -> Response:
    """``/l/{code}``: one redirect to checkout, or the unfurl page for link-preview bots."""
    stored = await run_read(request.app.state.sessions, _find_short_link, request)
    target = _signed_path(request, stored.checkout_link())
    agent = request.headers.get("user-agent", "")
    if not _UNFURLERS.search(agent):
        return RedirectResponse(target, status_code=302, headers={"Cache-Control": "no-store"})
    sessions = request.app.state.sessions
    product = await run_read(sessions, product_view, sessions, stored.sku)
    if product is None or not product.active:
        raise ProductUnavailable()
    return _product_page(request, product, buy_path=target, canonical=str(request.url))


async def short_link_qr(request: Request) -> Response:
    """``/l/{code}/qr.svg`` and ``/l/{code}/qr.png``: the short link as a QR code."""
    stored = await run_read(request.app.state.sessions, _find_short_link, request)
    kind = request.path_params["kind"]
    if kind not in ("svg", "png"):
        raise NotFound("QR codes come as qr.svg or qr.png.")
    url = f"{request.app.state.settings.base_url}/l/{stored.code}"
    body = short_links.qr_code(url, kind)
    media_type = "image/svg+xml" if kind == "svg" else "image/png"
    return Response(body, media_type=media_type, headers={"Cache-Control": "public, max-age=86400"})


def _active_product(request: Request) -> ProductView:
    sku = request.path_params["sku"]
    product = product_view(request.app.state.sessions, sku) if SKU_PATTERN.match(sku) else None
    if product is None or not product.active:
        raise ProductUnavailable()
    return product


def _product_page(
    request: Request, product: ProductView, *, buy_path: str, canonical: str, embed: bool = False
) -> Response:
    settings = request.app.state.settings
    page_url = f"{settings.base_url}/p/{product.sku}"
    oembed = f"{settings.base_url}/oembed?"
    context: dict[str, Any] = {
        "product": product,
        "image_url": _absolute(request, product.image_url),
        "buy_url": settings.base_url + buy_path,
        "canonical": canonical,
        "oembed_json": oembed + urlencode({"url": page_url, "format": "json"}),
        "oembed_xml": oembed + urlencode({"url": page_url, "format": "xml"}),
        "csp_nonce": request.state.csp_nonce,
    }
    headers = {"Cache-Control": "public, max-age=60"}
    if embed:
        # The card is meant to be framed by any CMS page: it has a link, no form, no state.
        request.state.frame_ancestors = ["*"]
    return request.app.state.templates.TemplateResponse(
        request, "product_embed.html" if embed else "product.html", context, headers=headers
    )


async def product_page(request: Request) -> Response:
    """``/p/{sku}``: a public product page, the URL people paste into a CMS or a post."""
    product = await run_read(request.app.state.sessions, _active_product, request)
    link = CheckoutLink(sku=product.sku, source="web", content="product-page")
    url = f"{request.app.state.settings.base_url}/p/{product.sku}"
    return _product_page(request, product, buy_path=_signed_path(request, link), canonical=url)


async def product_embed(request: Request) -> Response:
    """``/p/{sku}/embed``: the card an oEmbed consumer frames."""
    product = await run_read(request.app.state.sessions, _active_product, request)
    link = CheckoutLink(sku=product.sku, source="oembed")
    url = f"{request.app.state.settings.base_url}/p/{product.sku}"
    return _product_page(
        request, product, buy_path=_signed_path(request, link), canonical=url, embed=True
    )


class OEmbedNotImplemented(NotImplementedHere):
    code = "format_not_supported"
    title = "Format not supported"
    message = "oEmbed answers in json or xml."


def _dimension(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name, "")
    return int(raw) if raw.isdigit() and int(raw) > 0 else None


async def oembed(request: Request) -> Response:
    """The oEmbed provider endpoint (https://oembed.com, section 2.2), type ``rich``."""
    settings = request.app.state.settings
    fmt = request.query_params.get("format", "json")
    if fmt not in ("json", "xml"):
        raise OEmbedNotImplemented()
    url = request.query_params.get("url", "")
    parts = urlsplit(url)
    base = urlsplit(settings.base_url)
    match = re.fullmatch(r"/p/([^/]+)/?", parts.path)
    if parts.netloc != base.netloc or parts.scheme not in ("http", "https") or not match:
        raise NotFound("No product at that URL.")
    request.path_params["sku"] = match.group(1)
    product = await run_read(request.app.state.sessions, _active_product, request)
    width, height = EMBED_WIDTH, EMBED_HEIGHT
    max_width, max_height = _dimension(request, "maxwidth"), _dimension(request, "maxheight")
    if max_width is not None:
        width = min(width, max_width)
    if max_height is not None:
        height = min(height, max_height)
    src = f"{settings.base_url}/p/{product.sku}/embed"
    title = product.title
    html = (
        f'<iframe src="{xml_escape(src, {chr(34): "&quot;"})}" width="{width}" '
        f'height="{height}" title="{xml_escape(title, {chr(34): "&quot;"})}" '
        'style="border:0;max-width:100%" loading="lazy"></iframe>'
    )
    answer: dict[str, Any] = {
        "version": "1.0",
        "type": "rich",
        "provider_name": "buybutton",
        "provider_url": settings.base_url,
        "title": f"{title} · {format_amount(product.price_amount, product.currency)}",
        "html": html,
        "width": width,
        "height": height,
        "cache_age": 300,
    }
    if product.image_url:
        answer.update(
            thumbnail_url=_absolute(request, product.image_url),
            thumbnail_width=600,
            thumbnail_height=600,
        )
    headers = {"Access-Control-Allow-Origin": "*", "Cache-Control": "public, max-age=300"}
    if fmt == "json":
        return JSONResponse(answer, headers=headers)
    fields = "".join(f"<{key}>{xml_escape(str(value))}</{key}>" for key, value in answer.items())
    body = f'<?xml version="1.0" encoding="utf-8" standalone="yes"?>\n<oembed>{fields}</oembed>'
    return Response(body, media_type="text/xml; charset=utf-8", headers=headers)
