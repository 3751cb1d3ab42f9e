"""Checkout links minted by the server: signed (optionally expiring) or short (``/l/CODE``,
where any pre-fill stays on the server)."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any, Self

from pydantic import Field, model_validator
from sqlalchemy.orm import Session, sessionmaker

from buybutton.tokens import (
    _LABEL,
    MAX_CODES,
    MAX_LINES,
    MAX_QUANTITY,
    SKU_PATTERN,
    CheckoutLink,
    LinkSigner,
)
from buybutton.urls import absolute, checkout_path, short_path
from buybutton_server.db import read_session, write_session
from buybutton_server.db.models import utcnow
from buybutton_server.domain import catalog, short_links
from buybutton_server.errors import NotFound
from buybutton_server.services.api_types import Answer, Input, broken, schema

LINK_LIFETIME_MAX = 10 * 365 * 86400  # seconds
Label = Annotated[str, Field(max_length=64), schema(pattern=_LABEL.pattern)]


Sku = Annotated[str, Field(max_length=64), schema(pattern=SKU_PATTERN.pattern)]


class LinkItem(Input):
    """One line of a multi-item link: a product and its (binding) quantity."""

    sku: Sku
    quantity: Annotated[int, Field(ge=1, le=MAX_QUANTITY)] = 1


class LinkInput(Input):
    sku: Sku | None = None
    quantity: Annotated[int, Field(ge=1, le=MAX_QUANTITY)] | None = None
    items: (
        Annotated[
            list[LinkItem],
            Field(
                min_length=1,
                max_length=MAX_LINES,
                description="several products in one checkout, instead of sku",
            ),
        ]
        | None
    ) = None
    codes: (
        Annotated[list[Annotated[str, Field(max_length=32)]], Field(max_length=MAX_CODES)] | None
    ) = None
    email: Annotated[str, Field(max_length=254)] | None = None
    name: Annotated[str, Field(max_length=200)] | None = None
    source: Label | None = None
    campaign: Label | None = None
    content: Label | None = None
    expires_in: Annotated[int, Field(ge=1, le=LINK_LIFETIME_MAX, description="seconds")] | None = (
        None
    )
    short: Annotated[bool, Field(description="a /l/CODE link; pre-fill stays on the server")] = (
        False
    )

    @model_validator(mode="after")
    def _valid_link(self) -> Self:
        try:
            self.checkout_link()
        except ValueError as problem:
            raise broken(str(problem)) from None
        if self.short and self.expires_in:
            raise broken("Short links do not expire; leave out expires_in.")
        if self.short and (self.items or self.codes):
            raise broken("Short links take one product and no codes; leave out short.")
        return self

    def checkout_link(self) -> CheckoutLink:
        """The link asked for (raises ValueError, from the SDK, if it is not valid)."""
        fields: dict[str, Any] = {
            "email": self.email,
            "name": self.name,
            "source": self.source,
            "campaign": self.campaign,
            "content": self.content,
            "codes": tuple(self.codes) if self.codes else None,
        }
        if (self.sku is None) == (self.items is None):
            raise ValueError("Give sku or items, exactly one.")
        if self.items is not None:
            if self.quantity is not None:
                raise ValueError("With items, give each line's quantity in items.")
            return CheckoutLink.for_items([(i.sku, i.quantity) for i in self.items], **fields)
        quantity = 1 if self.quantity is None else self.quantity
        return CheckoutLink(sku=str(self.sku), quantity=quantity, **fields)


class Link(Answer):
    url: str
    short_url: str | None
    qr_svg: str | None = None
    qr_png: str | None = None


def create_link(
    sessions: sessionmaker[Session], signer: LinkSigner, base_url: str, body: LinkInput
) -> Link:
    link = body.checkout_link()
    with read_session(sessions) as session:
        for sku, _ in link.lines:
            if not catalog.require_product(session, sku).active:
                raise NotFound(f"Product {sku!r} is archived.")
    if not body.short:
        if body.expires_in:
            link = replace(link, expires_at=int(utcnow().timestamp()) + body.expires_in)
        return Link(url=absolute(base_url, checkout_path(signer.sign(link))), short_url=None)
    with write_session(sessions) as session:
        code = short_links.mint(session, link)
    short_url = absolute(base_url, short_path(code))
    return Link(
        url=short_url,
        short_url=short_url,
        qr_svg=f"{short_url}/qr.svg",
        qr_png=f"{short_url}/qr.png",
    )
