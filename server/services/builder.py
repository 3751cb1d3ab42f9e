"""The snippet builder: options from a form, the snippet they make, the products to pick."""

from __future__ import annotations

import base64
import hashlib
import html
import re
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from buybutton import BuyButton
from buybutton_server.domain.embeds import Snippet, SnippetOptions, make_snippet
from buybutton_server.errors import InvalidInput, ShopError
from buybutton_server.services.catalog_reads import active_products

DEFAULT_COLOR = "#1f5eff"


@dataclass(frozen=True, slots=True)
class BuilderPage:
    """What the builder shows: the options it read (None when they were refused), the
    snippet they make, or the ``problem`` that stopped it, and the products to pick from."""

    products: list[tuple[str, str]]
    options: SnippetOptions | None = None
    snippet: Snippet | None = None
    problem: str | None = None


def _seconds(query: Mapping[str, str], name: str, default: float) -> float:
    try:
        return float(query.get(name, default))
    except ValueError:
        raise InvalidInput(f"{name} must be a number of seconds") from None


def snippet_options(query: Mapping[str, str], default_sku: str | None) -> SnippetOptions:
    """The builder's form fields as options; :class:`InvalidInput` for a refused value."""
    color = query.get("color", DEFAULT_COLOR)
    return SnippetOptions(
        sku=query.get("sku") or default_sku or "",
        surface=query.get("surface", "button"),
        label=query.get("label") or "Buy now",
        source=query.get("source") or None,
        campaign=query.get("campaign") or None,
        content=query.get("content") or None,
        theme={"color": color} if color != DEFAULT_COLOR else {},
        video_src=query.get("video_src", ""),
        at=_seconds(query, "at", 0),
        until=_seconds(query, "until", 15),
        moments=_moments(query),
    )


MAX_MOMENTS = 20


def _moments(query: Mapping[str, str]) -> tuple[tuple[str, float, float], ...]:
    """The video's further moments: the form's repeated ``moment_sku``, ``moment_at`` and
    ``moment_until`` fields, in step; a row without a product is left out."""
    getlist = getattr(query, "getlist", None)
    if getlist is None:  # a plain mapping holds one value a name
        columns = [[query[n]] if n in query else [] for n in _MOMENT_FIELDS]
    else:
        columns = [list(getlist(n)) for n in _MOMENT_FIELDS]
    skus, starts, ends = columns
    if not len(skus) == len(starts) == len(ends):
        raise InvalidInput("each moment needs a product, a from and an until")
    moments = []
    for sku, at, until in zip(skus, starts, ends, strict=True):
        if sku:
            moments.append((sku, _number("moment from", at), _number("moment until", until)))
    if len(moments) > MAX_MOMENTS:
        raise InvalidInput(f"a video takes at most {MAX_MOMENTS + 1} moments")
    return tuple(moments)


_MOMENT_FIELDS = ("moment_sku", "moment_at", "moment_until")


def _number(name: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise InvalidInput(f"{name} must be a number of seconds") from None


def build(
    sessions: sessionmaker[Session],
    bb: BuyButton,
    query: Mapping[str, str],
    *,
    mint: bool = False,
) -> BuilderPage:
    """The builder page for the form ``query``; a refused option becomes ``problem``.

    Reading the page writes nothing: a surface whose short link does not exist yet comes
    back with ``snippet.needs_short_link``. ``mint=True`` (the builder's POST) creates it."""
    products = active_products(sessions)
    try:
        options = snippet_options(query, products[0][0] if products else None)
        return BuilderPage(products, options, make_snippet(sessions, bb, options, mint=mint))
    except ShopError as problem:
        return BuilderPage(products, problem=problem.message)


_STYLE_ATTRIBUTE = re.compile(r'\sstyle="([^"]*)"')


def preview_sources(code: str, *, allow_http: bool) -> dict[str, list[str]]:
    """What the preview frame's policy adds for the snippet ``code`` it shows: the hash of
    each inline ``style`` attribute (``'unsafe-hashes'`` allows exactly those, nothing else
    inline) and, for a ``<video>``, media from https (and http in development) sites."""
    digests = sorted(
        {
            base64.b64encode(hashlib.sha256(html.unescape(value).encode()).digest()).decode()
            for value in _STYLE_ATTRIBUTE.findall(_without_comments(code))
        }
    )
    sources: dict[str, list[str]] = {}
    if digests:
        sources["style-src"] = ["'unsafe-hashes'", *(f"'sha256-{d}'" for d in digests)]
    if "<video" in code:
        sources["media-src"] = ["'self'", "https:", *(["http:"] if allow_http else [])]
    return sources


def _without_comments(code: str) -> str:
    """Outlook's conditional comments hold styles no browser applies."""
    return re.sub(r"<!--.*?-->", "", code, flags=re.DOTALL)
