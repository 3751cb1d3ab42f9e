"""A product page's parts for channels and messengers: structured data (schema.org JSON-LD
and Meta's ``product:*`` tags), share links (WhatsApp, Telegram, Messenger, X, Pinterest,
email and the Web Share API), each a short link attributed to its channel, and the link
preview picture. Rules and drawing: :mod:`buybutton_server.domain.feeds_page`."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from sqlalchemy.orm import Session, sessionmaker

from buybutton.tokens import CheckoutLink
from buybutton.urls import absolute, short_path
from buybutton_server.db import read_session, write_session
from buybutton_server.domain import feeds_page, short_links
from buybutton_server.domain.feeds_page import Facts

Sessions = sessionmaker[Session]
_SOURCE = re.compile(r"^[a-z0-9_]{1,32}$")
# (channel: the short link's source, label shown)
SHARE_CHANNELS = (
    ("whatsapp", "WhatsApp"),
    ("telegram", "Telegram"),
    ("messenger", "Messenger"),
    ("x", "X"),
    ("pinterest", "Pinterest"),
    ("email", "Email"),
)
WEB_SHARE = "web_share"


def page_source(raw: str | None) -> str:
    """The attribution a product page passes on to its checkout link (``?source=meta``
    from a feed's link); anything odd is ``web``."""
    return raw if raw and _SOURCE.match(raw) else "web"


def preview_path(found: Facts) -> str:
    return f"/media/previews/{found.sku}/{found.preview_digest}.jpg"


@dataclass(frozen=True, slots=True)
class ShareLink:
    channel: str
    label: str
    href: str


@dataclass(frozen=True, slots=True)
class ShareBlock:
    """What ``_share_links.html`` shows: a link per channel and the Web Share button's
    short link and text."""

    title: str
    links: tuple[ShareLink, ...]
    web_share_url: str


@dataclass(frozen=True, slots=True)
class PageExtras:
    facts: Facts
    jsonld: dict[str, Any]
    preview_url: str
    share: ShareBlock


def _href(channel: str, url: str, title: str, picture: str) -> str:
    if channel == "whatsapp":
        return "https://wa.me/?" + urlencode({"text": f"{title} {url}"}, quote_via=quote)
    if channel == "telegram":
        return "https://t.me/share/url?" + urlencode({"url": url, "text": title})
    if channel == "messenger":  # the app's share sheet; the web dialog needs an app id
        return "fb-messenger://share/?" + urlencode({"link": url})
    if channel == "x":
        return "https://x.com/intent/post?" + urlencode({"text": title, "url": url})
    if channel == "pinterest":
        query = {"url": url, "media": picture, "description": title}
        return "https://www.pinterest.com/pin/create/button/?" + urlencode(query)
    body = urlencode({"subject": title, "body": f"{title}\n{url}"}, quote_via=quote)
    return "mailto:?" + body


def short_urls(sessions: Sessions, base_url: str, sku: str, channels: list[str]) -> dict[str, str]:
    """A short link per channel for ``sku``, attributed to the channel (``source``) and
    marked ``content=share``: reused when minted before, minted once otherwise."""
    links = {c: CheckoutLink(sku=sku, source=c, content="share") for c in channels}
    with read_session(sessions) as session:
        codes = {c: short_links.existing_code(session, link) for c, link in links.items()}
    if not all(codes.values()):
        with write_session(sessions) as session:
            for channel, link in links.items():
                codes[channel] = codes[channel] or short_links.mint_or_reuse(session, link)
    return {c: absolute(base_url, short_path(code or "")) for c, code in codes.items()}


def share_block(
    sessions: Sessions, base_url: str, sku: str, title: str, picture: str
) -> ShareBlock:
    """The share links of ``sku`` (the product page's block, and the order page's)."""
    names = [channel for channel, _ in SHARE_CHANNELS]
    urls = short_urls(sessions, base_url, sku, [*names, WEB_SHARE])
    links = tuple(
        ShareLink(channel, label, _href(channel, urls[channel], title, picture))
        for channel, label in SHARE_CHANNELS
    )
    return ShareBlock(title=title, links=links, web_share_url=urls[WEB_SHARE])


def page_extras(
    sessions: Sessions, base_url: str, sku: str, *, page_url: str, image_url: str, buy_url: str
) -> PageExtras | None:
    """The product page's structured data, preview and share links; None if the product
    is not on sale (the page itself then answers 404)."""
    with read_session(sessions) as session:
        found = feeds_page.facts(session, sku)
    if found is None:
        return None
    preview = absolute(base_url, preview_path(found))
    data = feeds_page.jsonld(found, url=page_url, image=image_url or preview, buy_url=buy_url)
    share = share_block(sessions, base_url, sku, found.title, preview)
    return PageExtras(facts=found, jsonld=data, preview_url=preview, share=share)


def product_jsonld(
    sessions: Sessions, base_url: str, sku: str, *, page_url: str, image_url: str, buy_url: str
) -> dict[str, Any] | None:
    """Only the JSON-LD (for the checkout page: ``_product_jsonld.html`` shows it)."""
    with read_session(sessions) as session:
        found = feeds_page.facts(session, sku)
    if found is None:
        return None
    preview = absolute(base_url, preview_path(found))
    return feeds_page.jsonld(found, url=page_url, image=image_url or preview, buy_url=buy_url)


class PreviewCache:
    """The last previews drawn, by address: drawing costs tens of milliseconds and a shared
    link is fetched by every messenger it lands in."""

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: str, value: bytes) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


@dataclass(frozen=True, slots=True)
class Preview:
    body: bytes | None  # None: ``moved_to`` is the current address
    moved_to: str


def preview(sessions: Sessions, cache: PreviewCache, sku: str, digest: str) -> Preview | None:
    """The preview JPEG at ``/media/previews/{sku}/{digest}.jpg``; an old digest (the
    product changed) points at the current address; None for no such product."""
    with read_session(sessions) as session:
        found = feeds_page.facts(session, sku)
        if found is None:
            return None
        current = preview_path(found)
        if digest != found.preview_digest:
            return Preview(None, current)
        cached = cache.get(current)
        if cached is not None:
            return Preview(cached, current)
        picture = (
            feeds_page.primary_picture(session, found.image_sha256) if found.image_sha256 else None
        )
    body = feeds_page.draw_preview(found, picture)
    cache.put(current, body)
    return Preview(body, current)
