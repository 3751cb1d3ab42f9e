"""Checkout links minted by the server: signed (optionally expiring) or short (``/l/CODE``,
where any pre-fill stays on the server)."""

from __future__ import annotations

from collections.abc import Mapping
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
from buybutton_server.domain.checkout_model import Address
from buybutton_server.errors import NotFound
from buybutton_server.services.api_types import Answer, Input, broken, schema

LINK_LIFETIME_MAX = 10 * 365 * 86400  # seconds
Label = Annotated[str, Field(max_length=64), schema(pattern=_LABEL.pattern)]


Sku = Annotated[str, Field(max_length=64), schema(pattern=SKU_PATTERN.pattern)]


class LinkItem(Input):
    """One line of a multi-item link: a product and its (binding) quantity."""

    sku: Sku
    quantity: Annotated[int, Field(ge=1, le=MAX_QUANTITY)] = 1


Text = Annotated[str, Field(max_length=200)]


class PrefillAddress(Input):
    """A shipping address to pre-fill, in our field names or UCP's ``postal_address`` names
    (``address_country``, ``street_address`` ...); checked against the country's rules."""

    country: Annotated[str, Field(max_length=64, description="ISO 3166-1 alpha-2")] | None = None
    region: Annotated[str, Field(max_length=100)] | None = None
    city: Annotated[str, Field(max_length=100)] | None = None
    postal_code: Annotated[str, Field(max_length=20)] | None = None
    line1: Text | None = None
    line2: Text | None = None
    sorting_code: Annotated[str, Field(max_length=20)] | None = None
    name: Text | None = None
    address_country: Annotated[str, Field(max_length=64)] | None = None
    address_region: Annotated[str, Field(max_length=100)] | None = None
    address_locality: Annotated[str, Field(max_length=100)] | None = None
    street_address: Text | None = None
    extended_address: Text | None = None
    first_name: Text | None = None
    last_name: Text | None = None

    def fields(self) -> dict[str, str]:
        return {k: v for k, v in self.model_dump().items() if isinstance(v, str)}


class Prefill(Input):
    """What the checkout shows filled in. Stored on the server: needs ``"short": true``."""

    email: Annotated[str, Field(max_length=254)] | None = None
    name: Text | None = None
    address: PrefillAddress | None = None


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
    name: Text | None = None
    prefill: (
        Annotated[
            Prefill,
            Field(description="email, name and shipping address, kept on the server (short)"),
        ]
        | None
    ) = None
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
        if self.prefill is not None and not self.short:
            raise broken('prefill is kept on the server: add "short": true.')
        if self.prefill is not None and (self.email or self.name):
            raise broken("Give email and name once: in prefill.")
        try:
            self.checkout_link()
        except ValueError as problem:
            raise broken(str(problem)) from None
        if self.short and self.expires_in:
            raise broken("Short links do not expire; leave out expires_in.")
        return self

    def checkout_link(self) -> CheckoutLink:
        """The link asked for (raises ValueError, from the SDK, if it is not valid)."""
        prefill = self.prefill or Prefill()
        fields: dict[str, Any] = {
            "email": prefill.email or self.email,
            "name": prefill.name or self.name,
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

    def address(self) -> Address | None:
        """The pre-filled address, validated (:class:`AddressRefused` names each bad field)."""
        if self.prefill is None or self.prefill.address is None:
            return None
        return short_links.checked_address(self.prefill.address.fields())


class Link(Answer):
    url: str
    short_url: str | None
    qr_svg: str | None = None
    qr_png: str | None = None


def create_link(
    sessions: sessionmaker[Session], signer: LinkSigner, base_url: str, body: LinkInput
) -> Link:
    link = body.checkout_link()
    address = body.address()
    with read_session(sessions) as session:
        for sku, _ in link.lines:
            if not catalog.require_product(session, sku).active:
                raise NotFound(f"Product {sku!r} is archived.")
    if not body.short:
        if body.expires_in:
            link = replace(link, expires_at=int(utcnow().timestamp()) + body.expires_in)
        return Link(url=absolute(base_url, checkout_path(signer.sign(link))), short_url=None)
    with write_session(sessions) as session:
        code = short_links.mint(session, link, address=address)
    short_url = absolute(base_url, short_path(code))
    return Link(
        url=short_url,
        short_url=short_url,
        qr_svg=f"{short_url}/qr.svg",
        qr_png=f"{short_url}/qr.png",
    )


def mint_short(
    sessions: sessionmaker[Session],
    link: CheckoutLink,
    address: Mapping[str, str] | None = None,
    *,
    address_path: str = "address",
) -> str:
    """A short code for ``link`` (the command line's ``link --short``): one with a shipping
    ``address`` to pre-fill (checked first: :class:`AddressRefused` names each bad field,
    nothing stored), or, for a public link, the code already minted for it if any."""
    checked = short_links.checked_address(address, path=address_path) if address else None
    with write_session(sessions) as session:
        if checked is None:
            return short_links.mint_or_reuse(session, link)
        return short_links.mint(session, link, address=checked)
