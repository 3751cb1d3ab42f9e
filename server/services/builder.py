"""The snippet builder: options from a form, the snippet they make, the products to pick."""

from __future__ import annotations

import base64
import hashlib
import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from sqlalchemy.orm import Session, sessionmaker

from buybutton import BuyButton
from buybutton.tokens import DISCOUNT_CODE_PATTERN, MAX_CODES, MAX_LINES, MAX_QUANTITY
from buybutton_server.domain.embeds import (
    Snippet,
    SnippetOptions,
    make_look_snippet,
    make_snippet,
)
from buybutton_server.errors import InvalidInput, ShopError
from buybutton_server.services.catalog_reads import active_products

DEFAULT_COLOR = "#1f5eff"


LOOK = "look"  # the builder's "shop the look" surface: several products, one Buy
LOOK_TITLE = "Shop the look (several products, one Buy)"
LOOK_ROWS_SPARE = 2  # empty product rows the form offers after the chosen ones


@dataclass(frozen=True, slots=True)
class BuilderPage:
    """What the builder shows: the options it read (None when they were refused), the
    snippet they make, or the ``problem`` that stopped it, and the products to pick from.
    ``surface`` is the one picked; for the look, ``look`` holds its ``(sku, quantity)``
    rows as typed and ``codes`` its discount codes."""

    products: list[tuple[str, str]]
    options: SnippetOptions | None = None
    snippet: Snippet | None = None
    problem: str | None = None
    surface: str = "button"
    look: tuple[tuple[str, str], ...] = ()
    codes: str = ""

    @property
    def look_form_rows(self) -> list[tuple[str, str]]:
        """The look's rows to show: the typed ones, then a few empty ones (at most
        :data:`MAX_LINES` in all)."""
        rows = [row for row in self.look if row[0]]
        spare = max(LOOK_ROWS_SPARE, 3 - len(rows))
        return (rows + [("", "1")] * spare)[: max(MAX_LINES, len(rows))]


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
        creator=query.get("creator") or None,
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
    if query.get("surface") == LOOK:
        return _look(sessions, bb, query, products)
    try:
        options = snippet_options(query, products[0][0] if products else None)
        return BuilderPage(products, options, make_snippet(sessions, bb, options, mint=mint))
    except ShopError as problem:
        return BuilderPage(
            products, problem=problem.message, surface=query.get("surface", "button")
        )


# -- shop the look ---------------------------------------------------------------------------


def _getlist(query: Mapping[str, str], name: str) -> list[str]:
    getlist = getattr(query, "getlist", None)
    if getlist is None:  # a plain mapping holds one value a name
        return [query[name]] if name in query else []
    return [str(value) for value in getlist(name)]


def look_rows(query: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """The form's repeated ``look_sku`` and ``look_qty`` fields, in step, as typed."""
    skus, quantities = _getlist(query, "look_sku"), _getlist(query, "look_qty")
    if len(quantities) < len(skus):
        quantities += ["1"] * (len(skus) - len(quantities))
    return tuple(zip(skus, quantities, strict=False))[: MAX_LINES * 2]


def look_items(rows: Sequence[tuple[str, str]]) -> list[tuple[str, int]]:
    """The look's ``(sku, quantity)`` lines; rows without a product are left out.
    :class:`InvalidInput` names a quantity that is not a whole number from 1 to 99, a
    product chosen twice, no product at all or more than :data:`MAX_LINES`."""
    items: list[tuple[str, int]] = []
    for sku, typed in rows:
        if not sku:
            continue
        text = typed.strip()
        if not (text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_QUANTITY):
            raise InvalidInput(f"{sku}: quantity must be a whole number from 1 to {MAX_QUANTITY}")
        if any(sku == seen for seen, _ in items):
            raise InvalidInput(f"{sku} is in the look twice: give it once, with its quantity")
        items.append((sku, int(text)))
    if not items:
        raise InvalidInput("Choose the look's products (at least one).")
    if len(items) > MAX_LINES:
        raise InvalidInput(f"A look holds at most {MAX_LINES} products, not {len(items)}.")
    return items


def look_codes(typed: str) -> tuple[str, ...] | None:
    """Discount codes typed for the look (a creator's code), separated by spaces or commas."""
    codes = tuple(code for code in re.split(r"[\s,]+", typed.strip()) if code)
    if not codes:
        return None
    if len(codes) > MAX_CODES or not all(DISCOUNT_CODE_PATTERN.match(c) for c in codes):
        raise InvalidInput(
            f"Discount codes: at most {MAX_CODES}, each 1-32 letters, digits, _ or -."
        )
    return codes


def _look(
    sessions: sessionmaker[Session],
    bb: BuyButton,
    query: Mapping[str, str],
    products: list[tuple[str, str]],
) -> BuilderPage:
    """The "shop the look" snippet: the chosen products as cards and one Buy button to a
    signed multi-item link (plain HTML, no script: it works on any page, and in email)."""
    rows, typed_codes = look_rows(query), query.get("codes", "")
    page = BuilderPage(products, surface=LOOK, look=rows, codes=typed_codes)
    label = query.get("label") or "Buy the look"
    first = next((sku for sku, _ in rows if sku), products[0][0] if products else "")
    try:
        options = SnippetOptions(
            sku=first,
            label=label,
            source=query.get("source") or "blog",
            campaign=query.get("campaign") or None,
            content=query.get("content") or None,
            creator=query.get("creator") or None,
        )
    except ShopError as problem:  # the typed values are re-shown as they were
        return replace(page, problem=problem.message)
    page = replace(page, options=options)
    try:
        items = look_items(rows)
        code = make_look_snippet(
            sessions,
            bb,
            items,
            label=label,
            source=options.source,
            campaign=options.campaign,
            content=options.content,
            codes=look_codes(typed_codes),
            creator=options.creator,
        )
    except ShopError as problem:
        return replace(page, problem=problem.message)
    return replace(page, snippet=Snippet(code, "html"))


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
