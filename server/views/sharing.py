"""Pages for places that only take a URL: short links with unfurl tags, QR codes, public
product pages and the oEmbed endpoint that lets a CMS turn a product URL into a card."""

from __future__ import annotations

import re
from typing import Any, cast
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from buybutton.urls import absolute, short_path
from buybutton_server.services import feeds_sharing, sharing
from buybutton_server.services.catalog_reads import active_product
from buybutton_server.services.database import run_read
from buybutton_server.services.sharing import OEmbedNotImplemented, ProductPage

NO_STORE = {"Cache-Control": "no-store"}
PRIVATE_CACHE = {"Cache-Control": "private, max-age=60"}
VARY_AGENT = {"Vary": "User-Agent"}

# Link-preview fetchers of messengers and social apps. They get a page with the product's
# Open Graph tags; people get the one-hop redirect to checkout.
_UNFURLERS = re.compile(
    r"facebookexternalhit|facebot|twitterbot|slackbot|whatsapp|telegrambot|discordbot|"
    r"linkedinbot|pinterest|redditbot|applebot|skypeuripreview|iframely|embedly|"
    r"mastodon|bluesky|signal|vkshare|snapchat|google-pagerenderer",
    re.IGNORECASE,
)


async def short_link(request: Request) -> Response:
    """``/l/{code}``: one redirect to checkout, or the unfurl page for link-preview bots.

    The answer depends on the User-Agent, so it says so (``Vary``), and the canonical URL is
    built from the configured base URL: a forged ``Host`` header cannot put another site's
    address into a page a bot caches."""
    state = request.app.state
    stored = await run_read(
        state.sessions, sharing.short_link, state.sessions, request.path_params["code"]
    )
    target = sharing.signed_checkout_path(state.link_signer, stored.checkout_link())
    if not _UNFURLERS.search(request.headers.get("user-agent", "")):
        return RedirectResponse(target, status_code=302, headers={**NO_STORE, **VARY_AGENT})
    product = await run_read(state.sessions, active_product, state.sessions, stored.sku)
    page = sharing.page_for(product, state.settings.base_url, target)
    canonical = absolute(state.settings.base_url, short_path(stored.code))
    return _render(request, page, canonical=canonical, vary=VARY_AGENT)


async def short_link_qr(request: Request) -> Response:
    """``/l/{code}/qr.svg`` and ``/l/{code}/qr.png``: the short link as a QR code."""
    state = request.app.state
    stored = await run_read(
        state.sessions, sharing.short_link, state.sessions, request.path_params["code"]
    )
    body, media_type = sharing.qr_code(
        state.settings.base_url, stored.code, request.path_params["kind"]
    )
    return Response(body, media_type=media_type, headers={"Cache-Control": "public, max-age=86400"})


def _render(
    request: Request,
    page: ProductPage,
    *,
    canonical: str,
    embed: bool = False,
    vary: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    oembed = absolute(request.app.state.settings.base_url, "/oembed?")
    context: dict[str, Any] = {
        "product": page.product,
        "image_url": page.image_url,
        "buy_url": page.buy_url,
        "canonical": canonical,
        "oembed_json": oembed + urlencode({"url": page.page_url, "format": "json"}),
        "oembed_xml": oembed + urlencode({"url": page.page_url, "format": "xml"}),
        "csp_nonce": request.state.csp_nonce,
        **(extra or {}),
    }
    # Each answer carries its own CSP nonce: a shared cache must not hand one response (and
    # its nonce) to everyone, so only the visitor's own browser may keep it.
    headers = {**PRIVATE_CACHE, **(vary or {})}
    if embed:
        # The card is meant to be framed by any CMS page: it has a link, no form, no state.
        request.state.frame_ancestors = ["*"]
    name = "product_embed.html" if embed else "product.html"
    return cast(
        Response,
        request.app.state.templates.TemplateResponse(request, name, context, headers=headers),
    )


async def _page(request: Request, *, source: str) -> ProductPage:
    state = request.app.state
    return await run_read(
        state.sessions,
        sharing.product_page,
        state.sessions,
        state.link_signer,
        state.settings.base_url,
        request.path_params["sku"],
        source=source,
    )


async def product_page(request: Request) -> Response:
    """``/p/{sku}``: a public product page, the URL people paste into a CMS or a post, and
    the landing page of the product feeds (``?source=google_shopping`` ...: the buy link
    carries it, so the checkout is credited to the channel). It carries schema.org JSON-LD,
    Meta's ``product:*`` tags, a 1200x630 link preview and share links per messenger."""
    state = request.app.state
    page = await _page(
        request, source=feeds_sharing.page_source(request.query_params.get("source"))
    )
    extras = await run_in_threadpool(
        feeds_sharing.page_extras,
        state.sessions,
        state.settings.base_url,
        page.product.sku,
        page_url=page.page_url,
        image_url=page.image_url,
        buy_url=page.buy_url,
    )
    extra: dict[str, Any] = {}
    if extras is not None:
        extra = {
            "product_facts": extras.facts,
            "product_jsonld": extras.jsonld,
            "preview_url": extras.preview_url,
            "share": extras.share,
        }
    return _render(request, page, canonical=page.page_url, extra=extra)


async def product_embed(request: Request) -> Response:
    """``/p/{sku}/embed``: the card an oEmbed consumer frames."""
    page = await _page(request, source="oembed")
    return _render(request, page, canonical=page.page_url, embed=True)


def _dimension(request: Request, name: str) -> int | None:
    """A positive ``maxwidth``/``maxheight``, or None for anything else (absent, ``²``,
    5,000 digits): ``isdigit()`` lets ``²`` through to ``int()``, which then fails."""
    raw = request.query_params.get(name, "")
    if not (0 < len(raw) <= 6 and raw.isascii() and raw.isdecimal()):
        return None
    return int(raw) or None


async def oembed(request: Request) -> Response:
    """The oEmbed provider endpoint (https://oembed.com, section 2.2), type ``rich``."""
    state = request.app.state
    base_url = state.settings.base_url
    fmt = request.query_params.get("format", "json")
    if fmt not in sharing.OEMBED_FORMATS:
        raise OEmbedNotImplemented()
    sku = sharing.sku_of_page_url(base_url, request.query_params.get("url", ""))
    product = await run_read(state.sessions, active_product, state.sessions, sku)
    answer = sharing.oembed(
        product,
        base_url,
        max_width=_dimension(request, "maxwidth"),
        max_height=_dimension(request, "maxheight"),
    )
    headers = {"Access-Control-Allow-Origin": "*", "Cache-Control": "public, max-age=300"}
    if fmt == "json":
        return JSONResponse(answer, headers=headers)
    return Response(
        sharing.oembed_xml(answer), media_type="text/xml; charset=utf-8", headers=headers
    )
