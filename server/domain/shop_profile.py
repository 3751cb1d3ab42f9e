"""The shop's identity as shoppers and emails see it: name, support address, logo, legal
address and policy links; and the publishers' sites the owner added to the allowed origins.

One row (``ShopProfile``, ``id = 1``), written by the owner on ``/admin/settings``. Until
then :func:`identity` answers the defaults.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from buybutton.tokens import EMAIL_PATTERN
from buybutton_server.db.models import ShopProfile
from buybutton_server.domain.address_rules import country_code
from buybutton_server.domain.locales import LANGUAGES
from buybutton_server.domain.quoting import ShopTax
from buybutton_server.errors import InvalidInput

DEFAULT_NAME = "buybutton shop"
MAX_ORIGINS = 50
# A host name's label (RFC 1123): letters, digits, inner hyphens, at most 63 characters.
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
# Joiners that emoji and some scripts need; every other format character (e.g. the bidi
# overrides that turn text around) is refused in the name like a control character.
_JOINERS = frozenset("\u200c\u200d")
URL_FIELDS = ("logo_url", "terms_url", "returns_url", "privacy_url")
FIELDS = (
    "name",
    "support_email",
    "legal_address",
    *URL_FIELDS,
    "allowed_origins",
    "default_locale",
)
# How the shop charges tax (docs/tax.md): where it sells from, whether its prices include
# VAT/GST, and whether it collects tax at all. A form without them leaves them as they are.
TAX_FIELDS = ("country", "prices_include_tax", "collect_tax")
_YES, _NO = ("yes", "1", "on", "true"), ("no", "0", "off", "false")


@dataclass(frozen=True, slots=True)
class ShopIdentity:
    name: str = DEFAULT_NAME
    support_email: str | None = None
    logo_url: str | None = None
    legal_address: str | None = None
    terms_url: str | None = None
    returns_url: str | None = None
    privacy_url: str | None = None
    # The shoppers' language when the request names none we ship (docs/languages.md).
    default_locale: str | None = None


@dataclass(frozen=True, slots=True)
class Profile:
    """Everything the settings page edits."""

    identity: ShopIdentity
    allowed_origins: tuple[str, ...] = ()
    tax: ShopTax = dataclasses.field(default_factory=ShopTax)


class ProfileInvalid(InvalidInput):
    """Some fields are wrong; ``context["errors"]`` maps each field to its message."""


def _row(session: Session) -> ShopProfile | None:
    return session.get(ShopProfile, 1)


_NAME = select(ShopProfile.name).where(ShopProfile.id == 1)


def shop_name(session: Session) -> str:
    """Just the shop's name, read with one prebuilt statement (every paid order's receipt
    subject needs it; the whole profile through the ORM cost 0.9 ms there)."""
    name = session.connection().execute(_NAME).scalar()
    return name or DEFAULT_NAME


def identity(session: Session) -> ShopIdentity:
    """The shop's identity; defaults until the owner has saved the settings page."""
    return profile(session).identity


def profile(session: Session) -> Profile:
    row = _row(session)
    if row is None:
        return Profile(ShopIdentity())
    return Profile(
        ShopIdentity(
            name=row.name,
            support_email=row.support_email,
            logo_url=row.logo_url,
            legal_address=row.legal_address,
            terms_url=row.terms_url,
            returns_url=row.returns_url,
            privacy_url=row.privacy_url,
            default_locale=row.default_locale,
        ),
        tuple(row.allowed_origins.split()),
        ShopTax(
            country=row.country or "US",
            prices_include_tax=bool(row.prices_include_tax),
            collect_tax=bool(row.collect_tax),
        ),
    )


def saved_origins(session: Session) -> tuple[str, ...]:
    """The origins the owner added (without ``BUYBUTTON_ALLOWED_ORIGINS``'s)."""
    text = session.scalar(select(ShopProfile.allowed_origins).where(ShopProfile.id == 1))
    return tuple(text.split()) if text else ()


