"""Short links: ``/l/{code}`` for social posts, bios, chat messages and QR codes.

A short link stores what a signed link would carry (one product or several, each with its
quantity, discount codes, attribution) plus any pre-fill: an email address, a name and a
shipping address, in the database. Opening it redirects in one hop to a signed checkout link
that names the code instead of carrying the pre-fill, so no email address, name or postal
address ever appears in a URL that gets posted, forwarded or printed.

An address is checked with :func:`buybutton_server.domain.addresses.validate` when the link
is minted: a link is stored with a valid, normalised address or not at all.
"""

from __future__ import annotations

import io
import json
import secrets
import string
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import segno
from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from buybutton.tokens import CheckoutLink
from buybutton_server.db import fetch_all
from buybutton_server.db.models import ShortLink
from buybutton_server.domain import addresses
from buybutton_server.domain.checkout_model import Address
from buybutton_server.errors import InternalError, InvalidInput

_ALPHABET = string.ascii_letters + string.digits
CODE_LENGTH = 10  # 62**10: about 8e17 codes, so a code with pre-fill cannot be guessed
# The address columns, in :class:`Address`'s names (its ``name`` is the link's ``name``).
ADDRESS_FIELDS = ("country", "region", "city", "postal_code", "line1", "line2", "sorting_code")
# Where an address in a request sits, for the field messages of :class:`AddressRefused`.
ADDRESS_PATH = "prefill.address"


class AddressRefused(InvalidInput):
    """The pre-filled address breaks the country's rules. ``fields`` maps each bad field
    (our names: ``postal_code``, ``region`` ...) to its message; ``message`` names them all."""

    code = "invalid_address"

    def __init__(self, fields: Mapping[str, str], *, path: str = ADDRESS_PATH) -> None:
        text = " ".join(f"{path}.{name}: {problem}" for name, problem in fields.items())
        super().__init__(text, context={"fields": dict(fields)})

    @property
    def fields(self) -> Mapping[str, str]:
        found = self.context.get("fields")
        return found if isinstance(found, Mapping) else {}


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
    # Every line of a multi-item link (``sku``/``quantity`` repeat the first); None: one.
    items: tuple[tuple[str, int], ...] | None = None
    codes: tuple[str, ...] | None = None
    # The pre-filled shipping address; its ``name`` is the link's ``name``.
    address: Address | None = None
    # The creator whose post this link is (commissions, docs/commissions.md).
    creator: str | None = None

    @property
    def has_personal_data(self) -> bool:
        return bool(self.email or self.name or self.address)

    @property
    def lines(self) -> tuple[tuple[str, int], ...]:
        """Every ``(sku, quantity)`` the link sells."""
        return self.items or ((self.sku, self.quantity),)

    def matches(self, link: CheckoutLink) -> bool:
        """Whether ``link`` (a verified token naming this code) sells what this short link
        stores: the same lines in the same order. The checkout fills in the stored pre-fill
        only then, so a token minted for other products cannot borrow someone's address."""
        return link.short_code == self.code and link.lines == self.lines

    def checkout_link(self) -> CheckoutLink:
        """The signed link this code redirects to: the pre-fill stays behind the code."""
        fields: dict[str, Any] = {
            "source": self.source,
            "campaign": self.campaign,
            "content": self.content,
            "codes": self.codes,
            "creator": self.creator,
            "short_code": self.code if self.has_personal_data else None,
        }
        if self.items:
            return CheckoutLink.for_items(self.items, **fields)
        return CheckoutLink(sku=self.sku, quantity=self.quantity, **fields)


def new_code() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(CODE_LENGTH))


def checked_address(fields: Mapping[str, object], *, path: str = ADDRESS_PATH) -> Address:
    """An address from form or API fields, in our names (``country``, ``postal_code``,
    ``line1`` ...) or UCP's (``address_country``, ``postal_code``, ``street_address`` ...),
    validated and normalised for its country; :class:`AddressRefused` names each bad field."""
    if any(key.startswith("address_") or key == "street_address" for key in fields):
        typed = addresses.from_ucp(fields)
    else:
        typed = {k: v for k, v in fields.items() if isinstance(v, str)}
    address, messages = addresses.validate(typed)
    if address is None:
        raise AddressRefused(addresses.field_errors(messages), path=path)
    return address


