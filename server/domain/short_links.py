"""Short links: ``/l/{code}`` for social posts, bios, chat messages and QR codes.

A short link stores what a signed link would carry (product, quantity, attribution) plus any
pre-fill, in the database. Opening it redirects in one hop to a signed checkout link that
names the code instead of carrying the pre-fill, so no email address or name ever appears in
a URL that gets posted, forwarded or printed.
"""

from __future__ import annotations

import io
import secrets
import string
from dataclasses import dataclass

import segno
from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from buybutton.tokens import CheckoutLink
from buybutton_server.db import fetch_all
from buybutton_server.db.models import ShortLink
from buybutton_server.errors import InternalError

_ALPHABET = string.ascii_letters + string.digits
CODE_LENGTH = 10  # 62**10: about 8e17 codes, so a code with pre-fill cannot be guessed


@dataclass(frozen=True, slots=True)
class ShortLinkView:
    code: str
    sku: str
    quantity: int
    email: str | None
    name: str | None
    source: str | None
    campaign: str | None
    content: str | None

    @property
    def has_personal_data(self) -> bool:
        return bool(self.email or self.name)

    def checkout_link(self) -> CheckoutLink:
        """The signed link this code redirects to: the pre-fill stays behind the code."""
        return CheckoutLink(
            sku=self.sku,
            quantity=self.quantity,
            source=self.source,
            campaign=self.campaign,
            content=self.content,
            short_code=self.code if self.has_personal_data else None,
        )


def new_code() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(CODE_LENGTH))


def mint(session: Session, link: CheckoutLink) -> str:
    """Store ``link`` (validated by ``CheckoutLink`` already) under a fresh code."""
    for _ in range(5):
        code = new_code()
        try:
            with session.begin_nested():
                session.add(
                    ShortLink(
                        code=code,
                        sku=link.sku,
                        quantity=link.quantity,
                        email=link.email,
                        name=link.name,
                        source=link.source,
                        campaign=link.campaign,
                        content=link.content,
                    )
                )
            return code
        except IntegrityError:  # pragma: no cover - a collision in 8e17 codes
            continue
    raise InternalError("Could not find a free short code.")


def mint_or_reuse(session: Session, link: CheckoutLink) -> str:
    """Like :func:`mint`, but a link without personal data reuses the code already minted
    for the same product, quantity and attribution."""
    return existing_code(session, link) or mint(session, link)


def existing_code(session: Session, link: CheckoutLink) -> str | None:
    """The code already minted for ``link`` if it carries no personal data (a read only)."""
    if link.email or link.name:
        return None
    table = ShortLink.__table__.c
    same = [
        table.sku == link.sku,
        table.quantity == link.quantity,
        table.email.is_(None),
        table.name.is_(None),
    ]
    for column, value in (
        (table.source, link.source),
        (table.campaign, link.campaign),
        (table.content, link.content),
    ):
        same.append(column.is_(None) if value is None else column == value)
    return session.scalar(select(table.code).where(*same).order_by(table.id).limit(1))


_FIELDS = tuple(ShortLinkView.__slots__)
_BY_CODE = select(*(ShortLink.__table__.c[name] for name in _FIELDS)).where(
    ShortLink.__table__.c.code == bindparam("code")
)


def find(factory: sessionmaker[Session], code: str) -> ShortLinkView | None:
    rows = fetch_all(factory, _BY_CODE, {"code": code})
    return ShortLinkView(*rows[0]) if rows else None


def qr_code(url: str, kind: str) -> bytes:
    """A QR code for print and TV, as ``svg`` or ``png``; error correction M survives a
    little wear and a logo-free print."""
    qr = segno.make(url, error="m", micro=False)
    out = io.BytesIO()
    if kind == "svg":
        qr.save(out, kind="svg", scale=8, border=4, title="Scan to buy")
    else:
        qr.save(out, kind="png", scale=10, border=4)
    return out.getvalue()