def _https_url(value: str) -> str | None:
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname or "@" in parts.netloc:
        return None
    if len(value) > 2048 or any(c.isspace() or ord(c) < 32 for c in value):
        return None
    return value


def _good_host(host: str, *, allow_local: bool) -> bool:
    """A DNS name of well-formed labels, or an IP address; in production neither a
    single-label name (``localhost``) nor a loopback, private or reserved address."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    if ip is not None:
        return allow_local or ip.is_global
    labels = host.split(".")
    if len(host) > 253 or not all(_LABEL.match(label) for label in labels):
        return False
    return allow_local or len(labels) > 1


def normal_origin(text: str, *, allow_http: bool) -> str | None:
    """``text`` as browsers send it in ``Origin`` (``scheme://host[:port]``, lower case, no
    default port), or None if it is not an origin. ``allow_http`` (development) also
    allows plain http, ``localhost`` and private addresses."""
    parts = urlsplit(text.strip().rstrip("/"))
    schemes = ("https", "http") if allow_http else ("https",)
    try:
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname
    if (
        parts.scheme.lower() not in schemes
        or not host
        or "@" in parts.netloc
        or parts.path
        or parts.query
        or parts.fragment
        or not all(c.isascii() and (c.isalnum() or c in ".-") for c in host)
        or not _good_host(host, allow_local=allow_http)
        or (port is not None and not 1 <= port <= 65535)
    ):
        return None
    scheme = parts.scheme.lower()
    default = {"https": 443, "http": 80}[scheme]
    return f"{scheme}://{host}" + (f":{port}" if port not in (None, default) else "")


def _name_problem(name: str) -> str | None:
    """Why ``name`` cannot be the shop's name: it goes into every email's subject and From
    header, where a line break (CR, LF, NEL, U+2028, ...) or a control character has no
    place."""
    if not name or len(name) > 100:
        return "the shop's name must be 1-100 characters"
    for c in name:
        category = unicodedata.category(c)
        if (category[0] == "C" and c not in _JOINERS) or category in ("Zl", "Zp"):
            return (
                "the shop's name must be one line, without line breaks or control characters "
                f"(found U+{ord(c):04X})"
            )
    return None


def _origins(raw: str, errors: dict[str, str], *, allow_http: bool) -> tuple[str, ...]:
    found: list[str] = []
    for item in raw.replace(",", " ").split():
        origin = normal_origin(item, allow_http=allow_http)
        if origin is None:
            errors["allowed_origins"] = (
                f"{item[:80]!r} is not an origin: write scheme://host[:port], such as "
                f"https://blog.example, without a path"
                + ("" if allow_http else " (https only in production)")
            )
            return ()
        if origin not in found:
            found.append(origin)
    if len(found) > MAX_ORIGINS:
        errors["allowed_origins"] = f"at most {MAX_ORIGINS} origins"
    return tuple(found)


def _yes_no(values: Mapping[str, str], name: str, errors: dict[str, str]) -> bool:
    value = str(values[name]).strip().lower()
    if value in _YES:
        return True
    if value not in _NO:
        errors[name] = "choose yes or no"
    return False


def _tax(values: Mapping[str, str], errors: dict[str, str]) -> ShopTax | None:
    """The tax settings in ``values``; None when the form has none of them (unchanged)."""
    if not any(name in values for name in TAX_FIELDS):
        return None
    missing = [name for name in TAX_FIELDS if name not in values]
    for name in missing:
        errors[name] = "choose one"
    if missing:
        return None
    country = country_code(str(values["country"]).strip()) or ""
    if len(country) != 2:
        errors["country"] = "choose the country the shop sells from"
    include = _yes_no(values, "prices_include_tax", errors)
    collect = _yes_no(values, "collect_tax", errors)
    return ShopTax(country=country, prices_include_tax=include, collect_tax=collect)


def validate(
    values: Mapping[str, str], *, allow_http_origins: bool, saved: ShopTax | None = None
) -> Profile:
    """The profile ``values`` (a form's text fields) describe, or :class:`ProfileInvalid`
    with a message per wrong field. Without tax fields, the tax settings are ``saved``."""
    errors: dict[str, str] = {}
    text = {name: str(values.get(name, "")).strip() for name in FIELDS}
    name = text["name"]
    problem = _name_problem(name)
    if problem is not None:
        errors["name"] = problem
    email = text["support_email"].lower() or None
    if email is not None and (not EMAIL_PATTERN.match(email) or len(email) > 254):
        errors["support_email"] = "this is not an email address, such as help@shop.example"
    urls: dict[str, str | None] = {}
    for field in URL_FIELDS:
        urls[field] = text[field] or None
        if text[field] and _https_url(text[field]) is None:
            errors[field] = "must be a full https:// address (http:// is not accepted)"
    address = "\n".join(line.rstrip() for line in text["legal_address"].splitlines()).strip()
    if len(address) > 1000 or "\x00" in address:
        errors["legal_address"] = "the address must be at most 1000 characters"
    origins = _origins(text["allowed_origins"], errors, allow_http=allow_http_origins)
    language = text["default_locale"] or None  # the shoppers' language when nothing says
    if language is not None and language not in LANGUAGES:
        errors["default_locale"] = "choose one of the languages in the list"
    tax = _tax(values, errors)
    if errors:
        first = next(iter(errors.items()))
        raise ProfileInvalid(
            f"Please correct the marked fields ({first[0].replace('_', ' ')}: {first[1]}).",
            context={"errors": errors},
        )
    return Profile(
        ShopIdentity(
            name=name,
            support_email=email,
            legal_address=address or None,
            default_locale=language,
            **urls,
        ),
        origins,
        tax or saved or ShopTax(),
    )


def save(session: Session, values: Mapping[str, str], *, allow_http_origins: bool) -> Profile:
    """Validate and store the profile (nothing is written when a field is wrong)."""
    row = _row(session)
    saved = profile(session).tax if row is not None else None
    new = validate(values, allow_http_origins=allow_http_origins, saved=saved)
    if row is None:
        row = ShopProfile(id=1, name=new.identity.name)
        session.add(row)
    shown = new.identity
    row.name = shown.name
    row.support_email = shown.support_email
    row.logo_url = shown.logo_url
    row.legal_address = shown.legal_address
    row.terms_url = shown.terms_url
    row.returns_url = shown.returns_url
    row.privacy_url = shown.privacy_url
    row.allowed_origins = "\n".join(new.allowed_origins)
    row.default_locale = shown.default_locale
    row.country = new.tax.country
    row.prices_include_tax = new.tax.prices_include_tax
    row.collect_tax = new.tax.collect_tax
    session.flush()
    return new


DEMO_IDENTITY = ShopIdentity(
    name="Pour-Over Supply Co.",
    support_email="help@example.com",
    legal_address="Pour-Over Supply Co., Lda.\n12 Harbour Street\n4000-123 Porto\nPortugal",
)


def seed_demo_identity(session: Session) -> None:
    """The demo shop's name, support address and legal address, unless the owner already
    set an identity (a saved name or support address). Policies stay unset: the demo serves
    no policy pages, so the checkout shows no terms line. A fresh demo also sells from
    Portugal with tax-inclusive prices and collects tax (EU VAT in the prices, US sales tax
    on top); origins are kept as they are."""
    row = _row(session)
    if row is None:
        row = ShopProfile(id=1, name=DEFAULT_NAME)
        session.add(row)
    elif row.name != DEFAULT_NAME or row.support_email is not None:
        return
    row.name = DEMO_IDENTITY.name
    row.support_email = DEMO_IDENTITY.support_email
    row.legal_address = DEMO_IDENTITY.legal_address
    row.country, row.prices_include_tax, row.collect_tax = "PT", True, True
    session.flush()