def _json(value: object) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"))


def _row(link: CheckoutLink, address: Address | None) -> dict[str, Any]:
    """The columns that describe ``link`` and ``address`` (all but ``code``)."""
    name = link.name or (address.name if address else None) or None
    row: dict[str, Any] = {
        "sku": link.sku,
        "quantity": link.quantity,
        "email": link.email,
        "name": name,
        "source": link.source,
        "campaign": link.campaign,
        "content": link.content,
        "items": _json([list(line) for line in link.items] if link.items else None),
        "codes": _json(list(link.codes) if link.codes else None),
        "creator": link.creator,
    }
    for field in ADDRESS_FIELDS:
        row[field] = (getattr(address, field) or None) if address else None
    return row


def mint(session: Session, link: CheckoutLink, *, address: Address | None = None) -> str:
    """Store ``link`` (validated by ``CheckoutLink`` already) under a fresh code, with a
    shipping ``address`` to pre-fill. The address is checked again here (and normalised):
    :class:`AddressRefused` and nothing stored when the country's rules refuse it. Its
    ``name`` is kept when the link has none. Expiry and quantity ranges are not stored:
    a short link sells the quantities it names and does not expire."""
    if address is not None:
        address = checked_address(asdict(address))
    row = _row(link, address)
    for _ in range(5):
        code = new_code()
        try:
            with session.begin_nested():
                session.add(ShortLink(code=code, **row))
            return code
        except IntegrityError:  # pragma: no cover - a collision in 8e17 codes
            continue
    raise InternalError("Could not find a free short code.")


def mint_or_reuse(session: Session, link: CheckoutLink) -> str:
    """Like :func:`mint`, but a link without personal data reuses the code already minted
    for the same products, quantities, codes and attribution."""
    return existing_code(session, link) or mint(session, link)


def existing_code(session: Session, link: CheckoutLink) -> str | None:
    """The code already minted for ``link`` if it carries no personal data (a read only)."""
    if link.email or link.name:
        return None
    table = ShortLink.__table__.c
    same = []
    for column, value in _row(link, None).items():
        same.append(table[column].is_(None) if value is None else table[column] == value)
    return session.scalar(select(table.code).where(*same).order_by(table.id).limit(1))


_COLUMNS = (
    "code", "sku", "quantity", "email", "name", "source", "campaign", "content", "items",
    "codes", "creator", *ADDRESS_FIELDS,
)  # fmt: skip
_BY_CODE = select(*(ShortLink.__table__.c[name] for name in _COLUMNS)).where(
    ShortLink.__table__.c.code == bindparam("code")
)


def _view(row: tuple[Any, ...]) -> ShortLinkView:
    values = dict(zip(_COLUMNS, row, strict=True))
    items = json.loads(values["items"]) if values["items"] else None
    codes = json.loads(values["codes"]) if values["codes"] else None
    address = None
    if values["country"]:
        parts = {field: values[field] or "" for field in ADDRESS_FIELDS}
        address = Address(name=values["name"] or "", **parts)
    return ShortLinkView(
        code=values["code"],
        sku=values["sku"],
        quantity=values["quantity"],
        email=values["email"],
        name=values["name"],
        source=values["source"],
        campaign=values["campaign"],
        content=values["content"],
        items=tuple((str(sku), int(qty)) for sku, qty in items) if items else None,
        codes=tuple(str(code) for code in codes) if codes else None,
        address=address,
        creator=values["creator"],
    )


def find(factory: sessionmaker[Session], code: str) -> ShortLinkView | None:
    rows = fetch_all(factory, _BY_CODE, {"code": code})
    return _view(rows[0]) if rows else None


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
