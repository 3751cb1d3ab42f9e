"""The snippet builder: options from a form, the snippet they make, the products to pick."""

from __future__ import annotations

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
    )


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
